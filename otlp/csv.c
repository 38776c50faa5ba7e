/* csv.c - a span as the row lo2's Jaeger path would write for it had the span gone through
 * Jaeger (the version the light-oauth2 stack pins, all-in-one 1.60) and its /api/traces:
 *  - Trace ID: 32 hex digits, 16 when the high half is zero; Span ID: 16 hex digits;
 *  - Start Time: start_ns truncated to microseconds; End Time: start + (end - start) truncated;
 *  - Tags: the OTLP->Jaeger translation (opentelemetry-collector-contrib pkg/translator/jaeger)
 *    plus Jaeger's own: every span attribute (string, bool, int64, float64; bytes as base64;
 *    arrays and maps as Go's JSON text), otel.scope.name / otel.scope.version when set,
 *    span.kind (internal, server, client, producer, consumer), otel.status_code ("OK",
 *    "ERROR") and error=True for ERROR, otel.status_description when the status has a
 *    message, w3c.tracestate when set, internal.span.format='otlp' (the collector's), all
 *    sorted by key as the query service's adjuster sorts them (then by type and value).
 * Resource attributes are the Jaeger process's tags, not the span's: they are in the jsonl. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/mem.h"
#include "fetch/fetch.h"
#include "otlp/internal.h"

/* Jaeger's ValueType order, which its tag sort uses after the key. */
enum jtype { J_STRING, J_BOOL, J_INT64, J_FLOAT64, J_BINARY };

struct jtag {
	struct fetch_tag t;
	enum jtype jt;
	const uint8_t *bin; /* J_BINARY: the raw bytes (t.s holds their base64) */
	size_t binlen;
};

static int cmp_num(double a, double b)
{
	return a < b ? -1 : a > b;
}

/* Jaeger's KeyValue.Compare: key, then type, then value. */
static int jtag_cmp(const void *pa, const void *pb)
{
	const struct jtag *a = pa, *b = pb;
	int c = strcmp(a->t.key, b->t.key);
	size_t n;

	if (c != 0)
		return c;
	if (a->jt != b->jt)
		return (int)a->jt - (int)b->jt;
	switch (a->jt) {
	case J_STRING:
		n = a->t.n < b->t.n ? a->t.n : b->t.n;
		c = memcmp(a->t.s, b->t.s, n);
		return c != 0 ? c : cmp_num((double)a->t.n, (double)b->t.n);
	case J_BOOL:
		return (int)a->t.b - (int)b->t.b;
	case J_INT64:
		return a->t.i < b->t.i ? -1 : a->t.i > b->t.i;
	case J_FLOAT64:
		return cmp_num(a->t.d, b->t.d);
	case J_BINARY:
		n = a->binlen < b->binlen ? a->binlen : b->binlen;
		c = n ? memcmp(a->bin, b->bin, n) : 0;
		return c != 0 ? c : cmp_num((double)a->binlen, (double)b->binlen);
	}
	return 0;
}

/* ---- Go's encoding/json, for array and map attributes (pcommon's AsString) ---- */

static bool go_json_ok(const struct otlp_value *v)
{
	if (v->type == OTLP_VALUE_DOUBLE)
		return isfinite(v->d);
	for (size_t i = 0; v->type == OTLP_VALUE_ARRAY && i < v->n; i++)
		if (!go_json_ok(&v->items[i]))
			return false;
	for (size_t i = 0; v->type == OTLP_VALUE_KVLIST && i < v->n; i++)
		if (!go_json_ok(&v->kvs[i].value))
			return false;
	return true;
}

static void go_json_string(struct lo2_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0, i = 0;

	lo2_buf_append(b, "\"", 1);
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char u[7];

		if (c == '"' || c == '\\')
			esc = c == '"' ? "\\\"" : "\\\\";
		else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f')
			esc = c == '\n'   ? "\\n"
			      : c == '\r' ? "\\r"
			      : c == '\t' ? "\\t"
			      : c == '\b' ? "\\b"
			                  : "\\f";
		else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0', u[4] = hex[c >> 4],
			u[5] = hex[c & 15], u[6] = 0;
			esc = u;
		} else if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
		           ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
			/* U+2028, U+2029 */
			lo2_buf_append(b, s + i - run, run);
			run = 0;
			lo2_buf_puts(b, (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
			i += 3;
			continue;
		}
		if (esc == NULL) {
			run++;
			i++;
			continue;
		}
		lo2_buf_append(b, s + i - run, run);
		run = 0;
		lo2_buf_puts(b, esc);
		i++;
	}
	lo2_buf_append(b, s + i - run, run);
	lo2_buf_append(b, "\"", 1);
}

static int kv_cmp(const void *pa, const void *pb)
{
	const struct otlp_attr *const *a = pa, *const *b = pb;

	return strcmp((*a)->key, (*b)->key);
}

static void go_json(struct lo2_buf *b, const struct otlp_value *v)
{
	char num[64];

	switch (v->type) {
	case OTLP_VALUE_EMPTY:
		lo2_buf_puts(b, "null");
		break;
	case OTLP_VALUE_STRING:
		go_json_string(b, v->s, v->n);
		break;
	case OTLP_VALUE_BOOL:
		lo2_buf_puts(b, v->b ? "true" : "false");
		break;
	case OTLP_VALUE_INT:
		snprintf(num, sizeof(num), "%lld", (long long)v->i);
		lo2_buf_puts(b, num);
		break;
	case OTLP_VALUE_DOUBLE:
		fetch_go_json_float(v->d, num, sizeof(num));
		lo2_buf_puts(b, num);
		break;
	case OTLP_VALUE_BYTES:
		lo2_buf_append(b, "\"", 1);
		otlp_base64(b, (const uint8_t *)v->s, v->n);
		lo2_buf_append(b, "\"", 1);
		break;
	case OTLP_VALUE_ARRAY:
		lo2_buf_append(b, "[", 1);
		for (size_t i = 0; i < v->n; i++) {
			lo2_buf_puts(b, i ? "," : "");
			go_json(b, &v->items[i]);
		}
		lo2_buf_append(b, "]", 1);
		break;
	case OTLP_VALUE_KVLIST: {
		/* a Go map: keys sorted, a repeated key's last value */
		const struct otlp_attr **kv = xcalloc(v->n + 1, sizeof(*kv));
		size_t m = 0;

		for (size_t i = 0; i < v->n; i++) {
			size_t j = 0;

			while (j < m && strcmp(kv[j]->key, v->kvs[i].key) != 0)
				j++;
			kv[j] = &v->kvs[i];
			if (j == m)
				m++;
		}
		qsort(kv, m, sizeof(*kv), kv_cmp);
		lo2_buf_append(b, "{", 1);
		for (size_t i = 0; i < m; i++) {
			lo2_buf_puts(b, i ? "," : "");
			go_json_string(b, kv[i]->key, strlen(kv[i]->key));
			lo2_buf_append(b, ":", 1);
			go_json(b, &kv[i]->value);
		}
		lo2_buf_append(b, "}", 1);
		free(kv);
		break;
	}
	}
}

/* ---- the tags ---- */

struct tags {
	struct jtag *v;
	size_t n, cap;
	struct lo2_buf text; /* base64 and JSON strings; offsets until the end */
	size_t *off; /* per tag: offset of its text in text, or SIZE_MAX */
};

static struct jtag *add(struct tags *t, const char *key, enum jtype jt)
{
	struct jtag *g;

	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		t->v = xrealloc(t->v, t->cap * sizeof(*t->v));
		t->off = xrealloc(t->off, t->cap * sizeof(*t->off));
	}
	g = &t->v[t->n];
	memset(g, 0, sizeof(*g));
	g->t.key = key;
	g->jt = jt;
	g->t.type = FETCH_TAG_STRING;
	g->t.s = otlp_empty;
	t->off[t->n++] = SIZE_MAX;
	return g;
}

static void add_str(struct tags *t, const char *key, const char *s)
{
	struct jtag *g = add(t, key, J_STRING);

	g->t.s = s;
	g->t.n = strlen(s);
}

/* A string tag whose text is built in t->text (its pointer is set once text stops moving). */
static struct jtag *add_text(struct tags *t, const char *key, enum jtype jt)
{
	struct jtag *g = add(t, key, jt);

	t->off[t->n - 1] = t->text.len;
	return g;
}

static void add_attr(struct tags *t, const struct otlp_attr *a)
{
	const struct otlp_value *v = &a->value;
	struct jtag *g;
	size_t start;

	switch (v->type) {
	case OTLP_VALUE_STRING:
		g = add(t, a->key, J_STRING);
		g->t.s = v->s;
		g->t.n = v->n;
		break;
	case OTLP_VALUE_BOOL:
		g = add(t, a->key, J_BOOL);
		g->t.type = FETCH_TAG_BOOL;
		g->t.b = v->b;
		break;
	case OTLP_VALUE_INT:
		g = add(t, a->key, J_INT64);
		g->t.type = FETCH_TAG_INT64;
		g->t.i = v->i;
		break;
	case OTLP_VALUE_DOUBLE:
		g = add(t, a->key, J_FLOAT64);
		g->t.type = FETCH_TAG_FLOAT64;
		g->t.d = v->d;
		break;
	case OTLP_VALUE_BYTES:
		g = add_text(t, a->key, J_BINARY);
		g->bin = (const uint8_t *)v->s;
		g->binlen = v->n;
		start = t->text.len;
		otlp_base64(&t->text, g->bin, g->binlen);
		g->t.n = t->text.len - start;
		break;
	case OTLP_VALUE_ARRAY:
	case OTLP_VALUE_KVLIST:
		g = add_text(t, a->key, J_STRING);
		start = t->text.len;
		if (go_json_ok(v)) /* Go's json.Marshal fails on NaN and Inf: AsString is "" */
			go_json(&t->text, v);
		g->t.n = t->text.len - start;
		break;
	case OTLP_VALUE_EMPTY:
		add(t, a->key, J_STRING); /* the translator leaves an empty string tag */
		break;
	}
}

static const char *kind_name(int kind)
{
	static const char *const names[] = {NULL, "internal", "server", "client", "producer", "consumer"};

	return kind >= 1 && kind <= 5 ? names[kind] : NULL;
}

static void span_tags(struct tags *t, const struct otlp_span *s)
{
	if (s->scope->name[0])
		add_str(t, "otel.scope.name", s->scope->name);
	if (s->scope->version[0])
		add_str(t, "otel.scope.version", s->scope->version);
	for (size_t i = 0; i < s->attrs.n; i++)
		add_attr(t, &s->attrs.v[i]);
	if (kind_name(s->kind) != NULL)
		add_str(t, "span.kind", kind_name(s->kind));
	if (s->status_code == OTLP_STATUS_OK || s->status_code == OTLP_STATUS_ERROR)
		add_str(t, "otel.status_code", s->status_code == OTLP_STATUS_OK ? "OK" : "ERROR");
	if (s->status_code == OTLP_STATUS_ERROR) {
		struct jtag *g = add(t, "error", J_BOOL);

		g->t.type = FETCH_TAG_BOOL;
		g->t.b = true;
	}
	if (s->status_message[0])
		add_str(t, "otel.status_description", s->status_message);
	if (s->trace_state[0])
		add_str(t, "w3c.tracestate", s->trace_state);
	add_str(t, "internal.span.format", "otlp");
}

void otlp_csv_row(struct lo2_buf *out, const struct otlp_span *s)
{
	struct tags t = {0};
	struct fetch_tag *ft;
	struct fetch_span_row r;
	char trace[33], span[17];
	bool high_zero = true;

	span_tags(&t, s);
	for (size_t i = 0; i < t.n; i++)
		if (t.off[i] != SIZE_MAX)
			t.v[i].t.s = t.text.data + t.off[i];
	qsort(t.v, t.n, sizeof(*t.v), jtag_cmp);
	ft = xcalloc(t.n + 1, sizeof(*ft));
	for (size_t i = 0; i < t.n; i++)
		ft[i] = t.v[i].t;
	for (int i = 0; i < 8; i++)
		high_zero = high_zero && s->trace_id[i] == 0;
	otlp_hex(s->trace_id + (high_zero ? 8 : 0), high_zero ? 8 : 16, trace);
	otlp_hex(s->span_id, 8, span);
	r.trace_id = trace;
	r.span_id = span;
	r.name = s->name;
	r.start_us = (int64_t)(s->start_ns / 1000);
	r.duration_us = (int64_t)(s->end_ns - s->start_ns) / 1000;
	r.tags = ft;
	r.n_tags = t.n;
	fetch_traces_row(out, &r);
	free(ft);
	free(t.v);
	free(t.off);
	lo2_buf_free(&t.text);
}
