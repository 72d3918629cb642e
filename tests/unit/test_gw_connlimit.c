/*
 * Unit tests for gw_connlimit: the per-address token bucket (burst, refill,
 * addresses independent, no limit), pruning of idle addresses and the
 * table bound, HTTP concurrency, and the accept back-off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "gw_connlimit.h"

static void test_burst_then_refill(void **state)
{
    (void)state;
    gw_connlimit l;
    gw_connlimit_config c = {.rate_per_ip = 2, .burst_per_ip = 5};
    gw_connlimit_init(&l, &c);
    uint64_t t = 100000;
    for (int i = 0; i < 5; i++)
        assert_true(gw_connlimit_accept(&l, "10.0.0.1", t));
    assert_false(gw_connlimit_accept(&l, "10.0.0.1", t));
    assert_false(gw_connlimit_accept(&l, "10.0.0.1", t + 499)); /* 0.998 tokens */
    assert_true(gw_connlimit_accept(&l, "10.0.0.1", t + 500));  /* 2/s: one per 500 ms */
    assert_false(gw_connlimit_accept(&l, "10.0.0.1", t + 600));
    assert_int_equal(l.refused, 3);
    /* a long pause refills to the burst, not beyond */
    t += 3600 * 1000;
    for (int i = 0; i < 5; i++)
        assert_true(gw_connlimit_accept(&l, "10.0.0.1", t));
    assert_false(gw_connlimit_accept(&l, "10.0.0.1", t));
    gw_connlimit_free(&l);
}

static void test_addresses_independent(void **state)
{
    (void)state;
    gw_connlimit l;
    gw_connlimit_config c = {.rate_per_ip = 1}; /* burst defaults to the rate */
    gw_connlimit_init(&l, &c);
    assert_true(gw_connlimit_accept(&l, "10.0.0.1", 1000));
    assert_false(gw_connlimit_accept(&l, "10.0.0.1", 1000));
    assert_true(gw_connlimit_accept(&l, "10.0.0.2", 1000));
    assert_true(gw_connlimit_accept(&l, "::1", 1000));
    assert_int_equal(gw_connlimit_addrs(&l), 3);
    gw_connlimit_free(&l);
}

static void test_no_limit(void **state)
{
    (void)state;
    gw_connlimit l;
    gw_connlimit_config c = {0};
    gw_connlimit_init(&l, &c);
    for (int i = 0; i < 10000; i++)
        assert_true(gw_connlimit_accept(&l, "10.0.0.1", 5));
    assert_int_equal(gw_connlimit_addrs(&l), 0); /* nothing tracked */
    for (int i = 0; i < 10000; i++)
        assert_true(gw_connlimit_http_begin(&l));
    gw_connlimit_free(&l);
}

static void test_prune_and_bound(void **state)
{
    (void)state;
    gw_connlimit l;
    gw_connlimit_config c = {.rate_per_ip = 10, .burst_per_ip = 10};
    gw_connlimit_init(&l, &c);
    char addr[32];
    for (unsigned i = 0; i < GW_CONNLIMIT_MAX_ADDRS; i++) {
        snprintf(addr, sizeof(addr), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        assert_true(gw_connlimit_accept(&l, addr, 5000));
    }
    assert_int_equal(gw_connlimit_addrs(&l), GW_CONNLIMIT_MAX_ADDRS);
    /* the table is full and nobody has refilled: a new address is let in
     * untracked, a known one is still limited */
    assert_true(gw_connlimit_accept(&l, "192.168.0.1", 5000));
    assert_int_equal(gw_connlimit_addrs(&l), GW_CONNLIMIT_MAX_ADDRS);
    for (int i = 0; i < 9; i++)
        assert_true(gw_connlimit_accept(&l, "10.0.0.0", 5000));
    assert_false(gw_connlimit_accept(&l, "10.0.0.0", 5000));
    /* 100 ms later every bucket but 10.0.0.0's is full again: pruned */
    gw_connlimit_prune(&l, 5100);
    assert_int_equal(gw_connlimit_addrs(&l), 1);
    /* and a second later that one too, on the next accept */
    assert_true(gw_connlimit_accept(&l, "172.16.0.1", 7000));
    assert_int_equal(gw_connlimit_addrs(&l), 1);
    gw_connlimit_free(&l);
}

static void test_http_concurrency(void **state)
{
    (void)state;
    gw_connlimit l;
    gw_connlimit_config c = {.max_http = 2};
    gw_connlimit_init(&l, &c);
    assert_true(gw_connlimit_http_begin(&l));
    assert_true(gw_connlimit_http_begin(&l));
    assert_false(gw_connlimit_http_begin(&l));
    assert_int_equal(l.http_inflight, 2); /* the refusal is not counted */
    gw_connlimit_http_end(&l);
    assert_true(gw_connlimit_http_begin(&l));
    gw_connlimit_http_end(&l);
    gw_connlimit_http_end(&l);
    gw_connlimit_http_end(&l); /* an extra end never goes below zero */
    assert_int_equal(l.http_inflight, 0);
    gw_connlimit_free(&l);
}

static void test_accept_backoff(void **state)
{
    (void)state;
    gw_connlimit l;
    gw_connlimit_config c = {0};
    gw_connlimit_init(&l, &c);
    unsigned prev = 0;
    for (int i = 0; i < 10; i++) {
        unsigned p = gw_connlimit_accept_failed(&l);
        assert_true(p >= GW_ACCEPT_PAUSE_MIN_MS && p <= GW_ACCEPT_PAUSE_MAX_MS);
        assert_true(p >= prev); /* never shorter while accept keeps failing */
        prev = p;
    }
    assert_int_equal(prev, GW_ACCEPT_PAUSE_MAX_MS);
    gw_connlimit_accept_ok(&l);
    assert_int_equal(gw_connlimit_accept_failed(&l), GW_ACCEPT_PAUSE_MIN_MS);
    gw_connlimit_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refill), cmocka_unit_test(test_addresses_independent),
        cmocka_unit_test(test_no_limit),          cmocka_unit_test(test_prune_and_bound),
        cmocka_unit_test(test_http_concurrency),  cmocka_unit_test(test_accept_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
