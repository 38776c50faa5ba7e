/* cmd_fetch.c - `lo2 metrics list`, `lo2 fetch` (Prometheus series and Jaeger spans of a
 * window) and the project mode of `lo2 logs` (-f COMPOSE_FILE): argument parsing and
 * reporting only; the work is in fetch/. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/file.h"
#include "common/mem.h"
#include "common/time.h"
#include "compose/compose.h"
#include "engine/engine.h"
#include "fetch/fetch.h"

static const char metrics_usage[] =
    "Usage: lo2 metrics list --prometheus URL [-o FILE]\n\n"
    "Lists the metric names Prometheus knows (/api/v1/label/__name__/values), one per line,\n"
    "on stdout or into FILE (written atomically, as the original's prometheus_metrics.txt).\n\n"
    "Options:\n"
    "  --prometheus URL   Prometheus's base URL, e.g. http://localhost:9090\n"
    "  -o, --output FILE  write the list to FILE instead of stdout\n"
    "  --timeout SECONDS  request timeout (default 120)\n";

static const char fetch_usage[] =
    "Usage: lo2 fetch --start T --end T -o DIR [--prometheus URL [--metrics FILE|all] [--step 1s]]\n"
    "                 [--jaeger URL [--services a,b|all] [--limit N]] [--concurrency N]\n\n"
    "Fetches a window's Prometheus series into DIR/metric_<name>.json (json.dump indent=4, as the\n"
    "original) and Jaeger spans into DIR/traces_<service>.csv, then writes DIR/last_fetch_time.txt.\n"
    "T is unix seconds (fraction allowed) or RFC 3339. Failures are reported per metric or service;\n"
    "the others are still fetched. Exit 0 when all succeeded, 1 otherwise.\n\n"
    "Options:\n"
    "  --start T, --end T     the window (both inclusive, as query_range)\n"
    "  -o, --output DIR       output folder (created)\n"
    "  --prometheus URL       Prometheus's base URL\n"
    "  --metrics FILE|all     names to fetch, one per line (default: all that Prometheus lists)\n"
    "  --step DURATION        resolution: 1s (default), 500ms, 2m, or seconds\n"
    "  --jaeger URL           Jaeger query's base URL (port 16686)\n"
    "  --services a,b|all     services to fetch (default: all of /api/services)\n"
    "  --limit N              traces per request (default 1000; the original used 20)\n"
    "  --concurrency N        requests in flight (default 8)\n"
    "  --timeout SECONDS      per request (default 120)\n"
    "  --retries N            attempts per request (default 3)\n"
    "  --max-points N         points per query before the window is split (default 11000)\n";

enum {
	O_START = 256,
	O_END,
	O_PROM,
	O_METRICS,
	O_STEP,
	O_JAEGER,
	O_SERVICES,
	O_LIMIT,
	O_CONC,
	O_TIMEOUT,
	O_RETRIES,
	O_MAXP,
	O_ALL,
	O_NOCOMP,
	O_HOST
};

/* "http://h:9090/" -> "http://h:9090" (caller frees). */
static char *base_url(const char *u)
{
	char *s = xstrdup(u);
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

static int parse_int(const char *cmd, const char *opt, const char *s, long min, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min)
		return cli_usage_error(cmd, "%s wants a number >= %ld, not '%s'", opt, min, s);
	*out = v;
	return 0;
}

/* "1s", "500ms", "2m", "1h", "0.5" (seconds) -> ns; -1 when malformed. */
static int64_t parse_duration(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v <= 0)
		return -1;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		return (int64_t)(v * 1e9 + 0.5);
	if (strcmp(end, "ms") == 0)
		return (int64_t)(v * 1e6 + 0.5);
	if (strcmp(end, "m") == 0)
		return (int64_t)(v * 60e9 + 0.5);
	if (strcmp(end, "h") == 0)
		return (int64_t)(v * 3600e9 + 0.5);
	return -1;
}

static void split_list(const char *s, struct lo2_strv *out)
{
	lo2_autofree char *copy = xstrdup(s);
	char *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (*t)
			lo2_strv_push(out, t);
}

/* Prints a report's failures and warnings; true when nothing failed. */
static bool print_report(const char *what, const struct fetch_report *r)
{
	for (size_t i = 0; i < r->warnings.n; i++)
		fprintf(stderr, "lo2: warning: %s\n", r->warnings.v[i]);
	for (size_t i = 0; i < r->failures.n; i++)
		fprintf(stderr, "lo2: %s\n", r->failures.v[i]);
	fprintf(stderr, "%s: %zu written, %zu empty, %zu failed\n", what, r->ok, r->empty, r->failed);
	return r->failed == 0;
}

int cmd_metrics(int argc, char **argv)
{
	static const struct option opts[] = {{"prometheus", required_argument, NULL, O_PROM},
	                                     {"output", required_argument, NULL, 'o'},
	                                     {"timeout", required_argument, NULL, O_TIMEOUT},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	lo2_autofree char *url = NULL;
	const char *out = NULL;
	struct lo2_strv names = {0};
	struct lo2_buf text = LO2_BUF_INIT;
	struct lo2_err err = {0};
	long timeout = 120;
	int c, ret = CLI_FAIL;

	if (cli_wants_help(argc, argv)) {
		fputs(metrics_usage, stdout);
		return CLI_OK;
	}
	if (argc < 2 || strcmp(argv[1], "list") != 0)
		return cli_usage_error("metrics", "expected 'list'");
	optind = 2;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		if (c == O_PROM)
			url = base_url(optarg);
		else if (c == 'o')
			out = optarg;
		else if (c == O_TIMEOUT && parse_int("metrics list", "--timeout", optarg, 1, &timeout) < 0)
			return CLI_USAGE;
		else if (c != O_TIMEOUT)
			return cli_usage_error("metrics list", "unknown option");
	}
	if (url == NULL)
		return cli_usage_error("metrics list", "--prometheus URL is required");
	if (fetch_prom_list(url, timeout * 1000, &names, &err) < 0)
		return cli_fail(&err);
	for (size_t i = 0; i < names.n; i++)
		lo2_buf_printf(&text, "%s%s", i ? "\n" : "", names.v[i]);
	if (out == NULL) {
		if (text.len)
			printf("%s\n", text.data);
		ret = CLI_OK;
	} else if (lo2_write_file_atomic(out, text.data ? text.data : "", text.len, &err) < 0) {
		ret = cli_fail(&err);
	} else {
		ret = CLI_OK;
	}
	lo2_strv_free(&names);
	lo2_buf_free(&text);
	return ret;
}

struct fetch_args {
	int64_t start, end, step;
	const char *dir, *metrics, *services;
	char *prom, *jaeger;
	long limit, conc, timeout, retries, maxp;
};

static int parse_fetch_args(int argc, char **argv, struct fetch_args *a)
{
	static const struct option opts[] = {{"start", required_argument, NULL, O_START},
	                                     {"end", required_argument, NULL, O_END},
	                                     {"output", required_argument, NULL, 'o'},
	                                     {"prometheus", required_argument, NULL, O_PROM},
	                                     {"metrics", required_argument, NULL, O_METRICS},
	                                     {"step", required_argument, NULL, O_STEP},
	                                     {"jaeger", required_argument, NULL, O_JAEGER},
	                                     {"services", required_argument, NULL, O_SERVICES},
	                                     {"limit", required_argument, NULL, O_LIMIT},
	                                     {"concurrency", required_argument, NULL, O_CONC},
	                                     {"timeout", required_argument, NULL, O_TIMEOUT},
	                                     {"retries", required_argument, NULL, O_RETRIES},
	                                     {"max-points", required_argument, NULL, O_MAXP},
	                                     {NULL, 0, NULL, 0}};
	struct lo2_err err = {0};
	const char *start = NULL, *end = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		int r = 0;

		switch (c) {
		case O_START:
			start = optarg;
			break;
		case O_END:
			end = optarg;
			break;
		case 'o':
			a->dir = optarg;
			break;
		case O_PROM:
			a->prom = base_url(optarg);
			break;
		case O_METRICS:
			a->metrics = optarg;
			break;
		case O_JAEGER:
			a->jaeger = base_url(optarg);
			break;
		case O_SERVICES:
			a->services = optarg;
			break;
		case O_STEP:
			a->step = parse_duration(optarg);
			if (a->step < 0)
				return cli_usage_error(
				    "fetch", "--step wants a duration such as 1s, not '%s'", optarg);
			break;
		case O_LIMIT:
			r = parse_int("fetch", "--limit", optarg, 1, &a->limit);
			break;
		case O_CONC:
			r = parse_int("fetch", "--concurrency", optarg, 1, &a->conc);
			break;
		case O_TIMEOUT:
			r = parse_int("fetch", "--timeout", optarg, 1, &a->timeout);
			break;
		case O_RETRIES:
			r = parse_int("fetch", "--retries", optarg, 1, &a->retries);
			break;
		case O_MAXP:
			r = parse_int("fetch", "--max-points", optarg, 1, &a->maxp);
			break;
		default:
			return cli_usage_error("fetch", "unknown option");
		}
		if (r < 0)
			return CLI_USAGE;
	}
	if (optind < argc)
		return cli_usage_error("fetch", "unexpected argument '%s'", argv[optind]);
	if (start == NULL || end == NULL || a->dir == NULL)
		return cli_usage_error("fetch", "--start, --end and -o DIR are required");
	if (a->prom == NULL && a->jaeger == NULL)
		return cli_usage_error("fetch", "give --prometheus URL, --jaeger URL or both");
	if (lo2_time_parse(start, &a->start, &err) < 0 || lo2_time_parse(end, &a->end, &err) < 0)
		return cli_usage_error("fetch", "%s", err.msg);
	if (a->end < a->start)
		return cli_usage_error("fetch", "--end is before --start");
	return 0;
}

static bool fetch_metrics(const struct fetch_args *a)
{
	struct fetch_prom_opts o = {.url = a->prom,
	                            .start_ns = a->start,
	                            .end_ns = a->end,
	                            .step_ns = a->step,
	                            .dir = a->dir,
	                            .concurrency = (int)a->conc,
	                            .timeout_ms = a->timeout * 1000,
	                            .max_attempts = (int)a->retries,
	                            .max_points = a->maxp};
	struct lo2_strv names = {0};
	struct fetch_report rep = {0};
	struct lo2_err err = {0};
	bool ok = false;

	if (a->metrics == NULL || strcmp(a->metrics, "all") == 0) {
		if (fetch_prom_list(a->prom, o.timeout_ms, &names, &err) < 0)
			goto fail;
	} else if (fetch_read_metric_names(a->metrics, &names, &err) < 0) {
		goto fail;
	}
	if (fetch_prom_metrics(&o, &names, &rep, &err) < 0)
		goto fail;
	ok = print_report("metrics", &rep);
	goto out;
fail:
	cli_fail(&err);
out:
	lo2_strv_free(&names);
	fetch_report_free(&rep);
	return ok;
}

static bool fetch_traces(const struct fetch_args *a)
{
	struct fetch_jaeger_opts o = {.url = a->jaeger,
	                              .start_ns = a->start,
	                              .end_ns = a->end,
	                              .dir = a->dir,
	                              .limit = (int)a->limit,
	                              .concurrency = (int)a->conc,
	                              .timeout_ms = a->timeout * 1000};
	struct lo2_strv services = {0};
	struct fetch_report rep = {0};
	struct lo2_err err = {0};
	bool ok = false;

	if (a->services == NULL || strcmp(a->services, "all") == 0) {
		if (fetch_jaeger_services(a->jaeger, o.timeout_ms, &services, &err) < 0)
			goto fail;
	} else {
		split_list(a->services, &services);
	}
	if (fetch_jaeger_traces(&o, &services, &rep, &err) < 0)
		goto fail;
	ok = print_report("traces", &rep);
	goto out;
fail:
	cli_fail(&err);
out:
	lo2_strv_free(&services);
	fetch_report_free(&rep);
	return ok;
}

int cmd_fetch(int argc, char **argv)
{
	struct fetch_args a = {.step = LO2_NS_PER_SEC, .timeout = 120, .retries = 3};
	struct lo2_err err = {0};
	bool ok = true;
	int r;

	if (cli_wants_help(argc, argv)) {
		fputs(fetch_usage, stdout);
		return CLI_OK;
	}
	r = parse_fetch_args(argc, argv, &a);
	if (r != 0 || lo2_mkdir_p(a.dir, 0755, &err) < 0) {
		free(a.prom);
		free(a.jaeger);
		return r != 0 ? r : cli_fail(&err);
	}
	if (a.prom)
		ok = fetch_metrics(&a) && ok;
	if (a.jaeger)
		ok = fetch_traces(&a) && ok;
	if (fetch_write_last_fetch_time(a.dir, a.end, &err) < 0)
		ok = cli_fail(&err) == CLI_OK;
	free(a.prom);
	free(a.jaeger);
	return ok ? CLI_OK : CLI_FAIL;
}

static const char logs_project_usage[] =
    "Usage: lo2 logs -f COMPOSE_FILE [-p NAME] --start T --end T -o DIR [--all-containers] "
    "[--no-compress]\n\n"
    "Exports the logs of every container of the project (label com.docker.compose.project) for the\n"
    "half-open window [start, end) into DIR/<container>.log.gz (stdout and stderr as `docker logs`\n"
    "merges them). Adjacent windows neither lose nor repeat a line. T is unix seconds (fraction\n"
    "allowed) or RFC 3339, in the engine's clock.\n\n"
    "Options:\n"
    "  -f, --file FILE      the compose file (names the project)\n"
    "  -p, --project-name   the project name (default: as docker compose derives it)\n"
    "  --start T, --end T   the window [start, end)\n"
    "  -o, --output DIR     output folder (created)\n"
    "  --all-containers     every running container of the engine, as the original did\n"
    "  --no-compress        DIR/<container>.log, plain text\n"
    "  --concurrency N      containers exported at once (default 8)\n"
    "  -H, --host HOST      the engine (default: DOCKER_HOST or the local socket)\n";

struct logs_args {
	const char *file, *project, *dir, *host;
	int64_t start, end;
	bool all, plain;
	long conc;
};

static int parse_logs_args(int argc, char **argv, struct logs_args *a)
{
	static const struct option opts[] = {
	    {"file", required_argument, NULL, 'f'},       {"project-name", required_argument, NULL, 'p'},
	    {"start", required_argument, NULL, O_START},  {"end", required_argument, NULL, O_END},
	    {"output", required_argument, NULL, 'o'},     {"all-containers", no_argument, NULL, O_ALL},
	    {"no-compress", no_argument, NULL, O_NOCOMP}, {"concurrency", required_argument, NULL, O_CONC},
	    {"host", required_argument, NULL, 'H'},       {NULL, 0, NULL, 0}};
	struct lo2_err err = {0};
	const char *start = NULL, *end = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:p:o:H:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			a->file = optarg;
			break;
		case 'p':
			a->project = optarg;
			break;
		case O_START:
			start = optarg;
			break;
		case O_END:
			end = optarg;
			break;
		case 'o':
			a->dir = optarg;
			break;
		case O_ALL:
			a->all = true;
			break;
		case O_NOCOMP:
			a->plain = true;
			break;
		case 'H':
			a->host = optarg;
			break;
		case O_CONC:
			if (parse_int("logs", "--concurrency", optarg, 1, &a->conc) < 0)
				return CLI_USAGE;
			break;
		default:
			return cli_usage_error("logs", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error("logs", "unexpected argument '%s'", argv[optind]);
	if (a->file == NULL || start == NULL || end == NULL || a->dir == NULL)
		return cli_usage_error("logs", "-f FILE, --start, --end and -o DIR are required");
	if (lo2_time_parse(start, &a->start, &err) < 0 || lo2_time_parse(end, &a->end, &err) < 0)
		return cli_usage_error("logs", "%s", err.msg);
	if (a->end <= a->start)
		return cli_usage_error("logs", "--end must be after --start");
	return 0;
}

/* The project's container names (or every running container's with all). */
static int project_containers(struct engine *e, const char *project, bool all, struct lo2_strv *names,
                              struct lo2_err *err)
{
	struct lo2_strv filters = {0};
	struct engine_container_list l = {0};
	int ret;

	if (!all)
		lo2_strv_take(&filters, xasprintf("label=com.docker.compose.project=%s", project));
	ret = engine_container_list(e, &filters, !all, &l, err);
	for (size_t i = 0; ret == 0 && i < l.n; i++)
		lo2_strv_push(names, l.v[i].name);
	engine_container_list_free(&l);
	lo2_strv_free(&filters);
	return ret;
}

/* -p, else the project name compose derives from the file. */
static int project_name(const struct logs_args *a, char **out, struct lo2_err *err)
{
	struct compose_load_opts lo = {.file = a->file, .project_name = a->project};
	struct compose_project *p = NULL;

	if (a->project) {
		*out = xstrdup(a->project);
		return 0;
	}
	if (compose_load(&lo, &p, NULL, err) < 0)
		return -1;
	*out = xstrdup(p->name);
	compose_project_free(p);
	return 0;
}

int cli_logs_project(int argc, char **argv)
{
	struct logs_args a = {0};
	struct engine *e = NULL;
	struct lo2_strv names = {0};
	struct fetch_report rep = {0};
	struct lo2_err err = {0};
	lo2_autofree char *project = NULL;
	int r, ret = CLI_FAIL;

	if (cli_wants_help(argc, argv)) {
		fputs(logs_project_usage, stdout);
		return CLI_OK;
	}
	r = parse_logs_args(argc, argv, &a);
	if (r != 0)
		return r;
	if (project_name(&a, &project, &err) < 0 || lo2_mkdir_p(a.dir, 0755, &err) < 0)
		return cli_fail(&err);
	if (cli_engine_open(a.host, &e) < 0)
		return CLI_FAIL;
	if (project_containers(e, project, a.all, &names, &err) < 0) {
		ret = cli_fail(&err);
		goto out;
	}
	struct fetch_logs_opts o = {.engine = e,
	                            .start_ns = a.start,
	                            .end_ns = a.end,
	                            .dir = a.dir,
	                            .compress = !a.plain,
	                            .concurrency = (int)a.conc};

	if (fetch_logs(&o, &names, &rep, &err) < 0) {
		ret = cli_fail(&err);
		goto out;
	}
	if (names.n == 0)
		fprintf(stderr, "lo2: warning: project %s has no containers\n", project);
	ret = print_report("logs", &rep) ? CLI_OK : CLI_FAIL;
out:
	lo2_strv_free(&names);
	fetch_report_free(&rep);
	engine_free(e);
	return ret;
}
