/*
 * gw_watchlist: online membership, watch subscriptions and the watchlist
 * frames (see gw_watchlist.h).
 *
 * A sign-in with a watchlist sends one ClusterCall "online" (answered by
 * broker/lua/cluster_online.lua) and remembers, per watched channel, the
 * gw_subs hold that keeps the connection's live frames back meanwhile; the
 * call's state (w_call) owns copies of everything it needs, so a
 * connection that closed before the answer is simply no longer held. The
 * object counts calls in flight so gw_watchlist_free can return at once.
 */
#include "gw_watchlist.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_recovery.h"
#include "hc_buf.h"
#include "hc_log.h"
#include "hc_mem.h"

struct gw_watchlist {
    gw_subs *subs;
    gw_presence *presence;
    gw_link *link;
    gw_recovery *rec;
    size_t headroom;
    size_t inflight;
    bool closed;
};

typedef struct w_call {
    gw_watchlist *w;
    char *app_id;
    size_t n;
    char **channels;
    uint64_t *holds;
    bool *fresh; /* the channel had no local subscriber: its interest is new */
} w_call;

static bool starts_with(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool gw_watchlist_channel(const char *channel)
{
    return starts_with(channel, GW_WATCHLIST_PREFIX);
}

static char *online_channel(const char *user_id)
{
    hc_sbuf b = HC_SBUF_INIT;
    hc_sbuf_puts(&b, GW_WATCHLIST_PREFIX);
    hc_sbuf_puts(&b, user_id);
    return hc_sbuf_steal(&b);
}

/* Appends {"name":"<name>","user_ids":[...]} (JSON text, not yet quoted). */
static void event_entry(hc_sbuf *b, const char *name, const char *const *ids, size_t n)
{
    hc_sbuf_printf(b, "{\"name\":\"%s\",\"user_ids\":[", name);
    for (size_t i = 0; i < n; i++) {
        if (i)
            hc_sbuf_puts(b, ",");
        hc_sbuf_json_string(b, ids[i], strlen(ids[i]));
    }
    hc_sbuf_puts(b, "]}");
}

/* Appends the whole frame whose data holds `entries` (JSON text). */
static void frame_with(hc_sbuf *b, const hc_sbuf *entries)
{
    hc_sbuf inner = HC_SBUF_INIT;
    hc_sbuf_puts(&inner, "{\"events\":[");
    hc_sbuf_append(&inner, entries->data, entries->len);
    hc_sbuf_puts(&inner, "]}");
    hc_sbuf_puts(b, "{\"event\":\"pusher_internal:watchlist_events\",\"data\":");
    hc_sbuf_json_string(b, inner.data, inner.len);
    hc_sbuf_puts(b, "}");
    hc_sbuf_free(&inner);
}

void gw_watchlist_frame(hc_sbuf *b, const Herald__Event *ev)
{
    const char *name = ev->name ? ev->name : "";
    const char *what = strcmp(name, "pusher_internal:member_added") == 0     ? "online"
                       : strcmp(name, "pusher_internal:member_removed") == 0 ? "offline"
                                                                             : NULL;
    if (!what || !gw_watchlist_channel(ev->channel))
        return;
    const char *id = ev->channel + strlen(GW_WATCHLIST_PREFIX);
    if (!*id)
        return;
    hc_sbuf entries = HC_SBUF_INIT;
    event_entry(&entries, what, &id, 1);
    frame_with(b, &entries);
    hc_sbuf_free(&entries);
}

bool gw_watchlist_initial(hc_sbuf *b, const char *json, size_t len)
{
    json_t *root = json_loadb(json, len, 0, NULL);
    size_t n = json_array_size(root);
    const char **on = hc_calloc(n ? n : 1, sizeof(*on));
    const char **off = hc_calloc(n ? n : 1, sizeof(*off));
    size_t non = 0, noff = 0;
    bool ok = json_is_array(root);
    for (size_t i = 0; ok && i < n; i++) {
        json_t *row = json_array_get(root, i);
        json_t *id = json_array_get(row, 0), *state = json_array_get(row, 1);
        ok = json_is_string(id) && json_is_integer(state);
        if (ok && json_integer_value(state))
            on[non++] = json_string_value(id);
        else if (ok)
            off[noff++] = json_string_value(id);
    }
    if (ok && (non || noff)) {
        hc_sbuf entries = HC_SBUF_INIT;
        if (non)
            event_entry(&entries, "online", on, non);
        if (non && noff)
            hc_sbuf_puts(&entries, ",");
        if (noff)
            event_entry(&entries, "offline", off, noff);
        frame_with(b, &entries);
        hc_sbuf_free(&entries);
    }
    free(on);
    free(off);
    json_decref(root);
    return ok;
}

/* ---- the server side --------------------------------------------------- */

gw_watchlist *gw_watchlist_new(gw_subs *subs, gw_presence *presence, gw_link *link,
                               struct gw_recovery *rec, size_t headroom)
{
    gw_watchlist *w = hc_calloc(1, sizeof(*w));
    w->rec = rec;
    w->subs = subs;
    w->presence = presence;
    w->link = link;
    w->headroom = headroom;
    return w;
}

void gw_watchlist_free(gw_watchlist *w)
{
    if (!w)
        return;
    w->closed = true;
    w->subs = NULL;
    w->presence = NULL;
    w->link = NULL;
    w->rec = NULL;
    if (!w->inflight)
        free(w);
}

static void call_free(w_call *c)
{
    gw_watchlist *w = c->w;
    for (size_t i = 0; i < c->n; i++)
        free(c->channels[i]);
    free(c->channels);
    free(c->holds);
    free(c->fresh);
    free(c->app_id);
    free(c);
    if (--w->inflight == 0 && w->closed)
        free(w);
}

/* gw_call_cb: the "online" answer. The initial frame goes first, then each
 * hold is released after the position the answer was read at. */
static void on_online(void *ud, const char *error, const char *json, size_t len)
{
    w_call *c = ud;
    gw_watchlist *w = c->w;
    if (w->closed) {
        call_free(c);
        return;
    }
    gw_subscriber *s = NULL;
    for (size_t i = 0; i < c->n && !s; i++)
        s = gw_subs_held(w->subs, c->app_id, c->channels[i], c->holds[i]);
    json_t *rows = error ? NULL : json_loadb(json, len, 0, NULL);
    hc_sbuf b = HC_SBUF_INIT;
    bool ok = !error && json_array_size(rows) == c->n && gw_watchlist_initial(&b, json, len);
    if (!ok)
        hc_warn("watchlist state could not be read (%s); only later changes will be told",
                error ? error : "malformed answer");
    if (s && b.len) {
        hc_rbuf *f = hc_rbuf_from(w->headroom, b.data, b.len);
        gw_subs_push(w->subs, s, f);
        hc_rbuf_unref(f);
    }
    hc_sbuf_free(&b);
    for (size_t i = 0; i < c->n; i++) {
        gw_subscriber *held = gw_subs_held(w->subs, c->app_id, c->channels[i], c->holds[i]);
        if (!held)
            continue;
        json_t *row = ok ? json_array_get(rows, i) : NULL;
        const char *epoch = json_string_value(json_array_get(row, 2));
        json_int_t off = json_integer_value(json_array_get(row, 3));
        uint64_t at = off > 0 ? (uint64_t)off : 0;
        gw_subs_release(w->subs, held, c->app_id, c->channels[i], epoch, at, at);
        /* A new interest may have become effective at its broker only
         * after the answer was read: catch up from that position. */
        if (epoch && c->fresh[i] && w->rec)
            gw_recovery_rehome(w->rec, c->app_id, c->channels[i]);
    }
    json_decref(rows);
    call_free(c);
}

/* Collects s's online channels (gw_subs_channel_fn). */
typedef struct w_list {
    char **v;
    size_t n, cap;
} w_list;

static void collect_online(void *ud, const char *app_id, const char *channel, size_t count)
{
    (void)app_id;
    (void)count;
    w_list *l = ud;
    if (!gw_watchlist_channel(channel))
        return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = hc_realloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = hc_strdup(channel);
}

void gw_watchlist_signed_in(gw_watchlist *w, gw_subscriber *s, const hc_app *app,
                            const char *socket_id, const char *previous, const char *user_id,
                            const char *const *ids, size_t n)
{
    if (w->closed)
        return;
    char *ch;
    if (previous && previous[0] && strcmp(previous, user_id) != 0) {
        ch = online_channel(previous);
        gw_presence_leave(w->presence, app->id, ch, socket_id);
        free(ch);
    }
    ch = online_channel(user_id);
    gw_presence_join(w->presence, NULL, app, ch, socket_id, user_id, "");
    free(ch);

    /* a new sign-in replaces the watchlist */
    w_list old = {0};
    gw_subscriber_each(s, collect_online, &old);
    for (size_t i = 0; i < old.n; i++) {
        gw_subs_leave(w->subs, s, app->id, old.v[i]);
        free(old.v[i]);
    }
    free(old.v);
    if (!n)
        return;

    w_call *c = hc_calloc(1, sizeof(*c));
    c->w = w;
    c->app_id = hc_strdup(app->id);
    c->channels = hc_calloc(n, sizeof(*c->channels));
    c->holds = hc_calloc(n, sizeof(*c->holds));
    c->fresh = hc_calloc(n, sizeof(*c->fresh));
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        c->channels[i] = online_channel(ids[i]);
        c->fresh[i] = gw_subs_local_count(w->subs, app->id, c->channels[i]) == 0;
        gw_subs_join(w->subs, s, app->id, c->channels[i]);
        c->holds[i] = gw_subs_hold(w->subs, s, app->id, c->channels[i]);
    }
    w->inflight++;
    Herald__ClusterCall call = HERALD__CLUSTER_CALL__INIT;
    call.op = "online";
    call.app_id = (char *)app->id;
    call.n_user_ids = n;
    call.user_ids = (char **)ids;
    gw_link_call(w->link, &call, on_online, c);
}

void gw_watchlist_closed(gw_watchlist *w, const char *app_id, const char *socket_id,
                         const char *user_id)
{
    if (w->closed || !user_id || !user_id[0])
        return;
    char *ch = online_channel(user_id);
    gw_presence_leave(w->presence, app_id, ch, socket_id);
    free(ch);
}
