/*
 * hc_channel: Pusher channel-name rules.
 *
 * Validation (length, alphabet `A-Z a-z 0-9 _ - = @ , . ;`) and the channel
 * type given by its prefix, checked anchored and longest-first
 * (private-encrypted- before private-). Pure functions over a string.
 */
#ifndef HC_CHANNEL_H
#define HC_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    HC_CH_PUBLIC = 0,
    HC_CH_PRIVATE,
    HC_CH_PRESENCE,
    HC_CH_PRIVATE_ENCRYPTED,
    HC_CH_SERVER_USER, /* #server-to-user-<id>: server only */
} hc_channel_type;

#define HC_CHANNEL_MAX_LEN_DEFAULT 200

/* Returns true when name is a valid channel name of at most max_len bytes
 * that clients may use ('#' channels are refused). On false, *why (if not
 * NULL) gets a static sentence saying what is wrong. */
bool hc_channel_valid(const char *name, size_t max_len, const char **why);
hc_channel_type hc_channel_type_of(const char *name);
/* cache-, private-cache-, presence-cache-, private-encrypted-cache- */
bool hc_channel_is_cache(const char *name);
const char *hc_channel_type_name(hc_channel_type t);

#endif
