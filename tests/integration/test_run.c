/* test_run.c - run/ on the real engine: Locust as a container (a stand-in script in the busybox
 * image), with the locust folder and the test folder bind-mounted and the stats read back. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "engine/engine.h"
#include "run/locust.h"

static void test_locust_container(void **state)
{
	char *dir = tu_tmpdir();
	struct lo2_strv ep = {0};
	struct lo2_kvv labels = {0};
	struct run_locust_opts o = {.locust_dir = LO2_FIXTURES "/run",
	                            .main_file = "locust_main.py",
	                            .users = 3,
	                            .spawn_rate = 3,
	                            .tag = "correct",
	                            .run_time_s = 1,
	                            .out_dir = dir,
	                            .image = "lo2-test/busybox:latest",
	                            .entrypoint = &ep,
	                            .labels = &labels};
	struct run_locust_result res;
	struct lo2_err err = {0};
	char *log = xasprintf("%s/locust.log", dir), *text;

	lo2_strv_push(&ep, "sh");
	lo2_strv_push(&ep, "/mnt/locust/fake-locust");
	lo2_kvv_set(&labels, TU_LABEL, tu_run_id());
	if (run_locust(tu_engine(), &o, &res, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(res.exit_code, 0);
	assert_true(res.have_counts);
	assert_int_equal(res.requests, 42);
	text = tu_read(log, NULL);
	assert_string_equal(
	    text, "args: --locustfile=/mnt/locust/locust_main.py --headless --only-summary --users=3 "
	          "--spawn-rate=3 --run-time=1s --tags correct --logfile=/mnt/out/locust.log "
	          "--csv=/mnt/out/locust\n");
	free(text);
	o.tag = "fail_me";
	assert_int_equal(run_locust(tu_engine(), &o, &res, &err), 0);
	assert_int_equal(res.exit_code, 1);
	lo2_strv_free(&ep);
	lo2_kvv_free(&labels);
	tu_rm_rf(dir);
	free(dir);
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_locust_container),
	};

	tu_engine();
	tu_require_image("lo2-test/busybox:latest");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
