/*
 * Unit tests for gw_api_history (route matching, the broker read it maps
 * to, the JSON answer in both directions) and gw_recovery_parse_id. The
 * signed path is tested end to end in tests/integration/test/12-*.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_api_history.h"
#include "gw_recovery.h"

static void test_parse_id(void **state)
{
    (void)state;
    char epoch[65];
    uint64_t off = 0;
    assert_true(gw_recovery_parse_id("abc:42", epoch, sizeof(epoch), &off));
    assert_string_equal(epoch, "abc");
    assert_int_equal(off, 42);
    assert_false(gw_recovery_parse_id("abc", epoch, sizeof(epoch), &off));
    assert_false(gw_recovery_parse_id(":4", epoch, sizeof(epoch), &off));
    assert_false(gw_recovery_parse_id("a:", epoch, sizeof(epoch), &off));
    assert_false(gw_recovery_parse_id("a:-1", epoch, sizeof(epoch), &off));
    assert_false(gw_recovery_parse_id("a:1x", epoch, sizeof(epoch), &off));
    assert_false(gw_recovery_parse_id(NULL, epoch, sizeof(epoch), &off));
}

static void test_route_matching(void **state)
{
    (void)state;
    hc_apps *apps = hc_apps_new();
    hc_query q = HC_QUERY_INIT;
    gw_api_request req = {.method = "GET", .path = "/apps/1/channels/x/history", .query = &q};
    gw_api_response out = {0};
    assert_false(gw_api_history_route(apps, &req, "1", "channels/x", &out));
    assert_false(gw_api_history_route(apps, &req, "1", "channels/x/y/history", &out));
    assert_true(gw_api_history_route(apps, &req, "1", "channels/x/history", &out));
    assert_int_equal(out.status, 404); /* unknown app */
    req.method = "POST";
    assert_true(gw_api_history_route(apps, &req, "1", "channels/x/history", &out));
    assert_int_equal(out.status, 405);
    assert_null(out.history);
    gw_api_response_free(&out);
    hc_query_free(&q);
    hc_apps_free(apps);
}

static Herald__Event ev(uint64_t off, const char *data)
{
    Herald__Event e = HERALD__EVENT__INIT;
    e.name = "num";
    e.data.data = (uint8_t *)data;
    e.data.len = strlen(data);
    e.epoch = "e";
    e.offset = off;
    return e;
}

static void test_answers(void **state)
{
    (void)state;
    gw_api_history h = {.limit = 2, .forward = true};
    gw_replay_req r;
    gw_api_history_replay(&h, &r);
    assert_true(r.page);
    assert_string_equal(r.since_epoch, "");
    assert_int_equal(r.limit, 2);
    Herald__Event e1 = ev(1, "a"), e2 = ev(2, "b\"");
    Herald__Event *evs[2] = {&e1, &e2};
    Herald__ReplayResponse resp = HERALD__REPLAY_RESPONSE__INIT;
    resp.ok = resp.recovered = resp.more = true;
    resp.epoch = "e";
    resp.offset = 5;
    resp.n_events = 2;
    resp.events = evs;
    gw_api_response out = {0};
    gw_api_history_answer(&h, &resp, &out);
    assert_int_equal(out.status, 200);
    assert_string_equal(out.body.data,
                        "{\"items\":[{\"id\":\"e:1\",\"event\":\"num\",\"data\":\"a\"},"
                        "{\"id\":\"e:2\",\"event\":\"num\",\"data\":\"b\\\"\"}],"
                        "\"position\":\"e:5\",\"next\":\"e:2\"}");
    /* backward, after e:1: newest first, e:1 filtered out */
    gw_api_history back = {.limit = 2, .has_since = true, .since_epoch = "e", .since_offset = 1};
    gw_api_history_replay(&back, &r);
    assert_false(r.page);
    assert_int_equal(r.rewind, 2);
    gw_api_history_answer(&back, &resp, &out);
    assert_string_equal(out.body.data,
                        "{\"items\":[{\"id\":\"e:2\",\"event\":\"num\",\"data\":\"b\\\"\"}],"
                        "\"position\":\"e:5\"}");
    Herald__ReplayResponse bad = HERALD__REPLAY_RESPONSE__INIT;
    bad.error = "redis unavailable";
    gw_api_history_answer(&back, &bad, &out);
    assert_int_equal(out.status, 503);
    gw_api_response_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_id),
        cmocka_unit_test(test_route_matching),
        cmocka_unit_test(test_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
