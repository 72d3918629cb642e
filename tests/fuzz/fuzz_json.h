/*
 * fuzz_json.h: an allocation-free JSON syntax check for the fuzz targets'
 * properties ("every frame the server sends is valid JSON with a string
 * \"event\""). Parsing every reply with jansson cost about two thirds of
 * fuzz_gw_pusher's time (one malloc per value, under ASan), so the targets
 * check replies with this instead. It accepts exactly RFC 8259 JSON text
 * (nesting bounded by FZ_JSON_DEPTH, far above what the server writes) and
 * reports whether the top-level value is an object whose "event" member is
 * a string. Included only by tests/fuzz/fuzz_*.c.
 */
#ifndef HERALD_FUZZ_JSON_H
#define HERALD_FUZZ_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define FZ_JSON_DEPTH 64

/* The checker is not under test: no coverage feedback from it (it would
 * cost time and steer the fuzzer towards the checker's branches). */
#define FZ_NOCOV __attribute__((no_sanitize("coverage")))

typedef struct fz_json {
    const unsigned char *p, *end;
} fz_json;

FZ_NOCOV static void fz_ws(fz_json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

FZ_NOCOV static bool fz_lit(fz_json *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return false;
    j->p += n;
    return true;
}

FZ_NOCOV static bool fz_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Four hex digits after "\\u": their value, or -1. */
FZ_NOCOV static long fz_u4(fz_json *j)
{
    long v = 0;
    for (int i = 0; i < 4; i++, j->p++) {
        if (j->p >= j->end || !fz_hex(*j->p))
            return -1;
        unsigned char c = *j->p;
        v = v * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* A string, with escapes and well-formed UTF-8 checked; start and len get its raw body. */
FZ_NOCOV static bool fz_string(fz_json *j, const unsigned char **start, size_t *len)
{
    if (j->p >= j->end || *j->p != '"')
        return false;
    const unsigned char *s = ++j->p;
    while (j->p < j->end) {
        unsigned char c = *j->p;
        if (c == '"') {
            if (start)
                *start = s, *len = (size_t)(j->p - s);
            j->p++;
            return true;
        }
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (++j->p >= j->end)
                return false;
            c = *j->p++;
            if (c == 'u') {
                long u = fz_u4(j);
                if (u < 0 || (u >= 0xDC00 && u <= 0xDFFF))
                    return false; /* bad hex or a lone low surrogate */
                if (u >= 0xD800 && u <= 0xDBFF) {
                    if (!fz_lit(j, "\\u"))
                        return false;
                    long lo = fz_u4(j);
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return false;
                }
            } else if (!strchr("\"\\/bfnrt", c) || c == 0) {
                return false;
            }
            continue;
        }
        if (c < 0x80) {
            j->p++;
            continue;
        }
        /* UTF-8: length from the lead byte, no overlongs, no surrogates */
        int n = c >= 0xF0 && c <= 0xF4   ? 3
                : c >= 0xE0 && c <= 0xEF ? 2
                : c >= 0xC2 && c <= 0xDF ? 1
                                         : -1;
        if (n < 0 || j->end - j->p <= n)
            return false;
        unsigned char c1 = j->p[1];
        if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) ||
            (c == 0xF4 && c1 > 0x8F))
            return false;
        for (int i = 1; i <= n; i++)
            if ((j->p[i] & 0xC0) != 0x80)
                return false;
        j->p += n + 1;
    }
    return false;
}

FZ_NOCOV static bool fz_digits(fz_json *j)
{
    const unsigned char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > s;
}

FZ_NOCOV static bool fz_number(fz_json *j)
{
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (!fz_digits(j))
        return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!fz_digits(j))
            return false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!fz_digits(j))
            return false;
    }
    return true;
}

/* One value. With event_ok (top level only): set to whether it is an
 * object with a string "event" member. */
FZ_NOCOV static bool fz_value(fz_json *j, int depth, bool *event_ok)
{
    if (depth > FZ_JSON_DEPTH)
        return false;
    fz_ws(j);
    if (j->p >= j->end)
        return false;
    switch (*j->p) {
    case '{':
        j->p++;
        fz_ws(j);
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            return true;
        }
        for (;;) {
            const unsigned char *k;
            size_t klen;
            fz_ws(j);
            if (!fz_string(j, &k, &klen))
                return false;
            fz_ws(j);
            if (j->p >= j->end || *j->p++ != ':')
                return false;
            fz_ws(j);
            bool is_event = event_ok && klen == 5 && memcmp(k, "event", 5) == 0;
            if (is_event && j->p < j->end && *j->p == '"')
                *event_ok = true;
            if (!fz_value(j, depth + 1, NULL))
                return false;
            fz_ws(j);
            if (j->p >= j->end)
                return false;
            if (*j->p == '}') {
                j->p++;
                return true;
            }
            if (*j->p++ != ',')
                return false;
        }
    case '[':
        j->p++;
        fz_ws(j);
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            return true;
        }
        for (;;) {
            if (!fz_value(j, depth + 1, NULL))
                return false;
            fz_ws(j);
            if (j->p >= j->end)
                return false;
            if (*j->p == ']') {
                j->p++;
                return true;
            }
            if (*j->p++ != ',')
                return false;
        }
    case '"':
        return fz_string(j, NULL, NULL);
    case 't':
        return fz_lit(j, "true");
    case 'f':
        return fz_lit(j, "false");
    case 'n':
        return fz_lit(j, "null");
    default:
        return fz_number(j);
    }
}

/* True when text[0..len) is one JSON object with a string "event" member. */
FZ_NOCOV static inline bool fz_json_event_object(const char *text, size_t len)
{
    fz_json j = {(const unsigned char *)text, (const unsigned char *)text + len};
    bool event_ok = false;
    fz_ws(&j);
    if (j.p >= j.end || *j.p != '{')
        return false;
    if (!fz_value(&j, 0, &event_ok))
        return false;
    fz_ws(&j);
    return j.p == j.end && event_ok;
}

#endif
