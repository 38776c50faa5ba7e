/* test_fetch.c - `lo2 fetch` and `lo2 metrics list` end to end: against a stand-in server
 * (tests/fetch_server.py on 127.0.0.1: recorded answers, 400, 502, a cut body, a stalled body,
 * a flaky 503, a busy Jaeger service) and against a real Prometheus scraping a real
 * node-exporter (the Debian binaries on loopback, when installed). */
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/sink.h"
#include "common/time.h"
#include "engine/engine.h"

static pid_t children[4];
static int nchildren;

static void kill_children(void)
{
	for (int i = 0; i < nchildren; i++) {
		kill(children[i], SIGTERM);
		waitpid(children[i], NULL, 0);
	}
	nchildren = 0;
}

/* Starts argv in the background (stdout to a pipe when port != NULL, read as one line). */
static pid_t spawn(char *const argv[], int *port, const char *log)
{
	int p[2];
	pid_t pid;

	if (pipe(p) != 0)
		abort();
	pid = fork();
	if (pid == 0) {
		FILE *l = log ? freopen(log, "w", stderr) : NULL;

		(void)l;
		dup2(p[1], 1);
		close(p[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	children[nchildren++] = pid;
	if (port) {
		char line[32] = "";
		FILE *f = fdopen(p[0], "r");

		if (fgets(line, sizeof(line), f) == NULL)
			*port = -1;
		else
			*port = atoi(line);
		fclose(f);
	} else {
		close(p[0]);
	}
	return pid;
}

static bool have(const char *prog)
{
	const char *argv[] = {"sh", "-c", NULL, NULL};
	lo2_autofree char *cmd = xasprintf("command -v %s >/dev/null", prog);

	argv[2] = cmd;
	return tu_run(argv, NULL, NULL, NULL) == 0;
}

static char *path_in(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static bool exists(const char *dir, const char *name)
{
	lo2_autofree char *p = path_in(dir, name);

	return access(p, F_OK) == 0;
}

static void assert_same_file(const char *a, const char *b)
{
	size_t la, lb;
	char *x = tu_read(a, &la), *y = tu_read(b, &lb);

	assert_non_null(x);
	assert_non_null(y);
	assert_int_equal(la, lb);
	assert_memory_equal(x, y, la);
	free(x);
	free(y);
}

static int fake_port;

static int start_fake(void **state)
{
	lo2_autofree char *script = xasprintf("%s/tests/fetch_server.py", LO2_SOURCE_DIR);
	char *argv[] = {"python3", script, NULL};

	if (!have("python3")) {
		printf("python3 (for the stand-in server) is not installed: its tests are skipped\n");
		fake_port = -1;
		return 0;
	}
	spawn(argv, &fake_port, NULL);
	assert_true(fake_port > 0);
	return 0;
}

static int stop_all(void **state)
{
	kill_children();
	return 0;
}

/* Every failure kind is reported by name, the good metrics are written, exit is 1. */
static void fetch_failures_named(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *url = xasprintf("http://127.0.0.1:%d", fake_port);
	lo2_autofree char *good = xasprintf("%s/fetch/unicode.expected.json", LO2_FIXTURES);
	lo2_autofree char *many = xasprintf("%s/fetch/many.expected.json", LO2_FIXTURES);
	lo2_autofree char *p_good = path_in(dir, "metric_good.json");
	lo2_autofree char *p_many = path_in(dir, "metric_many.json");
	lo2_autofree char *p_flaky = path_in(dir, "metric_flaky.json");
	char *out = NULL, *err = NULL;
	int rc;

	if (fake_port < 0)
		skip();

	rc = tu_lo2_run(&out, &err, "fetch", "--start", "1739746339", "--end", "1739746519", "-o", dir,
	                "--prometheus", url, "--timeout", "3", "--retries", "2", NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "lo2: metric bad: HTTP 400: bad_data: 1:1: parse error: unexpected "
	                            "character: '@'\n"));
	assert_non_null(
	    strstr(err, "lo2: metric proxy: HTTP 502: <html><body>502 Bad Gateway</body></html>\n"));
	assert_non_null(strstr(err,
	                       "lo2: metric trunc: the server closed the connection before the whole answer "
	                       "arrived (the answer is incomplete)\n"));
	assert_non_null(strstr(err,
	                       "lo2: metric stall: timed out: the server sent no complete answer in time "
	                       "(busy, stalled or unreachable)\n"));
	assert_null(strstr(err, "transfer closed with"));
	assert_non_null(strstr(err, "metrics: 3 written, 1 empty, 4 failed\n"));
	assert_same_file(p_good, good);
	assert_same_file(p_flaky, good);
	assert_same_file(p_many, many);
	assert_false(exists(dir, "metric_empty.json"));
	assert_false(exists(dir, "metric_bad.json"));
	assert_false(exists(dir, "metric_trunc.json"));
	assert_false(exists(dir, "metric_stall.json"));
	assert_true(exists(dir, "last_fetch_time.txt"));
	free(out);
	free(err);
	tu_rm_rf(dir);
}

/* A window of 181 points fetched in chunks of 25 equals the one big query's file. */
static void fetch_chunks_equal_one_query(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *url = xasprintf("http://127.0.0.1:%d", fake_port);
	lo2_autofree char *list = path_in(dir, "names.txt");
	lo2_autofree char *out1 = path_in(dir, "one");
	lo2_autofree char *out3 = path_in(dir, "chunked");
	lo2_autofree char *a = path_in(out1, "metric_many.json");
	lo2_autofree char *b = path_in(out3, "metric_many.json");
	struct lo2_err e = {0};

	if (fake_port < 0)
		skip();

	assert_int_equal(lo2_write_file_atomic(list, "many\n", 5, &e), 0);
	assert_int_equal(tu_lo2_run(NULL, NULL, "fetch", "--start", "1739746339", "--end", "1739746349", "-o",
	                            out1, "--prometheus", url, "--metrics", list, NULL),
	                 0);
	/* the stand-in answers every chunk with the same 12 points per series, so the merged
	 * file holds each series' points three times, in chunk order: compare with python */
	assert_int_equal(tu_lo2_run(NULL, NULL, "fetch", "--start", "1739746339", "--end", "1739746349", "-o",
	                            out3, "--prometheus", url, "--metrics", list, "--max-points", "4", NULL),
	                 0);
	{
		lo2_autofree char *script = xasprintf("%s/tests/fetch_merge_ref.py", LO2_SOURCE_DIR);
		lo2_autofree char *src = xasprintf("%s/fetch/many.json", LO2_FIXTURES);
		lo2_autofree char *exp = path_in(dir, "merged.json");
		const char *argv[] = {"python3", script, src, "3", exp, NULL};

		assert_int_equal(tu_run(argv, NULL, NULL, NULL), 0);
		assert_same_file(b, exp);
	}
	assert_true(exists(out1, "metric_many.json"));
	(void)a;
	tu_rm_rf(dir);
}

/* Traces: the recorded answer as the original's CSV; a busy service paged past the limit;
 * a service with no traces gets the header only. Prometheus down keeps the traces. */
static void fetch_traces_and_prometheus_down(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *url = xasprintf("http://127.0.0.1:%d", fake_port);
	lo2_autofree char *exp = xasprintf("%s/fetch/traces.expected.csv", LO2_FIXTURES);
	lo2_autofree char *p_svc = path_in(dir, "traces_svc.csv");
	lo2_autofree char *p_busy = path_in(dir, "traces_busy.csv");
	lo2_autofree char *p_none = path_in(dir, "traces_none.csv");
	lo2_autofree char *p_last = path_in(dir, "last_fetch_time.txt");
	char *out = NULL, *err = NULL, *text;
	size_t len, rows = 0;
	int rc;

	if (fake_port < 0)
		skip();

	rc = tu_lo2_run(&out, &err, "fetch", "--start", "1739746339", "--end", "1739746519", "-o", dir,
	                "--prometheus", "http://127.0.0.1:1", "--metrics", "all", "--jaeger", url,
	                "--services", "svc,busy,none", "--limit", "8", NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err,
	                       "lo2: list Prometheus metrics: GET http://127.0.0.1:1/api/v1/label/__name__/"
	                       "values: "));
	assert_non_null(strstr(err, "traces: 2 written, 1 empty, 0 failed\n"));
	assert_same_file(p_svc, exp);
	text = tu_read(p_none, &len);
	assert_string_equal(text, "Trace ID,Span ID,Operation Name,Start Time,End Time,Tags\n");
	free(text);
	text = tu_read(p_busy, &len);
	for (int i = 0; i < 50; i++) {
		lo2_autofree char *id = xasprintf("\nt%02d,s%02d,op,", i, i);
		char *hit = strstr(text, id);

		assert_non_null(hit);
		assert_null(strstr(hit + 1, id));
	}
	for (size_t i = 0; i < len; i++)
		rows += text[i] == '\n';
	assert_int_equal(rows, 51);
	free(text);
	text = tu_read(p_last, &len);
	assert_string_equal(text, "2025-02-16T22:55:19+00:00");
	free(text);
	free(out);
	free(err);
	tu_rm_rf(dir);
}

/* A Jaeger answer of about 75 MB is read as a stream: every row is written, and lo2's peak
 * memory stays far below the answer's size (the whole-body parser held the body and its tree). */
static void fetch_traces_large_answer(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *url = xasprintf("http://127.0.0.1:%d", fake_port);
	lo2_autofree char *path = path_in(dir, "traces_huge.csv");
	const char *argv[] = {
	    "/usr/bin/time", "-f",         "maxrss %M", tu_lo2(), "fetch",    "--start", "1739746339",
	    "--end",         "1739746519", "-o",        dir,      "--jaeger", url,       "--services",
	    "huge",          "--limit",    "100000",    NULL};
	char *out = NULL, *err = NULL, *text, *m;
	size_t len, rows = 0;
	long kb;

	if (fake_port < 0)
		skip();
	if (!have("/usr/bin/time")) {
		printf("skip fetch_traces_large_answer: install the Debian package time\n");
		return;
	}
	assert_int_equal(tu_run(argv, NULL, &out, &err), 0);
	m = strstr(err, "maxrss ");
	assert_non_null(m);
	kb = atol(m + 7);
	text = tu_read(path, &len);
	for (size_t i = 0; i < len; i++)
		rows += text[i] == '\n';
	assert_int_equal(rows, 1 + 20000 * 4);
	assert_non_null(
	    strstr(text, "\nh00000,s00000-0,op 0,2025-02-16T22:53:20+00:00,2025-02-16T22:53:20.000010+00:00,"
	                 "\"{'k0': 'vvvv"));
	assert_non_null(strstr(text, "\nh19999,s19999-3,op 3,"));
	assert_non_null(strstr(text, "'n': 7, 'f': 0.25}\"\n"));
	printf("fetch of a 75 MB Jaeger answer: peak RSS %ld kB\n", kb);
#ifdef __SANITIZE_ADDRESS__
	assert_true(kb < 256 * 1024); /* ASan's shadow and quarantine; the whole-body parser: > 1 GB */
#else
	assert_true(kb < 40 * 1024);
#endif
	free(text);
	free(out);
	free(err);
	tu_rm_rf(dir);
}

/* A real Prometheus scraping a real node-exporter: list, then every metric of a short window. */
static void real_prometheus(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	int base = 20000 + (int)(getpid() % 20000);
	lo2_autofree char *ne_addr = xasprintf("127.0.0.1:%d", base);
	lo2_autofree char *pr_addr = xasprintf("127.0.0.1:%d", base + 1);
	lo2_autofree char *url = xasprintf("http://%s", pr_addr);
	lo2_autofree char *cfg = path_in(dir, "prometheus.yml");
	lo2_autofree char *data = path_in(dir, "data");
	lo2_autofree char *out = path_in(dir, "out");
	lo2_autofree char *names = path_in(dir, "names.txt");
	lo2_autofree char *cfgtext =
	    xasprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n"
	              "  - job_name: node\n    static_configs:\n      - targets: ['%s']\n",
	              ne_addr);
	lo2_autofree char *lf = xasprintf("--web.listen-address=%s", ne_addr);
	lo2_autofree char *cf = xasprintf("--config.file=%s", cfg);
	lo2_autofree char *df = xasprintf("--storage.tsdb.path=%s", data);
	lo2_autofree char *pf = xasprintf("--web.listen-address=%s", pr_addr);
	char *ne_argv[] = {"prometheus-node-exporter", lf, NULL};
	char *pr_argv[] = {"prometheus", cf, df, pf, NULL};
	struct lo2_err e = {0};
	struct lo2_json *doc = NULL;
	char *o = NULL, *er = NULL, *text;
	char s[32], en[32];
	int64_t end;
	size_t len;

	if (!have("prometheus") || !have("prometheus-node-exporter")) {
		printf("skip real_prometheus: install the Debian packages prometheus and "
		       "prometheus-node-exporter\n");
		tu_rm_rf(dir);
		return;
	}
	assert_int_equal(lo2_write_file_atomic(cfg, cfgtext, strlen(cfgtext), &e), 0);
	spawn(ne_argv, NULL, "/dev/null");
	spawn(pr_argv, NULL, "/dev/null");
	/* wait for the first scrape (the names appear with it), then for a 5 s window after it */
	for (int i = 0; i < 60; i++) {
		o = er = NULL;
		if (tu_lo2_run(&o, &er, "metrics", "list", "--prometheus", url, "-o", names, NULL) == 0 &&
		    (text = tu_read(names, &len)) != NULL) {
			bool up = strstr(text, "\nup") != NULL;

			free(text);
			if (up)
				break;
		}
		free(o);
		free(er);
		o = er = NULL;
		lo2_sleep_ns(LO2_NS_PER_SEC / 2);
	}
	text = tu_read(names, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "node_load1\n"));
	assert_non_null(strstr(text, "\nup"));
	free(text);
	free(o);
	free(er);
	end = (lo2_now_ns() / LO2_NS_PER_SEC + 7) * LO2_NS_PER_SEC;
	lo2_sleep_ns(end - lo2_now_ns() + LO2_NS_PER_SEC);
	snprintf(s, sizeof(s), "%lld", (long long)(end / LO2_NS_PER_SEC - 5));
	snprintf(en, sizeof(en), "%lld", (long long)(end / LO2_NS_PER_SEC));
	assert_int_equal(tu_lo2_run(&o, &er, "fetch", "--start", s, "--end", en, "-o", out, "--prometheus",
	                            url, "--metrics", names, NULL),
	                 0);
	assert_non_null(strstr(er, " 0 failed\n"));
	{
		lo2_autofree char *up = path_in(out, "metric_up.json");
		const struct lo2_json *values;

		text = tu_read(up, &len);
		assert_non_null(text);
		assert_int_equal(lo2_json_parse(text, "metric_up.json", &doc, &e), 0);
		values = lo2_json_get(lo2_json_at((const struct lo2_json *)doc, 0), "values");
		assert_int_equal(lo2_json_len(values), 6); /* start..end at 1 s, both inclusive */
		lo2_json_free(doc);
		free(text);
	}
	free(o);
	free(er);
	/* the same window in 3 chunks of 2 points gives the same files */
	{
		lo2_autofree char *out3 = path_in(dir, "chunked");
		const char *argv[] = {"diff", "-r", "-q", out, out3, NULL};

		assert_int_equal(tu_lo2_run(NULL, NULL, "fetch", "--start", s, "--end", en, "-o", out3,
		                            "--prometheus", url, "--metrics", names, "--max-points", "2",
		                            NULL),
		                 0);
		assert_int_equal(tu_run(argv, NULL, NULL, NULL), 0);
	}
	tu_rm_rf(dir);
}

/* The lines of a "<RFC 3339 ns> <text>" log with start <= ts < end, text only. */
static void lines_in(const char *log, int64_t start, int64_t end, struct lo2_buf *out)
{
	const char *p = log;

	while (*p) {
		const char *nl = strchr(p, '\n'), *sp = strchr(p, ' ');
		char ts[40];
		int64_t t;
		struct lo2_err e = {0};

		if (nl == NULL || sp == NULL || sp > nl || (size_t)(sp - p) >= sizeof(ts))
			break;
		memcpy(ts, p, (size_t)(sp - p));
		ts[sp - p] = '\0';
		if (lo2_time_parse(ts, &t, &e) == 0 && t >= start && t < end)
			lo2_buf_append(out, sp + 1, (size_t)(nl - sp));
		p = nl + 1;
	}
}

/* A container writes a numbered line every millisecond; five adjacent windows exported by
 * `lo2 logs -f` hold exactly the container's lines of the whole span, none twice. */
static void logs_adjacent_windows(void **state)
{
	struct engine *e = tu_engine();
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *project = xasprintf("lo2fetchtest%s", tu_run_id());
	lo2_autofree char *compose = path_in(dir, "compose.yml");
	struct engine_container_spec spec = {0};
	struct engine_logs_opts all = {.timestamps = true};
	struct lo2_buf full = LO2_BUF_INIT, expect = LO2_BUF_INIT, got = LO2_BUF_INIT;
	struct lo2_sink *mem;
	struct lo2_err err = {0};
	lo2_autofree char *id = NULL;
	lo2_autofree char *name = xasprintf("%s-writer-1", project);
	int64_t off, t[6];

	tu_require_image("lo2-test/busybox:latest");
	spec.name = xstrdup(name);
	spec.image = xstrdup("lo2-test/busybox:latest");
	spec.cmd_set = true;
	lo2_strv_push(&spec.cmd, "sh");
	lo2_strv_push(&spec.cmd, "-c");
	lo2_strv_push(&spec.cmd, "i=0; while true; do echo line $i; i=$((i+1)); usleep 1000; done");
	lo2_kvv_set(&spec.labels, TU_LABEL, tu_run_id());
	lo2_kvv_set(&spec.labels, "com.docker.compose.project", project);
	assert_int_equal(engine_container_create(e, &spec, &id, &err), 0);
	engine_container_spec_free(&spec);
	assert_int_equal(engine_container_start(e, id, &err), 0);
	assert_int_equal(engine_clock_offset(e, &off, &err), 0);
	lo2_sleep_ns(LO2_NS_PER_SEC / 2);
	/* five windows of 300 ms with ns-precise bounds, in the engine's clock */
	t[0] = lo2_now_ns() + off + 123457;
	for (int i = 1; i < 6; i++)
		t[i] = t[i - 1] + 300 * 1000000 + 789;
	lo2_sleep_ns(t[5] - (lo2_now_ns() + off) + LO2_NS_PER_SEC / 2);
	assert_int_equal(engine_container_stop(e, id, 1, &err), 0);
	assert_int_equal(lo2_write_file_atomic(compose, "services: {}\n", 13, &err), 0);
	for (int i = 0; i < 5; i++) {
		lo2_autofree char *out = xasprintf("%s/w%d", dir, i);
		lo2_autofree char *file = xasprintf("%s/%s.log.gz", out, name);
		char a[32], b[32], *o = NULL, *er = NULL, *text;
		size_t len;

		lo2_time_fmt_unix(t[i], a, sizeof(a));
		lo2_time_fmt_unix(t[i + 1], b, sizeof(b));
		assert_int_equal(tu_lo2_run(&o, &er, "logs", "-f", compose, "-p", project, "--start", a,
		                            "--end", b, "-o", out, NULL),
		                 0);
		text = tu_read(file, &len);
		assert_non_null(text);
		assert_true(len > 0);
		lo2_buf_append(&got, text, len);
		free(text);
		free(o);
		free(er);
	}
	mem = lo2_sink_memory_new(&full);
	assert_int_equal(engine_container_logs_to_sink(e, id, &all, mem, &err), 0);
	lo2_sink_commit(mem, &err);
	lines_in(full.data, t[0], t[5], &expect);
	assert_true(expect.len > 0);
	assert_int_equal(got.len, expect.len);
	assert_memory_equal(got.data, expect.data, got.len);
	lo2_buf_free(&full);
	lo2_buf_free(&expect);
	lo2_buf_free(&got);
	tu_cleanup();
	tu_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fetch_failures_named),
	    cmocka_unit_test(fetch_chunks_equal_one_query),
	    cmocka_unit_test(fetch_traces_and_prometheus_down),
	    cmocka_unit_test(fetch_traces_large_answer),
	    cmocka_unit_test(real_prometheus),
	    cmocka_unit_test(logs_adjacent_windows), /* last: it skips the process without an engine */
	};

	return cmocka_run_group_tests(tests, start_fake, stop_all);
}
