/* resume.c - what a --resume does before anything is deployed: the killed session's partial
 * files removed, the test it was running set aside (<tag>.incomplete-<n>) with its host Locust
 * ended, its containers stopped so that what they wrote is final, then each collector repairs
 * what it knows about (logs written while lo2 was dead, faults still applied). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "run/config.h"
#include "run/session.h"

static int remove_partial(void *user, const char *path, const char *rel, struct lo2_err *err)
{
	if (strstr(rel, ".tmp.") && unlink(path) == 0)
		(*(int *)user)++;
	return 0;
}

/* The host Locust of a test the killed session was running, if it still runs: ended, so that it
 * cannot write into the test's folder again. Only a process whose program is the configured
 * Locust command is signalled. */
static void end_stale_locust(struct run_session *s, const struct run_test *t)
{
	lo2_autofree char *path = xasprintf("/proc/%ld/cmdline", t->locust_pid);
	lo2_autofree char *cmd = NULL;
	size_t len = 0;

	if (t->locust_pid <= 0 || s->c->locust_command[0] == '\0' ||
	    lo2_read_file(path, 64 * 1024, &cmd, &len, NULL) < 0)
		return;
	/* cmdline is NUL-separated: the program, then its arguments (a script runs under its interpreter) */
	for (size_t i = 0; i < len; i += strlen(cmd + i) + 1)
		if (strstr(cmd + i, s->c->locust_command) != NULL ||
		    strcmp(cmd + i, s->c->locust_command) == 0) {
			kill((pid_t)t->locust_pid, SIGKILL);
			run_session_say(s, "Ended the Locust (pid %ld) of the interrupted session",
			                t->locust_pid);
			return;
		}
}

/* Moves a cut-short test's folder out of the way (<tag>.incomplete-<n>) and records it as an
 * attempt of session; the test is pending again. Lock held. */
int run_test_set_aside(struct run_session *s, struct run_test *t, int session, struct lo2_err *err)
{
	lo2_autofree char *from = xasprintf("%s/%s", s->dir, t->tag);
	lo2_autofree char *rel = xasprintf("%s.incomplete-%zu", t->tag, t->n_attempts + 1);
	lo2_autofree char *to = xasprintf("%s/%s", s->dir, rel);
	struct run_attempt *a;

	if (rename(from, to) != 0 && errno != ENOENT)
		return lo2_err_errno(err, errno, "move the incomplete test %s aside to %s", from, rel);
	t->attempts = xrealloc(t->attempts, (t->n_attempts + 1) * sizeof(*t->attempts));
	a = &t->attempts[t->n_attempts++];
	*a = (struct run_attempt){
	    .dir = xstrdup(rel), .session = session, .start_ns = t->start_ns, .end_ns = t->end_ns};
	run_test_reset(t);
	t->status = RUN_TEST_PENDING;
	return 0;
}

/* The files of the attempts of session (after recovery wrote into them). */
static int record_attempts(struct run_session *s, int session, struct lo2_err *err)
{
	for (size_t i = 0; i < s->m.n_tests; i++) {
		struct run_test *t = &s->m.tests[i];

		for (size_t k = 0; k < t->n_attempts; k++) {
			struct run_attempt *a = &t->attempts[k];
			lo2_autofree char *dir = xasprintf("%s/%s", s->dir, a->dir);

			if (a->session == session && access(dir, F_OK) == 0 &&
			    run_session_record_dir(s, &a->files, a->dir, err) < 0)
				return -1;
		}
	}
	return 0;
}

/* Before anything is deployed: the killed session's leftovers (partial files, a test it was
 * running) set aside, then each collector repairs what it knows about (lines written while lo2
 * was dead, faults still applied). */
int run_resume_prepare(struct run_session *s, struct lo2_err *err)
{
	struct run_session_rec *prev = s->m.n_sessions > 1 ? &s->m.sessions[s->m.n_sessions - 2] : NULL;
	int prev_no = prev ? prev->number : 0, partial = 0;

	if (prev && strcmp(prev->how, "running") == 0)
		lo2_str_replace(&prev->how, "killed");
	lo2_walk_files(s->dir, remove_partial, &partial, NULL);
	if (partial > 0)
		run_session_say(s, "Removed %d partial files of the interrupted session", partial);
	for (size_t i = 0; i < s->m.n_tests; i++) {
		struct run_test *t = &s->m.tests[i];

		if (t->status != RUN_TEST_RUNNING)
			continue;
		end_stale_locust(s, t);
		if (run_test_set_aside(s, t, t->session ? t->session : prev_no, err) < 0)
			return -1;
	}
	/* The killed session's containers stop first, so that what they wrote is final when it is
	 * collected; its Locust (the load of a test that was running) goes. */
	run_stack_remove_locust(s);
	run_stack_stop(s, -1);
	for (size_t i = 0; i < s->n_cols; i++) {
		struct run_collector *c = s->cols[i];
		const char *text = lo2_kvv_get(&s->m.sections, c->ops->name);
		struct lo2_json *prior = NULL;
		int rc;

		if (c->ops->resume == NULL || text == NULL)
			continue;
		if (lo2_json_parse(text, "run.json section", &prior, err) < 0)
			return lo2_err_prefix(err, "resume: the %s section of run.json", c->ops->name);
		rc = c->ops->resume(c, prior, err);
		lo2_json_free(prior);
		if (rc < 0)
			return lo2_err_prefix(err, "resume");
	}
	if (record_attempts(s, prev_no, err) < 0)
		return -1;
	return run_session_save(s, err);
}
