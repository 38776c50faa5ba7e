/* extends.c - `extends:` (same file and other files, any depth): the base service's body is
 * merged under the local one as the Compose Specification's merge rules say, on the YAML tree,
 * so every key then goes through the one service parser. Relative paths of a body read from
 * another file are made absolute against that file's folder first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "compose/internal.h"
#include "compose/parse.h"

#define MAX_EXTENDS_FILE (8u << 20)
#define MAX_EXTENDS_DEPTH 64

/* Keys whose local value replaces the base's (shell commands, as the specification says). */
static const char *const replaced[] = {"command", "entrypoint", "test", NULL};
/* Mappings that may be written as lists of "k=v" (extra_hosts also "host:ip"). */
static const char *const kv_keys[] = {"environment", "labels",      "sysctls", "args",        "annotations",
                                      "storage_opt", "extra_hosts", "options", "driver_opts", NULL};
/* Mappings that may be written as lists of names. */
static const char *const name_keys[] = {"depends_on", "networks", NULL};
/* Sequences (a single string counts as a one-item list), merged without duplicates. */
static const char *const seq_keys[] = {"dns",
                                       "dns_search",
                                       "dns_opt",
                                       "tmpfs",
                                       "env_file",
                                       "ports",
                                       "expose",
                                       "cap_add",
                                       "cap_drop",
                                       "security_opt",
                                       "external_links",
                                       "secrets",
                                       "configs",
                                       "devices",
                                       "group_add",
                                       "profiles",
                                       "links",
                                       "volumes_from",
                                       "device_cgroup_rules",
                                       NULL};

static bool in(const char *k, const char *const *set)
{
	for (size_t i = 0; set[i]; i++)
		if (strcmp(k, set[i]) == 0)
			return true;
	return false;
}

static struct compose_ynode *mut(const struct compose_ynode *n)
{
	return (struct compose_ynode *)n; /* nodes are owned by their documents; merges only link them */
}

static struct compose_ynode *scalar(struct pctx *c, const struct compose_ynode *at, const char *v)
{
	return compose_ynode_new(c->synth, COMPOSE_YSCALAR, at, v);
}

static struct compose_ynode *null_node(struct pctx *c, const struct compose_ynode *at)
{
	struct compose_ynode *n = scalar(c, at, "");

	n->quoted = false;
	return n;
}

/* ---- normal forms ---- */

/* A list of "k=v" (or names) as a mapping; a mapping as it is. */
static const struct compose_ynode *as_map(struct pctx *c, const struct compose_ynode *n, const char *key)
{
	struct compose_ynode *m;

	if (n->kind != COMPOSE_YSEQ)
		return n;
	m = compose_ynode_new(c->synth, COMPOSE_YMAP, n, NULL);
	for (size_t i = 0; i < n->n; i++) {
		const struct compose_ynode *it = n->items[i];
		lo2_autofree char *k = NULL;
		char *at;

		if (it->kind != COMPOSE_YSCALAR)
			return n; /* not a list of strings: the parser will say so */
		k = xstrdup(it->value);
		at = in(key, name_keys) ? NULL : strchr(k, strcmp(key, "extra_hosts") == 0 ? ':' : '=');
		if (at == NULL && strcmp(key, "extra_hosts") == 0)
			at = strchr(k, '=');
		if (at)
			*at = '\0';
		compose_ynode_append(m, scalar(c, it, k), at ? scalar(c, it, at + 1) : null_node(c, it));
	}
	return m;
}

static const struct compose_ynode *as_seq(struct pctx *c, const struct compose_ynode *n)
{
	struct compose_ynode *s;

	if (n->kind != COMPOSE_YSCALAR)
		return n;
	s = compose_ynode_new(c->synth, COMPOSE_YSEQ, n, NULL);
	compose_ynode_append(s, NULL, mut(n));
	return s;
}

/* ---- merging ---- */

static const struct compose_ynode *merge(struct pctx *c, const char *key, const struct compose_ynode *b,
                                         const struct compose_ynode *l);

static const struct compose_ynode *merge_map(struct pctx *c, const struct compose_ynode *b,
                                             const struct compose_ynode *l, bool service)
{
	struct compose_ynode *m = compose_ynode_new(c->synth, COMPOSE_YMAP, l, NULL);

	for (size_t i = 0; i < b->n; i++)
		if (compose_ynode_get(l, b->keys[i]->value) == NULL &&
		    !(service && strcmp(b->keys[i]->value, "extends") == 0))
			compose_ynode_append(m, b->keys[i], b->items[i]);
	for (size_t i = 0; i < l->n; i++) {
		const char *k = l->keys[i]->value;
		const struct compose_ynode *bv = compose_ynode_get(b, k);

		if (service && strcmp(k, "extends") == 0)
			continue;
		compose_ynode_append(m, l->keys[i], bv ? mut(merge(c, k, bv, l->items[i])) : l->items[i]);
	}
	return m;
}

static bool same_scalar(const struct compose_ynode *a, const struct compose_ynode *b)
{
	return a->kind == COMPOSE_YSCALAR && b->kind == COMPOSE_YSCALAR && strcmp(a->value, b->value) == 0;
}

static const struct compose_ynode *merge_seq(struct pctx *c, const struct compose_ynode *b,
                                             const struct compose_ynode *l)
{
	struct compose_ynode *s = compose_ynode_new(c->synth, COMPOSE_YSEQ, l, NULL);
	const struct compose_ynode *both[2] = {b, l};

	for (size_t h = 0; h < 2; h++)
		for (size_t i = 0; i < both[h]->n; i++) {
			bool dup = false;

			for (size_t j = 0; j < s->n && !dup; j++)
				dup = same_scalar(s->items[j], both[h]->items[i]);
			if (!dup)
				compose_ynode_append(s, NULL, both[h]->items[i]);
		}
	return s;
}

/* The container path of a volume entry ("src:/target:mode", "/target", or target:). */
static char *volume_target(const struct compose_ynode *v)
{
	const struct compose_ynode *t;
	const char *s, *colon;

	if (v->kind == COMPOSE_YMAP)
		return (t = compose_ynode_get(v, "target")) && t->kind == COMPOSE_YSCALAR ? xstrdup(t->value)
		                                                                          : NULL;
	if (v->kind != COMPOSE_YSCALAR)
		return NULL;
	s = v->value;
	colon = strchr(s, ':');
	if (colon == NULL)
		return xstrdup(s);
	s = colon + 1;
	colon = strchr(s, ':');
	return colon ? xstrndup(s, (size_t)(colon - s)) : xstrdup(s);
}

/* Volumes: unique by target, the local entry winning. */
static const struct compose_ynode *merge_volumes(struct pctx *c, const struct compose_ynode *b,
                                                 const struct compose_ynode *l)
{
	struct compose_ynode *s = compose_ynode_new(c->synth, COMPOSE_YSEQ, l, NULL);

	for (size_t i = 0; i < b->n; i++) {
		lo2_autofree char *t = volume_target(b->items[i]);
		bool shadowed = false;

		for (size_t j = 0; t && j < l->n && !shadowed; j++) {
			lo2_autofree char *u = volume_target(l->items[j]);

			shadowed = u && strcmp(t, u) == 0;
		}
		if (!shadowed)
			compose_ynode_append(s, NULL, b->items[i]);
	}
	for (size_t i = 0; i < l->n; i++)
		compose_ynode_append(s, NULL, l->items[i]);
	return s;
}

/* build: "ctx" is {context: ctx}. */
static const struct compose_ynode *build_map(struct pctx *c, const struct compose_ynode *n)
{
	struct compose_ynode *m;

	if (n->kind != COMPOSE_YSCALAR)
		return n;
	m = compose_ynode_new(c->synth, COMPOSE_YMAP, n, NULL);
	compose_ynode_append(m, scalar(c, n, "context"), mut(n));
	return m;
}

static const struct compose_ynode *merge(struct pctx *c, const char *key, const struct compose_ynode *b,
                                         const struct compose_ynode *l)
{
	if (in(key, replaced) || compose_ynode_is_null(l) || compose_ynode_is_null(b))
		return l;
	if (in(key, kv_keys) || in(key, name_keys)) {
		b = as_map(c, b, key);
		l = as_map(c, l, key);
	} else if (in(key, seq_keys)) {
		b = as_seq(c, b);
		l = as_seq(c, l);
	} else if (strcmp(key, "build") == 0) {
		b = build_map(c, b);
		l = build_map(c, l);
	}
	if (strcmp(key, "volumes") == 0 && b->kind == COMPOSE_YSEQ && l->kind == COMPOSE_YSEQ)
		return merge_volumes(c, b, l);
	if (b->kind == COMPOSE_YMAP && l->kind == COMPOSE_YMAP)
		return merge_map(c, b, l, false);
	if (b->kind == COMPOSE_YSEQ && l->kind == COMPOSE_YSEQ)
		return merge_seq(c, b, l);
	return l;
}

/* ---- bodies from other files: relative paths made absolute ---- */

static bool is_relative(const char *p)
{
	return p[0] != '/' && p[0] != '~' && p[0] != '$' && strstr(p, "://") == NULL &&
	       strncmp(p, "git@", 4) != 0;
}

static struct compose_ynode *abs_scalar(struct pctx *c, const struct compose_ynode *n, const char *dir)
{
	lo2_autofree char *p = NULL;

	if (n->kind != COMPOSE_YSCALAR || compose_ynode_is_null(n) || !is_relative(n->value))
		return mut(n);
	p = compose_path_resolve(dir, n->value);
	return scalar(c, n, p);
}

/* A copy of map with key's value replaced by fn(value). */
static struct compose_ynode *with(struct pctx *c, const struct compose_ynode *map, const char *key,
                                  struct compose_ynode *val)
{
	struct compose_ynode *m = compose_ynode_new(c->synth, COMPOSE_YMAP, map, NULL);
	bool put = false;

	for (size_t i = 0; i < map->n; i++) {
		bool hit = strcmp(map->keys[i]->value, key) == 0;

		compose_ynode_append(m, map->keys[i], hit ? val : map->items[i]);
		put = put || hit;
	}
	if (!put)
		compose_ynode_append(m, scalar(c, map, key), val);
	return m;
}

static struct compose_ynode *rebase_build(struct pctx *c, const struct compose_ynode *n, const char *dir)
{
	const struct compose_ynode *ctx;

	if (n->kind == COMPOSE_YSCALAR)
		return abs_scalar(c, n, dir);
	if (n->kind != COMPOSE_YMAP)
		return mut(n);
	ctx = compose_ynode_get(n, "context");
	return with(c, n, "context", ctx ? abs_scalar(c, ctx, dir) : scalar(c, n, dir));
}

static struct compose_ynode *rebase_env_file(struct pctx *c, const struct compose_ynode *n, const char *dir)
{
	struct compose_ynode *s;

	if (n->kind == COMPOSE_YSCALAR)
		return abs_scalar(c, n, dir);
	if (n->kind == COMPOSE_YMAP && compose_ynode_get(n, "path"))
		return with(c, n, "path", abs_scalar(c, compose_ynode_get(n, "path"), dir));
	if (n->kind != COMPOSE_YSEQ)
		return mut(n);
	s = compose_ynode_new(c->synth, COMPOSE_YSEQ, n, NULL);
	for (size_t i = 0; i < n->n; i++)
		compose_ynode_append(s, NULL, rebase_env_file(c, n->items[i], dir));
	return s;
}

static struct compose_ynode *rebase_volume(struct pctx *c, const struct compose_ynode *v, const char *dir)
{
	const struct compose_ynode *src = compose_ynode_get(v, "source");
	const struct compose_ynode *type = compose_ynode_get(v, "type");
	lo2_autofree char *p = NULL;

	if (v->kind == COMPOSE_YMAP)
		return src && type && strcmp(type->value, "bind") == 0
		           ? with(c, v, "source", abs_scalar(c, src, dir))
		           : mut(v);
	if (v->kind != COMPOSE_YSCALAR || v->value[0] != '.' || strchr(v->value, ':') == NULL)
		return mut(v);
	p = compose_path_resolve(dir, v->value); /* "./d:/t:ro" -> "/dir/d:/t:ro" */
	return scalar(c, v, p);
}

static struct compose_ynode *rebase_volumes(struct pctx *c, const struct compose_ynode *n, const char *dir)
{
	struct compose_ynode *s;

	if (n->kind != COMPOSE_YSEQ)
		return mut(n);
	s = compose_ynode_new(c->synth, COMPOSE_YSEQ, n, NULL);
	for (size_t i = 0; i < n->n; i++)
		compose_ynode_append(s, NULL, rebase_volume(c, n->items[i], dir));
	return s;
}

static const struct compose_ynode *rebase(struct pctx *c, const struct compose_ynode *body, const char *dir)
{
	struct compose_ynode *m;

	if (body->kind != COMPOSE_YMAP)
		return body;
	m = compose_ynode_new(c->synth, COMPOSE_YMAP, body, NULL);
	for (size_t i = 0; i < body->n; i++) {
		const char *k = body->keys[i]->value;
		struct compose_ynode *v = body->items[i];

		if (strcmp(k, "build") == 0)
			v = rebase_build(c, v, dir);
		else if (strcmp(k, "env_file") == 0)
			v = rebase_env_file(c, v, dir);
		else if (strcmp(k, "volumes") == 0)
			v = rebase_volumes(c, v, dir);
		compose_ynode_append(m, body->keys[i], v);
	}
	return m;
}

/* ---- other files ---- */

static int other_file(struct pctx *c, const struct compose_ynode *at, const char *path,
                      const struct compose_ynode **services)
{
	struct compose_ydoc *d = NULL;
	lo2_autofree char *text = NULL;
	size_t len = 0;
	const struct compose_ynode *root;

	for (size_t i = 0; i < c->n_docs && d == NULL; i++)
		if (strcmp(c->docs[i]->file, path) == 0)
			d = c->docs[i];
	if (d == NULL) {
		if (lo2_read_file(path, MAX_EXTENDS_FILE, &text, &len, c->err) < 0)
			return lo2_err_prefix(c->err, "%s:%d:%d: extends", compose_node_file(c, at), at->line,
			                      at->col);
		if (compose_yaml_parse(text, len, path, 0, &d, c->err) < 0)
			return -1;
		c->docs = xrealloc(c->docs, (c->n_docs + 1) * sizeof(*c->docs));
		c->docs[c->n_docs++] = d;
	}
	root = d->root;
	*services = compose_ynode_get(root, "services");
	if (*services == NULL || (*services)->kind != COMPOSE_YMAP)
		return compose_perr(c, at, "extends: %s has no services: mapping", path);
	return 0;
}

struct ext_where {
	const struct compose_ynode *services;
	const char *dir, *file; /* the file's folder and absolute path */
};

static int chain_error(struct pctx *c, const struct compose_ynode *at, const char *name,
                       const struct lo2_strv *chain, const char *again)
{
	char text[1024] = "";

	for (size_t i = 0; i < chain->n; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s -> ", chain->v[i]);
	snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s", again);
	return compose_perr(c, at, "services.%s.extends: cycle: %s", name, text);
}

static int resolve(struct pctx *c, const struct ext_where *w, const char *name,
                   const struct compose_ynode *at, struct lo2_strv *chain, const struct compose_ynode **out);

/* Reads extends: (a name, or service: and file:) and resolves the base it names. */
static int base_of(struct pctx *c, const struct ext_where *w, const char *name,
                   const struct compose_ynode *ext, struct lo2_strv *chain, const struct compose_ynode **base)
{
	const struct compose_ynode *sv = ext, *fv = NULL;
	lo2_autofree char *svc = NULL;
	lo2_autofree char *file = NULL;
	lo2_autofree char *abs = NULL;
	lo2_autofree char *dir = NULL;
	struct ext_where ow = *w;

	if (ext->kind == COMPOSE_YMAP) {
		sv = compose_ynode_get(ext, "service");
		fv = compose_ynode_get(ext, "file");
		if (sv == NULL)
			return compose_perr(c, ext, "services.%s.extends: expected a service: key", name);
	}
	if (compose_get_str(c, sv, "extends", &svc) < 0 ||
	    (fv && compose_get_str(c, fv, "extends", &file) < 0))
		return -1;
	if (file) {
		abs = compose_path_resolve(w->dir, file);
		dir = compose_path_resolve(abs, "..");
		if (other_file(c, fv, abs, &ow.services) < 0)
			return -1;
		ow.dir = dir;
		ow.file = abs;
	}
	if (resolve(c, &ow, svc, sv, chain, base) < 0)
		return -1;
	if (file)
		*base = rebase(c, *base, dir);
	return 0;
}

static int resolve(struct pctx *c, const struct ext_where *w, const char *name,
                   const struct compose_ynode *at, struct lo2_strv *chain, const struct compose_ynode **out)
{
	const struct compose_ynode *body = compose_ynode_get(w->services, name);
	const struct compose_ynode *ext, *base = NULL;
	lo2_autofree char *me =
	    w->file == c->p->config_file ? xstrdup(name) : xasprintf("%s:%s", w->file, name);
	int rc;

	if (body == NULL)
		return compose_perr(c, at, "services.%s.extends: service \"%.100s\" is not defined%s%s",
		                    chain->n ? chain->v[chain->n - 1] : name, name,
		                    w->file == c->p->config_file ? "" : " in ",
		                    w->file == c->p->config_file ? "" : w->file);
	if (body->kind != COMPOSE_YMAP || (ext = compose_ynode_get(body, "extends")) == NULL) {
		*out = body;
		return 0;
	}
	if (lo2_strv_contains(chain, me))
		return chain_error(c, ext, name, chain, me);
	if (chain->n >= MAX_EXTENDS_DEPTH)
		return compose_perr(c, ext, "extends: more than %d levels", MAX_EXTENDS_DEPTH);
	lo2_strv_push(chain, me);
	rc = base_of(c, w, name, ext, chain, &base);
	free(chain->v[--chain->n]);
	chain->v[chain->n] = NULL;
	if (rc < 0)
		return -1;
	*out = base->kind == COMPOSE_YMAP ? merge_map(c, base, body, true) : body;
	return 0;
}

int compose_resolve_extends(struct pctx *c, const struct compose_ynode *key, const struct compose_ynode *body,
                            const struct compose_ynode **out)
{
	struct ext_where w = {.services = c->services, .dir = c->dir, .file = c->p->config_file};
	struct lo2_strv chain = {0};
	int rc;

	*out = body;
	if (body->kind != COMPOSE_YMAP || compose_ynode_get(body, "extends") == NULL)
		return 0;
	if (c->synth == NULL) {
		c->synth = xcalloc(1, sizeof(*c->synth));
		c->synth->file = xstrdup(c->file);
	}
	rc = resolve(c, &w, key->value, key, &chain, out);
	lo2_strv_free(&chain);
	return rc;
}

void compose_extends_free(struct pctx *c)
{
	for (size_t i = 0; i < c->n_docs; i++)
		compose_ydoc_free(c->docs[i]);
	free(c->docs);
	c->docs = NULL;
	c->n_docs = 0;
	compose_ydoc_free(c->synth);
	c->synth = NULL;
}
