/* internal.h - what export's files share (not part of the module's public header): the run
 * being read, the files an export produced (for its manifest), line streaming, log line
 * timestamps and CSV fields. */
#ifndef LO2_EXPORT_INTERNAL_H
#define LO2_EXPORT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/sink.h"
#include "export/export.h"
#include "run/manifest.h"

/* One run folder, read. */
struct ex_run {
	char *dir; /* as given */
	char *name; /* LO2_run_<unix> */
	struct run_manifest m;
	bool timestamps; /* its log lines start with the engine's "<RFC 3339 ns> " */
};

/* A file the export produced, for the manifest. */
struct ex_file {
	char *path; /* relative to the output folder */
	uint64_t size;
	char sha256[65];
	bool linked;
};

struct ex_out {
	struct ex_file *v;
	size_t n;
	struct export_stats *st;
};

void ex_out_add(struct ex_out *o, const char *rel, uint64_t size, const char *sha256, bool linked);
void ex_out_free(struct ex_out *o);

/* Reads the run folder dir (its run.json and run_config.yml). */
int ex_run_open(const char *dir, struct ex_run *r, struct lo2_err *err);
void ex_run_free(struct ex_run *r);
/* True when the test is exported: complete and its folder is its tag. */
bool ex_test_exported(const struct run_test *t);

/* Calls fn for each line of a (gzip or plain) file, without its newline; a last line without
 * one counts. Lines longer than 16 MiB are an error naming the file. */
int ex_lines(const char *path, int (*fn)(void *user, const char *line, size_t n, struct lo2_err *err),
             void *user, struct lo2_err *err);
/* Length of the engine's "<RFC 3339> " prefix at the start of line (0 when none); its time in *ns. */
size_t ex_engine_ts(const char *line, size_t n, int64_t *ns);
/* The time of a line starting "HH:MM:SS.mmm" (light-4j's logback), on the UTC day that puts it
 * nearest to near_ns; false when the line does not start so. */
bool ex_clock_ts(const char *line, size_t n, int64_t near_ns, int64_t *ns);
/* Appends s as one CSV field (quoted when it holds a comma, quote, CR or LF). */
void ex_csv_field(struct lo2_buf *b, const char *s, size_t n);

/* A sink that hashes and counts what goes through it into a file sink. */
struct ex_hsink;
int ex_hsink_open(const char *path, bool gzip, struct ex_hsink **out, struct lo2_err *err);
int ex_hsink_write(struct ex_hsink *h, const void *p, size_t n, struct lo2_err *err);
/* Commits; size and sha256 are of the bytes on disk. Frees h whatever the result. */
int ex_hsink_commit(struct ex_hsink *h, uint64_t *size, char sha256[65], struct lo2_err *err);
void ex_hsink_abort(struct ex_hsink *h);

/* The two formats. */
int ex_lo2_run(const struct ex_run *r, const char *out_dir, struct ex_out *o, struct lo2_err *err);
int ex_tables(struct ex_run *runs, size_t n, const char *out_dir, struct ex_out *o, struct lo2_err *err);
/* Streams one metric_<name>.json file (Prometheus data.result) as CSV rows
 * "<prefix>metric,labels,timestamp,value" into h; counts the samples. */
int ex_metric_rows(const char *path, const char *prefix, struct ex_hsink *h, uint64_t *samples,
                   struct lo2_err *err);

#endif
