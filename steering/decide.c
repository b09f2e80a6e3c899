/* steering/decide.c: the per-query decision (steer_decide) and its
 * explanation (steer_explain). See steering.h for the algorithm; this file
 * keeps the hot path allocation-free: every per-query array is on the stack
 * and bounded by STEER_MAX_MEMBERS / STEER_MAX_CHAIN. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/hash.h"
#include "steering/flatten.h"
#include "steering/internal.h"
#include "steering/labels.h"

/* --------------------------------------------------------------- types */

/* Lazily computed facts about the client; `scope` accumulates the longest
 * prefix length any consulted fact was valid for. */
struct facts {
    const struct geo_set *geo;
    const struct steer_client *c;
    bool loc_done, asn_done;
    struct geo_loc loc;
    struct geo_asn asn;
    unsigned scope;
};

struct cand {
    uint16_t prov;
    uint16_t member;     /* index in the pool: tie-break and failover order */
    uint32_t weight;
    double key;          /* higher ranks first */
};

/* Trace of a decision for steer_explain (NULL on the query path). */
#define TR_MAX_RULES STEER_MAX_RULES
struct tr_member {
    uint16_t prov;
    uint32_t weight;     /* configured weight */
    uint32_t eff_weight; /* after health, admin state and weight overrides */
    uint8_t health, admin;
    bool eligible;
    bool ranked;
    double key;
    enum rum_level rum_level;   /* RUM_LVL_NONE: no score (or not a rum pool) */
    struct rum_score rum;
};
struct tr_pool {
    uint16_t pool;
    bool fail_open;
    unsigned nmem;
    struct tr_member m[STEER_MAX_MEMBERS];
    const char *outcome;
    bool rum_consulted;         /* a rum pool with a table: the table was asked */
    struct rum_pick rum_pick;
};
struct trace {
    unsigned nrules_tested;
    bool rule_match[TR_MAX_RULES];
    unsigned npools;
    struct tr_pool pools[STEER_MAX_CHAIN + 1];
    bool hashed, used_coords;
};

/* --------------------------------------------------------------- facts */

static const struct geo_loc *need_loc(struct facts *f)
{
    if (!f->loc_done) {
        geo_lookup_loc(f->geo, &f->c->addr, &f->loc);
        f->loc_done = true;
    }
    if (f->loc.len > f->scope)
        f->scope = f->loc.len;
    return &f->loc;
}

static const struct geo_asn *need_asn(struct facts *f)
{
    if (!f->asn_done) {
        geo_lookup_asn(f->geo, &f->c->addr, &f->asn);
        f->asn_done = true;
    }
    if (f->asn.len > f->scope)
        f->scope = f->asn.len;
    return &f->asn;
}

static void scope_at_least(struct facts *f, unsigned len)
{
    if (len > f->scope)
        f->scope = len;
}

/* --------------------------------------------------------------- rules */

static bool match_cidr(const struct srule *r, struct facts *f)
{
    /* In any listed prefix: valid for the shortest matching one. Not in any:
     * valid for the longest prefix around the client excluding them all. */
    unsigned in_len = 256, out_len = 0;
    for (size_t i = 0; i < r->ncidr; i++) {
        const struct net_prefix *p = &r->cidr[i];
        if (p->addr.family != f->c->addr.family)
            continue;
        if (net_prefix_contains(p, &f->c->addr)) {
            if (p->len < in_len)
                in_len = p->len;
        } else {
            unsigned x = geo_exclusion_len(p, &f->c->addr);
            if (x > out_len)
                out_len = x;
        }
    }
    scope_at_least(f, in_len != 256 ? in_len : out_len);
    return in_len != 256;
}

static bool rule_matches(const struct srule *r, struct facts *f)
{
    if (r->is_default)
        return true;
    if (r->ncidr && !match_cidr(r, f))
        return false;
    if (r->nasn) {
        const struct geo_asn *a = need_asn(f);
        bool m = false;
        for (size_t i = 0; a->found && i < r->nasn && !m; i++)
            m = r->asn[i] == a->asn;
        if (!m)
            return false;
    }
    if (r->ncont || r->ncountry || r->nsub) {
        const struct geo_loc *l = need_loc(f);
        if (!l->found)
            return false;
        /* every listed continent is one of the seven, so the mask is exact */
        if (r->ncont && !(r->cont_mask & geo_continent_bit(l->continent)))
            return false;
        bool m;
        m = !r->ncountry;
        for (size_t i = 0; i < r->ncountry && !m; i++)
            m = !memcmp(r->country[i], l->country, 3);
        if (!m)
            return false;
        m = !r->nsub;
        for (size_t i = 0; i < r->nsub && !m; i++)
            m = !memcmp(r->sub[i].cc, l->country, 3) && !strcmp(r->sub[i].sub, l->subdivision);
        if (!m)
            return false;
    }
    return true;
}

/* -------------------------------------------------------------- health */

/* Effective weight of a member (0 = not a candidate); *down is set when it
 * was removed by health or a forced-down admin state (a degradation, unlike
 * a drain or a weight override to 0, which are deliberate). */
static uint32_t member_weight(const struct smember *m, const struct prov_state_table *st, bool *down,
                              uint8_t *health, uint8_t *admin)
{
    *down = false;
    *health = PROV_UNKNOWN;
    *admin = ADMIN_NONE;
    if (!st || m->prov >= st->n)
        return m->weight;
    const struct prov_state *s = &st->s[m->prov];
    *health = s->health;
    *admin = s->admin;
    uint32_t w = s->weight != PROV_WEIGHT_NONE ? s->weight : m->weight;
    switch (s->admin) {
    case ADMIN_FORCE_UP: return w;
    case ADMIN_FORCE_DOWN: *down = true; return 0;
    case ADMIN_DRAIN: return 0;
    default: break;
    }
    if (s->health == PROV_DOWN) {
        *down = true;
        return 0;
    }
    return w;
}

/* ------------------------------------------------------------- ranking */

/* Hash of the client's subnet (the /hash4 or /hash6 around it) and the
 * name's seed. The address is already masked to the ECS source prefix, so a
 * short source prefix hashes its own bits only. */
static uint64_t subnet_hash(const struct steer_name *nm, const struct net_addr *a, unsigned *len)
{
    struct net_addr m = *a;
    *len = a->family == 4 ? nm->hash4 : nm->hash6;
    net_addr_mask(&m, *len);
    uint64_t hi, lo;
    memcpy(&hi, m.bytes, 8);
    memcpy(&lo, m.bytes + 8, 8);
    return hash_mix64(hash_mix64(nm->seed ^ hi ^ ((uint64_t)a->family << 56)) ^ lo);
}

/* Weighted rendezvous hashing: each candidate draws u in (0,1) from the
 * subnet hash and its name hash; key = w / -ln(u). The largest key wins with
 * probability w / sum(w), and removing a candidate only moves the subnets it
 * had won. */
static void rank_weighted(const struct steer_policy *p, const struct steer_name *nm, struct facts *f,
                          struct cand *c, unsigned n)
{
    unsigned len;
    uint64_t h = subnet_hash(nm, &f->c->addr, &len);
    scope_at_least(f, len);
    for (unsigned i = 0; i < n; i++) {
        uint64_t x = hash_mix64(h ^ p->prov[c[i].prov].hash);
        double u = ((double)(x >> 11) + 0.5) * (1.0 / 9007199254740992.0);   /* 2^-53: u in (0,1) */
        c[i].key = (double)c[i].weight / -log(u);
    }
}

/* Closest PoP by great-circle distance; CDNs (no coordinates) rank after
 * every PoP, in member order. Without client coordinates: weighted. */
static void rank_closest(const struct steer_policy *p, const struct steer_name *nm, struct facts *f,
                         struct cand *c, unsigned n, struct trace *tr)
{
    const struct geo_loc *l = need_loc(f);
    if (!l->has_coords) {
        rank_weighted(p, nm, f, c, n);
        if (tr)
            tr->hashed = true;
        return;
    }
    if (tr)
        tr->used_coords = true;
    for (unsigned i = 0; i < n; i++) {
        const struct sprov *pv = &p->prov[c[i].prov];
        c[i].key = pv->has_coords ? -geo_distance_km(l->lat, l->lon, pv->lat, pv->lon) : -1e9 - c[i].member;
    }
}

static void sort_cands(struct cand *c, unsigned n)
{
    for (unsigned i = 1; i < n; i++) {   /* insertion sort: n <= STEER_MAX_MEMBERS, usually 2-4 */
        struct cand x = c[i];
        unsigned j = i;
        while (j > 0 && (c[j - 1].key < x.key || (c[j - 1].key == x.key && c[j - 1].member > x.member))) {
            c[j] = c[j - 1];
            j--;
        }
        c[j] = x;
    }
}

/* RUM ranking (rum/scores.h): the score table's decided list orders the
 * candidates; no table or no deciding level: weighted. The client's ASN and
 * location are both consulted (every level from the most specific down to
 * the deciding one was asked), and the subnet hash picks the explorers, so
 * all three lengths go into the ECS scope. */
static void rank_rum(const struct steer_policy *p, const struct steer_name *nm, const struct spool *pl,
                     struct facts *f, const struct steer_inputs *in, struct cand *c, unsigned n,
                     struct trace *tr, struct tr_pool *tp)
{
    const struct steer_rum_table *t = in ? in->rum : NULL;
    if (t) {
        struct rum_geo g;
        rum_geo_from(need_loc(f), need_asn(f), &g);
        uint16_t ids[STEER_MAX_MEMBERS];
        double keys[STEER_MAX_MEMBERS];
        for (unsigned i = 0; i < n; i++)
            ids[i] = c[i].prov;
        unsigned len;
        uint64_t h = subnet_hash(nm, &f->c->addr, &len);
        scope_at_least(f, len);
        struct rum_pick pk;
        enum rum_level lvl = rum_rank_keys(t, &g, pl->rum_id, ids, n, h, keys, &pk);
        if (tp) {
            tp->rum_consulted = true;
            tp->rum_pick = pk;
            tp->rum_pick.level = lvl;
            for (unsigned i = 0; i < n; i++)
                tp->m[c[i].member].rum_level = rum_table_score(t, &g, c[i].prov, &tp->m[c[i].member].rum);
        }
        if (lvl != RUM_LVL_NONE) {
            for (unsigned i = 0; i < n; i++)
                c[i].key = keys[i];
            return;
        }
    }
    rank_weighted(p, nm, f, c, n);
    if (tr)
        tr->hashed = true;
}

static void rank(const struct steer_policy *p, const struct steer_name *nm, const struct spool *pl,
                 struct facts *f, const struct steer_inputs *in, struct cand *c, unsigned n, struct trace *tr,
                 struct tr_pool *tp)
{
    if (n > 1) {   /* one candidate: the answer does not depend on the client */
        switch (pl->kind) {
        case STEER_POL_CLOSEST:
            rank_closest(p, nm, f, c, n, tr);
            break;
        case STEER_POL_FAILOVER:
            /* candidates are built in member order: already sorted */
            for (unsigned i = 0; i < n; i++)
                c[i].key = -(double)c[i].member;
            return;
        case STEER_POL_RUM:
            rank_rum(p, nm, pl, f, in, c, n, tr, tp);
            break;
        case STEER_POL_WEIGHTED:
            rank_weighted(p, nm, f, c, n);
            if (tr)
                tr->hashed = true;
            break;
        }
    }
    sort_cands(c, n);
}

/* ------------------------------------------------------------- answers */

static const struct steer_flat_entry *flat_entry(const struct steer_policy *p, const struct steer_flat_table *ft,
                                                 uint16_t prov)
{
    if (!ft || ft->policy_id != p->id || prov >= ft->n)
        return NULL;
    return &ft->e[prov];
}

/* Addresses of a candidate for the family (4 or 6), from the policy or the
 * flat table; *cname set for a CDN outside an apex. */
static unsigned cand_addrs(const struct steer_policy *p, const struct steer_name *nm, const struct steer_flat_table *ft,
                           uint16_t prov, int fam, const uint8_t **base, bool *cname, uint32_t *ttl)
{
    const struct sprov *pv = &p->prov[prov];
    *cname = false;
    if (pv->type == STEER_PROV_POP) {
        *base = fam == 4 ? pv->v4[0] : pv->v6[0];
        return fam == 4 ? pv->n4 : pv->n6;
    }
    if (!nm->apex) {
        *cname = true;
        return 0;
    }
    const struct steer_flat_entry *e = flat_entry(p, ft, prov);
    if (!e)
        return 0;
    *base = fam == 4 ? e->v4[0] : e->v6[0];
    *ttl = e->ttl;
    return fam == 4 ? e->n4 : e->n6;
}

enum pick { PICK_NONE, PICK_ANSWER, PICK_NODATA };

/* Picks the answer from ranked candidates for qtype. */
static enum pick pick(const struct steer_policy *p, const struct steer_name *nm, const struct steer_inputs *in,
                      const struct cand *c, unsigned n, int fam, struct steer_answer *out)
{
    const struct steer_flat_table *ft = in ? in->flat : NULL;
    bool other_family = false;
    out->naddr = 0;
    uint32_t ttl = nm->ttl;
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *base = NULL;
        bool cname;
        uint32_t fttl = UINT32_MAX;
        unsigned k = cand_addrs(p, nm, ft, c[i].prov, fam, &base, &cname, &fttl);
        if (cname) {
            if (out->naddr)
                continue;   /* a CNAME cannot join an address set */
            out->kind = STEER_CNAME;
            out->provider = c[i].prov;
            out->cname = p->prov[c[i].prov].cname_wire;
            out->cname_len = p->prov[c[i].prov].cname_len;
            out->ttl = ttl;
            return PICK_ANSWER;
        }
        if (k == 0) {
            const uint8_t *b2;
            uint32_t t2;
            if (cand_addrs(p, nm, ft, c[i].prov, fam == 4 ? 6 : 4, &b2, &cname, &t2) > 0)
                other_family = true;
            continue;
        }
        if (out->naddr == 0)
            out->provider = c[i].prov;
        if (fttl < ttl)
            ttl = fttl ? fttl : 1;   /* a 0 TTL would defeat caching entirely */
        size_t sz = fam == 4 ? 4 : 16;
        for (unsigned j = 0; j < k && out->naddr < nm->answers; j++)
            out->addr[out->naddr++] = base + j * sz;
        if (out->naddr >= nm->answers)
            break;
    }
    if (out->naddr) {
        out->kind = STEER_ADDRS;
        out->ttl = ttl;
        return PICK_ANSWER;
    }
    if (other_family) {
        out->kind = STEER_NODATA;
        out->ttl = nm->ttl;
        return PICK_NODATA;
    }
    return PICK_NONE;
}

/* Tries one pool. Returns what happened; fills *out on ANSWER/NODATA. */
/* Inlined into decide so that steer_decide's copy (tr == NULL) drops every
 * trace branch. */
static inline __attribute__((always_inline)) enum pick try_pool(const struct steer_policy *p, const struct steer_name *nm, uint16_t pi, bool fail_open,
                          struct facts *f, const struct steer_inputs *in, int fam, struct steer_answer *out,
                          bool *degraded, struct trace *tr)
{
    const struct spool *pl = &nm->pools[pi];
    struct cand c[STEER_MAX_MEMBERS];
    unsigned n = 0;
    struct tr_pool *tp = NULL;
    if (tr && tr->npools < STEER_MAX_CHAIN + 1) {
        tp = &tr->pools[tr->npools++];
        memset(tp, 0, sizeof *tp);
        tp->pool = pi;
        tp->fail_open = fail_open;
        tp->nmem = (unsigned)pl->nmem;
    }
    const struct prov_state_table *st = in ? in->state : NULL;
    bool any_down = false;
    for (size_t i = 0; i < pl->nmem; i++) {
        bool down;
        uint8_t health, admin;
        uint32_t w = member_weight(&pl->mem[i], st, &down, &health, &admin);
        if (fail_open)
            w = pl->mem[i].weight;
        any_down |= down;
        if (tp) {
            tp->m[i] = (struct tr_member){ .prov = pl->mem[i].prov, .weight = pl->mem[i].weight, .eff_weight = w,
                                           .health = health, .admin = admin, .eligible = w > 0,
                                           .rum_level = RUM_LVL_NONE };
        }
        if (w == 0)
            continue;
        /* key is set by rank() before anything reads it (n > 1) */
        c[n].prov = pl->mem[i].prov;
        c[n].member = (uint16_t)i;
        c[n].weight = w;
        n++;
    }
    if (n == 0) {
        if (tp)
            tp->outcome = "no eligible provider";
        *degraded |= any_down;
        return PICK_NONE;
    }
    rank(p, nm, pl, f, in, c, n, tr, tp);
    if (tp && n > 1)   /* a single candidate is not ranked */
        for (unsigned i = 0; i < n; i++) {
            tp->m[c[i].member].ranked = true;
            tp->m[c[i].member].key = c[i].key;
        }
    enum pick r = pick(p, nm, in, c, n, fam, out);
    if (r != PICK_NONE)
        out->pool = pi;
    /* a dead member, or members that cannot answer yet (flattening pending):
     * the answer is second best, so keep its TTL short */
    if (any_down || r == PICK_NONE)
        *degraded = true;
    if (tp)
        tp->outcome = r == PICK_ANSWER ? "answer" : r == PICK_NODATA ? "nodata (no provider has this family)"
                                                                      : "no provider can answer (flattening pending)";
    return r;
}

/* Inlined into its two callers: steer_decide's copy is compiled with
 * tr == NULL (no trace work on the query path), steer_explain's with it. */
static inline __attribute__((always_inline)) int decide(const struct steer_policy *p, const struct steer_name *nm, const struct steer_client *c,
                  uint16_t qtype, const struct steer_inputs *in, struct steer_answer *out, struct facts *f,
                  struct trace *tr)
{
    if (!p || !nm || !c || !out || p->magic != STEER_POLICY_MAGIC || nm->magic != STEER_NAME_MAGIC ||
        (qtype != 1 && qtype != 28) || (c->addr.family != 4 && c->addr.family != 6))
        return STEER_EINVAL;
    int fam = qtype == 1 ? 4 : 6;
    f->loc_done = f->asn_done = false;     /* loc and asn are written before they are read */
    f->scope = 0;
    f->geo = p->geo;
    f->c = c;
    out->kind = STEER_NODATA;
    out->naddr = 0;
    out->cname = NULL;
    out->cname_len = 0;
    out->failed_open = false;
    out->degraded = false;
    out->provider = 0;
    out->pool = 0;
    out->ttl = nm->ttl;

    size_t ri = 0;
    for (; ri < nm->nrules; ri++) {   /* the last rule is `default`: always terminates */
        bool m = rule_matches(&nm->rules[ri], f);
        if (tr && ri < TR_MAX_RULES) {
            tr->rule_match[ri] = m;
            tr->nrules_tested = (unsigned)ri + 1;
        }
        if (m)
            break;
    }
    const struct srule *r = &nm->rules[ri];
    out->rule = (uint16_t)ri;
    bool degraded = false;
    enum pick res = PICK_NONE;
    for (unsigned k = 0; k < r->nchain && res == PICK_NONE; k++) {
        res = try_pool(p, nm, r->chain[k], false, f, in, fam, out, &degraded, tr);
    }
    if (res == PICK_NONE) {
        /* fail open: ignore health, primary pool first; a pool that still
         * cannot answer (an apex CDN not flattened yet) passes to the next */
        out->failed_open = true;
        degraded = true;
        for (unsigned k = 0; k < r->nchain && res == PICK_NONE; k++)
            res = try_pool(p, nm, r->chain[k], true, f, in, fam, out, &degraded, tr);
        if (res == PICK_NONE) {
            out->kind = STEER_NODATA;
            out->pool = r->chain[0];
        }
    }
    out->degraded = degraded;
    if (degraded && out->ttl > nm->degraded_ttl)
        out->ttl = nm->degraded_ttl;
    unsigned scope = f->scope;
    if (scope > c->source_len)
        scope = c->source_len;
    out->scope = (uint8_t)scope;
    return STEER_OK;
}

int steer_decide(const struct steer_policy *p, const struct steer_name *n, const struct steer_client *c,
                 uint16_t qtype, const struct steer_inputs *in, struct steer_answer *out)
{
    struct facts f;
    return decide(p, n, c, qtype, in, out, &f, NULL);
}

/* ------------------------------------------------------------- explain */

static const char *health_name(uint8_t h) { return h == PROV_UP ? "up" : h == PROV_DOWN ? "down" : "unknown"; }
static const char *admin_name(uint8_t a)
{
    return a == ADMIN_FORCE_UP ? "force-up" : a == ADMIN_FORCE_DOWN ? "force-down" : a == ADMIN_DRAIN ? "drain" : "none";
}
static const char *kind_name(enum steer_kind k) { return k == STEER_ADDRS ? "addresses" : k == STEER_CNAME ? "cname" : "nodata"; }

/* Wire name to text (for explain only). */
static void wire_text(const uint8_t *w, size_t len, char *buf, size_t size)
{
    size_t o = 0, i = 0;
    buf[0] = 0;
    while (i < len && w[i] && o + 1 < size) {
        unsigned l = w[i++];
        for (unsigned j = 0; j < l && i < len && o + 2 < size; j++)
            buf[o++] = (char)w[i++];
        buf[o++] = '.';
    }
    buf[o < size ? o : size - 1] = 0;
}

static void rule_text(const struct srule *r, char *buf, size_t size)
{
    if (r->is_default) {
        snprintf(buf, size, "default");
        return;
    }
    size_t o = 0;
#define APP(...) do { int w_ = snprintf(buf + o, o < size ? size - o : 0, __VA_ARGS__); if (w_ > 0) o += (size_t)w_; } while (0)
    for (size_t i = 0; i < r->ncidr; i++) {
        char t[64];
        net_prefix_format(&r->cidr[i], t, sizeof t);
        APP("%scidr %s", o ? " " : "", t);
    }
    for (size_t i = 0; i < r->nasn; i++) APP("%sasn %u", o ? " " : "", r->asn[i]);
    for (size_t i = 0; i < r->ncont; i++) APP("%scontinent %s", o ? " " : "", r->cont[i]);
    for (size_t i = 0; i < r->ncountry; i++) APP("%scountry %s", o ? " " : "", r->country[i]);
    for (size_t i = 0; i < r->nsub; i++) APP("%ssubdivision %s-%s", o ? " " : "", r->sub[i].cc, r->sub[i].sub);
#undef APP
    if (o >= size && size)
        buf[size - 1] = 0;
}

static void answer_addrs(const struct steer_answer *a, int fam, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < a->naddr && o < size; i++) {
        struct net_addr na = { .family = (uint8_t)fam };
        memcpy(na.bytes, a->addr[i], fam == 4 ? 4 : 16);
        char t[64];
        net_addr_format(&na, t, sizeof t);
        int w = snprintf(buf + o, size - o, "%s%s", i ? " " : "", t);
        if (w > 0)
            o += (size_t)w;
    }
}

struct outbuf { char *buf; size_t size, len; };
__attribute__((format(printf, 2, 3))) static void out_printf(struct outbuf *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(o->buf + (o->len < o->size ? o->len : o->size), o->len < o->size ? o->size - o->len : 0, fmt, ap);
    va_end(ap);
    if (w > 0)
        o->len += (size_t)w;
}

static void explain_text(const struct steer_policy *p, const struct steer_name *nm, const struct steer_client *c,
                         uint16_t qtype, const struct steer_answer *a, const struct trace *tr,
                         const struct geo_loc *loc, const struct geo_asn *asn, struct outbuf *o)
{
    char t[256];
    net_addr_format(&c->addr, t, sizeof t);
    out_printf(o, "name %s type %s client %s/%u%s\n", nm->text, qtype == 1 ? "A" : "AAAA", t, c->source_len,
               c->has_ecs ? " (ECS)" : "");
    if (loc->found)
        out_printf(o, "geo: continent %s country %s subdivision %s coords %s%.3f,%.3f (from %s, /%u)\n",
                   loc->continent[0] ? loc->continent : "-", loc->country[0] ? loc->country : "-",
                   loc->subdivision[0] ? loc->subdivision : "-", loc->has_coords ? "" : "none ",
                   loc->lat, loc->lon, loc->src == GEO_SRC_OVERRIDE ? "override" : "database", loc->len);
    else
        out_printf(o, "geo: location unknown (/%u)\n", loc->len);
    if (asn->found)
        out_printf(o, "geo: asn %u (from %s, /%u)\n", asn->asn, asn->src == GEO_SRC_OVERRIDE ? "override" : "database",
                   asn->len);
    else
        out_printf(o, "geo: asn unknown (/%u)\n", asn->len);
    for (unsigned i = 0; i < tr->nrules_tested; i++) {
        rule_text(&nm->rules[i], t, sizeof t);
        out_printf(o, "rule %u: %s -> %s\n", i, t, tr->rule_match[i] ? "match" : "no match");
    }
    for (unsigned i = 0; i < tr->npools; i++) {
        const struct tr_pool *tp = &tr->pools[i];
        const struct spool *pl = &nm->pools[tp->pool];
        out_printf(o, "pool %s (%s)%s:\n", pl->name, steer_policy_kind_name(pl->kind), tp->fail_open ? " FAIL-OPEN" : "");
        for (unsigned j = 0; j < tp->nmem; j++) {
            const struct tr_member *m = &tp->m[j];
            out_printf(o, "  %-16s weight %-7u effective %-7u health %-7s admin %-10s %s", p->prov[m->prov].name,
                       m->weight, m->eff_weight, health_name(m->health), admin_name(m->admin),
                       m->eligible ? "eligible" : "filtered");
            if (m->ranked)
                out_printf(o, " rank-key %.6g", m->key);
            if (m->rum_level != RUM_LVL_NONE)
                out_printf(o, " rum %s samples %.1f success %.3f p50 %.1fms p95 %.1fms cost %.1fms%s",
                           rum_level_name(m->rum_level), m->rum.samples, m->rum.success, m->rum.p50, m->rum.p95,
                           m->rum.cost, m->rum.trusted ? " trusted" : " untrusted");
            else if (tp->rum_consulted)
                out_printf(o, " rum no data");
            out_printf(o, "\n");
        }
        if (tp->rum_consulted && tp->rum_pick.level == RUM_LVL_NONE)
            out_printf(o, "  rum: no level decides (weighted)\n");
        else if (tp->rum_consulted)
            out_printf(o, "  rum: decided by %s%s%s\n", rum_level_name(tp->rum_pick.level),
                       tp->rum_pick.explored ? ", exploring; table's first: " : "",
                       tp->rum_pick.explored ? p->prov[tp->rum_pick.first].name : "");
        out_printf(o, "  -> %s\n", tp->outcome ? tp->outcome : "?");
    }
    out_printf(o, "answer: %s", kind_name(a->kind));
    if (a->kind == STEER_CNAME) {
        wire_text(a->cname, a->cname_len, t, sizeof t);
        out_printf(o, " %s", t);
    } else if (a->kind == STEER_ADDRS) {
        answer_addrs(a, qtype == 1 ? 4 : 6, t, sizeof t);
        out_printf(o, " %s", t);
    }
    out_printf(o, "\nprovider %s rule %u pool %s ttl %u scope /%u%s%s\n",
               a->kind == STEER_NODATA && !a->naddr ? "-" : p->prov[a->provider].name, a->rule,
               nm->pools[a->pool].name, a->ttl, a->scope, a->degraded ? " degraded" : "",
               a->failed_open ? " failed-open" : "");
}

static int explain_json(const struct steer_policy *p, const struct steer_name *nm, const struct steer_client *c,
                        uint16_t qtype, const struct steer_answer *a, const struct trace *tr,
                        const struct geo_loc *loc, const struct geo_asn *asn, struct outbuf *o)
{
    char t[256];
    json_t *root = json_object();
    if (!root)
        return -1;
    net_addr_format(&c->addr, t, sizeof t);
    json_object_set_new(root, "name", json_string(nm->text));
    json_object_set_new(root, "qtype", json_string(qtype == 1 ? "A" : "AAAA"));
    json_object_set_new(root, "client", json_string(t));
    json_object_set_new(root, "source_len", json_integer(c->source_len));
    json_object_set_new(root, "ecs", json_boolean(c->has_ecs));
    json_t *g = json_object();
    json_object_set_new(g, "found", json_boolean(loc->found));
    if (loc->found) {
        json_object_set_new(g, "continent", json_string(loc->continent));
        json_object_set_new(g, "country", json_string(loc->country));
        json_object_set_new(g, "subdivision", json_string(loc->subdivision));
        if (loc->has_coords) {
            json_object_set_new(g, "lat", json_real(loc->lat));
            json_object_set_new(g, "lon", json_real(loc->lon));
        }
        json_object_set_new(g, "source", json_string(loc->src == GEO_SRC_OVERRIDE ? "override" : "database"));
    }
    json_object_set_new(g, "prefix_len", json_integer(loc->len));
    if (asn->found)
        json_object_set_new(g, "asn", json_integer(asn->asn));
    json_object_set_new(g, "asn_prefix_len", json_integer(asn->len));
    json_object_set_new(root, "geo", g);
    json_t *rules = json_array();
    for (unsigned i = 0; i < tr->nrules_tested; i++) {
        rule_text(&nm->rules[i], t, sizeof t);
        json_t *r = json_object();
        json_object_set_new(r, "index", json_integer(i));
        json_object_set_new(r, "match", json_string(t));
        json_object_set_new(r, "matched", json_boolean(tr->rule_match[i]));
        json_array_append_new(rules, r);
    }
    json_object_set_new(root, "rules", rules);
    json_t *pools = json_array();
    for (unsigned i = 0; i < tr->npools; i++) {
        const struct tr_pool *tp = &tr->pools[i];
        const struct spool *pl = &nm->pools[tp->pool];
        json_t *jp = json_object();
        json_object_set_new(jp, "pool", json_string(pl->name));
        json_object_set_new(jp, "policy", json_string(steer_policy_kind_name(pl->kind)));
        json_object_set_new(jp, "fail_open", json_boolean(tp->fail_open));
        json_t *cs = json_array();
        for (unsigned j = 0; j < tp->nmem; j++) {
            const struct tr_member *m = &tp->m[j];
            json_t *jc = json_object();
            json_object_set_new(jc, "provider", json_string(p->prov[m->prov].name));
            json_object_set_new(jc, "weight", json_integer(m->weight));
            json_object_set_new(jc, "effective_weight", json_integer(m->eff_weight));
            json_object_set_new(jc, "health", json_string(health_name(m->health)));
            json_object_set_new(jc, "admin", json_string(admin_name(m->admin)));
            json_object_set_new(jc, "eligible", json_boolean(m->eligible));
            if (m->ranked)
                json_object_set_new(jc, "rank_key", json_real(m->key));
            if (m->rum_level != RUM_LVL_NONE) {
                json_t *jr = json_object();
                json_object_set_new(jr, "level", json_string(rum_level_name(m->rum_level)));
                json_object_set_new(jr, "samples", json_real(m->rum.samples));
                json_object_set_new(jr, "success", json_real(m->rum.success));
                json_object_set_new(jr, "p50_ms", json_real(m->rum.p50));
                json_object_set_new(jr, "p95_ms", json_real(m->rum.p95));
                json_object_set_new(jr, "cost_ms", json_real(m->rum.cost));
                json_object_set_new(jr, "trusted", json_boolean(m->rum.trusted));
                json_object_set_new(jc, "rum", jr);
            }
            json_array_append_new(cs, jc);
        }
        json_object_set_new(jp, "candidates", cs);
        if (tp->rum_consulted) {
            json_t *jr = json_object();
            json_object_set_new(jr, "level", tp->rum_pick.level == RUM_LVL_NONE
                                                 ? json_null() : json_string(rum_level_name(tp->rum_pick.level)));
            json_object_set_new(jr, "explored", json_boolean(tp->rum_pick.level != RUM_LVL_NONE && tp->rum_pick.explored));
            json_object_set_new(jp, "rum", jr);
        }
        json_object_set_new(jp, "outcome", json_string(tp->outcome ? tp->outcome : "?"));
        json_array_append_new(pools, jp);
    }
    json_object_set_new(root, "pools", pools);
    json_t *ans = json_object();
    json_object_set_new(ans, "kind", json_string(kind_name(a->kind)));
    if (a->kind == STEER_CNAME) {
        wire_text(a->cname, a->cname_len, t, sizeof t);
        json_object_set_new(ans, "cname", json_string(t));
    } else if (a->kind == STEER_ADDRS) {
        json_t *arr = json_array();
        for (unsigned i = 0; i < a->naddr; i++) {
            struct net_addr na = { .family = (uint8_t)(qtype == 1 ? 4 : 6) };
            memcpy(na.bytes, a->addr[i], qtype == 1 ? 4 : 16);
            net_addr_format(&na, t, sizeof t);
            json_array_append_new(arr, json_string(t));
        }
        json_object_set_new(ans, "addresses", arr);
    }
    if (a->kind != STEER_NODATA)
        json_object_set_new(ans, "provider", json_string(p->prov[a->provider].name));
    json_object_set_new(ans, "rule", json_integer(a->rule));
    json_object_set_new(ans, "pool", json_string(nm->pools[a->pool].name));
    json_object_set_new(ans, "ttl", json_integer(a->ttl));
    json_object_set_new(ans, "scope", json_integer(a->scope));
    json_object_set_new(ans, "degraded", json_boolean(a->degraded));
    json_object_set_new(ans, "failed_open", json_boolean(a->failed_open));
    json_object_set_new(root, "answer", ans);
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!s)
        return -1;
    out_printf(o, "%s\n", s);
    free(s);
    return 0;
}

int steer_explain(const struct steer_policy *p, const struct steer_name *n, const struct steer_client *c,
                  uint16_t qtype, const struct steer_inputs *in, bool json, char *buf, size_t size)
{
    if (!buf || size == 0)
        return -1;
    buf[0] = 0;
    struct trace *tr = calloc(1, sizeof *tr);
    if (!tr)
        return -1;
    struct facts f;
    struct steer_answer a;
    if (decide(p, n, c, qtype, in, &a, &f, tr) != STEER_OK) {
        free(tr);
        return -1;
    }
    /* the full geo picture for the operator, whether or not it was used */
    struct geo_loc loc;
    struct geo_asn asn;
    geo_lookup_loc(p->geo, &c->addr, &loc);
    geo_lookup_asn(p->geo, &c->addr, &asn);
    struct outbuf o = { buf, size, 0 };
    int rc = 0;
    if (json)
        rc = explain_json(p, n, c, qtype, &a, tr, &loc, &asn, &o);
    else
        explain_text(p, n, c, qtype, &a, tr, &loc, &asn, &o);
    free(tr);
    if (rc < 0)
        return -1;
    if (o.len >= size)
        buf[size - 1] = 0;
    return (int)(o.len < size ? o.len : size - 1);
}
