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
	const struct compose_ynode *root;
	const struct compose_ynode *services, *networks, *volumes; /* top-level nodes, or NULL */
	struct lo2_strv unset_seen;
	const struct compose_load_opts *o; /* profiles, named services, lenient */
	bool lenient;
	struct compose_ydoc *synth; /* owns nodes made by extends merges */
	struct compose_ydoc **docs; /* files read for extends:, by path */
	size_t n_docs;
	const struct lo2_strv *chain; /* include: the files that include this one (cycles) */
	struct compose_project **inc; /* the projects of include: */
	size_t n_inc;
	bool included; /* loading an included file: profiles are the includer's business */
};

/* The file a node comes from (extends: may read other files). */
const char *compose_node_file(struct pctx *c, const struct compose_ynode *n);
/* A key that changes what runs but that lo2 does not implement: an error naming it, or with
 * --compatibility lenient a warning (returns 0). */
int compose_unimplemented(struct pctx *c, const struct compose_ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True when the project (with what include: brings) defines the service / network / volume. */
bool compose_has_service(struct pctx *c, const char *name);
bool compose_has_network(struct pctx *c, const char *key);
bool compose_has_volume(struct pctx *c, const char *key);

/* extends.c: the body of service `name` with its extends: chain merged in as the Compose
 * Specification merges (mappings by key, sequences without duplicates, volumes by target,
 * commands replaced; relative paths of other files made absolute). */
int compose_resolve_extends(struct pctx *c, const struct compose_ynode *key, const struct compose_ynode *body,
                            const struct compose_ynode **out);
void compose_extends_free(struct pctx *c);

/* include.c: loads the top-level include: entries (each a project of its own, cycles refused
 * with the chain), and moves their services, networks and volumes into c->p. */
int compose_load_includes(struct pctx *c, const struct compose_ynode *inc);
int compose_merge_includes(struct pctx *c);

/* parse.c: loads an included file as a project named like the includer's (*out: free with
 * compose_project_free); and the variables of a folder: the process environment over
 * env_files, or over dir/.env when there are none. */
int compose_load_included(struct pctx *parent, const char *file, const char *dir,
                          const struct lo2_strv *env_files, struct compose_project **out);
int compose_env_for(const char *dir, const struct lo2_strv *env_files, struct lo2_kvv *env,
                    struct lo2_err *err);

/* secrets.c: the top-level secrets: or configs: mapping m into c->p; a service's list. */
int compose_parse_secrets(struct pctx *c, const struct compose_ynode *m, bool is_config);
int compose_parse_svc_secrets(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                              const char *path, bool is_config);

/* profiles.c: drops the services of inactive profiles (a required dependency on one is an error). */
int compose_apply_profiles(struct pctx *c);

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
