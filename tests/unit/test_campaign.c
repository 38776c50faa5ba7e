/* test_campaign.c - a campaign's settings without an engine: derived seeds, --engine arguments,
 * the campaign: section of lo2.yml (and a run reading the same file), checks of the fleet,
 * {engine_host}, and explicit engine endpoints with their TLS files. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "campaign/campaign.h"
#include "common/file.h"
#include "common/mem.h"
#include "engine/engine.h"
#include "run/config.h"

static void test_run_seeds(void **state)
{
	(void)state;
	/* splitmix64's first output for state 0 */
	assert_true(campaign_run_seed(0, 1) == 0xE220A8397B1DCDAFull);
	assert_true(campaign_run_seed(42, 3) == campaign_run_seed(42, 3));
	for (int k = 1; k < 500; k++) {
		assert_true(campaign_run_seed(42, k) != campaign_run_seed(42, k + 1));
		assert_true(campaign_run_seed(42, k) != campaign_run_seed(43, k));
	}
}

static void test_engine_arg(void **state)
{
	struct campaign_config cc;
	struct lo2_err err = {0};

	(void)state;
	campaign_config_init(&cc);
	assert_int_equal(campaign_engine_arg("tcp://10.1.2.3:2376,name=big,tls=/etc/lo2/big", &cc, &err), 0);
	assert_int_equal(campaign_engine_arg("unix:///var/run/docker.sock", &cc, &err), 0);
	assert_int_equal(cc.n_engines, 2);
	assert_string_equal(cc.engines[0].host, "tcp://10.1.2.3:2376");
	assert_string_equal(cc.engines[0].name, "big");
	assert_true(cc.engines[0].tls);
	assert_string_equal(cc.engines[0].ca, "/etc/lo2/big/ca.pem");
	assert_string_equal(cc.engines[0].cert, "/etc/lo2/big/cert.pem");
	assert_string_equal(cc.engines[0].key, "/etc/lo2/big/key.pem");
	assert_null(cc.engines[1].name);
	assert_int_equal(campaign_engine_arg("tcp://h:1,color=red", &cc, &err), -1);
	assert_string_equal(err.msg,
	                    "--engine tcp://h:1,color=red: unknown key \"color\" (name, tls, ca, cert, key)");
	campaign_config_free(&cc);
}

static void test_check(void **state)
{
	struct campaign_config cc;
	struct lo2_err err = {0};

	(void)state;
	campaign_config_init(&cc);
	assert_int_equal(campaign_config_check(&cc, &err), -1);
	assert_non_null(strstr(err.msg, "no engine"));
	campaign_engine_arg("tcp://127.0.0.1:2375", &cc, &err);
	campaign_engine_arg("unix:///run/x.sock", &cc, &err);
	assert_int_equal(campaign_config_check(&cc, &err), 0);
	assert_string_equal(cc.engines[0].name, "e1");
	assert_string_equal(cc.engines[1].name, "e2");
	campaign_engine_arg("unix:///run/x.sock,name=again", &cc, &err);
	assert_int_equal(campaign_config_check(&cc, &err), -1);
	assert_string_equal(err.msg, "engines e2 and again are the same endpoint unix:///run/x.sock (use "
	                             "--per-engine for several runs at once on one engine)");
	campaign_config_free(&cc);
	campaign_config_init(&cc);
	campaign_engine_arg("unix:///run/y.sock,name=a_b", &cc, &err);
	assert_int_equal(campaign_config_check(&cc, &err), -1);
	assert_non_null(strstr(err.msg, "engine name \"a_b\""));
	campaign_config_free(&cc);
}

static void test_engine_host(void **state)
{
	char *h;

	(void)state;
	h = campaign_engine_host("tcp://192.168.217.6:2376");
	assert_string_equal(h, "192.168.217.6");
	free(h);
	h = campaign_engine_host("tcp://lab-3.example:2376");
	assert_string_equal(h, "lab-3.example");
	free(h);
	h = campaign_engine_host("tcp://[fd00::5]:2376");
	assert_string_equal(h, "fd00::5");
	free(h);
	h = campaign_engine_host("unix:///var/run/docker.sock");
	assert_string_equal(h, "127.0.0.1");
	free(h);
}

static char *write_tmp(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	struct lo2_err err = {0};

	if (lo2_write_file_atomic(p, text, strlen(text), &err) < 0)
		fail_msg("%s", err.msg);
	return p;
}

static void test_section(void **state)
{
	char *dir = tu_tmpdir();
	lo2_autofree char *yml =
	    write_tmp(dir, "lo2.yml",
	              "prometheus: {url: \"http://{engine_host}:9090\"}\n"
	              "campaign:\n"
	              "  runs: 12\n"
	              "  per_engine: 2\n"
	              "  engines:\n"
	              "    - tcp://10.0.0.5:2376\n"
	              "    - name: big\n"
	              "      host: tcp://10.0.0.6:2376\n"
	              "      tls: {ca: certs/ca.pem, cert: /c/cert.pem, key: /c/key.pem}\n"
	              "      settings: {traces.listen: \"10.0.0.1:0\"}\n");
	lo2_autofree char *bad = write_tmp(dir, "bad.yml", "campaign:\n  runs: 2\n  engine: []\n");
	lo2_autofree char *ca = xasprintf("%s/certs/ca.pem", dir);
	struct campaign_config cc;
	struct run_config rc;
	struct lo2_err err = {0};

	(void)state;
	campaign_config_init(&cc);
	run_config_defaults(&rc);
	assert_int_equal(run_config_load(yml, &rc, &err), 0); /* a run skips the campaign's section */
	run_config_replace(&rc, "{engine_host}", "10.0.0.6");
	assert_string_equal(rc.prometheus_url, "http://10.0.0.6:9090");
	assert_int_equal(campaign_config_load(yml, &cc, &err), 0);
	assert_int_equal(cc.runs, 12);
	assert_int_equal(cc.per_engine, 2);
	assert_int_equal(cc.n_engines, 2);
	assert_string_equal(cc.engines[0].host, "tcp://10.0.0.5:2376");
	assert_false(cc.engines[0].tls);
	assert_string_equal(cc.engines[1].name, "big");
	assert_true(cc.engines[1].tls);
	assert_string_equal(cc.engines[1].ca, ca);
	assert_string_equal(cc.engines[1].key, "/c/key.pem");
	assert_string_equal(lo2_kvv_get(&cc.engines[1].settings, "traces.listen"), "10.0.0.1:0");
	campaign_config_free(&cc);
	campaign_config_init(&cc);
	assert_int_equal(campaign_config_load(bad, &cc, &err), -1);
	assert_non_null(strstr(err.msg, "bad.yml:3:3: campaign: unknown key \"engine\""));
	campaign_config_free(&cc);
	run_config_free(&rc);
	tu_rm_rf(dir);
	free(dir);
}

static void test_explicit_endpoint(void **state)
{
	char *dir = tu_tmpdir();
	lo2_autofree char *ca = write_tmp(dir, "ca.pem", "x");
	lo2_autofree char *cert = write_tmp(dir, "cert.pem", "x");
	struct engine_open_opts o = {.host = "tcp://10.0.0.7:2376", .ca_file = ca};
	struct engine_endpoint ep;
	struct lo2_err err = {0};

	(void)state;
	/* DOCKER_* of the environment never count for an explicit endpoint */
	setenv("DOCKER_CERT_PATH", "/nonexistent", 1);
	setenv("DOCKER_TLS_VERIFY", "1", 1);
	assert_int_equal(engine_endpoint_parse_explicit(&o, &ep, &err), 0);
	assert_true(ep.tls && ep.tls_verify);
	assert_string_equal(ep.base_url, "https://10.0.0.7:2376");
	assert_string_equal(ep.ca_file, ca);
	assert_null(ep.cert_file);
	engine_endpoint_free(&ep);
	o = (struct engine_open_opts){.host = "tcp://10.0.0.7:2375"};
	assert_int_equal(engine_endpoint_parse_explicit(&o, &ep, &err), 0);
	assert_false(ep.tls);
	assert_true(ep.cleartext);
	engine_endpoint_free(&ep);
	o = (struct engine_open_opts){.host = "tcp://10.0.0.7:2376", .cert_file = cert};
	assert_int_equal(engine_endpoint_parse_explicit(&o, &ep, &err), -1);
	assert_string_equal(err.msg, "TLS of tcp://10.0.0.7:2376: a client certificate needs its key and the "
	                             "other way round");
	o = (struct engine_open_opts){.host = "tcp://10.0.0.7:2376", .ca_file = "/nonexistent/ca.pem"};
	assert_int_equal(engine_endpoint_parse_explicit(&o, &ep, &err), -1);
	assert_string_equal(err.msg, "TLS CA certificate /nonexistent/ca.pem: no such file");
	unsetenv("DOCKER_CERT_PATH");
	unsetenv("DOCKER_TLS_VERIFY");
	tu_rm_rf(dir);
	free(dir);
}

/* Several runs on one engine need distinct projects, and a fixed host port cannot be bound twice. */
static void test_fixed_port_per_engine(void **state)
{
	char *dir = tu_tmpdir();
	lo2_autofree char *compose = write_tmp(dir, "docker-compose.yml",
	                                       "services:\n"
	                                       "  web:\n"
	                                       "    image: lo2-test/busybox:latest\n"
	                                       "    ports: [\"127.0.0.1:8080:80\", \"9000-9010:90\"]\n");
	lo2_autofree char *ds = xasprintf("%s/ds", dir);
	struct campaign_config cc;
	struct run_config rc;
	struct campaign *cp = NULL;
	struct lo2_err err = {0};

	(void)state;
	campaign_config_init(&cc);
	run_config_defaults(&rc);
	lo2_str_replace(&rc.compose_file, compose);
	campaign_engine_arg("unix:///run/x.sock", &cc, &err);
	cc.per_engine = 2;
	assert_int_equal(campaign_config_check(&cc, &err), 0);
	assert_int_equal(campaign_create(&cc, &rc, ds, &cp, &err), -1);
	assert_null(cp);
	assert_non_null(strstr(err.msg, "--per-engine 2: service web of "));
	assert_non_null(strstr(err.msg, "publishes the fixed host port 8080, so a second project on the same "
	                                "engine could not start"));
	/* a tag the locustfiles do not have: refused before anything is made */
	cc.per_engine = 1;
	lo2_str_replace(&rc.locust_folder, LO2_FIXTURES "/run/core/locust");
	lo2_strv_push(&rc.tags, "nope");
	assert_int_equal(campaign_create(&cc, &rc, ds, &cp, &err), -1);
	assert_string_equal(err.msg, "campaign: tag \"nope\" is not in the locustfiles of " LO2_FIXTURES
	                             "/run/core/locust nor a fault test");
	assert_int_equal(access(ds, F_OK), -1);
	campaign_config_free(&cc);
	run_config_free(&rc);
	tu_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_run_seeds),
	    cmocka_unit_test(test_engine_arg),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_engine_host),
	    cmocka_unit_test(test_section),
	    cmocka_unit_test(test_explicit_endpoint),
	    cmocka_unit_test(test_fixed_port_per_engine),
	};

	return tu_run_tests(tests);
}
