/* sha256.h - SHA-256 (FIPS 180-4), incremental, for file checksums in the manifest and
 * config hashes; no crypto library is needed for that. */
#ifndef LO2_SHA256_H
#define LO2_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct lo2_sha256 {
	uint32_t h[8];
	uint64_t len;
	unsigned char block[64];
	size_t fill;
};

void lo2_sha256_init(struct lo2_sha256 *c);
void lo2_sha256_update(struct lo2_sha256 *c, const void *p, size_t n);
/* Writes the digest as 64 lowercase hex digits and a NUL. */
void lo2_sha256_hex(struct lo2_sha256 *c, char out[65]);
/* One call: the hex digest of n bytes. */
void lo2_sha256_hex_of(const void *p, size_t n, char out[65]);
/* The hex digest and size of a file, read in chunks. */
int lo2_sha256_file(const char *path, char out[65], uint64_t *size, struct lo2_err *err);

#endif
