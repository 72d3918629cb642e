/*
 * Test certificates for the TLS unit tests (test_hc_tlslink,
 * test_gw_tls), made with the OpenSSL API: a P-256 key and an X.509
 * certificate, self-signed or signed by a given CA, with optional
 * subjectAltName, written as PEM files into a temporary directory.
 * Header-only (static functions): each test includes it once.
 */
#ifndef TLS_TEST_CERTS_H
#define TLS_TEST_CERTS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static char dir[64];

typedef struct keycert {
    EVP_PKEY *key;
    X509 *cert;
} keycert;

static void add_ext(X509 *issuer, X509 *x, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    assert_non_null(e);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

/* A P-256 key and a certificate named cn, signed by ca (self-signed when
 * ca is NULL), with subjectAltName san (or none). */
static keycert make(const char *cn, const keycert *ca, const char *san, long serial)
{
    keycert kc;
    kc.key = EVP_EC_gen("P-256");
    assert_non_null(kc.key);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, kc.key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, ca ? X509_get_subject_name(ca->cert) : name);
    if (!ca)
        add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
    if (san)
        add_ext(ca ? ca->cert : x, x, NID_subject_alt_name, san);
    assert_true(X509_sign(x, ca ? ca->key : kc.key, EVP_sha256()) > 0);
    kc.cert = x;
    return kc;
}

static void write_pem(const char *name, const keycert *kc, char *path, size_t len)
{
    snprintf(path, len, "%s/%s.pem", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    PEM_write_X509(f, kc->cert);
    fclose(f);
    char kpath[128];
    snprintf(kpath, sizeof(kpath), "%s/%s.key", dir, name);
    f = fopen(kpath, "w");
    assert_non_null(f);
    PEM_write_PrivateKey(f, kc->key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
}

static void keycert_free(keycert *kc)
{
    X509_free(kc->cert);
    EVP_PKEY_free(kc->key);
    kc->cert = NULL;
    kc->key = NULL;
}

#endif
