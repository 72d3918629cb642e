/*
 * gw_limits: the per-app limits one gateway enforces with counters.
 *
 * Owns, per app id, the number of open WebSocket connections on this
 * gateway (max_connections: the handshake is refused with 4004) and the
 * one-second windows of HTTP API backend events (max_backend_events_per_sec,
 * one point per event and channel: 429) and read requests
 * (max_read_req_per_sec: 429). The counts are this gateway's own: with N
 * gateways an app may reach N times a limit (docs/apps.md says so). It
 * does not decide what to answer; it says yes or no. Called by gw_server
 * (connections) and gw_http (requests); unit-tested in
 * tests/unit/test_gw_limits.c.
 */
#ifndef GW_LIMITS_H
#define GW_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "hc_apps.h"

typedef struct gw_limits gw_limits;

gw_limits *gw_limits_new(void);
void gw_limits_free(gw_limits *l);
/* Counts a new connection to app; false (nothing counted) when the app
 * already has max_connections on this gateway. */
bool gw_limits_conn_open(gw_limits *l, const hc_app *app);
/* Uncounts a connection gw_limits_conn_open accepted. */
void gw_limits_conn_close(gw_limits *l, const hc_app *app);
/* Takes `points` backend events from app's window; false when over. */
bool gw_limits_backend(gw_limits *l, const hc_app *app, long points, uint64_t now_ms);
/* Takes one read request from app's window; false when over. */
bool gw_limits_read(gw_limits *l, const hc_app *app, uint64_t now_ms);

#endif
