/*
 * gw_rebalance: the decision of a gateway to shed connections after the
 * fleet scaled up (--rebalance; off by default).
 *
 * Owns the last connection count each peer gateway reported (with when it
 * was heard), the shedding state (active or not, a token bucket of
 * --rebalance-rate closes per second) and the connections this gateway
 * shed that peers have not reported yet ("moved"). Given this gateway's own
 * count it says how many connections to close now: none unless the fleet
 * has another fresh gateway and own > threshold x mean; once started, it
 * sheds towards the mean (ceil), at most rate per second, and stops there.
 * The mean counts the moved connections as elsewhere until every peer
 * reported again settle_ms after the last close, so lagging reports do not
 * make it overshoot. A peer silent for stale_ms is gone. Pure: no I/O, no
 * clock (callers pass now_ms), no sockets; the reports, the timer and the
 * closes are gw_server_rebalance.c's. Unit-tested in
 * tests/unit/test_gw_rebalance.c.
 */
#ifndef GW_REBALANCE_H
#define GW_REBALANCE_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_rebalance gw_rebalance;

typedef struct gw_rebalance_opts {
    double threshold;   /* start when own > threshold * mean (> 1; default 1.2) */
    double rate;        /* closes per second at most (> 0; default 10) */
    uint64_t stale_ms;  /* a peer silent this long is forgotten */
    uint64_t settle_ms; /* see above */
} gw_rebalance_opts;

/* self: this gateway's id (its own reports, echoed back, are ignored). */
gw_rebalance *gw_rebalance_new(const char *self, const gw_rebalance_opts *o);
void gw_rebalance_free(gw_rebalance *r);

/* Gateway `gateway` reported `conns` open connections; conns < 0: it is
 * leaving (draining or stopping) and no longer counts. */
void gw_rebalance_peer(gw_rebalance *r, const char *gateway, long conns, uint64_t now_ms);

/* How many connections to close now, this gateway having `own` open. */
long gw_rebalance_due(gw_rebalance *r, long own, uint64_t now_ms);
/* The caller closed n connections (n <= what gw_rebalance_due said). */
void gw_rebalance_shed(gw_rebalance *r, long n, uint64_t now_ms);

/* The fleet as last computed by gw_rebalance_due (for logs and tests):
 * gateways counted (this one included; 1 = alone) and their mean. */
size_t gw_rebalance_fleet(const gw_rebalance *r, double *mean);

#endif
