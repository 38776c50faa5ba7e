/* fuzz_dockerignore.c - libFuzzer target: the input up to the first NUL is a .dockerignore text,
 * each '\n'-separated line after it a path to match against the parsed patterns. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/dockerignore.h"
#include "common/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nul = memchr(data, '\0', size);
	size_t plen = nul ? (size_t)(nul - (const char *)data) : size;
	char *patterns = xstrndup((const char *)data, plen);
	char *paths = nul ? xstrndup(nul + 1, size - plen - 1) : xstrdup("a\na/b\n.git/x\nDockerfile");
	struct lo2_ignore *ig = NULL;
	struct lo2_err err = {0};

	if (lo2_ignore_parse(patterns, "fuzz", &ig, &err) == 0) {
		char *save = NULL;

		lo2_ignore_has_exceptions(ig);
		for (char *p = strtok_r(paths, "\n", &save); p; p = strtok_r(NULL, "\n", &save))
			lo2_ignore_matches(ig, p);
		lo2_ignore_free(ig);
	}
	free(patterns);
	free(paths);
	return 0;
}
