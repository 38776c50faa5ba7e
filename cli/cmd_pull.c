/* cmd_pull.c - `lo2 pull -f COMPOSE [-p NAME] [SERVICE...]`: the services' images pulled in
 * parallel (at most PULL_PARALLEL at once), with a live line per image on a terminal and plain
 * lines otherwise; cli_pull_images also serves `lo2 image pull`. Registry credentials are the
 * engine's business (engine/auth.h): nothing here sees them. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/mem.h"
#include "common/str.h"
#include "compose/compose.h"
#include "engine/engine.h"

#define PULL_PARALLEL 4
#define REDRAW_NS 100000000LL /* a terminal is redrawn at most every 100 ms */

enum job_phase { JOB_WAITING, JOB_PULLING, JOB_DONE, JOB_FAILED };

struct pull_job {
	const struct cli_pull_item *item;
	struct pull_ui *ui;
	struct engine_pull_state st; /* the last state; its strings are not kept (digest is copied) */
	char digest[96];
	struct lo2_strv warnings;
	struct lo2_err err;
	int64_t start_ns, end_ns;
	enum job_phase phase;
};

struct pull_ui {
	pthread_mutex_t lock;
	struct engine *e;
	struct pull_job *jobs;
	size_t n, next;
	bool tty, quiet, drawn;
	int64_t last_draw_ns;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* "12.3 MB" (decimal units, as docker prints them). */
static void fmt_bytes(int64_t b, char *out, size_t n)
{
	static const char *const unit[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)b;
	int u = 0;

	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(out, n, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* What a job's line says after the image name. */
static void job_text(const struct pull_job *j, char *out, size_t n)
{
	char done[32], total[32];
	double secs = (double)(j->end_ns - j->start_ns) / 1e9;

	fmt_bytes(j->st.bytes_done, done, sizeof(done));
	fmt_bytes(j->st.bytes_total, total, sizeof(total));
	if (j->phase == JOB_WAITING)
		snprintf(out, n, "waiting");
	else if (j->phase == JOB_PULLING && j->st.layers_total == 0)
		snprintf(out, n, "pulling");
	else if (j->phase == JOB_PULLING)
		snprintf(out, n, "pulling: layers %d/%d, %s / %s", j->st.layers_done, j->st.layers_total,
		         done, total);
	else if (j->phase == JOB_DONE && j->st.layers_total == 0)
		snprintf(out, n, "pulled in %.1f s: nothing to download%s%s", secs, j->digest[0] ? ", " : "",
		         j->digest);
	else if (j->phase == JOB_DONE)
		snprintf(out, n, "pulled in %.1f s: %d layers (%d already present), %s downloaded%s%s", secs,
		         j->st.layers_total, j->st.layers_existing, done, j->digest[0] ? ", " : "",
		         j->digest);
	else
		snprintf(out, n, "failed after %.1f s", secs);
}

/* "nginx:1.27" or "nginx:1.27 (service web, db)". */
static void job_name(const struct pull_job *j, char *out, size_t n)
{
	if (j->item->label)
		snprintf(out, n, "%s (%s)", j->item->ref, j->item->label);
	else
		snprintf(out, n, "%s", j->item->ref);
}

static int term_width(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col;
	return 80;
}

/* Redraws every job's line in place (lines cut to the terminal's width, so none wraps). Called
 * with the lock held; force ignores the rate limit. */
static void draw(struct pull_ui *ui, bool force)
{
	int64_t t = now_ns();
	int width = term_width();

	if (!force && t - ui->last_draw_ns < REDRAW_NS)
		return;
	ui->last_draw_ns = t;
	if (ui->drawn)
		printf("\033[%zuA", ui->n);
	for (size_t i = 0; i < ui->n; i++) {
		char name[512], text[512], line[1100];

		job_name(&ui->jobs[i], name, sizeof(name));
		job_text(&ui->jobs[i], text, sizeof(text));
		snprintf(line, sizeof(line), "%s: %s", name, text);
		if ((int)strlen(line) >= width)
			line[width - 1] = '\0';
		printf("\r\033[2K%s\n", line);
	}
	fflush(stdout);
	ui->drawn = true;
}

static void print_warnings(const struct pull_job *j)
{
	for (size_t i = 0; i < j->warnings.n; i++)
		fprintf(stderr, "lo2: %s: %s\n", j->item->ref, j->warnings.v[i]);
}

static void print_error(const struct pull_job *j)
{
	if (j->item->label)
		fprintf(stderr, "lo2: %s: %s\n", j->item->label, j->err.msg);
	else
		fprintf(stderr, "lo2: %s\n", j->err.msg);
}

/* A job changed phase: a plain line (and its error or warnings right away), or a redraw. */
static void report(struct pull_ui *ui, struct pull_job *j)
{
	char name[512], text[512];

	if (ui->tty) {
		draw(ui, true);
		return;
	}
	if (!ui->quiet) {
		job_name(j, name, sizeof(name));
		job_text(j, text, sizeof(text));
		if (j->phase == JOB_PULLING)
			printf("Pulling %s\n", name);
		else
			printf("%s: %s\n", name, text);
		fflush(stdout);
	}
	if (j->phase == JOB_FAILED)
		print_error(j);
}

static void on_line(void *user, const char *line)
{
	struct pull_job *j = user;

	if (!lo2_str_has_prefix(line, "warning: "))
		return; /* the state carries the progress */
	pthread_mutex_lock(&j->ui->lock);
	lo2_strv_push(&j->warnings, line);
	if (!j->ui->tty) {
		fprintf(stderr, "lo2: %s: %s\n", j->item->ref, line);
		fflush(stderr);
	}
	pthread_mutex_unlock(&j->ui->lock);
}

static void on_state(void *user, const struct engine_pull_state *st)
{
	struct pull_job *j = user;

	pthread_mutex_lock(&j->ui->lock);
	j->st = *st;
	if (st->digest)
		snprintf(j->digest, sizeof(j->digest), "%s", st->digest);
	j->st.status = j->st.digest = NULL;
	j->st.ref = NULL;
	if (j->ui->tty && !j->ui->quiet)
		draw(j->ui, false);
	pthread_mutex_unlock(&j->ui->lock);
}

static void *worker(void *arg)
{
	struct pull_ui *ui = arg;

	for (;;) {
		struct pull_job *j;
		struct engine_pull_opts o = {.line = on_line, .state = on_state};
		int rc;

		pthread_mutex_lock(&ui->lock);
		if (ui->next >= ui->n) {
			pthread_mutex_unlock(&ui->lock);
			return NULL;
		}
		j = &ui->jobs[ui->next++];
		j->phase = JOB_PULLING;
		j->start_ns = now_ns();
		report(ui, j);
		pthread_mutex_unlock(&ui->lock);
		o.platform = j->item->platform;
		o.user = j;
		rc = engine_image_pull_with(ui->e, j->item->ref, &o, &j->err);
		pthread_mutex_lock(&ui->lock);
		j->end_ns = now_ns();
		j->phase = rc == 0 ? JOB_DONE : JOB_FAILED;
		report(ui, j);
		pthread_mutex_unlock(&ui->lock);
	}
}

int cli_pull_images(struct engine *e, const struct cli_pull_item *items, size_t n, bool quiet)
{
	struct pull_ui ui = {.e = e, .n = n, .quiet = quiet};
	pthread_t th[PULL_PARALLEL];
	size_t nth = n < PULL_PARALLEL ? n : PULL_PARALLEL;
	const char *term = getenv("TERM");
	int rc = CLI_OK;

	ui.tty = !quiet && isatty(STDOUT_FILENO) && !(term && strcmp(term, "dumb") == 0);
	ui.jobs = xcalloc(n ? n : 1, sizeof(*ui.jobs));
	pthread_mutex_init(&ui.lock, NULL);
	for (size_t i = 0; i < n; i++)
		ui.jobs[i] = (struct pull_job){.item = &items[i], .ui = &ui};
	/* an engine that goes away mid-pull must fail the pull, not kill lo2 */
	signal(SIGPIPE, SIG_IGN);
	if (ui.tty)
		draw(&ui, true);
	for (size_t i = 0; i < nth; i++)
		if (pthread_create(&th[i], NULL, worker, &ui) != 0)
			abort();
	for (size_t i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	for (size_t i = 0; i < n; i++) {
		struct pull_job *j = &ui.jobs[i];

		if (ui.tty) { /* kept until the display is done */
			print_warnings(j);
			if (j->phase == JOB_FAILED)
				print_error(j);
		}
		if (j->phase != JOB_DONE)
			rc = CLI_FAIL;
		lo2_strv_free(&j->warnings);
	}
	pthread_mutex_destroy(&ui.lock);
	free(ui.jobs);
	return rc;
}

/* ---- lo2 pull ---- */

static const char pull_help[] =
    "Usage: lo2 pull -f FILE [-p NAME] [-q] [-H HOST] [SERVICE...]\n\n"
    "Pulls the images of the compose file's services (all, or those named), at most 4 at once,\n"
    "with the registry credentials the docker CLI would use (DOCKER_CONFIG or ~/.docker/config.json:\n"
    "auths, credsStore, credHelpers). Services with build: are skipped. On a terminal each image\n"
    "has a live line (layers done/total, bytes); otherwise a line when each starts and ends.\n"
    "  -f, --file FILE          the compose file (required)\n"
    "  -p, --project-name NAME  the project name (for interpolation, as for up)\n"
    "  -q, --quiet              no progress output, only errors\n"
    "  -H, --host HOST          engine address (default $DOCKER_HOST or the local socket)\n"
    "Exit 1 when any image failed (each error is printed).\n";

struct pull_args {
	const char *file, *project, *host;
	bool quiet;
	struct lo2_strv services;
};

static int pull_parse(int argc, char **argv, struct pull_args *a)
{
	static const struct option opts[] = {
	    {"file", required_argument, NULL, 'f'},
	    {"project-name", required_argument, NULL, 'p'},
	    {"host", required_argument, NULL, 'H'},
	    {"quiet", no_argument, NULL, 'q'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:p:H:q", opts, NULL)) != -1) {
		if (c == 'f')
			a->file = optarg;
		else if (c == 'p')
			a->project = optarg;
		else if (c == 'H')
			a->host = optarg;
		else if (c == 'q')
			a->quiet = true;
		else
			return cli_usage_error("pull",
			                       c == ':' ? "option '%s' needs a value" : "unknown option '%s'",
			                       argv[optind - 1]);
	}
	for (int i = optind; i < argc; i++)
		lo2_strv_push(&a->services, argv[i]);
	if (a->file == NULL)
		return cli_usage_error("pull", "wants -f COMPOSE_FILE");
	return CLI_OK;
}

/* The images to pull: one item per distinct (image, platform), labelled with its services. */
struct pull_list {
	struct cli_pull_item *v;
	size_t n;
	struct lo2_buf *labels;
};

static void list_add(struct pull_list *l, const struct compose_service *s)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].ref, s->image) == 0 &&
		    strcmp(l->v[i].platform ? l->v[i].platform : "", s->platform ? s->platform : "") == 0) {
			lo2_buf_printf(&l->labels[i], ", %s", s->name);
			return;
		}
	}
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->labels = xrealloc(l->labels, (l->n + 1) * sizeof(*l->labels));
	l->labels[l->n] = (struct lo2_buf)LO2_BUF_INIT;
	lo2_buf_printf(&l->labels[l->n], "service %s", s->name);
	l->v[l->n] = (struct cli_pull_item){.ref = s->image, .platform = s->platform};
	l->n++;
}

static void list_free(struct pull_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		lo2_buf_free(&l->labels[i]);
	free(l->labels);
	free(l->v);
}

/* Fills l from p's services (those named in want, or all); skips build: services. */
static int list_services(const struct compose_project *p, const struct pull_args *a, struct pull_list *l)
{
	for (size_t i = 0; i < a->services.n; i++)
		if (compose_service_find(p, a->services.v[i]) == NULL)
			return cli_usage_error("pull", "no service '%s' in %s", a->services.v[i], a->file);
	for (size_t i = 0; i < p->n_services; i++) {
		const struct compose_service *s = &p->services[i];

		if (a->services.n > 0 && !lo2_strv_contains(&a->services, s->name))
			continue;
		if (s->has_build || s->image == NULL) {
			if (!a->quiet)
				printf("Skipping service %s: built from its build: context\n", s->name);
			continue;
		}
		list_add(l, s);
	}
	for (size_t i = 0; i < l->n; i++)
		l->v[i].label = l->labels[i].data;
	return CLI_OK;
}

static int pull_run(const struct pull_args *a)
{
	struct compose_load_opts lo = {.file = a->file, .project_name = a->project};
	struct compose_project *p = NULL;
	struct lo2_strv warnings = {0};
	struct pull_list l = {0};
	struct lo2_err err = {0};
	struct engine *e = NULL;
	int rc = compose_load(&lo, &p, &warnings, &err) < 0 ? cli_fail(&err) : CLI_OK;

	for (size_t i = 0; i < warnings.n; i++)
		fprintf(stderr, "lo2: warning: %s\n", warnings.v[i]);
	lo2_strv_free(&warnings);
	if (rc == CLI_OK)
		rc = list_services(p, a, &l);
	if (rc == CLI_OK && l.n == 0 && !a->quiet)
		printf("Nothing to pull\n");
	if (rc == CLI_OK && l.n > 0)
		rc = cli_engine_open(a->host, &e) < 0 ? CLI_FAIL : cli_pull_images(e, l.v, l.n, a->quiet);
	engine_free(e);
	list_free(&l);
	compose_project_free(p);
	return rc;
}

int cmd_pull(int argc, char **argv)
{
	struct pull_args a = {0};
	int rc;

	if (cli_wants_help(argc, argv)) {
		printf("%s", pull_help);
		return CLI_OK;
	}
	rc = pull_parse(argc, argv, &a);
	if (rc == CLI_OK)
		rc = pull_run(&a);
	lo2_strv_free(&a.services);
	return rc;
}
