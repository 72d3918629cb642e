/*
 * gw_outq: the bounded per-connection queue of outgoing WebSocket frames.
 *
 * Owns a fixed-capacity ring of hc_rbuf references (one per queued frame;
 * the frame bytes are shared with every other recipient and never copied).
 * It does not write to any socket and does not decide what happens when it
 * is full: push says so and the caller (gw_subs for fan-out, gw_server for
 * direct replies) cuts the laggard off. gw_server pops in its writable
 * callback. Pure, single-threaded.
 */
#ifndef GW_OUTQ_H
#define GW_OUTQ_H

#include <stdbool.h>
#include <stddef.h>

#include "hc_buf.h"

#define GW_OUTQ_DEFAULT_CAP 1024

typedef struct gw_outq {
    hc_rbuf **ring; /* cap slots, allocated on first push */
    size_t cap, head, len;
} gw_outq;

void gw_outq_init(gw_outq *q, size_t cap);
/* Takes a new reference to b and appends it. Returns false (taking no
 * reference) when the queue already holds cap frames. */
bool gw_outq_push(gw_outq *q, hc_rbuf *b);
/* Oldest frame without removing it, or NULL when empty. */
hc_rbuf *gw_outq_peek(const gw_outq *q);
/* Removes the oldest frame and drops the queue's reference to it. */
void gw_outq_pop(gw_outq *q);
static inline size_t gw_outq_len(const gw_outq *q)
{
    return q->len;
}
/* Drops every queued reference and frees the ring. */
void gw_outq_free(gw_outq *q);

#endif
