/* test_lab.c - the lab stack end to end: `lo2 run` of three tags with the lab's locustfiles
 * (Locust on the host's network, https://localhost:688x as LO2's locustfiles), each tag's
 * answers (its light-4j error code in the right service's ERROR lines and in Locust's failures,
 * none for correct), then the run exported: --format lo2 read by LogLead's LO2Loader (a venv
 * under build/, made by tests/loglead-venv), --format tables read back by Python. One run serves
 * every check. The lab publishes fixed ports: while another session's stack holds one (under
 * CI=true after a minute's wait), the test runs a copy of the compose file without published
 * ports, with Locust on the project network, and checks the same. Every container's engine
 * stats are in every test, one sample a second. Its project name is its own (t<id>-light-oauth2, the
 * containers still named *-oauth2-oauth2-*). */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "run/manifest.h"

#define LAB LO2_SOURCE_DIR "/compose-files/lab"
#define TAGS "correct,get_client_404_no_client,code_verifier_missing_pkce_400"
#define VENV LO2_SOURCE_DIR "/build/venv-loglead"

/* The error tags of TAGS: the service that answers, its code and status. */
static const struct {
	const char *tag, *service, *code, *status;
} expect[] = {
    {"get_client_404_no_client", "oauth2-client", "ERR12014", "404"},
    {"code_verifier_missing_pkce_400", "oauth2-token", "ERR12040", "400"},
};

static const int ports[] = {6881, 6882, 6883, 6884, 6885, 6886, 6887, 3306, 9090, 9100};

struct lab {
	char *tmp, *dir, *project;
	struct run_manifest m;
};

static struct lab lab;

static bool under_ci(void)
{
	const char *ci = getenv("CI");

	return ci && *ci && strcmp(ci, "false") != 0 && strcmp(ci, "0") != 0;
}

static bool port_busy(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), rc;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
	close(fd);
	return rc == 0;
}

/* Waits at most secs for the lab's fixed ports to be free; -1 when one is still taken. */
static int wait_ports(int secs)
{
	int64_t deadline = lo2_mono_ns() + secs * LO2_NS_PER_SEC;

	for (;;) {
		int busy = 0;

		for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]) && !busy; i++)
			busy = port_busy(ports[i]) ? ports[i] : 0;
		if (!busy)
			return 0;
		if (lo2_mono_ns() >= deadline) {
			fprintf(stderr, "test_lab: 127.0.0.1:%d is taken (another lab stack?)\n", busy);
			return -1;
		}
		fprintf(stderr, "test_lab: 127.0.0.1:%d is taken (another lab stack?); waiting\n", busy);
		sleep(10);
	}
}

/* lo2 run of TAGS into lab.dir; with compose (a port-less copy), Locust on the project network. */
static int lab_run(const char *compose, const char *prom, char **errs)
{
	char *network = xasprintf("%s_default", lab.project);
	int rc;

	tu_rm_rf(lab.dir);
	if (compose)
		rc = tu_lo2_run(NULL, errs, "run", "-c", LAB "/lo2.yml", "--project", lab.project,
		                "--compose-file", compose, "--prometheus-url", prom, "--locust-network",
		                network, "--locust-host", "https://oauth2-token:6882", "--tags", TAGS,
		                "--durations-min", "20", "--durations-max", "22", "--waits-min", "1",
		                "--waits-max", "1", "--seed", "7", "--output", lab.dir, NULL);
	else
		rc = tu_lo2_run(NULL, errs, "run", "-c", LAB "/lo2.yml", "--project", lab.project, "--tags",
		                TAGS, "--durations-min", "20", "--durations-max", "22", "--waits-min", "1",
		                "--waits-max", "1", "--seed", "7", "--output", lab.dir, NULL);
	free(network);
	return rc;
}

static int setup(void **state)
{
	char *errs = NULL, *mp, *compose = NULL, *prom = NULL;
	struct lo2_err err = {0};
	int rc;

	lab.tmp = tu_tmpdir();
	lab.dir = xasprintf("%s/LO2_run_1", lab.tmp);
	lab.project = xasprintf("t%s-light-oauth2", tu_run_id());
	/* Other sessions' lab stacks come and go on the fixed ports of this shared machine: when one
	 * holds them (after a minute's wait under CI), run without published ports instead. */
	if (wait_ports(under_ci() ? 60 : 0) < 0) {
		fprintf(stderr, "test_lab: running without published ports, Locust on the project network\n");
		compose = tu_lab_compose_without_ports(lab.tmp, &prom);
	}
	rc = lab_run(compose, prom, &errs);
	if (rc != 0 && !compose && strstr(errs, "port is already allocated")) {
		fprintf(stderr,
		        "test_lab: a lab port was taken during the deploy; again without published ports\n");
		tu_lo2_run(NULL, NULL, "down", "-f", LAB "/docker-compose.yml", "-p", lab.project, "-v",
		           NULL);
		free(errs);
		errs = NULL;
		compose = tu_lab_compose_without_ports(lab.tmp, &prom);
		rc = lab_run(compose, prom, &errs);
	}
	free(compose);
	free(prom);
	if (rc != 0) {
		fprintf(stderr, "lo2 run exited %d:\n%s", rc, errs);
		free(errs);
		return -1;
	}
	free(errs);
	mp = xasprintf("%s/run.json", lab.dir);
	rc = run_manifest_read(mp, &lab.m, &err);
	free(mp);
	if (rc < 0)
		fprintf(stderr, "%s\n", err.msg);
	return rc;
}

static int teardown(void **state)
{
	tu_lo2_run(NULL, NULL, "down", "-f", LAB "/docker-compose.yml", "-p", lab.project, "-v", NULL);
	run_manifest_free(&lab.m);
	tu_rm_rf(lab.tmp);
	free(lab.tmp);
	free(lab.dir);
	free(lab.project);
	return 0;
}

static const struct run_test *test_of(const char *tag)
{
	for (size_t i = 0; i < lab.m.n_tests; i++)
		if (strcmp(lab.m.tests[i].tag, tag) == 0)
			return &lab.m.tests[i];
	fail_msg("no test %s in run.json", tag);
	return NULL;
}

/* The file <run>/<test>/<name> (gunzipped when it ends in .gz). */
static char *read_test_file(const char *test, const char *name)
{
	char *p = xasprintf("%s/%s/%s", lab.dir, test, name), *t = tu_read(p, NULL);

	if (!t)
		fail_msg("%s/%s is missing", test, name);
	free(p);
	return t;
}

/* The lines of text holding " ERROR " all hold code; true when there is at least one. */
static bool errors_all_have(char *text, const char *code, const char *file)
{
	int n = 0;

	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strstr(line, " ERROR "))
			continue;
		if (!strstr(line, code))
			fail_msg("%s: an ERROR line without %s: %s", file, code, line);
		n++;
	}
	return n > 0;
}

static void test_answers(void **state)
{
	static const char *services[] = {"code", "token", "service",      "client",
	                                 "user", "key",   "refresh-token"};
	const struct run_test *t = test_of("correct");

	assert_string_equal(lab.m.status, "complete");
	assert_int_equal(lab.m.n_tests, 3);
	/* correct: every request answered as expected, no ERROR line anywhere */
	assert_int_equal(t->status, RUN_TEST_COMPLETE);
	assert_int_equal(t->locust_exit, 0);
	assert_true(t->requests > 20);
	assert_int_equal(t->failures, 0);
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		char *name = xasprintf("%s-oauth2-%s-1.log.gz", lab.project, services[i]);
		char *log = read_test_file("correct", name);

		free(name);
		if (strstr(log, " ERROR "))
			fail_msg("correct: an ERROR line in oauth2-%s's log", services[i]);
		free(log);
	}
	/* each error tag: its code in its service's ERROR lines and in Locust's failures */
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		char *svc = xasprintf("%s-%s-1.log.gz", lab.project, expect[i].service);
		char *log = read_test_file(expect[i].tag, svc);
		char *failures = read_test_file(expect[i].tag, "locust_failures.csv");
		char *want = xasprintf("%s %s as expected", expect[i].code, expect[i].status);

		t = test_of(expect[i].tag);
		assert_int_equal(t->status, RUN_TEST_COMPLETE);
		if (!errors_all_have(log, expect[i].code, expect[i].tag))
			fail_msg("%s: no ERROR line with %s in %s's log", expect[i].tag, expect[i].code,
			         expect[i].service);
		if (!strstr(failures, want) || strstr(failures, "UNEXPECTED"))
			fail_msg("%s: Locust's failures do not say \"%s\" only:\n%s", expect[i].tag, want,
			         failures);
		assert_true(t->failures > 0);
		assert_int_equal(t->locust_exit, 1);
		free(svc);
		free(log);
		free(failures);
		free(want);
	}
}

/* Exports the run; prints lo2 export's report (time, files) for the log. */
static char *export_as(const char *format)
{
	char *out = xasprintf("%s/export-%s", lab.tmp, format), *report = NULL, *errs = NULL;
	int rc = tu_lo2_run(&report, &errs, "export", lab.dir, "-o", out, "--format", format, NULL);

	if (rc != 0)
		fail_msg("lo2 export --format %s exited %d:\n%s", format, rc, errs);
	printf("%s", report);
	free(report);
	free(errs);
	return out;
}

static void test_loglead(void **state)
{
	const char *setup_argv[] = {LO2_SOURCE_DIR "/tests/loglead-venv", VENV, NULL};
	const char *check[] = {VENV "/bin/python", LO2_SOURCE_DIR "/tests/loglead_check.py", NULL, NULL};
	char *errs = NULL, *out = NULL, *dir;
	int rc = tu_run(setup_argv, NULL, NULL, &errs);

	if (rc != 0) {
		if (under_ci())
			fail_msg("LogLead's venv could not be made:\n%s", errs);
		printf("skipped: LogLead's venv could not be made (CI=true makes this a failure):\n%s", errs);
		free(errs);
		skip();
	}
	free(errs);
	dir = export_as("lo2");
	check[2] = dir;
	rc = tu_run(check, NULL, &out, &errs);
	if (rc != 0)
		fail_msg("LogLead's LO2Loader on the export:\n%s%s", out, errs);
	printf("LogLead: %s", out);
	free(out);
	free(errs);
	free(dir);
}

static void test_tables(void **state)
{
	char *dir = export_as("tables"), *out = NULL, *errs = NULL;
	const char *check[] = {"python3", LO2_SOURCE_DIR "/tests/tables_check.py", lab.dir, dir, NULL};
	int rc = tu_run(check, NULL, &out, &errs);

	if (rc != 0)
		fail_msg("tables_check.py:\n%s%s", out, errs);
	printf("tables: %s", out);
	free(out);
	free(errs);
	free(dir);
}

/* The lab is traced end to end and lo2 received it all: for every test, each request a service
 * logged is one server span of it, a task's requests form one trace across services, and SQL
 * spans are children of their request's span (tests/lab_traces_check.py). */
static void test_traces(void **state)
{
	for (size_t i = 0; i < lab.m.n_tests; i++) {
		const char *check[] = {"python3",
		                       LO2_SOURCE_DIR "/tests/lab_traces_check.py",
		                       lab.dir,
		                       lab.project,
		                       lab.m.tests[i].tag,
		                       NULL};
		char *out = NULL, *errs = NULL;

		if (tu_run(check, NULL, &out, &errs) != 0)
			fail_msg("lab_traces_check.py %s:\n%s%s", lab.m.tests[i].tag, out, errs);
		free(out);
		free(errs);
	}
}

/* Per-container engine stats: in every test, every container that logged (and Locust's, when it
 * ran as one) has a series in the test's metric_lo2_container_*.json, at most one sample a second
 * and none missed: no two samples more than 2.5 s apart, and a sample in at least 90 % of the
 * window's seconds. (The engine samples every 1.05-1.1 s here, every container in turn, so 95 %
 * of the seconds is what an idle engine gives, not what lo2 can promise; run.json's stats section
 * and bench/stats-bench give the share.) No stats errors; lo2 summary shows them. */
static void test_stats(void **state)
{
	char *out = NULL, *errs = NULL, *needle;

	for (size_t i = 0; i < lab.m.n_tests; i++) {
		const struct run_test *t = &lab.m.tests[i];
		char *text =
		    read_test_file(t->tag, "metrics/metric_lo2_container_cpu_usage_seconds_total.json");
		double start = (double)t->start_ns / 1e9, end = (double)t->end_ns / 1e9;
		long window = (long)(end - start);
		struct lo2_json *doc = NULL;
		struct lo2_err err = {0};
		size_t checked = 0;

		for (size_t e = 0; e < t->errors.n; e++)
			if (lo2_str_has_prefix(t->errors.v[e], "stats"))
				fail_msg("%s: %s", t->tag, t->errors.v[e]);
		assert_int_equal(lo2_json_parse(text, "cpu file", &doc, &err), 0);
		for (size_t f = 0; f < t->files.n; f++) {
			const char *base = strrchr(t->files.v[f].path, '/') + 1;
			char *name;
			bool found = false;

			if (!lo2_str_has_suffix(base, ".log.gz") || strcmp(base, "locust.log.gz") == 0)
				continue;
			name = xstrndup(base, strlen(base) - 7);
			for (size_t k = 0; k < lo2_json_len(doc) && !found; k++) {
				const struct lo2_json *m = lo2_json_at(doc, k),
				                      *vs = lo2_json_get(m, "values");
				long seconds = 0, last = -1;
				double prev = 0, widest = 0;

				if (strcmp(lo2_json_str(lo2_json_path(m, "metric", "name", NULL)), name) != 0)
					continue;
				found = true;
				for (size_t p = 0; p < lo2_json_len(vs); p++) {
					double ts = 0;

					assert_true(lo2_json_double(lo2_json_at(lo2_json_at(vs, p), 0), &ts));
					/* times are written in ms, cut down: a sample in the window's first ms
					 * reads up to 1 ms before its start */
					assert_true(ts >= start - 0.001 && ts < end);
					seconds += (long)ts != last;
					last = (long)ts;
					if (p > 0 && ts - prev > widest)
						widest = ts - prev;
					prev = ts;
				}
				printf("%s %s: %ld of %ld seconds with a sample (%zu samples, widest gap "
				       "%.2f s)\n",
				       t->tag, name, seconds, window, lo2_json_len(vs), widest);
				assert_true(widest <= 2.5);
				assert_true(seconds * 100 >= window * 90);
				assert_true((long)lo2_json_len(vs) <= window + 2);
			}
			if (!found)
				fail_msg("%s: no stats of container %s", t->tag, name);
			checked++;
			free(name);
		}
		assert_true(checked >= 5);
		assert_non_null(lo2_kvv_get(&t->sections, "stats"));
		lo2_json_free(doc);
		free(text);
	}
	/* the run-level record: every container's starts, for stitching counters across restarts */
	needle = xasprintf("\"name\":\"%s-oauth2-token-1\",", lab.project);
	assert_non_null(lo2_kvv_get(&lab.m.sections, "stats"));
	assert_non_null(strstr(lo2_kvv_get(&lab.m.sections, "stats"), needle));
	assert_non_null(strstr(strstr(lo2_kvv_get(&lab.m.sections, "stats"), needle), ",\"start\"]"));
	free(needle);
	assert_int_equal(tu_lo2_run(&out, &errs, "summary", lab.dir, NULL), 0);
	needle = xasprintf("correct: engine stats over ");
	assert_non_null(strstr(out, needle));
	free(needle);
	needle = xasprintf("\n%s-oauth2-token-1 ", lab.project);
	assert_non_null(strstr(strstr(out, "correct: engine stats over "), needle));
	free(needle);
	free(out);
	free(errs);
}

static void test_dry_run_is_reproducible(void **state)
{
	char *a = NULL, *b = NULL;

	assert_int_equal(
	    tu_lo2_run(&a, NULL, "run", "-c", LAB "/lo2.yml", "--seed", "1739743201", "--dry-run", NULL), 0);
	assert_int_equal(
	    tu_lo2_run(&b, NULL, "run", "-c", LAB "/lo2.yml", "--seed", "1739743201", "--dry-run", NULL), 0);
	assert_string_equal(a, b);
	assert_true(lo2_str_has_prefix(a, "seed 1739743201\n"));
	/* LO2's 54 tags: correct and 53 error tags */
	assert_non_null(strstr(a, "54 tests"));
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest dry[] = {cmocka_unit_test(test_dry_run_is_reproducible)};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answers), cmocka_unit_test(test_loglead), cmocka_unit_test(test_tables),
	    cmocka_unit_test(test_traces),  cmocka_unit_test(test_stats),
	};
	const char *images[] = {"lo2-lab/mariadb:latest", "lo2-lab/prometheus:latest",
	                        "lo2-lab/node-exporter:latest", "lo2-lab/locust:latest",
	                        "lo2-lab/oauth2:latest"};
	int rc;

	tu_engine();
	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++)
		tu_require_image(images[i]);
	rc = cmocka_run_group_tests(dry, NULL, NULL);
	return rc | cmocka_run_group_tests(tests, setup, teardown);
}
