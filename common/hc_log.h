/*
 * hc_log: leveled log lines on stderr.
 *
 * Owns the process-wide log level and component name. One line per call:
 * "2026-11-23T04:30:00.123Z INFO  gateway-1: message". Callers format their
 * own message; nothing here allocates after start-up.
 */
#ifndef HC_LOG_H
#define HC_LOG_H

typedef enum { HC_LOG_DEBUG = 0, HC_LOG_INFO, HC_LOG_WARN, HC_LOG_ERROR } hc_log_level;

void hc_log_set_level(hc_log_level level);
/* Parses "debug", "info", "warn", "error"; returns -1 if unknown. */
int hc_log_parse_level(const char *s, hc_log_level *out);
/* The name printed on every line (copied). */
void hc_log_set_component(const char *name);
void hc_log(hc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define hc_debug(...) hc_log(HC_LOG_DEBUG, __VA_ARGS__)
#define hc_info(...) hc_log(HC_LOG_INFO, __VA_ARGS__)
#define hc_warn(...) hc_log(HC_LOG_WARN, __VA_ARGS__)
#define hc_error(...) hc_log(HC_LOG_ERROR, __VA_ARGS__)

#endif
