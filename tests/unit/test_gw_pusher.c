/*
 * Unit tests for gw_pusher: the Pusher protocol per connection, driven
 * through a fake io that records every frame, close and (un)subscribe, so
 * each reply is checked as exact JSON. Owns nothing beyond the fakes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_pusher.h"
#include "hc_apps.h"

#define MAX_FRAMES 16
#define MAX_CHANNELS 16

typedef struct fake {
    char *frames[MAX_FRAMES];
    int nframes;
    int close_code;
    char close_reason[256];
    char *channels[MAX_CHANNELS];
    int nchannels;
    int unsubscribes;
} fake;

static void f_send(void *ud, const char *text, size_t len)
{
    fake *f = ud;
    assert_true(f->nframes < MAX_FRAMES);
    f->frames[f->nframes] = malloc(len + 1);
    memcpy(f->frames[f->nframes], text, len);
    f->frames[f->nframes++][len] = '\0';
}

static void f_close(void *ud, int code, const char *reason)
{
    fake *f = ud;
    f->close_code = code;
    snprintf(f->close_reason, sizeof(f->close_reason), "%s", reason);
}

static int find(fake *f, const char *channel)
{
    for (int i = 0; i < f->nchannels; i++)
        if (strcmp(f->channels[i], channel) == 0)
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
    f->unsubscribes++;
    if (i < 0)
        return 0;
    free(f->channels[i]);
    f->channels[i] = f->channels[--f->nchannels];
    return 1;
}

static const gw_pusher_io io = {.send = f_send,
                                .close = f_close,
                                .subscribe = f_subscribe,
                                .is_subscribed = f_is_subscribed,
                                .unsubscribe = f_unsubscribe};

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
    t->app.enabled = true;
    gw_pusher_init(&t->c, &io, &t->f, &t->app, "123.456", 3);
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
    free(t);
    return 0;
}

/* Sends msg and expects exactly one reply equal to want (NULL: none). */
static void expect_reply(ctx *t, const char *msg, const char *want)
{
    int before = t->f.nframes;
    gw_pusher_on_message(&t->c, msg, strlen(msg));
    if (!want) {
        assert_int_equal(t->f.nframes, before);
        return;
    }
    assert_int_equal(t->f.nframes, before + 1);
    assert_string_equal(t->f.frames[before], want);
}

static void test_established(void **state)
{
    ctx *t = *state;
    gw_pusher_established(&t->c, 120);
    assert_int_equal(t->f.nframes, 1);
    assert_string_equal(t->f.frames[0], "{\"event\":\"pusher:connection_established\",\"data\":"
                                        "\"{\\\"socket_id\\\":\\\"123.456\\\",\\\"activity_"
                                        "timeout\\\":120}\"}");
}

static void test_ping_pong(void **state)
{
    ctx *t = *state;
    expect_reply(t, "{\"event\":\"pusher:ping\",\"data\":{}}",
                 "{\"event\":\"pusher:pong\",\"data\":{}}");
    expect_reply(t, "{\"event\":\"pusher:ping\"}", "{\"event\":\"pusher:pong\",\"data\":{}}");
    expect_reply(t, "{\"event\":\"pusher:pong\",\"data\":{}}", NULL);
    gw_pusher_ping(&t->c);
    assert_string_equal(t->f.frames[t->f.nframes - 1], "{\"event\":\"pusher:ping\",\"data\":{}}");
}

static void test_subscribe_public(void **state)
{
    ctx *t = *state;
    const char *ok = "{\"event\":\"pusher_internal:subscription_succeeded\",\"channel\":\"my-"
                     "channel\",\"data\":\"{}\"}";
    expect_reply(t, "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"my-channel\"}}", ok);
    assert_int_equal(t->f.nchannels, 1);
    assert_string_equal(t->f.channels[0], "my-channel");
    assert_int_equal(t->c.nsubs, 1);
    /* subscribing again answers again but counts once */
    expect_reply(t, "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"my-channel\"}}", ok);
    assert_int_equal(t->c.nsubs, 1);
    assert_int_equal(t->f.nchannels, 1);
}

static void test_subscribe_unsupported_types(void **state)
{
    ctx *t = *state;
    expect_reply(t, "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"presence-a\"}}",
                 "{\"event\":\"pusher:subscription_error\",\"channel\":\"presence-a\",\"data\":{"
                 "\"type\":\"AuthError\",\"error\":\"Subscription not authorized: presence "
                 "channels need auth and channel_data\",\"status\":401}}");
    expect_reply(t, "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"#server-to-user-1\"}}",
                 "{\"event\":\"pusher:subscription_error\",\"channel\":\"#server-to-user-1\","
                 "\"data\":{\"type\":\"InvalidChannel\",\"error\":\"Channel #server-to-user-1 is "
                 "reserved for the server: clients cannot subscribe to # channels\","
                 "\"status\":403}}");
    assert_int_equal(t->f.nchannels, 0);
    assert_int_equal(t->c.nsubs, 0);
}

static void test_subscribe_invalid_names(void **state)
{
    ctx *t = *state;
    expect_reply(t, "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"bad name\"}}",
                 "{\"event\":\"pusher:subscription_error\",\"channel\":\"bad name\",\"data\":{"
                 "\"type\":\"InvalidChannel\",\"error\":\"Invalid channel name bad name: channel "
                 "name may only contain A-Z a-z 0-9 _ - = @ , . ;\",\"status\":400}}");
    t->app.max_channel_name_len = 5;
    expect_reply(t, "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"abcdef\"}}",
                 "{\"event\":\"pusher:subscription_error\",\"channel\":\"abcdef\",\"data\":{"
                 "\"type\":\"InvalidChannel\",\"error\":\"Invalid channel name abcdef: longer "
                 "than 5 characters\",\"status\":400}}");
    expect_reply(t, "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"abcde\"}}",
                 "{\"event\":\"pusher_internal:subscription_succeeded\",\"channel\":\"abcde\","
                 "\"data\":\"{}\"}");
}

static void test_subscribe_limit(void **state)
{
    ctx *t = *state;
    char msg[128];
    for (int i = 0; i < 3; i++) {
        snprintf(msg, sizeof(msg),
                 "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"c%d\"}}", i);
        gw_pusher_on_message(&t->c, msg, strlen(msg));
    }
    assert_int_equal(t->c.nsubs, 3);
    expect_reply(t, "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"c3\"}}",
                 "{\"event\":\"pusher:error\",\"data\":{\"code\":null,\"message\":\"Subscription "
                 "to c3 refused: this connection is already subscribed to 3 channels (the limit "
                 "is 3)\"}}");
    /* re-subscribing to one it has is still fine */
    expect_reply(t, "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"c1\"}}",
                 "{\"event\":\"pusher_internal:subscription_succeeded\",\"channel\":\"c1\","
                 "\"data\":\"{}\"}");
    /* leaving one makes room */
    expect_reply(t, "{\"event\":\"pusher:unsubscribe\",\"data\":{\"channel\":\"c0\"}}", NULL);
    assert_int_equal(t->c.nsubs, 2);
    expect_reply(t, "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"c3\"}}",
                 "{\"event\":\"pusher_internal:subscription_succeeded\",\"channel\":\"c3\","
                 "\"data\":\"{}\"}");
}

static void test_unsubscribe(void **state)
{
    ctx *t = *state;
    expect_reply(t, "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"a\"}}",
                 "{\"event\":\"pusher_internal:subscription_succeeded\",\"channel\":\"a\","
                 "\"data\":\"{}\"}");
    expect_reply(t, "{\"event\":\"pusher:unsubscribe\",\"data\":{\"channel\":\"a\"}}", NULL);
    assert_int_equal(t->f.nchannels, 0);
    assert_int_equal(t->c.nsubs, 0);
    /* not subscribed: silently nothing */
    expect_reply(t, "{\"event\":\"pusher:unsubscribe\",\"data\":{\"channel\":\"zzz\"}}", NULL);
    assert_int_equal(t->c.nsubs, 0);
    assert_int_equal(t->f.unsubscribes, 2);
}

static void test_malformed(void **state)
{
    ctx *t = *state;
    gw_pusher_on_message(&t->c, "not json", 8);
    assert_int_equal(t->f.nframes, 1);
    const char *prefix =
        "{\"event\":\"pusher:error\",\"data\":{\"code\":null,\"message\":\"Invalid "
        "message: not valid JSON (";
    assert_memory_equal(t->f.frames[0], prefix, strlen(prefix));
    expect_reply(t, "[1,2]",
                 "{\"event\":\"pusher:error\",\"data\":{\"code\":null,\"message\":\"Invalid "
                 "message: expected a JSON object\"}}");
    expect_reply(t, "{\"data\":{}}",
                 "{\"event\":\"pusher:error\",\"data\":{\"code\":null,\"message\":\"Invalid "
                 "message: \\\"event\\\" must be a string\"}}");
    expect_reply(
        t, "{\"event\":\"pusher:subscribe\",\"data\":\"{\\\"channel\\\":\\\"a\\\"}\"}",
        "{\"event\":\"pusher:error\",\"data\":{\"code\":null,\"message\":\"Invalid "
        "pusher:subscribe: data must be an object like {\\\"channel\\\":\\\"name\\\"}\"}}");
    expect_reply(t, "{\"event\":\"pusher:subscribe\",\"data\":{}}",
                 "{\"event\":\"pusher:error\",\"data\":{\"code\":null,\"message\":\"Invalid "
                 "pusher:subscribe: data.channel must be a non-empty string\"}}");
    expect_reply(t, "{\"event\":\"pusher:unsubscribe\",\"data\":{\"channel\":7}}",
                 "{\"event\":\"pusher:error\",\"data\":{\"code\":null,\"message\":\"Invalid "
                 "pusher:unsubscribe: data.channel must be a non-empty string\"}}");
    assert_int_equal(t->f.close_code, 0); /* none of these closes */
}

static void test_client_and_unknown_events(void **state)
{
    ctx *t = *state;
    expect_reply(t, "{\"event\":\"client-typing\",\"channel\":\"a\",\"data\":{}}",
                 "{\"event\":\"pusher:error\",\"data\":{\"code\":null,\"message\":\"Client event "
                 "client-typing rejected: client events are not enabled for this app "
                 "(enableClientMessages)\"}}");
    expect_reply(
        t, "{\"event\":\"pusher:signin\",\"data\":{}}",
        "{\"event\":\"pusher:error\",\"data\":{\"code\":null,\"message\":\"Invalid "
        "pusher:signin: data must be {\\\"user_data\\\":\\\"<JSON>\\\",\\\"auth\\\":\\\"<app "
        "key>:<signature>\\\"}\"}}");
    expect_reply(t, "{\"event\":\"pusher_internal:member_added\",\"data\":{}}",
                 "{\"event\":\"pusher:error\",\"data\":{\"code\":null,\"message\":\"Unsupported "
                 "event pusher_internal:member_added\"}}");
    expect_reply(t, "{\"event\":\"hello\",\"data\":{}}",
                 "{\"event\":\"pusher:error\",\"data\":{\"code\":null,\"message\":\"Unknown event "
                 "hello: clients may send pusher: protocol events and client- events only\"}}");
}

static void test_fatal(void **state)
{
    ctx *t = *state;
    gw_pusher_fatal(&t->c, 4201, "Pong reply not received");
    assert_int_equal(t->f.nframes, 1);
    assert_string_equal(t->f.frames[0], "{\"event\":\"pusher:error\",\"data\":{\"code\":4201,"
                                        "\"message\":\"Pong reply not received\"}}");
    assert_int_equal(t->f.close_code, 4201);
    assert_string_equal(t->f.close_reason, "Pong reply not received");
    /* a closed connection ignores what follows, and a second fatal */
    expect_reply(t, "{\"event\":\"pusher:ping\",\"data\":{}}", NULL);
    gw_pusher_fatal(&t->c, 4100, "again");
    assert_int_equal(t->f.nframes, 1);
    assert_int_equal(t->f.close_code, 4201);
}

static void test_handshake(void **state)
{
    (void)state;
    hc_apps *apps = hc_apps_new();
    hc_app a, d;
    hc_app_defaults(&a);
    a.id = "1";
    a.key = "key1";
    a.secret = "s1";
    a.enabled = true;
    hc_app_defaults(&d);
    d.id = "2";
    d.key = "key2";
    d.secret = "s2";
    d.enabled = false;
    assert_int_equal(hc_apps_add(apps, &a), 0);
    assert_int_equal(hc_apps_add(apps, &d), 0);
    const hc_app *app = NULL;
    char why[256];
    assert_int_equal(gw_pusher_handshake(apps, "/app/key1", "7", &app, why, sizeof(why)), 0);
    assert_non_null(app);
    assert_string_equal(app->id, "1");
    assert_int_equal(gw_pusher_handshake(apps, "/app/key1/", "5", &app, why, sizeof(why)), 0);
    assert_int_equal(gw_pusher_handshake(apps, "/app/nope", "7", &app, why, sizeof(why)), 4001);
    assert_string_equal(why, "App key nope does not exist");
    assert_null(app);
    assert_int_equal(gw_pusher_handshake(apps, "/app/key2", "7", &app, why, sizeof(why)), 4003);
    assert_string_equal(why, "App with key key2 is disabled");
    assert_int_equal(gw_pusher_handshake(apps, "/", "7", &app, why, sizeof(why)), 4005);
    assert_int_equal(gw_pusher_handshake(apps, "/app/", "7", &app, why, sizeof(why)), 4005);
    assert_int_equal(gw_pusher_handshake(apps, "/app/key1/x", "7", &app, why, sizeof(why)), 4005);
    assert_int_equal(gw_pusher_handshake(apps, "/apps/key1", "7", &app, why, sizeof(why)), 4005);
    assert_int_equal(gw_pusher_handshake(apps, "/app/key1", NULL, &app, why, sizeof(why)), 4008);
    assert_int_equal(gw_pusher_handshake(apps, "/app/key1", "", &app, why, sizeof(why)), 4008);
    assert_int_equal(gw_pusher_handshake(apps, "/app/key1", "8", &app, why, sizeof(why)), 4007);
    assert_string_equal(why, "Unsupported protocol version 8: this server speaks 7 (accepts 5-7)");
    assert_int_equal(gw_pusher_handshake(apps, "/app/key1", "4", &app, why, sizeof(why)), 4007);
    assert_int_equal(gw_pusher_handshake(apps, "/app/key1", "7x", &app, why, sizeof(why)), 4007);
    hc_apps_free(apps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_established, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_pong, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscribe_public, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscribe_unsupported_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscribe_invalid_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscribe_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsubscribe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_and_unknown_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fatal, setup, teardown),
        cmocka_unit_test(test_handshake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
