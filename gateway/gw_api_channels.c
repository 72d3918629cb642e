/*
 * gw_api_channels: the channel queries of the Pusher HTTP API.
 *
 * Owns the rules of GET /apps/{id}/channels (filter_by_prefix, info =
 * user_count for presence prefixes only, subscription_count), GET
 * /apps/{id}/channels/{name} (info as above) and GET
 * /apps/{id}/channels/{name}/users (presence channels only), and their
 * 400 sentences. It does not answer them: it sets the response's query
 * (op, app, channel, flags), which gw_http runs as one ClusterCall through
 * a broker against the cluster state in Redis; the JSON comes back ready
 * (broker/lua/cluster_channel(s)/users.lua). Called by gw_api.c after the
 * request's signature and app were checked; pure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_api.h"
#include "hc_channel.h"
#include "hc_mem.h"

unsigned gw_api_info_flags(const char *info)
{
    unsigned flags = 0;
    const char *p = info;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 10 && strncmp(p, "user_count", n) == 0)
            flags |= 1;
        else if (n == 18 && strncmp(p, "subscription_count", n) == 0)
            flags |= 2;
        p = end ? end + 1 : NULL;
    }
    return flags;
}

static void set_query(gw_api_response *out, const char *op, const hc_app *app, const char *channel,
                      unsigned flags)
{
    out->status = 200;
    out->query_op = hc_strdup(op);
    out->query_app_id = hc_strdup(app->id);
    out->query_channel = hc_strdup(channel);
    out->query_flags = flags;
}

static bool is_presence(const char *name)
{
    return strncmp(name, "presence-", 9) == 0;
}

void gw_api_channels(const hc_app *app, const gw_api_request *req, const char *rest,
                     gw_api_response *out)
{
    const char *info = hc_query_get(req->query, "info");
    unsigned flags = info ? gw_api_info_flags(info) : 0;
    if (!*rest) {
        const char *prefix = hc_query_get(req->query, "filter_by_prefix");
        if (!prefix)
            prefix = "";
        if ((flags & 1) && !is_presence(prefix)) {
            gw_api_set_error(out, 400,
                             "info=user_count is only available with "
                             "filter_by_prefix=presence-");
            return;
        }
        set_query(out, "channels", app, prefix, flags);
        return;
    }
    /* "/{name}" or "/{name}/users" */
    char *name = hc_strdup(rest + 1);
    char *slash = strchr(name, '/');
    bool users = false;
    if (slash) {
        users = strcmp(slash, "/users") == 0;
        *slash = '\0';
        if (!users) {
            gw_api_set_error(out, 404, "Not found: use channels/{name} or channels/{name}/users");
            free(name);
            return;
        }
    }
    const char *why = NULL;
    if (!*name || !hc_channel_valid(name, app->max_channel_name_len, &why)) {
        char msg[256];
        snprintf(msg, sizeof(msg), "Invalid channel name: %s", why ? why : "empty");
        gw_api_set_error(out, 400, msg);
    } else if (users && !is_presence(name)) {
        gw_api_set_error(out, 400, "users are available for presence channels only");
    } else if (!users && (flags & 1) && !is_presence(name)) {
        gw_api_set_error(out, 400, "info=user_count is only available for presence channels");
    } else {
        set_query(out, users ? "users" : "channel", app, name, flags);
    }
    free(name);
}
