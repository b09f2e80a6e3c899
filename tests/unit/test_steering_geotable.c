/* tests/unit/test_steering_geotable.c: steering against an independent
 * oracle. The fixture network table (the same one geo/fixture/gen.pl
 * writes) is restated here; for thousands of random clients inside and
 * outside those networks, IPv4 and IPv6, with and without ECS, the test
 * predicts the matched rule, the answer and the ECS scope from the table
 * alone and compares with steer_decide. Config: one rule per continent,
 * each to a single-member pool, so the scope is exactly the network's
 * prefix length (clamped to the ECS source length). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "steering/steering.h"

struct net { const char *prefix; const char *continent; };
static const struct net nets[] = {
    { "192.0.2.0/25", "EU" },       { "192.0.2.128/25", "EU" },     { "198.51.100.0/24", "NA" },
    { "203.0.113.0/25", "NA" },     { "203.0.113.128/26", "AS" },   { "203.0.113.192/26", "OC" },
    { "198.18.0.0/16", "SA" },      { "198.19.0.0/16", "AF" },      { "100.64.0.0/12", "EU" },
    { "100.80.0.0/12", "NA" },      { "2001:db8:1000::/36", "EU" }, { "2001:db8:2000::/36", "NA" },
    { "2001:db8:3000::/36", "AS" }, { "2001:db8:4000::/36", "OC" }, { "2001:db8:5000::/36", "SA" },
    { "2001:db8:6000::/36", "AF" },
};
#define NNETS (sizeof nets / sizeof *nets)

/* rule order in the config below; "default" is rule 6 */
static const char *const rule_cont[] = { "EU", "NA", "AS", "OC", "SA", "AF" };

static const char *yaml =
    "geo: {databases: [geo/fixture/steer-city.mmdb]}\n"
    "providers:\n"
    "  p-eu: {type: pop, ipv4: [127.0.0.1], ipv6: ['2001:db8:ffff::1']}\n"
    "  p-na: {type: pop, ipv4: [127.0.0.2], ipv6: ['2001:db8:ffff::2']}\n"
    "  p-as: {type: pop, ipv4: [127.0.0.3], ipv6: ['2001:db8:ffff::3']}\n"
    "  p-oc: {type: pop, ipv4: [127.0.0.4], ipv6: ['2001:db8:ffff::4']}\n"
    "  p-sa: {type: pop, ipv4: [127.0.0.5], ipv6: ['2001:db8:ffff::5']}\n"
    "  p-af: {type: pop, ipv4: [127.0.0.6], ipv6: ['2001:db8:ffff::6']}\n"
    "  p-default: {type: pop, ipv4: [127.0.0.7], ipv6: ['2001:db8:ffff::7']}\n"
    "steering:\n"
    "  - name: geo.example.test\n"
    "    rules:\n"
    "      - {match: {continent: EU}, pools: [eu]}\n"
    "      - {match: {continent: NA}, pools: [na]}\n"
    "      - {match: {continent: AS}, pools: [as]}\n"
    "      - {match: {continent: OC}, pools: [oc]}\n"
    "      - {match: {continent: SA}, pools: [sa]}\n"
    "      - {match: {continent: AF}, pools: [af]}\n"
    "      - {match: default, pools: [other]}\n"
    "    pools:\n"
    "      eu: {members: [p-eu]}\n"
    "      na: {members: [p-na]}\n"
    "      as: {members: [p-as]}\n"
    "      oc: {members: [p-oc]}\n"
    "      sa: {members: [p-sa]}\n"
    "      af: {members: [p-af]}\n"
    "      other: {members: [p-default]}\n";

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;   /* xorshift64: deterministic, so failures reproduce */
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Random address inside prefix p. */
static struct net_addr random_in(const struct net_prefix *p)
{
    struct net_addr a = p->addr;
    unsigned max = net_addr_maxlen(&a);
    for (unsigned bit = p->len; bit < max; bit++)
        if (next_rand() & 1)
            a.bytes[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
    return a;
}

static int expected_rule(const char *cont)
{
    for (int i = 0; i < 6; i++)
        if (!strcmp(rule_cont[i], cont))
            return i;
    return 6;
}

static void check_one(const struct steer_policy *p, const struct steer_client *c, int want_rule, unsigned want_scope)
{
    struct steer_answer a;
    assert_int_equal(steer_decide(p, steer_policy_name(p, 0), c, c->addr.family == 4 ? 1 : 28, NULL, &a), STEER_OK);
    if (a.rule != want_rule || a.scope != want_scope || a.kind != STEER_ADDRS || a.provider != want_rule) {
        char t[64];
        net_addr_format(&c->addr, t, sizeof t);
        print_error("client %s/%u: rule %u scope %u provider %u, want rule %d scope %u\n", t, c->source_len, a.rule,
                    a.scope, a.provider, want_rule, want_scope);
        fail();
    }
}

static void test_inside_networks(void **st)
{
    struct cfg_ctx ctx;
    struct steer_policy *p = NULL;
    assert_int_equal(cfg_load_string(&ctx, "./t.yaml", yaml, strlen(yaml)), 0);
    assert_int_equal(steer_policy_compile(&ctx, cfg_root(&ctx), &p), 0);
    unsigned checked = 0;
    for (int i = 0; i < 4000; i++) {
        const struct net *n = &nets[next_rand() % NNETS];
        struct net_prefix pf;
        assert_int_equal(net_prefix_parse(n->prefix, false, &pf), 0);
        struct steer_client c = { .addr = random_in(&pf) };
        c.source_len = (uint8_t)net_addr_maxlen(&c.addr);
        int rule = expected_rule(n->continent);
        /* packet source: scope = the network's prefix length */
        check_one(p, &c, rule, pf.len);
        /* ECS with a random source length at least the network's: same
         * answer; scope = network length (never above the source) */
        unsigned max = net_addr_maxlen(&c.addr);
        c.has_ecs = true;
        c.source_len = (uint8_t)(pf.len + next_rand() % (max - pf.len + 1));
        net_addr_mask(&c.addr, c.source_len);
        check_one(p, &c, rule, pf.len);
        checked += 2;
    }
    assert_int_equal(checked, 8000);
    steer_policy_free(&p);
    cfg_free(&ctx);
}

static void test_outside_networks(void **st)
{
    struct cfg_ctx ctx;
    struct steer_policy *p = NULL;
    assert_int_equal(cfg_load_string(&ctx, "./t.yaml", yaml, strlen(yaml)), 0);
    assert_int_equal(steer_policy_compile(&ctx, cfg_root(&ctx), &p), 0);
    /* the oracle's networks: the table, plus each IPv4 network where an
     * IPv6 database stores it, ::a.b.c.d/(96+len) (RFC 4291 embedding that
     * MaxMind DBs use): IPv6 clients under ::/96 see IPv4 data */
    struct net_prefix pfx[2 * NNETS];
    size_t npfx = 0;
    for (size_t k = 0; k < NNETS; k++) {
        assert_int_equal(net_prefix_parse(nets[k].prefix, false, &pfx[npfx]), 0);
        if (pfx[npfx].addr.family == 4) {
            struct net_prefix *m = &pfx[npfx + 1];
            memset(m, 0, sizeof *m);
            m->addr.family = 6;
            memcpy(m->addr.bytes + 12, pfx[npfx].addr.bytes, 4);
            m->len = (uint8_t)(pfx[npfx].len + 96);
            npfx++;
        }
        npfx++;
    }
    unsigned outside = 0;
    for (int i = 0; i < 4000; i++) {
        struct steer_client c = { 0 };
        c.addr.family = i & 1 ? 6 : 4;
        uint64_t r1 = next_rand(), r2 = next_rand();
        memcpy(c.addr.bytes, &r1, 8);
        memcpy(c.addr.bytes + 8, &r2, 8);
        if (c.addr.family == 6 && (i & 2)) {   /* half of the IPv6 ones near the fixture: 2001:db8::/32 */
            c.addr.bytes[0] = 0x20; c.addr.bytes[1] = 0x01; c.addr.bytes[2] = 0x0d; c.addr.bytes[3] = 0xb8;
        } else if (c.addr.family == 6 && (i & 4)) {   /* some in ::/96, where the IPv4 data sits */
            memset(c.addr.bytes, 0, 12);
        }
        if (c.addr.family == 4)
            memset(c.addr.bytes + 4, 0, 12);
        c.source_len = (uint8_t)net_addr_maxlen(&c.addr);
        bool in = false;
        unsigned excl = 0;   /* oracle scope: the prefix around the client that avoids every network */
        for (size_t k = 0; k < npfx; k++) {
            if (pfx[k].addr.family != c.addr.family)
                continue;
            if (net_prefix_contains(&pfx[k], &c.addr)) {
                in = true;
                break;
            }
            unsigned common = 0;
            while (common < pfx[k].len &&
                   !((pfx[k].addr.bytes[common / 8] ^ c.addr.bytes[common / 8]) & (0x80 >> (common % 8))))
                common++;
            if (common + 1 > excl)
                excl = common + 1;
        }
        if (in)
            continue;
        outside++;
        /* the database's empty-network netmask can be shorter than our
         * exclusion bound (the tree may end earlier), never longer */
        struct steer_answer a;
        assert_int_equal(steer_decide(p, steer_policy_name(p, 0), &c, c.addr.family == 4 ? 1 : 28, NULL, &a), STEER_OK);
        assert_int_equal(a.rule, 6);
        assert_int_equal(a.provider, 6);
        if (a.scope > excl) {
            char t[64];
            net_addr_format(&c.addr, t, sizeof t);
            print_error("client %s: scope %u > oracle %u\n", t, a.scope, excl);
            fail();
        }
        /* soundness: the whole /scope block around the client avoids every network */
        struct net_prefix blk = { .addr = c.addr, .len = a.scope };
        net_addr_mask(&blk.addr, a.scope);
        for (size_t k = 0; k < npfx; k++) {
            if (pfx[k].addr.family != c.addr.family)
                continue;
            bool overlap = pfx[k].len >= blk.len ? net_prefix_contains(&blk, &pfx[k].addr)
                                                 : net_prefix_contains(&pfx[k], &blk.addr);
            assert_false(overlap);
        }
    }
    assert_true(outside > 1000);
    steer_policy_free(&p);
    cfg_free(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inside_networks),
        cmocka_unit_test(test_outside_networks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
