/* c_stats.c - the engine stats collector: one streamed stats request per container of the run
 * (run/stats.h), samples routed by their read time into the test windows (<tag>/metrics/
 * metric_lo2_container_*.json) and the _between segments; per test a section with each
 * container's samples, CPU seconds and peak memory, and its stream errors. */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/time.h"
#include "run/collector.h"
#include "run/collectors.h"
#include "run/stats.h"

#define UNTIL_AHEAD_NS (50 * 1000 * 1000)

struct between {
	int n; /* the interval */
	char *rel; /* _between/s<session>-<nnn>-<what>/metrics */
	struct between *next;
};

struct window {
	size_t index;
	int n;
	struct window *next;
};

struct cstats {
	struct run_collector base;
	struct run_stats *rs;
	pthread_mutex_t lock; /* bs, ws, fail */
	struct between *bs;
	struct window *ws;
	int segments_made, last;
	struct lo2_err fail; /* a _between segment that could not be written or recorded */
};

static int64_t engine_now(void *user)
{
	return run_session_engine_now(((struct cstats *)user)->base.s);
}

static void warn(void *user, const char *msg)
{
	run_session_warn(((struct cstats *)user)->base.s, "stats: %s", msg);
}

/* A _between segment was written: its files become run-level files; its stream errors are
 * warnings (no test owns them). */
static void written(void *user, int n, const char *dir, const struct run_stats_result *r,
                    const struct lo2_err *werr)
{
	struct cstats *S = user;
	struct lo2_err err = {0};
	const char *rel = NULL;

	pthread_mutex_lock(&S->lock);
	for (struct between *b = S->bs; b; b = b->next)
		if (b->n == n)
			rel = b->rel;
	pthread_mutex_unlock(&S->lock);
	if (rel == NULL)
		return;
	if (werr)
		err = *werr;
	for (size_t i = 0; i < r->files.n && err.msg[0] == '\0'; i++) {
		lo2_autofree char *path = xasprintf("%s/%s", rel, r->files.v[i]);

		run_session_add_file(S->base.s, path, &err);
	}
	for (size_t i = 0; i < r->errors.n; i++)
		run_session_warn(S->base.s, "stats in %s: %s", rel, r->errors.v[i]);
	pthread_mutex_lock(&S->lock);
	if (err.msg[0] && S->fail.msg[0] == '\0')
		S->fail = err;
	pthread_mutex_unlock(&S->lock);
}

static int open_between(struct cstats *S, const char *what, int64_t start)
{
	struct between *b = xcalloc(1, sizeof(*b));
	lo2_autofree char *dir = NULL;

	b->rel = xasprintf("_between/s%d-%03d-%s/metrics", run_session_number(S->base.s), S->segments_made++,
	                   what);
	dir = xasprintf("%s/%s", run_session_dir(S->base.s), b->rel);
	pthread_mutex_lock(&S->lock); /* S->lock, then the recorder's: written() finds it */
	b->n = run_stats_open(S->rs, start, dir);
	b->next = S->bs;
	S->bs = b;
	S->last = b->n;
	pthread_mutex_unlock(&S->lock);
	return 0;
}

static int stats_start(struct run_collector *c, struct lo2_err *err)
{
	struct cstats *S = (struct cstats *)c;
	struct run_stats_opts o = {.e = run_session_engine(c->s),
	                           .hub = run_session_hub(c->s),
	                           .project = run_session_project(c->s),
	                           .now = engine_now,
	                           .warn = warn,
	                           .written = written,
	                           .hurry = run_session_cancel(c->s),
	                           .user = S};

	if (run_stats_start(&o, &S->rs, err) < 0)
		return -1;
	return open_between(S, run_session_number(c->s) == 1 ? "deploy" : "redeploy",
	                    run_session_since_ns(c->s));
}

static int stats_test_begin(struct run_collector *c, struct run_window *w, struct lo2_err *err)
{
	struct cstats *S = (struct cstats *)c;
	struct window *win = xcalloc(1, sizeof(*win));
	lo2_autofree char *dir = xasprintf("%s/metrics", w->dir);

	win->index = w->index;
	win->n = run_stats_open(S->rs, w->start_ns, dir);
	pthread_mutex_lock(&S->lock);
	win->next = S->ws;
	S->ws = win;
	pthread_mutex_unlock(&S->lock);
	return 0;
}

static int stats_test_end(struct run_collector *c, struct run_window *w, struct lo2_err *err)
{
	struct cstats *S = (struct cstats *)c;
	lo2_autofree char *what = xasprintf("after-%s", w->tag);

	return open_between(S, what, w->end_ns);
}

static int stats_test_finish(struct run_collector *c, struct run_window *w, struct lo2_err *err)
{
	struct cstats *S = (struct cstats *)c;
	struct run_stats_result r;
	struct lo2_err e = {0};
	int n = -1;

	pthread_mutex_lock(&S->lock);
	for (struct window *win = S->ws; win; win = win->next)
		if (win->index == w->index)
			n = win->n;
	pthread_mutex_unlock(&S->lock);
	if (n < 0)
		return 0;
	if (run_stats_wait(S->rs, n, &r, &e) < 0)
		run_window_error(w, "stats", &e);
	if (r.section)
		run_window_section(w, "stats", r.section);
	run_window_errors(w, "stats", &r.errors);
	run_session_say(c->s, "Recorded engine stats of %zu containers (%" PRIu64 " samples, %zu files)",
	                r.containers, r.samples, r.files.n);
	run_stats_result_free(&r);
	return 0;
}

static int stats_stop(struct run_collector *c, struct lo2_err *err)
{
	struct cstats *S = (struct cstats *)c;
	struct run_stats_result r;
	struct lo2_err e = {0};
	lo2_autofree char *json = NULL;
	int ret = 0;

	if (S->rs == NULL)
		return 0;
	run_stats_close(S->rs, run_session_engine_now(c->s) + UNTIL_AHEAD_NS);
	if (run_stats_wait(S->rs, S->last, &r, &e) < 0 && S->fail.msg[0] == '\0')
		S->fail = e;
	run_stats_result_free(&r);
	run_stats_stop(S->rs);
	json = run_stats_section(S->rs);
	if (run_session_section(c->s, "stats", json, true, err) < 0)
		ret = -1;
	if (ret == 0 && S->fail.msg[0]) {
		*err = S->fail;
		ret = -1;
	}
	return ret;
}

static void stats_destroy(struct run_collector *c)
{
	struct cstats *S = (struct cstats *)c;

	run_stats_free(S->rs);
	while (S->bs) {
		struct between *b = S->bs;

		S->bs = b->next;
		free(b->rel);
		free(b);
	}
	while (S->ws) {
		struct window *w = S->ws;

		S->ws = w->next;
		free(w);
	}
	pthread_mutex_destroy(&S->lock);
	free(S);
}

static const struct run_collector_ops stats_ops = {
    .name = "stats",
    .start = stats_start,
    .test_begin = stats_test_begin,
    .test_end = stats_test_end,
    .test_finish = stats_test_finish,
    .stop = stats_stop,
    .destroy = stats_destroy,
};

int run_collector_stats(struct run_session *s, struct run_collector **out, struct lo2_err *err)
{
	struct cstats *S = xcalloc(1, sizeof(*S));

	S->base.ops = &stats_ops;
	S->base.s = s;
	pthread_mutex_init(&S->lock, NULL);
	*out = &S->base;
	return 0;
}
