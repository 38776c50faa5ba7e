/* jsonl.c - a span as one line of traces.otlp.jsonl.gz: the OTLP/JSON form of the Span (ids as
 * hex, 64-bit integers as strings, enums as numbers) with its resource and scope beside it, so
 * every field received is kept and any OTLP/JSON reader can read a line back. Strings are
 * escaped as Python's json.dumps(ensure_ascii=False) escapes them; doubles are written as the
 * shortest text that reads back exactly (Python's repr), non-finite ones as "NaN", "Infinity",
 * "-Infinity" as proto3 JSON does; bytes as base64. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "fetch/fetch.h"
#include "otlp/internal.h"

void otlp_json_str(struct lo2_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	lo2_buf_append(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char u[7];

		if (c >= 0x20 && c != '"' && c != '\\') {
			run++;
			continue;
		}
		lo2_buf_append(b, s + i - run, run);
		run = 0;
		if (c == '"' || c == '\\') {
			u[0] = '\\', u[1] = (char)c;
			lo2_buf_append(b, u, 2);
		} else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
			lo2_buf_puts(b, c == '\n'   ? "\\n"
			                : c == '\r' ? "\\r"
			                : c == '\t' ? "\\t"
			                : c == '\b' ? "\\b"
			                            : "\\f");
		} else {
			u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0', u[4] = hex[c >> 4],
			u[5] = hex[c & 15];
			lo2_buf_append(b, u, 6);
		}
	}
	lo2_buf_append(b, s + n - run, run);
	lo2_buf_append(b, "\"", 1);
}

/* A number (quoted: a JSON string, as OTLP/JSON writes 64-bit integers); printf without the
 * allocation lo2_buf_printf makes, since this runs for every field of every span. */
static void num(struct lo2_buf *b, bool quoted, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void num(struct lo2_buf *b, bool quoted, const char *fmt, ...)
{
	char t[48];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t + 1, sizeof(t) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n > sizeof(t) - 3)
		n = 0;
	t[0] = '"';
	t[n + 1] = '"';
	lo2_buf_append(b, quoted ? t : t + 1, (size_t)n + (quoted ? 2 : 0));
}

static void key(struct lo2_buf *b, const char *k, bool first)
{
	if (!first)
		lo2_buf_append(b, ",", 1);
	otlp_json_str(b, k, strlen(k));
	lo2_buf_append(b, ":", 1);
}

static void kstr(struct lo2_buf *b, const char *k, const char *v)
{
	key(b, k, false);
	otlp_json_str(b, v, strlen(v));
}

static void kid(struct lo2_buf *b, const char *k, const uint8_t *id, size_t n)
{
	char hex[33];

	otlp_hex(id, n, hex);
	key(b, k, false);
	otlp_json_str(b, hex, 2 * n);
}

static void ku64(struct lo2_buf *b, const char *k, uint64_t v)
{
	key(b, k, false);
	num(b, true, "%llu", (unsigned long long)v);
}

static void attrs(struct lo2_buf *b, const struct otlp_attr *v, size_t n);

static void value(struct lo2_buf *b, const struct otlp_value *v)
{
	char dbl[40];

	lo2_buf_append(b, "{", 1);
	switch (v->type) {
	case OTLP_VALUE_EMPTY:
		break;
	case OTLP_VALUE_STRING:
		key(b, "stringValue", true);
		otlp_json_str(b, v->s, v->n);
		break;
	case OTLP_VALUE_BOOL:
		key(b, "boolValue", true);
		lo2_buf_puts(b, v->b ? "true" : "false");
		break;
	case OTLP_VALUE_INT:
		key(b, "intValue", true);
		num(b, true, "%lld", (long long)v->i);
		break;
	case OTLP_VALUE_DOUBLE:
		key(b, "doubleValue", true);
		if (isnan(v->d))
			lo2_buf_puts(b, "\"NaN\"");
		else if (isinf(v->d))
			lo2_buf_puts(b, v->d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		else {
			fetch_py_float(v->d, dbl, sizeof(dbl));
			lo2_buf_puts(b, dbl);
		}
		break;
	case OTLP_VALUE_BYTES:
		key(b, "bytesValue", true);
		lo2_buf_append(b, "\"", 1);
		otlp_base64(b, (const uint8_t *)v->s, v->n);
		lo2_buf_append(b, "\"", 1);
		break;
	case OTLP_VALUE_ARRAY:
		key(b, "arrayValue", true);
		lo2_buf_puts(b, "{\"values\":[");
		for (size_t i = 0; i < v->n; i++) {
			if (i)
				lo2_buf_append(b, ",", 1);
			value(b, &v->items[i]);
		}
		lo2_buf_puts(b, "]}");
		break;
	case OTLP_VALUE_KVLIST:
		key(b, "kvlistValue", true);
		lo2_buf_puts(b, "{\"values\":");
		attrs(b, v->kvs, v->n);
		lo2_buf_append(b, "}", 1);
		break;
	}
	lo2_buf_append(b, "}", 1);
}

static void attrs(struct lo2_buf *b, const struct otlp_attr *v, size_t n)
{
	lo2_buf_append(b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		lo2_buf_puts(b, i ? ",{" : "{");
		key(b, "key", true);
		otlp_json_str(b, v[i].key, strlen(v[i].key));
		key(b, "value", false);
		value(b, &v[i].value);
		lo2_buf_append(b, "}", 1);
	}
	lo2_buf_append(b, "]", 1);
}

/* "attributes":[...] and, when not zero, "droppedAttributesCount". */
static void kattrs(struct lo2_buf *b, const struct otlp_attrs *a)
{
	key(b, "attributes", false);
	attrs(b, a->v, a->n);
	if (a->dropped) {
		key(b, "droppedAttributesCount", false);
		num(b, false, "%u", (unsigned)a->dropped);
	}
}

static void kuint(struct lo2_buf *b, const char *k, uint32_t v)
{
	key(b, k, false);
	num(b, false, "%u", (unsigned)v);
}

void otlp_jsonl_line(struct lo2_buf *b, const struct otlp_span *s)
{
	lo2_buf_append(b, "{", 1);
	key(b, "traceId", true);
	{
		char hex[33];

		otlp_hex(s->trace_id, 16, hex);
		otlp_json_str(b, hex, 32);
	}
	kid(b, "spanId", s->span_id, 8);
	if (s->has_parent)
		kid(b, "parentSpanId", s->parent_span_id, 8);
	else
		kstr(b, "parentSpanId", "");
	kstr(b, "traceState", s->trace_state);
	kuint(b, "flags", s->flags);
	kstr(b, "name", s->name);
	key(b, "kind", false);
	num(b, false, "%d", s->kind);
	ku64(b, "startTimeUnixNano", s->start_ns);
	ku64(b, "endTimeUnixNano", s->end_ns);
	kattrs(b, &s->attrs);
	key(b, "events", false);
	lo2_buf_append(b, "[", 1);
	for (size_t i = 0; i < s->n_events; i++) {
		lo2_buf_puts(b, i ? ",{" : "{");
		key(b, "timeUnixNano", true);
		num(b, true, "%llu", (unsigned long long)s->events[i].time_ns);
		kstr(b, "name", s->events[i].name);
		kattrs(b, &s->events[i].attrs);
		lo2_buf_append(b, "}", 1);
	}
	lo2_buf_append(b, "]", 1);
	if (s->dropped_events)
		kuint(b, "droppedEventsCount", s->dropped_events);
	key(b, "links", false);
	lo2_buf_append(b, "[", 1);
	for (size_t i = 0; i < s->n_links; i++) {
		char hex[33];

		lo2_buf_puts(b, i ? ",{" : "{");
		key(b, "traceId", true);
		otlp_hex(s->links[i].trace_id, 16, hex);
		otlp_json_str(b, hex, 32);
		kid(b, "spanId", s->links[i].span_id, 8);
		kstr(b, "traceState", s->links[i].trace_state);
		kuint(b, "flags", s->links[i].flags);
		kattrs(b, &s->links[i].attrs);
		lo2_buf_append(b, "}", 1);
	}
	lo2_buf_append(b, "]", 1);
	if (s->dropped_links)
		kuint(b, "droppedLinksCount", s->dropped_links);
	key(b, "status", false);
	lo2_buf_puts(b, "{\"code\":");
	num(b, false, "%d", s->status_code);
	kstr(b, "message", s->status_message);
	lo2_buf_append(b, "}", 1);
	key(b, "resource", false);
	lo2_buf_append(b, "{", 1);
	key(b, "attributes", true);
	attrs(b, s->resource->attrs.v, s->resource->attrs.n);
	if (s->resource->attrs.dropped)
		kuint(b, "droppedAttributesCount", s->resource->attrs.dropped);
	kstr(b, "schemaUrl", s->resource->schema_url);
	lo2_buf_append(b, "}", 1);
	key(b, "scope", false);
	lo2_buf_append(b, "{", 1);
	key(b, "name", true);
	otlp_json_str(b, s->scope->name, strlen(s->scope->name));
	kstr(b, "version", s->scope->version);
	kattrs(b, &s->scope->attrs);
	kstr(b, "schemaUrl", s->scope->schema_url);
	lo2_buf_append(b, "}", 1);
	lo2_buf_puts(b, "}\n");
}
