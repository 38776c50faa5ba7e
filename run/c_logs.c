/* c_logs.c - the logs collector: one follower per container (run/follow.h) for the whole
 * session, every line routed by its timestamp into an interval of the timeline: a test window
 * (<tag>/<container>.log.gz) or a _between segment (_between/s<session>-<nnn>-<what>/). An
 * interval is committed (its files completed) once every follower has passed its end, in order,
 * so a kill -9 loses no committed interval; after each commit run.json records, per container,
 * the position of the last line committed. --resume reads those positions back and collects, from
 * the killed session's containers that still exist, everything after them.
 *
 * Locks: a line is written under its interval file's lock (which it takes after looking the
 * interval up under the collector's lock, never both at once); the closer marks an interval as
 * closing under the collector's lock, then commits each file under that file's lock. No engine
 * call is made under any of them. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/sink.h"
#include "common/thread.h"
#include "common/time.h"
#include "engine/engine.h"
#include "run/collector.h"
#include "run/collectors.h"
#include "run/config.h"
#include "run/follow.h"
#include "run/hub.h"
#include "run/manifest.h"

#define GRACE_NS (1 * LO2_NS_PER_SEC)
#define CANCEL_GRACE_NS (200 * 1000 * 1000)
#define PASS_LIMIT_NS (30 * LO2_NS_PER_SEC)
#define CLOSER_POLL_NS (20 * 1000 * 1000)
#define CLOSER_IDLE_NS (250 * 1000 * 1000)
#define MAX_PEND 16
#define UNTIL_AHEAD_NS (50 * 1000 * 1000)

struct isink {
	char *file; /* "<container>.log[.gz]" */
	struct lo2_sink *sink;
	bool done; /* committed: a line that finds it done looks again */
	uint64_t lines;
	pthread_mutex_t lock;
};

struct interval {
	int seq;
	bool window; /* a test window (else a _between segment) */
	long index; /* the window's test: windows are known by it (a window struct may be reused) */
	struct run_window *w; /* the window while it is open and until its files are committed */
	char *dir; /* absolute */
	char *rel; /* relative to the run folder */
	int64_t start, end; /* engine clock, [start, end); end INT64_MAX while open */
	bool closing, committed;
	struct isink **sinks;
	size_t n_sinks;
	atomic_ullong late; /* lines routed here although they belonged to an earlier interval */
	struct interval *next;
};

struct cfollow {
	struct logs *L;
	char *id, *name;
	struct run_follow *f;
	int64_t added_ns, gone_ns;
	pthread_mutex_t lock; /* pend, committed, rotation */
	struct {
		int seq;
		struct run_follow_pos pos;
	} pend[MAX_PEND];
	int n_pend;
	struct run_follow_pos committed;
	char *rotation; /* how its log rotates, when it does */
	struct run_follow_stats last; /* the follower's counters when it was stopped */
	struct cfollow *next;
};

struct logs {
	struct run_collector base;
	pthread_mutex_t lock; /* intervals and the follower list */
	pthread_cond_t cond; /* an interval was committed */
	struct interval *ivs, *tail;
	struct interval *late_iv; /* lines whose interval was committed before they came */
	struct cfollow *fl;
	int seq, segments_made; /* interval numbers; _between segments of this session */
	pthread_t closer;
	bool closer_started;
	atomic_bool stopping;
	bool compress, keep_ts;
	struct lo2_strv segments; /* JSON objects of every _between segment, earlier sessions' too */
	struct lo2_err fail; /* a commit that failed outside a window */
	int64_t until_ns;
};

static struct logs *logs_of(struct run_collector *c)
{
	return (struct logs *)c;
}

/* ---- intervals ---- */

static struct interval *interval_add(struct logs *L, struct run_window *w, const char *what, int64_t start)
{
	struct interval *iv = xcalloc(1, sizeof(*iv));
	const char *root = run_session_dir(L->base.s);

	iv->seq = L->seq++;
	iv->w = w;
	iv->window = w != NULL;
	iv->index = w ? (long)w->index : -1;
	iv->start = start;
	iv->end = INT64_MAX;
	if (w) {
		iv->dir = xstrdup(w->dir);
		iv->rel = xstrdup(w->tag);
	} else {
		iv->rel = xasprintf("_between/s%d-%03d-%s", run_session_number(L->base.s), L->segments_made++,
		                    what);
		iv->dir = xasprintf("%s/%s", root, iv->rel);
	}
	if (L->tail)
		L->tail->next = iv;
	else
		L->ivs = iv;
	L->tail = iv;
	return iv;
}

/* The interval a line of time ts goes to (lock held). A line whose own interval is already
 * committed (it came after every other stream had passed it, or after the wait limit) goes to the
 * session's late segment; a line after the collection's stop instant goes nowhere (NULL). */
static struct interval *interval_for(struct logs *L, int64_t ts, bool *late)
{
	*late = false;
	for (struct interval *iv = L->ivs; iv; iv = iv->next)
		if (!iv->closing && ts >= iv->start && ts < iv->end)
			return iv;
	if (L->tail == NULL || ts >= L->tail->end || (L->tail->closing && ts >= L->tail->start))
		return NULL;
	*late = true;
	if (L->late_iv == NULL) {
		L->late_iv = xcalloc(1, sizeof(*L->late_iv));
		L->late_iv->seq = -1;
		L->late_iv->rel = xasprintf("_between/s%d-late", run_session_number(L->base.s));
		L->late_iv->dir = xasprintf("%s/%s", run_session_dir(L->base.s), L->late_iv->rel);
	}
	return L->late_iv;
}

static struct isink *isink_get(struct logs *L, struct interval *iv, const char *name)
{
	struct isink *k;

	for (size_t i = 0; i < iv->n_sinks; i++)
		if (strcmp(iv->sinks[i]->file, name) == 0)
			return iv->sinks[i];
	k = xcalloc(1, sizeof(*k));
	k->file = xstrdup(name);
	pthread_mutex_init(&k->lock, NULL);
	iv->sinks = xrealloc(iv->sinks, (iv->n_sinks + 1) * sizeof(*iv->sinks));
	iv->sinks[iv->n_sinks++] = k;
	return k;
}

static char *file_name(const struct logs *L, const char *container)
{
	return xasprintf("%s.log%s", container, L->compress ? ".gz" : "");
}

static int open_sink(const struct logs *L, const char *dir, const char *file, struct lo2_sink **out,
                     struct lo2_err *err)
{
	lo2_autofree char *path = xasprintf("%s/%s", dir, file);

	if (lo2_mkdir_p(dir, 0755, err) < 0)
		return -1;
	return L->compress ? lo2_sink_gzip_open(path, -1, out, err) : lo2_sink_file_open(path, out, err);
}

static int write_line(const struct logs *L, struct lo2_sink *s, const struct run_follow_line *l,
                      struct lo2_err *err)
{
	if (L->keep_ts && (lo2_sink_write(s, l->ts_text, strlen(l->ts_text), err) < 0 ||
	                   lo2_sink_write(s, " ", 1, err) < 0))
		return -1;
	return lo2_sink_write(s, l->data, l->len, err);
}

static void pend_update(struct cfollow *cf, int seq, struct run_follow_pos pos)
{
	pthread_mutex_lock(&cf->lock);
	for (int i = 0; i < cf->n_pend; i++)
		if (cf->pend[i].seq == seq) {
			cf->pend[i].pos = pos;
			pthread_mutex_unlock(&cf->lock);
			return;
		}
	if (cf->n_pend < MAX_PEND) {
		cf->pend[cf->n_pend].seq = seq;
		cf->pend[cf->n_pend].pos = pos;
		cf->n_pend++;
	}
	pthread_mutex_unlock(&cf->lock);
}

/* A line of a follower: into its interval's file. */
static int on_line(void *user, const struct run_follow_line *l, struct lo2_err *err)
{
	struct cfollow *cf = user;
	struct logs *L = cf->L;
	lo2_autofree char *file = file_name(L, cf->name);

	for (;;) {
		struct interval *iv;
		struct isink *k;
		bool late;
		int rc = 0;

		pthread_mutex_lock(&L->lock);
		iv = interval_for(L, l->ts, &late);
		if (iv == NULL) {
			pthread_mutex_unlock(&L->lock);
			return 0; /* after the stop instant */
		}
		k = isink_get(L, iv, file);
		pthread_mutex_unlock(&L->lock);
		pthread_mutex_lock(&k->lock);
		if (k->done) {
			pthread_mutex_unlock(&k->lock);
			continue;
		}
		if (k->sink == NULL)
			rc = open_sink(L, iv->dir, k->file, &k->sink, err);
		if (rc == 0)
			rc = write_line(L, k->sink, l, err);
		if (rc == 0) {
			k->lines++;
			if (late)
				atomic_fetch_add(&iv->late, 1);
			pend_update(cf, iv->seq, l->end);
		}
		pthread_mutex_unlock(&k->lock);
		return rc < 0 ? lo2_err_prefix(err, "logs of %s", cf->name) : 0;
	}
}

/* ---- followers ---- */

/* A docker size ("10m", "1t", "512k", bytes without a unit) in bytes; -1 when unreadable. */
static double size_bytes(const char *s)
{
	static const char units[] = "bkmgtp";
	char *end;
	double v = strtod(s, &end);
	const char *u = strchr(units, end[0] | 0x20);

	if (end == s || v < 0)
		return -1;
	if (end[0] == '\0')
		return v;
	if (u == NULL || end[0] == '\0')
		return -1;
	for (long i = u - units; i > 0; i--)
		v *= 1024;
	return v;
}

/* Whether the container's log rotates at a size a run can reach (lo2's own containers get a
 * size of 1 TiB: see compose_up_opts.unrotated_logs). */
static bool rotates(const struct engine_container_info *ci, char *out, size_t outsz)
{
	const char *size = lo2_kvv_get(&ci->log_opts, "max-size");
	double bytes = size ? size_bytes(size) : -1;

	if (ci->log_type == NULL || size == NULL || size[0] == '\0' || strcmp(size, "-1") == 0 ||
	    bytes >= 1024.0 * 1024 * 1024 * 1024)
		return false;
	snprintf(out, outsz, "%s max-size=%s max-file=%s", ci->log_type, size,
	         lo2_kvv_get(&ci->log_opts, "max-file") ? lo2_kvv_get(&ci->log_opts, "max-file") : "1");
	return strcmp(ci->log_type, "json-file") == 0 || strcmp(ci->log_type, "local") == 0;
}

static void on_info(void *user, const struct engine_container_info *ci)
{
	struct cfollow *cf = user;
	char how[160];

	if (!rotates(ci, how, sizeof(how)))
		return;
	pthread_mutex_lock(&cf->lock);
	cf->rotation = xstrdup(how);
	pthread_mutex_unlock(&cf->lock);
	run_session_warn(cf->L->base.s,
	                 "the log of container %s rotates (%s): the engine may drop lines a follower has not "
	                 "read yet when it rotates",
	                 cf->name, how);
}

static int save_section(struct logs *L, struct lo2_err *err);

static struct cfollow *find_follower(struct logs *L, const char *id)
{
	for (struct cfollow *cf = L->fl; cf; cf = cf->next)
		if (strcmp(cf->id, id) == 0)
			return cf;
	return NULL;
}

static void add_follower(struct logs *L, const struct run_hub_event *ev)
{
	struct run_session *s = L->base.s;
	struct cfollow *cf;
	struct run_follow *f = NULL;
	struct lo2_err err = {0};
	struct run_follow_opts o = {.since_ns = run_session_since_ns(s),
	                            .follow = true,
	                            .restarts = RUN_FOLLOW_ALWAYS,
	                            .hub = run_session_hub(s),
	                            .fn = on_line,
	                            .on_info = on_info};

	pthread_mutex_lock(&L->lock);
	if (find_follower(L, ev->id) || atomic_load(&L->stopping)) {
		pthread_mutex_unlock(&L->lock);
		return;
	}
	cf = xcalloc(1, sizeof(*cf));
	cf->L = L;
	cf->id = xstrdup(ev->id);
	/* A name that is not a safe file name is mapped to the container's short ID. */
	cf->name = ev->name && lo2_name_check("container", ev->name, NULL) == 0 ? xstrdup(ev->name)
	                                                                        : xstrndup(ev->id, 12);
	cf->added_ns = ev->time_ns;
	pthread_mutex_init(&cf->lock, NULL);
	cf->next = L->fl;
	L->fl = cf;
	pthread_mutex_unlock(&L->lock);
	o.id = cf->id;
	o.name = cf->name;
	o.user = cf;
	if (run_follow_start(run_session_engine(s), &o, &f, &err) < 0) {
		run_session_warn(s, "%s", err.msg);
		return;
	}
	pthread_mutex_lock(&L->lock);
	cf->f = f;
	pthread_mutex_unlock(&L->lock);
	/* a resume after a kill must know this container even before anything is committed */
	if (save_section(L, &err) < 0)
		run_session_warn(s, "%s", err.msg);
}

static void on_hub(void *user, const struct run_hub_event *ev)
{
	struct logs *L = user;

	if (ev->locust)
		return; /* Locust writes locust.log itself */
	if (strcmp(ev->action, "exists") == 0 || strcmp(ev->action, "create") == 0 ||
	    strcmp(ev->action, "start") == 0 || strcmp(ev->action, "restart") == 0)
		add_follower(L, ev);
}

/* ---- committing ---- */

static int64_t grace(const struct logs *L)
{
	return run_session_cancelled(L->base.s) ? CANCEL_GRACE_NS : GRACE_NS;
}

/* True when no line before end can still come (lock held). Followers that never reach it within
 * PASS_LIMIT_NS are let go: their later lines count as late. */
static bool all_passed(struct logs *L, int64_t end)
{
	int64_t now = run_session_engine_now(L->base.s);

	if (now >= end + PASS_LIMIT_NS)
		return true;
	for (struct cfollow *cf = L->fl; cf; cf = cf->next)
		if (cf->f && !run_follow_passed(cf->f, end, now, grace(L)))
			return false;
	return true;
}

static void json_pos(struct lo2_jw *w, const char *key, struct run_follow_pos p)
{
	lo2_jw_key(w, key);
	lo2_jw_arr(w);
	lo2_jw_int(w, p.ts);
	lo2_jw_int(w, p.count);
	lo2_jw_arr_end(w);
}

/* The run-level section: per container its committed position and counters, the segments. */
static char *section_json(struct logs *L)
{
	struct lo2_jw *w = lo2_jw_new(NULL);

	lo2_jw_obj(w);
	lo2_jw_key(w, "session");
	lo2_jw_int(w, run_session_number(L->base.s));
	lo2_jw_key(w, "since_ns");
	lo2_jw_int(w, run_session_since_ns(L->base.s));
	lo2_jw_key(w, "until_ns");
	lo2_jw_int(w, L->until_ns);
	lo2_jw_key(w, "containers");
	lo2_jw_obj(w);
	for (struct cfollow *cf = L->fl; cf; cf = cf->next) {
		struct run_follow_stats st = cf->last;

		if (cf->f)
			run_follow_stats(cf->f, &st);
		lo2_jw_key(w, cf->id);
		lo2_jw_obj(w);
		lo2_jw_key(w, "name");
		lo2_jw_str(w, cf->name);
		pthread_mutex_lock(&cf->lock);
		json_pos(w, "committed", cf->committed);
		if (cf->rotation) {
			lo2_jw_key(w, "rotation");
			lo2_jw_str(w, cf->rotation);
		}
		pthread_mutex_unlock(&cf->lock);
		lo2_jw_key(w, "lines");
		lo2_jw_int(w, (int64_t)st.lines);
		lo2_jw_key(w, "replayed_dropped");
		lo2_jw_int(w, (int64_t)st.replayed);
		lo2_jw_key(w, "streams_resumed");
		lo2_jw_int(w, (int64_t)st.resumed);
		lo2_jw_key(w, "restarts_followed");
		lo2_jw_int(w, (int64_t)st.restarts);
		lo2_jw_obj_end(w);
	}
	lo2_jw_obj_end(w);
	lo2_jw_key(w, "segments");
	lo2_jw_arr(w);
	for (size_t i = 0; i < L->segments.n; i++) {
		struct lo2_json *doc = NULL;

		if (lo2_json_parse(L->segments.v[i], "segment", &doc, NULL) == 0)
			lo2_jw_node(w, doc);
		lo2_json_free(doc);
	}
	lo2_jw_arr_end(w);
	lo2_jw_obj_end(w);
	return lo2_jw_finish(w, NULL);
}

static int save_section(struct logs *L, struct lo2_err *err)
{
	lo2_autofree char *json = NULL;

	pthread_mutex_lock(&L->lock);
	json = section_json(L);
	pthread_mutex_unlock(&L->lock);
	return run_session_section(L->base.s, "logs", json, true, err);
}

/* Whether cf's container lived during [start, end) (a window gives it an empty file). */
static bool lived_in(const struct cfollow *cf, int64_t start, int64_t end)
{
	return cf->added_ns < end && (cf->gone_ns == 0 || cf->gone_ns > start);
}

/* Completes every file of iv (it is closing: no new file appears in it). */
static int commit_files(struct logs *L, struct interval *iv, struct lo2_err *err)
{
	int ret = 0;

	if (iv->window) {
		/* a container that wrote nothing in the window still gets its (empty) file */
		pthread_mutex_lock(&L->lock);
		for (struct cfollow *cf = L->fl; cf; cf = cf->next)
			if (lived_in(cf, iv->start, iv->end)) {
				lo2_autofree char *file = file_name(L, cf->name);

				isink_get(L, iv, file);
			}
		pthread_mutex_unlock(&L->lock);
	}
	for (size_t i = 0; i < iv->n_sinks; i++) {
		struct isink *k = iv->sinks[i];
		struct lo2_err e = {0};

		pthread_mutex_lock(&k->lock);
		if (k->sink == NULL && iv->window && open_sink(L, iv->dir, k->file, &k->sink, &e) < 0 &&
		    ret == 0) {
			*err = e;
			ret = -1;
		}
		if (k->sink && lo2_sink_commit(k->sink, &e) < 0 && ret == 0) {
			*err = e;
			ret = -1;
		}
		k->sink = NULL;
		k->done = true;
		pthread_mutex_unlock(&k->lock);
		if (!iv->window && k->lines > 0) {
			lo2_autofree char *rel = xasprintf("%s/%s", iv->rel, k->file);

			if (run_session_add_file(L->base.s, rel, &e) < 0 && ret == 0) {
				*err = e;
				ret = -1;
			}
		}
	}
	return ret < 0 ? lo2_err_prefix(err, "complete the logs of %s", iv->rel) : 0;
}

/* After iv's files are complete: each follower's committed position moves past them. */
static void advance_committed(struct logs *L, const struct interval *iv)
{
	pthread_mutex_lock(&L->lock);
	for (struct cfollow *cf = L->fl; cf; cf = cf->next) {
		pthread_mutex_lock(&cf->lock);
		for (int i = 0; i < cf->n_pend;) {
			if (cf->pend[i].seq != iv->seq) {
				i++;
				continue;
			}
			if (cf->pend[i].pos.ts > cf->committed.ts ||
			    (cf->pend[i].pos.ts == cf->committed.ts &&
			     cf->pend[i].pos.count > cf->committed.count))
				cf->committed = cf->pend[i].pos;
			cf->pend[i] = cf->pend[--cf->n_pend];
		}
		pthread_mutex_unlock(&cf->lock);
	}
	pthread_mutex_unlock(&L->lock);
}

static void commit(struct logs *L, struct interval *iv)
{
	struct lo2_err err = {0};
	int rc = commit_files(L, iv, &err);

	advance_committed(L, iv);
	if (!iv->window) {
		lo2_autofree char *seg = xasprintf(
		    "{\"dir\":\"%s\",\"start_ns\":%" PRId64 ",\"end_ns\":%" PRId64 ",\"late_lines\":%llu}",
		    iv->rel, iv->start, iv->end, (unsigned long long)atomic_load(&iv->late));

		pthread_mutex_lock(&L->lock);
		lo2_strv_push(&L->segments, seg);
		pthread_mutex_unlock(&L->lock);
	}
	if (rc < 0) {
		if (iv->w)
			run_window_error(iv->w, "logs", &err);
		else if (L->fail.msg[0] == '\0')
			L->fail = err;
	}
	/* a kill from here on loses nothing committed: the positions are in run.json */
	if (save_section(L, &err) < 0 && L->fail.msg[0] == '\0')
		L->fail = err;
	pthread_mutex_lock(&L->lock);
	iv->committed = true;
	iv->w = NULL; /* its test's finisher may free it from now on */
	pthread_cond_broadcast(&L->cond);
	pthread_mutex_unlock(&L->lock);
}

static void timed_wait(pthread_cond_t *c, pthread_mutex_t *m, int64_t ns)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)(ns % LO2_NS_PER_SEC);
	until.tv_sec += (time_t)(ns / LO2_NS_PER_SEC) + until.tv_nsec / LO2_NS_PER_SEC;
	until.tv_nsec %= LO2_NS_PER_SEC;
	pthread_cond_timedwait(c, m, &until);
}

static void *closer_main(void *arg)
{
	struct logs *L = arg;

	for (;;) {
		struct interval *iv = NULL;
		bool any_open = false, due = false;

		pthread_mutex_lock(&L->lock);
		for (struct cfollow *cf = L->fl; cf; cf = cf->next)
			if (cf->f && cf->gone_ns == 0 && run_follow_done(cf->f))
				cf->gone_ns = run_session_engine_now(L->base.s);
		for (struct interval *i = L->ivs; i; i = i->next)
			if (!i->committed) {
				any_open = true;
				due = i->end != INT64_MAX;
				if (due && all_passed(L, i->end)) {
					i->closing = true;
					iv = i;
				}
				break;
			}
		if (iv == NULL && !due && !atomic_load(&L->stopping))
			timed_wait(&L->cond, &L->lock,
			           CLOSER_IDLE_NS); /* nothing to close: an end set wakes it */
		pthread_mutex_unlock(&L->lock);
		if (iv) {
			commit(L, iv);
			continue;
		}
		if (!any_open && atomic_load(&L->stopping))
			break;
		if (due)
			lo2_sleep_ns(CLOSER_POLL_NS);
	}
	return NULL;
}

/* Waits until iv is committed. */
static void wait_committed(struct logs *L, struct interval *iv)
{
	pthread_mutex_lock(&L->lock);
	while (!iv->committed)
		pthread_cond_wait(&L->cond, &L->lock);
	pthread_mutex_unlock(&L->lock);
}

static struct interval *window_interval(struct logs *L, const struct run_window *w)
{
	for (struct interval *iv = L->ivs; iv; iv = iv->next)
		if (iv->window && iv->index == (long)w->index)
			return iv;
	return NULL;
}

/* ---- the collector's operations ---- */

static int logs_start(struct run_collector *c, struct lo2_err *err)
{
	struct logs *L = logs_of(c);

	pthread_mutex_lock(&L->lock);
	interval_add(L, NULL, run_session_number(c->s) == 1 ? "deploy" : "redeploy",
	             run_session_since_ns(c->s));
	pthread_mutex_unlock(&L->lock);
	if (lo2_thread_start(&L->closer, closer_main, L, "log window closer", err) < 0)
		return lo2_err_prefix(err, "logs");
	L->closer_started = true;
	run_hub_subscribe(run_session_hub(c->s), on_hub, L);
	return 0;
}

static int logs_test_begin(struct run_collector *c, struct run_window *w, struct lo2_err *err)
{
	struct logs *L = logs_of(c);

	pthread_mutex_lock(&L->lock);
	L->tail->end = w->start_ns;
	interval_add(L, w, NULL, w->start_ns);
	pthread_cond_broadcast(&L->cond);
	pthread_mutex_unlock(&L->lock);
	return 0;
}

static int logs_test_end(struct run_collector *c, struct run_window *w, struct lo2_err *err)
{
	struct logs *L = logs_of(c);
	lo2_autofree char *what = xasprintf("after-%s", w->tag);
	struct interval *iv;

	pthread_mutex_lock(&L->lock);
	iv = window_interval(L, w);
	if (iv)
		iv->end = w->end_ns;
	interval_add(L, NULL, what, w->end_ns);
	pthread_cond_broadcast(&L->cond);
	pthread_mutex_unlock(&L->lock);
	return 0;
}

static int logs_test_finish(struct run_collector *c, struct run_window *w, struct lo2_err *err)
{
	struct logs *L = logs_of(c);
	struct interval *iv;
	struct lo2_jw *j;
	lo2_autofree char *json = NULL;
	uint64_t total = 0;

	pthread_mutex_lock(&L->lock);
	iv = window_interval(L, w);
	pthread_mutex_unlock(&L->lock);
	if (iv == NULL)
		return 0;
	wait_committed(L, iv);
	j = lo2_jw_new(NULL);
	lo2_jw_obj(j);
	lo2_jw_key(j, "lines");
	lo2_jw_obj(j);
	for (size_t i = 0; i < iv->n_sinks; i++) {
		lo2_jw_key(j, iv->sinks[i]->file);
		lo2_jw_int(j, (int64_t)iv->sinks[i]->lines);
		total += iv->sinks[i]->lines;
	}
	lo2_jw_obj_end(j);
	lo2_jw_key(j, "total_lines");
	lo2_jw_int(j, (int64_t)total);
	lo2_jw_obj_end(j);
	json = lo2_jw_finish(j, NULL);
	run_window_section(w, "logs", json);
	run_session_say(c->s, "Fetched docker logs from %lld to %lld (%" PRIu64 " lines)",
	                (long long)(run_session_to_local(c->s, w->start_ns) / LO2_NS_PER_SEC),
	                (long long)(run_session_to_local(c->s, w->end_ns) / LO2_NS_PER_SEC), total);
	return 0;
}

static int logs_stop(struct run_collector *c, struct lo2_err *err)
{
	struct logs *L = logs_of(c);
	struct interval *last;
	int ret = 0;

	pthread_mutex_lock(&L->lock);
	/* ahead of now, and waited for: nothing after it can have been routed before it was set */
	L->until_ns = run_session_engine_now(c->s) + UNTIL_AHEAD_NS;
	last = L->tail;
	if (last)
		last->end = L->until_ns;
	pthread_cond_broadcast(&L->cond);
	pthread_mutex_unlock(&L->lock);
	while (run_session_engine_now(c->s) < L->until_ns)
		lo2_sleep_ns(10 * 1000 * 1000);
	if (last && L->closer_started)
		wait_committed(L, last);
	pthread_mutex_lock(&L->lock);
	atomic_store(&L->stopping, true);
	pthread_cond_broadcast(&L->cond);
	pthread_mutex_unlock(&L->lock);
	if (L->closer_started) {
		pthread_join(L->closer, NULL);
		L->closer_started = false;
	}
	pthread_mutex_lock(&L->lock);
	for (struct cfollow *cf = L->fl; cf; cf = cf->next)
		run_follow_cancel(cf->f); /* all at once: each ends while the next is joined */
	pthread_mutex_unlock(&L->lock);
	for (struct cfollow *cf = L->fl; cf; cf = cf->next) {
		struct lo2_err fe = {0};
		struct run_follow *f;

		if (cf->f == NULL)
			continue;
		run_follow_error(cf->f, &fe);
		if (fe.msg[0] && fe.kind != LO2_E_NOT_FOUND)
			run_session_warn(c->s, "%s", fe.msg);
		pthread_mutex_lock(&L->lock);
		f = cf->f;
		cf->f = NULL; /* section_json reads cf->last from here on */
		pthread_mutex_unlock(&L->lock);
		run_follow_stop(f, &cf->last);
	}
	if (L->late_iv) {
		struct lo2_err le = {0};

		L->late_iv->closing = true;
		if (commit_files(L, L->late_iv, &le) < 0 && L->fail.msg[0] == '\0')
			L->fail = le;
		run_session_warn(c->s, "%llu log lines came after their window was complete; they are in %s",
		                 (unsigned long long)atomic_load(&L->late_iv->late), L->late_iv->rel);
	}
	if (save_section(L, err) < 0)
		ret = -1;
	if (ret == 0 && L->fail.msg[0]) {
		*err = L->fail;
		ret = -1;
	}
	return ret;
}

/* ---- recovery after a kill (--resume) ---- */

struct recover {
	struct logs *L;
	const char *name;
	char *between_dir; /* absolute */
	char *between_rel;
	struct lo2_kvv files; /* path -> "" for the sinks opened */
	struct lo2_sink **sinks;
	size_t n;
	uint64_t lines;
	int prior_session;
};

static const struct run_attempt *attempt_of(struct run_session *s, int session, int64_t ts)
{
	for (size_t i = 0; i < run_session_n_tests(s); i++) {
		const struct run_test *t = run_session_test(s, i);

		for (size_t k = 0; k < t->n_attempts; k++) {
			const struct run_attempt *a = &t->attempts[k];

			if (a->session == session && ts >= a->start_ns && (a->end_ns == 0 || ts < a->end_ns))
				return a;
		}
	}
	return NULL;
}

static int recover_line(void *user, const struct run_follow_line *l, struct lo2_err *err)
{
	struct recover *r = user;
	struct run_session *s = r->L->base.s;
	const struct run_attempt *a = attempt_of(s, r->prior_session, l->ts);
	lo2_autofree char *dir = a ? xasprintf("%s/%s", run_session_dir(s), a->dir) : xstrdup(r->between_dir);
	lo2_autofree char *file = file_name(r->L, r->name);
	lo2_autofree char *path = xasprintf("%s/%s", dir, file);
	size_t i;

	for (i = 0; i < r->files.n; i++)
		if (strcmp(r->files.v[i].key, path) == 0)
			break;
	if (i == r->files.n) {
		r->sinks = xrealloc(r->sinks, (r->n + 1) * sizeof(*r->sinks));
		if (open_sink(r->L, dir, file, &r->sinks[r->n], err) < 0)
			return -1;
		lo2_kvv_set(&r->files, path, a ? "" : file);
		r->n++;
	}
	r->lines++;
	return write_line(r->L, r->sinks[i], l, err);
}

/* Collects, from one container of the killed session, what came after its committed position. */
static int recover_container(struct logs *L, struct recover *r, const char *id, const struct lo2_json *c,
                             int64_t since, struct lo2_err *err)
{
	struct run_session *s = L->base.s;
	const struct lo2_json *pos = lo2_json_get(c, "committed");
	int64_t ts = 0, count = 0;
	struct run_follow_opts o = {
	    .id = id, .since_ns = since, .follow = false, .fn = recover_line, .user = r};
	int rc;

	lo2_json_int(lo2_json_at(pos, 0), &ts);
	lo2_json_int(lo2_json_at(pos, 1), &count);
	o.from = (struct run_follow_pos){ts, (uint32_t)count};
	o.name = r->name;
	rc = run_follow_run(run_session_engine(s), &o, NULL, err);
	if (rc < 0 && err->kind == LO2_E_NOT_FOUND) {
		run_session_warn(
		    s, "container %s of session %d no longer exists: its lines after %" PRId64 " are lost",
		    r->name, r->prior_session, ts);
		lo2_err_clear(err);
		return 0;
	}
	return rc;
}

static int commit_recovered(struct logs *L, struct recover *r, struct lo2_err *err)
{
	int ret = 0;

	for (size_t i = 0; i < r->n; i++) {
		struct lo2_err e = {0};

		if (lo2_sink_commit(r->sinks[i], &e) < 0 && ret == 0) {
			*err = e;
			ret = -1;
		}
		if (ret == 0 && r->files.v[i].val[0]) {
			lo2_autofree char *rel = xasprintf("%s/%s", r->between_rel, r->files.v[i].val);

			ret = run_session_add_file(L->base.s, rel, err);
		}
	}
	free(r->sinks);
	r->sinks = NULL;
	r->n = 0;
	lo2_kvv_free(&r->files);
	return ret;
}

static int logs_resume(struct run_collector *c, const struct lo2_json *prior, struct lo2_err *err)
{
	struct logs *L = logs_of(c);
	const struct lo2_json *cs = lo2_json_get(prior, "containers"),
	                      *segs = lo2_json_get(prior, "segments");
	struct recover r = {.L = L};
	int64_t since = 0, session = 0;
	int ret = 0;

	for (size_t i = 0; i < lo2_json_len(segs); i++) {
		struct lo2_jw *w = lo2_jw_new(NULL);
		char *text;

		lo2_jw_node(w, lo2_json_at(segs, i));
		text = lo2_jw_finish(w, NULL);
		lo2_strv_take(&L->segments, text);
	}
	lo2_json_int(lo2_json_get(prior, "since_ns"), &since);
	lo2_json_int(lo2_json_get(prior, "session"), &session);
	r.prior_session = (int)session;
	r.between_rel =
	    xasprintf("_between/s%d-%03d-recovered", run_session_number(c->s), L->segments_made++);
	r.between_dir = xasprintf("%s/%s", run_session_dir(c->s), r.between_rel);
	for (size_t i = 0; i < lo2_json_len(cs) && ret == 0; i++) {
		const struct lo2_json *e = lo2_json_val_at(cs, i);
		const char *name = lo2_json_str(lo2_json_get(e, "name"));

		r.name = name ? name : lo2_json_key_at(cs, i);
		ret = recover_container(L, &r, lo2_json_key_at(cs, i), e, since, err);
		if (commit_recovered(L, &r, err) < 0 && ret == 0)
			ret = -1;
	}
	if (ret == 0) {
		lo2_autofree char *seg = xasprintf("{\"dir\":\"%s\",\"recovered_lines\":%llu}", r.between_rel,
		                                   (unsigned long long)r.lines);

		lo2_strv_push(&L->segments, seg);
		run_session_recovered(c->s, r.lines);
		run_session_say(
		    c->s, "Recovered %llu lines the containers of session %d wrote after it was stopped",
		    (unsigned long long)r.lines, r.prior_session);
	}
	free(r.between_dir);
	free(r.between_rel);
	return ret < 0 ? lo2_err_prefix(err, "recover the logs of session %d", r.prior_session) : 0;
}

static void logs_destroy(struct run_collector *c)
{
	struct logs *L = logs_of(c);
	struct interval *iv, *inext;
	struct cfollow *cf, *cnext;

	atomic_store(&L->stopping, true);
	if (L->closer_started)
		pthread_join(L->closer, NULL);
	for (cf = L->fl; cf; cf = cnext) {
		cnext = cf->next;
		run_follow_stop(cf->f, NULL);
		pthread_mutex_destroy(&cf->lock);
		free(cf->id);
		free(cf->name);
		free(cf->rotation);
		free(cf);
	}
	if (L->late_iv) {
		L->late_iv->next = L->ivs;
		L->ivs = L->late_iv;
	}
	for (iv = L->ivs; iv; iv = inext) {
		inext = iv->next;
		for (size_t i = 0; i < iv->n_sinks; i++) {
			lo2_sink_abort(iv->sinks[i]->sink);
			pthread_mutex_destroy(&iv->sinks[i]->lock);
			free(iv->sinks[i]->file);
			free(iv->sinks[i]);
		}
		free(iv->sinks);
		free(iv->dir);
		free(iv->rel);
		free(iv);
	}
	lo2_strv_free(&L->segments);
	pthread_cond_destroy(&L->cond);
	pthread_mutex_destroy(&L->lock);
	free(L);
}

static const struct run_collector_ops logs_ops = {
    .name = "logs",
    .resume = logs_resume,
    .start = logs_start,
    .test_begin = logs_test_begin,
    .test_end = logs_test_end,
    .test_finish = logs_test_finish,
    .stop = logs_stop,
    .destroy = logs_destroy,
};

int run_collector_logs(struct run_session *s, struct run_collector **out, struct lo2_err *err)
{
	struct logs *L = xcalloc(1, sizeof(*L));
	const struct run_config *c = run_session_config(s);

	L->base.ops = &logs_ops;
	L->base.s = s;
	L->compress = c->compress;
	L->keep_ts = c->timestamps;
	pthread_mutex_init(&L->lock, NULL);
	pthread_cond_init(&L->cond, NULL);
	*out = &L->base;
	return 0;
}
