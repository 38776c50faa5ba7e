/* time.c - clocks and time formats (see time.h). */
#include "common/time.h"

#include <ctype.h>
#include <errno.h>
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
	if (t == (time_t)-1)
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
