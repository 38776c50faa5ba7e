/* collector.h - what a collector of `lo2 run` is and what the run offers it. The run is a
 * timeline (deploy, ready, then per test begin -> Locust -> end, teardown); collectors hook into
 * it through one table of operations and never change the driver's loop: a new collector is a
 * new file plus one line in run/collectors.c.
 *
 * Timeline, as every collector sees it (all times on the engine's clock, ns since the epoch):
 *   make(session)      constructor (NULL: not configured, e.g. no Prometheus URL)
 *   vars(vars)         variables for the compose file's interpolation (the file is read again)
 *   resume(prior)      --resume only, before anything is deployed: repair what the killed
 *                      session left (recover lines, revert faults); prior = its run.json section
 *   start()            before deploy: streams that must see the deploy (logs, events) begin here
 *   ready(deadline)    after deploy: wait until the source measures the system (targets scraped)
 *   test_begin(w)      the window [w->start_ns, ...) opens
 *   test_end(w)        the window closed at w->end_ns; returns at once
 *   test_finish(w)     on a finishing thread, in parallel with the other collectors and with the
 *                      wait after the test: complete the window's data under w->dir. The next
 *                      test begins only when every collector finished (or after the drawn wait,
 *                      whichever is later). w->interrupted: the test was cut short by a signal;
 *                      keep what streamed in, skip slow pull queries.
 *   stop()             teardown: stop following; final records into the run's section
 *   destroy()          free
 * Any operation may be NULL. Failures of a window go into the test's record
 * (run_window_error), never only to a warning; a failure returned by start/ready/stop ends the
 * run with that error. Streams that never stop (logs, stats, spans, events) route by their own
 * timestamps into the open window or into _between/; pull sources query the window after it
 * closes. */
#ifndef LO2_RUN_COLLECTOR_H
#define LO2_RUN_COLLECTOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/str.h"

struct engine;
struct compose_project;
struct lo2_json;
struct run_config;
struct run_hub;
struct run_session;
struct run_test;

/* A test window as collectors see it. The session owns it; it lives from test_begin until the
 * test's record is final (after every test_finish returned). */
struct run_window {
	size_t index; /* the test's position in the schedule */
	const char *tag; /* the test's name (its folder), e.g. "correct" or "fault_pause_writer"; a
	                  * collector that acts in some tests (faults) knows them by it */
	const char *load_tag; /* the Locust tag the load runs with ("correct" for fault tests) */
	const char *dir; /* <run>/<tag>, made before test_begin */
	int64_t start_ns; /* engine clock, inclusive */
	int64_t end_ns; /* engine clock, exclusive; INT64_MAX while the window is open */
	int64_t planned_s; /* the drawn duration */
	bool interrupted; /* set before test_end when a signal cut the test short */
	struct run_test *test; /* the record; only through the run_window_* calls below */
	struct run_session *session;
};

struct run_collector;
struct run_collector_ops {
	const char *name; /* also the key of its sections in run.json */
	int (*resume)(struct run_collector *c, const struct lo2_json *prior, struct lo2_err *err);
	/* Variables the compose file may use (LO2_OTLP_ENDPOINT, say), set into vars; the file is
	 * read again with them before anything is deployed. */
	int (*vars)(struct run_collector *c, struct lo2_kvv *vars, struct lo2_err *err);
	int (*start)(struct run_collector *c, struct lo2_err *err);
	int (*ready)(struct run_collector *c, int64_t deadline_mono_ns, struct lo2_err *err);
	int (*test_begin)(struct run_collector *c, struct run_window *w, struct lo2_err *err);
	int (*test_end)(struct run_collector *c, struct run_window *w, struct lo2_err *err);
	int (*test_finish)(struct run_collector *c, struct run_window *w, struct lo2_err *err);
	int (*stop)(struct run_collector *c, struct lo2_err *err);
	void (*destroy)(struct run_collector *c);
};
/* Implementations embed this as their first member. */
struct run_collector {
	const struct run_collector_ops *ops;
	struct run_session *s;
};

/* One entry of run/collectors.c: returns 0 with *out NULL when the collector does not apply. */
typedef int (*run_collector_make_fn)(struct run_session *s, struct run_collector **out, struct lo2_err *err);

/* ---- what the session offers (thread-safe unless noted) ---- */
struct engine *run_session_engine(const struct run_session *s);
const struct run_config *run_session_config(const struct run_session *s);
const char *run_session_dir(const struct run_session *s); /* the run folder */
const char *run_session_project(const struct run_session *s); /* compose project name */
/* Number of this session within the run: 1 for the first, 2 after the first --resume, ... */
int run_session_number(const struct run_session *s);
/* When this session started collecting (engine clock). */
int64_t run_session_since_ns(const struct run_session *s);
/* The engine's clock now (lo2's clock plus the offset measured at the session's start). */
int64_t run_session_engine_now(const struct run_session *s);
/* lo2's clock minus the engine's offset: an engine time as lo2's. */
int64_t run_session_to_local(const struct run_session *s, int64_t engine_ns);
const atomic_bool *run_session_cancel(const struct run_session *s);
bool run_session_cancelled(const struct run_session *s);
/* The container event hub (one engine events subscription for the whole run). */
struct run_hub *run_session_hub(const struct run_session *s);
/* A line in run_log.log ("<unix> <message>") and to the user's log hook. */
void run_session_say(struct run_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A warning: said, and kept in run.json's run-level warnings. */
void run_session_warn(struct run_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the collector's run-level section of run.json to the JSON value text (a copy is kept;
 * it replaces the previous one) and, with save, writes run.json now (before acting on
 * something a resume must know about, such as a fault). */
int run_session_section(struct run_session *s, const char *name, const char *json, bool save,
                        struct lo2_err *err);
/* Records a run-level file (path relative to the run folder: a committed _between segment)
 * with its size and checksum; written to run.json at the next save. */
int run_session_add_file(struct run_session *s, const char *rel, struct lo2_err *err);
/* Records every file under <run>/<rel> as a run-level file (run_session_add_file for each). */
int run_session_add_dir(struct run_session *s, const char *rel, struct lo2_err *err);
/* Counts lines recovered from the previous session's containers into this session's record. */
void run_session_recovered(struct run_session *s, uint64_t lines);
/* Writes run.json now. */
int run_session_save(struct run_session *s, struct lo2_err *err);
/* The compose project (read before the collectors are made, and read again after their vars:
 * keep no pointer into it from before start). */
const struct compose_project *run_session_compose(const struct run_session *s);
/* The tests of the schedule, for collectors that look across them (read-only). */
size_t run_session_n_tests(const struct run_session *s);
const struct run_test *run_session_test(const struct run_session *s, size_t i);

/* ---- a window's record in run.json ---- */
/* An error of this test ("<collector>: <message>"); the test stays complete unless failing. */
void run_window_error(struct run_window *w, const char *collector, const struct lo2_err *err);
/* Each of msgs as an error of this test ("<collector>: <message>"). */
void run_window_errors(struct run_window *w, const char *collector, const struct lo2_strv *msgs);
/* The collector's section of this test's record (JSON value text; replaces the previous one). */
void run_window_section(struct run_window *w, const char *name, const char *json);
/* A container event that happened inside the window. */
void run_window_event(struct run_window *w, int64_t time_ns, const char *container, const char *action,
                      const char *exit_code);
/* Marks the test failed with a reason (a hung load generator, a fault that could not be
 * reverted); the run goes on. */
void run_window_fail(struct run_window *w, const char *reason);

#endif
