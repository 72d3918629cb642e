/*
 * hc_log: leveled, timestamped log lines on stderr. Owns the process-wide
 * level and component name (set once at start-up by each binary's main);
 * does not rotate, buffer or route logs anywhere else. Formats into a stack
 * buffer and writes each line with one fprintf, so lines do not interleave.
 */
#include "hc_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static hc_log_level hc_log_min = HC_LOG_INFO;
static char hc_log_name[64] = "herald";

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

void hc_log(hc_log_level level, const char *fmt, ...)
{
    if (level < hc_log_min || level > HC_LOG_ERROR)
        return;
    char stamp[40], msg[2048];
    hc_log_stamp(stamp, sizeof stamp);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s %s %s: %s\n", stamp, hc_level_names[level], hc_log_name, msg);
}
