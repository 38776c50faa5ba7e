/* test_campaign.c - `lo2 campaign` on real engines of this machine: two extra Docker engines,
 * each on a test host of its own (a network namespace with a veth address, its own dockerd with
 * TLS on tcp; scripts/test-engines), loaded with the test image through lo2's image save/load.
 * A campaign of 4 short runs gives 2 runs to each engine, every run complete with its derived
 * seed; an engine whose daemon is killed during a run loses that run, which is retried, and the
 * campaign completes; lo2 killed with SIGKILL mid-campaign and resumed completes every run
 * exactly once. The engines are torn down at the end, also when a test fails. */
#include "testutil.h"

#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "campaign/campaign.h"
#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/time.h"
#include "compose/compose.h"
#include "engine/engine.h"

#define CORE LO2_FIXTURES "/run/core"
#define STANDIN LO2_FIXTURES "/run/stand-in-locust"
#define ENGINES_SCRIPT LO2_SOURCE_DIR "/scripts/test-engines"

static char engines_dir[64];
static char net[32];
static char *work;
static bool engines_up;

struct eng {
	char host[128], addr[64], gw[64], dir[128];
};
static struct eng eng[2];

static void engines_down(void)
{
	const char *argv[] = {ENGINES_SCRIPT, "down", engines_dir, NULL};

	if (!engines_up)
		return;
	engines_up = false;
	tu_run(argv, NULL, NULL, NULL);
}

static void read_env(struct eng *e, int i)
{
	lo2_autofree char *p = xasprintf("%s/%d/env", engines_dir, i);
	char *text = tu_read(p, NULL);

	assert_non_null(text);
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (lo2_str_has_prefix(l, "ENGINE_HOST="))
			snprintf(e->host, sizeof(e->host), "%s", l + 12);
		else if (lo2_str_has_prefix(l, "ENGINE_ADDR="))
			snprintf(e->addr, sizeof(e->addr), "%s", l + 12);
		else if (lo2_str_has_prefix(l, "ENGINE_GW="))
			snprintf(e->gw, sizeof(e->gw), "%s", l + 10);
	}
	snprintf(e->dir, sizeof(e->dir), "%s/%d", engines_dir, i);
	free(text);
}

static int group_setup(void **state)
{
	const char *tools[] = {"dockerd", "nsenter", "ip", "openssl", "fuse-overlayfs"};
	char *out = NULL, *err = NULL;
	int rc;

	(void)state;
	tu_engine();
	tu_require_image("lo2-test/busybox:latest");
	if (geteuid() != 0)
		tu_unavailable("the extra engines need root (network namespaces, dockerd)");
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		const char *argv[] = {"sh", "-c", "command -v \"$0\" >/dev/null", tools[i], NULL};

		if (tu_run(argv, NULL, NULL, NULL) != 0) {
			char why[128];

			snprintf(why, sizeof(why), "%s is not installed (the extra engines need it)",
			         tools[i]);
			tu_unavailable(why);
		}
	}
	snprintf(engines_dir, sizeof(engines_dir), "/tmp/lo2e.%d", (int)getpid());
	/* a /24 of its own per test process: 192.168.200-249 */
	snprintf(net, sizeof(net), "192.168.%d", 200 + (int)getpid() % 50);
	setenv("LO2", tu_lo2(), 1);
	atexit(engines_down);
	engines_up = true;
	{
		const char *argv[] = {ENGINES_SCRIPT, "up", engines_dir, "2", net, NULL};

		rc = tu_run(argv, NULL, &out, &err);
	}
	if (rc != 0) {
		fprintf(stderr, "test-engines up: %s%s\n", out ? out : "", err ? err : "");
		engines_down();
		tu_unavailable("the extra engines could not start (scripts/test-engines up)");
	}
	free(out);
	free(err);
	{
		const char *argv[] = {ENGINES_SCRIPT, "load", engines_dir, "lo2-test/busybox:latest", NULL};

		rc = tu_run(argv, NULL, NULL, &err);
	}
	if (rc != 0) {
		fprintf(stderr, "test-engines load: %s\n", err ? err : "");
		free(err);
		engines_down();
		fail_msg("loading the test image into the extra engines failed");
	}
	free(err);
	read_env(&eng[0], 1);
	read_env(&eng[1], 2);
	work = tu_tmpdir();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	engines_down();
	if (work)
		tu_rm_rf(work);
	free(work);
	return 0;
}

/* A lo2.yml with the first `engines` of the extra engines. */
static char *write_config_n(const char *name, int runs, int dur, int engines)
{
	char *path = xasprintf("%s/%s.yml", work, name);
	lo2_autofree char *text = NULL, *list = xstrdup("");
	struct lo2_err err = {0};

	for (int i = 0; i < engines; i++) {
		char *more =
		    xasprintf("%s"
		              "    - name: %c\n"
		              "      host: %s\n"
		              "      tls: {ca: %s/ca.pem, cert: %s/cert.pem, key: %s/key.pem}\n"
		              "      settings: {traces.listen: \"%s:0\"}\n",
		              list, 'a' + i, eng[i].host, eng[i].dir, eng[i].dir, eng[i].dir, eng[i].gw);

		free(list);
		list = more;
	}
	text = xasprintf("compose_file: %s/docker-compose.yml\n"
	                 "project: campaign-%s\n"
	                 "locust: {folder: %s/locust, command: %s, host: \"http://{engine_host}:8089\"}\n"
	                 "mysql: {service: \"\"}\n"
	                 "prometheus: {url: \"\"}\n"
	                 "timestamps: true\n"
	                 "tags: [correct, first]\n"
	                 "durations: {min: %d, max: %d}\n"
	                 "waits: {min: 1, max: 1}\n"
	                 "campaign:\n"
	                 "  runs: %d\n"
	                 "  backoff_max: 2\n"
	                 "  engines:\n%s",
	                 CORE, name, CORE, STANDIN, dur, dur, runs, list);
	if (lo2_write_file_atomic(path, text, strlen(text), &err) < 0)
		fail_msg("%s", err.msg);
	return path;
}

/* A lo2.yml with the campaign's two engines (TLS material and per-engine settings) and the small
 * busybox stack run with the stand-in Locust. */
static char *write_config(const char *name, int runs, int dur)
{
	return write_config_n(name, runs, dur, 2);
}

static struct lo2_json *read_json(const char *path)
{
	char *text = tu_read(path, NULL);
	struct lo2_json *doc = NULL;
	struct lo2_err err = {0};

	if (text == NULL)
		fail_msg("%s is missing", path);
	if (lo2_json_parse(text, path, &doc, &err) < 0)
		fail_msg("%s", err.msg);
	free(text);
	return doc;
}

static uint64_t seed_of(const struct lo2_json *o)
{
	const char *s = lo2_json_str(lo2_json_get(o, "seed"));

	assert_non_null(s);
	return strtoull(s, NULL, 10);
}

/* Every run complete, its seed derived from the campaign's, its folder a valid run on the engine
 * the manifest names, and exactly one run folder per run at the dataset's top level. */
static void check_dataset(const char *ds, int runs, int *per_engine)
{
	lo2_autofree char *mp = xasprintf("%s/campaign.json", ds);
	struct lo2_json *m = read_json(mp);
	const struct lo2_json *rs = lo2_json_get(m, "runs");
	uint64_t cseed = seed_of(m);
	int top = 0;
	DIR *d;
	struct dirent *de;

	assert_string_equal(lo2_json_str(lo2_json_get(m, "status")), "complete");
	assert_int_equal(lo2_json_len(rs), runs);
	per_engine[0] = per_engine[1] = 0;
	for (int k = 1; k <= runs; k++) {
		const struct lo2_json *r = lo2_json_at(rs, (size_t)k - 1);
		const char *dir = lo2_json_str(lo2_json_get(r, "dir"));
		const char *en = lo2_json_str(lo2_json_get(r, "engine"));
		lo2_autofree char *rdir = NULL, *rj = NULL, *want = NULL;
		struct lo2_json *run;
		char *out = NULL;

		assert_string_equal(lo2_json_str(lo2_json_get(r, "status")), "complete");
		assert_true(seed_of(r) == campaign_run_seed(cseed, k));
		assert_non_null(dir);
		assert_non_null(en);
		want = xasprintf("run_%d_%s", k, en);
		assert_string_equal(dir, want);
		per_engine[strcmp(en, "a") == 0 ? 0 : 1]++;
		rdir = xasprintf("%s/%s", ds, dir);
		rj = xasprintf("%s/run.json", rdir);
		run = read_json(rj);
		assert_string_equal(lo2_json_str(lo2_json_get(run, "status")), "complete");
		assert_true(seed_of(run) == seed_of(r));
		/* the engine it ran on, in its run.json */
		assert_string_equal(
		    lo2_json_str(lo2_json_path(run, "collectors", "campaign", "engine", NULL)), en);
		assert_string_equal(lo2_json_str(lo2_json_path(run, "engine", "host", NULL)),
		                    en[0] == 'a' ? eng[0].host : eng[1].host);
		lo2_json_free(run);
		if (tu_lo2_run(&out, NULL, "summary", rdir, NULL) != 0)
			fail_msg("lo2 summary %s: %s", rdir, out ? out : "");
		free(out);
	}
	d = opendir(ds);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		top += lo2_str_has_prefix(de->d_name, "run_");
	closedir(d);
	assert_int_equal(top, runs);
	lo2_json_free(m);
}

static void test_four_runs_two_engines(void **state)
{
	lo2_autofree char *cfg = write_config("four", 4, 3);
	lo2_autofree char *ds = xasprintf("%s/four", work);
	lo2_autofree char *loc = NULL;
	char *out = NULL, *err = NULL, *sum = NULL;
	int per[2];
	int rc;

	(void)state;
	rc = tu_lo2_run(&out, &err, "campaign", "-c", cfg, "--seed", "20261130", "-o", ds, NULL);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err ? err : "");
		fail_msg("lo2 campaign ended with %d (its output above)", rc);
	}
	check_dataset(ds, 4, per);
	assert_int_equal(per[0], 2);
	assert_int_equal(per[1], 2);
	/* {engine_host} is the engine's address: Locust was pointed at it */
	for (int e = 0; e < 2; e++) {
		lo2_autofree char *want = xasprintf("http://%s:8089", eng[e].addr);
		char *text;

		free(loc);
		loc = NULL;
		for (int k = 1; k <= 4 && loc == NULL; k++) {
			char *p = xasprintf("%s/run_%d_%s/correct/locust.log", ds, k, e ? "b" : "a");

			if (access(p, R_OK) == 0)
				loc = p;
			else
				free(p);
		}
		assert_non_null(loc);
		text = tu_read(loc, NULL);
		assert_non_null(text);
		if (strstr(text, want) == NULL)
			fail_msg("%s does not hold %s: %s", loc, want, text);
		free(text);
	}
	assert_int_equal(tu_lo2_run(&sum, NULL, "summary", ds, NULL), 0);
	assert_non_null(strstr(sum, "complete          4"));
	assert_non_null(strstr(sum, "all files of every complete run match"));
	free(sum);
	free(out);
	free(err);
}

/* Waits until a line of the file at path starts with prefix and holds needle (true). */
static bool log_has(const char *path, const char *prefix, const char *needle, int timeout_s)
{
	int64_t until = lo2_mono_ns() + (int64_t)timeout_s * LO2_NS_PER_SEC;

	while (lo2_mono_ns() < until) {
		char *text = tu_read(path, NULL);
		bool found = false;

		for (char *save = NULL, *l = text ? strtok_r(text, "\n", &save) : NULL; l && !found;
		     l = strtok_r(NULL, "\n", &save))
			found = lo2_str_has_prefix(l, prefix) && strstr(l, needle) != NULL;
		free(text);
		if (found)
			return true;
		usleep(100000);
	}
	return false;
}

/* Waits for lo2 (pid) to end within timeout_s; its exit status, or -1 after killing it. */
static int wait_exit(int pid, int timeout_s)
{
	int64_t until = lo2_mono_ns() + (int64_t)timeout_s * LO2_NS_PER_SEC;
	int st = 0;

	while (lo2_mono_ns() < until) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static void engines_cmd(const char *cmd, const char *i)
{
	const char *argv[] = {ENGINES_SCRIPT, cmd, engines_dir, i, NULL};
	char *err = NULL;

	if (tu_run(argv, NULL, NULL, &err) != 0)
		fail_msg("test-engines %s %s: %s", cmd, i, err ? err : "");
	free(err);
}

static void test_engine_killed_mid_run(void **state)
{
	lo2_autofree char *cfg = write_config("kill", 3, 6);
	lo2_autofree char *ds = xasprintf("%s/kill", work);
	lo2_autofree char *log = xasprintf("%s/kill.log", work);
	lo2_autofree char *mp = xasprintf("%s/campaign.json", ds);
	const char *argv[] = {tu_lo2(), "campaign", "-c", cfg, "--seed", "7", "-o", ds, NULL};
	const struct lo2_json *rs, *engines;
	struct lo2_json *m;
	bool lost = false;
	int per[2], pid, rc;

	(void)state;
	pid = tu_spawn(argv, log);
	/* engine a is in the load of its first test: its daemon dies */
	if (!log_has(log, "[a] ", "Starting locust test", 90)) {
		kill(pid, SIGKILL);
		fail_msg("the campaign did not start a test on engine a");
	}
	engines_cmd("kill", "1");
	if (!tu_wait_for_text(log, "is unreachable", 60)) {
		kill(pid, SIGKILL);
		fail_msg("lo2 did not notice that engine a is gone");
	}
	sleep(3);
	engines_cmd("start", "1");
	rc = wait_exit(pid, 300);
	if (rc != 0) {
		char *text = tu_read(log, NULL);

		fprintf(stderr, "%s\n", text ? text : "");
		fail_msg("lo2 campaign ended with %d (its output above)", rc);
	}
	check_dataset(ds, 3, per);
	/* the manifest tells the story: a run lost with engine a, retried, complete */
	m = read_json(mp);
	rs = lo2_json_get(m, "runs");
	for (size_t i = 0; i < lo2_json_len(rs); i++) {
		const struct lo2_json *atts = lo2_json_get(lo2_json_at(rs, i), "attempts");

		for (size_t a = 0; a < lo2_json_len(atts); a++) {
			const struct lo2_json *at = lo2_json_at(atts, a);
			const char *e = lo2_json_str(lo2_json_get(at, "error"));

			printf("run %zu attempt %zu: engine %s, %s%s%s\n", i + 1, a + 1,
			       lo2_json_str(lo2_json_get(at, "engine")),
			       lo2_json_str(lo2_json_get(at, "status")), e ? ": " : "", e ? e : "");
			if (strcmp(lo2_json_str(lo2_json_get(at, "status")), "engine-lost") == 0) {
				lost = true;
				assert_string_equal(lo2_json_str(lo2_json_get(at, "engine")), "a");
				assert_non_null(
				    strstr(lo2_json_str(lo2_json_get(at, "error")), "unreachable"));
				assert_true(a + 1 < lo2_json_len(atts)); /* retried */
			}
		}
	}
	assert_true(lost);
	engines = lo2_json_get(m, "engines");
	assert_string_equal(lo2_json_str(lo2_json_get(lo2_json_at(engines, 0), "status")), "up");
	lo2_json_free(m);
	{
		char *text = tu_read(log, NULL);

		assert_non_null(strstr(text, "is back"));
		free(text);
	}
}

static void test_resume_after_kill9(void **state)
{
	lo2_autofree char *cfg = write_config("resume", 4, 5);
	lo2_autofree char *ds = xasprintf("%s/resume", work);
	lo2_autofree char *log = xasprintf("%s/resume.log", work);
	lo2_autofree char *mp = xasprintf("%s/campaign.json", ds);
	const char *argv[] = {tu_lo2(), "campaign", "-c", cfg, "--seed", "99", "-o", ds, NULL};
	struct lo2_json *m;
	const struct lo2_json *rs;
	char *err = NULL;
	int per[2], pid, rc, killed = 0, resumed = 0;

	(void)state;
	pid = tu_spawn(argv, log);
	/* both engines in the middle of their first run */
	if (!log_has(log, "[a] ", "Finished locust test", 90) ||
	    !log_has(log, "[b] ", "Finished locust test", 90)) {
		kill(pid, SIGKILL);
		fail_msg("the campaign did not start");
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	rc = tu_lo2_run(NULL, &err, "campaign", "--resume", ds, NULL);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err ? err : "");
		fail_msg("lo2 campaign --resume ended with %d (its output above)", rc);
	}
	free(err);
	check_dataset(ds, 4, per);
	m = read_json(mp);
	rs = lo2_json_get(m, "runs");
	for (size_t i = 0; i < lo2_json_len(rs); i++) {
		const struct lo2_json *atts = lo2_json_get(lo2_json_at(rs, i), "attempts");
		int complete = 0;

		for (size_t a = 0; a < lo2_json_len(atts); a++) {
			const struct lo2_json *at = lo2_json_at(atts, a);
			const char *st = lo2_json_str(lo2_json_get(at, "status"));

			complete += strcmp(st, "complete") == 0;
			if (strcmp(st, "killed") != 0)
				continue;
			killed++;
			/* its engine still had the containers: continued in the same folder */
			assert_true(a + 1 < lo2_json_len(atts));
			if (strcmp(lo2_json_str(lo2_json_get(at, "dir")),
			           lo2_json_str(lo2_json_get(lo2_json_at(atts, a + 1), "dir"))) == 0) {
				/* its run.json has the killed session and the one that completed it */
				lo2_autofree char *rj =
				    xasprintf("%s/%s/run.json", ds, lo2_json_str(lo2_json_get(at, "dir")));
				struct lo2_json *run = read_json(rj);

				assert_int_equal(lo2_json_len(lo2_json_get(run, "sessions")), 2);
				lo2_json_free(run);
				resumed++;
			}
		}
		assert_int_equal(complete, 1);
	}
	assert_true(killed >= 2);
	assert_int_equal(resumed, killed);
	lo2_json_free(m);
}

static void test_sigint_stops_every_run(void **state)
{
	lo2_autofree char *cfg = write_config("sigint", 2, 30);
	lo2_autofree char *ds = xasprintf("%s/sigint", work);
	lo2_autofree char *log = xasprintf("%s/sigint.log", work);
	lo2_autofree char *mp = xasprintf("%s/campaign.json", ds);
	const char *argv[] = {tu_lo2(), "campaign", "-c", cfg, "-o", ds, NULL};
	const struct lo2_json *rs;
	struct lo2_json *m;
	int64_t t0;
	int pid, rc;

	(void)state;
	pid = tu_spawn(argv, log);
	if (!log_has(log, "[a] ", "Starting locust test", 90) ||
	    !log_has(log, "[b] ", "Starting locust test", 90)) {
		kill(pid, SIGKILL);
		fail_msg("the campaign did not start a test on both engines");
	}
	t0 = lo2_mono_ns();
	kill(pid, SIGINT);
	rc = wait_exit(pid, 60);
	assert_int_equal(rc, 1);
	/* both runs stopped and torn down, well before their 30 s tests would have ended */
	assert_true(lo2_mono_ns() - t0 < 20 * LO2_NS_PER_SEC);
	m = read_json(mp);
	assert_string_equal(lo2_json_str(lo2_json_get(m, "status")), "interrupted");
	rs = lo2_json_get(m, "runs");
	for (size_t i = 0; i < lo2_json_len(rs); i++) {
		const struct lo2_json *r = lo2_json_at(rs, i);
		const char *en = lo2_json_str(lo2_json_get(r, "engine"));
		lo2_autofree char *rj = xasprintf("%s/%s/run.json", ds, lo2_json_str(lo2_json_get(r, "dir")));
		lo2_autofree char *sock =
		    xasprintf("unix://%s/docker.sock", en[0] == 'a' ? eng[0].dir : eng[1].dir);
		struct lo2_json *run = read_json(rj);
		struct compose_ps ps = {0};
		struct engine *e = NULL;
		struct lo2_err err = {0};

		assert_string_equal(lo2_json_str(lo2_json_get(run, "status")), "interrupted");
		lo2_json_free(run);
		if (engine_open(sock, &e, &err) < 0)
			fail_msg("%s", err.msg);
		assert_int_equal(compose_ps(e, "campaign-sigint", &ps, &err), 0);
		assert_int_equal(ps.n, 0);
		compose_ps_free(&ps);
		engine_free(e);
	}
	lo2_json_free(m);
}

/* Two runs at once on one engine: distinct projects, both complete. */
static void test_per_engine_two_projects(void **state)
{
	lo2_autofree char *cfg = write_config_n("per", 2, 4, 1);
	lo2_autofree char *ds = xasprintf("%s/per", work);
	lo2_autofree char *mp = xasprintf("%s/campaign.json", ds);
	const struct lo2_json *rs, *r1, *r2;
	struct lo2_json *m;
	char *err = NULL;
	int64_t s1 = 0, e1 = 0, s2 = 0, e2 = 0;
	int rc;

	(void)state;
	rc = tu_lo2_run(NULL, &err, "campaign", "-c", cfg, "--per-engine", "2", "-o", ds, NULL);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err ? err : "");
		fail_msg("lo2 campaign ended with %d (its output above)", rc);
	}
	free(err);
	m = read_json(mp);
	assert_string_equal(lo2_json_str(lo2_json_get(m, "status")), "complete");
	rs = lo2_json_get(m, "runs");
	r1 = lo2_json_at(rs, 0);
	r2 = lo2_json_at(rs, 1);
	assert_string_equal(lo2_json_str(lo2_json_get(r1, "engine")), "a");
	assert_string_equal(lo2_json_str(lo2_json_get(r2, "engine")), "a");
	assert_string_not_equal(lo2_json_str(lo2_json_get(r1, "project")),
	                        lo2_json_str(lo2_json_get(r2, "project")));
	assert_true(lo2_str_has_suffix(lo2_json_str(lo2_json_get(r1, "project")), "-campaign-per"));
	/* at once: each started before the other ended */
	lo2_json_int(lo2_json_get(r1, "started_ns"), &s1);
	lo2_json_int(lo2_json_get(r1, "ended_ns"), &e1);
	lo2_json_int(lo2_json_get(r2, "started_ns"), &s2);
	lo2_json_int(lo2_json_get(r2, "ended_ns"), &e2);
	assert_true(s1 < e2 && s2 < e1);
	lo2_json_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_four_runs_two_engines),   cmocka_unit_test(test_engine_killed_mid_run),
	    cmocka_unit_test(test_resume_after_kill9),      cmocka_unit_test(test_sigint_stops_every_run),
	    cmocka_unit_test(test_per_engine_two_projects),
	};

	tu_filter();
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
