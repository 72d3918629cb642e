/* Unit tests for hc_clock: monotonic time never goes back and advances;
 * wall time is plausible and agrees with time(). */
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
    assert_true(b >= a + 19);
    assert_true(b < a + 5000);
}

static void test_wall(void **state)
{
    (void)state;
    int64_t ms = hc_wall_ms();
    int64_t s = (int64_t)time(NULL);
    assert_true(ms / 1000 >= s - 1 && ms / 1000 <= s + 1);
    assert_true(ms > 1600000000000LL); /* after 2020 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monotonic),
        cmocka_unit_test(test_wall),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
