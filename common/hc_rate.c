/*
 * hc_rate: fixed one-second windows (see hc_rate.h). A window starts at the
 * first take after the previous one ended, so an idle limiter costs nothing.
 */
#include "hc_rate.h"

bool hc_rate_take(hc_rate *r, long limit, long points, uint64_t now_ms)
{
    if (limit < 0)
        return true;
    if (!r->started || now_ms - r->start_ms >= 1000) {
        r->started = true;
        r->start_ms = now_ms;
        r->used = 0;
    }
    if (points > limit - r->used)
        return false;
    r->used += points;
    return true;
}
