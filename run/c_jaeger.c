/* c_jaeger.c - Jaeger as a collector: per test the spans of every service (or the configured
 * ones) over the window, queried after it closes, into <tag>/metrics/traces_<service>.csv. */
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "fetch/fetch.h"
#include "run/collector.h"
#include "run/collectors.h"
#include "run/config.h"

static int jaeger_test_finish(struct run_collector *c, struct run_window *w, struct lo2_err *err)
{
	const struct run_config *cfg = run_session_config(c->s);
	lo2_autofree char *mdir = xasprintf("%s/metrics", w->dir);
	struct lo2_strv services = {0};
	struct fetch_report rep = {0};
	struct fetch_jaeger_opts jo = {.url = cfg->jaeger_url,
	                               .start_ns = run_session_to_local(c->s, w->start_ns),
	                               .end_ns = run_session_to_local(c->s, w->end_ns),
	                               .dir = mdir,
	                               .limit = cfg->jaeger_limit,
	                               .cancel = run_session_cancel(c->s)};
	struct lo2_err e = {0};
	int rc = 0;

	if (w->interrupted)
		return 0;
	if (lo2_mkdir_p(mdir, 0755, err) < 0)
		return -1;
	if (strcmp(cfg->jaeger_services, "all") == 0) {
		rc = fetch_jaeger_services(cfg->jaeger_url, 30000, &services, &e);
	} else {
		lo2_autofree char *copy = xstrdup(cfg->jaeger_services);

		for (char *save = NULL, *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save))
			lo2_strv_push(&services, s);
	}
	if (rc == 0)
		rc = fetch_jaeger_traces(&jo, &services, &rep, &e);
	if (rc < 0 && e.kind != LO2_E_CANCELLED) /* a cut short fetch is the finisher's to report */
		run_window_error(w, "jaeger", &e);
	run_window_errors(w, "jaeger", &rep.failures);
	fetch_report_free(&rep);
	lo2_strv_free(&services);
	if (rc < 0 && e.kind == LO2_E_CANCELLED) {
		*err = e; /* the window's traces are not whole */
		return -1;
	}
	return 0;
}

static void jaeger_destroy(struct run_collector *c)
{
	free(c);
}

static const struct run_collector_ops jaeger_ops = {
    .name = "jaeger",
    .test_finish = jaeger_test_finish,
    .destroy = jaeger_destroy,
};

int run_collector_jaeger(struct run_session *s, struct run_collector **out, struct lo2_err *err)
{
	struct run_collector *c;

	*out = NULL;
	if (run_session_config(s)->jaeger_url[0] == '\0')
		return 0;
	c = xcalloc(1, sizeof(*c));
	c->ops = &jaeger_ops;
	c->s = s;
	*out = c;
	return 0;
}
