/*
 * gw_link_replay: the replay requests a broker link has in flight.
 *
 * Owns pending_replay records (callback, deadline) in a map keyed by
 * request id, and the failure answers (a ReplayResponse with ok = false).
 * It does not send frames: gw_link_tcp.c builds the ReplayRequest with
 * gw__replays_add, sends it, and routes answers, link losses and its ping
 * tick here. Also defines gw_link_replay (gw_link.h).
 */
#ifndef GW_LINK_REPLAY_H
#define GW_LINK_REPLAY_H

#include "gw_link.h"
#include "hc_map.h"

#define GW_REPLAY_DEADLINE_MS 10000

/* Fills req (whose strings borrow from r) with request id `id` and
 * records cb/ud under it. */
void gw__replays_add(hc_map *m, Herald__ReplayRequest *req, uint64_t id, const gw_replay_req *r,
                     gw_replay_cb cb, void *ud);
/* Routes an answer to its request (unknown ids are ignored). */
void gw__replays_answer(hc_map *m, const Herald__ReplayResponse *r);
/* Fails every request in m with why. */
void gw__replays_fail(hc_map *m, const char *why);
/* Fails the requests whose deadline passed. */
void gw__replays_expire(hc_map *m, uint64_t now_ms);
/* Calls cb with a failed answer. */
void gw__replay_fail(gw_replay_cb cb, void *ud, const char *why);

#endif
