/*
 * hc_api_auth: checks the signature and freshness of a Pusher HTTP API
 * request. Owns nothing; does not parse HTTP (the gateway hands over the
 * method, the path as received, the parsed query and the body) and does
 * not read the clock (now_s is a parameter, so tests are deterministic).
 * Called by the gateway's HTTP API before it looks at the body.
 */
#include "hc_api_auth.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hc_buf.h"
#include "hc_mem.h"
#include "hc_sig.h"

/* First value whose key equals name ignoring case (signing lower-cases
 * keys, so "AUTH_KEY" is auth_key), or NULL. Owned by q. */
static const char *hc_auth_param(const hc_query *q, const char *name)
{
    for (size_t i = 0; i < q->n; i++)
        if (strcasecmp(q->items[i].key, name) == 0)
            return q->items[i].value;
    return NULL;
}

static int hc_kv_cmp(const void *a, const void *b)
{
    const hc_kv *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

/* Returns the pairs of q except auth_signature, keys lower-cased (copies
 * owned by the caller: free each key and the array; values are borrowed),
 * sorted by key then value. */
static hc_kv *hc_auth_sorted(const hc_query *q, size_t *n_out)
{
    hc_kv *kv = hc_calloc(q->n ? q->n : 1, sizeof *kv);
    size_t n = 0;
    for (size_t i = 0; i < q->n; i++) {
        if (strcasecmp(q->items[i].key, "auth_signature") == 0)
            continue;
        char *k = hc_strdup(q->items[i].key);
        for (char *p = k; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        kv[n].key = k;
        kv[n].value = q->items[i].value;
        n++;
    }
    qsort(kv, n, sizeof *kv, hc_kv_cmp);
    *n_out = n;
    return kv;
}

char *hc_api_auth_string(const char *method, const char *path, const hc_query *q)
{
    hc_sbuf b = HC_SBUF_INIT;
    hc_sbuf_printf(&b, "%s\n%s\n", method, path);
    size_t n = 0;
    hc_kv *kv = hc_auth_sorted(q, &n);
    for (size_t i = 0; i < n; i++) {
        hc_sbuf_printf(&b, "%s%s=%s", i ? "&" : "", kv[i].key, kv[i].value);
        free(kv[i].key);
    }
    free(kv);
    return hc_sbuf_steal(&b);
}

static hc_auth_result hc_auth_fail(hc_auth_result r, const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return r;
}

/* True when ts parses as an integer within the window around now_s. */
static bool hc_auth_fresh(const char *ts, int64_t now_s)
{
    char *end = NULL;
    errno = 0;
    long long t = strtoll(ts, &end, 10);
    if (errno || end == ts || *end != '\0')
        return false;
    long long d = (long long)now_s - t;
    return d <= HC_API_AUTH_WINDOW_S && d >= -HC_API_AUTH_WINDOW_S;
}

/* Checks body_md5: required with a body; when sent, must match. */
static bool hc_auth_body_ok(const hc_query *q, const void *body, size_t body_len)
{
    const char *given = hc_auth_param(q, "body_md5");
    if (!given)
        return body_len == 0;
    char want[HC_MD5_HEX_LEN + 1];
    hc_md5_hex(body, body_len, want);
    return strlen(given) == HC_MD5_HEX_LEN && strcasecmp(given, want) == 0;
}

static bool hc_auth_signature_ok(const hc_app *app, const char *method, const char *path,
                                 const hc_query *q, const char *given)
{
    char *s = hc_api_auth_string(method, path, q);
    char want[HC_SHA256_HEX_LEN + 1];
    hc_hmac_sha256_hex(app->secret, strlen(app->secret), s, strlen(s), want);
    free(s);
    return hc_consttime_eq(given, strlen(given), want, HC_SHA256_HEX_LEN);
}

hc_auth_result hc_api_auth_check(const hc_app *app, const char *method, const char *path,
                                 const hc_query *q, const void *body, size_t body_len,
                                 int64_t now_s, const char **why)
{
    const char *key = hc_auth_param(q, "auth_key");
    const char *ts = hc_auth_param(q, "auth_timestamp");
    const char *version = hc_auth_param(q, "auth_version");
    const char *sig = hc_auth_param(q, "auth_signature");
    if (!key || !ts || !version || !sig)
        return hc_auth_fail(HC_AUTH_MISSING, why,
                            "auth_key, auth_timestamp, auth_version and auth_signature are "
                            "required");
    if (strcmp(key, app->key) != 0)
        return hc_auth_fail(HC_AUTH_BAD_KEY, why, "auth_key does not match the app's key");
    if (strcmp(version, "1.0") != 0)
        return hc_auth_fail(HC_AUTH_BAD_VERSION, why, "auth_version must be 1.0");
    if (!hc_auth_fresh(ts, now_s))
        return hc_auth_fail(HC_AUTH_STALE, why,
                            "auth_timestamp is not within 600 seconds of the server time");
    if (!hc_auth_body_ok(q, body, body_len))
        return hc_auth_fail(HC_AUTH_BAD_BODY_MD5, why, "body_md5 does not match the body");
    if (!hc_auth_signature_ok(app, method, path, q, sig))
        return hc_auth_fail(HC_AUTH_BAD_SIGNATURE, why, "invalid auth_signature");
    if (why)
        *why = NULL;
    return HC_AUTH_OK;
}
