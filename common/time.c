/* time.c - clocks and time formats (see time.h). */
#include "common/time.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t lo2_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * LO2_NS_PER_SEC + ts.tv_nsec;
}

int64_t lo2_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * LO2_NS_PER_SEC + ts.tv_nsec;
}

/* Reads up to 9 fraction digits after a '.', scaled to ns; advances *p. */
static int64_t parse_fraction(const char **p)
{
	int64_t frac = 0;
	int digits = 0;

	if (**p != '.')
		return 0;
	(*p)++;
	while (isdigit((unsigned char)**p)) {
		if (digits < 9) {
			frac = frac * 10 + (**p - '0');
			digits++;
		}
		(*p)++;
	}
	while (digits++ < 9)
		frac *= 10;
	return frac;
}

static int parse_unix(const char *s, int64_t *ns)
{
	const char *p = s;
	char *end;
	long long sec;

	errno = 0;
	sec = strtoll(p, &end, 10);
	if (end == p || errno != 0 || sec < 0 || sec > INT64_MAX / LO2_NS_PER_SEC - 1)
		return -1;
	p = end;
	if (*p == '.' && !isdigit((unsigned char)p[1]))
		return -1;
	*ns = (int64_t)sec * LO2_NS_PER_SEC + parse_fraction(&p);
	return *p == '\0' ? 0 : -1;
}

static int parse_rfc3339(const char *s, int64_t *ns)
{
	struct tm tm;
	const char *p;
	int64_t frac, off = 0;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (p == NULL)
		return -1;
	frac = parse_fraction(&p);
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm;

		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2 || strlen(p) != 6)
			return -1;
		off = (int64_t)(hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	t = timegm(&tm);
	/* ns since the epoch in int64 reach 1677..2262; "0001-01-01T00:00:00Z" (the engine's and
	 * Prometheus's zero time) and other far dates are not times lo2 can hold */
	if (t == (time_t)-1 || (int64_t)t - off < -9223372035LL || (int64_t)t - off > 9223372035LL)
		return -1;
	/* Nanoseconds in an int64_t span 1677..2262: refuse what lies outside (no overflow). */
	if ((int64_t)t - off < INT64_MIN / LO2_NS_PER_SEC + 1 ||
	    (int64_t)t - off > INT64_MAX / LO2_NS_PER_SEC - 1)
		return -1;
	*ns = ((int64_t)t - off) * LO2_NS_PER_SEC + frac;
	return 0;
}

int lo2_time_parse(const char *s, int64_t *ns, struct lo2_err *err)
{
	if (s != NULL && (parse_unix(s, ns) == 0 || parse_rfc3339(s, ns) == 0))
		return 0;
	return lo2_err_set(err, LO2_E_INVALID,
	                   "invalid time \"%s\": expected unix seconds (with optional fraction) or RFC 3339",
	                   s ? s : "");
}

void lo2_time_fmt_unix(int64_t ns, char *out, size_t outsz)
{
	snprintf(out, outsz, "%lld.%09lld", (long long)(ns / LO2_NS_PER_SEC),
	         (long long)(ns % LO2_NS_PER_SEC));
}

void lo2_time_fmt_rfc3339(int64_t ns, int digits, char *out, size_t outsz)
{
	time_t sec = (time_t)(ns / LO2_NS_PER_SEC);
	long long frac = ns % LO2_NS_PER_SEC;
	struct tm tm;
	char base[32];

	gmtime_r(&sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (digits <= 0) {
		snprintf(out, outsz, "%sZ", base);
		return;
	}
	for (int i = digits; i < 9; i++)
		frac /= 10;
	snprintf(out, outsz, "%s.%0*lldZ", base, digits > 9 ? 9 : digits, frac);
}

void lo2_sleep_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / LO2_NS_PER_SEC),
	                      .tv_nsec = (long)(ns % LO2_NS_PER_SEC)};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- Go durations ---- */

static int64_t unit_ns(const char *u, size_t n)
{
	static const struct {
		const char *name;
		int64_t ns;
	} units[] = {{"ns", 1},
	             {"us", 1000},
	             {"\xc2\xb5s", 1000},
	             {"ms", 1000000},
	             {"s", 1000000000},
	             {"m", 60 * INT64_C(1000000000)},
	             {"h", 3600 * INT64_C(1000000000)},
	             {"d", 86400 * INT64_C(1000000000)},
	             {"w", 7 * 86400 * INT64_C(1000000000)}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == n && strncmp(units[i].name, u, n) == 0)
			return units[i].ns;
	return 0;
}

static int bad_duration(const char *s, struct lo2_err *err)
{
	return lo2_err_set(err, LO2_E_INVALID,
	                   "invalid duration \"%.100s\" (expected e.g. 30s, 1m30s, 500ms)", s);
}

/* One "<number><unit>" term at *p; adds its ns to *total. */
static int duration_term(const char **p, const char *s, double *total, struct lo2_err *err)
{
	char *end;
	double v;
	const char *u;
	int64_t mul;

	if (!isdigit((unsigned char)**p) && **p != '.')
		return bad_duration(s, err);
	v = strtod(*p, &end);
	if (end == *p)
		return bad_duration(s, err);
	u = end;
	while (*end && !isdigit((unsigned char)*end) && *end != '.')
		end++;
	mul = unit_ns(u, (size_t)(end - u));
	if (mul == 0)
		return bad_duration(s, err);
	*total += v * (double)mul;
	*p = end;
	return 0;
}

int lo2_duration_parse(const char *s, int64_t *ns, struct lo2_err *err)
{
	const char *p = s;
	double total = 0;
	bool neg = false;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (strcmp(p, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (*p == '\0')
		return bad_duration(s, err);
	while (*p)
		if (duration_term(&p, s, &total, err) < 0)
			return -1;
	if (total > 9.2e18)
		return bad_duration(s, err);
	*ns = (int64_t)(total + 0.5) * (neg ? -1 : 1);
	return 0;
}
