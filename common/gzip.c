/* gzip.c - the gzip file sink (zlib deflate into a temp file, fsync, rename on commit) and a
 * streaming gzip reader. The only file of lo2 that includes <zlib.h>. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "common/file.h"
#include "common/mem.h"
#include "common/sink.h"

#define GZ_CHUNK (256 * 1024)

struct gz_sink {
	struct lo2_sink base;
	struct lo2_sink *file; /* the plain file sink below */
	z_stream zs;
	unsigned char out[GZ_CHUNK];
};

static int gz_pump(struct gz_sink *g, int flush, struct lo2_err *err)
{
	int zr;

	do {
		g->zs.next_out = g->out;
		g->zs.avail_out = GZ_CHUNK;
		zr = deflate(&g->zs, flush);
		if (zr == Z_STREAM_ERROR)
			return lo2_err_set(err, LO2_E_GENERIC, "gzip: deflate failed");
		if (g->file->ops->write(g->file, g->out, GZ_CHUNK - g->zs.avail_out, err) < 0)
			return -1;
	} while (g->zs.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
	return 0;
}

static int gz_write(struct lo2_sink *s, const void *p, size_t n, struct lo2_err *err)
{
	struct gz_sink *g = (struct gz_sink *)s;
	const unsigned char *in = p;

	while (n > 0) {
		uInt take = n > (1u << 30) ? (1u << 30) : (uInt)n;

		g->zs.next_in = (unsigned char *)(uintptr_t)in;
		g->zs.avail_in = take;
		if (gz_pump(g, Z_NO_FLUSH, err) < 0)
			return -1;
		in += take;
		n -= take;
	}
	return 0;
}

static void gz_abort(struct lo2_sink *s)
{
	struct gz_sink *g = (struct gz_sink *)s;

	deflateEnd(&g->zs);
	lo2_sink_abort(g->file);
	free(g);
}

static int gz_commit(struct lo2_sink *s, struct lo2_err *err)
{
	struct gz_sink *g = (struct gz_sink *)s;
	struct lo2_sink *file = g->file;

	g->zs.next_in = NULL;
	g->zs.avail_in = 0;
	if (gz_pump(g, Z_FINISH, err) < 0) {
		gz_abort(s);
		return -1;
	}
	deflateEnd(&g->zs);
	free(g);
	return lo2_sink_commit(file, err);
}

static const struct lo2_sink_ops gz_ops = {gz_write, gz_commit, gz_abort};

int lo2_sink_gzip_open(const char *path, int level, struct lo2_sink **out, struct lo2_err *err)
{
	struct gz_sink *g;

	if (level != -1 && (level < 1 || level > 9))
		return lo2_err_set(err, LO2_E_INVALID, "gzip %s: level %d is not 1..9", path, level);
	g = xcalloc(1, sizeof(*g));
	g->base.ops = &gz_ops;
	/* windowBits 15 + 16: a gzip header and trailer, so zcat reads the file. */
	if (deflateInit2(&g->zs, level == -1 ? 6 : level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK) {
		free(g);
		return lo2_err_set(err, LO2_E_GENERIC, "gzip %s: deflateInit2 failed", path);
	}
	if (lo2_sink_file_open(path, &g->file, err) < 0) {
		deflateEnd(&g->zs);
		free(g);
		return -1;
	}
	*out = &g->base;
	return 0;
}

int lo2_gzip_read(const char *path, int (*fn)(void *user, const char *p, size_t n, struct lo2_err *err),
                  void *user, struct lo2_err *err)
{
	gzFile f = gzopen(path, "rb");
	char buf[65536];
	int r, ret = 0;

	if (f == NULL)
		return lo2_err_errno(err, errno ? errno : ENOMEM, "open %s", path);
	while (ret == 0 && (r = gzread(f, buf, sizeof(buf))) > 0)
		ret = fn(user, buf, (size_t)r, err);
	if (ret == 0 && r < 0) {
		int zerr = 0;
		const char *m = gzerror(f, &zerr);

		ret = lo2_err_set(err, LO2_E_GENERIC, "read %s: %s", path, m ? m : "gzip error");
	}
	gzclose(f);
	return ret;
}

/* ---- inflating a gzip stream that arrives in pieces (request bodies) ---- */
#define INFLATE_OUT (64 * 1024)

struct lo2_inflate {
	z_stream zs;
	bool ended; /* a member ended; more input starts another */
	uint64_t in, out;
	unsigned char buf[INFLATE_OUT];
};

struct lo2_inflate *lo2_inflate_new(void)
{
	struct lo2_inflate *z = xcalloc(1, sizeof(*z));

	/* windowBits 15 + 16: gzip only (a header and a CRC-checked trailer) */
	if (inflateInit2(&z->zs, 15 + 16) != Z_OK)
		abort();
	return z;
}

int lo2_inflate_feed(struct lo2_inflate *z, const void *p, size_t n,
                     int (*fn)(void *user, const char *p, size_t n, struct lo2_err *err), void *user,
                     struct lo2_err *err)
{
	const unsigned char *in = p;

	while (n > 0) {
		uInt take = n > (1u << 30) ? (1u << 30) : (uInt)n;
		int zr;

		if (z->ended) {
			/* concatenated members are one stream, as gunzip reads them */
			if (inflateReset(&z->zs) != Z_OK)
				return lo2_err_set(err, LO2_E_INVALID, "gzip: cannot start the next member");
			z->ended = false;
		}
		z->zs.next_in = (unsigned char *)(uintptr_t)in;
		z->zs.avail_in = take;
		do {
			z->zs.next_out = z->buf;
			z->zs.avail_out = INFLATE_OUT;
			zr = inflate(&z->zs, Z_NO_FLUSH);
			if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
				return lo2_err_set(err, LO2_E_INVALID,
				                   "gzip: corrupt data at byte %llu of the stream: %s",
				                   (unsigned long long)(z->in + (take - z->zs.avail_in)),
				                   z->zs.msg ? z->zs.msg : "inflate failed");
			z->out += INFLATE_OUT - z->zs.avail_out;
			if (INFLATE_OUT - z->zs.avail_out > 0 &&
			    fn(user, (const char *)z->buf, INFLATE_OUT - z->zs.avail_out, err) < 0)
				return -1;
			if (zr == Z_STREAM_END) {
				z->ended = true;
				break;
			}
		} while (z->zs.avail_out == 0 || (zr == Z_OK && z->zs.avail_in > 0));
		z->in += take - z->zs.avail_in;
		in += take - z->zs.avail_in;
		n -= take - z->zs.avail_in;
		if (!z->ended && z->zs.avail_in > 0)
			return lo2_err_set(err, LO2_E_INVALID, "gzip: inflate made no progress");
	}
	return 0;
}

int lo2_inflate_end(struct lo2_inflate *z, struct lo2_err *err)
{
	if (!z->ended)
		return lo2_err_set(err, LO2_E_INVALID, "gzip: the stream ends early (after %llu bytes)",
		                   (unsigned long long)z->in);
	return 0;
}

uint64_t lo2_inflate_total_out(const struct lo2_inflate *z)
{
	return z->out;
}

void lo2_inflate_free(struct lo2_inflate *z)
{
	if (z == NULL)
		return;
	inflateEnd(&z->zs);
	free(z);
}
