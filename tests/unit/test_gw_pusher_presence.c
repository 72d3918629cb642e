/*
 * Unit tests for gw_pusher_presence: pusher:subscribe on presence-
 * channels through gw_pusher with a fake io: the signature over
 * socket_id:channel:channel_data (Pusher's documented vector), user_id
 * forms, the member size limit, and the replies built from the cluster's
 * answer (subscription_succeeded with the presence object, or
 * subscription_error and a local unsubscribe). Owns nothing but fakes.
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
#include "hc_sig.h"
#include "hc_apps.h"

typedef struct fake {
    char last[4096];
    int nframes;
    int subscribed;
    char uid[64], info[256];
    int joins;
    int cache_calls;
    int frames_at_cache; /* frames sent before the cache replay was asked */
    char cache_channel[64];
} fake;

static void f_send(void *ud, const char *text, size_t len)
{
    fake *f = ud;
    snprintf(f->last, sizeof(f->last), "%.*s", (int)len, text);
    f->nframes++;
}
static void f_close(void *ud, int code, const char *reason)
{
    (void)ud;
    (void)code;
    (void)reason;
}
static int f_subscribe(void *ud, const char *channel)
{
    (void)channel;
    fake *f = ud;
    int was = f->subscribed;
    f->subscribed = 1;
    return !was;
}
static int f_is_subscribed(void *ud, const char *channel)
{
    (void)channel;
    return ((fake *)ud)->subscribed;
}
static int f_unsubscribe(void *ud, const char *channel)
{
    (void)channel;
    fake *f = ud;
    int was = f->subscribed;
    f->subscribed = 0;
    return was;
}
static void f_join(void *ud, const char *channel, const char *uid, const char *info)
{
    (void)channel;
    fake *f = ud;
    f->joins++;
    snprintf(f->uid, sizeof(f->uid), "%s", uid);
    snprintf(f->info, sizeof(f->info), "%s", info);
}

static void f_cache(void *ud, const char *channel)
{
    fake *f = ud;
    f->cache_calls++;
    f->frames_at_cache = f->nframes;
    snprintf(f->cache_channel, sizeof(f->cache_channel), "%s", channel);
}

static const gw_pusher_io io = {.send = f_send,
                                .close = f_close,
                                .subscribe = f_subscribe,
                                .is_subscribed = f_is_subscribed,
                                .unsubscribe = f_unsubscribe,
                                .presence_join = f_join,
                                .cache_replay = f_cache};

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
    t->app.key = "278d425bdf160c739803";
    t->app.secret = "7ad3773142a6692b25b8";
    gw_pusher_init(&t->c, &io, &t->f, &t->app, "1234.1234", 10);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    ctx *t = *state;
    gw_pusher_release(&t->c);
    free(t);
    return 0;
}

static void subscribe(ctx *t, const char *auth_hex, const char *channel_data_json_escaped)
{
    char msg[2048];
    snprintf(msg, sizeof(msg),
             "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"presence-foobar\","
             "\"auth\":\"278d425bdf160c739803:%s\",\"channel_data\":\"%s\"}}",
             auth_hex, channel_data_json_escaped);
    gw_pusher_on_message(&t->c, msg, strlen(msg));
}

#define GOOD_SIG "31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80"
#define GOOD_DATA "{\\\"user_id\\\":10,\\\"user_info\\\":{\\\"name\\\":\\\"Mr. Channels\\\"}}"

static void test_documented_vector_joins(void **state)
{
    ctx *t = *state;
    subscribe(t, GOOD_SIG, GOOD_DATA);
    assert_int_equal(t->f.joins, 1);
    assert_int_equal(t->f.nframes, 0); /* the answer comes from the cluster */
    assert_string_equal(t->f.uid, "10");
    assert_string_equal(t->f.info, "{\"name\":\"Mr. Channels\"}");
    assert_true(t->f.subscribed);
    static const char presence[] = "{\"presence\":{\"ids\":[\"10\"],\"hash\":{\"10\":{\"name\":"
                                   "\"Mr. Channels\"}},\"count\":1}}";
    gw_pusher_presence_joined(&t->c, "presence-foobar", NULL, presence, sizeof(presence) - 1);
    assert_string_equal(
        t->f.last,
        "{\"event\":\"pusher_internal:subscription_succeeded\",\"channel\":\"presence-foobar\","
        "\"data\":\"{\\\"presence\\\":{\\\"ids\\\":[\\\"10\\\"],\\\"hash\\\":{\\\"10\\\":{"
        "\\\"name\\\":\\\"Mr. Channels\\\"}},\\\"count\\\":1}}\"}");
}

static void test_signature_is_over_verbatim_channel_data(void **state)
{
    ctx *t = *state;
    /* same JSON with a space: a re-serialisation would accept it */
    subscribe(t, GOOD_SIG,
              "{\\\"user_id\\\": 10,\\\"user_info\\\":{\\\"name\\\":\\\"Mr. Channels\\\"}}");
    assert_int_equal(t->f.joins, 0);
    assert_false(t->f.subscribed);
    assert_non_null(strstr(t->f.last, "\"type\":\"AuthError\""));
    assert_non_null(strstr(t->f.last, "\"status\":401"));
}

static void test_missing_user_id(void **state)
{
    ctx *t = *state;
    /* HMAC over 1234.1234:presence-foobar:{"user_info":{}} */
    subscribe(t, "0000", "{\\\"user_info\\\":{}}");
    assert_non_null(strstr(t->f.last, "AuthError"));
    assert_int_equal(t->f.joins, 0);
}

static void test_member_size_limit(void **state)
{
    ctx *t = *state;
    t->app.max_presence_member_bytes = 10; /* the vector's user_info is 23 bytes */
    subscribe(t, GOOD_SIG, GOOD_DATA);
    assert_int_equal(t->f.joins, 0);
    assert_false(t->f.subscribed);
    assert_non_null(strstr(t->f.last, "\"type\":\"LimitReached\""));
    assert_non_null(strstr(t->f.last, "limit is 10"));
}

/* Signs channel_data (raw JSON, no quotes inside but those of its keys)
 * for socket 1234.1234 on presence-foobar and subscribes with it. */
static void subscribe_signed(ctx *t, const char *cd)
{
    char signed_text[1024], hex[65], escaped[1024];
    snprintf(signed_text, sizeof(signed_text), "1234.1234:presence-foobar:%s", cd);
    hc_hmac_sha256_hex(t->app.secret, strlen(t->app.secret), signed_text, strlen(signed_text), hex);
    size_t o = 0;
    for (const char *p = cd; *p && o + 3 < sizeof(escaped); p++) {
        if (*p == '"')
            escaped[o++] = '\\';
        escaped[o++] = *p;
    }
    escaped[o] = '\0';
    subscribe(t, hex, escaped);
}

/* A user_id longer than a signed-in user's (200) is refused, saying so. */
static void test_user_id_too_long(void **state)
{
    ctx *t = *state;
    char cd[512], id[202];
    memset(id, 'u', 201);
    id[201] = '\0';
    snprintf(cd, sizeof(cd), "{\"user_id\":\"%s\"}", id);
    subscribe_signed(t, cd);
    assert_int_equal(t->f.joins, 0);
    assert_false(t->f.subscribed);
    assert_non_null(strstr(t->f.last, "\"type\":\"InvalidChannelData\""));
    assert_non_null(strstr(t->f.last, "user_id is 201 bytes; the limit is 200"));
    id[200] = '\0'; /* 200 is fine */
    snprintf(cd, sizeof(cd), "{\"user_id\":\"%s\"}", id);
    subscribe_signed(t, cd);
    assert_int_equal(t->f.joins, 1);
    assert_true(t->f.subscribed);
}

static void test_channel_full(void **state)
{
    ctx *t = *state;
    subscribe(t, GOOD_SIG, GOOD_DATA);
    gw_pusher_presence_joined(&t->c, "presence-foobar", "limit", NULL, 0);
    assert_false(t->f.subscribed);
    assert_non_null(strstr(t->f.last, "pusher:subscription_error"));
    assert_non_null(strstr(t->f.last, "already has 100 members"));
    assert_int_equal(t->c.nsubs, 0);
}

static void test_answer_after_unsubscribe_is_dropped(void **state)
{
    ctx *t = *state;
    subscribe(t, GOOD_SIG, GOOD_DATA);
    t->f.subscribed = 0;
    gw_pusher_presence_joined(&t->c, "presence-foobar", NULL, "{}", 2);
    assert_int_equal(t->f.nframes, 0);
}

/* presence-cache-: the last event (or cache_miss) is asked for right after
 * subscription_succeeded; plain presence channels and refusals ask for
 * nothing. */
static void test_presence_cache_replays_after_succeeded(void **state)
{
    ctx *t = *state;
    subscribe(t, GOOD_SIG, GOOD_DATA);
    gw_pusher_presence_joined(&t->c, "presence-foobar", NULL, "{}", 2);
    assert_int_equal(t->f.cache_calls, 0);
    gw_pusher_presence_joined(&t->c, "presence-cache-room", NULL, "{}", 2);
    assert_int_equal(t->f.cache_calls, 1);
    assert_int_equal(t->f.frames_at_cache, 2); /* after its subscription_succeeded */
    assert_string_equal(t->f.cache_channel, "presence-cache-room");
    assert_non_null(strstr(t->f.last, "\"channel\":\"presence-cache-room\""));
    gw_pusher_presence_joined(&t->c, "presence-cache-room", "limit", NULL, 0);
    assert_int_equal(t->f.cache_calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_documented_vector_joins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signature_is_over_verbatim_channel_data, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_user_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_id_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channel_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_after_unsubscribe_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_presence_cache_replays_after_succeeded, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
