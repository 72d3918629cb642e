/*
 * gw_apps_redis: apps defined in Redis, added, changed, disabled and
 * removed while the gateway runs (--apps-redis).
 *
 * Operators keep one JSON object per app (the fields of an apps file
 * entry, Soketi's names) in the hash `herald:apps` (field: the app id) and
 * bump `herald:apps:version` with every change (scripts/herald-apps does
 * both in one MULTI). Every --apps-refresh-ms each gateway asks a broker,
 * with one ClusterCall "apps" (broker/lua/cluster_apps.lua), for the hash
 * if the version differs from the one it has (and for the whole hash every
 * 30 s anyway, should a change come without a version bump). It owns the
 * gateway's view of those apps (id -> the JSON text last applied) and
 * applies the differences to the registry in place (hc_apps_put /
 * hc_apps_remove): apps from the apps file and the environment win over
 * Redis entries with the same id and are never changed from Redis. What
 * changed is reported to a callback (gw_server closes the connections of
 * an app that was disabled, 4003, or removed, 4001). It keeps no
 * connection state and does not parse app settings itself (hc_apps does).
 * Created by gw_main when --apps-redis is on; gw_apps_view is the pure,
 * unit-tested part.
 */
#ifndef GW_APPS_REDIS_H
#define GW_APPS_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "gw_link.h"
#include "hc_apps.h"

typedef enum { GW_APP_ADDED, GW_APP_CHANGED, GW_APP_REMOVED } gw_app_change;
/* app was added / changed (possibly disabled) / removed (still valid). */
typedef void (*gw_apps_changed_fn)(void *ud, const hc_app *app, gw_app_change what);

/* ---- the pure part ---------------------------------------------------- */
typedef struct gw_apps_view gw_apps_view;

/* Remembers the apps already in apps (file, environment) as fixed. */
gw_apps_view *gw_apps_view_new(const hc_apps *apps);
void gw_apps_view_free(gw_apps_view *v);
/* The version of the last answer applied (-1 before the first). */
int64_t gw_apps_view_version(const gw_apps_view *v);
/* Applies one answer of the "apps" call, json[0..len):
 * {"version":"N"} (unchanged) or {"version":"N","apps":{"<id>":"<app JSON
 * text>",...}} (the whole hash). Returns false when it is malformed
 * (nothing changes). Bad entries are logged once and skipped (an app
 * that was good keeps its last good settings). */
bool gw_apps_view_apply(gw_apps_view *v, hc_apps *apps, const char *json, size_t len,
                        gw_apps_changed_fn fn, void *ud);

/* ---- the polling part ------------------------------------------------- */
typedef struct gw_apps_redis gw_apps_redis;

/* link and apps are borrowed; refresh_ms 0 = 1000. Polls at once. */
gw_apps_redis *gw_apps_redis_new(uv_loop_t *loop, gw_link *link, hc_apps *apps, unsigned refresh_ms,
                                 gw_apps_changed_fn fn, void *ud);
/* Stops polling (before the link closes); frees itself once its timer is
 * closed and the call in flight answered. */
void gw_apps_redis_stop(gw_apps_redis *r);

#endif
