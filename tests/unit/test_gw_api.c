/*
 * Unit tests for gw_api: the Pusher HTTP API as pure logic. Requests are
 * signed here from first principles (the string to sign is built by hand,
 * then hc_hmac_sha256_hex / hc_md5_hex), so these tests also pin the
 * signing rules the SDKs follow. Owns nothing beyond its fixtures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_api.h"
#include "hc_apps.h"
#include "hc_query.h"
#include "hc_sig.h"

#define NOW 1700000000

static hc_apps *apps;
static gw_limits *g_limits; /* set by the limit tests */
static uint64_t g_now_ms;

static int group_setup(void **state)
{
    (void)state;
    apps = hc_apps_new();
    hc_app a, d;
    hc_app_defaults(&a);
    a.id = "app-id";
    a.key = "app-key";
    a.secret = "app-secret";
    a.enabled = true;
    a.max_event_channels = 3;
    a.max_payload_bytes = 32;
    a.max_batch_size = 2;
    a.max_event_name_len = 10;
    hc_app_defaults(&d);
    d.id = "off";
    d.key = "off-key";
    d.secret = "off-secret";
    d.enabled = false;
    assert_int_equal(hc_apps_add(apps, &a), 0);
    assert_int_equal(hc_apps_add(apps, &d), 0);
    hc_app l;
    hc_app_defaults(&l);
    l.id = "lim";
    l.key = "lim-key";
    l.secret = "lim-secret";
    l.max_backend_events_per_sec = 3;
    l.max_read_req_per_sec = 2;
    assert_int_equal(hc_apps_add(apps, &l), 0);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    hc_apps_free(apps);
    return 0;
}

/* How to spoil a signed request. */
enum spoil { OK, NO_SIG, BAD_KEY, STALE, BAD_MD5, BAD_SIG };

/* Signs (method, path, body) for key/secret the way the SDKs do, into q. */
static void sign(hc_query *q, const char *method, const char *path, const char *body,
                 const char *key, const char *secret, enum spoil how)
{
    char md5[HC_MD5_HEX_LEN + 1], ts[32], sig[HC_SHA256_HEX_LEN + 1], tosign[1024];
    hc_md5_hex(body, strlen(body), md5);
    if (how == BAD_MD5)
        md5[0] = md5[0] == 'a' ? 'b' : 'a';
    snprintf(ts, sizeof(ts), "%d", how == STALE ? NOW - 601 : NOW);
    const char *k = how == BAD_KEY ? "other-key" : key;
    /* keys sorted: auth_key, auth_timestamp, auth_version, body_md5 */
    int n = snprintf(tosign, sizeof(tosign),
                     "%s\n%s\nauth_key=%s&auth_timestamp=%s&auth_version=1.0%s%s", method, path, k,
                     ts, *body ? "&body_md5=" : "", *body ? md5 : "");
    hc_hmac_sha256_hex(secret, strlen(secret), tosign, (size_t)n, sig);
    if (how == BAD_SIG)
        sig[0] = sig[0] == '0' ? '1' : '0';
    hc_query_add(q, "auth_key", 8, k, strlen(k));
    hc_query_add(q, "auth_timestamp", 14, ts, strlen(ts));
    hc_query_add(q, "auth_version", 12, "1.0", 3);
    if (*body)
        hc_query_add(q, "body_md5", 8, md5, strlen(md5));
    if (how != NO_SIG)
        hc_query_add(q, "auth_signature", 14, sig, strlen(sig));
}

/* Runs one request against app-id's credentials (or off's). */
static void run_as(gw_api_response *out, const char *method, const char *path, const char *body,
                   enum spoil how, const char *key, const char *secret)
{
    hc_query q = HC_QUERY_INIT;
    sign(&q, method, path, body, key, secret, how);
    gw_api_request req = {method, path, &q, body, strlen(body), NOW, g_limits, g_now_ms};
    memset(out, 0, sizeof(*out));
    gw_api_handle(apps, &req, out);
    hc_query_free(&q);
}

static void run(gw_api_response *out, const char *method, const char *path, const char *body,
                enum spoil how)
{
    run_as(out, method, path, body, how, "app-key", "app-secret");
}

static void expect(gw_api_response *r, int status, const char *body)
{
    assert_int_equal(r->status, status);
    assert_string_equal(r->body.data, body);
    gw_api_response_free(r);
}

/* Expects status and a {"error":...} body containing part. */
static void expect_error(gw_api_response *r, int status, const char *part)
{
    assert_int_equal(r->status, status);
    if (!strstr(r->body.data, part) || strncmp(r->body.data, "{\"error\":\"", 10) != 0)
        fail_msg("body %s lacks %s", r->body.data, part);
    assert_int_equal(r->npubs, 0);
    gw_api_response_free(r);
}

static void test_health(void **state)
{
    (void)state;
    gw_api_response r = {0};
    hc_query q = HC_QUERY_INIT;
    gw_api_request req = {"GET", "/health", &q, NULL, 0, NOW, NULL, 0};
    gw_api_handle(apps, &req, &r);
    expect(&r, 200, "{\"ok\":true}");
    req.path = "/";
    gw_api_handle(apps, &req, &r);
    expect(&r, 200, "{\"ok\":true}");
    req.method = "POST";
    gw_api_handle(apps, &req, &r);
    expect_error(&r, 405, "Method POST not allowed");
    req.method = "GET";
    req.path = "/nothing";
    gw_api_handle(apps, &req, &r);
    expect(&r, 404, "{\"error\":\"Not found: /nothing\"}");
}

static void test_event_ok(void **state)
{
    (void)state;
    gw_api_response r;
    run(&r, "POST", "/apps/app-id/events",
        "{\"name\":\"ev\",\"channel\":\"ch\",\"data\":\"hi \\\"x\\\"\",\"socket_id\":\"1.2\"}", OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "{}");
    assert_int_equal(r.npubs, 1);
    assert_string_equal(r.pubs[0].app_id, "app-id");
    assert_string_equal(r.pubs[0].channel, "ch");
    assert_string_equal(r.pubs[0].name, "ev");
    assert_string_equal(r.pubs[0].data, "hi \"x\"");
    assert_int_equal(r.pubs[0].data_len, 6);
    assert_string_equal(r.pubs[0].socket_id, "1.2");
    gw_api_response_free(&r);
}

static void test_event_channels_and_json_data(void **state)
{
    (void)state;
    gw_api_response r;
    run(&r, "POST", "/apps/app-id/events",
        "{\"name\":\"ev\",\"channels\":[\"a\",\"b\",\"a\"],\"data\":{\"k\": [1, 2]}}", OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.npubs, 2); /* the duplicate "a" is published once */
    assert_string_equal(r.pubs[0].channel, "a");
    assert_string_equal(r.pubs[1].channel, "b");
    assert_string_equal(r.pubs[0].data, "{\"k\":[1,2]}");
    assert_null(r.pubs[0].socket_id);
    gw_api_response_free(&r);
    run(&r, "POST", "/apps/app-id/events", "{\"name\":\"ev\",\"channel\":\"a\",\"data\":42}", OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.pubs[0].data, "42");
    gw_api_response_free(&r);
}

static void test_auth_failures(void **state)
{
    (void)state;
    const char *body = "{\"name\":\"ev\",\"channel\":\"a\",\"data\":\"x\"}";
    gw_api_response r;
    run(&r, "POST", "/apps/app-id/events", body, NO_SIG);
    expect_error(&r, 401, "required");
    run(&r, "POST", "/apps/app-id/events", body, BAD_KEY);
    expect_error(&r, 401, "auth_key");
    run(&r, "POST", "/apps/app-id/events", body, STALE);
    expect_error(&r, 401, "auth_timestamp");
    run(&r, "POST", "/apps/app-id/events", body, BAD_MD5);
    expect_error(&r, 401, "body_md5");
    run(&r, "POST", "/apps/app-id/events", body, BAD_SIG);
    expect_error(&r, 401, "auth_signature");
    /* signed for another path */
    hc_query q = HC_QUERY_INIT;
    sign(&q, "POST", "/apps/app-id/batch_events", body, "app-key", "app-secret", OK);
    gw_api_request req = {"POST", "/apps/app-id/events", &q, body, strlen(body), NOW, NULL, 0};
    memset(&r, 0, sizeof(r));
    gw_api_handle(apps, &req, &r);
    hc_query_free(&q);
    expect_error(&r, 401, "auth_signature");
}

static void test_routing(void **state)
{
    (void)state;
    gw_api_response r;
    run(&r, "POST", "/apps/nope/events", "{}", OK);
    expect(&r, 404, "{\"error\":\"Unknown app id nope\"}");
    run(&r, "GET", "/apps/app-id/events", "", OK);
    expect(&r, 405, "{\"error\":\"Method GET not allowed: use POST\"}");
    run(&r, "GET", "/apps/app-id/channels", "", OK); /* a cluster query: gw_api_channels */
    assert_int_equal(r.status, 200);
    assert_string_equal(r.query_op, "channels");
    gw_api_response_free(&r);
    run(&r, "POST", "/apps/app-id/whatever", "{}", OK);
    expect_error(&r, 404, "Not found");
    run(&r, "POST", "/apps//events", "{}", OK);
    expect_error(&r, 404, "Not found");
    run_as(&r, "POST", "/apps/off/events", "{\"name\":\"e\",\"channel\":\"a\",\"data\":\"x\"}", OK,
           "off-key", "off-secret");
    expect(&r, 403, "{\"error\":\"App off is disabled\"}");
}

static void test_event_validation(void **state)
{
    (void)state;
    gw_api_response r;
    const char *p = "/apps/app-id/events";
    run(&r, "POST", p, "{nope", OK);
    expect_error(&r, 400, "not valid JSON");
    run(&r, "POST", p, "[1]", OK);
    expect(&r, 400, "{\"error\":\"Request body must be a JSON object\"}");
    run(&r, "POST", p, "{\"channel\":\"a\",\"data\":\"x\"}", OK);
    expect_error(&r, 400, "missing event name");
    run(&r, "POST", p, "{\"name\":\"abcdefghijk\",\"channel\":\"a\",\"data\":\"x\"}", OK);
    expect(&r, 400, "{\"error\":\"event name is longer than 10 characters\"}");
    run(&r, "POST", p, "{\"name\":\"e\",\"data\":\"x\"}", OK);
    expect_error(&r, 400, "missing channels");
    run(&r, "POST", p, "{\"name\":\"e\",\"channels\":[\"a\",\"b\",\"c\",\"d\"],\"data\":\"x\"}",
        OK);
    expect(&r, 400, "{\"error\":\"too many channels: 4 (the limit is 3)\"}");
    run(&r, "POST", p, "{\"name\":\"e\",\"channels\":[\"a\",1],\"data\":\"x\"}", OK);
    expect_error(&r, 400, "channels must be an array of channel names");
    run(&r, "POST", p, "{\"name\":\"e\",\"channel\":\"bad name\",\"data\":\"x\"}", OK);
    expect_error(&r, 400, "invalid channel name bad name");
    run(&r, "POST", p, "{\"name\":\"e\",\"channel\":\"a\"}", OK);
    expect(&r, 400, "{\"error\":\"missing data\"}");
    run(&r, "POST", p,
        "{\"name\":\"e\",\"channel\":\"a\",\"data\":\"0123456789012345678901234567890123\"}", OK);
    expect(&r, 413, "{\"error\":\"event data is 34 bytes; the limit is 32\"}");
    run(&r, "POST", p, "{\"name\":\"e\",\"channel\":\"a\",\"data\":\"x\",\"socket_id\":\"abc\"}",
        OK);
    expect_error(&r, 400, "invalid socket_id");
    run(&r, "POST", p, "{\"name\":\"e\",\"channel\":\"a\",\"data\":\"x\",\"socket_id\":null}", OK);
    expect(&r, 200, "{}");
}

static void test_batch(void **state)
{
    (void)state;
    gw_api_response r;
    const char *p = "/apps/app-id/batch_events";
    run(&r, "POST", p,
        "{\"batch\":[{\"name\":\"e1\",\"channel\":\"a\",\"data\":\"1\"},"
        "{\"name\":\"e2\",\"channel\":\"b\",\"data\":\"2\",\"socket_id\":\"9.9\"}]}",
        OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "{}");
    assert_int_equal(r.npubs, 2);
    assert_string_equal(r.pubs[0].name, "e1");
    assert_string_equal(r.pubs[1].channel, "b");
    assert_string_equal(r.pubs[1].socket_id, "9.9");
    gw_api_response_free(&r);
    run(&r, "POST", p, "{\"batch\":[{},{},{}]}", OK);
    expect(&r, 400, "{\"error\":\"batch has 3 events; the limit is 2\"}");
    run(&r, "POST", p,
        "{\"batch\":[{\"name\":\"e1\",\"channel\":\"a\",\"data\":\"1\"},{\"name\":\"e2\"}]}", OK);
    expect_error(&r, 400, "batch[1]: missing channels");
    run(&r, "POST", p, "{\"events\":[]}", OK);
    expect_error(&r, 400, "missing batch");
}

static void test_user_events_and_terminate(void **state)
{
    (void)state;
    gw_api_response r;
    const char *p = "/apps/app-id/events";
    run(&r, "POST", p, "{\"name\":\"e\",\"channels\":[\"#server-to-user-42\"],\"data\":\"x\"}", OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.npubs, 1);
    assert_string_equal(r.pubs[0].channel, "#server-to-user-42");
    gw_api_response_free(&r);
    run(&r, "POST", p, "{\"name\":\"e\",\"channels\":[\"#herald-user-42\"],\"data\":\"x\"}", OK);
    expect_error(&r, 400, "invalid channel name");
    run(&r, "POST", p, "{\"name\":\"e\",\"channels\":[\"#server-to-user-\"],\"data\":\"x\"}", OK);
    expect_error(&r, 400, "invalid channel name");
    run(&r, "POST", "/apps/app-id/users/42/terminate_connections", "{}", OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "{}");
    assert_int_equal(r.npubs, 1);
    assert_string_equal(r.pubs[0].channel, "#herald-user-42");
    assert_string_equal(r.pubs[0].name, "herald:terminate_connections");
    gw_api_response_free(&r);
    run(&r, "POST", "/apps/app-id/users/bad!id/terminate_connections", "{}", OK);
    expect_error(&r, 400, "invalid user id");
    run(&r, "POST", "/apps/app-id/users/42/terminate_connections", "{}", BAD_SIG);
    expect_error(&r, 401, "auth_signature");
}

static void test_rate_limits(void **state)
{
    (void)state;
    gw_api_response r;
    g_limits = gw_limits_new();
    g_now_ms = 1000;
    const char *ev = "{\"name\":\"e\",\"channels\":[\"a\",\"b\"],\"data\":\"x\"}";
    run_as(&r, "POST", "/apps/lim/events", ev, OK, "lim-key", "lim-secret");
    expect(&r, 200, "{}");
    run_as(&r, "POST", "/apps/lim/events", ev, OK, "lim-key", "lim-secret");
    expect_error(&r, 429, "3 events per second"); /* 2 + 2 > 3; no publishes */
    /* reads within the limit become cluster queries (answered via a broker) */
    run_as(&r, "GET", "/apps/lim/channels", "", OK, "lim-key", "lim-secret");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.query_op, "channels");
    gw_api_response_free(&r);
    run_as(&r, "GET", "/apps/lim/channels/x", "", OK, "lim-key", "lim-secret");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.query_op, "channel");
    gw_api_response_free(&r);
    run_as(&r, "GET", "/apps/lim/channels", "", OK, "lim-key", "lim-secret");
    expect_error(&r, 429, "2 read requests per second");
    assert_null(r.query_op);
    g_now_ms = 2000; /* the next second */
    run_as(&r, "POST", "/apps/lim/events", ev, OK, "lim-key", "lim-secret");
    expect(&r, 200, "{}");
    run_as(&r, "GET", "/apps/lim/channels", "", OK, "lim-key", "lim-secret");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.query_op, "channels");
    gw_api_response_free(&r);
    /* the default app is unlimited */
    for (int i = 0; i < 50; i++) {
        run(&r, "POST", "/apps/app-id/events", ev, OK);
        expect(&r, 200, "{}");
    }
    gw_limits_free(g_limits);
    g_limits = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_event_ok),
        cmocka_unit_test(test_event_channels_and_json_data),
        cmocka_unit_test(test_user_events_and_terminate),
        cmocka_unit_test(test_rate_limits),
        cmocka_unit_test(test_auth_failures),
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_event_validation),
        cmocka_unit_test(test_batch),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
