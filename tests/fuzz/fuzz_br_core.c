/*
 * Fuzz target: a hostile gateway on a broker link. The input is the byte
 * stream a gateway sends: it is split into frames by hc_frame_reader,
 * decoded with hc_wire_unpack and dispatched into br_core exactly as
 * br_server.c does (subscribe, unsubscribe, publish, replay, cluster
 * call), over the in-memory store and a cluster that answers every call
 * at once (ok or an error, alternately). A second, well-behaved link is
 * interested in a few channels so that fan-out runs too. Properties: every
 * frame the core hands to either link is a whole, decodable frame; every
 * publish, replay and cluster call of the fuzzed link is answered exactly
 * once; tearing everything down leaks nothing (libFuzzer's leak check).
 * It stops at the first frame that cannot be framed or decoded, as the
 * broker closes the link there.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "br_core.h"
#include "br_replay.h"
#include "br_store_memory.h"
#include "hc_frame.h"
#include "hc_log.h"

typedef struct peer {
    size_t frames, acks, replies, replays;
} peer;

static void check_frame(peer *p, hc_rbuf *frame)
{
    const uint8_t *payload;
    size_t len, used;
    if (hc_frame_parse(hc_rbuf_data(frame), frame->len, HC_FRAME_MAX_DEFAULT, &payload, &len,
                       &used) != HC_FRAME_OK ||
        used != frame->len)
        abort();
    Herald__Frame *f = hc_wire_unpack(payload, len);
    if (!f)
        abort();
    p->frames++;
    p->acks += f->msg_case == HERALD__FRAME__MSG_PUBLISH_ACK;
    p->replies += f->msg_case == HERALD__FRAME__MSG_CLUSTER_REPLY;
    p->replays += f->msg_case == HERALD__FRAME__MSG_REPLAY_RESPONSE;
    herald__frame__free_unpacked(f, NULL);
}

static void link_send(void *ctx, hc_rbuf *frame)
{
    check_frame(ctx, frame);
}

/* A cluster that answers at once: alternately an error and a fixed JSON. */
static unsigned calls;
static void cl_call(br_cluster *cl, const Herald__ClusterCall *call, br_cluster_done_fn done,
                    void *arg)
{
    (void)cl, (void)call;
    if (++calls % 2)
        done(arg, "refused", NULL, 0);
    else
        done(arg, NULL, "{\"ok\":true}", 11);
}
static void cl_free(br_cluster *cl)
{
    (void)cl;
}
static const br_cluster_ops cl_ops = {cl_call, cl_free};
static br_cluster cluster = {&cl_ops};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    hc_log_set_level(HC_LOG_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    br_store *store = br_store_memory_new(8, 32);
    br_core *core = br_core_new(store);
    br_core_set_cluster(core, &cluster);
    peer good = {0}, bad = {0};
    br_core_link *gl = br_core_link_add(core, link_send, &good);
    br_core_link *bl = br_core_link_add(core, link_send, &bad);
    br_core_subscribe(core, gl, "app-id", "a");
    br_core_subscribe(core, gl, "app-id", "presence-a");
    size_t asked = 0, calls_asked = 0, replays_asked = 0;

    hc_frame_reader rd;
    hc_frame_reader_init(&rd, 64 * 1024);
    hc_frame_reader_feed(&rd, data, size);
    for (;;) {
        const uint8_t *p;
        size_t n;
        if (hc_frame_reader_next(&rd, &p, &n) != HC_FRAME_OK)
            break;
        Herald__Frame *f = hc_wire_unpack(p, n);
        if (!f)
            break;
        switch (f->msg_case) {
        case HERALD__FRAME__MSG_SUBSCRIBE:
        case HERALD__FRAME__MSG_UNSUBSCRIBE: {
            const Herald__Interest *in =
                f->msg_case == HERALD__FRAME__MSG_SUBSCRIBE ? f->subscribe : f->unsubscribe;
            if (!in->app_id || !in->app_id[0] || !in->channel || !in->channel[0])
                break; /* br_server's interest_ok */
            if (f->msg_case == HERALD__FRAME__MSG_SUBSCRIBE)
                br_core_subscribe(core, bl, in->app_id, in->channel);
            else
                br_core_unsubscribe(core, bl, in->app_id, in->channel);
            break;
        }
        case HERALD__FRAME__MSG_PUBLISH:
            asked++;
            br_core_publish(core, bl, f->publish);
            break;
        case HERALD__FRAME__MSG_REPLAY_REQUEST:
            replays_asked++;
            br_core_replay(core, bl, f->replay_request);
            break;
        case HERALD__FRAME__MSG_CLUSTER_CALL:
            calls_asked++;
            br_core_cluster_call(core, bl, f->cluster_call);
            break;
        default:
            break;
        }
        herald__frame__free_unpacked(f, NULL);
    }
    hc_frame_reader_free(&rd);
    /* the memory store and this cluster answer synchronously */
    if (bad.acks != asked || bad.replies != calls_asked || bad.replays != replays_asked)
        abort();
    br_core_link_remove(core, bl);
    br_core_link_remove(core, gl);
    br_core_free(core);
    store->ops->free(store);
    return 0;
}
