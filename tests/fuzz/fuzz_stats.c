/* fuzz_stats.c - libFuzzer target: any bytes as the body of a stats stream, split into lines as
 * the stream reader does and each line read as a stats sample; every figure is touched and the
 * caps on interfaces and devices hold. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_line(void *user, const char *line, size_t n, struct lo2_err *err)
{
	struct engine_stats_sample s;
	uint64_t *sum = user;

	if (engine_stats_sample_parse(line, n, &s, err) < 0) {
		assert(err->msg[0] != '\0');
		return 0;
	}
	assert(s.n_nets <= ENGINE_STATS_MAX_NETS && s.n_devs <= ENGINE_STATS_MAX_DEVS);
	for (int k = 0; k < ENGINE_STAT_N; k++)
		*sum += s.v[k];
	for (size_t i = 0; i < s.n_nets; i++)
		*sum += strlen(s.nets[i].name) + s.nets[i].v[ENGINE_NET_RX_BYTES];
	for (size_t i = 0; i < s.n_devs; i++)
		*sum += s.devs[i].v[ENGINE_DEV_READ_BYTES];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t sum = 0;
	struct engine_lines lines = {.buf = {.max = 1024 * 1024}, .on_line = on_line, .user = &sum};
	struct lo2_err err = {0};

	if (engine_lines_feed(&lines, (const char *)data, size, &err) == 0)
		engine_lines_finish(&lines, &err);
	else
		lo2_buf_free(&lines.buf);
	return 0;
}
