/*
 * gw_server: lws context, protocol callback, WebSocket connections and the
 * activity sweep (see gw_server.h). HTTP requests are in gw_http.c.
 *
 * Owns gw_conn, one per WebSocket: created at LWS_CALLBACK_ESTABLISHED,
 * freed at LWS_CALLBACK_CLOSED. Every frame to a client goes through its
 * bounded queue (gw_outq inside gw_subscriber). A queue that becomes
 * non-empty puts its connection on the dirty list; once per loop turn the
 * flush pass writes each dirty connection's backlog as one run of bytes
 * (gw_wsout) with one lws_write, and asks lws for a writable callback only
 * when lws had to keep part of it (the socket would block): no POLLOUT
 * arming per delivery (see conn_flush). With io_uring (gw_sendbatch) the
 * pass sends every plain-TCP connection's first batch in one submission
 * instead, and hands what a socket did not take to lws (batch_submit).
 * A connection to be closed (fatal protocol error, missing pong, full
 * queue, shutdown) is sealed, its queue (the pusher:error) is written, then
 * a zero-delay wsi timer closes it with lws_close_reason (see ws_writeable
 * for why not from the writable callback). At shutdown every client gets
 * 4200 and up to DRAIN_MAX_MS to leave.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_listen.h"
#include "gw_metrics.h"
#include "gw_pusher.h"
#include "gw_tls.h"
#include "gw_user.h"
#include "gw_webhooks.h"
#include "gw_wsout.h"
#include "gw_recovery.h"
#include "gw_watchlist.h"
#include "hc_channel.h"
#include "gw_server_int.h"
#include "hc_clock.h"
#include "hc_history.h"
#include "hc_log.h"
#include "hc_mem.h"
#include "hc_query.h"

/* lws allocates this much per connection for incoming frames and hands
 * larger messages over in pieces (ws_receive joins them): small, so an idle
 * connection costs little memory. Not below 128: a control frame (close
 * reason, ping payload: up to 125 bytes) must fit in one piece. */
#define RX_BUFFER 128
#define BATCH_MAX 65536 /* bytes handed to one lws_write (lws's tx_packet_size) */
#define FLUSH_ROUNDS 16 /* batches per connection per flush; then wait to be writable */
#define CLOSE_GRACE_S 5 /* a closing client that reads nothing is cut */
#define SWEEP_MAX_MS 1000
#define DRAIN_MAX_MS 1000 /* at shutdown, clients get this long to leave */
#define DRAIN_TICK_MS 50
#define DRAIN_GRACE_MS 2000  /* after the drain window, for the last closes */
#define TRIM_AFTER_CONNS 256 /* new connections that make a heap trim worth it */

/* One WebSocket connection. Laid out small (most connections are idle;
 * docs/architecture.md, "Connection state"): its socket_id lives once, in
 * pusher; the flags sit together at the end. */
struct gw_conn {
    gw_server *srv;
    struct lws *wsi;
    gw_pusher_conn pusher;
    gw_subscriber sub;
    hc_sbuf *rx;          /* pieces of a message not yet complete; NULL when none */
    uint64_t heard_ms;    /* last time anything came from the client */
    uint64_t ping_ms;     /* when our ping went out; 0 = none pending */
    uint64_t drain_at_ms; /* while draining: when to close it (4200) */
    char *close_reason;   /* while closing: at most 123 bytes (a close frame's limit) */
    gw_conn *prev, *next;
    gw_conn *dprev, *dnext; /* on srv->dirty: frames queued, flush pending */
    int16_t close_code;     /* a WebSocket close code (1000-4999) */
    bool rx_dropping;       /* discarding the rest of an oversized message */
    bool closing;
    bool counted;       /* in soketi_connected (handshake accepted) */
    bool quota_counted; /* counted in srv->limits for its app */
    bool dirty;
    bool write_failed; /* a write failed outside lws: close from the callback */
};

/* ---- the flush pass (write path) ------------------------------------- */

static void flush_idle(uv_idle_t *h);
static void flush_check(uv_check_t *h);

/* Puts c on the dirty list; the flush pass writes it this loop turn (the
 * check phase after I/O) or, when queued from a timer, before the loop
 * next waits (the idle handle keeps the poll from blocking meanwhile). */
static void conn_dirty(gw_conn *c)
{
    gw_server *s = c->srv;
    if (c->dirty)
        return;
    c->dirty = true;
    c->dprev = NULL;
    c->dnext = s->dirty;
    if (s->dirty)
        s->dirty->dprev = c;
    else if (s->flush_open) {
        uv_idle_start(&s->flush_idle, flush_idle);
        uv_check_start(&s->flush_check, flush_check);
    }
    s->dirty = c;
}

static void conn_undirty(gw_conn *c)
{
    gw_server *s = c->srv;
    if (!c->dirty)
        return;
    c->dirty = false;
    if (c->dprev)
        c->dprev->dnext = c->dnext;
    else
        s->dirty = c->dnext;
    if (c->dnext)
        c->dnext->dprev = c->dprev;
    c->dprev = c->dnext = NULL;
}

/* Counts frames written to c in herald_ws_tx_bytes / _messages. The
 * counters are per app, and a labelled series lookup per connection per
 * write was a third of the gateway's own instructions in a fan-out
 * (callgrind), so writes are summed per app for the flush pass and added
 * by tx_flush, once per app run of connections. */
static void tx_flush(gw_server *s)
{
    if (s->tx_frames) {
        gw_metrics_app_add(gw_m.ws_tx_bytes, s->tx_app, (double)s->tx_bytes);
        gw_metrics_app_add(gw_m.ws_tx_messages, s->tx_app, (double)s->tx_frames);
    }
    s->tx_app = NULL;
    s->tx_bytes = s->tx_frames = 0;
}

static void tx_count(gw_server *s, const gw_conn *c, size_t bytes, size_t frames)
{
    const char *app_id = c->pusher.app ? c->pusher.app->id : "";
    if (s->tx_frames && s->tx_app != app_id && strcmp(s->tx_app, app_id) != 0)
        tx_flush(s);
    s->tx_app = app_id;
    s->tx_bytes += bytes;
    s->tx_frames += frames;
}

/* Writes c's queued frames: each batch (gw_wsout_gather) is one
 * lws_write(LWS_WRITE_RAW), i.e. one send(), that lws either completes or
 * keeps the rest of (buflist) and then arms POLLOUT by itself; we stop
 * there and go on from the writable callback. So a connection that keeps
 * up costs one send per loop turn and no epoll_ctl. Frames stay in the
 * bounded queue until handed to lws, so a client that does not read fills
 * its queue and is cut off (hook_overflow) as before. Called from the
 * flush pass and from SERVER_WRITEABLE (in_lws); returns -1 when the
 * socket failed. */
static int conn_flush(gw_conn *c, bool in_lws)
{
    struct lws *wsi = c->wsi;
    gw_server *s = c->srv;
    if (lws_partial_buffered(wsi))
        return 0; /* lws calls SERVER_WRITEABLE once it is drained */
    size_t bytes = 0, frames = 0;
    int rc = 0, rounds = 0;
    while (gw_outq_len(&c->sub.q) && rounds++ < FLUSH_ROUNDS) {
        const unsigned char *p;
        size_t len;
        size_t k = gw_wsout_gather(&c->sub.q, &s->batch, BATCH_MAX, &p, &len);
        for (size_t i = 0; i < k; i++)
            bytes += gw_outq_at(&c->sub.q, i)->len;
        int n = lws_write(wsi, (unsigned char *)p, len, LWS_WRITE_RAW);
        for (size_t i = 0; i < k; i++)
            gw_outq_pop(&c->sub.q);
        frames += k;
        if (n < (int)len) {
            rc = -1;
            break;
        }
        if (lws_partial_buffered(wsi))
            break;
    }
    if (frames)
        tx_count(s, c, bytes, frames);
    if (rc)
        return rc;
    if (lws_partial_buffered(wsi))
        return 0;
    if (gw_outq_len(&c->sub.q))
        lws_callback_on_writable(wsi); /* a long backlog: take turns */
    else if (c->closing && in_lws)
        lws_set_timer_usecs(wsi, 1); /* close from the timer (see ws_writeable) */
    else if (c->closing)
        /* lws re-arms its timers only when it services something: a wsi
         * timer set from the flush pass could wait for unrelated I/O. The
         * writable callback (one per close) sets it from inside lws. */
        lws_callback_on_writable(wsi);
    return 0;
}

/* The socket is gone: the writable callback returns -1 and lws closes it
 * (no close frame); lws skips that callback on a socket it marked
 * unusable, so a timeout closes it then. */
static void conn_write_failed(gw_conn *c)
{
    gw_subscriber_seal(&c->sub);
    gw_outq_free(&c->sub.q);
    c->write_failed = true;
    lws_callback_on_writable(c->wsi);
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, 1);
}

/* ---- batched sends ----------------------------------------------------
 * With io_uring (gw_sendbatch), the flush pass gathers the first batch of
 * every dirty plain-TCP connection (what conn_flush would write first),
 * then sends them all with one gw_sendbatch_run (one io_uring submission
 * per SUBMIT_MAX connections) instead of one lws_write (= one send system
 * call) each. The sends are MSG_DONTWAIT: one that finds the socket full,
 * or writes only part, hands the rest to lws_write, which keeps it
 * (buflist) and arms POLLOUT exactly as when its own send is short;
 * conn_flush then goes on as usual (more rounds of a long backlog,
 * closing). Bypassing lws is safe only while lws holds nothing for the
 * socket (lws_partial_buffered: its pongs and close frames go out first,
 * and it writes them only from the writable callback, never during the
 * flush pass) and for plain TCP (lws_is_ssl: TLS stays on lws_write). A
 * single frame is sent from the shared frame itself (the queue keeps it
 * alive until popped, after the send); several are copied into the arena.
 * Without io_uring (--io-uring off, no liburing, no kernel support) every
 * connection takes conn_flush as before. */
#define SUBMIT_MAX 1024         /* connections per submission */
#define ARENA_MAX (1024 * 1024) /* gathered bytes held for one submission */

typedef struct gw_batched {
    gw_conn *c;
    size_t frames, bytes; /* frames covered, their payload bytes (metrics) */
    size_t off;           /* in srv->arena, when in_arena */
    bool in_arena;
} gw_batched;

/* Can c's next write bypass lws? */
static bool batchable(gw_conn *c)
{
    return c->srv->pend && gw_outq_len(&c->sub.q) && !lws_is_ssl(c->wsi) &&
           !lws_partial_buffered(c->wsi) && lws_get_socket_fd(c->wsi) >= 0;
}

static void batch_submit(gw_server *s)
{
    size_t n = s->npend;
    if (!n)
        return;
    for (size_t i = 0; i < n; i++)
        if (s->pend[i].in_arena)
            s->pend_e[i].p = s->arena.data + s->pend[i].off;
    gw_sendbatch_run(s->sendbatch, s->pend_e, n);
    s->npend = 0;
    for (size_t i = 0; i < n; i++) {
        gw_batched *x = &s->pend[i];
        gw_sendbatch_entry *e = &s->pend_e[i];
        gw_conn *c = x->c;
        int rc = 0;
        if (e->res == -EAGAIN || e->res == -EWOULDBLOCK ||
            (e->res >= 0 && (size_t)e->res < e->len)) {
            /* lws keeps the rest and arms POLLOUT; before the pop, as the
             * bytes may be the frame's own */
            size_t done = e->res > 0 ? (size_t)e->res : 0, rest = e->len - done;
            int w = lws_write(c->wsi, (unsigned char *)e->p + done, rest, LWS_WRITE_RAW);
            if (w < (int)rest)
                rc = -1;
        } else if (e->res < 0) {
            rc = -1;
        }
        for (size_t k = 0; k < x->frames; k++)
            gw_outq_pop(&c->sub.q);
        if (x->frames)
            tx_count(s, c, x->bytes, x->frames);
        if (!rc)
            rc = conn_flush(c, false); /* the rest of a long backlog; closing */
        if (rc < 0)
            conn_write_failed(c);
    }
    hc_sbuf_reset(&s->arena);
}

/* Gathers c's first batch for the next submission. */
static void batch_add(gw_server *s, gw_conn *c)
{
    if (s->npend == SUBMIT_MAX || s->arena.len + BATCH_MAX > ARENA_MAX)
        batch_submit(s);
    const unsigned char *p;
    size_t len;
    size_t k = gw_wsout_gather(&c->sub.q, &s->batch, BATCH_MAX, &p, &len);
    gw_batched *x = &s->pend[s->npend];
    gw_sendbatch_entry *e = &s->pend_e[s->npend];
    s->npend++;
    x->c = c;
    x->frames = k;
    x->bytes = 0;
    for (size_t i = 0; i < k; i++)
        x->bytes += gw_outq_at(&c->sub.q, i)->len;
    x->in_arena = k > 1; /* gathered into s->batch, reused by the next */
    e->fd = lws_get_socket_fd(c->wsi);
    e->len = len;
    e->res = 0;
    if (x->in_arena) {
        x->off = s->arena.len;
        hc_sbuf_append(&s->arena, p, len);
        e->p = NULL; /* set at submission (the arena may move) */
    } else {
        e->p = p;
    }
}

static void flush_all(gw_server *s)
{
    gw_conn *c;
    while ((c = s->dirty)) {
        conn_undirty(c);
        if (batchable(c))
            batch_add(s, c);
        else if (conn_flush(c, false) < 0)
            conn_write_failed(c);
    }
    batch_submit(s);
    tx_flush(s);
    uv_idle_stop(&s->flush_idle);
    uv_check_stop(&s->flush_check);
}

static void flush_idle(uv_idle_t *h)
{
    flush_all(h->data);
}

static void flush_check(uv_check_t *h)
{
    flush_all(h->data);
}

/* ---- closing --------------------------------------------------------- */

/* Marks c to be closed with code/reason once what is queued is written. */
static void conn_close(gw_conn *c, int code, const char *reason)
{
    if (c->closing)
        return;
    c->closing = true;
    gw_subscriber_seal(&c->sub); /* what is queued (the error) still goes */
    c->close_code = (int16_t)code;
    c->close_reason = hc_strndup(reason, strnlen(reason, 123));
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, CLOSE_GRACE_S);
    conn_dirty(c);
}

/* ---- gw_pusher io ---------------------------------------------------- */

static void io_send(void *ud, const char *text, size_t len)
{
    gw_conn *c = ud;
    hc_rbuf *b = hc_rbuf_from(LWS_PRE, text, len);
    gw_subs_push(c->srv->subs, &c->sub, b);
    hc_rbuf_unref(b);
}

static void io_close(void *ud, int code, const char *reason)
{
    conn_close(ud, code, reason);
}

static int io_subscribe(void *ud, const char *channel)
{
    gw_conn *c = ud;
    hc_debug_ctx(c->pusher.app->id, c->pusher.socket_id, channel, "subscribe");
    int added = gw_subs_join(c->srv->subs, &c->sub, c->pusher.app->id, channel);
    if (added)
        gw_webhooks_count_changed(c->srv->wh, c->pusher.app->id, channel);
    if (added && c->srv->presence)
        gw_presence_count_changed(c->srv->presence, c->pusher.app->id, channel);
    return added;
}

static int io_is_subscribed(void *ud, const char *channel)
{
    gw_conn *c = ud;
    return gw_subs_is_member(&c->sub, c->pusher.app->id, channel);
}

/* The connection left channel: cluster presence and counts follow. */
static void left_channel(void *ud, const char *app_id, const char *channel, size_t count)
{
    (void)count;
    gw_conn *c = ud;
    gw_webhooks_count_changed(c->srv->wh, app_id, channel);
    gw_presence *p = c->srv->presence;
    if (!p || gw_watchlist_channel(channel)) /* watch channels are not counted */
        return;
    if (hc_channel_type_of(channel) == HC_CH_PRESENCE)
        gw_presence_leave(p, app_id, channel, c->pusher.socket_id);
    gw_presence_count_changed(p, app_id, channel);
}

static int io_unsubscribe(void *ud, const char *channel)
{
    gw_conn *c = ud;
    hc_debug_ctx(c->pusher.app->id, c->pusher.socket_id, channel, "unsubscribe");
    int removed = gw_subs_leave(c->srv->subs, &c->sub, c->pusher.app->id, channel);
    if (removed)
        left_channel(c, c->pusher.app->id, channel, 0);
    return removed;
}

static void client_published(void *ud, const gw_publish_result *r)
{
    (void)ud;
    if (!r->ok)
        hc_debug("client event not published: %s", r->error ? r->error : "unknown error");
}

static void io_publish(void *ud, const char *channel, const char *name, const char *data,
                       size_t len, const char *user_id)
{
    gw_conn *c = ud;
    if (!c->srv->link || !gw_link_ready(c->srv->link)) {
        gw_pusher_error(&c->pusher, 0, "Client event not sent: no broker is reachable");
        return;
    }
    /* On presence channels the event carries the sender's user_id (Pusher
     * semantics); the protocol layer does not know the membership. */
    if (!user_id && c->srv->presence && hc_channel_type_of(channel) == HC_CH_PRESENCE)
        user_id =
            gw_presence_user_of(c->srv->presence, c->pusher.app->id, channel, c->pusher.socket_id);
    gw_publish p = {.app_id = c->pusher.app->id,
                    .channel = channel,
                    .name = name,
                    .data = data,
                    .data_len = len,
                    .socket_id = c->pusher.socket_id,
                    .user_id = user_id};
    hc_history_bound(c->pusher.app->history, channel, &p.history_size, &p.history_ttl);
    gw_link_publish(c->srv->link, &p, client_published, NULL);
    gw_webhooks_client_event(c->srv->wh, p.app_id, channel, name, data, len, c->pusher.socket_id,
                             user_id);
}

static void io_recover(void *ud, const char *channel, const char *since, unsigned rewind,
                       bool cache_miss)
{
    gw_conn *c = ud;
    if (c->srv->rec)
        gw_recovery_subscribe(c->srv->rec, &c->sub, c->pusher.app->id, channel, since, rewind,
                              cache_miss);
}

static void io_presence_join(void *ud, const char *channel, const char *user_id,
                             const char *user_info)
{
    gw_conn *c = ud;
    if (!c->srv->presence) {
        gw_pusher_presence_joined(&c->pusher, channel, "the gateway is shutting down", NULL, 0);
        return;
    }
    gw_presence_join(c->srv->presence, c, c->pusher.app, channel, c->pusher.socket_id, user_id,
                     user_info);
}

/* gw_presence_joined_fn: the cluster answered a join. */
static void presence_joined(void *ud, void *conn, const char *channel, const char *error,
                            const char *json, size_t len)
{
    (void)ud;
    gw_conn *c = conn;
    if (c) /* NULL: an online membership (gw_watchlist) */
        gw_pusher_presence_joined(&c->pusher, channel, error, json, len);
}

static void io_cache_replay(void *ud, const char *channel)
{
    gw_conn *c = ud;
    if (c->srv->rec)
        gw_recovery_cache(c->srv->rec, &c->sub, c->pusher.app->id, channel);
}

static void io_signed_in(void *ud, const char *previous, const char *const *watchlist, size_t n)
{
    gw_conn *c = ud;
    if (c->srv->watch)
        gw_watchlist_signed_in(c->srv->watch, &c->sub, c->pusher.app, c->pusher.socket_id, previous,
                               gw_pusher_user_id(&c->pusher), watchlist, n);
}

static const gw_pusher_io pusher_io = {
    .send = io_send,
    .close = io_close,
    .subscribe = io_subscribe,
    .is_subscribed = io_is_subscribed,
    .unsubscribe = io_unsubscribe,
    .publish = io_publish,
    .recover = io_recover,
    .presence_join = io_presence_join,
    .cache_replay = io_cache_replay,
    .signed_in = io_signed_in,
};

/* ---- gw_subs hooks --------------------------------------------------- */

/* The connection a subscriber is embedded in. */
static gw_conn *conn_of(gw_subscriber *s)
{
    return (gw_conn *)((char *)s - offsetof(gw_conn, sub));
}

static void hook_wake(void *ud, gw_subscriber *s)
{
    (void)ud;
    conn_dirty(conn_of(s));
}

static void hook_overflow(void *ud, gw_subscriber *s)
{
    (void)ud;
    gw_conn *c = conn_of(s);
    hc_metric_inc1(gw_m.slow_disconnections, c->pusher.app ? c->pusher.app->id : "");
    hc_warn_ctx(c->pusher.app ? c->pusher.app->id : NULL, c->pusher.socket_id, NULL,
                "connection too slow: %zu frames queued; closing it (4100)", gw_outq_len(&s->q));
    gw_outq_free(&s->q); /* it would not read them anyway */
    conn_close(c, GW_PUSHER_OVER_CAPACITY, "Over capacity: the connection fell too far behind");
}

static void on_cache_miss(void *ud, const char *app_id, const char *channel)
{
    gw_server *s = ud;
    gw_webhooks_cache_miss(s->wh, app_id, channel);
}

static void hook_first(void *ud, const char *app_id, const char *channel)
{
    gw_server *s = ud;
    if (s->link)
        gw_link_subscribe(s->link, app_id, channel);
}

static void hook_last(void *ud, const char *app_id, const char *channel)
{
    gw_server *s = ud;
    if (s->link)
        gw_link_unsubscribe(s->link, app_id, channel);
}

/* ---- cluster-wide connection counts (gw_limits) ---------------------- */

/* Another gateway's "<gateway_num> <conns>" for an app; our own come back
 * too and are skipped. */
static void on_conn_report(gw_server *s, const Herald__Event *ev)
{
    char text[64], gw[16];
    long conns;
    const hc_app *app = hc_apps_by_id(s->apps, ev->app_id);
    if (!app || ev->data.len >= sizeof(text))
        return;
    memcpy(text, ev->data.data, ev->data.len);
    text[ev->data.len] = '\0';
    if (sscanf(text, "%15s %ld", gw, &conns) != 2)
        return;
    char self[16];
    snprintf(self, sizeof(self), "%u", s->cfg.gateway_num);
    if (strcmp(gw, self) != 0)
        gw_limits_remote(s->limits, app, gw, conns, hc_mono_ms());
}

static void report_published(void *ud, const gw_publish_result *r)
{
    (void)ud;
    if (!r->ok)
        hc_debug("connection count not published: %s", r->error ? r->error : "unknown error");
}

static bool report_conns(void *ud, const hc_app *app, long conns)
{
    gw_server *s = ud;
    if (!s->link || !gw_link_ready(s->link))
        return false;
    char data[64];
    int n = snprintf(data, sizeof(data), "%u %ld", s->cfg.gateway_num, conns);
    /* Only the live feed matters: keep one entry of history for a minute. */
    gw_publish p = {.app_id = app->id,
                    .channel = GW_LIMITS_CHANNEL,
                    .name = "herald:conns",
                    .data = data,
                    .data_len = (size_t)n,
                    .history_size = 1,
                    .history_ttl = 60};
    gw_link_publish(s->link, &p, report_published, NULL);
    return true;
}

/* Follows the count channel of every app with a connection limit. */
static void follow_conn_counts(gw_server *s)
{
    for (size_t i = 0; i < hc_apps_count(s->apps); i++) {
        const hc_app *a = hc_apps_at(s->apps, i);
        if (a->max_connections >= 0)
            gw_link_subscribe(s->link, a->id, GW_LIMITS_CHANNEL);
    }
}

static void hook_gap(void *ud, const char *app_id, const char *channel, const char *epoch,
                     uint64_t last)
{
    gw_server *s = ud;
    if (s->rec)
        gw_recovery_gap(s->rec, app_id, channel, epoch, last);
}

static void on_broker_event(void *ud, const Herald__Event *ev)
{
    gw_server *s = ud;
    if (gw__rebalancer_event(s->rebal, ev))
        return;
    if (ev->channel && strcmp(ev->channel, GW_LIMITS_CHANNEL) == 0) {
        on_conn_report(s, ev);
        return;
    }
    const char *user = gw_user_control_user(ev->channel);
    if (user) { /* a control event between gateways: never delivered */
        for (gw_conn *c = s->conns; c; c = c->next)
            gw_user_control(&c->pusher, ev->app_id, user, ev->name ? ev->name : "");
        return;
    }
    if (gw_subs_deliver(s->subs, ev)) /* once per event, not per socket */
        gw_metrics_fanout(ev->app_id, ev->published_us);
}

/* ---- WebSocket connections ------------------------------------------- */

/* Copies the request path and the protocol argument of a WebSocket
 * upgrade. */
static void read_handshake(struct lws *wsi, char *path, size_t pathlen, hc_query *q)
{
    if (lws_hdr_copy(wsi, path, (int)pathlen, WSI_TOKEN_GET_URI) < 0)
        path[0] = '\0';
    char buf[1024];
    for (int i = 0;; i++) {
        int n = lws_hdr_copy_fragment(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        if (n > 0)
            hc_query_add_pair(q, buf, (size_t)n);
    }
}

static int ws_established(gw_server *s, struct lws *wsi, gw_pss *pss)
{
    gw_conn *c = hc_calloc(1, sizeof(*c));
    c->srv = s;
    c->wsi = wsi;
    c->heard_ms = hc_mono_ms();
    char sid[GW_PUSHER_SOCKET_ID_MAX + 1];
    snprintf(sid, sizeof(sid), "%u.%llu", s->cfg.gateway_num, (unsigned long long)++s->next_socket);
    /* the subscriber points at the pusher's copy (gw_pusher_init below) */
    gw_subscriber_init(&c->sub, c->pusher.socket_id, s->cfg.queue_frames);
    pss->conn = c;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;

    char path[512], why[256];
    hc_query q = HC_QUERY_INIT;
    read_handshake(wsi, path, sizeof(path), &q);
    const hc_app *app = NULL;
    int code =
        gw_pusher_handshake(s->apps, path, hc_query_get(&q, "protocol"), &app, why, sizeof(why));
    hc_query_free(&q);
    gw_pusher_init(&c->pusher, &pusher_io, c, app, sid, s->cfg.max_subscriptions);
    if (!code && (s->stopping || s->draining)) {
        code = GW_PUSHER_RECONNECT;
        snprintf(why, sizeof(why), "Server shutting down: reconnect");
    }
    if (!code && !(c->quota_counted = gw_limits_conn_open(s->limits, app, hc_mono_ms()))) {
        code = GW_PUSHER_OVER_QUOTA;
        snprintf(why, sizeof(why), "Over quota: the app allows %ld connections",
                 app->max_connections);
    }
    if (code) {
        hc_debug_ctx(app ? app->id : NULL, c->pusher.socket_id, NULL,
                     "refusing WebSocket %s: %d %s", path, code, why);
        gw_pusher_fatal(&c->pusher, code, why);
        return 0;
    }
    gw_pusher_established(&c->pusher, s->cfg.activity_timeout);
    c->counted = true;
    hc_debug_ctx(app->id, c->pusher.socket_id, NULL, "connected");
    gw_metrics_app_add(gw_m.new_connections, app->id, 1);
    gw_metrics_app_add(gw_m.connected, app->id, 1);
    return 0;
}

static void rx_free(gw_conn *c)
{
    if (c->rx) {
        hc_sbuf_free(c->rx);
        free(c->rx);
        c->rx = NULL;
    }
}

static void ws_closed(gw_server *s, gw_pss *pss)
{
    gw_conn *c = pss->conn;
    if (!c)
        return;
    pss->conn = NULL;
    if (c->counted) {
        hc_debug_ctx(c->pusher.app->id, c->pusher.socket_id, NULL, "disconnected");
        gw_metrics_app_add(gw_m.new_disconnections, c->pusher.app->id, 1);
        gw_metrics_app_add(gw_m.connected, c->pusher.app->id, -1);
    }
    if (c->quota_counted)
        gw_limits_conn_close(s->limits, c->pusher.app);
    if (s->watch && c->pusher.user_id)
        gw_watchlist_closed(s->watch, c->pusher.app->id, c->pusher.socket_id, c->pusher.user_id);
    if (s->presence) {
        gw_presence_forget(s->presence, c);
        gw_subscriber_each(&c->sub, left_channel, c);
    }
    gw_subs_leave_all(s->subs, &c->sub);
    conn_undirty(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    rx_free(c);
    gw_pusher_release(&c->pusher);
    free(c->close_reason);
    free(c);
}

/* A piece of a client message arrived. */
static int ws_receive(gw_server *s, struct lws *wsi, gw_conn *c, const void *in, size_t len)
{
    c->heard_ms = hc_mono_ms();
    c->ping_ms = 0;
    bool final = lws_is_final_fragment(wsi);
    const char *app_id = c->pusher.app ? c->pusher.app->id : "";
    gw_metrics_app_add(gw_m.ws_rx_bytes, app_id, (double)len);
    if (final)
        gw_metrics_app_add(gw_m.ws_rx_messages, app_id, 1);
    if (c->closing || c->rx_dropping) {
        if (final)
            c->rx_dropping = false;
        return 0;
    }
    size_t have = c->rx ? c->rx->len : 0;
    if (have + len > s->cfg.max_message_size) {
        char msg[128];
        snprintf(msg, sizeof(msg), "Message too large: the limit is %zu bytes",
                 s->cfg.max_message_size);
        rx_free(c);
        c->rx_dropping = !final;
        gw_pusher_fatal(&c->pusher, GW_PUSHER_MESSAGE_TOO_BIG, msg);
        return 0;
    }
    if (final && !have) {
        gw_pusher_on_message(&c->pusher, in, len);
        return 0;
    }
    if (!c->rx) /* allocated only while a message arrives in pieces */
        c->rx = hc_calloc(1, sizeof(*c->rx));
    hc_sbuf_append(c->rx, in, len);
    if (final) {
        hc_sbuf *rx = c->rx;
        c->rx = NULL; /* large messages are rare: do not keep the memory */
        gw_pusher_on_message(&c->pusher, rx->data, rx->len);
        hc_sbuf_free(rx);
        free(rx);
    }
    return 0;
}

/* lws found the socket writable again (after it had to keep part of a
 * batch, or a long backlog): write on. When the connection is closing and
 * nothing is left, conn_flush arms a zero-delay wsi timer instead of
 * closing here: lws 4.1 treats -1 from a writable callback as a failed
 * write and drops the socket without the close frame, while -1 from
 * LWS_CALLBACK_TIMER closes politely with the lws_close_reason code. */
static int ws_writeable(gw_conn *c)
{
    conn_undirty(c);
    if (c->write_failed)
        return -1;
    int rc = conn_flush(c, true);
    tx_flush(c->srv);
    return rc;
}

/* The close timer armed by ws_writeable fired: close with our code. */
static int ws_timer(struct lws *wsi, gw_conn *c)
{
    if (!c->closing)
        return 0;
    lws_close_reason(wsi, (enum lws_close_status)c->close_code, (unsigned char *)c->close_reason,
                     strlen(c->close_reason));
    return -1;
}

/* ---- the protocol callback ------------------------------------------- */

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    gw_pss *pss = user;
    struct lws_context *ctx = lws_get_context(wsi);
    gw_server *s = ctx ? lws_context_user(ctx) : NULL;
    /* connection-level hooks (gw_tls, gw_listen), before session data */
    switch (reason) {
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS: /* user: the vhost's SSL_CTX */
        return s && s->cfg.tls ? gw_tls_attach(s->cfg.tls, user) : 0;
    case LWS_CALLBACK_WSI_DESTROY: /* its descriptor is closed: accept again if paused */
        if (s)
            gw_listen_fd_freed(s->listen);
        break;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        if (gw_listen_refused(wsi))
            return gw_listen_refuse_upgrade(wsi);
        break;
    default:
        break;
    }
    if (!pss) /* lws also reports on wsis without session data */
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        return ws_established(s, wsi, pss);
    case LWS_CALLBACK_RECEIVE:
        return pss->conn ? ws_receive(s, wsi, pss->conn, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return pss->conn ? ws_writeable(pss->conn) : 0;
    case LWS_CALLBACK_TIMER:
        return pss->conn ? ws_timer(wsi, pss->conn) : 0;
    case LWS_CALLBACK_CLOSED:
        ws_closed(s, pss);
        return 0;
    case LWS_CALLBACK_HTTP:
        return gw__http_begin(s, wsi, pss, in, len);
    case LWS_CALLBACK_HTTP_BODY:
        return gw__http_body(pss, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return gw__http_body_done(pss);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return gw__http_writeable(wsi, pss);
    case LWS_CALLBACK_CLOSED_HTTP:
        gw__http_closed(pss);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    {"herald", callback, sizeof(gw_pss), RX_BUFFER, 0, NULL, BATCH_MAX},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- activity sweep -------------------------------------------------- */

/* Pings connections that have been quiet for activity_timeout and closes
 * those that stayed quiet for pong_timeout after the ping. */
/* After a burst of handshakes has ended (many new connections since the
 * last trim, none since the last sweep), gives the heap's free pages back:
 * each handshake's header table (several KiB) is freed once the WebSocket
 * is up, and the holes left between the connections' small records would
 * otherwise stay resident. */
static void trim_after_burst(gw_server *s)
{
    bool quiet = s->next_socket == s->sweep_socket;
    s->sweep_socket = s->next_socket;
    if (quiet && s->next_socket - s->trim_socket >= TRIM_AFTER_CONNS) {
        s->trim_socket = s->next_socket;
        malloc_trim(0);
    }
}

static void sweep(uv_timer_t *t)
{
    gw_server *s = t->data;
    uint64_t now = hc_mono_ms();
    trim_after_burst(s);
    uint64_t idle = (uint64_t)s->cfg.activity_timeout * 1000;
    uint64_t grace = (uint64_t)s->cfg.pong_timeout * 1000;
    gw_limits_report(s->limits, now, report_conns, s);
    for (gw_conn *c = s->conns; c; c = c->next) {
        if (c->closing || gw_user_deadline(&c->pusher, now))
            continue;
        if (c->ping_ms && now - c->ping_ms >= grace) {
            hc_debug_ctx(c->pusher.app ? c->pusher.app->id : NULL, c->pusher.socket_id, NULL,
                         "no pong within %ld s; closing (4201)", s->cfg.pong_timeout);
            gw_pusher_fatal(&c->pusher, GW_PUSHER_PONG_MISSING, "Pong reply not received");
        } else if (!c->ping_ms && now - c->heard_ms >= idle) {
            gw_pusher_ping(&c->pusher);
            c->ping_ms = now;
        }
    }
}

/* ---- life cycle ------------------------------------------------------ */

static void lws_log_line(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    hc_log(level == LLL_ERR    ? HC_LOG_ERROR
           : level == LLL_WARN ? HC_LOG_WARN
                               : HC_LOG_DEBUG,
           "lws: %.*s", (int)n, line);
}

static uint64_t sweep_interval(const gw_server_config *cfg)
{
    uint64_t ms = (uint64_t)(cfg->activity_timeout < cfg->pong_timeout ? cfg->activity_timeout
                                                                       : cfg->pong_timeout) *
                  250;
    if (ms < 100)
        ms = 100;
    return ms > SWEEP_MAX_MS ? SWEEP_MAX_MS : ms;
}

/* Drives lws's staged destroy of a foreign-loop context to the end (see
 * gw_server_stop): each call frees a later stage; pcontext clears ctx. */
static void finish_destroy(gw_server *s)
{
    for (int i = 0; s->ctx && i < 4; i++) {
        lws_context_destroy(s->ctx);
        /* let lws's handle closes complete before the next stage: the
         * last one unloads the evlib plugin their callbacks live in */
        for (int j = 0; j < 3; j++)
            uv_run(s->loop, UV_RUN_NOWAIT);
    }
    if (s->ctx)
        hc_warn("lws context not fully destroyed at exit");
}

/* Creates the lws context and the one vhost. Returns false with err. */
static bool start_lws(gw_server *s, char *err, size_t errlen)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    void *loops[] = {s->loop};
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    if (s->cfg.tls) {
        /* the vhost's SSL_CTX gets its certificate from gw_tls in
         * LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS, so that
         * gw_tls can replace it later; HTTP/1.1 only (no h2 by ALPN) */
        info.options |=
            LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX;
        info.alpn = "http/1.1";
    }
    info.foreign_loops = loops;
    info.user = s;
    info.pcontext = &s->ctx;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        snprintf(err, errlen, "cannot start libwebsockets (is its libuv plugin installed?)");
        return false;
    }
    /* Herald listens and accepts itself (gw_listen: EMFILE pause,
     * per-address rate) and hands each socket to this vhost */
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = protocols;
    info.vhost_name = "herald";
    info.server_string = "herald";
    s->vhost = lws_create_vhost(s->ctx, &info);
    if (!s->vhost) {
        snprintf(err, errlen, "cannot start the libwebsockets vhost%s",
                 s->cfg.tls ? " (TLS certificate refused)" : "");
        finish_destroy(s);
        return false;
    }
    s->listen = gw_listen_new(s->loop, s->host, s->cfg.port, s->vhost, &s->connlimit,
                              s->cfg.tls != NULL, err, errlen);
    if (!s->listen) {
        finish_destroy(s);
        return false;
    }
    s->port = gw_listen_port(s->listen);
    return true;
}

static void sendbatch_stop(gw_server *s)
{
    gw_sendbatch_free(s->sendbatch);
    s->sendbatch = NULL;
    free(s->pend);
    free(s->pend_e);
    s->pend = NULL;
    s->pend_e = NULL;
    hc_sbuf_free(&s->arena);
}

/* The flush pass's batched sends (--io-uring): one log line and the
 * herald_send_batching gauge say which backend writes. */
static bool sendbatch_start(gw_server *s, const gw_server_config *cfg, char *err, size_t errlen)
{
    s->sendbatch = gw_sendbatch_new((gw_sendbatch_mode)cfg->send_batching, SUBMIT_MAX, err, errlen);
    if (!s->sendbatch)
        return false;
    bool uring = gw_sendbatch_uring(s->sendbatch);
    if (uring) {
        s->pend = hc_calloc(SUBMIT_MAX, sizeof(*s->pend));
        s->pend_e = hc_calloc(SUBMIT_MAX, sizeof(*s->pend_e));
        hc_info("write path: sends batched with io_uring (one submission per loop turn)");
    } else {
        hc_info("write path: one send() per connection, not batched (%s)",
                gw_sendbatch_why(s->sendbatch));
    }
    const char *v[1] = {"io_uring"};
    hc_metric_set(gw_m.send_batching, v, uring ? 1 : 0);
    v[0] = "send";
    hc_metric_set(gw_m.send_batching, v, uring ? 0 : 1);
    return true;
}

gw_server *gw_server_new(uv_loop_t *loop, const gw_server_config *cfg, const hc_apps *apps,
                         gw_link *link, char *err, size_t errlen)
{
    static const gw_subs_hooks hooks = {hook_wake, hook_overflow, hook_first, hook_last, hook_gap};
    gw_server *s = hc_calloc(1, sizeof(*s));
    if (!sendbatch_start(s, cfg, err, errlen)) {
        free(s);
        return NULL;
    }
    s->loop = loop;
    s->cfg = *cfg;
    s->host = hc_strdup(cfg->host ? cfg->host : "0.0.0.0");
    s->cfg.host = s->host;
    s->apps = apps;
    s->link = link;
    s->subs = gw_subs_new(&hooks, s, LWS_PRE);
    s->wh = gw_webhooks_new(loop, link, apps, s->subs, err, errlen);
    if (!s->wh) {
        gw_subs_free(s->subs);
        sendbatch_stop(s);
        free(s->host);
        free(s);
        return NULL;
    }
    s->limits = gw_limits_new();
    gw_connlimit_config lc = {cfg->conn_rate_per_ip, cfg->conn_burst_per_ip, cfg->max_http};
    gw_connlimit_init(&s->connlimit, &lc);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_line);
    if (!start_lws(s, err, errlen)) {
        gw_webhooks_free(s->wh);
        gw_connlimit_free(&s->connlimit);
        gw_subs_free(s->subs);
        gw_limits_free(s->limits);
        sendbatch_stop(s);
        free(s->host);
        free(s);
        return NULL;
    }
    gw_link_set_handler(link, on_broker_event, s);
    follow_conn_counts(s);
    s->rec = gw_recovery_new(s->subs, link, LWS_PRE);
    gw_recovery_on_cache_miss(s->rec, on_cache_miss, s);
    gw_presence_config pc = {cfg->gateway_id, cfg->presence_liveness_ms, presence_joined, s};
    s->presence = gw_presence_new(loop, link, s->subs, apps, &pc);
    s->rebal = gw__rebalancer_new(s);
    s->watch = gw_watchlist_new(s->subs, s->presence, link, s->rec, LWS_PRE);
    uv_idle_init(loop, &s->flush_idle);
    uv_check_init(loop, &s->flush_check);
    s->flush_idle.data = s->flush_check.data = s;
    s->flush_open = true;
    uv_timer_init(loop, &s->sweep);
    s->sweep.data = s;
    s->sweep_open = true;
    uint64_t every = sweep_interval(cfg);
    uv_timer_start(&s->sweep, sweep, every, every);
    return s;
}

int gw_server_port(const gw_server *s)
{
    return s->port;
}

/* ---- drain (SIGTERM), readiness, scrape-time gauges ------------------ */

/* xorshift64: jitter only, not security */
static uint64_t next_rand(gw_server *s)
{
    uint64_t x = s->rng ? s->rng : (0x9e3779b97f4a7c15ULL ^ s->cfg.gateway_num ^ uv_hrtime());
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s->rng = x;
    return x;
}

static void drain_finish(gw_server *s)
{
    if (s->drain_timer_open) {
        uv_timer_stop(&s->drain_timer);
        uv_close((uv_handle_t *)&s->drain_timer, NULL);
        s->drain_timer_open = false;
    }
    void (*done)(void *) = s->drain_done;
    s->drain_done = NULL;
    if (done)
        done(s->drain_ud);
}

/* Closes (4200) every connection whose moment has come; finishes when none
 * is left or the window (plus a grace for the last closes) is over. */
static void drain_step(uv_timer_t *t)
{
    gw_server *s = t->data;
    uint64_t now = hc_mono_ms();
    for (gw_conn *c = s->conns; c; c = c->next) {
        if (c->closing || c->drain_at_ms > now)
            continue;
        hc_metric_add(gw_m.drain_closes, NULL, 1);
        gw_pusher_fatal(&c->pusher, GW_PUSHER_RECONNECT, "Server draining: reconnect elsewhere");
    }
    if (s->nconns == 0 || now >= s->drain_end_ms + DRAIN_GRACE_MS) {
        hc_info("drain finished (%zu connection(s) left)", s->nconns);
        drain_finish(s);
    }
}

size_t gw__server_open_conns(gw_server *s)
{
    size_t n = 0;
    for (gw_conn *c = s->conns; c; c = c->next)
        n += c->counted && !c->closing;
    return n;
}

size_t gw__server_shed(gw_server *s, size_t n)
{
    gw_conn *c = s->conns; /* newest first: start from the oldest */
    while (c && c->next)
        c = c->next;
    size_t closed = 0;
    for (; c && closed < n; c = c->prev) {
        if (!c->counted || c->closing)
            continue;
        gw_pusher_fatal(&c->pusher, GW_PUSHER_RECONNECT, "Rebalancing: reconnect elsewhere");
        closed++;
    }
    return closed;
}

void gw_server_drain(gw_server *s, uint64_t window_ms, void (*done)(void *ud), void *ud)
{
    if (s->stopping || s->draining) {
        return;
    }
    s->draining = true;
    s->drain_done = done;
    s->drain_ud = ud;
    uint64_t now = hc_mono_ms();
    s->drain_end_ms = now + window_ms;
    for (gw_conn *c = s->conns; c; c = c->next)
        c->drain_at_ms = now + (window_ms ? next_rand(s) % (window_ms + 1) : 0);
    hc_info("draining: refusing new connections, closing %zu over %llu ms", s->nconns,
            (unsigned long long)window_ms);
    uv_timer_init(s->loop, &s->drain_timer);
    s->drain_timer.data = s;
    s->drain_timer_open = true;
    uv_timer_start(&s->drain_timer, drain_step, 0, DRAIN_TICK_MS);
}

bool gw_server_accepting(gw_server *s, char *why, size_t whylen)
{
    if (s->stopping || s->draining) {
        snprintf(why, whylen, "draining: not accepting new connections");
        return false;
    }
    return true;
}

bool gw_server_ready(gw_server *s, char *why, size_t whylen)
{
    if (!gw_server_accepting(s, why, whylen))
        return false;
    if (!s->link || !gw_link_ready(s->link)) {
        snprintf(why, whylen, "no broker link is up");
        return false;
    }
    return true;
}

void gw_server_collect(gw_server *s)
{
    hc_metric_reset(gw_m.subscriptions);
    for (gw_conn *c = s->conns; c; c = c->next)
        if (c->counted)
            hc_metric_add1(gw_m.subscriptions, c->pusher.app->id,
                           (double)gw_subscriber_count(&c->sub));
    hc_metric_set(gw_m.channels, NULL, (double)gw_subs_channel_count(s->subs));
    char why[128];
    hc_metric_set(gw_m.ready, NULL, gw_server_ready(s, why, sizeof(why)) ? 1 : 0);
    hc_metric_set(gw_m.draining, NULL, s->draining ? 1 : 0);
}

void gw_server_app_changed(gw_server *s, const hc_app *app, bool removed)
{
    gw_webhooks_app_changed(s->wh, app, removed);
    if (!removed && s->link && app->max_connections >= 0)
        gw_link_subscribe(s->link, app->id, GW_LIMITS_CHANNEL);
    if (!removed && app->enabled)
        return;
    size_t n = 0;
    for (gw_conn *c = s->conns; c; c = c->next) {
        if (c->pusher.app != app || c->closing || c->pusher.closed)
            continue;
        gw_pusher_fatal(&c->pusher, removed ? GW_PUSHER_APP_UNKNOWN : GW_PUSHER_APP_DISABLED,
                        removed ? "App removed: it no longer exists" : "App disabled");
        n++;
    }
    if (n)
        hc_info_ctx(app->id, NULL, NULL, "app %s: %zu connection(s) closed",
                    removed ? "removed" : "disabled", n);
}

/* Ends the drain: closes the sweep timer and starts lws's destroy. */
static void destroy_now(gw_server *s)
{
    if (s->drain_timer_open) {
        s->drain_done = NULL;
        drain_finish(s);
    }
    if (s->sweep_open) {
        uv_timer_stop(&s->sweep);
        uv_close((uv_handle_t *)&s->sweep, NULL);
        s->sweep_open = false;
    }
    if (s->ctx)
        lws_context_destroy(s->ctx);
    if (s->flush_open) { /* after lws closed its connections (and wrote) */
        s->flush_open = false;
        uv_close((uv_handle_t *)&s->flush_idle, NULL);
        uv_close((uv_handle_t *)&s->flush_check, NULL);
    }
    gw__http_detach_all(s);
}

static void drain_tick(uv_timer_t *t)
{
    gw_server *s = t->data;
    if (s->nconns && hc_mono_ms() < s->drain_deadline_ms)
        return;
    if (s->nconns)
        hc_info("closing %zu connection(s) that did not leave during the drain", s->nconns);
    destroy_now(s);
}

void gw_server_stop(gw_server *s)
{
    if (s->stopping)
        return;
    s->stopping = true;
    gw_listen_close(s->listen); /* no new connections */
    s->listen = NULL;
    /* the caller closes the link next: forget it now */
    gw_link_set_handler(s->link, NULL, NULL);
    gw_watchlist_free(s->watch);
    s->watch = NULL;
    gw_presence_stop(s->presence);
    s->presence = NULL;
    gw__rebalancer_free(s->rebal);
    s->rebal = NULL;
    gw_webhooks_free(s->wh);
    s->wh = NULL;
    s->link = NULL;
    gw_recovery_free(s->rec);
    s->rec = NULL;
    for (gw_conn *c = s->conns; c; c = c->next)
        gw_pusher_fatal(&c->pusher, GW_PUSHER_RECONNECT, "Server shutting down: reconnect");
    if (!s->nconns || !s->sweep_open) {
        destroy_now(s);
        return;
    }
    s->drain_deadline_ms = hc_mono_ms() + DRAIN_MAX_MS;
    uv_timer_start(&s->sweep, drain_tick, DRAIN_TICK_MS, DRAIN_TICK_MS);
}

void gw_server_free(gw_server *s)
{
    if (!s)
        return;
    finish_destroy(s);
    /* lws closed every connection on destroy; anything left is freed
     * here without callbacks */
    while (s->conns) {
        gw_pss fake = {s->conns, NULL};
        ws_closed(s, &fake);
    }
    s->link = NULL; /* may already be gone: leave it alone */
    gw__http_detach_all(s);
    gw_recovery_free(s->rec);
    gw_watchlist_free(s->watch);
    gw_subs_free(s->subs);
    gw_limits_free(s->limits);
    gw_connlimit_free(&s->connlimit);
    hc_sbuf_free(&s->batch);
    sendbatch_stop(s);
    free(s->host);
    free(s);
}
