/*
 * br_apps_redis: polling the apps in Redis on a broker (see
 * br_apps_redis.h).
 *
 * One libuv timer and at most one "apps" call in flight on the cluster
 * (br_cluster_redis.c); the call in flight is counted so stop can return
 * at once (the cluster answers it, with an error at the latest when it is
 * freed). The view is common/hc_apps_view.c's.
 */
#include "br_apps_redis.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "hc_clock.h"
#include "hc_log.h"
#include "hc_mem.h"

#define FULL_EVERY_MS 30000 /* a full read even without a version change */

struct br_apps_redis {
    uv_timer_t timer;
    br_cluster *cluster;
    hc_apps *apps;
    hc_apps_view *view;
    hc_apps_changed_fn fn;
    void (*ready)(void *ud);
    void *ud;
    bool inflight, stopped, timer_closed, was_ready;
    bool failing;    /* the last call failed (logged once) */
    unsigned misses; /* failed calls before the first answer (start-up) */
    uint64_t last_full_ms;
};

static void maybe_free(br_apps_redis *r)
{
    if (r->stopped && r->timer_closed && !r->inflight) {
        hc_apps_view_free(r->view);
        free(r);
    }
}

static void on_answer(void *arg, const char *error, const char *json, size_t len)
{
    br_apps_redis *r = arg;
    r->inflight = false;
    if (r->stopped) {
        maybe_free(r);
        return;
    }
    if (error) {
        /* at start the cluster connection may not be up yet: quiet at first */
        if (!r->was_ready && ++r->misses < 5) {
            hc_debug("apps from Redis: not read yet (%s)", error);
            return;
        }
        if (!r->failing)
            hc_warn("apps from Redis: cannot read them (%s); retrying", error);
        r->failing = true;
        r->last_full_ms = 0; /* read everything once it works again */
        return;
    }
    if (r->failing)
        hc_info("apps from Redis: read again");
    r->failing = false;
    if (!hc_apps_view_apply(r->view, r->apps, json, len, r->fn, r->ud)) {
        hc_warn("apps from Redis: malformed answer ignored");
        return;
    }
    if (!r->was_ready) {
        r->was_ready = true;
        if (r->ready)
            r->ready(r->ud);
    }
}

static void on_tick(uv_timer_t *t)
{
    br_apps_redis *r = t->data;
    if (r->stopped || r->inflight)
        return;
    uint64_t now = hc_mono_ms();
    bool full = !r->last_full_ms || now - r->last_full_ms >= FULL_EVERY_MS;
    if (full)
        r->last_full_ms = now;
    Herald__ClusterCall c = HERALD__CLUSTER_CALL__INIT;
    c.op = "apps";
    c.count = full ? -1 : hc_apps_view_version(r->view);
    r->inflight = true;
    r->cluster->ops->call(r->cluster, &c, on_answer, r); /* may answer at once */
}

br_apps_redis *br_apps_redis_new(uv_loop_t *loop, br_cluster *cluster, hc_apps *apps,
                                 unsigned refresh_ms, hc_apps_changed_fn fn,
                                 void (*ready)(void *ud), void *ud)
{
    br_apps_redis *r = hc_calloc(1, sizeof(*r));
    r->cluster = cluster;
    r->apps = apps;
    r->view = hc_apps_view_new(apps);
    r->fn = fn;
    r->ready = ready;
    r->ud = ud;
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    unsigned every = refresh_ms ? refresh_ms : 1000;
    uv_timer_start(&r->timer, on_tick, 0, every);
    return r;
}

static void on_timer_closed(uv_handle_t *h)
{
    br_apps_redis *r = h->data;
    r->timer_closed = true;
    maybe_free(r);
}

void br_apps_redis_stop(br_apps_redis *r)
{
    if (!r || r->stopped)
        return;
    r->stopped = true;
    uv_close((uv_handle_t *)&r->timer, on_timer_closed);
}
