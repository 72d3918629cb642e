/*
 * br_store_redis: br_store on Redis through hiredis' async API on libuv.
 *
 * Owns the command connection (publish script via EVALSHA, SCRIPT LOAD at
 * each connect, EVAL retry on NOSCRIPT, idle PINGs), the subscriber
 * connection (SUBSCRIBE herald:{<app>:<channel>}:live for every followed
 * channel; the set is kept here and re-subscribed after each reconnect),
 * the commands awaiting an answer, the publishes waiting to be sent (at
 * most 1 MiB is handed to hiredis at a time), and the reconnect/watchdog
 * timers. Redis being down is a state, not an error: publishes fail fast
 * with an error, reconnects back off from 100 ms to 5 s, loss and recovery
 * are each logged once, and a Redis that stops answering for timeout_ms is
 * dropped so nothing waits forever. Does not know links or frames; the
 * Redis layout and the event encoding are described in lua/publish.lua.
 */
#include "br_store_redis.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "br_lua_gen.h"
#include "br_redis_uv.h"
#include "hc_buf.h"
#include "hc_clock.h"
#include "br_metrics.h"
#include "hc_log.h"
#include "hc_map.h"
#include "hc_mem.h"

#define RS_BACKOFF_MIN_MS 100
#define RS_BACKOFF_MAX_MS 5000
#define RS_TIMEOUT_DEFAULT_MS 5000
#define RS_TICK_MS 500
#define RS_SUB_BATCH 256
#define RS_EPOCH_MAX 64
#define RS_ERR_LOG_MS 10000
#define RS_PROBE_MS 1000                           /* pub/sub probe period (readiness) */
#define RS_MAX_PENDING_BYTES (64u * 1024u * 1024u) /* waiting + in flight: then reject */
#define RS_MAX_INFLIGHT_BYTES (1u * 1024u * 1024u) /* handed to hiredis at once */

typedef enum { OP_PUBLISH, OP_SCRIPT_LOAD, OP_PING, OP_REPLAY } rs_op_kind;

typedef struct br_store_redis br_store_redis;

/* One command sent on the command connection, awaiting its reply. */
typedef struct rs_op {
    struct rs_op *prev, *next; /* in s->ops */
    br_store_redis *s;
    rs_op_kind kind;
    uint64_t sent_ms;
    /* OP_PUBLISH only: */
    char *keys[3]; /* meta, log, live */
    char epoch[17];
    uint8_t *event;
    size_t event_len;
    br_publish_done_fn done;
    void *arg;
    bool via_eval;
    char size[12], ttl[12]; /* the channel's bound; "" = the store's */
    /* OP_REPLAY only: */
    br_replay_done_fn replay_done;
} rs_op;

/* A followed channel, keyed in s->live by its pub/sub channel name. */
typedef struct rs_live {
    char *app_id;
    char *channel;
} rs_live;

typedef enum { RS_STATE_NEW, RS_STATE_UP, RS_STATE_DOWN } rs_state;

struct br_store_redis {
    br_store base;
    uv_loop_t *loop;
    char *host;
    int port;
    char history_size[24];
    char history_ttl[24];
    unsigned timeout_ms;

    redisAsyncContext *cmd, *sub; /* NULL while disconnected */
    bool cmd_up;                  /* Redis answered on cmd (TCP alone is not enough: a frozen
                                   * server still completes connects) */
    bool sub_up;                  /* subscriber connection established */
    uint64_t cmd_started_ms, sub_started_ms;
    uint64_t cmd_heard_ms; /* last reply on cmd */
    rs_state state;        /* what was last logged */
    uint64_t err_logged_ms;
    uint64_t overload_logged_ms;

    char sha[41];
    bool have_sha;
    rs_op *ops_head, *ops_tail;   /* sent, awaiting a reply; oldest first */
    size_t inflight_bytes;        /* event bytes of those */
    rs_op *wait_head, *wait_tail; /* publishes not sent yet (FIFO via next) */
    size_t waiting_bytes;

    hc_map live; /* pub/sub channel name -> rs_live* */

    uv_timer_t retry; /* reconnect after backoff */
    uv_timer_t tick;  /* watchdog and idle pings */
    int open_handles;
    unsigned backoff_ms;
    uint64_t rng;
    bool closing;
    char probe_chan[48];     /* pub/sub channel of the liveness probe */
    uint64_t probe_sent_ms;  /* last PUBLISH of the probe */
    uint64_t probe_heard_ms; /* last time it came back; 0 = never */
};

static void cmd_connect(br_store_redis *s);
static void sub_connect(br_store_redis *s);
static void fail_waiting(br_store_redis *s, const char *why);
static void pump(br_store_redis *s);

/* ---- small helpers ---------------------------------------------------- */

static uint64_t rs_rand(br_store_redis *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* "herald:{<app_id>:<channel>}:<suffix>" as a new malloc'd string. */
static char *rs_key(const char *app_id, const char *channel, const char *suffix)
{
    hc_sbuf b = HC_SBUF_INIT;
    hc_sbuf_printf(&b, "herald:{%s:%s}:%s", app_id, channel, suffix);
    return hc_sbuf_steal(&b);
}

static void op_link(br_store_redis *s, rs_op *op)
{
    op->sent_ms = hc_mono_ms();
    s->inflight_bytes += op->event_len;
    op->next = NULL;
    op->prev = s->ops_tail;
    if (s->ops_tail)
        s->ops_tail->next = op;
    else
        s->ops_head = op;
    s->ops_tail = op;
}

static void op_unlink(br_store_redis *s, rs_op *op)
{
    s->inflight_bytes -= op->event_len;
    if (op->prev)
        op->prev->next = op->next;
    else
        s->ops_head = op->next;
    if (op->next)
        op->next->prev = op->prev;
    else
        s->ops_tail = op->prev;
    op->prev = op->next = NULL;
}

static void op_free(rs_op *op)
{
    for (int i = 0; i < 3; i++)
        free(op->keys[i]);
    free(op->event);
    free(op);
}

/* ---- connection state and logging ------------------------------------ */

/* Logs the loss once per outage (later failed attempts go to debug). */
static void report_down(br_store_redis *s, const char *why)
{
    if (s->closing)
        return;
    if (s->state == RS_STATE_DOWN) {
        hc_debug("redis %s:%d still unavailable: %s", s->host, s->port, why);
        return;
    }
    hc_warn("redis %s:%d %s: %s; publishes fail until it is back, retrying", s->host, s->port,
            s->state == RS_STATE_UP ? "connection lost" : "unreachable", why);
    s->state = RS_STATE_DOWN;
}

static void maybe_up(br_store_redis *s)
{
    if (!s->cmd_up || !s->sub_up)
        return;
    s->backoff_ms = RS_BACKOFF_MIN_MS;
    if (s->state == RS_STATE_DOWN)
        hc_info("redis %s:%d connection restored (%zu live channels re-subscribed)", s->host,
                s->port, s->live.count);
    else if (s->state == RS_STATE_NEW)
        hc_info("redis %s:%d connected", s->host, s->port);
    s->state = RS_STATE_UP;
}

static void on_retry(uv_timer_t *t)
{
    br_store_redis *s = t->data;
    if (s->closing)
        return;
    if (!s->cmd)
        cmd_connect(s);
    if (!s->sub)
        sub_connect(s);
}

/* Arms the reconnect timer (once) with the current backoff +-20%. */
static void schedule_retry(br_store_redis *s)
{
    if (s->closing || uv_is_active((uv_handle_t *)&s->retry))
        return;
    unsigned base = s->backoff_ms;
    unsigned jitter = base / 5;
    unsigned delay = base - jitter + (unsigned)(rs_rand(s) % (2 * jitter + 1));
    uv_timer_start(&s->retry, on_retry, delay, 0);
    s->backoff_ms = base * 2 > RS_BACKOFF_MAX_MS ? RS_BACKOFF_MAX_MS : base * 2;
}

/* Creates an async context attached to the loop, or NULL (logged). */
static redisAsyncContext *rs_connect(br_store_redis *s, redisConnectCallback *on_connect,
                                     redisDisconnectCallback *on_disconnect)
{
    redisAsyncContext *ac = redisAsyncConnect(s->host, s->port);
    if (!ac) {
        hc_error("out of memory creating a redis connection");
        abort();
    }
    if (ac->err) {
        report_down(s, ac->errstr);
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = s;
    if (br_redis_uv_attach(ac, s->loop) != 0) {
        report_down(s, "cannot attach redis connection to the event loop");
        redisAsyncFree(ac);
        return NULL;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    return ac;
}

/* Frees a context we gave up on: pending replies run with NULL. */
static void drop_cmd(br_store_redis *s, const char *why)
{
    redisAsyncContext *ac = s->cmd;
    if (!ac)
        return;
    s->cmd = NULL;
    s->cmd_up = false;
    s->have_sha = false;
    report_down(s, why);
    redisAsyncFree(ac); /* in-flight publishes fail through their callbacks */
    fail_waiting(s, "redis connection lost");
    schedule_retry(s);
}

static void drop_sub(br_store_redis *s, const char *why)
{
    redisAsyncContext *ac = s->sub;
    if (!ac)
        return;
    s->sub = NULL;
    s->sub_up = false;
    report_down(s, why);
    redisAsyncFree(ac);
    schedule_retry(s);
}

/* ---- command connection ---------------------------------------------- */

static void op_finish(rs_op *op, const char *error, const char *epoch, uint64_t offset)
{
    op->done(op->arg, error, epoch, offset);
    op_free(op);
}

static void on_script_loaded(redisAsyncContext *ac, void *r, void *priv)
{
    rs_op *op = priv;
    br_store_redis *s = op->s;
    redisReply *reply = r;
    op_unlink(s, op);
    free(op);
    if (!reply)
        return;
    s->cmd_heard_ms = hc_mono_ms();
    if (ac == s->cmd && !s->cmd_up) {
        s->cmd_up = true;
        maybe_up(s);
    }
    if (reply->type == REDIS_REPLY_STRING && reply->len == 40 && ac == s->cmd) {
        memcpy(s->sha, reply->str, 40);
        s->sha[40] = 0;
        s->have_sha = true;
    } else if (reply->type == REDIS_REPLY_ERROR) {
        hc_warn("redis SCRIPT LOAD failed: %s (publishes use EVAL)", reply->str);
    }
}

/* Queues SCRIPT LOAD of the publish script on s->cmd. */
static void load_script(br_store_redis *s)
{
    rs_op *op = hc_calloc(1, sizeof(*op));
    op->s = s;
    op->kind = OP_SCRIPT_LOAD;
    const char *argv[3] = {"SCRIPT", "LOAD", BR_LUA_PUBLISH};
    size_t lens[3] = {6, 4, sizeof(BR_LUA_PUBLISH) - 1};
    if (redisAsyncCommandArgv(s->cmd, on_script_loaded, op, 3, argv, lens) != REDIS_OK) {
        free(op);
        return;
    }
    op_link(s, op);
}

static void on_pong(redisAsyncContext *ac, void *r, void *priv)
{
    (void)ac;
    rs_op *op = priv;
    br_store_redis *s = op->s;
    op_unlink(s, op);
    free(op);
    if (r) {
        s->cmd_heard_ms = hc_mono_ms();
        pump(s);
    }
}

static void send_ping(br_store_redis *s)
{
    rs_op *op = hc_calloc(1, sizeof(*op));
    op->s = s;
    op->kind = OP_PING;
    if (redisAsyncCommand(s->cmd, on_pong, op, "PING") != REDIS_OK) {
        free(op);
        return;
    }
    op_link(s, op);
}

static void on_publish_reply(redisAsyncContext *ac, void *r, void *priv);

/* Sends op's script call (EVALSHA, or EVAL before the SHA is known or
 * after NOSCRIPT). Returns REDIS_OK or REDIS_ERR (op untouched). */
static int send_publish(br_store_redis *s, rs_op *op)
{
    bool eval = op->via_eval || !s->have_sha;
    const char *argv[10] = {eval ? "EVAL" : "EVALSHA",
                            eval ? BR_LUA_PUBLISH : s->sha,
                            "3",
                            op->keys[0],
                            op->keys[1],
                            op->keys[2],
                            op->epoch,
                            (const char *)op->event,
                            op->size[0] ? op->size : s->history_size,
                            op->ttl[0] ? op->ttl : s->history_ttl};
    size_t lens[10];
    for (int i = 0; i < 10; i++)
        lens[i] = i == 7 ? op->event_len : strlen(argv[i]);
    if (redisAsyncCommandArgv(s->cmd, on_publish_reply, op, 10, argv, lens) != REDIS_OK)
        return REDIS_ERR;
    op_link(s, op);
    return REDIS_OK;
}

/* Hands waiting publishes to hiredis while Redis is up, keeping at most
 * RS_MAX_INFLIGHT_BYTES in flight (one always goes). hiredis 0.14 moves its
 * whole output buffer after every partial write, so a deep pipeline costs
 * quadratic time and starves the subscriber connection; the backlog waits
 * here instead, bounded by RS_MAX_PENDING_BYTES in rs_publish. */
static void pump(br_store_redis *s)
{
    while (s->wait_head && s->cmd && s->cmd_up) {
        rs_op *op = s->wait_head;
        if (s->inflight_bytes && s->inflight_bytes + op->event_len > RS_MAX_INFLIGHT_BYTES)
            return;
        s->wait_head = op->next;
        if (!s->wait_head)
            s->wait_tail = NULL;
        op->next = NULL;
        s->waiting_bytes -= op->event_len;
        if (send_publish(s, op) != REDIS_OK)
            op_finish(op, "redis unavailable", NULL, 0);
    }
}

/* Fails every publish not yet sent. */
static void fail_waiting(br_store_redis *s, const char *why)
{
    while (s->wait_head) {
        rs_op *op = s->wait_head;
        s->wait_head = op->next;
        if (!s->wait_head)
            s->wait_tail = NULL;
        s->waiting_bytes -= op->event_len;
        op_finish(op, why, NULL, 0);
    }
}

/* Reads {offset, epoch} from the script's reply; false if malformed. */
static bool parse_publish_reply(const redisReply *reply, uint64_t *offset, const char **epoch)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
        return false;
    const redisReply *o = reply->element[0], *e = reply->element[1];
    if (o->type != REDIS_REPLY_INTEGER || o->integer <= 0 || e->type != REDIS_REPLY_STRING)
        return false;
    *offset = (uint64_t)o->integer;
    *epoch = e->str;
    return true;
}

/* Logs a failed script call, at most once per RS_ERR_LOG_MS (the rest go
 * to debug): a sick Redis must not flood the log. */
static void log_publish_error(br_store_redis *s, const rs_op *op, const char *error)
{
    uint64_t now = hc_mono_ms();
    if (s->err_logged_ms && now - s->err_logged_ms < RS_ERR_LOG_MS) {
        hc_debug("publish to %s failed: %s", op->keys[2], error);
        return;
    }
    s->err_logged_ms = now;
    hc_warn("publish to %s failed: %s (further errors within %d s go to debug)", op->keys[2], error,
            RS_ERR_LOG_MS / 1000);
}

static void handle_publish_reply(redisAsyncContext *ac, redisReply *reply, rs_op *op)
{
    br_store_redis *s = op->s;
    op_unlink(s, op);
    if (!reply) {
        hc_metric_inc1(br_m.redis_errors, "connection");
        hc_metric_inc1(br_m.publishes, "error");
        op_finish(op, "redis connection lost before the publish was confirmed", NULL, 0);
        return;
    }
    s->cmd_heard_ms = hc_mono_ms();
    const char *cmd[1] = {"publish"};
    hc_metric_observe(br_m.redis_seconds, cmd, (double)(s->cmd_heard_ms - op->sent_ms) / 1000.0);
    if (reply->type == REDIS_REPLY_ERROR) {
        if (!op->via_eval && strncmp(reply->str, "NOSCRIPT", 8) == 0 && ac == s->cmd) {
            op->via_eval = true;
            s->have_sha = false;
            load_script(s);
            if (send_publish(s, op) == REDIS_OK)
                return;
        }
        hc_metric_inc1(br_m.redis_errors, "reply");
        hc_metric_inc1(br_m.publishes, "error");
        hc_sbuf msg = HC_SBUF_INIT;
        hc_sbuf_printf(&msg, "redis error: %s", reply->str);
        log_publish_error(s, op, reply->str);
        op_finish(op, msg.data, NULL, 0);
        hc_sbuf_free(&msg);
        return;
    }
    uint64_t offset;
    const char *epoch;
    if (!parse_publish_reply(reply, &offset, &epoch)) {
        op_finish(op, "unexpected reply from the redis publish script", NULL, 0);
        return;
    }
    hc_metric_inc1(br_m.publishes, "ok");
    op_finish(op, NULL, epoch, offset);
}

static void on_publish_reply(redisAsyncContext *ac, void *r, void *priv)
{
    rs_op *op = priv;
    br_store_redis *s = op->s;
    handle_publish_reply(ac, r, op);
    if (r)
        pump(s);
}

static void on_cmd_connect(const redisAsyncContext *ac, int status)
{
    br_store_redis *s = ac->data;
    if (ac != s->cmd)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this returns. */
        s->cmd = NULL;
        s->cmd_up = false;
        report_down(s, ac->c.errstr[0] ? ac->c.errstr : "connect failed");
        schedule_retry(s);
        return;
    }
    s->cmd_heard_ms = hc_mono_ms(); /* up once SCRIPT LOAD is answered */
}

static void on_cmd_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    br_store_redis *s = ac->data;
    if (ac != s->cmd)
        return;
    s->cmd = NULL;
    s->cmd_up = false;
    s->have_sha = false;
    report_down(s, ac->c.errstr[0] ? ac->c.errstr : "connection closed");
    fail_waiting(s, "redis connection lost");
    schedule_retry(s);
}

static void cmd_connect(br_store_redis *s)
{
    redisAsyncContext *ac = rs_connect(s, on_cmd_connect, on_cmd_disconnect);
    if (!ac) {
        schedule_retry(s);
        return;
    }
    s->cmd = ac;
    s->cmd_up = false;
    s->cmd_started_ms = hc_mono_ms();
    load_script(s); /* sent first once connected, so EVALSHA can follow */
}

/* Logs a full publish backlog, at most once per RS_ERR_LOG_MS. */
static void log_overload(br_store_redis *s)
{
    uint64_t now = hc_mono_ms();
    if (s->overload_logged_ms && now - s->overload_logged_ms < RS_ERR_LOG_MS)
        return;
    s->overload_logged_ms = now;
    hc_warn("publishes waiting for redis exceed %u bytes; rejecting new ones until it catches up",
            RS_MAX_PENDING_BYTES);
}

static void rs_publish_bounded(br_store *base, const char *app_id, const char *channel,
                               const uint8_t *event, size_t len, uint32_t size, uint32_t ttl,
                               br_publish_done_fn done, void *arg)
{
    br_store_redis *s = (br_store_redis *)base;
    if (!s->cmd_up || s->closing) {
        done(arg, "redis unavailable", NULL, 0);
        return;
    }
    if (s->inflight_bytes + s->waiting_bytes + len > RS_MAX_PENDING_BYTES) {
        log_overload(s);
        done(arg, "broker overloaded: too many publishes waiting for redis", NULL, 0);
        return;
    }
    rs_op *op = hc_calloc(1, sizeof(*op));
    op->s = s;
    op->kind = OP_PUBLISH;
    op->keys[0] = rs_key(app_id, channel, "meta");
    op->keys[1] = rs_key(app_id, channel, "log");
    op->keys[2] = rs_key(app_id, channel, "live");
    snprintf(op->epoch, sizeof(op->epoch), "%016llx", (unsigned long long)rs_rand(s));
    op->event = hc_malloc(len ? len : 1);
    memcpy(op->event, event, len);
    op->event_len = len;
    op->done = done;
    op->arg = arg;
    if (size)
        snprintf(op->size, sizeof(op->size), "%u", size);
    if (ttl)
        snprintf(op->ttl, sizeof(op->ttl), "%u", ttl);
    if (s->wait_tail)
        s->wait_tail->next = op;
    else
        s->wait_head = op;
    s->wait_tail = op;
    s->waiting_bytes += len;
    pump(s);
}

static void rs_publish(br_store *base, const char *app_id, const char *channel,
                       const uint8_t *event, size_t len, br_publish_done_fn done, void *arg)
{
    rs_publish_bounded(base, app_id, channel, event, len, 0, 0, done, arg);
}

/* ---- subscriber connection ------------------------------------------- */

/* Parses "<epoch>:<offset>:<event bytes>" and hands it to the core. */
static void deliver(br_store_redis *s, const rs_live *lv, const char *p, size_t n)
{
    const char *c1 = memchr(p, ':', n);
    if (!c1 || c1 == p || (size_t)(c1 - p) > RS_EPOCH_MAX)
        goto bad;
    char epoch[RS_EPOCH_MAX + 1];
    memcpy(epoch, p, (size_t)(c1 - p));
    epoch[c1 - p] = 0;
    const char *q = c1 + 1, *end = p + n;
    uint64_t offset = 0;
    while (q < end && *q >= '0' && *q <= '9' && offset < UINT64_MAX / 10)
        offset = offset * 10 + (uint64_t)(*q++ - '0');
    if (q >= end || *q != ':' || q == c1 + 1)
        goto bad;
    q++;
    if (s->base.on_live)
        s->base.on_live(s->base.on_live_ctx, lv->app_id, lv->channel, epoch, offset,
                        (const uint8_t *)q, (size_t)(end - q));
    return;
bad:
    hc_warn("malformed live message on %s/%s dropped", lv->app_id, lv->channel);
}

/* Every reply of the subscriber connection lands here: subscribe and
 * unsubscribe confirmations (ignored) and messages. */
static void on_sub_reply(redisAsyncContext *ac, void *r, void *priv)
{
    br_store_redis *s = priv;
    redisReply *reply = r;
    if (!reply || ac != s->sub || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
        return;
    redisReply *kind = reply->element[0], *chan = reply->element[1], *msg = reply->element[2];
    if (kind->type == REDIS_REPLY_STRING && strcmp(kind->str, "subscribe") == 0 &&
        chan->type == REDIS_REPLY_STRING) {
        rs_live *lv = hc_map_get(&s->live, chan->str, chan->len);
        if (lv && s->base.on_resync)
            s->base.on_resync(s->base.on_live_ctx, lv->app_id, lv->channel);
        return;
    }
    if (kind->type != REDIS_REPLY_STRING || strcmp(kind->str, "message") != 0 ||
        chan->type != REDIS_REPLY_STRING || msg->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(chan->str, s->probe_chan) == 0) {
        s->probe_heard_ms = hc_mono_ms();
        return;
    }
    rs_live *lv = hc_map_get(&s->live, chan->str, chan->len);
    if (lv)
        deliver(s, lv, msg->str, msg->len);
}

/* Sends (UN)SUBSCRIBE for the given channel names. */
static void sub_command(br_store_redis *s, const char *verb, const char **names, size_t n)
{
    const char **argv = hc_malloc((n + 1) * sizeof(*argv));
    size_t *lens = hc_malloc((n + 1) * sizeof(*lens));
    argv[0] = verb;
    lens[0] = strlen(verb);
    for (size_t i = 0; i < n; i++) {
        argv[i + 1] = names[i];
        lens[i + 1] = strlen(names[i]);
    }
    if (redisAsyncCommandArgv(s->sub, on_sub_reply, s, (int)(n + 1), argv, lens) != REDIS_OK)
        hc_debug("redis %s not sent (connection closing)", verb);
    free(argv);
    free(lens);
}

/* SUBSCRIBEs every followed channel, RS_SUB_BATCH names per command. */
static void resubscribe_all(br_store_redis *s)
{
    const char *batch[RS_SUB_BATCH];
    size_t n = 0;
    hc_map_iter it;
    hc_map_iter_init(&it, &s->live);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));) {
        batch[n++] = e->key;
        if (n == RS_SUB_BATCH) {
            sub_command(s, "SUBSCRIBE", batch, n);
            n = 0;
        }
    }
    if (n)
        sub_command(s, "SUBSCRIBE", batch, n);
}

static void on_sub_connect(const redisAsyncContext *ac, int status)
{
    br_store_redis *s = ac->data;
    if (ac != s->sub)
        return;
    if (status != REDIS_OK) {
        s->sub = NULL;
        s->sub_up = false;
        report_down(s, ac->c.errstr[0] ? ac->c.errstr : "connect failed");
        schedule_retry(s);
        return;
    }
    s->sub_up = true;
    resubscribe_all(s);
    const char *probe = s->probe_chan;
    sub_command(s, "SUBSCRIBE", &probe, 1);
    maybe_up(s);
}

static void on_sub_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    br_store_redis *s = ac->data;
    if (ac != s->sub)
        return;
    s->sub = NULL;
    s->sub_up = false;
    report_down(s, ac->c.errstr[0] ? ac->c.errstr : "connection closed");
    schedule_retry(s);
}

static void sub_connect(br_store_redis *s)
{
    redisAsyncContext *ac = rs_connect(s, on_sub_connect, on_sub_disconnect);
    if (!ac) {
        schedule_retry(s);
        return;
    }
    s->sub = ac;
    s->sub_up = false;
    s->sub_started_ms = hc_mono_ms();
}

static void rs_subscribe_live(br_store *base, const char *app_id, const char *channel)
{
    br_store_redis *s = (br_store_redis *)base;
    char *name = rs_key(app_id, channel, "live");
    size_t n = strlen(name);
    if (!hc_map_get(&s->live, name, n)) {
        rs_live *lv = hc_calloc(1, sizeof(*lv));
        lv->app_id = hc_strdup(app_id);
        lv->channel = hc_strdup(channel);
        hc_map_put(&s->live, name, n, lv);
        if (s->sub_up) {
            const char *names[1] = {name};
            sub_command(s, "SUBSCRIBE", names, 1);
        }
    }
    free(name);
}

static void live_free(rs_live *lv)
{
    free(lv->app_id);
    free(lv->channel);
    free(lv);
}

static void rs_unsubscribe_live(br_store *base, const char *app_id, const char *channel)
{
    br_store_redis *s = (br_store_redis *)base;
    char *name = rs_key(app_id, channel, "live");
    rs_live *lv = hc_map_del(&s->live, name, strlen(name));
    if (lv) {
        live_free(lv);
        if (s->sub_up) {
            const char *names[1] = {name};
            sub_command(s, "UNSUBSCRIBE", names, 1);
        }
    }
    free(name);
}

/* ---- watchdog --------------------------------------------------------- */

/* Since when Redis owes an answer: the later of the oldest command sent
 * and the last reply heard (a long pipeline that keeps being answered is
 * busy, not hung). */
static uint64_t waiting_since(const br_store_redis *s)
{
    uint64_t t = s->ops_head->sent_ms;
    return s->cmd_heard_ms > t ? s->cmd_heard_ms : t;
}

/* PUBLISHes the pub/sub probe on the command connection; the subscriber
 * connection hearing it proves the subscription still delivers (after a
 * failover a subscriber socket can stay open and deliver nothing). */
static void send_probe(br_store_redis *s, uint64_t now)
{
    rs_op *op = hc_calloc(1, sizeof(*op));
    op->s = s;
    op->kind = OP_PING;
    op->sent_ms = now;
    s->probe_sent_ms = now;
    if (redisAsyncCommand(s->cmd, on_pong, op, "PUBLISH %s %llu", s->probe_chan,
                          (unsigned long long)now) != REDIS_OK) {
        free(op);
        return;
    }
    op_link(s, op);
}

/* Drops connections that hang (connect or reply older than timeout_ms)
 * and pings an idle command connection so a hung Redis is noticed. */
static void on_tick(uv_timer_t *t)
{
    br_store_redis *s = t->data;
    uint64_t now = hc_mono_ms();
    if (s->cmd && !s->cmd_up && now - s->cmd_started_ms > s->timeout_ms) {
        drop_cmd(s, "no connection or no first answer within the timeout");
    } else if (s->cmd && s->ops_head && now - waiting_since(s) > s->timeout_ms) {
        drop_cmd(s, "no answer within the timeout");
        drop_sub(s, "no answer within the timeout");
    } else if (s->cmd_up && !s->ops_head && now - s->cmd_heard_ms >= s->timeout_ms / 2) {
        send_ping(s);
    }
    if (s->sub && !s->sub_up && now - s->sub_started_ms > s->timeout_ms)
        drop_sub(s, "connect timed out");
    if (s->cmd_up && s->sub_up && now - s->probe_sent_ms >= RS_PROBE_MS)
        send_probe(s, now);
}

/* ---- life cycle ------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h)
{
    br_store_redis *s = h->data;
    if (--s->open_handles == 0)
        free(s);
}

static void rs_free(br_store *base)
{
    br_store_redis *s = (br_store_redis *)base;
    s->closing = true;
    redisAsyncContext *ac;
    if ((ac = s->cmd)) {
        s->cmd = NULL;
        s->cmd_up = false;
        redisAsyncFree(ac); /* in-flight publishes fail through their callbacks */
    }
    fail_waiting(s, "broker shutting down");
    if ((ac = s->sub)) {
        s->sub = NULL;
        redisAsyncFree(ac);
    }
    hc_map_iter it;
    hc_map_iter_init(&it, &s->live);
    for (hc_map_entry *e; (e = hc_map_iter_next(&it));)
        live_free(e->value);
    hc_map_free(&s->live);
    free(s->host);
    uv_close((uv_handle_t *)&s->retry, on_handle_closed);
    uv_close((uv_handle_t *)&s->tick, on_handle_closed);
}

/* ---- history (lua/replay.lua) ----------------------------------------- */

/* Parses replay.lua's reply and answers op; false if malformed. */
static bool replay_answer(rs_op *op, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 4 || (r->elements - 4) % 2 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return false;
    for (size_t i = 1; i < r->elements; i += i < 4 ? 1 : 2)
        if (r->element[i]->type != REDIS_REPLY_INTEGER)
            return false;
    size_t n = (r->elements - 4) / 2;
    br_replay_entry *ents = hc_calloc(n ? n : 1, sizeof(*ents));
    for (size_t i = 0; i < n; i++) {
        const redisReply *ev = r->element[5 + 2 * i];
        if (ev->type != REDIS_REPLY_STRING) {
            free(ents);
            return false;
        }
        ents[i].offset = (uint64_t)r->element[4 + 2 * i]->integer;
        ents[i].event = (const uint8_t *)ev->str;
        ents[i].event_len = ev->len;
    }
    op->replay_done(op->arg, NULL, r->element[0]->str, (uint64_t)r->element[1]->integer,
                    r->element[2]->integer != 0, r->element[3]->integer != 0, ents, n);
    free(ents);
    return true;
}

static void on_replay_reply(redisAsyncContext *ac, void *r, void *priv)
{
    (void)ac;
    rs_op *op = priv;
    br_store_redis *s = op->s;
    redisReply *reply = r;
    op_unlink(s, op);
    if (!reply) {
        op->replay_done(op->arg, "redis connection lost before the history was read", NULL, 0,
                        false, false, NULL, 0);
    } else {
        s->cmd_heard_ms = hc_mono_ms();
        if (reply->type == REDIS_REPLY_ERROR)
            op->replay_done(op->arg, reply->str, NULL, 0, false, false, NULL, 0);
        else if (!replay_answer(op, reply))
            op->replay_done(op->arg, "unexpected reply from the redis replay script", NULL, 0,
                            false, false, NULL, 0);
    }
    op_free(op);
}

static void rs_replay(br_store *base, const char *app_id, const char *channel,
                      const br_replay_query *q, br_replay_done_fn done, void *arg)
{
    br_store_redis *s = (br_store_redis *)base;
    if (!s->cmd_up || s->closing) {
        done(arg, "redis unavailable", NULL, 0, false, false, NULL, 0);
        return;
    }
    rs_op *op = hc_calloc(1, sizeof(*op));
    op->s = s;
    op->kind = OP_REPLAY;
    op->keys[0] = rs_key(app_id, channel, "meta");
    op->keys[1] = rs_key(app_id, channel, "log");
    op->replay_done = done;
    op->arg = arg;
    char num[24], lim[16];
    const char *mode = q->page          ? "page"
                       : q->since_epoch ? "since"
                       : q->cache       ? "cache"
                       : q->rewind      ? "rewind"
                                        : "position";
    snprintf(num, sizeof(num), "%llu",
             (unsigned long long)(q->since_epoch ? q->since_offset : q->rewind));
    snprintf(lim, sizeof(lim), "%u", q->limit ? q->limit : 1);
    const char *argv[9] = {"EVAL",
                           BR_LUA_REPLAY,
                           "2",
                           op->keys[0],
                           op->keys[1],
                           mode,
                           q->since_epoch ? q->since_epoch : "",
                           num,
                           lim};
    if (redisAsyncCommandArgv(s->cmd, on_replay_reply, op, 9, argv, NULL) != REDIS_OK) {
        op_free(op);
        done(arg, "redis unavailable", NULL, 0, false, false, NULL, 0);
        return;
    }
    op_link(s, op);
}

static const br_store_ops rs_ops = {
    .publish = rs_publish,
    .replay = rs_replay,
    .publish_bounded = rs_publish_bounded,
    .subscribe_live = rs_subscribe_live,
    .unsubscribe_live = rs_unsubscribe_live,
    .free = rs_free,
};

br_store *br_store_redis_new(uv_loop_t *loop, const br_redis_opts *opts)
{
    br_store_redis *s = hc_calloc(1, sizeof(*s));
    s->base.ops = &rs_ops;
    s->loop = loop;
    s->host = hc_strdup(opts->host);
    s->port = opts->port;
    snprintf(s->history_size, sizeof(s->history_size), "%ld", opts->history_size);
    snprintf(s->history_ttl, sizeof(s->history_ttl), "%ld", opts->history_ttl);
    s->timeout_ms = opts->timeout_ms ? opts->timeout_ms : RS_TIMEOUT_DEFAULT_MS;
    s->backoff_ms = RS_BACKOFF_MIN_MS;
    if (getrandom(&s->rng, sizeof(s->rng), 0) != (ssize_t)sizeof(s->rng))
        s->rng = hc_mono_ms() ^ ((uint64_t)hc_wall_ms() << 20) ^ (uint64_t)(uintptr_t)s;
    uv_timer_init(loop, &s->retry);
    uv_timer_init(loop, &s->tick);
    s->retry.data = s->tick.data = s;
    s->open_handles = 2;
    snprintf(s->probe_chan, sizeof(s->probe_chan), "herald:probe:%016llx",
             (unsigned long long)rs_rand(s));
    uv_timer_start(&s->tick, on_tick, RS_TICK_MS, RS_TICK_MS);
    cmd_connect(s);
    sub_connect(s);
    return &s->base;
}

int br_store_redis_up(const br_store *base)
{
    const br_store_redis *s = (const br_store_redis *)base;
    return s->cmd_up && s->sub_up;
}

long long br_store_redis_probe_age_ms(const br_store *base)
{
    const br_store_redis *s = (const br_store_redis *)base;
    return s->probe_heard_ms ? (long long)(hc_mono_ms() - s->probe_heard_ms) : -1;
}

int br_store_redis_busy(const br_store *base)
{
    const br_store_redis *s = (const br_store_redis *)base;
    return s->wait_head != NULL || s->inflight_bytes > 0;
}
