/*
 * br_apps_redis: the broker's side of apps defined in Redis
 * (--apps-redis): brokers send the webhooks, so they must know the apps
 * operators add, change, disable and remove in the hash `herald:apps`
 * (docs/apps.md) while the cluster runs, as the gateways do.
 *
 * Every refresh_ms it runs the "apps" cluster operation
 * (broker/lua/cluster_apps.lua, the same one gateways send as a
 * ClusterCall) on the broker's cluster connection, asking for the hash if
 * herald:apps:version differs from the one it has (and for the whole hash
 * every 30 s anyway), and applies the answer to the broker's registry in
 * place with the gateways' rules (common/hc_apps_view.c: the apps file
 * and environment win; bad entries skipped). What changed goes to a
 * callback (br_main.c: br_webhooks_app_changed rewrites the app's webhooks
 * and its entry in herald:webhooks:mask); ready is called once, after the
 * first answer was applied. It owns the view and one timer; it does not
 * own the cluster or the registry, and does no webhook work itself.
 * Created and stopped by br_main.c.
 */
#ifndef BR_APPS_REDIS_H
#define BR_APPS_REDIS_H

#include <uv.h>

#include "br_cluster.h"
#include "hc_apps.h"
#include "hc_apps_view.h"

typedef struct br_apps_redis br_apps_redis;

/* cluster and apps are borrowed; refresh_ms 0 = 1000. Polls at once. */
br_apps_redis *br_apps_redis_new(uv_loop_t *loop, br_cluster *cluster, hc_apps *apps,
                                 unsigned refresh_ms, hc_apps_changed_fn fn,
                                 void (*ready)(void *ud), void *ud);
/* Stops polling (before the cluster is freed); frees itself once its
 * timer is closed and the call in flight answered. */
void br_apps_redis_stop(br_apps_redis *r);

#endif
