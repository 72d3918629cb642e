/*
 * Unit tests for br_replay: a ReplayRequest becomes a store query, the
 * store's entries come back as full Events in a ReplayResponse, a store
 * without history answers an error, and an answer for a closed link is
 * dropped. Fake store and fake links; no sockets.
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
#include "br_replay.h"
#include "hc_frame.h"
#include "hc_mem.h"

typedef struct fake_store {
    br_store base;
    br_replay_query q;
    char since[32];
    br_replay_done_fn done;
    void *arg;
} fake_store;

static void fs_publish(br_store *s, const char *a, const char *c, const uint8_t *e, size_t n,
                       br_publish_done_fn done, void *arg)
{
    (void)s, (void)a, (void)c, (void)e, (void)n;
    done(arg, "not here", NULL, 0);
}
static void fs_live(br_store *s, const char *a, const char *c)
{
    (void)s, (void)a, (void)c;
}
static void fs_free(br_store *s)
{
    (void)s;
}
static void fs_replay(br_store *s, const char *a, const char *c, const br_replay_query *q,
                      br_replay_done_fn done, void *arg)
{
    (void)a, (void)c;
    fake_store *fs = (fake_store *)s;
    fs->q = *q;
    snprintf(fs->since, sizeof(fs->since), "%s", q->since_epoch ? q->since_epoch : "");
    fs->done = done;
    fs->arg = arg;
}

static const br_store_ops with_history = {
    .publish = fs_publish,
    .subscribe_live = fs_live,
    .unsubscribe_live = fs_live,
    .free = fs_free,
    .replay = fs_replay,
};
static const br_store_ops without_history = {
    .publish = fs_publish, .subscribe_live = fs_live, .unsubscribe_live = fs_live, .free = fs_free};

typedef struct fake_link {
    Herald__Frame *last;
    int frames;
} fake_link;

static void fl_send(void *ctx, hc_rbuf *frame)
{
    fake_link *fl = ctx;
    if (fl->last)
        herald__frame__free_unpacked(fl->last, NULL);
    fl->last = hc_wire_unpack(hc_rbuf_data(frame) + 4, frame->len - 4);
    fl->frames++;
}

static uint8_t *stored(const char *name, const char *data, size_t *len)
{
    Herald__Publish p = HERALD__PUBLISH__INIT;
    p.name = (char *)name;
    p.data.data = (uint8_t *)data;
    p.data.len = strlen(data);
    p.socket_id = "1.1";
    p.user_id = "";
    return br_core_encode_event(&p, len);
}

static void test_since_answer(void **state)
{
    (void)state;
    fake_store fs = {.base = {.ops = &with_history}};
    br_core *c = br_core_new(&fs.base);
    fake_link fl = {0};
    br_core_link *l = br_core_link_add(c, fl_send, &fl);
    Herald__ReplayRequest r = HERALD__REPLAY_REQUEST__INIT;
    r.request_id = 9;
    r.app_id = "app";
    r.channel = "chat";
    r.since_epoch = "e1";
    r.since_offset = 4;
    r.limit = 100000;
    br_core_replay(c, l, &r);
    assert_string_equal(fs.since, "e1");
    assert_int_equal(fs.q.since_offset, 4);
    assert_int_equal(fs.q.limit, BR_REPLAY_LIMIT_MAX);
    assert_int_equal(fl.frames, 0);
    size_t n5, n6;
    uint8_t *e5 = stored("a", "five", &n5), *e6 = stored("b", "six", &n6);
    br_replay_entry ents[2] = {{5, e5, n5}, {6, e6, n6}};
    fs.done(fs.arg, NULL, "e1", 6, true, false, ents, 2);
    free(e5);
    free(e6);
    assert_int_equal(fl.frames, 1);
    assert_int_equal(fl.last->msg_case, HERALD__FRAME__MSG_REPLAY_RESPONSE);
    Herald__ReplayResponse *rr = fl.last->replay_response;
    assert_int_equal(rr->request_id, 9);
    assert_true(rr->ok);
    assert_true(rr->recovered);
    assert_false(rr->more);
    assert_string_equal(rr->epoch, "e1");
    assert_int_equal(rr->offset, 6);
    assert_int_equal(rr->n_events, 2);
    assert_string_equal(rr->events[0]->channel, "chat");
    assert_string_equal(rr->events[0]->app_id, "app");
    assert_string_equal(rr->events[0]->name, "a");
    assert_int_equal(rr->events[0]->offset, 5);
    assert_int_equal(rr->events[1]->offset, 6);
    assert_string_equal(rr->events[1]->epoch, "e1");
    assert_memory_equal(rr->events[1]->data.data, "six", 3);
    assert_string_equal(rr->events[1]->socket_id, "1.1");
    herald__frame__free_unpacked(fl.last, NULL);
    br_core_link_remove(c, l);
    br_core_free(c);
}

static void test_rewind_and_store_error(void **state)
{
    (void)state;
    fake_store fs = {.base = {.ops = &with_history}};
    br_core *c = br_core_new(&fs.base);
    fake_link fl = {0};
    br_core_link *l = br_core_link_add(c, fl_send, &fl);
    Herald__ReplayRequest r = HERALD__REPLAY_REQUEST__INIT;
    r.request_id = 3;
    r.app_id = "app";
    r.channel = "chat";
    r.rewind = 10;
    br_core_replay(c, l, &r);
    assert_string_equal(fs.since, "");
    assert_int_equal(fs.q.rewind, 10);
    fs.done(fs.arg, "redis unavailable", NULL, 0, false, false, NULL, 0);
    assert_false(fl.last->replay_response->ok);
    assert_string_equal(fl.last->replay_response->error, "redis unavailable");
    herald__frame__free_unpacked(fl.last, NULL);
    br_core_link_remove(c, l);
    br_core_free(c);
}

static void test_store_without_history(void **state)
{
    (void)state;
    fake_store fs = {.base = {.ops = &without_history}};
    br_core *c = br_core_new(&fs.base);
    fake_link fl = {0};
    br_core_link *l = br_core_link_add(c, fl_send, &fl);
    Herald__ReplayRequest r = HERALD__REPLAY_REQUEST__INIT;
    r.request_id = 4;
    r.app_id = "app";
    r.channel = "chat";
    r.rewind = 1;
    br_core_replay(c, l, &r);
    assert_int_equal(fl.frames, 1);
    assert_int_equal(fl.last->replay_response->request_id, 4);
    assert_false(fl.last->replay_response->ok);
    herald__frame__free_unpacked(fl.last, NULL);
    br_core_link_remove(c, l);
    br_core_free(c);
}

static void test_answer_after_link_closed(void **state)
{
    (void)state;
    fake_store fs = {.base = {.ops = &with_history}};
    br_core *c = br_core_new(&fs.base);
    fake_link fl = {0};
    br_core_link *l = br_core_link_add(c, fl_send, &fl);
    Herald__ReplayRequest r = HERALD__REPLAY_REQUEST__INIT;
    r.app_id = "app";
    r.channel = "chat";
    r.rewind = 1;
    br_core_replay(c, l, &r);
    br_core_link_remove(c, l);
    fs.done(fs.arg, NULL, "e", 1, true, false, NULL, 0);
    assert_int_equal(fl.frames, 0);
    br_core_free(c);
}

static void test_resync_to_interested_links(void **state)
{
    (void)state;
    fake_store fs = {.base = {.ops = &with_history}};
    br_core *c = br_core_new(&fs.base);
    fake_link a = {0}, b = {0};
    br_core_link *la = br_core_link_add(c, fl_send, &a);
    br_core_link *lb = br_core_link_add(c, fl_send, &b);
    br_core_subscribe(c, la, "app", "chat");
    fs.base.on_resync(fs.base.on_live_ctx, "app", "chat");
    fs.base.on_resync(fs.base.on_live_ctx, "app", "nobody");
    assert_int_equal(a.frames, 1);
    assert_int_equal(b.frames, 0);
    assert_int_equal(a.last->msg_case, HERALD__FRAME__MSG_RESYNC);
    assert_string_equal(a.last->resync->channel, "chat");
    herald__frame__free_unpacked(a.last, NULL);
    br_core_link_remove(c, la);
    br_core_link_remove(c, lb);
    br_core_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_since_answer),
        cmocka_unit_test(test_rewind_and_store_error),
        cmocka_unit_test(test_store_without_history),
        cmocka_unit_test(test_answer_after_link_closed),
        cmocka_unit_test(test_resync_to_interested_links),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
