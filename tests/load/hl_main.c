/*
 * herald-load: the load generator (hl_main.c owns the event loop, options,
 * connections, publishing, measurements and the JSON summary).
 *
 * One libuv loop, one process: opens --conns WebSocket connections spread
 * round-robin over the --url list, each bound to a source address
 * 127.0.0.2, .3, ... (--src-addrs; IP_BIND_ADDRESS_NO_PORT so the port is
 * picked per destination), speaks Pusher v7 or Socket.IO (Engine.IO v4)
 * through hl_wire, subscribes each connection to --subs channels, and then
 * publishes stamped events through the HTTP API (--publish-url, signed
 * Pusher POST /apps/<id>/events, or the Socket.IO peer's POST /broadcast)
 * at each rate of --rates for --step-seconds (0 = as fast as the
 * --pub-conns keep-alive connections go), recording publish->receive
 * latency in hl_hist histograms, twice: when herald-load read the event
 * ("latency_us") and when the kernel put it in the client socket
 * ("arrival_us", SO_TIMESTAMPNS on every subscriber socket, read with
 * recvmsg). The second leaves out the time an event waits in the socket
 * while this one process works through the other recipients of the same
 * event, so it is the server's fan-out time; --no-kstamp turns it off.
 * Server CPU (/proc/<pid>/stat of --pids)
 * and gateway RSS (/proc/<pid>/statm of --rss-pids) are sampled at phase
 * boundaries. Everything is bounded (--connect-timeout, --events,
 * --step-seconds, --drain, --timeout); the summary is one JSON line on
 * stdout, progress goes to stderr with --verbose. It does not start or
 * stop servers: tests/load/scenario does. Several processes can share a
 * run (each process stays under the open-files hard limit).
 *
 * --presence replaces publishing by presence churn: --observers connections
 * per channel stay subscribed, the others join (signed presence subscribe),
 * stay --member-hold seconds, leave and join again at --rates joins/s; the
 * observers' member_added / member_removed are the "deliveries" then
 * (latency from the churner's subscribe / unsubscribe).
 *
 * --recovery keeps every client: one lost after the ramp (--kill-pid is
 * SIGKILLed --kill-after seconds into publishing) reconnects to the next
 * --url and subscribes again (--resume: with Herald's "since", the id of
 * the last event it had); every event's publish time and answer, and every
 * client's receipts per event, give the time until all are back, until all
 * have what was published before they were back, and the losses and
 * duplicates per client.
 */
#include "hl_hist.h"
#include "hl_wire.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define MAX_URLS 16
#define MAX_PIDS 32
#define MAX_RATES 32
#define MAX_FRAME (1u << 20)

typedef struct target {
    char host[64];
    int port;
    char path[512];
    struct sockaddr_in addr;
} target;

enum cstate { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_OPEN, C_DONE };
enum pstate { PS_OUT, PS_JOINING, PS_IN };

typedef struct conn {
    uv_tcp_t tcp;
    uint32_t id;
    uint8_t state;
    uint8_t closing;
    uint16_t subs_ok;
    uint8_t url;              /* index in opt.urls */
    uint8_t pstate;           /* presence churner: PS_OUT, PS_JOINING, PS_IN */
    char sid[24];             /* socket_id (presence) */
    uint64_t t_join, t_leave; /* presence churner: last subscribe / unsubscribe sent */
    /* recovery: recon = closed, waiting to reconnect; resub = reconnected,
     * subscribing again; down = dropped and not subscribed again yet;
     * caught = has every event published before it was back */
    uint8_t recon, resub, down, caught, attempts;
    uint16_t drops;
    uint32_t scan_k;           /* recovery: first event index not yet known received */
    uint64_t t_retry, t_resub; /* recovery: next attempt; subscribed again */
    char last_id[40];          /* recovery: "<epoch>:<offset>" of the last event (--resume) */
    char *pend;                /* bytes of an incomplete frame / handshake */
    size_t pend_len, pend_cap;
} conn;

typedef struct pubconn {
    uv_tcp_t tcp;
    int idx;
    int target;
    bool connected, busy, closing;
    char *in;
    size_t in_len, in_cap;
    uv_write_t wr;
    uint64_t seq; /* recovery: the event in flight */
    char out[16384];
} pubconn;

static struct {
    hl_proto proto;
    target urls[MAX_URLS];
    int nurls;
    target pubs[MAX_URLS];
    int npubs;
    bool pub_broadcast;
    const char *app_id, *key, *secret;
    long conns;
    int subs;
    long channels;
    const char *prefix;
    const char *event;
    int src_addrs;
    double connect_rate;
    int inflight;
    double connect_timeout;
    double rates[MAX_RATES];
    int nrates;
    double step_seconds;
    long max_events;
    int pub_conns;
    int payload;
    double settle, hold, drain, timeout;
    int pids[MAX_PIDS], npids;
    int rss_pids[MAX_PIDS], nrss;
    bool verbose;
    bool no_kstamp;
    const char *label;
    const char *ready_file, *hold_until;
    bool presence;          /* presence churn instead of publishing */
    int observers;          /* presence: observer connections per channel */
    double member_hold;     /* presence: seconds a churner stays a member */
    bool recovery;          /* dropped connections reconnect and are checked for losses */
    bool resume;            /* recovery: resubscribe with "since" (Herald) */
    int kill_pid;           /* recovery: SIGKILL this process ... */
    double kill_after;      /* ... this many seconds after publishing started */
    double reconnect_delay; /* recovery: wait before the first reconnect attempt */
} opt = {
    .proto = HL_PROTO_PUSHER,
    .app_id = "app-id",
    .key = "app-key",
    .secret = "app-secret",
    .conns = 100,
    .subs = 1,
    .channels = 1,
    .prefix = "load",
    .event = "load-event",
    .src_addrs = 8,
    .inflight = 256,
    .connect_timeout = 60,
    .step_seconds = 5,
    .pub_conns = 4,
    .payload = 20,
    .settle = 1,
    .drain = 3,
    .timeout = 300,
    .observers = 1,
    .member_hold = 1,
};

enum phase { P_CONNECT, P_SETTLE, P_HOLD, P_PUBLISH, P_DRAIN, P_END };

typedef struct step {
    double rate;
    double secs;
    uint64_t published, pub_errors, deliveries, expected;
    double server_cpu_s, gen_cpu_s;
    hl_hist hist, arrival;
    /* presence: subscribes sent, subscription_succeeded, unsubscribes sent;
     * hist / arrival / deliveries / expected are the observers' member
     * events then */
    uint64_t joins, joins_ok, leaves;
    hl_hist join;
} step;

static uv_loop_t *loop;
static conn *conns;
static pubconn *pubs;
static long *chan_subs; /* local subscribers per channel */
static uv_timer_t tick, deadline;
static enum phase phase;
static uint64_t t_start, t_phase, t_connect_done;
static long next_conn, launched, in_progress;
static uint64_t n_connected, n_open, n_subscribed, n_conn_errors, n_closed_early, n_errors_msg;
static uint64_t n_published, n_pub_errors, n_deliveries, n_expected, n_unstamped, n_late;
static uint64_t pub_seq;
static long pub_chan_rr;
static step steps[MAX_RATES];
static int cur_step = -1;
static uint64_t step_start_ns;
static double step_cpu0, step_gen0;
static hl_hist total, total_arrival;
/* Kernel receive time (CLOCK_REALTIME ns) of the bytes being processed, 0
 * when unknown; rt_minus_mono converts it to uv_hrtime's clock. */
static uint64_t cur_arrival_ns;
static int64_t rt_minus_mono;
static long rss_base_kb, rss_subscribed_kb;
static int open_pubs;
static char readbuf[256 * 1024];
static bool stopping;
static unsigned hold_polls;
/* presence: connections 0..n_observers-1 observe, the others churn */
static long n_observers, churn_rr;
static uint64_t n_joins, n_joins_ok, n_leaves, n_added, n_removed, n_member_other;
static hl_hist total_join;
/* recovery: per event (seq) its publish time and state, per (connection,
 * index of the event on its channel) how often it arrived */
enum { PUB_INFLIGHT, PUB_ACKED, PUB_REFUSED };
static uint64_t seq_cap, *pub_t;
static uint8_t *pub_st, *rx;
static size_t rx_per;
static bool rec_killed;
static uint64_t t_publish0, t_kill, t_back, t_caught, t_rec_scan;
static long rec_down, rec_pending, rec_dropped, rec_caught;
static uint64_t n_drops, n_reconnects, n_resubscribed, n_recovered, n_not_recovered, n_foreign;
static hl_hist rec_back;

static void logv(const char *fmt, ...)
{
    if (!opt.verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "herald-load: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "herald-load: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static double secs_since(uint64_t t)
{
    return (double)(uv_hrtime() - t) / 1e9;
}

/* ---- /proc ---------------------------------------------------------------- */

static double proc_cpu_s(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* comm may contain spaces */
    if (!p)
        return 0;
    unsigned long ut = 0, st = 0;
    /* after ") ": state(3) ... utime is field 14, stime 15 */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double servers_cpu_s(void)
{
    double s = 0;
    for (int i = 0; i < opt.npids; i++)
        s += proc_cpu_s(opt.pids[i]);
    return s;
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static long rss_kb(void)
{
    long sum = 0;
    for (int i = 0; i < opt.nrss; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/statm", opt.rss_pids[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        long size = 0, res = 0;
        if (fscanf(f, "%ld %ld", &size, &res) == 2)
            sum += res * (sysconf(_SC_PAGESIZE) / 1024);
        fclose(f);
    }
    return sum;
}

/* ---- subscriber connections ---------------------------------------------- */

static void channel_name(char *out, size_t cap, long ch)
{
    snprintf(out, cap, "%s-%ld", opt.prefix, ch);
}

static bool is_churner(const conn *c)
{
    return opt.presence && (long)c->id >= n_observers;
}

/* Presence: observer i watches channel i mod C; churners 2m and 2m+1 (one
 * per node with two --url) share channel m mod C, so every channel's
 * members join through both nodes. */
static long conn_channel(const conn *c, int j)
{
    if (opt.recovery) /* connections 2m, 2m+1 (two nodes) share a channel */
        return (long)(c->id / (uint32_t)opt.nurls) % opt.channels;
    if (opt.presence)
        return (long)c->id < n_observers ? (long)c->id % opt.channels
                                         : (long)(c->id / (uint32_t)opt.nurls) % opt.channels;
    return (long)(((uint64_t)c->id * (uint64_t)opt.subs + (uint64_t)j) % (uint64_t)opt.channels);
}

typedef struct wreq {
    uv_write_t req;
    size_t len;
    uint8_t data[];
} wreq;

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void send_raw(uv_stream_t *s, const void *data, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int n = uv_try_write(s, &b, 1);
    if (n == (int)len)
        return;
    if (n < 0 && n != UV_EAGAIN)
        return; /* the read side will see the error */
    size_t done = n > 0 ? (size_t)n : 0;
    wreq *w = malloc(sizeof *w + len - done);
    if (!w)
        return;
    memcpy(w->data, (const uint8_t *)data + done, len - done);
    b = uv_buf_init((char *)w->data, (unsigned)(len - done));
    if (uv_write(&w->req, s, &b, 1, on_written) != 0)
        free(w);
}

static void send_ws(conn *c, int opcode, const void *payload, size_t len)
{
    uint8_t buf[1024];
    if (len + 14 > sizeof buf)
        return;
    size_t n = hl_ws_encode(buf, opcode, payload, len, (uint32_t)rand());
    send_raw((uv_stream_t *)&c->tcp, buf, n);
}

static void send_text(conn *c, const char *s)
{
    send_ws(c, HL_OP_TEXT, s, strlen(s));
}

static void on_conn_closed(uv_handle_t *h)
{
    conn *c = (conn *)h;
    free(c->pend);
    c->pend = NULL;
    c->pend_len = c->pend_cap = 0;
    if (c->recon) {
        /* recovery: reconnect, at once the first time, then backing off */
        c->state = C_IDLE;
        unsigned ms = c->attempts ? 100u * c->attempts : (unsigned)(opt.reconnect_delay * 1000);
        if (c->attempts && ms > 1000)
            ms = 1000;
        c->t_retry = uv_hrtime() + (uint64_t)ms * 1000000u;
        rec_pending++;
    }
}

/* Recovery: a connection lost after the ramp is not an error but a client
 * to bring back (on_conn_closed, rec_tick). Returns false when c is not
 * one (not --recovery, still ramping, or the run is ending). */
static bool rec_drop(conn *c)
{
    if (!opt.recovery || stopping || phase < P_SETTLE || phase == P_END)
        return false;
    if (c->state == C_OPEN)
        n_open--;
    if (!c->down) {
        c->down = 1;
        rec_down++;
        n_drops++;
        if (c->drops++ == 0)
            rec_dropped++;
        if (c->caught) {
            c->caught = 0;
            rec_caught--;
        }
    }
    c->subs_ok = 0;
    c->resub = 1;
    c->recon = 1;
    c->state = C_DONE;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    return true;
}

static void conn_close(conn *c, bool error)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (error && rec_drop(c))
        return;
    if (c->state == C_CONNECTING || c->state == C_HANDSHAKE ||
        (c->state == C_OPEN && c->subs_ok < opt.subs))
        in_progress--;
    if (error) {
        if (c->state == C_OPEN && c->subs_ok >= opt.subs) {
            n_closed_early++;
            for (int j = 0; j < opt.subs && !is_churner(c); j++)
                chan_subs[conn_channel(c, j)]--;
            n_subscribed--;
        } else {
            n_conn_errors++;
        }
    }
    if (c->state == C_OPEN)
        n_open--;
    c->state = C_DONE;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void subscribe_all(conn *c)
{
    char ch[200], msg[512];
    if (opt.presence) {
        char user[24];
        snprintf(user, sizeof user, "o%u", c->id);
        channel_name(ch, sizeof ch, conn_channel(c, 0));
        size_t n =
            hl_presence_subscribe_msg(msg, sizeof msg, opt.key, opt.secret, c->sid, ch, user);
        if (n)
            send_ws(c, HL_OP_TEXT, msg, n);
        return;
    }
    for (int j = 0; j < opt.subs; j++) {
        channel_name(ch, sizeof ch, conn_channel(c, j));
        size_t n = hl_subscribe_msg(opt.proto, msg, sizeof msg, ch);
        if (n)
            send_ws(c, HL_OP_TEXT, msg, n);
    }
}

static void on_event(const char *msg, size_t len)
{
    uint64_t t, seq;
    if (!hl_stamp_find(msg, len, &t, &seq)) {
        n_unstamped++;
        return;
    }
    uint64_t now = uv_hrtime();
    uint64_t us = now > t ? (now - t) / 1000 : 0;
    bool arrived = cur_arrival_ns != 0;
    uint64_t at = arrived ? (uint64_t)((int64_t)cur_arrival_ns - rt_minus_mono) : 0;
    uint64_t aus = at > t ? (at - t) / 1000 : 0;
    n_deliveries++;
    hl_hist_record(&total, us);
    if (arrived)
        hl_hist_record(&total_arrival, aus);
    if (cur_step >= 0 && (phase == P_PUBLISH || phase == P_DRAIN)) {
        if (phase == P_PUBLISH)
            steps[cur_step].deliveries++;
        else
            n_late++; /* arrived after the last step ended (counted in deliveries) */
        hl_hist_record(&steps[cur_step].hist, us);
        if (arrived)
            hl_hist_record(&steps[cur_step].arrival, aus);
    }
}

/* ---- presence churn ------------------------------------------------------- */

static bool churn_counts(void)
{
    return cur_step >= 0 && (phase == P_PUBLISH || phase == P_DRAIN);
}

/* A churner joins its channel: every observer of it expects a member_added. */
static void churn_join(conn *c)
{
    char ch[200], user[24], msg[512];
    snprintf(user, sizeof user, "u%u", c->id);
    long chan = conn_channel(c, 0);
    channel_name(ch, sizeof ch, chan);
    size_t n = hl_presence_subscribe_msg(msg, sizeof msg, opt.key, opt.secret, c->sid, ch, user);
    if (!n)
        return;
    c->pstate = PS_JOINING;
    c->t_join = uv_hrtime();
    send_ws(c, HL_OP_TEXT, msg, n);
    n_joins++;
    n_expected += (uint64_t)chan_subs[chan];
    steps[cur_step].joins++;
    steps[cur_step].expected += (uint64_t)chan_subs[chan];
}

/* ... and leaves it: a member_removed for each observer. */
static void churn_leave(conn *c)
{
    char ch[200], msg[256];
    long chan = conn_channel(c, 0);
    channel_name(ch, sizeof ch, chan);
    size_t n = hl_unsubscribe_msg(msg, sizeof msg, ch);
    if (!n)
        return;
    c->pstate = PS_OUT;
    c->t_leave = uv_hrtime();
    send_ws(c, HL_OP_TEXT, msg, n);
    n_leaves++;
    n_expected += (uint64_t)chan_subs[chan];
    steps[cur_step].leaves++;
    steps[cur_step].expected += (uint64_t)chan_subs[chan];
}

static void on_joined(conn *c)
{
    if (c->pstate != PS_JOINING)
        return;
    c->pstate = PS_IN;
    uint64_t us = (uv_hrtime() - c->t_join) / 1000;
    n_joins_ok++;
    hl_hist_record(&total_join, us);
    if (churn_counts()) {
        steps[cur_step].joins_ok++;
        hl_hist_record(&steps[cur_step].join, us);
    }
}

/* An observer got member_added / member_removed: the latency is from the
 * churner's subscribe / unsubscribe (same process, same clock). */
static void on_member(const char *msg, size_t len, bool added)
{
    long u = hl_member_user(msg, len, 'u');
    if (u < n_observers || u >= opt.conns) {
        n_member_other++; /* observers joining, or not ours */
        return;
    }
    const conn *from = &conns[u];
    uint64_t sent = added ? from->t_join : from->t_leave;
    uint64_t now = uv_hrtime();
    uint64_t us = now > sent ? (now - sent) / 1000 : 0;
    bool arrived = cur_arrival_ns != 0;
    uint64_t at = arrived ? (uint64_t)((int64_t)cur_arrival_ns - rt_minus_mono) : 0;
    uint64_t aus = at > sent ? (at - sent) / 1000 : 0;
    if (added)
        n_added++;
    else
        n_removed++;
    n_deliveries++;
    hl_hist_record(&total, us);
    if (arrived)
        hl_hist_record(&total_arrival, aus);
    if (churn_counts()) {
        steps[cur_step].deliveries++;
        if (phase == P_DRAIN)
            n_late++;
        hl_hist_record(&steps[cur_step].hist, us);
        if (arrived)
            hl_hist_record(&steps[cur_step].arrival, aus);
    }
}

/* Every tick: churners held long enough leave; then as many joins as the
 * step's rate says are due, each by the next churner that is out (round
 * robin). When none is out, the step falls behind its rate. */
static void churn_tick(double rate, double el, bool join)
{
    uint64_t now = uv_hrtime();
    uint64_t hold_ns = (uint64_t)(opt.member_hold * 1e9);
    for (long i = n_observers; i < opt.conns; i++) {
        conn *c = &conns[i];
        if (c->pstate == PS_IN && c->state == C_OPEN && now - c->t_join >= hold_ns)
            churn_leave(c);
    }
    if (!join)
        return;
    long nch = opt.conns - n_observers;
    long due = (long)(rate * el) - (long)steps[cur_step].joins;
    for (long k = 0; k < nch && due > 0; k++) {
        conn *c = &conns[n_observers + churn_rr++ % nch];
        if (c->state == C_OPEN && c->pstate == PS_OUT && !c->closing) {
            churn_join(c);
            due--;
        }
    }
}

static bool churn_settled(void)
{
    for (long i = n_observers; i < opt.conns; i++)
        if (conns[i].state == C_OPEN && conns[i].pstate != PS_OUT)
            return false;
    return true;
}

/* ---- recovery ------------------------------------------------------------ */

static uint8_t *rx_at(const conn *c, uint64_t k)
{
    return &rx[(size_t)c->id * rx_per + (size_t)k];
}

/* An event arrived on c: count it by its index on the channel (the stamp's
 * seq: events go to the channels round-robin, seq 1 to channel 0), and
 * remember its id for the next resume. */
static void rec_event(conn *c, const char *msg, size_t len)
{
    uint64_t t, seq;
    if (!hl_stamp_find(msg, len, &t, &seq))
        return;
    long ch = conn_channel(c, 0);
    if (seq == 0 || seq >= seq_cap || (long)((seq - 1) % (uint64_t)opt.channels) != ch) {
        n_foreign++;
        return;
    }
    uint8_t *r = rx_at(c, (seq - 1) / (uint64_t)opt.channels);
    if (*r < 255)
        (*r)++;
    if (opt.resume)
        hl_json_value(msg, len, "\"id\"", c->last_id, sizeof c->last_id);
}

static void rec_subscribed(conn *c, const char *msg, size_t len)
{
    uint64_t now = uv_hrtime();
    c->resub = 0;
    c->subs_ok = (uint16_t)opt.subs;
    c->attempts = 0;
    c->t_resub = now;
    n_resubscribed++;
    if (opt.resume && c->last_id[0]) {
        char v[8];
        if (hl_json_value(msg, len, "recovered", v, sizeof v) && strcmp(v, "true") == 0)
            n_recovered++;
        else
            n_not_recovered++;
    }
    if (c->down) {
        c->down = 0;
        if (--rec_down == 0 && rec_killed)
            t_back = now;
        if (rec_killed)
            hl_hist_record(&rec_back, (now - t_kill) / 1000);
    }
}

/* Has c every event of its channel that was acknowledged and published
 * before it subscribed again? (Refused publishes are not owed; one still in
 * flight from before is waited for.) */
static bool rec_scan(conn *c)
{
    long ch = conn_channel(c, 0);
    for (;; c->scan_k++) {
        uint64_t seq = (uint64_t)c->scan_k * (uint64_t)opt.channels + (uint64_t)ch + 1;
        if (seq > pub_seq)
            return true;
        if (*rx_at(c, c->scan_k) || pub_st[seq] == PUB_REFUSED)
            continue;
        return pub_t[seq] >= c->t_resub; /* a live event on its way */
    }
}

/* Every acknowledged event delivered to every connection? */
static bool rec_all_received(void)
{
    for (long i = 0; i < opt.conns; i++) {
        const conn *c = &conns[i];
        long ch = conn_channel(c, 0);
        for (uint64_t seq = (uint64_t)ch + 1; seq <= pub_seq; seq += (uint64_t)opt.channels)
            if (pub_st[seq] != PUB_REFUSED && !*rx_at(c, (seq - 1) / (uint64_t)opt.channels))
                return false;
    }
    return true;
}

static void conn_start(conn *c);

/* Every tick after the ramp: the kill, reconnects that are due, and (every
 * 20 ms) which dropped connections have caught up. */
static void rec_tick(void)
{
    uint64_t now = uv_hrtime();
    if (phase == P_PUBLISH && opt.kill_pid > 0 && !rec_killed &&
        now - t_publish0 >= (uint64_t)(opt.kill_after * 1e9)) {
        rec_killed = true;
        t_kill = now;
        if (kill(opt.kill_pid, SIGKILL) != 0)
            fprintf(stderr, "herald-load: kill %d: %s\n", opt.kill_pid, strerror(errno));
        logv("killed %d", opt.kill_pid);
    }
    for (long i = 0; i < opt.conns && rec_pending > 0; i++) {
        conn *c = &conns[i];
        if (!c->recon || c->state != C_IDLE || now < c->t_retry)
            continue;
        c->recon = 0;
        rec_pending--;
        c->closing = 0;
        c->attempts = (uint8_t)(c->attempts < 10 ? c->attempts + 1 : 10);
        c->url = (uint8_t)((c->url + 1) % opt.nurls); /* the other node */
        n_reconnects++;
        conn_start(c);
    }
    if (!rec_killed || rec_caught >= rec_dropped || now - t_rec_scan < 20000000u)
        return;
    t_rec_scan = now;
    for (long i = 0; i < opt.conns; i++) {
        conn *c = &conns[i];
        if (c->drops && !c->down && !c->caught && rec_scan(c)) {
            c->caught = 1;
            if (++rec_caught == rec_dropped && rec_down == 0)
                t_caught = now;
        }
    }
}

/* CLOCK_REALTIME minus CLOCK_MONOTONIC (uv_hrtime), in ns: sampled at the
 * start of the run and of every step, so a clock step between them costs
 * at most one step's arrival figures. */
static void sample_clocks(void)
{
    struct timespec rt;
    uint64_t m0 = uv_hrtime();
    clock_gettime(CLOCK_REALTIME, &rt);
    uint64_t m1 = uv_hrtime();
    rt_minus_mono = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec - (int64_t)(m0 + (m1 - m0) / 2);
}

static void on_text(conn *c, const char *msg, size_t len)
{
    switch (hl_classify(opt.proto, msg, len)) {
    case HL_MSG_EVENT:
        if (opt.recovery)
            rec_event(c, msg, len);
        on_event(msg, len);
        break;
    case HL_MSG_PING:
        send_text(c, hl_pong_msg(opt.proto));
        break;
    case HL_MSG_EIO_OPEN:
        send_text(c, "40");
        break;
    case HL_MSG_ESTABLISHED:
        if (opt.presence)
            hl_json_value(msg, len, "socket_id", c->sid, sizeof c->sid);
        if (c->resub && opt.resume && c->last_id[0]) {
            char ch[200], m[512];
            channel_name(ch, sizeof ch, conn_channel(c, 0));
            size_t n = hl_subscribe_since_msg(m, sizeof m, ch, c->last_id);
            if (n)
                send_ws(c, HL_OP_TEXT, m, n);
            break;
        }
        if (is_churner(c)) {
            /* ready to churn: it joins when the steps say so */
            if (c->subs_ok < opt.subs) {
                c->subs_ok = (uint16_t)opt.subs;
                n_subscribed++;
                in_progress--;
            }
            break;
        }
        subscribe_all(c);
        break;
    case HL_MSG_MEMBER_ADDED:
    case HL_MSG_MEMBER_REMOVED:
        if (!is_churner(c))
            on_member(msg, len, hl_classify(opt.proto, msg, len) == HL_MSG_MEMBER_ADDED);
        break;
    case HL_MSG_SUBSCRIBED:
        if (c->resub) {
            rec_subscribed(c, msg, len);
            break;
        }
        if (is_churner(c)) {
            on_joined(c);
            break;
        }
        if (c->subs_ok < opt.subs && ++c->subs_ok == opt.subs) {
            n_subscribed++;
            in_progress--;
            for (int j = 0; j < opt.subs; j++)
                chan_subs[conn_channel(c, j)]++;
        }
        break;
    case HL_MSG_ERROR:
        if (is_churner(c) && c->pstate == PS_JOINING)
            c->pstate = PS_OUT;
        n_errors_msg++;
        logv("conn %u: error message: %.*s", c->id, (int)(len > 200 ? 200 : len), msg);
        break;
    case HL_MSG_OTHER:
        break;
    }
}

/* Handles bytes in buf; returns how many were consumed, -1 to close. */
static long conn_process(conn *c, const char *buf, size_t len)
{
    size_t off = 0;
    if (c->state == C_HANDSHAKE) {
        int status;
        long cl;
        size_t head = hl_http_head(buf, len, &status, &cl);
        if (head == 0)
            return len > 8192 ? -1 : 0;
        if (status != 101) {
            logv("conn %u: upgrade answered %d", c->id, status);
            return -1;
        }
        c->state = C_OPEN;
        n_open++;
        if (!c->resub)
            n_connected++;
        off = head;
    }
    while (off < len) {
        hl_ws_frame f;
        long n = hl_ws_parse((const uint8_t *)buf + off, len - off, MAX_FRAME, &f);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        off += (size_t)n;
        switch (f.opcode) {
        case HL_OP_TEXT:
        case HL_OP_BIN:
            if (f.fin)
                on_text(c, (const char *)f.payload, f.len);
            break; /* fragmented messages carry nothing herald-load needs */
        case HL_OP_PING:
            send_ws(c, HL_OP_PONG, f.payload, f.len);
            break;
        case HL_OP_CLOSE:
            return -1;
        default:
            break;
        }
    }
    return (long)off;
}

static void alloc_shared(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)h;
    (void)suggested;
    *b = uv_buf_init(readbuf, sizeof readbuf);
}

static bool pend_append(conn *c, const char *d, size_t n)
{
    if (c->pend_len + n > c->pend_cap) {
        size_t cap = c->pend_cap ? c->pend_cap : 4096;
        while (cap < c->pend_len + n)
            cap *= 2;
        if (cap > 2 * MAX_FRAME + sizeof readbuf)
            return false;
        char *p = realloc(c->pend, cap);
        if (!p)
            return false;
        c->pend = p;
        c->pend_cap = cap;
    }
    memcpy(c->pend + c->pend_len, d, n);
    c->pend_len += n;
    return true;
}

/* Consumes nread bytes received on c; returns false when c was closed. */
static bool conn_bytes(conn *c, const char *base, size_t nread)
{
    if (c->pend_len) {
        if (!pend_append(c, base, nread)) {
            conn_close(c, true);
            return false;
        }
        long used = conn_process(c, c->pend, c->pend_len);
        if (used < 0) {
            conn_close(c, !stopping);
            return false;
        }
        memmove(c->pend, c->pend + used, c->pend_len - (size_t)used);
        c->pend_len -= (size_t)used;
        if (c->pend_len == 0) {
            free(c->pend);
            c->pend = NULL;
            c->pend_cap = 0;
        }
        return true;
    }
    long used = conn_process(c, base, nread);
    if (used < 0) {
        conn_close(c, !stopping);
        return false;
    }
    if ((size_t)used < nread && !pend_append(c, base + used, nread - (size_t)used)) {
        conn_close(c, true);
        return false;
    }
    return true;
}

static void on_conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    conn *c = (conn *)s;
    if (nread == 0)
        return;
    if (nread < 0) {
        conn_close(c, !stopping);
        return;
    }
    if (c->closing)
        return;
    conn_bytes(c, b->base, (size_t)nread);
}

/* Subscriber sockets with kernel receive timestamps: libuv only says the
 * socket is readable (alloc_none hands it no buffer, so it calls back with
 * UV_ENOBUFS and keeps watching), and we recvmsg ourselves to get the
 * SCM_TIMESTAMPNS of the data. For TCP that is the time the last segment
 * of what this read returned reached the socket: for several events in
 * one read it is the latest one's, which can only overstate their
 * latency. */
static void alloc_none(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)h;
    (void)suggested;
    *b = uv_buf_init(NULL, 0);
}

static void on_conn_readable(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    conn *c = (conn *)s;
    (void)b;
    if (nread != UV_ENOBUFS) {
        on_conn_read(s, nread, b);
        return;
    }
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)s, &fd) != 0)
        return;
    for (int round = 0; round < 8 && !c->closing; round++) {
        union {
            char buf[CMSG_SPACE(sizeof(struct timespec))];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = {readbuf, sizeof readbuf};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctl.buf,
                            .msg_controllen = sizeof ctl.buf};
        ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n <= 0) {
            conn_close(c, !stopping);
            return;
        }
        cur_arrival_ns = 0;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(cm), sizeof ts);
                cur_arrival_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
            }
        bool open = conn_bytes(c, readbuf, (size_t)n);
        cur_arrival_ns = 0;
        if (!open || (size_t)n < sizeof readbuf)
            return;
    }
}

static void on_connected(uv_connect_t *req, int status)
{
    conn *c = (conn *)req->data;
    free(req);
    if (c->closing)
        return;
    if (status < 0) {
        logv("conn %u: connect: %s", c->id, uv_strerror(status));
        conn_close(c, true);
        return;
    }
    const target *t = &opt.urls[c->url];
    char rq[1024];
    size_t n = hl_ws_request(rq, sizeof rq, t->host, t->port, t->path);
    c->state = C_HANDSHAKE;
    uv_os_fd_t fd;
    int on = 1;
    if (!opt.no_kstamp && uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 &&
        setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0)
        uv_read_start((uv_stream_t *)&c->tcp, alloc_none, on_conn_readable);
    else
        uv_read_start((uv_stream_t *)&c->tcp, alloc_shared, on_conn_read);
    send_raw((uv_stream_t *)&c->tcp, rq, n);
}

static void bind_source(uv_tcp_t *tcp, uint32_t i)
{
    if (opt.src_addrs <= 0)
        return;
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)tcp, &fd) == 0) {
        int one = 1;
#ifdef IP_BIND_ADDRESS_NO_PORT
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
    }
    struct sockaddr_in src;
    char ip[32];
    snprintf(ip, sizeof ip, "127.0.%u.%u", (2 + i % (uint32_t)opt.src_addrs) / 250,
             (2 + i % (uint32_t)opt.src_addrs) % 250);
    uv_ip4_addr(ip, 0, &src);
    uv_tcp_bind(tcp, (const struct sockaddr *)&src, 0);
}

static void launch_one(void)
{
    conn *c = &conns[next_conn];
    c->id = (uint32_t)next_conn++;
    c->url = (uint8_t)(c->id % (uint32_t)opt.nurls);
    launched++;
    in_progress++;
    c->state = C_CONNECTING;
    conn_start(c);
}

static void conn_start(conn *c)
{
    c->state = C_CONNECTING;
    if (uv_tcp_init_ex(loop, &c->tcp, AF_INET) != 0) {
        c->state = C_IDLE;
        if (c->resub) { /* recovery: try again on the next tick */
            c->recon = 1;
            rec_pending++;
            return;
        }
        in_progress--;
        n_conn_errors++;
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    bind_source(&c->tcp, c->id);
    uv_connect_t *req = malloc(sizeof *req);
    req->data = c;
    const target *t = &opt.urls[c->url];
    int rc = uv_tcp_connect(req, &c->tcp, (const struct sockaddr *)&t->addr, on_connected);
    if (rc != 0) {
        free(req);
        logv("conn %u: connect: %s", c->id, uv_strerror(rc));
        conn_close(c, true);
    }
}

/* ---- publisher connections ------------------------------------------------ */

static void pub_connect(pubconn *p);

static void on_pub_closed(uv_handle_t *h)
{
    pubconn *p = (pubconn *)h;
    p->closing = false;
    open_pubs--;
    if (opt.recovery) /* its node may be the one killed: use the next */
        p->target = (p->target + 1) % opt.npubs;
    if (!stopping && phase == P_PUBLISH)
        pub_connect(p); /* the server closed a keep-alive connection: reopen */
}

static void pub_close(pubconn *p)
{
    if (p->closing)
        return;
    if (p->busy) {
        logv("publisher %d: connection lost with a request in flight", p->idx);
        if (opt.recovery && p->seq)
            pub_st[p->seq] = PUB_REFUSED; /* maybe stored: then owed to nobody */
        n_pub_errors++;
        if (cur_step >= 0)
            steps[cur_step].pub_errors++;
    }
    p->busy = false;
    p->connected = false;
    p->closing = true;
    p->in_len = 0;
    uv_close((uv_handle_t *)&p->tcp, on_pub_closed);
}

static void pub_send_next(pubconn *p);

static void on_pub_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    pubconn *p = (pubconn *)s;
    if (nread == 0)
        return;
    if (nread < 0) {
        pub_close(p);
        return;
    }
    if (p->in_len + (size_t)nread > p->in_cap) {
        size_t cap = p->in_cap ? p->in_cap * 2 : 8192;
        while (cap < p->in_len + (size_t)nread)
            cap *= 2;
        p->in = realloc(p->in, cap);
        p->in_cap = cap;
    }
    memcpy(p->in + p->in_len, b->base, (size_t)nread);
    p->in_len += (size_t)nread;
    for (;;) {
        int status;
        long cl;
        size_t head = hl_http_head(p->in, p->in_len, &status, &cl);
        if (head == 0)
            return;
        size_t body = cl > 0 ? (size_t)cl : 0;
        if (cl == HL_HTTP_CHUNKED) {
            long n = hl_http_chunked_len(p->in + head, p->in_len - head);
            if (n < 0)
                return;
            body = (size_t)n;
        }
        if (p->in_len < head + body)
            return;
        if (opt.recovery && p->seq)
            pub_st[p->seq] = status >= 200 && status < 300 ? PUB_ACKED : PUB_REFUSED;
        if (status < 200 || status >= 300) {
            n_pub_errors++;
            if (cur_step >= 0)
                steps[cur_step].pub_errors++;
            logv("publish answered %d: %.*s", status, (int)(body > 200 ? 200 : body), p->in + head);
        }
        memmove(p->in, p->in + head + body, p->in_len - head - body);
        p->in_len -= head + body;
        p->busy = false;
        if (phase == P_PUBLISH && steps[cur_step].rate == 0)
            pub_send_next(p);
    }
}

static void on_pub_connected(uv_connect_t *req, int status)
{
    pubconn *p = req->data;
    free(req);
    if (status < 0) {
        logv("publisher %d: connect: %s", p->idx, uv_strerror(status));
        n_pub_errors++;
        pub_close(p);
        return;
    }
    p->connected = true;
    uv_read_start((uv_stream_t *)&p->tcp, alloc_shared, on_pub_read);
    if (phase == P_PUBLISH && cur_step >= 0 && steps[cur_step].rate == 0)
        pub_send_next(p);
}

static void pub_connect(pubconn *p)
{
    if (stopping)
        return;
    uv_tcp_init(loop, &p->tcp);
    uv_tcp_nodelay(&p->tcp, 1);
    open_pubs++;
    uv_connect_t *req = malloc(sizeof *req);
    req->data = p;
    if (uv_tcp_connect(req, &p->tcp, (const struct sockaddr *)&opt.pubs[p->target].addr,
                       on_pub_connected) != 0) {
        free(req);
        p->closing = true;
        uv_close((uv_handle_t *)&p->tcp, on_pub_closed);
    }
}

static void on_pub_written(uv_write_t *req, int status)
{
    pubconn *p = req->data;
    if (status < 0)
        pub_close(p);
}

static bool events_left(void)
{
    if (opt.recovery && pub_seq + 1 >= seq_cap)
        return false;
    return opt.max_events == 0 || (long)n_published < opt.max_events;
}

static void pub_send_next(pubconn *p)
{
    if (!p->connected || p->busy || p->closing || !events_left())
        return;
    long ch = pub_chan_rr++ % opt.channels;
    char chname[200], data[4200];
    channel_name(chname, sizeof chname, ch);
    uint64_t now = uv_hrtime();
    hl_stamp(data, sizeof data, now, ++pub_seq, (size_t)opt.payload);
    if (opt.recovery) {
        pub_t[pub_seq] = now;
        pub_st[pub_seq] = PUB_INFLIGHT;
        p->seq = pub_seq;
    }
    const target *t = &opt.pubs[p->target];
    size_t n = hl_publish_request(p->out, sizeof p->out, t->host, t->port, opt.app_id,
                                  opt.pub_broadcast ? NULL : opt.key, opt.secret, (long)time(NULL),
                                  chname, opt.event, data);
    if (n == 0)
        die("publish request too large");
    p->busy = true;
    p->wr.data = p;
    uv_buf_t b = uv_buf_init(p->out, (unsigned)n);
    if (uv_write(&p->wr, (uv_stream_t *)&p->tcp, &b, 1, on_pub_written) != 0) {
        pub_close(p);
        return;
    }
    n_published++;
    n_expected += (uint64_t)chan_subs[ch];
    steps[cur_step].published++;
    steps[cur_step].expected += (uint64_t)chan_subs[ch];
}

/* ---- phases ---------------------------------------------------------------- */

static void start_step(int i)
{
    cur_step = i;
    steps[i].rate = opt.rates[i];
    hl_hist_reset(&steps[i].hist);
    hl_hist_reset(&steps[i].arrival);
    hl_hist_reset(&steps[i].join);
    sample_clocks();
    step_start_ns = uv_hrtime();
    step_cpu0 = servers_cpu_s();
    step_gen0 = self_cpu_s();
    logv("step %d: rate %.0f/s", i, opt.rates[i]);
    if (opt.rates[i] == 0)
        for (int k = 0; k < opt.pub_conns; k++)
            pub_send_next(&pubs[k]);
}

static void end_step(void)
{
    step *s = &steps[cur_step];
    s->secs = secs_since(step_start_ns);
    s->server_cpu_s = servers_cpu_s() - step_cpu0;
    s->gen_cpu_s = self_cpu_s() - step_gen0;
    logv("step %d: published %" PRIu64 " delivered %" PRIu64 "/%" PRIu64 " in %.1fs", cur_step,
         s->published, s->deliveries, s->expected, s->secs);
}

static void finish(void);

static void enter(enum phase p)
{
    phase = p;
    t_phase = uv_hrtime();
    switch (p) {
    case P_SETTLE:
        t_connect_done = t_phase;
        logv("connected %" PRIu64 ", subscribed %" PRIu64 " in %.2fs", n_connected, n_subscribed,
             secs_since(t_start));
        break;
    case P_HOLD:
        rss_subscribed_kb = rss_kb();
        if (opt.ready_file) {
            FILE *f = fopen(opt.ready_file, "w");
            if (f) {
                fprintf(f, "subscribed %" PRIu64 "\n", n_subscribed);
                fclose(f);
            }
        }
        break;
    case P_PUBLISH:
        if (opt.nrates == 0) {
            enter(P_END);
            return;
        }
        for (int k = 0; k < opt.pub_conns && !opt.presence; k++)
            pub_connect(&pubs[k]);
        start_step(0);
        t_publish0 = step_start_ns;
        break;
    case P_DRAIN:
        end_step();
        break;
    case P_END:
        finish();
        break;
    default:
        break;
    }
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
    double in_phase = secs_since(t_phase);
    if (opt.recovery && phase > P_CONNECT && phase < P_END)
        rec_tick();
    switch (phase) {
    case P_CONNECT: {
        long want = opt.conns - launched;
        if (opt.connect_rate > 0) {
            long due = (long)(opt.connect_rate * secs_since(t_start)) - launched;
            if (due < want)
                want = due;
        }
        while (want-- > 0 && in_progress < opt.inflight)
            launch_one();
        bool all = launched == opt.conns && in_progress <= 0;
        if (all || in_phase > opt.connect_timeout)
            enter(P_SETTLE);
        break;
    }
    case P_SETTLE:
        if (in_phase >= opt.settle)
            enter(P_HOLD);
        break;
    case P_HOLD:
        if (in_phase >= opt.hold &&
            (!opt.hold_until || (++hold_polls % 50 == 0 && access(opt.hold_until, F_OK) == 0)))
            enter(P_PUBLISH);
        break;
    case P_PUBLISH: {
        step *s = &steps[cur_step];
        double el = secs_since(step_start_ns);
        if (el >= opt.step_seconds || !events_left()) {
            if (cur_step + 1 < opt.nrates && events_left()) {
                end_step();
                start_step(cur_step + 1);
            } else {
                enter(P_DRAIN);
            }
            break;
        }
        if (opt.presence) {
            churn_tick(s->rate, el, true);
            break;
        }
        if (s->rate > 0) {
            long due = (long)(s->rate * el) - (long)s->published;
            for (int k = 0; k < opt.pub_conns && due > 0; k++) {
                pubconn *p = &pubs[(k + (int)s->published) % opt.pub_conns];
                if (p->connected && !p->busy) {
                    pub_send_next(p);
                    due--;
                }
            }
        }
        break;
    }
    case P_DRAIN: {
        if (opt.presence) {
            churn_tick(0, 0, false); /* members still leave, nobody joins */
            if ((churn_settled() && n_deliveries >= n_expected) || in_phase >= opt.drain)
                enter(P_END);
            break;
        }
        if (opt.recovery) {
            /* until every client is back with every acknowledged event */
            bool idle = true;
            for (int k = 0; k < opt.pub_conns; k++)
                idle = idle && !pubs[k].busy;
            if (in_phase >= opt.drain ||
                (idle && rec_down == 0 && ++hold_polls % 100 == 0 && rec_all_received()))
                enter(P_END);
            break;
        }
        bool idle = true;
        for (int k = 0; k < opt.pub_conns; k++)
            idle = idle && !pubs[k].busy;
        if ((idle && n_deliveries >= n_expected) || in_phase >= opt.drain)
            enter(P_END);
        break;
    }
    case P_END:
        break;
    }
}

static void on_deadline(uv_timer_t *t)
{
    (void)t;
    fprintf(stderr, "herald-load: --timeout %.0fs reached, stopping\n", opt.timeout);
    if (phase == P_PUBLISH)
        end_step();
    if (phase != P_END)
        enter(P_END);
}

static void json_lat(FILE *o, const hl_hist *h)
{
    fprintf(o,
            "{\"count\":%" PRIu64 ",\"mean\":%.0f,\"p50\":%" PRIu64 ",\"p90\":%" PRIu64
            ",\"p99\":%" PRIu64 ",\"p999\":%" PRIu64 ",\"max\":%" PRIu64 "}",
            h->count, h->count ? (double)h->sum / (double)h->count : 0.0, hl_hist_quantile(h, 0.5),
            hl_hist_quantile(h, 0.9), hl_hist_quantile(h, 0.99), hl_hist_quantile(h, 0.999),
            h->max);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* Every error count; presence: member events that never came too. */
static uint64_t rec_lost, rec_lost_conns, rec_lost_max, rec_dups, rec_dup_conns;

/* Recovery: what every connection lacks (acknowledged, never arrived) or
 * got twice, once at the end. */
static void rec_count(void)
{
    for (long i = 0; i < opt.conns; i++) {
        const conn *c = &conns[i];
        long ch = conn_channel(c, 0);
        uint64_t lost = 0, dups = 0;
        for (uint64_t seq = (uint64_t)ch + 1; seq <= pub_seq; seq += (uint64_t)opt.channels) {
            uint8_t r = *rx_at(c, (seq - 1) / (uint64_t)opt.channels);
            if (r == 0 && pub_st[seq] == PUB_ACKED)
                lost++;
            if (r > 1)
                dups += r - 1u;
        }
        rec_lost += lost;
        rec_dups += dups;
        rec_lost_conns += lost > 0;
        rec_dup_conns += dups > 0;
        if (lost > rec_lost_max)
            rec_lost_max = lost;
    }
}

static uint64_t run_errors(void)
{
    /* Recovery: publishes refused while a node is down are expected, and
     * losses / duplicates are what is measured (recovery.lost, ...), not a
     * failure of the run; a client that never came back is. */
    if (opt.recovery)
        return n_conn_errors + n_errors_msg + (uint64_t)rec_down;
    uint64_t e = n_conn_errors + n_closed_early + n_errors_msg + n_pub_errors;
    if (opt.presence && n_expected > n_deliveries)
        e += n_expected - n_deliveries;
    return e;
}

static void finish(void)
{
    stopping = true;
    if (opt.recovery)
        rec_count();
    double ramp = t_connect_done ? (double)(t_connect_done - t_start) / 1e9 : secs_since(t_start);
    FILE *o = stdout;
    fprintf(o, "{\"tool\":\"herald-load\"");
    if (opt.label)
        fprintf(o, ",\"label\":\"%s\"", opt.label);
    fprintf(o,
            ",\"proto\":\"%s\",\"conns\":%ld,\"subs_per_conn\":%d,\"channels\":%ld,"
            "\"connected\":%" PRIu64 ",\"subscribed\":%" PRIu64 ",\"connect_errors\":%" PRIu64
            ",\"closed_early\":%" PRIu64 ",\"error_messages\":%" PRIu64 ",\"ramp_s\":%.3f,"
            "\"subscribed_per_s\":%.1f",
            opt.proto == HL_PROTO_SOCKETIO ? "socketio" : "pusher", opt.conns, opt.subs,
            opt.channels, n_connected, n_subscribed, n_conn_errors, n_closed_early, n_errors_msg,
            ramp, ramp > 0 ? (double)n_subscribed / ramp : 0.0);
    if (opt.nrss)
        fprintf(o, ",\"rss_base_kb\":%ld,\"rss_subscribed_kb\":%ld,\"rss_per_conn_bytes\":%.0f",
                rss_base_kb, rss_subscribed_kb,
                n_subscribed
                    ? (double)(rss_subscribed_kb - rss_base_kb) * 1024.0 / (double)n_subscribed
                    : 0.0);
    fprintf(o,
            ",\"published\":%" PRIu64 ",\"publish_errors\":%" PRIu64 ",\"deliveries\":%" PRIu64
            ",\"expected_deliveries\":%" PRIu64 ",\"missing\":%" PRId64 ",\"unstamped\":%" PRIu64
            ",\"late_deliveries\":%" PRIu64,
            n_published, n_pub_errors, n_deliveries, n_expected,
            (int64_t)n_expected - (int64_t)n_deliveries, n_unstamped, n_late);
    uint64_t errors = run_errors();
    fprintf(o, ",\"errors\":%" PRIu64 ",\"latency_us\":", errors);
    json_lat(o, &total);
    if (total_arrival.count) {
        fprintf(o, ",\"arrival_us\":");
        json_lat(o, &total_arrival);
    }
    if (opt.presence) {
        fprintf(o,
                ",\"presence\":{\"observers\":%ld,\"churners\":%ld,\"member_hold_s\":%.3f,"
                "\"joins\":%" PRIu64 ",\"joins_ok\":%" PRIu64 ",\"leaves\":%" PRIu64
                ",\"member_added\":%" PRIu64 ",\"member_removed\":%" PRIu64
                ",\"member_other\":%" PRIu64 ",\"join_us\":",
                n_observers, opt.conns - n_observers, opt.member_hold, n_joins, n_joins_ok,
                n_leaves, n_added, n_removed, n_member_other);
        json_lat(o, &total_join);
        fputc('}', o);
    }
    if (opt.recovery) {
        uint64_t acked = 0, refused = 0, while_down = 0;
        uint64_t back = rec_killed && rec_down == 0 ? t_back : UINT64_MAX;
        for (uint64_t q = 1; q <= pub_seq; q++) {
            acked += pub_st[q] == PUB_ACKED;
            refused += pub_st[q] == PUB_REFUSED;
            while_down +=
                pub_st[q] == PUB_ACKED && rec_killed && pub_t[q] >= t_kill && pub_t[q] < back;
        }
        fprintf(o,
                ",\"recovery\":{\"resume\":%s,\"killed_pid\":%d,\"killed\":%s,\"kill_at_s\":%.3f,"
                "\"dropped\":%ld,\"drops\":%" PRIu64 ",\"reconnects\":%" PRIu64
                ",\"resubscribed\":%" PRIu64 ",\"still_down\":%ld,\"recovered\":%" PRIu64
                ",\"not_recovered\":%" PRIu64,
                opt.resume ? "true" : "false", opt.kill_pid, rec_killed ? "true" : "false",
                rec_killed ? (double)(t_kill - t_start) / 1e9 : 0.0, rec_dropped, n_drops,
                n_reconnects, n_resubscribed, rec_down, n_recovered, n_not_recovered);
        if (rec_killed && rec_dropped > 0 && rec_down == 0)
            fprintf(o, ",\"reconnected_s\":%.3f", (double)(t_back - t_kill) / 1e9);
        else
            fprintf(o, ",\"reconnected_s\":null");
        if (rec_killed && rec_dropped > 0 && rec_down == 0 && rec_caught == rec_dropped)
            fprintf(o, ",\"caught_up_s\":%.3f", (double)(t_caught - t_kill) / 1e9);
        else
            fprintf(o, ",\"caught_up_s\":null");
        fprintf(o,
                ",\"caught_up\":%ld,\"events_acked\":%" PRIu64 ",\"events_refused\":%" PRIu64
                ",\"acked_while_down\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"lost_conns\":%" PRIu64
                ",\"lost_max\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"duplicate_conns\":%" PRIu64
                ",\"foreign\":%" PRIu64 ",\"back_us\":",
                rec_caught, acked, refused, while_down, rec_lost, rec_lost_conns, rec_lost_max,
                rec_dups, rec_dup_conns, n_foreign);
        json_lat(o, &rec_back);
        fputc('}', o);
    }
    fprintf(o, ",\"steps\":[");
    int nsteps = phase >= P_PUBLISH && cur_step >= 0 ? cur_step + 1 : 0;
    for (int i = 0; i < nsteps; i++) {
        const step *s = &steps[i];
        double dps = s->secs > 0 ? (double)s->deliveries / s->secs : 0;
        fprintf(
            o,
            "%s{\"rate\":%.0f,\"secs\":%.3f,\"published\":%" PRIu64 ",\"publish_errors\":%" PRIu64
            ",\"publish_per_s\":%.1f,\"deliveries\":%" PRIu64 ",\"expected\":%" PRIu64
            ",\"deliveries_per_s\":%.1f,\"server_cpu_s\":%.3f,\"server_cpu_us_per_delivery\":%.3f,"
            "\"gen_cpu_s\":%.3f,\"latency_us\":",
            i ? "," : "", s->rate, s->secs, s->published, s->pub_errors,
            s->secs > 0 ? (double)s->published / s->secs : 0, s->deliveries, s->expected, dps,
            s->server_cpu_s, s->deliveries ? s->server_cpu_s * 1e6 / (double)s->deliveries : 0,
            s->gen_cpu_s);
        json_lat(o, &s->hist);
        if (s->arrival.count) {
            fprintf(o, ",\"arrival_us\":");
            json_lat(o, &s->arrival);
        }
        if (opt.presence) {
            fprintf(o,
                    ",\"joins\":%" PRIu64 ",\"joins_ok\":%" PRIu64 ",\"leaves\":%" PRIu64
                    ",\"joins_per_s\":%.1f,\"server_cpu_us_per_join\":%.3f,\"join_us\":",
                    s->joins, s->joins_ok, s->leaves,
                    s->secs > 0 ? (double)s->joins_ok / s->secs : 0,
                    s->joins_ok ? s->server_cpu_s * 1e6 / (double)s->joins_ok : 0);
            json_lat(o, &s->join);
        }
        fputc('}', o);
    }
    fprintf(o, "],\"elapsed_s\":%.3f}\n", secs_since(t_start));
    fflush(o);
    uv_walk(loop, close_walk, NULL);
}

/* ---- options ------------------------------------------------------------- */

static void parse_url(const char *s, target *t, bool ws)
{
    const char *scheme = ws ? "ws://" : "http://";
    if (strncmp(s, scheme, strlen(scheme)) != 0)
        die("%s: expected a %s URL", s, scheme);
    const char *h = s + strlen(scheme);
    const char *colon = strchr(h, ':');
    const char *slash = strchr(h, '/');
    if (!colon || (slash && slash < colon))
        die("%s: expected %sHOST:PORT[/PATH]", s, scheme);
    size_t hl = (size_t)(colon - h);
    if (hl >= sizeof t->host)
        die("%s: host too long", s);
    memcpy(t->host, h, hl);
    t->host[hl] = '\0';
    t->port = atoi(colon + 1);
    snprintf(t->path, sizeof t->path, "%s", slash ? slash : "/");
    const char *ip = strcmp(t->host, "localhost") == 0 ? "127.0.0.1" : t->host;
    if (uv_ip4_addr(ip, t->port, &t->addr) != 0)
        die("%s: host must be an IPv4 address", s);
}

static int parse_list(const char *s, int *out, int max)
{
    int n = 0;
    char *copy = strdup(s), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
        out[n++] = atoi(tok);
    free(copy);
    return n;
}

static void usage(void)
{
    printf(
        "Usage: herald-load --url ws://HOST:PORT/PATH [--url ...] [options]\n"
        "Opens connections, subscribes, publishes stamped events through the HTTP API\n"
        "and prints one JSON summary line.\n\n"
        "  --url URL             WebSocket URL (repeat: connections go round-robin);\n"
        "                        Pusher: ws://127.0.0.1:6001/app/KEY?protocol=7,\n"
        "                        Socket.IO: ws://127.0.0.1:P/socket.io/?EIO=4&transport=websocket\n"
        "  --proto P             pusher (default) | socketio\n"
        "  --conns N             connections (default 100)\n"
        "  --subs K              channels per connection (default 1)\n"
        "  --channels C          distinct channels PREFIX-0..C-1 (default 1)\n"
        "  --prefix S            channel name prefix (default load)\n"
        "  --src-addrs K         bind sources 127.0.0.2..K+1 (default 8; 0 = no bind)\n"
        "  --connect-rate R      connection attempts per second (default 0 = unlimited)\n"
        "  --inflight W          connections still connecting/subscribing at once (default 256)\n"
        "  --connect-timeout S   give up connecting after S seconds (default 60)\n"
        "  --settle S            idle seconds after subscribing, then RSS is read (default 1)\n"
        "  --hold S              further idle seconds before publishing (default 0)\n"
        "  --publish-url URL     http://HOST:PORT of the HTTP API (repeat to spread)\n"
        "  --broadcast           publish with POST /broadcast (Socket.IO peer) instead of\n"
        "                        the signed Pusher POST /apps/ID/events\n"
        "  --app-id/--key/--secret  Pusher app credentials (default app-id/app-key/app-secret)\n"
        "  --event NAME          event name (default load-event)\n"
        "  --rates R1,R2,...     publish steps in events/s; 0 = as fast as possible\n"
        "  --step-seconds S      length of each step (default 5)\n"
        "  --events N            stop publishing after N events in total (default 0 = no cap)\n"
        "  --pub-conns P         keep-alive HTTP connections, one request each in flight (default "
        "4)\n"
        "  --payload B           padding bytes in each event's data (default 20)\n"
        "  --drain S             wait up to S seconds for late deliveries (default 3)\n"
        "  --pids P1,P2,...      server processes whose CPU is measured per step\n"
        "  --rss-pids P1,...     processes whose RSS is read before/after subscribing\n"
        "  --ready-file F        write \"subscribed N\" to F once subscribed and settled\n"
        "  --hold-until F        then hold the connections until file F exists\n"
        "  --timeout S           hard bound on the whole run (default 300)\n"
        "  --label S             copied into the summary\n"
        "  --no-kstamp           no kernel receive timestamps (arrival_us): plain reads\n"
        "  --presence            presence churn instead of publishing: --rates are joins/s;\n"
        "                        --prefix must start with presence-, --subs 1\n"
        "  --observers K         presence: observer connections per channel (default 1)\n"
        "  --member-hold S       presence: seconds a churner stays a member (default 1)\n"
        "  --recovery            connections lost after the ramp reconnect (to the next\n"
        "                        --url) and subscribe again; losses and duplicates per\n"
        "                        connection are counted (--subs 1, rates > 0)\n"
        "  --resume              recovery: resubscribe with \"since\" (Herald's recovery)\n"
        "  --kill-pid P          recovery: SIGKILL process P ...\n"
        "  --kill-after S        ... S seconds after publishing started (default 0 = at once)\n"
        "  --reconnect-delay S   recovery: wait S seconds before the first reconnect attempt,\n"
        "                        then 0.1 s more per failed attempt, up to 1 s (default 0)\n"
        "  --verbose             progress on stderr\n");
}

static void parse_args(int argc, char **argv)
{
    enum {
        O_URL = 256,
        O_PROTO,
        O_CONNS,
        O_SUBS,
        O_CHANNELS,
        O_PREFIX,
        O_SRC,
        O_CRATE,
        O_INFLIGHT,
        O_CTIMEOUT,
        O_SETTLE,
        O_HOLD,
        O_PUBURL,
        O_BROADCAST,
        O_APPID,
        O_KEY,
        O_SECRET,
        O_EVENT,
        O_RATES,
        O_STEP,
        O_EVENTS,
        O_PUBCONNS,
        O_PAYLOAD,
        O_DRAIN,
        O_PIDS,
        O_RSSPIDS,
        O_TIMEOUT,
        O_LABEL,
        O_VERBOSE,
        O_NOKSTAMP,
        O_HELP,
        O_READY,
        O_HOLDUNTIL,
        O_PRESENCE,
        O_OBSERVERS,
        O_MEMBERHOLD,
        O_RECOVERY,
        O_RESUME,
        O_KILLPID,
        O_KILLAFTER,
        O_RECDELAY
    };
    static const struct option lo[] = {{"url", 1, 0, O_URL},
                                       {"proto", 1, 0, O_PROTO},
                                       {"conns", 1, 0, O_CONNS},
                                       {"subs", 1, 0, O_SUBS},
                                       {"channels", 1, 0, O_CHANNELS},
                                       {"prefix", 1, 0, O_PREFIX},
                                       {"src-addrs", 1, 0, O_SRC},
                                       {"connect-rate", 1, 0, O_CRATE},
                                       {"inflight", 1, 0, O_INFLIGHT},
                                       {"connect-timeout", 1, 0, O_CTIMEOUT},
                                       {"settle", 1, 0, O_SETTLE},
                                       {"hold", 1, 0, O_HOLD},
                                       {"publish-url", 1, 0, O_PUBURL},
                                       {"broadcast", 0, 0, O_BROADCAST},
                                       {"app-id", 1, 0, O_APPID},
                                       {"key", 1, 0, O_KEY},
                                       {"secret", 1, 0, O_SECRET},
                                       {"event", 1, 0, O_EVENT},
                                       {"rates", 1, 0, O_RATES},
                                       {"step-seconds", 1, 0, O_STEP},
                                       {"events", 1, 0, O_EVENTS},
                                       {"pub-conns", 1, 0, O_PUBCONNS},
                                       {"payload", 1, 0, O_PAYLOAD},
                                       {"drain", 1, 0, O_DRAIN},
                                       {"pids", 1, 0, O_PIDS},
                                       {"rss-pids", 1, 0, O_RSSPIDS},
                                       {"timeout", 1, 0, O_TIMEOUT},
                                       {"label", 1, 0, O_LABEL},
                                       {"verbose", 0, 0, O_VERBOSE},
                                       {"no-kstamp", 0, 0, O_NOKSTAMP},
                                       {"help", 0, 0, O_HELP},
                                       {"ready-file", 1, 0, O_READY},
                                       {"hold-until", 1, 0, O_HOLDUNTIL},
                                       {"presence", 0, 0, O_PRESENCE},
                                       {"observers", 1, 0, O_OBSERVERS},
                                       {"member-hold", 1, 0, O_MEMBERHOLD},
                                       {"recovery", 0, 0, O_RECOVERY},
                                       {"resume", 0, 0, O_RESUME},
                                       {"kill-pid", 1, 0, O_KILLPID},
                                       {"kill-after", 1, 0, O_KILLAFTER},
                                       {"reconnect-delay", 1, 0, O_RECDELAY},
                                       {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case O_URL:
            if (opt.nurls == MAX_URLS)
                die("too many --url");
            parse_url(optarg, &opt.urls[opt.nurls++], true);
            break;
        case O_PROTO:
            if (strcmp(optarg, "pusher") == 0)
                opt.proto = HL_PROTO_PUSHER;
            else if (strcmp(optarg, "socketio") == 0)
                opt.proto = HL_PROTO_SOCKETIO;
            else
                die("--proto: pusher or socketio");
            break;
        case O_CONNS:
            opt.conns = atol(optarg);
            break;
        case O_SUBS:
            opt.subs = atoi(optarg);
            break;
        case O_CHANNELS:
            opt.channels = atol(optarg);
            break;
        case O_PREFIX:
            opt.prefix = optarg;
            break;
        case O_SRC:
            opt.src_addrs = atoi(optarg);
            break;
        case O_CRATE:
            opt.connect_rate = atof(optarg);
            break;
        case O_INFLIGHT:
            opt.inflight = atoi(optarg);
            break;
        case O_CTIMEOUT:
            opt.connect_timeout = atof(optarg);
            break;
        case O_SETTLE:
            opt.settle = atof(optarg);
            break;
        case O_HOLD:
            opt.hold = atof(optarg);
            break;
        case O_PUBURL:
            if (opt.npubs == MAX_URLS)
                die("too many --publish-url");
            parse_url(optarg, &opt.pubs[opt.npubs++], false);
            break;
        case O_BROADCAST:
            opt.pub_broadcast = true;
            break;
        case O_APPID:
            opt.app_id = optarg;
            break;
        case O_KEY:
            opt.key = optarg;
            break;
        case O_SECRET:
            opt.secret = optarg;
            break;
        case O_EVENT:
            opt.event = optarg;
            break;
        case O_RATES: {
            char *copy = strdup(optarg), *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t && opt.nrates < MAX_RATES;
                 t = strtok_r(NULL, ",", &save))
                opt.rates[opt.nrates++] = atof(t);
            free(copy);
            break;
        }
        case O_STEP:
            opt.step_seconds = atof(optarg);
            break;
        case O_EVENTS:
            opt.max_events = atol(optarg);
            break;
        case O_PUBCONNS:
            opt.pub_conns = atoi(optarg);
            break;
        case O_PAYLOAD:
            opt.payload = atoi(optarg);
            break;
        case O_DRAIN:
            opt.drain = atof(optarg);
            break;
        case O_PIDS:
            opt.npids = parse_list(optarg, opt.pids, MAX_PIDS);
            break;
        case O_RSSPIDS:
            opt.nrss = parse_list(optarg, opt.rss_pids, MAX_PIDS);
            break;
        case O_TIMEOUT:
            opt.timeout = atof(optarg);
            break;
        case O_LABEL:
            opt.label = optarg;
            break;
        case O_READY:
            opt.ready_file = optarg;
            break;
        case O_HOLDUNTIL:
            opt.hold_until = optarg;
            break;
        case O_VERBOSE:
            opt.verbose = true;
            break;
        case O_NOKSTAMP:
            opt.no_kstamp = true;
            break;
        case O_PRESENCE:
            opt.presence = true;
            break;
        case O_OBSERVERS:
            opt.observers = atoi(optarg);
            break;
        case O_MEMBERHOLD:
            opt.member_hold = atof(optarg);
            break;
        case O_RECOVERY:
            opt.recovery = true;
            break;
        case O_RESUME:
            opt.resume = true;
            break;
        case O_KILLPID:
            opt.kill_pid = atoi(optarg);
            break;
        case O_KILLAFTER:
            opt.kill_after = atof(optarg);
            break;
        case O_RECDELAY:
            opt.reconnect_delay = atof(optarg);
            break;
        case O_HELP:
            usage();
            exit(0);
        default:
            usage();
            exit(2);
        }
    }
    if (opt.nurls == 0)
        die("at least one --url is needed (--help)");
    if (opt.conns < 0 || opt.subs < 1 || opt.subs > 1000 || opt.channels < 1 || opt.inflight < 1 ||
        opt.pub_conns < 1 || opt.pub_conns > 1024 || opt.payload < 0 || opt.payload > 4000 ||
        opt.timeout <= 0)
        die("an option is out of range (--help)");
    if (opt.nrates > 0 && opt.npubs == 0 && !opt.presence)
        die("--rates needs --publish-url");
    if (opt.presence) {
        if (opt.proto != HL_PROTO_PUSHER || opt.subs != 1 ||
            strncmp(opt.prefix, "presence-", 9) != 0 || opt.observers < 1 || opt.member_hold < 0 ||
            opt.conns <= (long)opt.observers * opt.channels)
            die("--presence: Pusher, --subs 1, --prefix presence-..., --observers >= 1 and "
                "more --conns than --observers x --channels");
        for (int i = 0; i < opt.nrates; i++)
            if (opt.rates[i] <= 0)
                die("--presence: every rate must be > 0 joins/s");
        n_observers = (long)opt.observers * opt.channels;
    }
    if (opt.recovery) {
        double total = 0;
        for (int i = 0; i < opt.nrates; i++) {
            if (opt.rates[i] <= 0)
                die("--recovery: every rate must be > 0 events/s");
            total += opt.rates[i] * opt.step_seconds;
        }
        if (opt.subs != 1 || opt.presence || opt.nrates == 0 || opt.kill_after < 0)
            die("--recovery: --subs 1, --rates, no --presence");
        /* every event's state is kept: room for what the steps publish */
        seq_cap = (uint64_t)(total * 1.1) + 64;
        if (opt.max_events > 0 && (uint64_t)opt.max_events + 2 < seq_cap)
            seq_cap = (uint64_t)opt.max_events + 2;
        rx_per = (size_t)(seq_cap / (uint64_t)opt.channels) + 2;
    }
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    long need = opt.conns + opt.pub_conns + 64;
    if (rl.rlim_cur != RLIM_INFINITY && need > (long)rl.rlim_cur)
        die("%ld connections need %ld open files but the hard limit is %lu: run several "
            "herald-load processes",
            opt.conns, need, (unsigned long)rl.rlim_cur);
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    raise_nofile();
    srand((unsigned)getpid());
    loop = uv_default_loop();
    conns = calloc((size_t)(opt.conns ? opt.conns : 1), sizeof *conns);
    chan_subs = calloc((size_t)opt.channels, sizeof *chan_subs);
    pubs = calloc((size_t)opt.pub_conns, sizeof *pubs);
    if (!conns || !chan_subs || !pubs)
        die("out of memory");
    if (opt.recovery) {
        pub_t = calloc((size_t)seq_cap, sizeof *pub_t);
        pub_st = calloc((size_t)seq_cap, 1);
        rx = calloc((size_t)(opt.conns ? opt.conns : 1) * rx_per, 1);
        if (!pub_t || !pub_st || !rx)
            die("out of memory");
        hl_hist_reset(&rec_back);
    }
    for (int k = 0; k < opt.pub_conns; k++) {
        pubs[k].idx = k;
        pubs[k].target = opt.npubs ? k % opt.npubs : 0;
    }
    hl_hist_reset(&total);
    hl_hist_reset(&total_arrival);
    hl_hist_reset(&total_join);
    sample_clocks();
    rss_base_kb = rss_kb();
    t_start = uv_hrtime();
    phase = P_CONNECT;
    t_phase = t_start;
    uv_timer_init(loop, &tick);
    uv_timer_start(&tick, on_tick, 0, 1);
    uv_timer_init(loop, &deadline);
    uv_timer_start(&deadline, on_deadline, (uint64_t)(opt.timeout * 1000), 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    for (long i = 0; i < opt.conns; i++)
        free(conns[i].pend);
    for (int k = 0; k < opt.pub_conns; k++)
        free(pubs[k].in);
    free(conns);
    free(chan_subs);
    free(pubs);
    free(pub_t);
    free(pub_st);
    free(rx);
    return run_errors() ? 1 : 0;
}
