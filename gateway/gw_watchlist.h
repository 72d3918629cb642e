/*
 * gw_watchlist: watchlist online / offline events (pusher.user.watchlist).
 *
 * Owns the cluster-wide "user is online" state as this gateway sees it and
 * the pusher_internal:watchlist_events frames. A user is online while at
 * least one of its connections, on any gateway, is signed in: every
 * signed-in connection is a member of the internal presence channel
 * #herald-online-<user id> (joined and left through gw_presence, so the
 * holders count, the liveness sweep of a dead gateway and the re-announce
 * after a lapse all come from the presence machinery). That channel's
 * member_added / member_removed events are its user's online / offline
 * events. A connection watching users [a, b] is subscribed, in the local
 * table only, to #herald-online-a and #herald-online-b; gw_subs frames
 * their events through gw_watchlist_frame as watchlist_events (and drops
 * any other event there). On sign-in one "online" ClusterCall reads, in
 * one Redis script, which watched users are online and each channel's
 * position; the connection's live frames on those channels are held until
 * the answer, then it gets the initial state ("online" and "offline"
 * lists) and the held events after that position, and a channel whose
 * interest is new catches up from there in the stream (gw_recovery), so
 * no change is lost or told twice. It does not parse sign-ins (gw_user does) nor write to
 * sockets (it queues frames through gw_subs). Created by gw_server; called
 * from its io glue (sign-in, close) and from gw_subs (framing).
 */
#ifndef GW_WATCHLIST_H
#define GW_WATCHLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "gw_link.h"
#include "gw_presence.h"
#include "gw_subs.h"
#include "hc_apps.h"

#define GW_WATCHLIST_PREFIX "#herald-online-"

struct hc_sbuf;

/* True when channel is an online channel (#herald-online-<id>). */
bool gw_watchlist_channel(const char *channel);
/* Frames an event of an online channel as its watchers see it:
 * {"event":"pusher_internal:watchlist_events","data":"{\"events\":[{\"name\":
 * \"online\",\"user_ids\":[\"<id>\"]}]}"} for member_added, "offline" for
 * member_removed; appends nothing for any other event. */
void gw_watchlist_frame(struct hc_sbuf *b, const Herald__Event *ev);
/* The initial frame from the "online" call's answer json[0..len) (an
 * array of [user_id, 0|1, epoch, offset]): "online" with those online and
 * "offline" with the others, each only when not empty. Returns false when
 * the answer is malformed. */
bool gw_watchlist_initial(struct hc_sbuf *b, const char *json, size_t len);

typedef struct gw_watchlist gw_watchlist;

struct gw_recovery;
/* subs, presence, link and rec (catch-up after a new interest) are
 * borrowed; headroom: bytes in front of each frame (LWS_PRE). */
gw_watchlist *gw_watchlist_new(gw_subs *subs, gw_presence *presence, gw_link *link,
                               struct gw_recovery *rec, size_t headroom);
/* Stops using subs, presence and link; freed once the calls in flight
 * are answered. */
void gw_watchlist_free(gw_watchlist *w);
/* s (socket_id, on app) has signed in as user_id (previously: previous,
 * "" if none) watching ids[0..n). */
void gw_watchlist_signed_in(gw_watchlist *w, gw_subscriber *s, const hc_app *app,
                            const char *socket_id, const char *previous, const char *user_id,
                            const char *const *ids, size_t n);
/* The connection signed in as user_id is closing (its subscriptions are
 * left by the caller): its user may go offline. */
void gw_watchlist_closed(gw_watchlist *w, const char *app_id, const char *socket_id,
                         const char *user_id);

#endif
