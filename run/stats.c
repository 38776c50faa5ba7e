/* stats.c - the per-container stats recorder (see stats.h): a stream thread per container, the
 * intervals samples are routed into (by the sample's read time; a stopped container's empty
 * samples by the time they came), and the writer thread that turns a closed interval into
 * Prometheus-shaped files.
 *
 * Memory: an interval keeps, per container and series, at most MAX_POINTS points (16 bytes
 * each); it is freed when written. Locks: rs->lock guards the intervals, the containers' state
 * and every point; no engine call and no file write happens under it. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/thread.h"
#include "common/time.h"
#include "engine/engine.h"
#include "fetch/fetch.h"
#include "run/hub.h"
#include "run/stats.h"

#define GRACE_NS (1 * LO2_NS_PER_SEC) /* a sample read before an interval's end comes by then */
#define HURRY_GRACE_NS (200 * 1000 * 1000) /* once cancelled: a signal ends a run within 2 s */
#define TICK_NS (100 * 1000 * 1000)
#define MAX_POINTS 16384 /* per series and interval: 4.5 hours of one sample a second */
#define MAX_EVENTS 256 /* starts and stops kept per container */
#define MAX_ERRORS 8 /* distinct errors kept per container and interval */

enum source { SRC_STAT, SRC_NET, SRC_DEV, SRC_OOM };
struct metric {
	const char *name;
	enum source src;
	int k;
	bool seconds; /* the engine gives nanoseconds */
};
static const struct metric metrics[] = {
    {"lo2_container_cpu_usage_seconds_total", SRC_STAT, ENGINE_STAT_CPU_TOTAL_NS, true},
    {"lo2_container_cpu_user_seconds_total", SRC_STAT, ENGINE_STAT_CPU_USER_NS, true},
    {"lo2_container_cpu_system_seconds_total", SRC_STAT, ENGINE_STAT_CPU_KERNEL_NS, true},
    {"lo2_container_cpu_cfs_periods_total", SRC_STAT, ENGINE_STAT_CPU_PERIODS, false},
    {"lo2_container_cpu_cfs_throttled_periods_total", SRC_STAT, ENGINE_STAT_CPU_THROTTLED_PERIODS, false},
    {"lo2_container_cpu_cfs_throttled_seconds_total", SRC_STAT, ENGINE_STAT_CPU_THROTTLED_NS, true},
    {"lo2_container_memory_usage_bytes", SRC_STAT, ENGINE_STAT_MEM_USAGE, false},
    {"lo2_container_memory_working_set_bytes", SRC_STAT, ENGINE_STAT_MEM_WORKING_SET, false},
    {"lo2_container_memory_rss", SRC_STAT, ENGINE_STAT_MEM_RSS, false},
    {"lo2_container_memory_cache", SRC_STAT, ENGINE_STAT_MEM_CACHE, false},
    {"lo2_container_spec_memory_limit_bytes", SRC_STAT, ENGINE_STAT_MEM_LIMIT, false},
    {"lo2_container_memory_failcnt", SRC_STAT, ENGINE_STAT_MEM_FAILCNT, false},
    {"lo2_container_oom_events_total", SRC_OOM, 0, false},
    {"lo2_container_network_receive_bytes_total", SRC_NET, ENGINE_NET_RX_BYTES, false},
    {"lo2_container_network_receive_packets_total", SRC_NET, ENGINE_NET_RX_PACKETS, false},
    {"lo2_container_network_receive_errors_total", SRC_NET, ENGINE_NET_RX_ERRORS, false},
    {"lo2_container_network_receive_packets_dropped_total", SRC_NET, ENGINE_NET_RX_DROPPED, false},
    {"lo2_container_network_transmit_bytes_total", SRC_NET, ENGINE_NET_TX_BYTES, false},
    {"lo2_container_network_transmit_packets_total", SRC_NET, ENGINE_NET_TX_PACKETS, false},
    {"lo2_container_network_transmit_errors_total", SRC_NET, ENGINE_NET_TX_ERRORS, false},
    {"lo2_container_network_transmit_packets_dropped_total", SRC_NET, ENGINE_NET_TX_DROPPED, false},
    {"lo2_container_fs_reads_bytes_total", SRC_DEV, ENGINE_DEV_READ_BYTES, false},
    {"lo2_container_fs_writes_bytes_total", SRC_DEV, ENGINE_DEV_WRITE_BYTES, false},
    {"lo2_container_fs_reads_total", SRC_DEV, ENGINE_DEV_READS, false},
    {"lo2_container_fs_writes_total", SRC_DEV, ENGINE_DEV_WRITES, false},
    {"lo2_container_pids", SRC_STAT, ENGINE_STAT_PIDS, false},
};
#define N_METRICS (sizeof(metrics) / sizeof(metrics[0]))

struct point {
	int64_t t;
	uint64_t v;
};

struct series {
	int m; /* index into metrics */
	char extra[40]; /* interface or device ("major:minor"), or "" */
	struct point *p;
	size_t n, cap;
};

struct ctr;

/* One container's data in one interval. */
struct cdata {
	struct ctr *c;
	struct series *s;
	size_t n_s;
	uint64_t samples, empty, seconds, dropped, resets, cpu_ns, peak_ws;
	int64_t last_sec;
	bool has_ws;
	struct lo2_strv errors;
	uint64_t more_errors;
};

struct interval {
	int n;
	int64_t start, end; /* [start, end), engine clock; end INT64_MAX while open */
	char *dir;
	bool closing, written;
	struct cdata **cd;
	size_t n_cd;
	struct run_stats_result res;
	int rc;
	struct lo2_err err;
	struct interval *next;
};

struct ctr {
	struct run_stats *rs;
	char *id, *name, *service, *project, *image;
	bool locust;
	pthread_t thread;
	bool started;
	atomic_bool cancel;
	uint64_t ooms, streams, failures, bad;
	uint64_t last_cpu;
	bool have_cpu;
	struct lo2_strv events; /* "[time_ns,\"action\"]" */
	struct ctr *next;
};

struct run_stats {
	struct run_stats_opts o;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* an interval was written, or an end was set */
	struct interval *ivs, *tail;
	int next_n;
	struct ctr *cs;
	uint64_t late; /* samples whose interval was written before they came */
	pthread_t writer;
	bool writer_started;
	atomic_bool stopping;
	bool stopped;
};

void run_stats_result_free(struct run_stats_result *r)
{
	if (r == NULL)
		return;
	lo2_strv_free(&r->files);
	lo2_strv_free(&r->errors);
	free(r->section);
	memset(r, 0, sizeof(*r));
}

static int64_t now(const struct run_stats *rs)
{
	return rs->o.now(rs->o.user);
}

/* ---- routing (lock held) ---- */

static struct interval *interval_at(struct run_stats *rs, int64_t t, bool *late)
{
	*late = false;
	for (struct interval *iv = rs->ivs; iv; iv = iv->next)
		if (t >= iv->start && t < iv->end) {
			*late = iv->closing;
			return iv->closing ? NULL : iv;
		}
	return NULL;
}

static struct cdata *cdata_of(struct interval *iv, struct ctr *c)
{
	struct cdata *d;

	for (size_t i = 0; i < iv->n_cd; i++)
		if (iv->cd[i]->c == c)
			return iv->cd[i];
	d = xcalloc(1, sizeof(*d));
	d->c = c;
	d->last_sec = -1;
	iv->cd = xrealloc(iv->cd, (iv->n_cd + 1) * sizeof(*iv->cd));
	iv->cd[iv->n_cd++] = d;
	return d;
}

static void add_point(struct cdata *d, int m, const char *extra, int64_t t, uint64_t v)
{
	struct series *s = NULL;

	for (size_t i = 0; i < d->n_s && s == NULL; i++)
		if (d->s[i].m == m && strcmp(d->s[i].extra, extra) == 0)
			s = &d->s[i];
	if (s == NULL) {
		d->s = xrealloc(d->s, (d->n_s + 1) * sizeof(*d->s));
		s = &d->s[d->n_s++];
		memset(s, 0, sizeof(*s));
		s->m = m;
		snprintf(s->extra, sizeof(s->extra), "%s", extra);
	}
	if (s->n == MAX_POINTS) {
		d->dropped++;
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->p = xrealloc(s->p, s->cap * sizeof(*s->p));
	}
	s->p[s->n++] = (struct point){t, v};
}

static void cdata_error(struct cdata *d, const char *msg)
{
	if (lo2_strv_contains(&d->errors, msg))
		return;
	if (d->errors.n < MAX_ERRORS)
		lo2_strv_push(&d->errors, msg);
	else
		d->more_errors++;
}

uint64_t run_stats_cpu_delta(uint64_t prev, bool have_prev, uint64_t cur, bool *reset)
{
	*reset = have_prev && cur < prev;
	if (!have_prev)
		return 0;
	return *reset ? cur : cur - prev;
}

/* CPU seconds of the interval: the growth of the counter since the container's previous sample
 * (in whichever interval it was). */
static void account_cpu(struct cdata *d, struct ctr *c, const struct engine_stats_sample *s)
{
	uint64_t cpu = s->v[ENGINE_STAT_CPU_TOTAL_NS];
	bool reset = false;

	if (!(s->have & 1u << ENGINE_STAT_CPU_TOTAL_NS))
		return;
	d->cpu_ns += run_stats_cpu_delta(c->last_cpu, c->have_cpu, cpu, &reset);
	d->resets += reset;
	c->last_cpu = cpu;
	c->have_cpu = true;
}

static void add_sample(struct cdata *d, struct ctr *c, const struct engine_stats_sample *s)
{
	int64_t t = s->read_ns, sec = t / LO2_NS_PER_SEC;
	char dev[40];

	d->samples++;
	if (sec != d->last_sec)
		d->seconds++;
	d->last_sec = sec;
	account_cpu(d, c, s);
	if (s->have & 1u << ENGINE_STAT_MEM_WORKING_SET) {
		if (!d->has_ws || s->v[ENGINE_STAT_MEM_WORKING_SET] > d->peak_ws)
			d->peak_ws = s->v[ENGINE_STAT_MEM_WORKING_SET];
		d->has_ws = true;
	}
	for (size_t m = 0; m < N_METRICS; m++) {
		const struct metric *me = &metrics[m];

		if (me->src == SRC_STAT && (s->have & 1u << me->k))
			add_point(d, (int)m, "", t, s->v[me->k]);
		else if (me->src == SRC_OOM)
			add_point(d, (int)m, "", t, c->ooms);
		else if (me->src == SRC_NET)
			for (size_t i = 0; i < s->n_nets; i++)
				add_point(d, (int)m, s->nets[i].name, t, s->nets[i].v[me->k]);
		else if (me->src == SRC_DEV)
			for (size_t i = 0; i < s->n_devs; i++) {
				if (!(s->devs[i].have & 1u << me->k))
					continue;
				snprintf(dev, sizeof(dev), "%u:%u", s->devs[i].major, s->devs[i].minor);
				add_point(d, (int)m, dev, t, s->devs[i].v[me->k]);
			}
	}
}

/* A sample of c's stream: into the interval its read time falls in. */
static int on_sample(void *user, const struct engine_stats_sample *s, const struct lo2_err *bad)
{
	struct ctr *c = user;
	struct run_stats *rs = c->rs;
	int64_t t = s && s->read_ns > 0 ? s->read_ns : now(rs);
	struct interval *iv;
	bool late;

	pthread_mutex_lock(&rs->lock);
	iv = interval_at(rs, t, &late);
	if (late)
		rs->late++;
	if (bad)
		c->bad++;
	if (iv && bad) {
		lo2_autofree char *msg = xasprintf("stats of %s: %s", c->name, bad->msg);

		cdata_error(cdata_of(iv, c), msg);
	} else if (iv && s->read_ns == 0)
		cdata_of(iv, c)->empty++; /* not running: visible, with no value */
	else if (iv)
		add_sample(cdata_of(iv, c), c, s);
	else if (s && s->read_ns > 0)
		account_cpu(&(struct cdata){0}, c, s);
	pthread_mutex_unlock(&rs->lock);
	return atomic_load(&c->cancel);
}

/* An error of c's stream, into the interval open now. */
static void stream_error(struct ctr *c, const char *msg)
{
	struct run_stats *rs = c->rs;
	bool late;
	struct interval *iv;

	pthread_mutex_lock(&rs->lock);
	c->failures++;
	iv = interval_at(rs, now(rs), &late);
	if (iv)
		cdata_error(cdata_of(iv, c), msg);
	pthread_mutex_unlock(&rs->lock);
}

/* ---- streams ---- */

static void sleep_cancellable(struct ctr *c, int64_t ns)
{
	for (int64_t slept = 0; slept < ns && !atomic_load(&c->cancel); slept += 50 * 1000 * 1000)
		lo2_sleep_ns(50 * 1000 * 1000);
}

static void *stream_main(void *arg)
{
	struct ctr *c = arg;
	struct run_stats *rs = c->rs;

	while (!atomic_load(&c->cancel)) {
		struct lo2_err err = {0};
		bool destroyed = false;
		int rc;

		pthread_mutex_lock(&rs->lock);
		c->streams++;
		pthread_mutex_unlock(&rs->lock);
		rc = engine_container_stats_stream(rs->o.e, c->id, &c->cancel, on_sample, c, &err);
		if (atomic_load(&c->cancel) || (rc < 0 && err.kind == LO2_E_NOT_FOUND))
			break;
		if (run_hub_container_state(rs->o.hub, c->id, NULL, &destroyed, NULL) && destroyed)
			break;
		if (rc < 0) {
			lo2_autofree char *msg =
			    xasprintf("stats of %s: %s (reconnecting)", c->name, err.msg);

			stream_error(c, msg);
		}
		/* a stream that ended while the container exists is taken up again */
		sleep_cancellable(c, rs->o.retry_ns ? rs->o.retry_ns : LO2_NS_PER_SEC);
	}
	return NULL;
}

static struct ctr *find_ctr(struct run_stats *rs, const char *id)
{
	for (struct ctr *c = rs->cs; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

static void note_event(struct ctr *c, const struct run_hub_event *ev)
{
	static const char *const kept[] = {"start", "restart", "die",   "stop",
	                                   "kill",  "oom",     "pause", "unpause"};

	if (strcmp(ev->action, "oom") == 0)
		c->ooms++;
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (strcmp(ev->action, kept[i]) == 0 && c->events.n < MAX_EVENTS) {
			lo2_strv_take(&c->events, xasprintf("[%" PRId64 ",\"%s\"]", ev->time_ns, kept[i]));
			return;
		}
}

static void add_ctr(struct run_stats *rs, const struct run_hub_event *ev)
{
	struct ctr *c = xcalloc(1, sizeof(*c));
	const char *project = ev->attrs ? lo2_kvv_get(ev->attrs, "com.docker.compose.project") : NULL;
	struct lo2_err err = {0};

	c->rs = rs;
	c->id = xstrdup(ev->id);
	c->name = xstrdup(ev->name ? ev->name : ev->id);
	c->service = ev->service ? xstrdup(ev->service) : NULL;
	c->project = xstrdup(project ? project : rs->o.project ? rs->o.project : "");
	c->image = xstrdup(ev->image ? ev->image : "");
	c->locust = ev->locust;
	c->next = rs->cs;
	rs->cs = c;
	if (lo2_thread_start(&c->thread, stream_main, c, "stats stream", &err) == 0)
		c->started = true;
	else if (rs->o.warn)
		rs->o.warn(rs->o.user, err.msg);
}

static void on_hub(void *user, const struct run_hub_event *ev)
{
	struct run_stats *rs = user;
	struct ctr *c;

	pthread_mutex_lock(&rs->lock);
	c = find_ctr(rs, ev->id);
	if (c == NULL && !atomic_load(&rs->stopping) && strcmp(ev->action, "destroy") != 0)
		add_ctr(rs, ev);
	c = find_ctr(rs, ev->id);
	if (c)
		note_event(c, ev);
	pthread_mutex_unlock(&rs->lock);
}

/* ---- writing an interval ---- */

void run_stats_fmt_value(uint64_t v, bool seconds, char *out, size_t sz)
{
	size_t n;

	if (!seconds) {
		snprintf(out, sz, "%" PRIu64, v);
		return;
	}
	snprintf(out, sz, "%" PRIu64 ".%09" PRIu64, v / 1000000000u, v % 1000000000u);
	n = strlen(out);
	while (out[n - 1] == '0')
		out[--n] = '\0';
	if (out[n - 1] == '.')
		out[--n] = '\0';
}

static void labels(struct lo2_buf *b, const struct ctr *c, const struct metric *m, const char *extra)
{
	struct lo2_jw *w = lo2_jw_new(NULL);
	lo2_autofree char *text = NULL;

	lo2_jw_obj(w);
	lo2_jw_key(w, "__name__");
	lo2_jw_str(w, m->name);
	if (m->src == SRC_DEV) {
		lo2_jw_key(w, "device");
		lo2_jw_str(w, extra);
	}
	if (c->service) {
		lo2_jw_key(w, "container_label_com_docker_compose_service");
		lo2_jw_str(w, c->service);
	}
	lo2_jw_key(w, "container_label_com_docker_compose_project");
	lo2_jw_str(w, c->project);
	lo2_jw_key(w, "id");
	lo2_jw_str(w, c->id);
	lo2_jw_key(w, "image");
	lo2_jw_str(w, c->image);
	if (m->src == SRC_NET) {
		lo2_jw_key(w, "interface");
		lo2_jw_str(w, extra);
	}
	lo2_jw_key(w, "name");
	lo2_jw_str(w, c->name);
	lo2_jw_obj_end(w);
	text = lo2_jw_finish(w, NULL);
	lo2_buf_puts(b, text);
}

/* The query_range answer Prometheus would give for metric m over the interval. */
static size_t metric_body(const struct interval *iv, size_t m, struct lo2_buf *b)
{
	size_t n = 0;
	char v[48];

	lo2_buf_puts(b, "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[");
	for (size_t i = 0; i < iv->n_cd; i++)
		for (size_t k = 0; k < iv->cd[i]->n_s; k++) {
			const struct series *s = &iv->cd[i]->s[k];

			if (s->m != (int)m || s->n == 0)
				continue;
			lo2_buf_puts(b, n++ ? ",{\"metric\":" : "{\"metric\":");
			labels(b, iv->cd[i]->c, &metrics[m], s->extra);
			lo2_buf_puts(b, ",\"values\":[");
			for (size_t p = 0; p < s->n; p++) {
				run_stats_fmt_value(s->p[p].v, metrics[m].seconds, v, sizeof(v));
				lo2_buf_printf(b, "%s[%" PRId64 ".%03" PRId64 ",\"%s\"]", p ? "," : "",
				               s->p[p].t / LO2_NS_PER_SEC,
				               s->p[p].t % LO2_NS_PER_SEC / 1000000, v);
			}
			lo2_buf_puts(b, "]}");
		}
	lo2_buf_puts(b, "]}}");
	return n;
}

static int write_metrics(struct interval *iv, struct lo2_err *err)
{
	bool any = false;

	for (size_t i = 0; i < iv->n_cd && !any; i++)
		any = iv->cd[i]->n_s > 0;
	if (!any)
		return 0;
	if (lo2_mkdir_p(iv->dir, 0755, err) < 0)
		return -1;
	for (size_t m = 0; m < N_METRICS; m++) {
		struct lo2_buf body = LO2_BUF_INIT, out = LO2_BUF_INIT;
		lo2_autofree char *file = xasprintf("metric_%s.json", metrics[m].name);
		lo2_autofree char *path = xasprintf("%s/%s", iv->dir, file);
		size_t nseries = 0;
		int rc = 0;

		if (metric_body(iv, m, &body) > 0) {
			rc = fetch_prom_convert(body.data, body.len, &out, &nseries, err);
			if (rc == 0)
				rc = lo2_write_file_atomic(path, out.data, out.len, err);
			if (rc == 0)
				lo2_strv_push(&iv->res.files, file);
		}
		lo2_buf_free(&body);
		lo2_buf_free(&out);
		if (rc < 0)
			return lo2_err_prefix(err, "write %s", path);
	}
	return 0;
}

static char *section_json(const struct interval *iv, int64_t end)
{
	struct lo2_jw *w = lo2_jw_new(NULL);
	struct lo2_kvv seen = {0};

	lo2_jw_obj(w);
	lo2_jw_key(w, "seconds");
	lo2_jw_double(w, (double)(end - iv->start) / 1e9);
	lo2_jw_key(w, "containers");
	lo2_jw_obj(w);
	for (size_t i = 0; i < iv->n_cd; i++) {
		const struct cdata *d = iv->cd[i];
		lo2_autofree char *key = lo2_kvv_has(&seen, d->c->name)
		                             ? xasprintf("%s#%.12s", d->c->name, d->c->id)
		                             : xstrdup(d->c->name);

		lo2_kvv_set(&seen, key, "");
		lo2_jw_key(w, key);
		lo2_jw_obj(w);
		lo2_jw_key(w, "id");
		lo2_jw_str(w, d->c->id);
		lo2_jw_key(w, "samples");
		lo2_jw_int(w, (int64_t)d->samples);
		lo2_jw_key(w, "empty_samples");
		lo2_jw_int(w, (int64_t)d->empty);
		lo2_jw_key(w, "seconds_with_sample");
		lo2_jw_int(w, (int64_t)d->seconds);
		lo2_jw_key(w, "cpu_seconds");
		lo2_jw_double(w, (double)d->cpu_ns / 1e9);
		lo2_jw_key(w, "peak_working_set_bytes");
		lo2_jw_int(w, (int64_t)d->peak_ws);
		lo2_jw_key(w, "counter_resets");
		lo2_jw_int(w, (int64_t)d->resets);
		lo2_jw_key(w, "dropped_points");
		lo2_jw_int(w, (int64_t)d->dropped);
		lo2_jw_obj_end(w);
	}
	lo2_jw_obj_end(w);
	lo2_jw_obj_end(w);
	lo2_kvv_free(&seen);
	return lo2_jw_finish(w, NULL);
}

static void collect_result(struct interval *iv)
{
	for (size_t i = 0; i < iv->n_cd; i++) {
		const struct cdata *d = iv->cd[i];

		for (size_t k = 0; k < d->errors.n; k++)
			lo2_strv_push(&iv->res.errors, d->errors.v[k]);
		if (d->more_errors)
			lo2_strv_take(&iv->res.errors, xasprintf("stats of %s: %" PRIu64 " more errors",
			                                         d->c->name, d->more_errors));
		if (d->dropped)
			lo2_strv_take(&iv->res.errors, xasprintf("stats of %s: %" PRIu64
			                                         " points beyond %d per series dropped",
			                                         d->c->name, d->dropped, MAX_POINTS));
		iv->res.containers += d->samples > 0;
		iv->res.samples += d->samples;
	}
	iv->res.section = section_json(iv, iv->end);
}

static void free_cdata(struct cdata *d)
{
	for (size_t k = 0; k < d->n_s; k++)
		free(d->s[k].p);
	free(d->s);
	lo2_strv_free(&d->errors);
	free(d);
}

/* Writes iv (closing: nothing routes into it any more) and frees its points. */
static void write_interval(struct run_stats *rs, struct interval *iv)
{
	struct lo2_err err = {0};

	iv->rc = write_metrics(iv, &err);
	iv->err = err;
	collect_result(iv);
	if (rs->o.written)
		rs->o.written(rs->o.user, iv->n, iv->dir, &iv->res, iv->rc < 0 ? &iv->err : NULL);
	for (size_t i = 0; i < iv->n_cd; i++)
		free_cdata(iv->cd[i]);
	free(iv->cd);
	iv->cd = NULL;
	iv->n_cd = 0;
	pthread_mutex_lock(&rs->lock);
	iv->written = true;
	pthread_cond_broadcast(&rs->cond);
	pthread_mutex_unlock(&rs->lock);
}

static void *writer_main(void *arg)
{
	struct run_stats *rs = arg;

	for (;;) {
		struct interval *due = NULL;
		int64_t t = now(rs);
		int64_t grace = rs->o.hurry && atomic_load(rs->o.hurry) ? HURRY_GRACE_NS : GRACE_NS;

		pthread_mutex_lock(&rs->lock);
		for (struct interval *iv = rs->ivs; iv && due == NULL; iv = iv->next)
			if (!iv->closing && iv->end != INT64_MAX && t >= iv->end + grace) {
				iv->closing = true;
				due = iv;
			}
		pthread_mutex_unlock(&rs->lock);
		if (due) {
			write_interval(rs, due);
			continue;
		}
		if (atomic_load(&rs->stopping))
			break;
		lo2_sleep_ns(TICK_NS);
	}
	return NULL;
}

/* ---- the recorder ---- */

int run_stats_start(const struct run_stats_opts *o, struct run_stats **out, struct lo2_err *err)
{
	struct run_stats *rs = xcalloc(1, sizeof(*rs));

	rs->o = *o;
	pthread_mutex_init(&rs->lock, NULL);
	pthread_cond_init(&rs->cond, NULL);
	if (lo2_thread_start(&rs->writer, writer_main, rs, "stats writer", err) < 0) {
		pthread_cond_destroy(&rs->cond);
		pthread_mutex_destroy(&rs->lock);
		free(rs);
		return lo2_err_prefix(err, "stats");
	}
	rs->writer_started = true;
	run_hub_subscribe(o->hub, on_hub, rs);
	*out = rs;
	return 0;
}

int run_stats_open(struct run_stats *rs, int64_t start_ns, const char *dir)
{
	struct interval *iv = xcalloc(1, sizeof(*iv));
	int n;

	iv->start = start_ns;
	iv->end = INT64_MAX;
	iv->dir = xstrdup(dir);
	pthread_mutex_lock(&rs->lock);
	if (rs->tail && rs->tail->end == INT64_MAX)
		rs->tail->end = start_ns;
	n = iv->n = rs->next_n++;
	if (rs->tail)
		rs->tail->next = iv;
	else
		rs->ivs = iv;
	rs->tail = iv;
	pthread_mutex_unlock(&rs->lock);
	return n;
}

void run_stats_close(struct run_stats *rs, int64_t end_ns)
{
	pthread_mutex_lock(&rs->lock);
	if (rs->tail && rs->tail->end == INT64_MAX)
		rs->tail->end = end_ns;
	pthread_mutex_unlock(&rs->lock);
}

int run_stats_wait(struct run_stats *rs, int n, struct run_stats_result *out, struct lo2_err *err)
{
	struct interval *iv = NULL;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&rs->lock);
	for (iv = rs->ivs; iv && iv->n != n; iv = iv->next)
		;
	while (iv && !iv->written)
		pthread_cond_wait(&rs->cond, &rs->lock);
	pthread_mutex_unlock(&rs->lock);
	if (iv == NULL)
		return lo2_err_set(err, LO2_E_NOT_FOUND, "stats: no interval %d", n);
	*out = iv->res;
	memset(&iv->res, 0, sizeof(iv->res));
	if (iv->rc < 0) {
		*err = iv->err;
		return -1;
	}
	return 0;
}

char *run_stats_section(struct run_stats *rs)
{
	struct lo2_jw *w = lo2_jw_new(NULL);

	pthread_mutex_lock(&rs->lock);
	lo2_jw_obj(w);
	lo2_jw_key(w, "late_samples");
	lo2_jw_int(w, (int64_t)rs->late);
	lo2_jw_key(w, "containers");
	lo2_jw_obj(w);
	for (struct ctr *c = rs->cs; c; c = c->next) {
		lo2_jw_key(w, c->id);
		lo2_jw_obj(w);
		lo2_jw_key(w, "name");
		lo2_jw_str(w, c->name);
		lo2_jw_key(w, "service");
		lo2_jw_str(w, c->service);
		lo2_jw_key(w, "locust");
		lo2_jw_bool(w, c->locust);
		lo2_jw_key(w, "streams");
		lo2_jw_int(w, (int64_t)c->streams);
		lo2_jw_key(w, "stream_failures");
		lo2_jw_int(w, (int64_t)c->failures);
		lo2_jw_key(w, "bad_samples");
		lo2_jw_int(w, (int64_t)c->bad);
		lo2_jw_key(w, "oom_events");
		lo2_jw_int(w, (int64_t)c->ooms);
		/* counters restart from zero at each start: analysis stitches them here */
		lo2_jw_key(w, "events");
		lo2_jw_arr(w);
		for (size_t i = 0; i < c->events.n; i++) {
			struct lo2_json *doc = NULL;

			if (lo2_json_parse(c->events.v[i], "event", &doc, NULL) == 0)
				lo2_jw_node(w, doc);
			lo2_json_free(doc);
		}
		lo2_jw_arr_end(w);
		lo2_jw_obj_end(w);
	}
	lo2_jw_obj_end(w);
	lo2_jw_obj_end(w);
	pthread_mutex_unlock(&rs->lock);
	return lo2_jw_finish(w, NULL);
}

void run_stats_stop(struct run_stats *rs)
{
	if (rs == NULL || rs->stopped)
		return;
	pthread_mutex_lock(&rs->lock);
	atomic_store(&rs->stopping, true); /* on_hub adds nobody from now on */
	for (struct ctr *c = rs->cs; c; c = c->next)
		atomic_store(&c->cancel, true); /* all at once: each ends while the next is joined */
	pthread_mutex_unlock(&rs->lock);
	for (struct ctr *c = rs->cs; c; c = c->next)
		if (c->started)
			pthread_join(c->thread, NULL);
	if (rs->writer_started)
		pthread_join(rs->writer, NULL);
	rs->stopped = true;
}

void run_stats_free(struct run_stats *rs)
{
	struct interval *iv, *next;
	struct ctr *c, *cnext;

	if (rs == NULL)
		return;
	run_stats_stop(rs);
	for (iv = rs->ivs; iv; iv = next) {
		next = iv->next;
		for (size_t i = 0; i < iv->n_cd; i++)
			free_cdata(iv->cd[i]);
		free(iv->cd);
		run_stats_result_free(&iv->res);
		free(iv->dir);
		free(iv);
	}
	for (c = rs->cs; c; c = cnext) {
		cnext = c->next;
		free(c->id);
		free(c->name);
		free(c->service);
		free(c->project);
		free(c->image);
		lo2_strv_free(&c->events);
		free(c);
	}
	pthread_cond_destroy(&rs->cond);
	pthread_mutex_destroy(&rs->lock);
	free(rs);
}
