/*
 * br_store_redis: the br_store implementation on Redis (hiredis async on
 * libuv).
 *
 * Owns two connections to one Redis server: one for commands (the publish
 * script, pings) and one in subscribe mode for the live channels of the
 * channels the core follows. Survives Redis going away: it reconnects with
 * backoff, re-subscribes every followed channel, fails publishes at once
 * while Redis is unreachable and never leaves one unanswered (a Redis that
 * stops answering is dropped after a timeout). Publishes beyond 64 MiB
 * waiting for Redis are refused (bounded backlog). Created by br_main.c;
 * the core only sees the br_store interface.
 */
#ifndef BR_STORE_REDIS_H
#define BR_STORE_REDIS_H

#include <uv.h>

#include "br_store.h"

typedef struct br_redis_opts {
    const char *host; /* copied */
    int port;
    long history_size;   /* XADD MAXLEN ~ */
    long history_ttl;    /* seconds */
    unsigned timeout_ms; /* no answer for this long: drop and reconnect; 0 = 5000 */
} br_redis_opts;

/* Starts connecting at once (failure is logged and retried, not fatal).
 * Free with s->ops->free(s) before the loop closes; the store's handles are
 * closed by then, the loop must run once more to finish closing them. */
br_store *br_store_redis_new(uv_loop_t *loop, const br_redis_opts *opts);

/* True while both connections are up (for readiness and tests). */
int br_store_redis_up(const br_store *s);

/* Milliseconds since the subscriber connection last received the store's
 * own pub/sub probe (PUBLISHed every second on the command connection);
 * -1 when it never did. Readiness requires a recent one. */
long long br_store_redis_probe_age_ms(const br_store *s);

/* True while publishes wait for Redis or for its answer (for the drain). */
int br_store_redis_busy(const br_store *s);

#endif
