/*
 * Fuzz target: the Pusher client message decoder (gw_pusher_on_message),
 * i.e. everything a WebSocket client can send after connecting. The input
 * is split at 0xFF bytes (never valid in UTF-8 text frames) into at most
 * MAX_MESSAGES messages on one connection. Every frame the server sends back must be
 * valid JSON with a string "event", and the local subscription count must
 * stay consistent with what the protocol code believes. Replies are
 * checked with fuzz_json.h (allocation-free) for speed.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_json.h"
#include "hc_log.h"
#include "gw_pusher.h"
#include "hc_map.h"

#define MAX_MESSAGES 64

typedef struct fake {
    hc_map subs;
    bool closed;
} fake;

static void f_send(void *ud, const char *text, size_t len)
{
    (void)ud;
    /* fuzz_json.h, not jansson: parsing every reply with jansson was two
     * thirds of this target's time. Every 64th reply is also parsed with
     * jansson, so the two checks are kept honest against each other. */
    static unsigned n;
    if (!fz_json_event_object(text, len))
        abort();
    if (++n % 64 == 0) {
        json_error_t e;
        json_t *j = json_loadb(text, len, 0, &e);
        if (!j || !json_is_string(json_object_get(j, "event")))
            abort();
        json_decref(j);
    }
}

static void f_close(void *ud, int code, const char *reason)
{
    fake *f = ud;
    if (code < 1000 || !reason)
        abort();
    f->closed = true;
}

static int f_subscribe(void *ud, const char *ch)
{
    fake *f = ud;
    if (hc_map_get(&f->subs, ch, strlen(ch)))
        return 0;
    hc_map_put(&f->subs, ch, strlen(ch), (void *)1);
    return 1;
}

static int f_is_subscribed(void *ud, const char *ch)
{
    fake *f = ud;
    return hc_map_get(&f->subs, ch, strlen(ch)) != NULL;
}

static int f_unsubscribe(void *ud, const char *ch)
{
    fake *f = ud;
    return hc_map_del(&f->subs, ch, strlen(ch)) != NULL;
}

static void f_publish(void *ud, const char *ch, const char *name, const char *data, size_t len,
                      const char *user_id)
{
    (void)ud, (void)ch, (void)name, (void)data, (void)len, (void)user_id;
}

static const gw_pusher_io io = {.send = f_send,
                                .close = f_close,
                                .subscribe = f_subscribe,
                                .is_subscribed = f_is_subscribed,
                                .unsubscribe = f_unsubscribe,
                                .publish = f_publish};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    hc_log_set_level(HC_LOG_ERROR); /* refusals are expected; keep the fuzzer fast */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hc_app app;
    hc_app_defaults(&app);
    app.id = "app-id";
    app.key = "app-key";
    app.secret = "app-secret";
    fake f = {HC_MAP_INIT, false};
    gw_pusher_conn c;
    gw_pusher_init(&c, &io, &f, &app, "123.456", 8);
    gw_pusher_established(&c, 120);
    /* At most MAX_MESSAGES messages (the rest of the input is the last
     * one): enough to fill the 8 subscriptions and leave them again, while
     * inputs of hundreds of tiny messages (each an error reply) no longer
     * cost a hundred times more than they explore. */
    size_t start = 0, nmsg = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || (data[i] == 0xFF && nmsg + 1 < MAX_MESSAGES)) {
            nmsg++;
            gw_pusher_on_message(&c, (const char *)data + start, i - start);
            start = i + 1;
        }
    }
    if (c.nsubs != f.subs.count || f.subs.count > 8)
        abort();
    gw_pusher_release(&c);
    hc_map_free(&f.subs);
    return 0;
}
