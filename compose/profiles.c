/* profiles.c - `profiles:` as docker compose v2 applies them: a service with profiles runs only
 * when one of them is active (--profile, else COMPOSE_PROFILES; "*" activates all); a service
 * named on the command line activates its own; a required dependency of a running service
 * on one that does not run is an error. The services that do not run leave the model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/mem.h"
#include "compose/internal.h"
#include "compose/parse.h"

static void active_profiles(struct pctx *c, struct lo2_strv *active)
{
	const struct lo2_strv *given = c->o ? c->o->profiles : NULL;
	const char *env = lo2_kvv_get(c->env, "COMPOSE_PROFILES");
	const struct lo2_strv *named = c->o ? c->o->services : NULL;

	if (given && given->n > 0) {
		lo2_strv_copy(active, given);
	} else if (env && *env) {
		lo2_autofree char *copy = xstrdup(env);
		char *save = NULL;

		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			if (*t)
				lo2_strv_push(active, t);
	}
	for (size_t i = 0; named && i < named->n; i++) {
		const struct compose_service *s = compose_service_find(c->p, named->v[i]);

		for (size_t j = 0; s && j < s->profiles.n; j++)
			if (!lo2_strv_contains(active, s->profiles.v[j]))
				lo2_strv_push(active, s->profiles.v[j]);
	}
}

static bool is_enabled(const struct compose_service *s, const struct lo2_strv *active)
{
	if (s->profiles.n == 0 || lo2_strv_contains(active, "*"))
		return true;
	for (size_t i = 0; i < s->profiles.n; i++)
		if (lo2_strv_contains(active, s->profiles.v[i]))
			return true;
	return false;
}

static char *joined(const struct lo2_strv *v)
{
	struct lo2_buf b = LO2_BUF_INIT;

	for (size_t i = 0; i < v->n; i++)
		lo2_buf_printf(&b, "%s%s", i ? ", " : "", v->v[i]);
	return b.data ? lo2_buf_steal(&b) : xstrdup("");
}

/* A running service's dependencies on services that do not run: required ones are errors,
 * the others are dropped (v2 does the same). */
static int check_deps(struct pctx *c, struct compose_service *s, const bool *on)
{
	size_t keep = 0;

	for (size_t d = 0; d < s->n_deps; d++) {
		struct compose_dep *dep = &s->deps[d];
		const struct compose_service *t = compose_service_find(c->p, dep->service);
		bool off = t && !on[t - c->p->services];

		if (off && dep->required) {
			lo2_autofree char *names = joined(&t->profiles);

			return lo2_err_set(
			    c->err, LO2_E_INVALID,
			    "%s:%d:%d: services.%s.depends_on: service \"%s\" is not enabled by the "
			    "active profiles (its profiles: %s); activate one with --profile or "
			    "COMPOSE_PROFILES",
			    c->file, dep->line, dep->col, s->name, t->name, names);
		}
		if (off) {
			free(dep->service);
			free(dep->condition);
			continue;
		}
		s->deps[keep++] = *dep;
	}
	s->n_deps = keep;
	return 0;
}

int compose_apply_profiles(struct pctx *c)
{
	struct compose_project *p = c->p;
	struct lo2_strv active = {0};
	bool *on = xcalloc(p->n_services + 1, sizeof(*on));
	size_t keep = 0;
	int ret = -1;

	active_profiles(c, &active);
	for (size_t i = 0; i < p->n_services; i++)
		on[i] = is_enabled(&p->services[i], &active);
	for (size_t i = 0; i < p->n_services; i++)
		if (on[i] && check_deps(c, &p->services[i], on) < 0)
			goto out;
	for (size_t i = 0; i < p->n_services; i++) {
		if (!on[i]) {
			compose_service_release(&p->services[i]);
			continue;
		}
		p->services[keep++] = p->services[i];
	}
	p->n_services = keep;
	ret = 0;
out:
	free(on);
	lo2_strv_free(&active);
	return ret;
}
