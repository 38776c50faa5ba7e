/* test_tar.c - the tar writer (headers checked byte by byte, and whole archives read back by
 * Python's tarfile), the .dockerignore matcher, and the build context walk. */
#include "testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/dockerignore.h"
#include "common/mem.h"
#include "common/tar.h"

/* Python that lists an archive: one "name type size mode linkname" line per member. */
static const char list_py[] =
    "import sys, tarfile\n"
    "with tarfile.open(sys.argv[1]) as t:\n"
    "    for m in t.getmembers():\n"
    "        print(m.name, m.type.decode(), m.size, oct(m.mode), m.linkname or '-',\n"
    "              m.uid, m.gid, t.extractfile(m).read().decode()[:20] if m.isfile() else '-')\n";

static bool have_python(void)
{
	return access("/usr/bin/python3", X_OK) == 0;
}

/* Writes t to a temp file and returns Python's listing of it (caller frees). */
static char *list_archive(struct lo2_tar *t, const char *dir)
{
	lo2_autofree char *path = xasprintf("%s/out.tar", dir);
	struct lo2_err err = {0};
	char *out = NULL, *errs = NULL;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	const char *argv[] = {"/usr/bin/python3", "-c", list_py, path, NULL};
	int rc;

	assert_true(fd >= 0);
	assert_int_equal(lo2_tar_write_fd(t, fd, &err), 0);
	close(fd);
	rc = tu_run(argv, NULL, &out, &errs);
	if (rc != 0)
		fprintf(stderr, "python: %s\n", errs);
	assert_int_equal(rc, 0);
	free(errs);
	return out;
}

static unsigned long octal(const char *p, size_t n)
{
	char b[16] = {0};

	memcpy(b, p, n < 15 ? n : 15);
	return strtoul(b, NULL, 8);
}

static void test_header_ustar(void **state)
{
	struct lo2_tar_hdr h = {
	    .name = "etc/passwd", .type = LO2_TAR_FILE, .mode = 0644, .size = 1234, .mtime = 1700000000};
	char *b = NULL;
	size_t len = 0;
	unsigned sum = 0;

	lo2_tar_encode_header(&h, &b, &len);
	assert_int_equal(len, LO2_TAR_BLOCK);
	assert_string_equal(b, "etc/passwd");
	assert_int_equal(octal(b + 100, 8), 0644);
	assert_int_equal(octal(b + 124, 12), 1234);
	assert_int_equal(octal(b + 136, 12), 1700000000);
	assert_int_equal(b[156], '0');
	assert_memory_equal(b + 257,
	                    "ustar\0"
	                    "00",
	                    8);
	for (size_t i = 0; i < LO2_TAR_BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : (unsigned char)b[i];
	assert_int_equal(octal(b + 148, 8), sum);
	free(b);
}

static void test_header_dir_and_prefix(void **state)
{
	char name[200];
	struct lo2_tar_hdr h = {.name = "a/b", .type = LO2_TAR_DIR, .mode = 0755};
	char *b = NULL;
	size_t len = 0;

	lo2_tar_encode_header(&h, &b, &len);
	assert_string_equal(b, "a/b/");
	assert_int_equal(b[156], '5');
	free(b);
	/* 150 bytes: fits ustar's prefix/name split, so no PAX header */
	memset(name, 'x', 150);
	name[60] = '/';
	name[150] = '\0';
	h = (struct lo2_tar_hdr){.name = name, .type = LO2_TAR_FILE, .mode = 0600};
	lo2_tar_encode_header(&h, &b, &len);
	assert_int_equal(len, LO2_TAR_BLOCK);
	assert_int_equal(strnlen(b + 345, 155), 60);
	assert_string_equal(b, name + 61);
	free(b);
}

static void test_header_pax(void **state)
{
	char name[400];
	struct lo2_tar_hdr h = {.type = LO2_TAR_FILE, .mode = 0644, .size = 9ULL << 30};
	char *b = NULL;
	size_t len = 0;

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	h.name = name;
	lo2_tar_encode_header(&h, &b, &len);
	assert_int_equal(len, 3 * LO2_TAR_BLOCK); /* PAX header, its 1-block data, the ustar header */
	assert_int_equal(b[156], 'x');
	assert_non_null(strstr(b + LO2_TAR_BLOCK, " path=nnn"));
	assert_non_null(strstr(b + LO2_TAR_BLOCK, " size=9663676416\n"));
	free(b);
}

static void test_archive_roundtrip(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *f = xasprintf("%s/hello.sh", dir);
	lo2_autofree char *l = xasprintf("%s/link", dir);
	lo2_autofree char *out = NULL;
	char longname[300], longlink[200], expect[1024];
	struct lo2_tar *t = lo2_tar_new();
	struct lo2_err err = {0};
	FILE *fp;

	if (!have_python()) {
		lo2_tar_free(t);
		skip();
	}
	fp = fopen(f, "w");
	fputs("#!/bin/sh\necho hi\n", fp);
	fclose(fp);
	chmod(f, 0755);
	memset(longlink, 'L', sizeof(longlink) - 1);
	longlink[sizeof(longlink) - 1] = '\0';
	assert_int_equal(symlink(longlink, l), 0);
	memset(longname, 'd', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(lo2_tar_add_path(t, dir, "top", &err), 0);
	assert_int_equal(lo2_tar_add_path(t, f, "top/hello.sh", &err), 0);
	assert_int_equal(lo2_tar_add_path(t, l, "top/link", &err), 0);
	lo2_tar_add_data(t, longname, "abc", 3, 0600);
	lo2_tar_add_data(t, "empty", "", 0, 0644);
	assert_int_equal(lo2_tar_count(t), 5);
	out = list_archive(t, dir);
	snprintf(expect, sizeof(expect),
	         "top 5 0 0o700 - 0 0 -\n"
	         "top/hello.sh 0 18 0o755 - 0 0 #!/bin/sh\necho hi\n\n"
	         "top/link 2 0 0o777 %s 0 0 -\n"
	         "%s 0 3 0o600 - 0 0 abc\n"
	         "empty 0 0 0o644 - 0 0 \n",
	         longlink, longname);
	assert_string_equal(out, expect);
	lo2_tar_free(t);
	tu_rm_rf(dir);
}

static void test_archive_file_shrank(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *f = xasprintf("%s/data", dir);
	struct lo2_tar *t = lo2_tar_new();
	struct lo2_err err = {0};
	char buf[4096];
	ssize_t r;
	FILE *fp = fopen(f, "w");

	fputs("0123456789", fp);
	fclose(fp);
	assert_int_equal(lo2_tar_add_path(t, f, "data", &err), 0);
	assert_int_equal(truncate(f, 4), 0);
	do {
		r = lo2_tar_read(t, buf, sizeof(buf), &err);
	} while (r > 0);
	assert_int_equal(r, -1);
	assert_non_null(strstr(err.msg, "shrank while it was being archived"));
	lo2_tar_free(t);
	tu_rm_rf(dir);
}

static void test_archive_missing_file(void **state)
{
	struct lo2_tar *t = lo2_tar_new();
	struct lo2_err err = {0};

	assert_int_equal(lo2_tar_add_path(t, "/nonexistent/lo2-file", "x", &err), -1);
	assert_string_equal(err.msg, "tar: stat /nonexistent/lo2-file: No such file or directory");
	lo2_tar_free(t);
}

struct ignore_case {
	const char *patterns;
	const char *path;
	bool excluded;
};

static void test_dockerignore_cases(void **state)
{
	static const struct ignore_case cases[] = {
	    {"*.md", "README.md", true},
	    {"*.md", "docs/README.md", false}, /* '*' does not cross '/' */
	    {"**/*.md", "docs/README.md", true},
	    {"**/*.md", "README.md", true},
	    {"docs", "docs/a/b.txt", true}, /* a matching parent excludes what is inside */
	    {"/docs", "docs/x", true},
	    {"./docs/", "docs/x", true},
	    {"docs/**", "docs", false},
	    {"docs/**", "docs/x/y", true},
	    {"a/**/b", "a/b", true},
	    {"a/**/b", "a/x/y/b", true},
	    {"a/**/b", "a/x/y/c", false},
	    {"*\n!keep.md", "keep.md", false},
	    {"*\n!keep.md", "other.md", true},
	    {"*.md\n!README*.md\nREADME-secret.md", "README-secret.md", true},
	    {"*.md\n!README*.md\nREADME-secret.md", "README-public.md", false},
	    {"# comment\n\n  build  \n", "build/out.o", true},
	    {"# comment", "# comment", false},
	    {"file?.txt", "file1.txt", true},
	    {"file?.txt", "file10.txt", false},
	    {"[a-c].log", "b.log", true},
	    {"[^a-c].log", "b.log", false},
	    {"[^a-c].log", "d.log", true},
	    {"\\*.txt", "*.txt", true},
	    {"\\*.txt", "a.txt", false},
	    {"a/../b", "b/x", true},
	    {"node_modules\n!node_modules/keep", "node_modules/keep/x.js", false},
	    {"node_modules\n!node_modules/keep", "node_modules/other.js", true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lo2_ignore *ig = NULL;
		struct lo2_err err = {0};
		bool got;

		assert_int_equal(lo2_ignore_parse(cases[i].patterns, ".dockerignore", &ig, &err), 0);
		got = lo2_ignore_matches(ig, cases[i].path);
		if (got != cases[i].excluded)
			fail_msg("patterns [%s] path %s: excluded=%d, want %d", cases[i].patterns,
			         cases[i].path, got, cases[i].excluded);
		lo2_ignore_free(ig);
	}
}

static void test_dockerignore_bad_pattern(void **state)
{
	struct lo2_ignore *ig = NULL;
	struct lo2_err err = {0};

	assert_int_equal(lo2_ignore_parse("ok\n[abc\n", ".dockerignore", &ig, &err), -1);
	assert_string_equal(err.msg, ".dockerignore:2: bad pattern '[abc'");
	assert_null(ig);
}

/* Many '*' in a segment or many "**" segments (found by fuzz_dockerignore: a 15 s timeout) are
 * matched without exponential backtracking; before, each of these ran for hours. */
static void test_dockerignore_many_stars(void **state)
{
	struct lo2_ignore *ig = NULL;
	struct lo2_err err = {0};
	struct lo2_buf path = LO2_BUF_INIT;
	char seg[80];

	memset(seg, 'a', sizeof(seg) - 1);
	seg[sizeof(seg) - 1] = '\0';
	assert_int_equal(lo2_ignore_parse("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b\n"
	                                  "**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/**/x\n"
	                                  "?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*[!a]\n",
	                                  ".dockerignore", &ig, &err),
	                 0);
	assert_false(lo2_ignore_matches(ig, seg));
	for (int i = 0; i < 60; i++)
		lo2_buf_puts(&path, "a/");
	lo2_buf_puts(&path, "y");
	assert_false(lo2_ignore_matches(ig, path.data));
	path.data[path.len - 1] = 'x';
	assert_true(lo2_ignore_matches(ig, path.data));
	seg[sizeof(seg) - 2] = 'b';
	assert_true(lo2_ignore_matches(ig, seg));
	lo2_buf_free(&path);
	lo2_ignore_free(ig);
}

static void write_file(const char *dir, const char *rel, const char *text)
{
	lo2_autofree char *p = xasprintf("%s/%s", dir, rel);
	FILE *fp = fopen(p, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_build_context(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *sub = xasprintf("%s/ctx", dir);
	lo2_autofree char *p = NULL;
	lo2_autofree char *out = NULL;
	struct lo2_tar *t = NULL;
	struct lo2_err err = {0};

	if (!have_python())
		skip();
	assert_int_equal(mkdir(sub, 0755), 0);
	p = xasprintf("%s/ctx/logs", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	write_file(sub, "Dockerfile", "FROM scratch\n");
	write_file(sub, ".dockerignore", "Dockerfile\n.dockerignore\nlogs\n*.tmp\n!keep.tmp\n");
	write_file(sub, "a.txt", "a");
	write_file(sub, "x.tmp", "x");
	write_file(sub, "keep.tmp", "k");
	write_file(sub, "logs/big.log", "log");
	assert_int_equal(lo2_build_context(sub, NULL, &t, &err), 0);
	out = list_archive(t, dir);
	/* Dockerfile and .dockerignore are sent although the patterns exclude them, as docker does */
	assert_string_equal(out, ".dockerignore 0 46 0o644 - 0 0 Dockerfile\n.dockerig\n"
	                         "Dockerfile 0 13 0o644 - 0 0 FROM scratch\n\n"
	                         "a.txt 0 1 0o644 - 0 0 a\n"
	                         "keep.tmp 0 1 0o644 - 0 0 k\n");
	lo2_tar_free(t);
	tu_rm_rf(dir);
}

static void test_build_context_missing(void **state)
{
	struct lo2_tar *t = NULL;
	struct lo2_err err = {0};

	assert_int_equal(lo2_build_context("/nonexistent/ctx", NULL, &t, &err), -1);
	assert_string_equal(err.msg, "build context /nonexistent/ctx: No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_ustar),
	    cmocka_unit_test(test_header_dir_and_prefix),
	    cmocka_unit_test(test_header_pax),
	    cmocka_unit_test(test_archive_roundtrip),
	    cmocka_unit_test(test_archive_file_shrank),
	    cmocka_unit_test(test_archive_missing_file),
	    cmocka_unit_test(test_dockerignore_cases),
	    cmocka_unit_test(test_dockerignore_bad_pattern),
	    cmocka_unit_test(test_dockerignore_many_stars),
	    cmocka_unit_test(test_build_context),
	    cmocka_unit_test(test_build_context_missing),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
