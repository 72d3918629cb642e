/*
 * Unit tests for herald-load's pure parts: hl_hist (bucket arithmetic,
 * quantiles, merge) and hl_wire (WebSocket frames both ways, HTTP response
 * heads, Pusher / Socket.IO message classes, stamps, publish requests).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hc_sig.h"
#include "hl_hist.h"
#include "hl_wire.h"

#include <stdio.h>
#include <string.h>

static void test_hist_exact_small(void **state)
{
    (void)state;
    for (uint64_t v = 0; v < 128; v++) {
        assert_int_equal(hl_hist_index(v), (int)v);
        assert_int_equal(hl_hist_bucket_high((int)v), v);
    }
}

static void test_hist_relative_error(void **state)
{
    (void)state;
    uint64_t vals[] = {128,  129,    200,     1000,       4095,
                       4096, 123456, 9999999, 1ull << 40, UINT64_MAX / 2};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        uint64_t v = vals[i];
        int idx = hl_hist_index(v);
        uint64_t hi = hl_hist_bucket_high(idx);
        assert_true(hi >= v);
        assert_true((double)(hi - v) <= (double)v / 64.0 + 1);
        /* the bucket's lower neighbour ends below v */
        assert_true(hl_hist_bucket_high(idx - 1) < v);
    }
    /* indexes are monotonic */
    int last = -1;
    for (uint64_t v = 1; v < (1ull << 50); v = v * 3 / 2 + 1) {
        int idx = hl_hist_index(v);
        assert_true(idx >= last);
        assert_true(idx < HL_HIST_BUCKETS);
        last = idx;
    }
}

static void test_hist_quantiles(void **state)
{
    (void)state;
    static hl_hist h, h2;
    hl_hist_reset(&h);
    assert_int_equal(hl_hist_quantile(&h, 0.5), 0);
    for (uint64_t v = 1; v <= 100; v++)
        hl_hist_record(&h, v);
    assert_int_equal(h.count, 100);
    assert_int_equal(hl_hist_quantile(&h, 0.5), 50);
    assert_int_equal(hl_hist_quantile(&h, 0.99), 99);
    assert_int_equal(hl_hist_quantile(&h, 1.0), 100);
    assert_int_equal(h.max, 100);
    hl_hist_reset(&h2);
    hl_hist_record(&h2, 1000000);
    hl_hist_merge(&h, &h2);
    assert_int_equal(h.count, 101);
    assert_int_equal(h.max, 1000000);
    assert_int_equal(hl_hist_quantile(&h, 1.0), 1000000); /* capped at the exact max */
    uint64_t p999 = hl_hist_quantile(&h, 0.999);
    assert_true(p999 == 1000000);
}

static void test_ws_roundtrip(void **state)
{
    (void)state;
    uint8_t out[70000];
    const char *msg = "hello";
    size_t n = hl_ws_encode(out, HL_OP_TEXT, msg, 5, 0x01020304);
    assert_int_equal(n, 2 + 4 + 5);
    assert_int_equal(out[0], 0x81);
    assert_int_equal(out[1], 0x80 | 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(out[6 + i] ^ out[2 + (i & 3)], (uint8_t)msg[i]);
    /* a masked frame is refused by the parser (servers don't mask) */
    hl_ws_frame f;
    assert_int_equal(hl_ws_parse(out, n, 1 << 20, &f), -1);
    /* lengths 126+ use the extended forms */
    static uint8_t big[70000];
    memset(big, 'a', sizeof big);
    n = hl_ws_encode(out, HL_OP_BIN, big, 300, 0);
    assert_int_equal(out[1], 0x80 | 126);
    assert_int_equal(n, 4 + 4 + 300);
}

static void test_ws_parse_server(void **state)
{
    (void)state;
    hl_ws_frame f;
    uint8_t small[] = {0x81, 0x03, 'a', 'b', 'c', 0x89, 0x00};
    assert_int_equal(hl_ws_parse(small, 1, 100, &f), 0);
    assert_int_equal(hl_ws_parse(small, 4, 100, &f), 0);
    assert_int_equal(hl_ws_parse(small, sizeof small, 100, &f), 5);
    assert_true(f.fin);
    assert_int_equal(f.opcode, HL_OP_TEXT);
    assert_int_equal(f.len, 3);
    assert_memory_equal(f.payload, "abc", 3);
    assert_int_equal(hl_ws_parse(small + 5, 2, 100, &f), 2);
    assert_int_equal(f.opcode, HL_OP_PING);
    static uint8_t mid[4 + 300];
    mid[0] = 0x82;
    mid[1] = 126;
    mid[2] = 1;
    mid[3] = 44;
    assert_int_equal(hl_ws_parse(mid, 100, 1000, &f), 0);
    assert_int_equal(hl_ws_parse(mid, sizeof mid, 1000, &f), (long)sizeof mid);
    assert_int_equal(f.len, 300);
    assert_int_equal(hl_ws_parse(mid, sizeof mid, 299, &f), -1); /* over the cap */
    uint8_t rsv[] = {0xc1, 0x00};
    assert_int_equal(hl_ws_parse(rsv, 2, 100, &f), -1);
    uint8_t long_ping[] = {0x89, 126, 0, 200};
    assert_int_equal(hl_ws_parse(long_ping, 4, 1000, &f), -1);
}

static void test_http_head(void **state)
{
    (void)state;
    int st;
    long cl;
    const char *part = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n";
    assert_int_equal(hl_http_head(part, strlen(part), &st, &cl), 0);
    const char *r = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nX: y\r\n\r\n{}";
    size_t head = hl_http_head(r, strlen(r), &st, &cl);
    assert_int_equal(head, strlen(r) - 2);
    assert_int_equal(st, 200);
    assert_int_equal(cl, 2);
    const char *u = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81";
    head = hl_http_head(u, strlen(u), &st, &cl);
    assert_int_equal(st, 101);
    assert_int_equal(cl, -1);
    assert_int_equal(head, strlen(u) - 1);
    const char *c = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\nHTTP";
    head = hl_http_head(c, strlen(c), &st, &cl);
    assert_int_equal(cl, HL_HTTP_CHUNKED);
    assert_int_equal(hl_http_chunked_len(c + head, strlen(c) - head), 12);
    assert_int_equal(hl_http_chunked_len(c + head, 8), -1);
    assert_int_equal(hl_http_chunked_len("0\r\n\r\n", 5), 5);
}

static void test_classify(void **state)
{
    (void)state;
#define P(s) hl_classify(HL_PROTO_PUSHER, s, strlen(s))
#define S(s) hl_classify(HL_PROTO_SOCKETIO, s, strlen(s))
    assert_int_equal(P("{\"event\":\"pusher:connection_established\",\"data\":\"{}\"}"),
                     HL_MSG_ESTABLISHED);
    assert_int_equal(P("{\"event\":\"pusher_internal:subscription_succeeded\",\"channel\":\"a\"}"),
                     HL_MSG_SUBSCRIBED);
    assert_int_equal(P("{\"event\":\"pusher:ping\",\"data\":{}}"), HL_MSG_PING);
    assert_int_equal(P("{\"event\":\"pusher:error\",\"data\":{}}"), HL_MSG_ERROR);
    assert_int_equal(P("{\"event\":\"pusher:subscription_error\",\"data\":{}}"), HL_MSG_ERROR);
    assert_int_equal(P("{\"event\":\"e\",\"channel\":\"a\",\"data\":\"hl:1:2:xx\"}"), HL_MSG_EVENT);
    assert_int_equal(P("{\"event\":\"e\",\"channel\":\"a\",\"data\":\"other\"}"), HL_MSG_OTHER);
    assert_int_equal(S("0{\"sid\":\"x\",\"pingInterval\":25000}"), HL_MSG_EIO_OPEN);
    assert_int_equal(S("40{\"sid\":\"y\"}"), HL_MSG_ESTABLISHED);
    assert_int_equal(S("2"), HL_MSG_PING);
    assert_int_equal(S("42[\"joined\",\"load-0\"]"), HL_MSG_SUBSCRIBED);
    assert_int_equal(S("42[\"load-event\",\"hl:5:6:\"]"), HL_MSG_EVENT);
    assert_int_equal(S("44{\"message\":\"no\"}"), HL_MSG_ERROR);
    assert_int_equal(S("3"), HL_MSG_OTHER);
    char buf[200];
    size_t n = hl_subscribe_msg(HL_PROTO_PUSHER, buf, sizeof buf, "load-3");
    assert_string_equal(buf, "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"load-3\"}}");
    assert_int_equal(n, strlen(buf));
    hl_subscribe_msg(HL_PROTO_SOCKETIO, buf, sizeof buf, "load-3");
    assert_string_equal(buf, "42[\"join\",\"load-3\"]");
    assert_int_equal(hl_subscribe_msg(HL_PROTO_PUSHER, buf, 10, "load-3"), 0);
    assert_string_equal(hl_pong_msg(HL_PROTO_SOCKETIO), "3");
#undef P
#undef S
}

static void test_stamp(void **state)
{
    (void)state;
    char data[100], msg[300];
    size_t n = hl_stamp(data, sizeof data, 123456789012345ull, 42, 10);
    assert_string_equal(data, "hl:123456789012345:42:xxxxxxxxxx");
    assert_int_equal(n, strlen(data));
    char tiny[20];
    assert_int_equal(hl_stamp(tiny, sizeof tiny, 1, 1, 30), 0);
    snprintf(msg, sizeof msg, "{\"event\":\"e\",\"data\":\"%s\"}", data);
    uint64_t t = 0, seq = 0;
    assert_true(hl_stamp_find(msg, strlen(msg), &t, &seq));
    assert_int_equal(t, 123456789012345ull);
    assert_int_equal(seq, 42);
    assert_false(hl_stamp_find("\"hl:12\"", 7, &t, &seq));
    assert_false(hl_stamp_find("\"hl:a:1:\"", 9, &t, &seq));
}

static void test_publish_requests(void **state)
{
    (void)state;
    char out[4096];
    size_t n = hl_publish_request(out, sizeof out, "127.0.0.1", 6001, "app-id", "app-key",
                                  "app-secret", 1700000000, "load-0", "ev", "hl:1:2:");
    assert_true(n > 0);
    assert_int_equal(n, strlen(out));
    const char *body = "{\"name\":\"ev\",\"channel\":\"load-0\",\"data\":\"hl:1:2:\"}";
    char md5[HC_MD5_HEX_LEN + 1], tosign[512], sig[HC_SHA256_HEX_LEN + 1], line[1024];
    hc_md5_hex(body, strlen(body), md5);
    snprintf(
        tosign, sizeof tosign,
        "POST\n/apps/app-id/events\nauth_key=app-key&auth_timestamp=1700000000&auth_version=1.0&"
        "body_md5=%s",
        md5);
    hc_hmac_sha256_hex("app-secret", 10, tosign, strlen(tosign), sig);
    snprintf(line, sizeof line,
             "POST /apps/app-id/events?auth_key=app-key&auth_timestamp=1700000000&auth_version=1.0&"
             "body_md5=%s&auth_signature=%s HTTP/1.1\r\n",
             md5, sig);
    assert_memory_equal(out, line, strlen(line));
    assert_non_null(strstr(out, "\r\n\r\n"));
    assert_string_equal(strstr(out, "\r\n\r\n") + 4, body);
    n = hl_publish_request(out, sizeof out, "127.0.0.1", 7000, NULL, NULL, NULL, 0, "r", "ev", "d");
    assert_true(n > 0);
    assert_memory_equal(out, "POST /broadcast HTTP/1.1\r\n", 26);
    assert_string_equal(strstr(out, "\r\n\r\n") + 4,
                        "{\"room\":\"r\",\"event\":\"ev\",\"data\":\"d\"}");
    assert_int_equal(hl_publish_request(out, 50, "h", 1, "a", "k", "s", 0, "c", "e", "d"), 0);
}

static void test_presence_messages(void **state)
{
    (void)state;
    char m[1024];
    size_t n = hl_presence_subscribe_msg(m, sizeof m, "app-key", "app-secret", "123.456",
                                         "presence-c-1", "u42");
    assert_true(n > 0 && n == strlen(m));
    assert_non_null(strstr(m, "\"channel\":\"presence-c-1\""));
    /* channel_data as the server reads it (unescaped), and the signature */
    const char *cd = "{\"user_id\":\"u42\",\"user_info\":{\"n\":42}}";
    assert_non_null(strstr(m, "\"channel_data\":\"{\\\"user_id\\\":\\\"u42\\\",\\\"user_info\\\":{"
                              "\\\"n\\\":42}}\"}}"));
    char auth[200];
    assert_true(hl_json_value(m, n, "\"auth\"", auth, sizeof auth) > 0);
    assert_true(hc_sig_channel_ok("app-key", "app-secret", "123.456", "presence-c-1", cd, auth));
    assert_false(hc_sig_channel_ok("app-key", "app-secret", "123.457", "presence-c-1", cd, auth));

    n = hl_unsubscribe_msg(m, sizeof m, "presence-c-1");
    assert_string_equal(
        m, "{\"event\":\"pusher:unsubscribe\",\"data\":{\"channel\":\"presence-c-1\"}}");
    n = hl_subscribe_since_msg(m, sizeof m, "rec-3", "9f2c41d07a1e55b3:41");
    assert_string_equal(m, "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"rec-3\","
                           "\"since\":\"9f2c41d07a1e55b3:41\"}}");

    const char *est = "{\"event\":\"pusher:connection_established\",\"data\":\"{\\\"socket_id\\\":"
                      "\\\"1234.5678\\\",\\\"activity_timeout\\\":120}\"}";
    char sid[32];
    assert_int_equal(hl_json_value(est, strlen(est), "socket_id", sid, sizeof sid), 9);
    assert_string_equal(sid, "1234.5678");
    assert_int_equal(hl_json_value(est, strlen(est), "socket_id", sid, 5), 0);
    assert_int_equal(hl_json_value(est, strlen(est), "nope", sid, sizeof sid), 0);

    const char *add = "{\"event\":\"pusher_internal:member_added\",\"channel\":\"presence-c-1\","
                      "\"data\":\"{\\\"user_id\\\":\\\"u17\\\",\\\"user_info\\\":{\\\"n\\\":17}}\","
                      "\"id\":\"9f2c41d07a1e55b3:7\"}";
    const char *rm = "{\"event\":\"pusher_internal:member_removed\",\"channel\":\"presence-c-1\","
                     "\"data\":\"{\\\"user_id\\\":\\\"o3\\\"}\"}";
    assert_int_equal(hl_classify(HL_PROTO_PUSHER, add, strlen(add)), HL_MSG_MEMBER_ADDED);
    assert_int_equal(hl_classify(HL_PROTO_PUSHER, rm, strlen(rm)), HL_MSG_MEMBER_REMOVED);
    assert_int_equal(hl_member_user(add, strlen(add), 'u'), 17);
    assert_int_equal(hl_member_user(rm, strlen(rm), 'u'), -1);
    assert_int_equal(hl_member_user(rm, strlen(rm), 'o'), 3);

    /* the event id Herald adds (not the user_id's "id") */
    char id[64];
    assert_int_equal(hl_json_value(add, strlen(add), "\"id\"", id, sizeof id), 18);
    assert_string_equal(id, "9f2c41d07a1e55b3:7");
    assert_int_equal(hl_json_value(rm, strlen(rm), "\"id\"", id, sizeof id), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_exact_small), cmocka_unit_test(test_hist_relative_error),
        cmocka_unit_test(test_hist_quantiles),   cmocka_unit_test(test_ws_roundtrip),
        cmocka_unit_test(test_ws_parse_server),  cmocka_unit_test(test_http_head),
        cmocka_unit_test(test_classify),         cmocka_unit_test(test_stamp),
        cmocka_unit_test(test_publish_requests), cmocka_unit_test(test_presence_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
