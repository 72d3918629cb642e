/*
 * Unit tests for gw_metrics' fan-out latency: one observation per call in
 * herald_fanout_latency_seconds{app_id}, in the bucket of now - published
 * time; no observation for an event without a time; clock skew (a publish
 * time in the future) counts as 0; nothing at all before gw_metrics_init.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_metrics.h"
#include "hc_buf.h"

/* The rendered registry, NUL-terminated (caller frees). */
static char *render(hc_metrics *r)
{
    hc_sbuf b = HC_SBUF_INIT;
    hc_metrics_render(r, &b);
    hc_sbuf_append(&b, "", 1);
    return b.data;
}

static void test_fanout_histogram(void **state)
{
    (void)state;
    gw_metrics_fanout_at("app", 1000, 5000); /* before init: a no-op */
    hc_metrics *r = hc_metrics_new();
    gw_metrics_init(r, 6001);
    gw_metrics_fanout_at("app", 1000000, 1003000);   /* 3 ms */
    gw_metrics_fanout_at("app", 2000000, 1000000);   /* skew: 0 */
    gw_metrics_fanout_at("app", 0, 1000000);         /* no time: not observed */
    gw_metrics_fanout_at("other", 1000000, 1200000); /* 200 ms */
    char *text = render(r);
    assert_non_null(strstr(text, "# TYPE herald_fanout_latency_seconds histogram"));
    assert_non_null(strstr(text, "herald_fanout_latency_seconds_count{app_id=\"app\"} 2"));
    assert_non_null(
        strstr(text, "herald_fanout_latency_seconds_bucket{app_id=\"app\",le=\"0.0001\"} 1"));
    assert_non_null(
        strstr(text, "herald_fanout_latency_seconds_bucket{app_id=\"app\",le=\"0.0025\"} 1"));
    assert_non_null(
        strstr(text, "herald_fanout_latency_seconds_bucket{app_id=\"app\",le=\"0.005\"} 2"));
    assert_non_null(strstr(text, "herald_fanout_latency_seconds_count{app_id=\"other\"} 1"));
    assert_non_null(
        strstr(text, "herald_fanout_latency_seconds_bucket{app_id=\"other\",le=\"0.1\"} 0"));
    assert_non_null(
        strstr(text, "herald_fanout_latency_seconds_bucket{app_id=\"other\",le=\"0.25\"} 1"));
    free(text);
    memset(&gw_m, 0, sizeof(gw_m));
    hc_metrics_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fanout_histogram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
