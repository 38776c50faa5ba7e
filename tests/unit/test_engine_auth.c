/* test_engine_auth.c - registry credentials as the docker CLI finds them (engine/auth.h), no
 * engine: base64 and the header values, registry names (Docker Hub's, host:port), config.json
 * (auths, credsStore, credHelpers, DOCKER_AUTH_CONFIG), the helper protocol against a real helper
 * program (tests/helpers/docker-credential-lo2test), and masking. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "engine/auth.h"
#include "engine/engine.h"

static char *tmp; /* the test's config folder */

static void write_config(const char *json)
{
	lo2_autofree char *path = xasprintf("%s/config.json", tmp);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(json, f);
	fclose(f);
}

static int setup(void **state)
{
	lo2_autofree char *path = xasprintf("%s:%s", LO2_TEST_HELPERS, getenv("PATH") ? getenv("PATH") : "");

	tmp = tu_tmpdir();
	setenv("PATH", path, 1);
	return 0;
}

static int teardown(void **state)
{
	tu_rm_rf(tmp);
	free(tmp);
	return 0;
}

/* Every test starts with no config file and no credential variables. */
static int reset(void **state)
{
	lo2_autofree char *path = xasprintf("%s/config.json", tmp);

	remove(path);
	unsetenv("DOCKER_AUTH_CONFIG");
	unsetenv("LO2TEST_CRED_FAIL");
	unsetenv("LO2TEST_CRED_JUNK");
	unsetenv("LO2TEST_CRED_LOG");
	setenv("LO2TEST_CRED_SERVER", "127.0.0.1:5000", 1);
	setenv("LO2TEST_CRED_USER", "helperuser", 1);
	setenv("LO2TEST_CRED_SECRET", "helper-secret-1", 1);
	setenv("DOCKER_CONFIG", tmp, 1);
	return 0;
}

/* ---- base64 ---- */

static void test_base64_vectors(void **state)
{
	/* RFC 4648 section 10 */
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		char *e = engine_base64(in[i], strlen(in[i]), false), *d = NULL;
		size_t n = 0;

		assert_string_equal(e, out[i]);
		assert_int_equal(engine_base64_decode(e, &d, &n), 0);
		assert_int_equal(n, strlen(in[i]));
		assert_string_equal(d, in[i]);
		free(e);
		engine_secret_free(d);
	}
}

static void test_base64_url(void **state)
{
	static const unsigned char bytes[] = {0xfb, 0xff, 0xbf};
	char *std = engine_base64(bytes, 3, false), *url = engine_base64(bytes, 3, true), *d = NULL;
	size_t n = 0;

	assert_string_equal(std, "+/+/");
	assert_string_equal(url, "-_-_");
	assert_int_equal(engine_base64_decode(url, &d, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(d, bytes, 3);
	engine_secret_free(d);
	assert_int_equal(engine_base64_decode("Zm9vYg", &d, &n), 0); /* padding is optional */
	assert_string_equal(d, "foob");
	engine_secret_free(d);
	assert_int_equal(engine_base64_decode("Zm9v!", &d, &n), -1);
	assert_int_equal(engine_base64_decode("Zm9vY", &d, &n), -1);
	free(std);
	free(url);
}

/* ---- registry names ---- */

static void test_ref_registry(void **state)
{
	static const char *const cases[][2] = {
	    {"nginx", "docker.io"},
	    {"nginx:1.27", "docker.io"},
	    {"library/nginx", "docker.io"},
	    {"jaegertracing/all-in-one:1.57", "docker.io"},
	    {"docker.io/library/nginx", "docker.io"},
	    {"index.docker.io/prom/prometheus", "docker.io"},
	    {"gcr.io/cadvisor/cadvisor:v0.47.0", "gcr.io"},
	    {"127.0.0.1:5000/lo2/busybox:1", "127.0.0.1:5000"},
	    {"localhost/x", "localhost"},
	    {"localhost:5000/x@sha256:0123", "localhost:5000"},
	    {"Registry/x", "Registry"},
	    {"nginx@sha256:0123", "docker.io"},
	};
	struct lo2_err err = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *r = NULL;

		assert_int_equal(engine_ref_registry(cases[i][0], &r, &err), 0);
		assert_string_equal(r, cases[i][1]);
		free(r);
	}
	{
		char *r = NULL;

		assert_int_equal(engine_ref_registry("", &r, &err), -1);
		assert_int_equal(engine_ref_registry("/x", &r, &err), -1);
		assert_string_equal(err.msg, "invalid image reference \"/x\": empty registry");
	}
}

static void test_ref_repository_and_digest(void **state)
{
	static const char *const cases[][2] = {
	    {"nginx", "docker.io/library/nginx"},
	    {"nginx:1.27", "docker.io/library/nginx"},
	    {"docker.io/library/nginx@sha256:0123", "docker.io/library/nginx"},
	    {"index.docker.io/prom/prometheus:v2", "docker.io/prom/prometheus"},
	    {"prom/prometheus", "docker.io/prom/prometheus"},
	    {"127.0.0.1:5000/lo2/busybox:1", "127.0.0.1:5000/lo2/busybox"},
	    {"localhost:5000/x@sha256:0123", "localhost:5000/x"},
	};
	struct engine_image_info info = {0};
	char *d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *r = engine_ref_repository(cases[i][0]);

		assert_string_equal(r, cases[i][1]);
		free(r);
	}
	/* the engine keeps Docker Hub's repositories by their short names */
	lo2_strv_push(&info.repo_digests, "127.0.0.1:5000/lo2/busybox@sha256:aaaa");
	lo2_strv_push(&info.repo_digests, "nginx@sha256:bbbb");
	d = engine_image_repo_digest(&info, "docker.io/library/nginx:1.27");
	assert_string_equal(d, "nginx@sha256:bbbb");
	free(d);
	d = engine_image_repo_digest(&info, "127.0.0.1:5000/lo2/busybox:1");
	assert_string_equal(d, "127.0.0.1:5000/lo2/busybox@sha256:aaaa");
	free(d);
	assert_null(engine_image_repo_digest(&info, "127.0.0.1:5001/lo2/busybox:1"));
	assert_null(engine_image_repo_digest(&info, "lo2-test/busybox"));
	engine_image_info_free(&info);
}

static void test_hostname_and_hub(void **state)
{
	static const char *const hn[][2] = {
	    {"https://index.docker.io/v1/", "index.docker.io"},
	    {"http://127.0.0.1:5000/v2/", "127.0.0.1:5000"},
	    {"127.0.0.1:5000", "127.0.0.1:5000"},
	    {"reg.example:5000/some/path", "reg.example:5000"},
	    {"https://user@reg.example:443/x", "reg.example:443"},
	};

	for (size_t i = 0; i < sizeof(hn) / sizeof(hn[0]); i++) {
		char *h = engine_registry_hostname(hn[i][0]);

		assert_string_equal(h, hn[i][1]);
		free(h);
	}
	assert_true(engine_registry_is_hub("docker.io"));
	assert_true(engine_registry_is_hub("index.docker.io"));
	assert_true(engine_registry_is_hub(ENGINE_HUB_KEY));
	assert_true(engine_registry_is_hub("registry-1.docker.io"));
	assert_false(engine_registry_is_hub("docker.io.example.com"));
	assert_false(engine_registry_is_hub("quay.io"));
	assert_false(engine_registry_is_hub("127.0.0.1:5000"));
}

static void test_matches(void **state)
{
	assert_true(engine_registry_matches("127.0.0.1:5000", "127.0.0.1:5000"));
	assert_true(engine_registry_matches("http://127.0.0.1:5000/v2/", "127.0.0.1:5000"));
	assert_true(engine_registry_matches("https://127.0.0.1:5000", "127.0.0.1:5000"));
	assert_false(engine_registry_matches("127.0.0.1:5001", "127.0.0.1:5000"));
	assert_false(
	    engine_registry_matches("127.0.0.1", "127.0.0.1:5000")); /* the port is part of the name */
	assert_false(engine_registry_matches("127.0.0.1:5000", "127.0.0.1"));
	assert_true(engine_registry_matches(ENGINE_HUB_KEY, "docker.io"));
	assert_true(engine_registry_matches("docker.io", "docker.io"));
	assert_true(engine_registry_matches("index.docker.io", "docker.io"));
	assert_false(engine_registry_matches("quay.io", "docker.io"));
}

/* ---- config.json ---- */

/* Finds registry's credentials in the test's folder; returns what engine_auth_find returned. */
static int find(const char *registry, struct engine_auth *a, struct lo2_err *err)
{
	return engine_auth_find(tmp, registry, a, err);
}

static void test_auths_exact_and_hostport(void **state)
{
	/* "alice:pw-one" and "bob:pw-two" */
	struct engine_auth a;
	struct lo2_err err = {0};
	lo2_autofree char *want = NULL;

	write_config("{\"auths\":{\"127.0.0.1:5001\":{\"auth\":\"Ym9iOnB3LXR3bw==\"},"
	             "\"http://127.0.0.1:5000/v2/\":{\"auth\":\"YWxpY2U6cHctb25l\"}}}");
	assert_int_equal(find("127.0.0.1:5000", &a, &err), 0);
	assert_true(a.found);
	assert_string_equal(a.username, "alice");
	assert_string_equal(a.password, "pw-one");
	assert_string_equal(a.key, "127.0.0.1:5000");
	want = xasprintf("auths entry \"http://127.0.0.1:5000/v2/\" of %s/config.json", tmp);
	assert_string_equal(a.source, want);
	engine_auth_free(&a);
	assert_int_equal(find("127.0.0.1:5001", &a, &err), 0);
	assert_string_equal(a.username, "bob");
	assert_string_equal(a.password, "pw-two");
	engine_auth_free(&a);
	assert_int_equal(find("127.0.0.1:5002", &a, &err), 0);
	assert_false(a.found);
	assert_null(a.password);
	free(want);
	want = xasprintf("%s/config.json, which has no auths entry for 127.0.0.1:5002", tmp);
	assert_string_equal(a.source, want);
	engine_auth_free(&a);
}

static void test_auths_hub_names(void **state)
{
	static const char *const keys[] = {ENGINE_HUB_KEY, "docker.io", "index.docker.io",
	                                   "https://index.docker.io/v1"};
	struct lo2_err err = {0};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		lo2_autofree char *json = xasprintf("{\"auths\":{\"quay.io\":{\"auth\":\"Ym9iOnB3LXR3bw==\"},"
		                                    "\"%s\":{\"auth\":\"YWxpY2U6cHctb25l\"}}}",
		                                    keys[i]);
		struct engine_auth a;

		write_config(json);
		assert_int_equal(find("docker.io", &a, &err), 0);
		assert_true(a.found);
		assert_string_equal(a.key, ENGINE_HUB_KEY);
		assert_string_equal(a.username, "alice");
		engine_auth_free(&a);
	}
	/* the exact key wins over another spelling */
	write_config("{\"auths\":{\"docker.io\":{\"auth\":\"Ym9iOnB3LXR3bw==\"},"
	             "\"https://index.docker.io/v1/\":{\"auth\":\"YWxpY2U6cHctb25l\"}}}");
	{
		struct engine_auth a;

		assert_int_equal(find("docker.io", &a, &err), 0);
		assert_string_equal(a.username, "alice");
		engine_auth_free(&a);
	}
}

static void test_auths_fields_and_tokens(void **state)
{
	struct engine_auth a;
	struct lo2_err err = {0};

	write_config("{\"auths\":{\"a.example\":{\"username\":\"u\",\"password\":\"p-plain\"},"
	             "\"b.example\":{\"identitytoken\":\"tok-123\"},\"c.example\":{},"
	             "\"d.example\":{\"auth\":\"dTpwdw==\",\"email\":\"x@example.com\"}}}");
	assert_int_equal(find("a.example", &a, &err), 0);
	assert_true(a.found);
	assert_string_equal(a.password, "p-plain");
	engine_auth_free(&a);
	assert_int_equal(find("b.example", &a, &err), 0);
	assert_true(a.found);
	assert_string_equal(a.identity_token, "tok-123");
	assert_null(a.password);
	engine_auth_free(&a);
	assert_int_equal(find("c.example", &a, &err), 0); /* Docker Desktop leaves {} entries */
	assert_false(a.found);
	assert_non_null(strstr(a.source, "auths entry \"c.example\" of "));
	assert_non_null(strstr(a.source, "(it holds no credentials)"));
	engine_auth_free(&a);
	assert_int_equal(find("d.example", &a, &err), 0);
	assert_string_equal(a.username, "u");
	assert_string_equal(a.password, "pw");
	engine_auth_free(&a);
}

static void test_config_errors(void **state)
{
	struct engine_auth a;
	struct lo2_err err = {0};
	lo2_autofree char *want = NULL;

	assert_int_equal(find("127.0.0.1:5000", &a, &err), 0); /* no file: no credentials, no error */
	assert_false(a.found);
	want = xasprintf("%s/config.json, which does not exist", tmp);
	assert_string_equal(a.source, want);
	engine_auth_free(&a);

	write_config("{\"auths\": {");
	assert_int_equal(find("127.0.0.1:5000", &a, &err), -1);
	free(want);
	want = xasprintf("parse %s/config.json: malformed JSON", tmp);
	assert_non_null(strstr(err.msg, want));
	assert_false(a.found);
	engine_auth_free(&a);

	write_config("[1]");
	assert_int_equal(find("127.0.0.1:5000", &a, &err), -1);
	assert_non_null(strstr(err.msg, "not a JSON object"));
	engine_auth_free(&a);

	/* a broken "auth" is named, and its text never shown */
	write_config("{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"c2VjcmV0!!\"}}}");
	assert_int_equal(find("127.0.0.1:5000", &a, &err), -1);
	free(want);
	want = xasprintf("auths entry \"127.0.0.1:5000\" of %s/config.json: \"auth\" is not base64", tmp);
	assert_string_equal(err.msg, want);
	engine_auth_free(&a);
	write_config("{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"bm9jb2xvbmhlcmU=\"}}}"); /* "nocolonhere" */
	assert_int_equal(find("127.0.0.1:5000", &a, &err), -1);
	assert_non_null(strstr(err.msg, "\"auth\" does not hold user:password"));
	assert_null(strstr(err.msg, "nocolonhere"));
	engine_auth_free(&a);
}

static void test_environment_folder(void **state)
{
	struct engine_auth a;
	struct lo2_err err = {0};
	lo2_autofree char *home = xasprintf("%s/home", tmp);
	lo2_autofree char *dot = xasprintf("%s/home/.docker", tmp);
	lo2_autofree char *cfg = xasprintf("%s/home/.docker/config.json", tmp);
	char *dir;
	FILE *f;

	/* DOCKER_CONFIG first */
	write_config("{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"YWxpY2U6cHctb25l\"}}}");
	dir = engine_docker_config_dir();
	assert_string_equal(dir, tmp);
	free(dir);
	assert_int_equal(engine_auth_find(NULL, "127.0.0.1:5000", &a, &err), 0);
	assert_string_equal(a.username, "alice");
	engine_auth_free(&a);
	/* DOCKER_AUTH_CONFIG over the file */
	setenv("DOCKER_AUTH_CONFIG", "{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"Ym9iOnB3LXR3bw==\"}}}", 1);
	assert_int_equal(engine_auth_find(NULL, "127.0.0.1:5000", &a, &err), 0);
	assert_string_equal(a.username, "bob");
	assert_string_equal(a.source, "auths entry \"127.0.0.1:5000\" of DOCKER_AUTH_CONFIG");
	engine_auth_free(&a);
	/* ...but not for an explicit folder, and not for a registry it does not name */
	assert_int_equal(engine_auth_find(tmp, "127.0.0.1:5000", &a, &err), 0);
	assert_string_equal(a.username, "alice");
	engine_auth_free(&a);
	setenv("DOCKER_AUTH_CONFIG", "{\"auths\":{\"other:1\":{\"auth\":\"Ym9iOnB3LXR3bw==\"}}}", 1);
	assert_int_equal(engine_auth_find(NULL, "127.0.0.1:5000", &a, &err), 0);
	assert_string_equal(a.username, "alice");
	engine_auth_free(&a);
	unsetenv("DOCKER_AUTH_CONFIG");
	/* no DOCKER_CONFIG: $HOME/.docker */
	unsetenv("DOCKER_CONFIG");
	setenv("HOME", home, 1);
	assert_int_equal(lo2_mkdir_p(dot, 0700, &err), 0);
	f = fopen(cfg, "w");
	assert_non_null(f);
	fputs("{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"Ym9iOnB3LXR3bw==\"}}}", f);
	fclose(f);
	dir = engine_docker_config_dir();
	assert_string_equal(dir, dot);
	free(dir);
	assert_int_equal(engine_auth_find(NULL, "127.0.0.1:5000", &a, &err), 0);
	assert_string_equal(a.username, "bob");
	engine_auth_free(&a);
	tu_rm_rf(home);
}

/* ---- the helper protocol ---- */

static void test_helper_get(void **state)
{
	struct engine_auth a;
	struct lo2_err err = {0};
	lo2_autofree char *log = xasprintf("%s/helper.log", tmp);
	lo2_autofree char *logged = NULL;
	lo2_autofree char *want = NULL;

	setenv("LO2TEST_CRED_LOG", log, 1);
	write_config("{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"YWxpY2U6cHctb25l\"}},"
	             "\"credHelpers\":{\"127.0.0.1:5000\":\"lo2test\"}}");
	assert_int_equal(find("127.0.0.1:5000", &a, &err), 0);
	assert_true(a.found);
	assert_string_equal(a.username, "helperuser"); /* the helper, not the auths entry */
	assert_string_equal(a.password, "helper-secret-1");
	want =
	    xasprintf("credential helper docker-credential-lo2test (credHelpers entry \"127.0.0.1:5000\" of "
	              "%s/config.json)",
	              tmp);
	assert_string_equal(a.source, want);
	engine_auth_free(&a);
	logged = tu_read(log, NULL);
	assert_string_equal(logged, "get 127.0.0.1:5000\n"); /* the server went on stdin */
	remove(log);
}

static void test_helper_store_and_token(void **state)
{
	struct engine_auth a;
	struct lo2_err err = {0};

	/* credsStore: the only source, as for the CLI (the auths entry is not used) */
	write_config(
	    "{\"auths\":{\"127.0.0.1:5001\":{\"auth\":\"YWxpY2U6cHctb25l\"}},\"credsStore\":\"lo2test\"}");
	assert_int_equal(find("127.0.0.1:5001", &a, &err), 0);
	assert_false(a.found);
	assert_non_null(strstr(a.source, "which has none for 127.0.0.1:5001"));
	assert_non_null(strstr(a.source, "(credsStore of "));
	engine_auth_free(&a);
	setenv("LO2TEST_CRED_SERVER", ENGINE_HUB_KEY, 1);
	setenv("LO2TEST_CRED_USER", "<token>", 1);
	assert_int_equal(find("docker.io", &a, &err), 0);
	assert_true(a.found);
	assert_string_equal(a.identity_token, "helper-secret-1");
	assert_null(a.username);
	assert_null(a.password);
	engine_auth_free(&a);
}

static void test_helper_failures(void **state)
{
	struct engine_auth a;
	struct lo2_err err = {0};

	write_config("{\"credHelpers\":{\"127.0.0.1:5000\":\"lo2test\"}}");
	setenv("LO2TEST_CRED_FAIL", "error: the keychain is locked", 1);
	assert_int_equal(find("127.0.0.1:5000", &a, &err), -1);
	assert_false(a.found);
	assert_non_null(strstr(err.msg,
	                       "credential helper docker-credential-lo2test get failed (exit status 3): "
	                       "error: the keychain is locked"));
	assert_null(strstr(err.msg, "second line"));
	assert_non_null(strstr(err.msg, "credHelpers entry \"127.0.0.1:5000\" of "));
	engine_auth_free(&a);
	unsetenv("LO2TEST_CRED_FAIL");

	setenv("LO2TEST_CRED_JUNK", "helper-secret-1 is not JSON", 1);
	assert_int_equal(find("127.0.0.1:5000", &a, &err), -1);
	assert_non_null(
	    strstr(err.msg, "docker-credential-lo2test get answered something that is not a JSON object"));
	assert_null(strstr(err.msg, "helper-secret-1"));
	engine_auth_free(&a);
	unsetenv("LO2TEST_CRED_JUNK");

	write_config("{\"credsStore\":\"lo2-no-such-helper\"}");
	assert_int_equal(find("127.0.0.1:5000", &a, &err), -1);
	assert_non_null(
	    strstr(err.msg, "credential helper docker-credential-lo2-no-such-helper not found on PATH"));
	engine_auth_free(&a);

	write_config("{\"credsStore\":\"../../bin/sh\"}");
	assert_int_equal(find("127.0.0.1:5000", &a, &err), -1);
	assert_non_null(strstr(err.msg, "invalid credential helper name \"../../bin/sh\""));
	engine_auth_free(&a);
}

/* ---- header values ---- */

/* Decodes a header value: base64url, only URL-safe characters, JSON. */
static struct lo2_json *decode_header(const char *v)
{
	struct lo2_json *doc = NULL;
	char *json = NULL;

	assert_non_null(v);
	assert_int_equal(strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="),
	                 strlen(v));
	assert_int_equal(engine_base64_decode(v, &json, NULL), 0);
	assert_int_equal(lo2_json_parse(json, "header", &doc, NULL), 0);
	engine_secret_free(json);
	return doc;
}

static void test_auth_header(void **state)
{
	struct engine_auth a = {0};
	struct lo2_err err = {0};
	struct lo2_json *doc;
	char *h;

	/* "alice:pw~~~>>>": its JSON's standard base64 has a '+', the URL-safe one a '-' */
	write_config("{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"YWxpY2U6cHd+fn4+Pj4=\"}}}");
	assert_int_equal(find("127.0.0.1:5000", &a, &err), 0);
	h = engine_auth_header(&a);
	assert_non_null(strchr(h, '-'));
	doc = decode_header(h);
	assert_string_equal(lo2_json_str(lo2_json_get(doc, "username")), "alice");
	assert_string_equal(lo2_json_str(lo2_json_get(doc, "password")), "pw~~~>>>");
	assert_string_equal(lo2_json_str(lo2_json_get(doc, "serveraddress")), "127.0.0.1:5000");
	assert_null(lo2_json_get(doc, "identitytoken"));
	lo2_json_free(doc);
	engine_secret_free(h);
	engine_auth_free(&a);

	assert_int_equal(find("127.0.0.1:5009", &a, &err), 0);
	assert_null(engine_auth_header(&a)); /* nothing found: no header */
	engine_auth_free(&a);
}

static void test_config_header(void **state)
{
	struct lo2_json *doc;
	char *h;

	write_config("{\"auths\":{\"127.0.0.1:5001\":{\"auth\":\"Ym9iOnB3LXR3bw==\"},\"e.example\":{},"
	             "\"https://index.docker.io/v1/\":{\"identitytoken\":\"tok\"}},"
	             "\"credHelpers\":{\"127.0.0.1:5000\":\"lo2test\",\"f.example\":\"lo2test\"}}");
	h = engine_auth_config_header(tmp);
	doc = decode_header(h);
	assert_int_equal(lo2_json_len(doc), 3); /* the empty entry and f.example (helper has none) are not */
	assert_string_equal(lo2_json_str(lo2_json_path(doc, "127.0.0.1:5001", "username", NULL)), "bob");
	assert_string_equal(lo2_json_str(lo2_json_path(doc, ENGINE_HUB_KEY, "identitytoken", NULL)), "tok");
	assert_string_equal(lo2_json_str(lo2_json_path(doc, "127.0.0.1:5000", "password", NULL)),
	                    "helper-secret-1");
	assert_string_equal(lo2_json_str(lo2_json_path(doc, "127.0.0.1:5000", "serveraddress", NULL)),
	                    "127.0.0.1:5000");
	lo2_json_free(doc);
	engine_secret_free(h);

	/* credsStore: what its list names */
	write_config("{\"auths\":{\"127.0.0.1:5001\":{}},\"credsStore\":\"lo2test\"}");
	h = engine_auth_config_header(tmp);
	doc = decode_header(h);
	assert_int_equal(lo2_json_len(doc), 1);
	assert_string_equal(lo2_json_str(lo2_json_path(doc, "127.0.0.1:5000", "username", NULL)),
	                    "helperuser");
	lo2_json_free(doc);
	engine_secret_free(h);

	write_config("{}");
	assert_null(engine_auth_config_header(tmp));
	write_config("{\"credsStore\":\"lo2-no-such-helper\"}"); /* a build need not fail for it */
	assert_null(engine_auth_config_header(tmp));
}

/* ---- masking ---- */

static void test_masking(void **state)
{
	struct engine_auth a = {.password = xstrdup("hunter22"), .identity_token = xstrdup("tok")};
	struct lo2_err err = {0};
	char out[128];

	engine_header_for_log("X-Registry-Auth: eyJ1c2VybmFtZSI6ImEifQ==", out, sizeof(out));
	assert_string_equal(out, "X-Registry-Auth: <hidden, 24 bytes>");
	engine_header_for_log("x-registry-config:eyJ9", out, sizeof(out));
	assert_string_equal(out, "x-registry-config: <hidden, 4 bytes>");
	engine_header_for_log("Authorization: Basic YTpi", out, sizeof(out));
	assert_string_equal(out, "Authorization: <hidden, 10 bytes>");
	engine_header_for_log("Content-Type: application/json", out, sizeof(out));
	assert_string_equal(out, "Content-Type: application/json");

	lo2_err_set(&err, LO2_E_AUTH, "bad hunter22 and hunter22hunter22; tok stays (too short)");
	engine_auth_scrub(&err, &a);
	assert_string_equal(err.msg, "bad *** and ******; tok stays (too short)");
	engine_auth_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64_vectors),
	    cmocka_unit_test(test_base64_url),
	    cmocka_unit_test(test_ref_registry),
	    cmocka_unit_test(test_ref_repository_and_digest),
	    cmocka_unit_test(test_hostname_and_hub),
	    cmocka_unit_test(test_matches),
	    cmocka_unit_test_setup(test_auths_exact_and_hostport, reset),
	    cmocka_unit_test_setup(test_auths_hub_names, reset),
	    cmocka_unit_test_setup(test_auths_fields_and_tokens, reset),
	    cmocka_unit_test_setup(test_config_errors, reset),
	    cmocka_unit_test_setup(test_environment_folder, reset),
	    cmocka_unit_test_setup(test_helper_get, reset),
	    cmocka_unit_test_setup(test_helper_store_and_token, reset),
	    cmocka_unit_test_setup(test_helper_failures, reset),
	    cmocka_unit_test_setup(test_auth_header, reset),
	    cmocka_unit_test_setup(test_config_header, reset),
	    cmocka_unit_test(test_masking),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
