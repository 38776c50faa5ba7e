/* campaign.c - the runs of a campaign over the fleet: a worker thread per engine slot with its
 * own engine handle takes the next run, makes its settings (derived seed, run folder
 * run_<k>_<engine>, the slot's project, "{engine_host}" replaced, the engine's own settings) and
 * calls the run driver, the same entry point as `lo2 run`. A watcher pings the engines of runs
 * under way: an engine that stops answering ends its run (named error, the run is retried) and
 * is tried again with backoff until it is back. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "campaign/internal.h"
#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/thread.h"
#include "common/time.h"
#include "compose/compose.h"
#include "engine/engine.h"
#include "run/driver.h"
#include "run/run.h"

#define TICK_NS (100 * 1000 * 1000)
#define PING_EVERY_NS (2 * LO2_NS_PER_SEC)
#define PINGS_LOST 2 /* failed pings in a row that make an engine lost */
#define DEFAULT_OVERHEAD_S 15.0 /* deploy, ready and teardown, until runs tell better */
#define ATTEMPTS_DIR "_attempts"

/* ---- messages ---- */

static void say(struct campaign *cp, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(struct campaign *cp, const char *who, const char *fmt, ...)
{
	char msg[1200], line[1300];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = snprintf(line, sizeof(line), "%lld %s%s%s\n", (long long)(lo2_now_ns() / LO2_NS_PER_SEC),
	             strcmp(who, "campaign") ? who : "", strcmp(who, "campaign") ? ": " : "", msg);
	if (cp->log_fd >= 0 && n > 0)
		lo2_write_all(cp->log_fd, line, strlen(line), "campaign log", NULL);
	if (cp->h && cp->h->log)
		cp->h->log(cp->h->user, who, msg);
}

static void save(struct campaign *cp)
{
	struct lo2_err err = {0};

	if (campaign_save_locked(cp, &err) < 0 && cp->h && cp->h->log)
		cp->h->log(cp->h->user, "campaign", err.msg);
}

static bool cancelled(const struct campaign *cp)
{
	return cp->h && cp->h->cancel && atomic_load(cp->h->cancel);
}

/* ---- set-up ---- */

static void crun_free(struct crun *r)
{
	free(r->engine);
	free(r->dir);
	free(r->project);
	for (size_t i = 0; i < r->n_att; i++) {
		free(r->att[i].engine);
		free(r->att[i].dir);
		free(r->att[i].status);
		free(r->att[i].error);
	}
	free(r->att);
}

void campaign_free(struct campaign *cp)
{
	if (cp == NULL)
		return;
	for (int i = 0; i < cp->n_runs; i++)
		crun_free(&cp->runs[i]);
	free(cp->runs);
	for (size_t i = 0; cp->es && i < cp->cc.n_engines; i++)
		free(cp->es[i].last_error);
	free(cp->es);
	for (size_t i = 0; i < cp->n_w; i++)
		pthread_mutex_destroy(&cp->w[i].elock);
	free(cp->w);
	campaign_config_free(&cp->cc);
	run_config_free(&cp->rc);
	free(cp->dir);
	free(cp->base_project);
	free(cp->status);
	if (cp->log_fd >= 0)
		close(cp->log_fd);
	pthread_mutex_destroy(&cp->lock);
	pthread_cond_destroy(&cp->cv);
	free(cp);
}

static struct campaign *campaign_new(const char *dir)
{
	struct campaign *cp = xcalloc(1, sizeof(*cp));

	cp->dir = xstrdup(dir);
	cp->log_fd = -1;
	pthread_mutex_init(&cp->lock, NULL);
	pthread_cond_init(&cp->cv, NULL);
	return cp;
}

static int open_log(struct campaign *cp, struct lo2_err *err)
{
	lo2_autofree char *p = xasprintf("%s/campaign_log.log", cp->dir);

	cp->log_fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (cp->log_fd < 0)
		return lo2_err_errno(err, errno, "open %s", p);
	return 0;
}

/* The compose project's name, and a refusal when several runs share an engine but the file
 * publishes fixed host ports (the second project could not bind them). */
static int check_project(struct campaign *cp, struct lo2_err *err)
{
	struct compose_load_opts lo = {.file = cp->rc.compose_file,
	                               .project_name = cp->rc.project[0] ? cp->rc.project : NULL};
	struct compose_project *p = NULL;
	int ret = -1;

	if (compose_load(&lo, &p, NULL, err) < 0)
		return lo2_err_prefix(err, "campaign");
	cp->base_project = xstrdup(p->name);
	for (size_t i = 0; cp->cc.per_engine > 1 && i < p->n_services; i++)
		for (size_t j = 0; j < p->services[i].n_ports; j++) {
			const struct compose_port *pt = &p->services[i].ports[j];

			if (pt->published && pt->published[0] && strchr(pt->published, '-') == NULL) {
				lo2_err_set(
				    err, LO2_E_USAGE,
				    "--per-engine %d: service %s of %s publishes the fixed host port %s, "
				    "so a second project on the same engine could not start; use "
				    "--per-engine 1 or publish no fixed port",
				    cp->cc.per_engine, p->services[i].name, p->config_file, pt->published);
				goto out;
			}
		}
	ret = 0;
out:
	compose_project_free(p);
	return ret;
}

/* The planned seconds of run r (its schedule's tests and waits). */
static void plan_seconds(struct campaign *cp, struct crun *r)
{
	struct run_schedule s = {0};
	long total = 0;

	if (run_plan(&cp->rc, r->seed, &s, NULL) < 0)
		return;
	for (size_t i = 0; i < s.n; i++)
		total += s.tests[i].duration_s + (i + 1 < s.n ? s.tests[i].wait_s : 0);
	r->planned_s = (int)total;
	run_schedule_free(&s);
}

/* The schedule can be made (tags found, requested tags known) before anything starts. */
static int check_plan(struct campaign *cp, struct lo2_err *err)
{
	struct run_schedule s = {0};

	if (run_plan(&cp->rc, campaign_run_seed(cp->seed, 1), &s, err) < 0)
		return lo2_err_prefix(err, "campaign");
	run_schedule_free(&s);
	return 0;
}

static void make_workers(struct campaign *cp)
{
	cp->es = xcalloc(cp->cc.n_engines, sizeof(*cp->es));
	cp->n_w = cp->cc.n_engines * (size_t)cp->cc.per_engine;
	cp->w = xcalloc(cp->n_w, sizeof(*cp->w));
	for (size_t i = 0; i < cp->n_w; i++) {
		struct worker *w = &cp->w[i];

		w->cp = cp;
		pthread_mutex_init(&w->elock, NULL);
		w->engine = i / (size_t)cp->cc.per_engine;
		w->slot = (int)(i % (size_t)cp->cc.per_engine) + 1;
		if (cp->cc.per_engine > 1)
			snprintf(w->v.label, sizeof(w->v.label), "%s#%d", cp->cc.engines[w->engine].name,
			         w->slot);
		else
			snprintf(w->v.label, sizeof(w->v.label), "%s", cp->cc.engines[w->engine].name);
		snprintf(w->v.state, sizeof(w->v.state), "starting");
	}
}

int campaign_create(const struct campaign_config *cc, const struct run_config *rc, const char *dir,
                    struct campaign **out, struct lo2_err *err)
{
	struct campaign *cp = campaign_new(dir);
	lo2_autofree char *mp = xasprintf("%s/%s", dir, CAMPAIGN_MANIFEST);
	lo2_autofree char *sp = xasprintf("%s/%s", dir, CAMPAIGN_SETTINGS);

	run_config_copy(&cp->rc, rc);
	cp->cc = *cc;
	cp->cc.engines = xcalloc(cc->n_engines + 1, sizeof(*cc->engines));
	for (size_t i = 0; i < cc->n_engines; i++) {
		const struct campaign_engine *e = &cc->engines[i];
		struct campaign_engine *d = &cp->cc.engines[i];

		*d = (struct campaign_engine){.name = xstrdup(e->name),
		                              .host = xstrdup(e->host),
		                              .ca = e->ca ? xstrdup(e->ca) : NULL,
		                              .cert = e->cert ? xstrdup(e->cert) : NULL,
		                              .key = e->key ? xstrdup(e->key) : NULL,
		                              .tls = e->tls};
		lo2_kvv_copy(&d->settings, &e->settings);
	}
	if (rc->seed[0] == '\0')
		cp->seed = run_seed_random();
	else if (run_config_seed(rc, &cp->seed, err) < 0)
		goto fail;
	if (access(mp, F_OK) == 0) {
		lo2_err_set(err, LO2_E_USAGE, "%s holds a campaign already: continue it with --resume %s",
		            dir, dir);
		goto fail;
	}
	if (check_project(cp, err) < 0 || check_plan(cp, err) < 0 || lo2_mkdir_p(dir, 0755, err) < 0 ||
	    open_log(cp, err) < 0)
		goto fail;
	/* the runs' settings: the campaign's seed stays in the manifest, each run gets its own */
	if (run_config_write(&cp->rc, sp, err) < 0)
		goto fail;
	cp->n_runs = cc->runs;
	cp->runs = xcalloc((size_t)cp->n_runs + 1, sizeof(*cp->runs));
	for (int k = 1; k <= cp->n_runs; k++) {
		struct crun *r = &cp->runs[k - 1];

		r->k = k;
		r->seed = campaign_run_seed(cp->seed, k);
		r->resume_on = -1;
		plan_seconds(cp, r);
	}
	make_workers(cp);
	cp->started_ns = lo2_now_ns();
	cp->status = xstrdup("running");
	if (campaign_save_locked(cp, err) < 0)
		goto fail;
	*out = cp;
	return 0;
fail:
	campaign_free(cp);
	return -1;
}

static int engine_index(const struct campaign *cp, const char *name)
{
	for (size_t i = 0; name && i < cp->cc.n_engines; i++)
		if (strcmp(cp->cc.engines[i].name, name) == 0)
			return (int)i;
	return -1;
}

int campaign_open_resume(const char *dir, struct campaign **out, struct lo2_err *err)
{
	struct campaign *cp = campaign_new(dir);
	lo2_autofree char *sp = xasprintf("%s/%s", dir, CAMPAIGN_SETTINGS);

	run_config_defaults(&cp->rc);
	if (campaign_manifest_read(cp, err) < 0 || run_config_load(sp, &cp->rc, err) < 0 ||
	    open_log(cp, err) < 0)
		goto fail;
	if (cp->cc.per_engine < 1 || cp->cc.max_attempts < 1 || cp->cc.n_engines == 0) {
		lo2_err_set(err, LO2_E_INVALID, "%s/%s: no engines or bad settings", dir, CAMPAIGN_MANIFEST);
		goto fail;
	}
	make_workers(cp);
	/* runs a killed campaign had under way: their engine decides (containers still there: resume) */
	for (int i = 0; i < cp->n_runs; i++) {
		struct crun *r = &cp->runs[i];

		if (r->st != CR_RUNNING)
			continue;
		r->st = CR_PENDING;
		r->resume_on = engine_index(cp, r->engine);
		if (r->n_att > 0)
			lo2_str_replace(&r->att[r->n_att - 1].status, "killed");
	}
	cp->status = xstrdup("running");
	if (campaign_save_locked(cp, err) < 0)
		goto fail;
	*out = cp;
	return 0;
fail:
	campaign_free(cp);
	return -1;
}

uint64_t campaign_seed(const struct campaign *cp)
{
	return cp->seed;
}

const char *campaign_dir(const struct campaign *cp)
{
	return cp->dir;
}

/* ---- one run ---- */

/* The project of a worker's slot: the file's own with one run per engine, else one per slot. */
static char *slot_project(const struct campaign *cp, int slot)
{
	if (cp->cc.per_engine == 1)
		return xstrdup(cp->base_project);
	return xasprintf("w%d-%s", slot, cp->base_project);
}

static int run_settings(struct worker *w, const struct crun *r, struct run_config *c, struct lo2_err *err)
{
	const struct campaign *cp = w->cp;
	const struct campaign_engine *en = &cp->cc.engines[w->engine];
	lo2_autofree char *host = campaign_engine_host(en->host);

	run_config_copy(c, &cp->rc);
	for (size_t i = 0; i < en->settings.n; i++) {
		lo2_autofree char *flag = xasprintf("--%s=%s", en->settings.v[i].key,
		                                    en->settings.v[i].val ? en->settings.v[i].val : "");
		bool takes = false;

		if (run_config_flag(c, flag, NULL, &takes, err) < 0)
			return lo2_err_prefix(err, "engine %s: settings", en->name);
	}
	run_config_replace(c, "{engine_host}", host);
	free(c->seed);
	c->seed = xasprintf("%" PRIu64, r->seed);
	free(c->output);
	c->output = xasprintf("%s/%s", cp->dir, r->dir);
	free(c->project);
	c->project = xstrdup(r->project);
	c->runs = 1;
	return run_config_check(c, err);
}

static void hook_log(void *user, const char *line)
{
	struct worker *w = user;
	struct campaign *cp = w->cp;

	if (cp->h && cp->h->log)
		cp->h->log(cp->h->user, w->v.label, line);
}

static void hook_progress(void *user, size_t k, size_t n, const char *tag, int planned_s, int run_left_s)
{
	struct worker *w = user;

	pthread_mutex_lock(&w->cp->lock);
	w->v.test_k = k;
	w->v.test_n = n;
	snprintf(w->v.tag, sizeof(w->v.tag), "%s", tag);
	w->v.test_planned_s = planned_s;
	w->v.run_left_s = run_left_s;
	w->test_mono = w->left_mono = lo2_mono_ns();
	pthread_mutex_unlock(&w->cp->lock);
}

static char *campaign_section(const struct worker *w, const struct crun *r)
{
	const struct campaign_engine *en = &w->cp->cc.engines[w->engine];
	struct lo2_jw *j = lo2_jw_new(NULL);
	char seed[32], cseed[32];

	snprintf(seed, sizeof(seed), "%" PRIu64, r->seed);
	snprintf(cseed, sizeof(cseed), "%" PRIu64, w->cp->seed);
	lo2_jw_obj(j);
	lo2_jw_key(j, "engine");
	lo2_jw_str(j, en->name);
	lo2_jw_key(j, "engine_host");
	lo2_jw_str(j, en->host);
	lo2_jw_key(j, "index");
	lo2_jw_int(j, r->k);
	lo2_jw_key(j, "runs");
	lo2_jw_int(j, w->cp->n_runs);
	lo2_jw_key(j, "seed");
	lo2_jw_str(j, seed);
	lo2_jw_key(j, "campaign_seed");
	lo2_jw_str(j, cseed);
	lo2_jw_key(j, "attempt");
	lo2_jw_int(j, (int64_t)r->n_att);
	lo2_jw_obj_end(j);
	return lo2_jw_finish(j, NULL);
}

/* Moves an earlier attempt's folder out of the dataset's top level: _attempts/<dir>.<n>. */
static void set_aside(struct campaign *cp, struct crun *r)
{
	lo2_autofree char *from = NULL, *to = NULL, *adir = xasprintf("%s/%s", cp->dir, ATTEMPTS_DIR);
	struct cattempt *a = r->n_att ? &r->att[r->n_att - 1] : NULL;

	if (r->dir == NULL)
		return;
	from = xasprintf("%s/%s", cp->dir, r->dir);
	if (access(from, F_OK) != 0)
		return;
	to = xasprintf("%s/%s.%zu", adir, r->dir, r->n_att);
	mkdir(adir, 0755);
	if (rename(from, to) == 0 && a && a->dir && strcmp(a->dir, r->dir) == 0)
		lo2_str_replace(&a->dir, to + strlen(cp->dir) + 1);
}

/* Resume (1) when the run's folder and its containers are on this worker's engine, else 0. */
static int can_resume(struct worker *w, const struct crun *r)
{
	lo2_autofree char *rj = NULL;
	struct compose_ps ps = {0};
	int yes;

	if (r->dir == NULL || r->project == NULL)
		return 0;
	rj = xasprintf("%s/%s/run.json", w->cp->dir, r->dir);
	if (access(rj, R_OK) != 0)
		return 0;
	if (compose_ps(w->e, r->project, &ps, NULL) < 0)
		return 0;
	yes = ps.n > 0;
	compose_ps_free(&ps);
	return yes;
}

/* Starts attempt n of r on w (lock held): resume keeps its folder, a redo gets a new one. */
static void begin_attempt(struct worker *w, struct crun *r, bool resume)
{
	struct campaign *cp = w->cp;
	const char *ename = cp->cc.engines[w->engine].name;

	if (!resume) {
		set_aside(cp, r);
		lo2_str_replace(&r->engine, ename);
		free(r->dir);
		r->dir = xasprintf("run_%d_%s", r->k, ename);
		free(r->project);
		r->project = slot_project(cp, w->slot);
		r->slot = w->slot;
	}
	r->att = xrealloc(r->att, (r->n_att + 1) * sizeof(*r->att));
	r->att[r->n_att++] = (struct cattempt){.engine = xstrdup(ename),
	                                       .dir = xstrdup(r->dir),
	                                       .status = xstrdup(resume ? "resuming" : "running"),
	                                       .start_ns = lo2_now_ns()};
	r->st = CR_RUNNING;
	if (r->start_ns == 0 || !resume)
		r->start_ns = lo2_now_ns();
	r->resume_on = -1;
	w->v.run = r->k;
	w->v.test_k = w->v.test_n = 0;
	w->v.tag[0] = '\0';
	w->v.run_left_s = r->planned_s;
	w->left_mono = lo2_mono_ns();
	snprintf(w->v.state, sizeof(w->v.state), "running");
}

/* What happened to run r on w (lock held). */
static void end_attempt(struct worker *w, struct crun *r, int rc, const struct lo2_err *err, int64_t t0)
{
	struct campaign *cp = w->cp;
	struct cattempt *a = &r->att[r->n_att - 1];
	struct cengine *es = &cp->es[w->engine];
	const char *ename = cp->cc.engines[w->engine].name;

	a->end_ns = lo2_now_ns();
	w->v.run = 0;
	snprintf(w->v.state, sizeof(w->v.state), "idle");
	if (rc == 0) {
		lo2_str_replace(&a->status, "complete");
		r->st = CR_COMPLETE;
		r->end_ns = a->end_ns;
		es->complete++;
		cp->overhead_sum += (double)(lo2_mono_ns() - t0) / 1e9 - r->planned_s;
		cp->overhead_n++;
		say(cp, w->v.label, "run %d/%d complete: %s", r->k, cp->n_runs, r->dir);
		return;
	}
	es->failed_attempts++;
	if (atomic_load(&w->engine_lost)) {
		free(a->error);
		a->error = xasprintf("engine %s unreachable during the run (%s); the run is retried", ename,
		                     es->last_error ? es->last_error : "no answer");
		lo2_str_replace(&a->status, "engine-lost");
	} else {
		lo2_str_replace(&a->error, err->msg);
		lo2_str_replace(&a->status, err->kind == LO2_E_CANCELLED ? "interrupted" : "failed");
	}
	if (cancelled(cp) || r->n_att < (size_t)cp->cc.max_attempts || atomic_load(&w->engine_lost)) {
		r->st = CR_PENDING; /* a retry (or, after a signal, for --resume) */
	} else {
		r->st = CR_FAILED;
		r->end_ns = a->end_ns;
	}
	say(cp, w->v.label, "run %d/%d %s: %s%s", r->k, cp->n_runs, a->status, a->error,
	    r->st == CR_PENDING && !cancelled(cp) ? " (it will be retried)" : "");
}

static int execute(struct worker *w, struct crun *r, bool resume, struct lo2_err *err)
{
	struct campaign *cp = w->cp;
	struct run_config c;
	lo2_autofree char *section = NULL, *rdir = xasprintf("%s/%s", cp->dir, r->dir);
	struct run_hooks h = {.log = hook_log, .progress = hook_progress, .user = w, .cancel = &w->cancel};
	char *out_dir = NULL;
	int rc;

	pthread_mutex_lock(&cp->lock);
	section = campaign_section(w, r);
	pthread_mutex_unlock(&cp->lock);
	h.campaign_json = section;
	if (resume) {
		lo2_autofree char *cfg = xasprintf("%s/run_config.yml", rdir);

		run_config_defaults(&c);
		rc = run_config_load(cfg, &c, err);
	} else {
		rc = run_settings(w, r, &c, err);
	}
	if (rc == 0) {
		say(cp, w->v.label, "%s run %d/%d (seed %" PRIu64 ") in %s", resume ? "resuming" : "starting",
		    r->k, cp->n_runs, r->seed, r->dir);
		rc = run_execute(w->e, &c, resume ? rdir : NULL, &h, &out_dir, err);
	}
	free(out_dir);
	run_config_free(&c);
	return rc;
}

/* ---- workers ---- */

static bool all_final(const struct campaign *cp)
{
	for (int i = 0; i < cp->n_runs; i++)
		if (cp->runs[i].st == CR_PENDING || cp->runs[i].st == CR_RUNNING)
			return false;
	return true;
}

/* The next run for w (lock held): a run this engine must decide about first (resume or redo),
 * then the lowest pending one that is not waiting for another engine's decision. */
static struct crun *next_run(struct worker *w, bool *resume)
{
	struct campaign *cp = w->cp;

	*resume = false;
	for (int i = 0; i < cp->n_runs; i++) {
		struct crun *r = &cp->runs[i];

		if (r->st == CR_PENDING && r->resume_on == (int)w->engine &&
		    (cp->cc.per_engine == 1 || r->slot == w->slot)) {
			*resume = true; /* decided by the caller, outside the lock */
			return r;
		}
	}
	for (int i = 0; i < cp->n_runs; i++) {
		struct crun *r = &cp->runs[i];

		if (r->st == CR_PENDING && r->resume_on < 0)
			return r;
	}
	return NULL;
}

/* Sleeps s seconds, or less when the campaign is cancelled or every run is final. */
static void backoff_sleep(struct campaign *cp, int s)
{
	int64_t until = lo2_mono_ns() + (int64_t)s * LO2_NS_PER_SEC;

	while (lo2_mono_ns() < until && !cancelled(cp)) {
		bool done;

		pthread_mutex_lock(&cp->lock);
		done = all_final(cp);
		pthread_mutex_unlock(&cp->lock);
		if (done)
			return;
		lo2_sleep_ns(TICK_NS);
	}
}

static void engine_down(struct worker *w, const char *why)
{
	struct campaign *cp = w->cp;
	struct cengine *es = &cp->es[w->engine];

	pthread_mutex_lock(&cp->lock);
	if (!es->down)
		say(cp, w->v.label, "engine %s is unreachable: %s", cp->cc.engines[w->engine].host, why);
	es->down = true;
	lo2_str_replace(&es->last_error, why);
	snprintf(w->v.state, sizeof(w->v.state), "down");
	snprintf(w->v.note, sizeof(w->v.note), "%s", why);
	/* runs this engine was to decide about are redone elsewhere */
	for (int i = 0; i < cp->n_runs; i++)
		if (cp->runs[i].resume_on == (int)w->engine)
			cp->runs[i].resume_on = -1;
	save(cp);
	pthread_cond_broadcast(&cp->cv);
	pthread_mutex_unlock(&cp->lock);
}

/* Opens w's engine, with backoff while it does not answer; false when the campaign is over. */
static bool connect_engine(struct worker *w)
{
	struct campaign *cp = w->cp;
	const struct campaign_engine *en = &cp->cc.engines[w->engine];
	struct engine_open_opts o = {
	    .host = en->host, .tls = en->tls, .ca_file = en->ca, .cert_file = en->cert, .key_file = en->key};
	int wait_s = 1;

	for (;;) {
		struct lo2_err err = {0};
		bool done;

		pthread_mutex_lock(&cp->lock);
		done = all_final(cp);
		pthread_mutex_unlock(&cp->lock);
		if (cancelled(cp) || done)
			return false;
		if (w->e)
			return true; /* open, and it answered after the last run */
		if (engine_open_endpoint(&o, &w->e, &err) == 0)
			break;
		engine_down(w, err.msg);
		backoff_sleep(cp, wait_s);
		wait_s = wait_s * 2 > cp->cc.backoff_max_s ? cp->cc.backoff_max_s : wait_s * 2;
	}
	pthread_mutex_lock(&cp->lock);
	if (cp->es[w->engine].down)
		say(cp, w->v.label, "engine %s is back", en->host);
	cp->es[w->engine].down = false;
	snprintf(w->v.state, sizeof(w->v.state), "idle");
	w->v.note[0] = '\0';
	save(cp);
	pthread_mutex_unlock(&cp->lock);
	return true;
}

/* Waits (lock held) for a run to become available; NULL when every run is final or on cancel. */
static struct crun *wait_run(struct worker *w, bool *resume)
{
	struct campaign *cp = w->cp;

	for (;;) {
		struct crun *r;
		struct timespec ts;

		if (cancelled(cp) || all_final(cp))
			return NULL;
		r = next_run(w, resume);
		if (r)
			return r;
		snprintf(w->v.state, sizeof(w->v.state), "idle");
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += TICK_NS * 5;
		if (ts.tv_nsec >= LO2_NS_PER_SEC) {
			ts.tv_sec++;
			ts.tv_nsec -= LO2_NS_PER_SEC;
		}
		pthread_cond_timedwait(&cp->cv, &cp->lock, &ts);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct campaign *cp = w->cp;

	while (connect_engine(w)) {
		struct lo2_err err = {0};
		struct crun *r;
		bool resume = false;
		int64_t t0;
		int rc;

		pthread_mutex_lock(&cp->lock);
		r = wait_run(w, &resume);
		if (r && resume) {
			/* outside the lock would let another worker take it: the check is one engine call */
			resume = can_resume(w, r);
			if (!resume)
				r->resume_on = -1;
		}
		if (r)
			begin_attempt(w, r, resume);
		if (r)
			save(cp);
		pthread_mutex_unlock(&cp->lock);
		if (r == NULL)
			break;
		atomic_store(&w->cancel, false);
		atomic_store(&w->engine_lost, false);
		atomic_store(&w->in_run, true);
		t0 = lo2_mono_ns();
		rc = execute(w, r, resume, &err);
		atomic_store(&w->in_run, false);
		pthread_mutex_lock(&cp->lock);
		end_attempt(w, r, rc, &err, t0);
		save(cp);
		pthread_cond_broadcast(&cp->cv);
		pthread_mutex_unlock(&cp->lock);
		if (atomic_load(&w->engine_lost) || (rc < 0 && engine_ping(w->e, NULL) < 0)) {
			char why[LO2_ERR_MSG_MAX];

			pthread_mutex_lock(&cp->lock);
			snprintf(why, sizeof(why), "%s",
			         cp->es[w->engine].last_error ? cp->es[w->engine].last_error
			                                      : "no answer after a failed run");
			pthread_mutex_unlock(&cp->lock);
			pthread_mutex_lock(&w->elock);
			engine_free(w->e);
			w->e = NULL;
			pthread_mutex_unlock(&w->elock);
			engine_down(w, why);
		}
	}
	pthread_mutex_lock(&w->elock);
	engine_free(w->e);
	w->e = NULL;
	pthread_mutex_unlock(&w->elock);
	pthread_mutex_lock(&cp->lock);
	snprintf(w->v.state, sizeof(w->v.state), "done");
	pthread_mutex_unlock(&cp->lock);
	return NULL;
}

/* The watcher: a signal reaches every run at once; the engine of a run under way is pinged, and
 * one that stops answering ends that run (its worker retries the run and the engine). */
struct watch {
	struct campaign *cp;
	atomic_bool stop;
	int64_t *last_ping;
	int *fails;
};

static void watch_engine(struct watch *wa, size_t i)
{
	struct worker *w = &wa->cp->w[i];
	struct lo2_err err = {0};
	int rc;

	if (!atomic_load(&w->in_run) || atomic_load(&w->engine_lost)) {
		wa->fails[i] = 0;
		return;
	}
	if (lo2_mono_ns() - wa->last_ping[i] < PING_EVERY_NS)
		return;
	wa->last_ping[i] = lo2_mono_ns();
	pthread_mutex_lock(&w->elock);
	rc = w->e ? engine_ping(w->e, &err) : 0;
	pthread_mutex_unlock(&w->elock);
	if (rc == 0) {
		wa->fails[i] = 0;
		return;
	}
	if (++wa->fails[i] < PINGS_LOST)
		return;
	pthread_mutex_lock(&wa->cp->lock);
	lo2_str_replace(&wa->cp->es[w->engine].last_error, err.msg);
	pthread_mutex_unlock(&wa->cp->lock);
	atomic_store(&w->engine_lost, true);
	atomic_store(&w->cancel, true);
}

static void *watch_main(void *arg)
{
	struct watch *wa = arg;
	struct campaign *cp = wa->cp;

	while (!atomic_load(&wa->stop)) {
		/* a signal first, to every run, before any ping that may take a while */
		for (size_t i = 0; i < cp->n_w && cancelled(cp); i++)
			atomic_store(&cp->w[i].cancel, true);
		for (size_t i = 0; i < cp->n_w && !cancelled(cp); i++)
			watch_engine(wa, i);
		lo2_sleep_ns(TICK_NS);
	}
	return NULL;
}

int campaign_run(struct campaign *cp, const struct campaign_hooks *h, struct lo2_err *err)
{
	struct watch wa = {.cp = cp};
	pthread_t wt;
	bool watching;
	int complete = 0, failed = 0, ret = 0;

	cp->h = h;
	wa.last_ping = xcalloc(cp->n_w, sizeof(*wa.last_ping));
	wa.fails = xcalloc(cp->n_w, sizeof(*wa.fails));
	say(cp, "campaign",
	    "campaign of %d runs (seed %" PRIu64 ") over %zu engine%s, %d at once each, in %s", cp->n_runs,
	    cp->seed, cp->cc.n_engines, cp->cc.n_engines > 1 ? "s" : "", cp->cc.per_engine, cp->dir);
	watching = lo2_thread_start(&wt, watch_main, &wa, "campaign watcher", err) == 0;
	if (!watching) {
		free(wa.last_ping);
		free(wa.fails);
		return -1;
	}
	for (size_t i = 0; i < cp->n_w; i++) {
		if (lo2_thread_start(&cp->w[i].th, worker_main, &cp->w[i], "campaign worker", err) < 0)
			break;
		cp->w[i].started = true;
	}
	for (size_t i = 0; i < cp->n_w; i++)
		if (cp->w[i].started)
			pthread_join(cp->w[i].th, NULL);
	atomic_store(&wa.stop, true);
	pthread_join(wt, NULL);
	free(wa.last_ping);
	free(wa.fails);
	pthread_mutex_lock(&cp->lock);
	for (int i = 0; i < cp->n_runs; i++) {
		complete += cp->runs[i].st == CR_COMPLETE;
		failed += cp->runs[i].st == CR_FAILED;
	}
	lo2_str_replace(&cp->status, complete == cp->n_runs ? "complete"
	                             : cancelled(cp)        ? "interrupted"
	                                                    : "failed");
	cp->ended_ns = lo2_now_ns();
	save(cp);
	pthread_mutex_unlock(&cp->lock);
	say(cp, "campaign", "campaign %s: %d of %d runs complete, %d failed", cp->status, complete,
	    cp->n_runs, failed);
	if (complete == cp->n_runs)
		return 0;
	if (cancelled(cp))
		ret = lo2_err_set(err, LO2_E_CANCELLED, "campaign interrupted: %d of %d runs complete",
		                  complete, cp->n_runs);
	else
		ret = lo2_err_set(err, LO2_E_GENERIC, "campaign ended with %d of %d runs complete, %d failed",
		                  complete, cp->n_runs, failed);
	return ret;
}

/* ---- progress ---- */

void campaign_view(struct campaign *cp, struct campaign_view *out)
{
	double overhead, left = 0;
	int64_t now = lo2_mono_ns();
	size_t up = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&cp->lock);
	overhead = cp->overhead_n ? cp->overhead_sum / cp->overhead_n : DEFAULT_OVERHEAD_S;
	if (overhead < 0)
		overhead = 0;
	out->runs = cp->n_runs;
	out->n_workers = cp->n_w;
	out->w = xcalloc(cp->n_w + 1, sizeof(*out->w));
	for (size_t i = 0; i < cp->n_w; i++) {
		struct worker *w = &cp->w[i];

		out->w[i] = w->v;
		if (w->v.run) {
			long l = w->v.run_left_s - (long)((now - w->left_mono) / LO2_NS_PER_SEC);

			out->w[i].run_left_s = l > 0 ? l : 0;
			out->w[i].test_elapsed_s =
			    w->v.test_n ? (long)((now - w->test_mono) / LO2_NS_PER_SEC) : 0;
			left += out->w[i].run_left_s + overhead / 2;
		}
		up += strcmp(w->v.state, "down") != 0 && strcmp(w->v.state, "done") != 0;
	}
	for (int i = 0; i < cp->n_runs; i++) {
		const struct crun *r = &cp->runs[i];

		out->complete += r->st == CR_COMPLETE;
		out->failed += r->st == CR_FAILED;
		out->running += r->st == CR_RUNNING;
		out->pending += r->st == CR_PENDING;
		if (r->st == CR_PENDING)
			left += r->planned_s + overhead;
	}
	pthread_mutex_unlock(&cp->lock);
	out->eta_s = up ? (long)(left / (double)up) : -1;
}

void campaign_view_free(struct campaign_view *v)
{
	free(v->w);
	memset(v, 0, sizeof(*v));
}
