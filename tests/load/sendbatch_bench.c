/*
 * sendbatch-bench: sender CPU per socket write, gw_sendbatch's backends
 * side by side (docs/benchmarks.md, "Batched sends with io_uring").
 *
 * Opens N loopback TCP connections whose far ends a child process reads
 * (epoll, discarding), then for each backend writes B bursts of one
 * LEN-byte send per socket, a burst every 100 ms (the fan-out of one event
 * at 10 events/s), and prints the sender's CPU (user + system) per send.
 * Backends: send (a loop of send()), then io_uring with each setup flag
 * set gw_sendbatch tries (defer: SINGLE_ISSUER|DEFER_TASKRUN, coop:
 * COOP_TASKRUN, plain: none; all with SUBMIT_ALL). Not a test: a
 * measurement tool, built beside herald-load.
 *
 *   build/tests/load/sendbatch-bench [N=2500] [BURSTS=50] [LEN=200]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gw_sendbatch.h"

#ifdef HERALD_HAVE_LIBURING
#include <liburing.h>
#endif

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void reader(int *fds, int n)
{
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fds[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    static char buf[65536];
    struct epoll_event evs[256];
    for (;;) {
        int k = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < k; i++)
            if (read(evs[i].data.fd, buf, sizeof(buf)) == 0)
                _exit(0);
    }
}

static void bench(const char *name, gw_sendbatch *b, int *fds, int n, int bursts, size_t len)
{
    char *msg = malloc(len);
    memset(msg, 'm', len);
    gw_sendbatch_entry *e = calloc((size_t)n, sizeof(*e));
    long sent = 0, short_writes = 0;
    double c0 = cpu_s();
    for (int r = 0; r < bursts; r++) {
        for (int i = 0; i < n; i++)
            e[i] = (gw_sendbatch_entry){.fd = fds[i], .p = msg, .len = len};
        gw_sendbatch_run(b, e, (size_t)n);
        for (int i = 0; i < n; i++) {
            sent++;
            if (e[i].res != (ssize_t)len)
                short_writes++;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    double c = cpu_s() - c0;
    printf("%-16s %8ld sends  %6.2f us sender CPU per send  (%ld short)\n", name, sent,
           c * 1e6 / (double)sent, short_writes);
    free(e);
    free(msg);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2500;
    int bursts = argc > 2 ? atoi(argv[2]) : 50;
    size_t len = argc > 3 ? (size_t)atoi(argv[3]) : 200;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 4096)) {
        perror("listen");
        return 1;
    }
    socklen_t sl = sizeof(sa);
    getsockname(l, (struct sockaddr *)&sa, &sl);
    int *snd = calloc((size_t)n, sizeof(int)), *rcv = calloc((size_t)n, sizeof(int));
    for (int i = 0; i < n; i++) {
        snd[i] = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(snd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(snd[i], (struct sockaddr *)&sa, sizeof(sa))) {
            perror("connect");
            return 1;
        }
        rcv[i] = accept(l, NULL, NULL);
    }
    pid_t child = fork();
    if (child == 0)
        reader(rcv, n);
    for (int i = 0; i < n; i++)
        close(rcv[i]);
    char err[256];
    gw_sendbatch *b = gw_sendbatch_new(GW_SENDBATCH_OFF, 0, err, sizeof(err));
    bench("send", b, snd, n, bursts, len);
    gw_sendbatch_free(b);
#ifdef HERALD_HAVE_LIBURING
    static const struct {
        const char *name;
        unsigned flags;
    } v[] = {
        {"io_uring defer",
         IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN},
        {"io_uring coop", IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN},
        {"io_uring plain", IORING_SETUP_SUBMIT_ALL},
    };
    for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
        b = gw_sendbatch_new_flags(GW_SENDBATCH_ON, 0, v[k].flags, err, sizeof(err));
        if (!b) {
            printf("%-16s unavailable: %s\n", v[k].name, err);
            continue;
        }
        bench(v[k].name, b, snd, n, bursts, len);
        gw_sendbatch_free(b);
    }
    b = gw_sendbatch_new(GW_SENDBATCH_OFF, 0, err, sizeof(err));
    bench("send (again)", b, snd, n, bursts, len);
    gw_sendbatch_free(b);
#else
    printf("built without liburing: io_uring not measured\n");
#endif
    for (int i = 0; i < n; i++)
        close(snd[i]);
    kill(child, SIGTERM);
    waitpid(child, NULL, 0);
    return 0;
}
