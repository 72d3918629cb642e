/*
 * Unit tests for watchlists: reading "watchlist" out of a pusher:signin's
 * user_data (gw_user, through gw_pusher with a fake io: ids handed to
 * io->signed_in deduplicated, integers as strings, the app's
 * maxWatchlistSize and malformed lists refused with a pusher:error that
 * keeps the sign-in), and the frames of gw_watchlist (member_added /
 * member_removed of an online channel as watchlist_events, other events
 * dropped, the initial online / offline state from the cluster's answer).
 * Owns nothing but fakes.
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
#include "gw_watchlist.h"
#include "hc_apps.h"
#include "hc_buf.h"
#include "hc_sig.h"

#define FAKE_MAX 16

typedef struct fake {
    char *frames[FAKE_MAX];
    int nframes;
    int close_code;
    int signins;
    char previous[64];
    char *ids[FAKE_MAX];
    size_t nids;
} fake;

static void f_send(void *ud, const char *text, size_t len)
{
    fake *f = ud;
    assert_true(f->nframes < FAKE_MAX);
    f->frames[f->nframes++] = strndup(text, len);
}
static void f_close(void *ud, int code, const char *reason)
{
    (void)reason;
    ((fake *)ud)->close_code = code;
}
static int f_subscribe(void *ud, const char *channel)
{
    (void)ud;
    (void)channel;
    return 1;
}
static int f_unsubscribe(void *ud, const char *channel)
{
    (void)ud;
    (void)channel;
    return 1;
}
static int f_is_subscribed(void *ud, const char *channel)
{
    (void)ud;
    (void)channel;
    return 0;
}
static void f_signed_in(void *ud, const char *previous, const char *const *ids, size_t n)
{
    fake *f = ud;
    f->signins++;
    snprintf(f->previous, sizeof(f->previous), "%s", previous);
    for (size_t i = 0; i < f->nids; i++)
        free(f->ids[i]);
    assert_true(n <= FAKE_MAX);
    for (size_t i = 0; i < n; i++)
        f->ids[i] = strdup(ids[i]);
    f->nids = n;
}

static const gw_pusher_io io = {.send = f_send,
                                .close = f_close,
                                .subscribe = f_subscribe,
                                .is_subscribed = f_is_subscribed,
                                .unsubscribe = f_unsubscribe,
                                .signed_in = f_signed_in};

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
    gw_pusher_init(&t->c, &io, &t->f, &t->app, "1.2", 10);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    ctx *t = *state;
    gw_pusher_release(&t->c);
    for (int i = 0; i < t->f.nframes; i++)
        free(t->f.frames[i]);
    for (size_t i = 0; i < t->f.nids; i++)
        free(t->f.ids[i]);
    free(t);
    return 0;
}

/* Signs in with user_data (raw JSON); returns the first frame it caused. */
static const char *signin(ctx *t, const char *user_data)
{
    char what[1024], hex[HC_SHA256_HEX_LEN + 1];
    snprintf(what, sizeof(what), "1.2::user::%s", user_data);
    hc_hmac_sha256_hex("app-secret", 10, what, strlen(what), hex);
    hc_sbuf b = HC_SBUF_INIT;
    hc_sbuf_puts(&b, "{\"event\":\"pusher:signin\",\"data\":{\"user_data\":");
    hc_sbuf_json_string(&b, user_data, strlen(user_data));
    hc_sbuf_printf(&b, ",\"auth\":\"app-key:%s\"}}", hex);
    int before = t->f.nframes;
    gw_pusher_on_message(&t->c, b.data, b.len);
    hc_sbuf_free(&b);
    return t->f.nframes > before ? t->f.frames[before] : NULL;
}

static void test_watchlist_handed_over(void **state)
{
    ctx *t = *state;
    const char *first = signin(t, "{\"id\":\"me\",\"watchlist\":[\"a\",\"b\",\"a\",7]}");
    assert_non_null(strstr(first, "pusher:signin_success"));
    assert_int_equal(t->f.nframes, 1); /* no error */
    assert_int_equal(t->f.signins, 1);
    assert_string_equal(t->f.previous, "");
    assert_int_equal(t->f.nids, 3);
    assert_string_equal(t->f.ids[0], "a");
    assert_string_equal(t->f.ids[1], "b");
    assert_string_equal(t->f.ids[2], "7");
    /* signing in again (as another user) says who it was */
    signin(t, "{\"id\":\"other\"}");
    assert_int_equal(t->f.signins, 2);
    assert_string_equal(t->f.previous, "me");
    assert_int_equal(t->f.nids, 0);
}

static void test_watchlist_over_the_limit(void **state)
{
    ctx *t = *state;
    t->app.max_watchlist = 2;
    signin(t, "{\"id\":\"me\",\"watchlist\":[\"a\",\"b\",\"c\"]}");
    assert_int_equal(t->f.nframes, 2);
    assert_non_null(strstr(t->f.frames[0], "pusher:signin_success"));
    assert_non_null(strstr(t->f.frames[1], "\"event\":\"pusher:error\""));
    assert_non_null(strstr(t->f.frames[1], "3 user ids; the app allows 2 (maxWatchlistSize)"));
    assert_int_equal(t->f.close_code, 0); /* signed in, without watchlist events */
    assert_string_equal(t->c.user_id, "me");
    assert_int_equal(t->f.signins, 1);
    assert_int_equal(t->f.nids, 0);
}

static void test_watchlist_malformed(void **state)
{
    ctx *t = *state;
    signin(t, "{\"id\":\"me\",\"watchlist\":\"a\"}");
    assert_non_null(strstr(t->f.frames[1], "must be an array of user ids"));
    signin(t, "{\"id\":\"me\",\"watchlist\":[\"ok\",\"not ok\"]}");
    assert_non_null(strstr(t->f.frames[3], "watchlist entry #2 is not a user id"));
    assert_int_equal(t->f.nids, 0);
    assert_int_equal(t->f.close_code, 0);
}

static void test_frame_of_online_channel_events(void **state)
{
    (void)state;
    Herald__Event ev = HERALD__EVENT__INIT;
    ev.app_id = "app-id";
    ev.channel = GW_WATCHLIST_PREFIX "bob";
    ev.name = "pusher_internal:member_added";
    ev.epoch = "e";
    ev.offset = 3;
    hc_sbuf b = HC_SBUF_INIT;
    gw_subs_frame_event(&b, &ev); /* gw_subs frames online channels this way */
    hc_sbuf_append(&b, "", 1);
    assert_string_equal(b.data, "{\"event\":\"pusher_internal:watchlist_events\",\"data\":\"{"
                                "\\\"events\\\":[{\\\"name\\\":\\\"online\\\",\\\"user_ids\\\":["
                                "\\\"bob\\\"]}]}\"}");
    hc_sbuf_free(&b);
    ev.name = "pusher_internal:member_removed";
    gw_watchlist_frame(&b, &ev);
    hc_sbuf_append(&b, "", 1);
    assert_non_null(strstr(b.data, "\\\"name\\\":\\\"offline\\\""));
    hc_sbuf_free(&b);
    ev.name = "pusher_internal:subscription_count";
    gw_subs_frame_event(&b, &ev);
    assert_int_equal(b.len, 0);
    ev.name = "anything";
    gw_watchlist_frame(&b, &ev);
    assert_int_equal(b.len, 0);
    assert_true(gw_watchlist_channel("#herald-online-x"));
    assert_false(gw_watchlist_channel("presence-online-x"));
}

static void test_initial_state(void **state)
{
    (void)state;
    hc_sbuf b = HC_SBUF_INIT;
    const char *ans = "[[\"a\",1,\"e1\",4],[\"b\",0,\"e2\",0],[\"c\",1,\"e3\",9]]";
    assert_true(gw_watchlist_initial(&b, ans, strlen(ans)));
    hc_sbuf_append(&b, "", 1);
    assert_string_equal(
        b.data, "{\"event\":\"pusher_internal:watchlist_events\",\"data\":\"{\\\"events\\\":["
                "{\\\"name\\\":\\\"online\\\",\\\"user_ids\\\":[\\\"a\\\",\\\"c\\\"]},"
                "{\\\"name\\\":\\\"offline\\\",\\\"user_ids\\\":[\\\"b\\\"]}]}\"}");
    hc_sbuf_free(&b);
    const char *none_online = "[[\"b\",0,\"e2\",0]]";
    assert_true(gw_watchlist_initial(&b, none_online, strlen(none_online)));
    hc_sbuf_append(&b, "", 1);
    assert_null(strstr(b.data, "online"));
    assert_non_null(strstr(b.data, "offline"));
    hc_sbuf_free(&b);
    assert_true(gw_watchlist_initial(&b, "[]", 2));
    assert_int_equal(b.len, 0);
    assert_false(gw_watchlist_initial(&b, "{\"x\":1}", 7));
    assert_false(gw_watchlist_initial(&b, "[[1,1]]", 7));
    assert_int_equal(b.len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_watchlist_handed_over, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watchlist_over_the_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watchlist_malformed, setup, teardown),
        cmocka_unit_test(test_frame_of_online_channel_events),
        cmocka_unit_test(test_initial_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
