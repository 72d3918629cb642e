/*
 * gw_outq: the bounded per-connection queue of outgoing WebSocket frames.
 *
 * Owns a ring of hc_rbuf references (one per queued frame; the frame bytes
 * are shared with every other recipient and never copied) that holds at
 * most cap frames. A single frame sits in the queue itself; the ring is
 * allocated only when a second one waits behind it, grows with the
 * backlog and is given back as soon as the queue empties, so an idle
 * connection (and one that keeps up, one frame at a time) allocates
 * nothing here (an idle subscriber must cost little memory; a full-size
 * ring would be cap pointers each). It does not write to any socket and does
 * not decide what happens when it is full: push says so and the caller
 * (gw_subs for fan-out, gw_server for direct replies) cuts the laggard
 * off. gw_server reads it in its flush (gw_wsout) and pops what went out.
 * Pure, single-threaded.
 */
#ifndef GW_OUTQ_H
#define GW_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hc_buf.h"

#define GW_OUTQ_DEFAULT_CAP 1024

typedef struct gw_outq {
    hc_rbuf **ring; /* alloc slots while two frames or more wait; else NULL */
    hc_rbuf *one;   /* the frame of a one-frame queue (alloc 0) */
    uint32_t cap;   /* most frames the queue holds */
    uint32_t alloc; /* ring slots (a power of two, <= cap rounded up); 0: no ring */
    uint32_t head, len;
} gw_outq;

void gw_outq_init(gw_outq *q, size_t cap);
/* Takes a new reference to b and appends it. Returns false (taking no
 * reference) when the queue already holds cap frames. */
bool gw_outq_push(gw_outq *q, hc_rbuf *b);
/* Oldest frame without removing it, or NULL when empty. */
hc_rbuf *gw_outq_peek(const gw_outq *q);
/* The i-th frame from the oldest (i < len), without removing it. */
static inline hc_rbuf *gw_outq_at(const gw_outq *q, size_t i)
{
    return q->alloc ? q->ring[(q->head + i) & (q->alloc - 1)] : q->one;
}
/* Removes the oldest frame and drops the queue's reference to it. */
void gw_outq_pop(gw_outq *q);
static inline size_t gw_outq_len(const gw_outq *q)
{
    return q->len;
}
/* Drops every queued reference and frees the ring. */
void gw_outq_free(gw_outq *q);

#endif
