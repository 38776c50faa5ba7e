/* json.c - the JSON layer over yajl's tree parser and generator (see json.h). */
#include "common/json.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/mem.h"

#define V(x) ((yajl_val)(uintptr_t)(x))

int lo2_json_parse(const char *text, const char *what, struct lo2_json **doc, struct lo2_err *err)
{
	char ebuf[512];
	yajl_val v;

	ebuf[0] = '\0';
	v = yajl_tree_parse(text, ebuf, sizeof(ebuf));
	if (v == NULL) {
		char *nl = strchr(ebuf, '\n');

		if (nl)
			*nl = '\0';
		return lo2_err_set(err, LO2_E_INVALID, "parse %s: malformed JSON: %s", what,
		                   ebuf[0] ? ebuf : "unknown error");
	}
	*doc = (struct lo2_json *)v;
	return 0;
}

void lo2_json_free(struct lo2_json *doc)
{
	if (doc)
		yajl_tree_free(V(doc));
}

const struct lo2_json *lo2_json_get(const struct lo2_json *v, const char *key)
{
	yajl_val o = V(v);

	if (o == NULL || !YAJL_IS_OBJECT(o))
		return NULL;
	for (size_t i = 0; i < o->u.object.len; i++)
		if (strcmp(o->u.object.keys[i], key) == 0)
			return (const struct lo2_json *)o->u.object.values[i];
	return NULL;
}

const struct lo2_json *lo2_json_path(const struct lo2_json *v, ...)
{
	va_list ap;
	const char *k;

	va_start(ap, v);
	while (v != NULL && (k = va_arg(ap, const char *)) != NULL)
		v = lo2_json_get(v, k);
	va_end(ap);
	return v;
}

const char *lo2_json_str(const struct lo2_json *v)
{
	return v && YAJL_IS_STRING(V(v)) ? V(v)->u.string : NULL;
}

bool lo2_json_int(const struct lo2_json *v, int64_t *out)
{
	if (v == NULL || !YAJL_IS_INTEGER(V(v)))
		return false;
	*out = V(v)->u.number.i;
	return true;
}

bool lo2_json_double(const struct lo2_json *v, double *out)
{
	if (v == NULL || !YAJL_IS_NUMBER(V(v)))
		return false;
	*out = YAJL_IS_DOUBLE(V(v)) ? V(v)->u.number.d : (double)V(v)->u.number.i;
	return true;
}

bool lo2_json_is_true(const struct lo2_json *v)
{
	return v && YAJL_IS_TRUE(V(v));
}

bool lo2_json_is_bool(const struct lo2_json *v)
{
	return v && (YAJL_IS_TRUE(V(v)) || YAJL_IS_FALSE(V(v)));
}

bool lo2_json_is_null(const struct lo2_json *v)
{
	return v && YAJL_IS_NULL(V(v));
}

bool lo2_json_is_object(const struct lo2_json *v)
{
	return v && YAJL_IS_OBJECT(V(v));
}

bool lo2_json_is_array(const struct lo2_json *v)
{
	return v && YAJL_IS_ARRAY(V(v));
}

bool lo2_json_is_number(const struct lo2_json *v)
{
	return v && YAJL_IS_NUMBER(V(v));
}

size_t lo2_json_len(const struct lo2_json *v)
{
	if (v && YAJL_IS_ARRAY(V(v)))
		return V(v)->u.array.len;
	if (v && YAJL_IS_OBJECT(V(v)))
		return V(v)->u.object.len;
	return 0;
}

const struct lo2_json *lo2_json_at(const struct lo2_json *arr, size_t i)
{
	if (arr == NULL || !YAJL_IS_ARRAY(V(arr)) || i >= V(arr)->u.array.len)
		return NULL;
	return (const struct lo2_json *)V(arr)->u.array.values[i];
}

const char *lo2_json_key_at(const struct lo2_json *obj, size_t i)
{
	if (obj == NULL || !YAJL_IS_OBJECT(V(obj)) || i >= V(obj)->u.object.len)
		return NULL;
	return V(obj)->u.object.keys[i];
}

const struct lo2_json *lo2_json_val_at(const struct lo2_json *obj, size_t i)
{
	if (obj == NULL || !YAJL_IS_OBJECT(V(obj)) || i >= V(obj)->u.object.len)
		return NULL;
	return (const struct lo2_json *)V(obj)->u.object.values[i];
}

const char *lo2_json_num_text(const struct lo2_json *v)
{
	return v && YAJL_IS_NUMBER(V(v)) ? V(v)->u.number.r : NULL;
}

/* ---- writer ---- */

struct lo2_jw {
	yajl_gen g;
};

struct lo2_jw *lo2_jw_new(const char *indent)
{
	struct lo2_jw *w = xcalloc(1, sizeof(*w));

	w->g = yajl_gen_alloc(NULL);
	if (w->g == NULL)
		abort();
	if (indent != NULL) {
		yajl_gen_config(w->g, yajl_gen_beautify, 1);
		yajl_gen_config(w->g, yajl_gen_indent_string, indent);
	}
	return w;
}

void lo2_jw_obj(struct lo2_jw *w)
{
	yajl_gen_map_open(w->g);
}

void lo2_jw_obj_end(struct lo2_jw *w)
{
	yajl_gen_map_close(w->g);
}

void lo2_jw_arr(struct lo2_jw *w)
{
	yajl_gen_array_open(w->g);
}

void lo2_jw_arr_end(struct lo2_jw *w)
{
	yajl_gen_array_close(w->g);
}

void lo2_jw_strn(struct lo2_jw *w, const char *s, size_t n)
{
	yajl_gen_string(w->g, (const unsigned char *)s, n);
}

void lo2_jw_key(struct lo2_jw *w, const char *k)
{
	lo2_jw_strn(w, k, strlen(k));
}

void lo2_jw_str(struct lo2_jw *w, const char *s)
{
	if (s == NULL)
		yajl_gen_null(w->g);
	else
		lo2_jw_strn(w, s, strlen(s));
}

void lo2_jw_int(struct lo2_jw *w, int64_t i)
{
	yajl_gen_integer(w->g, (long long)i);
}

void lo2_jw_double(struct lo2_jw *w, double d)
{
	yajl_gen_double(w->g, d);
}

void lo2_jw_bool(struct lo2_jw *w, bool b)
{
	yajl_gen_bool(w->g, b);
}

void lo2_jw_null(struct lo2_jw *w)
{
	yajl_gen_null(w->g);
}

void lo2_jw_node(struct lo2_jw *w, const struct lo2_json *node)
{
	yajl_val v = V(node);

	if (v == NULL || YAJL_IS_NULL(v)) {
		yajl_gen_null(w->g);
	} else if (YAJL_IS_STRING(v)) {
		lo2_jw_str(w, v->u.string);
	} else if (YAJL_IS_NUMBER(v)) {
		yajl_gen_number(w->g, v->u.number.r, strlen(v->u.number.r));
	} else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
		yajl_gen_bool(w->g, YAJL_IS_TRUE(v));
	} else if (YAJL_IS_ARRAY(v)) {
		yajl_gen_array_open(w->g);
		for (size_t i = 0; i < v->u.array.len; i++)
			lo2_jw_node(w, (const struct lo2_json *)v->u.array.values[i]);
		yajl_gen_array_close(w->g);
	} else {
		yajl_gen_map_open(w->g);
		for (size_t i = 0; i < v->u.object.len; i++) {
			lo2_jw_key(w, v->u.object.keys[i]);
			lo2_jw_node(w, (const struct lo2_json *)v->u.object.values[i]);
		}
		yajl_gen_map_close(w->g);
	}
}

char *lo2_jw_finish(struct lo2_jw *w, size_t *len)
{
	const unsigned char *buf;
	size_t n;
	char *out;

	yajl_gen_get_buf(w->g, &buf, &n);
	out = xstrndup((const char *)buf, n);
	if (len)
		*len = n;
	lo2_jw_free(w);
	return out;
}

void lo2_jw_free(struct lo2_jw *w)
{
	if (w == NULL)
		return;
	yajl_gen_free(w->g);
	free(w);
}
