/* prom.c - Prometheus: the metric list, and query_range for many metrics at once. Each
 * response is parsed as a stream (yajl) and written as it arrives in json.dump(indent=4)'s
 * exact form, so memory does not grow with a response. A window over the point limit is split
 * into chunks whose series are spooled to temp files and merged per series afterwards. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_parse.h>

#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/sink.h"
#include "common/time.h"
#include "fetch/fetch.h"
#include "fetch/internal.h"

#define FLUSH_AT (64 * 1024)
#define SNIP_MAX 200

enum key { K_OTHER, K_STATUS, K_DATA, K_ERRTYPE, K_ERROR, K_RESULT, K_METRIC, K_VALUES, K_HISTS };

/* One series of a chunk in spool mode: its labels and where its arrays went in the spool. */
struct spool_series {
	char *key; /* "name\0value\0..." in the order sent (sorted by name) */
	size_t keylen;
	long off[2];
	size_t len[2]; /* [0] values, [1] histograms */
};

/* The streaming parser of one response. */
struct pp {
	yajl_handle y;
	int depth; /* containers open */
	enum key key1, key2;
	bool in_result;
	char status[32], etype[64], error[512];
	size_t nseries;
	struct lo2_buf out; /* rendered text not yet flushed */
	struct pyjw w;
	/* where flushed text goes: a sink (direct mode) or a spool file */
	int (*flush)(struct pp *p);
	void *flush_user;
	struct lo2_err ferr;
	/* spool mode */
	bool spool;
	FILE *spool_f;
	long spool_off; /* bytes already flushed to spool_f */
	struct spool_series *series;
	size_t nser, capser;
	enum key skey; /* key inside the current series object */
	int arr; /* -1, or 0 values / 1 histograms while inside that array */
	size_t arr_items; /* elements written to the current array */
	struct lo2_buf labels;
	char *pending_label;
};

static enum key classify(const unsigned char *k, size_t n)
{
	static const struct {
		const char *s;
		enum key k;
	} keys[] = {{"status", K_STATUS}, {"data", K_DATA},       {"errorType", K_ERRTYPE},
	            {"error", K_ERROR},   {"result", K_RESULT},   {"metric", K_METRIC},
	            {"values", K_VALUES}, {"histograms", K_HISTS}};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i].s) == n && memcmp(keys[i].s, k, n) == 0)
			return keys[i].k;
	return K_OTHER;
}

static int maybe_flush(struct pp *p)
{
	if (p->out.len < FLUSH_AT)
		return 1;
	return p->flush(p) == 0 ? 1 : 0;
}

/* Depth of an event relative to the result array's elements: 0 is an element itself. */
static int rel(const struct pp *p)
{
	return p->depth - 3;
}

static struct spool_series *cur_series(struct pp *p)
{
	return &p->series[p->nser - 1];
}

/* Spool mode: an element of values/histograms starts at depth 2 within the series. */
static void spool_elem_start(struct pp *p)
{
	if (p->arr_items++ > 0)
		lo2_buf_append(&p->out, ",", 1);
	pyjw_indent(&p->out, 3);
	pyjw_init(&p->w, &p->out, 3);
}

static void spool_series_start(struct pp *p)
{
	if (p->nser == p->capser) {
		p->capser = p->capser ? p->capser * 2 : 64;
		p->series = xrealloc(p->series, p->capser * sizeof(*p->series));
	}
	memset(&p->series[p->nser++], 0, sizeof(*p->series));
	lo2_buf_reset(&p->labels);
	p->arr = -1;
}

static void spool_array_end(struct pp *p)
{
	struct spool_series *s = cur_series(p);
	long start = s->off[p->arr];

	s->len[p->arr] = (size_t)(p->spool_off + (long)p->out.len - start);
	p->arr = -1;
}

static void spool_series_end(struct pp *p)
{
	struct spool_series *ss = cur_series(p);

	ss->keylen = p->labels.len;
	ss->key = xmalloc(p->labels.len + 1);
	memcpy(ss->key, p->labels.data ? p->labels.data : "", p->labels.len);
	ss->key[p->labels.len] = '\0';
	p->skey = K_OTHER;
}

/* Writes one event with the json.dump writer; 0 when nesting is too deep (yajl's "cancel"). */
static int emit(struct pyjw *w, char kind, const char *s, size_t n)
{
	switch (kind) {
	case '[':
	case '{':
		return pyjw_open(w, kind) == 0;
	case ']':
	case '}':
		return pyjw_close(w, kind) == 0;
	case 'k':
		pyjw_key(w, s, n);
		break;
	case 's':
		pyjw_string(w, s, n);
		break;
	case 'n':
		pyjw_number(w, s, n);
		break;
	default:
		pyjw_literal(w, s);
		break;
	}
	return 1;
}

/* Routes an event inside data.result in spool mode. kind: '[', '{', ']', '}', 'k' key, 's' string,
 * 'n' number, 'l' literal. */
static int spool_event(struct pp *p, char kind, const char *s, size_t n)
{
	int r = rel(p);
	bool opens_value = kind != ']' && kind != '}' && kind != 'k';

	if (r == 0) {
		if (kind == '{')
			spool_series_start(p);
		else if (kind == '}')
			spool_series_end(p);
		return 1;
	}
	if (r == 1 && kind == 'k') {
		p->skey = classify((const unsigned char *)s, n);
		return 1;
	}
	if (r == 1 && kind == '[' && (p->skey == K_VALUES || p->skey == K_HISTS)) {
		p->arr = p->skey == K_VALUES ? 0 : 1;
		p->arr_items = 0;
		cur_series(p)->off[p->arr] = p->spool_off + (long)p->out.len;
		return 1;
	}
	if (r == 1 && kind == ']' && p->arr >= 0) {
		spool_array_end(p);
		return 1;
	}
	if (p->skey == K_METRIC && r == 2 && (kind == 'k' || kind == 's')) {
		lo2_buf_append(&p->labels, s, n); /* labels: name\0value\0... */
		lo2_buf_append(&p->labels, "", 1);
		return 1;
	}
	if (p->arr < 0 || r < 2)
		return 1; /* the rest of a series is not merged */
	if (r == 2 && opens_value)
		spool_elem_start(p);
	return emit(&p->w, kind, s, n);
}

/* Routes an event inside data.result (the result array's own open/close included). */
static int result_event(struct pp *p, char kind, const char *s, size_t n)
{
	if (p->depth == 3 && kind != ']' && kind != '}')
		p->nseries++;
	if (p->spool)
		return spool_event(p, kind, s, n) && maybe_flush(p);
	if (!emit(&p->w, kind, s, n))
		return 0;
	return maybe_flush(p);
}

static void capture(char *dst, size_t dsz, const unsigned char *s, size_t n)
{
	if (n >= dsz)
		n = dsz - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static int cb_string(void *ctx, const unsigned char *s, size_t n)
{
	struct pp *p = ctx;

	if (p->in_result)
		return result_event(p, 's', (const char *)s, n);
	if (p->depth == 1 && p->key1 == K_STATUS)
		capture(p->status, sizeof(p->status), s, n);
	else if (p->depth == 1 && p->key1 == K_ERRTYPE)
		capture(p->etype, sizeof(p->etype), s, n);
	else if (p->depth == 1 && p->key1 == K_ERROR)
		capture(p->error, sizeof(p->error), s, n);
	return 1;
}

static int cb_number(void *ctx, const char *s, size_t n)
{
	struct pp *p = ctx;

	return p->in_result ? result_event(p, 'n', s, n) : 1;
}

static int cb_null(void *ctx)
{
	struct pp *p = ctx;

	return p->in_result ? result_event(p, 'l', "null", 4) : 1;
}

static int cb_bool(void *ctx, int b)
{
	struct pp *p = ctx;

	return p->in_result ? result_event(p, 'l', b ? "true" : "false", b ? 4 : 5) : 1;
}

static int cb_key(void *ctx, const unsigned char *k, size_t n)
{
	struct pp *p = ctx;

	if (p->in_result)
		return result_event(p, 'k', (const char *)k, n);
	if (p->depth == 1)
		p->key1 = classify(k, n);
	else if (p->depth == 2)
		p->key2 = classify(k, n);
	return 1;
}

/* Events inside data.result see p->depth as the containers around them (not their own). */
static int open_container(struct pp *p, char kind)
{
	int r = 1;

	if (!p->in_result && kind == '[' && p->depth == 2 && p->key1 == K_DATA && p->key2 == K_RESULT) {
		p->in_result = true;
		if (!p->spool && pyjw_open(&p->w, '[') < 0)
			return 0;
		p->depth++;
		return 1;
	}
	if (p->in_result)
		r = result_event(p, kind, NULL, 0);
	p->depth++;
	return r;
}

static int close_container(struct pp *p, char kind)
{
	p->depth--;
	if (p->in_result && p->depth == 2) { /* the result array ends */
		p->in_result = false;
		if (!p->spool)
			pyjw_close(&p->w, ']');
		return 1;
	}
	return p->in_result ? result_event(p, kind, NULL, 0) : 1;
}

static int cb_start_map(void *ctx)
{
	return open_container(ctx, '{');
}

static int cb_end_map(void *ctx)
{
	return close_container(ctx, '}');
}

static int cb_start_array(void *ctx)
{
	return open_container(ctx, '[');
}

static int cb_end_array(void *ctx)
{
	return close_container(ctx, ']');
}

static const yajl_callbacks callbacks = {
    cb_null,      cb_bool, NULL,       NULL,           cb_number,    cb_string,
    cb_start_map, cb_key,  cb_end_map, cb_start_array, cb_end_array,
};

static void pp_init(struct pp *p, bool spool)
{
	memset(p, 0, sizeof(*p));
	p->y = yajl_alloc(&callbacks, NULL, p);
	p->spool = spool;
	p->arr = -1;
	pyjw_init(&p->w, &p->out, 0);
}

static void pp_free(struct pp *p)
{
	if (p->y)
		yajl_free(p->y);
	p->y = NULL;
	lo2_buf_free(&p->out);
	lo2_buf_free(&p->labels);
	for (size_t i = 0; i < p->nser; i++)
		free(p->series[i].key);
	free(p->series);
	p->series = NULL;
	p->nser = p->capser = 0;
	if (p->spool_f)
		fclose(p->spool_f);
	p->spool_f = NULL;
}

/* The parser's message for the bytes fed so far ("parse error: ..."), first line only. */
static void yajl_message(struct pp *p, const char *what, const char *chunk, size_t n, struct lo2_err *err)
{
	unsigned char *m = yajl_get_error(p->y, 0, (const unsigned char *)chunk, n);
	char *nl = strchr((char *)m, '\n');

	if (nl)
		*nl = '\0';
	lo2_err_set(err, LO2_E_INVALID, "%s: malformed JSON: %s", what, (char *)m);
	yajl_free_error(p->y, m);
}

/* Feeds body bytes; -1 with err on a parse or output error. */
static int pp_feed(struct pp *p, const char *s, size_t n, struct lo2_err *err)
{
	yajl_status st = yajl_parse(p->y, (const unsigned char *)s, n);

	if (st == yajl_status_ok)
		return 0;
	if (p->ferr.msg[0]) {
		*err = p->ferr;
		return -1;
	}
	if (st == yajl_status_client_canceled)
		return lo2_err_set(err, LO2_E_INVALID, "response: JSON nested deeper than %d",
		                   PYJW_MAX_DEPTH);
	yajl_message(p, "response", s, n, err);
	return -1;
}

/* Ends the body: -1 when truncated or when Prometheus said "error". */
static int pp_finish(struct pp *p, struct lo2_err *err)
{
	if (yajl_complete_parse(p->y) != yajl_status_ok) {
		if (p->ferr.msg[0]) {
			*err = p->ferr;
			return -1;
		}
		return lo2_err_set(err, LO2_E_INVALID, "response: truncated or malformed JSON");
	}
	if (strcmp(p->status, "success") != 0) {
		if (p->status[0] == '\0')
			return lo2_err_set(err, LO2_E_INVALID, "response: no \"status\" in the body");
		return lo2_err_set(err, LO2_E_INVALID, "%s: %s", p->etype[0] ? p->etype : p->status,
		                   p->error);
	}
	return 0;
}

static int flush_to_buf(struct pp *p)
{
	(void)p;
	return 0;
}

int fetch_prom_convert(const char *body, size_t n, struct lo2_buf *out, size_t *nseries, struct lo2_err *err)
{
	struct pp p;
	int ret = -1;

	pp_init(&p, false);
	p.flush = flush_to_buf;
	if (pp_feed(&p, body, n, err) < 0 || pp_finish(&p, err) < 0)
		goto out;
	if (p.nseries > 0)
		lo2_buf_append(out, p.out.data, p.out.len);
	*nseries = p.nseries;
	ret = 0;
out:
	pp_free(&p);
	return ret;
}

int fetch_metric_name_check(const char *name, struct lo2_err *err)
{
	char shown[300];

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p >= 0x20 && *p != 0x7f)
			continue;
		lo2_str_escape(name, shown, sizeof(shown));
		return lo2_err_set(err, LO2_E_INVALID, "metric name \"%s\" holds a control character", shown);
	}
	if (name[0] == '\0')
		return lo2_err_set(err, LO2_E_INVALID, "empty metric name");
	return 0;
}

int fetch_read_metric_names(const char *path, struct lo2_strv *names, struct lo2_err *err)
{
	lo2_autofree char *text = NULL;
	size_t len = 0, line_no = 1;
	char *line;

	if (lo2_read_file(path, 64u << 20, &text, &len, err) < 0)
		return -1;
	for (line = text; line < text + len; line_no++) {
		char *nl = memchr(line, '\n', (size_t)(text + len - line));
		char *end = nl ? nl : text + len, *e = end;

		if (memchr(line, '\0', (size_t)(end - line)) != NULL)
			return lo2_err_set(err, LO2_E_INVALID, "%s:%zu: a NUL byte in the line", path,
			                   line_no);
		*end = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		while (e > line && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			*--e = '\0';
		if (*line && fetch_metric_name_check(line, err) < 0)
			return lo2_err_prefix(err, "%s:%zu", path, line_no);
		if (*line)
			lo2_strv_push(names, line);
		line = end + 1;
	}
	return 0;
}

char *fetch_metric_file_name(const char *name, struct lo2_err *err)
{
	char *file = xasprintf("metric_%s.json", name);

	for (char *c = file; *c; c++)
		if (*c == '/')
			*c = '_';
	if (lo2_name_check("metric file", file, err) < 0) {
		free(file);
		return NULL;
	}
	return file;
}

void fetch_report_free(struct fetch_report *r)
{
	if (r == NULL)
		return;
	lo2_strv_free(&r->failures);
	lo2_strv_free(&r->warnings);
	memset(r, 0, sizeof(*r));
}

/* ---- metric list ---- */

/* Prometheus's error body ({"status":"error","error":...}) as a message, or a snippet. */
static void prom_error_text(const char *body, char *out, size_t outsz)
{
	struct lo2_json *doc = NULL;
	struct lo2_err ignore = {0};
	const char *e;

	if (lo2_json_parse(body, "body", &doc, &ignore) == 0 &&
	    (e = lo2_json_str(lo2_json_get(doc, "error")))) {
		const char *t = lo2_json_str(lo2_json_get(doc, "errorType"));

		snprintf(out, outsz, "%s%s%s", t ? t : "", t ? ": " : "", e);
	} else {
		snprintf(out, outsz, "%.*s", SNIP_MAX, body);
	}
	lo2_json_free(doc);
}

int fetch_prom_list(const char *url, int64_t timeout_ms, struct lo2_strv *names, struct lo2_err *err)
{
	lo2_autofree char *full = xasprintf("%s/api/v1/label/__name__/values", url);
	lo2_autofree char *body = NULL;
	struct lo2_json *doc = NULL;
	const struct lo2_json *data;
	long status;
	char etext[512];
	int ret = -1;

	if (http_get(full, 256u << 20, timeout_ms ? timeout_ms : 120000, &body, &status, err) < 0)
		return lo2_err_prefix(err, "list Prometheus metrics");
	if (status != 200) {
		prom_error_text(body, etext, sizeof(etext));
		return lo2_err_set(err, status == 404 ? LO2_E_NOT_FOUND : LO2_E_GENERIC,
		                   "list Prometheus metrics: GET %s: HTTP %ld: %s", full, status, etext);
	}
	if (lo2_json_parse(body, full, &doc, err) < 0)
		return lo2_err_prefix(err, "list Prometheus metrics");
	data = lo2_json_get(doc, "data");
	if (!lo2_json_is_array(data)) {
		lo2_err_set(err, LO2_E_INVALID, "list Prometheus metrics: GET %s: no \"data\" array", full);
		goto out;
	}
	for (size_t i = 0; i < lo2_json_len(data); i++) {
		const char *s = lo2_json_str(lo2_json_at(data, i));

		if (s == NULL) {
			lo2_err_set(err, LO2_E_INVALID,
			            "list Prometheus metrics: GET %s: entry %zu is not a string", full,
			            i + 1);
			goto out;
		}
		if (fetch_metric_name_check(s, err) < 0) {
			lo2_err_prefix(err, "list Prometheus metrics: GET %s: entry %zu", full, i + 1);
			goto out;
		}
		lo2_strv_push(names, s);
	}
	ret = 0;
out:
	lo2_json_free(doc);
	return ret;
}

/* ---- query_range for many metrics ---- */

struct metric;

/* One query_range request: a whole metric, or one chunk of its window. */
struct chunk {
	struct http_job job;
	struct metric *m;
	struct pp p;
	struct lo2_sink *sink; /* direct mode: opened at the first flush */
	struct lo2_err perr; /* a parse or output error met while receiving */
	char snip[SNIP_MAX + 1];
	size_t sniplen;
	bool ok;
};

struct metric {
	const char *name;
	char *path;
	size_t nchunks, left;
	struct chunk *chunks;
	char *why; /* the first failure */
	struct fetch_report *rep;
};

static int flush_to_sink(struct pp *p)
{
	struct chunk *c = p->flush_user;

	if (p->out.len == 0)
		return 0;
	if (c->sink == NULL && lo2_sink_file_open(c->m->path, &c->sink, &p->ferr) < 0)
		return -1;
	if (lo2_sink_write(c->sink, p->out.data, p->out.len, &p->ferr) < 0)
		return -1;
	lo2_buf_reset(&p->out);
	return 0;
}

static int flush_to_spool(struct pp *p)
{
	if (p->out.len == 0)
		return 0;
	if (p->spool_f == NULL && (p->spool_f = tmpfile()) == NULL)
		return lo2_err_errno(&p->ferr, errno, "create a spool file");
	if (fwrite(p->out.data, 1, p->out.len, p->spool_f) != p->out.len)
		return lo2_err_errno(&p->ferr, errno, "write a spool file");
	p->spool_off += (long)p->out.len;
	lo2_buf_reset(&p->out);
	return 0;
}

static void chunk_reset(void *user)
{
	struct chunk *c = user;

	pp_free(&c->p);
	lo2_sink_abort(c->sink);
	c->sink = NULL;
	pp_init(&c->p, c->m->nchunks > 1);
	c->p.flush = c->m->nchunks > 1 ? flush_to_spool : flush_to_sink;
	c->p.flush_user = c;
	lo2_err_clear(&c->perr);
	c->sniplen = 0;
	c->snip[0] = '\0';
}

static int chunk_data(void *user, const char *s, size_t n)
{
	struct chunk *c = user;

	if (c->sniplen < SNIP_MAX) {
		size_t k = n < SNIP_MAX - c->sniplen ? n : SNIP_MAX - c->sniplen;

		memcpy(c->snip + c->sniplen, s, k);
		c->sniplen += k;
		c->snip[c->sniplen] = '\0';
	}
	if (c->perr.msg[0])
		return -1;
	return pp_feed(&c->p, s, n, &c->perr);
}

/* Why an attempt failed, and whether another attempt can help. Returns 0 on success. */
static int chunk_check(struct chunk *c, long status, const char *cerr, bool *retry, struct lo2_err *e)
{
	*retry = true;
	if (status != 0 && status != 200) {
		*retry = status >= 500 || status == 429;
		if (c->p.error[0])
			return lo2_err_set(e, status == 404 ? LO2_E_NOT_FOUND : LO2_E_INVALID,
			                   "HTTP %ld: %s: %s", status, c->p.etype, c->p.error);
		for (size_t i = 0; i < c->sniplen; i++)
			if (c->snip[i] == '\n' || c->snip[i] == '\r')
				c->snip[i] = ' ';
		return lo2_err_set(e, LO2_E_GENERIC, "HTTP %ld: %s", status, c->snip);
	}
	if (c->perr.msg[0]) {
		*e = c->perr;
		return -1;
	}
	if (cerr != NULL)
		return lo2_err_set(e, strstr(cerr, "imed out") ? LO2_E_TIMEOUT : LO2_E_CONNECT, "%s", cerr);
	if (pp_finish(&c->p, e) < 0) {
		*retry = strstr(e->msg, "truncated") != NULL;
		return -1;
	}
	if (!c->p.spool && c->p.nseries == 0)
		return 0; /* an empty result writes no file */
	return c->p.flush(&c->p) < 0 ? (*e = c->p.ferr, -1) : 0;
}

static void metric_finish(struct metric *m);

static int chunk_done(void *user, long status, const char *cerr, bool last)
{
	struct chunk *c = user;
	struct lo2_err e = {0};
	bool retry;

	if (chunk_check(c, status, cerr, &retry, &e) < 0) {
		lo2_sink_abort(c->sink);
		c->sink = NULL;
		if (retry && !last) {
			lo2_debug("metric %s: %s; retrying", c->m->name, e.msg);
			return HTTP_RETRY;
		}
		if (c->m->why == NULL)
			c->m->why = xstrdup(e.msg);
	} else {
		c->ok = true;
		if (c->p.spool_f)
			fflush(c->p.spool_f);
	}
	if (c->p.y) {
		yajl_free(c->p.y);
		c->p.y = NULL;
	}
	if (--c->m->left == 0)
		metric_finish(c->m);
	return HTTP_DONE;
}

struct ref {
	const struct spool_series *s;
	size_t chunk;
};

static int ref_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	size_t n = x->s->keylen < y->s->keylen ? x->s->keylen : y->s->keylen;
	int c = memcmp(x->s->key, y->s->key, n);

	/* Prometheus's labels.Compare: name then value, label by label; a prefix sorts first. */
	if (c != 0)
		return c;
	if (x->s->keylen != y->s->keylen)
		return x->s->keylen < y->s->keylen ? -1 : 1;
	return x->chunk < y->chunk ? -1 : x->chunk > y->chunk;
}

static void render_labels(struct lo2_buf *out, const struct spool_series *s)
{
	struct pyjw w;
	size_t i = 0;

	pyjw_init(&w, out, 2);
	pyjw_open(&w, '{');
	while (i < s->keylen) {
		size_t kl = strlen(s->key + i), vl;

		pyjw_key(&w, s->key + i, kl);
		i += kl + 1;
		vl = i < s->keylen ? strlen(s->key + i) : 0;
		pyjw_string(&w, s->key + i, vl);
		i += vl + 1;
	}
	pyjw_close(&w, '}');
}

static int copy_region(struct lo2_buf *out, FILE *f, long off, size_t len, struct lo2_err *err)
{
	char buf[65536];

	while (len > 0) {
		size_t k = len < sizeof(buf) ? len : sizeof(buf);
		ssize_t r = pread(fileno(f), buf, k, off);

		if (r <= 0)
			return lo2_err_errno(err, r < 0 ? errno : EIO, "read a spool file");
		lo2_buf_append(out, buf, (size_t)r);
		off += r;
		len -= (size_t)r;
	}
	return 0;
}

static int write_out(struct lo2_sink *sink, struct lo2_buf *out, bool force, struct lo2_err *err)
{
	if (!force && out->len < FLUSH_AT)
		return 0;
	if (lo2_sink_write(sink, out->data, out->len, err) < 0)
		return -1;
	lo2_buf_reset(out);
	return 0;
}

/* One merged series: the labels of its first chunk, then each array's pieces in chunk order. */
static int merge_series(struct metric *m, const struct ref *g, size_t ng, bool first, struct lo2_buf *out,
                        struct lo2_err *err)
{
	static const char *names[2] = {"values", "histograms"};

	lo2_buf_puts(out, first ? "" : ",");
	pyjw_indent(out, 1);
	lo2_buf_puts(out, "{");
	pyjw_indent(out, 2);
	lo2_buf_puts(out, "\"metric\": ");
	render_labels(out, g[0].s);
	for (int a = 0; a < 2; a++) {
		bool any = false;

		for (size_t i = 0; i < ng; i++) {
			if (g[i].s->len[a] == 0)
				continue;
			if (!any) {
				lo2_buf_puts(out, ",");
				pyjw_indent(out, 2);
				lo2_buf_printf(out, "\"%s\": [", names[a]);
			} else {
				lo2_buf_puts(out, ",");
			}
			any = true;
			if (copy_region(out, m->chunks[g[i].chunk].p.spool_f, g[i].s->off[a], g[i].s->len[a],
			                err) < 0)
				return -1;
		}
		if (any) {
			pyjw_indent(out, 2);
			lo2_buf_puts(out, "]");
		}
	}
	pyjw_indent(out, 1);
	lo2_buf_puts(out, "}");
	return 0;
}

/* Merges the chunks' series (sorted as Prometheus sorts) into the metric's file. */
static int merge_chunks(struct metric *m, struct ref *refs, size_t nrefs, struct lo2_err *err)
{
	struct lo2_sink *sink = NULL;
	struct lo2_buf out = LO2_BUF_INIT;
	size_t i = 0;
	int ret = -1;

	qsort(refs, nrefs, sizeof(*refs), ref_cmp);
	if (lo2_sink_file_open(m->path, &sink, err) < 0)
		return -1;
	lo2_buf_puts(&out, "[");
	while (i < nrefs) {
		size_t j = i + 1;

		while (j < nrefs && refs[j].s->keylen == refs[i].s->keylen &&
		       memcmp(refs[j].s->key, refs[i].s->key, refs[i].s->keylen) == 0)
			j++;
		if (merge_series(m, refs + i, j - i, i == 0, &out, err) < 0 ||
		    write_out(sink, &out, false, err) < 0)
			goto out;
		i = j;
	}
	pyjw_indent(&out, 0);
	lo2_buf_puts(&out, "]");
	if (write_out(sink, &out, true, err) < 0)
		goto out;
	ret = lo2_sink_commit(sink, err);
	sink = NULL;
out:
	lo2_sink_abort(sink);
	lo2_buf_free(&out);
	return ret;
}

/* Counts a finished metric: written, empty, or failed. Commits a direct-mode file. */
static void metric_finish(struct metric *m)
{
	struct lo2_err e = {0};
	size_t nrefs = 0, k = 0;
	struct ref *refs;

	if (m->why == NULL && m->nchunks == 1) {
		struct chunk *c = &m->chunks[0];

		if (c->p.nseries == 0) {
			lo2_sink_abort(c->sink);
			m->rep->empty++;
		} else if (lo2_sink_commit(c->sink, &e) < 0) {
			m->why = xstrdup(e.msg);
		} else {
			m->rep->ok++;
		}
		c->sink = NULL;
	} else if (m->why == NULL) {
		for (size_t i = 0; i < m->nchunks; i++)
			nrefs += m->chunks[i].p.nser;
		refs = xcalloc(nrefs + 1, sizeof(*refs));
		for (size_t i = 0; i < m->nchunks; i++)
			for (size_t s = 0; s < m->chunks[i].p.nser; s++)
				refs[k++] = (struct ref){&m->chunks[i].p.series[s], i};
		if (nrefs == 0)
			m->rep->empty++;
		else if (merge_chunks(m, refs, nrefs, &e) < 0)
			m->why = xstrdup(e.msg);
		else
			m->rep->ok++;
		free(refs);
	}
	if (m->why != NULL) {
		m->rep->failed++;
		lo2_strv_take(&m->rep->failures, xasprintf("metric %s: %s", m->name, m->why));
	}
	for (size_t i = 0; i < m->nchunks; i++)
		pp_free(&m->chunks[i].p);
}

static void fmt_ms(int64_t ms, char *out, size_t outsz)
{
	snprintf(out, outsz, "%lld.%03lld", (long long)(ms / 1000), (long long)(ms % 1000));
}

/* Splits the metric's window into queries of at most max_points points, aligned to one
 * big query's evaluation times. */
static void metric_plan(struct metric *m, const struct fetch_prom_opts *o, const char *esc)
{
	int64_t step = o->step_ns / 1000000, start = o->start_ns / 1000000, end = o->end_ns / 1000000;
	int64_t maxp = o->max_points > 0 ? o->max_points : 11000;
	int64_t points = (end - start) / step + 1;
	char s[32], e[32], st[32];

	m->nchunks = (size_t)((points + maxp - 1) / maxp);
	m->left = m->nchunks;
	m->chunks = xcalloc(m->nchunks, sizeof(*m->chunks));
	fmt_ms(step, st, sizeof(st));
	for (size_t i = 0; i < m->nchunks; i++) {
		struct chunk *c = &m->chunks[i];
		int64_t cs = start + (int64_t)i * maxp * step;
		int64_t ce = cs + (maxp - 1) * step < end ? cs + (maxp - 1) * step : end;

		fmt_ms(cs, s, sizeof(s));
		fmt_ms(ce, e, sizeof(e));
		c->m = m;
		c->job.url = xasprintf("%s/api/v1/query_range?query=%s&start=%s&end=%s&step=%s", o->url, esc,
		                       s, e, st);
		c->job.user = c;
		c->job.reset = chunk_reset;
		c->job.data = chunk_data;
		c->job.done = chunk_done;
		pp_init(&c->p, m->nchunks > 1);
	}
}

static int check_opts(const struct fetch_prom_opts *o, struct lo2_err *err)
{
	if (o->url == NULL || o->dir == NULL)
		return lo2_err_set(err, LO2_E_USAGE,
		                   "fetch metrics: a Prometheus URL and an output folder are needed");
	if (o->step_ns < 1000000)
		return lo2_err_set(err, LO2_E_USAGE, "fetch metrics: the step must be at least 1 ms");
	if (o->end_ns < o->start_ns)
		return lo2_err_set(err, LO2_E_USAGE, "fetch metrics: the window ends before it starts");
	return 0;
}

int fetch_prom_metrics(const struct fetch_prom_opts *o, const struct lo2_strv *names,
                       struct fetch_report *rep, struct lo2_err *err)
{
	struct http_pool_opts po = {
	    .concurrency = o->concurrency > 0 ? o->concurrency : 8,
	    .timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 120000,
	    .max_attempts = o->max_attempts > 0 ? o->max_attempts : 3,
	    .backoff_ms = o->backoff_ms > 0 ? o->backoff_ms : 500,
	    .cancel = o->cancel,
	};
	struct metric *ms = xcalloc(names->n + 1, sizeof(*ms));
	struct http_job **jobs = NULL;
	size_t nm = 0, nj = 0;
	int ret;

	if (check_opts(o, err) < 0) {
		free(ms);
		return -1;
	}
	po.stall_ms = po.timeout_ms < 30000 ? po.timeout_ms : 30000;
	for (size_t i = 0; i < names->n; i++) {
		struct lo2_err e = {0};
		char *file = fetch_metric_file_name(names->v[i], &e);
		bool dup = false;

		const struct metric *taken = NULL;

		for (size_t k = 0; k < nm && !dup; k++)
			dup = strcmp(ms[k].name, names->v[i]) == 0;
		if (file == NULL) {
			char shown[300];

			lo2_str_escape(names->v[i], shown, sizeof(shown));
			rep->failed++;
			lo2_strv_take(&rep->failures, xasprintf("metric %s: %s", shown, e.msg));
			continue;
		}
		if (dup) {
			free(file);
			continue;
		}
		lo2_autofree char *esc = http_escape(names->v[i]);
		lo2_autofree char *path = xasprintf("%s/%s", o->dir, file);

		/* "a/b" and "a_b" share one file name: the later one is refused, never written over. */
		for (size_t k = 0; k < nm && taken == NULL; k++)
			if (strcmp(ms[k].path, path) == 0)
				taken = &ms[k];
		if (taken != NULL) {
			rep->failed++;
			lo2_strv_take(&rep->failures,
			              xasprintf("metric %s: its file %s is already metric %s's (the "
			                        "names differ only in '/' and '_'); not fetched",
			                        names->v[i], file, taken->name));
			free(file);
			continue;
		}
		ms[nm].name = names->v[i];
		ms[nm].path = xasprintf("%s/%s", o->dir, file);
		ms[nm].rep = rep;
		free(file);
		metric_plan(&ms[nm], o, esc);
		nj += ms[nm].nchunks;
		nm++;
	}
	jobs = xcalloc(nj + 1, sizeof(*jobs));
	nj = 0;
	for (size_t i = 0; i < nm; i++)
		for (size_t c = 0; c < ms[i].nchunks; c++)
			jobs[nj++] = &ms[i].chunks[c].job;
	ret = http_run(jobs, nj, &po, err);
	for (size_t i = 0; i < nm; i++) {
		for (size_t c = 0; c < ms[i].nchunks; c++) {
			pp_free(&ms[i].chunks[c].p);
			free(ms[i].chunks[c].job.url);
		}
		free(ms[i].chunks);
		free(ms[i].path);
		free(ms[i].why);
	}
	free(ms);
	free(jobs);
	return ret;
}
