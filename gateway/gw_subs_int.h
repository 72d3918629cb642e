/*
 * gw_subs_int: the records of the local subscription table, shared by
 * gw_subs.c (membership and fan-out) and gw_subs_recovery.c (replay holds
 * and gap repair); nothing else includes this.
 */
#ifndef GW_SUBS_INT_H
#define GW_SUBS_INT_H

#include "gw_subs.h"

/* Longest epoch a position may carry (publish.lua makes 16 hex digits). */
#define GW_EPOCH_MAX 64

typedef struct gw_hold gw_hold;
typedef struct gw_repair gw_repair;

typedef struct gw_chan gw_chan;

/* One (subscriber, channel) membership: one allocation, 56 bytes. */
typedef struct gw_sub {
    struct gw_sub *prev, *next;   /* in ch's list */
    struct gw_sub *sprev, *snext; /* in s's list */
    gw_chan *ch;
    gw_subscriber *s;
    /* a replay in flight for this member, or the live events to skip after
     * one (gw_subs_recovery.c); NULL for nearly every member */
    gw_hold *hold;
} gw_sub;

struct gw_chan {
    char *app_id;
    char *channel;
    char *key; /* app_id \0 channel */
    size_t klen;
    gw_sub *head;
    size_t count;
    char *epoch; /* of the last delivered event, or NULL */
    uint64_t last_offset;
    gw_repair *repair; /* gap repair in flight (gw_subs_recovery.c) */
};

struct gw_subs {
    hc_map chans; /* key -> gw_chan* */
    uint64_t next_hold;
    gw_subs_hooks hooks;
    void *ud;
    size_t headroom;
};

/* gw_subs.c: the channel record of (app_id, channel), or NULL. */
gw_chan *gw__subs_chan(const gw_subs *t, const char *app_id, const char *channel);
/* gw_subs.c: s's membership of ch, or NULL. */
gw_sub *gw__subs_member(const gw_subscriber *s, const gw_chan *ch);

/* gw_subs_recovery.c, called from gw_subs.c: */
/* Takes ev when ch is repairing a gap or ev reveals one (ev then waits,
 * and the gap hook asks for the missing range). True when taken. */
bool gw__repair_intercept(gw_subs *t, gw_chan *ch, const Herald__Event *ev);
/* Takes frame (ev framed) for m when m waits for a replay (kept back) or
 * m already got ev from one (dropped). True when m must not get it now. */
bool gw__member_intercept(gw_subs *t, gw_sub *m, const Herald__Event *ev, hc_rbuf *frame);
void gw__repair_free(gw_repair *r);
void gw__hold_free(gw_hold *h);

#endif
