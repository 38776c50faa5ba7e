/* c_events.c - the container events of the run into run.json: each event the hub reports is
 * recorded in the test whose window holds its time, or in the run's list of events between tests
 * (deploy, waits, teardown), so restarts, kills, OOMs and health changes are ground truth beside
 * the data. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/mem.h"
#include "run/collector.h"
#include "run/collectors.h"
#include "run/hub.h"

#define BETWEEN_MAX 20000

struct events {
	struct run_collector base;
	pthread_mutex_t lock;
	struct run_window *win[2]; /* the open window, and the one before (its end may be late) */
	struct lo2_jw *between; /* events outside every window, as a JSON array being written */
	size_t n_between, dropped;
};

static bool recorded(const char *action)
{
	static const char *const keep[] = {"create", "start", "restart", "die",     "kill",  "stop",
	                                   "oom",    "pause", "unpause", "destroy", "rename"};

	if (strncmp(action, "health_status", 13) == 0)
		return true;
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (strcmp(action, keep[i]) == 0)
			return true;
	return false;
}

static void on_hub(void *user, const struct run_hub_event *ev)
{
	struct events *E = user;
	const char *exit_code = ev->attrs ? lo2_kvv_get(ev->attrs, "exitCode") : NULL;
	const char *who = ev->name ? ev->name : ev->id;
	struct run_window *w = NULL;

	if (ev->locust || !recorded(ev->action))
		return;
	pthread_mutex_lock(&E->lock);
	for (int i = 0; i < 2 && w == NULL; i++)
		if (E->win[i] && ev->time_ns >= E->win[i]->start_ns && ev->time_ns < E->win[i]->end_ns)
			w = E->win[i];
	if (w == NULL) {
		if (E->n_between < BETWEEN_MAX) {
			lo2_jw_obj(E->between);
			lo2_jw_key(E->between, "time_ns");
			lo2_jw_int(E->between, ev->time_ns);
			lo2_jw_key(E->between, "container");
			lo2_jw_str(E->between, who);
			lo2_jw_key(E->between, "action");
			lo2_jw_str(E->between, ev->action);
			if (exit_code) {
				lo2_jw_key(E->between, "exit_code");
				lo2_jw_str(E->between, exit_code);
			}
			lo2_jw_obj_end(E->between);
			E->n_between++;
		} else {
			E->dropped++;
		}
	} else {
		/* under the lock: the window lives until its test_finish took it out */
		run_window_event(w, ev->time_ns, who, ev->action, exit_code);
	}
	pthread_mutex_unlock(&E->lock);
}

static int events_start(struct run_collector *c, struct lo2_err *err)
{
	run_hub_subscribe(run_session_hub(c->s), on_hub, c);
	return 0;
}

static int events_test_begin(struct run_collector *c, struct run_window *w, struct lo2_err *err)
{
	struct events *E = (struct events *)c;

	pthread_mutex_lock(&E->lock);
	E->win[1] = E->win[0];
	E->win[0] = w;
	pthread_mutex_unlock(&E->lock);
	return 0;
}

/* The window record outlives test_finish only until the next test ends: forget it then. */
static int events_test_finish(struct run_collector *c, struct run_window *w, struct lo2_err *err)
{
	struct events *E = (struct events *)c;

	pthread_mutex_lock(&E->lock);
	for (int i = 0; i < 2; i++)
		if (E->win[i] == w)
			E->win[i] = NULL;
	pthread_mutex_unlock(&E->lock);
	return 0;
}

static int events_stop(struct run_collector *c, struct lo2_err *err)
{
	struct events *E = (struct events *)c;
	lo2_autofree char *json = NULL;
	struct lo2_jw *w = lo2_jw_new(NULL);
	lo2_autofree char *list = NULL;
	struct lo2_json *doc = NULL;

	pthread_mutex_lock(&E->lock);
	lo2_jw_arr_end(E->between);
	list = lo2_jw_finish(E->between, NULL);
	E->between = lo2_jw_new(NULL);
	lo2_jw_arr(E->between);
	pthread_mutex_unlock(&E->lock);
	lo2_jw_obj(w);
	lo2_jw_key(w, "between_tests");
	if (lo2_json_parse(list, "events", &doc, NULL) == 0)
		lo2_jw_node(w, doc);
	else
		lo2_jw_null(w);
	lo2_json_free(doc);
	lo2_jw_key(w, "not_recorded");
	lo2_jw_int(w, (int64_t)E->dropped);
	lo2_jw_obj_end(w);
	json = lo2_jw_finish(w, NULL);
	return run_session_section(c->s, "events", json, false, err);
}

static void events_destroy(struct run_collector *c)
{
	struct events *E = (struct events *)c;

	lo2_jw_free(E->between);
	pthread_mutex_destroy(&E->lock);
	free(E);
}

static const struct run_collector_ops events_ops = {
    .name = "events",
    .start = events_start,
    .test_begin = events_test_begin,
    .test_finish = events_test_finish,
    .stop = events_stop,
    .destroy = events_destroy,
};

int run_collector_events(struct run_session *s, struct run_collector **out, struct lo2_err *err)
{
	struct events *E = xcalloc(1, sizeof(*E));

	E->base.ops = &events_ops;
	E->base.s = s;
	pthread_mutex_init(&E->lock, NULL);
	E->between = lo2_jw_new(NULL);
	lo2_jw_arr(E->between);
	*out = &E->base;
	return 0;
}
