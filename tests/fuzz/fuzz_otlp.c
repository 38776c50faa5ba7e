/* fuzz_otlp.c - libFuzzer target for otlp/'s decoders: any bytes as an OTLP protobuf body and as
 * an OTLP/JSON body (and, when they start like gzip, inflated first with a cap, as the receiver
 * does), and every span decoded is formatted as its CSV row and its jsonl line. Seeds: the
 * recorded bodies in tests/fixtures/otlp/. Built only with -DLO2_FUZZ=ON and clang. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/sink.h"
#include "otlp/internal.h"
#include "otlp/otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int format(void *user, const struct otlp_span *s, struct lo2_err *err)
{
	struct lo2_buf *b = user;

	otlp_csv_row(b, s);
	otlp_jsonl_line(b, s);
	lo2_buf_reset(b);
	return 0;
}

static void decode_both(const void *p, size_t n)
{
	struct lo2_buf b = LO2_BUF_INIT;
	struct otlp_decoded dec;
	struct lo2_err err = {0};

	otlp_decode(OTLP_FORMAT_PROTOBUF, p, n, format, &b, &dec, &err);
	otlp_decode(OTLP_FORMAT_JSON, p, n, format, &b, &dec, &err);
	lo2_buf_free(&b);
}

static int collect(void *user, const char *p, size_t n, struct lo2_err *err)
{
	return lo2_buf_append(user, p, n) < 0 ? lo2_err_set(err, LO2_E_INVALID, "over the cap") : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode_both(data, size);
	if (size > 2 && data[0] == 0x1f && data[1] == 0x8b) {
		struct lo2_inflate *z = lo2_inflate_new();
		struct lo2_buf out = {NULL, 0, 0, 1u << 20};
		struct lo2_err err = {0};

		if (lo2_inflate_feed(z, data, size, collect, &out, &err) == 0 &&
		    lo2_inflate_end(z, &err) == 0)
			decode_both(out.data ? out.data : "", out.len);
		lo2_inflate_free(z);
		lo2_buf_free(&out);
	}
	return 0;
}
