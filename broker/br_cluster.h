/*
 * br_cluster: the broker core's interface to cluster state.
 *
 * Cluster state is what every gateway must see the same way and no single
 * process may hold: presence members and which (gateway, connection) holds
 * each, gateway liveness, cluster-wide subscription counts, and the
 * answers to channel queries built from them. The core (br_core.c) hands
 * each gateway ClusterCall to call() and sends the answer back as a
 * ClusterReply; br_cluster_redis.c implements it on Redis with atomic Lua
 * scripts (broker/lua/cluster_*.lua) and also sweeps dead gateways. A
 * core without a cluster (none installed) answers every call with an
 * error, so presence is refused rather than wrong. Single threaded.
 */
#ifndef BR_CLUSTER_H
#define BR_CLUSTER_H

#include <stddef.h>

#include "herald.pb-c.h"

typedef struct br_cluster br_cluster;

/* Outcome of one call: error NULL and json[0..len) the answer, or error a
 * sentence. Pointers are valid only during the call. */
typedef void (*br_cluster_done_fn)(void *arg, const char *error, const char *json, size_t len);

typedef struct br_cluster_ops {
    /* Runs call (see ClusterCall in proto/herald.proto for the ops); done
     * is called exactly once, possibly before call returns. */
    void (*call)(br_cluster *cl, const Herald__ClusterCall *call, br_cluster_done_fn done,
                 void *arg);
    /* Fails what is pending and releases everything. */
    void (*free)(br_cluster *cl);
} br_cluster_ops;

struct br_cluster {
    const br_cluster_ops *ops;
};

#endif
