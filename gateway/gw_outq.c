/*
 * gw_outq: bounded ring of shared frames for one connection (see gw_outq.h).
 * Owns the ring and one reference per queued frame; nothing else.
 */
#include "gw_outq.h"

#include <stdlib.h>

#include "hc_mem.h"

/* Slots of a fresh ring, and the largest ring kept once the queue is
 * empty again (a burst's ring is given back). */
#define RING_MIN 4
#define RING_KEEP 16

void gw_outq_init(gw_outq *q, size_t cap)
{
    q->ring = NULL;
    q->cap = cap ? cap : GW_OUTQ_DEFAULT_CAP;
    q->alloc = 0;
    q->head = 0;
    q->len = 0;
}

/* Doubles the ring (or makes the first one), keeping the order. */
static void grow(gw_outq *q)
{
    size_t n = q->alloc ? q->alloc * 2 : RING_MIN;
    hc_rbuf **ring = hc_calloc(n, sizeof(*ring));
    for (size_t i = 0; i < q->len; i++)
        ring[i] = gw_outq_at(q, i);
    free(q->ring);
    q->ring = ring;
    q->alloc = n;
    q->head = 0;
}

bool gw_outq_push(gw_outq *q, hc_rbuf *b)
{
    if (q->len == q->cap)
        return false;
    if (q->len == q->alloc)
        grow(q);
    q->ring[(q->head + q->len) & (q->alloc - 1)] = hc_rbuf_ref(b);
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
    q->head = (q->head + 1) & (q->alloc - 1);
    q->len--;
    if (!q->len && q->alloc > RING_KEEP) {
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
    q->alloc = 0;
    q->head = 0;
}
