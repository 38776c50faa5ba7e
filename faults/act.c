/* act.c - a fault on one container through the Engine API: prepared (its limits saved), applied,
 * reverted, observed. Every engine call is recorded with its instants (engine clock) and result;
 * a revert is idempotent, and one that fails says what is still applied. Network faults run a
 * short-lived helper (tc from Debian's iproute2) in the target's network namespace. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/time.h"
#include "engine/engine.h"
#include "faults/faults.h"

#define MIN_MEMORY (6 * 1024 * 1024)
#define CPU_PERIOD 100000 /* us: the CFS period a cpu fault's quota is a share of */
#define POLL_NS (50 * 1000 * 1000)

static int64_t engine_now(const struct fault_state *st)
{
	return lo2_now_ns() + st->clock_offset_ns;
}

/* ---- the record of engine calls ---- */

static struct fault_call *call_begin(struct fault_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct fault_call *call_begin(struct fault_state *st, const char *fmt, ...)
{
	struct fault_call *c;
	va_list ap;

	st->calls = xrealloc(st->calls, (st->n_calls + 1) * sizeof(*st->calls));
	c = &st->calls[st->n_calls++];
	memset(c, 0, sizeof(*c));
	va_start(ap, fmt);
	c->op = xvasprintf(fmt, ap);
	va_end(ap);
	c->start_ns = engine_now(st);
	return c;
}

/* Closes the last call with rc (its error from err). */
static int call_end(struct fault_state *st, int rc, const struct lo2_err *err)
{
	struct fault_call *c = &st->calls[st->n_calls - 1];

	c->end_ns = engine_now(st);
	c->ok = rc == 0;
	if (rc < 0)
		c->error = xstrdup(err->msg);
	return rc;
}

static void observe_int(struct fault_state *st, const char *key, int64_t v)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRId64, v);
	lo2_kvv_set(&st->observed, key, num);
}

static void observe_str(struct fault_state *st, const char *key, const char *v)
{
	struct lo2_jw *w = lo2_jw_new(NULL);
	lo2_autofree char *text = NULL;

	lo2_jw_str(w, v);
	text = lo2_jw_finish(w, NULL);
	lo2_kvv_set(&st->observed, key, text);
}

/* ---- helper containers ---- */

struct capture {
	struct lo2_buf b;
};

static int capture_fn(void *user, int stream, const char *p, size_t n, bool fs, bool fe, struct lo2_err *err)
{
	struct capture *c = user;

	if (c->b.len + n < 16 * 1024)
		lo2_buf_append(&c->b, p, n);
	return 0;
}

/* How a helper joins: its network and PID modes and the capability it needs. */
struct helper_mode {
	const char *network_mode, *pid_mode, *cap;
};

/* Runs script in a helper container (in the target's network namespace with NET_ADMIN unless
 * mode says otherwise); its output (capped) into *out. The helper is removed whatever happened. */
static int helper_run(struct engine *e, struct fault_state *st, const char *image, const char *script,
                      const struct helper_mode *mode, char **out, struct lo2_err *err)
{
	struct engine_container_spec spec = {0};
	struct capture cap = {LO2_BUF_INIT};
	struct engine_logs_opts lo = {0};
	lo2_autofree char *id = NULL;
	int64_t code = -1;
	int ret = -1;

	spec.image = xstrdup(image);
	spec.cmd_set = true;
	lo2_strv_push(&spec.cmd, "sh");
	lo2_strv_push(&spec.cmd, "-c");
	lo2_strv_push(&spec.cmd, script);
	spec.entrypoint_set = true;
	spec.network_mode = mode ? xstrdup(mode->network_mode) : xasprintf("container:%s", st->container_id);
	spec.pid_mode = mode ? xstrdup(mode->pid_mode) : NULL;
	lo2_strv_push(&spec.cap_add, mode ? mode->cap : "NET_ADMIN");
	lo2_kvv_set(&spec.labels, FAULT_HELPER_LABEL, st->project);
	spec.stop_timeout = -1;
	if (engine_container_create(e, &spec, &id, err) < 0 || engine_container_start(e, id, err) < 0 ||
	    engine_container_wait(e, id, "not-running", NULL, &code, err) < 0)
		goto out;
	engine_container_logs(e, id, &lo, capture_fn, &cap, NULL);
	if (code != 0) {
		lo2_buf_append(&cap.b, "", 1);
		lo2_err_set(err, LO2_E_GENERIC, "the helper (%s) exited %" PRId64 ": %s", image, code,
		            cap.b.data ? cap.b.data : "");
		goto out;
	}
	lo2_buf_append(&cap.b, "", 1);
	*out = lo2_buf_steal(&cap.b);
	ret = 0;
out:
	if (id)
		engine_container_remove(e, id, true, true, NULL);
	lo2_buf_free(&cap.b);
	engine_container_spec_free(&spec);
	return ret;
}

static char *netem_args(const struct fault_spec *sp)
{
	struct lo2_buf b = LO2_BUF_INIT;

	if (sp->delay_ns > 0) {
		lo2_buf_printf(&b, " delay %" PRId64 "us", sp->delay_ns / 1000);
		if (sp->jitter_ns > 0)
			lo2_buf_printf(&b, " %" PRId64 "us", sp->jitter_ns / 1000);
	}
	if (sp->loss_pct > 0)
		lo2_buf_printf(&b, " loss %g%%", sp->loss_pct);
	if (sp->corrupt_pct > 0)
		lo2_buf_printf(&b, " corrupt %g%%", sp->corrupt_pct);
	if (sp->rate)
		lo2_buf_printf(&b, " rate %s", sp->rate);
	return lo2_buf_steal(&b);
}

/* Every interface but lo gets the qdisc; none found is an error. */
static const char net_apply_fmt[] =
    "set -e; n=0; for d in $(ls /sys/class/net); do [ \"$d\" = lo ] && continue; "
    "tc qdisc replace dev \"$d\" root %s; n=$((n+1)); done; [ $n -gt 0 ]; tc qdisc show";
static const char net_revert[] =
    "for d in $(ls /sys/class/net); do if tc qdisc show dev \"$d\" | grep -qE 'netem|tbf'; then "
    "tc qdisc del dev \"$d\" root || exit 1; fi; done; if tc qdisc show | grep -qE 'netem|tbf'; then "
    "exit 1; fi; tc qdisc show";

static int net_apply(struct engine *e, struct fault_state *st, struct lo2_err *err)
{
	const struct fault_spec *sp = st->spec;
	/* a rate alone is tbf's (kernels without sch_netem have it); anything else is netem's */
	bool tbf = sp->rate && sp->delay_ns == 0 && sp->loss_pct == 0 && sp->corrupt_pct == 0;
	lo2_autofree char *nargs = netem_args(sp);
	lo2_autofree char *args =
	    tbf ? xasprintf("tbf rate %s burst 32kbit latency 400ms", sp->rate) : xasprintf("netem%s", nargs);
	lo2_autofree char *script = xasprintf(net_apply_fmt, args);
	lo2_autofree char *out = NULL;
	int rc;

	call_begin(st, "helper %s: tc qdisc replace dev <each> root %s", sp->image, args);
	rc = call_end(st, helper_run(e, st, st->spec->image, script, NULL, &out, err), err);
	if (rc == 0)
		observe_str(st, "qdisc_applied", out);
	return rc;
}

static int net_revert_now(struct engine *e, struct fault_state *st, const char *image, struct lo2_err *err)
{
	lo2_autofree char *out = NULL;
	int rc;

	call_begin(st, "helper %s: tc qdisc del dev <each> root", image);
	rc = call_end(st, helper_run(e, st, image, net_revert, NULL, &out, err), err);
	if (rc == 0)
		observe_str(st, "qdisc_after", out);
	return rc;
}

/* ---- stress: a stress-ng helper in the target's namespaces (and cgroup, where it may) ---- */

static void stress_cmd(const struct fault_state *st, struct lo2_strv *cmd)
{
	const struct fault_spec *sp = st->spec;
	/* a bound of its own, so that even a helper no one removes ends */
	int64_t bound_s = fault_when_ns(&sp->duration, 3600) / LO2_NS_PER_SEC + 60;
	char num[32], bytes[32];

	snprintf(num, sizeof(num), "%d", sp->workers);
	snprintf(bytes, sizeof(bytes), "%" PRId64, sp->stress_bytes);
	lo2_strv_push(cmd, "stress-ng");
	if (strcmp(sp->stressor, "memory") == 0) {
		const char *a[] = {"--vm", num, "--vm-bytes", bytes, "--vm-keep"};

		for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++)
			lo2_strv_push(cmd, a[i]);
	} else if (strcmp(sp->stressor, "io") == 0) {
		const char *a[] = {"--hdd", num, "--hdd-bytes", bytes, "--temp-path", "/tmp"};

		for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++)
			lo2_strv_push(cmd, a[i]);
	} else {
		lo2_strv_push(cmd, "--cpu");
		lo2_strv_push(cmd, num);
	}
	lo2_strv_take(cmd, xasprintf("--timeout=%" PRId64 "s", bound_s));
}

/* Creates and starts the helper; cgroup_parent NULL: beside the target. */
static int stress_start(struct engine *e, struct fault_state *st, const char *cgroup_parent,
                        struct lo2_err *err)
{
	struct engine_container_spec spec = {0};
	lo2_autofree char *id = NULL, *cmdline = NULL;
	struct lo2_buf b = LO2_BUF_INIT;
	int rc = -1;

	spec.image = xstrdup(st->spec->image);
	spec.cmd_set = spec.entrypoint_set = true;
	stress_cmd(st, &spec.cmd);
	for (size_t i = 0; i < spec.cmd.n; i++)
		lo2_buf_printf(&b, "%s%s", i ? " " : "", spec.cmd.v[i]);
	cmdline = lo2_buf_steal(&b);
	spec.network_mode = xasprintf("container:%s", st->container_id);
	spec.pid_mode = xasprintf("container:%s", st->container_id);
	spec.cgroup_parent = xstrdup(cgroup_parent);
	lo2_kvv_set(&spec.labels, FAULT_HELPER_LABEL, st->project);
	spec.stop_timeout = -1;
	call_begin(st, "helper %s: %s (%s)", st->spec->image, cmdline,
	           cgroup_parent ? cgroup_parent : "beside the target");
	rc = engine_container_create(e, &spec, &id, err);
	if (rc == 0 && (rc = engine_container_start(e, id, err)) < 0)
		engine_container_remove(e, id, true, true, NULL);
	if (rc == 0) {
		free(st->helper_id);
		st->helper_id = xstrdup(id);
	}
	engine_container_spec_free(&spec);
	return call_end(st, rc, err);
}

/* Inside the target's cgroup when the engine's cgroups are cgroupfs ones (<parent>/<id>, so the
 * target's limits and stats hold the helper); else, or when the engine refuses it (cgroup v2
 * allows no process beside child cgroups), beside it, in its PID and network namespaces. */
static int stress_apply(struct engine *e, struct fault_state *st, struct lo2_err *err)
{
	struct engine_info info;
	struct engine_container_info ci;
	lo2_autofree char *parent = NULL;

	if (engine_info(e, &info, NULL) == 0 && strcmp(info.cgroup_driver, "cgroupfs") == 0 &&
	    engine_container_inspect(e, st->container_id, &ci, NULL) == 0) {
		parent = xasprintf(
		    "%s/%s", ci.cgroup_parent && ci.cgroup_parent[0] ? ci.cgroup_parent : "/docker", ci.id);
		engine_container_info_free(&ci);
		if (stress_start(e, st, parent, err) == 0) {
			observe_str(st, "placement", "inside the target's cgroup");
			return 0;
		}
	}
	if (stress_start(e, st, NULL, err) < 0)
		return -1;
	observe_str(st, "placement", "beside the target (its PID and network namespaces)");
	return 0;
}

static int stress_revert(struct engine *e, struct fault_state *st, struct lo2_err *err)
{
	struct engine_container_info ci;

	if (st->helper_id == NULL)
		return 0;
	if (engine_container_inspect(e, st->helper_id, &ci, NULL) == 0) {
		observe_str(st, "helper_status", ci.status);
		if (ci.oom_killed)
			observe_str(st, "helper_oom_killed", "true");
		engine_container_info_free(&ci);
	}
	call_begin(st, "remove helper %.12s", st->helper_id);
	if (call_end(st, engine_container_remove(e, st->helper_id, true, true, err), err) < 0 &&
	    err->kind != LO2_E_NOT_FOUND)
		return -1;
	free(st->helper_id);
	st->helper_id = NULL;
	return 0;
}

/* ---- kill ---- */

/* The engine's kill call marks the container to exit for good (Docker 20.10 applies no restart
 * policy after it), so a container with a restart policy is killed as a crash is: by a helper in
 * the engine's PID namespace signalling its main process; the policy then brings it back. */
static int kill_apply(struct engine *e, struct fault_state *st, struct lo2_err *err)
{
	const char *sig = st->spec->signal;
	static const struct helper_mode host_pid = {"none", "host", "KILL"};
	lo2_autofree char *script = NULL, *out = NULL;

	if (strncmp(sig, "SIG", 3) == 0)
		sig += 3;
	if (!st->had_restart_policy || st->pid <= 0) {
		call_begin(st, "kill signal=%s", st->spec->signal);
		return call_end(st, engine_container_kill(e, st->container_id, st->spec->signal, err), err);
	}
	script = xasprintf("kill -s %s %d", sig, st->pid);
	call_begin(st, "helper %s (PID namespace of the engine): kill -s %s <main process %d>",
	           st->spec->image, sig, st->pid);
	if (call_end(st, helper_run(e, st, st->spec->image, script, &host_pid, &out, err), err) == 0)
		return 0;
	if (err->kind != LO2_E_NOT_FOUND)
		return -1;
	/* no helper image here: the engine's kill (lo2 starts the container at recovery) */
	observe_str(st, "kill_by",
	            "the engine's kill call (no helper image: the restart policy does not act)");
	call_begin(st, "kill signal=%s", st->spec->signal);
	return call_end(st, engine_container_kill(e, st->container_id, st->spec->signal, err), err);
}

/* ---- prepare ---- */

int fault_prepare(struct engine *e, const struct fault_spec *spec, const char *project, const char *id,
                  struct fault_state **out, struct lo2_err *err)
{
	struct fault_state *st = xcalloc(1, sizeof(*st));
	struct engine_container_info ci;
	struct engine_stats stats;

	st->spec = spec;
	st->project = xstrdup(project);
	if (engine_clock_offset(e, &st->clock_offset_ns, err) < 0 ||
	    engine_container_inspect(e, id, &ci, err) < 0) {
		fault_state_free(st);
		return -1;
	}
	st->container_id = xstrdup(ci.id);
	st->container = xstrdup(ci.name);
	st->saved.nano_cpus = ci.limits.nano_cpus;
	st->saved.cpu_quota = ci.limits.cpu_quota;
	st->saved.cpu_period = ci.limits.cpu_period;
	st->saved.memory = ci.limits.memory;
	st->saved.memory_swap = ci.limits.memory_swap;
	st->had_restart_policy =
	    ci.restart_policy && ci.restart_policy[0] && strcmp(ci.restart_policy, "no") != 0;
	st->had_healthcheck = ci.health != NULL;
	st->pid = ci.pid;
	observe_int(st, "restart_count_before", ci.restart_count);
	engine_container_info_free(&ci);
	if (spec->kind == FAULT_MEMORY && spec->memory == 0) {
		if (engine_container_stats(e, st->container_id, &stats, err) < 0) {
			fault_state_free(st);
			return -1;
		}
		st->working_set = (int64_t)stats.mem_usage;
	}
	*out = st;
	return 0;
}

void fault_state_free(struct fault_state *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->n_calls; i++) {
		free(st->calls[i].op);
		free(st->calls[i].error);
	}
	free(st->calls);
	free(st->project);
	free(st->container_id);
	free(st->container);
	free(st->revert_error);
	free(st->helper_id);
	lo2_kvv_free(&st->observed);
	free(st);
}

/* ---- apply ---- */

static int apply_cpu(struct engine *e, struct fault_state *st, struct lo2_err *err)
{
	struct engine_resources r = {0};
	int64_t nano = st->spec->nano_cpus;

	if (st->saved.nano_cpus > 0) {
		/* the engine refuses a quota beside NanoCpus: lower NanoCpus instead */
		r.nano_cpus = nano;
		call_begin(st, "update NanoCpus=%" PRId64, nano);
	} else {
		r.cpu_period = CPU_PERIOD;
		r.cpu_quota = nano * CPU_PERIOD / 1000000000;
		if (r.cpu_quota < 1000)
			r.cpu_quota = 1000; /* the kernel's minimum quota */
		st->applied_quota = r.cpu_quota;
		call_begin(st, "update CpuQuota=%" PRId64 " CpuPeriod=%d", r.cpu_quota, CPU_PERIOD);
	}
	return call_end(st, engine_container_update(e, st->container_id, &r, err), err);
}

static int apply_memory(struct engine *e, struct fault_state *st, struct lo2_err *err)
{
	struct engine_resources r = {0};
	int64_t m = st->spec->memory;

	if (m == 0) {
		m = (int64_t)((double)st->working_set * st->spec->memory_ratio);
		observe_int(st, "working_set_bytes", st->working_set);
	}
	if (m < MIN_MEMORY)
		m = MIN_MEMORY;
	st->applied_memory = m;
	/* swap as large as the limit: no swap, so that pressure is pressure (and OOM can happen) */
	r.memory = r.memory_swap = m;
	call_begin(st, "update Memory=%" PRId64 " MemorySwap=%" PRId64, m, m);
	return call_end(st, engine_container_update(e, st->container_id, &r, err), err);
}

int fault_apply(struct engine *e, struct fault_state *st, struct lo2_err *err)
{
	const struct fault_spec *sp = st->spec;
	const char *id = st->container_id;
	int rc = -1;

	switch (sp->kind) {
	case FAULT_PAUSE:
		call_begin(st, "pause");
		rc = call_end(st, engine_container_pause(e, id, err), err);
		break;
	case FAULT_STOP:
		call_begin(st, "stop t=%d", sp->timeout_s);
		rc = call_end(st, engine_container_stop(e, id, sp->timeout_s, err), err);
		break;
	case FAULT_KILL:
		rc = kill_apply(e, st, err);
		break;
	case FAULT_RESTART:
		call_begin(st, "restart t=%d", sp->timeout_s);
		rc = call_end(st, engine_container_restart(e, id, sp->timeout_s, err), err);
		break;
	case FAULT_CPU:
		rc = apply_cpu(e, st, err);
		break;
	case FAULT_MEMORY:
		rc = apply_memory(e, st, err);
		break;
	case FAULT_NETWORK:
		rc = net_apply(e, st, err);
		break;
	case FAULT_STRESS:
		rc = stress_apply(e, st, err);
		break;
	}
	/* applied when it may be: a failed call can still have acted (a stop that timed out) */
	st->applied = true;
	st->onset_ns = st->calls[st->n_calls - 1].end_ns;
	if (rc < 0)
		lo2_err_prefix(err, "apply the %s fault to %s", fault_kind_name(sp->kind), st->container);
	return rc;
}

/* ---- revert ---- */

static int revert_cpu(struct engine *e, struct fault_state *st, struct lo2_err *err)
{
	struct engine_resources r = {0};

	if (st->saved.nano_cpus > 0) {
		r.nano_cpus = st->saved.nano_cpus;
		call_begin(st, "update NanoCpus=%" PRId64, r.nano_cpus);
	} else {
		/* -1: no quota, as a container made without one (the API cannot set 0 back) */
		r.cpu_quota = st->saved.cpu_quota > 0 ? st->saved.cpu_quota : -1;
		r.cpu_period = st->saved.cpu_period;
		call_begin(st, "update CpuQuota=%" PRId64 " CpuPeriod=%" PRId64, r.cpu_quota, r.cpu_period);
	}
	return call_end(st, engine_container_update(e, st->container_id, &r, err), err);
}

static int revert_memory(struct engine *e, struct fault_state *st, struct lo2_err *err)
{
	struct engine_resources r = {0};
	struct engine_info info;

	if (st->saved.memory > 0) {
		r.memory = st->saved.memory;
		r.memory_swap = st->saved.memory_swap > 0 ? st->saved.memory_swap : 2 * r.memory;
	} else {
		/* The API cannot remove a memory limit (0 means unchanged, below 6 MB is refused):
		 * the host's memory is the limit that limits nothing. */
		if (engine_info(e, &info, err) < 0)
			return -1;
		r.memory = info.mem_total;
		r.memory_swap = 2 * r.memory;
		observe_str(st, "memory_restored_as", "the host's memory (the API cannot remove a limit)");
	}
	/* cgroup v1 takes the memory limit before the swap limit: with swap unlimited (-1) a raised
	 * memory limit is refused, so the swap limit is a number above it */
	call_begin(st, "update Memory=%" PRId64 " MemorySwap=%" PRId64, r.memory, r.memory_swap);
	return call_end(st, engine_container_update(e, st->container_id, &r, err), err);
}

static const char *still_applied(const struct fault_state *st)
{
	switch (st->spec->kind) {
	case FAULT_PAUSE:
		return "paused";
	case FAULT_STOP:
	case FAULT_KILL:
		return "not running";
	case FAULT_CPU:
		return "lowered CPU quota";
	case FAULT_MEMORY:
		return "lowered memory limit";
	case FAULT_NETWORK:
		return "netem/tbf qdisc";
	case FAULT_STRESS:
		return "stress helper";
	case FAULT_RESTART:
		break;
	}
	return "nothing";
}

/* The revert calls of st's kind, given the container's state now. */
static int revert_kind(struct engine *e, struct fault_state *st, const char *image, struct lo2_err *err)
{
	struct engine_container_info ci;
	bool running, paused, restarting, oom;

	if (st->spec->kind == FAULT_STRESS)
		return stress_revert(e, st, err);
	call_begin(st, "inspect");
	if (call_end(st, engine_container_inspect(e, st->container_id, &ci, err), err) < 0)
		return err->kind == LO2_E_NOT_FOUND ? 0 : -1; /* gone: nothing is applied to it */
	running = ci.running;
	paused = ci.paused;
	restarting = ci.restarting;
	oom = ci.oom_killed;
	if (oom)
		observe_str(st, "oom_killed", "true");
	engine_container_info_free(&ci);
	switch (st->spec->kind) {
	case FAULT_PAUSE:
		if (!paused)
			return 0;
		call_begin(st, "unpause");
		return call_end(st, engine_container_unpause(e, st->container_id, err), err);
	case FAULT_STOP:
	case FAULT_KILL:
		/* a resume stopped the killed session's stack on purpose: the deploy recreates it */
		if (running || restarting || st->resuming)
			return 0;
		call_begin(st, "start");
		return call_end(st, engine_container_start(e, st->container_id, err), err);
	case FAULT_CPU:
		return revert_cpu(e, st, err);
	case FAULT_MEMORY:
		if (revert_memory(e, st, err) < 0)
			return -1;
		if (running || restarting || !oom || st->resuming)
			return 0;
		/* an OOM kill (recorded above) with no restart policy: lo2 starts it, as after a kill */
		call_begin(st, "start");
		return call_end(st, engine_container_start(e, st->container_id, err), err);
	case FAULT_NETWORK:
		/* a stopped container's network namespace, and its qdisc, are gone */
		return running && !paused ? net_revert_now(e, st, image, err) : 0;
	case FAULT_RESTART:
	case FAULT_STRESS:
		break;
	}
	return 0;
}

/* Whether the container answers again after the fault's apply call: running (healthy, with a
 * healthcheck) and started after that call began. */
static bool back_since_apply(const struct fault_state *st, const struct engine_container_info *ci)
{
	return ci->running && !ci->paused && !ci->restarting &&
	       (ci->health == NULL || strcmp(ci->health, "healthy") == 0) && st->n_calls > 0 &&
	       ci->started_ns > st->calls[0].start_ns;
}

void fault_watch(struct engine *e, struct fault_state *st, const atomic_bool *stop, int64_t deadline_mono_ns)
{
	struct engine_container_info ci;

	if (st->spec->kind != FAULT_KILL && st->spec->kind != FAULT_RESTART)
		return;
	while (lo2_mono_ns() < deadline_mono_ns && !atomic_load(stop) &&
	       !(st->cancel && atomic_load(st->cancel))) {
		bool back;

		if (engine_container_inspect(e, st->container_id, &ci, NULL) < 0)
			return;
		back = back_since_apply(st, &ci);
		engine_container_info_free(&ci);
		if (back) {
			observe_int(st, "answering_after_onset_ns", engine_now(st) - st->onset_ns);
			observe_str(st, "answering_by",
			            st->spec->kind == FAULT_KILL ? "its restart policy" : "the restart");
			return;
		}
		lo2_sleep_ns(POLL_NS);
	}
}

/* After the revert: until the container runs (and is healthy, with a healthcheck) again, within
 * wait_ns; the time from the onset recorded, with restarts and OOM kills. */
static void observe_back(struct engine *e, struct fault_state *st, int64_t wait_ns)
{
	int64_t deadline = lo2_mono_ns() + wait_ns;
	struct engine_container_info ci;
	struct lo2_err err = {0};

	for (;;) {
		bool up;

		if (engine_container_inspect(e, st->container_id, &ci, &err) < 0) {
			observe_str(st, "answering_error", err.msg);
			return;
		}
		up = ci.running && !ci.paused && !ci.restarting &&
		     (ci.health == NULL || strcmp(ci.health, "healthy") == 0);
		if (up || lo2_mono_ns() > deadline || (st->cancel && atomic_load(st->cancel))) {
			/* a container back before the recovery (a restart policy) was timed then */
			if (up && !lo2_kvv_has(&st->observed, "answering_after_onset_ns"))
				observe_int(st, "answering_after_onset_ns", engine_now(st) - st->onset_ns);
			else if (!up)
				observe_str(st, "answering", "not within the test");
			observe_int(st, "restart_count_after", ci.restart_count);
			observe_str(st, "status_after", ci.status);
			if (ci.oom_killed)
				observe_str(st, "oom_killed", "true");
			engine_container_info_free(&ci);
			return;
		}
		engine_container_info_free(&ci);
		lo2_sleep_ns(POLL_NS);
	}
}

int fault_revert(struct engine *e, struct fault_state *st, int64_t wait_ns, struct lo2_err *err)
{
	if (!st->applied || st->reverted)
		return 0;
	if (revert_kind(e, st, st->spec->image, err) < 0) {
		free(st->revert_error);
		st->revert_error = xasprintf("%s still applied to %s", still_applied(st), st->container);
		return lo2_err_prefix(err, "revert the %s fault on container %s (%s still applied)",
		                      fault_kind_name(st->spec->kind), st->container, still_applied(st));
	}
	st->reverted = true;
	st->recovery_ns = st->calls[st->n_calls - 1].end_ns;
	observe_back(e, st, wait_ns);
	return 0;
}

/* ---- records ---- */

void fault_state_active_json(const struct fault_state *st, struct lo2_jw *w)
{
	lo2_jw_obj(w);
	lo2_jw_key(w, "kind");
	lo2_jw_str(w, fault_kind_name(st->spec->kind));
	lo2_jw_key(w, "service");
	lo2_jw_str(w, st->spec->service);
	lo2_jw_key(w, "container");
	lo2_jw_str(w, st->container);
	lo2_jw_key(w, "container_id");
	lo2_jw_str(w, st->container_id);
	lo2_jw_key(w, "project");
	lo2_jw_str(w, st->project);
	lo2_jw_key(w, "image");
	lo2_jw_str(w, st->spec->image);
	lo2_jw_key(w, "saved");
	lo2_jw_obj(w);
	lo2_jw_key(w, "nano_cpus");
	lo2_jw_int(w, st->saved.nano_cpus);
	lo2_jw_key(w, "cpu_quota");
	lo2_jw_int(w, st->saved.cpu_quota);
	lo2_jw_key(w, "cpu_period");
	lo2_jw_int(w, st->saved.cpu_period);
	lo2_jw_key(w, "memory");
	lo2_jw_int(w, st->saved.memory);
	lo2_jw_key(w, "memory_swap");
	lo2_jw_int(w, st->saved.memory_swap);
	lo2_jw_obj_end(w);
	lo2_jw_obj_end(w);
}

static void put_params(const struct fault_spec *sp, struct lo2_jw *w)
{
	lo2_jw_key(w, "params");
	lo2_jw_obj(w);
	for (size_t i = 0; sp->rule && i < sp->rule->n_params; i++) {
		lo2_jw_key(w, sp->rule->params[i].key);
		lo2_jw_str(w, sp->rule->params[i].value);
	}
	lo2_jw_obj_end(w);
}

static void put_calls(const struct fault_state *st, struct lo2_jw *w)
{
	lo2_jw_key(w, "actions");
	lo2_jw_arr(w);
	for (size_t i = 0; i < st->n_calls; i++) {
		const struct fault_call *c = &st->calls[i];

		lo2_jw_obj(w);
		lo2_jw_key(w, "call");
		lo2_jw_str(w, c->op);
		lo2_jw_key(w, "start_ns");
		lo2_jw_int(w, c->start_ns);
		lo2_jw_key(w, "end_ns");
		lo2_jw_int(w, c->end_ns);
		lo2_jw_key(w, "ok");
		lo2_jw_bool(w, c->ok);
		if (c->error) {
			lo2_jw_key(w, "error");
			lo2_jw_str(w, c->error);
		}
		lo2_jw_obj_end(w);
	}
	lo2_jw_arr_end(w);
}

static void put_instant(struct lo2_jw *w, const char *key, int64_t engine_ns, int64_t offset)
{
	lo2_autofree char *local = xasprintf("%s_local_ns", key);
	lo2_autofree char *eng = xasprintf("%s_ns", key);

	lo2_jw_key(w, eng);
	if (engine_ns)
		lo2_jw_int(w, engine_ns);
	else
		lo2_jw_null(w);
	lo2_jw_key(w, local);
	if (engine_ns)
		lo2_jw_int(w, engine_ns - offset);
	else
		lo2_jw_null(w);
}

void fault_state_json(const struct fault_state *st, struct lo2_jw *w)
{
	const struct fault_spec *sp = st->spec;

	lo2_jw_obj(w);
	lo2_jw_key(w, "kind");
	lo2_jw_str(w, fault_kind_name(sp->kind));
	lo2_jw_key(w, "service");
	lo2_jw_str(w, sp->service);
	lo2_jw_key(w, "container");
	lo2_jw_str(w, st->container);
	lo2_jw_key(w, "container_id");
	lo2_jw_str(w, st->container_id);
	put_params(sp, w);
	put_instant(w, "onset_scheduled", st->onset_sched_ns, st->clock_offset_ns);
	put_instant(w, "onset", st->onset_ns, st->clock_offset_ns);
	put_instant(w, "recovery_scheduled", st->recovery_sched_ns, st->clock_offset_ns);
	put_instant(w, "recovery", st->recovery_ns, st->clock_offset_ns);
	lo2_jw_key(w, "clock_offset_ns");
	lo2_jw_int(w, st->clock_offset_ns);
	if (sp->kind == FAULT_MEMORY) {
		lo2_jw_key(w, "memory_limit_bytes");
		lo2_jw_int(w, st->applied_memory);
	}
	if (sp->kind == FAULT_CPU && st->applied_quota) {
		lo2_jw_key(w, "cpu_quota_us");
		lo2_jw_int(w, st->applied_quota);
	}
	put_calls(st, w);
	lo2_jw_key(w, "observed");
	lo2_jw_obj(w);
	for (size_t i = 0; i < st->observed.n; i++) {
		struct lo2_json *v = NULL;

		lo2_jw_key(w, st->observed.v[i].key);
		if (lo2_json_parse(st->observed.v[i].val, "observed", &v, NULL) == 0)
			lo2_jw_node(w, v);
		else
			lo2_jw_null(w);
		lo2_json_free(v);
	}
	lo2_jw_obj_end(w);
	lo2_jw_key(w, "reverted");
	lo2_jw_bool(w, st->reverted || !st->applied);
	if (st->revert_error) {
		lo2_jw_key(w, "still_applied");
		lo2_jw_str(w, st->revert_error);
	}
	lo2_jw_obj_end(w);
}

/* ---- a killed session's faults ---- */

static int kind_of(const char *name, enum fault_kind *k)
{
	struct fault_rule r;
	struct lo2_err err = {0};
	int rc = fault_rule_init(&r, name ? name : "", "", 0, 0, &err);

	*k = r.kind;
	fault_rule_free(&r);
	return rc;
}

static int64_t jint(const struct lo2_json *o, const char *key)
{
	int64_t v = 0;

	lo2_json_int(lo2_json_get(o, key), &v);
	return v;
}

int fault_revert_recorded(struct engine *e, const struct lo2_json *active, struct lo2_strv *done,
                          struct lo2_err *err)
{
	struct fault_spec sp = {0};
	struct fault_state st = {0};
	const struct lo2_json *saved = lo2_json_get(active, "saved");
	const char *id = lo2_json_str(lo2_json_get(active, "container_id"));
	const char *name = lo2_json_str(lo2_json_get(active, "container"));
	const char *image = lo2_json_str(lo2_json_get(active, "image"));
	const char *project = lo2_json_str(lo2_json_get(active, "project"));
	int rc;

	if (id == NULL || kind_of(lo2_json_str(lo2_json_get(active, "kind")), &sp.kind) < 0)
		return lo2_err_set(err, LO2_E_INVALID, "an active fault record without a kind or container");
	sp.image = (char *)(uintptr_t)(image ? image : FAULT_HELPER_IMAGE);
	st.spec = &sp;
	st.container_id = (char *)(uintptr_t)id;
	st.container = (char *)(uintptr_t)(name ? name : id);
	st.saved.nano_cpus = jint(saved, "nano_cpus");
	st.saved.cpu_quota = jint(saved, "cpu_quota");
	st.saved.cpu_period = jint(saved, "cpu_period");
	st.saved.memory = jint(saved, "memory");
	st.saved.memory_swap = jint(saved, "memory_swap");
	st.project = (char *)(uintptr_t)(project ? project : "");
	st.resuming = true;
	engine_clock_offset(e, &st.clock_offset_ns, NULL);
	rc = revert_kind(e, &st, sp.image, err);
	for (size_t i = 0; i < st.n_calls; i++) {
		lo2_strv_take(done, xasprintf("%s %s on %s%s%s", fault_kind_name(sp.kind), st.calls[i].op,
		                              st.container, st.calls[i].ok ? "" : ": ",
		                              st.calls[i].ok ? "" : st.calls[i].error));
		free(st.calls[i].op);
		free(st.calls[i].error);
	}
	free(st.calls);
	lo2_kvv_free(&st.observed);
	free(st.revert_error);
	if (rc < 0)
		return lo2_err_prefix(err, "revert the %s fault on container %s (%s still applied)",
		                      fault_kind_name(sp.kind), st.container, still_applied(&st));
	return 0;
}

int fault_remove_helpers(struct engine *e, const char *project, struct lo2_strv *done, struct lo2_err *err)
{
	lo2_autofree char *f = xasprintf("label=%s=%s", FAULT_HELPER_LABEL, project);
	struct lo2_strv filters = {0};
	struct engine_container_list cl = {0};
	int ret = 0;

	lo2_strv_push(&filters, f);
	if (engine_container_list(e, &filters, true, &cl, err) < 0) {
		lo2_strv_free(&filters);
		return -1;
	}
	for (size_t i = 0; i < cl.n && ret == 0; i++) {
		ret = engine_container_remove(e, cl.v[i].id, true, true, err);
		if (ret == 0 && done)
			lo2_strv_take(
			    done, xasprintf("removed helper %s", cl.v[i].name ? cl.v[i].name : cl.v[i].id));
	}
	engine_container_list_free(&cl);
	lo2_strv_free(&filters);
	return ret;
}
