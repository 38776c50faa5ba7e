/* otlp-load.c - the load generator of bench/otlp-bench: C connections (one thread each, HTTP/1.1
 * keep-alive) POST ExportTraceServiceRequests of N spans to an OTLP/HTTP receiver, as protobuf
 * (packed with protobuf-c from lo2's otlp/otlp.proto, compiled by the bench) or OTLP/JSON, as
 * fast as the receiver answers or at a fixed rate of spans per second. A 503 is sent again
 * after its Retry-After, as the exporters do; every span is unique (trace and span ids count
 * up), so the receiver's files can be checked against what was acknowledged.
 * Usage: otlp-load HOST PORT pb|json SPANS_PER_REQUEST CONNECTIONS RATE(0: max) SECONDS
 * Prints: "sent R requests, acked S spans in T s = X spans/s; 503: B; errors: E". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "otlp.pb-c.h"

static const char *host;
static int port, per_req, nconn;
static double rate, seconds;
static int json;
static atomic_uint_fast64_t next_id = 1, acked, requests, busy, errors;
static double t0;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void id_bytes(uint64_t hi, uint64_t lo, uint8_t *out, int n)
{
	for (int i = 0; i < 8 && n == 16; i++)
		out[i] = (uint8_t)(hi >> (56 - 8 * i));
	for (int i = 0; i < 8; i++)
		out[n - 8 + i] = (uint8_t)(lo >> (56 - 8 * i));
}

/* Attributes of a typical HTTP server span. */
static const char *const keys[] = {"http.method", "http.route", "http.target", "net.peer.ip",
                                   "http.user_agent"};
static const char *const vals[] = {"POST", "/oauth2/token", "/oauth2/token?grant_type=client_credentials",
                                   "172.18.0.7", "python-requests/2.31.0"};

/* A protobuf body of per_req spans with ids from first (caller frees). */
static uint8_t *body_pb(uint64_t first, size_t *len)
{
	Lo2otlp__ExportTraceServiceRequest req = LO2OTLP__EXPORT_TRACE_SERVICE_REQUEST__INIT;
	Lo2otlp__ResourceSpans rs = LO2OTLP__RESOURCE_SPANS__INIT, *rsp = &rs;
	Lo2otlp__Resource res = LO2OTLP__RESOURCE__INIT;
	Lo2otlp__ScopeSpans ss = LO2OTLP__SCOPE_SPANS__INIT, *ssp = &ss;
	Lo2otlp__InstrumentationScope scope = LO2OTLP__INSTRUMENTATION_SCOPE__INIT;
	Lo2otlp__KeyValue skv = LO2OTLP__KEY_VALUE__INIT, *skvp = &skv;
	Lo2otlp__AnyValue sval = LO2OTLP__ANY_VALUE__INIT;
	Lo2otlp__Span *spans = calloc((size_t)per_req, sizeof(*spans));
	Lo2otlp__Span **sp = calloc((size_t)per_req, sizeof(*sp));
	Lo2otlp__KeyValue kv[7], *kvp[7];
	Lo2otlp__AnyValue av[7];
	uint8_t *ids = calloc((size_t)per_req, 32), *out;
	char svc[32];

	snprintf(svc, sizeof(svc), "bench-%d", (int)(first / (uint64_t)per_req % 4));
	sval.value_case = LO2OTLP__ANY_VALUE__VALUE_STRING_VALUE;
	sval.string_value = svc;
	skv.key = "service.name";
	skv.value = &sval;
	res.n_attributes = 1;
	res.attributes = &skvp;
	rs.resource = &res;
	scope.name = "opentelemetry.instrumentation.flask";
	scope.version = "0.48b0";
	ss.scope = &scope;
	for (int i = 0; i < 7; i++) {
		lo2otlp__key_value__init(&kv[i]);
		lo2otlp__any_value__init(&av[i]);
		kv[i].value = &av[i];
		kvp[i] = &kv[i];
		if (i < 5) {
			kv[i].key = (char *)keys[i];
			av[i].value_case = LO2OTLP__ANY_VALUE__VALUE_STRING_VALUE;
			av[i].string_value = (char *)vals[i];
		}
	}
	kv[5].key = "http.status_code";
	av[5].value_case = LO2OTLP__ANY_VALUE__VALUE_INT_VALUE;
	av[5].int_value = 200;
	kv[6].key = "duration.ratio";
	av[6].value_case = LO2OTLP__ANY_VALUE__VALUE_DOUBLE_VALUE;
	av[6].double_value = 0.25;
	for (int i = 0; i < per_req; i++) {
		uint64_t id = first + (uint64_t)i;
		Lo2otlp__Span *s = &spans[i];

		lo2otlp__span__init(s);
		id_bytes(0x4c4f32, id, ids + 32 * i, 16);
		id_bytes(0, id, ids + 32 * i + 16, 8);
		s->trace_id.data = ids + 32 * i;
		s->trace_id.len = 16;
		s->span_id.data = ids + 32 * i + 16;
		s->span_id.len = 8;
		s->name = "POST /oauth2/token";
		s->kind = LO2OTLP__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
		s->start_time_unix_nano = (uint64_t)time(NULL) * 1000000000u + id % 1000000000u;
		s->end_time_unix_nano = s->start_time_unix_nano + 1500000;
		s->n_attributes = 7;
		s->attributes = kvp;
		sp[i] = s;
	}
	ss.n_spans = (size_t)per_req;
	ss.spans = sp;
	rs.n_scope_spans = 1;
	rs.scope_spans = &ssp;
	req.n_resource_spans = 1;
	req.resource_spans = &rsp;
	*len = lo2otlp__export_trace_service_request__get_packed_size(&req);
	out = malloc(*len);
	lo2otlp__export_trace_service_request__pack(&req, out);
	free(spans);
	free(sp);
	free(ids);
	return out;
}

static void app(char **b, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*b = realloc(*b, *cap);
	}
	memcpy(*b + *len, s, n + 1);
	*len += n;
}

static uint8_t *body_json(uint64_t first, size_t *len)
{
	char *b = NULL, tmp[1024];
	size_t cap = 0;

	*len = 0;
	snprintf(tmp, sizeof(tmp),
	         "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{"
	         "\"stringValue\":\"bench-%d\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"opentelemetry."
	         "instrumentation."
	         "flask\",\"version\":\"0.48b0\"},\"spans\":[",
	         (int)(first / (uint64_t)per_req % 4));
	app(&b, len, &cap, tmp);
	for (int i = 0; i < per_req; i++) {
		uint64_t id = first + (uint64_t)i;
		uint64_t start = (uint64_t)time(NULL) * 1000000000u + id % 1000000000u;

		snprintf(
		    tmp, sizeof(tmp),
		    "%s{\"traceId\":\"00000000004c4f32%016llx\",\"spanId\":\"%016llx\",\"parentSpanId\":\"\","
		    "\"name\":\"POST "
		    "/oauth2/token\",\"kind\":2,\"startTimeUnixNano\":\"%llu\",\"endTimeUnixNano\":"
		    "\"%llu\",\"attributes\":[",
		    i ? "," : "", (unsigned long long)id, (unsigned long long)id, (unsigned long long)start,
		    (unsigned long long)start + 1500000);
		app(&b, len, &cap, tmp);
		for (int k = 0; k < 5; k++) {
			snprintf(tmp, sizeof(tmp), "{\"key\":\"%s\",\"value\":{\"stringValue\":\"%s\"}},",
			         keys[k], vals[k]);
			app(&b, len, &cap, tmp);
		}
		app(&b, len, &cap,
		    "{\"key\":\"http.status_code\",\"value\":{\"intValue\":\"200\"}},{\"key\":\"duration."
		    "ratio\","
		    "\"value\":{\"doubleValue\":0.25}}],\"events\":[],\"links\":[],\"status\":{}}");
	}
	app(&b, len, &cap, "]}]}]}");
	return (uint8_t *)b;
}

static int connect_to(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	inet_pton(AF_INET, host, &a.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads one response; returns its status (-1 on a broken connection), *retry its Retry-After. */
static int read_response(int fd, int *retry, int *closed)
{
	char buf[8192];
	size_t have = 0, clen = 0;
	char *end;
	int status;

	*retry = 1;
	*closed = 0;
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);

		if (r <= 0)
			return -1;
		have += (size_t)r;
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
		if (have == sizeof(buf) - 1)
			return -1;
	}
	status = atoi(buf + 9);
	for (char *h = strstr(buf, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n")) {
		if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
			clen = strtoul(h + 17, NULL, 10);
		if (strncasecmp(h + 2, "Retry-After:", 12) == 0)
			*retry = atoi(h + 14);
		if (strncasecmp(h + 2, "Connection: close", 17) == 0)
			*closed = 1;
	}
	/* the body: what came after the headers, then the rest */
	{
		size_t got = have - (size_t)(end + 4 - buf);

		while (got < clen) {
			ssize_t r = read(fd, buf, sizeof(buf));

			if (r <= 0)
				return -1;
			got += (size_t)r;
		}
	}
	return status;
}

static void *worker(void *arg)
{
	double interval = rate > 0 ? per_req * nconn / rate : 0,
	       next = t0 + (double)(intptr_t)arg * interval / nconn;
	int fd = -1;

	while (now() - t0 < seconds) {
		uint64_t first = atomic_fetch_add(&next_id, (uint64_t)per_req);
		size_t len;
		uint8_t *body = json ? body_json(first, &len) : body_pb(first, &len);
		char head[256];
		int done = 0;

		if (interval > 0) {
			double wait = next - now();

			if (wait > 0)
				usleep((useconds_t)(wait * 1e6));
			next += interval;
		}
		snprintf(head, sizeof(head),
		         "POST /v1/traces HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: %s\r\nContent-Length: "
		         "%zu\r\n\r\n",
		         host, port, json ? "application/json" : "application/x-protobuf", len);
		while (!done) {
			int retry, closed, st;

			if (fd < 0 && (fd = connect_to()) < 0) {
				atomic_fetch_add(&errors, 1);
				usleep(100000);
				continue;
			}
			if (write_all(fd, head, strlen(head)) < 0 || write_all(fd, body, len) < 0 ||
			    (st = read_response(fd, &retry, &closed)) < 0) {
				close(fd);
				fd = -1;
				atomic_fetch_add(&errors, 1);
				continue;
			}
			atomic_fetch_add(&requests, 1);
			if (closed) {
				close(fd);
				fd = -1;
			}
			if (st == 200) {
				atomic_fetch_add(&acked, (uint64_t)per_req);
				done = 1;
			} else if (st == 503) {
				atomic_fetch_add(&busy, 1);
				usleep((useconds_t)(retry > 0 ? retry : 1) * 1000000u);
			} else {
				fprintf(stderr, "otlp-load: HTTP %d\n", st);
				atomic_fetch_add(&errors, 1);
				done = 1;
			}
		}
		free(body);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[64];
	double t;

	if (argc != 8) {
		fprintf(stderr,
		        "usage: otlp-load HOST PORT pb|json SPANS_PER_REQUEST CONNECTIONS RATE SECONDS\n");
		return 2;
	}
	host = argv[1];
	port = atoi(argv[2]);
	json = strcmp(argv[3], "json") == 0;
	per_req = atoi(argv[4]);
	nconn = atoi(argv[5]);
	rate = atof(argv[6]);
	seconds = atof(argv[7]);
	if (per_req < 1 || nconn < 1 || nconn > 64 || seconds <= 0)
		return 2;
	t0 = now();
	for (intptr_t i = 0; i < nconn; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	for (int i = 0; i < nconn; i++)
		pthread_join(th[i], NULL);
	t = now() - t0;
	printf("sent %llu requests, acked %llu spans in %.1f s = %.0f spans/s; 503: %llu; errors: %llu\n",
	       (unsigned long long)requests, (unsigned long long)acked, t, acked / t,
	       (unsigned long long)busy, (unsigned long long)errors);
	return errors ? 1 : 0;
}
