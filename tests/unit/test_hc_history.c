/*
 * Unit tests for hc_history: parsing rules, longest-prefix match, the
 * bound for a channel (with the cache-channel default), copying, and the
 * rules arriving through an apps file and the default-app environment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hc_apps.h"
#include "hc_history.h"

static hc_history *parse(const char *json)
{
    char err[160];
    json_t *arr = json_loads(json, 0, NULL);
    hc_history *h = NULL;
    assert_true(hc_history_from_json(arr, &h, err, sizeof(err)));
    json_decref(arr);
    return h;
}

static void test_match_and_bound(void **state)
{
    (void)state;
    hc_history *h = parse("[{\"prefix\":\"chat-\",\"size\":1000,\"ttl\":3600,"
                          "\"rewindOnSubscribe\":10},{\"prefix\":\"chat-vip-\",\"ttl\":60}]");
    assert_int_equal(h->n, 2);
    const hc_history_rule *r = hc_history_match(h, "chat-1");
    assert_non_null(r);
    assert_int_equal(r->rewind, 10);
    assert_string_equal(hc_history_match(h, "chat-vip-2")->prefix, "chat-vip-");
    assert_null(hc_history_match(h, "other"));
    uint32_t size, ttl;
    hc_history_bound(h, "chat-1", &size, &ttl);
    assert_int_equal(size, 1000);
    assert_int_equal(ttl, 3600);
    hc_history_bound(h, "other", &size, &ttl);
    assert_int_equal(size, 0);
    assert_int_equal(ttl, 0);
    hc_history_bound(NULL, "cache-x", &size, &ttl);
    assert_int_equal(ttl, HC_HISTORY_CACHE_TTL);
    hc_history_bound(NULL, "private-cache-x", &size, &ttl);
    assert_int_equal(ttl, HC_HISTORY_CACHE_TTL);
    hc_history *c = hc_history_copy(h);
    hc_history_free(h);
    assert_string_equal(hc_history_match(c, "chat-x")->prefix, "chat-");
    hc_history_free(c);
}

static void test_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {"{}", "[{\"size\":1}]", "[{\"prefix\":\"a\",\"size\":-1}]",
                                      "[{\"prefix\":\"a\",\"ttl\":\"x\"}]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        char err[160] = "";
        json_t *arr = json_loads(bad[i], 0, NULL);
        hc_history *h = NULL;
        assert_false(hc_history_from_json(arr, &h, err, sizeof(err)));
        assert_null(h);
        assert_true(strlen(err) > 0);
        json_decref(arr);
    }
    hc_history *h = (hc_history *)1;
    char err[16];
    assert_true(hc_history_from_json(NULL, &h, err, sizeof(err)));
    assert_null(h);
}

static const char *env_history(const char *name)
{
    return strcmp(name, "HERALD_DEFAULT_APP_HISTORY") == 0 ? "[{\"prefix\":\"x-\",\"size\":3}]"
                                                           : NULL;
}

static void test_through_apps(void **state)
{
    (void)state;
    char err[256];
    hc_apps *apps = hc_apps_new();
    const char json[] = "{\"apps\":[{\"id\":\"1\",\"key\":\"k\",\"secret\":\"s\","
                        "\"history\":[{\"prefix\":\"chat-\",\"rewindOnSubscribe\":2}]}]}";
    assert_int_equal(hc_apps_load_json(apps, json, strlen(json), err, sizeof(err)), 1);
    const hc_app *a = hc_apps_by_id(apps, "1");
    assert_int_equal(hc_history_match(a->history, "chat-a")->rewind, 2);
    const char badj[] = "[{\"id\":\"2\",\"key\":\"k2\",\"secret\":\"s\",\"history\":5}]";
    assert_int_equal(hc_apps_load_json(apps, badj, strlen(badj), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "history"));
    assert_int_equal(hc_apps_load_default(apps, env_history, err, sizeof(err)), 0);
    assert_int_equal(hc_history_match(hc_apps_by_id(apps, "app-id")->history, "x-1")->size, 3);
    hc_apps_free(apps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_and_bound),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_through_apps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
