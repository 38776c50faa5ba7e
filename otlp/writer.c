/* writer.c - the trace files of one window: traces_<service>.csv per service.name (the Jaeger
 * path's header and rows, in arrival order) and traces.otlp.jsonl.gz (every span, lossless).
 * Each file is a sink into a temp file, renamed only by otlp_writer_commit. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/mem.h"
#include "common/sink.h"
#include "common/str.h"
#include "fetch/fetch.h"
#include "otlp/internal.h"

#define FLUSH_AT (64 * 1024)
#define MAX_SERVICES 256 /* CSV files per window; spans of more services go to the jsonl only */

struct svc_file {
	char *service;
	struct lo2_sink *sink; /* NULL: the name cannot be a file name */
	struct lo2_buf buf;
};

struct otlp_writer {
	char *dir;
	struct lo2_sink *jsonl;
	struct lo2_buf jbuf;
	struct svc_file *svc;
	size_t nsvc;
	struct otlp_writer_stats st;
};

int otlp_writer_open(const char *dir, struct otlp_writer **out, struct lo2_err *err)
{
	struct otlp_writer *w = xcalloc(1, sizeof(*w));
	lo2_autofree char *path = xasprintf("%s/%s", dir, OTLP_JSONL_FILE);

	w->dir = xstrdup(dir);
	w->svc = xcalloc(MAX_SERVICES, sizeof(*w->svc));
	if (lo2_sink_gzip_open(path, -1, &w->jsonl, err) < 0) {
		otlp_writer_abort(w);
		return lo2_err_prefix(err, "trace files in %s", dir);
	}
	*out = w;
	return 0;
}

/* "traces_<service>.csv" with '/' as '_' (as metric names), or NULL when no file can have it. */
static char *csv_name(const char *service)
{
	char *name = xasprintf("traces_%s.csv", service);
	struct lo2_err e = {0};

	for (char *c = name; *c; c++)
		if (*c == '/')
			*c = '_';
	if (lo2_name_check("traces file name", name, &e) < 0) {
		free(name);
		return NULL;
	}
	return name;
}

static struct svc_file *service_file(struct otlp_writer *w, const char *service, struct lo2_err *err)
{
	struct svc_file *f;
	char *name;

	for (size_t i = 0; i < w->nsvc; i++)
		if (strcmp(w->svc[i].service, service) == 0)
			return &w->svc[i];
	if (w->nsvc == MAX_SERVICES)
		return NULL;
	f = &w->svc[w->nsvc++];
	f->service = xstrdup(service);
	name = csv_name(service);
	if (name != NULL) {
		lo2_autofree char *path = xasprintf("%s/%s", w->dir, name);

		free(name);
		if (lo2_sink_file_open(path, &f->sink, err) < 0) {
			w->nsvc--;
			free(f->service);
			return lo2_err_prefix(err, "trace files in %s", w->dir), NULL;
		}
		lo2_buf_puts(&f->buf, FETCH_TRACES_HEADER);
		w->st.services++;
	}
	return f;
}

static int flush(struct lo2_sink *s, struct lo2_buf *b, size_t at, struct lo2_err *err)
{
	if (b->len < at || b->len == 0)
		return 0;
	if (lo2_sink_write(s, b->data, b->len, err) < 0)
		return -1;
	lo2_buf_reset(b);
	return 0;
}

int otlp_writer_add(struct otlp_writer *w, const struct otlp_span *s, struct lo2_err *err)
{
	struct lo2_err e = {0};
	struct svc_file *f = service_file(w, s->resource->service_name, &e);

	if (f == NULL && e.msg[0]) {
		*err = e;
		return -1;
	}
	otlp_jsonl_line(&w->jbuf, s);
	w->st.spans++;
	if (flush(w->jsonl, &w->jbuf, FLUSH_AT, err) < 0)
		return -1;
	if (f == NULL || f->sink == NULL) {
		w->st.csv_skipped++;
		return 0;
	}
	otlp_csv_row(&f->buf, s);
	return flush(f->sink, &f->buf, FLUSH_AT, err);
}

/* Flushes and commits one sink (taken: it is gone after); a failure before drops it. */
static int commit_one(struct lo2_sink *s, struct lo2_buf *b, int ret, struct lo2_err *err)
{
	if (ret < 0 || flush(s, b, 0, err) < 0) {
		lo2_sink_abort(s);
		return -1;
	}
	return lo2_sink_commit(s, err);
}

int otlp_writer_commit(struct otlp_writer *w, struct otlp_writer_stats *st, struct lo2_err *err)
{
	struct lo2_sink *s;
	int ret = 0;

	for (size_t i = 0; i < w->nsvc; i++) {
		s = w->svc[i].sink;
		w->svc[i].sink = NULL;
		if (s != NULL)
			ret = commit_one(s, &w->svc[i].buf, ret, err);
	}
	s = w->jsonl;
	w->jsonl = NULL;
	ret = commit_one(s, &w->jbuf, ret, err);
	if (st != NULL)
		*st = w->st;
	if (ret < 0)
		lo2_err_prefix(err, "trace files in %s", w->dir);
	otlp_writer_abort(w);
	return ret;
}

void otlp_writer_abort(struct otlp_writer *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->nsvc; i++) {
		lo2_sink_abort(w->svc[i].sink);
		free(w->svc[i].service);
		lo2_buf_free(&w->svc[i].buf);
	}
	lo2_sink_abort(w->jsonl);
	lo2_buf_free(&w->jbuf);
	free(w->svc);
	free(w->dir);
	free(w);
}
