/*
 * Unit tests for br_core's cluster calls (br_core_cluster_call): a call is
 * handed to the installed br_cluster and its answer goes back to the link
 * that asked as a ClusterReply with the same request id; without a cluster
 * (an in-memory store with no cluster state, NULL store ops) the call is
 * refused with a sentence; an answer for a link that went away is dropped.
 * Fakes for store, cluster and links only.
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
#include "hc_frame.h"

/* A store with no optional ops: the core must tolerate NULL entries. */
static void fs_publish(br_store *s, const char *app_id, const char *channel, const uint8_t *event,
                       size_t len, br_publish_done_fn done, void *arg)
{
    (void)s;
    (void)app_id;
    (void)channel;
    (void)event;
    (void)len;
    done(arg, "not in this test", NULL, 0);
}
static const br_store_ops fs_ops = {.publish = fs_publish};

typedef struct fake_cluster {
    br_cluster base;
    char op[32], channel[64];
    br_cluster_done_fn done;
    void *arg;
    int calls;
} fake_cluster;

static void fc_call(br_cluster *cl, const Herald__ClusterCall *call, br_cluster_done_fn done,
                    void *arg)
{
    fake_cluster *fc = (fake_cluster *)cl;
    snprintf(fc->op, sizeof(fc->op), "%s", call->op);
    snprintf(fc->channel, sizeof(fc->channel), "%s", call->channel);
    fc->done = done;
    fc->arg = arg;
    fc->calls++;
}
static void fc_free(br_cluster *cl)
{
    (void)cl;
}
static const br_cluster_ops fc_ops = {fc_call, fc_free};

typedef struct fake_link {
    Herald__Frame *last;
    int n;
} fake_link;

static void fl_send(void *ctx, hc_rbuf *b)
{
    fake_link *fl = ctx;
    const uint8_t *payload;
    size_t plen, used;
    assert_int_equal(
        hc_frame_parse(hc_rbuf_data(b), b->len, HC_FRAME_MAX_DEFAULT, &payload, &plen, &used),
        HC_FRAME_OK);
    if (fl->last)
        herald__frame__free_unpacked(fl->last, NULL);
    fl->last = hc_wire_unpack(payload, plen);
    assert_non_null(fl->last);
    fl->n++;
}

static Herald__ClusterCall call_for(const char *op, uint64_t id)
{
    Herald__ClusterCall c = HERALD__CLUSTER_CALL__INIT;
    c.request_id = id;
    c.op = (char *)op;
    c.app_id = "app";
    c.channel = "presence-room";
    return c;
}

static void test_answer_goes_back(void **state)
{
    (void)state;
    br_store store = {.ops = &fs_ops};
    br_core *core = br_core_new(&store);
    fake_cluster fc = {.base = {&fc_ops}};
    br_core_set_cluster(core, &fc.base);
    fake_link fl = {0};
    br_core_link *l = br_core_link_add(core, fl_send, &fl);
    br_core_subscribe(core, l, "app", "presence-room"); /* NULL subscribe_live is fine */
    Herald__ClusterCall c = call_for("join", 41);
    br_core_cluster_call(core, l, &c);
    assert_string_equal(fc.op, "join");
    assert_string_equal(fc.channel, "presence-room");
    assert_int_equal(fl.n, 0);
    fc.done(fc.arg, NULL, "{\"presence\":{}}", 15);
    assert_int_equal(fl.n, 1);
    assert_int_equal(fl.last->msg_case, HERALD__FRAME__MSG_CLUSTER_REPLY);
    assert_int_equal(fl.last->cluster_reply->request_id, 41);
    assert_true(fl.last->cluster_reply->ok);
    assert_int_equal(fl.last->cluster_reply->json.len, 15);
    assert_memory_equal(fl.last->cluster_reply->json.data, "{\"presence\":{}}", 15);

    c = call_for("join", 42);
    br_core_cluster_call(core, l, &c);
    fc.done(fc.arg, "limit", NULL, 0);
    assert_int_equal(fl.last->cluster_reply->request_id, 42);
    assert_false(fl.last->cluster_reply->ok);
    assert_string_equal(fl.last->cluster_reply->error, "limit");

    /* the link goes away before the answer: it is dropped */
    c = call_for("leave", 43);
    br_core_cluster_call(core, l, &c);
    br_core_link_remove(core, l);
    fc.done(fc.arg, NULL, "1", 1);
    assert_int_equal(fl.n, 2);
    herald__frame__free_unpacked(fl.last, NULL);
    br_core_free(core);
}

static void test_without_cluster(void **state)
{
    (void)state;
    br_store store = {.ops = &fs_ops};
    br_core *core = br_core_new(&store);
    fake_link fl = {0};
    br_core_link *l = br_core_link_add(core, fl_send, &fl);
    Herald__ClusterCall c = call_for("join", 7);
    br_core_cluster_call(core, l, &c);
    assert_int_equal(fl.n, 1);
    assert_int_equal(fl.last->cluster_reply->request_id, 7);
    assert_false(fl.last->cluster_reply->ok);
    assert_non_null(strstr(fl.last->cluster_reply->error, "no cluster state"));
    br_core_link_remove(core, l);
    herald__frame__free_unpacked(fl.last, NULL);
    br_core_free(core);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_goes_back),
        cmocka_unit_test(test_without_cluster),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
