/* faults.h - fault injection through the Engine API: the model (a kind, its targets, when it acts
 * within a test and its parameters, as lo2.yml writes them), its checks, and the actions that
 * apply a fault to one container and revert it, with every engine call and what was observed
 * (an OOM kill, a restart, the time until the container answers again) kept as ground truth. */
#ifndef LO2_FAULTS_H
#define LO2_FAULTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/str.h"

struct engine;
struct lo2_buf;
struct lo2_json;
struct lo2_jw;

enum fault_kind {
	FAULT_PAUSE,
	FAULT_STOP,
	FAULT_KILL,
	FAULT_RESTART,
	FAULT_CPU,
	FAULT_MEMORY,
	FAULT_NETWORK,
	FAULT_STRESS
};

/* The label on every helper container a fault starts: <label>=<project>. */
#define FAULT_HELPER_LABEL "lo2.fault-helper-of"
/* The helper image (tc from Debian's iproute2, stress-ng), built offline by scripts/build-images. */
#define FAULT_HELPER_IMAGE "lo2-lab/faults:latest"

/* One parameter as written, with where (for errors "FILE:LINE:COL: ..."). */
struct fault_param {
	char *key, *value;
	int line, col;
};

/* One entry of lo2.yml's `faults:` list (or of a --fault flag). */
struct fault_rule {
	enum fault_kind kind;
	struct lo2_strv targets; /* compose service names, or "all" */
	int targets_line, targets_col;
	struct fault_param *params; /* every key but kind and targets, in file order */
	size_t n_params;
	char *file; /* where the entry is written ("--fault" for a flag) */
	int line, col;
};
struct fault_rules {
	struct fault_rule *v;
	size_t n;
};

/* A time within a test: seconds, or a fraction of the test's drawn duration. */
struct fault_when {
	double value;
	bool fraction;
};

/* One fault test: a rule applied to one service. */
struct fault_spec {
	enum fault_kind kind;
	char *service;
	char *tag; /* fault_<kind>_<service> */
	struct fault_when onset, duration;
	const struct fault_rule *rule; /* its parameters as written (owned by the rules) */
	/* parameters, parsed */
	char *signal; /* kill: the signal (default KILL) */
	int timeout_s; /* stop, restart: seconds before SIGKILL */
	int64_t nano_cpus; /* cpu: CPUs allowed, in 1e-9 CPUs */
	int64_t memory; /* memory: bytes (0: memory_ratio of the working set at onset) */
	double memory_ratio;
	int64_t delay_ns, jitter_ns; /* network */
	double loss_pct, corrupt_pct;
	char *rate; /* network: tc's rate ("1mbit"), or NULL */
	char *image; /* network, stress: the helper image */
	char *stressor; /* stress: cpu, memory or io */
	int workers; /* stress: stress-ng workers */
	int64_t stress_bytes; /* stress: bytes per memory or io worker */
};
struct fault_specs {
	struct fault_spec *v;
	size_t n;
};

const char *fault_kind_name(enum fault_kind k);

/* ---- building the model ---- */
/* Starts a rule of kind (its name as written); -1 naming the kinds when unknown. */
int fault_rule_init(struct fault_rule *r, const char *kind, const char *file, int line, int col,
                    struct lo2_err *err);
/* Adds a parameter; -1 when the kind has no such parameter or the value is out of range
 * (err without the position: the caller prefixes it). */
int fault_rule_param(struct fault_rule *r, const char *key, const char *value, int line, int col,
                     struct lo2_err *err);
/* Reads a --fault flag: KIND=TARGET[+TARGET...][,KEY=VALUE...] into r. */
int fault_rule_from_flag(struct fault_rule *r, const char *text, struct lo2_err *err);
void fault_rule_free(struct fault_rule *r);
void fault_rules_free(struct fault_rules *rs);
/* A deep copy of src into *dst (a campaign gives every run its own settings). */
void fault_rules_copy(struct fault_rules *dst, const struct fault_rules *src);
/* Appends a copy of r (r is emptied: ownership moves). */
void fault_rules_take(struct fault_rules *rs, struct fault_rule *r);
/* Checks every rule against the shortest and longest test: onset + duration within it;
 * errors "FILE:LINE:COL: ...". */
int fault_rules_check(const struct fault_rules *rs, int dmin, int dmax, struct lo2_err *err);
/* One spec per (rule, target service), "all" expanded to services; an unknown service or a
 * (kind, service) given twice is an error "FILE:LINE:COL: ...". *out: free with fault_specs_free. */
int fault_specs_make(const struct fault_rules *rs, const struct lo2_strv *services, struct fault_specs *out,
                     struct lo2_err *err);
void fault_specs_free(struct fault_specs *s);
const struct fault_spec *fault_specs_find(const struct fault_specs *s, const char *tag);
/* The rules as a YAML `faults:` list that the config reader reads back to the same rules. */
void fault_rules_yaml(const struct fault_rules *rs, struct lo2_buf *b);
/* An instant of the test in ns from its start, for a test of test_s seconds. */
int64_t fault_when_ns(const struct fault_when *w, int64_t test_s);

/* ---- acting ---- */
struct fault_call {
	char *op; /* "pause", "update Memory=...", "helper tc qdisc replace ..." */
	int64_t start_ns, end_ns; /* engine clock */
	bool ok;
	char *error;
};
/* A fault on one container, from its preparation to its revert. */
struct fault_state {
	const struct fault_spec *spec;
	char *project, *container_id, *container;
	int64_t clock_offset_ns; /* the engine's clock minus lo2's */
	const atomic_bool *cancel; /* waits for the container to answer again end when it is set */
	struct engine_limits_saved {
		int64_t nano_cpus, cpu_quota, cpu_period, memory, memory_swap;
	} saved;
	bool had_restart_policy, had_healthcheck;
	int pid; /* the main process, in the engine's PID namespace */
	int64_t working_set; /* memory: bytes in use at onset */
	int64_t applied_memory, applied_quota;
	bool applied, reverted;
	bool resuming; /* a killed session's fault: its stack was stopped on purpose, nothing is started */
	int64_t onset_ns, recovery_ns; /* engine clock: the apply call and the revert call completed */
	int64_t onset_sched_ns, recovery_sched_ns; /* when they were scheduled (engine clock) */
	struct fault_call *calls;
	size_t n_calls;
	struct lo2_kvv observed; /* key -> JSON value text */
	char *revert_error; /* what is still applied after a failed revert */
	char *helper_id; /* stress: the helper running beside or inside the target */
};

/* A state for spec on container (id and name), inspected: its limits saved. */
int fault_prepare(struct engine *e, const struct fault_spec *spec, const char *project, const char *id,
                  struct fault_state **out, struct lo2_err *err);
void fault_state_free(struct fault_state *st);
/* What a resume needs to revert st (written to run.json before acting). */
void fault_state_active_json(const struct fault_state *st, struct lo2_jw *w);
/* Applies the fault now; the call is recorded either way. */
int fault_apply(struct engine *e, struct fault_state *st, struct lo2_err *err);
/* Kill and restart: polls until the container answers again by itself (a restart policy, the
 * restart), recording the time from the onset; returns then, at deadline_mono_ns, or when stop or
 * the state's cancel is set. Other kinds return at once. */
void fault_watch(struct engine *e, struct fault_state *st, const atomic_bool *stop, int64_t deadline_mono_ns);
/* Reverts it (idempotent), then observes: OOM kills, restarts, the time until the container runs
 * (and is healthy, with a healthcheck) again, within wait_ns. A failed revert names the container
 * and what is still applied. */
int fault_revert(struct engine *e, struct fault_state *st, int64_t wait_ns, struct lo2_err *err);
/* The ground truth of st as a JSON object (fault.json and the test's record). */
void fault_state_json(const struct fault_state *st, struct lo2_jw *w);
/* Reverts what an active record of fault_state_active_json says (a killed session's fault);
 * every engine call is appended to done as text. */
int fault_revert_recorded(struct engine *e, const struct lo2_json *active, struct lo2_strv *done,
                          struct lo2_err *err);
/* Removes every helper container of project (a killed session's). */
int fault_remove_helpers(struct engine *e, const char *project, struct lo2_strv *done, struct lo2_err *err);

#endif
