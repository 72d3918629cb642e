/*
 * Unit tests for gw_subs_recovery: a held member gets nothing live until
 * released, then only what its replay did not cover; a gap makes the
 * channel wait for the missing events (or accept the gap when they cannot
 * be had); a released hold seeds an empty channel's position. No broker:
 * the gap hook is recorded and answered by the test.
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
    int gaps, overflows;
    uint64_t gap_last;
    char gap_epoch[32];
} rec;

static void h_wake(void *ud, gw_subscriber *s)
{
    (void)ud, (void)s;
}
static void h_overflow(void *ud, gw_subscriber *s)
{
    (void)s;
    ((rec *)ud)->overflows++;
}
static void h_gap(void *ud, const char *app, const char *ch, const char *epoch, uint64_t last)
{
    (void)app, (void)ch;
    rec *r = ud;
    r->gaps++;
    r->gap_last = last;
    snprintf(r->gap_epoch, sizeof(r->gap_epoch), "%s", epoch);
}

static const gw_subs_hooks hooks = {h_wake, h_overflow, NULL, NULL, h_gap};

static Herald__Event event(const char *epoch, uint64_t offset)
{
    Herald__Event ev = HERALD__EVENT__INIT;
    ev.app_id = "app";
    ev.channel = "chat";
    ev.name = "ev";
    ev.data.data = (uint8_t *)"{}";
    ev.data.len = 2;
    ev.socket_id = "";
    ev.epoch = (char *)epoch;
    ev.offset = offset;
    return ev;
}

static void deliver(gw_subs *t, const char *epoch, uint64_t offset)
{
    Herald__Event ev = event(epoch, offset);
    gw_subs_deliver(t, &ev);
}

/* Pops every queued frame of s and writes their offsets, comma separated. */
static const char *drain(gw_subscriber *s)
{
    static char out[256];
    out[0] = '\0';
    hc_rbuf *b;
    while ((b = gw_outq_peek(&s->q))) {
        char text[512];
        size_t n = b->len < sizeof(text) - 1 ? b->len : sizeof(text) - 1;
        memcpy(text, hc_rbuf_data(b), n);
        text[n] = '\0';
        const char *id = strstr(text, "\"id\":\"");
        const char *colon = id ? strchr(id + 6, ':') : NULL;
        size_t len = strlen(out);
        snprintf(out + len, sizeof(out) - len, "%s%llu", len ? "," : "",
                 colon ? strtoull(colon + 1, NULL, 10) : 0ull);
        gw_outq_pop(&s->q);
    }
    return out;
}

static void test_hold_and_release(void **state)
{
    (void)state;
    rec r = {0};
    gw_subs *t = gw_subs_new(&hooks, &r, 0);
    gw_subscriber a, b;
    gw_subscriber_init(&a, "1.1", 64);
    gw_subscriber_init(&b, "1.2", 64);
    gw_subs_join(t, &b, "app", "chat");
    deliver(t, "e", 1);
    gw_subs_join(t, &a, "app", "chat");
    uint64_t id = gw_subs_hold(t, &a, "app", "chat");
    assert_true(id > 0);
    assert_ptr_equal(gw_subs_held(t, "app", "chat", id), &a);
    deliver(t, "e", 2);
    deliver(t, "e", 3);
    assert_string_equal(drain(&a), "");
    /* the replay covered up to 2 and the channel's stream is at 5 */
    gw_subs_release(t, &a, "app", "chat", "e", 2, 5);
    assert_null(gw_subs_held(t, "app", "chat", id));
    assert_string_equal(drain(&a), "3");
    deliver(t, "e", 4);
    assert_string_equal(drain(&a), "4");
    assert_string_equal(drain(&b), "1,2,3,4");
    gw_subs_leave_all(t, &a);
    gw_subs_leave_all(t, &b);
    gw_subs_free(t);
}

static void test_release_skips_what_was_replayed(void **state)
{
    (void)state;
    rec r = {0};
    gw_subs *t = gw_subs_new(&hooks, &r, 0);
    gw_subscriber a, b;
    gw_subscriber_init(&a, "1.1", 64);
    gw_subscriber_init(&b, "1.2", 64);
    gw_subs_join(t, &b, "app", "chat");
    deliver(t, "e", 3);
    gw_subs_join(t, &a, "app", "chat");
    gw_subs_hold(t, &a, "app", "chat");
    /* the replay reached 5 before live did */
    gw_subs_release(t, &a, "app", "chat", "e", 5, 5);
    deliver(t, "e", 4);
    deliver(t, "e", 5);
    deliver(t, "e", 6);
    assert_string_equal(drain(&a), "6");
    assert_string_equal(drain(&b), "3,4,5,6");
    assert_int_equal(r.gaps, 0);
    gw_subs_leave_all(t, &a);
    gw_subs_leave_all(t, &b);
    gw_subs_free(t);
}

static void test_gap_repaired_in_order(void **state)
{
    (void)state;
    rec r = {0};
    gw_subs *t = gw_subs_new(&hooks, &r, 0);
    gw_subscriber a;
    gw_subscriber_init(&a, "1.1", 64);
    gw_subs_join(t, &a, "app", "chat");
    deliver(t, "e", 1);
    deliver(t, "e", 4);
    assert_int_equal(r.gaps, 1);
    assert_int_equal(r.gap_last, 1);
    assert_string_equal(r.gap_epoch, "e");
    deliver(t, "e", 5);
    assert_int_equal(r.gaps, 1);
    assert_string_equal(drain(&a), "1");
    Herald__Event e2 = event("e", 2), e3 = event("e", 3);
    Herald__Event *evs[2] = {&e2, &e3};
    Herald__ReplayResponse resp = HERALD__REPLAY_RESPONSE__INIT;
    resp.ok = resp.recovered = true;
    resp.epoch = "e";
    resp.offset = 5;
    resp.n_events = 2;
    resp.events = evs;
    gw_subs_repair_done(t, "app", "chat", &resp);
    assert_string_equal(drain(&a), "2,3,4,5");
    gw_subs_leave_all(t, &a);
    gw_subs_free(t);
}

static void test_gap_accepted_when_unrecoverable(void **state)
{
    (void)state;
    rec r = {0};
    gw_subs *t = gw_subs_new(&hooks, &r, 0);
    gw_subscriber a;
    gw_subscriber_init(&a, "1.1", 64);
    gw_subs_join(t, &a, "app", "chat");
    deliver(t, "e", 1);
    deliver(t, "e", 3);
    deliver(t, "e", 4);
    gw_subs_repair_done(t, "app", "chat", NULL);
    assert_string_equal(drain(&a), "1,3,4");
    deliver(t, "e", 5);
    assert_string_equal(drain(&a), "5");
    assert_int_equal(r.gaps, 1);
    gw_subs_leave_all(t, &a);
    gw_subs_free(t);
}

static void test_release_seeds_position_and_leave_while_held(void **state)
{
    (void)state;
    rec r = {0};
    gw_subs *t = gw_subs_new(&hooks, &r, 0);
    gw_subscriber a, b;
    gw_subscriber_init(&a, "1.1", 64);
    gw_subscriber_init(&b, "1.2", 64);
    gw_subs_join(t, &a, "app", "chat");
    gw_subs_hold(t, &a, "app", "chat");
    gw_subs_release(t, &a, "app", "chat", "e", 5, 5);
    deliver(t, "e", 7);
    assert_int_equal(r.gaps, 1);
    assert_int_equal(r.gap_last, 5);
    gw_subs_repair_done(t, "app", "chat", NULL);
    assert_string_equal(drain(&a), "7");
    /* a member that leaves while held: its hold is gone with it */
    gw_subs_join(t, &b, "app", "chat");
    uint64_t id = gw_subs_hold(t, &b, "app", "chat");
    deliver(t, "e", 8);
    gw_subs_leave(t, &b, "app", "chat");
    assert_null(gw_subs_held(t, "app", "chat", id));
    assert_string_equal(drain(&a), "8");
    gw_subs_leave_all(t, &a);
    gw_subs_leave_all(t, &b);
    gw_subs_free(t);
}

static void test_hold_bounded(void **state)
{
    (void)state;
    rec r = {0};
    gw_subs *t = gw_subs_new(&hooks, &r, 0);
    gw_subscriber a;
    gw_subscriber_init(&a, "1.1", 4);
    gw_subs_join(t, &a, "app", "chat");
    gw_subs_hold(t, &a, "app", "chat");
    for (uint64_t k = 1; k <= 6; k++)
        deliver(t, "e", k);
    assert_int_equal(r.overflows, 1);
    assert_true(a.sealed);
    gw_subs_leave_all(t, &a);
    gw_subs_free(t);
}

static void test_catch_up_asked_twice(void **state)
{
    (void)state;
    rec r = {0};
    gw_subs *t = gw_subs_new(&hooks, &r, 0);
    gw_subscriber a;
    gw_subscriber_init(&a, "1.1", 64);
    gw_subs_join(t, &a, "app", "chat");
    deliver(t, "e", 1);
    char epoch[32];
    uint64_t last = 0;
    assert_true(gw_subs_repair_begin(t, "app", "chat", epoch, sizeof(epoch), &last));
    assert_string_equal(epoch, "e");
    assert_int_equal(last, 1);
    /* a resync while the first catch-up is in flight: one more follows */
    assert_false(gw_subs_repair_begin(t, "app", "chat", epoch, sizeof(epoch), &last));
    deliver(t, "e", 3);
    Herald__Event e2 = event("e", 2);
    Herald__Event *evs[1] = {&e2};
    Herald__ReplayResponse resp = HERALD__REPLAY_RESPONSE__INIT;
    resp.ok = resp.recovered = true;
    resp.epoch = "e";
    resp.n_events = 1;
    resp.events = evs;
    gw_subs_repair_done(t, "app", "chat", &resp);
    assert_string_equal(drain(&a), "1,2,3");
    assert_int_equal(r.gaps, 1);
    assert_int_equal(r.gap_last, 3);
    gw_subs_repair_done(t, "app", "chat", NULL);
    gw_subs_leave_all(t, &a);
    gw_subs_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hold_and_release),
        cmocka_unit_test(test_release_skips_what_was_replayed),
        cmocka_unit_test(test_gap_repaired_in_order),
        cmocka_unit_test(test_gap_accepted_when_unrecoverable),
        cmocka_unit_test(test_release_seeds_position_and_leave_while_held),
        cmocka_unit_test(test_hold_bounded),
        cmocka_unit_test(test_catch_up_asked_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
