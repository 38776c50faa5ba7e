/* client.c - the parts of mysql/ that talk to a server through libmariadb: connections with
 * every timeout set, the readiness wait (retry, backoff, settle period) and the script runner.
 * <mysql.h> and MYSQL* stay in this file. */
#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/time.h"
#include "mysql/mysql.h"

#define NS_PER_MS INT64_C(1000000)
#define WAIT_DEFAULT_NS (60 * LO2_NS_PER_SEC)
#define SETTLE_DEFAULT_NS (1500 * NS_PER_MS)
#define SETTLE_PROBE_NS (250 * NS_PER_MS)
#define BACKOFF_MIN_NS (100 * NS_PER_MS)
#define BACKOFF_MAX_NS (2 * LO2_NS_PER_SEC)
#define EXEC_TIMEOUT_NS (60 * LO2_NS_PER_SEC)
#define EXEC_CONNECT_NS (10 * LO2_NS_PER_SEC)
#define SCRIPT_MAX ((size_t)64 << 20)
#define REASON_MAX 512

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
	mysql_library_init(0, NULL, NULL);
}

static void closep(MYSQL **m)
{
	if (*m)
		mysql_close(*m);
}
#define db_autoclose __attribute__((cleanup(closep)))

static const char *host_of(const struct db_target *t)
{
	return t->host && *t->host ? t->host : DB_DEFAULT_HOST;
}

static unsigned port_of(const struct db_target *t)
{
	return t->port ? t->port : DB_DEFAULT_PORT;
}

/* Whole seconds for libmariadb's timeouts: at least 1, rounded up. */
static unsigned secs(int64_t ns)
{
	int64_t s = (ns + LO2_NS_PER_SEC - 1) / LO2_NS_PER_SEC;

	return s < 1 ? 1u : s > 3600 ? 3600u : (unsigned)s;
}

/* "ERROR 2002 (HY000): Can't connect to ..." as the mysql client shows a failure. */
static void reason_of(MYSQL *m, char *out, size_t outsz)
{
	snprintf(out, outsz, "ERROR %u (%s): %s", mysql_errno(m), mysql_sqlstate(m), mysql_error(m));
}

/* A failure that retrying cannot fix: the server answered and refused these credentials. */
static bool is_final(unsigned code)
{
	return code == ER_ACCESS_DENIED_ERROR || code == ER_DBACCESS_DENIED_ERROR ||
	       code == ER_ACCESS_DENIED_NO_PASSWORD_ERROR || code == ER_NOT_SUPPORTED_AUTH_MODE ||
	       code == CR_AUTH_PLUGIN_CANNOT_LOAD;
}

/* Connects with the connect, read and write timeouts all set (so a peer that accepts and never
 * speaks cannot hang lo2), over TCP, without option files and without LOAD DATA LOCAL.
 * On failure returns NULL with the reason in out and the error code in *code. */
static MYSQL *db_connect(const struct db_target *t, int64_t connect_ns, int64_t rw_ns, unsigned *code,
                         char *reason, size_t reasonsz)
{
	unsigned ct = secs(connect_ns), rw = secs(rw_ns);
	unsigned proto = MYSQL_PROTOCOL_TCP, no_infile = 0;
	my_bool off = 0;
	MYSQL *m;

	pthread_once(&lib_once, lib_init);
	m = mysql_init(NULL);
	if (m == NULL)
		abort(); /* out of memory, as xmalloc */
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw);
	mysql_options(m, MYSQL_OPT_PROTOCOL, &proto);
	mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &no_infile);
	mysql_options(m, MYSQL_OPT_RECONNECT, &off);
	if (mysql_real_connect(m, host_of(t), t->user ? t->user : DB_DEFAULT_USER,
	                       t->password ? t->password : "", t->database, port_of(t), NULL, 0) == NULL) {
		*code = mysql_errno(m);
		reason_of(m, reason, reasonsz);
		mysql_close(m);
		return NULL;
	}
	return m;
}

/* Runs one statement and drops any result sets; 0, or -1 with the reason. */
static int run_query(MYSQL *m, const char *sql, char *reason, size_t reasonsz)
{
	MYSQL_RES *res;
	int more;

	if (mysql_real_query(m, sql, strlen(sql)) != 0)
		goto fail;
	do {
		res = mysql_store_result(m);
		if (res)
			mysql_free_result(res);
		else if (mysql_field_count(m) != 0)
			goto fail;
		more = mysql_next_result(m);
		if (more > 0)
			goto fail;
	} while (more == 0);
	return 0;
fail:
	reason_of(m, reason, reasonsz);
	return -1;
}

/* A ping and SELECT 1 answered with 1. */
static int probe(MYSQL *m, char *reason, size_t reasonsz)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	int ok;

	if (mysql_ping(m) != 0 || mysql_real_query(m, "SELECT 1", 8) != 0) {
		reason_of(m, reason, reasonsz);
		return -1;
	}
	res = mysql_store_result(m);
	if (res == NULL) {
		reason_of(m, reason, reasonsz);
		return -1;
	}
	row = mysql_fetch_row(res);
	ok = row && row[0] && strcmp(row[0], "1") == 0;
	mysql_free_result(res);
	if (!ok)
		snprintf(reason, reasonsz, "SELECT 1 did not answer 1");
	return ok ? 0 : -1;
}

#define CANCELLABLE_ATTEMPT_NS (2 * LO2_NS_PER_SEC)

struct waiter {
	const struct db_target *t;
	const atomic_bool *cancel;
	int64_t deadline, settle_ns;
	unsigned code;
	bool final;
	char reason[REASON_MAX];
	char version[64];
};

static int64_t remaining(const struct waiter *w)
{
	return w->deadline - lo2_mono_ns();
}

static bool cancelled(const atomic_bool *cancel)
{
	return cancel && atomic_load(cancel);
}

/* How long one connection may take: what is left, and at most 2 s when the wait can be cancelled. */
static int64_t attempt_limit(const struct waiter *w)
{
	int64_t left = remaining(w);

	return w->cancel && left > CANCELLABLE_ATTEMPT_NS ? CANCELLABLE_ATTEMPT_NS : left;
}

/* Sleeps ns in slices, returning early when cancelled. */
static void nap(const atomic_bool *cancel, int64_t ns)
{
	int64_t until = lo2_mono_ns() + ns;

	while (!cancelled(cancel) && lo2_mono_ns() < until) {
		int64_t left = until - lo2_mono_ns();

		lo2_sleep_ns(left < 100 * 1000 * 1000 ? left : 100 * 1000 * 1000);
	}
}

/* Keeps probing the held connection for the settle period: a temporary init server that
 * shuts down breaks it. */
static int settle(struct waiter *w, MYSQL *m)
{
	int64_t start = lo2_mono_ns(), left = w->settle_ns;
	char why[REASON_MAX];

	for (; left > 0; left = w->settle_ns - (lo2_mono_ns() - start)) {
		if (remaining(w) <= 0) {
			snprintf(w->reason, sizeof(w->reason),
			         "the server answered, but the timeout came within its %.1f s settle period",
			         (double)w->settle_ns / 1e9);
			return -1;
		}
		nap(w->cancel, left < SETTLE_PROBE_NS ? left : SETTLE_PROBE_NS);
		if (cancelled(w->cancel)) {
			snprintf(w->reason, sizeof(w->reason), "interrupted");
			return -1;
		}
		if (probe(m, why, sizeof(why)) < 0) {
			snprintf(w->reason, sizeof(w->reason),
			         "the server stopped answering within the settle period: %s", why);
			return -1;
		}
	}
	return 0;
}

/* One attempt: connect, probe, settle, then a fresh connection. */
static int attempt(struct waiter *w)
{
	db_autoclose MYSQL *m = NULL;
	db_autoclose MYSQL *again = NULL;
	int64_t left = attempt_limit(w);

	w->code = 0;
	m = db_connect(w->t, left, left, &w->code, w->reason, sizeof(w->reason));
	if (m == NULL) {
		w->final = is_final(w->code);
		return -1;
	}
	if (probe(m, w->reason, sizeof(w->reason)) < 0 || settle(w, m) < 0)
		return -1;
	left = attempt_limit(w);
	again = db_connect(w->t, left, left, &w->code, w->reason, sizeof(w->reason));
	if (again == NULL || probe(again, w->reason, sizeof(w->reason)) < 0) {
		w->final = again == NULL && is_final(w->code);
		return -1;
	}
	snprintf(w->version, sizeof(w->version), "%s", mysql_get_server_info(again));
	return 0;
}

static int wait_fail(const struct waiter *w, int64_t start, int n, struct lo2_err *err)
{
	const char *where = host_of(w->t);
	unsigned port = port_of(w->t);

	if (cancelled(w->cancel))
		lo2_err_set(err, LO2_E_CANCELLED, "mysql %s:%u: interrupted after %.1f s of waiting", where,
		            port, (double)(lo2_mono_ns() - start) / 1e9);
	else if (w->final)
		lo2_err_set(err, LO2_E_AUTH, "mysql %s:%u: %s", where, port, w->reason);
	else
		lo2_err_set(err, LO2_E_TIMEOUT,
		            "mysql %s:%u: not ready after %.1f s (%d attempt%s); last: %s", where, port,
		            (double)(lo2_mono_ns() - start) / 1e9, n, n == 1 ? "" : "s", w->reason);
	db_err_scrub(err, w->t->password);
	return -1;
}

int db_wait(const struct db_target *t, const struct db_wait_opts *o, struct db_ready *out,
            struct lo2_err *err)
{
	struct waiter w = {.t = t, .cancel = o ? o->cancel : NULL};
	int64_t start = lo2_mono_ns(), timeout, backoff = BACKOFF_MIN_NS, left;
	int n = 0;

	timeout = o && o->timeout_ns > 0 ? o->timeout_ns : WAIT_DEFAULT_NS;
	w.settle_ns = !o || o->settle_ns == 0 ? SETTLE_DEFAULT_NS : o->settle_ns < 0 ? 0 : o->settle_ns;
	w.deadline = start + timeout;
	for (;;) {
		n++;
		if (attempt(&w) == 0)
			break;
		lo2_debug("mysql %s:%u: attempt %d: %s", host_of(t), port_of(t), n, w.reason);
		left = remaining(&w);
		if (w.final || left <= 0 || cancelled(w.cancel))
			return wait_fail(&w, start, n, err);
		nap(w.cancel, backoff < left ? backoff : left);
		backoff = backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff * 2;
		if (remaining(&w) <= 0 || cancelled(w.cancel))
			return wait_fail(&w, start, n, err);
	}
	if (out) {
		out->elapsed_ns = lo2_mono_ns() - start;
		out->attempts = n;
		snprintf(out->server_version, sizeof(out->server_version), "%s", w.version);
	}
	lo2_debug("mysql %s:%u: ready after %d attempt%s", host_of(t), port_of(t), n, n == 1 ? "" : "s");
	return 0;
}

/* The failure of statement i, as "statement N (line L: <start>): ERROR ...". */
static int stmt_fail(const struct db_stmt *st, size_t i, const char *reason, struct lo2_err *err)
{
	char ex[96];

	db_stmt_excerpt(st->text, ex, sizeof(ex));
	return lo2_err_set(err, LO2_E_GENERIC, "statement %zu (line %zu: %s): %s", i + 1, st->line, ex,
	                   reason);
}

static int run_script(MYSQL *m, const struct db_script *sc, const atomic_bool *cancel, size_t *n_done,
                      struct lo2_err *err)
{
	char reason[REASON_MAX];

	for (size_t i = 0; i < sc->n; i++) {
		if (cancelled(cancel))
			return lo2_err_set(err, LO2_E_CANCELLED, "interrupted before statement %zu", i + 1);
		lo2_debug("mysql exec: statement %zu (line %zu)", i + 1, sc->v[i].line);
		if (run_query(m, sc->v[i].text, reason, sizeof(reason)) < 0)
			return stmt_fail(&sc->v[i], i, reason, err);
		if (n_done)
			*n_done = i + 1;
	}
	return 0;
}

int db_exec_script(const struct db_target *t, const char *name, const char *text, size_t len,
                   const struct db_exec_opts *o, size_t *n_done, struct lo2_err *err)
{
	struct db_script sc = {0};
	db_autoclose MYSQL *m = NULL;
	char reason[REASON_MAX];
	unsigned code = 0;
	int ret = -1;

	if (n_done)
		*n_done = 0;
	if (db_script_split(text, len, &sc, err) < 0)
		return lo2_err_prefix(err, "exec %s", name);
	m = db_connect(t, o && o->connect_timeout_ns > 0 ? o->connect_timeout_ns : EXEC_CONNECT_NS,
	               o && o->timeout_ns > 0 ? o->timeout_ns : EXEC_TIMEOUT_NS, &code, reason,
	               sizeof(reason));
	if (m == NULL) {
		lo2_err_set(err, is_final(code) ? LO2_E_AUTH : LO2_E_CONNECT, "exec %s: mysql %s:%u: %s",
		            name, host_of(t), port_of(t), reason);
		goto out;
	}
	if (run_script(m, &sc, o ? o->cancel : NULL, n_done, err) < 0) {
		lo2_err_prefix(err, "exec %s", name);
		goto out;
	}
	ret = 0;
out:
	db_err_scrub(err, t->password);
	db_script_free(&sc);
	return ret;
}

int db_exec_file(const struct db_target *t, const char *path, const struct db_exec_opts *o, size_t *n_done,
                 struct lo2_err *err)
{
	lo2_autofree char *text = NULL;
	size_t len = 0;

	if (n_done)
		*n_done = 0;
	if (lo2_read_file(path, SCRIPT_MAX, &text, &len, err) < 0)
		return lo2_err_prefix(err, "exec %s", path);
	return db_exec_script(t, path, text, len, o, n_done, err);
}

/* The first column of the first row of res, copied (NULL for NULL or no row). */
static char *first_value(MYSQL_RES *res)
{
	MYSQL_ROW row = mysql_fetch_row(res);

	return row && row[0] ? xstrdup(row[0]) : NULL;
}

int db_query_scalar(const struct db_target *t, const char *sql, char **out, struct lo2_err *err)
{
	db_autoclose MYSQL *m = NULL;
	MYSQL_RES *res;
	char reason[REASON_MAX];
	unsigned code = 0;

	*out = NULL;
	m = db_connect(t, EXEC_CONNECT_NS, EXEC_TIMEOUT_NS, &code, reason, sizeof(reason));
	if (m == NULL) {
		lo2_err_set(err, is_final(code) ? LO2_E_AUTH : LO2_E_CONNECT, "mysql %s:%u: %s", host_of(t),
		            port_of(t), reason);
		db_err_scrub(err, t->password);
		return -1;
	}
	res = mysql_real_query(m, sql, strlen(sql)) == 0 ? mysql_store_result(m) : NULL;
	if (res == NULL) {
		reason_of(m, reason, sizeof(reason));
		return lo2_err_set(err, LO2_E_GENERIC, "mysql %s:%u: query: %s", host_of(t), port_of(t),
		                   reason);
	}
	*out = first_value(res);
	mysql_free_result(res);
	return 0;
}
