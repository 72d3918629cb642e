/*
 * herald-broker: main. Reads the configuration table (flags > HERALD_*
 * env > defaults), wires the Redis store, the core and the TCP server onto
 * one libuv loop with the metrics/health port (hc_opsd: readiness = Redis
 * up and the pub/sub probe heard), prints the listening line, and shuts
 * down cleanly (exit 0): on SIGTERM it first drains (not ready, no new
 * links, waits up to 2 s for Redis answers and link queues to flush), then
 * on SIGTERM or SIGINT closes the server (links leave the core), then the
 * store (pending publishes fail), then the loop. Owns nothing else; all
 * behaviour lives in br_core, br_store_redis and br_server (webhooks:
 * br_webhooks; with --apps-redis, br_apps_redis feeds it the apps from
 * Redis).
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "br_apps_redis.h"
#include "br_cluster_redis.h"
#include "br_core.h"
#include "br_metrics.h"
#include "br_server.h"
#include "br_store_redis.h"
#include "br_webhooks.h"
#include "hc_webhook_send.h"
#include "hc_config.h"
#include "hc_log.h"
#include "hc_mem.h"
#include "hc_metrics.h"
#include "hc_opsd.h"
#include "hc_tlslink.h"

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
    char *log_format;
    char *metrics_host;
    long metrics_port;
    char *apps_file;
    bool apps_redis;
    long apps_refresh_ms;
    long webhook_claim_ms;
    char *tls_cert;
    char *tls_key;
    char *tls_client_ca;
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
    OPT("log-format", "HERALD_LOG_FORMAT", HC_OPT_STRING, "text",
        "text, or json (one object per line: ts, level, component, msg)", log_format),
    OPT("metrics-host", "HERALD_METRICS_HOST", HC_OPT_STRING, "0.0.0.0",
        "address of the metrics/health port", metrics_host),
    OPT("metrics-port", "HERALD_METRICS_PORT", HC_OPT_INT, "9601",
        "port for /metrics (Prometheus), /health, /ready, /accept-traffic; 0 disables",
        metrics_port),
    OPT("apps-file", "HERALD_APPS_FILE", HC_OPT_STRING, NULL,
        "JSON file of apps, as the gateways' (the broker sends their webhooks)", apps_file),
    OPT("apps-redis", "HERALD_APPS_REDIS", HC_OPT_BOOL, "false",
        "also follow the apps kept in Redis (hash herald:apps), as the gateways' --apps-redis, "
        "to send their webhooks",
        apps_redis),
    OPT("apps-refresh-ms", "HERALD_APPS_REFRESH_MS", HC_OPT_INT, "1000",
        "with --apps-redis: milliseconds between checks of herald:apps:version", apps_refresh_ms),
    OPT("webhook-claim-ms", "HERALD_WEBHOOK_CLAIM_MS", HC_OPT_INT, "60000",
        "ms after which another broker's undelivered webhooks are taken over", webhook_claim_ms),
    OPT("tls-cert", "HERALD_BROKER_TLS_CERT", HC_OPT_STRING, NULL,
        "PEM certificate (then its chain): gateway links over TLS only (needs --tls-key)",
        tls_cert),
    OPT("tls-key", "HERALD_BROKER_TLS_KEY", HC_OPT_STRING, NULL, "PEM private key of --tls-cert",
        tls_key),
    OPT("tls-client-ca", "HERALD_BROKER_TLS_CLIENT_CA", HC_OPT_STRING, NULL,
        "PEM CA file: require gateways to present a certificate signed by it", tls_client_ca),
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

#define FLUSH_MAX_MS 2000 /* drain: longest wait for Redis answers and link queues */
#define FLUSH_TICK_MS 20

typedef struct br_app {
    uv_loop_t loop;
    br_store *store;
    br_cluster *cluster;
    br_webhooks *webhooks;
    br_apps_redis *apps_redis; /* --apps-redis */
    hc_apps *apps;
    br_core *core;
    br_server *server;
    SSL_CTX *tls; /* gateway links over TLS, or NULL */
    uv_signal_t sigint, sigterm;
    int stopping;
    hc_metrics *metrics;
    hc_opsd *opsd;
    uv_timer_t flush;
    bool flushing;
    uint64_t flush_deadline;
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
    if (cfg->metrics_port < 0 || cfg->metrics_port > 65535)
        return "--metrics-port must be 0..65535 (0 disables)";
    if (cfg->apps_refresh_ms < 50 || cfg->apps_refresh_ms > 3600000)
        return "--apps-refresh-ms must be 50..3600000";
    if (cfg->webhook_claim_ms < 100)
        return "--webhook-claim-ms must be at least 100";
    if (cfg->link_queue_max < 1024 * 1024)
        return "--link-queue-max must be at least 1048576 bytes";
    if ((cfg->tls_cert && cfg->tls_cert[0]) != (cfg->tls_key && cfg->tls_key[0]))
        return "--tls-cert and --tls-key go together (both or neither)";
    if (cfg->tls_client_ca && cfg->tls_client_ca[0] && !(cfg->tls_cert && cfg->tls_cert[0]))
        return "--tls-client-ca needs --tls-cert and --tls-key (TLS links)";
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
    br_apps_redis_stop(app->apps_redis);
    app->apps_redis = NULL;
    app->store->ops->free(app->store);
    app->store = NULL;
    app->cluster->ops->free(app->cluster);
    app->cluster = NULL;
    br_webhooks_free(app->webhooks);
    app->webhooks = NULL;
    uv_close((uv_handle_t *)&app->sigint, on_handle_closed);
    uv_close((uv_handle_t *)&app->sigterm, on_handle_closed);
}

/* Last step of the drain: close the links and the store. */
static void close_all(br_app *app)
{
    if (app->flushing) {
        app->flushing = false;
        uv_timer_stop(&app->flush);
        uv_close((uv_handle_t *)&app->flush, on_handle_closed);
    }
    hc_opsd_close(app->opsd);
    app->opsd = NULL;
    br_server_close(app->server, on_server_closed, app);
}

/* While draining: waits until no publish waits for Redis and every
 * acknowledgement and event has been written to its gateway (at most
 * FLUSH_MAX_MS), then closes. */
static void flush_tick(uv_timer_t *t)
{
    br_app *app = t->data;
    bool idle = !br_store_redis_busy(app->store) && br_server_queued_bytes(app->server) == 0;
    if (idle || uv_now(&app->loop) >= app->flush_deadline) {
        hc_info("drain: %s; closing gateway links", idle ? "flushed" : "flush timed out");
        close_all(app);
    }
}

/* SIGTERM: stop reporting ready and accepting links, flush, close, exit 0.
 * SIGINT (or a second signal): close at once. */
static void on_signal(uv_signal_t *h, int signum)
{
    br_app *app = h->data;
    if (app->stopping++) {
        if (app->flushing)
            close_all(app);
        return;
    }
    hc_info("%s received, shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    if (signum != SIGTERM) {
        close_all(app);
        return;
    }
    br_server_stop_listening(app->server);
    uv_timer_init(&app->loop, &app->flush);
    app->flush.data = app;
    app->flushing = true;
    app->flush_deadline = uv_now(&app->loop) + FLUSH_MAX_MS;
    uv_timer_start(&app->flush, flush_tick, 0, FLUSH_TICK_MS);
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
    hc_log_format format = HC_LOG_TEXT;
    if (!why && hc_log_parse_format(cfg->log_format, &format) != 0)
        why = "--log-format must be text or json";
    if (why) {
        fprintf(stderr, "herald-broker: %s (see --help)\n", why);
        *code = 2;
        return -1;
    }
    hc_log_set_level(level);
    hc_log_set_format(format);
    default_broker_id(cfg);
    hc_log_set_component(cfg->broker_id);
    return 0;
}

/* Readiness: Redis reachable on both connections and the pub/sub probe
 * heard back recently. */
#define PROBE_MAX_AGE_MS 3500

static bool ops_ready(void *ud, char *why, size_t whylen)
{
    br_app *app = ud;
    if (app->stopping) {
        snprintf(why, whylen, "shutting down");
        return false;
    }
    if (!br_store_redis_up(app->store)) {
        snprintf(why, whylen, "redis is not reachable");
        return false;
    }
    long long age = br_store_redis_probe_age_ms(app->store);
    if (age < 0 || age > PROBE_MAX_AGE_MS) {
        snprintf(why, whylen, "redis pub/sub probe not received (%s)",
                 age < 0 ? "never" : "too long ago");
        return false;
    }
    return true;
}

static void ops_collect(void *ud)
{
    br_app *app = ud;
    char why[128];
    hc_metric_set(br_m.links, NULL, (double)br_core_link_count(app->core));
    hc_metric_set(br_m.channels, NULL, (double)br_core_channel_count(app->core));
    hc_metric_set(br_m.redis_up, NULL, br_store_redis_up(app->store) ? 1 : 0);
    long long age = br_store_redis_probe_age_ms(app->store);
    hc_metric_set(br_m.probe_age, NULL, age < 0 ? -1 : (double)age / 1000.0);
    hc_metric_set(br_m.ready, NULL, ops_ready(app, why, sizeof(why)) ? 1 : 0);
    hc_metric_set(br_m.draining, NULL, app->stopping ? 1 : 0);
}

/* Starts the metrics/health port (unless disabled). Returns 0 or -1. */
static int start_opsd(br_app *app, const br_config *cfg)
{
    if (cfg->metrics_port == 0)
        return 0;
    hc_opsd_opts o = {.host = cfg->metrics_host,
                      .port = (int)cfg->metrics_port,
                      .metrics = app->metrics,
                      .ready = ops_ready,
                      .collect = ops_collect,
                      .ud = app};
    char err[256];
    app->opsd = hc_opsd_new(&app->loop, &o, err, sizeof(err));
    if (!app->opsd) {
        hc_error("%s", err);
        return -1;
    }
    hc_info("metrics and health on %s:%d", cfg->metrics_host, hc_opsd_port(app->opsd));
    return 0;
}

/* hc_apps_changed_fn: an app from Redis changed. */
static void app_changed(void *ud, const hc_app *a, hc_app_change what)
{
    br_app *app = ud;
    br_webhooks_app_changed(app->webhooks, a, what == HC_APP_REMOVED);
}

/* The apps from Redis were read once. */
static void apps_ready(void *ud)
{
    br_app *app = ud;
    br_webhooks_apps_ready(app->webhooks);
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
    char err[256];
    br_webhooks_opts wo = {.host = cfg->redis_host,
                           .port = (int)cfg->redis_port,
                           .consumer = cfg->broker_id,
                           .apps = app->apps,
                           .claim_ms = (unsigned)cfg->webhook_claim_ms,
                           .wait_for_apps = cfg->apps_redis};
    app->webhooks = br_webhooks_new(&app->loop, &wo, err, sizeof(err));
    if (!app->webhooks) {
        hc_error("%s", err);
        return -1;
    }
    if (cfg->apps_redis)
        app->apps_redis =
            br_apps_redis_new(&app->loop, app->cluster, app->apps, (unsigned)cfg->apps_refresh_ms,
                              app_changed, apps_ready, app);
    if (cfg->tls_cert && cfg->tls_cert[0]) {
        app->tls = hc_tlslink_server_ctx(cfg->tls_cert, cfg->tls_key, cfg->tls_client_ca, err,
                                         sizeof(err));
        if (!app->tls) {
            hc_error("%s", err);
            return -1;
        }
        hc_info("gateway links over TLS (certificate %s%s%s)", cfg->tls_cert,
                cfg->tls_client_ca && cfg->tls_client_ca[0] ? ", client certificates from CA " : "",
                cfg->tls_client_ca && cfg->tls_client_ca[0] ? cfg->tls_client_ca : "");
    }
    br_server_opts so = {.host = cfg->host,
                         .port = (int)cfg->port,
                         .node_id = cfg->broker_id,
                         .max_queue_bytes = (size_t)cfg->link_queue_max,
                         .tls = app->tls};
    app->server = br_server_new(&app->loop, app->core, &so, err, sizeof(err));
    if (!app->server) {
        hc_error("%s", err);
        return -1;
    }
    if (start_opsd(app, cfg) != 0) {
        br_server_close(app->server, NULL, NULL);
        app->server = NULL;
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
    app.metrics = hc_metrics_new();
    br_metrics_init(app.metrics);
    hc_whs_metrics_init(app.metrics);
    app.apps = hc_apps_new();
    char aerr[256];
    if (br_webhooks_load_apps(cfg.apps_file, app.apps, aerr, sizeof(aerr)) != 0) {
        fprintf(stderr, "herald-broker: %s\n", aerr);
        hc_apps_free(app.apps);
        hc_metrics_free(app.metrics);
        uv_loop_close(&app.loop);
        hc_config_free(opts, NOPTS, &cfg);
        return 2;
    }
    if (start(&app, &cfg) != 0) {
        br_apps_redis_stop(app.apps_redis);
        app.store->ops->free(app.store);
        app.cluster->ops->free(app.cluster);
        br_webhooks_free(app.webhooks);
        code = 1;
    } else {
        hc_info("broker %s listening, redis at %s:%ld", cfg.broker_id, cfg.redis_host,
                cfg.redis_port);
    }
    uv_run(&app.loop, UV_RUN_DEFAULT);
    br_core_free(app.core);
    SSL_CTX_free(app.tls);
    hc_metrics_free(app.metrics);
    hc_apps_free(app.apps);
    if (uv_loop_close(&app.loop) != 0)
        hc_warn("event loop closed with handles still open");
    hc_config_free(opts, NOPTS, &cfg);
    return code;
}
