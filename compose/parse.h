/* parse.h - what the loader's two files (parse.c: documents, top level, typed getters;
 * service.c: the service keys) share. Private to compose/. */
#ifndef LO2_COMPOSE_PARSE_H
#define LO2_COMPOSE_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/str.h"
#include "compose/compose.h"
#include "compose/yaml.h"

struct pctx {
	const char *file; /* for messages */
	const char *dir; /* absolute project folder */
	const struct lo2_kvv *env;
	struct lo2_strv *warnings;
	struct lo2_err *err;
	struct compose_project *p;
	const struct compose_ynode *services, *networks, *volumes; /* top-level nodes, or NULL */
	struct lo2_strv unset_seen;
};

/* "FILE:LINE:COL: <fmt>" into c->err; returns -1. */
int compose_perr(struct pctx *c, const struct compose_ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "FILE:LINE:COL: <fmt>" appended to the warnings. */
void compose_pwarn(struct pctx *c, const struct compose_ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "<path>: expected <what>, got <kind>"; returns -1. */
int compose_expect(struct pctx *c, const struct compose_ynode *n, const char *path, const char *what);

/* Typed getters: interpolate, convert, and on a mismatch fail with the node's position. */
int compose_get_str(struct pctx *c, const struct compose_ynode *n, const char *path, char **dst);
int compose_get_bool(struct pctx *c, const struct compose_ynode *n, const char *path, bool *dst);
int compose_get_int(struct pctx *c, const struct compose_ynode *n, const char *path, int64_t lo, int64_t hi,
                    int64_t *dst);
int compose_get_duration(struct pctx *c, const struct compose_ynode *n, const char *path, int64_t *dst);
int compose_get_size(struct pctx *c, const struct compose_ynode *n, const char *path, int64_t *dst);
/* A list of strings, or (allow_string) one string. */
int compose_get_strv(struct pctx *c, const struct compose_ynode *n, const char *path, bool allow_string,
                     struct lo2_strv *dst);
/* A mapping, or a list of "k<sep>v" ("k" alone: value NULL). Null values stay NULL. */
int compose_get_kv(struct pctx *c, const struct compose_ynode *n, const char *path, char sep,
                   struct lo2_kvv *dst);
/* Warns about keys of map that are not in known (NULL-terminated); "x-" keys pass silently. */
void compose_warn_unknown(struct pctx *c, const struct compose_ynode *map, const char *path,
                          const char *const *known);

int compose_parse_service(struct pctx *c, const struct compose_ynode *key, const struct compose_ynode *body,
                          struct compose_service *s);

#endif
