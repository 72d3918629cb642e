/*
 * hc_opsd: the operations HTTP endpoint of a Herald process (metrics port).
 *
 * Owns a small HTTP/1.1 server on a libuv loop: one request per connection
 * (answered with Connection: close), headers bounded to 8 KiB, GET/HEAD
 * only. Routes: /metrics (the hc_metrics registry in the text exposition
 * format), /health (200 while the process runs), /ready and
 * /accept-traffic (200 "OK" or 503 with the reason, asked of the owner's
 * callbacks at each request). It does not know what readiness means; the
 * gateway and the broker supply it. Lives in herald_common_uv (common/io/),
 * apart from the I/O-free hc_* modules; created by gw_main and br_main.
 */
#ifndef HC_OPSD_H
#define HC_OPSD_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "hc_metrics.h"

typedef struct hc_opsd hc_opsd;

/* Returns true when ready; otherwise writes why (a sentence) into why. */
typedef bool (*hc_opsd_check_fn)(void *ud, char *why, size_t whylen);

typedef struct hc_opsd_opts {
    const char *host; /* IPv4 or IPv6 literal */
    int port;         /* 0: any free port */
    hc_metrics *metrics;
    hc_opsd_check_fn ready;    /* NULL: always ready */
    hc_opsd_check_fn accept;   /* /accept-traffic; NULL: same as ready */
    void (*collect)(void *ud); /* refreshes scrape-time gauges; may be NULL */
    void *ud;
} hc_opsd_opts;

/* Listens at once; NULL with a sentence in err when it cannot. */
hc_opsd *hc_opsd_new(uv_loop_t *loop, const hc_opsd_opts *o, char *err, size_t errlen);
int hc_opsd_port(const hc_opsd *d);
/* Closes the listener and every connection; frees d as the loop runs. */
void hc_opsd_close(hc_opsd *d);

/* The answer to one request, without I/O (also used by the gateway's main
 * port for /health, /ready, /accept-traffic). Returns the HTTP status and
 * fills body and *content_type; 404 for an unknown path. */
int hc_opsd_route(const hc_opsd_opts *o, const char *method, const char *path, hc_sbuf *body,
                  const char **content_type);

#endif
