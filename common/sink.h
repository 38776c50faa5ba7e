/* sink.h - where byte streams go (log exports, fetched files): a small interface with a
 * plain-file, a gzip-file and a memory implementation. File sinks follow lo2_out_resolve (file.h):
 * a regular file is written to a temp file in its folder and renamed on commit, so it never
 * appears half written under its name; a device, FIFO or "-" (standard output) is written
 * directly; a symlink is written through, never replaced. */
#ifndef LO2_SINK_H
#define LO2_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

struct lo2_sink;

struct lo2_sink_ops {
	int (*write)(struct lo2_sink *s, const void *p, size_t n, struct lo2_err *err);
	/* Completes the output (flush, fsync, rename) and frees the sink. */
	int (*commit)(struct lo2_sink *s, struct lo2_err *err);
	/* Drops the output (temp file removed) and frees the sink. */
	void (*abort)(struct lo2_sink *s);
};

struct lo2_sink {
	const struct lo2_sink_ops *ops;
	uint64_t bytes_in; /* uncompressed bytes written so far */
};

int lo2_sink_write(struct lo2_sink *s, const void *p, size_t n, struct lo2_err *err);
/* Commits and frees; after it, s is gone whatever the result. */
int lo2_sink_commit(struct lo2_sink *s, struct lo2_err *err);
/* Aborts and frees; lo2_sink_abort(NULL) is a no-op. */
void lo2_sink_abort(struct lo2_sink *s);

/* A plain file at path (created on open, under its name only after commit), or a device, FIFO,
 * "-" written directly (see lo2_out_resolve). */
int lo2_sink_file_open(const char *path, struct lo2_sink **out, struct lo2_err *err);
/* A gzip file at path; level 1..9, or -1 for the default (6). */
int lo2_sink_gzip_open(const char *path, int level, struct lo2_sink **out, struct lo2_err *err);
/* Appends into *buf (owned by the caller, which must outlive the sink). */
struct lo2_sink *lo2_sink_memory_new(struct lo2_buf *buf);
/* gzip when path ends in ".gz" (also for a device or FIFO of that name), plain otherwise. */
int lo2_sink_open_path(const char *path, struct lo2_sink **out, struct lo2_err *err);

/* Streams the decompressed bytes of a gzip file (or a plain file: zlib passes it through) to fn
 * in chunks; fn returns -1 (err set) to stop. */
int lo2_gzip_read(const char *path, int (*fn)(void *user, const char *p, size_t n, struct lo2_err *err),
                  void *user, struct lo2_err *err);

/* A gzip stream that arrives in pieces (an HTTP body), inflated in 64 KiB chunks handed to fn;
 * fn returns -1 (err set) to stop, e.g. past the caller's size cap. Concatenated members
 * are one stream, as gunzip reads them. */
struct lo2_inflate;
struct lo2_inflate *lo2_inflate_new(void);
/* Feeds n compressed bytes; -1 with LO2_E_INVALID naming the byte on corrupt data, or fn's -1. */
int lo2_inflate_feed(struct lo2_inflate *z, const void *p, size_t n,
                     int (*fn)(void *user, const char *p, size_t n, struct lo2_err *err), void *user,
                     struct lo2_err *err);
/* After the last piece: -1 when the stream stopped inside a member (truncated). */
int lo2_inflate_end(struct lo2_inflate *z, struct lo2_err *err);
/* Bytes inflated so far. */
uint64_t lo2_inflate_total_out(const struct lo2_inflate *z);
void lo2_inflate_free(struct lo2_inflate *z);

#endif
