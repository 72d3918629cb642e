/*
 * gw_apps_redis: the view of the apps in Redis and its polling (see
 * gw_apps_redis.h).
 *
 * gw_apps_view maps each app id seen in `herald:apps` to the JSON text
 * last seen for it and whether that text is what the registry holds
 * (applied); ids of the apps file and environment are fixed and never
 * touched. gw_apps_redis is one libuv timer and at most one ClusterCall in
 * flight; it counts that call so stop can return at once.
 */
#include "gw_apps_redis.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_clock.h"
#include "hc_log.h"
#include "hc_map.h"
#include "hc_mem.h"

#define FULL_EVERY_MS 30000 /* a full read even without a version change */

typedef struct view_entry {
    char *text;
    bool applied; /* the registry holds this id from Redis */
} view_entry;

struct gw_apps_view {
    hc_map fixed;   /* id -> (void *)1: apps of the file / environment */
    hc_map entries; /* id -> view_entry* */
    int64_t version;
};

gw_apps_view *gw_apps_view_new(const hc_apps *apps)
{
    gw_apps_view *v = hc_calloc(1, sizeof(*v));
    v->version = -1;
    for (size_t i = 0; i < hc_apps_count(apps); i++) {
        const hc_app *a = hc_apps_at(apps, i);
        hc_map_put(&v->fixed, a->id, strlen(a->id), (void *)1);
    }
    return v;
}

void gw_apps_view_free(gw_apps_view *v)
{
    if (!v)
        return;
    hc_map_iter it;
    hc_map_iter_init(&it, &v->entries);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));) {
        view_entry *ve = e->value;
        free(ve->text);
        free(ve);
    }
    hc_map_free(&v->entries);
    hc_map_free(&v->fixed);
    free(v);
}

int64_t gw_apps_view_version(const gw_apps_view *v)
{
    return v->version;
}

/* Parses the app JSON stored under field id into a: "id" may be left out
 * (the field is the id) but must not differ from it. */
static bool parse_app(const char *id, const char *text, hc_app *a, char *err, size_t errlen)
{
    json_t *obj = json_loads(text, 0, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        hc_app_defaults(a);
        snprintf(err, errlen, "not a JSON object");
        return false;
    }
    json_t *jid = json_object_get(obj, "id");
    if (!jid)
        json_object_set_new(obj, "id", json_string(id));
    else if (!json_is_string(jid) || strcmp(json_string_value(jid), id) != 0) {
        json_decref(obj);
        hc_app_defaults(a);
        snprintf(err, errlen, "its \"id\" differs from its field in herald:apps");
        return false;
    }
    char *full = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!full)
        abort(); /* out of memory */
    bool ok = hc_app_parse_json(full, strlen(full), a, err, errlen);
    free(full);
    return ok;
}

/* A new text for id: applies it when valid. */
static void apply_entry(gw_apps_view *v, hc_apps *apps, const char *id, view_entry *ve,
                        gw_apps_changed_fn fn, void *ud)
{
    (void)v;
    hc_app a;
    char err[256];
    if (!parse_app(id, ve->text, &a, err, sizeof(err))) {
        hc_warn("app %s in Redis ignored: %s%s", id, err,
                ve->applied ? " (its last good settings stay)" : "");
        return;
    }
    const hc_app *out = NULL;
    int r = hc_apps_put(apps, &a, &out, err, sizeof(err));
    hc_app_clear(&a);
    if (r < 0) {
        /* another app holds the key: try again at the next full read, by
         * when that one may have let it go */
        hc_warn("app %s in Redis ignored: %s", id, err);
        ve->text[0] = '\0';
        return;
    }
    ve->applied = true;
    hc_info("app %s %s from Redis (%s)", id, r == 0 ? "added" : "changed",
            out->enabled ? "enabled" : "disabled");
    if (fn)
        fn(ud, out, r == 0 ? GW_APP_ADDED : GW_APP_CHANGED);
}

static bool parse_version(json_t *root, int64_t *out)
{
    json_t *jv = json_object_get(root, "version");
    if (!json_is_string(jv))
        return false;
    char *end;
    errno = 0;
    long long n = strtoll(json_string_value(jv), &end, 10);
    if (errno || *end || end == json_string_value(jv) || n < 0)
        return false;
    *out = n;
    return true;
}

bool gw_apps_view_apply(gw_apps_view *v, hc_apps *apps, const char *json, size_t len,
                        gw_apps_changed_fn fn, void *ud)
{
    json_t *root = json_loadb(json, len, 0, NULL);
    int64_t version;
    json_t *all = json_object_get(root, "apps");
    if (!json_is_object(root) || !parse_version(root, &version) || (all && !json_is_object(all))) {
        json_decref(root);
        return false;
    }
    const char *id;
    json_t *val;
    json_object_foreach(all, id, val)
    {
        size_t idlen = strlen(id);
        const char *text = json_is_string(val) ? json_string_value(val) : "";
        view_entry *ve = hc_map_get(&v->entries, id, idlen);
        if (ve && strcmp(ve->text, text) == 0)
            continue; /* unchanged (applied, or already complained about) */
        if (!ve) {
            ve = hc_calloc(1, sizeof(*ve));
            hc_map_put(&v->entries, id, idlen, ve);
        }
        free(ve->text);
        ve->text = hc_strdup(text);
        if (hc_map_get(&v->fixed, id, idlen))
            hc_warn("app %s in Redis ignored: the apps file or environment defines it", id);
        else
            apply_entry(v, apps, id, ve, fn, ud);
    }
    /* ids gone from the hash */
    char **gone = NULL;
    size_t ngone = 0;
    hc_map_iter it;
    hc_map_iter_init(&it, &v->entries);
    for (hc_map_entry *e; all && (e = hc_map_iter_next(&it));) {
        if (json_object_getn(all, e->key, e->klen))
            continue;
        gone = hc_realloc(gone, (ngone + 1) * sizeof(*gone));
        gone[ngone++] = hc_strndup(e->key, e->klen);
    }
    for (size_t i = 0; i < ngone; i++) {
        view_entry *ve = hc_map_del(&v->entries, gone[i], strlen(gone[i]));
        const hc_app *a = ve && ve->applied ? hc_apps_remove(apps, gone[i]) : NULL;
        if (a) {
            hc_info("app %s removed from Redis", gone[i]);
            if (fn)
                fn(ud, a, GW_APP_REMOVED);
        }
        if (ve) {
            free(ve->text);
            free(ve);
        }
        free(gone[i]);
    }
    free(gone);
    v->version = version;
    json_decref(root);
    return true;
}

/* ---- polling ------------------------------------------------------------ */

struct gw_apps_redis {
    uv_timer_t timer;
    gw_link *link;
    hc_apps *apps;
    gw_apps_view *view;
    gw_apps_changed_fn fn;
    void *ud;
    bool inflight, stopped, timer_closed;
    uint64_t last_full_ms;
    bool failing; /* the last call failed (logged once) */
};

static void maybe_free(gw_apps_redis *r)
{
    if (r->stopped && r->timer_closed && !r->inflight) {
        gw_apps_view_free(r->view);
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
    if (!gw_apps_view_apply(r->view, r->apps, json, len, r->fn, r->ud))
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
    c.count = full ? -1 : gw_apps_view_version(r->view);
    r->inflight = true;
    gw_link_call(r->link, &c, on_answer, r);
}

gw_apps_redis *gw_apps_redis_new(uv_loop_t *loop, gw_link *link, hc_apps *apps, unsigned refresh_ms,
                                 gw_apps_changed_fn fn, void *ud)
{
    gw_apps_redis *r = hc_calloc(1, sizeof(*r));
    r->link = link;
    r->apps = apps;
    r->view = gw_apps_view_new(apps);
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
