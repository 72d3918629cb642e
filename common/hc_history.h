/*
 * hc_history: an app's history rules, by channel-name prefix.
 *
 * Owns the parsed rules of an app's "history" array:
 *   [{"prefix":"chat-","size":1000,"ttl":3600,"rewindOnSubscribe":10}, ...]
 * and the choice of the rule for a channel (the longest matching prefix).
 * A channel no rule matches keeps the cluster's default bound (the
 * broker's --history-size / --history-ttl); cache channels (cache-,
 * private-cache-, ...) default to a 30-minute TTL. Pure: no I/O. Used by
 * hc_apps (parsing, copying, freeing with the app) and by the gateway
 * (bounds sent with each Publish, rewind-on-subscribe).
 */
#ifndef HC_HISTORY_H
#define HC_HISTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TTL (seconds) of a cache channel's history when no rule says otherwise. */
#define HC_HISTORY_CACHE_TTL 1800

typedef struct hc_history_rule {
    char *prefix;
    uint32_t size;   /* events kept; 0 = the cluster default */
    uint32_t ttl;    /* seconds; 0 = the cluster default */
    uint32_t rewind; /* rewind-on-subscribe: last N events to a new subscriber */
} hc_history_rule;

typedef struct hc_history {
    hc_history_rule *rules;
    size_t n;
} hc_history;

/* Parses a JSON "history" array (NULL or JSON null: no rules, *out NULL).
 * Returns false with a sentence in err. */
bool hc_history_from_json(const json_t *arr, hc_history **out, char *err, size_t errlen);
/* Deep copy (NULL for NULL). */
hc_history *hc_history_copy(const hc_history *h);
void hc_history_free(hc_history *h);
/* The rule for channel (longest prefix), or NULL. h may be NULL. */
const hc_history_rule *hc_history_match(const hc_history *h, const char *channel);
/* The bound to store channel's events with: *size / *ttl (0 = the
 * cluster default). */
void hc_history_bound(const hc_history *h, const char *channel, uint32_t *size, uint32_t *ttl);

#endif
