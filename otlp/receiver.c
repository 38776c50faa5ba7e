/* receiver.c - the OTLP/HTTP trace receiver: libmicrohttpd's threads read POST /v1/traces
 * (protobuf or JSON, gzip or not, capped as sent and as inflated), decode it into a batch and
 * queue it; one consumer thread hands the spans to on_span in arrival order. The queue is
 * bounded: a request that does not fit is answered 503 with Retry-After, so the exporter sends
 * it again and nothing is dropped. Answers follow OTLP/HTTP: ExportTraceServiceResponse (with
 * partial_success when spans were rejected) in the request's encoding, google.rpc.Status on
 * 400/413/503, and plain text for 404/405/415. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/sink.h"
#include "otlp.pb-c.h"
#include "otlp/internal.h"

#define PATH "/v1/traces"

struct otlp_receiver {
	struct otlp_opts o;
	struct MHD_Daemon *d;
	int port;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct otlp_batch *head, *tail; /* the queue */
	size_t qbytes;
	bool stopping;
	pthread_t consumer;
	struct otlp_stats st;
};

/* One request's state, from its headers to its answer. */
struct req {
	enum otlp_format fmt;
	struct lo2_inflate *z; /* gzip bodies */
	struct lo2_buf body; /* decoded body, capped at body_max */
	uint64_t bytes_in;
	bool too_large;
	struct lo2_err bad; /* corrupt gzip */
};

static const char *const answer_names[OTLP_ANSWER__N] = {
    "200",        "200 partial",   "400 malformed",  "404 not found",
    "405 method", "413 too large", "415 media type", "503 busy",
};

const char *otlp_answer_name(enum otlp_answer a)
{
	return (unsigned)a < OTLP_ANSWER__N ? answer_names[a] : "?";
}

static void count(struct otlp_receiver *r, enum otlp_answer a)
{
	pthread_mutex_lock(&r->mu);
	r->st.answers[a]++;
	pthread_mutex_unlock(&r->mu);
}

/* ---- answers ---- */

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *ctype, const void *body,
                               size_t n, const char *hname, const char *hval)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(n, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (hname != NULL)
		MHD_add_response_header(resp, hname, hval);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result answer_text(struct otlp_receiver *r, struct MHD_Connection *c, enum otlp_answer a,
                                   unsigned status, const char *msg, const char *hname, const char *hval)
{
	count(r, a);
	return respond(c, status, "text/plain; charset=utf-8", msg, strlen(msg), hname, hval);
}

static const char *ctype_of(enum otlp_format f)
{
	return f == OTLP_FORMAT_JSON ? "application/json" : "application/x-protobuf";
}

/* A google.rpc.Status answer (400, 413, 503) in the request's encoding. */
static enum MHD_Result answer_status(struct otlp_receiver *r, struct MHD_Connection *c, enum otlp_format f,
                                     enum otlp_answer a, unsigned status, int code, const char *msg,
                                     const char *hname, const char *hval)
{
	enum MHD_Result ret;

	count(r, a);
	if (f == OTLP_FORMAT_JSON) {
		struct lo2_buf b = LO2_BUF_INIT;

		lo2_buf_printf(&b, "{\"code\":%d,\"message\":", code);
		otlp_json_str(&b, msg, strlen(msg));
		lo2_buf_puts(&b, "}");
		ret = respond(c, status, ctype_of(f), b.data, b.len, hname, hval);
		lo2_buf_free(&b);
	} else {
		Lo2otlp__RpcStatus st = LO2OTLP__RPC_STATUS__INIT;
		size_t n;
		uint8_t *buf;

		st.code = code;
		st.message = (char *)(uintptr_t)msg;
		n = lo2otlp__rpc_status__get_packed_size(&st);
		buf = xmalloc(n + 1);
		lo2otlp__rpc_status__pack(&st, buf);
		ret = respond(c, status, ctype_of(f), buf, n, hname, hval);
		free(buf);
	}
	return ret;
}

/* "3 spans rejected: 2 invalid trace id, 1 invalid span id" (caller frees), or NULL. */
static char *rejected_text(const struct otlp_batch *b)
{
	struct lo2_buf t = LO2_BUF_INIT;
	const char *sep = ": ";

	if (b->nrejected == 0)
		return NULL;
	lo2_buf_printf(&t, "%zu span%s rejected", b->nrejected, b->nrejected == 1 ? "" : "s");
	for (int i = 0; i < OTLP_REJECT__N; i++) {
		if (b->rejected[i] == 0)
			continue;
		lo2_buf_printf(&t, "%s%zu %s", sep, b->rejected[i], otlp_reject_name((enum otlp_reject)i));
		sep = ", ";
	}
	return lo2_buf_steal(&t);
}

/* 200: ExportTraceServiceResponse, with partial_success when spans were rejected. */
static enum MHD_Result answer_ok(struct otlp_receiver *r, struct MHD_Connection *c, enum otlp_format f,
                                 const struct otlp_batch *b)
{
	lo2_autofree char *msg = rejected_text(b);
	enum MHD_Result ret;

	count(r, msg ? OTLP_ANSWER_PARTIAL : OTLP_ANSWER_OK);
	if (f == OTLP_FORMAT_JSON) {
		struct lo2_buf t = LO2_BUF_INIT;

		if (msg == NULL) {
			lo2_buf_puts(&t, "{}");
		} else {
			lo2_buf_printf(&t, "{\"partialSuccess\":{\"rejectedSpans\":\"%zu\",\"errorMessage\":",
			               b->nrejected);
			otlp_json_str(&t, msg, strlen(msg));
			lo2_buf_puts(&t, "}}");
		}
		ret = respond(c, MHD_HTTP_OK, ctype_of(f), t.data, t.len, NULL, NULL);
		lo2_buf_free(&t);
	} else {
		Lo2otlp__ExportTraceServiceResponse resp = LO2OTLP__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
		Lo2otlp__ExportTracePartialSuccess ps = LO2OTLP__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
		uint8_t buf[512];
		size_t n;

		if (msg != NULL) {
			ps.rejected_spans = (int64_t)b->nrejected;
			ps.error_message = msg;
			resp.partial_success = &ps;
		}
		n = lo2otlp__export_trace_service_response__pack(&resp, buf);
		ret = respond(c, MHD_HTTP_OK, ctype_of(f), buf, n, NULL, NULL);
	}
	return ret;
}

/* 503 with Retry-After: the queue is full. */
static enum MHD_Result answer_busy(struct otlp_receiver *r, struct MHD_Connection *c, enum otlp_format f)
{
	char ra[16];

	snprintf(ra, sizeof(ra), "%d", r->o.retry_after_s);
	return answer_status(r, c, f, OTLP_ANSWER_BUSY, MHD_HTTP_SERVICE_UNAVAILABLE, 14,
	                     "lo2's span queue is full: send again later", MHD_HTTP_HEADER_RETRY_AFTER, ra);
}

/* ---- the queue ---- */

/* queue_spans and qbytes count the batch the consumer is on too. */
static bool queue_full(const struct otlp_receiver *r)
{
	return r->st.queue_spans >= r->o.queue_spans || r->qbytes >= r->o.queue_bytes;
}

/* Queues b (taken) unless it does not fit; an idle receiver takes any batch. */
static bool enqueue(struct otlp_receiver *r, struct otlp_batch *b)
{
	bool ok;

	pthread_mutex_lock(&r->mu);
	ok = r->st.queue_spans == 0 ||
	     (r->st.queue_spans + b->n <= r->o.queue_spans && r->qbytes + b->arena.bytes <= r->o.queue_bytes);
	if (ok) {
		if (r->tail)
			r->tail->next = b;
		else
			r->head = b;
		r->tail = b;
		r->st.queue_spans += b->n;
		r->qbytes += b->arena.bytes;
		if (r->st.queue_spans > r->st.queue_peak_spans)
			r->st.queue_peak_spans = r->st.queue_spans;
		r->st.spans_accepted += b->n;
		pthread_cond_signal(&r->cv);
	} else {
		r->st.spans_deferred += b->n;
	}
	pthread_mutex_unlock(&r->mu);
	return ok;
}

static void *consume(void *arg)
{
	struct otlp_receiver *r = arg;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		struct otlp_batch *b;
		uint64_t ok = 0, failed = 0;

		while (r->head == NULL && !r->stopping)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->head == NULL)
			break;
		b = r->head;
		r->head = b->next;
		if (r->head == NULL)
			r->tail = NULL;
		pthread_mutex_unlock(&r->mu);
		for (size_t i = 0; i < b->n; i++) {
			if (r->o.on_span(r->o.user, &b->spans[i]) == 0)
				ok++;
			else
				failed++;
		}
		pthread_mutex_lock(&r->mu);
		r->st.spans_delivered += ok;
		r->st.spans_consumer_failed += failed;
		r->st.queue_spans -= b->n;
		r->qbytes -= b->arena.bytes;
		pthread_mutex_unlock(&r->mu);
		otlp_batch_free(b);
		pthread_mutex_lock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* ---- requests ---- */

static int body_append(void *user, const char *p, size_t n, struct lo2_err *err)
{
	struct req *q = user;

	if (lo2_buf_append(&q->body, p, n) < 0) {
		q->too_large = true;
		return lo2_err_set(err, LO2_E_INVALID, "body over the cap");
	}
	return 0;
}

static void req_free(struct req *q)
{
	if (q == NULL)
		return;
	lo2_inflate_free(q->z);
	lo2_buf_free(&q->body);
	free(q);
}

/* The media type of a Content-Type value ("application/json; charset=utf-8"), case-insensitive. */
static bool media_is(const char *v, const char *type)
{
	size_t n = strlen(type);

	while (*v == ' ')
		v++;
	return strncasecmp(v, type, n) == 0 && (v[n] == '\0' || v[n] == ';' || v[n] == ' ');
}

/* The first call for a request (headers only): checks that can be answered before the body. */
static enum MHD_Result req_start(struct otlp_receiver *r, struct MHD_Connection *c, const char *url,
                                 const char *method, void **con_cls)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *ce = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	struct req *q;
	enum otlp_format f;
	bool full;

	if (strcmp(url, PATH) != 0)
		return answer_text(r, c, OTLP_ANSWER_NOT_FOUND, MHD_HTTP_NOT_FOUND,
		                   "404 not found: lo2 receives POST " PATH "\n", NULL, NULL);
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return answer_text(r, c, OTLP_ANSWER_METHOD, MHD_HTTP_METHOD_NOT_ALLOWED,
		                   "405 method not allowed: " PATH " takes POST\n", MHD_HTTP_HEADER_ALLOW,
		                   "POST");
	if (ct != NULL && media_is(ct, "application/x-protobuf"))
		f = OTLP_FORMAT_PROTOBUF;
	else if (ct != NULL && media_is(ct, "application/json"))
		f = OTLP_FORMAT_JSON;
	else
		return answer_text(
		    r, c, OTLP_ANSWER_MEDIA_TYPE, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
		    "415 unsupported media type: Content-Type must be application/x-protobuf or "
		    "application/json\n",
		    NULL, NULL);
	if (ce != NULL && strcasecmp(ce, "gzip") != 0 && strcasecmp(ce, "identity") != 0)
		return answer_text(r, c, OTLP_ANSWER_MEDIA_TYPE, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
		                   "415 unsupported Content-Encoding: lo2 reads gzip or identity\n", NULL,
		                   NULL);
	if (cl != NULL && strtoull(cl, NULL, 10) > r->o.body_max) {
		char msg[128];

		snprintf(msg, sizeof(msg), "request body of %s bytes over the cap of %zu", cl, r->o.body_max);
		return answer_status(r, c, f, OTLP_ANSWER_TOO_LARGE, MHD_HTTP_CONTENT_TOO_LARGE, 8, msg, NULL,
		                     NULL);
	}
	pthread_mutex_lock(&r->mu);
	full = queue_full(r);
	pthread_mutex_unlock(&r->mu);
	if (full)
		return answer_busy(r, c, f);
	q = xcalloc(1, sizeof(*q));
	q->fmt = f;
	q->body.max = r->o.body_max;
	if (ce != NULL && strcasecmp(ce, "gzip") == 0)
		q->z = lo2_inflate_new();
	*con_cls = q;
	return MHD_YES;
}

static void req_data(struct otlp_receiver *r, struct req *q, const char *data, size_t n)
{
	q->bytes_in += n;
	if (q->too_large || q->bad.msg[0])
		return; /* the rest is read and dropped; the answer comes at the end */
	if (q->bytes_in > r->o.body_max) {
		q->too_large = true;
	} else if (q->z != NULL) {
		struct lo2_err e = {0};

		if (lo2_inflate_feed(q->z, data, n, body_append, q, &e) < 0 && !q->too_large)
			q->bad = e;
	} else if (lo2_buf_append(&q->body, data, n) < 0) {
		q->too_large = true;
	}
}

/* The body is complete: decode, queue, answer. */
static enum MHD_Result req_end(struct otlp_receiver *r, struct MHD_Connection *c, struct req *q)
{
	struct otlp_batch *b, counts;
	struct lo2_err e = {0};

	pthread_mutex_lock(&r->mu);
	r->st.bytes_received += q->bytes_in;
	r->st.bytes_decoded += q->body.len;
	pthread_mutex_unlock(&r->mu);
	if (q->too_large) {
		char msg[128];

		snprintf(msg, sizeof(msg), "request body over the cap of %zu bytes%s", r->o.body_max,
		         q->z && q->bytes_in <= r->o.body_max ? " (after gunzip)" : "");
		return answer_status(r, c, q->fmt, OTLP_ANSWER_TOO_LARGE, MHD_HTTP_CONTENT_TOO_LARGE, 8, msg,
		                     NULL, NULL);
	}
	if (q->bad.msg[0] == '\0' && q->z != NULL)
		lo2_inflate_end(q->z, &q->bad);
	if (q->bad.msg[0])
		return answer_status(r, c, q->fmt, OTLP_ANSWER_MALFORMED, MHD_HTTP_BAD_REQUEST, 3, q->bad.msg,
		                     NULL, NULL);
	b = otlp_batch_new();
	b->bytes_in = q->bytes_in;
	if ((q->fmt == OTLP_FORMAT_JSON
	         ? otlp_decode_json(q->body.data ? q->body.data : "", q->body.len, b, &e)
	         : otlp_decode_pb(q->body.data ? q->body.data : "", q->body.len, b, &e)) < 0) {
		otlp_batch_free(b);
		lo2_debug("otlp: 400: %s", e.msg);
		return answer_status(r, c, q->fmt, OTLP_ANSWER_MALFORMED, MHD_HTTP_BAD_REQUEST, 3, e.msg,
		                     NULL, NULL);
	}
	otlp_batch_finish(b);
	counts = *b; /* the answer's numbers: once queued, the consumer may free b */
	if (b->n > 0 && !enqueue(r, b)) {
		otlp_batch_free(b); /* the exporter sends it again */
		return answer_busy(r, c, q->fmt);
	}
	pthread_mutex_lock(&r->mu);
	for (int i = 0; i < OTLP_REJECT__N; i++)
		r->st.spans_rejected[i] += counts.rejected[i];
	pthread_mutex_unlock(&r->mu);
	if (counts.n == 0)
		otlp_batch_free(b);
	return answer_ok(r, c, q->fmt, &counts);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *size, void **con_cls)
{
	struct otlp_receiver *r = cls;
	struct req *q = *con_cls;

	(void)version;
	if (q == NULL)
		return req_start(r, c, url, method, con_cls);
	if (*size > 0) {
		req_data(r, q, data, *size);
		*size = 0;
		return MHD_YES;
	}
	return req_end(r, c, q);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	req_free(*con_cls);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	lo2_debug("otlp: libmicrohttpd: %s", msg);
}

/* ---- start and stop ---- */

/* A listening socket on address:port (MHD gets it ready-made, so errors say what failed). */
static int listen_on(const char *address, int port, bool *v6, int *bound, struct lo2_err *err)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd, one = 1;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

	*v6 = false;
	if (inet_pton(AF_INET, address, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		len = sizeof(*in6);
		*v6 = true;
	} else {
		return lo2_err_set(err, LO2_E_USAGE,
		                   "OTLP receiver: '%s' is not a numeric IPv4 or IPv6 address", address);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return lo2_err_errno(err, errno, "OTLP receiver: socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 128) != 0) {
		int e = errno;

		close(fd);
		return lo2_err_errno(err, e, "OTLP receiver: listen on %s%s%s:%d", *v6 ? "[" : "", address,
		                     *v6 ? "]" : "", port);
	}
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	*bound = ntohs(*v6 ? in6->sin6_port : in4->sin_port);
	return fd;
}

int otlp_receiver_start(const struct otlp_opts *o, struct otlp_receiver **out, struct lo2_err *err)
{
	struct otlp_receiver *r;
	bool v6;
	int fd;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD;

	if (o->address == NULL || o->on_span == NULL || o->port < 0 || o->port > 65535)
		return lo2_err_set(err, LO2_E_USAGE,
		                   "OTLP receiver: an address, a port 0..65535 and a consumer are needed");
	r = xcalloc(1, sizeof(*r));
	r->o = *o;
	r->o.body_max = o->body_max ? o->body_max : 16u << 20;
	r->o.queue_spans = o->queue_spans ? o->queue_spans : 65536;
	r->o.queue_bytes = o->queue_bytes ? o->queue_bytes : 256u << 20;
	r->o.threads = o->threads > 0 ? o->threads : 2;
	r->o.retry_after_s = o->retry_after_s > 0 ? o->retry_after_s : 1;
	fd = listen_on(o->address, o->port, &v6, &r->port, err);
	if (fd < 0) {
		free(r);
		return -1;
	}
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (pthread_create(&r->consumer, NULL, consume, r) != 0)
		abort();
	if (v6)
		flags |= MHD_USE_IPv6;
	r->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, r, MHD_OPTION_LISTEN_SOCKET, fd,
	                        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)r->o.threads,
	                        MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_CONNECTION_LIMIT, 64u,
	                        MHD_OPTION_NOTIFY_COMPLETED, on_completed, r, MHD_OPTION_EXTERNAL_LOGGER,
	                        mhd_log, r, MHD_OPTION_END);
	if (r->d == NULL) {
		close(fd);
		otlp_receiver_stop(r, NULL);
		return lo2_err_set(err, LO2_E_GENERIC, "OTLP receiver: libmicrohttpd did not start on %s:%d",
		                   o->address, o->port);
	}
	*out = r;
	return 0;
}

int otlp_receiver_port(const struct otlp_receiver *r)
{
	return r->port;
}

void otlp_receiver_stats(struct otlp_receiver *r, struct otlp_stats *out)
{
	pthread_mutex_lock(&r->mu);
	*out = r->st;
	pthread_mutex_unlock(&r->mu);
}

void otlp_receiver_stop(struct otlp_receiver *r, struct otlp_stats *final)
{
	if (r == NULL)
		return;
	if (r->d != NULL)
		MHD_stop_daemon(r->d); /* no new requests; the ones being answered finish first */
	pthread_mutex_lock(&r->mu);
	r->stopping = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->consumer, NULL); /* after the queue is empty */
	if (final != NULL)
		*final = r->st;
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
