/*
 * br_store_memory: the br_store implementation in process memory, for the
 * gateway's embedded mode (one process, no Redis).
 *
 * Owns, per (app_id, channel), the epoch (random, made when the channel is
 * first written), the next contiguous offset, a bounded ring of the latest
 * entries and whether the core follows the channel. A publish is applied
 * at once: done is called before publish returns, then, if the channel is
 * followed, on_live with the same entry. History reads (ops.replay) give
 * the same answers as the Redis store's replay.lua, also before replay
 * returns; a channel's rule size (ops.publish_bounded) bounds its ring
 * exactly, its TTL is not applied. Nothing survives the process.
 * Pure: no loop, no I/O, so it is unit-tested directly. Created by the
 * embedded gw_link (gateway/gw_link_embedded.c).
 */
#ifndef BR_STORE_MEMORY_H
#define BR_STORE_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "br_store.h"

/* history_size: entries kept per channel (at least 1). max_channels bounds
 * the channel table: when full, the least recently written channel that
 * nobody follows is forgotten (its next write starts a new epoch). */
br_store *br_store_memory_new(size_t history_size, size_t max_channels);

/* Calls fn for each kept entry of (app_id, channel) with offset > after, in
 * offset order; returns the channel's epoch (valid until the next publish)
 * or NULL when the channel is unknown. */
typedef void (*br_memory_entry_fn)(void *ud, uint64_t offset, const uint8_t *event, size_t len);
const char *br_store_memory_range(br_store *s, const char *app_id, const char *channel,
                                  uint64_t after, br_memory_entry_fn fn, void *ud);

/* Number of channels in the table. */
size_t br_store_memory_channels(const br_store *s);

#endif
