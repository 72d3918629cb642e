/*
 * gw_server: the gateway's libwebsockets glue (WebSocket + HTTP, one port).
 *
 * Owns the lws context (on the caller's libuv loop, as a foreign loop), its
 * one vhost and protocol callback, every client connection (gw_conn: the
 * Pusher state, the subscriber record, the partial message being
 * received), the activity sweep (server pings and pong deadlines), the
 * local subscription table (gw_subs) and every HTTP request in flight.
 * It turns lws callbacks into calls to gw_pusher (WebSocket messages) and
 * gw_api (HTTP requests), performs publishes through the gw_link it is
 * given, and writes only when lws says the socket is writable. It does not
 * own the loop, the apps or the link. Created and stopped by gw_main.
 */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "gw_link.h"
#include "hc_apps.h"

typedef struct gw_server_config {
    const char *host; /* "0.0.0.0" (IPv4 any), "::" (any), or an address */
    int port;
    long activity_timeout;   /* s: ping a client heard nothing from */
    long pong_timeout;       /* s: close (4201) if nothing follows the ping */
    size_t max_message_size; /* bytes: a larger client message closes */
    size_t max_subscriptions;
    size_t queue_frames;           /* per-connection outgoing queue bound */
    uint32_t gateway_num;          /* socket ids are "<gateway_num>.<counter>" */
    const char *gateway_id;        /* name in the cluster (presence liveness) */
    unsigned presence_liveness_ms; /* 0 = 30000 */
    bool rebalance;                /* shed connections above the fleet mean (gw_rebalance.h) */
    double rebalance_threshold;    /* ... when above this times the mean (default 1.2) */
    double rebalance_rate;         /* ... at most this many per second (default 10) */
    struct gw_tls *tls;            /* serve wss:// and https:// with it; NULL = plain */
    long conn_rate_per_ip;         /* new connections per second per address; 0 = no limit */
    long conn_burst_per_ip;        /* at once; 0 = conn_rate_per_ip */
    long max_http;                 /* HTTP API requests in flight; 0 = no limit */
    int send_batching;             /* gw_sendbatch_mode (--io-uring); 0 = auto */
} gw_server_config;

typedef struct gw_server gw_server;

/* Listens at once. apps and link are borrowed and must outlive the
 * server; cfg is copied (host too). Returns NULL with a sentence in err. */
gw_server *gw_server_new(uv_loop_t *loop, const gw_server_config *cfg, const hc_apps *apps,
                         gw_link *link, char *err, size_t errlen);
/* The port actually listened on. */
int gw_server_port(const gw_server *s);
/* Graceful drain: refuses new WebSocket connections (4200), stops
 * reporting ready, and closes each existing connection with 4200 at a
 * random moment within window_ms (so clients do not reconnect all at
 * once). Calls done(ud) once no connection is left, or at the latest 2 s
 * after the window; the caller then stops the server. */
void gw_server_drain(gw_server *s, uint64_t window_ms, void (*done)(void *ud), void *ud);
/* /accept-traffic: false (with why) while draining or stopping. */
bool gw_server_accepting(gw_server *s, char *why, size_t whylen);
/* /ready: accepting and the link can take publishes (a broker link up, or
 * embedded). */
bool gw_server_ready(gw_server *s, char *why, size_t whylen);
/* Fills the scrape-time gauges (subscriptions, channels, ready). */
void gw_server_collect(gw_server *s);
/* app was changed at run time (apps from Redis): when it is disabled
 * (removed: gone) its connections are closed with 4003 (4001); a
 * connection limit is followed across the cluster. */
void gw_server_app_changed(gw_server *s, const hc_app *app, bool removed);
/* Closes every connection and the listener; completes as the loop runs. */
void gw_server_stop(gw_server *s);
/* Frees what is left, once the loop has finished. */
void gw_server_free(gw_server *s);

#endif
