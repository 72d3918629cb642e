/*
 * gw_client: client events (see gw_client.h). Checks run in the order a
 * client can fix them (enabled, channel, subscription, name, size) and the
 * rate limit last, so a refused event does not use up the budget.
 */
#include "gw_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_channel.h"
#include "hc_rate.h"

#define QUOTE_MAX 64

static const char *quoted(char buf[QUOTE_MAX + 4], const char *s)
{
    if (strlen(s) > QUOTE_MAX)
        snprintf(buf, QUOTE_MAX + 4, "%.*s...", QUOTE_MAX, s);
    else
        snprintf(buf, QUOTE_MAX + 4, "%s", s);
    return buf;
}

/* The protocol layer does not know presence membership: gw_server's
 * io_publish fills the sender's user_id on presence channels
 * (gw_presence_user_of). Kept as the seam for a socket-free caller. */
const char *gw_client_presence_user(const gw_pusher_conn *c, const char *channel)
{
    (void)c;
    (void)channel;
    return NULL;
}

/* The client event's data as the bytes to relay: a string verbatim,
 * anything else serialized compactly. Returns a heap string (len in *len)
 * or NULL when data is absent. */
static char *event_data(json_t *d, size_t *len)
{
    if (!d)
        return NULL;
    if (json_is_string(d)) {
        *len = json_string_length(d);
        char *s = malloc(*len + 1);
        if (!s)
            abort();
        memcpy(s, json_string_value(d), *len + 1);
        return s;
    }
    char *s = json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        abort(); /* jansson fails here only when out of memory */
    *len = strlen(s);
    return s;
}

/* Checks everything but the rate; returns a sentence or NULL (msg is the
 * buffer for it). */
static const char *refusal(gw_pusher_conn *c, const char *event, const char *channel, char *msg,
                           size_t msglen)
{
    char q1[QUOTE_MAX + 4], q2[QUOTE_MAX + 4];
    if (!c->app->enable_client_messages) {
        snprintf(msg, msglen,
                 "Client event %s rejected: client events are not enabled for this app "
                 "(enableClientMessages)",
                 quoted(q1, event));
        return msg;
    }
    if (!channel) {
        snprintf(msg, msglen, "Client event %s rejected: \"channel\" must be a string",
                 quoted(q1, event));
        return msg;
    }
    hc_channel_type t = hc_channel_type_of(channel);
    if (t == HC_CH_PRIVATE_ENCRYPTED) {
        snprintf(msg, msglen,
                 "Client event %s rejected: client events are not allowed on encrypted "
                 "channels (%s)",
                 quoted(q1, event), quoted(q2, channel));
        return msg;
    }
    if (t != HC_CH_PRIVATE && t != HC_CH_PRESENCE) {
        snprintf(msg, msglen,
                 "Client event %s rejected: client events are only allowed on private- and "
                 "presence- channels, not %s",
                 quoted(q1, event), quoted(q2, channel));
        return msg;
    }
    if (!c->io->is_subscribed(c->ud, channel)) {
        snprintf(msg, msglen, "Client event %s rejected: this connection is not subscribed to %s",
                 quoted(q1, event), quoted(q2, channel));
        return msg;
    }
    if (strlen(event) > c->app->max_event_name_len) {
        snprintf(msg, msglen, "Client event rejected: event name is longer than %zu characters",
                 c->app->max_event_name_len);
        return msg;
    }
    return NULL;
}

void gw_client_event(gw_pusher_conn *c, const char *event, json_t *msg, uint64_t now_ms)
{
    char why[384], q[QUOTE_MAX + 4];
    json_t *ch = json_object_get(msg, "channel");
    const char *channel = json_is_string(ch) ? json_string_value(ch) : NULL;
    const char *no = refusal(c, event, channel, why, sizeof(why));
    if (no) {
        gw_pusher_error(c, 0, no);
        return;
    }
    size_t len = 0;
    char *data = event_data(json_object_get(msg, "data"), &len);
    if (!data) {
        snprintf(why, sizeof(why), "Client event %s rejected: \"data\" is missing",
                 quoted(q, event));
        gw_pusher_error(c, 0, why);
        return;
    }
    if (len > c->app->max_payload_bytes) {
        snprintf(why, sizeof(why), "Client event %s rejected: data is %zu bytes; the limit is %zu",
                 quoted(q, event), len, c->app->max_payload_bytes);
        gw_pusher_error(c, 0, why);
        free(data);
        return;
    }
    if (!hc_rate_take(&c->client_rate, c->app->max_client_events_per_sec, 1, now_ms)) {
        snprintf(why, sizeof(why),
                 "Client event %s rejected: rate limit of %ld client events per second exceeded",
                 quoted(q, event), c->app->max_client_events_per_sec);
        gw_pusher_error(c, GW_PUSHER_CLIENT_EVENT_RATE, why);
        free(data);
        return;
    }
    if (c->io->publish)
        c->io->publish(c->ud, channel, event, data, len, gw_client_presence_user(c, channel));
    free(data);
}
