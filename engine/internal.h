/* internal.h - engine/'s private pieces: the engine struct, the HTTP request layer over
 * libcurl, and helpers shared by the resource files. Not for other modules. */
#ifndef LO2_ENGINE_INTERNAL_H
#define LO2_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "common/buf.h"
#include "common/json.h"
#include "engine/engine.h"

struct engine {
	struct engine_endpoint ep;
	struct engine_version_info ver;
	atomic_int api_minor; /* negotiated (or pinned): ENGINE_API_MIN_MINOR..ENGINE_API_MAX_MINOR */
	bool api_pinned; /* DOCKER_API_VERSION */
	bool opened; /* engine_open finished: ver is final, negotiation only changes api_minor */
	pthread_mutex_t lock;
	void **pool; /* idle CURL easy handles, reused for keep-alive */
	size_t n_pool;
	struct engine_cancels *cancels; /* cancel.c */
	const atomic_bool *_Atomic cancel; /* engine_set_cancel: for requests without their own */
	char docker_config[4096]; /* registry credentials' config folder; "" = the environment's */
};

/* A running request with a cancel flag (cancel.c): its socket is shut down soon after the flag
 * becomes true. */
struct ecancel {
	const atomic_bool *cancel;
	int fd; /* -1 until the connection is known */
	bool shut;
};
void engine_cancel_register(struct engine *e, struct ecancel *r);
void engine_cancel_socket(struct engine *e, struct ecancel *r, int fd);
void engine_cancel_unregister(struct engine *e, struct ecancel *r);
void engine_cancel_free(struct engine *e);

/* Receives a 2xx response body piece; -1 (err set) aborts the transfer. */
typedef int (*engine_body_fn)(void *user, const char *p, size_t n, struct lo2_err *err);

struct ereq {
	const char *method; /* GET (default), POST, DELETE, HEAD */
	const char *path; /* "/containers/json?all=1": sent as /v<api><path> unless unversioned */
	bool unversioned;
	const char *json; /* body, sent with Content-Type application/json; NULL + POST = empty body */
	size_t json_len;
	engine_read_fn upload; /* streamed body (chunked) */
	void *upload_user;
	const char *upload_type; /* its Content-Type */
	const char *extra_header; /* one extra "Name: value" or NULL */
	bool stream; /* long-lived: no total timeout */
	bool may_idle; /* legitimately silent for long (follow, events, wait): no stall timeout */
	long timeout_ms; /* total; 0 = 120 s (non-stream) */
	engine_body_fn on_body;
	void *user;
	const atomic_bool *cancel;
};

struct eresp {
	long status;
	char content_type[128];
	char api_version[16];
	char date[64];
	struct lo2_buf body; /* the body when on_body is NULL or the status is not 2xx */
};

/* Performs a request. -1 only when no HTTP answer came (connect failure, timeout, cancel,
 * a callback's error); any HTTP status returns 0 with resp->status set. Free resp with eresp_free. */
int engine_request(struct engine *e, const struct ereq *r, struct eresp *resp, struct lo2_err *err);
void eresp_free(struct eresp *r);
/* Sets err to "<context>: <status> <reason>: <engine message>" with the kind from the status; returns -1. */
int engine_http_error(const struct eresp *resp, struct lo2_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A request whose answer must be 2xx (304 counts as success: resp->status tells). On any failure,
 * err carries the context (printf-style) first. resp may be NULL when the body is not needed. */
int engine_call(struct engine *e, const struct ereq *r, struct eresp *resp, struct lo2_err *err,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* engine_call, then the body parsed as JSON (named `what` in a parse error); the response is
 * freed. *doc: free with lo2_json_free (NULL on failure). */
int engine_call_json(struct engine *e, const struct ereq *r, const char *what, struct lo2_json **doc,
                     struct lo2_err *err, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* "filters=<the filters as URL-escaped JSON>" for a query string (caller frees). */
char *engine_filters_query(const struct lo2_strv *filters);
/* Refuses an object reference (container name or ID) the engine cannot take as one path segment:
 * empty, "." or "..", or holding '/' or a control character. `op` starts the message. */
int engine_check_ref(const char *ref, const char *op, struct lo2_err *err);
/* URL-escapes s (caller frees). */
char *engine_escape(const char *s);
/* "v1.41" reading of a version string: fills minor for "1.NN"; -1 when malformed. */
int engine_parse_api_version(const char *s, int *minor);
/* The negotiated minor version (read atomically: renegotiation may change it any time). */
int engine_api_minor(const struct engine *e);
/* (Re)negotiates the API version from /_ping and /version. */
int engine_negotiate(struct engine *e, struct lo2_err *err);

/* Splits a body stream into '\n'-terminated JSON lines (capped at 1 MiB each). */
struct engine_lines {
	struct lo2_buf buf;
	int (*on_line)(void *user, const char *line, size_t n, struct lo2_err *err);
	void *user;
};
int engine_lines_feed(void *lines, const char *p, size_t n, struct lo2_err *err);
int engine_lines_finish(struct engine_lines *l, struct lo2_err *err);

/* Progress streams (pull, import, build): reports lines, fails on errorDetail, keeps the last
 * image ID seen ({"aux":{"ID":..}} or "sha256:..." in a status). */
struct engine_progress {
	engine_progress_fn fn;
	void *user;
	char *last_id;
	char *error; /* the errorDetail message, when the stream reported one */
	unsigned long long n_lines; /* lines read, for messages */
	struct engine_lines lines;
};
void engine_progress_init(struct engine_progress *p, engine_progress_fn fn, void *user);
void engine_progress_free(struct engine_progress *p);

/* ---- validated reading of engine responses ----
 * Every field lo2 reads from a response goes through these: a required member that is missing
 * (or null), or any member of another type, is an error naming `what` (the object's place, e.g.
 * "entry 3" or "State") and the key: "entry 3 has no Id", "State: Pid is not an integer".
 * An optional member that is missing or null gives NULL / leaves *out as it was. */
enum engine_jtype { ENGINE_J_STR, ENGINE_J_OBJ, ENGINE_J_ARR, ENGINE_J_INT, ENGINE_J_BOOL };
int engine_field(const struct lo2_json *obj, const char *key, enum engine_jtype type, bool required,
                 const char *what, const struct lo2_json **out, struct lo2_err *err);
/* A string member, xstrdup'ed into *out (NULL when optional and absent). */
int engine_field_strdup(const struct lo2_json *obj, const char *key, bool required, const char *what,
                        char **out, struct lo2_err *err);
int engine_field_int(const struct lo2_json *obj, const char *key, const char *what, int64_t *out,
                     struct lo2_err *err);
int engine_field_bool(const struct lo2_json *obj, const char *key, const char *what, bool *out,
                      struct lo2_err *err);
/* Fills a kvv from an optional object member whose values are all strings. */
int engine_field_kvv(const struct lo2_json *obj, const char *key, const char *what, struct lo2_kvv *out,
                     struct lo2_err *err);
/* Appends an optional array-of-strings member to *out. */
int engine_field_strv(const struct lo2_json *obj, const char *key, const char *what, struct lo2_strv *out,
                      struct lo2_err *err);

/* Reads every element of the array arr (NULL: none) into a new array *v of elements of size sz
 * with read(element, "entry N", slot, err), N counting from 1; *n counts the slots handed out
 * (the failing one included, so the list's free releases everything). Not an array: an error. */
int engine_read_entries(const struct lo2_json *arr, size_t sz, void **v, size_t *n,
                        int (*read)(const struct lo2_json *elem, const char *what, void *slot,
                                    struct lo2_err *err),
                        struct lo2_err *err);
/* The readers behind the calls (for tests and fuzzing): doc is the parsed response. On error
 * nothing is left to free and err names the entry and the field. */
int engine_container_list_read(const struct lo2_json *doc, struct engine_container_list *out,
                               struct lo2_err *err);
int engine_container_inspect_read(const struct lo2_json *doc, struct engine_container_info *ci,
                                  struct lo2_err *err);
/* One line of the /events stream, handed to fn (its result in *fn_rc); -1 with err set when the
 * line is not an event of the expected shape (fn is then not called). */
int engine_event_parse(const char *line, engine_event_fn fn, void *user, int *fn_rc, struct lo2_err *err);
/* Writes "key": {k: v, ...} / "key": [s, ...] into a JSON writer. */
void engine_jw_kvv(struct lo2_jw *w, const char *key, const struct lo2_kvv *kv);
void engine_jw_strv(struct lo2_jw *w, const char *key, const struct lo2_strv *v);
/* Parses the engine's RFC 3339 times; the zero time gives 0. */
int64_t engine_parse_time(const char *s);

#endif
