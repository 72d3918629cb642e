/*
 * br_webhooks: the broker's webhook queue consumer.
 *
 * Webhook events are queued in the Redis stream herald:webhooks by the
 * cluster scripts (broker/lua/cluster_lib.lua: occupied / vacated /
 * subscription_count / member_added / member_removed, in the same script
 * as the transition; cluster_webhook.lua: client_event, cache_miss sent by
 * gateways). Every broker reads it through the consumer group "herald"
 * (XREADGROUP, consumer name = broker id), hands the events to a sender
 * (common/io/hc_webhook_send.h: batching, signing, retries) and XACKs +
 * XDELs an entry once it was delivered or given up. A restarted broker
 * first re-reads its own pending entries; entries pending at a consumer
 * that has not touched them for claim_ms (a dead broker) are taken over
 * with XAUTOCLAIM, while a live broker keeps the entries it is still
 * retrying by re-claiming them (XCLAIM JUSTID) every claim_ms / 3. It also
 * writes, per app, which event types its webhooks want into
 * herald:webhooks:mask, which the scripts read, and rewrites an app's
 * entry when the app changes at run time (apps from Redis,
 * br_apps_redis.c via br_main.c: br_webhooks_app_changed). Owns its own
 * hiredis connection and the sender. Created and freed by br_main.c.
 */
#ifndef BR_WEBHOOKS_H
#define BR_WEBHOOKS_H

#include <stddef.h>
#include <uv.h>

#include "hc_apps.h"

typedef struct br_webhooks br_webhooks;

typedef struct br_webhooks_opts {
    const char *host;
    int port;
    const char *consumer; /* this broker's id */
    const hc_apps *apps;  /* borrowed; must outlive the consumer */
    unsigned claim_ms;    /* idle time after which another broker's entry is taken */
    bool wait_for_apps;   /* read no events before br_webhooks_apps_ready (apps from Redis) */
} br_webhooks_opts;

/* Fills apps as the gateway does: the apps file (when file is non-empty)
 * and/or the default app from HERALD_DEFAULT_APP_* / SOKETI_DEFAULT_APP_*
 * (always without a file; with one, when *_DEFAULT_APP_ID is set).
 * Returns 0, or -1 with a sentence in err. */
int br_webhooks_load_apps(const char *file, hc_apps *apps, char *err, size_t errlen);

/* NULL with a sentence in err when an app's webhooks are invalid. */
br_webhooks *br_webhooks_new(uv_loop_t *loop, const br_webhooks_opts *o, char *err, size_t errlen);
/* The apps from Redis were read once: events may be read now (with
 * wait_for_apps, so that no event of an app this broker does not know yet
 * is read and dropped). */
void br_webhooks_apps_ready(br_webhooks *w);
/* app (in the apps, changed in place) was added or changed (gone false),
 * or removed (gone true): the sender takes its webhooks (none when it is
 * disabled or gone, or its webhooks are invalid: logged) and its entry in
 * herald:webhooks:mask is rewritten, or deleted when it wants nothing. */
void br_webhooks_app_changed(br_webhooks *w, const hc_app *app, bool gone);
/* Events the sender holds (not delivered yet). */
size_t br_webhooks_depth(const br_webhooks *w);
/* Stops and frees, as the loop runs (held entries stay pending in Redis
 * for this consumer, or another, to deliver). */
void br_webhooks_free(br_webhooks *w);

#endif
