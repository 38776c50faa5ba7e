/* export.c - `lo2 export`'s driver: reads every run folder, runs the chosen format into the
 * output folder, and writes the export's manifest beside it (not inside: the output folder
 * holds exactly the layout its readers expect). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/time.h"
#include "export/internal.h"

int export_format_parse(const char *s, enum export_format *f, struct lo2_err *err)
{
	if (strcmp(s, "lo2") == 0)
		*f = EXPORT_LO2;
	else if (strcmp(s, "tables") == 0)
		*f = EXPORT_TABLES;
	else
		return lo2_err_set(err, LO2_E_USAGE, "unknown format '%s' (lo2 or tables)", s);
	return 0;
}

char *export_manifest_path(const char *out_dir)
{
	size_t n = strlen(out_dir);

	while (n > 1 && out_dir[n - 1] == '/')
		n--;
	return xasprintf("%.*s.lo2-export.json", (int)n, out_dir);
}

static void write_run(struct lo2_jw *w, const struct ex_run *r)
{
	lo2_jw_obj(w);
	lo2_jw_key(w, "source");
	lo2_jw_str(w, r->dir);
	lo2_jw_key(w, "name");
	lo2_jw_str(w, r->name);
	lo2_jw_key(w, "tests");
	lo2_jw_arr(w);
	for (size_t i = 0; i < r->m.n_tests; i++)
		if (ex_test_exported(&r->m.tests[i]))
			lo2_jw_str(w, r->m.tests[i].tag);
	lo2_jw_arr_end(w);
	lo2_jw_key(w, "skipped");
	lo2_jw_arr(w);
	for (size_t i = 0; i < r->m.n_tests; i++)
		if (!ex_test_exported(&r->m.tests[i])) {
			lo2_jw_obj(w);
			lo2_jw_key(w, "tag");
			lo2_jw_str(w, r->m.tests[i].tag);
			lo2_jw_key(w, "status");
			lo2_jw_str(w, run_test_status_name(r->m.tests[i].status));
			lo2_jw_obj_end(w);
		}
	lo2_jw_arr_end(w);
	lo2_jw_obj_end(w);
}

static void write_counts(struct lo2_jw *w, const struct export_stats *st)
{
	const struct {
		const char *key;
		uint64_t n;
	} counts[] = {{"tests", st->tests},
	              {"skipped_tests", st->skipped_tests},
	              {"log_lines", st->log_lines},
	              {"metric_samples", st->metric_samples},
	              {"trace_spans", st->trace_spans},
	              {"events", st->events}};

	lo2_jw_key(w, "counts");
	lo2_jw_obj(w);
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		lo2_jw_key(w, counts[i].key);
		lo2_jw_int(w, (int64_t)counts[i].n);
	}
	lo2_jw_obj_end(w);
}

static int write_manifest(const struct export_opts *o, const char *abs_out, const struct ex_run *runs,
                          const struct ex_out *out, int64_t started, struct lo2_err *err)
{
	struct lo2_jw *w = lo2_jw_new("    ");
	char now[40];
	lo2_autofree char *text = NULL;
	size_t len;

	lo2_time_fmt_rfc3339(started, 3, now, sizeof(now));
	lo2_jw_obj(w);
	lo2_jw_key(w, "lo2_version");
	lo2_jw_str(w, LO2_VERSION);
	lo2_jw_key(w, "format");
	lo2_jw_str(w, o->format == EXPORT_LO2 ? "lo2" : "tables");
	lo2_jw_key(w, "created");
	lo2_jw_str(w, now);
	lo2_jw_key(w, "output");
	lo2_jw_str(w, abs_out);
	lo2_jw_key(w, "runs");
	lo2_jw_arr(w);
	for (size_t i = 0; i < o->n_runs; i++)
		write_run(w, &runs[i]);
	lo2_jw_arr_end(w);
	write_counts(w, out->st);
	lo2_jw_key(w, "files");
	lo2_jw_arr(w);
	for (size_t i = 0; i < out->n; i++) {
		lo2_jw_obj(w);
		lo2_jw_key(w, "path");
		lo2_jw_str(w, out->v[i].path);
		lo2_jw_key(w, "size");
		lo2_jw_int(w, (int64_t)out->v[i].size);
		lo2_jw_key(w, "sha256");
		lo2_jw_str(w, out->v[i].sha256);
		lo2_jw_key(w, "linked");
		lo2_jw_bool(w, out->v[i].linked);
		lo2_jw_obj_end(w);
	}
	lo2_jw_arr_end(w);
	lo2_jw_obj_end(w);
	text = lo2_jw_finish(w, &len);
	return lo2_write_file_atomic(out->st->manifest, text, len, err);
}

/* Runs that would become the same LO2_run_<unix> folder (a campaign starts runs on several engines
 * in the same second) are named by their start in milliseconds instead, LO2_run_<unix ms>: still
 * the original's digits-only form. Runs that collide even then are refused by name. */
static int check_names(struct ex_run *runs, size_t n, struct lo2_err *err)
{
	bool *clash = xcalloc(n ? n : 1, sizeof(*clash));

	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(runs[i].name, runs[j].name) == 0)
				clash[i] = clash[j] = true;
	for (size_t i = 0; i < n; i++)
		if (clash[i]) {
			free(runs[i].name);
			runs[i].name = xasprintf("LO2_run_%lld", (long long)(runs[i].m.started_ns / 1000000));
		}
	free(clash);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(runs[i].name, runs[j].name) == 0)
				return lo2_err_set(err, LO2_E_USAGE, "runs %s and %s both export as %s",
				                   runs[i].dir, runs[j].dir, runs[i].name);
	return 0;
}

int export_runs(const struct export_opts *o, struct export_stats *st, struct lo2_err *err)
{
	struct ex_run *runs = xcalloc(o->n_runs ? o->n_runs : 1, sizeof(*runs));
	struct ex_out out = {NULL, 0, st};
	char abs_out[PATH_MAX];
	int64_t started = lo2_now_ns();
	size_t opened = 0;
	int ret = -1;

	memset(st, 0, sizeof(*st));
	st->manifest = export_manifest_path(o->out_dir);
	for (; opened < o->n_runs; opened++)
		if (ex_run_open(o->runs[opened], &runs[opened], err) < 0)
			goto out;
	if (check_names(runs, o->n_runs, err) < 0 || lo2_mkdir_p(o->out_dir, 0755, err) < 0)
		goto out;
	if (!realpath(o->out_dir, abs_out)) {
		lo2_err_errno(err, errno, "resolve %s", o->out_dir);
		goto out;
	}
	st->runs = o->n_runs;
	if (o->format == EXPORT_TABLES) {
		if (ex_tables(runs, o->n_runs, o->out_dir, &out, err) < 0)
			goto out;
	} else {
		for (size_t i = 0; i < o->n_runs; i++)
			if (ex_lo2_run(&runs[i], o->out_dir, &out, err) < 0)
				goto out;
	}
	if (write_manifest(o, abs_out, runs, &out, started, err) < 0)
		goto out;
	ret = 0;
out:
	for (size_t i = 0; i < opened; i++)
		ex_run_free(&runs[i]);
	free(runs);
	ex_out_free(&out);
	return ret;
}

void export_stats_free(struct export_stats *st)
{
	free(st->manifest);
	st->manifest = NULL;
}
