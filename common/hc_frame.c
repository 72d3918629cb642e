/*
 * hc_frame: the length-prefixed framing of the gateway <-> broker links and
 * the packing of herald.Frame protobufs into it. Owns the reader's
 * accumulation buffer; never reads or writes a socket (the link code feeds
 * it what it read and writes what hc_wire_pack returns). Called by the
 * gateway's broker links and the broker's gateway links.
 */
#include "hc_frame.h"

#include <stdlib.h>
#include <string.h>

#include "hc_mem.h"

static uint32_t hc_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

hc_frame_status hc_frame_parse(const uint8_t *buf, size_t len, size_t max, const uint8_t **payload,
                               size_t *payload_len, size_t *consumed)
{
    if (len < HC_FRAME_HEADER)
        return HC_FRAME_NEED_MORE;
    size_t n = hc_get_be32(buf);
    if (n > max)
        return HC_FRAME_INVALID;
    if (len - HC_FRAME_HEADER < n)
        return HC_FRAME_NEED_MORE;
    *payload = buf + HC_FRAME_HEADER;
    *payload_len = n;
    *consumed = HC_FRAME_HEADER + n;
    return HC_FRAME_OK;
}

void hc_frame_put_header(uint8_t out[HC_FRAME_HEADER], uint32_t payload_len)
{
    out[0] = (uint8_t)(payload_len >> 24);
    out[1] = (uint8_t)(payload_len >> 16);
    out[2] = (uint8_t)(payload_len >> 8);
    out[3] = (uint8_t)payload_len;
}

void hc_frame_reader_init(hc_frame_reader *r, size_t max)
{
    memset(r, 0, sizeof *r);
    r->max = max ? max : HC_FRAME_MAX_DEFAULT;
}

void hc_frame_reader_free(hc_frame_reader *r)
{
    free(r->buf);
    memset(r, 0, sizeof *r);
}

/* Moves the unconsumed bytes to the front (invalidates earlier payloads). */
static void hc_frame_reader_compact(hc_frame_reader *r)
{
    if (r->off == 0)
        return;
    memmove(r->buf, r->buf + r->off, r->len - r->off);
    r->len -= r->off;
    r->off = 0;
}

void hc_frame_reader_feed(hc_frame_reader *r, const void *p, size_t n)
{
    hc_frame_reader_compact(r);
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n)
            cap *= 2;
        r->buf = hc_realloc(r->buf, cap);
        r->cap = cap;
    }
    if (n)
        memcpy(r->buf + r->len, p, n);
    r->len += n;
}

hc_frame_status hc_frame_reader_next(hc_frame_reader *r, const uint8_t **payload, size_t *len)
{
    size_t consumed = 0;
    if (!r->buf)
        return HC_FRAME_NEED_MORE;
    hc_frame_status st =
        hc_frame_parse(r->buf + r->off, r->len - r->off, r->max, payload, len, &consumed);
    if (st == HC_FRAME_OK)
        r->off += consumed;
    return st;
}

/* Returns a new hc_rbuf (refs = 1, owned by the caller) whose payload is
 * the 4-byte header followed by the packed frame. */
hc_rbuf *hc_wire_pack(const Herald__Frame *f, size_t headroom)
{
    size_t n = herald__frame__get_packed_size(f);
    hc_rbuf *b = hc_rbuf_new(headroom, HC_FRAME_HEADER + n);
    uint8_t *d = hc_rbuf_data(b);
    hc_frame_put_header(d, (uint32_t)n);
    herald__frame__pack(f, d + HC_FRAME_HEADER);
    b->len = HC_FRAME_HEADER + n;
    return b;
}

/* Unknown oneof members (a newer peer) come back with msg_case NOT_SET:
 * callers ignore them rather than drop the link. */
Herald__Frame *hc_wire_unpack(const uint8_t *payload, size_t len)
{
    return herald__frame__unpack(NULL, len, payload);
}
