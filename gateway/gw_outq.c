/*
 * gw_outq: bounded ring of shared frames for one connection (see gw_outq.h).
 * Owns the ring and one reference per queued frame; nothing else.
 */
#include "gw_outq.h"

#include <stdlib.h>

#include "hc_mem.h"

/* Slots of a fresh ring (made when a second frame queues behind one). */
#define RING_MIN 4

void gw_outq_init(gw_outq *q, size_t cap)
{
    q->ring = NULL;
    q->one = NULL;
    if (!cap)
        cap = GW_OUTQ_DEFAULT_CAP;
    q->cap = cap > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)cap;
    q->alloc = 0;
    q->head = 0;
    q->len = 0;
}

/* Doubles the ring (or makes the first one from the inline frame),
 * keeping the order. */
static void grow(gw_outq *q)
{
    uint32_t n = q->alloc ? q->alloc * 2 : RING_MIN;
    hc_rbuf **ring = hc_calloc(n, sizeof(*ring));
    for (uint32_t i = 0; i < q->len; i++)
        ring[i] = gw_outq_at(q, i);
    free(q->ring);
    q->ring = ring;
    q->one = NULL;
    q->alloc = n;
    q->head = 0;
}

bool gw_outq_push(gw_outq *q, hc_rbuf *b)
{
    if (q->len == q->cap)
        return false;
    if (!q->alloc && !q->len) {
        q->one = hc_rbuf_ref(b);
        q->len = 1;
        return true;
    }
    if (q->len == q->alloc || !q->alloc)
        grow(q);
    q->ring[(q->head + q->len) & (q->alloc - 1)] = hc_rbuf_ref(b);
    q->len++;
    return true;
}

hc_rbuf *gw_outq_peek(const gw_outq *q)
{
    return q->len ? gw_outq_at(q, 0) : NULL;
}

void gw_outq_pop(gw_outq *q)
{
    if (!q->len)
        return;
    if (!q->alloc) {
        hc_rbuf_unref(q->one);
        q->one = NULL;
        q->len = 0;
        return;
    }
    hc_rbuf_unref(q->ring[q->head]);
    q->ring[q->head] = NULL;
    q->head = (q->head + 1) & (q->alloc - 1);
    q->len--;
    if (!q->len) { /* drained: give the ring back (an idle queue holds none) */
        free(q->ring);
        q->ring = NULL;
        q->alloc = 0;
        q->head = 0;
    }
}

void gw_outq_free(gw_outq *q)
{
    while (q->len)
        gw_outq_pop(q);
    free(q->ring);
    q->ring = NULL;
    q->one = NULL;
    q->alloc = 0;
    q->head = 0;
}
