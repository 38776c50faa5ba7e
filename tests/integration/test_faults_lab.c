/* test_faults_lab.c - fault tests on the lab stack end to end (light-oauth2's API, Locust's load):
 * a pause of the token service shows in Locust's response times of its requests (their maximum
 * near the pause, several times the correct test's) and no line of the service inside the
 * window; 200 ms of netem delay on it raises the median of its requests by at least 150 ms
 * (skipped where the kernel has no sch_netem). The lab runs without published ports (its fixed
 * ports may be another session's), Locust on the project network, under a project of its own. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "run/manifest.h"

#define LAB LO2_SOURCE_DIR "/compose-files/lab"
#define TOKEN "POST,/oauth2/token@post,"

struct lab {
	char *tmp, *dir, *project;
	struct run_manifest m;
};

static struct lab lab;

static int setup(void **state)
{
	char *errs = NULL, *mp, *compose, *network, *prom = NULL;
	struct lo2_err err = {0};
	int rc;

	lab.tmp = tu_tmpdir();
	lab.dir = xasprintf("%s/run", lab.tmp);
	lab.project = xasprintf("faults%s-lab", tu_run_id());
	compose = tu_lab_compose_without_ports(lab.tmp, &prom);
	network = xasprintf("%s_default", lab.project);
	rc = tu_lo2_run(NULL, &errs, "run", "-c", LAB "/lo2.yml", "--project", lab.project, "--compose-file",
	                compose, "--prometheus-url", prom, "--locust-network", network, "--locust-host",
	                "https://oauth2-token:6882", "--tags",
	                "correct,fault_pause_oauth2-token,fault_network_oauth2-token", "--fault",
	                "pause=oauth2-token,onset=6,duration=6", "--fault",
	                "network=oauth2-token,delay=200ms,jitter=20ms,onset=1,duration=18", "--durations-min",
	                "20", "--durations-max", "20", "--waits-min", "1", "--waits-max", "1", "--seed", "7",
	                "--timestamps", "--output", lab.dir, NULL);
	free(compose);
	free(network);
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

static char *test_file(const char *tag, const char *name)
{
	char *p = xasprintf("%s/%s/%s", lab.dir, tag, name), *text = tu_read(p, NULL);

	if (text == NULL)
		fail_msg("no %s", p);
	free(p);
	return text;
}

/* Column col (0-based) of the token service's row in a test's locust_stats.csv. */
static double token_stat(const char *tag, int col)
{
	char *text = test_file(tag, "locust_stats.csv"), *row = strstr(text, "\n" TOKEN), *p;
	double v;

	if (row == NULL)
		fail_msg("%s: no token requests in locust_stats.csv", tag);
	p = row + 1;
	for (int i = 0; i < col && p; i++) {
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
	assert_non_null(p);
	v = atof(p);
	free(text);
	return v;
}

static struct lo2_json *fault_of(const char *tag)
{
	char *text = test_file(tag, "fault.json");
	struct lo2_json *j = NULL;
	struct lo2_err err = {0};

	if (lo2_json_parse(text, tag, &j, &err) < 0)
		fail_msg("%s", err.msg);
	free(text);
	return j;
}

static void test_pause_token(void **state)
{
	struct lo2_json *f = fault_of("fault_pause_oauth2-token");
	double max_fault = token_stat("fault_pause_oauth2-token", 7), max_ok = token_stat("correct", 7);
	char *name = xasprintf("%s-oauth2-token-1.log.gz", lab.project);
	char *log = test_file("fault_pause_oauth2-token", name), *save = NULL;
	int64_t onset = 0, recovery = 0;
	size_t inside = 0, lines = 0;

	lo2_json_int(lo2_json_get(f, "onset_ns"), &onset);
	lo2_json_int(lo2_json_get(f, "recovery_ns"), &recovery);
	assert_true(lo2_json_is_true(lo2_json_get(f, "reverted")));
	printf("token requests' max response time: %.0f ms paused, %.0f ms correct\n", max_fault, max_ok);
	assert_true(max_fault >= 3000);
	assert_true(max_fault > 3 * max_ok);
	/* --timestamps: the engine's time of each line first */
	for (char *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(l, ' ');
		int64_t t;

		if (sp == NULL)
			continue;
		*sp = '\0';
		if (lo2_time_parse(l, &t, NULL) < 0)
			continue;
		lines++;
		inside += t > onset + 300 * 1000 * 1000 && t < recovery - 300 * 1000 * 1000;
	}
	assert_true(lines > 10);
	assert_int_equal(inside, 0);
	lo2_json_free(f);
	free(name);
	free(log);
}

static void test_network_token(void **state)
{
	struct lo2_json *f = fault_of("fault_network_oauth2-token");
	const char *e = lo2_json_str(lo2_json_get(lo2_json_at(lo2_json_get(f, "actions"), 0), "error"));
	double med_fault, med_ok;

	if (e && strstr(e, "qdisc kind is unknown")) {
		printf("SKIP: this kernel has no sch_netem (tc: %s)\n", e);
		lo2_json_free(f);
		skip();
	}
	med_fault = token_stat("fault_network_oauth2-token", 4);
	med_ok = token_stat("correct", 4);
	printf("token requests' median: %.0f ms delayed, %.0f ms correct\n", med_fault, med_ok);
	assert_true(med_fault >= med_ok + 150);
	lo2_json_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pause_token),
	    cmocka_unit_test(test_network_token),
	};
	const char *images[] = {"lo2-lab/mariadb:latest",       "lo2-lab/prometheus:latest",
	                        "lo2-lab/node-exporter:latest", "lo2-lab/locust:latest",
	                        "lo2-lab/oauth2:latest",        "lo2-lab/faults:latest"};

	tu_engine();
	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++)
		tu_require_image(images[i]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
