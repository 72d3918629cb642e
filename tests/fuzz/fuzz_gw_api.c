/*
 * Fuzz target: the HTTP API (gw_api_handle): routing, signature checks,
 * limits and JSON bodies. Input: one mode byte, then method, path and raw
 * query separated by '\n', then the body. In "signed" mode the harness
 * adds valid auth_* parameters for the default app, so the fuzzer reaches
 * body parsing and limits past the signature check. Every answer must have
 * a known status and a JSON body (unless it is deferred to the cluster);
 * publishes only come with a 200.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hc_log.h"
#include "gw_api.h"
#include "hc_api_auth.h"
#include "hc_sig.h"

static hc_apps *apps;

static const char *next_field(const char **p, const char *end, size_t *len)
{
    const char *s = *p;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *stop = nl ? nl : end;
    *len = (size_t)(stop - s);
    *p = nl ? nl + 1 : end;
    return s;
}

static void sign(hc_query *q, const char *method, const char *path, const char *body, size_t blen,
                 int64_t now)
{
    char ts[32], md5[HC_MD5_HEX_LEN + 1], sig[HC_SHA256_HEX_LEN + 1];
    snprintf(ts, sizeof(ts), "%lld", (long long)now);
    hc_query_add(q, "auth_key", 8, "app-key", 7);
    hc_query_add(q, "auth_timestamp", 14, ts, strlen(ts));
    hc_query_add(q, "auth_version", 12, "1.0", 3);
    if (blen) {
        hc_md5_hex(body, blen, md5);
        hc_query_add(q, "body_md5", 8, md5, HC_MD5_HEX_LEN);
    }
    char *s = hc_api_auth_string(method, path, q);
    hc_hmac_sha256_hex("app-secret", 10, s, strlen(s), sig);
    free(s);
    hc_query_add(q, "auth_signature", 14, sig, HC_SHA256_HEX_LEN);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    hc_log_set_level(HC_LOG_ERROR); /* refusals are expected; keep the fuzzer fast */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!apps) {
        apps = hc_apps_new();
        hc_app a;
        hc_app_defaults(&a);
        a.id = "app-id";
        a.key = "app-key";
        a.secret = "app-secret";
        hc_apps_add(apps, &a);
    }
    if (size < 1)
        return 0;
    bool do_sign = data[0] & 1;
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    size_t ml, pl, ql;
    const char *m = next_field(&p, end, &ml);
    const char *pa = next_field(&p, end, &pl);
    const char *qs = next_field(&p, end, &ql);
    char *method = strndup(m, ml), *path = strndup(pa, pl);
    hc_query q = HC_QUERY_INIT;
    hc_query_parse(&q, qs, ql);
    int64_t now = 1700000000;
    if (do_sign)
        sign(&q, method, path, p, (size_t)(end - p), now);
    gw_api_request req = {.method = method,
                          .path = path,
                          .query = &q,
                          .body = p,
                          .body_len = (size_t)(end - p),
                          .now_s = now};
    gw_api_response out;
    memset(&out, 0, sizeof(out));
    gw_api_handle(apps, &req, &out);
    /* An answer still to come from the cluster (a channel query or a
     * history read) is finished by the server later; every other one has
     * a known status and a JSON body now. */
    bool deferred = out.query_op || out.history;
    if (!deferred && (out.status < 200 || out.status > 599 || !gw_api_reason(out.status)))
        abort();
    json_error_t e;
    json_t *j = json_loadb(out.body.data ? out.body.data : "", out.body.len, 0, &e);
    if (!j && !deferred)
        abort();
    json_decref(j);
    if (out.npubs && out.status != 200)
        abort();
    gw_api_response_free(&out);
    hc_query_free(&q);
    free(method);
    free(path);
    return 0;
}
