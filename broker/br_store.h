/*
 * br_store: the interface between the broker core and the durable store.
 *
 * The core (br_core.c) appends events to a channel and asks for the live
 * feed of channels it has interested gateways for; a store implements that
 * on Redis (br_store_redis.c) or, later, in memory. The store knows nothing
 * about links or frames: an event is an opaque byte string (the core's
 * encoding), and every entry appended to a channel it follows comes back
 * through on_live, in offset order, whichever broker appended it. The store
 * is created first; br_core_new installs on_live/on_live_ctx. Single
 * threaded: everything runs on the caller's event loop.
 */
#ifndef BR_STORE_H
#define BR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct br_store br_store;

/* Outcome of one publish. error is NULL on success (then epoch and offset
 * tell where the event was written), else a sentence (epoch NULL, offset 0).
 * Pointers are valid only during the call. */
typedef void (*br_publish_done_fn)(void *arg, const char *error, const char *epoch,
                                   uint64_t offset);

/* One entry appended to a followed channel. All pointers are valid only
 * during the call; event[0..event_len) is what publish was given. */
typedef void (*br_live_fn)(void *ctx, const char *app_id, const char *channel, const char *epoch,
                           uint64_t offset, const uint8_t *event, size_t event_len);

/* One history entry handed to a br_replay_done_fn. */
typedef struct br_replay_entry {
    uint64_t offset;
    const uint8_t *event; /* what publish was given */
    size_t event_len;
} br_replay_entry;

/* What to read (see herald.ReplayRequest). since_epoch non-NULL: entries
 * after since_offset; else rewind > 0: the last rewind entries; else none
 * (position only). limit caps the number of entries (> 0). */
typedef struct br_replay_query {
    const char *since_epoch;
    uint64_t since_offset;
    uint32_t rewind;
    uint32_t limit;
    bool page;  /* see herald.ReplayRequest.page */
    bool cache; /* rewind 1: the last entry that is not pusher_internal:
                   (herald.ReplayRequest.cache) */
} br_replay_query;

/* Outcome of one replay. error is NULL on success; epoch ("" when the
 * channel has no history) and offset are the channel's position, read
 * atomically with the entries (oldest first). recovered: see
 * herald.ReplayResponse; more: the limit cut the answer. Pointers are valid
 * only during the call. */
typedef void (*br_replay_done_fn)(void *arg, const char *error, const char *epoch, uint64_t offset,
                                  bool recovered, bool more, const br_replay_entry *entries,
                                  size_t n);

typedef struct br_store_ops {
    /* Appends event[0..len) (copied) to (app_id, channel). done is called
     * exactly once: on success after the entry is durable, on failure with
     * an error — possibly before publish returns (e.g. store unavailable),
     * and at the latest when the store is freed. */
    void (*publish)(br_store *s, const char *app_id, const char *channel, const uint8_t *event,
                    size_t len, br_publish_done_fn done, void *arg);
    /* Starts / stops following the live feed of (app_id, channel). The core
     * calls each at most once per change (first interest, last interest). */
    void (*subscribe_live)(br_store *s, const char *app_id, const char *channel);
    void (*unsubscribe_live)(br_store *s, const char *app_id, const char *channel);
    /* Fails every pending publish, releases everything. */
    void (*free)(br_store *s);
    /* Reads history (br_replay.c is the caller). done is called exactly
     * once, like publish's. May be NULL (last, so stores written before it
     * still compile): a store without history (the core
     * then answers "history is not available"). */
    /* publish with the channel's own bound (size events, ttl seconds; 0 =
     * the store's default). May be NULL: publish is used instead. */
    void (*publish_bounded)(br_store *s, const char *app_id, const char *channel,
                            const uint8_t *event, size_t len, uint32_t size, uint32_t ttl,
                            br_publish_done_fn done, void *arg);
    void (*replay)(br_store *s, const char *app_id, const char *channel, const br_replay_query *q,
                   br_replay_done_fn done, void *arg);
} br_store_ops;

struct br_store {
    const br_store_ops *ops;
    br_live_fn on_live; /* set by br_core_new */
    void *on_live_ctx;
    /* Set by br_core_new (the ctx is on_live_ctx); a store calls it when
     * its live feed of (app_id, channel) takes effect (first subscription
     * or after a reconnect): entries appended before may not have come
     * through on_live. Optional for a store. */
    void (*on_resync)(void *ctx, const char *app_id, const char *channel);
};

#endif
