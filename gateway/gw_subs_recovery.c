/*
 * gw_subs_recovery: replay holds and gap repair inside the local
 * subscription table (see "recovery" in gw_subs.h).
 *
 * Owns gw_hold (the live frames kept back for one member while its replay
 * is in flight) and gw_repair (the events a channel received after a gap,
 * packed, waiting for the missing ones). Both are bounded: a hold beyond
 * the member's queue capacity cuts the member off like a full queue; a
 * repair beyond GW_REPAIR_MAX events is abandoned (the gap is accepted,
 * logged). It never talks to a broker: the gap hook asks gw_recovery.c,
 * which answers through gw_subs_repair_done. Called by gw_subs.c (the
 * intercepts) and gw_recovery.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_subs_int.h"
#include "hc_log.h"
#include "hc_mem.h"

#define GW_REPAIR_MAX 65536

/* A member's recovery state: while active, the live frames held back for
 * its replay; after it (until caught up), the live events of skip_epoch up
 * to skip_upto that the replay already delivered. Freed when neither. */
struct gw_hold {
    uint64_t id;
    hc_rbuf **frames;
    uint64_t *offsets;
    size_t n, cap;
    bool active;                       /* a replay is in flight */
    uint64_t skip_upto;                /* 0: nothing to skip */
    char skip_epoch[GW_EPOCH_MAX + 1]; /* after a replay: live events of this */
};

struct gw_repair {
    uint8_t **ev; /* packed herald.Event */
    size_t *len;
    size_t n, cap;
    bool overflowed;
    bool again; /* another catch-up was asked for meanwhile */
};

void gw__hold_free(gw_hold *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        hc_rbuf_unref(h->frames[i]);
    free(h->frames);
    free(h->offsets);
    free(h);
}

void gw__repair_free(gw_repair *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->ev[i]);
    free(r->ev);
    free(r->len);
    free(r);
}

/* Appends ev (packed) to r; false when r is full. */
static bool repair_push(gw_repair *r, const Herald__Event *ev)
{
    if (r->n == GW_REPAIR_MAX)
        return false;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->ev = hc_realloc(r->ev, r->cap * sizeof(*r->ev));
        r->len = hc_realloc(r->len, r->cap * sizeof(*r->len));
    }
    size_t n = herald__event__get_packed_size(ev);
    r->ev[r->n] = hc_malloc(n ? n : 1);
    herald__event__pack(ev, r->ev[r->n]);
    r->len[r->n++] = n;
    return true;
}

bool gw__repair_intercept(gw_subs *t, gw_chan *ch, const Herald__Event *ev)
{
    if (ch->repair) {
        if (!repair_push(ch->repair, ev) && !ch->repair->overflowed) {
            ch->repair->overflowed = true;
            hc_warn("channel %s: more than %d events wait for a gap repair; dropping", ch->channel,
                    GW_REPAIR_MAX);
        }
        return true;
    }
    if (!t->hooks.gap || !ev->epoch || !ev->epoch[0] || !ch->epoch ||
        strcmp(ch->epoch, ev->epoch) != 0 || ev->offset <= ch->last_offset + 1)
        return false;
    hc_debug("channel %s: gap after %" PRIu64 " (got %" PRIu64 "); fetching it", ch->channel,
             ch->last_offset, ev->offset);
    ch->repair = hc_calloc(1, sizeof(*ch->repair));
    repair_push(ch->repair, ev);
    /* may answer at once (gw_subs_repair_done): ch must not be used after */
    t->hooks.gap(t->ud, ch->app_id, ch->channel, ch->epoch, ch->last_offset);
    return true;
}

bool gw__member_intercept(gw_subs *t, gw_sub *m, const Herald__Event *ev, hc_rbuf *frame)
{
    gw_hold *h = m->hold;
    if (h && h->active) {
        if (m->s->sealed)
            return true;
        if (h->n >= m->s->q.cap) {
            m->s->sealed = true;
            if (t->hooks.overflow)
                t->hooks.overflow(t->ud, m->s);
            return true;
        }
        if (h->n == h->cap) {
            h->cap = h->cap ? h->cap * 2 : 16;
            h->frames = hc_realloc(h->frames, h->cap * sizeof(*h->frames));
            h->offsets = hc_realloc(h->offsets, h->cap * sizeof(*h->offsets));
        }
        h->frames[h->n] = hc_rbuf_ref(frame);
        h->offsets[h->n++] = ev->offset;
        return true;
    }
    if (!h || !h->skip_upto)
        return false;
    if (ev->epoch && strcmp(ev->epoch, h->skip_epoch) == 0 && ev->offset <= h->skip_upto)
        return true;
    gw__hold_free(h); /* caught up: no more filtering */
    m->hold = NULL;
    return false;
}

/* The membership of s in (app_id, channel), or NULL. */
static gw_sub *member(gw_subs *t, gw_subscriber *s, const char *app_id, const char *channel)
{
    gw_chan *ch = gw__subs_chan(t, app_id, channel);
    return ch ? gw__subs_member(s, ch) : NULL;
}

uint64_t gw_subs_hold(gw_subs *t, gw_subscriber *s, const char *app_id, const char *channel)
{
    gw_sub *m = member(t, s, app_id, channel);
    if (!m)
        return 0;
    if (!m->hold)
        m->hold = hc_calloc(1, sizeof(*m->hold));
    m->hold->active = true;
    m->hold->id = ++t->next_hold;
    return m->hold->id;
}

gw_subscriber *gw_subs_held(gw_subs *t, const char *app_id, const char *channel, uint64_t id)
{
    gw_chan *ch = gw__subs_chan(t, app_id, channel);
    for (gw_sub *m = ch ? ch->head : NULL; m; m = m->next)
        if (m->hold && m->hold->active && m->hold->id == id)
            return m->s;
    return NULL;
}

void gw_subs_release(gw_subs *t, gw_subscriber *s, const char *app_id, const char *channel,
                     const char *epoch, uint64_t upto, uint64_t position)
{
    gw_sub *m = member(t, s, app_id, channel);
    if (!m || !m->hold || !m->hold->active)
        return;
    gw_chan *ch = m->ch;
    gw_hold *h = m->hold;
    m->hold = NULL; /* set again below when there is something to skip */
    bool known = epoch && epoch[0] && strlen(epoch) <= GW_EPOCH_MAX;
    if (known && !ch->epoch) {
        ch->epoch = hc_strdup(epoch);
        ch->last_offset = position;
    }
    bool same = known && ch->epoch && strcmp(ch->epoch, epoch) == 0;
    for (size_t i = 0; i < h->n; i++)
        if (!(same && h->offsets[i] <= upto))
            gw_subs_push(t, s, h->frames[i]);
    if (same && upto > ch->last_offset) {
        for (size_t i = 0; i < h->n; i++)
            hc_rbuf_unref(h->frames[i]);
        free(h->frames);
        free(h->offsets);
        h->frames = NULL;
        h->offsets = NULL;
        h->n = h->cap = 0;
        h->active = false;
        snprintf(h->skip_epoch, sizeof(h->skip_epoch), "%s", epoch);
        h->skip_upto = upto;
        m->hold = h;
    } else {
        gw__hold_free(h);
    }
}

bool gw_subs_repair_begin(gw_subs *t, const char *app_id, const char *channel, char *epoch,
                          size_t epoch_len, uint64_t *last)
{
    gw_chan *ch = gw__subs_chan(t, app_id, channel);
    if (ch && ch->repair)
        ch->repair->again = true; /* the read in flight may predate the cause */
    if (!ch || !ch->epoch || ch->repair)
        return false;
    ch->repair = hc_calloc(1, sizeof(*ch->repair));
    snprintf(epoch, epoch_len, "%s", ch->epoch);
    *last = ch->last_offset;
    return true;
}

/* After a repair that could not fill the gap before the first waiting
 * event w: moves the channel's position to just before w so delivery goes
 * on (the events in between are lost; logged). */
static void accept_gap(gw_chan *ch, const Herald__Event *w)
{
    if (!ch->epoch || !w->epoch || strcmp(ch->epoch, w->epoch) != 0 ||
        w->offset <= ch->last_offset + 1)
        return;
    hc_warn("channel %s: events %" PRIu64 "..%" PRIu64 " could not be recovered", ch->channel,
            ch->last_offset + 1, w->offset - 1);
    ch->last_offset = w->offset - 1;
}

void gw_subs_repair_done(gw_subs *t, const char *app_id, const char *channel,
                         const Herald__ReplayResponse *r)
{
    gw_chan *ch = gw__subs_chan(t, app_id, channel);
    if (!ch || !ch->repair)
        return;
    gw_repair *rp = ch->repair;
    ch->repair = NULL;
    uint64_t before = ch->last_offset;
    bool ok = r && r->ok && r->recovered;
    for (size_t i = 0; ok && i < r->n_events; i++)
        gw_subs_deliver(t, r->events[i]);
    ch = gw__subs_chan(t, app_id, channel);
    for (size_t i = 0; ch && i < rp->n; i++) {
        Herald__Event *ev = herald__event__unpack(NULL, rp->len[i], rp->ev[i]);
        if (!ev)
            continue;
        if (i == 0 && !ch->repair && (!ok || ch->last_offset == before))
            accept_gap(ch, ev);
        gw_subs_deliver(t, ev);
        herald__event__free_unpacked(ev, NULL);
        ch = gw__subs_chan(t, app_id, channel);
    }
    bool again = rp->again;
    gw__repair_free(rp);
    if (again && ch && ch->epoch && !ch->repair && t->hooks.gap) {
        ch->repair = hc_calloc(1, sizeof(*ch->repair));
        t->hooks.gap(t->ud, ch->app_id, ch->channel, ch->epoch, ch->last_offset);
    }
}
