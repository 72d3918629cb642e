/*
 * gw_link_tcp: the broker links over TCP + protobuf (gw_link interface).
 *
 * Owns one uv_tcp connection per configured broker (reconnected with
 * exponential backoff, 100 ms doubling to 5 s, +-20% jitter), the Hello /
 * Ping / Pong exchange (ping every 5 s, a link without a pong for 15 s is
 * closed), the table of channels with local interest and which broker each
 * is currently subscribed at, the choice of owner (hc_rendezvous_pick over
 * the configured "host:port" strings, alive = link up), re-homing when the
 * set of live links changes, and the publishes waiting for their
 * PublishAck. It does not know about connections or subscribers: Events go
 * to the handler gw_server installed. Created by gw_main; driven by
 * gw_server through gw_link.h. With "dns:NAME:PORT" the broker set comes
 * from gw_discovery.c instead, and changes: set_brokers() below adds links
 * and retires vanished ones (a slot's index stays fixed while in use).
 */
#include "gw_link.h"
#include "gw_link_replay.h"

#include "gw_discovery.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hc_clock.h"
#include "hc_frame.h"
#include "hc_log.h"
#include "hc_map.h"
#include "hc_mem.h"
#include "hc_rendezvous.h"
#include "hc_tlslink.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define PING_EVERY_MS 5000
#define PONG_DEADLINE_MS 15000
#define HELLO_DEADLINE_MS 5000
#define PUBLISH_DEADLINE_MS 10000 /* checked on the ping tick: fails within 15 s */
#define WIRE_VERSION 1
/* A re-homed channel stays subscribed at its old owner this long, so no
 * event falls between the old owner letting go and the new one's Redis
 * subscription taking effect; gw_subs drops the duplicates. */
#define REHOME_OVERLAP_MS 2000
/* Brokers one gateway can link to when they come from DNS. */
#define DISCOVERED_MAX 256

typedef struct tcp_link tcp_link;

/* WAIT (backoff) -> RESOLVING -> CONNECTING -> HELLO (connected, our Hello
 * sent, waiting for the broker's) -> UP (alive for ownership) */
typedef enum { ST_WAIT, ST_RESOLVING, ST_CONNECTING, ST_HELLO, ST_UP } link_state;

typedef struct pending_pub {
    gw_publish_cb cb;
    gw_call_cb call_cb; /* set instead of cb for a cluster call */
    void *ud;
    uint64_t request_id;
    uint64_t deadline_ms;
} pending_pub;

/* One configured broker and the link to it. */
typedef struct broker {
    tcp_link *tl;
    char *addr; /* "host:port" as configured: the rendezvous node name */
    char *host, *port;
    link_state st;
    uv_tcp_t *tcp;         /* current connection attempt or link; NULL when none */
    uv_getaddrinfo_t *gai; /* outstanding resolve, or NULL */
    uv_timer_t timer;      /* reconnect delay (WAIT) or ping tick (UP) */
    hc_frame_reader rd;
    uint64_t backoff_ms;
    uint64_t last_pong_ms;
    uint64_t nonce;
    hc_map pending;  /* request id (8 bytes) -> pending_pub* */
    hc_map replays;  /* request id (8 bytes) -> pending_replay* (gw_link_replay.c) */
    bool complained; /* "unreachable" / "lost" logged since last up */
    hc_tlslink *tls; /* the link's TLS session (--link-tls-ca), or NULL */
    bool retired;    /* no longer in DNS: no reconnect; slot reusable when idle */
} broker;

/* A channel with local interest and the broker it is subscribed at. */
typedef struct interest {
    char *app_id, *channel, *key; /* key: "<app_id>:<channel>" */
    int owner;                    /* broker index, -1 when none is up */
} interest;

/* An unsubscribe held back for REHOME_OVERLAP_MS after a re-home. */
typedef struct deferred_unsub {
    char *app_id, *channel, *key;
    int broker;
    uint64_t due_ms;
} deferred_unsub;

struct tcp_link {
    gw_link base;
    uv_loop_t *loop;
    char *node_id;
    broker *b;
    size_t n, cap;      /* cap > 0: slots for discovered brokers */
    gw_discovery *disc; /* with "dns:", else NULL */
    const char **names;
    bool *alive;
    hc_map interest; /* key -> interest* */
    deferred_unsub *deferred;
    size_t ndeferred, capdeferred;
    uv_timer_t overlap; /* fires when the first deferred unsubscribe is due */
    uint64_t next_req;
    uint64_t rng;
    SSL_CTX *tls_ctx; /* links over TLS (gw_link_tcp_set_tls), or NULL */
    char *tls_name;   /* name brokers' certificates must carry; NULL: each broker's host */
    bool closing;
    int closes_pending;   /* handles and resolves still to finish at close */
    void (*done)(void *); /* the close caller's callback */
    void *done_ud;
};

typedef struct write_req {
    uv_write_t req;
    hc_rbuf *buf;
} write_req;

static void start_connect(broker *b);
static void link_failed(broker *b, const char *why);

/* ---- small helpers ---------------------------------------------------- */

static uint64_t next_rand(tcp_link *tl)
{
    /* xorshift64*: jitter only, not security */
    tl->rng ^= tl->rng >> 12;
    tl->rng ^= tl->rng << 25;
    tl->rng ^= tl->rng >> 27;
    return tl->rng * 2685821657736338717ull;
}

/* backoff +-20% */
static uint64_t jittered(tcp_link *tl, uint64_t ms)
{
    uint64_t span = ms * 2 / 5; /* 40% */
    return ms - ms / 5 + (span ? next_rand(tl) % (span + 1) : 0);
}

static void write_done(uv_write_t *req, int status)
{
    write_req *w = (write_req *)req;
    hc_rbuf_unref(w->buf);
    if (status < 0 && status != UV_ECANCELED) {
        /* the handle is still open (a closed one cancels), so b is live */
        broker *b = req->data;
        if (b->tcp && (uv_stream_t *)b->tcp == req->handle)
            link_failed(b, uv_strerror(status));
    }
    free(w);
}

/* Writes rb (one reference, given to the write) on b's socket. */
static void write_wire(broker *b, hc_rbuf *rb)
{
    write_req *w = hc_calloc(1, sizeof(*w));
    w->buf = rb;
    w->req.data = b;
    uv_buf_t buf = uv_buf_init((char *)hc_rbuf_data(w->buf), (unsigned)w->buf->len);
    int rc = uv_write(&w->req, (uv_stream_t *)b->tcp, &buf, 1, write_done);
    if (rc < 0) {
        hc_rbuf_unref(w->buf);
        free(w);
        hc_warn("broker %s: write failed: %s", b->addr, uv_strerror(rc));
    }
}

/* TLS: writes the ciphertext the session has ready, if any. */
static void tls_flush(broker *b)
{
    hc_sbuf out = HC_SBUF_INIT;
    if (b->tls && b->tcp && hc_tlslink_take(b->tls, &out))
        write_wire(b, hc_rbuf_from(0, out.data, out.len));
    hc_sbuf_free(&out);
}

/* Sends f on b's link (which must be up). */
static void send_frame(broker *b, const Herald__Frame *f)
{
    hc_rbuf *rb = hc_wire_pack(f, 0);
    if (!b->tls) {
        write_wire(b, rb);
        return;
    }
    hc_tlslink_send(b->tls, hc_rbuf_data(rb), rb->len);
    hc_rbuf_unref(rb);
    tls_flush(b);
}

static void send_interest(broker *b, bool subscribe, const interest *in)
{
    Herald__Interest i = HERALD__INTEREST__INIT;
    i.app_id = in->app_id;
    i.channel = in->channel;
    Herald__Frame f = HERALD__FRAME__INIT;
    if (subscribe) {
        f.msg_case = HERALD__FRAME__MSG_SUBSCRIBE;
        f.subscribe = &i;
    } else {
        f.msg_case = HERALD__FRAME__MSG_UNSUBSCRIBE;
        f.unsubscribe = &i;
    }
    send_frame(b, &f);
}

/* ---- ownership --------------------------------------------------------- */

static int owner_of(tcp_link *tl, const char *key)
{
    for (size_t i = 0; i < tl->n; i++)
        tl->alive[i] = tl->b[i].st == ST_UP;
    return hc_rendezvous_pick(tl->names, tl->alive, tl->n, key, strlen(key));
}

static void overlap_fired(uv_timer_t *t);

/* Holds back the unsubscribe of in at broker `from` (see REHOME_OVERLAP_MS). */
static void defer_unsubscribe(tcp_link *tl, const interest *in, int from)
{
    if (tl->ndeferred == tl->capdeferred) {
        tl->capdeferred = tl->capdeferred ? tl->capdeferred * 2 : 16;
        tl->deferred = hc_realloc(tl->deferred, tl->capdeferred * sizeof(*tl->deferred));
    }
    deferred_unsub *d = &tl->deferred[tl->ndeferred++];
    d->app_id = hc_strdup(in->app_id);
    d->channel = hc_strdup(in->channel);
    d->key = hc_strdup(in->key);
    d->broker = from;
    d->due_ms = hc_mono_ms() + REHOME_OVERLAP_MS;
    if (!uv_is_active((uv_handle_t *)&tl->overlap))
        uv_timer_start(&tl->overlap, overlap_fired, REHOME_OVERLAP_MS, 0);
}

static void deferred_free(deferred_unsub *d)
{
    free(d->app_id);
    free(d->channel);
    free(d->key);
}

/* Sends the held-back unsubscribes that are due, unless the channel has
 * since come back to that broker. Entries are in due order. */
static void overlap_fired(uv_timer_t *t)
{
    tcp_link *tl = t->data;
    uint64_t now = hc_mono_ms();
    size_t done = 0;
    for (; done < tl->ndeferred && tl->deferred[done].due_ms <= now; done++) {
        deferred_unsub *d = &tl->deferred[done];
        interest *in = hc_map_get(&tl->interest, d->key, strlen(d->key));
        broker *b = &tl->b[d->broker];
        if ((!in || in->owner != d->broker) && b->st == ST_UP) {
            interest tmp = {d->app_id, d->channel, d->key, -1};
            send_interest(b, false, &tmp);
        }
        deferred_free(d);
    }
    memmove(tl->deferred, tl->deferred + done, (tl->ndeferred - done) * sizeof(*tl->deferred));
    tl->ndeferred -= done;
    if (tl->ndeferred)
        uv_timer_start(&tl->overlap, overlap_fired, tl->deferred[0].due_ms - now, 0);
}

/* Moves every channel whose owner changed: subscribe at the new owner,
 * and unsubscribe at the old one (if still up) after the overlap. Also
 * re-sends interest to a link that just came up, since its channels were
 * moved off it when it went down. */
static void rehome(tcp_link *tl)
{
    hc_map_iter it;
    hc_map_entry *e;
    size_t moved = 0;
    hc_map_iter_init(&it, &tl->interest);
    while ((e = hc_map_iter_next(&it))) {
        interest *in = e->value;
        int now = owner_of(tl, in->key);
        if (now == in->owner)
            continue;
        if (now >= 0)
            send_interest(&tl->b[now], true, in);
        if (now >= 0 && tl->base.on_rehome)
            tl->base.on_rehome(tl->base.on_rehome_ud, in->app_id, in->channel);
        if (in->owner >= 0 && tl->b[in->owner].st == ST_UP)
            defer_unsubscribe(tl, in, in->owner);
        in->owner = now;
        moved++;
    }
    if (moved)
        hc_info("re-homed %zu channel(s) after a broker link change", moved);
}

/* ---- publishes --------------------------------------------------------- */

static void fail_result(gw_publish_cb cb, void *ud, const char *why)
{
    gw_publish_result r = {false, why, "", 0};
    cb(ud, &r);
}

/* Fails a pending publish or cluster call. */
static void fail_pending_one(pending_pub *p, const char *why)
{
    if (p->call_cb)
        p->call_cb(p->ud, why, NULL, 0);
    else
        fail_result(p->cb, p->ud, why);
}

/* Fails every publish waiting on b (the link went away). */
static void fail_pending(broker *b, const char *why)
{
    size_t n = b->pending.count, i = 0;
    if (!n)
        return;
    pending_pub **all = hc_malloc(n * sizeof(*all));
    hc_map_iter it;
    hc_map_entry *e;
    hc_map_iter_init(&it, &b->pending);
    while ((e = hc_map_iter_next(&it)))
        all[i++] = e->value;
    hc_map_free(&b->pending);
    for (i = 0; i < n; i++) {
        fail_pending_one(all[i], why);
        free(all[i]);
    }
    free(all);
}

/* Fails the publishes on b whose acknowledgement is overdue. */
static void expire_pending(broker *b, uint64_t now)
{
    size_t n = 0, cap = b->pending.count;
    if (!cap)
        return;
    pending_pub **late = hc_malloc(cap * sizeof(*late));
    hc_map_iter it;
    hc_map_entry *e;
    hc_map_iter_init(&it, &b->pending);
    while ((e = hc_map_iter_next(&it))) {
        pending_pub *p = e->value;
        if (p->deadline_ms <= now)
            late[n++] = p;
    }
    for (size_t i = 0; i < n; i++)
        hc_map_del(&b->pending, &late[i]->request_id, sizeof(late[i]->request_id));
    if (n)
        hc_warn("broker link %s: %zu publish(es) not acknowledged within %d s", b->addr, n,
                PUBLISH_DEADLINE_MS / 1000);
    for (size_t i = 0; i < n; i++) {
        fail_pending_one(late[i], "the broker did not answer in time");
        free(late[i]);
    }
    free(late);
}

static void on_cluster_reply(broker *b, const Herald__ClusterReply *r)
{
    uint64_t id = r->request_id;
    pending_pub *p = hc_map_get(&b->pending, &id, sizeof(id));
    if (!p || !p->call_cb) {
        hc_debug("broker %s: reply for unknown call %" PRIu64, b->addr, id);
        return;
    }
    hc_map_del(&b->pending, &id, sizeof(id));
    if (r->ok)
        p->call_cb(p->ud, NULL, (const char *)r->json.data, r->json.len);
    else
        p->call_cb(p->ud, r->error && *r->error ? r->error : "the broker refused the call", NULL,
                   0);
    free(p);
}

static void on_ack(broker *b, const Herald__PublishAck *ack)
{
    uint64_t id = ack->request_id;
    pending_pub *p = hc_map_get(&b->pending, &id, sizeof(id));
    if (p && p->call_cb)
        p = NULL;
    else
        hc_map_del(&b->pending, &id, sizeof(id));
    if (!p) {
        hc_debug("broker %s: ack for unknown request %" PRIu64, b->addr, id);
        return;
    }
    gw_publish_result r = {ack->ok, ack->error, ack->epoch, ack->offset};
    if (!ack->ok && (!r.error || !*r.error))
        r.error = "the broker could not store the event";
    p->cb(p->ud, &r);
    free(p);
}

/* ---- link life cycle --------------------------------------------------- */

static void close_step(tcp_link *tl);

static void tcp_closed(uv_handle_t *h)
{
    tcp_link *tl = h->data;
    free(h);
    if (tl)
        close_step(tl);
}

/* Closes b's socket, if any. */
static void close_tcp(broker *b)
{
    hc_tlslink_free(b->tls);
    b->tls = NULL;
    if (!b->tcp)
        return;
    uv_handle_t *h = (uv_handle_t *)b->tcp;
    b->tcp = NULL;
    /* the close callback only frees; during shutdown it also counts */
    h->data = b->tl->closing ? (void *)b->tl : NULL;
    if (b->tl->closing)
        b->tl->closes_pending++;
    uv_close(h, tcp_closed);
}

static void timer_fired(uv_timer_t *t);

static void schedule_reconnect(broker *b)
{
    if (b->retired) {
        b->st = ST_WAIT;
        return;
    }
    uint64_t delay = jittered(b->tl, b->backoff_ms);
    b->backoff_ms = b->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b->backoff_ms * 2;
    b->st = ST_WAIT;
    uv_timer_start(&b->timer, timer_fired, delay, 0);
}

/* A connection attempt failed: log once until the next success, retry. */
static void attempt_failed(broker *b, const char *why)
{
    if (!b->complained)
        hc_warn("broker %s unreachable (%s); retrying with backoff", b->addr, why);
    else
        hc_debug("broker %s still unreachable (%s)", b->addr, why);
    b->complained = true;
    close_tcp(b);
    hc_frame_reader_free(&b->rd);
    hc_frame_reader_init(&b->rd, HC_FRAME_MAX_DEFAULT);
    schedule_reconnect(b);
}

/* The link went away after being up. */
static void drop(broker *b, const char *why)
{
    if (b->st != ST_UP)
        return;
    hc_warn("broker link %s lost (%s); reconnecting", b->addr, why);
    b->complained = true;
    b->st = ST_WAIT;
    close_tcp(b);
    hc_frame_reader_free(&b->rd);
    hc_frame_reader_init(&b->rd, HC_FRAME_MAX_DEFAULT);
    uv_timer_stop(&b->timer);
    b->backoff_ms = BACKOFF_MIN_MS;
    fail_pending(b, "the broker link was lost before the publish was acknowledged");
    gw__replays_fail(&b->replays, "the broker link was lost before the history was read");
    if (b->tl->closing)
        return;
    rehome(b->tl);
    schedule_reconnect(b);
}

/* The link or the attempt failed, whichever stage it was at. */
static void link_failed(broker *b, const char *why)
{
    if (b->st == ST_UP)
        drop(b, why);
    else if (b->st == ST_HELLO)
        attempt_failed(b, why);
}

static void send_hello(broker *b)
{
    Herald__Hello h = HERALD__HELLO__INIT;
    h.node_id = b->tl->node_id;
    h.version = WIRE_VERSION;
    Herald__Frame f = HERALD__FRAME__INIT;
    f.msg_case = HERALD__FRAME__MSG_HELLO;
    f.hello = &h;
    send_frame(b, &f);
}

static void send_ping(broker *b, bool pong, uint64_t nonce)
{
    Herald__Ping p = HERALD__PING__INIT;
    p.nonce = nonce;
    Herald__Frame f = HERALD__FRAME__INIT;
    f.msg_case = pong ? HERALD__FRAME__MSG_PONG : HERALD__FRAME__MSG_PING;
    if (pong)
        f.pong = &p;
    else
        f.ping = &p;
    send_frame(b, &f);
}

static void link_up(broker *b, const Herald__Hello *hello);

/* Handles one frame from b. Until the broker's Hello only that counts. */
static void on_frame(broker *b, const Herald__Frame *f)
{
    tcp_link *tl = b->tl;
    if (b->st != ST_UP && f->msg_case != HERALD__FRAME__MSG_HELLO) {
        hc_debug("broker link %s: frame type %d before Hello ignored", b->addr, (int)f->msg_case);
        return;
    }
    switch (f->msg_case) {
    case HERALD__FRAME__MSG_HELLO:
        if (b->st == ST_HELLO)
            link_up(b, f->hello);
        break;
    case HERALD__FRAME__MSG_EVENT:
        if (tl->base.on_event)
            tl->base.on_event(tl->base.on_event_ud, f->event);
        break;
    case HERALD__FRAME__MSG_PUBLISH_ACK:
        on_ack(b, f->publish_ack);
        break;
    case HERALD__FRAME__MSG_RESYNC:
        if (tl->base.on_rehome && f->resync->app_id && f->resync->channel)
            tl->base.on_rehome(tl->base.on_rehome_ud, f->resync->app_id, f->resync->channel);
        break;
    case HERALD__FRAME__MSG_REPLAY_RESPONSE:
        gw__replays_answer(&b->replays, f->replay_response);
        break;
    case HERALD__FRAME__MSG_CLUSTER_REPLY:
        on_cluster_reply(b, f->cluster_reply);
        break;
    case HERALD__FRAME__MSG_PING:
        send_ping(b, true, f->ping->nonce);
        break;
    case HERALD__FRAME__MSG_PONG:
        b->last_pong_ms = hc_mono_ms();
        break;
    default:
        hc_debug("broker link %s: ignoring frame type %d", b->addr, (int)f->msg_case);
        break;
    }
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    static char slab[64 * 1024];
    (void)suggested;
    *buf = uv_buf_init(slab, sizeof(slab));
}

/* TLS: decrypts what arrived into the frame reader and writes what the
 * handshake needs; false when the session failed (the link is failed). */
static bool tls_feed(broker *b, const char *in, size_t n)
{
    hc_sbuf plain = HC_SBUF_INIT;
    char err[256];
    bool was_ready = hc_tlslink_ready(b->tls);
    int rc = hc_tlslink_recv(b->tls, in, n, &plain, err, sizeof(err));
    tls_flush(b);
    if (rc < 0) {
        hc_sbuf_free(&plain);
        link_failed(b, err);
        return false;
    }
    if (!was_ready && hc_tlslink_ready(b->tls)) {
        char d[256];
        hc_tlslink_describe(b->tls, d, sizeof(d));
        hc_info("broker link %s: TLS verified (%s)", b->addr, d);
    }
    hc_frame_reader_feed(&b->rd, plain.data ? plain.data : "", plain.len);
    hc_sbuf_free(&plain);
    return true;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    broker *b = s->data;
    if (nread < 0) {
        link_failed(b, nread == UV_EOF ? "closed by the broker" : uv_strerror((int)nread));
        return;
    }
    if (b->tls) {
        if (!tls_feed(b, buf->base, (size_t)nread))
            return;
    } else {
        hc_frame_reader_feed(&b->rd, buf->base, (size_t)nread);
    }
    b->last_pong_ms = hc_mono_ms(); /* any traffic proves the link alive */
    for (;;) {
        const uint8_t *p;
        size_t len;
        hc_frame_status st = hc_frame_reader_next(&b->rd, &p, &len);
        if (st == HC_FRAME_NEED_MORE)
            break;
        Herald__Frame *f = st == HC_FRAME_OK ? hc_wire_unpack(p, len) : NULL;
        if (!f) {
            link_failed(b, "corrupt frame from the broker");
            return;
        }
        on_frame(b, f);
        herald__frame__free_unpacked(f, NULL);
        if ((b->st != ST_UP && b->st != ST_HELLO) || (uv_stream_t *)b->tcp != s)
            return; /* dropped while handling */
    }
}

/* Connected: say Hello and wait (HELLO_DEADLINE_MS) for the broker's. */
static void link_connected(broker *b)
{
    b->st = ST_HELLO;
    b->tcp->data = b;
    uv_read_start((uv_stream_t *)b->tcp, alloc_cb, read_cb);
    if (b->tl->tls_ctx) /* the Hello waits inside the session for the handshake */
        b->tls = hc_tlslink_new(b->tl->tls_ctx, false, b->tl->tls_name ? b->tl->tls_name : b->host);
    send_hello(b);
    uv_timer_start(&b->timer, timer_fired, HELLO_DEADLINE_MS, 0);
}

/* The broker said Hello: the link counts for ownership from now on. */
static void link_up(broker *b, const Herald__Hello *hello)
{
    b->st = ST_UP;
    b->backoff_ms = BACKOFF_MIN_MS;
    b->last_pong_ms = hc_mono_ms();
    uv_timer_start(&b->timer, timer_fired, PING_EVERY_MS, PING_EVERY_MS);
    hc_info("broker link %s up (broker %s, wire version %u)", b->addr, hello->node_id,
            hello->version);
    b->complained = false;
    rehome(b->tl);
}

static void connect_done(uv_connect_t *req, int status)
{
    broker *b = req->data;
    uv_stream_t *h = req->handle;
    free(req);
    if (status == UV_ECANCELED || !b->tcp || (uv_stream_t *)b->tcp != h)
        return; /* a handle we already gave up on */
    if (status < 0)
        attempt_failed(b, uv_strerror(status));
    else
        link_connected(b);
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    broker *b = req->data;
    tcp_link *tl = b->tl;
    free(req);
    b->gai = NULL;
    if (tl->closing || b->retired) {
        if (res)
            uv_freeaddrinfo(res);
        if (tl->closing)
            close_step(tl);
        return;
    }
    if (status < 0) {
        attempt_failed(b, uv_strerror(status));
        return;
    }
    b->tcp = hc_calloc(1, sizeof(*b->tcp));
    uv_tcp_init(tl->loop, b->tcp);
    uv_tcp_nodelay(b->tcp, 1);
    uv_connect_t *c = hc_calloc(1, sizeof(*c));
    c->data = b;
    int rc = uv_tcp_connect(c, b->tcp, res->ai_addr, connect_done);
    uv_freeaddrinfo(res);
    if (rc < 0) {
        free(c);
        attempt_failed(b, uv_strerror(rc));
        return;
    }
    b->st = ST_CONNECTING;
}

static void start_connect(broker *b)
{
    struct addrinfo hints = {0};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    b->gai = hc_calloc(1, sizeof(*b->gai));
    b->gai->data = b;
    b->st = ST_RESOLVING;
    int rc = uv_getaddrinfo(b->tl->loop, b->gai, resolved, b->host, b->port, &hints);
    if (rc < 0) {
        free(b->gai);
        b->gai = NULL;
        attempt_failed(b, uv_strerror(rc));
    }
}

static void timer_fired(uv_timer_t *t)
{
    broker *b = t->data;
    if (b->st == ST_WAIT) {
        start_connect(b);
        return;
    }
    if (b->st == ST_HELLO) {
        attempt_failed(b, "no Hello from the broker within 5 s");
        return;
    }
    if (b->st != ST_UP)
        return;
    uint64_t now = hc_mono_ms();
    if (now - b->last_pong_ms > PONG_DEADLINE_MS) {
        drop(b, "no pong for 15 s");
        return;
    }
    expire_pending(b, now);
    gw__replays_expire(&b->replays, now);
    send_ping(b, false, ++b->nonce);
}

/* ---- gw_link ops ------------------------------------------------------- */

static char *interest_key(const char *app_id, const char *channel)
{
    size_t a = strlen(app_id), c = strlen(channel);
    char *k = hc_malloc(a + 1 + c + 1);
    memcpy(k, app_id, a);
    k[a] = ':';
    memcpy(k + a + 1, channel, c + 1);
    return k;
}

static void op_subscribe(gw_link *l, const char *app_id, const char *channel)
{
    tcp_link *tl = (tcp_link *)l;
    char *key = interest_key(app_id, channel);
    if (tl->closing || hc_map_get(&tl->interest, key, strlen(key))) {
        free(key);
        return;
    }
    interest *in = hc_calloc(1, sizeof(*in));
    in->app_id = hc_strdup(app_id);
    in->channel = hc_strdup(channel);
    in->key = key;
    in->owner = owner_of(tl, key);
    hc_map_put(&tl->interest, key, strlen(key), in);
    if (in->owner >= 0)
        send_interest(&tl->b[in->owner], true, in);
}

static void interest_free(interest *in)
{
    free(in->app_id);
    free(in->channel);
    free(in->key);
    free(in);
}

static void op_unsubscribe(gw_link *l, const char *app_id, const char *channel)
{
    tcp_link *tl = (tcp_link *)l;
    char *key = interest_key(app_id, channel);
    interest *in = hc_map_del(&tl->interest, key, strlen(key));
    free(key);
    if (!in)
        return;
    if (in->owner >= 0 && tl->b[in->owner].st == ST_UP)
        send_interest(&tl->b[in->owner], false, in);
    interest_free(in);
}

static void op_publish(gw_link *l, const gw_publish *p, gw_publish_cb cb, void *ud)
{
    tcp_link *tl = (tcp_link *)l;
    char *key = interest_key(p->app_id, p->channel);
    int owner = tl->closing ? -1 : owner_of(tl, key);
    free(key);
    if (owner < 0) {
        fail_result(cb, ud, "no broker is reachable");
        return;
    }
    broker *b = &tl->b[owner];
    Herald__Publish pub = HERALD__PUBLISH__INIT;
    pub.request_id = ++tl->next_req;
    pub.app_id = (char *)p->app_id;
    pub.channel = (char *)p->channel;
    pub.name = (char *)p->name;
    pub.data.data = (uint8_t *)p->data;
    pub.data.len = p->data_len;
    pub.socket_id = (char *)(p->socket_id ? p->socket_id : "");
    pub.user_id = (char *)(p->user_id ? p->user_id : "");
    pub.history_size = p->history_size;
    pub.history_ttl = p->history_ttl;
    pending_pub *pp = hc_calloc(1, sizeof(*pp));
    pp->cb = cb;
    pp->ud = ud;
    pp->request_id = pub.request_id;
    pp->deadline_ms = hc_mono_ms() + PUBLISH_DEADLINE_MS;
    hc_map_put(&b->pending, &pub.request_id, sizeof(pub.request_id), pp);
    Herald__Frame f = HERALD__FRAME__INIT;
    f.msg_case = HERALD__FRAME__MSG_PUBLISH;
    f.publish = &pub;
    send_frame(b, &f);
}

static void op_call(gw_link *l, Herald__ClusterCall *call, gw_call_cb cb, void *ud)
{
    tcp_link *tl = (tcp_link *)l;
    char *key = call->channel && call->channel[0]
                    ? interest_key(call->app_id ? call->app_id : "", call->channel)
                    : hc_strdup(call->gateway_id ? call->gateway_id : "");
    int owner = tl->closing ? -1 : owner_of(tl, key);
    free(key);
    if (owner < 0) {
        cb(ud, "no broker is reachable", NULL, 0);
        return;
    }
    broker *b = &tl->b[owner];
    call->request_id = ++tl->next_req;
    pending_pub *pp = hc_calloc(1, sizeof(*pp));
    pp->call_cb = cb;
    pp->ud = ud;
    pp->request_id = call->request_id;
    pp->deadline_ms = hc_mono_ms() + PUBLISH_DEADLINE_MS;
    hc_map_put(&b->pending, &call->request_id, sizeof(call->request_id), pp);
    Herald__Frame f = HERALD__FRAME__INIT;
    f.msg_case = HERALD__FRAME__MSG_CLUSTER_CALL;
    f.cluster_call = call;
    send_frame(b, &f);
}

static bool op_ready(gw_link *l)
{
    tcp_link *tl = (tcp_link *)l;
    for (size_t i = 0; i < tl->n; i++)
        if (tl->b[i].st == ST_UP)
            return true;
    return false;
}

/* Frees everything; calls the close caller's done last. */
static void link_free(tcp_link *tl)
{
    void (*done)(void *) = tl->done;
    void *done_ud = tl->done_ud;
    hc_map_iter it;
    hc_map_entry *e;
    hc_map_iter_init(&it, &tl->interest);
    while ((e = hc_map_iter_next(&it)))
        interest_free(e->value);
    hc_map_free(&tl->interest);
    for (size_t i = 0; i < tl->ndeferred; i++)
        deferred_free(&tl->deferred[i]);
    free(tl->deferred);
    for (size_t i = 0; i < tl->n; i++) {
        broker *b = &tl->b[i];
        hc_frame_reader_free(&b->rd);
        hc_map_free(&b->pending);
        hc_map_free(&b->replays);
        free(b->addr);
        free(b->host);
        free(b->port);
    }
    free(tl->b);
    free(tl->names);
    free(tl->alive);
    free(tl->node_id);
    SSL_CTX_free(tl->tls_ctx);
    free(tl->tls_name);
    free(tl);
    if (done)
        done(done_ud);
}

/* One of the closes issued by op_close finished. */
static void close_step(tcp_link *tl)
{
    if (--tl->closes_pending == 0)
        link_free(tl);
}

static void timer_closed(uv_handle_t *h)
{
    broker *b = h->data;
    close_step(b->tl);
}

static void overlap_closed(uv_handle_t *h)
{
    close_step(h->data);
}

static void discovery_stopped(void *ud)
{
    close_step(ud);
}

static void op_close(gw_link *l, void (*done)(void *ud), void *ud)
{
    tcp_link *tl = (tcp_link *)l;
    tl->closing = true;
    tl->done = done;
    tl->done_ud = ud;
    tl->base.on_event = NULL;
    tl->closes_pending = 1; /* held until every close below is issued */
    for (size_t i = 0; i < tl->n; i++) {
        broker *b = &tl->b[i];
        b->st = ST_WAIT;
        fail_pending(b, "the gateway is shutting down");
        gw__replays_fail(&b->replays, "the gateway is shutting down");
        close_tcp(b);
        if (b->gai) {
            tl->closes_pending++;
            uv_cancel((uv_req_t *)b->gai);
        }
        tl->closes_pending++;
        uv_close((uv_handle_t *)&b->timer, timer_closed);
    }
    tl->closes_pending++;
    uv_close((uv_handle_t *)&tl->overlap, overlap_closed);
    if (tl->disc) {
        tl->closes_pending++;
        gw_discovery_stop(tl->disc, discovery_stopped, tl);
        tl->disc = NULL;
    }
    close_step(tl);
}

static void op_replay(gw_link *l, const gw_replay_req *r, gw_replay_cb cb, void *ud)
{
    tcp_link *tl = (tcp_link *)l;
    char *key = interest_key(r->app_id, r->channel);
    int owner = tl->closing ? -1 : owner_of(tl, key);
    free(key);
    if (owner < 0) {
        gw__replay_fail(cb, ud, "no broker is reachable");
        return;
    }
    broker *b = &tl->b[owner];
    Herald__Frame f = HERALD__FRAME__INIT;
    Herald__ReplayRequest req = HERALD__REPLAY_REQUEST__INIT;
    gw__replays_add(&b->replays, &req, ++tl->next_req, r, cb, ud);
    f.msg_case = HERALD__FRAME__MSG_REPLAY_REQUEST;
    f.replay_request = &req;
    send_frame(b, &f);
}

static const gw_link_ops tcp_ops = {
    .subscribe = op_subscribe,
    .unsubscribe = op_unsubscribe,
    .publish = op_publish,
    .ready = op_ready,
    .close = op_close,
    .replay = op_replay,
    .call = op_call,
};

/* Splits "host:port" (host may be [v6]) into new strings. */
static bool split_addr(const char *a, char **host, char **port)
{
    const char *colon = strrchr(a, ':');
    if (!colon || colon == a || !colon[1])
        return false;
    const char *h = a, *he = colon;
    if (*h == '[' && he[-1] == ']')
        h++, he--;
    if (he <= h)
        return false;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p <= 0 || p > 65535)
        return false;
    *host = hc_strndup(h, (size_t)(he - h));
    *port = hc_strdup(colon + 1);
    return true;
}

/* Parses the comma-separated list into tl->b. Returns false with err. */
static bool parse_brokers(tcp_link *tl, const char *csv, char *err, size_t errlen)
{
    char *copy = hc_strdup(csv), *save = NULL;
    size_t cap = 4;
    tl->b = hc_calloc(cap, sizeof(*tl->b));
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t len = strlen(tok);
        while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
            tok[--len] = '\0';
        if (!len)
            continue;
        if (tl->n == cap)
            tl->b = hc_realloc(tl->b, (cap *= 2) * sizeof(*tl->b));
        broker *b = &tl->b[tl->n];
        memset(b, 0, sizeof(*b));
        if (!split_addr(tok, &b->host, &b->port)) {
            snprintf(err, errlen, "invalid broker address '%s' (expected host:port)", tok);
            free(copy);
            return false;
        }
        b->addr = hc_strdup(tok);
        tl->n++;
    }
    free(copy);
    if (!tl->n) {
        snprintf(err, errlen, "no broker address given (expected host:port[,host:port...])");
        return false;
    }
    return true;
}

/* ---- discovered brokers (gw_discovery.c) ------------------------------ */

/* Takes b out of the set: no reconnect, its publishes fail, its held-back
 * unsubscribes are dropped. Returns true if it was up (channels move). */
static bool retire(broker *b)
{
    tcp_link *tl = b->tl;
    bool was_up = b->st == ST_UP;
    int idx = (int)(b - tl->b);
    hc_info("broker %s is no longer listed; closing its link", b->addr);
    b->retired = true;
    b->st = ST_WAIT;
    uv_timer_stop(&b->timer);
    close_tcp(b);
    if (b->gai)
        uv_cancel((uv_req_t *)b->gai); /* resolved() sees retired and stops */
    hc_frame_reader_free(&b->rd);
    hc_frame_reader_init(&b->rd, HC_FRAME_MAX_DEFAULT);
    fail_pending(b, "the broker left the cluster before acknowledging the publish");
    size_t keep = 0;
    for (size_t i = 0; i < tl->ndeferred; i++) {
        if (tl->deferred[i].broker == idx)
            deferred_free(&tl->deferred[i]);
        else
            tl->deferred[keep++] = tl->deferred[i];
    }
    tl->ndeferred = keep;
    return was_up;
}

/* Gives slot b (the next unused one, or a retired idle one) the address
 * addr and starts linking. */
static void assign(tcp_link *tl, broker *b, const char *addr)
{
    char *host, *port;
    if (!split_addr(addr, &host, &port))
        return; /* gw_discovery_format always writes host:port */
    if (b == &tl->b[tl->n]) {
        memset(b, 0, sizeof(*b));
        b->tl = tl;
        hc_frame_reader_init(&b->rd, HC_FRAME_MAX_DEFAULT);
        uv_timer_init(tl->loop, &b->timer);
        b->timer.data = b;
        tl->n++;
    } else {
        free(b->addr);
        free(b->host);
        free(b->port);
    }
    b->addr = hc_strdup(addr);
    b->host = host;
    b->port = port;
    tl->names[b - tl->b] = b->addr;
    b->retired = false;
    b->complained = false;
    b->backoff_ms = BACKOFF_MIN_MS;
    hc_info("broker %s discovered; linking", addr);
    start_connect(b);
}

static int cmp_addr(const void *key, const void *elem)
{
    return strcmp(*(const char *const *)key, *(const char *const *)elem);
}

/* gw_discovery's callback: the brokers are now addrs[0..n) (sorted). */
static void set_brokers(void *ud, const char *const *addrs, size_t n)
{
    tcp_link *tl = ud;
    bool moved = false;
    for (size_t i = 0; i < tl->n; i++) {
        broker *b = &tl->b[i];
        if (!b->retired && !bsearch(&b->addr, addrs, n, sizeof(*addrs), cmp_addr))
            moved |= retire(b);
    }
    for (size_t j = 0; j < n; j++) {
        broker *slot = NULL;
        bool have = false;
        for (size_t i = 0; i < tl->n && !have; i++) {
            broker *b = &tl->b[i];
            if (!b->retired && strcmp(b->addr, addrs[j]) == 0)
                have = true;
            else if (!slot && b->retired && !b->tcp && !b->gai)
                slot = b;
        }
        if (have)
            continue;
        if (!slot && tl->n < tl->cap)
            slot = &tl->b[tl->n];
        if (!slot) {
            hc_warn("more than %d brokers listed; ignoring %s", DISCOVERED_MAX, addrs[j]);
            continue;
        }
        assign(tl, slot, addrs[j]);
    }
    if (moved)
        rehome(tl);
}

gw_link *gw_link_tcp_new(uv_loop_t *loop, const char *brokers_csv, unsigned refresh_s,
                         const char *node_id, char *err, size_t errlen)
{
    tcp_link *tl = hc_calloc(1, sizeof(*tl));
    tl->base.ops = &tcp_ops;
    tl->loop = loop;
    tl->node_id = hc_strdup(node_id);
    tl->rng = hc_mono_ms() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)tl;
    if (!tl->rng)
        tl->rng = 1;
    char *dns_host = NULL, *dns_port = NULL;
    int dns = gw_discovery_parse(brokers_csv, &dns_host, &dns_port, err, errlen);
    if (dns > 0) {
        uv_timer_init(loop, &tl->overlap);
        tl->overlap.data = tl;
        tl->cap = DISCOVERED_MAX;
        tl->b = hc_calloc(tl->cap, sizeof(*tl->b));
        tl->names = hc_calloc(tl->cap, sizeof(*tl->names));
        tl->alive = hc_calloc(tl->cap, sizeof(*tl->alive));
        tl->disc = gw_discovery_start(loop, dns_host, dns_port, refresh_s, set_brokers, tl);
        free(dns_host);
        free(dns_port);
        return &tl->base;
    }
    if (dns < 0 || !parse_brokers(tl, brokers_csv ? brokers_csv : "", err, errlen)) {
        for (size_t i = 0; i < tl->n; i++) {
            free(tl->b[i].addr);
            free(tl->b[i].host);
            free(tl->b[i].port);
        }
        free(tl->b);
        free(tl->node_id);
        free(tl);
        return NULL;
    }
    uv_timer_init(loop, &tl->overlap);
    tl->overlap.data = tl;
    tl->names = hc_calloc(tl->n, sizeof(*tl->names));
    tl->alive = hc_calloc(tl->n, sizeof(*tl->alive));
    for (size_t i = 0; i < tl->n; i++) {
        broker *b = &tl->b[i];
        b->tl = tl;
        tl->names[i] = b->addr;
        b->backoff_ms = BACKOFF_MIN_MS;
        hc_frame_reader_init(&b->rd, HC_FRAME_MAX_DEFAULT);
        uv_timer_init(loop, &b->timer);
        b->timer.data = b;
        start_connect(b);
    }
    return &tl->base;
}

void gw_link_tcp_report(gw_link *l, void (*fn)(void *ud, const char *broker, bool up), void *ud)
{
    tcp_link *tl = (tcp_link *)l;
    for (size_t i = 0; i < tl->n; i++)
        fn(ud, tl->b[i].addr, tl->b[i].st == ST_UP);
}

void gw_link_tcp_set_tls(gw_link *l, SSL_CTX *ctx, const char *name)
{
    tcp_link *tl = (tcp_link *)l;
    SSL_CTX_free(tl->tls_ctx);
    free(tl->tls_name);
    tl->tls_ctx = ctx;
    tl->tls_name = name && name[0] ? hc_strdup(name) : NULL;
}
