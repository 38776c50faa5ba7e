/* test_lab.c - `lo2 run` end to end on the lab stack (compose-files/lab) with a short
 * schedule: the layout, the manifest and its checksums, error lines only under their tag, and
 * every line each container wrote accounted for exactly once across the test and _between files;
 * then kill -9 in the middle of a test and --resume: each test done once, no partial file. */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/mem.h"
#include "common/time.h"
#include "compose/compose.h"
#include "run/manifest.h"

#define LAB LO2_SOURCE_DIR "/compose-files/lab"
#define TAGS "correct,get_client_404_no_client,register_user_400_user_exists"

extern char **environ;

static void lab_down(void)
{
	tu_lo2_run(NULL, NULL, "down", "-f", LAB "/docker-compose.yml", "-v", NULL);
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted lines of text (text is modified). */
static char **lines_of(char *text, size_t *n)
{
	char **v = NULL;
	size_t c = 0;

	for (char *p = text; p && *p;) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		v = xrealloc(v, (c + 1) * sizeof(*v));
		v[c++] = p;
		p = nl ? nl + 1 : NULL;
	}
	qsort(v, c, sizeof(*v), cmp_line);
	*n = c;
	return v;
}

static void append_file(struct lo2_buf *b, const char *path)
{
	size_t len = 0;
	char *t = tu_read(path, &len);

	if (t) {
		lo2_buf_append(b, t, len);
		free(t);
	}
}

/* Every file under dir (recursively) named name, appended to b; counts .tmp. leftovers. */
static void gather(const char *dir, const char *name, struct lo2_buf *b, int *tmp_files)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char *p;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		if (strstr(de->d_name, ".tmp."))
			(*tmp_files)++;
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
			gather(p, name, b, tmp_files);
		else if (name && strcmp(de->d_name, name) == 0)
			append_file(b, p);
		free(p);
	}
	closedir(d);
}

static void check_layout(const char *dir, const struct run_manifest *m, const struct compose_ps *ps)
{
	for (size_t i = 0; i < m->n_tests; i++) {
		const char *tag = m->tests[i].tag;
		char *p = xasprintf("%s/%s/metrics/last_fetch_time.txt", dir, tag), *mf;
		struct stat st;

		assert_int_equal(m->tests[i].status, RUN_TEST_COMPLETE);
		assert_int_equal(stat(p, &st), 0);
		free(p);
		mf = xasprintf("%s/%s/metrics/metric_up.json", dir, tag);
		assert_int_equal(stat(mf, &st), 0);
		free(mf);
		for (size_t c = 0; c < ps->n; c++) {
			char *lp = xasprintf("%s/%s/%s.log.gz", dir, tag, ps->v[c].name);

			assert_int_equal(stat(lp, &st), 0);
			free(lp);
		}
	}
}

/* Every line the container wrote before logs_until_ns is in exactly one of the run's files. */
static void check_accounting(const char *dir, const char *container, int64_t until_ns)
{
	struct lo2_buf files = LO2_BUF_INIT;
	char *name = xasprintf("%s.log.gz", container),
	     *whole_path = xasprintf("%s/whole-%s.log", dir, container);
	char until[40], *whole;
	char **a, **b;
	size_t na, nb;
	int tmp = 0;

	gather(dir, name, &files, &tmp);
	lo2_time_fmt_unix(until_ns - 1, until, sizeof(until));
	assert_int_equal(tu_lo2_run(NULL, NULL, "logs", container, "--until", until, "-o", whole_path, NULL),
	                 0);
	whole = tu_read(whole_path, NULL);
	unlink(whole_path);
	a = lines_of(files.data ? files.data : "", &na);
	b = lines_of(whole, &nb);
	if (na != nb)
		fail_msg("%s: %zu lines in the run's files, %zu in its log", container, na, nb);
	for (size_t i = 0; i < na; i++)
		assert_string_equal(a[i], b[i]);
	free(a);
	free(b);
	free(whole);
	lo2_buf_free(&files);
	free(name);
	free(whole_path);
}

static void test_lab_run(void **state)
{
	char *tmp = tu_tmpdir(), *dir = xasprintf("%s/run", tmp), *mp = xasprintf("%s/run.json", dir);
	char *out = NULL, *errs = NULL, *client, *correct_logs = NULL;
	struct run_manifest m;
	struct compose_ps ps = {0};
	struct lo2_err err = {0};
	struct lo2_buf b = LO2_BUF_INIT;
	int tmp_files = 0;

	int rc = tu_lo2_run(&out, &errs, "run", "-c", LAB "/lo2.yml", "--tags", TAGS, "--durations-min", "6",
	                    "--durations-max", "8", "--waits-min", "1", "--waits-max", "1", "--seed", "7",
	                    "--output", dir, "--keep", NULL);
	if (rc != 0)
		fail_msg("lo2 run exited %d:\n%s", rc, errs);
	assert_int_equal(run_manifest_read(mp, &m, &err), 0);
	assert_int_equal(m.n_tests, 3);
	assert_string_equal(m.status, "complete");
	assert_true(tu_logs_until(&m) > 0);
	assert_int_equal(compose_ps(tu_engine(), "lo2-lab", &ps, &err), 0);
	assert_true(ps.n >= 8);
	check_layout(dir, &m, &ps);
	/* The manifest's checksums match the files. */
	free(out);
	free(errs);
	assert_int_equal(tu_lo2_run(&out, &errs, "summary", dir, NULL), 0);
	assert_non_null(strstr(out, "checksums: all files match run.json"));
	/* The error tag's service logs its error; the correct test logs none. */
	client = xasprintf("%s/get_client_404_no_client/lo2-lab-oauth2-client-1.log.gz", dir);
	append_file(&b, client);
	assert_non_null(strstr(b.data, "ERR12014 CLIENT_NOT_FOUND"));
	lo2_buf_reset(&b);
	correct_logs = xasprintf("%s/correct", dir);
	for (size_t c = 0; c < ps.n; c++)
		if (strstr(ps.v[c].name, "oauth2")) {
			char *p = xasprintf("%s/%s.log.gz", correct_logs, ps.v[c].name);

			append_file(&b, p);
			free(p);
		}
	assert_null(strstr(b.data ? b.data : "", " ERROR "));
	/* Every line of every container, once, across the test folders and _between. */
	for (size_t c = 0; c < ps.n; c++)
		check_accounting(dir, ps.v[c].name, tu_logs_until(&m));
	gather(dir, NULL, &b, &tmp_files);
	assert_int_equal(tmp_files, 0);
	lab_down();
	lo2_buf_free(&b);
	compose_ps_free(&ps);
	run_manifest_free(&m);
	tu_rm_rf(tmp);
	free(tmp);
	free(dir);
	free(mp);
	free(out);
	free(errs);
	free(client);
	free(correct_logs);
}

static pid_t spawn_lo2(const char *const argv[], const char *log)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)(uintptr_t)argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

static void test_kill_and_resume(void **state)
{
	char *tmp = tu_tmpdir(), *dir = xasprintf("%s/run", tmp), *mp = xasprintf("%s/run.json", dir);
	char *log = xasprintf("%s/lo2.out", tmp), *out = NULL, *errs = NULL;
	const char *argv[] = {tu_lo2(),
	                      "run",
	                      "-c",
	                      LAB "/lo2.yml",
	                      "--tags",
	                      TAGS,
	                      "--durations-min",
	                      "6",
	                      "--durations-max",
	                      "8",
	                      "--waits-min",
	                      "1",
	                      "--waits-max",
	                      "1",
	                      "--seed",
	                      "11",
	                      "--output",
	                      dir,
	                      NULL};
	struct run_manifest m;
	struct lo2_err err = {0};
	int64_t deadline = lo2_mono_ns() + 240 * LO2_NS_PER_SEC;
	bool killed = false;
	int status, rc, tmp_files = 0;
	pid_t pid = spawn_lo2(argv, log);

	/* Wait for the second test to be running, then kill -9 in its middle. */
	while (!killed && lo2_mono_ns() < deadline) {
		usleep(200000);
		if (run_manifest_read(mp, &m, &err) < 0)
			continue;
		if (m.n_tests == 3 && m.tests[1].status == RUN_TEST_RUNNING) {
			usleep(3000000);
			kill(pid, SIGKILL);
			killed = true;
		}
		run_manifest_free(&m);
	}
	waitpid(pid, &status, 0);
	assert_true(killed);
	assert_int_equal(run_manifest_read(mp, &m, &err), 0);
	assert_int_equal(m.tests[0].status, RUN_TEST_COMPLETE);
	assert_int_equal(m.tests[1].status, RUN_TEST_RUNNING);
	run_manifest_free(&m);

	rc = tu_lo2_run(&out, &errs, "run", "--resume", dir, NULL);
	if (rc != 0)
		fail_msg("lo2 run --resume exited %d:\n%s", rc, errs);
	assert_int_equal(run_manifest_read(mp, &m, &err), 0);
	assert_string_equal(m.status, "complete");
	assert_int_equal(m.seed, 11);
	for (size_t i = 0; i < m.n_tests; i++)
		assert_int_equal(m.tests[i].status, RUN_TEST_COMPLETE);
	run_manifest_free(&m);
	free(out);
	free(errs);
	assert_int_equal(tu_lo2_run(&out, &errs, "summary", dir, NULL), 0);
	assert_non_null(strstr(out, "checksums: all files match run.json"));
	gather(dir, NULL, NULL, &tmp_files);
	assert_int_equal(tmp_files, 0);
	lab_down();
	tu_rm_rf(tmp);
	free(tmp);
	free(dir);
	free(mp);
	free(log);
	free(out);
	free(errs);
}

static void test_dry_run_is_reproducible(void **state)
{
	char *a = NULL, *b = NULL;

	assert_int_equal(
	    tu_lo2_run(&a, NULL, "run", "-c", LAB "/lo2.yml", "--seed", "1739743201", "--dry-run", NULL), 0);
	assert_int_equal(
	    tu_lo2_run(&b, NULL, "run", "-c", LAB "/lo2.yml", "--seed", "1739743201", "--dry-run", NULL), 0);
	assert_string_equal(a, b);
	assert_true(lo2_str_has_prefix(a, "seed 1739743201\n"));
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dry_run_is_reproducible),
	    cmocka_unit_test(test_lab_run),
	    cmocka_unit_test(test_kill_and_resume),
	};
	const char *images[] = {"lo2-lab/mariadb:latest", "lo2-lab/prometheus:latest",
	                        "lo2-lab/node-exporter:latest", "lo2-lab/locust:latest",
	                        "lo2-lab/base:bookworm"};

	tu_engine();
	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++)
		tu_require_image(images[i]);
	lab_down();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
