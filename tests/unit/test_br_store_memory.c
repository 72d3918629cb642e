/*
 * Unit tests for br_store_memory: contiguous offsets from 1, one epoch per
 * channel, publish answered before it returns, live entries only for
 * followed channels, bounded history (range), eviction of idle channels
 * at the table bound, the core running over it, and history reads
 * (replay: since, page, rewind, position) answering like replay.lua.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "br_core.h"
#include "br_store_memory.h"

typedef struct rec {
    int done, live;
    char epoch[32], live_epoch[32];
    uint64_t offset, live_offset;
    char live_event[64];
} rec;

static void on_done(void *arg, const char *error, const char *epoch, uint64_t offset)
{
    rec *r = arg;
    assert_null(error);
    r->done++;
    snprintf(r->epoch, sizeof(r->epoch), "%s", epoch);
    r->offset = offset;
}

static void on_live(void *ctx, const char *app_id, const char *channel, const char *epoch,
                    uint64_t offset, const uint8_t *event, size_t len)
{
    (void)app_id;
    (void)channel;
    rec *r = ctx;
    r->live++;
    snprintf(r->live_epoch, sizeof(r->live_epoch), "%s", epoch);
    r->live_offset = offset;
    snprintf(r->live_event, sizeof(r->live_event), "%.*s", (int)len, (const char *)event);
}

static void pub(br_store *s, const char *ch, const char *ev, rec *r)
{
    s->ops->publish(s, "app", ch, (const uint8_t *)ev, strlen(ev), on_done, r);
}

static void test_offsets_and_epochs(void **state)
{
    (void)state;
    br_store *s = br_store_memory_new(10, 100);
    rec r = {0};
    pub(s, "a", "e1", &r);
    assert_int_equal(r.done, 1); /* answered before publish returned */
    assert_int_equal(r.offset, 1);
    char epoch_a[32];
    snprintf(epoch_a, sizeof(epoch_a), "%s", r.epoch);
    assert_int_equal(strlen(epoch_a), 16);
    pub(s, "a", "e2", &r);
    assert_int_equal(r.offset, 2);
    assert_string_equal(r.epoch, epoch_a);
    pub(s, "b", "e1", &r);
    assert_int_equal(r.offset, 1);
    assert_string_not_equal(r.epoch, epoch_a);
    assert_int_equal(br_store_memory_channels(s), 2);
    s->ops->free(s);
}

static void test_live_only_when_followed(void **state)
{
    (void)state;
    br_store *s = br_store_memory_new(10, 100);
    rec r = {0};
    s->on_live = on_live;
    s->on_live_ctx = &r;
    pub(s, "a", "quiet", &r);
    assert_int_equal(r.live, 0);
    s->ops->subscribe_live(s, "app", "a");
    pub(s, "a", "heard", &r);
    assert_int_equal(r.live, 1);
    assert_int_equal(r.live_offset, 2);
    assert_string_equal(r.live_event, "heard");
    assert_string_equal(r.live_epoch, r.epoch);
    s->ops->unsubscribe_live(s, "app", "a");
    pub(s, "a", "quiet again", &r);
    assert_int_equal(r.live, 1);
    s->ops->free(s);
}

typedef struct seen {
    uint64_t offsets[16];
    int n;
} seen;

static void on_entry(void *ud, uint64_t offset, const uint8_t *event, size_t len)
{
    (void)event;
    (void)len;
    seen *sn = ud;
    sn->offsets[sn->n++] = offset;
}

static void test_bounded_history(void **state)
{
    (void)state;
    br_store *s = br_store_memory_new(3, 100);
    rec r = {0};
    for (int i = 0; i < 5; i++)
        pub(s, "h", "x", &r);
    seen sn = {0};
    assert_non_null(br_store_memory_range(s, "app", "h", 0, on_entry, &sn));
    assert_int_equal(sn.n, 3);
    assert_int_equal(sn.offsets[0], 3);
    assert_int_equal(sn.offsets[2], 5);
    seen after4 = {0};
    br_store_memory_range(s, "app", "h", 4, on_entry, &after4);
    assert_int_equal(after4.n, 1);
    assert_int_equal(after4.offsets[0], 5);
    assert_null(br_store_memory_range(s, "app", "nope", 0, on_entry, &sn));
    s->ops->free(s);
}

static void test_eviction_spares_followed(void **state)
{
    (void)state;
    br_store *s = br_store_memory_new(2, 2);
    rec r = {0};
    s->ops->subscribe_live(s, "app", "kept");
    pub(s, "kept", "x", &r);
    pub(s, "idle1", "x", &r);
    pub(s, "idle2", "x", &r); /* table full: idle1 goes */
    assert_int_equal(br_store_memory_channels(s), 2);
    seen sn = {0};
    assert_null(br_store_memory_range(s, "app", "idle1", 0, on_entry, &sn));
    assert_non_null(br_store_memory_range(s, "app", "kept", 0, on_entry, &sn));
    s->ops->free(s);
}

/* The core over the memory store: a link's publish is acked and its event
 * delivered to the interested link, synchronously. */
static int frames;
static void link_send(void *ctx, hc_rbuf *frame)
{
    (void)ctx;
    (void)frame;
    frames++;
}

static void test_core_over_memory(void **state)
{
    (void)state;
    br_store *s = br_store_memory_new(10, 100);
    br_core *c = br_core_new(s);
    br_core_link *l = br_core_link_add(c, link_send, NULL);
    br_core_subscribe(c, l, "app", "ch");
    Herald__Publish p = HERALD__PUBLISH__INIT;
    p.request_id = 7;
    p.app_id = "app";
    p.channel = "ch";
    p.name = "ev";
    frames = 0;
    br_core_publish(c, l, &p);
    assert_int_equal(frames, 2); /* PublishAck + Event */
    br_core_link_remove(c, l);
    br_core_free(c);
    s->ops->free(s);
}

/* ---- replay ------------------------------------------------------------- */

typedef struct rp {
    int calls;
    char epoch[32];
    uint64_t last;
    bool recovered, more;
    uint64_t offsets[16];
    char events[16][16];
    size_t n;
} rp;

static void on_rp(void *arg, const char *error, const char *epoch, uint64_t offset, bool recovered,
                  bool more, const br_replay_entry *ents, size_t n)
{
    rp *r = arg;
    assert_null(error);
    memset(r, 0, sizeof(*r));
    r->calls = 1;
    snprintf(r->epoch, sizeof(r->epoch), "%s", epoch);
    r->last = offset;
    r->recovered = recovered;
    r->more = more;
    r->n = n;
    for (size_t i = 0; i < n && i < 16; i++) {
        r->offsets[i] = ents[i].offset;
        snprintf(r->events[i], sizeof(r->events[i]), "%.*s", (int)ents[i].event_len,
                 (const char *)ents[i].event);
    }
}

static rp replay(br_store *s, const char *ch, br_replay_query q)
{
    rp r = {0};
    s->ops->replay(s, "app", ch, &q, on_rp, &r);
    assert_int_equal(r.calls, 1); /* answered before replay returned */
    return r;
}

/* publishes "e1".."eN" on ch; returns the epoch */
static void pub_n(br_store *s, const char *ch, int n, char epoch[32])
{
    rec r = {0};
    for (int i = 1; i <= n; i++) {
        char ev[16];
        snprintf(ev, sizeof(ev), "e%d", i);
        pub(s, ch, ev, &r);
    }
    snprintf(epoch, 32, "%s", r.epoch);
}

static void test_replay_since(void **state)
{
    (void)state;
    br_store *s = br_store_memory_new(5, 100);
    char ep[32];
    pub_n(s, "c", 8, ep); /* 4..8 kept */
    rp r = replay(s, "c", (br_replay_query){.since_epoch = ep, .since_offset = 5, .limit = 10});
    assert_true(r.recovered);
    assert_false(r.more);
    assert_string_equal(r.epoch, ep);
    assert_int_equal(r.last, 8);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.offsets[0], 6);
    assert_string_equal(r.events[2], "e8");
    /* the oldest kept entry is still a resume */
    r = replay(s, "c", (br_replay_query){.since_epoch = ep, .since_offset = 3, .limit = 10});
    assert_true(r.recovered);
    assert_int_equal(r.n, 5);
    /* limit cuts: more */
    r = replay(s, "c", (br_replay_query){.since_epoch = ep, .since_offset = 3, .limit = 2});
    assert_true(r.recovered);
    assert_true(r.more);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.offsets[1], 5);
    /* at the end: recovered, nothing */
    r = replay(s, "c", (br_replay_query){.since_epoch = ep, .since_offset = 8, .limit = 10});
    assert_true(r.recovered);
    assert_int_equal(r.n, 0);
    /* trimmed, another epoch, beyond the end, unknown channel: not recovered */
    r = replay(s, "c", (br_replay_query){.since_epoch = ep, .since_offset = 2, .limit = 10});
    assert_false(r.recovered);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.last, 8);
    r = replay(s, "c", (br_replay_query){.since_epoch = "ffff", .since_offset = 6, .limit = 10});
    assert_false(r.recovered);
    r = replay(s, "c", (br_replay_query){.since_epoch = ep, .since_offset = 9, .limit = 10});
    assert_false(r.recovered);
    r = replay(s, "none", (br_replay_query){.since_epoch = ep, .since_offset = 0, .limit = 10});
    assert_false(r.recovered);
    assert_string_equal(r.epoch, "");
    assert_int_equal(r.last, 0);
    s->ops->free(s);
}

static void test_replay_rewind_page_position(void **state)
{
    (void)state;
    br_store *s = br_store_memory_new(5, 100);
    char ep[32];
    pub_n(s, "c", 8, ep);
    rp r = replay(s, "c", (br_replay_query){.rewind = 3, .limit = 10});
    assert_true(r.recovered);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.offsets[0], 6);
    assert_int_equal(r.offsets[2], 8);
    r = replay(s, "c", (br_replay_query){.rewind = 7, .limit = 10}); /* only 5 kept */
    assert_false(r.recovered);
    assert_int_equal(r.n, 5);
    assert_int_equal(r.offsets[0], 4);
    r = replay(s, "c", (br_replay_query){.rewind = 4, .limit = 2});
    assert_int_equal(r.n, 2);
    assert_int_equal(r.offsets[0], 7);
    /* page: what is still there after since, no recovery check */
    r = replay(s, "c", (br_replay_query){.page = true, .since_epoch = "", .limit = 2});
    assert_true(r.recovered);
    assert_true(r.more);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.offsets[0], 4);
    r = replay(s, "c",
               (br_replay_query){.page = true, .since_epoch = ep, .since_offset = 6, .limit = 5});
    assert_false(r.more);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.offsets[0], 7);
    r = replay(s, "c", (br_replay_query){.page = true, .since_epoch = "ffff", .limit = 5});
    assert_false(r.recovered);
    assert_int_equal(r.n, 0);
    /* position only */
    r = replay(s, "c", (br_replay_query){.limit = 5});
    assert_true(r.recovered);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.last, 8);
    assert_string_equal(r.epoch, ep);
    /* rewind on a channel with no history */
    r = replay(s, "none", (br_replay_query){.rewind = 3, .limit = 5});
    assert_true(r.recovered);
    assert_int_equal(r.n, 0);
    assert_string_equal(r.epoch, "");
    s->ops->free(s);
}

static void test_publish_bounded(void **state)
{
    (void)state;
    br_store *s = br_store_memory_new(10, 100);
    rec rc = {0};
    for (int i = 0; i < 6; i++)
        s->ops->publish_bounded(s, "app", "b", (const uint8_t *)"x", 1, 3, 60, on_done, &rc);
    assert_int_equal(rc.offset, 6);
    rp r = replay(s, "b", (br_replay_query){.rewind = 10, .limit = 10});
    assert_int_equal(r.n, 3);
    assert_int_equal(r.offsets[0], 4);
    /* a bound above the store's is capped by it */
    for (int i = 0; i < 12; i++)
        s->ops->publish_bounded(s, "app", "big", (const uint8_t *)"x", 1, 50, 0, on_done, &rc);
    r = replay(s, "big", (br_replay_query){.rewind = 50, .limit = 50});
    assert_int_equal(r.n, 10);
    s->ops->free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets_and_epochs),
        cmocka_unit_test(test_live_only_when_followed),
        cmocka_unit_test(test_bounded_history),
        cmocka_unit_test(test_eviction_spares_followed),
        cmocka_unit_test(test_core_over_memory),
        cmocka_unit_test(test_replay_since),
        cmocka_unit_test(test_replay_rewind_page_position),
        cmocka_unit_test(test_publish_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
