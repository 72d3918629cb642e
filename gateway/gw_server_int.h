/*
 * gw_server_int: what gw_server.c (context, WebSocket connections, sweep)
 * and gw_http.c (HTTP requests) share, and nothing else includes.
 *
 * Owns the definitions of gw_server and of the per-wsi session data; the
 * functions named gw__http_* are gw_http.c's entry points for the
 * protocol callback in gw_server.c.
 */
#ifndef GW_SERVER_INT_H
#define GW_SERVER_INT_H

#include <libwebsockets.h>
#include <stdbool.h>

#include "gw_connlimit.h"
#include "gw_limits.h"
#include "gw_api.h"
#include "gw_link.h"
#include "gw_presence.h"
#include "gw_sendbatch.h"
#include "gw_server.h"
#include "gw_subs.h"

typedef struct gw_conn gw_conn;
typedef struct gw_http gw_http;
typedef struct gw_rebalancer gw_rebalancer;

struct gw_server {
    uv_loop_t *loop;
    gw_server_config cfg;
    char *host;
    const hc_apps *apps;
    gw_link *link; /* NULL once stopping */
    gw_subs *subs;
    /* online users and watchlists (gw_watchlist.c); NULL once stopping */
    struct gw_watchlist *watch;
    gw_limits *limits;       /* per-app connection counts and HTTP rates */
    struct gw_recovery *rec; /* resume, rewind, gap repair (gw_recovery.c) */
    gw_presence *presence;   /* NULL once stopping */
    struct gw_webhooks *wh;  /* webhook hooks (gw_webhooks.c); NULL once stopping */
    struct lws_context *ctx; /* NULL once lws finished destroying it */
    struct lws_vhost *vhost;
    struct gw_listen *listen; /* the listening socket (NULL once stopping) */
    gw_connlimit connlimit;   /* per-address rate, HTTP concurrency, accept back-off */
    int port;
    uv_timer_t sweep;
    bool sweep_open;
    gw_conn *conns; /* every WebSocket connection (doubly linked) */
    size_t nconns;
    gw_http *https; /* every HTTP request in flight (doubly linked) */
    uint64_t next_socket;
    uint64_t sweep_socket, trim_socket; /* next_socket at the last sweep / heap trim */
    bool stopping;
    uint64_t drain_deadline_ms;
    /* graceful drain (gw_server_drain) */
    bool draining;
    uv_timer_t drain_timer;
    bool drain_timer_open;
    uint64_t drain_end_ms;
    void (*drain_done)(void *ud);
    void *drain_ud;
    uint64_t rng;
    gw_rebalancer *rebal; /* --rebalance (gw_server_rebalance.c); NULL when off */
    /* the write path's flush pass (gw_server.c conn_flush) */
    gw_conn *dirty; /* connections with frames to write (doubly linked) */
    uv_idle_t flush_idle;
    uv_check_t flush_check;
    bool flush_open;
    hc_sbuf batch; /* one connection's frames, gathered for one write */
    /* batched sends (gw_sendbatch): connections gathered in this flush
     * pass, written by one submission (gw_server.c batch_submit) */
    gw_sendbatch *sendbatch;
    struct gw_batched *pend; /* SUBMIT_MAX, with pend_e */
    gw_sendbatch_entry *pend_e;
    size_t npend;
    hc_sbuf arena; /* the pending connections' multi-frame gathers */
    /* frames written in this pass, not yet in the metrics (tx_count) */
    const char *tx_app;
    size_t tx_bytes, tx_frames;
};

/* Per-wsi session data lws allocates (zeroed) for our protocol. */
typedef struct gw_pss {
    gw_conn *conn; /* WebSocket connection, or NULL */
    gw_http *http; /* HTTP request being handled, or NULL */
} gw_pss;

/* LWS_CALLBACK_HTTP: a request line and headers arrived. Returns what the
 * protocol callback must return. */
int gw__http_begin(gw_server *s, struct lws *wsi, gw_pss *pss, const char *uri, size_t len);
/* LWS_CALLBACK_HTTP_BODY */
int gw__http_body(gw_pss *pss, const void *in, size_t len);
/* LWS_CALLBACK_HTTP_BODY_COMPLETION */
int gw__http_body_done(gw_pss *pss);
/* LWS_CALLBACK_HTTP_WRITEABLE */
int gw__http_writeable(struct lws *wsi, gw_pss *pss);
/* LWS_CALLBACK_CLOSED_HTTP (the client went away) */
void gw__http_closed(gw_pss *pss);
/* gw_http_info.c: answers a trigger's `info` from the cluster state, then
 * calls done(ud); *pending counts the calls in flight. */
void gw__http_trigger_info(gw_link *link, gw_api_response *resp, int *pending, void (*done)(void *),
                           void *ud);
/* At shutdown: forget every request's wsi (lws is going away). */
void gw__http_detach_all(gw_server *s);

/* --rebalance (gw_server_rebalance.c). Fleet counts travel as events on
 * this server-only channel of this reserved app id. */
#define GW_FLEET_APP "#herald"
#define GW_FLEET_CHANNEL "#herald-fleet"
/* Starts the rebalancer when s->cfg.rebalance (else NULL). */
gw_rebalancer *gw__rebalancer_new(gw_server *s);
/* True when ev is a fleet event (consumed: never delivered). */
bool gw__rebalancer_event(gw_rebalancer *rb, const Herald__Event *ev);
/* Stops it (frees it as the loop runs); NULL is fine. */
void gw__rebalancer_free(gw_rebalancer *rb);
/* gw_server.c: WebSocket connections accepted and not closing. */
size_t gw__server_open_conns(gw_server *s);
/* gw_server.c: closes up to n of them with 4200, oldest first; returns
 * how many. */
size_t gw__server_shed(gw_server *s, size_t n);

#endif
