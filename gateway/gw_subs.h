/*
 * gw_subs: the gateway's local subscription table and event fan-out.
 *
 * Owns the map (app_id, channel) -> list of local subscribers, each
 * subscriber's own list of memberships (indexed by a map once it holds
 * more than GW_SUBS_INDEX_MIN, so subscribe, unsubscribe and "is this
 * connection subscribed" stay O(1) for connections on many channels while
 * the usual one on a few costs no map; a closing connection leaves in
 * O(its subscriptions)), and the last delivered (epoch, offset) per
 * channel for de-duplication. It frames a broker Event once into a shared
 * hc_rbuf and pushes a reference onto each subscriber's bounded gw_outq.
 * It does not own connections, write to sockets or talk to brokers: it
 * reports through hooks (queue became non-empty, queue overflowed, first
 * subscriber of a channel, last one gone), which gw_server wires to lws and
 * to the broker link. Called by gw_server (and its gw_pusher io glue).
 */
#ifndef GW_SUBS_H
#define GW_SUBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_outq.h"
#include "hc_map.h"
#include "herald.pb-c.h"

typedef struct gw_subs gw_subs;
struct gw_sub;

/* A subscriber's memberships are a list while it has at most this many,
 * and a list plus an index (map) beyond. */
#define GW_SUBS_INDEX_MIN 8

/* One connection as the table sees it; embedded in the connection. */
typedef struct gw_subscriber {
    const char *socket_id; /* borrowed (the connection's); events carrying it skip s */
    struct gw_sub *subs;   /* its memberships (gw_subs_int.h), newest first */
    hc_map *index;         /* channel key -> gw_sub*: only above GW_SUBS_INDEX_MIN */
    gw_outq q;             /* frames waiting for the socket to be writable */
    uint32_t nsubs;        /* memberships */
    bool sealed;           /* overflowed or closing: further frames are dropped */
} gw_subscriber;

typedef struct gw_subs_hooks {
    /* s's queue went from empty to non-empty: ask for a writable callback. */
    void (*wake)(void *ud, gw_subscriber *s);
    /* s's queue is full: cut it off (called once per subscriber). */
    void (*overflow)(void *ud, gw_subscriber *s);
    /* (app_id, channel) got its first local subscriber / lost its last. */
    void (*first)(void *ud, const char *app_id, const char *channel);
    void (*last)(void *ud, const char *app_id, const char *channel);
    /* (app_id, channel) got offset > last + 1 in epoch: fetch the events
     * after last and call gw_subs_repair_done (may be NULL: no repair). */
    void (*gap)(void *ud, const char *app_id, const char *channel, const char *epoch,
                uint64_t last);
} gw_subs_hooks;

/* headroom: bytes reserved in front of each framed event (LWS_PRE).
 * hooks is copied; ud is passed back to every hook. */
gw_subs *gw_subs_new(const gw_subs_hooks *hooks, void *ud, size_t headroom);
/* Frees the table. Every subscriber must have left (gw_subs_leave_all). */
void gw_subs_free(gw_subs *t);

/* socket_id is borrowed: it must outlive s (NULL: ""). The hooks get s;
 * its owner finds itself from it (s is embedded in the connection). */
void gw_subscriber_init(gw_subscriber *s, const char *socket_id, size_t queue_cap);
/* Leaves every channel (firing `last` as needed) and drops queued frames. */
void gw_subs_leave_all(gw_subs *t, gw_subscriber *s);
/* Accepts no more frames for s (it is closing); what is queued stays. */
static inline void gw_subscriber_seal(gw_subscriber *s)
{
    s->sealed = true;
}
static inline size_t gw_subscriber_count(const gw_subscriber *s)
{
    return s->nsubs;
}

/* Adds s to (app_id, channel). Returns 1 if added, 0 if already there. */
int gw_subs_join(gw_subs *t, gw_subscriber *s, const char *app_id, const char *channel);
/* Removes s from (app_id, channel). Returns 1 if removed, 0 if it was not
 * subscribed. */
int gw_subs_leave(gw_subs *t, gw_subscriber *s, const char *app_id, const char *channel);
bool gw_subs_is_member(const gw_subscriber *s, const char *app_id, const char *channel);

/* Queues a frame for one subscriber (a direct reply); takes a new
 * reference. Returns false if it was dropped (the subscriber is sealed,
 * or its queue is full: then it gets sealed and the overflow hook fires). */
bool gw_subs_push(gw_subs *t, gw_subscriber *s, hc_rbuf *frame);

/* Delivers a broker event to the local subscribers of its channel: drops
 * it when its (epoch, offset) was already delivered, frames it once and
 * queues it for every subscriber except the one whose socket_id equals the
 * event's. Returns the number of subscribers it was queued for. */
size_t gw_subs_deliver(gw_subs *t, const Herald__Event *ev);

/* ---- recovery (gw_subs_recovery.c) ------------------------------------
 * A member that resumes or rewinds is "held": live frames for it wait
 * while its replay is in flight, then gw_subs_release queues those the
 * replay did not cover. A channel that sees a gap buffers its events until
 * gw_subs_repair_done hands it the missing ones. Nothing here talks to a
 * broker: gw_recovery.c does. */

/* Holds s's live frames on (app_id, channel). Returns the hold's id (> 0),
 * or 0 when s is not subscribed there. */
uint64_t gw_subs_hold(gw_subs *t, gw_subscriber *s, const char *app_id, const char *channel);
/* The subscriber whose hold on (app_id, channel) has this id, or NULL
 * when it left (or closed) meanwhile. */
gw_subscriber *gw_subs_held(gw_subs *t, const char *app_id, const char *channel, uint64_t id);
/* Ends s's hold: queues the held frames after (epoch, upto), drops the
 * others, and keeps dropping live frames up to there (they were replayed).
 * epoch NULL or "": queue every held frame. Seeds the channel's position
 * with (epoch, position) when it has delivered nothing yet, so a live event
 * missed before the first one is seen as a gap. */
void gw_subs_release(gw_subs *t, gw_subscriber *s, const char *app_id, const char *channel,
                     const char *epoch, uint64_t upto, uint64_t position);
/* Starts a repair of (app_id, channel) from its last delivered position
 * (after a broker change or a resync): events wait until
 * gw_subs_repair_done. Returns false (nothing started) when the channel has
 * no position or is already repairing (then one more catch-up follows the
 * current one); else copies the position to epoch / *last. */
bool gw_subs_repair_begin(gw_subs *t, const char *app_id, const char *channel, char *epoch,
                          size_t epoch_len, uint64_t *last);
/* Ends the repair of (app_id, channel): delivers r's events (r NULL or
 * !r->ok or !r->recovered: none, and the gap is accepted with a warning),
 * then the events that waited. A channel that is gone is ignored. */
void gw_subs_repair_done(gw_subs *t, const char *app_id, const char *channel,
                         const Herald__ReplayResponse *r);
/* Local subscribers of (app_id, channel) (0 when none). */
size_t gw_subs_local_count(const gw_subs *t, const char *app_id, const char *channel);
/* Calls fn for every channel with local subscribers (count = how many), or
 * for every channel subscriber s is in. fn must not change the table. */
typedef void (*gw_subs_channel_fn)(void *ud, const char *app_id, const char *channel, size_t count);
void gw_subs_each_channel(const gw_subs *t, gw_subs_channel_fn fn, void *ud);
void gw_subscriber_each(const gw_subscriber *s, gw_subs_channel_fn fn, void *ud);

/* Number of channels with at least one local subscriber. */
size_t gw_subs_channel_count(const gw_subs *t);
/* Frames ev as the client sees it into b (appended):
 * {"event":N,"channel":C,"data":D[,"user_id":U],"id":"<epoch>:<offset>"}. */
struct hc_sbuf;
void gw_subs_frame_event(struct hc_sbuf *b, const Herald__Event *ev);

#endif
