/*
 * hc_rendezvous: highest-random-weight hashing of a key over nodes.
 *
 * Every gateway computes the same owner for a channel from the same node
 * list without asking anyone, and removing a node moves only the keys it
 * owned. Scores come from a fixed 64-bit hash (FNV-1a + splitmix64
 * finaliser): stable across processes, builds and hosts. Pure.
 */
#ifndef HC_RENDEZVOUS_H
#define HC_RENDEZVOUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint64_t hc_rendezvous_score(const char *node, size_t node_len, const char *key, size_t key_len);
/* Index of the owner of key among nodes[0..n) whose alive[i] is true (alive
 * may be NULL: all alive), or -1 when none is. Ties go to the lower index. */
int hc_rendezvous_pick(const char *const *nodes, const bool *alive, size_t n, const char *key,
                       size_t key_len);

#endif
