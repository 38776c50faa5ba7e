/* export.h - lo2 run folders to the layouts other tools read: the LO2 dataset layout (what
 * LogLead's LO2Loader reads: plain <container>.log files, locust.log and metrics/ per complete
 * test, run_log.log) and gzip CSV tables per modality for pandas/polars. Runs are read through
 * their run.json; nothing in them is changed. */
#ifndef LO2_EXPORT_H
#define LO2_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum export_format { EXPORT_LO2, EXPORT_TABLES };

struct export_opts {
	const char *const *runs; /* run folders (each holds a run.json) */
	size_t n_runs;
	const char *out_dir; /* made when missing; must not hold what the export writes */
	enum export_format format;
};

/* What an export did (counts over every run). */
struct export_stats {
	size_t runs, tests, skipped_tests;
	size_t files_linked, files_written;
	uint64_t bytes_linked, bytes_written;
	uint64_t log_lines, metric_samples, trace_spans, events; /* rows of the tables */
	char *manifest; /* where the export's manifest was written (caller frees via export_stats_free) */
};

/* Parses "lo2" or "tables"; -1 with an error naming the text otherwise. */
int export_format_parse(const char *s, enum export_format *f, struct lo2_err *err);
/* The export's manifest path for out_dir: beside it, "<out_dir>.lo2-export.json" (caller frees). */
char *export_manifest_path(const char *out_dir);
/* Exports every run of o into o->out_dir and writes the manifest beside it. With EXPORT_LO2 each
 * run becomes <out_dir>/LO2_run_<unix>/ (the run folder's own name when it is one), complete
 * tests only, files hard-linked where they need no change; the folder appears under its name
 * only when complete. With EXPORT_TABLES: logs.csv.gz, metrics.csv.gz, and traces.csv.gz,
 * events.csv.gz when the runs have any. */
int export_runs(const struct export_opts *o, struct export_stats *st, struct lo2_err *err);
void export_stats_free(struct export_stats *st);

#endif
