/* volumes.c - volumes: create with labels, inspect, list, remove. */
#include <stdio.h>
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

static int read_volume(const struct lo2_json *doc, const char *what, void *slot, struct lo2_err *err)
{
	struct engine_volume_info *out = slot;
	if (!lo2_json_is_object(doc))
		return lo2_err_set(err, LO2_E_INVALID, "%s is not an object", what);
	if (engine_field_strdup(doc, "Name", true, what, &out->name, err) < 0 ||
	    engine_field_strdup(doc, "Driver", false, what, &out->driver, err) < 0 ||
	    engine_field_strdup(doc, "Mountpoint", false, what, &out->mountpoint, err) < 0 ||
	    engine_field_kvv(doc, "Labels", what, &out->labels, err) < 0)
		return -1;
	return 0;
}

int engine_volume_inspect(struct engine *e, const char *name, struct engine_volume_info *out,
                          struct lo2_err *err)
{
	lo2_autofree char *en = engine_escape(name);
	lo2_autofree char *path = xasprintf("/volumes/%s", en);
	struct ereq r = {.path = path};
	struct lo2_json *doc = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if (engine_call_json(e, &r, "volume inspect", &doc, err, "inspect volume %s", name) < 0)
		return -1;
	ret = read_volume(doc, "the answer", out, err);
	lo2_json_free(doc);
	if (ret < 0) {
		engine_volume_info_free(out);
		return lo2_err_prefix(err, "inspect volume %s", name);
	}
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
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (engine_call_json(e, &r, "volume list", &doc, err, "list volumes") < 0)
		return -1;
	if (engine_field(doc, "Volumes", ENGINE_J_ARR, false, "the answer", &vols, err) == 0)
		ret = engine_read_entries(vols, sizeof(*out->v), (void **)&out->v, &out->n, read_volume, err);
	lo2_json_free(doc);
	if (ret < 0) {
		engine_volume_list_free(out);
		return lo2_err_prefix(err, "list volumes");
	}
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
