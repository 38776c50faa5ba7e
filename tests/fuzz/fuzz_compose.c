/* fuzz_compose.c - libFuzzer target for compose/: any bytes as a compose file go through the
 * YAML reader, interpolation, validation, the planner, the JSON writer and the create specs,
 * and as a dotenv file through its parser. Built only with -DLO2_FUZZ=ON and clang. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "compose/compose.h"
#include "compose/internal.h"
#include "engine/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(struct compose_project *p)
{
	struct lo2_err err = {0};
	char *json;

	if (compose_plan(p, &err) < 0)
		return;
	json = compose_project_json(p, "  ");
	free(json);
	for (size_t i = 0; i < p->n_services; i++) {
		struct engine_container_spec s = {0};

		if (compose_service_spec(p, &p->services[i], &s, &err) == 0)
			engine_container_spec_free(&s);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct lo2_kvv env = {0};
	struct lo2_kvv dot = {0};
	struct lo2_strv warnings = {0};
	struct compose_load_opts o = {
	    .file = "/nonexistent/fuzz/compose.yml", .env = &env, .max_nodes = 100000};
	struct compose_project *p = NULL;
	struct lo2_err err = {0};

	lo2_kvv_set(&env, "HOME", "/home/fuzz");
	lo2_kvv_set(&env, "TAG", "1.0");
	if (compose_load_text((const char *)data, size, &o, &p, &warnings, &err) == 0)
		exercise(p);
	compose_project_free(p);
	compose_dotenv_parse(text, "fuzz.env", &env, &dot, &err);
	lo2_kvv_free(&dot);
	lo2_strv_free(&warnings);
	lo2_kvv_free(&env);
	free(text);
	return 0;
}
