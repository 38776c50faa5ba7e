/* deploy.c - `up`, `down` and `ps` on top of engine/: networks and volumes first, images
 * pulled or built, then containers wave by wave (a wave's services in parallel threads),
 * waiting on depends_on conditions by polling inspect every 500 ms, as docker compose does. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/mem.h"
#include "compose/compose.h"
#include "compose/internal.h"
#include "engine/engine.h"

#define LABEL "com.docker.compose."
#define POLL_NS 500000000LL

struct up_ctx {
	struct engine *e;
	const struct compose_project *p;
	const struct compose_up_opts *o;
	bool *selected;
	char **image_ids;
	struct lo2_strv *ids, *names; /* per service: the containers to start (phase one's result) */
	struct lo2_strv *kept; /* per service: containers kept and already running */
	struct engine_container_list existing;
	pthread_mutex_t start_lock;
	int64_t deadline_ns; /* 0: no limit */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_poll(void)
{
	struct timespec ts = {0, POLL_NS};

	nanosleep(&ts, NULL);
}

static void progress(bool quiet, const char *what, const char *name)
{
	if (!quiet)
		lo2_info("%-10s %s", what, name);
}

static char *project_label(const char *project)
{
	return xasprintf("label=" LABEL "project=%s", project);
}

/* ---- selection ---- */

static void select_with_deps(const struct compose_project *p, bool *sel, size_t i, int depth)
{
	if (sel[i] || depth > (int)p->n_services)
		return;
	sel[i] = true;
	for (size_t d = 0; d < p->services[i].n_deps; d++)
		for (size_t j = 0; j < p->n_services; j++)
			if (strcmp(p->services[j].name, p->services[i].deps[d].service) == 0)
				select_with_deps(p, sel, j, depth + 1);
}

static int select_services(struct up_ctx *u, struct lo2_err *err)
{
	const struct lo2_strv *want = u->o->services;
	const struct compose_project *p = u->p;

	u->selected = xcalloc(p->n_services + 1, sizeof(*u->selected));
	if (want == NULL || want->n == 0) {
		for (size_t i = 0; i < p->n_services; i++)
			u->selected[i] = true;
		return 0;
	}
	for (size_t w = 0; w < want->n; w++) {
		const struct compose_service *s = compose_service_find(p, want->v[w]);

		if (s == NULL)
			return lo2_err_set(err, LO2_E_USAGE, "no such service: %s", want->v[w]);
		select_with_deps(p, u->selected, (size_t)(s - p->services), 0);
	}
	return 0;
}

/* ---- networks and volumes ---- */

static void resource_labels(struct lo2_kvv *labels, const struct lo2_kvv *own, const char *kind,
                            const char *key, const char *project)
{
	lo2_autofree char *k = xasprintf(LABEL "%s", kind);

	lo2_kvv_copy(labels, own);
	lo2_kvv_set(labels, k, key);
	lo2_kvv_set(labels, LABEL "project", project);
	lo2_kvv_set(labels, LABEL "version", LO2_VERSION);
}

static int ensure_network(struct up_ctx *u, const struct compose_network *n, struct lo2_err *err)
{
	struct engine_network_info info = {0};
	struct engine_network_spec spec = {0};
	char *id = NULL;
	int rc;

	rc = engine_network_inspect(u->e, n->name, &info, err);
	engine_network_info_free(&info);
	if (rc == 0)
		return 0;
	if (err->kind != LO2_E_NOT_FOUND)
		return -1;
	if (n->external)
		return lo2_err_set(
		    err, LO2_E_NOT_FOUND,
		    "network %s is declared as external, but could not be found; create it with "
		    "`docker network create %s`",
		    n->name, n->name);
	spec.name = xstrdup(n->name);
	spec.driver = xstrdup(n->driver);
	spec.internal = n->internal;
	spec.attachable = n->attachable;
	spec.enable_ipv6 = n->enable_ipv6;
	lo2_kvv_copy(&spec.options, &n->driver_opts);
	spec.ipam_driver = xstrdup(n->ipam_driver);
	spec.pools = xcalloc(n->n_pools + 1, sizeof(*spec.pools));
	for (size_t i = 0; i < n->n_pools; i++) {
		spec.pools[i].subnet = xstrdup(n->pools[i].subnet);
		spec.pools[i].ip_range = xstrdup(n->pools[i].ip_range);
		spec.pools[i].gateway = xstrdup(n->pools[i].gateway);
	}
	spec.n_pools = n->n_pools;
	resource_labels(&spec.labels, &n->labels, "network", n->key, u->p->name);
	rc = engine_network_create(u->e, &spec, &id, err);
	engine_network_spec_free(&spec);
	free(id);
	if (rc == 0)
		progress(u->o->quiet, "Created", n->name);
	return rc;
}

static int ensure_volume(struct up_ctx *u, const struct compose_volume *v, struct lo2_err *err)
{
	struct engine_volume_info info = {0};
	struct engine_volume_spec spec = {0};
	int rc;

	rc = engine_volume_inspect(u->e, v->name, &info, err);
	engine_volume_info_free(&info);
	if (rc == 0)
		return 0;
	if (err->kind != LO2_E_NOT_FOUND)
		return -1;
	if (v->external)
		return lo2_err_set(
		    err, LO2_E_NOT_FOUND,
		    "volume %s is declared as external, but could not be found; create it with "
		    "`docker volume create %s`",
		    v->name, v->name);
	spec.name = xstrdup(v->name);
	spec.driver = xstrdup(v->driver);
	lo2_kvv_copy(&spec.driver_opts, &v->driver_opts);
	resource_labels(&spec.labels, &v->labels, "volume", v->key, u->p->name);
	rc = engine_volume_create(u->e, &spec, err);
	free(spec.name);
	free(spec.driver);
	lo2_kvv_free(&spec.labels);
	lo2_kvv_free(&spec.driver_opts);
	if (rc == 0)
		progress(u->o->quiet, "Created", v->name);
	return rc;
}

static int ensure_resources(struct up_ctx *u, struct lo2_err *err)
{
	for (size_t i = 0; i < u->p->n_networks; i++)
		if (u->p->networks[i].used && ensure_network(u, &u->p->networks[i], err) < 0)
			return -1;
	for (size_t i = 0; i < u->p->n_volumes; i++)
		if (ensure_volume(u, &u->p->volumes[i], err) < 0)
			return -1;
	return 0;
}

/* ---- images ---- */

static int build_image(struct up_ctx *u, const struct compose_service *s, const char *ref,
                       struct lo2_err *err)
{
	const struct compose_build *b = &s->build;
	lo2_autofree char *df = b->dockerfile ? compose_path_resolve(b->context, b->dockerfile) : NULL;
	struct engine_build_opts bo = {.tag = ref,
	                               .dockerfile = df,
	                               .build_args = &b->args,
	                               .labels = &b->labels,
	                               .no_cache = b->no_cache,
	                               .pull = b->pull,
	                               .target = b->target,
	                               .network_mode = b->network,
	                               .shm_size = b->shm_size,
	                               .extra_hosts = &b->extra_hosts};
	char *id = NULL;
	int rc;

	progress(u->o->quiet, "Building", ref);
	rc = engine_image_build_dir(u->e, b->context, &bo, u->o->quiet ? NULL : u->o->stream,
	                            u->o->stream_user, &id, err);
	free(id);
	return rc;
}

static int ensure_image(struct up_ctx *u, size_t i, struct lo2_err *err)
{
	const struct compose_service *s = &u->p->services[i];
	lo2_autofree char *ref = s->image ? xstrdup(s->image) : xasprintf("%s-%s", u->p->name, s->name);
	struct engine_image_info info = {0};
	int rc = engine_image_inspect(u->e, ref, &info, err);

	if (rc < 0 && err->kind == LO2_E_NOT_FOUND) {
		if (s->has_build && u->o->no_build)
			rc = lo2_err_set(err, LO2_E_NOT_FOUND, "image %s is missing and --no-build was given",
			                 ref);
		else if (s->has_build)
			rc = build_image(u, s, ref, err);
		else {
			progress(u->o->quiet, "Pulling", ref);
			rc = engine_image_pull(u->e, ref, s->platform, u->o->quiet ? NULL : u->o->stream,
			                       u->o->stream_user, err);
		}
		if (rc == 0)
			rc = engine_image_inspect(u->e, ref, &info, err);
	}
	if (rc == 0)
		u->image_ids[i] = xstrdup(info.id);
	engine_image_info_free(&info);
	return rc < 0 ? lo2_err_prefix(err, "service %s", s->name) : 0;
}

/* ---- waiting on dependencies ---- */

static int timed_out(struct up_ctx *u, const char *what, const char *name, struct lo2_err *err)
{
	if (u->o->cancel && atomic_load(u->o->cancel))
		return lo2_err_set(err, LO2_E_CANCELLED, "interrupted while waiting for %s to %s", name,
		                   what);
	if (u->deadline_ns == 0 || now_ns() < u->deadline_ns)
		return 0;
	return lo2_err_set(err, LO2_E_TIMEOUT, "timed out after %ds waiting for %s to %s", u->o->timeout_s,
	                   name, what);
}

/* 1 when the condition holds, 0 to poll again, -1 when it never will. */
static int condition_state(const char *cond, const struct engine_container_info *ci, struct lo2_err *err)
{
	bool exited = strcmp(ci->status, "exited") == 0 || strcmp(ci->status, "dead") == 0;

	if (strcmp(cond, "service_completed_successfully") == 0) {
		if (!exited)
			return 0;
		if (ci->exit_code == 0)
			return 1;
		return lo2_err_set(err, LO2_E_GENERIC, "container %s didn't complete successfully: exit %lld",
		                   ci->name, (long long)ci->exit_code);
	}
	if (exited && ci->exit_code == 0 && strcmp(cond, "up_wait") == 0)
		return 1; /* --wait: a one-shot container that completed is done */
	if (exited)
		return lo2_err_set(err, LO2_E_GENERIC, "container %s exited (%lld)", ci->name,
		                   (long long)ci->exit_code);
	if (strcmp(cond, "service_started") == 0 || (strcmp(cond, "up_wait") == 0 && ci->health == NULL))
		return 1;
	if (ci->health == NULL)
		return lo2_err_set(err, LO2_E_INVALID, "container %s has no healthcheck configured",
		                   ci->name);
	if (strcmp(ci->health, "unhealthy") == 0)
		return lo2_err_set(err, LO2_E_GENERIC, "container %s is unhealthy", ci->name);
	return strcmp(ci->health, "healthy") == 0;
}

static int wait_condition(struct up_ctx *u, const char *container, const char *cond, struct lo2_err *err)
{
	for (;;) {
		struct engine_container_info ci = {0};
		int st;

		if (engine_container_inspect(u->e, container, &ci, err) < 0)
			return -1;
		st = condition_state(cond, &ci, err);
		engine_container_info_free(&ci);
		if (st != 0)
			return st < 0 ? -1 : 0;
		if (timed_out(u,
		              strcmp(cond, "service_completed_successfully") == 0 ? "complete" : "be healthy",
		              container, err) < 0)
			return -1;
		sleep_poll();
	}
}

/* Every replica of t (none when it runs none). */
static int wait_replicas(struct up_ctx *u, const struct compose_service *t, const char *cond,
                         struct lo2_err *err)
{
	for (int k = 1; k <= t->replicas; k++) {
		lo2_autofree char *name = compose_replica_name(u->p, t, k);

		if (wait_condition(u, name, cond, err) < 0)
			return -1;
	}
	return 0;
}

static int wait_deps(struct up_ctx *u, const struct compose_service *s, struct lo2_err *err)
{
	for (size_t d = 0; d < s->n_deps; d++) {
		const struct compose_dep *dep = &s->deps[d];
		const struct compose_service *t = compose_service_find(u->p, dep->service);

		if (t == NULL || strcmp(dep->condition, "service_started") == 0)
			continue;
		if (wait_replicas(u, t, dep->condition, err) == 0)
			continue;
		if (!dep->required) {
			lo2_warn("%s: optional dependency %s failed: %s", s->name, dep->service, err->msg);
			continue;
		}
		return lo2_err_prefix(err, "dependency %s of %s", dep->service, s->name);
	}
	return 0;
}

/* ---- containers ---- */

static const struct engine_container_summary *existing_of(struct up_ctx *u, const char *name)
{
	for (size_t i = 0; i < u->existing.n; i++)
		if (strcmp(u->existing.v[i].name, name) == 0)
			return &u->existing.v[i];
	return NULL;
}

static int start_locked(struct up_ctx *u, const char *id, const char *name, struct lo2_err *err)
{
	int rc;

	pthread_mutex_lock(&u->start_lock);
	rc = engine_container_start(u->e, id, err);
	pthread_mutex_unlock(&u->start_lock);
	if (rc == 0)
		progress(u->o->quiet, "Started", name);
	return rc;
}

static bool is_current(struct up_ctx *u, size_t i, const struct engine_container_summary *c)
{
	const char *hash = lo2_kvv_get(&c->labels, LABEL "config-hash");
	const char *img = lo2_kvv_get(&c->labels, LABEL "image");

	return !u->o->force_recreate && hash && strcmp(hash, u->p->services[i].config_hash) == 0 && img &&
	       u->image_ids[i] && strcmp(img, u->image_ids[i]) == 0;
}

static int create_container(struct up_ctx *u, size_t i, int number, char **id, struct lo2_err *err)
{
	const struct compose_service *s = &u->p->services[i];
	struct engine_container_spec spec = {0};
	int rc;

	if (compose_service_replica_spec(u->p, s, number, &spec, err) < 0)
		return -1;
	if (u->image_ids[i])
		lo2_kvv_set(&spec.labels, LABEL "image", u->image_ids[i]);
	if (u->o->unrotated_logs && s->log_driver == NULL && s->log_opts.n == 0) {
		/* json-file that no run fills: the daemon merges its default log-opts (max-size 10m on
		 * many hosts) into a json-file container that sets none, and a log rotated under a
		 * follower loses lines. json-file refuses -1 ("unlimited" is only its built-in
		 * default), so the size is set beyond reach: 1 TiB. */
		free(spec.log_driver);
		spec.log_driver = xstrdup("json-file");
		lo2_kvv_set(&spec.log_opts, "max-size", "1t");
	}
	rc = engine_container_create(u->e, &spec, id, err);
	if (rc == 0)
		progress(u->o->quiet, "Created", spec.name);
	engine_container_spec_free(&spec);
	return rc;
}

static int remove_old(struct up_ctx *u, const struct engine_container_summary *old, struct lo2_err *err)
{
	if (engine_container_stop(u->e, old->id, -1, err) < 0 ||
	    engine_container_remove(u->e, old->id, true, false, err) < 0)
		return lo2_err_prefix(err, "recreate %s", old->name);
	progress(u->o->quiet, "Removed", old->name);
	return 0;
}

/* Replica containers beyond the service's count (scaled down): removed, as v2 does. */
static int remove_surplus(struct up_ctx *u, const struct compose_service *s, struct lo2_err *err)
{
	for (size_t k = 0; k < u->existing.n; k++) {
		const struct engine_container_summary *c = &u->existing.v[k];
		const char *svc = lo2_kvv_get(&c->labels, LABEL "service");
		const char *num = lo2_kvv_get(&c->labels, LABEL "container-number");

		if (svc && num && strcmp(svc, s->name) == 0 && atoi(num) > s->replicas &&
		    remove_old(u, c, err) < 0)
			return -1;
	}
	return 0;
}

/* Phase one, every service in parallel: per replica, keep a current container, or (re)create it. */
static int service_prepare(struct up_ctx *u, size_t i, struct lo2_err *err)
{
	const struct compose_service *s = &u->p->services[i];

	if (remove_surplus(u, s, err) < 0)
		return -1;
	for (int k = 1; k <= s->replicas; k++) {
		lo2_autofree char *name = compose_replica_name(u->p, s, k);
		const struct engine_container_summary *old = existing_of(u, name);
		char *id = NULL;

		if (old && is_current(u, i, old)) {
			if (strcmp(old->state, "running") == 0) {
				lo2_strv_push(&u->kept[i], name);
				continue;
			}
			lo2_strv_push(&u->ids[i], old->id);
			lo2_strv_push(&u->names[i], name);
			continue;
		}
		if (old && remove_old(u, old, err) < 0)
			return -1;
		if (create_container(u, i, k, &id, err) < 0)
			return -1;
		lo2_strv_take(&u->ids[i], id);
		lo2_strv_push(&u->names[i], name);
	}
	return 0;
}

/* Phase two, wave by wave: wait on the dependencies, then start. */
static int service_start(struct up_ctx *u, size_t i, struct lo2_err *err)
{
	const struct compose_service *s = &u->p->services[i];

	if (wait_deps(u, s, err) < 0)
		return -1;
	for (size_t k = 0; k < u->kept[i].n; k++)
		progress(u->o->quiet, "Running", u->kept[i].v[k]);
	for (size_t k = 0; k < u->ids[i].n; k++)
		if (start_locked(u, u->ids[i].v[k], u->names[i].v[k], err) < 0)
			return -1;
	return 0;
}

typedef int (*service_fn)(struct up_ctx *u, size_t i, struct lo2_err *err);

struct job {
	struct up_ctx *u;
	service_fn fn;
	size_t idx;
	int rc;
	struct lo2_err err;
	pthread_t th;
	bool threaded;
};

static void *job_run(void *arg)
{
	struct job *j = arg;

	j->rc = j->fn(j->u, j->idx, &j->err);
	return NULL;
}

/* Runs fn for the selected services of one wave (every wave when wave < 0) in parallel;
 * the first failure becomes err. */
static int run_parallel(struct up_ctx *u, service_fn fn, int wave, struct lo2_err *err)
{
	const struct compose_project *p = u->p;
	struct job *jobs = xcalloc(p->n_services + 1, sizeof(*jobs));
	size_t n = 0;
	int ret = 0;

	for (size_t i = 0; i < p->n_services; i++) {
		if (!u->selected[i] || (wave >= 0 && p->services[i].wave != wave))
			continue;
		jobs[n] = (struct job){.u = u, .fn = fn, .idx = i};
		jobs[n].threaded = pthread_create(&jobs[n].th, NULL, job_run, &jobs[n]) == 0;
		if (!jobs[n].threaded)
			job_run(&jobs[n]);
		n++;
	}
	for (size_t k = 0; k < n; k++)
		if (jobs[k].threaded)
			pthread_join(jobs[k].th, NULL);
	for (size_t k = 0; k < n && ret == 0; k++)
		if (jobs[k].rc < 0) {
			*err = jobs[k].err;
			ret = -1;
		}
	free(jobs);
	return ret;
}

static void dependents_not_started(struct up_ctx *u, int wave, struct lo2_err *err)
{
	struct lo2_buf b = LO2_BUF_INIT;

	for (size_t i = 0; i < u->p->n_services; i++)
		if (u->selected[i] && u->p->services[i].wave > wave)
			lo2_buf_printf(&b, "%s%s", b.len ? ", " : "", u->p->services[i].name);
	if (b.len)
		lo2_err_prefix(err, "not starting %s", b.data);
	lo2_buf_free(&b);
}

static int wait_all(struct up_ctx *u, struct lo2_err *err)
{
	for (size_t i = 0; i < u->p->n_services; i++) {
		const struct compose_service *s = &u->p->services[i];

		if (u->selected[i] && wait_replicas(u, s, "up_wait", err) < 0)
			return -1;
	}
	return 0;
}

static int write_secrets(struct up_ctx *u, struct lo2_err *err)
{
	struct lo2_strv warnings = {0};
	int rc = 0;

	for (size_t i = 0; i < u->p->n_services && rc == 0; i++)
		if (u->selected[i])
			rc = compose_secrets_write(u->p, &u->p->services[i], &warnings, err);
	for (size_t i = 0; i < warnings.n; i++)
		lo2_warn("%s", warnings.v[i]);
	lo2_strv_free(&warnings);
	return rc;
}

static int up_run(struct up_ctx *u, struct lo2_err *err)
{
	lo2_autofree char *label = project_label(u->p->name);
	struct lo2_strv filters = {0};
	int rc;

	if (select_services(u, err) < 0 || ensure_resources(u, err) < 0)
		return -1;
	for (size_t i = 0; i < u->p->n_services; i++)
		if (u->selected[i] && ensure_image(u, i, err) < 0)
			return -1;
	if (write_secrets(u, err) < 0)
		return -1;
	lo2_strv_push(&filters, label);
	rc = engine_container_list(u->e, &filters, true, &u->existing, err);
	lo2_strv_free(&filters);
	if (rc < 0)
		return -1;
	if (run_parallel(u, service_prepare, -1, err) < 0)
		return -1;
	for (int w = 0; w < u->p->n_waves; w++)
		if ((u->o->cancel && atomic_load(u->o->cancel) &&
		     lo2_err_set(err, LO2_E_CANCELLED, "interrupted before starting wave %d", w) < 0) ||
		    run_parallel(u, service_start, w, err) < 0) {
			dependents_not_started(u, w, err);
			return -1;
		}
	return u->o->wait ? wait_all(u, err) : 0;
}

int compose_up(struct engine *e, const struct compose_project *p, const struct compose_up_opts *o,
               struct lo2_err *err)
{
	struct up_ctx u = {.e = e, .p = p, .o = o};
	int rc;

	u.image_ids = xcalloc(p->n_services + 1, sizeof(*u.image_ids));
	u.ids = xcalloc(p->n_services + 1, sizeof(*u.ids));
	u.names = xcalloc(p->n_services + 1, sizeof(*u.names));
	u.kept = xcalloc(p->n_services + 1, sizeof(*u.kept));
	u.deadline_ns = o->timeout_s > 0 ? now_ns() + (int64_t)o->timeout_s * 1000000000LL : 0;
	pthread_mutex_init(&u.start_lock, NULL);
	rc = up_run(&u, err);
	pthread_mutex_destroy(&u.start_lock);
	for (size_t i = 0; i < p->n_services; i++) {
		free(u.image_ids[i]);
		lo2_strv_free(&u.ids[i]);
		lo2_strv_free(&u.names[i]);
		lo2_strv_free(&u.kept[i]);
	}
	free(u.image_ids);
	free(u.ids);
	free(u.names);
	free(u.kept);
	free(u.selected);
	engine_container_list_free(&u.existing);
	return rc < 0 ? lo2_err_prefix(err, "up %s", p->name) : 0;
}

/* ---- down ---- */

struct down_job {
	struct engine *e;
	const struct engine_container_summary *c;
	const struct compose_down_opts *o;
	int rc;
	struct lo2_err err;
	pthread_t th;
	bool threaded;
};

static void *down_one(void *arg)
{
	struct down_job *j = arg;

	j->rc = engine_container_stop(j->e, j->c->id, j->o->timeout_s, &j->err);
	if (j->rc < 0 && j->err.kind == LO2_E_NOT_FOUND)
		j->rc = 0;
	if (j->rc == 0)
		j->rc = engine_container_remove(j->e, j->c->id, true, j->o->volumes, &j->err);
	if (j->rc < 0 && (j->err.kind == LO2_E_NOT_FOUND || j->err.kind == LO2_E_CONFLICT))
		j->rc = 0; /* gone already, or being removed */
	if (j->rc == 0 && !j->o->quiet)
		lo2_info("%-10s %s", "Removed", j->c->name);
	return NULL;
}

static int wave_of_container(const struct compose_project *p, const struct engine_container_summary *c)
{
	const char *svc = lo2_kvv_get(&c->labels, LABEL "service");
	const struct compose_service *s = svc && p->services ? compose_service_find(p, svc) : NULL;

	return s ? s->wave : INT32_MAX; /* unknown services (a changed file) go first */
}

static int remove_containers(struct engine *e, const struct compose_project *p,
                             const struct engine_container_list *l, const struct compose_down_opts *o,
                             struct lo2_err *err)
{
	struct down_job *jobs = xcalloc(l->n + 1, sizeof(*jobs));
	int ret = 0, hi = INT32_MAX;

	while (ret == 0) {
		int w = -1;

		for (size_t i = 0; i < l->n; i++) {
			int cw = wave_of_container(p, &l->v[i]);

			if (cw <= hi && cw > w && !jobs[i].c)
				w = cw;
		}
		if (w < 0)
			break;
		for (size_t i = 0; i < l->n; i++) {
			if (jobs[i].c || wave_of_container(p, &l->v[i]) != w)
				continue;
			jobs[i] = (struct down_job){.e = e, .c = &l->v[i], .o = o};
			jobs[i].threaded = pthread_create(&jobs[i].th, NULL, down_one, &jobs[i]) == 0;
			if (!jobs[i].threaded)
				down_one(&jobs[i]);
		}
		for (size_t i = 0; i < l->n; i++)
			if (jobs[i].c && wave_of_container(p, &l->v[i]) == w) {
				if (jobs[i].threaded)
					pthread_join(jobs[i].th, NULL);
				jobs[i].threaded = false;
				if (jobs[i].rc < 0 && ret == 0) {
					*err = jobs[i].err;
					ret = -1;
				}
			}
		hi = w;
	}
	free(jobs);
	return ret;
}

static void remove_networks(struct engine *e, const char *label, bool quiet)
{
	struct lo2_strv f = {0};
	struct engine_network_list l = {0};
	struct lo2_err err = {0};

	lo2_strv_push(&f, label);
	if (engine_network_list(e, &f, &l, &err) < 0)
		lo2_warn("list networks: %s", err.msg);
	for (size_t i = 0; i < l.n; i++) {
		if (engine_network_remove(e, l.v[i].name, &err) < 0 && err.kind != LO2_E_NOT_FOUND)
			lo2_warn("%s", err.msg);
		else
			progress(quiet, "Removed", l.v[i].name);
	}
	engine_network_list_free(&l);
	lo2_strv_free(&f);
}

static void remove_volumes(struct engine *e, const char *label, bool quiet)
{
	struct lo2_strv f = {0};
	struct engine_volume_list l = {0};
	struct lo2_err err = {0};

	lo2_strv_push(&f, label);
	if (engine_volume_list(e, &f, &l, &err) < 0)
		lo2_warn("list volumes: %s", err.msg);
	for (size_t i = 0; i < l.n; i++) {
		if (engine_volume_remove(e, l.v[i].name, true, &err) < 0 && err.kind != LO2_E_NOT_FOUND)
			lo2_warn("%s", err.msg);
		else
			progress(quiet, "Removed", l.v[i].name);
	}
	engine_volume_list_free(&l);
	lo2_strv_free(&f);
}

int compose_down(struct engine *e, const struct compose_project *p, const struct compose_down_opts *o,
                 struct lo2_err *err)
{
	lo2_autofree char *label = project_label(p->name);
	struct lo2_strv f = {0};
	struct engine_container_list l = {0};
	int rc;

	lo2_strv_push(&f, label);
	rc = engine_container_list(e, &f, true, &l, err);
	if (rc == 0)
		rc = remove_containers(e, p, &l, o, err);
	engine_container_list_free(&l);
	lo2_strv_free(&f);
	if (rc < 0)
		return lo2_err_prefix(err, "down %s", p->name);
	remove_networks(e, label, o->quiet);
	if (o->volumes)
		remove_volumes(e, label, o->quiet);
	compose_secrets_remove(p->name);
	return 0;
}

/* ---- ps ---- */

static char *ports_text(const struct engine_container_info *ci)
{
	struct lo2_buf b = LO2_BUF_INIT;

	for (size_t i = 0; i < ci->n_ports; i++) {
		const struct engine_published *pp = &ci->ports[i];

		if (pp->host_port == NULL || pp->host_port[0] == '\0')
			continue;
		lo2_buf_printf(&b, "%s%s:%s->%s", b.len ? ", " : "",
		               pp->host_ip && *pp->host_ip ? pp->host_ip : "0.0.0.0", pp->host_port,
		               pp->container_port);
	}
	return b.data ? lo2_buf_steal(&b) : xstrdup("");
}

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct compose_ps_row *)a)->name, ((const struct compose_ps_row *)b)->name);
}

static int ps_row(struct engine *e, const struct engine_container_summary *c, struct compose_ps_row *r,
                  struct lo2_err *err)
{
	struct engine_container_info ci = {0};
	const char *svc = lo2_kvv_get(&c->labels, LABEL "service");

	r->id = xstrdup(c->id);
	r->name = xstrdup(c->name);
	r->service = xstrdup(svc ? svc : "");
	if (engine_container_inspect(e, c->id, &ci, err) < 0) {
		r->state = xstrdup(c->state);
		r->ports = xstrdup("");
		return err->kind == LO2_E_NOT_FOUND ? 0 : -1;
	}
	r->state = xstrdup(ci.status);
	r->health = xstrdup(ci.health);
	r->ports = ports_text(&ci);
	engine_container_info_free(&ci);
	return 0;
}

int compose_ps(struct engine *e, const char *project, struct compose_ps *out, struct lo2_err *err)
{
	lo2_autofree char *label = project_label(project);
	struct lo2_strv f = {0};
	struct engine_container_list l = {0};
	int ret = -1;

	memset(out, 0, sizeof(*out));
	lo2_strv_push(&f, label);
	if (engine_container_list(e, &f, true, &l, err) < 0)
		goto out;
	out->v = xcalloc(l.n + 1, sizeof(*out->v));
	for (size_t i = 0; i < l.n; i++, out->n++)
		if (ps_row(e, &l.v[i], &out->v[i], err) < 0) {
			out->n++;
			goto out;
		}
	qsort(out->v, out->n, sizeof(*out->v), row_cmp);
	ret = 0;
out:
	engine_container_list_free(&l);
	lo2_strv_free(&f);
	return ret < 0 ? lo2_err_prefix(err, "ps %s", project) : 0;
}

void compose_ps_free(struct compose_ps *ps)
{
	if (ps == NULL)
		return;
	for (size_t i = 0; i < ps->n; i++) {
		free(ps->v[i].name);
		free(ps->v[i].service);
		free(ps->v[i].state);
		free(ps->v[i].health);
		free(ps->v[i].ports);
		free(ps->v[i].id);
	}
	free(ps->v);
	memset(ps, 0, sizeof(*ps));
}
