/* hub.c - the run's container event hub (see hub.h): one /events subscription resubscribed
 * from its last event when the stream breaks (replayed events dropped), a container table with
 * each container's state and event counter, and a reconcile thread that lists the containers
 * every few seconds in case the stream missed something. Subscribers are called on one thread at
 * a time (the dispatch lock), never with the table's lock held. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/mem.h"
#include "common/thread.h"
#include "common/time.h"
#include "engine/engine.h"
#include "run/hub.h"

#define LBL_PROJECT "com.docker.compose.project"
#define LBL_SERVICE "com.docker.compose.service"
#define SEEN_MAX 64

struct hub_container {
	char *id, *name, *service, *image;
	bool locust, running, destroyed;
	uint64_t gen;
	struct hub_container *next;
};

struct hub_sub {
	run_hub_fn fn;
	void *user;
};

struct run_hub {
	struct engine *e;
	char *project, *locust_label;
	int reconcile_s;
	pthread_mutex_t lock; /* the table and gen; cond waits on it */
	pthread_cond_t cond;
	pthread_mutex_t dispatch; /* one delivery at a time, and the subscriber list */
	struct hub_container *list;
	struct hub_sub *subs;
	size_t n_subs;
	atomic_bool stop, poke;
	pthread_t events_thread, reconcile_thread;
	bool events_started, reconcile_started;
	int64_t last_ns; /* time of the newest event taken */
	char seen[SEEN_MAX][80]; /* "<id>/<action>" of events at last_ns, to drop replays */
	int n_seen;
};

static struct hub_container *find(struct run_hub *h, const char *id)
{
	for (struct hub_container *c = h->list; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

/* Whether labels make the container one of ours; sets *locust for lo2's Locust containers. */
static bool ours(const struct run_hub *h, const struct lo2_kvv *labels, bool *locust)
{
	const char *p = lo2_kvv_get(labels, LBL_PROJECT);
	const char *l = h->locust_label ? lo2_kvv_get(labels, h->locust_label) : NULL;

	*locust = l && strcmp(l, h->project) == 0;
	return *locust || (p && strcmp(p, h->project) == 0);
}

static void deliver(struct run_hub *h, const struct run_hub_event *ev)
{
	pthread_mutex_lock(&h->dispatch);
	for (size_t i = 0; i < h->n_subs; i++)
		h->subs[i].fn(h->subs[i].user, ev);
	pthread_mutex_unlock(&h->dispatch);
}

static bool running_after(const char *action, bool before)
{
	if (strcmp(action, "start") == 0 || strcmp(action, "restart") == 0 || strcmp(action, "unpause") == 0)
		return true;
	if (strcmp(action, "die") == 0 || strcmp(action, "destroy") == 0)
		return false;
	return before;
}

/* Updates the table for one event and delivers it (copies taken under the lock). */
static void take(struct run_hub *h, const char *action, const char *id, const char *name, const char *image,
                 const struct lo2_kvv *attrs, bool locust, int64_t time_ns, int running_hint)
{
	struct hub_container *c;
	struct run_hub_event ev = {
	    .action = action, .id = id, .locust = locust, .time_ns = time_ns, .attrs = attrs};
	lo2_autofree char *cname = NULL, *service = NULL, *cimage = NULL;

	pthread_mutex_lock(&h->lock);
	c = find(h, id);
	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		c->id = xstrdup(id);
		c->locust = locust;
		c->next = h->list;
		h->list = c;
	}
	if (name && (c->name == NULL || strcmp(c->name, name) != 0)) {
		free(c->name);
		c->name = xstrdup(name);
	}
	if (c->service == NULL && attrs && lo2_kvv_get(attrs, LBL_SERVICE))
		c->service = xstrdup(lo2_kvv_get(attrs, LBL_SERVICE));
	if (c->image == NULL && image)
		c->image = xstrdup(image);
	c->running = running_hint >= 0 ? running_hint != 0 : running_after(action, c->running);
	if (strcmp(action, "destroy") == 0)
		c->destroyed = true;
	c->gen++;
	cname = xstrdup(c->name);
	service = xstrdup(c->service);
	cimage = xstrdup(c->image);
	ev.running = c->running;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	ev.name = cname;
	ev.service = service;
	ev.image = cimage;
	deliver(h, &ev);
}

/* True when the event was already taken (a replay after resubscribing). */
static bool replayed(struct run_hub *h, const struct engine_event *ev)
{
	char key[80];

	if (ev->time_ns < h->last_ns)
		return true;
	snprintf(key, sizeof(key), "%.64s/%.14s", ev->id, ev->action);
	if (ev->time_ns > h->last_ns) {
		h->last_ns = ev->time_ns;
		h->n_seen = 0;
	}
	for (int i = 0; i < h->n_seen; i++)
		if (strcmp(h->seen[i], key) == 0)
			return true;
	if (h->n_seen < SEEN_MAX)
		snprintf(h->seen[h->n_seen++], sizeof(h->seen[0]), "%s", key);
	return false;
}

static int on_event(void *user, const struct engine_event *ev)
{
	struct run_hub *h = user;
	bool locust = false;

	if (atomic_load(&h->stop))
		return 1;
	if (ev->id == NULL || ev->action == NULL || ev->type == NULL || strcmp(ev->type, "container") != 0)
		return 0;
	if (strncmp(ev->action, "exec_", 5) == 0 || !ours(h, ev->attrs, &locust) || replayed(h, ev))
		return 0;
	take(h, ev->action, ev->id, ev->name, lo2_kvv_get(ev->attrs, "image"), ev->attrs, locust, ev->time_ns,
	     -1);
	return 0;
}

static void *events_main(void *arg)
{
	struct run_hub *h = arg;
	struct lo2_strv filters = {0};

	lo2_strv_push(&filters, "type=container");
	while (!atomic_load(&h->stop)) {
		struct engine_events_opts o = {
		    .since_ns = h->last_ns, .filters = &filters, .cancel = &h->stop};
		struct lo2_err err = {0};

		if (engine_events(h->e, &o, on_event, h, &err) < 0 && !atomic_load(&h->stop))
			lo2_debug("event hub: %s (subscribing again from the last event)", err.msg);
		atomic_store(&h->poke, true); /* a reconnect may have missed events: list now */
		for (int i = 0; i < 4 && !atomic_load(&h->stop); i++)
			lo2_sleep_ns(50 * 1000 * 1000);
	}
	lo2_strv_free(&filters);
	return NULL;
}

static bool listed_running(const char *state)
{
	return state && (strcmp(state, "running") == 0 || strcmp(state, "paused") == 0);
}

/* Lists our containers; tells about ones the table does not know or whose state differs, and
 * about ones gone without a destroy event. */
static int reconcile(struct run_hub *h, struct lo2_err *err)
{
	struct engine_container_list all[2] = {{0}, {0}};
	const char *keys[2] = {LBL_PROJECT, h->locust_label};
	int64_t now = lo2_now_ns();
	int ret = 0;

	for (int k = 0; k < 2 && ret == 0; k++) {
		struct lo2_strv filters = {0};

		if (keys[k] == NULL)
			continue;
		lo2_strv_take(&filters, xasprintf("label=%s=%s", keys[k], h->project));
		ret = engine_container_list(h->e, &filters, true, &all[k], err);
		lo2_strv_free(&filters);
	}
	for (int k = 0; k < 2 && ret == 0; k++) {
		for (size_t i = 0; i < all[k].n; i++) {
			const struct engine_container_summary *s = &all[k].v[i];
			bool known, running = false, destroyed = false,
			            now_running = listed_running(s->state);

			if (s->id == NULL)
				continue;
			known = run_hub_container_state(h, s->id, &running, &destroyed, NULL);
			if (!known || running != now_running)
				take(h, "exists", s->id, s->name, s->image, &s->labels, k == 1, now,
				     now_running);
		}
	}
	if (ret == 0) {
		struct lo2_strv gone = {0};

		pthread_mutex_lock(&h->lock);
		for (struct hub_container *c = h->list; c; c = c->next) {
			bool present = false;

			for (int k = 0; k < 2 && !present; k++)
				for (size_t i = 0; i < all[k].n && !present; i++)
					present = all[k].v[i].id && strcmp(all[k].v[i].id, c->id) == 0;
			if (!present && !c->destroyed)
				lo2_strv_push(&gone, c->id);
		}
		pthread_mutex_unlock(&h->lock);
		for (size_t i = 0; i < gone.n; i++)
			take(h, "destroy", gone.v[i], NULL, NULL, NULL, false, now, 0);
		lo2_strv_free(&gone);
	}
	engine_container_list_free(&all[0]);
	engine_container_list_free(&all[1]);
	return ret;
}

static void *reconcile_main(void *arg)
{
	struct run_hub *h = arg;
	int64_t next = lo2_mono_ns() + (int64_t)h->reconcile_s * LO2_NS_PER_SEC;

	while (!atomic_load(&h->stop)) {
		struct lo2_err err = {0};

		if (atomic_exchange(&h->poke, false) || lo2_mono_ns() >= next) {
			if (reconcile(h, &err) < 0)
				lo2_debug("event hub: %s", err.msg);
			next = lo2_mono_ns() + (int64_t)h->reconcile_s * LO2_NS_PER_SEC;
		}
		lo2_sleep_ns(100 * 1000 * 1000);
	}
	return NULL;
}

int run_hub_start(struct engine *e, const struct run_hub_opts *o, struct run_hub **out, struct lo2_err *err)
{
	struct run_hub *h = xcalloc(1, sizeof(*h));

	h->e = e;
	h->project = xstrdup(o->project);
	h->locust_label = xstrdup(o->locust_label);
	h->reconcile_s = o->reconcile_s > 0 ? o->reconcile_s : 10;
	h->last_ns = o->since_ns;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->dispatch, NULL);
	pthread_cond_init(&h->cond, NULL);
	if (reconcile(h, err) < 0 ||
	    lo2_thread_start(&h->events_thread, events_main, h, "engine events", err) < 0) {
		run_hub_stop(h);
		return lo2_err_prefix(err, "container event hub of %s", o->project);
	}
	h->events_started = true;
	if (lo2_thread_start(&h->reconcile_thread, reconcile_main, h, "container reconcile", err) < 0) {
		run_hub_stop(h);
		return lo2_err_prefix(err, "container event hub of %s", o->project);
	}
	h->reconcile_started = true;
	*out = h;
	return 0;
}

void run_hub_subscribe(struct run_hub *h, run_hub_fn fn, void *user)
{
	struct hub_container *c;

	pthread_mutex_lock(&h->dispatch);
	h->subs = xrealloc(h->subs, (h->n_subs + 1) * sizeof(*h->subs));
	h->subs[h->n_subs++] = (struct hub_sub){fn, user};
	pthread_mutex_lock(&h->lock);
	/* The table cannot change while the dispatch lock is held except by take(), which waits
	 * for it before delivering; copy what the new subscriber is told. */
	for (c = h->list; c; c = c->next) {
		struct run_hub_event ev = {.action = "exists",
		                           .id = c->id,
		                           .name = c->name,
		                           .service = c->service,
		                           .image = c->image,
		                           .locust = c->locust,
		                           .running = c->running,
		                           .time_ns = lo2_now_ns()};

		if (c->destroyed)
			continue;
		pthread_mutex_unlock(&h->lock);
		fn(user, &ev);
		pthread_mutex_lock(&h->lock);
	}
	pthread_mutex_unlock(&h->lock);
	pthread_mutex_unlock(&h->dispatch);
}

bool run_hub_container_state(struct run_hub *h, const char *id, bool *running, bool *destroyed, uint64_t *gen)
{
	struct hub_container *c;
	bool known;

	pthread_mutex_lock(&h->lock);
	c = find(h, id);
	known = c != NULL;
	if (running)
		*running = c && c->running;
	if (destroyed)
		*destroyed = c && c->destroyed;
	if (gen)
		*gen = c ? c->gen : 0;
	pthread_mutex_unlock(&h->lock);
	return known;
}

uint64_t run_hub_wait(struct run_hub *h, const char *id, uint64_t gen, int64_t timeout_ns)
{
	struct timespec until;
	struct hub_container *c;
	uint64_t now_gen = gen;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)(timeout_ns / LO2_NS_PER_SEC);
	until.tv_nsec += (long)(timeout_ns % LO2_NS_PER_SEC);
	if (until.tv_nsec >= LO2_NS_PER_SEC) {
		until.tv_sec++;
		until.tv_nsec -= LO2_NS_PER_SEC;
	}
	pthread_mutex_lock(&h->lock);
	for (;;) {
		c = find(h, id);
		now_gen = c ? c->gen : 0;
		if (now_gen != gen || atomic_load(&h->stop) ||
		    pthread_cond_timedwait(&h->cond, &h->lock, &until) != 0)
			break;
	}
	c = find(h, id);
	now_gen = c ? c->gen : 0;
	pthread_mutex_unlock(&h->lock);
	return now_gen;
}

void run_hub_poke(struct run_hub *h)
{
	atomic_store(&h->poke, true);
}

void run_hub_stop(struct run_hub *h)
{
	struct hub_container *c, *next;

	if (h == NULL)
		return;
	atomic_store(&h->stop, true);
	pthread_mutex_lock(&h->lock);
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	if (h->events_started)
		pthread_join(h->events_thread, NULL);
	if (h->reconcile_started)
		pthread_join(h->reconcile_thread, NULL);
	for (c = h->list; c; c = next) {
		next = c->next;
		free(c->id);
		free(c->name);
		free(c->service);
		free(c->image);
		free(c);
	}
	free(h->subs);
	free(h->project);
	free(h->locust_label);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->dispatch);
	free(h);
}
