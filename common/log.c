/* log.c - leveled stderr logging (see log.h). One fprintf per line so threads do not interleave. */
#include "common/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int level = -1;

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
	static const char *const names[] = {"error", "warning", "info", "debug"};
	char line[4096];
	va_list ap;

	if (l > lo2_log_get_level())
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "lo2: %s: %s\n", names[l], line);
}
