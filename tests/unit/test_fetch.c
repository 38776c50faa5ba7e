/* test_fetch.c - fetch/'s formats without a network: query_range responses become exactly
 * what Python's json.dump(result, f, indent=4) writes (golden files made by tests/fetch_ref.py,
 * re-checked against python3 when it is installed), Jaeger answers become the original's CSV,
 * and names that become files are checked. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/mem.h"
#include "fetch/fetch.h"

static char *fixture(const char *name, size_t *len)
{
	char *path = xasprintf("%s/fetch/%s", LO2_FIXTURES, name);
	char *text = tu_read(path, len);

	assert_non_null(text);
	free(path);
	return text;
}

/* python3 is the reference where it is installed; lo2 never needs it. */
static bool have_python(void)
{
	static int have = -1;
	const char *argv[] = {"python3", "-c", "import json, csv", NULL};

	if (have < 0)
		have = tu_run(argv, NULL, NULL, NULL) == 0;
	return have;
}

/* Compares lo2's conversion with the golden file, and with python3's when it is there. */
static void check_prom(const char *name)
{
	lo2_autofree char *in_name = xasprintf("%s.json", name);
	lo2_autofree char *exp_name = xasprintf("%s.expected.json", name);
	size_t n, elen, nseries = 0;
	lo2_autofree char *body = fixture(in_name, &n);
	lo2_autofree char *expected = fixture(exp_name, &elen);
	struct lo2_buf out = LO2_BUF_INIT;
	struct lo2_err err = {0};

	assert_int_equal(fetch_prom_convert(body, n, &out, &nseries, &err), 0);
	assert_true(nseries > 0);
	assert_int_equal(out.len, elen);
	assert_memory_equal(out.data, expected, elen);
	if (have_python()) {
		lo2_autofree char *dir = tu_tmpdir();
		lo2_autofree char *in = xasprintf("%s/fetch/%s", LO2_FIXTURES, in_name);
		lo2_autofree char *dst = xasprintf("%s/py.json", dir);
		lo2_autofree char *script = xasprintf("%s/tests/fetch_ref.py", LO2_SOURCE_DIR);
		const char *argv[] = {"python3", script, "prom", in, dst, NULL};
		size_t plen;
		char *py;

		assert_int_equal(tu_run(argv, NULL, NULL, NULL), 0);
		py = tu_read(dst, &plen);
		assert_non_null(py);
		assert_int_equal(plen, out.len);
		assert_memory_equal(py, out.data, plen);
		free(py);
		tu_rm_rf(dir);
	}
	lo2_buf_free(&out);
}

static void prom_unicode_specials(void **state)
{
	check_prom("unicode");
}

static void prom_many_series(void **state)
{
	check_prom("many");
}

static void prom_numbers_as_python(void **state)
{
	check_prom("numbers");
}

static void prom_empty_writes_nothing(void **state)
{
	size_t n, nseries = 7;
	lo2_autofree char *body = fixture("empty.json", &n);
	struct lo2_buf out = LO2_BUF_INIT;
	struct lo2_err err = {0};

	assert_int_equal(fetch_prom_convert(body, n, &out, &nseries, &err), 0);
	assert_int_equal(nseries, 0);
	assert_int_equal(out.len, 0);
	lo2_buf_free(&out);
}

static void prom_error_body(void **state)
{
	size_t n, nseries = 0;
	lo2_autofree char *body = fixture("error.json", &n);
	struct lo2_buf out = LO2_BUF_INIT;
	struct lo2_err err = {0};

	assert_int_equal(fetch_prom_convert(body, n, &out, &nseries, &err), -1);
	assert_string_equal(err.msg, "bad_data: 1:1: parse error: unexpected character: '@'");
	lo2_buf_free(&out);
}

static void prom_truncated_body(void **state)
{
	size_t n, nseries = 0;
	lo2_autofree char *body = fixture("unicode.json", &n);
	struct lo2_buf out = LO2_BUF_INIT;
	struct lo2_err err = {0};

	assert_int_equal(fetch_prom_convert(body, n / 2, &out, &nseries, &err), -1);
	assert_string_equal(err.msg, "response: truncated or malformed JSON");
	assert_int_equal(fetch_prom_convert("{\"status\":\"success\",]", 21, &out, &nseries, &err), -1);
	assert_non_null(strstr(err.msg, "malformed JSON"));
	lo2_buf_free(&out);
}

static void metric_file_names(void **state)
{
	struct lo2_err err = {0};
	char *f;

	f = fetch_metric_file_name("node_load1", &err);
	assert_string_equal(f, "metric_node_load1.json");
	free(f);
	f = fetch_metric_file_name("a/b", &err); /* the original's '/' -> '_' */
	assert_string_equal(f, "metric_a_b.json");
	free(f);
	f = fetch_metric_file_name("../../etc/x", &err);
	assert_string_equal(f, "metric_.._.._etc_x.json");
	free(f);
	assert_null(fetch_metric_file_name("bad\001name", &err));
	assert_string_equal(err.msg,
	                    "invalid metric file name \"metric_bad\\x01name.json\": contains a control "
	                    "character");
}

static void jaeger_csv_as_original(void **state)
{
	size_t n, elen, ntraces = 0;
	lo2_autofree char *body = fixture("traces.json", &n);
	lo2_autofree char *expected = fixture("traces.expected.csv", &elen);
	struct lo2_buf out = LO2_BUF_INIT;
	struct lo2_err err = {0};

	lo2_buf_puts(&out, FETCH_TRACES_HEADER);
	assert_int_equal(fetch_jaeger_csv(body, &out, &ntraces, &err), 0);
	assert_int_equal(ntraces, 2);
	assert_int_equal(out.len, elen);
	assert_memory_equal(out.data, expected, elen);
	lo2_buf_free(&out);
}

static void last_fetch_time_file(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *path = xasprintf("%s/last_fetch_time.txt", dir);
	struct lo2_err err = {0};
	size_t len;
	char *text;

	/* 2025-02-16T22:55:05Z, with a fraction the original's whole-second end never had */
	assert_int_equal(fetch_write_last_fetch_time(dir, INT64_C(1739746505250000000), &err), 0);
	text = tu_read(path, &len);
	assert_string_equal(text, "2025-02-16T22:55:05+00:00");
	free(text);
	tu_rm_rf(dir);
}

/* A metric list line with a NUL (which cut the name and queried another metric) or a control
 * character is refused with its line. */
static void metric_list_file_lines(void **state)
{
	char *dir = tu_tmpdir();
	char *path = xasprintf("%s/metrics.txt", dir), *want = NULL;
	struct lo2_strv names = {0};
	struct lo2_err err = {0};

	assert_int_equal(lo2_write_file_atomic(path, " up \r\n\nnode_load1\n", 18, &err), 0);
	assert_int_equal(fetch_read_metric_names(path, &names, &err), 0);
	assert_int_equal(names.n, 2);
	assert_string_equal(names.v[0], "up");
	assert_string_equal(names.v[1], "node_load1");
	lo2_strv_free(&names);
	assert_int_equal(lo2_write_file_atomic(path, "up\nnode_load1\0_extra\n", 21, &err), 0);
	assert_int_equal(fetch_read_metric_names(path, &names, &err), -1);
	want = xasprintf("%s:2: a NUL byte in the line", path);
	assert_string_equal(err.msg, want);
	free(want);
	lo2_strv_free(&names);
	assert_int_equal(lo2_write_file_atomic(path, "up\n\nx\x1b[2Jy\n", 11, &err), 0);
	assert_int_equal(fetch_read_metric_names(path, &names, &err), -1);
	want = xasprintf("%s:3: metric name \"x\\x1b[2Jy\" holds a control character", path);
	assert_string_equal(err.msg, want);
	free(want);
	lo2_strv_free(&names);
	assert_int_equal(fetch_metric_name_check("a\nb", &err), -1);
	assert_string_equal(err.msg, "metric name \"a\\x0ab\" holds a control character");
	tu_rm_rf(dir);
	free(dir);
	free(path);
}

/* "a/b" and "a_b" both map to metric_a_b.json: the later is refused by name, not written over. */
static void metric_file_collision(void **state)
{
	char *dir = tu_tmpdir();
	struct lo2_strv names = {0};
	struct fetch_prom_opts o = {.url = "http://127.0.0.1:1",
	                            .start_ns = 1700000000000000000LL,
	                            .end_ns = 1700000060000000000LL,
	                            .step_ns = 1000000000LL,
	                            .dir = dir,
	                            .max_attempts = 1,
	                            .timeout_ms = 2000};
	struct fetch_report rep = {0};
	struct lo2_err err = {0};
	bool named = false;

	lo2_strv_push(&names, "a/b");
	lo2_strv_push(&names, "a_b");
	assert_int_equal(fetch_prom_metrics(&o, &names, &rep, &err), 0);
	for (size_t i = 0; i < rep.failures.n; i++)
		named = named ||
		        strcmp(rep.failures.v[i], "metric a_b: its file metric_a_b.json is already metric "
		                                  "a/b's (the names differ only in '/' and '_'); not "
		                                  "fetched") == 0;
	assert_true(named);
	assert_int_equal(rep.ok, 0);
	fetch_report_free(&rep);
	lo2_strv_free(&names);
	tu_rm_rf(dir);
	free(dir);
}

/* Failures say what lo2 was doing and what it means, not curl's wording. */
static void http_failure_words(void **state)
{
	struct lo2_strv names = {0};
	struct lo2_err err = {0};

	assert_int_equal(fetch_prom_list("http://127.0.0.1:1", 2000, &names, &err), -1);
	assert_string_equal(err.msg,
	                    "list Prometheus metrics: GET http://127.0.0.1:1/api/v1/label/__name__/values: "
	                    "could not connect: nothing listens at that address, or the host is "
	                    "unreachable");
	assert_int_equal(err.kind, LO2_E_CONNECT);
	lo2_strv_free(&names);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(prom_unicode_specials),  cmocka_unit_test(prom_many_series),
	    cmocka_unit_test(prom_numbers_as_python), cmocka_unit_test(prom_empty_writes_nothing),
	    cmocka_unit_test(prom_error_body),        cmocka_unit_test(prom_truncated_body),
	    cmocka_unit_test(metric_file_names),      cmocka_unit_test(jaeger_csv_as_original),
	    cmocka_unit_test(last_fetch_time_file),   cmocka_unit_test(metric_list_file_lines),
	    cmocka_unit_test(metric_file_collision),  cmocka_unit_test(http_failure_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
