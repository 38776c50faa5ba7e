/* include.c - the top-level `include:` key: each entry is a compose file loaded as a project
 * of its own (its folder, or project_directory, anchors its paths; its env_file, or the .env
 * there, its variables), whose services, networks and volumes then join the including
 * project. A file that includes itself, directly or not, is refused with the chain named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "compose/internal.h"
#include "compose/parse.h"

static const char *const include_keys[] = {"path", "project_directory", "env_file", NULL};

static int cycle_error(struct pctx *c, const struct compose_ynode *at, const char *again)
{
	char text[1024] = "";

	for (size_t i = 0; c->chain && i < c->chain->n; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s -> ", c->chain->v[i]);
	snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s -> %s", c->p->config_file, again);
	return compose_perr(c, at, "include: cycle: %s", text);
}

static int include_one(struct pctx *c, const struct compose_ynode *it)
{
	const struct compose_ynode *pv = it, *v;
	struct lo2_strv paths = {0}, env_files = {0};
	lo2_autofree char *pdir = NULL;
	lo2_autofree char *abs = NULL;
	lo2_autofree char *dir = NULL;
	struct compose_project *q = NULL;
	int ret = -1;

	if (it->kind == COMPOSE_YMAP) {
		compose_warn_unknown(c, it, "include", include_keys);
		if ((pv = compose_ynode_get(it, "path")) == NULL) {
			compose_perr(c, it, "include: expected a path: key");
			goto out;
		}
		if ((v = compose_ynode_get(it, "project_directory")) &&
		    compose_get_str(c, v, "include", &pdir) < 0)
			goto out;
		if ((v = compose_ynode_get(it, "env_file")) &&
		    compose_get_strv(c, v, "include.env_file", true, &env_files) < 0)
			goto out;
	}
	if (compose_get_strv(c, pv, "include.path", true, &paths) < 0)
		goto out;
	if (paths.n != 1) {
		compose_perr(c, pv,
		             "include.path: lo2 reads one file per entry (override files are not "
		             "implemented); write one entry per file");
		goto out;
	}
	abs = compose_path_resolve(c->dir, paths.v[0]);
	if (strcmp(abs, c->p->config_file) == 0 || (c->chain && lo2_strv_contains(c->chain, abs))) {
		cycle_error(c, pv, abs);
		goto out;
	}
	for (size_t i = 0; i < env_files.n; i++) {
		char *e = compose_path_resolve(c->dir, env_files.v[i]);

		free(env_files.v[i]);
		env_files.v[i] = e;
	}
	dir = pdir ? compose_path_resolve(c->dir, pdir) : compose_path_resolve(abs, "..");
	if (compose_load_included(c, abs, dir, &env_files, &q) < 0) {
		lo2_err_prefix(c->err, "%s:%d:%d: include", compose_node_file(c, pv), pv->line, pv->col);
		goto out;
	}
	c->inc = xrealloc(c->inc, (c->n_inc + 1) * sizeof(*c->inc));
	c->inc[c->n_inc++] = q;
	ret = 0;
out:
	lo2_strv_free(&paths);
	lo2_strv_free(&env_files);
	return ret;
}

int compose_load_includes(struct pctx *c, const struct compose_ynode *inc)
{
	if (inc == NULL || compose_ynode_is_null(inc))
		return 0;
	if (inc->kind != COMPOSE_YSEQ)
		return compose_expect(c, inc, "include", "a list");
	for (size_t i = 0; i < inc->n; i++)
		if (include_one(c, inc->items[i]) < 0)
			return -1;
	return 0;
}

static bool same_network(const struct compose_network *a, const struct compose_network *b)
{
	return strcmp(a->name, b->name) == 0 && a->external == b->external &&
	       strcmp(a->driver ? a->driver : "", b->driver ? b->driver : "") == 0;
}

static int merge_networks(struct pctx *c, struct compose_project *q)
{
	struct compose_project *p = c->p;

	for (size_t i = 0; i < q->n_networks; i++) {
		struct compose_network *n = &q->networks[i];
		bool dup = false;

		for (size_t j = 0; j < p->n_networks && !dup; j++) {
			if (strcmp(p->networks[j].key, n->key) != 0)
				continue;
			if (!same_network(&p->networks[j], n))
				return lo2_err_set(
				    c->err, LO2_E_INVALID,
				    "%s: networks.%s: defined differently by the included file %s", c->file,
				    n->key, q->config_file);
			p->networks[j].used = p->networks[j].used || n->used;
			dup = true;
		}
		if (dup)
			continue;
		p->networks = xrealloc(p->networks, (p->n_networks + 1) * sizeof(*p->networks));
		p->networks[p->n_networks++] = *n;
		memset(n, 0, sizeof(*n));
	}
	return 0;
}

static int merge_volumes(struct pctx *c, struct compose_project *q)
{
	struct compose_project *p = c->p;

	for (size_t i = 0; i < q->n_volumes; i++) {
		struct compose_volume *v = &q->volumes[i];
		bool dup = false;

		for (size_t j = 0; j < p->n_volumes && !dup; j++) {
			if (strcmp(p->volumes[j].key, v->key) != 0)
				continue;
			if (strcmp(p->volumes[j].name, v->name) != 0 || p->volumes[j].external != v->external)
				return lo2_err_set(
				    c->err, LO2_E_INVALID,
				    "%s: volumes.%s: defined differently by the included file %s", c->file,
				    v->key, q->config_file);
			dup = true;
		}
		if (dup)
			continue;
		p->volumes = xrealloc(p->volumes, (p->n_volumes + 1) * sizeof(*p->volumes));
		p->volumes[p->n_volumes++] = *v;
		memset(v, 0, sizeof(*v));
	}
	return 0;
}

static void merge_secrets(struct pctx *c, struct compose_project *q)
{
	struct compose_project *p = c->p;

	for (size_t i = 0; i < q->n_secrets; i++) {
		struct compose_secret *s = &q->secrets[i];

		if (compose_secret_find(p, s->is_config, s->key))
			continue;
		p->secrets = xrealloc(p->secrets, (p->n_secrets + 1) * sizeof(*p->secrets));
		p->secrets[p->n_secrets++] = *s;
		memset(s, 0, sizeof(*s));
	}
}

int compose_merge_includes(struct pctx *c)
{
	struct compose_project *p = c->p;

	for (size_t k = 0; k < c->n_inc; k++) {
		struct compose_project *q = c->inc[k];

		for (size_t i = 0; i < q->n_services; i++)
			for (size_t j = 0; j < p->n_services; j++)
				if (strcmp(p->services[j].name, q->services[i].name) == 0)
					return lo2_err_set(
					    c->err, LO2_E_INVALID,
					    "%s:%d:%d: services.%s: also defined by the included "
					    "file %s",
					    c->file, p->services[j].line, p->services[j].col,
					    p->services[j].name, q->config_file);
		p->services = xrealloc(p->services, (p->n_services + q->n_services) * sizeof(*p->services));
		memcpy(p->services + p->n_services, q->services, q->n_services * sizeof(*q->services));
		p->n_services += q->n_services;
		q->n_services = 0;
		if (merge_networks(c, q) < 0 || merge_volumes(c, q) < 0)
			return -1;
		merge_secrets(c, q);
	}
	return 0;
}

bool compose_has_service(struct pctx *c, const char *name)
{
	if (compose_ynode_get(c->services, name))
		return true;
	for (size_t k = 0; k < c->n_inc; k++)
		if (compose_service_find(c->inc[k], name))
			return true;
	return false;
}

bool compose_has_network(struct pctx *c, const char *key)
{
	if (compose_ynode_get(c->networks, key))
		return true;
	for (size_t k = 0; k < c->n_inc; k++)
		for (size_t i = 0; i < c->inc[k]->n_networks; i++)
			if (strcmp(c->inc[k]->networks[i].key, key) == 0)
				return true;
	return false;
}

bool compose_has_volume(struct pctx *c, const char *key)
{
	if (compose_ynode_get(c->volumes, key))
		return true;
	for (size_t k = 0; k < c->n_inc; k++)
		for (size_t i = 0; i < c->inc[k]->n_volumes; i++)
			if (strcmp(c->inc[k]->volumes[i].key, key) == 0)
				return true;
	return false;
}
