/* cmd_mysql.c - `lo2 mysql wait|exec`: the command line of mysql/ (readiness and SQL scripts).
 * Passwords come from an environment variable, a file, or the compose service's container,
 * never from the command line. */
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/err.h"
#include "common/mem.h"
#include "compose/compose.h"
#include "engine/engine.h"
#include "mysql/mysql.h"

#define WAIT_TIMEOUT_S 60.0
#define EXEC_TIMEOUT_S 60.0
#define SETTLE_S 1.5

struct mysql_args {
	const char *cmd; /* "mysql wait" or "mysql exec" */
	const char *host, *user, *database, *password_env, *password_file;
	unsigned port;
	double timeout_s, settle_s;
	const char *sql_file;
	const char *service, *compose_file, *project;
};

/* What the parsed flags resolve to: a target whose strings point into args or into owned. */
struct mysql_conn {
	struct db_target target;
	struct db_service_addr svc;
	char *password;
};

enum flag_kind { FLAG_STR, FLAG_PORT, FLAG_SECONDS, FLAG_REFUSED };
enum { FOR_WAIT = 1, FOR_EXEC = 2, FOR_BOTH = 3 };

/* The flags of both subcommands: parsing and --help come from this one table. */
struct flag {
	const char *name;
	char short_name;
	const char *metavar; /* NULL: not shown in --help */
	enum flag_kind kind;
	size_t offset; /* into struct mysql_args */
	unsigned used_by;
	const char *help; /* "\n" continues on an indented line */
};

#define ARG(f) offsetof(struct mysql_args, f)
static const struct flag flags[] = {
    {"host", 0, "H", FLAG_STR, ARG(host), FOR_BOTH, "server address (default 127.0.0.1; always TCP)"},
    {"port", 0, "P", FLAG_PORT, ARG(port), FOR_BOTH, "port (default 3306)"},
    {"user", 0, "U", FLAG_STR, ARG(user), FOR_BOTH, "user (default root)"},
    {"password-env", 0, "VAR", FLAG_STR, ARG(password_env), FOR_BOTH,
     "the password is in environment variable VAR"},
    {"password-file", 0, "F", FLAG_STR, ARG(password_file), FOR_BOTH,
     "the password is the first line of file F"},
    {"database", 0, "D", FLAG_STR, ARG(database), FOR_WAIT, "the database to connect to (waited for)"},
    {"database", 0, "D", FLAG_STR, ARG(database), FOR_EXEC, "the database to connect to"},
    {"service", 0, "NAME", FLAG_STR, ARG(service), FOR_BOTH,
     "the running container of compose service NAME instead of --host\n"
     "and --port: its published 3306/tcp, else its address on the\n"
     "project network; without --password-*, the password is its\n"
     "MYSQL_ROOT_PASSWORD (read from the engine, never printed)"},
    {"compose-file", 'f', "FILE", FLAG_STR, ARG(compose_file), FOR_BOTH,
     "the compose file of the project (with --service)"},
    {"project-name", 'p', "NAME", FLAG_STR, ARG(project), FOR_BOTH,
     "the compose project (default: the compose file's)"},
    {"file", 0, "F.sql", FLAG_STR, ARG(sql_file), FOR_EXEC,
     "the script to run (note: -f is the compose file)"},
    {"timeout", 0, "S", FLAG_SECONDS, ARG(timeout_s), FOR_WAIT, "give up after S seconds (default 60)"},
    {"timeout", 0, "S", FLAG_SECONDS, ARG(timeout_s), FOR_EXEC,
     "per-statement timeout in seconds (default 60)"},
    {"settle", 0, "S", FLAG_SECONDS, ARG(settle_s), FOR_WAIT,
     "how long the server must keep answering (default 1.5)"},
    {"password", 0, NULL, FLAG_REFUSED, 0, FOR_BOTH, NULL},
};
#define N_FLAGS (sizeof(flags) / sizeof(flags[0]))

static void print_flags(FILE *f, unsigned which)
{
	char left[64];
	const char *h, *nl;

	for (size_t i = 0; i < N_FLAGS; i++) {
		if (!(flags[i].used_by & which) || flags[i].metavar == NULL)
			continue;
		if (flags[i].short_name)
			snprintf(left, sizeof(left), "-%c, --%s %s", flags[i].short_name, flags[i].name,
			         flags[i].metavar);
		else
			snprintf(left, sizeof(left), "--%s %s", flags[i].name, flags[i].metavar);
		h = flags[i].help;
		nl = strchr(h, '\n');
		while (nl) {
			fprintf(f, "  %-24s %.*s\n", left, (int)(nl - h), h);
			left[0] = '\0';
			h = nl + 1;
			nl = strchr(h, '\n');
		}
		fprintf(f, "  %-24s %s\n", left, h);
	}
}

static void usage_wait(FILE *f)
{
	fprintf(f, "Usage: lo2 mysql wait [OPTIONS]\n\n"
	           "Waits until a MySQL/MariaDB server is ready: it authenticates, answers a ping and\n"
	           "SELECT 1, and keeps answering for a settle period, so the temporary server an\n"
	           "image's entrypoint runs during initialisation is not taken for the real one.\n"
	           "Retries with backoff (100 ms to 2 s); access denied fails at once.\n\n"
	           "Options:\n");
	print_flags(f, FOR_WAIT);
	fprintf(f, "\nPasswords are never taken from the command line (--password is refused).\n"
	           "Exit status: 0 ready, 1 not ready (timeout, access denied), 2 usage.\n");
}

static void usage_exec(FILE *f)
{
	fprintf(f, "Usage: lo2 mysql exec [OPTIONS] --file F.sql\n\n"
	           "Runs an SQL script statement by statement on one connection (';' or DELIMITER,\n"
	           "quotes and comments as the mysql client reads them). Stops at the first failing\n"
	           "statement, naming its number, line and start, and the server's error.\n\n"
	           "Options:\n");
	print_flags(f, FOR_EXEC);
	fprintf(f, "\nPasswords are never taken from the command line (--password is refused).\n"
	           "Exit status: 0 every statement ran, 1 failure, 2 usage.\n");
}

static void usage_mysql(FILE *f)
{
	fprintf(f, "Usage: lo2 mysql COMMAND [OPTIONS]\n\n"
	           "Commands:\n"
	           "  wait   wait until a MySQL/MariaDB server is ready\n"
	           "  exec   run an SQL script\n\n"
	           "Run 'lo2 mysql COMMAND --help' for a command's options.\n");
}

static int parse_seconds(const char *cmd, const char *flag, const char *s, double *out)
{
	char *end = NULL;
	double v = strtod(s, &end);

	if (end == s || *end || !isfinite(v) || v < 0 || v > 86400)
		return cli_usage_error(cmd, "--%s: '%s' is not a number of seconds (0 to 86400)", flag, s);
	*out = v;
	return 0;
}

static int parse_port(const char *cmd, const char *s, unsigned *out)
{
	char *end = NULL;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s || *end || v == 0 || v > 65535)
		return cli_usage_error(cmd, "--port: '%s' is not a port (1 to 65535)", s);
	*out = (unsigned)v;
	return 0;
}

/* Stores one flag's value; 0, or the exit code of a usage error. */
static int take_flag(struct mysql_args *a, const struct flag *fl, const char *arg)
{
	char *field = (char *)a + fl->offset;

	switch (fl->kind) {
	case FLAG_STR:
		memcpy(field, &arg, sizeof(arg));
		return 0;
	case FLAG_PORT:
		return parse_port(a->cmd, arg, (unsigned *)(void *)field);
	case FLAG_SECONDS:
		return parse_seconds(a->cmd, fl->name, arg, (double *)(void *)field);
	case FLAG_REFUSED:
	default:
		/* the value, if any, is deliberately not echoed */
		return cli_usage_error(a->cmd,
		                       "--password is refused: a password on the command line is visible to "
		                       "every process; use --password-env VAR or --password-file F");
	}
}

static int check_args(const struct mysql_args *a, bool exec)
{
	if (a->password_env && a->password_file)
		return cli_usage_error(a->cmd, "give only one of --password-env and --password-file");
	if (a->service && (a->host || a->port))
		return cli_usage_error(a->cmd, "--service replaces --host and --port; give one or the other");
	if (!a->service && (a->compose_file || a->project))
		return cli_usage_error(
		    a->cmd, "-f and -p name the compose project of --service; --service is missing");
	if (a->service && !a->compose_file && !a->project)
		return cli_usage_error(a->cmd, "--service needs the compose project: -f FILE or -p NAME");
	if (a->timeout_s <= 0)
		return cli_usage_error(a->cmd, "--timeout must be more than 0 seconds");
	if (exec && !a->sql_file)
		return cli_usage_error(a->cmd, "--file F.sql is required");
	return 0;
}

/* getopt_long's table for one subcommand: val is the index into flags (+ 256). */
static void build_options(unsigned which, struct option *opts, char *shorts, size_t shorts_sz)
{
	size_t n = 0, k = strlen(shorts);

	for (size_t i = 0; i < N_FLAGS; i++) {
		if (!(flags[i].used_by & which))
			continue;
		opts[n++] = (struct option){
		    flags[i].name, flags[i].kind == FLAG_REFUSED ? optional_argument : required_argument,
		    NULL, (int)(256 + i)};
		if (flags[i].short_name && k + 2 < shorts_sz) {
			shorts[k++] = flags[i].short_name;
			shorts[k++] = ':';
			shorts[k] = '\0';
		}
	}
	opts[n] = (struct option){NULL, 0, NULL, 0};
}

/* The flag a getopt_long result stands for (short options map through their letter). */
static const struct flag *flag_of(int c, unsigned which)
{
	for (size_t i = 0; i < N_FLAGS; i++)
		if ((c == (int)(256 + i) || (c < 256 && c == flags[i].short_name)) &&
		    (flags[i].used_by & which))
			return &flags[i];
	return NULL;
}

static int parse(int argc, char **argv, struct mysql_args *a, bool exec)
{
	unsigned which = exec ? FOR_EXEC : FOR_WAIT;
	struct option opts[N_FLAGS + 1];
	char shorts[32] = "+:";
	const struct flag *fl;
	int c, r;

	build_options(which, opts, shorts, sizeof(shorts));
	optind = 0; /* glibc: a full reinitialisation, argv[0] skipped */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		if (c == ':')
			return cli_usage_error(a->cmd, "option '%s' needs a value", argv[optind - 1]);
		fl = flag_of(c, which);
		if (c == '?' || fl == NULL)
			return cli_usage_error(a->cmd, "unknown option '%s'", argv[optind - 1]);
		r = take_flag(a, fl, optarg);
		if (r)
			return r;
	}
	if (optind < argc)
		return cli_usage_error(a->cmd, "unexpected argument '%s'", argv[optind]);
	return check_args(a, exec);
}

/* The compose project name: -p, else the compose file's (as compose derives it). */
static int project_name(const struct mysql_args *a, char **out, struct lo2_err *err)
{
	struct compose_load_opts lo = {.file = a->compose_file};
	struct compose_project *p = NULL;

	if (a->project) {
		*out = xstrdup(a->project);
		return 0;
	}
	if (compose_load(&lo, &p, NULL, err) < 0)
		return -1;
	*out = xstrdup(p->name);
	compose_project_free(p);
	return 0;
}

static int resolve_service(const struct mysql_args *a, struct mysql_conn *c, struct lo2_err *err)
{
	struct engine *e = NULL;
	lo2_autofree char *project = NULL;
	int ret = -1;

	if (project_name(a, &project, err) < 0)
		return -1;
	if (engine_open(NULL, &e, err) < 0)
		return -1;
	if (db_resolve_service(e, project, a->service, a->user, &c->svc, err) == 0) {
		c->target.host = c->svc.host;
		c->target.port = c->svc.port;
		ret = 0;
	}
	engine_free(e);
	return ret;
}

/* Fills c->target from the flags: the address (or the service's), then the password. */
static int connect_target(const struct mysql_args *a, struct mysql_conn *c, struct lo2_err *err)
{
	c->target =
	    (struct db_target){.host = a->host, .port = a->port, .user = a->user, .database = a->database};
	if (a->service && resolve_service(a, c, err) < 0)
		return -1;
	if (a->password_env || a->password_file) {
		if (db_password_load(a->password_env, a->password_file, &c->password, err) < 0)
			return -1;
		c->target.password = c->password;
	} else if (a->service) {
		c->target.password = c->svc.password;
	}
	return 0;
}

/* An access denied with no password anywhere gets a hint saying where one would come from. */
static void hint_no_password(const struct mysql_args *a, const struct mysql_conn *c, struct lo2_err *err)
{
	size_t n = strlen(err->msg);

	if (err->kind != LO2_E_AUTH || c->target.password || !a->service)
		return;
	snprintf(err->msg + n, sizeof(err->msg) - n,
	         " (no password for user %s in the environment of container %s; give --password-env or "
	         "--password-file)",
	         a->user ? a->user : DB_DEFAULT_USER, c->svc.container ? c->svc.container : "?");
}

static void conn_free(struct mysql_conn *c)
{
	db_service_addr_free(&c->svc);
	db_password_free(c->password);
}

static int run_wait(const struct mysql_args *a)
{
	struct mysql_conn c = {0};
	struct lo2_err err = {0};
	struct db_wait_opts o = {.timeout_ns = (int64_t)(a->timeout_s * 1e9),
	                         .settle_ns = a->settle_s > 0 ? (int64_t)(a->settle_s * 1e9) : -1};
	struct db_ready r = {0};
	int rc = CLI_FAIL;

	if (connect_target(a, &c, &err) == 0 && db_wait(&c.target, &o, &r, &err) == 0) {
		printf("mysql %s:%u ready after %.2f s (%s, %d attempt%s)\n",
		       c.target.host ? c.target.host : DB_DEFAULT_HOST,
		       c.target.port ? c.target.port : DB_DEFAULT_PORT, (double)r.elapsed_ns / 1e9,
		       r.server_version, r.attempts, r.attempts == 1 ? "" : "s");
		rc = CLI_OK;
	} else {
		db_err_scrub(&err, c.target.password);
		hint_no_password(a, &c, &err);
		rc = cli_fail(&err);
	}
	conn_free(&c);
	return rc;
}

static int run_exec(const struct mysql_args *a)
{
	struct mysql_conn c = {0};
	struct lo2_err err = {0};
	struct db_exec_opts o = {.timeout_ns = (int64_t)(a->timeout_s * 1e9)};
	size_t n = 0;
	int rc = CLI_FAIL;

	if (connect_target(a, &c, &err) == 0 && db_exec_file(&c.target, a->sql_file, &o, &n, &err) == 0) {
		printf("mysql exec %s: %zu statement%s\n", a->sql_file, n, n == 1 ? "" : "s");
		rc = CLI_OK;
	} else {
		db_err_scrub(&err, c.target.password);
		hint_no_password(a, &c, &err);
		rc = cli_fail(&err);
	}
	conn_free(&c);
	return rc;
}

int cmd_mysql(int argc, char **argv)
{
	struct mysql_args a = {.timeout_s = WAIT_TIMEOUT_S, .settle_s = SETTLE_S};
	bool exec;
	int r;

	if (argc < 2) {
		usage_mysql(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage_mysql(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "wait") != 0 && strcmp(argv[1], "exec") != 0)
		return cli_usage_error("mysql", "unknown command '%s'", argv[1]);
	exec = strcmp(argv[1], "exec") == 0;
	a.cmd = exec ? "mysql exec" : "mysql wait";
	if (exec)
		a.timeout_s = EXEC_TIMEOUT_S;
	if (cli_wants_help(argc - 1, argv + 1)) {
		(exec ? usage_exec : usage_wait)(stdout);
		return CLI_OK;
	}
	r = parse(argc - 1, argv + 1, &a, exec);
	if (r)
		return r;
	return exec ? run_exec(&a) : run_wait(&a);
}
