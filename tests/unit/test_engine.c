/* test_engine.c - engine/ without an engine: the log demultiplexer at every split point,
 * zero-length, huge, truncated and error frames, TTY streams; create bodies; filter
 * encoding; DOCKER_HOST parsing; stats parsing. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "engine/engine.h"
#include "engine/internal.h"

/* ---- demux ---- */

struct collect {
	struct lo2_buf out[3]; /* by stream */
	struct lo2_buf all;
	int frames_started, frames_ended;
};

static int collect_fn(void *user, int stream, const char *p, size_t n, bool start, bool end,
                      struct lo2_err *err)
{
	struct collect *c = user;

	assert_true(stream == ENGINE_STDOUT || stream == ENGINE_STDERR);
	lo2_buf_append(&c->out[stream], p, n);
	lo2_buf_append(&c->all, p, n);
	c->frames_started += start;
	c->frames_ended += end;
	return 0;
}

static void collect_free(struct collect *c)
{
	for (int i = 0; i < 3; i++)
		lo2_buf_free(&c->out[i]);
	lo2_buf_free(&c->all);
}

static void frame(struct lo2_buf *b, int type, const char *p, size_t n)
{
	unsigned char h[8] = {(unsigned char)type,
	                      0,
	                      0,
	                      0,
	                      (unsigned char)(n >> 24),
	                      (unsigned char)(n >> 16),
	                      (unsigned char)(n >> 8),
	                      (unsigned char)n};

	lo2_buf_append(b, h, 8);
	lo2_buf_append(b, p, n);
}

static void make_stream(struct lo2_buf *b)
{
	frame(b, 1, "out one\n", 8);
	frame(b, 2, "err one\n", 8);
	frame(b, 1, "", 0);
	frame(b, 0, "stdin-as-out\n", 13);
	frame(b, 2, "err two, longer line\n", 21);
	frame(b, 1, "x", 1);
}

static int feed_split(const char *p, size_t n, size_t a, size_t bpos, struct collect *c, struct lo2_err *err)
{
	struct engine_demux *d = engine_demux_new(false, collect_fn, c);
	int ret = 0;

	if (engine_demux_feed(d, p, a, err) < 0 || engine_demux_feed(d, p + a, bpos - a, err) < 0 ||
	    engine_demux_feed(d, p + bpos, n - bpos, err) < 0 || engine_demux_finish(d, err) < 0)
		ret = -1;
	engine_demux_free(d);
	return ret;
}

static void test_demux_every_split(void **state)
{
	struct lo2_buf s = LO2_BUF_INIT;

	make_stream(&s);
	/* Every pair of split points: three pieces of every size, 1-byte pieces included. */
	for (size_t a = 0; a <= s.len; a++) {
		for (size_t b = a; b <= s.len; b++) {
			struct collect c = {0};
			struct lo2_err err = {0};

			assert_int_equal(feed_split(s.data, s.len, a, b, &c, &err), 0);
			assert_string_equal(c.out[1].data, "out one\nstdin-as-out\nx");
			assert_string_equal(c.out[2].data, "err one\nerr two, longer line\n");
			assert_string_equal(c.all.data,
			                    "out one\nerr one\nstdin-as-out\nerr two, longer line\nx");
			assert_int_equal(c.frames_started, 5);
			assert_int_equal(c.frames_ended, 5);
			collect_free(&c);
		}
	}
	lo2_buf_free(&s);
}

static void test_demux_byte_by_byte(void **state)
{
	struct lo2_buf s = LO2_BUF_INIT;
	struct collect c = {0};
	struct lo2_err err = {0};
	struct engine_demux *d = engine_demux_new(false, collect_fn, &c);

	make_stream(&s);
	for (size_t i = 0; i < s.len; i++)
		assert_int_equal(engine_demux_feed(d, s.data + i, 1, &err), 0);
	assert_int_equal(engine_demux_finish(d, &err), 0);
	assert_string_equal(c.all.data, "out one\nerr one\nstdin-as-out\nerr two, longer line\nx");
	engine_demux_free(d);
	collect_free(&c);
	lo2_buf_free(&s);
}

static void test_demux_huge_frame(void **state)
{
	size_t n = 10u * 1024 * 1024;
	char *payload = xmalloc(n);
	struct lo2_buf s = LO2_BUF_INIT;
	struct collect c = {0};
	struct lo2_err err = {0};
	struct engine_demux *d = engine_demux_new(false, collect_fn, &c);

	for (size_t i = 0; i < n; i++)
		payload[i] = (char)('a' + i % 26);
	frame(&s, 2, payload, n);
	frame(&s, 1, "after\n", 6);
	/* Fed in 16 KiB pieces: the frame is far larger than any piece. */
	for (size_t off = 0; off < s.len; off += 16384)
		assert_int_equal(
		    engine_demux_feed(d, s.data + off, s.len - off < 16384 ? s.len - off : 16384, &err), 0);
	assert_int_equal(engine_demux_finish(d, &err), 0);
	assert_int_equal(c.out[2].len, n);
	assert_memory_equal(c.out[2].data, payload, n);
	assert_string_equal(c.out[1].data, "after\n");
	assert_int_equal(c.frames_started, 2);
	assert_int_equal(c.frames_ended, 2);
	engine_demux_free(d);
	collect_free(&c);
	lo2_buf_free(&s);
	free(payload);
}

static void test_demux_truncated(void **state)
{
	struct lo2_buf s = LO2_BUF_INIT;

	frame(&s, 1, "complete\n", 9);
	frame(&s, 1, "partial line\n", 13);
	/* Cut inside the second frame's payload, then inside its header. */
	size_t cuts[] = {s.len - 5, 9 + 8 + 3};
	const char *want[] = {
	    "log stream truncated: it ended inside a frame (5 payload bytes missing) at byte 33",
	    "log stream truncated: it ended inside a frame header (3 of 8 bytes) at byte 20"};
	for (int i = 0; i < 2; i++) {
		struct collect c = {0};
		struct lo2_err err = {0};
		struct engine_demux *d = engine_demux_new(false, collect_fn, &c);

		assert_int_equal(engine_demux_feed(d, s.data, cuts[i], &err), 0);
		assert_int_equal(engine_demux_finish(d, &err), -1);
		assert_string_equal(err.msg, want[i]);
		/* Nothing invented: only what arrived was passed on. */
		assert_true(lo2_str_has_prefix(c.all.data, "complete\n"));
		assert_true(c.all.len <= cuts[i]);
		engine_demux_free(d);
		collect_free(&c);
	}
	lo2_buf_free(&s);
}

static void test_demux_error_frame(void **state)
{
	struct lo2_buf s = LO2_BUF_INIT;
	struct collect c = {0};
	struct lo2_err err = {0};
	struct engine_demux *d = engine_demux_new(false, collect_fn, &c);

	frame(&s, 1, "line\n", 5);
	frame(&s, 3, "Error grabbing logs: log file is corrupt\n", 41);
	frame(&s, 1, "never\n", 6);
	assert_int_equal(engine_demux_feed(d, s.data, s.len, &err), -1);
	assert_string_equal(
	    err.msg,
	    "the engine reported an error in the log stream: Error grabbing logs: log file is corrupt");
	assert_string_equal(c.all.data, "line\n");
	engine_demux_free(d);
	collect_free(&c);
	lo2_buf_free(&s);
}

static void test_demux_bad_header(void **state)
{
	struct collect c = {0};
	struct lo2_err err = {0};
	struct engine_demux *d = engine_demux_new(false, collect_fn, &c);

	assert_int_equal(engine_demux_feed(d, "hello world, a tty stream\n", 26, &err), -1);
	assert_true(strstr(err.msg, "malformed log stream: bad frame header 68 65 6c 6c at byte 0") != NULL);
	engine_demux_free(d);
	collect_free(&c);
}

static void test_demux_tty(void **state)
{
	static const char raw[] = "\x01\x00\x00\x00 raw tty bytes pass through\r\n";
	struct collect c = {0};
	struct lo2_err err = {0};
	struct engine_demux *d = engine_demux_new(true, collect_fn, &c);
	size_t n = sizeof(raw) - 1;

	for (size_t i = 0; i < n; i += 7)
		assert_int_equal(engine_demux_feed(d, raw + i, n - i < 7 ? n - i : 7, &err), 0);
	assert_int_equal(engine_demux_finish(d, &err), 0);
	assert_int_equal(c.out[1].len, n);
	assert_memory_equal(c.out[1].data, raw, n);
	assert_int_equal(c.frames_started, 0);
	engine_demux_free(d);
	collect_free(&c);
}

static int failing_fn(void *user, int stream, const char *p, size_t n, bool start, bool end,
                      struct lo2_err *err)
{
	return lo2_err_set(err, LO2_E_GENERIC, "write x.log.gz: disk full");
}

static void test_demux_sink_error(void **state)
{
	struct lo2_buf s = LO2_BUF_INIT;
	struct lo2_err err = {0};
	struct engine_demux *d = engine_demux_new(false, failing_fn, NULL);

	frame(&s, 1, "a\n", 2);
	assert_int_equal(engine_demux_feed(d, s.data, s.len, &err), -1);
	assert_string_equal(err.msg, "write x.log.gz: disk full");
	engine_demux_free(d);
	lo2_buf_free(&s);
}

/* ---- filters ---- */

static void test_filters_json(void **state)
{
	struct lo2_strv f = {0};
	char *j;

	j = engine_filters_json(&f);
	assert_string_equal(j, "{}");
	free(j);
	lo2_strv_push(&f, "label=com.docker.compose.project=demo");
	lo2_strv_push(&f, "status=running");
	lo2_strv_push(&f, "label=com.docker.compose.oneoff=False");
	lo2_strv_push(&f, "name=^/a\"b$");
	j = engine_filters_json(&f);
	assert_string_equal(
	    j, "{\"label\":[\"com.docker.compose.project=demo\",\"com.docker.compose.oneoff=False\"],"
	       "\"status\":[\"running\"],\"name\":[\"^/a\\\"b$\"]}");
	free(j);
	lo2_strv_free(&f);
}

/* ---- create body ---- */

static void test_create_body(void **state)
{
	struct engine_container_spec s = {0};
	struct lo2_json *doc = NULL;
	const struct lo2_json *hc, *pb;
	char *j, *j44;
	int64_t n;

	s.image = xstrdup("lo2-lab/mariadb:latest");
	s.cmd_set = true;
	lo2_strv_push(&s.cmd, "mariadbd");
	s.entrypoint_set = true; /* empty: clears the image's entrypoint */
	lo2_strv_push(&s.env, "A=1");
	lo2_strv_push(&s.env, "UNSET");
	lo2_kvv_set(&s.labels, "com.docker.compose.project", "demo");
	s.healthcheck.set = true;
	lo2_strv_push(&s.healthcheck.test, "CMD-SHELL");
	lo2_strv_push(&s.healthcheck.test, "true");
	s.healthcheck.interval_ns = 1500000000;
	s.healthcheck.retries = 3;
	s.stop_timeout = 20;
	s.ports = xcalloc(3, sizeof(*s.ports));
	s.ports[0] = (struct engine_port){xstrdup("80/tcp"), xstrdup("127.0.0.1"), xstrdup("8080")};
	s.ports[1] = (struct engine_port){xstrdup("6831/udp"), xstrdup(""), xstrdup("6831")};
	s.ports[2] = (struct engine_port){xstrdup("80/tcp"), xstrdup("::1"), xstrdup("")};
	s.n_ports = 3;
	lo2_strv_push(&s.binds, "/abs:/data:ro");
	s.restart_policy = xstrdup("on-failure");
	s.restart_max_retries = 3;
	s.log_driver = xstrdup("gelf");
	lo2_kvv_set(&s.log_opts, "gelf-address", "udp://localhost:12201");
	s.ulimits = xcalloc(1, sizeof(*s.ulimits));
	s.ulimits[0] = (struct engine_ulimit){xstrdup("nofile"), 20000, 40000};
	s.n_ulimits = 1;
	s.networks = xcalloc(2, sizeof(*s.networks));
	s.networks[0].network = xstrdup("demo_default");
	lo2_strv_push(&s.networks[0].aliases, "demo-db-1");
	lo2_strv_push(&s.networks[0].aliases, "db");
	s.networks[1].network = xstrdup("demo_back");
	s.n_networks = 2;

	j = engine_container_spec_json(&s, 41);
	assert_int_equal(lo2_json_parse(j, "body", &doc, NULL), 0);
	assert_string_equal(lo2_json_str(lo2_json_get(doc, "Image")), "lo2-lab/mariadb:latest");
	assert_int_equal(lo2_json_len(lo2_json_get(doc, "Entrypoint")), 0);
	assert_true(lo2_json_is_array(lo2_json_get(doc, "Entrypoint")));
	assert_string_equal(lo2_json_str(lo2_json_at(lo2_json_get(doc, "Env"), 1)), "UNSET");
	assert_true(lo2_json_int(lo2_json_path(doc, "Healthcheck", "Interval", NULL), &n));
	assert_int_equal(n, 1500000000);
	assert_true(lo2_json_is_object(lo2_json_path(doc, "ExposedPorts", "6831/udp", NULL)));
	hc = lo2_json_get(doc, "HostConfig");
	pb = lo2_json_path(hc, "PortBindings", "80/tcp", NULL);
	assert_int_equal(lo2_json_len(pb), 2);
	assert_string_equal(lo2_json_str(lo2_json_get(lo2_json_at(pb, 0), "HostIp")), "127.0.0.1");
	assert_string_equal(lo2_json_str(lo2_json_get(lo2_json_at(pb, 1), "HostPort")), "");
	assert_string_equal(lo2_json_str(lo2_json_get(hc, "NetworkMode")), "demo_default");
	assert_string_equal(lo2_json_str(lo2_json_path(hc, "RestartPolicy", "Name", NULL)), "on-failure");
	assert_string_equal(lo2_json_str(lo2_json_path(hc, "LogConfig", "Config", "gelf-address", NULL)),
	                    "udp://localhost:12201");
	assert_true(lo2_json_int(lo2_json_get(lo2_json_at(lo2_json_get(hc, "Ulimits"), 0), "Hard"), &n));
	assert_int_equal(n, 40000);
	/* Below 1.44 only the primary network is in the body (the rest are connected after create). */
	assert_int_equal(lo2_json_len(lo2_json_path(doc, "NetworkingConfig", "EndpointsConfig", NULL)), 1);
	assert_string_equal(lo2_json_str(lo2_json_at(lo2_json_path(doc, "NetworkingConfig", "EndpointsConfig",
	                                                           "demo_default", "Aliases", NULL),
	                                             1)),
	                    "db");
	lo2_json_free(doc);
	j44 = engine_container_spec_json(&s, 44);
	assert_int_equal(lo2_json_parse(j44, "body", &doc, NULL), 0);
	assert_int_equal(lo2_json_len(lo2_json_path(doc, "NetworkingConfig", "EndpointsConfig", NULL)), 2);
	lo2_json_free(doc);
	free(j);
	free(j44);
	engine_container_spec_free(&s);
}

/* ---- DOCKER_HOST ---- */

static void test_docker_host(void **state)
{
	struct engine_endpoint ep;
	struct lo2_err err = {0};

	assert_int_equal(engine_endpoint_parse(NULL, NULL, NULL, NULL, &ep, &err), 0);
	assert_string_equal(ep.unix_path, "/var/run/docker.sock");
	assert_string_equal(ep.display, "unix:///var/run/docker.sock");
	engine_endpoint_free(&ep);
	assert_int_equal(
	    engine_endpoint_parse("unix:///run/user/1000/docker.sock", "1", NULL, NULL, &ep, &err), 0);
	assert_false(ep.tls);
	engine_endpoint_free(&ep);
	assert_int_equal(engine_endpoint_parse("tcp://10.0.0.5", NULL, NULL, NULL, &ep, &err), 0);
	assert_string_equal(ep.base_url, "http://10.0.0.5:2375");
	assert_true(ep.cleartext);
	engine_endpoint_free(&ep);
	/* DOCKER_TLS_VERIFY set to anything, even "0", turns TLS on, and the default port is 2376. */
	assert_int_equal(engine_endpoint_parse("tcp://docker.example:", NULL, NULL, NULL, &ep, &err), -1);
	assert_int_equal(
	    engine_endpoint_parse("tcp://docker.example", "0", NULL, LO2_FIXTURES "/tls", &ep, &err), 0);
	assert_string_equal(ep.base_url, "https://docker.example:2376");
	assert_true(ep.tls && ep.tls_verify && !ep.cleartext);
	assert_string_equal(ep.ca_file, LO2_FIXTURES "/tls/ca.pem");
	assert_null(ep.cert_file);
	engine_endpoint_free(&ep);
	assert_int_equal(engine_endpoint_parse("tcp://[::1]:2400", NULL, "1", NULL, &ep, &err), 0);
	assert_string_equal(ep.base_url, "https://[::1]:2400");
	assert_true(ep.tls && !ep.tls_verify);
	engine_endpoint_free(&ep);

	assert_int_equal(engine_endpoint_parse("ssh://me@host", NULL, NULL, NULL, &ep, &err), -1);
	assert_string_equal(
	    err.msg, "invalid DOCKER_HOST \"ssh://me@host\": expected unix:///path or tcp://host[:port] "
	             "(ssh:// and npipe:// are not supported)");
	assert_int_equal(engine_endpoint_parse("tcp://host:99999", NULL, NULL, NULL, &ep, &err), -1);
	assert_string_equal(err.msg, "invalid DOCKER_HOST \"tcp://host:99999\": port must be 1..65535");
	assert_int_equal(engine_endpoint_parse("unix://relative.sock", NULL, NULL, NULL, &ep, &err), -1);
	assert_string_equal(err.msg,
	                    "invalid DOCKER_HOST \"unix://relative.sock\": the socket path must be absolute");
	assert_int_equal(engine_endpoint_parse("tcp://host/path", NULL, NULL, NULL, &ep, &err), -1);
	assert_int_equal(engine_endpoint_parse("bogus\x01", NULL, NULL, NULL, &ep, &err), -1);
	assert_string_equal(err.msg,
	                    "invalid DOCKER_HOST \"bogus\\x01\": expected unix:///path or tcp://host[:port] "
	                    "(ssh:// and npipe:// are not supported)");
}

/* Credentials, TLS files and cleartext: refused or named before any connection. */
static void test_docker_host_hardening(void **state)
{
	char dir[] = "/tmp/lo2-tls-XXXXXX";
	struct engine_endpoint ep;
	struct lo2_err err = {0};
	char path[128];

	assert_int_equal(
	    engine_endpoint_parse("tcp://user:s3cret@docker.example:2376", NULL, NULL, NULL, &ep, &err), -1);
	assert_string_equal(err.msg, "invalid DOCKER_HOST: credentials (user:password@) are not supported in "
	                             "DOCKER_HOST; use TLS client certificates (DOCKER_CERT_PATH)");
	/* Loopback hosts are not cleartext across a network; a socket never is. */
	for (int i = 0; i < 3; i++) {
		const char *h[] = {"tcp://127.0.0.1:2375", "tcp://localhost", "tcp://[::1]:2375"};

		assert_int_equal(engine_endpoint_parse(h[i], NULL, NULL, NULL, &ep, &err), 0);
		assert_false(ep.cleartext);
		engine_endpoint_free(&ep);
	}
	assert_int_equal(engine_endpoint_parse("tcp://10.0.0.5", NULL, "1", LO2_FIXTURES "/tls", &ep, &err),
	                 0);
	assert_false(ep.cleartext);
	engine_endpoint_free(&ep);

	assert_int_equal(engine_endpoint_parse("tcp://docker.example", "1", NULL, "/nonexistent", &ep, &err),
	                 -1);
	assert_string_equal(err.msg, "DOCKER_CERT_PATH /nonexistent is not a folder (it should hold ca.pem, "
	                             "cert.pem and key.pem)");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(engine_endpoint_parse("tcp://docker.example", "1", NULL, dir, &ep, &err), -1);
	snprintf(path, sizeof(path),
	         "TLS verification (DOCKER_TLS_VERIFY) needs the CA certificate %s/ca.pem: "
	         "it is missing",
	         dir);
	assert_string_equal(err.msg, path);
	snprintf(path, sizeof(path), "%s/cert.pem", dir);
	lo2_write_file_atomic(path, "x", 1, &err);
	assert_int_equal(engine_endpoint_parse("tcp://docker.example", NULL, "1", dir, &ep, &err), -1);
	snprintf(path, sizeof(path), "TLS client certificate: %s/key.pem is missing (cert.pem is there)",
	         dir);
	assert_string_equal(err.msg, path);
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(engine_endpoint_parse("tcp://docker.example", NULL, "1", dir, &ep, &err), -1);
	assert_true(strstr(err.msg, "/key.pem is not a regular file") != NULL);
	lo2_rm_rf(dir);
}

/* A DOCKER_HOST socket path that is a plain file: said so, not "nothing is listening". */
static void test_not_a_socket(void **state)
{
	char path[] = "/tmp/lo2-notsock-XXXXXX";
	char host[64], want[256];
	struct engine *e = NULL;
	struct lo2_err err = {0};
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	snprintf(host, sizeof(host), "unix://%s", path);
	assert_int_equal(engine_open(host, &e, &err), -1);
	snprintf(want, sizeof(want),
	         "ping engine %s: connect to %s: %s is not a socket: DOCKER_HOST must name "
	         "the engine's socket (usually /var/run/docker.sock)",
	         host, host, path);
	assert_string_equal(err.msg, want);
	unlink(path);
}

static int count_event(void *user, const struct engine_event *ev)
{
	(*(int *)user)++;
	return 0;
}

/* Event and progress lines of the wrong shape: named errors, the handler never sees NULLs. */
static void test_event_and_progress_shapes(void **state)
{
	static const struct {
		const char *line, *msg;
	} ev[] = {
	    {"{\"Type\":\"container\",\"Actor\":{\"ID\":\"a\"},\"time\":1}", "the event has no Action"},
	    {"{\"Type\":\"container\",\"Action\":\"die\",\"time\":1}", "the event has no Actor"},
	    {"{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":3}}", "Actor: ID is not a string"},
	    {"{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"a\",\"Attributes\":[]}}",
	     "Actor: Attributes is not an object"},
	    {"{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"a\"},\"time\":99999999999999}",
	     "the event: time 99999999999999 is out of range"},
	    {"[]", "the event is not an object"},
	};
	struct engine_progress p;
	struct lo2_err err = {0};
	int n = 0, rc = 0;

	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		assert_int_equal(engine_event_parse(ev[i].line, count_event, &n, &rc, &err), -1);
		assert_string_equal(err.msg, ev[i].msg);
	}
	assert_int_equal(n, 0);
	assert_int_equal(
	    engine_event_parse("{\"Type\":\"container\",\"Action\":\"start\",\"Actor\":{\"ID\":\"a\"},"
	                       "\"time\":1700000000}",
	                       count_event, &n, &rc, &err),
	    0);
	assert_int_equal(n, 1);

	engine_progress_init(&p, NULL, NULL);
	assert_int_equal(engine_lines_feed(&p.lines, "{\"stream\":\"ok\"}\n{\"stream\":5}\n", 29, &err), -1);
	assert_string_equal(err.msg, "engine progress stream, line 2: the line: stream is not a string");
	engine_progress_free(&p);
	engine_progress_init(&p, NULL, NULL);
	assert_int_equal(engine_lines_feed(&p.lines, "{\"aux\":{\"ID\":[]}}\n", 19, &err), -1);
	assert_string_equal(err.msg, "engine progress stream, line 1: aux: ID is not a string");
	engine_progress_free(&p);
}

/* Plain tcp:// to a host that is not loopback: connects as docker does, after one warning line. */
static void test_cleartext_warning(void **state)
{
	char *out = NULL, *err = NULL;

	/* 0.0.0.0 is not a loopback name but connects to this machine: nothing leaves it. */
	setenv("DOCKER_HOST", "tcp://0.0.0.0:1", 1);
	assert_int_equal(tu_lo2_run(&out, &err, "engine", "ping", NULL), 1);
	assert_true(lo2_str_has_prefix(err, "lo2: warning: tcp://0.0.0.0:1 is plain HTTP: the engine API "
	                                    "(environments, secrets) crosses the network unencrypted; set "
	                                    "DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH for TLS\nlo2: "));
	free(out);
	free(err);
	setenv("DOCKER_HOST", "tcp://127.0.0.1:1", 1);
	assert_int_equal(tu_lo2_run(&out, &err, "engine", "ping", NULL), 1);
	assert_null(strstr(err, "plain HTTP"));
	free(out);
	free(err);
	setenv("DOCKER_HOST", "tcp://user:s3cret@127.0.0.1:1", 1);
	assert_int_equal(tu_lo2_run(&out, &err, "engine", "ping", NULL), 1);
	assert_null(strstr(err, "s3cret"));
	free(out);
	free(err);
	unsetenv("DOCKER_HOST");
}

/* lo2 version without an engine: lo2's line, the engine's "not reachable", then the error; exit 1. */
static void test_version_unreachable(void **state)
{
	char *out = NULL, *err = NULL;

	assert_int_equal(tu_lo2_run(&out, &err, "version", "-H", "unix:///nonexistent/docker.sock", NULL), 1);
	assert_string_equal(out, "lo2 " LO2_VERSION " (engine API 1.41 to 1.47)\n"
	                         "engine unix:///nonexistent/docker.sock: not reachable\n");
	assert_true(lo2_str_has_prefix(err, "lo2: ping engine unix:///nonexistent/docker.sock: connect to "));
	assert_null(strchr(err, '\n') == err + strlen(err) - 1 ? NULL : "one line");
	free(out);
	free(err);
}

static void test_dead_socket(void **state)
{
	struct engine *e = NULL;
	struct lo2_err err = {0};

	assert_int_equal(engine_open("unix:///nonexistent/docker.sock", &e, &err), -1);
	assert_int_equal(err.kind, LO2_E_CONNECT);
	assert_string_equal(
	    err.msg, "ping engine unix:///nonexistent/docker.sock: connect to "
	             "unix:///nonexistent/docker.sock: socket not found: is the Docker Engine running? "
	             "(set DOCKER_HOST if it listens elsewhere)");
	assert_null(e);
}

/* ---- stats ---- */

static void test_stats_parse(void **state)
{
	const char *v2 = "{\"read\":\"2025-01-01T00:00:01.5Z\",\"pids_stats\":{\"current\":7},"
	                 "\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":5000},\"system_cpu_usage\":900000,"
	                 "\"online_cpus\":2},"
	                 "\"memory_stats\":{\"usage\":1000,\"limit\":4000,\"stats\":{\"inactive_file\":300}},"
	                 "\"networks\":{\"eth0\":{\"rx_bytes\":10,\"tx_bytes\":20},\"eth1\":{\"rx_bytes\":1,"
	                 "\"tx_bytes\":2}},"
	                 "\"blkio_stats\":{\"io_service_bytes_recursive\":[{\"op\":\"read\",\"value\":4096},"
	                 "{\"op\":\"write\",\"value\":8192},{\"op\":\"Total\",\"value\":12288}]}}";
	struct engine_stats s;
	struct lo2_err err = {0};

	assert_int_equal(engine_stats_parse(v2, &s, &err), 0);
	assert_int_equal(s.cpu_total_ns, 5000);
	assert_int_equal(s.online_cpus, 2);
	assert_int_equal(s.mem_usage, 700);
	assert_int_equal(s.mem_limit, 4000);
	assert_int_equal(s.net_rx, 11);
	assert_int_equal(s.net_tx, 22);
	assert_int_equal(s.blk_read, 4096);
	assert_int_equal(s.blk_write, 8192);
	assert_int_equal(s.pids, 7);
	assert_int_equal(s.read_ns, 1735689601500000000LL);
	assert_int_equal(engine_stats_parse("{\"cpu_stats\":", &s, &err), -1);
	assert_true(lo2_str_has_prefix(err.msg, "parse container stats: malformed JSON"));
}

static void read_sample_fixture(const char *name, struct engine_stats_sample *s)
{
	lo2_autofree char *path = xasprintf("%s/stats/%s", LO2_FIXTURES, name);
	size_t len = 0;
	lo2_autofree char *text = tu_read(path, &len);
	struct lo2_err err = {0};

	assert_non_null(text);
	assert_int_equal(engine_stats_sample_parse(text, len, s, &err), 0);
}

#define HAS(s, k) (((s).have >> (k)) & 1u)

/* Recorded from this machine's engine (cgroup v1): every figure, and the working set as
 * cAdvisor computes it (usage 10477568 - total_inactive_file 9068544). */
static void test_stats_sample_v1(void **state)
{
	struct engine_stats_sample s;

	read_sample_fixture("v1-docker20.10.json", &s);
	assert_false(s.cgroup_v2);
	assert_int_equal(s.read_ns, 1796033769200336331LL);
	assert_int_equal(s.v[ENGINE_STAT_CPU_TOTAL_NS], 2532865170ULL);
	assert_int_equal(s.v[ENGINE_STAT_CPU_USER_NS], 2420000000ULL);
	assert_int_equal(s.v[ENGINE_STAT_CPU_KERNEL_NS], 100000000ULL);
	assert_int_equal(s.v[ENGINE_STAT_CPU_PERIODS], 52);
	assert_int_equal(s.v[ENGINE_STAT_CPU_THROTTLED_PERIODS], 47);
	assert_int_equal(s.v[ENGINE_STAT_CPU_THROTTLED_NS], 1745729892ULL);
	assert_int_equal(s.v[ENGINE_STAT_MEM_USAGE], 10477568);
	assert_int_equal(s.v[ENGINE_STAT_MEM_WORKING_SET], 10477568 - 9068544);
	assert_int_equal(s.v[ENGINE_STAT_MEM_RSS], 61440);
	assert_int_equal(s.v[ENGINE_STAT_MEM_CACHE], 10113024);
	assert_int_equal(s.v[ENGINE_STAT_MEM_LIMIT], 67108864);
	assert_false(HAS(s, ENGINE_STAT_MEM_FAILCNT)); /* 20.10 leaves a zero failcnt out */
	assert_int_equal(s.v[ENGINE_STAT_PIDS], 1);
	assert_int_equal(s.have, (1u << ENGINE_STAT_N) - 1 - (1u << ENGINE_STAT_MEM_FAILCNT));
	assert_int_equal(s.n_nets, 1);
	assert_string_equal(s.nets[0].name, "eth0");
	assert_int_equal(s.nets[0].v[ENGINE_NET_RX_BYTES], 516);
	assert_int_equal(s.nets[0].v[ENGINE_NET_RX_PACKETS], 6);
	assert_int_equal(s.nets[0].v[ENGINE_NET_TX_BYTES], 0);
	assert_int_equal(s.n_devs, 0);
}

/* The cgroup v2 shape: rss is anon, cache is file, the working set is usage less inactive_file. */
static void test_stats_sample_v2(void **state)
{
	struct engine_stats_sample s;

	read_sample_fixture("v2.json", &s);
	assert_true(s.cgroup_v2);
	assert_int_equal(s.read_ns, 1709640001123456789LL);
	assert_int_equal(s.v[ENGINE_STAT_CPU_TOTAL_NS], 100215355);
	assert_int_equal(s.v[ENGINE_STAT_CPU_USER_NS], 27810355);
	assert_int_equal(s.v[ENGINE_STAT_CPU_KERNEL_NS], 72405000);
	assert_int_equal(s.v[ENGINE_STAT_CPU_PERIODS], 120);
	assert_int_equal(s.v[ENGINE_STAT_CPU_THROTTLED_PERIODS], 7);
	assert_int_equal(s.v[ENGINE_STAT_CPU_THROTTLED_NS], 350000000);
	assert_int_equal(s.v[ENGINE_STAT_MEM_USAGE], 8146944);
	assert_int_equal(s.v[ENGINE_STAT_MEM_WORKING_SET], 6131712); /* 8146944 - 2015232 */
	assert_int_equal(s.v[ENGINE_STAT_MEM_RSS], 1806336);
	assert_int_equal(s.v[ENGINE_STAT_MEM_CACHE], 5869568);
	assert_int_equal(s.v[ENGINE_STAT_MEM_LIMIT], 67108864);
	assert_false(HAS(s, ENGINE_STAT_MEM_FAILCNT));
	assert_int_equal(s.v[ENGINE_STAT_PIDS], 5);
	assert_int_equal(s.n_nets, 2);
	assert_string_equal(s.nets[1].name, "eth5");
	assert_int_equal(s.nets[1].v[ENGINE_NET_RX_BYTES], 4641);
	assert_int_equal(s.nets[1].v[ENGINE_NET_RX_ERRORS], 1);
	assert_int_equal(s.nets[1].v[ENGINE_NET_RX_DROPPED], 2);
	assert_int_equal(s.nets[1].v[ENGINE_NET_TX_PACKETS], 9);
	assert_int_equal(s.nets[1].v[ENGINE_NET_TX_ERRORS], 3);
	assert_int_equal(s.nets[1].v[ENGINE_NET_TX_DROPPED], 4);
	assert_int_equal(s.n_devs, 2);
	assert_int_equal(s.devs[0].major, 254);
	assert_int_equal(s.devs[0].v[ENGINE_DEV_READ_BYTES], 1048576);
	assert_int_equal(s.devs[0].v[ENGINE_DEV_WRITE_BYTES], 4096);
	assert_int_equal(s.devs[0].have, 3); /* no io_serviced_recursive in v2 */
	assert_int_equal(s.devs[1].minor, 16);
	assert_int_equal(s.devs[1].v[ENGINE_DEV_READ_BYTES], 512);
	assert_int_equal(s.devs[1].have, 1);
}

/* Hand-computed working sets (inactive file beyond usage gives 0, as cAdvisor), v1 blkio ops
 * summed per device, a stopped container's empty sample, and wrong shapes as named errors. */
static void test_stats_sample_edges(void **state)
{
	struct engine_stats_sample s;
	struct lo2_err err = {0};
	const char *v1 =
	    "{\"read\":\"2025-01-01T00:00:01Z\",\"memory_stats\":{\"usage\":1000,\"failcnt\":3,"
	    "\"stats\":{\"total_inactive_file\":1500,\"total_rss\":10,\"inactive_file\":1}},"
	    "\"blkio_stats\":{\"io_service_bytes_recursive\":[{\"major\":8,\"minor\":0,"
	    "\"op\":\"Read\",\"value\":100},{\"major\":8,\"minor\":0,\"op\":\"Read\",\"value\":"
	    "50},{\"major\":8,\"minor\":0,\"op\":\"Total\",\"value\":150}],"
	    "\"io_serviced_recursive\":[{\"major\":8,\"minor\":0,\"op\":\"Write\",\"value\":7}]}}";
	const char *empty = "{\"read\":\"0001-01-01T00:00:00Z\",\"pids_stats\":{},\"memory_stats\":{}}";
	static const struct {
		const char *json, *msg;
	} bad[] = {
	    {"[1]", "container stats sample: the sample is not an object"},
	    {"{}", "container stats sample: the sample has no read"},
	    {"{\"read\":\"2025-01-01T00:00:01Z\",\"memory_stats\":{\"usage\":\"x\"}}",
	     "container stats sample: memory_stats: usage is not a non-negative integer"},
	    {"{\"read\":\"2025-01-01T00:00:01Z\",\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":-5}}}",
	     "container stats sample: cpu_stats.cpu_usage: total_usage is not a non-negative integer"},
	    {"{\"read\":\"2025-01-01T00:00:01Z\",\"networks\":{\"eth0\":3}}",
	     "container stats sample: networks.eth0 is not an object"},
	    {"{\"read\":\"2025-01-01T00:00:01Z\",\"blkio_stats\":{\"io_service_bytes_recursive\":[{}]}}",
	     "container stats sample: blkio_stats.io_service_bytes_recursive entry 1 has no op"},
	    {"{\"read\":\"2025-01-01T00:00:01Z\",\"cpu_stats\":[]}",
	     "container stats sample: the sample: cpu_stats is not an object"},
	};

	assert_int_equal(engine_stats_sample_parse(v1, strlen(v1), &s, &err), 0);
	assert_false(s.cgroup_v2);
	assert_int_equal(s.v[ENGINE_STAT_MEM_WORKING_SET], 0);
	assert_true(HAS(s, ENGINE_STAT_MEM_WORKING_SET));
	assert_int_equal(s.v[ENGINE_STAT_MEM_FAILCNT], 3);
	assert_int_equal(s.v[ENGINE_STAT_MEM_RSS], 10);
	assert_false(HAS(s, ENGINE_STAT_CPU_TOTAL_NS));
	assert_int_equal(s.n_devs, 1);
	assert_int_equal(s.devs[0].v[ENGINE_DEV_READ_BYTES], 150);
	assert_int_equal(s.devs[0].v[ENGINE_DEV_WRITES], 7);
	assert_int_equal(s.devs[0].have, (1u << ENGINE_DEV_READ_BYTES) | (1u << ENGINE_DEV_WRITES));
	assert_int_equal(engine_stats_sample_parse(empty, strlen(empty), &s, &err), 0);
	assert_int_equal(s.read_ns, 0);
	assert_int_equal(s.have, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lo2_err_clear(&err);
		assert_int_equal(engine_stats_sample_parse(bad[i].json, strlen(bad[i].json), &s, &err), -1);
		assert_string_equal(err.msg, bad[i].msg);
		assert_int_equal(err.kind, LO2_E_INVALID);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_demux_every_split),  cmocka_unit_test(test_demux_byte_by_byte),
	    cmocka_unit_test(test_demux_huge_frame),   cmocka_unit_test(test_demux_truncated),
	    cmocka_unit_test(test_demux_error_frame),  cmocka_unit_test(test_demux_bad_header),
	    cmocka_unit_test(test_demux_tty),          cmocka_unit_test(test_demux_sink_error),
	    cmocka_unit_test(test_filters_json),       cmocka_unit_test(test_create_body),
	    cmocka_unit_test(test_docker_host),        cmocka_unit_test(test_dead_socket),
	    cmocka_unit_test(test_stats_parse),        cmocka_unit_test(test_docker_host_hardening),
	    cmocka_unit_test(test_not_a_socket),       cmocka_unit_test(test_event_and_progress_shapes),
	    cmocka_unit_test(test_cleartext_warning),  cmocka_unit_test(test_version_unreachable),
	    cmocka_unit_test(test_stats_sample_v1),    cmocka_unit_test(test_stats_sample_v2),
	    cmocka_unit_test(test_stats_sample_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
