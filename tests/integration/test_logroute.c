/* test_logroute.c - the one-pass log router on the real engine: adjacent windows plus the
 * between files hold exactly the container's whole log (no line lost or repeated), each
 * windowed line lies inside its window, a line over 16 KiB stays one line, and a container
 * that starts later is picked up. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/mem.h"
#include "common/time.h"
#include "engine/engine.h"
#include "run/logroute.h"

#define IMAGE "lo2-test/busybox:latest"

static char *start_container(const char *name, const char *script)
{
	struct engine *e = tu_engine();
	struct engine_container_spec s = {0};
	struct lo2_err err = {0};
	char *id = NULL;

	s.name = xasprintf("lo2t-%s-%s", tu_run_id(), name);
	s.image = xstrdup(IMAGE);
	s.cmd_set = true;
	lo2_strv_push(&s.cmd, "sh");
	lo2_strv_push(&s.cmd, "-c");
	lo2_strv_push(&s.cmd, script);
	s.stop_timeout = -1;
	lo2_kvv_set(&s.labels, TU_LABEL, tu_run_id());
	if (engine_container_create(e, &s, &id, &err) < 0 || engine_container_start(e, id, &err) < 0)
		fail_msg("%s", err.msg);
	engine_container_spec_free(&s);
	return id;
}

static char *whole_log(const char *id)
{
	struct lo2_buf b = LO2_BUF_INIT;
	struct lo2_sink *s = lo2_sink_memory_new(&b);
	struct engine_logs_opts o = {0};
	struct lo2_err err = {0};

	if (engine_container_logs_to_sink(tu_engine(), id, &o, s, &err) < 0)
		fail_msg("%s", err.msg);
	lo2_sink_commit(s, &err);
	return lo2_buf_steal(&b);
}

/* Appends the lines of a timestamped file to all (timestamps stripped), checking each lies in [lo, hi). */
static size_t gather(const char *path, int64_t lo, int64_t hi, struct lo2_buf *all)
{
	size_t len = 0, lines = 0;
	char *text = tu_read(path, &len);

	if (text == NULL)
		return 0;
	for (char *p = text; p < text + len;) {
		char *sp = strchr(p, ' '), *nl = memchr(p, '\n', (size_t)(text + len - p));
		char ts[48];
		int64_t t = 0;
		char *end = nl ? nl + 1 : text + len;

		assert_non_null(sp);
		snprintf(ts, sizeof(ts), "%.*s", (int)(sp - p), p);
		assert_int_equal(lo2_time_parse(ts, &t, NULL), 0);
		assert_true(t >= lo && t < hi);
		lo2_buf_append(all, sp + 1, (size_t)(end - sp - 1));
		lines++;
		p = end;
	}
	free(text);
	return lines;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted lines of a text, for comparing the union of files (interleaved) with the whole log. */
static char **sorted_lines(char *text, size_t *n)
{
	char **v = NULL;
	size_t c = 0;

	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		v = xrealloc(v, (c + 1) * sizeof(*v));
		v[c++] = l;
	}
	qsort(v, c, sizeof(*v), cmp_line);
	*n = c;
	return v;
}

static void test_windows_cover_everything(void **state)
{
	struct engine *e = tu_engine();
	struct run_logroute *r = NULL;
	struct lo2_strv filters = {0};
	struct lo2_err err = {0};
	char *dir = tu_tmpdir();
	char *between = xasprintf("%s/_between", dir), *wa = xasprintf("%s/a", dir),
	     *wb = xasprintf("%s/b", dir);
	struct run_logroute_opts o = {
	    .filters = &filters, .between_dir = between, .keep_timestamps = true, .compress = true};
	int64_t t0, t1, t2;
	uint64_t la = 0, lb = 0;
	char *id1, *id2, *log1, *log2;
	struct lo2_buf got = LO2_BUF_INIT, want = LO2_BUF_INIT;
	size_t ng, nw, in_windows = 0;
	char **g, **w;

	lo2_strv_push(&filters, tu_label_filter());
	id1 =
	    start_container("route1", "i=0; while [ $i -lt 300 ]; do echo \"out $i\"; echo \"err $i\" >&2; "
	                              "if [ $i = 150 ]; then head -c 40000 /dev/zero | tr '\\0' L; echo; fi; "
	                              "i=$((i+1)); sleep 0.01; done");
	assert_int_equal(run_logroute_start(e, &o, &r, &err), 0);
	usleep(400000);
	t0 = lo2_now_ns();
	assert_int_equal(run_logroute_open(r, wa, t0, &err), 0);
	usleep(700000);
	id2 =
	    start_container("route2", "for i in 1 2 3 4 5 6 7 8 9 10; do echo \"late $i\"; sleep 0.05; done");
	usleep(500000);
	t1 = lo2_now_ns();
	assert_int_equal(run_logroute_close(r, t1, &la, &err), 0);
	assert_int_equal(run_logroute_open(r, wb, t1, &err), 0);
	usleep(800000);
	t2 = lo2_now_ns();
	assert_int_equal(run_logroute_close(r, t2, &lb, &err), 0);
	{
		int64_t code;

		assert_int_equal(engine_container_wait(e, id1, NULL, NULL, &code, &err), 0);
		assert_int_equal(engine_container_wait(e, id2, NULL, NULL, &code, &err), 0);
	}
	usleep(300000);
	assert_int_equal(run_logroute_stop(r, NULL, &err), 0);
	assert_true(la > 0 && lb > 0);

	/* Window files: each line in its window; with between, exactly the whole logs. */
	for (int k = 0; k < 2; k++) {
		char *name = xasprintf("lo2t-%s-%s", tu_run_id(), k ? "route2" : "route1");
		char *pa = xasprintf("%s/%s.log.gz", wa, name), *pb = xasprintf("%s/%s.log.gz", wb, name);
		char *pbt = xasprintf("%s/%s.log.gz", between, name);

		in_windows += gather(pa, t0, t1, &got);
		in_windows += gather(pb, t1, t2, &got);
		gather(pbt, INT64_MIN, INT64_MAX, &got);
		free(name);
		free(pa);
		free(pb);
		free(pbt);
	}
	assert_int_equal(in_windows, la + lb);
	log1 = whole_log(id1);
	log2 = whole_log(id2);
	lo2_buf_puts(&want, log1);
	lo2_buf_puts(&want, log2);
	assert_int_equal(got.len, want.len);
	g = sorted_lines(got.data, &ng);
	w = sorted_lines(want.data, &nw);
	assert_int_equal(ng, 300 + 300 + 1 + 10);
	assert_int_equal(ng, nw);
	for (size_t i = 0; i < ng; i++)
		assert_string_equal(g[i], w[i]);
	free(g);
	free(w);
	free(log1);
	free(log2);
	lo2_buf_free(&got);
	lo2_buf_free(&want);
	lo2_strv_free(&filters);
	tu_rm_rf(dir);
	free(dir);
	free(between);
	free(wa);
	free(wb);
	free(id1);
	free(id2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_windows_cover_everything),
	};

	tu_engine();
	tu_require_image(IMAGE);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
