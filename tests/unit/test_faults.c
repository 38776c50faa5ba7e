/* test_faults.c - the fault model without an engine: lo2.yml's faults: section and --fault read
 * into rules, every bad input an error with its place (FILE:LINE:COL) before anything is
 * deployed, rules expanded to one fault test per service (all included), fault tests shuffled
 * into the seeded schedule with the Locust tags and selected by --tags, the rules kept in
 * run_config.yml for --resume; a revert the engine refuses is an error naming the container and
 * what is still applied (a fake engine on a unix socket). */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "engine/engine.h"
#include "faults/faults.h"
#include "run/config.h"
#include "run/driver.h"
#include "run/run.h"

#define FX LO2_FIXTURES "/run/faults"

/* Loads text as a lo2.yml (in a fresh folder) over the fault fixture's stack. */
static int load(const char *text, struct run_config *c, struct lo2_err *err, char **path_out)
{
	char *dir = tu_tmpdir(), *path = xasprintf("%s/lo2.yml", dir);
	struct lo2_err werr = {0};
	int rc;

	assert_int_equal(lo2_write_file_atomic(path, text, strlen(text), &werr), 0);
	run_config_defaults(c);
	rc = run_config_load(path, c, err);
	free(c->compose_file);
	c->compose_file = xstrdup(FX "/docker-compose.yml");
	free(c->locust_folder);
	c->locust_folder = xstrdup(LO2_FIXTURES "/run/core/locust");
	c->duration_min = c->duration_max = 10;
	*path_out = path;
	free(dir);
	return rc;
}

/* The error of text (at load, check or plan) is "<file>:<want>". */
static void bad(const char *text, const char *want)
{
	struct run_config c;
	struct lo2_err err = {0};
	struct run_schedule s = {0};
	char *path = NULL, *full;
	int rc = load(text, &c, &err, &path);

	if (rc == 0)
		rc = run_config_check(&c, &err);
	if (rc == 0)
		rc = run_plan(&c, 1, &s, &err);
	assert_int_equal(rc, -1);
	full = xasprintf("%s:%s", path, want);
	assert_string_equal(err.msg, full);
	run_schedule_free(&s);
	run_config_free(&c);
	free(full);
	free(path);
}

static void test_errors(void **state)
{
	bad("faults:\n  - kind: melt\n    targets: [writer]\n",
	    "2:11: unknown fault kind \"melt\" (pause, stop, kill, restart, cpu, memory, network, stress)");
	bad("faults:\n  - kind: pause\n    targets: [nosuch]\n",
	    "3:14: the pause fault's target \"nosuch\" is not a service of the compose file");
	bad("faults:\n  - kind: cpu\n    targets: [burner]\n    cpus: 0.001\n",
	    "4:11: cpus: \"0.001\" is not CPUs from 0.01 to 1024");
	bad("faults:\n  - kind: network\n    targets: [pinger]\n    loss: 120%\n",
	    "4:11: loss: \"120%\" is not a percentage from 0 to 100");
	bad("faults:\n  - kind: memory\n    targets: [writer]\n    memory: 1m\n",
	    "4:13: memory: \"1m\" is not bytes (\"64m\", at least 6m), or a percentage of the working set "
	    "at onset");
	bad("faults:\n  - kind: pause\n    targets: [writer]\n    delay: 1s\n",
	    "4:12: a pause fault has no parameter \"delay\"");
	bad("faults:\n  - kind: pause\n    targets: [writer]\n    onset: 6\n    duration: 5\n",
	    "5:15: the pause fault's onset + duration (11 s) is past the end of a 10 s test (durations.min)");
	bad("faults:\n  - kind: pause\n    targets: [writer]\n    onset: 50%\n    duration: 60%\n",
	    "5:15: the pause fault's onset + duration (11 s) is past the end of a 10 s test (durations.min)");
	bad("faults:\n  - kind: network\n    targets: [pinger]\n    jitter: 5ms\n",
	    "2:5: a network fault needs delay, loss, corrupt or rate");
	bad("faults:\n  - kind: pause\n    targets: [writer, writer]\n",
	    "3:14: a pause fault on writer is given twice");
	bad("faults:\n  - targets: [writer]\n", "2:5: faults: expected a kind");
	bad("faults: {kind: pause}\n", "1:9: faults: expected a list of faults");
}

static void test_schedule(void **state)
{
	struct run_config c;
	struct lo2_err err = {0};
	struct run_schedule s = {0}, s2 = {0};
	char *path = NULL;
	size_t faults = 0;
	bool takes;

	assert_int_equal(
	    load("faults:\n  - kind: pause\n    targets: all\n    onset: 20%\n    duration: 3\n"
	         "  - kind: network\n    targets: [pinger]\n    delay: 200ms\n    jitter: 20ms\n",
	         &c, &err, &path),
	    0);
	assert_int_equal(run_config_check(&c, &err), 0);
	assert_int_equal(run_plan(&c, 5, &s, &err), 0);
	assert_int_equal(run_plan(&c, 5, &s2, &err), 0);
	/* 6 services paused, one network fault, the 5 Locust tags of the core fixture */
	for (size_t i = 0; i < s.n; i++) {
		assert_string_equal(s.tests[i].tag, s2.tests[i].tag);
		if (strncmp(s.tests[i].tag, "fault_", 6) == 0) {
			faults++;
			assert_string_equal(s.tests[i].load_tag, "correct");
		} else {
			assert_null(s.tests[i].load_tag);
		}
	}
	assert_int_equal(faults, 7);
	run_schedule_free(&s);
	run_schedule_free(&s2);
	/* --tags selects fault tests like any tag; --fault adds one */
	assert_int_equal(run_config_flag(&c, "--fault", "kill=flaky,onset=2,duration=2", &takes, &err), 0);
	assert_true(takes);
	assert_int_equal(run_config_flag(&c, "--tags", "fault_kill_flaky,correct", &takes, &err), 0);
	assert_int_equal(run_plan(&c, 5, &s, &err), 0);
	assert_int_equal(s.n, 2);
	run_schedule_free(&s);
	assert_int_equal(run_config_flag(&c, "--fault", "melt=flaky", &takes, &err), -1);
	assert_int_equal(err.kind, LO2_E_USAGE);
	assert_string_equal(err.msg,
	                    "option '--fault': unknown fault kind \"melt\" (pause, stop, kill, restart, "
	                    "cpu, memory, network, stress)");
	{
		/* the rules read back from run_config.yml (what --resume relies on) */
		char *p2 = xasprintf("%s.saved", path);
		struct run_config back;

		assert_int_equal(run_config_write(&c, p2, &err), 0);
		run_config_defaults(&back);
		assert_int_equal(run_config_load(p2, &back, &err), 0);
		assert_int_equal(back.faults.n, 3);
		assert_int_equal(back.faults.v[1].kind, FAULT_NETWORK);
		assert_string_equal(back.faults.v[1].params[0].key, "delay");
		assert_string_equal(back.faults.v[1].params[0].value, "200ms");
		assert_string_equal(back.faults.v[0].targets.v[0], "all");
		assert_int_equal(back.faults.v[2].kind, FAULT_KILL);
		run_config_free(&back);
		free(p2);
	}
	{
		/* a campaign's copy of the settings owns its own rules (freed twice before under ASan) */
		struct run_config copy;

		run_config_copy(&copy, &c);
		assert_int_equal(copy.faults.n, 3);
		assert_ptr_not_equal(copy.faults.v, c.faults.v);
		assert_string_equal(copy.faults.v[1].params[0].value, "200ms");
		assert_int_equal(run_plan(&copy, 5, &s, &err), 0);
		assert_int_equal(s.n, 2);
		run_schedule_free(&s);
		run_config_free(&copy);
	}
	run_config_free(&c);
	free(path);
}

static void test_specs(void **state)
{
	struct fault_rules rs = {0};
	struct fault_rule r;
	struct fault_specs sp;
	struct lo2_strv svc = {0};
	struct lo2_err err = {0};
	const struct fault_spec *s;

	assert_int_equal(
	    fault_rule_from_flag(&r, "network=a+b,delay=200ms,jitter=20ms,loss=5,rate=1mbit", &err), 0);
	fault_rules_take(&rs, &r);
	lo2_strv_push(&svc, "a");
	lo2_strv_push(&svc, "b");
	lo2_strv_push(&svc, "c");
	assert_int_equal(fault_specs_make(&rs, &svc, &sp, &err), 0);
	assert_int_equal(sp.n, 2);
	s = fault_specs_find(&sp, "fault_network_b");
	assert_non_null(s);
	assert_true(s->delay_ns == 200000000);
	assert_true(s->jitter_ns == 20000000);
	assert_true(s->loss_pct == 5);
	assert_string_equal(s->rate, "1mbit");
	assert_string_equal(s->image, FAULT_HELPER_IMAGE);
	/* defaults: a quarter in, for half the test */
	assert_true(fault_when_ns(&s->onset, 20) == 5000000000);
	assert_true(fault_when_ns(&s->duration, 20) == 10000000000);
	fault_specs_free(&sp);
	fault_rules_free(&rs);
	lo2_strv_free(&svc);
}

/* ---- a fake engine whose unpause fails ---- */

static const char paused_inspect[] =
    "{\"Id\":\"x1\",\"Name\":\"/web-1\",\"RestartCount\":0,\"State\":{\"Status\":\"paused\","
    "\"Running\":true,\"Paused\":true,\"Restarting\":false,\"OOMKilled\":false,\"Dead\":false,\"Pid\":"
    "12,\"ExitCode\":0,\"Error\":\"\",\"StartedAt\":\"2024-01-01T00:00:01Z\",\"FinishedAt\":"
    "\"0001-01-01T00:00:00Z\"},\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"no\"}}}";

static void reply(int fd, const char *status, const char *body)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	                 "Connection: close\r\n\r\n",
	                 status, strlen(body));

	if (write(fd, head, (size_t)n) < 0 || write(fd, body, strlen(body)) < 0)
		return;
}

static void *fake_main(void *arg)
{
	int lfd = *(int *)arg, fd;

	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		char req[4096] = "";
		ssize_t r = read(fd, req, sizeof(req) - 1);

		req[r > 0 ? r : 0] = '\0';
		if (strstr(req, " /_ping "))
			reply(fd, "200 OK", "OK");
		else if (strstr(req, " /version "))
			reply(fd, "200 OK",
			      "{\"Version\":\"99\",\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\"}");
		else if (strstr(req, "/unpause "))
			reply(fd, "500 Internal Server Error", "{\"message\":\"cgroup frozen for good\"}");
		else if (strstr(req, "/pause "))
			reply(fd, "204 No Content", "");
		else if (strstr(req, "/json "))
			reply(fd, "200 OK", paused_inspect);
		else
			reply(fd, "404 Not Found", "{\"message\":\"page not found\"}");
		close(fd);
	}
	return NULL;
}

static void test_failed_revert(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[108], host[128];
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	pthread_t th;
	struct engine *e = NULL;
	struct lo2_err err = {0};
	struct fault_spec sp = {.kind = FAULT_PAUSE, .service = "web", .tag = "fault_pause_web"};
	struct fault_state *st = NULL;
	struct lo2_jw *w = lo2_jw_new(NULL);
	char *json;

	snprintf(path, sizeof(path), "/tmp/lo2-faults-%ld.sock", (long)getpid());
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	snprintf(host, sizeof(host), "unix://%s", path);
	unlink(path);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 16), 0);
	assert_int_equal(pthread_create(&th, NULL, fake_main, &lfd), 0);
	assert_int_equal(engine_open(host, &e, &err), 0);
	assert_int_equal(fault_prepare(e, &sp, "proj", "x1", &st, &err), 0);
	assert_int_equal(fault_apply(e, st, &err), 0);
	assert_int_equal(fault_revert(e, st, 0, &err), -1);
	assert_non_null(
	    strstr(err.msg, "revert the pause fault on container web-1 (paused still applied): "));
	assert_non_null(strstr(err.msg, "cgroup frozen for good"));
	assert_string_equal(st->revert_error, "paused still applied to web-1");
	fault_state_json(st, w);
	json = lo2_jw_finish(w, NULL);
	assert_non_null(strstr(json, "\"still_applied\":\"paused still applied to web-1\""));
	assert_non_null(strstr(json, "\"reverted\":false"));
	free(json);
	fault_state_free(st);
	engine_free(e);
	shutdown(lfd, SHUT_RDWR);
	close(lfd);
	pthread_join(th, NULL);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_schedule),
	    cmocka_unit_test(test_specs),
	    cmocka_unit_test(test_failed_revert),
	};

	return tu_run_tests(tests);
}
