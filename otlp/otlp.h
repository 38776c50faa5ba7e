/* otlp.h - lo2's OpenTelemetry trace sink: an OTLP/HTTP receiver (POST /v1/traces, protobuf
 * and JSON, gzip; libmicrohttpd and protobuf-c stay inside otlp/) that hands every valid span
 * to one consumer thread in arrival order, and a writer that turns spans into a window's files
 * (traces_<service>.csv as the Jaeger path writes them, and a lossless traces.otlp.jsonl.gz). */
#ifndef LO2_OTLP_H
#define LO2_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* ---- spans, as received (every pointer valid only during the on_span call) ---- */
enum otlp_value_type {
	OTLP_VALUE_EMPTY, /* an AnyValue with nothing set */
	OTLP_VALUE_STRING,
	OTLP_VALUE_BOOL,
	OTLP_VALUE_INT,
	OTLP_VALUE_DOUBLE,
	OTLP_VALUE_BYTES,
	OTLP_VALUE_ARRAY,
	OTLP_VALUE_KVLIST,
};

struct otlp_attr;
struct otlp_value {
	enum otlp_value_type type;
	bool b;
	int64_t i;
	double d;
	const char *s; /* STRING: UTF-8 without NUL bytes, NUL-terminated; BYTES: the raw bytes */
	size_t n; /* STRING, BYTES: bytes; ARRAY: items; KVLIST: kvs */
	const struct otlp_value *items; /* ARRAY */
	const struct otlp_attr *kvs; /* KVLIST */
};

struct otlp_attr {
	const char *key;
	struct otlp_value value;
};

struct otlp_attrs {
	const struct otlp_attr *v;
	size_t n;
	uint32_t dropped; /* dropped_attributes_count */
};

struct otlp_resource {
	struct otlp_attrs attrs;
	const char *schema_url;
	const char *service_name; /* the string attribute service.name, else "unknown_service" */
};

struct otlp_scope {
	const char *name, *version;
	struct otlp_attrs attrs;
	const char *schema_url;
};

struct otlp_event {
	uint64_t time_ns;
	const char *name;
	struct otlp_attrs attrs;
};

struct otlp_link {
	uint8_t trace_id[16], span_id[8];
	const char *trace_state;
	uint32_t flags;
	struct otlp_attrs attrs;
};

/* The specification's numbers; a span may carry a number outside these (kept as sent). */
enum otlp_span_kind {
	OTLP_KIND_UNSPECIFIED = 0,
	OTLP_KIND_INTERNAL = 1,
	OTLP_KIND_SERVER = 2,
	OTLP_KIND_CLIENT = 3,
	OTLP_KIND_PRODUCER = 4,
	OTLP_KIND_CONSUMER = 5,
};
enum otlp_status_code { OTLP_STATUS_UNSET = 0, OTLP_STATUS_OK = 1, OTLP_STATUS_ERROR = 2 };

struct otlp_span {
	uint8_t trace_id[16], span_id[8], parent_span_id[8];
	bool has_parent; /* false: a root span (parent_span_id empty or all zero) */
	const char *trace_state;
	uint32_t flags;
	const char *name;
	int kind; /* enum otlp_span_kind */
	uint64_t start_ns, end_ns; /* start/end_time_unix_nano as sent */
	struct otlp_attrs attrs;
	const struct otlp_event *events;
	size_t n_events;
	uint32_t dropped_events;
	const struct otlp_link *links;
	size_t n_links;
	uint32_t dropped_links;
	int status_code; /* enum otlp_status_code */
	const char *status_message;
	const struct otlp_resource *resource;
	const struct otlp_scope *scope;
};

/* Lowercase hex of n id bytes into out (2n+1 bytes). */
void otlp_hex(const uint8_t *id, size_t n, char *out);

/* Why a span of a well-formed request is rejected (answered as partial success). */
enum otlp_reject {
	OTLP_REJECT_TRACE_ID, /* not 16 bytes (32 hex digits), or all zero */
	OTLP_REJECT_SPAN_ID, /* not 8 bytes, or all zero */
	OTLP_REJECT_PARENT_ID, /* neither empty nor 8 bytes */
	OTLP_REJECT_LINK_ID, /* a link whose trace or span id has the wrong length */
	OTLP_REJECT__N,
};
/* "invalid trace id", ... */
const char *otlp_reject_name(enum otlp_reject r);

/* ---- decoding one request body (the receiver's decoder; for tests, fuzzing and tools) ---- */
enum otlp_format { OTLP_FORMAT_PROTOBUF, OTLP_FORMAT_JSON };

struct otlp_decoded {
	size_t spans; /* valid spans (handed to on_span) */
	size_t rejected[OTLP_REJECT__N];
};
/* Decodes an ExportTraceServiceRequest (uncompressed) and calls on_span (may be NULL) for each
 * valid span in order; on_span returning -1 stops with its err. A malformed body is -1 with
 * LO2_E_INVALID and a message naming the place; no span has been handed over then. */
int otlp_decode(enum otlp_format f, const void *body, size_t n,
                int (*on_span)(void *user, const struct otlp_span *s, struct lo2_err *err), void *user,
                struct otlp_decoded *out, struct lo2_err *err);

/* ---- the receiver ---- */
struct otlp_opts {
	const char *address; /* numeric IPv4 or IPv6 address to listen on (required) */
	int port; /* 0: an ephemeral port (see otlp_receiver_port) */
	size_t body_max; /* request body cap, as sent and after gunzip; 0: 16 MiB (413 past it) */
	size_t queue_spans; /* spans waiting for the consumer; 0: 65536 (503 past it) */
	size_t queue_bytes; /* their memory; 0: 256 MiB (503 past it) */
	int threads; /* HTTP threads; 0: 2 */
	int retry_after_s; /* Retry-After of a 503; 0: 1 */
	/* Called from one consumer thread, in arrival order. -1 counts the span as
	 * consumer_failed (the receiver goes on). */
	int (*on_span)(void *user, const struct otlp_span *s);
	void *user;
};

enum otlp_answer {
	OTLP_ANSWER_OK, /* 200, every span accepted */
	OTLP_ANSWER_PARTIAL, /* 200 with partial_success */
	OTLP_ANSWER_MALFORMED, /* 400 */
	OTLP_ANSWER_NOT_FOUND, /* 404 */
	OTLP_ANSWER_METHOD, /* 405 */
	OTLP_ANSWER_TOO_LARGE, /* 413 */
	OTLP_ANSWER_MEDIA_TYPE, /* 415 (Content-Type or Content-Encoding) */
	OTLP_ANSWER_BUSY, /* 503 with Retry-After: queue full */
	OTLP_ANSWER__N,
};
/* "200", "200 partial", "400 malformed", ... */
const char *otlp_answer_name(enum otlp_answer a);

struct otlp_stats {
	uint64_t answers[OTLP_ANSWER__N]; /* requests by answer */
	uint64_t spans_accepted; /* queued for the consumer */
	uint64_t spans_delivered; /* on_span returned 0 */
	uint64_t spans_consumer_failed; /* on_span returned -1 */
	uint64_t spans_rejected[OTLP_REJECT__N];
	uint64_t spans_deferred; /* in requests answered 503 (the exporter sends them again) */
	uint64_t bytes_received; /* request bodies as sent */
	uint64_t bytes_decoded; /* after gunzip */
	size_t queue_spans, queue_peak_spans;
};

struct otlp_receiver;
/* Listens and starts the HTTP and consumer threads. Errors name the address. */
int otlp_receiver_start(const struct otlp_opts *o, struct otlp_receiver **out, struct lo2_err *err);
/* The port listened on (the ephemeral one when opts.port was 0). */
int otlp_receiver_port(const struct otlp_receiver *r);
void otlp_receiver_stats(struct otlp_receiver *r, struct otlp_stats *out);
/* Stops listening, hands every queued span to the consumer, joins the threads and frees r;
 * *final (may be NULL) gets the last stats. otlp_receiver_stop(NULL, ...) is a no-op. */
void otlp_receiver_stop(struct otlp_receiver *r, struct otlp_stats *final);

/* "ADDR:PORT" or "[V6ADDR]:PORT" (PORT 0..65535) into *addr (caller frees) and *port. */
int otlp_parse_listen(const char *s, char **addr, int *port, struct lo2_err *err);

/* ---- the files of a window ---- */
struct otlp_writer;
struct otlp_writer_stats {
	size_t spans; /* lines in traces.otlp.jsonl.gz */
	size_t services; /* traces_<service>.csv files */
	size_t csv_skipped; /* spans of a service whose name cannot be a file name (jsonl only) */
};
/* Starts the files of a window in dir (which must exist): nothing appears under a final name
 * before otlp_writer_commit. */
int otlp_writer_open(const char *dir, struct otlp_writer **out, struct lo2_err *err);
/* One span: a row of traces_<service.name>.csv and a line of traces.otlp.jsonl.gz. */
int otlp_writer_add(struct otlp_writer *w, const struct otlp_span *s, struct lo2_err *err);
/* Completes every file (fsync, rename) and frees w, whatever the result; st may be NULL. */
int otlp_writer_commit(struct otlp_writer *w, struct otlp_writer_stats *st, struct lo2_err *err);
/* Drops the files not yet committed and frees w; NULL is a no-op. */
void otlp_writer_abort(struct otlp_writer *w);

/* The names the writer uses. */
#define OTLP_JSONL_FILE "traces.otlp.jsonl.gz"
/* What the CSV's Tags column gets for each span: see otlp/csv.c. */

#endif
