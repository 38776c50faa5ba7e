/* fuzz_container_inspect.c - libFuzzer target: any bytes as a GET /containers/{id}/json answer
 * go through the JSON layer and the validated inspect reader. */
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
	struct engine_container_info ci;
	struct lo2_err err = {0};

	if (lo2_json_parse(text, "fuzz", &doc, &err) == 0 &&
	    engine_container_inspect_read(doc, &ci, &err) == 0) {
		assert(ci.id && ci.id[0] && ci.name && ci.status);
		for (size_t i = 0; i < ci.n_ports; i++)
			assert(ci.ports[i].container_port);
		engine_container_info_free(&ci);
	}
	lo2_json_free(doc);
	free(text);
	return 0;
}
