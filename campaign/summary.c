/* summary.c - what a campaign's dataset holds: runs per status and per engine, and over the
 * complete runs the totals of tests, log lines, metric files and trace rows, with every run whose
 * files no longer match its run.json named (for `lo2 summary DATASET_DIR`). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "campaign/internal.h"
#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "run/summary.h"

bool campaign_is_dataset(const char *dir)
{
	lo2_autofree char *p = xasprintf("%s/%s", dir, CAMPAIGN_MANIFEST);

	return access(p, R_OK) == 0;
}

static void count_status(struct lo2_kvv *kv, const char *status)
{
	const char *v = lo2_kvv_get(kv, status);
	char n[24];

	snprintf(n, sizeof(n), "%ld", (v ? strtol(v, NULL, 10) : 0) + 1);
	lo2_kvv_set(kv, status, n);
}

static void add_run(struct campaign_summary *s, const char *dir, const struct crun *r)
{
	lo2_autofree char *rd = xasprintf("%s/%s", dir, r->dir);
	struct run_summary rs;
	struct lo2_err err = {0};

	if (run_summary_read(rd, &rs, &err) < 0) {
		lo2_strv_take(&s->failed_checks, xasprintf("%s: %s", r->dir, err.msg));
		return;
	}
	for (size_t i = 0; i < rs.n; i++) {
		s->tests++;
		s->tests_complete += strcmp(rs.tests[i].status, "complete") == 0;
		s->log_lines += rs.tests[i].log_lines;
		s->metric_files += rs.tests[i].metric_files;
		s->trace_rows += rs.tests[i].trace_rows;
	}
	if (rs.bad_checksums) {
		s->bad_checksums += rs.bad_checksums;
		lo2_strv_take(&s->failed_checks,
		              xasprintf("%s: %d files do not match run.json", r->dir, rs.bad_checksums));
	}
	run_summary_free(&rs);
}

/* The campaign's own status and wall time from its manifest. */
static void read_status(const char *dir, struct campaign_summary *out)
{
	lo2_autofree char *p = xasprintf("%s/%s", dir, CAMPAIGN_MANIFEST), *text = NULL;
	struct lo2_json *doc = NULL;
	int64_t a = 0, b = 0;
	const char *st;

	if (lo2_read_file(p, 64u * 1024 * 1024, &text, NULL, NULL) < 0 ||
	    lo2_json_parse(text, p, &doc, NULL) < 0)
		return;
	st = lo2_json_str(lo2_json_get(doc, "status"));
	out->status = xstrdup(st ? st : "unknown");
	if (lo2_json_int(lo2_json_get(doc, "started_ns"), &a) &&
	    lo2_json_int(lo2_json_get(doc, "ended_ns"), &b) && b > a)
		out->wall_s = (double)(b - a) / 1e9;
	lo2_json_free(doc);
}

int campaign_summary_read(const char *dir, struct campaign_summary *out, struct lo2_err *err)
{
	struct campaign *cp = xcalloc(1, sizeof(*cp));
	int ret = -1;

	memset(out, 0, sizeof(*out));
	cp->dir = xstrdup(dir);
	pthread_mutex_init(&cp->lock, NULL);
	pthread_cond_init(&cp->cv, NULL);
	cp->log_fd = -1;
	if (campaign_manifest_read(cp, err) < 0)
		goto out;
	out->runs = cp->n_runs;
	out->seed = cp->seed;
	out->n_engines = cp->cc.n_engines;
	out->engines = xcalloc(cp->cc.n_engines + 1, sizeof(*out->engines));
	for (size_t i = 0; i < cp->cc.n_engines; i++) {
		out->engines[i].name = xstrdup(cp->cc.engines[i].name);
		out->engines[i].host = xstrdup(cp->cc.engines[i].host);
	}
	for (int i = 0; i < cp->n_runs; i++) {
		const struct crun *r = &cp->runs[i];

		count_status(&out->status_counts, campaign_status_name(r));
		for (size_t e = 0; e < out->n_engines; e++) {
			struct campaign_summary_engine *se = &out->engines[e];

			if (r->engine && strcmp(r->engine, se->name) == 0) {
				se->complete += r->st == CR_COMPLETE;
				se->failed += r->st == CR_FAILED;
			}
			for (size_t a = 0; a < r->n_att; a++)
				se->attempts_failed +=
				    strcmp(r->att[a].engine ? r->att[a].engine : "", se->name) == 0 &&
				    strcmp(r->att[a].status, "complete") != 0 &&
				    strcmp(r->att[a].status, "running") != 0;
		}
		if (r->st == CR_COMPLETE && r->dir)
			add_run(out, dir, r);
	}
	ret = 0;
	read_status(dir, out);
out:
	cp->h = NULL;
	campaign_free(cp);
	return ret;
}

void campaign_summary_free(struct campaign_summary *s)
{
	for (size_t i = 0; i < s->n_engines; i++) {
		free(s->engines[i].name);
		free(s->engines[i].host);
	}
	free(s->engines);
	lo2_kvv_free(&s->status_counts);
	lo2_strv_free(&s->failed_checks);
	free(s->status);
	memset(s, 0, sizeof(*s));
}
