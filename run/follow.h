/* follow.h - one container's log, followed exactly: lines reassembled from the engine's
 * timestamped messages (a line over 16 KiB comes in several), a follow stream that ends while the
 * container runs resumed from its position, a container that exits and is started again followed
 * across every restart, and every message the engine sends again after a reconnect dropped and
 * counted, so no line is lost or written twice.
 *
 * Positions: the engine's since= is inclusive and messages may share a nanosecond, so a position
 * is (timestamp of the newest message taken, how many messages with that timestamp were taken).
 * Resuming from a position asks since=<timestamp> and drops what is at or before it. */
#ifndef LO2_RUN_FOLLOW_H
#define LO2_RUN_FOLLOW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct engine;
struct engine_container_info;
struct run_hub;
struct run_follow;

struct run_follow_pos {
	int64_t ts; /* engine clock; 0: nothing taken yet */
	uint32_t count; /* messages taken at ts */
};

struct run_follow_line {
	const char *data; /* the line, with its '\n' when it had one */
	size_t len;
	int64_t ts; /* timestamp of its first message: where the line belongs */
	const char *ts_text; /* that timestamp as the engine wrote it (RFC 3339, 9 digits) */
	int stream; /* ENGINE_STDOUT or ENGINE_STDERR */
	struct run_follow_pos end; /* the position after its last message */
};
/* Receives each complete line, in the container's order; -1 (err set) stops the follow. */
typedef int (*run_follow_line_fn)(void *user, const struct run_follow_line *l, struct lo2_err *err);

struct run_follow_stats {
	uint64_t lines, bytes;
	uint64_t replayed; /* messages the engine sent again after a reconnect, dropped */
	uint64_t resumed; /* streams that ended while the container ran, resumed */
	uint64_t restarts; /* times the container was followed again after it had stopped */
	struct run_follow_pos pos; /* the newest message taken */
};
enum run_follow_restarts {
	RUN_FOLLOW_ALWAYS, /* the container may be started again at any time (a run) */
	RUN_FOLLOW_WHILE_RESTARTING, /* end when it stops, unless the engine is restarting it */
};

struct run_follow_opts {
	const char *id; /* container ID (or name) */
	const char *name; /* what messages call it */
	struct run_follow_pos from; /* resume after this position; from.ts 0: from since_ns */
	int64_t since_ns; /* engine clock; 0: the whole log */
	int64_t until_ns; /* engine clock, exclusive; 0: none (follow) */
	bool follow; /* false: read what is there (up to until_ns) and end */
	enum run_follow_restarts restarts;
	struct run_hub *hub; /* tells about restarts without polling; NULL: inspect only */
	run_follow_line_fn fn;
	void *user;
	/* Called once on the follower's thread with the container's inspect, before any line
	 * (the log driver and its options, for a rotation warning); may be NULL. */
	void (*on_info)(void *user, const struct engine_container_info *ci);
	struct run_follow_stats *stats; /* run_follow_run: filled at the end; may be NULL */
};

/* Follows on a thread of its own until the container is gone (or stopped, see restarts), or
 * run_follow_stop. The engine (and hub) must outlive it. */
int run_follow_start(struct engine *e, const struct run_follow_opts *o, struct run_follow **out,
                     struct lo2_err *err);
/* The same on the caller's thread (lo2 logs, and recovery after a kill): returns when done;
 * stop (may be NULL) ends it early. */
int run_follow_run(struct engine *e, const struct run_follow_opts *o, const atomic_bool *stop,
                   struct lo2_err *err);

/* True when no line with a timestamp before t_ns can still come from this follower: it took a
 * message at or after t_ns, or its container is not running and everything was read, or its
 * stream has been silent for grace_ns and engine_now_ns >= t_ns + grace_ns. */
bool run_follow_passed(struct run_follow *f, int64_t t_ns, int64_t engine_now_ns, int64_t grace_ns);
/* True when the follower ended (container gone, or stopped). */
bool run_follow_done(struct run_follow *f);

void run_follow_stats(struct run_follow *f, struct run_follow_stats *out);
/* The first error that ended the follower, if any (empty message otherwise). */
void run_follow_error(struct run_follow *f, struct lo2_err *out);
/* Asks the follower to end, without waiting (run_follow_stop then returns sooner). */
void run_follow_cancel(struct run_follow *f);
/* Asks the follower to end and waits for it; then frees it. Lines not yet complete are given as
 * they are. *last (may be NULL) gets its final counters. */
void run_follow_stop(struct run_follow *f, struct run_follow_stats *last);

#endif
