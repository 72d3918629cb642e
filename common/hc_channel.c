/*
 * hc_channel: Pusher's channel-name rules: the alphabet, the length limit
 * (a per-app setting passed in) and the type a prefix gives. Owns nothing;
 * does not know whether a type is supported (the gateway decides that).
 * Called by the gateway's subscribe handling and HTTP API.
 */
#include "hc_channel.h"

#include <string.h>

static bool hc_starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* True for A-Z a-z 0-9 _ - = @ , . ; */
static bool hc_channel_char_ok(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("_-=@,.;", c) != NULL;
}

static bool hc_fail(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return false;
}

bool hc_channel_valid(const char *name, size_t max_len, const char **why)
{
    if (!name || !*name)
        return hc_fail(why, "channel name is empty");
    size_t n = strlen(name);
    if (n > max_len)
        return hc_fail(why, "channel name is too long");
    if (strchr(name, '#'))
        return hc_fail(why, "channel names containing '#' are reserved for the server");
    for (size_t i = 0; i < n; i++)
        if (!hc_channel_char_ok((unsigned char)name[i]))
            return hc_fail(why, "channel name may only contain A-Z a-z 0-9 _ - = @ , . ;");
    return true;
}

hc_channel_type hc_channel_type_of(const char *name)
{
    if (hc_starts_with(name, "#server-to-user-"))
        return HC_CH_SERVER_USER;
    if (hc_starts_with(name, "private-encrypted-"))
        return HC_CH_PRIVATE_ENCRYPTED;
    if (hc_starts_with(name, "private-"))
        return HC_CH_PRIVATE;
    if (hc_starts_with(name, "presence-"))
        return HC_CH_PRESENCE;
    return HC_CH_PUBLIC;
}

bool hc_channel_is_cache(const char *name)
{
    static const char *const prefixes[] = {"cache-", "private-cache-", "presence-cache-",
                                           "private-encrypted-cache-"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (hc_starts_with(name, prefixes[i]))
            return true;
    return false;
}

/* Returns a static name for t ("public", "private", ...). */
const char *hc_channel_type_name(hc_channel_type t)
{
    switch (t) {
    case HC_CH_PUBLIC:
        return "public";
    case HC_CH_PRIVATE:
        return "private";
    case HC_CH_PRESENCE:
        return "presence";
    case HC_CH_PRIVATE_ENCRYPTED:
        return "private-encrypted";
    case HC_CH_SERVER_USER:
        return "server-to-user";
    }
    return "unknown";
}
