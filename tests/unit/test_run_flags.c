/* test_run_flags.c - lo2 run's boolean flags: --X, --no-X, --X=false and --X false all work,
 * and --help says so; `lo2 run` without a settings file says that. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/config.h"

static void test_bool_flag_forms(void **state)
{
	struct run_config c;
	struct lo2_err err = {0};
	bool takes = false;

	run_config_defaults(&c);
	assert_true(c.compress);
	/* --compress false: the next word is the value, and is consumed. */
	assert_int_equal(run_config_flag(&c, "--compress", "false", &takes, &err), 0);
	assert_true(takes);
	assert_false(c.compress);
	assert_int_equal(run_config_flag(&c, "--compress", "--keep", &takes, &err), 0);
	assert_false(takes);
	assert_true(c.compress);
	assert_int_equal(run_config_flag(&c, "--no-compress", "--keep", &takes, &err), 0);
	assert_false(takes);
	assert_false(c.compress);
	assert_int_equal(run_config_flag(&c, "--compress=yes", "off", &takes, &err), 0);
	assert_false(takes);
	assert_true(c.compress);
	assert_int_equal(run_config_flag(&c, "--compress=false", NULL, &takes, &err), 0);
	assert_false(c.compress);
	assert_int_equal(run_config_flag(&c, "--keep", NULL, &takes, &err), 0);
	assert_true(c.keep);
	assert_int_equal(run_config_flag(&c, "--keep", "0", &takes, &err), 0);
	assert_true(takes);
	assert_false(c.keep);
	assert_true(run_config_flag_is_bool("--no-keep"));
	/* --no- only negates a true/false option, and takes no "=". */
	assert_int_equal(run_config_flag(&c, "--no-tags", NULL, &takes, &err), -1);
	assert_string_equal(err.msg, "unknown option '--no-tags'");
	assert_int_equal(run_config_flag(&c, "--no-compress=true", NULL, &takes, &err), -1);
	assert_int_equal(run_config_flag(&c, "--compress=maybe", NULL, &takes, &err), -1);
	assert_string_equal(err.msg, "option '--compress=maybe': \"maybe\" is not true or false");
	run_config_free(&c);
}

static void test_help_shows_bool_forms(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	run_config_help(f);
	fclose(f);
	assert_non_null(strstr(text, "  --compress, --no-compress "));
	assert_non_null(strstr(text, "A true/false option takes --X, --no-X, --X=false or --X false"));
	free(text);
}

/* In a folder without lo2.yml and without -c: say so, not "read locustfile folder locust". */
static void test_no_settings_file(void **state)
{
	char *dir = tu_tmpdir(), *out = NULL, *err = NULL;
	char *cwd = getcwd(NULL, 0);
	int rc;

	assert_int_equal(chdir(dir), 0);
	rc = tu_lo2_run(&out, &err, "run", "--tags", "correct", NULL);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(rc, 2);
	assert_string_equal(err, "lo2 run: no settings file: no -c FILE was given and there is no lo2.yml in "
	                         "this folder; give one with -c FILE (its keys are the --options), or name "
	                         "the stack with --compose-file and --locust-folder\n"
	                         "Run 'lo2 run --help' for usage.\n");
	tu_rm_rf(dir);
	free(dir);
	free(cwd);
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bool_flag_forms),
	    cmocka_unit_test(test_help_shows_bool_forms),
	    cmocka_unit_test(test_no_settings_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
