/*
 * gw_apps_redis: polling the apps in Redis (see gw_apps_redis.h).
 *
 * One libuv timer and at most one ClusterCall in flight; it counts that
 * call so stop can return at once. The view (what is applied, how) is
 * common/hc_apps_view.c's.
 */
#include "gw_apps_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_clock.h"
#include "hc_log.h"
#include "hc_mem.h"

#define FULL_EVERY_MS 30000 /* a full read even without a version change */

/* ---- polling ------------------------------------------------------------ */

struct gw_apps_redis {
    uv_timer_t timer;
    gw_link *link;
    hc_apps *apps;
    hc_apps_view *view;
    hc_apps_changed_fn fn;
    void *ud;
    bool inflight, stopped, timer_closed;
    uint64_t last_full_ms;
    bool failing; /* the last call failed (logged once) */
};

static void maybe_free(gw_apps_redis *r)
{
    if (r->stopped && r->timer_closed && !r->inflight) {
        hc_apps_view_free(r->view);
        free(r);
    }
}

static void on_answer(void *ud, const char *error, const char *json, size_t len)
{
    gw_apps_redis *r = ud;
    r->inflight = false;
    if (r->stopped) {
        maybe_free(r);
        return;
    }
    if (error) {
        if (!r->failing)
            hc_warn("apps from Redis: cannot read them (%s); retrying", error);
        r->failing = true;
        return;
    }
    if (r->failing)
        hc_info("apps from Redis: read again");
    r->failing = false;
    if (!hc_apps_view_apply(r->view, r->apps, json, len, r->fn, r->ud))
        hc_warn("apps from Redis: malformed answer ignored");
}

static void on_tick(uv_timer_t *t)
{
    gw_apps_redis *r = t->data;
    if (r->stopped || r->inflight || !gw_link_ready(r->link))
        return;
    uint64_t now = hc_mono_ms();
    bool full = !r->last_full_ms || now - r->last_full_ms >= FULL_EVERY_MS;
    if (full)
        r->last_full_ms = now;
    Herald__ClusterCall c = HERALD__CLUSTER_CALL__INIT;
    c.op = "apps";
    c.count = full ? -1 : hc_apps_view_version(r->view);
    r->inflight = true;
    gw_link_call(r->link, &c, on_answer, r);
}

gw_apps_redis *gw_apps_redis_new(uv_loop_t *loop, gw_link *link, hc_apps *apps, unsigned refresh_ms,
                                 hc_apps_changed_fn fn, void *ud)
{
    gw_apps_redis *r = hc_calloc(1, sizeof(*r));
    r->link = link;
    r->apps = apps;
    r->view = hc_apps_view_new(apps);
    r->fn = fn;
    r->ud = ud;
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    unsigned every = refresh_ms ? refresh_ms : 1000;
    uv_timer_start(&r->timer, on_tick, 0, every);
    return r;
}

static void on_timer_closed(uv_handle_t *h)
{
    gw_apps_redis *r = h->data;
    r->timer_closed = true;
    maybe_free(r);
}

void gw_apps_redis_stop(gw_apps_redis *r)
{
    if (!r || r->stopped)
        return;
    r->stopped = true;
    uv_close((uv_handle_t *)&r->timer, on_timer_closed);
}
