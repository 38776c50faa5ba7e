/* driver.h - `lo2 run`: the whole LO2 collection as one call: deploy, MySQL readiness and
 * init, then per test Locust, the test's logs (one pass, routed by timestamp), metrics and
 * traces into <tag>/, the manifest after every test; teardown at the end. */
#ifndef LO2_RUN_DRIVER_H
#define LO2_RUN_DRIVER_H

#include <stdatomic.h>
#include <stdbool.h>

#include "common/err.h"
#include "run/config.h"
#include "run/run.h"

struct engine;

struct run_hooks {
	/* Every run_log.log line as written ("<unix> <message>"); may be NULL. */
	void (*log)(void *user, const char *line);
	/* Progress: test k of n (1-based) starts now, with its tag, planned seconds, and the planned
	 * seconds of the rest of the run from here (tests and waits); may be NULL. */
	void (*progress)(void *user, size_t k, size_t n, const char *tag, int planned_s, int run_left_s);
	void *user;
	const atomic_bool *cancel; /* SIGINT/SIGTERM: stop the test, mark it incomplete, tear down */
};

/* The tags of the configuration (discovered, then restricted to c->tags; an unknown requested
 * tag is an error) and the schedule for seed. */
int run_plan(const struct run_config *c, uint64_t seed, struct run_schedule *out, struct lo2_err *err);
/* One run into a new folder (c->output, or <output_root>/LO2_run_<unix>); *out_dir gets it
 * (caller frees). resume_dir non-NULL: continue that run with its seed and schedule, redoing
 * incomplete tests from scratch. */
int run_execute(struct engine *e, const struct run_config *c, const char *resume_dir,
                const struct run_hooks *h, char **out_dir, struct lo2_err *err);

#endif
