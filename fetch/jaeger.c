/* jaeger.c - Jaeger: the service list, and /api/traces per service over a window written as
 * the original's traces_<service>.csv (its header, ISO times, Tags as str() of a Python dict).
 * Answers are parsed as a stream (yajl): each trace's rows go to the file when the trace's
 * object closes, so memory holds one trace, not an answer. A service whose answer reaches the
 * limit is fetched again in halves of its window (the transfer stops as soon as the limit is
 * reached), with traces seen before skipped, so a busy service is not cut at the limit.
 * The row format is shared with other span sources through fetch_traces_row. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/sink.h"
#include "common/time.h"
#include "fetch/fetch.h"
#include "fetch/internal.h"

#define MAX_SPLITS 12
#define TRACE_MAX (256u << 20) /* rendered rows of one trace */
#define REPR_DEPTH 64 /* nesting of a tag value */
#define FLUSH_AT (64 * 1024)
#define SNIP_MAX 200

/* ---- the row format ---- */

/* One dict item: key and the repr() of its value, as offsets into a text buffer. */
struct item {
	size_t key, klen, val, vlen;
};

/* str(dict(items)) into out: a repeated key keeps its first place and takes its last value. */
static void dict_repr(struct lo2_buf *out, const char *text, const struct item *it, size_t n)
{
	bool first = true;

	lo2_buf_puts(out, "{");
	for (size_t i = 0; i < n; i++) {
		size_t last = i;
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = it[j].klen == it[i].klen &&
			       memcmp(text + it[j].key, text + it[i].key, it[i].klen) == 0;
		if (seen)
			continue;
		for (size_t j = i + 1; j < n; j++)
			if (it[j].klen == it[i].klen &&
			    memcmp(text + it[j].key, text + it[i].key, it[i].klen) == 0)
				last = j;
		lo2_buf_puts(out, first ? "" : ", ");
		first = false;
		py_str_repr(out, text + it[i].key, it[i].klen);
		lo2_buf_puts(out, ": ");
		lo2_buf_append(out, text + it[last].val, it[last].vlen);
	}
	lo2_buf_puts(out, "}");
}

static void csv_field(struct lo2_buf *b, const char *s, size_t n, bool last)
{
	py_csv_field(b, s, n);
	lo2_buf_puts(b, last ? "\n" : ",");
}

/* Span ID, Operation Name, Start Time, End Time, Tags: the row after its Trace ID field. */
static void row_tail(struct lo2_buf *out, const char *span_id, size_t sidlen, const char *name, size_t nlen,
                     int64_t start_us, int64_t dur_us, const char *tags, size_t tlen)
{
	char ts[48], te[48];

	py_isoformat_us(start_us, ts, sizeof(ts));
	py_isoformat_us(start_us + dur_us, te, sizeof(te));
	csv_field(out, span_id, sidlen, false);
	csv_field(out, name, nlen, false);
	csv_field(out, ts, strlen(ts), false);
	csv_field(out, te, strlen(te), false);
	csv_field(out, tags, tlen, true);
}

void fetch_traces_row(struct lo2_buf *out, const struct fetch_span_row *r)
{
	struct lo2_buf text = LO2_BUF_INIT, tags = LO2_BUF_INIT;
	struct item *it = xcalloc(r->n_tags + 1, sizeof(*it));
	char num[64];

	for (size_t i = 0; i < r->n_tags; i++) {
		const struct fetch_tag *t = &r->tags[i];

		it[i].key = text.len;
		it[i].klen = strlen(t->key);
		lo2_buf_append(&text, t->key, it[i].klen);
		it[i].val = text.len;
		switch (t->type) {
		case FETCH_TAG_STRING:
			py_str_repr(&text, t->s, t->n);
			break;
		case FETCH_TAG_BOOL:
			lo2_buf_puts(&text, t->b ? "True" : "False");
			break;
		case FETCH_TAG_INT64:
			snprintf(num, sizeof(num), "%lld", (long long)t->i);
			lo2_buf_puts(&text, num);
			break;
		case FETCH_TAG_FLOAT64:
			/* Jaeger's JSON has the number as Go writes it; Python reads that text */
			if (isfinite(t->d)) {
				fetch_go_json_float(t->d, num, sizeof(num));
				py_json_number(&text, num, strlen(num));
			} else {
				py_float_repr(t->d, num, sizeof(num));
				lo2_buf_puts(&text, num);
			}
			break;
		}
		it[i].vlen = text.len - it[i].val;
	}
	dict_repr(&tags, text.data ? text.data : "", it, r->n_tags);
	csv_field(out, r->trace_id, strlen(r->trace_id), false);
	row_tail(out, r->span_id, strlen(r->span_id), r->name, strlen(r->name), r->start_us, r->duration_us,
	         tags.data, tags.len);
	free(it);
	lo2_buf_free(&text);
	lo2_buf_free(&tags);
}

/* ---- a set of trace ids seen (open addressing) ---- */
struct idset {
	char **slot;
	size_t cap, n;
};

static size_t idhash(const char *s)
{
	size_t h = 1469598103934665603u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211u;
	return h;
}

static char **idset_find(const struct idset *set, const char *id)
{
	size_t i = idhash(id) & (set->cap - 1);

	while (set->slot[i] != NULL && strcmp(set->slot[i], id) != 0)
		i = (i + 1) & (set->cap - 1);
	return &set->slot[i];
}

/* True when id was not in the set (it is now). */
static bool idset_add(struct idset *set, const char *id)
{
	char **s;

	if (2 * (set->n + 1) > set->cap) {
		struct idset big = {xcalloc(set->cap ? set->cap * 2 : 64, sizeof(char *)),
		                    set->cap ? set->cap * 2 : 64, set->n};

		for (size_t i = 0; i < set->cap; i++)
			if (set->slot[i] != NULL)
				*idset_find(&big, set->slot[i]) = set->slot[i];
		free(set->slot);
		*set = big;
	}
	s = idset_find(set, id);
	if (*s != NULL)
		return false;
	*s = xstrdup(id);
	set->n++;
	return true;
}

static void idset_free(struct idset *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slot[i]);
	free(set->slot);
	memset(set, 0, sizeof(*set));
}

/* ---- the streaming parser of one /api/traces answer ---- */
enum key {
	K_OTHER,
	K_DATA,
	K_ERRORS,
	K_TRACEID,
	K_SPANS,
	K_SPANID,
	K_OPNAME,
	K_START,
	K_DUR,
	K_TAGS,
	K_KEY,
	K_VALUE,
	K_MSG
};

struct tp {
	yajl_handle y;
	int depth; /* containers open */
	enum key key[8]; /* the last key at each depth (1..7) */
	/* where rows go: out, then flush(out) when it is large */
	struct lo2_buf *out;
	int (*flush)(void *user, struct lo2_buf *out, struct lo2_err *err);
	void *flush_user;
	struct idset *seen; /* NULL: keep every trace */
	size_t limit; /* stop after this many traces (0: never) */
	bool hit_limit; /* stopped at the limit */
	size_t ntraces;
	/* the trace being read */
	struct lo2_buf trace_id;
	struct lo2_buf rows; /* row tails of its spans */
	size_t *row_off;
	size_t nrows, caprows;
	/* the span being read */
	struct lo2_buf span_id, opname, text; /* text: tag keys and value reprs */
	int64_t start, dur;
	struct item *items;
	size_t nitems, capitems;
	struct item cur; /* the tag being read */
	/* a tag value being rendered as repr(): one entry per open container in it */
	int vdepth; /* the depth where the value started (0: not in a value) */
	size_t vcount[REPR_DEPTH]; /* items written in each open container */
	bool vkey[REPR_DEPTH]; /* the next string in this object is a key */
	/* errors: {"errors":[{"msg":...}]} */
	char errmsg[512];
	struct lo2_err ferr; /* a flush or cap failure */
};

static enum key classify(const unsigned char *k, size_t n)
{
	static const struct {
		const char *s;
		enum key k;
	} keys[] = {{"data", K_DATA},       {"errors", K_ERRORS}, {"traceID", K_TRACEID},
	            {"spans", K_SPANS},     {"spanID", K_SPANID}, {"operationName", K_OPNAME},
	            {"startTime", K_START}, {"duration", K_DUR},  {"tags", K_TAGS},
	            {"key", K_KEY},         {"value", K_VALUE},   {"msg", K_MSG}};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i].s) == n && memcmp(keys[i].s, k, n) == 0)
			return keys[i].k;
	return K_OTHER;
}

static enum key key_at(const struct tp *p, int depth)
{
	return depth >= 1 && depth < 8 ? p->key[depth] : K_OTHER;
}

/* Where the parser is. */
static bool in_trace(const struct tp *p)
{
	return p->depth >= 3 && key_at(p, 1) == K_DATA;
}

static bool in_span(const struct tp *p)
{
	return p->depth >= 5 && in_trace(p) && key_at(p, 3) == K_SPANS;
}

static bool in_tag(const struct tp *p)
{
	return p->depth >= 7 && in_span(p) && key_at(p, 5) == K_TAGS;
}

/* A value event inside a tag's "value": rendered into p->text as Python's repr. */
static void repr_sep(struct tp *p)
{
	int d = p->depth - p->vdepth; /* containers open inside the value */

	if (d > 0 && d <= REPR_DEPTH) {
		size_t *c = &p->vcount[d - 1];

		if (!p->vkey[d - 1] || *c % 2 == 0) /* list items, or dict keys */
			lo2_buf_puts(&p->text, *c == 0 ? "" : ", ");
		else
			lo2_buf_puts(&p->text, ": ");
		(*c)++;
	}
}

static bool in_value(const struct tp *p)
{
	return p->vdepth > 0;
}

static void value_scalar(struct tp *p, const char *s, size_t n, char kind)
{
	char f[64];
	char tmp[512];

	repr_sep(p);
	switch (kind) {
	case 's':
		py_str_repr(&p->text, s, n);
		break;
	case 'n':
		if (memchr(s, '.', n) == NULL && memchr(s, 'e', n) == NULL && memchr(s, 'E', n) == NULL) {
			py_json_number(&p->text, s, n);
		} else {
			snprintf(tmp, sizeof(tmp), "%.*s", (int)n, s);
			py_float_repr(strtod(tmp, NULL), f, sizeof(f));
			lo2_buf_puts(&p->text, f);
		}
		break;
	default:
		lo2_buf_append(&p->text, s, n);
		break;
	}
}

static void tag_value_done(struct tp *p)
{
	p->cur.vlen = p->text.len - p->cur.val;
	p->vdepth = 0;
}

static int check_text(struct tp *p)
{
	if (p->text.len + p->rows.len > TRACE_MAX)
		return lo2_err_set(&p->ferr, LO2_E_INVALID, "a trace larger than %u bytes", TRACE_MAX), 0;
	return 1;
}

static int scalar(struct tp *p, const char *s, size_t n, char kind)
{
	if (in_value(p)) {
		value_scalar(p, s, n, kind);
		if (p->depth == p->vdepth)
			tag_value_done(p);
		return check_text(p);
	}
	if (p->depth == 7 && in_tag(p) && key_at(p, 7) == K_VALUE) {
		p->vdepth = p->depth;
		p->cur.val = p->text.len;
		value_scalar(p, s, n, kind);
		tag_value_done(p);
		return check_text(p);
	}
	if (p->depth == 7 && in_tag(p) && key_at(p, 7) == K_KEY && kind == 's') {
		p->cur.key = p->text.len;
		p->cur.klen = n;
		lo2_buf_append(&p->text, s, n);
		return check_text(p);
	}
	if (p->depth == 5 && in_span(p)) {
		enum key k = key_at(p, 5);
		char tmp[32];

		if (k == K_SPANID && kind == 's')
			lo2_buf_append(&p->span_id, s, n);
		else if (k == K_OPNAME && kind == 's')
			lo2_buf_append(&p->opname, s, n);
		else if ((k == K_START || k == K_DUR) && kind == 'n') {
			snprintf(tmp, sizeof(tmp), "%.*s", (int)(n < 31 ? n : 31), s);
			*(k == K_START ? &p->start : &p->dur) = strtoll(tmp, NULL, 10);
		}
		return 1;
	}
	if (p->depth == 3 && in_trace(p) && key_at(p, 3) == K_TRACEID && kind == 's') {
		lo2_buf_reset(&p->trace_id);
		lo2_buf_append(&p->trace_id, s, n);
		return 1;
	}
	if (p->depth == 3 && key_at(p, 1) == K_ERRORS && key_at(p, 3) == K_MSG && kind == 's' &&
	    !p->errmsg[0])
		snprintf(p->errmsg, sizeof(p->errmsg), "%.*s", (int)(n < 511 ? n : 511), s);
	return 1;
}

static int cb_null(void *ctx)
{
	return scalar(ctx, "None", 4, 'l');
}

static int cb_bool(void *ctx, int b)
{
	return scalar(ctx, b ? "True" : "False", b ? 4 : 5, 'l');
}

static int cb_number(void *ctx, const char *s, size_t n)
{
	return scalar(ctx, s, n, 'n');
}

static int cb_string(void *ctx, const unsigned char *s, size_t n)
{
	return scalar(ctx, (const char *)s, n, 's');
}

static int cb_key(void *ctx, const unsigned char *k, size_t n)
{
	struct tp *p = ctx;

	if (in_value(p)) {
		repr_sep(p);
		py_str_repr(&p->text, (const char *)k, n);
		return check_text(p);
	}
	if (p->depth >= 1 && p->depth < 8)
		p->key[p->depth] = classify(k, n);
	return 1;
}

static int open_c(struct tp *p, char c)
{
	int d;

	if (!in_value(p) && p->depth == 7 && in_tag(p) && key_at(p, 7) == K_VALUE) {
		p->vdepth = p->depth;
		p->cur.val = p->text.len;
	}
	if (in_value(p)) {
		repr_sep(p);
		d = p->depth - p->vdepth;
		if (d >= REPR_DEPTH)
			return lo2_err_set(&p->ferr, LO2_E_INVALID, "a tag value nested deeper than %d",
			                   REPR_DEPTH),
			       0;
		p->vcount[d] = 0;
		p->vkey[d] = c == '{';
		lo2_buf_append(&p->text, c == '{' ? "{" : "[", 1);
	}
	p->depth++;
	if (p->depth < 8)
		p->key[p->depth] = K_OTHER;
	if (p->depth == 3 && in_trace(p)) {
		lo2_buf_reset(&p->trace_id);
		lo2_buf_reset(&p->rows);
		p->nrows = 0;
	} else if (p->depth == 5 && in_span(p)) {
		lo2_buf_reset(&p->span_id);
		lo2_buf_reset(&p->opname);
		lo2_buf_reset(&p->text);
		p->start = p->dur = 0;
		p->nitems = 0;
	} else if (p->depth == 7 && in_tag(p)) {
		memset(&p->cur, 0, sizeof(p->cur));
		p->cur.klen = SIZE_MAX; /* no key yet */
	}
	return 1;
}

static void span_done(struct tp *p)
{
	struct lo2_buf tags = LO2_BUF_INIT;

	dict_repr(&tags, p->text.data ? p->text.data : "", p->items, p->nitems);
	if (p->nrows == p->caprows) {
		p->caprows = p->caprows ? 2 * p->caprows : 16;
		p->row_off = xrealloc(p->row_off, p->caprows * sizeof(*p->row_off));
	}
	p->row_off[p->nrows++] = p->rows.len;
	row_tail(&p->rows, p->span_id.data ? p->span_id.data : "", p->span_id.len,
	         p->opname.data ? p->opname.data : "", p->opname.len, p->start, p->dur, tags.data, tags.len);
	lo2_buf_free(&tags);
}

static int trace_done(struct tp *p)
{
	const char *id = p->trace_id.data ? p->trace_id.data : "";

	p->ntraces++;
	if (p->seen == NULL || idset_add(p->seen, id)) {
		for (size_t i = 0; i < p->nrows; i++) {
			size_t end = i + 1 < p->nrows ? p->row_off[i + 1] : p->rows.len;

			csv_field(p->out, id, p->trace_id.len, false);
			lo2_buf_append(p->out, p->rows.data + p->row_off[i], end - p->row_off[i]);
		}
	}
	if (p->flush && p->out->len >= FLUSH_AT && p->flush(p->flush_user, p->out, &p->ferr) < 0)
		return 0;
	if (p->limit > 0 && p->ntraces >= p->limit) {
		p->hit_limit = true;
		return 0; /* no need to read further: the window is split */
	}
	return 1;
}

static int close_c(struct tp *p, char c)
{
	if (in_value(p)) {
		lo2_buf_append(&p->text, c == '{' ? "}" : "]", 1);
		p->depth--;
		if (p->depth == p->vdepth)
			tag_value_done(p);
		return check_text(p);
	}
	if (p->depth == 7 && in_tag(p) && p->cur.klen != SIZE_MAX) {
		if (p->nitems == p->capitems) {
			p->capitems = p->capitems ? 2 * p->capitems : 32;
			p->items = xrealloc(p->items, p->capitems * sizeof(*p->items));
		}
		if (p->cur.vlen == 0) { /* no "value" (the original's Python would stop): None */
			p->cur.val = p->text.len;
			lo2_buf_puts(&p->text, "None");
			p->cur.vlen = 4;
		}
		p->items[p->nitems++] = p->cur;
	} else if (p->depth == 5 && in_span(p)) {
		span_done(p);
	} else if (p->depth == 3 && in_trace(p) && c == '{') {
		p->depth--;
		return trace_done(p);
	}
	p->depth--;
	return 1;
}

static int cb_start_map(void *ctx)
{
	return open_c(ctx, '{');
}

static int cb_end_map(void *ctx)
{
	return close_c(ctx, '{');
}

static int cb_start_array(void *ctx)
{
	return open_c(ctx, '[');
}

static int cb_end_array(void *ctx)
{
	return close_c(ctx, '[');
}

static const yajl_callbacks tp_callbacks = {
    cb_null,      cb_bool, NULL,       NULL,           cb_number,    cb_string,
    cb_start_map, cb_key,  cb_end_map, cb_start_array, cb_end_array,
};

static void tp_init(struct tp *p, struct lo2_buf *out, struct idset *seen, size_t limit)
{
	memset(p, 0, sizeof(*p));
	p->out = out;
	p->seen = seen;
	p->limit = limit;
	p->y = yajl_alloc(&tp_callbacks, NULL, p);
	if (p->y == NULL)
		abort();
}

static void tp_free(struct tp *p)
{
	if (p->y)
		yajl_free(p->y);
	lo2_buf_free(&p->trace_id);
	lo2_buf_free(&p->rows);
	lo2_buf_free(&p->span_id);
	lo2_buf_free(&p->opname);
	lo2_buf_free(&p->text);
	free(p->row_off);
	free(p->items);
	p->y = NULL;
	p->row_off = NULL;
	p->items = NULL;
}

/* Feeds a piece of the answer; -1 with err on a parse failure (not when stopped at the limit). */
static int tp_feed(struct tp *p, const char *s, size_t n, const char *what, struct lo2_err *err)
{
	yajl_status st;
	unsigned char *m;

	if (p->hit_limit)
		return 0;
	st = yajl_parse(p->y, (const unsigned char *)s, n);
	if (st == yajl_status_ok || (st == yajl_status_client_canceled && p->hit_limit))
		return 0;
	if (st == yajl_status_client_canceled) {
		*err = p->ferr;
		return lo2_err_prefix(err, "%s", what);
	}
	m = yajl_get_error(p->y, 0, (const unsigned char *)s, n);
	lo2_err_set(err, LO2_E_INVALID, "parse %s: malformed JSON: %s", what, (char *)m);
	yajl_free_error(p->y, m);
	return -1;
}

static int tp_finish(struct tp *p, const char *what, struct lo2_err *err)
{
	if (p->hit_limit)
		return 0;
	if (yajl_complete_parse(p->y) != yajl_status_ok)
		return lo2_err_set(err, LO2_E_INVALID, "parse %s: malformed JSON: the answer ends early",
		                   what);
	if (p->depth != 0)
		return lo2_err_set(err, LO2_E_INVALID, "parse %s: malformed JSON", what);
	return 0;
}

int fetch_jaeger_csv(const char *body, struct lo2_buf *out, size_t *ntraces, struct lo2_err *err)
{
	struct tp p;
	int ret = -1;

	tp_init(&p, out, NULL, 0);
	if (tp_feed(&p, body, strlen(body), "traces", err) == 0 && tp_finish(&p, "traces", err) == 0) {
		*ntraces = p.ntraces;
		ret = 0;
	}
	tp_free(&p);
	return ret;
}

/* ---- HTTP ---- */

int fetch_jaeger_services(const char *url, int64_t timeout_ms, struct lo2_strv *names, struct lo2_err *err)
{
	lo2_autofree char *full = xasprintf("%s/api/services", url);
	lo2_autofree char *body = NULL;
	struct lo2_json *doc = NULL;
	const struct lo2_json *data;
	long status;

	/* a list of names: small, read whole (capped) */
	if (http_get(full, 64u << 20, timeout_ms ? timeout_ms : 120000, &body, &status, err) < 0)
		return lo2_err_prefix(err, "list Jaeger services");
	if (lo2_json_parse(body, full, &doc, err) < 0 && status == 200)
		return lo2_err_prefix(err, "list Jaeger services");
	if (status != 200) {
		const char *m =
		    lo2_json_str(lo2_json_get(lo2_json_at(lo2_json_get(doc, "errors"), 0), "msg"));

		lo2_err_set(err, status == 404 ? LO2_E_NOT_FOUND : LO2_E_GENERIC,
		            "list Jaeger services: GET %s: HTTP %ld: %.200s", full, status, m ? m : body);
		lo2_json_free(doc);
		return -1;
	}
	data = lo2_json_get(doc, "data");
	for (size_t i = 0; i < lo2_json_len(data); i++) {
		const char *s = lo2_json_str(lo2_json_at(data, i));

		if (s)
			lo2_strv_push(names, s);
	}
	lo2_json_free(doc);
	return 0;
}

/* One service's file and what it has seen. */
struct svc_ctx {
	const struct fetch_jaeger_opts *o;
	const char *service;
	struct lo2_sink *sink;
	struct lo2_buf out; /* rows not yet written to sink */
	struct idset seen;
	bool hit_limit; /* a window that could not be split further was full */
};

/* One GET of /api/traces, as an http_job. */
struct win {
	struct http_job job;
	struct svc_ctx *c;
	struct tp p;
	size_t limit; /* 0 when the window is not split further */
	char snip[SNIP_MAX + 1];
	size_t sniplen;
	struct lo2_err e; /* why the attempt failed */
	bool ok, split;
};

static int flush_rows(void *user, struct lo2_buf *out, struct lo2_err *err)
{
	struct svc_ctx *c = user;

	if (lo2_sink_write(c->sink, out->data, out->len, err) < 0)
		return -1;
	lo2_buf_reset(out);
	return 0;
}

static void win_reset(void *user)
{
	struct win *w = user;

	tp_free(&w->p);
	tp_init(&w->p, &w->c->out, &w->c->seen, w->limit);
	w->p.flush = flush_rows;
	w->p.flush_user = w->c;
	w->sniplen = 0;
	w->snip[0] = '\0';
	lo2_err_clear(&w->e);
}

static int win_data(void *user, const char *s, size_t n)
{
	struct win *w = user;

	if (w->sniplen < SNIP_MAX) {
		size_t k = n < SNIP_MAX - w->sniplen ? n : SNIP_MAX - w->sniplen;

		memcpy(w->snip + w->sniplen, s, k);
		w->sniplen += k;
		w->snip[w->sniplen] = '\0';
	}
	if (tp_feed(&w->p, s, n, w->job.url, &w->e) < 0)
		return -1;
	return w->p.hit_limit ? -1 : 0; /* at the limit the rest is not needed */
}

/* Why the attempt failed (0: it did not), and whether another attempt can help. */
static int win_check(struct win *w, long status, const char *cerr, bool *retry)
{
	*retry = false;
	if (status != 0 && status != 200) {
		*retry = status >= 500 || status == 429;
		for (size_t i = 0; i < w->sniplen; i++)
			if (w->snip[i] == '\n' || w->snip[i] == '\r')
				w->snip[i] = ' ';
		return lo2_err_set(&w->e, status == 404 ? LO2_E_NOT_FOUND : LO2_E_GENERIC,
		                   "GET %s: HTTP %ld: %s", w->job.url, status,
		                   w->p.errmsg[0] ? w->p.errmsg : w->snip);
	}
	if (w->p.hit_limit)
		return 0;
	if (w->e.msg[0])
		return -1;
	if (cerr != NULL) {
		*retry = true;
		return lo2_err_set(&w->e, strstr(cerr, "imed out") ? LO2_E_TIMEOUT : LO2_E_CONNECT,
		                   "GET %s: %s", w->job.url, cerr);
	}
	if (tp_finish(&w->p, w->job.url, &w->e) < 0) {
		*retry = true;
		return -1;
	}
	return 0;
}

static int win_done(void *user, long status, const char *cerr, bool last)
{
	struct win *w = user;
	bool retry;

	if (win_check(w, status, cerr, &retry) < 0) {
		if (retry && !last) {
			lo2_debug("%s; retrying", w->e.msg);
			return HTTP_RETRY;
		}
		return HTTP_DONE;
	}
	w->ok = true;
	w->split = w->p.hit_limit;
	return HTTP_DONE;
}

/* Fetches [start_us, end_us]; an answer that reaches the limit is fetched again as two halves. */
static int fetch_window(struct svc_ctx *c, int64_t start_us, int64_t end_us, int splits, struct lo2_err *err)
{
	const struct fetch_jaeger_opts *o = c->o;
	int limit = o->limit > 0 ? o->limit : 1000;
	lo2_autofree char *esc = http_escape(c->service);
	lo2_autofree char *url = xasprintf("%s/api/traces?service=%s&start=%lld&end=%lld&limit=%d", o->url,
	                                   esc, (long long)start_us, (long long)end_us, limit);
	struct win w = {.c = c};
	struct http_job *jobs[1] = {&w.job};
	struct http_pool_opts po = {.concurrency = 1,
	                            .timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 120000,
	                            .stall_ms = 30000,
	                            .max_attempts = 3,
	                            .backoff_ms = 500};
	int64_t mid = start_us + (end_us - start_us) / 2;

	/* a window that can still be split stops at the limit; the last level reads every trace */
	w.limit = splits < MAX_SPLITS && end_us > start_us ? (size_t)limit : 0;
	w.job.url = url;
	w.job.user = &w;
	w.job.reset = win_reset;
	w.job.data = win_data;
	w.job.done = win_done;
	if (http_run(jobs, 1, &po, err) < 0) {
		tp_free(&w.p);
		return -1;
	}
	tp_free(&w.p);
	if (!w.ok) {
		*err = w.e;
		return -1;
	}
	if (w.limit == 0 && w.p.ntraces >= (size_t)limit)
		c->hit_limit = true;
	if (!w.split)
		return 0;
	if (fetch_window(c, start_us, mid, splits + 1, err) < 0)
		return -1;
	return fetch_window(c, mid + 1, end_us, splits + 1, err);
}

static void fetch_service(const struct fetch_jaeger_opts *o, const char *service, struct fetch_report *rep)
{
	struct svc_ctx c = {.o = o, .service = service};
	struct lo2_err e = {0};
	lo2_autofree char *file = xasprintf("traces_%s.csv", service);
	lo2_autofree char *path = NULL;

	if (lo2_name_check("traces file", file, &e) < 0)
		goto fail;
	path = xasprintf("%s/%s", o->dir, file);
	if (lo2_sink_file_open(path, &c.sink, &e) < 0)
		goto fail;
	lo2_buf_puts(&c.out, FETCH_TRACES_HEADER);
	if (fetch_window(&c, o->start_ns / 1000, o->end_ns / 1000, 0, &e) < 0 ||
	    flush_rows(&c, &c.out, &e) < 0)
		goto fail;
	if (lo2_sink_commit(c.sink, &e) < 0) {
		c.sink = NULL;
		goto fail;
	}
	c.sink = NULL;
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
	lo2_sink_abort(c.sink);
	rep->failed++;
	lo2_strv_take(&rep->failures, xasprintf("service %s: %s", service, e.msg));
out:
	idset_free(&c.seen);
	lo2_buf_free(&c.out);
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
