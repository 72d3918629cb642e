/*
 * gw_limits: the per-app limits a gateway enforces with counters.
 *
 * Owns, per app id, the number of open WebSocket connections on this
 * gateway, the last count every other gateway reported for the app, and the
 * one-second windows of HTTP API backend events (max_backend_events_per_sec,
 * one point per event and channel: 429) and read requests
 * (max_read_req_per_sec: 429). max_connections is enforced cluster-wide:
 * a handshake is refused (4004) when this gateway's count plus the fresh
 * reports of the others reach it. Reports travel as ordinary events on the
 * app's server-only channel GW_LIMITS_CHANNEL (gw_server publishes what
 * gw_limits_report asks for and feeds what arrives to gw_limits_remote), so
 * the total lags by up to a sweep period: a burst of simultaneous connects
 * on several gateways may pass the limit by a few. A report older than
 * GW_LIMITS_STALE_MS (a gateway that died) no longer counts. Backend and
 * read rates are this gateway's own. It does not decide what to answer, nor
 * publish: it says yes or no and what to report. Called by gw_server
 * (connections, reports) and gw_api (requests); unit-tested in
 * tests/unit/test_gw_limits.c.
 */
#ifndef GW_LIMITS_H
#define GW_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "hc_apps.h"

/* The server-only channel connection counts travel on, in each app. */
#define GW_LIMITS_CHANNEL "#herald-conns"
/* A gateway reports an app's count when it changed (at most once per
 * call to gw_limits_report) and at least this often. */
#define GW_LIMITS_REPORT_EVERY_MS 5000
/* Reports older than this are ignored (the gateway is gone). */
#define GW_LIMITS_STALE_MS 15000

typedef struct gw_limits gw_limits;

gw_limits *gw_limits_new(void);
void gw_limits_free(gw_limits *l);
/* Counts a new connection to app; false (nothing counted) when the app
 * already has max_connections in the cluster as far as this gateway knows. */
bool gw_limits_conn_open(gw_limits *l, const hc_app *app, uint64_t now_ms);
/* Uncounts a connection gw_limits_conn_open accepted. */
void gw_limits_conn_close(gw_limits *l, const hc_app *app);
/* Another gateway (any string naming it) reported conns connections to app. */
void gw_limits_remote(gw_limits *l, const hc_app *app, const char *gateway, long conns,
                      uint64_t now_ms);
/* Calls report(ud, app, conns) for every app with a max_connections whose
 * count changed since its last report or was last reported
 * GW_LIMITS_REPORT_EVERY_MS ago; report returns false when it could not
 * send (it is asked again next time). Also forgets stale reports. */
void gw_limits_report(gw_limits *l, uint64_t now_ms,
                      bool (*report)(void *ud, const hc_app *app, long conns), void *ud);
/* Takes `points` backend events from app's window; false when over. */
bool gw_limits_backend(gw_limits *l, const hc_app *app, long points, uint64_t now_ms);
/* Takes one read request from app's window; false when over. */
bool gw_limits_read(gw_limits *l, const hc_app *app, uint64_t now_ms);

#endif
