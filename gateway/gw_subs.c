/*
 * gw_subs: local subscription table and fan-out (see gw_subs.h).
 *
 * Owns the channel records (gw_chan), the membership records (gw_sub: one
 * per (connection, channel), linked both into its channel's list and into
 * its subscriber's list, and put in the subscriber's index when it has
 * more than GW_SUBS_INDEX_MIN) and the shared event frames until the last
 * queue drops them. Keys are "<app_id>\0<channel>" so no character of either can
 * make two channels collide. Hooks must not modify the table.
 */
#include "gw_subs.h"
#include "gw_subs_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_watchlist.h"
#include "hc_buf.h"
#include "hc_log.h"
#include "hc_mem.h"

/* Builds the composite key into a new buffer (caller frees); *klen gets
 * its length. */
static char *make_key(const char *app_id, const char *channel, size_t *klen)
{
    size_t a = strlen(app_id), c = strlen(channel);
    char *k = hc_malloc(a + 1 + c + 1);
    memcpy(k, app_id, a + 1);
    memcpy(k + a + 1, channel, c + 1);
    *klen = a + 1 + c;
    return k;
}

gw_subs *gw_subs_new(const gw_subs_hooks *hooks, void *ud, size_t headroom)
{
    gw_subs *t = hc_calloc(1, sizeof(*t));
    t->hooks = *hooks;
    t->ud = ud;
    t->headroom = headroom;
    return t;
}

/* ---- a subscriber's memberships ------------------------------------ */

/* Below this many memberships a subscriber's index is dropped again. */
#define INDEX_DROP (GW_SUBS_INDEX_MIN / 2)

gw_sub *gw__subs_member(const gw_subscriber *s, const gw_chan *ch)
{
    if (s->index)
        return hc_map_get(s->index, ch->key, ch->klen);
    for (gw_sub *m = s->subs; m; m = m->snext)
        if (m->ch == ch)
            return m;
    return NULL;
}

static void index_free(gw_subscriber *s)
{
    if (s->index) {
        hc_map_free(s->index);
        free(s->index);
        s->index = NULL;
    }
}

/* Adds m (its ch set) to m->s's list, and to its index when it has one or
 * now needs one. */
static void member_add(gw_sub *m)
{
    gw_subscriber *s = m->s;
    m->sprev = NULL;
    m->snext = s->subs;
    if (s->subs)
        s->subs->sprev = m;
    s->subs = m;
    s->nsubs++;
    if (s->index) {
        hc_map_put(s->index, m->ch->key, m->ch->klen, m);
    } else if (s->nsubs > GW_SUBS_INDEX_MIN) {
        s->index = hc_calloc(1, sizeof(*s->index));
        for (gw_sub *x = s->subs; x; x = x->snext)
            hc_map_put(s->index, x->ch->key, x->ch->klen, x);
    }
}

/* Takes m out of m->s's list and index. */
static void member_remove(gw_sub *m)
{
    gw_subscriber *s = m->s;
    if (m->sprev)
        m->sprev->snext = m->snext;
    else
        s->subs = m->snext;
    if (m->snext)
        m->snext->sprev = m->sprev;
    m->sprev = m->snext = NULL;
    s->nsubs--;
    if (s->index) {
        hc_map_del(s->index, m->ch->key, m->ch->klen);
        if (s->nsubs <= INDEX_DROP)
            index_free(s);
    }
}

static void chan_free(gw_chan *ch)
{
    gw__repair_free(ch->repair);
    free(ch->app_id);
    free(ch->channel);
    free(ch->key);
    free(ch->epoch);
    free(ch);
}

void gw_subs_free(gw_subs *t)
{
    if (!t)
        return;
    hc_map_iter it;
    hc_map_entry *e;
    hc_map_iter_init(&it, &t->chans);
    while ((e = hc_map_iter_next(&it))) {
        gw_chan *ch = e->value;
        /* Memberships still linked here belong to subscribers that never
         * left; free the records so nothing leaks. */
        for (gw_sub *m = ch->head, *n; m; m = n) {
            n = m->next;
            member_remove(m);
            gw__hold_free(m->hold);
            free(m);
        }
        chan_free(ch);
    }
    hc_map_free(&t->chans);
    free(t);
}

void gw_subscriber_init(gw_subscriber *s, const char *socket_id, size_t queue_cap)
{
    memset(s, 0, sizeof(*s));
    s->socket_id = socket_id ? socket_id : "";
    gw_outq_init(&s->q, queue_cap);
}

int gw_subs_join(gw_subs *t, gw_subscriber *s, const char *app_id, const char *channel)
{
    size_t klen;
    char *key = make_key(app_id, channel, &klen);
    gw_chan *ch = hc_map_get(&t->chans, key, klen);
    if (ch && gw__subs_member(s, ch)) {
        free(key);
        return 0;
    }
    bool fresh = !ch;
    if (fresh) {
        ch = hc_calloc(1, sizeof(*ch));
        ch->app_id = hc_strdup(app_id);
        ch->channel = hc_strdup(channel);
        ch->key = key;
        ch->klen = klen;
        hc_map_put(&t->chans, key, klen, ch);
    } else {
        free(key);
    }
    gw_sub *m = hc_calloc(1, sizeof(*m));
    m->ch = ch;
    m->s = s;
    m->next = ch->head;
    if (ch->head)
        ch->head->prev = m;
    ch->head = m;
    ch->count++;
    member_add(m);
    if (fresh && t->hooks.first)
        t->hooks.first(t->ud, ch->app_id, ch->channel);
    return 1;
}

/* Unlinks m from its channel and its subscriber and frees it; drops the
 * channel (firing `last`) when it was the last member. */
static void sub_unlink(gw_subs *t, gw_sub *m)
{
    gw_chan *ch = m->ch;
    member_remove(m);
    if (m->prev)
        m->prev->next = m->next;
    else
        ch->head = m->next;
    if (m->next)
        m->next->prev = m->prev;
    ch->count--;
    gw__hold_free(m->hold);
    free(m);
    if (ch->count)
        return;
    hc_map_del(&t->chans, ch->key, ch->klen);
    if (t->hooks.last)
        t->hooks.last(t->ud, ch->app_id, ch->channel);
    chan_free(ch);
}

int gw_subs_leave(gw_subs *t, gw_subscriber *s, const char *app_id, const char *channel)
{
    gw_chan *ch = gw__subs_chan(t, app_id, channel);
    gw_sub *m = ch ? gw__subs_member(s, ch) : NULL;
    if (!m)
        return 0;
    sub_unlink(t, m);
    return 1;
}

bool gw_subs_is_member(const gw_subscriber *s, const char *app_id, const char *channel)
{
    size_t klen;
    char *key = make_key(app_id, channel, &klen);
    bool yes = false;
    if (s->index) {
        yes = hc_map_get(s->index, key, klen) != NULL;
    } else {
        for (const gw_sub *m = s->subs; m && !yes; m = m->snext)
            yes = m->ch->klen == klen && memcmp(m->ch->key, key, klen) == 0;
    }
    free(key);
    return yes;
}

void gw_subs_leave_all(gw_subs *t, gw_subscriber *s)
{
    while (s->subs)
        sub_unlink(t, s->subs);
    index_free(s);
    gw_outq_free(&s->q);
}

bool gw_subs_push(gw_subs *t, gw_subscriber *s, hc_rbuf *frame)
{
    if (s->sealed)
        return false;
    bool was_empty = gw_outq_len(&s->q) == 0;
    if (!gw_outq_push(&s->q, frame)) {
        s->sealed = true;
        if (t->hooks.overflow)
            t->hooks.overflow(t->ud, s);
        return false;
    }
    if (was_empty && t->hooks.wake)
        t->hooks.wake(t->ud, s);
    return true;
}

void gw_subs_frame_event(hc_sbuf *b, const Herald__Event *ev)
{
    if (gw_watchlist_channel(ev->channel)) { /* watchers see watchlist_events, or nothing */
        gw_watchlist_frame(b, ev);
        return;
    }
    hc_sbuf_puts(b, "{\"event\":");
    hc_sbuf_json_string(b, ev->name ? ev->name : "", ev->name ? strlen(ev->name) : 0);
    hc_sbuf_puts(b, ",\"channel\":");
    hc_sbuf_json_string(b, ev->channel ? ev->channel : "", ev->channel ? strlen(ev->channel) : 0);
    hc_sbuf_puts(b, ",\"data\":");
    hc_sbuf_json_string(b, ev->data.data ? (const char *)ev->data.data : "", ev->data.len);
    if (ev->user_id && ev->user_id[0]) {
        hc_sbuf_puts(b, ",\"user_id\":");
        hc_sbuf_json_string(b, ev->user_id, strlen(ev->user_id));
    }
    if (ev->epoch && ev->epoch[0]) {
        char id[160];
        int n = snprintf(id, sizeof(id), "%s:%" PRIu64, ev->epoch, ev->offset);
        hc_sbuf_puts(b, ",\"id\":");
        hc_sbuf_json_string(b, id, n < (int)sizeof(id) ? (size_t)n : sizeof(id) - 1);
    }
    hc_sbuf_puts(b, "}");
}

/* True when ev was already delivered on ch (same epoch, offset not above
 * the last one); otherwise records its position and returns false. */
static bool seen_before(gw_chan *ch, const Herald__Event *ev)
{
    if (!ev->epoch || !ev->epoch[0])
        return false;
    if (ch->epoch && strcmp(ch->epoch, ev->epoch) == 0) {
        if (ev->offset <= ch->last_offset)
            return true;
    } else {
        free(ch->epoch);
        ch->epoch = hc_strdup(ev->epoch);
    }
    ch->last_offset = ev->offset;
    return false;
}

size_t gw_subs_deliver(gw_subs *t, const Herald__Event *ev)
{
    if (!ev->app_id || !ev->channel)
        return 0;
    size_t klen;
    char *key = make_key(ev->app_id, ev->channel, &klen);
    gw_chan *ch = hc_map_get(&t->chans, key, klen);
    free(key);
    if (!ch)
        return 0;
    if (gw__repair_intercept(t, ch, ev))
        return 0;
    if (seen_before(ch, ev)) {
        hc_debug("dropping duplicate event %s:%" PRIu64 " on %s", ev->epoch, ev->offset,
                 ev->channel);
        return 0;
    }
    hc_sbuf b = HC_SBUF_INIT;
    gw_subs_frame_event(&b, ev);
    if (!b.len) /* an event its subscribers never see */
        return 0;
    hc_rbuf *frame = hc_rbuf_from(t->headroom, b.data, b.len);
    hc_sbuf_free(&b);
    const char *skip = ev->socket_id && ev->socket_id[0] ? ev->socket_id : NULL;
    size_t n = 0;
    for (gw_sub *m = ch->head; m; m = m->next) {
        if (skip && strcmp(m->s->socket_id, skip) == 0)
            continue;
        if (gw__member_intercept(t, m, ev, frame))
            continue;
        if (gw_subs_push(t, m->s, frame))
            n++;
    }
    hc_rbuf_unref(frame);
    return n;
}

size_t gw_subs_channel_count(const gw_subs *t)
{
    return t->chans.count;
}

gw_chan *gw__subs_chan(const gw_subs *t, const char *app_id, const char *channel)
{
    size_t klen;
    char *key = make_key(app_id, channel, &klen);
    gw_chan *ch = hc_map_get(&t->chans, key, klen);
    free(key);
    return ch;
}

size_t gw_subs_local_count(const gw_subs *t, const char *app_id, const char *channel)
{
    gw_chan *ch = gw__subs_chan(t, app_id, channel);
    return ch ? ch->count : 0;
}

void gw_subs_each_channel(const gw_subs *t, gw_subs_channel_fn fn, void *ud)
{
    hc_map_iter it;
    hc_map_iter_init(&it, (hc_map *)&t->chans);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));) {
        const gw_chan *ch = e->value;
        fn(ud, ch->app_id, ch->channel, ch->count);
    }
}

void gw_subscriber_each(const gw_subscriber *s, gw_subs_channel_fn fn, void *ud)
{
    for (const gw_sub *m = s->subs; m; m = m->snext)
        fn(ud, m->ch->app_id, m->ch->channel, m->ch->count);
}
