/*
 * hc_sig: HMAC-SHA256 and MD5 as lower-case hex (OpenSSL), constant-time
 * comparison, and the checks of Pusher's channel and user auth strings.
 * Owns nothing and does no I/O; a message longer than a stack buffer is
 * assembled in a short-lived heap buffer. Called by the gateway's
 * subscribe/sign-in handling and by hc_api_auth.
 */
#include "hc_sig.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hc_mem.h"

static void hc_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The digests, fetched once: with EVP_sha256() / EVP_md5() OpenSSL 3 looks
 * the implementation up in its provider on every use (an MD5 of a small
 * body: 0.35 us that way, 0.16 us with a fetched one, on the benchmark
 * machine). Kept for the process's life; NULL (a provider without them)
 * falls back to the implicit fetch. */
static EVP_MD *md_sha256, *md_md5;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void)
{
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    md_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
}

void hc_hmac_sha256_hex(const char *key, size_t key_len, const void *msg, size_t msg_len,
                        char out[HC_SHA256_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    static const unsigned char empty[1] = {0};
    pthread_once(&md_once, md_fetch);
    HMAC(md_sha256 ? md_sha256 : EVP_sha256(), key, (int)key_len, msg_len ? msg : empty, msg_len,
         md, &md_len);
    hc_hex(md, md_len, out);
}

void hc_md5_hex(const void *data, size_t len, char out[HC_MD5_HEX_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    static const unsigned char empty[1] = {0};
    pthread_once(&md_once, md_fetch);
    EVP_Digest(len ? data : empty, len, md, &md_len, md_md5 ? md_md5 : EVP_md5(), NULL);
    hc_hex(md, md_len, out);
}

bool hc_consttime_eq(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return false;
    const unsigned char *x = a, *y = b;
    volatile unsigned char acc = 0;
    for (size_t i = 0; i < alen; i++)
        acc |= x[i] ^ y[i];
    return acc == 0;
}

/* Checks auth == "<app_key>:<hex HMAC(secret, parts joined by seps)>".
 * parts[i] may be NULL (skipped together with the separator before it). */
static bool hc_sig_check(const char *app_key, const char *secret, const char *auth,
                         const char *const *parts, const char *const *seps, size_t nparts)
{
    if (!app_key || !secret || !auth)
        return false;
    size_t klen = strlen(app_key);
    if (strncmp(auth, app_key, klen) != 0 || auth[klen] != ':')
        return false;
    size_t total = 0;
    for (size_t i = 0; i < nparts; i++)
        total += parts[i] ? strlen(seps[i]) + strlen(parts[i]) : 0;
    char stack[512];
    char *msg = total < sizeof stack ? stack : hc_malloc(total + 1);
    size_t off = 0;
    for (size_t i = 0; i < nparts; i++) {
        if (!parts[i])
            continue;
        size_t sl = strlen(seps[i]), pl = strlen(parts[i]);
        memcpy(msg + off, seps[i], sl);
        memcpy(msg + off + sl, parts[i], pl);
        off += sl + pl;
    }
    char want[HC_SHA256_HEX_LEN + 1];
    hc_hmac_sha256_hex(secret, strlen(secret), msg, off, want);
    if (msg != stack)
        free(msg);
    const char *got = auth + klen + 1;
    return hc_consttime_eq(got, strlen(got), want, HC_SHA256_HEX_LEN);
}

bool hc_sig_channel_ok(const char *app_key, const char *secret, const char *socket_id,
                       const char *channel, const char *channel_data, const char *auth)
{
    if (!socket_id || !channel)
        return false;
    const char *parts[] = {socket_id, channel, channel_data};
    const char *seps[] = {"", ":", ":"};
    return hc_sig_check(app_key, secret, auth, parts, seps, 3);
}

bool hc_sig_user_ok(const char *app_key, const char *secret, const char *socket_id,
                    const char *user_data, const char *auth)
{
    if (!socket_id || !user_data)
        return false;
    const char *parts[] = {socket_id, user_data};
    const char *seps[] = {"", "::user::"};
    return hc_sig_check(app_key, secret, auth, parts, seps, 2);
}
