/* Unit tests for hc_clock: monotonic time never goes back and advances;
 * wall time is plausible and agrees with time(); the microsecond wall
 * clock is the millisecond one in other units. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "hc_clock.h"

static void test_monotonic(void **state)
{
    (void)state;
    uint64_t a = hc_mono_ms();
    struct timespec d = {0, 20 * 1000 * 1000};
    nanosleep(&d, NULL);
    uint64_t b = hc_mono_ms();
    assert_true(b >= a + 19); /* advanced by at least the time slept */
}

static void test_wall(void **state)
{
    (void)state;
    int64_t ms = hc_wall_ms();
    int64_t s = (int64_t)time(NULL);
    assert_true(ms / 1000 >= s - 1 && ms / 1000 <= s + 1);
    /* Epoch and units: milliseconds since 1970, so a date after 2020 (a
     * clock in seconds or from another epoch would fail this). */
    const int64_t jan_2020_in_ms = INT64_C(1577836800000);
    assert_true(ms > jan_2020_in_ms);
}

static void test_wall_us(void **state)
{
    (void)state;
    int64_t before = hc_wall_ms();
    int64_t us = hc_wall_us();
    int64_t after = hc_wall_ms();
    /* read between two millisecond readings: the same clock, in us */
    assert_true(us / 1000 >= before && us / 1000 <= after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monotonic),
        cmocka_unit_test(test_wall),
        cmocka_unit_test(test_wall_us),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
