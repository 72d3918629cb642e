/*
 * gw_sendbatch: batched non-blocking sends (see gw_sendbatch.h). Owns the
 * ring (HERALD_HAVE_LIBURING builds) or nothing; the entries and their
 * bytes belong to the caller.
 */
#include "gw_sendbatch.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef HERALD_HAVE_LIBURING
#include <liburing.h>
#endif

#include "hc_mem.h"

#define DEPTH_DEFAULT 1024
#define SEND_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL)
/* res of an entry whose completion is not in yet (a CQE res is 32 bits) */
#define PENDING ((ssize_t)INT32_MIN - 1)

struct gw_sendbatch {
    bool uring;
    unsigned depth;
    char why[160];
#ifdef HERALD_HAVE_LIBURING
    struct io_uring ring;
#endif
};

bool gw_sendbatch_parse_mode(const char *s, gw_sendbatch_mode *mode)
{
    if (!s)
        return false;
    if (!strcasecmp(s, "auto") || !*s)
        *mode = GW_SENDBATCH_AUTO;
    else if (!strcasecmp(s, "on") || !strcasecmp(s, "true") || !strcmp(s, "1"))
        *mode = GW_SENDBATCH_ON;
    else if (!strcasecmp(s, "off") || !strcasecmp(s, "false") || !strcmp(s, "0"))
        *mode = GW_SENDBATCH_OFF;
    else
        return false;
    return true;
}

#ifdef HERALD_HAVE_LIBURING
/* Setup flags, cheapest first; a kernel that does not know one refuses
 * the ring with EINVAL and the next is tried. SUBMIT_ALL: one bad entry
 * does not stop the submission of the rest. */
static const unsigned setup_choices[] = {
    IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
    IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
    IORING_SETUP_SUBMIT_ALL,
    0,
};

/* Submits what is queued and collects n completions into e (user data =
 * index into e). Completions of MSG_DONTWAIT sends are posted during the
 * submission, so the wait returns at once. */
static void submit_collect(gw_sendbatch *b, gw_sendbatch_entry *e, unsigned n)
{
    unsigned got = 0;
    int spins = 0;
    while (got < n) {
        int r = io_uring_submit_and_wait(&b->ring, n - got);
        if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
            /* the ring itself failed: what was not completed failed too */
            for (unsigned i = 0; i < n; i++)
                if (e[i].res == PENDING)
                    e[i].res = r;
            return;
        }
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&b->ring, head, cqe)
        {
            uint64_t i = io_uring_cqe_get_data64(cqe);
            if (i < n && e[i].res == PENDING) {
                e[i].res = cqe->res;
                got++;
            }
            seen++;
        }
        io_uring_cq_advance(&b->ring, seen);
        if (r < 0 && ++spins > 1000) {
            for (unsigned i = 0; i < n; i++)
                if (e[i].res == PENDING)
                    e[i].res = r;
            return;
        }
    }
}

static void run_uring(gw_sendbatch *b, gw_sendbatch_entry *e, size_t n)
{
    for (size_t off = 0; off < n; off += b->depth) {
        unsigned k = (unsigned)(n - off < b->depth ? n - off : b->depth);
        for (unsigned i = 0; i < k; i++) {
            struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
            gw_sendbatch_entry *x = &e[off + i];
            x->res = PENDING;
            io_uring_prep_send(sqe, x->fd, x->p, x->len, SEND_FLAGS);
            io_uring_sqe_set_data64(sqe, i);
        }
        submit_collect(b, e + off, k);
    }
}

/* Does a send on a full socket complete at once (-EAGAIN)? Older kernels
 * arm a poll instead and complete when there is room: useless here (the
 * batch must finish within the submission). */
static bool inline_eagain(gw_sendbatch *b, char *why, size_t whylen)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        snprintf(why, whylen, "probe socketpair: %s", strerror(errno));
        return false;
    }
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    char buf[4096];
    memset(buf, 'x', sizeof(buf));
    while (send(sv[0], buf, sizeof(buf), SEND_FLAGS) > 0)
        ;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
    io_uring_prep_send(sqe, sv[0], buf, sizeof(buf), SEND_FLAGS);
    io_uring_sqe_set_data64(sqe, 0);
    struct io_uring_cqe *cqe = NULL;
    struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 200 * 1000 * 1000};
    int r = io_uring_submit_and_wait_timeout(&b->ring, &cqe, 1, &ts, NULL);
    bool ok = r >= 0 && cqe && cqe->res == -EAGAIN;
    if (!ok)
        snprintf(why, whylen,
                 "a non-blocking io_uring send on a full socket did not complete "
                 "at once (this kernel waits for room)");
    close(sv[1]); /* a send still waiting now completes (EPIPE) */
    if (!cqe || r < 0)
        io_uring_wait_cqe(&b->ring, &cqe);
    if (cqe)
        io_uring_cqe_seen(&b->ring, cqe);
    close(sv[0]);
    return ok;
}

static bool uring_open(gw_sendbatch *b, unsigned setup_flags, bool any_flags, char *why,
                       size_t whylen)
{
    int r = -EINVAL;
    if (any_flags) {
        for (size_t i = 0; i < sizeof(setup_choices) / sizeof(setup_choices[0]); i++) {
            r = io_uring_queue_init(b->depth, &b->ring, setup_choices[i]);
            if (r != -EINVAL)
                break;
        }
    } else {
        r = io_uring_queue_init(b->depth, &b->ring, setup_flags);
    }
    if (r < 0) {
        snprintf(why, whylen, "io_uring_setup: %s%s", strerror(-r),
                 r == -EPERM ? " (seccomp profile or kernel.io_uring_disabled)" : "");
        return false;
    }
    struct io_uring_probe *probe = io_uring_get_probe_ring(&b->ring);
    bool has_send = probe && io_uring_opcode_supported(probe, IORING_OP_SEND);
    if (probe)
        io_uring_free_probe(probe);
    if (!has_send) {
        snprintf(why, whylen, "this kernel's io_uring has no send");
        io_uring_queue_exit(&b->ring);
        return false;
    }
    if (!inline_eagain(b, why, whylen)) {
        io_uring_queue_exit(&b->ring);
        return false;
    }
    return true;
}
#endif

static gw_sendbatch *make(gw_sendbatch_mode mode, unsigned depth, unsigned setup_flags,
                          bool any_flags, char *err, size_t errlen)
{
    gw_sendbatch *b = hc_calloc(1, sizeof(*b));
    b->depth = depth ? depth : DEPTH_DEFAULT;
    if (mode == GW_SENDBATCH_OFF) {
        snprintf(b->why, sizeof(b->why), "turned off (--io-uring off)");
        return b;
    }
#ifdef HERALD_HAVE_LIBURING
    b->uring = uring_open(b, setup_flags, any_flags, b->why, sizeof(b->why));
#else
    (void)setup_flags;
    (void)any_flags;
    snprintf(b->why, sizeof(b->why), "built without liburing");
#endif
    if (!b->uring && mode == GW_SENDBATCH_ON) {
        snprintf(err, errlen, "--io-uring on: io_uring unavailable: %s", b->why);
        free(b);
        return NULL;
    }
    if (b->uring)
        b->why[0] = '\0';
    return b;
}

gw_sendbatch *gw_sendbatch_new(gw_sendbatch_mode mode, unsigned depth, char *err, size_t errlen)
{
    return make(mode, depth, 0, true, err, errlen);
}

gw_sendbatch *gw_sendbatch_new_flags(gw_sendbatch_mode mode, unsigned depth, unsigned setup_flags,
                                     char *err, size_t errlen)
{
    return make(mode, depth, setup_flags, false, err, errlen);
}

bool gw_sendbatch_uring(const gw_sendbatch *b)
{
    return b->uring;
}

const char *gw_sendbatch_backend(const gw_sendbatch *b)
{
    return b->uring ? "io_uring" : "send";
}

const char *gw_sendbatch_why(const gw_sendbatch *b)
{
    return b->why;
}

static void run_plain(gw_sendbatch_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ssize_t r;
        do
            r = send(e[i].fd, e[i].p, e[i].len, SEND_FLAGS);
        while (r < 0 && errno == EINTR);
        e[i].res = r < 0 ? -errno : r;
    }
}

void gw_sendbatch_run(gw_sendbatch *b, gw_sendbatch_entry *e, size_t n)
{
#ifdef HERALD_HAVE_LIBURING
    if (b->uring) {
        run_uring(b, e, n);
        return;
    }
#endif
    (void)b;
    run_plain(e, n);
}

void gw_sendbatch_free(gw_sendbatch *b)
{
    if (!b)
        return;
#ifdef HERALD_HAVE_LIBURING
    if (b->uring)
        io_uring_queue_exit(&b->ring);
#endif
    free(b);
}
