/* cancel.c - cancelling a request at once: libcurl looks at a request's cancel flag only about
 * once a second while a stream is idle (a quiet container's log, the event stream), so every
 * request that has a cancel flag is registered while it runs, and one watcher thread per engine
 * shuts its socket down within 50 ms of the flag becoming true. The transfer then ends with
 * LO2_E_CANCELLED as it would have a second later. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "common/mem.h"
#include "common/thread.h"
#include "common/time.h"
#include "engine/internal.h"

#define WATCH_NS (50 * 1000 * 1000)

struct engine_cancels {
	pthread_mutex_t lock;
	struct ecancel **v;
	size_t n;
	pthread_t watcher;
	bool started;
	atomic_bool stop;
};

static void *watch_main(void *arg)
{
	struct engine_cancels *c = arg;

	while (!atomic_load(&c->stop)) {
		pthread_mutex_lock(&c->lock);
		for (size_t i = 0; i < c->n; i++) {
			struct ecancel *r = c->v[i];

			if (!r->shut && r->fd >= 0 && atomic_load(r->cancel)) {
				shutdown(r->fd, SHUT_RDWR);
				r->shut = true;
			}
		}
		pthread_mutex_unlock(&c->lock);
		lo2_sleep_ns(WATCH_NS);
	}
	return NULL;
}

static struct engine_cancels *cancels_of(struct engine *e)
{
	struct engine_cancels *c;

	pthread_mutex_lock(&e->lock);
	if (e->cancels == NULL) {
		c = xcalloc(1, sizeof(*c));
		pthread_mutex_init(&c->lock, NULL);
		/* without the watcher, cancelling falls back to libcurl's own pace */
		c->started = lo2_thread_start(&c->watcher, watch_main, c, "engine cancel watcher", NULL) == 0;
		e->cancels = c;
	}
	c = e->cancels;
	pthread_mutex_unlock(&e->lock);
	return c;
}

void engine_cancel_register(struct engine *e, struct ecancel *r)
{
	struct engine_cancels *c = cancels_of(e);

	r->fd = -1;
	r->shut = false;
	pthread_mutex_lock(&c->lock);
	c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	c->v[c->n++] = r;
	pthread_mutex_unlock(&c->lock);
}

void engine_cancel_socket(struct engine *e, struct ecancel *r, int fd)
{
	struct engine_cancels *c = cancels_of(e);

	pthread_mutex_lock(&c->lock);
	r->fd = fd;
	pthread_mutex_unlock(&c->lock);
}

void engine_cancel_unregister(struct engine *e, struct ecancel *r)
{
	struct engine_cancels *c = cancels_of(e);

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i] == r) {
			c->v[i] = c->v[--c->n];
			break;
		}
	pthread_mutex_unlock(&c->lock);
}

void engine_cancel_free(struct engine *e)
{
	struct engine_cancels *c = e->cancels;

	if (c == NULL)
		return;
	atomic_store(&c->stop, true);
	if (c->started)
		pthread_join(c->watcher, NULL);
	free(c->v);
	pthread_mutex_destroy(&c->lock);
	free(c);
	e->cancels = NULL;
}
