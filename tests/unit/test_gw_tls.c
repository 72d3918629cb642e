/*
 * Unit tests for gw_tls (no sockets): the certificate goes into the
 * SSL_CTX it is attached to; a reload puts a new pair in; a key that does
 * not match, a file that is not PEM or is missing leave the old pair in
 * place (and the context consistent); a bad pair is refused at start; an
 * encrypted key loads with its pass phrase (at start and on reload) and is
 * refused, with a sentence naming --tls-passphrase, without it or with a
 * wrong one.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <uv.h>

#include "gw_tls.h"
#include "tls_test_certs.h"

static keycert ca, a, b;
static char ca_pem[128], a_pem[128], b_pem[128], a_key[128], b_key[128], live_pem[128],
    live_key[128];

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    FILE *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_gw_tls.XXXXXX");
    assert_non_null(mkdtemp(dir));
    ca = make("test CA", NULL, NULL, 1);
    a = make("herald-a", &ca, "IP:127.0.0.1", 0x1001);
    b = make("herald-b", &ca, "IP:127.0.0.1", 0x2002);
    write_pem("ca", &ca, ca_pem, sizeof(ca_pem));
    write_pem("a", &a, a_pem, sizeof(a_pem));
    write_pem("b", &b, b_pem, sizeof(b_pem));
    snprintf(a_key, sizeof(a_key), "%s/a.key", dir);
    snprintf(b_key, sizeof(b_key), "%s/b.key", dir);
    snprintf(live_pem, sizeof(live_pem), "%s/live.pem", dir);
    snprintf(live_key, sizeof(live_key), "%s/live.key", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    keycert_free(&ca);
    keycert_free(&a);
    keycert_free(&b);
    const char *files[] = {"ca.pem", "ca.key",   "a.pem",    "a.key",  "b.pem",
                           "b.key",  "live.pem", "live.key", "enc.key"};
    char p[160];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

/* CN of the certificate ctx serves. */
static const char *served_cn(SSL_CTX *ctx)
{
    static char cn[64];
    X509 *x = SSL_CTX_get0_certificate(ctx);
    assert_non_null(x);
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
    return cn;
}

static void test_attach_and_reload(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[512];
    copy_file(a_pem, live_pem);
    copy_file(a_key, live_key);
    gw_tls *t = gw_tls_new(&loop, live_pem, live_key, NULL, 0, err, sizeof(err));
    assert_non_null(t);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    assert_int_equal(gw_tls_attach(t, ctx), 0);
    assert_string_equal(served_cn(ctx), "herald-a");
    char d[256];
    gw_tls_describe(t, d, sizeof(d));
    assert_non_null(strstr(d, "CN=herald-a, serial 1001"));

    /* a new pair: served from now on */
    copy_file(b_pem, live_pem);
    copy_file(b_key, live_key);
    assert_int_equal(gw_tls_reload(t, "test"), 0);
    assert_string_equal(served_cn(ctx), "herald-b");
    gw_tls_describe(t, d, sizeof(d));
    assert_non_null(strstr(d, "CN=herald-b, serial 2002"));

    /* half an update (the old key with the new certificate), a file that
     * is not PEM, a missing file: the current pair stays, consistent */
    copy_file(a_key, live_key);
    assert_int_equal(gw_tls_reload(t, "test"), -1);
    write_text(live_key, "not a key\n");
    assert_int_equal(gw_tls_reload(t, "test"), -1);
    copy_file(b_key, live_key);
    unlink(live_pem);
    assert_int_equal(gw_tls_reload(t, "test"), -1);
    assert_string_equal(served_cn(ctx), "herald-b");
    assert_int_equal(SSL_CTX_check_private_key(ctx), 1);
    gw_tls_describe(t, d, sizeof(d));
    assert_non_null(strstr(d, "CN=herald-b"));

    gw_tls_stop(t);
    uv_run(&loop, UV_RUN_DEFAULT);
    gw_tls_free(t);
    SSL_CTX_free(ctx);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_bad_pair_at_start(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[512];
    assert_null(gw_tls_new(&loop, a_pem, b_key, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "does not match"));
    assert_null(gw_tls_new(&loop, "/nonexistent.pem", a_key, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent.pem"));
    assert_null(gw_tls_new(&loop, a_key, a_key, NULL, 0, err, sizeof(err))); /* a key is no cert */
    assert_non_null(strstr(err, "no certificate"));
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Writes k's key encrypted (AES-256-CBC) with pass to dir/enc.key. */
static void write_encrypted_key(const keycert *k, const char *pass, char *path, size_t len)
{
    snprintf(path, len, "%s/enc.key", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(
        PEM_write_PrivateKey(f, k->key, EVP_aes_256_cbc(), NULL, 0, NULL, (void *)pass), 1);
    fclose(f);
}

static void test_encrypted_key(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[512], enc[160];
    write_encrypted_key(&a, "s3cret pass", enc, sizeof(enc));

    /* without the pass phrase, or with a wrong one: refused, and said why */
    assert_null(gw_tls_new(&loop, a_pem, enc, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "encrypted: give its pass phrase with --tls-passphrase"));
    assert_null(gw_tls_new(&loop, a_pem, enc, "wrong", 0, err, sizeof(err)));
    assert_non_null(strstr(err, "not encrypted with the pass phrase of --tls-passphrase"));

    /* with it: served; a reload to another key encrypted with the same pass
     * phrase works too (it is kept for reloads) */
    gw_tls *t = gw_tls_new(&loop, a_pem, enc, "s3cret pass", 0, err, sizeof(err));
    assert_non_null(t);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    assert_int_equal(gw_tls_attach(t, ctx), 0);
    assert_string_equal(served_cn(ctx), "herald-a");
    assert_int_equal(SSL_CTX_check_private_key(ctx), 1);
    gw_tls_stop(t);
    uv_run(&loop, UV_RUN_DEFAULT);
    gw_tls_free(t);
    SSL_CTX_free(ctx);

    copy_file(a_pem, live_pem);
    copy_file(enc, live_key);
    t = gw_tls_new(&loop, live_pem, live_key, "s3cret pass", 0, err, sizeof(err));
    assert_non_null(t);
    ctx = SSL_CTX_new(TLS_server_method());
    assert_int_equal(gw_tls_attach(t, ctx), 0);
    write_encrypted_key(&b, "s3cret pass", enc, sizeof(enc));
    copy_file(b_pem, live_pem);
    copy_file(enc, live_key);
    assert_int_equal(gw_tls_reload(t, "test"), 0);
    assert_string_equal(served_cn(ctx), "herald-b");
    assert_int_equal(SSL_CTX_check_private_key(ctx), 1);
    gw_tls_stop(t);
    uv_run(&loop, UV_RUN_DEFAULT);
    gw_tls_free(t);
    SSL_CTX_free(ctx);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attach_and_reload),
        cmocka_unit_test(test_bad_pair_at_start),
        cmocka_unit_test(test_encrypted_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
