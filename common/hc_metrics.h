/*
 * hc_metrics: a registry of Prometheus metrics, rendered to the text
 * exposition format (version 0.0.4).
 *
 * Owns metric families (counter, gauge, histogram; a name, help text and
 * a fixed list of label names) and their series (one per distinct tuple of
 * label values, created on first use, kept in creation order). Rendering
 * appends "# HELP", "# TYPE" and every sample to an hc_sbuf; serving it
 * over HTTP is the caller's job (common/io/hc_uvhttp). Pure: no I/O, no
 * clock, single threaded. Each binary creates one registry at start-up
 * (gw_metrics.c, br_metrics.c) and its modules update it through handles.
 * Every function accepts a NULL family and does nothing, so code under
 * unit test runs without a registry.
 */
#ifndef HC_METRICS_H
#define HC_METRICS_H

#include <stddef.h>

#include "hc_buf.h"

typedef struct hc_metrics hc_metrics;
typedef struct hc_metric hc_metric;

hc_metrics *hc_metrics_new(void);
void hc_metrics_free(hc_metrics *m);

/* Registers a family. labels is a comma-separated list of label names
 * ("app_id,port") or NULL for none. The registry owns the family; the
 * returned handle lives as long as the registry. Names are not checked
 * for duplicates (callers register each once). */
hc_metric *hc_metrics_counter(hc_metrics *m, const char *name, const char *help,
                              const char *labels);
hc_metric *hc_metrics_gauge(hc_metrics *m, const char *name, const char *help, const char *labels);
/* bounds: ascending upper bounds of the buckets (copied); +Inf is added. */
hc_metric *hc_metrics_histogram(hc_metrics *m, const char *name, const char *help,
                                const char *labels, const double *bounds, size_t nbounds);

/* values: one string per label name, in order (NULL when the family has no
 * labels; a NULL value is rendered as ""). Counters only grow: a negative
 * add on a counter is ignored. */
void hc_metric_add(hc_metric *f, const char *const *values, double v);
void hc_metric_set(hc_metric *f, const char *const *values, double v);
void hc_metric_observe(hc_metric *f, const char *const *values, double v);
/* Sets every series of a gauge to 0 (before re-counting at scrape time). */
void hc_metric_reset(hc_metric *f);
/* The current value of a counter or gauge series (0 if it does not exist). */
double hc_metric_value(hc_metric *f, const char *const *values);

/* Shorthands for families with one label (or none: value NULL). */
static inline void hc_metric_inc1(hc_metric *f, const char *value)
{
    const char *v[1] = {value};
    hc_metric_add(f, value ? v : NULL, 1);
}
static inline void hc_metric_add1(hc_metric *f, const char *value, double n)
{
    const char *v[1] = {value};
    hc_metric_add(f, value ? v : NULL, n);
}

/* Appends the whole registry in the text exposition format. */
void hc_metrics_render(hc_metrics *m, hc_sbuf *out);

#endif
