/* pyfmt.c - the Python 3 formatting rules the original fetcher's files follow: json.dump's
 * numbers and ASCII string escapes, repr() of floats and strings, the csv module's quoting
 * and datetime.isoformat(). Each is checked against python3 in tests/unit/test_fetch.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fetch/fetch.h"
#include "fetch/internal.h"
#include "fetch/pyprint.h"

/* Decodes one UTF-8 sequence at s (n bytes left); returns its length, the code point in *cp.
 * Invalid bytes decode as themselves (one byte), which never happens for yajl-checked text. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c = s[0];

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		len = 2;
		c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4;
		c &= 0x07;
	} else {
		*cp = s[0];
		return 1;
	}
	if (len > n) {
		*cp = s[0];
		return 1;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = s[0];
			return 1;
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	*cp = c;
	return len;
}

static bool py_isprintable(uint32_t cp)
{
	size_t lo = 0, hi = sizeof(py_nonprintable) / sizeof(py_nonprintable[0]);

	if (cp < 0x80)
		return cp >= 0x20 && cp != 0x7f;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cp < py_nonprintable[mid][0])
			hi = mid;
		else if (cp > py_nonprintable[mid][1])
			lo = mid + 1;
		else
			return false;
	}
	return true;
}

/* The shortest digits that read back as d (d finite, > 0): "1739746339123", *decpt 10. */
static void shortest_digits(double d, char *digits, size_t dsz, int *decpt)
{
	char buf[64];
	char *e;
	size_t k = 0;

	for (int p = 1; p <= 17; p++) {
		snprintf(buf, sizeof(buf), "%.*e", p - 1, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	e = strchr(buf, 'e');
	for (char *c = buf; c < e && k + 1 < dsz; c++)
		if (*c >= '0' && *c <= '9')
			digits[k++] = *c;
	while (k > 1 && digits[k - 1] == '0')
		k--;
	digits[k] = '\0';
	*decpt = atoi(e + 1) + 1;
}

/* The digits (nd of them, decimal point decpt places in) in fixed notation into out:
 * "0.00123", "1234.5", and for a whole number "1200" plus ".0" when point0 (Python's repr). */
static void fixed_notation(const char *digits, int nd, int decpt, bool point0, char *out)
{
	size_t k = 0;

	if (decpt <= 0) {
		out[k++] = '0';
		out[k++] = '.';
		for (int i = 0; i < -decpt; i++)
			out[k++] = '0';
		memcpy(out + k, digits, (size_t)nd);
		k += (size_t)nd;
	} else if (decpt >= nd) {
		memcpy(out + k, digits, (size_t)nd);
		k += (size_t)nd;
		for (int i = nd; i < decpt; i++)
			out[k++] = '0';
		if (point0) {
			out[k++] = '.';
			out[k++] = '0';
		}
	} else {
		memcpy(out + k, digits, (size_t)decpt);
		k += (size_t)decpt;
		out[k++] = '.';
		memcpy(out + k, digits + decpt, (size_t)(nd - decpt));
		k += (size_t)(nd - decpt);
	}
	out[k] = '\0';
}

void py_float_repr(double d, char *out, size_t outsz)
{
	char digits[32];
	int decpt, nd;
	const char *sign = signbit(d) ? "-" : "";

	if (isnan(d)) {
		snprintf(out, outsz, "nan");
		return;
	}
	if (isinf(d)) {
		snprintf(out, outsz, "%sinf", sign);
		return;
	}
	if (d == 0) {
		snprintf(out, outsz, "%s0.0", sign);
		return;
	}
	shortest_digits(fabs(d), digits, sizeof(digits), &decpt);
	nd = (int)strlen(digits);
	if (decpt > -4 && decpt <= 16) {
		char fixed[64];

		fixed_notation(digits, nd, decpt, true, fixed);
		snprintf(out, outsz, "%s%s", sign, fixed);
		return;
	}
	snprintf(out, outsz, "%s%c%s%se%c%02d", sign, digits[0], nd > 1 ? "." : "", digits + 1,
	         decpt - 1 < 0 ? '-' : '+', abs(decpt - 1));
}

void fetch_py_float(double d, char *out, size_t outsz)
{
	py_float_repr(d, out, outsz);
}

void fetch_go_json_float(double d, char *out, size_t outsz)
{
	char digits[32], fixed[64];
	int decpt, nd;
	double a = fabs(d);
	const char *sign = signbit(d) ? "-" : "";

	if (a == 0) {
		snprintf(out, outsz, "%s0", sign);
		return;
	}
	shortest_digits(a, digits, sizeof(digits), &decpt);
	nd = (int)strlen(digits);
	if (a < 1e-6 || a >= 1e21) {
		/* strconv 'e' ("1e-07"), then encoding/json drops the exponent's leading zero */
		int e = decpt - 1;

		snprintf(out, outsz, "%s%c%s%se%c%0*d", sign, digits[0], nd > 1 ? "." : "", digits + 1,
		         e < 0 ? '-' : '+', e <= -10 || e >= 10 ? 2 : (e < 0 ? 1 : 2), abs(e));
		return;
	}
	fixed_notation(digits, nd, decpt, false, fixed);
	snprintf(out, outsz, "%s%s", sign, fixed);
}

void py_json_number(struct lo2_buf *b, const char *text, size_t n)
{
	char tmp[512], out[64];
	double d;

	if (memchr(text, '.', n) == NULL && memchr(text, 'e', n) == NULL && memchr(text, 'E', n) == NULL) {
		size_t i = (n > 0 && text[0] == '-') ? 1 : 0;

		while (i + 1 < n && text[i] == '0')
			i++;
		/* JSON has no leading zeros, so only "-0" changes: Python's int is 0. */
		if (i == n - 1 && text[i] == '0')
			lo2_buf_puts(b, "0");
		else
			lo2_buf_append(b, text, n);
		return;
	}
	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, text, n);
	tmp[n] = '\0';
	d = strtod(tmp, NULL);
	if (isinf(d)) {
		lo2_buf_puts(b, d < 0 ? "-Infinity" : "Infinity");
		return;
	}
	py_float_repr(d, out, sizeof(out));
	lo2_buf_puts(b, out);
}

/* Appends the printable ASCII bytes from s[*i] on that need no escape (not quote, not '\\'),
 * in one piece; *i moves past them. */
static void plain_run(struct lo2_buf *b, const char *s, size_t n, size_t *i, char quote)
{
	size_t k = *i;

	while (k < n && s[k] >= 0x20 && s[k] < 0x7f && s[k] != quote && s[k] != '\\')
		k++;
	lo2_buf_append(b, s + *i, k - *i);
	*i = k;
}

void py_json_string(struct lo2_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	lo2_buf_append(b, "\"", 1);
	while (i < n) {
		uint32_t cp;
		size_t len;
		char esc[16];

		plain_run(b, s, n, &i, '"');
		if (i == n)
			break;
		len = utf8_next(p + i, n - i, &cp);
		i += len;
		switch (cp) {
		case '"':
			lo2_buf_puts(b, "\\\"");
			continue;
		case '\\':
			lo2_buf_puts(b, "\\\\");
			continue;
		case '\n':
			lo2_buf_puts(b, "\\n");
			continue;
		case '\r':
			lo2_buf_puts(b, "\\r");
			continue;
		case '\t':
			lo2_buf_puts(b, "\\t");
			continue;
		case '\b':
			lo2_buf_puts(b, "\\b");
			continue;
		case '\f':
			lo2_buf_puts(b, "\\f");
			continue;
		default:
			break;
		}
		if (cp >= 0x10000) {
			uint32_t v = cp - 0x10000;

			snprintf(esc, sizeof(esc), "\\u%04x\\u%04x", 0xd800 | (v >> 10),
			         0xdc00 | (v & 0x3ff));
		} else {
			snprintf(esc, sizeof(esc), "\\u%04x", cp);
		}
		lo2_buf_puts(b, esc);
	}
	lo2_buf_append(b, "\"", 1);
}

void py_str_repr(struct lo2_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	char quote = (memchr(s, '\'', n) != NULL && memchr(s, '"', n) == NULL) ? '"' : '\'';
	size_t i = 0;

	lo2_buf_append(b, &quote, 1);
	while (i < n) {
		uint32_t cp;
		size_t len;
		char esc[16];

		plain_run(b, s, n, &i, quote);
		if (i == n)
			break;
		len = utf8_next(p + i, n - i, &cp);
		if (cp == (uint32_t)quote || cp == '\\') {
			esc[0] = '\\';
			esc[1] = (char)cp;
			lo2_buf_append(b, esc, 2);
		} else if (cp == '\t' || cp == '\n' || cp == '\r') {
			lo2_buf_puts(b, cp == '\t' ? "\\t" : cp == '\n' ? "\\n" : "\\r");
		} else if (py_isprintable(cp)) {
			lo2_buf_append(b, s + i, len);
		} else {
			if (cp <= 0xff)
				snprintf(esc, sizeof(esc), "\\x%02x", cp);
			else if (cp <= 0xffff)
				snprintf(esc, sizeof(esc), "\\u%04x", cp);
			else
				snprintf(esc, sizeof(esc), "\\U%08x", cp);
			lo2_buf_puts(b, esc);
		}
		i += len;
	}
	lo2_buf_append(b, &quote, 1);
}

void py_csv_field(struct lo2_buf *b, const char *s, size_t n)
{
	bool quote = false;
	size_t from = 0;

	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
	if (!quote) {
		lo2_buf_append(b, s, n);
		return;
	}
	lo2_buf_append(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '"')
			continue;
		lo2_buf_append(b, s + from, i + 1 - from); /* up to and with the quote, then it again */
		lo2_buf_append(b, "\"", 1);
		from = i + 1;
	}
	lo2_buf_append(b, s + from, n - from);
	lo2_buf_append(b, "\"", 1);
}

void py_isoformat_us(int64_t us, char *out, size_t outsz)
{
	int64_t sec = us / 1000000, frac = us % 1000000;
	time_t t;
	struct tm tm;
	char base[40];

	if (frac < 0) {
		frac += 1000000;
		sec--;
	}
	t = (time_t)sec;
	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (frac == 0)
		snprintf(out, outsz, "%s+00:00", base);
	else
		snprintf(out, outsz, "%s.%06lld+00:00", base, (long long)frac);
}
