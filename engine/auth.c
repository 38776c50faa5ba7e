/* auth.c - registry credentials as the docker CLI finds them (see auth.h): the config folder and
 * config.json, DOCKER_AUTH_CONFIG, registry names and matching, the header values, masking. */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "common/json.h"
#include "common/log.h"
#include "common/mem.h"
#include "engine/auth.h"

#define CONFIG_MAX (4u * 1024 * 1024)
#define SCRUB_MIN 4

/* ---- base64 ---- */

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *engine_base64(const void *p, size_t n, bool url)
{
	const unsigned char *s = p;
	const char *abc = url ? b64_url : b64_std;
	char *out = xmalloc((n + 2) / 3 * 4 + 1), *o = out;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
		             (i + 2 < n ? s[i + 2] : 0);

		*o++ = abc[v >> 18 & 63];
		*o++ = abc[v >> 12 & 63];
		*o++ = i + 1 < n ? abc[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? abc[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int b64_value(char c)
{
	const char *hit;

	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	hit = c ? strchr(b64_std, c) : NULL;
	return hit ? (int)(hit - b64_std) : -1;
}

int engine_base64_decode(const char *s, char **out, size_t *n)
{
	size_t len = strlen(s), k = 0;
	unsigned acc = 0;
	int bits = 0;
	char *buf;

	while (len > 0 && s[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return -1;
	buf = xmalloc(len / 4 * 3 + 3);
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(s[i]);

		if (v < 0) {
			explicit_bzero(buf, k);
			free(buf);
			return -1;
		}
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[k++] = (char)(acc >> bits & 0xff);
		}
	}
	buf[k] = '\0';
	*out = buf;
	if (n)
		*n = k;
	return 0;
}

void engine_secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* ---- registry names ---- */

static bool has_upper(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (isupper((unsigned char)s[i]))
			return true;
	return false;
}

/* The length of ref's first component when it names a registry, else 0. The reference grammar:
 * it does when it has a '.' or a ':', is "localhost", or has capitals (repositories are lowercase). */
static size_t registry_len(const char *ref)
{
	const char *slash = strchr(ref, '/');
	size_t n = slash ? (size_t)(slash - ref) : 0;

	if (n > 0 && (memchr(ref, '.', n) || memchr(ref, ':', n) ||
	              (n == 9 && memcmp(ref, "localhost", 9) == 0) || has_upper(ref, n)))
		return n;
	return 0;
}

int engine_ref_registry(const char *ref, char **out, struct lo2_err *err)
{
	size_t n;

	*out = NULL;
	if (ref == NULL || ref[0] == '\0')
		return lo2_err_set(err, LO2_E_INVALID, "empty image reference");
	if (ref[0] == '/')
		return lo2_err_set(err, LO2_E_INVALID, "invalid image reference \"%s\": empty registry", ref);
	n = registry_len(ref);
	if (n == 0 || (n == 15 && memcmp(ref, "index.docker.io", 15) == 0))
		*out = xstrdup("docker.io");
	else
		*out = xstrndup(ref, n);
	return 0;
}

char *engine_ref_repository(const char *ref)
{
	size_t end = strcspn(ref, "@");
	const char *slash, *colon;
	lo2_autofree char *name = xstrndup(ref, end), *registry = NULL;
	size_t n;

	slash = strrchr(name, '/');
	colon = strrchr(name, ':');
	if (colon && (!slash || colon > slash))
		name[colon - name] = '\0'; /* the tag */
	if (engine_ref_registry(name, &registry, NULL) < 0)
		return xstrdup(name);
	n = registry_len(name);
	if (n > 0)
		return xasprintf("%s/%s", registry, name + n + 1);
	if (strcmp(registry, "docker.io") == 0 && strchr(name, '/') == NULL)
		return xasprintf("docker.io/library/%s", name);
	return xasprintf("%s/%s", registry, name);
}

char *engine_registry_hostname(const char *key)
{
	const char *s = key ? key : "";
	const char *scheme = strstr(s, "://");
	const char *at;
	size_t n;

	if (scheme) {
		s = scheme + 3;
		n = strcspn(s, "/");
		at = memchr(s, '@', n);
		if (at) {
			n -= (size_t)(at + 1 - s);
			s = at + 1;
		}
		return xstrndup(s, n);
	}
	return xstrndup(s, strcspn(s, "/"));
}

bool engine_registry_is_hub(const char *name)
{
	static const char *const hub[] = {"docker.io", "index.docker.io", "registry-1.docker.io"};
	lo2_autofree char *h = engine_registry_hostname(name);

	for (size_t i = 0; i < sizeof(hub) / sizeof(hub[0]); i++)
		if (strcasecmp(h, hub[i]) == 0)
			return true;
	return false;
}

bool engine_registry_matches(const char *key, const char *registry)
{
	lo2_autofree char *h = NULL;

	if (strcmp(key, registry) == 0)
		return true;
	h = engine_registry_hostname(key);
	if (strcasecmp(h, registry) == 0)
		return true;
	return engine_registry_is_hub(key) && engine_registry_is_hub(registry);
}

/* ---- the config folder and file ---- */

char *engine_docker_config_dir(void)
{
	const char *dc = getenv("DOCKER_CONFIG");
	const char *home = getenv("HOME");
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (dc && dc[0])
		return xstrdup(dc);
	if ((home == NULL || home[0] == '\0') && getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) == 0 &&
	    res)
		home = res->pw_dir;
	return xasprintf("%s/.docker", home ? home : "");
}

struct dcfg {
	char *path; /* what messages call it: "/root/.docker/config.json" or "DOCKER_AUTH_CONFIG" */
	char *text; /* wiped when freed */
	struct lo2_json *doc; /* NULL when the file does not exist */
};

static void dcfg_free(struct dcfg *c)
{
	free(c->path);
	engine_secret_free(c->text);
	lo2_json_free(c->doc);
	memset(c, 0, sizeof(*c));
}

/* Parses text as a docker config (an object); errors name c->path. */
static int dcfg_parse(struct dcfg *c, struct lo2_err *err)
{
	if (lo2_json_parse(c->text, c->path, &c->doc, err) < 0)
		return -1;
	if (!lo2_json_is_object(c->doc))
		return lo2_err_set(err, LO2_E_INVALID, "parse %s: not a JSON object", c->path);
	return 0;
}

/* Loads dir/config.json; a missing file is no error (c->doc stays NULL). */
static int dcfg_load(const char *dir, struct dcfg *c, struct lo2_err *err)
{
	struct stat st;

	memset(c, 0, sizeof(*c));
	c->path = xasprintf("%s/config.json", dir);
	if (stat(c->path, &st) < 0 && errno == ENOENT)
		return 0;
	if (lo2_read_file(c->path, CONFIG_MAX, &c->text, NULL, err) < 0)
		return lo2_err_prefix(err, "docker config");
	return dcfg_parse(c, err);
}

/* DOCKER_AUTH_CONFIG ({"auths": {...}}) when set and well-formed, as the CLI reads it. */
static bool dcfg_env(struct dcfg *c)
{
	const char *v = getenv("DOCKER_AUTH_CONFIG");
	struct lo2_err ignored = {0};

	memset(c, 0, sizeof(*c));
	if (v == NULL || v[0] == '\0')
		return false;
	c->path = xstrdup("DOCKER_AUTH_CONFIG");
	c->text = xstrdup(v);
	if (dcfg_parse(c, &ignored) == 0)
		return true;
	lo2_debug("auth: DOCKER_AUTH_CONFIG ignored: %s", ignored.msg); /* the CLI ignores it too */
	dcfg_free(c);
	return false;
}

/* The member of obj whose key names registry: the exact key first, then the first key that
 * matches by host:port or as Docker Hub. *key_out: the key found (borrowed). */
static const struct lo2_json *find_member(const struct lo2_json *obj, const char *key, const char *registry,
                                          const char **key_out)
{
	const struct lo2_json *v = lo2_json_get(obj, key);

	*key_out = key;
	if (v != NULL)
		return v;
	for (size_t i = 0; i < lo2_json_len(obj); i++) {
		if (engine_registry_matches(lo2_json_key_at(obj, i), registry)) {
			*key_out = lo2_json_key_at(obj, i);
			return lo2_json_val_at(obj, i);
		}
	}
	*key_out = NULL;
	return NULL;
}

static char *dup_str(const struct lo2_json *obj, const char *k)
{
	const char *s = lo2_json_str(lo2_json_get(obj, k));

	return s && s[0] ? xstrdup(s) : NULL;
}

/* "auth": base64 of "user:password" (NULs after the password dropped, as the CLI does). */
static int decode_auth(const char *b64, const char *where, struct engine_auth *a, struct lo2_err *err)
{
	char *plain = NULL, *colon;
	size_t n = 0;

	if (engine_base64_decode(b64, &plain, &n) < 0)
		return lo2_err_set(err, LO2_E_INVALID, "%s: \"auth\" is not base64", where);
	while (n > 0 && plain[n - 1] == '\0')
		n--;
	colon = strchr(plain, ':');
	if (colon == NULL || colon == plain || strlen(plain) != n) {
		engine_secret_free(plain);
		return lo2_err_set(err, LO2_E_INVALID, "%s: \"auth\" does not hold user:password", where);
	}
	*colon = '\0';
	engine_secret_free(a->username);
	engine_secret_free(a->password);
	a->username = xstrdup(plain);
	a->password = colon[1] ? xstrdup(colon + 1) : NULL;
	colon[0] = ':'; /* the whole buffer gets wiped */
	engine_secret_free(plain);
	return 0;
}

/* Fills a's secrets from one auths entry. where names the entry in errors. */
static int entry_fill(const struct lo2_json *ent, const char *where, struct engine_auth *a,
                      struct lo2_err *err)
{
	const char *b64 = lo2_json_str(lo2_json_get(ent, "auth"));

	if (!lo2_json_is_object(ent))
		return lo2_err_set(err, LO2_E_INVALID, "%s is not a JSON object", where);
	a->username = dup_str(ent, "username");
	a->password = dup_str(ent, "password");
	a->identity_token = dup_str(ent, "identitytoken");
	a->registry_token = dup_str(ent, "registrytoken");
	if (b64 && b64[0] && decode_auth(b64, where, a, err) < 0)
		return -1;
	a->found = a->password || a->identity_token || a->registry_token;
	return 0;
}

/* Looks registry up in c's auths: 1 found (a filled, source set), 0 no entry, -1 a bad entry. */
static int from_auths(const struct dcfg *c, struct engine_auth *a, struct lo2_err *err)
{
	const char *key;
	const struct lo2_json *ent = find_member(lo2_json_get(c->doc, "auths"), a->key, a->registry, &key);
	lo2_autofree char *where = NULL;

	if (ent == NULL)
		return 0;
	where = xasprintf("auths entry \"%s\" of %s", key, c->path);
	free(a->source);
	a->source = xstrdup(where);
	if (entry_fill(ent, where, a, err) < 0)
		return -1;
	if (!a->found) {
		free(a->source);
		a->source = xasprintf("%s (it holds no credentials)", where);
	}
	return a->found ? 1 : 0;
}

/* The helper for registry: a credHelpers entry, else credsStore; NULL when none. *how: which. */
static const char *helper_for(const struct dcfg *c, const struct engine_auth *a, char **how)
{
	const char *key;
	const struct lo2_json *h =
	    find_member(lo2_json_get(c->doc, "credHelpers"), a->key, a->registry, &key);
	const char *s = lo2_json_str(h);

	if (s && s[0]) {
		*how = xasprintf("credHelpers entry \"%s\" of %s", key, c->path);
		return s;
	}
	s = lo2_json_str(lo2_json_get(c->doc, "credsStore"));
	if (s && s[0]) {
		*how = xasprintf("credsStore of %s", c->path);
		return s;
	}
	return NULL;
}

static int from_helper(const char *helper, const char *how, struct engine_auth *a, struct lo2_err *err)
{
	free(a->source);
	a->source = xasprintf("credential helper docker-credential-%s (%s)", helper, how);
	if (engine_cred_helper_get(helper, a->key, a, err) < 0)
		return lo2_err_prefix(err, "%s", how);
	if (!a->found) {
		free(a->source);
		a->source = xasprintf("credential helper docker-credential-%s (%s), which has none for %s",
		                      helper, how, a->key);
	}
	return 0;
}

int engine_auth_find(const char *config_dir, const char *registry, struct engine_auth *out,
                     struct lo2_err *err)
{
	lo2_autofree char *dir = config_dir ? xstrdup(config_dir) : engine_docker_config_dir();
	lo2_autofree char *how = NULL;
	struct dcfg c;
	const char *helper;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	out->registry = xstrdup(registry);
	out->key = xstrdup(engine_registry_is_hub(registry) ? ENGINE_HUB_KEY : registry);
	if (config_dir == NULL && dcfg_env(&c)) {
		ret = from_auths(&c, out, err);
		dcfg_free(&c);
		if (ret != 0)
			return ret < 0 ? -1 : 0;
		engine_auth_free(out); /* nothing there: fall back to the file, as the CLI does */
		out->registry = xstrdup(registry);
		out->key = xstrdup(engine_registry_is_hub(registry) ? ENGINE_HUB_KEY : registry);
	}
	if (dcfg_load(dir, &c, err) < 0) {
		out->source = xasprintf("%s/config.json, which could not be read", dir);
		goto out;
	}
	if (c.doc == NULL) {
		out->source = xasprintf("%s, which does not exist", c.path);
		ret = 0;
		goto out;
	}
	helper = helper_for(&c, out, &how);
	if (helper) {
		ret = from_helper(helper, how, out, err);
		goto out;
	}
	out->source = xasprintf("%s, which has no auths entry for %s", c.path, out->key);
	ret = from_auths(&c, out, err) < 0 ? -1 : 0;
out:
	dcfg_free(&c);
	return ret;
}

void engine_auth_free(struct engine_auth *a)
{
	if (a == NULL)
		return;
	free(a->registry);
	free(a->key);
	engine_secret_free(a->username);
	engine_secret_free(a->password);
	engine_secret_free(a->identity_token);
	engine_secret_free(a->registry_token);
	free(a->source);
	memset(a, 0, sizeof(*a));
}

/* ---- header values ---- */

static void jw_opt(struct lo2_jw *w, const char *k, const char *v)
{
	if (v == NULL || v[0] == '\0')
		return;
	lo2_jw_key(w, k);
	lo2_jw_str(w, v);
}

/* The engine's AuthConfig object. */
static void jw_auth(struct lo2_jw *w, const struct engine_auth *a, const char *server)
{
	lo2_jw_obj(w);
	jw_opt(w, "username", a->username);
	jw_opt(w, "password", a->password);
	jw_opt(w, "identitytoken", a->identity_token);
	jw_opt(w, "registrytoken", a->registry_token);
	jw_opt(w, "serveraddress", server);
	lo2_jw_obj_end(w);
}

static char *encode(struct lo2_jw *w)
{
	size_t n = 0;
	char *json = lo2_jw_finish(w, &n);
	char *b64 = engine_base64(json, n, true);

	explicit_bzero(json, n);
	free(json);
	return b64;
}

char *engine_auth_header(const struct engine_auth *a)
{
	struct lo2_jw *w;

	if (a == NULL || !a->found)
		return NULL;
	w = lo2_jw_new(NULL);
	jw_auth(w, a, a->key);
	return encode(w);
}

/* Every credential of a config, keyed by the name it is stored under. */
struct auth_set {
	struct engine_auth *v;
	size_t n;
};

static void set_put(struct auth_set *s, const char *key, struct engine_auth *a)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->v[i].key, key) == 0) {
			engine_auth_free(&s->v[i]);
			s->v[i] = *a;
			memset(a, 0, sizeof(*a));
			return;
		}
	}
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = *a;
	memset(a, 0, sizeof(*a));
}

static void set_free(struct auth_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		engine_auth_free(&s->v[i]);
	free(s->v);
}

/* Asks helper for key; keeps what it has. Failures are skipped (logged at debug level). */
static void collect_helper(struct auth_set *s, const char *helper, const char *key)
{
	struct engine_auth a = {.key = xstrdup(key)};
	struct lo2_err err = {0};

	if (engine_cred_helper_get(helper, key, &a, &err) < 0)
		lo2_debug("auth: build credentials for %s skipped: %s", key, err.msg);
	if (a.found)
		set_put(s, key, &a);
	engine_auth_free(&a);
}

static void collect_auths(struct auth_set *s, const struct dcfg *c)
{
	const struct lo2_json *auths = lo2_json_get(c->doc, "auths");

	for (size_t i = 0; i < lo2_json_len(auths) && lo2_json_is_object(auths); i++) {
		const char *key = lo2_json_key_at(auths, i);
		struct engine_auth a = {.key = xstrdup(key)};
		lo2_autofree char *where = xasprintf("auths entry \"%s\" of %s", key, c->path);
		struct lo2_err err = {0};

		if (entry_fill(lo2_json_val_at(auths, i), where, &a, &err) < 0)
			lo2_debug("auth: build credentials: %s", err.msg);
		else if (a.found)
			set_put(s, key, &a);
		engine_auth_free(&a);
	}
}

static void collect_file(struct auth_set *s, const struct dcfg *c)
{
	const char *store = lo2_json_str(lo2_json_get(c->doc, "credsStore"));
	const struct lo2_json *helpers = lo2_json_get(c->doc, "credHelpers");

	if (store && store[0]) {
		struct lo2_strv servers = {0};
		struct lo2_err err = {0};

		if (engine_cred_helper_list(store, &servers, &err) < 0)
			lo2_debug("auth: build credentials from credsStore skipped: %s", err.msg);
		for (size_t i = 0; i < servers.n; i++)
			collect_helper(s, store, servers.v[i]);
		lo2_strv_free(&servers);
	} else {
		collect_auths(s, c);
	}
	for (size_t i = 0; i < lo2_json_len(helpers) && lo2_json_is_object(helpers); i++) {
		const char *h = lo2_json_str(lo2_json_val_at(helpers, i));

		if (h && h[0])
			collect_helper(s, h, lo2_json_key_at(helpers, i));
	}
}

char *engine_auth_config_header(const char *config_dir)
{
	lo2_autofree char *dir = config_dir ? xstrdup(config_dir) : engine_docker_config_dir();
	struct auth_set set = {0};
	struct lo2_err err = {0};
	struct lo2_jw *w;
	struct dcfg c;
	char *out = NULL;

	if (dcfg_load(dir, &c, &err) < 0)
		lo2_debug("auth: build credentials: %s", err.msg);
	else if (c.doc)
		collect_file(&set, &c);
	dcfg_free(&c);
	if (config_dir == NULL && dcfg_env(&c)) {
		collect_auths(&set, &c);
		dcfg_free(&c);
	}
	if (set.n > 0) {
		w = lo2_jw_new(NULL);
		lo2_jw_obj(w);
		for (size_t i = 0; i < set.n; i++) {
			lo2_jw_key(w, set.v[i].key);
			jw_auth(w, &set.v[i], set.v[i].key);
		}
		lo2_jw_obj_end(w);
		out = encode(w);
	}
	set_free(&set);
	return out;
}

/* ---- keeping secrets out of messages ---- */

static void scrub_one(struct lo2_err *err, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	char *from, *hit;

	/* shorter strings would mangle ordinary words; messages never hold secrets by construction */
	if (n < SCRUB_MIN)
		return;
	from = err->msg;
	for (hit = strstr(from, secret); hit; hit = strstr(from, secret)) {
		memmove(hit + 3, hit + n, strlen(hit + n) + 1);
		memcpy(hit, "***", 3);
		from = hit + 3;
	}
}

void engine_auth_scrub(struct lo2_err *err, const struct engine_auth *a)
{
	if (err == NULL || a == NULL)
		return;
	scrub_one(err, a->password);
	scrub_one(err, a->identity_token);
	scrub_one(err, a->registry_token);
}

void engine_header_for_log(const char *header, char *out, size_t outsz)
{
	static const char *const secret[] = {"X-Registry-Auth", "X-Registry-Config", "Authorization",
	                                     "Proxy-Authorization"};
	const char *colon = strchr(header, ':');
	size_t name = colon ? (size_t)(colon - header) : strlen(header);

	for (size_t i = 0; colon && i < sizeof(secret) / sizeof(secret[0]); i++) {
		if (strlen(secret[i]) == name && strncasecmp(header, secret[i], name) == 0) {
			const char *v = colon + 1 + strspn(colon + 1, " ");

			snprintf(out, outsz, "%.*s: <hidden, %zu bytes>", (int)name, header, strlen(v));
			return;
		}
	}
	snprintf(out, outsz, "%s", header);
}
