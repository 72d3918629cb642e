/*
 * gw_recovery: resume, rewind, gap repair and re-home catch-up on the
 * gateway.
 *
 * Owns the replay requests this gateway sends for them and the reply a
 * resuming subscriber gets: pusher_internal:subscription_succeeded with
 * "recovered" and "position", then the replayed events, then (through
 * gw_subs_release) the live events that arrived meanwhile, without a gap
 * or a duplicate. Gap repair and re-home catch-up hand the missing events
 * to gw_subs_repair_done. It keeps no per-channel state of its own (that is
 * in gw_subs) and does not parse client messages (gw_pusher does). Created
 * by gw_server_start; called from the gw_pusher io, the gw_subs gap hook
 * and the link's re-home callback.
 */
#ifndef GW_RECOVERY_H
#define GW_RECOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "gw_link.h"
#include "gw_subs.h"

typedef struct gw_recovery gw_recovery;

/* subs and link are borrowed (link may be NULL); installs the link's
 * re-home callback. headroom: bytes in front of each frame (LWS_PRE). */
gw_recovery *gw_recovery_new(gw_subs *subs, gw_link *link, size_t headroom);
/* Stops using subs and link; the object goes when its last request has
 * been answered (or failed by the link's close). */
void gw_recovery_free(gw_recovery *r);
/* fn(ud, app_id, channel) is called when a cache channel subscriber is
 * sent pusher:cache_miss (the cache_miss webhook). */
typedef void (*gw_recovery_miss_fn)(void *ud, const char *app_id, const char *channel);
void gw_recovery_on_cache_miss(gw_recovery *r, gw_recovery_miss_fn fn, void *ud);

/* s has just joined (app_id, channel) and asked to resume after since
 * ("<epoch>:<offset>", NULL if not) or for the last `rewind` events. Sends
 * subscription_succeeded and the events when the broker answers, and
 * {"event":"pusher:cache_miss","channel":C} after it when cache_miss is set
 * and there was no event. */
void gw_recovery_subscribe(gw_recovery *r, gw_subscriber *s, const char *app_id,
                           const char *channel, const char *since, uint32_t rewind,
                           bool cache_miss);
/* s has just been told subscription_succeeded on the cache channel
 * (app_id, channel) (presence-cache-: with the members): sends its last
 * event that is not pusher_internal:, or pusher:cache_miss, before any
 * live event that follows. */
void gw_recovery_cache(gw_recovery *r, gw_subscriber *s, const char *app_id, const char *channel);
/* gw_subs gap hook: fetch what follows (epoch, last). */
void gw_recovery_gap(gw_recovery *r, const char *app_id, const char *channel, const char *epoch,
                     uint64_t last);
/* gw_link re-home callback: catch up from the channel's last position. */
void gw_recovery_rehome(void *r, const char *app_id, const char *channel);

/* Parses "<epoch>:<offset>" into epoch (NUL-terminated) and *offset.
 * Returns false when malformed. */
bool gw_recovery_parse_id(const char *id, char *epoch, size_t epoch_len, uint64_t *offset);

#endif
