/* Unit tests: dns/respond.h over a small database built from a zone file
 * the test writes. Every response is decoded with ldns (ldns_wire2pkt) and
 * also checked byte-wise where the encoding matters: name compression
 * (exact sizes), truncation at the exact boundary (fits / one byte over),
 * OPT and ECS echo (scope from a dynamic callback, clamped to the source),
 * SERVFAIL from a failing callback, AA across CNAME-into-referral, ANY, and
 * that answering allocates nothing. Response buffers are heap blocks of
 * exactly `cap` bytes so ASan catches any write past them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <malloc.h>
#include <cmocka.h>
#include <ldns/ldns.h>

#include "dns/respond.h"
#include "dns/wire.h"
#include "dns/zone.h"

#define UDP_MAX 1232

static char dir[64];
static struct dns_db *db;

static char txt255[256], txt208[209], txt209[210];

static const char zone_text[] =
    "$ORIGIN example.test.\n$TTL 3600\n"
    "@ SOA ns1 hostmaster 7 3600 600 86400 300\n"
    "@ NS ns1\n@ NS ns2\n@ MX 10 mail\n"
    "ns1 A 192.0.2.1\nns2 A 192.0.2.2\nns2 AAAA 2001:db8::2\n"
    "mail A 192.0.2.3\n"
    "www A 192.0.2.10\nwww A 192.0.2.11\nwww AAAA 2001:db8::10\n"
    "alias CNAME www\n"
    "tosub CNAME host.sub\n"
    "out CNAME www.elsewhere.invalid.\n"
    "l1 CNAME l2\nl2 CNAME l1\n"
    "sub NS ns.sub\nns.sub A 192.0.2.70\n"
    "*.wild A 192.0.2.50\n"
    "dyn TXT \"static next to steered\"\n";

/* the t512/t513 names: responses of exactly 512 and 513 octets without EDNS */
static void write_zone(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(zone_text, f);
    memset(txt255, 'a', 255);
    memset(txt208, 'b', 208);
    memset(txt209, 'b', 209);
    fprintf(f, "t512 TXT \"%s\" \"%s\"\n", txt255, txt208);
    fprintf(f, "t513 TXT \"%s\" \"%s\"\n", txt255, txt209);
    /* a delegation whose glue cannot fit in 512 octets, and an MX set
     * whose additional addresses cannot */
    for (int i = 1; i <= 12; i++)
        fprintf(f, "bigd NS ns%d.bigd\nns%d.bigd A 192.0.2.%d\nmxs MX %d m%d.mxs\nm%d.mxs A 192.0.2.%d\n", i, i,
                100 + i, i, i, i, 150 + i);
    /* 6 x 100-octet strings: about 650 octets of answer, for EDNS sizes */
    for (int i = 0; i < 6; i++)
        fprintf(f, "big TXT \"%d%099d\"\n", i, 0);
    fclose(f);
}

/* ---- the dynamic callback: behaviour chosen by the test */

static struct {
    int fail;
    enum dns_dyn_kind kind;
    uint8_t scope;
    unsigned naddr;
    unsigned calls;
    uint16_t asked;
    bool saw_ecs, saw_tcp;
    struct net_addr saw_addr;
    const void *handle;
} dyn;
static int dyn_handle;
static const uint8_t dyn_v4[2][4] = { { 198, 51, 100, 1 }, { 198, 51, 100, 2 } };
static const uint8_t dyn_v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x99 };
static const uint8_t dyn_target[] = "\3www\7example\4test";

static int dynamic_cb(void *ctx, const void *handle, const struct dns_client *c, uint16_t qtype,
                      struct dns_dyn_answer *out)
{
    dyn.calls++;
    dyn.asked = qtype;
    dyn.handle = handle;
    dyn.saw_ecs = c->q->ecs;
    dyn.saw_tcp = c->tcp;
    dyn.saw_addr = c->addr;
    if (dyn.fail)
        return -1;
    out->kind = dyn.kind;
    out->ttl = 30;
    out->scope = dyn.scope;
    if (dyn.kind == DNS_DYN_CNAME) {
        out->cname = dyn_target;
        out->cname_len = sizeof dyn_target;
    } else if (dyn.kind == DNS_DYN_ADDRS) {
        out->naddr = dyn.naddr;
        for (unsigned i = 0; i < dyn.naddr; i++)
            out->addr[i] = qtype == DNS_T_AAAA ? dyn_v6 : dyn_v4[i % 2];
    }
    return 0;
}

static void dyn_reset(void)
{
    memset(&dyn, 0, sizeof dyn);
    dyn.kind = DNS_DYN_ADDRS;
    dyn.naddr = 2;
}

static int setup(void **st)
{
    strcpy(dir, "/tmp/test_dns_respond.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char path[128];
    snprintf(path, sizeof path, "%s/example.test.zone", dir);
    write_zone(path);
    struct dns_zone_src src = { .name = "example.test", .file = path, .cfg_file = "t", .cfg_line = 1 };
    struct dns_dynamic_src d = { (const uint8_t *)"\3dyn\7example\4test", 18, &dyn_handle };
    char err[512];
    if (dns_db_build(&src, 1, &d, 1, &db, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    unlink(path);
    rmdir(dir);
    return 0;
}

static int teardown(void **st)
{
    dns_db_free(&db);
    return 0;
}

/* ---- query building */

struct qopt {
    bool edns;
    uint16_t udp;
    bool dobit;
    uint8_t version;
    int ecs_family;             /* 0: none */
    uint8_t ecs_source;
    const uint8_t *ecs_addr;
    uint16_t id;
    uint16_t flags;
    uint16_t qclass;
};

static size_t make_query(uint8_t *b, const char *name, uint16_t qtype, const struct qopt *o)
{
    size_t n = 0;
    dns_put16(b, o && o->id ? o->id : 0x4242);
    dns_put16(b + 2, o && o->flags ? o->flags : DNS_F_RD);
    dns_put16(b + 4, 1);
    dns_put16(b + 6, 0);
    dns_put16(b + 8, 0);
    dns_put16(b + 10, o && o->edns ? 1 : 0);
    n = DNS_HDR_LEN;
    /* keep the case as given: labels copied verbatim */
    const char *s = name;
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        b[n++] = (uint8_t)l;
        memcpy(b + n, s, l);
        n += l;
        s += l + (dot ? 1 : 0);
    }
    b[n++] = 0;
    dns_put16(b + n, qtype);
    dns_put16(b + n + 2, o && o->qclass ? o->qclass : DNS_CLASS_IN);
    n += 4;
    if (o && o->edns) {
        b[n++] = 0;
        dns_put16(b + n, DNS_T_OPT);
        dns_put16(b + n + 2, o->udp);
        dns_put32(b + n + 4, (uint32_t)o->version << 16 | (o->dobit ? DNS_EDNS_DO : 0));
        size_t alen = o->ecs_family ? (o->ecs_source + 7u) / 8u : 0;
        size_t rdlen = o->ecs_family ? 8 + alen : 0;
        dns_put16(b + n + 8, (uint16_t)rdlen);
        n += 10;
        if (o->ecs_family) {
            dns_put16(b + n, DNS_OPT_ECS);
            dns_put16(b + n + 2, (uint16_t)(4 + alen));
            dns_put16(b + n + 4, (uint16_t)o->ecs_family);
            b[n + 6] = o->ecs_source;
            b[n + 7] = 0;
            if (alen)
                memcpy(b + n + 8, o->ecs_addr, alen);
            n += rdlen;
        }
    }
    return n;
}

struct answer {
    uint8_t *buf;               /* exactly cap bytes */
    size_t len;
    struct dns_result res;
    ldns_pkt *pkt;              /* NULL if nothing was sent */
};

static struct dns_view view = { .dynamic = dynamic_cb, .udp_max = UDP_MAX };

static void ask_raw(struct answer *a, const uint8_t *q, size_t qlen, bool tcp)
{
    view.db = db;
    size_t cap = (tcp ? 65535 : UDP_MAX) + DNS_RESPONSE_SLACK;
    a->buf = malloc(cap);
    assert_non_null(a->buf);
    struct dns_client c = { .tcp = tcp };
    assert_int_equal(net_addr_parse("203.0.113.9", &c.addr), 0);
    struct dns_query pq;
    a->len = dns_respond(&view, q, qlen, &c, &pq, a->buf, cap, &a->res);
    a->pkt = NULL;
    if (a->len) {
        if (ldns_wire2pkt(&a->pkt, a->buf, a->len) != LDNS_STATUS_OK)
            fail_msg("ldns cannot parse the response (%zu octets)", a->len);
        assert_int_equal(dns_get16(a->buf), dns_get16(q));
        assert_true(ldns_pkt_qr(a->pkt));
        assert_false(ldns_pkt_ra(a->pkt));
    }
}

static void ask(struct answer *a, const char *name, uint16_t qtype, const struct qopt *o, bool tcp)
{
    uint8_t q[512];
    size_t n = make_query(q, name, qtype, o);
    ask_raw(a, q, n, tcp);
}

static void done(struct answer *a)
{
    ldns_pkt_free(a->pkt);
    free(a->buf);
    a->pkt = NULL;
    a->buf = NULL;
}

/* Occurrences of `needle` in the response bytes. */
static unsigned count_bytes(const struct answer *a, const void *needle, size_t n)
{
    unsigned c = 0;
    for (size_t i = 0; i + n <= a->len; i++)
        c += memcmp(a->buf + i, needle, n) == 0;
    return c;
}

static ldns_rr *rr_at(ldns_rr_list *l, size_t i)
{
    assert_true(i < ldns_rr_list_rr_count(l));
    return ldns_rr_list_rr(l, i);
}

/* presentation form of an RR's owner */
static void owner_str(ldns_rr *rr, char *buf, size_t size)
{
    char *s = ldns_rdf2str(ldns_rr_owner(rr));
    snprintf(buf, size, "%s", s);
    free(s);
}

/* ---- positive answers and compression */

static void test_basic_answer(void **st)
{
    struct answer a;
    ask(&a, "WwW.Example.TEST", DNS_T_A, NULL, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_NOERROR);
    assert_true(ldns_pkt_aa(a.pkt));
    assert_true(ldns_pkt_rd(a.pkt));
    assert_false(ldns_pkt_tc(a.pkt));
    assert_int_equal(ldns_pkt_ancount(a.pkt), 2);
    assert_int_equal(ldns_pkt_nscount(a.pkt), 0);
    assert_int_equal(ldns_pkt_arcount(a.pkt), 0);
    /* question echoed with its case */
    assert_memory_equal(a.buf + DNS_HDR_LEN, "\3WwW\7Example\4TEST", 18);
    /* 12 header + 22 question + 2 x (2 pointer + 10 + 4) */
    assert_int_equal(a.len, 12 + 22 + 2 * 16);
    assert_int_equal(dns_get16(a.buf + 34), 0xc00c);
    assert_int_equal(dns_get16(a.buf + 50), 0xc00c);
    assert_int_equal(a.res.rcode, 0);
    assert_false(a.res.dynamic);
    done(&a);
}

static void test_cname_chain_compression(void **st)
{
    struct answer a;
    ask(&a, "alias.example.test", DNS_T_A, NULL, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_NOERROR);
    assert_true(ldns_pkt_aa(a.pkt));
    ldns_rr_list *an = ldns_pkt_answer(a.pkt);
    assert_int_equal(ldns_rr_list_rr_count(an), 3);
    assert_int_equal(ldns_rr_get_type(rr_at(an, 0)), LDNS_RR_TYPE_CNAME);
    char o[256];
    owner_str(rr_at(an, 1), o, sizeof o);
    assert_string_equal(o, "www.example.test.");
    /* header 12 + question 24; CNAME: owner ptr 2 + 10 + rdata 18 (zone
     * CNAME rdata is copied uncompressed); first A: "www" + ptr to the
     * question's "example.test" (6) + 14; second A: ptr 2 + 14 */
    assert_int_equal(a.len, 12 + 24 + 30 + 20 + 16);
    assert_int_equal(dns_get16(a.buf + 36), 0xc00c);
    assert_int_equal(dns_get16(a.buf + 66 + 4), 0xc000 | 18);
    assert_int_equal(dns_get16(a.buf + 66 + 20), 0xc000 | 66);
    /* the apex is spelled out in the question and the CNAME rdata only */
    assert_int_equal(count_bytes(&a, "\7example\4test", 13), 2);
    done(&a);
}

static void test_mx_additional_compression(void **st)
{
    struct answer a;
    ask(&a, "example.test", DNS_T_MX, NULL, false);
    assert_int_equal(ldns_pkt_ancount(a.pkt), 1);
    /* the MX target's address comes as additional data */
    ldns_rr_list *ad = ldns_pkt_additional(a.pkt);
    assert_int_equal(ldns_rr_list_rr_count(ad), 1);
    char o[256];
    owner_str(rr_at(ad, 0), o, sizeof o);
    assert_string_equal(o, "mail.example.test.");
    assert_int_equal(ldns_rr_get_type(rr_at(ad, 0)), LDNS_RR_TYPE_A);
    /* MX rdata is copied uncompressed; the additional owner is "mail" +
     * a pointer to the question: apex spelled out twice, never thrice */
    assert_int_equal(count_bytes(&a, "\7example\4test", 13), 2);
    /* 12 + 18 question; MX: 2 + 10 + 2 + 19; A: 5 + 2 + 14 */
    assert_int_equal(a.len, 12 + 18 + 33 + 21);
    done(&a);
}

static void test_ns_apex_additional(void **st)
{
    struct answer a;
    ask(&a, "example.test", DNS_T_NS, NULL, false);
    assert_true(ldns_pkt_aa(a.pkt));
    assert_int_equal(ldns_pkt_ancount(a.pkt), 2);
    /* ns1 A, ns2 A, ns2 AAAA */
    assert_int_equal(ldns_pkt_arcount(a.pkt), 3);
    done(&a);
}

/* ---- negative answers, REFUSED, policy */

static void test_negative(void **st)
{
    struct answer a;
    ask(&a, "nope.example.test", DNS_T_A, NULL, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_NXDOMAIN);
    assert_true(ldns_pkt_aa(a.pkt));
    assert_int_equal(ldns_pkt_ancount(a.pkt), 0);
    ldns_rr_list *ns = ldns_pkt_authority(a.pkt);
    assert_int_equal(ldns_rr_list_rr_count(ns), 1);
    assert_int_equal(ldns_rr_get_type(rr_at(ns, 0)), LDNS_RR_TYPE_SOA);
    assert_int_equal(ldns_rr_ttl(rr_at(ns, 0)), 300);  /* min(3600, MINIMUM 300) */
    done(&a);
    /* NODATA */
    ask(&a, "www.example.test", DNS_T_MX, NULL, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(a.pkt), 0);
    assert_int_equal(ldns_pkt_nscount(a.pkt), 1);
    done(&a);
    /* outside our zones */
    ask(&a, "www.example.org", DNS_T_A, NULL, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_REFUSED);
    assert_false(ldns_pkt_aa(a.pkt));
    assert_int_equal(ldns_pkt_ancount(a.pkt) + ldns_pkt_nscount(a.pkt) + ldns_pkt_arcount(a.pkt), 0);
    done(&a);
    /* class CH, zone transfers, meta types */
    struct qopt ch = { .qclass = 3 };
    ask(&a, "www.example.test", DNS_T_A, &ch, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_REFUSED);
    done(&a);
    ask(&a, "example.test", DNS_T_AXFR, NULL, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_REFUSED);
    done(&a);
    ask(&a, "example.test", DNS_T_TSIG, NULL, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_NOTIMPL);
    done(&a);
}

static void test_cname_leaving_and_looping(void **st)
{
    struct answer a;
    /* a chain leaving our zones ends with the CNAME, NOERROR */
    ask(&a, "out.example.test", DNS_T_A, NULL, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_NOERROR);
    assert_true(ldns_pkt_aa(a.pkt));
    assert_int_equal(ldns_pkt_ancount(a.pkt), 1);
    done(&a);
    /* a loop is bounded */
    ask(&a, "l1.example.test", DNS_T_A, NULL, false);
    assert_true(ldns_pkt_ancount(a.pkt) >= 2);
    assert_true(ldns_pkt_ancount(a.pkt) <= 10);
    done(&a);
    /* qtype CNAME is answered with the CNAME itself */
    ask(&a, "alias.example.test", DNS_T_CNAME, NULL, false);
    assert_int_equal(ldns_pkt_ancount(a.pkt), 1);
    done(&a);
}

static void test_wildcard(void **st)
{
    struct answer a;
    ask(&a, "a.b.wild.example.test", DNS_T_A, NULL, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_NOERROR);
    assert_true(ldns_pkt_aa(a.pkt));
    ldns_rr_list *an = ldns_pkt_answer(a.pkt);
    assert_int_equal(ldns_rr_list_rr_count(an), 1);
    char o[256];
    owner_str(rr_at(an, 0), o, sizeof o);
    assert_string_equal(o, "a.b.wild.example.test.");   /* synthesised owner */
    done(&a);
}

/* ---- referrals and AA */

static void test_referral(void **st)
{
    struct answer a;
    ask(&a, "host.sub.example.test", DNS_T_A, NULL, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_NOERROR);
    assert_false(ldns_pkt_aa(a.pkt));
    assert_int_equal(ldns_pkt_ancount(a.pkt), 0);
    ldns_rr_list *ns = ldns_pkt_authority(a.pkt);
    assert_int_equal(ldns_rr_list_rr_count(ns), 1);
    assert_int_equal(ldns_rr_get_type(rr_at(ns, 0)), LDNS_RR_TYPE_NS);
    ldns_rr_list *ad = ldns_pkt_additional(a.pkt);
    assert_true(ldns_rr_list_rr_count(ad) >= 1);
    char o[256];
    owner_str(rr_at(ad, 0), o, sizeof o);
    assert_string_equal(o, "ns.sub.example.test.");
    done(&a);
    /* DS at the cut is the parent's: NODATA with AA, not a referral */
    ask(&a, "sub.example.test", DNS_T_DS, NULL, false);
    assert_true(ldns_pkt_aa(a.pkt));
    assert_int_equal(ldns_pkt_ancount(a.pkt), 0);
    assert_int_equal(ldns_rr_get_type(rr_at(ldns_pkt_authority(a.pkt), 0)), LDNS_RR_TYPE_SOA);
    done(&a);
}

static void test_cname_into_referral(void **st)
{
    struct answer a;
    ask(&a, "tosub.example.test", DNS_T_A, NULL, false);
    /* AA describes the first owner (the CNAME, ours); the rest is a referral */
    assert_true(ldns_pkt_aa(a.pkt));
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_NOERROR);
    ldns_rr_list *an = ldns_pkt_answer(a.pkt);
    assert_int_equal(ldns_rr_list_rr_count(an), 1);
    assert_int_equal(ldns_rr_get_type(rr_at(an, 0)), LDNS_RR_TYPE_CNAME);
    ldns_rr_list *ns = ldns_pkt_authority(a.pkt);
    assert_int_equal(ldns_rr_list_rr_count(ns), 1);
    assert_int_equal(ldns_rr_get_type(rr_at(ns, 0)), LDNS_RR_TYPE_NS);
    done(&a);
}

/* ---- ANY */

static void test_any(void **st)
{
    struct answer a;
    ask(&a, "www.example.test", DNS_T_ANY, NULL, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_NOERROR);
    assert_true(ldns_pkt_aa(a.pkt));
    /* one RRset (RFC 8482): either the two A or the one AAAA, not both */
    ldns_rr_list *an = ldns_pkt_answer(a.pkt);
    size_t n = ldns_rr_list_rr_count(an);
    assert_true(n == 1 || n == 2);
    ldns_rr_type t = ldns_rr_get_type(rr_at(an, 0));
    for (size_t i = 1; i < n; i++)
        assert_int_equal(ldns_rr_get_type(rr_at(an, i)), t);
    done(&a);
    /* ANY at a CNAME: the CNAME, no chase */
    ask(&a, "alias.example.test", DNS_T_ANY, NULL, false);
    assert_int_equal(ldns_pkt_ancount(a.pkt), 1);
    assert_int_equal(ldns_rr_get_type(rr_at(ldns_pkt_answer(a.pkt), 0)), LDNS_RR_TYPE_CNAME);
    done(&a);
}

/* ---- truncation */

static void test_truncation_512(void **st)
{
    struct answer a;
    /* exactly 512 octets: sent whole */
    ask(&a, "t512.example.test", DNS_T_TXT, NULL, false);
    assert_int_equal(a.len, 512);
    assert_false(ldns_pkt_tc(a.pkt));
    assert_int_equal(ldns_pkt_ancount(a.pkt), 1);
    done(&a);
    /* one more: TC, question only */
    ask(&a, "t513.example.test", DNS_T_TXT, NULL, false);
    assert_true(ldns_pkt_tc(a.pkt));
    assert_true(a.res.tc);
    assert_int_equal(ldns_pkt_ancount(a.pkt), 0);
    assert_int_equal(a.len, 12 + 19 + 4);
    done(&a);
    /* complete over TCP */
    ask(&a, "t513.example.test", DNS_T_TXT, NULL, true);
    assert_int_equal(a.len, 513);
    assert_false(ldns_pkt_tc(a.pkt));
    done(&a);
}

static void test_truncation_edns(void **st)
{
    struct answer a;
    struct qopt o = { .edns = true, .udp = 4096 };
    ask(&a, "big.example.test", DNS_T_TXT, &o, false);
    size_t full = a.len;
    assert_true(full > 600 && full < UDP_MAX);
    assert_int_equal(ldns_pkt_ancount(a.pkt), 6);
    done(&a);
    /* the client's size exactly: fits (the OPT counts) */
    o.udp = (uint16_t)full;
    ask(&a, "big.example.test", DNS_T_TXT, &o, false);
    assert_int_equal(a.len, full);
    assert_false(ldns_pkt_tc(a.pkt));
    done(&a);
    /* one octet less: TC, the OPT is still there */
    o.udp = (uint16_t)(full - 1);
    ask(&a, "big.example.test", DNS_T_TXT, &o, false);
    assert_true(ldns_pkt_tc(a.pkt));
    assert_int_equal(ldns_pkt_ancount(a.pkt), 0);
    assert_int_equal(ldns_pkt_edns_udp_size(a.pkt), UDP_MAX);
    done(&a);
    /* our own maximum caps a larger client size */
    view.udp_max = (uint16_t)(full - 1);
    o.udp = 4096;
    ask(&a, "big.example.test", DNS_T_TXT, &o, false);
    assert_true(ldns_pkt_tc(a.pkt));
    done(&a);
    view.udp_max = UDP_MAX;
}

static void test_truncation_additional(void **st)
{
    struct answer a;
    /* required glue (in-bailiwick of the cut) that does not fit: TC */
    ask(&a, "host.bigd.example.test", DNS_T_A, NULL, false);
    assert_true(ldns_pkt_tc(a.pkt));
    assert_int_equal(ldns_pkt_nscount(a.pkt), 0);
    assert_true(a.len <= 512);
    done(&a);
    struct qopt o = { .edns = true, .udp = 1232 };
    ask(&a, "host.bigd.example.test", DNS_T_A, &o, false);
    assert_false(ldns_pkt_tc(a.pkt));
    assert_int_equal(ldns_pkt_nscount(a.pkt), 12);
    assert_true(ldns_pkt_arcount(a.pkt) >= 12);
    done(&a);
    /* optional additional data that does not fit: left out, no TC (RFC 2181 9) */
    ask(&a, "mxs.example.test", DNS_T_MX, NULL, false);
    assert_false(ldns_pkt_tc(a.pkt));
    assert_int_equal(ldns_pkt_ancount(a.pkt), 12);
    assert_true(ldns_pkt_arcount(a.pkt) < 12);
    assert_true(a.len <= 512);
    done(&a);
    ask(&a, "mxs.example.test", DNS_T_MX, NULL, true);
    assert_int_equal(ldns_pkt_arcount(a.pkt), 12);
    done(&a);
}

/* ---- EDNS and ECS echo */

static void test_opt_echo(void **st)
{
    struct answer a;
    struct qopt o = { .edns = true, .udp = 4096, .dobit = true };
    ask(&a, "www.example.test", DNS_T_A, &o, false);
    assert_int_equal(dns_get16(a.buf + 10), 1);      /* ARCOUNT: the OPT (ldns hides it) */
    assert_int_equal(a.buf[a.len - 11], 0);            /* OPT last, owned by the root */
    assert_int_equal(dns_get16(a.buf + a.len - 10), DNS_T_OPT);
    assert_int_equal(ldns_pkt_edns_udp_size(a.pkt), UDP_MAX);
    assert_true(ldns_pkt_edns_do(a.pkt));
    assert_int_equal(ldns_pkt_edns_version(a.pkt), 0);
    assert_null(ldns_pkt_edns_data(a.pkt));
    done(&a);
    o.dobit = false;
    ask(&a, "www.example.test", DNS_T_A, &o, false);
    assert_false(ldns_pkt_edns_do(a.pkt));
    done(&a);
    /* BADVERS: extended rcode 1 in the OPT, no answer, version 0 offered */
    o.version = 1;
    ask(&a, "www.example.test", DNS_T_A, &o, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), 0);
    assert_int_equal(ldns_pkt_edns_extended_rcode(a.pkt), 1);
    assert_int_equal(ldns_pkt_edns_version(a.pkt), 0);
    assert_int_equal(ldns_pkt_ancount(a.pkt), 0);
    assert_int_equal(a.res.rcode, DNS_R_BADVERS);
    done(&a);
    /* no OPT without EDNS in the query */
    ask(&a, "www.example.test", DNS_T_A, NULL, false);
    assert_false(ldns_pkt_edns(a.pkt));
    done(&a);
}

/* Finds the ECS option in the response's OPT rdata; returns a pointer to
 * its FAMILY field, or NULL. */
static const uint8_t *ecs_of(const struct answer *a, size_t *optlen)
{
    ldns_rdf *d = ldns_pkt_edns_data(a->pkt);
    if (!d)
        return NULL;
    const uint8_t *p = ldns_rdf_data(d);
    size_t n = ldns_rdf_size(d);
    for (size_t o = 0; o + 4 <= n;) {
        uint16_t code = dns_get16(p + o), len = dns_get16(p + o + 2);
        if (code == DNS_OPT_ECS) {
            *optlen = len;
            return p + o + 4;
        }
        o += 4u + len;
    }
    return NULL;
}

static void test_ecs_static(void **st)
{
    struct answer a;
    static const uint8_t net[] = { 198, 51, 100 };
    struct qopt o = { .edns = true, .udp = 1232, .ecs_family = 1, .ecs_source = 24, .ecs_addr = net };
    ask(&a, "www.example.test", DNS_T_A, &o, false);
    size_t len;
    const uint8_t *e = ecs_of(&a, &len);
    assert_non_null(e);
    assert_int_equal(len, 7);
    assert_int_equal(dns_get16(e), 1);
    assert_int_equal(e[2], 24);
    assert_int_equal(e[3], 0);              /* static data: scope 0 */
    assert_memory_equal(e + 4, net, 3);
    assert_true(a.res.ecs);
    done(&a);
}

static void test_ecs_dynamic_scope(void **st)
{
    struct answer a;
    static const uint8_t net[] = { 198, 51, 100 };
    struct qopt o = { .edns = true, .udp = 1232, .ecs_family = 1, .ecs_source = 24, .ecs_addr = net };
    static const struct {
        uint8_t source, scope, want;
    } cases[] = {
        { 24, 16, 16 }, { 24, 24, 24 }, { 24, 28, 24 }, { 24, 255, 24 }, { 20, 22, 20 }, { 0, 24, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dyn_reset();
        dyn.scope = cases[i].scope;
        o.ecs_source = cases[i].source;
        uint8_t addr[3] = { 198, 51, 96 };          /* clean beyond /20 */
        o.ecs_addr = cases[i].source == 24 ? net : addr;
        ask(&a, "dyn.example.test", DNS_T_A, &o, false);
        assert_int_equal(dyn.calls, 1);
        assert_true(dyn.saw_ecs);
        assert_ptr_equal(dyn.handle, &dyn_handle);
        size_t len;
        const uint8_t *e = ecs_of(&a, &len);
        assert_non_null(e);
        assert_int_equal(e[2], cases[i].source);
        if (e[3] != cases[i].want)
            fail_msg("source %u scope %u: echoed scope %u, want %u", cases[i].source, cases[i].scope, e[3],
                     cases[i].want);
        assert_int_equal(len, 4 + (cases[i].source + 7u) / 8u);
        assert_true(a.res.dynamic);
        done(&a);
    }
    /* IPv6 */
    dyn_reset();
    dyn.scope = 48;
    static const uint8_t net6[] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x02 };
    struct qopt o6 = { .edns = true, .udp = 1232, .ecs_family = 2, .ecs_source = 56, .ecs_addr = net6 };
    ask(&a, "dyn.example.test", DNS_T_AAAA, &o6, false);
    size_t len;
    const uint8_t *e = ecs_of(&a, &len);
    assert_non_null(e);
    assert_int_equal(dns_get16(e), 2);
    assert_int_equal(e[3], 48);
    assert_memory_equal(e + 4, net6, 7);
    done(&a);
}

/* ---- dynamic answers */

static void test_dynamic_kinds(void **st)
{
    struct answer a;
    /* addresses */
    dyn_reset();
    ask(&a, "dyn.example.test", DNS_T_A, NULL, false);
    assert_int_equal(dyn.asked, DNS_T_A);
    assert_false(dyn.saw_tcp);
    assert_int_equal(dyn.saw_addr.family, 4);
    assert_true(ldns_pkt_aa(a.pkt));
    ldns_rr_list *an = ldns_pkt_answer(a.pkt);
    assert_int_equal(ldns_rr_list_rr_count(an), 2);
    assert_int_equal(ldns_rr_ttl(rr_at(an, 0)), 30);
    assert_memory_equal(ldns_rdf_data(ldns_rr_rdf(rr_at(an, 1), 0)), dyn_v4[1], 4);
    /* no ECS in the query: none in the answer */
    assert_false(ldns_pkt_edns(a.pkt));
    done(&a);
    ask(&a, "dyn.example.test", DNS_T_AAAA, NULL, true);
    assert_int_equal(dyn.asked, DNS_T_AAAA);
    assert_true(dyn.saw_tcp);
    an = ldns_pkt_answer(a.pkt);
    assert_int_equal(ldns_rr_get_type(rr_at(an, 0)), LDNS_RR_TYPE_AAAA);
    assert_memory_equal(ldns_rdf_data(ldns_rr_rdf(rr_at(an, 0), 0)), dyn_v6, 16);
    done(&a);
    /* the most addresses the callback may return */
    dyn.naddr = DNS_DYN_MAX_ADDRS;
    ask(&a, "dyn.example.test", DNS_T_A, NULL, false);
    assert_int_equal(ldns_pkt_ancount(a.pkt), DNS_DYN_MAX_ADDRS);
    done(&a);
    /* zero addresses and NODATA: SOA in authority */
    dyn.naddr = 0;
    ask(&a, "dyn.example.test", DNS_T_A, NULL, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(a.pkt), 0);
    assert_int_equal(ldns_pkt_nscount(a.pkt), 1);
    done(&a);
    dyn_reset();
    dyn.kind = DNS_DYN_NODATA;
    ask(&a, "dyn.example.test", DNS_T_A, NULL, false);
    assert_int_equal(ldns_pkt_ancount(a.pkt), 0);
    assert_int_equal(ldns_rr_get_type(rr_at(ldns_pkt_authority(a.pkt), 0)), LDNS_RR_TYPE_SOA);
    done(&a);
    /* CNAME: answers every type, target compressed against the question */
    dyn.kind = DNS_DYN_CNAME;
    ask(&a, "dyn.example.test", DNS_T_A, NULL, false);
    an = ldns_pkt_answer(a.pkt);
    assert_int_equal(ldns_rr_list_rr_count(an), 1);
    assert_int_equal(ldns_rr_get_type(rr_at(an, 0)), LDNS_RR_TYPE_CNAME);
    char *t = ldns_rdf2str(ldns_rr_rdf(rr_at(an, 0), 0));
    assert_string_equal(t, "www.example.test.");
    free(t);
    /* 12 + 22 question + 2 owner ptr + 10 + "www" 4 + ptr 2 */
    assert_int_equal(a.len, 12 + 22 + 18);
    done(&a);
    /* other types at a dynamic name come from the zone */
    dyn_reset();
    ask(&a, "dyn.example.test", DNS_T_TXT, NULL, false);
    assert_int_equal(ldns_pkt_ancount(a.pkt), 1);
    assert_int_equal(ldns_rr_get_type(rr_at(ldns_pkt_answer(a.pkt), 0)), LDNS_RR_TYPE_TXT);
    done(&a);
    ask(&a, "dyn.example.test", DNS_T_MX, NULL, false);
    assert_int_equal(ldns_pkt_ancount(a.pkt), 0);
    assert_int_equal(ldns_pkt_nscount(a.pkt), 1);
    done(&a);
}

static void test_dynamic_servfail(void **st)
{
    struct answer a;
    dyn_reset();
    dyn.fail = 1;
    static const uint8_t net[] = { 198, 51, 100 };
    struct qopt o = { .edns = true, .udp = 1232, .ecs_family = 1, .ecs_source = 24, .ecs_addr = net };
    ask(&a, "dyn.example.test", DNS_T_A, &o, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_SERVFAIL);
    assert_int_equal(ldns_pkt_ancount(a.pkt), 0);
    assert_int_equal(a.res.rcode, DNS_R_SERVFAIL);
    /* the ECS echo is still well-formed */
    size_t len;
    assert_non_null(ecs_of(&a, &len));
    done(&a);
    /* no callback at all: SERVFAIL too */
    view.dynamic = NULL;
    ask(&a, "dyn.example.test", DNS_T_A, NULL, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_SERVFAIL);
    done(&a);
    view.dynamic = dynamic_cb;
    dyn_reset();
}

/* ---- malformed input */

static void test_errors_and_drops(void **st)
{
    struct answer a;
    uint8_t q[512];
    size_t n = make_query(q, "www.example.test", DNS_T_A, NULL);
    /* QR=1: nothing sent */
    q[2] |= 0x80;
    ask_raw(&a, q, n, false);
    assert_int_equal(a.len, 0);
    assert_true(a.res.dropped);
    done(&a);
    q[2] &= 0x7f;
    ask_raw(&a, q, 5, false);
    assert_int_equal(a.len, 0);
    done(&a);
    /* opcode NOTIFY: NOTIMP with the question echoed */
    dns_put16(q + 2, 4u << 11);
    ask_raw(&a, q, n, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_NOTIMPL);
    assert_int_equal(ldns_pkt_get_opcode(a.pkt), LDNS_PACKET_NOTIFY);
    assert_int_equal(ldns_pkt_qdcount(a.pkt), 1);
    done(&a);
    /* truncated question: FORMERR, no question */
    dns_put16(q + 2, 0);
    ask_raw(&a, q, n - 2, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_FORMERR);
    assert_int_equal(ldns_pkt_qdcount(a.pkt), 0);
    assert_int_equal(a.len, DNS_HDR_LEN);
    done(&a);
    /* malformed ECS: FORMERR with an OPT */
    static const uint8_t bad[] = { 198, 51, 101 };
    struct qopt o = { .edns = true, .udp = 1232, .ecs_family = 1, .ecs_source = 23, .ecs_addr = bad };
    ask(&a, "www.example.test", DNS_T_A, &o, false);
    assert_int_equal(ldns_pkt_get_rcode(a.pkt), LDNS_RCODE_FORMERR);
    assert_true(ldns_pkt_edns(a.pkt));
    assert_int_equal(ldns_pkt_ancount(a.pkt), 0);
    done(&a);
}

/* ---- no allocation on the answer path */

#if defined(__SANITIZE_ADDRESS__)
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));
static volatile unsigned long n_mallocs;
static void count_malloc(const volatile void *p, size_t size) { n_mallocs++; }
static void count_free(const volatile void *p) { }
#endif

static void test_no_allocation(void **st)
{
    static const char *const names[] = { "www.example.test", "alias.example.test", "nope.example.test",
                                          "host.sub.example.test", "a.wild.example.test", "example.test",
                                          "dyn.example.test", "big.example.test", "www.example.org" };
    static const uint16_t types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_MX, DNS_T_TXT, DNS_T_ANY, DNS_T_NS };
    static const uint8_t net[] = { 198, 51, 100 };
    uint8_t qs[54][512];
    size_t qn[54];
    for (size_t i = 0; i < 54; i++) {
        struct qopt o = { .edns = i % 2, .udp = 1232, .ecs_family = i % 3 == 0 ? 1 : 0, .ecs_source = 24,
                          .ecs_addr = net, .id = (uint16_t)(i + 1) };
        qn[i] = make_query(qs[i], names[i % 9], types[i % 6], &o);
    }
    static uint8_t out[65535 + DNS_RESPONSE_SLACK];
    struct dns_client c = { .tcp = false };
    net_addr_parse("192.0.2.200", &c.addr);
    struct dns_query q;
    struct dns_result res;
    dyn_reset();
    view.db = db;
    size_t total = 0;
    /* warm up (first-use allocations of libc are not ours) */
    for (size_t i = 0; i < 54; i++)
        total += dns_respond(&view, qs[i], qn[i], &c, &q, out, sizeof out, &res);
#if defined(__SANITIZE_ADDRESS__)
    n_mallocs = 0;
    assert_int_equal(__sanitizer_install_malloc_and_free_hooks(count_malloc, count_free), 1);
#endif
    struct mallinfo2 before = mallinfo2();
    for (unsigned k = 0; k < 10000; k++) {
        c.tcp = k & 1;
        total += dns_respond(&view, qs[k % 54], qn[k % 54], &c, &q, out, sizeof out, &res);
    }
    struct mallinfo2 after = mallinfo2();
#if defined(__SANITIZE_ADDRESS__)
    unsigned long seen = n_mallocs;
    __sanitizer_install_malloc_and_free_hooks(NULL, NULL);
    if (seen)
        fail_msg("dns_respond allocated %lu times in 10000 calls", seen);
#endif
    assert_true(after.uordblks <= before.uordblks);
    assert_true(total > 10000 * DNS_HDR_LEN);
}

static void test_referral_glue_once(void **st)
{
    struct answer a;
    ask(&a, "host.sub.example.test", DNS_T_A, NULL, false);
    assert_false(ldns_pkt_aa(a.pkt));
    /* one glue record, once (RFC 2181 5: no duplicate RRs in a section) */
    assert_int_equal(ldns_pkt_arcount(a.pkt), 1);
    done(&a);
    /* CNAME into the referral: the same */
    ask(&a, "tosub.example.test", DNS_T_A, NULL, false);
    assert_int_equal(ldns_pkt_arcount(a.pkt), 1);
    done(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_answer),
        cmocka_unit_test(test_cname_chain_compression),
        cmocka_unit_test(test_mx_additional_compression),
        cmocka_unit_test(test_ns_apex_additional),
        cmocka_unit_test(test_negative),
        cmocka_unit_test(test_cname_leaving_and_looping),
        cmocka_unit_test(test_wildcard),
        cmocka_unit_test(test_referral),
        cmocka_unit_test(test_cname_into_referral),
        cmocka_unit_test(test_any),
        cmocka_unit_test(test_truncation_512),
        cmocka_unit_test(test_truncation_edns),
        cmocka_unit_test(test_truncation_additional),
        cmocka_unit_test(test_opt_echo),
        cmocka_unit_test(test_ecs_static),
        cmocka_unit_test(test_ecs_dynamic_scope),
        cmocka_unit_test(test_dynamic_kinds),
        cmocka_unit_test(test_dynamic_servfail),
        cmocka_unit_test(test_errors_and_drops),
        cmocka_unit_test(test_no_allocation),
        cmocka_unit_test(test_referral_glue_once),
    };
    return cmocka_run_group_tests_name("dns_respond", tests, setup, teardown);
}
