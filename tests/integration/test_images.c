/* test_images.c - the offline images on the real engine: busybox runs, the base image has the
 * lab's tools, the mariadb image initialises once per volume, `lo2 image build` surfaces the
 * engine's error, honours .dockerignore and labels, and a warm scripts/build-images is a no-op. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/mem.h"
#include "common/tar.h"
#include "engine/engine.h"

#define BUSYBOX "lo2-test/busybox:latest"
#define BASE "lo2-lab/base:bookworm"
#define MARIADB "lo2-lab/mariadb:latest"

static int collect(void *user, int stream, const char *p, size_t n, bool frame_start, bool frame_end,
                   struct lo2_err *err)
{
	lo2_buf_append(user, p, n);
	return 0;
}

/* The container's whole log (stdout and stderr) so far (caller frees). */
static char *logs_of(const char *id)
{
	struct lo2_buf b = {.max = 16 * 1024 * 1024};
	struct engine_logs_opts o = {0};
	struct lo2_err err = {0};
	char *s;

	if (engine_container_logs(tu_engine(), id, &o, collect, &b, &err) < 0)
		fail_msg("logs of %s: %s", id, err.msg);
	s = lo2_buf_steal(&b);
	return s ? s : xstrdup("");
}

/* Creates and starts a labelled container; *id_out: caller frees. */
static void start(struct engine_container_spec *s, char **id_out)
{
	struct lo2_err err = {0};

	lo2_kvv_set(&s->labels, TU_LABEL, tu_run_id());
	if (engine_container_create(tu_engine(), s, id_out, &err) < 0)
		fail_msg("create: %s", err.msg);
	if (engine_container_start(tu_engine(), *id_out, &err) < 0)
		fail_msg("start: %s", err.msg);
}

/* Runs cmd in image to completion; returns its exit code and its log in *logs (caller frees). */
static int64_t run_to_end(const char *image, const char *const *cmd, char **logs)
{
	struct engine_container_spec s = {0};
	struct lo2_err err = {0};
	lo2_autofree char *id = NULL;
	int64_t code = -1;

	s.image = xstrdup(image);
	s.cmd_set = true;
	for (size_t i = 0; cmd[i]; i++)
		lo2_strv_push(&s.cmd, cmd[i]);
	start(&s, &id);
	if (engine_container_wait(tu_engine(), id, NULL, NULL, &code, &err) < 0)
		fail_msg("wait: %s", err.msg);
	*logs = logs_of(id);
	engine_container_remove(tu_engine(), id, true, false, &err);
	engine_container_spec_free(&s);
	return code;
}

static void test_busybox_runs(void **state)
{
	const char *cmd[] = {"sh", "-c", "echo hello from $(basename $(readlink /bin/ls))", NULL};
	lo2_autofree char *logs = NULL;

	tu_require_image(BUSYBOX);
	assert_int_equal(run_to_end(BUSYBOX, cmd, &logs), 0);
	assert_string_equal(logs, "hello from busybox\n");
}

static void test_base_has_the_tools(void **state)
{
	const char *mariadbd[] = {"mariadbd", "--version", NULL};
	const char *prom[] = {"prometheus", "--version", NULL};
	const char *py[] = {"python3", "-c", "import locust, pymysql; print('ok')", NULL};
	const char *tz[] = {"date", "+%Z", NULL};
	char *logs = NULL;

	tu_require_image(BASE);
	assert_int_equal(run_to_end(BASE, mariadbd, &logs), 0);
	assert_non_null(strstr(logs, "MariaDB"));
	free(logs);
	assert_int_equal(run_to_end(BASE, prom, &logs), 0);
	assert_non_null(strstr(logs, "prometheus, version 2."));
	free(logs);
	assert_int_equal(run_to_end(BASE, py, &logs), 0);
	assert_string_equal(logs, "ok\n");
	free(logs);
	assert_int_equal(run_to_end(BASE, tz, &logs), 0);
	assert_string_equal(logs, "UTC\n");
	free(logs);
}

/* Waits until the container's log has `marker` (fails when it exits first or after 180 s). */
static char *wait_for_log(const char *id, const char *marker)
{
	for (int i = 0; i < 360; i++) {
		struct engine_container_info ci = {0};
		struct lo2_err err = {0};
		char *logs = logs_of(id);
		bool running;

		if (strstr(logs, marker))
			return logs;
		if (engine_container_inspect(tu_engine(), id, &ci, &err) < 0)
			fail_msg("inspect %s: %s", id, err.msg);
		running = ci.running;
		engine_container_info_free(&ci);
		if (!running)
			fail_msg("container exited before '%s'; its log:\n%s", marker, logs);
		free(logs);
		usleep(500 * 1000);
	}
	fail_msg("no '%s' in 180 s", marker);
	return NULL;
}

static void start_mariadb(const char *volume, const char *initdb, char **id)
{
	struct engine_container_spec s = {0};

	s.image = xstrdup(MARIADB);
	lo2_strv_push(&s.env, "MYSQL_ROOT_PASSWORD=rootpassword");
	lo2_strv_push(&s.env, "MYSQL_USER=mysqluser");
	lo2_strv_push(&s.env, "MYSQL_PASSWORD=mysqlpw");
	lo2_strv_push(&s.env, "MYSQL_DATABASE=lab");
	lo2_strv_take(&s.binds, xasprintf("%s:/var/lib/mysql", volume));
	lo2_strv_take(&s.binds, xasprintf("%s:/docker-entrypoint-initdb.d:ro", initdb));
	start(&s, id);
	engine_container_spec_free(&s);
}

static void test_mariadb_initialises_once(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *sql = xasprintf("%s/01-schema.sql", dir);
	lo2_autofree char *vol = xasprintf("lo2-test-mariadb-%s", tu_run_id());
	lo2_autofree char *id1 = NULL, *id2 = NULL, *logs1 = NULL, *logs2 = NULL;
	struct engine_volume_spec vs = {0};
	struct lo2_err err = {0};
	FILE *f;

	tu_require_image(MARIADB);
	chmod(dir, 0755);
	f = fopen(sql, "w");
	assert_non_null(f);
	fputs("CREATE TABLE t (i INT); INSERT INTO t VALUES (42);\n", f);
	fclose(f);
	vs.name = vol;
	lo2_kvv_set(&vs.labels, TU_LABEL, tu_run_id());
	assert_int_equal(engine_volume_create(tu_engine(), &vs, &err), 0);
	lo2_kvv_free(&vs.labels);

	/* first start: the temporary server (port 0), the init script, then the real server on 3306 */
	start_mariadb(vol, dir, &id1);
	logs1 = wait_for_log(id1, "port: 3306");
	assert_non_null(strstr(logs1, "Initializing database files"));
	assert_non_null(strstr(logs1, "running /docker-entrypoint-initdb.d/01-schema.sql"));
	assert_non_null(strstr(logs1, "MariaDB init process done. Ready for start up."));
	assert_int_equal(engine_container_remove(tu_engine(), id1, true, false, &err), 0);

	/* second start on the same volume: no initialisation */
	start_mariadb(vol, dir, &id2);
	logs2 = wait_for_log(id2, "port: 3306");
	assert_non_null(
	    strstr(logs2, "Database already initialized in /var/lib/mysql/: skipping initialization"));
	assert_null(strstr(logs2, "Initializing database files"));
	assert_null(strstr(logs2, "docker-entrypoint-initdb.d/01-schema.sql"));
	tu_cleanup();
	tu_rm_rf(dir);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	lo2_autofree char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_build_bad_instruction(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *out = NULL, *errs = NULL;
	int rc;

	tu_require_image(BUSYBOX);
	write_file(dir, "Dockerfile", "FROM " BUSYBOX "\nFOO bar\n");
	rc = tu_lo2_run(&out, &errs, "image", "build", dir, "-t", "lo2-test/bad-build:latest", NULL);
	assert_int_equal(rc, 1);
	/* the engine's own text (20.10: "dockerfile parse error line 2: unknown instruction: FOO") */
	assert_true(lo2_str_has_prefix(errs, "lo2: build image lo2-test/bad-build:latest: "));
	assert_non_null(strstr(errs, "unknown instruction: FOO"));
	free(out);
	free(errs);
	/* a failing RUN: the message from inside the build stream */
	write_file(dir, "Dockerfile", "FROM " BUSYBOX "\nRUN exit 3\n");
	rc = tu_lo2_run(&out, &errs, "image", "build", dir, "-t", "lo2-test/bad-build:latest", NULL);
	assert_int_equal(rc, 1);
	assert_string_equal(
	    errs, "lo2: build image lo2-test/bad-build:latest: The command '/bin/sh -c exit 3' returned a "
	          "non-zero code: 3\n");
	assert_non_null(strstr(out, "Step 2/2 : RUN exit 3"));
	tu_rm_rf(dir);
}

static void test_build_context_and_label(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *out = NULL, *errs = NULL, *label = NULL;
	const char *ref = "lo2-test/build-ctx:latest";
	struct lo2_err err = {0};
	int rc;

	tu_require_image(BUSYBOX);
	write_file(dir, "Dockerfile",
	           "FROM " BUSYBOX "\nARG GREETING\nCOPY . /ctx/\n"
	           "RUN test -e /ctx/kept.txt && test ! -e /ctx/secret.txt && test ! -e /ctx/build.log"
	           " && test \"$GREETING\" = hi\n");
	write_file(dir, ".dockerignore", "*.log\nsecret.txt\n");
	write_file(dir, "kept.txt", "k");
	write_file(dir, "secret.txt", "s");
	write_file(dir, "build.log", "l");
	rc = tu_lo2_run(&out, &errs, "image", "build", dir, "-t", ref, "--build-arg", "GREETING=hi",
	                "--label", "lo2.test-label=yes", NULL);
	if (rc != 0)
		fail_msg("build: %s%s", out, errs);
	assert_non_null(strstr(out, "Successfully tagged lo2-test/build-ctx:latest"));
	rc = tu_lo2_run(&label, NULL, "image", "inspect", ref, "--format", "label=lo2.test-label", NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(label, "yes\n");
	assert_int_equal(engine_image_remove(tu_engine(), ref, true, &err), 0);
	tu_rm_rf(dir);
}

/* A Dockerfile outside the context, through both front ends of the one build path: `lo2 image
 * build -f` and compose's build.dockerfile (`lo2 up`; compose sent the outside path as a name
 * inside the context before, and the engine refused it). */
static void test_build_dockerfile_outside(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *ctx = xasprintf("%s/ctx", dir), *dfdir = xasprintf("%s/df", dir);
	lo2_autofree char *df = xasprintf("%s/Dockerfile", dfdir), *compose = NULL, *project = NULL;
	lo2_autofree char *out = NULL, *errs = NULL, *text = NULL;
	const char *ref = "lo2-test/build-outside:latest", *cref = "lo2-test/build-outside-compose:latest";
	struct lo2_err err = {0};
	int rc;

	tu_require_image(BUSYBOX);
	assert_int_equal(mkdir(ctx, 0755), 0);
	assert_int_equal(mkdir(dfdir, 0755), 0);
	write_file(ctx, "kept.txt", "k");
	write_file(dfdir, "Dockerfile", "FROM " BUSYBOX "\nCOPY kept.txt /kept.txt\nRUN test -e /kept.txt\n");
	rc = tu_lo2_run(&out, &errs, "image", "build", ctx, "-f", df, "-t", ref, NULL);
	if (rc != 0)
		fail_msg("image build -f outside: %s%s", out, errs);
	free(out);
	free(errs);
	out = errs = NULL;
	project = xasprintf("lo2t-outside-%s", tu_run_id());
	text = xasprintf("services:\n  built:\n    image: %s\n    build:\n      context: ctx\n"
	                 "      dockerfile: ../df/Dockerfile\n    command: [\"true\"]\n"
	                 "    labels: [lo2.test=%s]\n",
	                 cref, tu_run_id());
	write_file(dir, "compose.yml", text);
	compose = xasprintf("%s/compose.yml", dir);
	rc = tu_lo2_run(&out, &errs, "up", "-f", compose, "-p", project, NULL);
	if (rc != 0)
		fail_msg("lo2 up with build.dockerfile outside the context: %s%s", out, errs);
	free(out);
	free(errs);
	out = errs = NULL;
	assert_int_equal(tu_lo2_run(&out, &errs, "down", "-f", compose, "-p", project, NULL), 0);
	assert_int_equal(engine_image_remove(tu_engine(), ref, true, &err), 0);
	assert_int_equal(engine_image_remove(tu_engine(), cref, true, &err), 0);
	tu_rm_rf(dir);
}

static void test_import_from_lo2_tar(void **state)
{
	const char *ref = "lo2-test/imported:latest";
	const char *cmd[] = {"/bin/sh", "-c", "echo $GREETING; test -d /tmp", NULL};
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *path = xasprintf("%s/rootfs.tar", dir);
	lo2_autofree char *sh = xasprintf("%s/sh", dir);
	lo2_autofree char *out = NULL, *errs = NULL, *logs = NULL;
	struct lo2_tar *t = lo2_tar_new();
	struct lo2_err err = {0};
	FILE *f = fopen(path, "w");
	int rc;

	/* a rootfs written by lo2's own tar writer: folders, the static busybox, a symlink */
	tu_engine();
	if (access("/bin/busybox", X_OK) != 0) {
		lo2_tar_free(t);
		skip();
	}
	assert_int_equal(lo2_tar_add_path(t, dir, "bin", &err), 0);
	assert_int_equal(lo2_tar_add_path(t, dir, "tmp", &err), 0);
	assert_int_equal(lo2_tar_add_path(t, "/bin/busybox", "bin/busybox", &err), 0);
	assert_int_equal(symlink("busybox", sh), 0);
	assert_int_equal(lo2_tar_add_path(t, sh, "bin/sh", &err), 0);
	assert_int_equal(lo2_tar_write_fd(t, fileno(f), &err), 0);
	fclose(f);
	lo2_tar_free(t);
	rc = tu_lo2_run(&out, &errs, "image", "import", path, ref, "--change", "ENV GREETING=imported",
	                "--change", "CMD [\"sh\"]", NULL);
	if (rc != 0)
		fail_msg("import: %s", errs);
	assert_true(lo2_str_has_prefix(out, "sha256:"));
	assert_int_equal(run_to_end(ref, cmd, &logs), 0);
	assert_string_equal(logs, "imported\n");
	assert_int_equal(engine_image_remove(tu_engine(), ref, true, &err), 0);
	tu_rm_rf(dir);
}

static void test_usage_errors(void **state)
{
	lo2_autofree char *e1 = NULL, *e2 = NULL, *e3 = NULL, *o4 = NULL;

	assert_int_equal(tu_lo2_run(NULL, &e1, "image", "build", ".", NULL), 2);
	assert_string_equal(e1,
	                    "lo2 image build: wants -t NAME:TAG\nRun 'lo2 image build --help' for usage.\n");
	assert_int_equal(tu_lo2_run(NULL, &e2, "image", "import", "x.tar", NULL), 2);
	assert_string_equal(e2, "lo2 image import: wants FILE.tar|- and NAME:TAG\n"
	                        "Run 'lo2 image import --help' for usage.\n");
	assert_int_equal(tu_lo2_run(NULL, &e3, "image", "inspect", "lo2-test/none:nope", NULL), 1);
	assert_true(lo2_str_has_prefix(e3, "lo2: inspect image lo2-test/none:nope: 404 Not Found: "));
	assert_int_equal(tu_lo2_run(&o4, NULL, "image", "rm", "--help", NULL), 0);
	assert_true(lo2_str_has_prefix(o4, "Usage: lo2 image rm NAME... [--force]\n"));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_build_images_twice_is_noop(void **state)
{
	const char *argv[] = {LO2_SOURCE_DIR "/scripts/build-images", NULL};
	lo2_autofree char *out1 = NULL, *err1 = NULL, *out2 = NULL, *err2 = NULL;
	double t0, elapsed;

	tu_engine();
	setenv("LO2", tu_lo2(), 1);
	setenv("CI", "true", 1); /* a failure is a failure here */
	if (tu_run(argv, NULL, &out1, &err1) != 0) {
		fprintf(stderr, "first build-images:\n%s\n", err1); /* whole: fail_msg cuts long text */
		fail_msg("the first build-images failed");
	}
	t0 = now_s();
	assert_int_equal(tu_run(argv, NULL, &out2, &err2), 0);
	elapsed = now_s() - t0;
	if (strstr(err2, "building ") != NULL)
		fail_msg("the second build-images built something:\n%s", err2);
	assert_non_null(strstr(err2, "lo2-lab/base:bookworm is up to date"));
	assert_non_null(strstr(err2, "lo2-lab/mariadb:latest is up to date"));
	if (elapsed > 5.0)
		fail_msg("the warm build-images took %.1f s", elapsed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_busybox_runs),
	    cmocka_unit_test(test_base_has_the_tools),
	    cmocka_unit_test(test_mariadb_initialises_once),
	    cmocka_unit_test(test_build_bad_instruction),
	    cmocka_unit_test(test_build_context_and_label),
	    cmocka_unit_test(test_build_dockerfile_outside),
	    cmocka_unit_test(test_import_from_lo2_tar),
	    cmocka_unit_test(test_usage_errors),
	    cmocka_unit_test(test_build_images_twice_is_noop),
	};

	tu_engine();
	tu_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
