/* fuzz_events.c - libFuzzer target: any bytes as the body of GET /events, split into lines as the
 * stream reader does and each line read as an event; the handler touches every field. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_event(void *user, const struct engine_event *ev)
{
	size_t *n = user;

	assert(ev->type && ev->action && ev->id && ev->attrs);
	*n += strlen(ev->type) + strlen(ev->action) + strlen(ev->id) + (ev->name ? strlen(ev->name) : 0);
	return 0;
}

static int on_line(void *user, const char *line, size_t n, struct lo2_err *err)
{
	int rc = 0;

	engine_event_parse(line, on_event, user, &rc, err);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t total = 0;
	struct engine_lines lines = {.buf = {.max = 1024 * 1024}, .on_line = on_line, .user = &total};
	struct lo2_err err = {0};

	if (engine_lines_feed(&lines, (const char *)data, size, &err) == 0)
		engine_lines_finish(&lines, &err);
	else
		lo2_buf_free(&lines.buf);
	return 0;
}
