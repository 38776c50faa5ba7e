/* images.c - images: inspect, pull, import from a tar stream, build from a tar context
 * (classic builder), remove. Progress streams report errors from inside the 200. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "engine/internal.h"

int engine_image_inspect(struct engine *e, const char *ref, struct engine_image_info *out,
                         struct lo2_err *err)
{
	lo2_autofree char *esc = engine_escape(ref);
	lo2_autofree char *path = xasprintf("/images/%s/json", esc);
	struct ereq r = {.path = path};
	struct lo2_json *doc = NULL;
	const struct lo2_json *tags;

	memset(out, 0, sizeof(*out));
	if (engine_call_json(e, &r, "image inspect", &doc, err, "inspect image %s", ref) < 0)
		return -1;
	out->id = engine_json_strdup(doc, "Id");
	out->created = engine_json_strdup(doc, "Created");
	lo2_json_int(lo2_json_get(doc, "Size"), &out->size);
	tags = lo2_json_get(doc, "RepoTags");
	for (size_t i = 0; i < lo2_json_len(tags); i++)
		if (lo2_json_str(lo2_json_at(tags, i)))
			lo2_strv_push(&out->tags, lo2_json_str(lo2_json_at(tags, i)));
	engine_json_kvv(lo2_json_path(doc, "Config", "Labels", NULL), &out->labels);
	lo2_json_free(doc);
	return 0;
}

void engine_image_info_free(struct engine_image_info *i)
{
	if (i == NULL)
		return;
	free(i->id);
	free(i->created);
	lo2_strv_free(&i->tags);
	lo2_kvv_free(&i->labels);
	memset(i, 0, sizeof(*i));
}

/* Splits "name[:tag][@digest]" into repository and tag (or digest); the tag defaults to latest. */
static void split_ref(const char *ref, char **repo, char **tag)
{
	const char *at = strchr(ref, '@');
	const char *slash = strrchr(ref, '/');
	const char *colon = strrchr(ref, ':');

	if (at) {
		*repo = xstrndup(ref, (size_t)(at - ref));
		*tag = xstrdup(at + 1);
	} else if (colon && (!slash || colon > slash)) {
		*repo = xstrndup(ref, (size_t)(colon - ref));
		*tag = xstrdup(colon + 1);
	} else {
		*repo = xstrdup(ref);
		*tag = xstrdup("latest");
	}
}

/* Runs a progress-stream request and turns an errorDetail into the error. */
static int progress_call(struct engine *e, struct ereq *r, struct engine_progress *p, char **id_out,
                         struct lo2_err *err, const char *ctx)
{
	struct eresp resp;
	int ret = -1;

	r->on_body = engine_lines_feed;
	r->user = &p->lines;
	r->stream = true;
	if (engine_call(e, r, &resp, err, "%s", ctx) < 0)
		goto out;
	if (engine_lines_finish(&p->lines, err) < 0) {
		lo2_err_prefix(err, "%s", ctx);
		goto out;
	}
	if (p->error) {
		lo2_err_set(err, LO2_E_GENERIC, "%s: %s", ctx, p->error);
		goto out;
	}
	if (id_out) {
		*id_out = p->last_id;
		p->last_id = NULL;
	}
	ret = 0;
out:
	eresp_free(&resp);
	return ret;
}

int engine_image_pull(struct engine *e, const char *ref, const char *platform, engine_progress_fn progress,
                      void *user, struct lo2_err *err)
{
	lo2_autofree char *repo = NULL, *tag = NULL, *erepo = NULL, *etag = NULL, *eplat = NULL, *path = NULL;
	lo2_autofree char *ctx = xasprintf("pull image %s", ref);
	struct engine_progress p;
	struct ereq r = {.method = "POST"};
	int ret;

	split_ref(ref, &repo, &tag);
	erepo = engine_escape(repo);
	etag = engine_escape(tag);
	eplat = platform ? engine_escape(platform) : NULL;
	path = xasprintf("/images/create?fromImage=%s&tag=%s%s%s", erepo, etag, eplat ? "&platform=" : "",
	                 eplat ? eplat : "");
	r.path = path;
	engine_progress_init(&p, progress, user);
	ret = progress_call(e, &r, &p, NULL, err, ctx);
	engine_progress_free(&p);
	return ret;
}

int engine_image_import(struct engine *e, engine_read_fn rd, void *rd_user, const char *ref,
                        const struct lo2_strv *changes, engine_progress_fn progress, void *user,
                        char **id_out, struct lo2_err *err)
{
	lo2_autofree char *repo = NULL, *tag = NULL, *erepo = NULL, *etag = NULL;
	lo2_autofree char *ctx = xasprintf("import image %s", ref);
	struct lo2_buf path = LO2_BUF_INIT;
	struct engine_progress p;
	struct ereq r = {
	    .method = "POST", .upload = rd, .upload_user = rd_user, .upload_type = "application/x-tar"};
	int ret;

	split_ref(ref, &repo, &tag);
	erepo = engine_escape(repo);
	etag = engine_escape(tag);
	lo2_buf_printf(&path, "/images/create?fromSrc=-&repo=%s&tag=%s", erepo, etag);
	for (size_t i = 0; changes && i < changes->n; i++) {
		lo2_autofree char *c = engine_escape(changes->v[i]);

		lo2_buf_printf(&path, "&changes=%s", c);
	}
	r.path = path.data;
	engine_progress_init(&p, progress, user);
	ret = progress_call(e, &r, &p, id_out, err, ctx);
	engine_progress_free(&p);
	lo2_buf_free(&path);
	return ret;
}

static char *kvv_json(const struct lo2_kvv *kv)
{
	struct lo2_jw *w = lo2_jw_new(NULL);

	lo2_jw_obj(w);
	for (size_t i = 0; kv && i < kv->n; i++) {
		lo2_jw_key(w, kv->v[i].key);
		lo2_jw_str(w, kv->v[i].val);
	}
	lo2_jw_obj_end(w);
	return lo2_jw_finish(w, NULL);
}

static void add_json_param(struct lo2_buf *path, const char *name, const struct lo2_kvv *kv)
{
	lo2_autofree char *json = NULL, *esc = NULL;

	if (kv == NULL || kv->n == 0)
		return;
	json = kvv_json(kv);
	esc = engine_escape(json);
	lo2_buf_printf(path, "&%s=%s", name, esc);
}

int engine_image_build(struct engine *e, engine_read_fn rd, void *rd_user, const struct engine_build_opts *o,
                       engine_progress_fn progress, void *user, char **id_out, struct lo2_err *err)
{
	lo2_autofree char *ctx = xasprintf("build image %s", o->tag ? o->tag : "(untagged)");
	lo2_autofree char *et = o->tag ? engine_escape(o->tag) : NULL;
	lo2_autofree char *edf = engine_escape(o->dockerfile ? o->dockerfile : "Dockerfile");
	struct lo2_buf path = LO2_BUF_INIT;
	struct engine_progress p;
	struct ereq r = {
	    .method = "POST", .upload = rd, .upload_user = rd_user, .upload_type = "application/x-tar"};
	int ret;

	/* version=1: the classic builder (BuildKit needs a gRPC session a libcurl client cannot hold). */
	lo2_buf_printf(&path, "/build?dockerfile=%s&rm=1&forcerm=1&version=1%s%s%s", edf, et ? "&t=" : "",
	               et ? et : "", o->no_cache ? "&nocache=1" : "");
	add_json_param(&path, "buildargs", o->build_args);
	add_json_param(&path, "labels", o->labels);
	r.path = path.data;
	engine_progress_init(&p, progress, user);
	ret = progress_call(e, &r, &p, id_out, err, ctx);
	engine_progress_free(&p);
	lo2_buf_free(&path);
	return ret;
}

int engine_image_remove(struct engine *e, const char *ref, bool force, struct lo2_err *err)
{
	lo2_autofree char *esc = engine_escape(ref);
	lo2_autofree char *path = xasprintf("/images/%s?force=%d", esc, force ? 1 : 0);
	struct ereq r = {.method = "DELETE", .path = path};

	return engine_call(e, &r, NULL, err, "remove image %s", ref);
}
