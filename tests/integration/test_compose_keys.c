/* test_compose_keys.c - issue 16's keys on the real engine, in one stack: extends from another
 * file, a profile left inactive, deploy.replicas with deploy.resources limits and a reservation,
 * secrets from a variable and from a file, a config from content:. Checks the containers that
 * exist, their limits (inspect), the secret files' content and mode inside a container, that
 * docker-compose ps lists them, and that down removes the files lo2 wrote. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mem.h"
#include "compose/compose.h"
#include "engine/engine.h"

#define IMAGE "lo2-test/busybox:latest"
#define DIR_ LO2_FIXTURES "/compose/keys_stack"
#define FILE_ DIR_ "/compose.yml"
#define BUILD_FILE DIR_ "/build.yml"

static char project[96];

static void cleanup_project(void)
{
	struct engine *e = tu_engine();
	struct lo2_err err = {0};

	tu_remove_project(project);
	compose_secrets_remove(project);
	{
		char *img = xasprintf("compose-keys-built:%s", tu_run_id());

		engine_image_remove(e, img, true, &err);
		free(img);
	}
	tu_cleanup();
}

static int group_setup(void **state)
{
	tu_engine();
	tu_require_image(IMAGE);
	snprintf(project, sizeof(project), "compose-keys-%s", tu_run_id());
	setenv("LO2_TEST_ID", tu_run_id(), 1);
	setenv("LO2_TEST_TOKEN", "token-from-env", 1);
	unsetenv("COMPOSE_PROFILES");
	return 0;
}

static int group_teardown(void **state)
{
	cleanup_project();
	return 0;
}

static void need_docker_cli(void)
{
	if (access("/usr/bin/docker", X_OK) != 0 && access("/usr/local/bin/docker", X_OK) != 0)
		tu_skip_or_fail("the docker CLI is not installed (the reference inspect needs it)");
}

/* Runs argv; fails on a non-zero exit; returns stdout with the trailing newline cut. */
static char *run_ok(const char *const argv[])
{
	char *out = NULL, *err = NULL;
	int rc = tu_run(argv, NULL, &out, &err);
	size_t n;

	if (rc != 0)
		fail_msg("%s %s: exit %d: %s", argv[0], argv[1], rc, err ? err : "");
	free(err);
	n = strlen(out);
	while (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
	return out;
}

static char *name_of(const char *svc, int n)
{
	return xasprintf("%s-%s-%d", project, svc, n);
}

static void test_compose_keys_up(void **state)
{
	char *out = NULL, *err = NULL;
	int rc = tu_lo2_run(&out, &err, "up", "-f", FILE_, "-p", project, "--wait", NULL);
	struct engine_container_info ci = {0};
	struct lo2_err e = {0};

	if (rc != 0)
		fail_msg("lo2 up: exit %d: %s", rc, err ? err : "");
	for (int n = 1; n <= 2; n++) {
		char *name = name_of("app", n);
		char num[8];

		snprintf(num, sizeof(num), "%d", n);
		assert_int_equal(engine_container_inspect(tu_engine(), name, &ci, &e), 0);
		assert_true(ci.running);
		assert_string_equal(lo2_kvv_get(&ci.labels, "com.docker.compose.service"), "app");
		assert_string_equal(lo2_kvv_get(&ci.labels, "com.docker.compose.container-number"), num);
		engine_container_info_free(&ci);
		free(name);
	}
	/* no third replica, and the debug profile is not active */
	{
		char *third = name_of("app", 3), *debug = name_of("debug", 1);

		assert_int_equal(engine_container_inspect(tu_engine(), third, &ci, &e), -1);
		assert_int_equal(e.kind, LO2_E_NOT_FOUND);
		assert_int_equal(engine_container_inspect(tu_engine(), debug, &ci, &e), -1);
		assert_int_equal(e.kind, LO2_E_NOT_FOUND);
		free(third);
		free(debug);
	}
	free(out);
	free(err);
}

static void test_compose_keys_limits(void **state)
{
	need_docker_cli();
	for (int n = 1; n <= 2; n++) {
		char *name = name_of("app", n);
		const char *argv[] = {
		    "docker",
		    "inspect",
		    "-f",
		    "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} "
		    "{{.HostConfig.MemoryReservation}}",
		    name,
		    NULL};
		char *out = run_ok(argv);

		assert_string_equal(out, "500000000 67108864 100 33554432");
		free(out);
		free(name);
	}
}

static void test_compose_keys_secrets(void **state)
{
	char *name = name_of("app", 2);
	const char *argv[] = {"docker",
	                      "exec",
	                      name,
	                      "sh",
	                      "-c",
	                      "cat /run/secrets/token; echo; stat -c %a /run/secrets/token; "
	                      "cat /run/secrets/api; cat /etc/app.conf",
	                      NULL};
	char *out;

	need_docker_cli();
	out = run_ok(argv);
	assert_string_equal(out, "token-from-env\n440\napi-from-file\ngreeting=hello");
	free(out);
	free(name);
}

static void test_compose_keys_docker_compose_ps(void **state)
{
	const char *argv[] = {"docker-compose", "-f", DIR_ "/ps-view.yml", "-p", project, "ps", NULL};
	char *out = NULL;

	if (access("/usr/bin/docker-compose", X_OK) != 0 &&
	    access("/usr/local/bin/docker-compose", X_OK) != 0)
		tu_skip_or_fail("docker-compose is not installed (the interoperability check needs it)");
	out = run_ok(argv);
	for (int n = 1; n <= 2; n++) {
		char *name = name_of("app", n);

		if (strstr(out, name) == NULL)
			fail_msg("docker-compose ps does not list %s:\n%s", name, out);
		free(name);
	}
	free(out);
}

/* Scaled down to one replica: the second container goes, the first stays as it was. */
static void test_compose_keys_scale_down(void **state)
{
	char *out = NULL, *err = NULL;
	char *one = name_of("app", 1), *two = name_of("app", 2);
	struct engine_container_info ci = {0};
	struct lo2_err e = {0};
	char *id_before;
	int rc;

	assert_int_equal(engine_container_inspect(tu_engine(), one, &ci, &e), 0);
	id_before = xstrdup(ci.id);
	engine_container_info_free(&ci);
	setenv("LO2_TEST_REPLICAS", "1", 1);
	rc = tu_lo2_run(&out, &err, "up", "-f", FILE_, "-p", project, NULL);
	unsetenv("LO2_TEST_REPLICAS");
	if (rc != 0)
		fail_msg("lo2 up: exit %d: %s", rc, err ? err : "");
	assert_int_equal(engine_container_inspect(tu_engine(), two, &ci, &e), -1);
	assert_int_equal(e.kind, LO2_E_NOT_FOUND);
	assert_int_equal(engine_container_inspect(tu_engine(), one, &ci, &e), 0);
	assert_string_equal(ci.id, id_before);
	engine_container_info_free(&ci);
	free(id_before);
	free(one);
	free(two);
	free(out);
	free(err);
}

static void test_compose_keys_down(void **state)
{
	char *out = NULL, *err = NULL;
	char *dir = compose_secrets_dir(project);
	int rc = tu_lo2_run(&out, &err, "down", "-f", FILE_, "-p", project, "-t", "1", NULL);

	if (rc != 0)
		fail_msg("lo2 down: exit %d: %s", rc, err ? err : "");
	assert_int_not_equal(access(dir, F_OK), 0);
	free(dir);
	free(out);
	free(err);
}

/* build: a target stage with args, labels and extra_hosts, through the shared build helper. */
static void test_compose_keys_build(void **state)
{
	char *out = NULL, *err = NULL;
	char *name = name_of("staged", 1);
	char *img = xasprintf("compose-keys-built:%s", tu_run_id());
	const char *logs[] = {"docker", "logs", name, NULL};
	const char *label[] = {"docker", "image", "inspect", "-f", "{{index .Config.Labels \"lo2.build\"}}",
	                       img,      NULL};
	int rc;
	char *text;
	int64_t code = -1;
	struct lo2_err e = {0};

	need_docker_cli();
	rc = tu_lo2_run(&out, &err, "up", "-f", BUILD_FILE, "-p", project, "--wait", NULL);
	if (rc != 0)
		fail_msg("lo2 up: exit %d: %s", rc, err ? err : "");
	/* --wait returns once it runs; the output is complete when it has exited */
	assert_int_equal(engine_container_wait(tu_engine(), name, "not-running", NULL, &code, &e), 0);
	assert_int_equal(code, 0);
	text = run_ok(logs);
	assert_string_equal(text, "stage=base map=m list=unset env=unset");
	free(text);
	text = run_ok(label);
	assert_string_equal(text, "yes");
	free(text);
	free(out);
	free(err);
	free(name);
	free(img);
}

/* The CLI: strict by default, --compatibility lenient, --profile, and their usage errors. */
static void test_compose_keys_cli(void **state)
{
	char *out = NULL, *err = NULL;
	int rc;

	rc = tu_lo2_run(&out, &err, "config", "-f", LO2_FIXTURES "/compose/keys/strict.yml", NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err,
	                       "/compose/keys/strict.yml:4:5: services.web: \"uts\" is not implemented by "
	                       "lo2, and the containers would differ from docker compose's (--compatibility "
	                       "lenient makes this a warning)"));
	free(out);
	free(err);
	rc = tu_lo2_run(&out, &err, "config", "--compatibility", "lenient", "-f",
	                LO2_FIXTURES "/compose/keys/strict.yml", NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(err, "lo2: warning: "));
	assert_non_null(strstr(err, "\"uts\" is not implemented by lo2, and the containers would differ from "
	                            "docker compose's; ignored (--compatibility lenient)"));
	free(out);
	free(err);
	rc = tu_lo2_run(&out, &err, "config", "--compatibility", "loose", "-f", FILE_, NULL);
	assert_int_equal(rc, 2);
	assert_non_null(strstr(err, "--compatibility takes strict or lenient, not 'loose'"));
	free(out);
	free(err);
	rc = tu_lo2_run(&out, &err, "config", "--profile", "debug", "-f", FILE_, NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "\"debug\": {"));
	free(out);
	free(err);
	rc = tu_lo2_run(&out, &err, "config", "-f", FILE_, NULL);
	assert_int_equal(rc, 0);
	assert_null(strstr(out, "\"debug\": {"));
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_compose_keys_up),
	    cmocka_unit_test(test_compose_keys_limits),
	    cmocka_unit_test(test_compose_keys_secrets),
	    cmocka_unit_test(test_compose_keys_docker_compose_ps),
	    cmocka_unit_test(test_compose_keys_scale_down),
	    cmocka_unit_test(test_compose_keys_down),
	    cmocka_unit_test(test_compose_keys_build),
	    cmocka_unit_test(test_compose_keys_cli),
	};

	tu_filter();
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
