/*
 * herald-sendcost: what one small loopback TCP send costs on this machine,
 * with nothing of Herald in the way (a floor for the fan-out benchmark's
 * "server CPU per delivery", see docs/benchmarks.md).
 *
 * It opens --conns loopback TCP connections, forks a reader process that
 * drains all of them with epoll, and then writes --bursts bursts of one
 * --size byte message per connection, --gap-ms apart (the fan-out
 * scenario at 10 events/s is bursts of 2,500 sends 100 ms apart per
 * gateway). --mode send writes each burst with one send() per socket;
 * --mode uring submits each burst as one io_uring batch (MSG_DONTWAIT, so
 * every send completes inside the submit call, as the gateway's
 * gw_sendbatch does). It prints one JSON line: the sender's CPU (user +
 * system, getrusage) per send and the reader's CPU per message. Both
 * processes' kernel work is included; on loopback the receiving half of
 * TCP runs in the sender's system call. Bounded by --bursts.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef HL_HAVE_URING
#include <liburing.h>
#endif

static double rusage_us(int who)
{
    struct rusage r;
    getrusage(who, &r);
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 +
           (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec);
}

static void die(const char *what)
{
    fprintf(stderr, "herald-sendcost: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* The reader: drains every client socket until it has all the bytes. */
static void reader(const int *fds, int n, long want)
{
    int ep = epoll_create1(0);
    if (ep < 0)
        die("epoll_create1");
    for (int i = 0; i < n; i++) {
        struct epoll_event e = {.events = EPOLLIN, .data.fd = fds[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e) < 0)
            die("epoll_ctl");
    }
    static char buf[65536];
    struct epoll_event ev[256];
    long got = 0;
    while (got < want) {
        int k = epoll_wait(ep, ev, 256, 10000);
        if (k <= 0)
            _exit(k == 0 ? 3 : 1); /* 10 s without data: the sender died */
        for (int i = 0; i < k; i++) {
            ssize_t r = read(ev[i].data.fd, buf, sizeof buf);
            if (r > 0)
                got += r;
        }
    }
    _exit(0);
}

int main(int argc, char **argv)
{
    int conns = 2500, bursts = 50, gap_ms = 100, size = 200;
    bool uring = false;
    static const struct option lo[] = {{"conns", 1, 0, 'c'},  {"bursts", 1, 0, 'b'},
                                       {"gap-ms", 1, 0, 'g'}, {"size", 1, 0, 's'},
                                       {"mode", 1, 0, 'm'},   {0, 0, 0, 0}};
    for (int o; (o = getopt_long(argc, argv, "", lo, NULL)) != -1;) {
        switch (o) {
        case 'c':
            conns = atoi(optarg);
            break;
        case 'b':
            bursts = atoi(optarg);
            break;
        case 'g':
            gap_ms = atoi(optarg);
            break;
        case 's':
            size = atoi(optarg);
            break;
        case 'm':
            uring = strcmp(optarg, "uring") == 0;
            break;
        default:
            fprintf(stderr, "usage: herald-sendcost [--conns N] [--bursts B] [--gap-ms MS] "
                            "[--size BYTES] [--mode send|uring]\n");
            return 2;
        }
    }
    if (conns < 1 || conns > 9000 || bursts < 1 || size < 1 || size > 65536 || gap_ms < 0) {
        fprintf(stderr, "herald-sendcost: --conns 1..9000, --bursts >= 1, --size 1..65536\n");
        return 2;
    }
#ifndef HL_HAVE_URING
    if (uring) {
        fprintf(stderr, "herald-sendcost: built without liburing\n");
        return 2;
    }
#endif

    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 4096) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) < 0)
        die("listen");
    int *cli = calloc((size_t)conns, sizeof *cli), *srv = calloc((size_t)conns, sizeof *srv);
    if (!cli || !srv)
        die("calloc");
    int one = 1;
    for (int i = 0; i < conns; i++) {
        cli[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (cli[i] < 0 || connect(cli[i], (struct sockaddr *)&a, sizeof a) < 0)
            die("connect");
        srv[i] = accept(l, NULL, NULL);
        if (srv[i] < 0)
            die("accept");
        setsockopt(srv[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    close(l);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        for (int i = 0; i < conns; i++)
            close(srv[i]);
        reader(cli, conns, (long)conns * bursts * size);
    }
    for (int i = 0; i < conns; i++)
        close(cli[i]);

    char *msg = malloc((size_t)size);
    if (!msg)
        die("malloc");
    memset(msg, 'x', (size_t)size);
#ifdef HL_HAVE_URING
    struct io_uring ring;
    if (uring && io_uring_queue_init(4096, &ring, 0) < 0) {
        fprintf(stderr, "herald-sendcost: io_uring unavailable here\n");
        kill(pid, SIGKILL);
        return 1;
    }
#endif
    long short_writes = 0;
    double c0 = rusage_us(RUSAGE_SELF);
    for (int b = 0; b < bursts; b++) {
        if (!uring) {
            for (int i = 0; i < conns; i++)
                if (send(srv[i], msg, (size_t)size, MSG_NOSIGNAL | MSG_DONTWAIT) != size)
                    short_writes++;
        }
#ifdef HL_HAVE_URING
        else {
            for (int i = 0; i < conns;) {
                int k = 0;
                for (; i < conns && k < 4096; i++, k++) {
                    struct io_uring_sqe *q = io_uring_get_sqe(&ring);
                    io_uring_prep_send(q, srv[i], msg, (size_t)size, MSG_NOSIGNAL | MSG_DONTWAIT);
                }
                io_uring_submit_and_wait(&ring, (unsigned)k);
                struct io_uring_cqe *cqe;
                unsigned head, seen = 0;
                io_uring_for_each_cqe(&ring, head, cqe)
                {
                    if (cqe->res != size)
                        short_writes++;
                    seen++;
                }
                io_uring_cq_advance(&ring, seen);
            }
        }
#endif
        if (gap_ms)
            usleep((useconds_t)gap_ms * 1000);
    }
    double sender = rusage_us(RUSAGE_SELF) - c0;
    int st = 0;
    if (short_writes)
        kill(pid, SIGKILL); /* it would wait for bytes that never come */
    waitpid(pid, &st, 0);
    double rd = rusage_us(RUSAGE_CHILDREN);
    double sends = (double)conns * bursts;
    printf("{\"tool\":\"herald-sendcost\",\"mode\":\"%s\",\"conns\":%d,\"bursts\":%d,\"gap_ms\":%d,"
           "\"size\":%d,\"sender_cpu_us_per_send\":%.2f,\"reader_cpu_us_per_msg\":%.2f,"
           "\"short_writes\":%ld}\n",
           uring ? "uring" : "send", conns, bursts, gap_ms, size, sender / sends, rd / sends,
           short_writes);
    return short_writes || !WIFEXITED(st) || WEXITSTATUS(st) ? 1 : 0;
}
