/*
 * hl_wire: everything herald-load says and parses on the wire, without
 * sockets: WebSocket client frames (RFC 6455: masked client frames out,
 * unmasked server frames in), the upgrade request and the 101 check, the
 * Pusher v7 and Socket.IO (Engine.IO v4) messages a subscriber needs, the
 * latency stamp carried in every published payload, the signed Pusher HTTP
 * API request and the POST /broadcast request of the Socket.IO peer, and
 * HTTP/1.1 response framing. Pure and unit-tested (test_hl.c); the event
 * loop that uses it is hl_main.c.
 */
#ifndef HL_WIRE_H
#define HL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    HL_OP_CONT = 0,
    HL_OP_TEXT = 1,
    HL_OP_BIN = 2,
    HL_OP_CLOSE = 8,
    HL_OP_PING = 9,
    HL_OP_PONG = 10
};

typedef struct hl_ws_frame {
    bool fin;
    int opcode;
    const uint8_t *payload;
    size_t len;
} hl_ws_frame;

/* Parses one server frame at buf[0..len). Returns the bytes it takes (>0),
 * 0 when more bytes are needed, -1 when it is invalid (masked, reserved
 * bits, control frame too long) or longer than max_payload. */
long hl_ws_parse(const uint8_t *buf, size_t len, size_t max_payload, hl_ws_frame *f);

/* Writes a masked, final client frame into out (room for len + 14 bytes).
 * Returns the frame length. */
size_t hl_ws_encode(uint8_t *out, int opcode, const void *payload, size_t len, uint32_t mask);

/* The upgrade request for path on host:port; returns its length (< cap) or
 * 0 when it does not fit. */
size_t hl_ws_request(char *out, size_t cap, const char *host, int port, const char *path);

/* Looks for the end of the HTTP response head in buf[0..len). Returns the
 * head's length (including the blank line) or 0 when incomplete; *status
 * gets the status code (0 when the status line is malformed) and
 * *content_length the Content-Length (-1 when absent). */
size_t hl_http_head(const char *buf, size_t len, int *status, long *content_length);
/* *content_length for a chunked body. */
#define HL_HTTP_CHUNKED (-2L)
/* The length of a complete chunked body at body[0..len), -1 if incomplete
 * (trailers are not supported). */
long hl_http_chunked_len(const char *body, size_t len);

/* What a text message from the server means to a subscriber. */
typedef enum {
    HL_MSG_OTHER,          /* nothing to do */
    HL_MSG_ESTABLISHED,    /* pusher:connection_established / Socket.IO "40" */
    HL_MSG_EIO_OPEN,       /* Engine.IO "0{...}": send "40" */
    HL_MSG_SUBSCRIBED,     /* subscription succeeded / joined a room */
    HL_MSG_PING,           /* pusher:ping / Engine.IO "2": answer */
    HL_MSG_EVENT,          /* an event carrying a latency stamp */
    HL_MSG_ERROR,          /* pusher:error, subscription_error, "44" */
    HL_MSG_MEMBER_ADDED,   /* pusher_internal:member_added (presence) */
    HL_MSG_MEMBER_REMOVED, /* pusher_internal:member_removed (presence) */
} hl_msg_kind;

typedef enum { HL_PROTO_PUSHER, HL_PROTO_SOCKETIO } hl_proto;

hl_msg_kind hl_classify(hl_proto proto, const char *msg, size_t len);

/* The subscribe (join) message for channel; returns its length or 0 when
 * it does not fit. */
size_t hl_subscribe_msg(hl_proto proto, char *out, size_t cap, const char *channel);
/* pusher:subscribe to a presence channel as user_id (user_info {"n":N}
 * where user_id is "<letter>N"), signed with secret over
 * "socket_id:channel:channel_data"; or, when since is not NULL (and key is
 * NULL), a plain subscribe resuming after the event id since (Herald's
 * recovery extension). Returns the length or 0 when it does not fit. */
size_t hl_presence_subscribe_msg(char *out, size_t cap, const char *key, const char *secret,
                                 const char *socket_id, const char *channel, const char *user_id);
size_t hl_subscribe_since_msg(char *out, size_t cap, const char *channel, const char *since);
/* pusher:unsubscribe; returns the length or 0 when it does not fit. */
size_t hl_unsubscribe_msg(char *out, size_t cap, const char *channel);
/* Finds needle in msg, skips the JSON punctuation after it (quotes, escaped
 * quotes, colon, blanks) and copies the value's characters ([A-Za-z0-9.:_-])
 * into out (NUL-terminated). Returns the value's length, 0 when needle is
 * absent, the value empty or longer than cap - 1. Used for "socket_id" of
 * pusher:connection_established (data is an escaped JSON string), "user_id"
 * of member events and the "id" of Herald's events ("\"id\"" needle). */
size_t hl_json_value(const char *msg, size_t len, const char *needle, char *out, size_t cap);
/* The number N of a user id "<prefix>N" in a member event (prefix one
 * letter); -1 when the user id is not of that form. */
long hl_member_user(const char *msg, size_t len, char prefix);

/* The answer to HL_MSG_PING; returns a static string. */
const char *hl_pong_msg(hl_proto proto);

/* Stamp: "hl:<publish time ns>:<seq>:" followed by padding. The event's
 * data is this plain string (no JSON escaping needed anywhere). */
size_t hl_stamp(char *out, size_t cap, uint64_t t_ns, uint64_t seq, size_t pad);
/* Finds the stamp in a received message; false when there is none. */
bool hl_stamp_find(const char *msg, size_t len, uint64_t *t_ns, uint64_t *seq);

/* A complete HTTP request publishing one event. For Pusher, a signed
 * POST /apps/<app_id>/events (auth_timestamp = now_s); for the Socket.IO
 * peer (key == NULL), POST /broadcast with {"room","event","data"}.
 * Returns its length, 0 when it does not fit. */
size_t hl_publish_request(char *out, size_t cap, const char *host, int port, const char *app_id,
                          const char *key, const char *secret, long now_s, const char *channel,
                          const char *event, const char *data);

#endif
