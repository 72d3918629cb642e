/*
 * hl_hist: the load generator's latency histogram, HDR-style.
 *
 * Values (microseconds) below 128 have a bucket each; above that, every
 * power of two is split into 64 log-linear sub-buckets, so any recorded
 * value is reported within 1/64 (~1.6%) of its true value, from 1 us to
 * hours, in a fixed array (no allocation). The exact maximum is kept
 * separately. Pure: no I/O, no clock. Used by herald-load (hl_main.c) for
 * the whole run and for each publish step; unit-tested in test_hl.c.
 */
#ifndef HL_HIST_H
#define HL_HIST_H

#include <stdint.h>

#define HL_HIST_BUCKETS (128 + 58 * 64)

typedef struct hl_hist {
    uint64_t count;
    uint64_t max;
    uint64_t sum;
    uint32_t b[HL_HIST_BUCKETS];
} hl_hist;

void hl_hist_reset(hl_hist *h);
void hl_hist_record(hl_hist *h, uint64_t v);
/* dst += src */
void hl_hist_merge(hl_hist *dst, const hl_hist *src);
/* The value at quantile q (0..1): the highest value of the bucket holding
 * the ceil(q*count)-th smallest sample, capped at the exact max; 0 when
 * empty. */
uint64_t hl_hist_quantile(const hl_hist *h, double q);
/* Bucket index of v and the highest value that bucket holds (exposed for tests). */
int hl_hist_index(uint64_t v);
uint64_t hl_hist_bucket_high(int idx);

#endif
