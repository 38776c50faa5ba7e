/* test_run.c - run/ building blocks: tag discovery on fixture locustfiles (quoting variants,
 * multi-line decorators, hostile names) and the seeded schedule (reproducible, in range). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

#include "common/file.h"
#include "run/config.h"
#include "run/locust.h"
#include "run/manifest.h"
#include "run/run.h"
#include "run/stats.h"

static void test_discover(void **state)
{
	struct lo2_strv tags = {0};
	struct lo2_err err = {0};
	const char *want[] = {"access_token_auth_header_error_401",
	                      "code_verifier_too_long_pkce_400",
	                      "correct",
	                      "delete_user_404_no_user",
	                      "get_client_404_no_client",
	                      "inside_a_string_still_counts",
	                      "register_user_400_password_no_match"};

	assert_int_equal(run_tags_discover(LO2_FIXTURES "/run/locust", &tags, &err), 0);
	assert_int_equal(tags.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < tags.n; i++)
		assert_string_equal(tags.v[i], want[i]);
	lo2_strv_free(&tags);
}

static void test_hostile_tag(void **state)
{
	struct lo2_strv tags = {0};
	struct lo2_err err = {0};
	char *text = NULL;

	assert_int_equal(lo2_read_file(LO2_FIXTURES "/run/hostile.py", 4096, &text, NULL, &err), 0);
	assert_int_equal(run_tags_from_source(text, "hostile.py", &tags, &err), -1);
	assert_string_equal(err.msg,
	                    "hostile.py:4: invalid tag name \"../../etc\": contains a path separator");
	assert_int_equal(run_tags_from_source("@tag('error', 'a\\x01b')", "x.py", &tags, &err), 0);
	assert_int_equal(run_tags_from_source("@tag('error', 'bad\ttab')", "y.py", &tags, &err), -1);
	assert_string_equal(err.msg,
	                    "y.py:1: invalid tag name \"bad\\x09tab\": contains a control character");
	assert_int_equal(run_tags_discover("/nonexistent-lo2", &tags, &err), -1);
	assert_string_equal(err.msg, "read locustfile folder /nonexistent-lo2: No such file or directory");
	lo2_strv_free(&tags);
	free(text);
}

static void test_schedule(void **state)
{
	struct lo2_strv tags = {0}, reversed = {0};
	struct run_schedule a, b, c;
	const char *names[] = {"correct", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"};
	bool differs = false;

	for (size_t i = 0; i < 10; i++) {
		lo2_strv_push(&tags, names[i]);
		lo2_strv_push(&reversed, names[9 - i]);
	}
	run_schedule_make(&tags, 1739743201, 20, 180, 1, 5, &a);
	/* The order tags were found in does not matter, only the seed. */
	run_schedule_make(&reversed, 1739743201, 20, 180, 1, 5, &b);
	run_schedule_make(&tags, 1739743202, 20, 180, 1, 5, &c);
	assert_int_equal(a.n, 10);
	for (size_t i = 0; i < a.n; i++) {
		assert_string_equal(a.tests[i].tag, b.tests[i].tag);
		assert_int_equal(a.tests[i].duration_s, b.tests[i].duration_s);
		assert_int_equal(a.tests[i].wait_s, b.tests[i].wait_s);
		assert_in_range(a.tests[i].duration_s, 20, 180);
		assert_in_range(a.tests[i].wait_s, 1, 5);
		differs |= strcmp(a.tests[i].tag, c.tests[i].tag) != 0;
	}
	assert_true(differs);
	/* Golden values from an independent Python implementation of the same algorithm
	 * (xoshiro256** seeded by splitmix64, rejection sampling, Fisher-Yates from the end). */
	assert_string_equal(a.tests[0].tag, "t2");
	assert_int_equal(a.tests[0].duration_s, 59);
	assert_int_equal(a.tests[0].wait_s, 3);
	assert_string_equal(a.tests[1].tag, "t4");
	assert_int_equal(a.tests[1].duration_s, 50);
	assert_int_equal(a.tests[1].wait_s, 5);
	assert_string_equal(a.tests[2].tag, "t8");
	assert_int_equal(a.tests[2].duration_s, 170);
	run_schedule_free(&a);
	run_schedule_free(&b);
	run_schedule_free(&c);
	lo2_strv_free(&tags);
	lo2_strv_free(&reversed);
}

static void test_locust_process(void **state)
{
	char *dir = tu_tmpdir();
	struct lo2_strv extra = {0};
	struct run_locust_opts o = {.locust_dir = "/srv/locust",
	                            .main_file = "locust_main.py",
	                            .users = 7,
	                            .spawn_rate = 7,
	                            .host_url = "http://127.0.0.1:6882",
	                            .tag = "get_token_404",
	                            .run_time_s = 20,
	                            .out_dir = dir,
	                            .command = LO2_FIXTURES "/run/fake-locust",
	                            .extra_args = &extra};
	struct run_locust_result res;
	struct lo2_err err = {0};
	char *log = xasprintf("%s/locust.log", dir), *text, *want;

	lo2_strv_push(&extra, "--stop-timeout=5");
	assert_int_equal(run_locust(NULL, &o, &res, &err), 0);
	assert_int_equal(res.exit_code, 0);
	assert_true(res.have_counts);
	assert_int_equal(res.requests, 42);
	assert_int_equal(res.failures, 7);
	assert_true(res.end_ns >= res.start_ns && res.start_ns > 0);
	text = tu_read(log, NULL);
	want = xasprintf(
	    "args: --locustfile=/srv/locust/locust_main.py --headless --only-summary --users=7 "
	    "--spawn-rate=7 --host=http://127.0.0.1:6882 --run-time=20s --tags correct get_token_404 "
	    "--logfile=%s/locust.log --csv=%s/locust --stop-timeout=5\n",
	    dir, dir);
	assert_string_equal(text, want);
	free(text);
	free(want);
	o.tag = "fail_me";
	assert_int_equal(run_locust(NULL, &o, &res, &err), 0);
	assert_int_equal(res.exit_code, 1);
	o.command = "/nonexistent/locust";
	assert_int_equal(run_locust(NULL, &o, &res, &err), -1);
	assert_string_equal(err.msg, "run Locust for tag fail_me: start Locust (/nonexistent/locust): "
	                             "No such file or directory");
	lo2_strv_free(&extra);
	tu_rm_rf(dir);
	free(dir);
	free(log);
}

static void test_manifest_roundtrip(void **state)
{
	char *dir = tu_tmpdir();
	char *path = xasprintf("%s/run.json", dir), *again = xasprintf("%s/again.json", dir);
	char *file = xasprintf("%s/t1/app.log.gz", dir), *sub = xasprintf("%s/t1", dir);
	struct lo2_strv tags = {0};
	struct run_schedule s;
	struct run_manifest m, r;
	struct lo2_err err = {0};
	char *a, *b;

	lo2_strv_push(&tags, "correct");
	lo2_strv_push(&tags, "t1");
	run_schedule_make(&tags, UINT64_C(18446744073709551557), 20, 30, 1, 5, &s);
	run_manifest_init(&m, &s);
	m.lo2_version = xstrdup("0.1.0");
	m.project = xstrdup("lo2-lab");
	lo2_kvv_set(&m.images, "lo2-lab-mysqldb-1", "sha256:abc");
	m.tests[0].status = RUN_TEST_COMPLETE;
	m.tests[0].start_ns = 1700000000123456789LL;
	m.tests[0].end_ns = 1700000020123456789LL;
	m.tests[0].locust_exit = 1;
	m.tests[0].have_counts = true;
	m.tests[0].requests = 4242;
	m.tests[0].failures = 17;
	assert_int_equal(lo2_mkdir_p(sub, 0755, &err), 0);
	assert_int_equal(lo2_write_file_atomic(file, "abc", 3, &err), 0);
	assert_int_equal(run_manifest_add_file(&m.tests[0], dir, "t1/app.log.gz", &err), 0);
	run_manifest_add_event(&m.tests[0], 1700000001000000000LL, "lo2-lab-app-1", "die", "137");
	lo2_strv_push(&m.tests[0].errors, "metric x: 400 Bad Request");
	/* what the run core adds: sessions, collector sections, attempts, gap, failure */
	run_manifest_add_session(&m, 1700000000000000000LL)->pid = 42;
	run_manifest_add_session(&m, 1700000100000000000LL)->recovered_lines = 147;
	lo2_kvv_set(&m.sections, "logs", "{\"containers\":{\"abc\":{\"committed\":[17,2]}}}");
	lo2_kvv_set(&m.tests[0].sections, "stats", "[1,2.5,\"x\"]");
	m.tests[0].gap_s = 3.25;
	m.tests[1].failure = xstrdup("Locust did not end");
	m.tests[1].status = RUN_TEST_FAILED;
	m.tests[1].load_tag = xstrdup("correct");
	m.tests[1].attempts = xcalloc(1, sizeof(*m.tests[1].attempts));
	m.tests[1].n_attempts = 1;
	m.tests[1].attempts[0].dir = xstrdup("t1.incomplete-1");
	m.tests[1].attempts[0].session = 1;
	assert_int_equal(run_files_add(&m.tests[1].attempts[0].files, dir, "t1/app.log.gz", &err), 0);
	assert_int_equal(run_manifest_write(&m, path, &err), 0);
	assert_int_equal(run_manifest_read(path, &r, &err), 0);
	assert_true(r.seed == UINT64_C(18446744073709551557));
	assert_int_equal(r.n_tests, 2);
	assert_string_equal(r.tests[0].tag, m.tests[0].tag);
	assert_int_equal(r.tests[0].status, RUN_TEST_COMPLETE);
	assert_int_equal(r.tests[0].end_ns, 1700000020123456789LL);
	assert_int_equal(r.tests[0].requests, 4242);
	assert_int_equal(r.tests[0].files.v[0].size, 3);
	assert_string_equal(r.tests[0].files.v[0].sha256,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(r.n_sessions, 2);
	assert_int_equal(r.sessions[1].number, 2);
	assert_int_equal(r.sessions[0].pid, 42);
	assert_int_equal(r.sessions[1].recovered_lines, 147);
	assert_string_equal(r.sessions[1].how, "running");
	assert_string_equal(lo2_kvv_get(&r.sections, "logs"),
	                    "{\"containers\":{\"abc\":{\"committed\":[17,2]}}}");
	assert_string_equal(lo2_kvv_get(&r.tests[0].sections, "stats"), "[1,2.5,\"x\"]");
	assert_true(r.tests[0].gap_s == 3.25);
	assert_int_equal(r.tests[1].status, RUN_TEST_FAILED);
	assert_string_equal(r.tests[1].failure, "Locust did not end");
	assert_string_equal(run_test_load_tag(&r.tests[1]), "correct");
	assert_string_equal(run_test_load_tag(&r.tests[0]), r.tests[0].tag);
	assert_int_equal(r.tests[1].n_attempts, 1);
	assert_string_equal(r.tests[1].attempts[0].dir, "t1.incomplete-1");
	assert_int_equal(r.tests[1].attempts[0].files.n, 1);
	assert_string_equal(r.tests[0].events[0].exit_code, "137");
	assert_string_equal(lo2_kvv_get(&r.images, "lo2-lab-mysqldb-1"), "sha256:abc");
	/* Reading and writing again gives the same bytes. */
	assert_int_equal(run_manifest_write(&r, again, &err), 0);
	a = tu_read(path, NULL);
	b = tu_read(again, NULL);
	assert_string_equal(a, b);
	free(a);
	free(b);
	run_manifest_free(&r);
	assert_int_equal(lo2_write_file_atomic(again, "{\"tests\": 3}", 12, &err), 0);
	assert_int_equal(run_manifest_read(again, &r, &err), -1);
	assert_true(strstr(err.msg, "no seed or tests: not a run.json of lo2") != NULL);
	run_manifest_free(&m);
	run_schedule_free(&s);
	lo2_strv_free(&tags);
	tu_rm_rf(dir);
	free(dir);
	free(path);
	free(again);
	free(file);
	free(sub);
}

static void test_config(void **state)
{
	struct run_config c;
	struct lo2_err err = {0};
	bool takes = false;
	uint64_t seed = 0;

	run_config_defaults(&c);
	assert_string_equal(c.compose_file, "docker-compose.yml");
	assert_int_equal(c.duration_min, 20);
	assert_int_equal(c.duration_max, 180);
	assert_true(c.compress);
	assert_int_equal(run_config_load(LO2_FIXTURES "/run/config/lo2.yml", &c, &err), 0);
	/* Relative paths are taken from the config file's folder. */
	assert_string_equal(c.compose_file, LO2_FIXTURES "/run/config/../lab/docker-compose.yml");
	assert_string_equal(c.mysql_init_sql, LO2_FIXTURES "/run/config/mysql/create_mysql.sql");
	assert_string_equal(c.project, "lo2-lab");
	assert_int_equal(c.mysql_timeout, 120);
	assert_int_equal(c.locust_users, 3);
	assert_int_equal(c.locust_extra_args.n, 2);
	assert_string_equal(c.locust_extra_args.v[1], "--reset-stats");
	assert_int_equal(c.duration_max, 30);
	assert_false(c.compress);
	assert_int_equal(c.tags.n, 2);
	assert_int_equal(run_config_seed(&c, &seed, &err), 0);
	assert_true(seed == 42);
	/* Flags override the file. */
	assert_int_equal(run_config_flag(&c, "--locust-users", "9", &takes, &err), 0);
	assert_true(takes);
	assert_int_equal(c.locust_users, 9);
	assert_int_equal(run_config_flag(&c, "--durations-max=45", NULL, &takes, &err), 0);
	assert_false(takes);
	assert_int_equal(c.duration_max, 45);
	assert_int_equal(run_config_flag(&c, "--keep", NULL, &takes, &err), 0);
	assert_true(c.keep);
	assert_int_equal(run_config_flag(&c, "--tags", "a,b,c", &takes, &err), 0);
	assert_int_equal(c.tags.n, 3);
	assert_int_equal(run_config_flag(&c, "--locust-users", "many", &takes, &err), -1);
	assert_string_equal(err.msg, "option '--locust-users': \"many\" is not a whole number");
	assert_int_equal(err.kind, LO2_E_USAGE);
	assert_int_equal(run_config_flag(&c, "--no-such", "1", &takes, &err), -1);
	assert_string_equal(err.msg, "unknown option '--no-such'");
	assert_int_equal(run_config_check(&c, &err), 0);
	{
		/* The saved settings read back to the same values (what --resume relies on). */
		char *dir = tu_tmpdir(), *path = xasprintf("%s/run_config.yml", dir);
		struct run_config back;

		free(c.locust_host);
		c.locust_host = xstrdup("http://a\"b\\c:1");
		assert_int_equal(run_config_write(&c, path, &err), 0);
		run_config_defaults(&back);
		assert_int_equal(run_config_load(path, &back, &err), 0);
		assert_string_equal(back.compose_file, c.compose_file);
		assert_string_equal(back.locust_host, "http://a\"b\\c:1");
		assert_int_equal(back.locust_users, 9);
		assert_int_equal(back.tags.n, 3);
		assert_string_equal(back.tags.v[2], "c");
		assert_true(back.keep);
		assert_false(back.compress);
		assert_string_equal(back.seed, "42");
		run_config_free(&back);
		tu_rm_rf(dir);
		free(dir);
		free(path);
	}
	c.wait_min = 9;
	assert_int_equal(run_config_check(&c, &err), -1);
	assert_string_equal(err.msg, "waits: max 5 is below min 9");
	run_config_free(&c);

	run_config_defaults(&c);
	assert_int_equal(run_config_load(LO2_FIXTURES "/run/config/unknown.yml", &c, &err), -1);
	assert_string_equal(err.msg,
	                    LO2_FIXTURES "/run/config/unknown.yml:3:3: unknown setting \"mysql.colour\"");
	assert_int_equal(run_config_load(LO2_FIXTURES "/run/config/badvalue.yml", &c, &err), -1);
	assert_string_equal(err.msg, LO2_FIXTURES
	                    "/run/config/badvalue.yml:2:8: durations.min: expected a whole number");
	run_config_free(&c);
}

/* The stats files' arithmetic, by hand: CPU nanoseconds between readings (a counter that went
 * down restarted from zero), exact seconds from nanoseconds. */
static void test_stats_arithmetic(void **state)
{
	static const struct {
		uint64_t ns;
		const char *text;
	} secs[] = {{2532865170ULL, "2.53286517"},
	            {5000000000ULL, "5"},
	            {0, "0"},
	            {1, "0.000000001"},
	            {100215355, "0.100215355"},
	            {18446744073709551615ULL, "18446744073.709551615"}};
	char out[48];
	bool reset = true;

	/* a busy second: 0.98 s of CPU between two samples */
	assert_int_equal(run_stats_cpu_delta(1000000000ULL, true, 1980000000ULL, &reset), 980000000ULL);
	assert_false(reset);
	assert_int_equal(run_stats_cpu_delta(0, false, 1980000000ULL, &reset), 0);
	assert_false(reset);
	/* restarted: 2.5 s before, 0.03 s into its new cgroup */
	assert_int_equal(run_stats_cpu_delta(2500000000ULL, true, 30000000ULL, &reset), 30000000ULL);
	assert_true(reset);
	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
		run_stats_fmt_value(secs[i].ns, true, out, sizeof(out));
		assert_string_equal(out, secs[i].text);
	}
	run_stats_fmt_value(67108864, false, out, sizeof(out));
	assert_string_equal(out, "67108864");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_discover),           cmocka_unit_test(test_hostile_tag),
	    cmocka_unit_test(test_schedule),           cmocka_unit_test(test_locust_process),
	    cmocka_unit_test(test_manifest_roundtrip), cmocka_unit_test(test_config),
	    cmocka_unit_test(test_stats_arithmetic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
