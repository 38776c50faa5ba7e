/* test_engine.c - engine/ against this machine's real engine, with the offline busybox image:
 * container lifecycle, networks, volumes, logs byte-identical through `lo2 logs` (interleaved
 * stdout/stderr, a line over 64 KiB), since/until windows, TTY logs, events, stats, and the
 * messages a user sees for a dead socket and for missing objects. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/mem.h"
#include "common/time.h"
#include "engine/engine.h"

#define IMAGE "lo2-test/busybox:latest"

static void base_spec(struct engine_container_spec *s, const char *name, const char *script)
{
	memset(s, 0, sizeof(*s));
	s->name = xasprintf("lo2t-%s-%s", tu_run_id(), name);
	s->image = xstrdup(IMAGE);
	s->cmd_set = true;
	lo2_strv_push(&s->cmd, "sh");
	lo2_strv_push(&s->cmd, "-c");
	lo2_strv_push(&s->cmd, script);
	s->stop_timeout = -1;
	lo2_kvv_set(&s->labels, TU_LABEL, tu_run_id());
}

static char *run_container(const char *name, const char *script, bool tty)
{
	struct engine *e = tu_engine();
	struct engine_container_spec s;
	struct lo2_err err = {0};
	char *id = NULL;
	int64_t code = -1;

	base_spec(&s, name, script);
	s.tty = tty;
	if (engine_container_create(e, &s, &id, &err) < 0)
		fail_msg("%s", err.msg);
	if (engine_container_start(e, id, &err) < 0 ||
	    engine_container_wait(e, id, NULL, NULL, &code, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(code, 0);
	engine_container_spec_free(&s);
	return id;
}

static void test_lifecycle(void **state)
{
	struct engine *e = tu_engine();
	struct engine_container_spec s;
	struct engine_container_info ci;
	struct engine_container_list cl = {0};
	struct engine_stats st;
	struct engine_resources res = {.memory = 256 * 1024 * 1024, .memory_swap = -1};
	struct lo2_strv filters = {0};
	struct lo2_err err = {0};
	char *id = NULL;
	int64_t code = 0;

	base_spec(&s, "life", "trap 'exit 42' TERM; echo up; while true; do sleep 0.1; done");
	lo2_strv_push(&s.env, "GREETING=hello world");
	s.ports = xcalloc(1, sizeof(*s.ports));
	s.ports[0] = (struct engine_port){xstrdup("8080/tcp"), xstrdup("127.0.0.1"), xstrdup("")};
	s.n_ports = 1;
	s.healthcheck.set = true;
	lo2_strv_push(&s.healthcheck.test, "CMD-SHELL");
	lo2_strv_push(&s.healthcheck.test, "true");
	s.healthcheck.interval_ns = 200000000;
	assert_int_equal(engine_container_create(e, &s, &id, &err), 0);
	assert_int_equal(engine_container_start(e, id, &err), 0);
	assert_int_equal(engine_container_start(e, id, &err), 0); /* 304: already running is fine */
	assert_int_equal(engine_container_inspect(e, s.name, &ci, &err), 0);
	assert_string_equal(ci.id, id);
	assert_string_equal(ci.name, s.name);
	assert_true(ci.running);
	assert_true(lo2_strv_contains(&ci.env, "GREETING=hello world"));
	assert_string_equal(lo2_kvv_get(&ci.labels, TU_LABEL), tu_run_id());
	assert_true(ci.started_ns > 0);
	assert_int_equal(ci.n_ports, 1);
	assert_string_equal(ci.ports[0].host_ip, "127.0.0.1");
	assert_true(atoi(ci.ports[0].host_port) > 0);
	assert_true(ci.n_nets >= 1 && ci.nets[0].ip && ci.nets[0].ip[0]);
	engine_container_info_free(&ci);

	lo2_strv_push(&filters, tu_label_filter());
	assert_int_equal(engine_container_list(e, &filters, false, &cl, &err), 0);
	assert_int_equal(cl.n, 1);
	assert_string_equal(cl.v[0].name, s.name);
	assert_string_equal(cl.v[0].state, "running");
	engine_container_list_free(&cl);

	assert_int_equal(engine_container_stats(e, id, &st, &err), 0);
	assert_true(st.mem_usage > 0 && st.pids >= 1);
	assert_int_equal(engine_container_update(e, id, &res, &err), 0);
	assert_int_equal(engine_container_pause(e, id, &err), 0);
	assert_int_equal(engine_container_inspect(e, id, &ci, &err), 0);
	assert_true(ci.paused);
	engine_container_info_free(&ci);
	assert_int_equal(engine_container_unpause(e, id, &err), 0);

	assert_int_equal(engine_container_kill(e, id, "SIGTERM", &err), 0);
	assert_int_equal(engine_container_wait(e, id, NULL, NULL, &code, &err), 0);
	assert_int_equal(code, 42);
	assert_int_equal(engine_container_inspect(e, id, &ci, &err), 0);
	assert_false(ci.running);
	assert_int_equal(ci.exit_code, 42);
	assert_string_equal(ci.status, "exited");
	assert_true(ci.finished_ns >= ci.started_ns);
	engine_container_info_free(&ci);
	assert_int_equal(engine_container_stop(e, id, 1, &err), 0); /* 304: already stopped is fine */
	assert_int_equal(engine_container_kill(e, id, NULL, &err), -1);
	assert_int_equal(err.kind, LO2_E_CONFLICT);
	assert_int_equal(engine_container_remove(e, id, false, true, &err), 0);
	assert_int_equal(engine_container_inspect(e, id, &ci, &err), -1);
	assert_int_equal(err.kind, LO2_E_NOT_FOUND);
	assert_true(strstr(err.msg, ": 404 Not Found: No such container: ") != NULL);
	lo2_strv_free(&filters);
	engine_container_spec_free(&s);
	free(id);
}

static void test_create_errors(void **state)
{
	struct engine *e = tu_engine();
	struct engine_container_spec s;
	struct lo2_err err = {0};
	char *id = NULL, *id2 = NULL, *want;

	base_spec(&s, "dup", "true");
	assert_int_equal(engine_container_create(e, &s, &id, &err), 0);
	assert_int_equal(engine_container_create(e, &s, &id2, &err), -1);
	assert_int_equal(err.kind, LO2_E_CONFLICT);
	want = xasprintf(
	    "create container %s: 409 Conflict: Conflict. The container name \"/%s\" is already in use",
	    s.name, s.name);
	assert_true(lo2_str_has_prefix(err.msg, want));
	free(want);
	free(s.image);
	s.image = xstrdup("lo2-test/no-such-image:1");
	free(s.name);
	s.name = xasprintf("lo2t-%s-noimage", tu_run_id());
	assert_int_equal(engine_container_create(e, &s, &id2, &err), -1);
	want =
	    xasprintf("create container %s: 404 Not Found: No such image: lo2-test/no-such-image:1", s.name);
	assert_string_equal(err.msg, want);
	free(want);
	engine_container_spec_free(&s);
	free(id);
}

static void test_networks_volumes(void **state)
{
	struct engine *e = tu_engine();
	struct engine_network_spec ns = {0};
	struct engine_network_info ni;
	struct engine_network_list nl = {0};
	struct engine_volume_spec vs = {0};
	struct engine_volume_info vi;
	struct engine_volume_list vl = {0};
	struct engine_container_spec s;
	struct engine_endpoint_cfg ep = {0};
	struct lo2_strv filters = {0};
	struct lo2_err err = {0};
	char *nid = NULL, *cid = NULL;

	ns.name = xasprintf("lo2t-%s-net", tu_run_id());
	lo2_kvv_set(&ns.labels, TU_LABEL, tu_run_id());
	lo2_kvv_set(&ns.labels, "com.docker.compose.network", "default");
	assert_int_equal(engine_network_create(e, &ns, &nid, &err), 0);
	assert_int_equal(engine_network_create(e, &ns, NULL, &err), -1);
	assert_int_equal(err.kind, LO2_E_CONFLICT);
	assert_int_equal(engine_network_inspect(e, ns.name, &ni, &err), 0);
	assert_string_equal(ni.id, nid);
	assert_string_equal(lo2_kvv_get(&ni.labels, "com.docker.compose.network"), "default");
	engine_network_info_free(&ni);
	lo2_strv_push(&filters, tu_label_filter());
	assert_int_equal(engine_network_list(e, &filters, &nl, &err), 0);
	assert_int_equal(nl.n, 1);
	engine_network_list_free(&nl);

	vs.name = xasprintf("lo2t-%s-vol", tu_run_id());
	lo2_kvv_set(&vs.labels, TU_LABEL, tu_run_id());
	assert_int_equal(engine_volume_create(e, &vs, &err), 0);
	assert_int_equal(engine_volume_inspect(e, vs.name, &vi, &err), 0);
	assert_string_equal(vi.driver, "local");
	engine_volume_info_free(&vi);
	assert_int_equal(engine_volume_list(e, &filters, &vl, &err), 0);
	assert_int_equal(vl.n, 1);
	engine_volume_list_free(&vl);

	/* A container on the network with an alias, the volume mounted, connected to bridge too. */
	base_spec(&s, "netc", "sleep 30");
	s.networks = xcalloc(1, sizeof(*s.networks));
	s.networks[0].network = xstrdup(ns.name);
	lo2_strv_push(&s.networks[0].aliases, "db");
	s.n_networks = 1;
	lo2_strv_push(&s.binds, "placeholder");
	free(s.binds.v[0]);
	s.binds.v[0] = xasprintf("%s:/data:rw", vs.name);
	assert_int_equal(engine_container_create(e, &s, &cid, &err), 0);
	assert_int_equal(engine_container_start(e, cid, &err), 0);
	assert_int_equal(engine_network_connect(e, "bridge", cid, &ep, &err), 0);
	assert_int_equal(engine_network_inspect(e, ns.name, &ni, &err), 0);
	assert_true(lo2_strv_contains(&ni.containers, cid));
	engine_network_info_free(&ni);
	assert_int_equal(engine_volume_remove(e, vs.name, false, &err), -1);
	assert_int_equal(err.kind, LO2_E_CONFLICT);
	assert_int_equal(engine_network_disconnect(e, "bridge", cid, true, &err), 0);
	assert_int_equal(engine_container_remove(e, cid, true, true, &err), 0);
	assert_int_equal(engine_network_remove(e, ns.name, &err), 0);
	assert_int_equal(engine_volume_remove(e, vs.name, false, &err), 0);
	assert_int_equal(engine_network_inspect(e, ns.name, &ni, &err), -1);
	assert_int_equal(err.kind, LO2_E_NOT_FOUND);
	engine_container_spec_free(&s);
	engine_network_spec_free(&ns);
	free(vs.name);
	lo2_kvv_free(&vs.labels);
	lo2_strv_free(&filters);
	free(nid);
	free(cid);
}

/* The script's exact output: interleaved stdout/stderr lines and a 70,000-byte line. */
#define LOG_SCRIPT \
	"for i in 1 2 3 4 5; do echo \"out $i\"; sleep 0.02; echo \"err $i\" >&2; sleep 0.02; done; " \
	"head -c 70000 /dev/zero | tr '\\0' x; echo; sleep 0.02; echo 'tab\there' >&2; sleep 0.02; " \
	"printf 'no newline at end'"

static char *expected_log(void)
{
	struct lo2_buf b = LO2_BUF_INIT;

	for (int i = 1; i <= 5; i++)
		lo2_buf_printf(&b, "out %d\nerr %d\n", i, i);
	for (int i = 0; i < 70000; i++)
		lo2_buf_append(&b, "x", 1);
	lo2_buf_puts(&b, "\ntab\there\nno newline at end");
	return lo2_buf_steal(&b);
}

static void test_logs_byte_identical(void **state)
{
	char *id = run_container("logs", LOG_SCRIPT, false);
	char *dir = tu_tmpdir();
	char *plain = xasprintf("%s/c.log", dir), *gz = xasprintf("%s/c.log.gz", dir);
	char *want = expected_log(), *got, *out = NULL, *errs = NULL;
	size_t len = 0;

	assert_int_equal(tu_lo2_run(&out, &errs, "logs", id, "-o", plain, NULL), 0);
	got = tu_read(plain, &len);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(got, want, len);
	free(got);
	free(out);
	free(errs);
	assert_int_equal(tu_lo2_run(&out, &errs, "logs", id, "-o", gz, NULL), 0);
	got = tu_read(gz, &len);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(got, want, len);
	free(got);
	free(out);
	free(errs);
	/* The same bytes as the reference client gives (stdout and stderr to one file). */
	{
		const char *argv[] = {"sh", "-c", "docker logs \"$0\" > \"$1\" 2>&1", id, plain, NULL};

		if (tu_run(argv, NULL, NULL, NULL) == 0) {
			got = tu_read(plain, &len);
			assert_int_equal(len, strlen(want));
			free(got);
		}
	}
	tu_rm_rf(dir);
	free(dir);
	free(plain);
	free(gz);
	free(want);
	free(id);
}

/* Parses "<ts> line N\n" lines (timestamps=1) into their ns times. */
static int timestamps_of(const char *text, int64_t *ts, int max)
{
	int n = 0;

	for (const char *p = text; *p && n < max;) {
		const char *sp = strchr(p, ' '), *nl = strchr(p, '\n');
		char tsbuf[64];

		if (sp == NULL || nl == NULL)
			break;
		snprintf(tsbuf, sizeof(tsbuf), "%.*s", (int)(sp - p), p);
		assert_int_equal(lo2_time_parse(tsbuf, &ts[n++], NULL), 0);
		p = nl + 1;
	}
	return n;
}

static void test_logs_window(void **state)
{
	char *id = run_container(
	    "window", "i=0; while [ $i -lt 40 ]; do echo \"line $i\"; i=$((i+1)); sleep 0.01; done", false);
	char *dir = tu_tmpdir();
	char *all = xasprintf("%s/all.log", dir), *win = xasprintf("%s/win.log", dir);
	char since[40], until[40], *text, *got;
	int64_t ts[64];
	struct lo2_buf want = LO2_BUF_INIT;

	assert_int_equal(tu_lo2_run(NULL, NULL, "logs", id, "--timestamps", "-o", all, NULL), 0);
	text = tu_read(all, NULL);
	assert_int_equal(timestamps_of(text, ts, 64), 40);
	/* Both bounds are inclusive at nanosecond precision: lines 10..20 exactly. */
	lo2_time_fmt_unix(ts[10], since, sizeof(since));
	lo2_time_fmt_unix(ts[20], until, sizeof(until));
	assert_int_equal(
	    tu_lo2_run(NULL, NULL, "logs", id, "--since", since, "--until", until, "-o", win, NULL), 0);
	got = tu_read(win, NULL);
	for (int i = 10; i <= 20; i++)
		lo2_buf_printf(&want, "line %d\n", i);
	assert_string_equal(got, want.data);
	free(got);
	/* One nanosecond inside on both sides drops the boundary lines. */
	lo2_time_fmt_unix(ts[10] + 1, since, sizeof(since));
	lo2_time_fmt_unix(ts[20] - 1, until, sizeof(until));
	assert_int_equal(
	    tu_lo2_run(NULL, NULL, "logs", id, "--since", since, "--until", until, "-o", win, NULL), 0);
	got = tu_read(win, NULL);
	lo2_buf_reset(&want);
	for (int i = 11; i <= 19; i++)
		lo2_buf_printf(&want, "line %d\n", i);
	assert_string_equal(got, want.data);
	free(got);
	free(text);
	lo2_buf_free(&want);
	tu_rm_rf(dir);
	free(dir);
	free(all);
	free(win);
	free(id);
}

static void test_logs_tty(void **state)
{
	char *id = run_container("tty", "echo tty one; echo tty two >&2", true);
	char *dir = tu_tmpdir();
	char *path = xasprintf("%s/t.log", dir);
	char *got;

	assert_int_equal(tu_lo2_run(NULL, NULL, "logs", id, "-o", path, NULL), 0);
	got = tu_read(path, NULL);
	assert_string_equal(got, "tty one\r\ntty two\r\n");
	free(got);
	tu_rm_rf(dir);
	free(dir);
	free(path);
	free(id);
}

struct ev_ctx {
	char *name;
	bool saw_start;
	struct lo2_err err;
	int rc;
	struct lo2_strv filters;
};

static int on_event(void *user, const struct engine_event *ev)
{
	struct ev_ctx *c = user;

	if (ev->name && strcmp(ev->name, c->name) == 0 && strcmp(ev->action, "start") == 0) {
		c->saw_start = true;
		assert_true(ev->time_ns > 0);
		assert_string_equal(lo2_kvv_get(ev->attrs, TU_LABEL), tu_run_id());
		return 1;
	}
	return 0;
}

static void *events_thread(void *arg)
{
	struct ev_ctx *c = arg;
	struct engine_events_opts o = {.since_ns = lo2_now_ns() - LO2_NS_PER_SEC,
	                               .until_ns = lo2_now_ns() + 60 * LO2_NS_PER_SEC,
	                               .filters = &c->filters};

	c->rc = engine_events(tu_engine(), &o, on_event, c, &c->err);
	return NULL;
}

static void test_events(void **state)
{
	struct ev_ctx c = {0};
	pthread_t t;
	char *id;

	c.name = xasprintf("lo2t-%s-ev", tu_run_id());
	lo2_strv_push(&c.filters, "type=container");
	lo2_strv_push(&c.filters, tu_label_filter());
	assert_int_equal(pthread_create(&t, NULL, events_thread, &c), 0);
	usleep(300000);
	id = run_container("ev", "true", false);
	pthread_join(t, NULL);
	assert_int_equal(c.rc, 0);
	assert_true(c.saw_start);
	lo2_strv_free(&c.filters);
	free(c.name);
	free(id);
}

static void test_cli_errors(void **state)
{
	char *out = NULL, *errs = NULL, *sock, *dir = tu_tmpdir(), *host;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock", 1);
	assert_int_equal(tu_lo2_run(&out, &errs, "engine", "ping", NULL), 1);
	assert_string_equal(
	    errs, "lo2: ping engine unix:///nonexistent/docker.sock: connect to "
	          "unix:///nonexistent/docker.sock: socket not found: is the Docker Engine running? "
	          "(set DOCKER_HOST if it listens elsewhere)\n");
	free(out);
	free(errs);
	/* A socket file nobody listens on: connection refused. */
	sock = xasprintf("%s/dead.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	host = xasprintf("unix://%s", sock);
	setenv("DOCKER_HOST", host, 1);
	assert_int_equal(tu_lo2_run(&out, &errs, "engine", "ping", NULL), 1);
	assert_true(strstr(errs, "connection refused: nothing is listening there") != NULL);
	free(out);
	free(errs);
	close(fd);
	setenv("DOCKER_HOST", "ssh://x", 1);
	assert_int_equal(tu_lo2_run(&out, &errs, "version", NULL), 1);
	assert_true(strstr(errs, "invalid DOCKER_HOST \"ssh://x\"") != NULL);
	free(out);
	free(errs);
	unsetenv("DOCKER_HOST");
	assert_int_equal(tu_lo2_run(&out, &errs, "version", NULL), 0);
	assert_true(lo2_str_has_prefix(out, "lo2 " LO2_VERSION));
	assert_true(strstr(out, "negotiated API 1.") != NULL);
	free(out);
	free(errs);
	assert_int_equal(tu_lo2_run(&out, &errs, "logs", "no-such-container-lo2", "-o", "/tmp/x.log", NULL),
	                 1);
	assert_string_equal(errs,
	                    "lo2: logs no-such-container-lo2: read logs of container no-such-container-lo2: "
	                    "inspect container no-such-container-lo2: 404 Not Found: No such container: "
	                    "no-such-container-lo2\n");
	free(out);
	free(errs);
	assert_int_equal(tu_lo2_run(&out, &errs, "logs", "x", NULL), 2);
	assert_true(strstr(errs, "missing -o FILE") != NULL);
	free(out);
	free(errs);
	assert_int_equal(tu_lo2_run(&out, &errs, "logs", "x", "--since", "soon", "-o", "f", NULL), 2);
	free(out);
	free(errs);
	tu_rm_rf(dir);
	free(dir);
	free(sock);
	free(host);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lifecycle),        cmocka_unit_test(test_create_errors),
	    cmocka_unit_test(test_networks_volumes), cmocka_unit_test(test_logs_byte_identical),
	    cmocka_unit_test(test_logs_window),      cmocka_unit_test(test_logs_tty),
	    cmocka_unit_test(test_events),           cmocka_unit_test(test_cli_errors),
	};

	tu_engine();
	tu_require_image(IMAGE);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
