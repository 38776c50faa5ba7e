/* internal.h - campaign/'s private pieces: the campaign's state (runs, attempts, engines,
 * workers) shared by the scheduler (campaign.c) and the manifest (manifest.c). */
#ifndef LO2_CAMPAIGN_INTERNAL_H
#define LO2_CAMPAIGN_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "campaign/campaign.h"
#include "run/config.h"

enum crun_status { CR_PENDING, CR_RUNNING, CR_COMPLETE, CR_FAILED };

struct cattempt {
	char *engine, *dir, *status, *error;
	int64_t start_ns, end_ns;
};

struct crun {
	int k; /* 1-based */
	uint64_t seed;
	enum crun_status st;
	char *engine, *dir, *project; /* of the latest attempt; dir relative to the dataset */
	int slot; /* the worker slot of the latest attempt (its project) */
	int64_t start_ns, end_ns;
	struct cattempt *att;
	size_t n_att;
	int resume_on; /* engine index that decides resume or redo (after a kill), -1: none */
	int planned_s; /* the schedule's seconds (tests and waits) */
};

struct cengine {
	bool down;
	char *last_error;
	int complete, failed_attempts;
};

struct worker {
	struct campaign *cp;
	size_t engine;
	int slot; /* 1-based */
	pthread_t th;
	bool started;
	atomic_bool cancel; /* this worker's run: set on the campaign's cancel or a lost engine */
	atomic_bool engine_lost;
	atomic_bool in_run;
	struct engine *e;
	pthread_mutex_t elock; /* e between the watcher's pings and the worker freeing it */
	struct campaign_worker_view v; /* under cp->lock */
	int64_t test_mono, left_mono;
};

struct campaign {
	char *dir;
	struct campaign_config cc;
	struct run_config rc;
	uint64_t seed;
	char *base_project;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct crun *runs;
	int n_runs;
	struct cengine *es;
	struct worker *w;
	size_t n_w;
	const struct campaign_hooks *h;
	int64_t started_ns, ended_ns;
	char *status;
	double overhead_sum;
	int overhead_n;
	int log_fd;
};

/* campaign.json under the lock: written atomically. */
int campaign_save_locked(struct campaign *cp, struct lo2_err *err);
/* Reads campaign.json into cp (runs, engines, seed, settings of the campaign). */
int campaign_manifest_read(struct campaign *cp, struct lo2_err *err);
const char *campaign_status_name(const struct crun *r);

#endif
