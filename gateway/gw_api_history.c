/*
 * gw_api_history: the HTTP history read (see gw_api_history.h).
 */
#include "gw_api_history.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_recovery.h"
#include "gw_subs.h"
#include "hc_api_auth.h"
#include "hc_channel.h"
#include "hc_mem.h"

static const char suffix[] = "/history";

/* The channel name in "channels/<name>/history" as a new string, or NULL. */
static char *channel_of(const char *rest)
{
    static const char pre[] = "channels/";
    size_t n = strlen(rest);
    if (strncmp(rest, pre, sizeof(pre) - 1) != 0 || n <= sizeof(pre) - 1 + sizeof(suffix) - 1 ||
        strcmp(rest + n - (sizeof(suffix) - 1), suffix) != 0)
        return NULL;
    const char *name = rest + sizeof(pre) - 1;
    size_t len = n - (sizeof(pre) - 1) - (sizeof(suffix) - 1);
    if (memchr(name, '/', len))
        return NULL;
    return hc_strndup(name, len);
}

/* Parses limit, since and direction into h; false with a 400 in out. */
static bool parse_params(const hc_query *q, gw_api_history *h, gw_api_response *out)
{
    const char *limit = hc_query_get(q, "limit"), *since = hc_query_get(q, "since");
    const char *dir = hc_query_get(q, "direction");
    h->limit = GW_API_HISTORY_LIMIT_DEFAULT;
    if (limit && *limit) {
        char *end;
        errno = 0;
        long v = strtol(limit, &end, 10);
        if (*end || errno || v < 1 || v > GW_API_HISTORY_LIMIT_MAX) {
            gw_api_set_error(out, 400, "limit must be an integer from 1 to 1000");
            return false;
        }
        h->limit = (uint32_t)v;
    }
    if (since && *since) {
        if (!gw_recovery_parse_id(since, h->since_epoch, sizeof(h->since_epoch),
                                  &h->since_offset)) {
            gw_api_set_error(out, 400, "since must be an event id \"<epoch>:<offset>\"");
            return false;
        }
        h->has_since = true;
    }
    if (dir && *dir && strcmp(dir, "forward") != 0 && strcmp(dir, "backward") != 0) {
        gw_api_set_error(out, 400, "direction must be forward or backward");
        return false;
    }
    h->forward = dir && strcmp(dir, "forward") == 0;
    return true;
}

bool gw_api_history_route(const hc_apps *apps, const gw_api_request *req, const char *id,
                          const char *rest, gw_api_response *out)
{
    char *channel = channel_of(rest);
    if (!channel)
        return false;
    const hc_app *app = hc_apps_by_id(apps, id);
    const char *why = NULL;
    hc_auth_result ar;
    if (strcmp(req->method, "GET") != 0) {
        gw_api_set_error(out, 405, "Method not allowed: use GET");
    } else if (!app) {
        gw_api_set_error(out, 404, "Unknown app id");
    } else if ((ar = hc_api_auth_check(app, req->method, req->path, req->query, req->body,
                                       req->body_len, req->now_s, &why)) != HC_AUTH_OK) {
        gw_api_set_error(out, 401, why ? why : "Unauthorized: invalid signature");
    } else if (!hc_channel_valid(channel, app->max_channel_name_len, &why)) {
        gw_api_set_error(out, 400, why ? why : "Invalid channel name");
    } else {
        gw_api_history *h = hc_calloc(1, sizeof(*h));
        if (parse_params(req->query, h, out)) {
            h->app_id = hc_strdup(app->id);
            h->channel = channel;
            out->history = h;
            return true;
        }
        free(h);
    }
    free(channel);
    return true;
}

void gw_api_history_replay(const gw_api_history *h, gw_replay_req *r)
{
    memset(r, 0, sizeof(*r));
    r->app_id = h->app_id;
    r->channel = h->channel;
    r->limit = h->limit;
    if (h->forward) {
        r->page = true;
        r->since_epoch = h->has_since ? h->since_epoch : "";
        r->since_offset = h->has_since ? h->since_offset : 0;
    } else {
        r->rewind = h->limit; /* the newest, filtered by since below */
    }
}

static void put_item(hc_sbuf *b, const Herald__Event *ev)
{
    char id[128];
    snprintf(id, sizeof(id), "%s:%" PRIu64, ev->epoch ? ev->epoch : "", ev->offset);
    hc_sbuf_puts(b, "{\"id\":");
    hc_sbuf_json_string(b, id, strlen(id));
    hc_sbuf_puts(b, ",\"event\":");
    hc_sbuf_json_string(b, ev->name ? ev->name : "", ev->name ? strlen(ev->name) : 0);
    hc_sbuf_puts(b, ",\"data\":");
    hc_sbuf_json_string(b, (const char *)ev->data.data, ev->data.len);
    if (ev->user_id && ev->user_id[0]) {
        hc_sbuf_puts(b, ",\"user_id\":");
        hc_sbuf_json_string(b, ev->user_id, strlen(ev->user_id));
    }
    hc_sbuf_puts(b, "}");
}

/* True when ev belongs in the answer (after since, in since's epoch). */
static bool wanted(const gw_api_history *h, const Herald__Event *ev)
{
    if (!h->has_since)
        return true;
    return ev->epoch && strcmp(ev->epoch, h->since_epoch) == 0 && ev->offset > h->since_offset;
}

void gw_api_history_answer(const gw_api_history *h, const Herald__ReplayResponse *r,
                           gw_api_response *out)
{
    if (!r->ok) {
        char msg[300];
        snprintf(msg, sizeof(msg), "History read failed: %s", r->error ? r->error : "unknown");
        gw_api_set_error(out, 503, msg);
        return;
    }
    hc_sbuf_reset(&out->body);
    out->status = 200;
    hc_sbuf *b = &out->body;
    hc_sbuf_puts(b, "{\"items\":[");
    size_t n = r->n_events, put = 0;
    for (size_t k = 0; k < n; k++) {
        const Herald__Event *ev = r->events[h->forward ? k : n - 1 - k];
        if (!wanted(h, ev))
            continue;
        if (put++)
            hc_sbuf_puts(b, ",");
        put_item(b, ev);
    }
    hc_sbuf_puts(b, "]");
    if (r->epoch && r->epoch[0])
        hc_sbuf_printf(b, ",\"position\":\"%s:%" PRIu64 "\"", r->epoch, r->offset);
    if (h->forward && r->more && n)
        hc_sbuf_printf(b, ",\"next\":\"%s:%" PRIu64 "\"", r->epoch, r->events[n - 1]->offset);
    hc_sbuf_puts(b, "}");
}

void gw_api_history_free(gw_api_history *h)
{
    if (!h)
        return;
    free(h->app_id);
    free(h->channel);
    free(h);
}
