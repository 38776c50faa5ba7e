/* driver.c - `lo2 run` as a timeline (see driver.h and collector.h): deploy, ready, then per
 * test begin -> Locust -> end with the collectors hooked to it, the collection of a test running
 * during the wait after it; teardown. The driver knows nothing of what a collector collects. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/sha256.h"
#include "common/thread.h"
#include "common/time.h"
#include "compose/compose.h"
#include "engine/engine.h"
#include "mysql/mysql.h"
#include "run/hub.h"
#include "run/locust.h"
#include "run/session.h"

#define LOCUST_LABEL "lo2.locust-of"
#define POLL_NS (50 * 1000 * 1000)
#define LOCUST_ESCALATE_S 5
#define CANCEL_KILL_MS 1000
/* Window boundaries are set this far ahead of the instant they name, and the driver waits for
 * it: no collector can have routed anything at or after a boundary before it knew of it. */
#define BOUNDARY_AHEAD_NS (50 * 1000 * 1000)

static bool cancelled(const struct run_session *s)
{
	return run_session_cancelled(s);
}

static int cancel_err(struct lo2_err *err, const char *during)
{
	return lo2_err_set(err, LO2_E_CANCELLED, "interrupted during %s", during);
}

/* ---- plan ---- */

int run_plan(const struct run_config *c, uint64_t seed, struct run_schedule *out, struct lo2_err *err)
{
	struct lo2_strv found = {0}, use = {0};

	if (run_tags_discover(c->locust_folder, &found, err) < 0)
		return -1;
	for (size_t i = 0; i < c->tags.n; i++) {
		if (!lo2_strv_contains(&found, c->tags.v[i])) {
			lo2_strv_free(&found);
			lo2_strv_free(&use);
			return lo2_err_set(err, LO2_E_USAGE, "tag \"%s\" is not in the locustfiles of %s",
			                   c->tags.v[i], c->locust_folder);
		}
		if (!lo2_strv_contains(&use, c->tags.v[i]))
			lo2_strv_push(&use, c->tags.v[i]);
	}
	run_schedule_make(c->tags.n ? &use : &found, seed, c->duration_min, c->duration_max, c->wait_min,
	                  c->wait_max, out);
	lo2_strv_free(&found);
	lo2_strv_free(&use);
	return 0;
}

/* ---- the run folder ---- */

static int open_log(struct run_session *s, struct lo2_err *err)
{
	lo2_autofree char *logp = xasprintf("%s/run_log.log", s->dir);

	s->log_fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (s->log_fd < 0)
		return lo2_err_errno(err, errno, "open %s", logp);
	return 0;
}

static void set_str(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? xstrdup(v) : NULL;
}

/* What this session runs with: versions, host, engine; a new session record. */
static void begin_session(struct run_session *s)
{
	struct run_session_rec *r;
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	set_str(&s->m.host, host);
	set_str(&s->m.lo2_version, LO2_VERSION);
	set_str(&s->m.engine_version, engine_version(s->e)->version);
	set_str(&s->m.engine_api, engine_api_version(s->e));
	set_str(&s->m.engine_host, engine_display(s->e));
	set_str(&s->m.status, "running");
	if (s->m.started_ns == 0)
		s->m.started_ns = lo2_now_ns();
	r = run_manifest_add_session(&s->m, lo2_now_ns());
	r->pid = (long)getpid();
	s->rec = s->m.n_sessions - 1;
}

static int open_new_dir(struct run_session *s, const struct run_schedule *sched, struct lo2_err *err)
{
	const struct run_config *c = s->c;
	lo2_autofree char *cfg = NULL;

	if (c->output[0])
		s->dir = xstrdup(c->output);
	else
		s->dir =
		    xasprintf("%s/LO2_run_%lld", c->output_root, (long long)(lo2_now_ns() / LO2_NS_PER_SEC));
	s->manifest_path = xasprintf("%s/run.json", s->dir);
	cfg = xasprintf("%s/run_config.yml", s->dir);
	if (mkdir(s->dir, 0755) != 0 && !(errno == ENOENT && lo2_mkdir_p(s->dir, 0755, err) == 0))
		return lo2_err_errno(err, errno, "create run folder %s (it must not exist yet)", s->dir);
	run_manifest_init(&s->m, sched);
	return run_config_write(c, cfg, err);
}

/* ---- resume ---- */

static int remove_partial(void *user, const char *path, const char *rel, struct lo2_err *err)
{
	if (strstr(rel, ".tmp.") && unlink(path) == 0)
		(*(int *)user)++;
	return 0;
}

struct file_rec {
	struct run_files *fs;
	const char *root, *prefix;
};

/* Records a finished file (a temporary file of a sink still open is not a file yet). */
static int add_file(void *user, const char *path, const char *rel, struct lo2_err *err)
{
	struct file_rec *fr = user;
	lo2_autofree char *r = xasprintf("%s/%s", fr->prefix, rel);

	return strstr(rel, ".tmp.") ? 0 : run_files_add(fr->fs, fr->root, r, err);
}

/* The host Locust of a test the killed session was running, if it still runs: ended, so that it
 * cannot write into the test's folder again. Only a process whose program is the configured
 * Locust command is signalled. */
static void end_stale_locust(struct run_session *s, const struct run_test *t)
{
	lo2_autofree char *path = xasprintf("/proc/%ld/cmdline", t->locust_pid);
	lo2_autofree char *cmd = NULL;
	size_t len = 0;

	if (t->locust_pid <= 0 || s->c->locust_command[0] == '\0' ||
	    lo2_read_file(path, 64 * 1024, &cmd, &len, NULL) < 0)
		return;
	/* cmdline is NUL-separated: the program, then its arguments (a script runs under its interpreter) */
	for (size_t i = 0; i < len; i += strlen(cmd + i) + 1)
		if (strstr(cmd + i, s->c->locust_command) != NULL ||
		    strcmp(cmd + i, s->c->locust_command) == 0) {
			kill((pid_t)t->locust_pid, SIGKILL);
			run_session_say(s, "Ended the Locust (pid %ld) of the interrupted session",
			                t->locust_pid);
			return;
		}
}

/* Moves a cut-short test's folder out of the way (<tag>.incomplete-<n>) and records it as an
 * attempt of session; the test is pending again. Lock held. */
static int set_aside(struct run_session *s, struct run_test *t, int session, struct lo2_err *err)
{
	lo2_autofree char *from = xasprintf("%s/%s", s->dir, t->tag);
	lo2_autofree char *rel = xasprintf("%s.incomplete-%zu", t->tag, t->n_attempts + 1);
	lo2_autofree char *to = xasprintf("%s/%s", s->dir, rel);
	struct run_attempt *a;

	if (rename(from, to) != 0 && errno != ENOENT)
		return lo2_err_errno(err, errno, "move the incomplete test %s aside to %s", from, rel);
	t->attempts = xrealloc(t->attempts, (t->n_attempts + 1) * sizeof(*t->attempts));
	a = &t->attempts[t->n_attempts++];
	*a = (struct run_attempt){
	    .dir = xstrdup(rel), .session = session, .start_ns = t->start_ns, .end_ns = t->end_ns};
	run_test_reset(t);
	t->status = RUN_TEST_PENDING;
	return 0;
}

/* The files of the attempts of session (after recovery wrote into them). */
static int record_attempts(struct run_session *s, int session, struct lo2_err *err)
{
	for (size_t i = 0; i < s->m.n_tests; i++) {
		struct run_test *t = &s->m.tests[i];

		for (size_t k = 0; k < t->n_attempts; k++) {
			struct run_attempt *a = &t->attempts[k];
			lo2_autofree char *dir = xasprintf("%s/%s", s->dir, a->dir);
			struct file_rec fr = {&a->files, s->dir, a->dir};

			if (a->session != session || access(dir, F_OK) != 0)
				continue;
			run_files_free(&a->files);
			if (lo2_walk_files(dir, add_file, &fr, err) < 0)
				return -1;
		}
	}
	return 0;
}

static void remove_stale_locust(struct run_session *s);
static void stop_project(struct run_session *s, int timeout_s);

/* Before anything is deployed: the killed session's leftovers (partial files, a test it was
 * running) set aside, then each collector repairs what it knows about (lines written while lo2
 * was dead, faults still applied). */
static int prepare_resume(struct run_session *s, struct lo2_err *err)
{
	struct run_session_rec *prev = s->m.n_sessions > 1 ? &s->m.sessions[s->m.n_sessions - 2] : NULL;
	int prev_no = prev ? prev->number : 0, partial = 0;

	if (prev && strcmp(prev->how, "running") == 0)
		set_str(&prev->how, "killed");
	lo2_walk_files(s->dir, remove_partial, &partial, NULL);
	if (partial > 0)
		run_session_say(s, "Removed %d partial files of the interrupted session", partial);
	for (size_t i = 0; i < s->m.n_tests; i++) {
		struct run_test *t = &s->m.tests[i];

		if (t->status != RUN_TEST_RUNNING)
			continue;
		end_stale_locust(s, t);
		if (set_aside(s, t, t->session ? t->session : prev_no, err) < 0)
			return -1;
	}
	/* The killed session's containers stop first, so that what they wrote is final when it is
	 * collected; its Locust (the load of a test that was running) goes. */
	remove_stale_locust(s);
	stop_project(s, -1);
	for (size_t i = 0; i < s->n_cols; i++) {
		struct run_collector *c = s->cols[i];
		const char *text = lo2_kvv_get(&s->m.sections, c->ops->name);
		struct lo2_json *prior = NULL;
		int rc;

		if (c->ops->resume == NULL || text == NULL)
			continue;
		if (lo2_json_parse(text, "run.json section", &prior, err) < 0)
			return lo2_err_prefix(err, "resume: the %s section of run.json", c->ops->name);
		rc = c->ops->resume(c, prior, err);
		lo2_json_free(prior);
		if (rc < 0)
			return lo2_err_prefix(err, "resume");
	}
	if (record_attempts(s, prev_no, err) < 0)
		return -1;
	return run_session_save(s, err);
}

/* ---- deploy and ready ---- */

/* Locust containers a killed lo2 left behind (they are not part of the compose project). */
static void remove_stale_locust(struct run_session *s)
{
	lo2_autofree char *f = xasprintf("label=%s=%s", LOCUST_LABEL, s->proj->name);
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

static int load_project(struct run_session *s, struct lo2_err *err)
{
	struct compose_load_opts lo = {.file = s->c->compose_file,
	                               .project_name = s->c->project[0] ? s->c->project : NULL};
	struct lo2_strv warnings = {0};
	char sum[65];

	if (compose_load(&lo, &s->proj, &warnings, err) < 0 || pin_digests(s, err) < 0 ||
	    compose_plan(s->proj, err) < 0)
		return lo2_err_prefix(err, "deploy");
	for (size_t i = 0; i < warnings.n; i++)
		run_session_warn(s, "%s", warnings.v[i]);
	lo2_strv_free(&warnings);
	pthread_mutex_lock(&s->lock);
	set_str(&s->m.project, s->proj->name);
	set_str(&s->m.compose_file, s->proj->config_file);
	free(s->m.compose_sha256);
	s->m.compose_sha256 =
	    lo2_sha256_file(s->proj->config_file, sum, NULL, NULL) == 0 ? xstrdup(sum) : NULL;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int deploy(struct run_session *s, struct lo2_err *err)
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
	remove_stale_locust(s);
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
		if (cancelled(s))
			return cancel_err(err, "the wait for health");
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
static int ready(struct run_session *s, struct lo2_err *err)
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

/* ---- one test ---- */

struct finisher {
	struct run_session *s;
	struct run_window w;
	char *dir;
	pthread_t th;
	bool started;
	int64_t end_mono;
};

struct finish_job {
	struct run_collector *c;
	struct run_window *w;
	pthread_t th;
	bool started;
	bool cut; /* a signal cut its work short: the test's data is not whole */
};

static void *finish_one(void *arg)
{
	struct finish_job *j = arg;
	struct lo2_err err = {0};

	if (j->c->ops->test_finish(j->c, j->w, &err) < 0) {
		run_window_error(j->w, j->c->ops->name, &err);
		j->cut = err.kind == LO2_E_CANCELLED;
	}
	return NULL;
}

/* The test's folder holds what a signal let it collect: set aside as an attempt with its files
 * (lock held). */
static void set_aside_cut(struct run_session *s, struct run_test *t)
{
	struct lo2_err err = {0};
	struct run_attempt *a;
	lo2_autofree char *dir = NULL;
	struct file_rec fr;

	t->status = RUN_TEST_INCOMPLETE;
	if (set_aside(s, t, run_session_number(s), &err) < 0) {
		lo2_strv_take(&s->m.warnings, xstrdup(err.msg));
		return;
	}
	a = &t->attempts[t->n_attempts - 1];
	dir = xasprintf("%s/%s", s->dir, a->dir);
	fr = (struct file_rec){&a->files, s->dir, a->dir};
	if (access(dir, F_OK) == 0 && lo2_walk_files(dir, add_file, &fr, &err) < 0)
		lo2_strv_take(&s->m.warnings, xstrdup(err.msg));
}

/* Every collector completes the window, in parallel; then the test's files are recorded. A test
 * a signal cut short (during its load or its collection) is set aside. */
static void finish_window(struct finisher *f)
{
	struct run_session *s = f->s;
	struct finish_job *jobs = xcalloc(s->n_cols + 1, sizeof(*jobs));
	struct run_test *t = f->w.test;
	struct file_rec fr = {&t->files, s->dir, t->tag};
	struct lo2_err err = {0};
	bool cut = f->w.interrupted;

	for (size_t i = 0; i < s->n_cols; i++) {
		jobs[i] = (struct finish_job){.c = s->cols[i], .w = &f->w};
		if (s->cols[i]->ops->test_finish == NULL)
			continue;
		if (lo2_thread_start(&jobs[i].th, finish_one, &jobs[i], "test finisher", &err) == 0)
			jobs[i].started = true;
		else
			finish_one(&jobs[i]);
	}
	for (size_t i = 0; i < s->n_cols; i++) {
		if (jobs[i].started)
			pthread_join(jobs[i].th, NULL);
		cut = cut || jobs[i].cut;
	}
	free(jobs);
	pthread_mutex_lock(&s->lock);
	t->collect_s = (double)(lo2_mono_ns() - f->end_mono) / 1e9;
	if (cut) {
		set_aside_cut(s, t);
	} else {
		run_files_free(&t->files);
		if (lo2_walk_files(f->dir, add_file, &fr, &err) < 0)
			lo2_strv_take(&t->errors, xasprintf("files: %s", err.msg));
		t->status = t->failure ? RUN_TEST_FAILED : RUN_TEST_COMPLETE;
	}
	if (run_session_save_locked(s, &err) < 0)
		lo2_strv_take(&s->m.warnings, xstrdup(err.msg));
	pthread_mutex_unlock(&s->lock);
}

static void *finisher_main(void *arg)
{
	finish_window(arg);
	return NULL;
}

static void finisher_free(struct finisher *f)
{
	if (f == NULL)
		return;
	if (f->started)
		pthread_join(f->th, NULL);
	free(f->dir);
	free(f);
}

static void locust_opts(struct run_session *s, const struct run_test *t, const char *tdir,
                        struct run_locust_opts *o, char **network, struct lo2_kvv *labels)
{
	const struct run_config *c = s->c;

	lo2_kvv_set(labels, LOCUST_LABEL, s->proj->name);
	*network = c->locust_network[0] ? xstrdup(c->locust_network) : xasprintf("%s_default", s->proj->name);
	*o = (struct run_locust_opts){.locust_dir = c->locust_folder,
	                              .main_file = c->locust_main,
	                              .host_url = c->locust_host[0] ? c->locust_host : NULL,
	                              .users = c->locust_users,
	                              .spawn_rate = c->locust_spawn_rate,
	                              .extra_args = &c->locust_extra_args,
	                              .tag = run_test_load_tag(t),
	                              .run_time_s = t->planned_s,
	                              .out_dir = tdir,
	                              .image = c->locust_command[0] ? NULL : c->locust_image,
	                              .network = *network,
	                              .command = c->locust_command[0] ? c->locust_command : NULL,
	                              .labels = labels};
}

static void each_collector(struct run_session *s, struct run_window *w, bool begin)
{
	for (size_t i = 0; i < s->n_cols; i++) {
		struct run_collector *c = s->cols[i];
		int (*op)(struct run_collector *, struct run_window *, struct lo2_err *) =
		    begin ? c->ops->test_begin : c->ops->test_end;
		struct lo2_err err = {0};

		if (op && op(c, w, &err) < 0)
			run_window_error(w, c->ops->name, &err);
	}
}

/* Locust for the window; a failure to start it fails the test, the run goes on. */
static void run_load(struct run_session *s, struct run_window *w)
{
	struct run_test *t = w->test;
	lo2_autofree char *network = NULL;
	struct lo2_kvv labels = {0};
	struct run_locust_opts lo;
	struct run_locust_result res = {0};
	struct run_locust *l = NULL;
	struct lo2_err err = {0};

	locust_opts(s, t, w->dir, &lo, &network, &labels);
	if (run_locust_start(s->e, &lo, s->c->locust_grace, LOCUST_ESCALATE_S, &l, &err) < 0) {
		lo2_kvv_free(&labels);
		run_window_error(w, "locust", &err);
		run_window_fail(w, err.msg);
		return;
	}
	if (run_locust_pid(l)) {
		struct lo2_err se = {0};

		/* a resume after a kill ends this process (it would write into the test's folder) */
		pthread_mutex_lock(&s->lock);
		t->locust_pid = run_locust_pid(l);
		if (run_session_save_locked(s, &se) < 0)
			lo2_strv_take(&s->m.warnings, xstrdup(se.msg));
		pthread_mutex_unlock(&s->lock);
	}
	while (!run_locust_poll(l)) {
		if (cancelled(s)) {
			run_locust_cancel(l, CANCEL_KILL_MS);
			break;
		}
		lo2_sleep_ns(POLL_NS);
	}
	if (run_locust_finish(l, &res, &err) < 0)
		run_window_error(w, "locust", &err);
	lo2_kvv_free(&labels);
	pthread_mutex_lock(&s->lock);
	t->locust_pid = 0;
	t->locust_exit = res.exit_code;
	t->have_counts = res.have_counts;
	t->requests = res.requests;
	t->failures = res.failures;
	if (res.stopped_past_deadline) {
		t->locust_stopped = xstrdup(res.stopped_past_deadline);
		if (t->failure == NULL)
			t->failure =
			    xasprintf("Locust did not end within its run time (%ds) + %ds; stopped with %s",
			              t->planned_s, s->c->locust_grace, res.stopped_past_deadline);
	}
	pthread_mutex_unlock(&s->lock);
}

/* Waits until the engine's clock reaches t (a window boundary announced ahead of time). */
static void reach(const struct run_session *s, int64_t t)
{
	int64_t left = t - run_session_engine_now(s);

	if (left > 0)
		lo2_sleep_ns(left);
}

/* Runs test t; on return *out is its finisher, collecting during the wait (NULL when the test
 * was interrupted and handled here). */
static int one_test(struct run_session *s, size_t i, struct finisher **out, struct lo2_err *err)
{
	struct run_test *t = &s->m.tests[i];
	struct finisher *f = xcalloc(1, sizeof(*f));

	f->s = s;
	f->dir = xasprintf("%s/%s", s->dir, t->tag);
	*out = NULL;
	if (lo2_mkdir_p(f->dir, 0755, err) < 0) {
		finisher_free(f);
		return -1;
	}
	run_session_say(s, "Starting locust test for tag '%s' with duration %ds", t->tag, t->planned_s);
	pthread_mutex_lock(&s->lock);
	run_test_reset(t);
	t->status = RUN_TEST_RUNNING;
	t->session = run_session_number(s);
	t->start_ns = run_session_engine_now(s) + BOUNDARY_AHEAD_NS;
	f->w = (struct run_window){.index = i,
	                           .tag = t->tag,
	                           .load_tag = run_test_load_tag(t),
	                           .dir = f->dir,
	                           .start_ns = t->start_ns,
	                           .end_ns = INT64_MAX,
	                           .planned_s = t->planned_s,
	                           .test = t,
	                           .session = s};
	/* before acting: a resume must know this test began */
	if (run_session_save_locked(s, err) < 0) {
		pthread_mutex_unlock(&s->lock);
		finisher_free(f);
		return -1;
	}
	pthread_mutex_unlock(&s->lock);
	each_collector(s, &f->w, true);
	reach(s, t->start_ns);
	run_load(s, &f->w);
	pthread_mutex_lock(&s->lock);
	t->end_ns = run_session_engine_now(s) + BOUNDARY_AHEAD_NS;
	f->w.end_ns = t->end_ns;
	f->w.interrupted = cancelled(s);
	pthread_mutex_unlock(&s->lock);
	each_collector(s, &f->w, false);
	reach(s, t->end_ns);
	f->end_mono = lo2_mono_ns();
	if (f->w.interrupted) {
		finish_window(f); /* what streamed in is kept, set aside */
		finisher_free(f);
		return cancel_err(err, "the test");
	}
	run_session_say(s, "Finished locust test for tag '%s'", t->tag);
	if (lo2_thread_start(&f->th, finisher_main, f, "test collection", err) < 0)
		finish_window(f);
	else
		f->started = true;
	*out = f;
	return 0;
}

/* Sleeps until the monotonic instant until, returning early when cancelled. */
static void pause_until(struct run_session *s, int64_t until)
{
	while (!cancelled(s) && lo2_mono_ns() < until) {
		int64_t left = until - lo2_mono_ns();

		lo2_sleep_ns(left < POLL_NS ? left : POLL_NS);
	}
}

static void progress(struct run_session *s, size_t i)
{
	size_t n = s->m.n_tests;
	int left = 0;

	if (s->h->progress == NULL)
		return;
	for (size_t j = i; j < n; j++)
		if (s->m.tests[j].status != RUN_TEST_COMPLETE && s->m.tests[j].status != RUN_TEST_FAILED)
			left += s->m.tests[j].planned_s + (j + 1 < n ? s->m.tests[j].wait_s : 0);
	s->h->progress(s->h->user, i + 1, n, s->m.tests[i].tag, s->m.tests[i].planned_s, left);
}

/* The tests still to do. Test N+1 begins at the end of N plus N's drawn wait, or when N's
 * collection is complete if that is later. */
static int tests(struct run_session *s, struct lo2_err *err)
{
	struct finisher *prev = NULL;
	struct run_test *prev_t = NULL;
	int64_t next_start = 0;
	int ret = 0;

	for (size_t i = 0; i < s->m.n_tests && ret == 0; i++) {
		struct run_test *t = &s->m.tests[i];

		if (t->status == RUN_TEST_COMPLETE || t->status == RUN_TEST_FAILED)
			continue;
		if (prev) {
			pause_until(s, next_start);
			finisher_free(prev);
			prev = NULL;
		}
		if (cancelled(s)) {
			ret = cancel_err(err, "the wait between tests");
			break;
		}
		if (prev_t) {
			pthread_mutex_lock(&s->lock);
			prev_t->gap_s = (double)(run_session_engine_now(s) - prev_t->end_ns) / 1e9;
			pthread_mutex_unlock(&s->lock);
		}
		progress(s, i);
		ret = one_test(s, i, &prev, err);
		if (ret < 0 || prev == NULL)
			break;
		prev_t = t;
		next_start = prev->end_mono + (int64_t)t->wait_s * LO2_NS_PER_SEC;
		if (i + 1 < s->m.n_tests)
			run_session_say(s, "Waiting for %ds", t->wait_s);
	}
	finisher_free(prev);
	if (ret == 0 && cancelled(s))
		ret = cancel_err(err, "the run");
	return ret;
}

/* ---- teardown ---- */

static void keep_first(int *ret, struct lo2_err *err, const struct lo2_err *e2, struct run_session *s)
{
	if (*ret == 0) {
		*err = *e2;
		*ret = -1;
	} else {
		run_session_warn(s, "%s", e2->msg);
	}
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
static void stop_project(struct run_session *s, int timeout_s)
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

static int teardown(struct run_session *s, int ret, struct lo2_err *err)
{
	struct compose_down_opts dopt = {.volumes = true, .timeout_s = cancelled(s) ? 0 : -1, .quiet = true};

	/* The containers stop first (gracefully, or at once after a signal), so that the collectors
	 * have everything they wrote, to their last line, before down -v removes them. */
	if (s->proj && !s->c->keep && s->hub) {
		run_session_say(s, "Stopping %s", s->proj->name);
		stop_project(s, dopt.timeout_s < 0 ? -1 : 0);
	}

	for (size_t i = s->n_cols; i-- > 0;) {
		struct run_collector *c = s->cols[i];
		struct lo2_err e2 = {0};

		if (c->ops->stop && c->ops->stop(c, &e2) < 0) {
			lo2_err_prefix(&e2, "%s", c->ops->name);
			keep_first(&ret, err, &e2, s);
		}
	}
	run_hub_stop(s->hub);
	s->hub = NULL;
	if (s->proj && !s->c->keep) {
		struct lo2_err e2 = {0};

		run_session_say(s, "Tearing down %s", s->proj->name);
		remove_stale_locust(s);
		if (compose_down(s->e, s->proj, &dopt, &e2) < 0) {
			lo2_err_prefix(&e2, "tear down");
			keep_first(&ret, err, &e2, s);
		}
	}
	return ret;
}

/* ---- the run ---- */

static int start_collection(struct run_session *s, struct lo2_err *err)
{
	struct run_hub_opts ho = {
	    .project = s->proj->name, .locust_label = LOCUST_LABEL, .since_ns = s->since_ns};

	if (run_hub_start(s->e, &ho, &s->hub, err) < 0)
		return -1;
	for (size_t i = 0; i < s->n_cols; i++)
		if (s->cols[i]->ops->start && s->cols[i]->ops->start(s->cols[i], err) < 0)
			return lo2_err_prefix(err, "%s", s->cols[i]->ops->name);
	return 0;
}

static const char *outcome(int ret, const struct lo2_err *err)
{
	if (ret == 0)
		return "complete";
	return err->kind == LO2_E_CANCELLED ? "interrupted" : "failed";
}

static int open_run(struct run_session *s, const char *resume_dir, struct lo2_err *err)
{
	struct run_schedule sched = {0};
	uint64_t seed = 0;
	int ret = -1;

	if (resume_dir) {
		s->dir = xstrdup(resume_dir);
		s->manifest_path = xasprintf("%s/run.json", s->dir);
		ret = run_manifest_read(s->manifest_path, &s->m, err);
	} else if (s->c->seed[0] == '\0' || run_config_seed(s->c, &seed, err) == 0) {
		if (s->c->seed[0] == '\0')
			seed = run_seed_random();
		if (run_plan(s->c, seed, &sched, err) == 0)
			ret = open_new_dir(s, &sched, err);
	}
	run_schedule_free(&sched);
	if (ret < 0 || open_log(s, err) < 0)
		return -1;
	begin_session(s);
	return run_session_save(s, err);
}

int run_execute(struct engine *e, const struct run_config *c, const char *resume_dir,
                const struct run_hooks *h, char **out_dir, struct lo2_err *err)
{
	struct run_session s = {.e = e, .c = c, .h = h, .log_fd = -1};
	int ret = -1;

	pthread_mutex_init(&s.lock, NULL);
	if (open_run(&s, resume_dir, err) < 0 || engine_clock_offset(e, &s.offset_ns, err) < 0)
		goto out;
	run_session_say(&s, "%s run with seed %" PRIu64 ", %zu tests (session %d)",
	                resume_dir ? "Resuming" : "Starting", s.m.seed, s.m.n_tests, run_session_number(&s));
	if (load_project(&s, err) < 0 || run_collectors_make(&s, err) < 0)
		goto done;
	if (h->started)
		h->started(h->user, s.dir, s.proj->name);
	if (resume_dir && prepare_resume(&s, err) < 0)
		goto done;
	/* after a resume's recovery: what the old containers wrote up to here is recovered */
	s.since_ns = run_session_engine_now(&s);
	ret = start_collection(&s, err);
	/* a signal cuts the deploy and the waits short, inside any engine call */
	engine_set_cancel(e, h->cancel);
	if (ret == 0)
		ret = deploy(&s, err);
	if (ret == 0)
		ret = ready(&s, err);
	engine_set_cancel(e, NULL);
	if (ret == 0)
		ret = tests(&s, err);
done:
	ret = teardown(&s, ret, err);
	pthread_mutex_lock(&s.lock);
	set_str(&s.m.status, outcome(ret, err));
	set_str(&s.m.sessions[s.rec].how, outcome(ret, err));
	s.m.ended_ns = s.m.sessions[s.rec].ended_ns = lo2_now_ns();
	pthread_mutex_unlock(&s.lock);
	if (ret < 0)
		run_session_say(&s, "LO2 Run failed: %s", err->msg);
	run_session_say(&s, "LO2 Run ended");
	if (run_session_save(&s, ret == 0 ? err : NULL) < 0)
		ret = -1;
out:
	if (out_dir)
		*out_dir = s.dir ? xstrdup(s.dir) : NULL;
	for (size_t i = 0; i < s.n_cols; i++)
		s.cols[i]->ops->destroy(s.cols[i]);
	free(s.cols);
	run_hub_stop(s.hub);
	if (s.log_fd >= 0)
		close(s.log_fd);
	compose_project_free(s.proj);
	run_manifest_free(&s.m);
	free(s.dir);
	free(s.manifest_path);
	pthread_mutex_destroy(&s.lock);
	return ret;
}
