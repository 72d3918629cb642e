/* Unit tests for hc_channel: name validation, length limit, type and cache
 * detection (anchored, longest prefix first). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hc_channel.h"

static bool valid(const char *name)
{
    const char *why = NULL;
    bool ok = hc_channel_valid(name, HC_CHANNEL_MAX_LEN_DEFAULT, &why);
    if (!ok)
        assert_non_null(why);
    return ok;
}

static void test_valid_names(void **state)
{
    (void)state;
    const char *good[] = {"a",
                          "my-channel",
                          "private-foo",
                          "presence-room.1",
                          "private-encrypted-x",
                          "cache-x",
                          "ABCxyz019_-=@,.;",
                          "private-user=42@example.com,team;a.b"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(valid(good[i]));
}

static void test_invalid_characters(void **state)
{
    (void)state;
    const char *bad[] = {"has space", "slash/x",    "colon:x",   "star*",  "quote\"", "tab\tx",
                         "é",         "percent%20", "new\nline", "plus+x", "bang!",   "brace{"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(valid(bad[i]));
}

static void test_hash_and_empty_refused(void **state)
{
    (void)state;
    assert_false(valid("#server-to-user-1"));
    assert_false(valid("foo#bar"));
    assert_false(valid(""));
    assert_false(hc_channel_valid(NULL, 200, NULL));
}

static void test_length_limit(void **state)
{
    (void)state;
    char name[202];
    memset(name, 'a', sizeof name);
    name[200] = '\0';
    assert_true(valid(name));
    name[200] = 'a';
    name[201] = '\0';
    const char *why = NULL;
    assert_false(hc_channel_valid(name, HC_CHANNEL_MAX_LEN_DEFAULT, &why));
    assert_non_null(strstr(why, "long"));
    /* a per-app limit */
    assert_true(hc_channel_valid("abcde", 5, NULL));
    assert_false(hc_channel_valid("abcdef", 5, NULL));
}

static void test_types(void **state)
{
    (void)state;
    assert_int_equal(hc_channel_type_of("foo"), HC_CH_PUBLIC);
    assert_int_equal(hc_channel_type_of("private-foo"), HC_CH_PRIVATE);
    assert_int_equal(hc_channel_type_of("presence-foo"), HC_CH_PRESENCE);
    assert_int_equal(hc_channel_type_of("private-encrypted-foo"), HC_CH_PRIVATE_ENCRYPTED);
    assert_int_equal(hc_channel_type_of("private-encrypted"), HC_CH_PRIVATE);
    assert_int_equal(hc_channel_type_of("#server-to-user-42"), HC_CH_SERVER_USER);
    assert_int_equal(hc_channel_type_of("private-cache-foo"), HC_CH_PRIVATE);
    assert_int_equal(hc_channel_type_of("presence-cache-foo"), HC_CH_PRESENCE);
    assert_int_equal(hc_channel_type_of("private-encrypted-cache-foo"), HC_CH_PRIVATE_ENCRYPTED);
}

static void test_types_anchored(void **state)
{
    (void)state;
    assert_int_equal(hc_channel_type_of("xprivate-foo"), HC_CH_PUBLIC);
    assert_int_equal(hc_channel_type_of("foo-private-x"), HC_CH_PUBLIC);
    assert_int_equal(hc_channel_type_of("private"), HC_CH_PUBLIC);
    assert_int_equal(hc_channel_type_of("presence"), HC_CH_PUBLIC);
    assert_int_equal(hc_channel_type_of("Private-foo"), HC_CH_PUBLIC);
    assert_int_equal(hc_channel_type_of("x#server-to-user-1"), HC_CH_PUBLIC);
    assert_int_equal(hc_channel_type_of(""), HC_CH_PUBLIC);
}

static void test_cache(void **state)
{
    (void)state;
    assert_true(hc_channel_is_cache("cache-x"));
    assert_true(hc_channel_is_cache("private-cache-x"));
    assert_true(hc_channel_is_cache("presence-cache-x"));
    assert_true(hc_channel_is_cache("private-encrypted-cache-x"));
    assert_false(hc_channel_is_cache("cache"));
    assert_false(hc_channel_is_cache("xcache-x"));
    assert_false(hc_channel_is_cache("private-x-cache-y"));
    assert_false(hc_channel_is_cache("private-encrypted-x"));
    assert_false(hc_channel_is_cache("public"));
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(hc_channel_type_name(HC_CH_PUBLIC), "public");
    assert_string_equal(hc_channel_type_name(HC_CH_PRIVATE), "private");
    assert_string_equal(hc_channel_type_name(HC_CH_PRESENCE), "presence");
    assert_string_equal(hc_channel_type_name(HC_CH_PRIVATE_ENCRYPTED), "private-encrypted");
    assert_string_equal(hc_channel_type_name(HC_CH_SERVER_USER), "server-to-user");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_names),
        cmocka_unit_test(test_invalid_characters),
        cmocka_unit_test(test_hash_and_empty_refused),
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_types_anchored),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
