/*
 * hc_webhook: webhook configuration, filters, event JSON, batch bodies,
 * signatures and backoff (see hc_webhook.h). Pure; jansson for parsing.
 */
#include "hc_webhook.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_mem.h"
#include "hc_sig.h"

static const char *const type_names[] = {"channel_occupied",  "channel_vacated", "member_added",
                                         "member_removed",    "client_event",    "cache_miss",
                                         "subscription_count"};
#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

unsigned hc_wh_type_of(const char *name)
{
    for (size_t i = 0; name && i < NTYPES; i++)
        if (strcmp(name, type_names[i]) == 0)
            return 1u << i;
    return 0;
}

const char *hc_wh_type_name(unsigned bit)
{
    for (size_t i = 0; i < NTYPES; i++)
        if (bit == 1u << i)
            return type_names[i];
    return NULL;
}

static void target_free(hc_wh_target *t)
{
    free(t->url);
    free(t->starts_with);
    free(t->ends_with);
    for (size_t i = 0; i < t->nheaders; i++) {
        free(t->headers[i].name);
        free(t->headers[i].value);
    }
    free(t->headers);
}

void hc_wh_config_free(hc_wh_config *c)
{
    for (size_t i = 0; i < c->n; i++)
        target_free(&c->t[i]);
    free(c->t);
    c->t = NULL;
    c->n = 0;
}

/* A header name or value must not break the request (no CR/LF/NUL, and a
 * name has no colon). */
static bool header_ok(const char *s, bool name)
{
    if (name && !*s)
        return false;
    for (; *s; s++)
        if (*s == '\r' || *s == '\n' || (name && (*s == ':' || *s == ' ')))
            return false;
    return true;
}

static int parse_target(json_t *o, size_t idx, hc_wh_target *t, char *err, size_t errlen)
{
    if (!json_is_object(o)) {
        snprintf(err, errlen, "webhook #%zu must be an object", idx + 1);
        return -1;
    }
    json_t *url = json_object_get(o, "url");
    const char *u = json_is_string(url) ? json_string_value(url) : NULL;
    if (!u || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)) {
        snprintf(err, errlen, "webhook #%zu: \"url\" must be an http:// or https:// URL", idx + 1);
        return -1;
    }
    t->url = hc_strdup(u);
    json_t *types = json_object_get(o, "event_types");
    if (!types || json_is_null(types)) {
        t->mask = HC_WH_ALL;
    } else if (!json_is_array(types)) {
        snprintf(err, errlen, "webhook #%zu: \"event_types\" must be an array", idx + 1);
        return -1;
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(types, i, v)
        {
            unsigned bit = hc_wh_type_of(json_is_string(v) ? json_string_value(v) : NULL);
            if (!bit) {
                snprintf(err, errlen, "webhook #%zu: unknown event type in \"event_types\"",
                         idx + 1);
                return -1;
            }
            t->mask |= bit;
        }
    }
    json_t *f = json_object_get(o, "filter");
    if (f && !json_is_null(f)) {
        json_t *s = json_object_get(f, "channel_name_starts_with");
        json_t *e = json_object_get(f, "channel_name_ends_with");
        if (!json_is_object(f) || (s && !json_is_string(s) && !json_is_null(s)) ||
            (e && !json_is_string(e) && !json_is_null(e))) {
            snprintf(err, errlen,
                     "webhook #%zu: \"filter\" must be an object of channel_name_starts_with / "
                     "channel_name_ends_with strings",
                     idx + 1);
            return -1;
        }
        if (json_is_string(s) && json_string_length(s))
            t->starts_with = hc_strdup(json_string_value(s));
        if (json_is_string(e) && json_string_length(e))
            t->ends_with = hc_strdup(json_string_value(e));
    }
    json_t *h = json_object_get(o, "headers");
    if (h && !json_is_null(h)) {
        if (!json_is_object(h)) {
            snprintf(err, errlen, "webhook #%zu: \"headers\" must be an object", idx + 1);
            return -1;
        }
        t->headers = hc_calloc(json_object_size(h) + 1, sizeof(*t->headers));
        const char *k;
        json_t *v;
        json_object_foreach(h, k, v)
        {
            if (!json_is_string(v) || !header_ok(k, true) ||
                !header_ok(json_string_value(v), false)) {
                snprintf(err, errlen, "webhook #%zu: header \"%.64s\" is not a valid header",
                         idx + 1, k);
                return -1;
            }
            t->headers[t->nheaders].name = hc_strdup(k);
            t->headers[t->nheaders++].value = hc_strdup(json_string_value(v));
        }
    }
    return 0;
}

int hc_wh_parse(const char *json, hc_wh_config *out, char *err, size_t errlen)
{
    out->t = NULL;
    out->n = 0;
    if (!json || !*json)
        return 0;
    json_error_t je;
    json_t *root = json_loads(json, 0, &je);
    if (!json_is_array(root)) {
        snprintf(err, errlen, "webhooks must be a JSON array");
        json_decref(root);
        return -1;
    }
    out->t = hc_calloc(json_array_size(root) + 1, sizeof(*out->t));
    size_t i;
    json_t *v;
    json_array_foreach(root, i, v)
    {
        out->n = i + 1;
        if (parse_target(v, i, &out->t[i], err, errlen) != 0) {
            hc_wh_config_free(out);
            json_decref(root);
            return -1;
        }
    }
    json_decref(root);
    return 0;
}

unsigned hc_wh_config_mask(const hc_wh_config *c)
{
    unsigned m = 0;
    for (size_t i = 0; i < c->n; i++)
        m |= c->t[i].mask;
    return m;
}

bool hc_wh_matches(const hc_wh_target *t, unsigned type, const char *channel)
{
    if (!(t->mask & type) || !channel)
        return false;
    size_t n = strlen(channel);
    if (t->starts_with && strncmp(channel, t->starts_with, strlen(t->starts_with)) != 0)
        return false;
    if (t->ends_with) {
        size_t e = strlen(t->ends_with);
        if (e > n || memcmp(channel + n - e, t->ends_with, e) != 0)
            return false;
    }
    return true;
}

size_t hc_wh_plan(const hc_wh_config *c, const unsigned *types, const char *const *channels,
                  size_t n, size_t max, hc_wh_plan_fn fn, void *ud)
{
    size_t *idx = hc_malloc((max ? max : 1) * sizeof(*idx));
    size_t requests = 0;
    for (size_t t = 0; t < c->n; t++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (!hc_wh_matches(&c->t[t], types[i], channels[i]))
                continue;
            idx[k++] = i;
            if (k == max) {
                fn(ud, t, idx, k);
                requests++;
                k = 0;
            }
        }
        if (k) {
            fn(ud, t, idx, k);
            requests++;
        }
    }
    free(idx);
    return requests;
}

static void head(hc_sbuf *b, unsigned type, const char *channel)
{
    hc_sbuf_puts(b, "{\"name\":\"");
    hc_sbuf_puts(b, hc_wh_type_name(type) ? hc_wh_type_name(type) : "unknown");
    hc_sbuf_puts(b, "\",\"channel\":");
    hc_sbuf_json_string(b, channel, strlen(channel));
}

void hc_wh_event_channel(hc_sbuf *b, unsigned type, const char *channel)
{
    head(b, type, channel);
    hc_sbuf_puts(b, "}");
}

void hc_wh_event_member(hc_sbuf *b, unsigned type, const char *channel, const char *user_id)
{
    head(b, type, channel);
    hc_sbuf_puts(b, ",\"user_id\":");
    hc_sbuf_json_string(b, user_id, strlen(user_id));
    hc_sbuf_puts(b, "}");
}

void hc_wh_event_count(hc_sbuf *b, const char *channel, uint64_t count)
{
    head(b, HC_WH_SUBSCRIPTION_COUNT, channel);
    hc_sbuf_printf(b, ",\"subscription_count\":%llu}", (unsigned long long)count);
}

void hc_wh_event_client(hc_sbuf *b, const char *channel, const char *event, const char *data,
                        size_t data_len, const char *socket_id, const char *user_id)
{
    head(b, HC_WH_CLIENT_EVENT, channel);
    hc_sbuf_puts(b, ",\"event\":");
    hc_sbuf_json_string(b, event, strlen(event));
    hc_sbuf_puts(b, ",\"data\":");
    hc_sbuf_json_string(b, data ? data : "", data ? data_len : 0);
    hc_sbuf_puts(b, ",\"socket_id\":");
    hc_sbuf_json_string(b, socket_id ? socket_id : "", socket_id ? strlen(socket_id) : 0);
    if (user_id && *user_id) {
        hc_sbuf_puts(b, ",\"user_id\":");
        hc_sbuf_json_string(b, user_id, strlen(user_id));
    }
    hc_sbuf_puts(b, "}");
}

bool hc_wh_event_parse(const char *json, size_t len, unsigned *type, char **channel)
{
    json_t *o = json_loadb(json, len, 0, NULL);
    json_t *n = json_object_get(o, "name"), *c = json_object_get(o, "channel");
    bool ok = json_is_object(o) && json_is_string(n) && json_is_string(c) &&
              (*type = hc_wh_type_of(json_string_value(n))) != 0;
    if (ok)
        *channel = hc_strdup(json_string_value(c));
    json_decref(o);
    return ok;
}

void hc_wh_body(hc_sbuf *b, uint64_t time_ms, const char *const *events, size_t n)
{
    hc_sbuf_printf(b, "{\"time_ms\":%llu,\"events\":[", (unsigned long long)time_ms);
    for (size_t i = 0; i < n; i++) {
        if (i)
            hc_sbuf_puts(b, ",");
        hc_sbuf_puts(b, events[i]);
    }
    hc_sbuf_puts(b, "]}");
}

void hc_wh_sign(const char *secret, const void *body, size_t len, char out[65])
{
    hc_hmac_sha256_hex(secret, strlen(secret), body, len, out);
}

uint64_t hc_wh_backoff_ms(unsigned attempt, uint64_t rnd)
{
    uint64_t d = HC_WH_BACKOFF_MIN_MS;
    for (unsigned i = 1; i < attempt && d < HC_WH_BACKOFF_MAX_MS; i++)
        d *= 2;
    if (d > HC_WH_BACKOFF_MAX_MS)
        d = HC_WH_BACKOFF_MAX_MS;
    uint64_t span = d / 5; /* +-20 % */
    return d - span + rnd % (2 * span + 1);
}
