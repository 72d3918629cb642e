/*
 * br_redis_uv: attaches a hiredis async context to a libuv loop.
 *
 * Replaces hiredis 0.14's adapters/libuv.h, which drops poll errors: when
 * libuv reports POLLERR (a refused connect, a reset connection) that
 * adapter returns without telling hiredis, libuv has already stopped the
 * poll handle, and the context hangs forever with its callbacks pending
 * (fixed upstream in hiredis 1.0). Here an error status is passed on as
 * readiness, so hiredis reads the socket error itself and fails the
 * connect or disconnects as usual. Used by br_store_redis.c only.
 */
#ifndef BR_REDIS_UV_H
#define BR_REDIS_UV_H

#include <hiredis/async.h>
#include <uv.h>

/* Returns 0, or -1 if ac is already attached or the fd cannot be polled.
 * The adapter is freed through hiredis' cleanup hook when ac is freed. */
int br_redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop);

#endif
