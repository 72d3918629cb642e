/*
 * hc_apps: the app registry. Owns every hc_app and its strings, indexed by
 * id and by key. Reads apps from a JSON document (Soketi's app field names)
 * and the default app from environment lookups; does not open files or
 * read the real environment itself (the gateway's main does and passes the
 * text / getenv). Called by the gateway: connection (by key), HTTP API (by
 * id) and start-up.
 */
#include "hc_apps.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "hc_history.h"
#include "hc_map.h"
#include "hc_mem.h"

struct hc_apps {
    hc_app **items; /* owned */
    size_t n, cap;
    hc_map by_id, by_key; /* values point into items */
    hc_app **gone;        /* removed apps (hc_apps_remove), owned */
    size_t ngone;
    void **old; /* strings replaced by hc_apps_put, freed at the end */
    size_t nold;
    void **old_hist; /* hc_history sets replaced by hc_apps_put, freed at the end */
    size_t nold_hist;
};

/* One numeric limit: JSON field name, default-app env suffix, and where it
 * goes. scale multiplies the given number (KiB -> bytes). */
typedef struct hc_app_limit {
    const char *json;
    const char *env;
    size_t scale;
    enum { HC_LIM_LONG, HC_LIM_SIZE } kind;
    size_t offset;
} hc_app_limit;

static const hc_app_limit hc_app_limits[] = {
    {"maxConnections", "MAX_CONNECTIONS", 1, HC_LIM_LONG, offsetof(hc_app, max_connections)},
    {"maxChannelNameLength", "MAX_CHANNEL_NAME_LENGTH", 1, HC_LIM_SIZE,
     offsetof(hc_app, max_channel_name_len)},
    {"maxEventChannelsAtOnce", "MAX_EVENT_CHANNELS_AT_ONCE", 1, HC_LIM_SIZE,
     offsetof(hc_app, max_event_channels)},
    {"maxEventNameLength", "MAX_EVENT_NAME_LENGTH", 1, HC_LIM_SIZE,
     offsetof(hc_app, max_event_name_len)},
    {"maxEventPayloadInKb", "MAX_EVENT_PAYLOAD_IN_KB", 1024, HC_LIM_SIZE,
     offsetof(hc_app, max_payload_bytes)},
    {"maxEventBatchSize", "MAX_EVENT_BATCH_SIZE", 1, HC_LIM_SIZE, offsetof(hc_app, max_batch_size)},
    {"maxClientEventsPerSecond", "MAX_CLIENT_EVENTS_PER_SEC", 1, HC_LIM_LONG,
     offsetof(hc_app, max_client_events_per_sec)},
    {"maxBackendEventsPerSecond", "MAX_BACKEND_EVENTS_PER_SEC", 1, HC_LIM_LONG,
     offsetof(hc_app, max_backend_events_per_sec)},
    {"maxReadRequestsPerSecond", "MAX_READ_REQ_PER_SEC", 1, HC_LIM_LONG,
     offsetof(hc_app, max_read_req_per_sec)},
    {"maxPresenceMembersPerChannel", "MAX_PRESENCE_MEMBERS_PER_CHANNEL", 1, HC_LIM_SIZE,
     offsetof(hc_app, max_presence_members)},
    {"maxPresenceMemberSizeInKb", "MAX_PRESENCE_MEMBER_SIZE_IN_KB", 1024, HC_LIM_SIZE,
     offsetof(hc_app, max_presence_member_bytes)},
    {"userAuthenticationTimeout", "USER_AUTHENTICATION_TIMEOUT", 1, HC_LIM_LONG,
     offsetof(hc_app, user_auth_timeout_ms)},
    {"maxWatchlistSize", "MAX_WATCHLIST_SIZE", 1, HC_LIM_SIZE, offsetof(hc_app, max_watchlist)},
};
#define HC_APP_NLIMITS (sizeof hc_app_limits / sizeof hc_app_limits[0])

/* One on/off setting: JSON field name, default-app env suffix, field. */
typedef struct hc_app_flag {
    const char *json;
    const char *env;
    size_t offset;
} hc_app_flag;

static const hc_app_flag hc_app_flags[] = {
    {"enabled", "ENABLED", offsetof(hc_app, enabled)},
    {"enableClientMessages", "ENABLE_CLIENT_MESSAGES", offsetof(hc_app, enable_client_messages)},
    {"enableUserAuthentication", "USER_AUTHENTICATION", offsetof(hc_app, user_authentication)},
};
#define HC_APP_NFLAGS (sizeof hc_app_flags / sizeof hc_app_flags[0])

hc_apps *hc_apps_new(void)
{
    return hc_calloc(1, sizeof(hc_apps));
}

static void hc_app_free_strings(hc_app *a)
{
    free(a->id);
    free(a->key);
    free(a->secret);
    free(a->webhooks);
    a->id = a->key = a->secret = a->webhooks = NULL;
    hc_history_free(a->history);
    a->history = NULL;
}

void hc_apps_free(hc_apps *apps)
{
    if (!apps)
        return;
    for (size_t i = 0; i < apps->n; i++) {
        hc_app_free_strings(apps->items[i]);
        free(apps->items[i]);
    }
    free(apps->items);
    for (size_t i = 0; i < apps->ngone; i++) {
        hc_app_free_strings(apps->gone[i]);
        free(apps->gone[i]);
    }
    free(apps->gone);
    for (size_t i = 0; i < apps->nold; i++)
        free(apps->old[i]);
    free(apps->old);
    for (size_t i = 0; i < apps->nold_hist; i++)
        hc_history_free(apps->old_hist[i]);
    free(apps->old_hist);
    hc_map_free(&apps->by_id);
    hc_map_free(&apps->by_key);
    free(apps);
}

void hc_app_defaults(hc_app *a)
{
    memset(a, 0, sizeof *a);
    a->enabled = true;
    a->max_connections = -1;
    a->max_channel_name_len = 200;
    a->max_event_channels = 100;
    a->max_event_name_len = 200;
    a->max_payload_bytes = 10 * 1024;
    a->max_batch_size = 10;
    a->enable_client_messages = false;
    a->max_client_events_per_sec = 10;
    a->max_backend_events_per_sec = -1;
    a->max_read_req_per_sec = -1;
    a->max_presence_members = 100;
    a->max_presence_member_bytes = 2 * 1024;
    a->user_authentication = false;
    a->user_auth_timeout_ms = 30000;
    a->webhooks = NULL;
    a->subscription_count = false;
    a->max_watchlist = 100;
}

/* Stores v (already scaled) into the limit's field; a negative value means
 * unlimited (-1 for max_connections, SIZE_MAX for the size_t limits). */
static void hc_app_set_limit(hc_app *a, const hc_app_limit *l, double v)
{
    char *f = (char *)a + l->offset;
    if (l->kind == HC_LIM_LONG) /* clamp: converting a double beyond long is undefined */
        *(long *)f = v < 0 ? -1 : v >= (double)LONG_MAX ? LONG_MAX : (long)v;
    else
        *(size_t *)f = v < 0 || v >= (double)SIZE_MAX ? SIZE_MAX : (size_t)v;
}

static bool hc_parse_number(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || v != v)
        return false;
    *out = v;
    return true;
}

static bool hc_parse_flag(const char *s, bool *out)
{
    if (!strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "yes"))
        *out = true;
    else if (!strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "no"))
        *out = false;
    else
        return false;
    return true;
}

/* ---- JSON ---------------------------------------------------------------- */

/* Returns a heap copy of a string (or integer) member, or NULL. */
static char *hc_json_text(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    if (json_is_string(v))
        return hc_strndup(json_string_value(v), json_string_length(v));
    if (json_is_integer(v)) {
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
        return hc_strdup(tmp);
    }
    return NULL;
}

/* Reads a limit given as a number or numeric string. Returns false if the
 * member is present but not a number. */
static bool hc_json_limit(json_t *obj, const hc_app_limit *l, hc_app *a)
{
    json_t *v = json_object_get(obj, l->json);
    double d;
    if (!v || json_is_null(v))
        return true;
    if (json_is_number(v))
        d = json_number_value(v);
    else if (!json_is_string(v) || !hc_parse_number(json_string_value(v), &d))
        return false;
    hc_app_set_limit(a, l, d < 0 ? -1 : d * (double)l->scale);
    return true;
}

/* Reads an on/off member (boolean, integer or "true"/"false" string).
 * Returns false if it is present but none of those. */
static bool hc_json_flag(json_t *obj, const hc_app_flag *f, hc_app *a)
{
    bool *out = (bool *)((char *)a + f->offset);
    json_t *v = json_object_get(obj, f->json);
    if (!v || json_is_null(v))
        return true;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return true;
    }
    if (json_is_integer(v)) {
        *out = json_integer_value(v) != 0;
        return true;
    }
    return json_is_string(v) && hc_parse_flag(json_string_value(v), out);
}

/* Keeps webhooks (an array, or a string holding one) as compact JSON. */
static bool hc_webhooks_set(hc_app *a, json_t *v)
{
    json_t *parsed = NULL;
    if (json_is_string(v)) {
        parsed = json_loads(json_string_value(v), 0, NULL);
        v = parsed;
    }
    bool ok = json_is_array(v);
    if (ok) {
        free(a->webhooks);
        a->webhooks = json_dumps(v, JSON_COMPACT);
        if (!a->webhooks)
            abort(); /* jansson fails here only when out of memory */
    }
    json_decref(parsed);
    return ok;
}

/* Reads an optional boolean member (true/false, 0/1, "true"/"false"). */
static bool hc_json_bool(json_t *obj, const char *name, bool *out)
{
    json_t *v = json_object_get(obj, name);
    if (!v || json_is_null(v))
        return true;
    if (json_is_boolean(v) || json_is_integer(v)) {
        *out = json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0);
        return true;
    }
    return json_is_string(v) && hc_parse_flag(json_string_value(v), out);
}

/* Name of the first of id, key, secret that is absent or empty, or NULL. */
static const char *hc_app_missing(const hc_app *a)
{
    if (!a->id || !*a->id)
        return "id";
    if (!a->key || !*a->key)
        return "key";
    return !a->secret || !*a->secret ? "secret" : NULL;
}

/* Fills a from one JSON app object; returns false with err set. On false
 * the caller frees a's strings. */
static bool hc_app_from_json(json_t *obj, size_t idx, hc_app *a, char *err, size_t errlen)
{
    hc_app_defaults(a);
    if (!json_is_object(obj)) {
        snprintf(err, errlen, "app #%zu is not a JSON object", idx + 1);
        return false;
    }
    a->id = hc_json_text(obj, "id");
    a->key = hc_json_text(obj, "key");
    a->secret = hc_json_text(obj, "secret");
    const char *missing = hc_app_missing(a);
    if (missing) {
        snprintf(err, errlen, "app #%zu: \"%s\" must be a non-empty string", idx + 1, missing);
        return false;
    }
    for (size_t i = 0; i < HC_APP_NFLAGS; i++) {
        if (!hc_json_flag(obj, &hc_app_flags[i], a)) {
            snprintf(err, errlen, "app #%zu (%s): \"%s\" must be a boolean", idx + 1, a->id,
                     hc_app_flags[i].json);
            return false;
        }
    }
    json_t *hooks = json_object_get(obj, "webhooks");
    if (hooks && !json_is_null(hooks) && !hc_webhooks_set(a, hooks)) {
        snprintf(err, errlen, "app #%zu (%s): \"webhooks\" must be an array", idx + 1, a->id);
        return false;
    }
    if (!hc_json_bool(obj, "enableSubscriptionCount", &a->subscription_count)) {
        snprintf(err, errlen, "app #%zu (%s): \"enableSubscriptionCount\" must be a boolean",
                 idx + 1, a->id);
        return false;
    }
    for (size_t i = 0; i < HC_APP_NLIMITS; i++) {
        if (!hc_json_limit(obj, &hc_app_limits[i], a)) {
            snprintf(err, errlen, "app #%zu (%s): \"%s\" must be a number", idx + 1, a->id,
                     hc_app_limits[i].json);
            return false;
        }
    }
    char why[160];
    if (!hc_history_from_json(json_object_get(obj, "history"), &a->history, why, sizeof(why))) {
        snprintf(err, errlen, "app #%zu (%s): %s", idx + 1, a->id, why);
        return false;
    }
    return true;
}

/* Returns the array of app objects in root (borrowed), or NULL. */
static json_t *hc_apps_array(json_t *root)
{
    if (json_is_array(root))
        return root;
    json_t *apps = json_is_object(root) ? json_object_get(root, "apps") : NULL;
    return json_is_array(apps) ? apps : NULL;
}

/* ---- registry ------------------------------------------------------------ */

/* True (with a sentence in err, which may be NULL) when a's id or key is
 * already taken in apps or in pending[0..npending). */
static bool hc_apps_clash(const hc_apps *apps, const hc_app *pending, size_t npending,
                          const hc_app *a, char *err, size_t errlen)
{
    bool id_taken = hc_apps_by_id(apps, a->id) != NULL;
    bool key_taken = hc_apps_by_key(apps, a->key) != NULL;
    for (size_t i = 0; i < npending; i++) {
        id_taken = id_taken || strcmp(pending[i].id, a->id) == 0;
        key_taken = key_taken || strcmp(pending[i].key, a->key) == 0;
    }
    if (id_taken)
        snprintf(err, errlen, "duplicate app id '%s'", a->id);
    else if (key_taken)
        snprintf(err, errlen, "duplicate app key '%s' (app id '%s')", a->key, a->id);
    return id_taken || key_taken;
}

static void hc_apps_insert(hc_apps *apps, const hc_app *a)
{
    hc_app *copy = hc_malloc(sizeof *copy);
    *copy = *a;
    copy->id = hc_strdup(a->id);
    copy->key = hc_strdup(a->key);
    copy->secret = hc_strdup(a->secret ? a->secret : "");
    copy->webhooks = a->webhooks ? hc_strdup(a->webhooks) : NULL;
    copy->history = hc_history_copy(a->history);
    if (apps->n == apps->cap) {
        apps->cap = apps->cap ? apps->cap * 2 : 4;
        apps->items = hc_realloc(apps->items, apps->cap * sizeof *apps->items);
    }
    apps->items[apps->n++] = copy;
    hc_map_put(&apps->by_id, copy->id, strlen(copy->id), copy);
    hc_map_put(&apps->by_key, copy->key, strlen(copy->key), copy);
}

int hc_apps_add(hc_apps *apps, const hc_app *a)
{
    if (!a->id || !a->key || hc_apps_clash(apps, NULL, 0, a, NULL, 0))
        return -1;
    hc_apps_insert(apps, a);
    return 0;
}

/* Parses every app of arr into pending (caller-owned array of n apps whose
 * strings the caller frees). Returns false with err on the first problem. */
static bool hc_apps_parse_all(const hc_apps *apps, json_t *arr, hc_app *pending, char *err,
                              size_t errlen)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        hc_app *a = &pending[i];
        if (!hc_app_from_json(json_array_get(arr, i), i, a, err, errlen) ||
            hc_apps_clash(apps, pending, i, a, err, errlen))
            return false;
    }
    return true;
}

int hc_apps_load_json(hc_apps *apps, const char *json, size_t len, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        return -1;
    }
    json_t *arr = hc_apps_array(root);
    if (!arr) {
        snprintf(err, errlen, "expected {\"apps\":[...]} or a JSON array of apps");
        json_decref(root);
        return -1;
    }
    size_t n = json_array_size(arr);
    hc_app *pending = hc_calloc(n ? n : 1, sizeof *pending);
    bool ok = hc_apps_parse_all(apps, arr, pending, err, errlen);
    for (size_t i = 0; i < n; i++) {
        if (ok)
            hc_apps_insert(apps, &pending[i]);
        hc_app_free_strings(&pending[i]);
    }
    free(pending);
    json_decref(root);
    return ok ? (int)n : -1;
}

/* ---- default app from the environment ------------------------------------ */

/* Value of HERALD_DEFAULT_APP_<suffix>, else SOKETI_DEFAULT_APP_<suffix>,
 * else NULL (owned by the environment). buf gets the name of the variable
 * that was used, for error messages. */
static const char *hc_default_env(hc_getenv_fn getenv_fn, const char *suffix, char *buf,
                                  size_t buflen)
{
    static const char *const prefixes[] = {"HERALD_DEFAULT_APP_", "SOKETI_DEFAULT_APP_"};
    for (size_t i = 0; getenv_fn && i < 2; i++) {
        snprintf(buf, buflen, "%s%s", prefixes[i], suffix);
        const char *v = getenv_fn(buf);
        if (v)
            return v;
    }
    return NULL;
}

/* Applies the numeric and enabled settings; false with err on a bad value. */
static bool hc_default_limits(hc_app *a, hc_getenv_fn getenv_fn, char *err, size_t errlen)
{
    char name[96];
    const char *v;
    for (size_t i = 0; i < HC_APP_NFLAGS; i++) {
        v = hc_default_env(getenv_fn, hc_app_flags[i].env, name, sizeof name);
        if (v && !hc_parse_flag(v, (bool *)((char *)a + hc_app_flags[i].offset))) {
            snprintf(err, errlen, "%s: invalid boolean '%s'", name, v);
            return false;
        }
    }
    v = hc_default_env(getenv_fn, "WEBHOOKS", name, sizeof name);
    if (v && *v) {
        json_t *s = json_string(v);
        bool ok = s && hc_webhooks_set(a, s);
        json_decref(s);
        if (!ok) {
            snprintf(err, errlen, "%s: expected a JSON array of webhooks", name);
            return false;
        }
    }
    v = hc_default_env(getenv_fn, "ENABLE_SUBSCRIPTION_COUNT", name, sizeof name);
    if (v && !hc_parse_flag(v, &a->subscription_count)) {
        snprintf(err, errlen, "%s: invalid boolean '%s'", name, v);
        return false;
    }
    for (size_t i = 0; i < HC_APP_NLIMITS; i++) {
        const hc_app_limit *l = &hc_app_limits[i];
        double d;
        v = hc_default_env(getenv_fn, l->env, name, sizeof name);
        if (!v)
            continue;
        if (!hc_parse_number(v, &d)) {
            snprintf(err, errlen, "%s: invalid number '%s'", name, v);
            return false;
        }
        hc_app_set_limit(a, l, d < 0 ? -1 : d * (double)l->scale);
    }
    return true;
}

/* HERALD_DEFAULT_APP_HISTORY: the default app's history rules as a JSON
 * array (hc_history.h). False with err when malformed. */
static bool hc_default_history(hc_app *a, hc_getenv_fn getenv_fn, char *err, size_t errlen)
{
    char name[96], why[160];
    const char *v = hc_default_env(getenv_fn, "HISTORY", name, sizeof name);
    if (!v || !*v)
        return true;
    json_t *arr = json_loads(v, 0, NULL);
    bool ok = arr && hc_history_from_json(arr, &a->history, why, sizeof why);
    if (!ok)
        snprintf(err, errlen, "%s: %s", name, arr ? why : "not valid JSON");
    json_decref(arr);
    return ok;
}

int hc_apps_load_default(hc_apps *apps, hc_getenv_fn getenv_fn, char *err, size_t errlen)
{
    char name[96];
    hc_app a;
    hc_app_defaults(&a);
    const char *id = hc_default_env(getenv_fn, "ID", name, sizeof name);
    const char *key = hc_default_env(getenv_fn, "KEY", name, sizeof name);
    const char *secret = hc_default_env(getenv_fn, "SECRET", name, sizeof name);
    a.id = (char *)(id && *id ? id : "app-id");
    a.key = (char *)(key && *key ? key : "app-key");
    a.secret = (char *)(secret && *secret ? secret : "app-secret");
    if (!hc_default_limits(&a, getenv_fn, err, errlen) ||
        hc_apps_clash(apps, NULL, 0, &a, err, errlen) ||
        !hc_default_history(&a, getenv_fn, err, errlen)) {
        free(a.webhooks);
        hc_history_free(a.history);
        return -1;
    }
    hc_apps_insert(apps, &a);
    free(a.webhooks);
    hc_history_free(a.history);
    return 0;
}

/* ---- lookups (returned pointers are owned by apps) ----------------------- */

const hc_app *hc_apps_by_id(const hc_apps *apps, const char *id)
{
    return id ? hc_map_get(&apps->by_id, id, strlen(id)) : NULL;
}

const hc_app *hc_apps_by_key(const hc_apps *apps, const char *key)
{
    return key ? hc_map_get(&apps->by_key, key, strlen(key)) : NULL;
}

size_t hc_apps_count(const hc_apps *apps)
{
    return apps->n;
}

const hc_app *hc_apps_at(const hc_apps *apps, size_t i)
{
    return i < apps->n ? apps->items[i] : NULL;
}

/* ---- changes at run time -------------------------------------------------- */

bool hc_app_parse_json(const char *json, size_t len, hc_app *a, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *obj = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!obj) {
        hc_app_defaults(a);
        snprintf(err, errlen, "invalid JSON at column %d: %s", jerr.column, jerr.text);
        return false;
    }
    bool ok = hc_app_from_json(obj, 0, a, err, errlen);
    json_decref(obj);
    if (!ok)
        hc_app_free_strings(a);
    return ok;
}

void hc_app_clear(hc_app *a)
{
    hc_app_free_strings(a);
}

/* Keeps p (a string, or an hc_history when history is set) until
 * hc_apps_free: whoever read it from the app may still hold it. */
static void hc_apps_keep(hc_apps *apps, void *p, bool history)
{
    if (!p)
        return;
    void ***arr = history ? &apps->old_hist : &apps->old;
    size_t *n = history ? &apps->nold_hist : &apps->nold;
    *arr = hc_realloc(*arr, (*n + 1) * sizeof(**arr));
    (*arr)[(*n)++] = p;
}

static void hc_apps_push(hc_app ***arr, size_t *n, size_t *cap, hc_app *a)
{
    if (cap && *n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *arr = hc_realloc(*arr, *cap * sizeof(**arr));
    } else if (!cap) {
        *arr = hc_realloc(*arr, (*n + 1) * sizeof(**arr));
    }
    (*arr)[(*n)++] = a;
}

int hc_apps_put(hc_apps *apps, const hc_app *a, const hc_app **out, char *err, size_t errlen)
{
    hc_app *cur = hc_map_get(&apps->by_id, a->id, strlen(a->id));
    const hc_app *owner = hc_apps_by_key(apps, a->key);
    if (owner && owner != cur) {
        snprintf(err, errlen, "app key '%s' of app '%s' belongs to app '%s'", a->key, a->id,
                 owner->id);
        return -1;
    }
    size_t gi = 0;
    if (!cur) /* removed earlier: revive it */
        for (; gi < apps->ngone && !cur; gi++)
            if (strcmp(apps->gone[gi]->id, a->id) == 0)
                cur = apps->gone[gi];
    if (!cur) {
        hc_apps_insert(apps, a);
        *out = apps->items[apps->n - 1];
        return 0;
    }
    bool revived = hc_map_get(&apps->by_id, a->id, strlen(a->id)) == NULL;
    if (!revived)
        hc_map_del(&apps->by_key, cur->key, strlen(cur->key));
    char *id = cur->id;
    hc_apps_keep(apps, cur->key, false);
    hc_apps_keep(apps, cur->secret, false);
    hc_apps_keep(apps, cur->webhooks, false);
    hc_apps_keep(apps, cur->history, true);
    *cur = *a;
    cur->id = id;
    cur->key = hc_strdup(a->key);
    cur->secret = hc_strdup(a->secret ? a->secret : "");
    cur->webhooks = a->webhooks ? hc_strdup(a->webhooks) : NULL;
    cur->history = hc_history_copy(a->history);
    if (revived) {
        apps->gone[gi - 1] = apps->gone[--apps->ngone];
        hc_apps_push(&apps->items, &apps->n, &apps->cap, cur);
        hc_map_put(&apps->by_id, cur->id, strlen(cur->id), cur);
    }
    hc_map_put(&apps->by_key, cur->key, strlen(cur->key), cur);
    *out = cur;
    return revived ? 0 : 1;
}

const hc_app *hc_apps_remove(hc_apps *apps, const char *id)
{
    hc_app *a = id ? hc_map_del(&apps->by_id, id, strlen(id)) : NULL;
    if (!a)
        return NULL;
    hc_map_del(&apps->by_key, a->key, strlen(a->key));
    for (size_t i = 0; i < apps->n; i++) {
        if (apps->items[i] == a) {
            memmove(&apps->items[i], &apps->items[i + 1], (apps->n - i - 1) * sizeof(*apps->items));
            apps->n--;
            break;
        }
    }
    hc_apps_push(&apps->gone, &apps->ngone, NULL, a);
    return a;
}
