/* test_stats.c - the stats recorder (run/stats.h) against the real engine: busybox containers of
 * a project of their own, one interval per test, the Prometheus-shaped files read back. A busy
 * loop's CPU seconds, a 64 MiB allocation in the working set, bytes sent between two containers
 * in their network counters, a restart with samples on both sides and in the events, `lo2 stats`,
 * and a stream the connection cuts (through a proxy), reported and taken up again. */
#include "testutil.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/sink.h"
#include "common/str.h"
#include "common/time.h"
#include "engine/engine.h"
#include "run/hub.h"
#include "run/stats.h"

#define IMAGE "lo2-test/busybox:latest"
#define SENT 1000000

static struct run_hub *hub;
static struct run_stats *rs;
static char *root, *project, *net_id, *cur_dir;

static int64_t local_now(void *user)
{
	return lo2_now_ns();
}

static void spec(struct engine_container_spec *s, const char *service, const char *script)
{
	memset(s, 0, sizeof(*s));
	s->name = xasprintf("%s-%s-1", project, service);
	s->image = xstrdup(IMAGE);
	s->cmd_set = true;
	lo2_strv_push(&s->cmd, "sh");
	lo2_strv_push(&s->cmd, "-c");
	lo2_strv_push(&s->cmd, script);
	s->stop_timeout = -1;
	lo2_kvv_set(&s->labels, TU_LABEL, tu_run_id());
	lo2_kvv_set(&s->labels, "com.docker.compose.project", project);
	lo2_kvv_set(&s->labels, "com.docker.compose.service", service);
	s->networks = xcalloc(1, sizeof(*s->networks));
	s->networks[0].network = xasprintf("%s-net", project);
	lo2_strv_push(&s->networks[0].aliases, service);
	s->n_networks = 1;
}

static char *start(const char *service, const char *script)
{
	struct engine_container_spec s;
	struct lo2_err err = {0};
	char *id = NULL;

	spec(&s, service, script);
	assert_int_equal(engine_container_create(tu_engine(), &s, &id, &err), 0);
	assert_int_equal(engine_container_start(tu_engine(), id, &err), 0);
	engine_container_spec_free(&s);
	return id;
}

static int setup(void **state)
{
	struct engine *e = tu_engine();
	struct engine_network_spec ns = {0};
	struct run_hub_opts ho = {0};
	struct run_stats_opts so = {.e = e, .now = local_now};
	struct lo2_err err = {0};

	tu_require_image(IMAGE);
	root = tu_tmpdir();
	project = xasprintf("stats-%s", tu_run_id());
	ns.name = xasprintf("%s-net", project);
	lo2_kvv_set(&ns.labels, TU_LABEL, tu_run_id());
	if (engine_network_create(e, &ns, &net_id, &err) < 0)
		fail_msg("%s", err.msg);
	engine_network_spec_free(&ns);
	ho.project = project;
	ho.since_ns = lo2_now_ns();
	if (run_hub_start(e, &ho, &hub, &err) < 0)
		fail_msg("%s", err.msg);
	so.hub = hub;
	so.project = project;
	if (run_stats_start(&so, &rs, &err) < 0)
		fail_msg("%s", err.msg);
	return 0;
}

static int teardown(void **state)
{
	run_stats_stop(rs);
	run_hub_stop(hub);
	run_stats_free(rs);
	tu_cleanup();
	tu_rm_rf(root);
	free(root);
	free(project);
	free(net_id);
	free(cur_dir);
	return 0;
}

/* ---- reading the files back ---- */

struct pts {
	double *t, *v;
	size_t n;
};

static void pts_free(struct pts *p)
{
	free(p->t);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* The series of metric for container `name` (and label key=val when key is set). */
static struct pts series(const char *dir, const char *metric, const char *name, const char *key,
                         const char *val)
{
	lo2_autofree char *path = xasprintf("%s/metric_%s.json", dir, metric);
	lo2_autofree char *text = tu_read(path, NULL);
	struct lo2_json *doc = NULL;
	struct lo2_err err = {0};
	struct pts p = {0};

	if (text == NULL)
		fail_msg("no file %s", path);
	assert_int_equal(lo2_json_parse(text, path, &doc, &err), 0);
	for (size_t i = 0; i < lo2_json_len(doc); i++) {
		const struct lo2_json *m = lo2_json_get(lo2_json_at(doc, i), "metric"),
		                      *vs = lo2_json_get(lo2_json_at(doc, i), "values");
		const char *n = lo2_json_str(lo2_json_get(m, "name"));

		if (n == NULL || strcmp(n, name) != 0 ||
		    (key &&
		     strcmp(lo2_json_str(lo2_json_get(m, key)) ? lo2_json_str(lo2_json_get(m, key)) : "",
		            val) != 0))
			continue;
		/* containers are named <project>-<service>-1 */
		assert_true(lo2_str_has_prefix(
		    n, lo2_json_str(lo2_json_get(m, "container_label_com_docker_compose_project"))));
		assert_non_null(lo2_json_str(lo2_json_get(m, "id")));
		assert_string_equal(lo2_json_str(lo2_json_get(m, "image")), IMAGE);
		p.n = lo2_json_len(vs);
		p.t = xcalloc(p.n + 1, sizeof(double));
		p.v = xcalloc(p.n + 1, sizeof(double));
		for (size_t k = 0; k < p.n; k++) {
			const struct lo2_json *pt = lo2_json_at(vs, k);

			assert_true(lo2_json_double(lo2_json_at(pt, 0), &p.t[k]));
			p.v[k] = strtod(lo2_json_str(lo2_json_at(pt, 1)), NULL);
		}
	}
	lo2_json_free(doc);
	if (p.n == 0)
		fail_msg("no series of %s for %s in %s", metric, name, path);
	return p;
}

/* The value at the last sample at or before t (the first sample when none is). */
static double at(const struct pts *p, double t)
{
	size_t k = 0;

	while (k + 1 < p->n && p->t[k + 1] <= t)
		k++;
	return p->v[k];
}

/* Waits until the container's log has a line starting with `what `; returns the rest (freed by
 * the caller) and the line's engine time in *ts. */
static char *wait_line(const char *id, const char *what, int timeout_s, double *ts)
{
	for (int i = 0; i < timeout_s * 10; i++) {
		struct engine_logs_opts o = {.timestamps = true};
		struct lo2_buf b = LO2_BUF_INIT;
		struct lo2_sink *sink = lo2_sink_memory_new(&b);
		struct lo2_err err = {0};
		lo2_autofree char *text = NULL;
		lo2_autofree char *needle = xasprintf(" %s ", what);
		char *hit;

		assert_int_equal(engine_container_logs_to_sink(tu_engine(), id, &o, sink, &err), 0);
		lo2_sink_abort(sink);
		text = lo2_buf_steal(&b);
		hit = text ? strstr(text, needle) : NULL;
		if (hit) {
			char *bol = hit;
			int64_t ns = 0;

			while (bol > text && bol[-1] != '\n')
				bol--;
			*hit = '\0';
			assert_int_equal(lo2_time_parse(bol, &ns, &err), 0);
			*ts = (double)ns / 1e9;
			hit += strlen(needle);
			return xstrndup(hit, strcspn(hit, "\n"));
		}
		lo2_sleep_ns(100 * 1000 * 1000);
	}
	fail_msg("no \"%s\" line from container %s in %d s", what, id, timeout_s);
	return NULL;
}

/* Closes the test's interval now and waits for its files. */
static char *finish(int n, struct run_stats_result *r)
{
	struct lo2_err err = {0};
	char *dir = NULL;

	run_stats_close(rs, lo2_now_ns());
	if (run_stats_wait(rs, n, r, &err) < 0)
		fail_msg("%s", err.msg);
	for (size_t i = 0; i < r->errors.n; i++)
		printf("interval error: %s\n", r->errors.v[i]);
	assert_int_equal(r->errors.n, 0);
	dir = xstrdup(cur_dir);
	return dir;
}

static int open_interval(void)
{
	static int seq;

	free(cur_dir);
	cur_dir = xasprintf("%s/iv%d", root, seq++);
	return run_stats_open(rs, lo2_now_ns(), cur_dir);
}

/* ---- tests ---- */

/* A busy loop for 5 s: the CPU counter rises by what the loop used (its own utime + stime from
 * /proc, and 5 ± 0.5 s when the machine gave it a whole CPU), then stays flat. */
static void test_cpu_burn(void **state)
{
	struct run_stats_result r;
	lo2_autofree char *name = xasprintf("%s-burn-1", project);
	int n = open_interval();
	lo2_autofree char *id = start("burn", "sleep 2; echo start now; sh -c 'while :; do :; done' & p=$!; "
	                                      "sleep 5; read -r a < /proc/$p/stat; kill $p; "
	                                      "echo burned $a; sleep 1000");
	double t0 = 0, t1 = 0, t2, ticks, rise, flat;
	lo2_autofree char *l1 = wait_line(id, "start", 30, &t0);
	lo2_autofree char *l2 = wait_line(id, "burned", 30, &t1);
	lo2_autofree char *dir = NULL;
	struct pts cpu;
	char *f[20] = {0}, *save = NULL;
	int k = 0;

	lo2_sleep_ns(4 * LO2_NS_PER_SEC);
	dir = finish(n, &r);
	/* /proc/<pid>/stat: utime and stime are fields 14 and 15, in 1/100 s */
	for (char *tok = strtok_r(l2, " ", &save); tok && k < 20; tok = strtok_r(NULL, " ", &save))
		f[k++] = tok;
	assert_true(k >= 15);
	ticks = (atof(f[13]) + atof(f[14])) / 100.0;
	cpu = series(dir, "lo2_container_cpu_usage_seconds_total", name, NULL, NULL);
	rise = at(&cpu, t1 + 0.3) - at(&cpu, t0);
	t2 = cpu.t[cpu.n - 1];
	flat = cpu.v[cpu.n - 1] - at(&cpu, t1 + 1.2);
	printf("burn: loop used %.2f s (proc), counter rose %.3f s over the burn, then %.3f s in %.1f s\n",
	       ticks, rise, flat, t2 - t1 - 1.2);
	assert_true(fabs(rise - ticks) < 0.5);
	if (ticks >= 4.5)
		assert_true(fabs(rise - 5.0) <= 0.5);
	assert_true(t2 - t1 >= 2.5);
	assert_true(flat < 0.1);
	pts_free(&cpu);
	run_stats_result_free(&r);
}

/* 64 MiB held in a shell variable: the working set rises by at least 60 MiB. */
static void test_memory(void **state)
{
	struct run_stats_result r;
	lo2_autofree char *name = xasprintf("%s-alloc-1", project);
	int n = open_interval();
	lo2_autofree char *id =
	    start("alloc", "sleep 2; echo before x; x=$(head -c 67108864 /dev/zero | tr '\\0' a); "
	                   "echo holding ${#x}; while :; do sleep 1; done");
	double t0 = 0, t1 = 0;
	lo2_autofree char *l1 = wait_line(id, "before", 30, &t0);
	lo2_autofree char *l2 = wait_line(id, "holding", 60, &t1);
	lo2_autofree char *dir = NULL;
	struct pts ws, usage;
	double rise;

	lo2_sleep_ns(3 * LO2_NS_PER_SEC);
	dir = finish(n, &r);
	assert_string_equal(l2, "67108864");
	ws = series(dir, "lo2_container_memory_working_set_bytes", name, NULL, NULL);
	usage = series(dir, "lo2_container_memory_usage_bytes", name, NULL, NULL);
	rise = ws.v[ws.n - 1] - at(&ws, t0);
	printf("alloc: working set %.1f MiB before, %.1f MiB holding (+%.1f MiB)\n", at(&ws, t0) / 1048576,
	       ws.v[ws.n - 1] / 1048576, rise / 1048576);
	assert_true(rise >= 60.0 * 1048576);
	assert_true(usage.v[usage.n - 1] >= ws.v[ws.n - 1]);
	pts_free(&ws);
	pts_free(&usage);
	run_stats_result_free(&r);
}

/* 1,000,000 bytes over TCP from one container to another: the receiver's eth0 rx bytes and the
 * sender's tx bytes rise by that, plus headers (under 10 %). */
static void test_network(void **state)
{
	struct run_stats_result r;
	lo2_autofree char *rx_name = xasprintf("%s-rx-1", project), *tx_name = xasprintf("%s-tx-1", project);
	int n = open_interval();
	lo2_autofree char *rx =
	    start("rx", "echo listening now; sleep 1000 | nc -l -p 5000 | wc -c | sed 's/^/got /'");
	lo2_autofree char *tx = NULL;
	double t0 = 0, t1 = 0;
	lo2_autofree char *l1 = wait_line(rx, "listening", 30, &t0);
	lo2_autofree char *l2 = NULL;
	lo2_autofree char *dir = NULL;
	struct pts rxb, txb;
	double got, sent;

	tx = start("tx", "sleep 2; head -c 1000000 /dev/zero | nc rx 5000; sleep 1000");
	l2 = wait_line(rx, "got", 30, &t1);
	assert_int_equal(atoi(l2), SENT);
	lo2_sleep_ns(3 * LO2_NS_PER_SEC);
	dir = finish(n, &r);
	rxb = series(dir, "lo2_container_network_receive_bytes_total", rx_name, "interface", "eth0");
	txb = series(dir, "lo2_container_network_transmit_bytes_total", tx_name, "interface", "eth0");
	got = rxb.v[rxb.n - 1] - rxb.v[0];
	sent = txb.v[txb.n - 1] - txb.v[0];
	printf("network: receiver counted %.0f bytes, sender %.0f, for %d sent\n", got, sent, SENT);
	assert_true(got >= SENT && got <= SENT * 1.1);
	assert_true(sent >= SENT && sent <= SENT * 1.1);
	pts_free(&rxb);
	pts_free(&txb);
	run_stats_result_free(&r);
}

/* A container restarted mid-test: samples on both sides of the restart, the restart (and the
 * new start) in the recorder's events, one stream that survived it; then stopped for 3 s: no
 * values in those seconds, the engine's empty samples counted. */
static void test_restart(void **state)
{
	struct run_stats_result r;
	lo2_autofree char *name = xasprintf("%s-again-1", project);
	int n = open_interval();
	lo2_autofree char *id = start("again", "trap 'exit 0' TERM; while :; do sleep 0.2; done");
	lo2_autofree char *dir = NULL, *section = NULL, *needle = NULL;
	struct lo2_err err = {0};
	struct pts pids;
	double tr, ts, te;
	size_t before = 0, after = 0, stopped = 0;
	struct lo2_json *doc = NULL;
	const struct lo2_json *c;
	int64_t empty = 0, samples = 0;

	lo2_sleep_ns(4 * LO2_NS_PER_SEC);
	tr = (double)lo2_now_ns() / 1e9;
	assert_int_equal(engine_container_restart(tu_engine(), id, 1, &err), 0);
	lo2_sleep_ns(4 * LO2_NS_PER_SEC);
	/* stopped for 3 s: the engine's empty samples, no values */
	ts = (double)lo2_now_ns() / 1e9;
	assert_int_equal(engine_container_stop(tu_engine(), id, 1, &err), 0);
	lo2_sleep_ns(3 * LO2_NS_PER_SEC);
	te = (double)lo2_now_ns() / 1e9;
	assert_int_equal(engine_container_start(tu_engine(), id, &err), 0);
	lo2_sleep_ns(3 * LO2_NS_PER_SEC);
	dir = finish(n, &r);
	assert_int_equal(lo2_json_parse(r.section, "section", &doc, &err), 0);
	c = lo2_json_path(doc, "containers", name, NULL);
	assert_true(lo2_json_int(lo2_json_get(c, "empty_samples"), &empty));
	assert_true(lo2_json_int(lo2_json_get(c, "samples"), &samples));
	printf("restart: %" PRId64 " samples, %" PRId64 " empty while stopped\n", samples, empty);
	assert_true(empty >= 2);
	lo2_json_free(doc);
	pids = series(dir, "lo2_container_pids", name, NULL, NULL);
	for (size_t k = 0; k < pids.n; k++) {
		before += pids.t[k] < tr;
		after += pids.t[k] > tr + 0.5 && pids.t[k] < ts;
		stopped += pids.t[k] > ts + 1.5 && pids.t[k] < te; /* the stop itself takes up to 1 s */
	}
	printf("restart: %zu samples before, %zu after, %zu while stopped\n", before, after, stopped);
	assert_true(before >= 2 && after >= 2);
	assert_int_equal(stopped, 0);
	section = run_stats_section(rs);
	needle = xasprintf("\"%s\":{\"name\":\"%s\"", id, name);
	assert_non_null(strstr(section, needle));
	assert_non_null(strstr(strstr(section, needle), "\"restart\"]"));
	assert_non_null(strstr(strstr(section, needle), "\"streams\":1,"));
	pts_free(&pids);
	run_stats_result_free(&r);
}

/* `lo2 stats -p PROJECT --duration 3 -o DIR`: the same files, the container's series in them, and
 * its figures printed. */
static void test_cli(void **state)
{
	lo2_autofree char *id = start("cli", "trap 'exit 0' TERM; while :; do sleep 0.2; done");
	lo2_autofree char *dir = xasprintf("%s/cli", root), *name = xasprintf("%s-cli-1", project);
	char *out = NULL, *errs = NULL;
	struct pts mem;
	int rc = tu_lo2_run(&out, &errs, "stats", "-p", project, "--duration", "3", "-o", dir, NULL);

	if (rc != 0)
		fail_msg("lo2 stats exited %d: %s", rc, errs);
	assert_non_null(strstr(out, name));
	assert_non_null(strstr(out, " files in "));
	mem = series(dir, "lo2_container_memory_usage_bytes", name, NULL, NULL);
	assert_true(mem.n >= 2 && mem.v[0] > 0);
	pts_free(&mem);
	free(out);
	free(errs);
}

/* ---- a stats stream the connection cuts ---- */

/* Through a proxy in front of the engine's socket: the first stats stream's answer is cut after
 * CUT_BYTES (inside a sample), every other answer passes whole. */
#define CUT_BYTES 5000

static atomic_int stats_seen;

static int arm(void *user, const char *request)
{
	return strstr(request, "/stats?stream=1") && atomic_fetch_add(&stats_seen, 1) == 0 ? 1 : -1;
}

static size_t cut(void *user, int plan, void **state, const char *chunk, size_t n)
{
	size_t *passed = *state, pass = n;

	if (passed == NULL)
		*state = passed = xcalloc(1, sizeof(*passed));
	if (*passed + pass > CUT_BYTES)
		pass = CUT_BYTES - *passed;
	*passed += pass;
	return pass;
}

/* The first stats stream is cut inside a sample: the failure is in the interval's errors, named
 * by container, the stream is taken up again and samples go on after it. */
static void test_stream_cut(void **state)
{
	lo2_autofree char *sock = xasprintf("%s/proxy.sock", root), *host = xasprintf("unix://%s", sock);
	lo2_autofree char *cut_project = xasprintf("statscut-%s", tu_run_id());
	lo2_autofree char *name = xasprintf("%s-cut-1", cut_project), *dir = xasprintf("%s/cut", root);
	struct engine_container_spec s;
	struct engine *pe = NULL;
	struct run_hub *h = NULL;
	struct run_stats *r = NULL;
	struct run_hub_opts ho = {.project = cut_project, .since_ns = lo2_now_ns()};
	struct run_stats_opts so = {.now = local_now, .project = cut_project};
	struct run_stats_result res;
	struct lo2_err err = {0};
	lo2_autofree char *id = NULL, *section = NULL;
	struct tu_proxy *proxy = tu_proxy_start(sock, arm, cut, NULL);
	int n;
	bool named = false;
	struct pts cpu;

	assert_int_equal(engine_open(host, &pe, &err), 0);
	assert_int_equal(run_hub_start(pe, &ho, &h, &err), 0);
	so.e = pe;
	so.hub = h;
	so.retry_ns = 200 * 1000 * 1000;
	assert_int_equal(run_stats_start(&so, &r, &err), 0);
	n = run_stats_open(r, lo2_now_ns(), dir);
	memset(&s, 0, sizeof(s));
	s.name = xstrdup(name);
	s.image = xstrdup(IMAGE);
	s.cmd_set = true;
	lo2_strv_push(&s.cmd, "sh");
	lo2_strv_push(&s.cmd, "-c");
	lo2_strv_push(&s.cmd, "trap 'exit 0' TERM; while :; do sleep 0.2; done");
	s.stop_timeout = -1;
	lo2_kvv_set(&s.labels, TU_LABEL, tu_run_id());
	lo2_kvv_set(&s.labels, "com.docker.compose.project", cut_project);
	lo2_kvv_set(&s.labels, "com.docker.compose.service", "cut");
	assert_int_equal(engine_container_create(tu_engine(), &s, &id, &err), 0);
	assert_int_equal(engine_container_start(tu_engine(), id, &err), 0);
	engine_container_spec_free(&s);
	lo2_sleep_ns(8 * LO2_NS_PER_SEC);
	run_stats_close(r, lo2_now_ns());
	assert_int_equal(run_stats_wait(r, n, &res, &err), 0);
	run_stats_stop(r);
	section = run_stats_section(r);
	run_hub_stop(h);
	run_stats_free(r);
	engine_free(pe);
	assert_int_equal(tu_proxy_cuts(proxy), 1);
	tu_proxy_stop(proxy);
	for (size_t i = 0; i < res.errors.n; i++) {
		printf("interval error: %s\n", res.errors.v[i]);
		named = named || (lo2_str_has_prefix(res.errors.v[i], "stats of ") &&
		                  strstr(res.errors.v[i], name) && strstr(res.errors.v[i], "(reconnecting)"));
	}
	assert_true(named);
	assert_non_null(strstr(section, "\"streams\":2,"));
	assert_non_null(strstr(section, "\"stream_failures\":1,"));
	cpu = series(dir, "lo2_container_cpu_usage_seconds_total", name, NULL, NULL);
	printf("cut: %zu samples over the interval\n", cpu.n);
	assert_true(cpu.n >= 5);
	pts_free(&cpu);
	run_stats_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cpu_burn), cmocka_unit_test(test_memory), cmocka_unit_test(test_network),
	    cmocka_unit_test(test_restart),  cmocka_unit_test(test_cli),    cmocka_unit_test(test_stream_cut),
	};

	tu_engine();
	tu_filter();
	return cmocka_run_group_tests(tests, setup, teardown);
}
