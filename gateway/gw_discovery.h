/*
 * gw_discovery: finding brokers from one DNS name (a headless Service).
 *
 * `--brokers dns:NAME:PORT` makes the gateway resolve NAME now and every
 * refresh seconds; every address it resolves to is a broker, named
 * "ip:port" ("[v6]:port"): the rendezvous node name, so all gateways that
 * resolve the same set agree on channel owners. The set is handed (sorted,
 * without duplicates) to a callback, only when it changed; a failed lookup
 * keeps the previous set. This module owns the spec parsing, the lookup
 * timer and the address list; it knows nothing of links: gw_link_tcp.c
 * starts it and turns each new set into links (gw_link_tcp_set_brokers).
 * The pure parts (parse, format, collect) are unit-tested in
 * tests/unit/test_gw_discovery.c.
 */
#ifndef GW_DISCOVERY_H
#define GW_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#define GW_DISCOVERY_PREFIX "dns:"

typedef struct gw_discovery gw_discovery;
/* A new broker set: addrs[0..n) are "ip:port" strings, sorted and unique,
 * valid only during the call. */
typedef void (*gw_discovery_cb)(void *ud, const char *const *addrs, size_t n);

/* Parses "dns:HOST:PORT". Returns 1 and sets *host and *port (new strings)
 * when spec is such a name, 0 when spec does not start with "dns:", and -1
 * with a sentence in err when it does but is malformed. */
int gw_discovery_parse(const char *spec, char **host, char **port, char *err, size_t errlen);

/* Writes "ip:port" (IPv4) or "[ip]:port" (IPv6) for sa into out. False for
 * another family or when out is too small. */
bool gw_discovery_format(const struct sockaddr *sa, const char *port, char *out, size_t outlen);

/* The sorted, de-duplicated "ip:port" names of every address in res, as a
 * new array of new strings (free with gw_discovery_free_list); returns the
 * count. */
size_t gw_discovery_collect(const struct addrinfo *res, const char *port, char ***out);
void gw_discovery_free_list(char **list, size_t n);

/* Starts resolving host now and every refresh_s seconds (minimum 1). */
gw_discovery *gw_discovery_start(uv_loop_t *loop, const char *host, const char *port,
                                 unsigned refresh_s, gw_discovery_cb cb, void *ud);
/* Stops: no callback after this returns; done(ud) is called from the loop
 * once every handle is closed, then d is freed. */
void gw_discovery_stop(gw_discovery *d, void (*done)(void *ud), void *ud);

#endif
