/*
 * gw_outq: bounded ring of shared frames for one connection (see gw_outq.h).
 * Owns the ring and one reference per queued frame; nothing else.
 */
#include "gw_outq.h"

#include <stdlib.h>

#include "hc_mem.h"

void gw_outq_init(gw_outq *q, size_t cap)
{
    q->ring = NULL;
    q->cap = cap ? cap : GW_OUTQ_DEFAULT_CAP;
    q->head = 0;
    q->len = 0;
}

bool gw_outq_push(gw_outq *q, hc_rbuf *b)
{
    if (q->len == q->cap)
        return false;
    if (!q->ring)
        q->ring = hc_calloc(q->cap, sizeof(*q->ring));
    q->ring[(q->head + q->len) % q->cap] = hc_rbuf_ref(b);
    q->len++;
    return true;
}

hc_rbuf *gw_outq_peek(const gw_outq *q)
{
    return q->len ? q->ring[q->head] : NULL;
}

void gw_outq_pop(gw_outq *q)
{
    if (!q->len)
        return;
    hc_rbuf_unref(q->ring[q->head]);
    q->ring[q->head] = NULL;
    q->head = (q->head + 1) % q->cap;
    q->len--;
}

void gw_outq_free(gw_outq *q)
{
    while (q->len)
        gw_outq_pop(q);
    free(q->ring);
    q->ring = NULL;
    q->head = 0;
}
