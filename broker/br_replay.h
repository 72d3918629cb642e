/*
 * br_replay: the broker's answer to a gateway's ReplayRequest.
 *
 * Owns the translation of a herald.ReplayRequest into a store replay
 * (br_store_ops.replay) and of the store's entries into one
 * ReplayResponse frame, with each entry decoded back into a full
 * herald.Event (app_id, channel, epoch, offset filled in). It does not read
 * Redis itself and keeps no state beyond the requests in flight, which die
 * quietly with their link. Called by br_server.c for every ReplayRequest.
 */
#ifndef BR_REPLAY_H
#define BR_REPLAY_H

#include "br_core.h"

/* Most events one ReplayResponse carries (a request's limit is capped). */
#define BR_REPLAY_LIMIT_MAX 1000

/* Answers r to link l (now or when the store answers). */
void br_core_replay(br_core *c, br_core_link *l, const Herald__ReplayRequest *r);

#endif
