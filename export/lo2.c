/* lo2.c - one run in the LO2 dataset layout: <out>/LO2_run_<unix>/ with run_log.log and, per
 * complete test, plain <container>.log files (decompressed, without lo2's engine timestamps),
 * locust.log and metrics/ as the original wrote them. Files that need no change are hard
 * links; the run folder is built under a temporary name and renamed when complete. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "common/mem.h"
#include "common/sha256.h"
#include "common/str.h"
#include "export/internal.h"

struct strip_ctx {
	struct ex_hsink *h;
	bool timestamps;
	uint64_t lines;
};

static int strip_line(void *user, const char *line, size_t n, struct lo2_err *err)
{
	struct strip_ctx *c = user;
	int64_t ns;
	size_t skip = c->timestamps ? ex_engine_ts(line, n, &ns) : 0;

	c->lines++;
	if (ex_hsink_write(c->h, line + skip, n - skip, err) < 0)
		return -1;
	return ex_hsink_write(c->h, "\n", 1, err);
}

/* src (gzip or plain, maybe with engine timestamps) -> dst, plain, one line per line. */
static int write_plain_log(const struct ex_run *r, const char *src, const char *dst, const char *rel,
                           struct ex_out *o, struct lo2_err *err)
{
	struct strip_ctx c = {NULL, r->timestamps, 0};
	uint64_t size;
	char sha[65];

	if (ex_hsink_open(dst, false, &c.h, err) < 0)
		return -1;
	if (ex_lines(src, strip_line, &c, err) < 0) {
		ex_hsink_abort(c.h);
		return -1;
	}
	if (ex_hsink_commit(c.h, &size, sha, err) < 0)
		return -1;
	ex_out_add(o, rel, size, sha, false);
	o->st->log_lines += c.lines;
	return 0;
}

/* Copies src to dst (another file system than the run's). */
static int copy_file(const char *src, const char *dst, uint64_t *size, char sha[65], struct lo2_err *err)
{
	struct ex_hsink *h;
	char buf[65536];
	ssize_t n;
	lo2_autoclose int fd = open(src, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return lo2_err_errno(err, errno, "open %s", src);
	if (ex_hsink_open(dst, false, &h, err) < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ex_hsink_abort(h);
			return lo2_err_errno(err, errno, "read %s", src);
		}
		if (ex_hsink_write(h, buf, (size_t)n, err) < 0) {
			ex_hsink_abort(h);
			return -1;
		}
	}
	return ex_hsink_commit(h, size, sha, err);
}

/* A file that needs no change: a hard link (a copy across file systems). sha256 is the run's
 * record of it, or NULL to compute it. */
static int link_file(const char *src, const char *dst, const char *rel, const char *sha256, struct ex_out *o,
                     struct lo2_err *err)
{
	struct stat st;
	char sha[65];
	uint64_t size;

	if (link(src, dst) == 0) {
		if (stat(dst, &st) < 0)
			return lo2_err_errno(err, errno, "stat %s", dst);
		if (sha256)
			snprintf(sha, sizeof(sha), "%s", sha256);
		else if (lo2_sha256_file(dst, sha, &size, err) < 0)
			return -1;
		ex_out_add(o, rel, (uint64_t)st.st_size, sha, true);
		return 0;
	}
	if (errno != EXDEV && errno != EPERM)
		return lo2_err_errno(err, errno, "link %s to %s", src, dst);
	if (copy_file(src, dst, &size, sha, err) < 0)
		return -1;
	ex_out_add(o, rel, size, sha, false);
	return 0;
}

/* What a test's recorded file becomes in the LO2 layout. */
enum kind { K_SKIP, K_LOG, K_LINK };

static enum kind kind_of(const char *name_in_test, bool timestamps)
{
	const char *slash = strchr(name_in_test, '/');

	if (slash)
		return lo2_str_has_prefix(name_in_test, "metrics/") && !strchr(slash + 1, '/') ? K_LINK
		                                                                               : K_SKIP;
	if (strcmp(name_in_test, "locust.log") == 0)
		return K_LINK;
	if (lo2_str_has_suffix(name_in_test, ".log.gz"))
		return K_LOG;
	if (lo2_str_has_suffix(name_in_test, ".log"))
		return timestamps ? K_LOG : K_LINK;
	return K_SKIP; /* lo2's own (locust_*.csv ...) */
}

static int export_file(const struct ex_run *r, const struct run_test *t, const struct run_file *f,
                       const char *tmp, struct ex_out *o, struct lo2_err *err)
{
	const char *in_test = f->path + strlen(t->tag) + 1;
	enum kind k = kind_of(in_test, r->timestamps);
	lo2_autofree char *src = xasprintf("%s/%s", r->dir, f->path), *dst = NULL, *rel = NULL;
	size_t len = strlen(in_test);

	if (k == K_SKIP)
		return 0;
	if (k == K_LOG && lo2_str_has_suffix(in_test, ".gz"))
		len -= 3;
	rel = xasprintf("%s/%s/%.*s", r->name, t->tag, (int)len, in_test);
	dst = xasprintf("%s/%s/%.*s", tmp, t->tag, (int)len, in_test);
	if (k == K_LOG)
		return write_plain_log(r, src, dst, rel, o, err);
	return link_file(src, dst, rel, f->sha256, o, err);
}

static int export_test(const struct ex_run *r, const struct run_test *t, const char *tmp, struct ex_out *o,
                       struct lo2_err *err)
{
	lo2_autofree char *dir = xasprintf("%s/%s/metrics", tmp, t->tag);
	size_t plen = strlen(t->tag);

	if (lo2_mkdir_p(dir, 0755, err) < 0)
		return -1;
	for (size_t i = 0; i < t->files.n; i++) {
		const struct run_file *f = &t->files.v[i];

		if (strncmp(f->path, t->tag, plen) != 0 || f->path[plen] != '/')
			continue; /* not under the test's folder */
		if (export_file(r, t, f, tmp, o, err) < 0)
			return lo2_err_prefix(err, "test %s", t->tag);
	}
	o->st->tests++;
	return 0;
}

int ex_lo2_run(const struct ex_run *r, const char *out_dir, struct ex_out *o, struct lo2_err *err)
{
	lo2_autofree char *final = xasprintf("%s/%s", out_dir, r->name);
	lo2_autofree char *tmp = xasprintf("%s/.%s.tmp.%ld", out_dir, r->name, (long)getpid());
	lo2_autofree char *log_src = xasprintf("%s/run_log.log", r->dir), *log_dst = NULL, *log_rel = NULL;
	size_t first = o->n;
	struct stat st;

	if (lstat(final, &st) == 0)
		return lo2_err_set(err, LO2_E_CONFLICT, "%s exists (an export never replaces a run)", final);
	lo2_rm_rf(tmp);
	if (lo2_mkdir_p(tmp, 0755, err) < 0)
		return -1;
	if (stat(log_src, &st) == 0) {
		log_dst = xasprintf("%s/run_log.log", tmp);
		log_rel = xasprintf("%s/run_log.log", r->name);
		if (link_file(log_src, log_dst, log_rel, NULL, o, err) < 0)
			goto fail;
	}
	for (size_t i = 0; i < r->m.n_tests; i++) {
		if (!ex_test_exported(&r->m.tests[i])) {
			o->st->skipped_tests++;
			continue;
		}
		if (export_test(r, &r->m.tests[i], tmp, o, err) < 0)
			goto fail;
	}
	if (rename(tmp, final) < 0) {
		lo2_err_errno(err, errno, "rename %s to %s", tmp, final);
		goto fail;
	}
	return lo2_fsync_parent(final, err);
fail:
	lo2_rm_rf(tmp);
	for (size_t i = first; i < o->n; i++)
		free(o->v[i].path);
	o->n = first;
	return -1;
}
