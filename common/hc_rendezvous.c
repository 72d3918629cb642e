/*
 * hc_rendezvous: highest-random-weight (rendezvous) hashing. Owns nothing
 * and keeps no state: the gateway calls hc_rendezvous_pick with its broker
 * list and link states to find a channel's owning broker. The score must
 * never change between versions, or gateways of mixed versions would
 * disagree on owners during a rolling upgrade.
 */
#include "hc_rendezvous.h"

#include <string.h>

#define HC_FNV_OFFSET 0xcbf29ce484222325ull
#define HC_FNV_PRIME 0x100000001b3ull

static uint64_t hc_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= HC_FNV_PRIME;
    }
    return h;
}

static uint64_t hc_splitmix64_final(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Score of (node, key): FNV-1a over node, a 0 separator byte and key, then
 * the splitmix64 finaliser so that similar names spread well. */
uint64_t hc_rendezvous_score(const char *node, size_t node_len, const char *key, size_t key_len)
{
    static const unsigned char sep = 0;
    uint64_t h = hc_fnv1a(HC_FNV_OFFSET, node, node_len);
    h = hc_fnv1a(h, &sep, 1);
    h = hc_fnv1a(h, key, key_len);
    return hc_splitmix64_final(h);
}

int hc_rendezvous_pick(const char *const *nodes, const bool *alive, size_t n, const char *key,
                       size_t key_len)
{
    int best = -1;
    uint64_t best_score = 0;
    for (size_t i = 0; i < n; i++) {
        if (alive && !alive[i])
            continue;
        uint64_t s = hc_rendezvous_score(nodes[i], strlen(nodes[i]), key, key_len);
        if (best < 0 || s > best_score) {
            best = (int)i;
            best_score = s;
        }
    }
    return best;
}
