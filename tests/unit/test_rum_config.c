/* tests/unit/test_rum_config.c: the `rum:` section (values, defaults,
 * file:line errors) and the per-client rate limiter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "rum/config.h"
#include "rum/ratelimit.h"

static const char *const provs[] = { "cdn-a", "cdn-b", NULL };

static int find(void *ctx, const char *n)
{
    for (int i = 0; provs[i]; i++)
        if (!strcmp(provs[i], n))
            return i;
    return -1;
}

static const struct rum_lookup lk = { .provider = find };

static struct rum_config *parse(const char *yaml, char *err, size_t errsize)
{
    struct cfg_ctx ctx;
    struct rum_config *c = NULL;
    if (cfg_load_string(&ctx, "/etc/steer/test.yaml", yaml, strlen(yaml)) < 0 ||
        rum_config_parse(&ctx, cfg_get(cfg_root(&ctx), "rum"), &lk, &c) < 0) {
        snprintf(err, errsize, "%s", ctx.err);
        cfg_free(&ctx);
        return NULL;
    }
    cfg_free(&ctx);
    return c;
}

static void test_full(void **st)
{
    char err[1024] = "";
    struct rum_config *c = parse(
        "rum:\n"
        "  listen: '[::1]:15799'\n"
        "  allow_origins: ['https://www.example.test', 'http://localhost:8080']\n"
        "  trusted_proxies: [10.0.0.0/8, '2001:db8::/32']\n"
        "  half_life: 5m\n"
        "  min_samples: 50\n"
        "  margin: 0.2\n"
        "  tolerance: 0.15\n"
        "  explore: 0.02\n"
        "  explore_rotate: 1h\n"
        "  quantile: 0.9\n"
        "  failure_penalty: 2s\n"
        "  max_cells: 1000\n"
        "  max_body: 16k\n"
        "  max_batch: 10\n"
        "  max_age: 1m\n"
        "  rate: {per_second: 0.5, burst: 5, clients: 100}\n"
        "  state_file: rum.state\n"
        "  snapshot_interval: 30s\n"
        "  recompute_interval: 500ms\n"
        "  debug_endpoint: true\n"
        "  test_urls: {cdn-b: 'https://b.example.test/rum/16k.png?x=1'}\n", err, sizeof err);
    if (!c)
        fail_msg("%s", err);
    assert_true(c->configured);
    assert_int_equal(c->listen.family, 6);
    assert_int_equal(c->port, 15799);
    assert_int_equal(c->norigins, 2);
    assert_false(c->any_origin);
    assert_string_equal(c->origins[1], "http://localhost:8080");
    assert_int_equal(c->nproxies, 2);
    assert_int_equal(c->half_life_ms, 300000);
    assert_true(c->params.min_samples == 50 && c->params.margin == 0.2 && c->params.tolerance == 0.15);
    assert_true(c->params.explore == 0.02 && c->params.quantile == 0.9);
    assert_int_equal(c->params.explore_rotate_ms, 3600000);
    assert_true(c->params.failure_penalty_ms == 2000);
    assert_int_equal(c->max_cells, 1000);
    assert_int_equal(c->max_body, 16384);
    assert_int_equal(c->max_batch, 10);
    assert_int_equal(c->max_age_ms, 60000);
    assert_true(c->rate_per_sec == 0.5 && c->rate_burst == 5 && c->rate_clients == 100);
    assert_string_equal(c->state_file, "/etc/steer/rum.state");
    assert_int_equal(c->snapshot_ms, 30000);
    assert_int_equal(c->recompute_ms, 500);
    assert_true(c->debug_endpoint);
    assert_int_equal(c->ntest, 1);
    assert_int_equal(c->test[0].provider, 1);
    assert_string_equal(c->test[0].url, "https://b.example.test/rum/16k.png?x=1");
    free(c);
}

static void test_defaults(void **st)
{
    char err[1024];
    struct rum_config *c = parse("other: 1\n", err, sizeof err);
    assert_non_null(c);
    assert_false(c->configured);
    assert_int_equal(c->port, 8054);
    assert_int_equal(c->max_body, 65536);
    assert_int_equal(c->state_file[0], 0);
    free(c);
    c = parse("rum:\n", err, sizeof err);   /* empty section: defaults */
    assert_non_null(c);
    free(c);
    c = parse("rum: {allow_origins: ['*']}\n", err, sizeof err);
    assert_non_null(c);
    assert_true(c->any_origin);
    free(c);
}

static void test_errors(void **st)
{
    static const struct { const char *yaml, *msg; } cases[] = {
        { "rum:\n  bogus: 1\n", "test.yaml:2:" },
        { "rum: [1]\n", "test.yaml:1:" },
        { "rum:\n  listen: 'not an address'\n", "test.yaml:2: rum.listen" },
        { "rum:\n  allow_origins: ['www.example.test']\n", "test.yaml:2: origin 'www.example.test'" },
        { "rum:\n  allow_origins: ['https://a.test/']\n", "without a path" },
        { "rum:\n  allow_origins: 'https://a.test'\n", "test.yaml:2:" },
        { "rum:\n  trusted_proxies: [10.0.0.1/8]\n", "test.yaml:2: invalid trusted proxy" },
        { "rum:\n  half_life: 0s\n", "test.yaml:2:" },
        { "rum:\n  explore: 0.9\n", "test.yaml:2:" },
        { "rum:\n  margin: -1\n", "test.yaml:2:" },
        { "rum:\n  quantile: 1\n", "test.yaml:2:" },
        { "rum:\n  max_body: 10M\n", "test.yaml:2:" },
        { "rum:\n  max_batch: 1000\n", "test.yaml:2:" },
        { "rum:\n  max_cells: 1\n", "test.yaml:2:" },
        { "rum:\n  rate: {per_second: 0}\n", "test.yaml:2:" },
        { "rum:\n  rate: {per_sec: 1}\n", "test.yaml:2:" },
        { "rum:\n  test_urls:\n    cdn-x: https://x.test/a\n", "test.yaml:3: rum.test_urls: unknown provider 'cdn-x'" },
        { "rum:\n  test_urls:\n    cdn-a: ftp://x.test/a\n", "test.yaml:3: rum.test_urls.cdn-a" },
        { "rum:\n  test_urls:\n    cdn-a: \"https://x.test/a\\\"<script>\"\n", "test.yaml:3:" },
        { "rum:\n  debug_endpoint: maybe\n", "test.yaml:2:" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[1024] = "";
        struct rum_config *c = parse(cases[i].yaml, err, sizeof err);
        if (c)
            fail_msg("case %zu accepted: %s", i, cases[i].yaml);
        if (!strstr(err, cases[i].msg))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
    }
}

static struct net_addr A(const char *s)
{
    struct net_addr a;
    assert_int_equal(net_addr_parse(s, &a), 0);
    return a;
}

static void test_ratelimit(void **st)
{
    struct rum_ratelimit *rl = rum_rl_new(64, 2, 5, 12345);   /* 2/s, burst 5 */
    struct net_addr x = A("192.0.2.1"), y = A("192.0.2.2");
    int64_t t = 1000000;
    for (int i = 0; i < 5; i++)
        assert_true(rum_rl_allow(rl, &x, t));
    assert_false(rum_rl_allow(rl, &x, t));
    assert_true(rum_rl_allow(rl, &y, t));        /* other clients unaffected */
    assert_false(rum_rl_allow(rl, &x, t + 400)); /* 0.8 token */
    assert_true(rum_rl_allow(rl, &x, t + 500));  /* 1 token after 500 ms */
    assert_false(rum_rl_allow(rl, &x, t + 500));
    for (int i = 0; i < 5; i++)                  /* refills only up to the burst */
        assert_true(rum_rl_allow(rl, &x, t + 100000));
    assert_false(rum_rl_allow(rl, &x, t + 100000));
    /* IPv6: one /64 is one client */
    struct net_addr v1 = A("2001:db8:1:2::1"), v2 = A("2001:db8:1:2:ffff::9"), v3 = A("2001:db8:1:3::1");
    for (int i = 0; i < 5; i++)
        assert_true(rum_rl_allow(rl, i % 2 ? &v1 : &v2, t));
    assert_false(rum_rl_allow(rl, &v2, t));
    assert_true(rum_rl_allow(rl, &v3, t));
    rum_rl_free(&rl);
    assert_null(rl);

    /* a flood of distinct clients never grows the table */
    rl = rum_rl_new(100, 1, 1, 7);
    uint32_t cap = rum_rl_capacity(rl);
    assert_int_equal(cap, 128);
    for (uint32_t i = 0; i < 100000; i++) {
        struct net_addr a = { .family = 4 };
        a.bytes[0] = 10;
        a.bytes[1] = (uint8_t)(i >> 16);
        a.bytes[2] = (uint8_t)(i >> 8);
        a.bytes[3] = (uint8_t)i;
        rum_rl_allow(rl, &a, t);
    }
    assert_int_equal(rum_rl_capacity(rl), cap);
    assert_true(rum_rl_evictions(rl) >= 100000 - cap);
    rum_rl_free(&rl);
    assert_null(rum_rl_new(2, 1, 1, 0));
    assert_null(rum_rl_new(64, 0, 1, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_ratelimit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
