/* tests/unit/test_steering_config.c: steering config errors are reported as
 * file:line with a useful message; valid configs expose what other
 * subsystems need (provider ids, checks, targets, names in wire format). */
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

static const char *provs =
    "providers:\n"                                                  /* 1 */
    "  eu: {type: pop, ipv4: [127.0.1.10], lat: 50, lon: 8}\n"      /* 2 */
    "  us: {type: pop, ipv4: [127.0.2.10], checks: [us-http, us-tcp]}\n" /* 3 */
    "  cf: {type: cdn, cname: D1.CloudFront.net}\n";                /* 4 */

/* Compiles provs + `rest`; returns the error text ("" on success). */
static const char *compile(const char *rest, struct steer_policy **out)
{
    static char err[CFG_ERR_MAX];
    char yaml[8192];
    snprintf(yaml, sizeof yaml, "%s%s", provs, rest);
    struct cfg_ctx ctx;
    struct steer_policy *p = NULL;
    err[0] = 0;
    if (cfg_load_string(&ctx, "steer.yaml", yaml, strlen(yaml)) < 0 ||
        steer_policy_compile(&ctx, cfg_root(&ctx), &p) < 0)
        snprintf(err, sizeof err, "%s", ctx.err[0] ? ctx.err : "(no message)");
    cfg_free(&ctx);
    if (out)
        *out = p;
    else
        steer_policy_free(&p);
    return err;
}

#define NAME_HDR "steering:\n  - name: www.example.test\n"    /* lines 5, 6 */

static void expect_err(const char *rest, const char *want)
{
    const char *err = compile(rest, NULL);
    if (!strstr(err, want)) {
        print_error("config:\n%s%s\nerror: '%s'\nwanted: '%s'\n", provs, rest, err, want);
        fail();
    }
}

static void test_errors(void **st)
{
    /* unknown provider in a pool */
    expect_err(NAME_HDR "    rules: [{match: default, pools: [p]}]\n"
                        "    pools:\n"
                        "      p: {members: {eu: 1, nope: 2}}\n",
               "steer.yaml:9: pool 'p': unknown provider 'nope'");
    /* unknown pool in a rule */
    expect_err(NAME_HDR "    rules:\n"
                        "      - {match: default, pools: [p, q]}\n"
                        "    pools: {p: {members: [eu]}}\n",
               "steer.yaml:8: rule uses unknown pool 'q'");
    /* unknown fallback pool */
    expect_err(NAME_HDR "    rules: [{match: default, pools: [p]}]\n"
                        "    pools:\n"
                        "      p: {members: [eu], fallback: zz}\n",
               "steer.yaml:9: pool 'p': unknown fallback pool 'zz'");
    /* fallback cycle */
    expect_err(NAME_HDR "    rules: [{match: default, pools: [a]}]\n"
                        "    pools:\n"
                        "      a: {members: [eu], fallback: b}\n"
                        "      b: {members: [us], fallback: c}\n"
                        "      c: {members: [cf], fallback: a}\n",
               "steer.yaml:9: pool 'a': fallback chain is a cycle");
    expect_err(NAME_HDR "    rules: [{match: default, pools: [a]}]\n"
                        "    pools:\n"
                        "      a: {members: [eu], fallback: a}\n",
               "fallback chain is a cycle");
    /* weights out of range */
    expect_err(NAME_HDR "    rules: [{match: default, pools: [p]}]\n"
                        "    pools:\n"
                        "      p: {members: {eu: 0}}\n",
               "steer.yaml:9: pool 'p': weight of 'eu' must be an integer from 1 to 1000000, not '0'");
    expect_err(NAME_HDR "    rules: [{match: default, pools: [p]}]\n"
                        "    pools:\n"
                        "      p: {members: {eu: 1000001}}\n",
               "weight of 'eu' must be an integer");
    expect_err(NAME_HDR "    rules: [{match: default, pools: [p]}]\n"
                        "    pools:\n"
                        "      p: {members: {eu: -3}}\n",
               "weight of 'eu' must be an integer");
    /* bad CIDR */
    expect_err(NAME_HDR "    rules:\n"
                        "      - {match: {cidr: [10.0.0.0/8, 10.1.2.3/16]}, pools: [p]}\n"
                        "      - {match: default, pools: [p]}\n"
                        "    pools: {p: {members: [eu]}}\n",
               "steer.yaml:8: invalid CIDR prefix '10.1.2.3/16'");
    expect_err(NAME_HDR "    rules:\n"
                        "      - {match: {cidr: 'fe80::/129'}, pools: [p]}\n"
                        "      - {match: default, pools: [p]}\n"
                        "    pools: {p: {members: [eu]}}\n",
               "invalid CIDR prefix");
    /* duplicate names (case-insensitive, trailing dot irrelevant) */
    expect_err(NAME_HDR "    rules: [{match: default, pools: [p]}]\n"
                        "    pools: {p: {members: [eu]}}\n"
                        "  - name: WWW.example.test.\n"
                        "    rules: [{match: default, pools: [p]}]\n"
                        "    pools: {p: {members: [eu]}}\n",
               "steer.yaml:9: duplicate steered name 'www.example.test.'");
    /* duplicate provider / pool / member */
    expect_err("  eu: {type: pop, ipv4: [127.0.0.1]}\n", "duplicate key");   /* libfyaml catches it first */
    expect_err(NAME_HDR "    rules: [{match: default, pools: [p]}]\n"
                        "    pools:\n"
                        "      p: {members: [eu, eu]}\n",
               "provider 'eu' listed twice");
    /* missing default, rule after default */
    expect_err(NAME_HDR "    rules: [{match: {continent: EU}, pools: [p]}]\n"
                        "    pools: {p: {members: [eu]}}\n",
               "steer.yaml:7: steered name 'www.example.test.' has no 'match: default' rule last");
    expect_err(NAME_HDR "    rules:\n"
                        "      - {match: default, pools: [p]}\n"
                        "      - {match: {continent: EU}, pools: [p]}\n"
                        "    pools: {p: {members: [eu]}}\n",
               "steer.yaml:9: rule after the default rule can never match");
    /* match values */
    expect_err(NAME_HDR "    rules:\n"
                        "      - {match: {continent: XX}, pools: [p]}\n"
                        "      - {match: default, pools: [p]}\n"
                        "    pools: {p: {members: [eu]}}\n",
               "steer.yaml:8: unknown continent code 'XX'");
    expect_err(NAME_HDR "    rules:\n"
                        "      - {match: {subdivision: CA}, pools: [p]}\n"
                        "      - {match: default, pools: [p]}\n"
                        "    pools: {p: {members: [eu]}}\n",
               "subdivision must be an ISO 3166-2 code like US-CA");
    expect_err(NAME_HDR "    rules:\n"
                        "      - {match: {asn: AS12x}, pools: [p]}\n"
                        "      - {match: default, pools: [p]}\n"
                        "    pools: {p: {members: [eu]}}\n",
               "invalid ASN 'AS12x'");
    expect_err(NAME_HDR "    rules:\n"
                        "      - {match: {contnent: EU}, pools: [p]}\n"
                        "      - {match: default, pools: [p]}\n"
                        "    pools: {p: {members: [eu]}}\n",
               "steer.yaml:8: unknown key 'contnent'");
    expect_err(NAME_HDR "    rules:\n"
                        "      - {match: everything, pools: [p]}\n"
                        "    pools: {p: {members: [eu]}}\n",
               "match must be a mapping or 'default'");
    /* bounds on what is scanned per query */
    {
        static char big[16384];
        size_t o = (size_t)snprintf(big, sizeof big, NAME_HDR "    rules:\n      - match: {asn: [");
        for (int i = 1; i <= 257; i++)
            o += (size_t)snprintf(big + o, sizeof big - o, "%s%d", i > 1 ? ", " : "", i);
        snprintf(big + o, sizeof big - o, "]}\n        pools: [p]\n      - {match: default, pools: [p]}\n"
                                          "    pools: {p: {members: [eu]}}\n");
        expect_err(big, "steer.yaml:8: too many values (257, max 256)");
    }
    /* policies */
    expect_err(NAME_HDR "    rules: [{match: default, pools: [p]}]\n"
                        "    pools:\n"
                        "      p: {policy: random, members: [eu]}\n",
               "steer.yaml:9: pool 'p': policy must be weighted, closest, failover or rum, not 'random'");
    expect_err(NAME_HDR "    rules: [{match: default, pools: [p]}]\n"
                        "    pools:\n"
                        "      p: {policy: closest, members: [eu, us]}\n",
               "pool 'p' (closest): pop 'us' has no lat/lon");
    /* name options */
    expect_err(NAME_HDR "    ttl: 0\n"
                        "    rules: [{match: default, pools: [p]}]\n"
                        "    pools: {p: {members: [eu]}}\n",
               "steer.yaml:7: 'ttl' must be an integer from 1 to 86400");
    expect_err(NAME_HDR "    answers: 9\n"
                        "    rules: [{match: default, pools: [p]}]\n"
                        "    pools: {p: {members: [eu]}}\n",
               "'answers' must be an integer from 1 to 8");
    expect_err(NAME_HDR "    hash_prefix4: 33\n"
                        "    rules: [{match: default, pools: [p]}]\n"
                        "    pools: {p: {members: [eu]}}\n",
               "'hash_prefix4' must be an integer from 0 to 32");
    expect_err("steering:\n  - name: 'bad..name'\n    rules: []\n", "steer.yaml:6: invalid steered name 'bad..name'");
    expect_err("steering: []\n", "'steering' is empty");
    expect_err("", "missing 'steering' section");
    /* providers */
    expect_err("  x: {type: pop}\n", "provider 'x' (pop) needs ipv4 and/or ipv6 addresses");
    expect_err("  x: {type: pop, ipv4: [::1]}\n", "steer.yaml:5: invalid IPv4 address '::1'");
    expect_err("  x: {type: pop, ipv6: [10.0.0.1]}\n", "invalid IPv6 address '10.0.0.1'");
    expect_err("  x: {type: cdn, cname: a.example, ipv4: [10.0.0.1]}\n", "a cdn is reached by cname");
    expect_err("  x: {type: cdn}\n", "steer.yaml:5: missing required key 'cname'");
    expect_err("  x: {type: cdn, cname: 'a..b'}\n", "invalid cname target 'a..b'");
    expect_err("  x: {type: edge, ipv4: [10.0.0.1]}\n", "provider type must be pop or cdn, not 'edge'");
    expect_err("  x: {type: pop, ipv4: [10.0.0.1], lat: 95, lon: 0}\n", "'lat' must be a number from -90 to 90");
    expect_err("  'bad name': {type: pop, ipv4: [10.0.0.1]}\n", "invalid provider name 'bad name'");
    expect_err("  x: {type: pop, ipv4: [10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5, 10.0.0.6, 10.0.0.7, 10.0.0.8, 10.0.0.9]}\n",
               "too many IPv4 addresses (max 8)");
    /* flatten */
    expect_err("flatten: {resolver: 'not-an-ip'}\n", "steer.yaml:5: invalid resolver address 'not-an-ip'");
    expect_err("flatten: {min_ttl: 2h, max_ttl: 1h}\n", "min_ttl is larger than max_ttl");
    /* geo errors come through too */
    expect_err("geo: {databases: [/nonexistent.mmdb]}\n", "steer.yaml:5: cannot open geo database '/nonexistent.mmdb'");
}

static void test_valid_and_accessors(void **st)
{
    struct steer_policy *p = NULL;
    const char *err = compile("server: {listen: ignored}\n"
                              "health: {checks: ignored}\n"
                              "flatten: {resolver: '[::1]:15453', min_ttl: 1s}\n"
                              "steering:\n"
                              "  - name: WWW.Example.TEST.\n"
                              "    rules: [{match: default, pool: p}]\n"
                              "    pools: {p: {members: {eu: 2, us: 1, cf: 1}}}\n"
                              "  - name: example.test\n"
                              "    rules: [{match: default, pools: [q]}]\n"
                              "    pools: {q: {members: [cf]}}\n", &p);
    assert_string_equal(err, "");
    assert_non_null(p);
    assert_int_equal(steer_policy_provider_count(p), 3);
    assert_string_equal(steer_provider_name(p, 0), "eu");
    assert_string_equal(steer_provider_name(p, 2), "cf");
    assert_int_equal(steer_provider_find(p, "us"), 1);
    assert_int_equal(steer_provider_find(p, "nope"), -1);
    assert_int_equal(steer_provider_type(p, 0), STEER_PROV_POP);
    assert_int_equal(steer_provider_type(p, 2), STEER_PROV_CDN);
    assert_string_equal(steer_provider_cname(p, 2), "d1.cloudfront.net.");
    assert_null(steer_provider_cname(p, 0));
    unsigned n;
    const uint8_t *a = steer_provider_addrs(p, 1, 4, &n);
    assert_int_equal(n, 1);
    assert_memory_equal(a, "\x7f\x00\x02\x0a", 4);
    assert_null(steer_provider_addrs(p, 1, 6, &n));
    assert_int_equal(steer_provider_check_count(p, 1), 2);
    assert_string_equal(steer_provider_check(p, 1, 1), "us-tcp");
    assert_int_equal(steer_provider_check_count(p, 0), 0);
    double lat, lon;
    assert_true(steer_provider_coords(p, 0, &lat, &lon));
    assert_false(steer_provider_coords(p, 2, &lat, &lon));
    assert_int_equal(steer_policy_name_count(p), 2);
    size_t len;
    const uint8_t *w = steer_name_owner(steer_policy_name(p, 0), &len);
    assert_int_equal(len, 18);
    assert_memory_equal(w, "\x03www\x07" "example\x04test\x00", 18);
    assert_string_equal(steer_name_text(steer_policy_name(p, 0)), "www.example.test.");
    assert_int_equal(steer_name_ttl(steer_policy_name(p, 0)), 30);
    assert_ptr_equal(steer_policy_find_name(p, w, len), steer_policy_name(p, 0));
    /* apex flag set after compile: cf now needs flattening */
    assert_false(steer_provider_needs_flat(p, 2));
    steer_name_set_apex(p, 1, true);
    assert_true(steer_name_is_apex(steer_policy_name(p, 1)));
    assert_true(steer_provider_needs_flat(p, 2));
    const struct steer_flatten_cfg *fc = steer_policy_flatten_cfg(p);
    assert_int_equal(fc->port, 15453);
    assert_int_equal(fc->resolver.family, 6);
    assert_int_equal(fc->min_ttl_ms, 1000);
    steer_policy_free(&p);
    assert_null(p);
    steer_policy_free(&p);   /* NULL is fine */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_valid_and_accessors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
