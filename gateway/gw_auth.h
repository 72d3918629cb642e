/*
 * gw_auth: who may subscribe to a channel that needs authorization.
 *
 * Owns the decision for private- and private-encrypted- channels (the
 * "auth" field of pusher:subscribe, "<app_key>:<hex HMAC-SHA256>" over
 * "<socket_id>:<channel>", checked with hc_sig_channel_ok) and the
 * sentence a refusal carries. It does not send anything, keep state or
 * handle presence- channels (their auth also covers channel_data and
 * belongs with the presence logic). Called by gw_pusher's subscribe path;
 * unit-tested in tests/unit/test_gw_auth.c.
 */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include <stddef.h>

#include <jansson.h>

#include "hc_apps.h"

/* Checks a pusher:subscribe (data is its data object) from socket_id to
 * channel. Returns 0 when it may go on (public channels and types this
 * module does not decide), or the status of the pusher:subscription_error
 * to send (401: missing or wrong auth) with a sentence in why. */
int gw_auth_subscribe(const hc_app *app, const char *socket_id, const char *channel, json_t *data,
                      char *why, size_t whylen);

#endif
