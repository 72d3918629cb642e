/*
 * gw_listen: the listening socket, the accept loop with its pause on
 * EMFILE/ENFILE, the per-address connection rate and the hand-over of
 * each accepted socket to libwebsockets (see gw_listen.h).
 */
#include "gw_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gw_metrics.h"
#include "hc_clock.h"
#include "hc_log.h"
#include "hc_mem.h"
#include "hc_buf.h"

#define ACCEPT_BURST 128 /* connections accepted per wake-up, at most */
#define BACKLOG 1024

struct gw_listen {
    uv_loop_t *loop;
    struct lws_vhost *vh;
    gw_connlimit *lim;
    bool tls;
    int fd;
    int port;
    uv_poll_t poll;
    uv_timer_t timer;
    int open_handles; /* poll + timer, until their close callbacks ran */
    bool paused;
    bool closing;
    uint64_t exhausted; /* accept() failures for lack of descriptors */
};

/* The opaque mark of a connection over its address's rate. */
static char refused_mark;
static char refusal_msg[192] = "Too many new connections from your address: retry later";

/* ---- the listening socket -------------------------------------------- */

/* Fills ss from the --host text: "", "0.0.0.0" (IPv4 any), "::" (IPv6 and
 * IPv4 any), an address, or a name resolved once. */
static bool host_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len,
                      bool *dual, char *err, size_t errlen)
{
    memset(ss, 0, sizeof(*ss));
    *dual = false;
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (!host[0] || strcmp(host, "0.0.0.0") == 0) {
        v4->sin_family = AF_INET;
        v4->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (strcmp(host, "::") == 0) {
        v6->sin6_family = AF_INET6;
        v6->sin6_addr = in6addr_any;
        *dual = true;
    } else if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
    } else {
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof(hints));
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE;
        if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
            snprintf(err, errlen, "cannot listen on %s:%d (not an address or a known name)", host,
                     port);
            return false;
        }
        memcpy(ss, res->ai_addr, res->ai_addrlen);
        freeaddrinfo(res);
    }
    if (ss->ss_family == AF_INET) {
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof(*v4);
    } else {
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*v6);
    }
    return true;
}

static int open_socket(const char *host, int port, int *bound, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t len;
    bool dual;
    if (!host_addr(host, port, &ss, &len, &dual, err, errlen))
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, strerror(errno));
        return -1;
    }
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual ? &zero : &one, sizeof(int));
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, BACKLOG) != 0) {
        snprintf(err, errlen, "cannot listen on %s:%d (%s)", host, port, strerror(errno));
        close(fd);
        return -1;
    }
    len = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *bound = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                           : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

/* The peer's address as text; IPv4-mapped IPv6 addresses as IPv4. */
static void peer_text(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
    out[0] = '\0';
    if (ss->ss_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)outlen);
    } else if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)outlen);
        else
            inet_ntop(AF_INET6, a, out, (socklen_t)outlen);
    }
}

/* ---- accepting -------------------------------------------------------- */

static void on_readable(uv_poll_t *p, int status, int events);

static void set_paused(gw_listen *l, bool paused)
{
    l->paused = paused;
    hc_metric_set(gw_m.accept_paused, NULL, paused ? 1 : 0);
}

static void resume(gw_listen *l)
{
    if (!l->paused || l->closing)
        return;
    uv_timer_stop(&l->timer);
    set_paused(l, false);
    uv_poll_start(&l->poll, UV_READABLE, on_readable);
}

static void on_resume_timer(uv_timer_t *t)
{
    resume(t->data);
}

/* accept() failed with EMFILE/ENFILE (or the kernel is out of memory):
 * stop watching the socket, try again later. */
static void pause_accepting(gw_listen *l, int err)
{
    unsigned ms = gw_connlimit_accept_failed(l->lim);
    l->exhausted++;
    hc_metric_add(gw_m.accept_fd_exhausted, NULL, 1);
    /* log the first failure of an episode, then every 100th */
    if (ms == GW_ACCEPT_PAUSE_MIN_MS || l->exhausted % 100 == 0)
        hc_warn("accept: %s; pausing new connections (retry in %u ms or when one closes; "
                "%llu such failure(s) so far)",
                strerror(err), ms, (unsigned long long)l->exhausted);
    uv_poll_stop(&l->poll);
    set_paused(l, true);
    uv_timer_start(&l->timer, on_resume_timer, ms, 0);
}

/* Hands fd to lws; marks it when it is over its address's rate. */
static void adopt(gw_listen *l, int fd, const struct sockaddr_storage *ss)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char addr[INET6_ADDRSTRLEN];
    peer_text(ss, addr, sizeof(addr));
    bool ok = gw_connlimit_accept(l->lim, addr, hc_mono_ms());
    if (!ok) {
        hc_debug("connection from %s over the per-address rate: refusing it (429)", addr);
        const char *v[2] = {"", "connection_per_ip"};
        hc_metric_add(gw_m.rate_limited, v, 1);
    }
    lws_adopt_desc_t d;
    memset(&d, 0, sizeof(d));
    d.vh = l->vh;
    d.type = LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP | (l->tls ? LWS_ADOPT_ALLOW_SSL : 0);
    d.fd.sockfd = fd;
    d.opaque = ok ? NULL : &refused_mark;
    if (!lws_adopt_descriptor_vhost_via_info(&d))
        hc_debug("libwebsockets did not take a connection from %s (closed)", addr);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    (void)events;
    gw_listen *l = p->data;
    if (status < 0 || l->closing)
        return;
    for (int i = 0; i < ACCEPT_BURST; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            if (e == EINTR || e == ECONNABORTED || e == EPROTO)
                continue;
            if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
                pause_accepting(l, e);
            else if (e != EAGAIN && e != EWOULDBLOCK)
                hc_debug("accept: %s", strerror(e));
            return;
        }
        gw_connlimit_accept_ok(l->lim);
        adopt(l, fd, &ss);
    }
}

/* ---- life cycle ------------------------------------------------------ */

gw_listen *gw_listen_new(uv_loop_t *loop, const char *host, int port, struct lws_vhost *vh,
                         gw_connlimit *lim, bool tls, char *err, size_t errlen)
{
    int bound = 0;
    int fd = open_socket(host, port, &bound, err, errlen);
    if (fd < 0)
        return NULL;
    gw_listen *l = hc_calloc(1, sizeof(*l));
    l->loop = loop;
    l->vh = vh;
    l->lim = lim;
    l->tls = tls;
    l->fd = fd;
    l->port = bound;
    if (lim->cfg.rate_per_ip > 0)
        snprintf(refusal_msg, sizeof(refusal_msg),
                 "Too many new connections from your address: the limit is %ld per second "
                 "(burst %ld); retry later",
                 lim->cfg.rate_per_ip,
                 lim->cfg.burst_per_ip > 0 ? lim->cfg.burst_per_ip : lim->cfg.rate_per_ip);
    uv_poll_init_socket(loop, &l->poll, fd);
    uv_timer_init(loop, &l->timer);
    l->poll.data = l->timer.data = l;
    l->open_handles = 2;
    uv_poll_start(&l->poll, UV_READABLE, on_readable);
    return l;
}

int gw_listen_port(const gw_listen *l)
{
    return l->port;
}

void gw_listen_fd_freed(gw_listen *l)
{
    if (l)
        resume(l);
}

bool gw_listen_paused(const gw_listen *l)
{
    return l && l->paused;
}

static void closed(uv_handle_t *h)
{
    gw_listen *l = h->data;
    if (--l->open_handles > 0)
        return;
    close(l->fd);
    free(l);
}

void gw_listen_close(gw_listen *l)
{
    if (!l || l->closing)
        return;
    l->closing = true;
    uv_poll_stop(&l->poll);
    uv_timer_stop(&l->timer);
    set_paused(l, false);
    uv_close((uv_handle_t *)&l->poll, closed);
    uv_close((uv_handle_t *)&l->timer, closed);
}

/* ---- refusals ---------------------------------------------------------- */

bool gw_listen_refused(struct lws *wsi)
{
    return lws_get_opaque_user_data(wsi) == &refused_mark;
}

const char *gw_listen_refusal(void)
{
    return refusal_msg;
}

int gw_listen_refuse_upgrade(struct lws *wsi)
{
    unsigned char buf[LWS_PRE + 1024];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
    hc_sbuf body = HC_SBUF_INIT;
    hc_sbuf_puts(&body, "{\"error\":");
    hc_sbuf_json_string(&body, refusal_msg, strlen(refusal_msg));
    hc_sbuf_puts(&body, "}");
    int rc = -1;
    if (!lws_add_http_common_headers(wsi, 429, "application/json", body.len, &p, end) &&
        !lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_RETRY_AFTER, (const unsigned char *)"1",
                                      1, &p, end) &&
        !lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5,
                                      &p, end) &&
        !lws_finalize_http_header(wsi, &p, end) && p + body.len < end) {
        memcpy(p, body.data, body.len);
        p += body.len;
        lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS);
    }
    hc_sbuf_free(&body);
    return rc;
}
