/* session.c - what a session offers its collectors (see collector.h): clocks, the engine, the
 * hub, run_log.log, and the manifest records, all behind one lock. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "common/time.h"
#include "compose/compose.h"
#include "run/session.h"

struct engine *run_session_engine(const struct run_session *s)
{
	return s->e;
}

const struct run_config *run_session_config(const struct run_session *s)
{
	return s->c;
}

const char *run_session_dir(const struct run_session *s)
{
	return s->dir;
}

const char *run_session_project(const struct run_session *s)
{
	return s->proj ? s->proj->name : s->m.project;
}

const struct compose_project *run_session_compose(const struct run_session *s)
{
	return s->proj;
}

int run_session_number(const struct run_session *s)
{
	return s->m.sessions[s->rec].number;
}

int64_t run_session_since_ns(const struct run_session *s)
{
	return s->since_ns;
}

int64_t run_session_engine_now(const struct run_session *s)
{
	return lo2_now_ns() + s->offset_ns;
}

int64_t run_session_to_local(const struct run_session *s, int64_t engine_ns)
{
	return engine_ns - s->offset_ns;
}

const atomic_bool *run_session_cancel(const struct run_session *s)
{
	return s->h->cancel;
}

bool run_session_cancelled(const struct run_session *s)
{
	return s->h->cancel && atomic_load(s->h->cancel);
}

struct run_hub *run_session_hub(const struct run_session *s)
{
	return s->hub;
}

static void vsay(struct run_session *s, bool warning, const char *fmt, va_list ap)
{
	char msg[1024], line[1100];
	int n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = snprintf(line, sizeof(line), "%lld %s%s\n", (long long)(lo2_now_ns() / LO2_NS_PER_SEC),
	             warning ? "Warning: " : "", msg);
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	pthread_mutex_lock(&s->lock);
	/* run_log.log is the record; a failed write there is kept as a warning of the run */
	if (s->log_fd >= 0 && lo2_write_all(s->log_fd, line, (size_t)n, "run_log.log", NULL) < 0)
		lo2_strv_take(&s->m.warnings, xasprintf("write run_log.log: %s", strerror(errno)));
	if (warning)
		lo2_strv_push(&s->m.warnings, msg);
	pthread_mutex_unlock(&s->lock);
	if (s->h->log) {
		line[n - 1] = '\0';
		s->h->log(s->h->user, line);
	}
}

void run_session_say(struct run_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(s, false, fmt, ap);
	va_end(ap);
}

void run_session_warn(struct run_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(s, true, fmt, ap);
	va_end(ap);
}

int run_session_save_locked(struct run_session *s, struct lo2_err *err)
{
	return run_manifest_write(&s->m, s->manifest_path, err);
}

int run_session_save(struct run_session *s, struct lo2_err *err)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = run_session_save_locked(s, err);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int run_session_section(struct run_session *s, const char *name, const char *json, bool save,
                        struct lo2_err *err)
{
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	lo2_kvv_set(&s->m.sections, name, json);
	if (save)
		ret = run_session_save_locked(s, err);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int run_session_add_file(struct run_session *s, const char *rel, struct lo2_err *err)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = run_files_add(&s->m.files, s->dir, rel, err);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

void run_session_recovered(struct run_session *s, uint64_t lines)
{
	pthread_mutex_lock(&s->lock);
	s->m.sessions[s->rec].recovered_lines += lines;
	pthread_mutex_unlock(&s->lock);
}

struct file_rec {
	struct run_files *fs;
	const char *root, *prefix;
};

static int add_file(void *user, const char *path, const char *rel, struct lo2_err *err)
{
	struct file_rec *fr = user;
	lo2_autofree char *r = xasprintf("%s/%s", fr->prefix, rel);

	return strstr(rel, ".tmp.") ? 0 : run_files_add(fr->fs, fr->root, r, err);
}

int run_session_record_dir(struct run_session *s, struct run_files *fs, const char *rel, struct lo2_err *err)
{
	lo2_autofree char *dir = xasprintf("%s/%s", s->dir, rel);
	struct file_rec fr = {fs, s->dir, rel};

	run_files_free(fs);
	return lo2_walk_files(dir, add_file, &fr, err);
}

int run_session_add_dir(struct run_session *s, const char *rel, struct lo2_err *err)
{
	struct run_files fs = {0};
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = run_session_record_dir(s, &fs, rel, err);
	for (size_t i = 0; i < fs.n; i++) {
		s->m.files.v = xrealloc(s->m.files.v, (s->m.files.n + 1) * sizeof(*s->m.files.v));
		s->m.files.v[s->m.files.n++] = fs.v[i];
	}
	free(fs.v);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

size_t run_session_n_tests(const struct run_session *s)
{
	return s->m.n_tests;
}

const struct run_test *run_session_test(const struct run_session *s, size_t i)
{
	return i < s->m.n_tests ? &s->m.tests[i] : NULL;
}

void run_window_error(struct run_window *w, const char *collector, const struct lo2_err *err)
{
	struct run_session *s = w->session;

	pthread_mutex_lock(&s->lock);
	lo2_strv_take(&w->test->errors, xasprintf("%s: %s", collector, err->msg));
	pthread_mutex_unlock(&s->lock);
}

void run_window_errors(struct run_window *w, const char *collector, const struct lo2_strv *msgs)
{
	pthread_mutex_lock(&w->session->lock);
	for (size_t i = 0; i < msgs->n; i++)
		lo2_strv_take(&w->test->errors, xasprintf("%s: %s", collector, msgs->v[i]));
	pthread_mutex_unlock(&w->session->lock);
}

void run_window_section(struct run_window *w, const char *name, const char *json)
{
	pthread_mutex_lock(&w->session->lock);
	lo2_kvv_set(&w->test->sections, name, json);
	pthread_mutex_unlock(&w->session->lock);
}

void run_window_event(struct run_window *w, int64_t time_ns, const char *container, const char *action,
                      const char *exit_code)
{
	pthread_mutex_lock(&w->session->lock);
	run_manifest_add_event(w->test, time_ns, container, action, exit_code);
	pthread_mutex_unlock(&w->session->lock);
}

void run_window_fail(struct run_window *w, const char *reason)
{
	pthread_mutex_lock(&w->session->lock);
	if (w->test->failure == NULL)
		w->test->failure = xstrdup(reason);
	pthread_mutex_unlock(&w->session->lock);
}
