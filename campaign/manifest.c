/* manifest.c - campaign.json: the campaign's seed and settings of its own, the engines, and per
 * run its derived seed, status, engine, folder and every attempt; counts. Rewritten atomically at
 * every change; --resume reads it back. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign/internal.h"
#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/time.h"

const char *campaign_status_name(const struct crun *r)
{
	static const char *const names[] = {"pending", "running", "complete", "failed"};

	if (r->st == CR_PENDING && r->n_att > 0)
		return "retry";
	return names[r->st];
}

static void kv(struct lo2_jw *w, const char *k, const char *v)
{
	lo2_jw_key(w, k);
	lo2_jw_str(w, v);
}

static void kint(struct lo2_jw *w, const char *k, int64_t v)
{
	lo2_jw_key(w, k);
	lo2_jw_int(w, v);
}

static void kseed(struct lo2_jw *w, const char *k, uint64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%" PRIu64, v);
	kv(w, k, s); /* a string: 64-bit seeds do not survive JSON doubles */
}

static void write_engines(struct campaign *cp, struct lo2_jw *w)
{
	lo2_jw_key(w, "engines");
	lo2_jw_arr(w);
	for (size_t i = 0; i < cp->cc.n_engines; i++) {
		const struct campaign_engine *e = &cp->cc.engines[i];

		lo2_jw_obj(w);
		kv(w, "name", e->name);
		kv(w, "host", e->host);
		lo2_jw_key(w, "tls");
		if (e->tls) {
			lo2_jw_obj(w);
			kv(w, "ca", e->ca);
			kv(w, "cert", e->cert);
			kv(w, "key", e->key);
			lo2_jw_obj_end(w);
		} else {
			lo2_jw_null(w);
		}
		lo2_jw_key(w, "settings");
		lo2_jw_obj(w);
		for (size_t j = 0; j < e->settings.n; j++)
			kv(w, e->settings.v[j].key, e->settings.v[j].val);
		lo2_jw_obj_end(w);
		kv(w, "status", cp->es[i].down ? "down" : "up");
		kint(w, "runs_complete", cp->es[i].complete);
		kint(w, "attempts_failed", cp->es[i].failed_attempts);
		kv(w, "last_error", cp->es[i].last_error);
		lo2_jw_obj_end(w);
	}
	lo2_jw_arr_end(w);
}

static void write_run(const struct crun *r, struct lo2_jw *w)
{
	lo2_jw_obj(w);
	kint(w, "index", r->k);
	kseed(w, "seed", r->seed);
	kv(w, "status", campaign_status_name(r));
	kv(w, "engine", r->engine);
	kv(w, "dir", r->dir);
	kv(w, "project", r->project);
	kint(w, "slot", r->slot);
	kint(w, "planned_s", r->planned_s);
	kint(w, "started_ns", r->start_ns);
	kint(w, "ended_ns", r->end_ns);
	lo2_jw_key(w, "attempts");
	lo2_jw_arr(w);
	for (size_t i = 0; i < r->n_att; i++) {
		const struct cattempt *a = &r->att[i];

		lo2_jw_obj(w);
		kv(w, "engine", a->engine);
		kv(w, "dir", a->dir);
		kv(w, "status", a->status);
		kv(w, "error", a->error);
		kint(w, "started_ns", a->start_ns);
		kint(w, "ended_ns", a->end_ns);
		lo2_jw_obj_end(w);
	}
	lo2_jw_arr_end(w);
	lo2_jw_obj_end(w);
}

int campaign_save_locked(struct campaign *cp, struct lo2_err *err)
{
	struct lo2_jw *w = lo2_jw_new("  ");
	lo2_autofree char *path = xasprintf("%s/%s", cp->dir, CAMPAIGN_MANIFEST), *text = NULL;
	int counts[4] = {0}, retries = 0;
	size_t len = 0;

	for (int i = 0; i < cp->n_runs; i++) {
		counts[cp->runs[i].st]++;
		for (size_t a = 0; a < cp->runs[i].n_att; a++)
			retries += strcmp(cp->runs[i].att[a].status, "complete") != 0 &&
			           strcmp(cp->runs[i].att[a].status, "running") != 0;
	}
	lo2_jw_obj(w);
	kv(w, "lo2_version", LO2_VERSION);
	kv(w, "status", cp->status);
	kseed(w, "seed", cp->seed);
	kint(w, "run_count", cp->cc.runs);
	kint(w, "per_engine", cp->cc.per_engine);
	kint(w, "max_attempts", cp->cc.max_attempts);
	kint(w, "backoff_max_s", cp->cc.backoff_max_s);
	kv(w, "project", cp->base_project);
	kv(w, "settings", CAMPAIGN_SETTINGS);
	kint(w, "started_ns", cp->started_ns);
	kint(w, "ended_ns", cp->ended_ns);
	kint(w, "updated_ns", lo2_now_ns());
	lo2_jw_key(w, "counts");
	lo2_jw_obj(w);
	kint(w, "pending", counts[CR_PENDING]);
	kint(w, "running", counts[CR_RUNNING]);
	kint(w, "complete", counts[CR_COMPLETE]);
	kint(w, "failed", counts[CR_FAILED]);
	kint(w, "attempts_failed", retries);
	lo2_jw_obj_end(w);
	write_engines(cp, w);
	lo2_jw_key(w, "runs");
	lo2_jw_arr(w);
	for (int i = 0; i < cp->n_runs; i++)
		write_run(&cp->runs[i], w);
	lo2_jw_arr_end(w);
	lo2_jw_obj_end(w);
	text = lo2_jw_finish(w, &len);
	if (lo2_write_file_atomic(path, text, len, err) < 0)
		return lo2_err_prefix(err, "write the campaign manifest");
	return 0;
}

/* ---- reading ---- */

static char *dup_str(const struct lo2_json *o, const char *k)
{
	const char *s = lo2_json_str(lo2_json_get(o, k));

	return s ? xstrdup(s) : NULL;
}

static int64_t get_int(const struct lo2_json *o, const char *k)
{
	int64_t v = 0;

	lo2_json_int(lo2_json_get(o, k), &v);
	return v;
}

static int get_seed(const struct lo2_json *o, const char *k, uint64_t *out)
{
	const char *s = lo2_json_str(lo2_json_get(o, k));
	char *end;

	if (s == NULL)
		return -1;
	*out = strtoull(s, &end, 10);
	return *end == '\0' && s[0] ? 0 : -1;
}

static void read_engine(const struct lo2_json *o, struct campaign_engine *e)
{
	const struct lo2_json *tls = lo2_json_get(o, "tls"), *set = lo2_json_get(o, "settings");

	e->name = dup_str(o, "name");
	e->host = dup_str(o, "host");
	if (lo2_json_is_object(tls)) {
		e->tls = true;
		e->ca = dup_str(tls, "ca");
		e->cert = dup_str(tls, "cert");
		e->key = dup_str(tls, "key");
	}
	for (size_t j = 0; lo2_json_is_object(set) && j < lo2_json_len(set); j++)
		lo2_kvv_set(&e->settings, lo2_json_key_at(set, j), lo2_json_str(lo2_json_val_at(set, j)));
}

static int read_run(const struct lo2_json *o, struct crun *r, struct lo2_err *err)
{
	const char *st = lo2_json_str(lo2_json_get(o, "status"));
	const struct lo2_json *atts = lo2_json_get(o, "attempts");

	r->k = (int)get_int(o, "index");
	if (get_seed(o, "seed", &r->seed) < 0 || st == NULL)
		return lo2_err_set(err, LO2_E_INVALID, "run %d has no seed or status", r->k);
	r->st = strcmp(st, "complete") == 0  ? CR_COMPLETE
	        : strcmp(st, "failed") == 0  ? CR_FAILED
	        : strcmp(st, "running") == 0 ? CR_RUNNING
	                                     : CR_PENDING;
	r->engine = dup_str(o, "engine");
	r->dir = dup_str(o, "dir");
	r->project = dup_str(o, "project");
	r->slot = (int)get_int(o, "slot");
	r->planned_s = (int)get_int(o, "planned_s");
	r->start_ns = get_int(o, "started_ns");
	r->end_ns = get_int(o, "ended_ns");
	r->resume_on = -1;
	r->n_att = lo2_json_is_array(atts) ? lo2_json_len(atts) : 0;
	r->att = xcalloc(r->n_att + 1, sizeof(*r->att));
	for (size_t i = 0; i < r->n_att; i++) {
		const struct lo2_json *a = lo2_json_at(atts, i);

		r->att[i] = (struct cattempt){.engine = dup_str(a, "engine"),
		                              .dir = dup_str(a, "dir"),
		                              .status = dup_str(a, "status"),
		                              .error = dup_str(a, "error"),
		                              .start_ns = get_int(a, "started_ns"),
		                              .end_ns = get_int(a, "ended_ns")};
		if (r->att[i].status == NULL)
			r->att[i].status = xstrdup("unknown");
	}
	return 0;
}

int campaign_manifest_read(struct campaign *cp, struct lo2_err *err)
{
	lo2_autofree char *path = xasprintf("%s/%s", cp->dir, CAMPAIGN_MANIFEST), *text = NULL;
	struct lo2_json *doc = NULL;
	const struct lo2_json *engines, *runs;
	int ret = -1;

	if (lo2_read_file(path, 64u * 1024 * 1024, &text, NULL, err) < 0 ||
	    lo2_json_parse(text, path, &doc, err) < 0)
		return lo2_err_prefix(err, "read the campaign manifest");
	engines = lo2_json_get(doc, "engines");
	runs = lo2_json_get(doc, "runs");
	if (get_seed(doc, "seed", &cp->seed) < 0 || !lo2_json_is_array(engines) || !lo2_json_is_array(runs)) {
		lo2_err_set(err, LO2_E_INVALID, "%s: no seed, engines or runs", path);
		goto out;
	}
	cp->cc.runs = (int)get_int(doc, "run_count");
	cp->cc.per_engine = (int)get_int(doc, "per_engine");
	cp->cc.max_attempts = (int)get_int(doc, "max_attempts");
	cp->cc.backoff_max_s = (int)get_int(doc, "backoff_max_s");
	cp->base_project = dup_str(doc, "project");
	cp->started_ns = get_int(doc, "started_ns");
	for (size_t i = 0; i < lo2_json_len(engines); i++) {
		cp->cc.engines = xrealloc(cp->cc.engines, (i + 1) * sizeof(*cp->cc.engines));
		memset(&cp->cc.engines[i], 0, sizeof(*cp->cc.engines));
		read_engine(lo2_json_at(engines, i), &cp->cc.engines[i]);
		cp->cc.n_engines = i + 1;
	}
	cp->n_runs = (int)lo2_json_len(runs);
	cp->runs = xcalloc((size_t)cp->n_runs + 1, sizeof(*cp->runs));
	for (int i = 0; i < cp->n_runs; i++)
		if (read_run(lo2_json_at(runs, (size_t)i), &cp->runs[i], err) < 0) {
			lo2_err_prefix(err, "%s", path);
			goto out;
		}
	ret = 0;
out:
	lo2_json_free(doc);
	return ret;
}
