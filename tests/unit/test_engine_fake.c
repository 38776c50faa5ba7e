/* test_engine_fake.c - engine/ against a fake engine on a unix socket (no dockerd): version
 * negotiation and refusal, renegotiation after "client version is too old", and malformed
 * or hostile answers (bad JSON, type-3 frames, truncated streams, errors inside a 200). */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/mem.h"
#include "engine/engine.h"
#include "engine/internal.h"

/* ---- the fake engine: one response per connection (Connection: close) ---- */

struct fake {
	char path[108];
	int lfd;
	pthread_t thread;
	const char *api; /* ApiVersion it reports */
	const char *min_api; /* MinAPIVersion */
	int too_old_once; /* answer the next versioned call with "client version ... is too old" */
	int alternate; /* /version answers 1.44 and 1.45 in turn */
	int n_version;
	struct {
		const char *prefix; /* request path prefix */
		const char *answer; /* raw HTTP response */
		size_t len;
	} routes[4];
	struct lo2_strv seen; /* request lines */
	pthread_mutex_t lock;
};

static void reply(int fd, const char *status, const char *type, const char *body, size_t len)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nApi-Version: 1.99\r\n"
	                 "Connection: close\r\n\r\n",
	                 status, type, len);

	if (write(fd, head, (size_t)n) < 0 || write(fd, body, len) < 0)
		return;
}

static int route_of(struct fake *f, const char *line)
{
	for (int i = 0; i < 4; i++)
		if (f->routes[i].prefix && strstr(line, f->routes[i].prefix))
			return i;
	return -1;
}

static void route(struct fake *f, int i, const char *prefix, const char *answer, size_t len)
{
	f->routes[i].prefix = prefix;
	f->routes[i].answer = answer;
	f->routes[i].len = len ? len : strlen(answer);
}

static void serve_one(struct fake *f, int fd)
{
	char req[8192], line[512];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(req) - 1 && (r = read(fd, req + n, sizeof(req) - 1 - n)) > 0) {
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[n] = '\0';
	sscanf(req, "%511[^\r]", line);
	pthread_mutex_lock(&f->lock);
	lo2_strv_push(&f->seen, line);
	pthread_mutex_unlock(&f->lock);
	if (strstr(line, " /_ping ")) {
		reply(fd, "200 OK", "text/plain", "OK", 2);
	} else if (strstr(line, " /version ")) {
		char body[256];

		if (f->alternate)
			f->api = f->n_version++ % 2 ? "1.45" : "1.44";
		int len = snprintf(body, sizeof(body),
		                   "{\"Version\":\"99.0-fake\",\"ApiVersion\":\"%s\",\"MinAPIVersion\":\"%"
		                   "s\",\"Os\":\"linux\"}",
		                   f->api, f->min_api);
		reply(fd, "200 OK", "application/json", body, (size_t)len);
	} else if (f->too_old_once && strstr(line, " /v1.")) {
		const char *m =
		    "{\"message\":\"client version 1.41 is too old. Minimum supported API version is 1.44, "
		    "please upgrade your client to a newer version\"}";
		f->too_old_once = 0;
		f->api = "1.44";
		f->min_api = "1.44";
		reply(fd, "400 Bad Request", "application/json", m, strlen(m));
	} else if (route_of(f, line) >= 0) {
		int i = route_of(f, line);

		if (write(fd, f->routes[i].answer, f->routes[i].len) < 0)
			return;
	} else {
		const char *m = "{\"message\":\"page not found\"}";
		reply(fd, "404 Not Found", "application/json", m, strlen(m));
	}
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	int fd;

	while ((fd = accept(f->lfd, NULL, NULL)) >= 0) {
		serve_one(f, fd);
		close(fd);
	}
	return NULL;
}

static struct fake *fake_start(const char *api, const char *min_api)
{
	struct fake *f = xcalloc(1, sizeof(*f));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(f->path, sizeof(f->path), "/tmp/lo2-fake-%ld-%p.sock", (long)getpid(), (void *)f);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	unlink(f->path);
	f->api = api;
	f->min_api = min_api;
	pthread_mutex_init(&f->lock, NULL);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 16), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
	return f;
}

static void fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	close(f->lfd);
	pthread_join(f->thread, NULL);
	unlink(f->path);
	lo2_strv_free(&f->seen);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

static int fake_open(struct fake *f, struct engine **e, struct lo2_err *err)
{
	char host[160];

	snprintf(host, sizeof(host), "unix://%s", f->path);
	return engine_open(host, e, err);
}

/* ---- tests ---- */

static void test_negotiate_down(void **state)
{
	struct fake *f = fake_start("1.52", "1.44");
	struct engine *e = NULL;
	struct lo2_err err = {0};

	assert_int_equal(fake_open(f, &e, &err), 0);
	assert_string_equal(engine_api_version(e), "1.47");
	assert_true(engine_api_at_least(e, 44));
	engine_free(e);
	fake_stop(f);
}

static void test_negotiate_refuse_old(void **state)
{
	struct fake *f = fake_start("1.40", "1.12");
	struct engine *e = NULL;
	struct lo2_err err = {0};
	char want[512];

	assert_int_equal(fake_open(f, &e, &err), -1);
	snprintf(want, sizeof(want),
	         "engine unix://%s (Docker 99.0-fake) speaks API 1.40 at most; lo2 needs 1.41 or newer "
	         "(Docker 20.10+)",
	         f->path);
	assert_string_equal(err.msg, want);
	fake_stop(f);
}

static void test_negotiate_refuse_new_min(void **state)
{
	struct fake *f = fake_start("1.60", "1.50");
	struct engine *e = NULL;
	struct lo2_err err = {0};

	assert_int_equal(fake_open(f, &e, &err), -1);
	assert_true(strstr(err.msg, "requires API 1.50 or newer; lo2 speaks 1.41 to 1.47") != NULL);
	fake_stop(f);
}

static void test_renegotiate_on_too_old(void **state)
{
	struct fake *f = fake_start("1.41", "1.12");
	struct engine *e = NULL;
	struct engine_container_info ci;
	struct lo2_err err = {0};

	assert_int_equal(fake_open(f, &e, &err), 0);
	assert_string_equal(engine_api_version(e), "1.41");
	f->too_old_once = 1;
	route(f, 0, "/containers/c1/json",
	      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 79\r\nConnection: "
	      "close\r\n\r\n"
	      "{\"Id\":\"c1\",\"Name\":\"/"
	      "svc-1\",\"Config\":{\"Tty\":false},\"State\":{\"Status\":\"running\"}}",
	      0);
	assert_int_equal(engine_container_inspect(e, "c1", &ci, &err), 0);
	assert_string_equal(ci.name, "svc-1");
	assert_string_equal(engine_api_version(e), "1.44");
	assert_true(lo2_strv_contains(&f->seen, "GET /v1.44/containers/c1/json HTTP/1.1"));
	engine_container_info_free(&ci);
	engine_free(e);
	fake_stop(f);
}

static void test_pin_version(void **state)
{
	struct fake *f = fake_start("1.45", "1.12");
	struct engine *e = NULL;
	struct lo2_err err = {0};
	int rc;

	setenv("DOCKER_API_VERSION", "1.30", 1);
	assert_int_equal(fake_open(f, &e, &err), -1);
	assert_string_equal(err.msg, "DOCKER_API_VERSION 1.30 is older than 1.41, the oldest lo2 supports");
	setenv("DOCKER_API_VERSION", "1.99", 1);
	rc = fake_open(f, &e, &err);
	unsetenv("DOCKER_API_VERSION"); /* before any assert: a failure must not pin the later tests */
	if (rc == 0)
		engine_free(e);
	assert_int_equal(rc, -1);
	assert_string_equal(err.msg, "DOCKER_API_VERSION 1.99 is newer than 1.47, the newest lo2 speaks (lo2 "
	                             "does not clamp a pinned version: unset it to negotiate, or pin "
	                             "1.41..1.47)");
	setenv("DOCKER_API_VERSION", "1.43", 1);
	assert_int_equal(fake_open(f, &e, &err), 0);
	assert_string_equal(engine_api_version(e), "1.43");
	engine_free(e);
	unsetenv("DOCKER_API_VERSION");
	fake_stop(f);
}

static void test_malformed_json(void **state)
{
	struct fake *f = fake_start("1.41", "1.12");
	struct engine *e = NULL;
	struct engine_container_info ci;
	struct lo2_err err = {0};

	assert_int_equal(fake_open(f, &e, &err), 0);
	route(f, 0, "/containers/c1/json",
	      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"Id\": [1", 0);
	assert_int_equal(engine_container_inspect(e, "c1", &ci, &err), -1);
	assert_true(lo2_str_has_prefix(err.msg, "parse container inspect: malformed JSON"));
	engine_container_info_free(&ci);
	engine_free(e);
	fake_stop(f);
}

static const char logs_inspect[] =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 79\r\n\r\n"
    "{\"Id\":\"c2\",\"Name\":\"/web-1\",\"Config\":{\"Tty\":false},\"State\":{\"Status\":\"running\"}}";

static int collect(void *user, int stream, const char *p, size_t n, bool s, bool en, struct lo2_err *err)
{
	lo2_buf_append(user, p, n);
	return 0;
}

/* Runs engine_container_logs for c2 against a logs answer; returns its status, fills got/err. */
static int logs_case(const char *answer, size_t len, struct lo2_buf *got, struct lo2_err *err)
{
	struct fake *f = fake_start("1.41", "1.12");
	struct engine *e = NULL;
	struct engine_logs_opts o = {.since_ns = 1700000000123456789LL};
	int rc;

	assert_int_equal(fake_open(f, &e, err), 0);
	route(f, 0, "/containers/c2/json", logs_inspect, 0);
	route(f, 1, "/containers/c2/logs", answer, len);
	rc = engine_container_logs(e, "c2", &o, collect, got, err);
	assert_true(lo2_strv_contains(&f->seen,
	                              "GET /v1.41/containers/c2/logs?stdout=1&stderr=1&timestamps=0&follow=0"
	                              "&since=1700000000.123456789 HTTP/1.1"));
	engine_free(e);
	fake_stop(f);
	return rc;
}

#define MUX_HEAD "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n"

static void test_logs_error_frame(void **state)
{
	static const char a[] = MUX_HEAD "Content-Length: 46\r\n\r\n"
	                                 "\x01\x00\x00\x00\x00\x00\x00\x05ok 1\n"
	                                 "\x03\x00\x00\x00\x00\x00\x00\x15"
	                                 "Error grabbing logs:x";
	struct lo2_buf got = LO2_BUF_INIT;
	struct lo2_err err = {0};

	assert_int_equal(logs_case(a, sizeof(a) - 1, &got, &err), -1);
	assert_string_equal(err.msg,
	                    "read logs of container web-1: the engine reported an error in the log stream: "
	                    "Error grabbing logs:x");
	assert_string_equal(got.data, "ok 1\n");
	lo2_buf_free(&got);
}

static void test_logs_truncated_body(void **state)
{
	/* The connection closes 20 bytes short of the promised length, inside a frame. */
	static const char a[] = MUX_HEAD "Content-Length: 60\r\n\r\n"
	                                 "\x01\x00\x00\x00\x00\x00\x00\x05ok 1\n"
	                                 "\x01\x00\x00\x00\x00\x00\x00\x30partial";
	struct lo2_buf got = LO2_BUF_INIT;
	struct lo2_err err = {0};

	assert_int_equal(logs_case(a, sizeof(a) - 1, &got, &err), -1);
	assert_true(
	    lo2_str_has_prefix(err.msg, "read logs of container web-1: request /v1.41/containers/c2/logs"));
	assert_true(strstr(err.msg, ": the engine closed the connection before the whole answer arrived (the "
	                            "answer is incomplete; did the engine restart?)") != NULL);
	assert_null(strstr(err.msg, "Transferred a partial file"));
	lo2_buf_free(&got);
}

static void test_logs_404(void **state)
{
	static const char a[] =
	    "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: 74\r\n\r\n"
	    "{\"message\":\"can not get logs from container which is dead or marked for \"}";
	struct lo2_buf got = LO2_BUF_INIT;
	struct lo2_err err = {0};

	assert_int_equal(logs_case(a, sizeof(a) - 1, &got, &err), -1);
	assert_string_equal(err.msg,
	                    "read logs of container web-1: 409 Conflict: can not get logs from container "
	                    "which is dead or marked for ");
	assert_int_equal(err.kind, LO2_E_CONFLICT);
	assert_int_equal(got.len, 0);
	lo2_buf_free(&got);
}

static void test_pull_error_in_stream(void **state)
{
	static const char a[] =
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
	    "{\"status\":\"Pulling from library/x\",\"id\":\"1\"}\n"
	    "{\"errorDetail\":{\"message\":\"manifest unknown\"},\"error\":\"manifest unknown\"}\n";
	struct fake *f = fake_start("1.41", "1.12");
	struct engine *e = NULL;
	struct lo2_err err = {0};

	assert_int_equal(fake_open(f, &e, &err), 0);
	route(f, 0, "/images/create", a, 0);
	assert_int_equal(engine_image_pull(e, "registry:5000/ns/x:1", NULL, NULL, NULL, &err), -1);
	assert_string_equal(err.msg,
	                    "pull image registry:5000/ns/x:1: not found: registry registry:5000 has no such "
	                    "repository, tag or digest (engine: manifest unknown)");
	assert_int_equal(err.kind, LO2_E_NOT_FOUND);
	assert_true(lo2_strv_contains(
	    &f->seen, "POST /v1.41/images/create?fromImage=registry%3A5000%2Fns%2Fx&tag=1 HTTP/1.1"));
	engine_free(e);
	fake_stop(f);
}

/* A 200 answer with a JSON body (the text must outlive the request). */
static char *json_answer(const char *body)
{
	return xasprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	                 strlen(body), body);
}

struct shape_case {
	const char *body, *msg;
};

static int call_list(struct engine *e, struct lo2_err *err)
{
	struct engine_container_list l;
	int rc = engine_container_list(e, NULL, true, &l, err);

	assert_int_equal(l.n, 0);
	return rc;
}

static int call_inspect(struct engine *e, struct lo2_err *err)
{
	struct engine_container_info ci;
	int rc = engine_container_inspect(e, "c1", &ci, err);

	assert_null(ci.id);
	return rc;
}

/* Each body, answered to requests under prefix, makes call fail with exactly the case's message. */
static void run_shapes(const char *prefix, const struct shape_case *c, size_t n,
                       int (*call)(struct engine *e, struct lo2_err *err))
{
	struct fake *f = fake_start("1.41", "1.12");
	struct engine *e = NULL;
	struct lo2_err err = {0};
	struct lo2_strv answers = {0}; /* freed after the fake's thread is joined: it writes them */

	assert_int_equal(fake_open(f, &e, &err), 0);
	for (size_t i = 0; i < n; i++) {
		lo2_strv_take(&answers, json_answer(c[i].body));
		route(f, 0, prefix, answers.v[i], 0);
		assert_int_equal(call(e, &err), -1);
		assert_string_equal(err.msg, c[i].msg);
	}
	engine_free(e);
	fake_stop(f);
	lo2_strv_free(&answers);
}

/* Answers of the wrong shape are named errors, never a crash or a "(null)". */
static void test_list_wrong_shape(void **state)
{
	static const struct shape_case cases[] = {
	    {"[{\"Id\":\"a\",\"State\":\"running\"},{\"Id\":\"b\",\"State\":\"exited\"},"
	     "{\"Names\":[\"/c\"],\"State\":\"running\"}]",
	     "list containers: entry 3 has no Id"},
	    {"[{\"Id\":\"a\",\"Names\":[\"/a\"]}]", "list containers: entry 1 has no State"},
	    {"[{\"Id\":7,\"State\":\"running\"}]", "list containers: entry 1: Id is not a string"},
	    {"[{\"Id\":\"a\",\"State\":\"up\",\"Names\":[5]}]",
	     "list containers: entry 1: Names[0] is not a string"},
	    {"[{\"Id\":\"a\",\"State\":\"up\",\"Labels\":{\"x\":1}}]",
	     "list containers: entry 1: Labels.x is not a string"},
	    {"[\"a\"]", "list containers: entry 1 is not an object"},
	    {"{\"message\":\"x\"}", "list containers: the answer is not an array"},
	};

	run_shapes("/containers/json", cases, sizeof(cases) / sizeof(cases[0]), call_list);
}

static void test_inspect_wrong_shape(void **state)
{
	static const struct shape_case cases[] = {
	    {"{\"Id\":\"c1\",\"Name\":\"/x\"}", "inspect container c1: the answer has no State"},
	    {"{\"Id\":\"c1\",\"Name\":\"/x\",\"State\":{}}", "inspect container c1: State has no Status"},
	    {"{\"Id\":\"c1\",\"Name\":\"/x\",\"State\":{\"Status\":\"running\",\"Pid\":\"12\"}}",
	     "inspect container c1: State: Pid is not an integer"},
	    {"{\"Id\":\"c1\",\"Name\":\"/x\",\"State\":{\"Status\":\"running\"},\"Config\":{\"Env\":[1]}}",
	     "inspect container c1: Config: Env[0] is not a string"},
	    {"{\"Id\":\"c1\",\"Name\":\"/x\",\"State\":{\"Status\":\"running\"},"
	     "\"NetworkSettings\":{\"Ports\":{\"80/tcp\":[7]}}}",
	     "inspect container c1: NetworkSettings.Ports.80/tcp[0] is not an object"},
	    {"{\"Name\":\"/x\",\"State\":{\"Status\":\"running\"}}",
	     "inspect container c1: the answer has no Id"},
	};

	run_shapes("/containers/c1/json", cases, sizeof(cases) / sizeof(cases[0]), call_inspect);
}

/* Names the engine cannot take as a path segment never reach it (it answered "301 Error"). */
static void test_bad_container_names(void **state)
{
	struct fake *f = fake_start("1.41", "1.12");
	struct engine *e = NULL;
	struct engine_container_info ci;
	struct lo2_buf got = LO2_BUF_INIT;
	struct engine_logs_opts o = {0};
	struct lo2_err err = {0};
	size_t seen;

	assert_int_equal(fake_open(f, &e, &err), 0);
	seen = f->seen.n;
	assert_int_equal(engine_container_inspect(e, "", &ci, &err), -1);
	assert_string_equal(err.msg, "inspect container: the name is empty");
	assert_int_equal(engine_container_inspect(e, "..", &ci, &err), -1);
	assert_string_equal(err.msg, "inspect container \"..\": not a container name or ID");
	assert_int_equal(engine_container_logs(e, "a\nb", &o, collect, &got, &err), -1);
	assert_string_equal(err.msg,
	                    "read logs of container \"a\\x0ab\": a container name or ID holds no '/' "
	                    "or control character");
	assert_int_equal(engine_container_stop(e, ".", 1, &err), -1);
	assert_string_equal(err.msg, "stop container \".\": not a container name or ID");
	assert_int_equal(engine_container_remove(e, "", true, false, &err), -1);
	assert_int_equal(f->seen.n, seen);
	engine_free(e);
	fake_stop(f);
}

/* The CLI never echoes a name raw: a newline in it would forge a second message line. */
static void test_cli_escapes_names(void **state)
{
	struct fake *f = fake_start("1.41", "1.12");
	char host[160], *out = NULL, *err = NULL;

	snprintf(host, sizeof(host), "unix://%s", f->path);
	assert_int_equal(tu_lo2_run(&out, &err, "logs", "-H", host, "web\nlo2: forged", "-o", "-", NULL), 1);
	assert_string_equal(
	    err, "lo2: logs web\\x0alo2: forged: read logs of container \"web\\x0alo2: forged\": a "
	         "container name or ID holds no '/' or control character\n");
	free(out);
	free(err);
	fake_stop(f);
}

struct lister {
	struct engine *e;
	int failures;
};

static void *list_many(void *arg)
{
	struct lister *l = arg;

	for (int i = 0; i < 40; i++) {
		struct engine_container_list cl;
		struct lo2_err err = {0};
		const char *v = engine_api_version(l->e);

		if (strcmp(v, "1.44") != 0 && strcmp(v, "1.45") != 0)
			l->failures++;
		if (engine_container_list(l->e, NULL, true, &cl, &err) < 0)
			l->failures++;
		else
			engine_container_list_free(&cl);
	}
	return NULL;
}

/* Renegotiation rewrites the version while other threads build URLs from it: every URL carries a
 * whole version (run under TSan to see the race main had). */
static void test_renegotiate_while_calling(void **state)
{
	struct fake *f = fake_start("1.44", "1.12");
	struct engine *e = NULL;
	struct lo2_err err = {0};
	struct lister l[3];
	pthread_t th[3];

	f->alternate = 1;
	route(f, 0, "/containers/json",
	      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]", 0);
	assert_int_equal(fake_open(f, &e, &err), 0);
	for (int i = 0; i < 3; i++) {
		l[i] = (struct lister){.e = e};
		assert_int_equal(pthread_create(&th[i], NULL, list_many, &l[i]), 0);
	}
	for (int i = 0; i < 20; i++)
		assert_int_equal(engine_negotiate(e, &err), 0);
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(l[i].failures, 0);
	}
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->seen.n; i++)
		if (strstr(f->seen.v[i], "/containers/json"))
			assert_true(lo2_str_has_prefix(f->seen.v[i], "GET /v1.44/containers/json") ||
			            lo2_str_has_prefix(f->seen.v[i], "GET /v1.45/containers/json"));
	pthread_mutex_unlock(&f->lock);
	engine_free(e);
	fake_stop(f);
}

/* ---- stats streams ---- */

struct got_stats {
	int good, empty;
	struct lo2_strv bad;
	uint64_t last_cpu;
};

static int on_stats(void *user, const struct engine_stats_sample *s, const struct lo2_err *bad)
{
	struct got_stats *g = user;

	if (bad)
		lo2_strv_push(&g->bad, bad->msg);
	else if (s->read_ns == 0)
		g->empty++;
	else {
		g->good++;
		g->last_cpu = s->v[ENGINE_STAT_CPU_TOTAL_NS];
	}
	return 0;
}

static int stats_case(const char *answer, size_t len, struct got_stats *g, struct lo2_err *err)
{
	struct fake *f = fake_start("1.41", "1.12");
	struct engine *e = NULL;
	int rc;

	route(f, 0, "/containers/c3/stats", answer, len);
	assert_int_equal(fake_open(f, &e, err), 0);
	rc = engine_container_stats_stream(e, "c3", NULL, on_stats, g, err);
	assert_true(lo2_strv_contains(&f->seen, "GET /v1.41/containers/c3/stats?stream=1 HTTP/1.1"));
	engine_free(e);
	fake_stop(f);
	return rc;
}

#define SAMPLE "{\"read\":\"2025-01-01T00:00:01Z\",\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":7}}}\n"
#define EMPTY "{\"read\":\"0001-01-01T00:00:00Z\",\"pids_stats\":{},\"memory_stats\":{}}\n"
#define BAD "{\"read\":\"2025-01-01T00:00:02Z\",\"memory_stats\":{\"usage\":\"x\"}}\n"
#define NOTJSON "<html>\n"

/* Samples of a wrong shape are named to the callback and the stream goes on; a stream that ends
 * early is an error naming the container; a 404 is LO2_E_NOT_FOUND. */
static void test_stats_stream_shapes(void **state)
{
	static const char ok[] =
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 286\r\n\r\n" SAMPLE BAD
	        NOTJSON EMPTY SAMPLE;
	static const char cut[] =
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n" SAMPLE
	    "{\"read\":";
	static const char gone[] =
	    "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: "
	    "35\r\n\r\n{\"message\":\"No such container: c3\"}";
	struct got_stats g = {0};
	struct lo2_err err = {0};

	assert_int_equal(sizeof(SAMPLE BAD NOTJSON EMPTY SAMPLE) - 1, 286);
	assert_int_equal(stats_case(ok, sizeof(ok) - 1, &g, &err), 0);
	assert_int_equal(g.good, 2);
	assert_int_equal(g.empty, 1);
	assert_int_equal(g.last_cpu, 7);
	assert_int_equal(g.bad.n, 2);
	assert_string_equal(g.bad.v[0],
	                    "container stats sample: memory_stats: usage is not a non-negative integer");
	assert_true(lo2_str_has_prefix(g.bad.v[1], "parse container stats sample: malformed JSON"));
	lo2_strv_free(&g.bad);
	memset(&g, 0, sizeof(g));
	assert_int_equal(stats_case(cut, sizeof(cut) - 1, &g, &err), -1);
	assert_int_equal(g.good, 1);
	assert_true(lo2_str_has_prefix(err.msg, "stream stats of container c3: "));
	lo2_strv_free(&g.bad);
	memset(&g, 0, sizeof(g));
	lo2_err_clear(&err);
	assert_int_equal(stats_case(gone, sizeof(gone) - 1, &g, &err), -1);
	assert_int_equal(err.kind, LO2_E_NOT_FOUND);
	assert_string_equal(err.msg, "stream stats of container c3: 404 Not Found: No such container: c3");
	lo2_strv_free(&g.bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_negotiate_down),
	    cmocka_unit_test(test_negotiate_refuse_old),
	    cmocka_unit_test(test_negotiate_refuse_new_min),
	    cmocka_unit_test(test_renegotiate_on_too_old),
	    cmocka_unit_test(test_pin_version),
	    cmocka_unit_test(test_malformed_json),
	    cmocka_unit_test(test_logs_error_frame),
	    cmocka_unit_test(test_logs_truncated_body),
	    cmocka_unit_test(test_logs_404),
	    cmocka_unit_test(test_pull_error_in_stream),
	    cmocka_unit_test(test_list_wrong_shape),
	    cmocka_unit_test(test_inspect_wrong_shape),
	    cmocka_unit_test(test_bad_container_names),
	    cmocka_unit_test(test_cli_escapes_names),
	    cmocka_unit_test(test_renegotiate_while_calling),
	    cmocka_unit_test(test_stats_stream_shapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
