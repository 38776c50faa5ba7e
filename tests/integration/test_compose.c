/* test_compose.c - `lo2 up/ps/down` on the real engine with the fixture stack (four services
 * from the offline busybox image: depends_on service_healthy and
 * service_completed_successfully, a named volume, a bind mount, a published port that answers,
 * a network alias another service resolves), and docker-compose listing lo2's containers. */
#include "testutil.h"

#include <arpa/inet.h>
#include <signal.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/json.h"
#include "common/mem.h"
#include "common/time.h"
#include "engine/engine.h"

#define IMAGE "lo2-test/busybox:latest"
#define FILE_ LO2_FIXTURES "/compose/stack/compose.yml"

static char project[96];
static char *ids_first[4];

static void cleanup_project(void)
{
	tu_remove_project(project);
	tu_cleanup();
}

static int group_setup(void **state)
{
	tu_engine();
	tu_require_image(IMAGE);
	snprintf(project, sizeof(project), "lo2t-%s", tu_run_id());
	setenv("LO2_TEST_ID", tu_run_id(), 1);
	return 0;
}

static int group_teardown(void **state)
{
	cleanup_project();
	for (int i = 0; i < 4; i++)
		free(ids_first[i]);
	return 0;
}

static void lo2_ok(char **out, const char *a1, const char *a2, const char *a3)
{
	char *err = NULL;
	int rc = tu_lo2_run(out, &err, a1, "-f", FILE_, "-p", project, a2, a3, NULL);

	if (rc != 0)
		fail_msg("lo2 %s %s %s: exit %d: %s", a1, a2 ? a2 : "", a3 ? a3 : "", rc, err ? err : "");
	free(err);
}

struct ps_state {
	char *id[4];
	int port;
	char *client_health, *init_state;
};

static const char *const services[] = {"client", "db", "init", "web"};

static void ps_read(struct ps_state *ps)
{
	char *out = NULL;
	struct lo2_json *doc = NULL;
	struct lo2_err err = {0};

	memset(ps, 0, sizeof(*ps));
	lo2_ok(&out, "ps", "--format", "json");
	if (lo2_json_parse(out, "ps", &doc, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(lo2_json_len(doc), 4);
	for (size_t i = 0; i < 4; i++) {
		const struct lo2_json *row = lo2_json_at(doc, i);
		char *want = xasprintf("%s-%s-1", project, services[i]);
		const char *pubs = lo2_json_str(lo2_json_get(row, "Ports"));
		const char *arrow = strstr(pubs, "->8080/tcp");

		assert_string_equal(lo2_json_str(lo2_json_get(row, "Name")), want);
		assert_string_equal(lo2_json_str(lo2_json_get(row, "Service")), services[i]);
		ps->id[i] = xstrdup(lo2_json_str(lo2_json_get(row, "ID")));
		if (strcmp(services[i], "client") == 0)
			ps->client_health = xstrdup(lo2_json_str(lo2_json_get(row, "Health")));
		if (strcmp(services[i], "init") == 0)
			ps->init_state = xstrdup(lo2_json_str(lo2_json_get(row, "State")));
		if (arrow) {
			while (arrow > pubs && arrow[-1] != ':')
				arrow--;
			ps->port = atoi(arrow);
		}
		free(want);
	}
	lo2_json_free(doc);
	free(out);
}

static void ps_free(struct ps_state *ps)
{
	for (int i = 0; i < 4; i++)
		free(ps->id[i]);
	free(ps->client_health);
	free(ps->init_state);
}

static char *http_get(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	const char *req = "GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n";
	char buf[4096];
	size_t n = 0;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_true(fd >= 0);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		fail_msg("connect 127.0.0.1:%d failed", port);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fd);
	return xstrdup(buf);
}

static void test_up_wait(void **state)
{
	struct ps_state ps;
	char *page;

	lo2_ok(NULL, "up", "--wait", "--timeout=120");
	ps_read(&ps);
	assert_string_equal(ps.client_health, "healthy"); /* its healthcheck resolves web's alias */
	assert_string_equal(ps.init_state, "exited");
	assert_true(ps.port > 0);
	page = http_get(ps.port);
	assert_non_null(strstr(page, "lo2-fixture page"));
	free(page);
	for (int i = 0; i < 4; i++)
		ids_first[i] = xstrdup(ps.id[i]);
	ps_free(&ps);
}

static void test_up_again_keeps(void **state)
{
	struct ps_state ps;

	lo2_ok(NULL, "up", "--wait", "--timeout=120");
	ps_read(&ps);
	for (int i = 0; i < 4; i++)
		assert_string_equal(ps.id[i], ids_first[i]);
	ps_free(&ps);
}

static void test_docker_compose_sees_them(void **state)
{
	const char *argv[] = {"docker-compose", "-f", FILE_, "-p", project, "ps", NULL};
	char *out = NULL;
	int rc;

	if (access("/usr/bin/docker-compose", X_OK) != 0 &&
	    access("/usr/local/bin/docker-compose", X_OK) != 0)
		tu_skip_or_fail("docker-compose is not installed (the interoperability check needs it)");
	rc = tu_run(argv, NULL, &out, NULL);
	assert_int_equal(rc, 0);
	for (int i = 0; i < 4; i++) {
		char *name = xasprintf("%s-%s-1", project, services[i]);

		if (strstr(out, name) == NULL)
			fail_msg("docker-compose ps does not list %s:\n%s", name, out);
		free(name);
	}
	free(out);
}

static void test_force_recreate(void **state)
{
	struct ps_state ps;

	lo2_ok(NULL, "up", "--force-recreate", "--wait");
	ps_read(&ps);
	for (int i = 0; i < 4; i++)
		assert_string_not_equal(ps.id[i], ids_first[i]);
	ps_free(&ps);
}

static size_t count_labelled(void)
{
	struct engine *e = tu_engine();
	char *label = xasprintf("label=com.docker.compose.project=%s", project);
	struct lo2_strv f = {0};
	struct engine_container_list cl = {0};
	struct engine_network_list nl = {0};
	struct engine_volume_list vl = {0};
	struct lo2_err err = {0};
	size_t n;

	lo2_strv_push(&f, label);
	assert_int_equal(engine_container_list(e, &f, true, &cl, &err), 0);
	assert_int_equal(engine_network_list(e, &f, &nl, &err), 0);
	assert_int_equal(engine_volume_list(e, &f, &vl, &err), 0);
	n = cl.n + nl.n + vl.n;
	engine_container_list_free(&cl);
	engine_network_list_free(&nl);
	engine_volume_list_free(&vl);
	lo2_strv_free(&f);
	free(label);
	return n;
}

static void test_down_v(void **state)
{
	assert_true(count_labelled() >= 7); /* 4 containers, 2 networks, 1 volume */
	lo2_ok(NULL, "down", "-v", NULL);
	assert_int_equal(count_labelled(), 0);
}

static void test_external_network_missing(void **state)
{
	char *dir = tu_tmpdir();
	char *file = xasprintf("%s/compose.yml", dir);
	FILE *f = fopen(file, "w");
	char *err = NULL;
	char *want;
	int rc;

	assert_non_null(f);
	fprintf(f,
	        "services:\n  a:\n    image: %s\n    networks: [ext]\nnetworks:\n  ext:\n    external: true\n"
	        "    name: lo2-missing-%s\n",
	        IMAGE, tu_run_id());
	fclose(f);
	rc = tu_lo2_run(NULL, &err, "up", "-f", file, "-p", project, NULL);
	assert_int_equal(rc, 1);
	want = xasprintf(
	    "network lo2-missing-%s is declared as external, but could not be found; create it with "
	    "`docker network create lo2-missing-%s`",
	    tu_run_id(), tu_run_id());
	if (strstr(err, want) == NULL)
		fail_msg("unexpected error: %s", err);
	free(want);
	free(err);
	free(file);
	tu_rm_rf(dir);
	free(dir);
	cleanup_project();
}

/* A dependency that fails stops what depends on it, with the reason. */
static void test_failed_dependency(void **state)
{
	char *dir = tu_tmpdir();
	char *file = xasprintf("%s/compose.yml", dir);
	FILE *f = fopen(file, "w");
	char *err = NULL;
	char *want;
	int rc;

	assert_non_null(f);
	fprintf(f,
	        "services:\n  a:\n    image: %s\n    command: [\"sh\", \"-c\", \"exit 3\"]\n"
	        "    labels: [lo2.test=%s]\n"
	        "  b:\n    image: %s\n    labels: [lo2.test=%s]\n    depends_on:\n      a:\n"
	        "        condition: service_completed_successfully\n"
	        "  c:\n    image: %s\n    labels: [lo2.test=%s]\n    depends_on: [b]\n",
	        IMAGE, tu_run_id(), IMAGE, tu_run_id(), IMAGE, tu_run_id());
	fclose(f);
	rc = tu_lo2_run(NULL, &err, "up", "-f", file, "-p", project, "--timeout", "60", NULL);
	assert_int_equal(rc, 1);
	want = xasprintf("lo2: up %s: not starting c: dependency a of b: container %s-a-1 didn't complete "
	                 "successfully: exit 3\n",
	                 project, project);
	if (strstr(err, want) == NULL)
		fail_msg("unexpected error: %s", err);
	free(want);
	free(err);
	err = NULL;
	assert_int_equal(tu_lo2_run(NULL, &err, "down", "-p", project, NULL),
	                 0); /* by name: no file needed */
	assert_int_equal(count_labelled(), 0);
	free(err);
	free(file);
	tu_rm_rf(dir);
	free(dir);
}

/* A signal cancels `lo2 up` while it waits on a dependency that never gets healthy: lo2 exits
 * within 2 s (doubled under the sanitizers), says what it left and how to remove it; a second
 * signal is not needed. */
static void test_up_signal(void **state)
{
	char *dir = tu_tmpdir();
	char *file = xasprintf("%s/compose.yml", dir), *log = xasprintf("%s/up.out", dir);
	FILE *f = fopen(file, "w");
	const char *argv[] = {LO2_BINARY, "up", "-f", file, "-p", project, NULL};
	char *out, *want;
	int status;
	int64_t t0, took, bound = 2000000000LL;
	pid_t pid;

#ifdef LO2_SANITIZED
	bound *= 2;
#endif
	assert_non_null(f);
	fprintf(f,
	        "services:\n  a:\n    image: %s\n    command: [\"sleep\", \"600\"]\n"
	        "    labels: [lo2.test=%s]\n    healthcheck:\n      test: [\"CMD\", \"false\"]\n"
	        "      interval: 1s\n      retries: 1000\n"
	        "  b:\n    image: %s\n    labels: [lo2.test=%s]\n    depends_on:\n      a:\n"
	        "        condition: service_healthy\n",
	        IMAGE, tu_run_id(), IMAGE, tu_run_id());
	fclose(f);
	pid = tu_spawn(argv, log);
	if (!tu_wait_for_text(log, "Started", 60))
		fail_msg("lo2 up never started a:\n%s", tu_read(log, NULL));
	usleep(1000000); /* b now waits on a's health */
	t0 = lo2_mono_ns();
	kill(pid, SIGINT);
	waitpid(pid, &status, 0);
	took = lo2_mono_ns() - t0;
	out = tu_read(log, NULL);
	if (took > bound)
		fail_msg("lo2 up took %.2f s to exit after SIGINT:\n%s", (double)took / 1e9, out);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	want = xasprintf("lo2 down -p %s", project);
	if (strstr(out, "cancelled") == NULL || strstr(out, want) == NULL)
		fail_msg("lo2 up's message on SIGINT names neither the cancel nor the way down:\n%s", out);
	free(want);
	free(out);
	cleanup_project();
	tu_rm_rf(dir);
	free(dir);
	free(file);
	free(log);
}

/* `lo2 config` prints the model, and on bad input exits 1 with the positioned error. */
static void test_config_cli(void **state)
{
	char *out = NULL, *err = NULL;
	int rc;

	rc = tu_lo2_run(&out, &err, "config", "-f",
	                LO2_FIXTURES "/compose/lo2/docker-compose-oauth2-mysql.yml", NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "\"gelf-address\": \"udp://localhost:12201\""));
	free(out);
	free(err);
	out = err = NULL;
	rc = tu_lo2_run(&out, &err, "config", "-f", LO2_FIXTURES "/compose/errors/bad_port.yml", NULL);
	assert_int_equal(rc, 1);
	assert_string_equal(out, "");
	assert_non_null(
	    strstr(err, "/compose/errors/bad_port.yml:6:9: services.web.ports: invalid port \"99999:80\""));
	free(out);
	free(err);
	out = err = NULL;
	assert_int_equal(tu_lo2_run(&out, &err, "config", "--bogus", NULL), 2);
	free(out);
	free(err);
}

/* lo2 config agrees with docker-compose config on the fields both print (tests/compose_diff.py). */
static void test_differential(void **state)
{
	const char *argv[] = {"python3",
	                      LO2_SOURCE_DIR "/tests/compose_diff.py",
	                      tu_lo2(),
	                      LO2_FIXTURES "/compose/diff/compose.yml",
	                      LO2_FIXTURES "/compose/diff/keys.yml",
	                      LO2_FIXTURES "/compose/lo2/docker-compose-oauth2-mysql.yml",
	                      FILE_,
	                      NULL};
	char *out = NULL;
	int rc = tu_run(argv, NULL, &out, NULL);

	if (rc == 77) {
		printf("%s", out ? out : "");
		free(out);
		tu_skip_or_fail("compose_diff.py needs docker-compose and PyYAML");
	}
	if (rc != 0)
		fail_msg("compose_diff.py exit %d:\n%s", rc, out ? out : "");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_up_wait),
	    cmocka_unit_test(test_up_again_keeps),
	    cmocka_unit_test(test_docker_compose_sees_them),
	    cmocka_unit_test(test_force_recreate),
	    cmocka_unit_test(test_down_v),
	    cmocka_unit_test(test_external_network_missing),
	    cmocka_unit_test(test_failed_dependency),
	    cmocka_unit_test(test_up_signal),
	    cmocka_unit_test(test_config_cli),
	    cmocka_unit_test(test_differential),
	};

	tu_filter();
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
