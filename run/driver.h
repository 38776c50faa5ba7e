/* driver.h - `lo2 run`: the whole LO2 collection as one call: deploy, ready (health, MySQL
 * and its init SQL, the collectors' sources), then per test Locust with every collector hooked to
 * the test's window (logs, events, metrics, traces ...), the manifest after every step that a
 * resume needs; teardown at the end. */
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
	/* The run's folder and the compose project, once known (for what a user is told); may be NULL. */
	void (*started)(void *user, const char *dir, const char *project);
	void *user;
	/* JSON text recorded as run.json's "campaign" section (the engine and the campaign's run
	 * index and seed), or NULL. */
	const char *campaign_json;
	/* When it becomes true (a signal), the phase under way stops within about a second, an
	 * interrupted test is set aside, the stack is torn down and the run ends "interrupted". */
	const atomic_bool *cancel;
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
