/*
 * gw_presence: the gateway's side of cluster state.
 *
 * Owns this gateway's liveness (a random boot id and a heartbeat sent
 * through the broker link every third of the liveness period), the
 * presence memberships of its connections (so they can be announced again
 * when the cluster forgot them, e.g. after Redis lost the liveness key),
 * the joins waiting for the cluster's answer, and the reporting of local
 * subscriber counts per channel (coalesced, sent as absolute counts). It
 * does not speak the Pusher protocol (gw_pusher / gw_pusher_presence do)
 * and keeps no member list: the cluster answers with the whole membership.
 * Created by gw_server; called from its io glue and connection life cycle.
 */
#ifndef GW_PRESENCE_H
#define GW_PRESENCE_H

#include <stddef.h>
#include <uv.h>

#include "gw_link.h"
#include "gw_subs.h"
#include "hc_apps.h"

typedef struct gw_presence gw_presence;

/* A join answered for conn (see gw_pusher_presence_joined). */
typedef void (*gw_presence_joined_fn)(void *ud, void *conn, const char *channel, const char *error,
                                      const char *json, size_t len);

typedef struct gw_presence_config {
    const char *gateway_id;
    unsigned liveness_ms; /* 0 = 30000 */
    gw_presence_joined_fn joined;
    void *ud;
} gw_presence_config;

gw_presence *gw_presence_new(uv_loop_t *loop, gw_link *link, gw_subs *subs, const hc_apps *apps,
                             const gw_presence_config *cfg);
/* conn (on app) joins channel as user_id with user_info JSON ('' = none). */
void gw_presence_join(gw_presence *p, void *conn, const hc_app *app, const char *channel,
                      const char *socket_id, const char *user_id, const char *user_info);
/* The connection left channel (unsubscribe or close). */
void gw_presence_leave(gw_presence *p, const char *app_id, const char *channel,
                       const char *socket_id);
/* The user_id socket_id joined channel as, or NULL (e.g. for the user_id
 * that client events on presence channels carry). */
const char *gw_presence_user_of(const gw_presence *p, const char *app_id, const char *channel,
                                const char *socket_id);
/* conn is going away: answers still to come for it are dropped. */
void gw_presence_forget(gw_presence *p, void *conn);
/* The local subscriber count of (app_id, channel) changed. */
void gw_presence_count_changed(gw_presence *p, const char *app_id, const char *channel);
/* Stops the timers and tells the cluster this gateway is leaving (its
 * state is then swept at once); the link must still be open. Frees p once
 * the handles are closed. */
void gw_presence_stop(gw_presence *p);

#endif
