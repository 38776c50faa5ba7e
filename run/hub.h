/* hub.h - the run's one engine events subscription, fanned out to whoever needs to know about
 * the project's containers (the log and stats followers, the manifest's events, faults): a
 * container that appears, starts, dies, restarts or is destroyed is told to every subscriber,
 * in the engine's order. A slow periodic reconcile (container list) is the safety net for an
 * event the stream missed (a reconnect beyond the engine's 256-event buffer). */
#ifndef LO2_RUN_HUB_H
#define LO2_RUN_HUB_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/str.h"

struct engine;
struct run_hub;

struct run_hub_event {
	/* The engine's action (create, start, restart, die, stop, kill, oom, pause, unpause,
	 * destroy, "health_status: healthy", ...), or "exists" for a container the hub learned of
	 * from a list (at subscription, or by the reconcile) rather than from an event. */
	const char *action;
	const char *id; /* full container ID */
	const char *name; /* container name, without '/' */
	const char *service; /* its com.docker.compose.service label, or NULL */
	const char *image;
	bool locust; /* lo2's Locust container of this run, not a compose service */
	bool running; /* the hub's view after this event */
	int64_t time_ns; /* engine clock (for "exists": when the hub learned of it) */
	const struct lo2_kvv *attrs; /* the event's Actor.Attributes (labels, exitCode, signal, ...) */
};
/* Called on the hub's thread, in event order; must not block nor call the engine. */
typedef void (*run_hub_fn)(void *user, const struct run_hub_event *ev);

struct run_hub_opts {
	const char *project; /* containers labelled com.docker.compose.project=<project> */
	const char *locust_label; /* and containers labelled <locust_label>=<project> */
	int64_t since_ns; /* engine clock: events from here (subscribe before deploying) */
	int reconcile_s; /* seconds between safety-net lists (0: 10) */
};

/* Subscribes to the engine's container events and lists the matching containers once. */
int run_hub_start(struct engine *e, const struct run_hub_opts *o, struct run_hub **out, struct lo2_err *err);
/* Adds a subscriber: fn is first called with "exists" for every container known now, then with
 * every later event. Subscribers stay until run_hub_stop. */
void run_hub_subscribe(struct run_hub *h, run_hub_fn fn, void *user);
/* What the hub knows of a container: false when it never saw it. Fills *running, *destroyed and
 * *gen (the container's event counter, for run_hub_wait); each pointer may be NULL. */
bool run_hub_container_state(struct run_hub *h, const char *id, bool *running, bool *destroyed,
                             uint64_t *gen);
/* Blocks until an event about container id arrives after its counter was gen, the hub stops, or
 * timeout_ns passes; returns the container's counter then. */
uint64_t run_hub_wait(struct run_hub *h, const char *id, uint64_t gen, int64_t timeout_ns);
/* Asks the hub to list the containers now (after a deploy, say) rather than at its next
 * reconcile; returns at once. */
void run_hub_poke(struct run_hub *h);
/* Stops the subscription and frees the hub; subscribers are not called after it returns. */
void run_hub_stop(struct run_hub *h);

#endif
