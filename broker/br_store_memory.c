/*
 * br_store_memory: channels, offsets, epochs and bounded history in memory
 * (see br_store_memory.h).
 *
 * Owns the channel table (key "<app_id>\0<channel>" -> mem_chan) and every
 * entry copy in the channels' rings. Does not own the core it reports to
 * (on_live / on_live_ctx, installed by br_core_new). When the table is
 * full, the least recently written channel nobody follows is dropped by a
 * linear scan: that only happens at the bound, which is large.
 */
#include "br_store_memory.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hc_buf.h"
#include "hc_log.h"
#include "hc_map.h"
#include "hc_mem.h"

typedef struct mem_entry {
    uint64_t offset;
    uint8_t *event;
    size_t len;
} mem_entry;

typedef struct mem_chan {
    char *app_id;
    char *channel;
    char epoch[17];
    uint64_t next;   /* offset of the next entry (first is 1) */
    mem_entry *ring; /* history_size slots; entry with offset o at (o-1) % size */
    size_t kept;     /* entries in the ring */
    bool followed;
    uint32_t bound;   /* the channel's own size bound (0: history_size) */
    uint64_t touched; /* store-wide write sequence of the last write */
} mem_chan;

typedef struct mem_store {
    br_store base;
    hc_map chans;
    size_t history_size, max_channels;
    uint64_t seq;
    hc_sbuf key;
} mem_store;

static size_t mem_key(mem_store *m, const char *app_id, const char *channel)
{
    hc_sbuf_reset(&m->key);
    hc_sbuf_puts(&m->key, app_id);
    hc_sbuf_append(&m->key, "", 1);
    hc_sbuf_puts(&m->key, channel);
    return m->key.len;
}

static void new_epoch(char out[17])
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof(v), 0) != sizeof(v))
        v = (uint64_t)(uintptr_t)out ^ (uint64_t)rand();
    snprintf(out, 17, "%016llx", (unsigned long long)v);
}

static void chan_free(mem_store *m, mem_chan *ch)
{
    for (size_t i = 0; i < m->history_size; i++)
        free(ch->ring[i].event);
    free(ch->ring);
    free(ch->app_id);
    free(ch->channel);
    free(ch);
}

/* Drops the least recently written unfollowed channel; false if none. */
static bool evict_one(mem_store *m)
{
    mem_chan *victim = NULL;
    hc_map_iter it;
    hc_map_iter_init(&it, &m->chans);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));) {
        mem_chan *ch = e->value;
        if (!ch->followed && (!victim || ch->touched < victim->touched))
            victim = ch;
    }
    if (!victim)
        return false;
    size_t klen = mem_key(m, victim->app_id, victim->channel);
    hc_map_del(&m->chans, m->key.data, klen);
    chan_free(m, victim);
    return true;
}

/* The channel, created (with a new epoch) when create is set. */
static mem_chan *chan_get(mem_store *m, const char *app_id, const char *channel, bool create)
{
    size_t klen = mem_key(m, app_id, channel);
    mem_chan *ch = hc_map_get(&m->chans, m->key.data, klen);
    if (ch || !create)
        return ch;
    if (m->chans.count >= m->max_channels && evict_one(m))
        klen = mem_key(m, app_id, channel); /* evict_one reused the key buffer */
    ch = hc_calloc(1, sizeof(*ch));
    ch->app_id = hc_strdup(app_id);
    ch->channel = hc_strdup(channel);
    ch->next = 1;
    ch->ring = hc_calloc(m->history_size, sizeof(*ch->ring));
    new_epoch(ch->epoch);
    hc_map_put(&m->chans, m->key.data, klen, ch);
    return ch;
}

static void mem_publish(br_store *s, const char *app_id, const char *channel, const uint8_t *event,
                        size_t len, br_publish_done_fn done, void *arg)
{
    mem_store *m = (mem_store *)s;
    mem_chan *ch = chan_get(m, app_id, channel, true);
    uint64_t off = ch->next++;
    mem_entry *slot = &ch->ring[(off - 1) % m->history_size];
    free(slot->event);
    slot->offset = off;
    slot->event = hc_malloc(len ? len : 1);
    memcpy(slot->event, event, len);
    slot->len = len;
    size_t cap = ch->bound && ch->bound < m->history_size ? ch->bound : m->history_size;
    ch->kept = ch->kept < cap ? ch->kept + 1 : cap; /* cap may have shrunk */
    ch->touched = ++m->seq;
    char epoch[17];
    memcpy(epoch, ch->epoch, sizeof(epoch));
    bool followed = ch->followed;
    done(arg, NULL, epoch, off);
    /* done may have changed interest; report the entry only if followed
     * before and the channel still is */
    if (followed && s->on_live) {
        ch = chan_get(m, app_id, channel, false);
        if (ch && ch->followed)
            s->on_live(s->on_live_ctx, app_id, channel, epoch, off, event, len);
    }
}

static void mem_subscribe_live(br_store *s, const char *app_id, const char *channel)
{
    chan_get((mem_store *)s, app_id, channel, true)->followed = true;
}

static void mem_unsubscribe_live(br_store *s, const char *app_id, const char *channel)
{
    mem_chan *ch = chan_get((mem_store *)s, app_id, channel, false);
    if (ch)
        ch->followed = false;
}

static void mem_free(br_store *s)
{
    mem_store *m = (mem_store *)s;
    hc_map_iter it;
    hc_map_iter_init(&it, &m->chans);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));)
        chan_free(m, e->value);
    hc_map_free(&m->chans);
    hc_sbuf_free(&m->key);
    free(m);
}

/* publish with the channel's own size bound: the ring keeps at most
 * history_size entries; a smaller rule keeps fewer (the oldest are
 * forgotten at once, exactly, unlike Redis's MAXLEN ~). The TTL is not
 * applied: memory history lives as long as the process or the channel's
 * place in the table. */
static void mem_publish_bounded(br_store *s, const char *app_id, const char *channel,
                                const uint8_t *event, size_t len, uint32_t size, uint32_t ttl,
                                br_publish_done_fn done, void *arg)
{
    (void)ttl;
    mem_store *m = (mem_store *)s;
    mem_chan *ch = chan_get(m, app_id, channel, true);
    ch->bound = size;
    mem_publish(s, app_id, channel, event, len, done, arg);
}

/* The entries [from, to) of ch (all kept), oldest first, into a fresh
 * array (NULL when empty); sets *n. */
static br_replay_entry *entries(mem_store *m, const mem_chan *ch, uint64_t from, uint64_t to,
                                size_t *n)
{
    *n = to > from ? (size_t)(to - from) : 0;
    if (!*n)
        return NULL;
    br_replay_entry *out = hc_calloc(*n, sizeof(*out));
    for (size_t i = 0; i < *n; i++) {
        const mem_entry *e = &ch->ring[(from + i - 1) % m->history_size];
        out[i].offset = e->offset;
        out[i].event = e->event;
        out[i].event_len = e->len;
    }
    return out;
}

/* br_store_ops.replay: the same answers as broker/lua/replay.lua over the
 * ring (modes since, page, rewind, position), given synchronously. */
static void mem_replay(br_store *s, const char *app_id, const char *channel,
                       const br_replay_query *q, br_replay_done_fn done, void *arg)
{
    mem_store *m = (mem_store *)s;
    const mem_chan *ch = chan_get(m, app_id, channel, false);
    const char *epoch = ch ? ch->epoch : "";
    uint64_t last = ch ? ch->next - 1 : 0;
    uint64_t first = ch ? ch->next - ch->kept : 1; /* oldest kept offset */
    uint64_t limit = q->limit ? q->limit : 1;
    bool recovered = true, more = false;
    uint64_t from = 0, to = 0; /* entries [from, to) */
    if (q->page) {
        if (q->since_epoch && q->since_epoch[0] && strcmp(q->since_epoch, epoch) != 0) {
            recovered = false;
        } else if (ch) {
            from = q->since_offset + 1 > first ? q->since_offset + 1 : first;
            to = from <= last && last - from + 1 > limit ? from + limit : last + 1;
            more = to > from && to - 1 < last;
        }
    } else if (q->since_epoch) {
        uint64_t after = q->since_offset;
        if (!ch || strcmp(q->since_epoch, epoch) != 0 || after > last) {
            recovered = false;
        } else if (after < last) {
            if (after + 1 < first) {
                recovered = false;
            } else {
                from = after + 1;
                to = last - after > limit ? from + limit : last + 1;
                more = to - 1 < last;
            }
        }
    } else if (q->rewind && ch) {
        uint64_t n = q->rewind < limit ? q->rewind : limit;
        if (n > ch->kept)
            n = ch->kept;
        from = ch->next - n;
        to = ch->next;
        uint64_t want = q->rewind < last ? q->rewind : last;
        recovered = n >= want;
    }
    size_t n = 0;
    br_replay_entry *ents = ch && to > from ? entries(m, ch, from, to, &n) : NULL;
    char ep[17];
    snprintf(ep, sizeof(ep), "%s", epoch); /* done may publish or evict */
    done(arg, NULL, ep, last, recovered, more, ents, n);
    free(ents);
}

static const br_store_ops mem_ops = {
    .publish = mem_publish,
    .subscribe_live = mem_subscribe_live,
    .unsubscribe_live = mem_unsubscribe_live,
    .free = mem_free,
    .publish_bounded = mem_publish_bounded,
    .replay = mem_replay,
};

br_store *br_store_memory_new(size_t history_size, size_t max_channels)
{
    mem_store *m = hc_calloc(1, sizeof(*m));
    m->base.ops = &mem_ops;
    m->history_size = history_size ? history_size : 1;
    m->max_channels = max_channels ? max_channels : 1;
    return &m->base;
}

const char *br_store_memory_range(br_store *s, const char *app_id, const char *channel,
                                  uint64_t after, br_memory_entry_fn fn, void *ud)
{
    mem_store *m = (mem_store *)s;
    mem_chan *ch = chan_get(m, app_id, channel, false);
    if (!ch)
        return NULL;
    uint64_t first = ch->next - ch->kept; /* oldest kept offset */
    for (uint64_t o = after + 1 > first ? after + 1 : first; o < ch->next; o++) {
        mem_entry *e = &ch->ring[(o - 1) % m->history_size];
        fn(ud, e->offset, e->event, e->len);
    }
    return ch->epoch;
}

size_t br_store_memory_channels(const br_store *s)
{
    return ((const mem_store *)s)->chans.count;
}
