/* Unit tests for hc_config: precedence (flag > env > alt env > default),
 * flag forms, errors, --help and the help text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hc_config.h"

typedef struct cfg {
    char *host;
    long port;
    bool verbose;
    char *empty;
    long zero;
} cfg;

static const hc_opt opts[] = {
    {"host", "HERALD_HOST", NULL, HC_OPT_STRING, "0.0.0.0", "address to listen on",
     offsetof(cfg, host)},
    {"port", "HERALD_PORT", "SOKETI_PORT", HC_OPT_INT, "6001", "port to listen on",
     offsetof(cfg, port)},
    {"verbose", "HERALD_VERBOSE", NULL, HC_OPT_BOOL, "false", "log more", offsetof(cfg, verbose)},
    {"empty", NULL, NULL, HC_OPT_STRING, NULL, "no default", offsetof(cfg, empty)},
    {"zero", "HERALD_ZERO", NULL, HC_OPT_INT, NULL, "no default", offsetof(cfg, zero)},
};
#define NOPTS (sizeof opts / sizeof opts[0])

/* A fake environment: NAME=value pairs in env_pairs, NULL-terminated. */
static const char *const *env_pairs;

static const char *fake_getenv(const char *name)
{
    for (size_t i = 0; env_pairs && env_pairs[i]; i += 2)
        if (strcmp(env_pairs[i], name) == 0)
            return env_pairs[i + 1];
    return NULL;
}

static hc_config_status load(cfg *c, char err[256], const char *const *env, int argc, ...)
{
    char *argv[16] = {"prog"};
    va_list ap;
    va_start(ap, argc);
    for (int i = 1; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    env_pairs = env;
    memset(c, 0xAB, sizeof *c); /* garbage: load must not free or read it */
    err[0] = '\0';
    return hc_config_load(opts, NOPTS, c, argc, argv, fake_getenv, err, 256);
}

static void test_defaults(void **state)
{
    (void)state;
    cfg c;
    char err[256];
    assert_int_equal(load(&c, err, NULL, 1), HC_CONFIG_OK);
    assert_string_equal(c.host, "0.0.0.0");
    assert_int_equal(c.port, 6001);
    assert_false(c.verbose);
    assert_string_equal(c.empty, "");
    assert_int_equal(c.zero, 0);
    hc_config_free(opts, NOPTS, &c);
    assert_null(c.host);
    assert_null(c.empty);
}

static void test_precedence(void **state)
{
    (void)state;
    cfg c;
    char err[256];
    const char *alt_only[] = {"SOKETI_PORT", "7000", NULL};
    assert_int_equal(load(&c, err, alt_only, 1), HC_CONFIG_OK);
    assert_int_equal(c.port, 7000);
    hc_config_free(opts, NOPTS, &c);

    const char *both[] = {"SOKETI_PORT", "7000", "HERALD_PORT", "8000", NULL};
    assert_int_equal(load(&c, err, both, 1), HC_CONFIG_OK);
    assert_int_equal(c.port, 8000);
    hc_config_free(opts, NOPTS, &c);

    assert_int_equal(load(&c, err, both, 3, "--port", "9000"), HC_CONFIG_OK);
    assert_int_equal(c.port, 9000);
    hc_config_free(opts, NOPTS, &c);

    const char *host_env[] = {"HERALD_HOST", "10.0.0.1", NULL};
    assert_int_equal(load(&c, err, host_env, 1), HC_CONFIG_OK);
    assert_string_equal(c.host, "10.0.0.1");
    hc_config_free(opts, NOPTS, &c);
    assert_int_equal(load(&c, err, host_env, 2, "--host=::1"), HC_CONFIG_OK);
    assert_string_equal(c.host, "::1");
    hc_config_free(opts, NOPTS, &c);
}

static void test_null_getenv(void **state)
{
    (void)state;
    cfg c;
    char err[256];
    char *argv[] = {"prog", "--port=1"};
    memset(&c, 0, sizeof c);
    assert_int_equal(hc_config_load(opts, NOPTS, &c, 2, argv, NULL, err, sizeof err), HC_CONFIG_OK);
    assert_int_equal(c.port, 1);
    hc_config_free(opts, NOPTS, &c);
}

static void test_flag_forms(void **state)
{
    (void)state;
    cfg c;
    char err[256];
    assert_int_equal(load(&c, err, NULL, 4, "--port=123", "--host", "example"), HC_CONFIG_OK);
    assert_int_equal(c.port, 123);
    assert_string_equal(c.host, "example");
    hc_config_free(opts, NOPTS, &c);
    /* a value may start with "--" when given as "--name value"; last wins */
    assert_int_equal(load(&c, err, NULL, 5, "--host", "a", "--host=b", "--empty=x=y"),
                     HC_CONFIG_OK);
    assert_string_equal(c.host, "b");
    assert_string_equal(c.empty, "x=y");
    hc_config_free(opts, NOPTS, &c);
    assert_int_equal(load(&c, err, NULL, 2, "--port=-5"), HC_CONFIG_OK);
    assert_int_equal(c.port, -5);
    hc_config_free(opts, NOPTS, &c);
}

static void test_bools(void **state)
{
    (void)state;
    cfg c;
    char err[256];
    assert_int_equal(load(&c, err, NULL, 2, "--verbose"), HC_CONFIG_OK);
    assert_true(c.verbose);
    hc_config_free(opts, NOPTS, &c);
    const char *on[] = {"HERALD_VERBOSE", "true", NULL};
    assert_int_equal(load(&c, err, on, 1), HC_CONFIG_OK);
    assert_true(c.verbose);
    hc_config_free(opts, NOPTS, &c);
    assert_int_equal(load(&c, err, on, 2, "--no-verbose"), HC_CONFIG_OK);
    assert_false(c.verbose);
    hc_config_free(opts, NOPTS, &c);
    assert_int_equal(load(&c, err, NULL, 2, "--verbose=yes"), HC_CONFIG_OK);
    assert_true(c.verbose);
    hc_config_free(opts, NOPTS, &c);
    assert_int_equal(load(&c, err, on, 2, "--verbose=0"), HC_CONFIG_OK);
    assert_false(c.verbose);
    hc_config_free(opts, NOPTS, &c);
    /* a bool flag does not swallow the next argument */
    assert_int_equal(load(&c, err, NULL, 4, "--verbose", "--port", "5"), HC_CONFIG_OK);
    assert_true(c.verbose);
    assert_int_equal(c.port, 5);
    hc_config_free(opts, NOPTS, &c);
}

static void test_errors(void **state)
{
    (void)state;
    cfg c;
    char err[256];
    assert_int_equal(load(&c, err, NULL, 2, "--bogus=1"), HC_CONFIG_ERROR);
    assert_non_null(strstr(err, "--bogus"));
    hc_config_free(opts, NOPTS, &c);

    assert_int_equal(load(&c, err, NULL, 3, "--port", "12x"), HC_CONFIG_ERROR);
    assert_non_null(strstr(err, "12x"));
    assert_non_null(strstr(err, "port"));
    hc_config_free(opts, NOPTS, &c);

    const char *bad_env[] = {"HERALD_PORT", "eighty", NULL};
    assert_int_equal(load(&c, err, bad_env, 1), HC_CONFIG_ERROR);
    assert_non_null(strstr(err, "HERALD_PORT"));
    hc_config_free(opts, NOPTS, &c);

    assert_int_equal(load(&c, err, NULL, 2, "--port"), HC_CONFIG_ERROR);
    assert_non_null(strstr(err, "--port"));
    hc_config_free(opts, NOPTS, &c);

    assert_int_equal(load(&c, err, NULL, 2, "--verbose=maybe"), HC_CONFIG_ERROR);
    hc_config_free(opts, NOPTS, &c);
    assert_int_equal(load(&c, err, NULL, 2, "--no-port"), HC_CONFIG_ERROR);
    assert_non_null(strstr(err, "--no-port"));
    hc_config_free(opts, NOPTS, &c);
    assert_int_equal(load(&c, err, NULL, 2, "stray"), HC_CONFIG_ERROR);
    assert_non_null(strstr(err, "stray"));
    hc_config_free(opts, NOPTS, &c);
    assert_int_equal(load(&c, err, NULL, 3, "--port", ""), HC_CONFIG_ERROR);
    hc_config_free(opts, NOPTS, &c);
    assert_int_equal(load(&c, err, NULL, 2, "--port=99999999999999999999999"), HC_CONFIG_ERROR);
    hc_config_free(opts, NOPTS, &c);
}

static void test_help(void **state)
{
    (void)state;
    cfg c;
    char err[256];
    assert_int_equal(load(&c, err, NULL, 2, "--help"), HC_CONFIG_HELP);
    hc_config_free(opts, NOPTS, &c);
    assert_int_equal(load(&c, err, NULL, 3, "--port=1", "-h"), HC_CONFIG_HELP);
    hc_config_free(opts, NOPTS, &c);
}

static void test_print_help(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    hc_config_print_help(f, "herald-test", "A test program.", opts, NOPTS);
    long n = ftell(f);
    assert_true(n > 0);
    char *text = calloc(1, (size_t)n + 1);
    rewind(f);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    const char *want[] = {"herald-test", "A test program.",  "--host", "HERALD_HOST",
                          "HERALD_PORT", "SOKETI_PORT",      "6001",   "--[no-]verbose",
                          "--help",      "port to listen on"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_non_null(strstr(text, want[i]));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),    cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_null_getenv), cmocka_unit_test(test_flag_forms),
        cmocka_unit_test(test_bools),       cmocka_unit_test(test_errors),
        cmocka_unit_test(test_help),        cmocka_unit_test(test_print_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
