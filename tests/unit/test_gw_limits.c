/*
 * Unit tests for gw_limits: connection counts against max_connections with
 * other gateways' reports (fresh and stale), what gets reported when, and
 * the backend / read windows per app.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gw_limits.h"

static hc_app app(const char *id, long max_conns)
{
    hc_app a;
    hc_app_defaults(&a);
    a.id = (char *)id;
    a.key = (char *)id;
    a.secret = (char *)"s";
    a.max_connections = max_conns;
    return a;
}

static void test_local(void **state)
{
    (void)state;
    gw_limits *l = gw_limits_new();
    hc_app a = app("a", 2), u = app("u", -1);
    assert_true(gw_limits_conn_open(l, &a, 0));
    assert_true(gw_limits_conn_open(l, &a, 0));
    assert_false(gw_limits_conn_open(l, &a, 0));
    gw_limits_conn_close(l, &a);
    assert_true(gw_limits_conn_open(l, &a, 0));
    for (int i = 0; i < 100; i++)
        assert_true(gw_limits_conn_open(l, &u, 0));
    gw_limits_free(l);
}

static void test_remote(void **state)
{
    (void)state;
    gw_limits *l = gw_limits_new();
    hc_app a = app("a", 3), b = app("b", 3);
    gw_limits_remote(l, &a, "7", 2, 1000);
    assert_true(gw_limits_conn_open(l, &a, 1000));
    assert_false(gw_limits_conn_open(l, &a, 1000)); /* 1 here + 2 there */
    assert_true(gw_limits_conn_open(l, &b, 1000));  /* other apps are apart */
    gw_limits_remote(l, &a, "7", 1, 2000);          /* a newer report replaces */
    assert_true(gw_limits_conn_open(l, &a, 2000));
    assert_false(gw_limits_conn_open(l, &a, 2000));
    /* the reporting gateway died: its count stops counting */
    assert_true(gw_limits_conn_open(l, &a, 2000 + GW_LIMITS_STALE_MS));
    gw_limits_free(l);
}

/* Counts from other gateways arrive through a broker and may be absurd:
 * the sum saturates instead of overflowing (UBSan would abort). */
static void test_remote_absurd(void **state)
{
    (void)state;
    gw_limits *l = gw_limits_new();
    hc_app a = app("a", 1000);
    assert_true(gw_limits_conn_open(l, &a, 1000));
    gw_limits_remote(l, &a, "7", LONG_MAX, 1000);
    gw_limits_remote(l, &a, "8", LONG_MAX, 1000);
    gw_limits_remote(l, &a, "9", LONG_MIN, 1000);
    assert_false(gw_limits_conn_open(l, &a, 1000));
    /* once those reports are stale, connections are admitted again */
    assert_true(gw_limits_conn_open(l, &a, 1000 + GW_LIMITS_STALE_MS));
    gw_limits_free(l);
}

typedef struct reports {
    int n;
    long last;
    bool accept;
} reports;

static bool on_report(void *ud, const hc_app *a, long conns)
{
    reports *r = ud;
    (void)a;
    r->n++;
    r->last = conns;
    return r->accept;
}

static void test_report(void **state)
{
    (void)state;
    gw_limits *l = gw_limits_new();
    hc_app a = app("a", 10), u = app("u", -1);
    reports r = {0, 0, true};
    gw_limits_conn_open(l, &u, 0); /* unlimited: never reported */
    gw_limits_conn_open(l, &a, 0);
    gw_limits_conn_open(l, &a, 0);
    gw_limits_report(l, 100, on_report, &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.last, 2);
    gw_limits_report(l, 200, on_report, &r); /* unchanged, not due */
    assert_int_equal(r.n, 1);
    gw_limits_conn_close(l, &a);
    gw_limits_report(l, 300, on_report, &r); /* changed */
    assert_int_equal(r.n, 2);
    assert_int_equal(r.last, 1);
    gw_limits_report(l, 300 + GW_LIMITS_REPORT_EVERY_MS, on_report, &r); /* heartbeat */
    assert_int_equal(r.n, 3);
    r.accept = false; /* could not send: asked again */
    gw_limits_conn_open(l, &a, 0);
    gw_limits_report(l, 6000, on_report, &r);
    gw_limits_report(l, 6001, on_report, &r);
    assert_int_equal(r.n, 5);
    /* stale remotes are forgotten when reporting */
    for (int i = 0; i < 40; i++) {
        char gw[8];
        snprintf(gw, sizeof(gw), "%d", i);
        gw_limits_remote(l, &a, gw, 1, 7000);
    }
    assert_false(gw_limits_conn_open(l, &a, 7000));
    gw_limits_report(l, 7000 + GW_LIMITS_STALE_MS, on_report, &r);
    assert_true(gw_limits_conn_open(l, &a, 7000 + GW_LIMITS_STALE_MS));
    gw_limits_free(l);
}

static void test_rates(void **state)
{
    (void)state;
    gw_limits *l = gw_limits_new();
    hc_app a = app("a", -1), b = app("b", -1);
    a.max_backend_events_per_sec = 4;
    a.max_read_req_per_sec = 1;
    assert_true(gw_limits_backend(l, &a, 3, 0));
    assert_false(gw_limits_backend(l, &a, 2, 10));
    assert_true(gw_limits_backend(l, &a, 1, 20));
    assert_true(gw_limits_backend(l, &b, 1000, 20)); /* unlimited */
    assert_true(gw_limits_read(l, &a, 0));
    assert_false(gw_limits_read(l, &a, 999));
    assert_true(gw_limits_read(l, &a, 1000));
    assert_true(gw_limits_backend(l, &a, 4, 1000));
    gw_limits_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local),         cmocka_unit_test(test_remote),
        cmocka_unit_test(test_remote_absurd), cmocka_unit_test(test_report),
        cmocka_unit_test(test_rates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
