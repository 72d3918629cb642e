/*
 * hc_buf: byte buffers.
 *
 * hc_sbuf is a growable, caller-owned byte/string builder (always kept
 * NUL-terminated) used to build JSON and frames. hc_rbuf is an immutable,
 * reference-counted buffer with reserved headroom in front of the payload
 * (e.g. LWS_PRE for libwebsockets, or a 4-byte length prefix): an event is
 * framed once into one hc_rbuf and every recipient holds a reference, never
 * a copy. Single-threaded: reference counts are not atomic.
 */
#ifndef HC_BUF_H
#define HC_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct hc_sbuf {
    char *data; /* NUL-terminated; owned */
    size_t len;
    size_t cap;
} hc_sbuf;

#define HC_SBUF_INIT                                                                               \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void hc_sbuf_reserve(hc_sbuf *b, size_t extra);
void hc_sbuf_append(hc_sbuf *b, const void *p, size_t n);
void hc_sbuf_puts(hc_sbuf *b, const char *s);
void hc_sbuf_printf(hc_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included, escaping as RFC 8259
 * requires (control characters as \u00XX). Well-formed UTF-8 is copied as
 * is; each byte that is not part of a well-formed sequence becomes \ufffd,
 * so the output is always valid JSON whatever the input. */
void hc_sbuf_json_string(hc_sbuf *b, const char *s, size_t n);
void hc_sbuf_reset(hc_sbuf *b); /* len = 0, keeps memory */
void hc_sbuf_free(hc_sbuf *b);
/* Gives the data to the caller (free with free(); never NULL, "" when
 * empty) and resets b. */
char *hc_sbuf_steal(hc_sbuf *b);

typedef struct hc_rbuf {
    unsigned refs;
    size_t headroom; /* bytes reserved before data() */
    size_t len;      /* payload length */
    size_t cap;      /* payload capacity */
    unsigned char mem[];
} hc_rbuf;

/* New buffer with refs = 1, len = 0, room for cap payload bytes after
 * headroom bytes. */
hc_rbuf *hc_rbuf_new(size_t headroom, size_t cap);
/* New buffer holding a copy of p[0..n) after headroom bytes. */
hc_rbuf *hc_rbuf_from(size_t headroom, const void *p, size_t n);
static inline unsigned char *hc_rbuf_data(hc_rbuf *b)
{
    return b->mem + b->headroom;
}
hc_rbuf *hc_rbuf_ref(hc_rbuf *b);
/* Drops one reference; frees at zero. NULL is ignored. */
void hc_rbuf_unref(hc_rbuf *b);

#endif
