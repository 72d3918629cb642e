/*
 * gw_user: user sign-in and user channels (see gw_user.h). A connection
 * signed in as a user is subscribed to both of its user channels in the
 * local table like any channel, so the broker link carries their events
 * to this gateway; they do not count against max_subscriptions.
 */
#include "gw_user.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_buf.h"
#include "hc_channel.h"
#include "hc_mem.h"
#include "hc_sig.h"

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A user id: 1..GW_PUSHER_USER_ID_MAX characters of the channel alphabet. */
static bool user_id_ok(const char *id)
{
    return id && hc_channel_valid(id, GW_PUSHER_USER_ID_MAX, NULL);
}

bool gw_user_channel_valid(const char *channel)
{
    return starts_with(channel, GW_USER_CHANNEL_PREFIX) &&
           user_id_ok(channel + strlen(GW_USER_CHANNEL_PREFIX));
}

const char *gw_user_control_user(const char *channel)
{
    if (!channel || !starts_with(channel, GW_USER_CONTROL_PREFIX))
        return NULL;
    return channel + strlen(GW_USER_CONTROL_PREFIX);
}

bool gw_user_may_subscribe(const gw_pusher_conn *c, const char *channel)
{
    return c->user_id && starts_with(channel, GW_USER_CHANNEL_PREFIX) &&
           strcmp(channel + strlen(GW_USER_CHANNEL_PREFIX), c->user_id) == 0;
}

/* Joins (join=true) or leaves both user channels of c->user_id. */
static void user_channels(gw_pusher_conn *c, bool join)
{
    char
        ch[sizeof(GW_USER_CONTROL_PREFIX) + sizeof(GW_USER_CHANNEL_PREFIX) + GW_PUSHER_USER_ID_MAX];
    const char *prefixes[] = {GW_USER_CHANNEL_PREFIX, GW_USER_CONTROL_PREFIX};
    for (size_t i = 0; i < 2; i++) {
        snprintf(ch, sizeof(ch), "%s%s", prefixes[i], c->user_id);
        if (join)
            c->io->subscribe(c->ud, ch);
        else
            c->io->unsubscribe(c->ud, ch);
    }
}

/* Reads user_data's "watchlist" (an array of user ids, strings or
 * integers) into ids (deduplicated, caller frees each and the array).
 * Returns how many, or -1 with a sentence in why when it is malformed or
 * longer than the app allows. No watchlist: 0. */
static long watchlist_of(const gw_pusher_conn *c, json_t *user, char ***ids, char *why,
                         size_t whylen)
{
    json_t *wl = json_object_get(user, "watchlist");
    *ids = NULL;
    if (!wl || json_is_null(wl))
        return 0;
    if (!json_is_array(wl)) {
        snprintf(why, whylen, "\"watchlist\" in user_data must be an array of user ids");
        return -1;
    }
    size_t n = json_array_size(wl);
    if (n > c->app->max_watchlist) {
        snprintf(why, whylen,
                 "The watchlist has %zu user ids; the app allows %zu (maxWatchlistSize)", n,
                 c->app->max_watchlist);
        return -1;
    }
    char **out = hc_calloc(n ? n : 1, sizeof(*out));
    long k = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(wl, i);
        char num[32];
        const char *id = NULL;
        if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v))
            id = json_string_value(v);
        else if (json_is_integer(v)) {
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
            id = num;
        }
        if (!user_id_ok(id)) {
            for (long j = 0; j < k; j++)
                free(out[j]);
            free(out);
            snprintf(why, whylen,
                     "watchlist entry #%zu is not a user id (a string of at most 200 "
                     "characters A-Z a-z 0-9 _ - = @ , . ;)",
                     i + 1);
            return -1;
        }
        bool dup = false;
        for (long j = 0; j < k && !dup; j++)
            dup = strcmp(out[j], id) == 0;
        if (!dup)
            out[k++] = hc_strdup(id);
    }
    *ids = out;
    return k;
}

static void signin_success(gw_pusher_conn *c, const char *user_data)
{
    hc_sbuf b = HC_SBUF_INIT;
    hc_sbuf_puts(&b, "{\"event\":\"pusher:signin_success\",\"data\":{\"user_data\":");
    hc_sbuf_json_string(&b, user_data, strlen(user_data));
    hc_sbuf_puts(&b, "}}");
    c->io->send(c->ud, b.data, b.len);
    hc_sbuf_free(&b);
}

void gw_user_signin(gw_pusher_conn *c, json_t *data)
{
    json_t *ud = json_is_object(data) ? json_object_get(data, "user_data") : NULL;
    json_t *auth = json_is_object(data) ? json_object_get(data, "auth") : NULL;
    if (!json_is_string(ud) || !json_is_string(auth)) {
        gw_pusher_error(c, 0,
                        "Invalid pusher:signin: data must be {\"user_data\":\"<JSON>\","
                        "\"auth\":\"<app key>:<signature>\"}");
        return;
    }
    const char *user_data = json_string_value(ud);
    if (strlen(user_data) != json_string_length(ud) ||
        !hc_sig_user_ok(c->app->key, c->app->secret, c->socket_id, user_data,
                        json_string_value(auth))) {
        gw_pusher_fatal(c, GW_PUSHER_UNAUTHORIZED,
                        "Unauthorized: invalid pusher:signin signature (HMAC-SHA256 of "
                        "'<socket_id>::user::<user_data>' with the app secret)");
        return;
    }
    json_t *user = json_loads(user_data, 0, NULL);
    json_t *id = json_is_object(user) ? json_object_get(user, "id") : NULL;
    const char *uid = json_is_string(id) ? json_string_value(id) : NULL;
    if (!uid || !user_id_ok(uid) || strlen(uid) != json_string_length(id)) {
        json_decref(user);
        gw_pusher_fatal(c, GW_PUSHER_UNAUTHORIZED,
                        "Unauthorized: user_data must be a JSON object whose \"id\" is a "
                        "non-empty string of at most 200 characters A-Z a-z 0-9 _ - = @ , . ;");
        return;
    }
    char why[256], previous[GW_PUSHER_USER_ID_MAX + 1];
    char **watch = NULL;
    long nwatch = watchlist_of(c, user, &watch, why, sizeof(why));
    snprintf(previous, sizeof(previous), "%s", gw_pusher_user_id(c));
    if (c->user_id && strcmp(c->user_id, uid) != 0)
        user_channels(c, false);
    free(c->user_id);
    c->user_id = hc_strdup(uid); /* only signed-in connections pay for it */
    json_decref(user);
    user_channels(c, true);
    signin_success(c, user_data);
    if (nwatch < 0) {
        char msg[320];
        snprintf(msg, sizeof(msg), "%s: no watchlist events for this connection", why);
        gw_pusher_error(c, 0, msg);
        nwatch = 0;
    }
    if (c->io->signed_in)
        c->io->signed_in(c->ud, previous, (const char *const *)watch, (size_t)nwatch);
    for (long i = 0; i < nwatch; i++)
        free(watch[i]);
    free(watch);
}

bool gw_user_control(gw_pusher_conn *c, const char *app_id, const char *user_id, const char *name)
{
    if (c->closed || !c->app || !c->user_id || strcmp(c->user_id, user_id) != 0 ||
        strcmp(c->app->id, app_id) != 0)
        return false;
    if (strcmp(name, GW_USER_TERMINATE_EVENT) == 0) {
        gw_pusher_fatal(c, GW_PUSHER_UNAUTHORIZED,
                        "Connection terminated: the app closed this user's connections");
        return true;
    }
    return false;
}

bool gw_user_deadline(gw_pusher_conn *c, uint64_t now_ms)
{
    if (c->closed || !c->app || !c->app->user_authentication || c->user_id)
        return false;
    if (c->app->user_auth_timeout_ms < 0 ||
        now_ms - c->opened_ms < (uint64_t)c->app->user_auth_timeout_ms)
        return false;
    gw_pusher_fatal(c, GW_PUSHER_UNAUTHORIZED,
                    "Unauthorized: this app requires pusher:signin and none came in time");
    return true;
}
