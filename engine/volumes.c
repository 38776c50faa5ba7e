/* volumes.c - volumes: create with labels, inspect, list, remove. */
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "engine/internal.h"

int engine_volume_create(struct engine *e, const struct engine_volume_spec *s, struct lo2_err *err)
{
	struct lo2_jw *w = lo2_jw_new(NULL);
	lo2_autofree char *body = NULL;
	struct ereq r = {.method = "POST", .path = "/volumes/create"};

	lo2_jw_obj(w);
	lo2_jw_key(w, "Name");
	lo2_jw_str(w, s->name);
	lo2_jw_key(w, "Driver");
	lo2_jw_str(w, s->driver ? s->driver : "local");
	engine_jw_kvv(w, "DriverOpts", &s->driver_opts);
	engine_jw_kvv(w, "Labels", &s->labels);
	lo2_jw_obj_end(w);
	body = lo2_jw_finish(w, NULL);
	r.json = body;
	return engine_call(e, &r, NULL, err, "create volume %s", s->name);
}

static void read_volume(const struct lo2_json *doc, struct engine_volume_info *out)
{
	out->name = engine_json_strdup(doc, "Name");
	out->driver = engine_json_strdup(doc, "Driver");
	out->mountpoint = engine_json_strdup(doc, "Mountpoint");
	engine_json_kvv(lo2_json_get(doc, "Labels"), &out->labels);
}

int engine_volume_inspect(struct engine *e, const char *name, struct engine_volume_info *out,
                          struct lo2_err *err)
{
	lo2_autofree char *en = engine_escape(name);
	lo2_autofree char *path = xasprintf("/volumes/%s", en);
	struct ereq r = {.path = path};
	struct eresp resp;
	struct lo2_json *doc = NULL;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (engine_call(e, &r, &resp, err, "inspect volume %s", name) < 0)
		goto out;
	if (engine_resp_json(&resp, "volume inspect", &doc, err) < 0)
		goto out;
	read_volume(doc, out);
	ret = 0;
out:
	lo2_json_free(doc);
	eresp_free(&resp);
	return ret;
}

void engine_volume_info_free(struct engine_volume_info *v)
{
	if (v == NULL)
		return;
	free(v->name);
	free(v->driver);
	free(v->mountpoint);
	lo2_kvv_free(&v->labels);
	memset(v, 0, sizeof(*v));
}

int engine_volume_list(struct engine *e, const struct lo2_strv *filters, struct engine_volume_list *out,
                       struct lo2_err *err)
{
	lo2_autofree char *fj = engine_filters_json(filters);
	lo2_autofree char *ef = engine_escape(fj);
	lo2_autofree char *path = xasprintf("/volumes?filters=%s", ef);
	struct ereq r = {.path = path};
	struct eresp resp;
	struct lo2_json *doc = NULL;
	const struct lo2_json *vols;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (engine_call(e, &r, &resp, err, "list volumes") < 0)
		goto out;
	if (engine_resp_json(&resp, "volume list", &doc, err) < 0)
		goto out;
	vols = lo2_json_get(doc, "Volumes");
	out->v = xcalloc(lo2_json_len(vols) + 1, sizeof(*out->v));
	for (size_t i = 0; i < lo2_json_len(vols); i++)
		read_volume(lo2_json_at(vols, i), &out->v[out->n++]);
	ret = 0;
out:
	lo2_json_free(doc);
	eresp_free(&resp);
	return ret;
}

void engine_volume_list_free(struct engine_volume_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		engine_volume_info_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int engine_volume_remove(struct engine *e, const char *name, bool force, struct lo2_err *err)
{
	lo2_autofree char *en = engine_escape(name);
	lo2_autofree char *path = xasprintf("/volumes/%s?force=%d", en, force ? 1 : 0);
	struct ereq r = {.method = "DELETE", .path = path};

	return engine_call(e, &r, NULL, err, "remove volume %s", name);
}
