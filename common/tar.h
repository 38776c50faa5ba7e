/* tar.h - a small tar writer (ustar, with a PAX extended header for long names, long link
 * targets and files of 8 GiB or more) for build contexts: entries are listed first, then the
 * archive is produced on demand by lo2_tar_read, so it streams with no temporary file. */
#ifndef LO2_TAR_H
#define LO2_TAR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define LO2_TAR_BLOCK 512

enum lo2_tar_type { LO2_TAR_FILE, LO2_TAR_DIR, LO2_TAR_SYMLINK };

/* One archive member as it goes into a header. */
struct lo2_tar_hdr {
	const char *name; /* archive path, no leading '/'; directories get a trailing '/' added */
	enum lo2_tar_type type;
	unsigned mode; /* permission bits (07777) */
	uint64_t size; /* regular files only */
	int64_t mtime; /* seconds since the epoch */
	unsigned uid, gid;
	const char *linkname; /* symlinks only */
};

/* Encodes the header blocks for h into *out (caller frees): one ustar block, preceded by a PAX
 * header and its data when a field does not fit ustar. *len is a multiple of LO2_TAR_BLOCK. */
void lo2_tar_encode_header(const struct lo2_tar_hdr *h, char **out, size_t *len);

struct lo2_tar;

/* An empty archive description; free with lo2_tar_free. */
struct lo2_tar *lo2_tar_new(void);
void lo2_tar_free(struct lo2_tar *t);
/* Adds the filesystem object at src (lstat: regular file, directory or symlink) under the archive
 * name `name`, owned by 0:0. Other kinds (sockets, fifos, devices) are skipped and return 0.
 * The file is opened only when lo2_tar_read reaches it. */
int lo2_tar_add_path(struct lo2_tar *t, const char *src, const char *name, struct lo2_err *err);
/* Adds a regular file whose content is the n bytes at data (copied). */
void lo2_tar_add_data(struct lo2_tar *t, const char *name, const void *data, size_t n, unsigned mode);
/* Number of entries added so far. */
size_t lo2_tar_count(const struct lo2_tar *t);
/* Produces the next bytes of the archive into buf: returns the count, 0 at the end (after the two
 * zero blocks), -1 with err set when a file cannot be read or changed size since it was added. */
ssize_t lo2_tar_read(struct lo2_tar *t, char *buf, size_t n, struct lo2_err *err);
/* Writes the whole archive to fd. */
int lo2_tar_write_fd(struct lo2_tar *t, int fd, struct lo2_err *err);

#endif
