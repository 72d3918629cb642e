/*
 * br_server: TCP listener and gateway links (see br_server.h).
 *
 * Owns the listener, the links (each: socket, frame reader, output queue,
 * its br_core_link) and one idle handle that flushes every link's queued
 * frames once per loop iteration as a single vectored uv_write, so a burst
 * of events costs one syscall per link, not one per event. A queued frame
 * is a reference to the hc_rbuf the core encoded once; the reference is
 * dropped in the write callback. Links are removed from the core in their
 * close callback, never while the core is fanning out.
 */
#include "br_server.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "br_replay.h"
#include "hc_frame.h"
#include "hc_log.h"
#include "hc_mem.h"
#include "hc_tlslink.h"

#define BR_READ_BUF (64 * 1024)
#define BR_WRITE_MAX_BUFS 1024
#define BR_WIRE_VERSION 1

typedef struct br_link br_link;

struct br_link {
    br_server *srv;
    uv_tcp_t tcp;
    hc_frame_reader reader;
    br_core_link *cl;
    char peer[64];  /* address, for logs */
    char *node_id;  /* from the gateway's Hello; NULL before */
    hc_rbuf **outq; /* frames not yet handed to uv_write */
    size_t outn, outcap;
    size_t queued_bytes; /* outq + writes in flight, frame_cost() each */
    hc_tlslink *tls;     /* the link's TLS session (--tls-cert), or NULL */
    bool closing;
    br_link *prev, *next; /* in srv->links */
};

/* What one queued frame costs beyond its bytes: its slot in the queue and
 * in a write, and (for a frame made for this link alone, like a pong) the
 * buffer header and the allocator's own. Counted against --link-queue-max
 * so that a peer sending tiny requests and never reading (a ping flood)
 * is cut off at about that much memory, not ten times more. */
#define BR_FRAME_OVERHEAD (sizeof(hc_rbuf) + sizeof(hc_rbuf *) + sizeof(uv_buf_t) + 16)

static size_t frame_cost(const hc_rbuf *b)
{
    return b->len + BR_FRAME_OVERHEAD;
}

/* One vectored write in flight: the frames it holds references to. */
typedef struct br_write {
    uv_write_t req;
    br_link *link;
    size_t n;
    size_t bytes;
    hc_rbuf *bufs[];
} br_write;

struct br_server {
    uv_loop_t *loop;
    br_core *core;
    uv_tcp_t listener;
    uv_idle_t flusher;
    char *node_id;
    size_t max_queue;
    SSL_CTX *tls; /* borrowed; NULL: plain TCP links */
    br_link *links;
    int open_handles;
    bool closing;
    bool deaf; /* listener closed (br_server_stop_listening or close) */
    void (*done)(void *);
    void *done_arg;
    char rbuf[BR_READ_BUF]; /* shared read buffer: the reader copies */
};

static void server_unref(br_server *srv);

/* ---- closing ----------------------------------------------------------- */

static const char *link_name(const br_link *l)
{
    return l->node_id ? l->node_id : l->peer;
}

static void on_link_closed(uv_handle_t *h)
{
    br_link *l = h->data;
    br_server *srv = l->srv;
    br_core_link_remove(srv->core, l->cl);
    for (size_t i = 0; i < l->outn; i++)
        hc_rbuf_unref(l->outq[i]);
    free(l->outq);
    hc_frame_reader_free(&l->reader);
    hc_tlslink_free(l->tls);
    if (l->prev)
        l->prev->next = l->next;
    else
        srv->links = l->next;
    if (l->next)
        l->next->prev = l->prev;
    free(l->node_id);
    free(l);
    server_unref(srv);
}

/* Starts closing l (safe anywhere, including inside a core fan-out): the
 * socket closes now, the core forgets the link in the close callback. */
static void link_close(br_link *l, hc_log_level level, const char *why)
{
    if (l->closing)
        return;
    l->closing = true;
    hc_log(level, "gateway link %s closed: %s", link_name(l), why);
    uv_read_stop((uv_stream_t *)&l->tcp);
    uv_close((uv_handle_t *)&l->tcp, on_link_closed);
}

/* ---- writing ------------------------------------------------------------ */

static void on_written(uv_write_t *req, int status)
{
    br_write *w = (br_write *)req;
    br_link *l = w->link;
    for (size_t i = 0; i < w->n; i++)
        hc_rbuf_unref(w->bufs[i]);
    l->queued_bytes -= w->bytes;
    free(w);
    if (status < 0 && status != UV_ECANCELED)
        link_close(l, HC_LOG_INFO, uv_strerror(status));
}

/* TLS: writes the ciphertext the session has ready as one uv_write. */
static void link_tls_flush(br_link *l)
{
    hc_sbuf out = HC_SBUF_INIT;
    if (l->closing || !hc_tlslink_take(l->tls, &out)) {
        hc_sbuf_free(&out);
        return;
    }
    br_write *w = hc_malloc(sizeof(*w) + sizeof(hc_rbuf *));
    w->link = l;
    w->n = 1;
    w->bufs[0] = hc_rbuf_from(0, out.data, out.len);
    w->bytes = out.len;
    hc_sbuf_free(&out);
    l->queued_bytes += w->bytes;
    uv_buf_t iov = uv_buf_init((char *)hc_rbuf_data(w->bufs[0]), (unsigned)w->bytes);
    int rc = uv_write(&w->req, (uv_stream_t *)&l->tcp, &iov, 1, on_written);
    if (rc < 0) {
        hc_rbuf_unref(w->bufs[0]);
        l->queued_bytes -= w->bytes;
        free(w);
        link_close(l, HC_LOG_INFO, uv_strerror(rc));
    }
}

/* TLS: encrypts every queued frame into the session, then writes. */
static void link_flush_tls(br_link *l)
{
    for (size_t i = 0; i < l->outn; i++) {
        hc_rbuf *b = l->outq[i];
        hc_tlslink_send(l->tls, hc_rbuf_data(b), b->len);
        l->queued_bytes -= frame_cost(b);
        hc_rbuf_unref(b);
    }
    l->outn = 0;
    link_tls_flush(l);
}

/* Hands up to BR_WRITE_MAX_BUFS queued frames to one uv_write. */
static void link_flush_some(br_link *l)
{
    if (l->tls) {
        link_flush_tls(l);
        return;
    }
    size_t n = l->outn < BR_WRITE_MAX_BUFS ? l->outn : BR_WRITE_MAX_BUFS;
    br_write *w = hc_malloc(sizeof(*w) + n * sizeof(hc_rbuf *));
    uv_buf_t iov[BR_WRITE_MAX_BUFS];
    w->link = l;
    w->n = n;
    w->bytes = 0;
    for (size_t i = 0; i < n; i++) {
        hc_rbuf *b = l->outq[i];
        w->bufs[i] = b;
        iov[i] = uv_buf_init((char *)hc_rbuf_data(b), (unsigned)b->len);
        w->bytes += frame_cost(b);
    }
    memmove(l->outq, l->outq + n, (l->outn - n) * sizeof(*l->outq));
    l->outn -= n;
    int rc = uv_write(&w->req, (uv_stream_t *)&l->tcp, iov, (unsigned)n, on_written);
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            hc_rbuf_unref(w->bufs[i]);
        l->queued_bytes -= w->bytes;
        free(w);
        link_close(l, HC_LOG_INFO, uv_strerror(rc));
    }
}

static void on_flush(uv_idle_t *h)
{
    br_server *srv = h->data;
    uv_idle_stop(h);
    for (br_link *l = srv->links; l; l = l->next)
        while (!l->closing && l->outn)
            link_flush_some(l);
}

/* br_link_send_fn: queues a reference to frame on the link. */
static void link_send(void *ctx, hc_rbuf *frame)
{
    br_link *l = ctx;
    br_server *srv = l->srv;
    if (l->closing)
        return;
    if (l->queued_bytes > 0 && l->queued_bytes + frame_cost(frame) > srv->max_queue) {
        char why[128];
        snprintf(why, sizeof(why), "output queue over %zu bytes (gateway too slow)",
                 srv->max_queue);
        link_close(l, HC_LOG_WARN, why);
        return;
    }
    if (l->outn == l->outcap) {
        l->outcap = l->outcap ? l->outcap * 2 : 16;
        l->outq = hc_realloc(l->outq, l->outcap * sizeof(*l->outq));
    }
    l->outq[l->outn++] = hc_rbuf_ref(frame);
    l->queued_bytes += frame_cost(frame);
    if (!uv_is_active((uv_handle_t *)&srv->flusher))
        uv_idle_start(&srv->flusher, on_flush);
}

/* Packs f and queues it on l. */
static void link_send_frame(br_link *l, const Herald__Frame *f)
{
    hc_rbuf *b = hc_wire_pack(f, 0);
    link_send(l, b);
    hc_rbuf_unref(b);
}

/* ---- reading ------------------------------------------------------------ */

static void on_hello(br_link *l, const Herald__Hello *h)
{
    free(l->node_id);
    l->node_id = hc_strdup(h->node_id && h->node_id[0] ? h->node_id : l->peer);
    if (h->version != BR_WIRE_VERSION)
        hc_warn("gateway %s speaks wire version %u, this broker %u", l->node_id, h->version,
                BR_WIRE_VERSION);
    hc_info("gateway %s linked from %s", l->node_id, l->peer);
}

static bool interest_ok(br_link *l, const Herald__Interest *in)
{
    if (in->app_id && in->app_id[0] && in->channel && in->channel[0])
        return true;
    hc_debug("gateway %s: interest without app_id or channel ignored", link_name(l));
    return false;
}

static void on_ping(br_link *l, const Herald__Ping *p)
{
    Herald__Ping pong = HERALD__PING__INIT;
    pong.nonce = p->nonce;
    Herald__Frame f = HERALD__FRAME__INIT;
    f.msg_case = HERALD__FRAME__MSG_PONG;
    f.pong = &pong;
    link_send_frame(l, &f);
}

static void dispatch(br_link *l, const Herald__Frame *f)
{
    br_core *core = l->srv->core;
    switch (f->msg_case) {
    case HERALD__FRAME__MSG_HELLO:
        on_hello(l, f->hello);
        break;
    case HERALD__FRAME__MSG_SUBSCRIBE:
        if (interest_ok(l, f->subscribe))
            br_core_subscribe(core, l->cl, f->subscribe->app_id, f->subscribe->channel);
        break;
    case HERALD__FRAME__MSG_UNSUBSCRIBE:
        if (interest_ok(l, f->unsubscribe))
            br_core_unsubscribe(core, l->cl, f->unsubscribe->app_id, f->unsubscribe->channel);
        break;
    case HERALD__FRAME__MSG_PUBLISH:
        br_core_publish(core, l->cl, f->publish);
        break;
    case HERALD__FRAME__MSG_REPLAY_REQUEST:
        br_core_replay(core, l->cl, f->replay_request);
        break;
    case HERALD__FRAME__MSG_CLUSTER_CALL:
        br_core_cluster_call(core, l->cl, f->cluster_call);
        break;
    case HERALD__FRAME__MSG_PING:
        on_ping(l, f->ping);
        break;
    case HERALD__FRAME__MSG_PONG:
        break;
    default:
        hc_debug("gateway %s: unexpected frame %d ignored", link_name(l), (int)f->msg_case);
        break;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    br_link *l = h->data;
    *buf = uv_buf_init(l->srv->rbuf, sizeof(l->srv->rbuf));
}

/* TLS: decrypts what arrived into the frame reader and writes what the
 * handshake needs; false (the link closing) when the session failed. */
static bool link_tls_feed(br_link *l, const char *in, size_t n)
{
    hc_sbuf plain = HC_SBUF_INIT;
    char err[256];
    bool was_ready = hc_tlslink_ready(l->tls);
    int rc = hc_tlslink_recv(l->tls, in, n, &plain, err, sizeof(err));
    link_tls_flush(l);
    if (rc < 0) {
        hc_sbuf_free(&plain);
        link_close(l, HC_LOG_WARN, err);
        return false;
    }
    if (!was_ready && hc_tlslink_ready(l->tls)) {
        char d[256];
        hc_tlslink_describe(l->tls, d, sizeof(d));
        hc_info("gateway link from %s: TLS (%s)", l->peer, d);
    }
    hc_frame_reader_feed(&l->reader, plain.data ? plain.data : "", plain.len);
    hc_sbuf_free(&plain);
    return true;
}

/* Splits what arrived into frames and dispatches them in order. */
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    br_link *l = st->data;
    if (nread < 0) {
        link_close(l, HC_LOG_INFO, nread == UV_EOF ? "closed by the gateway" : uv_strerror(nread));
        return;
    }
    if (l->tls) {
        if (!link_tls_feed(l, buf->base, (size_t)nread))
            return;
    } else {
        hc_frame_reader_feed(&l->reader, buf->base, (size_t)nread);
    }
    for (;;) {
        const uint8_t *p;
        size_t n;
        hc_frame_status fs = hc_frame_reader_next(&l->reader, &p, &n);
        if (fs == HC_FRAME_NEED_MORE)
            return;
        Herald__Frame *f = fs == HC_FRAME_OK ? hc_wire_unpack(p, n) : NULL;
        if (!f) {
            link_close(l, HC_LOG_WARN, "invalid frame from the gateway");
            return;
        }
        dispatch(l, f);
        herald__frame__free_unpacked(f, NULL);
        if (l->closing)
            return;
    }
}

/* ---- accepting ---------------------------------------------------------- */

static void peer_name(uv_tcp_t *tcp, char *out, size_t n)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    snprintf(out, n, "?");
    if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
        port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    snprintf(out, n, "%s:%d", ip, port);
}

static void send_hello(br_link *l)
{
    Herald__Hello h = HERALD__HELLO__INIT;
    h.node_id = l->srv->node_id;
    h.version = BR_WIRE_VERSION;
    Herald__Frame f = HERALD__FRAME__INIT;
    f.msg_case = HERALD__FRAME__MSG_HELLO;
    f.hello = &h;
    link_send_frame(l, &f);
}

static void on_connection(uv_stream_t *server, int status)
{
    br_server *srv = server->data;
    if (status < 0) {
        hc_warn("accept failed: %s", uv_strerror(status));
        return;
    }
    br_link *l = hc_calloc(1, sizeof(*l));
    l->srv = srv;
    uv_tcp_init(srv->loop, &l->tcp);
    l->tcp.data = l;
    srv->open_handles++;
    l->next = srv->links;
    if (srv->links)
        srv->links->prev = l;
    srv->links = l;
    hc_frame_reader_init(&l->reader, HC_FRAME_MAX_DEFAULT);
    l->cl = br_core_link_add(srv->core, link_send, l);
    if (uv_accept(server, (uv_stream_t *)&l->tcp) != 0) {
        link_close(l, HC_LOG_WARN, "accept failed");
        return;
    }
    peer_name(&l->tcp, l->peer, sizeof(l->peer));
    uv_tcp_nodelay(&l->tcp, 1);
    uv_tcp_keepalive(&l->tcp, 1, 30);
    hc_debug("connection from %s", l->peer);
    if (srv->tls) /* the Hello waits inside the session for the handshake */
        l->tls = hc_tlslink_new(srv->tls, true, NULL);
    send_hello(l);
    uv_read_start((uv_stream_t *)&l->tcp, on_alloc, on_read);
}

/* Resolves host:port (numeric or by name) and binds the listener. */
static int bind_listener(br_server *srv, const char *host, int port, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    uv_getaddrinfo_t gai;
    int rc = uv_getaddrinfo(srv->loop, &gai, NULL, host, portstr, &hints);
    if (rc == 0) {
        res = gai.addrinfo;
        rc = uv_tcp_bind(&srv->listener, res->ai_addr, 0);
        uv_freeaddrinfo(res);
    }
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection);
    if (rc != 0)
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, uv_strerror(rc));
    return rc;
}

/* ---- life cycle --------------------------------------------------------- */

/* One of the server's handles finished closing; the last one (once the
 * server is closing) frees it and reports. */
static void server_unref(br_server *srv)
{
    if (--srv->open_handles > 0 || !srv->closing)
        return;
    void (*done)(void *) = srv->done;
    void *arg = srv->done_arg;
    free(srv->node_id);
    free(srv);
    if (done)
        done(arg);
}

static void server_handle_closed(uv_handle_t *h)
{
    server_unref(h->data);
}

br_server *br_server_new(uv_loop_t *loop, br_core *core, const br_server_opts *opts, char *err,
                         size_t errlen)
{
    br_server *srv = hc_calloc(1, sizeof(*srv));
    srv->loop = loop;
    srv->core = core;
    srv->node_id = hc_strdup(opts->node_id);
    srv->max_queue = opts->max_queue_bytes ? opts->max_queue_bytes : BR_SERVER_MAX_QUEUE_DEFAULT;
    srv->tls = opts->tls;
    uv_tcp_init(loop, &srv->listener);
    uv_idle_init(loop, &srv->flusher);
    srv->listener.data = srv->flusher.data = srv;
    srv->open_handles = 2;
    if (bind_listener(srv, opts->host, opts->port, err, errlen) != 0) {
        br_server_close(srv, NULL, NULL);
        return NULL;
    }
    return srv;
}

int br_server_port(const br_server *srv)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

void br_server_close(br_server *srv, void (*done)(void *arg), void *arg)
{
    srv->closing = true;
    srv->done = done;
    srv->done_arg = arg;
    if (!srv->deaf) {
        srv->deaf = true;
        uv_close((uv_handle_t *)&srv->listener, server_handle_closed);
    }
    uv_close((uv_handle_t *)&srv->flusher, server_handle_closed);
    for (br_link *l = srv->links; l; l = l->next)
        link_close(l, HC_LOG_INFO, "broker shutting down");
}

void br_server_stop_listening(br_server *srv)
{
    if (srv->deaf)
        return;
    srv->deaf = true;
    uv_close((uv_handle_t *)&srv->listener, server_handle_closed);
}

size_t br_server_queued_bytes(const br_server *srv)
{
    size_t n = 0;
    for (const br_link *l = srv->links; l; l = l->next)
        n += l->queued_bytes;
    return n;
}
