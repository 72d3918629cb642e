/* Unit tests for hc_api_auth: Pusher's documented HTTP API signing example
 * (checked independently with Python's hmac/hashlib) and every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hc_api_auth.h"
#include "hc_sig.h"

#define KEY "278d425bdf160c739803"
#define SECRET "7ad3773142a6692b25b8"
#define TS 1353088179
#define BODY                                                                                       \
    "{\"name\":\"foo\",\"channels\":[\"project-3\"],\"data\":\"{\\\"some\\\":\\\"data\\\"}\"}"
#define BODY_MD5 "ec365a775a4cd0599faeb73354201b6f"
#define SIG "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
#define PATH "/apps/3/events"
#define BASE_QUERY "auth_key=" KEY "&auth_timestamp=1353088179&auth_version=1.0&body_md5=" BODY_MD5

static hc_app test_app(void)
{
    hc_app a;
    hc_app_defaults(&a);
    a.id = "3";
    a.key = KEY;
    a.secret = SECRET;
    return a;
}

/* Checks raw query + body at time now; returns the result. */
static hc_auth_result check(const char *raw, const char *body, int64_t now)
{
    hc_app app = test_app();
    hc_query q = HC_QUERY_INIT;
    assert_int_equal(hc_query_parse(&q, raw, strlen(raw)), 0);
    const char *why = "unset";
    hc_auth_result r =
        hc_api_auth_check(&app, "POST", PATH, &q, body, body ? strlen(body) : 0, now, &why);
    if (r == HC_AUTH_OK)
        assert_null(why);
    else
        assert_true(why != NULL && strlen(why) > 5);
    hc_query_free(&q);
    return r;
}

/* Signs raw (no auth_signature yet) for POST PATH and returns the full
 * query in out. */
static void sign(const char *raw, char *out, size_t outlen)
{
    hc_query q = HC_QUERY_INIT;
    assert_int_equal(hc_query_parse(&q, raw, strlen(raw)), 0);
    char *s = hc_api_auth_string("POST", PATH, &q);
    char sig[HC_SHA256_HEX_LEN + 1];
    hc_hmac_sha256_hex(SECRET, strlen(SECRET), s, strlen(s), sig);
    snprintf(out, outlen, "%s&auth_signature=%s", raw, sig);
    free(s);
    hc_query_free(&q);
}

static void test_body_md5_matches_docs(void **state)
{
    (void)state;
    char md5[HC_MD5_HEX_LEN + 1];
    hc_md5_hex(BODY, strlen(BODY), md5);
    assert_string_equal(md5, BODY_MD5);
}

static void test_string_to_sign(void **state)
{
    (void)state;
    hc_query q = HC_QUERY_INIT;
    const char *raw = "body_md5=" BODY_MD5 "&auth_version=1.0&auth_key=" KEY "&auth_signature=" SIG
                      "&auth_timestamp=1353088179";
    assert_int_equal(hc_query_parse(&q, raw, strlen(raw)), 0);
    char *s = hc_api_auth_string("POST", PATH, &q);
    assert_string_equal(s, "POST\n" PATH "\n" BASE_QUERY);
    char sig[HC_SHA256_HEX_LEN + 1];
    hc_hmac_sha256_hex(SECRET, strlen(SECRET), s, strlen(s), sig);
    assert_string_equal(sig, SIG);
    free(s);
    hc_query_free(&q);
}

static void test_documented_example_ok(void **state)
{
    (void)state;
    assert_int_equal(check(BASE_QUERY "&auth_signature=" SIG, BODY, TS), HC_AUTH_OK);
    /* parameter order on the wire does not matter */
    assert_int_equal(check("auth_signature=" SIG "&body_md5=" BODY_MD5
                           "&auth_version=1.0&auth_timestamp=1353088179&auth_key=" KEY,
                           BODY, TS + 10),
                     HC_AUTH_OK);
}

static void test_window(void **state)
{
    (void)state;
    const char *q = BASE_QUERY "&auth_signature=" SIG;
    assert_int_equal(check(q, BODY, TS + 600), HC_AUTH_OK);
    assert_int_equal(check(q, BODY, TS - 600), HC_AUTH_OK);
    assert_int_equal(check(q, BODY, TS + 601), HC_AUTH_STALE);
    assert_int_equal(check(q, BODY, TS - 601), HC_AUTH_STALE);
    assert_int_equal(check(q, BODY, TS + 86400), HC_AUTH_STALE);
}

static void test_timestamp_not_a_number(void **state)
{
    (void)state;
    char q[512];
    sign("auth_key=" KEY "&auth_timestamp=1353088179x&auth_version=1.0&body_md5=" BODY_MD5, q,
         sizeof q);
    assert_int_equal(check(q, BODY, TS), HC_AUTH_STALE);
}

static void test_wrong_body(void **state)
{
    (void)state;
    const char *q = BASE_QUERY "&auth_signature=" SIG;
    assert_int_equal(check(q, BODY " ", TS), HC_AUTH_BAD_BODY_MD5);
    /* body_md5 absent with a body (signature otherwise valid) */
    char q2[512];
    sign("auth_key=" KEY "&auth_timestamp=1353088179&auth_version=1.0", q2, sizeof q2);
    assert_int_equal(check(q2, BODY, TS), HC_AUTH_BAD_BODY_MD5);
    /* but fine without a body (a GET) */
    assert_int_equal(check(q2, NULL, TS), HC_AUTH_OK);
}

static void test_missing_params(void **state)
{
    (void)state;
    const char *missing[] = {
        "auth_timestamp=1353088179&auth_version=1.0&body_md5=" BODY_MD5 "&auth_signature=" SIG,
        "auth_key=" KEY "&auth_version=1.0&body_md5=" BODY_MD5 "&auth_signature=" SIG,
        "auth_key=" KEY "&auth_timestamp=1353088179&body_md5=" BODY_MD5 "&auth_signature=" SIG,
        BASE_QUERY,
        "",
    };
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++)
        assert_int_equal(check(missing[i], BODY, TS), HC_AUTH_MISSING);
}

static void test_wrong_key(void **state)
{
    (void)state;
    char q[512];
    sign("auth_key=278d425bdf160c739804&auth_timestamp=1353088179&auth_version=1.0&body_"
         "md5=" BODY_MD5,
         q, sizeof q);
    assert_int_equal(check(q, BODY, TS), HC_AUTH_BAD_KEY);
}

static void test_bad_version(void **state)
{
    (void)state;
    char q[512];
    sign("auth_key=" KEY "&auth_timestamp=1353088179&auth_version=2.0&body_md5=" BODY_MD5, q,
         sizeof q);
    assert_int_equal(check(q, BODY, TS), HC_AUTH_BAD_VERSION);
}

static void test_bad_signature(void **state)
{
    (void)state;
    /* last digit changed */
    assert_int_equal(check(BASE_QUERY "&auth_signature="
                                      "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f4"
                                      "57e6d",
                           BODY, TS),
                     HC_AUTH_BAD_SIGNATURE);
    /* an extra parameter changes the string to sign */
    assert_int_equal(check(BASE_QUERY "&info=user_count&auth_signature=" SIG, BODY, TS),
                     HC_AUTH_BAD_SIGNATURE);
    /* truncated */
    assert_int_equal(check(BASE_QUERY "&auth_signature=da45", BODY, TS), HC_AUTH_BAD_SIGNATURE);
    /* a different path */
    hc_app app = test_app();
    hc_query q = HC_QUERY_INIT;
    const char *raw = BASE_QUERY "&auth_signature=" SIG;
    hc_query_parse(&q, raw, strlen(raw));
    assert_int_equal(
        hc_api_auth_check(&app, "POST", "/apps/4/events", &q, BODY, strlen(BODY), TS, NULL),
        HC_AUTH_BAD_SIGNATURE);
    assert_int_equal(hc_api_auth_check(&app, "GET", PATH, &q, BODY, strlen(BODY), TS, NULL),
                     HC_AUTH_BAD_SIGNATURE);
    hc_query_free(&q);
}

static void test_upper_case_keys_lowered(void **state)
{
    (void)state;
    hc_query q = HC_QUERY_INIT;
    const char *raw =
        "AUTH_KEY=" KEY "&Auth_Timestamp=1353088179&auth_version=1.0&BODY_MD5=" BODY_MD5
        "&AUTH_SIGNATURE=" SIG;
    assert_int_equal(hc_query_parse(&q, raw, strlen(raw)), 0);
    char *s = hc_api_auth_string("POST", PATH, &q);
    assert_string_equal(s, "POST\n" PATH "\n" BASE_QUERY);
    free(s);
    hc_query_free(&q);
    assert_int_equal(check(raw, BODY, TS), HC_AUTH_OK);
}

static void test_values_decoded_before_signing(void **state)
{
    (void)state;
    /* sign with the decoded value "a b,c", send it encoded */
    hc_query dec = HC_QUERY_INIT;
    const char *plain[][2] = {{"auth_key", KEY},
                              {"auth_timestamp", "1353088179"},
                              {"auth_version", "1.0"},
                              {"body_md5", BODY_MD5},
                              {"info", "a b,c&d=e"}};
    for (size_t i = 0; i < 5; i++)
        hc_query_add(&dec, plain[i][0], strlen(plain[i][0]), plain[i][1], strlen(plain[i][1]));
    char *s = hc_api_auth_string("POST", PATH, &dec);
    assert_string_equal(s, "POST\n" PATH "\n" BASE_QUERY "&info=a b,c&d=e");
    char sig[HC_SHA256_HEX_LEN + 1], raw[512];
    hc_hmac_sha256_hex(SECRET, strlen(SECRET), s, strlen(s), sig);
    free(s);
    hc_query_free(&dec);
    snprintf(raw, sizeof raw, "%s&info=a+b%%2Cc%%26d%%3De&auth_signature=%s", BASE_QUERY, sig);
    assert_int_equal(check(raw, BODY, TS), HC_AUTH_OK);
    snprintf(raw, sizeof raw, "%s&info=a%%20b%%2cc%%26d%%3de&auth_signature=%s", BASE_QUERY, sig);
    assert_int_equal(check(raw, BODY, TS), HC_AUTH_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_md5_matches_docs),
        cmocka_unit_test(test_string_to_sign),
        cmocka_unit_test(test_documented_example_ok),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_timestamp_not_a_number),
        cmocka_unit_test(test_wrong_body),
        cmocka_unit_test(test_missing_params),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_bad_version),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_upper_case_keys_lowered),
        cmocka_unit_test(test_values_decoded_before_signing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
