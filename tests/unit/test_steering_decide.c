/* tests/unit/test_steering_decide.c: weighted split and stickiness over
 * many synthetic subnets, health effects on weighted pools, the explain
 * output (text and JSON), argument checks, and "steer_decide never
 * allocates" (allocation hooks of the sanitizer allocator). Table tests of
 * answers and scopes are in tests/scenarios/steering (test_steering_scenarios). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "steering/flatten.h"
#include "steering/steering.h"

#define NSUB 100000   /* synthetic client subnets for the split tests */

struct fx {
    struct cfg_ctx ctx;
    struct steer_policy *p;
    struct prov_state_table *st;
};

static struct fx *fx_load(const char *yaml)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    if (cfg_load_string(&f->ctx, "./test.yaml", yaml, strlen(yaml)) < 0 ||
        steer_policy_compile(&f->ctx, cfg_root(&f->ctx), &f->p) < 0) {
        print_error("compile: %s\n", f->ctx.err);
        fail();
    }
    size_t n = steer_policy_provider_count(f->p);
    f->st = calloc(1, sizeof *f->st + n * sizeof f->st->s[0]);
    assert_non_null(f->st);
    f->st->n = (uint32_t)n;
    for (size_t i = 0; i < n; i++)
        f->st->s[i] = (struct prov_state){ .health = PROV_UP, .weight = PROV_WEIGHT_NONE };
    return f;
}

static void fx_free(struct fx *f)
{
    steer_policy_free(&f->p);
    assert_null(f->p);
    cfg_free(&f->ctx);
    free(f->st);
    free(f);
}

static const char *weighted_yaml =
    "providers:\n"
    "  a: {type: pop, ipv4: [127.0.1.1], ipv6: ['2001:db8:ffff::a']}\n"
    "  b: {type: pop, ipv4: [127.0.1.2], ipv6: ['2001:db8:ffff::b']}\n"
    "  c: {type: cdn, cname: c.cdn.example.net.}\n"
    "steering:\n"
    "  - name: w.example.test\n"
    "    rules: [{match: default, pools: [p]}]\n"
    "    pools:\n"
    "      p: {policy: weighted, members: {a: 50, b: 30, c: 20}}\n"
    "  - name: r.example.test\n"
    "    rules: [{match: default, pools: [p]}]\n"
    "    pools:\n"
    "      p: {policy: rum, members: {a: 1, b: 1}}\n";

/* Subnet i as a client: IPv4 /24s from 1.0.0.0 up, host byte `host`;
 * IPv6 /56s under 2001:db8::/32 (document range, synthetic). */
static struct steer_client client4(uint32_t i, uint8_t host)
{
    struct steer_client c = { .source_len = 32 };
    c.addr.family = 4;
    uint32_t v = (0x01000000u + (i << 8)) | host;
    c.addr.bytes[0] = (uint8_t)(v >> 24);
    c.addr.bytes[1] = (uint8_t)(v >> 16);
    c.addr.bytes[2] = (uint8_t)(v >> 8);
    c.addr.bytes[3] = (uint8_t)v;
    return c;
}

static struct steer_client client6(uint32_t i, uint8_t host)
{
    struct steer_client c = { .source_len = 128 };
    c.addr.family = 6;
    c.addr.bytes[0] = 0x20; c.addr.bytes[1] = 0x01; c.addr.bytes[2] = 0x0d; c.addr.bytes[3] = 0xb8;
    c.addr.bytes[4] = (uint8_t)(i >> 16);
    c.addr.bytes[5] = (uint8_t)(i >> 8);
    c.addr.bytes[6] = (uint8_t)i;
    c.addr.bytes[15] = host;
    return c;
}

static int pick(struct fx *f, size_t name, const struct steer_client *c, uint16_t qtype)
{
    struct steer_inputs in = { .state = f->st };
    struct steer_answer a;
    assert_int_equal(steer_decide(f->p, steer_policy_name(f->p, name), c, qtype, &in, &a), STEER_OK);
    return a.provider;
}

static void check_split(const unsigned *cnt, const double *want, int n, unsigned total)
{
    for (int i = 0; i < n; i++) {
        double got = (double)cnt[i] / total;
        if (got < want[i] - 0.02 || got > want[i] + 0.02) {
            print_error("provider %d: share %.4f, want %.2f +- 0.02\n", i, got, want[i]);
            fail();
        }
    }
}

static void test_weighted_split_v4(void **st)
{
    struct fx *f = fx_load(weighted_yaml);
    unsigned cnt[3] = { 0 };
    for (uint32_t i = 0; i < NSUB; i++) {
        struct steer_client c = client4(i, 1);
        cnt[pick(f, 0, &c, 1)]++;
    }
    const double want[3] = { 0.5, 0.3, 0.2 };
    check_split(cnt, want, 3, NSUB);
    fx_free(f);
}

static void test_weighted_split_v6(void **st)
{
    struct fx *f = fx_load(weighted_yaml);
    unsigned cnt[3] = { 0 };
    for (uint32_t i = 0; i < NSUB; i++) {
        struct steer_client c = client6(i, 1);
        cnt[pick(f, 0, &c, 28)]++;
    }
    const double want[3] = { 0.5, 0.3, 0.2 };
    check_split(cnt, want, 3, NSUB);
    fx_free(f);
}

static void test_rum_is_weighted_until_scores(void **st)
{
    struct fx *f = fx_load(weighted_yaml);
    unsigned cnt[3] = { 0 };
    for (uint32_t i = 0; i < NSUB; i++) {
        struct steer_client c = client4(i, 9);
        cnt[pick(f, 1, &c, 1)]++;
    }
    const double want[3] = { 0.5, 0.5, 0.0 };
    check_split(cnt, want, 3, NSUB);
    fx_free(f);
}

#define NSTICK 20000
static void test_stickiness(void **st)
{
    struct fx *f = fx_load(weighted_yaml);
    static int first[NSTICK];
    for (uint32_t i = 0; i < NSTICK; i++) {
        struct steer_client c = client4(i, 1);
        first[i] = pick(f, 0, &c, 1);
        /* another host of the same /24, the same host again, and AAAA */
        struct steer_client c2 = client4(i, 200);
        assert_int_equal(pick(f, 0, &c2, 1), first[i]);
        assert_int_equal(pick(f, 0, &c, 1), first[i]);
        assert_int_equal(pick(f, 0, &c, 28), first[i]);
    }
    /* c goes down: only c's subnets move, and they split a:b = 50:30 */
    f->st->s[2].health = PROV_DOWN;
    unsigned moved_a = 0, moved = 0;
    for (uint32_t i = 0; i < NSTICK; i++) {
        struct steer_client c = client4(i, 1);
        int now = pick(f, 0, &c, 1);
        if (first[i] != 2)
            assert_int_equal(now, first[i]);
        else {
            assert_int_not_equal(now, 2);
            moved++;
            moved_a += now == 0;
        }
    }
    assert_true(moved > NSTICK / 10);
    double share_a = (double)moved_a / moved;
    assert_true(share_a > 0.625 - 0.04 && share_a < 0.625 + 0.04);
    /* c back: exactly the original mapping */
    f->st->s[2].health = PROV_UP;
    for (uint32_t i = 0; i < NSTICK; i++) {
        struct steer_client c = client4(i, 1);
        assert_int_equal(pick(f, 0, &c, 1), first[i]);
    }
    /* raising c's weight (20 -> 40) only moves subnets to c */
    f->st->s[2].weight = 40;
    unsigned to_c = 0;
    for (uint32_t i = 0; i < NSTICK; i++) {
        struct steer_client c = client4(i, 1);
        int now = pick(f, 0, &c, 1);
        if (now != first[i]) {
            assert_int_equal(now, 2);
            to_c++;
        }
    }
    /* c's share goes from 20% to 40/120 = 33%: about 13% of subnets move */
    assert_true(to_c > NSTICK * 0.10 && to_c < NSTICK * 0.17);
    fx_free(f);
}

static void test_ecs_source_shorter_than_hash(void **st)
{
    /* ECS /16: the hash sees only the /16, so every /24 inside it gets the
     * same answer and the scope is 16 (never more than the source) */
    struct fx *f = fx_load(weighted_yaml);
    struct steer_inputs in = { .state = f->st };
    struct steer_answer a, b;
    struct steer_client c = client4(0x1234 << 8, 0);
    c.has_ecs = true;
    c.source_len = 16;
    net_addr_mask(&c.addr, 16);
    assert_int_equal(steer_decide(f->p, steer_policy_name(f->p, 0), &c, 1, &in, &a), STEER_OK);
    assert_int_equal(a.scope, 16);
    c.source_len = 24;   /* the /24 at the start of that /16 */
    assert_int_equal(steer_decide(f->p, steer_policy_name(f->p, 0), &c, 1, &in, &b), STEER_OK);
    assert_int_equal(b.scope, 24);
    assert_int_equal(a.provider, b.provider);
    fx_free(f);
}

static void test_einval(void **st)
{
    struct fx *f = fx_load(weighted_yaml);
    struct steer_client c = client4(1, 1);
    struct steer_answer a;
    const struct steer_name *n = steer_policy_name(f->p, 0);
    assert_int_equal(steer_decide(f->p, n, &c, 15, NULL, &a), STEER_EINVAL);
    assert_int_equal(steer_decide(f->p, NULL, &c, 1, NULL, &a), STEER_EINVAL);
    assert_int_equal(steer_decide(NULL, n, &c, 1, NULL, &a), STEER_EINVAL);
    c.addr.family = 0;
    assert_int_equal(steer_decide(f->p, n, &c, 1, NULL, &a), STEER_EINVAL);
    /* NULL inputs: everything counts as up */
    c = client4(1, 1);
    assert_int_equal(steer_decide(f->p, n, &c, 1, NULL, &a), STEER_OK);
    /* a state table shorter than the provider list (stale): missing = unknown */
    f->st->n = 1;
    assert_int_equal(steer_decide(f->p, n, &c, 1, &(struct steer_inputs){ .state = f->st }, &a), STEER_OK);
    fx_free(f);
}

static void test_explain(void **st)
{
    struct fx *f = fx_load(
        "geo:\n"
        "  databases: [geo/fixture/steer-city.mmdb, geo/fixture/steer-asn.mmdb]\n"
        "providers:\n"
        "  eu: {type: pop, ipv4: [127.0.1.10], lat: 50.1, lon: 8.7}\n"
        "  us: {type: pop, ipv4: [127.0.2.10], lat: 39.0, lon: -77.5}\n"
        "  cf: {type: cdn, cname: d1.cloudfront.net}\n"
        "steering:\n"
        "  - name: www.cdn.example.test\n"
        "    rules:\n"
        "      - {match: {continent: NA}, pools: [america]}\n"
        "      - {match: {continent: EU, asn: 64500}, pools: [europe]}\n"
        "      - {match: default, pools: [world]}\n"
        "    pools:\n"
        "      america: {members: {us: 3, cf: 1}}\n"
        "      europe: {members: {eu: 3, cf: 1}, fallback: world}\n"
        "      world: {policy: closest, members: [eu, us]}\n");
    f->st->s[0].health = PROV_DOWN;
    f->st->s[2].admin = ADMIN_DRAIN;
    struct steer_client c = { .source_len = 24, .has_ecs = true };
    net_addr_parse("192.0.2.0", &c.addr);
    struct steer_inputs in = { .state = f->st };
    char buf[8192];
    int n = steer_explain(f->p, steer_policy_name(f->p, 0), &c, 1, &in, false, buf, sizeof buf);
    assert_true(n > 0 && (size_t)n < sizeof buf);
    const char *want[] = { "client 192.0.2.0/24 (ECS)", "geo: continent EU country DE", "asn 64500",
                           "rule 0: continent NA -> no match", "rule 1: asn 64500 continent EU -> match",
                           "pool europe (weighted)", "health down", "admin drain", "no eligible provider",
                           "pool world (closest)", "answer: addresses 127.0.2.10", "provider us rule 1 pool world",
                           "scope /24", "degraded", NULL };
    for (const char **w = want; *w; w++)
        if (!strstr(buf, *w)) {
            print_error("missing '%s' in:\n%s\n", *w, buf);
            fail();
        }
    n = steer_explain(f->p, steer_policy_name(f->p, 0), &c, 1, &in, true, buf, sizeof buf);
    assert_true(n > 0);
    json_error_t err;
    json_t *j = json_loads(buf, 0, &err);
    assert_non_null(j);
    json_t *ans = json_object_get(j, "answer");
    assert_string_equal(json_string_value(json_object_get(ans, "provider")), "us");
    assert_int_equal(json_integer_value(json_object_get(ans, "scope")), 24);
    assert_true(json_is_true(json_object_get(ans, "degraded")));
    assert_int_equal(json_array_size(json_object_get(j, "pools")), 2);
    json_decref(j);
    /* truncation: like snprintf, never overflows, stays terminated */
    char small[40];
    n = steer_explain(f->p, steer_policy_name(f->p, 0), &c, 1, &in, false, small, sizeof small);
    assert_int_equal(n, (int)sizeof small - 1);
    assert_int_equal(strlen(small), sizeof small - 1);
    fx_free(f);
}

/* ---- no allocation in steer_decide: count through the sanitizer hooks */

extern int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
                                                     void (*f)(const volatile void *)) __attribute__((weak));
static volatile size_t n_alloc;
static void on_malloc(const volatile void *p, size_t sz) { (void)p; (void)sz; n_alloc++; }
static void on_free(const volatile void *p) { (void)p; }

static void test_no_allocation(void **st)
{
    if (!__sanitizer_install_malloc_and_free_hooks)
        skip();   /* only the ASan build (which runs the tests) has the hooks */
    struct fx *f = fx_load(
        "geo:\n"
        "  databases: [geo/fixture/steer-city.mmdb, geo/fixture/steer-asn.mmdb]\n"
        "  overrides: [{prefix: 10.0.0.0/8, continent: OC, lat: -33.9, lon: 151.2}]\n"
        "providers:\n"
        "  eu: {type: pop, ipv4: [127.0.1.10], ipv6: ['2001:db8:ffff::1'], lat: 50.1, lon: 8.7}\n"
        "  us: {type: pop, ipv4: [127.0.2.10], lat: 39.0, lon: -77.5}\n"
        "  cf: {type: cdn, cname: d1.cloudfront.net}\n"
        "steering:\n"
        "  - name: www.example.test\n"
        "    answers: 2\n"
        "    rules:\n"
        "      - {match: {asn: [64501, 64502], cidr: [198.51.100.0/24, 203.0.113.0/24]}, pools: [a]}\n"
        "      - {match: {subdivision: DE-BE}, pools: [b]}\n"
        "      - {match: default, pools: [c]}\n"
        "    pools:\n"
        "      a: {members: {us: 3, cf: 1}}\n"
        "      b: {policy: failover, members: [eu, us], fallback: c}\n"
        "      c: {policy: closest, members: [eu, us, cf]}\n"
        "  - name: apex.example.test\n"
        "    apex: true\n"
        "    rules: [{match: default, pools: [a]}]\n"
        "    pools: {a: {members: {cf: 1, eu: 1}}}\n");
    struct steer_flat_table *ft = steer_flat_table_new(f->p);
    ft->e[2].n4 = 1;
    ft->e[2].ttl = 20;
    const char *clients[] = { "192.0.2.1", "198.51.100.9", "203.0.113.200", "10.1.2.3", "2001:db8:1000::1",
                              "2001:db8:6000::5", "8.8.8.8", "198.19.3.3" };
    struct steer_inputs in = { .state = f->st, .flat = ft };
    assert_true(__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) > 0);
    /* warm-up: libmaxminddb and libm have no lazy allocations, but be fair */
    n_alloc = 0;
    struct steer_answer a;
    unsigned calls = 0;
    for (int round = 0; round < 200; round++)
        for (size_t i = 0; i < sizeof clients / sizeof *clients; i++) {
            struct steer_client c = { 0 };
            net_addr_parse(clients[i], &c.addr);
            c.source_len = (uint8_t)net_addr_maxlen(&c.addr);
            f->st->s[round % 3].health = round & 1 ? PROV_DOWN : PROV_UP;
            for (size_t nm = 0; nm < 2; nm++)
                for (int qt = 0; qt < 2; qt++) {
                    assert_int_equal(steer_decide(f->p, steer_policy_name(f->p, nm), &c, qt ? 28 : 1, &in, &a), STEER_OK);
                    calls++;
                }
        }
    size_t seen = n_alloc;
    /* the counter itself works: */
    void *probe = malloc(16);
    size_t after = n_alloc;
    free(probe);
    __sanitizer_install_malloc_and_free_hooks(NULL, NULL);
    free(ft);
    ft = NULL;
    assert_true(calls == 200 * 8 * 4);
    assert_int_equal(seen, 0);
    assert_int_equal(after, 1);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weighted_split_v4),
        cmocka_unit_test(test_weighted_split_v6),
        cmocka_unit_test(test_rum_is_weighted_until_scores),
        cmocka_unit_test(test_stickiness),
        cmocka_unit_test(test_ecs_source_shorter_than_hash),
        cmocka_unit_test(test_einval),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_no_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
