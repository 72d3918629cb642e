/*
 * gw_main: the herald-gateway program: configuration, start, stop.
 *
 * Owns the settings table (flags, environment, --help), the app registry
 * it loads (--apps-file and/or the default-app environment), the libuv
 * loop and signal handling (SIGINT/SIGTERM: stop accepting, close every
 * connection and broker link, exit 0). Everything else is done by
 * gw_server (client side) and gw_link (broker side: TCP links to brokers,
 * or the embedded broker core when none is configured), which it creates
 * and wires together. Nothing calls it.
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <uv.h>

#include "gw_apps_redis.h"
#include "gw_link.h"
#include "gw_metrics.h"
#include "gw_outq.h"
#include "gw_sendbatch.h"
#include "gw_server.h"
#include "gw_tls.h"
#include "hc_apps.h"
#include "hc_config.h"
#include "hc_log.h"
#include "hc_mem.h"
#include "hc_metrics.h"
#include "hc_opsd.h"
#include "hc_tlslink.h"

typedef struct gw_config {
    char *host;
    long port;
    char *brokers;
    long broker_refresh;
    char *gateway_id;
    char *apps_file;
    long activity_timeout;
    long pong_timeout;
    long max_message_size;
    long max_subscriptions;
    long presence_liveness;
    char *log_level;
    char *log_format;
    bool embedded;
    long history_size;
    char *metrics_host;
    long metrics_port;
    long drain_seconds;
    bool rebalance;
    char *rebalance_threshold;
    char *rebalance_rate;
    char *tls_cert;
    char *tls_key;
    char *tls_passphrase;
    long tls_watch;
    long conn_rate_per_ip;
    long conn_burst_per_ip;
    long max_http;
    char *link_tls_ca;
    char *link_tls_name;
    char *link_tls_cert;
    char *link_tls_key;
    bool apps_redis;
    long apps_refresh_ms;
    char *io_uring;
} gw_config;

#define OPT(name, env, alt, type, def, help, field)                                                \
    {                                                                                              \
        name, env, alt, type, def, help, offsetof(gw_config, field)                                \
    }

static const hc_opt options[] = {
    OPT("host", "HERALD_HOST", NULL, HC_OPT_STRING, "0.0.0.0", "address to listen on", host),
    OPT("port", "HERALD_PORT", "SOKETI_PORT", HC_OPT_INT, "6001",
        "port for WebSocket clients and the HTTP API", port),
    OPT("brokers", "HERALD_BROKERS", NULL, HC_OPT_STRING, "127.0.0.1:7001",
        "comma-separated broker addresses (host:port), or dns:NAME:PORT; empty: embedded mode",
        brokers),
    OPT("broker-refresh", "HERALD_BROKER_REFRESH", NULL, HC_OPT_INT, "10",
        "seconds between lookups of a dns: broker name", broker_refresh),
    OPT("embedded", "HERALD_EMBEDDED", NULL, HC_OPT_BOOL, "false",
        "run the broker core in this process with an in-memory store (no brokers, no Redis)",
        embedded),
    OPT("history-size", "HERALD_HISTORY_SIZE", NULL, HC_OPT_INT, "1000",
        "embedded mode: events kept per channel", history_size),
    OPT("gateway-id", "HERALD_GATEWAY_ID", NULL, HC_OPT_STRING, NULL,
        "this gateway's name in the cluster (default: random)", gateway_id),
    OPT("apps-file", "HERALD_APPS_FILE", NULL, HC_OPT_STRING, NULL,
        "JSON file of apps ({\"apps\":[...]}); default: one app from "
        "HERALD_DEFAULT_APP_* / SOKETI_DEFAULT_APP_*",
        apps_file),
    OPT("activity-timeout", "HERALD_ACTIVITY_TIMEOUT", NULL, HC_OPT_INT, "120",
        "seconds of client silence before the server pings", activity_timeout),
    OPT("pong-timeout", "HERALD_PONG_TIMEOUT", NULL, HC_OPT_INT, "30",
        "seconds to wait for a pong before closing (4201)", pong_timeout),
    OPT("max-message-size", "HERALD_MAX_MESSAGE_SIZE", NULL, HC_OPT_INT, "65536",
        "largest client message in bytes", max_message_size),
    OPT("max-subscriptions", "HERALD_MAX_SUBSCRIPTIONS", NULL, HC_OPT_INT, "1000",
        "channels one connection may subscribe to", max_subscriptions),
    OPT("presence-liveness", "HERALD_PRESENCE_LIVENESS", NULL, HC_OPT_INT, "30",
        "seconds after which a silent (dead) gateway's presence members and counts are removed",
        presence_liveness),
    OPT("log-level", "HERALD_LOG_LEVEL", NULL, HC_OPT_STRING, "info", "debug, info, warn or error",
        log_level),
    OPT("log-format", "HERALD_LOG_FORMAT", NULL, HC_OPT_STRING, "text",
        "text, or json (one object per line: ts, level, component, msg, app, socket, channel)",
        log_format),
    OPT("metrics-host", "HERALD_METRICS_HOST", NULL, HC_OPT_STRING, "0.0.0.0",
        "address of the metrics/health port", metrics_host),
    OPT("metrics-port", "HERALD_METRICS_PORT", "METRICS_SERVER_PORT", HC_OPT_INT, "9601",
        "port for /metrics (Prometheus), /health, /ready, /accept-traffic; 0 disables",
        metrics_port),
    OPT("drain-seconds", "HERALD_DRAIN_SECONDS", NULL, HC_OPT_INT, "10",
        "on SIGTERM, close connections (4200) spread over this many seconds, then exit",
        drain_seconds),
    OPT("rebalance", "HERALD_REBALANCE", NULL, HC_OPT_BOOL, "false",
        "shed connections (4200, slowly) while this gateway holds clearly more than the fleet "
        "mean; set it on every gateway",
        rebalance),
    OPT("rebalance-threshold", "HERALD_REBALANCE_THRESHOLD", NULL, HC_OPT_STRING, "1.2",
        "--rebalance: start when above this many times the fleet mean (> 1)", rebalance_threshold),
    OPT("rebalance-rate", "HERALD_REBALANCE_RATE", NULL, HC_OPT_STRING, "10",
        "--rebalance: connections closed per second at most (> 0)", rebalance_rate),
    OPT("tls-cert", "HERALD_TLS_CERT", "SSL_CERT", HC_OPT_STRING, NULL,
        "PEM certificate (then its chain) to serve wss:// and https:// on --port; needs --tls-key",
        tls_cert),
    OPT("tls-key", "HERALD_TLS_KEY", "SSL_KEY", HC_OPT_STRING, NULL,
        "PEM private key of --tls-cert (encrypted: see --tls-passphrase)", tls_key),
    OPT("tls-passphrase", "HERALD_TLS_PASSPHRASE", "SSL_PASSPHRASE", HC_OPT_STRING, NULL,
        "pass phrase of an encrypted --tls-key (prefer the environment: a flag shows in ps)",
        tls_passphrase),
    OPT("tls-watch", "HERALD_TLS_WATCH", NULL, HC_OPT_INT, "60",
        "seconds between checks of the TLS files for a change (then reloaded); 0: SIGHUP only",
        tls_watch),
    OPT("max-conn-rate-per-ip", "HERALD_MAX_CONN_RATE_PER_IP", NULL, HC_OPT_INT, "0",
        "new connections per second from one address (beyond: HTTP 429); 0: no limit",
        conn_rate_per_ip),
    OPT("max-conn-burst-per-ip", "HERALD_MAX_CONN_BURST_PER_IP", NULL, HC_OPT_INT, "0",
        "new connections one address may open at once before the rate applies; 0: the rate",
        conn_burst_per_ip),
    OPT("max-http-concurrency", "HERALD_MAX_HTTP_CONCURRENCY", NULL, HC_OPT_INT, "1000",
        "HTTP API requests in progress at once on this gateway (beyond: 503); 0: no limit",
        max_http),
    OPT("link-tls-ca", "HERALD_LINK_TLS_CA", NULL, HC_OPT_STRING, NULL,
        "PEM CA file: connect to brokers over TLS and verify their certificates with it",
        link_tls_ca),
    OPT("link-tls-name", "HERALD_LINK_TLS_NAME", NULL, HC_OPT_STRING, NULL,
        "name (DNS or IP) brokers' certificates must carry (default: each broker's host)",
        link_tls_name),
    OPT("link-tls-cert", "HERALD_LINK_TLS_CERT", NULL, HC_OPT_STRING, NULL,
        "PEM client certificate for brokers that require one (with --link-tls-key)", link_tls_cert),
    OPT("link-tls-key", "HERALD_LINK_TLS_KEY", NULL, HC_OPT_STRING, NULL,
        "PEM private key of --link-tls-cert", link_tls_key),
    OPT("apps-redis", "HERALD_APPS_REDIS", NULL, HC_OPT_BOOL, "false",
        "also serve the apps kept in Redis (hash herald:apps), added, changed and disabled "
        "without a restart (docs/apps.md)",
        apps_redis),
    OPT("apps-refresh-ms", "HERALD_APPS_REFRESH_MS", NULL, HC_OPT_INT, "1000",
        "with --apps-redis: milliseconds between checks of herald:apps:version", apps_refresh_ms),
    OPT("io-uring", "HERALD_IO_URING", NULL, HC_OPT_STRING, "auto",
        "batch the writes to clients with io_uring: auto (when the kernel allows it), on (fail "
        "if it does not), off (one send() per connection)",
        io_uring),
};
#define NOPTS (sizeof(options) / sizeof(options[0]))

/* Idle channels the embedded store remembers (offsets, epoch, history). */
#define EMBEDDED_MAX_CHANNELS 100000

typedef struct gw_main {
    uv_loop_t loop;
    uv_signal_t sigint, sigterm, sighup;
    gw_server *server;
    gw_tls *tls;
    gw_link *link;
    hc_metrics *metrics;
    hc_opsd *opsd;
    long drain_seconds;
    bool stopping, draining, embedded;
    gw_apps_redis *apps_redis; /* --apps-redis */
} gw_main;

static const char *env_lookup(const char *name)
{
    return getenv(name);
}

static uint32_t random_u32(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof(v), 0) != sizeof(v))
        v = (uint32_t)uv_hrtime() ^ (uint32_t)getpid();
    return v;
}

/* Reads a whole file into a new string; NULL with err on failure. */
static char *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open apps file %s", path);
        return NULL;
    }
    hc_sbuf b = HC_SBUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        hc_sbuf_append(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return b.data ? hc_sbuf_steal(&b) : hc_strdup("");
}

/* Fills apps from --apps-file and/or the default-app environment. */
static bool load_apps(const gw_config *cfg, hc_apps *apps, char *err, size_t errlen)
{
    bool have_file = cfg->apps_file && cfg->apps_file[0];
    if (have_file) {
        size_t len = 0;
        char *json = read_file(cfg->apps_file, &len, err, errlen);
        if (!json)
            return false;
        int n = hc_apps_load_json(apps, json, len, err, errlen);
        free(json);
        if (n < 0)
            return false;
    }
    /* the default app always exists without a file; with one, only when
     * its environment is set explicitly */
    bool default_env = getenv("HERALD_DEFAULT_APP_ID") || getenv("SOKETI_DEFAULT_APP_ID");
    if ((!have_file || default_env) && hc_apps_load_default(apps, env_lookup, err, errlen) < 0)
        return false;
    if (!hc_apps_count(apps)) {
        snprintf(err, errlen, "no app configured");
        return false;
    }
    return true;
}

/* A positive decimal number from a setting, or -1. */
static double parse_number(const char *s)
{
    if (!s || !s[0])
        return -1;
    char *end = NULL;
    double v = strtod(s, &end);
    return end && !*end && v == v && v > 0 && v < 1e9 ? v : -1;
}

static bool check_config(const gw_config *cfg, char *err, size_t errlen)
{
    if (!(parse_number(cfg->rebalance_threshold) > 1))
        snprintf(err, errlen, "--rebalance-threshold must be a number above 1 (e.g. 1.2)");
    else if (!(parse_number(cfg->rebalance_rate) > 0))
        snprintf(err, errlen, "--rebalance-rate must be a positive number of connections/s");
    else if (cfg->port < 0 || cfg->port > 65535)
        snprintf(err, errlen, "--port must be 0..65535");
    else if (cfg->activity_timeout < 1)
        snprintf(err, errlen, "--activity-timeout must be at least 1 s");
    else if (cfg->pong_timeout < 1)
        snprintf(err, errlen, "--pong-timeout must be at least 1 s");
    else if (cfg->max_message_size < 64)
        snprintf(err, errlen, "--max-message-size must be at least 64 bytes");
    else if (cfg->metrics_port < 0 || cfg->metrics_port > 65535)
        snprintf(err, errlen, "--metrics-port must be 0..65535 (0 disables)");
    else if (cfg->drain_seconds < 0)
        snprintf(err, errlen, "--drain-seconds must not be negative");
    else if (cfg->history_size < 1)
        snprintf(err, errlen, "--history-size must be at least 1");
    else if (cfg->presence_liveness < 1 || cfg->presence_liveness > 3600)
        snprintf(err, errlen, "--presence-liveness must be 1..3600 s");
    else if (cfg->apps_refresh_ms < 50 || cfg->apps_refresh_ms > 3600000)
        snprintf(err, errlen, "--apps-refresh-ms must be 50..3600000");
    else if (cfg->max_subscriptions < 0)
        snprintf(err, errlen, "--max-subscriptions must not be negative (0 = unlimited)");
    else if ((cfg->tls_cert && cfg->tls_cert[0]) != (cfg->tls_key && cfg->tls_key[0]))
        snprintf(err, errlen, "--tls-cert and --tls-key go together (both or neither)");
    else if ((cfg->link_tls_cert && cfg->link_tls_cert[0]) !=
             (cfg->link_tls_key && cfg->link_tls_key[0]))
        snprintf(err, errlen, "--link-tls-cert and --link-tls-key go together (both or neither)");
    else if (cfg->link_tls_cert && cfg->link_tls_cert[0] &&
             !(cfg->link_tls_ca && cfg->link_tls_ca[0]))
        snprintf(err, errlen, "--link-tls-cert needs --link-tls-ca (TLS links)");
    else if (cfg->tls_watch < 0 || cfg->tls_watch > 86400)
        snprintf(err, errlen, "--tls-watch must be 0..86400 s (0: SIGHUP only)");
    else if (!gw_sendbatch_parse_mode(cfg->io_uring, &(gw_sendbatch_mode){0}))
        snprintf(err, errlen, "--io-uring must be auto, on or off");
    else if (cfg->conn_rate_per_ip < 0 || cfg->conn_burst_per_ip < 0 || cfg->max_http < 0)
        snprintf(err, errlen,
                 "--max-conn-rate-per-ip, --max-conn-burst-per-ip and --max-http-concurrency "
                 "must not be negative (0 = no limit)");
    else
        return true;
    return false;
}

static void link_closed(void *ud)
{
    gw_main *m = ud;
    m->link = NULL;
}

static void shutdown_all(gw_main *m)
{
    if (m->stopping)
        return;
    m->stopping = true;
    hc_info("shutting down");
    uv_close((uv_handle_t *)&m->sigint, NULL);
    uv_close((uv_handle_t *)&m->sigterm, NULL);
    uv_close((uv_handle_t *)&m->sighup, NULL);
    gw_tls_stop(m->tls);
    hc_opsd_close(m->opsd);
    m->opsd = NULL;
    gw_apps_redis_stop(m->apps_redis);
    m->apps_redis = NULL;
    gw_server_stop(m->server);
    gw_link_close(m->link, link_closed, m);
}

static void drained(void *ud)
{
    shutdown_all(ud);
}

/* SIGTERM drains (a second one, or SIGINT, stops at once). */
static void on_signal(uv_signal_t *h, int signum)
{
    gw_main *m = h->data;
    if (signum == SIGHUP) { /* reload the TLS certificate (gw_tls) */
        if (m->tls)
            gw_tls_reload(m->tls, "SIGHUP");
        else
            hc_info("SIGHUP: nothing to reload (no TLS certificate configured)");
        return;
    }
    if (signum == SIGTERM && !m->draining && !m->stopping) {
        m->draining = true;
        hc_info("SIGTERM: draining over %ld s", m->drain_seconds);
        gw_server_drain(m->server, (uint64_t)m->drain_seconds * 1000, drained, m);
        return;
    }
    shutdown_all(m);
}

static bool ops_ready(void *ud, char *why, size_t whylen)
{
    gw_main *m = ud;
    return gw_server_ready(m->server, why, whylen);
}

static bool ops_accepting(void *ud, char *why, size_t whylen)
{
    gw_main *m = ud;
    return gw_server_accepting(m->server, why, whylen);
}

static void report_link(void *ud, const char *broker, bool up)
{
    (void)ud;
    const char *v[1] = {broker};
    hc_metric_set(gw_m.broker_link_up, v, up ? 1 : 0);
}

static void ops_collect(void *ud)
{
    gw_main *m = ud;
    gw_server_collect(m->server);
    if (m->link && !m->embedded)
        gw_link_tcp_report(m->link, report_link, m);
}

/* Starts the metrics/health port; false (logged) when it cannot listen. */
static bool start_opsd(gw_main *m, const gw_config *cfg)
{
    if (cfg->metrics_port == 0)
        return true;
    hc_opsd_opts o = {.host = cfg->metrics_host,
                      .port = (int)cfg->metrics_port,
                      .metrics = m->metrics,
                      .ready = ops_ready,
                      .accept = ops_accepting,
                      .collect = ops_collect,
                      .ud = m};
    char err[256];
    m->opsd = hc_opsd_new(&m->loop, &o, err, sizeof(err));
    if (!m->opsd) {
        hc_error("%s", err);
        return false;
    }
    return true;
}

static void report_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    hc_warn("handle still open at exit: %s", uv_handle_type_name(h->type));
}

/* hc_apps_changed_fn: an app from Redis changed. */
static void app_changed(void *ud, const hc_app *app, hc_app_change what)
{
    gw_main *m = ud;
    if (m->server && !m->stopping)
        gw_server_app_changed(m->server, app, what == HC_APP_REMOVED);
}

/* Starts everything and runs the loop until a signal stops it. */
static int serve(const gw_config *cfg, hc_apps *apps)
{
    char err[256];
    gw_main m;
    memset(&m, 0, sizeof(m));
    uv_loop_init(&m.loop);
    m.metrics = hc_metrics_new();
    gw_metrics_init(m.metrics, (int)cfg->port);
    m.embedded = cfg->embedded;
    if (cfg->embedded)
        m.link = gw_link_embedded_new(&m.loop, (size_t)cfg->history_size, EMBEDDED_MAX_CHANNELS);
    else
        m.link = gw_link_tcp_new(&m.loop, cfg->brokers,
                                 (unsigned)(cfg->broker_refresh > 0 ? cfg->broker_refresh : 1),
                                 cfg->gateway_id, err, sizeof(err));
    if (!m.link) {
        hc_error("%s", err);
        uv_loop_close(&m.loop);
        hc_metrics_free(m.metrics);
        return 1;
    }
    if (!cfg->embedded && cfg->link_tls_ca && cfg->link_tls_ca[0]) {
        SSL_CTX *lctx = hc_tlslink_client_ctx(cfg->link_tls_ca, cfg->link_tls_cert,
                                              cfg->link_tls_key, err, sizeof(err));
        if (!lctx) {
            hc_error("%s", err);
            gw_link_close(m.link, link_closed, &m);
            uv_run(&m.loop, UV_RUN_DEFAULT);
            uv_loop_close(&m.loop);
            hc_metrics_free(m.metrics);
            return 1;
        }
        gw_link_tcp_set_tls(m.link, lctx, cfg->link_tls_name);
        hc_info("broker links over TLS (CA %s%s%s)", cfg->link_tls_ca,
                cfg->link_tls_cert && cfg->link_tls_cert[0] ? ", client certificate " : "",
                cfg->link_tls_cert && cfg->link_tls_cert[0] ? cfg->link_tls_cert : "");
    }
    if (cfg->tls_cert && cfg->tls_cert[0]) {
        m.tls = gw_tls_new(&m.loop, cfg->tls_cert, cfg->tls_key, cfg->tls_passphrase,
                           (unsigned)cfg->tls_watch, err, sizeof(err));
        if (!m.tls) {
            hc_error("%s", err);
            gw_link_close(m.link, link_closed, &m);
            uv_run(&m.loop, UV_RUN_DEFAULT);
            uv_loop_close(&m.loop);
            hc_metrics_free(m.metrics);
            return 1;
        }
    }
    gw_server_config sc = {.host = cfg->host,
                           .port = (int)cfg->port,
                           .activity_timeout = cfg->activity_timeout,
                           .pong_timeout = cfg->pong_timeout,
                           .max_message_size = (size_t)cfg->max_message_size,
                           .max_subscriptions = (size_t)cfg->max_subscriptions,
                           .queue_frames = GW_OUTQ_DEFAULT_CAP,
                           .gateway_num = random_u32(),
                           .gateway_id = cfg->gateway_id,
                           .presence_liveness_ms = (unsigned)cfg->presence_liveness * 1000u,
                           /* embedded: a fleet of one */
                           .rebalance = cfg->rebalance && !cfg->embedded,
                           .rebalance_threshold = parse_number(cfg->rebalance_threshold),
                           .rebalance_rate = parse_number(cfg->rebalance_rate),
                           .tls = m.tls,
                           .conn_rate_per_ip = cfg->conn_rate_per_ip,
                           .conn_burst_per_ip = cfg->conn_burst_per_ip,
                           .max_http = cfg->max_http};
    gw_sendbatch_mode batching = GW_SENDBATCH_AUTO;
    gw_sendbatch_parse_mode(cfg->io_uring, &batching);
    sc.send_batching = (int)batching;
    m.server = gw_server_new(&m.loop, &sc, apps, m.link, err, sizeof(err));
    if (!m.server) {
        hc_error("%s", err);
        gw_link_close(m.link, link_closed, &m);
        gw_tls_stop(m.tls);
        uv_run(&m.loop, UV_RUN_DEFAULT);
        gw_tls_free(m.tls);
        uv_loop_close(&m.loop);
        hc_metrics_free(m.metrics);
        return 1;
    }
    m.drain_seconds = cfg->drain_seconds;
    if (!start_opsd(&m, cfg)) {
        gw_server_stop(m.server);
        gw_link_close(m.link, link_closed, &m);
        gw_tls_stop(m.tls);
        uv_run(&m.loop, UV_RUN_DEFAULT);
        gw_server_free(m.server);
        gw_tls_free(m.tls);
        uv_loop_close(&m.loop);
        hc_metrics_free(m.metrics);
        return 1;
    }
    if (cfg->apps_redis && !cfg->embedded)
        m.apps_redis = gw_apps_redis_new(&m.loop, m.link, apps, (unsigned)cfg->apps_refresh_ms,
                                         app_changed, &m);
    else if (cfg->apps_redis)
        hc_warn("--apps-redis needs brokers (Redis): ignored in embedded mode");
    uv_signal_init(&m.loop, &m.sigint);
    uv_signal_init(&m.loop, &m.sigterm);
    uv_signal_init(&m.loop, &m.sighup);
    m.sigint.data = m.sigterm.data = m.sighup.data = &m;
    uv_signal_start(&m.sigint, on_signal, SIGINT);
    uv_signal_start(&m.sigterm, on_signal, SIGTERM);
    uv_signal_start(&m.sighup, on_signal, SIGHUP);
    hc_info("gateway %s: %zu app(s), %s%s, socket ids %u.*", cfg->gateway_id, hc_apps_count(apps),
            cfg->embedded ? "embedded broker (in-memory store)" : "brokers ",
            cfg->embedded ? "" : cfg->brokers, sc.gateway_num);
    if (m.opsd)
        hc_info("metrics and health on %s:%d", cfg->metrics_host, hc_opsd_port(m.opsd));
    if (m.tls)
        hc_info("TLS on port %d (wss:// and https://); SIGHUP%s reloads the certificate",
                gw_server_port(m.server), cfg->tls_watch ? " or a change of its files" : "");
    printf("herald-gateway listening on %s:%d\n", cfg->host, gw_server_port(m.server));
    fflush(stdout);
    uv_run(&m.loop, UV_RUN_DEFAULT);
    gw_server_free(m.server);
    gw_tls_free(m.tls);
    hc_metrics_free(m.metrics);
    if (uv_loop_close(&m.loop) != 0) {
        uv_walk(&m.loop, report_handle, NULL);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    gw_config cfg;
    char err[512];
    memset(&cfg, 0, sizeof(cfg));
    hc_config_status st =
        hc_config_load(options, NOPTS, &cfg, argc, argv, env_lookup, err, sizeof(err));
    if (st == HC_CONFIG_HELP) {
        hc_config_print_help(stdout, "herald-gateway",
                             "Herald gateway: Pusher-protocol WebSockets and HTTP API", options,
                             NOPTS);
        hc_config_free(options, NOPTS, &cfg);
        return 0;
    }
    hc_log_level level = HC_LOG_INFO;
    if (st == HC_CONFIG_OK && cfg.log_level && hc_log_parse_level(cfg.log_level, &level) < 0) {
        snprintf(err, sizeof(err), "unknown --log-level '%s'", cfg.log_level);
        st = HC_CONFIG_ERROR;
    }
    hc_log_format format = HC_LOG_TEXT;
    if (st == HC_CONFIG_OK && hc_log_parse_format(cfg.log_format, &format) < 0) {
        snprintf(err, sizeof(err), "unknown --log-format '%s' (text or json)", cfg.log_format);
        st = HC_CONFIG_ERROR;
    }
    if (st == HC_CONFIG_OK && !check_config(&cfg, err, sizeof(err)))
        st = HC_CONFIG_ERROR;
    if (st != HC_CONFIG_OK) {
        fprintf(stderr, "herald-gateway: %s\n", err);
        hc_config_free(options, NOPTS, &cfg);
        return 2;
    }
    if (!cfg.gateway_id || !cfg.gateway_id[0]) {
        free(cfg.gateway_id);
        char id[32];
        snprintf(id, sizeof(id), "gateway-%08x", random_u32());
        cfg.gateway_id = hc_strdup(id);
    }
    if (!cfg.brokers || !cfg.brokers[0])
        cfg.embedded = true; /* no broker configured: embedded mode */
    hc_log_set_level(level);
    hc_log_set_format(format);
    hc_log_set_component(cfg.gateway_id);
    signal(SIGPIPE, SIG_IGN);

    hc_apps *apps = hc_apps_new();
    int rc = 1;
    if (!load_apps(&cfg, apps, err, sizeof(err)))
        hc_error("%s", err);
    else
        rc = serve(&cfg, apps);
    hc_apps_free(apps);
    hc_config_free(options, NOPTS, &cfg);
    return rc;
}
