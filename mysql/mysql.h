/* mysql.h - lo2's MySQL/MariaDB client: readiness (db_wait), SQL scripts (a splitter and a
 * runner), passwords that never reach a log, and the address of a compose service's running
 * container. libmariadb stays inside mysql/: no MYSQL* crosses this header. */
#ifndef LO2_MYSQL_H
#define LO2_MYSQL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct engine;

#define DB_DEFAULT_HOST "127.0.0.1"
#define DB_DEFAULT_PORT 3306
#define DB_DEFAULT_USER "root"

/* Where to connect (always TCP, never a unix socket or an option file); strings are borrowed. */
struct db_target {
	const char *host; /* NULL: 127.0.0.1 */
	unsigned port; /* 0: 3306 */
	const char *user; /* NULL: root */
	const char *password; /* NULL: none; never logged nor put in a message */
	const char *database; /* NULL: none */
};

/* ---- readiness ---- */
struct db_wait_opts {
	int64_t timeout_ns; /* 0: 60 s; the whole wait, settle period included */
	int64_t settle_ns; /* 0: 1.5 s; < 0: none */
	/* When it becomes true the wait ends within about a second (LO2_E_CANCELLED); with it set,
	 * each connection attempt is limited to 2 s so that a silent server cannot hold it up. */
	const atomic_bool *cancel;
};
struct db_ready {
	int64_t elapsed_ns; /* from the call to ready */
	int attempts;
	char server_version[64];
};
/* Waits until the server is ready: a connection that authenticates, a ping and SELECT 1,
 * then the same connection keeps answering for the settle period and a fresh connection
 * succeeds (so an entrypoint's temporary init server, which goes away, is not taken for the
 * real one). Retries with backoff from 100 ms to 2 s, logging each attempt's reason at
 * debug level. An access-denied answer is final (LO2_E_AUTH, no retry); an unknown database
 * is retried (an init script may create it). The timeout is LO2_E_TIMEOUT naming the last
 * reason; libmariadb's timeouts are whole seconds, so the last attempt may overrun it by up
 * to a second. out may be NULL. */
int db_wait(const struct db_target *t, const struct db_wait_opts *o, struct db_ready *out,
            struct lo2_err *err);

/* ---- scripts ---- */
struct db_stmt {
	char *text; /* without the delimiter, trimmed; leading comments dropped */
	size_t line; /* 1-based line of the statement's first character */
};
struct db_script {
	struct db_stmt *v;
	size_t n;
};
/* Splits a script into statements the way the mysql client does: ';' (or the delimiter of a
 * `DELIMITER x` line) outside '...', "...", `...` (backslash escapes in the first two),
 * `-- ` and `#` comments to the end of the line and C comments. MySQL's executable comments
 * (slash-star-bang) are kept as statement text. An unterminated quote or comment is an error
 * naming its line. *out: free with db_script_free. */
int db_script_split(const char *text, size_t len, struct db_script *out, struct lo2_err *err);
void db_script_free(struct db_script *s);
/* The start of a statement as messages show it: whitespace runs as one space, cut at about
 * 60 characters (then "..."), and cut after IDENTIFIED or PASSWORD so a secret in the
 * script is not shown. */
void db_stmt_excerpt(const char *text, char *out, size_t outsz);

struct db_exec_opts {
	int64_t timeout_ns; /* per statement (read/write timeout); 0: 60 s */
	int64_t connect_timeout_ns; /* 0: 10 s */
	const atomic_bool *cancel; /* checked between statements (LO2_E_CANCELLED) */
};
/* Runs the statements of a script in order on one connection; stops at the first failure
 * with "statement N (line L: <start of text>): ERROR <code> (<state>): <server message>".
 * name is what messages call the script. *n_done (may be NULL) counts the statements run. */
int db_exec_script(const struct db_target *t, const char *name, const char *text, size_t len,
                   const struct db_exec_opts *o, size_t *n_done, struct lo2_err *err);
/* db_exec_script on a file (at most 64 MiB), named by its path. */
int db_exec_file(const struct db_target *t, const char *path, const struct db_exec_opts *o, size_t *n_done,
                 struct lo2_err *err);

/* Runs one query and hands back the first column of its first row (*out NULL for SQL NULL
 * or no row; caller frees). For checks such as "SELECT COUNT(*) FROM t". */
int db_query_scalar(const struct db_target *t, const char *sql, char **out, struct lo2_err *err);

/* ---- passwords ---- */
/* Reads a password from the environment variable env_var or from file (its first line;
 * a trailing "\n" or "\r\n" dropped); exactly one of them is non-NULL. Messages name the
 * variable or the file, never the value. *out: free with db_password_free. */
int db_password_load(const char *env_var, const char *file, char **out, struct lo2_err *err);
/* Zeroes and frees a password; NULL is a no-op. */
void db_password_free(char *p);
/* Replaces every occurrence of secret (when 4 bytes or longer) in err's message with "***". */
void db_err_scrub(struct lo2_err *err, const char *secret);

/* ---- compose services ---- */
struct db_service_addr {
	char *container; /* the container's name */
	char *host; /* 127.0.0.1 (or the engine's host) when published, else the container's IP */
	unsigned port;
	bool published;
	char *password; /* for the user asked about, from the container's environment; NULL: none found */
};
/* Finds the running container of service in project (by the compose labels) and where it
 * answers on container port 3306/tcp: the published port when there is one, else its IP on
 * the project's network. The password is read, never printed, from the container's
 * environment: for root MYSQL_ROOT_PASSWORD or MARIADB_ROOT_PASSWORD ("" with
 * *_ALLOW_EMPTY_*PASSWORD), for MYSQL_USER/MARIADB_USER their *_PASSWORD.
 * user NULL: root. Free *out with db_service_addr_free. */
int db_resolve_service(struct engine *e, const char *project, const char *service, const char *user,
                       struct db_service_addr *out, struct lo2_err *err);
void db_service_addr_free(struct db_service_addr *a);

#endif
