/* dns/zone.h: the compiled, read-only zone database.
 *
 * Owns loading RFC 1035 master files (ldns does the text parsing; $ORIGIN,
 * $TTL and $INCLUDE are honoured) and compiling them into per-zone hash
 * tables of nodes whose RRsets are pre-rendered in wire format, so the query
 * path only hashes names and copies bytes. A built dns_db is immutable and
 * is published to the query threads inside a snapshot (steerd/snapshot.h). */
#ifndef STEER_DNS_ZONE_H
#define STEER_DNS_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"

struct dns_rrset {
    uint16_t type;
    uint16_t count;
    uint32_t ttl;
    uint32_t wire_len;
    /* count x [type(2) class(2) ttl(4) rdlen(2) rdata], owner omitted;
     * names inside rdata are uncompressed */
    const uint8_t *wire;
    /* names needing additional-section processing (NS, MX, SRV targets) or
     * the CNAME target; lower-case wire format */
    uint16_t ntargets;
    const uint8_t *const *targets;
};

enum dns_node_flags {
    DNS_NODE_APEX     = 1 << 0,
    DNS_NODE_DELEG    = 1 << 1,   /* NS below the apex: a zone cut */
    DNS_NODE_CNAME    = 1 << 2,
    DNS_NODE_WILDKID  = 1 << 3,   /* "*.<this name>" exists */
    DNS_NODE_DYNAMIC  = 1 << 4,   /* answers come from the steering engine */
    DNS_NODE_UNDERCUT = 1 << 5,   /* a proper ancestor is a zone cut (occluded) */
};

struct dns_node {
    const uint8_t *name;          /* lower-case wire */
    uint8_t name_len;
    uint8_t flags;
    uint16_t nrrsets;
    const struct dns_rrset *rrsets;
    const void *dynamic;          /* steering handle when DNS_NODE_DYNAMIC */
};

struct dns_zone {
    const uint8_t *apex;
    uint8_t apex_len;
    uint8_t apex_labels;
    const char *name;             /* presentation form, for logs */
    const struct dns_node *apex_node;
    const struct dns_rrset *soa;
    const struct dns_rrset *neg_soa;  /* SOA with TTL = min(TTL, MINIMUM), RFC 2308 */
    uint32_t serial;
    uint32_t mask;                /* hash table size - 1 */
    const struct dns_node **slots;
    size_t nnodes;
};

struct dns_db {
    struct arena arena;
    size_t nzones;
    const struct dns_zone *zones;
    uint32_t zmask;
    const struct dns_zone **zslots;
    unsigned max_apex_labels;     /* deepest apex: longer suffixes cannot be zones */
    uint64_t apex_lens[4];        /* bit n set: some apex is n octets long */
};

/* What to load; `line` is the config line naming it, for errors. */
struct dns_zone_src {
    const char *name;             /* apex, presentation form */
    const char *file;             /* master file path */
    const char *cfg_file;
    int cfg_line;
};

/* A name answered by the steering engine: a node is created for it (and
 * for its ancestors) if the zone file has none. */
struct dns_dynamic_src {
    const uint8_t *owner;         /* lower-case wire */
    size_t owner_len;
    const void *handle;
};

/* Builds a database. On error returns -1 with "file:line: message" in err. */
int dns_db_build(const struct dns_zone_src *zones, size_t nzones,
                 const struct dns_dynamic_src *dyn, size_t ndyn,
                 struct dns_db **out, char *err, size_t errlen);
void dns_db_free(struct dns_db **db);

/* Deepest zone whose apex is `name` or an ancestor of it. `label_off`
 * holds the offset of each of the `nlabels` labels of name. */
const struct dns_zone *dns_db_find_zone(const struct dns_db *db, const uint8_t *name, size_t len,
                                        const uint8_t *label_off, unsigned nlabels);
/* Exact-match node lookup in one zone. */
const struct dns_node *dns_zone_find(const struct dns_zone *z, const uint8_t *name, size_t len);
const struct dns_rrset *dns_node_rrset(const struct dns_node *n, uint16_t type);

uint32_t dns_name_hash(const uint8_t *name, size_t len);

#endif
