/*
 * gw_wsout: WebSocket framing of queued frames for the write path (see
 * gw_wsout.h). Owns no memory: the frames belong to the queue, the batch to
 * the caller.
 */
#include "gw_wsout.h"

#include <assert.h>
#include <string.h>

#define OP_TEXT_FIN 0x81

size_t gw_wsout_header_len(size_t len)
{
    return len < 126 ? 2 : len < 65536 ? 4 : 10;
}

unsigned char *gw_wsout_frame(hc_rbuf *f, size_t *wire_len)
{
    size_t len = f->len, h = gw_wsout_header_len(len);
    assert(f->headroom >= GW_WSOUT_HEADER_MAX);
    unsigned char *p = hc_rbuf_data(f) - h;
    p[0] = OP_TEXT_FIN;
    if (h == 2) {
        p[1] = (unsigned char)len;
    } else if (h == 4) {
        p[1] = 126;
        p[2] = (unsigned char)(len >> 8);
        p[3] = (unsigned char)len;
    } else {
        p[1] = 127;
        for (int i = 0; i < 8; i++)
            p[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    }
    *wire_len = h + len;
    return p;
}

size_t gw_wsout_gather(const gw_outq *q, hc_sbuf *batch, size_t max, const unsigned char **out,
                       size_t *len)
{
    size_t n = gw_outq_len(q);
    *out = NULL;
    *len = 0;
    if (!n)
        return 0;
    size_t first_len;
    unsigned char *first = gw_wsout_frame(gw_outq_at(q, 0), &first_len);
    size_t second_len = 0;
    if (n > 1)
        gw_wsout_frame(gw_outq_at(q, 1), &second_len);
    if (n == 1 || first_len + second_len > max) {
        *out = first;
        *len = first_len;
        return 1;
    }
    hc_sbuf_reset(batch);
    hc_sbuf_reserve(batch, max < 65536 ? max : 65536);
    hc_sbuf_append(batch, first, first_len);
    size_t i = 1;
    for (; i < n; i++) {
        size_t wl;
        unsigned char *w = gw_wsout_frame(gw_outq_at(q, i), &wl);
        if (batch->len + wl > max)
            break;
        hc_sbuf_append(batch, w, wl);
    }
    *out = (const unsigned char *)batch->data;
    *len = batch->len;
    return i;
}
