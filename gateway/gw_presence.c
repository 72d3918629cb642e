/*
 * gw_presence: liveness, presence joins and subscriber counts (see
 * gw_presence.h).
 *
 * Owns the heartbeat and flush timers, the memberships of local
 * connections (key "<app>\0<channel>\0<socket_id>", for re-announcing),
 * the list of joins awaiting an answer (each remembers its connection
 * until gw_presence_forget), and the set of channels whose local count
 * must be reported. Every request is a ClusterCall through gw_link; the
 * broker runs it as one atomic Redis script (broker/lua/cluster_*.lua).
 */
#include "gw_presence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hc_buf.h"
#include "hc_clock.h"
#include "hc_log.h"
#include "hc_map.h"
#include "hc_mem.h"

#define FLUSH_MS 20      /* local count changes are coalesced this long */
#define BEAT_TICK_MS 250 /* until a beat was answered, one is tried this often */

typedef struct member {
    char *app_id, *channel, *socket_id, *user_id, *user_info;
    uint64_t limit;
} member;

typedef struct pending_join {
    gw_presence *p;
    void *conn; /* NULL once forgotten */
    char *channel;
    char *key; /* membership key */
    size_t klen;
    struct pending_join *prev, *next;
} pending_join;

typedef struct dirty_chan {
    char *app_id, *channel;
} dirty_chan;

struct gw_presence {
    gw_link *link;
    gw_subs *subs;
    const hc_apps *apps;
    char *gateway_id;
    char boot_id[17];
    unsigned liveness_ms;
    gw_presence_joined_fn joined;
    void *ud;
    hc_map members; /* key -> member* */
    pending_join *pending;
    hc_map dirty; /* "<app>\0<channel>" -> dirty_chan* */
    uv_timer_t beat, flush;
    unsigned beat_every_ms; /* a third of the liveness period */
    uint64_t beat_sent_ms;  /* when the last beat went out */
    bool beat_answered;     /* since this process started */
    int open_handles;
    bool stopping;
};

static char *member_key(const char *app_id, const char *channel, const char *socket_id,
                        size_t *klen)
{
    hc_sbuf b = HC_SBUF_INIT;
    hc_sbuf_puts(&b, app_id);
    hc_sbuf_append(&b, "", 1);
    hc_sbuf_puts(&b, channel);
    hc_sbuf_append(&b, "", 1);
    hc_sbuf_puts(&b, socket_id);
    *klen = b.len;
    return hc_sbuf_steal(&b);
}

static void member_free(member *m)
{
    if (!m)
        return;
    free(m->app_id);
    free(m->channel);
    free(m->socket_id);
    free(m->user_id);
    free(m->user_info);
    free(m);
}

static void ignore_answer(void *ud, const char *error, const char *json, size_t len)
{
    (void)ud;
    (void)json;
    (void)len;
    if (error)
        hc_debug("cluster call failed: %s", error);
}

/* Sends join for m; cb/ud get the answer. */
static void send_join(gw_presence *p, const member *m, gw_call_cb cb, void *ud)
{
    Herald__ClusterCall c = HERALD__CLUSTER_CALL__INIT;
    c.op = "join";
    c.app_id = m->app_id;
    c.channel = m->channel;
    c.gateway_id = p->gateway_id;
    c.boot_id = p->boot_id;
    c.socket_id = m->socket_id;
    c.user_id = m->user_id;
    c.user_info.data = (uint8_t *)m->user_info;
    c.user_info.len = strlen(m->user_info);
    c.limit = m->limit;
    c.liveness_ms = p->liveness_ms;
    gw_link_call(p->link, &c, cb, ud);
}

static void pending_unlink(gw_presence *p, pending_join *pj)
{
    if (pj->prev)
        pj->prev->next = pj->next;
    else
        p->pending = pj->next;
    if (pj->next)
        pj->next->prev = pj->prev;
}

static void on_joined(void *ud, const char *error, const char *json, size_t len)
{
    pending_join *pj = ud;
    gw_presence *p = pj->p;
    pending_unlink(p, pj);
    if (error && strcmp(error, "limit") == 0)
        member_free(hc_map_del(&p->members, pj->key, pj->klen));
    if (pj->conn && p->joined)
        p->joined(p->ud, pj->conn, pj->channel, error, json, len);
    free(pj->channel);
    free(pj->key);
    free(pj);
}

void gw_presence_join(gw_presence *p, void *conn, const hc_app *app, const char *channel,
                      const char *socket_id, const char *user_id, const char *user_info)
{
    if (p->stopping) {
        p->joined(p->ud, conn, channel, "the gateway is shutting down", NULL, 0);
        return;
    }
    member *m = hc_calloc(1, sizeof(*m));
    m->app_id = hc_strdup(app->id);
    m->channel = hc_strdup(channel);
    m->socket_id = hc_strdup(socket_id);
    m->user_id = hc_strdup(user_id);
    m->user_info = hc_strdup(user_info ? user_info : "");
    m->limit = app->max_presence_members == (size_t)-1 ? 0 : app->max_presence_members;
    pending_join *pj = hc_calloc(1, sizeof(*pj));
    pj->p = p;
    pj->conn = conn;
    pj->channel = hc_strdup(channel);
    pj->key = member_key(app->id, channel, socket_id, &pj->klen);
    member_free(hc_map_put(&p->members, pj->key, pj->klen, m));
    pj->next = p->pending;
    if (p->pending)
        p->pending->prev = pj;
    p->pending = pj;
    send_join(p, m, on_joined, pj);
}

void gw_presence_leave(gw_presence *p, const char *app_id, const char *channel,
                       const char *socket_id)
{
    if (p->stopping)
        return;
    size_t klen;
    char *key = member_key(app_id, channel, socket_id, &klen);
    member_free(hc_map_del(&p->members, key, klen));
    free(key);
    Herald__ClusterCall c = HERALD__CLUSTER_CALL__INIT;
    c.op = "leave";
    c.app_id = (char *)app_id;
    c.channel = (char *)channel;
    c.gateway_id = p->gateway_id;
    c.boot_id = p->boot_id;
    c.socket_id = (char *)socket_id;
    gw_link_call(p->link, &c, ignore_answer, NULL);
}

const char *gw_presence_user_of(const gw_presence *p, const char *app_id, const char *channel,
                                const char *socket_id)
{
    size_t klen;
    char *key = member_key(app_id, channel, socket_id, &klen);
    const member *m = hc_map_get(&p->members, key, klen);
    free(key);
    return m ? m->user_id : NULL;
}

void gw_presence_forget(gw_presence *p, void *conn)
{
    for (pending_join *pj = p->pending; pj; pj = pj->next)
        if (pj->conn == conn)
            pj->conn = NULL;
}

/* ---- subscriber counts ----------------------------------------------- */

static void send_count(gw_presence *p, const char *app_id, const char *channel)
{
    const hc_app *app = hc_apps_by_id(p->apps, app_id);
    Herald__ClusterCall c = HERALD__CLUSTER_CALL__INIT;
    c.op = "count";
    c.app_id = (char *)app_id;
    c.channel = (char *)channel;
    c.gateway_id = p->gateway_id;
    c.boot_id = p->boot_id;
    c.liveness_ms = p->liveness_ms;
    c.count = (int64_t)gw_subs_local_count(p->subs, app_id, channel);
    c.flags = app && app->subscription_count ? 1 : 0;
    gw_link_call(p->link, &c, ignore_answer, NULL);
}

static void on_flush(uv_timer_t *t)
{
    gw_presence *p = t->data;
    hc_map_iter it;
    hc_map_iter_init(&it, &p->dirty);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));) {
        dirty_chan *d = e->value;
        if (!p->stopping)
            send_count(p, d->app_id, d->channel);
        free(d->app_id);
        free(d->channel);
        free(d);
    }
    hc_map_free(&p->dirty);
}

void gw_presence_count_changed(gw_presence *p, const char *app_id, const char *channel)
{
    if (p->stopping)
        return;
    size_t a = strlen(app_id), n = a + 1 + strlen(channel);
    char *key = hc_malloc(n + 1);
    memcpy(key, app_id, a + 1);
    strcpy(key + a + 1, channel);
    if (!hc_map_get(&p->dirty, key, n)) {
        dirty_chan *d = hc_calloc(1, sizeof(*d));
        d->app_id = hc_strdup(app_id);
        d->channel = hc_strdup(channel);
        hc_map_put(&p->dirty, key, n, d);
    }
    free(key);
    if (!uv_is_active((uv_handle_t *)&p->flush))
        uv_timer_start(&p->flush, on_flush, FLUSH_MS, 0);
}

/* ---- liveness --------------------------------------------------------- */

static void mark_dirty(void *ud, const char *app_id, const char *channel, size_t count)
{
    (void)count;
    gw_presence_count_changed(ud, app_id, channel);
}

/* The cluster had forgotten this gateway (its liveness key lapsed, or this
 * process is new): announce every membership and count again. */
static void resync(gw_presence *p)
{
    size_t n = 0;
    hc_map_iter it;
    hc_map_iter_init(&it, &p->members);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it)); n++)
        send_join(p, e->value, ignore_answer, NULL);
    gw_subs_each_channel(p->subs, mark_dirty, p);
    if (n)
        hc_info("cluster state had lapsed for this gateway: %zu presence membership(s) "
                "announced again",
                n);
}

static void on_beat_answer(void *ud, const char *error, const char *json, size_t len)
{
    gw_presence *p = ud;
    if (error) {
        hc_debug("heartbeat failed: %s", error);
        return;
    }
    p->beat_answered = true;
    if (!p->stopping && len == 5 && memcmp(json, "fresh", 5) == 0)
        resync(p);
}

static void send_beat(gw_presence *p, unsigned liveness_ms)
{
    Herald__ClusterCall c = HERALD__CLUSTER_CALL__INIT;
    c.op = "beat";
    c.gateway_id = p->gateway_id;
    c.boot_id = p->boot_id;
    c.liveness_ms = liveness_ms;
    gw_link_call(p->link, &c, on_beat_answer, p);
}

/* Beats every beat_every_ms; until the first beat was answered (brokers
 * still connecting at start), every tick, so a restarted gateway clears
 * what its previous process left as soon as a broker is reachable. */
static void on_beat(uv_timer_t *t)
{
    gw_presence *p = t->data;
    uint64_t now = hc_mono_ms();
    uint64_t due = p->beat_answered ? p->beat_every_ms : BEAT_TICK_MS;
    if (p->beat_sent_ms && now - p->beat_sent_ms < due)
        return;
    if (!gw_link_ready(p->link))
        return;
    p->beat_sent_ms = now;
    send_beat(p, p->liveness_ms);
}

/* ---- life cycle ------------------------------------------------------- */

gw_presence *gw_presence_new(uv_loop_t *loop, gw_link *link, gw_subs *subs, const hc_apps *apps,
                             const gw_presence_config *cfg)
{
    gw_presence *p = hc_calloc(1, sizeof(*p));
    p->link = link;
    p->subs = subs;
    p->apps = apps;
    p->gateway_id = hc_strdup(cfg->gateway_id && cfg->gateway_id[0] ? cfg->gateway_id : "gateway");
    p->liveness_ms = cfg->liveness_ms ? cfg->liveness_ms : 30000;
    p->joined = cfg->joined;
    p->ud = cfg->ud;
    uint64_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = hc_mono_ms() ^ ((uint64_t)hc_wall_ms() << 16) ^ (uint64_t)(uintptr_t)p;
    snprintf(p->boot_id, sizeof(p->boot_id), "%016llx", (unsigned long long)r);
    uv_timer_init(loop, &p->beat);
    uv_timer_init(loop, &p->flush);
    p->beat.data = p->flush.data = p;
    p->open_handles = 2;
    p->beat_every_ms = p->liveness_ms / 3;
    if (p->beat_every_ms < BEAT_TICK_MS)
        p->beat_every_ms = BEAT_TICK_MS;
    uv_timer_start(&p->beat, on_beat, BEAT_TICK_MS, BEAT_TICK_MS);
    return p;
}

static void on_closed(uv_handle_t *h)
{
    gw_presence *p = h->data;
    if (--p->open_handles)
        return;
    hc_map_iter it;
    hc_map_iter_init(&it, &p->members);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));)
        member_free(e->value);
    hc_map_free(&p->members);
    hc_map_iter_init(&it, &p->dirty);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));) {
        dirty_chan *d = e->value;
        free(d->app_id);
        free(d->channel);
        free(d);
    }
    hc_map_free(&p->dirty);
    while (p->pending) {
        pending_join *pj = p->pending;
        p->pending = pj->next;
        free(pj->channel);
        free(pj->key);
        free(pj);
    }
    free(p->gateway_id);
    free(p);
}

void gw_presence_stop(gw_presence *p)
{
    if (!p || p->stopping)
        return;
    p->stopping = true;
    /* a liveness of 1 ms: the next sweep removes this gateway's state */
    if (gw_link_ready(p->link))
        send_beat(p, 1);
    uv_close((uv_handle_t *)&p->beat, on_closed);
    uv_close((uv_handle_t *)&p->flush, on_closed);
}
