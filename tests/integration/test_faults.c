/* test_faults.c - fault tests on the real engine with a small busybox stack
 * (tests/fixtures/run/faults): each kind's effect measured, not assumed (no log line from a paused
 * writer inside its window, die and start events of a killed service, CFS throttling and the
 * lowered memory limit in the engine's one-shot stats inside the window only, a ping's round trip
 * through netem), kill -9 of lo2 during a fault then --resume reverts it first, SIGINT during a
 * fault reverts it before teardown. */
#include "testutil.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "compose/compose.h"
#include "engine/engine.h"
#include "faults/faults.h"
#include "run/manifest.h"

#define FX LO2_FIXTURES "/run/faults"
#define STANDIN LO2_FIXTURES "/run/stand-in-locust"
#define SLACK_NS (300 * 1000 * 1000)

struct run {
	char *tmp, *dir, *project, *log, *runlog;
};

static void run_init(struct run *r, const char *what)
{
	r->tmp = tu_tmpdir();
	r->dir = xasprintf("%s/run", r->tmp);
	r->log = xasprintf("%s/lo2.out", r->tmp);
	r->runlog = xasprintf("%s/run_log.log", r->dir);
	r->project = xasprintf("faults%s-%s", tu_run_id(), what);
}

static void run_free(struct run *r)
{
	tu_lo2_run(NULL, NULL, "down", "-f", FX "/docker-compose.yml", "-p", r->project, "-v", "--timeout",
	           "0", NULL);
	tu_rm_rf(r->tmp);
	free(r->tmp);
	free(r->dir);
	free(r->log);
	free(r->runlog);
	free(r->project);
}

static const char **argv_of(const struct run *r, const char *tags)
{
	static const char *v[40];
	const char *a[] = {tu_lo2(),
	                   "run",
	                   "-c",
	                   FX "/lo2.yml",
	                   "--compose-file",
	                   FX "/docker-compose.yml",
	                   "--project",
	                   r->project,
	                   "--locust-folder",
	                   LO2_FIXTURES "/run/core/locust",
	                   "--locust-command",
	                   STANDIN,
	                   "--mysql-service",
	                   "",
	                   "--prometheus-url",
	                   "",
	                   "--no-traces-receive",
	                   "--timestamps",
	                   "--tags",
	                   tags,
	                   "--durations-min",
	                   "10",
	                   "--durations-max",
	                   "10",
	                   "--waits-min",
	                   "1",
	                   "--waits-max",
	                   "1",
	                   "--seed",
	                   "7",
	                   "--output",
	                   r->dir,
	                   NULL};

	memcpy(v, a, sizeof(a));
	return v;
}

static void run_to_end(const struct run *r, const char *tags)
{
	char *errs = NULL;
	int rc = tu_run(argv_of(r, tags), NULL, NULL, &errs);

	if (rc != 0)
		fail_msg("lo2 run exited %d:\n%s", rc, errs);
	free(errs);
}

static struct lo2_json *fault_json(const char *dir, const char *tag)
{
	char *p = xasprintf("%s/%s/fault.json", dir, tag), *text = tu_read(p, NULL);
	struct lo2_json *j = NULL;
	struct lo2_err err = {0};

	if (text == NULL)
		fail_msg("no %s", p);
	if (lo2_json_parse(text, p, &j, &err) < 0)
		fail_msg("%s", err.msg);
	free(p);
	free(text);
	return j;
}

static int64_t jint(const struct lo2_json *o, const char *key)
{
	int64_t v = 0;

	if (!lo2_json_int(lo2_json_get(o, key), &v))
		fail_msg("no number %s in fault.json", key);
	return v;
}

/* Every call of the record succeeded; the fault was reverted. */
static void all_ok(const struct lo2_json *f)
{
	const struct lo2_json *acts = lo2_json_get(f, "actions");

	assert_true(lo2_json_len(acts) >= 2);
	for (size_t i = 0; i < lo2_json_len(acts); i++)
		if (!lo2_json_is_true(lo2_json_get(lo2_json_at(acts, i), "ok")))
			fail_msg("call %s failed: %s",
			         lo2_json_str(lo2_json_get(lo2_json_at(acts, i), "call")),
			         lo2_json_str(lo2_json_get(lo2_json_at(acts, i), "error")));
	assert_true(lo2_json_is_true(lo2_json_get(f, "reverted")));
}

/* Timestamps of the lines of a container's log in a test (lines "<rfc3339> <text>") holding needle. */
static size_t line_times(const char *path, const char *needle, int64_t *out, size_t max)
{
	char *text = tu_read(path, NULL), *save = NULL;
	size_t n = 0;

	if (text == NULL)
		fail_msg("no %s", path);
	for (char *l = strtok_r(text, "\n", &save); l && n < max; l = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(l, ' ');

		if (sp == NULL || strstr(sp, needle) == NULL)
			continue;
		*sp = '\0';
		if (lo2_time_parse(l, &out[n], NULL) == 0)
			n++;
	}
	free(text);
	return n;
}

static void summary_of(const struct run *r, struct run_manifest *m)
{
	char *mp = xasprintf("%s/run.json", r->dir);
	struct lo2_err err = {0};

	if (run_manifest_read(mp, m, &err) < 0)
		fail_msg("%s", err.msg);
	free(mp);
}

static const struct run_test *test_of(const struct run_manifest *m, const char *tag)
{
	for (size_t i = 0; i < m->n_tests; i++)
		if (strcmp(m->tests[i].tag, tag) == 0)
			return &m->tests[i];
	fail_msg("no test %s in run.json", tag);
	return NULL;
}

static void need_helper(void);

/* pause: no line of the writer inside the window, lines after it; kill: die and start events of
 * the restarting service inside the window, the time until it answers recorded. */
static void test_pause_and_kill(void **state)
{
	struct run r;
	struct lo2_json *f;
	struct run_manifest m;
	int64_t onset, recovery, times[2000];
	size_t n, inside = 0, after = 0;
	char *path;
	int dies = 0, starts = 0;

	need_helper();
	run_init(&r, "pk");
	run_to_end(&r, "fault_pause_writer,fault_kill_flaky");
	summary_of(&r, &m);
	assert_string_equal(m.status, "complete");
	f = fault_json(r.dir, "fault_pause_writer");
	all_ok(f);
	assert_string_equal(lo2_json_str(lo2_json_get(f, "kind")), "pause");
	assert_string_equal(lo2_json_str(lo2_json_get(f, "service")), "writer");
	onset = jint(f, "onset_ns");
	recovery = jint(f, "recovery_ns");
	assert_true(recovery - onset > 3 * LO2_NS_PER_SEC);
	path = xasprintf("%s/fault_pause_writer/%s-writer-1.log.gz", r.dir, r.project);
	n = line_times(path, "writer ", times, 2000);
	/* the unpause acts inside its call: the window of silence ends at its start */
	recovery = jint(lo2_json_at(lo2_json_get(f, "actions"), lo2_json_len(lo2_json_get(f, "actions")) - 1),
	                "start_ns");
	for (size_t i = 0; i < n; i++) {
		if (times[i] > onset + SLACK_NS && times[i] < recovery) {
			inside++;
			printf("line at onset %+.3f s, recovery %+.3f s\n", (double)(times[i] - onset) / 1e9,
			       (double)(times[i] - recovery) / 1e9);
		}
		after += times[i] > recovery;
	}
	if (inside != 0)
		fail_msg("%zu lines of the paused writer inside its window", inside);
	assert_true(after > 10);
	assert_int_equal(test_of(&m, "fault_pause_writer")->status, RUN_TEST_COMPLETE);
	assert_non_null(lo2_kvv_get(&test_of(&m, "fault_pause_writer")->sections, "fault"));
	lo2_json_free(f);

	f = fault_json(r.dir, "fault_kill_flaky");
	all_ok(f);
	onset = jint(f, "onset_ns");
	recovery = jint(f, "recovery_ns");
	/* back by its restart policy, before the recovery */
	assert_true(jint(lo2_json_get(f, "observed"), "answering_after_onset_ns") > 0);
	assert_true(jint(lo2_json_get(f, "observed"), "answering_after_onset_ns") < recovery - onset);
	assert_true(jint(lo2_json_get(f, "observed"), "restart_count_after") == 1);
	for (size_t e = 0; e < test_of(&m, "fault_kill_flaky")->n_events; e++) {
		const struct run_event *ev = &test_of(&m, "fault_kill_flaky")->events[e];

		if (strstr(ev->container, "flaky") == NULL || ev->time_ns < onset - SLACK_NS ||
		    ev->time_ns > recovery)
			continue;
		dies += strcmp(ev->action, "die") == 0;
		starts += strcmp(ev->action, "start") == 0;
	}
	assert_int_equal(dies, 1);
	assert_int_equal(starts, 1);
	lo2_json_free(f);
	run_manifest_free(&m);
	free(path);
	run_free(&r);
}

/* stop: no line of the writer inside the window, a die and a start event; restart: a die and a
 * start event inside the window, the writer answers again (its time recorded). */
static void test_stop_and_restart(void **state)
{
	struct run r;
	struct run_manifest m;
	const char *tags[] = {"fault_stop_writer", "fault_restart_writer"};

	run_init(&r, "sr");
	run_to_end(&r, "fault_stop_writer,fault_restart_writer");
	summary_of(&r, &m);
	assert_string_equal(m.status, "complete");
	for (int i = 0; i < 2; i++) {
		struct lo2_json *f = fault_json(r.dir, tags[i]);
		const struct run_test *t = test_of(&m, tags[i]);
		int64_t onset = jint(f, "onset_ns"), recovery = jint(f, "recovery_ns");
		int dies = 0, starts = 0;

		all_ok(f);
		assert_int_equal(t->status, RUN_TEST_COMPLETE);
		assert_true(jint(lo2_json_get(f, "observed"), "answering_after_onset_ns") > 0);
		for (size_t e = 0; e < t->n_events; e++) {
			const struct run_event *ev = &t->events[e];

			if (strstr(ev->container, "writer") == NULL ||
			    ev->time_ns < onset - 2 * LO2_NS_PER_SEC || ev->time_ns > recovery + SLACK_NS)
				continue;
			dies += strcmp(ev->action, "die") == 0;
			starts += strcmp(ev->action, "start") == 0;
		}
		if (dies != 1 || starts != 1)
			fail_msg("%s: %d die and %d start events in the window", tags[i], dies, starts);
		if (i == 0) {
			char *path = xasprintf("%s/%s/%s-writer-1.log.gz", r.dir, tags[i], r.project);
			int64_t times[2000];
			size_t n = line_times(path, "writer ", times, 2000), inside = 0;

			for (size_t k = 0; k < n; k++)
				inside += times[k] > onset + SLACK_NS && times[k] < recovery - SLACK_NS;
			assert_int_equal(inside, 0);
			free(path);
		}
		lo2_json_free(f);
	}
	run_manifest_free(&m);
	run_free(&r);
}

/* Samples of a container's one-shot stats, 1 s apart. */
static void stats_of(const char *container, struct engine_stats *a, struct engine_stats *b)
{
	struct lo2_err err = {0};

	if (engine_container_stats(tu_engine(), container, a, &err) < 0)
		fail_msg("%s", err.msg);
	sleep(1);
	if (engine_container_stats(tu_engine(), container, b, &err) < 0)
		fail_msg("%s", err.msg);
}

enum measure { M_THROTTLE, M_LIMIT, M_CPU_USE };

/* What a pair of samples shows: throttled periods, the memory limit, CPU seconds used. */
static double measured(enum measure k, const struct engine_stats *a, const struct engine_stats *b)
{
	if (k == M_THROTTLE)
		return (double)(b->throttled_periods - a->throttled_periods);
	if (k == M_LIMIT)
		return (double)b->mem_limit;
	return (double)(b->cpu_total_ns - a->cpu_total_ns) / 1e9;
}

/* cpu: the burner is throttled inside the window only; memory: the limit is lowered inside the
 * window only; stress: the idle peer uses a CPU inside the window only (the helper is in its
 * cgroup). Sampled by the test through the engine's one-shot stats. */
static void limits_run(const char *what, const char *tag, const char *service, const char *kind,
                       enum measure k)
{
	double before, during, after;
	struct run r;
	pid_t pid;
	int status;
	char *container, *start, *on, *off;
	struct engine_stats a, b;
	struct lo2_json *f;

	run_init(&r, what);
	container = xasprintf("%s-%s-1", r.project, service);
	start = xasprintf("Starting locust test for tag '%s'", tag);
	on = xasprintf("Fault %s on %s\n", kind, container);
	off = xasprintf("on %s reverted", container);
	pid = tu_spawn(argv_of(&r, tag), r.log);
	if (!tu_wait_for_text(r.runlog, start, 120))
		fail_msg("no \"%s\"", start);
	stats_of(container, &a, &b);
	before = measured(k, &a, &b);
	if (!tu_wait_for_text(r.runlog, on, 30))
		fail_msg("no \"%s\"", on);
	stats_of(container, &a, &b);
	during = measured(k, &a, &b);
	if (!tu_wait_for_text(r.runlog, off, 30))
		fail_msg("no \"%s\"", off);
	stats_of(container, &a, &b);
	after = measured(k, &a, &b);
	printf("%s: before %g, during %g, after %g\n", what, before, during, after);
	if (k == M_THROTTLE) {
		assert_true(before == 0 && during > 5 && after == 0);
	} else if (k == M_LIMIT) {
		assert_true(during == 8 * 1024 * 1024);
		assert_true(before == after && after > during);
	} else {
		assert_true(before < 0.05 && during > 0.2 && after < 0.05);
	}
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	f = fault_json(r.dir, tag);
	all_ok(f);
	lo2_json_free(f);
	free(container);
	free(start);
	free(on);
	free(off);
	run_free(&r);
}

static void test_cpu(void **state)
{
	limits_run("cpu", "fault_cpu_burner", "burner", "cpu", M_THROTTLE);
}

static void test_memory(void **state)
{
	limits_run("mem", "fault_memory_writer", "writer", "memory", M_LIMIT);
}

static void test_stress(void **state)
{
	need_helper();
	limits_run("stress", "fault_stress_peer", "peer", "stress", M_CPU_USE);
}

/* The network faults' helper image (scripts/build-images faults). */
static void need_helper(void)
{
	struct engine_image_info info;

	if (engine_image_inspect(tu_engine(), FAULT_HELPER_IMAGE, &info, NULL) < 0)
		tu_skip_or_fail("no " FAULT_HELPER_IMAGE " (build it with scripts/build-images faults)");
	engine_image_info_free(&info);
}

/* Round-trip times (ms) of the pinger's lines, inside and outside [lo, hi). */
static void rtts(const char *path, int64_t lo, int64_t hi, double *in_min, double *out_max, size_t *lost_in,
                 size_t *lost_out)
{
	char *text = tu_read(path, NULL), *save = NULL;

	*in_min = 1e9;
	*out_max = 0;
	*lost_in = *lost_out = 0;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(l, ' '), *t;
		int64_t ts;
		bool in;

		if (sp == NULL)
			continue;
		*sp = '\0';
		if (lo2_time_parse(l, &ts, NULL) < 0)
			continue;
		in = ts > lo + SLACK_NS && ts < hi;
		if (strstr(sp + 1, "lost")) {
			*(in ? lost_in : lost_out) += ts < lo || ts > hi + 2 * LO2_NS_PER_SEC || in;
		} else if ((t = strstr(sp + 1, "time=")) != NULL) {
			double ms = atof(t + 5);

			if (in && ms < *in_min)
				*in_min = ms;
			if (!in && (ts < lo || ts > hi + SLACK_NS) && ms > *out_max)
				*out_max = ms;
		}
	}
	free(text);
}

/* network: 200 ms of delay on the pinger raise its round trips in the window only; 100 % loss
 * loses its pings in the window only. Needs the kernel's sch_netem. */
static void test_network(void **state)
{
	struct run r;
	struct lo2_json *f;
	const struct lo2_json *acts;
	double in_min, out_max;
	size_t lost_in, lost_out;
	char *path;
	struct run_manifest m;

	need_helper();
	run_init(&r, "net");
	tu_run(argv_of(&r, "fault_network_pinger,fault_network_lossy"), NULL, NULL, NULL);
	f = fault_json(r.dir, "fault_network_pinger");
	acts = lo2_json_get(f, "actions");
	if (lo2_json_len(acts) > 0 && lo2_json_str(lo2_json_get(lo2_json_at(acts, 0), "error")) &&
	    strstr(lo2_json_str(lo2_json_get(lo2_json_at(acts, 0), "error")), "qdisc kind is unknown")) {
		/* a kernel feature, not a tool install-deps could add: a skip even under CI */
		printf("SKIP: this kernel has no sch_netem (tc: %s)\n",
		       lo2_json_str(lo2_json_get(lo2_json_at(acts, 0), "error")));
		lo2_json_free(f);
		run_free(&r);
		skip();
	}
	all_ok(f);
	path = xasprintf("%s/fault_network_pinger/%s-pinger-1.log.gz", r.dir, r.project);
	rtts(path, jint(f, "onset_ns"), jint(f, "recovery_ns"), &in_min, &out_max, &lost_in, &lost_out);
	assert_true(in_min >= 150);
	assert_true(out_max < 50);
	lo2_json_free(f);
	free(path);
	f = fault_json(r.dir, "fault_network_lossy");
	all_ok(f);
	path = xasprintf("%s/fault_network_lossy/%s-lossy-1.log.gz", r.dir, r.project);
	rtts(path, jint(f, "onset_ns"), jint(f, "recovery_ns"), &in_min, &out_max, &lost_in, &lost_out);
	assert_true(lost_in > 3);
	assert_int_equal(lost_out, 0);
	summary_of(&r, &m);
	assert_string_equal(m.status, "complete");
	run_manifest_free(&m);
	lo2_json_free(f);
	free(path);
	run_free(&r);
}

/* A rate alone is tbf's: applied and removed (kernels without netem have tbf). */
static void test_network_rate(void **state)
{
	struct run r;
	struct lo2_json *f;
	const struct lo2_json *obs;

	need_helper();
	run_init(&r, "rate");
	run_to_end(&r, "fault_network_peer");
	f = fault_json(r.dir, "fault_network_peer");
	all_ok(f);
	obs = lo2_json_get(f, "observed");
	assert_non_null(strstr(lo2_json_str(lo2_json_get(obs, "qdisc_applied")), "tbf"));
	assert_null(strstr(lo2_json_str(lo2_json_get(obs, "qdisc_after")), "tbf"));
	lo2_json_free(f);
	run_free(&r);
}

static size_t helpers_of(const char *project)
{
	char *f = xasprintf("label=%s=%s", FAULT_HELPER_LABEL, project);
	struct lo2_strv filters = {0};
	struct engine_container_list cl = {0};
	struct lo2_err err = {0};
	size_t n;

	lo2_strv_push(&filters, f);
	assert_int_equal(engine_container_list(tu_engine(), &filters, true, &cl, &err), 0);
	n = cl.n;
	engine_container_list_free(&cl);
	lo2_strv_free(&filters);
	free(f);
	return n;
}

static int take_text(void *user, int stream, const char *p, size_t n, bool fs, bool fe, struct lo2_err *err)
{
	lo2_buf_append(user, p, n);
	return 0;
}

/* `tc qdisc show` in the network namespace of container (a helper of the test's own). */
static char *qdisc_of(const char *container)
{
	struct engine_container_spec spec = {0};
	struct engine_logs_opts lo = {0};
	struct lo2_buf b = LO2_BUF_INIT;
	struct lo2_err err = {0};
	char *id = NULL;
	int64_t code = -1;

	spec.image = xstrdup(FAULT_HELPER_IMAGE);
	spec.cmd_set = true;
	lo2_strv_push(&spec.cmd, "tc");
	lo2_strv_push(&spec.cmd, "qdisc");
	lo2_strv_push(&spec.cmd, "show");
	spec.network_mode = xasprintf("container:%s", container);
	spec.stop_timeout = -1;
	lo2_kvv_set(&spec.labels, TU_LABEL, tu_run_id());
	if (engine_container_create(tu_engine(), &spec, &id, &err) < 0 ||
	    engine_container_start(tu_engine(), id, &err) < 0 ||
	    engine_container_wait(tu_engine(), id, "not-running", NULL, &code, &err) < 0 ||
	    engine_container_logs(tu_engine(), id, &lo, take_text, &b, &err) < 0)
		fail_msg("tc qdisc show in %s: %s", container, err.msg);
	engine_container_remove(tu_engine(), id, true, true, NULL);
	engine_container_spec_free(&spec);
	free(id);
	lo2_buf_append(&b, "", 1);
	return lo2_buf_steal(&b);
}

struct seen {
	const char *id, *action;
	int n;
};

static int on_event(void *user, const struct engine_event *ev)
{
	struct seen *s = user;

	if (ev->id && strcmp(ev->id, s->id) == 0 && strcmp(ev->action, s->action) == 0)
		s->n++;
	return 0;
}

/* kill -9 of lo2 while the fault is applied (checked on the engine), then --resume: the fault is
 * reverted before the run goes on (the engine's own events say so), no helper is left. */
static void kill9_during(const char *what, const char *tag, const char *service, const char *kind,
                         const char *revert_action)
{
	struct run r;
	pid_t pid;
	int status, rc;
	char *container, *on, *errs = NULL;
	struct engine_container_info ci;
	struct lo2_err err = {0};
	struct run_manifest m;
	struct seen seen = {0};
	struct engine_events_opts eo = {0};
	struct lo2_json *sec = NULL;
	int64_t t0;

	run_init(&r, what);
	container = xasprintf("%s-%s-1", r.project, service);
	on = xasprintf("Fault %s on %s\n", kind, container);
	pid = tu_spawn(argv_of(&r, tag), r.log);
	if (!tu_wait_for_text(r.runlog, on, 120))
		fail_msg("no \"%s\"", on);
	usleep(300 * 1000);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	/* the fault is in place while lo2 is dead */
	assert_int_equal(engine_container_inspect(tu_engine(), container, &ci, &err), 0);
	if (strcmp(kind, "pause") == 0)
		assert_true(ci.paused);
	else if (strcmp(kind, "cpu") == 0)
		assert_true(ci.limits.cpu_quota > 0);
	else if (strcmp(kind, "memory") == 0)
		assert_true(ci.limits.memory == 8 * 1024 * 1024);
	else if (strcmp(kind, "stop") == 0)
		assert_false(ci.running);
	else if (strcmp(kind, "network") == 0) {
		char *q = qdisc_of(container);

		assert_non_null(strstr(q, "tbf"));
		free(q);
	} else
		assert_int_equal(helpers_of(r.project), 1);
	seen.id = ci.id;
	seen.action = revert_action ? revert_action : "";
	t0 = lo2_now_ns() - LO2_NS_PER_SEC;
	rc = tu_lo2_run(NULL, &errs, "run", "--resume", r.dir, NULL);
	if (rc != 0)
		fail_msg("lo2 run --resume exited %d:\n%s", rc, errs);
	eo.since_ns = t0;
	eo.until_ns = lo2_now_ns();
	assert_int_equal(engine_events(tu_engine(), &eo, on_event, &seen, &err), 0);
	if (revert_action && seen.n == 0)
		fail_msg("no %s event of %s during the resume", revert_action, container);
	assert_int_equal(helpers_of(r.project), 0);
	summary_of(&r, &m);
	assert_string_equal(m.status, "complete");
	assert_int_equal(test_of(&m, tag)->status, RUN_TEST_COMPLETE);
	assert_int_equal(lo2_json_parse(lo2_kvv_get(&m.sections, "faults"), "faults", &sec, &err), 0);
	assert_int_equal(lo2_json_len(lo2_json_get(sec, "active")), 0);
	assert_true(lo2_json_len(lo2_json_get(sec, "resumed")) > 0);
	lo2_json_free(sec);
	run_manifest_free(&m);
	engine_container_info_free(&ci);
	free(container);
	free(on);
	free(errs);
	run_free(&r);
}

static void test_kill9_during_pause(void **state)
{
	/* the resume stops the killed session's stack first: the paused container is stopped (the
	 * engine unpauses it to stop it) */
	kill9_during("k9pause", "fault_pause_writer", "writer", "pause", "die");
}

static void test_kill9_during_cpu(void **state)
{
	kill9_during("k9cpu", "fault_cpu_burner", "burner", "cpu", "update");
}

static void test_kill9_during_memory(void **state)
{
	kill9_during("k9mem", "fault_memory_writer", "writer", "memory", "update");
}

static void test_kill9_during_stop(void **state)
{
	/* the stopped writer stays stopped (the resume stops the stack; the deploy recreates it):
	 * the resume's record shows it looked and started nothing */
	kill9_during("k9stop", "fault_stop_writer", "writer", "stop", NULL);
}

static void test_kill9_during_network(void **state)
{
	need_helper();
	/* the tbf qdisc goes with the network namespace of the stopped container; no helper is left */
	kill9_during("k9net", "fault_network_peer", "peer", "network", NULL);
}

static void test_kill9_during_stress(void **state)
{
	need_helper();
	/* the helper, found by its label, is removed */
	kill9_during("k9stress", "fault_stress_peer", "peer", "stress", NULL);
}

/* SIGINT while the writer is paused: reverted (said in the run log) before the teardown. */
static void test_sigint_during_fault(void **state)
{
	struct run r;
	pid_t pid;
	int status;
	char *text, *rev, *down;

	run_init(&r, "sigint");
	pid = tu_spawn(argv_of(&r, "fault_pause_writer"), r.log);
	if (!tu_wait_for_text(r.runlog, "Fault pause on", 120))
		fail_msg("no fault in the run log");
	usleep(300 * 1000);
	kill(pid, SIGINT);
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	text = tu_read(r.runlog, NULL);
	rev = strstr(text, "reverted");
	down = strstr(text, "Tearing down");
	assert_non_null(rev);
	assert_non_null(down);
	assert_true(rev < down);
	assert_int_equal(helpers_of(r.project), 0);
	free(text);
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pause_and_kill),
	    cmocka_unit_test(test_stop_and_restart),
	    cmocka_unit_test(test_stress),
	    cmocka_unit_test(test_cpu),
	    cmocka_unit_test(test_memory),
	    cmocka_unit_test(test_network),
	    cmocka_unit_test(test_network_rate),
	    cmocka_unit_test(test_kill9_during_pause),
	    cmocka_unit_test(test_kill9_during_cpu),
	    cmocka_unit_test(test_kill9_during_memory),
	    cmocka_unit_test(test_kill9_during_stress),
	    cmocka_unit_test(test_kill9_during_stop),
	    cmocka_unit_test(test_kill9_during_network),
	    cmocka_unit_test(test_sigint_during_fault),
	};
	int rc;

	tu_engine();
	tu_require_image("lo2-test/busybox:latest");
	rc = tu_run_tests(tests);
	tu_cleanup();
	return rc;
}
