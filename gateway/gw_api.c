/*
 * gw_api: Pusher HTTP API request handling (see gw_api.h).
 *
 * Owns routing, the order of checks (route, method, app, signature,
 * enabled, body, limits) and the error sentences. Bodies are parsed with
 * jansson; answers are built with hc_sbuf.
 */
#include "gw_api.h"
#include "gw_api_history.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_api_auth.h"
#include "hc_channel.h"
#include "hc_mem.h"
#include "gw_user.h"

/* Longest user-supplied string quoted back in an error. */
#define QUOTE_MAX 64

static void pubs_clear(gw_api_response *out)
{
    for (size_t i = 0; i < out->npubs; i++) {
        gw_api_publish *p = &out->pubs[i];
        free(p->app_id);
        free(p->channel);
        free(p->name);
        free(p->data);
        free(p->socket_id);
    }
    out->npubs = 0;
}

void gw_api_response_free(gw_api_response *out)
{
    pubs_clear(out);
    free(out->query_op);
    free(out->query_app_id);
    free(out->query_channel);
    free(out->pubs);
    hc_sbuf_free(&out->body);
    gw_api_history_free(out->history);
    memset(out, 0, sizeof(*out));
}

void gw_api_set_error(gw_api_response *out, int status, const char *message)
{
    pubs_clear(out);
    out->status = status;
    hc_sbuf_reset(&out->body);
    hc_sbuf_puts(&out->body, "{\"error\":");
    hc_sbuf_json_string(&out->body, message, strlen(message));
    hc_sbuf_puts(&out->body, "}");
}

static void errorf(gw_api_response *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void errorf(gw_api_response *out, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    gw_api_set_error(out, status, msg);
}

static void answer(gw_api_response *out, int status, const char *json)
{
    out->status = status;
    hc_sbuf_reset(&out->body);
    hc_sbuf_puts(&out->body, json);
}

const char *gw_api_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

/* A printable, bounded copy of s for error messages. */
static const char *shown(char buf[QUOTE_MAX + 4], const char *s)
{
    if (strlen(s) > QUOTE_MAX)
        snprintf(buf, QUOTE_MAX + 4, "%.*s...", QUOTE_MAX, s);
    else
        snprintf(buf, QUOTE_MAX + 4, "%s", s);
    return buf;
}

/* The string value of a JSON string without embedded NULs, else NULL. */
static const char *plain_string(json_t *v)
{
    if (!json_is_string(v))
        return NULL;
    const char *s = json_string_value(v);
    return strlen(s) == json_string_length(v) ? s : NULL;
}

/* True for "<digits>.<digits>". */
static bool socket_id_ok(const char *s)
{
    size_t a = strspn(s, "0123456789");
    if (a == 0 || s[a] != '.')
        return false;
    size_t b = strspn(s + a + 1, "0123456789");
    return b > 0 && s[a + 1 + b] == '\0';
}

/* An event being validated, before it becomes publishes. */
typedef struct event_in {
    const char *name;
    const char **channels;
    size_t nchannels;
    char *data; /* owned */
    size_t data_len;
    const char *socket_id;
} event_in;

/* Fills e->data from the JSON value d: strings verbatim, anything else
 * serialized compactly. Returns false when d is absent. */
static bool take_data(event_in *e, json_t *d)
{
    if (!d)
        return false;
    if (json_is_string(d)) {
        e->data_len = json_string_length(d);
        e->data = hc_malloc(e->data_len + 1);
        memcpy(e->data, json_string_value(d), e->data_len + 1);
        return true;
    }
    e->data = json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!e->data)
        abort(); /* jansson fails here only when out of memory */
    e->data_len = strlen(e->data);
    return true;
}

/* Reads channels (array) or channel (string) into e->channels (a new
 * array of borrowed strings, duplicates dropped). Returns an error
 * sentence or NULL. */
static const char *take_channels(event_in *e, json_t *ev)
{
    json_t *arr = json_object_get(ev, "channels");
    json_t *one = json_object_get(ev, "channel");
    if (arr) {
        if (!json_is_array(arr))
            return "channels must be an array of channel names";
        size_t n = json_array_size(arr);
        e->channels = hc_calloc(n ? n : 1, sizeof(*e->channels));
        for (size_t i = 0; i < n; i++) {
            const char *c = plain_string(json_array_get(arr, i));
            if (!c)
                return "channels must be an array of channel names";
            bool dup = false;
            for (size_t j = 0; j < e->nchannels && !dup; j++)
                dup = strcmp(e->channels[j], c) == 0;
            if (!dup)
                e->channels[e->nchannels++] = c;
        }
    } else if (one) {
        const char *c = plain_string(one);
        if (!c)
            return "channel must be a string";
        e->channels = hc_calloc(1, sizeof(*e->channels));
        e->channels[e->nchannels++] = c;
    }
    if (!e->nchannels)
        return "missing channels: give \"channels\" (an array) or \"channel\"";
    return NULL;
}

/* Writes a sentence to why and returns status. */
static int fail(char *why, size_t whylen, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *why, size_t whylen, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return status;
}

/* Validates one event object against the app's limits. Returns 0, or an
 * HTTP status after writing the sentence to why. */
static int parse_event(const hc_app *app, json_t *ev, event_in *e, char *why, size_t whylen)
{
    char q[QUOTE_MAX + 4];
    if (!json_is_object(ev))
        return fail(why, whylen, 400, "an event must be a JSON object");
    e->name = plain_string(json_object_get(ev, "name"));
    if (!e->name || !*e->name)
        return fail(why, whylen, 400, "missing event name (\"name\", a string)");
    if (strlen(e->name) > app->max_event_name_len)
        return fail(why, whylen, 400, "event name is longer than %zu characters",
                    app->max_event_name_len);
    const char *err = take_channels(e, ev);
    if (err)
        return fail(why, whylen, 400, "%s", err);
    if (e->nchannels > app->max_event_channels)
        return fail(why, whylen, 400, "too many channels: %zu (the limit is %zu)", e->nchannels,
                    app->max_event_channels);
    for (size_t i = 0; i < e->nchannels; i++) {
        const char *cwhy = NULL;
        if (e->channels[i][0] == '#' && gw_user_channel_valid(e->channels[i]))
            continue; /* sendToUser: #server-to-user-<id> */
        if (strlen(e->channels[i]) > app->max_channel_name_len)
            return fail(why, whylen, 400, "invalid channel name %s: longer than %zu characters",
                        shown(q, e->channels[i]), app->max_channel_name_len);
        if (!hc_channel_valid(e->channels[i], app->max_channel_name_len, &cwhy))
            return fail(why, whylen, 400, "invalid channel name %s: %s", shown(q, e->channels[i]),
                        cwhy ? cwhy : "not allowed");
    }
    if (!take_data(e, json_object_get(ev, "data")))
        return fail(why, whylen, 400, "missing data");
    if (e->data_len > app->max_payload_bytes)
        return fail(why, whylen, 413, "event data is %zu bytes; the limit is %zu", e->data_len,
                    app->max_payload_bytes);
    json_t *sid = json_object_get(ev, "socket_id");
    if (sid && !json_is_null(sid)) {
        e->socket_id = plain_string(sid);
        if (!e->socket_id || !socket_id_ok(e->socket_id))
            return fail(why, whylen, 400, "invalid socket_id (expected digits.digits)");
    }
    return 0;
}

static void event_in_free(event_in *e)
{
    free(e->channels);
    free(e->data);
    memset(e, 0, sizeof(*e));
}

/* Appends one publish per channel of e. */
static void add_publishes(gw_api_response *out, const hc_app *app, const event_in *e)
{
    for (size_t i = 0; i < e->nchannels; i++) {
        if (out->npubs == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 4;
            out->pubs = hc_realloc(out->pubs, out->cap * sizeof(*out->pubs));
        }
        gw_api_publish *p = &out->pubs[out->npubs++];
        p->app_id = hc_strdup(app->id);
        p->channel = hc_strdup(e->channels[i]);
        p->name = hc_strdup(e->name);
        p->data = hc_malloc(e->data_len + 1);
        memcpy(p->data, e->data, e->data_len + 1);
        p->data_len = e->data_len;
        p->socket_id = e->socket_id ? hc_strdup(e->socket_id) : NULL;
        p->info_flags = 0;
    }
}

static void handle_events(const hc_app *app, json_t *body, gw_api_response *out)
{
    event_in e = {0};
    char why[512];
    int status = parse_event(app, body, &e, why, sizeof(why));
    if (status)
        gw_api_set_error(out, status, why);
    else {
        add_publishes(out, app, &e);
        answer(out, 200, "{}");
        const char *info = plain_string(json_object_get(body, "info"));
        out->info_flags = info ? gw_api_info_flags(info) : 0;
    }
    event_in_free(&e);
}

static void handle_batch(const hc_app *app, json_t *body, gw_api_response *out)
{
    json_t *batch = json_object_get(body, "batch");
    if (!json_is_array(batch)) {
        gw_api_set_error(out, 400, "missing batch: give {\"batch\":[event, ...]}");
        return;
    }
    size_t n = json_array_size(batch);
    if (n > app->max_batch_size) {
        errorf(out, 400, "batch has %zu events; the limit is %zu", n, app->max_batch_size);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        event_in e = {0};
        char why[480];
        int status = parse_event(app, json_array_get(batch, i), &e, why, sizeof(why));
        if (status) {
            event_in_free(&e);
            errorf(out, status, "batch[%zu]: %s", i, why);
            return;
        }
        size_t first = out->npubs;
        add_publishes(out, app, &e);
        event_in_free(&e);
        const char *info = plain_string(json_object_get(json_array_get(batch, i), "info"));
        for (size_t k = first; info && k < out->npubs; k++) {
            out->pubs[k].info_flags = gw_api_info_flags(info);
            out->batch_info = true;
        }
    }
    answer(out, 200, "{}");
}

/* The user id of "users/{id}/terminate_connections", or NULL; the id is
 * rest[4 .. the next '/'). */
static const char *terminate_user(const char *rest)
{
    static const char tail[] = "/terminate_connections";
    if (strncmp(rest, "users/", 6) != 0)
        return NULL;
    const char *id = rest + 6, *end = strchr(id, '/');
    if (!end || end == id || strcmp(end, tail) != 0)
        return NULL;
    return id;
}

/* POST users/{id}/terminate_connections: one control event on the user's
 * #herald-user-<id> channel; every gateway closes that user's connections
 * when it arrives (gw_user_control). */
static void handle_terminate(const hc_app *app, const char *id_and_rest, const char *rest,
                             gw_api_response *out)
{
    (void)id_and_rest;
    const char *id = terminate_user(rest);
    size_t n = (size_t)(strchr(id, '/') - id);
    char *user = hc_strndup(id, n);
    char *channel = hc_malloc(sizeof(GW_USER_CHANNEL_PREFIX) + n);
    snprintf(channel, sizeof(GW_USER_CHANNEL_PREFIX) + n, "%s%s", GW_USER_CHANNEL_PREFIX, user);
    if (!gw_user_channel_valid(channel)) {
        errorf(out, 400, "invalid user id: use 1-200 characters A-Z a-z 0-9 _ - = @ , . ;");
    } else {
        char control[sizeof(GW_USER_CONTROL_PREFIX) + GW_PUSHER_USER_ID_MAX];
        snprintf(control, sizeof(control), "%s%s", GW_USER_CONTROL_PREFIX, user);
        const char *channels[] = {control};
        event_in e = {GW_USER_TERMINATE_EVENT, channels, 1, (char *)"{}", 2, NULL};
        add_publishes(out, app, &e);
        answer(out, 200, "{}");
    }
    free(channel);
    free(user);
}

/* The 401 sentence for an auth failure. */
static void auth_failed(gw_api_response *out, hc_auth_result r, const char *why)
{
    const char *what;
    switch (r) {
    case HC_AUTH_MISSING:
        what = "missing auth parameter";
        break;
    case HC_AUTH_BAD_KEY:
        what = "auth_key does not match the app's key";
        break;
    case HC_AUTH_BAD_VERSION:
        what = "auth_version must be 1.0";
        break;
    case HC_AUTH_STALE:
        what = "auth_timestamp is missing or more than 600 s away from the server's clock";
        break;
    case HC_AUTH_BAD_BODY_MD5:
        what = "body_md5 does not match the body";
        break;
    default:
        what = "invalid auth_signature";
        break;
    }
    errorf(out, 401, "Unauthorized: %s", why ? why : what);
}

/* Handles /apps/{id}/{rest}. */
static void handle_app(const hc_apps *apps, const gw_api_request *req, const char *id_and_rest,
                       gw_api_response *out)
{
    char q[QUOTE_MAX + 4];
    const char *slash = strchr(id_and_rest, '/');
    if (!slash || slash == id_and_rest) {
        errorf(out, 404, "Not found: %s", shown(q, req->path));
        return;
    }
    const char *rest = slash + 1;
    char *app_id = hc_strndup(id_and_rest, (size_t)(slash - id_and_rest));
    bool history = gw_api_history_route(apps, req, app_id, rest, out);
    free(app_id);
    if (history)
        return;
    bool events = strcmp(rest, "events") == 0, batch = strcmp(rest, "batch_events") == 0;
    bool terminate = terminate_user(rest) != NULL;
    bool channels = strcmp(rest, "channels") == 0 || strncmp(rest, "channels/", 9) == 0;
    if (!events && !batch && !terminate && !channels) {
        if (strncmp(rest, "users/", 6) == 0) {
            errorf(out, 404, "%s %s is not supported by this server yet", req->method,
                   shown(q, req->path));
            return;
        }
        errorf(out, 404, "Not found: %s", shown(q, req->path));
        return;
    }
    if (strcmp(req->method, channels ? "GET" : "POST") != 0) {
        errorf(out, 405, "Method %s not allowed: use %s", req->method, channels ? "GET" : "POST");
        return;
    }
    char *id = hc_strndup(id_and_rest, (size_t)(slash - id_and_rest));
    const hc_app *app = hc_apps_by_id(apps, id);
    if (!app) {
        errorf(out, 404, "Unknown app id %s", shown(q, id));
        free(id);
        return;
    }
    free(id);
    const char *why = NULL;
    hc_auth_result r = hc_api_auth_check(app, req->method, req->path, req->query, req->body,
                                         req->body_len, req->now_s, &why);
    if (r != HC_AUTH_OK) {
        auth_failed(out, r, why);
        return;
    }
    if (!app->enabled) {
        errorf(out, 403, "App %s is disabled", shown(q, app->id));
        return;
    }
    if (channels) {
        if (req->limits && !gw_limits_read(req->limits, app, req->now_ms))
            errorf(out, 429, "Too many requests: the app allows %ld read requests per second",
                   app->max_read_req_per_sec);
        else
            gw_api_channels(app, req, rest + 8, out);
        return;
    }
    json_error_t jerr;
    json_t *body = json_loadb(req->body ? req->body : "", req->body_len, JSON_ALLOW_NUL, &jerr);
    if (!body) {
        errorf(out, 400, "Request body is not valid JSON: %s", jerr.text);
        return;
    }
    if (!json_is_object(body))
        errorf(out, 400, "Request body must be a JSON object");
    else if (terminate)
        handle_terminate(app, id_and_rest, rest, out);
    else if (events)
        handle_events(app, body, out);
    else
        handle_batch(app, body, out);
    json_decref(body);
    if (!terminate && out->npubs && req->limits &&
        !gw_limits_backend(req->limits, app, (long)out->npubs, req->now_ms))
        errorf(out, 429, "Too many requests: the app allows %ld events per second",
               app->max_backend_events_per_sec);
}

void gw_api_handle(const hc_apps *apps, const gw_api_request *req, gw_api_response *out)
{
    static const char apps_prefix[] = "/apps/";
    char q[QUOTE_MAX + 4];
    const char *path = req->path;
    if (strcmp(path, "/") == 0 || strcmp(path, "/health") == 0) {
        if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
            errorf(out, 405, "Method %s not allowed: use GET", req->method);
            return;
        }
        answer(out, 200, "{\"ok\":true}");
        return;
    }
    if (strncmp(path, apps_prefix, sizeof(apps_prefix) - 1) == 0) {
        handle_app(apps, req, path + sizeof(apps_prefix) - 1, out);
        return;
    }
    errorf(out, 404, "Not found: %s", shown(q, path));
}
