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

int lo2_write_file_atomic(const char *path, const void *data, size_t len, struct lo2_err *err)
{
	lo2_autofree char *tmp = lo2_tmp_name(path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return lo2_err_errno(err, errno, "create %s", tmp);
	if (lo2_write_all(fd, data, len, tmp, err) < 0 || fsync(fd) != 0) {
		if (err && err->msg[0] == '\0')
			lo2_err_errno(err, errno, "fsync %s", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) != 0) {
		unlink(tmp);
		return lo2_err_errno(err, errno, "close %s", tmp);
	}
	if (rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		return lo2_err_errno(err, e, "rename %s to %s", tmp, path);
	}
	return lo2_fsync_parent(path, err);
}

int lo2_read_file(const char *path, size_t max, char **out, size_t *len, struct lo2_err *err)
{
	lo2_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (fd < 0)
		return lo2_err_errno(err, errno, "open %s", path);
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
