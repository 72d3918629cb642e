/* Unit tests for hc_query: percent decoding, '+', bad escapes, empty
 * values, duplicate keys, already-decoded additions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hc_query.h"

static int parse(hc_query *q, const char *raw)
{
    return hc_query_parse(q, raw, strlen(raw));
}

static void test_simple(void **state)
{
    (void)state;
    hc_query q = HC_QUERY_INIT;
    assert_int_equal(parse(&q, "a=1&bb=two&c=3"), 0);
    assert_int_equal(q.n, 3);
    assert_string_equal(hc_query_get(&q, "a"), "1");
    assert_string_equal(hc_query_get(&q, "bb"), "two");
    assert_string_equal(hc_query_get(&q, "c"), "3");
    assert_null(hc_query_get(&q, "b"));
    assert_null(hc_query_get(&q, "A"));
    /* order kept */
    assert_string_equal(q.items[1].key, "bb");
    hc_query_free(&q);
    assert_int_equal(q.n, 0);
    assert_null(q.items);
}

static void test_percent_decoding(void **state)
{
    (void)state;
    hc_query q = HC_QUERY_INIT;
    assert_int_equal(parse(&q, "na%6De=a%20b%2Cc%26d%3De&x%2By=%e2%82%AC"), 0);
    assert_string_equal(hc_query_get(&q, "name"), "a b,c&d=e");
    assert_string_equal(hc_query_get(&q, "x+y"), "\xe2\x82\xac");
    hc_query_free(&q);
}

static void test_plus_is_space(void **state)
{
    (void)state;
    hc_query q = HC_QUERY_INIT;
    assert_int_equal(parse(&q, "q=hello+world&k+k=%2B"), 0);
    assert_string_equal(hc_query_get(&q, "q"), "hello world");
    assert_string_equal(hc_query_get(&q, "k k"), "+");
    hc_query_free(&q);
}

static void test_invalid_escape(void **state)
{
    (void)state;
    const char *bad[] = {"a=%", "a=%4", "a=%zz", "a=%4g", "%=1", "a=%00", "a=1%"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hc_query q = HC_QUERY_INIT;
        assert_int_equal(parse(&q, bad[i]), -1);
        hc_query_free(&q);
    }
    /* what came before the bad pair is kept */
    hc_query q = HC_QUERY_INIT;
    assert_int_equal(parse(&q, "ok=1&bad=%G0&later=2"), -1);
    assert_string_equal(hc_query_get(&q, "ok"), "1");
    assert_null(hc_query_get(&q, "bad"));
    assert_null(hc_query_get(&q, "later"));
    hc_query_free(&q);
}

static void test_empty_values(void **state)
{
    (void)state;
    hc_query q = HC_QUERY_INIT;
    assert_int_equal(parse(&q, "a=&b&&c=3&=v&"), 0);
    assert_string_equal(hc_query_get(&q, "a"), "");
    assert_string_equal(hc_query_get(&q, "b"), "");
    assert_string_equal(hc_query_get(&q, "c"), "3");
    assert_string_equal(hc_query_get(&q, ""), "v");
    assert_int_equal(q.n, 4); /* empty pieces between '&' are skipped */
    hc_query_free(&q);
    assert_int_equal(parse(&q, ""), 0);
    assert_int_equal(q.n, 0);
    hc_query_free(&q);
}

static void test_value_with_equals(void **state)
{
    (void)state;
    hc_query q = HC_QUERY_INIT;
    assert_int_equal(parse(&q, "a=b=c"), 0);
    assert_string_equal(hc_query_get(&q, "a"), "b=c");
    hc_query_free(&q);
}

static void test_duplicates_first_wins(void **state)
{
    (void)state;
    hc_query q = HC_QUERY_INIT;
    assert_int_equal(parse(&q, "k=first&k=second"), 0);
    assert_int_equal(q.n, 2);
    assert_string_equal(hc_query_get(&q, "k"), "first");
    assert_string_equal(q.items[1].value, "second");
    hc_query_free(&q);
}

static void test_length_bounded(void **state)
{
    (void)state;
    hc_query q = HC_QUERY_INIT;
    const char *raw = "a=1&b=2";
    assert_int_equal(hc_query_parse(&q, raw, 5), 0); /* "a=1&b" */
    assert_string_equal(hc_query_get(&q, "b"), "");
    hc_query_free(&q);
}

static void test_add_not_decoded(void **state)
{
    (void)state;
    hc_query q = HC_QUERY_INIT;
    hc_query_add(&q, "k%41", 4, "a+b%20", 6);
    hc_query_add_pair(&q, "x=y=z", 5);
    hc_query_add_pair(&q, "flag", 4);
    hc_query_add_pair(&q, "p=%zz&", 5);
    assert_string_equal(hc_query_get(&q, "k%41"), "a+b%20");
    assert_string_equal(hc_query_get(&q, "x"), "y=z");
    assert_string_equal(hc_query_get(&q, "flag"), "");
    assert_string_equal(hc_query_get(&q, "p"), "%zz");
    hc_query_free(&q);
}

static void test_many(void **state)
{
    (void)state;
    hc_query q = HC_QUERY_INIT;
    for (int i = 0; i < 100; i++) {
        char kv[32];
        int n = snprintf(kv, sizeof kv, "k%d=v%d", i, i);
        hc_query_add_pair(&q, kv, (size_t)n);
    }
    assert_int_equal(q.n, 100);
    assert_string_equal(hc_query_get(&q, "k0"), "v0");
    assert_string_equal(hc_query_get(&q, "k99"), "v99");
    hc_query_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple),
        cmocka_unit_test(test_percent_decoding),
        cmocka_unit_test(test_plus_is_space),
        cmocka_unit_test(test_invalid_escape),
        cmocka_unit_test(test_empty_values),
        cmocka_unit_test(test_value_with_equals),
        cmocka_unit_test(test_duplicates_first_wins),
        cmocka_unit_test(test_length_bounded),
        cmocka_unit_test(test_add_not_decoded),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
