/*
 * Unit tests for gw_subs: the local subscription table and fan-out. Hooks
 * are recorded instead of reaching lws or a broker; frames are checked
 * byte for byte, including that one event is framed once and shared.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_subs.h"

typedef struct rec {
    int wakes, overflows, firsts, lasts;
    char last_first[64], last_last[64];
} rec;

static void h_wake(void *ud, gw_subscriber *s)
{
    (void)s;
    ((rec *)ud)->wakes++;
}
static void h_overflow(void *ud, gw_subscriber *s)
{
    (void)s;
    ((rec *)ud)->overflows++;
}
static void h_first(void *ud, const char *app, const char *ch)
{
    rec *r = ud;
    r->firsts++;
    snprintf(r->last_first, sizeof(r->last_first), "%s/%s", app, ch);
}
static void h_last(void *ud, const char *app, const char *ch)
{
    rec *r = ud;
    r->lasts++;
    snprintf(r->last_last, sizeof(r->last_last), "%s/%s", app, ch);
}

static const gw_subs_hooks hooks = {h_wake, h_overflow, h_first, h_last, NULL};

static Herald__Event event(const char *channel, const char *epoch, uint64_t offset,
                           const char *data, const char *socket_id)
{
    Herald__Event ev = HERALD__EVENT__INIT;
    ev.app_id = "app";
    ev.channel = (char *)channel;
    ev.name = "ev";
    ev.data.data = (uint8_t *)data;
    ev.data.len = strlen(data);
    ev.socket_id = (char *)socket_id;
    ev.epoch = (char *)epoch;
    ev.offset = offset;
    return ev;
}

static const char *frame_text(gw_subscriber *s)
{
    hc_rbuf *b = gw_outq_peek(&s->q);
    assert_non_null(b);
    static char out[512];
    assert_true(b->len < sizeof(out));
    memcpy(out, hc_rbuf_data(b), b->len);
    out[b->len] = '\0';
    return out;
}

static void test_join_leave_hooks(void **state)
{
    (void)state;
    rec r = {0};
    gw_subs *t = gw_subs_new(&hooks, &r, 16);
    gw_subscriber a, b;
    gw_subscriber_init(&a, "1.1", 8);
    gw_subscriber_init(&b, "1.2", 8);
    assert_int_equal(gw_subs_join(t, &a, "app", "ch"), 1);
    assert_int_equal(r.firsts, 1);
    assert_string_equal(r.last_first, "app/ch");
    assert_int_equal(gw_subs_join(t, &a, "app", "ch"), 0);
    assert_int_equal(gw_subs_join(t, &b, "app", "ch"), 1);
    assert_int_equal(r.firsts, 1);
    assert_true(gw_subs_is_member(&a, "app", "ch"));
    assert_false(gw_subs_is_member(&a, "app", "other"));
    assert_false(gw_subs_is_member(&a, "app2", "ch"));
    assert_int_equal(gw_subs_channel_count(t), 1);
    assert_int_equal(gw_subs_leave(t, &a, "app", "ch"), 1);
    assert_int_equal(gw_subs_leave(t, &a, "app", "ch"), 0);
    assert_int_equal(r.lasts, 0);
    gw_subs_leave_all(t, &b);
    assert_int_equal(r.lasts, 1);
    assert_string_equal(r.last_last, "app/ch");
    assert_int_equal(gw_subs_channel_count(t), 0);
    gw_subs_leave_all(t, &a);
    gw_subs_free(t);
}

/* Counts the channels gw_subscriber_each reports. */
static void count_each(void *ud, const char *app, const char *ch, size_t n)
{
    (void)app, (void)ch, (void)n;
    (*(int *)ud)++;
}

/* A subscriber on many channels: its memberships get an index beyond
 * GW_SUBS_INDEX_MIN and lose it again when it drops back to a few; joins,
 * leaves and membership stay right on both sides of the switch. */
static void test_many_channels_index(void **state)
{
    (void)state;
    rec r = {0};
    gw_subs *t = gw_subs_new(&hooks, &r, 16);
    gw_subscriber a, b;
    gw_subscriber_init(&a, "1.1", 8);
    gw_subscriber_init(&b, "1.2", 8);
    const int n = 3 * GW_SUBS_INDEX_MIN;
    char ch[32];
    for (int i = 0; i < n; i++) {
        snprintf(ch, sizeof(ch), "ch-%d", i);
        assert_int_equal(gw_subs_join(t, &a, "app", ch), 1);
        assert_int_equal(gw_subs_join(t, &a, "app", ch), 0);
        assert_int_equal(gw_subscriber_count(&a), i + 1);
        assert_int_equal(a.index != NULL, i + 1 > GW_SUBS_INDEX_MIN);
    }
    assert_int_equal(gw_subs_join(t, &b, "app", "ch-3"), 1);
    for (int i = 0; i < n; i++) {
        snprintf(ch, sizeof(ch), "ch-%d", i);
        assert_true(gw_subs_is_member(&a, "app", ch));
        assert_int_equal(gw_subs_is_member(&b, "app", ch), i == 3);
    }
    assert_false(gw_subs_is_member(&a, "app", "ch-x"));
    int seen = 0;
    gw_subscriber_each(&a, count_each, &seen);
    assert_int_equal(seen, n);
    /* leave all but two: the index goes, the list still answers */
    for (int i = 2; i < n; i++) {
        snprintf(ch, sizeof(ch), "ch-%d", i);
        assert_int_equal(gw_subs_leave(t, &a, "app", ch), 1);
        assert_int_equal(gw_subs_leave(t, &a, "app", ch), 0);
    }
    assert_null(a.index);
    assert_int_equal(gw_subscriber_count(&a), 2);
    assert_true(gw_subs_is_member(&a, "app", "ch-0"));
    assert_true(gw_subs_is_member(&a, "app", "ch-1"));
    assert_false(gw_subs_is_member(&a, "app", "ch-2"));
    assert_int_equal(gw_subs_channel_count(t), 3); /* ch-0, ch-1, and b's ch-3 */
    assert_int_equal(r.lasts, n - 3);
    gw_subs_leave_all(t, &a);
    gw_subs_leave_all(t, &b);
    assert_int_equal(gw_subs_channel_count(t), 0);
    assert_int_equal(r.lasts, n);
    gw_subs_free(t);
}

static void test_deliver_frames_once(void **state)
{
    (void)state;
    rec r = {0};
    gw_subs *t = gw_subs_new(&hooks, &r, 16);
    gw_subscriber a, b, c;
    gw_subscriber_init(&a, "1.1", 8);
    gw_subscriber_init(&b, "1.2", 8);
    gw_subscriber_init(&c, "1.3", 8);
    gw_subs_join(t, &a, "app", "ch");
    gw_subs_join(t, &b, "app", "ch");
    gw_subs_join(t, &c, "app", "other");
    Herald__Event ev = event("ch", "e1", 7, "say \"hi\"\n", "");
    assert_int_equal(gw_subs_deliver(t, &ev), 2);
    assert_string_equal(frame_text(&a), "{\"event\":\"ev\",\"channel\":\"ch\",\"data\":\"say "
                                        "\\\"hi\\\"\\n\",\"id\":\"e1:7\"}");
    /* one shared buffer, with the headroom in front */
    assert_ptr_equal(gw_outq_peek(&a.q), gw_outq_peek(&b.q));
    assert_int_equal(gw_outq_peek(&a.q)->headroom, 16);
    assert_int_equal(gw_outq_peek(&a.q)->refs, 2);
    assert_int_equal(gw_outq_len(&c.q), 0);
    assert_int_equal(r.wakes, 2);
    /* unknown channels and other apps are ignored */
    Herald__Event none = event("nobody", "e1", 1, "x", "");
    assert_int_equal(gw_subs_deliver(t, &none), 0);
    gw_subs_leave_all(t, &a);
    gw_subs_leave_all(t, &b);
    gw_subs_leave_all(t, &c);
    gw_subs_free(t);
}

static void test_exclude_and_dedupe(void **state)
{
    (void)state;
    rec r = {0};
    gw_subs *t = gw_subs_new(&hooks, &r, 0);
    gw_subscriber a, b;
    gw_subscriber_init(&a, "1.1", 8);
    gw_subscriber_init(&b, "1.2", 8);
    gw_subs_join(t, &a, "app", "ch");
    gw_subs_join(t, &b, "app", "ch");
    Herald__Event e1 = event("ch", "ep", 1, "x", "1.1");
    assert_int_equal(gw_subs_deliver(t, &e1), 1); /* not to its sender */
    assert_int_equal(gw_outq_len(&a.q), 0);
    assert_int_equal(gw_outq_len(&b.q), 1);
    assert_int_equal(gw_subs_deliver(t, &e1), 0); /* duplicate */
    Herald__Event old = event("ch", "ep", 0, "x", "");
    assert_int_equal(gw_subs_deliver(t, &old), 0); /* older */
    Herald__Event e2 = event("ch", "ep", 2, "y", "");
    assert_int_equal(gw_subs_deliver(t, &e2), 2);
    Herald__Event other_epoch = event("ch", "ep2", 1, "z", "");
    assert_int_equal(gw_subs_deliver(t, &other_epoch), 2); /* new epoch restarts */
    Herald__Event no_id = event("ch", "", 0, "w", "");
    assert_int_equal(gw_subs_deliver(t, &no_id), 2);
    gw_outq_pop(&a.q);
    gw_outq_pop(&a.q);
    assert_string_equal(frame_text(&a), "{\"event\":\"ev\",\"channel\":\"ch\",\"data\":\"w\"}");
    gw_subs_leave_all(t, &a);
    gw_subs_leave_all(t, &b);
    gw_subs_free(t);
}

static void test_overflow(void **state)
{
    (void)state;
    rec r = {0};
    gw_subs *t = gw_subs_new(&hooks, &r, 0);
    gw_subscriber a, b;
    gw_subscriber_init(&a, "1.1", 2);
    gw_subscriber_init(&b, "1.2", 8);
    gw_subs_join(t, &a, "app", "ch");
    gw_subs_join(t, &b, "app", "ch");
    for (uint64_t i = 1; i <= 5; i++) {
        Herald__Event e = event("ch", "ep", i, "x", "");
        gw_subs_deliver(t, &e);
    }
    assert_int_equal(r.overflows, 1); /* once, not per message */
    assert_true(a.sealed);
    assert_int_equal(gw_outq_len(&a.q), 2);
    assert_int_equal(gw_outq_len(&b.q), 5);
    assert_int_equal(r.wakes, 2); /* only on empty -> non-empty */
    /* a sealed subscriber (closing) takes nothing more */
    gw_subscriber_seal(&b);
    Herald__Event e6 = event("ch", "ep", 6, "x", "");
    assert_int_equal(gw_subs_deliver(t, &e6), 0);
    assert_int_equal(gw_outq_len(&b.q), 5);
    gw_subs_leave_all(t, &a);
    gw_subs_leave_all(t, &b);
    gw_subs_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_leave_hooks),
        cmocka_unit_test(test_many_channels_index),
        cmocka_unit_test(test_deliver_frames_once),
        cmocka_unit_test(test_exclude_and_dedupe),
        cmocka_unit_test(test_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
