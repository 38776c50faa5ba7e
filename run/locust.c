/* locust.c - one Locust test as a container or a host process (see locust.h). */
#include <errno.h>
#include <pthread.h>
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
#include "common/thread.h"
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

struct run_locust {
	struct engine *e;
	char *id; /* container mode */
	pid_t pid; /* host mode */
	char *csv;
	pthread_t waiter;
	bool waiter_started;
	atomic_bool done, wait_cancel;
	int64_t code;
	atomic_llong end_ns;
	int64_t deadline, escalate_ns, next_signal, kill_at;
	int signals; /* 0 none; 1 SIGINT, 2 SIGTERM, 3 SIGKILL sent past the deadline */
	struct run_locust_result res;
	struct lo2_err err;
};

static void *container_waiter(void *arg)
{
	struct run_locust *l = arg;
	int64_t code = -1;

	if (engine_container_wait(l->e, l->id, NULL, &l->wait_cancel, &code, &l->err) < 0 &&
	    !atomic_load(&l->wait_cancel))
		code = -1;
	l->code = code;
	atomic_store(&l->end_ns, lo2_now_ns());
	atomic_store(&l->done, true);
	return NULL;
}

static int start_container(struct run_locust *l, const struct run_locust_opts *o, struct lo2_err *err)
{
	struct engine_container_spec s = {0};
	char *ldir = realpath(o->locust_dir, NULL), *odir = realpath(o->out_dir, NULL);
	int ret = -1;

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
	if (engine_container_create(l->e, &s, &l->id, err) < 0)
		goto out;
	l->res.start_ns = lo2_now_ns();
	if (engine_container_start(l->e, l->id, err) < 0 ||
	    lo2_thread_start(&l->waiter, container_waiter, l, "Locust waiter", err) < 0)
		goto out;
	l->waiter_started = true;
	ret = 0;
out:
	engine_container_spec_free(&s);
	return ret;
}

static int start_process(struct run_locust *l, const struct run_locust_opts *o, struct lo2_err *err)
{
	struct lo2_strv argv = {0};
	int rc;

	lo2_strv_push(&argv, o->command);
	run_locust_args(o, false, &argv);
	l->res.start_ns = lo2_now_ns();
	rc = posix_spawnp(&l->pid, o->command, NULL, NULL, argv.v, environ);
	lo2_strv_free(&argv);
	if (rc != 0) {
		l->pid = 0;
		return lo2_err_errno(err, rc, "start Locust (%s)", o->command);
	}
	return 0;
}

static void send_signal(struct run_locust *l, int sig, const char *name)
{
	if (l->id)
		engine_container_kill(l->e, l->id, name, NULL);
	else if (l->pid > 0)
		kill(l->pid, sig);
}

int run_locust_start(struct engine *e, const struct run_locust_opts *o, int grace_s, int escalate_s,
                     struct run_locust **out, struct lo2_err *err)
{
	struct run_locust *l = xcalloc(1, sizeof(*l));
	struct run_locust_result res;
	int rc;

	l->e = e;
	l->csv = xasprintf("%s/locust_stats.csv", o->out_dir);
	l->res.exit_code = -1;
	l->deadline = lo2_mono_ns() + (int64_t)(o->run_time_s + grace_s) * LO2_NS_PER_SEC;
	l->escalate_ns = (int64_t)(escalate_s > 0 ? escalate_s : 5) * LO2_NS_PER_SEC;
	l->next_signal = l->deadline;
	if (lo2_mkdir_p(o->out_dir, 0755, err) < 0)
		rc = -1;
	else
		rc = o->image ? start_container(l, o, err) : start_process(l, o, err);
	if (rc < 0) {
		atomic_store(&l->done, true); /* nothing to wait for */
		run_locust_finish(l, &res, NULL);
		return lo2_err_prefix(err, "run Locust for tag %s", o->tag);
	}
	*out = l;
	return 0;
}

/* Host mode: reaps the process when it has ended. */
static void reap(struct run_locust *l)
{
	int status = 0;

	if (l->pid <= 0 || atomic_load(&l->done))
		return;
	if (waitpid(l->pid, &status, WNOHANG) != l->pid)
		return;
	l->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	atomic_store(&l->end_ns, lo2_now_ns());
	atomic_store(&l->done, true);
}

long run_locust_pid(const struct run_locust *l)
{
	return l->pid > 0 ? (long)l->pid : 0;
}

bool run_locust_poll(struct run_locust *l)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGKILL};
	static const char *const names[] = {"SIGINT", "SIGTERM", "SIGKILL"};
	int64_t now = lo2_mono_ns();

	reap(l);
	if (atomic_load(&l->done))
		return true;
	if (now >= l->next_signal && l->signals < 3) {
		send_signal(l, sigs[l->signals], names[l->signals]);
		l->res.stopped_past_deadline = names[l->signals];
		l->signals++;
		l->next_signal = now + l->escalate_ns;
	}
	return false;
}

void run_locust_cancel(struct run_locust *l, int grace_ms)
{
	if (atomic_load(&l->done) || l->res.cancelled)
		return;
	l->res.cancelled = true;
	send_signal(l, SIGINT, "SIGINT");
	l->kill_at = lo2_mono_ns() + (int64_t)grace_ms * 1000000;
}

int run_locust_finish(struct run_locust *l, struct run_locust_result *res, struct lo2_err *err)
{
	struct lo2_err serr = {0};
	int ret = 0;

	while ((l->id || l->pid > 0) && !run_locust_poll(l)) {
		if (l->kill_at && lo2_mono_ns() >= l->kill_at) {
			send_signal(l, SIGKILL, "SIGKILL");
			l->kill_at = 0;
		}
		lo2_sleep_ns(20 * 1000 * 1000);
	}
	if (l->waiter_started) {
		atomic_store(&l->wait_cancel, true);
		pthread_join(l->waiter, NULL);
	}
	if (l->id)
		engine_container_remove(l->e, l->id, true, true, NULL);
	l->res.exit_code = (int)l->code;
	l->res.end_ns = atomic_load(&l->end_ns) ? atomic_load(&l->end_ns) : lo2_now_ns();
	if ((l->id || l->pid > 0) && run_locust_stats(l->csv, &l->res.requests, &l->res.failures, &serr) == 0)
		l->res.have_counts = true;
	if (l->err.msg[0] && err) {
		*err = l->err;
		ret = -1;
	}
	*res = l->res;
	free(l->id);
	free(l->csv);
	free(l);
	return ret;
}

int run_locust(struct engine *e, const struct run_locust_opts *o, struct run_locust_result *res,
               struct lo2_err *err)
{
	struct run_locust *l = NULL;

	memset(res, 0, sizeof(*res));
	if (run_locust_start(e, o, 30, 5, &l, err) < 0)
		return -1;
	while (!run_locust_poll(l)) {
		if (o->cancel && atomic_load(o->cancel))
			run_locust_cancel(l, STOP_GRACE_S * 1000);
		lo2_sleep_ns(50 * 1000 * 1000);
		if (l->res.cancelled)
			break;
	}
	if (run_locust_finish(l, res, err) < 0)
		return lo2_err_prefix(err, "run Locust for tag %s", o->tag);
	return 0;
}
