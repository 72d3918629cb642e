/*
 * Unit tests for br_core: interest counting, fan-out, link removal and ack
 * routing, against a fake store (records calls, completes publishes when
 * the test says so) and fake links (record and decode every frame).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "br_core.h"
#include "hc_clock.h"
#include "hc_frame.h"
#include "hc_mem.h"

/* ---- fake store ---------------------------------------------------------- */

#define MAX_CALLS 64

typedef struct fake_publish {
    char app[64], channel[64];
    uint8_t *event;
    size_t len;
    br_publish_done_fn done;
    void *arg;
} fake_publish;

typedef struct fake_store {
    br_store base;
    int subs, unsubs;
    char last_sub[128], last_unsub[128];
    fake_publish pubs[MAX_CALLS];
    int npubs;
    const char *fail_now; /* publish fails synchronously with this */
} fake_store;

static void fs_publish(br_store *s, const char *app_id, const char *channel, const uint8_t *event,
                       size_t len, br_publish_done_fn done, void *arg)
{
    fake_store *fs = (fake_store *)s;
    if (fs->fail_now) {
        done(arg, fs->fail_now, NULL, 0);
        return;
    }
    fake_publish *p = &fs->pubs[fs->npubs++];
    snprintf(p->app, sizeof(p->app), "%s", app_id);
    snprintf(p->channel, sizeof(p->channel), "%s", channel);
    p->event = hc_malloc(len + 1);
    memcpy(p->event, event, len);
    p->len = len;
    p->done = done;
    p->arg = arg;
}

static void fs_subscribe(br_store *s, const char *app_id, const char *channel)
{
    fake_store *fs = (fake_store *)s;
    fs->subs++;
    snprintf(fs->last_sub, sizeof(fs->last_sub), "%s/%s", app_id, channel);
}

static void fs_unsubscribe(br_store *s, const char *app_id, const char *channel)
{
    fake_store *fs = (fake_store *)s;
    fs->unsubs++;
    snprintf(fs->last_unsub, sizeof(fs->last_unsub), "%s/%s", app_id, channel);
}

static void fs_free(br_store *s)
{
    fake_store *fs = (fake_store *)s;
    for (int i = 0; i < fs->npubs; i++)
        free(fs->pubs[i].event);
}

static const br_store_ops fs_ops = {.publish = fs_publish,
                                    .subscribe_live = fs_subscribe,
                                    .unsubscribe_live = fs_unsubscribe,
                                    .free = fs_free};

/* Completes publish i the way a store would, then forgets its bytes. */
static void fs_complete(fake_store *fs, int i, const char *error, const char *epoch,
                        uint64_t offset)
{
    fake_publish *p = &fs->pubs[i];
    p->done(p->arg, error, epoch, offset);
    p->done = NULL;
}

/* ---- fake links ---------------------------------------------------------- */

typedef struct fake_link {
    Herald__Frame *frames[MAX_CALLS];
    hc_rbuf *bufs[MAX_CALLS]; /* identity only; not referenced */
    int n;
    br_core_link *cl;
} fake_link;

static void fl_send(void *ctx, hc_rbuf *b)
{
    fake_link *fl = ctx;
    const uint8_t *payload;
    size_t plen, used;
    assert_int_equal(
        hc_frame_parse(hc_rbuf_data(b), b->len, HC_FRAME_MAX_DEFAULT, &payload, &plen, &used),
        HC_FRAME_OK);
    assert_int_equal(used, b->len);
    Herald__Frame *f = hc_wire_unpack(payload, plen);
    assert_non_null(f);
    assert_true(fl->n < MAX_CALLS);
    fl->bufs[fl->n] = b;
    fl->frames[fl->n++] = f;
}

static void fl_clear(fake_link *fl)
{
    for (int i = 0; i < fl->n; i++)
        herald__frame__free_unpacked(fl->frames[i], NULL);
    fl->n = 0;
}

/* ---- fixture ------------------------------------------------------------- */

typedef struct fx {
    fake_store store;
    br_core *core;
    fake_link links[3];
} fx;

static int setup(void **state)
{
    fx *f = hc_calloc(1, sizeof(*f));
    f->store.base.ops = &fs_ops;
    f->core = br_core_new(&f->store.base);
    for (int i = 0; i < 3; i++)
        f->links[i].cl = br_core_link_add(f->core, fl_send, &f->links[i]);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    for (int i = 0; i < 3; i++) {
        if (f->links[i].cl)
            br_core_link_remove(f->core, f->links[i].cl);
        fl_clear(&f->links[i]);
    }
    /* a real store answers every publish by the time it is freed */
    for (int i = 0; i < f->store.npubs; i++)
        if (f->store.pubs[i].done)
            fs_complete(&f->store, i, "store closed", NULL, 0);
    assert_int_equal(br_core_channel_count(f->core), 0);
    assert_int_equal(br_core_link_count(f->core), 0);
    br_core_free(f->core);
    fs_free(&f->store.base);
    free(f);
    return 0;
}

/* Encodes a live entry as the core stores it and delivers it. */
static void live(fx *f, const char *app, const char *ch, const char *epoch, uint64_t off,
                 const char *name, const char *data)
{
    Herald__Publish p = HERALD__PUBLISH__INIT;
    p.name = (char *)name;
    p.data.data = (uint8_t *)data;
    p.data.len = strlen(data);
    p.socket_id = "1.2";
    p.user_id = "u7";
    size_t len;
    uint8_t *ev = br_core_encode_event(&p, &len);
    f->store.base.on_live(f->store.base.on_live_ctx, app, ch, epoch, off, ev, len);
    free(ev);
}

static void publish(fx *f, int link, uint64_t req, const char *app, const char *ch)
{
    Herald__Publish p = HERALD__PUBLISH__INIT;
    p.request_id = req;
    p.app_id = (char *)app;
    p.channel = (char *)ch;
    p.name = "my-event";
    p.data.data = (uint8_t *)"{\"x\":1}";
    p.data.len = 7;
    p.socket_id = "9.9";
    br_core_publish(f->core, f->links[link].cl, &p);
}

/* ---- tests --------------------------------------------------------------- */

static void test_interest_counting(void **state)
{
    fx *f = *state;
    br_core_subscribe(f->core, f->links[0].cl, "app", "news");
    assert_int_equal(f->store.subs, 1);
    assert_string_equal(f->store.last_sub, "app/news");
    br_core_subscribe(f->core, f->links[1].cl, "app", "news");
    br_core_subscribe(f->core, f->links[0].cl, "app", "news"); /* idempotent */
    assert_int_equal(f->store.subs, 1);
    assert_int_equal(br_core_channel_count(f->core), 1);

    br_core_unsubscribe(f->core, f->links[0].cl, "app", "news");
    br_core_unsubscribe(f->core, f->links[0].cl, "app", "news"); /* not subscribed: no-op */
    assert_int_equal(f->store.unsubs, 0);
    br_core_unsubscribe(f->core, f->links[1].cl, "app", "news");
    assert_int_equal(f->store.unsubs, 1);
    assert_string_equal(f->store.last_unsub, "app/news");
    assert_int_equal(br_core_channel_count(f->core), 0);

    /* same channel name in another app is another channel */
    br_core_subscribe(f->core, f->links[0].cl, "app", "x");
    br_core_subscribe(f->core, f->links[0].cl, "app2", "x");
    assert_int_equal(f->store.subs, 3);
    assert_int_equal(br_core_channel_count(f->core), 2);
}

static void test_fanout_once_per_link(void **state)
{
    fx *f = *state;
    br_core_subscribe(f->core, f->links[0].cl, "app", "news");
    br_core_subscribe(f->core, f->links[1].cl, "app", "news");
    br_core_subscribe(f->core, f->links[1].cl, "app", "news");
    br_core_subscribe(f->core, f->links[2].cl, "app", "other");
    live(f, "app", "news", "ep1", 41, "greet", "hello");
    live(f, "app", "news", "ep1", 42, "greet", "again");

    assert_int_equal(f->links[0].n, 2);
    assert_int_equal(f->links[1].n, 2);
    assert_int_equal(f->links[2].n, 0);
    /* one encoding shared by every recipient */
    assert_ptr_equal(f->links[0].bufs[0], f->links[1].bufs[0]);

    Herald__Frame *fr = f->links[1].frames[0];
    assert_int_equal(fr->msg_case, HERALD__FRAME__MSG_EVENT);
    assert_string_equal(fr->event->app_id, "app");
    assert_string_equal(fr->event->channel, "news");
    assert_string_equal(fr->event->name, "greet");
    assert_int_equal(fr->event->data.len, 5);
    assert_memory_equal(fr->event->data.data, "hello", 5);
    assert_string_equal(fr->event->socket_id, "1.2");
    assert_string_equal(fr->event->user_id, "u7");
    assert_string_equal(fr->event->epoch, "ep1");
    assert_int_equal(fr->event->offset, 41);
    assert_int_equal(f->links[1].frames[1]->event->offset, 42);
}

static void test_live_without_interest_dropped(void **state)
{
    fx *f = *state;
    live(f, "app", "nobody", "e", 1, "n", "d");
    br_core_subscribe(f->core, f->links[0].cl, "app", "ch");
    const uint8_t junk[] = {0xff, 0xff, 0xff};
    f->store.base.on_live(f->store.base.on_live_ctx, "app", "ch", "e", 2, junk, sizeof(junk));
    assert_int_equal(f->links[0].n, 0);
    br_core_unsubscribe(f->core, f->links[0].cl, "app", "ch");
    live(f, "app", "ch", "e", 3, "n", "d");
    assert_int_equal(f->links[0].n, 0);
}

static void test_link_remove_drops_interest(void **state)
{
    fx *f = *state;
    br_core_subscribe(f->core, f->links[0].cl, "app", "a");
    br_core_subscribe(f->core, f->links[0].cl, "app", "b");
    br_core_subscribe(f->core, f->links[1].cl, "app", "a");
    br_core_link_remove(f->core, f->links[0].cl);
    f->links[0].cl = NULL;
    assert_int_equal(f->store.unsubs, 1);
    assert_string_equal(f->store.last_unsub, "app/b");
    assert_int_equal(br_core_channel_count(f->core), 1);
    live(f, "app", "a", "e", 1, "n", "d");
    assert_int_equal(f->links[0].n, 0);
    assert_int_equal(f->links[1].n, 1);
    br_core_link_remove(f->core, f->links[1].cl);
    f->links[1].cl = NULL;
    assert_int_equal(f->store.unsubs, 2);
    assert_string_equal(f->store.last_unsub, "app/a");
}

static void test_ack_routing(void **state)
{
    fx *f = *state;
    publish(f, 0, 7, "app", "ch");
    publish(f, 1, 9, "app", "ch");
    assert_int_equal(f->store.npubs, 2);
    assert_string_equal(f->store.pubs[0].app, "app");
    assert_string_equal(f->store.pubs[0].channel, "ch");

    fs_complete(&f->store, 1, NULL, "epX", 5);
    assert_int_equal(f->links[0].n, 0);
    assert_int_equal(f->links[1].n, 1);
    Herald__PublishAck *ack = f->links[1].frames[0]->publish_ack;
    assert_int_equal(f->links[1].frames[0]->msg_case, HERALD__FRAME__MSG_PUBLISH_ACK);
    assert_int_equal(ack->request_id, 9);
    assert_true(ack->ok);
    assert_string_equal(ack->epoch, "epX");
    assert_int_equal(ack->offset, 5);

    fs_complete(&f->store, 0, "redis unavailable", NULL, 0);
    assert_int_equal(f->links[0].n, 1);
    ack = f->links[0].frames[0]->publish_ack;
    assert_int_equal(ack->request_id, 7);
    assert_false(ack->ok);
    assert_string_equal(ack->error, "redis unavailable");
}

static void test_ack_after_link_closed_dropped(void **state)
{
    fx *f = *state;
    publish(f, 0, 1, "app", "ch");
    publish(f, 0, 2, "app", "ch");
    publish(f, 1, 3, "app", "ch");
    fs_complete(&f->store, 1, NULL, "e", 1); /* middle of link 0's list */
    assert_int_equal(f->links[0].n, 1);
    br_core_link_remove(f->core, f->links[0].cl);
    f->links[0].cl = NULL;
    fs_complete(&f->store, 0, NULL, "e", 2);
    assert_int_equal(f->links[0].n, 1);
    fs_complete(&f->store, 2, NULL, "e", 3);
    assert_int_equal(f->links[1].n, 1);
    assert_int_equal(f->links[1].frames[0]->publish_ack->request_id, 3);
}

static void test_publish_sync_failure_and_invalid(void **state)
{
    fx *f = *state;
    f->store.fail_now = "redis unavailable";
    publish(f, 2, 11, "app", "ch");
    assert_int_equal(f->links[2].n, 1);
    assert_false(f->links[2].frames[0]->publish_ack->ok);
    assert_int_equal(f->links[2].frames[0]->publish_ack->request_id, 11);
    f->store.fail_now = NULL;

    publish(f, 2, 12, "app", ""); /* no channel: refused without the store */
    assert_int_equal(f->store.npubs, 0);
    assert_int_equal(f->links[2].n, 2);
    assert_false(f->links[2].frames[1]->publish_ack->ok);
    assert_int_equal(f->links[2].frames[1]->publish_ack->request_id, 12);
}

static void test_stored_event_encoding(void **state)
{
    fx *f = *state;
    publish(f, 0, 1, "app", "ch");
    Herald__Event *ev = herald__event__unpack(NULL, f->store.pubs[0].len, f->store.pubs[0].event);
    assert_non_null(ev);
    assert_string_equal(ev->name, "my-event");
    assert_int_equal(ev->data.len, 7);
    assert_memory_equal(ev->data.data, "{\"x\":1}", 7);
    assert_string_equal(ev->socket_id, "9.9");
    assert_string_equal(ev->app_id, ""); /* implied by the key */
    assert_string_equal(ev->epoch, "");
    assert_int_equal(ev->offset, 0);
    /* stamped with the broker's receive time (wall clock, us) */
    int64_t now_us = hc_wall_us();
    assert_true(ev->published_us > 0 && (int64_t)ev->published_us <= now_us);
    assert_true((int64_t)ev->published_us > now_us - 3600LL * 1000000);
    herald__event__free_unpacked(ev, NULL);
}

/* The receive time travels with the stored entry to the live Event. */
static void test_published_time_forwarded(void **state)
{
    fx *f = *state;
    br_core_subscribe(f->core, f->links[0].cl, "app", "ch");
    Herald__Publish p = HERALD__PUBLISH__INIT;
    p.name = "n";
    size_t len;
    uint8_t *ev = br_core_encode_event_at(&p, 1234567, &len);
    f->store.base.on_live(f->store.base.on_live_ctx, "app", "ch", "e", 1, ev, len);
    free(ev);
    assert_int_equal(f->links[0].n, 1);
    assert_int_equal(f->links[0].frames[0]->event->published_us, 1234567);
    ev = br_core_encode_event(&p, &len); /* no time: none forwarded */
    f->store.base.on_live(f->store.base.on_live_ctx, "app", "ch", "e", 2, ev, len);
    free(ev);
    assert_int_equal(f->links[0].frames[1]->event->published_us, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_interest_counting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fanout_once_per_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_without_interest_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_remove_drops_interest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_routing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_after_link_closed_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_sync_failure_and_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stored_event_encoding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_published_time_forwarded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
