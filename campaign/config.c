/* config.c - a campaign's own settings: the engines of the fleet (lo2.yml's `campaign:` section
 * or --engine arguments), runs, runs per engine, attempts; the derived seeds. */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "campaign/campaign.h"
#include "common/file.h"
#include "common/mem.h"
#include "compose/yaml.h"
#include "engine/engine.h"
#include "run/config.h"

#define DEFAULT_MAX_ATTEMPTS 3
#define DEFAULT_BACKOFF_MAX_S 30

void campaign_config_init(struct campaign_config *cc)
{
	memset(cc, 0, sizeof(*cc));
	cc->runs = 1;
	cc->per_engine = 1;
	cc->max_attempts = DEFAULT_MAX_ATTEMPTS;
	cc->backoff_max_s = DEFAULT_BACKOFF_MAX_S;
}

static void engine_free_fields(struct campaign_engine *e)
{
	free(e->name);
	free(e->host);
	free(e->ca);
	free(e->cert);
	free(e->key);
	lo2_kvv_free(&e->settings);
}

void campaign_config_free(struct campaign_config *cc)
{
	for (size_t i = 0; i < cc->n_engines; i++)
		engine_free_fields(&cc->engines[i]);
	free(cc->engines);
	memset(cc, 0, sizeof(*cc));
}

static struct campaign_engine *add_engine(struct campaign_config *cc)
{
	cc->engines = xrealloc(cc->engines, (cc->n_engines + 1) * sizeof(*cc->engines));
	memset(&cc->engines[cc->n_engines], 0, sizeof(*cc->engines));
	return &cc->engines[cc->n_engines++];
}

uint64_t campaign_run_seed(uint64_t campaign_seed, int k)
{
	uint64_t z = campaign_seed + (uint64_t)k * 0x9E3779B97F4A7C15ull;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

char *campaign_engine_host(const char *endpoint)
{
	struct engine_open_opts o = {.host = endpoint};
	struct engine_endpoint ep;
	const char *h, *end;
	char *out;

	if (engine_endpoint_parse_explicit(&o, &ep, NULL) < 0 || ep.unix_path) {
		if (ep.unix_path)
			engine_endpoint_free(&ep);
		return xstrdup("127.0.0.1");
	}
	/* display is tcp://host:port, host possibly [v6] */
	h = ep.display + 6;
	end = strrchr(h, ':');
	if (h[0] == '[')
		out = xstrndup(h + 1, (size_t)(strchr(h, ']') - h - 1));
	else
		out = xstrndup(h, end ? (size_t)(end - h) : strlen(h));
	engine_endpoint_free(&ep);
	return out;
}

/* ---- lo2.yml ---- */

static int scalar(const struct compose_ynode *v, const char *file, const char *key, const char **out,
                  struct lo2_err *err)
{
	if (v->kind != COMPOSE_YSCALAR)
		return compose_ynode_err(err, file, v, "campaign: %s: expected a string", key);
	*out = v->value;
	return 0;
}

static int int_value(const struct compose_ynode *v, const char *file, const char *key, int min, int *out,
                     struct lo2_err *err)
{
	char *end;
	long n;

	if (v->kind != COMPOSE_YSCALAR)
		return compose_ynode_err(err, file, v, "campaign: %s: expected a whole number", key);
	errno = 0;
	n = strtol(v->value, &end, 10);
	if (v->value[0] == '\0' || *end != '\0' || errno || n < min || n > 1000000)
		return compose_ynode_err(err, file, v, "campaign: %s: expected a whole number >= %d", key,
		                         min);
	*out = (int)n;
	return 0;
}

/* A path of the file, made absolute from its folder. */
static char *file_path(const char *base, const char *v)
{
	return v[0] == '/' ? xstrdup(v) : xasprintf("%s/%s", base, v);
}

/* tls: DIR holding ca.pem, cert.pem and key.pem, as DOCKER_CERT_PATH. */
static void tls_dir(struct campaign_engine *e, const char *dir)
{
	e->tls = true;
	free(e->ca);
	free(e->cert);
	free(e->key);
	e->ca = xasprintf("%s/ca.pem", dir);
	e->cert = xasprintf("%s/cert.pem", dir);
	e->key = xasprintf("%s/key.pem", dir);
}

static int load_tls(const struct compose_ynode *t, const char *file, const char *base,
                    struct campaign_engine *e, struct lo2_err *err)
{
	if (t->kind == COMPOSE_YSCALAR && strcmp(t->value, "true") == 0) {
		e->tls = true;
		return 0;
	}
	if (t->kind == COMPOSE_YSCALAR) {
		char *dir = file_path(base, t->value);

		tls_dir(e, dir);
		free(dir);
		return 0;
	}
	if (t->kind != COMPOSE_YMAP)
		return compose_ynode_err(err, file, t, "campaign: tls: expected {ca, cert, key} or a folder");
	e->tls = true;
	for (size_t i = 0; i < t->n; i++) {
		const char *k = t->keys[i]->value, *v = NULL;
		char **dst = strcmp(k, "ca") == 0     ? &e->ca
		             : strcmp(k, "cert") == 0 ? &e->cert
		             : strcmp(k, "key") == 0  ? &e->key
		                                      : NULL;

		if (dst == NULL)
			return compose_ynode_err(err, file, t->keys[i],
			                         "campaign: tls: unknown key \"%s\" (ca, cert, key)", k);
		if (scalar(t->items[i], file, k, &v, err) < 0)
			return -1;
		free(*dst);
		*dst = file_path(base, v);
	}
	return 0;
}

static int load_engine(const struct compose_ynode *n, const char *file, const char *base,
                       struct campaign_config *cc, struct lo2_err *err)
{
	struct campaign_engine *e;
	const char *v = NULL;

	if (n->kind == COMPOSE_YSCALAR) {
		add_engine(cc)->host = xstrdup(n->value);
		return 0;
	}
	if (n->kind != COMPOSE_YMAP)
		return compose_ynode_err(err, file, n,
		                         "campaign: engines: expected an endpoint or a mapping");
	e = add_engine(cc);
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i]->value;
		const struct compose_ynode *val = n->items[i];

		if (strcmp(k, "name") == 0 || strcmp(k, "host") == 0) {
			if (scalar(val, file, k, &v, err) < 0)
				return -1;
			lo2_str_replace(k[0] == 'n' ? &e->name : &e->host, v);
		} else if (strcmp(k, "tls") == 0) {
			if (load_tls(val, file, base, e, err) < 0)
				return -1;
		} else if (strcmp(k, "settings") == 0 && val->kind == COMPOSE_YMAP) {
			for (size_t j = 0; j < val->n; j++) {
				if (scalar(val->items[j], file, val->keys[j]->value, &v, err) < 0)
					return -1;
				lo2_kvv_set(&e->settings, val->keys[j]->value, v);
			}
		} else {
			return compose_ynode_err(
			    err, file, n->keys[i],
			    "campaign: engines: unknown key \"%s\" (name, host, tls, settings)", k);
		}
	}
	if (e->host == NULL)
		return compose_ynode_err(err, file, n, "campaign: engines: an engine needs its host");
	return 0;
}

static int load_section(const struct compose_ynode *sec, const char *file, const char *base,
                        struct campaign_config *cc, struct lo2_err *err)
{
	if (sec->kind != COMPOSE_YMAP)
		return compose_ynode_err(err, file, sec, "campaign: expected a mapping");
	for (size_t i = 0; i < sec->n; i++) {
		const char *k = sec->keys[i]->value;
		const struct compose_ynode *v = sec->items[i];
		int rc = 0;

		if (strcmp(k, "runs") == 0)
			rc = int_value(v, file, k, 1, &cc->runs, err);
		else if (strcmp(k, "per_engine") == 0)
			rc = int_value(v, file, k, 1, &cc->per_engine, err);
		else if (strcmp(k, "max_attempts") == 0)
			rc = int_value(v, file, k, 1, &cc->max_attempts, err);
		else if (strcmp(k, "backoff_max") == 0)
			rc = int_value(v, file, k, 1, &cc->backoff_max_s, err);
		else if (strcmp(k, "engines") == 0 && v->kind == COMPOSE_YSEQ)
			for (size_t j = 0; j < v->n && rc == 0; j++)
				rc = load_engine(v->items[j], file, base, cc, err);
		else
			rc =
			    compose_ynode_err(err, file, sec->keys[i],
			                      "campaign: unknown key \"%s\" (runs, per_engine, max_attempts, "
			                      "backoff_max, engines: a list)",
			                      k);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int campaign_config_load(const char *path, struct campaign_config *cc, struct lo2_err *err)
{
	lo2_autofree char *text = NULL, *copy = xstrdup(path), *base = NULL;
	struct compose_ydoc *doc = NULL;
	const struct compose_ynode *sec;
	size_t len = 0;
	int ret = 0;

	if (lo2_read_file(path, 4u * 1024 * 1024, &text, &len, err) < 0)
		return lo2_err_prefix(err, "read config");
	base = realpath(dirname(copy), NULL);
	if (base == NULL)
		return lo2_err_errno(err, errno, "read config %s", path);
	if (compose_yaml_parse(text, len, path, 0, &doc, err) < 0)
		return lo2_err_prefix(err, "read config");
	sec = doc->root ? compose_ynode_get(doc->root, RUN_CONFIG_CAMPAIGN_KEY) : NULL;
	if (sec && !compose_ynode_is_null(sec))
		ret = load_section(sec, path, base, cc, err);
	compose_ydoc_free(doc);
	return ret;
}

/* ---- --engine ---- */

int campaign_engine_arg(const char *arg, struct campaign_config *cc, struct lo2_err *err)
{
	lo2_autofree char *copy = xstrdup(arg);
	char *save = NULL, *part = strtok_r(copy, ",", &save);
	struct campaign_engine *e;

	if (part == NULL)
		return lo2_err_set(err, LO2_E_USAGE, "--engine: empty endpoint");
	e = add_engine(cc);
	e->host = xstrdup(part);
	while ((part = strtok_r(NULL, ",", &save)) != NULL) {
		char *eq = strchr(part, '=');

		if (eq == NULL)
			return lo2_err_set(err, LO2_E_USAGE,
			                   "--engine %s: \"%s\" is not KEY=VALUE (name, tls, ca, cert, key)",
			                   arg, part);
		*eq = '\0';
		if (strcmp(part, "name") == 0) {
			lo2_str_replace(&e->name, eq + 1);
		} else if (strcmp(part, "tls") == 0) {
			tls_dir(e, eq + 1);
		} else if (strcmp(part, "ca") == 0 || strcmp(part, "cert") == 0 || strcmp(part, "key") == 0) {
			e->tls = true;
			lo2_str_replace(part[0] == 'k'   ? &e->key
			                : part[1] == 'a' ? &e->ca
			                                 : &e->cert,
			                eq + 1);
		} else {
			return lo2_err_set(err, LO2_E_USAGE,
			                   "--engine %s: unknown key \"%s\" (name, tls, ca, cert, key)", arg,
			                   part);
		}
	}
	return 0;
}

int campaign_config_check(struct campaign_config *cc, struct lo2_err *err)
{
	if (cc->n_engines == 0)
		return lo2_err_set(
		    err, LO2_E_USAGE,
		    "no engine: name at least one with --engine ENDPOINT (or campaign.engines)");
	for (size_t i = 0; i < cc->n_engines; i++) {
		struct campaign_engine *e = &cc->engines[i];
		struct engine_open_opts o = {.host = e->host,
		                             .tls = e->tls,
		                             .ca_file = e->ca,
		                             .cert_file = e->cert,
		                             .key_file = e->key};
		struct engine_endpoint ep;

		if (e->name == NULL)
			e->name = xasprintf("e%zu", i + 1);
		if (lo2_name_check("engine name", e->name, err) < 0 || strchr(e->name, ' ') != NULL ||
		    strchr(e->name, '_') != NULL)
			return lo2_err_set(
			    err, LO2_E_USAGE,
			    "engine name \"%s\": use letters, digits, '-' and '.' (it names run "
			    "folders run_<k>_<name>)",
			    e->name);
		if (engine_endpoint_parse_explicit(&o, &ep, err) < 0)
			return lo2_err_prefix(err, "engine %s", e->name);
		engine_endpoint_free(&ep);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(cc->engines[j].name, e->name) == 0)
				return lo2_err_set(err, LO2_E_USAGE, "two engines are named %s", e->name);
			if (strcmp(cc->engines[j].host, e->host) == 0)
				return lo2_err_set(
				    err, LO2_E_USAGE,
				    "engines %s and %s are the same endpoint %s (use --per-engine "
				    "for several runs at once on one engine)",
				    cc->engines[j].name, e->name, e->host);
		}
	}
	if (cc->runs < 1 || cc->per_engine < 1 || cc->max_attempts < 1)
		return lo2_err_set(err, LO2_E_USAGE, "runs, per-engine and max-attempts must be at least 1");
	return 0;
}
