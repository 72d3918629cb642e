/*
 * gw_tls: the gateway's TLS certificate, loaded from files and reloadable
 * without a restart.
 *
 * Owns the certificate and key paths, the OpenSSL SSL_CTX of the lws vhost
 * (borrowed from lws: gw_server hands it over from
 * LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS, the vhost being
 * created with LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX and no file of its
 * own), the file watch (a libuv timer comparing the files' inode, size and
 * mtime every --tls-watch seconds) and the reload itself: both files are
 * read and parsed first, the key must match the certificate, and only then
 * are certificate, chain and key put into the SSL_CTX in one call
 * (SSL_CTX_use_cert_and_key). A file that is missing, half written or does
 * not match leaves the current certificate in place (logged, counted in
 * herald_tls_reloads_total{result="error"}). New connections get the new
 * certificate; an existing connection keeps the one it was made with
 * (OpenSSL copies it into each SSL at SSL_new). gw_main creates it, reloads
 * it on SIGHUP and frees it; gw_server attaches it to the vhost.
 */
#ifndef GW_TLS_H
#define GW_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>
#include <uv.h>

typedef struct gw_tls gw_tls;

/* Checks that cert (PEM, the certificate then any chain) and key (PEM;
 * encrypted with passphrase when that is not NULL or empty: it is kept
 * for reloads) can be loaded and match; watches them every watch_s
 * seconds (0: never; SIGHUP only). NULL with a sentence in err. */
gw_tls *gw_tls_new(uv_loop_t *loop, const char *cert, const char *key, const char *passphrase,
                   unsigned watch_s, char *err, size_t errlen);
/* Loads the certificate into ctx (the vhost's) and remembers ctx for
 * reloads. 0, or -1 (logged). */
int gw_tls_attach(gw_tls *t, SSL_CTX *ctx);
/* Reads the files again and, when they are good, serves them to new
 * connections. why is logged ("SIGHUP", "file changed"). 0 when the new
 * certificate is in place, -1 when the old one stays. */
int gw_tls_reload(gw_tls *t, const char *why);
/* "CN=..., serial ..., expires ..." of the certificate in use. */
void gw_tls_describe(const gw_tls *t, char *out, size_t outlen);
/* Stops the file watch (its handle closes as the loop runs). */
void gw_tls_stop(gw_tls *t);
/* Frees it once the loop has finished. NULL is fine. */
void gw_tls_free(gw_tls *t);

#endif
