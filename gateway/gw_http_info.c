/*
 * gw_http_info: the `info` of a trigger request (POST events with
 * "info":"user_count,subscription_count", or batch_events whose events
 * carry one: then the answer is {"batch":[{...}, ...]}, one per event).
 *
 * Owns one short-lived record per request: it asks the cluster state for
 * each channel of the trigger (one "channel" ClusterCall each, after the
 * publishes were acknowledged), keeps the attributes Pusher returns
 * (user_count for presence channels, subscription_count) and writes
 * {"channels":{"<name>":{...}}} as the answer. A channel whose query
 * fails is left out. Called by gw_http.c; the request stays alive while
 * *pending is non-zero.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "gw_server_int.h"
#include "hc_mem.h"

typedef struct info_req {
    gw_api_response *resp;
    int *pending;
    void (*done)(void *);
    void *ud;
    json_t *channels; /* POST events: name -> attributes */
    json_t *batch;    /* POST batch_events: one object per event, or NULL */
} info_req;

typedef struct info_one {
    info_req *r;
    char *channel;
    size_t index; /* in batch */
} info_one;

/* One call (or the hold) finished; the last one writes the answer. */
static void release(info_req *r)
{
    if (--*r->pending > 0)
        return;
    json_t *root = r->batch ? json_pack("{s:O}", "batch", r->batch)
                            : json_pack("{s:O}", "channels", r->channels);
    char *text = json_dumps(root, JSON_COMPACT);
    hc_sbuf_reset(&r->resp->body);
    hc_sbuf_puts(&r->resp->body, text ? text : "{}");
    free(text);
    json_decref(root);
    json_decref(r->channels);
    json_decref(r->batch);
    void (*done)(void *) = r->done;
    void *dud = r->ud;
    free(r);
    done(dud);
}

static void one_done(void *ud, const char *error, const char *json, size_t len)
{
    info_one *o = ud;
    info_req *r = o->r;
    json_t *v = error ? NULL : json_loadb(json, len, 0, NULL);
    if (json_is_object(v)) {
        json_object_del(v, "occupied");
        if (r->batch)
            json_array_set(r->batch, o->index, v);
        else
            json_object_set(r->channels, o->channel, v);
    }
    json_decref(v);
    free(o->channel);
    free(o);
    release(r);
}

void gw__http_trigger_info(gw_link *link, gw_api_response *resp, int *pending, void (*done)(void *),
                           void *ud)
{
    info_req *r = hc_calloc(1, sizeof(*r));
    r->resp = resp;
    r->pending = pending;
    r->done = done;
    r->ud = ud;
    r->channels = json_object();
    if (resp->batch_info) {
        r->batch = json_array();
        for (size_t i = 0; i < resp->npubs; i++)
            json_array_append_new(r->batch, json_object());
    }
    *pending = (int)resp->npubs + 1;
    for (size_t i = 0; i < resp->npubs; i++) {
        bool skip = r->batch && !resp->pubs[i].info_flags;
        for (size_t j = 0; j < i && !skip && !r->batch; j++)
            skip = strcmp(resp->pubs[j].channel, resp->pubs[i].channel) == 0;
        if (skip) {
            --*pending;
            continue;
        }
        info_one *o = hc_calloc(1, sizeof(*o));
        o->r = r;
        o->channel = hc_strdup(resp->pubs[i].channel);
        o->index = i;
        Herald__ClusterCall c = HERALD__CLUSTER_CALL__INIT;
        c.op = "channel";
        c.app_id = resp->pubs[i].app_id;
        c.channel = resp->pubs[i].channel;
        c.flags = r->batch ? resp->pubs[i].info_flags : resp->info_flags;
        gw_link_call(link, &c, one_done, o);
    }
    release(r); /* drops the +1 */
}
