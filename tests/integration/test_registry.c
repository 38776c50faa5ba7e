/* test_registry.c - pulling from a real registry. The set-up starts Debian's docker-registry on
 * 127.0.0.1 twice (open, and with htpasswd users) on free ports, pushes the test images with the
 * docker CLI (a reference tool, with a DOCKER_CONFIG of the test's own) and removes them from the
 * engine; the tests pull them with `lo2 image pull` and `lo2 pull` with no, right and wrong
 * credentials (config.json auths, a credential helper on PATH), check the errors a user reads
 * (unauthorized, not found, a missing or failing helper, 429 from a loopback stand-in, plain HTTP
 * where the engine wants TLS) and that the password shows in no output (-v included) and no file.
 * Everything the set-up started is stopped and removed at the end, also when a test fails. */
#include "testutil.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
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
#include "common/file.h"
#include "common/mem.h"
#include "common/tar.h"
#include "engine/auth.h"
#include "engine/engine.h"
#include "common/json.h"
#include "run/manifest.h"

extern char **environ;

struct registry {
	const char *name; /* "open", "auth" */
	pid_t pid;
	int port;
	char addr[32]; /* "127.0.0.1:PORT" */
};

static struct {
	char *dir; /* everything the test writes */
	char *cli_config; /* the docker CLI's DOCKER_CONFIG for the pushes */
	struct registry open, auth;
	char user[32], pw[64], tag[64];
	char busybox_open[160], busybox_auth[160], unique_open[160], unique_auth[160];
	struct lo2_buf seen; /* every output of lo2 in the credential tests */
	struct lo2_strv to_remove; /* image references the test may have left in the engine */
} g;

/* ---- small tools ---- */

static bool on_path(const char *prog)
{
	const char *path = getenv("PATH");
	lo2_autofree char *copy = xstrdup(path ? path : "");

	for (char *save = NULL, *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		lo2_autofree char *p = xasprintf("%s/%s", d, prog);

		if (access(p, X_OK) == 0)
			return true;
	}
	return false;
}

static void need(const char *prog, const char *package)
{
	char why[256];

	if (on_path(prog))
		return;
	snprintf(why, sizeof(why),
	         "%s is not installed (Debian package %s; scripts/install-deps installs it)", prog, package);
	tu_unavailable(why);
}

static void random_hex(char *out, size_t nbytes)
{
	unsigned char b[32];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0 && nbytes <= sizeof(b));
	assert_int_equal(read(fd, b, nbytes), (ssize_t)nbytes);
	close(fd);
	for (size_t i = 0; i < nbytes; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void write_text(const char *path, const char *text)
{
	struct lo2_err err = {0};

	if (lo2_write_file_atomic(path, text, strlen(text), &err) < 0)
		fail_msg("%s", err.msg);
}

static bool can_connect(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	                        .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	close(fd);
	return ok;
}

/* ---- the registries ---- */

static void registry_stop(struct registry *r)
{
	int st;

	if (r->pid <= 0)
		return;
	kill(r->pid, SIGTERM);
	for (int i = 0; i < 100 && waitpid(r->pid, &st, WNOHANG) == 0; i++)
		usleep(50000);
	if (waitpid(r->pid, &st, WNOHANG) == 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, &st, 0);
	}
	r->pid = 0;
}

/* A test that crashes must not leave registries behind: the fatal and stop signals kill them
 * (kill is async-signal-safe) before the signal takes its default course. */
static void on_fatal(int sig)
{
	if (g.open.pid > 0)
		kill(g.open.pid, SIGTERM);
	if (g.auth.pid > 0)
		kill(g.auth.pid, SIGTERM);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void stop_registries_on_signals(void)
{
	static const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTERM, SIGINT, SIGHUP};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], on_fatal);
}

static pid_t spawn_logged(const char *const argv[], const char *log)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)(uintptr_t)argv, environ) != 0)
		fail_msg("cannot start %s", argv[0]);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/* Starts docker-registry on a free port (another port when the one chosen was taken meanwhile). */
static void registry_start(struct registry *r, bool with_auth)
{
	lo2_autofree char *cfg = xasprintf("%s/registry-%s.yml", g.dir, r->name);
	lo2_autofree char *log = xasprintf("%s/registry-%s.log", g.dir, r->name);

	for (int attempt = 0; attempt < 5; attempt++) {
		lo2_autofree char *yml = NULL;
		const char *argv[] = {"docker-registry", "serve", cfg, NULL};
		int st;

		r->port = tu_free_port();
		snprintf(r->addr, sizeof(r->addr), "127.0.0.1:%d", r->port);
		yml = xasprintf("version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    "
		                "rootdirectory: %s/data-%s\n"
		                "http:\n  addr: %s\n%s%s%s",
		                g.dir, r->name, r->addr,
		                with_auth ? "auth:\n  htpasswd:\n    realm: lo2-test\n    path: " : "",
		                with_auth ? g.dir : "", with_auth ? "/htpasswd\n" : "");
		write_text(cfg, yml);
		r->pid = spawn_logged(argv, log);
		for (int i = 0; i < 200; i++) {
			if (can_connect(r->port))
				return;
			if (waitpid(r->pid, &st, WNOHANG) == r->pid)
				break;
			usleep(50000);
		}
		registry_stop(r);
	}
	fail_msg("docker-registry (%s) did not start; see %s", r->name, log);
}

/* ---- set-up with the docker CLI ---- */

/* Runs the docker CLI (DOCKER_CONFIG: the test's own) and fails the set-up when it fails. */
static void docker(const char *stdin_data, const char *a1, const char *a2, const char *a3, const char *a4,
                   const char *a5)
{
	const char *argv[] = {"docker", a1, a2, a3, a4, a5, NULL};
	lo2_autofree char *out = NULL, *err = NULL;
	int rc;

	setenv("DOCKER_CONFIG", g.cli_config, 1);
	rc = tu_run(argv, stdin_data, &out, &err);
	unsetenv("DOCKER_CONFIG");
	if (rc != 0)
		fail_msg("docker %s %s: exit %d: %s%s", a1, a2 ? a2 : "", rc, out ? out : "", err ? err : "");
}

static void push(const char *src, const char *dst)
{
	docker(NULL, "tag", src, dst, NULL, NULL);
	lo2_strv_push(&g.to_remove, dst);
	docker(NULL, "push", dst, NULL, NULL, NULL);
}

static ssize_t tar_reader(void *user, char *buf, size_t n, struct lo2_err *err)
{
	return lo2_tar_read(user, buf, n, err);
}

/* An image of the test's own with one layer of 256 KiB of random bytes, so that a pull of it
 * downloads (the busybox layers are in the engine already). */
static void make_unique(const char *ref)
{
	static char data[256 * 1024];
	struct lo2_tar *t = lo2_tar_new();
	struct lo2_err err = {0};
	char *id = NULL;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(read(fd, data, sizeof(data)), (ssize_t)sizeof(data)); /* incompressible */
	close(fd);
	lo2_tar_add_data(t, "lo2-test/random.bin", data, sizeof(data), 0644);
	lo2_strv_push(&g.to_remove, ref);
	if (engine_image_import(tu_engine(), tar_reader, t, ref, NULL, NULL, NULL, &id, &err) < 0)
		fail_msg("%s", err.msg);
	free(id);
	lo2_tar_free(t);
}

static void untag(const char *ref)
{
	struct lo2_err err = {0};

	engine_image_remove(tu_engine(), ref, false, &err); /* never forced: only the test's own tags */
}

static void remove_all(void)
{
	for (size_t i = 0; i < g.to_remove.n; i++)
		untag(g.to_remove.v[i]);
}

static void teardown_all(void)
{
	registry_stop(&g.open);
	registry_stop(&g.auth);
	remove_all();
	lo2_strv_free(&g.to_remove);
	if (g.dir) {
		tu_rm_rf(g.dir);
		free(g.dir);
		g.dir = NULL;
	}
	free(g.cli_config);
	g.cli_config = NULL;
	lo2_buf_free(&g.seen);
}

static int group_setup(void **state)
{
	lo2_autofree char *hp = NULL, *path = NULL, *htpasswd_out = NULL;
	char hex[33];
	const char *htp[6];

	tu_engine();
	tu_require_image("lo2-test/busybox:latest");
	need("docker-registry", "docker-registry");
	need("htpasswd", "apache2-utils");
	need("docker", "docker.io (the docker CLI, a reference tool for the set-up)");
	atexit(teardown_all);
	stop_registries_on_signals();
	g.dir = tu_tmpdir();
	g.cli_config = xasprintf("%s/docker-cli", g.dir);
	g.open.name = "open";
	g.auth.name = "auth";
	random_hex(hex, 4);
	snprintf(g.user, sizeof(g.user), "lo2u%s", hex);
	random_hex(hex, 12);
	snprintf(g.pw, sizeof(g.pw), "pw%s", hex);
	snprintf(g.tag, sizeof(g.tag), "%s", tu_run_id());
	/* lo2 runs here, so a file it wrote by mistake would be found by the grep */
	if (chdir(g.dir) < 0)
		fail_msg("chdir %s", g.dir);
	path = xasprintf("%s:%s", LO2_TEST_HELPERS, getenv("PATH"));
	setenv("PATH", path, 1);

	htp[0] = "htpasswd", htp[1] = "-Bbn", htp[2] = g.user, htp[3] = g.pw, htp[4] = NULL;
	assert_int_equal(tu_run(htp, NULL, &htpasswd_out, NULL), 0);
	hp = xasprintf("%s/htpasswd", g.dir);
	write_text(hp, htpasswd_out);
	registry_start(&g.open, false);
	registry_start(&g.auth, true);

	snprintf(g.busybox_open, sizeof(g.busybox_open), "%s/lo2test/busybox:%s", g.open.addr, g.tag);
	snprintf(g.busybox_auth, sizeof(g.busybox_auth), "%s/lo2test/busybox:%s", g.auth.addr, g.tag);
	snprintf(g.unique_open, sizeof(g.unique_open), "%s/lo2test/unique:%s", g.open.addr, g.tag);
	snprintf(g.unique_auth, sizeof(g.unique_auth), "%s/lo2test/unique:%s", g.auth.addr, g.tag);
	docker(g.pw, "login", "-u", g.user, "--password-stdin", g.auth.addr);
	push("lo2-test/busybox:latest", g.busybox_open);
	push("lo2-test/busybox:latest", g.busybox_auth);
	make_unique(g.unique_open);
	push(g.unique_open, g.unique_auth);
	docker(NULL, "push", g.unique_open, NULL, NULL, NULL);
	remove_all(); /* the pulls below start from an engine without them */
	return 0;
}

static int group_teardown(void **state)
{
	teardown_all();
	return 0;
}

/* ---- running lo2 ---- */

/* A DOCKER_CONFIG folder of the test's own holding config.json = json (NULL: no file). */
static char *config_dir(const char *name, const char *json)
{
	char *dir = xasprintf("%s/%s", g.dir, name);
	lo2_autofree char *file = xasprintf("%s/config.json", dir);
	struct lo2_err err = {0};

	assert_int_equal(lo2_mkdir_p(dir, 0700, &err), 0);
	if (json)
		write_text(file, json);
	return dir;
}

/* The auths JSON for the auth registry with user:password. */
static char *auths_json(const char *user, const char *pw)
{
	lo2_autofree char *plain = xasprintf("%s:%s", user, pw);
	lo2_autofree char *b64 = engine_base64(plain, strlen(plain), false);

	return xasprintf("{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}", g.auth.addr, b64);
}

/* Runs lo2 (arguments NULL-terminated) with DOCKER_CONFIG=config (NULL: unset) and keeps what it
 * printed for the grep. */
static int lo2(const char *config, char **out, char **err, ...)
{
	const char *argv[16];
	int n = 0, rc;
	va_list ap;

	argv[n++] = tu_lo2();
	va_start(ap, err);
	while (n < 15 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	if (config)
		setenv("DOCKER_CONFIG", config, 1);
	rc = tu_run(argv, NULL, out, err);
	unsetenv("DOCKER_CONFIG");
	lo2_buf_printf(&g.seen, "%s\n%s\n", *out ? *out : "", *err ? *err : "");
	return rc;
}

static bool image_exists(const char *ref, struct engine_image_info *info)
{
	struct lo2_err err = {0};
	struct engine_image_info local = {0};
	bool ok = engine_image_inspect(tu_engine(), ref, info ? info : &local, &err) == 0;

	engine_image_info_free(&local);
	return ok;
}

static void assert_has(const char *hay, const char *needle)
{
	if (hay == NULL || strstr(hay, needle) == NULL)
		fail_msg("expected \"%s\" in:\n%s", needle, hay ? hay : "(nothing)");
}

/* ---- the open registry ---- */

static void test_image_pull_and_digest(void **state)
{
	lo2_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL, *by_digest = NULL;
	lo2_autofree char *empty = config_dir("cfg-empty", NULL), *want = NULL;
	struct engine_image_info info = {0};
	const char *at;

	lo2_strv_push(&g.to_remove, g.unique_open);
	assert_int_equal(lo2(empty, &out, &err, "image", "pull", g.unique_open, NULL), 0);
	assert_has(out, "Pulling ");
	/* the unique image's one layer came over the wire */
	assert_has(out, ": pulled in ");
	assert_has(out, "1 layers (0 already present), 26"); /* ~262 kB: 256 KiB gzip cannot shrink */
	assert_has(out, " kB downloaded, sha256:");
	assert_true(image_exists(g.unique_open, &info));
	assert_int_equal(info.repo_digests.n, 1);
	assert_true(lo2_str_has_prefix(info.repo_digests.v[0], g.open.addr));
	by_digest = engine_image_repo_digest(&info, g.unique_open);
	assert_string_equal(by_digest, info.repo_digests.v[0]);
	at = strchr(info.repo_digests.v[0], '@');
	assert_non_null(at);
	assert_has(out, at + 1); /* the digest the pull reported is the one the engine keeps */
	/* by digest, after removing it */
	engine_image_info_free(&info);
	untag(g.unique_open);
	assert_false(image_exists(g.unique_open, NULL));
	lo2_strv_push(&g.to_remove, by_digest);
	assert_int_equal(lo2(empty, &out2, &err2, "image", "pull", "-q", by_digest, NULL), 0);
	want = xasprintf("%s\n", by_digest);
	assert_string_equal(out2, want); /* -q: only the reference */
	assert_true(image_exists(by_digest, NULL));
	untag(by_digest);
}

static void test_not_found(void **state)
{
	lo2_autofree char *out = NULL, *err = NULL, *ref = xasprintf("%s/lo2test/nothere:1", g.open.addr);
	lo2_autofree char *empty = config_dir("cfg-empty", NULL), *want = NULL;

	assert_int_equal(lo2(empty, &out, &err, "image", "pull", ref, NULL), 1);
	want = xasprintf("lo2: pull image %s: not found: registry %s has no such repository, tag or digest "
	                 "(engine: 404 Not Found: manifest for %s not found",
	                 ref, g.open.addr, ref);
	assert_has(err, want);
}

static void test_compose_pull_parallel(void **state)
{
	lo2_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL, *outu = NULL, *erru = NULL;
	lo2_autofree char *cfg = NULL, *auths = auths_json(g.user, g.pw);
	lo2_autofree char *file = xasprintf("%s/compose.yaml", g.dir), *ctx = xasprintf("%s/ctx", g.dir);
	lo2_autofree char *yml = NULL, *df = xasprintf("%s/ctx/Dockerfile", g.dir), *want = NULL;
	struct lo2_err e = {0};

	cfg = config_dir("cfg-auths", auths);
	assert_int_equal(lo2_mkdir_p(ctx, 0755, &e), 0);
	write_text(df, "FROM lo2-test/busybox:latest\n");
	yml = xasprintf(
	    "services:\n  small:\n    image: %s\n  unique:\n    image: %s\n  again:\n    image: %s\n"
	    "  built:\n    build: ./ctx\n",
	    g.busybox_open, g.unique_auth, g.busybox_open);
	write_text(file, yml);
	lo2_strv_push(&g.to_remove, g.busybox_open);
	lo2_strv_push(&g.to_remove, g.unique_auth);
	assert_int_equal(lo2(cfg, &out, &err, "pull", "-f", file, "-p", "lo2test-pull", NULL), 0);
	/* one pull per distinct image, labelled with its services; build: services skipped */
	want = xasprintf("Pulling %s (service small, again)\n", g.busybox_open);
	assert_has(out, want);
	free(want);
	want = xasprintf("Pulling %s (service unique)\n", g.unique_auth);
	assert_has(out, want);
	free(want);
	want = xasprintf("%s (service unique): pulled in ", g.unique_auth);
	assert_has(out, want);
	assert_has(out, "Skipping service built: built from its build: context\n");
	assert_true(image_exists(g.busybox_open, NULL));
	assert_true(image_exists(g.unique_auth, NULL));
	untag(g.busybox_open);
	untag(g.unique_auth);
	/* a service by name */
	assert_int_equal(lo2(cfg, &out2, &err2, "pull", "-f", file, "unique", NULL), 0);
	assert_true(image_exists(g.unique_auth, NULL));
	assert_false(image_exists(g.busybox_open, NULL));
	untag(g.unique_auth);
	assert_int_equal(lo2(cfg, &outu, &erru, "pull", "-f", file, "nosuch", NULL), 2);
	assert_has(erru, "lo2 pull: no service 'nosuch' in ");
}

/* ---- the authenticated registry ---- */

static void test_auth_from_auths(void **state)
{
	lo2_autofree char *out = NULL, *err = NULL, *auths = auths_json(g.user, g.pw);
	lo2_autofree char *cfg = config_dir("cfg-auths", auths);

	lo2_strv_push(&g.to_remove, g.busybox_auth);
	assert_int_equal(lo2(cfg, &out, &err, "-v", "image", "pull", g.busybox_auth, NULL), 0);
	assert_true(image_exists(g.busybox_auth, NULL));
	assert_has(err, "X-Registry-Auth: <hidden, "); /* sent, and masked in the debug output */
	assert_has(err, "credentials from auths entry");
	untag(g.busybox_auth);
}

static void test_auth_from_helper(void **state)
{
	lo2_autofree char *out = NULL, *err = NULL, *json = NULL, *cfg = NULL;
	lo2_autofree char *log = xasprintf("%s/helper.log", g.dir), *logged = NULL, *want = NULL;

	json = xasprintf("{\"auths\":{\"%s\":{}},\"credHelpers\":{\"%s\":\"lo2test\"}}", g.auth.addr,
	                 g.auth.addr);
	cfg = config_dir("cfg-helper", json);
	setenv("LO2TEST_CRED_SERVER", g.auth.addr, 1);
	setenv("LO2TEST_CRED_USER", g.user, 1);
	setenv("LO2TEST_CRED_SECRET", g.pw, 1);
	setenv("LO2TEST_CRED_LOG", log, 1);
	lo2_strv_push(&g.to_remove, g.unique_auth);
	assert_int_equal(lo2(cfg, &out, &err, "-v", "image", "pull", g.unique_auth, NULL), 0);
	assert_true(image_exists(g.unique_auth, NULL));
	assert_has(err, "credentials from credential helper docker-credential-lo2test (credHelpers entry");
	logged = tu_read(log, NULL);
	want = xasprintf("get %s\n", g.auth.addr);
	assert_string_equal(logged, want);
	untag(g.unique_auth);
	unsetenv("LO2TEST_CRED_SECRET");
	unsetenv("LO2TEST_CRED_LOG");
}

static void test_auth_none_or_wrong(void **state)
{
	lo2_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL, *out3 = NULL, *err3 = NULL;
	lo2_autofree char *none = config_dir("cfg-none", "{\"auths\":{}}");
	lo2_autofree char *wrong_json = auths_json(g.user, "not-the-password");
	lo2_autofree char *wrong = config_dir("cfg-wrong", wrong_json), *want = NULL;
	lo2_autofree char *plain = xasprintf("%s:%s", g.user, g.pw);
	lo2_autofree char *b64 = engine_base64(plain, strlen(plain), false);

	/* none */
	assert_int_equal(lo2(none, &out, &err, "-v", "image", "pull", g.busybox_auth, NULL), 1);
	want = xasprintf(
	    "lo2: pull image %s: registry %s refused access (unauthorized): no credentials for %s were "
	    "found (looked in %s/config.json, which has no auths entry for %s); log in with `docker "
	    "login %s`",
	    g.busybox_auth, g.auth.addr, g.auth.addr, none, g.auth.addr, g.auth.addr);
	assert_has(err, want);
	assert_false(image_exists(g.busybox_auth, NULL));
	/* wrong */
	assert_int_equal(lo2(wrong, &out2, &err2, "-v", "image", "pull", g.busybox_auth, NULL), 1);
	free(want);
	want = xasprintf(
	    "lo2: pull image %s: registry %s refused access (unauthorized): the credentials sent came "
	    "from auths entry \"%s\" of %s/config.json; check the user name and password (or token) "
	    "there (engine: ",
	    g.busybox_auth, g.auth.addr, g.auth.addr, wrong);
	assert_has(err2, want);
	/* right ones for another port are not sent: the port is part of the registry's name */
	free(want);
	want = xasprintf("{\"auths\":{\"127.0.0.1:%d\":{\"auth\":\"%s\"}}}", g.auth.port + 1, b64);
	{
		lo2_autofree char *cfg = config_dir("cfg-otherport", want);

		assert_int_equal(lo2(cfg, &out3, &err3, "image", "pull", g.busybox_auth, NULL), 1);
		assert_has(err3, "refused access (unauthorized): no credentials for ");
	}
}

static void test_helper_missing_or_failing(void **state)
{
	lo2_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL, *want = NULL, *json = NULL;
	lo2_autofree char *missing =
	    config_dir("cfg-missing-helper", "{\"credsStore\":\"lo2-no-such-helper\"}");
	lo2_autofree char *failing = NULL;

	/* a missing helper: a warning naming it, and an open registry still pulls */
	lo2_strv_push(&g.to_remove, g.busybox_open);
	assert_int_equal(lo2(missing, &out, &err, "image", "pull", g.busybox_open, NULL), 0);
	want = xasprintf(
	    "lo2: %s: warning: registry credentials for %s: credsStore of %s/config.json: credential "
	    "helper docker-credential-lo2-no-such-helper not found on PATH; pulling without credentials",
	    g.busybox_open, g.open.addr, missing);
	assert_has(err, want);
	untag(g.busybox_open);
	/* a failing helper: its name and its stderr's first line, in the warning and in the error */
	json = xasprintf("{\"credHelpers\":{\"%s\":\"lo2test\"}}", g.auth.addr);
	failing = config_dir("cfg-failing-helper", json);
	setenv("LO2TEST_CRED_FAIL", "error: the keychain is locked", 1);
	assert_int_equal(lo2(failing, &out2, &err2, "image", "pull", g.busybox_auth, NULL), 1);
	unsetenv("LO2TEST_CRED_FAIL");
	free(want);
	want = xasprintf(
	    "refused access (unauthorized): no credentials were sent: credHelpers entry \"%s\" of "
	    "%s/config.json: credential helper docker-credential-lo2test get failed (exit status 3): "
	    "error: the keychain is locked",
	    g.auth.addr, failing);
	assert_has(err2, want);
	assert_null(strstr(err2, "second line"));
}

/* Every file under dir (registry storage and logs, configs, helper log) is free of needle. */
static int grep_file(void *user, const char *path, const char *rel, struct lo2_err *err)
{
	const char *needle = user;
	lo2_autofree char *text = NULL;
	size_t len = 0;
	struct lo2_err e = {0};

	if (lo2_read_file(path, 64u * 1024 * 1024, &text, &len, &e) < 0)
		return 0;
	if (memmem(text, len, needle, strlen(needle)))
		fail_msg("the secret is in %s", path);
	return 0;
}

static void test_password_nowhere(void **state)
{
	lo2_autofree char *plain = xasprintf("%s:%s", g.user, g.pw);
	lo2_autofree char *b64 = engine_base64(plain, strlen(plain), false);
	lo2_autofree char *auths = auths_json(g.user, g.pw), *cfg = config_dir("cfg-auths", auths);
	struct engine_auth a = {0};
	char *hdr;
	struct lo2_err err = {0};

	assert_int_equal(engine_auth_find(cfg, g.auth.addr, &a, &err), 0);
	hdr = engine_auth_header(&a);
	engine_auth_free(&a);
	assert_non_null(hdr);
	assert_true(g.seen.len > 0);
	assert_has(g.seen.data, "X-Registry-Auth: <hidden, "); /* the -v runs did send credentials */
	assert_null(memmem(g.seen.data, g.seen.len, g.pw, strlen(g.pw)));
	assert_null(memmem(g.seen.data, g.seen.len, b64, strlen(b64)));
	assert_null(memmem(g.seen.data, g.seen.len, hdr, strlen(hdr)));
	assert_int_equal(lo2_walk_files(g.dir, grep_file, g.pw, &err), 0);
	assert_int_equal(lo2_walk_files(g.dir, grep_file, hdr, &err), 0);
	engine_secret_free(hdr);
}

/* ---- stand-ins: 429, and plain HTTP where TLS is expected ---- */

struct standin {
	int fd;
	pthread_t th;
	int status; /* for every path but /v2/ */
	int requests;
	char addr[64];
};

static void standin_answer(int c, int status)
{
	static const char body429[] =
	    "{\"errors\":[{\"code\":\"TOOMANYREQUESTS\",\"message\":\"You have reached "
	    "your pull rate limit. You may increase the limit by authenticating and "
	    "upgrading: https://www.docker.com/increase-rate-limit\"}]}";
	const char *body = status == 429 ? body429 : "{}";
	char head[256];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	                 "Docker-Distribution-Api-Version: registry/2.0\r\nConnection: close\r\n\r\n",
	                 status,
	                 status == 429   ? "Too Many Requests"
	                 : status == 200 ? "OK"
	                                 : "Bad Request",
	                 strlen(body));

	if (write(c, head, (size_t)n) < 0 || write(c, body, strlen(body)) < 0)
		return;
}

static void *standin_main(void *arg)
{
	struct standin *s = arg;
	int c;

	while ((c = accept(s->fd, NULL, NULL)) >= 0) {
		char req[8192];
		ssize_t n = read(c, req, sizeof(req) - 1);

		req[n > 0 ? n : 0] = '\0';
		if (strncmp(req, "GET ", 4) != 0 && strncmp(req, "HEAD ", 5) != 0)
			standin_answer(c, 400); /* a TLS hello: plain HTTP answers it */
		else if (strncmp(req, "GET /v2/ ", 9) == 0)
			standin_answer(c, 200);
		else {
			__atomic_add_fetch(&s->requests, 1, __ATOMIC_SEQ_CST);
			standin_answer(c, s->status);
		}
		close(c);
	}
	return NULL;
}

static void standin_start(struct standin *s, struct in_addr ip, int status)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr = ip};
	socklen_t len = sizeof(a);
	char host[INET_ADDRSTRLEN];

	s->status = status;
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 16), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
	inet_ntop(AF_INET, &ip, host, sizeof(host));
	snprintf(s->addr, sizeof(s->addr), "%s:%d", host, ntohs(a.sin_port));
	assert_int_equal(pthread_create(&s->th, NULL, standin_main, s), 0);
}

static void standin_stop(struct standin *s)
{
	shutdown(s->fd, SHUT_RDWR);
	close(s->fd);
	pthread_join(s->th, NULL);
}

static void test_rate_limited(void **state)
{
	struct standin s = {0};
	struct in_addr lo = {.s_addr = htonl(INADDR_LOOPBACK)};
	lo2_autofree char *out = NULL, *err = NULL, *ref = NULL, *want = NULL;
	lo2_autofree char *empty = config_dir("cfg-empty", NULL);

	standin_start(&s, lo, 429);
	ref = xasprintf("%s/library/busybox:latest", s.addr);
	assert_int_equal(lo2(empty, &out, &err, "image", "pull", ref, NULL), 1);
	standin_stop(&s);
	assert_true(s.requests > 0);
	want = xasprintf(
	    "lo2: pull image %s: registry %s rate-limited the pull (toomanyrequests): no credentials for "
	    "%s were found (looked in %s/config.json, which does not exist); log in with `docker login "
	    "%s`",
	    ref, s.addr, s.addr, empty, s.addr);
	assert_has(err, want);
}

/* A host IPv4 address that is not loopback (the engine wants TLS there), or false. */
static bool host_address(struct in_addr *out)
{
	struct ifaddrs *ifs = NULL;
	bool found = false;

	if (getifaddrs(&ifs) < 0)
		return false;
	for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_flags & IFF_LOOPBACK))
			continue;
		*out = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		found = true;
	}
	freeifaddrs(ifs);
	return found;
}

static void test_plain_http_where_tls_expected(void **state)
{
	struct standin s = {0};
	struct in_addr ip;
	lo2_autofree char *out = NULL, *err = NULL, *ref = NULL, *want = NULL;
	lo2_autofree char *empty = config_dir("cfg-empty", NULL);

	if (!host_address(&ip))
		skip(); /* no address but loopback, which the engine allows without TLS */
	standin_start(&s, ip, 404);
	ref = xasprintf("%s/lo2test/x:1", s.addr);
	assert_int_equal(lo2(empty, &out, &err, "image", "pull", ref, NULL), 1);
	standin_stop(&s);
	want = xasprintf(
	    "lo2: pull image %s: registry %s answered plain HTTP where the engine expects TLS: serve it "
	    "over HTTPS, or list it under insecure-registries in the engine's daemon.json (engine: ",
	    ref, s.addr);
	assert_has(err, want);
}

/* ---- reproducible runs ---- */

/* --pin-digests: a resumed run deploys each service by the digest the run recorded, even after
 * its tag has moved to another image. */
static void test_resume_pins_digests(void **state)
{
	lo2_autofree char *ref = xasprintf("%s/lo2test/pin:%s", g.open.addr, g.tag);
	lo2_autofree char *dir = xasprintf("%s/pinrun", g.dir), *file = xasprintf("%s/pin.yaml", g.dir);
	lo2_autofree char *ctx = xasprintf("%s/pinctx", g.dir),
	                  *df = xasprintf("%s/pinctx/Dockerfile", g.dir);
	lo2_autofree char *yml = NULL, *log = xasprintf("%s/pinrun.out", g.dir), *runlog = NULL;
	lo2_autofree char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL, *digest = NULL, *said = NULL;
	lo2_autofree char *project = xasprintf("lo2t%s-pin", tu_run_id()),
	                  *mp = xasprintf("%s/run.json", dir);
	const char *argv[] = {tu_lo2(),
	                      "run",
	                      "--compose-file",
	                      file,
	                      "--project",
	                      project,
	                      "--locust-folder",
	                      LO2_SOURCE_DIR "/tests/fixtures/run/core/locust",
	                      "--locust-command",
	                      LO2_SOURCE_DIR "/tests/fixtures/run/stand-in-locust",
	                      "--mysql-service",
	                      "",
	                      "--prometheus-url",
	                      "",
	                      "--tags",
	                      "first,second",
	                      "--durations-min",
	                      "4",
	                      "--durations-max",
	                      "4",
	                      "--waits-min",
	                      "1",
	                      "--waits-max",
	                      "1",
	                      "--output",
	                      dir,
	                      NULL};
	struct engine_image_info bb = {0};
	struct run_manifest m;
	struct lo2_json *images = NULL;
	struct lo2_err e = {0};
	int status;
	pid_t pid;

	runlog = xasprintf("%s/run_log.log", dir);
	yml = xasprintf("services:\n  svc:\n    image: %s\n    stop_grace_period: 1s\n"
	                "    command: [\"sh\", \"-c\", \"while :; do echo pin; sleep 0.2; done\"]\n",
	                ref);
	write_text(file, yml);
	assert_true(image_exists("lo2-test/busybox:latest", &bb));
	push("lo2-test/busybox:latest", ref);
	untag(ref);
	/* the first session is interrupted in its second test */
	pid = tu_spawn(argv, log);
	assert_true(tu_wait_for_text(runlog, "Waiting for", 120));
	sleep(2);
	kill(pid, SIGINT);
	waitpid(pid, &status, 0);
	assert_int_equal(run_manifest_read(mp, &m, &e), 0);
	assert_string_equal(m.status, "interrupted");
	assert_int_equal(lo2_json_parse(lo2_kvv_get(&m.sections, "images"), "images", &images, &e), 0);
	digest = xstrdup(lo2_json_str(lo2_json_path(images, "svc", "repo_digest", NULL)));
	assert_non_null(digest);
	assert_true(lo2_str_has_prefix(digest, g.open.addr));
	assert_string_equal(lo2_json_str(lo2_json_path(images, "svc", "id", NULL)), bb.id);
	lo2_json_free(images);
	run_manifest_free(&m);
	/* the tag moves to another image */
	assert_int_equal(lo2_mkdir_p(ctx, 0755, &e), 0);
	write_text(df, "FROM lo2-test/busybox:latest\nLABEL lo2.test.pin=moved\n");
	assert_int_equal(lo2(NULL, &out, &err, "image", "build", ctx, "-t", ref, NULL), 0);
	docker(NULL, "push", ref, NULL, NULL, NULL);
	untag(ref);
	/* the resume deploys by the recorded digest, not by the moved tag */
	assert_int_equal(lo2(NULL, &out2, &err2, "run", "--resume", dir, "--pin-digests", NULL), 0);
	said = xasprintf("Service svc: image pinned to %s", digest);
	assert_true(tu_wait_for_text(runlog, said, 1));
	assert_int_equal(run_manifest_read(mp, &m, &e), 0);
	assert_string_equal(m.status, "complete");
	assert_int_equal(lo2_json_parse(lo2_kvv_get(&m.sections, "images"), "images", &images, &e), 0);
	assert_string_equal(lo2_json_str(lo2_json_path(images, "svc", "id", NULL)), bb.id);
	lo2_json_free(images);
	run_manifest_free(&m);
	lo2_strv_push(&g.to_remove, digest);
	engine_image_info_free(&bb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_image_pull_and_digest),
	    cmocka_unit_test(test_not_found),
	    cmocka_unit_test(test_compose_pull_parallel),
	    cmocka_unit_test(test_auth_from_auths),
	    cmocka_unit_test(test_auth_from_helper),
	    cmocka_unit_test(test_auth_none_or_wrong),
	    cmocka_unit_test(test_helper_missing_or_failing),
	    cmocka_unit_test(test_password_nowhere),
	    cmocka_unit_test(test_rate_limited),
	    cmocka_unit_test(test_plain_http_where_tls_expected),
	    cmocka_unit_test(test_resume_pins_digests),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
