/*
 * hc_webhook: the pure part of webhooks (Pusher's "Webhooks", Soketi's
 * webhook configuration).
 *
 * Owns: the event types and their bits, the parsed form of an app's
 * "webhooks" JSON (url, event_types, filter.channel_name_starts_with /
 * channel_name_ends_with, headers), the filter rule, the JSON of each
 * webhook event, the batch body {"time_ms":...,"events":[...]}, its
 * signature (hex HMAC-SHA256 of the body keyed by the app secret, sent as
 * X-Pusher-Signature) and the retry backoff. No I/O, no clock: sending is
 * common/io/hc_webhook_send.c, queueing is broker/br_webhooks.c (Redis
 * stream) or the sender's own memory (embedded mode). Used by both tiers.
 */
#ifndef HC_WEBHOOK_H
#define HC_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hc_buf.h"

/* Event types, one bit each (the same bits as broker/lua/cluster_lib.lua). */
enum {
    HC_WH_CHANNEL_OCCUPIED = 1u << 0,
    HC_WH_CHANNEL_VACATED = 1u << 1,
    HC_WH_MEMBER_ADDED = 1u << 2,
    HC_WH_MEMBER_REMOVED = 1u << 3,
    HC_WH_CLIENT_EVENT = 1u << 4,
    HC_WH_CACHE_MISS = 1u << 5,
    HC_WH_SUBSCRIPTION_COUNT = 1u << 6,
};
#define HC_WH_ALL 0x7fu

/* Retry policy: first retry after HC_WH_BACKOFF_MIN_MS, doubling up to
 * HC_WH_BACKOFF_MAX_MS (+-20 % jitter); a batch not delivered within
 * HC_WH_GIVE_UP_MS of its first attempt is dropped (Pusher: 5 minutes). */
#define HC_WH_BACKOFF_MIN_MS 1000u
#define HC_WH_BACKOFF_MAX_MS 60000u
#define HC_WH_GIVE_UP_MS 300000u
#define HC_WH_BATCH_MAX 100 /* events in one request */

/* The bit of an event type name ("channel_occupied", ...), 0 if unknown. */
unsigned hc_wh_type_of(const char *name);
/* The name of one bit, NULL if not exactly one known bit. */
const char *hc_wh_type_name(unsigned bit);

typedef struct hc_wh_header {
    char *name, *value;
} hc_wh_header;

/* One webhook target of an app. */
typedef struct hc_wh_target {
    char *url;
    unsigned mask;     /* event types sent to it */
    char *starts_with; /* filter.channel_name_starts_with, or NULL */
    char *ends_with;   /* filter.channel_name_ends_with, or NULL */
    hc_wh_header *headers;
    size_t nheaders;
} hc_wh_target;

typedef struct hc_wh_config {
    hc_wh_target *t;
    size_t n;
} hc_wh_config;

/* Parses an app's "webhooks" array (json may be NULL or "": no targets).
 * A target needs "url" (http:// or https://); "event_types" (absent: every
 * type) must list known names; "filter" and "headers" are optional objects
 * of strings. Returns 0, or -1 with a sentence in err (*out left empty). */
int hc_wh_parse(const char *json, hc_wh_config *out, char *err, size_t errlen);
void hc_wh_config_free(hc_wh_config *c);
/* Union of the targets' masks. */
unsigned hc_wh_config_mask(const hc_wh_config *c);
/* True when target t wants an event of this type on this channel. */
bool hc_wh_matches(const hc_wh_target *t, unsigned type, const char *channel);

/* One request of a batch: target t of the config gets events idx[0..k)
 * (indexes into the batch, in batch order). */
typedef void (*hc_wh_plan_fn)(void *ud, size_t t, const size_t *idx, size_t k);
/* Batching: splits a batch of n events (types[i], channels[i]) into
 * requests: for each target in order, the events it wants (type and
 * filter), in order, in chunks of at most max (> 0). Calls fn once per
 * request and returns how many there were. */
size_t hc_wh_plan(const hc_wh_config *c, const unsigned *types, const char *const *channels,
                  size_t n, size_t max, hc_wh_plan_fn fn, void *ud);

/* Event JSON (appended to b), as Pusher sends them. */
void hc_wh_event_channel(hc_sbuf *b, unsigned type,
                         const char *channel); /* occupied, vacated, cache_miss */
void hc_wh_event_member(hc_sbuf *b, unsigned type, const char *channel, const char *user_id);
void hc_wh_event_count(hc_sbuf *b, const char *channel, uint64_t count);
/* user_id may be NULL (left out). data is the event's data text. */
void hc_wh_event_client(hc_sbuf *b, const char *channel, const char *event, const char *data,
                        size_t data_len, const char *socket_id, const char *user_id);
/* Reads type and channel back from an event's JSON; returns false when it
 * is not one (the sender then drops it). *channel is malloc'd. */
bool hc_wh_event_parse(const char *json, size_t len, unsigned *type, char **channel);

/* The request body: {"time_ms":<time_ms>,"events":[e0,e1,...]}; each event
 * is JSON text inserted verbatim. */
void hc_wh_body(hc_sbuf *b, uint64_t time_ms, const char *const *events, size_t n);
/* X-Pusher-Signature: hex HMAC-SHA256(secret, body). */
void hc_wh_sign(const char *secret, const void *body, size_t len, char out[65]);
/* Delay before retry number attempt (1 = the first retry), rnd any random
 * number (jitter). */
uint64_t hc_wh_backoff_ms(unsigned attempt, uint64_t rnd);

#endif
