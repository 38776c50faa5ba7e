/* fuzz_container_list.c - libFuzzer target: any bytes as a GET /containers/json answer go
 * through the JSON layer and the validated list reader (a wrong shape must be an error, never a
 * crash; every summary string it accepts is non-NULL). */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/mem.h"
#include "engine/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct lo2_json *doc = NULL;
	struct engine_container_list l = {0};
	struct lo2_err err = {0};

	if (lo2_json_parse(text, "fuzz", &doc, &err) == 0 && engine_container_list_read(doc, &l, &err) == 0) {
		for (size_t i = 0; i < l.n; i++)
			assert(l.v[i].id && l.v[i].id[0] && l.v[i].name && l.v[i].image && l.v[i].state &&
			       l.v[i].status);
		engine_container_list_free(&l);
	}
	lo2_json_free(doc);
	free(text);
	return 0;
}
