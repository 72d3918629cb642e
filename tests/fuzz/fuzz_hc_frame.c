/*
 * Fuzz target: the broker link's framing and protobuf decoding, as a peer
 * process could send them. The input is fed to hc_frame_reader in chunks
 * whose sizes come from the input itself, so split and coalesced frames
 * are both exercised; every whole frame goes through hc_wire_unpack.
 */
#include <stddef.h>
#include <stdint.h>

#include "hc_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hc_frame_reader r;
    hc_frame_reader_init(&r, 64 * 1024);
    size_t off = 0;
    while (off < size) {
        size_t chunk = 1 + data[off] % 64;
        if (chunk > size - off)
            chunk = size - off;
        hc_frame_reader_feed(&r, data + off, chunk);
        off += chunk;
        const uint8_t *payload;
        size_t len;
        hc_frame_status st;
        while ((st = hc_frame_reader_next(&r, &payload, &len)) == HC_FRAME_OK) {
            Herald__Frame *f = hc_wire_unpack(payload, len);
            if (f) {
                hc_rbuf *again = hc_wire_pack(f, 0); /* re-encoding must work */
                hc_rbuf_unref(again);
                herald__frame__free_unpacked(f, NULL);
            }
        }
        if (st == HC_FRAME_INVALID)
            break;
    }
    hc_frame_reader_free(&r);
    return 0;
}
