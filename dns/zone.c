#include "dns/zone.h"

#include <errno.h>
#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/wire.h"

#define MAX_INCLUDE_DEPTH 8     /* $INCLUDE nesting; deeper is surely a loop */
#define DEFAULT_TTL 3600        /* used until a $TTL directive, as BIND does */

/* One record as read from a file, before grouping into nodes/RRsets. */
struct staged_rr {
    uint8_t owner[DNS_MAX_NAME];
    uint8_t owner_len;
    uint16_t type;              /* 0: placeholder that only creates a node */
    uint32_t ttl;
    uint16_t rdlen;
    uint8_t *rdata;
    uint8_t target[DNS_MAX_NAME];
    uint8_t target_len;         /* 0: none */
    size_t seq;                 /* file order, for a stable sort */
    const char *file;
    int line;
    const void *dynamic;
};

struct stage {
    struct staged_rr *rrs;
    size_t n, cap;
    char *err;
    size_t errlen;
    char **files;               /* file names referenced by staged rrs */
    size_t nfiles;
};

static int stage_err(struct stage *s, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int stage_err(struct stage *s, const char *file, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(s->err, s->errlen, "%s:%d: %s", file, line, msg);
    else
        snprintf(s->err, s->errlen, "%s: %s", file, msg);
    return -1;
}

static struct staged_rr *stage_push(struct stage *s)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        struct staged_rr *n = realloc(s->rrs, cap * sizeof *n);
        if (!n)
            return NULL;
        s->rrs = n;
        s->cap = cap;
    }
    struct staged_rr *r = &s->rrs[s->n];
    memset(r, 0, sizeof *r);
    r->seq = s->n++;
    return r;
}

static const char *stage_keep_file(struct stage *s, const char *file)
{
    char **n = realloc(s->files, (s->nfiles + 1) * sizeof *n);
    if (!n)
        return NULL;
    s->files = n;
    if (!(n[s->nfiles] = strdup(file)))
        return NULL;
    return n[s->nfiles++];
}

static void stage_free(struct stage *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->rrs[i].rdata);
    free(s->rrs);
    for (size_t i = 0; i < s->nfiles; i++)
        free(s->files[i]);
    free(s->files);
}

static void copy_dname(const ldns_rdf *rdf, uint8_t *out, uint8_t *len)
{
    size_t n = ldns_rdf_size(rdf);
    memcpy(out, ldns_rdf_data(rdf), n);
    dns_name_lower(out);
    *len = (uint8_t)n;
}

/* The rdata field holding a name that needs additional processing. */
static int target_field(uint16_t type)
{
    switch (type) {
    case DNS_T_NS: case DNS_T_CNAME: return 0;
    case DNS_T_MX: return 1;
    case DNS_T_SRV: return 3;
    default: return -1;
    }
}

static int stage_rr(struct stage *s, const ldns_rr *rr, const uint8_t *apex, size_t apex_len,
                    const char *file, int line)
{
    if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
        return stage_err(s, file, line, "only class IN is supported");
    struct staged_rr *r = stage_push(s);
    if (!r)
        return stage_err(s, file, line, "out of memory");
    copy_dname(ldns_rr_owner(rr), r->owner, &r->owner_len);
    r->file = file;
    r->line = line;
    if (!dns_name_is_sub(r->owner, r->owner_len, apex, apex_len)) {
        char name[1024];
        dns_name_to_str(r->owner, name, sizeof name);
        return stage_err(s, file, line, "record for %s is outside the zone", name);
    }
    r->type = (uint16_t)ldns_rr_get_type(rr);
    if (r->type == DNS_T_OPT || r->type == DNS_T_TSIG || r->type == DNS_T_TKEY ||
        (r->type >= DNS_T_IXFR && r->type <= DNS_T_ANY))
        return stage_err(s, file, line, "record type %u cannot appear in a zone", r->type);
    r->ttl = ldns_rr_ttl(rr);
    if (r->ttl > 0x7fffffffu)   /* RFC 2181 8: TTLs above 2^31-1 mean 0 */
        r->ttl = 0;
    ldns_buffer *b = ldns_buffer_new(512);
    if (!b)
        return stage_err(s, file, line, "out of memory");
    if (ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK || ldns_buffer_position(b) > 65535) {
        ldns_buffer_free(b);
        return stage_err(s, file, line, "cannot encode record data");
    }
    r->rdlen = (uint16_t)ldns_buffer_position(b);
    r->rdata = malloc(r->rdlen ? r->rdlen : 1);
    if (!r->rdata) {
        ldns_buffer_free(b);
        return stage_err(s, file, line, "out of memory");
    }
    memcpy(r->rdata, ldns_buffer_begin(b), r->rdlen);
    ldns_buffer_free(b);
    int tf = target_field(r->type);
    if (tf >= 0 && (size_t)tf < ldns_rr_rd_count(rr) &&
        ldns_rdf_get_type(ldns_rr_rdf(rr, (size_t)tf)) == LDNS_RDF_TYPE_DNAME)
        copy_dname(ldns_rr_rdf(rr, (size_t)tf), r->target, &r->target_len);
    return 0;
}

static int read_zone_file(struct stage *s, const char *path, const char *origin_str, uint32_t ttl,
                          const uint8_t *apex, size_t apex_len, int depth, const char *from_file, int from_line);

/* Handles "$INCLUDE file [origin]" found at or after offset `pos`. */
static int do_include(struct stage *s, FILE *fp, long pos, const char *file, int line, ldns_rdf *origin,
                      uint32_t ttl, const uint8_t *apex, size_t apex_len, int depth)
{
    char buf[2048];
    if (fseek(fp, pos, SEEK_SET) != 0)
        return stage_err(s, file, line, "cannot seek: %s", strerror(errno));
    while (fgets(buf, sizeof buf, fp)) {
        char *p = buf + strspn(buf, " \t");
        if (strncasecmp(p, "$INCLUDE", 8) != 0)
            continue;
        char inc[1024] = "", inc_origin[1024] = "";
        if (sscanf(p + 8, " %1023s %1023s", inc, inc_origin) < 1 || inc[0] == ';')
            return stage_err(s, file, line, "$INCLUDE needs a file name");
        if (inc_origin[0] == ';')
            inc_origin[0] = '\0';
        char full[2048];
        const char *slash = strrchr(file, '/');
        if (inc[0] == '/' || !slash)
            snprintf(full, sizeof full, "%s", inc);
        else
            snprintf(full, sizeof full, "%.*s/%s", (int)(slash - file), file, inc);
        char *cur = NULL;
        if (!inc_origin[0])
            cur = ldns_rdf2str(origin);
        /* the included file starts with the includer's origin and $TTL */
        int r = read_zone_file(s, full, inc_origin[0] ? inc_origin : cur, ttl, apex, apex_len, depth + 1, file, line);
        free(cur);
        return r;
    }
    return stage_err(s, file, line, "cannot find the $INCLUDE directive");
}

static int read_zone_file(struct stage *s, const char *path, const char *origin_str, uint32_t ttl,
                          const uint8_t *apex, size_t apex_len, int depth, const char *from_file, int from_line)
{
    if (depth > MAX_INCLUDE_DEPTH)
        return stage_err(s, from_file, from_line, "$INCLUDE nested deeper than %d", MAX_INCLUDE_DEPTH);
    const char *file = stage_keep_file(s, path);
    if (!file)
        return stage_err(s, path, 0, "out of memory");
    FILE *fp = fopen(path, "r");
    if (!fp)
        return stage_err(s, from_file, from_line, "cannot open zone file %s: %s", path, strerror(errno));
    ldns_rdf *origin = ldns_dname_new_frm_str(origin_str);
    if (!origin) {
        fclose(fp);
        return stage_err(s, from_file, from_line, "bad origin '%s'", origin_str);
    }
    ldns_rdf *prev = NULL;
    int line = 1, rc = 0;
    while (rc == 0 && !feof(fp)) {
        long pos = ftell(fp);
        int start_line = line;
        ldns_rr *rr = NULL;
        ldns_status st = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &line);
        switch (st) {
        case LDNS_STATUS_OK:
            rc = stage_rr(s, rr, apex, apex_len, file, line > start_line ? line - 1 : line);
            ldns_rr_free(rr);
            break;
        case LDNS_STATUS_SYNTAX_EMPTY:
        case LDNS_STATUS_SYNTAX_TTL:
        case LDNS_STATUS_SYNTAX_ORIGIN:
            break;
        case LDNS_STATUS_SYNTAX_INCLUDE:
            /* do_include re-reads the directive and leaves fp after it */
            rc = do_include(s, fp, pos, file, line > start_line ? line - 1 : line, origin, ttl, apex, apex_len, depth);
            break;
        default:
            if (feof(fp) && st == LDNS_STATUS_SYNTAX_ERR)
                break;
            rc = stage_err(s, file, line > start_line ? line - 1 : line, "%s", ldns_get_errorstr_by_id(st));
        }
    }
    if (prev)
        ldns_rdf_deep_free(prev);
    ldns_rdf_deep_free(origin);
    fclose(fp);
    return rc;
}

static int cmp_staged(const void *a, const void *b)
{
    const struct staged_rr *x = a, *y = b;
    if (x->owner_len != y->owner_len)
        return x->owner_len < y->owner_len ? -1 : 1;
    int c = memcmp(x->owner, y->owner, x->owner_len);
    if (c)
        return c;
    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Multiplier of the name hash: 2^64 / golden ratio, odd, so multiplying
 * spreads every input bit over the high half of the product. */
#define NAME_HASH_MUL 0x9e3779b97f4a7c15ull

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/* Eight bytes per step (FNV-1a took one byte per step: ~5 instructions a
 * byte, ~90 for www.example.test.); names of 8+ bytes end with an 8-byte
 * word overlapping the previous one, shorter ones are packed bytewise.
 * Never reads outside name[0..len). */
uint32_t dns_name_hash(const uint8_t *name, size_t len)
{
    uint64_t h = len * NAME_HASH_MUL;
    if (len < 8) {
        uint64_t w = 0;
        for (size_t i = 0; i < len; i++)
            w = w << 8 | name[i];
        h = (h ^ w) * NAME_HASH_MUL;
    } else {
        size_t i = 0;
        for (; i + 8 < len; i += 8)
            h = (h ^ load64(name + i)) * NAME_HASH_MUL;
        h = (h ^ load64(name + len - 8)) * NAME_HASH_MUL;
    }
    return (uint32_t)(h >> 32 ^ h);
}

/* memcmp(a, b, len) == 0 for short names without the library call. */
static inline bool name_eq(const uint8_t *a, const uint8_t *b, size_t len)
{
    if (len < 8) {
        for (size_t i = 0; i < len; i++)
            if (a[i] != b[i])
                return false;
        return true;
    }
    size_t i = 0;
    for (; i + 8 < len; i += 8)
        if (load64(a + i) != load64(b + i))
            return false;
    return load64(a + len - 8) == load64(b + len - 8);
}

static size_t table_size(size_t n)
{
    size_t sz = 16;
    while (sz < n * 2)  /* load factor <= 0.5 keeps probe chains short */
        sz <<= 1;
    return sz;
}

/* A name under construction: owner bytes live in the staged array. */
struct proto_node {
    const uint8_t *name;
    uint8_t len;
    size_t first, count;        /* staged rr range (0 count for ENTs) */
};

struct proto_set {
    struct proto_node *v;
    size_t n, cap;
    size_t *slots;              /* index+1, 0 = empty */
    size_t mask;
};

static struct proto_node *proto_find(struct proto_set *ps, const uint8_t *name, size_t len, bool add)
{
    size_t i = dns_name_hash(name, len) & ps->mask;
    while (ps->slots[i]) {
        struct proto_node *p = &ps->v[ps->slots[i] - 1];
        if (p->len == len && memcmp(p->name, name, len) == 0)
            return p;
        i = (i + 1) & ps->mask;
    }
    if (!add)
        return NULL;
    struct proto_node *p = &ps->v[ps->n];
    p->name = name;
    p->len = (uint8_t)len;
    p->first = p->count = 0;
    ps->slots[i] = ++ps->n;
    return p;
}

static int render_rrset(struct arena *a, const struct staged_rr *rrs, size_t n, struct dns_rrset *out,
                        bool negative_soa)
{
    uint32_t ttl = UINT32_MAX;
    size_t len = 0, ntarget = 0;
    for (size_t i = 0; i < n; i++) {
        if (rrs[i].ttl < ttl)
            ttl = rrs[i].ttl;   /* RFC 2181 5.2: differing TTLs act as the lowest */
        len += 10u + rrs[i].rdlen;
        if (rrs[i].target_len)
            ntarget++;
    }
    if (negative_soa && rrs[0].rdlen >= 4) {
        uint32_t minimum = dns_get32(rrs[0].rdata + rrs[0].rdlen - 4);
        if (minimum < ttl)
            ttl = minimum;      /* RFC 2308 5 */
    }
    uint8_t *w = arena_alloc(a, len);
    const uint8_t **targets = ntarget ? arena_alloc(a, ntarget * sizeof *targets) : NULL;
    if (!w || (ntarget && !targets))
        return -1;
    size_t o = 0, t = 0;
    for (size_t i = 0; i < n; i++) {
        dns_put16(w + o, rrs[i].type);
        dns_put16(w + o + 2, DNS_CLASS_IN);
        dns_put32(w + o + 4, ttl);
        dns_put16(w + o + 8, rrs[i].rdlen);
        memcpy(w + o + 10, rrs[i].rdata, rrs[i].rdlen);
        o += 10u + rrs[i].rdlen;
        if (rrs[i].target_len && !(targets[t++] = arena_dup(a, rrs[i].target, rrs[i].target_len)))
            return -1;
    }
    out->type = rrs[0].type;
    out->count = (uint16_t)n;
    out->ttl = ttl;
    out->wire = w;
    out->wire_len = (uint32_t)len;
    out->ntargets = (uint16_t)ntarget;
    out->targets = (const uint8_t *const *)targets;
    return 0;
}

/* Removes records whose type and rdata repeat an earlier one (RFC 2181 5). */
static size_t dedup_range(struct staged_rr *rrs, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < w && !dup; j++)
            dup = rrs[j].type == rrs[i].type && rrs[j].rdlen == rrs[i].rdlen &&
                  memcmp(rrs[j].rdata, rrs[i].rdata, rrs[i].rdlen) == 0;
        if (dup) {
            free(rrs[i].rdata);
            rrs[i].rdata = NULL;
            continue;
        }
        if (w != i)
            rrs[w] = rrs[i];
        w++;
    }
    return w;
}

static int build_node(struct arena *a, struct stage *s, struct dns_zone *z, const struct proto_node *p,
                      struct dns_node *node)
{
    node->name = arena_dup(a, p->name, p->len);
    if (!node->name)
        return -1;
    node->name_len = p->len;
    struct staged_rr *rrs = s->rrs + p->first;
    size_t n = p->count;
    char namestr[1024];
    dns_name_to_str(p->name, namestr, sizeof namestr);
    /* placeholders (dynamic names) sort first: type 0 */
    while (n && rrs[0].type == 0) {
        node->flags |= DNS_NODE_DYNAMIC;
        node->dynamic = rrs[0].dynamic;
        rrs++;
        n--;
    }
    size_t nsets = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || rrs[i].type != rrs[i - 1].type)
            nsets++;
    struct dns_rrset *sets = nsets ? arena_alloc(a, nsets * sizeof *sets) : NULL;
    if (nsets && !sets)
        return -1;
    size_t si = 0;
    bool has_cname = false, has_other = false;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && rrs[j].type == rrs[i].type)
            j++;
        size_t cnt = dedup_range(rrs + i, j - i);
        uint16_t type = rrs[i].type;
        if (type == DNS_T_CNAME) {
            has_cname = true;
            if (cnt > 1)
                return stage_err(s, rrs[i].file, rrs[i].line, "more than one CNAME at %s", namestr);
        } else {
            has_other = true;
        }
        if (type == DNS_T_SOA && p->len != z->apex_len)
            return stage_err(s, rrs[i].file, rrs[i].line, "SOA record at %s, not at the zone apex", namestr);
        if (type == DNS_T_SOA && cnt > 1)
            return stage_err(s, rrs[i].file, rrs[i].line, "more than one SOA record");
        if (render_rrset(a, rrs + i, cnt, &sets[si], false) < 0)
            return -1;
        if (type == DNS_T_SOA) {
            struct dns_rrset *neg = arena_alloc(a, sizeof *neg);
            if (!neg || render_rrset(a, rrs + i, 1, neg, true) < 0)
                return -1;
            z->soa = &sets[si];
            z->neg_soa = neg;
            z->serial = rrs[i].rdlen >= 20 ? dns_get32(rrs[i].rdata + rrs[i].rdlen - 20) : 0;
        }
        if (type == DNS_T_NS && p->len != z->apex_len)
            node->flags |= DNS_NODE_DELEG;
        si++;
        i = j;
    }
    if (has_cname) {
        node->flags |= DNS_NODE_CNAME;
        if (has_other)
            return stage_err(s, rrs[0].file, rrs[0].line, "CNAME and other data at %s (RFC 1034 3.6.2)", namestr);
        if (p->len == z->apex_len)
            return stage_err(s, rrs[0].file, rrs[0].line, "CNAME at the zone apex %s", namestr);
    }
    if ((node->flags & DNS_NODE_DYNAMIC) && has_cname)
        return stage_err(s, rrs[0].file, rrs[0].line, "steered name %s also has a CNAME in the zone", namestr);
    if ((node->flags & DNS_NODE_DYNAMIC) && (node->flags & DNS_NODE_DELEG))
        return stage_err(s, rrs[0].file, rrs[0].line, "steered name %s is a delegation", namestr);
    for (size_t k = 0; k < si && (node->flags & DNS_NODE_DYNAMIC); k++)
        if (sets[k].type == DNS_T_A || sets[k].type == DNS_T_AAAA)
            return stage_err(s, rrs[0].file, rrs[0].line,
                             "steered name %s also has static A/AAAA records in the zone", namestr);
    node->rrsets = sets;
    node->nrrsets = (uint16_t)nsets;
    return 0;
}

/* Compiles the staged records of one zone (already sorted) into z. */
static int compile_zone(struct arena *a, struct stage *s, struct dns_zone *z, size_t first, size_t count,
                        const struct dns_zone_src *src)
{
    struct proto_set ps = { 0 };
    int rc = -1;
    /* every record may add itself plus ancestors: bound the node count */
    size_t cap = 1;
    for (size_t i = first; i < first + count; i++)
        cap += dns_name_labels(s->rrs[i].owner) + 1;
    ps.v = calloc(cap, sizeof *ps.v);
    size_t tsz = table_size(cap);
    ps.slots = calloc(tsz, sizeof *ps.slots);
    ps.mask = tsz - 1;
    if (!ps.v || !ps.slots) {
        stage_err(s, src->file, 0, "out of memory");
        goto out;
    }
    proto_find(&ps, z->apex, z->apex_len, true);
    for (size_t i = first; i < first + count;) {
        size_t j = i;
        while (j < first + count && s->rrs[j].owner_len == s->rrs[i].owner_len &&
               memcmp(s->rrs[j].owner, s->rrs[i].owner, s->rrs[i].owner_len) == 0)
            j++;
        struct proto_node *p = proto_find(&ps, s->rrs[i].owner, s->rrs[i].owner_len, true);
        p->first = i;
        p->count = j - i;
        /* ancestors up to the apex become (possibly empty) nodes */
        const uint8_t *nm = s->rrs[i].owner;
        size_t len = s->rrs[i].owner_len;
        while (len > z->apex_len) {
            len -= 1u + nm[0];
            nm += 1u + nm[0];
            proto_find(&ps, nm, len, true);
        }
        i = j;
    }
    z->nnodes = ps.n;
    size_t zt = table_size(ps.n);
    struct dns_node *nodes = arena_alloc(a, ps.n * sizeof *nodes);
    const struct dns_node **slots = arena_alloc(a, zt * sizeof *slots);
    if (!nodes || !slots) {
        stage_err(s, src->file, 0, "out of memory");
        goto out;
    }
    z->mask = (uint32_t)(zt - 1);
    for (size_t k = 0; k < ps.n; k++) {
        if (build_node(a, s, z, &ps.v[k], &nodes[k]) < 0) {
            if (!s->err[0])
                stage_err(s, src->file, 0, "out of memory");
            goto out;
        }
        size_t i = dns_name_hash(nodes[k].name, nodes[k].name_len) & z->mask;
        while (slots[i])
            i = (i + 1) & z->mask;
        slots[i] = &nodes[k];
    }
    z->slots = slots;
    for (size_t k = 0; k < ps.n; k++) {
        const uint8_t *nm = nodes[k].name;
        if (nm[0] == 1 && nm[1] == '*' && nodes[k].name_len > z->apex_len) {
            struct dns_node *parent = (struct dns_node *)dns_zone_find(z, nm + 2, nodes[k].name_len - 2u);
            if (parent)
                parent->flags |= DNS_NODE_WILDKID;
        }
    }
    for (size_t k = 0; k < ps.n; k++) {
        const uint8_t *nm = nodes[k].name;
        size_t len = nodes[k].name_len;
        while (len > z->apex_len) {
            len -= 1u + nm[0];
            nm += 1u + nm[0];
            const struct dns_node *anc = len > z->apex_len ? dns_zone_find(z, nm, len) : NULL;
            if (anc && (anc->flags & DNS_NODE_DELEG)) {
                nodes[k].flags |= DNS_NODE_UNDERCUT;
                break;
            }
        }
    }
    z->apex_node = dns_zone_find(z, z->apex, z->apex_len);
    ((struct dns_node *)z->apex_node)->flags |= DNS_NODE_APEX;
    if (!z->soa) {
        stage_err(s, src->file, 0, "zone %s has no SOA record at its apex", src->name);
        goto out;
    }
    if (!dns_node_rrset(z->apex_node, DNS_T_NS)) {
        stage_err(s, src->file, 0, "zone %s has no NS records at its apex", src->name);
        goto out;
    }
    rc = 0;
out:
    free(ps.v);
    free(ps.slots);
    return rc;
}

const struct dns_node *dns_zone_find(const struct dns_zone *z, const uint8_t *name, size_t len)
{
    size_t i = dns_name_hash(name, len) & z->mask;
    const struct dns_node *n;
    while ((n = z->slots[i])) {
        if (n->name_len == len && name_eq(n->name, name, len))
            return n;
        i = (i + 1) & z->mask;
    }
    return NULL;
}

const struct dns_rrset *dns_node_rrset(const struct dns_node *n, uint16_t type)
{
    for (unsigned i = 0; i < n->nrrsets; i++)
        if (n->rrsets[i].type == type)
            return &n->rrsets[i];
    return NULL;
}

const struct dns_zone *dns_db_find_zone(const struct dns_db *db, const uint8_t *name, size_t len,
                                        const uint8_t *label_off, unsigned nlabels)
{
    unsigned first = nlabels > db->max_apex_labels ? nlabels - db->max_apex_labels : 0;
    for (unsigned l = first; l <= nlabels; l++) {
        size_t off = l < nlabels ? label_off[l] : len - 1;
        const uint8_t *suffix = name + off;
        size_t slen = len - off;
        if (!(db->apex_lens[slen >> 6] >> (slen & 63) & 1))
            continue;       /* no zone apex has this length: skip the hash */
        size_t i = dns_name_hash(suffix, slen) & db->zmask;
        const struct dns_zone *z;
        while ((z = db->zslots[i])) {
            if (z->apex_len == slen && name_eq(z->apex, suffix, slen))
                return z;
            i = (i + 1) & db->zmask;
        }
    }
    return NULL;
}

void dns_db_free(struct dns_db **db)
{
    if (!*db)
        return;
    struct arena a = (*db)->arena;
    arena_free(&a);
    *db = NULL;
}

/* Index of the deepest zone containing the owner, or -1. */
static int zone_of(const uint8_t (*apexes)[DNS_MAX_NAME], const int *apex_lens, size_t nz,
                   const uint8_t *owner, size_t len)
{
    int best = -1;
    for (size_t i = 0; i < nz; i++)
        if (dns_name_is_sub(owner, len, apexes[i], (size_t)apex_lens[i]) &&
            (best < 0 || apex_lens[i] > apex_lens[best]))
            best = (int)i;
    return best;
}

int dns_db_build(const struct dns_zone_src *zones, size_t nzones, const struct dns_dynamic_src *dyn, size_t ndyn,
                 struct dns_db **out, char *err, size_t errlen)
{
    struct stage s = { .err = err, .errlen = errlen };
    err[0] = '\0';
    uint8_t (*apexes)[DNS_MAX_NAME] = calloc(nzones ? nzones : 1, sizeof *apexes);
    int *apex_lens = calloc(nzones ? nzones : 1, sizeof *apex_lens);
    size_t *starts = calloc(nzones + 1, sizeof *starts);
    struct dns_db tmp = { 0 };
    arena_init(&tmp.arena);
    int rc = -1;
    if (!apexes || !apex_lens || !starts) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nzones; i++) {
        apex_lens[i] = dns_name_from_str(zones[i].name, apexes[i]);
        if (apex_lens[i] < 0) {
            stage_err(&s, zones[i].cfg_file, zones[i].cfg_line, "bad zone name '%s'", zones[i].name);
            goto out;
        }
        for (size_t j = 0; j < i; j++)
            if (apex_lens[j] == apex_lens[i] && !memcmp(apexes[j], apexes[i], (size_t)apex_lens[i])) {
                stage_err(&s, zones[i].cfg_file, zones[i].cfg_line, "zone %s listed twice", zones[i].name);
                goto out;
            }
    }
    /* read every file; records of zone i occupy staged [starts[i], starts[i+1]) */
    for (size_t i = 0; i < nzones; i++) {
        starts[i] = s.n;
        if (read_zone_file(&s, zones[i].file, zones[i].name, DEFAULT_TTL, apexes[i], (size_t)apex_lens[i], 0,
                           zones[i].cfg_file, zones[i].cfg_line) < 0)
            goto out;
    }
    starts[nzones] = s.n;
    for (size_t d = 0; d < ndyn; d++) {
        int zi = zone_of((const uint8_t (*)[DNS_MAX_NAME])apexes, apex_lens, nzones, dyn[d].owner, dyn[d].owner_len);
        if (zi < 0) {
            char nm[1024];
            dns_name_to_str(dyn[d].owner, nm, sizeof nm);
            snprintf(err, errlen, "steered name %s is not inside any configured zone", nm);
            goto out;
        }
        /* placeholders are appended; sorting below puts them in their zone */
        struct staged_rr *r = stage_push(&s);
        if (!r) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        memcpy(r->owner, dyn[d].owner, dyn[d].owner_len);
        r->owner_len = (uint8_t)dyn[d].owner_len;
        r->dynamic = dyn[d].handle;
        r->file = zones[zi].file;
    }
    /* group records by their deepest zone: records a zone file holds for
     * a child zone we also serve stay with the file's zone (they are the
     * parent's delegation and glue) */
    size_t *zidx = calloc(s.n ? s.n : 1, sizeof *zidx);
    if (!zidx) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nzones; i++)
        for (size_t k = starts[i]; k < starts[i + 1]; k++)
            zidx[k] = i;
    for (size_t k = starts[nzones]; k < s.n; k++)
        zidx[k] = (size_t)zone_of((const uint8_t (*)[DNS_MAX_NAME])apexes, apex_lens, nzones, s.rrs[k].owner,
                                  s.rrs[k].owner_len);
    struct dns_zone *zs = arena_alloc(&tmp.arena, (nzones ? nzones : 1) * sizeof *zs);
    size_t zt = table_size(nzones);
    const struct dns_zone **zslots = arena_alloc(&tmp.arena, zt * sizeof *zslots);
    if (!zs || !zslots) {
        free(zidx);
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    tmp.zmask = (uint32_t)(zt - 1);
    for (size_t i = 0; i < nzones; i++) {
        /* move zone i's records (file + placeholders) into one sorted run */
        size_t cnt = 0;
        for (size_t k = 0; k < s.n; k++)
            cnt += zidx[k] == i;
        struct staged_rr *run = malloc((cnt ? cnt : 1) * sizeof *run);
        if (!run) {
            free(zidx);
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        size_t o = 0;
        for (size_t k = 0; k < s.n; k++)
            if (zidx[k] == i)
                run[o++] = s.rrs[k];
        qsort(run, cnt, sizeof *run, cmp_staged);
        struct stage zs_stage = { .rrs = run, .n = cnt, .cap = cnt, .err = err, .errlen = errlen };
        struct dns_zone *z = &zs[i];
        z->apex = arena_dup(&tmp.arena, apexes[i], (size_t)apex_lens[i]);
        z->apex_len = (uint8_t)apex_lens[i];
        z->apex_labels = (uint8_t)dns_name_labels(apexes[i]);
        z->name = arena_strdup(&tmp.arena, zones[i].name);
        int zr = compile_zone(&tmp.arena, &zs_stage, z, 0, cnt, &zones[i]);
        /* the run owns the rdata buffers now (dedup may have freed some) */
        for (size_t k = 0; k < s.n; k++)
            if (zidx[k] == i)
                s.rrs[k].rdata = NULL;
        for (size_t k = 0; k < cnt; k++)
            free(run[k].rdata);
        free(run);
        if (zr < 0) {
            free(zidx);
            goto out;
        }
        tmp.apex_lens[z->apex_len >> 6] |= 1ull << (z->apex_len & 63);
        if (z->apex_labels > tmp.max_apex_labels)
            tmp.max_apex_labels = z->apex_labels;
        size_t h = dns_name_hash(z->apex, z->apex_len) & tmp.zmask;
        while (zslots[h])
            h = (h + 1) & tmp.zmask;
        zslots[h] = z;
    }
    free(zidx);
    tmp.zones = zs;
    tmp.nzones = nzones;
    tmp.zslots = zslots;
    struct dns_db *db = arena_alloc(&tmp.arena, sizeof *db);
    if (!db) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    *db = tmp;
    *out = db;
    rc = 0;
out:
    if (rc < 0)
        arena_free(&tmp.arena);
    stage_free(&s);
    free(apexes);
    free(apex_lens);
    free(starts);
    return rc;
}
