/*
 * gw_connlimit: per-address connection rate, HTTP concurrency and the
 * accept back-off (see gw_connlimit.h). Pure: the caller passes the time.
 *
 * Buckets hold milli-tokens so that any whole rate refills exactly: a rate
 * of r per second adds r milli-tokens per millisecond, a connection takes
 * 1000.
 */
#include "gw_connlimit.h"

#include <stdlib.h>
#include <string.h>

#include "hc_mem.h"

#define PRUNE_EVERY_MS 1000
#define PRUNE_FULL_MS 50 /* a full table is pruned at most this often */

typedef struct gw_connlimit_bucket {
    int64_t milli; /* tokens x 1000 at last_ms */
    uint64_t last_ms;
} gw_connlimit_bucket;

static int64_t cap_milli(const gw_connlimit *l)
{
    long burst = l->cfg.burst_per_ip > 0 ? l->cfg.burst_per_ip : l->cfg.rate_per_ip;
    return (int64_t)(burst > 0 ? burst : 1) * 1000;
}

/* The bucket's tokens at now_ms (capped). */
static int64_t level(const gw_connlimit *l, const gw_connlimit_bucket *b, uint64_t now_ms)
{
    int64_t cap = cap_milli(l);
    uint64_t dt = now_ms > b->last_ms ? now_ms - b->last_ms : 0;
    /* rate >= 1 milli-token per ms, so dt >= cap ms refills completely;
     * this also keeps the product below from overflowing */
    if (dt >= (uint64_t)cap)
        return cap;
    int64_t m = b->milli + (int64_t)dt * l->cfg.rate_per_ip;
    return m > cap ? cap : m;
}

void gw_connlimit_init(gw_connlimit *l, const gw_connlimit_config *cfg)
{
    memset(l, 0, sizeof(*l));
    l->cfg = *cfg;
    if (l->cfg.rate_per_ip < 0)
        l->cfg.rate_per_ip = 0;
}

void gw_connlimit_free(gw_connlimit *l)
{
    hc_map_iter it;
    hc_map_iter_init(&it, &l->addrs);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));)
        free(e->value);
    hc_map_free(&l->addrs);
}

void gw_connlimit_prune(gw_connlimit *l, uint64_t now_ms)
{
    l->last_prune_ms = now_ms;
    if (!l->addrs.count)
        return;
    int64_t cap = cap_milli(l);
    char **keys = hc_calloc(l->addrs.count, sizeof(*keys));
    size_t n = 0;
    hc_map_iter it;
    hc_map_iter_init(&it, &l->addrs);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));)
        if (level(l, e->value, now_ms) >= cap)
            keys[n++] = e->key;
    for (size_t i = 0; i < n; i++) {
        /* the key belongs to the map: copy it before deleting */
        char *k = hc_strdup(keys[i]);
        free(hc_map_del(&l->addrs, k, strlen(k)));
        free(k);
    }
    free(keys);
}

bool gw_connlimit_accept(gw_connlimit *l, const char *addr, uint64_t now_ms)
{
    if (l->cfg.rate_per_ip <= 0)
        return true;
    uint64_t since = now_ms - l->last_prune_ms;
    if (since >= PRUNE_EVERY_MS ||
        (l->addrs.count >= GW_CONNLIMIT_MAX_ADDRS && since >= PRUNE_FULL_MS))
        gw_connlimit_prune(l, now_ms);
    size_t len = strlen(addr);
    gw_connlimit_bucket *b = hc_map_get(&l->addrs, addr, len);
    if (!b) {
        /* every tracked address is busy: let the new one in untracked
         * rather than refuse an address that has done nothing */
        if (l->addrs.count >= GW_CONNLIMIT_MAX_ADDRS)
            return true;
        b = hc_calloc(1, sizeof(*b));
        b->milli = cap_milli(l);
        b->last_ms = now_ms;
        hc_map_put(&l->addrs, addr, len, b);
    }
    int64_t m = level(l, b, now_ms);
    b->last_ms = now_ms > b->last_ms ? now_ms : b->last_ms;
    if (m < 1000) {
        b->milli = m;
        l->refused++;
        return false;
    }
    b->milli = m - 1000;
    return true;
}

size_t gw_connlimit_addrs(const gw_connlimit *l)
{
    return l->addrs.count;
}

bool gw_connlimit_http_begin(gw_connlimit *l)
{
    if (l->cfg.max_http > 0 && l->http_inflight >= l->cfg.max_http)
        return false;
    l->http_inflight++;
    return true;
}

void gw_connlimit_http_end(gw_connlimit *l)
{
    if (l->http_inflight > 0)
        l->http_inflight--;
}

unsigned gw_connlimit_accept_failed(gw_connlimit *l)
{
    unsigned p = l->pause_ms ? l->pause_ms : GW_ACCEPT_PAUSE_MIN_MS;
    unsigned next = p * 2;
    l->pause_ms = next > GW_ACCEPT_PAUSE_MAX_MS ? GW_ACCEPT_PAUSE_MAX_MS : next;
    return p;
}

void gw_connlimit_accept_ok(gw_connlimit *l)
{
    l->pause_ms = 0;
}
