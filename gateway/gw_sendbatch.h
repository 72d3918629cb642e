/*
 * gw_sendbatch: many non-blocking socket sends in one go.
 *
 * Owns one io_uring (liburing) when the build has it and the kernel allows
 * it, or nothing (the plain backend: a loop of send() calls). It takes
 * (fd, bytes, length) entries, sends each once with
 * MSG_DONTWAIT|MSG_NOSIGNAL and returns each result: bytes written (maybe
 * fewer than asked) or -errno (-EAGAIN when the socket is full). With
 * MSG_DONTWAIT an io_uring send never waits for room: it completes during
 * the submission (kernels that would arm a poll instead are detected when
 * the ring is made and get the plain backend), so gw_sendbatch_run is a
 * synchronous drop-in for the loop of send() calls, one system call per
 * ring-full of entries instead of one per entry. The bytes are not
 * referenced once run returns. It does not know WebSockets, lws or
 * connections: gw_server's flush pass gathers every dirty plain-TCP
 * connection's bytes, runs them here once per loop turn and hands any
 * unsent rest to lws. Single-threaded: run only from the thread that made
 * it. Unit-tested with real sockets (tests/unit/test_gw_sendbatch.c).
 */
#ifndef GW_SENDBATCH_H
#define GW_SENDBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef enum gw_sendbatch_mode {
    GW_SENDBATCH_AUTO = 0, /* io_uring when available, else send() */
    GW_SENDBATCH_ON,       /* io_uring or fail */
    GW_SENDBATCH_OFF,      /* send() */
} gw_sendbatch_mode;

typedef struct gw_sendbatch gw_sendbatch;

typedef struct gw_sendbatch_entry {
    int fd;
    const void *p;
    size_t len;  /* > 0 */
    ssize_t res; /* set by run: bytes written, or -errno */
} gw_sendbatch_entry;

/* "auto", "on", "off" (also "true"/"false", "1"/"0"); false if none. */
bool gw_sendbatch_parse_mode(const char *s, gw_sendbatch_mode *mode);
/* A batcher whose ring takes depth entries per submission (0: 1024).
 * AUTO falls back to send() when the ring cannot be had (why in
 * gw_sendbatch_why); ON returns NULL with a sentence in err then. */
gw_sendbatch *gw_sendbatch_new(gw_sendbatch_mode mode, unsigned depth, char *err, size_t errlen);
/* The same with the io_uring setup flags given (benchmarks, tests). */
gw_sendbatch *gw_sendbatch_new_flags(gw_sendbatch_mode mode, unsigned depth, unsigned setup_flags,
                                     char *err, size_t errlen);
/* True when sends go through io_uring. */
bool gw_sendbatch_uring(const gw_sendbatch *b);
/* "io_uring" or "send". */
const char *gw_sendbatch_backend(const gw_sendbatch *b);
/* Why the plain backend is used ("" with io_uring). */
const char *gw_sendbatch_why(const gw_sendbatch *b);
/* Sends every entry once (in order of the array; entries on one fd go in
 * that order) and sets each res. Never blocks waiting for socket room. */
void gw_sendbatch_run(gw_sendbatch *b, gw_sendbatch_entry *e, size_t n);
void gw_sendbatch_free(gw_sendbatch *b);

#endif
