/*
 * hc_clock: monotonic and wall-clock time in milliseconds (wall clock also
 * in microseconds, for latencies measured across hosts). Owns no state.
 * Callers that need a testable clock take a timestamp as a parameter
 * (hc_api_auth does) and read it here only at the edge.
 */
#include "hc_clock.h"

#include <time.h>

static int64_t hc_clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t hc_mono_ms(void)
{
    return (uint64_t)hc_clock_ms(CLOCK_MONOTONIC);
}

int64_t hc_wall_ms(void)
{
    return hc_clock_ms(CLOCK_REALTIME);
}

int64_t hc_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
