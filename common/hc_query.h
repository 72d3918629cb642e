/*
 * hc_query: URL query strings as a list of key/value pairs.
 *
 * hc_query_parse takes the raw query (after '?') and percent-decodes each key
 * and value once ('+' is a space). hc_query_add takes already-decoded
 * parts (libwebsockets hands URI arguments over decoded). Keys are kept as
 * given; lookups are exact. Owns copies of every string.
 */
#ifndef HC_QUERY_H
#define HC_QUERY_H

#include <stddef.h>

typedef struct hc_kv {
    char *key;
    char *value;
} hc_kv;

typedef struct hc_query {
    hc_kv *items;
    size_t n, cap;
} hc_query;

#define HC_QUERY_INIT                                                                              \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Returns 0, or -1 on an invalid percent escape (q keeps what was parsed). */
int hc_query_parse(hc_query *q, const char *raw, size_t len);
void hc_query_add(hc_query *q, const char *key, size_t klen, const char *value, size_t vlen);
/* Adds "k=v" (or "k", value "") split at the first '='. */
void hc_query_add_pair(hc_query *q, const char *pair, size_t len);
/* First value for key, or NULL. */
const char *hc_query_get(const hc_query *q, const char *key);
void hc_query_free(hc_query *q);

#endif
