/* Unit tests for hc_log: level parsing, filtering and the line format
 * (stderr is redirected to a temporary file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hc_log.h"

/* Runs fn with stderr captured; returns what it wrote (caller frees). */
static char *capture(void (*fn)(void))
{
    fflush(stderr);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(tmp), STDERR_FILENO);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    fseek(tmp, 0, SEEK_END);
    long n = ftell(tmp);
    assert_true(n >= 0);
    char *out = calloc(1, (size_t)n + 1);
    rewind(tmp);
    assert_int_equal(fread(out, 1, (size_t)n, tmp), (size_t)n);
    fclose(tmp);
    return out;
}

static void test_parse_level(void **state)
{
    (void)state;
    hc_log_level l = HC_LOG_ERROR;
    assert_int_equal(hc_log_parse_level("debug", &l), 0);
    assert_int_equal(l, HC_LOG_DEBUG);
    assert_int_equal(hc_log_parse_level("INFO", &l), 0);
    assert_int_equal(l, HC_LOG_INFO);
    assert_int_equal(hc_log_parse_level("warn", &l), 0);
    assert_int_equal(l, HC_LOG_WARN);
    assert_int_equal(hc_log_parse_level("error", &l), 0);
    assert_int_equal(l, HC_LOG_ERROR);
    assert_int_equal(hc_log_parse_level("verbose", &l), -1);
    assert_int_equal(hc_log_parse_level("", &l), -1);
    assert_int_equal(hc_log_parse_level(NULL, &l), -1);
    assert_int_equal(l, HC_LOG_ERROR); /* untouched on failure */
}

static void emit_some(void)
{
    hc_log_set_component("gateway-1");
    hc_log_set_level(HC_LOG_WARN);
    hc_debug("hidden debug %d", 1);
    hc_info("hidden info");
    hc_warn("shown warn %s", "w");
    hc_error("shown error %d", 2);
    hc_log_set_level(HC_LOG_DEBUG);
    hc_debug("shown debug");
}

static void test_filter_and_format(void **state)
{
    (void)state;
    char *out = capture(emit_some);
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, " WARN  gateway-1: shown warn w\n"));
    assert_non_null(strstr(out, " ERROR gateway-1: shown error 2\n"));
    assert_non_null(strstr(out, " DEBUG gateway-1: shown debug\n"));
    /* "2026-11-23T04:30:00.123Z " at the start of the line */
    assert_true(strlen(out) > 25);
    assert_int_equal(out[4], '-');
    assert_int_equal(out[10], 'T');
    assert_int_equal(out[19], '.');
    assert_int_equal(out[23], 'Z');
    assert_int_equal(out[24], ' ');
    int lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3);
    free(out);
}

static void emit_long(void)
{
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    hc_log_set_level(HC_LOG_INFO);
    hc_info("%s", big);
}

static void test_long_message_truncated_not_overflowing(void **state)
{
    (void)state;
    char *out = capture(emit_long);
    assert_true(strlen(out) > 1000);
    assert_int_equal(out[strlen(out) - 1], '\n');
    free(out);
}

static void emit_json(void)
{
    hc_log_set_component("gw \"1\"");
    hc_log_set_level(HC_LOG_INFO);
    hc_log_set_format(HC_LOG_JSON);
    hc_info("plain\nline");
    hc_warn_ctx("app-1", "1.2", "orders", "slow %d", 7);
    hc_info_ctx(NULL, "1.3", NULL, "only socket");
    hc_log_set_format(HC_LOG_TEXT);
    hc_warn_ctx("app-1", "1.2", "orders", "as text");
}

static void test_json_lines_and_context(void **state)
{
    (void)state;
    hc_log_format f = HC_LOG_TEXT;
    assert_int_equal(hc_log_parse_format("json", &f), 0);
    assert_int_equal(f, HC_LOG_JSON);
    assert_int_equal(hc_log_parse_format("TEXT", &f), 0);
    assert_int_equal(f, HC_LOG_TEXT);
    assert_int_equal(hc_log_parse_format("yaml", &f), -1);
    char *out = capture(emit_json);
    char *l1 = out, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1,
         *l4 = strchr(l3, '\n') + 1;
    assert_memory_equal(l1, "{\"ts\":\"", 7);
    assert_non_null(strstr(l1, "\",\"level\":\"info\",\"component\":\"gw \\\"1\\\"\","
                               "\"msg\":\"plain\\nline\"}\n"));
    assert_non_null(strstr(l2, "\"level\":\"warn\""));
    assert_non_null(strstr(l2, "\"msg\":\"slow 7\",\"app\":\"app-1\",\"socket\":\"1.2\","
                               "\"channel\":\"orders\"}\n"));
    assert_non_null(strstr(l3, "\"msg\":\"only socket\",\"socket\":\"1.3\"}\n"));
    assert_non_null(strstr(l4, "as text [app=app-1 socket=1.2 channel=orders]\n"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_level),
        cmocka_unit_test(test_filter_and_format),
        cmocka_unit_test(test_long_message_truncated_not_overflowing),
        cmocka_unit_test(test_json_lines_and_context),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
