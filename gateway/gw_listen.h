/*
 * gw_listen: the gateway's listening socket, accepted by Herald and handed
 * to libwebsockets (lws_adopt_descriptor_vhost_via_info).
 *
 * Owns the listening socket (IPv4, IPv6 or dual-stack from the --host
 * text), its uv_poll watcher and the accept loop. lws 4.1 accepts by
 * itself when it listens, but on EMFILE/ENFILE it only logs and returns,
 * and the listening socket, still readable, wakes the loop again at once:
 * the gateway would spin at 100 % CPU printing errors. Here, when accept
 * fails for lack of descriptors the watcher is stopped (accepts paused),
 * the pause is logged once and counted (herald_accept_fd_exhausted_total,
 * herald_accept_paused), and accepting resumes after a back-off
 * (gw_connlimit) or as soon as a connection closes (gw_listen_fd_freed).
 * Each accepted connection is checked against the per-address rate
 * (gw_connlimit_accept); one over it is still adopted, marked, so that its
 * first HTTP request or WebSocket upgrade can be answered 429 with a
 * message (gw_listen_refused, gw_listen_refuse_upgrade). It does not parse
 * HTTP or TLS: lws does. Created, told about closes and closed by
 * gw_server.
 */
#ifndef GW_LISTEN_H
#define GW_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

#include <libwebsockets.h>
#include <uv.h>

#include "gw_connlimit.h"

typedef struct gw_listen gw_listen;

/* Binds host:port (port 0: any free one) and starts accepting into vh.
 * lim is borrowed. NULL with a sentence in err when it cannot listen. */
gw_listen *gw_listen_new(uv_loop_t *loop, const char *host, int port, struct lws_vhost *vh,
                         gw_connlimit *lim, bool tls, char *err, size_t errlen);
/* The port actually bound. */
int gw_listen_port(const gw_listen *l);
/* A client connection closed: if accepts are paused for lack of
 * descriptors, try again now. */
void gw_listen_fd_freed(gw_listen *l);
/* True while accepting is paused (out of descriptors). */
bool gw_listen_paused(const gw_listen *l);
/* Stops accepting and closes the socket; l is freed once libuv is done. */
void gw_listen_close(gw_listen *l);

/* True when wsi's connection exceeded its address's connection rate and
 * must be refused. */
bool gw_listen_refused(struct lws *wsi);
/* The refusal's message ("Too many connections from your address ..."). */
const char *gw_listen_refusal(void);
/* Answers a refused WebSocket upgrade with 429 and the message (JSON
 * {"error":...}); returns what LWS_CALLBACK_HTTP_CONFIRM_UPGRADE must
 * return (-1: close once written). */
int gw_listen_refuse_upgrade(struct lws *wsi);

#endif
