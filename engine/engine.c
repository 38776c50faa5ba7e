/* engine.c - opening the engine: DOCKER_HOST and TLS settings, /_ping and /version, API
 * version negotiation; /info; and the small helpers the resource files share. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/mem.h"
#include "common/time.h"
#include "engine/internal.h"

#define DEFAULT_SOCKET "/var/run/docker.sock"

void engine_pool_free(struct engine *e);

static bool file_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static bool env_set(const char *v)
{
	return v != NULL && v[0] != '\0';
}

static int parse_unix(const char *path, struct engine_endpoint *ep, struct lo2_err *err)
{
	struct sockaddr_un sa;

	if (path[0] != '/')
		return lo2_err_set(err, LO2_E_INVALID,
		                   "invalid DOCKER_HOST \"unix://%s\": the socket path must be absolute",
		                   path);
	if (strlen(path) >= sizeof(sa.sun_path))
		return lo2_err_set(err, LO2_E_INVALID,
		                   "invalid DOCKER_HOST: socket path longer than %zu bytes",
		                   sizeof(sa.sun_path) - 1);
	ep->unix_path = xstrdup(path);
	ep->base_url = xstrdup("http://localhost");
	ep->display = xasprintf("unix://%s", path);
	return 0;
}

static int parse_tcp(const char *hostport, bool tls, struct engine_endpoint *ep, struct lo2_err *err)
{
	const char *colon;
	const char *slash = strchr(hostport, '/');
	lo2_autofree char *hp = xstrndup(hostport, slash ? (size_t)(slash - hostport) : strlen(hostport));
	long port = tls ? 2376 : 2375;
	lo2_autofree char *host = NULL;

	if (slash && strcmp(slash, "/") != 0)
		return lo2_err_set(err, LO2_E_INVALID, "invalid DOCKER_HOST \"tcp://%s\": no path is allowed",
		                   hostport);
	if (hp[0] == '[') {
		const char *close = strchr(hp, ']');

		if (close == NULL)
			return lo2_err_set(err, LO2_E_INVALID,
			                   "invalid DOCKER_HOST \"tcp://%s\": unclosed '['", hostport);
		host = xstrndup(hp, (size_t)(close - hp) + 1);
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] != '\0' && close[1] != ':')
			return lo2_err_set(err, LO2_E_INVALID, "invalid DOCKER_HOST \"tcp://%s\"", hostport);
	} else {
		colon = strrchr(hp, ':');
		host = colon ? xstrndup(hp, (size_t)(colon - hp)) : xstrdup(hp);
	}
	if (host[0] == '\0')
		return lo2_err_set(err, LO2_E_INVALID, "invalid DOCKER_HOST \"tcp://%s\": no host", hostport);
	if (colon) {
		char *end;

		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
			return lo2_err_set(err, LO2_E_INVALID,
			                   "invalid DOCKER_HOST \"tcp://%s\": port must be 1..65535",
			                   hostport);
	}
	ep->base_url = xasprintf("%s://%s:%ld", tls ? "https" : "http", host, port);
	ep->display = xasprintf("tcp://%s:%ld", host, port);
	return 0;
}

static void tls_files(const char *cert_path, struct engine_endpoint *ep)
{
	lo2_autofree char *dir = NULL;
	const char *home = getenv("HOME");
	const char *names[3] = {"ca.pem", "cert.pem", "key.pem"};
	char **dst[3] = {&ep->ca_file, &ep->cert_file, &ep->key_file};

	dir = env_set(cert_path) ? xstrdup(cert_path) : xasprintf("%s/.docker", home ? home : "");
	for (int i = 0; i < 3; i++) {
		char *p = xasprintf("%s/%s", dir, names[i]);

		if (file_exists(p))
			*dst[i] = p;
		else
			free(p);
	}
}

int engine_endpoint_parse(const char *docker_host, const char *tls_verify, const char *tls,
                          const char *cert_path, struct engine_endpoint *out, struct lo2_err *err)
{
	const char *h = env_set(docker_host) ? docker_host : "unix://" DEFAULT_SOCKET;
	int ret;

	memset(out, 0, sizeof(*out));
	/* The CLI's rule: DOCKER_TLS_VERIFY set to anything non-empty (even "0") verifies. */
	out->tls_verify = env_set(tls_verify);
	out->tls = out->tls_verify || env_set(tls);
	if (lo2_str_has_prefix(h, "unix://")) {
		ret = parse_unix(h + 7, out, err);
		out->tls = out->tls_verify = false;
	} else if (lo2_str_has_prefix(h, "tcp://")) {
		ret = parse_tcp(h + 6, out->tls, out, err);
	} else if (lo2_str_has_prefix(h, "https://")) {
		out->tls = true;
		ret = parse_tcp(h + 8, true, out, err);
	} else if (lo2_str_has_prefix(h, "http://")) {
		ret = parse_tcp(h + 7, out->tls, out, err);
	} else if (h[0] == '/') {
		ret = parse_unix(h, out, err);
	} else {
		char shown[256];

		lo2_str_escape(h, shown, sizeof(shown));
		ret = lo2_err_set(err, LO2_E_INVALID,
		                  "invalid DOCKER_HOST \"%s\": expected unix:///path or tcp://host[:port] "
		                  "(ssh:// and npipe:// are not supported)",
		                  shown);
	}
	if (ret == 0 && out->tls)
		tls_files(cert_path, out);
	if (ret < 0)
		engine_endpoint_free(out);
	return ret;
}

void engine_endpoint_free(struct engine_endpoint *ep)
{
	if (ep == NULL)
		return;
	free(ep->unix_path);
	free(ep->base_url);
	free(ep->ca_file);
	free(ep->cert_file);
	free(ep->key_file);
	free(ep->display);
	memset(ep, 0, sizeof(*ep));
}

int engine_parse_api_version(const char *s, int *minor)
{
	char *end;
	long m;

	if (s == NULL || s[0] == 'v')
		s = s ? s + 1 : s;
	if (s == NULL || strncmp(s, "1.", 2) != 0)
		return -1;
	errno = 0;
	m = strtol(s + 2, &end, 10);
	if (end == s + 2 || *end != '\0' || m < 0 || m > 999 || errno)
		return -1;
	*minor = (int)m;
	return 0;
}

static void set_api(struct engine *e, int minor)
{
	e->api_minor = minor;
	snprintf(e->api, sizeof(e->api), "1.%d", minor);
}

static void copy_str(char *dst, size_t n, const struct lo2_json *doc, const char *key)
{
	const char *s = lo2_json_str(lo2_json_get(doc, key));

	snprintf(dst, n, "%s", s ? s : "");
}

static int read_version(struct engine *e, struct lo2_err *err)
{
	struct ereq r = {.path = "/version", .unversioned = true, .timeout_ms = 30000};
	struct lo2_json *doc = NULL;

	if (engine_call_json(e, &r, "engine /version", &doc, err, "read version of engine %s",
	                     engine_display(e)) < 0)
		return -1;
	copy_str(e->ver.version, sizeof(e->ver.version), doc, "Version");
	copy_str(e->ver.api_version, sizeof(e->ver.api_version), doc, "ApiVersion");
	copy_str(e->ver.min_api_version, sizeof(e->ver.min_api_version), doc, "MinAPIVersion");
	copy_str(e->ver.os, sizeof(e->ver.os), doc, "Os");
	copy_str(e->ver.arch, sizeof(e->ver.arch), doc, "Arch");
	copy_str(e->ver.kernel, sizeof(e->ver.kernel), doc, "KernelVersion");
	lo2_json_free(doc);
	return 0;
}

/* The version rule: the lower of the engine's maximum and lo2's newest, never below the
 * engine's minimum, and never below lo2's oldest (1.41). */
static int choose_version(struct engine *e, struct lo2_err *err)
{
	int max = 0, min = 0, v;

	if (engine_parse_api_version(e->ver.api_version, &max) < 0)
		return lo2_err_set(err, LO2_E_GENERIC, "engine %s reports an unreadable API version \"%s\"",
		                   engine_display(e), e->ver.api_version);
	if (e->ver.min_api_version[0] && engine_parse_api_version(e->ver.min_api_version, &min) < 0)
		min = 0;
	v = max < ENGINE_API_MAX_MINOR ? max : ENGINE_API_MAX_MINOR;
	if (v < min) {
		if (min > ENGINE_API_MAX_MINOR)
			return lo2_err_set(
			    err, LO2_E_GENERIC,
			    "engine %s (Docker %s) requires API %s or newer; lo2 speaks 1.%d to 1.%d",
			    engine_display(e), e->ver.version, e->ver.min_api_version, ENGINE_API_MIN_MINOR,
			    ENGINE_API_MAX_MINOR);
		v = min;
	}
	if (v < ENGINE_API_MIN_MINOR)
		return lo2_err_set(
		    err, LO2_E_GENERIC,
		    "engine %s (Docker %s) speaks API %s at most; lo2 needs 1.%d or newer (Docker 20.10+)",
		    engine_display(e), e->ver.version, e->ver.api_version, ENGINE_API_MIN_MINOR);
	set_api(e, v);
	return 0;
}

int engine_negotiate(struct engine *e, struct lo2_err *err)
{
	if (engine_ping(e, err) < 0 || read_version(e, err) < 0)
		return -1;
	if (e->api_pinned)
		return 0;
	if (choose_version(e, err) < 0)
		return -1;
	lo2_debug("engine: %s is Docker %s, API %s (min %s); using %s", engine_display(e), e->ver.version,
	          e->ver.api_version, e->ver.min_api_version, e->api);
	return 0;
}

static int pin_version(struct engine *e, const char *pin, struct lo2_err *err)
{
	int minor;

	if (engine_parse_api_version(pin, &minor) < 0)
		return lo2_err_set(err, LO2_E_INVALID, "invalid DOCKER_API_VERSION \"%s\": expected 1.NN",
		                   pin);
	if (minor < ENGINE_API_MIN_MINOR)
		return lo2_err_set(err, LO2_E_INVALID,
		                   "DOCKER_API_VERSION %s is older than 1.%d, the oldest lo2 supports", pin,
		                   ENGINE_API_MIN_MINOR);
	e->api_pinned = true;
	set_api(e, minor);
	return 0;
}

int engine_open(const char *docker_host, struct engine **out, struct lo2_err *err)
{
	struct engine *e = xcalloc(1, sizeof(*e));
	const char *pin = getenv("DOCKER_API_VERSION");

	pthread_mutex_init(&e->lock, NULL);
	if (engine_endpoint_parse(docker_host ? docker_host : getenv("DOCKER_HOST"),
	                          getenv("DOCKER_TLS_VERIFY"), getenv("DOCKER_TLS"),
	                          getenv("DOCKER_CERT_PATH"), &e->ep, err) < 0)
		goto fail;
	if (env_set(pin) && pin_version(e, pin, err) < 0)
		goto fail;
	if (engine_negotiate(e, err) < 0)
		goto fail;
	*out = e;
	return 0;
fail:
	engine_free(e);
	return -1;
}

void engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	engine_cancel_free(e);
	engine_pool_free(e);
	engine_endpoint_free(&e->ep);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

void engine_set_cancel(struct engine *e, const atomic_bool *cancel)
{
	atomic_store(&e->cancel, cancel);
}

const char *engine_api_version(const struct engine *e)
{
	return e->api;
}

bool engine_api_at_least(const struct engine *e, int minor)
{
	return e->api_minor >= minor;
}

const char *engine_display(const struct engine *e)
{
	return e->ep.display ? e->ep.display : "the engine";
}

const struct engine_version_info *engine_version(const struct engine *e)
{
	return &e->ver;
}

int engine_ping(struct engine *e, struct lo2_err *err)
{
	struct ereq r = {.path = "/_ping", .unversioned = true, .timeout_ms = 30000};
	struct eresp resp;
	int ret;

	ret = engine_call(e, &r, &resp, err, "ping engine %s", engine_display(e));
	eresp_free(&resp);
	return ret;
}

int engine_info(struct engine *e, struct engine_info *out, struct lo2_err *err)
{
	struct ereq r = {.path = "/info"};
	struct lo2_json *doc = NULL;
	int64_t n = 0;

	memset(out, 0, sizeof(*out));
	if (engine_call_json(e, &r, "engine /info", &doc, err, "read info of engine %s", engine_display(e)) <
	    0)
		return -1;
	copy_str(out->driver, sizeof(out->driver), doc, "Driver");
	copy_str(out->cgroup_version, sizeof(out->cgroup_version), doc, "CgroupVersion");
	out->system_time_ns = engine_parse_time(lo2_json_str(lo2_json_get(doc, "SystemTime")));
	if (lo2_json_int(lo2_json_get(doc, "NCPU"), &n))
		out->ncpu = (int)n;
	lo2_json_int(lo2_json_get(doc, "MemTotal"), &out->mem_total);
	lo2_json_free(doc);
	return 0;
}

int engine_clock_offset(struct engine *e, int64_t *offset_ns, struct lo2_err *err)
{
	int64_t best_rtt = INT64_MAX;

	/* An engine behind a unix socket runs on this kernel: one clock. (/info takes its time
	 * somewhere inside a slow call, so measuring it here would only add an error.) */
	if (e->ep.unix_path) {
		*offset_ns = 0;
		return 0;
	}
	/* Otherwise the sample with the shortest round trip of three, its middle taken as the
	 * engine's instant. */
	for (int i = 0; i < 3; i++) {
		struct engine_info info;
		int64_t before = lo2_now_ns(), after;

		if (engine_info(e, &info, err) < 0)
			return -1;
		after = lo2_now_ns();
		if (info.system_time_ns == 0)
			return lo2_err_set(err, LO2_E_GENERIC,
			                   "read clock of engine %s: /info has no SystemTime",
			                   engine_display(e));
		if (after - before < best_rtt) {
			best_rtt = after - before;
			*offset_ns = info.system_time_ns - (before + (after - before) / 2);
		}
	}
	return 0;
}

/* ---- helpers shared by the resource files ---- */

char *engine_filters_query(const struct lo2_strv *filters)
{
	lo2_autofree char *json = engine_filters_json(filters);
	lo2_autofree char *esc = engine_escape(json);

	return xasprintf("filters=%s", esc);
}

char *engine_filters_json(const struct lo2_strv *filters)
{
	struct lo2_jw *w = lo2_jw_new(NULL);
	struct lo2_strv keys = {0};

	for (size_t i = 0; filters && i < filters->n; i++) {
		const char *eq = strchr(filters->v[i], '=');
		lo2_autofree char *k =
		    eq ? xstrndup(filters->v[i], (size_t)(eq - filters->v[i])) : xstrdup(filters->v[i]);

		if (!lo2_strv_contains(&keys, k))
			lo2_strv_push(&keys, k);
	}
	lo2_jw_obj(w);
	for (size_t k = 0; k < keys.n; k++) {
		size_t klen = strlen(keys.v[k]);

		lo2_jw_key(w, keys.v[k]);
		lo2_jw_arr(w);
		for (size_t i = 0; i < filters->n; i++) {
			const char *f = filters->v[i];

			if (strncmp(f, keys.v[k], klen) == 0 && (f[klen] == '=' || f[klen] == '\0'))
				lo2_jw_str(w, f[klen] == '=' ? f + klen + 1 : "");
		}
		lo2_jw_arr_end(w);
	}
	lo2_jw_obj_end(w);
	lo2_strv_free(&keys);
	return lo2_jw_finish(w, NULL);
}

int engine_lines_feed(void *user, const char *p, size_t n, struct lo2_err *err)
{
	struct engine_lines *l = user;

	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;

		if (lo2_buf_append(&l->buf, p, take) < 0)
			return lo2_err_set(err, LO2_E_GENERIC, "engine stream: a line longer than %zu bytes",
			                   l->buf.max);
		p += take;
		n -= take;
		if (nl == NULL)
			break;
		p++;
		n--;
		if (l->buf.len > 0 && l->on_line(l->user, l->buf.data, l->buf.len, err) < 0)
			return -1;
		lo2_buf_reset(&l->buf);
	}
	return 0;
}

int engine_lines_finish(struct engine_lines *l, struct lo2_err *err)
{
	int ret = 0;

	if (l->buf.len > 0)
		ret = l->on_line(l->user, l->buf.data, l->buf.len, err);
	lo2_buf_free(&l->buf);
	return ret;
}

static int progress_line(void *user, const char *line, size_t n, struct lo2_err *err)
{
	struct engine_progress *p = user;
	struct lo2_json *doc = NULL;
	const char *s;
	const struct lo2_json *v;

	if (lo2_json_parse(line, "engine progress stream", &doc, err) < 0)
		return -1;
	v = lo2_json_path(doc, "errorDetail", "message", NULL);
	s = v ? lo2_json_str(v) : lo2_json_str(lo2_json_get(doc, "error"));
	if (s != NULL && p->error == NULL)
		p->error = xstrdup(s);
	s = lo2_json_str(lo2_json_path(doc, "aux", "ID", NULL));
	if (s != NULL) {
		free(p->last_id);
		p->last_id = xstrdup(s);
	}
	s = lo2_json_str(lo2_json_get(doc, "status"));
	if (s != NULL && lo2_str_has_prefix(s, "sha256:")) {
		free(p->last_id);
		p->last_id = xstrdup(s);
	}
	if (p->fn != NULL) {
		const char *text = lo2_json_str(lo2_json_get(doc, "stream"));
		lo2_autofree char *msg = NULL;

		if (text == NULL && s != NULL) {
			const char *id = lo2_json_str(lo2_json_get(doc, "id"));
			const char *prog = lo2_json_str(lo2_json_get(doc, "progress"));

			msg = xasprintf("%s%s%s%s%s", id ? id : "", id ? ": " : "", s, prog ? " " : "",
			                prog ? prog : "");
			text = msg;
		}
		if (text != NULL) {
			lo2_autofree char *t = xstrdup(text);
			size_t l = strlen(t);

			while (l > 0 && (t[l - 1] == '\n' || t[l - 1] == '\r'))
				t[--l] = '\0';
			if (l > 0)
				p->fn(p->user, t);
		}
	}
	lo2_json_free(doc);
	return 0;
}

void engine_progress_init(struct engine_progress *p, engine_progress_fn fn, void *user)
{
	memset(p, 0, sizeof(*p));
	p->fn = fn;
	p->user = user;
	p->lines.on_line = progress_line;
	p->lines.user = p;
	p->lines.buf.max = 1024 * 1024;
}

void engine_progress_free(struct engine_progress *p)
{
	free(p->last_id);
	free(p->error);
	lo2_buf_free(&p->lines.buf);
}

void engine_json_kvv(const struct lo2_json *obj, struct lo2_kvv *out)
{
	for (size_t i = 0; i < lo2_json_len(obj) && lo2_json_is_object(obj); i++) {
		const char *v = lo2_json_str(lo2_json_val_at(obj, i));

		lo2_kvv_set(out, lo2_json_key_at(obj, i), v ? v : "");
	}
}

void engine_jw_kvv(struct lo2_jw *w, const char *key, const struct lo2_kvv *kv)
{
	lo2_jw_key(w, key);
	lo2_jw_obj(w);
	for (size_t i = 0; i < kv->n; i++) {
		lo2_jw_key(w, kv->v[i].key);
		lo2_jw_str(w, kv->v[i].val ? kv->v[i].val : "");
	}
	lo2_jw_obj_end(w);
}

void engine_jw_strv(struct lo2_jw *w, const char *key, const struct lo2_strv *v)
{
	lo2_jw_key(w, key);
	lo2_jw_arr(w);
	for (size_t i = 0; i < v->n; i++)
		lo2_jw_str(w, v->v[i]);
	lo2_jw_arr_end(w);
}

char *engine_json_strdup(const struct lo2_json *obj, const char *key)
{
	return xstrdup(lo2_json_str(lo2_json_get(obj, key)));
}

int64_t engine_parse_time(const char *s)
{
	int64_t ns = 0;

	if (s == NULL || lo2_str_has_prefix(s, "0001-01-01") || lo2_time_parse(s, &ns, NULL) < 0)
		return 0;
	return ns;
}

ssize_t engine_read_fd(void *user, char *buf, size_t n, struct lo2_err *err)
{
	int fd = *(int *)user;

	for (;;) {
		ssize_t r = read(fd, buf, n);

		if (r >= 0)
			return r;
		if (errno != EINTR)
			return lo2_err_errno(err, errno, "read upload");
	}
}
