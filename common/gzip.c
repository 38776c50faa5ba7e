/* gzip.c - the gzip file sink (zlib deflate into a temp file, fsync, rename on commit) and a
 * streaming gzip reader. The only file of lo2 that includes <zlib.h>. */
#include <errno.h>
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
