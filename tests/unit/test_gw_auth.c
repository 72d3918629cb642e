/*
 * Unit tests for what a connection may do beyond public channels:
 * private / private-encrypted subscription auth (gw_auth), client events
 * (gw_client) and user sign-in with its server-only channels (gw_user),
 * all driven through gw_pusher with a fake io that records frames,
 * closes, subscriptions and publishes. Owns nothing beyond the fakes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_client.h"
#include "gw_pusher.h"
#include "gw_user.h"
#include "hc_apps.h"
#include "hc_sig.h"

#define MAX 32

typedef struct fake {
    char *frames[MAX];
    int nframes;
    int close_code;
    char *channels[MAX];
    int nchannels;
    char *pubs[MAX]; /* "channel|name|data|user_id" */
    int npubs;
} fake;

static void f_send(void *ud, const char *text, size_t len)
{
    fake *f = ud;
    assert_true(f->nframes < MAX);
    f->frames[f->nframes] = strndup(text, len);
    f->nframes++;
}

static void f_close(void *ud, int code, const char *reason)
{
    (void)reason;
    ((fake *)ud)->close_code = code;
}

static int find(fake *f, const char *channel)
{
    for (int i = 0; i < f->nchannels; i++)
        if (f->channels[i] && strcmp(f->channels[i], channel) == 0)
            return i;
    return -1;
}

static int f_subscribe(void *ud, const char *channel)
{
    fake *f = ud;
    if (find(f, channel) >= 0)
        return 0;
    f->channels[f->nchannels++] = strdup(channel);
    return 1;
}

static int f_is_subscribed(void *ud, const char *channel)
{
    return find(ud, channel) >= 0;
}

static int f_unsubscribe(void *ud, const char *channel)
{
    fake *f = ud;
    int i = find(f, channel);
    if (i < 0)
        return 0;
    free(f->channels[i]);
    f->channels[i] = NULL;
    return 1;
}

static void f_publish(void *ud, const char *channel, const char *name, const char *data, size_t len,
                      const char *user_id)
{
    fake *f = ud;
    char buf[512];
    snprintf(buf, sizeof(buf), "%s|%s|%.*s|%s", channel, name, (int)len, data,
             user_id ? user_id : "-");
    f->pubs[f->npubs++] = strdup(buf);
}

static const gw_pusher_io io = {.send = f_send,
                                .close = f_close,
                                .subscribe = f_subscribe,
                                .is_subscribed = f_is_subscribed,
                                .unsubscribe = f_unsubscribe,
                                .publish = f_publish};

typedef struct ctx {
    hc_app app;
    fake f;
    gw_pusher_conn c;
} ctx;

static int setup(void **state)
{
    ctx *t = calloc(1, sizeof(*t));
    hc_app_defaults(&t->app);
    t->app.id = "app-id";
    t->app.key = "app-key";
    t->app.secret = "app-secret";
    gw_pusher_init(&t->c, &io, &t->f, &t->app, "123.456", 100);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    ctx *t = *state;
    gw_pusher_release(&t->c);
    for (int i = 0; i < t->f.nframes; i++)
        free(t->f.frames[i]);
    for (int i = 0; i < t->f.nchannels; i++)
        free(t->f.channels[i]);
    for (int i = 0; i < t->f.npubs; i++)
        free(t->f.pubs[i]);
    free(t);
    return 0;
}

/* Sends msg; returns the one reply it caused (NULL: none). */
static const char *say(ctx *t, const char *msg)
{
    int before = t->f.nframes;
    gw_pusher_on_message(&t->c, msg, strlen(msg));
    assert_true(t->f.nframes - before <= 1);
    return t->f.nframes > before ? t->f.frames[t->f.nframes - 1] : NULL;
}

static void has(const char *got, const char *part)
{
    if (!got || !strstr(got, part))
        fail_msg("reply %s lacks %s", got ? got : "(none)", part);
}

/* "app-key:<hmac of what>" */
static void sign(char *out, size_t outlen, const char *what)
{
    char hex[HC_SHA256_HEX_LEN + 1];
    hc_hmac_sha256_hex("app-secret", 10, what, strlen(what), hex);
    snprintf(out, outlen, "app-key:%s", hex);
}

static const char *subscribe_with(ctx *t, const char *channel, const char *auth)
{
    char msg[512];
    if (auth)
        snprintf(msg, sizeof(msg),
                 "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"%s\",\"auth\":\"%s\"}}",
                 channel, auth);
    else
        snprintf(msg, sizeof(msg), "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"%s\"}}",
                 channel);
    return say(t, msg);
}

static void test_private_auth(void **state)
{
    ctx *t = *state;
    char auth[128];
    has(subscribe_with(t, "private-a", NULL),
        "{\"event\":\"pusher:subscription_error\",\"channel\":\"private-a\",\"data\":{\"type\":"
        "\"AuthError\",\"error\":\"Subscription to a private channel needs");
    has(t->f.frames[t->f.nframes - 1], "\"status\":401}}");
    sign(auth, sizeof(auth), "123.999:private-a"); /* another socket's */
    has(subscribe_with(t, "private-a", auth), "Invalid signature");
    sign(auth, sizeof(auth), "123.456:private-b"); /* another channel's */
    has(subscribe_with(t, "private-a", auth), "\"status\":401");
    assert_int_equal(t->f.nchannels, 0);
    sign(auth, sizeof(auth), "123.456:private-a");
    has(subscribe_with(t, "private-a", auth),
        "{\"event\":\"pusher_internal:subscription_succeeded\",\"channel\":\"private-a\"");
    assert_int_equal(t->f.nchannels, 1);
    assert_int_equal(t->c.nsubs, 1);
    sign(auth, sizeof(auth), "123.456:private-encrypted-x");
    has(subscribe_with(t, "private-encrypted-x", "app-key:00"), "AuthError");
    has(subscribe_with(t, "private-encrypted-x", auth), "subscription_succeeded");
    /* presence- stays refused here (its auth covers channel_data) */
    has(subscribe_with(t, "presence-a", auth), "subscription_error");
    assert_int_equal(t->c.nsubs, 2);
}

static void test_client_events(void **state)
{
    ctx *t = *state;
    char auth[128];
    const char *ev = "{\"event\":\"client-typing\",\"channel\":\"private-a\",\"data\":{\"k\":1}}";
    sign(auth, sizeof(auth), "123.456:private-a");
    subscribe_with(t, "private-a", auth);
    has(say(t, ev), "not enabled for this app");
    t->app.enable_client_messages = true;
    assert_null(say(t, ev));
    assert_int_equal(t->f.npubs, 1);
    assert_string_equal(t->f.pubs[0], "private-a|client-typing|{\"k\":1}|-");
    has(say(t, "{\"event\":\"client-x\",\"channel\":\"private-b\",\"data\":\"s\"}"),
        "not subscribed to private-b");
    subscribe_with(t, "pub", NULL);
    has(say(t, "{\"event\":\"client-x\",\"channel\":\"pub\",\"data\":\"s\"}"),
        "only allowed on private- and presence- channels");
    sign(auth, sizeof(auth), "123.456:private-encrypted-e");
    subscribe_with(t, "private-encrypted-e", auth);
    has(say(t, "{\"event\":\"client-x\",\"channel\":\"private-encrypted-e\",\"data\":\"s\"}"),
        "not allowed on encrypted channels");
    has(say(t, "{\"event\":\"client-x\",\"channel\":\"private-a\"}"), "data\\\" is missing");
    t->app.max_payload_bytes = 3;
    has(say(t, "{\"event\":\"client-x\",\"channel\":\"private-a\",\"data\":\"abcd\"}"),
        "data is 4 bytes; the limit is 3");
    assert_int_equal(t->f.npubs, 1);
    assert_int_equal(t->f.close_code, 0);
}

static void test_client_event_rate(void **state)
{
    ctx *t = *state;
    char auth[128];
    sign(auth, sizeof(auth), "123.456:private-a");
    subscribe_with(t, "private-a", auth);
    t->app.enable_client_messages = true;
    t->app.max_client_events_per_sec = 3;
    json_t *msg = json_loads("{\"channel\":\"private-a\",\"data\":\"x\"}", 0, NULL);
    int before = t->f.nframes;
    for (int i = 0; i < 3; i++)
        gw_client_event(&t->c, "client-a", msg, 10000 + (uint64_t)i);
    assert_int_equal(t->f.npubs, 3);
    assert_int_equal(t->f.nframes, before);
    gw_client_event(&t->c, "client-a", msg, 10500);
    assert_int_equal(t->f.npubs, 3);
    has(t->f.frames[t->f.nframes - 1],
        "{\"event\":\"pusher:error\",\"data\":{\"code\":4301,\"message\":\"Client event client-a "
        "rejected: rate limit of 3 client events per second exceeded\"}}");
    assert_int_equal(t->f.close_code, 0); /* stays open */
    gw_client_event(&t->c, "client-a", msg, 11000);
    assert_int_equal(t->f.npubs, 4);
    json_decref(msg);
}

static void signin_msg(char *out, size_t outlen, const char *user_data_escaped,
                       const char *user_data, const char *socket_id)
{
    char what[256], auth[128];
    snprintf(what, sizeof(what), "%s::user::%s", socket_id, user_data);
    sign(auth, sizeof(auth), what);
    snprintf(out, outlen,
             "{\"event\":\"pusher:signin\",\"data\":{\"user_data\":\"%s\",\"auth\":\"%s\"}}",
             user_data_escaped, auth);
}

static void test_signin(void **state)
{
    ctx *t = *state;
    char msg[512];
    has(subscribe_with(t, "#server-to-user-42", NULL), "reserved for the server");
    signin_msg(msg, sizeof(msg), "{\\\"id\\\":\\\"42\\\",\\\"name\\\":\\\"A\\\"}",
               "{\"id\":\"42\",\"name\":\"A\"}", "123.456");
    has(say(t, msg), "{\"event\":\"pusher:signin_success\",\"data\":{\"user_data\":\"{\\\"id\\\":"
                     "\\\"42\\\",\\\"name\\\":\\\"A\\\"}\"}}");
    assert_string_equal(t->c.user_id, "42");
    assert_true(f_is_subscribed(&t->f, "#server-to-user-42"));
    assert_true(f_is_subscribed(&t->f, "#herald-user-42"));
    assert_int_equal(t->c.nsubs, 0); /* user channels do not count */
    /* pusher-js asks for its own user channel: allowed; others' are not */
    has(subscribe_with(t, "#server-to-user-42", ""), "subscription_succeeded");
    has(subscribe_with(t, "#server-to-user-43", ""), "reserved for the server");
    has(subscribe_with(t, "#herald-user-42", ""), "reserved for the server");
    /* and cannot drop it */
    assert_null(say(t, "{\"event\":\"pusher:unsubscribe\",\"data\":{\"channel\":\"#herald-user-"
                       "42\"}}"));
    assert_true(f_is_subscribed(&t->f, "#herald-user-42"));
    /* control events: another app or user is left alone; terminate closes */
    assert_false(gw_user_control(&t->c, "other-app", "42", GW_USER_TERMINATE_EVENT));
    assert_false(gw_user_control(&t->c, "app-id", "43", GW_USER_TERMINATE_EVENT));
    assert_int_equal(t->f.close_code, 0);
    assert_true(gw_user_control(&t->c, "app-id", "42", GW_USER_TERMINATE_EVENT));
    assert_int_equal(t->f.close_code, 4009);
}

static void test_signin_refused(void **state)
{
    ctx *t = *state;
    char msg[512];
    /* signed for another socket */
    signin_msg(msg, sizeof(msg), "{\\\"id\\\":\\\"42\\\"}", "{\"id\":\"42\"}", "1.2");
    has(say(t, msg), "\"code\":4009");
    assert_int_equal(t->f.close_code, 4009);
    assert_int_equal(t->f.nchannels, 0);
    assert_string_equal(gw_pusher_user_id(&t->c), "");
}

static void test_signin_needs_string_id(void **state)
{
    ctx *t = *state;
    char msg[512];
    signin_msg(msg, sizeof(msg), "{\\\"id\\\":42}", "{\"id\":42}", "123.456");
    has(say(t, msg), "\"id\\\" is a non-empty string");
    assert_int_equal(t->f.close_code, 4009);
}

static void test_signin_deadline(void **state)
{
    ctx *t = *state;
    uint64_t t0 = t->c.opened_ms;
    assert_false(gw_user_deadline(&t->c, t0 + 60000)); /* not required */
    t->app.user_authentication = true;
    t->app.user_auth_timeout_ms = 1000;
    assert_false(gw_user_deadline(&t->c, t0 + 999));
    assert_true(gw_user_deadline(&t->c, t0 + 1000));
    assert_int_equal(t->f.close_code, 4009);
}

static void test_user_channel_names(void **state)
{
    (void)state;
    assert_true(gw_user_channel_valid("#server-to-user-42"));
    assert_true(gw_user_channel_valid("#server-to-user-a_b-c=d@e,f.g;h"));
    assert_false(gw_user_channel_valid("#server-to-user-"));
    assert_false(gw_user_channel_valid("#server-to-user-a b"));
    assert_false(gw_user_channel_valid("#server-to-user-#"));
    assert_false(gw_user_channel_valid("#herald-user-42"));
    assert_string_equal(gw_user_control_user("#herald-user-42"), "42");
    assert_null(gw_user_control_user("#server-to-user-42"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_private_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_event_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signin_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signin_needs_string_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signin_deadline, setup, teardown),
        cmocka_unit_test(test_user_channel_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
