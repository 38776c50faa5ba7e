/* driver.c - the experiment driver (see driver.h). The run's folder is laid out as the LO2
 * dataset; run_log.log keeps the original's lines; run.json is rewritten after every test. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/sha256.h"
#include "common/time.h"
#include "compose/compose.h"
#include "engine/engine.h"
#include "fetch/fetch.h"
#include "mysql/mysql.h"
#include "run/driver.h"
#include "run/locust.h"
#include "run/logroute.h"
#include "run/manifest.h"

struct ctx {
	struct engine *e;
	const struct run_config *c;
	const struct run_hooks *h;
	char *dir;
	int log_fd;
	struct run_manifest m;
	char *manifest_path;
	struct compose_project *proj;
	struct run_logroute *router;
	int64_t offset_ns; /* engine clock - lo2's */
	pthread_t ev_thread;
	bool ev_running;
	atomic_bool ev_stop;
	pthread_mutex_t ev_lock;
	struct run_test *cur; /* the test events are recorded into */
};

static bool cancelled(const struct ctx *x)
{
	return x->h->cancel && atomic_load(x->h->cancel);
}

/* run_log.log: "<unix seconds> <message>", as the original driver wrote it. */
static void say(struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct ctx *x, const char *fmt, ...)
{
	char msg[1024], line[1100];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = snprintf(line, sizeof(line), "%lld %s\n", (long long)(lo2_now_ns() / LO2_NS_PER_SEC), msg);
	if (x->log_fd >= 0 && lo2_write_all(x->log_fd, line, (size_t)n, "run_log.log", NULL) < 0)
		lo2_warn("write run_log.log: %s", strerror(errno));
	if (x->h->log) {
		line[n - 1] = '\0';
		x->h->log(x->h->user, line);
	}
}

static int save_manifest(struct ctx *x, struct lo2_err *err)
{
	int ret;

	pthread_mutex_lock(&x->ev_lock);
	ret = run_manifest_write(&x->m, x->manifest_path, err);
	pthread_mutex_unlock(&x->ev_lock);
	return ret;
}

/* ---- engine events during tests ---- */

static bool interesting(const char *action)
{
	return strcmp(action, "die") == 0 || strcmp(action, "oom") == 0 || strcmp(action, "restart") == 0 ||
	       strcmp(action, "kill") == 0 || lo2_str_has_prefix(action, "health_status");
}

static int on_event(void *user, const struct engine_event *ev)
{
	struct ctx *x = user;

	if (ev->action == NULL || !interesting(ev->action))
		return 0;
	pthread_mutex_lock(&x->ev_lock);
	if (x->cur != NULL)
		run_manifest_add_event(x->cur, ev->time_ns, ev->name ? ev->name : ev->id, ev->action,
		                       lo2_kvv_get(ev->attrs, "exitCode"));
	pthread_mutex_unlock(&x->ev_lock);
	return 0;
}

static void *events_main(void *arg)
{
	struct ctx *x = arg;
	struct lo2_strv filters = {0};
	lo2_autofree char *label = xasprintf("label=com.docker.compose.project=%s", x->proj->name);
	struct engine_events_opts o = {
	    .since_ns = lo2_now_ns() + x->offset_ns, .filters = &filters, .cancel = &x->ev_stop};
	struct lo2_err err = {0};

	lo2_strv_push(&filters, "type=container");
	lo2_strv_push(&filters, label);
	while (!atomic_load(&x->ev_stop)) {
		if (engine_events(x->e, &o, on_event, x, &err) < 0 && !atomic_load(&x->ev_stop))
			lo2_debug("events: %s (subscribing again)", err.msg);
		o.since_ns = lo2_now_ns() + x->offset_ns;
		if (!atomic_load(&x->ev_stop))
			lo2_sleep_ns(LO2_NS_PER_SEC / 2);
	}
	lo2_strv_free(&filters);
	return NULL;
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

/* ---- deploy and MySQL ---- */

#define LOCUST_LABEL "lo2.locust-of"

/* Locust containers a killed lo2 left behind (they are not part of the compose project). */
static void remove_stale_locust(struct ctx *x)
{
	lo2_autofree char *f = xasprintf("label=%s=%s", LOCUST_LABEL, x->proj->name);
	struct lo2_strv filters = {0};
	struct engine_container_list cl = {0};

	lo2_strv_push(&filters, f);
	if (engine_container_list(x->e, &filters, true, &cl, NULL) == 0)
		for (size_t i = 0; i < cl.n; i++)
			engine_container_remove(x->e, cl.v[i].id, true, true, NULL);
	engine_container_list_free(&cl);
	lo2_strv_free(&filters);
}

static int deploy(struct ctx *x, struct lo2_err *err)
{
	struct compose_load_opts lo = {.file = x->c->compose_file,
	                               .project_name = x->c->project[0] ? x->c->project : NULL};
	struct compose_up_opts uo = {.force_recreate = true, .timeout_s = x->c->mysql_timeout, .quiet = true};
	struct lo2_strv warnings = {0};
	struct compose_ps ps = {0};
	char sum[65];

	if (compose_load(&lo, &x->proj, &warnings, err) < 0 || compose_plan(x->proj, err) < 0)
		return lo2_err_prefix(err, "deploy");
	for (size_t i = 0; i < warnings.n; i++)
		lo2_warn("%s", warnings.v[i]);
	lo2_strv_free(&warnings);
	/* On resume these come from run.json: the redeployed values replace them. */
	free(x->m.project);
	free(x->m.compose_file);
	free(x->m.compose_sha256);
	x->m.project = xstrdup(x->proj->name);
	x->m.compose_file = xstrdup(x->proj->config_file);
	x->m.compose_sha256 =
	    lo2_sha256_file(x->proj->config_file, sum, NULL, err) == 0 ? xstrdup(sum) : NULL;
	say(x, "Deploying %s (project %s)", x->proj->config_file, x->proj->name);
	remove_stale_locust(x);
	if (compose_up(x->e, x->proj, &uo, err) < 0)
		return lo2_err_prefix(err, "deploy %s", x->proj->name);
	if (compose_ps(x->e, x->proj->name, &ps, err) == 0) {
		for (size_t i = 0; i < ps.n; i++) {
			struct engine_container_info ci;

			if (engine_container_inspect(x->e, ps.v[i].id, &ci, NULL) == 0) {
				lo2_kvv_set(&x->m.images, ci.name, ci.image_id);
				engine_container_info_free(&ci);
			}
		}
		compose_ps_free(&ps);
	}
	return 0;
}

static int password_for(struct ctx *x, struct db_service_addr *addr, char **pw, struct lo2_err *err)
{
	const struct run_config *c = x->c;

	*pw = NULL;
	if (c->mysql_password_env[0] || c->mysql_password_file[0])
		return db_password_load(c->mysql_password_env[0] ? c->mysql_password_env : NULL,
		                        c->mysql_password_file[0] ? c->mysql_password_file : NULL, pw, err);
	*pw = addr && addr->password ? xstrdup(addr->password) : NULL;
	return 0;
}

static int mysql_ready(struct ctx *x, struct lo2_err *err)
{
	const struct run_config *c = x->c;
	struct db_service_addr addr = {0};
	struct db_target t = {.user = c->mysql_user,
	                      .database = c->mysql_database[0] ? c->mysql_database : NULL};
	struct db_wait_opts wo = {.timeout_ns = (int64_t)c->mysql_timeout * LO2_NS_PER_SEC};
	struct db_ready ready;
	char *pw = NULL;
	int ret = -1;

	if (c->mysql_host[0] == '\0' && c->mysql_service[0] == '\0')
		return 0;
	if (c->mysql_host[0]) {
		t.host = c->mysql_host;
		t.port = (unsigned)c->mysql_port;
	} else if (db_resolve_service(x->e, x->proj->name, c->mysql_service, c->mysql_user, &addr, err) < 0) {
		return lo2_err_prefix(err, "MySQL service %s", c->mysql_service);
	} else {
		t.host = addr.host;
		t.port = addr.port;
	}
	if (password_for(x, &addr, &pw, err) < 0)
		goto out;
	t.password = pw;
	say(x, "Waiting for MySQL...");
	if (db_wait(&t, &wo, &ready, err) < 0)
		goto out;
	say(x, "MySQL is ready (%s) after %.1fs", ready.server_version, (double)ready.elapsed_ns / 1e9);
	if (c->mysql_init_sql[0]) {
		size_t n = 0;

		if (db_exec_file(&t, c->mysql_init_sql, NULL, &n, err) < 0)
			goto out;
		say(x, "Ran %zu statements of %s", n, c->mysql_init_sql);
	}
	ret = 0;
out:
	if (ret < 0)
		db_err_scrub(err, pw);
	db_password_free(pw);
	db_service_addr_free(&addr);
	return ret;
}

/* ---- one test ---- */

struct file_rec {
	struct run_test *t;
	const char *root;
};

/* Records a finished file of a test (temporary files of a sink still open are not files yet). */
static int add_file(void *user, const char *path, const char *rel, struct lo2_err *err)
{
	struct file_rec *fr = user;
	lo2_autofree char *r = xasprintf("%s/%s", fr->t->tag, rel);

	return strstr(rel, ".tmp.") ? 0 : run_manifest_add_file(fr->t, fr->root, r, err);
}

static void fetch_metrics(struct ctx *x, struct run_test *t, const char *mdir)
{
	const struct run_config *c = x->c;
	struct lo2_strv names = {0};
	struct fetch_report rep = {0};
	struct lo2_err err = {0};
	struct fetch_prom_opts po = {.url = c->prometheus_url,
	                             .start_ns = t->start_ns,
	                             .end_ns = t->end_ns,
	                             .step_ns = LO2_NS_PER_SEC,
	                             .dir = mdir};
	int rc;

	if (c->prometheus_url[0] == '\0')
		return;
	if (strcmp(c->prometheus_metrics, "all") == 0) {
		rc = fetch_prom_list(c->prometheus_url, 30000, &names, &err);
	} else {
		lo2_autofree char *text = NULL;

		rc = lo2_read_file(c->prometheus_metrics, 16u * 1024 * 1024, &text, NULL, &err);
		for (char *save = NULL, *l = rc == 0 ? strtok_r(text, "\n", &save) : NULL; l;
		     l = strtok_r(NULL, "\n", &save))
			if (l[0])
				lo2_strv_push(&names, l);
	}
	if (rc == 0)
		fetch_prom_metrics(&po, &names, &rep, &err);
	if (rc < 0 || err.msg[0])
		lo2_strv_push(&t->errors, err.msg);
	for (size_t i = 0; i < rep.failures.n; i++)
		lo2_strv_push(&t->errors, rep.failures.v[i]);
	say(x, "Fetched %zu metrics (%zu empty, %zu failed)", rep.ok, rep.empty, rep.failed);
	fetch_report_free(&rep);
	lo2_strv_free(&names);
}

static void fetch_traces(struct ctx *x, struct run_test *t, const char *mdir)
{
	const struct run_config *c = x->c;
	struct lo2_strv services = {0};
	struct fetch_report rep = {0};
	struct lo2_err err = {0};
	struct fetch_jaeger_opts jo = {.url = c->jaeger_url,
	                               .start_ns = t->start_ns,
	                               .end_ns = t->end_ns,
	                               .dir = mdir,
	                               .limit = c->jaeger_limit};
	int rc = 0;

	if (c->jaeger_url[0] == '\0')
		return;
	if (strcmp(c->jaeger_services, "all") == 0) {
		rc = fetch_jaeger_services(c->jaeger_url, 30000, &services, &err);
	} else {
		lo2_autofree char *copy = xstrdup(c->jaeger_services);

		for (char *save = NULL, *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save))
			lo2_strv_push(&services, s);
	}
	if (rc == 0)
		fetch_jaeger_traces(&jo, &services, &rep, &err);
	if (rc < 0 || err.msg[0])
		lo2_strv_push(&t->errors, err.msg);
	for (size_t i = 0; i < rep.failures.n; i++)
		lo2_strv_push(&t->errors, rep.failures.v[i]);
	fetch_report_free(&rep);
	lo2_strv_free(&services);
}

static void locust_opts(struct ctx *x, const struct run_test *t, const char *tdir, struct run_locust_opts *o,
                        char **network, struct lo2_kvv *labels)
{
	const struct run_config *c = x->c;

	lo2_kvv_set(labels, LOCUST_LABEL, x->proj->name);

	*network = c->locust_network[0] ? xstrdup(c->locust_network) : xasprintf("%s_default", x->proj->name);
	*o = (struct run_locust_opts){.locust_dir = c->locust_folder,
	                              .main_file = c->locust_main,
	                              .host_url = c->locust_host[0] ? c->locust_host : NULL,
	                              .users = c->locust_users,
	                              .spawn_rate = c->locust_spawn_rate,
	                              .extra_args = &c->locust_extra_args,
	                              .tag = t->tag,
	                              .run_time_s = t->planned_s,
	                              .out_dir = tdir,
	                              .image = c->locust_command[0] ? NULL : c->locust_image,
	                              .network = *network,
	                              .command = c->locust_command[0] ? c->locust_command : NULL,
	                              .cancel = x->h->cancel,
	                              .labels = labels};
}

static int one_test(struct ctx *x, struct run_test *t, struct lo2_err *err)
{
	lo2_autofree char *tdir = xasprintf("%s/%s", x->dir, t->tag);
	lo2_autofree char *mdir = xasprintf("%s/metrics", tdir);
	lo2_autofree char *network = NULL;
	struct lo2_kvv labels = {0};
	struct run_locust_opts lo;
	struct run_locust_result res;
	uint64_t lines = 0;
	int64_t start;
	int rc;

	if (lo2_mkdir_p(mdir, 0755, err) < 0)
		return -1;
	say(x, "Starting locust test for tag '%s' with duration %ds", t->tag, t->planned_s);
	start = lo2_now_ns();
	pthread_mutex_lock(&x->ev_lock);
	t->status = RUN_TEST_RUNNING;
	t->start_ns = start;
	x->cur = t;
	pthread_mutex_unlock(&x->ev_lock);
	if (save_manifest(x, err) < 0 || run_logroute_open(x->router, tdir, start + x->offset_ns, err) < 0)
		return -1;
	locust_opts(x, t, tdir, &lo, &network, &labels);
	rc = run_locust(x->e, &lo, &res, err);
	lo2_kvv_free(&labels);
	if (rc < 0) {
		run_logroute_close(x->router, lo2_now_ns() + x->offset_ns, NULL, NULL);
		return -1;
	}
	t->end_ns = res.end_ns;
	t->locust_exit = res.exit_code;
	t->have_counts = res.have_counts;
	t->requests = res.requests;
	t->failures = res.failures;
	if (run_logroute_close(x->router, t->end_ns + x->offset_ns, &lines, err) < 0)
		return -1;
	pthread_mutex_lock(&x->ev_lock);
	x->cur = NULL;
	pthread_mutex_unlock(&x->ev_lock);
	if (res.cancelled) {
		t->status = RUN_TEST_INCOMPLETE;
		return lo2_err_set(err, LO2_E_CANCELLED, "interrupted during the test of tag %s", t->tag);
	}
	say(x, "Finished locust test for tag '%s'", t->tag);
	say(x, "Fetched docker logs from %lld to %lld (%" PRIu64 " lines)",
	    (long long)(t->start_ns / LO2_NS_PER_SEC), (long long)(t->end_ns / LO2_NS_PER_SEC), lines);
	fetch_metrics(x, t, mdir);
	fetch_traces(x, t, mdir);
	if (fetch_write_last_fetch_time(mdir, t->end_ns, err) < 0 ||
	    lo2_walk_files(tdir, add_file, &(struct file_rec){t, x->dir}, err) < 0)
		return -1;
	t->collect_s = (double)(lo2_now_ns() - t->end_ns) / 1e9;
	t->status = RUN_TEST_COMPLETE;
	return save_manifest(x, err);
}

/* Sleeps seconds, returning early when cancelled. */
static void pause_for(struct ctx *x, int seconds)
{
	int64_t until = lo2_mono_ns() + (int64_t)seconds * LO2_NS_PER_SEC;

	while (!cancelled(x) && lo2_mono_ns() < until)
		lo2_sleep_ns(100 * 1000 * 1000);
}

/* Removes one temporary file (never complete) that a killed session left; counts it. */
static int remove_partial(void *user, const char *path, const char *rel, struct lo2_err *err)
{
	if (strstr(rel, ".tmp.") && unlink(path) == 0)
		(*(int *)user)++;
	return 0;
}

static int tests(struct ctx *x, struct lo2_err *err)
{
	size_t n = x->m.n_tests;

	for (size_t i = 0; i < n && !cancelled(x); i++) {
		struct run_test *t = &x->m.tests[i];

		if (t->status == RUN_TEST_COMPLETE)
			continue;
		if (t->status != RUN_TEST_PENDING) {
			lo2_autofree char *old = xasprintf("%s/%s", x->dir, t->tag);

			say(x, "Redoing the incomplete test of tag '%s'", t->tag);
			lo2_rm_rf(old);
			run_test_reset(t);
		}
		if (x->h->progress) {
			int left = 0;

			for (size_t j = i; j < n; j++)
				left +=
				    x->m.tests[j].status == RUN_TEST_COMPLETE
				        ? 0
				        : x->m.tests[j].planned_s + (j + 1 < n ? x->m.tests[j].wait_s : 0);
			x->h->progress(x->h->user, i + 1, n, t->tag, t->planned_s, left);
		}
		if (one_test(x, t, err) < 0) {
			if (t->status == RUN_TEST_RUNNING)
				t->status = RUN_TEST_INCOMPLETE;
			save_manifest(x, NULL);
			return -1;
		}
		if (i + 1 < n) {
			say(x, "Waiting for %ds", t->wait_s);
			pause_for(x, t->wait_s);
		}
	}
	if (cancelled(x))
		return lo2_err_set(err, LO2_E_CANCELLED, "interrupted");
	return 0;
}

static int open_run_dir(struct ctx *x, const char *resume_dir, const struct run_schedule *s,
                        struct lo2_err *err)
{
	const struct run_config *c = x->c;
	lo2_autofree char *logp = NULL;
	char host[256] = "";

	if (resume_dir) {
		x->dir = xstrdup(resume_dir);
	} else if (c->output[0]) {
		x->dir = xstrdup(c->output);
	} else {
		x->dir =
		    xasprintf("%s/LO2_run_%lld", c->output_root, (long long)(lo2_now_ns() / LO2_NS_PER_SEC));
	}
	x->manifest_path = xasprintf("%s/run.json", x->dir);
	if (resume_dir == NULL) {
		lo2_autofree char *cfg = xasprintf("%s/run_config.yml", x->dir);

		if (mkdir(x->dir, 0755) != 0 && !(errno == ENOENT && lo2_mkdir_p(x->dir, 0755, err) == 0))
			return lo2_err_errno(err, errno, "create run folder %s (it must not exist yet)",
			                     x->dir);
		run_manifest_init(&x->m, s);
		if (run_config_write(c, cfg, err) < 0)
			return -1;
	}
	logp = xasprintf("%s/run_log.log", x->dir);
	x->log_fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (x->log_fd < 0)
		return lo2_err_errno(err, errno, "open %s/run_log.log", x->dir);
	gethostname(host, sizeof(host) - 1);
	free(x->m.host);
	x->m.host = xstrdup(host);
	free(x->m.lo2_version);
	x->m.lo2_version = xstrdup(LO2_VERSION);
	free(x->m.engine_version);
	x->m.engine_version = xstrdup(engine_version(x->e)->version);
	free(x->m.engine_api);
	x->m.engine_api = xstrdup(engine_api_version(x->e));
	free(x->m.engine_host);
	x->m.engine_host = xstrdup(engine_display(x->e));
	free(x->m.status);
	x->m.status = xstrdup("running");
	if (x->m.started_ns == 0)
		x->m.started_ns = lo2_now_ns();
	return save_manifest(x, err);
}

static int start_collection(struct ctx *x, bool resumed, int64_t since_ns, struct lo2_err *err)
{
	lo2_autofree char *label = xasprintf("label=com.docker.compose.project=%s", x->proj->name);
	lo2_autofree char *between = resumed ? xasprintf("%s/_between/resumed-%lld", x->dir,
	                                                 (long long)(lo2_now_ns() / LO2_NS_PER_SEC))
	                                     : xasprintf("%s/_between", x->dir);
	struct lo2_strv filters = {0};
	struct run_logroute_opts ro = {.filters = &filters,
	                               .between_dir = between,
	                               .keep_timestamps = x->c->timestamps,
	                               .compress = x->c->compress,
	                               .since_ns = since_ns + x->offset_ns};
	int ret;

	lo2_strv_push(&filters, label);
	ret = run_logroute_start(x->e, &ro, &x->router, err);
	lo2_strv_free(&filters);
	if (ret == 0) {
		pthread_create(&x->ev_thread, NULL, events_main, x);
		x->ev_running = true;
	}
	return ret;
}

static void teardown(struct ctx *x, struct lo2_err *err)
{
	struct compose_down_opts dopt = {.volumes = true, .timeout_s = -1, .quiet = true};
	struct lo2_err e2 = {0};

	if (x->ev_running) {
		atomic_store(&x->ev_stop, true);
		pthread_join(x->ev_thread, NULL);
		x->ev_running = false;
	}
	if (x->router && run_logroute_stop(x->router, &x->m.logs_until_ns, &e2) < 0)
		lo2_warn("%s", e2.msg);
	x->router = NULL;
	if (x->proj && !x->c->keep) {
		say(x, "Tearing down %s", x->proj->name);
		if (compose_down(x->e, x->proj, &dopt, &e2) < 0 && err && err->msg[0] == '\0')
			*err = e2;
	}
}

int run_execute(struct engine *e, const struct run_config *c, const char *resume_dir,
                const struct run_hooks *h, char **out_dir, struct lo2_err *err)
{
	struct ctx x = {.e = e, .c = c, .h = h, .log_fd = -1};
	struct run_schedule s = {0};
	uint64_t seed = 0;
	int64_t deploy_ns;
	int ret = -1;

	pthread_mutex_init(&x.ev_lock, NULL);
	if (resume_dir) {
		lo2_autofree char *mp = xasprintf("%s/run.json", resume_dir);

		if (run_manifest_read(mp, &x.m, err) < 0)
			goto out;
	} else {
		if (c->seed[0] == '\0')
			seed = run_seed_random();
		else if (run_config_seed(c, &seed, err) < 0)
			goto out;
		if (run_plan(c, seed, &s, err) < 0)
			goto out;
	}
	if (open_run_dir(&x, resume_dir, &s, err) < 0 || engine_clock_offset(e, &x.offset_ns, err) < 0)
		goto out;
	say(&x, "%s run with seed %" PRIu64 ", %zu tests", resume_dir ? "Resuming" : "Starting", x.m.seed,
	    x.m.n_tests);
	if (resume_dir) {
		int partial = 0;

		lo2_walk_files(x.dir, remove_partial, &partial, NULL);

		if (partial > 0)
			say(&x, "Removed %d partial files of the interrupted session", partial);
	}
	deploy_ns = lo2_now_ns();
	if (deploy(&x, err) < 0 || start_collection(&x, resume_dir != NULL, deploy_ns, err) < 0 ||
	    mysql_ready(&x, err) < 0)
		goto done;
	x.m.deploy_s = (double)(lo2_now_ns() - deploy_ns) / 1e9;
	ret = tests(&x, err);
done:
	teardown(&x, err);
	free(x.m.status);
	x.m.status =
	    xstrdup(ret == 0 ? "complete" : (err->kind == LO2_E_CANCELLED ? "interrupted" : "failed"));
	x.m.ended_ns = lo2_now_ns();
	if (ret < 0)
		say(&x, "LO2 Run failed: %s", err->msg);
	say(&x, "LO2 Run ended");
	if (save_manifest(&x, ret == 0 ? err : NULL) < 0)
		ret = -1;
out:
	if (out_dir)
		*out_dir = x.dir ? xstrdup(x.dir) : NULL;
	if (x.log_fd >= 0)
		close(x.log_fd);
	compose_project_free(x.proj);
	run_manifest_free(&x.m);
	run_schedule_free(&s);
	free(x.dir);
	free(x.manifest_path);
	pthread_mutex_destroy(&x.ev_lock);
	return ret;
}
