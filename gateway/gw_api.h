/*
 * gw_api: the Pusher HTTP API as pure request -> response logic.
 *
 * Owns the rules of the API this gateway serves now: routing
 * (GET / and /health, POST /apps/{id}/events and /apps/{id}/batch_events),
 * request signing checks (hc_api_auth_check), the app's limits, validation
 * of the JSON body, and the exact status and JSON of every answer. It does
 * no I/O and publishes nothing itself: it returns the list of publishes to
 * perform (one per channel) and the answer to give when they all succeed.
 * gw_server feeds it the method, path, decoded query and body of each HTTP
 * request, performs the publishes through the broker link and writes the
 * answer; tests/unit/test_gw_api.c tests it directly.
 */
#ifndef GW_API_H
#define GW_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_limits.h"
#include "hc_apps.h"
#include "hc_buf.h"
#include "hc_query.h"

/* Bound on a request body the server reads at all (413 above it). */
#define GW_API_MAX_BODY (1024u * 1024u)

typedef struct gw_api_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* as the client sent (and signed) it, no query */
    const hc_query *query;
    const char *body; /* may be NULL when body_len is 0 */
    size_t body_len;
    int64_t now_s;     /* wall clock, for the signature's timestamp window */
    gw_limits *limits; /* per-app rates (backend events, reads); NULL: none */
    uint64_t now_ms;   /* monotonic clock for those rates */
} gw_api_request;

/* One event to append to one channel; every string is owned. */
typedef struct gw_api_publish {
    char *app_id;
    char *channel;
    char *name;
    char *data;
    size_t data_len;
    char *socket_id;     /* NULL when the publisher excluded no socket */
    unsigned info_flags; /* batch_events: this event's `info` (see below) */
} gw_api_publish;

typedef struct gw_api_response {
    int status;
    hc_sbuf body; /* JSON; the answer when every publish succeeds */
    gw_api_publish *pubs;
    size_t npubs, cap;
    struct gw_api_history *history; /* a history read to perform (gw_api_history.h) */
    /* A question for the cluster state (gw_api_channels.c): when query_op
     * is set, the answer is the ClusterCall's JSON (200), or 503 when it
     * fails. After publishes, info_flags asks for the trigger's `info`. */
    char *query_op; /* "channel", "channels" or "users" */
    char *query_app_id;
    char *query_channel;  /* the channel, or the prefix for "channels" */
    unsigned query_flags; /* 1 user_count, 2 subscription_count */
    unsigned info_flags;  /* trigger info: same bits */
    bool batch_info;      /* batch_events with `info`: per-publish flags */
} gw_api_response;

/* Handles one request. out must be zeroed (or freed) first; it owns
 * everything it gets. */
void gw_api_handle(const hc_apps *apps, const gw_api_request *req, gw_api_response *out);
/* gw_api_channels.c: GET channels[/{name}[/users]] for an authenticated
 * app (rest is what follows "channels"); sets out's query or an error. */
void gw_api_channels(const hc_app *app, const gw_api_request *req, const char *rest,
                     gw_api_response *out);
/* Parses an info parameter ("user_count,subscription_count") into flags;
 * unknown attributes are ignored. */
unsigned gw_api_info_flags(const char *info);

/* Replaces out's answer with {"error":message} and the given status and
 * drops its publishes. */
void gw_api_set_error(gw_api_response *out, int status, const char *message);
void gw_api_response_free(gw_api_response *out);
/* The reason phrase for a status code this API uses ("OK", "Not Found"). */
const char *gw_api_reason(int status);

#endif
