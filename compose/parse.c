/* parse.c - compose file loading: the document, the .env beside it, the top level
 * (name, networks, volumes), the project name, the typed getters every key goes through,
 * and the checks that need the whole file (the default network, dependency cycles). */
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/mem.h"
#include "compose/internal.h"
#include "compose/parse.h"

extern char **environ;

#define MAX_FILE_BYTES (8u << 20)

/* ---- messages ---- */

const char *compose_node_file(struct pctx *c, const struct compose_ynode *n)
{
	return n && n->file ? n->file : c->file;
}

int compose_unimplemented(struct pctx *c, const struct compose_ynode *n, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!c->lenient)
		return compose_perr(c, n, "%s (--compatibility lenient makes this a warning)", what);
	compose_pwarn(c, n, "%s; ignored (--compatibility lenient)", what);
	return 0;
}

int compose_perr(struct pctx *c, const struct compose_ynode *n, const char *fmt, ...)
{
	char what[LO2_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (n == NULL)
		return lo2_err_set(c->err, LO2_E_INVALID, "%s: %s", c->file, what);
	return lo2_err_set(c->err, LO2_E_INVALID, "%s:%d:%d: %s", compose_node_file(c, n), n->line, n->col,
	                   what);
}

void compose_pwarn(struct pctx *c, const struct compose_ynode *n, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	if (c->warnings == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	lo2_strv_take(c->warnings, xasprintf("%s:%d:%d: %s", compose_node_file(c, n), n->line, n->col, what));
}

int compose_expect(struct pctx *c, const struct compose_ynode *n, const char *path, const char *what)
{
	return compose_perr(c, n, "%s: expected %s, got %s", path, what, compose_ynode_kind_name(n));
}

void compose_warn_unknown(struct pctx *c, const struct compose_ynode *map, const char *path,
                          const char *const *known)
{
	for (size_t i = 0; i < map->n; i++) {
		const char *k = map->keys[i]->value;
		bool ok = strncmp(k, "x-", 2) == 0;

		for (size_t j = 0; !ok && known[j]; j++)
			ok = strcmp(known[j], k) == 0;
		if (!ok)
			compose_pwarn(c, map->keys[i], "%s: unknown key \"%s\" ignored", path, k);
	}
}

/* ---- typed getters ---- */

static int interp(struct pctx *c, const struct compose_ynode *n, const char *path, char **out)
{
	struct lo2_strv unset = {0};

	if (compose_interpolate(n->value, c->env, out, &unset, c->err) < 0) {
		lo2_strv_free(&unset);
		return lo2_err_prefix(c->err, "%s:%d:%d: %s", compose_node_file(c, n), n->line, n->col, path);
	}
	for (size_t i = 0; i < unset.n; i++) {
		if (lo2_strv_contains(&c->unset_seen, unset.v[i]))
			continue;
		lo2_strv_push(&c->unset_seen, unset.v[i]);
		compose_pwarn(c, n, "variable \"%s\" is not set; substituting a blank string", unset.v[i]);
	}
	lo2_strv_free(&unset);
	return 0;
}

int compose_get_str(struct pctx *c, const struct compose_ynode *n, const char *path, char **dst)
{
	char *v;

	if (n->kind != COMPOSE_YSCALAR || compose_ynode_is_null(n))
		return compose_expect(c, n, path, "a string");
	if (interp(c, n, path, &v) < 0)
		return -1;
	free(*dst);
	*dst = v;
	return 0;
}

static bool word_in(const char *s, const char *const *words)
{
	for (size_t i = 0; words[i]; i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	return false;
}

int compose_get_bool(struct pctx *c, const struct compose_ynode *n, const char *path, bool *dst)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
	                                  "YES",  "on",   "On",   "ON",  NULL};
	static const char *const no[] = {"false", "False", "FALSE", "no",  "No",
	                                 "NO",    "off",   "Off",   "OFF", NULL};
	lo2_autofree char *v = NULL;

	if (compose_get_str(c, n, path, &v) < 0)
		return lo2_err_prefix(c->err, "expected true or false");
	if (word_in(v, yes))
		*dst = true;
	else if (word_in(v, no))
		*dst = false;
	else
		return compose_perr(c, n, "%s: expected true or false, got \"%.100s\"", path, v);
	return 0;
}

int compose_get_int(struct pctx *c, const struct compose_ynode *n, const char *path, int64_t lo, int64_t hi,
                    int64_t *dst)
{
	lo2_autofree char *v = NULL;
	char *end;
	long long x;

	if (n->kind != COMPOSE_YSCALAR || compose_ynode_is_null(n))
		return compose_expect(c, n, path, "an integer");
	if (compose_get_str(c, n, path, &v) < 0)
		return -1;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (end == v || *end || errno)
		return compose_perr(c, n, "%s: expected an integer, got \"%.100s\"", path, v);
	if (x < lo || x > hi)
		return compose_perr(c, n, "%s: %lld is out of range (%lld to %lld)", path, x, (long long)lo,
		                    (long long)hi);
	*dst = x;
	return 0;
}

int compose_get_duration(struct pctx *c, const struct compose_ynode *n, const char *path, int64_t *dst)
{
	lo2_autofree char *v = NULL;

	if (n->kind != COMPOSE_YSCALAR || compose_ynode_is_null(n))
		return compose_expect(c, n, path, "a duration");
	if (compose_get_str(c, n, path, &v) < 0 || compose_parse_duration(v, dst, c->err) < 0)
		return lo2_err_prefix(c->err, "%s:%d:%d: %s", compose_node_file(c, n), n->line, n->col, path);
	return 0;
}

int compose_get_size(struct pctx *c, const struct compose_ynode *n, const char *path, int64_t *dst)
{
	lo2_autofree char *v = NULL;

	if (n->kind != COMPOSE_YSCALAR || compose_ynode_is_null(n))
		return compose_expect(c, n, path, "a size");
	if (compose_get_str(c, n, path, &v) < 0 || compose_parse_size(v, dst, c->err) < 0)
		return lo2_err_prefix(c->err, "%s:%d:%d: %s", compose_node_file(c, n), n->line, n->col, path);
	return 0;
}

int compose_get_strv(struct pctx *c, const struct compose_ynode *n, const char *path, bool allow_string,
                     struct lo2_strv *dst)
{
	char *v = NULL;

	if (allow_string && n->kind == COMPOSE_YSCALAR && !compose_ynode_is_null(n)) {
		if (compose_get_str(c, n, path, &v) < 0)
			return -1;
		lo2_strv_take(dst, v);
		return 0;
	}
	if (n->kind != COMPOSE_YSEQ)
		return compose_expect(c, n, path,
		                      allow_string ? "a string or a list of strings" : "a list of strings");
	for (size_t i = 0; i < n->n; i++) {
		v = NULL;
		if (compose_get_str(c, n->items[i], path, &v) < 0)
			return -1;
		lo2_strv_take(dst, v);
	}
	return 0;
}

static int kv_item(struct pctx *c, const struct compose_ynode *n, const char *path, char sep,
                   struct lo2_kvv *dst)
{
	lo2_autofree char *v = NULL;
	char *at;

	if (compose_get_str(c, n, path, &v) < 0)
		return -1;
	at = strchr(v, sep);
	if (at == NULL && sep == ':')
		at = strchr(v, '=');
	if (at == NULL) {
		lo2_kvv_set(dst, v, NULL);
		return 0;
	}
	*at = '\0';
	lo2_kvv_set(dst, v, at + 1);
	return 0;
}

int compose_get_kv(struct pctx *c, const struct compose_ynode *n, const char *path, char sep,
                   struct lo2_kvv *dst)
{
	lo2_autofree char *v = NULL;

	if (n->kind == COMPOSE_YSEQ) {
		for (size_t i = 0; i < n->n; i++)
			if (kv_item(c, n->items[i], path, sep, dst) < 0)
				return -1;
		return 0;
	}
	if (n->kind != COMPOSE_YMAP)
		return compose_expect(c, n, path, "a mapping or a list");
	for (size_t i = 0; i < n->n; i++) {
		const struct compose_ynode *val = n->items[i];

		free(v);
		v = NULL;
		if (compose_ynode_is_null(val)) {
			lo2_kvv_set(dst, n->keys[i]->value, NULL);
			continue;
		}
		if (val->kind != COMPOSE_YSCALAR)
			return compose_expect(c, val, path, "a string value");
		if (compose_get_str(c, val, path, &v) < 0)
			return -1;
		lo2_kvv_set(dst, n->keys[i]->value, v);
	}
	return 0;
}

/* ---- top level: networks and volumes ---- */

static int parse_external(struct pctx *c, const struct compose_ynode *n, const char *path, bool *ext,
                          char **name)
{
	if (n->kind == COMPOSE_YMAP) {
		const struct compose_ynode *nm = compose_ynode_get(n, "name");

		*ext = true;
		return nm ? compose_get_str(c, nm, path, name) : 0;
	}
	return compose_get_bool(c, n, path, ext);
}

static const char *const ipam_keys[] = {"driver", "config", "options", NULL};
static const char *const pool_keys[] = {"subnet", "ip_range", "gateway", "aux_addresses", NULL};

static int parse_pool(struct pctx *c, const struct compose_ynode *n, const char *path,
                      struct compose_ipam_pool *pool)
{
	const struct compose_ynode *v;

	if (n->kind != COMPOSE_YMAP)
		return compose_expect(c, n, path, "a mapping");
	compose_warn_unknown(c, n, path, pool_keys);
	if ((v = compose_ynode_get(n, "subnet")) && compose_get_str(c, v, path, &pool->subnet) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "ip_range")) && compose_get_str(c, v, path, &pool->ip_range) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "gateway")) && compose_get_str(c, v, path, &pool->gateway) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "aux_addresses")) &&
	    compose_unimplemented(c, v, "%s.aux_addresses is not implemented by lo2", path) < 0)
		return -1;
	return 0;
}

/* ipam: driver and config pools (subnet, ip_range, gateway), as the engine takes them. */
static int parse_ipam(struct pctx *c, const struct compose_ynode *n, const char *path,
                      struct compose_network *nw)
{
	lo2_autofree char *ip = xasprintf("%s.ipam", path);
	const struct compose_ynode *v;

	if (n->kind != COMPOSE_YMAP)
		return compose_expect(c, n, ip, "a mapping");
	compose_warn_unknown(c, n, ip, ipam_keys);
	if ((v = compose_ynode_get(n, "driver")) && compose_get_str(c, v, ip, &nw->ipam_driver) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "options")) &&
	    compose_unimplemented(c, v, "%s.options is not implemented by lo2", ip) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "config")) == NULL || compose_ynode_is_null(v))
		return 0;
	if (v->kind != COMPOSE_YSEQ)
		return compose_expect(c, v, ip, "a list");
	nw->pools = xcalloc(v->n + 1, sizeof(*nw->pools));
	for (size_t i = 0; i < v->n; i++)
		if (parse_pool(c, v->items[i], ip, &nw->pools[nw->n_pools++]) < 0)
			return -1;
	return 0;
}

static const char *const net_keys[] = {"driver",   "external",   "name",        "labels", "driver_opts",
                                       "internal", "attachable", "enable_ipv6", "ipam",   NULL};

static int parse_network_body(struct pctx *c, const struct compose_ynode *b, const char *path,
                              struct compose_network *nw)
{
	const struct compose_ynode *v;

	compose_warn_unknown(c, b, path, net_keys);
	if ((v = compose_ynode_get(b, "driver")) && compose_get_str(c, v, path, &nw->driver) < 0)
		return -1;
	if ((v = compose_ynode_get(b, "external")) &&
	    parse_external(c, v, path, &nw->external, &nw->name) < 0)
		return -1;
	if ((v = compose_ynode_get(b, "name")) && compose_get_str(c, v, path, &nw->name) < 0)
		return -1;
	if ((v = compose_ynode_get(b, "labels")) && compose_get_kv(c, v, path, '=', &nw->labels) < 0)
		return -1;
	if ((v = compose_ynode_get(b, "driver_opts")) &&
	    compose_get_kv(c, v, path, '=', &nw->driver_opts) < 0)
		return -1;
	if ((v = compose_ynode_get(b, "internal")) && compose_get_bool(c, v, path, &nw->internal) < 0)
		return -1;
	if ((v = compose_ynode_get(b, "attachable")) && compose_get_bool(c, v, path, &nw->attachable) < 0)
		return -1;
	if ((v = compose_ynode_get(b, "enable_ipv6")) && compose_get_bool(c, v, path, &nw->enable_ipv6) < 0)
		return -1;
	if ((v = compose_ynode_get(b, "ipam")) && !compose_ynode_is_null(v) && parse_ipam(c, v, path, nw) < 0)
		return -1;
	return 0;
}

static char *resource_name(struct pctx *c, const char *key, const char *name, bool external)
{
	if (name)
		return xstrdup(name);
	return external ? xstrdup(key) : xasprintf("%s_%s", c->p->name, key);
}

static int parse_networks(struct pctx *c)
{
	const struct compose_ynode *m = c->networks;
	struct compose_project *p = c->p;

	if (m == NULL || compose_ynode_is_null(m))
		return 0;
	if (m->kind != COMPOSE_YMAP)
		return compose_expect(c, m, "networks", "a mapping");
	p->networks = xcalloc(m->n + 1, sizeof(*p->networks));
	for (size_t i = 0; i < m->n; i++) {
		struct compose_network *nw = &p->networks[p->n_networks++];
		lo2_autofree char *path = xasprintf("networks.%s", m->keys[i]->value);
		char *name;

		nw->key = xstrdup(m->keys[i]->value);
		if (!compose_ynode_is_null(m->items[i])) {
			if (m->items[i]->kind != COMPOSE_YMAP)
				return compose_expect(c, m->items[i], path, "a mapping");
			if (parse_network_body(c, m->items[i], path, nw) < 0)
				return -1;
		}
		name = resource_name(c, nw->key, nw->name, nw->external);
		free(nw->name);
		nw->name = name;
	}
	return 0;
}

static const char *const vol_keys[] = {"driver", "external", "name", "labels", "driver_opts", NULL};

static int parse_volume_body(struct pctx *c, const struct compose_ynode *b, const char *path,
                             struct compose_volume *vol)
{
	const struct compose_ynode *v;

	compose_warn_unknown(c, b, path, vol_keys);
	if ((v = compose_ynode_get(b, "driver")) && compose_get_str(c, v, path, &vol->driver) < 0)
		return -1;
	if ((v = compose_ynode_get(b, "external")) &&
	    parse_external(c, v, path, &vol->external, &vol->name) < 0)
		return -1;
	if ((v = compose_ynode_get(b, "name")) && compose_get_str(c, v, path, &vol->name) < 0)
		return -1;
	if ((v = compose_ynode_get(b, "labels")) && compose_get_kv(c, v, path, '=', &vol->labels) < 0)
		return -1;
	if ((v = compose_ynode_get(b, "driver_opts")) &&
	    compose_get_kv(c, v, path, '=', &vol->driver_opts) < 0)
		return -1;
	return 0;
}

static int parse_volumes(struct pctx *c)
{
	const struct compose_ynode *m = c->volumes;
	struct compose_project *p = c->p;

	if (m == NULL || compose_ynode_is_null(m))
		return 0;
	if (m->kind != COMPOSE_YMAP)
		return compose_expect(c, m, "volumes", "a mapping");
	p->volumes = xcalloc(m->n, sizeof(*p->volumes));
	for (size_t i = 0; i < m->n; i++) {
		struct compose_volume *vol = &p->volumes[p->n_volumes++];
		lo2_autofree char *path = xasprintf("volumes.%s", m->keys[i]->value);
		char *name;

		vol->key = xstrdup(m->keys[i]->value);
		if (!compose_ynode_is_null(m->items[i])) {
			if (m->items[i]->kind != COMPOSE_YMAP)
				return compose_expect(c, m->items[i], path, "a mapping");
			if (parse_volume_body(c, m->items[i], path, vol) < 0)
				return -1;
		}
		name = resource_name(c, vol->key, vol->name, vol->external);
		free(vol->name);
		vol->name = name;
	}
	return 0;
}

/* ---- project name ---- */

static int project_name(struct pctx *c, const struct compose_load_opts *o, const struct compose_ynode *root)
{
	const char *given = o->project_name;
	const struct compose_ynode *nm = compose_ynode_get(root, "name");
	lo2_autofree char *raw = NULL;
	lo2_autofree char *dir = xstrdup(c->dir);

	if (given == NULL || *given == '\0')
		given = lo2_kvv_get(c->env, "COMPOSE_PROJECT_NAME");
	if (given && *given) {
		if (!compose_name_is_valid(given))
			return lo2_err_set(
			    c->err, LO2_E_INVALID,
			    "invalid project name \"%.100s\": use lowercase letters, digits, '-' and "
			    "'_', starting with a letter or digit",
			    given);
		c->p->name = xstrdup(given);
		return 0;
	}
	if (nm && compose_get_str(c, nm, "name", &raw) < 0)
		return -1;
	c->p->name = compose_normalize_name(raw ? raw : basename(dir));
	if (c->p->name[0] == '\0')
		return compose_perr(c, nm, "cannot derive a project name from \"%.100s\"; pass -p NAME",
		                    raw ? raw : c->dir);
	return 0;
}

/* ---- services ---- */

static int parse_services(struct pctx *c)
{
	const struct compose_ynode *m = c->services;
	struct compose_project *p = c->p;

	if ((m == NULL || compose_ynode_is_null(m)) && c->n_inc > 0)
		return 0;
	if (m == NULL || compose_ynode_is_null(m))
		return lo2_err_set(c->err, LO2_E_INVALID,
		                   "%s: no services defined (expected a services: mapping)", c->file);
	if (m->kind != COMPOSE_YMAP)
		return compose_expect(c, m, "services", "a mapping");
	p->services = xcalloc(m->n, sizeof(*p->services));
	for (size_t i = 0; i < m->n; i++) {
		struct compose_service *s = &p->services[p->n_services++];
		const struct compose_ynode *body;

		if (compose_resolve_extends(c, m->keys[i], m->items[i], &body) < 0 ||
		    compose_parse_service(c, m->keys[i], body, s) < 0)
			return -1;
	}
	return 0;
}

static void add_default_network(struct pctx *c)
{
	struct compose_project *p = c->p;
	struct compose_network *nw;

	for (size_t i = 0; i < p->n_networks; i++)
		if (strcmp(p->networks[i].key, "default") == 0) {
			p->networks[i].used = true;
			return;
		}
	p->networks = xrealloc(p->networks, (p->n_networks + 1) * sizeof(*p->networks));
	nw = &p->networks[p->n_networks++];
	memset(nw, 0, sizeof(*nw));
	nw->key = xstrdup("default");
	nw->name = xasprintf("%s_default", p->name);
	nw->used = true;
}

/* Services with neither networks: nor network_mode: join "default". */
static void default_network(struct pctx *c)
{
	bool need = false;

	for (size_t i = 0; i < c->p->n_services; i++) {
		struct compose_service *s = &c->p->services[i];

		if (s->n_networks > 0 || s->network_mode)
			continue;
		s->networks = xcalloc(1, sizeof(*s->networks));
		s->networks[0].key = xstrdup("default");
		s->n_networks = 1;
		need = true;
	}
	if (need)
		add_default_network(c);
	for (size_t i = 0; i < c->p->n_services; i++)
		for (size_t j = 0; j < c->p->services[i].n_networks; j++)
			for (size_t k = 0; k < c->p->n_networks; k++)
				if (strcmp(c->p->networks[k].key, c->p->services[i].networks[j].key) == 0)
					c->p->networks[k].used = true;
}

/* ---- dependency cycles ---- */

static ssize_t svc_index(const struct compose_project *p, const char *name)
{
	for (size_t i = 0; i < p->n_services; i++)
		if (strcmp(p->services[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* DFS; colour 0 new, 1 on the stack, 2 done. On a cycle fills chain with the names. */
static int visit(struct pctx *c, size_t i, int *colour, size_t *stack, size_t depth)
{
	struct compose_service *s = &c->p->services[i];

	colour[i] = 1;
	stack[depth] = i;
	for (size_t d = 0; d < s->n_deps; d++) {
		ssize_t j = svc_index(c->p, s->deps[d].service);

		if (j < 0 || colour[j] == 2)
			continue;
		if (colour[j] == 1) {
			char chain[1024] = "";
			size_t at = depth;

			while (stack[at] != (size_t)j)
				at--;
			for (size_t k = at; k <= depth; k++)
				snprintf(chain + strlen(chain), sizeof(chain) - strlen(chain), "%s -> ",
				         c->p->services[stack[k]].name);
			snprintf(chain + strlen(chain), sizeof(chain) - strlen(chain), "%s",
			         c->p->services[j].name);
			return lo2_err_set(c->err, LO2_E_INVALID,
			                   "%s:%d:%d: services.%s.depends_on: dependency cycle: %s", c->file,
			                   s->deps[d].line, s->deps[d].col, s->name, chain);
		}
		if (visit(c, (size_t)j, colour, stack, depth + 1) < 0)
			return -1;
	}
	colour[i] = 2;
	return 0;
}

static int check_cycles(struct pctx *c)
{
	size_t n = c->p->n_services;
	int *colour = xcalloc(n ? n : 1, sizeof(*colour));
	size_t *stack = xcalloc(n ? n : 1, sizeof(*stack));
	int ret = 0;

	for (size_t i = 0; i < n && ret == 0; i++)
		if (colour[i] == 0)
			ret = visit(c, i, colour, stack, 0);
	free(colour);
	free(stack);
	return ret;
}

/* ---- loading ---- */

/* Services at the top level (a mapping with image: or build:) and no services: key. */
static int legacy_v1(struct pctx *c, const struct compose_ynode *root)
{
	struct lo2_buf names = LO2_BUF_INIT;
	int ret = 0;

	if (compose_ynode_get(root, "services"))
		return 0;
	for (size_t i = 0; i < root->n; i++) {
		const struct compose_ynode *v = root->items[i];

		if (v->kind == COMPOSE_YMAP &&
		    (compose_ynode_get(v, "image") || compose_ynode_get(v, "build")))
			lo2_buf_printf(&names, "%s%s", names.len ? ", " : "", root->keys[i]->value);
	}
	if (names.len)
		ret =
		    lo2_err_set(c->err, LO2_E_INVALID,
		                "%s: a legacy version 1 compose file (services at the top level: %s); docker "
		                "compose and lo2 read only the Compose Specification: convert it by moving "
		                "the services, indented, under a top-level \"services:\" key (and net: "
		                "becomes network_mode:)",
		                c->file, names.data);
	lo2_buf_free(&names);
	return ret;
}

/* Top-level keys of the specification that lo2 does not implement. */
static int top_unimplemented(struct pctx *c, const struct compose_ynode *root)
{
	static const char *const keys[] = {"models", NULL};

	for (size_t i = 0; keys[i]; i++) {
		const struct compose_ynode *k = NULL;

		for (size_t j = 0; j < root->n && k == NULL; j++)
			if (strcmp(root->keys[j]->value, keys[i]) == 0)
				k = root->keys[j];
		if (k)
			compose_pwarn(c, k,
			              "top level: %s are not implemented by lo2 (a service that uses one "
			              "is refused); ignored",
			              keys[i]);
	}
	return 0;
}

static void warn_top_unknown(struct pctx *c, const struct compose_ynode *root)
{
	static const char *const known[] = {"version", "name",    "services", "networks", "volumes",
	                                    "include", "secrets", "configs",  "models",   NULL};

	compose_warn_unknown(c, root, "top level", known);
}

static int load_root(struct pctx *c, const struct compose_load_opts *o, const struct compose_ynode *root)
{
	if (root == NULL || compose_ynode_is_null(root))
		return lo2_err_set(c->err, LO2_E_INVALID, "%s: empty compose file", c->file);
	if (root->kind != COMPOSE_YMAP)
		return compose_expect(c, root, "top level", "a mapping");
	if (legacy_v1(c, root) < 0)
		return -1;
	warn_top_unknown(c, root);
	top_unimplemented(c, root);
	c->root = root;
	c->services = compose_ynode_get(root, "services");
	c->networks = compose_ynode_get(root, "networks");
	c->volumes = compose_ynode_get(root, "volumes");
	if (c->networks && !compose_ynode_is_null(c->networks) && c->networks->kind != COMPOSE_YMAP)
		return compose_expect(c, c->networks, "networks", "a mapping");
	if (c->volumes && !compose_ynode_is_null(c->volumes) && c->volumes->kind != COMPOSE_YMAP)
		return compose_expect(c, c->volumes, "volumes", "a mapping");
	if (project_name(c, o, root) < 0 ||
	    compose_load_includes(c, compose_ynode_get(root, "include")) < 0 || parse_networks(c) < 0 ||
	    parse_volumes(c) < 0 || compose_parse_secrets(c, compose_ynode_get(root, "secrets"), false) < 0 ||
	    compose_parse_secrets(c, compose_ynode_get(root, "configs"), true) < 0)
		return -1;
	if (parse_services(c) < 0 || compose_merge_includes(c) < 0)
		return -1;
	if (!c->included && compose_apply_profiles(c) < 0)
		return -1;
	default_network(c);
	return check_cycles(c);
}

static int dotenv_into(const char *path, const struct lo2_kvv *lookup, struct lo2_kvv *env,
                       struct lo2_err *err)
{
	lo2_autofree char *text = NULL;

	if (lo2_read_file(path, MAX_FILE_BYTES, &text, NULL, err) < 0 ||
	    compose_dotenv_parse(text, path, lookup, env, err) < 0)
		return -1;
	return 0;
}

/* The process environment over env_files (or, when none, the .env file in dir). */
int compose_env_for(const char *dir, const struct lo2_strv *env_files, struct lo2_kvv *env,
                    struct lo2_err *err)
{
	lo2_autofree char *dot = xasprintf("%s/.env", dir);
	struct lo2_kvv proc = {0};
	int ret = 0;

	for (char **e = environ; *e; e++) {
		char *eq = strchr(*e, '=');
		lo2_autofree char *k = eq ? xstrndup(*e, (size_t)(eq - *e)) : NULL;

		if (k)
			lo2_kvv_set(&proc, k, eq + 1);
	}
	if (env_files && env_files->n > 0) {
		for (size_t i = 0; ret == 0 && i < env_files->n; i++)
			ret = dotenv_into(env_files->v[i], &proc, env, err);
	} else if (access(dot, F_OK) == 0) {
		ret = dotenv_into(dot, &proc, env, err);
	}
	lo2_kvv_copy(env, &proc);
	lo2_kvv_free(&proc);
	return ret;
}

static char *abs_dir_of(const char *file)
{
	char real[PATH_MAX];
	lo2_autofree char *copy = NULL;
	char cwd[PATH_MAX];

	if (realpath(file, real) != NULL) {
		copy = xstrdup(real);
		return xstrdup(dirname(copy));
	}
	copy = xstrdup(file);
	if (file[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return compose_path_resolve("/", dirname(copy));
	return compose_path_resolve(cwd, dirname(copy));
}

/* Loads text as file o->file with folder dir; parent (may be NULL) is the including file's
 * context: its chain, lenience and warnings carry over. */
static int load_common(const char *text, size_t len, const struct compose_load_opts *o, const char *dir,
                       const struct lo2_kvv *env, struct pctx *parent, struct compose_project **out,
                       struct lo2_strv *warnings, struct lo2_err *err)
{
	struct compose_ydoc *doc = NULL;
	struct compose_project *p = xcalloc(1, sizeof(*p));
	struct pctx c = {
	    .file = o->file, .dir = dir, .env = env, .warnings = warnings, .err = err, .p = p, .o = o};
	struct lo2_strv chain = {0};
	lo2_autofree char *base = NULL;
	int ret = -1;

	c.lenient = o->lenient;
	p->working_dir = xstrdup(dir);
	base = xstrdup(o->file);
	p->config_file = parent ? xstrdup(o->file) : compose_path_resolve(dir, basename(base));
	if (parent) {
		if (parent->chain)
			lo2_strv_copy(&chain, parent->chain);
		lo2_strv_push(&chain, parent->p->config_file);
		c.lenient = parent->lenient;
		c.included = true;
	}
	c.chain = &chain;
	if (compose_yaml_parse(text, len, o->file, o->max_nodes, &doc, err) < 0)
		goto out;
	if (load_root(&c, o, doc->root) < 0)
		goto out;
	*out = p;
	p = NULL;
	ret = 0;
out:
	lo2_strv_free(&c.unset_seen);
	lo2_strv_free(&chain);
	compose_extends_free(&c);
	for (size_t i = 0; i < c.n_inc; i++)
		compose_project_free(c.inc[i]);
	free(c.inc);
	compose_ydoc_free(doc);
	compose_project_free(p);
	return ret;
}

int compose_load_included(struct pctx *parent, const char *file, const char *dir,
                          const struct lo2_strv *env_files, struct compose_project **out)
{
	struct compose_load_opts o = {.file = file, .project_name = parent->p->name};
	lo2_autofree char *text = NULL;
	size_t len = 0;
	struct lo2_kvv env = {0};
	const struct lo2_kvv *extra = parent->o ? parent->o->extra_env : NULL;
	int ret = -1;

	if (lo2_read_file(file, MAX_FILE_BYTES, &text, &len, parent->err) < 0)
		return -1;
	if (compose_env_for(dir, env_files, &env, parent->err) < 0)
		goto out;
	for (size_t i = 0; extra && i < extra->n; i++)
		lo2_kvv_set(&env, extra->v[i].key, extra->v[i].val);
	ret = load_common(text, len, &o, dir, &env, parent, out, parent->warnings, parent->err);
out:
	lo2_kvv_free(&env);
	return ret;
}

int compose_load_text(const char *text, size_t len, const struct compose_load_opts *o,
                      struct compose_project **out, struct lo2_strv *warnings, struct lo2_err *err)
{
	lo2_autofree char *dir = abs_dir_of(o->file ? o->file : "compose.yaml");
	struct lo2_kvv env = {0};
	struct compose_load_opts oo = *o;
	int ret = -1;

	if (oo.file == NULL)
		oo.file = "compose.yaml";
	if (o->env == NULL && compose_env_for(dir, NULL, &env, err) < 0)
		goto out;
	if (o->env)
		lo2_kvv_copy(&env, o->env);
	for (size_t i = 0; o->extra_env && i < o->extra_env->n; i++)
		lo2_kvv_set(&env, o->extra_env->v[i].key, o->extra_env->v[i].val);
	ret = load_common(text, len, &oo, dir, &env, NULL, out, warnings, err);
out:
	lo2_kvv_free(&env);
	return ret;
}

int compose_load(const struct compose_load_opts *o, struct compose_project **out, struct lo2_strv *warnings,
                 struct lo2_err *err)
{
	lo2_autofree char *text = NULL;
	size_t len = 0;

	if (lo2_read_file(o->file, MAX_FILE_BYTES, &text, &len, err) < 0)
		return lo2_err_prefix(err, "load compose file");
	return compose_load_text(text, len, o, out, warnings, err);
}
