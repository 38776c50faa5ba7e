/* transport.c - HTTP to the Docker Engine over libcurl: unix socket or tcp(+TLS), a pool
 * of easy handles for connection reuse across calls and threads, timeouts for ordinary calls
 * and none for streams, cancellation, and the error messages a user can act on. */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/mem.h"
#include "engine/auth.h"
#include "engine/internal.h"

#define BODY_CAP (64u * 1024 * 1024)
#define DEFAULT_TIMEOUT_MS 120000L
#define CONNECT_TIMEOUT_MS 10000L
#define STALL_SECONDS 60L

struct xfer {
	struct engine *e;
	struct ecancel cancel;
	const struct ereq *req;
	struct eresp *resp;
	struct lo2_err *err;
	CURL *h;
	bool failed; /* a callback set err */
	bool cancelled;
	bool status_known;
	bool to_callback;
	bool too_big;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static CURL *pool_get(struct engine *e)
{
	CURL *h = NULL;

	pthread_mutex_lock(&e->lock);
	if (e->n_pool > 0)
		h = e->pool[--e->n_pool];
	pthread_mutex_unlock(&e->lock);
	if (h == NULL) {
		h = curl_easy_init();
		if (h == NULL)
			abort();
	}
	curl_easy_reset(h);
	return h;
}

static void pool_put(struct engine *e, CURL *h)
{
	pthread_mutex_lock(&e->lock);
	e->pool = xrealloc(e->pool, (e->n_pool + 1) * sizeof(*e->pool));
	e->pool[e->n_pool++] = h;
	pthread_mutex_unlock(&e->lock);
}

void engine_pool_free(struct engine *e);
void engine_pool_free(struct engine *e)
{
	for (size_t i = 0; i < e->n_pool; i++)
		curl_easy_cleanup(e->pool[i]);
	free(e->pool);
	e->pool = NULL;
	e->n_pool = 0;
}

static bool is_2xx(long s)
{
	return s >= 200 && s < 300;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *user)
{
	struct xfer *x = user;
	size_t n = size * nmemb;

	if (!x->status_known) {
		curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->resp->status);
		x->status_known = true;
		x->to_callback = x->req->on_body != NULL && is_2xx(x->resp->status);
	}
	if (x->to_callback) {
		if (x->req->on_body(x->req->user, p, n, x->err) < 0) {
			x->failed = true;
			return 0;
		}
		return n;
	}
	if (lo2_buf_append(&x->resp->body, p, n) < 0) {
		x->too_big = true;
		return 0;
	}
	return n;
}

static void copy_header(char *dst, size_t dstsz, const char *v, size_t n)
{
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	while (n > 0 && *v == ' ') {
		v++;
		n--;
	}
	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *user)
{
	struct xfer *x = user;
	size_t n = size * nmemb;
	static const struct {
		const char *name;
		size_t off, sz;
	} want[] = {
	    {"content-type:", offsetof(struct eresp, content_type),
	     sizeof(((struct eresp *)0)->content_type)},
	    {"api-version:", offsetof(struct eresp, api_version), sizeof(((struct eresp *)0)->api_version)},
	    {"date:", offsetof(struct eresp, date), sizeof(((struct eresp *)0)->date)},
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		size_t l = strlen(want[i].name);

		if (n > l && strncasecmp(p, want[i].name, l) == 0)
			copy_header((char *)x->resp + want[i].off, want[i].sz, p + l, n - l);
	}
	return n;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *user)
{
	struct xfer *x = user;
	ssize_t r = x->req->upload(x->req->upload_user, buf, size * nmemb, x->err);

	if (r < 0) {
		x->failed = true;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)r;
}

static int on_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct xfer *x = user;

	if (x->cancel.cancel && atomic_load(x->cancel.cancel)) {
		x->cancelled = true;
		return 1;
	}
	return 0;
}

/* A new connection's socket, for a cancel to shut (the prereq callback below sees no active
 * socket in libcurl 7.88, so a request with a cancel flag of its own gets a connection of its
 * own: see set_common). */
static int on_sockopt(void *user, curl_socket_t fd, curlsocktype purpose)
{
	struct xfer *x = user;

	engine_cancel_socket(x->e, &x->cancel, (int)fd);
	return CURL_SOCKOPT_OK;
}

/* The connection is there and the request about to go: its socket, for a cancel to shut. */
static int on_prereq(void *user, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port)
{
	struct xfer *x = user;
	curl_socket_t fd = CURL_SOCKET_BAD;

	if (x->cancel.cancel && curl_easy_getinfo(x->h, CURLINFO_ACTIVESOCKET, &fd) == CURLE_OK &&
	    fd != CURL_SOCKET_BAD)
		engine_cancel_socket(x->e, &x->cancel, (int)fd);
	return CURL_PREREQFUNC_OK;
}

/* The message for a failed connect, by the OS error behind it. */
static int connect_error(struct engine *e, CURL *h, CURLcode rc, struct lo2_err *err)
{
	long os = 0;
	const char *what = engine_display(e);
	struct stat st;

	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os);
	if (e->ep.unix_path && stat(e->ep.unix_path, &st) == 0 && !S_ISSOCK(st.st_mode))
		return lo2_err_set(err, LO2_E_CONNECT,
		                   "connect to %s: %s is not a socket: DOCKER_HOST must name the engine's "
		                   "socket (usually /var/run/docker.sock)",
		                   what, e->ep.unix_path);
	if (e->ep.unix_path && os == ENOENT)
		return lo2_err_set(err, LO2_E_CONNECT,
		                   "connect to %s: socket not found: is the Docker Engine running? "
		                   "(set DOCKER_HOST if it listens elsewhere)",
		                   what);
	if (os == EACCES || os == EPERM)
		return lo2_err_set(
		    err, LO2_E_CONNECT,
		    "connect to %s: permission denied: run as root or as a member of the socket's "
		    "group (usually 'docker')",
		    what);
	if (os == ECONNREFUSED)
		return lo2_err_set(err, LO2_E_CONNECT,
		                   "connect to %s: connection refused: nothing is listening there "
		                   "(is dockerd running? is DOCKER_HOST right?)",
		                   what);
	return lo2_err_set(err, LO2_E_CONNECT, "connect to %s: %s", what, curl_easy_strerror(rc));
}

static void set_tls(struct engine *e, CURL *h)
{
	if (!e->ep.tls)
		return;
	if (e->ep.ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, e->ep.ca_file);
	if (e->ep.cert_file)
		curl_easy_setopt(h, CURLOPT_SSLCERT, e->ep.cert_file);
	if (e->ep.key_file)
		curl_easy_setopt(h, CURLOPT_SSLKEY, e->ep.key_file);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, e->ep.tls_verify ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, e->ep.tls_verify ? 2L : 0L);
}

static struct curl_slist *set_method_body(CURL *h, const struct ereq *r, struct xfer *x)
{
	struct curl_slist *hdr = curl_slist_append(NULL, "Expect:");
	const char *m = r->method ? r->method : "GET";

	if (r->extra_header)
		hdr = curl_slist_append(hdr, r->extra_header);
	if (strcmp(m, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(m, "POST") == 0 && r->upload) {
		char ct[160];

		snprintf(ct, sizeof(ct), "Content-Type: %s",
		         r->upload_type ? r->upload_type : "application/x-tar");
		hdr = curl_slist_append(hdr, ct);
		hdr = curl_slist_append(hdr, "Transfer-Encoding: chunked");
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, x);
	} else if (strcmp(m, "POST") == 0) {
		if (r->json)
			hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->json ? r->json : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		                 (curl_off_t)(r->json ? (r->json_len ? r->json_len : strlen(r->json)) : 0));
	} else if (strcmp(m, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	return hdr;
}

static void set_common(struct engine *e, CURL *h, const struct ereq *r, struct xfer *x, const char *url)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (e->ep.unix_path)
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, e->ep.unix_path);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "lo2/" LO2_VERSION);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	if (!r->stream)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->timeout_ms ? r->timeout_ms : DEFAULT_TIMEOUT_MS);
	if (!r->may_idle) {
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, STALL_SECONDS);
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	if (x->cancel.cancel) {
		curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, on_prereq);
		curl_easy_setopt(h, CURLOPT_PREREQDATA, x);
	}
	if (r->cancel) {
		/* a long request that its caller ends (a follow, a stream): on a connection of its own,
		 * whose socket is known when it is made, so a cancel shuts it at once rather than at
		 * libcurl's next progress call (up to a second later) */
		curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
		curl_easy_setopt(h, CURLOPT_SOCKOPTDATA, x);
	}
	set_tls(e, h);
}

/* What a failed transfer means, in lo2's words (curl's own text only as a detail). */
static const char *transfer_meaning(CURLcode rc)
{
	switch (rc) {
	case CURLE_PARTIAL_FILE:
		return "the engine closed the connection before the whole answer arrived (the answer is "
		       "incomplete; did the engine restart?)";
	case CURLE_GOT_NOTHING:
		return "the engine closed the connection without answering (did it restart?)";
	case CURLE_RECV_ERROR:
		return "the connection broke while reading the answer";
	case CURLE_SEND_ERROR:
		return "the connection broke while sending the request";
	case CURLE_SSL_CONNECT_ERROR:
		return "the TLS handshake failed (check DOCKER_CERT_PATH's ca.pem, cert.pem and key.pem and "
		       "that the engine listens with TLS)";
	case CURLE_PEER_FAILED_VERIFICATION:
		return "the engine's TLS certificate did not verify against ca.pem (or does not name this "
		       "host)";
	case CURLE_SSL_CERTPROBLEM:
		return "the TLS client certificate (cert.pem / key.pem) could not be used";
	case CURLE_SSL_CACERT_BADFILE:
		return "the CA certificate (ca.pem) could not be read";
	case CURLE_WEIRD_SERVER_REPLY:
		return "the answer is not HTTP (is DOCKER_HOST the engine's address?)";
	default:
		return NULL;
	}
}

static int transfer_error(struct engine *e, CURL *h, CURLcode rc, struct xfer *x, const char *url,
                          struct lo2_err *err)
{
	const char *meaning = transfer_meaning(rc);

	if (x->failed)
		return -1;
	if (x->cancelled)
		return lo2_err_set(err, LO2_E_CANCELLED, "request %s: cancelled", url);
	if (x->too_big)
		return lo2_err_set(err, LO2_E_GENERIC, "request %s: response larger than %u bytes", url,
		                   BODY_CAP);
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
		return connect_error(e, h, rc, err);
	if (rc == CURLE_OPERATION_TIMEDOUT && x->req->stream)
		return lo2_err_set(err, LO2_E_TIMEOUT,
		                   "request %s to %s: the engine sent nothing for %ld s (the stream stalled)",
		                   url, engine_display(e), STALL_SECONDS);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return lo2_err_set(err, LO2_E_TIMEOUT,
		                   "request %s to %s: no complete answer within %ld s (the engine is busy or "
		                   "stalled)",
		                   url, engine_display(e),
		                   (x->req->timeout_ms ? x->req->timeout_ms : DEFAULT_TIMEOUT_MS) / 1000);
	if (meaning != NULL)
		return lo2_err_set(err, LO2_E_GENERIC, "request %s to %s: %s", url, engine_display(e),
		                   meaning);
	return lo2_err_set(err, LO2_E_GENERIC, "request %s to %s: the transfer failed (%s)", url,
	                   engine_display(e), curl_easy_strerror(rc));
}

static int perform(struct engine *e, const struct ereq *r, struct eresp *resp, struct lo2_err *err)
{
	lo2_autofree char *url = NULL;
	struct xfer x = {.e = e,
	                 .cancel = {.cancel = r->cancel ? r->cancel : atomic_load(&e->cancel)},
	                 .req = r,
	                 .resp = resp,
	                 .err = err};
	struct curl_slist *hdr;
	CURLcode rc;
	CURL *h;
	int ret = 0;

	pthread_once(&curl_once, curl_init_once);
	if (r->unversioned)
		url = xasprintf("%s%s", e->ep.base_url, r->path);
	else
		url = xasprintf("%s/v%s%s", e->ep.base_url, engine_api_version(e), r->path);
	memset(resp, 0, sizeof(*resp));
	resp->body.max = BODY_CAP;
	h = pool_get(e);
	x.h = h;
	set_common(e, h, r, &x, url);
	hdr = set_method_body(h, r, &x);
	lo2_debug("engine: %s %s", r->method ? r->method : "GET", url);
	if (r->extra_header && lo2_log_get_level() >= LO2_LOG_DEBUG) {
		char shown[256];

		engine_header_for_log(r->extra_header, shown, sizeof(shown)); /* credentials: masked */
		lo2_debug("engine:   %s", shown);
	}
	if (x.cancel.cancel)
		engine_cancel_register(e, &x.cancel);
	rc = curl_easy_perform(h);
	if (x.cancel.cancel) {
		engine_cancel_unregister(e, &x.cancel);
		if (rc != CURLE_OK && atomic_load(x.cancel.cancel))
			x.cancelled = true; /* its socket was shut by the cancel */
	}
	if (!x.status_known)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	if (rc != CURLE_OK)
		ret = transfer_error(e, h, rc, &x, url + strlen(e->ep.base_url), err);
	curl_slist_free_all(hdr);
	curl_easy_reset(h);
	pool_put(e, h);
	return ret;
}

static bool version_mismatch(const struct eresp *resp)
{
	const char *b = resp->body.data;

	return resp->status == 400 && b && strstr(b, "client version") &&
	       (strstr(b, "too old") || strstr(b, "too new"));
}

int engine_request(struct engine *e, const struct ereq *r, struct eresp *resp, struct lo2_err *err)
{
	if (perform(e, r, resp, err) < 0)
		return -1;
	/* The engine was upgraded underneath us: negotiate again and retry once (if replayable). */
	if (version_mismatch(resp) && !r->unversioned && !r->upload && !e->api_pinned) {
		lo2_debug("engine: version rejected (%s); negotiating again", resp->body.data);
		eresp_free(resp);
		if (engine_negotiate(e, err) < 0)
			return -1;
		return perform(e, r, resp, err);
	}
	return 0;
}

void eresp_free(struct eresp *r)
{
	if (r)
		lo2_buf_free(&r->body);
}

static enum lo2_err_kind kind_of(long status)
{
	switch (status) {
	case 304:
		return LO2_E_NOT_MODIFIED;
	case 400:
		return LO2_E_INVALID;
	case 401:
	case 403:
		return LO2_E_AUTH;
	case 404:
		return LO2_E_NOT_FOUND;
	case 409:
		return LO2_E_CONFLICT;
	default:
		return LO2_E_GENERIC;
	}
}

static const char *reason(long s)
{
	switch (s) {
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 406:
		return "Not Acceptable";
	case 409:
		return "Conflict";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

/* The engine's {"message": ...}, or the body's first line when it is not that JSON. */
static void engine_message(const struct eresp *resp, char *out, size_t outsz)
{
	struct lo2_json *doc = NULL;
	const char *m = NULL;

	out[0] = '\0';
	if (resp->body.len == 0)
		return;
	if (lo2_json_parse(resp->body.data, "error body", &doc, NULL) == 0)
		m = lo2_json_str(lo2_json_get(doc, "message"));
	snprintf(out, outsz, "%s", m ? m : resp->body.data);
	lo2_json_free(doc);
	for (char *p = out; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

int engine_http_error(const struct eresp *resp, struct lo2_err *err, const char *fmt, ...)
{
	char ctx[1024], msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	engine_message(resp, msg, sizeof(msg));
	lo2_err_set(err, kind_of(resp->status), "%s: %ld %s%s%s", ctx, resp->status, reason(resp->status),
	            msg[0] ? ": " : "", msg);
	if (err)
		err->http_status = (int)resp->status;
	return -1;
}

/* engine_call with its context already formatted. */
static int call_ctx(struct engine *e, const struct ereq *r, struct eresp *resp, struct lo2_err *err,
                    const char *ctx)
{
	if (engine_request(e, r, resp, err) < 0)
		return lo2_err_prefix(err, "%s", ctx);
	if (!is_2xx(resp->status) && resp->status != 304)
		return engine_http_error(resp, err, "%s", ctx);
	return 0;
}

int engine_call(struct engine *e, const struct ereq *r, struct eresp *resp, struct lo2_err *err,
                const char *fmt, ...)
{
	struct eresp local;
	char ctx[1024];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	ret = call_ctx(e, r, resp ? resp : &local, err, ctx);
	if (resp == NULL)
		eresp_free(&local);
	return ret;
}

int engine_call_json(struct engine *e, const struct ereq *r, const char *what, struct lo2_json **doc,
                     struct lo2_err *err, const char *fmt, ...)
{
	struct eresp resp;
	char ctx[1024];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	*doc = NULL;
	ret = call_ctx(e, r, &resp, err, ctx);
	if (ret == 0)
		ret = lo2_json_parse(resp.body.data ? resp.body.data : "", what, doc, err);
	eresp_free(&resp);
	return ret;
}

char *engine_escape(const char *s)
{
	char *c = curl_easy_escape(NULL, s, 0);
	char *out;

	if (c == NULL)
		abort();
	out = xstrdup(c);
	curl_free(c);
	return out;
}
