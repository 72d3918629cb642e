/*
 * gw_limits: per-app counters on one gateway (see gw_limits.h). An app's
 * record is made on first use and lives as long as the table (apps are
 * few and fixed for the process's life).
 */
#include "gw_limits.h"

#include <stdlib.h>
#include <string.h>

#include "hc_map.h"
#include "hc_mem.h"
#include "hc_rate.h"

typedef struct app_count {
    long conns;
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

void gw_limits_free(gw_limits *l)
{
    if (!l)
        return;
    hc_map_iter it;
    hc_map_iter_init(&it, &l->apps);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));)
        free(e->value);
    hc_map_free(&l->apps);
    free(l);
}

static app_count *count_of(gw_limits *l, const hc_app *app)
{
    size_t n = strlen(app->id);
    app_count *c = hc_map_get(&l->apps, app->id, n);
    if (!c) {
        c = hc_calloc(1, sizeof(*c));
        hc_map_put(&l->apps, app->id, n, c);
    }
    return c;
}

bool gw_limits_conn_open(gw_limits *l, const hc_app *app)
{
    app_count *c = count_of(l, app);
    if (app->max_connections >= 0 && c->conns >= app->max_connections)
        return false;
    c->conns++;
    return true;
}

void gw_limits_conn_close(gw_limits *l, const hc_app *app)
{
    app_count *c = count_of(l, app);
    if (c->conns > 0)
        c->conns--;
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
