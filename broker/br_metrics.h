/*
 * br_metrics: the broker's Prometheus metrics (names, help, labels) and
 * the handles its modules update.
 *
 * Owns the br_m handle table, filled by br_metrics_init with families
 * registered in the process registry (hc_metrics). Until then every handle
 * is NULL and updates are no-ops (unit tests, and the embedded broker core
 * inside a gateway, which reports through the gateway's metrics instead).
 * br_store_redis.c counts Redis commands, latency, errors and the pub/sub
 * probe; br_main.c's scrape hook fills the gauges (links, channels, Redis
 * state, readiness).
 */
#ifndef BR_METRICS_H
#define BR_METRICS_H

#include "hc_metrics.h"

typedef struct br_metrics {
    hc_metric *links, *channels, *ready, *draining;
    hc_metric *redis_up, *redis_seconds, *redis_errors, *probe_age;
    hc_metric *publishes;
} br_metrics;

extern br_metrics br_m;

void br_metrics_init(hc_metrics *reg);

#endif
