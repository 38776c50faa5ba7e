/* log.h - leveled diagnostics handed to a sink the program installs. The library never prints
 * by itself: with no sink (the default, e.g. when lo2's library is embedded) messages are
 * dropped. lo2's CLI installs a stderr printer at start. Failures travel as struct lo2_err. */
#ifndef LO2_LOG_H
#define LO2_LOG_H

enum lo2_log_level { LO2_LOG_ERROR, LO2_LOG_WARN, LO2_LOG_INFO, LO2_LOG_DEBUG };

/* Receives one message (no trailing newline) at or above the level; may be called from any
 * thread, so it must be thread-safe. */
typedef void (*lo2_log_sink_fn)(void *user, enum lo2_log_level level, const char *msg);

/* Installs the sink (NULL: drop everything). Call before starting threads. */
void lo2_log_set_sink(lo2_log_sink_fn fn, void *user);
/* "error", "warning", "info" or "debug". */
const char *lo2_log_level_name(enum lo2_log_level level);
/* Default INFO; LO2_LOG=debug|info|warn|error in the environment overrides it. */
void lo2_log_set_level(enum lo2_log_level level);
enum lo2_log_level lo2_log_get_level(void);
void lo2_log(enum lo2_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define lo2_debug(...) lo2_log(LO2_LOG_DEBUG, __VA_ARGS__)
#define lo2_info(...) lo2_log(LO2_LOG_INFO, __VA_ARGS__)
#define lo2_warn(...) lo2_log(LO2_LOG_WARN, __VA_ARGS__)

#endif
