/*
 * hc_map: byte-string keys to pointers, open addressing with linear probing
 * and backward-shift deletion (no tombstones, so lookups stay short after
 * many deletes). Owns its slot array and key copies, never the values.
 * Called by the gateway (channels, connections, links) and the broker
 * (interest tables).
 */
#include "hc_map.h"

#include <stdlib.h>
#include <string.h>

#include "hc_mem.h"

/* Small: every gateway connection has a map of its channels, mostly one. */
#define HC_MAP_MIN_CAP 4

/* FNV-1a then the splitmix64 finaliser: cheap and well mixed in low bits,
 * which is what masking by a power of two needs. */
uint64_t hc_hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ull;
    }
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

static bool hc_map_entry_is(const hc_map_entry *e, uint64_t h, const void *key, size_t klen)
{
    return e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0;
}

/* Index of key's slot, or of the empty slot where it would go. cap > 0. */
static size_t hc_map_find(const hc_map *m, uint64_t h, const void *key, size_t klen)
{
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    while (m->slots[i].key && !hc_map_entry_is(&m->slots[i], h, key, klen))
        i = (i + 1) & mask;
    return i;
}

static void hc_map_grow(hc_map *m)
{
    hc_map_entry *old = m->slots;
    size_t old_cap = m->cap;
    m->cap = old_cap ? old_cap * 2 : HC_MAP_MIN_CAP;
    m->slots = hc_calloc(m->cap, sizeof *m->slots);
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].key)
            continue;
        size_t j = (size_t)old[i].hash & (m->cap - 1);
        while (m->slots[j].key)
            j = (j + 1) & (m->cap - 1);
        m->slots[j] = old[i];
    }
    free(old);
}

void *hc_map_get(const hc_map *m, const void *key, size_t klen)
{
    if (m->count == 0)
        return NULL;
    size_t i = hc_map_find(m, hc_hash_bytes(key, klen), key, klen);
    return m->slots[i].key ? m->slots[i].value : NULL;
}

void *hc_map_put(hc_map *m, const void *key, size_t klen, void *value)
{
    if ((m->count + 1) * 4 > m->cap * 3)
        hc_map_grow(m);
    uint64_t h = hc_hash_bytes(key, klen);
    hc_map_entry *e = &m->slots[hc_map_find(m, h, key, klen)];
    if (e->key) {
        void *prev = e->value;
        e->value = value;
        return prev;
    }
    e->key = hc_strndup(key, klen);
    e->klen = klen;
    e->hash = h;
    e->value = value;
    m->count++;
    return NULL;
}

/* Closes the gap at i (Knuth's algorithm R): walks the rest of the probe
 * cluster and moves back each entry whose home slot is not cyclically in
 * (gap, its slot], so that no entry is left behind a hole. Entries that
 * sit at or after their home past the gap stay (the scan does not stop at
 * them: plain linear probing keeps no order within a cluster). */
static void hc_map_shift_back(hc_map *m, size_t i)
{
    size_t mask = m->cap - 1;
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t home = (size_t)m->slots[j].hash & mask;
        if (((j - home) & mask) < ((j - i) & mask))
            continue;
        m->slots[i] = m->slots[j];
        i = j;
    }
    memset(&m->slots[i], 0, sizeof m->slots[i]);
}

void *hc_map_del(hc_map *m, const void *key, size_t klen)
{
    if (m->count == 0)
        return NULL;
    size_t i = hc_map_find(m, hc_hash_bytes(key, klen), key, klen);
    if (!m->slots[i].key)
        return NULL;
    void *value = m->slots[i].value;
    free(m->slots[i].key);
    hc_map_shift_back(m, i);
    m->count--;
    return value;
}

void hc_map_free(hc_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

void hc_map_iter_init(hc_map_iter *it, hc_map *m)
{
    it->m = m;
    it->i = 0;
}

/* Returns the next occupied entry (owned by the map), or NULL at the end. */
hc_map_entry *hc_map_iter_next(hc_map_iter *it)
{
    while (it->i < it->m->cap) {
        hc_map_entry *e = &it->m->slots[it->i++];
        if (e->key)
            return e;
    }
    return NULL;
}
