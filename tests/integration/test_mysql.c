/* test_mysql.c - mysql/ against real peers. First the failure paths that need no image (nothing
 * listening, a listener that accepts and never speaks, the CLI's refusals); then the lab
 * mariadb image in a labelled container: wait returns only after initialisation, the fixture
 * script runs and its rows are there, a wrong password fails fast, and a script failing at
 * statement 7 says so, through the library and through `lo2 mysql` as a user sees it. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/mem.h"
#include "common/str.h"
#include "common/time.h"
#include "engine/engine.h"
#include "mysql/mysql.h"

#define IMAGE "lo2-lab/mariadb:latest"
#define ROOT_PW "lo2-root-pw"
#define USER_PW "lo2-user-pw"
#define SERVICE "db"

static double since_s(int64_t start_ns)
{
	return (double)(lo2_mono_ns() - start_ns) / 1e9;
}

/* A loopback port nobody listens on (bound, then released). */
static unsigned free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void test_nothing_listening(void **state)
{
	struct db_target t = {.port = free_port(), .password = "never-shown-pw"};
	struct db_wait_opts o = {.timeout_ns = 2 * LO2_NS_PER_SEC};
	struct lo2_err err = {0};
	int64_t start = lo2_mono_ns();
	double took;

	assert_int_equal(db_wait(&t, &o, NULL, &err), -1);
	took = since_s(start);
	assert_int_equal(err.kind, LO2_E_TIMEOUT);
	assert_true(took >= 1.9 && took < 3.5);
	assert_non_null(strstr(err.msg, "not ready after 2.0 s ("));
	assert_non_null(
	    strstr(err.msg, "; last: ERROR 2002 (HY000): Can't connect to server on '127.0.0.1'"));
	assert_null(strstr(err.msg, "never-shown-pw"));
	print_message("nothing listening: %.2f s: %s\n", took, err.msg);
}

struct silent {
	int fd;
	unsigned port;
	atomic_bool stop;
	int held[64];
	int n_held;
};

/* Accepts every connection and keeps it open without sending a byte. */
static void *silent_accept(void *arg)
{
	struct silent *s = arg;
	int c;

	while (!atomic_load(&s->stop)) {
		c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		if (s->n_held < 64)
			s->held[s->n_held++] = c;
		else
			close(c);
	}
	return NULL;
}

static pthread_t silent_start(struct silent *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
	pthread_t th;

	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)); /* accept wakes to see stop */
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 16), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&th, NULL, silent_accept, s), 0);
	return th;
}

static void silent_stop(struct silent *s, pthread_t th)
{
	atomic_store(&s->stop, true);
	pthread_join(th, NULL);
	for (int i = 0; i < s->n_held; i++)
		close(s->held[i]);
	close(s->fd);
}

static void test_silent_listener(void **state)
{
	struct silent s = {.fd = -1};
	pthread_t th = silent_start(&s);
	struct db_target t = {.port = s.port};
	struct db_wait_opts o = {.timeout_ns = 3 * LO2_NS_PER_SEC};
	struct db_exec_opts eo = {.connect_timeout_ns = 2 * LO2_NS_PER_SEC};
	struct lo2_err err = {0};
	int64_t start = lo2_mono_ns();
	double took;

	assert_int_equal(db_wait(&t, &o, NULL, &err), -1);
	took = since_s(start);
	print_message("silent listener, wait: %.2f s: %s\n", took, err.msg);
	assert_int_equal(err.kind, LO2_E_TIMEOUT);
	assert_true(took >= 2.9 && took < 5.0);
	assert_non_null(strstr(err.msg, "; last: ERROR 2013 (HY000): Lost connection to server"));

	start = lo2_mono_ns();
	assert_int_equal(db_exec_script(&t, "inline", "SELECT 1", 8, &eo, NULL, &err), -1);
	took = since_s(start);
	print_message("silent listener, exec: %.2f s: %s\n", took, err.msg);
	assert_int_equal(err.kind, LO2_E_CONNECT);
	assert_true(took < 4.0);
	silent_stop(&s, th);
}

/* The CLI's refusals, by their exact text (no engine, no server). */
static void test_cli_usage(void **state)
{
	lo2_autofree char *out = NULL;
	lo2_autofree char *err = NULL;

	assert_int_equal(tu_lo2_run(&out, &err, "mysql", "wait", "--password=hunter22", NULL), 2);
	assert_string_equal(
	    err, "lo2 mysql wait: --password is refused: a password on the command line is visible "
	         "to every process; use --password-env VAR or --password-file F\n"
	         "Run 'lo2 mysql wait --help' for usage.\n");
	free(err);
	err = NULL;
	assert_int_equal(tu_lo2_run(NULL, &err, "mysql", "exec", "--port", "3306", NULL), 2);
	assert_string_equal(
	    err, "lo2 mysql exec: --file F.sql is required\nRun 'lo2 mysql exec --help' for usage.\n");
	free(err);
	err = NULL;
	assert_int_equal(
	    tu_lo2_run(NULL, &err, "mysql", "wait", "--password-env", "A", "--password-file", "B", NULL), 2);
	assert_non_null(strstr(err, "give only one of --password-env and --password-file"));
	free(out);
	out = NULL;
	assert_int_equal(tu_lo2_run(&out, NULL, "mysql", "wait", "--help", NULL), 0);
	assert_true(lo2_str_has_prefix(out, "Usage: lo2 mysql wait"));
	free(out);
	out = NULL;
	assert_int_equal(tu_lo2_run(&out, NULL, "mysql", "exec", "--help", NULL), 0);
	assert_true(lo2_str_has_prefix(out, "Usage: lo2 mysql exec"));
}

static void test_cli_nothing_listening(void **state)
{
	lo2_autofree char *err = NULL;
	lo2_autofree char *port = xasprintf("%u", free_port());
	const char *prefix = "lo2: mysql 127.0.0.1:";

	setenv("LO2_TEST_MYSQL_PW", "never-shown-pw", 1);
	assert_int_equal(tu_lo2_run(NULL, &err, "mysql", "wait", "--port", port, "--password-env",
	                            "LO2_TEST_MYSQL_PW", "--timeout", "1", NULL),
	                 1);
	print_message("cli, nothing listening: %s", err);
	assert_true(lo2_str_has_prefix(err, prefix));
	assert_non_null(strstr(err, ": not ready after 1.0 s ("));
	assert_null(strstr(err, "never-shown-pw"));
}

/* ---- the lab image ---- */

struct lab {
	char *id;
	char *project;
	int64_t started_ns; /* monotonic, just after start */
	struct db_service_addr addr;
};
static struct lab lab;

static void lab_spec(struct engine_container_spec *s)
{
	static const char *const env[] = {
	    "MYSQL_ROOT_PASSWORD=" ROOT_PW, "MARIADB_ROOT_PASSWORD=" ROOT_PW,
	    "MYSQL_DATABASE=lo2init",       "MARIADB_DATABASE=lo2init",
	    "MYSQL_USER=lo2user",           "MARIADB_USER=lo2user",
	    "MYSQL_PASSWORD=" USER_PW,      "MARIADB_PASSWORD=" USER_PW,
	};

	s->name = xasprintf("lo2-test-mysql-%s", tu_run_id());
	s->image = xstrdup(IMAGE);
	s->stop_timeout = -1;
	for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++)
		lo2_strv_push(&s->env, env[i]);
	lo2_kvv_set(&s->labels, TU_LABEL, tu_run_id());
	lo2_kvv_set(&s->labels, "com.docker.compose.project", lab.project);
	lo2_kvv_set(&s->labels, "com.docker.compose.service", SERVICE);
	lo2_kvv_set(&s->labels, "com.docker.compose.container-number", "1");
	lo2_strv_push(&s->exposed_ports, "3306/tcp");
	s->ports = xcalloc(1, sizeof(*s->ports));
	s->n_ports = 1;
	s->ports[0].container_port = xstrdup("3306/tcp");
	s->ports[0].host_ip = xstrdup("127.0.0.1");
	s->ports[0].host_port = xstrdup("");
}

static int lab_setup(void **state)
{
	struct engine *e = tu_engine();
	struct engine_container_spec spec = {0};
	struct lo2_err err = {0};

	tu_require_image(IMAGE);
	lab.project = xasprintf("lo2t%ld", (long)getpid());
	lab_spec(&spec);
	if (engine_container_create(e, &spec, &lab.id, &err) < 0 ||
	    engine_container_start(e, lab.id, &err) < 0) {
		print_error("lab container: %s\n", err.msg);
		engine_container_spec_free(&spec);
		return -1;
	}
	lab.started_ns = lo2_mono_ns();
	engine_container_spec_free(&spec);
	return 0;
}

static int lab_teardown(void **state)
{
	tu_cleanup();
	db_service_addr_free(&lab.addr);
	free(lab.id);
	free(lab.project);
	return 0;
}

static struct db_target root_target(void)
{
	assert_non_null(lab.addr.host); /* never the defaults: a real server may be on 3306 */
	return (struct db_target){
	    .host = lab.addr.host, .port = lab.addr.port, .password = lab.addr.password};
}

/* Resolution through the compose labels, then wait; the init-time user and database exist
 * the moment wait returns. */
static void test_lab_wait_after_init(void **state)
{
	struct lo2_err err = {0};
	struct db_ready r = {0};
	struct db_wait_opts o = {.timeout_ns = 180 * LO2_NS_PER_SEC};
	struct db_target t, user;
	lo2_autofree char *v = NULL;

	if (db_resolve_service(tu_engine(), lab.project, SERVICE, NULL, &lab.addr, &err) < 0)
		fail_msg("resolve: %s", err.msg);
	assert_true(lab.addr.published);
	assert_string_equal(lab.addr.host, "127.0.0.1");
	assert_non_null(lab.addr.password);
	assert_string_equal(lab.addr.password, ROOT_PW);
	t = root_target();
	if (db_wait(&t, &o, &r, &err) < 0)
		fail_msg("wait: %s", err.msg);
	user = (struct db_target){
	    .host = t.host, .port = t.port, .user = "lo2user", .password = USER_PW, .database = "lo2init"};
	if (db_query_scalar(&user, "SELECT DATABASE()", &v, &err) < 0)
		fail_msg("init-time user/database missing when wait returned: %s", err.msg);
	assert_string_equal(v, "lo2init");
	print_message("lab: ready %.2f s after container start (wait %.2f s, %d attempts, %s)\n",
	              since_s(lab.started_ns), (double)r.elapsed_ns / 1e9, r.attempts, r.server_version);
}

static void expect_count(const struct db_target *t, const char *sql, const char *want)
{
	struct lo2_err err = {0};
	lo2_autofree char *v = NULL;

	if (db_query_scalar(t, sql, &v, &err) < 0)
		fail_msg("%s: %s", sql, err.msg);
	assert_non_null(v);
	assert_string_equal(v, want);
}

static void test_lab_exec_fixture(void **state)
{
	struct db_target t = root_target();
	struct lo2_err err = {0};
	size_t n = 0;

	if (db_exec_file(&t, LO2_FIXTURES "/mysql/create.sql", NULL, &n, &err) < 0)
		fail_msg("exec: %s", err.msg);
	assert_int_equal(n, 10);
	expect_count(&t, "SELECT COUNT(*) FROM lo2fixture.client", "2");
	expect_count(&t, "SELECT COUNT(*) FROM lo2fixture.user_profile", "2");
	expect_count(&t, "SELECT redirect_uri FROM lo2fixture.client WHERE client_type = 'trusted'",
	             "http://localhost:8080/authorization;jsessionid=1");
	expect_count(&t, "SELECT note FROM lo2fixture.user_profile WHERE user_id = 'admin'",
	             "semi;colon 'quoted' `tick`");
}

static void test_lab_wrong_password(void **state)
{
	struct db_target t = root_target();
	struct db_wait_opts o = {.timeout_ns = 30 * LO2_NS_PER_SEC};
	struct lo2_err err = {0};
	int64_t start = lo2_mono_ns();
	double took;

	t.password = "wrong-password";
	assert_int_equal(db_wait(&t, &o, NULL, &err), -1);
	took = since_s(start);
	print_message("wrong password: %.2f s: %s\n", took, err.msg);
	assert_int_equal(err.kind, LO2_E_AUTH);
	assert_true(took < 1.0);
	assert_non_null(strstr(err.msg, ": ERROR 1045 (28000): Access denied for user 'root'@"));
	assert_null(strstr(err.msg, "wrong-password"));
}

static void test_lab_error_at_7(void **state)
{
	struct db_target t = root_target();
	struct lo2_err err = {0};
	size_t n = 0;
	const char *path = LO2_FIXTURES "/mysql/error-at-7.sql";
	lo2_autofree char *want = xasprintf(
	    "exec %s: statement 7 (line 11: INSERT INTO no_such_table (id, name) VALUES (3, 'three')): "
	    "ERROR 1146 (42S02): Table 'lo2bad.no_such_table' doesn't exist",
	    path);

	assert_int_equal(db_exec_file(&t, path, NULL, &n, &err), -1);
	assert_int_equal(n, 6);
	assert_string_equal(err.msg, want);
	expect_count(&t, "SELECT COUNT(*) FROM lo2bad.t", "2");
}

/* The same through `lo2 mysql`, resolving the service by its compose labels. */
static void test_lab_cli(void **state)
{
	lo2_autofree char *out = NULL;
	lo2_autofree char *err = NULL;
	lo2_autofree char *want = NULL;
	const char *bad = LO2_FIXTURES "/mysql/error-at-7.sql";

	assert_int_equal(tu_lo2_run(&out, &err, "mysql", "wait", "--service", SERVICE, "-p", lab.project,
	                            "--timeout", "60", NULL),
	                 0);
	assert_true(lo2_str_has_prefix(out, "mysql 127.0.0.1:"));
	assert_non_null(strstr(out, " ready after "));
	assert_null(strstr(err, ROOT_PW));
	free(out);
	free(err);
	out = err = NULL;
	assert_int_equal(tu_lo2_run(&out, &err, "mysql", "exec", "--service", SERVICE, "-p", lab.project,
	                            "--file", LO2_FIXTURES "/mysql/create.sql", NULL),
	                 0);
	assert_string_equal(out, "mysql exec " LO2_FIXTURES "/mysql/create.sql: 10 statements\n");
	free(out);
	free(err);
	out = err = NULL;
	want =
	    xasprintf("lo2: exec %s: statement 7 (line 11: INSERT INTO no_such_table (id, name) VALUES (3, "
	              "'three')): ERROR 1146 (42S02): Table 'lo2bad.no_such_table' doesn't exist\n",
	              bad);
	assert_int_equal(tu_lo2_run(&out, &err, "mysql", "exec", "--service", SERVICE, "-p", lab.project,
	                            "--file", bad, NULL),
	                 1);
	assert_string_equal(err, want);
	free(out);
	free(err);
	out = err = NULL;
	setenv("LO2_TEST_MYSQL_BAD_PW", "wrong-password", 1);
	assert_int_equal(tu_lo2_run(&out, &err, "mysql", "wait", "--service", SERVICE, "-p", lab.project,
	                            "--password-env", "LO2_TEST_MYSQL_BAD_PW", NULL),
	                 1);
	print_message("cli, wrong password: %s", err);
	assert_true(lo2_str_has_prefix(err, "lo2: mysql 127.0.0.1:"));
	assert_non_null(strstr(err, ": ERROR 1045 (28000): Access denied for user 'root'@"));
	assert_null(strstr(err, "wrong-password"));
}

/* A second container of the project, not published: its address on the network is used. */
static void test_lab_resolve(void **state)
{
	struct engine *e = tu_engine();
	struct engine_container_spec spec = {0};
	struct db_service_addr a = {0};
	struct lo2_err err = {0};
	lo2_autofree char *id = NULL;
	lo2_autofree char *want = NULL;

	lab_spec(&spec);
	free(spec.name);
	spec.name = xasprintf("lo2-test-mysql2-%s", tu_run_id());
	lo2_kvv_set(&spec.labels, "com.docker.compose.service", "db2");
	for (size_t i = 0; i < spec.n_ports; i++) {
		free(spec.ports[i].container_port);
		free(spec.ports[i].host_ip);
		free(spec.ports[i].host_port);
	}
	free(spec.ports);
	spec.ports = NULL;
	spec.n_ports = 0;
	if (engine_container_create(e, &spec, &id, &err) < 0 || engine_container_start(e, id, &err) < 0)
		fail_msg("second container: %s", err.msg);
	engine_container_spec_free(&spec);
	if (db_resolve_service(e, lab.project, "db2", "lo2user", &a, &err) < 0)
		fail_msg("resolve db2: %s", err.msg);
	assert_false(a.published);
	assert_int_equal(a.port, 3306);
	assert_string_not_equal(a.host, "127.0.0.1");
	assert_string_equal(a.password, USER_PW);
	db_service_addr_free(&a);

	assert_int_equal(db_resolve_service(e, lab.project, "nosuch", NULL, &a, &err), -1);
	assert_int_equal(err.kind, LO2_E_NOT_FOUND);
	want = xasprintf("resolve mysql service nosuch: no running container of service nosuch in project %s",
	                 lab.project);
	assert_string_equal(err.msg, want);
}

/* -f: the project name comes from the compose file (its name: key). */
static void test_lab_cli_compose_file(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *file = xasprintf("%s/compose.yml", dir);
	lo2_autofree char *yml =
	    xasprintf("name: %s\nservices:\n  %s:\n    image: %s\n", lab.project, SERVICE, IMAGE);
	lo2_autofree char *out = NULL;
	lo2_autofree char *err = NULL;
	FILE *f = fopen(file, "w");

	assert_non_null(f);
	fputs(yml, f);
	fclose(f);
	assert_int_equal(tu_lo2_run(&out, &err, "mysql", "wait", "--service", SERVICE, "-f", file, "--settle",
	                            "0.2", NULL),
	                 0);
	assert_true(lo2_str_has_prefix(out, "mysql 127.0.0.1:"));
	tu_rm_rf(dir);
}

/* A TCP forwarder to the lab server that plays an entrypoint's temporary server: it answers
 * until down_ns, then drops every connection and refuses until up_ns, then answers again. */
struct flaky {
	unsigned backend_port, port;
	int64_t t0, down_ns, up_ns;
	int lfd;
	int pairs[16][2]; /* client, backend; -1 when free */
	atomic_bool stop;
	pthread_t th;
};

static int flaky_listen(unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	                        .sin_port = htons((uint16_t)port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int flaky_dial(unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	                        .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void flaky_close_all(struct flaky *f)
{
	for (int i = 0; i < 16; i++)
		for (int k = 0; k < 2; k++)
			if (f->pairs[i][k] >= 0) {
				close(f->pairs[i][k]);
				f->pairs[i][k] = -1;
			}
}

static void flaky_accept(struct flaky *f)
{
	int c = accept(f->lfd, NULL, NULL), b;

	if (c < 0)
		return;
	b = flaky_dial(f->backend_port);
	for (int i = 0; i < 16 && b >= 0; i++)
		if (f->pairs[i][0] < 0) {
			f->pairs[i][0] = c;
			f->pairs[i][1] = b;
			return;
		}
	close(c);
	if (b >= 0)
		close(b);
}

/* Copies what is readable on one side of pair i to the other; closes the pair at the end. */
static void flaky_pump(struct flaky *f, int i, int from)
{
	char buf[16384];
	ssize_t n = read(f->pairs[i][from], buf, sizeof(buf));

	if (n <= 0 || write(f->pairs[i][1 - from], buf, (size_t)n) != n) {
		close(f->pairs[i][0]);
		close(f->pairs[i][1]);
		f->pairs[i][0] = f->pairs[i][1] = -1;
	}
}

static void flaky_poll(struct flaky *f)
{
	struct pollfd p[33];
	int idx[33], n = 0;

	p[n] = (struct pollfd){.fd = f->lfd, .events = POLLIN};
	idx[n++] = -1;
	for (int i = 0; i < 16; i++)
		for (int k = 0; k < 2 && f->pairs[i][0] >= 0; k++) {
			p[n] = (struct pollfd){.fd = f->pairs[i][k], .events = POLLIN};
			idx[n++] = i * 2 + k;
		}
	if (poll(p, (nfds_t)n, 50) <= 0)
		return;
	for (int j = 0; j < n; j++) {
		if (!p[j].revents)
			continue;
		if (idx[j] < 0)
			flaky_accept(f);
		else if (f->pairs[idx[j] / 2][0] >= 0)
			flaky_pump(f, idx[j] / 2, idx[j] % 2);
	}
}

static void *flaky_run(void *arg)
{
	struct flaky *f = arg;
	bool down = false;
	int64_t t;

	while (!atomic_load(&f->stop)) {
		t = lo2_mono_ns() - f->t0;
		if (!down && f->lfd >= 0 && t >= f->down_ns && t < f->up_ns) {
			flaky_close_all(f);
			close(f->lfd);
			f->lfd = -1;
			down = true;
		}
		if (down && t >= f->up_ns) {
			f->lfd = flaky_listen(f->port);
			down = f->lfd < 0;
		}
		if (down) {
			lo2_sleep_ns(10 * 1000 * 1000);
			continue;
		}
		flaky_poll(f);
	}
	flaky_close_all(f);
	if (f->lfd >= 0)
		close(f->lfd);
	return NULL;
}

static void flaky_start(struct flaky *f, unsigned backend_port, int64_t down_ns, int64_t up_ns)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	memset(f, 0, sizeof(*f));
	memset(f->pairs, -1, sizeof(f->pairs));
	f->backend_port = backend_port;
	f->down_ns = down_ns;
	f->up_ns = up_ns;
	f->lfd = flaky_listen(0);
	assert_true(f->lfd >= 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &len), 0);
	f->port = ntohs(a.sin_port);
	f->t0 = lo2_mono_ns();
	assert_int_equal(pthread_create(&f->th, NULL, flaky_run, f), 0);
}

static void flaky_stop(struct flaky *f)
{
	atomic_store(&f->stop, true);
	pthread_join(f->th, NULL);
}

/* A server that answers for 1 s, vanishes, and is back at 2 s is ready no earlier than 2 s +
 * the settle period; with no settle period the temporary one is taken (here one that lives 3 s). */
static void test_lab_settle_outlasts_temporary_server(void **state)
{
	struct db_target t = root_target();
	struct db_wait_opts o = {.timeout_ns = 30 * LO2_NS_PER_SEC, .settle_ns = 1500 * 1000 * 1000};
	struct db_ready r = {0};
	struct lo2_err err = {0};
	struct flaky f;
	double took;

	flaky_start(&f, t.port, LO2_NS_PER_SEC, 2 * LO2_NS_PER_SEC);
	t.port = f.port;
	if (db_wait(&t, &o, &r, &err) < 0)
		fail_msg("wait through the flaky forwarder: %s", err.msg);
	took = since_s(f.t0);
	flaky_stop(&f);
	print_message("temporary server for 1 s, back at 2 s: ready at %.2f s (%d attempts)\n", took,
	              r.attempts);
	assert_true(took >= 3.4);
	assert_true(r.attempts >= 2);

	o.settle_ns = -1;
	flaky_start(&f, root_target().port, 3 * LO2_NS_PER_SEC, 4 * LO2_NS_PER_SEC);
	t.port = f.port;
	assert_int_equal(db_wait(&t, &o, &r, &err), 0);
	took = since_s(f.t0);
	flaky_stop(&f);
	print_message("the same with no settle period: ready at %.2f s\n", took);
	assert_true(took < 2.5); /* within the first (temporary) server's life */
}

int main(void)
{
	const struct CMUnitTest no_image[] = {
	    cmocka_unit_test(test_nothing_listening),
	    cmocka_unit_test(test_silent_listener),
	    cmocka_unit_test(test_cli_usage),
	    cmocka_unit_test(test_cli_nothing_listening),
	};
	const struct CMUnitTest with_image[] = {
	    cmocka_unit_test(test_lab_wait_after_init),
	    cmocka_unit_test(test_lab_exec_fixture),
	    cmocka_unit_test(test_lab_wrong_password),
	    cmocka_unit_test(test_lab_error_at_7),
	    cmocka_unit_test(test_lab_cli),
	    cmocka_unit_test(test_lab_resolve),
	    cmocka_unit_test(test_lab_cli_compose_file),
	    cmocka_unit_test(test_lab_settle_outlasts_temporary_server),
	};
	int failed = cmocka_run_group_tests_name("mysql without a server", no_image, NULL, NULL);

	if (failed)
		return failed;
	return cmocka_run_group_tests_name("mysql on the lab image", with_image, lab_setup, lab_teardown);
}
