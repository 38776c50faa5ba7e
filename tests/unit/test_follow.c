/* test_follow.c - run/follow.c against a scripted fake engine (no dockerd): a follow stream that
 * ends while the container runs is resumed from its position; what the engine sends again (its
 * since= is inclusive) is dropped, messages that share a nanosecond included; a line cut across
 * streams is written once, whole; a container that stopped ends the follow with its partial line. */
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
#include "run/follow.h"

#define T1 "2026-01-01T00:00:01.000000001Z "
#define T2 "2026-01-01T00:00:02.000000002Z "
#define T3 "2026-01-01T00:00:03.000000003Z "
#define T4 "2026-01-01T00:00:04.000000004Z "

/* One scripted engine: each logs call gets the next stream; inspect says "running" while streams
 * remain. Every answer closes its connection. */
struct fake {
	char path[108];
	int lfd;
	pthread_t thread;
	const char *const *streams; /* frames as "<stream><text>" ("1..." stdout, "2..." stderr) */
	const size_t *n_frames;
	size_t n_streams, served;
	struct lo2_strv since; /* the since= of each logs call */
	pthread_mutex_t lock;
};

static void reply_head(int fd, const char *type, long len)
{
	char head[256];
	int n = len >= 0
	            ? snprintf(head, sizeof(head),
	                       "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %ld\r\nConnection: "
	                       "close\r\n\r\n",
	                       type, len)
	            : snprintf(head, sizeof(head),
	                       "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nConnection: close\r\n\r\n", type);

	if (write(fd, head, (size_t)n) < 0)
		return;
}

static void reply(int fd, const char *type, const char *body)
{
	reply_head(fd, type, (long)strlen(body));
	if (write(fd, body, strlen(body)) < 0)
		return;
}

/* A logs answer: the frames of stream k, then the connection closes (a cut stream). */
static void logs_answer(struct fake *f, int fd, size_t k, size_t first_frame)
{
	struct lo2_buf b = LO2_BUF_INIT;

	for (size_t i = 0; i < f->n_frames[k]; i++) {
		const char *fr = f->streams[first_frame + i];
		uint32_t len = (uint32_t)strlen(fr + 1);
		unsigned char h[8] = {(unsigned char)(fr[0] - '0'),
		                      0,
		                      0,
		                      0,
		                      (unsigned char)(len >> 24),
		                      (unsigned char)(len >> 16),
		                      (unsigned char)(len >> 8),
		                      (unsigned char)len};

		lo2_buf_append(&b, h, 8);
		lo2_buf_append(&b, fr + 1, len);
	}
	reply_head(fd, "application/vnd.docker.raw-stream", -1);
	if (b.len && write(fd, b.data, b.len) < 0)
		return;
	lo2_buf_free(&b);
}

static void serve_one(struct fake *f, int fd)
{
	char req[8192], line[512] = "";
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
	if (strstr(line, " /_ping ")) {
		reply(fd, "text/plain", "OK");
	} else if (strstr(line, " /version ")) {
		reply(fd, "application/json",
		      "{\"Version\":\"99\",\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\"}");
	} else if (strstr(line, "/containers/c1/json")) {
		bool running;

		pthread_mutex_lock(&f->lock);
		running = f->served < f->n_streams;
		pthread_mutex_unlock(&f->lock);
		reply(fd, "application/json",
		      running ? "{\"Id\":\"c1\",\"Name\":\"/"
		                "c1\",\"Config\":{\"Tty\":false},\"State\":{\"Status\":\"running\","
		                "\"Running\":true}}"
		              : "{\"Id\":\"c1\",\"Name\":\"/"
		                "c1\",\"Config\":{\"Tty\":false},\"State\":{\"Status\":\"exited\","
		                "\"Running\":false}}");
	} else if (strstr(line, "/containers/c1/logs")) {
		const char *s = strstr(line, "since=");
		size_t k, first = 0;

		pthread_mutex_lock(&f->lock);
		lo2_strv_take(&f->since, s ? xstrndup(s + 6, strcspn(s + 6, "& ")) : xstrdup(""));
		k = f->served < f->n_streams ? f->served++ : f->n_streams;
		pthread_mutex_unlock(&f->lock);
		for (size_t i = 0; i < k && k < f->n_streams; i++)
			first += f->n_frames[i];
		if (k < f->n_streams)
			logs_answer(f, fd, k, first);
		else
			reply_head(fd, "application/vnd.docker.raw-stream", 0);
	} else {
		reply(fd, "application/json", "{}");
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

static void fake_start(struct fake *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(f->path, sizeof(f->path), "/tmp/lo2-follow-%ld-%p.sock", (long)getpid(), (void *)f);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	unlink(f->path);
	pthread_mutex_init(&f->lock, NULL);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 16), 0);
	pthread_create(&f->thread, NULL, fake_main, f);
}

static void fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	close(f->lfd);
	pthread_join(f->thread, NULL);
	unlink(f->path);
	lo2_strv_free(&f->since);
	pthread_mutex_destroy(&f->lock);
}

static int collect(void *user, const struct run_follow_line *l, struct lo2_err *err)
{
	struct lo2_buf *b = user;

	lo2_buf_printf(b, "%d|%.*s", l->stream, (int)l->len, l->data);
	return 0;
}

/* Follows c1 on the fake to its end; returns the lines as "<stream>|<text>". */
static char *follow_fake(struct fake *f, struct run_follow_stats *st)
{
	struct engine *e = NULL;
	struct lo2_err err = {0};
	struct lo2_buf b = LO2_BUF_INIT;
	char host[160];
	struct run_follow_opts o = {.id = "c1",
	                            .follow = true,
	                            .restarts = RUN_FOLLOW_WHILE_RESTARTING,
	                            .fn = collect,
	                            .user = &b,
	                            .stats = st};

	snprintf(host, sizeof(host), "unix://%s", f->path);
	assert_int_equal(engine_open(host, &e, &err), 0);
	if (run_follow_run(e, &o, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	engine_free(e);
	return b.data ? lo2_buf_steal(&b) : xstrdup("");
}

/* Three streams, each cut while the container runs; each resumes at the last timestamp taken and
 * the engine sends that nanosecond's messages again (two of them share T2). */
static void test_resume_drops_replays(void **state)
{
	static const char *const frames[] = {
	    /* stream 1 */ "1" T1 "a\n", "1" T2 "b\n", "2" T2 "c\n",
	    /* stream 2: since=T2 sends b and c again, then a new message of the same nanosecond */
	    "1" T2 "b\n", "2" T2 "c\n", "1" T2 "d\n", "1" T3 "par",
	    /* stream 3: since=T3: the partial line's first piece again, then its end */
	    "1" T3 "par", "1" T3 "tial\n", "2" T4 "last, no newline"};
	static const size_t n[] = {3, 4, 3};
	struct fake f = {.streams = frames, .n_frames = n, .n_streams = 3};
	struct run_follow_stats st = {0};
	char *got;

	fake_start(&f);
	got = follow_fake(&f, &st);
	assert_string_equal(got, "1|a\n1|b\n2|c\n1|d\n1|partial\n2|last, no newline");
	assert_int_equal(st.replayed, 3); /* b, c, and the piece "par" */
	assert_int_equal(st.resumed, 2);
	assert_int_equal(f.since.n, 3);
	assert_string_equal(f.since.v[1], "1767225602.000000002");
	assert_string_equal(f.since.v[2], "1767225603.000000003");
	free(got);
	fake_stop(&f);
}

/* A stream that gives nothing new before the container stops: the follow ends, no line twice. */
static void test_nothing_new(void **state)
{
	static const char *const frames[] = {"1" T1 "only\n", "1" T1 "only\n"};
	static const size_t n[] = {1, 1};
	struct fake f = {.streams = frames, .n_frames = n, .n_streams = 2};
	struct run_follow_stats st = {0};
	char *got;

	fake_start(&f);
	got = follow_fake(&f, &st);
	assert_string_equal(got, "1|only\n");
	assert_int_equal(st.replayed, 1);
	free(got);
	fake_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resume_drops_replays),
	    cmocka_unit_test(test_nothing_new),
	};

	return tu_run_tests(tests);
}
