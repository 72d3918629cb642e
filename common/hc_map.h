/*
 * hc_map: a hash map from byte-string keys to pointers.
 *
 * Open addressing with linear probing and backward-shift deletion; the map
 * copies keys and never owns values. Used for channel tables, link and
 * connection lookups. Not thread-safe. Iteration order is unspecified;
 * the map must not be modified while it is iterated (collect keys first).
 */
#ifndef HC_MAP_H
#define HC_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hc_map_entry {
    char *key; /* owned copy, NUL-terminated; NULL = empty slot */
    size_t klen;
    uint64_t hash;
    void *value;
} hc_map_entry;

typedef struct hc_map {
    hc_map_entry *slots;
    size_t cap; /* power of two */
    size_t count;
} hc_map;

#define HC_MAP_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

uint64_t hc_hash_bytes(const void *p, size_t n);
/* Value for key, or NULL. */
void *hc_map_get(const hc_map *m, const void *key, size_t klen);
/* Sets key -> value; returns the previous value or NULL. */
void *hc_map_put(hc_map *m, const void *key, size_t klen, void *value);
/* Removes key; returns its value or NULL. */
void *hc_map_del(hc_map *m, const void *key, size_t klen);
/* Frees the map's memory (not the values). */
void hc_map_free(hc_map *m);

typedef struct hc_map_iter {
    hc_map *m;
    size_t i;
} hc_map_iter;

void hc_map_iter_init(hc_map_iter *it, hc_map *m);
/* Next entry or NULL. */
hc_map_entry *hc_map_iter_next(hc_map_iter *it);

#endif
