/*
 * gw_wsout: the bytes a connection's queued frames put on the wire.
 *
 * Owns nothing but the rules: how an unmasked, final WebSocket text frame
 * is laid out (RFC 6455 5.2: 2, 4 or 10 header bytes, then the payload)
 * and how a connection's backlog becomes ONE run of bytes, so the gateway
 * makes one write per connection per loop turn however many frames are
 * queued. The header goes into the frame's headroom (hc_rbuf, LWS_PRE
 * bytes): a server frame is not masked, so every recipient of a shared
 * frame gets the very same bytes and the header is the same whoever writes
 * it. It does not write to sockets, pop the queue or know lws: gw_server's
 * flush calls it, writes what it returns with one lws_write(LWS_WRITE_RAW)
 * and pops the frames it covered. Pure, single-threaded, unit-tested
 * (tests/unit/test_gw_wsout.c).
 */
#ifndef GW_WSOUT_H
#define GW_WSOUT_H

#include <stddef.h>

#include "gw_outq.h"
#include "hc_buf.h"

/* Most header bytes a frame needs; a frame's headroom must be at least
 * this. */
#define GW_WSOUT_HEADER_MAX 10

/* Header length of a text frame carrying len payload bytes. */
size_t gw_wsout_header_len(size_t len);
/* Writes f's header into its headroom (FIN, text opcode, no mask) and
 * returns the first byte of the frame on the wire; *wire_len gets header +
 * payload. f->headroom must be >= GW_WSOUT_HEADER_MAX. */
unsigned char *gw_wsout_frame(hc_rbuf *f, size_t *wire_len);
/* The oldest frames of q as one run of wire bytes: returns how many frames
 * it covers (0 only when q is empty) and sets *out and *len. One frame, or
 * an oldest frame of max bytes or more, is returned in place (no copy);
 * otherwise the frames are copied into batch (reset first) while the total
 * stays within max bytes. */
size_t gw_wsout_gather(const gw_outq *q, hc_sbuf *batch, size_t max, const unsigned char **out,
                       size_t *len);

#endif
