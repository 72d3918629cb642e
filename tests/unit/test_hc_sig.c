/* Unit tests for hc_sig: Pusher's documented signature vectors, auth string
 * checks, MD5 and constant-time comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hc_sig.h"

#define KEY "278d425bdf160c739803"
#define SECRET "7ad3773142a6692b25b8"
#define SOCKET "1234.1234"
#define PRIVATE_SIG "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
#define USER_SIG "4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
#define PRESENCE_SIG "31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80"
#define PRESENCE_DATA "{\"user_id\":10,\"user_info\":{\"name\":\"Mr. Channels\"}}"
#define USER_DATA "{\"id\":\"12345\"}"

static void hmac_hex(const char *msg, char out[HC_SHA256_HEX_LEN + 1])
{
    hc_hmac_sha256_hex(SECRET, strlen(SECRET), msg, strlen(msg), out);
}

static void test_hmac_private_vector(void **state)
{
    (void)state;
    char out[HC_SHA256_HEX_LEN + 1];
    hmac_hex(SOCKET ":private-foobar", out);
    assert_string_equal(out, PRIVATE_SIG);
}

static void test_hmac_user_vector(void **state)
{
    (void)state;
    char out[HC_SHA256_HEX_LEN + 1];
    hmac_hex(SOCKET "::user::" USER_DATA, out);
    assert_string_equal(out, USER_SIG);
}

static void test_hmac_presence_vector(void **state)
{
    (void)state;
    char out[HC_SHA256_HEX_LEN + 1];
    hmac_hex(SOCKET ":presence-foobar:" PRESENCE_DATA, out);
    assert_string_equal(out, PRESENCE_SIG);
}

static void test_channel_ok_private(void **state)
{
    (void)state;
    assert_true(
        hc_sig_channel_ok(KEY, SECRET, SOCKET, "private-foobar", NULL, KEY ":" PRIVATE_SIG));
}

static void test_channel_ok_presence(void **state)
{
    (void)state;
    assert_true(hc_sig_channel_ok(KEY, SECRET, SOCKET, "presence-foobar", PRESENCE_DATA,
                                  KEY ":" PRESENCE_SIG));
    /* channel_data is signed verbatim: a re-serialisation with a space fails */
    assert_false(hc_sig_channel_ok(KEY, SECRET, SOCKET, "presence-foobar",
                                   "{\"user_id\": 10,\"user_info\":{\"name\":\"Mr. Channels\"}}",
                                   KEY ":" PRESENCE_SIG));
    /* and leaving channel_data out fails */
    assert_false(
        hc_sig_channel_ok(KEY, SECRET, SOCKET, "presence-foobar", NULL, KEY ":" PRESENCE_SIG));
}

static void test_channel_rejects_wrong_key(void **state)
{
    (void)state;
    assert_false(hc_sig_channel_ok("other-key", SECRET, SOCKET, "private-foobar", NULL,
                                   KEY ":" PRIVATE_SIG));
    assert_false(hc_sig_channel_ok(KEY, SECRET, SOCKET, "private-foobar", NULL,
                                   "278d425bdf160c73980:" PRIVATE_SIG));
}

static void test_channel_rejects_wrong_sig(void **state)
{
    (void)state;
    /* last hex digit changed */
    assert_false(
        hc_sig_channel_ok(KEY, SECRET, SOCKET, "private-foobar", NULL,
                          KEY ":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a5"));
    /* right signature, wrong socket / channel / secret */
    assert_false(
        hc_sig_channel_ok(KEY, SECRET, "1234.1235", "private-foobar", NULL, KEY ":" PRIVATE_SIG));
    assert_false(
        hc_sig_channel_ok(KEY, SECRET, SOCKET, "private-foobaz", NULL, KEY ":" PRIVATE_SIG));
    assert_false(hc_sig_channel_ok(KEY, "7ad3773142a6692b25b9", SOCKET, "private-foobar", NULL,
                                   KEY ":" PRIVATE_SIG));
    /* upper-case hex is not what the SDKs send */
    assert_false(
        hc_sig_channel_ok(KEY, SECRET, SOCKET, "private-foobar", NULL,
                          KEY ":58DF8B0C36D6982B82C3ECF6B4662E34FE8C25BBA48F5369F135BF843651C3A4"));
}

static void test_channel_rejects_malformed(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        KEY,
        KEY ":",
        ":" PRIVATE_SIG,
        PRIVATE_SIG,
        KEY PRIVATE_SIG,
        KEY "::" PRIVATE_SIG,
        KEY ":" PRIVATE_SIG "0",
        KEY ":58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a",
        KEY ":" PRIVATE_SIG " ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(hc_sig_channel_ok(KEY, SECRET, SOCKET, "private-foobar", NULL, bad[i]));
    assert_false(hc_sig_channel_ok(KEY, SECRET, SOCKET, "private-foobar", NULL, NULL));
}

static void test_user_ok(void **state)
{
    (void)state;
    assert_true(hc_sig_user_ok(KEY, SECRET, SOCKET, USER_DATA, KEY ":" USER_SIG));
    assert_false(hc_sig_user_ok(KEY, SECRET, SOCKET, "{\"id\":\"12346\"}", KEY ":" USER_SIG));
    assert_false(hc_sig_user_ok("x", SECRET, SOCKET, USER_DATA, KEY ":" USER_SIG));
    assert_false(hc_sig_user_ok(KEY, SECRET, SOCKET, USER_DATA, KEY ":" PRIVATE_SIG));
}

static void test_long_channel_data(void **state)
{
    (void)state;
    /* longer than hc_sig's stack buffer: exercises the heap path */
    char data[3000];
    memset(data, 'a', sizeof data - 1);
    data[sizeof data - 1] = '\0';
    char msg[3100], sig[HC_SHA256_HEX_LEN + 1], auth[128];
    snprintf(msg, sizeof msg, "%s:presence-x:%s", SOCKET, data);
    hmac_hex(msg, sig);
    snprintf(auth, sizeof auth, "%s:%s", KEY, sig);
    assert_true(hc_sig_channel_ok(KEY, SECRET, SOCKET, "presence-x", data, auth));
    data[0] = 'b';
    assert_false(hc_sig_channel_ok(KEY, SECRET, SOCKET, "presence-x", data, auth));
}

static void test_md5(void **state)
{
    (void)state;
    char out[HC_MD5_HEX_LEN + 1];
    hc_md5_hex("", 0, out);
    assert_string_equal(out, "d41d8cd98f00b204e9800998ecf8427e");
    hc_md5_hex(NULL, 0, out);
    assert_string_equal(out, "d41d8cd98f00b204e9800998ecf8427e");
    const char *fox = "The quick brown fox jumps over the lazy dog";
    hc_md5_hex(fox, strlen(fox), out);
    assert_string_equal(out, "9e107d9d372bb6826bd81d3542a419d6");
}

static void test_hmac_empty_message(void **state)
{
    (void)state;
    char out[HC_SHA256_HEX_LEN + 1];
    /* HMAC-SHA256("key", "") as computed by Python's hmac module */
    hc_hmac_sha256_hex("key", 3, "", 0, out);
    assert_string_equal(out, "5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0");
}

static void test_consttime_eq(void **state)
{
    (void)state;
    assert_true(hc_consttime_eq("abc", 3, "abc", 3));
    assert_true(hc_consttime_eq("", 0, "", 0));
    assert_false(hc_consttime_eq("abc", 3, "abd", 3));
    assert_false(hc_consttime_eq("xbc", 3, "abc", 3));
    assert_false(hc_consttime_eq("abc", 3, "abcd", 4));
    assert_false(hc_consttime_eq("abcd", 4, "abc", 3));
    assert_false(hc_consttime_eq("a\0b", 3, "a\0c", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_private_vector),
        cmocka_unit_test(test_hmac_user_vector),
        cmocka_unit_test(test_hmac_presence_vector),
        cmocka_unit_test(test_channel_ok_private),
        cmocka_unit_test(test_channel_ok_presence),
        cmocka_unit_test(test_channel_rejects_wrong_key),
        cmocka_unit_test(test_channel_rejects_wrong_sig),
        cmocka_unit_test(test_channel_rejects_malformed),
        cmocka_unit_test(test_user_ok),
        cmocka_unit_test(test_long_channel_data),
        cmocka_unit_test(test_md5),
        cmocka_unit_test(test_hmac_empty_message),
        cmocka_unit_test(test_consttime_eq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
