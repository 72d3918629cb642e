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
    if (ch->kept < m->history_size)
        ch->kept++;
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

static const br_store_ops mem_ops = {
    .publish = mem_publish,
    .subscribe_live = mem_subscribe_live,
    .unsubscribe_live = mem_unsubscribe_live,
    .free = mem_free,
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
