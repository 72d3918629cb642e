/*
 * hc_sig: the signatures Pusher defines, and constant-time comparison.
 *
 * HMAC-SHA256 and MD5 (OpenSSL) as lower-case hex; channel and user auth
 * strings ("<key>:<hex>") as pusher-js / the server SDKs produce them. Pure:
 * no I/O (a long auth message is joined in a short-lived heap buffer).
 * Used by the gateway's protocol and HTTP API code.
 */
#ifndef HC_SIG_H
#define HC_SIG_H

#include <stdbool.h>
#include <stddef.h>

#define HC_SHA256_HEX_LEN 64
#define HC_MD5_HEX_LEN 32

/* out gets 64 hex chars + NUL. */
void hc_hmac_sha256_hex(const char *key, size_t key_len, const void *msg, size_t msg_len,
                        char out[HC_SHA256_HEX_LEN + 1]);
/* out gets 32 hex chars + NUL. */
void hc_md5_hex(const void *data, size_t len, char out[HC_MD5_HEX_LEN + 1]);
/* True when a[0..alen) equals b[0..blen); time depends only on the lengths. */
bool hc_consttime_eq(const void *a, size_t alen, const void *b, size_t blen);

/* Checks a subscription's auth field: "<app_key>:<hex hmac>" where the HMAC
 * (keyed by secret) is over "<socket_id>:<channel>" or, when channel_data is
 * not NULL, "<socket_id>:<channel>:<channel_data>" (signed verbatim). */
bool hc_sig_channel_ok(const char *app_key, const char *secret, const char *socket_id,
                       const char *channel, const char *channel_data, const char *auth);
/* Checks pusher:signin's auth over "<socket_id>::user::<user_data>". */
bool hc_sig_user_ok(const char *app_key, const char *secret, const char *socket_id,
                    const char *user_data, const char *auth);

#endif
