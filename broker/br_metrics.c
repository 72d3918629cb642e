/*
 * br_metrics: registration of the broker's metric families (see
 * br_metrics.h). Owns the br_m handle table; the registry owns the
 * families.
 */
#include "br_metrics.h"

br_metrics br_m;

static const double redis_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                      0.05,   0.1,   0.25,   0.5,   1,    2.5};

void br_metrics_init(hc_metrics *r)
{
    br_m.links = hc_metrics_gauge(r, "herald_broker_gateway_links",
                                  "Gateway links connected to this broker.", NULL);
    br_m.channels =
        hc_metrics_gauge(r, "herald_broker_channels",
                         "Channels some gateway is interested in at this broker.", NULL);
    br_m.ready = hc_metrics_gauge(r, "herald_ready", "1 when this process reports ready.", NULL);
    br_m.draining = hc_metrics_gauge(r, "herald_draining", "1 while draining (SIGTERM).", NULL);
    br_m.redis_up = hc_metrics_gauge(
        r, "herald_redis_up", "1 while both Redis connections (commands, pub/sub) are up.", NULL);
    br_m.redis_seconds = hc_metrics_histogram(
        r, "herald_redis_command_duration_seconds", "Redis command round trips, by command.",
        "command", redis_bounds, sizeof(redis_bounds) / sizeof(redis_bounds[0]));
    br_m.redis_errors = hc_metrics_counter(r, "herald_redis_errors_total",
                                           "Redis command failures, by kind.", "kind");
    br_m.probe_age = hc_metrics_gauge(
        r, "herald_redis_pubsub_probe_age_seconds",
        "Seconds since the broker last received its own pub/sub probe (-1: never).", NULL);
    br_m.publishes = hc_metrics_counter(r, "herald_broker_publishes_total",
                                        "Publishes appended to Redis, by result.", "result");
}
