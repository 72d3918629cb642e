/* Unit tests for hc_webhook: parsing Soketi's webhook configuration,
 * filters and event types, the event JSON Pusher sends, batch bodies, the
 * X-Pusher-Signature (checked against an HMAC computed independently) and
 * the retry backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hc_webhook.h"

static void test_types(void **state)
{
    (void)state;
    assert_int_equal(hc_wh_type_of("channel_occupied"), HC_WH_CHANNEL_OCCUPIED);
    assert_int_equal(hc_wh_type_of("subscription_count"), HC_WH_SUBSCRIPTION_COUNT);
    assert_int_equal(hc_wh_type_of("client_event"), HC_WH_CLIENT_EVENT);
    assert_int_equal(hc_wh_type_of("nope"), 0);
    assert_int_equal(hc_wh_type_of(NULL), 0);
    assert_string_equal(hc_wh_type_name(HC_WH_MEMBER_REMOVED), "member_removed");
    assert_null(hc_wh_type_name(HC_WH_MEMBER_ADDED | HC_WH_MEMBER_REMOVED));
}

static void test_parse_soketi_config(void **state)
{
    (void)state;
    const char *json =
        "[{\"url\":\"http://h/a\",\"event_types\":[\"channel_occupied\",\"member_added\"],"
        "\"filter\":{\"channel_name_starts_with\":\"audit-\",\"channel_name_ends_with\":\"-log\"},"
        "\"headers\":{\"X-Token\":\"t1\"}},"
        "{\"url\":\"https://h/b\"}]";
    hc_wh_config c;
    char err[200];
    assert_int_equal(hc_wh_parse(json, &c, err, sizeof(err)), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.t[0].url, "http://h/a");
    assert_int_equal(c.t[0].mask, HC_WH_CHANNEL_OCCUPIED | HC_WH_MEMBER_ADDED);
    assert_string_equal(c.t[0].starts_with, "audit-");
    assert_string_equal(c.t[0].ends_with, "-log");
    assert_int_equal(c.t[0].nheaders, 1);
    assert_string_equal(c.t[0].headers[0].name, "X-Token");
    assert_string_equal(c.t[0].headers[0].value, "t1");
    assert_int_equal(c.t[1].mask, HC_WH_ALL); /* no event_types: all */
    assert_null(c.t[1].starts_with);
    assert_int_equal(hc_wh_config_mask(&c), HC_WH_ALL);
    hc_wh_config_free(&c);

    assert_int_equal(hc_wh_parse(NULL, &c, err, sizeof(err)), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(hc_wh_config_mask(&c), 0);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{}",
        "[{\"event_types\":[\"channel_occupied\"]}]",
        "[{\"url\":\"ftp://h/x\"}]",
        "[{\"url\":\"http://h/x\",\"event_types\":[\"channel_exploded\"]}]",
        "[{\"url\":\"http://h/x\",\"event_types\":\"channel_occupied\"}]",
        "[{\"url\":\"http://h/x\",\"filter\":{\"channel_name_starts_with\":3}}]",
        "[{\"url\":\"http://h/x\",\"headers\":{\"X-A\":\"a\\r\\nX-B: b\"}}]",
        "[{\"url\":\"http://h/x\",\"headers\":[\"x\"]}]",
        "[1]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hc_wh_config c;
        char err[200] = "";
        assert_int_equal(hc_wh_parse(bad[i], &c, err, sizeof(err)), -1);
        assert_true(err[0]);
        assert_int_equal(c.n, 0);
    }
}

static void test_filter(void **state)
{
    (void)state;
    hc_wh_target t = {.mask = HC_WH_CHANNEL_OCCUPIED, .starts_with = "audit-", .ends_with = "-log"};
    assert_true(hc_wh_matches(&t, HC_WH_CHANNEL_OCCUPIED, "audit-x-log"));
    assert_true(hc_wh_matches(&t, HC_WH_CHANNEL_OCCUPIED, "audit--log"));
    assert_false(hc_wh_matches(&t, HC_WH_CHANNEL_OCCUPIED, "audit-x"));
    assert_false(hc_wh_matches(&t, HC_WH_CHANNEL_OCCUPIED, "x-log"));
    assert_false(hc_wh_matches(&t, HC_WH_CHANNEL_OCCUPIED, "-log"));
    assert_false(hc_wh_matches(&t, HC_WH_CHANNEL_VACATED, "audit-x-log"));
    hc_wh_target any = {.mask = HC_WH_ALL};
    assert_true(hc_wh_matches(&any, HC_WH_CACHE_MISS, "cache-x"));
    assert_false(hc_wh_matches(&any, HC_WH_CACHE_MISS, NULL));
}

static void test_event_json(void **state)
{
    (void)state;
    hc_sbuf b = HC_SBUF_INIT;
    hc_wh_event_channel(&b, HC_WH_CHANNEL_VACATED, "a\"b");
    assert_string_equal(b.data, "{\"name\":\"channel_vacated\",\"channel\":\"a\\\"b\"}");
    hc_sbuf_reset(&b);
    hc_wh_event_member(&b, HC_WH_MEMBER_ADDED, "presence-x", "u1");
    assert_string_equal(
        b.data, "{\"name\":\"member_added\",\"channel\":\"presence-x\",\"user_id\":\"u1\"}");
    hc_sbuf_reset(&b);
    hc_wh_event_count(&b, "c", 3);
    assert_string_equal(
        b.data, "{\"name\":\"subscription_count\",\"channel\":\"c\",\"subscription_count\":3}");
    hc_sbuf_reset(&b);
    hc_wh_event_client(&b, "private-x", "client-t", "{\"a\":1}", 7, "1.2", NULL);
    assert_string_equal(b.data, "{\"name\":\"client_event\",\"channel\":\"private-x\",\"event\":"
                                "\"client-t\",\"data\":\"{\\\"a\\\":1}\",\"socket_id\":\"1.2\"}");
    unsigned type = 0;
    char *ch = NULL;
    assert_true(hc_wh_event_parse(b.data, b.len, &type, &ch));
    assert_int_equal(type, HC_WH_CLIENT_EVENT);
    assert_string_equal(ch, "private-x");
    free(ch);
    hc_sbuf_reset(&b);
    hc_wh_event_client(&b, "presence-x", "client-t", "hi", 2, "1.2", "u9");
    assert_non_null(strstr(b.data, ",\"user_id\":\"u9\"}"));
    assert_false(hc_wh_event_parse("{\"name\":\"what\",\"channel\":\"x\"}", 31, &type, &ch));
    assert_false(hc_wh_event_parse("not json", 8, &type, &ch));
    hc_sbuf_free(&b);
}

static void test_batch_body_and_signature(void **state)
{
    (void)state;
    const char *one[] = {"{\"name\":\"channel_occupied\",\"channel\":\"a\"}"};
    hc_sbuf b = HC_SBUF_INIT;
    hc_wh_body(&b, 1700000000000ull, one, 1);
    assert_string_equal(b.data,
                        "{\"time_ms\":1700000000000,\"events\":[{\"name\":\"channel_occupied\","
                        "\"channel\":\"a\"}]}");
    char sig[65];
    hc_wh_sign("app-secret", b.data, b.len, sig);
    /* node: crypto.createHmac('sha256','app-secret').update(body).digest('hex') */
    assert_string_equal(sig, "67b11e24a81758723f418c2c9f304a755d31d9ebbaf996291655953724adcead");
    hc_sbuf_reset(&b);
    const char *two[] = {"{\"x\":1}", "{\"y\":2}"};
    hc_wh_body(&b, 5, two, 2);
    assert_string_equal(b.data, "{\"time_ms\":5,\"events\":[{\"x\":1},{\"y\":2}]}");
    hc_sbuf_reset(&b);
    hc_wh_body(&b, 5, NULL, 0);
    assert_string_equal(b.data, "{\"time_ms\":5,\"events\":[]}");
    hc_sbuf_free(&b);
}

typedef struct plan_log {
    char text[512];
} plan_log;

static void log_request(void *ud, size_t t, const size_t *idx, size_t k)
{
    plan_log *l = ud;
    size_t len = strlen(l->text);
    len += (size_t)snprintf(l->text + len, sizeof(l->text) - len, "%s%zu:", len ? " " : "", t);
    for (size_t i = 0; i < k; i++)
        len +=
            (size_t)snprintf(l->text + len, sizeof(l->text) - len, "%s%zu", i ? "," : "", idx[i]);
}

static void test_batching_plan(void **state)
{
    (void)state;
    /* target 0: occupied + vacated on audit-*; target 1: everything;
     * target 2: client events only */
    const char *json = "[{\"url\":\"http://h/0\",\"event_types\":[\"channel_occupied\","
                       "\"channel_vacated\"],\"filter\":{\"channel_name_starts_with\":\"audit-\"}},"
                       "{\"url\":\"http://h/1\"},"
                       "{\"url\":\"http://h/2\",\"event_types\":[\"client_event\"]}]";
    hc_wh_config c;
    char err[200];
    assert_int_equal(hc_wh_parse(json, &c, err, sizeof(err)), 0);
    const unsigned types[] = {HC_WH_CHANNEL_OCCUPIED, HC_WH_CHANNEL_OCCUPIED, HC_WH_MEMBER_ADDED,
                              HC_WH_CHANNEL_VACATED, HC_WH_CLIENT_EVENT};
    const char *const chans[] = {"audit-a", "b", "presence-c", "audit-a", "private-d"};
    plan_log l = {""};
    /* one request per target that wants something, events in batch order */
    assert_int_equal(hc_wh_plan(&c, types, chans, 5, 100, log_request, &l), 3);
    assert_string_equal(l.text, "0:0,3 1:0,1,2,3,4 2:4");
    /* chunks of at most max events */
    memset(&l, 0, sizeof(l));
    assert_int_equal(hc_wh_plan(&c, types, chans, 5, 2, log_request, &l), 5);
    assert_string_equal(l.text, "0:0,3 1:0,1 1:2,3 1:4 2:4");
    /* nothing wanted: no request */
    memset(&l, 0, sizeof(l));
    const unsigned cm[] = {HC_WH_CACHE_MISS};
    const char *const cc[] = {"cache-x"};
    hc_wh_config only0 = {c.t, 1};
    assert_int_equal(hc_wh_plan(&only0, cm, cc, 1, 100, log_request, &l), 0);
    assert_string_equal(l.text, "");
    hc_wh_config_free(&c);
}

static void test_backoff(void **state)
{
    (void)state;
    /* rnd 0 is the low end (-20 %), a huge rnd stays within +20 % */
    assert_int_equal(hc_wh_backoff_ms(1, 0), HC_WH_BACKOFF_MIN_MS - HC_WH_BACKOFF_MIN_MS / 5);
    assert_int_equal(hc_wh_backoff_ms(2, 0),
                     2 * HC_WH_BACKOFF_MIN_MS - 2 * HC_WH_BACKOFF_MIN_MS / 5);
    assert_int_equal(hc_wh_backoff_ms(3, 0),
                     4 * HC_WH_BACKOFF_MIN_MS - 4 * HC_WH_BACKOFF_MIN_MS / 5);
    uint64_t prev = 0;
    for (unsigned a = 1; a < 40; a++) {
        uint64_t lo = hc_wh_backoff_ms(a, 0);
        uint64_t hi = hc_wh_backoff_ms(a, UINT64_MAX);
        assert_true(lo >= prev); /* never shrinks */
        assert_true(hi <= HC_WH_BACKOFF_MAX_MS + HC_WH_BACKOFF_MAX_MS / 5);
        assert_true(lo <= hi);
        prev = lo;
    }
    assert_int_equal(hc_wh_backoff_ms(30, 0), HC_WH_BACKOFF_MAX_MS - HC_WH_BACKOFF_MAX_MS / 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),        cmocka_unit_test(test_parse_soketi_config),
        cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_filter),
        cmocka_unit_test(test_event_json),   cmocka_unit_test(test_batch_body_and_signature),
        cmocka_unit_test(test_backoff),      cmocka_unit_test(test_batching_plan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
