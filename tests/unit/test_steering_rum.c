/* tests/unit/test_steering_rum.c: the `rum` pool policy in steer_decide with
 * a real score table built from an aggregate: dense rum pool ids and the
 * pool set, fallback to weighted without a table or without a deciding
 * level, per-network decisions, health filtering after the ranking, ECS
 * scope, steer_explain's scores (text and JSON), and no allocation on the
 * query path with a table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "rum/scores.h"
#include "steering/steering.h"

#define T0 1764046800000LL
#define HL 600000LL   /* aggregate half-life: 10 min */

enum { A = 0, B = 1, C = 2 };   /* provider ids in config order */

static const char *yaml =
    "geo:\n"
    "  databases: [geo/fixture/steer-city.mmdb, geo/fixture/steer-asn.mmdb]\n"
    "providers:\n"
    "  a: {type: pop, ipv4: [127.0.1.1]}\n"
    "  b: {type: pop, ipv4: [127.0.1.2]}\n"
    "  c: {type: pop, ipv4: [127.0.1.3]}\n"
    "steering:\n"
    "  - name: w.example.test\n"
    "    rules: [{match: default, pools: [p]}]\n"
    "    pools:\n"
    "      p: {policy: weighted, members: {a: 1, b: 1}}\n"
    "  - name: x.example.test\n"
    "    rules: [{match: default, pools: [x]}]\n"
    "    pools:\n"
    "      x: {policy: rum, members: {c: 7}}\n"
    "  - name: r.example.test\n"
    "    rules: [{match: default, pools: [r]}]\n"
    "    pools:\n"
    "      r: {policy: rum, members: {a: 1000000, b: 1, c: 1}}\n";

struct fx {
    struct cfg_ctx ctx;
    struct steer_policy *p;
    struct prov_state_table *st;
    struct rum_agg *agg;
    struct steer_rum_table *t;
};

static struct fx *fx_load(void)
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
    f->agg = rum_agg_new(4096, HL);
    assert_non_null(f->agg);
    return f;
}

static void fx_free(struct fx *f)
{
    rum_table_free(&f->t);
    rum_agg_free(&f->agg);
    steer_policy_free(&f->p);
    cfg_free(&f->ctx);
    free(f->st);
    free(f);
}

static void feed(struct fx *f, const struct rum_geo *g, uint16_t prov, double ms, int n)
{
    for (int i = 0; i < n; i++) {
        struct rum_meas m = { .t_ms = T0, .value = ms * (0.8 + 0.4 * i / n), .provider = prov,
                              .kind = RUM_LATENCY, .name = -1 };
        rum_agg_add(f->agg, g, &m);
    }
}

static void build(struct fx *f, double explore)
{
    struct rum_params p;
    rum_params_default(&p);
    p.min_samples = 10;
    p.explore = explore;
    struct steer_rum_table *t = rum_table_build(f->agg, steer_policy_rum_pools(f->p), &p, f->t, T0);
    assert_non_null(t);
    rum_table_free(&f->t);
    f->t = t;
}

static struct steer_client client(const char *ip, uint8_t source_len)
{
    struct steer_client c = { .source_len = source_len, .has_ecs = true };
    assert_int_equal(net_addr_parse(ip, &c.addr), 0);
    return c;
}

static struct steer_answer decide(struct fx *f, const char *ip, uint8_t source_len, bool with_table)
{
    struct steer_client c = client(ip, source_len);
    struct steer_inputs in = { .state = f->st, .rum = with_table ? f->t : NULL };
    struct steer_answer a;
    assert_int_equal(steer_decide(f->p, steer_policy_name(f->p, 2), &c, 1, &in, &a), STEER_OK);
    return a;
}

/* fixture networks: 192.0.2.0/25 DE (AS64500), 198.51.100.0/24 US (AS64501) */
static const struct rum_geo de = { .asn = 64500, .country = "DE", .continent = "EU" };
static const struct rum_geo us = { .asn = 64501, .country = "US", .continent = "NA" };

static void test_pool_set(void **st)
{
    struct fx *f = fx_load();
    const struct rum_pool_set *ps = steer_policy_rum_pools(f->p);
    assert_non_null(ps);
    assert_int_equal(ps->n, 2);   /* the weighted pool has no rum id */
    assert_int_equal(ps->pool[0].n, 1);
    assert_int_equal(ps->pool[0].prov[0], C);
    assert_int_equal(ps->pool[0].weight[0], 7);
    assert_int_equal(ps->pool[1].n, 3);
    assert_int_equal(ps->pool[1].prov[0], A);
    assert_int_equal(ps->pool[1].weight[0], 1000000);
    assert_int_equal(ps->pool[1].prov[2], C);
    assert_int_equal(ps->pool[1].weight[2], 1);
    fx_free(f);
}

static void test_weighted_without_decision(void **st)
{
    struct fx *f = fx_load();
    /* no table, and an empty table: exactly the weighted answer (a, by weight) */
    assert_int_equal(decide(f, "192.0.2.10", 32, false).provider, A);
    build(f, 0);
    assert_int_equal(decide(f, "192.0.2.10", 32, true).provider, A);
    /* one trusted member only: no level decides, still weighted */
    feed(f, &de, B, 10, 40);
    build(f, 0);
    assert_int_equal(decide(f, "192.0.2.10", 32, true).provider, A);
    fx_free(f);
}

static void test_flip_per_network(void **st)
{
    struct fx *f = fx_load();
    feed(f, &de, A, 120, 40);
    feed(f, &de, B, 20, 40);
    feed(f, &us, A, 15, 40);
    feed(f, &us, B, 90, 40);
    build(f, 0);
    struct steer_answer a = decide(f, "192.0.2.10", 32, true);
    assert_int_equal(a.provider, B);
    assert_int_equal(a.pool, 0);
    assert_false(a.degraded);
    assert_int_equal(decide(f, "192.0.2.77", 32, true).provider, B);
    assert_int_equal(decide(f, "198.51.100.9", 32, true).provider, A);
    /* the winner down: the next of the table's ranking, a degraded answer */
    f->st->s[B].health = PROV_DOWN;
    a = decide(f, "192.0.2.10", 32, true);
    assert_int_equal(a.provider, A);
    assert_true(a.degraded);
    fx_free(f);
}

static void test_scope(void **st)
{
    struct fx *f = fx_load();
    feed(f, &de, A, 120, 40);
    feed(f, &de, B, 20, 40);
    build(f, 0.05);
    /* location /25 (fixture), ASN /24, hashed /24: the longest, clamped */
    assert_int_equal(decide(f, "192.0.2.10", 32, true).scope, 25);
    assert_int_equal(decide(f, "192.0.2.0", 24, true).scope, 24);
    fx_free(f);
}

static void test_explain(void **st)
{
    struct fx *f = fx_load();
    feed(f, &de, A, 120, 40);
    feed(f, &de, B, 20, 40);
    build(f, 0);
    struct steer_client c = client("192.0.2.10", 32);
    struct steer_inputs in = { .state = f->st, .rum = f->t };
    char buf[8192];
    int n = steer_explain(f->p, steer_policy_name(f->p, 2), &c, 1, &in, false, buf, sizeof buf);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "rum: decided by asn"));
    assert_non_null(strstr(buf, "rum asn samples 40.0"));
    assert_non_null(strstr(buf, " trusted"));
    assert_non_null(strstr(buf, "provider b "));
    n = steer_explain(f->p, steer_policy_name(f->p, 2), &c, 1, &in, true, buf, sizeof buf);
    assert_true(n > 0);
    json_error_t je;
    json_t *j = json_loads(buf, 0, &je);
    assert_non_null(j);
    json_t *pools = json_object_get(j, "pools");
    json_t *r = json_array_get(pools, json_array_size(pools) - 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "rum"), "level")), "asn");
    json_t *cb = json_array_get(json_object_get(r, "candidates"), 1);
    json_t *rb = json_object_get(cb, "rum");
    assert_non_null(rb);
    assert_true(json_is_true(json_object_get(rb, "trusted")));
    assert_true(json_real_value(json_object_get(rb, "samples")) > 39.0);
    assert_true(json_real_value(json_object_get(rb, "p50_ms")) > 10.0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "answer"), "provider")), "b");
    json_decref(j);
    /* without data: says so */
    rum_agg_free(&f->agg);
    f->agg = rum_agg_new(16, HL);
    build(f, 0);
    in.rum = f->t;
    steer_explain(f->p, steer_policy_name(f->p, 2), &c, 1, &in, false, buf, sizeof buf);
    assert_non_null(strstr(buf, "rum: no level decides (weighted)"));
    fx_free(f);
}

extern int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
                                                     void (*fr)(const volatile void *)) __attribute__((weak));
static volatile size_t n_alloc;
static void on_malloc(const volatile void *p, size_t sz) { (void)p; (void)sz; n_alloc++; }
static void on_free(const volatile void *p) { (void)p; }

static void test_no_allocation(void **st)
{
    if (!__sanitizer_install_malloc_and_free_hooks)
        skip();   /* only the ASan build has the hooks */
    struct fx *f = fx_load();
    feed(f, &de, A, 120, 40);
    feed(f, &de, B, 20, 40);
    feed(f, &de, C, 50, 5);
    build(f, 0.5);   /* c is untrusted: some subnets explore */
    const char *ips[] = { "192.0.2.10", "192.0.2.200", "198.51.100.9", "2001:db8:1000::1", "8.8.8.8" };
    assert_true(__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) > 0);
    n_alloc = 0;
    unsigned explored = 0;
    for (unsigned round = 0; round < 256; round++)
        for (size_t i = 0; i < sizeof ips / sizeof *ips; i++) {
            struct steer_client c = client(ips[i], 32);
            if (c.addr.family == 4)
                c.addr.bytes[2] = (uint8_t)(round & 1 ? 2 : round);   /* other /24s */
            else
                c.source_len = 128;
            struct steer_inputs in = { .state = f->st, .rum = f->t };
            struct steer_answer a;
            f->st->s[C].health = round % 3 ? PROV_UP : PROV_DOWN;
            assert_int_equal(steer_decide(f->p, steer_policy_name(f->p, 2), &c, 1, &in, &a), STEER_OK);
            explored += a.provider == C;
        }
    size_t seen = n_alloc;
    __sanitizer_install_malloc_and_free_hooks(NULL, NULL);
    assert_int_equal(seen, 0);
    assert_true(explored > 0);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_set),
        cmocka_unit_test(test_weighted_without_decision),
        cmocka_unit_test(test_flip_per_network),
        cmocka_unit_test(test_scope),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_no_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
