/* tables.c - runs as gzip CSV tables, one per modality across every run given, for pandas or
 * polars users: logs (run, test, container, timestamp_ns, line), metrics (run, test, metric,
 * labels, timestamp, value), traces (run, test, service, then the original's columns) and
 * events (run, test, time_ns, container, action, exit_code), the last two only when the runs
 * have any. Complete tests only, as the LO2 layout; one row per log line and metric sample. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/mem.h"
#include "common/str.h"
#include "export/internal.h"

struct table {
	const char *name, *header;
	struct ex_hsink *h;
	uint64_t rows;
};

enum { T_LOGS, T_METRICS, T_TRACES, T_EVENTS, T_N };

struct tables {
	struct table t[T_N];
	const char *out_dir;
	struct lo2_buf row;
};

static int table_open(struct tables *tb, int i, struct lo2_err *err)
{
	struct table *t = &tb->t[i];
	lo2_autofree char *path = xasprintf("%s/%s", tb->out_dir, t->name);

	if (t->h)
		return 0;
	if (ex_hsink_open(path, true, &t->h, err) < 0)
		return -1;
	return ex_hsink_write(t->h, t->header, strlen(t->header), err);
}

/* "<run>,<test>," */
static char *prefix_of(const struct ex_run *r, const char *test)
{
	struct lo2_buf b = LO2_BUF_INIT;

	ex_csv_field(&b, r->name, strlen(r->name));
	lo2_buf_puts(&b, ",");
	ex_csv_field(&b, test, strlen(test));
	lo2_buf_puts(&b, ",");
	return lo2_buf_steal(&b);
}

struct log_ctx {
	struct tables *tb;
	const char *prefix; /* run,test,container, */
	bool timestamps;
	int64_t near_ns;
};

static int log_row(void *user, const char *line, size_t n, struct lo2_err *err)
{
	struct log_ctx *c = user;
	struct lo2_buf *b = &c->tb->row;
	int64_t ns = 0;
	size_t skip = c->timestamps ? ex_engine_ts(line, n, &ns) : 0;
	bool have = skip > 0 || ex_clock_ts(line, n, c->near_ns, &ns);

	lo2_buf_reset(b);
	lo2_buf_puts(b, c->prefix);
	if (have)
		lo2_buf_printf(b, "%lld", (long long)ns);
	lo2_buf_puts(b, ",");
	ex_csv_field(b, line + skip, n - skip);
	lo2_buf_puts(b, "\n");
	c->tb->t[T_LOGS].rows++;
	return ex_hsink_write(c->tb->t[T_LOGS].h, b->data, b->len, err);
}

/* The container of "<tag>/<container>.log[.gz]", or NULL. */
static char *container_of(const char *in_test)
{
	size_t n = strlen(in_test);

	if (strchr(in_test, '/') || strcmp(in_test, "locust.log") == 0)
		return NULL;
	if (lo2_str_has_suffix(in_test, ".log.gz"))
		return xstrndup(in_test, n - 7);
	if (lo2_str_has_suffix(in_test, ".log"))
		return xstrndup(in_test, n - 4);
	return NULL;
}

/* Rows of a traces_<service>.csv: the header skipped, each record (quoted fields may span
 * lines) prefixed with run, test, service. */
struct trace_ctx {
	struct tables *tb;
	const char *prefix;
	bool header_done, in_quotes;
	struct lo2_buf rec;
};

static int trace_line(void *user, const char *line, size_t n, struct lo2_err *err)
{
	struct trace_ctx *c = user;
	struct table *t = &c->tb->t[T_TRACES];

	for (size_t i = 0; i < n; i++)
		if (line[i] == '"')
			c->in_quotes = !c->in_quotes;
	if (c->rec.len)
		lo2_buf_puts(&c->rec, "\n");
	lo2_buf_append(&c->rec, line, n);
	if (c->in_quotes)
		return 0;
	if (!c->header_done) {
		c->header_done = true;
	} else {
		if (ex_hsink_write(t->h, c->prefix, strlen(c->prefix), err) < 0 ||
		    ex_hsink_write(t->h, c->rec.data, c->rec.len, err) < 0 ||
		    ex_hsink_write(t->h, "\n", 1, err) < 0)
			return -1;
		t->rows++;
	}
	lo2_buf_reset(&c->rec);
	return 0;
}

static int trace_rows(struct tables *tb, const char *path, const char *prefix, struct lo2_err *err)
{
	struct trace_ctx c = {tb, prefix, false, false, LO2_BUF_INIT};
	int rc;

	if (table_open(tb, T_TRACES, err) < 0)
		return -1;
	rc = ex_lines(path, trace_line, &c, err);
	if (rc == 0 && c.rec.len)
		rc = lo2_err_set(err, LO2_E_INVALID, "%s: a quoted field is not closed", path);
	lo2_buf_free(&c.rec);
	return rc;
}

static int test_file(struct tables *tb, const struct ex_run *r, const struct run_test *t, const char *rel,
                     struct lo2_err *err)
{
	const char *in_test = rel + strlen(t->tag) + 1;
	lo2_autofree char *path = xasprintf("%s/%s", r->dir, rel), *base = prefix_of(r, t->tag);
	lo2_autofree char *container = container_of(in_test), *prefix = NULL;

	if (container) {
		struct log_ctx c = {tb, NULL, r->timestamps, t->start_ns};
		struct lo2_buf b = LO2_BUF_INIT;

		lo2_buf_puts(&b, base);
		ex_csv_field(&b, container, strlen(container));
		lo2_buf_puts(&b, ",");
		prefix = lo2_buf_steal(&b);
		c.prefix = prefix;
		return ex_lines(path, log_row, &c, err);
	}
	if (lo2_str_has_prefix(in_test, "metrics/metric_") && lo2_str_has_suffix(in_test, ".json"))
		return ex_metric_rows(path, base, tb->t[T_METRICS].h, &tb->t[T_METRICS].rows, err);
	if (lo2_str_has_prefix(in_test, "metrics/traces_") && lo2_str_has_suffix(in_test, ".csv")) {
		const char *svc = in_test + strlen("metrics/traces_");
		struct lo2_buf b = LO2_BUF_INIT;

		lo2_buf_puts(&b, base);
		ex_csv_field(&b, svc, strlen(svc) - 4);
		lo2_buf_puts(&b, ",");
		prefix = lo2_buf_steal(&b);
		return trace_rows(tb, path, prefix, err);
	}
	return 0;
}

static int test_events(struct tables *tb, const struct ex_run *r, const struct run_test *t,
                       struct lo2_err *err)
{
	lo2_autofree char *base = prefix_of(r, t->tag);
	struct lo2_buf *b = &tb->row;

	if (t->n_events && table_open(tb, T_EVENTS, err) < 0)
		return -1;
	for (size_t i = 0; i < t->n_events; i++) {
		const struct run_event *e = &t->events[i];

		lo2_buf_reset(b);
		lo2_buf_printf(b, "%s%lld,", base, (long long)e->time_ns);
		ex_csv_field(b, e->container, strlen(e->container));
		lo2_buf_puts(b, ",");
		ex_csv_field(b, e->action, strlen(e->action));
		lo2_buf_puts(b, ",");
		if (e->exit_code)
			ex_csv_field(b, e->exit_code, strlen(e->exit_code));
		lo2_buf_puts(b, "\n");
		if (ex_hsink_write(tb->t[T_EVENTS].h, b->data, b->len, err) < 0)
			return -1;
		tb->t[T_EVENTS].rows++;
	}
	return 0;
}

static int run_rows(struct tables *tb, const struct ex_run *r, struct export_stats *st, struct lo2_err *err)
{
	for (size_t i = 0; i < r->m.n_tests; i++) {
		const struct run_test *t = &r->m.tests[i];
		size_t plen = strlen(t->tag);

		if (!ex_test_exported(t)) {
			st->skipped_tests++;
			continue;
		}
		for (size_t f = 0; f < t->files.n; f++) {
			const char *rel = t->files.v[f].path;

			if (strncmp(rel, t->tag, plen) != 0 || rel[plen] != '/')
				continue;
			if (test_file(tb, r, t, rel, err) < 0)
				return lo2_err_prefix(err, "run %s, test %s", r->dir, t->tag);
		}
		if (test_events(tb, r, t, err) < 0)
			return -1;
		st->tests++;
	}
	return 0;
}

static int refuse_existing(const char *out_dir, const struct table *t, struct lo2_err *err)
{
	lo2_autofree char *path = NULL;
	struct stat st;

	for (int i = 0; i < T_N; i++) {
		free(path);
		path = xasprintf("%s/%s", out_dir, t[i].name);
		if (lstat(path, &st) == 0)
			return lo2_err_set(err, LO2_E_CONFLICT,
			                   "%s exists (an export never replaces a table)", path);
	}
	return 0;
}

int ex_tables(struct ex_run *runs, size_t n, const char *out_dir, struct ex_out *o, struct lo2_err *err)
{
	struct tables tb = {
	    .t = {{"logs.csv.gz", "run,test,container,timestamp_ns,line\n", NULL, 0},
	          {"metrics.csv.gz", "run,test,metric,labels,timestamp,value\n", NULL, 0},
	          {"traces.csv.gz",
	           "run,test,service,Trace ID,Span ID,Operation Name,Start Time,End Time,Tags\n", NULL, 0},
	          {"events.csv.gz", "run,test,time_ns,container,action,exit_code\n", NULL, 0}},
	    .out_dir = out_dir,
	    .row = LO2_BUF_INIT,
	};
	int ret = -1;

	if (refuse_existing(out_dir, tb.t, err) < 0)
		return -1;
	if (table_open(&tb, T_LOGS, err) < 0 || table_open(&tb, T_METRICS, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (run_rows(&tb, &runs[i], o->st, err) < 0)
			goto out;
	for (int i = 0; i < T_N; i++) {
		uint64_t size;
		char sha[65];

		if (!tb.t[i].h)
			continue;
		if (ex_hsink_commit(tb.t[i].h, &size, sha, err) < 0) {
			tb.t[i].h = NULL;
			goto out;
		}
		tb.t[i].h = NULL;
		ex_out_add(o, tb.t[i].name, size, sha, false);
	}
	o->st->log_lines = tb.t[T_LOGS].rows;
	o->st->metric_samples = tb.t[T_METRICS].rows;
	o->st->trace_spans = tb.t[T_TRACES].rows;
	o->st->events = tb.t[T_EVENTS].rows;
	ret = 0;
out:
	for (int i = 0; i < T_N; i++)
		ex_hsink_abort(tb.t[i].h);
	lo2_buf_free(&tb.row);
	return ret;
}
