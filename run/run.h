/* run.h - the experiment driver's building blocks: Locust tag discovery and the seeded
 * schedule (shuffled tags, a duration and a wait per test) that makes runs reproducible. */
#ifndef LO2_RUN_H
#define LO2_RUN_H

#include <stdint.h>

#include "common/err.h"
#include "common/str.h"

/* Finds the tags in Python source text: for every `@tag(` decorator whose first argument is
 * the string 'error' (either quote style, arguments may span lines), its last string argument.
 * Appends new ones to tags (no duplicates). file names the source in errors; a tag that is not
 * a safe folder name is an error "FILE:LINE: ...". */
int run_tags_from_source(const char *text, const char *file, struct lo2_strv *tags, struct lo2_err *err);
/* Scans every *.py file under dir (recursively), returns "correct" plus every tag found,
 * sorted bytewise (caller frees with lo2_strv_free). */
int run_tags_discover(const char *dir, struct lo2_strv *tags, struct lo2_err *err);

struct run_test_plan {
	char *tag; /* the test's name and folder */
	char
	    *load_tag; /* the Locust tag of its load when it differs (fault tests run "correct"), else NULL */
	int duration_s;
	int wait_s;
};
struct run_schedule {
	uint64_t seed;
	struct run_test_plan *tests;
	size_t n;
};
/* The schedule for the tags: sorted, then shuffled (Fisher-Yates), then per test a duration in
 * [dmin, dmax] and a wait in [wmin, wmax] (inclusive), all drawn from xoshiro256** seeded by
 * splitmix64(seed). The same seed and tags give the same schedule on any machine. */
void run_schedule_make(const struct lo2_strv *tags, uint64_t seed, int dmin, int dmax, int wmin, int wmax,
                       struct run_schedule *out);
void run_schedule_free(struct run_schedule *s);
struct run_config;
struct fault_specs;
/* The fault tests of the settings (faults/faults.h): the compose file's services read, every
 * rule expanded to one spec per target service, the helper image set. Errors name the place in
 * lo2.yml. *out: free with fault_specs_free. */
int run_fault_specs(const struct run_config *c, struct fault_specs *out, struct lo2_err *err);
/* A seed from the kernel's random source. */
uint64_t run_seed_random(void);

#endif
