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
 * Created by gw_main when --apps-redis is on; the view (what is applied,
 * how) is the pure, unit-tested common/hc_apps_view.c, which the brokers
 * use too (broker/br_apps_redis.c, for webhooks).
 */
#ifndef GW_APPS_REDIS_H
#define GW_APPS_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "gw_link.h"
#include "hc_apps.h"
#include "hc_apps_view.h"

typedef struct gw_apps_redis gw_apps_redis;

/* link and apps are borrowed; refresh_ms 0 = 1000. Polls at once. */
gw_apps_redis *gw_apps_redis_new(uv_loop_t *loop, gw_link *link, hc_apps *apps, unsigned refresh_ms,
                                 hc_apps_changed_fn fn, void *ud);
/* Stops polling (before the link closes); frees itself once its timer is
 * closed and the call in flight answered. */
void gw_apps_redis_stop(gw_apps_redis *r);

#endif
