/* log.h - leveled diagnostics on stderr. Library code logs only at debug/info level for
 * progress; failures travel as struct lo2_err to the CLI, which prints them. */
#ifndef LO2_LOG_H
#define LO2_LOG_H

enum lo2_log_level { LO2_LOG_ERROR, LO2_LOG_WARN, LO2_LOG_INFO, LO2_LOG_DEBUG };

/* Default INFO; LO2_LOG=debug|info|warn|error in the environment overrides it. */
void lo2_log_set_level(enum lo2_log_level level);
enum lo2_log_level lo2_log_get_level(void);
void lo2_log(enum lo2_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define lo2_debug(...) lo2_log(LO2_LOG_DEBUG, __VA_ARGS__)
#define lo2_info(...) lo2_log(LO2_LOG_INFO, __VA_ARGS__)
#define lo2_warn(...) lo2_log(LO2_LOG_WARN, __VA_ARGS__)

#endif
