/*
 * hl_wire: herald-load's wire formats (see hl_wire.h). Owns no state and no
 * sockets; hl_main.c feeds it bytes and sends what it builds.
 */
#include "hl_wire.h"

#include "hc_sig.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

long hl_ws_parse(const uint8_t *buf, size_t len, size_t max_payload, hl_ws_frame *f)
{
    if (len < 2)
        return 0;
    if (buf[0] & 0x70)
        return -1; /* RSV bits: no extension was negotiated */
    if (buf[1] & 0x80)
        return -1; /* a server must not mask */
    size_t hdr = 2;
    uint64_t n = buf[1] & 0x7f;
    if (n == 126) {
        if (len < 4)
            return 0;
        n = ((uint64_t)buf[2] << 8) | buf[3];
        hdr = 4;
    } else if (n == 127) {
        if (len < 10)
            return 0;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = (n << 8) | buf[2 + i];
        hdr = 10;
    }
    f->fin = (buf[0] & 0x80) != 0;
    f->opcode = buf[0] & 0x0f;
    if (f->opcode >= 8 && (n > 125 || !f->fin))
        return -1;
    if (n > max_payload)
        return -1;
    if (len - hdr < n)
        return 0;
    f->payload = buf + hdr;
    f->len = (size_t)n;
    return (long)(hdr + n);
}

size_t hl_ws_encode(uint8_t *out, int opcode, const void *payload, size_t len, uint32_t mask)
{
    size_t h = 0;
    out[h++] = (uint8_t)(0x80 | (opcode & 0x0f));
    if (len < 126) {
        out[h++] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        out[h++] = 0x80 | 126;
        out[h++] = (uint8_t)(len >> 8);
        out[h++] = (uint8_t)len;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    uint8_t m[4] = {(uint8_t)(mask >> 24), (uint8_t)(mask >> 16), (uint8_t)(mask >> 8),
                    (uint8_t)mask};
    memcpy(out + h, m, 4);
    h += 4;
    const uint8_t *p = payload;
    for (size_t i = 0; i < len; i++)
        out[h + i] = p[i] ^ m[i & 3];
    return h + len;
}

size_t hl_ws_request(char *out, size_t cap, const char *host, int port, const char *path)
{
    /* The key is fixed: the client does not check the accept hash, only 101. */
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: aGVyYWxkLWxvYWQtMDAwMA==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     path, host, port);
    return (n > 0 && (size_t)n < cap) ? (size_t)n : 0;
}

size_t hl_http_head(const char *buf, size_t len, int *status, long *content_length)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t head = (size_t)(end - buf) + 4;
    *status = 0;
    *content_length = -1;
    if (head > 12 && memcmp(buf, "HTTP/1.", 7) == 0 && buf[8] == ' ' &&
        isdigit((unsigned char)buf[9]) && isdigit((unsigned char)buf[10]) &&
        isdigit((unsigned char)buf[11]))
        *status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    const char *p = memchr(buf, '\n', head);
    while (p && (size_t)(p + 1 - buf) < head) {
        p++;
        static const char cl[] = "content-length:";
        static const char te[] = "transfer-encoding: chunked";
        if ((size_t)(buf + head - p) > sizeof cl && strncasecmp(p, cl, sizeof cl - 1) == 0)
            *content_length = strtol(p + sizeof cl - 1, NULL, 10);
        else if ((size_t)(buf + head - p) > sizeof te && strncasecmp(p, te, sizeof te - 1) == 0)
            *content_length = HL_HTTP_CHUNKED;
        p = memchr(p, '\n', (size_t)(buf + head - p));
    }
    return head;
}

long hl_http_chunked_len(const char *body, size_t len)
{
    /* Only the end matters: the last chunk is "0\r\n" and a blank line. */
    if (len >= 5 && memcmp(body, "0\r\n\r\n", 5) == 0)
        return 5;
    const char *end = memmem(body, len, "\r\n0\r\n\r\n", 7);
    return end ? (long)(end - body) + 7 : -1;
}

static bool has(const char *msg, size_t len, const char *needle)
{
    return memmem(msg, len, needle, strlen(needle)) != NULL;
}

static bool starts(const char *msg, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(msg, prefix, n) == 0;
}

hl_msg_kind hl_classify(hl_proto proto, const char *msg, size_t len)
{
    if (proto == HL_PROTO_SOCKETIO) {
        if (len == 1 && msg[0] == '2')
            return HL_MSG_PING;
        if (starts(msg, len, "0{"))
            return HL_MSG_EIO_OPEN;
        if (starts(msg, len, "40"))
            return HL_MSG_ESTABLISHED;
        if (starts(msg, len, "44") || starts(msg, len, "41") || starts(msg, len, "1"))
            return HL_MSG_ERROR;
        if (starts(msg, len, "42[\"joined\""))
            return HL_MSG_SUBSCRIBED;
        if (starts(msg, len, "42[") && has(msg, len, "\"hl:"))
            return HL_MSG_EVENT;
        return HL_MSG_OTHER;
    }
    /* Pusher: user events are by far the most frequent, test them first. */
    if (has(msg, len, "\"hl:"))
        return HL_MSG_EVENT;
    if (has(msg, len, "\"pusher:ping\""))
        return HL_MSG_PING;
    if (has(msg, len, "\"pusher_internal:subscription_succeeded\""))
        return HL_MSG_SUBSCRIBED;
    if (has(msg, len, "\"pusher:connection_established\""))
        return HL_MSG_ESTABLISHED;
    if (has(msg, len, "\"pusher_internal:member_added\""))
        return HL_MSG_MEMBER_ADDED;
    if (has(msg, len, "\"pusher_internal:member_removed\""))
        return HL_MSG_MEMBER_REMOVED;
    if (has(msg, len, "\"pusher:error\"") || has(msg, len, "\"pusher:subscription_error\""))
        return HL_MSG_ERROR;
    return HL_MSG_OTHER;
}

size_t hl_presence_subscribe_msg(char *out, size_t cap, const char *key, const char *secret,
                                 const char *socket_id, const char *channel, const char *user_id)
{
    char cdata[128], tosign[512], sig[HC_SHA256_HEX_LEN + 1];
    int cn = snprintf(cdata, sizeof cdata, "{\"user_id\":\"%s\",\"user_info\":{\"n\":%s}}", user_id,
                      user_id[0] ? user_id + 1 : "0");
    if (cn <= 0 || (size_t)cn >= sizeof cdata)
        return 0;
    int sn = snprintf(tosign, sizeof tosign, "%s:%s:%s", socket_id, channel, cdata);
    if (sn <= 0 || (size_t)sn >= sizeof tosign)
        return 0;
    hc_hmac_sha256_hex(secret, strlen(secret), tosign, (size_t)sn, sig);
    /* channel_data is a JSON string: its quotes are escaped */
    int n =
        snprintf(out, cap,
                 "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"%s\",\"auth\":\"%s:%s\","
                 "\"channel_data\":\"{\\\"user_id\\\":\\\"%s\\\",\\\"user_info\\\":{"
                 "\\\"n\\\":%s}}\"}}",
                 channel, key, sig, user_id, user_id[0] ? user_id + 1 : "0");
    return (n > 0 && (size_t)n < cap) ? (size_t)n : 0;
}

size_t hl_subscribe_since_msg(char *out, size_t cap, const char *channel, const char *since)
{
    int n = snprintf(
        out, cap, "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"%s\",\"since\":\"%s\"}}",
        channel, since);
    return (n > 0 && (size_t)n < cap) ? (size_t)n : 0;
}

size_t hl_unsubscribe_msg(char *out, size_t cap, const char *channel)
{
    int n = snprintf(out, cap, "{\"event\":\"pusher:unsubscribe\",\"data\":{\"channel\":\"%s\"}}",
                     channel);
    return (n > 0 && (size_t)n < cap) ? (size_t)n : 0;
}

size_t hl_json_value(const char *msg, size_t len, const char *needle, char *out, size_t cap)
{
    const char *p = memmem(msg, len, needle, strlen(needle));
    if (!p || cap == 0)
        return 0;
    const char *end = msg + len;
    p += strlen(needle);
    while (p < end && (*p == '"' || *p == '\\' || *p == ':' || *p == ' '))
        p++;
    size_t n = 0;
    while (p < end &&
           (isalnum((unsigned char)*p) || *p == '.' || *p == ':' || *p == '_' || *p == '-')) {
        if (n + 1 >= cap)
            return 0;
        out[n++] = *p++;
    }
    out[n] = '\0';
    return n;
}

long hl_member_user(const char *msg, size_t len, char prefix)
{
    char id[32];
    size_t n = hl_json_value(msg, len, "user_id", id, sizeof id);
    if (n < 2 || id[0] != prefix)
        return -1;
    long v = 0;
    for (size_t i = 1; i < n; i++) {
        if (!isdigit((unsigned char)id[i]) || v > 100000000L)
            return -1;
        v = v * 10 + (id[i] - '0');
    }
    return v;
}

size_t hl_subscribe_msg(hl_proto proto, char *out, size_t cap, const char *channel)
{
    int n =
        proto == HL_PROTO_SOCKETIO
            ? snprintf(out, cap, "42[\"join\",\"%s\"]", channel)
            : snprintf(out, cap, "{\"event\":\"pusher:subscribe\",\"data\":{\"channel\":\"%s\"}}",
                       channel);
    return (n > 0 && (size_t)n < cap) ? (size_t)n : 0;
}

const char *hl_pong_msg(hl_proto proto)
{
    return proto == HL_PROTO_SOCKETIO ? "3" : "{\"event\":\"pusher:pong\",\"data\":{}}";
}

size_t hl_stamp(char *out, size_t cap, uint64_t t_ns, uint64_t seq, size_t pad)
{
    int n = snprintf(out, cap, "hl:%" PRIu64 ":%" PRIu64 ":", t_ns, seq);
    if (n <= 0 || (size_t)n + pad >= cap)
        return 0;
    memset(out + n, 'x', pad);
    out[n + pad] = '\0';
    return (size_t)n + pad;
}

bool hl_stamp_find(const char *msg, size_t len, uint64_t *t_ns, uint64_t *seq)
{
    const char *p = memmem(msg, len, "\"hl:", 4);
    if (!p)
        return false;
    const char *end = msg + len;
    p += 4;
    uint64_t v[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        if (p >= end || !isdigit((unsigned char)*p))
            return false;
        while (p < end && isdigit((unsigned char)*p))
            v[k] = v[k] * 10 + (uint64_t)(*p++ - '0');
        if (p >= end || *p++ != ':')
            return false;
    }
    *t_ns = v[0];
    *seq = v[1];
    return true;
}

size_t hl_publish_request(char *out, size_t cap, const char *host, int port, const char *app_id,
                          const char *key, const char *secret, long now_s, const char *channel,
                          const char *event, const char *data)
{
    char body[8192];
    int bn;
    int n;
    if (!key) {
        bn = snprintf(body, sizeof body, "{\"room\":\"%s\",\"event\":\"%s\",\"data\":\"%s\"}",
                      channel, event, data);
        if (bn <= 0 || (size_t)bn >= sizeof body)
            return 0;
        n = snprintf(out, cap,
                     "POST /broadcast HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\n\r\n%s",
                     host, port, bn, body);
        return (n > 0 && (size_t)n < cap) ? (size_t)n : 0;
    }
    bn = snprintf(body, sizeof body, "{\"name\":\"%s\",\"channel\":\"%s\",\"data\":\"%s\"}", event,
                  channel, data);
    if (bn <= 0 || (size_t)bn >= sizeof body)
        return 0;
    char md5[HC_MD5_HEX_LEN + 1];
    hc_md5_hex(body, (size_t)bn, md5);
    char query[256];
    int qn =
        snprintf(query, sizeof query, "auth_key=%s&auth_timestamp=%ld&auth_version=1.0&body_md5=%s",
                 key, now_s, md5);
    if (qn <= 0 || (size_t)qn >= sizeof query)
        return 0;
    char tosign[512];
    int sn = snprintf(tosign, sizeof tosign, "POST\n/apps/%s/events\n%s", app_id, query);
    if (sn <= 0 || (size_t)sn >= sizeof tosign)
        return 0;
    char sig[HC_SHA256_HEX_LEN + 1];
    hc_hmac_sha256_hex(secret, strlen(secret), tosign, (size_t)sn, sig);
    n = snprintf(out, cap,
                 "POST /apps/%s/events?%s&auth_signature=%s HTTP/1.1\r\nHost: %s:%d\r\n"
                 "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                 app_id, query, sig, host, port, bn, body);
    return (n > 0 && (size_t)n < cap) ? (size_t)n : 0;
}
