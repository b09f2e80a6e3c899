/* Unit tests: dns/wire.h. dns_parse_query on valid and malformed packets
 * (header, opcodes, counts, question, compression pointers in every
 * section, EDNS0 OPT, ECS per RFC 7871), dns_read_name bounds, and the
 * dns_name_* helpers. Packets are built byte by byte here, independently
 * of the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dns/wire.h"

/* ---- packet builder */

struct pb {
    uint8_t b[4096];
    size_t n;
};

static void pb_u8(struct pb *p, unsigned v) { p->b[p->n++] = (uint8_t)v; }
static void pb_u16(struct pb *p, unsigned v) { pb_u8(p, v >> 8); pb_u8(p, v & 0xff); }
static void pb_u32(struct pb *p, uint32_t v) { pb_u16(p, v >> 16); pb_u16(p, v & 0xffff); }
static void pb_bytes(struct pb *p, const void *d, size_t n) { if (n) memcpy(p->b + p->n, d, n); p->n += n; }

/* "www.example.test" -> labels; no escapes, "" is the root */
static void pb_name(struct pb *p, const char *s)
{
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        pb_u8(p, (unsigned)l);
        pb_bytes(p, s, l);
        s += l + (dot ? 1 : 0);
    }
    pb_u8(p, 0);
}

static void pb_hdr(struct pb *p, unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
    p->n = 0;
    pb_u16(p, id); pb_u16(p, flags); pb_u16(p, qd); pb_u16(p, an); pb_u16(p, ns); pb_u16(p, ar);
}

static void pb_query(struct pb *p, const char *name, unsigned qtype, unsigned ar)
{
    pb_hdr(p, 0xbeef, DNS_F_RD, 1, 0, 0, ar);
    pb_name(p, name);
    pb_u16(p, qtype);
    pb_u16(p, DNS_CLASS_IN);
}

/* OPT RR with raw option bytes */
static void pb_opt(struct pb *p, unsigned size, unsigned version, bool dobit, const uint8_t *opts, size_t olen)
{
    pb_u8(p, 0);
    pb_u16(p, DNS_T_OPT);
    pb_u16(p, size);
    pb_u32(p, (uint32_t)version << 16 | (dobit ? DNS_EDNS_DO : 0));
    pb_u16(p, (unsigned)olen);
    pb_bytes(p, opts, olen);
}

/* ECS option: family, source, scope, then `alen` address bytes */
static size_t ecs_opt(uint8_t *o, unsigned family, unsigned source, unsigned scope, const uint8_t *addr, size_t alen)
{
    o[0] = 0; o[1] = DNS_OPT_ECS;
    o[2] = 0; o[3] = (uint8_t)(4 + alen);
    o[4] = (uint8_t)(family >> 8); o[5] = (uint8_t)family;
    o[6] = (uint8_t)source; o[7] = (uint8_t)scope;
    if (alen)
        memcpy(o + 8, addr, alen);
    return 8 + alen;
}

static enum dns_parse_result parse(const struct pb *p, struct dns_query *q)
{
    memset(q, 0xa5, sizeof *q);     /* garbage: the parser must set what it reports */
    return dns_parse_query(p->b, p->n, q);
}

/* Parses a copy in a heap buffer of exactly n bytes, so ASan catches any
 * read past the end. */
static enum dns_parse_result parse_exact(const uint8_t *b, size_t n, struct dns_query *q)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, b, n);
    enum dns_parse_result r = dns_parse_query(copy, n, q);
    free(copy);
    return r;
}

/* ---- header, opcode, counts */

static void test_valid_query(void **st)
{
    struct pb p;
    struct dns_query q;
    pb_query(&p, "WwW.Example.TEST", DNS_T_AAAA, 0);
    assert_int_equal(parse(&p, &q), DNS_PARSE_OK);
    assert_int_equal(q.id, 0xbeef);
    assert_int_equal(q.flags, DNS_F_RD);
    assert_int_equal(q.opcode, 0);
    assert_true(q.question_ok);
    assert_int_equal(q.qtype, DNS_T_AAAA);
    assert_int_equal(q.qclass, DNS_CLASS_IN);
    assert_int_equal(q.qname_len, 18);
    assert_memory_equal(q.qname, "\3www\7example\4test", 18);
    assert_int_equal(q.nlabels, 3);
    assert_int_equal(q.label_off[0], 0);
    assert_int_equal(q.label_off[1], 4);
    assert_int_equal(q.label_off[2], 12);
    /* the raw question keeps the client's case for the echo */
    assert_ptr_equal(q.question, p.b + DNS_HDR_LEN);
    assert_int_equal(q.question_len, 22);
    assert_memory_equal(q.question, "\3WwW\7Example\4TEST", 18);
    assert_false(q.edns);
    assert_false(q.ecs);
}

static void test_root_query(void **st)
{
    struct pb p;
    struct dns_query q;
    pb_query(&p, "", DNS_T_NS, 0);
    assert_int_equal(parse(&p, &q), DNS_PARSE_OK);
    assert_int_equal(q.qname_len, 1);
    assert_int_equal(q.nlabels, 0);
}

static void test_short_header(void **st)
{
    struct pb p;
    struct dns_query q;
    pb_query(&p, "www.example.test", DNS_T_A, 0);
    for (size_t n = 0; n < DNS_HDR_LEN; n++)
        assert_int_equal(parse_exact(p.b, n, &q), DNS_PARSE_DROP);
}

static void test_qr_dropped(void **st)
{
    struct pb p;
    struct dns_query q;
    pb_query(&p, "www.example.test", DNS_T_A, 0);
    p.b[2] |= 0x80;
    assert_int_equal(parse(&p, &q), DNS_PARSE_DROP);
    /* even with a bogus opcode and question count */
    pb_hdr(&p, 1, DNS_F_QR | 5u << 11, 0, 0, 0, 0);
    assert_int_equal(parse(&p, &q), DNS_PARSE_DROP);
}

static void test_opcodes(void **st)
{
    struct pb p;
    struct dns_query q;
    for (unsigned op = 1; op < 16; op++) {
        pb_query(&p, "www.example.test", DNS_T_A, 0);
        dns_put16(p.b + 2, (uint16_t)(op << 11));
        assert_int_equal(parse(&p, &q), DNS_PARSE_NOTIMP);
        assert_int_equal(q.opcode, op);
        assert_true(q.question_ok);     /* the question can be echoed */
        /* NOTIMP wins over a malformed or absent question */
        pb_hdr(&p, 7, op << 11, 0, 0, 0, 0);
        assert_int_equal(parse(&p, &q), DNS_PARSE_NOTIMP);
        assert_false(q.question_ok);
        pb_hdr(&p, 7, op << 11, 1, 0, 0, 0);
        pb_u8(&p, 0xc0);
        pb_u8(&p, 0x0c);
        assert_int_equal(parse(&p, &q), DNS_PARSE_NOTIMP);
        assert_false(q.question_ok);
    }
}

static void test_qdcount(void **st)
{
    struct pb p;
    struct dns_query q;
    for (unsigned qd = 0; qd < 4; qd++) {
        if (qd == 1)
            continue;
        pb_hdr(&p, 9, 0, qd, 0, 0, 0);
        for (unsigned i = 0; i < qd; i++) {
            pb_name(&p, "a.test");
            pb_u16(&p, DNS_T_A);
            pb_u16(&p, DNS_CLASS_IN);
        }
        assert_int_equal(parse(&p, &q), DNS_PARSE_FORMERR);
        assert_int_equal(q.id, 9);
        assert_false(q.question_ok);
    }
    pb_hdr(&p, 9, 0, 0xffff, 0, 0, 0);
    assert_int_equal(parse(&p, &q), DNS_PARSE_FORMERR);
}

/* ---- the question */

static void test_question_pointer(void **st)
{
    struct pb p;
    struct dns_query q;
    /* a pointer as the whole name, and after a first label */
    pb_hdr(&p, 1, 0, 1, 0, 0, 0);
    pb_u16(&p, 0xc000);
    pb_u16(&p, DNS_T_A);
    pb_u16(&p, DNS_CLASS_IN);
    assert_int_equal(parse(&p, &q), DNS_PARSE_FORMERR);
    pb_hdr(&p, 1, 0, 1, 0, 0, 0);
    pb_u8(&p, 1);
    pb_u8(&p, 'a');
    pb_u16(&p, 0xc00c);
    pb_u16(&p, DNS_T_A);
    pb_u16(&p, DNS_CLASS_IN);
    assert_int_equal(parse(&p, &q), DNS_PARSE_FORMERR);
    assert_false(q.question_ok);
}

static void test_truncated_question(void **st)
{
    struct pb p;
    struct dns_query q;
    pb_query(&p, "www.example.test", DNS_T_A, 0);
    for (size_t n = DNS_HDR_LEN; n < p.n; n++) {
        assert_int_equal(parse_exact(p.b, n, &q), DNS_PARSE_FORMERR);
        assert_false(q.question_ok);
    }
    assert_int_equal(parse_exact(p.b, p.n, &q), DNS_PARSE_OK);
}

static void test_label_types(void **st)
{
    struct pb p;
    struct dns_query q;
    /* 64..191: a label > 63 octets or an extended label type */
    static const unsigned bad[] = { 64, 0x40 | 5, 0x80, 0x80 | 63, 0xbf };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pb_hdr(&p, 1, 0, 1, 0, 0, 0);
        pb_u8(&p, bad[i]);
        for (unsigned k = 0; k < 200; k++)
            pb_u8(&p, 'a');
        pb_u8(&p, 0);
        pb_u16(&p, DNS_T_A);
        pb_u16(&p, DNS_CLASS_IN);
        assert_int_equal(parse(&p, &q), DNS_PARSE_FORMERR);
    }
    /* 63 is fine */
    char name[80];
    memset(name, 'x', 63);
    strcpy(name + 63, ".test");
    pb_query(&p, name, DNS_T_A, 0);
    assert_int_equal(parse(&p, &q), DNS_PARSE_OK);
    assert_int_equal(q.qname_len, 64 + 6);
}

/* A presentation name whose wire form is exactly `wire_len` bytes. */
static void long_name(char *s, size_t wire_len)
{
    size_t left = wire_len - 1, o = 0;   /* minus the root */
    while (left) {
        size_t l = left - 1 > 63 ? 63 : left - 1;
        if (left - (l + 1) == 1)        /* avoid a remainder of 1 (an empty label) */
            l--;
        if (o)
            s[o++] = '.';
        memset(s + o, 'a' + (char)(o % 26), l);
        o += l;
        left -= l + 1;
    }
    s[o] = '\0';
}

static void test_name_length_limit(void **st)
{
    struct pb p;
    struct dns_query q;
    char s[600];
    long_name(s, 255);
    pb_query(&p, s, DNS_T_A, 0);
    assert_int_equal(p.n, DNS_HDR_LEN + 255 + 4);
    assert_int_equal(parse(&p, &q), DNS_PARSE_OK);
    assert_int_equal(q.qname_len, 255);
    long_name(s, 256);
    pb_query(&p, s, DNS_T_A, 0);
    assert_int_equal(p.n, DNS_HDR_LEN + 256 + 4);
    assert_int_equal(parse(&p, &q), DNS_PARSE_FORMERR);
    /* 127 one-octet labels + root = 255: the most labels a name can have */
    p.n = 0;
    pb_hdr(&p, 1, 0, 1, 0, 0, 0);
    for (int i = 0; i < 127; i++) {
        pb_u8(&p, 1);
        pb_u8(&p, 'z');
    }
    pb_u8(&p, 0);
    pb_u16(&p, DNS_T_A);
    pb_u16(&p, DNS_CLASS_IN);
    assert_int_equal(parse(&p, &q), DNS_PARSE_OK);
    assert_int_equal(q.nlabels, 127);
    assert_int_equal(q.label_off[126], 252);
}

/* ---- other sections: pointers, loops, overruns */

static void add_rr_hdr(struct pb *p, unsigned type, unsigned rdlen)
{
    pb_u16(p, type);
    pb_u16(p, DNS_CLASS_IN);
    pb_u32(p, 60);
    pb_u16(p, rdlen);
}

static void test_answer_section_pointers(void **st)
{
    struct pb p;
    struct dns_query q;
    /* a backward pointer to the qname: fine */
    pb_hdr(&p, 1, 0, 1, 1, 0, 0);
    pb_name(&p, "www.example.test");
    pb_u16(&p, DNS_T_A);
    pb_u16(&p, DNS_CLASS_IN);
    pb_u16(&p, 0xc00c);
    add_rr_hdr(&p, DNS_T_A, 4);
    pb_u32(&p, 0x01020304);
    assert_int_equal(parse(&p, &q), DNS_PARSE_OK);

    /* a pointer to itself (the shortest loop) */
    size_t at = p.n - 16;
    dns_put16(p.b + at, (uint16_t)(0xc000 | at));
    assert_int_equal(parse(&p, &q), DNS_PARSE_FORMERR);
    /* a forward pointer */
    dns_put16(p.b + at, (uint16_t)(0xc000 | (at + 4)));
    assert_int_equal(parse(&p, &q), DNS_PARSE_FORMERR);
    /* beyond the packet */
    dns_put16(p.b + at, 0xc000 | 0x3fff);
    assert_int_equal(parse(&p, &q), DNS_PARSE_FORMERR);

    /* two names pointing at each other, in the authority section */
    pb_hdr(&p, 1, 0, 1, 0, 2, 0);
    pb_name(&p, "a.test");
    pb_u16(&p, DNS_T_A);
    pb_u16(&p, DNS_CLASS_IN);
    size_t first = p.n;
    pb_u16(&p, 0);              /* patched below */
    add_rr_hdr(&p, DNS_T_A, 0);
    size_t second = p.n;
    pb_u16(&p, (unsigned)(0xc000 | first));
    add_rr_hdr(&p, DNS_T_A, 0);
    dns_put16(p.b + first, (uint16_t)(0xc000 | second));
    assert_int_equal(parse(&p, &q), DNS_PARSE_FORMERR);
    /* the question is still valid for the FORMERR echo */
    assert_true(q.question_ok);
}

static void test_section_overruns(void **st)
{
    struct pb p;
    struct dns_query q;
    /* counts promising records that are not there */
    static const unsigned counts[][3] = { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 }, { 0xffff, 0xffff, 0xffff } };
    for (size_t i = 0; i < 4; i++) {
        pb_hdr(&p, 1, 0, 1, counts[i][0], counts[i][1], counts[i][2]);
        pb_name(&p, "a.test");
        pb_u16(&p, DNS_T_A);
        pb_u16(&p, DNS_CLASS_IN);
        assert_int_equal(parse(&p, &q), DNS_PARSE_FORMERR);
    }
    /* rdlength past the end, and every truncation of a record */
    pb_hdr(&p, 1, 0, 1, 1, 0, 0);
    pb_name(&p, "a.test");
    pb_u16(&p, DNS_T_A);
    pb_u16(&p, DNS_CLASS_IN);
    size_t qend = p.n;
    pb_name(&p, "a.test");
    add_rr_hdr(&p, DNS_T_A, 4);
    pb_u32(&p, 0x01020304);
    assert_int_equal(parse_exact(p.b, p.n, &q), DNS_PARSE_OK);
    for (size_t n = qend; n < p.n; n++)
        assert_int_equal(parse_exact(p.b, n, &q), DNS_PARSE_FORMERR);
    dns_put16(p.b + p.n - 6, 5);
    assert_int_equal(parse_exact(p.b, p.n, &q), DNS_PARSE_FORMERR);
    /* trailing garbage after the last record is ignored */
    dns_put16(p.b + p.n - 6, 4);
    pb_u32(&p, 0xdeadbeef);
    assert_int_equal(parse(&p, &q), DNS_PARSE_OK);
}

/* ---- EDNS0 */

static void test_opt_basic(void **st)
{
    struct pb p;
    struct dns_query q;
    pb_query(&p, "www.example.test", DNS_T_A, 1);
    pb_opt(&p, 4096, 0, true, NULL, 0);
    assert_int_equal(parse(&p, &q), DNS_PARSE_OK);
    assert_true(q.edns);
    assert_true(q.edns_do);
    assert_int_equal(q.edns_version, 0);
    assert_int_equal(q.udp_size, 4096);
    assert_false(q.ecs);
    /* sizes below 512 count as 512 (RFC 6891 6.2.5) */
    pb_query(&p, "www.example.test", DNS_T_A, 1);
    pb_opt(&p, 0, 0, false, NULL, 0);
    assert_int_equal(parse(&p, &q), DNS_PARSE_OK);
    assert_int_equal(q.udp_size, DNS_MIN_UDP);
    assert_false(q.edns_do);
    /* an unknown option (cookie) is ignored */
    static const uint8_t cookie[] = { 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
    pb_query(&p, "www.example.test", DNS_T_A, 1);
    pb_opt(&p, 1232, 0, false, cookie, sizeof cookie);
    assert_int_equal(parse(&p, &q), DNS_PARSE_OK);
    assert_true(q.edns);
    assert_false(q.ecs);
    /* OPT after another additional record */
    pb_query(&p, "www.example.test", DNS_T_A, 2);
    pb_name(&p, "x.test");
    add_rr_hdr(&p, DNS_T_A, 4);
    pb_u32(&p, 0);
    pb_opt(&p, 1400, 0, false, NULL, 0);
    assert_int_equal(parse(&p, &q), DNS_PARSE_OK);
    assert_int_equal(q.udp_size, 1400);
}

static void test_opt_malformed(void **st)
{
    struct pb p;
    struct dns_query q;
    /* twice */
    pb_query(&p, "www.example.test", DNS_T_A, 2);
    pb_opt(&p, 1232, 0, false, NULL, 0);
    pb_opt(&p, 1232, 0, false, NULL, 0);
    assert_int_equal(parse(&p, &q), DNS_PARSE_FORMERR);
    assert_true(q.question_ok);
    /* not owned by the root */
    pb_query(&p, "www.example.test", DNS_T_A, 1);
    pb_name(&p, "x");
    pb_u16(&p, DNS_T_OPT);
    pb_u16(&p, 1232);
    pb_u32(&p, 0);
    pb_u16(&p, 0);
    assert_int_equal(parse(&p, &q), DNS_PARSE_FORMERR);
    /* an option longer than the rdata */
    static const uint8_t over[] = { 0, 10, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8 };
    pb_query(&p, "www.example.test", DNS_T_A, 1);
    pb_opt(&p, 1232, 0, false, over, sizeof over);
    assert_int_equal(parse(&p, &q), DNS_PARSE_FORMERR);
    /* rdata too short for an option header */
    static const uint8_t stub[] = { 0, 10, 0 };
    pb_query(&p, "www.example.test", DNS_T_A, 1);
    pb_opt(&p, 1232, 0, false, stub, sizeof stub);
    assert_int_equal(parse(&p, &q), DNS_PARSE_FORMERR);
    /* OPT rdlength past the packet */
    pb_query(&p, "www.example.test", DNS_T_A, 1);
    pb_opt(&p, 1232, 0, false, NULL, 0);
    dns_put16(p.b + p.n - 2, 4);
    assert_int_equal(parse(&p, &q), DNS_PARSE_FORMERR);
    /* every truncation of a query with OPT+ECS */
    uint8_t o[64];
    static const uint8_t net[] = { 192, 0, 2 };
    size_t olen = ecs_opt(o, 1, 24, 0, net, 3);
    pb_query(&p, "www.example.test", DNS_T_A, 1);
    size_t qend = p.n;
    pb_opt(&p, 1232, 0, false, o, olen);
    for (size_t n = qend; n < p.n; n++)
        assert_int_equal(parse_exact(p.b, n, &q), DNS_PARSE_FORMERR);
    assert_int_equal(parse_exact(p.b, p.n, &q), DNS_PARSE_OK);
}

static void test_opt_version(void **st)
{
    struct pb p;
    struct dns_query q;
    for (unsigned v = 1; v < 256; v += 127) {
        pb_query(&p, "www.example.test", DNS_T_A, 1);
        pb_opt(&p, 1232, v, true, NULL, 0);
        assert_int_equal(parse(&p, &q), DNS_PARSE_BADVERS);
        assert_true(q.edns);
        assert_int_equal(q.edns_version, v);
        assert_true(q.edns_do);
        assert_true(q.question_ok);
    }
}

static void test_opt_in_answer_ignored(void **st)
{
    struct pb p;
    struct dns_query q;
    /* an OPT outside the additional section is just a record to skip */
    pb_hdr(&p, 1, 0, 1, 1, 0, 0);
    pb_name(&p, "a.test");
    pb_u16(&p, DNS_T_A);
    pb_u16(&p, DNS_CLASS_IN);
    pb_opt(&p, 4096, 0, true, NULL, 0);
    assert_int_equal(parse(&p, &q), DNS_PARSE_OK);
    assert_false(q.edns);
}

/* ---- ECS (RFC 7871 6) */

static enum dns_parse_result parse_ecs(unsigned family, unsigned source, unsigned scope, const uint8_t *addr,
                                       size_t alen, struct dns_query *q)
{
    struct pb p;
    uint8_t o[64];
    size_t olen = ecs_opt(o, family, source, scope, addr, alen);
    pb_query(&p, "www.example.test", DNS_T_A, 1);
    pb_opt(&p, 1232, 0, false, o, olen);
    memset(q, 0xa5, sizeof *q);
    return parse_exact(p.b, p.n, q);
}

static void test_ecs_valid(void **st)
{
    struct dns_query q;
    static const uint8_t v4[] = { 198, 51, 100 };
    assert_int_equal(parse_ecs(1, 24, 0, v4, 3, &q), DNS_PARSE_OK);
    assert_true(q.ecs);
    assert_int_equal(q.ecs_family, 1);
    assert_int_equal(q.ecs_source, 24);
    assert_int_equal(q.ecs_scope, 0);
    assert_int_equal(q.ecs_addr.family, 4);
    static const uint8_t want4[16] = { 198, 51, 100, 0 };
    assert_memory_equal(q.ecs_addr.bytes, want4, 16);

    static const uint8_t v6[] = { 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56 };
    assert_int_equal(parse_ecs(2, 56, 0, v6, 7, &q), DNS_PARSE_OK);
    assert_int_equal(q.ecs_addr.family, 6);
    uint8_t want6[16] = { 0 };
    memcpy(want6, v6, 7);
    assert_memory_equal(q.ecs_addr.bytes, want6, 16);

    /* /0: no address octets (a client hiding its subnet) */
    assert_int_equal(parse_ecs(1, 0, 0, NULL, 0, &q), DNS_PARSE_OK);
    assert_true(q.ecs);
    assert_int_equal(q.ecs_source, 0);
    assert_int_equal(parse_ecs(2, 0, 0, NULL, 0, &q), DNS_PARSE_OK);
    /* full-length prefixes and an odd length with clean trailing bits */
    static const uint8_t h4[] = { 192, 0, 2, 1 };
    assert_int_equal(parse_ecs(1, 32, 0, h4, 4, &q), DNS_PARSE_OK);
    static const uint8_t h6[16] = { 0x20, 1, 0xd, 0xb8, [15] = 1 };
    assert_int_equal(parse_ecs(2, 128, 0, h6, 16, &q), DNS_PARSE_OK);
    static const uint8_t odd[] = { 10, 0xfe };
    assert_int_equal(parse_ecs(1, 15, 0, odd, 2, &q), DNS_PARSE_OK);
    assert_int_equal(q.ecs_source, 15);
    /* a non-zero scope in a query is kept as received */
    assert_int_equal(parse_ecs(1, 24, 16, v4, 3, &q), DNS_PARSE_OK);
    assert_int_equal(q.ecs_scope, 16);
}

static void test_ecs_malformed(void **st)
{
    struct dns_query q;
    static const uint8_t a[17] = { 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    /* unknown families */
    assert_int_equal(parse_ecs(0, 8, 0, a, 1, &q), DNS_PARSE_FORMERR);
    assert_int_equal(parse_ecs(3, 8, 0, a, 1, &q), DNS_PARSE_FORMERR);
    /* source beyond the address size */
    static const uint8_t z[17] = { 0 };
    assert_int_equal(parse_ecs(1, 33, 0, z, 5, &q), DNS_PARSE_FORMERR);
    assert_int_equal(parse_ecs(2, 129, 0, z, 17, &q), DNS_PARSE_FORMERR);
    /* address length must be exactly ceil(source / 8) */
    assert_int_equal(parse_ecs(1, 24, 0, z, 4, &q), DNS_PARSE_FORMERR);
    assert_int_equal(parse_ecs(1, 24, 0, z, 2, &q), DNS_PARSE_FORMERR);
    assert_int_equal(parse_ecs(1, 0, 0, z, 1, &q), DNS_PARSE_FORMERR);
    assert_int_equal(parse_ecs(2, 56, 0, z, 8, &q), DNS_PARSE_FORMERR);
    /* bits set beyond the source prefix */
    static const uint8_t b23[] = { 10, 0, 1 };
    assert_int_equal(parse_ecs(1, 23, 0, b23, 3, &q), DNS_PARSE_FORMERR);
    static const uint8_t b1[] = { 0x40 };
    assert_int_equal(parse_ecs(1, 1, 0, b1, 1, &q), DNS_PARSE_FORMERR);
    static const uint8_t b15[] = { 10, 0xff };
    assert_int_equal(parse_ecs(1, 15, 0, b15, 2, &q), DNS_PARSE_FORMERR);
    /* option shorter than family+source+scope */
    struct pb p;
    static const uint8_t shortopt[] = { 0, 8, 0, 3, 0, 1, 24 };
    pb_query(&p, "www.example.test", DNS_T_A, 1);
    pb_opt(&p, 1232, 0, false, shortopt, sizeof shortopt);
    assert_int_equal(parse(&p, &q), DNS_PARSE_FORMERR);
    /* two ECS options (RFC 7871 7.2.1: at most one) */
    uint8_t o[64];
    static const uint8_t v4[] = { 198, 51, 100 };
    size_t l1 = ecs_opt(o, 1, 24, 0, v4, 3);
    size_t l2 = ecs_opt(o + l1, 1, 24, 0, v4, 3);
    pb_query(&p, "www.example.test", DNS_T_A, 1);
    pb_opt(&p, 1232, 0, false, o, l1 + l2);
    assert_int_equal(parse(&p, &q), DNS_PARSE_FORMERR);
}

/* ---- dns_read_name */

static void test_read_name_bounds(void **st)
{
    uint8_t out[DNS_MAX_NAME];
    /* a name with a pointer: pos ends after the pointer, not at the target */
    static const uint8_t pkt[] = { 3, 'F', 'o', 'o', 0, 1, 'B', 0xc0, 0x00, 0xee };
    size_t pos = 5;
    assert_int_equal(dns_read_name(pkt, sizeof pkt, &pos, true, out), 7);
    assert_memory_equal(out, "\1b\3foo", 7);
    assert_int_equal(pos, 9);
    /* the same without compression allowed */
    pos = 5;
    assert_int_equal(dns_read_name(pkt, sizeof pkt, &pos, false, out), -1);
    /* an uncompressed one: pos after the root */
    pos = 0;
    assert_int_equal(dns_read_name(pkt, sizeof pkt, &pos, false, out), 5);
    assert_int_equal(pos, 5);
    /* the name runs past len, at every possible cut */
    for (size_t len = 0; len < 9; len++) {
        pos = len >= 5 ? 5 : 0;
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, pkt, len);
        assert_int_equal(dns_read_name(copy, len, &pos, true, out), -1);
        free(copy);
    }
    /* a pointer whose second octet is missing */
    static const uint8_t half[] = { 0, 0xc0 };
    pos = 1;
    assert_int_equal(dns_read_name(half, sizeof half, &pos, true, out), -1);
    /* pos at or past the end */
    pos = sizeof pkt;
    assert_int_equal(dns_read_name(pkt, sizeof pkt, &pos, true, out), -1);
}

static void test_read_name_hops(void **st)
{
    /* a chain of backward pointers, each to the previous one, ending at a
     * root label at offset 0: 127 hops are allowed, 128 are not */
    uint8_t pkt[1 + 2 * 130];
    uint8_t out[DNS_MAX_NAME];
    pkt[0] = 0;
    for (int i = 0; i < 130; i++) {
        unsigned target = i == 0 ? 0 : 1 + 2 * (unsigned)(i - 1);
        pkt[1 + 2 * i] = (uint8_t)(0xc0 | target >> 8);
        pkt[2 + 2 * i] = (uint8_t)target;
    }
    size_t pos = 1 + 2 * 126;   /* the 127th pointer: 127 hops */
    assert_int_equal(dns_read_name(pkt, sizeof pkt, &pos, true, out), 1);
    assert_int_equal(pos, 1 + 2 * 127);
    pos = 1 + 2 * 127;          /* 128 hops */
    assert_int_equal(dns_read_name(pkt, sizeof pkt, &pos, true, out), -1);
}

static void test_read_name_too_long_via_pointers(void **st)
{
    /* 4 x 63-octet labels reached through pointers: 256 octets with the root */
    uint8_t pkt[512];
    uint8_t out[DNS_MAX_NAME];
    size_t n = 0;
    pkt[n++] = 63;
    memset(pkt + n, 'a', 63);
    n += 63;
    pkt[n++] = 63;
    memset(pkt + n, 'b', 63);
    n += 63;
    pkt[n++] = 0;               /* "a{63}.b{63}." = 129 octets at offset 0 */
    size_t second = n;
    pkt[n++] = 62;
    memset(pkt + n, 'c', 62);
    n += 62;
    pkt[n++] = 0xc0;
    pkt[n++] = 0;               /* c{62} + ptr -> 63 + 129 = 192 */
    size_t third = n;
    pkt[n++] = 62;
    memset(pkt + n, 'd', 62);
    n += 62;
    pkt[n++] = (uint8_t)(0xc0 | second >> 8);
    pkt[n++] = (uint8_t)second; /* 63 + 192 = 255: fits */
    size_t pos = third;
    assert_int_equal(dns_read_name(pkt, n, &pos, true, out), 255);
    size_t fourth = n;
    pkt[n++] = 1;
    pkt[n++] = 'e';
    pkt[n++] = (uint8_t)(0xc0 | third >> 8);
    pkt[n++] = (uint8_t)third;  /* 257: too long */
    pos = fourth;
    assert_int_equal(dns_read_name(pkt, n, &pos, true, out), -1);
}

/* ---- name helpers */

static void test_name_len(void **st)
{
    assert_int_equal(dns_name_len((const uint8_t *)"\3www\4test", 10), 10);
    assert_int_equal(dns_name_len((const uint8_t *)"", 1), 1);
    /* no root within max */
    assert_int_equal(dns_name_len((const uint8_t *)"\3www\4test", 9), -1);
    /* a label type byte */
    assert_int_equal(dns_name_len((const uint8_t *)"\100abc", 5), -1);
    assert_int_equal(dns_name_len((const uint8_t *)"\300\014", 2), -1);
    uint8_t big[300];
    memset(big, 0, sizeof big);
    for (int i = 0; i < 4; i++) {
        big[i * 64] = 63;
        memset(big + i * 64 + 1, 'a', 63);
    }
    /* 4 x 64 + root = 257 */
    assert_int_equal(dns_name_len(big, sizeof big), -1);
    big[192] = 62;              /* 3 x 64 + 63 + root = 256 */
    big[255] = 0;
    assert_int_equal(dns_name_len(big, sizeof big), -1);
    big[192] = 61;              /* 3 x 64 + 62 + root = 255 */
    big[254] = 0;
    assert_int_equal(dns_name_len(big, sizeof big), 255);
}

static void test_name_labels_lower_is_sub(void **st)
{
    uint8_t n[] = "\3WwW\7ExAmPlE\4TEST";
    dns_name_lower(n);
    assert_memory_equal(n, "\3www\7example\4test", 18);
    assert_int_equal(dns_name_labels(n), 3);
    assert_int_equal(dns_name_labels((const uint8_t *)""), 0);
    /* lower-casing touches only A-Z: label lengths and other bytes stay */
    uint8_t odd[] = "\4A[@Z\1\x80";
    dns_name_lower(odd);
    assert_memory_equal(odd, "\4a[@z\1\x80", 8);

    const uint8_t *zone = (const uint8_t *)"\7example\4test";
    assert_true(dns_name_is_sub(n, 18, zone, 14));
    assert_true(dns_name_is_sub(zone, 14, zone, 14));
    assert_true(dns_name_is_sub(n, 18, (const uint8_t *)"", 1));        /* the root holds everything */
    assert_false(dns_name_is_sub(zone, 14, n, 18));
    assert_false(dns_name_is_sub((const uint8_t *)"\3www\10xexample\4test", 19, zone, 14));
    /* byte-equal tail that is not on a label boundary: "x\3ab." vs "ab." */
    assert_false(dns_name_is_sub((const uint8_t *)"\4x\3ab", 6, (const uint8_t *)"\3ab", 4));
    assert_true(dns_name_is_sub((const uint8_t *)"\1x\3ab", 6, (const uint8_t *)"\3ab", 4));
}

static void test_name_str_round_trip(void **st)
{
    static const char *const names[] = {
        "www.example.test.", "a.", ".", "xn--bcher-kva.example.", "_sip._udp.example.test.", "*.wild.test.",
        "a\\.b.test.", "back\\\\slash.test.", "sp\\032ace.test.", "nul\\000.test.", "hi\\255bit.test.",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        uint8_t w[DNS_MAX_NAME];
        char s[1024];
        int l = dns_name_from_str(names[i], w);
        assert_true(l > 0);
        assert_int_equal(dns_name_len(w, (size_t)l), l);
        assert_int_equal(dns_name_to_str(w, s, sizeof s), 0);
        assert_string_equal(s, names[i]);
    }
    /* no trailing dot: the same wire form */
    uint8_t a[DNS_MAX_NAME], b[DNS_MAX_NAME];
    assert_int_equal(dns_name_from_str("WWW.Example.Test", a), 18);
    assert_int_equal(dns_name_from_str("www.example.test.", b), 18);
    assert_memory_equal(a, b, 18);
    assert_memory_equal(a, "\3www\7example\4test", 18);
    /* escapes: \. is part of a label, \065 is a decimal octet (lower-cased) */
    assert_int_equal(dns_name_from_str("a\\.b.test", a), 10);
    assert_memory_equal(a, "\3a.b\4test", 10);
    assert_int_equal(dns_name_from_str("\\065x", a), 4);
    assert_memory_equal(a, "\2ax", 4);
    assert_int_equal(dns_name_from_str("\\256.test", a), -1);
}

static void test_name_str_limits(void **st)
{
    uint8_t w[DNS_MAX_NAME + 8];
    char s[600];
    /* empty labels */
    assert_int_equal(dns_name_from_str("a..b", w), -1);
    assert_int_equal(dns_name_from_str(".a", w), -1);
    assert_int_equal(dns_name_from_str("..", w), -1);
    /* 63 / 64 octet labels */
    memset(s, 'x', 64);
    s[63] = '\0';
    assert_int_equal(dns_name_from_str(s, w), 65);
    s[63] = 'x';
    s[64] = '\0';
    assert_int_equal(dns_name_from_str(s, w), -1);
    /* 255 / 256 octet names, with and without the trailing dot */
    for (int dot = 0; dot < 2; dot++) {
        long_name(s, 255);
        if (dot)
            strcat(s, ".");
        assert_int_equal(dns_name_from_str(s, w), 255);
        long_name(s, 256);
        if (dot)
            strcat(s, ".");
        assert_int_equal(dns_name_from_str(s, w), -1);
    }
    /* to_str: buffer exactly large enough, then one byte short */
    assert_int_equal(dns_name_from_str("ab.c", w), 6);
    assert_int_equal(dns_name_to_str(w, s, 6), 0);      /* "ab.c." + NUL */
    assert_string_equal(s, "ab.c.");
    assert_int_equal(dns_name_to_str(w, s, 5), -1);
    assert_int_equal(dns_name_to_str((const uint8_t *)"", s, 2), 0);
    assert_string_equal(s, ".");
    assert_int_equal(dns_name_to_str((const uint8_t *)"", s, 1), -1);
    /* escapes need room too */
    assert_int_equal(dns_name_to_str((const uint8_t *)"\1\001", s, 6), 0);
    assert_string_equal(s, "\\001.");
    assert_int_equal(dns_name_to_str((const uint8_t *)"\1\001", s, 5), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_query),
        cmocka_unit_test(test_root_query),
        cmocka_unit_test(test_short_header),
        cmocka_unit_test(test_qr_dropped),
        cmocka_unit_test(test_opcodes),
        cmocka_unit_test(test_qdcount),
        cmocka_unit_test(test_question_pointer),
        cmocka_unit_test(test_truncated_question),
        cmocka_unit_test(test_label_types),
        cmocka_unit_test(test_name_length_limit),
        cmocka_unit_test(test_answer_section_pointers),
        cmocka_unit_test(test_section_overruns),
        cmocka_unit_test(test_opt_basic),
        cmocka_unit_test(test_opt_malformed),
        cmocka_unit_test(test_opt_version),
        cmocka_unit_test(test_opt_in_answer_ignored),
        cmocka_unit_test(test_ecs_valid),
        cmocka_unit_test(test_ecs_malformed),
        cmocka_unit_test(test_read_name_bounds),
        cmocka_unit_test(test_read_name_hops),
        cmocka_unit_test(test_read_name_too_long_via_pointers),
        cmocka_unit_test(test_name_len),
        cmocka_unit_test(test_name_labels_lower_is_sub),
        cmocka_unit_test(test_name_str_round_trip),
        cmocka_unit_test(test_name_str_limits),
    };
    return cmocka_run_group_tests_name("dns_wire", tests, NULL, NULL);
}
