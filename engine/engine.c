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

	/* Never echo what follows: it would print a password. */
	if (strchr(hp, '@') != NULL)
		return lo2_err_set(err, LO2_E_INVALID,
		                   "invalid DOCKER_HOST: credentials (user:password@) are not supported in "
		                   "DOCKER_HOST; use TLS client certificates (DOCKER_CERT_PATH)");
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

/* Checks one TLS file: 1 when it is there and readable, 0 when missing, -1 (err) when unreadable. */
static int tls_file(const char *path, struct lo2_err *err)
{
	struct stat st;
	FILE *f;

	if (stat(path, &st) != 0 && errno == ENOENT)
		return 0;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return lo2_err_set(err, LO2_E_INVALID, "TLS file %s is not a regular file", path);
	f = fopen(path, "r");
	if (f == NULL)
		return lo2_err_errno(err, errno, "TLS file %s cannot be read", path);
	fclose(f);
	return 1;
}

/* Finds ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH (or ~/.docker). With verification the CA
 * is required; a client certificate needs its key and the other way round. Missing or unreadable
 * files are named here, before any connect turns them into a bare "SSL connect error". */
static int tls_files(const char *cert_path, struct engine_endpoint *ep, struct lo2_err *err)
{
	lo2_autofree char *dir = NULL;
	const char *home = getenv("HOME");
	const char *names[3] = {"ca.pem", "cert.pem", "key.pem"};
	char **dst[3] = {&ep->ca_file, &ep->cert_file, &ep->key_file};
	struct stat st;
	int have[3];

	dir = env_set(cert_path) ? xstrdup(cert_path) : xasprintf("%s/.docker", home ? home : "");
	if (env_set(cert_path) && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
		return lo2_err_set(err, LO2_E_INVALID,
		                   "DOCKER_CERT_PATH %s is not a folder (it should hold "
		                   "ca.pem, cert.pem and key.pem)",
		                   dir);
	for (int i = 0; i < 3; i++) {
		char *p = xasprintf("%s/%s", dir, names[i]);

		have[i] = tls_file(p, err);
		if (have[i] < 0) {
			free(p);
			return -1;
		}
		if (have[i])
			*dst[i] = p;
		else
			free(p);
	}
	if (ep->tls_verify && !have[0])
		return lo2_err_set(err, LO2_E_INVALID,
		                   "TLS verification (DOCKER_TLS_VERIFY) needs the CA certificate %s/ca.pem: "
		                   "it is missing",
		                   dir);
	if (have[1] != have[2])
		return lo2_err_set(err, LO2_E_INVALID,
		                   "TLS client certificate: %s/%s is missing (%s is there)", dir,
		                   names[have[1] ? 2 : 1], names[have[1] ? 1 : 2]);
	return 0;
}

/* True for localhost, 127.0.0.0/8 and [::1]: plain HTTP there stays on this machine. */
static bool is_loopback(const char *base_url)
{
	const char *h = strstr(base_url, "://");

	h = h ? h + 3 : base_url;
	return lo2_str_has_prefix(h, "localhost:") || lo2_str_has_prefix(h, "127.") ||
	       lo2_str_has_prefix(h, "[::1]:");
}

/* The endpoint's address from docker_host (NULL or "": the default socket); out->tls says
 * whether tcp:// speaks TLS (https:// turns it on, a socket off). */
static int parse_host(const char *docker_host, struct engine_endpoint *out, struct lo2_err *err)
{
	const char *h = env_set(docker_host) ? docker_host : "unix://" DEFAULT_SOCKET;
	int ret;

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
	return ret;
}

int engine_endpoint_parse(const char *docker_host, const char *tls_verify, const char *tls,
                          const char *cert_path, struct engine_endpoint *out, struct lo2_err *err)
{
	int ret;

	memset(out, 0, sizeof(*out));
	/* The CLI's rule: DOCKER_TLS_VERIFY set to anything non-empty (even "0") verifies. */
	out->tls_verify = env_set(tls_verify);
	out->tls = out->tls_verify || env_set(tls);
	ret = parse_host(docker_host, out, err);
	if (ret == 0 && out->tls)
		ret = tls_files(cert_path, out, err);
	if (ret == 0 && out->unix_path == NULL && !out->tls && !is_loopback(out->base_url))
		out->cleartext = true;
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

/* The API versions lo2 speaks, as URL prefixes take them; the negotiated one is an index into
 * this table (an atomic int), so threads building URLs never read a half-written string. */
static const char *const api_names[] = {"1.41", "1.42", "1.43", "1.44", "1.45", "1.46", "1.47"};
_Static_assert(sizeof(api_names) / sizeof(api_names[0]) == ENGINE_API_MAX_MINOR - ENGINE_API_MIN_MINOR + 1,
               "api_names covers ENGINE_API_MIN_MINOR..ENGINE_API_MAX_MINOR");

static void set_api(struct engine *e, int minor)
{
	atomic_store(&e->api_minor, minor);
}

int engine_api_minor(const struct engine *e)
{
	return atomic_load(&((struct engine *)(uintptr_t)e)->api_minor);
}

static void copy_str(char *dst, size_t n, const struct lo2_json *doc, const char *key)
{
	const char *s = lo2_json_str(lo2_json_get(doc, key));

	snprintf(dst, n, "%s", s ? s : "");
}

static int read_version(struct engine *e, struct engine_version_info *v, struct lo2_err *err)
{
	struct ereq r = {.path = "/version", .unversioned = true, .timeout_ms = 30000};
	struct lo2_json *doc = NULL;

	if (engine_call_json(e, &r, "engine /version", &doc, err, "read version of engine %s",
	                     engine_display(e)) < 0)
		return -1;
	copy_str(v->version, sizeof(v->version), doc, "Version");
	copy_str(v->api_version, sizeof(v->api_version), doc, "ApiVersion");
	copy_str(v->min_api_version, sizeof(v->min_api_version), doc, "MinAPIVersion");
	copy_str(v->os, sizeof(v->os), doc, "Os");
	copy_str(v->arch, sizeof(v->arch), doc, "Arch");
	copy_str(v->kernel, sizeof(v->kernel), doc, "KernelVersion");
	lo2_json_free(doc);
	return 0;
}

/* The version rule: the lower of the engine's maximum and lo2's newest, never below the
 * engine's minimum, and never below lo2's oldest (1.41). */
static int choose_version(struct engine *e, const struct engine_version_info *ver, int *out,
                          struct lo2_err *err)
{
	int max = 0, min = 0, v;

	if (engine_parse_api_version(ver->api_version, &max) < 0)
		return lo2_err_set(err, LO2_E_GENERIC, "engine %s reports an unreadable API version \"%s\"",
		                   engine_display(e), ver->api_version);
	if (ver->min_api_version[0] && engine_parse_api_version(ver->min_api_version, &min) < 0)
		min = 0;
	v = max < ENGINE_API_MAX_MINOR ? max : ENGINE_API_MAX_MINOR;
	if (v < min) {
		if (min > ENGINE_API_MAX_MINOR)
			return lo2_err_set(
			    err, LO2_E_GENERIC,
			    "engine %s (Docker %s) requires API %s or newer; lo2 speaks 1.%d to 1.%d",
			    engine_display(e), ver->version, ver->min_api_version, ENGINE_API_MIN_MINOR,
			    ENGINE_API_MAX_MINOR);
		v = min;
	}
	if (v < ENGINE_API_MIN_MINOR)
		return lo2_err_set(
		    err, LO2_E_GENERIC,
		    "engine %s (Docker %s) speaks API %s at most; lo2 needs 1.%d or newer (Docker 20.10+)",
		    engine_display(e), ver->version, ver->api_version, ENGINE_API_MIN_MINOR);
	*out = v;
	return 0;
}

int engine_negotiate(struct engine *e, struct lo2_err *err)
{
	struct engine_version_info v = {0};
	int minor = 0;

	if (engine_ping(e, err) < 0 || read_version(e, &v, err) < 0)
		return -1;
	/* e->ver is written once, while opening (one thread); a renegotiation leaves it alone. */
	if (!e->opened)
		e->ver = v;
	if (e->api_pinned)
		return 0;
	if (choose_version(e, &v, &minor, err) < 0)
		return -1;
	set_api(e, minor);
	lo2_debug("engine: %s is Docker %s, API %s (min %s); using %s", engine_display(e), v.version,
	          v.api_version, v.min_api_version, api_names[minor - ENGINE_API_MIN_MINOR]);
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
	if (minor > ENGINE_API_MAX_MINOR)
		return lo2_err_set(
		    err, LO2_E_INVALID,
		    "DOCKER_API_VERSION %s is newer than 1.%d, the newest lo2 speaks (lo2 does not "
		    "clamp a pinned version: unset it to negotiate, or pin 1.%d..1.%d)",
		    pin, ENGINE_API_MAX_MINOR, ENGINE_API_MIN_MINOR, ENGINE_API_MAX_MINOR);
	e->api_pinned = true;
	set_api(e, minor);
	return 0;
}

/* Opens the engine at the parsed endpoint ep (taken over, also on failure): pin is the API
 * version to use (NULL or "": negotiate). */
static int open_at(struct engine_endpoint *ep, const char *pin, struct engine **out, struct lo2_err *err)
{
	struct engine *e = xcalloc(1, sizeof(*e));

	pthread_mutex_init(&e->lock, NULL);
	e->ep = *ep;
	memset(ep, 0, sizeof(*ep));
	if (env_set(pin) && pin_version(e, pin, err) < 0)
		goto fail;
	if (engine_negotiate(e, err) < 0)
		goto fail;
	e->opened = true;
	*out = e;
	return 0;
fail:
	engine_free(e);
	return -1;
}

int engine_open(const char *docker_host, struct engine **out, struct lo2_err *err)
{
	struct engine_endpoint ep;

	if (engine_endpoint_parse(docker_host ? docker_host : getenv("DOCKER_HOST"),
	                          getenv("DOCKER_TLS_VERIFY"), getenv("DOCKER_TLS"),
	                          getenv("DOCKER_CERT_PATH"), &ep, err) < 0)
		return -1;
	return open_at(&ep, getenv("DOCKER_API_VERSION"), out, err);
}

/* One TLS file of an explicit endpoint: required when named, and readable. */
static int explicit_tls_file(const char *what, const char *path, char **dst, struct lo2_err *err)
{
	int rc;

	if (path == NULL || path[0] == '\0')
		return 0;
	rc = tls_file(path, err);
	if (rc < 0)
		return lo2_err_prefix(err, "TLS %s", what);
	if (rc == 0)
		return lo2_err_set(err, LO2_E_INVALID, "TLS %s %s: no such file", what, path);
	*dst = xstrdup(path);
	return 0;
}

int engine_endpoint_parse_explicit(const struct engine_open_opts *o, struct engine_endpoint *out,
                                   struct lo2_err *err)
{
	bool have_cert = env_set(o->cert_file), have_key = env_set(o->key_file);
	int ret;

	memset(out, 0, sizeof(*out));
	/* TLS files are taken only from where o says: never from the environment or ~/.docker */
	out->tls = o->tls || env_set(o->ca_file) || have_cert || have_key;
	ret = parse_host(o->host, out, err);
	if (ret == 0 && out->tls) {
		out->tls_verify = env_set(o->ca_file);
		if (explicit_tls_file("CA certificate", o->ca_file, &out->ca_file, err) < 0 ||
		    explicit_tls_file("client certificate", o->cert_file, &out->cert_file, err) < 0 ||
		    explicit_tls_file("client key", o->key_file, &out->key_file, err) < 0)
			ret = -1;
		else if (have_cert != have_key)
			ret = lo2_err_set(err, LO2_E_INVALID,
			                  "TLS of %s: a client certificate needs its key and the other way "
			                  "round",
			                  out->display);
	}
	if (ret == 0 && out->unix_path == NULL && !out->tls && !is_loopback(out->base_url))
		out->cleartext = true;
	if (ret < 0)
		engine_endpoint_free(out);
	return ret;
}

int engine_open_endpoint(const struct engine_open_opts *o, struct engine **out, struct lo2_err *err)
{
	struct engine_endpoint ep;

	if (engine_endpoint_parse_explicit(o, &ep, err) < 0)
		return -1;
	return open_at(&ep, o->api_version, out, err);
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
	return api_names[engine_api_minor(e) - ENGINE_API_MIN_MINOR];
}

bool engine_api_at_least(const struct engine *e, int minor)
{
	return engine_api_minor(e) >= minor;
}

bool engine_is_cleartext(const struct engine *e)
{
	return e->ep.cleartext;
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
	copy_str(out->cgroup_driver, sizeof(out->cgroup_driver), doc, "CgroupDriver");
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

/* The fields of one progress line; every one optional, each of its type when present. */
struct progress_fields {
	const struct lo2_json *error, *detail, *detail_msg, *aux, *aux_id, *status, *stream, *id, *progress;
};

static int read_progress(const struct lo2_json *doc, struct progress_fields *f, struct lo2_err *err)
{
	const char *w = "the line";

	if (!lo2_json_is_object(doc))
		return lo2_err_set(err, LO2_E_INVALID, "the line is not an object");
	if (engine_field(doc, "error", ENGINE_J_STR, false, w, &f->error, err) < 0 ||
	    engine_field(doc, "errorDetail", ENGINE_J_OBJ, false, w, &f->detail, err) < 0 ||
	    engine_field(f->detail, "message", ENGINE_J_STR, false, "errorDetail", &f->detail_msg, err) < 0 ||
	    engine_field(doc, "aux", ENGINE_J_OBJ, false, w, &f->aux, err) < 0 ||
	    engine_field(doc, "status", ENGINE_J_STR, false, w, &f->status, err) < 0 ||
	    engine_field(doc, "stream", ENGINE_J_STR, false, w, &f->stream, err) < 0 ||
	    engine_field(doc, "id", ENGINE_J_STR, false, w, &f->id, err) < 0 ||
	    engine_field(doc, "progress", ENGINE_J_STR, false, w, &f->progress, err) < 0)
		return -1;
	/* aux carries other shapes too (build: {"ID":..}; push: {"Tag":..}): only an ID is read. */
	f->aux_id = lo2_json_get(f->aux, "ID");
	if (f->aux_id != NULL && lo2_json_str(f->aux_id) == NULL)
		return lo2_err_set(err, LO2_E_INVALID, "aux: ID is not a string");
	return 0;
}

static void progress_report(struct engine_progress *p, const struct progress_fields *f)
{
	const char *s = lo2_json_str(f->status), *text = lo2_json_str(f->stream);
	const char *id = lo2_json_str(f->id), *prog = lo2_json_str(f->progress);
	lo2_autofree char *msg = NULL;
	lo2_autofree char *t = NULL;
	size_t l;

	if (text == NULL && s != NULL) {
		msg = xasprintf("%s%s%s%s%s", id ? id : "", id ? ": " : "", s, prog ? " " : "",
		                prog ? prog : "");
		text = msg;
	}
	if (text == NULL)
		return;
	t = xstrdup(text);
	l = strlen(t);
	while (l > 0 && (t[l - 1] == '\n' || t[l - 1] == '\r'))
		t[--l] = '\0';
	if (l > 0)
		p->fn(p->user, t);
}

static int progress_line(void *user, const char *line, size_t n, struct lo2_err *err)
{
	struct engine_progress *p = user;
	struct lo2_json *doc = NULL;
	struct progress_fields f = {0};
	const char *s;

	p->n_lines++;
	if (lo2_json_parse(line, "engine progress stream", &doc, err) < 0)
		return -1;
	if (read_progress(doc, &f, err) < 0) {
		lo2_json_free(doc);
		return lo2_err_prefix(err, "engine progress stream, line %llu", p->n_lines);
	}
	s = f.detail_msg ? lo2_json_str(f.detail_msg) : lo2_json_str(f.error);
	if (s != NULL && p->error == NULL)
		p->error = xstrdup(s);
	if (f.aux_id != NULL) {
		free(p->last_id);
		p->last_id = xstrdup(lo2_json_str(f.aux_id));
	}
	s = lo2_json_str(f.status);
	if (s != NULL && lo2_str_has_prefix(s, "sha256:")) {
		free(p->last_id);
		p->last_id = xstrdup(s);
	}
	if (p->fn != NULL)
		progress_report(p, &f);
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

int engine_check_ref(const char *ref, const char *op, struct lo2_err *err)
{
	char shown[300];

	if (ref == NULL || ref[0] == '\0')
		return lo2_err_set(err, LO2_E_INVALID, "%s: the name is empty", op);
	lo2_str_escape(ref, shown, sizeof(shown));
	if (strcmp(ref, ".") == 0 || strcmp(ref, "..") == 0)
		return lo2_err_set(err, LO2_E_INVALID, "%s \"%s\": not a container name or ID", op, shown);
	for (const char *p = ref; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '/')
			return lo2_err_set(
			    err, LO2_E_INVALID,
			    "%s \"%s\": a container name or ID holds no '/' or control character", op, shown);
	return 0;
}

int engine_read_entries(const struct lo2_json *arr, size_t sz, void **v, size_t *n,
                        int (*read)(const struct lo2_json *elem, const char *what, void *slot,
                                    struct lo2_err *err),
                        struct lo2_err *err)
{
	size_t len = lo2_json_len(arr);

	*n = 0;
	*v = xcalloc(len + 1, sz);
	if (arr != NULL && !lo2_json_is_array(arr))
		return lo2_err_set(err, LO2_E_INVALID, "the answer is not an array");
	for (size_t i = 0; i < len; i++) {
		char what[40];

		snprintf(what, sizeof(what), "entry %zu", i + 1);
		(*n)++;
		if (read(lo2_json_at(arr, i), what, (char *)*v + i * sz, err) < 0)
			return -1;
	}
	return 0;
}

static bool has_type(const struct lo2_json *v, enum engine_jtype type)
{
	int64_t i;

	switch (type) {
	case ENGINE_J_STR:
		return lo2_json_str(v) != NULL;
	case ENGINE_J_OBJ:
		return lo2_json_is_object(v);
	case ENGINE_J_ARR:
		return lo2_json_is_array(v);
	case ENGINE_J_INT:
		return lo2_json_int(v, &i);
	case ENGINE_J_BOOL:
		return lo2_json_is_bool(v);
	}
	return false;
}

int engine_field(const struct lo2_json *obj, const char *key, enum engine_jtype type, bool required,
                 const char *what, const struct lo2_json **out, struct lo2_err *err)
{
	static const char *const names[] = {"a string", "an object", "an array", "an integer", "a boolean"};
	const struct lo2_json *v = lo2_json_get(obj, key);

	*out = NULL;
	if (v == NULL || lo2_json_is_null(v)) {
		if (required)
			return lo2_err_set(err, LO2_E_INVALID, "%s has no %s", what, key);
		return 0;
	}
	if (!has_type(v, type))
		return lo2_err_set(err, LO2_E_INVALID, "%s: %s is not %s", what, key, names[type]);
	*out = v;
	return 0;
}

int engine_field_strdup(const struct lo2_json *obj, const char *key, bool required, const char *what,
                        char **out, struct lo2_err *err)
{
	const struct lo2_json *v;

	if (engine_field(obj, key, ENGINE_J_STR, required, what, &v, err) < 0)
		return -1;
	*out = v ? xstrdup(lo2_json_str(v)) : NULL;
	return 0;
}

int engine_field_int(const struct lo2_json *obj, const char *key, const char *what, int64_t *out,
                     struct lo2_err *err)
{
	const struct lo2_json *v;

	if (engine_field(obj, key, ENGINE_J_INT, false, what, &v, err) < 0)
		return -1;
	if (v != NULL)
		lo2_json_int(v, out);
	return 0;
}

int engine_field_bool(const struct lo2_json *obj, const char *key, const char *what, bool *out,
                      struct lo2_err *err)
{
	const struct lo2_json *v;

	if (engine_field(obj, key, ENGINE_J_BOOL, false, what, &v, err) < 0)
		return -1;
	if (v != NULL)
		*out = lo2_json_is_true(v);
	return 0;
}

int engine_field_kvv(const struct lo2_json *obj, const char *key, const char *what, struct lo2_kvv *out,
                     struct lo2_err *err)
{
	const struct lo2_json *m;

	if (engine_field(obj, key, ENGINE_J_OBJ, false, what, &m, err) < 0)
		return -1;
	for (size_t i = 0; i < lo2_json_len(m); i++) {
		const char *v = lo2_json_str(lo2_json_val_at(m, i));

		if (v == NULL)
			return lo2_err_set(err, LO2_E_INVALID, "%s: %s.%s is not a string", what, key,
			                   lo2_json_key_at(m, i));
		lo2_kvv_set(out, lo2_json_key_at(m, i), v);
	}
	return 0;
}

int engine_field_strv(const struct lo2_json *obj, const char *key, const char *what, struct lo2_strv *out,
                      struct lo2_err *err)
{
	const struct lo2_json *a;

	if (engine_field(obj, key, ENGINE_J_ARR, false, what, &a, err) < 0)
		return -1;
	for (size_t i = 0; i < lo2_json_len(a); i++) {
		const char *v = lo2_json_str(lo2_json_at(a, i));

		if (v == NULL)
			return lo2_err_set(err, LO2_E_INVALID, "%s: %s[%zu] is not a string", what, key, i);
		lo2_strv_push(out, v);
	}
	return 0;
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
