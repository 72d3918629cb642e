/*
 * gw_connlimit: the gateway's connection-level limits, as pure logic.
 *
 * Owns three small pieces of state, each driven by the caller with the
 * time passed in (no clock, no sockets: unit-tested in
 * tests/unit/test_gw_connlimit.c):
 * - a token bucket per client address for the rate of new TCP connections
 *   (`--max-conn-rate-per-ip` per second, `--max-conn-burst-per-ip` at
 *   once), in a table bounded by GW_CONNLIMIT_MAX_ADDRS whose idle entries
 *   (bucket full again) are pruned;
 * - the number of HTTP API requests in flight against
 *   `--max-http-concurrency`;
 * - the accept back-off used when the process runs out of file
 *   descriptors (EMFILE/ENFILE): how long to stop accepting, doubling from
 *   GW_ACCEPT_PAUSE_MIN_MS to GW_ACCEPT_PAUSE_MAX_MS while accept keeps
 *   failing, back to the minimum after an accept succeeds.
 * It does not accept, answer or close anything: gw_listen (the listening
 * socket) and gw_http (HTTP requests) call it and act on its verdicts.
 */
#ifndef GW_CONNLIMIT_H
#define GW_CONNLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hc_map.h"

#define GW_CONNLIMIT_MAX_ADDRS 65536 /* addresses tracked at once */
#define GW_ACCEPT_PAUSE_MIN_MS 50
#define GW_ACCEPT_PAUSE_MAX_MS 1000

typedef struct gw_connlimit_config {
    long rate_per_ip;  /* new connections per second per address; 0 = no limit */
    long burst_per_ip; /* bucket size; 0 = rate_per_ip (at least 1) */
    long max_http;     /* HTTP API requests in flight; 0 = no limit */
} gw_connlimit_config;

typedef struct gw_connlimit {
    gw_connlimit_config cfg;
    hc_map addrs; /* address text -> gw_connlimit_bucket */
    uint64_t last_prune_ms;
    long http_inflight;
    unsigned pause_ms; /* next accept pause; 0 = none yet */
    uint64_t refused;  /* connections refused by the per-address rate */
} gw_connlimit;

void gw_connlimit_init(gw_connlimit *l, const gw_connlimit_config *cfg);
void gw_connlimit_free(gw_connlimit *l);

/* A connection from addr (text form) arrives at now_ms: true when it is
 * within the address's rate, taking one token; false (counted in
 * l->refused) when it must be refused. Always true without a limit. */
bool gw_connlimit_accept(gw_connlimit *l, const char *addr, uint64_t now_ms);
/* Addresses currently tracked (for tests and logs). */
size_t gw_connlimit_addrs(const gw_connlimit *l);
/* Forgets every address whose bucket has refilled by now_ms (it would
 * behave the same as a new one). Called by gw_connlimit_accept when the
 * table is full or a second has passed; exposed for tests. */
void gw_connlimit_prune(gw_connlimit *l, uint64_t now_ms);

/* An HTTP API request starts: true (counted) when under the limit, false
 * (not counted) when it must be refused. Each true is paired with one
 * gw_connlimit_http_end. */
bool gw_connlimit_http_begin(gw_connlimit *l);
void gw_connlimit_http_end(gw_connlimit *l);

/* accept() failed for lack of descriptors: returns how long (ms) to stop
 * accepting before trying again. */
unsigned gw_connlimit_accept_failed(gw_connlimit *l);
/* accept() succeeded: the next failure starts the back-off again. */
void gw_connlimit_accept_ok(gw_connlimit *l);

#endif
