/* Unit tests for gw_discovery's pure parts: the "dns:NAME:PORT" spec, the
 * "ip:port" node names (the rendezvous names every gateway must agree on),
 * and the sorted, de-duplicated set built from a lookup's addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "gw_discovery.h"

static void test_parse(void **state)
{
    (void)state;
    char *host = NULL, *port = NULL, err[128] = "";
    assert_int_equal(
        gw_discovery_parse("dns:herald-broker.herald.svc:7001", &host, &port, err, sizeof err), 1);
    assert_string_equal(host, "herald-broker.herald.svc");
    assert_string_equal(port, "7001");
    free(host);
    free(port);
    /* Not a dns: spec: the caller parses the host:port list itself. */
    assert_int_equal(
        gw_discovery_parse("127.0.0.1:7001,127.0.0.1:7002", &host, &port, err, sizeof err), 0);
    assert_int_equal(gw_discovery_parse(NULL, &host, &port, err, sizeof err), 0);
    const char *bad[] = {"dns:",       "dns:name",       "dns::7001",   "dns:name:",
                         "dns:name:0", "dns:name:70000", "dns:name:7x", "dns:a:1,dns:b:2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(gw_discovery_parse(bad[i], &host, &port, err, sizeof err), -1);
        assert_non_null(strstr(err, "dns:HOST:PORT"));
    }
}

static struct sockaddr_in v4(const char *ip)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static void test_format(void **state)
{
    (void)state;
    char out[64];
    struct sockaddr_in a = v4("10.1.2.3");
    assert_true(gw_discovery_format((struct sockaddr *)&a, "7001", out, sizeof out));
    assert_string_equal(out, "10.1.2.3:7001");
    struct sockaddr_in6 b;
    memset(&b, 0, sizeof b);
    b.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "fd00::1", &b.sin6_addr);
    assert_true(gw_discovery_format((struct sockaddr *)&b, "7001", out, sizeof out));
    assert_string_equal(out, "[fd00::1]:7001");
    assert_false(gw_discovery_format((struct sockaddr *)&a, "7001", out, 8)); /* too small */
    struct sockaddr other = {.sa_family = AF_UNIX};
    assert_false(gw_discovery_format(&other, "7001", out, sizeof out));
}

/* A lookup answer in the order DNS happened to give it, with a duplicate
 * (one entry per socket type in real answers). */
static void test_collect_sorted_unique(void **state)
{
    (void)state;
    struct sockaddr_in s[4] = {v4("10.0.0.9"), v4("10.0.0.10"), v4("10.0.0.9"), v4("10.0.0.2")};
    struct addrinfo ai[4];
    memset(ai, 0, sizeof ai);
    for (int i = 0; i < 4; i++) {
        ai[i].ai_family = AF_INET;
        ai[i].ai_addr = (struct sockaddr *)&s[i];
        ai[i].ai_addrlen = sizeof s[i];
        ai[i].ai_next = i < 3 ? &ai[i + 1] : NULL;
    }
    char **list = NULL;
    size_t n = gw_discovery_collect(ai, "7001", &list);
    assert_int_equal(n, 3);
    /* Sorted as strings: the same set gives the same list on every gateway. */
    assert_string_equal(list[0], "10.0.0.10:7001");
    assert_string_equal(list[1], "10.0.0.2:7001");
    assert_string_equal(list[2], "10.0.0.9:7001");
    gw_discovery_free_list(list, n);

    /* Another order of the same answer: the same list. */
    ai[0].ai_next = NULL;
    ai[3].ai_next = &ai[0];
    n = gw_discovery_collect(&ai[1], "7001", &list);
    assert_int_equal(n, 3);
    assert_string_equal(list[0], "10.0.0.10:7001");
    assert_string_equal(list[2], "10.0.0.9:7001");
    gw_discovery_free_list(list, n);

    assert_int_equal(gw_discovery_collect(NULL, "7001", &list), 0);
    gw_discovery_free_list(list, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_collect_sorted_unique),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
