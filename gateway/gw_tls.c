/*
 * gw_tls: certificate loading, SIGHUP/file-watch reload (see gw_tls.h).
 */
#include "gw_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gw_metrics.h"
#include "hc_log.h"
#include "hc_mem.h"

typedef struct file_sig {
    bool ok;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_sig;

struct gw_tls {
    char *cert_path, *key_path;
    char *passphrase; /* of an encrypted key, or NULL (wiped when freed) */
    SSL_CTX *ctx;     /* the vhost's, once attached */
    char desc[512];
    uv_timer_t watch;
    bool watching;
    file_sig sig[2]; /* cert, key: as last seen */
};

typedef struct pem_pair {
    X509 *cert;
    STACK_OF(X509) * chain;
    EVP_PKEY *key;
} pem_pair;

/* Never prompt for a pass phrase on the terminal: encrypted keys fail. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

/* The configured pass phrase of the key (u: the gw_tls), never a prompt. */
static int key_passphrase(char *buf, int size, int rwflag, void *u)
{
    const gw_tls *t = u;
    (void)rwflag;
    if (!t->passphrase || size <= 0)
        return 0;
    size_t n = strlen(t->passphrase);
    if (n > (size_t)size)
        return 0; /* OpenSSL's buffer is 1,024 bytes: a longer one is refused */
    memcpy(buf, t->passphrase, n);
    return (int)n;
}

static void pair_free(pem_pair *p)
{
    X509_free(p->cert);
    sk_X509_pop_free(p->chain, X509_free);
    EVP_PKEY_free(p->key);
    memset(p, 0, sizeof(*p));
}

/* The first OpenSSL error as text (and clears the queue). */
static const char *ssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, buf, len);
    else
        snprintf(buf, len, "no PEM data");
    ERR_clear_error();
    return buf;
}

/* Reads both files; the key must match the certificate. */
static bool load_pair(const gw_tls *t, pem_pair *p, char *err, size_t errlen)
{
    char why[200];
    memset(p, 0, sizeof(*p));
    ERR_clear_error();
    BIO *b = BIO_new_file(t->cert_path, "r");
    if (!b) {
        snprintf(err, errlen, "cannot read TLS certificate %s", t->cert_path);
        ERR_clear_error();
        return false;
    }
    p->cert = PEM_read_bio_X509_AUX(b, NULL, no_passphrase, NULL);
    if (!p->cert) {
        snprintf(err, errlen, "no certificate in %s (%s)", t->cert_path,
                 ssl_reason(why, sizeof(why)));
        BIO_free(b);
        return false;
    }
    p->chain = sk_X509_new_null();
    for (X509 *x; (x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL));)
        sk_X509_push(p->chain, x);
    ERR_clear_error(); /* the end of the file */
    BIO_free(b);
    b = BIO_new_file(t->key_path, "r");
    if (!b) {
        snprintf(err, errlen, "cannot read TLS key %s", t->key_path);
        ERR_clear_error();
        pair_free(p);
        return false;
    }
    p->key = PEM_read_bio_PrivateKey(b, NULL, key_passphrase, (void *)t);
    BIO_free(b);
    if (!p->key) {
        snprintf(err, errlen, "no usable private key in %s (%s: %s)", t->key_path,
                 ssl_reason(why, sizeof(why)),
                 t->passphrase
                     ? "not PEM, or not encrypted with the pass phrase of --tls-passphrase"
                     : "not PEM, or encrypted: give its pass phrase with --tls-passphrase");
        pair_free(p);
        return false;
    }
    if (X509_check_private_key(p->cert, p->key) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "the key in %s does not match the certificate in %s", t->key_path,
                 t->cert_path);
        pair_free(p);
        return false;
    }
    return true;
}

/* Fills t->desc and the expiry gauge from cert. */
static void describe(gw_tls *t, X509 *cert)
{
    char cn[128] = "?", serial[80] = "?", expires[40] = "?";
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), NULL);
    if (bn) {
        char *hex = BN_bn2hex(bn);
        if (hex)
            snprintf(serial, sizeof(serial), "%s", hex);
        OPENSSL_free(hex);
        BN_free(bn);
    }
    struct tm tm;
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1) {
        strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", &tm);
        hc_metric_set(gw_m.tls_expiry, NULL, (double)timegm(&tm));
    }
    ERR_clear_error();
    snprintf(t->desc, sizeof(t->desc), "CN=%s, serial %s, expires %s", cn, serial, expires);
}

/* Puts p into the vhost's SSL_CTX. */
static bool apply(gw_tls *t, pem_pair *p, char *err, size_t errlen)
{
    char why[200];
    if (SSL_CTX_use_cert_and_key(t->ctx, p->cert, p->key, p->chain, 1) != 1) {
        snprintf(err, errlen, "OpenSSL refused the certificate (%s)", ssl_reason(why, sizeof(why)));
        return false;
    }
    describe(t, p->cert);
    return true;
}

static void stat_sig(const char *path, file_sig *s)
{
    struct stat st;
    memset(s, 0, sizeof(*s));
    if (stat(path, &st) != 0)
        return;
    s->ok = true;
    s->ino = st.st_ino;
    s->size = st.st_size;
    s->mtime = st.st_mtim;
}

static bool sig_eq(const file_sig *a, const file_sig *b)
{
    return a->ok == b->ok && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void remember_files(gw_tls *t)
{
    stat_sig(t->cert_path, &t->sig[0]);
    stat_sig(t->key_path, &t->sig[1]);
}

static void on_watch(uv_timer_t *h)
{
    gw_tls *t = h->data;
    file_sig now[2];
    stat_sig(t->cert_path, &now[0]);
    stat_sig(t->key_path, &now[1]);
    if (!now[0].ok || !now[1].ok) /* being replaced: look again next time */
        return;
    if (sig_eq(&now[0], &t->sig[0]) && sig_eq(&now[1], &t->sig[1]))
        return;
    t->sig[0] = now[0];
    t->sig[1] = now[1];
    gw_tls_reload(t, "file changed");
}

gw_tls *gw_tls_new(uv_loop_t *loop, const char *cert, const char *key, const char *passphrase,
                   unsigned watch_s, char *err, size_t errlen)
{
    gw_tls *t = hc_calloc(1, sizeof(*t));
    t->cert_path = hc_strdup(cert);
    t->key_path = hc_strdup(key);
    t->passphrase = passphrase && passphrase[0] ? hc_strdup(passphrase) : NULL;
    pem_pair p;
    if (!load_pair(t, &p, err, errlen)) {
        gw_tls_free(t);
        return NULL;
    }
    describe(t, p.cert);
    pair_free(&p);
    remember_files(t);
    uv_timer_init(loop, &t->watch);
    t->watch.data = t;
    t->watching = true;
    if (watch_s)
        uv_timer_start(&t->watch, on_watch, (uint64_t)watch_s * 1000, (uint64_t)watch_s * 1000);
    else
        uv_unref((uv_handle_t *)&t->watch);
    return t;
}

int gw_tls_attach(gw_tls *t, SSL_CTX *ctx)
{
    char err[512];
    pem_pair p;
    t->ctx = ctx;
    bool ok = load_pair(t, &p, err, sizeof(err)) && apply(t, &p, err, sizeof(err));
    pair_free(&p);
    if (!ok) {
        hc_error("TLS: %s", err);
        return -1;
    }
    hc_info("TLS certificate %s (%s)", t->desc, t->cert_path);
    return 0;
}

int gw_tls_reload(gw_tls *t, const char *why)
{
    char err[512];
    pem_pair p;
    if (!t->ctx) {
        hc_warn("TLS certificate not reloaded (%s): the server is not serving TLS yet", why);
        return -1;
    }
    remember_files(t);
    bool ok = load_pair(t, &p, err, sizeof(err)) && apply(t, &p, err, sizeof(err));
    pair_free(&p);
    const char *v[1] = {ok ? "ok" : "error"};
    hc_metric_add(gw_m.tls_reloads, v, 1);
    if (!ok) {
        hc_warn("TLS certificate not reloaded (%s): %s; still serving %s", why, err, t->desc);
        return -1;
    }
    hc_info("TLS certificate reloaded (%s): %s; new connections get it", why, t->desc);
    return 0;
}

void gw_tls_describe(const gw_tls *t, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", t->desc);
}

void gw_tls_stop(gw_tls *t)
{
    if (!t || !t->watching)
        return;
    t->watching = false;
    uv_timer_stop(&t->watch);
    uv_close((uv_handle_t *)&t->watch, NULL);
}

void gw_tls_free(gw_tls *t)
{
    if (!t)
        return;
    free(t->cert_path);
    free(t->key_path);
    if (t->passphrase) {
        OPENSSL_cleanse(t->passphrase, strlen(t->passphrase));
        free(t->passphrase);
    }
    free(t);
}
