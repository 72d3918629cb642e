/* Unit tests for hc_frame: the pure parser, the accumulating reader (split
 * and coalesced input, oversize and corrupt streams) and hc_wire_pack /
 * hc_wire_unpack round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hc_frame.h"

/* Appends header + payload to out; returns the new length. */
static size_t put_frame(uint8_t *out, size_t at, const char *payload)
{
    size_t n = strlen(payload);
    hc_frame_put_header(out + at, (uint32_t)n);
    memcpy(out + at + HC_FRAME_HEADER, payload, n);
    return at + HC_FRAME_HEADER + n;
}

static void test_header_big_endian(void **state)
{
    (void)state;
    uint8_t h[4];
    hc_frame_put_header(h, 0x01020304u);
    assert_int_equal(h[0], 1);
    assert_int_equal(h[1], 2);
    assert_int_equal(h[2], 3);
    assert_int_equal(h[3], 4);
}

static void test_parse(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n = put_frame(buf, 0, "hello");
    const uint8_t *p = NULL;
    size_t plen = 0, used = 0;
    for (size_t cut = 0; cut < n; cut++)
        assert_int_equal(hc_frame_parse(buf, cut, 100, &p, &plen, &used), HC_FRAME_NEED_MORE);
    assert_int_equal(hc_frame_parse(buf, n, 100, &p, &plen, &used), HC_FRAME_OK);
    assert_int_equal(plen, 5);
    assert_int_equal(used, 9);
    assert_ptr_equal(p, buf + 4);
    assert_memory_equal(p, "hello", 5);
    /* empty payload is a valid frame */
    n = put_frame(buf, 0, "");
    assert_int_equal(hc_frame_parse(buf, n, 100, &p, &plen, &used), HC_FRAME_OK);
    assert_int_equal(plen, 0);
    assert_int_equal(used, 4);
}

static void test_parse_oversize(void **state)
{
    (void)state;
    uint8_t h[4];
    const uint8_t *p = NULL;
    size_t plen = 0, used = 0;
    hc_frame_put_header(h, 101);
    assert_int_equal(hc_frame_parse(h, 4, 100, &p, &plen, &used), HC_FRAME_INVALID);
    hc_frame_put_header(h, 100);
    assert_int_equal(hc_frame_parse(h, 4, 100, &p, &plen, &used), HC_FRAME_NEED_MORE);
    hc_frame_put_header(h, 0xffffffffu);
    assert_int_equal(hc_frame_parse(h, 4, HC_FRAME_MAX_DEFAULT, &p, &plen, &used),
                     HC_FRAME_INVALID);
}

static void test_reader_byte_by_byte(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = put_frame(buf, 0, "first");
    n = put_frame(buf, n, "second frame");
    hc_frame_reader r;
    hc_frame_reader_init(&r, 1024);
    const uint8_t *p;
    size_t len;
    int got = 0;
    const char *want[] = {"first", "second frame"};
    for (size_t i = 0; i < n; i++) {
        hc_frame_reader_feed(&r, buf + i, 1);
        hc_frame_status st;
        while ((st = hc_frame_reader_next(&r, &p, &len)) == HC_FRAME_OK) {
            assert_true(got < 2);
            assert_int_equal(len, strlen(want[got]));
            assert_memory_equal(p, want[got], len);
            got++;
            /* a frame is complete exactly at its last byte */
            assert_int_equal(i + 1, got == 1 ? 9u : n);
        }
        assert_int_equal(st, HC_FRAME_NEED_MORE);
    }
    assert_int_equal(got, 2);
    hc_frame_reader_free(&r);
}

static void test_reader_coalesced(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = put_frame(buf, 0, "one");
    n = put_frame(buf, n, "");
    n = put_frame(buf, n, "three!");
    n = put_frame(buf, n, "fourth-partial");
    hc_frame_reader r;
    hc_frame_reader_init(&r, 0); /* 0 -> default max */
    assert_int_equal(r.max, HC_FRAME_MAX_DEFAULT);
    hc_frame_reader_feed(&r, buf, n - 3); /* three whole frames + part of a fourth */
    const uint8_t *p;
    size_t len;
    assert_int_equal(hc_frame_reader_next(&r, &p, &len), HC_FRAME_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(p, "one", 3);
    assert_int_equal(hc_frame_reader_next(&r, &p, &len), HC_FRAME_OK);
    assert_int_equal(len, 0);
    assert_int_equal(hc_frame_reader_next(&r, &p, &len), HC_FRAME_OK);
    assert_int_equal(len, 6);
    assert_memory_equal(p, "three!", 6);
    assert_int_equal(hc_frame_reader_next(&r, &p, &len), HC_FRAME_NEED_MORE);
    hc_frame_reader_feed(&r, buf + n - 3, 3);
    assert_int_equal(hc_frame_reader_next(&r, &p, &len), HC_FRAME_OK);
    assert_int_equal(len, 14);
    assert_memory_equal(p, "fourth-partial", 14);
    assert_int_equal(hc_frame_reader_next(&r, &p, &len), HC_FRAME_NEED_MORE);
    hc_frame_reader_free(&r);
}

static void test_reader_empty(void **state)
{
    (void)state;
    hc_frame_reader r;
    hc_frame_reader_init(&r, 16);
    const uint8_t *p;
    size_t len;
    assert_int_equal(hc_frame_reader_next(&r, &p, &len), HC_FRAME_NEED_MORE);
    hc_frame_reader_free(&r);
}

static void test_reader_oversize_invalid(void **state)
{
    (void)state;
    hc_frame_reader r;
    hc_frame_reader_init(&r, 16);
    uint8_t buf[64];
    size_t n = put_frame(buf, 0, "ok");
    n = put_frame(buf, n, "this payload is too long");
    hc_frame_reader_feed(&r, buf, n);
    const uint8_t *p;
    size_t len;
    assert_int_equal(hc_frame_reader_next(&r, &p, &len), HC_FRAME_OK);
    assert_int_equal(hc_frame_reader_next(&r, &p, &len), HC_FRAME_INVALID);
    /* stays invalid: the link must be closed */
    assert_int_equal(hc_frame_reader_next(&r, &p, &len), HC_FRAME_INVALID);
    hc_frame_reader_free(&r);
}

static void test_reader_large_growth(void **state)
{
    (void)state;
    /* a payload much larger than the initial buffer, fed in uneven chunks */
    size_t plen = 100000;
    uint8_t *buf = malloc(plen + 4);
    hc_frame_put_header(buf, (uint32_t)plen);
    for (size_t i = 0; i < plen; i++)
        buf[4 + i] = (uint8_t)(i * 7);
    hc_frame_reader r;
    hc_frame_reader_init(&r, 0);
    const uint8_t *p;
    size_t len;
    for (size_t off = 0; off < plen + 4; off += 1237) {
        size_t chunk = plen + 4 - off < 1237 ? plen + 4 - off : 1237;
        assert_int_equal(hc_frame_reader_next(&r, &p, &len), HC_FRAME_NEED_MORE);
        hc_frame_reader_feed(&r, buf + off, chunk);
    }
    assert_int_equal(hc_frame_reader_next(&r, &p, &len), HC_FRAME_OK);
    assert_int_equal(len, plen);
    assert_memory_equal(p, buf + 4, plen);
    hc_frame_reader_free(&r);
    free(buf);
}

static void test_wire_event_round_trip(void **state)
{
    (void)state;
    Herald__Event ev = HERALD__EVENT__INIT;
    ev.app_id = "app-1";
    ev.channel = "my-channel";
    ev.name = "my-event";
    ev.data.data = (uint8_t *)"{\"x\":\"\\u0000bin\"}";
    ev.data.len = 17;
    ev.socket_id = "123.456";
    ev.user_id = "";
    ev.epoch = "e1f2";
    ev.offset = 1234567890123ull;
    Herald__Frame f = HERALD__FRAME__INIT;
    f.msg_case = HERALD__FRAME__MSG_EVENT;
    f.event = &ev;

    hc_rbuf *b = hc_wire_pack(&f, 16);
    assert_int_equal(b->refs, 1);
    assert_int_equal(b->headroom, 16);
    assert_true(b->len > HC_FRAME_HEADER);

    const uint8_t *p;
    size_t plen, used;
    assert_int_equal(
        hc_frame_parse(hc_rbuf_data(b), b->len, HC_FRAME_MAX_DEFAULT, &p, &plen, &used),
        HC_FRAME_OK);
    assert_int_equal(used, b->len);
    Herald__Frame *g = hc_wire_unpack(p, plen);
    assert_non_null(g);
    assert_int_equal(g->msg_case, HERALD__FRAME__MSG_EVENT);
    assert_string_equal(g->event->app_id, "app-1");
    assert_string_equal(g->event->channel, "my-channel");
    assert_string_equal(g->event->name, "my-event");
    assert_int_equal(g->event->data.len, 17);
    assert_memory_equal(g->event->data.data, ev.data.data, 17);
    assert_string_equal(g->event->socket_id, "123.456");
    assert_string_equal(g->event->epoch, "e1f2");
    assert_int_equal(g->event->offset, 1234567890123ull);
    herald__frame__free_unpacked(g, NULL);
    hc_rbuf_unref(b);
}

static void test_wire_ping_via_reader(void **state)
{
    (void)state;
    Herald__Ping ping = HERALD__PING__INIT;
    ping.nonce = 42;
    Herald__Frame f = HERALD__FRAME__INIT;
    f.msg_case = HERALD__FRAME__MSG_PONG;
    f.pong = &ping;
    hc_rbuf *b = hc_wire_pack(&f, 0);
    hc_frame_reader r;
    hc_frame_reader_init(&r, 0);
    hc_frame_reader_feed(&r, hc_rbuf_data(b), b->len);
    hc_frame_reader_feed(&r, hc_rbuf_data(b), b->len);
    for (int i = 0; i < 2; i++) {
        const uint8_t *p;
        size_t len;
        assert_int_equal(hc_frame_reader_next(&r, &p, &len), HC_FRAME_OK);
        Herald__Frame *g = hc_wire_unpack(p, len);
        assert_non_null(g);
        assert_int_equal(g->msg_case, HERALD__FRAME__MSG_PONG);
        assert_int_equal(g->pong->nonce, 42);
        herald__frame__free_unpacked(g, NULL);
    }
    hc_frame_reader_free(&r);
    hc_rbuf_unref(b);
}

static void test_wire_unpack_garbage(void **state)
{
    (void)state;
    /* field 6 (event), wire type 2, length 100 but only 2 bytes follow */
    const uint8_t bad[] = {0x32, 100, 1, 2};
    assert_null(hc_wire_unpack(bad, sizeof bad));
    const uint8_t bad2[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_null(hc_wire_unpack(bad2, sizeof bad2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_big_endian),       cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_oversize),          cmocka_unit_test(test_reader_byte_by_byte),
        cmocka_unit_test(test_reader_coalesced),        cmocka_unit_test(test_reader_empty),
        cmocka_unit_test(test_reader_oversize_invalid), cmocka_unit_test(test_reader_large_growth),
        cmocka_unit_test(test_wire_event_round_trip),   cmocka_unit_test(test_wire_ping_via_reader),
        cmocka_unit_test(test_wire_unpack_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
