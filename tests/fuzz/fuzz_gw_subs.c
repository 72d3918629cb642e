/*
 * Fuzz target: a hostile broker on a gateway's link. The input is the byte
 * stream a broker sends; it is framed (hc_frame_reader) and decoded
 * (hc_wire_unpack) as gw_link_tcp.c does, and what a broker can drive in
 * the gateway's subscription table is driven with it: Events go to
 * gw_subs_deliver (de-duplication, gap detection, fan-out to two local
 * subscribers of a few channels, one of them excluded by socket_id),
 * Resync starts a repair (gw_subs_repair_begin, as gw_recovery does after
 * a re-home), and a ReplayResponse completes the repair or gap that is
 * waiting (gw_subs_repair_done), whatever it contains. Properties: every
 * frame queued to a subscriber is one JSON object with a string "event"
 * (fuzz_json.h); tearing down leaks nothing (libFuzzer's leak check). At
 * most MAX_FRAMES frames per input; it stops at the first frame that
 * cannot be framed or decoded, as the gateway drops the link there.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_json.h"
#include "gw_subs.h"
#include "hc_frame.h"
#include "hc_log.h"

#define MAX_FRAMES 64

typedef struct state {
    char app[64], channel[128]; /* the repair or gap waiting for a replay */
    bool waiting;
} state;

static void h_wake(void *ud, gw_subscriber *s)
{
    (void)ud, (void)s;
}

static void h_overflow(void *ud, gw_subscriber *s)
{
    (void)ud, (void)s;
}

static void h_first(void *ud, const char *app_id, const char *channel)
{
    (void)ud, (void)app_id, (void)channel;
}

static void h_gap(void *ud, const char *app_id, const char *channel, const char *epoch,
                  uint64_t last)
{
    (void)epoch, (void)last;
    state *st = ud;
    if (strlen(app_id) < sizeof(st->app) && strlen(channel) < sizeof(st->channel)) {
        strcpy(st->app, app_id);
        strcpy(st->channel, channel);
        st->waiting = true;
    }
}

static void drain(gw_subscriber *s)
{
    hc_rbuf *b;
    while ((b = gw_outq_peek(&s->q))) {
        if (!fz_json_event_object((const char *)hc_rbuf_data(b), b->len))
            abort();
        gw_outq_pop(&s->q);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    hc_log_set_level(HC_LOG_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const chans[] = {"a", "b", "presence-a", "private-a"};
    state st = {.waiting = false};
    gw_subs_hooks hooks = {h_wake, h_overflow, h_first, h_first, h_gap};
    gw_subs *t = gw_subs_new(&hooks, &st, 16);
    gw_subscriber s1, s2;
    gw_subscriber_init(&s1, "1.1", 32);
    gw_subscriber_init(&s2, "1.2", 32);
    for (size_t i = 0; i < sizeof(chans) / sizeof(*chans); i++) {
        gw_subs_join(t, &s1, "app-id", chans[i]);
        if (i % 2 == 0)
            gw_subs_join(t, &s2, "app-id", chans[i]);
    }

    hc_frame_reader rd;
    hc_frame_reader_init(&rd, 64 * 1024);
    hc_frame_reader_feed(&rd, data, size);
    for (int n = 0; n < MAX_FRAMES; n++) {
        const uint8_t *p;
        size_t len;
        if (hc_frame_reader_next(&rd, &p, &len) != HC_FRAME_OK)
            break;
        Herald__Frame *f = hc_wire_unpack(p, len);
        if (!f)
            break;
        if (f->msg_case == HERALD__FRAME__MSG_EVENT) {
            gw_subs_deliver(t, f->event);
        } else if (f->msg_case == HERALD__FRAME__MSG_RESYNC && !st.waiting) {
            char epoch[128];
            uint64_t last;
            const Herald__Interest *in = f->resync;
            if (in->app_id && in->channel && strlen(in->app_id) < sizeof(st.app) &&
                strlen(in->channel) < sizeof(st.channel) &&
                gw_subs_repair_begin(t, in->app_id, in->channel, epoch, sizeof(epoch), &last)) {
                strcpy(st.app, in->app_id);
                strcpy(st.channel, in->channel);
                st.waiting = true;
            }
        } else if (f->msg_case == HERALD__FRAME__MSG_REPLAY_RESPONSE && st.waiting) {
            st.waiting = false;
            gw_subs_repair_done(t, st.app, st.channel, f->replay_response);
        }
        herald__frame__free_unpacked(f, NULL);
        drain(&s1);
        drain(&s2);
    }
    hc_frame_reader_free(&rd);
    if (st.waiting) /* the link drops: gw_recovery accepts the gap */
        gw_subs_repair_done(t, st.app, st.channel, NULL);
    drain(&s1);
    drain(&s2);
    gw_subs_leave_all(t, &s1);
    gw_subs_leave_all(t, &s2);
    gw_subs_free(t);
    return 0;
}
