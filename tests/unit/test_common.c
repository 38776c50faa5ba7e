/* test_common.c - common/: the gzip sink round trip and atomicity, file sinks, time parsing
 * and formatting, name validation, capped buffers, errors, JSON. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/sha256.h"
#include "common/sink.h"
#include "common/str.h"
#include "common/time.h"

static bool exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static void test_gzip_roundtrip(void **state)
{
	char *dir = tu_tmpdir();
	char *path = xasprintf("%s/out.log.gz", dir);
	struct lo2_sink *s = NULL;
	struct lo2_err err = {0};
	struct lo2_buf want = LO2_BUF_INIT;
	size_t len = 0;
	char *got;

	assert_int_equal(lo2_sink_open_path(path, &s, &err), 0);
	for (int i = 0; i < 200000; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "line %d of the log\n", i);

		lo2_buf_append(&want, line, (size_t)n);
		assert_int_equal(lo2_sink_write(s, line, (size_t)n, &err), 0);
	}
	/* Not visible under its final name until committed. */
	assert_false(exists(path));
	assert_int_equal(lo2_sink_commit(s, &err), 0);
	assert_true(exists(path));
	got = tu_read(path, &len);
	assert_int_equal(len, want.len);
	assert_memory_equal(got, want.data, len);
	free(got);
	lo2_buf_free(&want);
	tu_rm_rf(dir);
	free(path);
	free(dir);
}

static void test_sink_abort_leaves_nothing(void **state)
{
	char *dir = tu_tmpdir();
	char *path = xasprintf("%s/x.log", dir);
	char *gz = xasprintf("%s/y.log.gz", dir);
	struct lo2_sink *s = NULL;
	struct lo2_err err = {0};
	char *cmd_out = NULL;
	const char *ls[] = {"ls", "-A", dir, NULL};

	assert_int_equal(lo2_sink_open_path(path, &s, &err), 0);
	assert_int_equal(lo2_sink_write(s, "abc", 3, &err), 0);
	lo2_sink_abort(s);
	assert_int_equal(lo2_sink_gzip_open(gz, 9, &s, &err), 0);
	assert_int_equal(lo2_sink_write(s, "abc", 3, &err), 0);
	lo2_sink_abort(s);
	assert_int_equal(tu_run(ls, NULL, &cmd_out, NULL), 0);
	assert_string_equal(cmd_out, "");
	assert_int_equal(lo2_sink_gzip_open(gz, 11, &s, &err), -1);
	assert_true(strstr(err.msg, "level 11 is not 1..9") != NULL);
	assert_int_equal(lo2_sink_open_path("/nonexistent-dir/x.log", &s, &err), -1);
	assert_true(lo2_str_has_prefix(err.msg, "create /nonexistent-dir/x.log.tmp."));
	assert_true(strstr(err.msg, "No such file or directory") != NULL);
	free(cmd_out);
	tu_rm_rf(dir);
	free(path);
	free(gz);
	free(dir);
}

static void test_memory_sink_cap(void **state)
{
	struct lo2_buf b = {.max = 4};
	struct lo2_sink *s = lo2_sink_memory_new(&b);
	struct lo2_err err = {0};

	assert_int_equal(lo2_sink_write(s, "abcd", 4, &err), 0);
	assert_int_equal(lo2_sink_write(s, "e", 1, &err), -1);
	assert_string_equal(err.msg, "write to memory sink: over its 4 byte cap");
	assert_int_equal(lo2_sink_commit(s, &err), 0);
	assert_string_equal(b.data, "abcd");
	lo2_buf_free(&b);
}

static void test_time(void **state)
{
	int64_t ns = 0;
	struct lo2_err err = {0};
	char out[64];

	assert_int_equal(lo2_time_parse("1700000000", &ns, &err), 0);
	assert_int_equal(ns, 1700000000000000000LL);
	assert_int_equal(lo2_time_parse("1700000000.123456789", &ns, &err), 0);
	assert_int_equal(ns, 1700000000123456789LL);
	assert_int_equal(lo2_time_parse("1700000000.5", &ns, &err), 0);
	assert_int_equal(ns, 1700000000500000000LL);
	assert_int_equal(lo2_time_parse("2025-02-16T22:55:05Z", &ns, &err), 0);
	assert_int_equal(ns, 1739746505000000000LL);
	/* the zero time engines and Prometheus write for "never" is out of reach, not an overflow */
	assert_int_equal(lo2_time_parse("0001-01-01T00:00:00Z", &ns, &err), -1);
	assert_int_equal(lo2_time_parse("2025-02-16T22:55:05.000001+00:00", &ns, &err), 0);
	assert_int_equal(ns, 1739746505000001000LL);
	assert_int_equal(lo2_time_parse("2025-02-16T23:55:05+01:00", &ns, &err), 0);
	assert_int_equal(ns, 1739746505000000000LL);
	/* Outside int64 nanoseconds (found by fuzz_container_inspect): refused, no overflow. */
	assert_int_equal(lo2_time_parse("1012-01-01T00:00:00Z", &ns, &err), -1);
	assert_int_equal(lo2_time_parse("2300-01-01T00:00:00.5+01:00", &ns, &err), -1);
	assert_int_equal(lo2_time_parse("yesterday", &ns, &err), -1);
	assert_string_equal(
	    err.msg,
	    "invalid time \"yesterday\": expected unix seconds (with optional fraction) or RFC 3339");
	assert_int_equal(lo2_time_parse("17.", &ns, &err), -1);
	assert_int_equal(lo2_time_parse("-5", &ns, &err), -1);
	lo2_time_fmt_unix(1700000000000000042LL, out, sizeof(out));
	assert_string_equal(out, "1700000000.000000042");
	lo2_time_fmt_rfc3339(1739746505123456789LL, 6, out, sizeof(out));
	assert_string_equal(out, "2025-02-16T22:55:05.123456Z");
	lo2_time_fmt_rfc3339(1739746505123456789LL, 0, out, sizeof(out));
	assert_string_equal(out, "2025-02-16T22:55:05Z");
}

static void test_name_check(void **state)
{
	struct lo2_err err = {0};

	assert_int_equal(lo2_name_check("tag", "access_token_auth_header_error_401", &err), 0);
	assert_int_equal(lo2_name_check("container", "light-oauth2-mysqldb-1", &err), 0);
	assert_int_equal(lo2_name_check("tag", "../x", &err), -1);
	assert_string_equal(err.msg, "invalid tag name \"../x\": contains a path separator");
	assert_int_equal(lo2_name_check("metric", "a/b", &err), -1);
	assert_int_equal(lo2_name_check("tag", "..", &err), -1);
	assert_string_equal(err.msg, "invalid tag name \"..\": '.' and '..' are not names");
	assert_int_equal(lo2_name_check("service", "bad\nname", &err), -1);
	assert_string_equal(err.msg, "invalid service name \"bad\\x0aname\": contains a control character");
	assert_int_equal(lo2_name_check("tag", "", &err), -1);
	assert_string_equal(err.msg, "invalid tag name: empty");
}

static void test_buf_and_err(void **state)
{
	struct lo2_buf b = {.max = 8};
	struct lo2_err err = {0};

	assert_int_equal(lo2_buf_puts(&b, "12345"), 0);
	assert_int_equal(lo2_buf_puts(&b, "6789"), -1);
	assert_string_equal(b.data, "12345");
	lo2_buf_consume(&b, 2);
	assert_string_equal(b.data, "345");
	lo2_buf_free(&b);
	lo2_err_set(&err, LO2_E_CONFLICT, "create container %s: 409 Conflict", "x-1");
	lo2_err_prefix(&err, "deploy %s", "demo");
	assert_string_equal(err.msg, "deploy demo: create container x-1: 409 Conflict");
	assert_int_equal(err.kind, LO2_E_CONFLICT);
}

static void test_atomic_write(void **state)
{
	char *dir = tu_tmpdir();
	char *sub = xasprintf("%s/a/b/c", dir);
	char *path = xasprintf("%s/run.json", sub);
	struct lo2_err err = {0};
	char *got = NULL;
	size_t len = 0;

	assert_int_equal(lo2_mkdir_p(sub, 0755, &err), 0);
	assert_int_equal(lo2_write_file_atomic(path, "{\"a\":1}", 7, &err), 0);
	assert_int_equal(lo2_write_file_atomic(path, "{\"a\":2}", 7, &err), 0);
	assert_int_equal(lo2_read_file(path, 100, &got, &len, &err), 0);
	assert_string_equal(got, "{\"a\":2}");
	free(got);
	assert_int_equal(lo2_read_file(path, 3, &got, &len, &err), -1);
	tu_rm_rf(dir);
	free(path);
	free(sub);
	free(dir);
}

/* A FIFO (or any non-regular file) given as an input is refused at once: opening it used to wait
 * forever for a writer (`lo2 config -f FIFO`). */
static void test_read_file_fifo(void **state)
{
	char *dir = tu_tmpdir();
	char *path = xasprintf("%s/compose.yml", dir), *want;
	struct lo2_err err = {0};
	char *got = NULL;

	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(lo2_read_file(path, 100, &got, NULL, &err), -1);
	want = xasprintf("read %s: not a regular file (a FIFO)", path);
	assert_string_equal(err.msg, want);
	assert_int_equal(lo2_read_file(dir, 100, &got, NULL, &err), -1);
	free(want);
	want = xasprintf("read %s: not a regular file (a folder)", dir);
	assert_string_equal(err.msg, want);
	free(want);
	tu_rm_rf(dir);
	free(path);
	free(dir);
}

static void test_json(void **state)
{
	struct lo2_json *doc = NULL;
	struct lo2_err err = {0};
	struct lo2_jw *w;
	char *s;
	int64_t n = 0;

	assert_int_equal(lo2_json_parse("{\"a\":{\"b\":[1,\"x\",true,null]},\"n\":1.5e3}", "doc", &doc, &err),
	                 0);
	assert_true(lo2_json_int(lo2_json_at(lo2_json_path(doc, "a", "b", NULL), 0), &n));
	assert_int_equal(n, 1);
	assert_string_equal(lo2_json_str(lo2_json_at(lo2_json_path(doc, "a", "b", NULL), 1)), "x");
	assert_null(lo2_json_str(lo2_json_path(doc, "a", "missing", "deeper", NULL)));
	assert_string_equal(lo2_json_num_text(lo2_json_get(doc, "n")), "1.5e3");
	w = lo2_jw_new(NULL);
	lo2_jw_node(w, doc);
	s = lo2_jw_finish(w, NULL);
	assert_string_equal(s, "{\"a\":{\"b\":[1,\"x\",true,null]},\"n\":1.5e3}");
	free(s);
	lo2_json_free(doc);
	assert_int_equal(lo2_json_parse("{\"a\":", "engine /version", &doc, &err), -1);
	assert_true(lo2_str_has_prefix(err.msg, "parse engine /version: malformed JSON: "));
}

static void test_sha256(void **state)
{
	char hex[65];
	struct lo2_sha256 c;
	char *million = xmalloc(1000000);

	/* FIPS 180-4 / NIST test vectors. */
	lo2_sha256_hex_of("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	lo2_sha256_hex_of("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	lo2_sha256_hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	memset(million, 'a', 1000000);
	lo2_sha256_init(&c);
	for (size_t off = 0; off < 1000000; off += 999)
		lo2_sha256_update(&c, million + off, 1000000 - off < 999 ? 1000000 - off : 999);
	lo2_sha256_hex(&c, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(million);
}

/* ---- output targets: only a missing path or a regular file is renamed over ---- */

static mode_t kind_of(const char *p)
{
	struct stat st;

	assert_int_equal(lstat(p, &st), 0);
	return st.st_mode & S_IFMT;
}

/* No temp file left behind in dir. */
static void assert_no_tmp(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		assert_null(strstr(de->d_name, ".tmp."));
	closedir(d);
}

struct fifo_reader {
	const char *path;
	struct lo2_buf got;
	pthread_t th;
};

static void *read_fifo(void *arg)
{
	struct fifo_reader *r = arg;
	char buf[4096];
	ssize_t n;
	int fd = open(r->path, O_RDONLY);

	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		lo2_buf_append(&r->got, buf, (size_t)n);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void start_reader(struct fifo_reader *r, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->path = path;
	assert_int_equal(pthread_create(&r->th, NULL, read_fifo, r), 0);
}

static void test_output_devices(void **state)
{
	char *dir = tu_tmpdir();
	char *null = xasprintf("%s/null", dir), *full = xasprintf("%s/full", dir);
	char *nullgz = xasprintf("%s/null.gz", dir);
	struct lo2_sink *s = NULL;
	struct lo2_err err = {0};

	if (mknod(null, S_IFCHR | 0666, makedev(1, 3)) != 0 ||
	    mknod(full, S_IFCHR | 0666, makedev(1, 7)) != 0 ||
	    mknod(nullgz, S_IFCHR | 0666, makedev(1, 3)) != 0) {
		int e = errno;

		tu_rm_rf(dir);
		free(dir);
		free(null);
		free(full);
		free(nullgz);
		if (getenv("CI") != NULL && strcmp(getenv("CI"), "true") == 0)
			fail_msg("mknod in %s: %s (CI runs as root)", dir, strerror(e));
		skip(); /* mknod needs CAP_MKNOD (root) */
	}
	/* Like /dev/null: written, still the device node. */
	assert_int_equal(lo2_write_file_atomic(null, "data\n", 5, &err), 0);
	assert_int_equal(kind_of(null), S_IFCHR);
	/* Like /dev/full: the device's own error, and the node stays. */
	assert_int_equal(lo2_write_file_atomic(full, "data\n", 5, &err), -1);
	assert_true(strstr(err.msg, "No space left on device") != NULL);
	assert_int_equal(kind_of(full), S_IFCHR);
	/* A .gz device still gets the gzip sink, written directly. */
	assert_int_equal(lo2_sink_open_path(nullgz, &s, &err), 0);
	assert_int_equal(lo2_sink_write(s, "x", 1, &err), 0);
	assert_int_equal(lo2_sink_commit(s, &err), 0);
	assert_int_equal(kind_of(nullgz), S_IFCHR);
	assert_no_tmp(dir);
	tu_rm_rf(dir);
	free(dir);
	free(null);
	free(full);
	free(nullgz);
}

static void test_output_fifo_and_symlinks(void **state)
{
	char *dir = tu_tmpdir();
	char *fifo = xasprintf("%s/pipe.gz", dir), *file = xasprintf("%s/file", dir);
	char *link = xasprintf("%s/link", dir), *flink = xasprintf("%s/flink", dir);
	char *dangle = xasprintf("%s/dangle", dir), *missing = xasprintf("%s/missing", dir);
	struct fifo_reader r;
	struct lo2_sink *s = NULL;
	struct lo2_err err = {0};
	char *text;

	assert_int_equal(mkfifo(fifo, 0600), 0);
	start_reader(&r, fifo);
	assert_int_equal(lo2_sink_open_path(fifo, &s, &err), 0);
	assert_int_equal(lo2_sink_write(s, "hello\n", 6, &err), 0);
	assert_int_equal(lo2_sink_commit(s, &err), 0);
	pthread_join(r.th, NULL);
	assert_true(r.got.len > 2 && (unsigned char)r.got.data[0] == 0x1f &&
	            (unsigned char)r.got.data[1] == 0x8b);
	assert_int_equal(kind_of(fifo), S_IFIFO);
	lo2_buf_free(&r.got);

	/* A symlink to a regular file: the file is replaced, the link stays. */
	assert_int_equal(lo2_write_file_atomic(file, "old", 3, &err), 0);
	assert_int_equal(symlink("file", link), 0);
	assert_int_equal(lo2_write_file_atomic(link, "new", 3, &err), 0);
	assert_int_equal(kind_of(link), S_IFLNK);
	text = tu_read(file, NULL);
	assert_string_equal(text, "new");
	free(text);
	/* A symlink to a FIFO: written through, both stay. */
	assert_int_equal(symlink("pipe.gz", flink), 0);
	start_reader(&r, fifo);
	assert_int_equal(lo2_write_file_atomic(flink, "through", 7, &err), 0);
	pthread_join(r.th, NULL);
	assert_string_equal(r.got.data, "through");
	assert_int_equal(kind_of(flink), S_IFLNK);
	assert_int_equal(kind_of(fifo), S_IFIFO);
	lo2_buf_free(&r.got);
	/* A dangling symlink is refused and left alone; a folder is refused. */
	assert_int_equal(symlink("missing", dangle), 0);
	assert_int_equal(lo2_write_file_atomic(dangle, "x", 1, &err), -1);
	assert_true(lo2_str_has_prefix(err.msg, "output "));
	assert_true(strstr(err.msg,
	                   "/dangle is a symlink lo2 cannot follow (it writes through a symlink only "
	                   "to something that exists): No such file or directory") != NULL);
	assert_int_equal(kind_of(dangle), S_IFLNK);
	assert_false(exists(missing));
	assert_int_equal(lo2_write_file_atomic(dir, "x", 1, &err), -1);
	assert_true(strstr(err.msg, " is a folder: name a file") != NULL);
	assert_no_tmp(dir);
	tu_rm_rf(dir);
	free(dir);
	free(fifo);
	free(file);
	free(link);
	free(flink);
	free(dangle);
	free(missing);
}

/* "-" is standard output, written directly. */
static void test_output_stdout(void **state)
{
	char *dir = tu_tmpdir();
	char *path = xasprintf("%s/captured", dir);
	int saved = dup(STDOUT_FILENO), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	struct lo2_err err = {0};
	char *text;
	int rc;

	assert_true(saved >= 0 && fd >= 0);
	fflush(stdout);
	dup2(fd, STDOUT_FILENO);
	close(fd);
	rc = lo2_write_file_atomic("-", "to stdout\n", 10, &err);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	assert_int_equal(rc, 0);
	assert_false(exists("-"));
	text = tu_read(path, NULL);
	assert_string_equal(text, "to stdout\n");
	free(text);
	tu_rm_rf(dir);
	free(dir);
	free(path);
}

/* ---- logging: the library prints nothing unless the program installed a sink ---- */

static void collect_log(void *user, enum lo2_log_level level, const char *msg)
{
	lo2_buf_printf(user, "%s|%s;", lo2_log_level_name(level), msg);
}

static void test_log_sink(void **state)
{
	char *dir = tu_tmpdir();
	char *path = xasprintf("%s/stderr", dir);
	int saved = dup(STDERR_FILENO), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	struct lo2_buf got = LO2_BUF_INIT;
	size_t len = 1;
	char *text;

	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	lo2_log_set_level(LO2_LOG_DEBUG);
	lo2_warn("no sink: %d", 1);
	lo2_debug("no sink either");
	lo2_log_set_sink(collect_log, &got);
	lo2_warn("a %s", "warning");
	lo2_debug("engine: GET %s", "/v1.41/_ping");
	lo2_log_set_level(LO2_LOG_INFO);
	lo2_debug("below the level");
	lo2_log_set_sink(NULL, NULL);
	lo2_info("sink removed");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	text = tu_read(path, &len);
	assert_int_equal(len, 0);
	assert_string_equal(got.data, "warning|a warning;debug|engine: GET /v1.41/_ping;");
	free(text);
	lo2_buf_free(&got);
	tu_rm_rf(dir);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gzip_roundtrip),
	    cmocka_unit_test(test_sink_abort_leaves_nothing),
	    cmocka_unit_test(test_memory_sink_cap),
	    cmocka_unit_test(test_time),
	    cmocka_unit_test(test_name_check),
	    cmocka_unit_test(test_buf_and_err),
	    cmocka_unit_test(test_atomic_write),
	    cmocka_unit_test(test_read_file_fifo),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_sha256),
	    cmocka_unit_test(test_output_devices),
	    cmocka_unit_test(test_output_fifo_and_symlinks),
	    cmocka_unit_test(test_output_stdout),
	    cmocka_unit_test(test_log_sink),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
