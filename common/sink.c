/* sink.c - the sink interface, the plain file sink and the memory sink (gzip is in gzip.c). */
#include "common/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/file.h"
#include "common/mem.h"
#include "common/str.h"

int lo2_sink_write(struct lo2_sink *s, const void *p, size_t n, struct lo2_err *err)
{
	if (n == 0)
		return 0;
	s->bytes_in += n;
	return s->ops->write(s, p, n, err);
}

int lo2_sink_commit(struct lo2_sink *s, struct lo2_err *err)
{
	return s->ops->commit(s, err);
}

void lo2_sink_abort(struct lo2_sink *s)
{
	if (s != NULL)
		s->ops->abort(s);
}

/* ---- plain file (atomic, direct or standard output: see lo2_out_resolve) ---- */

struct file_sink {
	struct lo2_sink base;
	enum lo2_out_mode mode;
	int fd;
	char *path; /* the target: renamed onto (atomic) or opened (direct) */
	char *tmp; /* atomic only */
};

static int file_write(struct lo2_sink *s, const void *p, size_t n, struct lo2_err *err)
{
	struct file_sink *f = (struct file_sink *)s;

	return lo2_write_all(f->fd, p, n, f->tmp ? f->tmp : f->path, err);
}

static void file_free(struct file_sink *f)
{
	free(f->path);
	free(f->tmp);
	free(f);
}

static void file_abort(struct lo2_sink *s)
{
	struct file_sink *f = (struct file_sink *)s;

	if (f->fd >= 0 && f->mode != LO2_OUT_STDOUT)
		close(f->fd);
	if (f->tmp)
		unlink(f->tmp);
	file_free(f);
}

/* fsync where it means something: pipes, terminals and character devices refuse it. */
static int sync_fd(int fd, const char *what, struct lo2_err *err)
{
	if (fsync(fd) == 0 || errno == EINVAL || errno == EROFS || errno == ENOTSUP)
		return 0;
	return lo2_err_errno(err, errno, "fsync %s", what);
}

static int direct_commit(struct file_sink *f, struct lo2_err *err)
{
	int ret = sync_fd(f->fd, f->path, err);

	if (f->mode == LO2_OUT_DIRECT && close(f->fd) != 0 && ret == 0)
		ret = lo2_err_errno(err, errno, "close %s", f->path);
	f->fd = -1;
	file_free(f);
	return ret;
}

static int file_commit(struct lo2_sink *s, struct lo2_err *err)
{
	struct file_sink *f = (struct file_sink *)s;
	int ret = -1;

	if (f->mode != LO2_OUT_ATOMIC)
		return direct_commit(f, err);
	if (fsync(f->fd) != 0) {
		lo2_err_errno(err, errno, "fsync %s", f->tmp);
		goto fail;
	}
	if (close(f->fd) != 0) {
		f->fd = -1;
		lo2_err_errno(err, errno, "close %s", f->tmp);
		goto fail;
	}
	f->fd = -1;
	if (rename(f->tmp, f->path) != 0) {
		lo2_err_errno(err, errno, "rename %s to %s", f->tmp, f->path);
		goto fail;
	}
	ret = lo2_fsync_parent(f->path, err);
	file_free(f);
	return ret;
fail:
	file_abort(s);
	return ret;
}

static const struct lo2_sink_ops file_ops = {file_write, file_commit, file_abort};

int lo2_sink_file_open(const char *path, struct lo2_sink **out, struct lo2_err *err)
{
	struct file_sink *f;
	enum lo2_out_mode mode;
	char *target = NULL;

	if (lo2_out_resolve(path, &mode, &target, err) < 0)
		return -1;
	f = xcalloc(1, sizeof(*f));
	f->base.ops = &file_ops;
	f->mode = mode;
	f->path = target;
	if (mode == LO2_OUT_STDOUT) {
		f->fd = STDOUT_FILENO;
	} else if (mode == LO2_OUT_DIRECT) {
		/* No O_CREAT, no O_TRUNC: the node is written as it is (a FIFO waits for its reader). */
		f->fd = open(target, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	} else {
		f->tmp = lo2_tmp_name(target);
		f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	}
	if (f->fd < 0) {
		lo2_err_errno(err, errno, "%s %s", f->tmp ? "create" : "open", f->tmp ? f->tmp : target);
		file_free(f);
		return -1;
	}
	*out = &f->base;
	return 0;
}

/* ---- memory ---- */

struct mem_sink {
	struct lo2_sink base;
	struct lo2_buf *buf;
};

static int mem_write(struct lo2_sink *s, const void *p, size_t n, struct lo2_err *err)
{
	struct mem_sink *m = (struct mem_sink *)s;

	if (lo2_buf_append(m->buf, p, n) < 0)
		return lo2_err_set(err, LO2_E_GENERIC, "write to memory sink: over its %zu byte cap",
		                   m->buf->max);
	return 0;
}

static int mem_commit(struct lo2_sink *s, struct lo2_err *err)
{
	free(s);
	return 0;
}

static void mem_abort(struct lo2_sink *s)
{
	free(s);
}

static const struct lo2_sink_ops mem_ops = {mem_write, mem_commit, mem_abort};

struct lo2_sink *lo2_sink_memory_new(struct lo2_buf *buf)
{
	struct mem_sink *m = xcalloc(1, sizeof(*m));

	m->base.ops = &mem_ops;
	m->buf = buf;
	return &m->base;
}

int lo2_sink_open_path(const char *path, struct lo2_sink **out, struct lo2_err *err)
{
	if (lo2_str_has_suffix(path, ".gz"))
		return lo2_sink_gzip_open(path, -1, out, err);
	return lo2_sink_file_open(path, out, err);
}
