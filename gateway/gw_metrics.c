/*
 * gw_metrics: registration of the gateway's metric families (see
 * gw_metrics.h). Owns the gw_m handle table; the registry owns the
 * families.
 */
#include "gw_metrics.h"

#include "hc_webhook_send.h"

#include <stdio.h>

#include "hc_clock.h"

gw_metrics gw_m;

/* Seconds, from 1 ms to 10 s: a publish is one round trip to Redis. */
static const double latency_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25,  0.5,    1,     2.5,  5,     10};

/* Seconds, from 100 us to 10 s: broker receive time to the gateway's
 * sockets (Redis pub/sub, the broker link, framing and queueing). */
static const double fanout_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                       0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};

void gw_metrics_init(hc_metrics *r, int port)
{
    snprintf(gw_m.port, sizeof(gw_m.port), "%d", port);
    hc_whs_metrics_init(r); /* herald_webhook_* (embedded mode sends webhooks itself) */
    const char *ap = "app_id,port";
    gw_m.connected =
        hc_metrics_gauge(r, "soketi_connected", "The number of currently connected sockets.", ap);
    gw_m.new_connections = hc_metrics_counter(r, "soketi_new_connections_total",
                                              "Total amount of connection requests.", ap);
    gw_m.new_disconnections = hc_metrics_counter(r, "soketi_new_disconnections_total",
                                                 "Total amount of disconnections.", ap);
    gw_m.ws_rx_bytes = hc_metrics_counter(r, "soketi_socket_received_bytes",
                                          "Total amount of bytes received from WebSockets.", ap);
    gw_m.ws_tx_bytes = hc_metrics_counter(r, "soketi_socket_transmitted_bytes",
                                          "Total amount of bytes sent to WebSockets.", ap);
    gw_m.ws_rx_messages = hc_metrics_counter(r, "soketi_ws_messages_received_total",
                                             "Total amount of WebSocket messages received.", ap);
    gw_m.ws_tx_messages = hc_metrics_counter(r, "soketi_ws_messages_sent_total",
                                             "Total amount of WebSocket messages sent.", ap);
    gw_m.http_calls = hc_metrics_counter(r, "soketi_http_calls_received_total",
                                         "Total amount of received HTTP API calls.", ap);
    gw_m.http_rx_bytes = hc_metrics_counter(r, "soketi_http_received_bytes",
                                            "Total amount of bytes received by the HTTP API.", ap);
    gw_m.http_tx_bytes = hc_metrics_counter(r, "soketi_http_transmitted_bytes",
                                            "Total amount of bytes sent by the HTTP API.", ap);
    gw_m.http_requests = hc_metrics_counter(r, "herald_http_requests_total",
                                            "HTTP requests answered, by status code.", "status");
    gw_m.subscriptions = hc_metrics_gauge(r, "herald_subscriptions",
                                          "Channel subscriptions of connected sockets.", "app_id");
    gw_m.channels = hc_metrics_gauge(
        r, "herald_channels", "Channels with at least one subscriber on this gateway.", NULL);
    gw_m.publishes =
        hc_metrics_counter(r, "herald_publishes_total",
                           "Events published through this gateway, by result.", "app_id,result");
    gw_m.publish_seconds = hc_metrics_histogram(
        r, "herald_publish_duration_seconds",
        "Time from an HTTP API publish request to every broker acknowledgement.", "app_id",
        latency_bounds, sizeof(latency_bounds) / sizeof(latency_bounds[0]));
    gw_m.fanout_seconds = hc_metrics_histogram(
        r, "herald_fanout_latency_seconds",
        "Time from the broker receiving a publish to this gateway queueing the event on its "
        "subscribers (once per event per gateway; wall clocks of two hosts).",
        "app_id", fanout_bounds, sizeof(fanout_bounds) / sizeof(fanout_bounds[0]));
    gw_m.broker_link_up =
        hc_metrics_gauge(r, "herald_broker_link_up",
                         "1 when the link to this broker is up and accepting.", "broker");
    gw_m.ready = hc_metrics_gauge(r, "herald_ready", "1 when this process reports ready.", NULL);
    gw_m.draining = hc_metrics_gauge(r, "herald_draining", "1 while draining (SIGTERM).", NULL);
    gw_m.slow_disconnections =
        hc_metrics_counter(r, "herald_slow_consumer_disconnections_total",
                           "Sockets closed (4100) because their queue was full.", "app_id");
    gw_m.rate_limited =
        hc_metrics_counter(r, "herald_rate_limit_rejections_total",
                           "Requests or messages refused by a rate limit.", "app_id,kind");
    gw_m.drain_closes = hc_metrics_counter(r, "herald_drain_closes_total",
                                           "Sockets closed with 4200 while draining.", NULL);
    gw_m.rebalance_closes =
        hc_metrics_counter(r, "herald_rebalance_closes_total",
                           "Sockets closed with 4200 to rebalance the fleet (--rebalance).", NULL);
    gw_m.accept_paused = hc_metrics_gauge(
        r, "herald_accept_paused",
        "1 while new connections are not accepted (out of file descriptors).", NULL);
    gw_m.accept_fd_exhausted = hc_metrics_counter(
        r, "herald_accept_fd_exhausted_total",
        "accept() failures for lack of file descriptors (EMFILE/ENFILE); each pauses accepts.",
        NULL);
    gw_m.tls_reloads = hc_metrics_counter(r, "herald_tls_reloads_total",
                                          "TLS certificate reloads, by result.", "result");
    gw_m.tls_expiry =
        hc_metrics_gauge(r, "herald_tls_certificate_expiry_timestamp_seconds",
                         "Expiry (notAfter, Unix time) of the TLS certificate served.", NULL);
    gw_m.send_batching = hc_metrics_gauge(
        r, "herald_send_batching",
        "1 for the backend that writes to client sockets: io_uring (batched sends, one "
        "submission per loop turn) or send (one system call per connection); --io-uring.",
        "backend");
}

void gw_metrics_app_add(hc_metric *f, const char *app_id, double n)
{
    if (!f)
        return;
    const char *v[2] = {app_id ? app_id : "", gw_m.port};
    hc_metric_add(f, v, n);
}

void gw_metrics_fanout_at(const char *app_id, uint64_t published_us, int64_t now_us)
{
    if (!gw_m.fanout_seconds || !published_us)
        return;
    int64_t d = now_us - (int64_t)published_us;
    const char *v[1] = {app_id ? app_id : ""};
    hc_metric_observe(gw_m.fanout_seconds, v, d > 0 ? (double)d / 1e6 : 0.0);
}

void gw_metrics_fanout(const char *app_id, uint64_t published_us)
{
    if (gw_m.fanout_seconds && published_us)
        gw_metrics_fanout_at(app_id, published_us, hc_wall_us());
}
