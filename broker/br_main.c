/*
 * herald-broker: main. Reads the configuration table (flags > HERALD_*
 * env > defaults), wires the Redis store, the core and the TCP server onto
 * one libuv loop, prints the listening line, and shuts down cleanly (exit
 * 0) on SIGINT/SIGTERM: server first (links leave the core), then the
 * store (pending publishes fail), then the loop. Owns nothing else; all
 * behaviour lives in br_core, br_store_redis and br_server.
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "br_cluster_redis.h"
#include "br_core.h"
#include "br_server.h"
#include "br_store_redis.h"
#include "hc_config.h"
#include "hc_log.h"
#include "hc_mem.h"

typedef struct br_config {
    char *host;
    long port;
    char *broker_id;
    char *redis_host;
    long redis_port;
    long history_size;
    long history_ttl;
    long link_queue_max;
    char *log_level;
} br_config;

#define OPT(name, env, type, def, help, field)                                                     \
    {                                                                                              \
        name, env, NULL, type, def, help, offsetof(br_config, field)                               \
    }

static const hc_opt opts[] = {
    OPT("host", "HERALD_BROKER_HOST", HC_OPT_STRING, "0.0.0.0",
        "address to listen on for gateway links", host),
    OPT("port", "HERALD_BROKER_PORT", HC_OPT_INT, "7001", "TCP port for gateway links", port),
    OPT("broker-id", "HERALD_BROKER_ID", HC_OPT_STRING, NULL,
        "unique id of this broker (default <hostname>:<port>)", broker_id),
    OPT("redis-host", "HERALD_REDIS_HOST", HC_OPT_STRING, "127.0.0.1", "Redis host", redis_host),
    OPT("redis-port", "HERALD_REDIS_PORT", HC_OPT_INT, "6379", "Redis port", redis_port),
    OPT("history-size", "HERALD_HISTORY_SIZE", HC_OPT_INT, "1000",
        "events kept per channel (approximate)", history_size),
    OPT("history-ttl", "HERALD_HISTORY_TTL", HC_OPT_INT, "86400",
        "seconds a channel's history lives after its last event", history_ttl),
    OPT("link-queue-max", "HERALD_BROKER_LINK_QUEUE_MAX", HC_OPT_INT, "67108864",
        "bytes queued to one gateway before the broker cuts it off as too slow", link_queue_max),
    OPT("log-level", "HERALD_LOG_LEVEL", HC_OPT_STRING, "info", "debug, info, warn or error",
        log_level),
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

typedef struct br_app {
    uv_loop_t loop;
    br_store *store;
    br_cluster *cluster;
    br_core *core;
    br_server *server;
    uv_signal_t sigint, sigterm;
    int stopping;
} br_app;

static const char *env_lookup(const char *name)
{
    return getenv(name);
}

/* Returns a sentence saying what is wrong with cfg, or NULL. */
static const char *config_invalid(const br_config *cfg)
{
    if (cfg->port < 0 || cfg->port > 65535)
        return "--port must be 0..65535";
    if (cfg->redis_port < 1 || cfg->redis_port > 65535)
        return "--redis-port must be 1..65535";
    if (cfg->history_size < 1)
        return "--history-size must be at least 1";
    if (cfg->history_ttl < 1)
        return "--history-ttl must be at least 1 second";
    if (cfg->link_queue_max < 1024 * 1024)
        return "--link-queue-max must be at least 1048576 bytes";
    if (!cfg->host || !cfg->host[0])
        return "--host must not be empty";
    if (!cfg->redis_host || !cfg->redis_host[0])
        return "--redis-host must not be empty";
    return NULL;
}

/* Fills an empty broker id with "<hostname>:<port>". */
static void default_broker_id(br_config *cfg)
{
    if (cfg->broker_id && cfg->broker_id[0])
        return;
    char host[256] = "localhost";
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = 0;
    free(cfg->broker_id);
    size_t n = strlen(host) + 24;
    cfg->broker_id = hc_malloc(n);
    snprintf(cfg->broker_id, n, "%s:%ld", host, cfg->port);
}

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

/* Second step of shutdown: the server is gone, release the store. */
static void on_server_closed(void *arg)
{
    br_app *app = arg;
    app->server = NULL;
    app->store->ops->free(app->store);
    app->store = NULL;
    app->cluster->ops->free(app->cluster);
    app->cluster = NULL;
    uv_close((uv_handle_t *)&app->sigint, on_handle_closed);
    uv_close((uv_handle_t *)&app->sigterm, on_handle_closed);
}

static void on_signal(uv_signal_t *h, int signum)
{
    br_app *app = h->data;
    if (app->stopping++)
        return;
    hc_info("%s received, shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    br_server_close(app->server, on_server_closed, app);
}

/* Loads the configuration; returns -1 to exit with *code. */
static int load_config(br_config *cfg, int argc, char **argv, int *code)
{
    char err[256];
    hc_config_status st =
        hc_config_load(opts, NOPTS, cfg, argc, argv, env_lookup, err, sizeof(err));
    if (st == HC_CONFIG_HELP) {
        hc_config_print_help(stdout, "herald-broker",
                             "Herald broker: owns channels, appends events to Redis, "
                             "forwards them to gateways.",
                             opts, NOPTS);
        *code = 0;
        return -1;
    }
    const char *why = st == HC_CONFIG_OK ? config_invalid(cfg) : err;
    hc_log_level level = HC_LOG_INFO;
    if (!why && hc_log_parse_level(cfg->log_level, &level) != 0)
        why = "--log-level must be debug, info, warn or error";
    if (why) {
        fprintf(stderr, "herald-broker: %s (see --help)\n", why);
        *code = 2;
        return -1;
    }
    hc_log_set_level(level);
    default_broker_id(cfg);
    hc_log_set_component(cfg->broker_id);
    return 0;
}

/* Builds store, core and server. Returns 0, or -1 (logged). */
static int start(br_app *app, const br_config *cfg)
{
    br_redis_opts ro = {.host = cfg->redis_host,
                        .port = (int)cfg->redis_port,
                        .history_size = cfg->history_size,
                        .history_ttl = cfg->history_ttl};
    app->store = br_store_redis_new(&app->loop, &ro);
    app->core = br_core_new(app->store);
    br_cluster_redis_opts co = {.host = cfg->redis_host,
                                .port = (int)cfg->redis_port,
                                .history_size = cfg->history_size,
                                .history_ttl = cfg->history_ttl,
                                .sweep_ms = 0};
    app->cluster = br_cluster_redis_new(&app->loop, &co);
    br_core_set_cluster(app->core, app->cluster);
    br_server_opts so = {.host = cfg->host,
                         .port = (int)cfg->port,
                         .node_id = cfg->broker_id,
                         .max_queue_bytes = (size_t)cfg->link_queue_max};
    char err[256];
    app->server = br_server_new(&app->loop, app->core, &so, err, sizeof(err));
    if (!app->server) {
        hc_error("%s", err);
        return -1;
    }
    printf("herald-broker listening on %s:%d\n", cfg->host, br_server_port(app->server));
    fflush(stdout);
    uv_signal_init(&app->loop, &app->sigint);
    uv_signal_init(&app->loop, &app->sigterm);
    app->sigint.data = app->sigterm.data = app;
    uv_signal_start(&app->sigint, on_signal, SIGINT);
    uv_signal_start(&app->sigterm, on_signal, SIGTERM);
    return 0;
}

int main(int argc, char **argv)
{
    br_config cfg = {0};
    int code = 0;
    if (load_config(&cfg, argc, argv, &code) != 0) {
        hc_config_free(opts, NOPTS, &cfg);
        return code;
    }
    signal(SIGPIPE, SIG_IGN);
    br_app app = {0};
    uv_loop_init(&app.loop);
    if (start(&app, &cfg) != 0) {
        app.store->ops->free(app.store);
        app.cluster->ops->free(app.cluster);
        code = 1;
    } else {
        hc_info("broker %s listening, redis at %s:%ld", cfg.broker_id, cfg.redis_host,
                cfg.redis_port);
    }
    uv_run(&app.loop, UV_RUN_DEFAULT);
    br_core_free(app.core);
    if (uv_loop_close(&app.loop) != 0)
        hc_warn("event loop closed with handles still open");
    hc_config_free(opts, NOPTS, &cfg);
    return code;
}
