/*
 * gw_http: HTTP requests on the gateway's port (lws side of gw_api).
 *
 * Owns each HTTP request in flight (gw_http): its method, path, decoded
 * query, body (bounded by GW_API_MAX_BODY), the gw_api answer, and the
 * publishes waiting for their acknowledgements. It answers only when every
 * publish has been acknowledged (503 if none could be made or one failed),
 * writing headers and body in two writable callbacks. A client that goes
 * away meanwhile leaves the request to be freed by its last
 * acknowledgement. Called from gw_server.c's protocol callback; calls
 * gw_api (logic) and gw_link (publishes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_api.h"
#include "gw_metrics.h"
#include "gw_api_history.h"
#include "gw_listen.h"
#include "gw_server_int.h"
#include "hc_opsd.h"
#include "hc_clock.h"
#include "hc_history.h"
#include "hc_log.h"
#include "hc_mem.h"
#include "hc_query.h"

struct gw_http {
    gw_server *srv;
    struct lws *wsi; /* NULL once the client went away */
    gw_pss *pss;     /* the session that points at us, or NULL */
    char method[8];
    char *path;
    hc_query query;
    hc_sbuf body;
    bool too_large;
    gw_api_response resp;
    int pending; /* acknowledgements still to come (+1 while issuing) */
    char *fail;  /* the first publish failure, or NULL */
    bool ready;  /* resp is final; write it when writable */
    bool headers_sent;
    bool close_after;  /* close the connection after answering */
    const char *ctype; /* Content-Type of the answer; NULL = JSON */
    char app_id[64];   /* from /apps/{id}/..., for metrics */
    bool inflight;     /* counted in srv->connlimit's HTTP requests in flight */
    uint64_t t0_ns;    /* when its publishes were issued */
    gw_http *prev, *next;
};

static void unlink_req(gw_http *h)
{
    gw_server *s = h->srv;
    if (h->prev)
        h->prev->next = h->next;
    else if (s->https == h)
        s->https = h->next;
    if (h->next)
        h->next->prev = h->prev;
    h->prev = h->next = NULL;
}

static void req_free(gw_http *h)
{
    if (h->inflight)
        gw_connlimit_http_end(&h->srv->connlimit);
    unlink_req(h);
    if (h->pss)
        h->pss->http = NULL;
    free(h->path);
    hc_query_free(&h->query);
    hc_sbuf_free(&h->body);
    gw_api_response_free(&h->resp);
    free(h->fail);
    free(h);
}

/* Counts the answer (status, bytes) in the metrics. */
static void count_answer(gw_http *h)
{
    char status[8];
    snprintf(status, sizeof(status), "%d", h->resp.status);
    hc_metric_inc1(gw_m.http_requests, status);
    gw_metrics_app_add(gw_m.http_tx_bytes, h->app_id, (double)h->resp.body.len);
}

/* The answer is final: write it, or drop it if the client is gone. */
static void respond(gw_http *h)
{
    count_answer(h);
    if (!h->wsi) {
        req_free(h);
        return;
    }
    h->ready = true;
    lws_callback_on_writable(h->wsi);
}

static const char *method_of(struct lws *wsi)
{
    static const struct {
        enum lws_token_indexes tok;
        const char *name;
    } methods[] = {
        {WSI_TOKEN_GET_URI, "GET"},       {WSI_TOKEN_POST_URI, "POST"},
        {WSI_TOKEN_PUT_URI, "PUT"},       {WSI_TOKEN_PATCH_URI, "PATCH"},
        {WSI_TOKEN_DELETE_URI, "DELETE"}, {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
        {WSI_TOKEN_HEAD_URI, "HEAD"},
    };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (lws_hdr_total_length(wsi, methods[i].tok) > 0)
            return methods[i].name;
    return "GET";
}

/* Reads the URI arguments. lws hands them over as fragments split at
 * unescaped '&' (and ';'), each percent-decoded once with '+' as space:
 * exactly the decoded "k=v" pairs the signature is computed over. */
static void read_query(struct lws *wsi, hc_query *q)
{
    char buf[4096];
    for (int i = 0;; i++) {
        int n = lws_hdr_copy_fragment(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        if (n > 0)
            hc_query_add_pair(q, buf, (size_t)n);
    }
}

static long content_length(struct lws *wsi)
{
    char buf[32];
    if (lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
        return -1;
    return atol(buf);
}

static void publish_done(void *ud, const gw_publish_result *r)
{
    gw_http *h = ud;
    if (!r->ok && !h->fail)
        h->fail = hc_strdup(r->error ? r->error : "unknown error");
    if (--h->pending > 0)
        return;
    if (h->t0_ns) {
        const char *v[2] = {h->app_id, h->fail ? "error" : "ok"};
        hc_metric_add(gw_m.publishes, v, (double)h->resp.npubs);
        const char *a[1] = {h->app_id};
        hc_metric_observe(gw_m.publish_seconds, a, (double)(uv_hrtime() - h->t0_ns) / 1e9);
    }
    if (h->fail) {
        char msg[512];
        snprintf(msg, sizeof(msg), "Publish failed: %s", h->fail);
        gw_api_set_error(&h->resp, 503, msg);
    } else if ((h->resp.info_flags || h->resp.batch_info) && h->wsi && h->srv->link) {
        gw__http_trigger_info(h->srv->link, &h->resp, &h->pending, (void (*)(void *))respond, h);
        return;
    }
    respond(h);
}

/* gw_call_cb: the cluster answered the request's query. */
static void query_done(void *ud, const char *error, const char *json, size_t len)
{
    gw_http *h = ud;
    h->pending = 0;
    if (error) {
        char msg[512];
        snprintf(msg, sizeof(msg), "Cluster state unavailable: %s", error);
        gw_api_set_error(&h->resp, 503, msg);
    } else {
        hc_sbuf_reset(&h->resp.body);
        hc_sbuf_append(&h->resp.body, json, len);
    }
    respond(h);
}

/* gw_replay_cb of a history read. */
static void history_done(void *ud, const Herald__ReplayResponse *r)
{
    gw_http *h = ud;
    gw_api_history_answer(h->resp.history, r, &h->resp);
    h->pending = 0;
    respond(h);
}

/* Performs the history read gw_api asked for (gw_api_history.h). */
static void read_history(gw_http *h)
{
    if (!h->srv->link) {
        gw_api_set_error(&h->resp, 503, "The server is shutting down: retry on another one");
        respond(h);
        return;
    }
    gw_replay_req r;
    gw_api_history_replay(h->resp.history, &r);
    h->pending = 1;
    gw_link_replay(h->srv->link, &r, history_done, h);
}

static bool check_ready(void *ud, char *why, size_t whylen)
{
    return gw_server_ready(ud, why, whylen);
}

static bool check_accepting(void *ud, char *why, size_t whylen)
{
    return gw_server_accepting(ud, why, whylen);
}

/* GET /health, /ready, /accept-traffic on the main port, as on the metrics
 * port. Returns false for any other request. */
static bool run_ops(gw_http *h)
{
    const char *p = h->path;
    if (strcmp(p, "/health") != 0 && strcmp(p, "/ready") != 0 && strcmp(p, "/accept-traffic") != 0)
        return false;
    hc_opsd_opts o = {.ready = check_ready, .accept = check_accepting, .ud = h->srv};
    h->resp.status = hc_opsd_route(&o, h->method, p, &h->resp.body, &h->ctype);
    respond(h);
    return true;
}

/* Remembers the app id of /apps/{id}/... and counts the call. */
static void count_call(gw_http *h)
{
    const char *p = h->path;
    if (strncmp(p, "/apps/", 6) == 0) {
        const char *id = p + 6, *end = strchr(id, '/');
        size_t n = end ? (size_t)(end - id) : strlen(id);
        snprintf(h->app_id, sizeof(h->app_id), "%.*s", (int)n, id);
    }
    gw_metrics_app_add(gw_m.http_calls, h->app_id, 1);
    gw_metrics_app_add(gw_m.http_rx_bytes, h->app_id, (double)h->body.len);
}

/* Runs gw_api and issues its publishes. */
static void run(gw_http *h)
{
    gw_server *s = h->srv;
    if (run_ops(h))
        return;
    count_call(h);
    gw_api_request req = {h->method,           h->path,   &h->query,   h->body.data, h->body.len,
                          hc_wall_ms() / 1000, s->limits, hc_mono_ms()};
    gw_api_handle(s->apps, &req, &h->resp);
    hc_debug("http %s %s -> %d (%zu publish(es))", h->method, h->path, h->resp.status,
             h->resp.npubs);
    if (h->resp.history) {
        read_history(h);
        return;
    }
    if (h->resp.query_op && !s->link) {
        gw_api_set_error(&h->resp, 503, "The server is shutting down: retry on another one");
        respond(h);
        return;
    }
    if (h->resp.query_op) {
        Herald__ClusterCall c = HERALD__CLUSTER_CALL__INIT;
        c.op = h->resp.query_op;
        c.app_id = h->resp.query_app_id;
        c.channel = h->resp.query_channel; /* channels: the prefix */
        c.flags = h->resp.query_flags;
        h->pending = 1;
        gw_link_call(s->link, &c, query_done, h);
        return;
    }
    if (!h->resp.npubs) {
        respond(h);
        return;
    }
    if (!s->link) {
        gw_api_set_error(&h->resp, 503, "The server is shutting down: retry on another one");
        respond(h);
        return;
    }
    if (!gw_link_ready(s->link)) {
        gw_api_set_error(&h->resp, 503,
                         "No broker is reachable: the event was not published; retry later");
        respond(h);
        return;
    }
    h->pending = (int)h->resp.npubs + 1;
    h->t0_ns = uv_hrtime();
    for (size_t i = 0; i < h->resp.npubs; i++) {
        const gw_api_publish *p = &h->resp.pubs[i];
        gw_publish pub = {p->app_id,    p->channel, p->name, p->data, p->data_len,
                          p->socket_id, NULL,       0,       0};
        const hc_app *app = hc_apps_by_id(s->apps, p->app_id);
        hc_history_bound(app ? app->history : NULL, p->channel, &pub.history_size,
                         &pub.history_ttl);
        gw_link_publish(s->link, &pub, publish_done, h);
    }
    gw_publish_result held = {true, NULL, "", 0};
    publish_done(h, &held); /* drops the +1 */
}

/* gw_connlimit: a connection over its address's rate (429) or an API
 * request beyond --max-http-concurrency (503) is answered at once, without
 * reading its body, and the connection closed. True when refused. */
static bool refuse_connection_limits(gw_server *s, struct lws *wsi, gw_http *h)
{
    char msg[192];
    int status = 0;
    if (gw_listen_refused(wsi)) {
        status = 429;
        snprintf(msg, sizeof(msg), "%s", gw_listen_refusal());
    } else if (strncmp(h->path, "/apps/", 6) == 0 &&
               !(h->inflight = gw_connlimit_http_begin(&s->connlimit))) {
        status = 503;
        snprintf(msg, sizeof(msg),
                 "Too many HTTP API requests in progress on this gateway (the limit is %ld): "
                 "retry later",
                 s->connlimit.cfg.max_http);
        const char *v[2] = {"", "http_concurrency"};
        hc_metric_add(gw_m.rate_limited, v, 1);
    }
    if (!status)
        return false;
    gw_api_set_error(&h->resp, status, msg);
    h->close_after = true;
    h->too_large = true; /* do not read the body */
    respond(h);
    return true;
}

int gw__http_begin(gw_server *s, struct lws *wsi, gw_pss *pss, const char *uri, size_t len)
{
    gw_http *h = hc_calloc(1, sizeof(*h));
    h->srv = s;
    h->wsi = wsi;
    h->pss = pss;
    pss->http = h;
    h->next = s->https;
    if (s->https)
        s->https->prev = h;
    s->https = h;
    snprintf(h->method, sizeof(h->method), "%s", method_of(wsi));
    h->path = hc_strndup(uri, len);
    read_query(wsi, &h->query);
    if (refuse_connection_limits(s, wsi, h))
        return 0;
    bool has_body = strcmp(h->method, "POST") == 0 || strcmp(h->method, "PUT") == 0 ||
                    strcmp(h->method, "PATCH") == 0;
    long clen = has_body ? content_length(wsi) : 0;
    if (clen < 0 || clen > (long)GW_API_MAX_BODY) {
        /* lws 4.1 does not decode chunked request bodies: without a
         * Content-Length it would wait for 100 MB that never come */
        char msg[128];
        if (clen < 0)
            snprintf(msg, sizeof(msg),
                     "Content-Length is required (chunked bodies are not "
                     "supported)");
        else
            snprintf(msg, sizeof(msg), "Request body is larger than %u bytes", GW_API_MAX_BODY);
        gw_api_set_error(&h->resp, clen < 0 ? 411 : 413, msg);
        h->close_after = true; /* do not read (or parse) the rest */
        h->too_large = true;
        respond(h);
        return 0;
    }
    if (!has_body)
        run(h);
    return 0;
}

int gw__http_body(gw_pss *pss, const void *in, size_t len)
{
    gw_http *h = pss->http;
    if (!h || h->too_large)
        return 0;
    if (h->body.len + len > GW_API_MAX_BODY) {
        h->too_large = true;
        hc_sbuf_free(&h->body);
        return 0;
    }
    hc_sbuf_append(&h->body, in, len);
    return 0;
}

int gw__http_body_done(gw_pss *pss)
{
    gw_http *h = pss->http;
    if (!h || h->ready || h->pending)
        return 0;
    if (h->too_large) {
        char msg[128];
        snprintf(msg, sizeof(msg), "Request body is larger than %u bytes", GW_API_MAX_BODY);
        gw_api_set_error(&h->resp, 413, msg);
        respond(h);
        return 0;
    }
    run(h);
    return 0;
}

/* Writes the status line and headers. Returns 0 or -1. */
static int write_headers(struct lws *wsi, gw_http *h)
{
    unsigned char buf[LWS_PRE + 512];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)h->resp.status,
                                    h->ctype ? h->ctype : "application/json", h->resp.body.len, &p,
                                    end))
        return -1;
    if (h->close_after && lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
                                                       (const unsigned char *)"close", 5, &p, end))
        return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    return 0;
}

int gw__http_writeable(struct lws *wsi, gw_pss *pss)
{
    gw_http *h = pss->http;
    if (!h || !h->ready)
        return 0;
    if (!h->headers_sent) {
        if (write_headers(wsi, h))
            return -1;
        h->headers_sent = true;
        lws_callback_on_writable(wsi);
        return 0;
    }
    size_t n = h->resp.body.len;
    unsigned char *buf = hc_malloc(LWS_PRE + n + 1);
    memcpy(buf + LWS_PRE, h->resp.body.data, n);
    int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_HTTP_FINAL);
    free(buf);
    bool close_after = h->close_after;
    req_free(h);
    if (w < (int)n || close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

void gw__http_closed(gw_pss *pss)
{
    gw_http *h = pss->http;
    if (!h)
        return;
    pss->http = NULL;
    h->pss = NULL;
    h->wsi = NULL;
    if (!h->pending)
        req_free(h);
}

void gw__http_detach_all(gw_server *s)
{
    for (gw_http *h = s->https, *n; h; h = n) {
        n = h->next;
        if (h->pss)
            h->pss->http = NULL;
        h->pss = NULL;
        h->wsi = NULL;
        if (!h->pending)
            req_free(h);
    }
}
