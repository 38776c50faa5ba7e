/* file.c - mkdir -p, atomic writes and small reads (see file.h). */
#include "common/file.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/mem.h"
#include "common/sink.h"

int lo2_mkdir_p(const char *path, mode_t mode, struct lo2_err *err)
{
	lo2_autofree char *p = xstrdup(path);
	size_t len = strlen(p);

	for (size_t i = 1; i <= len; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, mode) != 0 && errno != EEXIST)
			return lo2_err_errno(err, errno, "create folder %s", p);
		if (i < len)
			p[i] = '/';
	}
	return 0;
}

int lo2_write_all(int fd, const void *buf, size_t n, const char *what, struct lo2_err *err)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return lo2_err_errno(err, errno, "write %s", what);
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

char *lo2_tmp_name(const char *path)
{
	static atomic_uint counter;

	return xasprintf("%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&counter, 1));
}

int lo2_fsync_parent(const char *path, struct lo2_err *err)
{
	lo2_autofree char *copy = xstrdup(path);
	const char *dir = dirname(copy);
	lo2_autoclose int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return lo2_err_errno(err, errno, "open folder %s", dir);
	if (fsync(fd) != 0 && errno != EINVAL)
		return lo2_err_errno(err, errno, "fsync folder %s", dir);
	return 0;
}

int lo2_out_resolve(const char *path, enum lo2_out_mode *mode, char **target, struct lo2_err *err)
{
	struct stat st, to;
	char *real;

	*target = NULL;
	if (strcmp(path, "-") == 0) {
		*mode = LO2_OUT_STDOUT;
		*target = xstrdup("standard output");
		return 0;
	}
	if (lstat(path, &st) != 0) {
		if (errno != ENOENT)
			return lo2_err_errno(err, errno, "output %s", path);
		*mode = LO2_OUT_ATOMIC;
		*target = xstrdup(path);
		return 0;
	}
	if (S_ISLNK(st.st_mode)) {
		if (stat(path, &to) != 0)
			return lo2_err_errno(
			    err, errno,
			    "output %s is a symlink lo2 cannot follow (it writes through a symlink "
			    "only to something that exists)",
			    path);
		if (S_ISDIR(to.st_mode))
			return lo2_err_set(err, LO2_E_INVALID,
			                   "output %s is a symlink to a folder: name a file", path);
		if (!S_ISREG(to.st_mode)) {
			*mode = LO2_OUT_DIRECT;
			*target = xstrdup(path);
			return 0;
		}
		/* A regular file behind the link: replace that file, keep the link. */
		real = realpath(path, NULL);
		if (real == NULL)
			return lo2_err_errno(err, errno, "output %s: resolve the symlink", path);
		*mode = LO2_OUT_ATOMIC;
		*target = real;
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		*mode = LO2_OUT_ATOMIC;
		*target = xstrdup(path);
		return 0;
	}
	if (S_ISDIR(st.st_mode))
		return lo2_err_set(err, LO2_E_INVALID, "output %s is a folder: name a file", path);
	*mode = LO2_OUT_DIRECT;
	*target = xstrdup(path);
	return 0;
}

int lo2_write_file_atomic(const char *path, const void *data, size_t len, struct lo2_err *err)
{
	struct lo2_sink *s = NULL;

	if (lo2_sink_file_open(path, &s, err) < 0)
		return -1;
	if (lo2_sink_write(s, data, len, err) < 0) {
		lo2_sink_abort(s);
		return -1;
	}
	return lo2_sink_commit(s, err);
}

/* What a file mode is, in words, for messages. */
static const char *mode_kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a folder";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

int lo2_read_file(const char *path, size_t max, char **out, size_t *len, struct lo2_err *err)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer; a regular file ignores it */
	lo2_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	char *buf = NULL;
	size_t n = 0, cap = 0;
	struct stat st;

	if (fd < 0)
		return lo2_err_errno(err, errno, "open %s", path);
	if (fstat(fd, &st) < 0)
		return lo2_err_errno(err, errno, "stat %s", path);
	if (!S_ISREG(st.st_mode))
		return lo2_err_set(err, LO2_E_INVALID, "read %s: not a regular file (%s)", path,
		                   mode_kind(st.st_mode));
	for (;;) {
		ssize_t r;

		if (n + 4097 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = xrealloc(buf, cap);
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return lo2_err_errno(err, errno, "read %s", path);
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			free(buf);
			return lo2_err_set(err, LO2_E_INVALID, "read %s: larger than %zu bytes", path, max);
		}
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

static int walk(const char *dir, const char *rel, int depth,
                int (*fn)(void *user, const char *path, const char *rel, struct lo2_err *err), void *user,
                struct lo2_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int ret = 0;

	if (d == NULL)
		return lo2_err_errno(err, errno, "read folder %s", dir);
	while (ret == 0 && (de = readdir(d)) != NULL) {
		lo2_autofree char *path = NULL, *r = NULL;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		r = rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < 32)
			ret = walk(path, r, depth + 1, fn, user, err);
		else if (S_ISREG(st.st_mode))
			ret = fn(user, path, r, err);
	}
	closedir(d);
	return ret;
}

int lo2_walk_files(const char *dir,
                   int (*fn)(void *user, const char *path, const char *rel, struct lo2_err *err), void *user,
                   struct lo2_err *err)
{
	return walk(dir, NULL, 0, fn, user, err);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

void lo2_rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
