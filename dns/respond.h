/* dns/respond.h: builds the answer to one query.
 *
 * Owns the resolution algorithm of an authoritative server over a dns_db
 * (RFC 1034 4.3.2 with RFC 2308 negative answers, RFC 4592 wildcards,
 * RFC 6891 EDNS0, RFC 7871 ECS, RFC 8482 minimal ANY) and the encoding of
 * the response with name compression and truncation. Names marked dynamic
 * get their address answer from a callback (the steering engine, wired in
 * by steerd), so dns/ does not depend on steering/. No allocation, no
 * locks: everything works in the caller's buffers. */
#ifndef STEER_DNS_RESPOND_H
#define STEER_DNS_RESPOND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/netaddr.h"
#include "dns/wire.h"
#include "dns/zone.h"

#define DNS_DYN_MAX_ADDRS 8

enum dns_dyn_kind { DNS_DYN_ADDRS, DNS_DYN_CNAME, DNS_DYN_NODATA };

struct dns_dyn_answer {
    enum dns_dyn_kind kind;
    uint32_t ttl;
    uint8_t scope;                    /* ECS scope prefix length */
    unsigned naddr;
    const uint8_t *addr[DNS_DYN_MAX_ADDRS]; /* 4 bytes (A) or 16 (AAAA) */
    const uint8_t *cname;             /* wire-format target */
    size_t cname_len;
};

/* What the dynamic callback knows of the client. */
struct dns_client {
    struct net_addr addr;             /* packet source */
    bool tcp;
    const struct dns_query *q;        /* parsed query, incl. ECS */
};

/* Answers `qtype` (A or AAAA) for a dynamic node. Returns 0, or -1 to
 * answer SERVFAIL. Must not allocate or block. */
typedef int (*dns_dynamic_fn)(void *ctx, const void *handle, const struct dns_client *c, uint16_t qtype,
                              struct dns_dyn_answer *out);

struct dns_view {
    const struct dns_db *db;
    dns_dynamic_fn dynamic;
    void *dynamic_ctx;
    uint16_t udp_max;                 /* largest UDP response we send (EDNS) */
};

/* Summary of what was answered, for counters. */
struct dns_result {
    uint8_t rcode;                    /* 0..15, or 16 for BADVERS */
    bool tc;
    bool dropped;
    bool ecs;
    bool dynamic;
};

/* Writes the response to the query in pkt[0..len) into out. cap must be at
 * least the largest message allowed (65535 over TCP, view->udp_max over
 * UDP) plus DNS_RESPONSE_SLACK. Returns its length, or 0 to send nothing. */
#define DNS_RESPONSE_SLACK 512
size_t dns_respond(const struct dns_view *v, const uint8_t *pkt, size_t len, struct dns_client *c,
                   struct dns_query *q, uint8_t *out, size_t cap, struct dns_result *res);

#endif
