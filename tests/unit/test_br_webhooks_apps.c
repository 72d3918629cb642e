/*
 * Unit tests for changing an app's webhooks at run time in the sender
 * (hc_whs_set_app / hc_whs_remove_app, common/io/hc_webhook_send.c), which
 * the broker does for apps from Redis (br_webhooks_app_changed): the mask
 * follows the new event types, a removed app's events end at once (not
 * delivered), and a request in flight when its app's webhooks are
 * replaced still completes against the old target while the next event
 * goes to the new one (the old targets stay valid until then; ASan checks
 * that). A tiny HTTP server on a libuv loop on 127.0.0.1 answers the
 * requests; it can hold its answer so a request stays in flight. Linked
 * with the broker core (which brings the sender). Owns nothing but
 * fixtures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "hc_apps.h"
#include "hc_webhook.h"
#include "hc_webhook_send.h"

/* ---- a tiny HTTP server -------------------------------------------------- */

#define MAXREQ 8

typedef struct srv {
    uv_tcp_t tcp;
    int port;
    int requests; /* complete requests seen */
    char paths[MAXREQ][64];
    bool hold;         /* keep the answer of the next request */
    struct conn *held; /* the connection whose answer is kept */
    int open;          /* connections not closed yet */
} srv;

typedef struct conn {
    uv_tcp_t tcp;
    srv *s;
    char buf[16384];
    size_t len;
    bool answered;
} conn;

static void conn_closed(uv_handle_t *h)
{
    conn *c = h->data;
    c->s->open--;
    free(c);
}

static void on_written(uv_write_t *wr, int status)
{
    (void)status;
    conn *c = wr->data;
    free(wr);
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void answer(conn *c)
{
    static char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    uv_write_t *wr = malloc(sizeof(*wr));
    wr->data = c;
    uv_buf_t b = uv_buf_init(ok, sizeof(ok) - 1);
    c->answered = true;
    uv_write(wr, (uv_stream_t *)&c->tcp, &b, 1, on_written);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)hint;
    conn *c = h->data;
    *b = uv_buf_init(c->buf + c->len, (unsigned)(sizeof(c->buf) - 1 - c->len));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    conn *c = st->data;
    if (n < 0) {
        if (!uv_is_closing((uv_handle_t *)st))
            uv_close((uv_handle_t *)st, conn_closed);
        return;
    }
    c->len += (size_t)n;
    c->buf[c->len] = 0;
    char *end = strstr(c->buf, "\r\n\r\n");
    if (c->answered || !end)
        return;
    const char *cl = strstr(c->buf, "Content-Length: ");
    size_t body = cl ? strtoul(cl + 16, NULL, 10) : 0;
    if (c->len < (size_t)(end + 4 - c->buf) + body)
        return;
    srv *s = c->s;
    if (s->requests < MAXREQ)
        sscanf(c->buf, "POST %63s", s->paths[s->requests]);
    s->requests++;
    uv_read_stop(st);
    if (s->hold) {
        s->hold = false;
        s->held = c;
        c->answered = true;
    } else {
        answer(c);
    }
}

static void on_conn(uv_stream_t *server, int status)
{
    assert_int_equal(status, 0);
    srv *s = server->data;
    conn *c = calloc(1, sizeof(*c));
    c->s = s;
    uv_tcp_init(server->loop, &c->tcp);
    c->tcp.data = c;
    s->open++;
    assert_int_equal(uv_accept(server, (uv_stream_t *)&c->tcp), 0);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void srv_start(uv_loop_t *loop, srv *s)
{
    memset(s, 0, sizeof(*s));
    uv_tcp_init(loop, &s->tcp);
    s->tcp.data = s;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_tcp_bind(&s->tcp, (const struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&s->tcp, 16, on_conn), 0);
    struct sockaddr_in got;
    int len = sizeof(got);
    uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&got, &len);
    s->port = ntohs(got.sin_port);
}

/* ---- fixtures ------------------------------------------------------------ */

typedef struct done_log {
    int n, delivered;
    uint64_t last;
} done_log;

static void on_done(void *ud, uint64_t token, bool delivered)
{
    done_log *d = ud;
    d->n++;
    d->delivered += delivered;
    d->last = token;
}

static void wake(uv_timer_t *t)
{
    (void)t;
}

/* Runs loop until *flag >= want (a guard timer keeps the loop turning). */
static void run_until(uv_loop_t *loop, const int *flag, int want)
{
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    uv_timer_start(&guard, wake, 20, 20);
    uint64_t deadline = uv_now(loop) + 20000;
    while (*flag < want && uv_now(loop) < deadline)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    assert_true(*flag >= want);
}

/* Sets app "a" in apps to webhooks JSON hooks; returns it. */
static const hc_app *put_app(hc_apps *apps, const char *hooks)
{
    char json[1024], err[256];
    snprintf(json, sizeof(json), "{\"id\":\"a\",\"key\":\"ka\",\"secret\":\"sa\",\"webhooks\":%s}",
             hooks);
    hc_app a;
    assert_true(hc_app_parse_json(json, strlen(json), &a, err, sizeof(err)));
    const hc_app *out = NULL;
    assert_true(hc_apps_put(apps, &a, &out, err, sizeof(err)) >= 0);
    hc_app_clear(&a);
    return out;
}

static void push(hc_whs *w, uint64_t token, const char *type)
{
    char ev[128];
    snprintf(ev, sizeof(ev), "{\"name\":\"%s\",\"channel\":\"c%llu\"}", type,
             (unsigned long long)token);
    hc_whs_push(w, token, "a", ev, strlen(ev));
}

static void finish(uv_loop_t *loop, hc_whs *w, hc_apps *apps)
{
    hc_whs_free(w);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
    hc_apps_free(apps);
}

/* ---- tests --------------------------------------------------------------- */

static void test_mask_follows_and_removed_app_ends_at_once(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    hc_apps *apps = hc_apps_new();
    put_app(apps, "[{\"url\":\"http://127.0.0.1:9/x\",\"event_types\":[\"channel_occupied\"]}]");
    done_log d = {0};
    char err[256];
    hc_whs *w = hc_whs_new(&loop, apps, on_done, &d, err, sizeof(err));
    assert_non_null(w);
    unsigned occ = hc_wh_type_of("channel_occupied"), vac = hc_wh_type_of("channel_vacated");
    assert_int_equal(hc_whs_mask(w, "a"), occ);

    const hc_app *a = put_app(apps, "[{\"url\":\"http://127.0.0.1:9/y\",\"event_types\":"
                                    "[\"channel_occupied\",\"channel_vacated\"]}]");
    assert_int_equal(hc_whs_set_app(w, a, err, sizeof(err)), 0);
    assert_int_equal(hc_whs_mask(w, "a"), occ | vac);

    /* invalid webhooks: refused, the old ones stay */
    const hc_app *bad = put_app(apps, "[{\"url\":\"ftp://nope\",\"event_types\":[\"nothing\"]}]");
    assert_int_equal(hc_whs_set_app(w, bad, err, sizeof(err)), -1);
    assert_true(strlen(err) > 0);
    assert_int_equal(hc_whs_mask(w, "a"), occ | vac);

    hc_whs_remove_app(w, "a");
    assert_int_equal(hc_whs_mask(w, "a"), 0);
    push(w, 7, "channel_occupied");
    assert_int_equal(d.n, 1); /* ended at once, not delivered */
    assert_int_equal(d.delivered, 0);
    assert_int_equal(d.last, 7);
    assert_int_equal(hc_whs_depth(w), 0);
    hc_whs_remove_app(w, "a"); /* twice: nothing */
    finish(&loop, w, apps);
}

static void test_replaced_while_in_flight(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    srv s;
    srv_start(&loop, &s);
    char hooks[256];
    snprintf(hooks, sizeof(hooks),
             "[{\"url\":\"http://127.0.0.1:%d/old\",\"event_types\":[\"channel_occupied\"]}]",
             s.port);
    hc_apps *apps = hc_apps_new();
    put_app(apps, hooks);
    done_log d = {0};
    char err[256];
    hc_whs *w = hc_whs_new(&loop, apps, on_done, &d, err, sizeof(err));
    assert_non_null(w);

    s.hold = true;
    push(w, 1, "channel_occupied");
    run_until(&loop, &s.requests, 1); /* the request is in flight, unanswered */
    assert_string_equal(s.paths[0], "/old");
    assert_int_equal(d.n, 0);

    snprintf(hooks, sizeof(hooks),
             "[{\"url\":\"http://127.0.0.1:%d/new\",\"event_types\":[\"channel_occupied\"]}]",
             s.port);
    const hc_app *a = put_app(apps, hooks);
    assert_int_equal(hc_whs_set_app(w, a, err, sizeof(err)), 0);
    answer(s.held); /* the old target answers now */
    run_until(&loop, &d.n, 1);
    assert_int_equal(d.delivered, 1);
    assert_int_equal(d.last, 1);

    push(w, 2, "channel_occupied");
    run_until(&loop, &d.n, 2);
    assert_int_equal(d.delivered, 2);
    assert_int_equal(s.requests, 2);
    assert_string_equal(s.paths[1], "/new");

    /* removed with an event gathered: it is sent to the targets it was
     * gathered for */
    push(w, 3, "channel_occupied");
    hc_whs_remove_app(w, "a");
    run_until(&loop, &d.n, 3);
    assert_int_equal(d.delivered, 3);
    assert_string_equal(s.paths[2], "/new");

    uv_close((uv_handle_t *)&s.tcp, NULL);
    finish(&loop, w, apps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_follows_and_removed_app_ends_at_once),
        cmocka_unit_test(test_replaced_while_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
