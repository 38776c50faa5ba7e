/* summary.h - what a run folder holds, per test: Locust's counts, log lines per container,
 * metric files and trace rows, CPU seconds and peak memory per container; read from run.json and the files (for `lo2 summary`). */
#ifndef LO2_RUN_SUMMARY_H
#define LO2_RUN_SUMMARY_H

#include <stdint.h>

#include "common/err.h"
#include "common/str.h"

/* A container's engine stats in one test (the stats collector's section). */
struct run_summary_stats {
	char *container;
	double cpu_s; /* CPU seconds used in the window */
	uint64_t peak_bytes; /* peak working set */
	uint64_t samples, seconds; /* samples, and seconds with one */
};

struct run_summary_test {
	char *tag, *status;
	double seconds;
	uint64_t requests, failures;
	uint64_t log_lines, metric_files, trace_rows;
	int log_files;
	struct run_summary_stats *stats;
	size_t n_stats;
	double window_s; /* the stats section's window length */
};

struct run_summary {
	struct run_summary_test *tests;
	size_t n;
	struct lo2_kvv container_lines; /* container -> lines over all tests and _between, decimal */
	uint64_t between_lines; /* in _between/ segments */
	uint64_t incomplete_lines; /* in the folders of tests cut short (<tag>.incomplete-<n>/) */
	int bad_checksums; /* files whose size or sha256 no longer match run.json */
};

int run_summary_read(const char *run_dir, struct run_summary *out, struct lo2_err *err);
void run_summary_free(struct run_summary *s);

#endif
