/* c_traces.c - lo2 as the run's trace sink: an OTLP/HTTP receiver (otlp/) listening where the
 * project's containers reach the host (the engine's host-gateway address, docker0's, by default;
 * traces.listen to choose) and announced to the compose file as ${LO2_OTLP_ENDPOINT}. Each span
 * goes by its start time to the open test's <tag>/metrics/traces_<service>.csv and
 * traces.otlp.jsonl.gz, or, outside every test, to the session's _between/s<n>-traces/ files. A
 * test's files are completed traces.settle seconds after its end (exporters batch spans for
 * seconds), during the wait after it; a span of a test that arrives later still is counted late
 * and kept in _between. Every rejected span is counted per test with its reason. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/time.h"
#include "engine/engine.h"
#include "otlp/otlp.h"
#include "run/collector.h"
#include "run/collectors.h"
#include "run/config.h"

#define DEFAULT_PORT 4318
#define MAX_WINDOWS 4

struct twin {
	struct run_window *w;
	long index;
	int64_t start, end; /* engine clock; end INT64_MAX while open */
	struct otlp_writer *writer;
	uint64_t spans;
	struct otlp_stats at_begin;
	bool used;
};

struct traces {
	struct run_collector base;
	struct otlp_receiver *rx;
	char *address, *endpoint;
	int port;
	pthread_mutex_t lock; /* windows, the between writer, counters */
	struct twin win[MAX_WINDOWS];
	struct otlp_writer *between;
	char *between_rel;
	uint64_t between_spans, late_spans, failed;
	struct lo2_err fail;
};

static struct traces *traces_of(struct run_collector *c)
{
	return (struct traces *)c;
}

/* Called on the receiver's consumer thread. */
static int on_span(void *user, const struct otlp_span *sp)
{
	struct traces *T = user;
	struct otlp_writer **to = NULL;
	struct lo2_err err = {0};
	int64_t start = (int64_t)sp->start_ns;
	bool late = false;
	int rc = 0;

	pthread_mutex_lock(&T->lock);
	for (int i = 0; i < MAX_WINDOWS && to == NULL; i++) {
		struct twin *t = &T->win[i];

		if (!t->used || start < t->start || start >= t->end)
			continue;
		if (t->writer) {
			to = &t->writer;
			t->spans++;
		} else {
			late = true; /* its test's files are complete */
		}
	}
	if (to == NULL) {
		if (T->between == NULL) {
			lo2_autofree char *dir =
			    xasprintf("%s/%s", run_session_dir(T->base.s), T->between_rel);

			if (lo2_mkdir_p(dir, 0755, &err) < 0 || otlp_writer_open(dir, &T->between, &err) < 0)
				rc = -1;
		}
		to = &T->between;
		T->between_spans++;
		T->late_spans += late;
	}
	if (rc == 0 && otlp_writer_add(*to, sp, &err) < 0)
		rc = -1;
	if (rc < 0) {
		T->failed++;
		if (T->fail.msg[0] == '\0')
			T->fail = err;
	}
	pthread_mutex_unlock(&T->lock);
	return rc;
}

/* The address containers reach the host at: the gateway of the engine's default bridge network
 * (what `host-gateway` names), unless traces.listen says. */
static int listen_address(struct traces *T, struct lo2_err *err)
{
	const struct run_config *cfg = run_session_config(T->base.s);
	struct engine_network_info ni;

	if (cfg->traces_listen[0])
		return otlp_parse_listen(cfg->traces_listen, &T->address, &T->port, err);
	if (!lo2_str_has_prefix(engine_display(run_session_engine(T->base.s)), "unix://"))
		return 1; /* a remote engine's docker0 is not an address of this host */
	if (engine_network_inspect(run_session_engine(T->base.s), "bridge", &ni, err) < 0)
		return lo2_err_prefix(err, "find where containers reach the host (set traces.listen)");
	T->address = xstrdup(ni.gateway);
	engine_network_info_free(&ni);
	if (T->address == NULL)
		return lo2_err_set(
		    err, LO2_E_GENERIC,
		    "the engine's bridge network has no gateway to listen on (set traces.listen)");
	T->port = DEFAULT_PORT;
	return 0;
}

static int start_receiver(struct traces *T, struct lo2_err *err)
{
	struct otlp_opts o = {.on_span = on_span, .user = T};

	o.address = T->address;
	o.port = T->port;
	if (otlp_receiver_start(&o, &T->rx, err) == 0)
		return 0;
	if (run_session_config(T->base.s)->traces_listen[0] || T->port == 0)
		return -1;
	/* the default port is taken (another run on this host): any free one, announced as such */
	lo2_err_clear(err);
	o.port = 0;
	return otlp_receiver_start(&o, &T->rx, err);
}

/* The receiver starts before the compose file is read for good: its endpoint is a variable of
 * the file. */
static int traces_vars(struct run_collector *c, struct lo2_kvv *vars, struct lo2_err *err)
{
	struct traces *T = traces_of(c);
	int rc = listen_address(T, err);

	if (rc > 0) {
		run_session_warn(c->s,
		                 "traces: the engine %s is not on this host: set traces.listen to an address "
		                 "of this host its containers reach to receive spans",
		                 engine_display(run_session_engine(c->s)));
		return 0;
	}
	if (rc < 0 || start_receiver(T, err) < 0)
		return lo2_err_prefix(err, "traces");
	T->port = otlp_receiver_port(T->rx);
	T->endpoint = strchr(T->address, ':') ? xasprintf("http://[%s]:%d", T->address, T->port)
	                                      : xasprintf("http://%s:%d", T->address, T->port);
	lo2_kvv_set(vars, "LO2_OTLP_ENDPOINT", T->endpoint);
	run_session_say(c->s, "Receiving traces at %s (LO2_OTLP_ENDPOINT)", T->endpoint);
	return 0;
}

static struct twin *twin_of(struct traces *T, const struct run_window *w)
{
	for (int i = 0; i < MAX_WINDOWS; i++)
		if (T->win[i].used && T->win[i].index == (long)w->index)
			return &T->win[i];
	return NULL;
}

static int traces_test_begin(struct run_collector *c, struct run_window *w, struct lo2_err *err)
{
	struct traces *T = traces_of(c);
	lo2_autofree char *dir = NULL;
	struct otlp_writer *wr = NULL;
	struct twin *t;

	if (T->rx == NULL)
		return 0; /* not receiving (a remote engine without traces.listen) */
	dir = xasprintf("%s/metrics", w->dir);
	if (lo2_mkdir_p(dir, 0755, err) < 0 || otlp_writer_open(dir, &wr, err) < 0)
		return -1;
	pthread_mutex_lock(&T->lock);
	/* the last few windows are kept, to tell a late span of theirs from one between tests */
	t = &T->win[w->index % MAX_WINDOWS];
	otlp_writer_abort(t->writer);
	*t = (struct twin){.w = w,
	                   .index = (long)w->index,
	                   .start = w->start_ns,
	                   .end = INT64_MAX,
	                   .writer = wr,
	                   .used = true};
	otlp_receiver_stats(T->rx, &t->at_begin);
	pthread_mutex_unlock(&T->lock);
	return 0;
}

static int traces_test_end(struct run_collector *c, struct run_window *w, struct lo2_err *err)
{
	struct traces *T = traces_of(c);
	struct twin *t;

	pthread_mutex_lock(&T->lock);
	t = twin_of(T, w);
	if (t)
		t->end = w->end_ns;
	pthread_mutex_unlock(&T->lock);
	return 0;
}

/* The test's files, traces.settle seconds after its end (at once when a signal cut it short). */
static int traces_test_finish(struct run_collector *c, struct run_window *w, struct lo2_err *err)
{
	struct traces *T = traces_of(c);
	int64_t settle = (int64_t)run_session_config(c->s)->traces_settle * LO2_NS_PER_SEC;
	struct otlp_writer_stats ws = {0};
	struct otlp_stats now;
	struct otlp_writer *wr;
	struct lo2_jw *j;
	lo2_autofree char *json = NULL;
	uint64_t spans, rejected = 0;
	struct twin *t;
	int rc;

	if (T->rx == NULL)
		return 0;
	/* A system that sent no span so far is not traced: nothing to wait for. */
	otlp_receiver_stats(T->rx, &now);
	if (now.spans_accepted == 0 && now.answers[OTLP_ANSWER_MALFORMED] == 0)
		settle = 0;
	while (!w->interrupted && !run_session_cancelled(c->s) &&
	       run_session_engine_now(c->s) < w->end_ns + settle)
		lo2_sleep_ns(50 * 1000 * 1000);
	pthread_mutex_lock(&T->lock);
	t = twin_of(T, w);
	wr = t ? t->writer : NULL;
	if (t)
		t->writer = NULL; /* from here its spans are late */
	spans = t ? t->spans : 0;
	otlp_receiver_stats(T->rx, &now);
	for (int r = 0; t && r < OTLP_REJECT__N; r++)
		rejected += now.spans_rejected[r] - t->at_begin.spans_rejected[r];
	pthread_mutex_unlock(&T->lock);
	if (wr == NULL)
		return 0;
	rc = otlp_writer_commit(wr, &ws, err);
	j = lo2_jw_new(NULL);
	lo2_jw_obj(j);
	lo2_jw_key(j, "spans");
	lo2_jw_int(j, (int64_t)spans);
	lo2_jw_key(j, "services");
	lo2_jw_int(j, (int64_t)ws.services);
	lo2_jw_key(j, "not_in_csv");
	lo2_jw_int(j, (int64_t)ws.csv_skipped);
	lo2_jw_key(j, "rejected_while_open");
	lo2_jw_obj(j);
	for (int r = 0; t && r < OTLP_REJECT__N; r++) {
		lo2_jw_key(j, otlp_reject_name((enum otlp_reject)r));
		lo2_jw_int(j, (int64_t)(now.spans_rejected[r] - t->at_begin.spans_rejected[r]));
	}
	lo2_jw_obj_end(j);
	lo2_jw_key(j, "deferred_while_open"); /* answered 503: the exporters sent them again */
	lo2_jw_int(j, t ? (int64_t)(now.spans_deferred - t->at_begin.spans_deferred) : 0);
	lo2_jw_key(j, "settle_s");
	lo2_jw_int(j, w->interrupted ? 0 : settle / LO2_NS_PER_SEC);
	lo2_jw_obj_end(j);
	json = lo2_jw_finish(j, NULL);
	run_window_section(w, "traces", json);
	if (rejected > 0)
		run_session_say(c->s, "Traces of '%s': %" PRIu64 " spans, %" PRIu64 " rejected", w->tag,
		                spans, rejected);
	return rc < 0 ? lo2_err_prefix(err, "traces of %s", w->tag) : 0;
}

static int traces_stop(struct run_collector *c, struct lo2_err *err)
{
	struct traces *T = traces_of(c);
	struct otlp_stats st = {0};
	struct otlp_writer_stats ws = {0};
	struct lo2_jw *j;
	lo2_autofree char *json = NULL;
	int ret = 0;

	otlp_receiver_stop(T->rx, &st); /* drains: every queued span is routed first */
	T->rx = NULL;
	if (T->between) {
		ret = otlp_writer_commit(T->between, &ws, err);
		T->between = NULL;
		if (ret == 0)
			ret = run_session_add_dir(c->s, T->between_rel, err);
	}
	j = lo2_jw_new(NULL);
	lo2_jw_obj(j);
	lo2_jw_key(j, "endpoint");
	lo2_jw_str(j, T->endpoint);
	lo2_jw_key(j, "spans_delivered");
	lo2_jw_int(j, (int64_t)st.spans_delivered);
	lo2_jw_key(j, "spans_between_tests");
	lo2_jw_int(j, (int64_t)T->between_spans);
	lo2_jw_key(j, "spans_late");
	lo2_jw_int(j, (int64_t)T->late_spans);
	lo2_jw_key(j, "spans_not_written");
	lo2_jw_int(j, (int64_t)T->failed);
	lo2_jw_key(j, "rejected");
	lo2_jw_obj(j);
	for (int r = 0; r < OTLP_REJECT__N; r++) {
		lo2_jw_key(j, otlp_reject_name((enum otlp_reject)r));
		lo2_jw_int(j, (int64_t)st.spans_rejected[r]);
	}
	lo2_jw_obj_end(j);
	lo2_jw_key(j, "answers");
	lo2_jw_obj(j);
	for (int a = 0; a < OTLP_ANSWER__N; a++) {
		lo2_jw_key(j, otlp_answer_name((enum otlp_answer)a));
		lo2_jw_int(j, (int64_t)st.answers[a]);
	}
	lo2_jw_obj_end(j);
	lo2_jw_obj_end(j);
	json = lo2_jw_finish(j, NULL);
	if (run_session_section(c->s, "traces", json, false, err) < 0)
		ret = -1;
	if (ret == 0 && T->fail.msg[0]) {
		*err = T->fail;
		ret = lo2_err_prefix(err, "write spans");
	}
	return ret;
}

static void traces_destroy(struct run_collector *c)
{
	struct traces *T = traces_of(c);

	otlp_receiver_stop(T->rx, NULL);
	for (int i = 0; i < MAX_WINDOWS; i++)
		otlp_writer_abort(T->win[i].writer);
	otlp_writer_abort(T->between);
	free(T->address);
	free(T->endpoint);
	free(T->between_rel);
	pthread_mutex_destroy(&T->lock);
	free(T);
}

static const struct run_collector_ops traces_ops = {
    .name = "traces",
    .vars = traces_vars,
    .test_begin = traces_test_begin,
    .test_end = traces_test_end,
    .test_finish = traces_test_finish,
    .stop = traces_stop,
    .destroy = traces_destroy,
};

int run_collector_traces(struct run_session *s, struct run_collector **out, struct lo2_err *err)
{
	struct traces *T;

	*out = NULL;
	if (!run_session_config(s)->traces_receive)
		return 0;
	T = xcalloc(1, sizeof(*T));
	T->base.ops = &traces_ops;
	T->base.s = s;
	T->between_rel = xasprintf("_between/s%d-traces", run_session_number(s));
	pthread_mutex_init(&T->lock, NULL);
	*out = &T->base;
	return 0;
}
