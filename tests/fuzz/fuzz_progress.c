/* fuzz_progress.c - libFuzzer target: any bytes as an image build / pull / import progress stream
 * (JSON lines), fed in pieces whose sizes come from the first byte, through the line splitter and
 * the validated progress reader. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_progress(void *user, const char *line)
{
	size_t *n = user;

	*n += strlen(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine_progress p;
	struct lo2_err err = {0};
	size_t total = 0, step;
	int rc = 0;

	if (size == 0)
		return 0;
	step = (size_t)data[0] % 64 + 1;
	data++;
	size--;
	engine_progress_init(&p, on_progress, &total);
	for (size_t off = 0; rc == 0 && off < size; off += step)
		rc = engine_lines_feed(&p.lines, (const char *)data + off,
		                       size - off < step ? size - off : step, &err);
	if (rc == 0)
		engine_lines_finish(&p.lines, &err);
	engine_progress_free(&p);
	return 0;
}
