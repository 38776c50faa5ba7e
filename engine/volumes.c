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
	struct lo2_json *doc = NULL;

	memset(out, 0, sizeof(*out));
	if (engine_call_json(e, &r, "volume inspect", &doc, err, "inspect volume %s", name) < 0)
		return -1;
	read_volume(doc, out);
	lo2_json_free(doc);
	return 0;
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
	lo2_autofree char *fq = engine_filters_query(filters);
	lo2_autofree char *path = xasprintf("/volumes?%s", fq);
	struct ereq r = {.path = path};
	struct lo2_json *doc = NULL;
	const struct lo2_json *vols;

	memset(out, 0, sizeof(*out));
	if (engine_call_json(e, &r, "volume list", &doc, err, "list volumes") < 0)
		return -1;
	vols = lo2_json_get(doc, "Volumes");
	out->v = xcalloc(lo2_json_len(vols) + 1, sizeof(*out->v));
	for (size_t i = 0; i < lo2_json_len(vols); i++)
		read_volume(lo2_json_at(vols, i), &out->v[out->n++]);
	lo2_json_free(doc);
	return 0;
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
