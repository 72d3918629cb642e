/*
 * gw_webhooks: client_event / cache_miss reporting, and embedded mode's
 * occupancy detection and sender (see gw_webhooks.h).
 */
#include "gw_webhooks.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_buf.h"
#include "hc_log.h"
#include "hc_map.h"
#include "hc_mem.h"
#include "hc_webhook.h"
#include "hc_webhook_send.h"

#define FLUSH_MS 20

struct gw_webhooks {
    gw_link *link;
    gw_subs *subs;
    uv_timer_t flush; /* embedded: reads the dirty channels' counts */
    bool flush_open;
    hc_map dirty;  /* embedded: "<app>\0<channel>" -> (void *)1 */
    hc_map masks;  /* app id -> (uintptr_t) mask, apps with webhooks only */
    hc_whs *local; /* embedded mode: the sender; NULL with brokers */
    hc_map counts; /* embedded: "<app>\0<channel>" -> (uintptr_t) count */
    uint64_t next_token;
};

static void local_done(void *ud, uint64_t token, bool delivered)
{
    (void)ud;
    (void)token;
    (void)delivered; /* the sender logs and counts failures */
}

gw_webhooks *gw_webhooks_new(uv_loop_t *loop, gw_link *link, const hc_apps *apps, gw_subs *subs,
                             char *err, size_t errlen)
{
    gw_webhooks *w = hc_calloc(1, sizeof(*w));
    w->link = link;
    w->subs = subs;
    bool any = false;
    for (size_t i = 0; i < hc_apps_count(apps); i++) {
        const hc_app *a = hc_apps_at(apps, i);
        hc_wh_config c;
        char why[200];
        if (hc_wh_parse(a->webhooks, &c, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "app %s: %s", a->id, why);
            hc_map_free(&w->masks);
            free(w);
            return NULL;
        }
        unsigned m = hc_wh_config_mask(&c);
        hc_wh_config_free(&c);
        if (m) {
            hc_map_put(&w->masks, a->id, strlen(a->id), (void *)(uintptr_t)m);
            any = true;
        }
    }
    if (any && link && !link->ops->call) {
        w->local = hc_whs_new(loop, apps, local_done, w, err, errlen);
        if (!w->local) {
            hc_map_free(&w->masks);
            free(w);
            return NULL;
        }
        uv_timer_init(loop, &w->flush);
        w->flush.data = w;
        w->flush_open = true;
    }
    return w;
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

void gw_webhooks_free(gw_webhooks *w)
{
    if (!w)
        return;
    if (w->local && hc_whs_depth(w->local))
        hc_warn("webhooks: %zu undelivered event(s) dropped (embedded mode keeps them in memory)",
                hc_whs_depth(w->local));
    hc_whs_free(w->local);
    hc_map_free(&w->masks);
    hc_map_free(&w->counts);
    hc_map_free(&w->dirty);
    if (w->flush_open)
        uv_close((uv_handle_t *)&w->flush, on_closed);
    else
        free(w);
}

static unsigned mask_of(const gw_webhooks *w, const char *app_id)
{
    return (unsigned)(uintptr_t)hc_map_get(&w->masks, app_id, strlen(app_id));
}

void gw_webhooks_app_changed(gw_webhooks *w, const hc_app *app, bool gone)
{
    if (!w || !app)
        return;
    unsigned m = 0;
    hc_wh_config c;
    char why[200];
    if (!gone && app->enabled && hc_wh_parse(app->webhooks, &c, why, sizeof(why)) == 0) {
        m = hc_wh_config_mask(&c);
        hc_wh_config_free(&c);
    }
    if (m)
        hc_map_put(&w->masks, app->id, strlen(app->id), (void *)(uintptr_t)m);
    else
        hc_map_del(&w->masks, app->id, strlen(app->id));
}

static void ignore_answer(void *ud, const char *error, const char *json, size_t len)
{
    (void)ud;
    (void)json;
    (void)len;
    if (error)
        hc_debug("webhook not queued: %s", error);
}

/* Queues one event: in memory (embedded) or through the channel's broker. */
static void emit(gw_webhooks *w, const char *app_id, const char *channel, const hc_sbuf *ev)
{
    if (w->local) {
        hc_whs_push(w->local, ++w->next_token, app_id, ev->data, ev->len);
        return;
    }
    if (!w->link)
        return;
    Herald__ClusterCall c = HERALD__CLUSTER_CALL__INIT;
    c.op = "webhook";
    c.app_id = (char *)app_id;
    c.channel = (char *)channel;
    c.webhook.data = (uint8_t *)ev->data;
    c.webhook.len = ev->len;
    gw_link_call(w->link, &c, ignore_answer, NULL);
}

/* Embedded: compares the channel's local count with the last one seen. */
static void count_now(gw_webhooks *w, const char *key, size_t klen)
{
    const char *app_id = key, *channel = key + strlen(key) + 1;
    unsigned m = mask_of(w, app_id);
    size_t count = gw_subs_local_count(w->subs, app_id, channel);
    size_t before = (size_t)(uintptr_t)hc_map_get(&w->counts, key, klen);
    if (count)
        hc_map_put(&w->counts, key, klen, (void *)(uintptr_t)count);
    else
        hc_map_del(&w->counts, key, klen);
    hc_sbuf b = HC_SBUF_INIT;
    if (!before && count && (m & HC_WH_CHANNEL_OCCUPIED)) {
        hc_wh_event_channel(&b, HC_WH_CHANNEL_OCCUPIED, channel);
        emit(w, app_id, channel, &b);
    }
    if (count && count != before && (m & HC_WH_SUBSCRIPTION_COUNT)) {
        hc_sbuf_reset(&b);
        hc_wh_event_count(&b, channel, count);
        emit(w, app_id, channel, &b);
    }
    if (before && !count && (m & HC_WH_CHANNEL_VACATED)) {
        hc_sbuf_reset(&b);
        hc_wh_event_channel(&b, HC_WH_CHANNEL_VACATED, channel);
        emit(w, app_id, channel, &b);
    }
    hc_sbuf_free(&b);
}

static void on_flush(uv_timer_t *t)
{
    gw_webhooks *w = t->data;
    hc_map dirty = w->dirty;
    w->dirty = (hc_map)HC_MAP_INIT;
    hc_map_iter it;
    hc_map_iter_init(&it, &dirty);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));)
        count_now(w, e->key, e->klen);
    hc_map_free(&dirty);
}

void gw_webhooks_count_changed(gw_webhooks *w, const char *app_id, const char *channel)
{
    if (!w || !w->local || !mask_of(w, app_id))
        return;
    size_t a = strlen(app_id), klen = a + 1 + strlen(channel);
    char *key = hc_malloc(klen + 1);
    memcpy(key, app_id, a + 1);
    strcpy(key + a + 1, channel);
    hc_map_put(&w->dirty, key, klen, (void *)1);
    free(key);
    if (!uv_is_active((uv_handle_t *)&w->flush))
        uv_timer_start(&w->flush, on_flush, FLUSH_MS, 0);
}

void gw_webhooks_client_event(gw_webhooks *w, const char *app_id, const char *channel,
                              const char *event, const char *data, size_t len,
                              const char *socket_id, const char *user_id)
{
    if (!w || !(mask_of(w, app_id) & HC_WH_CLIENT_EVENT))
        return;
    hc_sbuf b = HC_SBUF_INIT;
    hc_wh_event_client(&b, channel, event, data, len, socket_id, user_id);
    emit(w, app_id, channel, &b);
    hc_sbuf_free(&b);
}

void gw_webhooks_cache_miss(gw_webhooks *w, const char *app_id, const char *channel)
{
    if (!w || !(mask_of(w, app_id) & HC_WH_CACHE_MISS))
        return;
    hc_sbuf b = HC_SBUF_INIT;
    hc_wh_event_channel(&b, HC_WH_CACHE_MISS, channel);
    emit(w, app_id, channel, &b);
    hc_sbuf_free(&b);
}
