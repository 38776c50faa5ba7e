/* cmd_stats.c - `lo2 stats`: records a compose project's per-container stats (one streamed
 * stats request per container, as a run does) for a while, into the files a run writes per test
 * (metric_lo2_container_*.json). */
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/time.h"
#include "compose/compose.h"
#include "engine/engine.h"
#include "run/hub.h"
#include "run/stats.h"

struct sopts {
	const char *file, *project, *out, *host;
	int64_t duration_ns; /* 0: until a signal */
};

static int64_t offset_ns;

static int64_t engine_now(void *user)
{
	return lo2_now_ns() + offset_ns;
}

static void say_warning(void *user, const char *msg)
{
	fprintf(stderr, "lo2 stats: warning: %s\n", msg);
}

/* Seconds ("90", "2.5") or a duration with a unit ("5m"). */
static int parse_duration(const char *s, int64_t *ns, struct lo2_err *err)
{
	char *end = NULL;
	double secs = strtod(s, &end);

	if (end != s && *end == '\0' && secs > 0 && secs < 1e9) {
		*ns = (int64_t)(secs * 1e9);
		return 0;
	}
	return lo2_duration_parse(s, ns, err);
}

static int parse(int argc, char **argv, struct sopts *o)
{
	static const struct option long_opts[] = {
	    {"file", required_argument, NULL, 'f'},     {"project-name", required_argument, NULL, 'p'},
	    {"duration", required_argument, NULL, 'd'}, {"output", required_argument, NULL, 'o'},
	    {"host", required_argument, NULL, 'H'},     {NULL, 0, NULL, 0}};
	struct lo2_err err = {0};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:p:d:o:H:", long_opts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return cli_usage_error("stats",
			                       c == ':' ? "option '%s' needs a value" : "unknown option '%s'",
			                       argv[optind - 1]);
		if (c == 'f')
			o->file = optarg;
		else if (c == 'p')
			o->project = optarg;
		else if (c == 'o')
			o->out = optarg;
		else if (c == 'H')
			o->host = optarg;
		else if (parse_duration(optarg, &o->duration_ns, &err) < 0 || o->duration_ns <= 0)
			return cli_usage_error(
			    "stats", "--duration takes seconds or a duration (90, 5m), not '%s'", optarg);
	}
	if (optind < argc)
		return cli_usage_error("stats", "unexpected argument '%s'", argv[optind]);
	if (o->out == NULL)
		return cli_usage_error("stats", "no output folder: pass -o DIR");
	if (o->file == NULL && o->project == NULL)
		return cli_usage_error("stats", "no project: pass -f FILE or -p NAME");
	return 0;
}

/* The project's name: -p, or the compose file's. */
static char *project_name(const struct sopts *o, struct lo2_err *err)
{
	struct compose_load_opts lo = {.file = o->file, .project_name = o->project};
	struct compose_project *p = NULL;
	struct lo2_strv warnings = {0};
	char *name = NULL;

	if (o->file == NULL)
		return xstrdup(o->project);
	if (compose_load(&lo, &p, &warnings, err) == 0)
		name = xstrdup(p->name);
	compose_project_free(p);
	lo2_strv_free(&warnings);
	return name;
}

/* Records until the duration passed or a signal came. */
static int record(struct engine *e, const char *project, const struct sopts *o, atomic_bool *stop,
                  struct run_stats_result *res, struct lo2_err *err)
{
	struct run_hub_opts ho = {.project = project, .since_ns = engine_now(NULL)};
	struct run_stats_opts so = {
	    .e = e, .project = project, .now = engine_now, .warn = say_warning, .hurry = stop};
	struct run_hub *hub = NULL;
	struct run_stats *rs = NULL;
	int64_t end = o->duration_ns ? lo2_mono_ns() + o->duration_ns : INT64_MAX;
	int n, ret = -1;

	if (run_hub_start(e, &ho, &hub, err) < 0)
		return -1;
	so.hub = hub;
	if (run_stats_start(&so, &rs, err) < 0)
		goto out;
	n = run_stats_open(rs, ho.since_ns, o->out);
	fprintf(stderr, "Recording the stats of project %s into %s%s\n", project, o->out,
	        o->duration_ns ? "" : " until Ctrl-C");
	while (!atomic_load(stop) && lo2_mono_ns() < end)
		lo2_sleep_ns(50 * 1000 * 1000);
	run_stats_close(rs, engine_now(NULL));
	ret = run_stats_wait(rs, n, res, err);
out:
	run_stats_stop(rs);
	run_hub_stop(hub);
	run_stats_free(rs);
	return ret;
}

/* Per container: samples, seconds with one, CPU seconds, peak working set. */
static void print_section(const char *json)
{
	struct lo2_json *doc = NULL;
	const struct lo2_json *cs;
	double secs = 0;

	if (json == NULL || lo2_json_parse(json, "stats", &doc, NULL) < 0)
		return;
	lo2_json_double(lo2_json_get(doc, "seconds"), &secs);
	cs = lo2_json_get(doc, "containers");
	printf("%-44s %8s %8s %8s %10s\n", "container", "samples", "seconds", "cpu s", "peak MiB");
	for (size_t i = 0; i < lo2_json_len(cs); i++) {
		const struct lo2_json *c = lo2_json_val_at(cs, i);
		int64_t samples = 0, seconds = 0, peak = 0;
		double cpu = 0;

		lo2_json_int(lo2_json_get(c, "samples"), &samples);
		lo2_json_int(lo2_json_get(c, "seconds_with_sample"), &seconds);
		lo2_json_int(lo2_json_get(c, "peak_working_set_bytes"), &peak);
		lo2_json_double(lo2_json_get(c, "cpu_seconds"), &cpu);
		printf("%-44s %8" PRId64 " %8" PRId64 " %8.2f %10.1f\n", lo2_json_key_at(cs, i), samples,
		       seconds, cpu, (double)peak / 1048576);
	}
	printf("(over %.1f s)\n", secs);
	lo2_json_free(doc);
}

int cmd_stats(int argc, char **argv)
{
	struct sopts o = {0};
	struct engine *e = NULL;
	struct lo2_err err = {0};
	struct run_stats_result res = {0};
	static atomic_bool stop;
	char *project = NULL;
	int rc;

	if (cli_wants_help(argc, argv)) {
		printf("Usage: lo2 stats -f FILE [-p NAME] [--duration S] -o DIR [-H HOST]\n\n"
		       "Records the engine's stats of every container of the project (one streamed stats\n"
		       "request each, about one sample a second; containers that appear or restart are\n"
		       "followed) for S seconds (default: until Ctrl-C), into DIR as the files a run writes "
		       "per\n"
		       "test: metric_lo2_container_*.json, Prometheus query_range results in "
		       "json.dump(indent=4)\n"
		       "form. -p alone (no file) names the project directly.\n");
		return CLI_OK;
	}
	rc = parse(argc, argv, &o);
	if (rc != 0)
		return rc;
	project = project_name(&o, &err);
	if (project == NULL)
		return cli_fail(&err);
	rc = CLI_FAIL;
	if (lo2_mkdir_p(o.out, 0755, &err) < 0 || cli_engine_open(o.host, &e) < 0 ||
	    engine_clock_offset(e, &offset_ns, &err) < 0) {
		if (err.msg[0])
			cli_fail(&err);
		goto out;
	}
	cli_cancel_signals(&stop);
	cli_cancel_message("stopped: the files of this recording are not written");
	if (record(e, project, &o, &stop, &res, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	for (size_t i = 0; i < res.errors.n; i++)
		fprintf(stderr, "lo2 stats: %s\n", res.errors.v[i]);
	print_section(res.section);
	printf("%zu containers, %" PRIu64 " samples, %zu files in %s\n", res.containers, res.samples,
	       res.files.n, o.out);
	rc = CLI_OK;
out:
	run_stats_result_free(&res);
	engine_free(e);
	free(project);
	return rc;
}
