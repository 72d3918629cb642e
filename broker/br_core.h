/*
 * br_core: the broker's channels, interest and publish handling.
 *
 * Owns the table (app_id, channel) -> set of interested links, and each
 * link's list of channels and unanswered publishes. It turns a gateway's
 * Subscribe/Unsubscribe into store subscribe_live/unsubscribe_live calls
 * (first interest / last interest only), a Publish into a store append
 * followed by a PublishAck to the link that asked, and every live entry the
 * store reports into one Event frame, encoded once and handed to every
 * interested link. It knows neither TCP nor Redis: a link is a send
 * function, the store is br_store. Called by br_server.c (links) and by the
 * store (live entries, publish outcomes); single threaded.
 */
#ifndef BR_CORE_H
#define BR_CORE_H

#include <stddef.h>

#include "br_cluster.h"
#include "br_store.h"
#include "hc_buf.h"
#include "herald.pb-c.h"

typedef struct br_core br_core;
typedef struct br_core_link br_core_link;

/* Hands one whole frame (length header + herald.Frame) to a link. The
 * callee takes its own reference if it keeps the buffer; the caller keeps
 * and drops its own. Must not call back into the core (a link that has to
 * close does so later, then calls br_core_link_remove). */
typedef void (*br_link_send_fn)(void *ctx, hc_rbuf *frame);

/* New core over store (not owned; must outlive the core). Installs the
 * core as the store's live-entry sink. */
br_core *br_core_new(br_store *store);
/* Frees the core; every link must have been removed first. Does not touch
 * the store (which may be freed before or after). */
void br_core_free(br_core *c);

/* Registers a link; send/ctx are used until br_core_link_remove. */
br_core_link *br_core_link_add(br_core *c, br_link_send_fn send, void *ctx);
/* Drops every interest of the link (unsubscribing channels nobody else
 * wants) and forgets its unanswered publishes (their acks are dropped).
 * Frees l. */
void br_core_link_remove(br_core *c, br_core_link *l);

/* Interest of link l in (app_id, channel). Idempotent per link. */
void br_core_subscribe(br_core *c, br_core_link *l, const char *app_id, const char *channel);
void br_core_unsubscribe(br_core *c, br_core_link *l, const char *app_id, const char *channel);

/* Appends p's event to its channel through the store; l gets a
 * PublishAck{request_id} when the store answers (if l still exists). */
void br_core_publish(br_core *c, br_core_link *l, const Herald__Publish *p);

/* The store's live-entry sink (installed by br_core_new; a br_live_fn). */
void br_core_on_live(void *core, const char *app_id, const char *channel, const char *epoch,
                     uint64_t offset, const uint8_t *event, size_t event_len);

/* The store's "live feed in effect" sink (installed by br_core_new):
 * sends Resync{app_id, channel} to every interested link. */
void br_core_on_resync(void *core, const char *app_id, const char *channel);

/* Encodes the event part the core stores and publishes: a herald.Event
 * with name, data, socket_id and user_id only. Returns malloc'd bytes
 * (caller frees) and sets *len. */
uint8_t *br_core_encode_event(const Herald__Publish *p, size_t *len);
/* The same, with the broker's receive time (published_us, wall-clock us;
 * 0 = none) stored beside them; br_core_publish stamps every event so. */
uint8_t *br_core_encode_event_at(const Herald__Publish *p, uint64_t published_us, size_t *len);

/* Installs the cluster state (presence, counts, channel queries; not
 * owned, may be NULL: then every ClusterCall is answered with an error). */
void br_core_set_cluster(br_core *c, br_cluster *cluster);
/* Runs call through the cluster; l gets a ClusterReply{request_id} when it
 * answers (if l still exists). */
void br_core_cluster_call(br_core *c, br_core_link *l, const Herald__ClusterCall *call);

/* Counts, for tests and logs. */
size_t br_core_channel_count(const br_core *c);
size_t br_core_link_count(const br_core *c);

#endif
