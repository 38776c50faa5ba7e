/* util.c - export's shared pieces: reading a run folder, streaming lines, log line times, CSV
 * fields, and a hashing file sink for the export's manifest. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/file.h"
#include "common/mem.h"
#include "common/sha256.h"
#include "common/str.h"
#include "common/time.h"
#include "export/internal.h"
#include "run/config.h"

#define LINE_MAX_BYTES (16u * 1024 * 1024)
#define NS_PER_DAY (86400LL * 1000000000LL)

void ex_out_add(struct ex_out *o, const char *rel, uint64_t size, const char *sha256, bool linked)
{
	struct ex_file *f;

	o->v = xrealloc(o->v, (o->n + 1) * sizeof(*o->v));
	f = &o->v[o->n++];
	f->path = xstrdup(rel);
	f->size = size;
	snprintf(f->sha256, sizeof(f->sha256), "%s", sha256);
	f->linked = linked;
	if (linked) {
		o->st->files_linked++;
		o->st->bytes_linked += size;
	} else {
		o->st->files_written++;
		o->st->bytes_written += size;
	}
}

void ex_out_free(struct ex_out *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->v[i].path);
	free(o->v);
	o->v = NULL;
	o->n = 0;
}

/* LO2_run_<digits>: the original's run folder name. */
static bool is_run_name(const char *s)
{
	if (!lo2_str_has_prefix(s, "LO2_run_") || !s[8])
		return false;
	for (s += 8; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int ex_run_open(const char *dir, struct ex_run *r, struct lo2_err *err)
{
	lo2_autofree char *mp = xasprintf("%s/run.json", dir), *cp = xasprintf("%s/run_config.yml", dir);
	lo2_autofree char *copy = xstrdup(dir);
	const char *base;
	struct run_config c;
	struct stat st;
	size_t len = strlen(copy);

	memset(r, 0, sizeof(*r));
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	base = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
	if (run_manifest_read(mp, &r->m, err) < 0)
		return lo2_err_prefix(err, "run %s", dir);
	r->dir = xstrdup(copy);
	r->name = is_run_name(base) ? xstrdup(base)
	                            : xasprintf("LO2_run_%lld", (long long)(r->m.started_ns / 1000000000));
	if (stat(cp, &st) == 0) {
		run_config_defaults(&c);
		if (run_config_load(cp, &c, err) < 0) {
			run_config_free(&c);
			ex_run_free(r);
			return lo2_err_prefix(err, "run %s", dir);
		}
		r->timestamps = c.timestamps;
		run_config_free(&c);
	}
	return 0;
}

void ex_run_free(struct ex_run *r)
{
	free(r->dir);
	free(r->name);
	run_manifest_free(&r->m);
	memset(r, 0, sizeof(*r));
}

bool ex_test_exported(const struct run_test *t)
{
	struct lo2_err err = {0};

	return t->status == RUN_TEST_COMPLETE && lo2_name_check("tag", t->tag, &err) == 0 && t->tag[0] != '_';
}

struct lines_ctx {
	struct lo2_buf part; /* a line not yet ended */
	int (*fn)(void *user, const char *line, size_t n, struct lo2_err *err);
	void *user;
	const char *path;
};

static int lines_chunk(void *user, const char *p, size_t n, struct lo2_err *err)
{
	struct lines_ctx *c = user;

	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;

		if (c->part.len + take > LINE_MAX_BYTES)
			return lo2_err_set(err, LO2_E_INVALID, "%s: a line longer than %u bytes", c->path,
			                   LINE_MAX_BYTES);
		if (!nl) {
			lo2_buf_append(&c->part, p, n);
			return 0;
		}
		if (c->part.len) {
			lo2_buf_append(&c->part, p, take);
			if (c->fn(c->user, c->part.data, c->part.len, err) < 0)
				return -1;
			lo2_buf_reset(&c->part);
		} else if (c->fn(c->user, p, take, err) < 0) {
			return -1;
		}
		p += take + 1;
		n -= take + 1;
	}
	return 0;
}

int ex_lines(const char *path, int (*fn)(void *user, const char *line, size_t n, struct lo2_err *err),
             void *user, struct lo2_err *err)
{
	struct lines_ctx c = {LO2_BUF_INIT, fn, user, path};
	int ret = -1;

	if (lo2_gzip_read(path, lines_chunk, &c, err) < 0)
		goto out;
	if (c.part.len && fn(user, c.part.data, c.part.len, err) < 0)
		goto out;
	ret = 0;
out:
	lo2_buf_free(&c.part);
	return ret;
}

size_t ex_engine_ts(const char *line, size_t n, int64_t *ns)
{
	char tmp[48];
	const char *sp = memchr(line, ' ', n < sizeof(tmp) ? n : sizeof(tmp));
	struct lo2_err err = {0};
	size_t len;

	/* 2026-11-30T06:48:55.123456789Z */
	if (!sp || n < 20 || line[4] != '-' || line[10] != 'T')
		return 0;
	len = (size_t)(sp - line);
	memcpy(tmp, line, len);
	tmp[len] = '\0';
	if (lo2_time_parse(tmp, ns, &err) < 0)
		return 0;
	return len + 1;
}

static bool two_digits(const char *p, int *v)
{
	if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
		return false;
	*v = (p[0] - '0') * 10 + (p[1] - '0');
	return true;
}

bool ex_clock_ts(const char *line, size_t n, int64_t near_ns, int64_t *ns)
{
	int h, m, s;
	int64_t day, t;

	if (n < 12 || line[2] != ':' || line[5] != ':' || line[8] != '.' || !two_digits(line, &h) ||
	    !two_digits(line + 3, &m) || !two_digits(line + 6, &s) || !isdigit((unsigned char)line[9]) ||
	    !isdigit((unsigned char)line[10]) || !isdigit((unsigned char)line[11]) || h > 23 || m > 59 ||
	    s > 60)
		return false;
	t = ((int64_t)(h * 3600 + m * 60 + s) * 1000 + (line[9] - '0') * 100 + (line[10] - '0') * 10 +
	     (line[11] - '0')) *
	    1000000;
	day = near_ns - near_ns % NS_PER_DAY;
	t += day;
	if (t - near_ns > NS_PER_DAY / 2)
		t -= NS_PER_DAY;
	else if (near_ns - t > NS_PER_DAY / 2)
		t += NS_PER_DAY;
	*ns = t;
	return true;
}

void ex_csv_field(struct lo2_buf *b, const char *s, size_t n)
{
	bool quote = false;

	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	if (!quote) {
		lo2_buf_append(b, s, n);
		return;
	}
	lo2_buf_append(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		const char *q = memchr(s + i, '"', n - i);
		size_t take = q ? (size_t)(q - (s + i)) : n - i;

		lo2_buf_append(b, s + i, take);
		i += take;
		if (q)
			lo2_buf_append(b, "\"\"", 2);
	}
	lo2_buf_append(b, "\"", 1);
}

struct ex_hsink {
	struct lo2_sink *sink;
	struct lo2_sha256 sha;
	uint64_t size;
	bool gzip;
	char *path;
};

int ex_hsink_open(const char *path, bool gzip, struct ex_hsink **out, struct lo2_err *err)
{
	struct ex_hsink *h = xcalloc(1, sizeof(*h));
	int rc = gzip ? lo2_sink_gzip_open(path, -1, &h->sink, err) : lo2_sink_file_open(path, &h->sink, err);

	if (rc < 0) {
		free(h);
		return -1;
	}
	lo2_sha256_init(&h->sha);
	h->gzip = gzip;
	h->path = xstrdup(path);
	*out = h;
	return 0;
}

int ex_hsink_write(struct ex_hsink *h, const void *p, size_t n, struct lo2_err *err)
{
	if (!h->gzip) {
		lo2_sha256_update(&h->sha, p, n);
		h->size += n;
	}
	return lo2_sink_write(h->sink, p, n, err);
}

int ex_hsink_commit(struct ex_hsink *h, uint64_t *size, char sha256[65], struct lo2_err *err)
{
	int ret = -1;

	if (lo2_sink_commit(h->sink, err) < 0)
		goto out;
	if (h->gzip) { /* the compressed bytes are the file's: read them back (tables are few files) */
		if (lo2_sha256_file(h->path, sha256, size, err) < 0)
			goto out;
	} else {
		lo2_sha256_hex(&h->sha, sha256);
		*size = h->size;
	}
	ret = 0;
out:
	free(h->path);
	free(h);
	return ret;
}

void ex_hsink_abort(struct ex_hsink *h)
{
	if (!h)
		return;
	lo2_sink_abort(h->sink);
	free(h->path);
	free(h);
}
