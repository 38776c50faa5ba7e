/* stack.c - the system under test as the run sees it: the compose project loaded (image
 * digests pinned on request), deployed with logs that do not rotate, its images recorded, ready
 * (health, MySQL and its init SQL, each collector's source) before the first test, and stopped
 * so that the collectors have every last line. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/mem.h"
#include "common/sha256.h"
#include "common/thread.h"
#include "common/time.h"
#include "compose/compose.h"
#include "engine/engine.h"
#include "mysql/mysql.h"
#include "run/config.h"
#include "run/hub.h"
#include "run/session.h"

/* Locust containers a killed lo2 left behind (they are not part of the compose project). */
void run_stack_remove_locust(struct run_session *s)
{
	lo2_autofree char *f = xasprintf("label=%s=%s", RUN_LOCUST_LABEL, s->proj->name);
	struct lo2_strv filters = {0};
	struct engine_container_list cl = {0};

	lo2_strv_push(&filters, f);
	if (engine_container_list(s->e, &filters, true, &cl, NULL) == 0)
		for (size_t i = 0; i < cl.n; i++)
			if (cl.v[i].id)
				engine_container_remove(s->e, cl.v[i].id, true, true, NULL);
	engine_container_list_free(&cl);
	lo2_strv_free(&filters);
}

/* The image a service runs: as written, or <project>-<service> when it is built. */
static char *service_image(const struct run_session *s, const struct compose_service *sv)
{
	return sv->image ? xstrdup(sv->image) : xasprintf("%s-%s", s->proj->name, sv->name);
}

/* Per service: the image as written, its ID and its repository digest (another lab pulls the
 * same bytes by it; --pin-digests deploys by it on resume). Images only built or imported here
 * have no digest: their ID is the record. */
static void record_images(struct run_session *s)
{
	struct lo2_jw *w = lo2_jw_new(NULL);
	lo2_autofree char *json = NULL;
	struct lo2_err err = {0};

	lo2_jw_obj(w);
	for (size_t i = 0; i < s->proj->n_services; i++) {
		lo2_autofree char *ref = service_image(s, &s->proj->services[i]);
		lo2_autofree char *digest = NULL;
		struct engine_image_info info;

		lo2_jw_key(w, s->proj->services[i].name);
		lo2_jw_obj(w);
		lo2_jw_key(w, "image");
		lo2_jw_str(w, ref);
		if (engine_image_inspect(s->e, ref, &info, &err) == 0) {
			digest = engine_image_repo_digest(&info, ref);
			lo2_jw_key(w, "id");
			lo2_jw_str(w, info.id);
			lo2_jw_key(w, "repo_digest");
			lo2_jw_str(w, digest);
			engine_image_info_free(&info);
		}
		lo2_jw_obj_end(w);
	}
	lo2_jw_obj_end(w);
	json = lo2_jw_finish(w, NULL);
	if (run_session_section(s, "images", json, false, &err) < 0)
		run_session_warn(s, "%s", err.msg);
}

/* --pin-digests on a resume: every service whose image the run recorded with a digest is
 * deployed by that digest; the others keep their image, and their ID is checked after deploy. */
static int pin_digests(struct run_session *s, struct lo2_err *err)
{
	const char *text = lo2_kvv_get(&s->m.sections, "images");
	struct lo2_json *doc = NULL;

	if (!s->c->pin_digests || text == NULL)
		return 0;
	if (lo2_json_parse(text, "run.json images", &doc, err) < 0)
		return lo2_err_prefix(err, "pin digests");
	for (size_t i = 0; i < s->proj->n_services; i++) {
		struct compose_service *sv = &s->proj->services[i];
		const char *d = lo2_json_str(lo2_json_path(doc, sv->name, "repo_digest", NULL));

		if (d == NULL)
			continue;
		run_session_say(s, "Service %s: image pinned to %s", sv->name, d);
		free(sv->image);
		sv->image = xstrdup(d);
	}
	lo2_json_free(doc);
	return 0;
}

/* After a pinned deploy: a service without a digest must still run the image ID recorded. */
static void check_pinned_ids(struct run_session *s, const char *prior)
{
	struct lo2_json *doc = NULL;
	const char *now = lo2_kvv_get(&s->m.sections, "images");
	struct lo2_json *cur = NULL;

	if (!s->c->pin_digests || prior == NULL || now == NULL ||
	    lo2_json_parse(prior, "images", &doc, NULL) < 0)
		return;
	if (lo2_json_parse(now, "images", &cur, NULL) == 0)
		for (size_t i = 0; i < s->proj->n_services; i++) {
			const char *name = s->proj->services[i].name;
			const char *was = lo2_json_str(lo2_json_path(doc, name, "id", NULL));
			const char *is = lo2_json_str(lo2_json_path(cur, name, "id", NULL));

			if (was && is && strcmp(was, is) != 0 &&
			    lo2_json_str(lo2_json_path(doc, name, "repo_digest", NULL)) == NULL)
				run_session_warn(s,
				                 "service %s runs image %s, not %s as the run recorded (it "
				                 "has no digest to pin)",
				                 name, is, was);
		}
	lo2_json_free(cur);
	lo2_json_free(doc);
}

int run_stack_load(struct run_session *s, const struct lo2_kvv *vars, bool final, struct lo2_err *err)
{
	struct compose_load_opts lo = {.file = s->c->compose_file,
	                               .project_name = s->c->project[0] ? s->c->project : NULL,
	                               .extra_env = vars};
	struct lo2_strv warnings = {0};
	char sum[65];

	compose_project_free(s->proj);
	s->proj = NULL;
	if (compose_load(&lo, &s->proj, &warnings, err) < 0 || pin_digests(s, err) < 0 ||
	    compose_plan(s->proj, err) < 0) {
		lo2_strv_free(&warnings);
		return lo2_err_prefix(err, "deploy");
	}
	for (size_t i = 0; final && i < warnings.n; i++)
		run_session_warn(s, "%s", warnings.v[i]);
	lo2_strv_free(&warnings);
	pthread_mutex_lock(&s->lock);
	lo2_str_replace(&s->m.project, s->proj->name);
	lo2_str_replace(&s->m.compose_file, s->proj->config_file);
	free(s->m.compose_sha256);
	s->m.compose_sha256 =
	    lo2_sha256_file(s->proj->config_file, sum, NULL, NULL) == 0 ? xstrdup(sum) : NULL;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int run_stack_deploy(struct run_session *s, struct lo2_err *err)
{
	lo2_autofree char *prior = xstrdup(lo2_kvv_get(&s->m.sections, "images"));
	struct compose_up_opts uo = {.force_recreate = true,
	                             .timeout_s = s->c->ready_timeout,
	                             .quiet = true,
	                             .cancel = s->h->cancel,
	                             .unrotated_logs = true};
	struct compose_ps ps = {0};
	int64_t t0 = lo2_mono_ns();

	run_session_say(s, "Deploying %s (project %s)", s->proj->config_file, s->proj->name);
	run_stack_remove_locust(s);
	if (compose_up(s->e, s->proj, &uo, err) < 0)
		return lo2_err_prefix(err, "deploy %s", s->proj->name);
	run_hub_poke(s->hub);
	if (compose_ps(s->e, s->proj->name, &ps, err) == 0) {
		for (size_t i = 0; i < ps.n; i++) {
			struct engine_container_info ci;

			if (ps.v[i].id && engine_container_inspect(s->e, ps.v[i].id, &ci, NULL) == 0) {
				pthread_mutex_lock(&s->lock);
				lo2_kvv_set(&s->m.images, ci.name, ci.image_id);
				pthread_mutex_unlock(&s->lock);
				engine_container_info_free(&ci);
			}
		}
		compose_ps_free(&ps);
	}
	record_images(s);
	check_pinned_ids(s, prior);
	s->m.deploy_s = (double)(lo2_mono_ns() - t0) / 1e9;
	return 0;
}

/* Every container with a healthcheck healthy. */
static int wait_healthy(struct run_session *s, int64_t deadline, struct lo2_err *err)
{
	for (;;) {
		struct compose_ps ps = {0};
		lo2_autofree char *waiting = NULL;

		if (compose_ps(s->e, s->proj->name, &ps, err) < 0)
			return lo2_err_prefix(err, "wait for health");
		for (size_t i = 0; i < ps.n && waiting == NULL; i++)
			if (ps.v[i].health && ps.v[i].health[0] && strcmp(ps.v[i].health, "healthy") != 0)
				waiting = xasprintf("%s is %s", ps.v[i].name, ps.v[i].health);
		compose_ps_free(&ps);
		if (waiting == NULL)
			return 0;
		if (run_session_cancelled(s))
			return lo2_err_set(err, LO2_E_CANCELLED, "interrupted during the wait for health");
		if (lo2_mono_ns() >= deadline)
			return lo2_err_set(err, LO2_E_TIMEOUT, "not ready after %ds: %s", s->c->ready_timeout,
			                   waiting);
		lo2_sleep_ns(250 * 1000 * 1000);
	}
}

static int password_for(struct run_session *s, struct db_service_addr *addr, char **pw, struct lo2_err *err)
{
	const struct run_config *c = s->c;

	*pw = NULL;
	if (c->mysql_password_env[0] || c->mysql_password_file[0])
		return db_password_load(c->mysql_password_env[0] ? c->mysql_password_env : NULL,
		                        c->mysql_password_file[0] ? c->mysql_password_file : NULL, pw, err);
	*pw = addr && addr->password ? xstrdup(addr->password) : NULL;
	return 0;
}

static int mysql_ready(struct run_session *s, int64_t deadline, struct lo2_err *err)
{
	const struct run_config *c = s->c;
	struct db_service_addr addr = {0};
	struct db_target t = {.user = c->mysql_user,
	                      .database = c->mysql_database[0] ? c->mysql_database : NULL};
	int64_t left = deadline - lo2_mono_ns(), cap = (int64_t)c->mysql_timeout * LO2_NS_PER_SEC;
	struct db_wait_opts wo = {.timeout_ns = left < cap ? left : cap, .cancel = s->h->cancel};
	struct db_exec_opts eo = {.cancel = s->h->cancel};
	struct db_ready ready;
	char *pw = NULL;
	int ret = -1;

	if (c->mysql_host[0] == '\0' && c->mysql_service[0] == '\0')
		return 0;
	if (wo.timeout_ns <= 0)
		wo.timeout_ns = 1;
	if (c->mysql_host[0]) {
		t.host = c->mysql_host;
		t.port = (unsigned)c->mysql_port;
	} else if (db_resolve_service(s->e, s->proj->name, c->mysql_service, c->mysql_user, &addr, err) < 0) {
		return lo2_err_prefix(err, "MySQL service %s", c->mysql_service);
	} else {
		t.host = addr.host;
		t.port = addr.port;
	}
	if (password_for(s, &addr, &pw, err) < 0)
		goto out;
	t.password = pw;
	run_session_say(s, "Waiting for MySQL...");
	if (db_wait(&t, &wo, &ready, err) < 0)
		goto out;
	run_session_say(s, "MySQL is ready (%s) after %.1fs", ready.server_version,
	                (double)ready.elapsed_ns / 1e9);
	if (c->mysql_init_sql[0]) {
		size_t n = 0;

		if (db_exec_file(&t, c->mysql_init_sql, &eo, &n, err) < 0)
			goto out;
		run_session_say(s, "Ran %zu statements of %s", n, c->mysql_init_sql);
	}
	ret = 0;
out:
	if (ret < 0)
		db_err_scrub(err, pw);
	db_password_free(pw);
	db_service_addr_free(&addr);
	return ret;
}

/* Health, MySQL and its init SQL, then each collector's own readiness; one deadline. */
int run_stack_ready(struct run_session *s, struct lo2_err *err)
{
	int64_t t0 = lo2_mono_ns(), deadline = t0 + (int64_t)s->c->ready_timeout * LO2_NS_PER_SEC;

	if (s->c->ready_health && wait_healthy(s, deadline, err) < 0)
		return lo2_err_prefix(err, "ready");
	if (mysql_ready(s, deadline, err) < 0)
		return lo2_err_prefix(err, "ready");
	for (size_t i = 0; i < s->n_cols; i++)
		if (s->cols[i]->ops->ready && s->cols[i]->ops->ready(s->cols[i], deadline, err) < 0)
			return lo2_err_prefix(err, "ready");
	s->m.ready_s = (double)(lo2_mono_ns() - t0) / 1e9;
	run_session_say(s, "Ready after %.1fs", s->m.ready_s);
	return 0;
}

struct stop_job {
	struct engine *e;
	const char *id;
	int timeout_s;
	pthread_t th;
	bool started;
};

static void *stop_one(void *arg)
{
	struct stop_job *j = arg;

	engine_container_stop(j->e, j->id, j->timeout_s, NULL);
	return NULL;
}

/* Stops the project's containers (in parallel) so that the collectors see everything they write
 * up to their end, shutdown lines included; down -v removes them after the collectors stop. */
void run_stack_stop(struct run_session *s, int timeout_s)
{
	struct compose_ps ps = {0};
	struct stop_job *jobs;
	struct lo2_err err = {0};

	if (compose_ps(s->e, s->proj->name, &ps, &err) < 0) {
		run_session_warn(s, "stop the containers of %s: %s", s->proj->name, err.msg);
		return;
	}
	jobs = xcalloc(ps.n + 1, sizeof(*jobs));
	for (size_t i = 0; i < ps.n; i++) {
		jobs[i] = (struct stop_job){.e = s->e, .id = ps.v[i].id, .timeout_s = timeout_s};
		if (jobs[i].id == NULL)
			continue;
		if (lo2_thread_start(&jobs[i].th, stop_one, &jobs[i], "container stop", &err) == 0)
			jobs[i].started = true;
		else
			stop_one(&jobs[i]);
	}
	for (size_t i = 0; i < ps.n; i++)
		if (jobs[i].started)
			pthread_join(jobs[i].th, NULL);
	free(jobs);
	compose_ps_free(&ps);
}
