/*
 * Unit tests of gw_sendbatch with real sockets (socketpairs and loopback
 * TCP): full writes, a full socket (-EAGAIN at once, never blocking), a
 * closed peer, a bad descriptor, more entries than the ring takes, order
 * on one socket; each for the plain send() backend and, when this build
 * and kernel have it, io_uring.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gw_sendbatch.h"

static gw_sendbatch *make(void **state, unsigned depth)
{
    gw_sendbatch_mode mode = *(gw_sendbatch_mode *)*state;
    char err[256] = "";
    gw_sendbatch *b = gw_sendbatch_new(mode, depth, err, sizeof(err));
    if (!b) {
        print_message("io_uring unavailable here: %s\n", err);
        return NULL;
    }
    assert_int_equal(gw_sendbatch_uring(b), mode == GW_SENDBATCH_ON);
    return b;
}

static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static size_t drain(int fd, char *out, size_t cap)
{
    size_t got = 0;
    ssize_t r;
    while (got < cap && (r = recv(fd, out + got, cap - got, MSG_DONTWAIT)) > 0)
        got += (size_t)r;
    return got;
}

static void test_full_writes(void **state)
{
    gw_sendbatch *b = make(state, 0);
    if (!b)
        skip();
    int a[2], c[2];
    pair(a);
    pair(c);
    gw_sendbatch_entry e[3] = {
        {.fd = a[0], .p = "hello ", .len = 6},
        {.fd = c[0], .p = "other", .len = 5},
        {.fd = a[0], .p = "world", .len = 5},
    };
    gw_sendbatch_run(b, e, 3);
    assert_int_equal(e[0].res, 6);
    assert_int_equal(e[1].res, 5);
    assert_int_equal(e[2].res, 5);
    char buf[64];
    size_t n = drain(a[1], buf, sizeof(buf));
    assert_int_equal(n, 11);
    assert_memory_equal(buf, "hello world", 11); /* in order on one socket */
    n = drain(c[1], buf, sizeof(buf));
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "other", 5);
    close(a[0]);
    close(a[1]);
    close(c[0]);
    close(c[1]);
    gw_sendbatch_free(b);
}

/* Fills fd's send buffer (and the peer's receive buffer). */
static void fill(int fd)
{
    char junk[4096];
    memset(junk, 'j', sizeof(junk));
    while (send(fd, junk, sizeof(junk), MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
        ;
}

static void test_full_socket_eagain(void **state)
{
    gw_sendbatch *b = make(state, 0);
    if (!b)
        skip();
    int full[2], ok[2];
    pair(full);
    pair(ok);
    fill(full[0]);
    static char big[8192];
    memset(big, 'b', sizeof(big));
    gw_sendbatch_entry e[2] = {
        {.fd = full[0], .p = big, .len = sizeof(big)},
        {.fd = ok[0], .p = "x", .len = 1},
    };
    /* returns (does not wait for room: the peer never reads) */
    gw_sendbatch_run(b, e, 2);
    assert_int_equal(e[0].res, -EAGAIN);
    assert_int_equal(e[1].res, 1);
    /* the batcher holds nothing: closing the sockets now completes nothing
     * later, and the next run still works */
    close(full[0]);
    close(full[1]);
    gw_sendbatch_entry again = {.fd = ok[0], .p = "y", .len = 1};
    gw_sendbatch_run(b, &again, 1);
    assert_int_equal(again.res, 1);
    char buf[4];
    assert_int_equal(drain(ok[1], buf, sizeof(buf)), 2);
    assert_memory_equal(buf, "xy", 2);
    close(ok[0]);
    close(ok[1]);
    gw_sendbatch_free(b);
}

/* Loopback TCP with a small receive buffer: a large send is written in
 * part (bytes > 0, fewer than asked) or refused (-EAGAIN). */
static void test_partial_tcp(void **state)
{
    gw_sendbatch *b = make(state, 0);
    if (!b)
        skip();
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(l, 1), 0);
    socklen_t sl = sizeof(sa);
    getsockname(l, (struct sockaddr *)&sa, &sl);
    int cli = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(cli, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    assert_int_equal(connect(cli, (struct sockaddr *)&sa, sizeof(sa)), 0);
    int srv = accept(l, NULL, NULL);
    assert_true(srv >= 0);
    size_t len = 4 << 20;
    char *big = malloc(len);
    memset(big, 'p', len);
    gw_sendbatch_entry e = {.fd = cli, .p = big, .len = len};
    gw_sendbatch_run(b, &e, 1);
    assert_true(e.res > 0 && (size_t)e.res < len);
    gw_sendbatch_run(b, &e, 1); /* now full */
    assert_true(e.res == -EAGAIN || (e.res > 0 && (size_t)e.res < len));
    free(big);
    close(srv);
    close(cli);
    close(l);
    gw_sendbatch_free(b);
}

static void test_closed_peer(void **state)
{
    gw_sendbatch *b = make(state, 0);
    if (!b)
        skip();
    int a[2], ok[2];
    pair(a);
    pair(ok);
    close(a[1]);
    gw_sendbatch_entry e[3] = {
        {.fd = a[0], .p = "gone", .len = 4},
        {.fd = -1, .p = "bad", .len = 3},
        {.fd = ok[0], .p = "fine", .len = 4},
    };
    gw_sendbatch_run(b, e, 3); /* SIGPIPE is not ignored: MSG_NOSIGNAL */
    assert_true(e[0].res == -EPIPE || e[0].res == -ECONNRESET);
    assert_int_equal(e[1].res, -EBADF);
    assert_int_equal(e[2].res, 4); /* a failed entry does not stop the rest */
    close(a[0]);
    close(ok[0]);
    close(ok[1]);
    gw_sendbatch_free(b);
}

/* 100 entries through a ring of 8: submitted in chunks, every result in
 * its own entry, order kept on each socket. */
static void test_many_entries(void **state)
{
    gw_sendbatch *b = make(state, 8);
    if (!b)
        skip();
    enum { SOCKS = 10, PER = 10 };
    int sv[SOCKS][2];
    for (int i = 0; i < SOCKS; i++)
        pair(sv[i]);
    static char bytes[SOCKS * PER];
    gw_sendbatch_entry e[SOCKS * PER];
    for (int k = 0; k < PER; k++)
        for (int i = 0; i < SOCKS; i++) {
            int j = k * SOCKS + i;
            bytes[j] = (char)('a' + k);
            e[j] = (gw_sendbatch_entry){.fd = sv[i][0], .p = &bytes[j], .len = 1, .res = 99};
        }
    gw_sendbatch_run(b, e, SOCKS * PER);
    for (int j = 0; j < SOCKS * PER; j++)
        assert_int_equal(e[j].res, 1);
    for (int i = 0; i < SOCKS; i++) {
        char buf[PER + 1];
        assert_int_equal(drain(sv[i][1], buf, sizeof(buf)), PER);
        assert_memory_equal(buf, "abcdefghij", PER);
        close(sv[i][0]);
        close(sv[i][1]);
    }
    gw_sendbatch_free(b);
}

static void test_modes(void **state)
{
    (void)state;
    gw_sendbatch_mode m;
    assert_true(gw_sendbatch_parse_mode("auto", &m) && m == GW_SENDBATCH_AUTO);
    assert_true(gw_sendbatch_parse_mode("ON", &m) && m == GW_SENDBATCH_ON);
    assert_true(gw_sendbatch_parse_mode("off", &m) && m == GW_SENDBATCH_OFF);
    assert_true(gw_sendbatch_parse_mode("0", &m) && m == GW_SENDBATCH_OFF);
    assert_false(gw_sendbatch_parse_mode("maybe", &m));
    assert_false(gw_sendbatch_parse_mode(NULL, &m));
    char err[256] = "";
    gw_sendbatch *b = gw_sendbatch_new(GW_SENDBATCH_OFF, 0, err, sizeof(err));
    assert_non_null(b);
    assert_false(gw_sendbatch_uring(b));
    assert_string_equal(gw_sendbatch_backend(b), "send");
    assert_non_null(strstr(gw_sendbatch_why(b), "off"));
    gw_sendbatch_free(b);
    /* auto never fails; on fails exactly when auto falls back */
    b = gw_sendbatch_new(GW_SENDBATCH_AUTO, 0, err, sizeof(err));
    assert_non_null(b);
    bool uring = gw_sendbatch_uring(b);
    print_message("auto: %s %s\n", gw_sendbatch_backend(b), gw_sendbatch_why(b));
    gw_sendbatch_free(b);
    b = gw_sendbatch_new(GW_SENDBATCH_ON, 0, err, sizeof(err));
    assert_int_equal(b != NULL, uring);
    if (!b)
        assert_non_null(strstr(err, "io_uring"));
    gw_sendbatch_free(b);
}

static gw_sendbatch_mode plain = GW_SENDBATCH_OFF, uring = GW_SENDBATCH_ON;

#define BOTH(t) cmocka_unit_test_prestate(t, &plain), cmocka_unit_test_prestate(t, &uring)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes), BOTH(test_full_writes), BOTH(test_full_socket_eagain),
        BOTH(test_partial_tcp),       BOTH(test_closed_peer), BOTH(test_many_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
