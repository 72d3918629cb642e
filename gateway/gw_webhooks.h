/*
 * gw_webhooks: the webhook events a gateway sees itself, and embedded
 * mode's whole webhook pipeline.
 *
 * With brokers (the link has cluster calls), the gateway only reports what
 * no script can see: client events (client_event) and cache misses
 * (cache_miss) of apps whose webhooks want them, as a ClusterCall "webhook"
 * the broker queues in Redis (broker/lua/cluster_webhook.lua); occupancy,
 * counts and members are queued by the cluster scripts themselves. Without
 * brokers (embedded mode: the link has no cluster calls, so this process
 * is the whole cluster) it also turns local subscriber counts into
 * channel_occupied / channel_vacated / subscription_count and sends
 * everything itself from an in-memory queue (hc_webhook_send.h): events
 * not yet delivered when the process stops are lost. Owns the per-app
 * masks, the local counts (embedded) and the sender (embedded). Created
 * and freed by gw_server.c, which calls the hooks below.
 */
#ifndef GW_WEBHOOKS_H
#define GW_WEBHOOKS_H

#include <stddef.h>
#include <uv.h>

#include "gw_link.h"
#include "gw_subs.h"
#include "hc_apps.h"

typedef struct gw_webhooks gw_webhooks;

/* NULL with a sentence in err when an app's webhooks are invalid. subs
 * (borrowed) gives the local counts. */
gw_webhooks *gw_webhooks_new(uv_loop_t *loop, gw_link *link, const hc_apps *apps, gw_subs *subs,
                             char *err, size_t errlen);
/* Stops (embedded: drops what is not delivered) and frees as the loop runs. */
void gw_webhooks_free(gw_webhooks *w);

/* The local subscriber count of a channel changed or is about to (a
 * closing connection): embedded mode reads it 20 ms later (changes within
 * that time are coalesced, so a quick re-subscribe does not flap). */
void gw_webhooks_count_changed(gw_webhooks *w, const char *app_id, const char *channel);
/* A client event was published by socket_id (user_id: presence sender, or NULL). */
void gw_webhooks_client_event(gw_webhooks *w, const char *app_id, const char *channel,
                              const char *event, const char *data, size_t len,
                              const char *socket_id, const char *user_id);
/* app was added or changed (gone: removed) at run time (apps from Redis,
 * gw_server_app_changed): whether client_event / cache_miss are reported
 * for it follows its webhooks (none while it is disabled or gone, or when
 * they are invalid). With brokers only: embedded mode has no such apps. */
void gw_webhooks_app_changed(gw_webhooks *w, const hc_app *app, bool gone);
/* A subscriber of a cache channel found no cached event. */
void gw_webhooks_cache_miss(gw_webhooks *w, const char *app_id, const char *channel);

#endif
