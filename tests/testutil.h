/* testutil.h - what lo2's tests share: running the lo2 binary and capturing its output,
 * the engine gate (skip with a reason, or fail under CI=true), and labelled cleanup. */
#ifndef LO2_TESTUTIL_H
#define LO2_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

struct engine;

/* Exit code CTest reads as "skipped" (SKIP_RETURN_CODE). */
#define TU_SKIP 77
/* Label key on every engine object a test makes; its value is the test run's id. */
#define TU_LABEL "lo2.test"

/* Path of the lo2 binary under test. */
const char *tu_lo2(void);
/* Runs argv (argv[0] is looked up in PATH unless it has a '/'), feeding stdin_data (may be NULL),
 * capturing stdout and stderr (each may be NULL to discard). Returns the exit status, or 128+signal. */
int tu_run(const char *const argv[], const char *stdin_data, char **out, char **err);
/* Runs lo2 with the given arguments (NULL-terminated). */
int tu_lo2_run(char **out, char **err, ...);

/* Runs a cmocka group, only the tests matching $LO2_TEST_FILTER (a cmocka pattern) when set. */
#define tu_run_tests(tests) (tu_filter(), cmocka_run_group_tests(tests, NULL, NULL))
void tu_filter(void);

/* Inside a cmocka test: a missing reference tool skips the test with why, and under CI=true
 * (where scripts/install-deps installed it) fails it. Does not return. */
#define tu_skip_or_fail(why) \
	do { \
		if (tu_under_ci()) \
			fail_msg("%s (CI=true: a missing reference tool is a failure, not a skip)", why); \
		printf("SKIP: %s\n", why); \
		skip(); \
	} while (0)
bool tu_under_ci(void);
/* The engine of this machine, or: not reachable -> under CI=true print why and exit 1,
 * otherwise print the reason (naming the socket) and exit TU_SKIP. */
struct engine *tu_engine(void);
/* "lo2.test=<id>" for this process, and the id alone. */
const char *tu_label_filter(void);
const char *tu_run_id(void);
/* Removes every container, network and volume carrying this process's test label. */
void tu_cleanup(void);
/* Something a test needs is missing (why says what): under CI=true print it and exit 1,
 * otherwise print it and exit TU_SKIP. */
void tu_unavailable(const char *why) __attribute__((noreturn));
/* An image the integration tests need; exits as tu_engine does when it is missing. */
void tu_require_image(const char *ref);

/* A fresh temporary folder (caller frees the string; the folder is removed by tu_rm_rf). */
char *tu_tmpdir(void);
void tu_rm_rf(const char *path);
/* Reads a file (gunzipping when it ends in .gz) into a NUL-terminated buffer. */
char *tu_read(const char *path, size_t *len);

/* A TCP port on 127.0.0.1 that nothing listens on right now. */
int tu_free_port(void);
/* Starts argv in the background with stdout and stderr into log_path; returns its pid. */
int tu_spawn(const char *const argv[], const char *log_path);
/* Waits until the file at path holds needle (true), or timeout_s passes (false). */
bool tu_wait_for_text(const char *path, const char *needle, int timeout_s);
/* The same until needle is in the file n times. */
bool tu_wait_for_count(const char *path, const char *needle, int n, int timeout_s);

struct run_manifest;
/* The instant up to which the run's logs hold every line (the logs collector's until_ns). */
int64_t tu_logs_until(const struct run_manifest *m);

/* Removes every container, network and volume labelled as compose project `project`. */
void tu_remove_project(const char *project);

/* A proxy on a unix socket in front of the engine's, for tests that cut the engine's answers.
 * arm(user, request) sees each chunk a client sends and returns a plan for that connection's
 * answer (>= 0), or -1 to leave the plan as it is; cut(user, plan, state, chunk, n) returns how
 * many bytes of an answer chunk to pass, fewer than n to end the connection there (*state: the
 * connection's own, NULL at first, freed by the proxy). A connection without a plan passes whole. */
typedef int (*tu_proxy_arm_fn)(void *user, const char *request);
typedef size_t (*tu_proxy_cut_fn)(void *user, int plan, void **state, const char *chunk, size_t n);
struct tu_proxy;
struct tu_proxy *tu_proxy_start(const char *listen_path, tu_proxy_arm_fn arm, tu_proxy_cut_fn cut,
                                void *user);
/* Answers cut so far. */
int tu_proxy_cuts(struct tu_proxy *p);
/* Stops accepting (connections under way end with their peers) and frees p. */
void tu_proxy_stop(struct tu_proxy *p);

/* The lab's compose file (compose-files/lab) without its fixed published ports and with absolute
 * binds, written into folder tmp, for lab runs beside other sessions' (caller frees the path).
 * Prometheus is published on a free loopback port: *prometheus_url is its URL (caller frees). */
char *tu_lab_compose_without_ports(const char *tmp, char **prometheus_url);

#endif
