/* time.h - nanosecond clocks and the time formats lo2 meets at its edges
 * (unix seconds with fraction, RFC 3339 / ISO 8601). Inside lo2 a time is int64 ns since the epoch. */
#ifndef LO2_TIME_H
#define LO2_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define LO2_NS_PER_SEC INT64_C(1000000000)

int64_t lo2_now_ns(void); /* CLOCK_REALTIME */
int64_t lo2_mono_ns(void); /* CLOCK_MONOTONIC, for deadlines */

/* Parses "1700000000", "1700000000.123456789" or RFC 3339 ("2025-02-16T22:55:05Z",
 * "...05.5+01:00") into ns since the epoch. Error names the text. */
int lo2_time_parse(const char *s, int64_t *ns, struct lo2_err *err);
/* "1700000000.123456789" (the engine's since/until form); out needs 32 bytes. */
void lo2_time_fmt_unix(int64_t ns, char *out, size_t outsz);
/* RFC 3339 UTC with `digits` fraction digits (0, 3, 6 or 9): "2025-02-16T22:55:05.123456Z". */
void lo2_time_fmt_rfc3339(int64_t ns, int digits, char *out, size_t outsz);
/* Go duration syntax ("1m30s", "500ms", "1.5h", also "d" and "w"; "0" alone) to ns; an error
 * names the text. */
int lo2_duration_parse(const char *s, int64_t *ns, struct lo2_err *err);
/* Sleeps ns, restarting on EINTR. */
void lo2_sleep_ns(int64_t ns);

#endif
