/*
 * gw_link: the gateway's view of the broker tier, as an interface.
 *
 * A gw_link carries interest (subscribe / unsubscribe a channel), publishes
 * with an asynchronous acknowledgement, and hands every broker Event to the
 * handler gw_server installs. Which broker owns a channel, links coming
 * and going, re-homing and retries are the implementation's business:
 * gw_link_tcp.c (protobuf over TCP, one link per broker) or
 * gw_link_embedded.c (the broker core in this process). This header owns only the interface;
 * gw_server and gw_main are its callers.
 */
#ifndef GW_LINK_H
#define GW_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "herald.pb-c.h"

typedef struct gw_link gw_link;

/* One event to append to a channel; all strings borrowed for the call
 * (the implementation copies what it keeps). socket_id may be NULL. */
typedef struct gw_publish {
    const char *app_id;
    const char *channel;
    const char *name;
    const void *data;
    size_t data_len;
    const char *socket_id;
    const char *user_id;
    uint32_t history_size; /* the app's rule for the channel (hc_history_bound); */
    uint32_t history_ttl;  /* 0 = the broker's default */
} gw_publish;

/* Outcome of one publish: ok, or error (a sentence) when it failed. epoch
 * and offset say where the event was written when ok. Pointers are valid
 * only during the call. */
typedef struct gw_publish_result {
    bool ok;
    const char *error;
    const char *epoch;
    uint64_t offset;
} gw_publish_result;

typedef void (*gw_publish_cb)(void *ud, const gw_publish_result *r);

/* A history read (herald.ReplayRequest without request_id); strings
 * borrowed for the call. since_epoch non-NULL: resume after since_offset;
 * else rewind > 0: the last rewind events; else the position only. */
typedef struct gw_replay_req {
    const char *app_id;
    const char *channel;
    const char *since_epoch;
    uint64_t since_offset;
    uint32_t rewind;
    uint32_t limit; /* 0: the broker's maximum */
    bool page;      /* herald.ReplayRequest.page */
    bool cache;     /* herald.ReplayRequest.cache (with rewind 1) */
} gw_replay_req;

/* The broker's answer (r->ok false with r->error when the read failed,
 * including a lost link); r is valid only during the call. */
typedef void (*gw_replay_cb)(void *ud, const Herald__ReplayResponse *r);
/* (app_id, channel) moved to another broker: events may have been missed. */
typedef void (*gw_rehome_cb)(void *ud, const char *app_id, const char *channel);
/* A broker event; ev is valid only during the call. */
typedef void (*gw_event_cb)(void *ud, const Herald__Event *ev);

/* Outcome of one cluster call: error NULL and json[0..len) the answer, or
 * error a sentence. Pointers are valid only during the call. */
typedef void (*gw_call_cb)(void *ud, const char *error, const char *json, size_t len);

typedef struct gw_link_ops {
    /* A channel gained its first local subscriber. */
    void (*subscribe)(gw_link *l, const char *app_id, const char *channel);
    /* A channel lost its last local subscriber. */
    void (*unsubscribe)(gw_link *l, const char *app_id, const char *channel);
    /* Appends an event; cb is called exactly once, possibly before
     * publish returns (e.g. when no broker is up). */
    void (*publish)(gw_link *l, const gw_publish *p, gw_publish_cb cb, void *ud);
    /* True when at least one broker can take publishes now. */
    bool (*ready)(gw_link *l);
    /* Fails pending publishes, closes every handle, then calls done (from
     * the loop) and frees l. */
    void (*close)(gw_link *l, void (*done)(void *ud), void *ud);
    /* Reads a channel's history at its owner; cb is called exactly once,
     * possibly before replay returns. May be NULL (no history). */
    void (*replay)(gw_link *l, const gw_replay_req *r, gw_replay_cb cb, void *ud);
    /* Sends a ClusterCall (presence, counts, channel queries) to the broker
     * owning "<app_id>:<channel>" (any broker when channel is empty); cb is
     * called exactly once, possibly before call returns. call->request_id
     * is set by the link. May be NULL (no cluster state: see gw_presence). */
    void (*call)(gw_link *l, Herald__ClusterCall *call, gw_call_cb cb, void *ud);
} gw_link_ops;

struct gw_link {
    const gw_link_ops *ops;
    gw_event_cb on_event; /* set by gw_link_set_handler */
    void *on_event_ud;
    gw_rehome_cb on_rehome; /* set by gw_recovery_new; may be NULL */
    void *on_rehome_ud;
};

static inline void gw_link_set_handler(gw_link *l, gw_event_cb cb, void *ud)
{
    l->on_event = cb;
    l->on_event_ud = ud;
}
static inline void gw_link_subscribe(gw_link *l, const char *app_id, const char *channel)
{
    l->ops->subscribe(l, app_id, channel);
}
static inline void gw_link_unsubscribe(gw_link *l, const char *app_id, const char *channel)
{
    l->ops->unsubscribe(l, app_id, channel);
}
static inline void gw_link_publish(gw_link *l, const gw_publish *p, gw_publish_cb cb, void *ud)
{
    l->ops->publish(l, p, cb, ud);
}
static inline bool gw_link_ready(gw_link *l)
{
    return l->ops->ready(l);
}
/* Answers at once with an error when the link has no replay. */
void gw_link_replay(gw_link *l, const gw_replay_req *r, gw_replay_cb cb, void *ud);
static inline void gw_link_close(gw_link *l, void (*done)(void *ud), void *ud)
{
    l->ops->close(l, done, ud);
}

/* Sends a cluster call, or fails it at once when the link has none. */
static inline void gw_link_call(gw_link *l, Herald__ClusterCall *call, gw_call_cb cb, void *ud)
{
    if (l && l->ops->call)
        l->ops->call(l, call, cb, ud);
    else
        cb(ud, "cluster state is not available without a broker tier", NULL, 0);
}

/* The TCP/protobuf implementation: one link per broker in brokers_csv
 * ("host:port,host:port"), identifying itself as node_id. Starts
 * connecting at once. brokers_csv may instead be "dns:NAME:PORT": one link
 * per address NAME resolves to, re-resolved every refresh_s seconds
 * (gw_discovery.h). Returns NULL with a sentence in err when the list is
 * malformed. */
gw_link *gw_link_tcp_new(uv_loop_t *loop, const char *brokers_csv, unsigned refresh_s,
                         const char *node_id, char *err, size_t errlen);

/* Calls fn once per configured broker of a TCP link (only): its address
 * and whether its link is up. For the metrics. */
void gw_link_tcp_report(gw_link *l, void (*fn)(void *ud, const char *broker, bool up), void *ud);
/* Links over TLS (hc_tlslink): ctx (a client context, taken over and
 * freed with the link) verifies each broker's certificate, which must name
 * `name`, or each broker's host when name is NULL or empty. Call before
 * the loop runs. */
struct ssl_ctx_st;
void gw_link_tcp_set_tls(gw_link *l, struct ssl_ctx_st *ctx, const char *name);

/* The embedded implementation (gw_link_embedded.c): the broker core and an
 * in-memory store in this process, history_size entries kept per channel,
 * at most max_channels idle channels remembered. Always ready. */
gw_link *gw_link_embedded_new(uv_loop_t *loop, size_t history_size, size_t max_channels);

#endif
