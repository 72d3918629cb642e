/*
 * Unit tests for gw_rebalance, the shedding decision, without sockets:
 * nothing alone or within the threshold, nothing from its own echoed
 * report, a stale or leaving peer forgotten; after a scale-up it sheds towards the
 * mean at the configured rate (first close after 1/rate s), stops at the
 * mean even while the peers' reports lag (moved connections count as
 * elsewhere), forgets them once every peer reported after the settle
 * time, and a simulated fleet behind a round-robin balancer (half the shed
 * clients come back) converges to within the threshold without
 * overshooting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "gw_rebalance.h"

static const gw_rebalance_opts OPTS = {
    .threshold = 1.2, .rate = 10, .stale_ms = 5000, .settle_ms = 1500};

#define T0 1000000u

static void test_alone_within_threshold_self_stale(void **state)
{
    (void)state;
    gw_rebalance *r = gw_rebalance_new("a", &OPTS);
    assert_int_equal(gw_rebalance_due(r, 100, T0), 0); /* alone */
    gw_rebalance_peer(r, "a", 0, T0);                  /* its own report: ignored */
    assert_int_equal(gw_rebalance_due(r, 100, T0 + 1000), 0);
    assert_int_equal(gw_rebalance_fleet(r, NULL), 1);
    gw_rebalance_peer(r, "b", 90, T0 + 1000);
    for (uint64_t t = T0 + 1000; t < T0 + 4000; t += 100)
        assert_int_equal(gw_rebalance_due(r, 110, t), 0); /* 110 <= 1.2 x 100 */
    double mean = 0;
    assert_int_equal(gw_rebalance_fleet(r, &mean), 2);
    assert_true(mean > 99.9 && mean < 100.1);
    /* b goes silent: forgotten after stale_ms, even with a big imbalance */
    assert_int_equal(gw_rebalance_due(r, 1000, T0 + 1000 + 5001), 0);
    assert_int_equal(gw_rebalance_fleet(r, NULL), 1);
    /* a peer that reports it is leaving (-1) is forgotten at once */
    uint64_t t = T0 + 10000;
    gw_rebalance_peer(r, "c", 0, t);
    assert_int_equal(gw_rebalance_due(r, 1000, t), 0); /* starts gently */
    assert_true(gw_rebalance_due(r, 1000, t + 200) > 0);
    gw_rebalance_peer(r, "c", -1, t + 300);
    assert_int_equal(gw_rebalance_due(r, 1000, t + 400), 0);
    assert_int_equal(gw_rebalance_fleet(r, NULL), 1);
    gw_rebalance_peer(r, "d", -1, t + 400); /* unknown and leaving: nothing */
    assert_int_equal(gw_rebalance_fleet(r, NULL), 1);
    gw_rebalance_free(r);
}

/* Runs the gateway's loop from t for ms: every 100 ms, close what is due.
 * Returns the number closed; *own drops by it. */
static long run(gw_rebalance *r, long *own, uint64_t *t, uint64_t ms)
{
    long closed = 0;
    for (uint64_t end = *t + ms; *t < end; *t += 100) {
        long n = gw_rebalance_due(r, *own, *t);
        assert_true(n >= 0);
        *own -= n;
        closed += n;
        gw_rebalance_shed(r, n, *t);
    }
    return closed;
}

static void test_scale_up_sheds_at_rate_to_the_mean(void **state)
{
    (void)state;
    gw_rebalance *r = gw_rebalance_new("a", &OPTS);
    gw_rebalance_peer(r, "b", 0, T0); /* a new, empty gateway */
    long own = 20;
    uint64_t t = T0;
    assert_int_equal(gw_rebalance_due(r, own, t), 0); /* starts gently */
    t += 100;
    long closed = run(r, &own, &t, 500);
    assert_true(closed >= 4 && closed <= 5); /* 10 per second */
    /* b's report lags (still 0): the moved ones count as elsewhere, so a
     * stops at the mean of 10 instead of chasing a mean that falls */
    gw_rebalance_peer(r, "b", 0, t);
    closed += run(r, &own, &t, 2000);
    assert_int_equal(closed, 10);
    assert_int_equal(own, 10);
    /* b reports the 10 it got, after the settle time: balanced, nothing */
    gw_rebalance_peer(r, "b", 10, t + 1600);
    t += 1600;
    assert_int_equal(run(r, &own, &t, 3000), 0);
    gw_rebalance_free(r);
}

static void test_hysteresis_sheds_to_the_mean(void **state)
{
    (void)state;
    gw_rebalance *r = gw_rebalance_new("a", &OPTS);
    gw_rebalance_peer(r, "b", 7, T0);
    long own = 13; /* 13 > 1.2 x 10 */
    uint64_t t = T0;
    assert_int_equal(run(r, &own, &t, 1000), 3);
    assert_int_equal(own, 10);
    gw_rebalance_free(r);
}

/* a with 40 connections, b and c new; every closed client reconnects
 * through a round-robin balancer (a, b, c, a, ...); peers report each
 * second. The fleet must end within the threshold, a never below the
 * mean by more than one, and nobody else shedding (b and c stay under). */
static void test_round_robin_fleet_converges(void **state)
{
    (void)state;
    gw_rebalance *r = gw_rebalance_new("a", &OPTS);
    long a = 40, b = 0, c = 0;
    int rr = 0;
    uint64_t t = T0;
    for (int step = 0; step < 600; step++, t += 100) { /* 60 s */
        if (step % 10 == 0) {
            gw_rebalance_peer(r, "b", b, t);
            gw_rebalance_peer(r, "c", c, t);
        }
        long n = gw_rebalance_due(r, a, t);
        gw_rebalance_shed(r, n, t);
        a -= n;
        for (long i = 0; i < n; i++) {
            long *to = rr == 0 ? &a : rr == 1 ? &b : &c;
            rr = (rr + 1) % 3;
            (*to)++;
        }
        double mean = (a + b + c) / 3.0;
        assert_true(a >= (long)mean - 1);
    }
    assert_int_equal(a + b + c, 40);
    double mean = 40 / 3.0;
    assert_true(a <= 1.2 * mean);
    assert_true(b <= 1.2 * mean && c <= 1.2 * mean);
    gw_rebalance_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alone_within_threshold_self_stale),
        cmocka_unit_test(test_scale_up_sheds_at_rate_to_the_mean),
        cmocka_unit_test(test_hysteresis_sheds_to_the_mean),
        cmocka_unit_test(test_round_robin_fleet_converges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
