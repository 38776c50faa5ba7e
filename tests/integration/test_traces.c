/* test_traces.c - `lo2 traces record` end to end: on --listen 127.0.0.1 (recorded OpenTelemetry
 * Python exporter bodies posted with libcurl, gzip included; SIGINT ends it and the files are
 * exactly the ones the fixtures expect), and with -f on a compose project's network, where a
 * busybox container posts to the endpoint lo2 printed, given to it through ${LO2_OTLP_ENDPOINT}
 * in the compose file (OTLP/JSON: busybox wget sends a file as text, up to its first NUL). */
#include "testutil.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/file.h"
#include "common/mem.h"
#include "engine/engine.h"

#define IMAGE "lo2-test/busybox:latest"

static char project[96];

/* Starts lo2 with argv (NULL-terminated, without "lo2"); *endpoint gets its first stdout line. */
static pid_t spawn_lo2(const char *const *args, const char *errlog, char *endpoint, size_t n)
{
	const char *argv[32] = {tu_lo2()};
	int p[2];
	pid_t pid;
	FILE *f;

	for (int i = 0; args[i] && i < 30; i++)
		argv[i + 1] = args[i];
	if (pipe(p) != 0)
		abort();
	pid = fork();
	if (pid == 0) {
		if (freopen(errlog, "w", stderr) == NULL)
			_exit(126);
		dup2(p[1], 1);
		close(p[0]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	if (fgets(endpoint, (int)n, f) == NULL)
		endpoint[0] = '\0';
	endpoint[strcspn(endpoint, "\n")] = '\0';
	fclose(f);
	return pid;
}

/* SIGINT, then the exit status. */
static int stop_lo2(pid_t pid)
{
	int st = 0;

	kill(pid, SIGINT);
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static size_t discard(char *p, size_t size, size_t n, void *user)
{
	return size * n;
}

static long post(const char *endpoint, const char *ctype, const char *cenc, const char *file)
{
	lo2_autofree char *path = xasprintf("%s/otlp/%s", LO2_FIXTURES, file);
	lo2_autofree char *url = xasprintf("%s/v1/traces", endpoint);
	struct curl_slist *hd = NULL;
	char *data = NULL, line[128];
	size_t len = 0;
	struct lo2_err err = {0};
	long status = 0;
	CURL *h;

	if (strcmp(file, "-") == 0) {
		data = xstrdup("{\"resourceSpans\":[{]}");
		len = strlen(data);
	} else if (lo2_read_file(path, 1u << 20, &data, &len, &err) != 0) {
		fail_msg("%s", err.msg);
	}
	h = curl_easy_init();
	snprintf(line, sizeof(line), "Content-Type: %s", ctype);
	hd = curl_slist_append(hd, line);
	if (cenc) {
		snprintf(line, sizeof(line), "Content-Encoding: %s", cenc);
		hd = curl_slist_append(hd, line);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	free(data);
	return status;
}

static void assert_same(const char *dir, const char *name, const char *fixture)
{
	lo2_autofree char *got_path = xasprintf("%s/%s", dir, name);
	lo2_autofree char *exp_path = xasprintf("%s/otlp/%s", LO2_FIXTURES, fixture);
	size_t glen = 0, elen = 0;
	char *got = tu_read(got_path, &glen), *exp = tu_read(exp_path, &elen);

	assert_non_null(got);
	assert_non_null(exp);
	assert_int_equal(glen, elen);
	assert_memory_equal(got, exp, elen);
	free(got);
	free(exp);
}

static void record_on_loopback(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *out = xasprintf("%s/out", dir);
	lo2_autofree char *log = xasprintf("%s/stderr", dir);
	const char *args[] = {"traces", "record", "--listen", "127.0.0.1:0", "-o", out, NULL};
	char endpoint[128];
	size_t len;
	char *err;
	pid_t pid = spawn_lo2(args, log, endpoint, sizeof(endpoint));

	assert_true(strncmp(endpoint, "http://127.0.0.1:", 17) == 0);
	assert_int_equal(post(endpoint, "application/x-protobuf", "gzip", "python-a.pb.gz"), 200);
	assert_int_equal(post(endpoint, "application/x-protobuf", NULL, "python-b.pb"), 200);
	assert_int_equal(post(endpoint, "application/json", NULL, "-"), 400);
	assert_int_equal(stop_lo2(pid), 0);
	assert_same(out, "traces_svc-a.csv", "traces_svc-a.csv");
	assert_same(out, "traces_svc-b.csv", "traces_svc-b.csv");
	assert_same(out, "traces.otlp.jsonl.gz", "traces.otlp.jsonl");
	err = tu_read(log, &len);
	assert_non_null(strstr(err, "lo2 traces: 10 spans received, 10 written (2 service files)\n"));
	assert_non_null(strstr(err, "requests: 200: 2; 400 malformed: 1;"));
	free(err);
	tu_rm_rf(dir);
}

/* ---- -f: the project network's gateway ---- */

static void write_compose(const char *path, bool poster)
{
	const char *id = tu_run_id();
	lo2_autofree char *text = xasprintf("services:\n"
	                                    "  sleeper:\n"
	                                    "    image: " IMAGE "\n"
	                                    "    command: [sleep, \"600\"]\n"
	                                    "    labels: [lo2.test=%s]\n",
	                                    id);
	lo2_autofree char *post =
	    xasprintf("%s"
	              "  poster:\n"
	              "    image: " IMAGE "\n"
	              "    command: [wget, -q, -O, /dev/null, --header, \"Content-Type: application/json\",\n"
	              "              --post-file, /f/python-a.json, \"${LO2_OTLP_ENDPOINT}/v1/traces\"]\n"
	              "    volumes: [\"" LO2_FIXTURES "/otlp:/f:ro\"]\n"
	              "    labels: [lo2.test=%s]\n",
	              text, id);
	struct lo2_err err = {0};
	const char *full = poster ? post : text;

	assert_int_equal(lo2_write_file_atomic(path, full, strlen(full), &err), 0);
}

static void lo2_ok(const char *file, const char *cmd, const char *a, const char *b)
{
	char *err = NULL;
	int rc = tu_lo2_run(NULL, &err, cmd, "-f", file, "-p", project, a, b, NULL);

	if (rc != 0)
		fail_msg("lo2 %s: exit %d: %s", cmd, rc, err ? err : "");
	free(err);
}

/* Waits until the container has exited; its exit code. */
static int wait_exit(const char *name)
{
	struct engine_container_info ci;
	struct lo2_err err = {0};

	for (int i = 0; i < 600; i++) {
		if (engine_container_inspect(tu_engine(), name, &ci, &err) == 0) {
			bool running = ci.running;
			int code = (int)ci.exit_code;

			engine_container_info_free(&ci);
			if (!running)
				return code;
		}
		usleep(100000);
	}
	return -1;
}

static void record_on_project_gateway(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *c1 = xasprintf("%s/compose.yml", dir);
	lo2_autofree char *out = xasprintf("%s/out", dir);
	lo2_autofree char *log = xasprintf("%s/stderr", dir);
	lo2_autofree char *poster = xasprintf("%s-poster-1", project);
	const char *args[] = {"traces", "record", "-f", c1, "-p", project, "--port", "0", "-o", out, NULL};
	char endpoint[128];
	pid_t pid;
	char *err = NULL;
	size_t len;
	int rc;

	write_compose(c1, false);
	/* not up yet: the error says so */
	rc = tu_lo2_run(NULL, &err, "traces", "record", "-f", c1, "-p", project, "-o", out, NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "is not up (lo2 up -f"));
	free(err);
	lo2_ok(c1, "up", NULL, NULL);
	pid = spawn_lo2(args, log, endpoint, sizeof(endpoint));
	if (strncmp(endpoint, "http://", 7) != 0 || strncmp(endpoint, "http://127.", 11) == 0) {
		stop_lo2(pid);
		err = tu_read(log, &len);
		fail_msg("endpoint '%s': %s", endpoint, err ? err : "");
	}
	/* the stack learns the endpoint through the compose file's ${LO2_OTLP_ENDPOINT} */
	setenv("LO2_OTLP_ENDPOINT", endpoint, 1);
	write_compose(c1, true);
	lo2_ok(c1, "up", NULL, NULL);
	rc = wait_exit(poster);
	assert_int_equal(stop_lo2(pid), 0);
	assert_int_equal(rc, 0);
	assert_same(out, "traces_svc-a.csv", "traces_svc-a.csv");
	lo2_ok(c1, "down", "-v", NULL);
	tu_rm_rf(dir);
}

static int group_setup(void **state)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return 0;
}

static int engine_setup(void **state)
{
	tu_engine();
	tu_require_image(IMAGE);
	snprintf(project, sizeof(project), "lo2t-traces-%s", tu_run_id());
	return 0;
}

static int engine_teardown(void **state)
{
	tu_lo2_run(NULL, NULL, "down", "-p", project, "-v", NULL);
	tu_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest loopback[] = {cmocka_unit_test(record_on_loopback)};
	const struct CMUnitTest gateway[] = {cmocka_unit_test(record_on_project_gateway)};
	int rc = cmocka_run_group_tests_name("loopback", loopback, group_setup, NULL);

	return rc | cmocka_run_group_tests_name("gateway", gateway, engine_setup, engine_teardown);
}
