/*
 * hc_metrics: families, series and the text exposition (see hc_metrics.h).
 *
 * Owns every family (in registration order) and, per family, a map from
 * the joined label values ("v1\0v2") to its series plus a vector keeping
 * the series in creation order for rendering. Histogram series hold
 * per-bucket (non-cumulative) counts; rendering accumulates them.
 */
#include "hc_metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_map.h"
#include "hc_mem.h"

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } kind;

typedef struct series {
    char **values; /* one per label */
    double value;  /* counter / gauge */
    double sum;    /* histogram */
    unsigned long long count;
    unsigned long long *buckets; /* nbounds + 1 (the last is +Inf) */
} series;

struct hc_metric {
    kind kind;
    char *name, *help;
    char **labels;
    size_t nlabels;
    double *bounds;
    size_t nbounds;
    hc_map index; /* joined values -> series* */
    series **all;
    size_t n, cap;
    hc_sbuf key;
};

struct hc_metrics {
    hc_metric **fams;
    size_t n, cap;
};

hc_metrics *hc_metrics_new(void)
{
    return hc_calloc(1, sizeof(hc_metrics));
}

static void family_free(hc_metric *f)
{
    for (size_t i = 0; i < f->n; i++) {
        for (size_t j = 0; j < f->nlabels; j++)
            free(f->all[i]->values[j]);
        free(f->all[i]->values);
        free(f->all[i]->buckets);
        free(f->all[i]);
    }
    for (size_t j = 0; j < f->nlabels; j++)
        free(f->labels[j]);
    free(f->labels);
    free(f->all);
    free(f->bounds);
    free(f->name);
    free(f->help);
    hc_map_free(&f->index);
    hc_sbuf_free(&f->key);
    free(f);
}

void hc_metrics_free(hc_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        family_free(m->fams[i]);
    free(m->fams);
    free(m);
}

/* Splits "a,b" into f->labels. */
static void parse_labels(hc_metric *f, const char *labels)
{
    if (!labels || !labels[0])
        return;
    for (const char *p = labels;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        f->labels = hc_realloc(f->labels, (f->nlabels + 1) * sizeof(*f->labels));
        f->labels[f->nlabels++] = hc_strndup(p, len);
        if (!comma)
            break;
        p = comma + 1;
    }
}

static hc_metric *family_add(hc_metrics *m, kind k, const char *name, const char *help,
                             const char *labels)
{
    if (!m)
        return NULL;
    hc_metric *f = hc_calloc(1, sizeof(*f));
    f->kind = k;
    f->name = hc_strdup(name);
    f->help = hc_strdup(help ? help : "");
    parse_labels(f, labels);
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->fams = hc_realloc(m->fams, m->cap * sizeof(*m->fams));
    }
    m->fams[m->n++] = f;
    return f;
}

hc_metric *hc_metrics_counter(hc_metrics *m, const char *name, const char *help, const char *labels)
{
    return family_add(m, KIND_COUNTER, name, help, labels);
}

hc_metric *hc_metrics_gauge(hc_metrics *m, const char *name, const char *help, const char *labels)
{
    return family_add(m, KIND_GAUGE, name, help, labels);
}

hc_metric *hc_metrics_histogram(hc_metrics *m, const char *name, const char *help,
                                const char *labels, const double *bounds, size_t nbounds)
{
    hc_metric *f = family_add(m, KIND_HISTOGRAM, name, help, labels);
    if (f && nbounds) {
        f->bounds = hc_malloc(nbounds * sizeof(*bounds));
        memcpy(f->bounds, bounds, nbounds * sizeof(*bounds));
        f->nbounds = nbounds;
    }
    return f;
}

/* The series for values; created when create is set, else NULL if new. */
static series *series_get(hc_metric *f, const char *const *values, int create)
{
    hc_sbuf_reset(&f->key);
    for (size_t i = 0; i < f->nlabels; i++) {
        const char *v = values && values[i] ? values[i] : "";
        hc_sbuf_append(&f->key, v, strlen(v) + 1);
    }
    const char *key = f->key.data ? f->key.data : "";
    series *s = hc_map_get(&f->index, key, f->key.len);
    if (s || !create)
        return s;
    s = hc_calloc(1, sizeof(*s));
    if (f->nlabels) {
        s->values = hc_calloc(f->nlabels, sizeof(*s->values));
        for (size_t i = 0; i < f->nlabels; i++)
            s->values[i] = hc_strdup(values && values[i] ? values[i] : "");
    }
    if (f->kind == KIND_HISTOGRAM)
        s->buckets = hc_calloc(f->nbounds + 1, sizeof(*s->buckets));
    hc_map_put(&f->index, key, f->key.len, s);
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->all = hc_realloc(f->all, f->cap * sizeof(*f->all));
    }
    f->all[f->n++] = s;
    return s;
}

void hc_metric_add(hc_metric *f, const char *const *values, double v)
{
    if (!f || f->kind == KIND_HISTOGRAM || (f->kind == KIND_COUNTER && v < 0))
        return;
    series_get(f, values, 1)->value += v;
}

void hc_metric_set(hc_metric *f, const char *const *values, double v)
{
    if (!f || f->kind != KIND_GAUGE)
        return;
    series_get(f, values, 1)->value = v;
}

void hc_metric_observe(hc_metric *f, const char *const *values, double v)
{
    if (!f || f->kind != KIND_HISTOGRAM)
        return;
    series *s = series_get(f, values, 1);
    size_t i = 0;
    while (i < f->nbounds && v > f->bounds[i])
        i++;
    s->buckets[i]++;
    s->sum += v;
    s->count++;
}

void hc_metric_reset(hc_metric *f)
{
    if (!f || f->kind != KIND_GAUGE)
        return;
    for (size_t i = 0; i < f->n; i++)
        f->all[i]->value = 0;
}

double hc_metric_value(hc_metric *f, const char *const *values)
{
    if (!f)
        return 0;
    series *s = series_get(f, values, 0);
    return s ? s->value : 0;
}

/* A sample value as Prometheus writes it. */
static void put_number(hc_sbuf *out, double v)
{
    if (isnan(v))
        hc_sbuf_puts(out, "NaN");
    else if (isinf(v))
        hc_sbuf_puts(out, v > 0 ? "+Inf" : "-Inf");
    else if (v > -1e15 && v < 1e15 && v == (double)(long long)v)
        hc_sbuf_printf(out, "%lld", (long long)v);
    else {
        char buf[40];
        snprintf(buf, sizeof(buf), "%.15g", v);
        if (strtod(buf, NULL) != v) /* shortest form that reads back exactly */
            snprintf(buf, sizeof(buf), "%.17g", v);
        hc_sbuf_puts(out, buf);
    }
}

/* Appends s escaped for a label value (\\, \", \n) or help text (\\, \n). */
static void put_escaped(hc_sbuf *out, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            hc_sbuf_puts(out, "\\\\");
        else if (*s == '\n')
            hc_sbuf_puts(out, "\\n");
        else if (quote && *s == '"')
            hc_sbuf_puts(out, "\\\"");
        else
            hc_sbuf_append(out, s, 1);
    }
}

/* Appends {l1="v1",...[,le="x"]} (nothing when empty). */
static void put_labels(hc_sbuf *out, const hc_metric *f, const series *s, const char *le)
{
    if (!f->nlabels && !le)
        return;
    hc_sbuf_puts(out, "{");
    for (size_t i = 0; i < f->nlabels; i++) {
        hc_sbuf_printf(out, "%s%s=\"", i ? "," : "", f->labels[i]);
        put_escaped(out, s->values[i], 1);
        hc_sbuf_puts(out, "\"");
    }
    if (le)
        hc_sbuf_printf(out, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    hc_sbuf_puts(out, "}");
}

static void render_histogram(hc_sbuf *out, const hc_metric *f, const series *s)
{
    unsigned long long cum = 0;
    char le[64];
    for (size_t b = 0; b <= f->nbounds; b++) {
        cum += s->buckets[b];
        if (b < f->nbounds)
            snprintf(le, sizeof(le), "%g", f->bounds[b]);
        else
            snprintf(le, sizeof(le), "+Inf");
        hc_sbuf_printf(out, "%s_bucket", f->name);
        put_labels(out, f, s, le);
        hc_sbuf_printf(out, " %llu\n", cum);
    }
    hc_sbuf_printf(out, "%s_sum", f->name);
    put_labels(out, f, s, NULL);
    hc_sbuf_puts(out, " ");
    put_number(out, s->sum);
    hc_sbuf_printf(out, "\n%s_count", f->name);
    put_labels(out, f, s, NULL);
    hc_sbuf_printf(out, " %llu\n", s->count);
}

void hc_metrics_render(hc_metrics *m, hc_sbuf *out)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        const hc_metric *f = m->fams[i];
        hc_sbuf_printf(out, "# HELP %s ", f->name);
        put_escaped(out, f->help, 0);
        hc_sbuf_printf(out, "\n# TYPE %s %s\n", f->name, types[f->kind]);
        if (f->n == 0 && f->nlabels == 0 && f->kind != KIND_HISTOGRAM)
            hc_sbuf_printf(out, "%s 0\n", f->name); /* unlabelled: always present */
        for (size_t j = 0; j < f->n; j++) {
            const series *s = f->all[j];
            if (f->kind == KIND_HISTOGRAM) {
                render_histogram(out, f, s);
                continue;
            }
            hc_sbuf_puts(out, f->name);
            put_labels(out, f, s, NULL);
            hc_sbuf_puts(out, " ");
            put_number(out, s->value);
            hc_sbuf_puts(out, "\n");
        }
    }
}
