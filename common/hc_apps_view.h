/*
 * hc_apps_view: the view of the apps kept in Redis (hash `herald:apps`,
 * counter `herald:apps:version`) and how an answer of the "apps" cluster
 * call (broker/lua/cluster_apps.lua) is applied to a registry in place.
 *
 * It maps each app id seen in the hash to the JSON text last seen for it
 * and applies the differences with hc_apps_put / hc_apps_remove: apps that
 * were in the registry when the view was made (apps file, environment) are
 * fixed and never changed from Redis. What changed is reported to a
 * callback. It does no I/O and keeps no connection state; it does not
 * parse app settings itself (hc_apps does). Used by gateway/gw_apps_redis.c
 * (gateways: connections and the HTTP API) and broker/br_apps_redis.c
 * (brokers: webhooks), which poll; both use the same rules. Pure,
 * unit-tested in tests/unit/test_hc_apps_view.c.
 */
#ifndef HC_APPS_VIEW_H
#define HC_APPS_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hc_apps.h"

typedef enum { HC_APP_ADDED, HC_APP_CHANGED, HC_APP_REMOVED } hc_app_change;
/* app was added / changed (possibly disabled) / removed (still valid). */
typedef void (*hc_apps_changed_fn)(void *ud, const hc_app *app, hc_app_change what);

typedef struct hc_apps_view hc_apps_view;

/* Remembers the apps already in apps (file, environment) as fixed. */
hc_apps_view *hc_apps_view_new(const hc_apps *apps);
void hc_apps_view_free(hc_apps_view *v);
/* The version of the last answer applied (-1 before the first). */
int64_t hc_apps_view_version(const hc_apps_view *v);
/* Applies one answer of the "apps" call, json[0..len):
 * {"version":"N"} (unchanged) or {"version":"N","apps":{"<id>":"<app JSON
 * text>",...}} (the whole hash). Returns false when it is malformed
 * (nothing changes). Bad entries are logged once and skipped (an app
 * that was good keeps its last good settings). */
bool hc_apps_view_apply(hc_apps_view *v, hc_apps *apps, const char *json, size_t len,
                        hc_apps_changed_fn fn, void *ud);

#endif
