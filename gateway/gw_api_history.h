/*
 * gw_api_history: GET /apps/{id}/channels/{name}/history, the HTTP history
 * read (PROTOCOL.md section 7), as pure request -> query and answer -> JSON.
 *
 * Owns the route's rules: GET only, the app's signature (like every API
 * call), the parameters since ("<epoch>:<offset>": events after it),
 * limit (1..1000, default 100) and direction (backward = newest first, the
 * default; forward = oldest first), and the JSON of the answer:
 *   {"items":[{"id":"E:n","event":..,"data":..[,"user_id":..]}...],
 *    "position":"E:N"[,"next":"E:n"]}
 * where next (forward only) is the since of the following page. It reads
 * nothing itself: gw_api hands the query to gw_http, which asks the broker
 * (gw_link_replay) and calls gw_api_history_answer. Called by gw_api.c and
 * gw_http.c; unit-tested in tests/unit/test_gw_api_history.c.
 */
#ifndef GW_API_HISTORY_H
#define GW_API_HISTORY_H

#include <stdbool.h>

#include "gw_api.h"
#include "gw_link.h"

#define GW_API_HISTORY_LIMIT_DEFAULT 100
#define GW_API_HISTORY_LIMIT_MAX 1000

typedef struct gw_api_history {
    char *app_id, *channel;
    char since_epoch[65];
    uint64_t since_offset;
    bool has_since;
    bool forward;
    uint32_t limit;
} gw_api_history;

/* Handles /apps/{id}/channels/{name}/history (rest = "channels/...", id =
 * the app id). Returns false when the path is not this route; else fills
 * out: an error, or out->history (the read gw_http must perform). */
bool gw_api_history_route(const hc_apps *apps, const gw_api_request *req, const char *id,
                          const char *rest, gw_api_response *out);
/* The broker read for h. */
void gw_api_history_replay(const gw_api_history *h, gw_replay_req *r);
/* Fills out's status and body from the broker's answer (r->ok false:
 * 503). */
void gw_api_history_answer(const gw_api_history *h, const Herald__ReplayResponse *r,
                           gw_api_response *out);
void gw_api_history_free(gw_api_history *h);

#endif
