/* targets.c - Prometheus's scrape targets (/api/v1/targets): whether each active target is up
 * and when it was last scraped, so a run starts only once the system is being measured. */
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/mem.h"
#include "common/time.h"
#include "fetch/fetch.h"
#include "fetch/internal.h"

#define TARGETS_MAX (16u * 1024 * 1024)

void fetch_prom_targets_free(struct fetch_prom_targets *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].job);
		free(t->v[i].instance);
		free(t->v[i].health);
		free(t->v[i].last_error);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static char *label_of(const struct lo2_json *target, const char *key)
{
	const char *v = lo2_json_str(lo2_json_path(target, "labels", key, NULL));

	return xstrdup(v ? v : "");
}

int fetch_prom_targets(const char *url, int64_t timeout_ms, struct fetch_prom_targets *out,
                       struct lo2_err *err)
{
	lo2_autofree char *full = xasprintf("%s/api/v1/targets?state=active", url);
	lo2_autofree char *body = NULL;
	struct lo2_json *doc = NULL;
	const struct lo2_json *active;
	long status = 0;

	memset(out, 0, sizeof(*out));
	if (http_get(full, TARGETS_MAX, timeout_ms > 0 ? timeout_ms : 10000, &body, &status, err) < 0)
		return lo2_err_prefix(err, "Prometheus targets");
	if (status != 200)
		return lo2_err_set(err, LO2_E_GENERIC, "Prometheus targets %s: HTTP %ld", full, status);
	if (lo2_json_parse(body, "Prometheus targets", &doc, err) < 0)
		return -1;
	active = lo2_json_path(doc, "data", "activeTargets", NULL);
	if (!lo2_json_is_array(active)) {
		lo2_json_free(doc);
		return lo2_err_set(err, LO2_E_INVALID, "Prometheus targets %s: no data.activeTargets list",
		                   full);
	}
	out->n = lo2_json_len(active);
	out->v = xcalloc(out->n + 1, sizeof(*out->v));
	for (size_t i = 0; i < out->n; i++) {
		const struct lo2_json *t = lo2_json_at(active, i);
		const char *last = lo2_json_str(lo2_json_get(t, "lastScrape"));
		const char *health = lo2_json_str(lo2_json_get(t, "health"));
		const char *lerr = lo2_json_str(lo2_json_get(t, "lastError"));

		out->v[i].job = label_of(t, "job");
		out->v[i].instance = label_of(t, "instance");
		out->v[i].health = xstrdup(health ? health : "unknown");
		out->v[i].last_error = xstrdup(lerr ? lerr : "");
		if (last == NULL || lo2_time_parse(last, &out->v[i].last_scrape_ns, NULL) < 0)
			out->v[i].last_scrape_ns = 0;
	}
	lo2_json_free(doc);
	return 0;
}
