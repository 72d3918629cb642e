/*
 * hc_tlslink: TLS for the gateway <-> broker links, as a byte transformer.
 *
 * Owns one OpenSSL SSL object between two memory BIOs: the caller feeds it
 * the bytes read from the socket (hc_tlslink_recv: plaintext comes out),
 * hands it plaintext to send (hc_tlslink_send: buffered until the
 * handshake is done), and writes to the socket whatever ciphertext it
 * takes out (hc_tlslink_take). It does no I/O and knows nothing of libuv,
 * so both ends of a link are unit-tested against each other in memory
 * (tests/unit/test_hc_tlslink.c). Also builds the SSL_CTXs: a server
 * context from a certificate and key (optionally requiring client
 * certificates signed by a CA), a client context verifying the server
 * against a CA (optionally presenting a certificate). Client connections
 * check the server's name: a host name, or an IP address literal against
 * the certificate's IP SANs. Used by gw_link_tcp.c (client) and
 * br_server.c (server); configured by gw_main.c and br_main.c.
 */
#ifndef HC_TLSLINK_H
#define HC_TLSLINK_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "hc_buf.h"

/* Server context: cert (PEM, chain after it) and key; client_ca non-NULL:
 * require a client certificate signed by it. NULL with err. */
SSL_CTX *hc_tlslink_server_ctx(const char *cert, const char *key, const char *client_ca, char *err,
                               size_t errlen);
/* Client context verifying servers against ca; cert/key (both or
 * neither): the client certificate. NULL with err. */
SSL_CTX *hc_tlslink_client_ctx(const char *ca, const char *cert, const char *key, char *err,
                               size_t errlen);

typedef struct hc_tlslink hc_tlslink;

/* A new TLS endpoint on ctx. Client: peer_name (host name or IP literal)
 * is what the server's certificate must name (NULL: any name signed by
 * the CA), and the first ciphertext (ClientHello) is ready to take. */
hc_tlslink *hc_tlslink_new(SSL_CTX *ctx, bool server, const char *peer_name);
void hc_tlslink_free(hc_tlslink *t);

/* Ciphertext from the peer: appends what it decrypts to plain. Returns 0,
 * or -1 with a sentence in err (handshake or verification failure, a
 * corrupt record, or the peer closed the TLS session). */
int hc_tlslink_recv(hc_tlslink *t, const void *in, size_t n, hc_sbuf *plain, char *err,
                    size_t errlen);
/* Plaintext to send (encrypted now, or once the handshake completes). */
void hc_tlslink_send(hc_tlslink *t, const void *p, size_t n);
/* Moves the ciphertext waiting for the socket into out (appended);
 * returns how many bytes. */
size_t hc_tlslink_take(hc_tlslink *t, hc_sbuf *out);
/* True once the handshake completed (and the peer verified). */
bool hc_tlslink_ready(const hc_tlslink *t);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384, peer CN=..." once ready. */
void hc_tlslink_describe(const hc_tlslink *t, char *out, size_t outlen);

#endif
