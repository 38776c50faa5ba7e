/* c_faults.c - fault tests as a collector: in a fault test's window a thread waits for the
 * scheduled onset, records the fault in run.json (so that a --resume after a kill -9 reverts
 * it), applies it through faults/, reverts it at the scheduled recovery (or at once when the
 * window closes early: a signal, a failed load), and writes the ground truth to <tag>/fault.json
 * and the test's record. Nothing is left applied: a revert that fails fails the test naming the
 * container and what is still applied. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/time.h"
#include "compose/compose.h"
#include "engine/engine.h"
#include "faults/faults.h"
#include "run/collector.h"
#include "run/collectors.h"
#include "run/config.h"
#include "run/run.h"

#define POLL_NS (20 * 1000 * 1000)
/* How long after the window a container may take to answer again before the test gives up on it. */
#define ANSWER_GRACE_NS (5 * LO2_NS_PER_SEC)

struct faults {
	struct run_collector base;
	struct fault_specs specs;
	pthread_mutex_t lock;
	/* the fault test that is open */
	struct run_window *w;
	const struct fault_spec *spec;
	struct fault_state *st;
	pthread_t th;
	bool th_started;
	atomic_bool end; /* the window closed: revert now */
	struct lo2_err apply_err, revert_err;
	bool apply_failed, revert_failed;
	struct lo2_strv resumed; /* engine calls a --resume made for a killed session's faults */
};

int run_fault_specs(const struct run_config *c, struct fault_specs *out, struct lo2_err *err)
{
	struct compose_load_opts o = {.file = c->compose_file,
	                              .project_name = c->project[0] ? c->project : NULL};
	struct compose_project *p = NULL;
	struct lo2_strv services = {0};
	int ret;

	if (compose_load(&o, &p, NULL, err) < 0)
		return lo2_err_prefix(err, "faults: read the services of %s", c->compose_file);
	for (size_t i = 0; i < p->n_services; i++)
		lo2_strv_push(&services, p->services[i].name);
	ret = fault_specs_make(&c->faults, &services, out, err);
	for (size_t i = 0; ret == 0 && i < out->n; i++) {
		bool own = false;

		for (size_t k = 0; out->v[i].rule && k < out->v[i].rule->n_params; k++)
			own = own || strcmp(out->v[i].rule->params[k].key, "image") == 0;
		if (!own && c->faults_image[0]) {
			free(out->v[i].image);
			out->v[i].image = xstrdup(c->faults_image);
		}
	}
	lo2_strv_free(&services);
	compose_project_free(p);
	return ret;
}

/* run.json's faults section: what is applied now (a resume reverts it), and what resumes did. */
static int save_section(struct faults *F, bool active, struct lo2_err *err)
{
	struct lo2_jw *w = lo2_jw_new(NULL);
	lo2_autofree char *json = NULL;

	lo2_jw_obj(w);
	lo2_jw_key(w, "active");
	lo2_jw_arr(w);
	if (active)
		fault_state_active_json(F->st, w);
	lo2_jw_arr_end(w);
	lo2_jw_key(w, "resumed");
	lo2_jw_arr(w);
	for (size_t i = 0; i < F->resumed.n; i++)
		lo2_jw_str(w, F->resumed.v[i]);
	lo2_jw_arr_end(w);
	lo2_jw_obj_end(w);
	json = lo2_jw_finish(w, NULL);
	return run_session_section(F->base.s, "faults", json, true, err);
}

/* Sleeps until the engine's clock reaches t; false when the window closed or the run was
 * cancelled first. */
static bool wait_until(struct faults *F, int64_t t)
{
	struct run_session *s = F->base.s;

	for (;;) {
		int64_t left = t - run_session_engine_now(s);

		if (atomic_load(&F->end) || run_session_cancelled(s))
			return false;
		if (left <= 0)
			return true;
		lo2_sleep_ns(left < POLL_NS ? left : POLL_NS);
	}
}

static const char *container_of(struct faults *F, const char *service)
{
	const struct compose_service *sv = compose_service_find(run_session_compose(F->base.s), service);

	return sv ? sv->container : NULL;
}

static void run_fault(struct faults *F)
{
	struct run_session *s = F->base.s;
	struct run_window *w = F->w;
	const struct fault_spec *sp = F->spec;
	int64_t onset = w->start_ns + fault_when_ns(&sp->onset, w->planned_s);
	int64_t recovery = onset + fault_when_ns(&sp->duration, w->planned_s);
	int64_t test_end = w->start_ns + w->planned_s * LO2_NS_PER_SEC;
	const char *container = container_of(F, sp->service);
	struct fault_state *st = NULL;

	if (!wait_until(F, onset))
		return;
	if (container == NULL) {
		lo2_err_set(&F->apply_err, LO2_E_NOT_FOUND, "no container of service %s", sp->service);
		F->apply_failed = true;
		return;
	}
	if (fault_prepare(run_session_engine(s), sp, run_session_project(s), container, &st, &F->apply_err) <
	    0) {
		F->apply_failed = true;
		return;
	}
	st->onset_sched_ns = onset;
	st->recovery_sched_ns = recovery;
	st->cancel = run_session_cancel(s);
	pthread_mutex_lock(&F->lock);
	F->st = st;
	pthread_mutex_unlock(&F->lock);
	/* before acting: a resume after a kill -9 must know what to revert */
	if (save_section(F, true, &F->apply_err) < 0) {
		F->apply_failed = true;
		return;
	}
	run_session_say(s, "Fault %s on %s", fault_kind_name(sp->kind), st->container);
	if (fault_apply(run_session_engine(s), st, &F->apply_err) < 0)
		F->apply_failed = true;
	else
		fault_watch(run_session_engine(s), st, &F->end,
		            lo2_mono_ns() + (recovery - run_session_engine_now(s)));
	wait_until(F, recovery);
	if (fault_revert(run_session_engine(s), st, test_end - run_session_engine_now(s) + ANSWER_GRACE_NS,
	                 &F->revert_err) < 0) {
		F->revert_failed = true;
		return;
	}
	run_session_say(s, "Fault %s on %s reverted", fault_kind_name(sp->kind), st->container);
}

static void *fault_main(void *arg)
{
	run_fault(arg);
	return NULL;
}

static int faults_begin(struct run_collector *c, struct run_window *w, struct lo2_err *err)
{
	struct faults *F = (struct faults *)c;
	const struct fault_spec *sp = fault_specs_find(&F->specs, w->tag);

	if (sp == NULL)
		return 0;
	F->w = w;
	F->spec = sp;
	F->st = NULL;
	F->apply_failed = F->revert_failed = false;
	memset(&F->apply_err, 0, sizeof(F->apply_err));
	memset(&F->revert_err, 0, sizeof(F->revert_err));
	atomic_store(&F->end, false);
	if (pthread_create(&F->th, NULL, fault_main, F) != 0)
		return lo2_err_set(err, LO2_E_GENERIC, "start the %s fault's thread", w->tag);
	F->th_started = true;
	return 0;
}

static void write_truth(struct faults *F, struct run_window *w)
{
	struct lo2_jw *j = lo2_jw_new("    ");
	lo2_autofree char *json = NULL, *path = xasprintf("%s/fault.json", w->dir);
	struct lo2_err err = {0};
	size_t len = 0;

	fault_state_json(F->st, j);
	json = lo2_jw_finish(j, &len);
	run_window_section(w, "fault", json);
	if (lo2_write_file_atomic(path, json, len, &err) < 0)
		run_window_error(w, "faults", &err);
}

/* The window closed: the fault is reverted now if its recovery has not come yet. */
static int faults_end(struct run_collector *c, struct run_window *w, struct lo2_err *err)
{
	struct faults *F = (struct faults *)c;
	struct lo2_err e2 = {0};

	if (!F->th_started || F->w != w)
		return 0;
	atomic_store(&F->end, true);
	pthread_join(F->th, NULL);
	F->th_started = false;
	if (F->st == NULL && !F->apply_failed)
		return 0; /* closed before the onset: nothing was applied */
	if (F->apply_failed) {
		run_window_error(w, "faults", &F->apply_err);
		run_window_fail(w, F->apply_err.msg);
	}
	if (F->revert_failed) {
		run_window_error(w, "faults", &F->revert_err);
		run_window_fail(w, F->revert_err.msg);
	}
	if (F->st) {
		write_truth(F, w);
		if (!F->revert_failed && save_section(F, false, &e2) < 0)
			run_window_error(w, "faults", &e2);
	}
	fault_state_free(F->st);
	F->st = NULL;
	F->w = NULL;
	return 0;
}

/* A killed session's faults, from its run.json section, reverted before anything else. */
static int faults_resume(struct run_collector *c, const struct lo2_json *prior, struct lo2_err *err)
{
	struct faults *F = (struct faults *)c;
	struct run_session *s = c->s;
	const struct lo2_json *active = lo2_json_get(prior, "active"), *old = lo2_json_get(prior, "resumed");
	size_t before;

	for (size_t i = 0; i < lo2_json_len(old); i++)
		if (lo2_json_str(lo2_json_at(old, i)))
			lo2_strv_push(&F->resumed, lo2_json_str(lo2_json_at(old, i)));
	before = F->resumed.n;
	for (size_t i = 0; i < lo2_json_len(active); i++)
		if (fault_revert_recorded(run_session_engine(s), lo2_json_at(active, i), &F->resumed, err) <
		    0)
			return lo2_err_prefix(err, "faults");
	if (fault_remove_helpers(run_session_engine(s), run_session_project(s), &F->resumed, err) < 0)
		return lo2_err_prefix(err, "faults: remove the helpers of the killed session");
	for (size_t i = before; i < F->resumed.n; i++)
		run_session_say(s, "Reverted the killed session's fault: %s", F->resumed.v[i]);
	return save_section(F, false, err);
}

/* Teardown: nothing is left applied, no helper left. */
static int faults_stop(struct run_collector *c, struct lo2_err *err)
{
	struct faults *F = (struct faults *)c;

	if (F->th_started) {
		atomic_store(&F->end, true);
		pthread_join(F->th, NULL);
		F->th_started = false;
	}
	return fault_remove_helpers(run_session_engine(c->s), run_session_project(c->s), NULL, err);
}

static void faults_destroy(struct run_collector *c)
{
	struct faults *F = (struct faults *)c;

	if (F->th_started) {
		atomic_store(&F->end, true);
		pthread_join(F->th, NULL);
	}
	fault_state_free(F->st);
	fault_specs_free(&F->specs);
	lo2_strv_free(&F->resumed);
	pthread_mutex_destroy(&F->lock);
	free(F);
}

static const struct run_collector_ops faults_ops = {
    .name = "faults",
    .resume = faults_resume,
    .test_begin = faults_begin,
    .test_end = faults_end,
    .stop = faults_stop,
    .destroy = faults_destroy,
};

int run_collector_faults(struct run_session *s, struct run_collector **out, struct lo2_err *err)
{
	const struct run_config *c = run_session_config(s);
	struct faults *F;

	*out = NULL;
	if (c->faults.n == 0)
		return 0;
	F = xcalloc(1, sizeof(*F));
	F->base = (struct run_collector){.ops = &faults_ops, .s = s};
	pthread_mutex_init(&F->lock, NULL);
	if (run_fault_specs(c, &F->specs, err) < 0) {
		faults_destroy(&F->base);
		return -1;
	}
	*out = &F->base;
	return 0;
}
