/* decode.c - what both decoders share: the batch of spans a request becomes (ids checked as
 * each span is pushed, service names set at the end), otlp_decode for tests and tools, and the
 * codecs the wire formats need (hex ids, base64 bytes, UTF-8 checks). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/mem.h"
#include "otlp/internal.h"

const char otlp_empty[] = "";

static const char *const reject_names[OTLP_REJECT__N] = {
    "invalid trace id",
    "invalid span id",
    "invalid parent span id",
    "invalid link id",
};

const char *otlp_reject_name(enum otlp_reject r)
{
	return (unsigned)r < OTLP_REJECT__N ? reject_names[r] : "?";
}

struct otlp_batch *otlp_batch_new(void)
{
	return xcalloc(1, sizeof(struct otlp_batch));
}

void otlp_batch_free(struct otlp_batch *b)
{
	if (b == NULL)
		return;
	arena_free(&b->arena);
	free(b->spans);
	free(b);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* The first reason the span's ids are unusable, or OTLP_REJECT__N when they are fine. */
static enum otlp_reject check_ids(const struct otlp_span *s, const struct otlp_raw_ids *ids)
{
	if (ids->trace != 16 || all_zero(s->trace_id, 16))
		return OTLP_REJECT_TRACE_ID;
	if (ids->span != 8 || all_zero(s->span_id, 8))
		return OTLP_REJECT_SPAN_ID;
	if (ids->parent != 0 && ids->parent != 8)
		return OTLP_REJECT_PARENT_ID;
	if (ids->bad_link)
		return OTLP_REJECT_LINK_ID;
	return OTLP_REJECT__N;
}

void otlp_batch_push(struct otlp_batch *b, const struct otlp_span *s, const struct otlp_raw_ids *ids)
{
	enum otlp_reject why = check_ids(s, ids);
	struct otlp_span *d;

	if (why != OTLP_REJECT__N) {
		b->rejected[why]++;
		b->nrejected++;
		return;
	}
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->spans = xrealloc(b->spans, b->cap * sizeof(*b->spans));
	}
	d = &b->spans[b->n++];
	*d = *s;
	/* an all-zero parent is what some exporters send for a root */
	d->has_parent = ids->parent == 8 && !all_zero(s->parent_span_id, 8);
	if (!d->has_parent)
		memset(d->parent_span_id, 0, sizeof(d->parent_span_id));
}

void otlp_batch_finish(struct otlp_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		struct otlp_resource *r = (struct otlp_resource *)(uintptr_t)b->spans[i].resource;

		if (r->service_name != NULL)
			continue;
		r->service_name = "unknown_service";
		for (size_t k = 0; k < r->attrs.n; k++)
			if (strcmp(r->attrs.v[k].key, "service.name") == 0 &&
			    r->attrs.v[k].value.type == OTLP_VALUE_STRING && r->attrs.v[k].value.n > 0)
				r->service_name = r->attrs.v[k].value.s;
	}
}

int otlp_decode(enum otlp_format f, const void *body, size_t n,
                int (*on_span)(void *user, const struct otlp_span *s, struct lo2_err *err), void *user,
                struct otlp_decoded *out, struct lo2_err *err)
{
	struct otlp_batch *b = otlp_batch_new();
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if ((f == OTLP_FORMAT_PROTOBUF ? otlp_decode_pb(body, n, b, err)
	                               : otlp_decode_json(body, n, b, err)) < 0)
		goto out;
	otlp_batch_finish(b);
	out->spans = b->n;
	memcpy(out->rejected, b->rejected, sizeof(out->rejected));
	for (size_t i = 0; on_span != NULL && i < b->n; i++)
		if (on_span(user, &b->spans[i], err) < 0)
			goto out;
	ret = 0;
out:
	otlp_batch_free(b);
	return ret;
}

/* ---- codecs ---- */

void otlp_hex(const uint8_t *id, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[id[i] >> 4];
		out[2 * i + 1] = digits[id[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t otlp_unhex(const char *s, size_t n, uint8_t *out, size_t max)
{
	if (n % 2 != 0 || n / 2 > max)
		return SIZE_MAX;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return SIZE_MAX;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return n / 2;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void otlp_base64(struct lo2_buf *b, const uint8_t *p, size_t n)
{
	char q[4];

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t left = n - i;

		if (left > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (left > 2)
			v |= p[i + 2];
		q[0] = b64[v >> 18 & 63];
		q[1] = b64[v >> 12 & 63];
		q[2] = left > 1 ? b64[v >> 6 & 63] : '=';
		q[3] = left > 2 ? b64[v & 63] : '=';
		lo2_buf_append(b, q, 4);
	}
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int otlp_unbase64(const char *s, size_t n, uint8_t *out, size_t *outn)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t k = 0;

	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64val(s[i]);

		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[k++] = (uint8_t)(acc >> bits);
		}
	}
	*outn = k;
	return 0;
}

bool otlp_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			len = 2, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

int otlp_parse_listen(const char *s, char **addr, int *port, struct lo2_err *err)
{
	const char *colon = strrchr(s, ':');
	const char *host = s;
	size_t hlen;
	unsigned char tmp[16];
	char *end, *h;
	long p;

	if (colon == NULL)
		return lo2_err_set(err, LO2_E_USAGE, "listen address '%s': expected ADDR:PORT", s);
	hlen = (size_t)(colon - s);
	if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
		host = s + 1;
		hlen -= 2;
	}
	h = xstrndup(host, hlen);
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || p < 0 || p > 65535) {
		free(h);
		return lo2_err_set(err, LO2_E_USAGE, "listen address '%s': the port must be 0..65535", s);
	}
	if (inet_pton(AF_INET, h, tmp) != 1 && inet_pton(AF_INET6, h, tmp) != 1) {
		free(h);
		return lo2_err_set(err, LO2_E_USAGE,
		                   "listen address '%s': '%.*s' is not a numeric IPv4 or IPv6 address", s,
		                   (int)hlen, host);
	}
	*addr = h;
	*port = (int)p;
	return 0;
}
