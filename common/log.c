/* log.c - leveled logging into the sink the program installed (see log.h); none: dropped. */
#include "common/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int level = -1;
static _Atomic(lo2_log_sink_fn) sink_fn;
static _Atomic(void *) sink_user;

void lo2_log_set_sink(lo2_log_sink_fn fn, void *user)
{
	atomic_store(&sink_fn, NULL);
	atomic_store(&sink_user, user);
	atomic_store(&sink_fn, fn);
}

const char *lo2_log_level_name(enum lo2_log_level l)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};

	return l >= LO2_LOG_ERROR && l <= LO2_LOG_DEBUG ? names[l] : "log";
}

static int level_from_env(void)
{
	const char *s = getenv("LO2_LOG");

	if (s == NULL)
		return LO2_LOG_INFO;
	if (strcmp(s, "debug") == 0)
		return LO2_LOG_DEBUG;
	if (strcmp(s, "warn") == 0)
		return LO2_LOG_WARN;
	if (strcmp(s, "error") == 0)
		return LO2_LOG_ERROR;
	return LO2_LOG_INFO;
}

void lo2_log_set_level(enum lo2_log_level l)
{
	atomic_store(&level, (int)l);
}

enum lo2_log_level lo2_log_get_level(void)
{
	int l = atomic_load(&level);

	if (l < 0) {
		l = level_from_env();
		atomic_store(&level, l);
	}
	return (enum lo2_log_level)l;
}

void lo2_log(enum lo2_log_level l, const char *fmt, ...)
{
	lo2_log_sink_fn fn = atomic_load(&sink_fn);
	char line[4096];
	va_list ap;

	if (fn == NULL || l > lo2_log_get_level())
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fn(atomic_load(&sink_user), l, line);
}
