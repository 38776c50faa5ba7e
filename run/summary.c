/* summary.c - counting what a run folder holds (see summary.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/sha256.h"
#include "common/sink.h"
#include "run/manifest.h"
#include "run/summary.h"

static int count_nl(void *user, const char *p, size_t n, struct lo2_err *err)
{
	uint64_t *lines = user;

	for (const char *q = p; (q = memchr(q, '\n', (size_t)(p + n - q))) != NULL; q++)
		(*lines)++;
	return 0;
}

static void add_lines(struct lo2_kvv *kv, const char *container, uint64_t lines)
{
	const char *old = lo2_kvv_get(kv, container);
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, (uint64_t)(old ? strtoull(old, NULL, 10) : 0) + lines);
	lo2_kvv_set(kv, container, buf);
}

/* "<tag>/<name>.log.gz" or "<tag>/<name>.log" -> name; NULL for other files. */
static char *log_container(const char *path)
{
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
	size_t n = strlen(base);

	if (lo2_str_has_suffix(base, ".log.gz") && strcmp(base, "locust.log.gz") != 0)
		return xstrndup(base, n - 7);
	if (lo2_str_has_suffix(base, ".log") && strcmp(base, "locust.log") != 0 && strchr(path, '/'))
		return xstrndup(base, n - 4);
	return NULL;
}

/* Checks one recorded file against its size and checksum; counts its log lines per container
 * (into *lines too when it is a container log). */
static int check_file(const char *dir, const struct run_file *f, struct run_summary *s, uint64_t *lines,
                      bool *is_log, struct lo2_err *err)
{
	lo2_autofree char *full = xasprintf("%s/%s", dir, f->path), *name = log_container(f->path);
	char sum[65];
	uint64_t size = 0;

	*lines = 0;
	*is_log = false;
	if (lo2_sha256_file(full, sum, &size, err) < 0) {
		if (err->kind != LO2_E_NOT_FOUND)
			return -1;
		lo2_err_clear(err);
		s->bad_checksums++; /* recorded, and gone */
		return 0;
	}
	if (size != f->size || strcmp(sum, f->sha256) != 0)
		s->bad_checksums++;
	if (name == NULL)
		return 0;
	if (lo2_gzip_read(full, count_nl, lines, err) < 0)
		return -1;
	*is_log = true;
	add_lines(&s->container_lines, name, *lines);
	return 0;
}

/* The stats collector's section of the test: per container CPU seconds and peak memory. */
static void read_stats(const struct run_test *t, struct run_summary_test *o)
{
	const char *json = lo2_kvv_get(&t->sections, "stats");
	struct lo2_json *doc = NULL;
	const struct lo2_json *cs;

	if (json == NULL || lo2_json_parse(json, "stats section", &doc, NULL) < 0)
		return;
	lo2_json_double(lo2_json_get(doc, "seconds"), &o->window_s);
	cs = lo2_json_get(doc, "containers");
	o->stats = xcalloc(lo2_json_len(cs) + 1, sizeof(*o->stats));
	for (size_t i = 0; i < lo2_json_len(cs); i++) {
		const struct lo2_json *c = lo2_json_val_at(cs, i);
		struct run_summary_stats *st = &o->stats[o->n_stats++];
		int64_t v = 0;

		st->container = xstrdup(lo2_json_key_at(cs, i));
		lo2_json_double(lo2_json_get(c, "cpu_seconds"), &st->cpu_s);
		if (lo2_json_int(lo2_json_get(c, "peak_working_set_bytes"), &v))
			st->peak_bytes = (uint64_t)v;
		if (lo2_json_int(lo2_json_get(c, "samples"), &v))
			st->samples = (uint64_t)v;
		if (lo2_json_int(lo2_json_get(c, "seconds_with_sample"), &v))
			st->seconds = (uint64_t)v;
	}
	lo2_json_free(doc);
}

static int summarize_test(const char *dir, const struct run_test *t, struct run_summary *s,
                          struct run_summary_test *o, struct lo2_err *err)
{
	o->tag = xstrdup(t->tag);
	o->status = xstrdup(run_test_status_name(t->status));
	o->seconds = t->end_ns > t->start_ns ? (double)(t->end_ns - t->start_ns) / 1e9 : 0;
	o->requests = t->requests;
	o->failures = t->failures;
	read_stats(t, o);
	for (size_t f = 0; f < t->files.n; f++) {
		const char *rel = t->files.v[f].path, *base = strrchr(rel, '/');
		uint64_t lines = 0;
		bool is_log;

		base = base ? base + 1 : rel;
		if (check_file(dir, &t->files.v[f], s, &lines, &is_log, err) < 0)
			return -1;
		if (lo2_str_has_prefix(base, "metric_"))
			o->metric_files++;
		if (lo2_str_has_prefix(base, "traces_")) {
			lo2_autofree char *full = xasprintf("%s/%s", dir, rel);

			if (lo2_gzip_read(full, count_nl, &lines, err) == 0)
				o->trace_rows += lines > 0 ? lines - 1 : 0;
		}
		if (is_log) {
			o->log_files++;
			o->log_lines += lines;
		}
	}
	for (size_t a = 0; a < t->n_attempts; a++)
		for (size_t f = 0; f < t->attempts[a].files.n; f++) {
			uint64_t lines = 0;
			bool is_log;

			if (check_file(dir, &t->attempts[a].files.v[f], s, &lines, &is_log, err) < 0)
				return -1;
			s->incomplete_lines += is_log ? lines : 0;
		}
	return 0;
}

int run_summary_read(const char *dir, struct run_summary *s, struct lo2_err *err)
{
	lo2_autofree char *mp = xasprintf("%s/run.json", dir);
	struct run_manifest m;
	int ret = -1;

	memset(s, 0, sizeof(*s));
	if (run_manifest_read(mp, &m, err) < 0)
		return -1;
	s->tests = xcalloc(m.n_tests + 1, sizeof(*s->tests));
	for (size_t i = 0; i < m.n_tests; i++, s->n++)
		if (summarize_test(dir, &m.tests[i], s, &s->tests[i], err) < 0)
			goto out;
	for (size_t f = 0; f < m.files.n; f++) {
		uint64_t lines = 0;
		bool is_log;

		if (check_file(dir, &m.files.v[f], s, &lines, &is_log, err) < 0)
			goto out;
		s->between_lines += is_log ? lines : 0;
	}
	ret = 0;
out:
	run_manifest_free(&m);
	return ret;
}

void run_summary_free(struct run_summary *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->tests[i].tag);
		free(s->tests[i].status);
		for (size_t k = 0; k < s->tests[i].n_stats; k++)
			free(s->tests[i].stats[k].container);
		free(s->tests[i].stats);
	}
	free(s->tests);
	lo2_kvv_free(&s->container_lines);
	memset(s, 0, sizeof(*s));
}
