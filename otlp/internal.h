/* internal.h - what otlp/'s files share and nothing outside otlp/ includes: the arena that
 * holds one request's spans, the batch a decoder fills (the unit the receiver queues), the two
 * decoders, and small codecs (hex, base64, UTF-8). */
#ifndef LO2_OTLP_INTERNAL_H
#define LO2_OTLP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "otlp/otlp.h"

/* Nesting cap of a request (messages in protobuf, containers in JSON): deeper is malformed. */
#define OTLP_MAX_DEPTH 64

/* ---- arena: one request's memory, freed at once (arena.c) ---- */
struct arena_chunk;
struct otlp_arena {
	struct arena_chunk *head;
	size_t bytes; /* allocated from the system, chunks included */
};
void *arena_alloc(struct otlp_arena *a, size_t n); /* 16-byte aligned, not zeroed */
void *arena_calloc(struct otlp_arena *a, size_t count, size_t n);
char *arena_strndup(struct otlp_arena *a, const char *s, size_t n);
void arena_free(struct otlp_arena *a);

/* ---- a decoded request ---- */
/* Id lengths as sent (SIZE_MAX: not hex), checked when a span is pushed. */
struct otlp_raw_ids {
	size_t trace, span, parent;
	bool bad_link;
};

struct otlp_batch {
	struct otlp_arena arena;
	struct otlp_span *spans; /* the valid spans, in request order (malloc'd) */
	size_t n, cap;
	size_t rejected[OTLP_REJECT__N];
	size_t nrejected;
	uint64_t bytes_in; /* the body as sent */
	struct otlp_batch *next; /* the receiver's queue */
};
struct otlp_batch *otlp_batch_new(void);
void otlp_batch_free(struct otlp_batch *b);
/* Appends a copy of s when its ids are valid, else counts the reason. */
void otlp_batch_push(struct otlp_batch *b, const struct otlp_span *s, const struct otlp_raw_ids *ids);
/* Sets every resource's service_name; called once a body is decoded. */
void otlp_batch_finish(struct otlp_batch *b);

/* The decoders fill b (decode_pb.c, decode_json.c); -1: malformed, LO2_E_INVALID. The body
 * need not be NUL-terminated. */
int otlp_decode_pb(const void *body, size_t n, struct otlp_batch *b, struct lo2_err *err);
int otlp_decode_json(const char *body, size_t n, struct otlp_batch *b, struct lo2_err *err);

/* ---- codecs (util.c) ---- */
/* Decodes hex (either case) into out (at most max bytes); returns the byte count, or SIZE_MAX
 * when s is not hex of at most max bytes. */
size_t otlp_unhex(const char *s, size_t n, uint8_t *out, size_t max);
/* Standard base64 with padding, appended to b (the form JSON uses for bytes). */
struct lo2_buf;
void otlp_base64(struct lo2_buf *b, const uint8_t *p, size_t n);
/* Base64 (standard or URL-safe, padding optional) into out (room for n*3/4+3); -1 if malformed. */
int otlp_unbase64(const char *s, size_t n, uint8_t *out, size_t *outn);
bool otlp_utf8_valid(const char *s, size_t n);
/* A JSON string of UTF-8 text (control characters escaped), appended to b. */
void otlp_json_str(struct lo2_buf *b, const char *s, size_t n);
/* The empty string every unset string field points to. */
extern const char otlp_empty[];

/* The CSV row of a span, as the Jaeger path writes it (csv.c). */
void otlp_csv_row(struct lo2_buf *out, const struct otlp_span *s);
/* The lossless JSON line of a span, newline included (jsonl.c). */
void otlp_jsonl_line(struct lo2_buf *out, const struct otlp_span *s);

#endif
