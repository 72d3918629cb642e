/*
 * gw_limits: per-app counters (see gw_limits.h). An app's record is made on
 * first use and lives as long as the table (apps are few and fixed for the
 * process's life); a remote gateway's entry lives until it goes stale.
 */
#include "gw_limits.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "hc_map.h"
#include "hc_mem.h"
#include "hc_rate.h"

typedef struct remote {
    long conns;
    uint64_t seen_ms;
} remote;

typedef struct app_count {
    const hc_app *app;
    long conns;    /* on this gateway */
    bool dirty;    /* changed since the last report */
    bool reported; /* a report went out at reported_ms */
    uint64_t reported_ms;
    hc_map remotes; /* gateway -> remote* (owned) */
    hc_rate backend;
    hc_rate read;
} app_count;

struct gw_limits {
    hc_map apps; /* app id -> app_count* (owned) */
};

gw_limits *gw_limits_new(void)
{
    return hc_calloc(1, sizeof(gw_limits));
}

static void free_remotes(hc_map *m)
{
    hc_map_iter it;
    hc_map_iter_init(&it, m);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));)
        free(e->value);
    hc_map_free(m);
}

void gw_limits_free(gw_limits *l)
{
    if (!l)
        return;
    hc_map_iter it;
    hc_map_iter_init(&it, &l->apps);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));) {
        app_count *c = e->value;
        free_remotes(&c->remotes);
        free(c);
    }
    hc_map_free(&l->apps);
    free(l);
}

static app_count *count_of(gw_limits *l, const hc_app *app)
{
    size_t n = strlen(app->id);
    app_count *c = hc_map_get(&l->apps, app->id, n);
    if (!c) {
        c = hc_calloc(1, sizeof(*c));
        c->app = app;
        hc_map_put(&l->apps, app->id, n, c);
    }
    return c;
}

/* The fresh remote counts of c, summed. */
static long remote_total(const app_count *c, uint64_t now_ms)
{
    long sum = 0;
    hc_map_iter it;
    hc_map_iter_init(&it, (hc_map *)&c->remotes);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));) {
        const remote *r = e->value;
        if (now_ms - r->seen_ms < GW_LIMITS_STALE_MS)
            sum = r->conns > LONG_MAX - sum ? LONG_MAX : sum + r->conns; /* reports are >= 0 */
    }
    return sum;
}

bool gw_limits_conn_open(gw_limits *l, const hc_app *app, uint64_t now_ms)
{
    app_count *c = count_of(l, app);
    /* a broker's report can say anything (up to LONG_MAX): no overflow */
    long remote = app->max_connections >= 0 ? remote_total(c, now_ms) : 0;
    if (app->max_connections >= 0 &&
        (remote >= app->max_connections || c->conns >= app->max_connections - remote))
        return false;
    c->conns++;
    c->dirty = true;
    return true;
}

void gw_limits_conn_close(gw_limits *l, const hc_app *app)
{
    app_count *c = count_of(l, app);
    if (c->conns > 0)
        c->conns--;
    c->dirty = true;
}

void gw_limits_remote(gw_limits *l, const hc_app *app, const char *gateway, long conns,
                      uint64_t now_ms)
{
    app_count *c = count_of(l, app);
    size_t n = strlen(gateway);
    remote *r = hc_map_get(&c->remotes, gateway, n);
    if (!r) {
        r = hc_calloc(1, sizeof(*r));
        hc_map_put(&c->remotes, gateway, n, r);
    }
    r->conns = conns < 0 ? 0 : conns;
    r->seen_ms = now_ms;
}

/* Drops c's stale remotes (keys collected first: no change while iterating). */
static void prune(app_count *c, uint64_t now_ms)
{
    char *stale[16];
    size_t n;
    do {
        n = 0;
        hc_map_iter it;
        hc_map_iter_init(&it, &c->remotes);
        for (hc_map_entry *e; n < 16 && (e = hc_map_iter_next(&it));) {
            if (now_ms - ((remote *)e->value)->seen_ms >= GW_LIMITS_STALE_MS)
                stale[n++] = hc_strdup(e->key);
        }
        for (size_t i = 0; i < n; i++) {
            free(hc_map_del(&c->remotes, stale[i], strlen(stale[i])));
            free(stale[i]);
        }
    } while (n == 16);
}

void gw_limits_report(gw_limits *l, uint64_t now_ms,
                      bool (*report)(void *ud, const hc_app *app, long conns), void *ud)
{
    hc_map_iter it;
    hc_map_iter_init(&it, &l->apps);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));) {
        app_count *c = e->value;
        prune(c, now_ms);
        if (c->app->max_connections < 0)
            continue;
        bool due = !c->reported || now_ms - c->reported_ms >= GW_LIMITS_REPORT_EVERY_MS;
        if (!c->dirty && !due)
            continue;
        if (report(ud, c->app, c->conns)) {
            c->dirty = false;
            c->reported = true;
            c->reported_ms = now_ms;
        }
    }
}

bool gw_limits_backend(gw_limits *l, const hc_app *app, long points, uint64_t now_ms)
{
    return hc_rate_take(&count_of(l, app)->backend, app->max_backend_events_per_sec, points,
                        now_ms);
}

bool gw_limits_read(gw_limits *l, const hc_app *app, uint64_t now_ms)
{
    return hc_rate_take(&count_of(l, app)->read, app->max_read_req_per_sec, 1, now_ms);
}
