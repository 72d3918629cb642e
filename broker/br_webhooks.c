/*
 * br_webhooks: consumer of the herald:webhooks stream (see br_webhooks.h).
 *
 * Owns one hiredis async connection (reconnected with backoff), the poll
 * timer (XREADGROUP every POLL_MS, again at once while full pages come
 * back), the claim timer (keep-alive XCLAIM of held entries, XAUTOCLAIM
 * of other consumers' idle ones), the held entries (stream id <-> sender
 * token), the ids of apps removed at run time (their mask entries are
 * deleted again after a reconnect) and the sender.
 */
#include "br_webhooks.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_redis_uv.h"
#include "hc_buf.h"
#include "hc_log.h"
#include "hc_map.h"
#include "hc_mem.h"
#include "hc_webhook_send.h"

#define STREAM "herald:webhooks"
#define GROUP "herald"
#define MASKS "herald:webhooks:mask"
#define POLL_MS 100
#define PAGE 100
#define HOLD_MAX 10000 /* no more reads while the sender holds this many */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

typedef struct held {
    char *id;
    uint64_t token;
} held;

struct br_webhooks {
    uv_loop_t *loop;
    char *host, *consumer;
    int port;
    const hc_apps *apps;
    unsigned claim_ms;
    hc_whs *sender;
    redisAsyncContext *ac;
    bool up, complained, closing;
    bool waiting_apps; /* wait_for_apps, and the apps were not read yet */
    bool reading;      /* an XREADGROUP is out */
    bool claiming;     /* an XAUTOCLAIM is out */
    char cursor[48];   /* "0...": own pending entries after it; ">": new ones */
    char claim_at[48]; /* XAUTOCLAIM cursor */
    unsigned backoff_ms;
    uv_timer_t retry, poll, claim;
    int open_handles;
    hc_map by_id;    /* id -> held* */
    hc_map by_token; /* token bytes -> held* */
    hc_map removed;  /* ids of apps removed at run time -> (void *)1 */
    uint64_t next_token;
};

static void wh_connect(br_webhooks *w);

/* ---- held entries ----------------------------------------------------- */

static void on_ignored(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    (void)priv;
    redisReply *r = reply;
    if (r && r->type == REDIS_REPLY_ERROR)
        hc_debug("webhook queue: %s", r->str);
}

/* The sender is done with an event: forget it in the stream. */
static void on_done(void *ud, uint64_t token, bool delivered)
{
    br_webhooks *w = ud;
    held *h = hc_map_del(&w->by_token, &token, sizeof(token));
    if (!h)
        return;
    hc_map_del(&w->by_id, h->id, strlen(h->id));
    (void)delivered; /* given up or delivered: either way it leaves the queue */
    if (w->ac && w->up) {
        redisAsyncCommand(w->ac, on_ignored, NULL, "XACK %s %s %s", STREAM, GROUP, h->id);
        redisAsyncCommand(w->ac, on_ignored, NULL, "XDEL %s %s", STREAM, h->id);
    }
    free(h->id);
    free(h);
}

/* One stream entry [id, [field, value, ...]] read or claimed. */
static void take_entry(br_webhooks *w, const redisReply *e)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
        e->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *id = e->element[0]->str;
    if (hc_map_get(&w->by_id, id, strlen(id)))
        return; /* already ours */
    const redisReply *f = e->elements > 1 ? e->element[1] : NULL;
    const char *app = NULL, *ev = NULL;
    size_t evlen = 0;
    for (size_t i = 0; f && f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (!strcmp(k->str, "a"))
            app = v->str;
        else if (!strcmp(k->str, "e")) {
            ev = v->str;
            evlen = v->len;
        }
    }
    held *h = hc_calloc(1, sizeof(*h));
    h->id = hc_strdup(id);
    h->token = ++w->next_token;
    hc_map_put(&w->by_id, h->id, strlen(h->id), h);
    hc_map_put(&w->by_token, &h->token, sizeof(h->token), h);
    if (!app || !ev) /* deleted meanwhile, or malformed: acknowledge */
        on_done(w, h->token, false);
    else
        hc_whs_push(w->sender, h->token, app, ev, evlen);
}

/* ---- reading ---------------------------------------------------------- */

static void read_more(br_webhooks *w);

static void on_read(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    br_webhooks *w = priv;
    redisReply *r = reply;
    w->reading = false;
    if (!r || w->closing)
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        hc_debug("webhook queue read: %s", r->str);
        if (strncmp(r->str, "NOGROUP", 7) == 0)
            redisAsyncCommand(w->ac, on_ignored, NULL, "XGROUP CREATE %s %s 0 MKSTREAM", STREAM,
                              GROUP);
        return;
    }
    size_t n = 0;
    const char *last = NULL;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2) {
        const redisReply *entries = r->element[0]->element[1];
        for (size_t i = 0; entries->type == REDIS_REPLY_ARRAY && i < entries->elements; i++) {
            const redisReply *e = entries->element[i];
            take_entry(w, e);
            if (e->type == REDIS_REPLY_ARRAY && e->elements &&
                e->element[0]->type == REDIS_REPLY_STRING)
                last = e->element[0]->str;
            n++;
        }
    }
    if (w->cursor[0] != '>') {
        /* own pending entries: page on, then switch to new entries */
        if (n && last)
            snprintf(w->cursor, sizeof(w->cursor), "%s", last);
        else
            snprintf(w->cursor, sizeof(w->cursor), ">");
        read_more(w);
    } else if (n == PAGE) {
        read_more(w);
    }
}

static void read_more(br_webhooks *w)
{
    if (!w->up || w->reading || w->closing || w->waiting_apps ||
        hc_whs_depth(w->sender) >= HOLD_MAX)
        return;
    w->reading = true;
    if (redisAsyncCommand(w->ac, on_read, w, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s %s", GROUP,
                          w->consumer, PAGE, STREAM, w->cursor) != REDIS_OK)
        w->reading = false;
}

static void on_poll(uv_timer_t *t)
{
    read_more(t->data);
}

/* ---- claiming --------------------------------------------------------- */

static void on_autoclaim(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    br_webhooks *w = priv;
    redisReply *r = reply;
    w->claiming = false;
    if (!r || w->closing)
        return;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return;
    snprintf(w->claim_at, sizeof(w->claim_at), "%s", r->element[0]->str);
    const redisReply *entries = r->element[1];
    size_t n = 0;
    for (size_t i = 0; entries->type == REDIS_REPLY_ARRAY && i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        if (e->type == REDIS_REPLY_ARRAY && e->elements &&
            e->element[0]->type == REDIS_REPLY_STRING &&
            !hc_map_get(&w->by_id, e->element[0]->str, strlen(e->element[0]->str)))
            n++;
        take_entry(w, e);
    }
    if (n)
        hc_info("webhook queue: took over %zu event(s) left pending by a silent broker", n);
}

/* Keeps the held entries ours (resets their idle time), then takes over
 * entries idle for claim_ms at any consumer. */
static void on_claim_tick(uv_timer_t *t)
{
    br_webhooks *w = t->data;
    if (!w->up || w->closing)
        return;
    size_t n = w->by_id.count;
    if (n) {
        const char **argv = hc_malloc((n + 7) * sizeof(*argv));
        size_t argc = 0;
        argv[argc++] = "XCLAIM";
        argv[argc++] = STREAM;
        argv[argc++] = GROUP;
        argv[argc++] = w->consumer;
        argv[argc++] = "0";
        hc_map_iter it;
        hc_map_iter_init(&it, &w->by_id);
        for (hc_map_entry *e; (e = hc_map_iter_next(&it));)
            argv[argc++] = ((held *)e->value)->id;
        argv[argc++] = "JUSTID";
        redisAsyncCommandArgv(w->ac, on_ignored, NULL, (int)argc, argv, NULL);
        free(argv);
    }
    if (w->claiming || w->waiting_apps || hc_whs_depth(w->sender) >= HOLD_MAX)
        return;
    char idle[24];
    snprintf(idle, sizeof(idle), "%u", w->claim_ms);
    w->claiming = true;
    if (redisAsyncCommand(w->ac, on_autoclaim, w, "XAUTOCLAIM %s %s %s %s %s COUNT %d", STREAM,
                          GROUP, w->consumer, idle, w->claim_at, PAGE) != REDIS_OK)
        w->claiming = false;
}

/* ---- connection ------------------------------------------------------- */

/* Writes app id's entry of the mask hash (deleted when it wants nothing). */
static void write_mask(br_webhooks *w, const char *id)
{
    if (!w->up)
        return; /* written again on reconnect */
    unsigned m = hc_whs_mask(w->sender, id);
    if (m)
        redisAsyncCommand(w->ac, on_ignored, NULL, "HSET %s %s %u", MASKS, id, m);
    else
        redisAsyncCommand(w->ac, on_ignored, NULL, "HDEL %s %s", MASKS, id);
}

static void write_masks(br_webhooks *w)
{
    hc_map_iter it;
    hc_map_iter_init(&it, &w->removed);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));)
        redisAsyncCommand(w->ac, on_ignored, NULL, "HDEL %s %s", MASKS, e->key);
    for (size_t i = 0; i < hc_apps_count(w->apps); i++)
        write_mask(w, hc_apps_at(w->apps, i)->id);
}

void br_webhooks_apps_ready(br_webhooks *w)
{
    if (!w || !w->waiting_apps)
        return;
    w->waiting_apps = false;
    hc_info("webhook queue: apps from Redis read; reading webhook events");
    read_more(w);
}

void br_webhooks_app_changed(br_webhooks *w, const hc_app *app, bool gone)
{
    if (!w || w->closing)
        return;
    size_t idlen = strlen(app->id);
    char err[256];
    if (gone || !app->enabled) {
        hc_whs_remove_app(w->sender, app->id);
    } else if (hc_whs_set_app(w->sender, app, err, sizeof(err)) != 0) {
        hc_warn("webhooks ignored: %s", err);
        hc_whs_remove_app(w->sender, app->id);
    }
    if (gone)
        hc_map_put(&w->removed, app->id, idlen, (void *)1);
    else
        hc_map_del(&w->removed, app->id, idlen);
    unsigned m = hc_whs_mask(w->sender, app->id);
    hc_info("app %s: webhooks %s", app->id, m ? "on" : "off");
    write_mask(w, app->id);
}

static void on_retry(uv_timer_t *t)
{
    wh_connect(t->data);
}

static void schedule_retry(br_webhooks *w)
{
    if (w->closing || uv_is_active((uv_handle_t *)&w->retry))
        return;
    unsigned d = w->backoff_ms;
    w->backoff_ms = d * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d * 2;
    uv_timer_start(&w->retry, on_retry, d, 0);
}

static void went_down(br_webhooks *w, const char *why)
{
    w->ac = NULL;
    w->up = w->reading = w->claiming = false;
    if (w->closing)
        return;
    if (!w->complained)
        hc_warn("webhook queue: redis %s:%d unavailable (%s); webhooks wait until it is back",
                w->host, w->port, why);
    w->complained = true;
    schedule_retry(w);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    br_webhooks *w = ac->data;
    if (ac != w->ac)
        return;
    if (status != REDIS_OK) {
        went_down(w, ac->c.errstr[0] ? ac->c.errstr : "connect failed");
        return;
    }
    w->up = true;
    w->backoff_ms = BACKOFF_MIN_MS;
    if (w->complained)
        hc_info("webhook queue: redis %s:%d is back", w->host, w->port);
    w->complained = false;
    redisAsyncCommand(w->ac, on_ignored, NULL, "XGROUP CREATE %s %s 0 MKSTREAM", STREAM, GROUP);
    write_masks(w);
    snprintf(w->cursor, sizeof(w->cursor), "0"); /* own pending entries first */
    read_more(w);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    br_webhooks *w = ac->data;
    if (ac != w->ac)
        return;
    went_down(w, ac->c.errstr[0] ? ac->c.errstr : "connection closed");
}

static void wh_connect(br_webhooks *w)
{
    if (w->closing || w->ac)
        return;
    redisAsyncContext *ac = redisAsyncConnect(w->host, w->port);
    if (!ac) {
        hc_error("out of memory creating a redis connection");
        abort();
    }
    if (ac->err) {
        redisAsyncFree(ac);
        schedule_retry(w);
        return;
    }
    ac->data = w;
    if (br_redis_uv_attach(ac, w->loop) != 0) {
        redisAsyncFree(ac);
        schedule_retry(w);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    w->ac = ac;
}

static const char *env_lookup(const char *name)
{
    return getenv(name);
}

int br_webhooks_load_apps(const char *file, hc_apps *apps, char *err, size_t errlen)
{
    bool have_file = file && file[0];
    if (have_file) {
        FILE *f = fopen(file, "rb");
        if (!f) {
            snprintf(err, errlen, "cannot open apps file %s", file);
            return -1;
        }
        hc_sbuf b = HC_SBUF_INIT;
        char chunk[8192];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
            hc_sbuf_append(&b, chunk, n);
        fclose(f);
        int added = hc_apps_load_json(apps, b.data ? b.data : "", b.len, err, errlen);
        hc_sbuf_free(&b);
        if (added < 0)
            return -1;
    }
    bool default_env = getenv("HERALD_DEFAULT_APP_ID") || getenv("SOKETI_DEFAULT_APP_ID");
    if ((!have_file || default_env) && hc_apps_load_default(apps, env_lookup, err, errlen) < 0)
        return -1;
    return 0;
}

br_webhooks *br_webhooks_new(uv_loop_t *loop, const br_webhooks_opts *o, char *err, size_t errlen)
{
    br_webhooks *w = hc_calloc(1, sizeof(*w));
    w->sender = hc_whs_new(loop, o->apps, on_done, w, err, errlen);
    if (!w->sender) {
        free(w);
        return NULL;
    }
    w->loop = loop;
    w->host = hc_strdup(o->host);
    w->port = o->port;
    w->consumer = hc_strdup(o->consumer);
    w->apps = o->apps;
    w->claim_ms = o->claim_ms ? o->claim_ms : 60000;
    w->waiting_apps = o->wait_for_apps;
    w->backoff_ms = BACKOFF_MIN_MS;
    snprintf(w->cursor, sizeof(w->cursor), "0");
    snprintf(w->claim_at, sizeof(w->claim_at), "0-0");
    uv_timer_init(loop, &w->retry);
    uv_timer_init(loop, &w->poll);
    uv_timer_init(loop, &w->claim);
    w->retry.data = w->poll.data = w->claim.data = w;
    w->open_handles = 3;
    uv_timer_start(&w->poll, on_poll, POLL_MS, POLL_MS);
    unsigned every = w->claim_ms / 3 ? w->claim_ms / 3 : 1;
    uv_timer_start(&w->claim, on_claim_tick, every, every);
    wh_connect(w);
    return w;
}

size_t br_webhooks_depth(const br_webhooks *w)
{
    return w ? hc_whs_depth(w->sender) : 0;
}

static void on_closed(uv_handle_t *h)
{
    br_webhooks *w = h->data;
    if (--w->open_handles)
        return;
    hc_map_iter it;
    hc_map_iter_init(&it, &w->by_id);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));) {
        held *hd = e->value;
        free(hd->id);
        free(hd);
    }
    hc_map_free(&w->by_id);
    hc_map_free(&w->by_token);
    hc_map_free(&w->removed);
    free(w->host);
    free(w->consumer);
    free(w);
}

void br_webhooks_free(br_webhooks *w)
{
    if (!w || w->closing)
        return;
    w->closing = true;
    hc_whs_free(w->sender);
    w->sender = NULL;
    redisAsyncContext *ac = w->ac;
    w->ac = NULL;
    w->up = false;
    if (ac)
        redisAsyncFree(ac);
    uv_close((uv_handle_t *)&w->retry, on_closed);
    uv_close((uv_handle_t *)&w->poll, on_closed);
    uv_close((uv_handle_t *)&w->claim, on_closed);
}
