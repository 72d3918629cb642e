/*
 * Unit tests for the presence settings of hc_apps: maxPresenceMembersPerChannel,
 * maxPresenceMemberSizeInKb and enableSubscriptionCount from an apps file
 * and from the default-app environment (Herald's and Soketi's names), with
 * their defaults. Owns nothing beyond its fixtures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hc_apps.h"

static const char *env_a(const char *name)
{
    if (!strcmp(name, "SOKETI_DEFAULT_APP_MAX_PRESENCE_MEMBERS_PER_CHANNEL"))
        return "7";
    if (!strcmp(name, "HERALD_DEFAULT_APP_MAX_PRESENCE_MEMBER_SIZE_IN_KB"))
        return "0.5";
    if (!strcmp(name, "HERALD_DEFAULT_APP_ENABLE_SUBSCRIPTION_COUNT"))
        return "true";
    return NULL;
}

static const char *env_bad(const char *name)
{
    return strcmp(name, "HERALD_DEFAULT_APP_ENABLE_SUBSCRIPTION_COUNT") ? NULL : "maybe";
}

static void test_defaults(void **state)
{
    (void)state;
    hc_app a;
    hc_app_defaults(&a);
    assert_int_equal(a.max_presence_members, 100);
    assert_int_equal(a.max_presence_member_bytes, 2048);
    assert_false(a.subscription_count);
}

static void test_json(void **state)
{
    (void)state;
    hc_apps *apps = hc_apps_new();
    char err[256];
    const char *json = "{\"apps\":[{\"id\":\"a\",\"key\":\"k\",\"secret\":\"s\","
                       "\"maxPresenceMembersPerChannel\":3,\"maxPresenceMemberSizeInKb\":1,"
                       "\"enableSubscriptionCount\":true},"
                       "{\"id\":\"b\",\"key\":\"k2\",\"secret\":\"s\"}]}";
    assert_int_equal(hc_apps_load_json(apps, json, strlen(json), err, sizeof err), 2);
    const hc_app *a = hc_apps_by_id(apps, "a"), *b = hc_apps_by_id(apps, "b");
    assert_int_equal(a->max_presence_members, 3);
    assert_int_equal(a->max_presence_member_bytes, 1024);
    assert_true(a->subscription_count);
    assert_int_equal(b->max_presence_members, 100);
    assert_false(b->subscription_count);
    const char *bad = "[{\"id\":\"c\",\"key\":\"k3\",\"secret\":\"s\","
                      "\"enableSubscriptionCount\":[]}]";
    assert_int_equal(hc_apps_load_json(apps, bad, strlen(bad), err, sizeof err), -1);
    assert_non_null(strstr(err, "enableSubscriptionCount"));
    hc_apps_free(apps);
}

static void test_env(void **state)
{
    (void)state;
    hc_apps *apps = hc_apps_new();
    char err[256];
    assert_int_equal(hc_apps_load_default(apps, env_a, err, sizeof err), 0);
    const hc_app *a = hc_apps_by_id(apps, "app-id");
    assert_int_equal(a->max_presence_members, 7);
    assert_int_equal(a->max_presence_member_bytes, 512);
    assert_true(a->subscription_count);
    hc_apps_free(apps);
    apps = hc_apps_new();
    assert_int_equal(hc_apps_load_default(apps, env_bad, err, sizeof err), -1);
    assert_non_null(strstr(err, "ENABLE_SUBSCRIPTION_COUNT"));
    hc_apps_free(apps);
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
