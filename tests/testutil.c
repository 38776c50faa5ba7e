/* testutil.c - shared test helpers (see testutil.h). */
#include "testutil.h"

#include "common/json.h"
#include "run/manifest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/mem.h"
#include "engine/engine.h"

extern char **environ;

const char *tu_lo2(void)
{
	const char *p = getenv("LO2_BINARY");

	return p && *p ? p : LO2_BINARY;
}

static void drain(int fds[2], struct lo2_buf bufs[2], int in_fd, const char *in, size_t in_len)
{
	size_t in_off = 0;
	bool open_[2] = {true, true};

	while (open_[0] || open_[1] || in_fd >= 0) {
		struct pollfd p[3];
		int n = 0, idx[3];

		for (int i = 0; i < 2; i++)
			if (open_[i]) {
				p[n] = (struct pollfd){.fd = fds[i], .events = POLLIN};
				idx[n++] = i;
			}
		if (in_fd >= 0) {
			p[n] = (struct pollfd){.fd = in_fd, .events = POLLOUT};
			idx[n++] = 2;
		}
		if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR)
			break;
		for (int k = 0; k < n; k++) {
			if (!p[k].revents)
				continue;
			if (idx[k] == 2) {
				ssize_t w = write(in_fd, in + in_off, in_len - in_off);

				if (w > 0)
					in_off += (size_t)w;
				if (w < 0 || in_off >= in_len) {
					close(in_fd);
					in_fd = -1;
				}
				continue;
			}
			char buf[65536];
			ssize_t r = read(fds[idx[k]], buf, sizeof(buf));

			if (r > 0)
				lo2_buf_append(&bufs[idx[k]], buf, (size_t)r);
			else if (r == 0 || errno != EINTR)
				open_[idx[k]] = false;
		}
	}
}

int tu_run(const char *const argv[], const char *stdin_data, char **out, char **err)
{
	int po[2], pe[2], pi[2];
	posix_spawn_file_actions_t fa;
	struct lo2_buf bufs[2] = {LO2_BUF_INIT, LO2_BUF_INIT};
	pid_t pid;
	int status, fds[2];

	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC) || pipe2(pi, O_CLOEXEC))
		abort();
	signal(SIGPIPE, SIG_IGN);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pi[0], 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)(uintptr_t)argv, environ) != 0) {
		fprintf(stderr, "tu_run: cannot start %s\n", argv[0]);
		abort();
	}
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	close(pi[0]);
	fds[0] = po[0];
	fds[1] = pe[0];
	if (stdin_data == NULL) {
		close(pi[1]);
		pi[1] = -1;
	}
	drain(fds, bufs, pi[1], stdin_data, stdin_data ? strlen(stdin_data) : 0);
	close(po[0]);
	close(pe[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (out)
		*out = lo2_buf_steal(&bufs[0]);
	if (err)
		*err = lo2_buf_steal(&bufs[1]);
	lo2_buf_free(&bufs[0]);
	lo2_buf_free(&bufs[1]);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int tu_lo2_run(char **out, char **err, ...)
{
	const char *argv[64];
	int n = 0;
	va_list ap;
	const char *a;

	argv[n++] = tu_lo2();
	va_start(ap, err);
	while ((a = va_arg(ap, const char *)) != NULL && n < 63)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return tu_run(argv, NULL, out, err);
}

bool tu_under_ci(void)
{
	const char *ci = getenv("CI");

	return ci && *ci && strcmp(ci, "false") != 0 && strcmp(ci, "0") != 0;
}

void tu_unavailable(const char *why)
{
	if (tu_under_ci()) {
		fprintf(stderr,
		        "FAIL: %s (CI=true: a missing engine, image or tool is a failure, not a skip)\n",
		        why);
		exit(1);
	}
	fprintf(stderr, "SKIP: %s\n", why);
	exit(TU_SKIP);
}

static struct engine *the_engine;

static void close_engine(void)
{
	tu_cleanup();
	engine_free(the_engine);
	the_engine = NULL;
}

struct engine *tu_engine(void)
{
	struct lo2_err err = {0};
	char why[LO2_ERR_MSG_MAX + 64];

	if (the_engine)
		return the_engine;
	if (engine_open(NULL, &the_engine, &err) < 0) {
		snprintf(why, sizeof(why), "no reachable Docker Engine: %s", err.msg);
		tu_unavailable(why);
	}
	atexit(close_engine);
	return the_engine;
}

const char *tu_run_id(void)
{
	static char id[64];

	if (!id[0])
		snprintf(id, sizeof(id), "t%ld-%ld", (long)getpid(), (long)time(NULL));
	return id;
}

const char *tu_label_filter(void)
{
	static char f[128];

	if (!f[0])
		snprintf(f, sizeof(f), "label=%s=%s", TU_LABEL, tu_run_id());
	return f;
}

void tu_cleanup(void)
{
	struct lo2_strv filters = {0};
	struct lo2_err err = {0};
	struct engine_container_list cl = {0};
	struct engine_network_list nl = {0};
	struct engine_volume_list vl = {0};

	if (the_engine == NULL)
		return;
	lo2_strv_push(&filters, tu_label_filter());
	if (engine_container_list(the_engine, &filters, true, &cl, &err) == 0)
		for (size_t i = 0; i < cl.n; i++)
			engine_container_remove(the_engine, cl.v[i].id, true, true, &err);
	if (engine_network_list(the_engine, &filters, &nl, &err) == 0)
		for (size_t i = 0; i < nl.n; i++)
			engine_network_remove(the_engine, nl.v[i].id, &err);
	if (engine_volume_list(the_engine, &filters, &vl, &err) == 0)
		for (size_t i = 0; i < vl.n; i++)
			engine_volume_remove(the_engine, vl.v[i].name, true, &err);
	engine_container_list_free(&cl);
	engine_network_list_free(&nl);
	engine_volume_list_free(&vl);
	lo2_strv_free(&filters);
}

void tu_require_image(const char *ref)
{
	struct engine_image_info info = {0};
	struct lo2_err err = {0};
	char why[LO2_ERR_MSG_MAX + 256];

	if (engine_image_inspect(tu_engine(), ref, &info, &err) == 0) {
		engine_image_info_free(&info);
		return;
	}
	snprintf(why, sizeof(why), "image %s is missing (make images builds it): %s", ref, err.msg);
	tu_unavailable(why);
}

char *tu_tmpdir(void)
{
	char *t = xstrdup("/tmp/lo2-test-XXXXXX");

	if (mkdtemp(t) == NULL)
		abort();
	return t;
}

void tu_rm_rf(const char *path)
{
	lo2_rm_rf(path);
}

char *tu_read(const char *path, size_t *len)
{
	gzFile f = gzopen(path, "rb");
	struct lo2_buf b = LO2_BUF_INIT;
	char buf[65536];
	int r;

	if (f == NULL)
		return NULL;
	while ((r = gzread(f, buf, sizeof(buf))) > 0)
		lo2_buf_append(&b, buf, (size_t)r);
	gzclose(f);
	if (len)
		*len = b.len;
	return lo2_buf_steal(&b);
}

int64_t tu_logs_until(const struct run_manifest *m)
{
	const char *text = lo2_kvv_get(&m->sections, "logs");
	struct lo2_json *doc = NULL;
	int64_t until = 0;

	if (text && lo2_json_parse(text, "logs section", &doc, NULL) == 0)
		lo2_json_int(lo2_json_get(doc, "until_ns"), &until);
	lo2_json_free(doc);
	return until;
}

int tu_spawn(const char *const argv[], const char *log_path)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)(uintptr_t)argv, environ) != 0)
		fail_msg("start %s: %s", argv[0], strerror(errno));
	posix_spawn_file_actions_destroy(&fa);
	return (int)pid;
}

bool tu_wait_for_count(const char *path, const char *needle, int n, int timeout_s)
{
	struct timespec t0, now;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		char *text = tu_read(path, NULL);
		int seen = 0;

		for (const char *p = text; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
			seen++;
		free(text);
		if (seen >= n)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= timeout_s)
			return false;
		usleep(50000);
	}
}

bool tu_wait_for_text(const char *path, const char *needle, int timeout_s)
{
	return tu_wait_for_count(path, needle, 1, timeout_s);
}

void tu_filter(void)
{
	const char *f = getenv("LO2_TEST_FILTER");

	if (f && *f)
		cmocka_set_test_filter(f);
}

int tu_free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

void tu_remove_project(const char *project)
{
	struct engine *e = tu_engine();
	char *label = xasprintf("label=com.docker.compose.project=%s", project);
	struct lo2_strv f = {0};
	struct engine_container_list cl = {0};
	struct engine_network_list nl = {0};
	struct engine_volume_list vl = {0};
	struct lo2_err err = {0};

	lo2_strv_push(&f, label);
	if (engine_container_list(e, &f, true, &cl, &err) == 0)
		for (size_t i = 0; i < cl.n; i++)
			engine_container_remove(e, cl.v[i].id, true, true, &err);
	if (engine_network_list(e, &f, &nl, &err) == 0)
		for (size_t i = 0; i < nl.n; i++)
			engine_network_remove(e, nl.v[i].id, &err);
	if (engine_volume_list(e, &f, &vl, &err) == 0)
		for (size_t i = 0; i < vl.n; i++)
			engine_volume_remove(e, vl.v[i].name, true, &err);
	engine_container_list_free(&cl);
	engine_network_list_free(&nl);
	engine_volume_list_free(&vl);
	lo2_strv_free(&f);
	free(label);
}

/* ---- the cutting proxy ---- */

#define TU_ENGINE_SOCK "/var/run/docker.sock"

struct tu_proxy {
	int lfd;
	pthread_t thread;
	tu_proxy_arm_fn arm;
	tu_proxy_cut_fn cut;
	void *user;
	atomic_int cuts, active; /* answers cut; connections being served */
};

struct tu_conn {
	struct tu_proxy *p;
	int client, upstream;
	atomic_int plan;
};

static int unix_connect(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* client -> engine, whole; arm() decides the plan of the answer */
static void *proxy_requests(void *arg)
{
	struct tu_conn *c = arg;
	char buf[65536];
	ssize_t n;

	while ((n = read(c->client, buf, sizeof(buf) - 1)) > 0) {
		int plan;

		buf[n] = '\0';
		plan = c->p->arm(c->p->user, buf);
		if (plan >= 0)
			atomic_store(&c->plan, plan);
		if (!send_all(c->upstream, buf, (size_t)n))
			break;
	}
	shutdown(c->upstream, SHUT_WR);
	return NULL;
}

/* engine -> client, cut where the plan says */
static void *proxy_answers(void *arg)
{
	struct tu_conn *c = arg;
	void *state = NULL;
	char buf[65536];
	ssize_t n;

	while ((n = read(c->upstream, buf, sizeof(buf))) > 0) {
		int plan = atomic_load(&c->plan);
		size_t pass = plan >= 0 ? c->p->cut(c->p->user, plan, &state, buf, (size_t)n) : (size_t)n;

		if (!send_all(c->client, buf, pass))
			break;
		if (pass < (size_t)n) {
			atomic_fetch_add(&c->p->cuts, 1);
			break;
		}
	}
	free(state);
	shutdown(c->client, SHUT_RDWR);
	shutdown(c->upstream, SHUT_RDWR);
	return NULL;
}

static void *proxy_serve(void *arg)
{
	struct tu_conn *c = arg;
	pthread_t a, b;

	pthread_create(&a, NULL, proxy_requests, c);
	pthread_create(&b, NULL, proxy_answers, c);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	close(c->client);
	close(c->upstream);
	atomic_fetch_sub(&c->p->active, 1);
	free(c);
	return NULL;
}

static void *proxy_main(void *arg)
{
	struct tu_proxy *p = arg;

	for (;;) {
		int cfd = accept(p->lfd, NULL, NULL);
		struct tu_conn *c;
		pthread_t t;

		if (cfd < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		c = xcalloc(1, sizeof(*c));
		c->p = p;
		c->client = cfd;
		c->upstream = unix_connect(TU_ENGINE_SOCK);
		atomic_store(&c->plan, -1);
		if (c->upstream < 0) {
			close(cfd);
			free(c);
			continue;
		}
		atomic_fetch_add(&p->active, 1);
		pthread_create(&t, NULL, proxy_serve, c);
		pthread_detach(t);
	}
}

struct tu_proxy *tu_proxy_start(const char *listen_path, tu_proxy_arm_fn arm, tu_proxy_cut_fn cut, void *user)
{
	struct tu_proxy *p = xcalloc(1, sizeof(*p));
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	p->arm = arm;
	p->cut = cut;
	p->user = user;
	p->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", listen_path);
	assert_true(p->lfd >= 0);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(p->lfd, 64), 0);
	assert_int_equal(pthread_create(&p->thread, NULL, proxy_main, p), 0);
	return p;
}

int tu_proxy_cuts(struct tu_proxy *p)
{
	return atomic_load(&p->cuts);
}

void tu_proxy_stop(struct tu_proxy *p)
{
	shutdown(p->lfd, SHUT_RDWR);
	close(p->lfd);
	pthread_join(p->thread, NULL);
	/* connections end with their peers (the test closed its clients): wait for them */
	for (int i = 0; i < 1000 && atomic_load(&p->active) > 0; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&p->active), 0);
	free(p);
}

#define TU_LAB LO2_SOURCE_DIR "/compose-files/lab"

char *tu_lab_compose_without_ports(const char *tmp, char **prometheus_url)
{
	char *text = tu_read(TU_LAB "/docker-compose.yml", NULL),
	     *path = xasprintf("%s/docker-compose.yml", tmp);
	FILE *f = fopen(path, "w");
	bool in_ports = false;

	*prometheus_url = NULL;
	assert_non_null(text);
	assert_non_null(f);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (strcmp(line, "    ports:") == 0) {
			in_ports = true;
			continue;
		}
		if (in_ports && strstr(line, ":9090:9090")) {
			int port = tu_free_port();

			fprintf(f, "    ports:\n      - \"127.0.0.1:%d:9090\"\n", port);
			*prometheus_url = xasprintf("http://127.0.0.1:%d", port);
			continue;
		}
		if (in_ports && lo2_str_has_prefix(line, "      - "))
			continue;
		in_ports = false;
		if (strstr(line, "./services:"))
			fprintf(f, "    - " TU_LAB "/services:/app:ro\n");
		else if (strstr(line, "./prometheus.yml:"))
			fprintf(f, "      - " TU_LAB "/prometheus.yml:/etc/prometheus/prometheus.yml:ro\n");
		else
			fprintf(f, "%s\n", line);
	}
	fclose(f);
	free(text);
	assert_non_null(*prometheus_url);
	return path;
}
