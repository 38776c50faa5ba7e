/* fuzz_tar.c - libFuzzer target for the tar writer's inputs: each '\n'-separated line is an
 * archive name (long, non-ASCII, with "..", trailing '/', ...) added as file content and encoded
 * as a folder and a symlink header whose target is the next line; the whole archive is then read
 * and must come out in whole 512-byte blocks. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void encode(const char *name, enum lo2_tar_type type, const char *link)
{
	struct lo2_tar_hdr h = {
	    .name = name, .type = type, .mode = 0755, .mtime = 1700000000, .linkname = link};
	char *out = NULL;
	size_t len = 0;

	lo2_tar_encode_header(&h, &out, &len);
	assert(len > 0 && len % LO2_TAR_BLOCK == 0);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct lo2_tar *t = lo2_tar_new();
	struct lo2_err err = {0};
	char buf[4096], *save = NULL, *prev = NULL;
	size_t total = 0;
	ssize_t r;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lo2_tar_add_data(t, line, line, strlen(line), 0644);
		encode(line, LO2_TAR_DIR, NULL);
		if (prev != NULL)
			encode(prev, LO2_TAR_SYMLINK, line);
		prev = line;
	}
	while ((r = lo2_tar_read(t, buf, sizeof(buf), &err)) > 0)
		total += (size_t)r;
	assert(r == 0 && total % LO2_TAR_BLOCK == 0);
	lo2_tar_free(t);
	free(text);
	return 0;
}
