/*
 * hc_webhook_send: delivers webhook events over HTTP with libcurl's multi
 * interface driven by a libuv loop (curl_multi_socket_action, one uv_poll
 * per socket curl opens, one uv_timer for curl's timeouts).
 *
 * Owns the events handed to it until they are delivered or given up: it
 * batches them per app for HC_WH_BATCH_MS (at most HC_WH_BATCH_MAX per
 * request), sends each of the app's targets the events that pass the
 * target's event types and filter as one signed POST (hc_webhook.h), and
 * retries a request that failed (transport error, timeout, non-2xx) with
 * exponential backoff until HC_WH_GIVE_UP_MS. When every request holding
 * an event has ended, done(token, delivered) is called: the caller then
 * forgets (XACK) the event. It does not own the queue the events come
 * from: broker/br_webhooks.c (a Redis stream with a consumer group) or
 * gateway/gw_webhooks.c (memory, embedded mode). Apps are borrowed (an
 * hc_app must stay valid while the sender lives, which hc_apps promises)
 * and their webhooks parsed at creation, or when an app is set again at
 * run time (hc_whs_set_app / hc_whs_remove_app, apps from Redis:
 * broker/br_webhooks.c); requests in flight keep the targets they were
 * made for. Single threaded.
 */
#ifndef HC_WEBHOOK_SEND_H
#define HC_WEBHOOK_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "hc_apps.h"
#include "hc_metrics.h"

#define HC_WH_BATCH_MS 50

typedef struct hc_whs hc_whs;

/* An event ended: delivered to every target that wanted it (true), or at
 * least one target gave up, or the app/event is unknown (false). */
typedef void (*hc_whs_done_fn)(void *ud, uint64_t token, bool delivered);

/* The metric families (herald_webhook_*), registered once per process in
 * reg; until then updates are no-ops. */
void hc_whs_metrics_init(hc_metrics *reg);

/* Parses every app's webhooks; returns NULL with a sentence in err when
 * one is invalid. */
hc_whs *hc_whs_new(uv_loop_t *loop, const hc_apps *apps, hc_whs_done_fn done, void *ud, char *err,
                   size_t errlen);
/* Adds app's webhooks, or replaces those held for its id: the batch being
 * gathered is sent at once to the old targets, requests in flight and
 * their retries keep them; later events use the new ones. Returns -1 with
 * a sentence in err when app's webhooks are invalid (nothing changes). */
int hc_whs_set_app(hc_whs *w, const hc_app *app, char *err, size_t errlen);
/* Forgets app_id's webhooks (what was gathered is sent at once): later
 * events of it end at once, not delivered. */
void hc_whs_remove_app(hc_whs *w, const char *app_id);
/* Union of the event types app_id's targets want (0: none, or no app). */
unsigned hc_whs_mask(const hc_whs *w, const char *app_id);
/* Takes an event (its JSON, copied) of app_id. done may be called before
 * push returns (nothing wants it). */
void hc_whs_push(hc_whs *w, uint64_t token, const char *app_id, const char *json, size_t len);
/* Events held (not yet ended). */
size_t hc_whs_depth(const hc_whs *w);
/* Aborts requests in flight (their events are not reported done) and
 * frees w once its handles are closed, as the loop runs. */
void hc_whs_free(hc_whs *w);

#endif
