/*
 * gw_pusher: Pusher protocol v7 per connection (see gw_pusher.h).
 *
 * Owns the JSON of every server-to-client protocol message and the rules
 * for what a client may send. Parsing uses jansson; replies are built with
 * hc_sbuf so their bytes (and field order) are exactly as written here.
 */
#include "gw_pusher.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_auth.h"
#include "gw_client.h"
#include "gw_user.h"
#include "hc_buf.h"
#include "hc_channel.h"
#include "hc_clock.h"
#include "hc_history.h"

/* Longest event or channel name quoted back in an error message. */
#define QUOTE_MAX 64

static void send_sbuf(gw_pusher_conn *c, hc_sbuf *b)
{
    c->io->send(c->ud, b->data, b->len);
    hc_sbuf_free(b);
}

/* Appends s (at most QUOTE_MAX bytes of it, with "..." when cut). */
static void quote_into(char *out, size_t outlen, const char *s)
{
    size_t n = strlen(s);
    if (n > QUOTE_MAX)
        snprintf(out, outlen, "%.*s...", QUOTE_MAX, s);
    else
        snprintf(out, outlen, "%s", s);
}

void gw_pusher_error(gw_pusher_conn *c, int code, const char *message)
{
    hc_sbuf b = HC_SBUF_INIT;
    hc_sbuf_puts(&b, "{\"event\":\"pusher:error\",\"data\":{\"code\":");
    if (code)
        hc_sbuf_printf(&b, "%d", code);
    else
        hc_sbuf_puts(&b, "null");
    hc_sbuf_puts(&b, ",\"message\":");
    hc_sbuf_json_string(&b, message, strlen(message));
    hc_sbuf_puts(&b, "}}");
    send_sbuf(c, &b);
}

/* gw_pusher_error with a printf-style message. */
static void errorf(gw_pusher_conn *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void errorf(gw_pusher_conn *c, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    gw_pusher_error(c, code, msg);
}

void gw_pusher_fatal(gw_pusher_conn *c, int code, const char *message)
{
    if (c->closed)
        return;
    gw_pusher_error(c, code, message);
    c->closed = true;
    c->io->close(c->ud, code, message);
}

void gw_pusher_ping(gw_pusher_conn *c)
{
    static const char ping[] = "{\"event\":\"pusher:ping\",\"data\":{}}";
    c->io->send(c->ud, ping, sizeof(ping) - 1);
}

static void send_pong(gw_pusher_conn *c)
{
    static const char pong[] = "{\"event\":\"pusher:pong\",\"data\":{}}";
    c->io->send(c->ud, pong, sizeof(pong) - 1);
}

void gw_pusher_init(gw_pusher_conn *c, const gw_pusher_io *io, void *ud, const hc_app *app,
                    const char *socket_id, size_t max_subs)
{
    memset(c, 0, sizeof(*c));
    c->io = io;
    c->ud = ud;
    c->app = app;
    c->max_subs = max_subs > UINT32_MAX ? UINT32_MAX : (uint32_t)max_subs;
    c->opened_ms = hc_mono_ms();
    snprintf(c->socket_id, sizeof(c->socket_id), "%s", socket_id);
}

void gw_pusher_release(gw_pusher_conn *c)
{
    free(c->user_id);
    c->user_id = NULL;
}

void gw_pusher_established(gw_pusher_conn *c, long activity_timeout)
{
    char inner[128];
    int n = snprintf(inner, sizeof(inner), "{\"socket_id\":\"%s\",\"activity_timeout\":%ld}",
                     c->socket_id, activity_timeout);
    hc_sbuf b = HC_SBUF_INIT;
    hc_sbuf_puts(&b, "{\"event\":\"pusher:connection_established\",\"data\":");
    hc_sbuf_json_string(&b, inner, (size_t)n);
    hc_sbuf_puts(&b, "}");
    send_sbuf(c, &b);
}

/* Parses a protocol version ("7"); returns it, or -1 if not a number. */
static long parse_version(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno)
        return -1;
    return v;
}

int gw_pusher_handshake(const hc_apps *apps, const char *path, const char *protocol,
                        const hc_app **app, char *why, size_t whylen)
{
    static const char prefix[] = "/app/";
    *app = NULL;
    size_t plen = strlen(path);
    if (plen > 0 && path[plen - 1] == '/')
        plen--; /* tolerate one trailing slash */
    if (strncmp(path, prefix, sizeof(prefix) - 1) != 0 || plen <= sizeof(prefix) - 1 ||
        memchr(path + sizeof(prefix) - 1, '/', plen - (sizeof(prefix) - 1))) {
        snprintf(why, whylen, "Path not found: connect to /app/<app key>?protocol=7");
        return GW_PUSHER_PATH_NOT_FOUND;
    }
    char key[256], shown[QUOTE_MAX + 4];
    size_t klen = plen - (sizeof(prefix) - 1);
    if (klen >= sizeof(key))
        klen = sizeof(key) - 1;
    memcpy(key, path + sizeof(prefix) - 1, klen);
    key[klen] = '\0';
    quote_into(shown, sizeof(shown), key);
    const hc_app *a = hc_apps_by_key(apps, key);
    if (!a) {
        snprintf(why, whylen, "App key %s does not exist", shown);
        return GW_PUSHER_APP_UNKNOWN;
    }
    if (!a->enabled) {
        snprintf(why, whylen, "App with key %s is disabled", shown);
        return GW_PUSHER_APP_DISABLED;
    }
    if (!protocol || !*protocol) {
        snprintf(why, whylen, "No protocol version supplied: connect with ?protocol=7");
        return GW_PUSHER_NO_PROTOCOL;
    }
    long v = parse_version(protocol);
    if (v < GW_PUSHER_PROTOCOL_MIN || v > GW_PUSHER_PROTOCOL_MAX) {
        quote_into(shown, sizeof(shown), protocol);
        snprintf(why, whylen,
                 "Unsupported protocol version %s: this server speaks 7 (accepts %d-%d)", shown,
                 GW_PUSHER_PROTOCOL_MIN, GW_PUSHER_PROTOCOL_MAX);
        return GW_PUSHER_UNSUPPORTED_PROTOCOL;
    }
    *app = a;
    return 0;
}

static void subscription_error(gw_pusher_conn *c, const char *channel, const char *type, int status,
                               const char *error)
{
    hc_sbuf b = HC_SBUF_INIT;
    hc_sbuf_puts(&b, "{\"event\":\"pusher:subscription_error\",\"channel\":");
    hc_sbuf_json_string(&b, channel, strlen(channel));
    hc_sbuf_puts(&b, ",\"data\":{\"type\":");
    hc_sbuf_json_string(&b, type, strlen(type));
    hc_sbuf_puts(&b, ",\"error\":");
    hc_sbuf_json_string(&b, error, strlen(error));
    hc_sbuf_printf(&b, ",\"status\":%d}}", status);
    send_sbuf(c, &b);
}

void gw_pusher_subscription_error(gw_pusher_conn *c, const char *channel, const char *type,
                                  int status, const char *error)
{
    subscription_error(c, channel, type, status, error);
}

static void subscription_succeeded(gw_pusher_conn *c, const char *channel)
{
    hc_sbuf b = HC_SBUF_INIT;
    hc_sbuf_puts(&b, "{\"event\":\"pusher_internal:subscription_succeeded\",\"channel\":");
    hc_sbuf_json_string(&b, channel, strlen(channel));
    hc_sbuf_puts(&b, ",\"data\":\"{}\"}");
    send_sbuf(c, &b);
}

/* Returns data.channel of a pusher:(un)subscribe, or NULL after sending
 * the pusher:error that says what is missing. */
static const char *channel_arg(gw_pusher_conn *c, const char *event, json_t *data)
{
    if (!json_is_object(data)) {
        errorf(c, 0, "Invalid %s: data must be an object like {\"channel\":\"name\"}", event);
        return NULL;
    }
    json_t *ch = json_object_get(data, "channel");
    if (!json_is_string(ch) || json_string_length(ch) == 0) {
        errorf(c, 0, "Invalid %s: data.channel must be a non-empty string", event);
        return NULL;
    }
    return json_string_value(ch);
}

/* Herald's extensions (PROTOCOL.md section 7): "since" or "rewind" in the
 * subscribe data, the app's rewind-on-subscribe rule for the channel, and
 * cache channels hand the reply to io->recover. Returns true if they did. */
static bool gw__pusher_recover(gw_pusher_conn *c, const char *channel, json_t *data)
{
    json_t *since = json_object_get(data, "since");
    json_t *rewind = json_object_get(data, "rewind");
    bool cache = hc_channel_is_cache(channel);
    if (!c->io->recover)
        return false;
    if (json_is_string(since)) {
        c->io->recover(c->ud, channel, json_string_value(since), 0, false);
        return true;
    }
    unsigned n = 0;
    const hc_history_rule *rule = hc_history_match(c->app->history, channel);
    if (json_is_integer(rewind) && json_integer_value(rewind) > 0)
        n = json_integer_value(rewind) > 100000 ? 100000u : (unsigned)json_integer_value(rewind);
    else if (rule && rule->rewind)
        n = rule->rewind;
    else if (cache)
        n = 1;
    if (!n)
        return false;
    c->io->recover(c->ud, channel, NULL, n, cache);
    return true;
}

static void on_subscribe(gw_pusher_conn *c, json_t *data)
{
    const char *channel = channel_arg(c, "pusher:subscribe", data);
    if (!channel)
        return;
    const char *why = NULL;
    char msg[256], shown[QUOTE_MAX + 4];
    quote_into(shown, sizeof(shown), channel);
    if (channel[0] == '#' && gw_user_may_subscribe(c, channel)) {
        subscription_succeeded(c, channel); /* held since sign-in */
        return;
    }
    if (channel[0] == '#') {
        snprintf(msg, sizeof(msg),
                 "Channel %s is reserved for the server: clients cannot subscribe to # channels",
                 shown);
        subscription_error(c, channel, "InvalidChannel", 403, msg);
        return;
    }
    if (strlen(channel) > c->app->max_channel_name_len) {
        snprintf(msg, sizeof(msg), "Invalid channel name %s: longer than %zu characters", shown,
                 c->app->max_channel_name_len);
        subscription_error(c, channel, "InvalidChannel", 400, msg);
        return;
    }
    if (!hc_channel_valid(channel, c->app->max_channel_name_len, &why)) {
        snprintf(msg, sizeof(msg), "Invalid channel name %s: %s", shown, why ? why : "not allowed");
        subscription_error(c, channel, "InvalidChannel", 400, msg);
        return;
    }
    int status = gw_auth_subscribe(c->app, c->socket_id, channel, data, msg, sizeof(msg));
    if (status) {
        subscription_error(c, channel, "AuthError", status, msg);
        return;
    }
    if (c->max_subs && c->nsubs >= c->max_subs && !c->io->is_subscribed(c->ud, channel)) {
        errorf(c, 0,
               "Subscription to %s refused: this connection is already subscribed to %zu "
               "channels (the limit is %zu)",
               shown, (size_t)c->nsubs, (size_t)c->max_subs);
        return;
    }
    if (hc_channel_type_of(channel) == HC_CH_PRESENCE) {
        gw_pusher_presence_subscribe(c, channel, data);
        return;
    }
    int added = c->io->subscribe(c->ud, channel);
    if (added == 1)
        c->nsubs++;
    if (added == 1 && gw__pusher_recover(c, channel, data))
        return;
    subscription_succeeded(c, channel);
}

static void on_unsubscribe(gw_pusher_conn *c, json_t *data)
{
    const char *channel = channel_arg(c, "pusher:unsubscribe", data);
    if (channel && channel[0] == '#')
        return; /* user channels are held for the whole sign-in */
    if (channel && c->io->unsubscribe(c->ud, channel) == 1 && c->nsubs)
        c->nsubs--;
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Dispatches one parsed message by its event name. */
static void dispatch(gw_pusher_conn *c, const char *event, json_t *data, json_t *msg)
{
    char shown[QUOTE_MAX + 4];
    if (strcmp(event, "pusher:ping") == 0) {
        send_pong(c);
    } else if (strcmp(event, "pusher:pong") == 0) {
        /* the answer to our keep-alive; the server already noted activity */
    } else if (strcmp(event, "pusher:subscribe") == 0) {
        on_subscribe(c, data);
    } else if (strcmp(event, "pusher:unsubscribe") == 0) {
        on_unsubscribe(c, data);
    } else if (strcmp(event, "pusher:signin") == 0) {
        gw_user_signin(c, data);
    } else if (has_prefix(event, "client-")) {
        gw_client_event(c, event, msg, hc_mono_ms());
    } else if (has_prefix(event, "pusher:") || has_prefix(event, "pusher_internal:")) {
        quote_into(shown, sizeof(shown), event);
        errorf(c, 0, "Unsupported event %s", shown);
    } else {
        quote_into(shown, sizeof(shown), event);
        errorf(c, 0,
               "Unknown event %s: clients may send pusher: protocol events and client- events "
               "only",
               shown);
    }
}

void gw_pusher_on_message(gw_pusher_conn *c, const char *msg, size_t len)
{
    if (c->closed)
        return;
    json_error_t jerr;
    json_t *root = json_loadb(msg, len, 0, &jerr);
    if (!root) {
        errorf(c, 0, "Invalid message: not valid JSON (%s at position %d)", jerr.text,
               jerr.position);
        return;
    }
    json_t *event = json_is_object(root) ? json_object_get(root, "event") : NULL;
    if (!json_is_object(root))
        gw_pusher_error(c, 0, "Invalid message: expected a JSON object");
    else if (!json_is_string(event))
        gw_pusher_error(c, 0, "Invalid message: \"event\" must be a string");
    else
        dispatch(c, json_string_value(event), json_object_get(root, "data"), root);
    json_decref(root);
}
