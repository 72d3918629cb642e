/*
 * gw_link_embedded: the gw_link implementation for embedded mode, where
 * the gateway runs the broker core in its own process over the in-memory
 * store (broker/br_core.c + broker/br_store_memory.c), with no broker
 * process and no Redis.
 *
 * Owns the store, the core, the one core link standing for this gateway,
 * the publishes waiting for their acknowledgement and the queue of frames
 * the core sent. The core answers synchronously (the memory store applies
 * a publish at once); its frames are queued and handled on the next loop
 * turn (a uv_idle runs only while the queue is not empty), so gw_server
 * never sees an event or an ack from inside its own subscribe or publish
 * call, just as with a remote broker. Channels, offsets and history live
 * as long as the process. Created by gw_main when no broker is configured
 * (--embedded or an empty --brokers); used through gw_link.h only.
 */
#include <stdlib.h>
#include <string.h>

#include "br_core.h"
#include "br_replay.h"
#include "br_store_memory.h"
#include "gw_link.h"
#include "gw_link_replay.h"
#include "hc_frame.h"
#include "hc_log.h"
#include "hc_mem.h"

typedef struct emb_pending {
    uint64_t request_id;
    gw_publish_cb cb;
    void *ud;
    struct emb_pending *next;
} emb_pending;

typedef struct gw_link_emb {
    gw_link base;
    uv_loop_t *loop;
    br_store *store;
    br_core *core;
    br_core_link *cl;
    uv_idle_t idle;
    bool idle_on;
    hc_rbuf **q; /* frames from the core, oldest first, from qhead */
    size_t qhead, qlen, qcap;
    emb_pending *pending, *pending_tail; /* FIFO: the memory store answers in order */
    uint64_t next_req;
    hc_map replays; /* history reads waiting for the core's answer */
    bool closing;
    void (*done)(void *ud);
    void *done_ud;
} gw_link_emb;

static void drain(uv_idle_t *h);

/* br_link_send_fn: the core hands us a frame; keep a reference for later. */
static void core_send(void *ctx, hc_rbuf *frame)
{
    gw_link_emb *e = ctx;
    if (e->closing)
        return;
    if (e->qhead + e->qlen == e->qcap) {
        if (e->qhead) {
            memmove(e->q, e->q + e->qhead, e->qlen * sizeof(*e->q));
            e->qhead = 0;
        } else {
            e->qcap = e->qcap ? e->qcap * 2 : 16;
            e->q = hc_realloc(e->q, e->qcap * sizeof(*e->q));
        }
    }
    e->q[e->qhead + e->qlen++] = hc_rbuf_ref(frame);
    if (!e->idle_on) {
        uv_idle_start(&e->idle, drain);
        e->idle_on = true;
    }
}

/* Removes and returns the pending publish request_id, or NULL. */
static emb_pending *pending_take(gw_link_emb *e, uint64_t request_id)
{
    emb_pending *prev = NULL;
    for (emb_pending *p = e->pending; p; prev = p, p = p->next) {
        if (p->request_id != request_id)
            continue;
        if (prev)
            prev->next = p->next;
        else
            e->pending = p->next;
        if (e->pending_tail == p)
            e->pending_tail = prev;
        return p;
    }
    return NULL;
}

static void handle_ack(gw_link_emb *e, const Herald__PublishAck *ack)
{
    emb_pending *p = pending_take(e, ack->request_id);
    if (!p)
        return;
    gw_publish_result r = {ack->ok, ack->ok ? NULL : ack->error, ack->epoch, ack->offset};
    p->cb(p->ud, &r);
    free(p);
}

/* Handles one frame the core sent (header + herald.Frame). */
static void handle_frame(gw_link_emb *e, hc_rbuf *b)
{
    if (b->len < HC_FRAME_HEADER)
        return;
    Herald__Frame *f = hc_wire_unpack(hc_rbuf_data(b) + HC_FRAME_HEADER, b->len - HC_FRAME_HEADER);
    if (!f) {
        hc_warn("embedded broker: undecodable frame dropped");
        return;
    }
    if (f->msg_case == HERALD__FRAME__MSG_PUBLISH_ACK)
        handle_ack(e, f->publish_ack);
    else if (f->msg_case == HERALD__FRAME__MSG_EVENT && e->base.on_event)
        e->base.on_event(e->base.on_event_ud, f->event);
    else if (f->msg_case == HERALD__FRAME__MSG_REPLAY_RESPONSE)
        gw__replays_answer(&e->replays, f->replay_response);
    herald__frame__free_unpacked(f, NULL);
}

/* uv_idle: handles the queued frames, including any queued meanwhile. */
static void drain(uv_idle_t *h)
{
    gw_link_emb *e = h->data;
    while (e->qlen && !e->closing) {
        hc_rbuf *b = e->q[e->qhead++];
        e->qlen--;
        handle_frame(e, b);
        hc_rbuf_unref(b);
    }
    e->qhead = 0;
    uv_idle_stop(&e->idle);
    e->idle_on = false;
}

static void emb_subscribe(gw_link *l, const char *app_id, const char *channel)
{
    gw_link_emb *e = (gw_link_emb *)l;
    if (!e->closing)
        br_core_subscribe(e->core, e->cl, app_id, channel);
}

static void emb_unsubscribe(gw_link *l, const char *app_id, const char *channel)
{
    gw_link_emb *e = (gw_link_emb *)l;
    if (!e->closing)
        br_core_unsubscribe(e->core, e->cl, app_id, channel);
}

static void emb_publish(gw_link *l, const gw_publish *p, gw_publish_cb cb, void *ud)
{
    gw_link_emb *e = (gw_link_emb *)l;
    if (e->closing) {
        gw_publish_result r = {false, "the gateway is shutting down", NULL, 0};
        cb(ud, &r);
        return;
    }
    emb_pending *pd = hc_calloc(1, sizeof(*pd));
    pd->request_id = ++e->next_req;
    pd->cb = cb;
    pd->ud = ud;
    if (e->pending_tail)
        e->pending_tail->next = pd;
    else
        e->pending = pd;
    e->pending_tail = pd;
    Herald__Publish pub = HERALD__PUBLISH__INIT;
    pub.request_id = pd->request_id;
    pub.app_id = (char *)p->app_id;
    pub.channel = (char *)p->channel;
    pub.name = (char *)p->name;
    pub.data.data = (uint8_t *)p->data;
    pub.data.len = p->data_len;
    pub.socket_id = (char *)(p->socket_id ? p->socket_id : "");
    pub.user_id = (char *)(p->user_id ? p->user_id : "");
    pub.history_size = p->history_size;
    pub.history_ttl = p->history_ttl;
    br_core_publish(e->core, e->cl, &pub);
}

static bool emb_ready(gw_link *l)
{
    return !((gw_link_emb *)l)->closing;
}

static void idle_closed(uv_handle_t *h)
{
    gw_link_emb *e = h->data;
    void (*done)(void *) = e->done;
    void *ud = e->done_ud;
    free(e->q);
    free(e);
    if (done)
        done(ud);
}

static void emb_close(gw_link *l, void (*done)(void *ud), void *ud)
{
    gw_link_emb *e = (gw_link_emb *)l;
    if (e->closing)
        return;
    e->closing = true;
    e->done = done;
    e->done_ud = ud;
    while (e->pending) {
        emb_pending *p = e->pending;
        e->pending = p->next;
        gw_publish_result r = {false, "the gateway is shutting down", NULL, 0};
        p->cb(p->ud, &r);
        free(p);
    }
    e->pending_tail = NULL;
    gw__replays_fail(&e->replays, "the gateway is shutting down");
    hc_map_free(&e->replays);
    for (size_t i = 0; i < e->qlen; i++)
        hc_rbuf_unref(e->q[e->qhead + i]);
    e->qlen = e->qhead = 0;
    br_core_link_remove(e->core, e->cl);
    br_core_free(e->core);
    e->store->ops->free(e->store);
    uv_close((uv_handle_t *)&e->idle, idle_closed);
}

/* A history read from the in-process core (broker/br_replay.c over the
 * memory store). The answer comes back as a ReplayResponse frame on the
 * next loop turn, like a remote broker's, and is routed by request id. */
static void emb_replay(gw_link *l, const gw_replay_req *r, gw_replay_cb cb, void *ud)
{
    gw_link_emb *e = (gw_link_emb *)l;
    if (e->closing) {
        gw__replay_fail(cb, ud, "the gateway is shutting down");
        return;
    }
    Herald__ReplayRequest req = HERALD__REPLAY_REQUEST__INIT;
    gw__replays_add(&e->replays, &req, ++e->next_req, r, cb, ud);
    br_core_replay(e->core, e->cl, &req);
}

static const gw_link_ops emb_ops = {
    .subscribe = emb_subscribe,
    .unsubscribe = emb_unsubscribe,
    .publish = emb_publish,
    .ready = emb_ready,
    .close = emb_close,
    .replay = emb_replay,
};

gw_link *gw_link_embedded_new(uv_loop_t *loop, size_t history_size, size_t max_channels)
{
    gw_link_emb *e = hc_calloc(1, sizeof(*e));
    e->base.ops = &emb_ops;
    e->loop = loop;
    e->store = br_store_memory_new(history_size, max_channels);
    e->core = br_core_new(e->store);
    e->cl = br_core_link_add(e->core, core_send, e);
    uv_idle_init(loop, &e->idle);
    e->idle.data = e;
    return &e->base;
}
