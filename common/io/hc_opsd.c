/*
 * hc_opsd: metrics / health HTTP server on libuv (see hc_opsd.h).
 *
 * Owns the listening handle and every connection (opsd_conn: its socket,
 * the request bytes read so far, the response being written). A request
 * is handled as soon as its header block is complete; the body, if any,
 * is ignored. The registry and callbacks belong to the caller.
 */
#include "hc_opsd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_log.h"
#include "hc_mem.h"

#define MAX_HEADER 8192

typedef struct opsd_conn {
    uv_tcp_t tcp;
    uv_write_t wr;
    hc_opsd *d;
    char buf[MAX_HEADER];
    size_t len;
    hc_sbuf out;
    bool answered;
    struct opsd_conn *prev, *next;
} opsd_conn;

struct hc_opsd {
    uv_tcp_t listener;
    hc_opsd_opts o;
    int port;
    bool closing;
    int open_handles; /* listener + connections still to close */
    opsd_conn *conns;
};

static void check(hc_opsd_check_fn fn, void *ud, bool *ok, char *why, size_t whylen)
{
    *ok = fn ? fn(ud, why, whylen) : true;
}

int hc_opsd_route(const hc_opsd_opts *o, const char *method, const char *path, hc_sbuf *body,
                  const char **content_type)
{
    *content_type = "text/plain; charset=utf-8";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        hc_sbuf_puts(body, "Method not allowed\n");
        return 405;
    }
    if (strcmp(path, "/metrics") == 0) {
        *content_type = "text/plain; version=0.0.4; charset=utf-8";
        if (o->collect)
            o->collect(o->ud);
        hc_metrics_render(o->metrics, body);
        return 200;
    }
    if (strcmp(path, "/health") == 0 || strcmp(path, "/") == 0) {
        hc_sbuf_puts(body, "OK\n");
        return 200;
    }
    bool ready = strcmp(path, "/ready") == 0;
    if (!ready && strcmp(path, "/accept-traffic") != 0) {
        hc_sbuf_puts(body, "Not found\n");
        return 404;
    }
    char why[256] = "";
    bool ok;
    check(ready || !o->accept ? o->ready : o->accept, o->ud, &ok, why, sizeof(why));
    hc_sbuf_printf(body, "%s\n", ok ? "OK" : why);
    return ok ? 200 : 503;
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    default:
        return "Service Unavailable";
    }
}

static void handle_closed(uv_handle_t *h)
{
    hc_opsd *d = h->data;
    if ((uv_handle_t *)&d->listener != h) {
        opsd_conn *c = (opsd_conn *)h;
        hc_sbuf_free(&c->out);
        free(c);
    }
    if (--d->open_handles == 0 && d->closing)
        free(d);
}

static void conn_close(opsd_conn *c)
{
    hc_opsd *d = c->d;
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        d->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    uv_close((uv_handle_t *)&c->tcp, handle_closed);
}

static void written(uv_write_t *w, int status)
{
    (void)status;
    conn_close(w->data);
}

/* Parses the request line in c->buf and writes the answer. */
static void answer(opsd_conn *c)
{
    char method[16] = "", path[512] = "";
    int status;
    const char *ctype = "text/plain; charset=utf-8";
    hc_sbuf body = HC_SBUF_INIT;
    if (sscanf(c->buf, "%15s %511s", method, path) != 2) {
        hc_sbuf_puts(&body, "Bad request\n");
        status = 400;
    } else {
        char *q = strchr(path, '?');
        if (q)
            *q = '\0';
        status = hc_opsd_route(&c->d->o, method, path, &body, &ctype);
    }
    hc_sbuf_printf(&c->out,
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   status, reason_of(status), ctype, body.len);
    if (strcmp(method, "HEAD") != 0 && body.len)
        hc_sbuf_append(&c->out, body.data, body.len);
    hc_sbuf_free(&body);
    c->answered = true;
    uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
    c->wr.data = c;
    if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, written) != 0)
        conn_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    opsd_conn *c = (opsd_conn *)h;
    size_t room = sizeof(c->buf) - 1 - c->len;
    *buf = uv_buf_init(c->buf + c->len, (unsigned)room);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    opsd_conn *c = (opsd_conn *)s;
    if (c->answered)
        return;
    if (n < 0) {
        conn_close(c);
        return;
    }
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    if (strstr(c->buf, "\r\n\r\n") || strstr(c->buf, "\n\n")) {
        uv_read_stop(s);
        answer(c);
    } else if (c->len >= sizeof(c->buf) - 1) {
        conn_close(c); /* headers too large */
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    hc_opsd *d = server->data;
    if (status < 0 || d->closing)
        return;
    opsd_conn *c = hc_calloc(1, sizeof(*c));
    c->d = d;
    uv_tcp_init(server->loop, &c->tcp);
    c->tcp.data = d;
    d->open_handles++;
    c->next = d->conns;
    if (d->conns)
        d->conns->prev = c;
    d->conns = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c);
}

hc_opsd *hc_opsd_new(uv_loop_t *loop, const hc_opsd_opts *o, char *err, size_t errlen)
{
    struct sockaddr_storage addr;
    const char *host = o->host && o->host[0] ? o->host : "0.0.0.0";
    if (uv_ip4_addr(host, o->port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(host, o->port, (struct sockaddr_in6 *)&addr) != 0) {
        snprintf(err, errlen, "metrics: '%s' is not an IP address", host);
        return NULL;
    }
    hc_opsd *d = hc_calloc(1, sizeof(*d));
    d->o = *o;
    uv_tcp_init(loop, &d->listener);
    d->listener.data = d;
    d->open_handles = 1;
    int rc = uv_tcp_bind(&d->listener, (struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&d->listener, 64, on_connection);
    if (rc != 0) {
        snprintf(err, errlen, "metrics: cannot listen on %s:%d: %s", host, o->port,
                 uv_strerror(rc));
        d->closing = true;
        uv_close((uv_handle_t *)&d->listener, handle_closed);
        return NULL;
    }
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    uv_tcp_getsockname(&d->listener, (struct sockaddr *)&bound, &len);
    d->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    return d;
}

int hc_opsd_port(const hc_opsd *d)
{
    return d->port;
}

void hc_opsd_close(hc_opsd *d)
{
    if (!d || d->closing)
        return;
    d->closing = true;
    while (d->conns)
        conn_close(d->conns);
    uv_close((uv_handle_t *)&d->listener, handle_closed);
}
