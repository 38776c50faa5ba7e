/* fuzz_prom.c - libFuzzer target: any bytes as a Prometheus query_range answer through the
 * streaming converter to the Python-json layout lo2 writes (output capped like a real file). */
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "fetch/fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lo2_buf out = {.max = 64 * 1024 * 1024};
	struct lo2_err err = {0};
	size_t nseries = 0;

	fetch_prom_convert((const char *)data, size, &out, &nseries, &err);
	lo2_buf_free(&out);
	return 0;
}
