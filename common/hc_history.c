/*
 * hc_history: per-app history rules (see hc_history.h).
 */
#include "hc_history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_channel.h"
#include "hc_mem.h"

/* Reads a non-negative integer field (absent: 0). False when malformed. */
static bool field_u32(const json_t *obj, const char *name, uint32_t *out)
{
    json_t *v = json_object_get(obj, name);
    *out = 0;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > (json_int_t)UINT32_MAX)
        return false;
    *out = (uint32_t)json_integer_value(v);
    return true;
}

/* Fills r from one rule object; false with err. */
static bool rule_from_json(const json_t *obj, size_t i, hc_history_rule *r, char *err,
                           size_t errlen)
{
    json_t *p = json_is_object(obj) ? json_object_get(obj, "prefix") : NULL;
    if (!json_is_string(p)) {
        snprintf(err, errlen, "history rule #%zu: \"prefix\" must be a string", i + 1);
        return false;
    }
    static const char *const names[] = {"size", "ttl", "rewindOnSubscribe"};
    uint32_t *dst[] = {&r->size, &r->ttl, &r->rewind};
    for (size_t k = 0; k < 3; k++) {
        if (!field_u32(obj, names[k], dst[k])) {
            snprintf(err, errlen, "history rule #%zu: \"%s\" must be a non-negative integer", i + 1,
                     names[k]);
            return false;
        }
    }
    r->prefix = hc_strdup(json_string_value(p));
    return true;
}

bool hc_history_from_json(const json_t *arr, hc_history **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!arr || json_is_null(arr))
        return true;
    if (!json_is_array(arr)) {
        snprintf(err, errlen, "\"history\" must be an array of rules");
        return false;
    }
    hc_history *h = hc_calloc(1, sizeof(*h));
    h->rules = hc_calloc(json_array_size(arr) + 1, sizeof(*h->rules));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        if (!rule_from_json(json_array_get(arr, i), i, &h->rules[h->n], err, errlen)) {
            hc_history_free(h);
            return false;
        }
        h->n++;
    }
    *out = h;
    return true;
}

hc_history *hc_history_copy(const hc_history *h)
{
    if (!h)
        return NULL;
    hc_history *c = hc_calloc(1, sizeof(*c));
    c->rules = hc_calloc(h->n + 1, sizeof(*c->rules));
    c->n = h->n;
    for (size_t i = 0; i < h->n; i++) {
        c->rules[i] = h->rules[i];
        c->rules[i].prefix = hc_strdup(h->rules[i].prefix);
    }
    return c;
}

void hc_history_free(hc_history *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        free(h->rules[i].prefix);
    free(h->rules);
    free(h);
}

const hc_history_rule *hc_history_match(const hc_history *h, const char *channel)
{
    const hc_history_rule *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; h && i < h->n; i++) {
        size_t n = strlen(h->rules[i].prefix);
        if (strncmp(channel, h->rules[i].prefix, n) == 0 && (!best || n > best_len)) {
            best = &h->rules[i];
            best_len = n;
        }
    }
    return best;
}

void hc_history_bound(const hc_history *h, const char *channel, uint32_t *size, uint32_t *ttl)
{
    const hc_history_rule *r = hc_history_match(h, channel);
    *size = r ? r->size : 0;
    *ttl = r ? r->ttl : 0;
    if (!*ttl && hc_channel_is_cache(channel))
        *ttl = HC_HISTORY_CACHE_TTL;
}
