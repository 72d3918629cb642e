/*
 * gw_discovery: broker discovery from a DNS name (see gw_discovery.h).
 *
 * Owns a uv_timer (the refresh period) and at most one uv_getaddrinfo in
 * flight, and the last set of addresses reported. It does not connect to
 * anything: the set goes to the callback gw_link_tcp.c installed, which
 * adds links for new addresses and retires links to vanished ones. A
 * lookup that fails or finds nothing keeps the last set (a DNS hiccup must
 * not cut every link); the links themselves notice dead brokers.
 */
#include "gw_discovery.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_log.h"
#include "hc_mem.h"

struct gw_discovery {
    uv_loop_t *loop;
    char *host, *port;
    uint64_t refresh_ms;
    gw_discovery_cb cb;
    void *ud;
    uv_timer_t timer;
    uv_getaddrinfo_t *gai; /* the lookup in flight, or NULL */
    char **last;
    size_t nlast;
    bool failed; /* the last lookup failed (logged once until one works) */
    bool stopping;
    int closes_pending;
    void (*done)(void *);
    void *done_ud;
};

int gw_discovery_parse(const char *spec, char **host, char **port, char *err, size_t errlen)
{
    size_t plen = strlen(GW_DISCOVERY_PREFIX);
    if (!spec || strncmp(spec, GW_DISCOVERY_PREFIX, plen) != 0)
        return 0;
    const char *s = spec + plen;
    const char *colon = strrchr(s, ':');
    char *end = NULL;
    long p = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || colon == s || !colon[1] || *end || p <= 0 || p > 65535 || strchr(s, ',')) {
        snprintf(err, errlen, "invalid broker name '%s' (expected dns:HOST:PORT)", spec);
        return -1;
    }
    *host = hc_strndup(s, (size_t)(colon - s));
    *port = hc_strdup(colon + 1);
    return 1;
}

bool gw_discovery_format(const struct sockaddr *sa, const char *port, char *out, size_t outlen)
{
    char ip[INET6_ADDRSTRLEN];
    int n;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
        n = snprintf(out, outlen, "%s:%s", ip, port);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof(ip));
        n = snprintf(out, outlen, "[%s]:%s", ip, port);
    } else {
        return false;
    }
    return n > 0 && (size_t)n < outlen;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t gw_discovery_collect(const struct addrinfo *res, const char *port, char ***out)
{
    size_t n = 0, cap = 0;
    char **list = NULL;
    char buf[INET6_ADDRSTRLEN + 16];
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (!ai->ai_addr || !gw_discovery_format(ai->ai_addr, port, buf, sizeof(buf)))
            continue;
        if (n == cap)
            list = hc_realloc(list, (cap = cap ? cap * 2 : 8) * sizeof(*list));
        list[n++] = hc_strdup(buf);
    }
    if (n)
        qsort(list, n, sizeof(*list), cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u && strcmp(list[u - 1], list[i]) == 0)
            free(list[i]);
        else
            list[u++] = list[i];
    }
    *out = list;
    return u;
}

void gw_discovery_free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static bool same_list(char **a, size_t na, char **b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

static void lookup(gw_discovery *d);

static void timer_fired(uv_timer_t *t)
{
    lookup(t->data);
}

static void close_step(gw_discovery *d)
{
    if (--d->closes_pending > 0)
        return;
    void (*done)(void *) = d->done;
    void *ud = d->done_ud;
    gw_discovery_free_list(d->last, d->nlast);
    free(d->host);
    free(d->port);
    free(d);
    if (done)
        done(ud);
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    gw_discovery *d = req->data;
    free(req);
    d->gai = NULL;
    if (d->stopping) {
        if (res)
            uv_freeaddrinfo(res);
        close_step(d);
        return;
    }
    char **list = NULL;
    size_t n = 0;
    if (status == 0)
        n = gw_discovery_collect(res, d->port, &list);
    if (res)
        uv_freeaddrinfo(res);
    if (status < 0 || n == 0) {
        if (!d->failed)
            hc_warn("brokers: lookup of %s failed (%s); keeping the %zu broker(s) known", d->host,
                    status < 0 ? uv_strerror(status) : "no address", d->nlast);
        d->failed = true;
        gw_discovery_free_list(list, n);
    } else {
        d->failed = false;
        if (same_list(list, n, d->last, d->nlast)) {
            gw_discovery_free_list(list, n);
        } else {
            hc_info("brokers: %s resolves to %zu address(es)", d->host, n);
            gw_discovery_free_list(d->last, d->nlast);
            d->last = list;
            d->nlast = n;
            d->cb(d->ud, (const char *const *)d->last, d->nlast);
        }
    }
    uv_timer_start(&d->timer, timer_fired, d->refresh_ms, 0);
}

static void lookup(gw_discovery *d)
{
    struct addrinfo hints = {0};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    d->gai = hc_calloc(1, sizeof(*d->gai));
    d->gai->data = d;
    int rc = uv_getaddrinfo(d->loop, d->gai, resolved, d->host, d->port, &hints);
    if (rc < 0) {
        free(d->gai);
        d->gai = NULL;
        hc_warn("brokers: cannot look up %s: %s", d->host, uv_strerror(rc));
        uv_timer_start(&d->timer, timer_fired, d->refresh_ms, 0);
    }
}

gw_discovery *gw_discovery_start(uv_loop_t *loop, const char *host, const char *port,
                                 unsigned refresh_s, gw_discovery_cb cb, void *ud)
{
    gw_discovery *d = hc_calloc(1, sizeof(*d));
    d->loop = loop;
    d->host = hc_strdup(host);
    d->port = hc_strdup(port);
    d->refresh_ms = (uint64_t)(refresh_s ? refresh_s : 1) * 1000;
    d->cb = cb;
    d->ud = ud;
    uv_timer_init(loop, &d->timer);
    d->timer.data = d;
    lookup(d);
    return d;
}

static void timer_closed(uv_handle_t *h)
{
    close_step(h->data);
}

void gw_discovery_stop(gw_discovery *d, void (*done)(void *ud), void *ud)
{
    d->stopping = true;
    d->done = done;
    d->done_ud = ud;
    d->closes_pending = 1;
    if (d->gai) {
        d->closes_pending++;
        uv_cancel((uv_req_t *)d->gai);
    }
    uv_close((uv_handle_t *)&d->timer, timer_closed);
}
