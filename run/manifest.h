/* manifest.h - run.json, lo2's record of a run: what ran (versions, seed, schedule, images),
 * and per test its window, Locust's result, every file with size and checksum, and the
 * container events during it. Rewritten atomically after every test: it is the resume point. */
#ifndef LO2_RUN_MANIFEST_H
#define LO2_RUN_MANIFEST_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/str.h"
#include "run/run.h"

enum run_test_status { RUN_TEST_PENDING, RUN_TEST_RUNNING, RUN_TEST_COMPLETE, RUN_TEST_INCOMPLETE };

struct run_file {
	char *path; /* relative to the run folder */
	uint64_t size;
	char sha256[65];
};

struct run_event {
	int64_t time_ns;
	char *container;
	char *action; /* die, oom, restart, health_status: unhealthy, ... */
	char *exit_code; /* for die, else NULL */
};

struct run_test {
	char *tag;
	int planned_s, wait_s;
	enum run_test_status status;
	int64_t start_ns, end_ns;
	int locust_exit;
	bool have_counts;
	uint64_t requests, failures;
	struct run_file *files;
	size_t n_files;
	struct run_event *events;
	size_t n_events;
	struct lo2_strv errors; /* fetch failures recorded, the run went on */
	double collect_s; /* after Locust: closing the logs, fetching metrics and traces, checksums */
};

struct run_manifest {
	char *lo2_version, *engine_version, *engine_api, *engine_host, *host;
	uint64_t seed;
	char *project, *compose_file, *compose_sha256;
	struct lo2_kvv images; /* container name -> image ID */
	int64_t started_ns, ended_ns;
	int64_t logs_until_ns; /* every container line before it is in the run's log files */
	double deploy_s; /* deploy, MySQL readiness and init SQL */
	char *status; /* running, complete, interrupted, failed */
	struct run_test *tests;
	size_t n_tests;
};

/* A manifest with a pending test per entry of the schedule. */
void run_manifest_init(struct run_manifest *m, const struct run_schedule *s);
void run_manifest_free(struct run_manifest *m);
/* Forgets what a test recorded (files, events, errors, window), keeping tag and plan. */
void run_test_reset(struct run_test *t);
/* Records a file of a test (path relative to root), with its size and checksum. */
int run_manifest_add_file(struct run_test *t, const char *root, const char *rel, struct lo2_err *err);
void run_manifest_add_event(struct run_test *t, int64_t time_ns, const char *container, const char *action,
                            const char *exit_code);
/* Writes path atomically (4-space indented JSON). */
int run_manifest_write(const struct run_manifest *m, const char *path, struct lo2_err *err);
/* Reads a manifest written by run_manifest_write (for --resume). */
int run_manifest_read(const char *path, struct run_manifest *m, struct lo2_err *err);
const char *run_test_status_name(enum run_test_status s);

#endif
