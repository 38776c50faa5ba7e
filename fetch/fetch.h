/* fetch.h - collecting a time window: Prometheus series (query_range in parallel, written as
 * the original's metric_<name>.json), Jaeger spans (traces_<service>.csv) and container logs
 * (<container>.log.gz), all exact to the original's formats. Windows are ns since the epoch. */
#ifndef LO2_FETCH_H
#define LO2_FETCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/str.h"

struct engine;

/* What a fetch did, per output: counts, and one line per failure naming the object. */
struct fetch_report {
	size_t ok, empty, failed;
	struct lo2_strv failures; /* "metric up: HTTP 400: bad_data: ..." */
	struct lo2_strv warnings; /* "service x: 500 traces, the limit: some may be missing" */
};
void fetch_report_free(struct fetch_report *r);

/* ---- Prometheus ---- */
struct fetch_prom_opts {
	const char *url; /* "http://localhost:9090" */
	int64_t start_ns, end_ns, step_ns;
	const char *dir; /* where metric_<name>.json go (must exist) */
	int concurrency; /* 0: 8 */
	int64_t timeout_ms; /* per request; 0: 120000 (a stall of min(timeout, 30 s) aborts too) */
	int max_attempts; /* 0: 3 */
	int64_t backoff_ms; /* 0: 500 */
	int64_t max_points; /* points per query before chunking; 0: 11000 */
	const atomic_bool *cancel; /* ends the fetch early (LO2_E_CANCELLED); may be NULL */
};
/* The names from /api/v1/label/__name__/values, in Prometheus's order (caller frees names). */
int fetch_prom_list(const char *url, int64_t timeout_ms, struct lo2_strv *names, struct lo2_err *err);
/* Fetches every name over the window into o->dir. Per-metric failures go to rep (the others go
 * on); returns -1 only when nothing could start (bad options). */
int fetch_prom_metrics(const struct fetch_prom_opts *o, const struct lo2_strv *names,
                       struct fetch_report *rep, struct lo2_err *err);
/* 0 when name can be a metric to fetch: non-empty, no control character (a newline would split
 * a list line, a NUL would cut the name); else -1 with the name shown escaped. */
int fetch_metric_name_check(const char *name, struct lo2_err *err);
/* Reads a metric list file: one name per line, blank lines and surrounding blanks dropped. A NUL
 * or control character is an error naming the file and the line ("metrics.txt:3: ..."). */
int fetch_read_metric_names(const char *path, struct lo2_strv *names, struct lo2_err *err);
/* "metric_<name, '/' as '_'>.json", or NULL with err when that is no safe file name (caller frees).
 * Two names mapping to one file ("a/b", "a_b"): fetch_prom_metrics refuses the later one by name. */
char *fetch_metric_file_name(const char *name, struct lo2_err *err);
/* One query_range response body → the file the original writes (appended to out; nothing when
 * the result is empty); *nseries gets the series count. For tests and tools. */
int fetch_prom_convert(const char *body, size_t n, struct lo2_buf *out, size_t *nseries, struct lo2_err *err);

/* Prometheus's active scrape targets: up or not, and when each was last scraped. */
struct fetch_prom_target {
	char *job, *instance;
	char *health; /* up, down, unknown */
	char *last_error;
	int64_t last_scrape_ns; /* 0: never */
};
struct fetch_prom_targets {
	struct fetch_prom_target *v;
	size_t n;
};
int fetch_prom_targets(const char *url, int64_t timeout_ms, struct fetch_prom_targets *out,
                       struct lo2_err *err);
void fetch_prom_targets_free(struct fetch_prom_targets *t);

/* ---- Jaeger ---- */
struct fetch_jaeger_opts {
	const char *url; /* "http://localhost:16686" */
	int64_t start_ns, end_ns;
	const char *dir;
	int limit; /* traces per request; 0: 1000 */
	int concurrency; /* reserved: services are fetched one after another for now */
	int64_t timeout_ms; /* 0: 120000 */
	const atomic_bool *cancel; /* checked between requests; may be NULL */
};
/* /api/services (caller frees names). */
int fetch_jaeger_services(const char *url, int64_t timeout_ms, struct lo2_strv *names, struct lo2_err *err);
/* traces_<service>.csv for every service; a service that hits the limit is fetched again in
 * halves of its window until none does (then a warning). */
int fetch_jaeger_traces(const struct fetch_jaeger_opts *o, const struct lo2_strv *services,
                        struct fetch_report *rep, struct lo2_err *err);
/* One /api/traces body → CSV rows (no header) appended to out; *ntraces the trace count. */
int fetch_jaeger_csv(const char *body, struct lo2_buf *out, size_t *ntraces, struct lo2_err *err);
/* The CSV header line the original writes. */
#define FETCH_TRACES_HEADER "Trace ID,Span ID,Operation Name,Start Time,End Time,Tags\n"

/* ---- traces_<service>.csv rows of spans from another source (otlp/) ---- */
/* A span tag as Jaeger's JSON types it (binary tags are base64 strings there). */
enum fetch_tag_type { FETCH_TAG_STRING, FETCH_TAG_BOOL, FETCH_TAG_INT64, FETCH_TAG_FLOAT64 };
struct fetch_tag {
	const char *key;
	enum fetch_tag_type type;
	const char *s; /* STRING: n bytes of UTF-8 */
	size_t n;
	bool b;
	int64_t i;
	double d;
};
struct fetch_span_row {
	const char *trace_id, *span_id; /* as Jaeger's JSON writes them */
	const char *name;
	int64_t start_us, duration_us; /* Jaeger's microseconds */
	const struct fetch_tag *tags; /* in the order Jaeger's JSON lists them */
	size_t n_tags;
};
/* Appends the row the Jaeger path writes for a span Jaeger's /api/traces would show as r:
 * the original's CSV fields, Tags as str() of the dict Python reads from that JSON (a float64
 * as Go writes it and Python reads it back: 2.0 is the int 2). */
void fetch_traces_row(struct lo2_buf *out, const struct fetch_span_row *r);
/* A float64 as Go's encoding/json writes it (Jaeger's JSON): shortest digits, exponent form
 * below 1e-6 and from 1e21 ("1e-7", "1e+21"), "-0" for negative zero; d must be finite. */
void fetch_go_json_float(double d, char *out, size_t outsz);
/* repr(float(d)) as Python 3 writes it: the shortest text that reads back as d ("0.5", "1e-07",
 * "1.0", "inf", "nan"); a JSON number when d is finite. */
void fetch_py_float(double d, char *out, size_t outsz);

/* last_fetch_time.txt: end as ISO 8601 with +00:00 (whole seconds), no newline. */
int fetch_write_last_fetch_time(const char *dir, int64_t end_ns, struct lo2_err *err);

/* ---- container logs ---- */
struct fetch_logs_opts {
	struct engine *engine;
	int64_t start_ns, end_ns; /* half-open [start, end), in the engine's clock */
	const char *dir;
	bool compress; /* <name>.log.gz, else <name>.log */
	int concurrency; /* 0: 8 */
};
/* Exports the window of every container named in names (ids or names; file names are the
 * names, which must pass lo2_name_check). Failures per container go to rep. */
int fetch_logs(const struct fetch_logs_opts *o, const struct lo2_strv *names, struct fetch_report *rep,
               struct lo2_err *err);

#endif
