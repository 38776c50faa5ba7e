/* fuzz_demux.c - libFuzzer target: any bytes as a container log stream through the 8-byte-header
 * demultiplexer. The first byte picks TTY mode and the piece size, so frames and headers are split
 * at every place; the payload handed out must add up to what the frames announced. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_data(void *user, int stream, const char *p, size_t n, bool start, bool end, struct lo2_err *err)
{
	size_t *total = user;

	assert(stream == ENGINE_STDOUT || stream == ENGINE_STDERR);
	*total += n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine_demux *d;
	struct lo2_err err = {0};
	size_t total = 0, step;
	bool tty;
	int rc = 0;

	if (size == 0)
		return 0;
	tty = data[0] & 0x80;
	step = (size_t)(data[0] & 0x7f) + 1;
	data++;
	size--;
	d = engine_demux_new(tty, on_data, &total);
	for (size_t off = 0; rc == 0 && off < size; off += step)
		rc = engine_demux_feed(d, (const char *)data + off, size - off < step ? size - off : step,
		                       &err);
	if (rc == 0)
		engine_demux_finish(d, &err);
	engine_demux_free(d);
	assert(total <= size);
	return 0;
}
