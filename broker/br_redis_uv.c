/*
 * br_redis_uv: hiredis event hooks on a uv_poll_t (see br_redis_uv.h).
 *
 * Owns one uv_poll_t per attached context and the interest mask hiredis
 * asked for. hiredis calls the add/del hooks to change the mask and the
 * cleanup hook when it frees the context; the poll handle is then closed
 * and the adapter freed in the close callback.
 */
#include "br_redis_uv.h"

#include <stdlib.h>

#include "hc_mem.h"

typedef struct br_redis_uv {
    redisAsyncContext *ac; /* NULL once hiredis has let go of the context */
    uv_poll_t poll;
    int events; /* UV_READABLE | UV_WRITABLE wanted by hiredis */
} br_redis_uv;

static void on_poll(uv_poll_t *h, int status, int events)
{
    br_redis_uv *a = h->data;
    /* On an error, report what hiredis waits for: its read or write finds
     * the socket error and takes the usual failure path. */
    if (status < 0)
        events = a->events;
    if (a->ac && (events & UV_READABLE))
        redisAsyncHandleRead(a->ac);
    if (a->ac && (events & UV_WRITABLE))
        redisAsyncHandleWrite(a->ac);
}

static void set_events(br_redis_uv *a, int events)
{
    a->events = events;
    if (events)
        uv_poll_start(&a->poll, events, on_poll);
    else
        uv_poll_stop(&a->poll);
}

static void add_read(void *p)
{
    br_redis_uv *a = p;
    set_events(a, a->events | UV_READABLE);
}

static void del_read(void *p)
{
    br_redis_uv *a = p;
    set_events(a, a->events & ~UV_READABLE);
}

static void add_write(void *p)
{
    br_redis_uv *a = p;
    set_events(a, a->events | UV_WRITABLE);
}

static void del_write(void *p)
{
    br_redis_uv *a = p;
    set_events(a, a->events & ~UV_WRITABLE);
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

static void cleanup(void *p)
{
    br_redis_uv *a = p;
    a->ac = NULL;
    uv_close((uv_handle_t *)&a->poll, on_closed);
}

int br_redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    if (ac->ev.data)
        return -1;
    br_redis_uv *a = hc_calloc(1, sizeof(*a));
    if (uv_poll_init(loop, &a->poll, ac->c.fd) != 0) {
        free(a);
        return -1;
    }
    a->ac = ac;
    a->poll.data = a;
    ac->ev.data = a;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    return 0;
}
