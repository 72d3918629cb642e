/*
 * hc_rate: a fixed one-second window rate limit, as Pusher and Soketi
 * count client events, backend events and read requests.
 *
 * Owns nothing but the window (its start and the points used in it); the
 * caller passes the time, so it is pure and testable without a clock. It
 * does not know what is being counted or what to answer when a limit is
 * reached. Used by the gateway for per-connection client events
 * (gw_client.c) and per-app HTTP limits (gw_limits.c).
 */
#ifndef HC_RATE_H
#define HC_RATE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct hc_rate {
    uint64_t start; /* start of the current window in ms, plus 1; 0: none yet */
    long used;      /* points taken in it */
} hc_rate;

#define HC_RATE_INIT                                                                               \
    {                                                                                              \
        0, 0                                                                                       \
    }

/* Takes `points` from the window holding now_ms, allowing at most `limit`
 * points per second (limit < 0: unlimited). Returns false, taking nothing,
 * when that would exceed the limit. */
bool hc_rate_take(hc_rate *r, long limit, long points, uint64_t now_ms);

#endif
