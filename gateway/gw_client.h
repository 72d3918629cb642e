/*
 * gw_client: client events (client-*) sent by a connection.
 *
 * Owns the rules for relaying one: the app must enable client messages,
 * the channel must be a private- or presence- channel (never
 * private-encrypted-) the connection is subscribed to, the event name and
 * payload within the app's limits, and the connection within its rate (the
 * app's max_client_events_per_sec, a one-second window per connection;
 * over it: pusher:error 4301, the socket stays open). An accepted event is
 * published through the connection's io with its socket_id excluded, so
 * the sender never gets it back. It does not deliver anything itself.
 * Called by gw_pusher's dispatch; unit-tested in tests/unit/test_gw_client.c.
 */
#ifndef GW_CLIENT_H
#define GW_CLIENT_H

#include <stdint.h>

#include <jansson.h>

#include "gw_pusher.h"

/* Handles the client event `event` (msg: the whole parsed message, with
 * "channel" and "data"); now_ms is a monotonic clock for the rate limit. */
void gw_client_event(gw_pusher_conn *c, const char *event, json_t *msg, uint64_t now_ms);

/* Presence hook: the user_id a client event on a presence channel carries
 * (the user the connection subscribed as), or NULL. The presence work
 * fills this in; until then presence channels cannot be subscribed to. */
const char *gw_client_presence_user(const gw_pusher_conn *c, const char *channel);

#endif
