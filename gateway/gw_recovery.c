/*
 * gw_recovery: replay requests for resume, rewind, gap repair and
 * re-home catch-up (see gw_recovery.h).
 *
 * A request (rq) lives from gw_link_replay to its callback, which the link
 * always calls (answer, timeout, lost link or shutdown). The object counts
 * them so that gw_recovery_free can return at once and the last answer
 * frees it; after free, answers touch nothing but the request.
 */
#include "gw_recovery.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_buf.h"
#include "hc_log.h"
#include "hc_mem.h"

#define EPOCH_MAX 64

struct gw_recovery {
    gw_subs *subs;
    gw_link *link;
    size_t headroom;
    size_t inflight;
    bool closed;
    gw_recovery_miss_fn on_miss; /* webhooks: a cache channel had no event */
    void *on_miss_ud;
};

typedef enum { RQ_SUBSCRIBE, RQ_REPAIR } rq_kind;

typedef struct rq {
    gw_recovery *r;
    rq_kind kind;
    char *app_id, *channel;
    uint64_t hold;   /* RQ_SUBSCRIBE: gw_subs hold id */
    bool answered;   /* RQ_SUBSCRIBE: subscription_succeeded sent */
    uint64_t upto;   /* RQ_SUBSCRIBE: last offset the subscriber has */
    bool recovered;  /* RQ_SUBSCRIBE: so far */
    bool cache_miss; /* RQ_SUBSCRIBE: say pusher:cache_miss if no event */
} rq;

gw_recovery *gw_recovery_new(gw_subs *subs, gw_link *link, size_t headroom)
{
    gw_recovery *r = hc_calloc(1, sizeof(*r));
    r->subs = subs;
    r->link = link;
    r->headroom = headroom;
    if (link) {
        link->on_rehome = gw_recovery_rehome;
        link->on_rehome_ud = r;
    }
    return r;
}

void gw_recovery_on_cache_miss(gw_recovery *r, gw_recovery_miss_fn fn, void *ud)
{
    r->on_miss = fn;
    r->on_miss_ud = ud;
}

void gw_recovery_free(gw_recovery *r)
{
    if (!r)
        return;
    if (r->link && r->link->on_rehome_ud == r)
        r->link->on_rehome = NULL;
    r->closed = true;
    r->subs = NULL;
    r->link = NULL;
    if (!r->inflight)
        free(r);
}

bool gw_recovery_parse_id(const char *id, char *epoch, size_t epoch_len, uint64_t *offset)
{
    const char *colon = id ? strrchr(id, ':') : NULL;
    if (!colon || colon == id || (size_t)(colon - id) >= epoch_len || !colon[1])
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(colon + 1, &end, 10);
    if (*end || errno || colon[1] == '-')
        return false;
    memcpy(epoch, id, (size_t)(colon - id));
    epoch[colon - id] = '\0';
    *offset = v;
    return true;
}

static void rq_free(rq *q)
{
    gw_recovery *r = q->r;
    free(q->app_id);
    free(q->channel);
    free(q);
    if (--r->inflight == 0 && r->closed)
        free(r);
}

static void on_answer(void *ud, const Herald__ReplayResponse *resp);

/* Sends the request for q (since epoch:offset, or rewind). */
static void rq_send(rq *q, const char *since_epoch, uint64_t since_offset, uint32_t rewind)
{
    /* a cache channel's last event: skip pusher_internal: entries */
    gw_replay_req req = {.app_id = q->app_id,
                         .channel = q->channel,
                         .since_epoch = since_epoch,
                         .since_offset = since_offset,
                         .rewind = rewind,
                         .cache = q->cache_miss && !since_epoch && rewind == 1};
    gw_link_replay(q->r->link, &req, on_answer, q);
}

static rq *rq_new(gw_recovery *r, rq_kind kind, const char *app_id, const char *channel)
{
    rq *q = hc_calloc(1, sizeof(*q));
    q->r = r;
    q->kind = kind;
    q->app_id = hc_strdup(app_id);
    q->channel = hc_strdup(channel);
    r->inflight++;
    return q;
}

/* Queues subscription_succeeded with "recovered" and "position". */
static void send_succeeded(gw_recovery *r, gw_subscriber *s, const char *channel, bool recovered,
                           const Herald__ReplayResponse *resp)
{
    hc_sbuf inner = HC_SBUF_INIT, b = HC_SBUF_INIT;
    hc_sbuf_printf(&inner, "{\"recovered\":%s", recovered ? "true" : "false");
    if (resp->epoch && resp->epoch[0])
        hc_sbuf_printf(&inner, ",\"position\":\"%s:%" PRIu64 "\"", resp->epoch, resp->offset);
    hc_sbuf_puts(&inner, "}");
    hc_sbuf_puts(&b, "{\"event\":\"pusher_internal:subscription_succeeded\",\"channel\":");
    hc_sbuf_json_string(&b, channel, strlen(channel));
    hc_sbuf_puts(&b, ",\"data\":");
    hc_sbuf_json_string(&b, inner.data, inner.len);
    hc_sbuf_puts(&b, "}");
    hc_rbuf *f = hc_rbuf_from(r->headroom, b.data, b.len);
    gw_subs_push(r->subs, s, f);
    hc_rbuf_unref(f);
    hc_sbuf_free(&inner);
    hc_sbuf_free(&b);
}

/* Queues the replayed events for s (not its own, like live delivery). */
static void send_events(gw_recovery *r, gw_subscriber *s, const Herald__ReplayResponse *resp)
{
    for (size_t i = 0; i < resp->n_events; i++) {
        const Herald__Event *ev = resp->events[i];
        if (ev->socket_id && ev->socket_id[0] && strcmp(ev->socket_id, s->socket_id) == 0)
            continue;
        hc_sbuf b = HC_SBUF_INIT;
        gw_subs_frame_event(&b, ev);
        if (b.len) { /* empty: an event subscribers never see */
            hc_rbuf *f = hc_rbuf_from(r->headroom, b.data, b.len);
            gw_subs_push(r->subs, s, f);
            hc_rbuf_unref(f);
        }
        hc_sbuf_free(&b);
    }
}

static void send_cache_miss(gw_recovery *r, gw_subscriber *s, const char *channel)
{
    hc_sbuf b = HC_SBUF_INIT;
    hc_sbuf_puts(&b, "{\"event\":\"pusher:cache_miss\",\"channel\":");
    hc_sbuf_json_string(&b, channel, strlen(channel));
    hc_sbuf_puts(&b, "}");
    hc_rbuf *f = hc_rbuf_from(r->headroom, b.data, b.len);
    gw_subs_push(r->subs, s, f);
    hc_rbuf_unref(f);
    hc_sbuf_free(&b);
}

/* A resuming / rewinding subscriber's answer. Returns true when q was
 * re-sent for the rest (so it must not be freed). */
static bool subscribe_answer(rq *q, const Herald__ReplayResponse *resp)
{
    gw_recovery *r = q->r;
    gw_subscriber *s = gw_subs_held(r->subs, q->app_id, q->channel, q->hold);
    if (!s)
        return false; /* it left, or its connection closed */
    if (!resp->ok)
        hc_info("channel %s: history read failed (%s); recovered=false", q->channel,
                resp->error ? resp->error : "?");
    bool recovered = resp->ok && resp->recovered;
    if (!q->answered) {
        send_succeeded(r, s, q->channel, recovered, resp);
        q->answered = true;
        q->recovered = recovered;
    }
    if (resp->ok)
        send_events(r, s, resp);
    if (q->cache_miss && !resp->n_events) {
        send_cache_miss(r, s, q->channel);
        if (r->on_miss)
            r->on_miss(r->on_miss_ud, q->app_id, q->channel);
    }
    if (resp->n_events)
        q->upto = resp->events[resp->n_events - 1]->offset;
    if (resp->ok && resp->more && resp->n_events) {
        rq_send(q, resp->epoch, q->upto, 0);
        return true;
    }
    bool known = resp->ok && (recovered || resp->n_events);
    gw_subs_release(r->subs, s, q->app_id, q->channel, known ? resp->epoch : NULL, q->upto,
                    resp->offset);
    return false;
}

static void on_answer(void *ud, const Herald__ReplayResponse *resp)
{
    rq *q = ud;
    if (!q->r->closed) {
        if (q->kind == RQ_REPAIR) {
            if (!resp->ok)
                hc_warn("channel %s: gap repair failed: %s", q->channel,
                        resp->error ? resp->error : "?");
            gw_subs_repair_done(q->r->subs, q->app_id, q->channel, resp);
        } else if (subscribe_answer(q, resp)) {
            return;
        }
    }
    rq_free(q);
}

void gw_recovery_subscribe(gw_recovery *r, gw_subscriber *s, const char *app_id,
                           const char *channel, const char *since, uint32_t rewind, bool cache_miss)
{
    uint64_t hold = gw_subs_hold(r->subs, s, app_id, channel);
    if (!hold)
        return;
    rq *q = rq_new(r, RQ_SUBSCRIBE, app_id, channel);
    q->hold = hold;
    q->cache_miss = cache_miss;
    if (since) {
        char epoch[EPOCH_MAX + 1];
        uint64_t off = 0;
        if (!gw_recovery_parse_id(since, epoch, sizeof(epoch), &off))
            snprintf(epoch, sizeof(epoch), "-"); /* never an epoch: recovered=false */
        q->upto = off;
        rq_send(q, epoch, off, 0);
    } else {
        rq_send(q, NULL, 0, rewind);
    }
}

void gw_recovery_cache(gw_recovery *r, gw_subscriber *s, const char *app_id, const char *channel)
{
    uint64_t hold = gw_subs_hold(r->subs, s, app_id, channel);
    if (!hold)
        return;
    rq *q = rq_new(r, RQ_SUBSCRIBE, app_id, channel);
    q->hold = hold;
    q->cache_miss = true;
    q->answered = true; /* the caller sent subscription_succeeded */
    rq_send(q, NULL, 0, 1);
}

void gw_recovery_gap(gw_recovery *r, const char *app_id, const char *channel, const char *epoch,
                     uint64_t last)
{
    rq *q = rq_new(r, RQ_REPAIR, app_id, channel);
    rq_send(q, epoch, last, 0);
}

void gw_recovery_rehome(void *ud, const char *app_id, const char *channel)
{
    gw_recovery *r = ud;
    char epoch[EPOCH_MAX + 1];
    uint64_t last;
    if (r->closed || !gw_subs_repair_begin(r->subs, app_id, channel, epoch, sizeof(epoch), &last))
        return;
    hc_debug("channel %s moved to another broker: catching up after %s:%" PRIu64, channel, epoch,
             last);
    gw_recovery_gap(r, app_id, channel, epoch, last);
}
