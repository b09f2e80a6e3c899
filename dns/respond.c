#include "dns/respond.h"

#include <string.h>

#define MAX_CNAME_CHAIN 8   /* CNAME hops followed inside our zones (loops end here) */
#define CT_MAX 64           /* compression targets remembered per response */
#define MAX_ADDITIONAL 16   /* target names given additional-section glue */

struct ct_entry {
    const uint8_t *name;
    uint16_t off;
    uint8_t len;
};

struct resp {
    uint8_t *buf;
    size_t cap;             /* buffer size: never written past */
    size_t limit;           /* largest message allowed, OPT space excluded */
    size_t len;
    uint16_t an, ns, ar;
    const uint8_t *qname;   /* the question's name, at offset 12, or NULL */
    const struct dns_query *ct_q;   /* question whose targets are not in ct[] yet */
    unsigned nct;
    struct ct_entry ct[CT_MAX];
};

struct ctx {
    const struct dns_view *v;
    struct dns_client *c;
    const struct dns_query *q;
    struct resp *r;
    struct dns_result *res;
    uint16_t flags;         /* header flags being built */
    uint8_t rcode;
    bool aa_decided;
    uint8_t scope;
    const uint8_t *addl[MAX_ADDITIONAL];
    unsigned naddl;
    const uint8_t *chain[MAX_CNAME_CHAIN + 1];  /* owners answered with a CNAME */
    unsigned nchain;
};

static bool same_name(const uint8_t *a, const uint8_t *b)
{
    int la = dns_name_len(a, DNS_MAX_NAME), lb = dns_name_len(b, DNS_MAX_NAME);
    return la == lb && memcmp(a, b, (size_t)la) == 0;
}

enum put_result { PUT_OK = 0, PUT_NOSPACE = -1 };

/* Enters the question name's suffixes (at offset 12, all within 14-bit
 * offsets) as the first compression targets. Deferred until a name other
 * than the qname itself is written: a steered A/AAAA answer (owner = qname,
 * a bare pointer) never needs them. Called before a writer takes its
 * rollback mark, so a rollback never drops them. */
static void ct_ready(struct resp *r)
{
    const struct dns_query *q = r->ct_q;
    if (!q)
        return;
    r->ct_q = NULL;
    unsigned n = q->nlabels < CT_MAX ? q->nlabels : CT_MAX;
    for (unsigned i = 0; i < n; i++) {
        unsigned o = q->label_off[i];
        r->ct[i] = (struct ct_entry){ q->qname + o, (uint16_t)(DNS_HDR_LEN + o), (uint8_t)(q->qname_len - o) };
    }
    r->nct = n;
}

static void ct_add(struct resp *r, const uint8_t *name, size_t len, size_t off)
{
    /* a pointer holds 14 bits of offset */
    if (r->nct < CT_MAX && off < 0x4000 && len > 1)
        r->ct[r->nct++] = (struct ct_entry){ name, (uint16_t)off, (uint8_t)len };
}

static int ct_find(const struct resp *r, const uint8_t *name, size_t len)
{
    for (unsigned i = 0; i < r->nct; i++)
        if (r->ct[i].len == len && memcmp(r->ct[i].name, name, len) == 0)
            return r->ct[i].off;
    return -1;
}

/* Writes a name, compressed against names already in the message. */
static enum put_result put_name(struct resp *r, const uint8_t *name, size_t len)
{
    if (r->len + len + 2 > r->cap)
        return PUT_NOSPACE;
    if (name == r->qname) {
        /* the owner of most answers: ct[0] holds it at offset 12, so the
         * search below would end there with a bare pointer */
        dns_put16(r->buf + r->len, 0xc000 | DNS_HDR_LEN);
        r->len += 2;
        return PUT_OK;
    }
    ct_ready(r);   /* a no-op when a writer already called it */
    size_t start = r->len;
    size_t p = 0;
    for (;;) {
        if (name[p] == 0) {
            memcpy(r->buf + r->len, name, p + 1);
            r->len += p + 1;
            break;
        }
        int off = ct_find(r, name + p, len - p);
        if (off >= 0) {
            memcpy(r->buf + r->len, name, p);
            r->len += p;
            dns_put16(r->buf + r->len, (uint16_t)(0xc000 | off));
            r->len += 2;
            break;
        }
        p += 1u + name[p];
    }
    for (size_t q = 0; q < p; q += 1u + name[q])
        ct_add(r, name + q, len - q, start + q);
    return PUT_OK;
}

static uint16_t *section_count(struct resp *r, int section)
{
    return section == 0 ? &r->an : section == 1 ? &r->ns : &r->ar;
}

/* Appends a whole RRset under `owner`, or nothing if it does not fit. */
static enum put_result put_rrset(struct resp *r, const uint8_t *owner, size_t owner_len, const struct dns_rrset *rs,
                                 int section)
{
    ct_ready(r);
    size_t mark = r->len;
    unsigned mark_ct = r->nct;
    const uint8_t *w = rs->wire;
    for (unsigned i = 0; i < rs->count; i++) {
        size_t rdlen = dns_get16(w + 8);
        if (put_name(r, owner, owner_len) != PUT_OK || r->len + 10 + rdlen > r->limit) {
            r->len = mark;
            r->nct = mark_ct;
            return PUT_NOSPACE;
        }
        memcpy(r->buf + r->len, w, 10 + rdlen);
        r->len += 10 + rdlen;
        w += 10 + rdlen;
    }
    *section_count(r, section) += rs->count;
    return PUT_OK;
}

/* Appends one record with rdata given as bytes (dynamic A/AAAA). */
static enum put_result put_rr(struct resp *r, const uint8_t *owner, size_t owner_len, uint16_t type, uint32_t ttl,
                              const uint8_t *rdata, uint16_t rdlen, int section)
{
    if (owner != r->qname)
        ct_ready(r);
    size_t mark = r->len;
    unsigned mark_ct = r->nct;
    if (put_name(r, owner, owner_len) != PUT_OK || r->len + 10 + rdlen > r->limit) {
        r->len = mark;
        r->nct = mark_ct;
        return PUT_NOSPACE;
    }
    uint8_t *p = r->buf + r->len;
    dns_put16(p, type);
    dns_put16(p + 2, DNS_CLASS_IN);
    dns_put32(p + 4, ttl);
    dns_put16(p + 8, rdlen);
    if (rdlen == 4)             /* A and AAAA: fixed-size copies, no library call */
        memcpy(p + 10, rdata, 4);
    else if (rdlen == 16)
        memcpy(p + 10, rdata, 16);
    else
        memcpy(p + 10, rdata, rdlen);
    r->len += 10u + rdlen;
    (*section_count(r, section))++;
    return PUT_OK;
}

/* A CNAME record whose target is compressed against the message. */
static enum put_result put_cname(struct resp *r, const uint8_t *owner, size_t owner_len, uint32_t ttl,
                                 const uint8_t *target, size_t target_len)
{
    ct_ready(r);
    size_t mark = r->len;
    unsigned mark_ct = r->nct;
    if (put_name(r, owner, owner_len) != PUT_OK || r->len + 10 > r->cap)
        goto nospace;
    size_t fixed = r->len;
    r->len += 10;
    if (put_name(r, target, target_len) != PUT_OK || r->len > r->limit)
        goto nospace;
    dns_put16(r->buf + fixed, DNS_T_CNAME);
    dns_put16(r->buf + fixed + 2, DNS_CLASS_IN);
    dns_put32(r->buf + fixed + 4, ttl);
    dns_put16(r->buf + fixed + 8, (uint16_t)(r->len - fixed - 10));
    r->an++;
    return PUT_OK;
nospace:
    r->len = mark;
    r->nct = mark_ct;
    return PUT_NOSPACE;
}

/* Label offsets of an uncompressed name; returns the label count. */
static unsigned name_labels(const uint8_t *name, uint8_t *off)
{
    unsigned n = 0;
    for (size_t p = 0; name[p]; p += 1u + name[p])
        off[n++] = (uint8_t)p;
    return n;
}

static void truncate_answer(struct ctx *x)
{
    struct resp *r = x->r;
    r->len = DNS_HDR_LEN + x->q->question_len;
    r->an = r->ns = r->ar = 0;
    x->flags |= DNS_F_TC;
    x->res->tc = true;
}

static void set_aa(struct ctx *x, bool aa)
{
    if (x->aa_decided)
        return;         /* AA describes the first owner name (RFC 1034 4.3.2) */
    x->aa_decided = true;
    if (aa)
        x->flags |= DNS_F_AA;
}

static int negative(struct ctx *x, const struct dns_zone *z, uint8_t rcode)
{
    set_aa(x, true);
    x->rcode = rcode;
    if (put_rrset(x->r, z->apex, z->apex_len, z->neg_soa, 1) != PUT_OK)
        return -1;
    return 0;
}

/* Queues a name for additional-section address records. */
static void want_additional(struct ctx *x, const uint8_t *name)
{
    int len = dns_name_len(name, DNS_MAX_NAME);
    for (unsigned i = 0; i < x->naddl; i++)
        if (dns_name_len(x->addl[i], DNS_MAX_NAME) == len && !memcmp(x->addl[i], name, (size_t)len))
            return;
    if (x->naddl < MAX_ADDITIONAL)
        x->addl[x->naddl++] = name;
}

/* Adds A/AAAA of queued names found in our zones. `required_under`
 * names a delegation whose in-bailiwick glue must fit (else TC). */
static int add_additional(struct ctx *x, const struct dns_node *deleg)
{
    for (unsigned i = 0; i < x->naddl; i++) {
        const uint8_t *t = x->addl[i];
        size_t tlen = (size_t)dns_name_len(t, DNS_MAX_NAME);
        uint8_t off[DNS_MAX_LABELS];
        unsigned nl = name_labels(t, off);
        const struct dns_zone *z = dns_db_find_zone(x->v->db, t, tlen, off, nl);
        if (!z)
            continue;
        const struct dns_node *n = dns_zone_find(z, t, tlen);
        if (!n)
            continue;
        bool required = deleg && dns_name_is_sub(t, tlen, deleg->name, deleg->name_len);
        static const uint16_t types[2] = { DNS_T_A, DNS_T_AAAA };
        for (int k = 0; k < 2; k++) {
            const struct dns_rrset *rs = dns_node_rrset(n, types[k]);
            if (rs && put_rrset(x->r, t, tlen, rs, 2) != PUT_OK) {
                if (required)
                    return -1;
                return 0;   /* optional data: stop adding, no TC (RFC 2181 9) */
            }
        }
    }
    return 0;
}

static int referral(struct ctx *x, const struct dns_node *cut)
{
    set_aa(x, false);
    const struct dns_rrset *ns = dns_node_rrset(cut, DNS_T_NS);
    if (put_rrset(x->r, cut->name, cut->name_len, ns, 1) != PUT_OK)
        return -1;
    for (unsigned i = 0; i < ns->ntargets; i++)
        want_additional(x, ns->targets[i]);
    int rc = add_additional(x, cut);
    x->naddl = 0;   /* glue is done: dns_respond's final pass must not add it again */
    return rc;
}

static int resolve(struct ctx *x, const uint8_t *name, size_t len, int depth);

/* Answers from a dynamic (steered) node. */
static int answer_dynamic(struct ctx *x, const struct dns_zone *z, const struct dns_node *node,
                          const uint8_t *owner, size_t owner_len)
{
    uint16_t qt = x->q->qtype;
    uint16_t ask = qt == DNS_T_AAAA ? DNS_T_AAAA : DNS_T_A;
    struct dns_dyn_answer da;  /* addr[] is read only below naddr: not zeroed */
    da.kind = DNS_DYN_NODATA;
    da.ttl = 0;
    da.scope = 0;
    da.naddr = 0;
    da.cname = NULL;
    da.cname_len = 0;
    x->res->dynamic = true;
    if (!x->v->dynamic || x->v->dynamic(x->v->dynamic_ctx, node->dynamic, x->c, ask, &da) < 0) {
        set_aa(x, true);
        x->rcode = DNS_R_SERVFAIL;
        return 0;
    }
    if (da.scope > x->scope)
        x->scope = da.scope;
    set_aa(x, true);
    if (da.kind == DNS_DYN_CNAME) {
        /* a CNAME answers every type (RFC 1034 3.6.2) */
        return put_cname(x->r, owner, owner_len, da.ttl, da.cname, da.cname_len) == PUT_OK ? 0 : -1;
    }
    if (qt == DNS_T_A || qt == DNS_T_AAAA || qt == DNS_T_ANY) {
        if (da.kind == DNS_DYN_ADDRS && da.naddr > 0) {
            if (da.naddr > DNS_DYN_MAX_ADDRS)
                da.naddr = DNS_DYN_MAX_ADDRS;
            for (unsigned i = 0; i < da.naddr; i++)
                if (put_rr(x->r, owner, owner_len, ask, da.ttl, da.addr[i], ask == DNS_T_A ? 4 : 16, 0) != PUT_OK)
                    return -1;
            return 0;
        }
        return negative(x, z, DNS_R_NOERROR);
    }
    const struct dns_rrset *rs = dns_node_rrset(node, qt);
    if (rs)
        return put_rrset(x->r, owner, owner_len, rs, 0) == PUT_OK ? 0 : -1;
    return negative(x, z, DNS_R_NOERROR);
}

/* Answers at a node that exists (or a wildcard standing in for it). */
static int answer_node(struct ctx *x, const struct dns_zone *z, const struct dns_node *node, const uint8_t *owner,
                       size_t owner_len, int depth)
{
    uint16_t qt = x->q->qtype;
    if (node->flags & DNS_NODE_DYNAMIC)
        return answer_dynamic(x, z, node, owner, owner_len);
    if ((node->flags & DNS_NODE_CNAME) && qt != DNS_T_CNAME) {
        const struct dns_rrset *cn = dns_node_rrset(node, DNS_T_CNAME);
        set_aa(x, true);
        if (put_rrset(x->r, owner, owner_len, cn, 0) != PUT_OK)
            return -1;
        if (qt == DNS_T_ANY || depth >= MAX_CNAME_CHAIN)
            return 0;
        const uint8_t *t = cn->targets[0];
        x->chain[x->nchain++] = owner;
        for (unsigned i = 0; i < x->nchain; i++)
            if (same_name(x->chain[i], t))
                return 0;   /* a loop: each record appears once, then stop */
        return resolve(x, t, (size_t)dns_name_len(t, DNS_MAX_NAME), depth + 1);
    }
    set_aa(x, true);
    const struct dns_rrset *rs = NULL;
    if (qt == DNS_T_ANY) {
        /* RFC 8482: one RRset is a complete answer to ANY */
        rs = node->nrrsets ? &node->rrsets[0] : NULL;
    } else {
        rs = dns_node_rrset(node, qt);
    }
    if (!rs)
        return negative(x, z, DNS_R_NOERROR);
    if (put_rrset(x->r, owner, owner_len, rs, 0) != PUT_OK)
        return -1;
    if (rs->type == DNS_T_NS || rs->type == DNS_T_MX || rs->type == DNS_T_SRV)
        for (unsigned i = 0; i < rs->ntargets; i++)
            want_additional(x, rs->targets[i]);
    return 0;
}

/* RFC 1034 4.3.2 steps 3a-3c for `name` (the qname or a CNAME target). */
static int resolve(struct ctx *x, const uint8_t *name, size_t len, int depth)
{
    uint8_t offbuf[DNS_MAX_LABELS];
    const uint8_t *off = x->q->label_off;   /* the parser indexed the qname */
    unsigned nl = x->q->nlabels;
    if (name != x->q->qname) {
        nl = name_labels(name, offbuf);
        off = offbuf;
    }
    const struct dns_zone *z = dns_db_find_zone(x->v->db, name, len, off, nl);
    if (!z) {
        if (depth == 0)
            x->rcode = DNS_R_REFUSED;
        return 0;       /* a chain leaving our zones ends here */
    }
    /* fast path: the name exists and no cut lies on the way to it */
    const struct dns_node *exact = dns_zone_find(z, name, len);
    if (exact && !(exact->flags & (DNS_NODE_UNDERCUT | DNS_NODE_DELEG)))
        return answer_node(x, z, exact, name, len, depth);
    const struct dns_node *closest = z->apex_node, *node = NULL;
    for (unsigned d = z->apex_labels + 1; d <= nl; d++) {
        size_t o = off[nl - d];
        const struct dns_node *n = dns_zone_find(z, name + o, len - o);
        if (!n)
            break;
        /* a zone cut: refer, except DS at the cut which the parent answers */
        if ((n->flags & DNS_NODE_DELEG) && !(d == nl && x->q->qtype == DNS_T_DS))
            return referral(x, n);
        closest = n;
        if (d == nl)
            node = n;
    }
    if (nl == z->apex_labels)
        node = z->apex_node;
    if (node)
        return answer_node(x, z, node, name, len, depth);
    if (closest->flags & DNS_NODE_WILDKID) {
        uint8_t wild[DNS_MAX_NAME];
        wild[0] = 1;
        wild[1] = '*';
        memcpy(wild + 2, closest->name, closest->name_len);
        const struct dns_node *w = dns_zone_find(z, wild, closest->name_len + 2u);
        if (w)
            return answer_node(x, z, w, name, len, depth);
    }
    return negative(x, z, DNS_R_NXDOMAIN);
}

static size_t opt_len(const struct dns_query *q)
{
    if (!q->edns)
        return 0;
    return 11 + (q->ecs ? 4u + 4u + (q->ecs_source + 7u) / 8u : 0);
}

static void put_opt(struct ctx *x, uint8_t ext_rcode)
{
    struct resp *r = x->r;
    const struct dns_query *q = x->q;
    uint8_t *p = r->buf + r->len;
    p[0] = 0;                               /* root owner */
    dns_put16(p + 1, DNS_T_OPT);
    dns_put16(p + 3, x->v->udp_max);        /* our receive buffer size */
    dns_put32(p + 5, (uint32_t)ext_rcode << 24 | (q->edns_do ? DNS_EDNS_DO : 0));
    size_t rdlen = 0;
    if (q->ecs) {
        size_t alen = (q->ecs_source + 7u) / 8u;
        uint8_t *o = p + 11;
        dns_put16(o, DNS_OPT_ECS);
        dns_put16(o + 2, (uint16_t)(4 + alen));
        dns_put16(o + 4, q->ecs_family);
        o[6] = q->ecs_source;
        /* the scope never exceeds what the client offered (RFC 7871 7.2.1) */
        o[7] = x->scope > q->ecs_source ? q->ecs_source : x->scope;
        /* all 16 bytes (fixed size, no library call): those past alen are
         * beyond r->len, inside the DNS_RESPONSE_SLACK the caller provides */
        memcpy(o + 8, q->ecs_addr.bytes, sizeof q->ecs_addr.bytes);
        rdlen = 8 + alen;
        x->res->ecs = true;
    }
    dns_put16(p + 9, (uint16_t)rdlen);
    r->len += 11 + rdlen;
    r->ar++;
}

/* Rejections decided from the question alone; 0 when none applies. */
static uint8_t question_policy(const struct dns_query *q)
{
    if (q->qclass != DNS_CLASS_IN)
        return DNS_R_REFUSED;
    switch (q->qtype) {
    case DNS_T_OPT:
        return DNS_R_FORMERR;
    case DNS_T_AXFR: case DNS_T_IXFR:
        return DNS_R_REFUSED;       /* no zone transfers from the steering authority */
    case DNS_T_MAILA: case DNS_T_MAILB: case DNS_T_TSIG: case DNS_T_TKEY:
        return DNS_R_NOTIMP;
    default:
        return 0;
    }
}

size_t dns_respond(const struct dns_view *v, const uint8_t *pkt, size_t len, struct dns_client *c,
                   struct dns_query *q, uint8_t *out, size_t cap, struct dns_result *res)
{
    memset(res, 0, sizeof *res);
    enum dns_parse_result pr = dns_parse_query(pkt, len, q);
    if (pr == DNS_PARSE_DROP) {
        res->dropped = true;
        return 0;
    }
    c->q = q;
    struct resp r;  /* not zero-initialised: ct[] is 1 KiB and only the first nct entries are read */
    r.buf = out;
    r.cap = cap;
    r.an = r.ns = r.ar = 0;
    r.nct = 0;
    r.qname = NULL;
    r.ct_q = NULL;
    /* not zero-initialised either: addl[] and chain[] (200 bytes) are read
     * only below naddl and nchain */
    struct ctx x;
    x.v = v;
    x.c = c;
    x.q = q;
    x.r = &r;
    x.res = res;
    x.rcode = 0;
    x.aa_decided = false;
    x.scope = 0;
    x.naddl = 0;
    x.nchain = 0;
    size_t maxlen = c->tcp ? 65535 : DNS_MIN_UDP;
    if (!c->tcp && q->edns)
        maxlen = q->udp_size < v->udp_max ? q->udp_size : v->udp_max;
    if (maxlen < DNS_MIN_UDP)
        maxlen = DNS_MIN_UDP;
    r.limit = maxlen - opt_len(q);
    x.flags = DNS_F_QR | (uint16_t)(q->opcode << 11) | (q->flags & (DNS_F_RD | DNS_F_CD));
    r.len = DNS_HDR_LEN;
    if (q->question_ok) {
        memcpy(out + DNS_HDR_LEN, q->question, q->question_len);
        r.len += q->question_len;
        /* the query's own name, at offset 12, is the first compression
         * target (entered by ct_ready when first needed) */
        if (q->nlabels) {
            r.qname = q->qname;
            r.ct_q = q;
        }
    }
    uint8_t ext_rcode = 0;
    switch (pr) {
    case DNS_PARSE_FORMERR: x.rcode = DNS_R_FORMERR; break;
    case DNS_PARSE_NOTIMP: x.rcode = DNS_R_NOTIMP; break;
    case DNS_PARSE_BADVERS: ext_rcode = DNS_R_BADVERS >> 4; break;
    default: {
        uint8_t rc = question_policy(q);
        if (rc) {
            x.rcode = rc;
            break;
        }
        if (resolve(&x, q->qname, q->qname_len, 0) < 0 || add_additional(&x, NULL) < 0)
            truncate_answer(&x);
    }
    }
    if (q->edns)
        put_opt(&x, ext_rcode);
    dns_put16(out, q->id);
    dns_put16(out + 2, (uint16_t)(x.flags | x.rcode));
    dns_put16(out + 4, q->question_ok ? 1 : 0);
    dns_put16(out + 6, r.an);
    dns_put16(out + 8, r.ns);
    dns_put16(out + 10, r.ar);
    res->rcode = ext_rcode ? DNS_R_BADVERS : x.rcode;
    return r.len;
}
