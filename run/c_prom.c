/* c_prom.c - Prometheus as a collector: ready when every active target is up and was scraped
 * after the deploy (so the first test's series cover its whole window), and per test every metric
 * (query_range at the configured step) fetched into <tag>/metrics/ after the window closes. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "common/time.h"
#include "fetch/fetch.h"
#include "run/collector.h"
#include "run/collectors.h"
#include "run/config.h"

#define POLL_NS (250 * 1000 * 1000)

struct prom {
	struct run_collector base;
	int64_t step_ns;
};

static int prom_ready(struct run_collector *c, int64_t deadline_mono_ns, struct lo2_err *err)
{
	const struct run_config *cfg = run_session_config(c->s);
	int64_t after = lo2_now_ns(); /* a scrape of the deployed system: from now on */
	struct fetch_prom_targets t = {0};
	lo2_autofree char *why = NULL;

	if (!cfg->ready_prometheus)
		return 0;
	for (;;) {
		struct lo2_err e = {0};
		size_t ok = 0;

		if (fetch_prom_targets(cfg->prometheus_url, 2000, &t, &e) == 0) {
			for (size_t i = 0; i < t.n; i++)
				if (strcmp(t.v[i].health, "up") == 0 && t.v[i].last_scrape_ns >= after)
					ok++;
				else if (why == NULL || ok == 0) {
					free(why);
					why = xasprintf("target %s (%s) is %s%s%s", t.v[i].instance,
					                t.v[i].job, t.v[i].health,
					                t.v[i].last_error[0] ? ": " : "", t.v[i].last_error);
				}
			if (t.n > 0 && ok == t.n) {
				run_session_say(c->s, "Prometheus scrapes all %zu targets", t.n);
				fetch_prom_targets_free(&t);
				return 0;
			}
			if (t.n == 0) {
				free(why);
				why = xstrdup("it has no active targets yet");
			}
			fetch_prom_targets_free(&t);
		} else {
			free(why);
			why = xstrdup(e.msg);
		}
		if (run_session_cancelled(c->s))
			return lo2_err_set(err, LO2_E_CANCELLED, "interrupted while waiting for Prometheus");
		if (lo2_mono_ns() >= deadline_mono_ns)
			return lo2_err_set(err, LO2_E_TIMEOUT, "Prometheus %s not ready: %s",
			                   cfg->prometheus_url, why ? why : "no answer");
		lo2_sleep_ns(POLL_NS);
	}
}

static int read_names(const struct run_config *cfg, struct lo2_strv *names, struct lo2_err *err)
{
	lo2_autofree char *text = NULL;

	if (strcmp(cfg->prometheus_metrics, "all") == 0)
		return fetch_prom_list(cfg->prometheus_url, 30000, names, err);
	if (lo2_read_file(cfg->prometheus_metrics, 16u * 1024 * 1024, &text, NULL, err) < 0)
		return -1;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (l[0])
			lo2_strv_push(names, l);
	return 0;
}

static int prom_test_finish(struct run_collector *c, struct run_window *w, struct lo2_err *err)
{
	struct prom *P = (struct prom *)c;
	const struct run_config *cfg = run_session_config(c->s);
	lo2_autofree char *mdir = xasprintf("%s/metrics", w->dir);
	struct lo2_strv names = {0};
	struct fetch_report rep = {0};
	struct fetch_prom_opts po = {.url = cfg->prometheus_url,
	                             .start_ns = run_session_to_local(c->s, w->start_ns),
	                             .end_ns = run_session_to_local(c->s, w->end_ns),
	                             .step_ns = P->step_ns,
	                             .dir = mdir,
	                             .cancel = run_session_cancel(c->s)};
	struct lo2_err e = {0};
	int rc;

	if (w->interrupted)
		return 0;
	if (lo2_mkdir_p(mdir, 0755, err) < 0)
		return -1;
	rc = read_names(cfg, &names, &e);
	if (rc == 0)
		rc = fetch_prom_metrics(&po, &names, &rep, &e);
	if (rc < 0 && e.kind != LO2_E_CANCELLED) /* a cut short fetch is the finisher's to report */
		run_window_error(w, "prometheus", &e);
	run_window_errors(w, "prometheus", &rep.failures);
	if (rc == 0)
		run_session_say(c->s, "Fetched %zu metrics (%zu empty, %zu failed)", rep.ok, rep.empty,
		                rep.failed);
	fetch_report_free(&rep);
	lo2_strv_free(&names);
	if (rc < 0 && e.kind == LO2_E_CANCELLED) {
		*err = e; /* the window's metrics are not whole */
		return -1;
	}
	return fetch_write_last_fetch_time(mdir, po.end_ns, err);
}

static void prom_destroy(struct run_collector *c)
{
	free(c);
}

static const struct run_collector_ops prom_ops = {
    .name = "prometheus",
    .ready = prom_ready,
    .test_finish = prom_test_finish,
    .destroy = prom_destroy,
};

int run_collector_prometheus(struct run_session *s, struct run_collector **out, struct lo2_err *err)
{
	const struct run_config *cfg = run_session_config(s);
	struct prom *P;
	int64_t step = 0;

	*out = NULL;
	if (cfg->prometheus_url[0] == '\0')
		return 0;
	if (lo2_duration_parse(cfg->prometheus_step, &step, err) < 0 || step < 1000000)
		return lo2_err_set(err, LO2_E_USAGE, "prometheus.step: \"%s\" is not a step of at least 1ms",
		                   cfg->prometheus_step);
	P = xcalloc(1, sizeof(*P));
	P->base.ops = &prom_ops;
	P->base.s = s;
	P->step_ns = step;
	*out = &P->base;
	return 0;
}
