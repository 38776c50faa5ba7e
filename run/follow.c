/* follow.c - one container's log followed exactly (see follow.h): a state machine over the
 * demultiplexed messages (timestamp prefix, then payload), per-stream line buffers, positions
 * that drop what the engine sends again, and the loop that reconnects and follows restarts. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/thread.h"
#include "common/time.h"
#include "engine/engine.h"
#include "run/follow.h"
#include "run/hub.h"

#define LINE_MAX_BYTES (8u * 1024 * 1024)
#define TS_MAX 40
#define BACKOFF_MIN_NS (50 * 1000 * 1000)
#define BACKOFF_MAX_NS LO2_NS_PER_SEC
#define STOPPED_RECHECK_NS (5 * LO2_NS_PER_SEC)

enum fstate { F_CONNECTING, F_STREAMING, F_STOPPED, F_DONE };

struct line_state {
	struct lo2_buf line;
	int64_t ts;
	char ts_text[TS_MAX];
};

struct run_follow {
	struct engine *e;
	struct run_follow_opts o;
	char *id, *name;
	const atomic_bool *ext_stop;
	atomic_bool stop;
	pthread_t thread;
	bool threaded;
	/* the message being read */
	bool expect_ts, drop;
	char ts[TS_MAX];
	size_t ts_len;
	int64_t msg_ts;
	/* this connection's count of messages at conn_ts */
	int64_t conn_ts;
	uint32_t conn_n;
	struct run_follow_pos pos;
	struct line_state st[3]; /* [1] stdout, [2] stderr */
	bool tty;
	/* read by other threads */
	atomic_int state;
	atomic_llong pos_ts, pending_ts, rx_mono;
	pthread_mutex_t lock; /* stats and err */
	struct run_follow_stats stats;
	struct lo2_err err;
};

static bool stopping(const struct run_follow *f)
{
	return atomic_load(&f->stop) || (f->ext_stop && atomic_load(f->ext_stop));
}

static void update_pending(struct run_follow *f)
{
	int64_t p = INT64_MAX;

	for (int i = 1; i < 3; i++)
		if (f->st[i].line.len > 0 && f->st[i].ts < p)
			p = f->st[i].ts;
	atomic_store(&f->pending_ts, p);
}

static int emit(struct run_follow *f, int stream, struct lo2_err *err)
{
	struct line_state *s = &f->st[stream];
	struct run_follow_line l = {.data = s->line.data,
	                            .len = s->line.len,
	                            .ts = s->ts,
	                            .ts_text = s->ts_text,
	                            .stream = stream,
	                            .end = f->pos};
	int rc = 0;

	if (s->line.len == 0)
		return 0;
	if (f->o.until_ns == 0 || s->ts < f->o.until_ns)
		rc = f->o.fn(f->o.user, &l, err);
	pthread_mutex_lock(&f->lock);
	f->stats.lines++;
	f->stats.bytes += s->line.len;
	pthread_mutex_unlock(&f->lock);
	lo2_buf_reset(&s->line);
	update_pending(f);
	return rc;
}

/* A message's timestamp is read: decide whether it was taken before (a replay). */
static void message_begins(struct run_follow *f, int64_t ts)
{
	if (ts == f->conn_ts) {
		f->conn_n++;
	} else {
		f->conn_ts = ts;
		f->conn_n = 1;
	}
	f->msg_ts = ts;
	f->drop = ts < f->pos.ts || (ts == f->pos.ts && f->conn_n <= f->pos.count);
	if (f->drop) {
		pthread_mutex_lock(&f->lock);
		f->stats.replayed++;
		pthread_mutex_unlock(&f->lock);
		return;
	}
	if (ts > f->pos.ts)
		f->pos = (struct run_follow_pos){ts, f->conn_n};
	else
		f->pos.count = f->conn_n;
	atomic_store(&f->pos_ts, ts);
}

/* Reads the "<RFC 3339 ns> " prefix; returns bytes consumed, -1 on a malformed prefix. */
static long take_ts(struct run_follow *f, const char *p, size_t n, struct lo2_err *err)
{
	const char *sp = memchr(p, ' ', n);
	size_t take = sp ? (size_t)(sp - p) + 1 : n;
	int64_t ts = 0;

	if (f->ts_len + take > TS_MAX)
		return lo2_err_set(err, LO2_E_INVALID,
		                   "log stream of %s: a message without its timestamp prefix", f->name);
	memcpy(f->ts + f->ts_len, p, take);
	f->ts_len += take;
	if (sp == NULL)
		return (long)take;
	f->ts[f->ts_len - 1] = '\0';
	if (lo2_time_parse(f->ts, &ts, err) < 0)
		return lo2_err_prefix(err, "log stream of %s: timestamp", f->name);
	f->ts_len = 0;
	f->expect_ts = false;
	message_begins(f, ts);
	return (long)take;
}

/* Payload of a taken message for stream: appended to its line; a '\n' completes a line. */
static int payload(struct run_follow *f, int stream, const char *p, size_t n, struct lo2_err *err)
{
	struct line_state *s = &f->st[stream];

	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) + 1 : n;

		if (s->line.len == 0) {
			s->ts = f->msg_ts;
			snprintf(s->ts_text, sizeof(s->ts_text), "%s", f->ts);
			update_pending(f);
		}
		lo2_buf_append(&s->line, p, take);
		p += take;
		n -= take;
		if (nl != NULL || s->line.len >= LINE_MAX_BYTES) {
			if (emit(f, stream, err) < 0)
				return -1;
			if (f->tty && nl != NULL)
				f->expect_ts = true;
		}
	}
	return 0;
}

static int on_data(void *user, int stream, const char *p, size_t n, bool frame_start, bool frame_end,
                   struct lo2_err *err)
{
	struct run_follow *f = user;
	int s = stream == ENGINE_STDERR ? 2 : 1;

	atomic_store(&f->rx_mono, lo2_mono_ns());
	if (stopping(f))
		return lo2_err_set(err, LO2_E_CANCELLED, "follow logs of %s: stopped", f->name);
	if (frame_start) {
		f->expect_ts = true;
		f->ts_len = 0;
	}
	while (n > 0) {
		size_t take;

		if (f->expect_ts) {
			long t = take_ts(f, p, n, err);

			if (t < 0)
				return -1;
			p += t;
			n -= (size_t)t;
			continue;
		}
		if (f->drop) {
			/* the rest of a message taken before (TTY: up to its newline) */
			const char *nl = f->tty ? memchr(p, '\n', n) : NULL;

			take = nl ? (size_t)(nl - p) + 1 : n;
			if (nl)
				f->expect_ts = true;
			p += take;
			n -= take;
			continue;
		}
		if (f->tty) {
			const char *nl = memchr(p, '\n', n);

			take = nl ? (size_t)(nl - p) + 1 : n;
		} else {
			take = n;
		}
		if (payload(f, s, p, take, err) < 0)
			return -1;
		p += take;
		n -= take;
	}
	return 0;
}

static void set_error(struct run_follow *f, const struct lo2_err *err)
{
	pthread_mutex_lock(&f->lock);
	if (f->err.msg[0] == '\0')
		f->err = *err;
	pthread_mutex_unlock(&f->lock);
}

/* The process behind the partial lines ended: they are lines now. */
static void flush_partial(struct run_follow *f)
{
	struct lo2_err err = {0};

	for (int i = 1; i < 3; i++)
		if (f->st[i].line.len > 0 && emit(f, i, &err) < 0)
			set_error(f, &err);
}

/* One stream from the current position; the stream's error (if any) in err. */
static int stream_once(struct run_follow *f, struct lo2_err *err)
{
	struct engine_logs_opts lo = {.timestamps = true, .follow = f->o.follow};

	/* run_follow_run stops on the caller's flag, a follower thread on its own */
	lo.cancel = f->ext_stop ? f->ext_stop : &f->stop;
	lo.since_ns = f->pos.ts > 0 ? f->pos.ts : f->o.since_ns;
	f->conn_ts = 0;
	f->conn_n = 0;
	f->expect_ts = true;
	f->ts_len = 0;
	f->drop = false;
	atomic_store(&f->state, F_STREAMING);
	if (stopping(f))
		return 0;
	return engine_container_logs(f->e, f->id, &lo, on_data, f, err);
}

/* Sleeps ns in slices, returning early when the follower is stopping. */
static void nap(struct run_follow *f, int64_t ns)
{
	int64_t until = lo2_mono_ns() + ns;

	while (!stopping(f) && lo2_mono_ns() < until)
		lo2_sleep_ns(20 * 1000 * 1000);
}

/* The container is not running: waits until the hub tells of an event about it (or, as a safety
 * net, a few seconds pass; without a hub, a fifth of a second), in slices a stop does not wait for. */
static void wait_for_change(struct run_follow *f, uint64_t gen)
{
	int64_t until = lo2_mono_ns() + (f->o.hub ? STOPPED_RECHECK_NS : LO2_NS_PER_SEC / 5);

	while (!stopping(f) && lo2_mono_ns() < until) {
		if (f->o.hub == NULL)
			lo2_sleep_ns(20 * 1000 * 1000);
		else if (run_hub_wait(f->o.hub, f->id, gen, 50 * 1000 * 1000) != gen)
			return;
	}
}

/* After a stream ended: 1 to stream again, 0 when the follower is done. */
static int next_step(struct run_follow *f, int64_t *backoff)
{
	uint64_t gen = 0;

	for (;;) {
		struct engine_container_info ci;
		struct lo2_err err = {0};
		bool running, restarting;

		if (stopping(f) || !f->o.follow)
			return 0;
		if (f->o.until_ns && lo2_now_ns() > f->o.until_ns + LO2_NS_PER_SEC)
			return 0; /* past the end asked for (on lo2's clock, with a second to spare) */
		if (f->o.hub)
			run_hub_container_state(f->o.hub, f->id, NULL, NULL, &gen);
		if (engine_container_inspect(f->e, f->id, &ci, &err) < 0) {
			if (err.kind == LO2_E_NOT_FOUND)
				return 0;
			nap(f, *backoff);
			*backoff = *backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : *backoff * 2;
			continue;
		}
		running = ci.running && !ci.restarting;
		restarting = ci.restarting;
		engine_container_info_free(&ci);
		if (running) {
			if (atomic_load(&f->state) == F_STOPPED) {
				pthread_mutex_lock(&f->lock);
				f->stats.restarts++;
				pthread_mutex_unlock(&f->lock);
			} else {
				pthread_mutex_lock(&f->lock);
				f->stats.resumed++;
				pthread_mutex_unlock(&f->lock);
				nap(f, *backoff);
				*backoff = *backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : *backoff * 2;
			}
			atomic_store(&f->state, F_CONNECTING);
			return 1;
		}
		if (atomic_load(&f->state) != F_STOPPED) {
			flush_partial(f);
			atomic_store(&f->state, F_STOPPED);
		}
		if (f->o.restarts == RUN_FOLLOW_WHILE_RESTARTING && !restarting)
			return 0;
		wait_for_change(f, gen);
	}
}

/* The container's TTY setting decides the framing; a container already gone has no log. */
static int first_inspect(struct run_follow *f)
{
	struct engine_container_info ci;
	struct lo2_err err = {0};

	if (engine_container_inspect(f->e, f->id, &ci, &err) < 0) {
		lo2_err_prefix(&err, "follow logs of %s", f->name);
		set_error(f, &err); /* NOT_FOUND: gone before it could be followed */
		return -1;
	}
	f->tty = ci.tty;
	if (f->o.on_info)
		f->o.on_info(f->o.user, &ci);
	engine_container_info_free(&ci);
	return 0;
}

static void follow_loop(struct run_follow *f)
{
	int64_t backoff = BACKOFF_MIN_NS;

	if (first_inspect(f) < 0) {
		atomic_store(&f->state, F_DONE);
		return;
	}

	for (;;) {
		struct lo2_err err = {0};
		uint64_t before = f->stats.lines;
		int rc = stream_once(f, &err);

		if (rc < 0 && !stopping(f)) {
			if (err.kind == LO2_E_NOT_FOUND || err.kind == LO2_E_CONFLICT)
				break; /* removed, or being removed: its log is gone */
			if (err.http_status >= 400 || err.kind == LO2_E_INVALID) {
				set_error(f, &err); /* the engine will not give this log: say so */
				break;
			}
			lo2_debug("logs of %s: %s (following again)", f->name, err.msg);
		}
		if (f->stats.lines != before)
			backoff = BACKOFF_MIN_NS;
		if (next_step(f, &backoff) == 0)
			break;
	}
	flush_partial(f);
	atomic_store(&f->state, F_DONE);
}

static void *follow_main(void *arg)
{
	follow_loop(arg);
	return NULL;
}

static struct run_follow *follow_new(struct engine *e, const struct run_follow_opts *o)
{
	struct run_follow *f = xcalloc(1, sizeof(*f));

	f->e = e;
	f->o = *o;
	f->id = xstrdup(o->id);
	f->name = xstrdup(o->name ? o->name : o->id);
	f->o.id = f->id;
	f->o.name = f->name;
	f->pos = o->from;
	atomic_store(&f->pos_ts, o->from.ts);
	atomic_store(&f->pending_ts, INT64_MAX);
	atomic_store(&f->rx_mono, lo2_mono_ns());
	atomic_store(&f->state, F_CONNECTING);
	pthread_mutex_init(&f->lock, NULL);
	for (int i = 1; i < 3; i++)
		f->st[i].line.max = LINE_MAX_BYTES + 64 * 1024;
	return f;
}

static void follow_free(struct run_follow *f)
{
	for (int i = 1; i < 3; i++)
		lo2_buf_free(&f->st[i].line);
	pthread_mutex_destroy(&f->lock);
	free(f->id);
	free(f->name);
	free(f);
}

int run_follow_start(struct engine *e, const struct run_follow_opts *o, struct run_follow **out,
                     struct lo2_err *err)
{
	struct run_follow *f = follow_new(e, o);

	if (lo2_thread_start(&f->thread, follow_main, f, "log follower", err) < 0) {
		follow_free(f);
		return lo2_err_prefix(err, "follow logs of %s", o->name ? o->name : o->id);
	}
	f->threaded = true;
	*out = f;
	return 0;
}

int run_follow_run(struct engine *e, const struct run_follow_opts *o, const atomic_bool *stop,
                   struct lo2_err *err)
{
	struct run_follow *f = follow_new(e, o);
	int ret = 0;

	f->ext_stop = stop;
	follow_loop(f);
	if (o->stats) {
		*o->stats = f->stats;
		o->stats->pos = f->pos;
	}
	if (f->err.msg[0]) {
		*err = f->err;
		ret = -1;
	}
	follow_free(f);
	return ret;
}

bool run_follow_passed(struct run_follow *f, int64_t t_ns, int64_t engine_now_ns, int64_t grace_ns)
{
	int st = atomic_load(&f->state);

	if (st == F_DONE || st == F_STOPPED)
		return true;
	if (atomic_load(&f->pos_ts) >= t_ns && atomic_load(&f->pending_ts) >= t_ns)
		return true;
	return lo2_mono_ns() - atomic_load(&f->rx_mono) >= grace_ns && engine_now_ns >= t_ns + grace_ns;
}

bool run_follow_done(struct run_follow *f)
{
	return atomic_load(&f->state) == F_DONE;
}

void run_follow_stats(struct run_follow *f, struct run_follow_stats *out)
{
	pthread_mutex_lock(&f->lock);
	*out = f->stats;
	out->pos.ts = atomic_load(&f->pos_ts);
	pthread_mutex_unlock(&f->lock);
}

void run_follow_error(struct run_follow *f, struct lo2_err *out)
{
	pthread_mutex_lock(&f->lock);
	*out = f->err;
	pthread_mutex_unlock(&f->lock);
}

void run_follow_cancel(struct run_follow *f)
{
	if (f)
		atomic_store(&f->stop, true);
}

void run_follow_stop(struct run_follow *f, struct run_follow_stats *last)
{
	if (f == NULL)
		return;
	atomic_store(&f->stop, true);
	if (f->threaded)
		pthread_join(f->thread, NULL);
	if (last)
		run_follow_stats(f, last);
	follow_free(f);
}
