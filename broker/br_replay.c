/*
 * br_replay: ReplayRequest -> store replay -> ReplayResponse (see
 * br_replay.h). The request waits as a br_pending of its link, so a link
 * that closes first simply gets no answer.
 */
#include "br_replay.h"

#include <stdlib.h>
#include <string.h>

#include "br_core_int.h"
#include "hc_frame.h"
#include "hc_log.h"
#include "hc_mem.h"

/* What a replay in flight needs to build its answer. */
typedef struct rp_wait {
    br_pending *pending;
    char *app_id, *channel;
} rp_wait;

/* Sends ReplayResponse r to l. */
static void send_response(br_core_link *l, Herald__ReplayResponse *r)
{
    Herald__Frame f = HERALD__FRAME__INIT;
    f.msg_case = HERALD__FRAME__MSG_REPLAY_RESPONSE;
    f.replay_response = r;
    hc_rbuf *b = hc_wire_pack(&f, 0);
    br__core_send(l, b);
    hc_rbuf_unref(b);
}

static void send_error(br_core_link *l, uint64_t request_id, const char *error)
{
    Herald__ReplayResponse r = HERALD__REPLAY_RESPONSE__INIT;
    r.request_id = request_id;
    r.error = (char *)error;
    send_response(l, &r);
}

/* Decodes the stored entries into ev[] (pointing into the unpacked
 * messages in in[], which the caller frees). Returns how many decoded;
 * stops at the first undecodable one so the answer stays gap-free. */
static size_t decode_entries(const rp_wait *w, const char *epoch, const br_replay_entry *ents,
                             size_t n, Herald__Event *ev, Herald__Event **in)
{
    size_t k = 0;
    for (; k < n; k++) {
        in[k] = herald__event__unpack(NULL, ents[k].event_len, ents[k].event);
        if (!in[k]) {
            hc_warn("channel %s/%s: undecodable history entry %llu; replay cut there", w->app_id,
                    w->channel, (unsigned long long)ents[k].offset);
            break;
        }
        herald__event__init(&ev[k]);
        ev[k].app_id = w->app_id;
        ev[k].channel = w->channel;
        ev[k].name = in[k]->name;
        ev[k].data = in[k]->data;
        ev[k].socket_id = in[k]->socket_id;
        ev[k].user_id = in[k]->user_id;
        ev[k].epoch = (char *)epoch;
        ev[k].offset = ents[k].offset;
    }
    return k;
}

/* br_replay_done_fn */
static void on_replayed(void *arg, const char *error, const char *epoch, uint64_t offset,
                        bool recovered, bool more, const br_replay_entry *ents, size_t n)
{
    rp_wait *w = arg;
    uint64_t id;
    br_core_link *l = br__core_wait_end(w->pending, &id);
    if (l && error) {
        send_error(l, id, error);
    } else if (l) {
        Herald__Event *ev = hc_calloc(n ? n : 1, sizeof(*ev));
        Herald__Event **evp = hc_calloc(n ? n : 1, sizeof(*evp));
        Herald__Event **in = hc_calloc(n ? n : 1, sizeof(*in));
        size_t k = decode_entries(w, epoch, ents, n, ev, in);
        for (size_t i = 0; i < k; i++)
            evp[i] = &ev[i];
        Herald__ReplayResponse r = HERALD__REPLAY_RESPONSE__INIT;
        r.request_id = id;
        r.ok = true;
        r.recovered = recovered && k == n;
        r.more = more && k == n;
        r.epoch = (char *)epoch;
        r.offset = offset;
        r.n_events = k;
        r.events = evp;
        send_response(l, &r);
        for (size_t i = 0; i < k; i++)
            herald__event__free_unpacked(in[i], NULL);
        free(in);
        free(evp);
        free(ev);
    }
    free(w->app_id);
    free(w->channel);
    free(w);
}

void br_core_replay(br_core *c, br_core_link *l, const Herald__ReplayRequest *r)
{
    (void)c;
    br_store *st = br__core_store(l);
    if (!r->app_id || !r->app_id[0] || !r->channel || !r->channel[0]) {
        send_error(l, r->request_id, "replay without app_id or channel");
        return;
    }
    if (!st->ops->replay) {
        send_error(l, r->request_id, "history is not available on this broker");
        return;
    }
    br_replay_query q = {0};
    if ((r->since_epoch && r->since_epoch[0]) || r->page) {
        q.since_epoch = r->since_epoch ? r->since_epoch : "";
        q.page = r->page;
        q.since_offset = r->since_offset;
    } else {
        q.rewind = r->rewind;
        q.cache = r->cache && r->rewind == 1;
    }
    q.limit = r->limit && r->limit < BR_REPLAY_LIMIT_MAX ? r->limit : BR_REPLAY_LIMIT_MAX;
    rp_wait *w = hc_calloc(1, sizeof(*w));
    w->app_id = hc_strdup(r->app_id);
    w->channel = hc_strdup(r->channel);
    w->pending = br__core_wait(l, r->request_id);
    st->ops->replay(st, r->app_id, r->channel, &q, on_replayed, w);
}
