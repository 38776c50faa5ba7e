/* logroute.c - one follow stream per container, lines reassembled (a line longer than the
 * engine's 16 KiB messages arrives in several timestamped pieces and is routed as one line by
 * its first timestamp) and routed to the open window's file or to the between file. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/sink.h"
#include "common/time.h"
#include "engine/engine.h"
#include "run/logroute.h"

#define LINE_MAX_BYTES (8u * 1024 * 1024)
#define TS_MAX 40
#define GRACE_NS (1 * LO2_NS_PER_SEC)
#define POLL_NS (200 * 1000 * 1000)

struct stream_state {
	bool expect_ts;
	char ts[TS_MAX];
	size_t ts_len;
	struct lo2_buf line;
	int64_t line_ts;
	char line_ts_text[TS_MAX];
};

struct follower {
	struct run_logroute *r;
	char *id, *name;
	pthread_t thread;
	pthread_mutex_t lock; /* the sinks and counters */
	struct lo2_sink *win, *between;
	uint64_t win_lines, between_lines, late_lines;
	atomic_llong last_ts;
	atomic_bool done;
	bool tty;
	struct stream_state st[3];
	struct lo2_err err; /* first unrecovered error */
	struct follower *next;
};

struct run_logroute {
	struct engine *e;
	struct lo2_strv filters;
	char *between_dir;
	bool keep_ts, compress;
	int64_t since_ns, clock_offset;
	pthread_mutex_t lock; /* window state and the follower list */
	char *win_dir;
	int64_t win_start, win_end;
	bool win_open;
	int64_t stop_at; /* lines at or after it are dropped (0: not stopping) */
	atomic_bool stop;
	pthread_t watcher;
	struct follower *list;
};

/* Opens <dir>/<container>.log[.gz] into *slot. */
static int open_file(const struct follower *f, const char *dir, struct lo2_sink **slot, struct lo2_err *err)
{
	lo2_autofree char *path = xasprintf("%s/%s.log%s", dir, f->name, f->r->compress ? ".gz" : "");

	return f->r->compress ? lo2_sink_gzip_open(path, -1, slot, err) : lo2_sink_file_open(path, slot, err);
}

/* Called with f->lock held: the sink a line of time ts goes to (opened when first needed);
 * *out NULL when the line comes after the router's stop instant (dropped). */
static int route(struct follower *f, int64_t ts, struct lo2_sink **out, struct lo2_err *err)
{
	struct run_logroute *r = f->r;
	struct lo2_sink **slot;
	lo2_autofree char *dir = NULL;
	bool in_window, drop;

	pthread_mutex_lock(&r->lock);
	drop = r->stop_at && ts >= r->stop_at;
	in_window = r->win_open && ts >= r->win_start && ts < r->win_end;
	if (!in_window && r->win_dir && ts >= r->win_start && ts < r->win_end)
		f->late_lines++;
	dir = xstrdup(in_window ? r->win_dir : r->between_dir);
	pthread_mutex_unlock(&r->lock);
	*out = NULL;
	if (drop)
		return 0;
	slot = in_window ? &f->win : &f->between;
	if (*slot == NULL && open_file(f, dir, slot, err) < 0)
		return -1;
	if (in_window)
		f->win_lines++;
	else
		f->between_lines++;
	*out = *slot;
	return 0;
}

static int emit_line(struct follower *f, struct stream_state *s, struct lo2_err *err)
{
	struct lo2_sink *sink;
	int ret = 0;

	pthread_mutex_lock(&f->lock);
	if (route(f, s->line_ts, &sink, err) < 0)
		ret = -1;
	else if (sink == NULL)
		ret = 0;
	else if (f->r->keep_ts && (lo2_sink_write(sink, s->line_ts_text, strlen(s->line_ts_text), err) < 0 ||
	                           lo2_sink_write(sink, " ", 1, err) < 0))
		ret = -1;
	else
		ret = lo2_sink_write(sink, s->line.data, s->line.len, err);
	pthread_mutex_unlock(&f->lock);
	if (s->line_ts > atomic_load(&f->last_ts))
		atomic_store(&f->last_ts, s->line_ts);
	lo2_buf_reset(&s->line);
	return ret;
}

/* Reads the "<RFC 3339 ns> " prefix of a message; returns bytes consumed. */
static size_t take_ts(struct stream_state *s, const char *p, size_t n, struct lo2_err *err, int *rc)
{
	const char *sp = memchr(p, ' ', n);
	size_t take = sp ? (size_t)(sp - p) + 1 : n;
	int64_t ts = 0;

	*rc = 0;
	if (s->ts_len + take > TS_MAX) {
		*rc = lo2_err_set(err, LO2_E_INVALID, "log stream: a message without its timestamp prefix");
		return take;
	}
	memcpy(s->ts + s->ts_len, p, take);
	s->ts_len += take;
	if (sp == NULL)
		return take;
	s->ts[s->ts_len - 1] = '\0';
	if (lo2_time_parse(s->ts, &ts, err) < 0) {
		*rc = lo2_err_prefix(err, "log stream timestamp");
		return take;
	}
	if (s->line.len == 0) {
		s->line_ts = ts;
		memcpy(s->line_ts_text, s->ts, s->ts_len); /* ts_len <= TS_MAX, NUL included */
	}
	s->ts_len = 0;
	s->expect_ts = false;
	return take;
}

static int consume(struct follower *f, struct stream_state *s, const char *p, size_t n, struct lo2_err *err)
{
	while (n > 0) {
		const char *nl;
		size_t take;
		int rc;

		if (s->expect_ts) {
			take = take_ts(s, p, n, err, &rc);
			if (rc < 0)
				return -1;
			p += take;
			n -= take;
			continue;
		}
		nl = memchr(p, '\n', n);
		take = nl ? (size_t)(nl - p) + 1 : n;
		lo2_buf_append(&s->line, p, take);
		p += take;
		n -= take;
		if (nl != NULL || s->line.len >= LINE_MAX_BYTES) {
			if (emit_line(f, s, err) < 0)
				return -1;
			if (f->tty)
				s->expect_ts = true;
		}
	}
	return 0;
}

static int on_data(void *user, int stream, const char *p, size_t n, bool frame_start, bool frame_end,
                   struct lo2_err *err)
{
	struct follower *f = user;
	struct stream_state *s = &f->st[stream == ENGINE_STDERR ? 2 : 1];

	if (frame_start)
		s->expect_ts = true;
	return consume(f, s, p, n, err);
}

/* Lines still unfinished when a stream ends (no final newline) are written as they are. */
static void flush_partial(struct follower *f)
{
	for (int i = 1; i < 3; i++)
		if (f->st[i].line.len > 0 && emit_line(f, &f->st[i], &f->err) < 0)
			lo2_warn("logs of %s: %s", f->name, f->err.msg);
}

/* After a stream ended: true when the container runs again (follow anew), false when it is gone
 * or the router stops. */
static bool wait_restart(struct follower *f)
{
	while (!atomic_load(&f->r->stop)) {
		struct engine_container_info ci;
		struct lo2_err err = {0};
		bool running;

		if (engine_container_inspect(f->r->e, f->id, &ci, &err) < 0) {
			if (err.kind == LO2_E_NOT_FOUND)
				return false;
			lo2_sleep_ns(POLL_NS);
			continue;
		}
		running = ci.running;
		engine_container_info_free(&ci);
		if (running)
			return true;
		lo2_sleep_ns(POLL_NS);
	}
	return false;
}

static void *follow_main(void *arg)
{
	struct follower *f = arg;
	struct run_logroute *r = f->r;

	for (;;) {
		struct engine_logs_opts o = {.timestamps = true, .follow = true, .cancel = &r->stop};
		struct lo2_err err = {0};
		int64_t last = atomic_load(&f->last_ts);

		/* Resume one nanosecond after the last line seen: the engine's since is inclusive. */
		o.since_ns = last > 0 ? last + 1 : r->since_ns;
		for (int i = 1; i < 3; i++)
			f->st[i].expect_ts = true;
		if (engine_container_logs(r->e, f->id, &o, on_data, f, &err) < 0 && !atomic_load(&r->stop)) {
			if (err.kind == LO2_E_NOT_FOUND)
				break;
			lo2_debug("logs of %s: %s (following again)", f->name, err.msg);
			if (f->err.msg[0] == '\0' && err.kind != LO2_E_CONFLICT)
				f->err = err;
		}
		if (atomic_load(&r->stop) || !wait_restart(f))
			break;
	}
	flush_partial(f);
	atomic_store(&f->done, true);
	return NULL;
}

static bool known(struct run_logroute *r, const char *id)
{
	for (struct follower *f = r->list; f; f = f->next)
		if (strcmp(f->id, id) == 0)
			return true;
	return false;
}

static void add_follower(struct run_logroute *r, const char *id, const char *name)
{
	struct follower *f = xcalloc(1, sizeof(*f));
	struct engine_container_info ci;
	struct lo2_err err = {0};

	f->r = r;
	f->id = xstrdup(id);
	/* A name that is not a safe file name is mapped to the container's short ID. */
	f->name = lo2_name_check("container", name, &err) == 0 ? xstrdup(name) : xstrndup(id, 12);
	if (engine_container_inspect(r->e, id, &ci, &err) == 0) {
		f->tty = ci.tty;
		engine_container_info_free(&ci);
	}
	pthread_mutex_init(&f->lock, NULL);
	f->next = r->list;
	r->list = f;
	pthread_create(&f->thread, NULL, follow_main, f);
}

static int scan_containers(struct run_logroute *r, struct lo2_err *err)
{
	struct engine_container_list cl;

	if (engine_container_list(r->e, &r->filters, true, &cl, err) < 0)
		return -1;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < cl.n; i++)
		if (!known(r, cl.v[i].id))
			add_follower(r, cl.v[i].id, cl.v[i].name);
	pthread_mutex_unlock(&r->lock);
	engine_container_list_free(&cl);
	return 0;
}

static void *watch_main(void *arg)
{
	struct run_logroute *r = arg;

	while (!atomic_load(&r->stop)) {
		struct lo2_err err = {0};

		if (scan_containers(r, &err) < 0)
			lo2_debug("log router: %s", err.msg);
		for (int i = 0; i < 5 && !atomic_load(&r->stop); i++)
			lo2_sleep_ns(POLL_NS);
	}
	return NULL;
}

int run_logroute_start(struct engine *e, const struct run_logroute_opts *o, struct run_logroute **out,
                       struct lo2_err *err)
{
	struct run_logroute *r = xcalloc(1, sizeof(*r));

	r->e = e;
	lo2_strv_copy(&r->filters, o->filters);
	r->between_dir = xstrdup(o->between_dir);
	r->keep_ts = o->keep_timestamps;
	r->compress = o->compress;
	r->since_ns = o->since_ns;
	pthread_mutex_init(&r->lock, NULL);
	if (lo2_mkdir_p(r->between_dir, 0755, err) < 0 || engine_clock_offset(e, &r->clock_offset, err) < 0 ||
	    scan_containers(r, err) < 0) {
		lo2_err_prefix(err, "follow logs");
		atomic_store(&r->stop, true);
		run_logroute_stop(r, NULL, NULL);
		return -1;
	}
	pthread_create(&r->watcher, NULL, watch_main, r);
	*out = r;
	return 0;
}

int run_logroute_open(struct run_logroute *r, const char *dir, int64_t start_ns, struct lo2_err *err)
{
	if (lo2_mkdir_p(dir, 0755, err) < 0)
		return lo2_err_prefix(err, "open log window %s", dir);
	pthread_mutex_lock(&r->lock);
	free(r->win_dir);
	r->win_dir = xstrdup(dir);
	r->win_start = start_ns;
	r->win_end = INT64_MAX;
	r->win_open = true;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static bool passed(struct run_logroute *r, int64_t end_ns)
{
	bool all = true;
	int64_t engine_now = lo2_now_ns() + r->clock_offset;

	if (engine_now > end_ns + GRACE_NS)
		return true;
	pthread_mutex_lock(&r->lock);
	for (struct follower *f = r->list; f && all; f = f->next)
		all = atomic_load(&f->done) || atomic_load(&f->last_ts) >= end_ns;
	pthread_mutex_unlock(&r->lock);
	return all;
}

int run_logroute_close(struct run_logroute *r, int64_t end_ns, uint64_t *lines, struct lo2_err *err)
{
	uint64_t total = 0;
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	r->win_end = end_ns;
	pthread_mutex_unlock(&r->lock);
	while (!passed(r, end_ns))
		lo2_sleep_ns(POLL_NS / 4);
	pthread_mutex_lock(&r->lock);
	r->win_open = false;
	pthread_mutex_unlock(&r->lock);
	/* From here no line is routed to the window: complete its files. */
	for (struct follower *f = r->list; f; f = f->next) {
		pthread_mutex_lock(&f->lock);
		/* A container that wrote nothing in the window still gets its (empty) file. */
		if (f->win == NULL && ret == 0 && open_file(f, r->win_dir, &f->win, err) < 0)
			ret = lo2_err_prefix(err, "close log window of %s", f->name);
		if (f->win != NULL && lo2_sink_commit(f->win, err) < 0 && ret == 0)
			ret = lo2_err_prefix(err, "close log window of %s", f->name);
		f->win = NULL;
		total += f->win_lines;
		f->win_lines = 0;
		pthread_mutex_unlock(&f->lock);
	}
	if (lines)
		*lines = total;
	return ret;
}

int run_logroute_stop(struct run_logroute *r, int64_t *until_ns, struct lo2_err *err)
{
	struct follower *f, *next;
	int64_t stop_at = lo2_now_ns() + r->clock_offset;
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	r->stop_at = stop_at;
	pthread_mutex_unlock(&r->lock);
	while (r->watcher && !passed(r, stop_at))
		lo2_sleep_ns(POLL_NS / 4);
	if (until_ns)
		*until_ns = stop_at;
	atomic_store(&r->stop, true);
	if (r->watcher)
		pthread_join(r->watcher, NULL);
	for (f = r->list; f; f = f->next)
		pthread_join(f->thread, NULL);
	for (f = r->list; f; f = next) {
		struct lo2_sink *sinks[2] = {f->win, f->between};

		next = f->next;
		for (int i = 0; i < 2; i++)
			if (sinks[i] && lo2_sink_commit(sinks[i], err) < 0 && ret == 0)
				ret = lo2_err_prefix(err, "complete logs of %s", f->name);
		if (f->err.msg[0] && ret == 0 && err) {
			*err = f->err;
			ret = lo2_err_prefix(err, "follow logs of %s", f->name);
		}
		if (f->late_lines)
			lo2_warn("logs of %s: %llu lines arrived after their window closed (kept in %s)",
			         f->name, (unsigned long long)f->late_lines, r->between_dir);
		for (int i = 1; i < 3; i++)
			lo2_buf_free(&f->st[i].line);
		pthread_mutex_destroy(&f->lock);
		free(f->id);
		free(f->name);
		free(f);
	}
	lo2_strv_free(&r->filters);
	free(r->between_dir);
	free(r->win_dir);
	pthread_mutex_destroy(&r->lock);
	free(r);
	return ret;
}
