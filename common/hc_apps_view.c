/*
 * hc_apps_view: applying the apps kept in Redis to a registry (see
 * hc_apps_view.h).
 *
 * Each id seen in `herald:apps` maps to the JSON text last seen for it and
 * whether that text is what the registry holds (applied); ids of the apps
 * file and environment are fixed and never touched.
 */
#include "hc_apps_view.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_log.h"
#include "hc_map.h"
#include "hc_mem.h"

typedef struct view_entry {
    char *text;
    bool applied; /* the registry holds this id from Redis */
} view_entry;

struct hc_apps_view {
    hc_map fixed;   /* id -> (void *)1: apps of the file / environment */
    hc_map entries; /* id -> view_entry* */
    int64_t version;
};

hc_apps_view *hc_apps_view_new(const hc_apps *apps)
{
    hc_apps_view *v = hc_calloc(1, sizeof(*v));
    v->version = -1;
    for (size_t i = 0; i < hc_apps_count(apps); i++) {
        const hc_app *a = hc_apps_at(apps, i);
        hc_map_put(&v->fixed, a->id, strlen(a->id), (void *)1);
    }
    return v;
}

void hc_apps_view_free(hc_apps_view *v)
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

int64_t hc_apps_view_version(const hc_apps_view *v)
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
static void apply_entry(hc_apps_view *v, hc_apps *apps, const char *id, view_entry *ve,
                        hc_apps_changed_fn fn, void *ud)
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
        fn(ud, out, r == 0 ? HC_APP_ADDED : HC_APP_CHANGED);
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

bool hc_apps_view_apply(hc_apps_view *v, hc_apps *apps, const char *json, size_t len,
                        hc_apps_changed_fn fn, void *ud)
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
                fn(ud, a, HC_APP_REMOVED);
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
