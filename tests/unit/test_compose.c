/* test_compose.c - compose/: the YAML reader, interpolation, every key in every syntax, each
 * error with its exact file:line:col message, the plan (names, labels, waves, hashes), the
 * engine create spec, and the LO2 reference compose file. No engine needed. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/mem.h"
#include "common/time.h"
#include "compose/compose.h"
#include "compose/internal.h"
#include "compose/yaml.h"
#include "engine/engine.h"

#define FIX LO2_FIXTURES "/compose"

/* Loads FIX/<rel> (relative, so messages read "<rel>:L:C: ..."); returns the load's result. */
static int load(const char *rel, const char *pname, struct compose_project **p, struct lo2_strv *warn,
                struct lo2_err *err)
{
	struct compose_load_opts o = {.file = rel, .project_name = pname};

	assert_int_equal(chdir(FIX), 0);
	return compose_load(&o, p, warn, err);
}

static struct compose_project *load_ok(const char *rel)
{
	struct compose_project *p = NULL;
	struct lo2_err err = {0};

	if (load(rel, NULL, &p, NULL, &err) < 0)
		fail_msg("load %s: %s", rel, err.msg);
	if (compose_plan(p, &err) < 0)
		fail_msg("plan %s: %s", rel, err.msg);
	return p;
}

static const struct compose_service *svc(const struct compose_project *p, const char *name)
{
	const struct compose_service *s = compose_service_find(p, name);

	assert_non_null(s);
	return s;
}

/* ---- YAML reader ---- */

static void test_yaml_marks_and_merge(void **state)
{
	const char *text = "base: &b\n  x: 1\n  y: 2\nc:\n  <<: *b\n  y: 3\nlist: [a, 'b', ~]\n";
	struct compose_ydoc *d = NULL;
	struct lo2_err err = {0};
	const struct compose_ynode *c, *list;

	assert_int_equal(compose_yaml_parse(text, strlen(text), "t.yml", 0, &d, &err), 0);
	c = compose_ynode_get(d->root, "c");
	assert_non_null(c);
	assert_int_equal(c->line, 5);
	assert_int_equal(c->col, 3);
	assert_string_equal(compose_ynode_get(c, "x")->value, "1");
	assert_string_equal(compose_ynode_get(c, "y")->value, "3"); /* explicit wins over the merge */
	assert_int_equal(c->n, 2);
	list = compose_ynode_get(d->root, "list");
	assert_int_equal(list->n, 3);
	assert_false(list->items[0]->quoted);
	assert_true(list->items[1]->quoted);
	assert_true(compose_ynode_is_null(list->items[2]));
	assert_int_equal(list->items[2]->line, 7);
	assert_int_equal(list->items[2]->col, 16);
	compose_ydoc_free(d);
}

static void test_yaml_merge_list(void **state)
{
	const char *text = "a: &a {k: 1, m: a}\nb: &b {k: 2, n: b}\nc:\n  <<: [*a, *b]\n";
	struct compose_ydoc *d = NULL;
	struct lo2_err err = {0};
	const struct compose_ynode *c;

	assert_int_equal(compose_yaml_parse(text, strlen(text), "t.yml", 0, &d, &err), 0);
	c = compose_ynode_get(d->root, "c");
	assert_string_equal(compose_ynode_get(c, "k")->value, "1"); /* the first mapping wins */
	assert_string_equal(compose_ynode_get(c, "m")->value, "a");
	assert_string_equal(compose_ynode_get(c, "n")->value, "b");
	compose_ydoc_free(d);
}

static void test_yaml_alias_bomb(void **state)
{
	struct compose_project *p = NULL;
	struct lo2_err err = {0};

	assert_int_equal(load("errors/bomb.yml", NULL, &p, NULL, &err), -1);
	assert_string_equal(err.msg,
	                    "errors/bomb.yml:6:4: document expands to more than 1000000 nodes (aliases "
	                    "nested too deeply?); refusing it");
	assert_null(p);
}

/* One 4 MiB anchored scalar aliased 1,000 times: refused by its expanded bytes at once (it took
 * 12-16 GB and 100 s before), naming the alias that crossed the cap. */
static void test_yaml_byte_bomb(void **state)
{
	struct lo2_buf b = {0};
	struct compose_ydoc *d = NULL;
	struct lo2_err err = {0};
	int64_t t0 = lo2_mono_ns();

	lo2_buf_puts(&b, "x-a: &a \"");
	char *big = xmalloc(4 << 20);

	memset(big, 'x', 4 << 20);
	lo2_buf_append(&b, big, 4 << 20);
	free(big);
	lo2_buf_puts(&b, "\"\nservices:\n  s:\n    image: busybox\n    environment:\n");
	for (int i = 0; i < 1000; i++)
		lo2_buf_printf(&b, "      V%d: *a\n", i);
	assert_int_equal(compose_yaml_parse(b.data, b.len, "bomb.yml", 0, &d, &err), -1);
	assert_null(d);
	assert_string_equal(err.msg, "bomb.yml:6:7: document expands to more than 64 MiB of text (a large "
	                             "anchor aliased many times?); refusing it");
	assert_true(lo2_mono_ns() - t0 < 5000000000LL); /* a sanity bound, not a benchmark */
	lo2_buf_free(&b);
}

static void test_yaml_cap_is_configurable(void **state)
{
	const char *text = "a: &a [1, 2, 3]\nb: [*a, *a, *a]\n";
	struct compose_ydoc *d = NULL;
	struct lo2_err err = {0};

	assert_int_equal(compose_yaml_parse(text, strlen(text), "t.yml", 10, &d, &err), -1);
	assert_string_equal(err.msg, "t.yml:2:4: document expands to more than 10 nodes (aliases nested too "
	                             "deeply?); refusing it");
}

static void test_yaml_depth_cap(void **state)
{
	char text[1024];
	struct compose_ydoc *d = NULL;
	struct lo2_err err = {0};

	memset(text, '[', 300);
	text[300] = '\0';
	assert_int_equal(compose_yaml_parse(text, strlen(text), "t.yml", 0, &d, &err), -1);
	assert_string_equal(err.msg, "t.yml:1:201: nesting deeper than 200 levels");
}

/* ---- interpolation ---- */

static void test_interpolate(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"plain", "plain"},
	    {"$A", "a"},
	    {"${A}", "a"},
	    {"x${A}y$A", "xaya"},
	    {"$$A", "$A"},
	    {"$${A}", "${A}"},
	    {"${UNSET:-def}", "def"},
	    {"${EMPTY:-def}", "def"},
	    {"${EMPTY-def}", ""},
	    {"${UNSET-def}", "def"},
	    {"${A:-def}", "a"},
	    {"${A:+alt}", "alt"},
	    {"${EMPTY:+alt}", ""},
	    {"${EMPTY+alt}", "alt"},
	    {"${UNSET+alt}", ""},
	    {"${UNSET:-${B:-x}}", "b"},
	    {"${UNSET:-${UNSET2:-deep $A}}", "deep a"},
	    {"${UNSET:-a}b}", "ab}"},
	    {"${A:?must}", "a"},
	    {"cost: $$5", "cost: $5"},
	    {"$UNSET.txt", ".txt"},
	};
	struct lo2_kvv env = {0};
	struct lo2_err err = {0};

	lo2_kvv_set(&env, "A", "a");
	lo2_kvv_set(&env, "B", "b");
	lo2_kvv_set(&env, "EMPTY", "");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;

		if (compose_interpolate(cases[i].in, &env, &out, NULL, &err) < 0)
			fail_msg("%s: %s", cases[i].in, err.msg);
		if (strcmp(out, cases[i].out) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].in, out, cases[i].out);
		free(out);
	}
	lo2_kvv_free(&env);
}

static void test_interpolate_errors(void **state)
{
	static const struct {
		const char *in, *msg;
	} cases[] = {
	    {"${UNSET:?need it}", "required variable UNSET is missing a value: need it"},
	    {"${EMPTY:?}", "required variable EMPTY is missing a value"},
	    {"${UNSET?x $A}", "required variable UNSET is missing a value: x a"},
	    {"echo $1", "invalid interpolation format \"echo $1\" (write $$ for a literal $)"},
	    {"${A", "invalid interpolation format \"${A\" (write $$ for a literal $)"},
	    {"${}", "invalid interpolation format \"${}\" (write $$ for a literal $)"},
	    {"${A/x}", "invalid interpolation format \"${A/x}\" (write $$ for a literal $)"},
	    {"trailing $", "invalid interpolation format \"trailing $\" (write $$ for a literal $)"},
	};
	struct lo2_kvv env = {0};

	lo2_kvv_set(&env, "A", "a");
	lo2_kvv_set(&env, "EMPTY", "");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lo2_err err = {0};
		char *out = NULL;

		if (compose_interpolate(cases[i].in, &env, &out, NULL, &err) == 0)
			fail_msg("%s: no error, got \"%s\"", cases[i].in, out);
		assert_string_equal(err.msg, cases[i].msg);
	}
	lo2_kvv_free(&env);
}

static void test_interpolate_unset_listed(void **state)
{
	struct lo2_strv unset = {0};
	struct lo2_err err = {0};
	char *out = NULL;

	assert_int_equal(compose_interpolate("$X ${Y} ${X} ${Z:-d}", NULL, &out, &unset, &err), 0);
	assert_string_equal(out, "   d");
	assert_int_equal(unset.n, 2);
	assert_string_equal(unset.v[0], "X");
	assert_string_equal(unset.v[1], "Y");
	free(out);
	lo2_strv_free(&unset);
}

/* ---- value parsers ---- */

static void test_shell_split(void **state)
{
	struct lo2_strv v = {0};
	struct lo2_err err = {0};

	assert_int_equal(compose_shell_split("sh -c 'echo \"a b\"' \"x\\\"y\" a\\ b ''", &v, &err), 0);
	assert_int_equal(v.n, 6);
	assert_string_equal(v.v[0], "sh");
	assert_string_equal(v.v[1], "-c");
	assert_string_equal(v.v[2], "echo \"a b\"");
	assert_string_equal(v.v[3], "x\"y");
	assert_string_equal(v.v[4], "a b");
	assert_string_equal(v.v[5], "");
	lo2_strv_free(&v);
	assert_int_equal(compose_shell_split("echo 'open", &v, &err), -1);
	assert_string_equal(err.msg, "unterminated quote in \"echo 'open\"");
	lo2_strv_free(&v);
}

static void test_durations(void **state)
{
	static const struct {
		const char *in;
		int64_t ns;
		const char *out;
	} cases[] = {
	    {"1m30s", 90000000000LL, "1m30s"},   {"10s", 10000000000LL, "10s"},
	    {"500ms", 500000000LL, "500ms"},     {"1.5s", 1500000000LL, "1.5s"},
	    {"2h", 7200000000000LL, "2h0m0s"},   {"0", 0, "0s"},
	    {"1us", 1000, "1\xc2\xb5s"},         {"250ns", 250, "250ns"},
	    {"1d", 86400000000000LL, "24h0m0s"},
	};
	struct lo2_err err = {0};
	char buf[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ns = -1;

		assert_int_equal(compose_parse_duration(cases[i].in, &ns, &err), 0);
		assert_int_equal(ns, cases[i].ns);
		compose_format_duration(ns, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].out);
	}
	assert_int_equal(compose_parse_duration("10", &(int64_t){0}, &err), -1);
	assert_int_equal(compose_parse_duration("1x", &(int64_t){0}, &err), -1);
	assert_int_equal(compose_parse_duration("", &(int64_t){0}, &err), -1);
}

static void test_sizes(void **state)
{
	struct lo2_err err = {0};
	int64_t b = 0;

	assert_int_equal(compose_parse_size("64m", &b, &err), 0);
	assert_int_equal(b, 64LL << 20);
	assert_int_equal(compose_parse_size("1gb", &b, &err), 0);
	assert_int_equal(b, 1LL << 30);
	assert_int_equal(compose_parse_size("1024", &b, &err), 0);
	assert_int_equal(b, 1024);
	assert_int_equal(compose_parse_size("2KiB", &b, &err), 0);
	assert_int_equal(b, 2048);
	assert_int_equal(compose_parse_size("lots", &b, &err), -1);
}

static void test_dotenv(void **state)
{
	const char *text =
	    "# c\nA=1\nexport B=\"x ${A} \\\"q\\\"\"\nC='lit ${A}'\nD=plain # comment\nE\n  F = spaced \n"
	    "M=\"two\nlines\"\n";
	struct lo2_kvv look = {0}, kv = {0};
	struct lo2_err err = {0};

	lo2_kvv_set(&look, "E", "from-env");
	assert_int_equal(compose_dotenv_parse(text, "t.env", &look, &kv, &err), 0);
	assert_string_equal(lo2_kvv_get(&kv, "A"), "1");
	assert_string_equal(lo2_kvv_get(&kv, "B"), "x 1 \"q\"");
	assert_string_equal(lo2_kvv_get(&kv, "C"), "lit ${A}");
	assert_string_equal(lo2_kvv_get(&kv, "D"), "plain");
	assert_string_equal(lo2_kvv_get(&kv, "E"), "from-env");
	assert_string_equal(lo2_kvv_get(&kv, "F"), "spaced");
	assert_string_equal(lo2_kvv_get(&kv, "M"), "two\nlines");
	lo2_kvv_free(&kv);
	assert_int_equal(compose_dotenv_parse("X=\"open\n", "t.env", NULL, &kv, &err), -1);
	assert_string_equal(err.msg, "t.env:1: unterminated quoted value");
	lo2_kvv_free(&kv);
	lo2_kvv_free(&look);
}

static void test_paths_and_names(void **state)
{
	char *p = compose_path_resolve("/a/b", "./c/../d/./e");

	assert_string_equal(p, "/a/b/d/e");
	free(p);
	p = compose_path_resolve("/a/b", "../../../x");
	assert_string_equal(p, "/x");
	free(p);
	p = compose_path_resolve("/a", "/abs//y/");
	assert_string_equal(p, "/abs/y");
	free(p);
	p = compose_normalize_name("-_My.Project 2");
	assert_string_equal(p, "myproject2");
	free(p);
	assert_true(compose_name_is_valid("lo2-test_1"));
	assert_false(compose_name_is_valid("Upper"));
	assert_false(compose_name_is_valid("-lead"));
}

/* ---- the full fixture: every key in every syntax ---- */

static struct compose_project *load_full(void)
{
	setenv("FROM_SHELL", "shell-value", 1);
	setenv("OVERRIDDEN", "from-shell", 1);
	unsetenv("GREETING");
	unsetenv("COMPOSE_PROJECT_NAME");
	return load_ok("full/compose.yml");
}

static void test_full_scalars(void **state)
{
	struct compose_project *p = load_full();
	const struct compose_service *web = svc(p, "web");

	assert_string_equal(p->name, "full_stack");
	assert_int_equal(p->n_services, 4);
	assert_string_equal(web->image, "busybox:1.36");
	assert_string_equal(web->container_name, "full-web");
	assert_string_equal(web->container, "full-web");
	assert_string_equal(web->restart, "unless-stopped"); /* from the merge key */
	assert_string_equal(web->user, "1000:1000");
	assert_string_equal(web->working_dir, "/www");
	assert_string_equal(web->hostname, "web-host");
	assert_string_equal(web->stop_signal, "SIGINT");
	assert_int_equal(web->stop_grace_period_ns, 60000000000LL);
	assert_true(web->tty);
	assert_true(web->stdin_open);
	assert_false(web->privileged);
	assert_string_equal(web->cap_add.v[0], "NET_ADMIN");
	assert_string_equal(web->cap_drop.v[0], "MKNOD");
	assert_string_equal(web->extra_hosts.v[0], "host.docker.internal:host-gateway");
	assert_string_equal(web->extra_hosts.v[1], "other:10.0.0.1");
	assert_string_equal(lo2_kvv_get(&web->labels, "com.example.role"), "web");
	assert_false(lo2_kvv_has(&web->labels, "tier")); /* explicit labels replace the merged ones */
	assert_string_equal(svc(p, "db")->restart, "on-failure:3");
	assert_string_equal(svc(p, "init")->restart, "no");
	compose_project_free(p);
}

static void test_full_command_env(void **state)
{
	struct compose_project *p = load_full();
	const struct compose_service *web = svc(p, "web"), *db = svc(p, "db"), *init = svc(p, "init");

	assert_true(web->command_set);
	assert_int_equal(web->command.n, 6);
	assert_string_equal(web->command.v[3], "8080");
	assert_string_equal(web->command.v[5], "/www dir");
	assert_string_equal(web->entrypoint.v[1], "-c");
	assert_string_equal(db->command.v[1], "3600");
	assert_string_equal(init->command.v[1], "hello world");
	assert_string_equal(init->command.v[2], "$HOME");
	assert_string_equal(lo2_kvv_get(&web->environment, "PLAIN"), "value");
	assert_string_equal(lo2_kvv_get(&web->environment, "NUMBER"), "1");
	assert_string_equal(lo2_kvv_get(&web->environment, "BOOL"), "true");
	assert_string_equal(lo2_kvv_get(&web->environment, "FROM_SHELL"), "shell-value");
	assert_string_equal(lo2_kvv_get(&web->environment, "EMPTY_STR"), "");
	assert_string_equal(lo2_kvv_get(&web->environment, "APP_MODE"), "production"); /* env_file */
	assert_string_equal(lo2_kvv_get(&web->environment, "SHARED"), "from-environment");
	assert_string_equal(lo2_kvv_get(&db->environment, "LIST_FORM"), "a=b");
	assert_string_equal(lo2_kvv_get(&db->environment, "FROM_DOTENV"), "dotenv-value");
	assert_true(lo2_kvv_has(&db->environment, "UNSET_ANYWHERE"));
	assert_null(lo2_kvv_get(&db->environment, "UNSET_ANYWHERE"));
	assert_string_equal(lo2_kvv_get(&db->labels, "list.label"), "yes");
	compose_project_free(p);
}

static void test_full_ports(void **state)
{
	struct compose_project *p = load_full();
	const struct compose_service *web = svc(p, "web");
	static const struct {
		const char *ip, *pub;
		int target;
		const char *proto;
	} want[] = {
	    {"", "", 8080, "tcp"},        {"", "8081", 80, "tcp"},   {"127.0.0.1", "8082", 81, "udp"},
	    {"::1", "8083", 82, "tcp"},   {"", "9000", 3000, "tcp"}, {"", "9001", 3001, "tcp"},
	    {"", "8000-8010", 83, "tcp"}, {"", "6831", 6831, "udp"}, {"0.0.0.0", "9090", 90, "tcp"},
	};

	assert_int_equal(web->n_ports, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < web->n_ports; i++) {
		assert_string_equal(web->ports[i].host_ip, want[i].ip);
		assert_string_equal(web->ports[i].published, want[i].pub);
		assert_int_equal(web->ports[i].target, want[i].target);
		assert_string_equal(web->ports[i].protocol, want[i].proto);
	}
	assert_string_equal(web->ports[8].mode, "host");
	assert_string_equal(web->expose.v[1], "7001/udp");
	compose_project_free(p);
}

static void test_full_volumes(void **state)
{
	struct compose_project *p = load_full();
	const struct compose_service *web = svc(p, "web");
	const struct compose_mount *m = web->mounts;
	char *dir = xasprintf("%s/full", FIX);
	char *want;

	assert_int_equal(web->n_mounts, 8);
	want = xasprintf("%s/data", dir);
	assert_string_equal(m[0].type, "bind");
	assert_string_equal(m[0].source, want);
	assert_string_equal(m[0].target, "/data");
	free(want);
	want = xasprintf("%s/shared/conf", FIX);
	assert_string_equal(m[1].source, want);
	assert_true(m[1].read_only);
	free(want);
	assert_string_equal(m[2].source, "/abs/path");
	assert_string_equal(m[2].selinux, "z");
	assert_false(m[2].read_only);
	assert_string_equal(m[3].type, "volume");
	assert_string_equal(m[3].source, "dbdata");
	assert_string_equal(m[4].type, "volume");
	assert_null(m[4].source);
	assert_string_equal(m[4].target, "/anon");
	assert_true(m[5].long_syntax);
	assert_true(m[5].read_only);
	assert_true(m[5].create_host_path);
	assert_true(m[6].nocopy);
	assert_string_equal(m[7].type, "tmpfs");
	assert_int_equal(m[7].tmpfs_size, 64LL << 20);
	free(dir);
	compose_project_free(p);
}

static void test_full_networks_deps(void **state)
{
	struct compose_project *p = load_full();
	const struct compose_service *web = svc(p, "web"), *builder = svc(p, "builder");

	assert_int_equal(web->n_networks, 2);
	assert_string_equal(web->networks[0].key, "back");
	assert_string_equal(web->networks[1].key, "front");
	assert_string_equal(web->networks[1].aliases.v[0], "www");
	assert_int_equal(web->n_deps, 2);
	assert_string_equal(web->deps[0].service, "db");
	assert_string_equal(web->deps[0].condition, "service_healthy");
	assert_string_equal(web->deps[1].condition, "service_completed_successfully");
	assert_string_equal(web->links.v[0], "db:database");
	assert_string_equal(svc(p, "init")->network_mode, "none");
	assert_int_equal(svc(p, "init")->n_networks, 0);
	assert_string_equal(builder->networks[0].key, "default");
	assert_true(builder->has_build);
	assert_string_equal(builder->build.dockerfile, "Dockerfile.alt");
	assert_string_equal(lo2_kvv_get(&builder->build.args, "VERSION"), "1.36");
	assert_int_equal(p->n_networks, 4);
	assert_string_equal(p->networks[0].name, "full_stack_front");
	assert_string_equal(lo2_kvv_get(&p->networks[0].labels, "purpose"), "frontend");
	assert_string_equal(p->networks[1].name, "custom-back");
	assert_true(p->networks[2].external);
	assert_string_equal(p->networks[2].name, "outside");
	assert_false(p->networks[2].used);
	assert_string_equal(p->networks[3].name, "full_stack_default");
	assert_string_equal(p->volumes[0].name, "full_stack_dbdata");
	assert_string_equal(p->volumes[1].name, "real-ext");
	assert_true(p->volumes[1].external);
	compose_project_free(p);
}

static void test_full_logging_health(void **state)
{
	struct compose_project *p = load_full();
	const struct compose_service *web = svc(p, "web"), *init = svc(p, "init");

	assert_string_equal(web->log_driver, "gelf");
	assert_string_equal(lo2_kvv_get(&web->log_opts, "gelf-address"), "udp://localhost:12201");
	assert_string_equal(web->healthcheck.test.v[0], "CMD-SHELL");
	assert_int_equal(web->healthcheck.interval_ns, 90000000000LL);
	assert_int_equal(web->healthcheck.timeout_ns, 500000000LL);
	assert_int_equal(web->healthcheck.start_period_ns, 2000000000LL);
	assert_int_equal(web->healthcheck.retries, 3);
	assert_true(compose_service_has_healthcheck(web));
	assert_false(compose_service_has_healthcheck(init));
	assert_int_equal(web->n_ulimits, 2);
	assert_int_equal(web->ulimits[0].soft, 20000);
	assert_int_equal(web->ulimits[0].hard, 40000);
	assert_int_equal(web->ulimits[1].soft, 65535);
	assert_int_equal(web->ulimits[1].hard, 65535);
	compose_project_free(p);
}

static void test_full_plan(void **state)
{
	struct compose_project *p = load_full();
	const struct compose_service *web = svc(p, "web"), *db = svc(p, "db");
	char *cfg = xasprintf("%s/full/compose.yml", FIX);

	assert_int_equal(p->n_waves, 2);
	assert_int_equal(db->wave, 0);
	assert_int_equal(svc(p, "init")->wave, 0);
	assert_int_equal(web->wave, 1);
	assert_int_equal(svc(p, "builder")->wave, 1);
	assert_string_equal(db->container, "full_stack-db-1");
	assert_string_equal(lo2_kvv_get(&web->plan_labels, "com.docker.compose.project"), "full_stack");
	assert_string_equal(lo2_kvv_get(&web->plan_labels, "com.docker.compose.service"), "web");
	assert_string_equal(lo2_kvv_get(&web->plan_labels, "com.docker.compose.container-number"), "1");
	assert_string_equal(lo2_kvv_get(&web->plan_labels, "com.docker.compose.oneoff"), "False");
	assert_string_equal(lo2_kvv_get(&web->plan_labels, "com.docker.compose.project.config_files"), cfg);
	assert_string_equal(lo2_kvv_get(&web->plan_labels, "com.docker.compose.version"), LO2_VERSION);
	assert_string_equal(lo2_kvv_get(&web->plan_labels, "com.docker.compose.depends_on"),
	                    "db:service_healthy:false,init:service_completed_successfully:false");
	assert_string_equal(lo2_kvv_get(&web->plan_labels, "com.example.role"), "web");
	assert_int_equal(strlen(web->config_hash), 64);
	assert_string_equal(lo2_kvv_get(&web->plan_labels, "com.docker.compose.config-hash"),
	                    web->config_hash);
	assert_string_not_equal(web->config_hash, db->config_hash);
	free(cfg);
	compose_project_free(p);
}

static void test_hash_is_stable_and_sensitive(void **state)
{
	const char *a = "services:\n  s:\n    image: busybox\n    command: [a]\n    depends_on: []\n";
	const char *b = "services:\n  s:\n    command: [a]\n    image: busybox\n";
	const char *c = "services:\n  s:\n    image: busybox\n    command: [b]\n";
	struct compose_load_opts o = {
	    .file = "/tmp/h/compose.yml", .project_name = "h", .env = &(struct lo2_kvv){0}};
	struct compose_project *pa = NULL, *pb = NULL, *pc = NULL;
	struct lo2_err err = {0};

	assert_int_equal(compose_load_text(a, strlen(a), &o, &pa, NULL, &err), 0);
	assert_int_equal(compose_load_text(b, strlen(b), &o, &pb, NULL, &err), 0);
	assert_int_equal(compose_load_text(c, strlen(c), &o, &pc, NULL, &err), 0);
	assert_int_equal(compose_plan(pa, &err), 0);
	assert_int_equal(compose_plan(pb, &err), 0);
	assert_int_equal(compose_plan(pc, &err), 0);
	assert_string_equal(pa->services[0].config_hash, pb->services[0].config_hash);
	assert_string_not_equal(pa->services[0].config_hash, pc->services[0].config_hash);
	compose_project_free(pa);
	compose_project_free(pb);
	compose_project_free(pc);
}

static const char *spec_bind(const struct engine_container_spec *s, const char *target)
{
	for (size_t i = 0; i < s->binds.n; i++) {
		const char *colon = strchr(s->binds.v[i], ':');

		if (colon && strncmp(colon + 1, target, strlen(target)) == 0 &&
		    colon[1 + strlen(target)] == ':')
			return s->binds.v[i];
	}
	return NULL;
}

static void test_full_spec(void **state)
{
	struct compose_project *p = load_full();
	const struct compose_service *web = svc(p, "web");
	struct engine_container_spec s = {0};
	struct lo2_err err = {0};
	char *want = xasprintf("%s/full/data:/data:rw", FIX);

	assert_int_equal(compose_service_spec(p, web, &s, &err), 0);
	assert_string_equal(s.name, "full-web");
	assert_string_equal(s.image, "busybox:1.36");
	assert_true(s.cmd_set);
	assert_true(lo2_strv_contains(&s.env, "PLAIN=value"));
	assert_string_equal(spec_bind(&s, "/data"), want);
	assert_string_equal(spec_bind(&s, "/abs"), "/abs/path:/abs:rw,z");
	assert_string_equal(spec_bind(&s, "/var/lib/db"), "full_stack_dbdata:/var/lib/db:rw");
	assert_string_equal(spec_bind(&s, "/vol"), "full_stack_dbdata:/vol:rw,nocopy");
	assert_int_equal(s.n_mounts, 2);
	assert_string_equal(s.mounts[0].type, "volume");
	assert_string_equal(s.mounts[0].target, "/anon");
	assert_string_equal(s.mounts[1].type, "tmpfs");
	assert_int_equal(s.mounts[1].tmpfs_size, 64LL << 20);
	assert_int_equal(s.n_ports, 9);
	assert_string_equal(s.ports[2].container_port, "81/udp");
	assert_string_equal(s.ports[2].host_ip, "127.0.0.1");
	assert_string_equal(s.ports[2].host_port, "8082");
	assert_true(lo2_strv_contains(&s.exposed_ports, "6831/udp"));
	assert_true(lo2_strv_contains(&s.exposed_ports, "7000/tcp"));
	assert_string_equal(s.network_mode, "custom-back");
	assert_int_equal(s.n_networks, 2);
	assert_string_equal(s.networks[1].network, "full_stack_front");
	assert_string_equal(s.networks[1].aliases.v[0], "full-web");
	assert_string_equal(s.networks[1].aliases.v[1], "web");
	assert_string_equal(s.networks[1].aliases.v[2], "www");
	assert_string_equal(s.links.v[0], "full_stack-db-1:database");
	assert_true(s.healthcheck.set);
	assert_int_equal(s.healthcheck.interval_ns, 90000000000LL);
	assert_string_equal(s.restart_policy, "unless-stopped");
	assert_string_equal(s.log_driver, "gelf");
	assert_int_equal(s.stop_timeout, 60);
	assert_int_equal(s.n_ulimits, 2);
	assert_string_equal(lo2_kvv_get(&s.labels, "com.docker.compose.service"), "web");
	engine_container_spec_free(&s);
	free(want);
	compose_project_free(p);
}

static void test_spec_restart_and_mode(void **state)
{
	struct compose_project *p = load_full();
	struct engine_container_spec s = {0};
	struct lo2_err err = {0};

	assert_int_equal(compose_service_spec(p, svc(p, "db"), &s, &err), 0);
	assert_string_equal(s.restart_policy, "on-failure");
	assert_int_equal(s.restart_max_retries, 3);
	assert_true(lo2_strv_contains(&s.env, "UNSET_ANYWHERE"));
	assert_int_equal(s.stop_timeout, -1);
	engine_container_spec_free(&s);
	assert_int_equal(compose_service_spec(p, svc(p, "init"), &s, &err), 0);
	assert_string_equal(s.network_mode, "none");
	assert_int_equal(s.n_networks, 0);
	assert_string_equal(s.healthcheck.test.v[0], "NONE");
	engine_container_spec_free(&s);
	assert_int_equal(compose_service_spec(p, svc(p, "builder"), &s, &err), 0);
	assert_string_equal(s.image, "full_stack-builder");
	engine_container_spec_free(&s);
	compose_project_free(p);
}

static void test_full_config_json(void **state)
{
	struct compose_project *p = load_full();
	char *json = compose_project_json(p, NULL);

	assert_non_null(strstr(json, "\"name\":\"full_stack\""));
	assert_non_null(strstr(json, "\"interval\":\"1m30s\""));
	assert_non_null(strstr(json, "\"published\":\"8000-8010\""));
	assert_non_null(strstr(json, "\"UNSET_ANYWHERE\":null"));
	free(json);
	compose_project_free(p);
}

/* ---- the LO2 reference file ---- */

static void test_lo2_reference(void **state)
{
	struct compose_project *p = load_ok("lo2/docker-compose-oauth2-mysql.yml");
	const struct compose_service *code = svc(p, "oauth2-code"), *ne = svc(p, "node_exporter");
	const struct compose_service *jaeger = svc(p, "jaeger");
	char *bind = xasprintf("%s/lo2/light-oauth2/mysql/config/oauth2-code", FIX);
	struct engine_container_spec s = {0};
	struct lo2_err err = {0};

	assert_int_equal(p->n_services, 12);
	assert_string_equal(p->name, "lo2");
	assert_int_equal(p->n_networks, 2); /* localnet, and default for the three monitors */
	assert_string_equal(p->networks[0].key, "localnet");
	assert_true(p->networks[0].external);
	assert_string_equal(p->networks[0].name, "localnet");
	assert_string_equal(code->log_driver, "gelf");
	assert_string_equal(lo2_kvv_get(&code->log_opts, "gelf-address"), "udp://localhost:12201");
	assert_string_equal(lo2_kvv_get(&code->log_opts, "tag"), "oauth2-code");
	assert_string_equal(lo2_kvv_get(&code->log_opts, "env"), "dev");
	assert_string_equal(code->mounts[0].source, bind);
	assert_string_equal(jaeger->container, "jaeger-container");
	assert_string_equal(jaeger->ports[0].protocol, "udp");
	assert_int_equal(jaeger->ports[0].target, 6831);
	assert_string_equal(ne->command.v[3],
	                    "--collector.filesystem.ignored-mount-points=^/(sys|proc|dev|host|etc)($|/)");
	assert_string_equal(svc(p, "cadvisor")->mounts[0].source, "/");
	assert_true(svc(p, "cadvisor")->mounts[0].read_only);
	assert_int_equal(p->n_waves, 2);
	assert_int_equal(code->wave, 1);
	assert_int_equal(compose_service_spec(p, jaeger, &s, &err), 0);
	assert_string_equal(s.ports[0].container_port, "6831/udp");
	assert_string_equal(s.network_mode, "localnet");
	engine_container_spec_free(&s);
	free(bind);
	compose_project_free(p);
}

/* ---- project names ---- */

static void test_project_name(void **state)
{
	struct compose_project *p = NULL;
	struct lo2_err err = {0};

	unsetenv("COMPOSE_PROJECT_NAME");
	assert_int_equal(load("full/compose.yml", "given", &p, NULL, &err), 0);
	assert_string_equal(p->name, "given");
	compose_project_free(p);
	setenv("COMPOSE_PROJECT_NAME", "from-env", 1);
	assert_int_equal(load("full/compose.yml", NULL, &p, NULL, &err), 0);
	assert_string_equal(p->name, "from-env");
	compose_project_free(p);
	unsetenv("COMPOSE_PROJECT_NAME");
	assert_int_equal(load("misc/warnings.yml", "Bad Name", &p, NULL, &err), -1);
	assert_string_equal(err.msg,
	                    "invalid project name \"Bad Name\": use lowercase letters, digits, '-' and '_', "
	                    "starting with a letter or digit");
	assert_int_equal(load("misc/warnings.yml", NULL, &p, NULL, &err), 0);
	assert_string_equal(p->name, "misc"); /* the folder */
	compose_project_free(p);
}

/* ---- warnings ---- */

static void test_warnings(void **state)
{
	struct compose_project *p = NULL;
	struct lo2_strv w = {0};
	struct lo2_err err = {0};

	unsetenv("LO2_TEST_NOT_SET");
	assert_int_equal(load("misc/warnings.yml", NULL, &p, &w, &err), 0);
	assert_int_equal(w.n, 3); /* secrets: {} is read now */
	assert_string_equal(w.v[0], "misc/warnings.yml:6:5: services.web: unknown key \"imagee\" ignored");
	assert_string_equal(
	    w.v[1], "misc/warnings.yml:5:12: variable \"LO2_TEST_NOT_SET\" is not set; substituting a "
	            "blank string");
	assert_string_equal(w.v[2],
	                    "misc/warnings.yml:10:7: services.web.logging: unknown key \"drivr\" ignored");
	assert_string_equal(svc(p, "web")->image, "busybox:");
	compose_project_free(p);
	lo2_strv_free(&w);
}

/* ---- errors: every one with its exact message ---- */

static void test_errors(void **state)
{
	static const struct {
		const char *file, *msg;
	} cases[] = {
	    {"bad_port", "errors/bad_port.yml:6:9: services.web.ports: invalid port \"99999:80\": bad host "
	                 "port \"99999\""},
	    {"bad_port_range",
	     "errors/bad_port_range.yml:5:9: services.web.ports: invalid port \"9000-9002:3000-3001\": "
	     "host and container port ranges differ in length"},
	    {"bad_protocol",
	     "errors/bad_protocol.yml:5:9: services.web.ports: invalid port \"53:53/icmp\": protocol must "
	     "be tcp, udp or sctp"},
	    {"unknown_dep",
	     "errors/unknown_dep.yml:5:9: services.web.depends_on: service \"db\" is not defined"},
	    {"cycle", "errors/cycle.yml:12:18: services.c.depends_on: dependency cycle: a -> b -> c -> a"},
	    {"undefined_network",
	     "errors/undefined_network.yml:5:9: services.web.networks: network \"front\" is not "
	     "declared under the top-level networks key"},
	    {"undefined_volume",
	     "errors/undefined_volume.yml:5:9: services.web.volumes: volume \"data\" is not declared "
	     "under the top-level volumes key"},
	    {"wrong_type", "errors/wrong_type.yml:4:12: services.web.ports: expected a list, got a string"},
	    {"bad_bool",
	     "errors/bad_bool.yml:4:17: services.web.privileged: expected true or false, got \"maybe\""},
	    {"bad_duration",
	     "errors/bad_duration.yml:6:17: services.web.healthcheck: invalid duration \"10 seconds\" "
	     "(expected e.g. 30s, 1m30s, 500ms)"},
	    {"bad_condition",
	     "errors/bad_condition.yml:8:20: services.web.depends_on: condition must be service_started, "
	     "service_healthy or service_completed_successfully, not \"service_ready\""},
	    {"required_var",
	     "errors/required_var.yml:3:12: services.web.image: required variable LO2_TEST_UNSET_TAG is "
	     "missing a value: set the tag"},
	    {"bad_interp",
	     "errors/bad_interp.yml:4:14: services.web.command: invalid interpolation format \"echo $1\" "
	     "(write $$ for a literal $)"},
	    {"no_image", "errors/no_image.yml:2:3: services.web: expected an image: or a build: key"},
	    {"bad_yaml",
	     "errors/bad_yaml.yml:4:4: invalid YAML: did not find expected key while parsing a block "
	     "mapping"},
	    {"dup_key", "errors/dup_key.yml:4:5: duplicate key \"image\" (first defined at line 3)"},
	    {"bad_restart",
	     "errors/bad_restart.yml:4:14: services.web.restart: expected no, always, unless-stopped or "
	     "on-failure[:N], got \"sometimes\""},
	    {"bad_healthcheck_test",
	     "errors/bad_healthcheck_test.yml:5:13: services.web.healthcheck: test must start "
	     "with CMD, CMD-SHELL or NONE"},
	    {"relative_target",
	     "errors/relative_target.yml:5:9: services.web.volumes: invalid volume \"./data:data\": "
	     "the target must be an absolute path"},
	    {"unknown_anchor",
	     "errors/unknown_anchor.yml:2:8: unknown anchor \"nothing\" (an alias must follow its "
	     "anchor)"},
	    {"no_services", "errors/no_services.yml: no services defined (expected a services: mapping)"},
	    {"empty", "errors/empty.yml: empty compose file"},
	    {"bad_service_name",
	     "errors/bad_service_name.yml:2:3: services: invalid service name \"we b\" (letters, "
	     "digits, '_', '.', '-')"},
	    {"dup_container_name",
	     "errors/dup_container_name.yml:7:21: services.b.container_name: container name "
	     "\"same\" is already used by service a"},
	    {"bad_network_mode",
	     "errors/bad_network_mode.yml:4:19: services.web.network_mode: service \"nope\" is not "
	     "defined"},
	};

	unsetenv("LO2_TEST_UNSET_TAG");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *rel = xasprintf("errors/%s.yml", cases[i].file);
		struct compose_project *p = NULL;
		struct lo2_err err = {0};

		if (load(rel, NULL, &p, NULL, &err) == 0)
			fail_msg("%s: loaded without error", rel);
		assert_string_equal(err.msg, cases[i].msg);
		assert_null(p);
		free(rel);
	}
}

static void test_missing_env_file(void **state)
{
	struct compose_project *p = NULL;
	struct lo2_err err = {0};
	char *want = xasprintf("errors/missing_env_file.yml:4:15: services.web.env_file: env file "
	                       "%s/errors/does-not-exist.env not found",
	                       FIX);

	assert_int_equal(load("errors/missing_env_file.yml", NULL, &p, NULL, &err), -1);
	assert_string_equal(err.msg, want);
	free(want);
}

static void test_missing_file(void **state)
{
	struct compose_project *p = NULL;
	struct lo2_err err = {0};

	assert_int_equal(load("errors/nope.yml", NULL, &p, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "load compose file"));
	assert_non_null(strstr(err.msg, "nope.yml"));
}

/* ---- extends, include, profiles, deploy, strictness (issue 16) ---- */

static struct compose_project *load_opts_ok(const char *rel, const struct compose_load_opts *extra)
{
	struct compose_load_opts o = *extra;
	struct compose_project *p = NULL;
	struct lo2_err err = {0};

	o.file = rel;
	assert_int_equal(chdir(FIX), 0);
	if (compose_load(&o, &p, NULL, &err) < 0)
		fail_msg("load %s: %s", rel, err.msg);
	if (compose_plan(p, &err) < 0)
		fail_msg("plan %s: %s", rel, err.msg);
	return p;
}

static void test_extends_merge(void **state)
{
	struct compose_project *p = load_ok("keys/extends.yml");
	const struct compose_service *web = svc(p, "web"), *remote = svc(p, "remote");
	char *logs = xasprintf("%s/keys/other", FIX);
	char *cfg = xasprintf("%s/keys/other/cfg", FIX);
	char *ctx = xasprintf("%s/keys/other/ctx", FIX);

	/* command replaced, environment and labels merged by key (list and mapping forms) */
	assert_int_equal(web->command.n, 2);
	assert_string_equal(web->command.v[1], "2");
	assert_string_equal(lo2_kvv_get(&web->environment, "A"), "1");
	assert_string_equal(lo2_kvv_get(&web->environment, "B"), "3");
	assert_string_equal(lo2_kvv_get(&web->environment, "C"), "4");
	assert_string_equal(lo2_kvv_get(&web->labels, "x"), "1");
	assert_string_equal(lo2_kvv_get(&web->labels, "y"), "20");
	/* sequences concatenated without duplicates; volumes unique by target, local wins */
	assert_int_equal(web->n_ports, 2);
	assert_int_equal(web->cap_add.n, 2);
	assert_int_equal(web->n_mounts, 2);
	assert_string_equal(web->mounts[1].target, "/logs");
	assert_string_equal(web->mounts[1].source, logs);
	assert_false(web->mounts[1].read_only);
	/* healthcheck merged as a mapping */
	assert_int_equal(web->healthcheck.retries, 3);
	assert_int_equal(web->healthcheck.interval_ns, 10000000000LL);
	/* another file, two levels: its relative paths anchored at its folder */
	assert_string_equal(remote->image, "busybox:1.36");
	assert_string_equal(lo2_kvv_get(&remote->environment, "FROM_FILE"), "1");
	assert_string_equal(lo2_kvv_get(&remote->environment, "SECOND"), "2");
	assert_string_equal(lo2_kvv_get(&remote->environment, "LOCAL"), "yes");
	assert_string_equal(remote->mounts[0].source, cfg);
	assert_string_equal(remote->build.context, ctx);
	free(logs);
	free(cfg);
	free(ctx);
	compose_project_free(p);
}

static void test_include(void **state)
{
	struct compose_project *p = load_ok("keys/include.yml");
	const struct compose_service *db = svc(p, "db");
	char *init = xasprintf("%s/keys/inc/init", FIX);

	assert_int_equal(p->n_services, 2);
	assert_string_equal(db->image, "busybox:1.36"); /* from inc/.env */
	assert_string_equal(db->mounts[0].source, init);
	assert_string_equal(db->container, "keys-db-1");
	assert_int_equal(svc(p, "app")->wave, 1);
	assert_int_equal(p->n_volumes, 1);
	assert_string_equal(p->volumes[0].name, "keys_dbdata");
	assert_string_equal(p->networks[0].name, "keys_back");
	free(init);
	compose_project_free(p);
}

static void test_include_options(void **state)
{
	struct compose_project *p = load_ok("keys/include_opts.yml");
	char *data = xasprintf("%s/keys/inc2/proj/data", FIX);

	assert_string_equal(svc(p, "db2")->image, "busybox:9.9"); /* env_file */
	assert_string_equal(svc(p, "db2")->mounts[0].source, data); /* project_directory */
	free(data);
	compose_project_free(p);
}

static void test_profiles(void **state)
{
	struct lo2_strv prof = {0}, named = {0};
	struct compose_load_opts o = {.profiles = &prof, .services = &named};
	struct compose_project *p;
	struct lo2_err err = {0};

	unsetenv("COMPOSE_PROFILES");
	p = load_opts_ok("keys/profiles.yml", &o);
	assert_int_equal(p->n_services, 1);
	assert_string_equal(p->services[0].name, "web");
	compose_project_free(p);
	/* debug alone: admin needs db, which only dev enables */
	lo2_strv_push(&prof, "debug");
	o.file = "keys/profiles.yml";
	p = NULL;
	assert_int_equal(compose_load(&o, &p, NULL, &err), -1);
	assert_string_equal(
	    err.msg, "keys/profiles.yml:14:18: services.admin.depends_on: service \"db\" is not enabled by "
	             "the active profiles (its profiles: dev); activate one with --profile or "
	             "COMPOSE_PROFILES");
	lo2_strv_push(&prof, "dev");
	p = load_opts_ok("keys/profiles.yml", &o);
	assert_int_equal(p->n_services, 4);
	assert_string_equal(svc(p, "debug")->profiles.v[0], "debug");
	compose_project_free(p);
	/* COMPOSE_PROFILES when no --profile; a named service activates its own */
	lo2_strv_free(&prof);
	setenv("COMPOSE_PROFILES", "dev", 1);
	lo2_strv_push(&named, "debug");
	p = load_opts_ok("keys/profiles.yml", &o);
	assert_int_equal(p->n_services, 4);
	compose_project_free(p);
	unsetenv("COMPOSE_PROFILES");
	lo2_strv_free(&named);
}

static void test_deploy_spec(void **state)
{
	struct compose_project *p = load_ok("keys/deploy.yml");
	struct engine_container_spec s = {0};
	struct lo2_err err = {0};
	char *json;

	assert_int_equal(compose_service_spec(p, svc(p, "web"), &s, &err), 0);
	assert_int_equal(s.nano_cpus, 500000000);
	assert_int_equal(s.memory, 64 << 20);
	assert_int_equal(s.memory_reservation, 32 << 20);
	assert_int_equal(s.pids_limit, 100);
	assert_string_equal(s.restart_policy, "on-failure");
	assert_int_equal(s.restart_max_retries, 3);
	engine_container_spec_free(&s);
	assert_int_equal(compose_service_spec(p, svc(p, "worker"), &s, &err), 0);
	assert_string_equal(s.restart_policy, "no"); /* deploy.restart_policy wins over restart: */
	assert_int_equal(s.nano_cpus, 1500000000);
	assert_int_equal(s.pids_limit, 50);
	assert_int_equal(s.memory_reservation, 16 << 20);
	assert_string_equal(s.dns_options.v[0], "ndots:2");
	assert_string_equal(s.group_add.v[0], "audio");
	engine_container_spec_free(&s);
	json = compose_project_json(p, NULL);
	assert_non_null(strstr(json,
	                       "\"deploy\":{\"resources\":{\"limits\":{\"cpus\":0.5,\"memory\":67108864,"
	                       "\"pids\":100},\"reservations\":{\"memory\":33554432}},\"replicas\":1,"
	                       "\"restart_policy\":{\"condition\":\"on-failure\",\"max_attempts\":3}}"));
	free(json);
	compose_project_free(p);
}

static void test_replicas(void **state)
{
	struct compose_project *p = load_ok("keys/replicas.yml");
	const struct compose_service *web = svc(p, "web");
	struct engine_container_spec s = {0};
	struct lo2_err err = {0};
	char *json;

	assert_int_equal(web->replicas, 3);
	assert_int_equal(svc(p, "worker")->replicas, 2); /* scale: */
	assert_int_equal(compose_service_replica_spec(p, web, 3, &s, &err), 0);
	assert_string_equal(s.name, "keys-web-3");
	assert_string_equal(lo2_kvv_get(&s.labels, "com.docker.compose.container-number"), "3");
	assert_string_equal(lo2_kvv_get(&s.labels, "com.docker.compose.service"), "web");
	assert_string_equal(s.networks[0].aliases.v[0], "keys-web-3");
	assert_string_equal(s.networks[0].aliases.v[1], "web");
	engine_container_spec_free(&s);
	json = compose_project_json(p, NULL);
	assert_non_null(strstr(json, "\"scale\":2"));
	free(json);
	compose_project_free(p);
}

static void test_secrets(void **state)
{
	struct compose_project *p;
	struct engine_container_spec s = {0};
	struct lo2_err err = {0};
	char *token = xasprintf("%s/keys/other/token.txt:/run/secrets/token:ro", FIX);
	char *dir, *api;

	setenv("LO2_TEST_API_KEY", "k3y", 1);
	p = load_ok("keys/secrets.yml");
	dir = compose_secrets_dir("keys");
	api = xasprintf("%s/svc-web/secret-api_key:/run/secrets/api:ro", dir);
	assert_int_equal(compose_service_spec(p, svc(p, "web"), &s, &err), 0);
	assert_true(lo2_strv_contains(&s.binds, token));
	assert_true(lo2_strv_contains(&s.binds, api));
	assert_int_equal(svc(p, "web")->secrets[1].mode, 0440);
	assert_string_equal(compose_secret_find(p, false, "api_key")->content, "k3y");
	assert_string_equal(compose_secret_find(p, true, "app_conf")->content, "debug=true\n");
	assert_string_equal(svc(p, "web")->secrets[2].target, "/app_conf");
	engine_container_spec_free(&s);
	compose_project_free(p);
	unsetenv("LO2_TEST_API_KEY");
	free(token);
	free(api);
	free(dir);
}

/* Each create-call key reaches the engine's create body. */
static void test_create_call_keys(void **state)
{
	struct compose_project *p = load_ok("keys/runtime.yml");
	struct engine_container_spec s = {0};
	struct lo2_err err = {0};
	static const char *const want[] = {
	    "\"Runtime\":\"runc\"",
	    "\"CgroupParent\":\"lo2.slice\"",
	    "\"UsernsMode\":\"host\"",
	    "\"VolumesFrom\":[\"keys-data-1:ro\",\"external-one\"]",
	    "\"StorageOpt\":{\"size\":\"1G\"}",
	    "\"PidMode\":\"host\"",
	    "\"IpcMode\":\"shareable\"",
	    "\"StopSignal\":\"SIGINT\"",
	    "\"StopTimeout\":3",
	    "\"Sysctls\":{\"net.core.somaxconn\":\"1024\"}",
	    "\"CpusetCpus\":\"0-1\"",
	    "\"CpuShares\":512",
	    "\"CpuQuota\":50000",
	    "\"CpuPeriod\":100000",
	    "\"MemorySwap\":-1",
	    "\"MemorySwappiness\":10",
	    "\"OomKillDisable\":true",
	    "\"OomScoreAdj\":500",
	    "\"Devices\":[{\"PathOnHost\":\"/dev/null\",\"PathInContainer\":\"/dev/"
	    "lo2null\",\"CgroupPermissions\":"
	    "\"r\"},{\"PathOnHost\":\"/dev/zero\",\"PathInContainer\":\"/dev/"
	    "lo2zero\",\"CgroupPermissions\":\"rwm\"}]",
	};
	char *body, *src = xasprintf("%s/keys/src:/src:rw", FIX);

	assert_int_equal(compose_service_spec(p, svc(p, "app"), &s, &err), 0);
	body = engine_container_spec_json(&s, 44);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(body, want[i]) == NULL)
			fail_msg("%s is not in the create body: %s", want[i], body);
	free(body);
	engine_container_spec_free(&s);
	assert_int_equal(compose_service_spec(p, svc(p, "data"), &s, &err), 0);
	assert_string_equal(s.binds.v[0], "/srv/shared:/shared:rw,z");
	assert_string_equal(s.binds.v[1], "keys_cache:/cache:rw,nocopy");
	assert_string_equal(s.binds.v[2], src); /* :cached is Docker Desktop's; dropped as v2 does */
	assert_string_equal(s.binds.v[3], "C:\\data:/win:ro"); /* a Windows path, as given */
	engine_container_spec_free(&s);
	assert_int_equal(svc(p, "app")->wave, 1); /* volumes_from: service is a dependency */
	free(src);
	compose_project_free(p);
}

static void test_build_keys(void **state)
{
	struct compose_project *p;
	const struct compose_build *b;
	struct compose_project *q = NULL;
	struct lo2_err err = {0};

	setenv("FROM_ENV", "e", 1);
	unsetenv("NOT_SET_ANYWHERE_LO2");
	p = load_ok("keys/build.yml");
	b = &svc(p, "web")->build;
	assert_string_equal(b->target, "base");
	assert_string_equal(b->network, "host");
	assert_int_equal(b->shm_size, 128 << 20);
	assert_string_equal(b->extra_hosts.v[0], "db:10.0.0.2");
	assert_string_equal(lo2_kvv_get(&b->labels, "lo2.build"), "yes");
	assert_string_equal(lo2_kvv_get(&b->args, "FROM_MAP"), "m");
	b = &svc(p, "list")->build;
	assert_string_equal(lo2_kvv_get(&b->args, "FROM_LIST"), "l");
	assert_string_equal(lo2_kvv_get(&b->args, "FROM_ENV"), "e"); /* a name alone: from the variables */
	assert_int_equal(b->args.n, 2); /* unset: left out */
	compose_project_free(p);
	unsetenv("FROM_ENV");
	assert_int_equal(load("keys/build_git.yml", NULL, &q, NULL, &err), -1);
	assert_string_equal(
	    err.msg, "keys/build_git.yml:3:12: services.web.build: the context "
	             "\"https://github.com/docker/awesome-compose.git#master:flask\" is a remote (git or "
	             "URL) context; lo2 does not clone or download contexts: clone it and point context: "
	             "at the folder");
}

static char *hash_of(const char *text)
{
	struct compose_load_opts o = {.file = "/tmp/lo2-hash-test/compose.yml", .project_name = "h"};
	struct lo2_kvv env = {0};
	struct compose_project *p = NULL;
	struct lo2_err err = {0};
	char *h;

	o.env = &env;
	if (compose_load_text(text, strlen(text), &o, &p, NULL, &err) < 0 || compose_plan(p, &err) < 0)
		fail_msg("%s", err.msg);
	h = xstrdup(p->services[0].config_hash);
	compose_project_free(p);
	return h;
}

/* Scaling keeps the containers (replicas and scale are not hashed, as in v2); a limit does not. */
static void test_replicas_not_hashed(void **state)
{
	char *a = hash_of("services:\n  w:\n    image: x\n    deploy: {replicas: 2}\n");
	char *b = hash_of("services:\n  w:\n    image: x\n    deploy: {replicas: 5}\n");
	char *c = hash_of(
	    "services:\n  w:\n    image: x\n    deploy: {replicas: 5, resources: {limits: {cpus: '1'}}}\n");

	assert_string_equal(a, b);
	assert_string_not_equal(b, c);
	free(a);
	free(b);
	free(c);
}

static void test_strictness(void **state)
{
	struct compose_load_opts o = {.lenient = true};
	struct compose_project *p = NULL;
	struct lo2_strv w = {0};
	struct lo2_err err = {0};

	o.file = "keys/strict.yml";
	assert_int_equal(chdir(FIX), 0);
	assert_int_equal(compose_load(&o, &p, &w, &err), 0);
	assert_int_equal(w.n, 2);
	assert_string_equal(w.v[0], "keys/strict.yml:4:5: services.web: \"uts\" is not implemented by lo2, "
	                            "and the containers would differ from docker compose's; ignored "
	                            "(--compatibility lenient)");
	assert_string_equal(w.v[1],
	                    "keys/strict.yml:5:5: services.web: \"pull_policy\" is not implemented by lo2; "
	                    "ignored");
	compose_project_free(p);
	lo2_strv_free(&w);
}

static void test_keys_errors(void **state)
{
	static const struct {
		const char *file, *msg;
	} cases[] = {
	    {"strict", "keys/strict.yml:4:5: services.web: \"uts\" is not implemented by lo2, and the "
	               "containers would differ from docker compose's (--compatibility lenient makes this a "
	               "warning)"},
	    {"scale_conflict",
	     "keys/scale_conflict.yml:4:12: services.web.scale: 2 differs from deploy.replicas 3"},
	    {"replicas_named", "keys/replicas_named.yml:2:3: services.web: container_name \"one\" allows one "
	                       "container, not 2 replicas"},
	    {"extends_cycle", "keys/extends_cycle.yml:3:14: services.a.extends: cycle: a -> b -> c -> a"},
	    {"extends_missing", "keys/extends_missing.yml:4:14: services.a.extends: service \"nope\" is not "
	                        "defined"},
	    {"secret_external",
	     "keys/secret_external.yml:7:15: secrets.db: external secrets exist only in Docker Swarm; lo2 "
	     "(like "
	     "docker compose without Swarm) cannot use them: give a file:, environment: or content:"},
	    {"secret_undeclared",
	     "keys/secret_undeclared.yml:4:15: services.web.secrets: secret \"db\" is not "
	     "declared under the top-level secrets key"},
	    {"dup_mount",
	     "keys/dup_mount.yml:6:9: services.prometheus.volumes: duplicate mount point /prometheus"},
	    {"empty_volume_source", "keys/empty_volume_source.yml:5:9: services.plex.volumes: invalid volume "
	                            "\":/media/\": empty section "
	                            "between colons (an unset variable?)"},
	    {"legacy_net",
	     "keys/legacy_net.yml:4:5: services.web: \"net\" is a legacy key; write network_mode: "
	     "(--compatibility lenient makes this a warning)"},
	    {"legacy_v1",
	     "keys/legacy_v1.yml: a legacy version 1 compose file (services at the top level: web, db); "
	     "docker "
	     "compose and lo2 read only the Compose Specification: convert it by moving the services, "
	     "indented, under a top-level \"services:\" key (and net: becomes network_mode:)"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *rel = xasprintf("keys/%s.yml", cases[i].file);
		struct compose_project *p = NULL;
		struct lo2_err err = {0};

		if (load(rel, NULL, &p, NULL, &err) == 0)
			fail_msg("%s: loaded without error", rel);
		assert_string_equal(err.msg, cases[i].msg);
		free(rel);
	}
}

static void test_include_cycle(void **state)
{
	struct compose_project *p = NULL;
	struct lo2_err err = {0};
	char *want = xasprintf("include: cycle: %s/keys/include_cycle.yml -> %s/keys/inc/cycle.yml -> "
	                       "%s/keys/include_cycle.yml",
	                       FIX, FIX, FIX);

	assert_int_equal(load("keys/include_cycle.yml", NULL, &p, NULL, &err), -1);
	assert_non_null(strstr(err.msg, want));
	assert_true(strncmp(err.msg, "keys/include_cycle.yml:2:5: include: ", 37) == 0);
	free(want);
}

/* `lo2 config` of a fixture against keys/golden/<name>.json (the fixtures folder written @FIX@).
 * LO2_UPDATE_GOLDEN=1 rewrites the golden file instead. */
static void check_golden(const char *rel, const char *name, const struct compose_load_opts *extra)
{
	struct compose_project *p = load_opts_ok(rel, extra);
	char *json = compose_project_json(p, "  ");
	char *path = xasprintf("%s/keys/golden/%s.json", FIX, name);
	struct lo2_buf b = LO2_BUF_INIT;
	char *want = NULL;
	struct lo2_err err = {0};
	size_t fl = strlen(FIX);

	for (const char *q = json; *q;) {
		if (strncmp(q, FIX, fl) == 0) {
			lo2_buf_puts(&b, "@FIX@");
			q += fl;
		} else {
			lo2_buf_append(&b, q++, 1);
		}
	}
	lo2_buf_puts(&b, "\n");
	if (getenv("LO2_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fputs(b.data, f);
		fclose(f);
	}
	if (lo2_read_file(path, 1 << 20, &want, NULL, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(b.data, want);
	free(want);
	lo2_buf_free(&b);
	free(path);
	free(json);
	compose_project_free(p);
}

static void test_golden_config(void **state)
{
	struct lo2_strv prof = {0};
	struct compose_load_opts none = {0}, both = {.profiles = &prof};

	unsetenv("COMPOSE_PROFILES");
	lo2_strv_push(&prof, "debug");
	lo2_strv_push(&prof, "dev");
	check_golden("keys/extends.yml", "extends", &none);
	check_golden("keys/include.yml", "include", &none);
	check_golden("keys/deploy.yml", "deploy", &none);
	check_golden("keys/profiles.yml", "profiles", &both);
	check_golden("keys/runtime.yml", "runtime", &none);
	check_golden("keys/secrets.yml", "secrets", &none);
	lo2_strv_free(&prof);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_yaml_marks_and_merge),
	    cmocka_unit_test(test_yaml_merge_list),
	    cmocka_unit_test(test_yaml_alias_bomb),
	    cmocka_unit_test(test_yaml_byte_bomb),
	    cmocka_unit_test(test_yaml_cap_is_configurable),
	    cmocka_unit_test(test_yaml_depth_cap),
	    cmocka_unit_test(test_interpolate),
	    cmocka_unit_test(test_interpolate_errors),
	    cmocka_unit_test(test_interpolate_unset_listed),
	    cmocka_unit_test(test_shell_split),
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_dotenv),
	    cmocka_unit_test(test_paths_and_names),
	    cmocka_unit_test(test_full_scalars),
	    cmocka_unit_test(test_full_command_env),
	    cmocka_unit_test(test_full_ports),
	    cmocka_unit_test(test_full_volumes),
	    cmocka_unit_test(test_full_networks_deps),
	    cmocka_unit_test(test_full_logging_health),
	    cmocka_unit_test(test_full_plan),
	    cmocka_unit_test(test_hash_is_stable_and_sensitive),
	    cmocka_unit_test(test_full_spec),
	    cmocka_unit_test(test_spec_restart_and_mode),
	    cmocka_unit_test(test_full_config_json),
	    cmocka_unit_test(test_lo2_reference),
	    cmocka_unit_test(test_project_name),
	    cmocka_unit_test(test_warnings),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_missing_env_file),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_extends_merge),
	    cmocka_unit_test(test_include),
	    cmocka_unit_test(test_include_options),
	    cmocka_unit_test(test_profiles),
	    cmocka_unit_test(test_deploy_spec),
	    cmocka_unit_test(test_replicas),
	    cmocka_unit_test(test_secrets),
	    cmocka_unit_test(test_create_call_keys),
	    cmocka_unit_test(test_build_keys),
	    cmocka_unit_test(test_replicas_not_hashed),
	    cmocka_unit_test(test_strictness),
	    cmocka_unit_test(test_keys_errors),
	    cmocka_unit_test(test_include_cycle),
	    cmocka_unit_test(test_golden_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
