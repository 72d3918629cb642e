/*
 * Unit tests for hc_metrics: counters, gauges and histograms with labels,
 * rendered in the Prometheus text exposition format; escaping; NULL
 * families are no-ops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hc_metrics.h"

static char *render(hc_metrics *m, hc_sbuf *b)
{
    hc_sbuf_reset(b);
    hc_metrics_render(m, b);
    return b->data ? b->data : "";
}

static void test_counter_and_gauge(void **state)
{
    (void)state;
    hc_metrics *m = hc_metrics_new();
    hc_metric *c = hc_metrics_counter(m, "x_total", "Things done.", "app_id,port");
    hc_metric *g = hc_metrics_gauge(m, "x_connected", "Now.", NULL);
    const char *a[] = {"app-1", "6001"};
    const char *b[] = {"app-2", "6001"};
    hc_metric_add(c, a, 2);
    hc_metric_add(c, b, 1);
    hc_metric_add(c, a, 1);
    hc_metric_add(c, a, -5); /* ignored: counters only grow */
    hc_metric_add(g, NULL, 3);
    hc_metric_add(g, NULL, -1);
    assert_true(hc_metric_value(c, a) == 3);
    assert_true(hc_metric_value(g, NULL) == 2);
    hc_sbuf out = HC_SBUF_INIT;
    const char *want = "# HELP x_total Things done.\n"
                       "# TYPE x_total counter\n"
                       "x_total{app_id=\"app-1\",port=\"6001\"} 3\n"
                       "x_total{app_id=\"app-2\",port=\"6001\"} 1\n"
                       "# HELP x_connected Now.\n"
                       "# TYPE x_connected gauge\n"
                       "x_connected 2\n";
    assert_string_equal(render(m, &out), want);
    hc_metric_set(g, NULL, 0.5);
    assert_non_null(strstr(render(m, &out), "x_connected 0.5\n"));
    hc_sbuf_free(&out);
    hc_metrics_free(m);
}

static void test_unlabelled_zero_and_escaping(void **state)
{
    (void)state;
    hc_metrics *m = hc_metrics_new();
    hc_metrics_counter(m, "z_total", "a \\ b\nc", NULL);
    hc_metric *l = hc_metrics_gauge(m, "l", "h", "name");
    const char *v[] = {"q\"u\\o\nte"};
    hc_metric_set(l, v, 1);
    hc_sbuf out = HC_SBUF_INIT;
    const char *text = render(m, &out);
    assert_non_null(strstr(text, "# HELP z_total a \\\\ b\\nc\n"));
    assert_non_null(strstr(text, "\nz_total 0\n"));
    assert_non_null(strstr(text, "l{name=\"q\\\"u\\\\o\\nte\"} 1\n"));
    hc_sbuf_free(&out);
    hc_metrics_free(m);
}

static void test_histogram(void **state)
{
    (void)state;
    hc_metrics *m = hc_metrics_new();
    const double bounds[] = {0.01, 0.1, 1};
    hc_metric *h = hc_metrics_histogram(m, "lat_seconds", "Latency.", "app_id", bounds, 3);
    const char *a[] = {"a"};
    hc_metric_observe(h, a, 0.005);
    hc_metric_observe(h, a, 0.05);
    hc_metric_observe(h, a, 0.1); /* le is inclusive */
    hc_metric_observe(h, a, 5);
    hc_sbuf out = HC_SBUF_INIT;
    const char *want = "# HELP lat_seconds Latency.\n"
                       "# TYPE lat_seconds histogram\n"
                       "lat_seconds_bucket{app_id=\"a\",le=\"0.01\"} 1\n"
                       "lat_seconds_bucket{app_id=\"a\",le=\"0.1\"} 3\n"
                       "lat_seconds_bucket{app_id=\"a\",le=\"1\"} 3\n"
                       "lat_seconds_bucket{app_id=\"a\",le=\"+Inf\"} 4\n"
                       "lat_seconds_sum{app_id=\"a\"} 5.155\n"
                       "lat_seconds_count{app_id=\"a\"} 4\n";
    assert_string_equal(render(m, &out), want);
    hc_sbuf_free(&out);
    hc_metrics_free(m);
}

static void test_null_family_is_noop(void **state)
{
    (void)state;
    hc_metric_add(NULL, NULL, 1);
    hc_metric_set(NULL, NULL, 1);
    hc_metric_observe(NULL, NULL, 1);
    hc_metric_inc1(NULL, "x");
    assert_true(hc_metric_value(NULL, NULL) == 0);
    assert_null(hc_metrics_counter(NULL, "a", "b", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_and_gauge),
        cmocka_unit_test(test_unlabelled_zero_and_escaping),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_null_family_is_noop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
