/*
 * hc_tlslink: OpenSSL over memory BIOs for the broker links (see
 * hc_tlslink.h).
 */
#include "hc_tlslink.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "hc_mem.h"

struct hc_tlslink {
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    bool server;
    bool ready;
    hc_sbuf pending; /* plaintext waiting for the handshake */
};

/* The last OpenSSL error as text; clears the queue. */
static void ssl_reason(char *buf, size_t len, const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, buf, len);
    else
        snprintf(buf, len, "%s", fallback);
    ERR_clear_error();
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

static bool load_pair(SSL_CTX *ctx, const char *cert, const char *key, char *err, size_t errlen)
{
    char why[200];
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        ssl_reason(why, sizeof(why), "no certificate");
        snprintf(err, errlen, "cannot load the link TLS certificate %s (%s)", cert, why);
        return false;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        ssl_reason(why, sizeof(why), "no key");
        snprintf(err, errlen, "cannot load the link TLS key %s (%s)", key, why);
        return false;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "the link TLS key %s does not match the certificate %s", key, cert);
        return false;
    }
    return true;
}

static bool load_ca(SSL_CTX *ctx, const char *ca, char *err, size_t errlen)
{
    char why[200];
    if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        ssl_reason(why, sizeof(why), "no certificate");
        snprintf(err, errlen, "cannot load the link TLS CA %s (%s)", ca, why);
        return false;
    }
    return true;
}

static SSL_CTX *new_ctx(bool server, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx) {
        char why[200];
        ssl_reason(why, sizeof(why), "out of memory");
        snprintf(err, errlen, "cannot create a TLS context (%s)", why);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    return ctx;
}

SSL_CTX *hc_tlslink_server_ctx(const char *cert, const char *key, const char *client_ca, char *err,
                               size_t errlen)
{
    SSL_CTX *ctx = new_ctx(true, err, errlen);
    if (!ctx)
        return NULL;
    if (!load_pair(ctx, cert, key, err, errlen) ||
        (client_ca && client_ca[0] && !load_ca(ctx, client_ca, err, errlen))) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (client_ca && client_ca[0])
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return ctx;
}

SSL_CTX *hc_tlslink_client_ctx(const char *ca, const char *cert, const char *key, char *err,
                               size_t errlen)
{
    SSL_CTX *ctx = new_ctx(false, err, errlen);
    if (!ctx)
        return NULL;
    if (!load_ca(ctx, ca, err, errlen) ||
        (cert && cert[0] && !load_pair(ctx, cert, key ? key : cert, err, errlen))) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

hc_tlslink *hc_tlslink_new(SSL_CTX *ctx, bool server, const char *peer_name)
{
    hc_tlslink *t = hc_calloc(1, sizeof(*t));
    t->server = server;
    t->ssl = SSL_new(ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        fprintf(stderr, "out of memory (TLS link)\n");
        abort();
    }
    BIO_set_mem_eof_return(t->rbio, -1); /* empty means "wait", not EOF */
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    if (server) {
        SSL_set_accept_state(t->ssl);
    } else {
        SSL_set_connect_state(t->ssl);
        if (peer_name && peer_name[0]) {
            unsigned char ip[16];
            bool literal =
                inet_pton(AF_INET, peer_name, ip) == 1 || inet_pton(AF_INET6, peer_name, ip) == 1;
            X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
            if (literal) {
                X509_VERIFY_PARAM_set1_ip_asc(vp, peer_name);
            } else {
                SSL_set_tlsext_host_name(t->ssl, peer_name);
                SSL_set1_host(t->ssl, peer_name);
            }
        }
        SSL_do_handshake(t->ssl); /* ClientHello into wbio */
        ERR_clear_error();
    }
    return t;
}

void hc_tlslink_free(hc_tlslink *t)
{
    if (!t)
        return;
    SSL_free(t->ssl); /* frees both BIOs */
    hc_sbuf_free(&t->pending);
    free(t);
}

/* Encrypts everything buffered (once ready). */
static void flush_pending(hc_tlslink *t)
{
    size_t off = 0;
    while (off < t->pending.len) {
        int n = SSL_write(t->ssl, t->pending.data + off, (int)(t->pending.len - off));
        if (n <= 0) /* a memory BIO takes everything: only on a broken session */
            break;
        off += (size_t)n;
    }
    hc_sbuf_reset(&t->pending);
    ERR_clear_error();
}

static int fail(hc_tlslink *t, int rc, char *err, size_t errlen)
{
    int e = SSL_get_error(t->ssl, rc);
    char why[256];
    if (e == SSL_ERROR_ZERO_RETURN) {
        snprintf(err, errlen, "the peer closed the TLS session");
        ERR_clear_error();
        return -1;
    }
    long v = SSL_get_verify_result(t->ssl);
    if (v != X509_V_OK) {
        snprintf(err, errlen, "TLS certificate verification failed: %s",
                 X509_verify_cert_error_string(v));
        ERR_clear_error();
        return -1;
    }
    ssl_reason(why, sizeof(why), "protocol error");
    snprintf(err, errlen, "TLS failed: %s", why);
    return -1;
}

int hc_tlslink_recv(hc_tlslink *t, const void *in, size_t n, hc_sbuf *plain, char *err,
                    size_t errlen)
{
    if (n && BIO_write(t->rbio, in, (int)n) != (int)n) {
        snprintf(err, errlen, "TLS: out of memory");
        return -1;
    }
    if (!t->ready) {
        int rc = SSL_do_handshake(t->ssl);
        if (rc != 1) {
            int e = SSL_get_error(t->ssl, rc);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                ERR_clear_error();
                return 0;
            }
            return fail(t, rc, err, errlen);
        }
        t->ready = true;
        flush_pending(t);
    }
    char buf[16384];
    for (;;) {
        int r = SSL_read(t->ssl, buf, sizeof(buf));
        if (r > 0) {
            hc_sbuf_append(plain, buf, (size_t)r);
            continue;
        }
        int e = SSL_get_error(t->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            ERR_clear_error();
            return 0;
        }
        return fail(t, r, err, errlen);
    }
}

void hc_tlslink_send(hc_tlslink *t, const void *p, size_t n)
{
    hc_sbuf_append(&t->pending, p, n);
    if (t->ready)
        flush_pending(t);
}

size_t hc_tlslink_take(hc_tlslink *t, hc_sbuf *out)
{
    size_t total = 0;
    size_t avail;
    while ((avail = BIO_ctrl_pending(t->wbio)) > 0) {
        hc_sbuf_reserve(out, avail);
        int r = BIO_read(t->wbio, out->data + out->len, (int)avail);
        if (r <= 0)
            break;
        out->len += (size_t)r;
        out->data[out->len] = '\0';
        total += (size_t)r;
    }
    return total;
}

bool hc_tlslink_ready(const hc_tlslink *t)
{
    return t->ready;
}

void hc_tlslink_describe(const hc_tlslink *t, char *out, size_t outlen)
{
    char cn[128] = "none";
    X509 *peer = SSL_get1_peer_certificate(t->ssl);
    if (peer) {
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof(cn));
        X509_free(peer);
    }
    ERR_clear_error();
    snprintf(out, outlen, "%s %s, peer certificate CN=%s", SSL_get_version(t->ssl),
             SSL_get_cipher_name(t->ssl), cn);
}
