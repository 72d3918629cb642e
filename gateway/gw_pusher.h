/*
 * gw_pusher: the Pusher Channels protocol (v7) for one client connection.
 *
 * Owns the protocol state of a connection (its app, socket_id, how many
 * channels it is subscribed to) and the exact JSON of every reply: it
 * parses one complete text message at a time and answers pusher:ping,
 * pusher:subscribe / pusher:unsubscribe, and refuses with pusher:error /
 * pusher:subscription_error what it does not accept. Channel auth
 * (gw_auth), client events (gw_client) and sign-in (gw_user) are decided
 * in their own modules, which it calls. It also checks a WebSocket handshake (path /app/{key},
 * protocol version) and writes connection_established. It knows nothing of libwebsockets, sockets
 * or brokers: it acts only through gw_pusher_io (send a text frame, close with code and reason,
 * join/leave a channel in the local table). Called by gw_server for every complete client message;
 * unit-tested with a fake io (tests/unit/test_gw_pusher.c).
 */
#ifndef GW_PUSHER_H
#define GW_PUSHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hc_apps.h"
#include "hc_rate.h"

#define GW_PUSHER_PROTOCOL_MIN 5
#define GW_PUSHER_PROTOCOL_MAX 7

/* Close / error codes this module uses (PROTOCOL.md section 1). */
#define GW_PUSHER_APP_UNKNOWN 4001
#define GW_PUSHER_APP_DISABLED 4003
#define GW_PUSHER_OVER_QUOTA 4004
#define GW_PUSHER_PATH_NOT_FOUND 4005
#define GW_PUSHER_UNSUPPORTED_PROTOCOL 4007
#define GW_PUSHER_NO_PROTOCOL 4008
#define GW_PUSHER_UNAUTHORIZED 4009
#define GW_PUSHER_OVER_CAPACITY 4100
#define GW_PUSHER_RECONNECT 4200
#define GW_PUSHER_PONG_MISSING 4201
#define GW_PUSHER_CLIENT_EVENT_RATE 4301
#define GW_PUSHER_MESSAGE_TOO_BIG 1009

/* Longest user id a connection may sign in with. */
#define GW_PUSHER_USER_ID_MAX 200
/* Longest socket_id ("<gateway>.<serial>": two decimal numbers). */
#define GW_PUSHER_SOCKET_ID_MAX 31

typedef struct gw_pusher_io {
    /* Queues one text frame (the bytes are copied). */
    void (*send)(void *ud, const char *text, size_t len);
    /* Closes the connection with code and reason after what was queued. */
    void (*close)(void *ud, int code, const char *reason);
    /* Adds the connection to channel in the local table: 1 if added, 0 if
     * it was already subscribed. */
    int (*subscribe)(void *ud, const char *channel);
    /* True when the connection is subscribed to channel. */
    int (*is_subscribed)(void *ud, const char *channel);
    /* Removes it: 1 if removed, 0 if it was not subscribed. */
    int (*unsubscribe)(void *ud, const char *channel);
    /* Publishes a client event on channel, excluding this connection's
     * socket_id from delivery; user_id is NULL or the presence user. */
    void (*publish)(void *ud, const char *channel, const char *name, const char *data, size_t len,
                    const char *user_id);
    /* The connection just joined channel asking to resume after since
     * ("<epoch>:<offset>", or NULL) or for the last rewind events (asked
     * by the client, by the app's rewind-on-subscribe rule, or 1 on a
     * cache channel, where cache_miss says to send pusher:cache_miss when
     * there is none): the callee sends subscription_succeeded and the
     * events (gw_recovery). May be NULL: plain subscription_succeeded. */
    void (*recover)(void *ud, const char *channel, const char *since, unsigned rewind,
                    bool cache_miss);
    /* Joins the cluster's presence of channel (the connection is already
     * in the local table); the answer comes back through
     * gw_pusher_presence_joined. NULL: presence is refused. */
    void (*presence_join)(void *ud, const char *channel, const char *user_id,
                          const char *user_info);
    /* subscription_succeeded was just sent on a presence-cache- channel:
     * the callee sends its last event or pusher:cache_miss (gw_recovery).
     * May be NULL: no replay. */
    void (*cache_replay)(void *ud, const char *channel);
    /* The connection has just signed in as its user_id (previous: the user
     * it was signed in as before, "" if none), watching watchlist[0..n)
     * (n 0: no watchlist): the callee marks the user online in the cluster
     * and follows the watched users (gw_watchlist). May be NULL. */
    void (*signed_in)(void *ud, const char *previous, const char *const *watchlist, size_t n);
} gw_pusher_io;

/* Laid out small: a gateway holds one per connection, most of them idle
 * (docs/architecture.md, "Connection state"). */
typedef struct gw_pusher_conn {
    const gw_pusher_io *io;
    void *ud;
    const hc_app *app; /* borrowed from the registry */
    /* user sign-in (gw_user.c): the signed-in user's id (a heap copy), or
     * NULL when none; read it with gw_pusher_user_id */
    char *user_id;
    uint64_t opened_ms;  /* monotonic time of gw_pusher_init (sign-in deadline) */
    hc_rate client_rate; /* client events this second (gw_client.c) */
    uint32_t nsubs;      /* channels subscribed */
    uint32_t max_subs;   /* per connection; 0 = unlimited */
    bool closed;         /* a fatal error was sent; further input is ignored */
    /* the connection's only copy of its socket_id (gw_subscriber and the
     * gateway point here) */
    char socket_id[GW_PUSHER_SOCKET_ID_MAX + 1];
} gw_pusher_conn;

/* The signed-in user's id, "" when none. */
static inline const char *gw_pusher_user_id(const gw_pusher_conn *c)
{
    return c->user_id ? c->user_id : "";
}

/* Checks a WebSocket handshake: path must be /app/{key} for a known,
 * enabled app and protocol (NULL when absent) a supported version.
 * Returns 0 and sets *app, or a Pusher error code and writes a sentence to
 * why. */
int gw_pusher_handshake(const hc_apps *apps, const char *path, const char *protocol,
                        const hc_app **app, char *why, size_t whylen);

/* io and ud are borrowed for the connection's life. */
void gw_pusher_init(gw_pusher_conn *c, const gw_pusher_io *io, void *ud, const hc_app *app,
                    const char *socket_id, size_t max_subs);
/* Frees what the connection allocated (its user_id); c may be reused
 * after gw_pusher_init again. */
void gw_pusher_release(gw_pusher_conn *c);
/* Sends pusher:connection_established. */
void gw_pusher_established(gw_pusher_conn *c, long activity_timeout);
/* Handles one complete text message msg[0..len). */
void gw_pusher_on_message(gw_pusher_conn *c, const char *msg, size_t len);
/* Sends pusher:error {code, message} then closes with the same code. */
void gw_pusher_fatal(gw_pusher_conn *c, int code, const char *message);
/* Sends a pusher:error that keeps the connection open (code 0 = null). */
void gw_pusher_error(gw_pusher_conn *c, int code, const char *message);
/* Sends pusher:subscription_error {type, error, status} for channel. */
void gw_pusher_subscription_error(gw_pusher_conn *c, const char *channel, const char *type,
                                  int status, const char *error);

/* gw_pusher_presence.c: pusher:subscribe on a presence- channel. data is
 * the subscribe's data object (a jansson json_t). Checks auth over
 * socket_id:channel:channel_data (verbatim), user_id and the app's member
 * size limit, joins the local table and asks the cluster (io->presence_join). */
struct json_t;
void gw_pusher_presence_subscribe(gw_pusher_conn *c, const char *channel, struct json_t *data);
/* The cluster's answer to a presence join: error NULL and json[0..len) the
 * {"presence":...} object (-> subscription_succeeded), or error "limit"
 * (channel full) or another sentence (-> subscription_error, and the
 * connection leaves the local table). Ignored if the connection is no
 * longer subscribed. */
void gw_pusher_presence_joined(gw_pusher_conn *c, const char *channel, const char *error,
                               const char *json, size_t len);

/* Sends the server's keep-alive {"event":"pusher:ping","data":{}}. */
void gw_pusher_ping(gw_pusher_conn *c);

#endif
