/*
 * gw_auth: private- and private-encrypted- subscription auth (see
 * gw_auth.h). The server never sees the encryption key of an encrypted
 * channel: the auth is the same as a private channel's, and the payloads
 * are relayed untouched.
 */
#include "gw_auth.h"

#include <stdio.h>
#include <string.h>

#include "hc_channel.h"
#include "hc_sig.h"

int gw_auth_subscribe(const hc_app *app, const char *socket_id, const char *channel, json_t *data,
                      char *why, size_t whylen)
{
    hc_channel_type t = hc_channel_type_of(channel);
    if (t != HC_CH_PRIVATE && t != HC_CH_PRIVATE_ENCRYPTED)
        return 0;
    json_t *auth = json_is_object(data) ? json_object_get(data, "auth") : NULL;
    if (!json_is_string(auth) || json_string_length(auth) == 0) {
        snprintf(why, whylen,
                 "Subscription to a %s channel needs \"auth\": \"<app key>:<signature>\" "
                 "from your authorization endpoint",
                 hc_channel_type_name(t));
        return 401;
    }
    const char *a = json_string_value(auth);
    if (strlen(a) != json_string_length(auth) ||
        !hc_sig_channel_ok(app->key, app->secret, socket_id, channel, NULL, a)) {
        snprintf(why, whylen,
                 "Invalid signature: auth must be \"<app key>:<HMAC-SHA256 of "
                 "'<socket_id>:<channel>' with the app secret>\" for socket %s",
                 socket_id);
        return 401;
    }
    return 0;
}
