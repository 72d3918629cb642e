/*
 * br_cluster_redis: br_cluster on Redis (see br_cluster.h).
 *
 * Owns its own hiredis connection (separate from the store's, so the
 * publish path is untouched), the cluster scripts (broker/lua/cluster_*.lua,
 * each prefixed with cluster_lib.lua, run by EVALSHA with EVAL on
 * NOSCRIPT), and the sweep timer that removes the state of gateways whose
 * liveness key expired. Created and freed by br_main.c.
 */
#ifndef BR_CLUSTER_REDIS_H
#define BR_CLUSTER_REDIS_H

#include <uv.h>

#include "br_cluster.h"

typedef struct br_cluster_redis_opts {
    const char *host;
    int port;
    long history_size; /* as the store's: member events go to the same streams */
    long history_ttl;
    unsigned sweep_ms; /* how often dead gateways are looked for; 0 = 1000 */
} br_cluster_redis_opts;

/* Starts connecting at once (retried with backoff; calls fail meanwhile).
 * Free with cl->ops->free(cl) before the loop closes. */
br_cluster *br_cluster_redis_new(uv_loop_t *loop, const br_cluster_redis_opts *opts);

#endif
