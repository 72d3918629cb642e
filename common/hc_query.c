/*
 * hc_query: a URL query string as an ordered list of decoded key/value
 * pairs. Owns copies of every key and value; does not interpret any of
 * them (hc_api_auth lower-cases and sorts for signing, the HTTP API reads
 * its parameters with hc_query_get). Called by the gateway's HTTP API and
 * by hc_api_auth.
 */
#include "hc_query.h"

#include <stdlib.h>
#include <string.h>

#include "hc_mem.h"

static int hc_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..n) ('+' is a space) into a new NUL-terminated string owned by
 * the caller, or returns NULL on a bad escape. %00 counts as bad: keys and
 * values are C strings. */
static char *hc_query_decode(const char *s, size_t n)
{
    char *out = hc_malloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] != '%') {
            *o++ = s[i];
        } else {
            int hi = i + 2 < n ? hc_hexval(s[i + 1]) : -1;
            int lo = hi >= 0 ? hc_hexval(s[i + 2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            *o++ = (char)(hi << 4 | lo);
            i += 2;
        }
    }
    *o = '\0';
    return out;
}

/* Appends an item taking ownership of key and value. */
static void hc_query_push(hc_query *q, char *key, char *value)
{
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 8;
        q->items = hc_realloc(q->items, q->cap * sizeof *q->items);
    }
    q->items[q->n].key = key;
    q->items[q->n].value = value;
    q->n++;
}

/* Decodes one "k=v" / "k" pair; returns 0 or -1 on a bad escape. */
static int hc_query_parse_pair(hc_query *q, const char *p, size_t n)
{
    const char *eq = memchr(p, '=', n);
    size_t klen = eq ? (size_t)(eq - p) : n;
    char *k = hc_query_decode(p, klen);
    char *v = eq ? hc_query_decode(eq + 1, n - klen - 1) : hc_strdup("");
    if (!k || !v) {
        free(k);
        free(v);
        return -1;
    }
    hc_query_push(q, k, v);
    return 0;
}

int hc_query_parse(hc_query *q, const char *raw, size_t len)
{
    size_t i = 0;
    while (i < len) {
        const char *amp = memchr(raw + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - raw) : len;
        if (end > i && hc_query_parse_pair(q, raw + i, end - i) < 0)
            return -1;
        i = end + 1;
    }
    return 0;
}

void hc_query_add(hc_query *q, const char *key, size_t klen, const char *value, size_t vlen)
{
    hc_query_push(q, hc_strndup(key, klen), hc_strndup(value ? value : "", value ? vlen : 0));
}

void hc_query_add_pair(hc_query *q, const char *pair, size_t len)
{
    const char *eq = memchr(pair, '=', len);
    if (!eq) {
        hc_query_add(q, pair, len, "", 0);
        return;
    }
    size_t klen = (size_t)(eq - pair);
    hc_query_add(q, pair, klen, eq + 1, len - klen - 1);
}

/* Returns the first value for key (owned by q), or NULL. */
const char *hc_query_get(const hc_query *q, const char *key)
{
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->items[i].key, key) == 0)
            return q->items[i].value;
    return NULL;
}

void hc_query_free(hc_query *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->items[i].key);
        free(q->items[i].value);
    }
    free(q->items);
    q->items = NULL;
    q->n = q->cap = 0;
}
