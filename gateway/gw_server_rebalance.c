/*
 * gw_server_rebalance: --rebalance, the gateway side of shedding
 * connections after a scale-up (the decision itself is gw_rebalance.c).
 *
 * Owns the rebalancer of a gw_server: its timer (every GW_REBALANCE_TICK_MS),
 * the reports of this gateway's open connection count, and the feed of the
 * other gateways' reports into gw_rebalance. Counts travel like gw_limits'
 * per-app counts: as ordinary events on a server-only channel
 * (GW_FLEET_CHANNEL of the reserved app id GW_FLEET_APP, never delivered to
 * a client), published through the gw_link every GW_REBALANCE_REPORT_MS and
 * heard by every gateway that has --rebalance on, whichever broker owns the
 * channel; a gateway silent for GW_REBALANCE_STALE_MS is gone, one that
 * reported -1 (draining, or stopping) at once. No broker or
 * Redis script knows about them. The closes (4200, oldest connections
 * first, so clients that just moved are not moved again) are done by
 * gw__server_shed in gw_server.c. Created and stopped by gw_server.c
 * (gw_server_new / gw_server_stop); nothing is done while draining.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_metrics.h"
#include "gw_rebalance.h"
#include "gw_server_int.h"
#include "hc_clock.h"
#include "hc_log.h"
#include "hc_mem.h"

#define GW_REBALANCE_TICK_MS 250 /* each tick counts the connections: O(n) */
#define GW_REBALANCE_REPORT_MS 1000
#define GW_REBALANCE_STALE_MS 5000
#define GW_REBALANCE_SETTLE_MS 1500

struct gw_rebalancer {
    gw_server *s;
    gw_rebalance *r;
    uv_timer_t timer;
    uint64_t next_report_ms;
    bool shedding; /* for the log: shedding started and not yet finished */
    bool left;     /* "leaving" reported (draining) */
};

static void report_done(void *ud, const gw_publish_result *r)
{
    (void)ud;
    if (!r->ok)
        hc_debug("rebalance: count not published: %s", r->error ? r->error : "unknown error");
}

/* Publishes "<open connections> <gateway id>" on the fleet channel
 * (-1: this gateway is leaving, draining or stopping, and must not count
 * in the fleet's mean). */
static void report(gw_rebalancer *rb, long own)
{
    gw_server *s = rb->s;
    if (!s->link || !gw_link_ready(s->link))
        return;
    char data[160];
    int n = snprintf(data, sizeof(data), "%ld %s", own, s->cfg.gateway_id ? s->cfg.gateway_id : "");
    if (n < 0 || (size_t)n >= sizeof(data))
        return;
    /* only the live feed matters: one entry of history for a minute */
    gw_publish p = {.app_id = GW_FLEET_APP,
                    .channel = GW_FLEET_CHANNEL,
                    .name = "herald:fleet",
                    .data = data,
                    .data_len = (size_t)n,
                    .history_size = 1,
                    .history_ttl = 60};
    gw_link_publish(s->link, &p, report_done, NULL);
}

static void tick(uv_timer_t *t)
{
    gw_rebalancer *rb = t->data;
    gw_server *s = rb->s;
    if (s->stopping)
        return;
    uint64_t now = hc_mono_ms();
    long own = (long)gw__server_open_conns(s);
    if (now >= rb->next_report_ms || (s->draining && !rb->left)) {
        report(rb, s->draining ? -1 : own);
        rb->left = s->draining;
        rb->next_report_ms = now + GW_REBALANCE_REPORT_MS;
    }
    if (s->draining)
        return;
    long due = gw_rebalance_due(rb->r, own, now);
    double mean = 0;
    size_t fleet = gw_rebalance_fleet(rb->r, &mean);
    if (due > 0 && !rb->shedding) {
        rb->shedding = true;
        hc_info("rebalance: %ld connection(s) here, fleet mean %.1f over %zu gateway(s): "
                "closing the oldest (4200) at %g/s down to the mean",
                own, mean, fleet, s->cfg.rebalance_rate);
    } else if (due == 0 && rb->shedding && own <= (long)mean + 1) {
        rb->shedding = false;
        hc_info("rebalance: %ld connection(s) here, fleet mean %.1f over %zu gateway(s): done", own,
                mean, fleet);
    }
    if (due <= 0)
        return;
    size_t closed = gw__server_shed(s, (size_t)due);
    hc_metric_add(gw_m.rebalance_closes, NULL, (double)closed);
    gw_rebalance_shed(rb->r, (long)closed, now);
}

gw_rebalancer *gw__rebalancer_new(gw_server *s)
{
    if (!s->cfg.rebalance || !s->link)
        return NULL;
    gw_rebalancer *rb = hc_calloc(1, sizeof(*rb));
    rb->s = s;
    gw_rebalance_opts o = {.threshold = s->cfg.rebalance_threshold,
                           .rate = s->cfg.rebalance_rate,
                           .stale_ms = GW_REBALANCE_STALE_MS,
                           .settle_ms = GW_REBALANCE_SETTLE_MS};
    rb->r = gw_rebalance_new(s->cfg.gateway_id, &o);
    gw_link_subscribe(s->link, GW_FLEET_APP, GW_FLEET_CHANNEL);
    uv_timer_init(s->loop, &rb->timer);
    rb->timer.data = rb;
    uv_timer_start(&rb->timer, tick, GW_REBALANCE_TICK_MS, GW_REBALANCE_TICK_MS);
    hc_info("rebalance on: above %g x the fleet mean, at most %g closes/s",
            s->cfg.rebalance_threshold, s->cfg.rebalance_rate);
    return rb;
}

bool gw__rebalancer_event(gw_rebalancer *rb, const Herald__Event *ev)
{
    if (!ev->app_id || strcmp(ev->app_id, GW_FLEET_APP) != 0)
        return false;
    if (!rb || !ev->channel || strcmp(ev->channel, GW_FLEET_CHANNEL) != 0)
        return true; /* never delivered to a client */
    char text[160];
    if (ev->data.len >= sizeof(text))
        return true;
    memcpy(text, ev->data.data, ev->data.len);
    text[ev->data.len] = '\0';
    long conns;
    int at = 0;
    if (sscanf(text, "%ld %n", &conns, &at) == 1 && at > 0 && text[at])
        gw_rebalance_peer(rb->r, text + at, conns, hc_mono_ms());
    return true;
}

static void timer_closed(uv_handle_t *h)
{
    gw_rebalancer *rb = h->data;
    gw_rebalance_free(rb->r);
    free(rb);
}

void gw__rebalancer_free(gw_rebalancer *rb)
{
    if (!rb)
        return;
    report(rb, -1); /* best effort: the link closes next */
    uv_timer_stop(&rb->timer);
    uv_close((uv_handle_t *)&rb->timer, timer_closed);
}
