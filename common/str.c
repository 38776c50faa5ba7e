/* str.c - string vectors, key/value lists and path-name validation (see str.h). */
#include "common/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

void lo2_strv_take(struct lo2_strv *sv, char *s)
{
	sv->v = xrealloc(sv->v, (sv->n + 2) * sizeof(*sv->v));
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

void lo2_strv_push(struct lo2_strv *sv, const char *s)
{
	lo2_strv_take(sv, xstrdup(s));
}

bool lo2_strv_contains(const struct lo2_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

void lo2_strv_copy(struct lo2_strv *dst, const struct lo2_strv *src)
{
	for (size_t i = 0; i < src->n; i++)
		lo2_strv_push(dst, src->v[i]);
}

void lo2_strv_free(struct lo2_strv *sv)
{
	if (sv == NULL)
		return;
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static struct lo2_kv *kvv_find(const struct lo2_kvv *kv, const char *key)
{
	for (size_t i = 0; i < kv->n; i++)
		if (strcmp(kv->v[i].key, key) == 0)
			return &kv->v[i];
	return NULL;
}

void lo2_kvv_set(struct lo2_kvv *kv, const char *key, const char *val)
{
	struct lo2_kv *p = kvv_find(kv, key);

	if (p != NULL) {
		free(p->val);
		p->val = xstrdup(val);
		return;
	}
	kv->v = xrealloc(kv->v, (kv->n + 1) * sizeof(*kv->v));
	kv->v[kv->n].key = xstrdup(key);
	kv->v[kv->n].val = xstrdup(val);
	kv->n++;
}

const char *lo2_kvv_get(const struct lo2_kvv *kv, const char *key)
{
	struct lo2_kv *p = kvv_find(kv, key);

	return p ? p->val : NULL;
}

bool lo2_kvv_has(const struct lo2_kvv *kv, const char *key)
{
	return kvv_find(kv, key) != NULL;
}

void lo2_kvv_copy(struct lo2_kvv *dst, const struct lo2_kvv *src)
{
	for (size_t i = 0; i < src->n; i++)
		lo2_kvv_set(dst, src->v[i].key, src->v[i].val);
}

void lo2_kvv_free(struct lo2_kvv *kv)
{
	if (kv == NULL)
		return;
	for (size_t i = 0; i < kv->n; i++) {
		free(kv->v[i].key);
		free(kv->v[i].val);
	}
	free(kv->v);
	kv->v = NULL;
	kv->n = 0;
}

void lo2_str_escape(const char *s, char *out, size_t outsz)
{
	size_t o = 0;

	if (outsz == 0)
		return;
	for (; *s && o + 5 < outsz; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == '\\')
			o += (size_t)snprintf(out + o, outsz - o, c == '\\' ? "\\\\" : "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

int lo2_name_check(const char *what, const char *name, struct lo2_err *err)
{
	char shown[300];
	const char *why = NULL;

	if (name == NULL || name[0] == '\0')
		return lo2_err_set(err, LO2_E_INVALID, "invalid %s name: empty", what);
	lo2_str_escape(name, shown, sizeof(shown));
	if (strlen(name) > 255)
		why = "longer than 255 bytes";
	else if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		why = "'.' and '..' are not names";
	else if (strchr(name, '/') || strchr(name, '\\'))
		why = "contains a path separator";
	for (const unsigned char *p = (const unsigned char *)name; why == NULL && *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			why = "contains a control character";
	if (why != NULL)
		return lo2_err_set(err, LO2_E_INVALID, "invalid %s name \"%s\": %s", what, shown, why);
	return 0;
}

bool lo2_str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool lo2_str_has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

void lo2_str_replace(char **slot, const char *v)
{
	char *copy = v ? xstrdup(v) : NULL;

	free(*slot);
	*slot = copy;
}
