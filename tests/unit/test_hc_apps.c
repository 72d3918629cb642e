/* Unit tests for hc_apps: the JSON forms with Soketi's field names, errors
 * (bad JSON, duplicates, bad fields; nothing added on error), the default
 * app from the environment, lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
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

static int load(hc_apps *apps, const char *json, char *err)
{
    err[0] = '\0';
    return hc_apps_load_json(apps, json, strlen(json), err, 256);
}

static void test_defaults(void **state)
{
    (void)state;
    hc_app a;
    hc_app_defaults(&a);
    assert_null(a.id);
    assert_true(a.enabled);
    assert_int_equal(a.max_connections, -1);
    assert_int_equal(a.max_channel_name_len, 200);
    assert_int_equal(a.max_event_channels, 100);
    assert_int_equal(a.max_event_name_len, 200);
    assert_int_equal(a.max_payload_bytes, 10240);
    assert_int_equal(a.max_batch_size, 10);
}

static void test_object_form_all_fields(void **state)
{
    (void)state;
    hc_apps *apps = hc_apps_new();
    char err[256];
    const char *json = "{\"apps\":[{\"id\":\"1\",\"key\":\"k1\",\"secret\":\"s1\","
                       "\"enabled\":false,\"maxConnections\":50,\"maxEventPayloadInKb\":20,"
                       "\"maxEventNameLength\":64,\"maxEventChannelsAtOnce\":5,"
                       "\"maxEventBatchSize\":3,\"maxChannelNameLength\":150,"
                       "\"enableClientMessages\":true,\"webhooks\":[]},"
                       "{\"id\":\"2\",\"key\":\"k2\",\"secret\":\"s2\"}]}";
    assert_int_equal(load(apps, json, err), 2);
    assert_int_equal(hc_apps_count(apps), 2);
    const hc_app *a = hc_apps_by_id(apps, "1");
    assert_non_null(a);
    assert_string_equal(a->key, "k1");
    assert_string_equal(a->secret, "s1");
    assert_false(a->enabled);
    assert_int_equal(a->max_connections, 50);
    assert_int_equal(a->max_payload_bytes, 20 * 1024);
    assert_int_equal(a->max_event_name_len, 64);
    assert_int_equal(a->max_event_channels, 5);
    assert_int_equal(a->max_batch_size, 3);
    assert_int_equal(a->max_channel_name_len, 150);
    const hc_app *b = hc_apps_by_key(apps, "k2");
    assert_non_null(b);
    assert_string_equal(b->id, "2");
    assert_true(b->enabled);
    assert_int_equal(b->max_payload_bytes, 10240); /* defaults */
    assert_int_equal(b->max_connections, -1);
    assert_ptr_equal(hc_apps_at(apps, 0), a);
    assert_ptr_equal(hc_apps_at(apps, 1), b);
    assert_null(hc_apps_at(apps, 2));
    hc_apps_free(apps);
}

static void test_bare_array_and_soketi_value_forms(void **state)
{
    (void)state;
    hc_apps *apps = hc_apps_new();
    char err[256];
    /* Soketi accepts limits as strings or numbers; ids may be numbers */
    const char *json = "[{\"id\":42,\"key\":\"k\",\"secret\":\"s\",\"maxConnections\":\"-1\","
                       "\"maxEventPayloadInKb\":\"0.5\",\"enabled\":\"true\","
                       "\"maxEventBatchSize\":-1}]";
    assert_int_equal(load(apps, json, err), 1);
    const hc_app *a = hc_apps_by_id(apps, "42");
    assert_non_null(a);
    assert_int_equal(a->max_connections, -1);
    assert_int_equal(a->max_payload_bytes, 512);
    assert_true(a->enabled);
    assert_int_equal(a->max_batch_size, SIZE_MAX);
    assert_int_equal(load(apps, "[]", err), 0);
    assert_int_equal(hc_apps_count(apps), 1);
    hc_apps_free(apps);
}

/* A limit too large for its field is clamped, never converted out of range
 * (found by fuzz_hc_apps: undefined behaviour before). */
static void test_huge_limits_clamp(void **state)
{
    (void)state;
    hc_apps *apps = hc_apps_new();
    char err[256];
    const char *json = "[{\"id\":\"a\",\"key\":\"k\",\"secret\":\"s\","
                       "\"maxConnections\":\"1e77\",\"maxClientEventsPerSecond\":1e300,"
                       "\"maxEventBatchSize\":\"1e40\"}]";
    assert_int_equal(load(apps, json, err), 1);
    const hc_app *a = hc_apps_by_id(apps, "a");
    assert_non_null(a);
    assert_int_equal(a->max_connections, LONG_MAX);
    assert_int_equal(a->max_client_events_per_sec, LONG_MAX);
    assert_int_equal(a->max_batch_size, SIZE_MAX);
    hc_apps_free(apps);
}

static void test_bad_json(void **state)
{
    (void)state;
    hc_apps *apps = hc_apps_new();
    char err[256];
    assert_int_equal(load(apps, "{\"apps\":[{\"id\":\"1\",}]}", err), -1);
    assert_non_null(strstr(err, "invalid JSON"));
    assert_non_null(strstr(err, "line 1"));
    assert_int_equal(load(apps, "{\"nope\":[]}", err), -1);
    assert_non_null(strstr(err, "apps"));
    assert_int_equal(load(apps, "\"str\"", err), -1);
    assert_int_equal(hc_apps_count(apps), 0);
    hc_apps_free(apps);
}

static void test_bad_fields(void **state)
{
    (void)state;
    hc_apps *apps = hc_apps_new();
    char err[256];
    assert_int_equal(load(apps, "[{\"id\":\"1\",\"key\":\"k\"}]", err), -1);
    assert_non_null(strstr(err, "secret"));
    assert_int_equal(load(apps, "[{\"id\":\"1\",\"key\":\"\",\"secret\":\"s\"}]", err), -1);
    assert_non_null(strstr(err, "key"));
    assert_int_equal(load(apps,
                          "[{\"id\":\"1\",\"key\":\"k\",\"secret\":\"s\",\"maxConnections\":"
                          "\"lots\"}]",
                          err),
                     -1);
    assert_non_null(strstr(err, "maxConnections"));
    assert_int_equal(
        load(apps, "[{\"id\":\"1\",\"key\":\"k\",\"secret\":\"s\",\"enabled\":\"maybe\"}]", err),
        -1);
    assert_non_null(strstr(err, "enabled"));
    assert_int_equal(load(apps, "[1]", err), -1);
    assert_int_equal(hc_apps_count(apps), 0);
    hc_apps_free(apps);
}

static void test_duplicates(void **state)
{
    (void)state;
    hc_apps *apps = hc_apps_new();
    char err[256];
    /* within one document: nothing is added */
    assert_int_equal(load(apps,
                          "[{\"id\":\"1\",\"key\":\"a\",\"secret\":\"s\"},"
                          "{\"id\":\"1\",\"key\":\"b\",\"secret\":\"s\"}]",
                          err),
                     -1);
    assert_non_null(strstr(err, "duplicate app id '1'"));
    assert_int_equal(hc_apps_count(apps), 0);
    assert_null(hc_apps_by_key(apps, "a"));
    assert_int_equal(load(apps,
                          "[{\"id\":\"1\",\"key\":\"a\",\"secret\":\"s\"},"
                          "{\"id\":\"2\",\"key\":\"a\",\"secret\":\"s\"}]",
                          err),
                     -1);
    assert_non_null(strstr(err, "duplicate app key 'a'"));
    assert_int_equal(hc_apps_count(apps), 0);
    /* against apps already loaded */
    assert_int_equal(load(apps, "[{\"id\":\"1\",\"key\":\"a\",\"secret\":\"s\"}]", err), 1);
    assert_int_equal(load(apps,
                          "[{\"id\":\"3\",\"key\":\"c\",\"secret\":\"s\"},"
                          "{\"id\":\"4\",\"key\":\"a\",\"secret\":\"s\"}]",
                          err),
                     -1);
    assert_int_equal(hc_apps_count(apps), 1);
    assert_null(hc_apps_by_id(apps, "3"));
    hc_apps_free(apps);
}

static void test_add(void **state)
{
    (void)state;
    hc_apps *apps = hc_apps_new();
    hc_app a;
    hc_app_defaults(&a);
    char id[] = "x", key[] = "kx", secret[] = "sx";
    a.id = id;
    a.key = key;
    a.secret = secret;
    a.max_connections = 7;
    assert_int_equal(hc_apps_add(apps, &a), 0);
    id[0] = 'y'; /* the registry holds copies */
    const hc_app *got = hc_apps_by_id(apps, "x");
    assert_non_null(got);
    assert_ptr_not_equal(got->id, a.id);
    assert_int_equal(got->max_connections, 7);
    a.id = "x";
    a.key = "other";
    assert_int_equal(hc_apps_add(apps, &a), -1);
    a.id = "z";
    a.key = "kx";
    assert_int_equal(hc_apps_add(apps, &a), -1);
    assert_int_equal(hc_apps_count(apps), 1);
    assert_null(hc_apps_by_id(apps, NULL));
    assert_null(hc_apps_by_key(apps, "nope"));
    hc_apps_free(apps);
}

static void test_default_app_fallbacks(void **state)
{
    (void)state;
    char err[256];
    hc_apps *apps = hc_apps_new();
    env_pairs = NULL;
    assert_int_equal(hc_apps_load_default(apps, fake_getenv, err, sizeof err), 0);
    const hc_app *a = hc_apps_by_key(apps, "app-key");
    assert_non_null(a);
    assert_string_equal(a->id, "app-id");
    assert_string_equal(a->secret, "app-secret");
    assert_true(a->enabled);
    /* a second default app clashes */
    assert_int_equal(hc_apps_load_default(apps, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "app-id"));
    hc_apps_free(apps);

    apps = hc_apps_new();
    const char *soketi[] = {"SOKETI_DEFAULT_APP_ID",
                            "sid",
                            "SOKETI_DEFAULT_APP_KEY",
                            "skey",
                            "SOKETI_DEFAULT_APP_SECRET",
                            "ssecret",
                            "SOKETI_DEFAULT_APP_MAX_CONNECTIONS",
                            "10",
                            NULL};
    env_pairs = soketi;
    assert_int_equal(hc_apps_load_default(apps, fake_getenv, err, sizeof err), 0);
    a = hc_apps_by_id(apps, "sid");
    assert_non_null(a);
    assert_string_equal(a->key, "skey");
    assert_string_equal(a->secret, "ssecret");
    assert_int_equal(a->max_connections, 10);
    hc_apps_free(apps);
}

static void test_default_app_herald_wins(void **state)
{
    (void)state;
    char err[256];
    hc_apps *apps = hc_apps_new();
    const char *both[] = {"SOKETI_DEFAULT_APP_ID",
                          "sid",
                          "HERALD_DEFAULT_APP_ID",
                          "hid",
                          "SOKETI_DEFAULT_APP_KEY",
                          "skey",
                          "HERALD_DEFAULT_APP_ENABLED",
                          "false",
                          "SOKETI_DEFAULT_APP_ENABLED",
                          "true",
                          "HERALD_DEFAULT_APP_MAX_EVENT_PAYLOAD_IN_KB",
                          "100",
                          "SOKETI_DEFAULT_APP_MAX_EVENT_BATCH_SIZE",
                          "20",
                          NULL};
    env_pairs = both;
    assert_int_equal(hc_apps_load_default(apps, fake_getenv, err, sizeof err), 0);
    const hc_app *a = hc_apps_by_id(apps, "hid");
    assert_non_null(a);
    assert_null(hc_apps_by_id(apps, "sid"));
    assert_string_equal(a->key, "skey"); /* per field: Soketi's when Herald's is absent */
    assert_string_equal(a->secret, "app-secret");
    assert_false(a->enabled);
    assert_int_equal(a->max_payload_bytes, 100 * 1024);
    assert_int_equal(a->max_batch_size, 20);
    hc_apps_free(apps);
}

static void test_default_app_bad_value(void **state)
{
    (void)state;
    char err[256];
    hc_apps *apps = hc_apps_new();
    const char *bad[] = {"HERALD_DEFAULT_APP_MAX_CONNECTIONS", "many", NULL};
    env_pairs = bad;
    assert_int_equal(hc_apps_load_default(apps, fake_getenv, err, sizeof err), -1);
    assert_non_null(strstr(err, "HERALD_DEFAULT_APP_MAX_CONNECTIONS"));
    assert_int_equal(hc_apps_count(apps), 0);
    hc_apps_free(apps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_object_form_all_fields),
        cmocka_unit_test(test_bare_array_and_soketi_value_forms),
        cmocka_unit_test(test_huge_limits_clamp),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_bad_fields),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_add),
        cmocka_unit_test(test_default_app_fallbacks),
        cmocka_unit_test(test_default_app_herald_wins),
        cmocka_unit_test(test_default_app_bad_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
