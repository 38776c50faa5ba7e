/* metrics.c - a metric_<name>.json file (Prometheus query_range data.result, as LO2's fetcher
 * and lo2 write it) streamed into CSV rows, one per sample: metric, labels as JSON, timestamp,
 * value. yajl's streaming parser, fed in chunks: a file is never held whole. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/sink.h"
#include "export/internal.h"

#define MAX_LABELS 256
#define MAX_TEXT 65536

enum where { W_TOP, W_SERIES, W_METRIC, W_VALUES, W_SAMPLE, W_OTHER };

struct mctx {
	const char *path, *prefix;
	struct ex_hsink *h;
	struct lo2_err *err;
	int depth; /* nesting inside the series object (1 = its members) */
	enum where w, back; /* back: where an ignored value ends */
	int other_depth;
	char *key; /* the member key just read */
	struct lo2_kvv labels;
	bool have_metric;
	char *sample[2];
	int n_sample;
	uint64_t samples;
	struct lo2_buf row;
	int failed;
};

static int fail(struct mctx *c, const char *what)
{
	lo2_err_set(c->err, LO2_E_INVALID, "%s: %s", c->path, what);
	c->failed = 1;
	return 0;
}

static int emit(struct mctx *c)
{
	const char *name = lo2_kvv_get(&c->labels, "__name__");
	struct lo2_jw *w = lo2_jw_new(NULL);
	size_t len;
	char *labels;

	if (!c->have_metric)
		return fail(c, "\"values\" before \"metric\" in a series");
	lo2_jw_obj(w);
	for (size_t i = 0; i < c->labels.n; i++)
		if (strcmp(c->labels.v[i].key, "__name__") != 0) {
			lo2_jw_key(w, c->labels.v[i].key);
			lo2_jw_str(w, c->labels.v[i].val);
		}
	lo2_jw_obj_end(w);
	labels = lo2_jw_finish(w, &len);
	lo2_buf_reset(&c->row);
	lo2_buf_puts(&c->row, c->prefix);
	ex_csv_field(&c->row, name ? name : "", name ? strlen(name) : 0);
	lo2_buf_puts(&c->row, ",");
	ex_csv_field(&c->row, labels, len);
	lo2_buf_printf(&c->row, ",%s,", c->sample[0]);
	ex_csv_field(&c->row, c->sample[1], strlen(c->sample[1]));
	lo2_buf_puts(&c->row, "\n");
	free(labels);
	c->samples++;
	if (ex_hsink_write(c->h, c->row.data, c->row.len, c->err) < 0)
		c->failed = 1;
	return !c->failed;
}

/* Starts a value that is not read (its nesting is counted until it ends). */
static void ignore(struct mctx *c)
{
	c->back = c->w;
	c->w = W_OTHER;
	c->other_depth = 1;
}

/* A container value ends: true when it was (the end of) an ignored one. */
static bool ignored_end(struct mctx *c)
{
	if (c->w != W_OTHER)
		return false;
	if (--c->other_depth == 0)
		c->w = c->back;
	return true;
}

static int key_done(struct mctx *c)
{
	free(c->key);
	c->key = NULL;
	return 1;
}

static int scalar(struct mctx *c, const char *s, size_t n)
{
	if (c->failed)
		return 0;
	if (n > MAX_TEXT)
		return fail(c, "a value longer than 64 KiB");
	if (c->w == W_METRIC && c->key) {
		char *v = xstrndup(s, n);

		lo2_kvv_set(&c->labels, c->key, v);
		free(v);
		if (c->labels.n > MAX_LABELS)
			return fail(c, "more than 256 labels in a series");
	} else if (c->w == W_SAMPLE) {
		if (c->n_sample >= 2)
			return fail(c, "a sample of more than two values");
		c->sample[c->n_sample++] = xstrndup(s, n);
	}
	return key_done(c);
}

static int on_null(void *u)
{
	return scalar(u, "null", 4);
}

static int on_bool(void *u, int b)
{
	return b ? scalar(u, "true", 4) : scalar(u, "false", 5);
}

static int on_number(void *u, const char *s, size_t n)
{
	return scalar(u, s, n);
}

static int on_string(void *u, const unsigned char *s, size_t n)
{
	return scalar(u, (const char *)s, n);
}

static int on_key(void *u, const unsigned char *s, size_t n)
{
	struct mctx *c = u;

	free(c->key);
	c->key = xstrndup((const char *)s, n);
	return 1;
}

static int on_start_map(void *u)
{
	struct mctx *c = u;

	if (c->w == W_OTHER) {
		c->other_depth++;
	} else if (c->w == W_TOP && c->depth == 1) {
		c->w = W_SERIES;
		c->have_metric = false;
		lo2_kvv_free(&c->labels);
	} else if (c->w == W_SERIES && c->key && strcmp(c->key, "metric") == 0) {
		c->w = W_METRIC;
		c->have_metric = true;
	} else {
		ignore(c);
	}
	return key_done(c);
}

static int on_end_map(void *u)
{
	struct mctx *c = u;

	if (ignored_end(c))
		return 1;
	if (c->w == W_METRIC) {
		c->w = W_SERIES;
	} else if (c->w == W_SERIES) {
		c->w = W_TOP;
	}
	return 1;
}

static int on_start_array(void *u)
{
	struct mctx *c = u;

	if (c->w == W_OTHER) {
		c->other_depth++;
	} else if (c->w == W_TOP && c->depth == 0) {
		c->depth = 1;
	} else if (c->w == W_SERIES && c->key && strcmp(c->key, "values") == 0) {
		c->w = W_VALUES;
	} else if (c->w == W_VALUES) {
		c->w = W_SAMPLE;
		c->n_sample = 0;
	} else {
		ignore(c);
	}
	return key_done(c);
}

static int on_end_array(void *u)
{
	struct mctx *c = u;

	if (ignored_end(c))
		return 1;
	if (c->w == W_SAMPLE) {
		int ok = c->n_sample == 2 ? emit(c) : fail(c, "a sample that is not [timestamp, value]");

		for (int i = 0; i < c->n_sample; i++)
			free(c->sample[i]);
		c->n_sample = 0;
		c->w = W_VALUES;
		return ok;
	} else if (c->w == W_VALUES) {
		c->w = W_SERIES;
	} else if (c->w == W_TOP) {
		c->depth = 0;
	}
	return 1;
}

static const yajl_callbacks callbacks = {
    on_null,      on_bool, NULL,       NULL,           on_number,    on_string,
    on_start_map, on_key,  on_end_map, on_start_array, on_end_array,
};

struct feed {
	yajl_handle y;
	struct mctx *c;
};

static int feed_chunk(void *user, const char *p, size_t n, struct lo2_err *err)
{
	struct feed *f = user;

	if (yajl_parse(f->y, (const unsigned char *)p, n) == yajl_status_ok)
		return 0;
	if (f->c->failed)
		return -1;
	{
		unsigned char *m = yajl_get_error(f->y, 0, (const unsigned char *)p, n);

		lo2_err_set(err, LO2_E_INVALID, "%s: not JSON: %s", f->c->path, (char *)m);
		yajl_free_error(f->y, m);
	}
	return -1;
}

int ex_metric_rows(const char *path, const char *prefix, struct ex_hsink *h, uint64_t *samples,
                   struct lo2_err *err)
{
	struct mctx c = {.path = path, .prefix = prefix, .h = h, .err = err, .row = LO2_BUF_INIT};
	struct feed f = {NULL, &c};
	int ret = -1;

	f.y = yajl_alloc(&callbacks, NULL, &c);
	if (lo2_gzip_read(path, feed_chunk, &f, err) < 0)
		goto out;
	if (yajl_complete_parse(f.y) != yajl_status_ok) {
		if (!c.failed)
			lo2_err_set(err, LO2_E_INVALID, "%s: JSON ends early", path);
		goto out;
	}
	*samples += c.samples;
	ret = 0;
out:
	for (int i = 0; i < c.n_sample; i++)
		free(c.sample[i]);
	free(c.key);
	lo2_kvv_free(&c.labels);
	lo2_buf_free(&c.row);
	yajl_free(f.y);
	return ret;
}
