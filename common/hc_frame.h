/*
 * hc_frame: length-prefixed framing for the gateway <-> broker links.
 *
 * A frame is a 4-byte big-endian payload length followed by the payload (a
 * serialized herald.Frame). This module only splits and joins bytes; it
 * never touches a socket. hc_frame_reader accumulates whatever a read
 * returned (split or coalesced frames alike) and hands out whole frames.
 * hc_wire_* below packs/unpacks herald.Frame protobufs into framed buffers.
 */
#ifndef HC_FRAME_H
#define HC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "hc_buf.h"
#include "herald.pb-c.h"

#define HC_FRAME_HEADER 4
#define HC_FRAME_MAX_DEFAULT (4u * 1024u * 1024u)

typedef enum { HC_FRAME_OK = 0, HC_FRAME_NEED_MORE = 1, HC_FRAME_INVALID = -1 } hc_frame_status;

/* Pure parser over buf[0..len). On HC_FRAME_OK sets *payload, *payload_len
 * (pointing into buf) and *consumed (header + payload). A declared length
 * above max is HC_FRAME_INVALID. */
hc_frame_status hc_frame_parse(const uint8_t *buf, size_t len, size_t max, const uint8_t **payload,
                               size_t *payload_len, size_t *consumed);
void hc_frame_put_header(uint8_t out[HC_FRAME_HEADER], uint32_t payload_len);

typedef struct hc_frame_reader {
    uint8_t *buf;
    size_t len, cap, off;
    size_t max;
} hc_frame_reader;

/* max 0 means HC_FRAME_MAX_DEFAULT. */
void hc_frame_reader_init(hc_frame_reader *r, size_t max);
void hc_frame_reader_free(hc_frame_reader *r);
/* Appends bytes received from the peer (copied). */
void hc_frame_reader_feed(hc_frame_reader *r, const void *p, size_t n);
/* Next whole frame: HC_FRAME_OK with payload valid until the next call to
 * feed/next; HC_FRAME_NEED_MORE when none is complete; HC_FRAME_INVALID when
 * the stream is corrupt (the link must be closed). */
hc_frame_status hc_frame_reader_next(hc_frame_reader *r, const uint8_t **payload, size_t *len);

/* Packs f into a new hc_rbuf (refs = 1) holding header + payload, with
 * `headroom` spare bytes in front. */
hc_rbuf *hc_wire_pack(const Herald__Frame *f, size_t headroom);
/* Unpacks a payload; NULL if invalid. Free with herald__frame__free_unpacked(f, NULL). */
Herald__Frame *hc_wire_unpack(const uint8_t *payload, size_t len);

#endif
