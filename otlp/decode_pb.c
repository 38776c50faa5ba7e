/* decode_pb.c - application/x-protobuf: an ExportTraceServiceRequest unpacked by protobuf-c
 * into the request's arena, then turned into lo2's spans. A walk over the wire format comes
 * first, driven by protobuf-c's own descriptors: it caps the nesting (protobuf-c recurses
 * without a limit), and checks that every string field is UTF-8 without NUL bytes (proto3
 * strings must be UTF-8; protobuf-c does not check, and lo2's files need it). */
#include <string.h>

#include "otlp.pb-c.h"
#include "otlp/internal.h"

static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;

	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t c = *(*p)++;

		r |= (uint64_t)(c & 0x7f) << shift;
		if ((c & 0x80) == 0) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

static int walk_fail(struct lo2_err *err, const ProtobufCMessageDescriptor *d, const char *what)
{
	return lo2_err_set(err, LO2_E_INVALID, "malformed protobuf: %s in a %s", what, d->short_name);
}

/* Checks the message of descriptor d in p..p+n and the messages in it. */
static int walk(const uint8_t *p, size_t n, const ProtobufCMessageDescriptor *d, int depth,
                struct lo2_err *err)
{
	const uint8_t *end = p + n;

	if (depth > OTLP_MAX_DEPTH)
		return lo2_err_set(err, LO2_E_INVALID, "malformed protobuf: messages nested deeper than %d",
		                   OTLP_MAX_DEPTH);
	while (p < end) {
		uint64_t key, len;
		const ProtobufCFieldDescriptor *f;

		if (read_varint(&p, end, &key) < 0)
			return walk_fail(err, d, "a truncated field key");
		if (key >> 3 == 0 || key >> 3 > UINT32_MAX)
			return walk_fail(err, d, "field number 0");
		switch (key & 7) {
		case 0:
			if (read_varint(&p, end, &len) < 0)
				return walk_fail(err, d, "a truncated varint");
			continue;
		case 1:
		case 5:
			if ((size_t)(end - p) < ((key & 7) == 1 ? 8u : 4u))
				return walk_fail(err, d, "a truncated fixed-size field");
			p += (key & 7) == 1 ? 8 : 4;
			continue;
		case 2:
			break;
		default:
			return walk_fail(err, d, "an unsupported wire type");
		}
		if (read_varint(&p, end, &len) < 0 || len > (uint64_t)(end - p))
			return walk_fail(err, d, "a truncated length-delimited field");
		f = protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3));
		if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE &&
		    walk(p, (size_t)len, f->descriptor, depth + 1, err) < 0)
			return -1;
		if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING &&
		    (memchr(p, 0, (size_t)len) != NULL || !otlp_utf8_valid((const char *)p, (size_t)len)))
			return lo2_err_set(err, LO2_E_INVALID,
			                   "string field %s of a %s is not UTF-8 without NUL bytes", f->name,
			                   d->short_name);
		p += len;
	}
	return 0;
}

static void *pb_alloc(void *data, size_t size)
{
	return arena_alloc(data, size);
}

static void pb_free(void *data, void *p)
{
	(void)data;
	(void)p; /* the arena goes as a whole */
}

static const char *str(const char *s)
{
	return s != NULL ? s : otlp_empty;
}

static void conv_attrs(struct otlp_arena *a, Lo2otlp__KeyValue **kv, size_t n, uint32_t dropped,
                       struct otlp_attrs *out);

static void conv_value(struct otlp_arena *a, const Lo2otlp__AnyValue *v, struct otlp_value *o)
{
	memset(o, 0, sizeof(*o));
	o->type = OTLP_VALUE_EMPTY;
	if (v == NULL)
		return;
	switch (v->value_case) {
	case LO2OTLP__ANY_VALUE__VALUE_STRING_VALUE:
		o->type = OTLP_VALUE_STRING;
		o->s = str(v->string_value);
		o->n = strlen(o->s);
		break;
	case LO2OTLP__ANY_VALUE__VALUE_BOOL_VALUE:
		o->type = OTLP_VALUE_BOOL;
		o->b = v->bool_value != 0;
		break;
	case LO2OTLP__ANY_VALUE__VALUE_INT_VALUE:
		o->type = OTLP_VALUE_INT;
		o->i = v->int_value;
		break;
	case LO2OTLP__ANY_VALUE__VALUE_DOUBLE_VALUE:
		o->type = OTLP_VALUE_DOUBLE;
		o->d = v->double_value;
		break;
	case LO2OTLP__ANY_VALUE__VALUE_BYTES_VALUE:
		o->type = OTLP_VALUE_BYTES;
		o->s = v->bytes_value.data ? (const char *)v->bytes_value.data : otlp_empty;
		o->n = v->bytes_value.len;
		break;
	case LO2OTLP__ANY_VALUE__VALUE_ARRAY_VALUE: {
		struct otlp_value *items;
		size_t n = v->array_value ? v->array_value->n_values : 0;

		o->type = OTLP_VALUE_ARRAY;
		items = arena_alloc(a, (n ? n : 1) * sizeof(*items));
		for (size_t i = 0; i < n; i++)
			conv_value(a, v->array_value->values[i], &items[i]);
		o->items = items;
		o->n = n;
		break;
	}
	case LO2OTLP__ANY_VALUE__VALUE_KVLIST_VALUE: {
		struct otlp_attrs kv;

		o->type = OTLP_VALUE_KVLIST;
		if (v->kvlist_value)
			conv_attrs(a, v->kvlist_value->values, v->kvlist_value->n_values, 0, &kv);
		else
			memset(&kv, 0, sizeof(kv));
		o->kvs = kv.v;
		o->n = kv.n;
		break;
	}
	default:
		break;
	}
}

static void conv_attrs(struct otlp_arena *a, Lo2otlp__KeyValue **kv, size_t n, uint32_t dropped,
                       struct otlp_attrs *out)
{
	struct otlp_attr *v = arena_alloc(a, (n ? n : 1) * sizeof(*v));

	for (size_t i = 0; i < n; i++) {
		v[i].key = str(kv[i]->key);
		conv_value(a, kv[i]->value, &v[i].value);
	}
	out->v = v;
	out->n = n;
	out->dropped = dropped;
}

/* Copies a bytes id into out (size max) and returns its length as sent. */
static size_t conv_id(ProtobufCBinaryData b, uint8_t *out, size_t max)
{
	memset(out, 0, max);
	if (b.len == max)
		memcpy(out, b.data, max);
	return b.len;
}

static void conv_span(struct otlp_batch *b, const Lo2otlp__Span *ps, const struct otlp_resource *res,
                      const struct otlp_scope *scope)
{
	struct otlp_arena *a = &b->arena;
	struct otlp_span s = {0};
	struct otlp_raw_ids ids;
	struct otlp_event *ev = arena_alloc(a, (ps->n_events ? ps->n_events : 1) * sizeof(*ev));
	struct otlp_link *ln = arena_alloc(a, (ps->n_links ? ps->n_links : 1) * sizeof(*ln));

	ids.trace = conv_id(ps->trace_id, s.trace_id, 16);
	ids.span = conv_id(ps->span_id, s.span_id, 8);
	ids.parent = conv_id(ps->parent_span_id, s.parent_span_id, 8);
	ids.bad_link = false;
	s.trace_state = str(ps->trace_state);
	s.flags = ps->flags;
	s.name = str(ps->name);
	s.kind = (int)ps->kind;
	s.start_ns = ps->start_time_unix_nano;
	s.end_ns = ps->end_time_unix_nano;
	conv_attrs(a, ps->attributes, ps->n_attributes, ps->dropped_attributes_count, &s.attrs);
	for (size_t i = 0; i < ps->n_events; i++) {
		const Lo2otlp__Span__Event *e = ps->events[i];

		ev[i].time_ns = e->time_unix_nano;
		ev[i].name = str(e->name);
		conv_attrs(a, e->attributes, e->n_attributes, e->dropped_attributes_count, &ev[i].attrs);
	}
	s.events = ev;
	s.n_events = ps->n_events;
	s.dropped_events = ps->dropped_events_count;
	for (size_t i = 0; i < ps->n_links; i++) {
		const Lo2otlp__Span__Link *l = ps->links[i];

		if (conv_id(l->trace_id, ln[i].trace_id, 16) != 16 ||
		    conv_id(l->span_id, ln[i].span_id, 8) != 8)
			ids.bad_link = true;
		ln[i].trace_state = str(l->trace_state);
		ln[i].flags = l->flags;
		conv_attrs(a, l->attributes, l->n_attributes, l->dropped_attributes_count, &ln[i].attrs);
	}
	s.links = ln;
	s.n_links = ps->n_links;
	s.dropped_links = ps->dropped_links_count;
	s.status_code = ps->status ? (int)ps->status->code : 0;
	s.status_message = ps->status ? str(ps->status->message) : otlp_empty;
	s.resource = res;
	s.scope = scope;
	otlp_batch_push(b, &s, &ids);
}

static void conv_resource_spans(struct otlp_batch *b, const Lo2otlp__ResourceSpans *rs)
{
	struct otlp_resource *res = arena_calloc(&b->arena, 1, sizeof(*res));

	if (rs->resource)
		conv_attrs(&b->arena, rs->resource->attributes, rs->resource->n_attributes,
		           rs->resource->dropped_attributes_count, &res->attrs);
	res->schema_url = str(rs->schema_url);
	for (size_t i = 0; i < rs->n_scope_spans; i++) {
		const Lo2otlp__ScopeSpans *ss = rs->scope_spans[i];
		struct otlp_scope *sc = arena_calloc(&b->arena, 1, sizeof(*sc));

		sc->name = ss->scope ? str(ss->scope->name) : otlp_empty;
		sc->version = ss->scope ? str(ss->scope->version) : otlp_empty;
		if (ss->scope)
			conv_attrs(&b->arena, ss->scope->attributes, ss->scope->n_attributes,
			           ss->scope->dropped_attributes_count, &sc->attrs);
		sc->schema_url = str(ss->schema_url);
		for (size_t k = 0; k < ss->n_spans; k++)
			conv_span(b, ss->spans[k], res, sc);
	}
}

int otlp_decode_pb(const void *body, size_t n, struct otlp_batch *b, struct lo2_err *err)
{
	ProtobufCAllocator alloc = {pb_alloc, pb_free, &b->arena};
	Lo2otlp__ExportTraceServiceRequest *req;

	if (walk(body, n, &lo2otlp__export_trace_service_request__descriptor, 0, err) < 0)
		return -1;
	req = lo2otlp__export_trace_service_request__unpack(&alloc, n, body);
	if (req == NULL)
		return lo2_err_set(
		    err, LO2_E_INVALID,
		    "malformed protobuf: not an ExportTraceServiceRequest (a field of the wrong "
		    "wire type or a bad value)");
	for (size_t i = 0; i < req->n_resource_spans; i++)
		conv_resource_spans(b, req->resource_spans[i]);
	return 0;
}
