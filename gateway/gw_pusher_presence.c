/*
 * gw_pusher_presence: the Pusher side of presence- channels.
 *
 * Owns what a client's pusher:subscribe on a presence channel must carry
 * (auth over "<socket_id>:<channel>:<channel_data>", signed verbatim;
 * channel_data a JSON object with user_id, a string or a number, and an
 * optional user_info no larger than the app's limit), the
 * subscription_error sentences for each refusal, and the
 * subscription_succeeded reply built from the cluster's answer. It does not
 * keep members: the cluster does (gw_presence.c on the gateway, the broker's
 * cluster scripts in Redis). Called by gw_pusher.c (subscribe) and by the
 * io glue in gw_server.c (the cluster's answer); pure, unit-tested through
 * gw_pusher's fake io.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_pusher.h"
#include "hc_buf.h"
#include "hc_channel.h"
#include "hc_sig.h"

static const char *str_member(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Reads user_id (string, or integer turned into its decimal string) into
 * uid; false if absent or of another type. A string of len bytes or more
 * is refused with *too_long set to its length. */
static bool user_id_of(json_t *cd, char *uid, size_t len, size_t *too_long)
{
    json_t *v = json_object_get(cd, "user_id");
    *too_long = 0;
    if (json_is_string(v) && json_string_length(v) > 0 &&
        strlen(json_string_value(v)) == json_string_length(v)) {
        if (json_string_length(v) >= len) {
            *too_long = json_string_length(v);
            return false;
        }
        snprintf(uid, len, "%s", json_string_value(v));
        return true;
    }
    if (json_is_integer(v)) {
        snprintf(uid, len, "%lld", (long long)json_integer_value(v));
        return true;
    }
    return false;
}

void gw_pusher_presence_subscribe(gw_pusher_conn *c, const char *channel, json_t *data)
{
    const char *auth = str_member(data, "auth");
    const char *cd_text = str_member(data, "channel_data");
    char msg[256];
    if (!auth || !cd_text) {
        gw_pusher_subscription_error(
            c, channel, "AuthError", 401,
            "Subscription not authorized: presence channels need auth and channel_data");
        return;
    }
    if (!hc_sig_channel_ok(c->app->key, c->app->secret, c->socket_id, channel, cd_text, auth)) {
        gw_pusher_subscription_error(
            c, channel, "AuthError", 401,
            "Invalid signature: expected HMAC-SHA256 of socket_id:channel:channel_data");
        return;
    }
    json_error_t jerr;
    json_t *cd = json_loads(cd_text, 0, &jerr);
    /* the same bound as a signed-in user's id (gw_user.c) */
    char uid[GW_PUSHER_USER_ID_MAX + 1];
    size_t too_long = 0;
    if (!json_is_object(cd) || !user_id_of(cd, uid, sizeof(uid), &too_long)) {
        json_decref(cd);
        if (too_long) {
            snprintf(msg, sizeof(msg), "The user_id is %zu bytes; the limit is %d", too_long,
                     GW_PUSHER_USER_ID_MAX);
            gw_pusher_subscription_error(c, channel, "InvalidChannelData", 400, msg);
            return;
        }
        gw_pusher_subscription_error(c, channel, "InvalidChannelData", 400,
                                     "channel_data must be a JSON object with a user_id (a "
                                     "non-empty string or a number)");
        return;
    }
    json_t *info = json_object_get(cd, "user_info");
    char *info_text =
        info && !json_is_null(info) ? json_dumps(info, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("");
    if (!info_text)
        abort(); /* out of memory */
    json_decref(cd);
    if (strlen(info_text) > c->app->max_presence_member_bytes) {
        snprintf(msg, sizeof(msg),
                 "The user_info of a presence member is %zu bytes; the limit is %zu",
                 strlen(info_text), c->app->max_presence_member_bytes);
        free(info_text);
        gw_pusher_subscription_error(c, channel, "LimitReached", 400, msg);
        return;
    }
    if (!c->io->presence_join) {
        free(info_text);
        gw_pusher_subscription_error(c, channel, "UnsupportedChannel", 403,
                                     "Presence channels are not available on this server");
        return;
    }
    if (c->io->subscribe(c->ud, channel) == 1)
        c->nsubs++;
    c->io->presence_join(c->ud, channel, uid, info_text);
    free(info_text);
}

void gw_pusher_presence_joined(gw_pusher_conn *c, const char *channel, const char *error,
                               const char *json, size_t len)
{
    if (c->closed || !c->io->is_subscribed(c->ud, channel))
        return;
    if (error) {
        char msg[256];
        if (strcmp(error, "limit") == 0)
            snprintf(msg, sizeof(msg),
                     "Presence channel is full: it already has %zu members (the app's limit)",
                     c->app->max_presence_members);
        else
            snprintf(msg, sizeof(msg), "Could not join the presence channel: %s", error);
        if (c->io->unsubscribe(c->ud, channel) == 1 && c->nsubs)
            c->nsubs--;
        gw_pusher_subscription_error(c, channel,
                                     strcmp(error, "limit") == 0 ? "LimitReached" : "ServerError",
                                     strcmp(error, "limit") == 0 ? 400 : 503, msg);
        return;
    }
    hc_sbuf b = HC_SBUF_INIT;
    hc_sbuf_puts(&b, "{\"event\":\"pusher_internal:subscription_succeeded\",\"channel\":");
    hc_sbuf_json_string(&b, channel, strlen(channel));
    hc_sbuf_puts(&b, ",\"data\":");
    hc_sbuf_json_string(&b, json, len);
    hc_sbuf_puts(&b, "}");
    c->io->send(c->ud, b.data, b.len);
    hc_sbuf_free(&b);
    if (hc_channel_is_cache(channel) && c->io->cache_replay)
        c->io->cache_replay(c->ud, channel);
}
