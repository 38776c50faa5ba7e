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
#include "faults/faults.h"
#include "mysql/mysql.h"
#include "run/config.h"
#include "run/hub.h"
#include "run/locust.h"
#include "run/session.h"

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
	struct fault_specs faults = {0};

	if (run_tags_discover(c->locust_folder, &found, err) < 0)
		return -1;
	/* fault tests are tags like the Locust ones: drawn, shuffled and selected the same way */
	if (c->faults.n && run_fault_specs(c, &faults, err) < 0) {
		lo2_strv_free(&found);
		return -1;
	}
	for (size_t i = 0; i < faults.n; i++)
		if (!lo2_strv_contains(&found, faults.v[i].tag))
			lo2_strv_push(&found, faults.v[i].tag);
	for (size_t i = 0; i < c->tags.n; i++) {
		if (!lo2_strv_contains(&found, c->tags.v[i])) {
			lo2_strv_free(&found);
			lo2_strv_free(&use);
			fault_specs_free(&faults);
			return lo2_err_set(err, LO2_E_USAGE,
			                   "tag \"%s\" is not in the locustfiles of %s nor a fault test",
			                   c->tags.v[i], c->locust_folder);
		}
		if (!lo2_strv_contains(&use, c->tags.v[i]))
			lo2_strv_push(&use, c->tags.v[i]);
	}
	run_schedule_make(c->tags.n ? &use : &found, seed, c->duration_min, c->duration_max, c->wait_min,
	                  c->wait_max, out);
	for (size_t i = 0; i < out->n; i++)
		if (fault_specs_find(&faults, out->tests[i].tag))
			out->tests[i].load_tag = xstrdup("correct");
	fault_specs_free(&faults);
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

/* What this session runs with: versions, host, engine; a new session record. */
static void begin_session(struct run_session *s)
{
	struct run_session_rec *r;
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	lo2_str_replace(&s->m.host, host);
	lo2_str_replace(&s->m.lo2_version, LO2_VERSION);
	lo2_str_replace(&s->m.engine_version, engine_version(s->e)->version);
	lo2_str_replace(&s->m.engine_api, engine_api_version(s->e));
	lo2_str_replace(&s->m.engine_host, engine_display(s->e));
	lo2_str_replace(&s->m.status, "running");
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

	t->status = RUN_TEST_INCOMPLETE;
	if (run_test_set_aside(s, t, run_session_number(s), &err) < 0) {
		lo2_strv_take(&s->m.warnings, xstrdup(err.msg));
		return;
	}
	a = &t->attempts[t->n_attempts - 1];
	dir = xasprintf("%s/%s", s->dir, a->dir);
	if (access(dir, F_OK) == 0 && run_session_record_dir(s, &a->files, a->dir, &err) < 0)
		lo2_strv_take(&s->m.warnings, xstrdup(err.msg));
}

/* Every collector completes the window, in parallel; then the test's files are recorded. A test
 * a signal cut short (during its load or its collection) is set aside. */
static void finish_window(struct finisher *f)
{
	struct run_session *s = f->s;
	struct finish_job *jobs = xcalloc(s->n_cols + 1, sizeof(*jobs));
	struct run_test *t = f->w.test;
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
		if (run_session_record_dir(s, &t->files, t->tag, &err) < 0)
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

	lo2_kvv_set(labels, RUN_LOCUST_LABEL, s->proj->name);
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
	pthread_mutex_unlock(&s->lock);
	/* The collectors learn the boundary at once, well before it comes: writing run.json first
	 * (an fsync) took longer than BOUNDARY_AHEAD_NS at times, and lines of the test went to the
	 * segment before it. */
	each_collector(s, &f->w, true);
	/* before acting: a resume must know this test began */
	pthread_mutex_lock(&s->lock);
	if (run_session_save_locked(s, err) < 0) {
		t->end_ns = f->w.end_ns = run_session_engine_now(s);
		f->w.interrupted = true;
		pthread_mutex_unlock(&s->lock);
		/* the collectors close the window they opened; it is set aside */
		each_collector(s, &f->w, false);
		f->end_mono = lo2_mono_ns();
		finish_window(f);
		finisher_free(f);
		return -1;
	}
	pthread_mutex_unlock(&s->lock);
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

static int teardown(struct run_session *s, int ret, struct lo2_err *err)
{
	struct compose_down_opts dopt = {.volumes = true, .timeout_s = cancelled(s) ? 0 : -1, .quiet = true};

	/* The containers stop first (gracefully, or at once after a signal), so that the collectors
	 * have everything they wrote, to their last line, before down -v removes them. */
	if (s->proj && !s->c->keep && s->hub) {
		run_session_say(s, "Stopping %s", s->proj->name);
		run_stack_stop(s, dopt.timeout_s < 0 ? -1 : 0);
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
		run_stack_remove_locust(s);
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
	    .project = s->proj->name, .locust_label = RUN_LOCUST_LABEL, .since_ns = s->since_ns};

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
	if (h->campaign_json && run_session_section(&s, "campaign", h->campaign_json, true, err) < 0)
		goto out;
	run_session_say(&s, "%s run with seed %" PRIu64 ", %zu tests (session %d)",
	                resume_dir ? "Resuming" : "Starting", s.m.seed, s.m.n_tests, run_session_number(&s));
	if (run_stack_load(&s, NULL, false, err) < 0 || run_collectors_make(&s, err) < 0 ||
	    run_collectors_vars(&s, err) < 0)
		goto done;
	if (h->started)
		h->started(h->user, s.dir, s.proj->name);
	if (resume_dir && run_resume_prepare(&s, err) < 0)
		goto done;
	/* after a resume's recovery: what the old containers wrote up to here is recovered */
	s.since_ns = run_session_engine_now(&s);
	ret = start_collection(&s, err);
	/* a signal cuts the deploy and the waits short, inside any engine call */
	engine_set_cancel(e, h->cancel);
	if (ret == 0)
		ret = run_stack_deploy(&s, err);
	if (ret == 0)
		ret = run_stack_ready(&s, err);
	engine_set_cancel(e, NULL);
	if (ret == 0)
		ret = tests(&s, err);
done:
	ret = teardown(&s, ret, err);
	pthread_mutex_lock(&s.lock);
	lo2_str_replace(&s.m.status, outcome(ret, err));
	lo2_str_replace(&s.m.sessions[s.rec].how, outcome(ret, err));
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
	/* the hub first: its threads call the collectors' subscriptions until it has stopped */
	run_hub_stop(s.hub);
	for (size_t i = 0; i < s.n_cols; i++)
		s.cols[i]->ops->destroy(s.cols[i]);
	free(s.cols);
	if (s.log_fd >= 0)
		close(s.log_fd);
	compose_project_free(s.proj);
	run_manifest_free(&s.m);
	free(s.dir);
	free(s.manifest_path);
	pthread_mutex_destroy(&s.lock);
	return ret;
}
