/*
 * hc_log: leveled, timestamped log lines on stderr. Owns the process-wide
 * level, format (text or JSON lines) and component name (set once at
 * start-up by each binary's main); does not rotate, buffer or route logs
 * anywhere else. Formats into stack buffers and writes each line with one
 * fprintf, so lines do not interleave.
 */
#include "hc_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static hc_log_level hc_log_min = HC_LOG_INFO;
static char hc_log_name[64] = "herald";
static hc_log_format hc_log_fmt = HC_LOG_TEXT;

static const char *const hc_level_names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};

void hc_log_set_level(hc_log_level level)
{
    hc_log_min = level;
}

/* Returns 0 and sets *out for a known level name (any case), else -1. */
int hc_log_parse_level(const char *s, hc_log_level *out)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; s && i < 4; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (hc_log_level)i;
            return 0;
        }
    }
    if (s && strcasecmp(s, "warning") == 0) {
        *out = HC_LOG_WARN;
        return 0;
    }
    return -1;
}

void hc_log_set_component(const char *name)
{
    snprintf(hc_log_name, sizeof hc_log_name, "%s", name ? name : "herald");
}

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (at least 32 bytes). */
static void hc_log_stamp(char *out, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

int hc_log_parse_format(const char *s, hc_log_format *out)
{
    if (s && strcasecmp(s, "text") == 0)
        *out = HC_LOG_TEXT;
    else if (s && strcasecmp(s, "json") == 0)
        *out = HC_LOG_JSON;
    else
        return -1;
    return 0;
}

void hc_log_set_format(hc_log_format f)
{
    hc_log_fmt = f;
}

int hc_log_enabled(hc_log_level level)
{
    return level >= hc_log_min && level <= HC_LOG_ERROR;
}

/* Writes s as a JSON string (quotes included) into out[*at..len), escaping
 * as RFC 8259 requires; stops (still closing the string) when full. */
static void json_str(char *out, size_t len, size_t *at, const char *s)
{
    size_t i = *at;
    if (i + 2 >= len)
        return;
    out[i++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p && i + 8 < len; p++) {
        if (*p == '"' || *p == '\\') {
            out[i++] = '\\';
            out[i++] = (char)*p;
        } else if (*p == '\n') {
            out[i++] = '\\';
            out[i++] = 'n';
        } else if (*p < 0x20) {
            i += (size_t)snprintf(out + i, len - i, "\\u%04x", *p);
        } else {
            out[i++] = (char)*p;
        }
    }
    out[i++] = '"';
    out[i] = '\0';
    *at = i;
}

/* Appends ,"key":"value" when value is set. */
static void json_field(char *out, size_t len, size_t *at, const char *key, const char *value)
{
    if (!value || !value[0] || *at + strlen(key) + 8 >= len)
        return;
    *at += (size_t)snprintf(out + *at, len - *at, ",\"%s\":", key);
    json_str(out, len, at, value);
}

static void emit(hc_log_level level, const char *app, const char *sock, const char *chan,
                 const char *msg)
{
    static const char *const json_levels[] = {"debug", "info", "warn", "error"};
    char stamp[40];
    hc_log_stamp(stamp, sizeof stamp);
    if (hc_log_fmt == HC_LOG_TEXT) {
        char ctx[512] = "";
        size_t n = 0;
        if (app && app[0])
            n += (size_t)snprintf(ctx + n, sizeof ctx - n, " app=%s", app);
        if (sock && sock[0] && n < sizeof ctx)
            n += (size_t)snprintf(ctx + n, sizeof ctx - n, " socket=%s", sock);
        if (chan && chan[0] && n < sizeof ctx)
            snprintf(ctx + n, sizeof ctx - n, " channel=%s", chan);
        fprintf(stderr, "%s %s %s: %s%s%s%s\n", stamp, hc_level_names[level], hc_log_name, msg,
                ctx[0] ? " [" : "", ctx[0] ? ctx + 1 : "", ctx[0] ? "]" : "");
        return;
    }
    char line[4096];
    size_t at =
        (size_t)snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"component\":", stamp,
                         json_levels[level]);
    json_str(line, sizeof line, &at, hc_log_name);
    if (at + 8 < sizeof line) {
        memcpy(line + at, ",\"msg\":", 7);
        at += 7;
        line[at] = '\0';
    }
    json_str(line, sizeof line, &at, msg);
    json_field(line, sizeof line, &at, "app", app);
    json_field(line, sizeof line, &at, "socket", sock);
    json_field(line, sizeof line, &at, "channel", chan);
    fprintf(stderr, "%s}\n", line);
}

void hc_log(hc_log_level level, const char *fmt, ...)
{
    if (!hc_log_enabled(level))
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(level, NULL, NULL, NULL, msg);
}

void hc_log_ctx(hc_log_level level, const char *app, const char *socket, const char *channel,
                const char *fmt, ...)
{
    if (!hc_log_enabled(level))
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(level, app, socket, channel, msg);
}
