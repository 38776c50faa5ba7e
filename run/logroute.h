/* logroute.h - logs in one pass: follow every container of a project once, with timestamps,
 * and route each line by its timestamp into the open window's <dir>/<container>.log.gz, or
 * into <between>/<container>.log.gz when no window holds it, so nothing is lost or repeated. */
#ifndef LO2_RUN_LOGROUTE_H
#define LO2_RUN_LOGROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/str.h"

struct engine;
struct run_logroute;

struct run_logroute_opts {
	const struct lo2_strv *filters; /* which containers (e.g. "label=com.docker.compose.project=p") */
	const char *between_dir; /* lines outside every window */
	bool keep_timestamps; /* keep the engine's "<RFC 3339 ns> " prefix on each line */
	bool compress; /* .log.gz (default) or .log */
	int64_t since_ns; /* first instant to collect (0: from each container's start) */
};

/* Starts following (a thread per container, plus one that picks up containers that appear or
 * restart later). The engine must outlive the router. */
int run_logroute_start(struct engine *e, const struct run_logroute_opts *o, struct run_logroute **out,
                       struct lo2_err *err);
/* Opens the window [start_ns, ...): lines at or after start_ns go to dir from now on. */
int run_logroute_open(struct run_logroute *r, const char *dir, int64_t start_ns, struct lo2_err *err);
/* Closes the window at end_ns (exclusive): waits until every stream has passed end_ns (or the
 * engine's clock has, for quiet containers, plus a grace period), then completes the window's
 * files. Returns the number of lines written to the window in *lines (may be NULL). */
int run_logroute_close(struct run_logroute *r, int64_t end_ns, uint64_t *lines, struct lo2_err *err);
/* Stops following at an instant: waits until every stream has passed it (as close does), drops
 * later lines, completes the between files and frees the router. *until_ns (may be NULL) gets
 * that instant (engine clock): every line before it was routed. Reports the first stream error
 * that could not be recovered, if any. */
int run_logroute_stop(struct run_logroute *r, int64_t *until_ns, struct lo2_err *err);

#endif
