/*
 * gw_link_replay: replay requests in flight on one broker link (see
 * gw_link_replay.h).
 */
#include "gw_link_replay.h"

#include <stdlib.h>

#include "hc_clock.h"
#include "hc_log.h"
#include "hc_mem.h"

typedef struct pending_replay {
    uint64_t id;
    uint64_t deadline_ms;
    gw_replay_cb cb;
    void *ud;
} pending_replay;

void gw__replay_fail(gw_replay_cb cb, void *ud, const char *why)
{
    Herald__ReplayResponse r = HERALD__REPLAY_RESPONSE__INIT;
    r.error = (char *)why;
    cb(ud, &r);
}

void gw_link_replay(gw_link *l, const gw_replay_req *r, gw_replay_cb cb, void *ud)
{
    if (!l || !l->ops->replay) {
        gw__replay_fail(cb, ud, "history is not available");
        return;
    }
    l->ops->replay(l, r, cb, ud);
}

void gw__replays_add(hc_map *m, Herald__ReplayRequest *req, uint64_t id, const gw_replay_req *r,
                     gw_replay_cb cb, void *ud)
{
    req->request_id = id;
    req->app_id = (char *)r->app_id;
    req->channel = (char *)r->channel;
    req->since_epoch = (char *)(r->since_epoch ? r->since_epoch : "");
    req->since_offset = r->since_offset;
    req->rewind = r->rewind;
    req->limit = r->limit;
    req->page = r->page;
    req->cache = r->cache;
    pending_replay *p = hc_calloc(1, sizeof(*p));
    p->id = id;
    p->deadline_ms = hc_mono_ms() + GW_REPLAY_DEADLINE_MS;
    p->cb = cb;
    p->ud = ud;
    hc_map_put(m, &p->id, sizeof(p->id), p);
}

void gw__replays_answer(hc_map *m, const Herald__ReplayResponse *r)
{
    uint64_t id = r->request_id;
    pending_replay *p = hc_map_del(m, &id, sizeof(id));
    if (!p) {
        hc_debug("replay answer for unknown request %llu", (unsigned long long)id);
        return;
    }
    p->cb(p->ud, r);
    free(p);
}

/* Takes the requests of m that match (all, or those due by now_ms) out of
 * the map first, then fails them: a callback may add new requests. */
static void fail_matching(hc_map *m, bool all, uint64_t now_ms, const char *why)
{
    size_t n = 0, cap = m->count;
    if (!cap)
        return;
    pending_replay **out = hc_malloc(cap * sizeof(*out));
    hc_map_iter it;
    hc_map_iter_init(&it, m);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));) {
        pending_replay *p = e->value;
        if (all || p->deadline_ms <= now_ms)
            out[n++] = p;
    }
    for (size_t i = 0; i < n; i++)
        hc_map_del(m, &out[i]->id, sizeof(out[i]->id));
    for (size_t i = 0; i < n; i++) {
        gw__replay_fail(out[i]->cb, out[i]->ud, why);
        free(out[i]);
    }
    free(out);
}

void gw__replays_fail(hc_map *m, const char *why)
{
    fail_matching(m, true, 0, why);
}

void gw__replays_expire(hc_map *m, uint64_t now_ms)
{
    fail_matching(m, false, now_ms, "the broker did not answer the history read in time");
}
