/* stats.h - per-container resource metrics from the engine: one streamed stats request per
 * container of a project (told by the hub, including containers that appear, restart or are
 * recreated), every sample routed by its own read time into an interval, and each interval
 * written, once it has closed, as Prometheus-shaped files metric_lo2_container_*.json (the
 * shape and names of cAdvisor's metrics). Used by the stats collector of a run (intervals are
 * the test windows and the _between segments) and by `lo2 stats` (one interval). */
#ifndef LO2_RUN_STATS_H
#define LO2_RUN_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/str.h"

struct engine;
struct run_hub;
struct run_stats;
struct run_stats_result;

struct run_stats_opts {
	struct engine *e;
	struct run_hub *hub; /* must outlive the recorder */
	const char *project; /* the compose project label's value, for containers without one */
	int64_t (*now)(void *user); /* the engine's clock now (ns) */
	void (*warn)(void *user, const char *msg); /* run-level problems; may be NULL */
	/* Called on the recorder's thread after each interval was written (before run_stats_wait
	 * returns it); werr: its files could not be written (else NULL). May be NULL. */
	void (*written)(void *user, int n, const char *dir, const struct run_stats_result *r,
	                const struct lo2_err *werr);
	void *user;
	int64_t retry_ns; /* between reconnects of a failed stream; 0: 1 s */
	/* An interval is written 1 s after its end (samples in flight arrive); once *hurry is true
	 * (a signal), 0.2 s after. May be NULL. */
	const atomic_bool *hurry;
};

/* What an interval held, once written. */
struct run_stats_result {
	struct lo2_strv files; /* names of the files written into the interval's folder */
	struct lo2_strv errors; /* per container: failed streams, samples of a wrong shape, drops */
	char *section; /* JSON: per container samples, seconds with a sample, CPU seconds, peak memory */
	size_t containers; /* containers with at least one sample */
	uint64_t samples;
};
void run_stats_result_free(struct run_stats_result *r);

/* Subscribes to the hub: every container it knows (and Locust's) gets a stats stream. */
int run_stats_start(const struct run_stats_opts *o, struct run_stats **out, struct lo2_err *err);
/* Opens an interval at start_ns (engine clock), closing the open one there; its files go into
 * dir (made when written). Returns the interval's number for run_stats_wait. */
int run_stats_open(struct run_stats *rs, int64_t start_ns, const char *dir);
/* Closes the open interval at end_ns without opening another. */
void run_stats_close(struct run_stats *rs, int64_t end_ns);
/* Waits until interval n is written (shortly after its end has passed on the engine's clock) and
 * hands over what it held. -1 with err when its files could not be written (*out is still
 * filled). */
int run_stats_wait(struct run_stats *rs, int n, struct run_stats_result *out, struct lo2_err *err);
/* The run-level record (JSON): per container its name, service, starts and stops (so counters
 * that restart from zero can be stitched), streams opened and failed, samples after their
 * interval was written. Caller frees. */
char *run_stats_section(struct run_stats *rs);
/* Ends every stream (intervals not written by then are dropped: close and wait for the last one
 * first); the recorder stays readable (run_stats_section). NULL is a no-op. */
void run_stats_stop(struct run_stats *rs);
/* Stops (if not yet) and frees; the hub must not call it any more (stop the hub first). */
void run_stats_free(struct run_stats *rs);

/* The CPU nanoseconds between two readings of a container's counter: cur - prev, or cur when the
 * counter went down (it restarted from zero with the container: *reset), 0 without a prev. */
uint64_t run_stats_cpu_delta(uint64_t prev, bool have_prev, uint64_t cur, bool *reset);
/* A point's value as the files write it: an integer, or nanoseconds as exact seconds with no
 * trailing zeros ("2.53286517", "5"). */
void run_stats_fmt_value(uint64_t v, bool seconds, char *out, size_t sz);

#endif
