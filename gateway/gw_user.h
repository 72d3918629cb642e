/*
 * gw_user: user sign-in and the server-only channels that serve users.
 *
 * Owns pusher:signin (user_data + auth checked with hc_sig_user_ok over
 * "<socket_id>::user::<user_data>", user_data's "id" taken as the user),
 * the pusher:signin_success reply, and the two internal subscriptions a
 * signed-in connection holds: #server-to-user-<id> (events the HTTP API
 * sends to the user; pusher-js also asks to subscribe to it after sign-in,
 * which is allowed for its own id only) and #herald-user-<id> (control
 * events between gateways, e.g. terminate_connections; never delivered to
 * clients). It also owns the app's sign-in deadline (user_authentication:
 * 4009 when a connection has not signed in in time) and reading the
 * watchlist out of user_data (the app's maxWatchlistSize). It does not
 * track users across the cluster (gw_watchlist does, told through
 * io->signed_in) nor write to sockets: it acts
 * through gw_pusher (replies, fatal errors) and its io (subscribe). Called
 * by gw_pusher (sign-in, subscribe/unsubscribe of # channels), gw_server
 * (control events, the sweep) and gw_api (user channel names).
 */
#ifndef GW_USER_H
#define GW_USER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "gw_pusher.h"

#define GW_USER_CHANNEL_PREFIX "#server-to-user-"
#define GW_USER_CONTROL_PREFIX "#herald-user-"
/* The control event that closes every connection of the user. */
#define GW_USER_TERMINATE_EVENT "herald:terminate_connections"

/* Handles pusher:signin (data: its data member). */
void gw_user_signin(gw_pusher_conn *c, json_t *data);
/* True when c may hold the server-only channel (its own
 * #server-to-user-<id> once signed in). */
bool gw_user_may_subscribe(const gw_pusher_conn *c, const char *channel);
/* True when channel is #server-to-user-<id> with a valid id. */
bool gw_user_channel_valid(const char *channel);
/* The user id of a control channel #herald-user-<id>, or NULL. */
const char *gw_user_control_user(const char *channel);
/* Applies control event `name` for (app_id, user_id) to c: returns true
 * when c is that user's and was acted on (terminate: closed with 4009). */
bool gw_user_control(gw_pusher_conn *c, const char *app_id, const char *user_id, const char *name);
/* Sign-in deadline: closes c with 4009 and returns true when its app
 * requires sign-in and c has not signed in within the app's timeout. */
bool gw_user_deadline(gw_pusher_conn *c, uint64_t now_ms);

#endif
