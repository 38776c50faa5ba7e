/* cmd_run.c - `lo2 tags` and `lo2 run`: argument handling and progress output only; the
 * work is in run/. */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "campaign/campaign.h"
#include "cli/cli.h"
#include "common/mem.h"
#include "common/time.h"
#include "engine/engine.h"
#include "run/config.h"
#include "run/driver.h"
#include "run/run.h"
#include "run/summary.h"

static void tags_usage(FILE *f)
{
	fprintf(f, "Usage: lo2 tags [DIR]\n\n"
	           "Lists the test tags found in the locustfiles under DIR (default: locust): 'correct',\n"
	           "plus the last string of every @tag('error', ..., '<name>') decorator, sorted.\n");
}

int cmd_tags(int argc, char **argv)
{
	struct lo2_strv tags = {0};
	struct lo2_err err = {0};
	const char *dir = "locust";

	if (cli_wants_help(argc, argv)) {
		tags_usage(stdout);
		return CLI_OK;
	}
	if (argc > 2)
		return cli_usage_error("tags", "more than one DIR");
	if (argc == 2)
		dir = argv[1];
	if (run_tags_discover(dir, &tags, &err) < 0)
		return cli_fail(&err);
	for (size_t i = 0; i < tags.n; i++)
		printf("%s\n", tags.v[i]);
	lo2_strv_free(&tags);
	return CLI_OK;
}

/* ---- lo2 run ---- */

static atomic_bool run_cancel;

/* The TTY status line: run i/N, test k/M, tag, elapsed/planned for the test and the run,
 * redrawn every second by a ticker thread; log lines are printed above it. */
struct progress_state {
	bool tty;
	pthread_mutex_t lock;
	int run, runs;
	size_t k, n;
	char tag[256];
	int planned_s, run_left_s;
	int64_t test_start, run_start;
	atomic_bool stop;
};

static void draw(struct progress_state *p)
{
	int64_t now = lo2_mono_ns();
	long t = (long)((now - p->test_start) / LO2_NS_PER_SEC),
	     r = (long)((now - p->run_start) / LO2_NS_PER_SEC);
	long left = (long)p->run_left_s - t;

	if (p->n == 0)
		return;
	fprintf(stderr, "\r\033[Krun %d/%d  test %zu/%zu  %s  %lds/%ds  run %ldm%02lds, ~%ldm%02lds left",
	        p->run, p->runs, p->k, p->n, p->tag, t, p->planned_s, r / 60, r % 60,
	        (left > 0 ? left : 0) / 60, (left > 0 ? left : 0) % 60);
}

static void *ticker(void *arg)
{
	struct progress_state *p = arg;

	while (!atomic_load(&p->stop)) {
		pthread_mutex_lock(&p->lock);
		draw(p);
		pthread_mutex_unlock(&p->lock);
		lo2_sleep_ns(LO2_NS_PER_SEC);
	}
	return NULL;
}

static void print_log(void *user, const char *line)
{
	struct progress_state *p = user;

	pthread_mutex_lock(&p->lock);
	fprintf(stderr, "%s%s\n", p->tty ? "\r\033[K" : "", line);
	if (p->tty)
		draw(p);
	pthread_mutex_unlock(&p->lock);
}

/* A second signal leaves the stack running: say so, and how to go on. */
static void on_started(void *user, const char *dir, const char *project)
{
	char msg[900];

	snprintf(msg, sizeof(msg),
	         "lo2: second signal: exiting now; the stack of project %s is left running.\n"
	         "lo2: resume with: lo2 run --resume %s",
	         project, dir);
	cli_cancel_message(msg);
}

static void print_progress(void *user, size_t k, size_t n, const char *tag, int planned_s, int run_left_s)
{
	struct progress_state *p = user;

	pthread_mutex_lock(&p->lock);
	p->k = k;
	p->n = n;
	snprintf(p->tag, sizeof(p->tag), "%s", tag);
	p->planned_s = planned_s;
	p->run_left_s = run_left_s;
	p->test_start = lo2_mono_ns();
	pthread_mutex_unlock(&p->lock);
}

static void run_usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: lo2 run [--config lo2.yml] [OPTIONS] [--dry-run] [--resume DIR]\n\n"
	    "The LO2 collection: deploy the compose stack, wait for MySQL and run its init SQL, then for\n"
	    "each Locust tag in seeded shuffled order run Locust for a drawn duration and collect the\n"
	    "test's container logs, Prometheus metrics and Jaeger traces into LO2_run_<unix>/<tag>/;\n"
	    "pause, next tag; tear down at the end. run.json records everything and is the resume point.\n\n"
	    "  -c, --config FILE  settings file (default: lo2.yml when present)\n"
	    "      --dry-run      print the schedule and exit\n"
	    "      --resume DIR   continue a run that stopped, with its seed and schedule\n\n"
	    "Settings (flag, then its lo2.yml key and default):\n");
	run_config_help(f);
}

static int dry_run(const struct run_config *c)
{
	struct run_schedule s;
	struct lo2_err err = {0};
	uint64_t seed = 0;
	long total = 0;

	if (c->seed[0] == '\0')
		seed = run_seed_random();
	else if (run_config_seed(c, &seed, &err) < 0)
		return cli_fail(&err);
	if (run_plan(c, seed, &s, &err) < 0)
		return cli_fail(&err);
	printf("seed %" PRIu64 "\n%-4s %-48s %8s %6s\n", seed, "#", "tag", "duration", "wait");
	for (size_t i = 0; i < s.n; i++) {
		printf("%-4zu %-48s %7ds %5ds%s%s\n", i + 1, s.tests[i].tag, s.tests[i].duration_s,
		       s.tests[i].wait_s, s.tests[i].load_tag ? "   load: " : "",
		       s.tests[i].load_tag ? s.tests[i].load_tag : "");
		total += s.tests[i].duration_s + (i + 1 < s.n ? s.tests[i].wait_s : 0);
	}
	printf("%zu tests, %ld s of tests and waits\n", s.n, total);
	run_schedule_free(&s);
	return CLI_OK;
}

/* Finds the settings file first, as it is read before the flags that override it: --config/-c,
 * else with --resume the settings the run saved, else ./lo2.yml when present. */
static char *config_path(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0)
			return xstrdup(argv[i + 1]);
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--resume") == 0)
			return xasprintf("%s/run_config.yml", argv[i + 1]);
	return access("lo2.yml", R_OK) == 0 ? xstrdup("lo2.yml") : NULL;
}

int cmd_run(int argc, char **argv)
{
	struct run_config c;
	struct lo2_err err = {0};
	lo2_autofree char *cfg = config_path(argc, argv);
	const char *resume = NULL;
	bool dry = false;
	struct progress_state ps = {.tty = isatty(2), .lock = PTHREAD_MUTEX_INITIALIZER, .runs = 1};
	pthread_t tick;
	struct run_hooks hooks = {.log = print_log,
	                          .progress = print_progress,
	                          .started = on_started,
	                          .user = &ps,
	                          .cancel = &run_cancel};
	struct engine *e = NULL;
	int ret = CLI_OK;

	if (cli_wants_help(argc, argv)) {
		run_usage(stdout);
		return CLI_OK;
	}
	run_config_defaults(&c);
	if (cfg && run_config_load(cfg, &c, &err) < 0) {
		run_config_free(&c);
		return cli_fail(&err);
	}
	for (int i = 1; i < argc; i++) {
		bool takes = false;

		if (strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) {
			i++;
		} else if (strcmp(argv[i], "--dry-run") == 0) {
			dry = true;
		} else if (strcmp(argv[i], "--resume") == 0 && i + 1 < argc) {
			resume = argv[++i];
		} else if (run_config_flag(&c, argv[i], i + 1 < argc ? argv[i + 1] : NULL, &takes, &err) <
		           0) {
			run_config_free(&c);
			return cli_usage_error("run", "%s", err.msg);
		} else if (takes) {
			i++;
		}
	}
	if (cfg == NULL && (access(c.compose_file, R_OK) != 0 || access(c.locust_folder, R_OK) != 0)) {
		run_config_free(&c);
		return cli_usage_error(
		    "run", "no settings file: no -c FILE was given and there is no lo2.yml in this "
		           "folder; give one with -c FILE (its keys are the --options), or name the "
		           "stack with --compose-file and --locust-folder");
	}
	if (run_config_check(&c, &err) < 0) {
		run_config_free(&c);
		return cli_usage_error("run", "%s", err.msg);
	}
	if (dry) {
		ret = dry_run(&c);
		run_config_free(&c);
		return ret;
	}
	if (c.runs > 1 && (resume || c.output[0])) {
		run_config_free(&c);
		return cli_usage_error("run",
		                       "--runs with --resume or --output: each run needs its own folder");
	}
	cli_cancel_signals(&run_cancel);
	if (cli_engine_open(NULL, &e) < 0) {
		run_config_free(&c);
		return CLI_FAIL;
	}
	ps.runs = c.runs;
	if (ps.tty && pthread_create(&tick, NULL, ticker, &ps) != 0)
		ps.tty = false; /* no status line, plain lines only */
	for (int r = 0; r < c.runs && ret == CLI_OK && !atomic_load(&run_cancel); r++) {
		char *dir = NULL;

		pthread_mutex_lock(&ps.lock);
		ps.run = r + 1;
		ps.n = 0;
		ps.run_start = lo2_mono_ns();
		pthread_mutex_unlock(&ps.lock);
		if (c.runs > 1)
			fprintf(stderr, "lo2: run %d/%d\n", r + 1, c.runs);
		if (run_execute(e, &c, resume, &hooks, &dir, &err) < 0) {
			ret = cli_fail(&err);
			if (dir && access(dir, F_OK) == 0)
				fprintf(stderr, "lo2: the run is in %s; resume with: lo2 run --resume %s\n",
				        dir, dir);
		} else {
			printf("%s\n", dir);
		}
		free(dir);
	}
	if (ps.tty) {
		atomic_store(&ps.stop, true);
		pthread_join(tick, NULL);
		fprintf(stderr, "\r\033[K");
	}
	engine_free(e);
	run_config_free(&c);
	return ret;
}

/* ---- lo2 summary ---- */

int cmd_summary(int argc, char **argv)
{
	struct run_summary s;
	struct lo2_err err = {0};

	if (cli_wants_help(argc, argv) || argc != 2) {
		fprintf(argc == 2 ? stdout : stderr,
		        "Usage: lo2 summary RUN_DIR|DATASET_DIR\n\nA campaign's DATASET_DIR: runs per status "
		        "and per engine, totals over its complete runs\nand every run whose files no longer "
		        "match.\nA RUN_DIR: per test: status, seconds, Locust requests/failures, log files "
		        "and lines, metric files, trace rows; per test the CPU seconds and peak memory "
		        "(working set) of each container; then lines per container over the whole run; and "
		        "whether every file still matches its checksum in run.json.\n");
		return argc == 2 ? CLI_OK : CLI_USAGE;
	}
	if (campaign_is_dataset(argv[1]))
		return cli_campaign_summary(argv[1]);
	if (run_summary_read(argv[1], &s, &err) < 0)
		return cli_fail(&err);
	printf("%-44s %-10s %7s %9s %8s %5s %10s %8s %7s\n", "test", "status", "seconds", "requests",
	       "failures", "logs", "log lines", "metrics", "traces");
	for (size_t i = 0; i < s.n; i++) {
		const struct run_summary_test *t = &s.tests[i];

		printf("%-44s %-10s %7.1f %9" PRIu64 " %8" PRIu64 " %5d %10" PRIu64 " %8" PRIu64 " %7" PRIu64
		       "\n",
		       t->tag, t->status, t->seconds, t->requests, t->failures, t->log_files, t->log_lines,
		       t->metric_files, t->trace_rows);
	}
	for (size_t i = 0; i < s.n; i++) {
		const struct run_summary_test *t = &s.tests[i];

		if (t->n_stats == 0)
			continue;
		printf("\n%s: engine stats over %.1f s\n%-44s %8s %8s %8s %10s\n", t->tag, t->window_s,
		       "container", "cpu s", "peak MiB", "samples", "seconds");
		for (size_t k = 0; k < t->n_stats; k++)
			printf("%-44s %8.2f %8.1f %8" PRIu64 " %8" PRIu64 "\n", t->stats[k].container,
			       t->stats[k].cpu_s, (double)t->stats[k].peak_bytes / 1048576,
			       t->stats[k].samples, t->stats[k].seconds);
	}
	printf("\n%-44s %10s\n", "container", "lines");
	for (size_t i = 0; i < s.container_lines.n; i++)
		printf("%-44s %10s\n", s.container_lines.v[i].key, s.container_lines.v[i].val);
	printf("(%" PRIu64 " of them outside every test, in _between/; %" PRIu64
	       " in tests cut short, in <tag>.incomplete-<n>/)\n",
	       s.between_lines, s.incomplete_lines);
	printf("checksums: %s\n", s.bad_checksums ? "MISMATCH" : "all files match run.json");
	run_summary_free(&s);
	return s.bad_checksums ? CLI_FAIL : CLI_OK;
}
