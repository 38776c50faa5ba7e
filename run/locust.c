/* locust.c - one Locust test as a container or a host process (see locust.h). */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/file.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/time.h"
#include "engine/engine.h"
#include "run/locust.h"

#define CONTAINER_LOCUST "/mnt/locust"
#define CONTAINER_OUT "/mnt/out"
#define STOP_GRACE_S 15

extern char **environ;

void run_locust_args(const struct run_locust_opts *o, bool in_container, struct lo2_strv *a)
{
	const char *ld = in_container ? CONTAINER_LOCUST : o->locust_dir;
	const char *od = in_container ? CONTAINER_OUT : o->out_dir;

	lo2_strv_take(a, xasprintf("--locustfile=%s/%s", ld, o->main_file));
	lo2_strv_push(a, "--headless");
	lo2_strv_push(a, "--only-summary");
	lo2_strv_take(a, xasprintf("--users=%d", o->users));
	lo2_strv_take(a, xasprintf("--spawn-rate=%d", o->spawn_rate));
	if (o->host_url)
		lo2_strv_take(a, xasprintf("--host=%s", o->host_url));
	lo2_strv_take(a, xasprintf("--run-time=%ds", o->run_time_s));
	lo2_strv_push(a, "--tags");
	lo2_strv_push(a, "correct");
	if (strcmp(o->tag, "correct") != 0)
		lo2_strv_push(a, o->tag);
	lo2_strv_take(a, xasprintf("--logfile=%s/locust.log", od));
	lo2_strv_take(a, xasprintf("--csv=%s/locust", od));
	if (o->extra_args)
		lo2_strv_copy(a, o->extra_args);
}

/* Index of a column in a CSV header line (plain, unquoted names as Locust writes them). */
static int column(const char *header, const char *name)
{
	int i = 0;
	size_t n = strlen(name);

	for (const char *p = header; p; p = strchr(p, ','), p = p ? p + 1 : p, i++)
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\n' || p[n] == '\r' || p[n] == '\0'))
			return i;
	return -1;
}

static const char *field(const char *line, int idx)
{
	for (int i = 0; i < idx && line; i++) {
		line = strchr(line, ',');
		line = line ? line + 1 : NULL;
	}
	return line;
}

int run_locust_stats(const char *csv_path, uint64_t *requests, uint64_t *failures, struct lo2_err *err)
{
	lo2_autofree char *text = NULL;
	const char *line;
	int rc_col, fc_col;

	if (lo2_read_file(csv_path, 64u * 1024 * 1024, &text, NULL, err) < 0)
		return -1;
	rc_col = column(text, "Request Count");
	fc_col = column(text, "Failure Count");
	if (rc_col < 0 || fc_col < 0)
		return lo2_err_set(err, LO2_E_INVALID,
		                   "read Locust stats %s: no Request Count/Failure Count columns", csv_path);
	for (line = text; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *rc, *fc;

		if (strstr(line, ",Aggregated,") == NULL || strstr(line, ",Aggregated,") > strchr(line, '\n'))
			continue;
		rc = field(line, rc_col);
		fc = field(line, fc_col);
		if (rc == NULL || fc == NULL)
			break;
		*requests = strtoull(rc, NULL, 10);
		*failures = strtoull(fc, NULL, 10);
		return 0;
	}
	return lo2_err_set(err, LO2_E_INVALID, "read Locust stats %s: no Aggregated row", csv_path);
}

static int run_container(struct engine *e, const struct run_locust_opts *o, struct run_locust_result *res,
                         struct lo2_err *err)
{
	struct engine_container_spec s = {0};
	char *id = NULL;
	int64_t code = -1;
	int ret = -1;

	char *ldir = realpath(o->locust_dir, NULL), *odir = realpath(o->out_dir, NULL);

	if (ldir == NULL || odir == NULL) {
		lo2_err_errno(err, errno, "find folder %s", ldir == NULL ? o->locust_dir : o->out_dir);
		free(ldir);
		free(odir);
		return -1;
	}
	s.image = xstrdup(o->image);
	/* As lo2's own user: the image's user could not write the test folder lo2 made. */
	s.user = xasprintf("%u:%u", (unsigned)getuid(), (unsigned)getgid());
	s.cmd_set = true;
	run_locust_args(o, true, &s.cmd);
	if (o->entrypoint) {
		s.entrypoint_set = true;
		lo2_strv_copy(&s.entrypoint, o->entrypoint);
	}
	lo2_strv_take(&s.binds, xasprintf("%s:%s:ro", ldir, CONTAINER_LOCUST));
	lo2_strv_take(&s.binds, xasprintf("%s:%s:rw", odir, CONTAINER_OUT));
	free(ldir);
	free(odir);
	s.network_mode = xstrdup(o->network ? o->network : "bridge");
	s.stop_signal = xstrdup("SIGINT"); /* Locust writes its stats on SIGINT */
	s.stop_timeout = STOP_GRACE_S;
	if (o->labels)
		lo2_kvv_copy(&s.labels, o->labels);
	if (engine_container_create(e, &s, &id, err) < 0)
		goto out;
	res->start_ns = lo2_now_ns();
	if (engine_container_start(e, id, err) < 0)
		goto out;
	if (engine_container_wait(e, id, NULL, o->cancel, &code, err) < 0) {
		if (err->kind != LO2_E_CANCELLED)
			goto out;
		res->cancelled = true;
		engine_container_stop(e, id, STOP_GRACE_S, NULL);
		engine_container_wait(e, id, NULL, NULL, &code, NULL);
	}
	res->end_ns = lo2_now_ns();
	res->exit_code = (int)code;
	ret = 0;
out:
	if (id)
		engine_container_remove(e, id, true, true, NULL);
	engine_container_spec_free(&s);
	free(id);
	return ret;
}

static int run_process(const struct run_locust_opts *o, struct run_locust_result *res, struct lo2_err *err)
{
	struct lo2_strv argv = {0};
	pid_t pid;
	int status = 0, rc;
	bool signalled = false;

	lo2_strv_push(&argv, o->command);
	run_locust_args(o, false, &argv);
	res->start_ns = lo2_now_ns();
	rc = posix_spawnp(&pid, o->command, NULL, NULL, argv.v, environ);
	lo2_strv_free(&argv);
	if (rc != 0)
		return lo2_err_errno(err, rc, "start Locust (%s)", o->command);
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return lo2_err_errno(err, errno, "wait for Locust (pid %ld)", (long)pid);
		if (!signalled && o->cancel && atomic_load(o->cancel)) {
			kill(pid, SIGINT);
			signalled = res->cancelled = true;
		}
		lo2_sleep_ns(50 * 1000 * 1000);
	}
	res->end_ns = lo2_now_ns();
	res->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 0;
}

int run_locust(struct engine *e, const struct run_locust_opts *o, struct run_locust_result *res,
               struct lo2_err *err)
{
	lo2_autofree char *csv = xasprintf("%s/locust_stats.csv", o->out_dir);
	struct lo2_err serr = {0};
	int rc;

	memset(res, 0, sizeof(*res));
	if (lo2_mkdir_p(o->out_dir, 0755, err) < 0)
		return lo2_err_prefix(err, "run Locust for tag %s", o->tag);
	rc = o->image ? run_container(e, o, res, err) : run_process(o, res, err);
	if (rc < 0)
		return lo2_err_prefix(err, "run Locust for tag %s", o->tag);
	if (run_locust_stats(csv, &res->requests, &res->failures, &serr) == 0)
		res->have_counts = true;
	else
		lo2_debug("Locust for tag %s: %s", o->tag, serr.msg);
	return 0;
}
