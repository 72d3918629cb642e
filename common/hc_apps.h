/*
 * hc_apps: the registry of apps (id, key, secret, limits).
 *
 * Apps come from a JSON document (an apps file: {"apps":[{...}]} or a bare
 * array, field names as Soketi's app manager uses them: id, key, secret,
 * enabled, maxConnections, maxEventPayloadInKb, ...) and from the
 * default-app environment (HERALD_DEFAULT_APP_* first, then Soketi's
 * SOKETI_DEFAULT_APP_*). Lookup by id and by key. Owns every app. Pure: the
 * JSON arrives as a string and the environment through a lookup function.
 */
#ifndef HC_APPS_H
#define HC_APPS_H

#include <stdbool.h>
#include <stddef.h>

#include "hc_config.h"

typedef struct hc_app {
    char *id;
    char *key;
    char *secret;
    bool enabled;
    long max_connections;             /* -1: unlimited */
    size_t max_channel_name_len;      /* default 200 */
    size_t max_event_channels;        /* channels per trigger, default 100 */
    size_t max_event_name_len;        /* default 200 */
    size_t max_payload_bytes;         /* event data, default 10 KiB */
    size_t max_batch_size;            /* batch_events, default 10 */
    bool enable_client_messages;      /* client- events allowed; default off */
    long max_client_events_per_sec;   /* per connection, default 10; -1 unlimited */
    long max_backend_events_per_sec;  /* HTTP API events x channels; -1 unlimited */
    long max_read_req_per_sec;        /* HTTP API GET requests; -1 unlimited */
    size_t max_presence_members;      /* per presence channel, default 100 */
    size_t max_presence_member_bytes; /* user_info size, default 2 KiB */
    bool user_authentication;         /* connections must sign in; default off */
    long user_auth_timeout_ms;        /* ... within this long, default 30000 */
    char *webhooks;                   /* the app's webhooks as compact JSON (an array), or NULL */
    struct hc_history *history;       /* "history" rules (hc_history.h); NULL: none */
    bool subscription_count;          /* pusher_internal:subscription_count, default off */
    size_t max_watchlist;             /* user ids in a sign-in's watchlist, default 100 */
} hc_app;

typedef struct hc_apps hc_apps;

hc_apps *hc_apps_new(void);
void hc_apps_free(hc_apps *apps);
/* Fills a with the defaults above (id/key/secret NULL). */
void hc_app_defaults(hc_app *a);
/* Adds the apps of a JSON document. Returns the number added, or -1 with a
 * sentence in err (nothing is added on error). Duplicate ids or keys are an
 * error. */
int hc_apps_load_json(hc_apps *apps, const char *json, size_t len, char *err, size_t errlen);
/* Adds the default app from HERALD_DEFAULT_APP_{ID,KEY,SECRET,ENABLED,
 * MAX_CONNECTIONS,...} or SOKETI_DEFAULT_APP_*, defaults app-id / app-key /
 * app-secret. Returns 0 or -1 (err) if it clashes with an existing app. */
int hc_apps_load_default(hc_apps *apps, hc_getenv_fn getenv_fn, char *err, size_t errlen);
/* Adds a copy of a (takes copies of its strings); -1 if id/key taken. */
int hc_apps_add(hc_apps *apps, const hc_app *a);
const hc_app *hc_apps_by_id(const hc_apps *apps, const char *id);
const hc_app *hc_apps_by_key(const hc_apps *apps, const char *key);
size_t hc_apps_count(const hc_apps *apps);
const hc_app *hc_apps_at(const hc_apps *apps, size_t i);

/* ---- changes at run time (apps from Redis: gateway/gw_apps_redis.c) ----
 * An app's hc_app never moves or goes away before hc_apps_free: a change
 * is made in place (replaced strings are kept until then), a removed app
 * leaves the lookups and hc_apps_at but stays valid for whoever holds it. */

/* Parses one app object (Soketi's field names) into a; false with err. On
 * true the caller releases a with hc_app_clear. */
bool hc_app_parse_json(const char *json, size_t len, hc_app *a, char *err, size_t errlen);
/* Frees what hc_app_parse_json allocated in a. */
void hc_app_clear(hc_app *a);
/* Adds a (copied) or, when an app with its id exists (or was removed),
 * changes that one in place to a. Returns 0 when added, 1 when changed, -1
 * with err when a's key belongs to another app. *out: the app in apps. */
int hc_apps_put(hc_apps *apps, const hc_app *a, const hc_app **out, char *err, size_t errlen);
/* Takes app id out of the lookups; returns it (still valid), or NULL. */
const hc_app *hc_apps_remove(hc_apps *apps, const char *id);

#endif
