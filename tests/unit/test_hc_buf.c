/* Unit tests for hc_buf: hc_sbuf growth, printf and JSON string escaping;
 * hc_rbuf headroom and reference counting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hc_buf.h"

static void json(hc_sbuf *b, const char *s, size_t n)
{
    hc_sbuf_reset(b);
    hc_sbuf_json_string(b, s, n);
}

static void test_append_and_nul(void **state)
{
    (void)state;
    hc_sbuf b = HC_SBUF_INIT;
    hc_sbuf_append(&b, "ab", 2);
    hc_sbuf_puts(&b, "cd");
    hc_sbuf_append(&b, "", 0);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "abcd");
    assert_true(b.cap > b.len);
    hc_sbuf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    hc_sbuf_free(&b);
    assert_null(b.data);
}

static void test_growth(void **state)
{
    (void)state;
    hc_sbuf b = HC_SBUF_INIT;
    for (int i = 0; i < 10000; i++)
        hc_sbuf_append(&b, "x", 1);
    assert_int_equal(b.len, 10000);
    assert_int_equal(strlen(b.data), 10000);
    hc_sbuf_reserve(&b, 100000);
    assert_true(b.cap >= 110001);
    assert_int_equal(b.len, 10000);
    hc_sbuf_free(&b);
}

static void test_printf_growth(void **state)
{
    (void)state;
    hc_sbuf b = HC_SBUF_INIT;
    hc_sbuf_printf(&b, "%d-%s", 42, "x");
    assert_string_equal(b.data, "42-x");
    char big[5000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    hc_sbuf_printf(&b, "[%s]", big);
    assert_int_equal(b.len, 4 + 2 + 4999);
    assert_int_equal(b.data[4], '[');
    assert_int_equal(b.data[b.len - 1], ']');
    assert_int_equal(b.data[b.len], '\0');
    hc_sbuf_printf(&b, "%s", "");
    assert_int_equal(b.len, 4 + 2 + 4999);
    hc_sbuf_free(&b);
}

static void test_printf_on_empty_gives_string(void **state)
{
    (void)state;
    hc_sbuf b = HC_SBUF_INIT;
    hc_sbuf_printf(&b, "%s", "");
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    hc_sbuf_free(&b);
}

static void test_json_plain_and_quotes(void **state)
{
    (void)state;
    hc_sbuf b = HC_SBUF_INIT;
    json(&b, "hello", 5);
    assert_string_equal(b.data, "\"hello\"");
    json(&b, "", 0);
    assert_string_equal(b.data, "\"\"");
    json(&b, "say \"hi\"", 8);
    assert_string_equal(b.data, "\"say \\\"hi\\\"\"");
    json(&b, "a\\b", 3);
    assert_string_equal(b.data, "\"a\\\\b\"");
    json(&b, "/", 1);
    assert_string_equal(b.data, "\"/\"");
    hc_sbuf_free(&b);
}

static void test_json_control_chars(void **state)
{
    (void)state;
    hc_sbuf b = HC_SBUF_INIT;
    json(&b, "\n\r\t\b\f", 5);
    assert_string_equal(b.data, "\"\\n\\r\\t\\b\\f\"");
    json(&b, "\x01\x1f\x7f", 3);
    assert_string_equal(b.data, "\"\\u0001\\u001f\x7f\"");
    json(&b, "a\0b", 3);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "\"a\\u0000b\"", 10);
    /* UTF-8 bytes pass through */
    json(&b, "\xe2\x82\xac", 3);
    assert_string_equal(b.data, "\"\xe2\x82\xac\"");
    /* appends, does not overwrite */
    hc_sbuf_reset(&b);
    hc_sbuf_puts(&b, "{\"k\":");
    hc_sbuf_json_string(&b, "v\"", 2);
    hc_sbuf_puts(&b, "}");
    assert_string_equal(b.data, "{\"k\":\"v\\\"\"}");
    hc_sbuf_free(&b);
}

static void test_steal(void **state)
{
    (void)state;
    hc_sbuf b = HC_SBUF_INIT;
    hc_sbuf_puts(&b, "mine");
    char *s = hc_sbuf_steal(&b);
    assert_string_equal(s, "mine");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    free(s);
    s = hc_sbuf_steal(&b); /* empty: still a string */
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    hc_sbuf_puts(&b, "reusable");
    assert_string_equal(b.data, "reusable");
    hc_sbuf_free(&b);
}

static void test_rbuf_headroom(void **state)
{
    (void)state;
    hc_rbuf *b = hc_rbuf_from(16, "payload", 7);
    assert_int_equal(b->refs, 1);
    assert_int_equal(b->headroom, 16);
    assert_int_equal(b->len, 7);
    assert_int_equal(b->cap, 7);
    assert_ptr_equal(hc_rbuf_data(b), b->mem + 16);
    assert_memory_equal(hc_rbuf_data(b), "payload", 7);
    /* headroom is writable (ASan would flag otherwise) */
    memset(b->mem, 0xee, 16);
    assert_memory_equal(hc_rbuf_data(b), "payload", 7);
    hc_rbuf_unref(b);

    hc_rbuf *c = hc_rbuf_new(4, 100);
    assert_int_equal(c->len, 0);
    assert_int_equal(c->cap, 100);
    memset(hc_rbuf_data(c), 'z', 100);
    c->len = 100;
    hc_rbuf_unref(c);

    hc_rbuf *e = hc_rbuf_from(0, NULL, 0);
    assert_int_equal(e->len, 0);
    hc_rbuf_unref(e);
}

static void test_rbuf_refcount(void **state)
{
    (void)state;
    hc_rbuf *b = hc_rbuf_from(8, "x", 1);
    hc_rbuf *r1 = hc_rbuf_ref(b);
    hc_rbuf *r2 = hc_rbuf_ref(b);
    assert_ptr_equal(r1, b);
    assert_ptr_equal(r2, b);
    assert_int_equal(b->refs, 3);
    hc_rbuf_unref(r1);
    assert_int_equal(b->refs, 2);
    hc_rbuf_unref(r2);
    assert_int_equal(b->refs, 1);
    assert_memory_equal(hc_rbuf_data(b), "x", 1);
    hc_rbuf_unref(b); /* freed here: LeakSanitizer checks the others did not */
    hc_rbuf_unref(NULL);
}

/* Well-formed UTF-8 passes through; anything else becomes \ufffd per byte,
 * so the result always parses as JSON. */
static void test_json_utf8(void **state)
{
    (void)state;
    hc_sbuf b = HC_SBUF_INIT;
    json(&b, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14);
    assert_string_equal(b.data, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    json(&b,
         "a\x90"
         "b",
         3); /* lone continuation byte */
    assert_string_equal(b.data, "\"a\\ufffd"
                                "b\"");
    json(&b, "\xc0\xaf", 2); /* overlong '/' */
    assert_string_equal(b.data, "\"\\ufffd\\ufffd\"");
    json(&b, "\xed\xa0\x80", 3); /* UTF-16 surrogate */
    assert_string_equal(b.data, "\"\\ufffd\\ufffd\\ufffd\"");
    json(&b, "x\xe2\x82", 3); /* truncated at the end */
    assert_string_equal(b.data, "\"x\\ufffd\\ufffd\"");
    json(&b, "\xf4\x90\x80\x80", 4); /* above U+10FFFF */
    assert_string_equal(b.data, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    hc_sbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_nul),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_printf_growth),
        cmocka_unit_test(test_printf_on_empty_gives_string),
        cmocka_unit_test(test_json_plain_and_quotes),
        cmocka_unit_test(test_json_control_chars),
        cmocka_unit_test(test_json_utf8),
        cmocka_unit_test(test_steal),
        cmocka_unit_test(test_rbuf_headroom),
        cmocka_unit_test(test_rbuf_refcount),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
