/* file.h - files the way lo2 writes them: folders made with their parents, and files that
 * appear under their final name only when complete (temp file, fsync, rename). */
#ifndef LO2_FILE_H
#define LO2_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

int lo2_mkdir_p(const char *path, mode_t mode, struct lo2_err *err);

/* How an output path is written: the one rule for every file lo2 writes (README "Where output
 * goes"). "-" is standard output, written directly. A path that does not exist or is a regular
 * file gets a temp file beside it, fsync and rename (atomic). A device, FIFO or socket is opened
 * and written directly, never renamed over. A symlink is never replaced: lo2 writes to what it
 * points to under the same rule (a symlink to a missing file is refused). A folder is refused. */
enum lo2_out_mode {
	LO2_OUT_ATOMIC, /* rename a temp file onto *target */
	LO2_OUT_DIRECT, /* open *target for writing, no create, no rename */
	LO2_OUT_STDOUT, /* file descriptor 1 */
};
/* Decides how to write path: *target (caller frees) is the path to rename onto or to open. */
int lo2_out_resolve(const char *path, enum lo2_out_mode *mode, char **target, struct lo2_err *err);
/* Writes data to path under the rule above (atomic: path.tmp.<pid>.<n>, fsync, rename, fsync of
 * the folder). */
int lo2_write_file_atomic(const char *path, const void *data, size_t len, struct lo2_err *err);
/* Reads a whole small file (at most max bytes) into *out (NUL-terminated, caller frees). A path
 * that is not a regular file (a FIFO, a device, a folder) is refused at once, never waited on. */
int lo2_read_file(const char *path, size_t max, char **out, size_t *len, struct lo2_err *err);
/* Writes all n bytes to fd, retrying short writes and EINTR. */
int lo2_write_all(int fd, const void *p, size_t n, const char *what, struct lo2_err *err);
/* fsyncs the folder that holds path. */
int lo2_fsync_parent(const char *path, struct lo2_err *err);
/* A temp name beside path, unique per process and call: "<path>.tmp.<pid>.<n>" (caller frees). */
char *lo2_tmp_name(const char *path);

/* Calls fn for every regular file under dir, recursively (symlinks not followed, names starting
 * with '.' skipped, at most 32 levels), with its path and its path relative to dir ("a/b.txt").
 * fn returns -1 (err set) to stop. A folder that cannot be read is an error naming it. */
int lo2_walk_files(const char *dir,
                   int (*fn)(void *user, const char *path, const char *rel, struct lo2_err *err), void *user,
                   struct lo2_err *err);
/* Removes path and everything under it (symlinks not followed); a missing path is no error. */
void lo2_rm_rf(const char *path);

#endif
