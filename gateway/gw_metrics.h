/*
 * gw_metrics: the gateway's Prometheus metrics (names, help, labels) and
 * the handles its modules update.
 *
 * Owns the table of metric families registered in the process registry
 * (hc_metrics) by gw_metrics_init, under Soketi's names where Soketi has
 * the metric (labels app_id and port, so Soketi dashboards keep working)
 * and herald_* for the rest. Until gw_metrics_init runs every handle is
 * NULL and every update is a no-op (unit tests). gw_server.c and gw_http.c
 * update counters as things happen; gauges that are cheaper to count than
 * to track (connections, subscriptions, channels, broker links) are filled
 * by gw_main's scrape hook just before rendering.
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include "hc_metrics.h"

typedef struct gw_metrics {
    char port[8]; /* the "port" label: the gateway's main port */
    hc_metric *connected, *new_connections, *new_disconnections;
    hc_metric *ws_rx_bytes, *ws_tx_bytes, *ws_rx_messages, *ws_tx_messages;
    hc_metric *http_calls, *http_rx_bytes, *http_tx_bytes;
    hc_metric *http_requests; /* herald: by status */
    hc_metric *subscriptions, *channels;
    hc_metric *publish_seconds, *publishes;
    hc_metric *fanout_seconds; /* herald_fanout_latency_seconds */
    hc_metric *broker_link_up, *ready, *draining;
    hc_metric *slow_disconnections, *rate_limited, *drain_closes;
    hc_metric *rebalance_closes;                    /* herald_rebalance_closes_total */
    hc_metric *accept_paused, *accept_fd_exhausted; /* gw_listen */
    hc_metric *tls_reloads, *tls_expiry;            /* gw_tls */
    hc_metric *send_batching;                       /* herald_send_batching{backend}: gw_server */
} gw_metrics;

extern gw_metrics gw_m;

/* Registers every family in reg (which must outlive their use). */
void gw_metrics_init(hc_metrics *reg, int port);

/* Observes one live event handed to this gateway's subscribers:
 * herald_fanout_latency_seconds{app_id} += now - published_us (the
 * broker's receive time, wall clock; 0 = unknown: nothing observed; a
 * negative difference, clock skew between hosts, counts as 0). Called once
 * per event per gateway, after its frame is queued on every local
 * subscriber (not per socket write). */
void gw_metrics_fanout(const char *app_id, uint64_t published_us);
/* The same, with the current time given (for tests). */
void gw_metrics_fanout_at(const char *app_id, uint64_t published_us, int64_t now_us);

/* f{app_id, port} += n, for the Soketi-named families. */
void gw_metrics_app_add(hc_metric *f, const char *app_id, double n);

#endif
