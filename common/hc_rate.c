/*
 * hc_rate: fixed one-second windows (see hc_rate.h). A window starts at the
 * first take after the previous one ended, so an idle limiter costs nothing.
 */
#include "hc_rate.h"

bool hc_rate_take(hc_rate *r, long limit, long points, uint64_t now_ms)
{
    if (limit < 0)
        return true;
    if (!r->start || now_ms - (r->start - 1) >= 1000) {
        r->start = now_ms + 1; /* 0 stays "no window yet" */
        r->used = 0;
    }
    if (points > limit - r->used)
        return false;
    r->used += points;
    return true;
}
