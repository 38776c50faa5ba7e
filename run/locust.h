/* locust.h - running one Locust test: as a container made through the engine (the default:
 * a host with only dockerd needs nothing else) or as a host process (posix_spawn, no shell),
 * with its log and stats written into the test's folder. */
#ifndef LO2_RUN_LOCUST_H
#define LO2_RUN_LOCUST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/str.h"

struct engine;

struct run_locust_opts {
	const char *locust_dir; /* host folder with the locustfiles */
	const char *main_file; /* relative to locust_dir, e.g. "locust_main.py" */
	const char *host_url; /* -H, e.g. "http://oauth2-token:6882" */
	int users, spawn_rate;
	const struct lo2_strv *extra_args;
	const char *tag; /* "correct" runs --tags correct; any other: --tags correct <tag> */
	int run_time_s;
	const char *out_dir; /* locust.log and locust_stats.csv go here */
	/* container mode (image set): */
	const char *image;
	const char *network; /* the project's network, so services resolve by name */
	const struct lo2_strv *entrypoint; /* NULL: the image's (locust) */
	const struct lo2_kvv *labels;
	/* host mode (command set): the locust executable, looked up in PATH */
	const char *command;
	const atomic_bool *cancel; /* run_locust only: stops the test early */
};

struct run_locust_result {
	int exit_code; /* Locust exits 1 when requests failed: expected for error tags */
	int64_t start_ns, end_ns;
	bool have_counts;
	uint64_t requests, failures; /* the Aggregated row of locust_stats.csv */
	bool cancelled; /* stopped by the caller (a signal) */
	/* Past its deadline (run time + grace) it was stopped: "SIGINT", "SIGTERM" or "SIGKILL",
	 * the signal that ended it; NULL when it ended by itself. Static string. */
	const char *stopped_past_deadline;
};

/* Locust's argument list for o (container paths when in_container); caller frees. */
void run_locust_args(const struct run_locust_opts *o, bool in_container, struct lo2_strv *args);

/* ---- Locust as a handle: start, poll, stop ---- */
struct run_locust;
/* Starts the test (e may be NULL in host mode). The deadline is run time + grace_s from now;
 * escalate_s is the time between the signals sent past it (SIGINT, SIGTERM, then a kill). */
int run_locust_start(struct engine *e, const struct run_locust_opts *o, int grace_s, int escalate_s,
                     struct run_locust **out, struct lo2_err *err);
/* The host program's process ID (0 for a container). */
long run_locust_pid(const struct run_locust *l);
/* True once Locust has ended. Past the deadline, sends the next signal when due. */
bool run_locust_poll(struct run_locust *l);
/* Stops it now (a signal to the run): SIGINT, and a kill if it has not ended after grace_ms. */
void run_locust_cancel(struct run_locust *l, int grace_ms);
/* Waits for the end, reads the stats, removes the container, frees l; res filled either way. */
int run_locust_finish(struct run_locust *l, struct run_locust_result *res, struct lo2_err *err);
/* Start, poll until the end, finish (o->cancel stops it early). */
int run_locust(struct engine *e, const struct run_locust_opts *o, struct run_locust_result *res,
               struct lo2_err *err);
/* Reads the request and failure counts of the Aggregated row of a locust_stats.csv. */
int run_locust_stats(const char *csv_path, uint64_t *requests, uint64_t *failures, struct lo2_err *err);

#endif
