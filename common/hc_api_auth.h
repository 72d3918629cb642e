/*
 * hc_api_auth: verification of a signed Pusher HTTP API request.
 *
 * The string to sign is "METHOD\nPATH\nQUERY" where QUERY is every query
 * parameter except auth_signature, keys lower-cased, sorted by key, joined
 * as k=v with '&' using the decoded values; the signature is hex
 * HMAC-SHA256 with the app secret, compared in constant time. Also checks
 * auth_version=1.0, auth_timestamp within the window, and body_md5 when
 * there is a body. Pure: the caller passes the clock.
 */
#ifndef HC_API_AUTH_H
#define HC_API_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "hc_apps.h"
#include "hc_query.h"

#define HC_API_AUTH_WINDOW_S 600

typedef enum {
    HC_AUTH_OK = 0,
    HC_AUTH_MISSING,       /* a required auth_* parameter is absent */
    HC_AUTH_BAD_KEY,       /* auth_key is not this app's key */
    HC_AUTH_BAD_VERSION,   /* auth_version is not 1.0 */
    HC_AUTH_STALE,         /* auth_timestamp outside the window or not a number */
    HC_AUTH_BAD_BODY_MD5,  /* body_md5 missing (with a body) or wrong */
    HC_AUTH_BAD_SIGNATURE, /* auth_signature does not match */
} hc_auth_result;

/* Builds the string to sign into a new malloc'd string (caller frees). */
char *hc_api_auth_string(const char *method, const char *path, const hc_query *q);
/* Verifies. On failure *why (if not NULL) gets a static sentence. */
hc_auth_result hc_api_auth_check(const hc_app *app, const char *method, const char *path,
                                 const hc_query *q, const void *body, size_t body_len,
                                 int64_t now_s, const char **why);

#endif
