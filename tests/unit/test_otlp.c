/* test_otlp.c - otlp/ without an engine: request bodies recorded from the OpenTelemetry Python
 * exporter (tests/fixtures/otlp/record.py; the expected files there were computed by the official
 * protobuf classes and Python's own str/csv/json, not by lo2) and hand-built protobuf and JSON
 * bodies become exact rows and lines; truncated, corrupted, too deep and oversized bodies get
 * the right error and never crash; the receiver on 127.0.0.1 answers every case with the
 * OTLP status and body, answers 503 with Retry-After when its queue is full, and drains the
 * queue when stopped. */
#include "testutil.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/mem.h"
#include "fetch/fetch.h"
#include "otlp/otlp.h"

/* A fixture's bytes as stored (a .gz file stays compressed). */
static char *fixture(const char *name, size_t *len)
{
	lo2_autofree char *path = xasprintf("%s/otlp/%s", LO2_FIXTURES, name);
	struct lo2_err err = {0};
	char *data = NULL;

	if (lo2_read_file(path, 64u << 20, &data, len, &err) != 0)
		fail_msg("%s", err.msg);
	return data;
}

static char *path_in(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static void assert_file_equals(const char *path, const char *expected, size_t elen)
{
	size_t len = 0;
	char *got = tu_read(path, &len);

	assert_non_null(got);
	if (len != elen || memcmp(got, expected, elen) != 0)
		fprintf(stderr, "%s differs:\n--- got\n%s\n--- expected\n%.*s\n", path, got, (int)elen,
		        expected);
	assert_int_equal(len, elen);
	assert_memory_equal(got, expected, elen);
	free(got);
}

static void assert_same_as_fixture(const char *path, const char *name)
{
	size_t elen;
	char *exp = fixture(name, &elen);

	assert_file_equals(path, exp, elen);
	free(exp);
}

/* ---- decoding into a window's files ---- */

static int to_writer(void *user, const struct otlp_span *s, struct lo2_err *err)
{
	return otlp_writer_add(user, s, err);
}

/* Decodes each body (format, data, len; NULL data ends the list) into dir's files. */
static void write_files(const char *dir, struct otlp_decoded *dec, enum otlp_format f, const char *body,
                        size_t n)
{
	struct otlp_writer *w = NULL;
	struct lo2_err err = {0};

	assert_int_equal(otlp_writer_open(dir, &w, &err), 0);
	if (otlp_decode(f, body, n, to_writer, w, dec, &err) != 0)
		fail_msg("decode: %s", err.msg);
	assert_int_equal(otlp_writer_commit(w, NULL, &err), 0);
}

static void python_protobuf_exact_files(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *csv_a = path_in(dir, "traces_svc-a.csv");
	lo2_autofree char *csv_b = path_in(dir, "traces_svc-b.csv");
	lo2_autofree char *jsonl = path_in(dir, OTLP_JSONL_FILE);
	size_t na, nb;
	lo2_autofree char *a = fixture("python-a.pb", &na);
	lo2_autofree char *b = fixture("python-b.pb", &nb);
	struct otlp_writer *w = NULL;
	struct otlp_writer_stats ws;
	struct otlp_decoded dec;
	struct lo2_err err = {0};

	assert_int_equal(otlp_writer_open(dir, &w, &err), 0);
	/* nothing under a final name before the commit */
	assert_int_not_equal(access(jsonl, F_OK), 0);
	assert_int_equal(otlp_decode(OTLP_FORMAT_PROTOBUF, a, na, to_writer, w, &dec, &err), 0);
	assert_int_equal(dec.spans, 5);
	assert_int_equal(otlp_decode(OTLP_FORMAT_PROTOBUF, b, nb, to_writer, w, &dec, &err), 0);
	assert_int_equal(dec.spans, 5);
	assert_int_not_equal(access(csv_a, F_OK), 0);
	assert_int_equal(otlp_writer_commit(w, &ws, &err), 0);
	assert_int_equal(ws.spans, 10);
	assert_int_equal(ws.services, 2);
	assert_int_equal(ws.csv_skipped, 0);
	assert_same_as_fixture(csv_a, "traces_svc-a.csv");
	assert_same_as_fixture(csv_b, "traces_svc-b.csv");
	assert_same_as_fixture(jsonl, "traces.otlp.jsonl"); /* tu_read gunzips */
	tu_rm_rf(dir);
}

/* The same request as OTLP/JSON gives the same rows. */
static void python_json_same_rows(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *csv_a = path_in(dir, "traces_svc-a.csv");
	size_t n;
	lo2_autofree char *body = fixture("python-a.json", &n);
	struct otlp_decoded dec;

	write_files(dir, &dec, OTLP_FORMAT_JSON, body, n);
	assert_int_equal(dec.spans, 5);
	assert_same_as_fixture(csv_a, "traces_svc-a.csv");
	tu_rm_rf(dir);
}

/* ---- hand-built protobuf ---- */

static void pb_varint(struct lo2_buf *b, uint64_t v)
{
	do {
		unsigned char c = v & 0x7f;

		v >>= 7;
		if (v)
			c |= 0x80;
		lo2_buf_append(b, &c, 1);
	} while (v);
}

static void pb_key(struct lo2_buf *b, unsigned field, unsigned wt)
{
	pb_varint(b, (uint64_t)field << 3 | wt);
}

static void pb_bytes(struct lo2_buf *b, unsigned field, const void *p, size_t n)
{
	pb_key(b, field, 2);
	pb_varint(b, n);
	lo2_buf_append(b, p, n);
}

static void pb_str(struct lo2_buf *b, unsigned field, const char *s)
{
	pb_bytes(b, field, s, strlen(s));
}

/* Appends sub as a length-delimited field and frees it. */
static void pb_msg(struct lo2_buf *b, unsigned field, struct lo2_buf *sub)
{
	pb_bytes(b, field, sub->data ? sub->data : "", sub->len);
	lo2_buf_free(sub);
}

static void pb_fixed64(struct lo2_buf *b, unsigned field, uint64_t v)
{
	unsigned char x[8];

	pb_key(b, field, 1);
	for (int i = 0; i < 8; i++)
		x[i] = (unsigned char)(v >> (8 * i));
	lo2_buf_append(b, x, 8);
}

/* A KeyValue with value bytes already encoded as an AnyValue body. */
static void pb_kv(struct lo2_buf *b, unsigned field, const char *key, struct lo2_buf *anyvalue)
{
	struct lo2_buf kv = LO2_BUF_INIT;

	pb_str(&kv, 1, key);
	pb_msg(&kv, 2, anyvalue);
	pb_msg(b, field, &kv);
}

static struct lo2_buf any_str(const char *s)
{
	struct lo2_buf v = LO2_BUF_INIT;

	pb_str(&v, 1, s);
	return v;
}

static struct lo2_buf any_int(int64_t i)
{
	struct lo2_buf v = LO2_BUF_INIT;

	pb_key(&v, 3, 0);
	pb_varint(&v, (uint64_t)i);
	return v;
}

static struct lo2_buf any_double(double d)
{
	struct lo2_buf v = LO2_BUF_INIT;
	uint64_t bits;

	memcpy(&bits, &d, 8);
	pb_fixed64(&v, 4, bits);
	return v;
}

static struct lo2_buf any_bool(bool t)
{
	struct lo2_buf v = LO2_BUF_INIT;

	pb_key(&v, 2, 0);
	pb_varint(&v, t);
	return v;
}

static struct lo2_buf any_bytes(const void *p, size_t n)
{
	struct lo2_buf v = LO2_BUF_INIT;

	pb_bytes(&v, 7, p, n);
	return v;
}

static const unsigned char TRACE_LOW[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
static const unsigned char SPAN[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
static const unsigned char PARENT[8] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x01};

/* A span with ids of the given lengths; extra is appended to its body (taken). */
static void pb_span(struct lo2_buf *spans, size_t tlen, size_t slen, size_t plen, const char *name,
                    struct lo2_buf *extra)
{
	struct lo2_buf s = LO2_BUF_INIT;

	pb_bytes(&s, 1, TRACE_LOW, tlen);
	pb_bytes(&s, 2, SPAN, slen);
	if (plen)
		pb_bytes(&s, 4, PARENT, plen);
	pb_str(&s, 5, name);
	pb_fixed64(&s, 7, UINT64_C(1700000000123456789));
	pb_fixed64(&s, 8, UINT64_C(1700000000123458289));
	if (extra) {
		lo2_buf_append(&s, extra->data ? extra->data : "", extra->len);
		lo2_buf_free(extra);
	}
	pb_msg(spans, 2, &s);
}

/* ExportTraceServiceRequest{ResourceSpans{Resource{service.name}, ScopeSpans{spans}}}. */
static struct lo2_buf pb_request(const char *service, struct lo2_buf *spans)
{
	struct lo2_buf req = LO2_BUF_INIT, rs = LO2_BUF_INIT, res = LO2_BUF_INIT;
	struct lo2_buf v = any_str(service);

	pb_kv(&res, 1, "service.name", &v);
	pb_msg(&rs, 1, &res);
	pb_msg(&rs, 2, spans);
	pb_msg(&req, 1, &rs);
	return req;
}

/* Every AnyValue type, a kind outside the enum, an ERROR status; and one span per reject reason. */
static struct lo2_buf handbuilt(void)
{
	struct lo2_buf ss = LO2_BUF_INIT, x = LO2_BUF_INIT, arr = LO2_BUF_INIT, kvl = LO2_BUF_INIT;
	struct lo2_buf v, st = LO2_BUF_INIT, link = LO2_BUF_INIT, bad = LO2_BUF_INIT;
	static const unsigned char b3[3] = {0, 1, 2}, ff[1] = {0xff};

	v = any_str("x'y");
	pb_kv(&x, 9, "s", &v);
	v = any_bool(true);
	pb_kv(&x, 9, "b", &v);
	v = any_int(-5);
	pb_kv(&x, 9, "i", &v);
	v = any_double(2.0);
	pb_kv(&x, 9, "d", &v);
	v = any_double(1e-7);
	pb_kv(&x, 9, "d2", &v);
	v = any_double(NAN);
	pb_kv(&x, 9, "nan", &v);
	v = any_bytes(b3, 3);
	pb_kv(&x, 9, "bytes", &v);
	v = (struct lo2_buf)LO2_BUF_INIT;
	pb_kv(&x, 9, "empty", &v);
	/* arr: [1, "a", true, 0.5, (empty), bytes ff] */
	v = any_int(1);
	pb_msg(&arr, 1, &v);
	v = any_str("a");
	pb_msg(&arr, 1, &v);
	v = any_bool(true);
	pb_msg(&arr, 1, &v);
	v = any_double(0.5);
	pb_msg(&arr, 1, &v);
	pb_bytes(&arr, 1, "", 0);
	v = any_bytes(ff, 1);
	pb_msg(&arr, 1, &v);
	v = (struct lo2_buf)LO2_BUF_INIT;
	pb_msg(&v, 5, &arr);
	pb_kv(&x, 9, "arr", &v);
	/* kv: {"z": 1, "a": "<", "a": "second"} */
	v = any_int(1);
	pb_kv(&kvl, 1, "z", &v);
	v = any_str("<");
	pb_kv(&kvl, 1, "a", &v);
	v = any_str("second");
	pb_kv(&kvl, 1, "a", &v);
	v = (struct lo2_buf)LO2_BUF_INIT;
	pb_msg(&v, 6, &kvl);
	pb_kv(&x, 9, "kv", &v);
	pb_key(&x, 6, 0);
	pb_varint(&x, 7); /* kind 7: not in the enum */
	pb_str(&st, 2, "bad");
	pb_key(&st, 3, 0);
	pb_varint(&st, 2);
	pb_msg(&x, 15, &st);
	pb_span(&ss, 16, 8, 8, "op", &x);
	pb_span(&ss, 15, 8, 0, "short trace id", NULL);
	pb_span(&ss, 16, 0, 0, "no span id", NULL);
	pb_span(&ss, 16, 8, 4, "short parent", NULL);
	pb_bytes(&link, 1, TRACE_LOW, 16);
	pb_bytes(&link, 2, SPAN, 3);
	pb_msg(&bad, 13, &link);
	pb_span(&ss, 16, 8, 0, "bad link", &bad);
	return pb_request("hand/built", &ss);
}

#define HANDBUILT_ROW \
	"0102030405060708,1122334455667788,op,2023-11-14T22:13:20.123456+00:00,2023-11-14T22:13:20.123457+" \
	"00:00," \
	"\"{'arr': '[1,\"\"a\"\",true,0.5,null,\"\"/w==\"\"]', 'b': True, 'bytes': 'AAEC', 'd': 2, 'd2': " \
	"1e-07, " \
	"'empty': '', 'error': True, 'i': -5, 'internal.span.format': 'otlp', " \
	"'kv': '{\"\"a\"\":\"\"second\"\",\"\"z\"\":1}', 'nan': nan, 'otel.status_code': 'ERROR', " \
	"'otel.status_description': 'bad', 's': \"\"x'y\"\"}\"\n"

static void handbuilt_protobuf_rows(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *csv = path_in(dir, "traces_hand_built.csv");
	struct lo2_buf req = handbuilt();
	struct otlp_decoded dec;

	write_files(dir, &dec, OTLP_FORMAT_PROTOBUF, req.data, req.len);
	assert_int_equal(dec.spans, 1);
	assert_int_equal(dec.rejected[OTLP_REJECT_TRACE_ID], 1);
	assert_int_equal(dec.rejected[OTLP_REJECT_SPAN_ID], 1);
	assert_int_equal(dec.rejected[OTLP_REJECT_PARENT_ID], 1);
	assert_int_equal(dec.rejected[OTLP_REJECT_LINK_ID], 1);
	assert_file_equals(csv, FETCH_TRACES_HEADER HANDBUILT_ROW, strlen(FETCH_TRACES_HEADER HANDBUILT_ROW));
	lo2_buf_free(&req);
	tu_rm_rf(dir);
}

/* OTLP/JSON's liberties: snake_case keys, enum names, 64-bit integers as numbers or strings,
 * uppercase hex, URL-safe unpadded base64, "Infinity", nulls, unknown fields at any depth. */
static void handbuilt_json_rows(void **state)
{
	static const char body[] =
	    "{\"resource_spans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":{"
	    "\"stringValue\":"
	    "\"js\"}}],\"future\":{\"a\":[1,{\"b\":[]}]}},\"scopeSpans\":[{\"scope\":{\"name\":\"sc\","
	    "\"version\":null},"
	    "\"spans\":[{\"trace_id\":\"0AF7651916CD43DD8448EB211C80319C\",\"spanId\":\"B7AD6B7169203331\","
	    "\"parentSpanId\":\"\",\"name\":\"GET\",\"kind\":\"SPAN_KIND_SERVER\",\"startTimeUnixNano\":"
	    "1700000000000000000,\"end_time_unix_nano\":\"1700000001000000000\",\"attributes\":[{\"key\":"
	    "\"n\","
	    "\"value\":{\"intValue\":7}},{\"key\":\"s\",\"value\":{\"intValue\":\"-9007199254740993\"}},{"
	    "\"key\":\"inf\","
	    "\"value\":{\"doubleValue\":\"Infinity\"}},{\"key\":\"raw\",\"value\":{\"bytesValue\":\"-_8\"}},{"
	    "\"key\":"
	    "\"big\",\"value\":{\"doubleValue\":1e20}}],\"status\":{\"code\":\"STATUS_CODE_OK\"},\"unknown\":"
	    "[[[]]],"
	    "\"traceState\":null}]}]}]}";
	static const char expected[] =
	    "Trace ID,Span ID,Operation Name,Start Time,End Time,Tags\n"
	    "0af7651916cd43dd8448eb211c80319c,b7ad6b7169203331,GET,2023-11-14T22:13:20+00:00,"
	    "2023-11-14T22:13:21+00:00,\"{'big': 100000000000000000000, 'inf': inf, 'internal.span.format': "
	    "'otlp', "
	    "'n': 7, 'otel.scope.name': 'sc', 'otel.status_code': 'OK', 'raw': '+/8=', 's': "
	    "-9007199254740993, "
	    "'span.kind': 'server'}\"\n";
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *csv = path_in(dir, "traces_js.csv");
	struct otlp_decoded dec;

	write_files(dir, &dec, OTLP_FORMAT_JSON, body, strlen(body));
	assert_int_equal(dec.spans, 1);
	assert_file_equals(csv, expected, strlen(expected));
	tu_rm_rf(dir);
}

/* ---- malformed bodies ---- */

static int decode_err(enum otlp_format f, const void *body, size_t n, struct lo2_err *err)
{
	struct otlp_decoded dec;

	lo2_err_clear(err);
	return otlp_decode(f, body, n, NULL, NULL, &dec, err);
}

static void truncated_and_corrupted_never_crash(void **state)
{
	size_t npb, njs;
	lo2_autofree char *pb = fixture("python-a.pb", &npb);
	lo2_autofree char *js = fixture("python-a.json", &njs);
	struct lo2_err err;
	size_t failed = 0;

	for (size_t i = 0; i < npb; i++) {
		if (decode_err(OTLP_FORMAT_PROTOBUF, pb, i, &err) != 0) {
			assert_int_equal(err.kind, LO2_E_INVALID);
			failed++;
		}
	}
	assert_true(failed > npb / 2);
	for (size_t i = 0; i < npb; i++) {
		pb[i] ^= 0x5a;
		if (decode_err(OTLP_FORMAT_PROTOBUF, pb, npb, &err) != 0)
			assert_int_equal(err.kind, LO2_E_INVALID);
		pb[i] ^= 0x5a;
	}
	/* a JSON document cut anywhere before its end is malformed */
	while (njs > 0 && (js[njs - 1] == '\n' || js[njs - 1] == ' '))
		njs--;
	for (size_t i = 0; i + 1 < njs; i++) {
		assert_int_equal(decode_err(OTLP_FORMAT_JSON, js, i, &err), -1);
		assert_int_equal(err.kind, LO2_E_INVALID);
	}
}

static void malformed_messages(void **state)
{
	struct lo2_buf deep = LO2_BUF_INIT, ss = LO2_BUF_INIT, x = LO2_BUF_INIT, req;
	struct lo2_buf js = LO2_BUF_INIT;
	struct lo2_err err;

	/* an AnyValue nested 100 arrays deep */
	for (int i = 0; i < 100; i++) {
		struct lo2_buf arr = LO2_BUF_INIT, v = LO2_BUF_INIT;

		pb_msg(&arr, 1, &deep);
		pb_msg(&v, 5, &arr);
		deep = v;
	}
	pb_kv(&x, 9, "deep", &deep);
	pb_span(&ss, 16, 8, 0, "op", &x);
	req = pb_request("s", &ss);
	assert_int_equal(decode_err(OTLP_FORMAT_PROTOBUF, req.data, req.len, &err), -1);
	assert_string_equal(err.msg, "malformed protobuf: messages nested deeper than 64");
	lo2_buf_free(&req);

	ss = (struct lo2_buf)LO2_BUF_INIT;
	pb_span(&ss, 16, 8, 0, "caf\xc3", NULL);
	req = pb_request("s", &ss);
	assert_int_equal(decode_err(OTLP_FORMAT_PROTOBUF, req.data, req.len, &err), -1);
	assert_string_equal(err.msg, "string field name of a Span is not UTF-8 without NUL bytes");
	lo2_buf_free(&req);

	assert_int_equal(decode_err(OTLP_FORMAT_PROTOBUF, "\x0a\x05\x12", 3, &err), -1);
	assert_string_equal(
	    err.msg, "malformed protobuf: a truncated length-delimited field in a ExportTraceServiceRequest");

	lo2_buf_puts(
	    &js,
	    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[{\"key\":\"k\",\"value\":");
	for (int i = 0; i < 40; i++)
		lo2_buf_puts(&js, "{\"arrayValue\":{\"values\":[");
	assert_int_equal(decode_err(OTLP_FORMAT_JSON, js.data, js.len, &err), -1);
	assert_non_null(strstr(err.msg, "nested deeper than 64"));
	lo2_buf_free(&js);

	assert_int_equal(decode_err(OTLP_FORMAT_JSON, "{\"resourceSpans\":{}}", 20, &err), -1);
	assert_string_equal(err.msg,
	                    "malformed OTLP/JSON at byte 18 (resourceSpans): an object where a scalar or an "
	                    "array was expected");
	assert_int_equal(decode_err(OTLP_FORMAT_JSON, "[]", 2, &err), -1);
	assert_string_equal(err.msg, "malformed OTLP/JSON at byte 1: the request must be an object");
	{
		static const char nul[] =
		    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"a\\u0000b\"}]}]}]}";
		static const char kind[] =
		    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"kind\":\"SERVER\"}]}]}]}";

		assert_int_equal(decode_err(OTLP_FORMAT_JSON, nul, strlen(nul), &err), -1);
		assert_non_null(
		    strstr(err.msg, "resourceSpans[0].scopeSpans[0].spans[0].name): a string with a NUL"));
		assert_int_equal(decode_err(OTLP_FORMAT_JSON, kind, strlen(kind), &err), -1);
		assert_non_null(strstr(err.msg, "spans[0].kind): expected a SpanKind number or name"));
	}
	/* an empty protobuf body is an empty request */
	assert_int_equal(decode_err(OTLP_FORMAT_PROTOBUF, "", 0, &err), 0);
}

/* ---- the receiver over HTTP ---- */

struct got {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t spans;
	bool hold; /* the consumer waits while true */
	char names[64][64];
};

static int collect(void *user, const struct otlp_span *s)
{
	struct got *g = user;

	pthread_mutex_lock(&g->mu);
	while (g->hold)
		pthread_cond_wait(&g->cv, &g->mu);
	if (g->spans < 64)
		snprintf(g->names[g->spans], sizeof(g->names[0]), "%s/%s", s->resource->service_name,
		         s->name);
	g->spans++;
	pthread_mutex_unlock(&g->mu);
	return 0;
}

struct answer {
	long status;
	struct lo2_buf body;
	char retry_after[16];
	char allow[16];
	char ctype[64];
};

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
	lo2_buf_append(user, p, size * n);
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *user)
{
	struct answer *a = user;
	size_t len = size * n;

	if (len > 13 && strncasecmp(p, "Retry-After: ", 13) == 0)
		snprintf(a->retry_after, sizeof(a->retry_after), "%.*s", (int)strcspn(p + 13, "\r\n"),
		         p + 13);
	if (len > 7 && strncasecmp(p, "Allow: ", 7) == 0)
		snprintf(a->allow, sizeof(a->allow), "%.*s", (int)strcspn(p + 7, "\r\n"), p + 7);
	if (len > 14 && strncasecmp(p, "Content-Type: ", 14) == 0)
		snprintf(a->ctype, sizeof(a->ctype), "%.*s", (int)strcspn(p + 14, "\r\n"), p + 14);
	return len;
}

/* POSTs (or GETs when body is NULL) to the receiver; ctype/cenc NULL: no header; chunked: no
 * Content-Length. */
static void http(int port, const char *path, const char *ctype, const char *cenc, const void *body, size_t n,
                 bool chunked, struct answer *a)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hd = NULL;
	char url[128], line[128];

	memset(a, 0, sizeof(*a));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (ctype) {
		snprintf(line, sizeof(line), "Content-Type: %s", ctype);
		hd = curl_slist_append(hd, line);
	}
	if (cenc) {
		snprintf(line, sizeof(line), "Content-Encoding: %s", cenc);
		hd = curl_slist_append(hd, line);
	}
	if (chunked)
		hd = curl_slist_append(hd, "Transfer-Encoding: chunked");
	hd = curl_slist_append(hd, "Expect:");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		if (!chunked)
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
		else
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &a->body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
}

static struct otlp_receiver *start(struct got *g, size_t body_max, size_t queue_spans)
{
	struct otlp_opts o = {.address = "127.0.0.1",
	                      .body_max = body_max,
	                      .queue_spans = queue_spans,
	                      .on_span = collect,
	                      .user = g,
	                      .retry_after_s = 2};
	struct otlp_receiver *r = NULL;
	struct lo2_err err = {0};

	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	if (otlp_receiver_start(&o, &r, &err) != 0)
		fail_msg("start: %s", err.msg);
	assert_true(otlp_receiver_port(r) > 0);
	return r;
}

/* gzip of n bytes (caller frees). */
static char *gz(const void *p, size_t n, size_t *outn)
{
	z_stream zs = {0};
	char *out = xmalloc(n + 1024);

	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (unsigned char *)(uintptr_t)p;
	zs.avail_in = (uInt)n;
	zs.next_out = (unsigned char *)out;
	zs.avail_out = (uInt)(n + 1024);
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*outn = zs.total_out;
	deflateEnd(&zs);
	return out;
}

static void http_answers(void **state)
{
	struct got g;
	struct otlp_receiver *r = start(&g, 4096, 0);
	int port = otlp_receiver_port(r);
	struct otlp_stats st;
	struct answer a;
	size_t n, ngz, nbomb;
	lo2_autofree char *pb = fixture("python-a.pb", &n);
	lo2_autofree char *pbgz = fixture("python-a.pb.gz", &ngz);
	lo2_autofree char *zeros = xcalloc(1, 100000);
	lo2_autofree char *bomb = gz(zeros, 100000, &nbomb);
	struct lo2_buf hb = handbuilt();

	http(port, "/v1/traces", "application/x-protobuf", NULL, pb, n, false, &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.ctype, "application/x-protobuf");
	assert_int_equal(a.body.len, 0); /* an empty ExportTraceServiceResponse */
	lo2_buf_free(&a.body);
	http(port, "/v1/traces", "application/x-protobuf", "gzip", pbgz, ngz, false, &a);
	if (a.status != 200)
		fail_msg("gzip: %ld %.*s", a.status, (int)a.body.len, a.body.data);
	lo2_buf_free(&a.body);
	/* partial success, protobuf: partial_success{rejected_spans: 4, error_message} */
	http(port, "/v1/traces", "application/x-protobuf", NULL, hb.data, hb.len, false, &a);
	assert_int_equal(a.status, 200);
	assert_true(a.body.len > 4);
	assert_int_equal((unsigned char)a.body.data[0], 0x0a);
	assert_int_equal((unsigned char)a.body.data[2], 0x08);
	assert_int_equal((unsigned char)a.body.data[3], 4);
	assert_non_null(strstr(a.body.data + 4,
	                       "4 spans rejected: 1 invalid trace id, 1 invalid span id, 1 invalid "
	                       "parent span id, 1 invalid link id"));
	lo2_buf_free(&a.body);
	/* partial success, JSON */
	{
		static const char js[] =
		    "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"00\",\"spanId\":"
		    "\"0102030405060708\"}]}]}]}";

		http(port, "/v1/traces", "application/json; charset=utf-8", NULL, js, strlen(js), false, &a);
		assert_int_equal(a.status, 200);
		assert_string_equal(a.ctype, "application/json");
		assert_string_equal(a.body.data,
		                    "{\"partialSuccess\":{\"rejectedSpans\":\"1\",\"errorMessage\":\"1 span "
		                    "rejected: 1 invalid trace id\"}}");
		lo2_buf_free(&a.body);
		http(port, "/v1/traces", "application/json", NULL, "{}", 2, false, &a);
		assert_int_equal(a.status, 200);
		assert_string_equal(a.body.data, "{}");
		lo2_buf_free(&a.body);
	}
	/* 400 with google.rpc.Status */
	http(port, "/v1/traces", "application/json", NULL, "{\"resourceSpans\":[", 18, false, &a);
	assert_int_equal(a.status, 400);
	assert_string_equal(
	    a.body.data,
	    "{\"code\":3,\"message\":\"malformed JSON at byte 18: parse error: premature EOF\"}");
	lo2_buf_free(&a.body);
	http(port, "/v1/traces", "application/x-protobuf", NULL, "\x0a\x05\x12", 3, false, &a);
	assert_int_equal(a.status, 400);
	assert_int_equal((unsigned char)a.body.data[0], 0x08); /* code */
	assert_non_null(memmem(a.body.data, a.body.len, "truncated", 9));
	lo2_buf_free(&a.body);
	/* gzip: corrupt, and cut short */
	http(port, "/v1/traces", "application/x-protobuf", "gzip", pb, n, false, &a);
	assert_int_equal(a.status, 400);
	assert_non_null(memmem(a.body.data, a.body.len, "gzip: corrupt data at byte", 26));
	lo2_buf_free(&a.body);
	http(port, "/v1/traces", "application/x-protobuf", "gzip", pbgz, ngz - 9, false, &a);
	assert_int_equal(a.status, 400);
	assert_non_null(memmem(a.body.data, a.body.len, "gzip: the stream ends early", 27));
	lo2_buf_free(&a.body);
	/* 413: by Content-Length, by size when chunked, and after gunzip */
	http(port, "/v1/traces", "application/json", NULL, zeros, 5000, false, &a);
	assert_int_equal(a.status, 413);
	assert_string_equal(a.body.data,
	                    "{\"code\":8,\"message\":\"request body of 5000 bytes over the cap of 4096\"}");
	lo2_buf_free(&a.body);
	memset(zeros, ' ', 6000);
	zeros[6000] = '\0';
	http(port, "/v1/traces", "application/json", NULL, zeros, 6000, true, &a);
	assert_int_equal(a.status, 413);
	lo2_buf_free(&a.body);
	http(port, "/v1/traces", "application/json", "gzip", bomb, nbomb, false, &a);
	assert_int_equal(a.status, 413);
	assert_string_equal(
	    a.body.data,
	    "{\"code\":8,\"message\":\"request body over the cap of 4096 bytes (after gunzip)\"}");
	lo2_buf_free(&a.body);
	/* 415, 404, 405 */
	http(port, "/v1/traces", "text/plain", NULL, "x", 1, false, &a);
	assert_int_equal(a.status, 415);
	lo2_buf_free(&a.body);
	http(port, "/v1/traces", "application/x-protobuf", "br", pb, n, false, &a);
	assert_int_equal(a.status, 415);
	lo2_buf_free(&a.body);
	http(port, "/v1/metrics", "application/x-protobuf", NULL, pb, n, false, &a);
	assert_int_equal(a.status, 404);
	lo2_buf_free(&a.body);
	http(port, "/v1/traces", NULL, NULL, NULL, 0, false, &a);
	assert_int_equal(a.status, 405);
	assert_string_equal(a.allow, "POST");
	lo2_buf_free(&a.body);

	otlp_receiver_stop(r, &st);
	assert_int_equal(g.spans, 5 + 5 + 1);
	assert_string_equal(g.names[0], "svc-a/SELECT oauth2.client");
	assert_string_equal(g.names[10], "hand/built/op");
	assert_int_equal(st.spans_accepted, 11);
	assert_int_equal(st.spans_delivered, 11);
	assert_int_equal(st.answers[OTLP_ANSWER_OK], 3);
	assert_int_equal(st.answers[OTLP_ANSWER_PARTIAL], 2);
	assert_int_equal(st.answers[OTLP_ANSWER_MALFORMED], 4);
	assert_int_equal(st.answers[OTLP_ANSWER_TOO_LARGE], 3);
	assert_int_equal(st.answers[OTLP_ANSWER_MEDIA_TYPE], 2);
	assert_int_equal(st.answers[OTLP_ANSWER_NOT_FOUND], 1);
	assert_int_equal(st.answers[OTLP_ANSWER_METHOD], 1);
	assert_int_equal(st.spans_rejected[OTLP_REJECT_TRACE_ID], 2);
	assert_int_equal(st.spans_rejected[OTLP_REJECT_SPAN_ID], 1);
	assert_int_equal(st.spans_rejected[OTLP_REJECT_LINK_ID], 1);
	lo2_buf_free(&hb);
}

static void hold(struct got *g, bool on)
{
	pthread_mutex_lock(&g->mu);
	g->hold = on;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void post_pb_ok(int port, const char *body, size_t n)
{
	struct answer a;

	http(port, "/v1/traces", "application/x-protobuf", NULL, body, n, false, &a);
	assert_int_equal(a.status, 200);
	lo2_buf_free(&a.body);
}

/* A full queue answers 503 with Retry-After and loses nothing: the retry gets in. */
static void queue_full_503(void **state)
{
	struct got g;
	struct otlp_receiver *r = start(&g, 0, 5);
	int port = otlp_receiver_port(r);
	struct otlp_stats st;
	struct answer a;
	size_t n;
	lo2_autofree char *pb = fixture("python-a.pb", &n);

	hold(&g, true);
	post_pb_ok(port, pb, n); /* 5 spans: the queue is full */
	http(port, "/v1/traces", "application/x-protobuf", NULL, pb, n, false, &a);
	assert_int_equal(a.status, 503);
	assert_string_equal(a.retry_after, "2");
	assert_non_null(memmem(a.body.data, a.body.len, "queue is full", 13));
	lo2_buf_free(&a.body);
	otlp_receiver_stats(r, &st);
	assert_int_equal(st.answers[OTLP_ANSWER_BUSY], 1);
	assert_int_equal(st.queue_spans, 5);
	hold(&g, false);
	for (int i = 0; i < 500; i++) {
		otlp_receiver_stats(r, &st);
		if (st.queue_spans == 0)
			break;
		usleep(10000);
	}
	post_pb_ok(port, pb, n);
	otlp_receiver_stop(r, &st);
	assert_int_equal(g.spans, 10);
	assert_int_equal(st.spans_delivered, 10);
	assert_int_equal(st.queue_peak_spans, 5);
}

/* Stopping hands every queued span to the consumer first. */
static void stop_drains(void **state)
{
	struct got g;
	struct otlp_receiver *r = start(&g, 0, 0);
	int port = otlp_receiver_port(r);
	struct otlp_stats st;
	size_t n;
	lo2_autofree char *pb = fixture("python-b.pb", &n);

	hold(&g, true);
	for (int i = 0; i < 4; i++)
		post_pb_ok(port, pb, n);
	hold(&g, false);
	otlp_receiver_stop(r, &st);
	assert_int_equal(g.spans, 20);
	assert_int_equal(st.spans_delivered, 20);
}

static void listen_addresses(void **state)
{
	char *addr = NULL;
	int port = -1;
	struct lo2_err err = {0};
	struct otlp_opts o = {.address = "192.0.2.1", .port = 0, .on_span = collect};
	struct otlp_receiver *r = NULL;

	assert_int_equal(otlp_parse_listen("127.0.0.1:4318", &addr, &port, &err), 0);
	assert_string_equal(addr, "127.0.0.1");
	assert_int_equal(port, 4318);
	free(addr);
	assert_int_equal(otlp_parse_listen("[::1]:0", &addr, &port, &err), 0);
	assert_string_equal(addr, "::1");
	assert_int_equal(port, 0);
	free(addr);
	assert_int_equal(otlp_parse_listen("localhost:80", &addr, &port, &err), -1);
	assert_string_equal(
	    err.msg, "listen address 'localhost:80': 'localhost' is not a numeric IPv4 or IPv6 address");
	assert_int_equal(otlp_parse_listen("127.0.0.1:70000", &addr, &port, &err), -1);
	assert_int_equal(otlp_parse_listen("127.0.0.1", &addr, &port, &err), -1);
	/* an address that is not this host's: the error says where */
	assert_int_equal(otlp_receiver_start(&o, &r, &err), -1);
	assert_string_equal(err.msg, "OTLP receiver: listen on 192.0.2.1:0: Cannot assign requested address");
}

/* Service names that cannot be file names: '/' becomes '_'; the rest go to the jsonl only. */
static void writer_names(void **state)
{
	lo2_autofree char *dir = tu_tmpdir();
	lo2_autofree char *jsonl = path_in(dir, OTLP_JSONL_FILE);
	struct otlp_resource res = {.schema_url = "", .service_name = "bad\nname"};
	struct otlp_scope sc = {.name = "", .version = "", .schema_url = ""};
	struct otlp_span s = {.trace_id = {1},
	                      .span_id = {2},
	                      .trace_state = "",
	                      .name = "x",
	                      .status_message = "",
	                      .resource = &res,
	                      .scope = &sc};
	struct otlp_writer *w = NULL;
	struct otlp_writer_stats ws;
	struct lo2_err err = {0};
	size_t len;
	char *text;

	assert_int_equal(otlp_writer_open(dir, &w, &err), 0);
	assert_int_equal(otlp_writer_add(w, &s, &err), 0);
	assert_int_equal(otlp_writer_commit(w, &ws, &err), 0);
	assert_int_equal(ws.spans, 1);
	assert_int_equal(ws.services, 0);
	assert_int_equal(ws.csv_skipped, 1);
	text = tu_read(jsonl, &len);
	assert_non_null(strstr(text, "\"name\":\"x\""));
	free(text);
	/* an aborted window leaves nothing; an empty one has an empty jsonl */
	unlink(jsonl);
	assert_int_equal(otlp_writer_open(dir, &w, &err), 0);
	otlp_writer_abort(w);
	assert_int_not_equal(access(jsonl, F_OK), 0);
	assert_int_equal(otlp_writer_open(dir, &w, &err), 0);
	assert_int_equal(otlp_writer_commit(w, &ws, &err), 0);
	text = tu_read(jsonl, &len);
	assert_int_equal(len, 0);
	free(text);
	tu_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(python_protobuf_exact_files),
	    cmocka_unit_test(python_json_same_rows),
	    cmocka_unit_test(handbuilt_protobuf_rows),
	    cmocka_unit_test(handbuilt_json_rows),
	    cmocka_unit_test(truncated_and_corrupted_never_crash),
	    cmocka_unit_test(malformed_messages),
	    cmocka_unit_test(http_answers),
	    cmocka_unit_test(queue_full_503),
	    cmocka_unit_test(stop_drains),
	    cmocka_unit_test(listen_addresses),
	    cmocka_unit_test(writer_names),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
