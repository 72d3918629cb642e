/*
 * Unit tests for apps from Redis: hc_apps_view applying the answers of the
 * "apps" cluster call to a registry (added, changed in place, disabled,
 * removed and revived; the registry's own apps never touched; bad entries
 * skipped, a good app keeping its last good settings; an unchanged version
 * changes nothing) and hc_apps_put / hc_apps_remove underneath (stable
 * pointers, key clashes). Owns nothing but fixtures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hc_apps_view.h"
#include "hc_apps.h"

typedef struct seen {
    int added, changed, removed;
    const hc_app *last;
} seen;

static void on_change(void *ud, const hc_app *app, hc_app_change what)
{
    seen *s = ud;
    s->last = app;
    if (what == HC_APP_ADDED)
        s->added++;
    else if (what == HC_APP_CHANGED)
        s->changed++;
    else
        s->removed++;
}

static hc_apps *fixture(void)
{
    hc_apps *apps = hc_apps_new();
    char err[256];
    static const char file[] =
        "{\"apps\":[{\"id\":\"file\",\"key\":\"file-key\",\"secret\":\"s\"}]}";
    assert_int_equal(hc_apps_load_json(apps, file, strlen(file), err, sizeof(err)), 1);
    return apps;
}

static bool apply(hc_apps_view *v, hc_apps *apps, const char *json, seen *s)
{
    return hc_apps_view_apply(v, apps, json, strlen(json), on_change, s);
}

static void test_add_change_disable_remove(void **state)
{
    (void)state;
    hc_apps *apps = fixture();
    hc_apps_view *v = hc_apps_view_new(apps);
    seen s = {0};
    assert_int_equal(hc_apps_view_version(v), -1);
    assert_true(apply(v, apps,
                      "{\"version\":\"3\",\"apps\":{\"dyn\":\"{\\\"key\\\":\\\"dyn-key\\\","
                      "\\\"secret\\\":\\\"one\\\",\\\"maxConnections\\\":5}\"}}",
                      &s));
    assert_int_equal(hc_apps_view_version(v), 3);
    assert_int_equal(s.added, 1);
    const hc_app *dyn = hc_apps_by_key(apps, "dyn-key");
    assert_non_null(dyn);
    assert_ptr_equal(dyn, hc_apps_by_id(apps, "dyn")); /* the field is the id */
    assert_string_equal(dyn->secret, "one");
    assert_int_equal(dyn->max_connections, 5);
    assert_int_equal(hc_apps_count(apps), 2);

    /* the same version again: nothing */
    assert_true(apply(v, apps, "{\"version\":\"3\"}", &s));
    assert_int_equal(s.added + s.changed + s.removed, 1);

    /* changed in place (same pointer): new secret, new key, disabled */
    assert_true(apply(v, apps,
                      "{\"version\":\"4\",\"apps\":{\"dyn\":\"{\\\"id\\\":\\\"dyn\\\",\\\"key\\\":"
                      "\\\"dyn-key2\\\",\\\"secret\\\":\\\"two\\\",\\\"enabled\\\":false}\"}}",
                      &s));
    assert_int_equal(s.changed, 1);
    assert_ptr_equal(s.last, dyn);
    assert_string_equal(dyn->secret, "two");
    assert_false(dyn->enabled);
    assert_null(hc_apps_by_key(apps, "dyn-key"));
    assert_ptr_equal(hc_apps_by_key(apps, "dyn-key2"), dyn);

    /* removed: out of the lookups, still valid for its holders */
    assert_true(apply(v, apps, "{\"version\":\"5\",\"apps\":{}}", &s));
    assert_int_equal(s.removed, 1);
    assert_null(hc_apps_by_id(apps, "dyn"));
    assert_null(hc_apps_by_key(apps, "dyn-key2"));
    assert_string_equal(dyn->id, "dyn");
    assert_int_equal(hc_apps_count(apps), 1);
    assert_non_null(hc_apps_by_id(apps, "file"));

    /* back again: the same object, added */
    assert_true(apply(v, apps,
                      "{\"version\":\"6\",\"apps\":{\"dyn\":\"{\\\"key\\\":\\\"k3\\\","
                      "\\\"secret\\\":\\\"three\\\"}\"}}",
                      &s));
    assert_int_equal(s.added, 2);
    assert_ptr_equal(hc_apps_by_id(apps, "dyn"), dyn);
    assert_true(dyn->enabled);
    assert_int_equal(hc_apps_count(apps), 2);
    hc_apps_view_free(v);
    hc_apps_free(apps);
}

static void test_bad_entries_and_fixed_apps(void **state)
{
    (void)state;
    hc_apps *apps = fixture();
    hc_apps_view *v = hc_apps_view_new(apps);
    seen s = {0};
    /* a Redis entry for the file's app, one with a stolen key, one not
     * JSON, one whose id differs from its field; one good */
    assert_true(apply(v, apps,
                      "{\"version\":\"1\",\"apps\":{"
                      "\"file\":\"{\\\"key\\\":\\\"x\\\",\\\"secret\\\":\\\"y\\\",\\\"enabled\\\":"
                      "false}\","
                      "\"thief\":\"{\\\"key\\\":\\\"file-key\\\",\\\"secret\\\":\\\"y\\\"}\","
                      "\"junk\":\"{nope\","
                      "\"liar\":\"{\\\"id\\\":\\\"other\\\",\\\"key\\\":\\\"l\\\",\\\"secret\\\":"
                      "\\\"y\\\"}\","
                      "\"good\":\"{\\\"key\\\":\\\"good-key\\\",\\\"secret\\\":\\\"g\\\"}\"}}",
                      &s));
    assert_int_equal(s.added, 1);
    assert_true(hc_apps_by_id(apps, "file")->enabled);
    assert_string_equal(hc_apps_by_key(apps, "file-key")->id, "file");
    assert_null(hc_apps_by_id(apps, "thief"));
    assert_null(hc_apps_by_id(apps, "junk"));
    assert_null(hc_apps_by_id(apps, "liar"));
    assert_non_null(hc_apps_by_id(apps, "good"));
    /* a good app whose entry turns bad keeps its settings */
    assert_true(
        apply(v, apps, "{\"version\":\"2\",\"apps\":{\"good\":\"{\\\"key\\\":1.5}\"}}", &s));
    assert_string_equal(hc_apps_by_id(apps, "good")->secret, "g");
    assert_int_equal(s.changed + s.removed, 0);
    /* malformed answers change nothing */
    assert_false(apply(v, apps, "[]", &s));
    assert_false(apply(v, apps, "{\"version\":3}", &s));
    assert_false(apply(v, apps, "{\"version\":\"4\",\"apps\":[]}", &s));
    assert_int_equal(hc_apps_view_version(v), 2);
    assert_non_null(hc_apps_by_id(apps, "good"));
    hc_apps_view_free(v);
    hc_apps_free(apps);
}

static void test_hc_apps_put_clash(void **state)
{
    (void)state;
    hc_apps *apps = fixture();
    hc_app a;
    char err[256];
    static const char j[] = "{\"id\":\"n\",\"key\":\"file-key\",\"secret\":\"z\"}";
    assert_true(hc_app_parse_json(j, strlen(j), &a, err, sizeof(err)));
    const hc_app *out = NULL;
    assert_int_equal(hc_apps_put(apps, &a, &out, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "belongs to app 'file'"));
    hc_app_clear(&a);
    assert_false(hc_app_parse_json("{\"id\":1.5}", 10, &a, err, sizeof(err)));
    assert_null(hc_apps_remove(apps, "nothing"));
    hc_apps_free(apps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_change_disable_remove),
        cmocka_unit_test(test_bad_entries_and_fixed_apps),
        cmocka_unit_test(test_hc_apps_put_clash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
