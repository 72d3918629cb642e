/*
 * br_server: the broker's TCP side — one link per gateway connection.
 *
 * Owns the listening socket and every link: reading length-prefixed
 * herald.Frame messages (hc_frame_reader), the Hello exchange, Ping->Pong,
 * handing Subscribe/Unsubscribe/Publish to the core, and writing what the
 * core sends (PublishAck, Event) from a bounded per-link output queue of
 * shared hc_rbuf frames. A link whose queue passes max_queue_bytes is cut
 * off (logged); the gateway reconnects and recovers. Knows nothing about
 * Redis. Created and closed by br_main.c.
 */
#ifndef BR_SERVER_H
#define BR_SERVER_H

#include <stddef.h>
#include <uv.h>

#include "br_core.h"

#define BR_SERVER_MAX_QUEUE_DEFAULT (64u * 1024u * 1024u)

typedef struct br_server br_server;

typedef struct br_server_opts {
    const char *host;       /* address or name to listen on */
    int port;               /* 0: any free port (see br_server_port) */
    const char *node_id;    /* sent in Hello; copied */
    size_t max_queue_bytes; /* per-link output bound (one frame always fits); 0: default */
    struct ssl_ctx_st *tls; /* server context (hc_tlslink_server_ctx), borrowed; NULL: plain TCP */
} br_server_opts;

/* Binds and listens. Returns NULL with a sentence in err on failure. The
 * core must outlive the server. */
br_server *br_server_new(uv_loop_t *loop, br_core *core, const br_server_opts *opts, char *err,
                         size_t errlen);
/* The port actually bound. */
int br_server_port(const br_server *srv);
/* Stops accepting new gateway links (existing ones go on). */
void br_server_stop_listening(br_server *srv);
/* Bytes queued to gateways and not yet written, over every link. */
size_t br_server_queued_bytes(const br_server *srv);
/* Stops listening and closes every link (removing it from the core). When
 * all of the server's handles are closed, calls done(arg) and frees srv. */
void br_server_close(br_server *srv, void (*done)(void *arg), void *arg);

#endif
