/*
 * hc_log: leveled log lines on stderr.
 *
 * Owns the process-wide log level, format and component name. One line per
 * call, either text:
 *   "2026-11-23T04:30:00.123Z INFO  gateway-1: message [app=a socket=s]"
 * or JSON (--log-format json), one object per line:
 *   {"ts":"...","level":"info","component":"gateway-1","msg":"message",
 *    "app":"a","socket":"s","channel":"c"}
 * where app / socket / channel appear only when the caller gives them
 * (hc_log_ctx and the hc_*_ctx macros). Callers format their own message;
 * nothing here allocates.
 */
#ifndef HC_LOG_H
#define HC_LOG_H

typedef enum { HC_LOG_DEBUG = 0, HC_LOG_INFO, HC_LOG_WARN, HC_LOG_ERROR } hc_log_level;
typedef enum { HC_LOG_TEXT = 0, HC_LOG_JSON } hc_log_format;

void hc_log_set_level(hc_log_level level);
/* Parses "debug", "info", "warn", "error"; returns -1 if unknown. */
int hc_log_parse_level(const char *s, hc_log_level *out);
/* The name printed on every line (copied). */
void hc_log_set_component(const char *name);
void hc_log(hc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses "text" or "json"; returns -1 if unknown. */
int hc_log_parse_format(const char *s, hc_log_format *out);
void hc_log_set_format(hc_log_format f);
/* Whether a line at this level would be written (to skip costly formatting). */
int hc_log_enabled(hc_log_level level);
/* A line with context fields; app, socket and channel may each be NULL. */
void hc_log_ctx(hc_log_level level, const char *app, const char *socket, const char *channel,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define hc_debug(...) hc_log(HC_LOG_DEBUG, __VA_ARGS__)
#define hc_info(...) hc_log(HC_LOG_INFO, __VA_ARGS__)
#define hc_warn(...) hc_log(HC_LOG_WARN, __VA_ARGS__)
#define hc_error(...) hc_log(HC_LOG_ERROR, __VA_ARGS__)
#define hc_debug_ctx(app, sock, chan, ...) hc_log_ctx(HC_LOG_DEBUG, app, sock, chan, __VA_ARGS__)
#define hc_info_ctx(app, sock, chan, ...) hc_log_ctx(HC_LOG_INFO, app, sock, chan, __VA_ARGS__)
#define hc_warn_ctx(app, sock, chan, ...) hc_log_ctx(HC_LOG_WARN, app, sock, chan, __VA_ARGS__)

#endif
