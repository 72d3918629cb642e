/*
 * hl_hist: log-linear latency histogram (see hl_hist.h). Owns only the
 * bucket arithmetic; formatting the percentiles is hl_main.c's job.
 */
#include "hl_hist.h"

#include <math.h>
#include <string.h>

void hl_hist_reset(hl_hist *h)
{
    memset(h, 0, sizeof *h);
}

int hl_hist_index(uint64_t v)
{
    if (v < 128)
        return (int)v;
    int msb = 63 - __builtin_clzll(v); /* >= 7 */
    int shift = msb - 6;               /* v >> shift is in [64, 128) */
    int idx = 128 + (shift - 1) * 64 + (int)((v >> shift) - 64);
    return idx < HL_HIST_BUCKETS ? idx : HL_HIST_BUCKETS - 1;
}

uint64_t hl_hist_bucket_high(int idx)
{
    if (idx < 128)
        return (uint64_t)idx;
    int shift = (idx - 128) / 64 + 1;
    uint64_t sub = (uint64_t)((idx - 128) % 64 + 64);
    return ((sub + 1) << shift) - 1;
}

void hl_hist_record(hl_hist *h, uint64_t v)
{
    h->b[hl_hist_index(v)]++;
    h->count++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

void hl_hist_merge(hl_hist *dst, const hl_hist *src)
{
    for (int i = 0; i < HL_HIST_BUCKETS; i++)
        dst->b[i] += src->b[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t hl_hist_quantile(const hl_hist *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    uint64_t want = (uint64_t)ceil(q * (double)h->count);
    if (want == 0)
        want = 1;
    uint64_t seen = 0;
    for (int i = 0; i < HL_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= want) {
            uint64_t hi = hl_hist_bucket_high(i);
            return hi < h->max ? hi : h->max;
        }
    }
    return h->max;
}
