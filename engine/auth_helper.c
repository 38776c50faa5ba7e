/* auth_helper.c - the docker-credential-<name> helper protocol (`get` and `list`), run as the docker
 * CLI runs it: the program found on PATH, started with posix_spawnp (argv, no shell), the request on
 * stdin, the answer on stdout; bounded in size and time. Its stdout may hold secrets: it is never
 * quoted in a message, only its stderr's first line is. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/str.h"
#include "engine/auth.h"

#define HELPER_PREFIX "docker-credential-"
#define HELPER_OUT_MAX (1024u * 1024)
#define HELPER_ERR_MAX 4096u
#define HELPER_TIMEOUT_MS 60000
#define NOT_FOUND_MSG "credentials not found in native keychain"

extern char **environ;

struct helper_run {
	const char *prog; /* "docker-credential-<name>" */
	pid_t pid;
	int in, out, errfd; /* our ends; -1 when closed */
	struct lo2_buf stdout_b, stderr_b;
	int status; /* exit status, or 128 + signal */
	bool exited, timed_out;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int name_check(const char *helper, struct lo2_err *err)
{
	char shown[128];

	lo2_str_escape(helper ? helper : "", shown, sizeof(shown));
	if (helper == NULL || helper[0] == '\0' || strlen(helper) > 200 || strchr(helper, '/'))
		return lo2_err_set(err, LO2_E_INVALID, "invalid credential helper name \"%s\"", shown);
	for (const char *p = helper; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return lo2_err_set(err, LO2_E_INVALID, "invalid credential helper name \"%s\"",
			                   shown);
	return 0;
}

/* Starts prog with action; stdin is a socket so that writing to a helper that already exited
 * gives EPIPE (MSG_NOSIGNAL) instead of a SIGPIPE for the whole process. */
static int spawn(struct helper_run *h, const char *action, struct lo2_err *err)
{
	int sin[2] = {-1, -1}, po[2] = {-1, -1}, pe[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	char *argv[] = {(char *)h->prog, (char *)action, NULL};
	int rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sin) < 0 || pipe2(po, O_CLOEXEC) < 0 ||
	    pipe2(pe, O_CLOEXEC) < 0) {
		rc = errno;
		close_fd(&sin[0]), close_fd(&sin[1]), close_fd(&po[0]), close_fd(&po[1]), close_fd(&pe[0]);
		return lo2_err_errno(err, rc, "credential helper %s: pipes", h->prog);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sin[1], 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	/* the helper starts with no blocked signals and default SIGPIPE/SIGINT/SIGTERM, whatever lo2's
	 * threads use for themselves */
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(&h->pid, h->prog, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close_fd(&sin[1]);
	close_fd(&po[1]);
	close_fd(&pe[1]);
	h->in = sin[0];
	h->out = po[0];
	h->errfd = pe[0];
	if (rc == 0)
		return 0;
	close_fd(&h->in), close_fd(&h->out), close_fd(&h->errfd);
	if (rc == ENOENT)
		return lo2_err_set(err, LO2_E_NOT_FOUND, "credential helper %s not found on PATH", h->prog);
	return lo2_err_errno(err, rc, "credential helper %s: start", h->prog);
}

/* Reads what is there from *fd into b (bytes beyond the cap are dropped); closes *fd at EOF or
 * on an error. Returns false when nothing more is there now (EAGAIN) or the fd is closed. */
static bool drain_fd(int *fd, struct lo2_buf *b)
{
	char buf[4096];
	ssize_t r = read(*fd, buf, sizeof(buf));

	if (r > 0) {
		if (b->len + (size_t)r <= b->max)
			lo2_buf_append(b, buf, (size_t)r);
		return true;
	}
	if (r < 0 && errno == EINTR)
		return true;
	if (r == 0 || errno != EAGAIN)
		close_fd(fd);
	return false;
}

/* The helper exited: takes what its pipes still hold without waiting for a grandchild (an agent it
 * started) that may keep them open. */
static void drain_rest(struct helper_run *h)
{
	while (h->out >= 0 && drain_fd(&h->out, &h->stdout_b))
		;
	while (h->errfd >= 0 && drain_fd(&h->errfd, &h->stderr_b))
		;
}

static void set_status(struct helper_run *h, int st)
{
	h->exited = true;
	h->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void poll_fds(struct helper_run *h, const char *input, size_t in_len, size_t *in_off, int wait_ms)
{
	struct pollfd p[3];
	int n = 0;

	if (h->in >= 0 && *in_off == in_len)
		close_fd(&h->in); /* EOF: the helper reads stdin to its end */
	if (h->in >= 0)
		p[n++] = (struct pollfd){.fd = h->in, .events = POLLOUT};
	if (h->out >= 0)
		p[n++] = (struct pollfd){.fd = h->out, .events = POLLIN};
	if (h->errfd >= 0)
		p[n++] = (struct pollfd){.fd = h->errfd, .events = POLLIN};
	if (poll(p, (nfds_t)n, wait_ms) <= 0)
		return;
	for (int k = 0; k < n; k++) {
		if (p[k].revents == 0)
			continue;
		if (p[k].fd == h->in) {
			ssize_t w = send(h->in, input + *in_off, in_len - *in_off, MSG_NOSIGNAL);

			if (w > 0)
				*in_off += (size_t)w;
			else if (w < 0 && errno != EINTR && errno != EAGAIN)
				close_fd(&h->in); /* the helper does not read: let it answer */
		} else if (p[k].fd == h->out) {
			drain_fd(&h->out, &h->stdout_b);
		} else {
			drain_fd(&h->errfd, &h->stderr_b);
		}
	}
}

/* Feeds input, collects stdout and stderr until the helper exits (or both pipes end) or the
 * time is up; then reaps it (killed when it overran). */
static void exchange(struct helper_run *h, const char *input)
{
	size_t in_len = strlen(input), in_off = 0;
	int64_t deadline = mono_ms() + HELPER_TIMEOUT_MS;
	int st = 0;

	fcntl(h->out, F_SETFL, O_NONBLOCK);
	fcntl(h->errfd, F_SETFL, O_NONBLOCK);
	while (h->out >= 0 || h->errfd >= 0) {
		int left = (int)(deadline - mono_ms());

		if (left <= 0) {
			h->timed_out = true;
			break;
		}
		poll_fds(h, input, in_len, &in_off, left < 200 ? left : 200);
		if (waitpid(h->pid, &st, WNOHANG) == h->pid) {
			set_status(h, st);
			drain_rest(h);
			break;
		}
	}
	close_fd(&h->in);
	close_fd(&h->out);
	close_fd(&h->errfd);
	/* pipes closed but not exited yet: wait out the rest of the time, then kill */
	while (!h->exited && !h->timed_out) {
		if (waitpid(h->pid, &st, WNOHANG) == h->pid)
			set_status(h, st);
		else if (mono_ms() >= deadline)
			h->timed_out = true;
		else
			poll(NULL, 0, 20);
	}
	if (h->exited)
		return;
	kill(h->pid, SIGKILL);
	while (waitpid(h->pid, &st, 0) < 0 && errno == EINTR)
		;
	set_status(h, st);
}

/* The first non-empty line of s, trimmed, escaped, at most outsz bytes. */
static void first_line(const char *s, char *out, size_t outsz)
{
	char line[512];
	size_t n;

	out[0] = '\0';
	if (s == NULL)
		return;
	while (*s == '\n' || *s == '\r' || *s == ' ' || *s == '\t')
		s++;
	n = strcspn(s, "\r\n");
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, s, n);
	line[n] = '\0';
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	lo2_str_escape(line, out, outsz);
}

static void run_free(struct helper_run *h)
{
	if (h->stdout_b.data)
		explicit_bzero(h->stdout_b.data, h->stdout_b.len);
	lo2_buf_free(&h->stdout_b);
	lo2_buf_free(&h->stderr_b);
}

/* Runs "<prog> <action>" with input on stdin. 0 when it ran (h->status tells how it ended); -1
 * when it could not start or timed out. */
static int run(struct helper_run *h, const char *action, const char *input, struct lo2_err *err)
{
	h->stdout_b.max = HELPER_OUT_MAX;
	h->stderr_b.max = HELPER_ERR_MAX;
	h->in = h->out = h->errfd = -1;
	if (spawn(h, action, err) < 0)
		return -1;
	exchange(h, input);
	if (h->timed_out)
		return lo2_err_set(err, LO2_E_TIMEOUT,
		                   "credential helper %s %s: no answer within %d s (killed)", h->prog, action,
		                   HELPER_TIMEOUT_MS / 1000);
	return 0;
}

/* The error of a helper that exited non-zero: its stderr's first line (helpers built on
 * docker-credential-helpers print their error on stdout when stderr is empty: then that line). */
static int failed(const struct helper_run *h, const char *action, struct lo2_err *err)
{
	char line[300];

	first_line(h->stderr_b.data, line, sizeof(line));
	if (line[0] == '\0')
		first_line(h->stdout_b.data, line, sizeof(line));
	return lo2_err_set(err, LO2_E_GENERIC, "credential helper %s %s failed (exit status %d)%s%s", h->prog,
	                   action, h->status, line[0] ? ": " : "", line);
}

static bool says_not_found(const struct helper_run *h)
{
	char line[300];

	first_line(h->stdout_b.data, line, sizeof(line));
	return strcmp(line, NOT_FOUND_MSG) == 0;
}

static char *dup_nonempty(const char *s)
{
	return s && s[0] ? xstrdup(s) : NULL;
}

/* Fills the secret fields of out from a `get` answer. */
static int parse_get(const struct helper_run *h, struct engine_auth *out, struct lo2_err *err)
{
	struct lo2_json *doc = NULL;
	const char *user, *secret;

	/* the parser's own message could quote the answer, which holds the secret: not used */
	if (lo2_json_parse(h->stdout_b.data ? h->stdout_b.data : "", "helper answer", &doc, NULL) < 0 ||
	    !lo2_json_is_object(doc)) {
		lo2_json_free(doc);
		return lo2_err_set(err, LO2_E_INVALID,
		                   "credential helper %s get answered something that is not a JSON object",
		                   h->prog);
	}
	user = lo2_json_str(lo2_json_get(doc, "Username"));
	secret = lo2_json_str(lo2_json_get(doc, "Secret"));
	if (user && strcmp(user, "<token>") == 0) {
		out->identity_token = dup_nonempty(secret);
	} else {
		out->username = dup_nonempty(user);
		out->password = dup_nonempty(secret);
	}
	out->found = out->identity_token != NULL || out->password != NULL;
	lo2_json_free(doc);
	return 0;
}

int engine_cred_helper_get(const char *helper, const char *server, struct engine_auth *out,
                           struct lo2_err *err)
{
	lo2_autofree char *prog = NULL;
	struct helper_run h = {0};
	int ret = -1;

	out->found = false;
	if (name_check(helper, err) < 0)
		return -1;
	prog = xasprintf(HELPER_PREFIX "%s", helper);
	h.prog = prog;
	if (run(&h, "get", server, err) < 0)
		goto out;
	if (h.status != 0) {
		ret = says_not_found(&h) ? 0 : failed(&h, "get", err);
		goto out;
	}
	ret = parse_get(&h, out, err);
out:
	run_free(&h);
	return ret;
}

int engine_cred_helper_list(const char *helper, struct lo2_strv *servers, struct lo2_err *err)
{
	lo2_autofree char *prog = NULL;
	struct helper_run h = {0};
	struct lo2_json *doc = NULL;
	int ret = -1;

	if (name_check(helper, err) < 0)
		return -1;
	prog = xasprintf(HELPER_PREFIX "%s", helper);
	h.prog = prog;
	if (run(&h, "list", "", err) < 0)
		goto out;
	if (h.status != 0) {
		failed(&h, "list", err);
		goto out;
	}
	if (lo2_json_parse(h.stdout_b.data ? h.stdout_b.data : "", "helper answer", &doc, NULL) < 0 ||
	    !lo2_json_is_object(doc)) {
		lo2_err_set(err, LO2_E_INVALID,
		            "credential helper %s list answered something that is not a JSON object", prog);
		goto out;
	}
	for (size_t i = 0; i < lo2_json_len(doc); i++)
		lo2_strv_push(servers, lo2_json_key_at(doc, i));
	ret = 0;
out:
	lo2_json_free(doc);
	run_free(&h);
	return ret;
}
