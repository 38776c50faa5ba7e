/* manifest.h - run.json, lo2's record of a run: what ran (versions, seed, schedule, images),
 * every session of the run (a --resume starts a new one), and per test its window, the drawn
 * wait and the actual gap, Locust's outcome, every file with size and checksum, the container
 * events and errors during it, and each collector's own section. Rewritten atomically after every
 * step that a resume must know about: it is the resume point. */
#ifndef LO2_RUN_MANIFEST_H
#define LO2_RUN_MANIFEST_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/str.h"
#include "run/run.h"

/* pending: not begun; running: begun (a run.json that says so was left by a killed session);
 * complete: its data is whole; incomplete: cut short (redone by --resume, its folder renamed);
 * failed: it ran its window but something named in `failure` went wrong (kept, not redone). */
enum run_test_status {
	RUN_TEST_PENDING,
	RUN_TEST_RUNNING,
	RUN_TEST_COMPLETE,
	RUN_TEST_INCOMPLETE,
	RUN_TEST_FAILED
};

struct run_file {
	char *path; /* relative to the run folder */
	uint64_t size;
	char sha256[65];
};
struct run_files {
	struct run_file *v;
	size_t n;
};

struct run_event {
	int64_t time_ns;
	char *container;
	char *action; /* die, oom, restart, health_status: unhealthy, ... */
	char *exit_code; /* for die, else NULL */
};

/* A cut-short attempt at a test, kept under <tag>.incomplete-<n>/ so it never looks like a test. */
struct run_attempt {
	char *dir; /* relative to the run folder */
	int session;
	int64_t start_ns, end_ns;
	struct run_files files;
};

struct run_test {
	char *tag;
	char *load_tag; /* Locust's tag when it differs from tag (fault tests), else NULL */
	int planned_s, wait_s;
	enum run_test_status status;
	int session; /* the session that ran it */
	int64_t start_ns, end_ns; /* engine clock */
	double
	    gap_s; /* from its end to the next test's start: the drawn wait, or more when collecting took longer */
	int locust_exit;
	bool have_counts;
	uint64_t requests, failures;
	char *locust_stopped; /* NULL, or how a Locust past its deadline was stopped */
	long locust_pid; /* the host program's process while the test runs (a resume ends it) */
	char *failure; /* why a failed test failed */
	struct run_files files;
	struct run_event *events;
	size_t n_events;
	struct lo2_strv errors; /* failures of collectors: recorded, the run went on */
	struct lo2_kvv sections; /* collector name -> JSON value text */
	struct run_attempt *attempts;
	size_t n_attempts;
	double collect_s; /* after Locust: closing the windows, fetches, checksums */
};

struct run_session_rec {
	int number;
	long pid;
	int64_t started_ns, ended_ns;
	char *how; /* running, complete, interrupted, failed, killed (found so by the next --resume) */
	uint64_t recovered_lines; /* lines recovered from the previous session's containers */
};

struct run_manifest {
	char *lo2_version, *engine_version, *engine_api, *engine_host, *host;
	uint64_t seed;
	char *project, *compose_file, *compose_sha256;
	struct lo2_kvv images; /* container name -> image ID */
	int64_t started_ns, ended_ns;
	double deploy_s; /* deploy of the last session */
	double ready_s; /* health, MySQL, init SQL, collectors ready */
	char *status; /* running, complete, interrupted, failed */
	struct run_session_rec *sessions;
	size_t n_sessions;
	struct lo2_strv warnings;
	struct lo2_kvv sections; /* run-level collector sections: name -> JSON value text */
	struct run_files files; /* run-level files (_between segments) */
	struct run_test *tests;
	size_t n_tests;
};

/* A manifest with a pending test per entry of the schedule. */
void run_manifest_init(struct run_manifest *m, const struct run_schedule *s);
void run_manifest_free(struct run_manifest *m);
/* Forgets what a test recorded (files, events, errors, sections, window), keeping tag, plan and
 * earlier attempts. */
void run_test_reset(struct run_test *t);
/* Records a file (path relative to root) with its size and checksum. */
int run_files_add(struct run_files *fs, const char *root, const char *rel, struct lo2_err *err);
void run_files_free(struct run_files *fs);
/* Records a file of a test (path relative to root), with its size and checksum. */
int run_manifest_add_file(struct run_test *t, const char *root, const char *rel, struct lo2_err *err);
void run_manifest_add_event(struct run_test *t, int64_t time_ns, const char *container, const char *action,
                            const char *exit_code);
/* Appends a session record (number = previous + 1) and returns it. */
struct run_session_rec *run_manifest_add_session(struct run_manifest *m, int64_t started_ns);
/* Writes path atomically (4-space indented JSON). */
int run_manifest_write(const struct run_manifest *m, const char *path, struct lo2_err *err);
/* Reads a manifest written by run_manifest_write (for --resume, summary and export). */
int run_manifest_read(const char *path, struct run_manifest *m, struct lo2_err *err);
const char *run_test_status_name(enum run_test_status s);
/* The test's Locust tag (load_tag, else tag). */
const char *run_test_load_tag(const struct run_test *t);

#endif
