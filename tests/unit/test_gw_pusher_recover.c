/*
 * Unit tests for gw_pusher's recovery hook: "since" and "rewind" in
 * pusher:subscribe, the app's rewind-on-subscribe rule and cache channels
 * hand the reply to io->recover (which then owns subscription_succeeded);
 * everything else gets the plain reply. Fake io, no sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_pusher.h"
#include "hc_history.h"

typedef struct fake {
    int sent, recovers;
    char since[64];
    unsigned rewind;
    bool cache_miss;
} fake;

static void f_send(void *ud, const char *text, size_t len)
{
    (void)text, (void)len;
    ((fake *)ud)->sent++;
}
static void f_close(void *ud, int code, const char *reason)
{
    (void)ud, (void)code, (void)reason;
}
static int f_subscribe(void *ud, const char *channel)
{
    (void)ud, (void)channel;
    return 1;
}
static int f_is_subscribed(void *ud, const char *channel)
{
    (void)ud, (void)channel;
    return 0;
}
static int f_unsubscribe(void *ud, const char *channel)
{
    (void)ud, (void)channel;
    return 1;
}
static void f_recover(void *ud, const char *channel, const char *since, unsigned rewind,
                      bool cache_miss)
{
    (void)channel;
    fake *f = ud;
    f->recovers++;
    snprintf(f->since, sizeof(f->since), "%s", since ? since : "");
    f->rewind = rewind;
    f->cache_miss = cache_miss;
}

static const gw_pusher_io io = {.send = f_send,
                                .close = f_close,
                                .subscribe = f_subscribe,
                                .is_subscribed = f_is_subscribed,
                                .unsubscribe = f_unsubscribe,
                                .recover = f_recover};

static void subscribe(gw_pusher_conn *c, const char *data)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "{\"event\":\"pusher:subscribe\",\"data\":%s}", data);
    gw_pusher_on_message(c, msg, strlen(msg));
}

static void test_recover_requests(void **state)
{
    (void)state;
    hc_app app;
    hc_app_defaults(&app);
    app.id = "a";
    json_t *rules = json_loads("[{\"prefix\":\"chat-\",\"rewindOnSubscribe\":5}]", 0, NULL);
    char err[64];
    assert_true(hc_history_from_json(rules, &app.history, err, sizeof(err)));
    json_decref(rules);
    fake f = {0};
    gw_pusher_conn c;
    gw_pusher_init(&c, &io, &f, &app, "1.1", 0);

    subscribe(&c, "{\"channel\":\"plain\"}");
    assert_int_equal(f.recovers, 0);
    assert_int_equal(f.sent, 1); /* plain subscription_succeeded */

    subscribe(&c, "{\"channel\":\"plain\",\"since\":\"e:4\"}");
    assert_int_equal(f.recovers, 1);
    assert_string_equal(f.since, "e:4");
    assert_int_equal(f.sent, 1); /* the recovery sends it */

    subscribe(&c, "{\"channel\":\"plain\",\"rewind\":7}");
    assert_int_equal(f.rewind, 7);
    assert_string_equal(f.since, "");

    subscribe(&c, "{\"channel\":\"chat-1\"}");
    assert_int_equal(f.rewind, 5);
    assert_false(f.cache_miss);
    subscribe(&c, "{\"channel\":\"chat-1\",\"rewind\":2}");
    assert_int_equal(f.rewind, 2);

    subscribe(&c, "{\"channel\":\"cache-x\"}");
    assert_int_equal(f.rewind, 1);
    assert_true(f.cache_miss);
    subscribe(&c, "{\"channel\":\"cache-x\",\"since\":\"e:1\"}");
    assert_false(f.cache_miss);

    subscribe(&c, "{\"channel\":\"plain\",\"rewind\":0}");
    assert_int_equal(f.recovers, 6);
    assert_int_equal(f.sent, 2);
    gw_pusher_release(&c);
    hc_history_free(app.history);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recover_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
