/* libFuzzer target: dns/wire.h query parser and dns/respond.h answer
 * builder. A small database (static records of every kind the resolver
 * walks: CNAME chains and loops, wildcards, a delegation with glue, a big
 * RRset that truncates, and a dynamic name) is built once from a zone file
 * written at start-up. Each input is one query; it is answered with the
 * UDP limit and again with the TCP limit, and every response is checked:
 * it fits the limit, echoes the id, has QR=1, and parses again as a
 * well-formed header with one question. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/respond.h"
#include "dns/wire.h"
#include "dns/zone.h"

#define UDP_MAX 1232    /* the payload steerd advertises by default */

static const char zone_text[] =
    "$ORIGIN fz.test.\n$TTL 300\n"
    "@ SOA ns1 host 1 3600 600 86400 60\n@ NS ns1\n@ NS ns2.fz.test.\n@ MX 10 mx\n"
    "ns1 A 192.0.2.1\nns2 AAAA 2001:db8::2\nmx A 192.0.2.3\nmx AAAA 2001:db8::3\n"
    "www A 192.0.2.10\nwww A 192.0.2.11\nwww AAAA 2001:db8::10\n"
    "c1 CNAME c2\nc2 CNAME www\nl1 CNAME l2\nl2 CNAME l1\ncx CNAME out.example.\n"
    "cd CNAME dyn\n*.w A 192.0.2.50\n*.w TXT \"w\"\n"
    "sub NS ns.sub\nsub NS ns.other.example.\nns.sub A 192.0.2.70\n"
    "_s._tcp SRV 0 0 80 www\n"
    "big TXT \"0123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big TXT \"1123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big TXT \"2123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big TXT \"3123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big TXT \"4123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big TXT \"5123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big TXT \"6123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big TXT \"7123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "u TYPE65280 \\# 2 abcd\n";

static struct dns_db *db;
static const uint8_t dyn_v4[4] = { 198, 51, 100, 1 };
static const uint8_t dyn_v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static uint8_t dyn_cname[] = "\3www\2fz\4test";

/* Answers from the query bytes themselves, so the fuzzer reaches every
 * dynamic kind and scope; scope may exceed the source (the responder clamps). */
static int fuzz_dynamic(void *ctx, const void *handle, const struct dns_client *c, uint16_t qtype,
                        struct dns_dyn_answer *out)
{
    unsigned sel = c->q->id;
    if ((sel & 7) == 7)
        return -1;
    out->ttl = 20;
    out->scope = (uint8_t)(sel >> 8);
    if ((sel & 7) == 5) {
        out->kind = DNS_DYN_CNAME;
        out->cname = dyn_cname;
        out->cname_len = sizeof dyn_cname;
    } else if ((sel & 7) == 6) {
        out->kind = DNS_DYN_NODATA;
    } else {
        out->kind = DNS_DYN_ADDRS;
        out->naddr = (sel & 7) + 1;
        for (unsigned i = 0; i < out->naddr; i++)
            out->addr[i] = qtype == DNS_T_AAAA ? dyn_v6 : dyn_v4;
    }
    return 0;
}

static void build_db(void)
{
    char path[] = "/tmp/fuzz_dns_zoneXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, zone_text, sizeof zone_text - 1) != (ssize_t)(sizeof zone_text - 1))
        abort();
    close(fd);
    static const uint8_t dyn_name[] = "\3dyn\2fz\4test";
    struct dns_zone_src src = { .name = "fz.test", .file = path, .cfg_file = "fuzz", .cfg_line = 1 };
    struct dns_dynamic_src dyn = { .owner = dyn_name, .owner_len = sizeof dyn_name, .handle = &db };
    char err[512];
    if (dns_db_build(&src, 1, &dyn, 1, &db, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz_dns_respond: %s\n", err);
        abort();
    }
    unlink(path);
}

static void check(const uint8_t *pkt, size_t len, const uint8_t *out, size_t olen, size_t limit,
                  const struct dns_result *res)
{
    if (olen == 0) {
        if (!res->dropped)
            abort();
        return;
    }
    if (olen < DNS_HDR_LEN || olen > limit)
        abort();
    if (dns_get16(out) != dns_get16(pkt) || !(dns_get16(out + 2) & DNS_F_QR) || dns_get16(out + 4) > 1)
        abort();
    /* a response is itself a parseable message: the parser drops it (QR=1) */
    struct dns_query q2;
    if (dns_parse_query(out, olen, &q2) != DNS_PARSE_DROP)
        abort();
    (void)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!db)
        build_db();
    static uint8_t out[65535 + DNS_RESPONSE_SLACK];
    struct dns_view v = { .db = db, .dynamic = fuzz_dynamic, .udp_max = UDP_MAX };
    struct dns_query q;
    struct dns_result res;
    /* parse-only: the parser must agree with itself and keep its bounds */
    enum dns_parse_result pr = dns_parse_query(data, size, &q);
    if (pr == DNS_PARSE_OK || (pr != DNS_PARSE_DROP && q.question_ok)) {
        if (!q.question_ok || q.qname_len == 0 || q.qname_len > DNS_MAX_NAME ||
            dns_name_len(q.qname, q.qname_len) != q.qname_len || q.question_len != q.qname_len + 4u ||
            q.question_len > size - DNS_HDR_LEN)
            abort();
        char str[4 * DNS_MAX_NAME + 2];
        uint8_t back[DNS_MAX_NAME];
        if (dns_name_to_str(q.qname, str, sizeof str) < 0)
            abort();
        /* a name without dots or backslashes inside labels round-trips */
        int bl = dns_name_from_str(str, back);
        if (bl != q.qname_len || memcmp(back, q.qname, (size_t)bl) != 0)
            abort();
    }
    if (pr == DNS_PARSE_OK && q.edns && q.udp_size < DNS_MIN_UDP)
        abort();
    if (pr == DNS_PARSE_OK && q.ecs && q.ecs_source > (q.ecs_family == 1 ? 32 : 128))
        abort();

    struct dns_client c = { .tcp = false };
    net_addr_parse("192.0.2.99", &c.addr);
    size_t n = dns_respond(&v, data, size, &c, &q, out, UDP_MAX + DNS_RESPONSE_SLACK, &res);
    size_t ulimit = DNS_MIN_UDP;
    if (q.edns && pr != DNS_PARSE_DROP)
        ulimit = q.udp_size < UDP_MAX ? q.udp_size : UDP_MAX;
    check(data, size, out, n, ulimit, &res);

    c.tcp = true;
    n = dns_respond(&v, data, size, &c, &q, out, sizeof out, &res);
    check(data, size, out, n, 65535, &res);
    if (n && res.tc)
        abort();    /* over TCP, everything fits */
    return 0;
}
