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

/* The label of lo2's Locust containers: <label>=<project>. */
#define RUN_LOCUST_LABEL "lo2.locust-of"

/* Records every finished file under <run>/<rel> (recursively) into fs as "<rel>/...", with its
 * size and checksum (temporary files of sinks still open are not files yet). */
int run_session_record_dir(struct run_session *s, struct run_files *fs, const char *rel, struct lo2_err *err);
bool run_session_cancelled_now(const struct run_session *s);

/* ---- the system under test (stack.c) ---- */
/* Loads and plans the compose file (pinning image digests on a --resume with --pin-digests),
 * with vars (may be NULL) over the environment; final: its warnings are said. */
int run_stack_load(struct run_session *s, const struct lo2_kvv *vars, bool final, struct lo2_err *err);
/* Each collector's variables for the compose file (collector.h, vars); the file read again
 * with them when there are any. */
int run_collectors_vars(struct run_session *s, struct lo2_err *err);
/* Deploys (force-recreate; unrotated logs); records each service's image in run.json. */
int run_stack_deploy(struct run_session *s, struct lo2_err *err);
/* Health, MySQL and its init SQL, then each collector's own readiness, within ready.timeout. */
int run_stack_ready(struct run_session *s, struct lo2_err *err);
/* Stops the project's containers in parallel (timeout_s < 0: each one's StopTimeout). */
void run_stack_stop(struct run_session *s, int timeout_s);
/* Removes Locust containers of this project a killed lo2 left behind. */
void run_stack_remove_locust(struct run_session *s);

/* ---- resume (resume.c) ---- */
/* Moves a cut-short test's folder aside (<tag>.incomplete-<n>), records it as an attempt of
 * session with its files; the test is pending again (lock held). */
int run_test_set_aside(struct run_session *s, struct run_test *t, int session, struct lo2_err *err);
/* Before anything is deployed on --resume: the killed session's leftovers set aside, its
 * containers stopped, each collector's resume (recovery, reverts), attempts recorded. */
int run_resume_prepare(struct run_session *s, struct lo2_err *err);

#endif
