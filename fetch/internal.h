/* internal.h - what fetch/'s files share and nothing outside fetch/ includes: the Python
 * formatting rules the original's files follow (json.dump, repr, csv, isoformat), the JSON
 * writer that reproduces json.dump(indent=4), and the curl multi pool. */
#ifndef LO2_FETCH_INTERNAL_H
#define LO2_FETCH_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

/* ---- Python formatting (pyfmt.c) ---- */

/* repr(float(d)) as Python 3 writes it ("1739746339.12", "1e-05", "inf", "nan"). */
void py_float_repr(double d, char *out, size_t outsz);
/* What json.dump writes for a JSON number read as text: ints stay as written ("-0" is "0"),
 * others become repr(float) ("Infinity" when out of range). Appends to b. */
void py_json_number(struct lo2_buf *b, const char *text, size_t n);
/* A JSON string with ensure_ascii (\uXXXX, surrogate pairs for astral code points). */
void py_json_string(struct lo2_buf *b, const char *s, size_t n);
/* repr(str) of UTF-8 text: single quotes unless it holds ' and no ". */
void py_str_repr(struct lo2_buf *b, const char *s, size_t n);
/* One CSV field as Python's csv module writes it (QUOTE_MINIMAL, '"' doubled). */
void py_csv_field(struct lo2_buf *b, const char *s, size_t n);
/* datetime.fromtimestamp(us / 1e6, timezone.utc).isoformat(). */
void py_isoformat_us(int64_t us, char *out, size_t outsz);

/* ---- json.dump(obj, f, indent=4) as a stream of events (pyjson.c) ---- */
#define PYJW_MAX_DEPTH 64

struct pyjw {
	struct lo2_buf *out;
	int base; /* indent levels before the top-level value */
	int depth; /* open containers */
	bool after_key;
	int count[PYJW_MAX_DEPTH]; /* items written in each open container */
};

void pyjw_init(struct pyjw *w, struct lo2_buf *out, int base);
/* Each returns -1 when the nesting is deeper than PYJW_MAX_DEPTH. */
int pyjw_open(struct pyjw *w, char kind); /* '[' or '{' */
int pyjw_close(struct pyjw *w, char kind); /* ']' or '}' */
void pyjw_key(struct pyjw *w, const char *k, size_t n);
void pyjw_string(struct pyjw *w, const char *s, size_t n);
void pyjw_number(struct pyjw *w, const char *s, size_t n);
void pyjw_literal(struct pyjw *w, const char *lit); /* true, false, null */
/* Writes a newline and indent for `level` levels (level counts from the top-level value). */
void pyjw_indent(struct lo2_buf *b, int level);

/* ---- the curl multi pool (http.c) ---- */
enum { HTTP_DONE = 0, HTTP_RETRY = 1 };

struct http_job {
	char *url; /* owned by the caller */
	void *user;
	/* Called before every attempt (the first too): reset parsers, drop partial output. */
	void (*reset)(void *user);
	/* Body bytes in arbitrary pieces; return -1 to abort the transfer. */
	int (*data)(void *user, const char *p, size_t n);
	/* The attempt ended: status is the HTTP status (0 when none came), cerr curl's message or
	 * NULL when the transfer completed; last is true when no retry is left. Returns HTTP_DONE
	 * or HTTP_RETRY. */
	int (*done)(void *user, long status, const char *cerr, bool last);
	/* pool-private */
	int attempts;
	int64_t not_before;
	void *h;
	char errbuf[256];
};

struct http_pool_opts {
	int concurrency; /* transfers in flight */
	int64_t timeout_ms; /* whole transfer */
	int64_t stall_ms; /* abort when no byte arrived for this long */
	int max_attempts; /* >= 1 */
	int64_t backoff_ms; /* first retry delay, doubled each time */
	/* When it becomes true, every unfinished job ends as failed ("cancelled") and http_run
	 * returns -1 with LO2_E_CANCELLED. */
	const atomic_bool *cancel;
};

/* Runs every job to its end (done returned HTTP_DONE or attempts ran out). */
int http_run(struct http_job **jobs, size_t n, const struct http_pool_opts *o, struct lo2_err *err);
/* GETs url into *body (NUL-terminated, caller frees), at most max bytes; *status the HTTP status. */
int http_get(const char *url, size_t max, int64_t timeout_ms, char **body, long *status, struct lo2_err *err);
/* URL-escapes s (caller frees). */
char *http_escape(const char *s);

#endif
