/*
 * br_core_int.h: what br_core.c shares with the other files of the broker
 * core (br_replay.c), and nothing else includes. A br_pending is a request
 * of a link waiting for the store; removing the link detaches it, so the
 * answer can tell whether anyone still wants it.
 */
#ifndef BR_CORE_INT_H
#define BR_CORE_INT_H

#include <stdint.h>

#include "br_core.h"

typedef struct br_pending br_pending;

/* Registers a request of l waiting for the store. */
br_pending *br__core_wait(br_core_link *l, uint64_t request_id);
/* Ends the wait and frees p: returns the link that asked, or NULL when it
 * is gone; sets *request_id. */
br_core_link *br__core_wait_end(br_pending *p, uint64_t *request_id);
/* Queues a frame on l (l's send function; the caller keeps its ref). */
void br__core_send(br_core_link *l, hc_rbuf *frame);
br_store *br__core_store(br_core_link *l);

#endif
