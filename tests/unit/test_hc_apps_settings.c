/*
 * Unit tests for the app settings beyond id/key/secret (hc_apps): client
 * messages, per-second rates, presence limits, user authentication and
 * webhooks, from an apps file (Soketi's JSON names) and from the default
 * app's environment (HERALD_DEFAULT_APP_* over SOKETI_DEFAULT_APP_*).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hc_apps.h"

static const char *const *env_pairs;

static const char *fake_getenv(const char *name)
{
    for (size_t i = 0; env_pairs && env_pairs[i]; i += 2)
        if (strcmp(env_pairs[i], name) == 0)
            return env_pairs[i + 1];
    return NULL;
}

static void test_defaults(void **state)
{
    (void)state;
    hc_app a;
    hc_app_defaults(&a);
    assert_false(a.enable_client_messages);
    assert_int_equal(a.max_client_events_per_sec, 10);
    assert_int_equal(a.max_backend_events_per_sec, -1);
    assert_int_equal(a.max_read_req_per_sec, -1);
    assert_int_equal(a.max_presence_members, 100);
    assert_int_equal(a.max_presence_member_bytes, 2048);
    assert_false(a.user_authentication);
    assert_int_equal(a.user_auth_timeout_ms, 30000);
    assert_null(a.webhooks);
}

static void test_json(void **state)
{
    (void)state;
    hc_apps *apps = hc_apps_new();
    char err[256] = "";
    const char *json =
        "{\"apps\":[{\"id\":\"a\",\"key\":\"k\",\"secret\":\"s\",\"enableClientMessages\":true,"
        "\"maxClientEventsPerSecond\":\"5\",\"maxBackendEventsPerSecond\":100,"
        "\"maxReadRequestsPerSecond\":7,\"maxPresenceMembersPerChannel\":50,"
        "\"maxPresenceMemberSizeInKb\":4,\"enableUserAuthentication\":\"yes\","
        "\"userAuthenticationTimeout\":2500,"
        "\"webhooks\":[{\"url\":\"http://h/x\",\"event_types\":[\"channel_occupied\"]}]}]}";
    assert_int_equal(hc_apps_load_json(apps, json, strlen(json), err, sizeof err), 1);
    const hc_app *a = hc_apps_by_id(apps, "a");
    assert_true(a->enable_client_messages);
    assert_int_equal(a->max_client_events_per_sec, 5);
    assert_int_equal(a->max_backend_events_per_sec, 100);
    assert_int_equal(a->max_read_req_per_sec, 7);
    assert_int_equal(a->max_presence_members, 50);
    assert_int_equal(a->max_presence_member_bytes, 4096);
    assert_true(a->user_authentication);
    assert_int_equal(a->user_auth_timeout_ms, 2500);
    assert_string_equal(a->webhooks,
                        "[{\"url\":\"http://h/x\",\"event_types\":[\"channel_occupied\"]}]");
    const char *bad1 =
        "[{\"id\":\"b\",\"key\":\"kb\",\"secret\":\"s\",\"enableClientMessages\":3.5}]";
    assert_int_equal(hc_apps_load_json(apps, bad1, strlen(bad1), err, sizeof err), -1);
    assert_non_null(strstr(err, "enableClientMessages"));
    const char *bad2 = "[{\"id\":\"b\",\"key\":\"kb\",\"secret\":\"s\",\"webhooks\":{}}]";
    assert_int_equal(hc_apps_load_json(apps, bad2, strlen(bad2), err, sizeof err), -1);
    assert_non_null(strstr(err, "webhooks"));
    assert_null(hc_apps_by_id(apps, "b"));
    hc_apps_free(apps);
}

static void test_env(void **state)
{
    (void)state;
    static const char *const env[] = {
        "SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES",
        "true",
        "SOKETI_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SEC",
        "3",
        "HERALD_DEFAULT_APP_MAX_CLIENT_EVENTS_PER_SEC",
        "4", /* Herald's name wins */
        "SOKETI_DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SEC",
        "20",
        "SOKETI_DEFAULT_APP_MAX_READ_REQ_PER_SEC",
        "-1",
        "SOKETI_DEFAULT_APP_MAX_PRESENCE_MEMBERS_PER_CHANNEL",
        "9",
        "SOKETI_DEFAULT_APP_MAX_PRESENCE_MEMBER_SIZE_IN_KB",
        "1",
        "SOKETI_DEFAULT_APP_USER_AUTHENTICATION",
        "1",
        "SOKETI_DEFAULT_APP_WEBHOOKS",
        "[{\"url\":\"http://h/y\"}]",
        NULL,
    };
    env_pairs = env;
    hc_apps *apps = hc_apps_new();
    char err[256] = "";
    assert_int_equal(hc_apps_load_default(apps, fake_getenv, err, sizeof err), 0);
    const hc_app *a = hc_apps_by_id(apps, "app-id");
    assert_true(a->enable_client_messages);
    assert_int_equal(a->max_client_events_per_sec, 4);
    assert_int_equal(a->max_backend_events_per_sec, 20);
    assert_int_equal(a->max_read_req_per_sec, -1);
    assert_int_equal(a->max_presence_members, 9);
    assert_int_equal(a->max_presence_member_bytes, 1024);
    assert_true(a->user_authentication);
    assert_string_equal(a->webhooks, "[{\"url\":\"http://h/y\"}]");
    hc_apps_free(apps);

    static const char *const bad[] = {"HERALD_DEFAULT_APP_WEBHOOKS", "not json", NULL};
    env_pairs = bad;
    apps = hc_apps_new();
    assert_int_equal(hc_apps_load_default(apps, fake_getenv, err, sizeof err), -1);
    assert_non_null(strstr(err, "HERALD_DEFAULT_APP_WEBHOOKS"));
    hc_apps_free(apps);
    static const char *const bad2[] = {"SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES", "maybe", NULL};
    env_pairs = bad2;
    apps = hc_apps_new();
    assert_int_equal(hc_apps_load_default(apps, fake_getenv, err, sizeof err), -1);
    assert_non_null(strstr(err, "ENABLE_CLIENT_MESSAGES"));
    hc_apps_free(apps);
    env_pairs = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
