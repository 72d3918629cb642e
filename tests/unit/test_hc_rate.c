/*
 * Unit tests for hc_rate: one-second windows, unlimited, multi-point takes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hc_rate.h"

static void test_window(void **state)
{
    (void)state;
    hc_rate r = HC_RATE_INIT;
    for (int i = 0; i < 10; i++)
        assert_true(hc_rate_take(&r, 10, 1, 5000 + (uint64_t)i));
    assert_false(hc_rate_take(&r, 10, 1, 5500));
    assert_false(hc_rate_take(&r, 10, 1, 5999));
    assert_true(hc_rate_take(&r, 10, 1, 6000)); /* a new window */
    assert_int_equal(r.used, 1);
}

static void test_unlimited_and_zero(void **state)
{
    (void)state;
    hc_rate r = HC_RATE_INIT;
    for (int i = 0; i < 1000; i++)
        assert_true(hc_rate_take(&r, -1, 5, 0));
    hc_rate z = HC_RATE_INIT;
    assert_false(hc_rate_take(&z, 0, 1, 0));
}

static void test_points(void **state)
{
    (void)state;
    hc_rate r = HC_RATE_INIT;
    assert_true(hc_rate_take(&r, 10, 7, 0));
    assert_false(hc_rate_take(&r, 10, 4, 1)); /* would exceed: nothing taken */
    assert_true(hc_rate_take(&r, 10, 3, 2));
    assert_false(hc_rate_take(&r, 10, 1, 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_unlimited_and_zero),
        cmocka_unit_test(test_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
