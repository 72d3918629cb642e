/*
 * br_core: channels, interest, publish and fan-out (see br_core.h).
 *
 * Owns the channel table (key "<app_id>\0<channel>" -> br_chan with its
 * vector of interested links), the links (each with a map of the channels
 * it is interested in and a list of its unanswered publishes) and the
 * pending-publish records. Does not own the store or the links' transport.
 * Frames it sends are encoded once with hc_wire_pack and passed by
 * reference to every recipient.
 */
#include "br_core.h"
#include "br_core_int.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hc_clock.h"
#include "hc_frame.h"
#include "hc_log.h"
#include "hc_map.h"
#include "hc_mem.h"

typedef struct br_chan {
    char *app_id;
    char *channel;
    br_core_link **links; /* interested links, each once */
    size_t n, cap;
} br_chan;

/* One publish waiting for the store's answer. link is NULL once the link
 * that asked is gone (the answer is then dropped). */
typedef struct br_pending {
    br_core *core;
    br_core_link *link;
    uint64_t request_id;
    struct br_pending *prev, *next; /* in link->pending */
} br_pending;

struct br_core_link {
    br_core *core;
    br_link_send_fn send;
    void *ctx;
    hc_map chans; /* channel key -> br_chan*, the channels this link wants */
    br_pending *pending;
};

struct br_core {
    br_store *store;
    br_cluster *cluster; /* NULL: cluster calls fail */
    hc_map chans;        /* channel key -> br_chan* */
    size_t nlinks;
    hc_sbuf key; /* scratch for channel keys */
};

/* Builds the channel key in c->key; returns its length. */
static size_t chan_key(br_core *c, const char *app_id, const char *channel)
{
    hc_sbuf_reset(&c->key);
    hc_sbuf_puts(&c->key, app_id);
    hc_sbuf_append(&c->key, "", 1);
    hc_sbuf_puts(&c->key, channel);
    return c->key.len;
}

br_core *br_core_new(br_store *store)
{
    br_core *c = hc_calloc(1, sizeof(*c));
    c->store = store;
    store->on_live = br_core_on_live;
    store->on_live_ctx = c;
    store->on_resync = br_core_on_resync;
    return c;
}

static void chan_free(br_chan *ch)
{
    free(ch->app_id);
    free(ch->channel);
    free(ch->links);
    free(ch);
}

void br_core_free(br_core *c)
{
    if (!c)
        return;
    if (c->nlinks)
        hc_warn("broker core freed with %zu links still registered", c->nlinks);
    hc_map_iter it;
    hc_map_iter_init(&it, &c->chans);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));)
        chan_free(e->value);
    hc_map_free(&c->chans);
    hc_sbuf_free(&c->key);
    free(c); /* the store may be gone already: do not touch it */
}

br_core_link *br_core_link_add(br_core *c, br_link_send_fn send, void *ctx)
{
    br_core_link *l = hc_calloc(1, sizeof(*l));
    l->core = c;
    l->send = send;
    l->ctx = ctx;
    c->nlinks++;
    return l;
}

/* Removes l from ch's vector; returns the number of links left. */
static size_t chan_drop_link(br_chan *ch, br_core_link *l)
{
    for (size_t i = 0; i < ch->n; i++) {
        if (ch->links[i] == l) {
            ch->links[i] = ch->links[--ch->n];
            break;
        }
    }
    return ch->n;
}

/* Forgets channel ch (no link wants it any more) and stops its live feed. */
static void chan_retire(br_core *c, br_chan *ch)
{
    size_t klen = chan_key(c, ch->app_id, ch->channel);
    hc_map_del(&c->chans, c->key.data, klen);
    hc_debug("channel %s/%s: no interest left", ch->app_id, ch->channel);
    if (c->store->ops->unsubscribe_live)
        c->store->ops->unsubscribe_live(c->store, ch->app_id, ch->channel);
    chan_free(ch);
}

void br_core_link_remove(br_core *c, br_core_link *l)
{
    hc_map_iter it;
    hc_map_iter_init(&it, &l->chans);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));) {
        br_chan *ch = e->value;
        if (chan_drop_link(ch, l) == 0)
            chan_retire(c, ch);
    }
    hc_map_free(&l->chans);
    for (br_pending *p = l->pending; p; p = p->next)
        p->link = NULL;
    c->nlinks--;
    free(l);
}

void br_core_subscribe(br_core *c, br_core_link *l, const char *app_id, const char *channel)
{
    size_t klen = chan_key(c, app_id, channel);
    if (hc_map_get(&l->chans, c->key.data, klen))
        return;
    br_chan *ch = hc_map_get(&c->chans, c->key.data, klen);
    bool fresh = ch == NULL;
    if (fresh) {
        ch = hc_calloc(1, sizeof(*ch));
        ch->app_id = hc_strdup(app_id);
        ch->channel = hc_strdup(channel);
        hc_map_put(&c->chans, c->key.data, klen, ch);
    }
    if (ch->n == ch->cap) {
        ch->cap = ch->cap ? ch->cap * 2 : 4;
        ch->links = hc_realloc(ch->links, ch->cap * sizeof(*ch->links));
    }
    ch->links[ch->n++] = l;
    hc_map_put(&l->chans, c->key.data, klen, ch);
    if (fresh) {
        hc_debug("channel %s/%s: first interest", app_id, channel);
        if (c->store->ops->subscribe_live)
            c->store->ops->subscribe_live(c->store, app_id, channel);
    }
}

void br_core_unsubscribe(br_core *c, br_core_link *l, const char *app_id, const char *channel)
{
    size_t klen = chan_key(c, app_id, channel);
    br_chan *ch = hc_map_del(&l->chans, c->key.data, klen);
    if (!ch)
        return;
    if (chan_drop_link(ch, l) == 0)
        chan_retire(c, ch);
}

/* Sends PublishAck{request_id, ...} to l. */
static void send_ack(br_core_link *l, uint64_t request_id, const char *error, const char *epoch,
                     uint64_t offset)
{
    Herald__PublishAck ack = HERALD__PUBLISH_ACK__INIT;
    ack.request_id = request_id;
    ack.ok = error == NULL;
    ack.error = (char *)(error ? error : "");
    ack.epoch = (char *)(epoch ? epoch : "");
    ack.offset = offset;
    Herald__Frame f = HERALD__FRAME__INIT;
    f.msg_case = HERALD__FRAME__MSG_PUBLISH_ACK;
    f.publish_ack = &ack;
    hc_rbuf *b = hc_wire_pack(&f, 0);
    l->send(l->ctx, b);
    hc_rbuf_unref(b);
}

static void pending_unlink(br_pending *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else if (p->link)
        p->link->pending = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
}

/* br_publish_done_fn: routes the store's answer to the link that asked. */
static void on_published(void *arg, const char *error, const char *epoch, uint64_t offset)
{
    br_pending *p = arg;
    if (p->link) {
        br_core_link *l = p->link;
        pending_unlink(p);
        send_ack(l, p->request_id, error, epoch, offset);
    } else {
        hc_debug("publish %llu answered after its link closed; dropped",
                 (unsigned long long)p->request_id);
    }
    free(p);
}

uint8_t *br_core_encode_event(const Herald__Publish *p, size_t *len)
{
    return br_core_encode_event_at(p, 0, len);
}

uint8_t *br_core_encode_event_at(const Herald__Publish *p, uint64_t published_us, size_t *len)
{
    Herald__Event ev = HERALD__EVENT__INIT;
    ev.published_us = published_us;
    ev.name = p->name;
    ev.data = p->data;
    ev.socket_id = p->socket_id;
    ev.user_id = p->user_id;
    *len = herald__event__get_packed_size(&ev);
    uint8_t *out = hc_malloc(*len ? *len : 1);
    herald__event__pack(&ev, out);
    return out;
}

/* Returns why p cannot be published, or NULL. */
static const char *publish_invalid(const Herald__Publish *p)
{
    if (!p->app_id || !p->app_id[0])
        return "publish without app_id";
    if (!p->channel || !p->channel[0])
        return "publish without channel";
    if (!p->name || !p->name[0])
        return "publish without event name";
    return NULL;
}

void br_core_publish(br_core *c, br_core_link *l, const Herald__Publish *p)
{
    const char *why = publish_invalid(p);
    if (why) {
        send_ack(l, p->request_id, why, NULL, 0);
        return;
    }
    br_pending *pd = hc_calloc(1, sizeof(*pd));
    pd->core = c;
    pd->link = l;
    pd->request_id = p->request_id;
    pd->next = l->pending;
    if (l->pending)
        l->pending->prev = pd;
    l->pending = pd;
    size_t len;
    int64_t now_us = hc_wall_us();
    uint8_t *ev = br_core_encode_event_at(p, now_us > 0 ? (uint64_t)now_us : 0, &len);
    if ((p->history_size || p->history_ttl) && c->store->ops->publish_bounded)
        c->store->ops->publish_bounded(c->store, p->app_id, p->channel, ev, len, p->history_size,
                                       p->history_ttl, on_published, pd);
    else
        c->store->ops->publish(c->store, p->app_id, p->channel, ev, len, on_published, pd);
    free(ev);
}

void br_core_on_live(void *core, const char *app_id, const char *channel, const char *epoch,
                     uint64_t offset, const uint8_t *event, size_t event_len)
{
    br_core *c = core;
    size_t klen = chan_key(c, app_id, channel);
    br_chan *ch = hc_map_get(&c->chans, c->key.data, klen);
    if (!ch || ch->n == 0)
        return; /* interest ended while the entry was on its way */
    Herald__Event *in = herald__event__unpack(NULL, event_len, event);
    if (!in) {
        hc_warn("channel %s/%s: undecodable entry at %s:%llu dropped", app_id, channel, epoch,
                (unsigned long long)offset);
        return;
    }
    Herald__Event ev = HERALD__EVENT__INIT;
    ev.app_id = (char *)app_id;
    ev.channel = (char *)channel;
    ev.name = in->name;
    ev.data = in->data;
    ev.socket_id = in->socket_id;
    ev.user_id = in->user_id;
    ev.epoch = (char *)epoch;
    ev.offset = offset;
    ev.published_us = in->published_us;
    Herald__Frame f = HERALD__FRAME__INIT;
    f.msg_case = HERALD__FRAME__MSG_EVENT;
    f.event = &ev;
    hc_rbuf *b = hc_wire_pack(&f, 0);
    herald__event__free_unpacked(in, NULL);
    for (size_t i = 0; i < ch->n; i++)
        ch->links[i]->send(ch->links[i]->ctx, b);
    hc_rbuf_unref(b);
}

/* ---- cluster calls (presence, counts, queries; see br_cluster.h) ---- */

void br_core_set_cluster(br_core *c, br_cluster *cluster)
{
    c->cluster = cluster;
}

/* br_cluster_done_fn: sends the ClusterReply to the link that asked. */
static void on_called(void *arg, const char *error, const char *json, size_t len)
{
    br_pending *p = arg;
    if (p->link) {
        br_core_link *l = p->link;
        pending_unlink(p);
        Herald__ClusterReply r = HERALD__CLUSTER_REPLY__INIT;
        r.request_id = p->request_id;
        r.ok = error == NULL;
        r.error = (char *)(error ? error : "");
        r.json.data = (uint8_t *)json;
        r.json.len = error ? 0 : len;
        Herald__Frame f = HERALD__FRAME__INIT;
        f.msg_case = HERALD__FRAME__MSG_CLUSTER_REPLY;
        f.cluster_reply = &r;
        hc_rbuf *b = hc_wire_pack(&f, 0);
        l->send(l->ctx, b);
        hc_rbuf_unref(b);
    }
    free(p);
}

void br_core_cluster_call(br_core *c, br_core_link *l, const Herald__ClusterCall *call)
{
    br_pending *pd = hc_calloc(1, sizeof(*pd));
    pd->core = c;
    pd->link = l;
    pd->request_id = call->request_id;
    pd->next = l->pending;
    if (l->pending)
        l->pending->prev = pd;
    l->pending = pd;
    if (!c->cluster)
        on_called(pd, "this broker keeps no cluster state (presence needs Redis)", NULL, 0);
    else
        c->cluster->ops->call(c->cluster, call, on_called, pd);
}

size_t br_core_channel_count(const br_core *c)
{
    return c->chans.count;
}

size_t br_core_link_count(const br_core *c)
{
    return c->nlinks;
}

/* ---- for other files of the core (br_core_int.h) ---------------------- */

br_pending *br__core_wait(br_core_link *l, uint64_t request_id)
{
    br_pending *pd = hc_calloc(1, sizeof(*pd));
    pd->core = l->core;
    pd->link = l;
    pd->request_id = request_id;
    pd->next = l->pending;
    if (l->pending)
        l->pending->prev = pd;
    l->pending = pd;
    return pd;
}

br_core_link *br__core_wait_end(br_pending *p, uint64_t *request_id)
{
    br_core_link *l = p->link;
    if (l)
        pending_unlink(p);
    *request_id = p->request_id;
    free(p);
    return l;
}

void br__core_send(br_core_link *l, hc_rbuf *frame)
{
    l->send(l->ctx, frame);
}

br_store *br__core_store(br_core_link *l)
{
    return l->core->store;
}

void br_core_on_resync(void *core, const char *app_id, const char *channel)
{
    br_core *c = core;
    size_t klen = chan_key(c, app_id, channel);
    br_chan *ch = hc_map_get(&c->chans, c->key.data, klen);
    if (!ch || ch->n == 0)
        return;
    Herald__Interest in = HERALD__INTEREST__INIT;
    in.app_id = (char *)app_id;
    in.channel = (char *)channel;
    Herald__Frame f = HERALD__FRAME__INIT;
    f.msg_case = HERALD__FRAME__MSG_RESYNC;
    f.resync = &in;
    hc_rbuf *b = hc_wire_pack(&f, 0);
    for (size_t i = 0; i < ch->n; i++)
        ch->links[i]->send(ch->links[i]->ctx, b);
    hc_rbuf_unref(b);
}
