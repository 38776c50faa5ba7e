/* test_follow.c - a log follow that the connection cuts, through a proxy on a unix socket in front
 * of the engine's: the proxy ends follow streams at a frame boundary, in the middle of a frame and
 * inside a frame header while the container runs; `lo2 logs --follow` resumes each time and the
 * file holds every line once. A follow stream that ends while the container runs is not the end. */
#include "testutil.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mem.h"
#include "engine/engine.h"

#define LINES 30000

/* How the n-th follow response is cut: after `frames` whole frames, plus `extra` bytes of the next
 * frame (header included). Later responses pass whole. */
static const struct {
	long frames, extra;
} cuts[] = {{2000, 0}, {3000, 8 + 20}, {5, 3}};
#define N_CUTS (sizeof(cuts) / sizeof(cuts[0]))

static atomic_int follows_seen;

/* A follow request of logs arms the next cut. */
static int arm(void *user, const char *request)
{
	int k;

	if (!strstr(request, "/logs?") || !strstr(request, "follow=1"))
		return -1;
	k = atomic_fetch_add(&follows_seen, 1);
	return k < (int)N_CUTS ? k : -1;
}

/* The response body's chunked encoding and the frames inside it, counted byte by byte. */
struct body {
	bool in_body, chunked;
	size_t hdr_match; /* of "\r\n\r\n" */
	long chunk_left; /* -1: reading a chunk-size line */
	char size_line[32];
	size_t size_len;
	int crlf_skip; /* CRLF after a chunk's data */
	unsigned char fhdr[8];
	long fhave, fpayload; /* frame header bytes had; payload bytes left */
	long frames, into_next;
};

/* Advances the frame counter over one payload byte; true when the cut point is reached. */
static bool frame_byte(struct body *b, unsigned char ch, long want_frames, long want_extra)
{
	if (b->frames == want_frames && b->into_next == want_extra)
		return true;
	if (b->fpayload > 0) {
		b->fpayload--;
	} else {
		b->fhdr[b->fhave++] = ch;
		if (b->fhave == 8) {
			b->fpayload = (long)b->fhdr[4] << 24 | (long)b->fhdr[5] << 16 |
			              (long)b->fhdr[6] << 8 | b->fhdr[7];
			b->fhave = 0;
		}
	}
	if (b->frames == want_frames)
		b->into_next++;
	else if (b->fhave == 0 && b->fpayload == 0)
		b->frames++;
	return false;
}

/* How many bytes of p (the response) to pass before cutting; n when no cut falls in it. */
static size_t scan(struct body *b, const char *p, size_t n, long want_frames, long want_extra)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (!b->in_body) {
			static const char end[] = "\r\n\r\n";

			b->hdr_match =
			    ch == (unsigned char)end[b->hdr_match] ? b->hdr_match + 1 : (ch == '\r');
			b->in_body = b->hdr_match == 4;
			continue;
		}
		if (b->crlf_skip > 0) {
			b->crlf_skip--;
			continue;
		}
		if (b->chunk_left < 0) {
			if (ch == '\n') {
				b->size_line[b->size_len] = '\0';
				b->chunk_left = strtol(b->size_line, NULL, 16);
				b->size_len = 0;
			} else if (ch != '\r' && b->size_len < sizeof(b->size_line) - 1) {
				b->size_line[b->size_len++] = (char)ch;
			}
			continue;
		}
		if (frame_byte(b, ch, want_frames, want_extra))
			return i;
		if (--b->chunk_left == 0) {
			b->chunk_left = -1;
			b->crlf_skip = 2;
		}
	}
	return n;
}

/* The n-th follow answer is cut where cuts[n] says. */
static size_t cut(void *user, int plan, void **state, const char *chunk, size_t n)
{
	struct body *b = *state;

	if (b == NULL) {
		*state = b = xcalloc(1, sizeof(*b));
		b->chunk_left = -1;
	}
	return scan(b, chunk, n, cuts[plan].frames, cuts[plan].extra);
}

static char *start_writer(const char *name)
{
	struct engine_container_spec s = {0};
	struct lo2_err err = {0};
	char *id = NULL, *script;

	/* 30,000 numbered lines over about 6 s, then a quiet second, then the end */
	script = xasprintf("i=0; while [ $i -lt %d ]; do i=$((i+1)); echo \"line $i\"; "
	                   "[ $((i %% 500)) -eq 0 ] && sleep 0.1; done; sleep 1",
	                   LINES);
	s.name = xstrdup(name);
	s.image = xstrdup("lo2-test/busybox:latest");
	s.cmd_set = true;
	lo2_strv_push(&s.cmd, "sh");
	lo2_strv_push(&s.cmd, "-c");
	lo2_strv_take(&s.cmd, script);
	s.stop_timeout = -1;
	lo2_kvv_set(&s.labels, TU_LABEL, tu_run_id());
	if (engine_container_create(tu_engine(), &s, &id, &err) < 0 ||
	    engine_container_start(tu_engine(), id, &err) < 0)
		fail_msg("%s", err.msg);
	engine_container_spec_free(&s);
	return id;
}

static void test_follow_through_cuts(void **state)
{
	char *tmp = tu_tmpdir(), *sock = xasprintf("%s/engine.sock", tmp),
	     *out = xasprintf("%s/out.log", tmp);
	char *host = xasprintf("unix://%s", sock), *name = xasprintf("lo2t-%s-cut", tu_run_id());
	struct tu_proxy *proxy = tu_proxy_start(sock, arm, cut, NULL);
	char *id, *text, *errs = NULL;
	uint8_t *seen = xcalloc(LINES + 1, 1);
	int rc;

	id = start_writer(name);
	rc = tu_lo2_run(NULL, &errs, "logs", name, "--follow", "-o", out, "-H", host, NULL);
	if (rc != 0)
		fail_msg("lo2 logs --follow exited %d:\n%s", rc, errs);
	assert_int_equal(tu_proxy_cuts(proxy), (int)N_CUTS);
	tu_proxy_stop(proxy);
	text = tu_read(out, NULL);
	assert_non_null(text);
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		long k = strncmp(l, "line ", 5) == 0 ? strtol(l + 5, NULL, 10) : 0;

		if (k < 1 || k > LINES)
			fail_msg("a line that the container did not write: \"%s\"", l);
		if (seen[k]++)
			fail_msg("line %ld twice", k);
	}
	for (long k = 1; k <= LINES; k++)
		if (!seen[k])
			fail_msg("line %ld missing", k);
	engine_container_remove(tu_engine(), id, true, true, NULL);
	free(text);
	free(seen);
	free(id);
	tu_rm_rf(tmp);
	free(tmp);
	free(sock);
	free(out);
	free(host);
	free(name);
	free(errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_follow_through_cuts),
	};

	tu_engine();
	tu_require_image("lo2-test/busybox:latest");
	return tu_run_tests(tests);
}
