/* test_mysql.c - mysql/ without a server: the statement splitter on tricky scripts, the
 * excerpt messages show, and password handling (sources, wiping, scrubbing). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mem.h"
#include "mysql/mysql.h"

static struct db_script split_ok(const char *text)
{
	struct db_script sc = {0};
	struct lo2_err err = {0};

	if (db_script_split(text, strlen(text), &sc, &err) < 0)
		fail_msg("split: %s", err.msg);
	return sc;
}

static void expect_stmt(const struct db_script *sc, size_t i, const char *text, size_t line)
{
	assert_true(i < sc->n);
	assert_string_equal(sc->v[i].text, text);
	assert_int_equal(sc->v[i].line, line);
}

/* The shape of light-oauth2's create_mysql.sql. */
static void test_split_light_oauth2_shape(void **state)
{
	const char *sql =
	    "CREATE DATABASE oauth2;\n"
	    "USE oauth2;\n"
	    "\n"
	    "DROP TABLE IF EXISTS client;\n"
	    "CREATE TABLE client (\n"
	    "  client_id VARCHAR(36) NOT NULL,\n"
	    "  client_secret VARCHAR(1024) NOT NULL,\n"
	    "  PRIMARY KEY (client_id)\n"
	    ")\n"
	    "ENGINE=INNODB;\n"
	    "\n"
	    "INSERT INTO client VALUES('f7d4', 'a;b;c', 'http://localhost:8080/authorization;x=1');\n";
	struct db_script sc = split_ok(sql);

	assert_int_equal(sc.n, 5);
	expect_stmt(&sc, 0, "CREATE DATABASE oauth2", 1);
	expect_stmt(&sc, 1, "USE oauth2", 2);
	expect_stmt(&sc, 2, "DROP TABLE IF EXISTS client", 4);
	expect_stmt(
	    &sc, 3,
	    "CREATE TABLE client (\n  client_id VARCHAR(36) NOT NULL,\n  client_secret VARCHAR(1024) NOT "
	    "NULL,\n  PRIMARY KEY (client_id)\n)\nENGINE=INNODB",
	    5);
	expect_stmt(&sc, 4,
	            "INSERT INTO client VALUES('f7d4', 'a;b;c', 'http://localhost:8080/authorization;x=1')",
	            12);
	db_script_free(&sc);
}

static void test_split_comments(void **state)
{
	const char *sql = "-- header; with a semicolon\n"
	                  "# hash comment; too\n"
	                  "/* block; comment\n spanning lines */\n"
	                  "SELECT 1; -- trailing; comment\n"
	                  "SELECT 5--3;\n"
	                  "SELECT 2 /* inline; */ + 1;\n"
	                  "SELECT 'x' # after; a hash\n"
	                  ";\n"
	                  "--\n"
	                  "SELECT 3;\n";
	struct db_script sc = split_ok(sql);

	assert_int_equal(sc.n, 5);
	expect_stmt(&sc, 0, "SELECT 1", 5);
	expect_stmt(&sc, 1, "SELECT 5--3", 6);
	expect_stmt(&sc, 2, "SELECT 2 /* inline; */ + 1", 7);
	expect_stmt(&sc, 3, "SELECT 'x' # after; a hash", 8);
	expect_stmt(&sc, 4, "SELECT 3", 11);
	db_script_free(&sc);
}

static void test_split_quotes(void **state)
{
	const char *sql = "INSERT INTO t VALUES ('it''s; fine', 'back\\'slash;', \"dq\\\";x\");\n"
	                  "SELECT `odd;name` FROM `t``q;`;\n"
	                  "SELECT 'a\\\\';\n"
	                  "SELECT `b\\`;\n";
	struct db_script sc = split_ok(sql);

	assert_int_equal(sc.n, 4);
	expect_stmt(&sc, 0, "INSERT INTO t VALUES ('it''s; fine', 'back\\'slash;', \"dq\\\";x\")", 1);
	expect_stmt(&sc, 1, "SELECT `odd;name` FROM `t``q;`", 2);
	expect_stmt(&sc, 2, "SELECT 'a\\\\'", 3); /* an escaped backslash closes nothing */
	expect_stmt(&sc, 3, "SELECT `b\\`", 4); /* no escapes in backticks */
	db_script_free(&sc);
}

static void test_split_delimiter(void **state)
{
	const char *sql = "DROP PROCEDURE IF EXISTS p;\n"
	                  "DELIMITER $$\n"
	                  "CREATE PROCEDURE p()\n"
	                  "BEGIN\n"
	                  "  SELECT 1;\n"
	                  "  SELECT ';$';\n"
	                  "END$$\n"
	                  "delimiter ;\n"
	                  "CALL p();\n";
	struct db_script sc = split_ok(sql);

	assert_int_equal(sc.n, 3);
	expect_stmt(&sc, 0, "DROP PROCEDURE IF EXISTS p", 1);
	expect_stmt(&sc, 1, "CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT ';$';\nEND", 3);
	expect_stmt(&sc, 2, "CALL p()", 9);
	db_script_free(&sc);
}

static void test_split_edges(void **state)
{
	const char *sql = "/*!40101 SET NAMES utf8 */;\r\n"
	                  ";;\r\n"
	                  "  SELECT\r\n  1  \r\n"
	                  ";\r\n"
	                  "SELECT 'no delimiter at the end'\n\n";
	struct db_script sc = split_ok(sql);

	assert_int_equal(sc.n, 3);
	expect_stmt(&sc, 0, "/*!40101 SET NAMES utf8 */", 1);
	expect_stmt(&sc, 1, "SELECT\r\n  1", 3);
	expect_stmt(&sc, 2, "SELECT 'no delimiter at the end'", 6);
	db_script_free(&sc);

	sc = split_ok("  -- only a comment\n\n");
	assert_int_equal(sc.n, 0);
	db_script_free(&sc);
	sc = split_ok("");
	assert_int_equal(sc.n, 0);
	db_script_free(&sc);
}

static void expect_split_error(const char *sql, const char *msg)
{
	struct db_script sc = {0};
	struct lo2_err err = {0};

	assert_int_equal(db_script_split(sql, strlen(sql), &sc, &err), -1);
	assert_string_equal(err.msg, msg);
	assert_int_equal(err.kind, LO2_E_INVALID);
	assert_int_equal(sc.n, 0);
	assert_null(sc.v);
}

static void test_split_errors(void **state)
{
	expect_split_error("SELECT 1;\nSELECT 'open;\n", "line 2: unterminated '...' string");
	expect_split_error("SELECT 1;\n\nSELECT \"a\\\"", "line 3: unterminated \"...\" string");
	expect_split_error("SELECT `x", "line 1: unterminated `...` string");
	expect_split_error("SELECT 1;\n/* never closed", "line 2: unterminated /* comment");
	expect_split_error("SELECT 1 /* never closed;\n", "line 1: unterminated /* comment");
	expect_split_error("DELIMITER 01234567890123456789\n",
	                   "line 1: DELIMITER needs a delimiter of 1 to 16 characters");
}

static void test_split_length_bounded(void **state)
{
	/* The text is not NUL-terminated at len: nothing past it is read. */
	const char sql[] = {'S', 'E', 'L', 'E', 'C', 'T', ' ', '1', ';',
	                    'S', 'E', 'L', 'E', 'C', 'T', ' ', '\''};
	struct db_script sc = {0};
	struct lo2_err err = {0};

	assert_int_equal(db_script_split(sql, 9, &sc, &err), 0);
	assert_int_equal(sc.n, 1);
	expect_stmt(&sc, 0, "SELECT 1", 1);
	db_script_free(&sc);
}

static void test_excerpt(void **state)
{
	char ex[96];

	db_stmt_excerpt("INSERT INTO nosuch\n   (id, name)\tVALUES (1, 'x')", ex, sizeof(ex));
	assert_string_equal(ex, "INSERT INTO nosuch (id, name) VALUES (1, 'x')");
	db_stmt_excerpt(
	    "CREATE TABLE a_rather_long_table_name (\n  a_rather_long_column_name VARCHAR(255) NOT NULL\n)",
	    ex, sizeof(ex));
	assert_string_equal(ex, "CREATE TABLE a_rather_long_table_name ( a_rather_long_column ...");
	db_stmt_excerpt("CREATE USER 'app'@'%' IDENTIFIED BY 's3cret'", ex, sizeof(ex));
	assert_string_equal(ex, "CREATE USER 'app'@'%' IDENTIFIED ...");
	db_stmt_excerpt("SET PASSWORD FOR app = PASSWORD('s3cret')", ex, sizeof(ex));
	assert_string_equal(ex, "SET PASSWORD ...");
	db_stmt_excerpt("SELECT mypassword FROM t", ex, sizeof(ex));
	assert_string_equal(ex, "SELECT mypassword FROM t");
	db_stmt_excerpt("SELECT 1", ex, 12);
	assert_string_equal(ex, "SELECT ...");
}

static void test_password_env(void **state)
{
	struct lo2_err err = {0};
	char *pw = NULL;

	setenv("LO2_TEST_DB_PW", "s3cret-pw", 1);
	assert_int_equal(db_password_load("LO2_TEST_DB_PW", NULL, &pw, &err), 0);
	assert_string_equal(pw, "s3cret-pw");
	db_password_free(pw);

	unsetenv("LO2_TEST_DB_PW_MISSING");
	assert_int_equal(db_password_load("LO2_TEST_DB_PW_MISSING", NULL, &pw, &err), -1);
	assert_null(pw);
	assert_string_equal(err.msg, "password: environment variable LO2_TEST_DB_PW_MISSING is not set");

	assert_int_equal(db_password_load(NULL, NULL, &pw, &err), -1);
	assert_int_equal(err.kind, LO2_E_USAGE);
	assert_int_equal(db_password_load("A", "/b", &pw, &err), -1);
	assert_int_equal(err.kind, LO2_E_USAGE);
	db_password_free(NULL);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_password_file(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *lf = xasprintf("%s/lf", dir);
	lo2_autofree char *crlf = xasprintf("%s/crlf", dir);
	lo2_autofree char *bare = xasprintf("%s/bare", dir);
	lo2_autofree char *missing = xasprintf("%s/missing", dir);
	struct lo2_err err = {0};
	char *pw = NULL;

	write_text(lf, "pw with spaces \n");
	write_text(crlf, "pw2\r\nsecond line\n");
	write_text(bare, "pw3");
	assert_int_equal(db_password_load(NULL, lf, &pw, &err), 0);
	assert_string_equal(pw, "pw with spaces ");
	db_password_free(pw);
	assert_int_equal(db_password_load(NULL, crlf, &pw, &err), 0);
	assert_string_equal(pw, "pw2");
	db_password_free(pw);
	assert_int_equal(db_password_load(NULL, bare, &pw, &err), 0);
	assert_string_equal(pw, "pw3");
	db_password_free(pw);
	assert_int_equal(db_password_load(NULL, missing, &pw, &err), -1);
	assert_non_null(strstr(err.msg, "password file"));
	assert_non_null(strstr(err.msg, missing));
	tu_rm_rf(dir);
}

static void test_scrub(void **state)
{
	struct lo2_err err = {0};

	lo2_err_set(&err, LO2_E_AUTH, "bad hunter22 and hunter22 again");
	db_err_scrub(&err, "hunter22");
	assert_string_equal(err.msg, "bad *** and *** again");
	db_err_scrub(&err, "***"); /* too short to scrub: unchanged, and no loop */
	assert_string_equal(err.msg, "bad *** and *** again");
	db_err_scrub(&err, NULL);
	db_err_scrub(&err, "");
	assert_string_equal(err.msg, "bad *** and *** again");
	lo2_err_set(&err, LO2_E_AUTH, "x****y");
	db_err_scrub(&err, "****");
	assert_string_equal(err.msg, "x***y");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split_light_oauth2_shape),
	    cmocka_unit_test(test_split_comments),
	    cmocka_unit_test(test_split_quotes),
	    cmocka_unit_test(test_split_delimiter),
	    cmocka_unit_test(test_split_edges),
	    cmocka_unit_test(test_split_errors),
	    cmocka_unit_test(test_split_length_bounded),
	    cmocka_unit_test(test_excerpt),
	    cmocka_unit_test(test_password_env),
	    cmocka_unit_test(test_password_file),
	    cmocka_unit_test(test_scrub),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
