/* events.c - the engine's event stream, parsed line by line and handed to a callback
 * until it asks to stop, the stream ends (until reached) or the caller cancels. */
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/time.h"
#include "engine/internal.h"

struct events_ctx {
	engine_event_fn fn;
	void *user;
	bool stopped; /* the callback asked to stop */
	unsigned long long n; /* events read, for messages */
};

/* Reads the fields of one event (Type, Action, Actor.ID required; a time in timeNano or time). */
static int read_event(const struct lo2_json *doc, struct engine_event *ev, struct lo2_kvv *attrs,
                      struct lo2_err *err)
{
	const struct lo2_json *type, *action, *actor, *id;
	int64_t t = 0;

	if (!lo2_json_is_object(doc))
		return lo2_err_set(err, LO2_E_INVALID, "the event is not an object");
	if (engine_field(doc, "Type", ENGINE_J_STR, true, "the event", &type, err) < 0 ||
	    engine_field(doc, "Action", ENGINE_J_STR, true, "the event", &action, err) < 0 ||
	    engine_field(doc, "Actor", ENGINE_J_OBJ, true, "the event", &actor, err) < 0 ||
	    engine_field(actor, "ID", ENGINE_J_STR, true, "Actor", &id, err) < 0 ||
	    engine_field_kvv(actor, "Attributes", "Actor", attrs, err) < 0 ||
	    engine_field_int(doc, "timeNano", "the event", &t, err) < 0)
		return -1;
	ev->time_ns = t;
	if (t == 0) {
		if (engine_field_int(doc, "time", "the event", &t, err) < 0)
			return -1;
		if (t < 0 || t > INT64_MAX / LO2_NS_PER_SEC)
			return lo2_err_set(err, LO2_E_INVALID, "the event: time %lld is out of range",
			                   (long long)t);
		ev->time_ns = t * LO2_NS_PER_SEC;
	}
	ev->type = lo2_json_str(type);
	ev->action = lo2_json_str(action);
	ev->id = lo2_json_str(id);
	ev->name = lo2_kvv_get(attrs, "name");
	ev->attrs = attrs;
	return 0;
}

int engine_event_parse(const char *line, engine_event_fn fn, void *user, int *fn_rc, struct lo2_err *err)
{
	struct lo2_json *doc = NULL;
	struct lo2_kvv attrs = {0};
	struct engine_event ev = {0};
	int ret = -1;

	*fn_rc = 0;
	if (lo2_json_parse(line, "engine event", &doc, err) < 0)
		return -1;
	if (read_event(doc, &ev, &attrs, err) == 0) {
		*fn_rc = fn(user, &ev);
		ret = 0;
	}
	lo2_kvv_free(&attrs);
	lo2_json_free(doc);
	return ret;
}

static int event_line(void *user, const char *line, size_t n, struct lo2_err *err)
{
	struct events_ctx *c = user;
	int rc = 0;

	c->n++;
	if (engine_event_parse(line, c->fn, c->user, &rc, err) < 0)
		return lo2_err_prefix(err, "event %llu", (unsigned long long)c->n);
	if (rc != 0) {
		c->stopped = true;
		return lo2_err_set(err, LO2_E_CANCELLED, "stopped by the event handler");
	}
	return 0;
}

int engine_events(struct engine *e, const struct engine_events_opts *o, engine_event_fn fn, void *user,
                  struct lo2_err *err)
{
	struct events_ctx c = {.fn = fn, .user = user};
	struct engine_lines lines = {.buf = {.max = 1024 * 1024}, .on_line = event_line, .user = &c};
	struct lo2_buf path = LO2_BUF_INIT;
	struct ereq r = {.stream = true,
	                 .may_idle = true,
	                 .cancel = o->cancel,
	                 .on_body = engine_lines_feed,
	                 .user = &lines};
	char t[40];
	int ret;

	lo2_buf_puts(&path, "/events?");
	if (o->since_ns > 0) {
		lo2_time_fmt_unix(o->since_ns, t, sizeof(t));
		lo2_buf_printf(&path, "since=%s&", t);
	}
	if (o->until_ns > 0) {
		lo2_time_fmt_unix(o->until_ns, t, sizeof(t));
		lo2_buf_printf(&path, "until=%s&", t);
	}
	if (o->filters && o->filters->n > 0) {
		lo2_autofree char *fq = engine_filters_query(o->filters);

		lo2_buf_puts(&path, fq);
	}
	r.path = path.data;
	ret = engine_call(e, &r, NULL, err, "read events of engine %s", engine_display(e));
	if (ret == 0)
		ret = engine_lines_finish(&lines, err);
	else
		lo2_buf_free(&lines.buf);
	if (ret < 0 && c.stopped) {
		lo2_err_clear(err);
		ret = 0;
	}
	lo2_buf_free(&path);
	return ret;
}
