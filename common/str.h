/* str.h - string vectors, key/value lists, and the one validation every name that
 * becomes a path passes (tags, container names, metric names, service names). */
#ifndef LO2_STR_H
#define LO2_STR_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* A NULL-terminated, owned vector of owned strings. */
struct lo2_strv {
	char **v;
	size_t n;
};

void lo2_strv_push(struct lo2_strv *sv, const char *s); /* copies s */
void lo2_strv_take(struct lo2_strv *sv, char *s); /* takes ownership of s */
bool lo2_strv_contains(const struct lo2_strv *sv, const char *s);
void lo2_strv_copy(struct lo2_strv *dst, const struct lo2_strv *src);
void lo2_strv_free(struct lo2_strv *sv);

/* An ordered, owned list of key/value pairs (value may be NULL). */
struct lo2_kv {
	char *key;
	char *val;
};
struct lo2_kvv {
	struct lo2_kv *v;
	size_t n;
};

/* Sets key to val (copies both), replacing an existing key in place. */
void lo2_kvv_set(struct lo2_kvv *kv, const char *key, const char *val);
const char *lo2_kvv_get(const struct lo2_kvv *kv, const char *key);
bool lo2_kvv_has(const struct lo2_kvv *kv, const char *key);
void lo2_kvv_copy(struct lo2_kvv *dst, const struct lo2_kvv *src);
void lo2_kvv_free(struct lo2_kvv *kv);

/* 0 when name is safe as one path component: non-empty, at most 255 bytes, not "." or "..",
 * no '/', no '\\', no control characters (bytes < 0x20 and 0x7f). Otherwise -1 with an
 * error naming `what` (e.g. "tag") and the offending name, escaped. */
int lo2_name_check(const char *what, const char *name, struct lo2_err *err);
/* Writes a printable rendering of s (C escapes for control bytes) into out, truncating. */
void lo2_str_escape(const char *s, char *out, size_t outsz);

/* Frees *slot and puts a copy of v there (v may be NULL). */
void lo2_str_replace(char **slot, const char *v);
bool lo2_str_has_prefix(const char *s, const char *prefix);
bool lo2_str_has_suffix(const char *s, const char *suffix);

#endif
