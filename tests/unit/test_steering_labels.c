/* tests/unit/test_steering_labels.c: the observers' view of a compiled policy
 * (steering/labels.h): rule labels as steer_answers_total{rule} carries them
 * (default, first pool, "#index" for repeats and for any non-default rule
 * starting with a pool called "default"), match keys and their text, pool chains with fallbacks, pool
 * policy, fallback and members with weights, and out-of-range indices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "steering/labels.h"

static const char *yaml =
    "providers:\n"
    "  eu: {type: pop, ipv4: [127.0.1.10], lat: 50, lon: 8}\n"
    "  us: {type: pop, ipv4: [127.0.2.10], lat: 40, lon: -74}\n"
    "  cf: {type: cdn, cname: d1.cloudfront.net}\n"
    "steering:\n"
    "  - name: www.example.test\n"
    "    ttl: 30\n"
    "    degraded_ttl: 7\n"
    "    rules:\n"
    "      - {match: {continent: [AS, OC]}, pools: [near]}\n"
    "      - {match: {country: DE, asn: AS64500}, pools: [near, back]}\n"
    "      - {match: {subdivision: US-CA, cidr: [10.0.0.0/8, '2001:db8::/32']}, pools: [default]}\n"
    "      - {match: {continent: EU, country: [FR, BE]}, pools: [back]}\n"
    "      - {match: default, pools: [w]}\n"
    "    pools:\n"
    "      w: {policy: weighted, members: {eu: 80, us: 20}, fallback: near}\n"
    "      near: {policy: closest, members: [eu, us], fallback: back}\n"
    "      back: {policy: failover, members: [cf, eu]}\n"
    "      default: {policy: weighted, members: {us: 5}}\n"
    "  - name: two.example.test\n"
    "    rules:\n"
    "      - {match: {continent: EU}, pools: [default]}\n"
    "      - {match: {continent: NA}, pools: [default]}\n"
    "      - {match: default, pools: [default]}\n"
    "    pools: {default: {members: [eu]}}\n";

static int setup(void **st)
{
    struct cfg_ctx ctx;
    struct steer_policy *p = NULL;
    int rc = cfg_load_string(&ctx, "labels.yaml", yaml, strlen(yaml));
    if (rc == 0)
        rc = steer_policy_compile(&ctx, cfg_root(&ctx), &p);
    if (rc < 0)
        print_error("%s\n", ctx.err);
    cfg_free(&ctx);
    *st = p;
    return rc;
}

static int teardown(void **st)
{
    struct steer_policy *p = *st;
    steer_policy_free(&p);
    return 0;
}

static int find_pool(const struct steer_name *n, const char *name)
{
    for (size_t i = 0; i < steer_name_pool_count(n); i++)
        if (!strcmp(steer_pool_name(n, i), name))
            return (int)i;
    return -1;
}

static const char *label(const struct steer_name *n, size_t r)
{
    static char buf[STEER_RULE_LABEL_MAX];
    size_t len = steer_rule_label(n, r, buf, sizeof buf);
    assert_int_equal(len, strlen(buf));
    return buf;
}

static const char *match(const struct steer_name *n, size_t r)
{
    static char buf[256];
    size_t len = steer_rule_match_text(n, r, buf, sizeof buf);
    assert_int_equal(len, strlen(buf));
    return buf;
}

/* "near>back": the rule's chain by pool name */
static const char *chain(const struct steer_name *n, size_t r)
{
    static char buf[256];
    size_t o = 0;
    buf[0] = 0;
    for (size_t k = 0; k < steer_rule_chain_length(n, r); k++) {
        int pl = steer_rule_chain_pool(n, r, k);
        assert_true(pl >= 0);
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", k ? ">" : "", steer_pool_name(n, (size_t)pl));
    }
    return buf;
}

static void test_rule_labels(void **st)
{
    const struct steer_policy *p = *st;
    const struct steer_name *n = steer_policy_name(p, 0);
    assert_int_equal(steer_name_rule_count(n), 5);
    assert_string_equal(label(n, 0), "near");
    assert_string_equal(label(n, 1), "near#1");      /* rule 0 starts with near too */
    assert_string_equal(label(n, 2), "default#2");   /* a pool called default, not the default rule */
    assert_string_equal(label(n, 3), "back");        /* back is in rule 1, but not first there */
    assert_string_equal(label(n, 4), "default");     /* the default rule, whatever its pool */
    assert_true(steer_rule_is_default(n, 4));
    assert_false(steer_rule_is_default(n, 0));
    assert_string_equal(steer_rule_first_pool(n, 2), "default");
    /* a non-default rule whose pool is called "default" never takes the
     * default rule's label, not even rule 0 (metrics would sum the two) */
    const struct steer_name *two = steer_policy_name(p, 1);
    assert_string_equal(label(two, 0), "default#0");
    assert_string_equal(label(two, 1), "default#1");
    assert_string_equal(label(two, 2), "default");
    /* out of range: empty; a short buffer: cut, full length returned */
    assert_string_equal(label(n, 5), "");
    char small[4];
    assert_int_equal(steer_rule_label(n, 2, small, sizeof small), strlen("default#2"));
    assert_string_equal(small, "def");
}

static void test_rule_keys(void **st)
{
    const struct steer_policy *p = *st;
    const struct steer_name *n = steer_policy_name(p, 0);
    struct steer_rule_keys k;
    steer_rule_keys(n, 0, &k);
    assert_true(k.continents == 2 && !k.countries && !k.subdivisions && !k.asns && !k.cidrs);
    assert_string_equal(steer_rule_continent(n, 0, 0), "AS");
    assert_string_equal(steer_rule_continent(n, 0, 1), "OC");
    assert_string_equal(steer_rule_continent(n, 0, 2), "");
    steer_rule_keys(n, 2, &k);
    assert_true(!k.continents && k.subdivisions == 1 && k.cidrs == 2);
    steer_rule_keys(n, 4, &k);
    assert_true(!k.continents && !k.countries && !k.subdivisions && !k.asns && !k.cidrs);
    steer_rule_keys(n, 99, &k);
    assert_true(!k.continents && !k.cidrs);

    assert_string_equal(match(n, 0), "continent AS,OC");
    assert_string_equal(match(n, 1), "country DE asn 64500");
    assert_string_equal(match(n, 2), "subdivision US-CA cidr 10.0.0.0/8,2001:db8::/32");
    assert_string_equal(match(n, 3), "continent EU country FR,BE");
    assert_string_equal(match(n, 4), "default");
    assert_string_equal(match(n, 7), "");
    char small[12];
    assert_int_equal(steer_rule_match_text(n, 3, small, sizeof small), sizeof small - 1);
    assert_string_equal(small, "continent E");
}

static void test_chains_and_pools(void **st)
{
    const struct steer_policy *p = *st;
    const struct steer_name *n = steer_policy_name(p, 0);
    assert_int_equal(steer_name_ttl(n), 30);
    assert_int_equal(steer_name_degraded_ttl(n), 7);
    /* listed pools, each followed by its fallback chain, no repeats */
    assert_string_equal(chain(n, 0), "near>back");
    assert_string_equal(chain(n, 1), "near>back");
    assert_string_equal(chain(n, 2), "default");
    assert_string_equal(chain(n, 4), "w>near>back");
    assert_int_equal(steer_rule_chain_pool(n, 2, 1), -1);
    assert_int_equal(steer_rule_chain_pool(n, 9, 0), -1);
    assert_int_equal(steer_rule_chain_length(n, 9), 0);

    assert_int_equal(steer_name_pool_count(n), 4);
    int w = find_pool(n, "w"), near = find_pool(n, "near"), back = find_pool(n, "back"), def = find_pool(n, "default");
    assert_true(w >= 0 && near >= 0 && back >= 0 && def >= 0);
    assert_int_equal(steer_pool_kind(n, (size_t)w), STEER_POL_WEIGHTED);
    assert_int_equal(steer_pool_kind(n, (size_t)near), STEER_POL_CLOSEST);
    assert_int_equal(steer_pool_kind(n, (size_t)back), STEER_POL_FAILOVER);
    assert_string_equal(steer_policy_kind_name(steer_pool_kind(n, (size_t)near)), "closest");
    assert_string_equal(steer_policy_kind_name(STEER_POL_RUM), "rum");
    assert_string_equal(steer_policy_kind_name(STEER_POL_WEIGHTED), "weighted");
    assert_string_equal(steer_policy_kind_name(STEER_POL_FAILOVER), "failover");
    assert_int_equal(steer_pool_fallback(n, (size_t)w), near);
    assert_int_equal(steer_pool_fallback(n, (size_t)near), back);
    assert_int_equal(steer_pool_fallback(n, (size_t)back), -1);
    assert_int_equal(steer_pool_fallback(n, 99), -1);

    /* members in config order with their weights (1 when not given) */
    uint32_t wt;
    assert_int_equal(steer_pool_member_count(n, (size_t)w), 2);
    assert_string_equal(steer_provider_name(p, steer_pool_member(n, (size_t)w, 0, &wt)), "eu");
    assert_int_equal(wt, 80);
    assert_string_equal(steer_provider_name(p, steer_pool_member(n, (size_t)w, 1, &wt)), "us");
    assert_int_equal(wt, 20);
    assert_string_equal(steer_provider_name(p, steer_pool_member(n, (size_t)back, 0, &wt)), "cf");
    assert_int_equal(wt, 1);
    assert_string_equal(steer_provider_name(p, steer_pool_member(n, (size_t)def, 0, &wt)), "us");
    assert_int_equal(wt, 5);
    steer_pool_member(n, (size_t)w, 2, &wt);
    assert_int_equal(wt, 0);
    assert_int_equal(steer_pool_member_count(n, 99), 0);
    assert_string_equal(steer_pool_name(n, 99), "");
    assert_int_equal(steer_pool_kind(n, 99), STEER_POL_WEIGHTED);
    assert_int_equal(steer_name_index(p, steer_policy_name(p, 1)), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_labels),
        cmocka_unit_test(test_rule_keys),
        cmocka_unit_test(test_chains_and_pools),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
