/* images.c - images: inspect, pull, import from a tar stream, build from a tar context
 * (classic builder), remove. Progress streams report errors from inside the 200. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/mem.h"
#include "engine/auth.h"
#include "engine/internal.h"

int engine_image_inspect(struct engine *e, const char *ref, struct engine_image_info *out,
                         struct lo2_err *err)
{
	lo2_autofree char *esc = engine_escape(ref);
	lo2_autofree char *path = xasprintf("/images/%s/json", esc);
	struct ereq r = {.path = path};
	struct lo2_json *doc = NULL;
	const struct lo2_json *cfg = NULL;
	const char *w = "the answer";
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (engine_call_json(e, &r, "image inspect", &doc, err, "inspect image %s", ref) < 0)
		return -1;
	if (lo2_json_is_object(doc) && engine_field_strdup(doc, "Id", true, w, &out->id, err) == 0 &&
	    engine_field_strdup(doc, "Created", false, w, &out->created, err) == 0 &&
	    engine_field_int(doc, "Size", w, &out->size, err) == 0 &&
	    engine_field_strv(doc, "RepoTags", w, &out->tags, err) == 0 &&
	    engine_field_strv(doc, "RepoDigests", w, &out->repo_digests, err) == 0 &&
	    engine_field(doc, "Config", ENGINE_J_OBJ, false, w, &cfg, err) == 0 &&
	    engine_field_kvv(cfg, "Labels", "Config", &out->labels, err) == 0)
		ret = 0;
	else if (!lo2_json_is_object(doc))
		lo2_err_set(err, LO2_E_INVALID, "the answer is not an object");
	lo2_json_free(doc);
	if (ret < 0) {
		engine_image_info_free(out);
		return lo2_err_prefix(err, "inspect image %s", ref);
	}
	return 0;
}

void engine_image_info_free(struct engine_image_info *i)
{
	if (i == NULL)
		return;
	free(i->id);
	free(i->created);
	lo2_strv_free(&i->tags);
	lo2_strv_free(&i->repo_digests);
	lo2_kvv_free(&i->labels);
	memset(i, 0, sizeof(*i));
}

char *engine_image_repo_digest(const struct engine_image_info *info, const char *ref)
{
	lo2_autofree char *want = engine_ref_repository(ref);

	for (size_t i = 0; i < info->repo_digests.n; i++) {
		const char *d = info->repo_digests.v[i];
		lo2_autofree char *repo = engine_ref_repository(d);

		if (strchr(d, '@') && strcmp(repo, want) == 0)
			return xstrdup(d);
	}
	return NULL;
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
	struct engine_pull_opts o = {.platform = platform, .line = progress, .user = user};

	return engine_image_pull_with(e, ref, &o, err);
}

int engine_set_docker_config(struct engine *e, const char *dir, struct lo2_err *err)
{
	if (dir && strlen(dir) >= sizeof(e->docker_config))
		return lo2_err_set(err, LO2_E_INVALID, "docker config folder %s: path too long", dir);
	snprintf(e->docker_config, sizeof(e->docker_config), "%s", dir ? dir : "");
	return 0;
}

/* ---- pull progress summed over layers ---- */

#define PULL_MAX_LAYERS 1024

struct layer {
	char *id;
	int64_t cur, total; /* downloaded bytes; size (0 = not reported) */
	bool done, existed;
};

struct pull_track {
	struct engine_pull_state st;
	struct layer *layers;
	size_t n;
	char *status, *digest;
	int (*inner)(void *user, const char *line, size_t n, struct lo2_err *err); /* the line reporter */
	void *inner_user;
	engine_pull_fn fn;
	void *user;
};

/* The layer an id names, added when the status is a layer's. NULL for other ids (the tag). */
static struct layer *layer_of(struct pull_track *t, const char *id, const char *status)
{
	static const char *const layer_status[] = {"Pulling fs layer",   "Waiting",           "Downloading",
	                                           "Verifying Checksum", "Download complete", "Extracting",
	                                           "Pull complete",      "Already exists",    "Retrying"};
	bool is_layer = false;

	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->layers[i].id, id) == 0)
			return &t->layers[i];
	for (size_t i = 0; i < sizeof(layer_status) / sizeof(layer_status[0]); i++)
		is_layer = is_layer || lo2_str_has_prefix(status, layer_status[i]);
	if (!is_layer || t->n >= PULL_MAX_LAYERS)
		return NULL;
	t->layers = xrealloc(t->layers, (t->n + 1) * sizeof(*t->layers));
	t->layers[t->n] = (struct layer){.id = xstrdup(id)};
	return &t->layers[t->n++];
}

static void layer_update(struct layer *l, const char *status, const struct lo2_json *detail)
{
	int64_t cur = 0, total = 0;

	if (strcmp(status, "Downloading") == 0) {
		if (lo2_json_int(lo2_json_get(detail, "total"), &total) && total > 0)
			l->total = total;
		if (lo2_json_int(lo2_json_get(detail, "current"), &cur) && cur >= 0)
			l->cur = cur;
	} else if (strcmp(status, "Download complete") == 0 || strcmp(status, "Verifying Checksum") == 0 ||
	           strcmp(status, "Extracting") == 0) {
		l->cur = l->total;
	} else if (strcmp(status, "Pull complete") == 0 || strcmp(status, "Already exists") == 0) {
		l->cur = l->total;
		l->done = true;
		l->existed = status[0] == 'A';
	}
}

static void track_sum(struct pull_track *t)
{
	t->st.layers_total = (int)t->n;
	t->st.layers_done = t->st.layers_existing = 0;
	t->st.bytes_done = t->st.bytes_total = 0;
	for (size_t i = 0; i < t->n; i++) {
		t->st.layers_done += t->layers[i].done;
		t->st.layers_existing += t->layers[i].existed;
		t->st.bytes_done += t->layers[i].cur;
		t->st.bytes_total += t->layers[i].total;
	}
	t->st.status = t->status;
	t->st.digest = t->digest;
}

static void track_message(struct pull_track *t, const struct lo2_json *doc)
{
	const char *status = lo2_json_str(lo2_json_get(doc, "status"));
	const char *id = lo2_json_str(lo2_json_get(doc, "id"));
	struct layer *l;

	if (status == NULL)
		return;
	free(t->status);
	t->status = xstrdup(status);
	if (lo2_str_has_prefix(status, "Digest: ")) {
		free(t->digest);
		t->digest = xstrdup(status + 8);
	}
	l = id ? layer_of(t, id, status) : NULL;
	if (l)
		layer_update(l, status, lo2_json_get(doc, "progressDetail"));
}

static int pull_line(void *user, const char *line, size_t n, struct lo2_err *err)
{
	struct pull_track *t = user;
	struct lo2_json *doc = NULL;

	if (t->inner(t->inner_user, line, n, err) < 0)
		return -1;
	if (t->fn == NULL || lo2_json_parse(line, "engine progress stream", &doc, NULL) < 0)
		return 0; /* the line reporter has already judged the line */
	track_message(t, doc);
	lo2_json_free(doc);
	track_sum(t);
	t->fn(t->user, &t->st);
	return 0;
}

static void track_free(struct pull_track *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->layers[i].id);
	free(t->layers);
	free(t->status);
	free(t->digest);
}

/* ---- naming pull failures ---- */

static bool has_any(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (strcasestr(s, *words))
			return true;
	return false;
}

/* What lo2 sent, for messages: the credentials' source, or where it looked. */
static char *creds_said(const struct engine_auth *a, const char *problem)
{
	if (problem)
		return xasprintf("no credentials were sent: %s", problem);
	if (a->found)
		return xasprintf("the credentials sent came from %s", a->source);
	return xasprintf("no credentials for %s were found (looked in %s)", a->registry, a->source);
}

/* Rewrites a failed pull's error by its cause; engine is the engine's own words. */
static void explain(struct lo2_err *err, const char *ref, const struct engine_auth *a, const char *problem,
                    const char *engine)
{
	static const char *const rate[] = {"toomanyrequests", "too many requests", "rate limit", NULL};
	static const char *const plain_http[] = {"server gave http response to https client",
	                                         "first record does not look like a tls handshake", NULL};
	static const char *const cert[] = {"x509:", "certificate", NULL};
	static const char *const tls[] = {"tls:", "remote error: tls", NULL};
	static const char *const ambiguous[] = {"pull access denied", "may require 'docker login'", NULL};
	static const char *const auth[] = {"unauthorized", "authentication required",
	                                   "no basic auth credentials", "denied: requested access", NULL};
	static const char *const missing[] = {"manifest unknown", "not found", "does not exist",
	                                      "name unknown", NULL};
	lo2_autofree char *said = creds_said(a, problem);
	const char *r = a->registry;
	lo2_autofree char *login =
	    xasprintf("log in with `docker login%s%s` (lo2 uses the docker CLI's credentials: "
	              "DOCKER_CONFIG or ~/.docker/config.json)",
	              engine_registry_is_hub(r) ? "" : " ", engine_registry_is_hub(r) ? "" : r);
	int status = err->http_status;

	if (has_any(engine, rate) || status == 429)
		lo2_err_set(
		    err, LO2_E_GENERIC,
		    "pull image %s: registry %s rate-limited the pull (toomanyrequests): %s; %s (engine: %s)",
		    ref, r, said,
		    a->found ? "the pulls count against that account: wait for the limit to reset, or use "
		               "an account with a higher limit"
		             : login,
		    engine);
	else if (has_any(engine, plain_http))
		lo2_err_set(
		    err, LO2_E_CONNECT,
		    "pull image %s: registry %s answered plain HTTP where the engine expects TLS: serve it "
		    "over HTTPS, or list it under insecure-registries in the engine's daemon.json (engine: "
		    "%s)",
		    ref, r, engine);
	else if (has_any(engine, cert))
		lo2_err_set(
		    err, LO2_E_CONNECT,
		    "pull image %s: the engine does not trust the TLS certificate of registry %s: install "
		    "its CA as /etc/docker/certs.d/%s/ca.crt on the engine's host, or list it under "
		    "insecure-registries (engine: %s)",
		    ref, r, r, engine);
	else if (has_any(engine, tls))
		lo2_err_set(err, LO2_E_CONNECT, "pull image %s: TLS with registry %s failed (engine: %s)",
		            ref, r, engine);
	else if (has_any(engine, ambiguous))
		lo2_err_set(
		    err, LO2_E_NOT_FOUND,
		    "pull image %s: not found, or access denied, at registry %s: the repository does not "
		    "exist or needs credentials; %s (engine: %s)",
		    ref, r, said, engine);
	else if (has_any(engine, auth) || status == 401 || status == 403)
		lo2_err_set(err, LO2_E_AUTH,
		            "pull image %s: registry %s refused access (unauthorized): %s; %s (engine: %s)",
		            ref, r, said,
		            a->found ? "check the user name and password (or token) there" : login, engine);
	else if (has_any(engine, missing) || status == 404)
		lo2_err_set(err, LO2_E_NOT_FOUND,
		            "pull image %s: not found: registry %s has no such repository, tag or digest "
		            "(engine: %s)",
		            ref, r, engine);
	else if (problem)
		lo2_err_set(err, err->kind, "pull image %s: %s; registry credentials were not used: %s", ref,
		            engine, problem);
	else
		return;
	err->http_status = status;
}

/* The credentials for ref's registry as an "X-Registry-Auth: ..." header (NULL: none found). A
 * credential problem goes to *problem (no secret in it) and to the line reporter as a warning. */
static char *auth_header(struct engine *e, const char *registry, const struct engine_pull_opts *o,
                         struct engine_auth *a, char **problem)
{
	struct lo2_err aerr = {0};
	char *val, *hdr;

	if (engine_auth_find(e->docker_config[0] ? e->docker_config : NULL, registry, a, &aerr) < 0) {
		*problem = xstrdup(aerr.msg);
		if (o->line) {
			lo2_autofree char *w = xasprintf("warning: registry credentials for %s: %s; pulling "
			                                 "without credentials",
			                                 registry, aerr.msg);

			o->line(o->user, w);
		}
	}
	lo2_debug("engine: pull from %s: %s %s", registry,
	          a->found ? "credentials from" : "no credentials:", a->source);
	val = engine_auth_header(a);
	if (val == NULL)
		return NULL;
	hdr = xasprintf("X-Registry-Auth: %s", val);
	engine_secret_free(val);
	return hdr;
}

int engine_image_pull_with(struct engine *e, const char *ref, const struct engine_pull_opts *o,
                           struct lo2_err *err)
{
	static const struct engine_pull_opts none = {0};
	lo2_autofree char *repo = NULL, *tag = NULL, *erepo = NULL, *etag = NULL, *eplat = NULL, *path = NULL;
	lo2_autofree char *ctx = xasprintf("pull image %s", ref), *registry = NULL, *problem = NULL;
	char *hdr = NULL;
	struct engine_auth a = {0};
	struct pull_track t = {0};
	struct engine_progress p;
	struct ereq r = {.method = "POST"};
	int ret;

	o = o ? o : &none;
	if (engine_ref_registry(ref, &registry, err) < 0)
		return lo2_err_prefix(err, "%s", ctx);
	hdr = auth_header(e, registry, o, &a, &problem);
	split_ref(ref, &repo, &tag);
	erepo = engine_escape(repo);
	etag = engine_escape(tag);
	eplat = o->platform ? engine_escape(o->platform) : NULL;
	path = xasprintf("/images/create?fromImage=%s&tag=%s%s%s", erepo, etag, eplat ? "&platform=" : "",
	                 eplat ? eplat : "");
	r.path = path;
	r.extra_header = hdr;
	engine_progress_init(&p, o->line, o->user);
	t = (struct pull_track){.st.ref = ref,
	                        .fn = o->state,
	                        .user = o->user,
	                        .inner = p.lines.on_line,
	                        .inner_user = p.lines.user};
	p.lines.on_line = pull_line;
	p.lines.user = &t;
	ret = progress_call(e, &r, &p, NULL, err, ctx);
	/* only the engine's answers are the registry's words; transport errors stay as they are */
	if (ret < 0 && (err->http_status != 0 || p.error != NULL)) {
		size_t n = strlen(ctx);
		lo2_autofree char *engine = xstrdup(
		    strncmp(err->msg, ctx, n) == 0 && err->msg[n] == ':' ? err->msg + n + 2 : err->msg);

		explain(err, ref, &a, problem, engine);
		engine_auth_scrub(err, &a);
	}
	engine_progress_free(&p);
	track_free(&t);
	engine_secret_free(hdr);
	engine_auth_free(&a);
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

static void add_str_param(struct lo2_buf *path, const char *name, const char *v)
{
	lo2_autofree char *esc = NULL;

	if (v == NULL || *v == '\0')
		return;
	esc = engine_escape(v);
	lo2_buf_printf(path, "&%s=%s", name, esc);
}

/* target, networkmode, shmsize, pull and extrahosts (repeated, as the docker client sends it). */
static void add_build_params(struct lo2_buf *path, const struct engine_build_opts *o)
{
	add_str_param(path, "target", o->target);
	add_str_param(path, "networkmode", o->network_mode);
	if (o->shm_size > 0)
		lo2_buf_printf(path, "&shmsize=%lld", (long long)o->shm_size);
	if (o->pull)
		lo2_buf_puts(path, "&pull=1");
	for (size_t i = 0; o->extra_hosts && i < o->extra_hosts->n; i++)
		add_str_param(path, "extrahosts", o->extra_hosts->v[i]);
}

/* "X-Registry-Config: ..." with every credential the docker config knows, as the CLI sends for
 * the FROM images the engine may pull (NULL when there are none). */
static char *build_auth_header(struct engine *e)
{
	char *val = engine_auth_config_header(e->docker_config[0] ? e->docker_config : NULL);
	char *hdr;

	if (val == NULL)
		return NULL;
	hdr = xasprintf("X-Registry-Config: %s", val);
	engine_secret_free(val);
	return hdr;
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
	add_build_params(&path, o);
	r.path = path.data;
	r.extra_header = build_auth_header(e);
	engine_progress_init(&p, progress, user);
	ret = progress_call(e, &r, &p, id_out, err, ctx);
	engine_progress_free(&p);
	engine_secret_free((char *)r.extra_header);
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

static int save_to_sink(void *user, const char *p, size_t n, struct lo2_err *err)
{
	return lo2_sink_write(user, p, n, err);
}

int engine_image_save(struct engine *e, const struct lo2_strv *refs, struct lo2_sink *sink,
                      struct lo2_err *err)
{
	struct lo2_buf path = LO2_BUF_INIT;
	struct ereq r = {.on_body = save_to_sink, .user = sink, .stream = true};
	int ret;

	if (refs->n == 0)
		return lo2_err_set(err, LO2_E_INVALID, "save images: no image named");
	lo2_buf_puts(&path, "/images/get?");
	for (size_t i = 0; i < refs->n; i++) {
		lo2_autofree char *er = engine_escape(refs->v[i]);

		lo2_buf_printf(&path, "%snames=%s", i ? "&" : "", er);
	}
	r.path = path.data;
	ret = engine_call(e, &r, NULL, err, "save image%s %s%s", refs->n > 1 ? "s" : "", refs->v[0],
	                  refs->n > 1 ? ", ..." : "");
	lo2_buf_free(&path);
	return ret;
}

int engine_image_load(struct engine *e, engine_read_fn rd, void *rd_user, engine_progress_fn progress,
                      void *user, struct lo2_err *err)
{
	struct engine_progress p;
	struct ereq r = {.method = "POST",
	                 .path = "/images/load?quiet=1",
	                 .upload = rd,
	                 .upload_user = rd_user,
	                 .upload_type = "application/x-tar"};
	lo2_autofree char *ctx = xasprintf("load images into %s", engine_display(e));
	int ret;

	engine_progress_init(&p, progress, user);
	ret = progress_call(e, &r, &p, NULL, err, ctx);
	engine_progress_free(&p);
	return ret;
}
