/* decode_json.c - application/json: OTLP/JSON (the proto3 JSON mapping with OTLP's rules:
 * trace and span ids as hex, enums as numbers or names, 64-bit integers as strings or numbers,
 * lowerCamelCase keys, and the original field names accepted too; unknown fields ignored).
 * yajl's streaming parser builds the spans directly into the request's arena through a stack
 * of frames, one per open object or array, so no document tree is held and nesting is capped. */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "common/buf.h"
#include "common/mem.h"
#include "otlp/internal.h"

/* What an open object or array is. */
enum fk {
	F_ROOT,
	F_RS_LIST,
	F_RS,
	F_RESOURCE,
	F_SS_LIST,
	F_SS,
	F_SCOPE,
	F_SPAN_LIST,
	F_SPAN,
	F_EVENT_LIST,
	F_EVENT,
	F_LINK_LIST,
	F_LINK,
	F_STATUS,
	F_ATTR_LIST, /* KeyValue[] */
	F_KV,
	F_VALUE, /* AnyValue */
	F_ARRAYVALUE,
	F_VALUE_LIST, /* AnyValue[] */
	F_KVLIST,
	F_SKIP, /* an unknown field's value */
};

/* Fields lo2 reads; the rest are skipped. */
enum fld {
	X_NONE,
	X_RESOURCE_SPANS,
	X_RESOURCE,
	X_SCOPE_SPANS,
	X_SCHEMA_URL,
	X_ATTRIBUTES,
	X_DROPPED_ATTRS,
	X_SCOPE,
	X_SPANS,
	X_NAME,
	X_VERSION,
	X_TRACE_ID,
	X_SPAN_ID,
	X_TRACE_STATE,
	X_PARENT_SPAN_ID,
	X_FLAGS,
	X_KIND,
	X_START,
	X_END,
	X_EVENTS,
	X_DROPPED_EVENTS,
	X_LINKS,
	X_DROPPED_LINKS,
	X_STATUS,
	X_TIME,
	X_MESSAGE,
	X_CODE,
	X_KEY,
	X_VALUE,
	X_STRING_VALUE,
	X_BOOL_VALUE,
	X_INT_VALUE,
	X_DOUBLE_VALUE,
	X_BYTES_VALUE,
	X_ARRAY_VALUE,
	X_KVLIST_VALUE,
	X_VALUES,
};

static const struct field {
	enum fk in;
	const char *camel, *snake;
	enum fld f;
} fields[] = {
    {F_ROOT, "resourceSpans", "resource_spans", X_RESOURCE_SPANS},
    {F_RS, "resource", "resource", X_RESOURCE},
    {F_RS, "scopeSpans", "scope_spans", X_SCOPE_SPANS},
    {F_RS, "schemaUrl", "schema_url", X_SCHEMA_URL},
    {F_RESOURCE, "attributes", "attributes", X_ATTRIBUTES},
    {F_RESOURCE, "droppedAttributesCount", "dropped_attributes_count", X_DROPPED_ATTRS},
    {F_SS, "scope", "scope", X_SCOPE},
    {F_SS, "spans", "spans", X_SPANS},
    {F_SS, "schemaUrl", "schema_url", X_SCHEMA_URL},
    {F_SCOPE, "name", "name", X_NAME},
    {F_SCOPE, "version", "version", X_VERSION},
    {F_SCOPE, "attributes", "attributes", X_ATTRIBUTES},
    {F_SCOPE, "droppedAttributesCount", "dropped_attributes_count", X_DROPPED_ATTRS},
    {F_SPAN, "traceId", "trace_id", X_TRACE_ID},
    {F_SPAN, "spanId", "span_id", X_SPAN_ID},
    {F_SPAN, "traceState", "trace_state", X_TRACE_STATE},
    {F_SPAN, "parentSpanId", "parent_span_id", X_PARENT_SPAN_ID},
    {F_SPAN, "flags", "flags", X_FLAGS},
    {F_SPAN, "name", "name", X_NAME},
    {F_SPAN, "kind", "kind", X_KIND},
    {F_SPAN, "startTimeUnixNano", "start_time_unix_nano", X_START},
    {F_SPAN, "endTimeUnixNano", "end_time_unix_nano", X_END},
    {F_SPAN, "attributes", "attributes", X_ATTRIBUTES},
    {F_SPAN, "droppedAttributesCount", "dropped_attributes_count", X_DROPPED_ATTRS},
    {F_SPAN, "events", "events", X_EVENTS},
    {F_SPAN, "droppedEventsCount", "dropped_events_count", X_DROPPED_EVENTS},
    {F_SPAN, "links", "links", X_LINKS},
    {F_SPAN, "droppedLinksCount", "dropped_links_count", X_DROPPED_LINKS},
    {F_SPAN, "status", "status", X_STATUS},
    {F_EVENT, "timeUnixNano", "time_unix_nano", X_TIME},
    {F_EVENT, "name", "name", X_NAME},
    {F_EVENT, "attributes", "attributes", X_ATTRIBUTES},
    {F_EVENT, "droppedAttributesCount", "dropped_attributes_count", X_DROPPED_ATTRS},
    {F_LINK, "traceId", "trace_id", X_TRACE_ID},
    {F_LINK, "spanId", "span_id", X_SPAN_ID},
    {F_LINK, "traceState", "trace_state", X_TRACE_STATE},
    {F_LINK, "attributes", "attributes", X_ATTRIBUTES},
    {F_LINK, "droppedAttributesCount", "dropped_attributes_count", X_DROPPED_ATTRS},
    {F_LINK, "flags", "flags", X_FLAGS},
    {F_STATUS, "message", "message", X_MESSAGE},
    {F_STATUS, "code", "code", X_CODE},
    {F_KV, "key", "key", X_KEY},
    {F_KV, "value", "value", X_VALUE},
    {F_VALUE, "stringValue", "string_value", X_STRING_VALUE},
    {F_VALUE, "boolValue", "bool_value", X_BOOL_VALUE},
    {F_VALUE, "intValue", "int_value", X_INT_VALUE},
    {F_VALUE, "doubleValue", "double_value", X_DOUBLE_VALUE},
    {F_VALUE, "bytesValue", "bytes_value", X_BYTES_VALUE},
    {F_VALUE, "arrayValue", "array_value", X_ARRAY_VALUE},
    {F_VALUE, "kvlistValue", "kvlist_value", X_KVLIST_VALUE},
    {F_ARRAYVALUE, "values", "values", X_VALUES},
    {F_KVLIST, "values", "values", X_VALUES},
};

/* A span while its object is open. */
struct span_build {
	struct otlp_span s;
	struct otlp_raw_ids ids;
};

/* A growable array of a list frame (malloc'd; copied into the arena when the list closes). */
struct vec {
	char *data;
	size_t n, cap, size;
};

struct frame {
	enum fk kind;
	enum fld pending; /* objects: the field whose value comes next */
	char key[48]; /* objects: that field's name as sent, for messages */
	void *obj; /* objects: what is being filled */
	struct otlp_raw_ids *link_ids; /* F_LINK: its ids' lengths (arena) */
	struct vec vec; /* lists of values: the elements */
	size_t count; /* lists: elements seen */
	int skip; /* F_SKIP: containers open inside */
};

struct jp {
	yajl_handle y;
	struct otlp_batch *b;
	struct frame st[OTLP_MAX_DEPTH + 1];
	int top; /* index of the innermost open frame; -1 before the document */
	struct lo2_err *err;
	bool failed;
};

/* ---- errors with the place ---- */

static void path(const struct jp *p, struct lo2_buf *out)
{
	for (int i = 0; i <= p->top; i++) {
		const struct frame *f = &p->st[i];

		if (f->kind == F_SKIP)
			break;
		if (f->kind == F_RS_LIST || f->kind == F_SS_LIST || f->kind == F_SPAN_LIST ||
		    f->kind == F_EVENT_LIST || f->kind == F_LINK_LIST || f->kind == F_ATTR_LIST ||
		    f->kind == F_VALUE_LIST) {
			if (f->count > 0)
				lo2_buf_printf(out, "[%zu]", f->count - 1);
		} else if (f->key[0]) {
			lo2_buf_printf(out, "%s%s", out->len ? "." : "", f->key);
		}
	}
}

static int fail(struct jp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct jp *p, const char *fmt, ...)
{
	struct lo2_buf where = LO2_BUF_INIT;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	path(p, &where);
	if (where.len)
		lo2_err_set(p->err, LO2_E_INVALID, "malformed OTLP/JSON at byte %zu (%s): %s",
		            yajl_get_bytes_consumed(p->y), where.data, msg);
	else
		lo2_err_set(p->err, LO2_E_INVALID, "malformed OTLP/JSON at byte %zu: %s",
		            yajl_get_bytes_consumed(p->y), msg);
	lo2_buf_free(&where);
	p->failed = true;
	return 0; /* yajl: cancel */
}

/* ---- frames ---- */

static struct frame *cur(struct jp *p)
{
	return &p->st[p->top];
}

static struct frame *push(struct jp *p, enum fk kind, void *obj, size_t elem_size)
{
	struct frame *f;

	if (p->top + 1 > OTLP_MAX_DEPTH) {
		fail(p, "nested deeper than %d", OTLP_MAX_DEPTH);
		return NULL;
	}
	f = &p->st[++p->top];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->obj = obj;
	f->vec.size = elem_size;
	return f;
}

/* A new zeroed element at the end of f's vec. */
static void *vec_add(struct vec *v)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 8;
		v->data = xrealloc(v->data, v->cap * v->size);
	}
	memset(v->data + v->n * v->size, 0, v->size);
	return v->data + v->n++ * v->size;
}

static const void *vec_to_arena(struct jp *p, struct vec *v)
{
	void *a = arena_alloc(&p->b->arena, (v->n ? v->n : 1) * v->size);

	if (v->n)
		memcpy(a, v->data, v->n * v->size);
	free(v->data);
	v->data = NULL;
	return a;
}

/* The innermost open frame of a kind (the span's resource and scope). */
static struct frame *find(struct jp *p, enum fk kind)
{
	for (int i = p->top; i >= 0; i--)
		if (p->st[i].kind == kind)
			return &p->st[i];
	return NULL;
}

static void value_init(struct otlp_value *v)
{
	v->type = OTLP_VALUE_EMPTY;
	v->s = otlp_empty;
}

/* An object starts inside list frame f. */
static int list_elem(struct jp *p, struct frame *f)
{
	struct otlp_arena *a = &p->b->arena;
	struct frame *rs, *ss;
	struct otlp_raw_ids *ids;

	f->count++;
	switch (f->kind) {
	case F_RS_LIST: {
		struct otlp_resource *r = arena_calloc(a, 1, sizeof(*r));

		r->schema_url = otlp_empty;
		r->attrs.v = NULL;
		return push(p, F_RS, r, 0) != NULL;
	}
	case F_SS_LIST: {
		struct otlp_scope *s = arena_calloc(a, 1, sizeof(*s));

		s->name = s->version = s->schema_url = otlp_empty;
		return push(p, F_SS, s, 0) != NULL;
	}
	case F_SPAN_LIST: {
		struct span_build *sb = arena_calloc(a, 1, sizeof(*sb));

		rs = find(p, F_RS);
		ss = find(p, F_SS);
		sb->s.resource = rs->obj;
		sb->s.scope = ss->obj;
		sb->s.trace_state = sb->s.name = sb->s.status_message = otlp_empty;
		return push(p, F_SPAN, sb, 0) != NULL;
	}
	case F_EVENT_LIST: {
		struct otlp_event *e = vec_add(&f->vec);

		e->name = otlp_empty;
		return push(p, F_EVENT, e, 0) != NULL;
	}
	case F_LINK_LIST: {
		struct otlp_link *l = vec_add(&f->vec);

		l->trace_state = otlp_empty;
		/* both ids must come; missing ones make the link bad */
		ids = arena_calloc(a, 1, sizeof(*ids));
		if (push(p, F_LINK, l, 0) == NULL)
			return 0;
		cur(p)->link_ids = ids;
		return 1;
	}
	case F_ATTR_LIST: {
		struct otlp_attr *kv = vec_add(&f->vec);

		kv->key = otlp_empty;
		value_init(&kv->value);
		return push(p, F_KV, kv, 0) != NULL;
	}
	case F_VALUE_LIST: {
		struct otlp_value *v = vec_add(&f->vec);

		value_init(v);
		return push(p, F_VALUE, v, 0) != NULL;
	}
	default:
		return fail(p, "an object where %s was expected", "a value");
	}
}

/* Where a list of attributes goes, for the object frame f that holds the attributes field. */
static struct otlp_attrs *attrs_of(struct frame *f)
{
	switch (f->kind) {
	case F_RESOURCE:
		return &((struct otlp_resource *)f->obj)->attrs;
	case F_SCOPE:
		return &((struct otlp_scope *)f->obj)->attrs;
	case F_SPAN:
		return &((struct span_build *)f->obj)->s.attrs;
	case F_EVENT:
		return &((struct otlp_event *)f->obj)->attrs;
	case F_LINK:
		return &((struct otlp_link *)f->obj)->attrs;
	default:
		return NULL;
	}
}

/* A container value ('{' or '[') for the pending field of object frame f. */
static int field_container(struct jp *p, struct frame *f, char c)
{
	enum fld x = f->pending;

	f->pending = X_NONE;
	if (x == X_NONE)
		return push(p, F_SKIP, NULL, 0) != NULL;
	if (c == '{') {
		switch (x) {
		case X_RESOURCE:
			return push(p, F_RESOURCE, f->obj, 0) != NULL;
		case X_SCOPE:
			return push(p, F_SCOPE, f->obj, 0) != NULL;
		case X_STATUS:
			return push(p, F_STATUS, f->obj, 0) != NULL;
		case X_VALUE:
			return push(p, F_VALUE, &((struct otlp_attr *)f->obj)->value, 0) != NULL;
		case X_ARRAY_VALUE:
			((struct otlp_value *)f->obj)->type = OTLP_VALUE_ARRAY;
			return push(p, F_ARRAYVALUE, f->obj, 0) != NULL;
		case X_KVLIST_VALUE:
			((struct otlp_value *)f->obj)->type = OTLP_VALUE_KVLIST;
			return push(p, F_KVLIST, f->obj, 0) != NULL;
		default:
			return fail(p, "an object where a %s was expected", "scalar or an array");
		}
	}
	switch (x) {
	case X_RESOURCE_SPANS:
		return push(p, F_RS_LIST, NULL, 0) != NULL;
	case X_SCOPE_SPANS:
		return push(p, F_SS_LIST, NULL, 0) != NULL;
	case X_SPANS:
		return push(p, F_SPAN_LIST, NULL, 0) != NULL;
	case X_EVENTS:
		return push(p, F_EVENT_LIST, f->obj, sizeof(struct otlp_event)) != NULL;
	case X_LINKS:
		return push(p, F_LINK_LIST, f->obj, sizeof(struct otlp_link)) != NULL;
	case X_ATTRIBUTES:
		return push(p, F_ATTR_LIST, attrs_of(f), sizeof(struct otlp_attr)) != NULL;
	case X_VALUES:
		if (f->kind == F_ARRAYVALUE)
			return push(p, F_VALUE_LIST, f->obj, sizeof(struct otlp_value)) != NULL;
		return push(p, F_ATTR_LIST, f->obj, sizeof(struct otlp_attr)) != NULL;
	default:
		return fail(p, "an array where a %s was expected", "scalar or an object");
	}
}

/* A list frame closes: its elements go where they belong. */
static void list_close(struct jp *p, struct frame *f)
{
	switch (f->kind) {
	case F_EVENT_LIST: {
		struct span_build *sb = f->obj;

		sb->s.n_events = f->vec.n;
		sb->s.events = vec_to_arena(p, &f->vec);
		break;
	}
	case F_LINK_LIST: {
		struct span_build *sb = f->obj;

		sb->s.n_links = f->vec.n;
		sb->s.links = vec_to_arena(p, &f->vec);
		break;
	}
	case F_ATTR_LIST:
		if (f->obj != NULL && p->st[p->top - 1].kind == F_KVLIST) {
			struct otlp_value *v = f->obj;

			v->n = f->vec.n;
			v->kvs = vec_to_arena(p, &f->vec);
		} else if (f->obj != NULL) {
			struct otlp_attrs *a = f->obj;

			a->n = f->vec.n;
			a->v = vec_to_arena(p, &f->vec);
		}
		break;
	case F_VALUE_LIST: {
		struct otlp_value *v = f->obj;

		v->n = f->vec.n;
		v->items = vec_to_arena(p, &f->vec);
		break;
	}
	default:
		break;
	}
	free(f->vec.data);
	f->vec.data = NULL;
}

/* An object frame closes. */
static void object_close(struct jp *p, struct frame *f)
{
	if (f->kind == F_SPAN) {
		struct span_build *sb = f->obj;

		otlp_batch_push(p->b, &sb->s, &sb->ids);
	} else if (f->kind == F_LINK) {
		struct span_build *sb = p->st[p->top - 2].obj;

		if (f->link_ids->trace != 16 || f->link_ids->span != 8)
			sb->ids.bad_link = true;
	}
}

/* ---- scalars ---- */

struct tok {
	char type; /* 's' string, 'n' number, 'b' bool, 'z' null */
	const char *s;
	size_t n;
	bool b;
};

/* A number or a string token as NUL-terminated text in buf (size bytes); -1 when it is
 * neither, empty or too long. */
static int tok_text(const struct tok *t, char *buf, size_t size)
{
	if ((t->type != 's' && t->type != 'n') || t->n == 0 || t->n >= size)
		return -1;
	memcpy(buf, t->s, t->n);
	buf[t->n] = '\0';
	return 0;
}

static int parse_u64(const struct tok *t, uint64_t *out)
{
	char buf[32], *end;

	if (tok_text(t, buf, sizeof(buf)) < 0 || buf[0] < '0' || buf[0] > '9')
		return -1;
	errno = 0;
	*out = strtoull(buf, &end, 10);
	return errno == 0 && *end == '\0' ? 0 : -1;
}

static int parse_i64(const struct tok *t, int64_t *out)
{
	char buf[32], *end;

	if (tok_text(t, buf, sizeof(buf)) < 0 || (buf[0] != '-' && (buf[0] < '0' || buf[0] > '9')))
		return -1;
	errno = 0;
	*out = strtoll(buf, &end, 10);
	return errno == 0 && *end == '\0' ? 0 : -1;
}

static int parse_u32(const struct tok *t, uint32_t *out)
{
	uint64_t v;

	if (parse_u64(t, &v) < 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_double(const struct tok *t, double *out)
{
	char buf[64], *end;

	if (tok_text(t, buf, sizeof(buf)) < 0)
		return -1;
	if (t->type == 's' && strcmp(buf, "NaN") == 0)
		*out = NAN;
	else if (t->type == 's' && strcmp(buf, "Infinity") == 0)
		*out = INFINITY;
	else if (t->type == 's' && strcmp(buf, "-Infinity") == 0)
		*out = -INFINITY;
	else if ((*out = strtod(buf, &end), *end != '\0') || strpbrk(buf, "xXnNiI") != NULL)
		return -1; /* strtod alone would take hex, "nan" and "inf" */
	return 0;
}

/* An enum: its number, or one of names (index = number). */
static int parse_enum(const struct tok *t, const char *const *names, size_t nnames, int *out)
{
	int64_t v;

	if (t->type == 's') {
		for (size_t i = 0; i < nnames; i++)
			if (strlen(names[i]) == t->n && memcmp(names[i], t->s, t->n) == 0) {
				*out = (int)i;
				return 0;
			}
	}
	if (t->type != 'n' || parse_i64(t, &v) < 0 || v < INT32_MIN || v > INT32_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

static const char *const kind_names[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
                                         "SPAN_KIND_CLIENT",      "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"};
static const char *const code_names[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"};

static int want_string(struct jp *p, const struct tok *t, const char **out)
{
	if (t->type != 's')
		return fail(p, "expected a string");
	if (memchr(t->s, 0, t->n) != NULL)
		return fail(p, "a string with a NUL character");
	*out = arena_strndup(&p->b->arena, t->s, t->n);
	return 1;
}

/* A hex id into out (max bytes); *len gets its length (SIZE_MAX when not hex). */
static int want_id(struct jp *p, const struct tok *t, uint8_t *out, size_t max, size_t *len)
{
	if (t->type != 's')
		return fail(p, "expected a hex string");
	memset(out, 0, max);
	*len = otlp_unhex(t->s, t->n, out, max);
	if (*len != SIZE_MAX && *len != max && *len != 0)
		memset(out, 0, max);
	return 1;
}

static int bad_number(struct jp *p)
{
	return fail(p, "expected an integer (a number or a string of digits) in range");
}

/* A scalar value for a field of a span, event, link, scope, resource or status. */
static int span_scalar(struct jp *p, struct frame *f, enum fld x, const struct tok *t)
{
	struct span_build *sb = f->obj;
	struct otlp_span *s = &sb->s;
	int v;

	switch (x) {
	case X_TRACE_ID:
		return want_id(p, t, s->trace_id, 16, &sb->ids.trace);
	case X_SPAN_ID:
		return want_id(p, t, s->span_id, 8, &sb->ids.span);
	case X_PARENT_SPAN_ID:
		return want_id(p, t, s->parent_span_id, 8, &sb->ids.parent);
	case X_TRACE_STATE:
		return want_string(p, t, &s->trace_state);
	case X_NAME:
		return want_string(p, t, &s->name);
	case X_FLAGS:
		return parse_u32(t, &s->flags) < 0 ? bad_number(p) : 1;
	case X_KIND:
		if (parse_enum(t, kind_names, 6, &v) < 0)
			return fail(p, "expected a SpanKind number or name");
		s->kind = v;
		return 1;
	case X_START:
		return parse_u64(t, &s->start_ns) < 0 ? bad_number(p) : 1;
	case X_END:
		return parse_u64(t, &s->end_ns) < 0 ? bad_number(p) : 1;
	case X_DROPPED_ATTRS:
		return parse_u32(t, &s->attrs.dropped) < 0 ? bad_number(p) : 1;
	case X_DROPPED_EVENTS:
		return parse_u32(t, &s->dropped_events) < 0 ? bad_number(p) : 1;
	case X_DROPPED_LINKS:
		return parse_u32(t, &s->dropped_links) < 0 ? bad_number(p) : 1;
	default:
		return fail(p, "expected an array or an object");
	}
}

static int value_scalar(struct jp *p, struct otlp_value *v, enum fld x, const struct tok *t)
{
	switch (x) {
	case X_STRING_VALUE:
		v->type = OTLP_VALUE_STRING;
		if (want_string(p, t, &v->s) == 0)
			return 0;
		v->n = t->n;
		return 1;
	case X_BOOL_VALUE:
		if (t->type != 'b')
			return fail(p, "expected true or false");
		v->type = OTLP_VALUE_BOOL;
		v->b = t->b;
		return 1;
	case X_INT_VALUE:
		v->type = OTLP_VALUE_INT;
		return parse_i64(t, &v->i) < 0 ? bad_number(p) : 1;
	case X_DOUBLE_VALUE:
		v->type = OTLP_VALUE_DOUBLE;
		return parse_double(t, &v->d) < 0 ? fail(p, "expected a number, NaN or Infinity") : 1;
	case X_BYTES_VALUE: {
		uint8_t *out;

		if (t->type != 's')
			return fail(p, "expected a base64 string");
		out = arena_alloc(&p->b->arena, t->n * 3 / 4 + 4);
		if (otlp_unbase64(t->s, t->n, out, &v->n) < 0)
			return fail(p, "expected a base64 string");
		v->type = OTLP_VALUE_BYTES;
		v->s = (const char *)out;
		return 1;
	}
	default:
		return fail(p, "expected an object");
	}
}

static int object_scalar(struct jp *p, struct frame *f, const struct tok *t)
{
	enum fld x = f->pending;

	f->pending = X_NONE;
	if (x == X_NONE || t->type == 'z')
		return 1; /* unknown fields and nulls (the default) are skipped */
	switch (f->kind) {
	case F_SPAN:
		return span_scalar(p, f, x, t);
	case F_RS:
		return want_string(p, t, &((struct otlp_resource *)f->obj)->schema_url);
	case F_RESOURCE:
		return parse_u32(t, &((struct otlp_resource *)f->obj)->attrs.dropped) < 0 ? bad_number(p) : 1;
	case F_SS:
		return want_string(p, t, &((struct otlp_scope *)f->obj)->schema_url);
	case F_SCOPE: {
		struct otlp_scope *s = f->obj;

		if (x == X_DROPPED_ATTRS)
			return parse_u32(t, &s->attrs.dropped) < 0 ? bad_number(p) : 1;
		return want_string(p, t, x == X_NAME ? &s->name : &s->version);
	}
	case F_EVENT: {
		struct otlp_event *e = f->obj;

		if (x == X_TIME)
			return parse_u64(t, &e->time_ns) < 0 ? bad_number(p) : 1;
		if (x == X_DROPPED_ATTRS)
			return parse_u32(t, &e->attrs.dropped) < 0 ? bad_number(p) : 1;
		return want_string(p, t, &e->name);
	}
	case F_LINK: {
		struct otlp_link *l = f->obj;
		struct otlp_raw_ids *ids = f->link_ids;

		if (x == X_TRACE_ID)
			return want_id(p, t, l->trace_id, 16, &ids->trace);
		if (x == X_SPAN_ID)
			return want_id(p, t, l->span_id, 8, &ids->span);
		if (x == X_FLAGS)
			return parse_u32(t, &l->flags) < 0 ? bad_number(p) : 1;
		if (x == X_DROPPED_ATTRS)
			return parse_u32(t, &l->attrs.dropped) < 0 ? bad_number(p) : 1;
		return want_string(p, t, &l->trace_state);
	}
	case F_STATUS: {
		struct span_build *sb = f->obj;
		int v;

		if (x == X_MESSAGE)
			return want_string(p, t, &sb->s.status_message);
		if (parse_enum(t, code_names, 3, &v) < 0)
			return fail(p, "expected a StatusCode number or name");
		sb->s.status_code = v;
		return 1;
	}
	case F_KV:
		return want_string(p, t, &((struct otlp_attr *)f->obj)->key);
	case F_VALUE:
		return value_scalar(p, f->obj, x, t);
	default:
		return fail(p, "expected an array or an object");
	}
}

/* ---- yajl callbacks ---- */

static int on_scalar(struct jp *p, const struct tok *t)
{
	struct frame *f;

	if (p->top < 0)
		return fail(p, "the request must be an object");
	f = cur(p);
	if (f->kind == F_SKIP)
		return 1;
	if (f->kind == F_ROOT || f->kind == F_RS || f->kind == F_RESOURCE || f->kind == F_SS ||
	    f->kind == F_SCOPE || f->kind == F_SPAN || f->kind == F_EVENT || f->kind == F_LINK ||
	    f->kind == F_STATUS || f->kind == F_KV || f->kind == F_VALUE || f->kind == F_ARRAYVALUE ||
	    f->kind == F_KVLIST) {
		if (f->kind == F_ROOT || f->kind == F_ARRAYVALUE || f->kind == F_KVLIST) {
			if (f->pending != X_NONE && t->type != 'z')
				return fail(p, "expected an array");
			f->pending = X_NONE;
			return 1;
		}
		return object_scalar(p, f, t);
	}
	if (t->type == 'z')
		return fail(p, "null in a list");
	return fail(p, "expected an object in this list");
}

static int cb_null(void *ctx)
{
	struct tok t = {.type = 'z'};

	return on_scalar(ctx, &t);
}

static int cb_bool(void *ctx, int b)
{
	struct tok t = {.type = 'b', .b = b != 0};

	return on_scalar(ctx, &t);
}

static int cb_number(void *ctx, const char *s, size_t n)
{
	struct tok t = {.type = 'n', .s = s, .n = n};

	return on_scalar(ctx, &t);
}

static int cb_string(void *ctx, const unsigned char *s, size_t n)
{
	struct tok t = {.type = 's', .s = (const char *)s, .n = n};

	return on_scalar(ctx, &t);
}

static bool is_list(enum fk k)
{
	return k == F_RS_LIST || k == F_SS_LIST || k == F_SPAN_LIST || k == F_EVENT_LIST ||
	       k == F_LINK_LIST || k == F_ATTR_LIST || k == F_VALUE_LIST;
}

static int open_container(struct jp *p, char c)
{
	struct frame *f;

	if (p->top < 0) {
		if (c != '{')
			return fail(p, "the request must be an object");
		return push(p, F_ROOT, NULL, 0) != NULL;
	}
	f = cur(p);
	if (f->kind == F_SKIP) {
		if (++f->skip > OTLP_MAX_DEPTH)
			return fail(p, "nested deeper than %d", OTLP_MAX_DEPTH);
		return 1;
	}
	if (is_list(f->kind)) {
		if (c != '{')
			return fail(p, "expected an object in this list");
		return list_elem(p, f);
	}
	return field_container(p, f, c);
}

static int close_container(struct jp *p)
{
	struct frame *f = cur(p);

	if (f->kind == F_SKIP && f->skip > 0) {
		f->skip--;
		return 1;
	}
	if (is_list(f->kind))
		list_close(p, f);
	else
		object_close(p, f);
	p->top--;
	return 1;
}

static int cb_start_map(void *ctx)
{
	return open_container(ctx, '{');
}

static int cb_start_array(void *ctx)
{
	return open_container(ctx, '[');
}

static int cb_end(void *ctx)
{
	return close_container(ctx);
}

static int cb_key(void *ctx, const unsigned char *k, size_t n)
{
	struct jp *p = ctx;
	struct frame *f = cur(p);

	if (f->kind == F_SKIP)
		return 1;
	f->pending = X_NONE;
	snprintf(f->key, sizeof(f->key), "%.*s", (int)(n < 47 ? n : 47), (const char *)k);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field *d = &fields[i];

		if (d->in == f->kind && ((strlen(d->camel) == n && memcmp(d->camel, k, n) == 0) ||
		                         (strlen(d->snake) == n && memcmp(d->snake, k, n) == 0))) {
			f->pending = d->f;
			break;
		}
	}
	return 1;
}

static const yajl_callbacks callbacks = {
    cb_null, cb_bool, NULL, NULL, cb_number, cb_string, cb_start_map, cb_key, cb_end, cb_start_array, cb_end,
};

/* Frees what open frames still hold after a failure. */
static void unwind(struct jp *p)
{
	for (int i = p->top; i >= 0; i--)
		free(p->st[i].vec.data);
}

int otlp_decode_json(const char *body, size_t n, struct otlp_batch *b, struct lo2_err *err)
{
	struct jp *p = xcalloc(1, sizeof(*p));
	yajl_status st;
	size_t at;
	int ret = -1;

	p->b = b;
	p->err = err;
	p->top = -1;
	p->y = yajl_alloc(&callbacks, NULL, p);
	if (p->y == NULL)
		abort();
	st = yajl_parse(p->y, (const unsigned char *)body, n);
	at = yajl_get_bytes_consumed(p->y);
	if (st == yajl_status_ok) {
		st = yajl_complete_parse(p->y);
		at = n;
	}
	if (st != yajl_status_ok && !p->failed) {
		unsigned char *m = yajl_get_error(p->y, 0, (const unsigned char *)body, n);
		char *nl = strchr((char *)m, '\n');

		if (nl)
			*nl = '\0';
		lo2_err_set(err, LO2_E_INVALID, "malformed JSON at byte %zu: %s", at, (char *)m);
		yajl_free_error(p->y, m);
		goto out;
	}
	if (p->failed)
		goto out;
	ret = 0;
out:
	if (ret < 0)
		unwind(p);
	yajl_free(p->y);
	free(p);
	return ret;
}
