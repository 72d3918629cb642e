/*
 * hc_webhook_send: batching, signing, sending and retrying webhook
 * requests on libcurl multi + libuv (see hc_webhook_send.h).
 *
 * Owns every event until it ends (wev, reference-counted by the requests
 * holding it), one request record per (target, batch) (wreq: in flight in
 * curl, or waiting for its retry time), one uv_poll per socket curl
 * watches (wsock), curl's timer, the batch timer and the retry timer. The
 * rules (filters, bodies, signatures, backoff) are hc_webhook.c's.
 */
#include "hc_webhook_send.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hc_clock.h"
#include "hc_log.h"
#include "hc_map.h"
#include "hc_mem.h"
#include "hc_webhook.h"

#define REQ_TIMEOUT_MS 10000L

static struct {
    hc_metric *depth, *sent, *failures, *dropped;
} m;

void hc_whs_metrics_init(hc_metrics *reg)
{
    m.depth =
        hc_metrics_gauge(reg, "herald_webhook_queue_depth",
                         "Webhook events this process holds that are not delivered yet.", NULL);
    m.sent = hc_metrics_counter(reg, "herald_webhook_sent_total",
                                "Webhook events delivered (2xx), per target.", "app_id");
    m.failures = hc_metrics_counter(reg, "herald_webhook_failures_total",
                                    "Webhook requests that failed (error, timeout or non-2xx); "
                                    "they are retried.",
                                    "app_id");
    m.dropped = hc_metrics_counter(reg, "herald_webhook_dropped_total",
                                   "Webhook events given up after the retry window.", "app_id");
}

typedef struct wev {
    uint64_t token;
    unsigned type;
    char *channel;
    char *json;
    int refs; /* requests holding it */
    bool failed;
    struct wev *next; /* in its app's batch */
} wev;

/* One app's webhooks. Replaced or removed at run time (hc_whs_set_app,
 * hc_whs_remove_app), it leaves by_id but stays in the list, with its
 * targets, until the last request pointing at it ends. */
typedef struct wapp {
    const hc_app *app;
    hc_wh_config cfg;
    unsigned mask;
    wev *head, *tail; /* the batch being gathered */
    size_t reqs;      /* requests pointing at it (and its targets) */
    bool retired;     /* out of by_id: freed once reqs == 0 */
    struct wapp *prev, *next;
} wapp;

typedef struct wreq {
    hc_whs *w;
    wapp *a;
    const hc_wh_target *t;
    wev **evs;
    size_t n;
    unsigned attempt;
    uint64_t first_ms, due_ms;
    bool in_flight;
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    struct wreq *prev, *next;
} wreq;

typedef struct wsock {
    uv_poll_t poll;
    curl_socket_t fd;
    hc_whs *w;
    bool closed;
    struct wsock *prev, *next;
} wsock;

struct hc_whs {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t curl_timer, batch_timer, retry_timer;
    wapp *apps; /* every app, retired ones included */
    hc_map by_id;
    hc_whs_done_fn done;
    void *ud;
    wreq *reqs;
    wsock *socks;
    size_t depth;
    int open_handles;
    bool closing;
    uint64_t rng;
};

static uint64_t next_rand(hc_whs *w)
{
    uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void depth_changed(hc_whs *w)
{
    hc_metric_set(m.depth, NULL, (double)w->depth);
}

static void ev_free(wev *e)
{
    free(e->channel);
    free(e->json);
    free(e);
}

/* An event whose last request ended. */
static void ev_end(hc_whs *w, wev *e)
{
    w->depth--;
    depth_changed(w);
    uint64_t token = e->token;
    bool ok = !e->failed;
    ev_free(e);
    w->done(w->ud, token, ok);
}

static void ev_release(hc_whs *w, wev *e, bool failed)
{
    if (failed)
        e->failed = true;
    if (--e->refs == 0)
        ev_end(w, e);
}

/* ---- apps ------------------------------------------------------------- */

static void wapp_free(wapp *a)
{
    hc_wh_config_free(&a->cfg);
    free(a);
}

static void wapp_unlink(hc_whs *w, wapp *a)
{
    if (a->prev)
        a->prev->next = a->next;
    else
        w->apps = a->next;
    if (a->next)
        a->next->prev = a->prev;
}

/* A retired app no request points at any more goes. */
static void wapp_maybe_free(hc_whs *w, wapp *a)
{
    if (!a->retired || a->reqs || a->head || w->closing)
        return;
    wapp_unlink(w, a);
    wapp_free(a);
}

/* Parses app's webhooks into a new record (not linked); NULL with err. */
static wapp *wapp_new(const hc_app *app, char *err, size_t errlen)
{
    wapp *a = hc_calloc(1, sizeof(*a));
    char why[200];
    if (hc_wh_parse(app->webhooks, &a->cfg, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "app %s: %s", app->id, why);
        free(a);
        return NULL;
    }
    a->app = app;
    a->mask = hc_wh_config_mask(&a->cfg);
    return a;
}

static void wapp_link(hc_whs *w, wapp *a)
{
    a->next = w->apps;
    if (w->apps)
        w->apps->prev = a;
    w->apps = a;
    hc_map_put(&w->by_id, a->app->id, strlen(a->app->id), a);
}

/* ---- requests --------------------------------------------------------- */

static void check_info(hc_whs *w);
static void arm_retry(hc_whs *w);

static void req_unlink(wreq *r)
{
    hc_whs *w = r->w;
    if (r->prev)
        r->prev->next = r->next;
    else
        w->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
}

/* Frees an unlinked request (its events released by the caller). */
static void req_free(wreq *r)
{
    hc_whs *w = r->w;
    wapp *a = r->a;
    free(r->evs);
    free(r);
    a->reqs--;
    wapp_maybe_free(w, a);
}

static void req_clear_http(wreq *r)
{
    if (r->easy) {
        curl_multi_remove_handle(r->w->multi, r->easy);
        curl_easy_cleanup(r->easy);
    }
    curl_slist_free_all(r->hdrs);
    free(r->body);
    r->easy = NULL;
    r->hdrs = NULL;
    r->body = NULL;
    r->in_flight = false;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* Builds the signed body and hands the request to curl. */
static void req_start(wreq *r)
{
    hc_whs *w = r->w;
    hc_debug("webhook request to %s: %zu event(s), attempt %u", r->t->url, r->n, r->attempt + 1);
    const char **evs = hc_malloc(r->n * sizeof(*evs));
    for (size_t i = 0; i < r->n; i++)
        evs[i] = r->evs[i]->json;
    hc_sbuf b = HC_SBUF_INIT;
    hc_wh_body(&b, (uint64_t)hc_wall_ms(), evs, r->n);
    free(evs);
    size_t len = b.len;
    r->body = hc_sbuf_steal(&b);
    char sig[65];
    hc_wh_sign(r->a->app->secret, r->body, len, sig);
    hc_sbuf h = HC_SBUF_INIT;
    r->hdrs = curl_slist_append(r->hdrs, "Content-Type: application/json");
    r->hdrs = curl_slist_append(r->hdrs, "Expect:");
    hc_sbuf_printf(&h, "X-Pusher-Key: %s", r->a->app->key);
    r->hdrs = curl_slist_append(r->hdrs, h.data);
    hc_sbuf_reset(&h);
    hc_sbuf_printf(&h, "X-Pusher-Signature: %s", sig);
    r->hdrs = curl_slist_append(r->hdrs, h.data);
    for (size_t i = 0; i < r->t->nheaders; i++) {
        hc_sbuf_reset(&h);
        hc_sbuf_printf(&h, "%s: %s", r->t->headers[i].name, r->t->headers[i].value);
        r->hdrs = curl_slist_append(r->hdrs, h.data);
    }
    hc_sbuf_free(&h);
    r->easy = curl_easy_init();
    if (!r->easy) {
        hc_error("curl_easy_init failed");
        abort();
    }
    curl_easy_setopt(r->easy, CURLOPT_URL, r->t->url);
    curl_easy_setopt(r->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "herald-webhooks");
    curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, REQ_TIMEOUT_MS);
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
    curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    r->in_flight = true;
    if (!r->first_ms)
        r->first_ms = hc_mono_ms();
    if (curl_multi_add_handle(w->multi, r->easy) != CURLM_OK) {
        hc_error("curl_multi_add_handle failed");
        abort();
    }
}

/* A request ended (ok or not). */
static void req_done(wreq *r, bool ok, const char *why)
{
    hc_whs *w = r->w;
    req_clear_http(r);
    const char *app = r->a->app->id;
    if (ok) {
        hc_metric_add1(m.sent, app, (double)r->n);
        req_unlink(r);
        for (size_t i = 0; i < r->n; i++)
            ev_release(w, r->evs[i], false);
        req_free(r);
        return;
    }
    hc_metric_inc1(m.failures, app);
    uint64_t now = hc_mono_ms();
    if (now - r->first_ms >= HC_WH_GIVE_UP_MS) {
        hc_warn_ctx(app, NULL, NULL,
                    "webhook to %s: giving up on %zu event(s) after %u attempts (%s)", r->t->url,
                    r->n, r->attempt + 1, why);
        hc_metric_add1(m.dropped, app, (double)r->n);
        req_unlink(r);
        for (size_t i = 0; i < r->n; i++)
            ev_release(w, r->evs[i], true);
        req_free(r);
        return;
    }
    r->attempt++;
    uint64_t d = hc_wh_backoff_ms(r->attempt, next_rand(w));
    hc_log_ctx(r->attempt == 1 ? HC_LOG_INFO : HC_LOG_DEBUG, app, NULL, NULL,
               "webhook to %s failed (%s); retrying %zu event(s) in %llu ms", r->t->url, why, r->n,
               (unsigned long long)d);
    r->due_ms = now + d;
    arm_retry(w);
}

static void check_info(hc_whs *w)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(w->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        wreq *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        long status = 0;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        char why[96];
        bool ok = msg->data.result == CURLE_OK && status >= 200 && status < 300;
        if (msg->data.result != CURLE_OK)
            snprintf(why, sizeof(why), "%s", curl_easy_strerror(msg->data.result));
        else
            snprintf(why, sizeof(why), "HTTP %ld", status);
        req_done(r, ok, why);
    }
}

static void on_retry(uv_timer_t *t)
{
    hc_whs *w = t->data;
    uint64_t now = hc_mono_ms();
    for (wreq *r = w->reqs; r; r = r->next)
        if (!r->in_flight && r->due_ms && r->due_ms <= now) {
            r->due_ms = 0;
            req_start(r);
        }
    arm_retry(w);
}

/* Points the retry timer at the earliest waiting request. */
static void arm_retry(hc_whs *w)
{
    if (w->closing)
        return;
    uint64_t min = 0;
    for (wreq *r = w->reqs; r; r = r->next)
        if (!r->in_flight && r->due_ms && (!min || r->due_ms < min))
            min = r->due_ms;
    if (!min) {
        uv_timer_stop(&w->retry_timer);
        return;
    }
    uint64_t now = hc_mono_ms();
    uv_timer_start(&w->retry_timer, on_retry, min > now ? min - now : 0, 0);
}

static wreq *req_new(hc_whs *w, wapp *a, const hc_wh_target *t)
{
    wreq *r = hc_calloc(1, sizeof(*r));
    r->w = w;
    r->a = a;
    a->reqs++;
    r->t = t;
    r->evs = hc_malloc(HC_WH_BATCH_MAX * sizeof(*r->evs));
    r->next = w->reqs;
    if (w->reqs)
        w->reqs->prev = r;
    w->reqs = r;
    return r;
}

typedef struct plan_ctx {
    hc_whs *w;
    wapp *a;
    wev **evs;
} plan_ctx;

/* hc_wh_plan_fn: one request of the batch. */
static void plan_request(void *ud, size_t t, const size_t *idx, size_t k)
{
    plan_ctx *p = ud;
    wreq *r = req_new(p->w, p->a, &p->a->cfg.t[t]);
    for (size_t i = 0; i < k; i++) {
        r->evs[r->n++] = p->evs[idx[i]];
        p->evs[idx[i]]->refs++;
    }
    req_start(r);
}

/* Sends app a's gathered batch: one request per target and chunk
 * (hc_wh_plan); an event no target wants ends at once. */
static void flush_app(hc_whs *w, wapp *a)
{
    size_t n = 0;
    for (wev *e = a->head; e; e = e->next)
        n++;
    if (!n)
        return;
    wev **evs = hc_malloc(n * sizeof(*evs));
    unsigned *types = hc_malloc(n * sizeof(*types));
    const char **channels = hc_malloc(n * sizeof(*channels));
    size_t i = 0;
    for (wev *e = a->head; e; e = e->next, i++) {
        evs[i] = e;
        types[i] = e->type;
        channels[i] = e->channel;
        e->refs++; /* held while the requests are built */
    }
    a->head = a->tail = NULL;
    plan_ctx p = {w, a, evs};
    hc_wh_plan(&a->cfg, types, channels, n, HC_WH_BATCH_MAX, plan_request, &p);
    for (i = 0; i < n; i++) {
        evs[i]->next = NULL;
        ev_release(w, evs[i], false);
    }
    free(evs);
    free(types);
    free(channels);
}

static void on_batch(uv_timer_t *t)
{
    hc_whs *w = t->data;
    for (wapp *a = w->apps; a; a = a->next)
        flush_app(w, a);
}

/* ---- curl <-> libuv --------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h);

static void sock_closed(uv_handle_t *h)
{
    wsock *s = h->data;
    hc_whs *w = s->w;
    free(s);
    on_handle_closed((uv_handle_t *)&w->curl_timer);
}

static void sock_close(wsock *s)
{
    if (s->closed)
        return;
    s->closed = true;
    hc_whs *w = s->w;
    if (s->prev)
        s->prev->next = s->next;
    else
        w->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, sock_closed);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    wsock *s = h->data;
    hc_whs *w = s->w;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    curl_multi_socket_action(w->multi, s->fd, flags, &running);
    check_info(w);
}

static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    hc_whs *w = userp;
    wsock *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(w->multi, fd, NULL);
            sock_close(s);
        }
        return 0;
    }
    if (!s) {
        s = hc_calloc(1, sizeof(*s));
        s->w = w;
        s->fd = fd;
        if (uv_poll_init_socket(w->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        w->open_handles++;
        s->next = w->socks;
        if (w->socks)
            w->socks->prev = s;
        w->socks = s;
        curl_multi_assign(w->multi, fd, s);
    }
    int ev = 0;
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    uv_poll_start(&s->poll, ev, on_poll);
    return 0;
}

static void on_curl_timeout(uv_timer_t *t)
{
    hc_whs *w = t->data;
    int running;
    curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_info(w);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    hc_whs *w = userp;
    if (w->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&w->curl_timer);
    else
        uv_timer_start(&w->curl_timer, on_curl_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---- public ----------------------------------------------------------- */

hc_whs *hc_whs_new(uv_loop_t *loop, const hc_apps *apps, hc_whs_done_fn done, void *ud, char *err,
                   size_t errlen)
{
    static bool curl_ready;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            snprintf(err, errlen, "libcurl could not be initialised");
            return NULL;
        }
        curl_ready = true;
    }
    hc_whs *w = hc_calloc(1, sizeof(*w));
    for (size_t i = 0; i < hc_apps_count(apps); i++) {
        wapp *a = wapp_new(hc_apps_at(apps, i), err, errlen);
        if (!a) {
            while (w->apps) {
                wapp *f = w->apps;
                wapp_unlink(w, f);
                wapp_free(f);
            }
            hc_map_free(&w->by_id);
            free(w);
            return NULL;
        }
        wapp_link(w, a);
    }
    w->loop = loop;
    w->done = done;
    w->ud = ud;
    if (getrandom(&w->rng, sizeof(w->rng), 0) != (ssize_t)sizeof(w->rng))
        w->rng = hc_mono_ms() ^ (uint64_t)(uintptr_t)w;
    w->multi = curl_multi_init();
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
    uv_timer_init(loop, &w->curl_timer);
    uv_timer_init(loop, &w->batch_timer);
    uv_timer_init(loop, &w->retry_timer);
    w->curl_timer.data = w->batch_timer.data = w->retry_timer.data = w;
    w->open_handles = 3;
    return w;
}

int hc_whs_set_app(hc_whs *w, const hc_app *app, char *err, size_t errlen)
{
    if (w->closing)
        return 0;
    wapp *a = wapp_new(app, err, errlen);
    if (!a)
        return -1;
    hc_whs_remove_app(w, app->id);
    wapp_link(w, a);
    return 0;
}

void hc_whs_remove_app(hc_whs *w, const char *app_id)
{
    wapp *a = w->closing ? NULL : hc_map_del(&w->by_id, app_id, strlen(app_id));
    if (!a)
        return;
    flush_app(w, a); /* what was gathered goes to the targets it was gathered for */
    a->retired = true;
    wapp_maybe_free(w, a);
}

unsigned hc_whs_mask(const hc_whs *w, const char *app_id)
{
    const wapp *a = app_id ? hc_map_get(&w->by_id, app_id, strlen(app_id)) : NULL;
    return a ? a->mask : 0;
}

void hc_whs_push(hc_whs *w, uint64_t token, const char *app_id, const char *json, size_t len)
{
    wapp *a = app_id ? hc_map_get(&w->by_id, app_id, strlen(app_id)) : NULL;
    unsigned type = 0;
    char *channel = NULL;
    if (w->closing || !a || !hc_wh_event_parse(json, len, &type, &channel) || !(a->mask & type)) {
        free(channel);
        w->done(w->ud, token, false);
        return;
    }
    wev *e = hc_calloc(1, sizeof(*e));
    e->token = token;
    e->type = type;
    e->channel = channel;
    e->json = hc_malloc(len + 1);
    memcpy(e->json, json, len);
    e->json[len] = 0;
    if (a->tail)
        a->tail->next = e;
    else
        a->head = e;
    a->tail = e;
    w->depth++;
    depth_changed(w);
    if (!uv_is_active((uv_handle_t *)&w->batch_timer))
        uv_timer_start(&w->batch_timer, on_batch, HC_WH_BATCH_MS, 0);
}

size_t hc_whs_depth(const hc_whs *w)
{
    return w->depth;
}

static void on_handle_closed(uv_handle_t *h)
{
    hc_whs *w = h->data;
    if (--w->open_handles)
        return;
    while (w->apps) {
        wapp *a = w->apps;
        wapp_unlink(w, a);
        wapp_free(a);
    }
    hc_map_free(&w->by_id);
    free(w);
}

void hc_whs_free(hc_whs *w)
{
    if (!w || w->closing)
        return;
    w->closing = true;
    /* events in flight are dropped unreported: their queue keeps them */
    hc_map forgotten = HC_MAP_INIT;
    while (w->reqs) {
        wreq *r = w->reqs;
        req_clear_http(r);
        req_unlink(r);
        for (size_t i = 0; i < r->n; i++)
            hc_map_put(&forgotten, &r->evs[i], sizeof(r->evs[i]), r->evs[i]);
        req_free(r);
    }
    for (wapp *a = w->apps; a; a = a->next)
        for (wev *e = a->head; e; e = e->next)
            hc_map_put(&forgotten, &e, sizeof(e), e);
    hc_map_iter it;
    hc_map_iter_init(&it, &forgotten);
    for (hc_map_entry *en; (en = hc_map_iter_next(&it));)
        ev_free(en->value);
    hc_map_free(&forgotten);
    for (wsock *s = w->socks; s; s = s->next)
        uv_poll_stop(&s->poll);
    curl_multi_cleanup(w->multi);
    w->multi = NULL;
    while (w->socks)
        sock_close(w->socks);
    w->depth = 0;
    depth_changed(w);
    uv_close((uv_handle_t *)&w->curl_timer, on_handle_closed);
    uv_close((uv_handle_t *)&w->batch_timer, on_handle_closed);
    uv_close((uv_handle_t *)&w->retry_timer, on_handle_closed);
}
