/*
 * Unit tests for hc_tlslink: a client and a server endpoint talk to each
 * other in memory (no sockets). Certificates are made here with the
 * OpenSSL API: a CA, a server certificate for IP 127.0.0.1 and DNS
 * broker.test, a client certificate, and a second, untrusted CA.
 * Covered: handshake and data both ways (plaintext sent before the
 * handshake is delivered after it), name and IP checks, an untrusted
 * server, required client certificates, garbage from the peer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hc_tlslink.h"
#include "tls_test_certs.h"

static char ca_pem[128], other_ca_pem[128], srv_pem[128], srv_key[128], cli_pem[128], cli_key[128];
static keycert ca, other_ca, srv, cli;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_hc_tlslink.XXXXXX");
    assert_non_null(mkdtemp(dir));
    ca = make("test CA", NULL, NULL, 1);
    other_ca = make("other CA", NULL, NULL, 2);
    srv = make("broker-1", &ca, "IP:127.0.0.1,DNS:broker.test", 10);
    cli = make("gateway-1", &ca, NULL, 11);
    write_pem("ca", &ca, ca_pem, sizeof(ca_pem));
    write_pem("other", &other_ca, other_ca_pem, sizeof(other_ca_pem));
    write_pem("srv", &srv, srv_pem, sizeof(srv_pem));
    snprintf(srv_key, sizeof(srv_key), "%s/srv.key", dir);
    write_pem("cli", &cli, cli_pem, sizeof(cli_pem));
    snprintf(cli_key, sizeof(cli_key), "%s/cli.key", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    keycert *all[] = {&ca, &other_ca, &srv, &cli};
    for (size_t i = 0; i < 4; i++)
        keycert_free(all[i]);
    const char *names[] = {"ca", "other", "srv", "cli"};
    char p[160];
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s/%s.pem", dir, names[i]);
        unlink(p);
        snprintf(p, sizeof(p), "%s/%s.key", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

typedef struct pair {
    hc_tlslink *c, *s;
    hc_sbuf c_plain, s_plain;
    int c_rc, s_rc;
    char c_err[256], s_err[256];
} pair;

/* Moves ciphertext both ways until nothing moves or a side fails. */
static void pump(pair *p)
{
    for (int i = 0; i < 20; i++) {
        hc_sbuf a = HC_SBUF_INIT, b = HC_SBUF_INIT;
        size_t na = hc_tlslink_take(p->c, &a);
        if (na && !p->s_rc)
            p->s_rc = hc_tlslink_recv(p->s, a.data, a.len, &p->s_plain, p->s_err, sizeof(p->s_err));
        size_t nb = hc_tlslink_take(p->s, &b);
        if (nb && !p->c_rc)
            p->c_rc = hc_tlslink_recv(p->c, b.data, b.len, &p->c_plain, p->c_err, sizeof(p->c_err));
        hc_sbuf_free(&a);
        hc_sbuf_free(&b);
        if (!na && !nb)
            break;
    }
}

static void pair_free(pair *p)
{
    hc_tlslink_free(p->c);
    hc_tlslink_free(p->s);
    hc_sbuf_free(&p->c_plain);
    hc_sbuf_free(&p->s_plain);
}

static void test_handshake_and_data(void **state)
{
    (void)state;
    char err[256];
    SSL_CTX *sc = hc_tlslink_server_ctx(srv_pem, srv_key, NULL, err, sizeof(err));
    assert_non_null(sc);
    SSL_CTX *cc = hc_tlslink_client_ctx(ca_pem, NULL, NULL, err, sizeof(err));
    assert_non_null(cc);
    const char *names[] = {"127.0.0.1", "broker.test", NULL};
    for (size_t i = 0; i < 3; i++) {
        pair p = {0};
        p.c = hc_tlslink_new(cc, false, names[i]);
        p.s = hc_tlslink_new(sc, true, NULL);
        /* both say hello before the handshake, as the link code does */
        hc_tlslink_send(p.c, "gw-hello", 8);
        hc_tlslink_send(p.s, "br-hello", 8);
        pump(&p);
        assert_int_equal(p.c_rc, 0);
        assert_int_equal(p.s_rc, 0);
        assert_true(hc_tlslink_ready(p.c));
        assert_true(hc_tlslink_ready(p.s));
        assert_string_equal(p.s_plain.data, "gw-hello");
        assert_string_equal(p.c_plain.data, "br-hello");
        /* a large message after the handshake, in many records */
        size_t big = 200000;
        char *m = malloc(big);
        for (size_t k = 0; k < big; k++)
            m[k] = (char)('a' + k % 26);
        hc_tlslink_send(p.s, m, big);
        pump(&p);
        assert_int_equal(p.c_plain.len, 8 + big);
        assert_memory_equal(p.c_plain.data + 8, m, big);
        free(m);
        char d[256];
        hc_tlslink_describe(p.c, d, sizeof(d));
        assert_non_null(strstr(d, "CN=broker-1"));
        pair_free(&p);
    }
    SSL_CTX_free(sc);
    SSL_CTX_free(cc);
}

static void test_wrong_name_or_ca(void **state)
{
    (void)state;
    char err[256];
    SSL_CTX *sc = hc_tlslink_server_ctx(srv_pem, srv_key, NULL, err, sizeof(err));
    SSL_CTX *cc = hc_tlslink_client_ctx(ca_pem, NULL, NULL, err, sizeof(err));
    SSL_CTX *other = hc_tlslink_client_ctx(other_ca_pem, NULL, NULL, err, sizeof(err));
    assert_non_null(sc);
    assert_non_null(cc);
    assert_non_null(other);
    struct {
        SSL_CTX *ctx;
        const char *name;
    } cases[] = {{cc, "10.0.0.9"}, {cc, "evil.test"}, {other, "127.0.0.1"}};
    for (size_t i = 0; i < 3; i++) {
        pair p = {0};
        p.c = hc_tlslink_new(cases[i].ctx, false, cases[i].name);
        p.s = hc_tlslink_new(sc, true, NULL);
        hc_tlslink_send(p.c, "secret", 6);
        pump(&p);
        assert_int_equal(p.c_rc, -1);
        assert_non_null(strstr(p.c_err, "verification failed"));
        assert_false(hc_tlslink_ready(p.c));
        assert_int_equal(p.s_plain.len, 0); /* nothing reached the server */
        pair_free(&p);
    }
    SSL_CTX_free(sc);
    SSL_CTX_free(cc);
    SSL_CTX_free(other);
}

static void test_client_certificates(void **state)
{
    (void)state;
    char err[256];
    SSL_CTX *sc = hc_tlslink_server_ctx(srv_pem, srv_key, ca_pem, err, sizeof(err));
    assert_non_null(sc);
    SSL_CTX *anon = hc_tlslink_client_ctx(ca_pem, NULL, NULL, err, sizeof(err));
    SSL_CTX *with = hc_tlslink_client_ctx(ca_pem, cli_pem, cli_key, err, sizeof(err));
    assert_non_null(anon);
    assert_non_null(with);
    pair p = {0};
    p.c = hc_tlslink_new(anon, false, "127.0.0.1");
    p.s = hc_tlslink_new(sc, true, NULL);
    hc_tlslink_send(p.c, "x", 1);
    pump(&p);
    assert_int_equal(p.s_rc, -1);
    assert_int_equal(p.s_plain.len, 0);
    pair_free(&p);

    pair q = {0};
    q.c = hc_tlslink_new(with, false, "127.0.0.1");
    q.s = hc_tlslink_new(sc, true, NULL);
    hc_tlslink_send(q.c, "x", 1);
    pump(&q);
    assert_int_equal(q.s_rc, 0);
    assert_string_equal(q.s_plain.data, "x");
    char d[256];
    hc_tlslink_describe(q.s, d, sizeof(d));
    assert_non_null(strstr(d, "CN=gateway-1"));
    pair_free(&q);
    SSL_CTX_free(sc);
    SSL_CTX_free(anon);
    SSL_CTX_free(with);
}

static void test_bad_files_and_garbage(void **state)
{
    (void)state;
    char err[256];
    assert_null(hc_tlslink_server_ctx(srv_pem, cli_key, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, cli_key)); /* the file at fault is named */
    assert_null(hc_tlslink_client_ctx("/nonexistent/ca.pem", NULL, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/ca.pem"));
    SSL_CTX *sc = hc_tlslink_server_ctx(srv_pem, srv_key, NULL, err, sizeof(err));
    hc_tlslink *s = hc_tlslink_new(sc, true, NULL);
    hc_sbuf plain = HC_SBUF_INIT;
    const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(hc_tlslink_recv(s, junk, sizeof(junk) - 1, &plain, err, sizeof(err)), -1);
    assert_int_equal(plain.len, 0);
    hc_tlslink_free(s);
    hc_sbuf_free(&plain);
    SSL_CTX_free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_data),
        cmocka_unit_test(test_wrong_name_or_ca),
        cmocka_unit_test(test_client_certificates),
        cmocka_unit_test(test_bad_files_and_garbage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
