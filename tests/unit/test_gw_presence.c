/*
 * Unit tests for gw_presence: what the gateway asks the cluster, with a
 * fake gw_link that records every ClusterCall and answers when the test
 * says so, on a real libuv loop (timers). Covers join (fields, answer to
 * the right connection, forget), leave, the user_id lookup, coalesced
 * absolute count reports with the app's subscription_count flag, the
 * heartbeat and the re-announcement after a "fresh" answer, and the 1 ms
 * heartbeat at stop. Owns nothing but fakes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_presence.h"
#include "gw_subs.h"

#define MAX_CALLS 32

typedef struct rec_call {
    char op[16], channel[64], socket_id[32], user_id[32], info[64], gateway[32];
    uint64_t limit, liveness;
    int64_t count;
    uint32_t flags;
    gw_call_cb cb;
    void *ud;
} rec_call;

typedef struct fake_link {
    gw_link base;
    rec_call calls[MAX_CALLS];
    int n;
} fake_link;

static void fl_call(gw_link *l, Herald__ClusterCall *c, gw_call_cb cb, void *ud)
{
    fake_link *fl = (fake_link *)l;
    assert_true(fl->n < MAX_CALLS);
    rec_call *r = &fl->calls[fl->n++];
    snprintf(r->op, sizeof(r->op), "%s", c->op);
    snprintf(r->channel, sizeof(r->channel), "%s", c->channel ? c->channel : "");
    snprintf(r->socket_id, sizeof(r->socket_id), "%s", c->socket_id ? c->socket_id : "");
    snprintf(r->user_id, sizeof(r->user_id), "%s", c->user_id ? c->user_id : "");
    snprintf(r->info, sizeof(r->info), "%.*s", (int)c->user_info.len, (char *)c->user_info.data);
    snprintf(r->gateway, sizeof(r->gateway), "%s", c->gateway_id ? c->gateway_id : "");
    r->limit = c->limit;
    r->liveness = c->liveness_ms;
    r->count = c->count;
    r->flags = c->flags;
    r->cb = cb;
    r->ud = ud;
}
static bool fl_ready(gw_link *l)
{
    (void)l;
    return true;
}
static const gw_link_ops fl_ops = {.ready = fl_ready, .call = fl_call};

/* the last call with op, or NULL */
static rec_call *last(fake_link *fl, const char *op)
{
    for (int i = fl->n - 1; i >= 0; i--)
        if (strcmp(fl->calls[i].op, op) == 0)
            return &fl->calls[i];
    return NULL;
}
static int count_ops(fake_link *fl, const char *op)
{
    int n = 0;
    for (int i = 0; i < fl->n; i++)
        n += strcmp(fl->calls[i].op, op) == 0;
    return n;
}

typedef struct joined_rec {
    void *conn;
    char channel[64], error[64], json[128];
    int n;
} joined_rec;

static void on_joined(void *ud, void *conn, const char *channel, const char *error,
                      const char *json, size_t len)
{
    joined_rec *j = ud;
    j->n++;
    j->conn = conn;
    snprintf(j->channel, sizeof(j->channel), "%s", channel);
    snprintf(j->error, sizeof(j->error), "%s", error ? error : "");
    snprintf(j->json, sizeof(j->json), "%.*s", (int)len, json ? json : "");
}

static void hook_noop(void *ud, gw_subscriber *s)
{
    (void)ud;
    (void)s;
}

typedef struct world {
    uv_loop_t loop;
    fake_link fl;
    gw_subs *subs;
    hc_apps *apps;
    gw_presence *p;
    joined_rec j;
} world;

static void stop_loop(uv_timer_t *t)
{
    uv_stop(t->loop);
}

static void run_for(world *w, unsigned ms)
{
    uv_timer_t t;
    uv_timer_init(&w->loop, &t);
    uv_timer_start(&t, stop_loop, ms, 0);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&w->loop, UV_RUN_NOWAIT);
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof(*w));
    uv_loop_init(&w->loop);
    w->fl.base.ops = &fl_ops;
    static const gw_subs_hooks hooks = {.wake = hook_noop, .overflow = hook_noop};
    w->subs = gw_subs_new(&hooks, NULL, 0);
    w->apps = hc_apps_new();
    hc_app a;
    hc_app_defaults(&a);
    a.id = "app";
    a.key = "key";
    a.secret = "secret";
    a.max_presence_members = 7;
    a.subscription_count = true;
    assert_int_equal(hc_apps_add(w->apps, &a), 0);
    gw_presence_config cfg = {"gw-a", 3000, on_joined, &w->j};
    w->p = gw_presence_new(&w->loop, &w->fl.base, w->subs, w->apps, &cfg);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    gw_presence_stop(w->p);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&w->loop), 0);
    gw_subs_free(w->subs);
    hc_apps_free(w->apps);
    free(w);
    return 0;
}

static void test_join_leave(void **state)
{
    world *w = *state;
    int conn;
    const hc_app *app = hc_apps_by_id(w->apps, "app");
    gw_presence_join(w->p, &conn, app, "presence-r", "1.2", "u1", "{\"n\":1}");
    rec_call *c = last(&w->fl, "join");
    assert_non_null(c);
    assert_string_equal(c->channel, "presence-r");
    assert_string_equal(c->socket_id, "1.2");
    assert_string_equal(c->user_id, "u1");
    assert_string_equal(c->info, "{\"n\":1}");
    assert_string_equal(c->gateway, "gw-a");
    assert_int_equal(c->limit, 7);
    assert_int_equal(c->liveness, 3000);
    assert_string_equal(gw_presence_user_of(w->p, "app", "presence-r", "1.2"), "u1");
    assert_null(gw_presence_user_of(w->p, "app", "presence-r", "1.3"));
    c->cb(c->ud, NULL, "{\"presence\":1}", 14);
    assert_int_equal(w->j.n, 1);
    assert_ptr_equal(w->j.conn, &conn);
    assert_string_equal(w->j.json, "{\"presence\":1}");

    /* an answer for a connection that went away is not delivered */
    gw_presence_join(w->p, &conn, app, "presence-s", "1.2", "u1", "");
    gw_presence_forget(w->p, &conn);
    c = last(&w->fl, "join");
    c->cb(c->ud, "limit", NULL, 0);
    assert_int_equal(w->j.n, 1);
    assert_null(gw_presence_user_of(w->p, "app", "presence-s", "1.2"));

    gw_presence_leave(w->p, "app", "presence-r", "1.2");
    c = last(&w->fl, "leave");
    assert_non_null(c);
    assert_string_equal(c->socket_id, "1.2");
    assert_null(gw_presence_user_of(w->p, "app", "presence-r", "1.2"));
}

static void test_counts_coalesced(void **state)
{
    world *w = *state;
    gw_subscriber s1, s2;
    gw_subscriber_init(&s1, "1.1", 8);
    gw_subscriber_init(&s2, "1.2", 8);
    gw_subs_join(w->subs, &s1, "app", "room");
    gw_presence_count_changed(w->p, "app", "room");
    gw_subs_join(w->subs, &s2, "app", "room");
    gw_presence_count_changed(w->p, "app", "room");
    assert_int_equal(count_ops(&w->fl, "count"), 0);
    run_for(w, 60);
    assert_int_equal(count_ops(&w->fl, "count"), 1);
    rec_call *c = last(&w->fl, "count");
    assert_string_equal(c->channel, "room");
    assert_int_equal(c->count, 2);
    assert_int_equal(c->flags, 1); /* the app counts subscriptions */
    gw_subs_leave_all(w->subs, &s1);
    gw_subs_leave_all(w->subs, &s2);
    gw_presence_count_changed(w->p, "app", "room");
    run_for(w, 60);
    assert_int_equal(last(&w->fl, "count")->count, 0);
}

static void test_beat_and_resync(void **state)
{
    world *w = *state;
    int conn;
    gw_presence_join(w->p, &conn, hc_apps_by_id(w->apps, "app"), "presence-r", "1.9", "u9", "");
    int joins = count_ops(&w->fl, "join");
    run_for(w, 300);
    rec_call *b = last(&w->fl, "beat");
    assert_non_null(b);
    assert_int_equal(b->liveness, 3000);
    b->cb(b->ud, NULL, "fresh", 5); /* the cluster had forgotten us */
    assert_int_equal(count_ops(&w->fl, "join"), joins + 1);
    assert_string_equal(last(&w->fl, "join")->user_id, "u9");
    /* answered: the next beat waits a third of the liveness period */
    int beats = count_ops(&w->fl, "beat");
    run_for(w, 600);
    assert_int_equal(count_ops(&w->fl, "beat"), beats);
    gw_presence_stop(w->p);
    assert_int_equal(last(&w->fl, "beat")->liveness, 1);
    /* answers of the calls still pending arrive while the link closes */
    for (int i = 0; i < w->fl.n; i++)
        if (strcmp(w->fl.calls[i].op, "join") == 0 && w->fl.calls[i].ud)
            w->fl.calls[i].cb(w->fl.calls[i].ud, "closing", NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_join_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counts_coalesced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_beat_and_resync, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
