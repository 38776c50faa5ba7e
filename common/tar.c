/* tar.c - the tar writer (see tar.h): ustar headers, PAX records where ustar runs out, and a
 * pull-style reader that opens each file only when the archive reaches it. */
#include "common/tar.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"

#define USTAR_SIZE_MAX 077777777777ULL /* 11 octal digits */

struct entry {
	char *name;
	char *src; /* file to read, or NULL */
	char *data; /* in-memory content, or NULL */
	char *linkname;
	enum lo2_tar_type type;
	unsigned mode;
	uint64_t size;
	int64_t mtime;
};

enum phase { PH_HEADER, PH_BODY, PH_PAD, PH_TRAILER, PH_DONE };

struct lo2_tar {
	struct entry *v;
	size_t n, cap;
	/* reader state */
	size_t idx;
	enum phase phase;
	char *hdr;
	size_t hdr_len, hdr_off;
	int fd;
	uint64_t body_left, body_off;
	size_t pad_left, trailer_left;
	bool started;
};

static void put_octal(char *field, size_t width, uint64_t v)
{
	/* width includes the terminating NUL */
	snprintf(field, width, "%0*llo", (int)(width - 1), (unsigned long long)v);
}

/* Appends one "len key=value\n" PAX record; len counts its own digits. */
static void pax_record(struct lo2_buf *pax, const char *key, const char *val)
{
	size_t base = strlen(key) + strlen(val) + 3; /* ' ', '=', '\n' */
	size_t len = base + 1;
	char digits[32];

	for (;;) {
		size_t d = (size_t)snprintf(digits, sizeof(digits), "%zu", len);

		if (base + d == len)
			break;
		len = base + d;
	}
	lo2_buf_printf(pax, "%zu %s=%s\n", len, key, val);
}

/* Splits name into ustar prefix/name fields; false when it cannot fit. */
static bool split_name(const char *name, char prefix[156], char base[101])
{
	size_t len = strlen(name);

	if (len <= 100) {
		prefix[0] = '\0';
		memcpy(base, name, len + 1);
		return true;
	}
	for (size_t i = 0; i < len; i++) {
		if (name[i] != '/' || i > 155 || len - i - 1 > 100 || len - i - 1 == 0 || i == 0)
			continue;
		memcpy(prefix, name, i);
		prefix[i] = '\0';
		memcpy(base, name + i + 1, len - i);
		return true;
	}
	return false;
}

static void fill_block(char *b, const struct lo2_tar_hdr *h, const char *name, char typeflag, uint64_t size,
                       const char *linkname)
{
	char prefix[156] = "", base[101] = "";
	unsigned sum = 0;

	memset(b, 0, LO2_TAR_BLOCK);
	if (!split_name(name, prefix, base)) {
		/* the PAX header carries the real name; keep a recognisable truncation */
		memcpy(base, name, 100);
		base[100] = '\0';
	}
	memcpy(b, base, strlen(base));
	put_octal(b + 100, 8, h->mode & 07777);
	put_octal(b + 108, 8, h->uid);
	put_octal(b + 116, 8, h->gid);
	put_octal(b + 124, 12, size > USTAR_SIZE_MAX ? 0 : size);
	put_octal(b + 136, 12, h->mtime < 0 || (uint64_t)h->mtime > USTAR_SIZE_MAX ? 0 : (uint64_t)h->mtime);
	b[156] = typeflag;
	if (linkname && strlen(linkname) <= 100)
		memcpy(b + 157, linkname, strlen(linkname));
	memcpy(b + 257, "ustar", 6);
	memcpy(b + 263, "00", 2);
	if (h->uid == 0)
		memcpy(b + 265, "root", 4);
	if (h->gid == 0)
		memcpy(b + 297, "root", 4);
	memcpy(b + 345, prefix, strlen(prefix));
	memset(b + 148, ' ', 8);
	for (size_t i = 0; i < LO2_TAR_BLOCK; i++)
		sum += (unsigned char)b[i];
	snprintf(b + 148, 8, "%06o", sum);
	b[155] = ' ';
}

static size_t padded(size_t n)
{
	return (n + LO2_TAR_BLOCK - 1) / LO2_TAR_BLOCK * LO2_TAR_BLOCK;
}

void lo2_tar_encode_header(const struct lo2_tar_hdr *h, char **out, size_t *len)
{
	lo2_autofree char *name = NULL;
	struct lo2_buf pax = LO2_BUF_INIT;
	char prefix[156], base[101];
	char typeflag = h->type == LO2_TAR_DIR ? '5' : h->type == LO2_TAR_SYMLINK ? '2' : '0';
	uint64_t size = h->type == LO2_TAR_FILE ? h->size : 0;
	size_t total, pax_pad = 0;
	char *p;

	name = h->type == LO2_TAR_DIR && !lo2_str_has_suffix(h->name, "/") ? xasprintf("%s/", h->name)
	                                                                   : xstrdup(h->name);
	if (!split_name(name, prefix, base))
		pax_record(&pax, "path", name);
	if (h->type == LO2_TAR_SYMLINK && h->linkname && strlen(h->linkname) > 100)
		pax_record(&pax, "linkpath", h->linkname);
	if (size > USTAR_SIZE_MAX) {
		char num[32];

		snprintf(num, sizeof(num), "%llu", (unsigned long long)size);
		pax_record(&pax, "size", num);
	}
	if (pax.len > 0)
		pax_pad = LO2_TAR_BLOCK + padded(pax.len);
	total = pax_pad + LO2_TAR_BLOCK;
	p = xcalloc(1, total);
	if (pax.len > 0) {
		struct lo2_tar_hdr ph = {.mode = 0644, .mtime = h->mtime};
		const char *slash = strrchr(name, '/');
		lo2_autofree char *pname = NULL;

		/* like Go's archive/tar: "PaxHeaders.0/<base name>", cut to fit */
		pname = xasprintf("PaxHeaders.0/%.80s", slash && slash[1] ? slash + 1 : name);
		fill_block(p, &ph, pname, 'x', pax.len, NULL);
		memcpy(p + LO2_TAR_BLOCK, pax.data, pax.len);
	}
	fill_block(p + pax_pad, h, name, typeflag, size, h->linkname);
	lo2_buf_free(&pax);
	*out = p;
	*len = total;
}

struct lo2_tar *lo2_tar_new(void)
{
	struct lo2_tar *t = xcalloc(1, sizeof(*t));

	t->fd = -1;
	return t;
}

void lo2_tar_free(struct lo2_tar *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].src);
		free(t->v[i].data);
		free(t->v[i].linkname);
	}
	free(t->v);
	free(t->hdr);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static struct entry *push(struct lo2_tar *t)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		t->v = xrealloc(t->v, t->cap * sizeof(*t->v));
	}
	memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
	return &t->v[t->n++];
}

static char *read_link(const char *src, size_t hint, struct lo2_err *err)
{
	size_t cap = hint + 1 > 256 ? hint + 1 : 256;

	for (;;) {
		char *b = xmalloc(cap);
		ssize_t r = readlink(src, b, cap);

		if (r < 0) {
			free(b);
			lo2_err_errno(err, errno, "tar: read symlink %s", src);
			return NULL;
		}
		if ((size_t)r < cap) {
			b[r] = '\0';
			return b;
		}
		free(b);
		cap *= 2;
	}
}

int lo2_tar_add_path(struct lo2_tar *t, const char *src, const char *name, struct lo2_err *err)
{
	struct stat st;
	struct entry *e;
	char *link = NULL;

	if (lstat(src, &st) < 0)
		return lo2_err_errno(err, errno, "tar: stat %s", src);
	if (S_ISLNK(st.st_mode)) {
		link = read_link(src, (size_t)st.st_size, err);
		if (link == NULL)
			return -1;
	} else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		lo2_debug("tar: skipping %s (not a file, folder or symlink)", src);
		return 0;
	}
	e = push(t);
	e->name = xstrdup(name);
	e->type = S_ISDIR(st.st_mode) ? LO2_TAR_DIR : S_ISLNK(st.st_mode) ? LO2_TAR_SYMLINK : LO2_TAR_FILE;
	e->src = e->type == LO2_TAR_FILE ? xstrdup(src) : NULL;
	e->linkname = link;
	e->mode = st.st_mode & 07777;
	e->size = e->type == LO2_TAR_FILE ? (uint64_t)st.st_size : 0;
	e->mtime = (int64_t)st.st_mtime;
	return 0;
}

void lo2_tar_add_data(struct lo2_tar *t, const char *name, const void *data, size_t n, unsigned mode)
{
	struct entry *e = push(t);

	e->name = xstrdup(name);
	e->type = LO2_TAR_FILE;
	e->data = xmalloc(n + 1);
	memcpy(e->data, data, n);
	e->mode = mode & 07777;
	e->size = n;
}

size_t lo2_tar_count(const struct lo2_tar *t)
{
	return t->n;
}

/* Prepares the header of entry idx (or the trailer when all are written). */
static int next_entry(struct lo2_tar *t, struct lo2_err *err)
{
	struct entry *e;
	struct lo2_tar_hdr h;

	free(t->hdr);
	t->hdr = NULL;
	if (t->idx >= t->n) {
		t->phase = PH_TRAILER;
		t->trailer_left = 2 * LO2_TAR_BLOCK;
		return 0;
	}
	e = &t->v[t->idx];
	h = (struct lo2_tar_hdr){.name = e->name,
	                         .type = e->type,
	                         .mode = e->mode,
	                         .size = e->size,
	                         .mtime = e->mtime,
	                         .linkname = e->linkname};
	lo2_tar_encode_header(&h, &t->hdr, &t->hdr_len);
	t->hdr_off = 0;
	t->body_left = e->size;
	t->body_off = 0;
	t->pad_left = padded(e->size) - e->size;
	t->phase = PH_HEADER;
	if (e->src && e->type == LO2_TAR_FILE && e->size > 0) {
		t->fd = open(e->src, O_RDONLY | O_CLOEXEC);
		if (t->fd < 0)
			return lo2_err_errno(err, errno, "tar: open %s", e->src);
	}
	return 0;
}

static ssize_t read_body(struct lo2_tar *t, char *buf, size_t n, struct lo2_err *err)
{
	struct entry *e = &t->v[t->idx];
	size_t want = n < t->body_left ? n : (size_t)t->body_left;
	ssize_t r;

	if (e->data) {
		memcpy(buf, e->data + t->body_off, want);
		r = (ssize_t)want;
	} else {
		do {
			r = read(t->fd, buf, want);
		} while (r < 0 && errno == EINTR);
		if (r < 0)
			return lo2_err_errno(err, errno, "tar: read %s", e->src);
		if (r == 0)
			return lo2_err_set(err, LO2_E_GENERIC, "tar: %s shrank while it was being archived",
			                   e->src);
	}
	t->body_left -= (uint64_t)r;
	t->body_off += (uint64_t)r;
	if (t->body_left == 0) {
		if (t->fd >= 0)
			close(t->fd);
		t->fd = -1;
		t->phase = PH_PAD;
	}
	return r;
}

/* One step of the state machine: fills at most n bytes. */
static ssize_t step(struct lo2_tar *t, char *buf, size_t n, struct lo2_err *err)
{
	size_t k;

	switch (t->phase) {
	case PH_HEADER:
		k = t->hdr_len - t->hdr_off < n ? t->hdr_len - t->hdr_off : n;
		memcpy(buf, t->hdr + t->hdr_off, k);
		t->hdr_off += k;
		if (t->hdr_off == t->hdr_len)
			t->phase = t->body_left > 0 ? PH_BODY : PH_PAD;
		return (ssize_t)k;
	case PH_BODY:
		return read_body(t, buf, n, err);
	case PH_PAD:
		k = t->pad_left < n ? t->pad_left : n;
		memset(buf, 0, k);
		t->pad_left -= k;
		if (t->pad_left == 0) {
			t->idx++;
			if (next_entry(t, err) < 0)
				return -1;
		}
		return (ssize_t)k;
	case PH_TRAILER:
		k = t->trailer_left < n ? t->trailer_left : n;
		memset(buf, 0, k);
		t->trailer_left -= k;
		if (t->trailer_left == 0)
			t->phase = PH_DONE;
		return (ssize_t)k;
	case PH_DONE:
		break;
	}
	return 0;
}

ssize_t lo2_tar_read(struct lo2_tar *t, char *buf, size_t n, struct lo2_err *err)
{
	size_t got = 0;

	if (!t->started) {
		t->started = true;
		t->idx = 0;
		if (next_entry(t, err) < 0)
			return -1;
	}
	while (got < n && t->phase != PH_DONE) {
		ssize_t r = step(t, buf + got, n - got, err);

		if (r < 0)
			return -1;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int lo2_tar_write_fd(struct lo2_tar *t, int fd, struct lo2_err *err)
{
	char buf[65536];

	for (;;) {
		ssize_t r = lo2_tar_read(t, buf, sizeof(buf), err);

		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		if (lo2_write_all(fd, buf, (size_t)r, "tar: write archive", err) < 0)
			return -1;
	}
}
