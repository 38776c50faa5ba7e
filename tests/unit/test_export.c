/* test_export.c - lo2 export on a run folder made here (run.json through run/manifest.h): the LO2
 * layout (complete tests only, plain logs without engine timestamps, hard links, no lo2 files,
 * the manifest beside the output), the CSV tables (rows, quoting, labels), and its errors. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "common/mem.h"
#include "common/sink.h"
#include "common/str.h"
#include "export/export.h"
#include "run/config.h"
#include "run/manifest.h"
#include "run/run.h"

#define T0 1796000000000000000LL /* 2026-11-30T00:53:20Z */
#define METRIC \
	"[\n    {\n        \"metric\": {\n            \"__name__\": \"node_load1\",\n            " \
	"\"instance\": " \
	"\"n:9100\",\n            \"job\": \"node\"\n        },\n        \"values\": [\n            [\n    " \
	"            " \
	"1796000001,\n                \"0.5\"\n            ],\n            [\n                " \
	"1796000002.5,\n          " \
	"      \"0.75\"\n            ]\n        ]\n    }\n]"

static void put(const char *dir, const char *rel, const char *text)
{
	struct lo2_err err = {0};
	char *p = xasprintf("%s/%s", dir, rel), *slash = strrchr(p, '/');
	struct lo2_sink *s;

	*slash = '\0';
	assert_int_equal(lo2_mkdir_p(p, 0755, &err), 0);
	*slash = '/';
	assert_int_equal(lo2_sink_open_path(p, &s, &err), 0);
	assert_int_equal(lo2_sink_write(s, text, strlen(text), &err), 0);
	assert_int_equal(lo2_sink_commit(s, &err), 0);
	free(p);
}

static void add(struct run_test *t, const char *dir, const char *rel, const char *text)
{
	struct lo2_err err = {0};

	put(dir, rel, text);
	assert_int_equal(run_manifest_add_file(t, dir, rel, &err), 0);
}

/* A run of three tests: correct (complete), get_x_404 (complete, with an event), broken_400
 * (interrupted, in broken_400.incomplete-1/); _between/ and lo2's own files beside them. */
static char *make_run(const char *root, bool timestamps)
{
	char *dir = xasprintf("%s/LO2_run_1796000000", root), *mp = xasprintf("%s/run.json", dir);
	const char *svc =
	    timestamps
	        ? "2026-11-30T00:53:21.000000001Z 00:53:21.000 [main] - - INFO a - ok, \"q\"\n"
	          "2026-11-30T00:53:22.5Z 00:53:22.500 [main] - - ERROR a - ERR12014\n"
	        : "00:53:21.000 [main] - - INFO a - ok, \"q\"\n00:53:22.500 [main] - - ERROR a - ERR12014\n";
	struct lo2_strv tags = {0};
	struct run_schedule s;
	struct run_manifest m;
	struct run_config c;
	struct lo2_err err = {0};
	char *cp = xasprintf("%s/run_config.yml", dir);

	lo2_strv_push(&tags, "correct");
	lo2_strv_push(&tags, "get_x_404");
	lo2_strv_push(&tags, "broken_400");
	run_schedule_make(&tags, 1, 20, 20, 1, 1, &s);
	run_manifest_init(&m, &s);
	m.started_ns = T0;
	free(m.status);
	m.status = xstrdup("complete");
	for (size_t i = 0; i < m.n_tests; i++) {
		struct run_test *t = &m.tests[i];
		char *rel;

		t->start_ns = T0 + 1000000000LL;
		t->end_ns = T0 + 21000000000LL;
		if (strcmp(t->tag, "broken_400") == 0) {
			t->status = RUN_TEST_INCOMPLETE;
			add(t, dir, "broken_400.incomplete-1/light-oauth2-oauth2-client-1.log.gz", svc);
			continue;
		}
		t->status = RUN_TEST_COMPLETE;
		rel = xasprintf("%s/light-oauth2-oauth2-client-1.log.gz", t->tag);
		add(t, dir, rel, svc);
		free(rel);
		rel = xasprintf("%s/light-oauth2-mysqldb-1.log.gz", t->tag);
		add(t, dir, rel, "");
		free(rel);
		rel = xasprintf("%s/locust.log", t->tag);
		add(t, dir, rel, "[2026-11-29 07:33:41] Shutting down\n");
		free(rel);
		rel = xasprintf("%s/locust_stats.csv", t->tag);
		add(t, dir, rel, "Type,Name\n");
		free(rel);
		rel = xasprintf("%s/metrics/metric_node_load1.json", t->tag);
		add(t, dir, rel, METRIC);
		free(rel);
		rel = xasprintf("%s/metrics/last_fetch_time.txt", t->tag);
		add(t, dir, rel, "2026-11-29T07:33:41+00:00");
		free(rel);
		if (strcmp(t->tag, "get_x_404") == 0) {
			add(t, dir, "get_x_404/metrics/traces_oauth2-client-service.csv",
			    "Trace ID,Span ID,Operation Name,Start Time,End Time,Tags\n"
			    "a1,b1,GET,2026-11-29T07:33:21+00:00,2026-11-29T07:33:22+00:00,\"{'k': "
			    "'v,w'}\"\n");
			run_manifest_add_event(t, T0 + 2000000000LL, "light-oauth2-oauth2-user-1", "die",
			                       "137");
		}
	}
	put(dir, "run_log.log", "1796000000 LO2 Run started\n");
	put(dir, "_between/light-oauth2-oauth2-client-1.log.gz", svc);
	assert_int_equal(run_manifest_write(&m, mp, &err), 0);
	run_config_defaults(&c);
	c.timestamps = timestamps;
	assert_int_equal(run_config_write(&c, cp, &err), 0);
	run_config_free(&c);
	run_manifest_free(&m);
	run_schedule_free(&s);
	lo2_strv_free(&tags);
	free(mp);
	free(cp);
	return dir;
}

static bool exists(const char *root, const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel);
	struct stat st;
	bool ok = lstat(p, &st) == 0;

	free(p);
	return ok;
}

static int run_export(const char *run, const char *out, enum export_format f, struct export_stats *st,
                      struct lo2_err *err)
{
	const char *runs[] = {run};
	struct export_opts o = {runs, 1, out, f};

	return export_runs(&o, st, err);
}

static void check_lo2_layout(bool timestamps)
{
	static const char *present[] = {"run_log.log",
	                                "correct/light-oauth2-oauth2-client-1.log",
	                                "correct/light-oauth2-mysqldb-1.log",
	                                "get_x_404/locust.log",
	                                "get_x_404/metrics/traces_oauth2-client-service.csv",
	                                "get_x_404/metrics/last_fetch_time.txt"};
	static const char *absent[] = {"run.json",
	                               "run_config.yml",
	                               "_between",
	                               "broken_400",
	                               "broken_400.incomplete-1",
	                               "correct/locust_stats.csv",
	                               "correct/light-oauth2-oauth2-client-1.log.gz"};
	char *tmp = tu_tmpdir(), *run = make_run(tmp, timestamps), *out = xasprintf("%s/dataset", tmp);
	char *exp = xasprintf("%s/LO2_run_1796000000", out), *log, *manifest;
	struct export_stats st;
	struct lo2_err err = {0};
	struct stat a, b;
	char *src = xasprintf("%s/correct/metrics/metric_node_load1.json", run);
	char *dst = xasprintf("%s/correct/metrics/metric_node_load1.json", exp);

	assert_int_equal(run_export(run, out, EXPORT_LO2, &st, &err), 0);
	assert_int_equal(st.tests, 2);
	assert_int_equal(st.skipped_tests, 1);
	assert_int_equal(st.log_lines, 4);
	/* exactly the LO2 layout: no lo2 files, no _between, no incomplete test */
	for (size_t i = 0; i < sizeof(present) / sizeof(present[0]); i++)
		if (!exists(exp, present[i]))
			fail_msg("%s is not in the export", present[i]);
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		if (exists(exp, absent[i]))
			fail_msg("%s is in the export", absent[i]);
	/* plain lines as docker logs prints them, engine timestamps gone */
	{
		char *p = xasprintf("%s/correct/light-oauth2-oauth2-client-1.log", exp);

		log = tu_read(p, NULL);
		free(p);
	}
	assert_string_equal(
	    log, "00:53:21.000 [main] - - INFO a - ok, \"q\"\n00:53:22.500 [main] - - ERROR a - ERR12014\n");
	free(log);
	/* unchanged files are hard links */
	assert_int_equal(stat(src, &a), 0);
	assert_int_equal(stat(dst, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	/* the manifest is beside the output, not in it */
	manifest = xasprintf("%s/dataset.lo2-export.json", tmp);
	assert_string_equal(st.manifest, manifest);
	log = tu_read(manifest, NULL);
	assert_non_null(
	    strstr(log, "\"path\": \"LO2_run_1796000000/correct/light-oauth2-oauth2-client-1.log\""));
	assert_non_null(strstr(log, "\"status\": \"incomplete\""));
	free(log);
	assert_false(exists(out, "dataset.lo2-export.json"));
	export_stats_free(&st);
	/* a second export never replaces the run */
	assert_int_equal(run_export(run, out, EXPORT_LO2, &st, &err), -1);
	assert_non_null(strstr(err.msg, "LO2_run_1796000000 exists"));
	export_stats_free(&st);
	tu_rm_rf(tmp);
	free(tmp);
	free(run);
	free(out);
	free(exp);
	free(src);
	free(dst);
	free(manifest);
}

static void test_lo2_layout(void **state)
{
	check_lo2_layout(false);
}

static void test_lo2_layout_strips_timestamps(void **state)
{
	check_lo2_layout(true);
}

static int to_buf(void *user, const char *p, size_t n, struct lo2_err *err)
{
	return lo2_buf_append(user, p, n);
}

static char *gunzip(const char *path)
{
	struct lo2_buf b = LO2_BUF_INIT;
	struct lo2_err err = {0};

	assert_int_equal(lo2_gzip_read(path, to_buf, &b, &err), 0);
	return lo2_buf_steal(&b);
}

static void test_tables(void **state)
{
	char *tmp = tu_tmpdir(), *run = make_run(tmp, true), *out = xasprintf("%s/tables", tmp), *p, *t;
	struct export_stats st;
	struct lo2_err err = {0};

	assert_int_equal(run_export(run, out, EXPORT_TABLES, &st, &err), 0);
	assert_int_equal(st.log_lines, 4);
	assert_int_equal(st.metric_samples, 4);
	assert_int_equal(st.trace_spans, 1);
	assert_int_equal(st.events, 1);
	p = xasprintf("%s/logs.csv.gz", out);
	t = gunzip(p);
	assert_non_null(strstr(t, "run,test,container,timestamp_ns,line\n"));
	assert_non_null(strstr(t,
	                       "LO2_run_1796000000,correct,light-oauth2-oauth2-client-1,1796000001000000001,"
	                       "\"00:53:21.000 [main] - - INFO a - ok, \"\"q\"\"\"\n"));
	assert_null(strstr(t, "broken_400"));
	free(t);
	free(p);
	p = xasprintf("%s/metrics.csv.gz", out);
	t = gunzip(p);
	assert_non_null(strstr(
	    t, "LO2_run_1796000000,get_x_404,node_load1,\"{\"\"instance\"\":\"\"n:9100\"\",\"\"job\"\":"
	       "\"\"node\"\"}\",1796000002.5,0.75\n"));
	free(t);
	free(p);
	p = xasprintf("%s/traces.csv.gz", out);
	t = gunzip(p);
	assert_non_null(strstr(t, "LO2_run_1796000000,get_x_404,oauth2-client-service,a1,b1,GET,"));
	free(t);
	free(p);
	p = xasprintf("%s/events.csv.gz", out);
	t = gunzip(p);
	assert_non_null(strstr(
	    t, "LO2_run_1796000000,get_x_404,1796000002000000000,light-oauth2-oauth2-user-1,die,137\n"));
	free(t);
	free(p);
	export_stats_free(&st);
	tu_rm_rf(tmp);
	free(tmp);
	free(run);
	free(out);
}

static void test_bad_metric_file(void **state)
{
	char *tmp = tu_tmpdir(), *run = make_run(tmp, false), *out = xasprintf("%s/tables", tmp);
	char *bad = xasprintf("%s/correct/metrics/metric_node_load1.json", run);
	struct export_stats st;
	struct lo2_err err = {0};
	FILE *f = fopen(bad, "w");

	fputs("[{\"metric\": {}, \"values\": [[1, \"2\"", f);
	fclose(f);
	assert_int_equal(run_export(run, out, EXPORT_TABLES, &st, &err), -1);
	assert_non_null(strstr(err.msg, "metric_node_load1.json: JSON ends early"));
	assert_non_null(strstr(err.msg, "test correct"));
	assert_false(exists(out, "logs.csv.gz"));
	export_stats_free(&st);
	tu_rm_rf(tmp);
	free(tmp);
	free(run);
	free(out);
	free(bad);
}

/* Campaign runs (run_<k>_<engine>) that start in the same second on two engines are exported by
 * their start in ms; runs that collide even then are refused by name. */
static void test_same_second_runs(void **state)
{
	char *tmp = tu_tmpdir(), *r1 = make_run(tmp, false), *a = xasprintf("%s/run_1_a", tmp);
	char *sub = xasprintf("%s/second", tmp), *r2, *b = xasprintf("%s/run_2_b", tmp);
	char *mp = xasprintf("%s/run.json", b), *out = xasprintf("%s/dataset", tmp), *e1, *e2;
	const char *runs[] = {a, b};
	struct export_opts o = {runs, 2, out, EXPORT_LO2};
	struct export_stats st;
	struct run_manifest m;
	struct lo2_err err = {0};

	assert_int_equal(mkdir(sub, 0755), 0);
	r2 = make_run(sub, false);
	assert_int_equal(rename(r1, a), 0);
	assert_int_equal(rename(r2, b), 0);
	/* the same start to the ns: no name tells them apart */
	assert_int_equal(export_runs(&o, &st, &err), -1);
	assert_non_null(strstr(err.msg, "both export as LO2_run_1796000000000"));
	export_stats_free(&st);
	assert_int_equal(run_manifest_read(mp, &m, &err), 0);
	m.started_ns += 250000000; /* 250 ms later, the same second */
	assert_int_equal(run_manifest_write(&m, mp, &err), 0);
	run_manifest_free(&m);
	assert_int_equal(export_runs(&o, &st, &err), 0);
	e1 = xasprintf("%s/LO2_run_1796000000000/run_log.log", out);
	e2 = xasprintf("%s/LO2_run_1796000000250/run_log.log", out);
	assert_int_equal(access(e1, F_OK), 0);
	assert_int_equal(access(e2, F_OK), 0);
	export_stats_free(&st);
	tu_rm_rf(tmp);
	free(tmp);
	free(r1);
	free(r2);
	free(a);
	free(b);
	free(sub);
	free(mp);
	free(out);
	free(e1);
	free(e2);
}

static void test_names(void **state)
{
	enum export_format f;
	struct lo2_err err = {0};
	char *p = export_manifest_path("/data/lo2/");

	assert_string_equal(p, "/data/lo2.lo2-export.json");
	free(p);
	assert_int_equal(export_format_parse("tables", &f, &err), 0);
	assert_int_equal(f, EXPORT_TABLES);
	assert_int_equal(export_format_parse("csv", &f, &err), -1);
	assert_string_equal(err.msg, "unknown format 'csv' (lo2 or tables)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lo2_layout), cmocka_unit_test(test_lo2_layout_strips_timestamps),
	    cmocka_unit_test(test_tables),     cmocka_unit_test(test_bad_metric_file),
	    cmocka_unit_test(test_names),      cmocka_unit_test(test_same_second_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
