/* cmd_campaign.c - `lo2 campaign` (many runs over several engines) and the campaign form of
 * `lo2 summary DATASET_DIR`: argument handling and progress only; the work is in campaign/. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "campaign/campaign.h"
#include "cli/cli.h"
#include "common/mem.h"
#include "common/time.h"
#include "run/config.h"

static atomic_bool campaign_cancel;

/* On a terminal: a block with a line per engine slot and the campaign's ETA, redrawn every
 * second below the log lines; otherwise plain "[engine] line" lines. */
struct cprogress {
	bool tty;
	pthread_mutex_t lock;
	struct campaign *cp;
	int drawn; /* lines of the block on screen */
	atomic_bool stop;
};

static void fmt_s(long s, char *out, size_t n)
{
	if (s < 0)
		snprintf(out, n, "?");
	else if (s >= 3600)
		snprintf(out, n, "%ldh%02ldm", s / 3600, s / 60 % 60);
	else
		snprintf(out, n, "%ldm%02lds", s / 60, s % 60);
}

static void erase_block(struct cprogress *p)
{
	if (p->drawn > 0)
		fprintf(stderr, "\033[%dA\r\033[J", p->drawn);
	p->drawn = 0;
}

static void draw_block(struct cprogress *p)
{
	struct campaign_view v;
	char eta[32];

	campaign_view(p->cp, &v);
	fmt_s(v.eta_s, eta, sizeof(eta));
	fprintf(stderr, "\033[Kcampaign: %d/%d runs complete, %d running, %d to do, %d failed; ETA %s\n",
	        v.complete, v.runs, v.running, v.pending, v.failed, eta);
	for (size_t i = 0; i < v.n_workers; i++) {
		const struct campaign_worker_view *w = &v.w[i];
		char left[32];

		fmt_s(w->run_left_s, left, sizeof(left));
		if (w->run && w->test_n && w->test_elapsed_s > w->test_planned_s)
			fprintf(stderr, "\033[K  %-16s run %d/%d  test %zu/%zu %-28.28s collecting%s\n",
			        w->label, w->run, v.runs, w->test_k, w->test_n, w->tag,
			        w->test_k == w->test_n ? ", tearing down" : "");
		else if (w->run && w->test_n)
			fprintf(stderr,
			        "\033[K  %-16s run %d/%d  test %zu/%zu %-28.28s %lds/%ds  run ~%s left\n",
			        w->label, w->run, v.runs, w->test_k, w->test_n, w->tag, w->test_elapsed_s,
			        w->test_planned_s, left);
		else if (w->run)
			fprintf(stderr, "\033[K  %-16s run %d/%d  deploying\n", w->label, w->run, v.runs);
		else
			fprintf(stderr, "\033[K  %-16s %s%s%.100s\n", w->label, w->state,
			        w->note[0] ? ": " : "", w->note);
	}
	p->drawn = (int)v.n_workers + 1;
	campaign_view_free(&v);
}

static void *ticker(void *arg)
{
	struct cprogress *p = arg;

	while (!atomic_load(&p->stop)) {
		pthread_mutex_lock(&p->lock);
		erase_block(p);
		draw_block(p);
		pthread_mutex_unlock(&p->lock);
		lo2_sleep_ns(LO2_NS_PER_SEC);
	}
	return NULL;
}

static void print_log(void *user, const char *who, const char *line)
{
	struct cprogress *p = user;

	pthread_mutex_lock(&p->lock);
	if (p->tty)
		erase_block(p);
	fprintf(stderr, "[%s] %s\n", who, line);
	if (p->tty)
		draw_block(p);
	pthread_mutex_unlock(&p->lock);
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: lo2 campaign [--config lo2.yml] --runs N --engine ENDPOINT... -o DATASET_DIR [OPTIONS]\n"
	    "       lo2 campaign --resume DATASET_DIR\n\n"
	    "N runs of the collection distributed over existing Docker engines, one run at a time per\n"
	    "engine (or --per-engine K at once, with distinct projects). Each run is an ordinary run\n"
	    "folder DATASET_DIR/run_<k>_<engine>/ whose seed is derived from the campaign's (--seed);\n"
	    "DATASET_DIR/campaign.json lists runs, engines, seeds, attempts, status and counts.\n"
	    "An engine that stops answering fails its run (retried) and is tried again with backoff;\n"
	    "--resume continues a killed campaign. `lo2 summary DATASET_DIR` summarises it.\n\n"
	    "  -c, --config FILE   settings file (its campaign: section too; default ./lo2.yml)\n"
	    "  -o, --output DIR    the dataset folder (made; it must not hold a campaign yet)\n"
	    "      --runs N        runs in the campaign [1]\n"
	    "      --engine E      an engine: ENDPOINT[,name=N][,tls=DIR][,ca=F][,cert=F][,key=F], as\n"
	    "                      DOCKER_HOST spells it (unix:///path, tcp://host:port); tls=DIR holds\n"
	    "                      ca.pem, cert.pem, key.pem; repeat for every engine\n"
	    "      --per-engine K  runs at once on each engine [1]\n"
	    "      --max-attempts A  attempts of a run before it counts as failed [3]\n"
	    "      --backoff-max S   longest wait between tries of an unreachable engine [30]\n"
	    "      --seed S        the campaign seed (run k's seed is derived from it)\n"
	    "      --resume DIR    continue the campaign of DIR\n\n"
	    "Every `lo2 run` setting flag applies to every run (lo2 run --help lists them). A URL or\n"
	    "other setting may use {engine_host}: the engine's host name or address (127.0.0.1 for a\n"
	    "socket). An engine of lo2.yml may set run settings of its own:\n"
	    "  campaign:\n"
	    "    runs: 4\n"
	    "    engines:\n"
	    "      - {name: a, host: tcp://10.0.0.5:2376, tls: {ca: a/ca.pem, cert: a/cert.pem, key: "
	    "a/key.pem},\n"
	    "         settings: {traces.listen: \"10.0.0.1:0\"}}\n");
}

/* A campaign flag with a value (argv[*i] and, unless inline, the next one): 1 when taken. */
static int campaign_flag(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (strcmp(argv[*i], name) != 0)
		return 0;
	if (*i + 1 >= argc) {
		*val = NULL;
		return 1;
	}
	*val = argv[++*i];
	return 1;
}

static int int_arg(const char *flag, const char *v, int *out)
{
	char *end;
	long n;

	if (v == NULL)
		return cli_usage_error("campaign", "option '%s' needs a value", flag);
	n = strtol(v, &end, 10);
	if (v[0] == '\0' || *end != '\0' || n < 1 || n > 1000000)
		return cli_usage_error("campaign", "option '%s': \"%s\" is not a whole number >= 1", flag, v);
	*out = (int)n;
	return 0;
}

static char *config_path(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0)
			return xstrdup(argv[i + 1]);
	return access("lo2.yml", R_OK) == 0 ? xstrdup("lo2.yml") : NULL;
}

/* Reads the command line into cc and rc; returns CLI_OK, or the usage error's code. */
static int parse(int argc, char **argv, struct campaign_config *cc, struct run_config *rc, const char **out,
                 const char **resume)
{
	struct lo2_err err = {0};

	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		bool takes = false;

		if (campaign_flag(argc, argv, &i, "--config", &v) ||
		    campaign_flag(argc, argv, &i, "-c", &v)) {
			continue;
		} else if (campaign_flag(argc, argv, &i, "--output", &v) ||
		           campaign_flag(argc, argv, &i, "-o", &v)) {
			if (v == NULL)
				return cli_usage_error("campaign", "-o needs a DATASET_DIR");
			*out = v;
		} else if (campaign_flag(argc, argv, &i, "--resume", &v)) {
			if (v == NULL)
				return cli_usage_error("campaign", "--resume needs a DATASET_DIR");
			*resume = v;
		} else if (campaign_flag(argc, argv, &i, "--engine", &v)) {
			if (v == NULL)
				return cli_usage_error("campaign", "--engine needs an ENDPOINT");
			if (campaign_engine_arg(v, cc, &err) < 0)
				return cli_usage_error("campaign", "%s", err.msg);
		} else if (campaign_flag(argc, argv, &i, "--runs", &v)) {
			if (int_arg("--runs", v, &cc->runs) != 0)
				return CLI_USAGE;
		} else if (campaign_flag(argc, argv, &i, "--per-engine", &v)) {
			if (int_arg("--per-engine", v, &cc->per_engine) != 0)
				return CLI_USAGE;
		} else if (campaign_flag(argc, argv, &i, "--max-attempts", &v)) {
			if (int_arg("--max-attempts", v, &cc->max_attempts) != 0)
				return CLI_USAGE;
		} else if (campaign_flag(argc, argv, &i, "--backoff-max", &v)) {
			if (int_arg("--backoff-max", v, &cc->backoff_max_s) != 0)
				return CLI_USAGE;
		} else if (strcmp(argv[i], "--output-root") == 0 ||
		           strncmp(argv[i], "--output-root=", 14) == 0) {
			return cli_usage_error("campaign",
			                       "runs go into -o DATASET_DIR: --output-root does not apply");
		} else if (run_config_flag(rc, argv[i], i + 1 < argc ? argv[i + 1] : NULL, &takes, &err) <
		           0) {
			return cli_usage_error("campaign", "%s", err.msg);
		} else if (takes) {
			i++;
		}
	}
	return CLI_OK;
}

static int run_campaign(struct campaign *cp)
{
	struct cprogress p = {.tty = isatty(2), .lock = PTHREAD_MUTEX_INITIALIZER, .cp = cp};
	struct campaign_hooks h = {.log = print_log, .user = &p, .cancel = &campaign_cancel};
	struct lo2_err err = {0};
	pthread_t tick;
	char msg[900];
	int rc;

	snprintf(msg, sizeof(msg),
	         "lo2: second signal: exiting now; the runs' stacks are left running.\n"
	         "lo2: resume with: lo2 campaign --resume %s",
	         campaign_dir(cp));
	cli_cancel_message(msg);
	fprintf(stderr, "lo2: campaign seed %" PRIu64 " in %s\n", campaign_seed(cp), campaign_dir(cp));
	if (p.tty && pthread_create(&tick, NULL, ticker, &p) != 0)
		p.tty = false;
	rc = campaign_run(cp, &h, &err);
	if (p.tty) {
		atomic_store(&p.stop, true);
		pthread_join(tick, NULL);
		pthread_mutex_lock(&p.lock);
		erase_block(&p);
		draw_block(&p);
		pthread_mutex_unlock(&p.lock);
	}
	if (rc < 0) {
		cli_fail(&err);
		if (err.kind == LO2_E_CANCELLED)
			fprintf(stderr, "lo2: continue with: lo2 campaign --resume %s\n", campaign_dir(cp));
		return CLI_FAIL;
	}
	printf("%s\n", campaign_dir(cp));
	return CLI_OK;
}

int cmd_campaign(int argc, char **argv)
{
	struct campaign_config cc;
	struct run_config rc;
	struct lo2_err err = {0};
	lo2_autofree char *cfg = NULL;
	struct campaign *cp = NULL;
	const char *out = NULL, *resume = NULL;
	int ret;

	if (cli_wants_help(argc, argv)) {
		usage(stdout);
		return CLI_OK;
	}
	campaign_config_init(&cc);
	run_config_defaults(&rc);
	cfg = config_path(argc, argv);
	if (cfg && (run_config_load(cfg, &rc, &err) < 0 || campaign_config_load(cfg, &cc, &err) < 0)) {
		ret = cli_fail(&err);
		goto out;
	}
	ret = parse(argc, argv, &cc, &rc, &out, &resume);
	if (ret != CLI_OK)
		goto out;
	cli_cancel_signals(&campaign_cancel);
	if (resume) {
		if (out || cc.n_engines)
			fprintf(stderr,
			        "lo2: --resume continues with the campaign's own engines and settings\n");
		if (campaign_open_resume(resume, &cp, &err) < 0) {
			ret = cli_fail(&err);
			goto out;
		}
		ret = run_campaign(cp);
		goto out;
	}
	if (out == NULL) {
		ret = cli_usage_error("campaign", "-o DATASET_DIR is required (or --resume DATASET_DIR)");
		goto out;
	}
	if (rc.output[0]) {
		ret = cli_usage_error("campaign", "runs go into -o DATASET_DIR: --output does not apply");
		goto out;
	}
	if (campaign_config_check(&cc, &err) < 0 || run_config_check(&rc, &err) < 0) {
		ret = cli_usage_error("campaign", "%s", err.msg);
		goto out;
	}
	if (campaign_create(&cc, &rc, out, &cp, &err) < 0) {
		ret = cli_fail(&err);
		goto out;
	}
	ret = run_campaign(cp);
out:
	campaign_free(cp);
	campaign_config_free(&cc);
	run_config_free(&rc);
	return ret;
}

/* ---- lo2 summary DATASET_DIR ---- */

int cli_campaign_summary(const char *dir)
{
	struct campaign_summary s;
	struct lo2_err err = {0};
	int ret;

	if (campaign_summary_read(dir, &s, &err) < 0)
		return cli_fail(&err);
	printf("campaign %s: %s, seed %" PRIu64 ", %d runs, %.0f s\n", dir, s.status ? s.status : "?", s.seed,
	       s.runs, s.wall_s);
	printf("\n%-12s %6s\n", "status", "runs");
	for (size_t i = 0; i < s.status_counts.n; i++)
		printf("%-12s %6s\n", s.status_counts.v[i].key, s.status_counts.v[i].val);
	printf("\n%-16s %-40s %9s %7s %16s\n", "engine", "host", "complete", "failed", "attempts failed");
	for (size_t i = 0; i < s.n_engines; i++)
		printf("%-16s %-40s %9d %7d %16d\n", s.engines[i].name, s.engines[i].host,
		       s.engines[i].complete, s.engines[i].failed, s.engines[i].attempts_failed);
	printf("\ncomplete runs: %" PRIu64 " tests (%" PRIu64 " complete), %" PRIu64 " log lines, %" PRIu64
	       " metric files, %" PRIu64 " trace rows\n",
	       s.tests, s.tests_complete, s.log_lines, s.metric_files, s.trace_rows);
	for (size_t i = 0; i < s.failed_checks.n; i++)
		printf("check failed: %s\n", s.failed_checks.v[i]);
	printf("checksums: %s\n", s.failed_checks.n ? "MISMATCH or unreadable runs (above)"
	                                            : "all files of every complete run match its run.json");
	ret = s.failed_checks.n ? CLI_FAIL : CLI_OK;
	campaign_summary_free(&s);
	return ret;
}
