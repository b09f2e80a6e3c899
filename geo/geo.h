/* geo/geo.h: where is a client? Geo databases (MaxMind DB) plus operator
 * overrides, answered without allocation.
 *
 * A geo_set owns up to GEO_MAX_DBS memory-mapped .mmdb files and a list of
 * CIDR overrides. It is built once from config (geo_set_compile), immutable
 * afterwards, and read concurrently by any number of query threads; it is
 * freed (geo_set_free) only after no reader can hold it (the steering policy
 * that owns it is retired with RCU). Reload = build a new set and swap.
 *
 * Lookups are split into two groups, because a rule that matches on ASN must
 * not pay for a City lookup and vice versa:
 *   GEO_LOC: continent, country, subdivision, coordinates (City/Country DBs)
 *   GEO_ASN: autonomous system number (ASN DBs)
 * A database serves GEO_ASN when its metadata database_type contains "ASN",
 * GEO_LOC otherwise. With several databases per group, the first (in config
 * order) that knows the client wins.
 *
 * Every group result carries `len`: the length of the prefix around the
 * client for which the result is known to be identical. That is the DB
 * network's netmask (from MMDB_lookup), or a matching override's length,
 * lengthened where needed so that it excludes more specific overrides the
 * client is not in. This is what the ECS scope is computed from (RFC 7871
 * section 7.2.1: scope = the prefix length the answer is valid for).
 *
 * Overrides win over every database. An override sets the location group
 * (if it has any of continent/country/subdivision/lat/lon) and/or the ASN
 * group (if it has asn); the most specific matching override wins per group.
 * They are scanned linearly (GEO_MAX_OVERRIDES bounds the cost); a radix tree
 * was not worth it for the tens of entries operators write by hand. */
#ifndef STEER_GEO_H
#define STEER_GEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/netaddr.h"

struct cfg_ctx;
struct fy_node;

#define GEO_MAX_DBS        8      /* City + Country + ASN + spares */
#define GEO_MAX_OVERRIDES  1024   /* linear scan per lookup: keep it small */

enum geo_group { GEO_LOC = 0, GEO_ASN = 1, GEO_NGROUPS = 2 };

/* Location result. Codes are NUL-terminated upper-case ISO codes, empty when
 * unknown: continent "EU", country "DE", subdivision "BE" (without the
 * country; match "DE-BE" by combining both). */
struct geo_loc {
    bool found;
    bool has_coords;
    char continent[3];
    char country[3];
    char subdivision[4];
    double lat, lon;
    uint8_t len;            /* prefix length this result is valid for */
    int8_t src;             /* -1: none, 0..: database index, GEO_SRC_OVERRIDE */
};

struct geo_asn {
    bool found;
    uint32_t asn;
    uint8_t len;
    int8_t src;
};

#define GEO_SRC_OVERRIDE 100

struct geo_set;

/* Builds a geo_set from the `geo:` mapping (may be NULL: empty set, every
 * lookup answers "not found" with len 0). Database paths are relative to the
 * config file. Returns 0, or -1 with a file:line error in ctx. */
int geo_set_compile(struct cfg_ctx *ctx, struct fy_node *geo, struct geo_set **out);
/* Opens one extra database (tests, tools). Returns 0 or -1 (errbuf filled). */
int geo_set_add_db(struct geo_set *g, const char *path, char *errbuf, size_t errsize);
struct geo_set *geo_set_new(void);
void geo_set_free(struct geo_set **g);

size_t geo_set_db_count(const struct geo_set *g);
const char *geo_set_db_path(const struct geo_set *g, size_t i);
const char *geo_set_db_type(const struct geo_set *g, size_t i);
size_t geo_set_override_count(const struct geo_set *g);
/* True if some database or override can answer this group. */
bool geo_set_has_group(const struct geo_set *g, enum geo_group grp);

/* Looks the client address up. `a` must be masked to the client's source
 * prefix already; `source_len` only bounds nothing here (the caller clamps
 * the ECS scope). Never allocates, never blocks. Always fills *out. */
void geo_lookup_loc(const struct geo_set *g, const struct net_addr *a, struct geo_loc *out);
void geo_lookup_asn(const struct geo_set *g, const struct net_addr *a, struct geo_asn *out);

/* Great-circle distance in km (haversine, mean Earth radius). */
double geo_distance_km(double lat1, double lon1, double lat2, double lon2);

/* Length of the shortest prefix around `a` that lies entirely outside `p`
 * (p must not contain a; same family): common leading bits + 1. Used for
 * "the decision depended on not being in p". */
unsigned geo_exclusion_len(const struct net_prefix *p, const struct net_addr *a);

/* Validation helpers shared with the steering config. */
bool geo_valid_continent(const char *s);   /* AF AN AS EU NA OC SA */

/* Bit of a continent code (a NUL-terminated 2-letter code in 3 bytes), one
 * of the seven geo_valid_continent accepts; 0 for anything else. Steering
 * rules keep their continents as a mask, so matching a lookup's continent
 * is one AND instead of a string compare per listed continent. */
static inline uint8_t geo_continent_bit(const char c[3])
{
    if (c[2])
        return 0;
    switch ((unsigned)(unsigned char)c[0] << 8 | (unsigned char)c[1]) {
    case 'A' << 8 | 'F': return 1u << 0;
    case 'A' << 8 | 'N': return 1u << 1;
    case 'A' << 8 | 'S': return 1u << 2;
    case 'E' << 8 | 'U': return 1u << 3;
    case 'N' << 8 | 'A': return 1u << 4;
    case 'O' << 8 | 'C': return 1u << 5;
    case 'S' << 8 | 'A': return 1u << 6;
    default: return 0;
    }
}

#endif
