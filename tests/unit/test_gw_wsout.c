/*
 * Unit tests for gw_wsout (WebSocket framing of queued frames into one run
 * of wire bytes) and for the growing ring of gw_outq it reads: header
 * layouts at the 125/126 and 65535/65536 boundaries, shared frames written
 * in place, batches bounded by max, and a ring that grows to the cap and
 * gives its memory back when drained.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_outq.h"
#include "gw_wsout.h"

#define HEADROOM 16

static hc_rbuf *frame_of(size_t len, char fill)
{
    hc_rbuf *b = hc_rbuf_new(HEADROOM, len);
    memset(hc_rbuf_data(b), fill, len);
    b->len = len;
    return b;
}

static void test_header_lengths(void **state)
{
    (void)state;
    assert_int_equal(gw_wsout_header_len(0), 2);
    assert_int_equal(gw_wsout_header_len(125), 2);
    assert_int_equal(gw_wsout_header_len(126), 4);
    assert_int_equal(gw_wsout_header_len(65535), 4);
    assert_int_equal(gw_wsout_header_len(65536), 10);
}

static void test_frame_layouts(void **state)
{
    (void)state;
    size_t wl;
    hc_rbuf *a = frame_of(125, 'a');
    unsigned char *p = gw_wsout_frame(a, &wl);
    assert_int_equal(wl, 127);
    assert_ptr_equal(p + 2, hc_rbuf_data(a));
    assert_int_equal(p[0], 0x81);
    assert_int_equal(p[1], 125);
    hc_rbuf_unref(a);

    hc_rbuf *b = frame_of(300, 'b');
    p = gw_wsout_frame(b, &wl);
    assert_int_equal(wl, 304);
    assert_int_equal(p[0], 0x81);
    assert_int_equal(p[1], 126);
    assert_int_equal(p[2], 300 >> 8);
    assert_int_equal(p[3], 300 & 0xff);
    hc_rbuf_unref(b);

    hc_rbuf *c = frame_of(70000, 'c');
    p = gw_wsout_frame(c, &wl);
    assert_int_equal(wl, 70010);
    assert_int_equal(p[1], 127);
    static const unsigned char len64[8] = {0, 0, 0, 0, 0, 0x01, 0x11, 0x70};
    assert_memory_equal(p + 2, len64, 8);
    hc_rbuf_unref(c);
}

static void test_gather_one_in_place(void **state)
{
    (void)state;
    gw_outq q;
    gw_outq_init(&q, 8);
    hc_sbuf batch = HC_SBUF_INIT;
    const unsigned char *out;
    size_t len;
    assert_int_equal(gw_wsout_gather(&q, &batch, 1024, &out, &len), 0);
    hc_rbuf *f = frame_of(10, 'x');
    assert_true(gw_outq_push(&q, f));
    assert_int_equal(gw_wsout_gather(&q, &batch, 1024, &out, &len), 1);
    assert_ptr_equal(out, hc_rbuf_data(f) - 2);
    assert_int_equal(len, 12);
    assert_int_equal(batch.len, 0); /* nothing copied */
    hc_rbuf_unref(f);
    gw_outq_free(&q);
    hc_sbuf_free(&batch);
}

static void test_gather_batches_within_max(void **state)
{
    (void)state;
    gw_outq q;
    gw_outq_init(&q, 8);
    hc_sbuf batch = HC_SBUF_INIT;
    hc_rbuf *f = frame_of(8, 'y'); /* 10 bytes on the wire, shared 5 times */
    for (int i = 0; i < 5; i++)
        assert_true(gw_outq_push(&q, f));
    const unsigned char *out;
    size_t len;
    assert_int_equal(gw_wsout_gather(&q, &batch, 35, &out, &len), 3);
    assert_int_equal(len, 30);
    assert_ptr_equal(out, batch.data);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(out[10 * i], 0x81);
        assert_int_equal(out[10 * i + 1], 8);
        assert_memory_equal(out + 10 * i + 2, "yyyyyyyy", 8);
    }
    gw_outq_pop(&q);
    gw_outq_pop(&q);
    gw_outq_pop(&q);
    assert_int_equal(gw_wsout_gather(&q, &batch, 1000, &out, &len), 2);
    assert_int_equal(len, 20);
    /* an oldest frame that alone reaches max goes out alone, in place */
    hc_rbuf *big = frame_of(100, 'z');
    gw_outq_pop(&q);
    assert_true(gw_outq_push(&q, big));
    assert_int_equal(gw_wsout_gather(&q, &batch, 50, &out, &len), 1);
    assert_int_equal(len, 10);
    gw_outq_pop(&q);
    assert_int_equal(gw_wsout_gather(&q, &batch, 50, &out, &len), 1);
    assert_ptr_equal(out, hc_rbuf_data(big) - 2);
    assert_int_equal(len, 102);
    hc_rbuf_unref(f);
    hc_rbuf_unref(big);
    gw_outq_free(&q);
    hc_sbuf_free(&batch);
}

static void test_outq_grows_to_cap_and_shrinks(void **state)
{
    (void)state;
    gw_outq q;
    gw_outq_init(&q, 100);
    hc_rbuf *f = frame_of(1, 'q');
    assert_null(q.ring);
    /* wrap the small ring before it grows: order must survive growth */
    hc_rbuf *g = frame_of(1, 'g');
    for (int i = 0; i < 3; i++)
        assert_true(gw_outq_push(&q, f));
    gw_outq_pop(&q);
    gw_outq_pop(&q);
    for (int i = 0; i < 3; i++)
        assert_true(gw_outq_push(&q, i == 2 ? g : f));
    assert_int_equal(q.alloc, 4);
    assert_true(gw_outq_push(&q, f)); /* grows to 8 with head != 0 */
    assert_int_equal(q.alloc, 8);
    assert_ptr_equal(gw_outq_at(&q, 3), g);
    assert_ptr_equal(gw_outq_at(&q, 4), f);
    while (gw_outq_len(&q))
        gw_outq_pop(&q);
    assert_null(q.ring); /* drained: the ring is given back */
    /* one frame waits in the queue itself; a second one makes the ring */
    assert_true(gw_outq_push(&q, g));
    assert_null(q.ring);
    assert_int_equal(gw_outq_len(&q), 1);
    assert_ptr_equal(gw_outq_peek(&q), g);
    assert_true(gw_outq_push(&q, f));
    assert_int_equal(q.alloc, 4);
    assert_ptr_equal(gw_outq_at(&q, 0), g);
    assert_ptr_equal(gw_outq_at(&q, 1), f);
    gw_outq_pop(&q);
    gw_outq_pop(&q);
    assert_null(q.ring);
    assert_int_equal(g->refs, 1);
    for (int i = 0; i < 100; i++)
        assert_true(gw_outq_push(&q, f));
    assert_false(gw_outq_push(&q, f)); /* the cap, not the ring, bounds it */
    assert_int_equal(f->refs, 101);
    assert_true(q.alloc >= 100);
    while (gw_outq_len(&q))
        gw_outq_pop(&q);
    assert_null(q.ring); /* a burst's ring is given back */
    assert_int_equal(f->refs, 1);
    gw_outq_free(&q);
    hc_rbuf_unref(f);
    hc_rbuf_unref(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_lengths),
        cmocka_unit_test(test_frame_layouts),
        cmocka_unit_test(test_gather_one_in_place),
        cmocka_unit_test(test_gather_batches_within_max),
        cmocka_unit_test(test_outq_grows_to_cap_and_shrinks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
