/* geo/geo.c: MaxMind DB lookups and CIDR overrides (see geo.h). */
#include "geo/geo.h"

#include <ctype.h>
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

struct geo_db {
    MMDB_s mmdb;
    enum geo_group group;
    char path[512];
};

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
    static const char *const codes[] = { "AF", "AN", "AS", "EU", "NA", "OC", "SA", NULL };
    for (const char *const *c = codes; *c; c++)
        if (!strcmp(*c, s))
            return true;
    return false;
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

/* Looks `a` up in one database. Returns the prefix length the result (found
 * or not) is valid for, and the entry through *res. */
static unsigned db_lookup(const struct geo_db *db, const struct net_addr *a, MMDB_lookup_result_s *res)
{
    struct sockaddr_storage ss;
    net_addr_to_sockaddr(a, 0, &ss);
    int gai = 0, err = 0;
    *res = MMDB_lookup_sockaddr(&db->mmdb, (const struct sockaddr *)&ss, &err);
    (void)gai;
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
    for (size_t i = 0; i < g->ndb; i++)
        MMDB_close(&g->db[i].mmdb);
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
