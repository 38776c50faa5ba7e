/* test_run.c - run/ building blocks: tag discovery on fixture locustfiles (quoting variants,
 * multi-line decorators, hostile names) and the seeded schedule (reproducible, in range). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

#include "common/file.h"
#include "run/locust.h"
#include "run/run.h"

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
	assert_string_equal(err.msg, "hostile.py:4: invalid tag name \"../../etc\": contains a path separator");
	assert_int_equal(run_tags_from_source("@tag('error', 'a\\x01b')", "x.py", &tags, &err), 0);
	assert_int_equal(run_tags_from_source("@tag('error', 'bad\ttab')", "y.py", &tags, &err), -1);
	assert_string_equal(err.msg, "y.py:1: invalid tag name \"bad\\x09tab\": contains a control character");
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
	struct run_locust_opts o = {.locust_dir = "/srv/locust", .main_file = "locust_main.py", .users = 7,
				    .spawn_rate = 7, .host_url = "http://127.0.0.1:6882", .tag = "get_token_404",
				    .run_time_s = 20, .out_dir = dir, .command = LO2_FIXTURES "/run/fake-locust",
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
	want = xasprintf("args: --locustfile=/srv/locust/locust_main.py --headless --only-summary --users=7 "
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_discover),
		cmocka_unit_test(test_hostile_tag),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_locust_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
