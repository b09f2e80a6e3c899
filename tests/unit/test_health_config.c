/* Unit tests: health/config.h parsing, defaults and file:line errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/cfg.h"
#include "health/config.h"

static struct health_config *parse_ok(const char *yaml)
{
    struct cfg_ctx ctx;
    struct health_config *c = NULL;
    if (cfg_load_string(&ctx, "t.yaml", yaml, strlen(yaml)) < 0)
        fail_msg("yaml: %s", ctx.err);
    if (health_config_parse(&ctx, &c) < 0)
        fail_msg("parse: %s", ctx.err);
    cfg_free(&ctx);
    return c;
}

/* Expects a parse error whose text contains `want`. */
static void parse_err(const char *yaml, const char *want)
{
    struct cfg_ctx ctx;
    struct health_config *c = NULL;
    int rc = cfg_load_string(&ctx, "t.yaml", yaml, strlen(yaml));
    if (rc == 0)
        rc = health_config_parse(&ctx, &c);
    if (rc == 0)
        fail_msg("expected error '%s' for:\n%s", want, yaml);
    if (!strstr(ctx.err, want))
        fail_msg("error '%s' does not contain '%s'", ctx.err, want);
    assert_null(c);
    cfg_free(&ctx);
}

static void test_absent_section(void **st)
{
    struct health_config *c = parse_ok("providers: {a: 1}\nzones: []\n");
    assert_int_equal(c->nchecks, 0);
    assert_int_equal(c->publish_delay_ms, HEALTH_DFLT_PUBLISH_MS);
    assert_string_equal(c->state_file, "");
    health_config_free(&c);
    assert_null(c);
    /* empty or null sections are absent sections */
    static const char *empty[] = { "health:\nother: 1\n", "health: ~\n", "health: {}\n",
                                   "health:\n  checks:\n  defaults: null\n" };
    for (int i = 0; i < 4; i++) {
        c = parse_ok(empty[i]);
        assert_int_equal(c->nchecks, 0);
        health_config_free(&c);
    }
}

static void test_defaults(void **st)
{
    struct health_config *c = parse_ok(
        "other: x\n"
        "health:\n"
        "  checks:\n"
        "    t1: {type: tcp, target: \"127.0.0.1:80\"}\n"
        "    h1: {type: http, target: \"127.0.0.1:8080\"}\n");
    assert_int_equal(c->nchecks, 2);
    const struct health_check_cfg *t = health_config_find(c, "t1");
    assert_non_null(t);
    assert_int_equal(t->type, HC_TCP);
    assert_int_equal(t->port, 80);
    assert_int_equal(t->interval_ms, 1000);
    assert_int_equal(t->timeout_ms, 1000);
    assert_int_equal(t->jitter_ms, 100);
    assert_int_equal(t->rise, 3);
    assert_int_equal(t->fall, 2);
    assert_int_equal(t->fast_ms, 250);
    const struct health_check_cfg *h = health_config_find(c, "h1");
    assert_string_equal(h->method, "GET");
    assert_string_equal(h->path, "/");
    assert_true(health_status_ok(h, 200));
    assert_false(health_status_ok(h, 204));
    assert_false(health_status_ok(h, 700));
    assert_int_equal(h->max_body, 64 * 1024);
    assert_null(health_config_find(c, "nope"));
    health_config_free(&c);
}

static void test_full(void **st)
{
    struct health_config *c = parse_ok(
        "health:\n"
        "  defaults: {interval: 500ms, rise: 2, fall: 1, jitter: 0, max_body: 4k}\n"
        "  publish_delay: 20ms\n"
        "  state_file: state/health.state\n"
        "  checks:\n"
        "    web:\n"
        "      type: https\n"
        "      url: \"https://edge.example.test:8443/healthz?x=1\"\n"
        "      target: \"[::1]:9443\"\n"
        "      expect_status: [200, 3xx]\n"
        "      expect_body: ready\n"
        "      ca_file: ca.pem\n"
        "      timeout: 300ms\n"
        "    lit:\n"
        "      type: http\n"
        "      url: \"http://127.0.0.2/\"\n"
        "      method: HEAD\n"
        "      host: www.example.test\n"
        "      expect_status: 204\n"
        "      interval: 2s\n"
        "    cdn:\n"
        "      type: dns\n"
        "      resolver: \"127.0.0.1:5353\"\n"
        "      name: d1.cdn.test.\n"
        "      qtype: aaaa\n");
    assert_int_equal(c->publish_delay_ms, 20);
    assert_string_equal(c->state_file, "./state/health.state");
    const struct health_check_cfg *w = health_config_find(c, "web");
    assert_int_equal(w->type, HC_HTTPS);
    assert_int_equal(w->addr.family, 6);
    assert_int_equal(w->port, 9443);
    assert_string_equal(w->host, "edge.example.test");
    assert_string_equal(w->sni, "edge.example.test");
    assert_string_equal(w->path, "/healthz?x=1");
    assert_string_equal(w->ca_file, "./ca.pem");
    assert_true(w->verify);
    assert_true(health_status_ok(w, 200));
    assert_true(health_status_ok(w, 301));
    assert_false(health_status_ok(w, 404));
    assert_string_equal(w->expect_body, "ready");
    assert_int_equal(w->interval_ms, 500);
    assert_int_equal(w->timeout_ms, 300);
    assert_int_equal(w->rise, 2);
    assert_int_equal(w->fall, 1);
    assert_int_equal(w->max_body, 4096);
    const struct health_check_cfg *l = health_config_find(c, "lit");
    assert_int_equal(l->port, 80);
    assert_string_equal(l->method, "HEAD");
    assert_string_equal(l->host, "www.example.test");
    assert_true(health_status_ok(l, 204));
    assert_false(health_status_ok(l, 200));
    assert_int_equal(l->interval_ms, 2000);
    assert_int_equal(l->timeout_ms, 1000);   /* default timeout, not the interval */
    const struct health_check_cfg *d = health_config_find(c, "cdn");
    assert_int_equal(d->type, HC_DNS);
    assert_int_equal(d->resolver_port, 5353);
    assert_string_equal(d->qname, "d1.cdn.test.");
    assert_int_equal(d->qtype, 28);
    assert_true(health_check_cfg_same(w, w));
    assert_false(health_check_cfg_same(w, l));
    health_config_free(&c);
}

static void test_timeout_capped_by_interval(void **st)
{
    struct health_config *c = parse_ok(
        "health:\n  checks:\n    a: {type: tcp, target: \"127.0.0.1:1\", interval: 50ms, jitter: 5ms}\n");
    assert_int_equal(c->checks[0].timeout_ms, 50);
    assert_int_equal(c->checks[0].fast_ms, 50);
    health_config_free(&c);
}

static void test_errors(void **st)
{
    parse_err("health: [1]\n", "t.yaml:1: health must be a mapping");
    parse_err("health:\n  bogus: 1\n", "t.yaml:2:");
    parse_err("health:\n  checks:\n    a: {type: tcp}\n", "t.yaml:3: check 'a': missing 'target'");
    parse_err("health:\n  checks:\n    a: {type: ftp, target: \"127.0.0.1:1\"}\n", "type must be");
    parse_err("health:\n  checks:\n    a: {type: tcp, target: \"localhost:1\"}\n", "not an address:port");
    parse_err("health:\n  checks:\n    a: {type: tcp, target: \"127.0.0.1\"}\n", "not an address:port");
    parse_err("health:\n  checks:\n    a: {type: tcp, target: \"127.0.0.1:1\", path: /}\n",
              "'path' does not apply to tcp");
    parse_err("health:\n  checks:\n    a: {type: http, target: \"127.0.0.1:1\", sni: x}\n",
              "'sni' does not apply to http");
    parse_err("health:\n  checks:\n    a: {type: dns, resolver: \"127.0.0.1\", name: x., target: \"1.2.3.4:5\"}\n",
              "'target' does not apply to dns");
    parse_err("health:\n  checks:\n    a: {type: http, url: \"http://name.test/\"}\n", "needs 'target'");
    parse_err("health:\n  checks:\n    a: {type: https, url: \"http://127.0.0.1/\"}\n", "scheme does not match");
    parse_err("health:\n  checks:\n    a: {type: http, url: \"gopher://127.0.0.1/\"}\n", "bad url");
    parse_err("health:\n  checks:\n    a: {type: http, url: \"http://127.0.0.1:99999/\"}\n", "bad url");
    parse_err("health:\n  checks:\n    a: {type: http, target: \"127.0.0.1:1\", path: nope}\n", "path must start");
    parse_err("health:\n  checks:\n    a: {type: http, target: \"127.0.0.1:1\", method: \"G T\"}\n", "bad method");
    parse_err("health:\n  checks:\n    a: {type: http, target: \"127.0.0.1:1\", expect_status: [200, 700]}\n",
              "'700' is not a status");
    parse_err("health:\n  checks:\n    a: {type: http, target: \"127.0.0.1:1\", expect_status: []}\n",
              "must not be empty");
    parse_err("health:\n  checks:\n    a: {type: http, target: \"127.0.0.1:1\", max_body: 2, expect_body: abc}\n",
              "longer than max_body");
    parse_err("health:\n  checks:\n    a: {type: http, target: \"127.0.0.1:1\", method: HEAD, expect_body: x}\n",
              "not HEAD");
    parse_err("health:\n  checks:\n    a: {type: tcp, target: \"127.0.0.1:1\", rise: 0}\n", "t.yaml:3:");
    parse_err("health:\n  checks:\n    a: {type: tcp, target: \"127.0.0.1:1\", fall: 101}\n", "t.yaml:3:");
    parse_err("health:\n  checks:\n    a: {type: tcp, target: \"127.0.0.1:1\", interval: 1ms}\n", "t.yaml:3:");
    parse_err("health:\n  checks:\n    a: {type: tcp, target: \"127.0.0.1:1\", interval: 1s, timeout: 2s}\n",
              "timeout 2000ms exceeds interval");
    parse_err("health:\n  checks:\n    a: {type: tcp, target: \"127.0.0.1:1\", interval: 1s, jitter: 600ms}\n",
              "jitter 600ms exceeds half");
    parse_err("health:\n  checks:\n    a: {type: dns, resolver: \"x\", name: a.}\n", "resolver 'x'");
    parse_err("health:\n  checks:\n    a: {type: dns, resolver: \"127.0.0.1\"}\n", "missing required key 'name'");
    parse_err("health:\n  checks:\n    a: {type: dns, resolver: \"127.0.0.1\", name: \"a..b\"}\n", "bad DNS name");
    parse_err("health:\n  checks:\n    a: {type: dns, resolver: \"127.0.0.1\", name: a., qtype: MX}\n",
              "qtype must be A or AAAA");
    parse_err("health:\n  checks:\n    \"a b\": {type: tcp, target: \"127.0.0.1:1\"}\n", "bad check name");
    parse_err("health:\n  checks:\n    a: {type: tcp, target: \"127.0.0.1:1\"}\n    a: {type: tcp, target: \"127.0.0.1:2\"}\n",
              "t.yaml:");
    parse_err("health:\n  defaults: {rise: 1000}\n", "t.yaml:2:");
    parse_err("health:\n  checks:\n    a: {type: tcp, target: \"127.0.0.1:1\", interval: 1s, fast_interval: 2s}\n",
              "fast_interval 2000ms exceeds interval");
    parse_err("health:\n  defaults: {color: red}\n", "t.yaml:2:");
    parse_err("health:\n  checks:\n    a: 5\n", "a check must be a mapping");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absent_section),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_timeout_capped_by_interval),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("health_config", tests, NULL, NULL);
}
