/* test_run_core.c - the run core on the real engine, with a small busybox stack whose every line
 * is "<service> <hostname> <n>" and that says "<service> <hostname> end <n>" when stopped, and a
 * stand-in Locust program: every line of every container life is in the run's files exactly once
 * (each in the window its timestamp belongs to), through a 120 MB flood, restarts, kill -9 and
 * --resume at three phases; signals end every phase quickly and take the stack down; a hung
 * Locust fails its test and the run goes on; the gap between tests is the drawn wait. */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "compose/compose.h"
#include "engine/engine.h"
#include "run/manifest.h"

#define CORE LO2_FIXTURES "/run/core"
/* A signal ends a run within 2 s, teardown included (the bound); the instrumented build
 * is given twice that. */
#ifdef LO2_SANITIZED
#define EXIT_BOUND_NS (4 * LO2_NS_PER_SEC)
#else
#define EXIT_BOUND_NS (2 * LO2_NS_PER_SEC)
#endif
#define STANDIN LO2_FIXTURES "/run/stand-in-locust"

/* ---- running lo2 ---- */

/* The arguments of `lo2 run` on the core stack (extra ones appended, NULL-terminated). */
static const char **core_argv(const char *compose, const char *project, const char *dir, const char *tags,
                              const char *dmin, const char *dmax, const char *wmin, const char *wmax,
                              const char *const *extra)
{
	static const char *v[64];
	size_t n = 0;
	const char *base[] = {tu_lo2(),
	                      "run",
	                      "--compose-file",
	                      compose,
	                      "--project",
	                      project,
	                      "--locust-folder",
	                      CORE "/locust",
	                      "--locust-command",
	                      STANDIN,
	                      "--mysql-service",
	                      "",
	                      "--prometheus-url",
	                      "",
	                      "--timestamps",
	                      "--tags",
	                      tags,
	                      "--durations-min",
	                      dmin,
	                      "--durations-max",
	                      dmax,
	                      "--waits-min",
	                      wmin,
	                      "--waits-max",
	                      wmax,
	                      "--seed",
	                      "42",
	                      "--output",
	                      dir};

	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		v[n++] = base[i];
	for (size_t i = 0; extra && extra[i]; i++)
		v[n++] = extra[i];
	v[n] = NULL;
	return v;
}

static char *project_name(const char *what)
{
	return xasprintf("lo2t%s-%s", tu_run_id(), what);
}

static void down(const char *compose, const char *project)
{
	tu_lo2_run(NULL, NULL, "down", "-f", compose, "-p", project, "-v", "--timeout", "0", NULL);
}

static size_t containers_of(const char *project)
{
	struct compose_ps ps = {0};
	struct lo2_err err = {0};
	size_t n;

	assert_int_equal(compose_ps(tu_engine(), project, &ps, &err), 0);
	n = ps.n;
	compose_ps_free(&ps);
	return n;
}

static void read_manifest(const char *dir, struct run_manifest *m)
{
	char *mp = xasprintf("%s/run.json", dir);
	struct lo2_err err = {0};

	if (run_manifest_read(mp, m, &err) < 0)
		fail_msg("%s", err.msg);
	free(mp);
}

/* ---- what the files hold ---- */

struct life {
	char key[96]; /* "<service> <hostname>" */
	uint32_t *count; /* count[n] for n in 1..cap */
	uint32_t cap, max, end_n, ends;
};

struct lives {
	struct life *v;
	size_t n;
	uint64_t lines, tmp_files, outside; /* lines outside their file's window */
};

static struct life *life_of(struct lives *ls, const char *key)
{
	for (size_t i = 0; i < ls->n; i++)
		if (strcmp(ls->v[i].key, key) == 0)
			return &ls->v[i];
	ls->v = xrealloc(ls->v, (ls->n + 1) * sizeof(*ls->v));
	memset(&ls->v[ls->n], 0, sizeof(ls->v[0]));
	snprintf(ls->v[ls->n].key, sizeof(ls->v[0].key), "%s", key);
	return &ls->v[ls->n++];
}

static void count_n(struct life *l, uint32_t n)
{
	if (n >= l->cap) {
		uint32_t cap = n * 2 + 1024;

		l->count = xrealloc(l->count, cap * sizeof(*l->count));
		memset(l->count + l->cap, 0, (cap - l->cap) * sizeof(*l->count));
		l->cap = cap;
	}
	l->count[n]++;
	if (n > l->max)
		l->max = n;
}

/* One line "<ts> <service> <host> <n>" or "<ts> <service> <host> end <n>" (or, for the flood,
 * "<ts> flood <n> <pad>"); lo..hi is the file's window (0, 0: none). */
static void take_line(struct lives *ls, char *line, int64_t lo, int64_t hi)
{
	char *ts = strtok(line, " "), *svc = strtok(NULL, " "), *host = strtok(NULL, " "),
	     *a = strtok(NULL, " ");
	char key[96];
	int64_t t = 0;

	if (ts == NULL || svc == NULL || host == NULL)
		fail_msg("a line without service and host: %s", line);
	assert_int_equal(lo2_time_parse(ts, &t, NULL), 0);
	if (hi > 0 && (t < lo || t >= hi)) {
		fprintf(stderr, "outside [%" PRId64 ", %" PRId64 "): %s %s %s\n", lo, hi, ts, svc, host);
		ls->outside++;
	}
	ls->lines++;
	if (strcmp(svc, "flood") == 0) {
		count_n(life_of(ls, "flood"), (uint32_t)strtoul(host, NULL, 10));
		return;
	}
	if (strcmp(svc, "flaky") == 0)
		return; /* counted by its own test */
	snprintf(key, sizeof(key), "%s %s", svc, host);
	if (a && strcmp(a, "end") == 0) {
		struct life *l = life_of(ls, key);
		char *n = strtok(NULL, " ");

		l->ends++;
		l->end_n = n ? (uint32_t)strtoul(n, NULL, 10) : 0;
		return;
	}
	if (a == NULL)
		fail_msg("a line without its number: %s %s", svc, host);
	count_n(life_of(ls, key), (uint32_t)strtoul(a, NULL, 10));
}

static void take_file(struct lives *ls, const char *path, int64_t lo, int64_t hi)
{
	size_t len = 0;
	char *text = tu_read(path, &len);

	assert_non_null(text);
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		take_line(ls, l, lo, hi);
	free(text);
}

static bool is_container_log(const char *name)
{
	return lo2_str_has_suffix(name, ".log.gz") ||
	       (lo2_str_has_suffix(name, ".log") && strcmp(name, "locust.log") != 0);
}

/* Every container log under dir (recursively), with the window of each test folder and segment. */
static void take_dir(struct lives *ls, const char *root, const char *rel, const struct run_manifest *m,
                     const struct lo2_json *segs)
{
	char *dir = rel[0] ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	DIR *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char *path, *sub;
		struct stat st;
		int64_t lo = 0, hi = 0;

		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		sub = rel[0] ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		assert_int_equal(lstat(path, &st), 0);
		if (strstr(de->d_name, ".tmp."))
			ls->tmp_files++;
		else if (S_ISDIR(st.st_mode))
			take_dir(ls, root, sub, m, segs);
		else if (rel[0] && is_container_log(de->d_name)) {
			for (size_t i = 0; i < m->n_tests; i++)
				if (strcmp(m->tests[i].tag, rel) == 0) {
					lo = m->tests[i].start_ns;
					hi = m->tests[i].end_ns;
				}
			for (size_t i = 0; i < lo2_json_len(segs); i++) {
				const struct lo2_json *sg = lo2_json_at(segs, i);
				int64_t s0 = 0, s1 = 0;

				if (lo2_json_str(lo2_json_get(sg, "dir")) &&
				    strcmp(lo2_json_str(lo2_json_get(sg, "dir")), rel) == 0 &&
				    lo2_json_int(lo2_json_get(sg, "start_ns"), &s0) &&
				    lo2_json_int(lo2_json_get(sg, "end_ns"), &s1)) {
					lo = s0;
					hi = s1;
				}
			}
			take_file(ls, path, lo, hi);
		}
		free(path);
		free(sub);
	}
	closedir(d);
	free(dir);
}

/* Reads every container log of the run; asserts each life is whole: 1..n once each, one end line. */
static void check_exact(const char *dir, struct lives *ls, size_t min_lives)
{
	struct run_manifest m;
	struct lo2_json *logs = NULL;

	read_manifest(dir, &m);
	assert_int_equal(lo2_json_parse(lo2_kvv_get(&m.sections, "logs"), "logs", &logs, NULL), 0);
	memset(ls, 0, sizeof(*ls));
	take_dir(ls, dir, "", &m, lo2_json_get(logs, "segments"));
	assert_int_equal(ls->tmp_files, 0);
	assert_int_equal(ls->outside, 0);
	assert_true(ls->n >= min_lives);
	for (size_t i = 0; i < ls->n; i++) {
		struct life *l = &ls->v[i];

		for (uint32_t k = 1; k <= l->max; k++)
			if (l->count[k] != 1)
				fail_msg("%s: line %u is in the run's files %u times", l->key, k,
				         l->count[k]);
		if (strcmp(l->key, "flood") != 0) {
			if (l->ends != 1)
				fail_msg("%s: %u end lines (of %u lines)", l->key, l->ends, l->max);
			assert_int_equal(l->end_n, l->max);
		}
	}
	lo2_json_free(logs);
	run_manifest_free(&m);
}

static void lives_free(struct lives *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		free(ls->v[i].count);
	free(ls->v);
}

static void summary_ok(const char *dir)
{
	char *out = NULL;

	assert_int_equal(tu_lo2_run(&out, NULL, "summary", dir, NULL), 0);
	assert_non_null(strstr(out, "checksums: all files match run.json"));
	free(out);
}

/* ---- the tests ---- */

/* Two tests: every line once, in its window; quiet containers get their file; the first test
 * begins once the system is ready (no health change inside it); the gap is the drawn wait. */
static void test_exact_windows(void **state)
{
	char *tmp = tu_tmpdir(), *dir = xasprintf("%s/run", tmp), *project = project_name("exact");
	const char *compose = CORE "/docker-compose.yml";
	char *errs = NULL;
	struct run_manifest m;
	struct lives ls;
	int rc;

	rc = tu_run(core_argv(compose, project, dir, "first,second", "3", "4", "2", "2", NULL), NULL, NULL,
	            &errs);
	if (rc != 0)
		fail_msg("lo2 run exited %d:\n%s", rc, errs);
	assert_int_equal(containers_of(project), 0);
	read_manifest(dir, &m);
	assert_string_equal(m.status, "complete");
	assert_int_equal(m.n_sessions, 1);
	assert_string_equal(m.sessions[0].how, "complete");
	assert_true(m.ready_s > 0);
	for (size_t i = 0; i < m.n_tests; i++) {
		struct run_test *t = &m.tests[i];
		char *quiet = xasprintf("%s/%s/%s-quiet-1.log.gz", dir, t->tag, project);

		assert_int_equal(t->status, RUN_TEST_COMPLETE);
		assert_int_equal(access(quiet, F_OK), 0);
		for (size_t e = 0; e < t->n_events; e++)
			assert_null(strstr(t->events[e].action, "health_status"));
		free(quiet);
	}
	/* the drawn wait is the gap: collection ran during it */
	assert_true(m.tests[0].gap_s >= 2.0);
	check_exact(dir, &ls, 3);
	summary_ok(dir);
	lives_free(&ls);
	run_manifest_free(&m);
	tu_rm_rf(tmp);
	free(tmp);
	free(dir);
	free(project);
	free(errs);
}

/* One test of `seconds` on compose, whose services wait for $GO_DIR/go, which the stand-in Locust
 * touches when the load begins. Returns the run folder (in tmp); the run must succeed. */
static char *run_with_go(const char *tmp, const char *compose, const char *project, const char *seconds)
{
	char *dir = xasprintf("%s/run", tmp), *go = xasprintf("%s/go", tmp), *gofile = xasprintf("%s/go", go);
	char *errs = NULL;
	int rc;

	assert_int_equal(mkdir(go, 0777), 0);
	setenv("GO_DIR", go, 1);
	setenv("LO2_STANDIN_GO", gofile, 1);
	rc = tu_run(core_argv(compose, project, dir, "first", seconds, seconds, "1", "1", NULL), NULL, NULL,
	            &errs);
	unsetenv("LO2_STANDIN_GO");
	if (rc != 0)
		fail_msg("lo2 run exited %d:\n%s", rc, errs);
	free(go);
	free(gofile);
	free(errs);
	return dir;
}

/* 107 MB of numbered lines during a test, past the daemon's 10 MB x 3 rotation: every number once. */
static void test_flood_past_rotation(void **state)
{
	char *tmp = tu_tmpdir(), *project = project_name("flood");
	char *dir = run_with_go(tmp, CORE "/flood.yml", project, "15");
	struct run_manifest m;
	struct lives ls;

	read_manifest(dir, &m);
	assert_string_equal(m.status, "complete");
	assert_int_equal(m.warnings.n, 0); /* no log that rotates */
	check_exact(dir, &ls, 1);
	assert_int_equal(life_of(&ls, "flood")->max, 420000);
	lives_free(&ls);
	run_manifest_free(&m);
	tu_rm_rf(tmp);
	free(tmp);
	free(dir);
	free(project);
}

/* A service with restart: on-failure:3 lives four times during a test: all four lives are in it. */
static void test_restarts_followed(void **state)
{
	char *tmp = tu_tmpdir(), *project = project_name("restart"), *text, *path;
	char *dir = run_with_go(tmp, CORE "/restart.yml", project, "20");
	struct run_manifest m;
	int dies = 0, starts = 0;

	read_manifest(dir, &m);
	path = xasprintf("%s/first/%s-flaky-1.log.gz", dir, project);
	text = tu_read(path, NULL);
	assert_non_null(text);
	for (int life = 1; life <= 4; life++)
		for (int line = 1; line <= 20; line++) {
			char *want = xasprintf(" flaky life %d line %d\n", life, line);
			char *hit = strstr(text, want);

			if (hit == NULL || strstr(hit + 1, want) != NULL)
				fail_msg("life %d line %d is not in the test exactly once", life, line);
			free(want);
		}
	for (size_t e = 0; e < m.tests[0].n_events; e++) {
		dies += strcmp(m.tests[0].events[e].action, "die") == 0;
		starts += strcmp(m.tests[0].events[e].action, "start") == 0;
	}
	assert_int_equal(dies, 4);
	assert_int_equal(starts, 3);
	free(text);
	free(path);
	run_manifest_free(&m);
	tu_rm_rf(tmp);
	free(tmp);
	free(dir);
	free(project);
}

/* kill -9 once the run log shows `marker` (plus delay_ms), then --resume: every life whole,
 * the killed session's included, lines written while lo2 was dead recovered. */
static void kill_and_resume(const char *what, const char *marker, int delay_ms, bool expect_attempt,
                            size_t min_lives)
{
	char *tmp = tu_tmpdir(), *dir = xasprintf("%s/run", tmp), *log = xasprintf("%s/lo2.out", tmp);
	char *runlog = xasprintf("%s/run_log.log", dir), *project = project_name(what), *errs = NULL;
	const char *compose = CORE "/docker-compose.yml";
	struct run_manifest m;
	struct lives ls;
	int status, rc, attempts = 0;
	pid_t pid = tu_spawn(core_argv(compose, project, dir, "first,second", "4", "4", "3", "3", NULL), log);

	if (!tu_wait_for_text(runlog, marker, 120))
		fail_msg("no \"%s\" in the run log", marker);
	usleep((useconds_t)delay_ms * 1000);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	sleep(2); /* the containers go on writing while lo2 is dead */
	rc = tu_lo2_run(NULL, &errs, "run", "--resume", dir, NULL);
	if (rc != 0)
		fail_msg("lo2 run --resume exited %d:\n%s", rc, errs);
	assert_int_equal(containers_of(project), 0);
	read_manifest(dir, &m);
	assert_string_equal(m.status, "complete");
	assert_int_equal(m.n_sessions, 2);
	assert_string_equal(m.sessions[0].how, "killed");
	assert_string_equal(m.sessions[1].how, "complete");
	assert_true(m.sessions[1].recovered_lines > 0);
	for (size_t i = 0; i < m.n_tests; i++) {
		assert_int_equal(m.tests[i].status, RUN_TEST_COMPLETE);
		attempts += (int)m.tests[i].n_attempts;
		for (size_t a = 0; a < m.tests[i].n_attempts; a++) {
			char *p = xasprintf("%s/%s", dir, m.tests[i].attempts[a].dir);

			assert_int_equal(access(p, F_OK), 0);
			assert_non_null(strstr(m.tests[i].attempts[a].dir, ".incomplete-"));
			free(p);
		}
	}
	assert_int_equal(attempts, expect_attempt ? 1 : 0);
	/* lives of both sessions: the killed one's containers and the resumed one's */
	check_exact(dir, &ls, min_lives);
	summary_ok(dir);
	lives_free(&ls);
	run_manifest_free(&m);
	tu_rm_rf(tmp);
	free(tmp);
	free(dir);
	free(log);
	free(runlog);
	free(project);
	free(errs);
}

static void test_kill9_during_deploy(void **state)
{
	kill_and_resume("k9deploy", "Deploying", 2500, false, 4);
}

static void test_kill9_during_test(void **state)
{
	kill_and_resume("k9test", "Starting locust test", 1500, true, 6);
}

static void test_kill9_during_wait(void **state)
{
	kill_and_resume("k9wait", "Waiting for", 2000, false, 6);
}

/* A signal once the run log shows marker: lo2 exits within 2 s of it, interrupted, the stack
 * gone, and its last line gives the resume command. */
static void signal_during(const char *what, int sig, const char *marker, int delay_ms,
                          const char *const *extra, const char *compose)
{
	char *tmp = tu_tmpdir(), *dir = xasprintf("%s/run", tmp), *log = xasprintf("%s/lo2.out", tmp);
	char *runlog = xasprintf("%s/run_log.log", dir), *project = project_name(what), *out, *resume;
	struct run_manifest m;
	int status;
	int64_t t0, took;
	pid_t pid = tu_spawn(core_argv(compose ? compose : CORE "/docker-compose.yml", project, dir,
	                               "first,second", "4", "4", "3", "3", extra),
	                     log);

	if (!tu_wait_for_text(runlog, marker, 120))
		fail_msg("no \"%s\" in the run log", marker);
	usleep((useconds_t)delay_ms * 1000);
	t0 = lo2_mono_ns();
	kill(pid, sig);
	waitpid(pid, &status, 0);
	took = lo2_mono_ns() - t0;
	out = tu_read(log, NULL);
	if (took > EXIT_BOUND_NS)
		fail_msg("%s: lo2 took %.2f s to exit after signal %d:\n%s", what, (double)took / 1e9, sig,
		         out);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_int_equal(containers_of(project), 0);
	resume = xasprintf("resume with: lo2 run --resume %s\n", dir);
	assert_true(lo2_str_has_suffix(out, resume));
	read_manifest(dir, &m);
	assert_string_equal(m.status, "interrupted");
	assert_string_equal(m.sessions[0].how, "interrupted");
	run_manifest_free(&m);
	down(compose ? compose : CORE "/docker-compose.yml", project);
	tu_rm_rf(tmp);
	free(tmp);
	free(dir);
	free(log);
	free(runlog);
	free(project);
	free(out);
	free(resume);
}

static void test_sigint_during_deploy(void **state)
{
	signal_during("sigdeploy", SIGINT, "Deploying", 1000, NULL, NULL);
}

static void test_sigterm_during_mysql_wait(void **state)
{
	const char *extra[] = {"--mysql-host", "127.0.0.1", "--mysql-port", "9", NULL};

	signal_during("sigmysql", SIGTERM, "Waiting for MySQL", 500, extra, NULL);
}

static void test_sighup_during_test(void **state)
{
	signal_during("sigtest", SIGHUP, "Starting locust test", 1000, NULL, NULL);
}

/* A Prometheus whose answers stall: the signal comes while the first test's metrics are fetched. */
static void test_sigint_during_fetch(void **state)
{
	char *tmp = tu_tmpdir(), *names = xasprintf("%s/metrics.txt", tmp), *url, *port = NULL;
	const char *srv[] = {"python3", LO2_SOURCE_DIR "/tests/fetch_server.py", NULL};
	char *srvlog = xasprintf("%s/server.out", tmp);
	pid_t server = tu_spawn(srv, srvlog);
	const char *extra[8];
	int status;

	assert_true(tu_wait_for_text(srvlog, "\n", 20));
	port = tu_read(srvlog, NULL);
	port[strcspn(port, "\n")] = '\0';
	url = xasprintf("http://127.0.0.1:%s", port);
	assert_int_equal(lo2_write_file_atomic(names, "stall\n", 6, NULL), 0);
	extra[0] = "--prometheus-url";
	extra[1] = url;
	extra[2] = "--prometheus-metrics";
	extra[3] = names;
	extra[4] = "--ready-prometheus=false";
	extra[5] = NULL;
	signal_during("sigfetch", SIGINT, "Finished locust test", 300, extra, NULL);
	kill(server, SIGTERM);
	waitpid(server, &status, 0);
	tu_rm_rf(tmp);
	free(tmp);
	free(names);
	free(url);
	free(port);
	free(srvlog);
}

/* A second signal exits at once, leaving the stack, and says so. */
static void test_second_signal(void **state)
{
	char *tmp = tu_tmpdir(), *dir = xasprintf("%s/run", tmp), *log = xasprintf("%s/lo2.out", tmp);
	char *runlog = xasprintf("%s/run_log.log", dir), *project = project_name("sig2"), *out;
	const char *compose = CORE "/docker-compose.yml";
	int status;
	int64_t t0, took;
	pid_t pid = tu_spawn(core_argv(compose, project, dir, "first", "20", "20", "1", "1", NULL), log);

	assert_true(tu_wait_for_text(runlog, "Starting locust test", 120));
	kill(pid, SIGINT);
	usleep(100000);
	t0 = lo2_mono_ns();
	kill(pid, SIGINT);
	waitpid(pid, &status, 0);
	took = lo2_mono_ns() - t0;
	out = tu_read(log, NULL);
	assert_true(took < LO2_NS_PER_SEC / 2);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 130);
	assert_non_null(strstr(out, "second signal: exiting now; the stack of project"));
	assert_non_null(strstr(out, "lo2 run --resume"));
	assert_true(containers_of(project) > 0); /* left running, as it says */
	down(compose, project);
	tu_rm_rf(tmp);
	free(tmp);
	free(dir);
	free(log);
	free(runlog);
	free(project);
	free(out);
}

/* A Locust that ignores SIGINT: its test ends at run time + grace, is failed, and the run goes on. */
static void test_hung_locust(void **state)
{
	char *tmp = tu_tmpdir(), *dir = xasprintf("%s/run", tmp), *project = project_name("hang"),
	     *errs = NULL;
	const char *compose = CORE "/docker-compose.yml";
	const char *extra[] = {"--locust-grace", "1", NULL};
	struct run_manifest m;
	int rc, failed = 0, complete = 0;

	rc = tu_run(core_argv(compose, project, dir, "hang,first", "2", "2", "1", "1", extra), NULL, NULL,
	            &errs);
	if (rc != 0)
		fail_msg("lo2 run exited %d:\n%s", rc, errs);
	read_manifest(dir, &m);
	assert_string_equal(m.status, "complete");
	for (size_t i = 0; i < m.n_tests; i++) {
		struct run_test *t = &m.tests[i];

		if (strcmp(t->tag, "hang") == 0) {
			assert_int_equal(t->status, RUN_TEST_FAILED);
			assert_non_null(t->failure);
			assert_non_null(strstr(t->failure, "did not end within its run time (2s) + 1s"));
			assert_string_equal(t->locust_stopped, "SIGTERM");
			/* stopped at the deadline (3 s), then SIGTERM 5 s later */
			assert_true(t->end_ns - t->start_ns < 12 * LO2_NS_PER_SEC);
			failed++;
		} else {
			assert_int_equal(t->status, RUN_TEST_COMPLETE);
			complete++;
		}
	}
	assert_int_equal(failed, 1);
	assert_int_equal(complete, 1);
	run_manifest_free(&m);
	tu_rm_rf(tmp);
	free(tmp);
	free(dir);
	free(project);
	free(errs);
}

/* Counts "op-<n>" spans of a traces CSV into seen[n]. */
static void count_spans(const char *path, uint8_t *seen, size_t max, size_t *rows)
{
	char *text = tu_read(path, NULL);

	*rows = 0;
	for (char *save = NULL, *l = text ? strtok_r(text, "\n", &save) : NULL; l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *op = strstr(l, ",op-");
		unsigned long n = op ? strtoul(op + 4, NULL, 10) : 0;

		if (op == NULL)
			continue;
		assert_true(n > 0 && n < max);
		seen[n]++;
		(*rows)++;
	}
	free(text);
}

/* lo2 receives the run's spans itself: a service sends OTLP/JSON to ${LO2_OTLP_ENDPOINT}; every
 * span it sent is in the test's traces_<service>.csv or in _between, once; the test's record
 * counts its own. */
static void test_traces_received(void **state)
{
	char *tmp = tu_tmpdir(), *project = project_name("traces"), *text = NULL, *path;
	const char *extra[] = {"--traces-settle", "2", NULL};
	char *dir = xasprintf("%s/run", tmp), *go = xasprintf("%s/go", tmp), *gofile = xasprintf("%s/go", go);
	uint8_t seen[4096] = {0};
	size_t in_test = 0, between = 0, sent = 0;
	struct run_manifest m;
	struct lo2_json *sec = NULL;
	int64_t spans = -1;
	char *errs = NULL;
	int rc;

	assert_int_equal(mkdir(go, 0777), 0);
	setenv("GO_DIR", go, 1);
	setenv("LO2_STANDIN_GO", gofile, 1);
	rc = tu_run(core_argv(CORE "/traced.yml", project, dir, "first", "6", "6", "1", "1", extra), NULL,
	            NULL, &errs);
	unsetenv("LO2_STANDIN_GO");
	if (rc != 0)
		fail_msg("lo2 run exited %d:\n%s", rc, errs);
	path = xasprintf("%s/first/metrics/traces_traced.csv", dir);
	count_spans(path, seen, sizeof(seen), &in_test);
	free(path);
	path = xasprintf("%s/_between/s1-traces/traces_traced.csv", dir);
	count_spans(path, seen, sizeof(seen), &between);
	free(path);
	assert_true(in_test > 10);
	/* what the service says it sent (its log, across the run's files) */
	path = xasprintf("%s/first/%s-traced-1.log.gz", dir, project);
	text = tu_read(path, NULL);
	for (char *save = NULL, *l = text ? strtok_r(text, "\n", &save) : NULL; l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *p = strstr(l, " sent ");
		unsigned long n = p ? strtoul(p + 6, NULL, 10) : 0;

		if (n == 0)
			continue;
		assert_true(n < sizeof(seen));
		if (seen[n] != 1)
			fail_msg("span op-%lu was sent during the test and is in the run %u times", n,
			         seen[n]);
		sent++;
	}
	assert_true(sent > 10);
	for (size_t n = 1; n < sizeof(seen); n++)
		assert_true(seen[n] <= 1);
	read_manifest(dir, &m);
	assert_int_equal(lo2_json_parse(lo2_kvv_get(&m.tests[0].sections, "traces"), "traces", &sec, NULL),
	                 0);
	assert_true(lo2_json_int(lo2_json_get(sec, "spans"), &spans));
	assert_int_equal(spans, (int64_t)in_test);
	lo2_json_free(sec);
	run_manifest_free(&m);
	tu_rm_rf(tmp);
	free(tmp);
	free(text);
	free(path);
	free(dir);
	free(go);
	free(gofile);
	free(project);
	free(errs);
}

/* kill -9 in the second test, then --resume: the first test's traces stay as committed, and the
 * receiver comes back: the redone test receives spans again. */
static void test_traces_after_kill(void **state)
{
	char *tmp = tu_tmpdir(), *project = project_name("tracekill"), *errs = NULL;
	const char *extra[] = {"--traces-settle", "1", NULL};
	char *dir = xasprintf("%s/run", tmp), *go = xasprintf("%s/go", tmp), *gofile = xasprintf("%s/go", go);
	char *log = xasprintf("%s/lo2.out", tmp), *runlog = xasprintf("%s/run/run_log.log", tmp);
	struct run_manifest m;
	int status, rc;
	pid_t pid;

	assert_int_equal(mkdir(go, 0777), 0);
	setenv("GO_DIR", go, 1);
	setenv("LO2_STANDIN_GO", gofile, 1);
	pid = tu_spawn(core_argv(CORE "/traced.yml", project, dir, "first,second", "4", "4", "1", "1", extra),
	               log);
	/* inside the second test: the first is complete once the second starts */
	assert_true(tu_wait_for_count(runlog, "Starting locust test", 2, 120));
	usleep(1500 * 1000);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	rc = tu_lo2_run(NULL, &errs, "run", "--resume", dir, NULL);
	unsetenv("LO2_STANDIN_GO");
	if (rc != 0)
		fail_msg("lo2 run --resume exited %d:\n%s", rc, errs);
	read_manifest(dir, &m);
	assert_string_equal(m.status, "complete");
	for (size_t i = 0; i < m.n_tests; i++) {
		struct lo2_json *sec = NULL;
		int64_t spans = 0;
		bool csv = false;

		assert_int_equal(m.tests[i].status, RUN_TEST_COMPLETE);
		assert_int_equal(
		    lo2_json_parse(lo2_kvv_get(&m.tests[i].sections, "traces"), "traces", &sec, NULL), 0);
		assert_true(lo2_json_int(lo2_json_get(sec, "spans"), &spans));
		assert_true(spans > 5);
		for (size_t f = 0; f < m.tests[i].files.n; f++)
			csv = csv ||
			      lo2_str_has_suffix(m.tests[i].files.v[f].path, "/metrics/traces_traced.csv");
		assert_true(csv);
		lo2_json_free(sec);
	}
	assert_int_equal(m.tests[0].session + m.tests[1].session, 3); /* one test per session */
	run_manifest_free(&m);
	summary_ok(dir);
	tu_rm_rf(tmp);
	free(tmp);
	free(dir);
	free(go);
	free(gofile);
	free(log);
	free(runlog);
	free(project);
	free(errs);
}

/* Prometheus is ready (every target scraped after the deploy) before the first test begins: the
 * first test's node-exporter series covers its whole window, second by second. */
static void test_first_test_measured(void **state)
{
	char *tmp = tu_tmpdir(), *dir = xasprintf("%s/run", tmp), *project = project_name("prom"),
	     *errs = NULL;
	const char *compose = LO2_FIXTURES "/run/prom/docker-compose.yml";
	char port[16], *url, *path, *text;
	const char *extra[] = {"--prometheus-url", NULL, NULL};
	struct lo2_json *doc = NULL;
	const struct lo2_json *values;
	struct run_manifest m;
	int64_t first = 0, last = 0;
	double v = 0;
	int rc;

	snprintf(port, sizeof(port), "%d", tu_free_port());
	setenv("PROM_PORT", port, 1);
	url = xasprintf("http://127.0.0.1:%s", port);
	extra[1] = url;
	rc = tu_run(core_argv(compose, project, dir, "first", "6", "6", "1", "1", extra), NULL, NULL, &errs);
	if (rc != 0)
		fail_msg("lo2 run exited %d:\n%s", rc, errs);
	read_manifest(dir, &m);
	assert_string_equal(m.status, "complete");
	path = xasprintf("%s/first/metrics/metric_node_time_seconds.json", dir);
	text = tu_read(path, NULL);
	assert_non_null(text);
	assert_int_equal(lo2_json_parse(text, path, &doc, NULL), 0);
	values = lo2_json_get(lo2_json_at(doc, 0), "values");
	assert_true(lo2_json_len(values) > 0);
	assert_true(lo2_json_double(lo2_json_at(lo2_json_at(values, 0), 0), &v));
	first = (int64_t)v;
	assert_true(lo2_json_double(lo2_json_at(lo2_json_at(values, lo2_json_len(values) - 1), 0), &v));
	last = (int64_t)v;
	/* query_range at 1 s: a sample at every step of the window, first to last */
	assert_true(first <= m.tests[0].start_ns / LO2_NS_PER_SEC + 1);
	assert_true(last >= m.tests[0].end_ns / LO2_NS_PER_SEC - 1);
	assert_int_equal((int64_t)lo2_json_len(values), last - first + 1);
	lo2_json_free(doc);
	free(text);
	free(path);
	run_manifest_free(&m);
	tu_rm_rf(tmp);
	free(tmp);
	free(dir);
	free(project);
	free(url);
	free(errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact_windows),
	    cmocka_unit_test(test_flood_past_rotation),
	    cmocka_unit_test(test_restarts_followed),
	    cmocka_unit_test(test_hung_locust),
	    cmocka_unit_test(test_kill9_during_deploy),
	    cmocka_unit_test(test_kill9_during_test),
	    cmocka_unit_test(test_kill9_during_wait),
	    cmocka_unit_test(test_sigint_during_deploy),
	    cmocka_unit_test(test_sigterm_during_mysql_wait),
	    cmocka_unit_test(test_sighup_during_test),
	    cmocka_unit_test(test_sigint_during_fetch),
	    cmocka_unit_test(test_second_signal),
	    cmocka_unit_test(test_first_test_measured),
	    cmocka_unit_test(test_traces_received),
	    cmocka_unit_test(test_traces_after_kill),
	};

	tu_engine();
	tu_require_image("lo2-test/busybox:latest");
	tu_require_image("lo2-lab/prometheus:latest");
	tu_require_image("lo2-lab/node-exporter:latest");
	return tu_run_tests(tests);
}
