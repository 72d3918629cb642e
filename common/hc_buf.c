/*
 * hc_buf: the growable string builder (hc_sbuf) and the immutable,
 * reference-counted payload buffer (hc_rbuf). Owns only the memory of the
 * buffers it creates; knows nothing of sockets or of what the bytes mean
 * beyond JSON string escaping. Called by the gateway (JSON, WebSocket
 * frames), the broker and hc_frame (framed protobufs).
 */
#include "hc_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_mem.h"

/* Makes room for extra more bytes plus the NUL; data stays owned by b. */
void hc_sbuf_reserve(hc_sbuf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = hc_realloc(b->data, cap);
    b->cap = cap;
    b->data[b->len] = '\0'; /* a fresh buffer is a valid empty string */
}

void hc_sbuf_append(hc_sbuf *b, const void *p, size_t n)
{
    hc_sbuf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void hc_sbuf_puts(hc_sbuf *b, const char *s)
{
    hc_sbuf_append(b, s, strlen(s));
}

void hc_sbuf_printf(hc_sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) {
        hc_sbuf_reserve(b, 0);
        return;
    }
    hc_sbuf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* The two-character escape for c, or 0 when c needs \u00XX or none. */
static char hc_json_short_escape(unsigned char c)
{
    switch (c) {
    case '"':
        return '"';
    case '\\':
        return '\\';
    case '\b':
        return 'b';
    case '\f':
        return 'f';
    case '\n':
        return 'n';
    case '\r':
        return 'r';
    case '\t':
        return 't';
    default:
        return 0;
    }
}

/* Length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

void hc_sbuf_json_string(hc_sbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    hc_sbuf_reserve(b, n + 2);
    hc_sbuf_append(b, "\"", 1);
    size_t run = 0; /* start of the pending run of plain bytes */
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c >= 0x80) {
            size_t len = utf8_seq_len(u + i, n - i);
            if (len) {
                i += len;
                continue;
            }
            hc_sbuf_append(b, s + run, i - run);
            hc_sbuf_append(b, "\\ufffd", 6);
            run = ++i;
            continue;
        }
        char e = hc_json_short_escape(c);
        if (!e && c >= 0x20) {
            i++;
            continue;
        }
        hc_sbuf_append(b, s + run, i - run);
        run = ++i;
        if (e) {
            char esc[2] = {'\\', e};
            hc_sbuf_append(b, esc, 2);
        } else {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            hc_sbuf_append(b, esc, 6);
        }
    }
    hc_sbuf_append(b, s + run, n - run);
    hc_sbuf_append(b, "\"", 1);
}

void hc_sbuf_reset(hc_sbuf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void hc_sbuf_free(hc_sbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Returns the NUL-terminated data (never NULL; "" when empty), now owned by
 * the caller (free()); b is left empty and reusable. */
char *hc_sbuf_steal(hc_sbuf *b)
{
    hc_sbuf_reserve(b, 0);
    char *p = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

/* Returns a new buffer with one reference, owned by the caller. */
hc_rbuf *hc_rbuf_new(size_t headroom, size_t cap)
{
    hc_rbuf *b = hc_malloc(sizeof *b + headroom + cap);
    b->refs = 1;
    b->headroom = headroom;
    b->len = 0;
    b->cap = cap;
    return b;
}

hc_rbuf *hc_rbuf_from(size_t headroom, const void *p, size_t n)
{
    hc_rbuf *b = hc_rbuf_new(headroom, n);
    if (n)
        memcpy(hc_rbuf_data(b), p, n);
    b->len = n;
    return b;
}

/* Adds a reference; returns b so callers can write x = hc_rbuf_ref(b). */
hc_rbuf *hc_rbuf_ref(hc_rbuf *b)
{
    b->refs++;
    return b;
}

void hc_rbuf_unref(hc_rbuf *b)
{
    if (b && --b->refs == 0)
        free(b);
}
