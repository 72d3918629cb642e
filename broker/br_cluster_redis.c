/*
 * br_cluster_redis: cluster state on Redis (see br_cluster_redis.h).
 *
 * Owns one hiredis async connection (reconnected with backoff, 100 ms
 * doubling to 5 s), the scripts (cluster_lib.lua + cluster_<op>.lua, SHA1
 * computed here so EVALSHA is tried first, EVAL on NOSCRIPT), the calls
 * waiting for their reply (hiredis keeps them; on disconnect or free they
 * are answered with NULL and fail), and the sweep timer. Every script
 * returns {1, text} (text is the answer) or {0, reason}. What each op does
 * to Redis is in broker/lua/cluster_*.lua; what the answers mean is in
 * docs/presence.md.
 */
#include "br_cluster_redis.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "br_lua_gen.h"
#include "br_redis_uv.h"
#include "hc_buf.h"
#include "hc_clock.h"
#include "hc_log.h"
#include "hc_mem.h"

#define CR_BACKOFF_MIN_MS 100
#define CR_BACKOFF_MAX_MS 5000
#define CR_MAX_ARGS 16

typedef struct cr_script {
    const char *op;
    const char *body;
    char *text; /* lib + body */
    size_t len;
    char sha[41];
} cr_script;

static cr_script cr_scripts[] = {
    {"join", BR_LUA_CLUSTER_JOIN, NULL, 0, ""},
    {"leave", BR_LUA_CLUSTER_LEAVE, NULL, 0, ""},
    {"beat", BR_LUA_CLUSTER_BEAT, NULL, 0, ""},
    {"count", BR_LUA_CLUSTER_COUNT, NULL, 0, ""},
    {"channel", BR_LUA_CLUSTER_CHANNEL, NULL, 0, ""},
    {"channels", BR_LUA_CLUSTER_CHANNELS, NULL, 0, ""},
    {"users", BR_LUA_CLUSTER_USERS, NULL, 0, ""},
    {"sweep", BR_LUA_CLUSTER_SWEEP, NULL, 0, ""},
    {"webhook", BR_LUA_CLUSTER_WEBHOOK, NULL, 0, ""},
    {"online", BR_LUA_CLUSTER_ONLINE, NULL, 0, ""},
    {"apps", BR_LUA_CLUSTER_APPS, NULL, 0, ""},
};
#define CR_NSCRIPTS (sizeof(cr_scripts) / sizeof(cr_scripts[0]))
static int cr_scripts_users; /* instances sharing the texts above */

typedef struct cr {
    br_cluster base;
    uv_loop_t *loop;
    char *host;
    int port;
    char hsize[24], httl[24];
    redisAsyncContext *ac;
    bool up;
    bool complained;
    unsigned backoff_ms;
    unsigned sweep_ms;
    uv_timer_t retry, sweep;
    int open_handles;
    bool closing;
    uint64_t rng;
} cr;

/* One script call awaiting its reply; owns copies of its arguments. */
typedef struct cr_req {
    cr *c;
    const cr_script *sc;
    int argc;
    char *argv[CR_MAX_ARGS];
    size_t lens[CR_MAX_ARGS];
    br_cluster_done_fn done;
    void *arg;
    bool via_eval;
} cr_req;

static void cr_connect(cr *c);

static void scripts_init(void)
{
    if (cr_scripts_users++)
        return;
    size_t liblen = strlen(BR_LUA_CLUSTER_LIB);
    for (size_t i = 0; i < CR_NSCRIPTS; i++) {
        cr_script *s = &cr_scripts[i];
        size_t blen = strlen(s->body);
        s->len = liblen + 1 + blen;
        s->text = hc_malloc(s->len + 1);
        memcpy(s->text, BR_LUA_CLUSTER_LIB, liblen);
        s->text[liblen] = '\n';
        memcpy(s->text + liblen + 1, s->body, blen + 1);
        unsigned char md[SHA_DIGEST_LENGTH];
        SHA1((const unsigned char *)s->text, s->len, md);
        for (int j = 0; j < SHA_DIGEST_LENGTH; j++)
            snprintf(s->sha + 2 * j, 3, "%02x", md[j]);
    }
}

static void scripts_release(void)
{
    if (--cr_scripts_users)
        return;
    for (size_t i = 0; i < CR_NSCRIPTS; i++) {
        free(cr_scripts[i].text);
        cr_scripts[i].text = NULL;
    }
}

static const cr_script *script_for(const char *op)
{
    for (size_t i = 0; i < CR_NSCRIPTS; i++)
        if (op && strcmp(cr_scripts[i].op, op) == 0)
            return &cr_scripts[i];
    return NULL;
}

static uint64_t cr_rand(cr *c)
{
    uint64_t z = (c->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void req_free(cr_req *r)
{
    for (int i = 0; i < r->argc; i++)
        free(r->argv[i]);
    free(r);
}

static void req_arg(cr_req *r, const char *s, size_t len)
{
    if (r->argc >= CR_MAX_ARGS)
        return;
    r->argv[r->argc] = hc_malloc(len + 1);
    memcpy(r->argv[r->argc], s ? s : "", len);
    r->argv[r->argc][len] = 0;
    r->lens[r->argc++] = len;
}

static void req_str(cr_req *r, const char *s)
{
    req_arg(r, s ? s : "", s ? strlen(s) : 0);
}

static void req_u64(cr_req *r, unsigned long long v)
{
    char b[24];
    req_arg(r, b, (size_t)snprintf(b, sizeof(b), "%llu", v));
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv);

/* Sends r: EVALSHA (or EVAL) script 0 args... Returns false if not sent. */
static bool req_send(cr_req *r)
{
    cr *c = r->c;
    if (!c->ac || !c->up)
        return false;
    const char *argv[CR_MAX_ARGS + 3];
    size_t lens[CR_MAX_ARGS + 3];
    argv[0] = r->via_eval ? "EVAL" : "EVALSHA";
    lens[0] = strlen(argv[0]);
    argv[1] = r->via_eval ? r->sc->text : r->sc->sha;
    lens[1] = r->via_eval ? r->sc->len : 40;
    argv[2] = "0";
    lens[2] = 1;
    for (int i = 0; i < r->argc; i++) {
        argv[i + 3] = r->argv[i];
        lens[i + 3] = r->lens[i];
    }
    return redisAsyncCommandArgv(c->ac, on_reply, r, r->argc + 3, argv, lens) == REDIS_OK;
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    (void)ac;
    cr_req *r = priv;
    redisReply *rep = reply;
    if (!rep) {
        r->done(r->arg, "redis connection lost", NULL, 0);
        req_free(r);
        return;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        if (!r->via_eval && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
            r->via_eval = true;
            if (req_send(r))
                return;
        }
        hc_warn("cluster script %s failed: %s", r->sc->op, rep->str);
        r->done(r->arg, "redis error", NULL, 0);
        req_free(r);
        return;
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
        rep->element[0]->type != REDIS_REPLY_INTEGER ||
        rep->element[1]->type != REDIS_REPLY_STRING) {
        r->done(r->arg, "unexpected reply from a cluster script", NULL, 0);
    } else if (rep->element[0]->integer != 1) {
        r->done(r->arg, rep->element[1]->str, NULL, 0);
    } else {
        r->done(r->arg, NULL, rep->element[1]->str, rep->element[1]->len);
    }
    req_free(r);
}

/* Starts a request for script sc with the common arguments. */
static cr_req *req_new(cr *c, const cr_script *sc, br_cluster_done_fn done, void *arg)
{
    cr_req *r = hc_calloc(1, sizeof(*r));
    r->c = c;
    r->sc = sc;
    r->done = done;
    r->arg = arg;
    char epoch[17];
    snprintf(epoch, sizeof(epoch), "%016llx", (unsigned long long)cr_rand(c));
    req_str(r, epoch);
    req_str(r, c->hsize);
    req_str(r, c->httl);
    return r;
}

static void cr_call(br_cluster *base, const Herald__ClusterCall *call, br_cluster_done_fn done,
                    void *arg)
{
    cr *c = (cr *)base;
    const cr_script *sc = script_for(call->op);
    if (!sc || strcmp(sc->op, "sweep") == 0) {
        done(arg, "unknown cluster operation", NULL, 0);
        return;
    }
    if (!c->up || c->closing) {
        done(arg, "redis unavailable", NULL, 0);
        return;
    }
    cr_req *r = req_new(c, sc, done, arg);
    const char *op = sc->op;
    if (!strcmp(op, "join") || !strcmp(op, "beat") || !strcmp(op, "count")) {
        req_str(r, call->gateway_id);
        req_str(r, call->boot_id);
        req_u64(r, call->liveness_ms ? call->liveness_ms : 30000);
    }
    if (!strcmp(op, "leave"))
        req_str(r, call->gateway_id);
    if (strcmp(op, "beat") != 0) {
        req_str(r, call->app_id);
        req_str(r, call->channel);
    }
    if (!strcmp(op, "join")) {
        req_str(r, call->socket_id);
        req_str(r, call->user_id);
        req_arg(r, (const char *)call->user_info.data, call->user_info.len);
        req_u64(r, call->limit);
    } else if (!strcmp(op, "leave")) {
        req_str(r, call->socket_id);
    } else if (!strcmp(op, "count")) {
        req_u64(r, call->count > 0 ? (unsigned long long)call->count : 0);
        req_str(r, (call->flags & 1) ? "1" : "0");
    } else if (!strcmp(op, "channel") || !strcmp(op, "channels")) {
        req_u64(r, call->flags);
    } else if (!strcmp(op, "webhook")) {
        req_arg(r, (const char *)call->webhook.data, call->webhook.len);
    } else if (!strcmp(op, "online")) {
        hc_sbuf ids = HC_SBUF_INIT; /* user ids never hold a newline */
        for (size_t i = 0; i < call->n_user_ids; i++) {
            hc_sbuf_puts(&ids, i ? "\n" : "");
            hc_sbuf_puts(&ids, call->user_ids[i]);
        }
        req_arg(r, ids.data, ids.len);
        hc_sbuf_free(&ids);
    } else if (!strcmp(op, "apps")) {
        char v[24]; /* the version the gateway has; -1: everything */
        snprintf(v, sizeof(v), "%lld", (long long)call->count);
        req_str(r, v);
    }
    if (!req_send(r)) {
        done(arg, "redis unavailable", NULL, 0);
        req_free(r);
    }
}

/* ---- sweep ------------------------------------------------------------ */

static void on_swept(void *arg, const char *error, const char *json, size_t len)
{
    (void)arg;
    (void)len;
    if (error)
        hc_debug("gateway sweep failed: %s", error);
    else if (json && strcmp(json, "0") != 0)
        hc_info("removed the presence and subscription state of %s dead gateway(s)", json);
}

static void on_sweep_tick(uv_timer_t *t)
{
    cr *c = t->data;
    if (!c->up || c->closing)
        return;
    cr_req *r = req_new(c, script_for("sweep"), on_swept, c);
    if (!req_send(r))
        req_free(r);
}

/* ---- connection ------------------------------------------------------- */

static void on_retry(uv_timer_t *t)
{
    cr_connect(t->data);
}

static void schedule_retry(cr *c)
{
    if (c->closing || uv_is_active((uv_handle_t *)&c->retry))
        return;
    unsigned d = c->backoff_ms;
    c->backoff_ms = d * 2 > CR_BACKOFF_MAX_MS ? CR_BACKOFF_MAX_MS : d * 2;
    uv_timer_start(&c->retry, on_retry, d - d / 5 + (unsigned)(cr_rand(c) % (2 * (d / 5) + 1)), 0);
}

static void went_down(cr *c, const char *why)
{
    c->ac = NULL;
    c->up = false;
    if (c->closing)
        return;
    if (!c->complained)
        hc_warn("cluster state: redis %s:%d unavailable (%s); presence and channel queries "
                "fail until it is back",
                c->host, c->port, why);
    c->complained = true;
    schedule_retry(c);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    cr *c = ac->data;
    if (ac != c->ac)
        return;
    if (status != REDIS_OK) {
        went_down(c, ac->c.errstr[0] ? ac->c.errstr : "connect failed");
        return;
    }
    c->up = true;
    c->backoff_ms = CR_BACKOFF_MIN_MS;
    if (c->complained)
        hc_info("cluster state: redis %s:%d is back", c->host, c->port);
    c->complained = false;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    (void)status;
    cr *c = ac->data;
    if (ac != c->ac)
        return;
    went_down(c, ac->c.errstr[0] ? ac->c.errstr : "connection closed");
}

static void cr_connect(cr *c)
{
    if (c->closing || c->ac)
        return;
    redisAsyncContext *ac = redisAsyncConnect(c->host, c->port);
    if (!ac) {
        hc_error("out of memory creating a redis connection");
        abort();
    }
    if (ac->err) {
        hc_debug("cluster state: redis connect: %s", ac->errstr);
        redisAsyncFree(ac);
        schedule_retry(c);
        return;
    }
    ac->data = c;
    if (br_redis_uv_attach(ac, c->loop) != 0) {
        redisAsyncFree(ac);
        schedule_retry(c);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    c->ac = ac;
}

static void on_closed(uv_handle_t *h)
{
    cr *c = h->data;
    if (--c->open_handles == 0) {
        free(c->host);
        free(c);
        scripts_release();
    }
}

static void cr_free(br_cluster *base)
{
    cr *c = (cr *)base;
    c->closing = true;
    redisAsyncContext *ac = c->ac;
    c->ac = NULL;
    c->up = false;
    if (ac)
        redisAsyncFree(ac); /* pending calls fail through on_reply */
    uv_close((uv_handle_t *)&c->retry, on_closed);
    uv_close((uv_handle_t *)&c->sweep, on_closed);
}

static const br_cluster_ops cr_ops = {cr_call, cr_free};

br_cluster *br_cluster_redis_new(uv_loop_t *loop, const br_cluster_redis_opts *opts)
{
    scripts_init();
    cr *c = hc_calloc(1, sizeof(*c));
    c->base.ops = &cr_ops;
    c->loop = loop;
    c->host = hc_strdup(opts->host);
    c->port = opts->port;
    snprintf(c->hsize, sizeof(c->hsize), "%ld", opts->history_size);
    snprintf(c->httl, sizeof(c->httl), "%ld", opts->history_ttl);
    c->backoff_ms = CR_BACKOFF_MIN_MS;
    c->sweep_ms = opts->sweep_ms ? opts->sweep_ms : 1000;
    if (getrandom(&c->rng, sizeof(c->rng), 0) != (ssize_t)sizeof(c->rng))
        c->rng = hc_mono_ms() ^ (uint64_t)(uintptr_t)c;
    uv_timer_init(loop, &c->retry);
    uv_timer_init(loop, &c->sweep);
    c->retry.data = c->sweep.data = c;
    c->open_handles = 2;
    uv_timer_start(&c->sweep, on_sweep_tick, c->sweep_ms, c->sweep_ms);
    cr_connect(c);
    return &c->base;
}
