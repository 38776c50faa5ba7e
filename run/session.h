/* session.h - run/'s own view of a session of a run (one lo2 process working on a run folder:
 * the first, or one --resume): what the driver and the session calls of collector.h share. Not
 * for other modules. */
#ifndef LO2_RUN_SESSION_H
#define LO2_RUN_SESSION_H

#include <pthread.h>
#include <stdatomic.h>

#include "run/collector.h"
#include "run/driver.h"
#include "run/manifest.h"

struct run_session {
	struct engine *e;
	const struct run_config *c;
	const struct run_hooks *h;
	char *dir;
	int log_fd;
	pthread_mutex_t lock; /* m (the manifest and every record in it) and the log file */
	struct run_manifest m;
	char *manifest_path;
	size_t rec; /* this session's record in m.sessions */
	struct compose_project *proj;
	int64_t offset_ns; /* engine clock - lo2's */
	int64_t since_ns; /* engine clock */
	struct run_hub *hub;
	struct run_collector **cols;
	size_t n_cols;
};

/* Writes run.json with the lock held by the caller. */
int run_session_save_locked(struct run_session *s, struct lo2_err *err);

/* The collectors of run/collectors.c that apply to this run, made in table order. */
int run_collectors_make(struct run_session *s, struct lo2_err *err);

#endif
