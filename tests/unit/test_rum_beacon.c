/* tests/unit/test_rum_beacon.c: beacon parsing and validation (JSON batches
 * and query strings): every refusal reason, value ranges, timestamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rum/beacon.h"

static const char *const provs[] = { "cdn-a", "cdn-b", "pop-eu", NULL };

static int prov_find(void *ctx, const char *n)
{
    for (int i = 0; provs[i]; i++)
        if (!strcmp(provs[i], n))
            return i;
    return -1;
}

static int name_find(void *ctx, const char *n)
{
    return !strcmp(n, "www.cdn.example.test") || !strcmp(n, "www.cdn.example.test.") ? 7 : -1;
}

static const struct rum_lookup lk = { .provider = prov_find };
static const struct rum_lookup lk_names = { .provider = prov_find, .name = name_find };

#define NOW 1764046800000LL
static const struct rum_parse_opts opts = { .now_ms = NOW, .max_age_ms = 600000, .max_batch = 8, .max_body = 4096 };

static struct rum_meas m[RUM_MAX_BATCH];

static enum rum_reason J(const char *s, size_t *n)
{
    return rum_beacon_parse_json(s, strlen(s), &opts, &lk, m, n);
}

static enum rum_reason Q(const char *s, size_t *n)
{
    return rum_beacon_parse_query(s, strlen(s), &opts, &lk, m, n);
}

static void test_json_valid(void **st)
{
    size_t n;
    assert_int_equal(J("{\"m\":[{\"p\":\"cdn-a\",\"k\":\"latency\",\"v\":41.5},"
                       "{\"provider\":\"cdn-b\",\"kind\":\"throughput\",\"value\":25000},"
                       "{\"p\":\"pop-eu\",\"k\":\"failure\"}]}", &n), RUM_R_OK);
    assert_int_equal(n, 3);
    assert_int_equal(m[0].provider, 0);
    assert_int_equal(m[0].kind, RUM_LATENCY);
    assert_true(m[0].value == 41.5);
    assert_int_equal(m[0].t_ms, NOW);   /* no ts: measured now */
    assert_int_equal(m[0].name, -1);
    assert_int_equal(m[1].provider, 1);
    assert_int_equal(m[1].kind, RUM_THROUGHPUT);
    assert_int_equal(m[2].kind, RUM_FAILURE);
    assert_true(m[2].value == 0);
    /* long key for the list, short kinds, failure value ignored */
    assert_int_equal(J("{\"measurements\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":1},{\"p\":\"cdn-a\",\"k\":\"f\",\"v\":99}]}", &n),
                     RUM_R_OK);
    assert_int_equal(n, 2);
    assert_true(m[1].value == 0);
}

static void test_json_malformed(void **st)
{
    size_t n = 99;
    static const char *const bad_json[] = {
        "", "{", "{\"m\":[}", "nul", "{\"m\":[{\"p\":\"cdn-a\",}]}", "\xff\xfe", "[1,2", "{\"m\":[{\"p\":\"cdn-a\"\x00}]}",
        "{\"m\":[{\"p\":\"cdn-a\",\"p\":\"cdn-b\",\"k\":\"l\",\"v\":1}]}",   /* duplicate key */
        NULL };
    for (int i = 0; bad_json[i]; i++) {
        assert_int_equal(J(bad_json[i], &n), RUM_R_JSON);
        assert_int_equal(n, 0);
    }
    static const char *const bad_shape[] = {
        "[]", "42", "\"m\"", "{}", "{\"m\":{}}", "{\"m\":\"x\"}", "{\"m\":[1]}", "{\"m\":[[]]}", NULL };
    for (int i = 0; bad_shape[i]; i++)
        assert_int_equal(J(bad_shape[i], &n), RUM_R_SHAPE);
    assert_int_equal(J("{\"m\":[]}", &n), RUM_R_EMPTY);
    /* deep nesting is refused by the JSON layer, not a stack overflow */
    char deep[4000];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = 0;
    assert_int_equal(J(deep, &n), RUM_R_JSON);
}

static void test_json_fields(void **st)
{
    size_t n;
    assert_int_equal(J("{\"m\":[{\"p\":\"cdn-z\",\"k\":\"latency\",\"v\":4}]}", &n), RUM_R_PROVIDER);
    assert_int_equal(J("{\"m\":[{\"k\":\"latency\",\"v\":4}]}", &n), RUM_R_PROVIDER);
    assert_int_equal(J("{\"m\":[{\"p\":7,\"k\":\"latency\",\"v\":4}]}", &n), RUM_R_PROVIDER);
    assert_int_equal(J("{\"m\":[{\"p\":\"\",\"k\":\"latency\",\"v\":4}]}", &n), RUM_R_PROVIDER);
    assert_int_equal(J("{\"m\":[{\"p\":\"cdn-a\",\"k\":\"speed\",\"v\":4}]}", &n), RUM_R_KIND);
    assert_int_equal(J("{\"m\":[{\"p\":\"cdn-a\",\"v\":4}]}", &n), RUM_R_KIND);
    assert_int_equal(J("{\"m\":[{\"p\":\"cdn-a\",\"k\":1,\"v\":4}]}", &n), RUM_R_KIND);
    /* one bad measurement refuses the batch */
    assert_int_equal(J("{\"m\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":4},{\"p\":\"nope\",\"k\":\"l\",\"v\":4}]}", &n),
                     RUM_R_PROVIDER);
    assert_int_equal(n, 0);
}

static void test_values(void **st)
{
    size_t n;
    static const char *const bad[] = {
        "{\"m\":[{\"p\":\"cdn-a\",\"k\":\"latency\"}]}",
        "{\"m\":[{\"p\":\"cdn-a\",\"k\":\"latency\",\"v\":null}]}",
        "{\"m\":[{\"p\":\"cdn-a\",\"k\":\"latency\",\"v\":\"40\"}]}",
        "{\"m\":[{\"p\":\"cdn-a\",\"k\":\"latency\",\"v\":0}]}",
        "{\"m\":[{\"p\":\"cdn-a\",\"k\":\"latency\",\"v\":-3}]}",
        "{\"m\":[{\"p\":\"cdn-a\",\"k\":\"latency\",\"v\":60000.5}]}",
        "{\"m\":[{\"p\":\"cdn-a\",\"k\":\"latency\",\"v\":1e308}]}",
        "{\"m\":[{\"p\":\"cdn-a\",\"k\":\"throughput\",\"v\":0.5}]}",
        "{\"m\":[{\"p\":\"cdn-a\",\"k\":\"throughput\",\"v\":100000001}]}",
        "{\"m\":[{\"p\":\"cdn-a\",\"k\":\"throughput\"}]}",
        NULL };
    for (int i = 0; bad[i]; i++)
        assert_int_equal(J(bad[i], &n), RUM_R_VALUE);
    assert_int_equal(J("{\"m\":[{\"p\":\"cdn-a\",\"k\":\"latency\",\"v\":60000}]}", &n), RUM_R_OK);
    assert_int_equal(J("{\"m\":[{\"p\":\"cdn-a\",\"k\":\"latency\",\"v\":0.01}]}", &n), RUM_R_OK);
    assert_int_equal(J("{\"m\":[{\"p\":\"cdn-a\",\"k\":\"throughput\",\"v\":100000000}]}", &n), RUM_R_OK);
    assert_int_equal(J("{\"m\":[{\"p\":\"cdn-a\",\"k\":\"throughput\",\"v\":1}]}", &n), RUM_R_OK);
}

static void test_sizes(void **st)
{
    size_t n;
    /* max_batch 8 */
    char buf[8192];
    size_t o = (size_t)snprintf(buf, sizeof buf, "{\"m\":[");
    for (int i = 0; i < 9; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":%d}", i ? "," : "", i + 1);
    snprintf(buf + o, sizeof buf - o, "]}");
    assert_int_equal(J(buf, &n), RUM_R_TOO_MANY);
    /* 8 is fine */
    char *cut = strstr(buf, ",{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":9}");
    assert_non_null(cut);
    strcpy(cut, "]}");
    assert_int_equal(J(buf, &n), RUM_R_OK);
    assert_int_equal(n, 8);
    /* body over max_body (4096) */
    char *big = malloc(5000);
    memset(big, ' ', 4999);
    big[4999] = 0;
    const char *one = "{\"m\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":1}]}";
    memcpy(big, one, strlen(one));
    assert_int_equal(J(big, &n), RUM_R_TOO_LARGE);
    big[4096] = 0;   /* exactly the limit: accepted (trailing whitespace is valid JSON) */
    assert_int_equal(J(big, &n), RUM_R_OK);
    free(big);
}

static void test_names(void **st)
{
    size_t n;
    const char *b = "{\"name\":\"www.cdn.example.test\",\"m\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":3},"
                    "{\"p\":\"cdn-b\",\"k\":\"l\",\"v\":3,\"name\":\"other.example.\"}]}";
    assert_int_equal(rum_beacon_parse_json(b, strlen(b), &opts, &lk, m, &n), RUM_R_OK);   /* syntax only */
    assert_int_equal(rum_beacon_parse_json(b, strlen(b), &opts, &lk_names, m, &n), RUM_R_NAME);
    b = "{\"name\":\"www.cdn.example.test\",\"m\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":3}]}";
    assert_int_equal(rum_beacon_parse_json(b, strlen(b), &opts, &lk_names, m, &n), RUM_R_OK);
    assert_int_equal(m[0].name, 7);
    static const char *const bad[] = {
        "{\"name\":\"a..b\",\"m\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":3}]}",
        "{\"name\":\"a b\",\"m\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":3}]}",
        "{\"name\":\"\",\"m\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":3}]}",
        "{\"name\":5,\"m\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":3}]}",
        "{\"m\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":3,\"name\":[]}]}",
        NULL };
    for (int i = 0; bad[i]; i++)
        assert_int_equal(J(bad[i], &n), RUM_R_NAME);
    char longname[300];
    memset(longname, 'a', 64);
    snprintf(longname + 64, sizeof longname - 64, ".example");
    char body[512];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"m\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":3}]}", longname);
    assert_int_equal(J(body, &n), RUM_R_NAME);   /* label > 63 */
}

static void test_timestamps(void **st)
{
    size_t n;
    char b[256];
    /* in the past, within max_age: kept */
    snprintf(b, sizeof b, "{\"m\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":3,\"ts\":%lld}]}", NOW - 5000);
    assert_int_equal(J(b, &n), RUM_R_OK);
    assert_int_equal(m[0].t_ms, NOW - 5000);
    /* in the future (skewed clock): clamped to now */
    snprintf(b, sizeof b, "{\"ts\":%lld,\"m\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":3}]}", NOW + 3600000);
    assert_int_equal(J(b, &n), RUM_R_OK);
    assert_int_equal(m[0].t_ms, NOW);
    /* hours old: raised to now - max_age */
    snprintf(b, sizeof b, "{\"ts\":%lld,\"m\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":3}]}", NOW - 5 * 3600000LL);
    assert_int_equal(J(b, &n), RUM_R_OK);
    assert_int_equal(m[0].t_ms, NOW - 600000);
    /* per-measurement ts wins over the batch ts */
    snprintf(b, sizeof b, "{\"ts\":%lld,\"m\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":3,\"ts\":%lld}]}", NOW, NOW - 1000);
    assert_int_equal(J(b, &n), RUM_R_OK);
    assert_int_equal(m[0].t_ms, NOW - 1000);
    /* garbage clocks */
    snprintf(b, sizeof b, "{\"ts\":%lld,\"m\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":3}]}", NOW - 2 * RUM_TS_INSANE_MS);
    assert_int_equal(J(b, &n), RUM_R_TIMESTAMP);
    assert_int_equal(J("{\"ts\":0,\"m\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":3}]}", &n), RUM_R_TIMESTAMP);
    assert_int_equal(J("{\"ts\":\"now\",\"m\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":3}]}", &n), RUM_R_TIMESTAMP);
    assert_int_equal(J("{\"m\":[{\"p\":\"cdn-a\",\"k\":\"l\",\"v\":3,\"ts\":1e300}]}", &n), RUM_R_TIMESTAMP);
}

static void test_query(void **st)
{
    size_t n;
    assert_int_equal(Q("m=cdn-a:latency:42&m=cdn-b:f&_=123", &n), RUM_R_OK);
    assert_int_equal(n, 2);
    assert_true(m[0].value == 42);
    assert_int_equal(m[1].kind, RUM_FAILURE);
    assert_int_equal(Q("m=cdn-a%3Al%3A12.5", &n), RUM_R_OK);   /* percent-encoded colons */
    assert_true(m[0].value == 12.5);
    assert_int_equal(Q("name=www.cdn.example.test&m=pop-eu:t:1000", &n), RUM_R_OK);
    char b[128];
    snprintf(b, sizeof b, "ts=%lld&m=cdn-a:l:4", NOW - 2000);
    assert_int_equal(Q(b, &n), RUM_R_OK);
    assert_int_equal(m[0].t_ms, NOW - 2000);

    assert_int_equal(Q("", &n), RUM_R_EMPTY);
    assert_int_equal(Q("_=1", &n), RUM_R_EMPTY);
    assert_int_equal(Q("m", &n), RUM_R_QUERY);
    assert_int_equal(Q("m=cdn-a", &n), RUM_R_QUERY);
    assert_int_equal(Q("m=cdn-a%zz:l:3", &n), RUM_R_QUERY);
    assert_int_equal(Q("m=cdn-a:l:3%", &n), RUM_R_QUERY);
    assert_int_equal(Q("m=cdn-a:l:3%4", &n), RUM_R_QUERY);
    assert_int_equal(Q("m=cdn-a%00:l:3", &n), RUM_R_QUERY);
    assert_int_equal(Q("m=cdn-q:l:3", &n), RUM_R_PROVIDER);
    assert_int_equal(Q("m=cdn-a:x:3", &n), RUM_R_KIND);
    assert_int_equal(Q("m=cdn-a:l:abc", &n), RUM_R_VALUE);
    assert_int_equal(Q("m=cdn-a:l:", &n), RUM_R_VALUE);
    assert_int_equal(Q("m=cdn-a:l: 3", &n), RUM_R_VALUE);
    assert_int_equal(Q("m=cdn-a:l:70000", &n), RUM_R_VALUE);
    assert_int_equal(Q("m=cdn-a:l", &n), RUM_R_VALUE);
    assert_int_equal(Q("ts=x&m=cdn-a:l:3", &n), RUM_R_TIMESTAMP);
    assert_int_equal(Q("ts=1&ts=2&m=cdn-a:l:3", &n), RUM_R_TIMESTAMP);
    assert_int_equal(Q("name=a..b&m=cdn-a:l:3", &n), RUM_R_NAME);
    assert_int_equal(Q("m=cdn-a:l:1&m=cdn-a:l:1&m=cdn-a:l:1&m=cdn-a:l:1&m=cdn-a:l:1&m=cdn-a:l:1&m=cdn-a:l:1&m=cdn-a:l:1&m=cdn-a:l:1",
                       &n), RUM_R_TOO_MANY);
    char *huge = malloc(9000);
    memset(huge, 'a', 8999);
    huge[8999] = 0;
    assert_int_equal(Q(huge, &n), RUM_R_TOO_LARGE);
    free(huge);
    assert_int_equal(n, 0);
}

static void test_names_of(void **st)
{
    for (int r = 0; r < RUM_NREASONS; r++)
        assert_string_not_equal(rum_reason_name((enum rum_reason)r), "?");
    assert_string_equal(rum_reason_name(RUM_R_PROVIDER), "provider");
    assert_int_equal(rum_kind_parse("throughput"), RUM_THROUGHPUT);
    assert_int_equal(rum_kind_parse("Latency"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_valid),
        cmocka_unit_test(test_json_malformed),
        cmocka_unit_test(test_json_fields),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_names_of),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
