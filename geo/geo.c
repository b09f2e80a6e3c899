/* geo/geo.c: MaxMind DB lookups and CIDR overrides (see geo.h). */
#include "geo/geo.h"

#include <ctype.h>
#include <endian.h>
#include <libfyaml.h>
#include <math.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"

/* ---------------------------------------------------------------- types */

#define GEO_MAGIC 0x67656f31u   /* "geo1" */

/* The search tree is walked here, not by MMDB_lookup_sockaddr: libmaxminddb
 * reads every node through a function pointer chosen by record size and
 * wants a sockaddr, which made the walk most of a steered query's user CPU.
 * The walk below reads the same tree (MaxMind DB format spec, "Search Tree
 * Section") with the record size fixed per database, starts IPv4 lookups at
 * the precomputed IPv4 subtree root (::/96 in an IPv6 tree), and gives the
 * same result and netmask; the data section is still decoded by libmaxminddb
 * (MMDB_aget_value on the entry we build). test_geo_walk compares both. */
struct geo_db {
    MMDB_s mmdb;
    enum geo_group group;
    char path[512];
    const uint8_t *tree;        /* search tree: node_count nodes of node_bytes each */
    uint32_t nodes;             /* metadata.node_count: records >= nodes are not nodes */
    uint16_t rec_bits;          /* 24, 28 or 32 */
    uint16_t node_bytes;        /* 2 * rec_bits / 8 */
    uint32_t v4_root;           /* node (or terminal record) reached by the IPv4 prefix */
    uint8_t v4_root_depth;      /* bits walked to reach it: 96 in an IPv6 tree, 0 in IPv4 */
    /* Jump tables, [0] IPv4 (from v4_root), [1] IPv6 (from the root): the
     * record reached after the address's first GEO_JUMP_BITS bits, and the
     * bits actually walked (fewer when a record ends the walk earlier).
     * Malloced; NULL when the family has no subtree to jump into. */
    uint32_t *jump_rec[2];
    uint8_t *jump_depth[2];
    /* Second-level tables for the jump slots that end on a node at depth
     * GEO_JUMP_BITS: jump2_ix[f][slot] is 1 + the table's index (0: none);
     * table t holds, for the next GEO_JUMP2_BITS bits, the record reached
     * (jump2_rec[f][t << GEO_JUMP2_BITS | bits]) and the absolute depth.
     * At most GEO_JUMP2_MAX tables per family; slots beyond walk. Malloced
     * (NULL when no slot needs one). */
    uint16_t *jump2_ix[2];
    uint32_t *jump2_rec[2];
    uint8_t *jump2_depth[2];
};

/* First bits of every lookup resolved by one table read instead of as many
 * dependent node reads. 16 bits: 2^16 x 5 bytes = 320 KiB per family and
 * database (fits in L2), and it removes most of the walk for IPv4 (a
 * database's IPv4 networks rarely end before /16) and the shared top of
 * the IPv6 tree. */
#define GEO_JUMP_BITS 16
/* 8 more bits where the first table lands on a node: an IPv6 /36-/48
 * network otherwise costs 20-32 dependent steps (~16 instructions each,
 * ~300 per IPv6 lookup measured with bench/dns_instr.sh), and IPv4
 * networks longer than /16 up to 16. A table is 2^8 x 5 bytes = 1.25 KiB;
 * GEO_JUMP2_MAX of them cap the memory at 5 MiB per family and database
 * (a full GeoLite2-City has fewer IPv6 /16 slots than that; its IPv4 /16s
 * beyond the cap keep walking). */
#define GEO_JUMP2_BITS 8
#define GEO_JUMP2_MAX 4096

struct geo_override {
    struct net_prefix prefix;
    bool sets_loc, sets_asn;
    struct geo_loc loc;         /* when sets_loc */
    uint32_t asn;               /* when sets_asn */
};

struct geo_set {
    uint32_t magic;
    uint64_t id;                /* unique per set: keys the per-thread record cache */
    size_t ndb;
    struct geo_db db[GEO_MAX_DBS];
    size_t nov;
    struct geo_override *ov;    /* malloced, nov entries */
};

/* ------------------------------------------------------------- helpers */

bool geo_valid_continent(const char *s)
{
    return strlen(s) == 2 && geo_continent_bit(s) != 0;
}

double geo_distance_km(double lat1, double lon1, double lat2, double lon2)
{
    const double rad = M_PI / 180.0;
    const double earth_km = 6371.0088;   /* IUGG mean Earth radius */
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double s1 = sin(dlat / 2), s2 = sin(dlon / 2);
    double h = s1 * s1 + cos(lat1 * rad) * cos(lat2 * rad) * s2 * s2;
    if (h > 1.0)
        h = 1.0;
    return 2.0 * earth_km * asin(sqrt(h));
}

/* Number of leading bits a and b share, up to max. */
static unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned max)
{
    unsigned n = 0;
    for (unsigned i = 0; n < max; i++) {
        uint8_t x = a[i] ^ b[i];
        if (x == 0) {
            n += 8;
            continue;
        }
        while (!(x & 0x80)) {
            x <<= 1;
            n++;
        }
        break;
    }
    return n < max ? n : max;
}

unsigned geo_exclusion_len(const struct net_prefix *p, const struct net_addr *a)
{
    unsigned k = common_bits(p->addr.bytes, a->bytes, p->len);
    return k < p->len ? k + 1 : p->len;
}

static bool prefix_match(const struct net_prefix *p, const struct net_addr *a)
{
    return p->addr.family == a->family && common_bits(p->addr.bytes, a->bytes, p->len) >= p->len;
}

/* Copies an MMDB string into a small fixed buffer, upper-cased; returns
 * false if absent, not a string or too long. */
static bool copy_code(MMDB_entry_data_s *d, char *buf, size_t size)
{
    if (!d->has_data || d->type != MMDB_DATA_TYPE_UTF8_STRING || d->data_size == 0 || d->data_size >= size)
        return false;
    for (uint32_t i = 0; i < d->data_size; i++)
        buf[i] = (char)toupper((unsigned char)d->utf8_string[i]);
    buf[d->data_size] = '\0';
    return true;
}

static double entry_double(MMDB_entry_data_s *d, bool *ok)
{
    if (!d->has_data) {
        *ok = false;
        return 0;
    }
    switch (d->type) {
    case MMDB_DATA_TYPE_DOUBLE: return d->double_value;
    case MMDB_DATA_TYPE_FLOAT: return d->float_value;
    default: *ok = false; return 0;
    }
}

/* Per-thread cache of decoded location records. Decoding five values with
 * MMDB_aget_value costs about 4x the tree walk itself, while a database has
 * far fewer distinct records than networks (clients of one city share one
 * record). The cache is direct-mapped by the record's data offset, per
 * thread (no locks, no allocation), and keyed by the set's unique id so a
 * reloaded set never sees another set's entries. 512 slots x 40 bytes = 20 KiB
 * of TLS per thread. */
#define LOC_CACHE_SLOTS 512
struct loc_slot {
    uint64_t set_id;            /* 0 = empty */
    uint32_t offset;
    uint8_t db;
    bool any;
    struct geo_loc loc;         /* fields only; len/src/found are set by the caller */
};
static _Thread_local struct loc_slot loc_cache[LOC_CACHE_SLOTS];

/* One unaligned load and a byte swap (the byte-wise form was ~10
 * instructions per tree step, the walk's largest cost). */
static inline uint32_t load_be32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return v;
#else
    return __builtin_bswap32(v);
#endif
}

/* Left (bit 0) or right (bit 1) record of a node; node < db->nodes. Each
 * case reads 4 bytes at the record, branch-free. A node is 2 * rec_bits / 8
 * bytes; for 24-bit records the right record's 4-byte read takes one byte of
 * the next node or of the 16-byte separator after the tree (never past the
 * file). 28-bit records: the middle byte holds the top nibbles, left's high,
 * right's low. */
static inline uint32_t rec24(const uint8_t *tree, uint32_t node, unsigned bit)
{
    return load_be32(tree + (size_t)node * 6 + bit * 3) >> 8;
}
static inline uint32_t rec28(const uint8_t *tree, uint32_t node, unsigned bit)
{
    uint32_t v = load_be32(tree + (size_t)node * 7 + bit * 3);
    uint32_t left = v >> 8 | (v & 0xf0) << 20, right = v & 0x0fffffff;
    return bit ? right : left;
}
static inline uint32_t rec32(const uint8_t *tree, uint32_t node, unsigned bit)
{
    return load_be32(tree + (size_t)node * 8 + bit * 4);
}
static inline uint32_t tree_record(const struct geo_db *db, uint32_t node, unsigned bit)
{
    switch (db->rec_bits) {
    case 24: return rec24(db->tree, node, bit);
    case 28: return rec28(db->tree, node, bit);
    default: return rec32(db->tree, node, bit);
    }
}

/* Walks from node n with the address bits from `depth` on, while n is a
 * node and depth < max. The address is two big-endian words; `w` holds the
 * bits still to use, most significant first. One loop per record size so the
 * record read is inlined without a switch per bit. */
#define WALK(RECFN, W, LIMIT)                                                \
    for (uint64_t w = (W); n < nodes && depth < (LIMIT); depth++, w <<= 1)   \
        n = RECFN(tree, n, (unsigned)(w >> 63));
static uint32_t tree_walk(const struct geo_db *db, uint32_t n, uint64_t hi, uint64_t lo, unsigned *depthp,
                          unsigned max)
{
    const uint8_t *tree = db->tree;
    const uint32_t nodes = db->nodes;
    unsigned depth = *depthp, lim = max < 64 ? max : 64;
    hi = depth < 64 ? hi << depth : 0;
    /* the second loop runs only when the first used all 64 bits */
#define LO_BITS (depth >= 64 ? lo << (depth - 64) : lo)
    switch (db->rec_bits) {
    case 24: WALK(rec24, hi, lim) WALK(rec24, LO_BITS, max) break;
    case 28: WALK(rec28, hi, lim) WALK(rec28, LO_BITS, max) break;
    default: WALK(rec32, hi, lim) WALK(rec32, LO_BITS, max) break;
    }
    *depthp = depth;
    return n;
}
#undef LO_BITS
#undef WALK

static void tree_release(struct geo_db *db)
{
    for (int f = 0; f < 2; f++) {
        free(db->jump_rec[f]);
        free(db->jump_depth[f]);
        free(db->jump2_ix[f]);
        free(db->jump2_rec[f]);
        free(db->jump2_depth[f]);
        db->jump_rec[f] = NULL;
        db->jump_depth[f] = NULL;
        db->jump2_ix[f] = NULL;
        db->jump2_rec[f] = NULL;
        db->jump2_depth[f] = NULL;
    }
    db->tree = NULL;
}

/* One jump table being filled: `bits` address bits from depth `base`,
 * entry i holding the record reached (rec[i]) and the absolute depth
 * (dep[i]). */
struct jump_dst {
    uint32_t *rec;
    uint8_t *dep;
    unsigned bits, base;
};

/* Fills the entries under `prefix` (rel bits below the table's start) with
 * what the walk from node n reaches: a record that ends the walk above
 * d->bits covers its whole range at once. Recursion depth is bounded by
 * d->bits; the work by the nodes of the tree's levels it spans plus the
 * table size (not entries x bits). */
static void jump_fill(const struct geo_db *db, const struct jump_dst *d, uint32_t n, unsigned rel, uint32_t prefix)
{
    if (n < db->nodes && rel < d->bits) {
        jump_fill(db, d, tree_record(db, n, 0), rel + 1, prefix << 1);
        jump_fill(db, d, tree_record(db, n, 1), rel + 1, prefix << 1 | 1);
        return;
    }
    uint32_t first = prefix << (d->bits - rel), count = 1u << (d->bits - rel);
    for (uint32_t i = first; i < first + count; i++) {
        d->rec[i] = n;
        d->dep[i] = (uint8_t)(d->base + rel);
    }
}

/* Builds family f's second-level tables (after jump_fill). Returns false
 * on allocation failure. */
static bool jump2_init(struct geo_db *db, int f)
{
    const size_t slots = (size_t)1 << GEO_JUMP_BITS, per = (size_t)1 << GEO_JUMP2_BITS;
    size_t ntab = 0;
    for (size_t i = 0; i < slots && ntab < GEO_JUMP2_MAX; i++)
        if (db->jump_depth[f][i] == GEO_JUMP_BITS && db->jump_rec[f][i] < db->nodes)
            ntab++;
    if (ntab == 0)
        return true;
    db->jump2_ix[f] = calloc(slots, sizeof *db->jump2_ix[f]);
    db->jump2_rec[f] = malloc(ntab * per * sizeof *db->jump2_rec[f]);
    db->jump2_depth[f] = malloc(ntab * per);
    if (!db->jump2_ix[f] || !db->jump2_rec[f] || !db->jump2_depth[f])
        return false;
    size_t t = 0;
    for (size_t i = 0; i < slots && t < ntab; i++) {
        if (db->jump_depth[f][i] != GEO_JUMP_BITS || db->jump_rec[f][i] >= db->nodes)
            continue;
        const struct jump_dst d = { db->jump2_rec[f] + t * per, db->jump2_depth[f] + t * per, GEO_JUMP2_BITS,
                                    GEO_JUMP_BITS };
        jump_fill(db, &d, db->jump_rec[f][i], 0, 0);
        db->jump2_ix[f][i] = (uint16_t)(++t);
    }
    return true;
}

/* Prepares the own walk for an opened database. Returns false when the tree
 * is not one we can walk (then db_lookup keeps using libmaxminddb). */
static bool tree_init(struct geo_db *db)
{
    const MMDB_s *m = &db->mmdb;
    uint16_t rb = m->metadata.record_size;
    db->tree = NULL;
    if (rb != 24 && rb != 28 && rb != 32)
        return false;
    size_t node_bytes = rb / 4u, nodes = m->metadata.node_count;
    if (nodes == 0 || m->file_size < 0 || nodes * node_bytes > (size_t)m->file_size ||
        (size_t)(m->data_section - m->file_content) < nodes * node_bytes + 16)   /* tree + separator */
        return false;
    db->nodes = (uint32_t)nodes;
    db->rec_bits = rb;
    db->node_bytes = (uint16_t)node_bytes;
    db->tree = m->file_content;
    db->v4_root = 0;
    db->v4_root_depth = 0;
    if (m->metadata.ip_version == 6) {   /* IPv4 lives at ::a.b.c.d (96 zero bits) */
        uint32_t n = 0;
        unsigned d = 0;
        while (d < 96 && n < db->nodes) {
            n = tree_record(db, n, 0);
            d++;
        }
        db->v4_root = n;
        db->v4_root_depth = (uint8_t)d;
    }
    for (int f = 0; f < 2; f++) {
        uint32_t start = f == 0 ? db->v4_root : 0;
        if (start >= db->nodes || (f == 1 && m->metadata.ip_version != 6))
            continue;   /* IPv4 space is one record, or no IPv6 in an IPv4 tree */
        db->jump_rec[f] = malloc(sizeof(uint32_t) << GEO_JUMP_BITS);
        db->jump_depth[f] = malloc((size_t)1 << GEO_JUMP_BITS);
        if (!db->jump_rec[f] || !db->jump_depth[f]) {
            tree_release(db);
            return false;
        }
        const struct jump_dst d = { db->jump_rec[f], db->jump_depth[f], GEO_JUMP_BITS, 0 };
        jump_fill(db, &d, start, 0, 0);
        if (!jump2_init(db, f)) {
            tree_release(db);
            return false;
        }
    }
    return true;
}

/* Walks the tree for `a`. Returns the prefix length the result is valid for
 * (in the address's own family), and the entry through *res. */
static unsigned tree_lookup(const struct geo_db *db, const struct net_addr *a, MMDB_lookup_result_s *res)
{
    unsigned max = net_addr_maxlen(a), depth = 0;
    uint32_t n;
    memset(res, 0, sizeof *res);
    if (a->family == 4) {
        n = db->v4_root;   /* a record already: the whole IPv4 space shares it (len 0) */
    } else {
        if (db->mmdb.metadata.ip_version != 6)
            return max;   /* IPv6 client, IPv4-only database: unknown */
        n = 0;
    }
    uint64_t hi, lo;
    memcpy(&hi, a->bytes, 8);
    memcpy(&lo, a->bytes + 8, 8);
    hi = be64toh(hi);
    lo = be64toh(lo);
    const int f = a->family == 4 ? 0 : 1;
    if (db->jump_rec[f]) {
        uint32_t i = (uint32_t)(hi >> (64 - GEO_JUMP_BITS));
        n = db->jump_rec[f][i];
        depth = db->jump_depth[f][i];
        uint16_t t = db->jump2_ix[f] ? db->jump2_ix[f][i] : 0;
        if (t) {   /* only slots ending on a node at depth GEO_JUMP_BITS have one */
            size_t k = (size_t)(t - 1) << GEO_JUMP2_BITS |
                       (size_t)(hi >> (64 - GEO_JUMP_BITS - GEO_JUMP2_BITS) & ((1u << GEO_JUMP2_BITS) - 1));
            n = db->jump2_rec[f][k];
            depth = db->jump2_depth[f][k];
        }
    }
    n = tree_walk(db, n, hi, lo, &depth, max);   /* bounded by the address length */
    if (n < db->nodes)
        return max;   /* tree deeper than the address: corrupt; unknown, be specific */
    if (n > db->nodes) {
        uint32_t off = n - db->nodes - 16;   /* 16-byte separator before the data section */
        if (n - db->nodes < 16 || off >= db->mmdb.data_section_size)
            return max;   /* pointer outside the data section: corrupt */
        res->found_entry = true;
        res->entry.mmdb = &db->mmdb;
        res->entry.offset = off;
    }
    res->netmask = (uint16_t)depth;
    return depth;
}

/* Looks `a` up in one database. Returns the prefix length the result (found
 * or not) is valid for, and the entry through *res. */
static unsigned db_lookup(const struct geo_db *db, const struct net_addr *a, MMDB_lookup_result_s *res)
{
    if (db->tree)
        return tree_lookup(db, a, res);
    struct sockaddr_storage ss;
    net_addr_to_sockaddr(a, 0, &ss);
    int err = 0;
    *res = MMDB_lookup_sockaddr(&db->mmdb, (const struct sockaddr *)&ss, &err);
    if (err != MMDB_SUCCESS) {
        res->found_entry = false;
        return net_addr_maxlen(a);   /* unknown: be as specific as possible */
    }
    unsigned len = res->netmask;
    /* An IPv4 address in an IPv6 tree is looked up at ::a.b.c.d/96+n, and
     * libmaxminddb reports the IPv6 netmask. */
    if (a->family == 4 && db->mmdb.metadata.ip_version == 6)
        len = len >= 96 ? len - 96 : 0;
    unsigned max = net_addr_maxlen(a);
    return len > max ? max : len;
}

/* Lookup paths as static arrays: MMDB_get_value() would calloc a copy of its
 * varargs on every call; MMDB_aget_value() walks the array as given. */
static const char *const path_continent[] = { "continent", "code", NULL };
static const char *const path_country[] = { "country", "iso_code", NULL };
static const char *const path_subdivision[] = { "subdivisions", "0", "iso_code", NULL };
static const char *const path_lat[] = { "location", "latitude", NULL };
static const char *const path_lon[] = { "location", "longitude", NULL };
static const char *const path_asn[] = { "autonomous_system_number", NULL };

static bool db_read_loc(MMDB_lookup_result_s *res, struct geo_loc *out)
{
    MMDB_entry_data_s d;
    bool any = false;
    if (MMDB_aget_value(&res->entry, &d, path_continent) == MMDB_SUCCESS)
        any |= copy_code(&d, out->continent, sizeof out->continent);
    if (MMDB_aget_value(&res->entry, &d, path_country) == MMDB_SUCCESS)
        any |= copy_code(&d, out->country, sizeof out->country);
    if (MMDB_aget_value(&res->entry, &d, path_subdivision) == MMDB_SUCCESS)
        any |= copy_code(&d, out->subdivision, sizeof out->subdivision);
    MMDB_entry_data_s la, lo;
    if (MMDB_aget_value(&res->entry, &la, path_lat) == MMDB_SUCCESS &&
        MMDB_aget_value(&res->entry, &lo, path_lon) == MMDB_SUCCESS) {
        bool ok = true;
        double lat = entry_double(&la, &ok), lon = entry_double(&lo, &ok);
        if (ok && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) {
            out->lat = lat;
            out->lon = lon;
            out->has_coords = true;
            any = true;
        }
    }
    return any;
}

static bool db_read_asn(MMDB_lookup_result_s *res, uint32_t *asn)
{
    MMDB_entry_data_s d;
    if (MMDB_aget_value(&res->entry, &d, path_asn) != MMDB_SUCCESS || !d.has_data)
        return false;
    switch (d.type) {
    case MMDB_DATA_TYPE_UINT32: *asn = d.uint32; return true;
    case MMDB_DATA_TYPE_UINT16: *asn = d.uint16; return true;
    default: return false;
    }
}

/* Applies the overrides of one group: the most specific matching override
 * wins, and every override the client is not in but which is more specific
 * than the current result lengthens `len` so that it excludes it. Returns
 * the winning override or NULL. */
static const struct geo_override *scan_overrides(const struct geo_set *g, const struct net_addr *a,
                                                 enum geo_group grp, unsigned *len)
{
    const struct geo_override *best = NULL;
    for (size_t i = 0; i < g->nov; i++) {
        const struct geo_override *o = &g->ov[i];
        if (!(grp == GEO_LOC ? o->sets_loc : o->sets_asn) || o->prefix.addr.family != a->family)
            continue;
        if (prefix_match(&o->prefix, a)) {
            if (!best || o->prefix.len > best->prefix.len)
                best = o;
        }
    }
    unsigned l = best ? best->prefix.len : *len;
    for (size_t i = 0; i < g->nov; i++) {
        const struct geo_override *o = &g->ov[i];
        if (!(grp == GEO_LOC ? o->sets_loc : o->sets_asn) || o->prefix.addr.family != a->family)
            continue;
        if (!prefix_match(&o->prefix, a)) {
            unsigned x = geo_exclusion_len(&o->prefix, a);
            if (x > l)
                l = x;
        }
    }
    *len = l;
    return best;
}

/* ------------------------------------------------------------------ API */

void geo_lookup_loc(const struct geo_set *g, const struct net_addr *a, struct geo_loc *out)
{
    memset(out, 0, sizeof *out);
    out->src = -1;
    if (!g)
        return;
    unsigned len = 0;
    for (size_t i = 0; i < g->ndb && !out->found; i++) {
        if (g->db[i].group != GEO_LOC)
            continue;
        MMDB_lookup_result_s res;
        unsigned l = db_lookup(&g->db[i], a, &res);
        if (l > len)
            len = l;
        if (!res.found_entry)
            continue;
        uint32_t off = res.entry.offset;
        struct loc_slot *sl = &loc_cache[(off * 2654435761u) >> 23 & (LOC_CACHE_SLOTS - 1)];
        if (sl->set_id == g->id && sl->offset == off && sl->db == i) {
            *out = sl->loc;
        } else {
            memset(out, 0, sizeof *out);
            sl->any = db_read_loc(&res, out);
            sl->loc = *out;
            sl->set_id = g->id;
            sl->offset = off;
            sl->db = (uint8_t)i;
        }
        if (sl->any) {
            out->found = true;
            out->src = (int8_t)i;
        } else {
            memset(out, 0, sizeof *out);
            out->src = -1;
        }
    }
    const struct geo_override *o = scan_overrides(g, a, GEO_LOC, &len);
    if (o) {
        *out = o->loc;
        out->found = true;
        out->src = GEO_SRC_OVERRIDE;
    }
    out->len = (uint8_t)len;
}

void geo_lookup_asn(const struct geo_set *g, const struct net_addr *a, struct geo_asn *out)
{
    memset(out, 0, sizeof *out);
    out->src = -1;
    if (!g)
        return;
    unsigned len = 0;
    for (size_t i = 0; i < g->ndb && !out->found; i++) {
        if (g->db[i].group != GEO_ASN)
            continue;
        MMDB_lookup_result_s res;
        unsigned l = db_lookup(&g->db[i], a, &res);
        if (l > len)
            len = l;
        if (res.found_entry && db_read_asn(&res, &out->asn)) {
            out->found = true;
            out->src = (int8_t)i;
        }
    }
    const struct geo_override *o = scan_overrides(g, a, GEO_ASN, &len);
    if (o) {
        out->asn = o->asn;
        out->found = true;
        out->src = GEO_SRC_OVERRIDE;
    }
    out->len = (uint8_t)len;
}

struct geo_set *geo_set_new(void)
{
    static _Atomic uint64_t next_id = 1;
    struct geo_set *g = calloc(1, sizeof *g);
    if (g) {
        g->magic = GEO_MAGIC;
        g->id = next_id++;   /* process-wide counter: never reused, never 0 */
    }
    return g;
}

void geo_set_free(struct geo_set **gp)
{
    struct geo_set *g = *gp;
    if (!g)
        return;
    for (size_t i = 0; i < g->ndb; i++) {
        tree_release(&g->db[i]);
        MMDB_close(&g->db[i].mmdb);
    }
    free(g->ov);
    g->magic = 0;
    free(g);
    *gp = NULL;
}

int geo_set_add_db(struct geo_set *g, const char *path, char *errbuf, size_t errsize)
{
    if (g->ndb >= GEO_MAX_DBS) {
        snprintf(errbuf, errsize, "too many geo databases (max %d)", GEO_MAX_DBS);
        return -1;
    }
    struct geo_db *db = &g->db[g->ndb];
    memset(db, 0, sizeof *db);
    int rc = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
    if (rc != MMDB_SUCCESS) {
        snprintf(errbuf, errsize, "cannot open geo database '%s': %s", path, MMDB_strerror(rc));
        return -1;
    }
    tree_init(db);
    const char *type = db->mmdb.metadata.database_type ? db->mmdb.metadata.database_type : "";
    db->group = strstr(type, "ASN") ? GEO_ASN : GEO_LOC;
    snprintf(db->path, sizeof db->path, "%s", path);
    g->ndb++;
    return 0;
}

size_t geo_set_db_count(const struct geo_set *g) { return g ? g->ndb : 0; }
const char *geo_set_db_path(const struct geo_set *g, size_t i) { return g->db[i].path; }
const char *geo_set_db_type(const struct geo_set *g, size_t i)
{
    return g->db[i].mmdb.metadata.database_type ? g->db[i].mmdb.metadata.database_type : "";
}
size_t geo_set_override_count(const struct geo_set *g) { return g ? g->nov : 0; }

bool geo_set_has_group(const struct geo_set *g, enum geo_group grp)
{
    if (!g)
        return false;
    for (size_t i = 0; i < g->ndb; i++)
        if (g->db[i].group == grp)
            return true;
    for (size_t i = 0; i < g->nov; i++)
        if (grp == GEO_LOC ? g->ov[i].sets_loc : g->ov[i].sets_asn)
            return true;
    return false;
}

/* ------------------------------------------------------------- config */

/* Upper-cases an ISO code in place; true if it is 1..max letters/digits. */
static bool norm_code(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]))
            return false;
        s[i] = (char)toupper((unsigned char)s[i]);
    }
    return true;
}

static int compile_override(struct cfg_ctx *ctx, struct fy_node *n, struct geo_override *o)
{
    static const char *const keys[] = { "prefix", "continent", "country", "subdivision", "asn", "lat", "lon", NULL };
    if (cfg_expect_map(ctx, n, "a geo override") < 0 || cfg_check_keys(ctx, n, keys) < 0)
        return -1;
    memset(o, 0, sizeof *o);
    char buf[64];
    if (cfg_str(ctx, n, "prefix", true, NULL, buf, sizeof buf) < 0)
        return -1;
    if (net_prefix_parse(buf, false, &o->prefix) < 0)
        return cfg_error(ctx, cfg_get(n, "prefix"), "invalid CIDR prefix '%s' (host bits must be zero)", buf);
    struct geo_loc *l = &o->loc;
    l->src = GEO_SRC_OVERRIDE;
    if (cfg_str(ctx, n, "continent", false, "", buf, sizeof buf) < 0)
        return -1;
    if (buf[0]) {
        if (!norm_code(buf, 2) || !geo_valid_continent(buf))
            return cfg_error(ctx, cfg_get(n, "continent"), "unknown continent code '%s' (AF AN AS EU NA OC SA)", buf);
        memcpy(l->continent, buf, 3);
        o->sets_loc = true;
    }
    if (cfg_str(ctx, n, "country", false, "", buf, sizeof buf) < 0)
        return -1;
    if (buf[0]) {
        if (strlen(buf) != 2 || !norm_code(buf, 2))
            return cfg_error(ctx, cfg_get(n, "country"), "country must be an ISO 3166-1 alpha-2 code, not '%s'", buf);
        memcpy(l->country, buf, 3);
        o->sets_loc = true;
    }
    if (cfg_str(ctx, n, "subdivision", false, "", buf, sizeof buf) < 0)
        return -1;
    if (buf[0]) {
        char *sub = buf, *dash = strchr(buf, '-');
        if (dash) {   /* "DE-BE": sets the country too */
            *dash = '\0';
            sub = dash + 1;
            if (strlen(buf) != 2 || !norm_code(buf, 2) || (l->country[0] && strcmp(l->country, buf)))
                return cfg_error(ctx, cfg_get(n, "subdivision"), "subdivision country does not match");
            memcpy(l->country, buf, 3);
        }
        if (!norm_code(sub, 3))
            return cfg_error(ctx, cfg_get(n, "subdivision"), "subdivision must be an ISO 3166-2 code like DE-BE");
        memcpy(l->subdivision, sub, strlen(sub) + 1);
        o->sets_loc = true;
    }
    struct fy_node *lat = cfg_get(n, "lat"), *lon = cfg_get(n, "lon");
    if (!!lat != !!lon)
        return cfg_error(ctx, lat ? lat : lon, "lat and lon must be given together");
    if (lat) {
        if (cfg_double(ctx, n, "lat", true, -90, 90, 0, &l->lat) < 0 ||
            cfg_double(ctx, n, "lon", true, -180, 180, 0, &l->lon) < 0)
            return -1;
        l->has_coords = true;
        o->sets_loc = true;
    }
    if (cfg_get(n, "asn")) {
        if (cfg_u32(ctx, n, "asn", true, 1, UINT32_MAX, 0, &o->asn) < 0)
            return -1;
        o->sets_asn = true;
    }
    if (!o->sets_loc && !o->sets_asn)
        return cfg_error(ctx, n, "geo override sets nothing (give continent, country, subdivision, lat/lon or asn)");
    l->found = true;
    return 0;
}

int geo_set_compile(struct cfg_ctx *ctx, struct fy_node *geo, struct geo_set **out)
{
    static const char *const keys[] = { "databases", "overrides", NULL };
    *out = NULL;
    struct geo_set *g = geo_set_new();
    if (!g)
        return cfg_error(ctx, geo, "out of memory");
    if (!geo) {
        *out = g;
        return 0;
    }
    if (cfg_expect_map(ctx, geo, "'geo'") < 0 || cfg_check_keys(ctx, geo, keys) < 0)
        goto fail;
    struct fy_node *dbs = cfg_get(geo, "databases");
    if (dbs) {
        if (cfg_expect_seq(ctx, dbs, "'geo.databases'") < 0)
            goto fail;
        for (int i = 0; i < fy_node_sequence_item_count(dbs); i++) {
            struct fy_node *it = fy_node_sequence_get_by_index(dbs, i);
            char rel[512], path[1024], err[768];
            if (cfg_scalar(ctx, it, rel, sizeof rel) < 0 || cfg_path(ctx, it, rel, path, sizeof path) < 0)
                goto fail;
            if (geo_set_add_db(g, path, err, sizeof err) < 0) {
                cfg_error(ctx, it, "%s", err);
                goto fail;
            }
        }
    }
    struct fy_node *ovs = cfg_get(geo, "overrides");
    if (ovs) {
        if (cfg_expect_seq(ctx, ovs, "'geo.overrides'") < 0)
            goto fail;
        int n = fy_node_sequence_item_count(ovs);
        if (n > GEO_MAX_OVERRIDES) {
            cfg_error(ctx, ovs, "too many geo overrides (%d, max %d)", n, GEO_MAX_OVERRIDES);
            goto fail;
        }
        g->ov = calloc((size_t)n + 1, sizeof *g->ov);
        if (!g->ov) {
            cfg_error(ctx, ovs, "out of memory");
            goto fail;
        }
        for (int i = 0; i < n; i++) {
            struct fy_node *it = fy_node_sequence_get_by_index(ovs, i);
            if (compile_override(ctx, it, &g->ov[g->nov]) < 0)
                goto fail;
            for (size_t j = 0; j < g->nov; j++)
                if (g->ov[j].prefix.len == g->ov[g->nov].prefix.len &&
                    prefix_match(&g->ov[j].prefix, &g->ov[g->nov].prefix.addr)) {
                    cfg_error(ctx, it, "duplicate geo override prefix");
                    goto fail;
                }
            g->nov++;
        }
    }
    *out = g;
    return 0;
fail:
    geo_set_free(&g);
    return -1;
}
