/* jaeger.c - Jaeger: the service list, and /api/traces per service over a window written as
 * the original's traces_<service>.csv (its header, ISO times, Tags as str() of a Python dict).
 * A service whose answer is as large as the limit is fetched again in halves of its window,
 * with traces seen twice dropped, so a busy service is not cut at the limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/time.h"
#include "fetch/fetch.h"
#include "fetch/internal.h"

#define BODY_MAX (1024u << 20)
#define MAX_SPLITS 12

/* repr() of a JSON value read into Python: str, int, float, bool, None, list, dict. */
static void py_repr_value(struct lo2_buf *b, const struct lo2_json *v)
{
	const char *s = lo2_json_str(v);

	if (s != NULL) {
		py_str_repr(b, s, strlen(s));
	} else if (lo2_json_is_number(v)) {
		const char *t = lo2_json_num_text(v);
		char out[64];
		double d;

		if (t && strpbrk(t, ".eE") == NULL) {
			py_json_number(b, t, strlen(t));
		} else {
			lo2_json_double(v, &d);
			py_float_repr(d, out, sizeof(out));
			lo2_buf_puts(b, out);
		}
	} else if (lo2_json_is_true(v)) {
		lo2_buf_puts(b, "True");
	} else if (lo2_json_is_null(v)) {
		lo2_buf_puts(b, "None");
	} else if (lo2_json_is_array(v)) {
		lo2_buf_puts(b, "[");
		for (size_t i = 0; i < lo2_json_len(v); i++) {
			lo2_buf_puts(b, i ? ", " : "");
			py_repr_value(b, lo2_json_at(v, i));
		}
		lo2_buf_puts(b, "]");
	} else if (lo2_json_is_object(v)) {
		lo2_buf_puts(b, "{");
		for (size_t i = 0; i < lo2_json_len(v); i++) {
			const char *k = lo2_json_key_at(v, i);

			lo2_buf_puts(b, i ? ", " : "");
			py_str_repr(b, k, strlen(k));
			lo2_buf_puts(b, ": ");
			py_repr_value(b, lo2_json_val_at(v, i));
		}
		lo2_buf_puts(b, "}");
	} else {
		lo2_buf_puts(b, "False");
	}
}

/* str({tag['key']: tag['value'] for tag in tags}): a repeated key keeps its first place and
 * takes its last value, as a dict does. */
static void tags_repr(struct lo2_buf *b, const struct lo2_json *tags)
{
	size_t n = lo2_json_len(tags);
	bool first = true;

	lo2_buf_puts(b, "{");
	for (size_t i = 0; i < n; i++) {
		const char *k = lo2_json_str(lo2_json_get(lo2_json_at(tags, i), "key"));
		const struct lo2_json *val = NULL;
		bool seen = false;

		if (k == NULL)
			continue;
		for (size_t j = 0; j < i && !seen; j++) {
			const char *pk = lo2_json_str(lo2_json_get(lo2_json_at(tags, j), "key"));

			seen = pk && strcmp(pk, k) == 0;
		}
		if (seen)
			continue;
		for (size_t j = i; j < n; j++) {
			const char *lk = lo2_json_str(lo2_json_get(lo2_json_at(tags, j), "key"));

			if (lk && strcmp(lk, k) == 0)
				val = lo2_json_get(lo2_json_at(tags, j), "value");
		}
		lo2_buf_puts(b, first ? "" : ", ");
		first = false;
		py_str_repr(b, k, strlen(k));
		lo2_buf_puts(b, ": ");
		py_repr_value(b, val);
	}
	lo2_buf_puts(b, "}");
}

static void csv_str(struct lo2_buf *b, const char *s, bool last)
{
	s = s ? s : "";
	py_csv_field(b, s, strlen(s));
	lo2_buf_puts(b, last ? "\n" : ",");
}

static void span_row(struct lo2_buf *out, const char *trace_id, const struct lo2_json *span)
{
	int64_t start = 0, dur = 0;
	char ts[48], te[48];
	struct lo2_buf tags = LO2_BUF_INIT;

	lo2_json_int(lo2_json_get(span, "startTime"), &start);
	lo2_json_int(lo2_json_get(span, "duration"), &dur);
	py_isoformat_us(start, ts, sizeof(ts));
	py_isoformat_us(start + dur, te, sizeof(te));
	tags_repr(&tags, lo2_json_get(span, "tags"));
	csv_str(out, trace_id, false);
	csv_str(out, lo2_json_str(lo2_json_get(span, "spanID")), false);
	csv_str(out, lo2_json_str(lo2_json_get(span, "operationName")), false);
	csv_str(out, ts, false);
	csv_str(out, te, false);
	csv_str(out, tags.data, true);
	lo2_buf_free(&tags);
}

/* Rows for the traces of data not already in seen (their ids are added); NULL seen keeps all. */
static int traces_rows(const struct lo2_json *doc, struct lo2_strv *seen, struct lo2_buf *out,
                       size_t *ntraces, struct lo2_err *err)
{
	const struct lo2_json *data = lo2_json_get(doc, "data");

	if (!lo2_json_is_array(data))
		return lo2_err_set(err, LO2_E_INVALID, "no \"data\" array in the answer");
	*ntraces = lo2_json_len(data);
	for (size_t i = 0; i < lo2_json_len(data); i++) {
		const struct lo2_json *t = lo2_json_at(data, i);
		const char *id = lo2_json_str(lo2_json_get(t, "traceID"));
		const struct lo2_json *spans = lo2_json_get(t, "spans");

		if (seen && id) {
			if (lo2_strv_contains(seen, id))
				continue;
			lo2_strv_push(seen, id);
		}
		for (size_t s = 0; s < lo2_json_len(spans); s++)
			span_row(out, id, lo2_json_at(spans, s));
	}
	return 0;
}

int fetch_jaeger_csv(const char *body, struct lo2_buf *out, size_t *ntraces, struct lo2_err *err)
{
	struct lo2_json *doc = NULL;
	int ret;

	if (lo2_json_parse(body, "traces", &doc, err) < 0)
		return -1;
	ret = traces_rows(doc, NULL, out, ntraces, err);
	lo2_json_free(doc);
	return ret;
}

/* Jaeger's error message ({"errors":[{"msg":...}]}) or a snippet of the body. */
static void jaeger_error_text(const struct lo2_json *doc, const char *body, char *out, size_t outsz)
{
	const char *m = lo2_json_str(lo2_json_get(lo2_json_at(lo2_json_get(doc, "errors"), 0), "msg"));

	if (m)
		snprintf(out, outsz, "%s", m);
	else
		snprintf(out, outsz, "%.200s", body);
}

/* GETs url and parses it as Jaeger JSON; non-200 answers become errors. */
static int jaeger_get(const char *url, int64_t timeout_ms, struct lo2_json **doc, struct lo2_err *err)
{
	lo2_autofree char *body = NULL;
	long status;
	char etext[512];

	if (http_get(url, BODY_MAX, timeout_ms, &body, &status, err) < 0)
		return -1;
	*doc = NULL;
	if (lo2_json_parse(body, url, doc, err) < 0 && status == 200)
		return -1;
	if (status != 200) {
		jaeger_error_text(*doc, body, etext, sizeof(etext));
		lo2_json_free(*doc);
		*doc = NULL;
		return lo2_err_set(err, status == 404 ? LO2_E_NOT_FOUND : LO2_E_GENERIC,
		                   "GET %s: HTTP %ld: %s", url, status, etext);
	}
	return 0;
}

int fetch_jaeger_services(const char *url, int64_t timeout_ms, struct lo2_strv *names, struct lo2_err *err)
{
	lo2_autofree char *full = xasprintf("%s/api/services", url);
	struct lo2_json *doc = NULL;
	const struct lo2_json *data;

	if (jaeger_get(full, timeout_ms ? timeout_ms : 120000, &doc, err) < 0)
		return lo2_err_prefix(err, "list Jaeger services");
	data = lo2_json_get(doc, "data");
	for (size_t i = 0; i < lo2_json_len(data); i++) {
		const char *s = lo2_json_str(lo2_json_at(data, i));

		if (s)
			lo2_strv_push(names, s);
	}
	lo2_json_free(doc);
	return 0;
}

struct svc_ctx {
	const struct fetch_jaeger_opts *o;
	const char *service;
	struct lo2_strv seen;
	struct lo2_buf csv;
	bool hit_limit; /* a window that could not be split further was full */
};

/* Fetches [start_us, end_us]; a full answer is fetched again as two halves. */
static int fetch_window(struct svc_ctx *c, int64_t start_us, int64_t end_us, int splits, struct lo2_err *err)
{
	const struct fetch_jaeger_opts *o = c->o;
	int limit = o->limit > 0 ? o->limit : 1000;
	lo2_autofree char *esc = http_escape(c->service);
	lo2_autofree char *url = xasprintf("%s/api/traces?service=%s&start=%lld&end=%lld&limit=%d", o->url,
	                                   esc, (long long)start_us, (long long)end_us, limit);
	struct lo2_json *doc = NULL;
	struct lo2_buf rows = LO2_BUF_INIT;
	size_t n = 0;
	int ret = -1;

	if (jaeger_get(url, o->timeout_ms > 0 ? o->timeout_ms : 120000, &doc, err) < 0)
		return -1;
	if ((size_t)limit <= lo2_json_len(lo2_json_get(doc, "data")) && end_us > start_us) {
		int64_t mid = start_us + (end_us - start_us) / 2;

		if (splits < MAX_SPLITS) {
			lo2_json_free(doc);
			if (fetch_window(c, start_us, mid, splits + 1, err) < 0)
				return -1;
			return fetch_window(c, mid + 1, end_us, splits + 1, err);
		}
		c->hit_limit = true;
	}
	if (traces_rows(doc, &c->seen, &rows, &n, err) < 0) {
		lo2_err_prefix(err, "GET %s", url);
		goto out;
	}
	lo2_buf_append(&c->csv, rows.data ? rows.data : "", rows.len);
	ret = 0;
out:
	lo2_buf_free(&rows);
	lo2_json_free(doc);
	return ret;
}

static void fetch_service(const struct fetch_jaeger_opts *o, const char *service, struct fetch_report *rep)
{
	struct svc_ctx c = {.o = o, .service = service};
	struct lo2_err e = {0};
	lo2_autofree char *file = xasprintf("traces_%s.csv", service);
	lo2_autofree char *path = NULL;

	if (lo2_name_check("traces file name", file, &e) < 0)
		goto fail;
	path = xasprintf("%s/%s", o->dir, file);
	lo2_buf_puts(&c.csv, FETCH_TRACES_HEADER);
	if (fetch_window(&c, o->start_ns / 1000, o->end_ns / 1000, 0, &e) < 0 ||
	    lo2_write_file_atomic(path, c.csv.data, c.csv.len, &e) < 0)
		goto fail;
	if (c.hit_limit)
		lo2_strv_take(&rep->warnings,
		              xasprintf("service %s: a part of the window still had %d traces, the "
		                        "limit: some traces may be missing (raise --limit)",
		                        service, o->limit > 0 ? o->limit : 1000));
	if (c.seen.n == 0)
		rep->empty++;
	else
		rep->ok++;
	goto out;
fail:
	rep->failed++;
	lo2_strv_take(&rep->failures, xasprintf("service %s: %s", service, e.msg));
out:
	lo2_strv_free(&c.seen);
	lo2_buf_free(&c.csv);
}

int fetch_jaeger_traces(const struct fetch_jaeger_opts *o, const struct lo2_strv *services,
                        struct fetch_report *rep, struct lo2_err *err)
{
	if (o->url == NULL || o->dir == NULL)
		return lo2_err_set(err, LO2_E_USAGE,
		                   "fetch traces: a Jaeger URL and an output folder are needed");
	for (size_t i = 0; i < services->n; i++) {
		if (o->cancel && atomic_load(o->cancel))
			return lo2_err_set(err, LO2_E_CANCELLED, "fetch traces: interrupted");
		fetch_service(o, services->v[i], rep);
	}
	return 0;
}

int fetch_write_last_fetch_time(const char *dir, int64_t end_ns, struct lo2_err *err)
{
	lo2_autofree char *path = xasprintf("%s/last_fetch_time.txt", dir);
	char iso[48];

	/* The original wrote end.isoformat() of a whole-second UTC datetime. */
	py_isoformat_us(end_ns / LO2_NS_PER_SEC * 1000000, iso, sizeof(iso));
	return lo2_write_file_atomic(path, iso, strlen(iso), err);
}
