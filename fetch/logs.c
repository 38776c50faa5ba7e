/* logs.c - window log export: the demultiplexed stdout+stderr of each container for a
 * half-open window [start, end) into <dir>/<name>.log.gz, containers in parallel threads.
 * The engine's since/until are both inclusive, so until is end - 1 ns: adjacent windows
 * [a, b), [b, c) neither lose nor repeat a line. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/sink.h"
#include "engine/engine.h"
#include "fetch/fetch.h"

struct logs_run {
	const struct fetch_logs_opts *o;
	const struct lo2_strv *names;
	struct fetch_report *rep;
	atomic_size_t next;
	pthread_mutex_t lock;
};

/* One container's window into its file; the file appears only when complete. */
static int export_one(const struct fetch_logs_opts *o, const char *name, struct lo2_err *err)
{
	struct engine_logs_opts lo = {.since_ns = o->start_ns, .until_ns = o->end_ns - 1};
	lo2_autofree char *path = NULL;
	struct lo2_sink *sink = NULL;

	if (lo2_name_check("container name", name, err) < 0)
		return -1;
	path = xasprintf("%s/%s.log%s", o->dir, name, o->compress ? ".gz" : "");
	if (lo2_sink_open_path(path, &sink, err) < 0)
		return -1;
	if (engine_container_logs_to_sink(o->engine, name, &lo, sink, err) < 0) {
		lo2_sink_abort(sink);
		return -1;
	}
	return lo2_sink_commit(sink, err);
}

static void *worker(void *arg)
{
	struct logs_run *r = arg;
	size_t i;

	while ((i = atomic_fetch_add(&r->next, 1)) < r->names->n) {
		struct lo2_err e = {0};
		int rc = export_one(r->o, r->names->v[i], &e);

		pthread_mutex_lock(&r->lock);
		if (rc == 0) {
			r->rep->ok++;
		} else {
			r->rep->failed++;
			lo2_strv_take(&r->rep->failures, xasprintf("logs %s: %s", r->names->v[i], e.msg));
		}
		pthread_mutex_unlock(&r->lock);
	}
	return NULL;
}

int fetch_logs(const struct fetch_logs_opts *o, const struct lo2_strv *names, struct fetch_report *rep,
               struct lo2_err *err)
{
	struct logs_run r = {.o = o, .names = names, .rep = rep};
	size_t nt = (size_t)(o->concurrency > 0 ? o->concurrency : 8);
	pthread_t *threads;
	size_t started = 0;

	if (o->engine == NULL || o->dir == NULL)
		return lo2_err_set(err, LO2_E_USAGE,
		                   "export logs: an engine and an output folder are needed");
	if (o->end_ns <= o->start_ns)
		return lo2_err_set(err, LO2_E_USAGE, "export logs: the window [start, end) is empty");
	if (nt > names->n)
		nt = names->n;
	atomic_init(&r.next, 0);
	pthread_mutex_init(&r.lock, NULL);
	threads = xcalloc(nt + 1, sizeof(*threads));
	for (size_t i = 0; i < nt; i++)
		if (pthread_create(&threads[started], NULL, worker, &r) == 0)
			started++;
	if (started == 0)
		worker(&r); /* no thread could start: do the work here */
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	pthread_mutex_destroy(&r.lock);
	return 0;
}
