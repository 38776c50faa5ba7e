/* logs.c - container logs: the incremental demultiplexer of the 8-byte-header stream
 * (correct for any split of the input, frames larger than any buffer, raw TTY streams,
 * type-3 error frames), and the logs request with since/until in nanoseconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/time.h"
#include "engine/internal.h"

#define SYSERR_MAX 4096

struct engine_demux {
	bool tty;
	engine_data_fn fn;
	void *user;
	unsigned char hdr[8];
	size_t hdr_have;
	uint32_t remaining; /* payload bytes left in the current frame */
	bool at_start; /* next payload piece is the frame's first */
	int stream;
	uint64_t offset; /* bytes consumed, for messages */
	struct lo2_buf syserr;
};

struct engine_demux *engine_demux_new(bool tty, engine_data_fn fn, void *user)
{
	struct engine_demux *d = xcalloc(1, sizeof(*d));

	d->tty = tty;
	d->fn = fn;
	d->user = user;
	d->syserr.max = SYSERR_MAX;
	return d;
}

void engine_demux_free(struct engine_demux *d)
{
	if (d == NULL)
		return;
	lo2_buf_free(&d->syserr);
	free(d);
}

/* A header is complete: check it and start the frame. */
static int start_frame(struct engine_demux *d, struct lo2_err *err)
{
	const unsigned char *h = d->hdr;

	if (h[0] > 3 || h[1] || h[2] || h[3])
		return lo2_err_set(err, LO2_E_INVALID,
		                   "malformed log stream: bad frame header %02x %02x %02x %02x at byte %llu "
		                   "(is the container a TTY?)",
		                   h[0], h[1], h[2], h[3], (unsigned long long)(d->offset - 8));
	d->stream = h[0] == ENGINE_STDIN ? ENGINE_STDOUT : h[0];
	d->remaining = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | (uint32_t)h[7];
	d->hdr_have = 0;
	d->at_start = true;
	lo2_buf_reset(&d->syserr);
	if (d->remaining == 0 && d->stream == ENGINE_SYSERR)
		return lo2_err_set(err, LO2_E_GENERIC, "the engine reported an error in the log stream");
	return 0;
}

static int payload(struct engine_demux *d, const char *p, size_t take, struct lo2_err *err)
{
	bool end = take == d->remaining;
	bool start = d->at_start;

	d->remaining -= (uint32_t)take;
	d->at_start = false;
	if (d->stream == ENGINE_SYSERR) {
		lo2_buf_append(&d->syserr, p,
		               take < SYSERR_MAX - d->syserr.len ? take : SYSERR_MAX - d->syserr.len);
		if (!end)
			return 0;
		while (d->syserr.len && (d->syserr.data[d->syserr.len - 1] == '\n'))
			d->syserr.data[--d->syserr.len] = '\0';
		return lo2_err_set(err, LO2_E_GENERIC, "the engine reported an error in the log stream: %s",
		                   d->syserr.data ? d->syserr.data : "");
	}
	return d->fn(d->user, d->stream, p, take, start, end, err);
}

int engine_demux_feed(struct engine_demux *d, const char *p, size_t n, struct lo2_err *err)
{
	if (d->tty)
		return n ? d->fn(d->user, ENGINE_STDOUT, p, n, false, false, err) : 0;
	while (n > 0) {
		size_t take;

		if (d->remaining == 0) {
			take = 8 - d->hdr_have < n ? 8 - d->hdr_have : n;
			memcpy(d->hdr + d->hdr_have, p, take);
			d->hdr_have += take;
			d->offset += take;
			p += take;
			n -= take;
			if (d->hdr_have == 8 && start_frame(d, err) < 0)
				return -1;
			continue;
		}
		take = d->remaining < n ? d->remaining : n;
		d->offset += take;
		if (payload(d, p, take, err) < 0)
			return -1;
		p += take;
		n -= take;
	}
	return 0;
}

int engine_demux_finish(struct engine_demux *d, struct lo2_err *err)
{
	if (d->tty)
		return 0;
	if (d->hdr_have > 0)
		return lo2_err_set(
		    err, LO2_E_GENERIC,
		    "log stream truncated: it ended inside a frame header (%zu of 8 bytes) at byte %llu",
		    d->hdr_have, (unsigned long long)d->offset);
	if (d->remaining > 0)
		return lo2_err_set(
		    err, LO2_E_GENERIC,
		    "log stream truncated: it ended inside a frame (%u payload bytes missing) at byte %llu",
		    d->remaining, (unsigned long long)d->offset);
	return 0;
}

static int demux_body(void *user, const char *p, size_t n, struct lo2_err *err)
{
	return engine_demux_feed(user, p, n, err);
}

static char *logs_path(const char *id, const struct engine_logs_opts *o)
{
	lo2_autofree char *eid = engine_escape(id);
	struct lo2_buf b = LO2_BUF_INIT;
	char t[40];

	lo2_buf_printf(&b, "/containers/%s/logs?stdout=%d&stderr=%d&timestamps=%d&follow=%d", eid,
	               !o->no_stdout, !o->no_stderr, o->timestamps, o->follow);
	if (o->since_ns > 0) {
		lo2_time_fmt_unix(o->since_ns, t, sizeof(t));
		lo2_buf_printf(&b, "&since=%s", t);
	}
	if (o->until_ns > 0) {
		lo2_time_fmt_unix(o->until_ns, t, sizeof(t));
		lo2_buf_printf(&b, "&until=%s", t);
	}
	if (o->tail) {
		lo2_autofree char *et = engine_escape(o->tail);

		lo2_buf_printf(&b, "&tail=%s", et);
	}
	return lo2_buf_steal(&b);
}

int engine_container_logs(struct engine *e, const char *id, const struct engine_logs_opts *o,
                          engine_data_fn fn, void *user, struct lo2_err *err)
{
	struct engine_container_info ci;
	struct engine_demux *d = NULL;
	lo2_autofree char *path = NULL;
	struct ereq r = {.stream = true, .may_idle = o->follow, .cancel = o->cancel};
	int ret = -1;

	if (o->no_stdout && o->no_stderr)
		return lo2_err_set(err, LO2_E_INVALID,
		                   "read logs of container %s: neither stdout nor stderr asked for", id);
	if (engine_check_ref(id, "read logs of container", err) < 0)
		return -1;
	/* Framing follows the container's Tty (the Content-Type is unreliable below API 1.42). */
	if (engine_container_inspect(e, id, &ci, err) < 0)
		return lo2_err_prefix(err, "read logs of container %s", id);
	d = engine_demux_new(ci.tty, fn, user);
	path = logs_path(id, o);
	r.path = path;
	r.on_body = demux_body;
	r.user = d;
	if (engine_call(e, &r, NULL, err, "read logs of container %s", ci.name) < 0)
		goto out;
	if (engine_demux_finish(d, err) < 0) {
		lo2_err_prefix(err, "read logs of container %s", ci.name);
		goto out;
	}
	ret = 0;
out:
	engine_demux_free(d);
	engine_container_info_free(&ci);
	return ret;
}

static int to_sink(void *user, int stream, const char *p, size_t n, bool frame_start, bool frame_end,
                   struct lo2_err *err)
{
	return lo2_sink_write(user, p, n, err);
}

int engine_container_logs_to_sink(struct engine *e, const char *id, const struct engine_logs_opts *o,
                                  struct lo2_sink *sink, struct lo2_err *err)
{
	return engine_container_logs(e, id, o, to_sink, sink, err);
}
