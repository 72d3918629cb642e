/*
 * Unit tests for gw_api_channels: routing and Pusher's rules for the
 * channel queries (which query the cluster is asked, or which error the
 * client gets), through gw_api_handle with requests signed here the way
 * the SDKs sign them (extra query parameters included in the signature).
 * Owns nothing beyond its fixtures.
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

static int group_setup(void **state)
{
    (void)state;
    apps = hc_apps_new();
    hc_app a;
    hc_app_defaults(&a);
    a.id = "app-id";
    a.key = "app-key";
    a.secret = "app-secret";
    assert_int_equal(hc_apps_add(apps, &a), 0);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    hc_apps_free(apps);
    return 0;
}

/* GET path with extra (already sorted, all after auth_*) "k=v&k=v" params. */
static void get(gw_api_response *out, const char *method, const char *path, const char *extra)
{
    char tosign[1024], sig[HC_SHA256_HEX_LEN + 1];
    int n = snprintf(tosign, sizeof(tosign),
                     "%s\n%s\nauth_key=app-key&auth_timestamp=%d&auth_version=1.0%s%s", method,
                     path, NOW, *extra ? "&" : "", extra);
    hc_hmac_sha256_hex("app-secret", 10, tosign, (size_t)n, sig);
    hc_query q = HC_QUERY_INIT;
    char ts[16];
    snprintf(ts, sizeof(ts), "%d", NOW);
    hc_query_add(&q, "auth_key", 8, "app-key", 7);
    hc_query_add(&q, "auth_timestamp", 14, ts, strlen(ts));
    hc_query_add(&q, "auth_version", 12, "1.0", 3);
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", extra);
    for (char *save = NULL, *kv = strtok_r(copy, "&", &save); kv; kv = strtok_r(NULL, "&", &save))
        hc_query_add_pair(&q, kv, strlen(kv));
    hc_query_add(&q, "auth_signature", 14, sig, strlen(sig));
    gw_api_request req = {.method = method, .path = path, .query = &q, .now_s = NOW};
    memset(out, 0, sizeof(*out));
    gw_api_handle(apps, &req, out);
    hc_query_free(&q);
}

static void expect_query(gw_api_response *r, const char *op, const char *channel, unsigned flags)
{
    assert_int_equal(r->status, 200);
    assert_non_null(r->query_op);
    assert_string_equal(r->query_op, op);
    assert_string_equal(r->query_app_id, "app-id");
    assert_string_equal(r->query_channel, channel);
    assert_int_equal(r->query_flags, flags);
    gw_api_response_free(r);
}

static void expect_error(gw_api_response *r, int status, const char *fragment)
{
    assert_int_equal(r->status, status);
    assert_null(r->query_op);
    assert_non_null(strstr(r->body.data, fragment));
    gw_api_response_free(r);
}

static void test_list(void **state)
{
    (void)state;
    gw_api_response r;
    get(&r, "GET", "/apps/app-id/channels", "");
    expect_query(&r, "channels", "", 0);
    get(&r, "GET", "/apps/app-id/channels", "filter_by_prefix=presence-&info=user_count");
    expect_query(&r, "channels", "presence-", 1);
    get(&r, "GET", "/apps/app-id/channels", "info=subscription_count");
    expect_query(&r, "channels", "", 2);
    get(&r, "GET", "/apps/app-id/channels", "info=user_count");
    expect_error(&r, 400, "filter_by_prefix=presence-");
}

static void test_one_channel(void **state)
{
    (void)state;
    gw_api_response r;
    get(&r, "GET", "/apps/app-id/channels/presence-room", "info=user_count,subscription_count");
    expect_query(&r, "channel", "presence-room", 3);
    get(&r, "GET", "/apps/app-id/channels/orders", "info=subscription_count");
    expect_query(&r, "channel", "orders", 2);
    get(&r, "GET", "/apps/app-id/channels/orders", "info=user_count");
    expect_error(&r, 400, "only available for presence channels");
    get(&r, "GET", "/apps/app-id/channels/presence-room/users", "");
    expect_query(&r, "users", "presence-room", 0);
    get(&r, "GET", "/apps/app-id/channels/orders/users", "");
    expect_error(&r, 400, "presence channels only");
    get(&r, "GET", "/apps/app-id/channels/orders/other", "");
    expect_error(&r, 404, "channels/{name}/users");
    get(&r, "GET", "/apps/app-id/channels/bad%20name", "");
    expect_error(&r, 400, "Invalid channel name");
}

static void test_method_and_auth(void **state)
{
    (void)state;
    gw_api_response r;
    get(&r, "POST", "/apps/app-id/channels", "");
    expect_error(&r, 405, "use GET");
    hc_query q = HC_QUERY_INIT;
    gw_api_request req = {
        .method = "GET", .path = "/apps/app-id/channels", .query = &q, .now_s = NOW};
    memset(&r, 0, sizeof(r));
    gw_api_handle(apps, &req, &r);
    expect_error(&r, 401, "Unauthorized");
    hc_query_free(&q);
}

static void test_info_flags(void **state)
{
    (void)state;
    assert_int_equal(gw_api_info_flags(""), 0);
    assert_int_equal(gw_api_info_flags("user_count"), 1);
    assert_int_equal(gw_api_info_flags("subscription_count,user_count"), 3);
    assert_int_equal(gw_api_info_flags("cache,user_counts,subscription_count"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_one_channel),
        cmocka_unit_test(test_method_and_auth),
        cmocka_unit_test(test_info_flags),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
