/*
 * gw_rebalance: when to shed connections, and how many (see
 * gw_rebalance.h). Peers live in a small array (a fleet is tens of
 * gateways, not thousands), scanned on every decision.
 */
#include "gw_rebalance.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hc_mem.h"

typedef struct peer {
    char *id;
    long conns;
    uint64_t heard_ms;
} peer;

struct gw_rebalance {
    char *self;
    gw_rebalance_opts o;
    peer *peers;
    size_t n, cap;
    bool active;      /* shedding towards the mean */
    double tokens;    /* closes allowed now */
    uint64_t tick_ms; /* last gw_rebalance_due (0: never) */
    long moved;       /* shed, not yet seen in the peers' reports */
    uint64_t last_shed_ms;
    size_t fleet; /* last computed */
    double mean;
};

gw_rebalance *gw_rebalance_new(const char *self, const gw_rebalance_opts *o)
{
    gw_rebalance *r = hc_calloc(1, sizeof(*r));
    r->self = hc_strdup(self ? self : "");
    r->o = *o;
    if (!(r->o.threshold > 1))
        r->o.threshold = 1.2;
    if (!(r->o.rate > 0))
        r->o.rate = 10;
    r->fleet = 1;
    return r;
}

void gw_rebalance_free(gw_rebalance *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->peers[i].id);
    free(r->peers);
    free(r->self);
    free(r);
}

void gw_rebalance_peer(gw_rebalance *r, const char *gateway, long conns, uint64_t now_ms)
{
    if (!gateway || strcmp(gateway, r->self) == 0)
        return;
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->peers[i].id, gateway) == 0 && conns < 0) { /* leaving */
            free(r->peers[i].id);
            r->peers[i] = r->peers[--r->n];
            return;
        }
        if (strcmp(r->peers[i].id, gateway) == 0) {
            r->peers[i].conns = conns;
            r->peers[i].heard_ms = now_ms;
            return;
        }
    }
    if (conns < 0)
        return;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->peers = hc_realloc(r->peers, r->cap * sizeof(*r->peers));
    }
    r->peers[r->n++] = (peer){hc_strdup(gateway), conns, now_ms};
}

/* Forgets peers silent for stale_ms. */
static void prune(gw_rebalance *r, uint64_t now_ms)
{
    for (size_t i = 0; i < r->n;) {
        if (now_ms - r->peers[i].heard_ms > r->o.stale_ms) {
            free(r->peers[i].id);
            r->peers[i] = r->peers[--r->n];
        } else {
            i++;
        }
    }
}

/* Stops shedding. */
static long idle(gw_rebalance *r)
{
    r->active = false;
    r->tokens = 0;
    return 0;
}

long gw_rebalance_due(gw_rebalance *r, long own, uint64_t now_ms)
{
    uint64_t dt = r->tick_ms && now_ms > r->tick_ms ? now_ms - r->tick_ms : 0;
    r->tick_ms = now_ms;
    prune(r, now_ms);
    r->fleet = r->n + 1;
    if (!r->n) {
        r->moved = 0;
        r->mean = (double)own;
        return idle(r);
    }
    bool settled = true;
    long sum = 0;
    for (size_t i = 0; i < r->n; i++) {
        sum += r->peers[i].conns;
        if (r->peers[i].heard_ms < r->last_shed_ms + r->o.settle_ms)
            settled = false;
    }
    if (settled)
        r->moved = 0;
    r->mean = (double)(own + r->moved + sum) / (double)r->fleet;
    long target = (long)r->mean;
    if ((double)target < r->mean)
        target++; /* ceil */
    if (!r->active && !(own > r->o.threshold * r->mean && own > target))
        return idle(r);
    if (own <= target)
        return idle(r);
    if (!r->active)
        dt = 0; /* start gently: the first close after 1/rate s */
    r->active = true;
    r->tokens += r->o.rate * (double)dt / 1000.0;
    double cap = r->o.rate > 1 ? r->o.rate : 1;
    if (r->tokens > cap)
        r->tokens = cap;
    long due = (long)r->tokens;
    return due < own - target ? due : own - target;
}

void gw_rebalance_shed(gw_rebalance *r, long n, uint64_t now_ms)
{
    if (n <= 0)
        return;
    r->tokens -= (double)n;
    if (r->tokens < 0)
        r->tokens = 0;
    r->moved += n;
    r->last_shed_ms = now_ms;
}

size_t gw_rebalance_fleet(const gw_rebalance *r, double *mean)
{
    if (mean)
        *mean = r->mean;
    return r->fleet;
}
