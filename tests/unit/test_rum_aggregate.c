/* tests/unit/test_rum_aggregate.c: decay maths with injected time, latency
 * quantiles of the log histogram, bucket levels, bounded memory (LRU). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rum/aggregate.h"

#define T0 1764046800000LL
#define HL 60000LL   /* one-minute half-life */

static struct rum_meas lat(uint16_t prov, double ms, int64_t t)
{
    return (struct rum_meas){ .t_ms = t, .value = ms, .provider = prov, .kind = RUM_LATENCY, .name = -1 };
}

static struct rum_meas failure(uint16_t prov, int64_t t)
{
    return (struct rum_meas){ .t_ms = t, .provider = prov, .kind = RUM_FAILURE, .name = -1 };
}

static const struct rum_geo de = { .asn = 64500, .country = "DE", .continent = "EU" };

static void test_keys(void **st)
{
    struct rum_geo none = { 0 }, cc_only = { .country = "FR", .continent = "EU" };
    assert_int_equal(rum_bucket_key(RUM_LVL_ASN, &none), 0);
    assert_int_equal(rum_bucket_key(RUM_LVL_COUNTRY, &none), 0);
    assert_int_equal(rum_bucket_key(RUM_LVL_CONTINENT, &none), 0);
    assert_int_not_equal(rum_bucket_key(RUM_LVL_GLOBAL, &none), 0);
    assert_int_equal(rum_bucket_key(RUM_LVL_ASN, &cc_only), 0);
    /* distinct per level and per value */
    uint64_t k[4];
    for (int l = 0; l < 4; l++) {
        k[l] = rum_bucket_key((enum rum_level)l, &de);
        assert_int_equal(rum_key_level(k[l]), l);
        for (int j = 0; j < l; j++)
            assert_int_not_equal(k[l], k[j]);
    }
    assert_int_not_equal(rum_bucket_key(RUM_LVL_COUNTRY, &de), rum_bucket_key(RUM_LVL_COUNTRY, &cc_only));
    struct rum_geo de2 = de;
    de2.asn = 64501;
    assert_int_not_equal(rum_bucket_key(RUM_LVL_ASN, &de), rum_bucket_key(RUM_LVL_ASN, &de2));
    char buf[64];
    rum_key_format(k[0], buf, sizeof buf);
    assert_string_equal(buf, "asn:64500/DE");
    rum_key_format(k[2], buf, sizeof buf);
    assert_string_equal(buf, "continent:EU");
    rum_key_format(k[3], buf, sizeof buf);
    assert_string_equal(buf, "global");
}

static void test_levels_counted(void **st)
{
    struct rum_agg *a = rum_agg_new(64, HL);
    struct rum_meas m = lat(1, 30, T0);
    rum_agg_add(a, &de, &m);
    assert_int_equal(rum_agg_count(a), 4);   /* asn, country, continent, global */
    struct rum_geo only_cont = { .continent = "AS" };
    rum_agg_add(a, &only_cont, &m);
    assert_int_equal(rum_agg_count(a), 5);   /* + continent:AS; global shared */
    const struct rum_cell *g = rum_agg_find(a, rum_bucket_key(RUM_LVL_GLOBAL, &de), 1);
    assert_non_null(g);
    assert_true(fabs(g->ok - 2) < 1e-6);
    assert_null(rum_agg_find(a, rum_bucket_key(RUM_LVL_GLOBAL, &de), 2));
    rum_agg_free(&a);
    assert_null(a);
}

static void test_decay(void **st)
{
    struct rum_agg *a = rum_agg_new(64, HL);
    uint64_t key = rum_bucket_key(RUM_LVL_COUNTRY, &de);
    for (int i = 0; i < 100; i++) {
        struct rum_meas m = lat(0, 50, T0);
        rum_agg_add(a, &de, &m);
    }
    struct rum_stats s;
    const struct rum_cell *c = rum_agg_find(a, key, 0);
    rum_cell_stats(c, HL, T0, 0.5, &s);
    assert_true(fabs(s.samples - 100) < 1e-3);
    rum_cell_stats(c, HL, T0 + HL, 0.5, &s);      /* one half-life: half */
    assert_true(fabs(s.samples - 50) < 1e-3);
    rum_cell_stats(c, HL, T0 + 3 * HL, 0.5, &s);  /* three: an eighth */
    assert_true(fabs(s.samples - 12.5) < 1e-3);
    /* a new sample one half-life later: 100/2 + 1 */
    struct rum_meas m = failure(0, T0 + HL);
    rum_agg_add(a, &de, &m);
    rum_cell_stats(c, HL, T0 + HL, 0.5, &s);
    assert_true(fabs(s.samples - 51) < 1e-3);
    assert_true(fabs(s.success - 50.0 / 51) < 1e-4);
    /* a sample dated before the cell's time counts at its decayed weight */
    m = failure(0, T0);
    rum_agg_add(a, &de, &m);
    rum_cell_stats(c, HL, T0 + HL, 0.5, &s);
    assert_true(fabs(s.samples - 51.5) < 1e-3);
    assert_true(fabs(s.success - 50.0 / 51.5) < 1e-4);
    /* decay shifts the mix: old slow samples fade behind new fast ones */
    struct rum_agg *b = rum_agg_new(64, HL);
    for (int i = 0; i < 100; i++) {
        struct rum_meas x = lat(0, 200, T0);
        rum_agg_add(b, &de, &x);
    }
    for (int i = 0; i < 100; i++) {
        struct rum_meas x = lat(0, 20, T0 + 4 * HL);   /* old ones weigh 1/16 now */
        rum_agg_add(b, &de, &x);
    }
    rum_cell_stats(rum_agg_find(b, key, 0), HL, T0 + 4 * HL, 0.5, &s);
    assert_true(s.p50 > 18 && s.p50 < 23);
    assert_true(s.p95 > 150);   /* 6.25 of 106.25 samples are slow: still in the tail */
    rum_agg_free(&a);
    rum_agg_free(&b);
}

static void test_quantiles(void **st)
{
    /* 1000 samples 1..1000 ms: median ~500, p95 ~950; the log bins are ~19%
     * wide and interpolated, so within 10% */
    float hist[RUM_HIST_BINS] = { 0 };
    for (int i = 1; i <= 1000; i++)
        hist[rum_hist_bin(i)] += 1;
    double q50 = rum_hist_quantile(hist, 0.5), q95 = rum_hist_quantile(hist, 0.95);
    assert_true(fabs(q50 - 500) / 500 < 0.10);
    assert_true(fabs(q95 - 950) / 950 < 0.10);
    assert_true(rum_hist_quantile(hist, 0.5) < rum_hist_quantile(hist, 0.6));
    float empty[RUM_HIST_BINS] = { 0 };
    assert_true(rum_hist_quantile(empty, 0.5) == 0);
    /* bin edges */
    assert_int_equal(rum_hist_bin(0.5), 0);
    assert_int_equal(rum_hist_bin(1.0), 1);
    assert_int_equal(rum_hist_bin(60000), RUM_HIST_BINS - 1);
    assert_int_equal(rum_hist_bin(1e9), RUM_HIST_BINS - 1);
    assert_int_equal(rum_hist_bin(NAN), 0);
    for (double v = 1; v < 60000; v *= 1.07)
        assert_true(rum_hist_bin(v) <= rum_hist_bin(v * 1.07));
    /* a single value: the estimate stays inside its bin */
    float one[RUM_HIST_BINS] = { 0 };
    one[rum_hist_bin(40)] = 5;
    double e = rum_hist_quantile(one, 0.5);
    assert_true(e > 40 / 1.2 && e < 40 * 1.2);
}

static void test_lru_bounded(void **st)
{
    struct rum_agg *a = rum_agg_new(32, HL);
    /* 1000 client networks x 1 provider: 1000 ASN buckets, far over 32 */
    for (uint32_t i = 0; i < 1000; i++) {
        struct rum_geo g = { .asn = 1000 + i, .country = "DE", .continent = "EU" };
        struct rum_meas m = lat(0, 10, T0 + i);
        rum_agg_add(a, &g, &m);
        assert_true(rum_agg_count(a) <= 32);
    }
    assert_int_equal(rum_agg_count(a), 32);
    assert_true(rum_agg_evictions(a) > 900);
    /* the shared buckets (country/continent/global) are touched by every
     * sample, so they stay; the oldest ASN buckets went */
    struct rum_geo last = { .asn = 1999, .country = "DE", .continent = "EU" }, first = { .asn = 1000 };
    assert_non_null(rum_agg_find(a, rum_bucket_key(RUM_LVL_ASN, &last), 0));
    assert_null(rum_agg_find(a, rum_bucket_key(RUM_LVL_ASN, &first), 0));
    const struct rum_cell *g = rum_agg_find(a, rum_bucket_key(RUM_LVL_GLOBAL, &last), 0);
    assert_non_null(g);
    assert_true(g->ok > 990);
    /* every cell is still findable through the index (deletions kept probing intact) */
    for (size_t i = 0; i < rum_agg_count(a); i++) {
        const struct rum_cell *c = rum_agg_cell(a, i);
        assert_ptr_equal(rum_agg_find(a, c->key, c->prov), c);
    }
    rum_agg_free(&a);
}

static void test_put_cell(void **st)
{
    struct rum_agg *a = rum_agg_new(16, HL);
    struct rum_cell c = { .key = rum_bucket_key(RUM_LVL_GLOBAL, &de), .t_ms = T0, .prov = 3, .ok = 10 };
    c.hist[rum_hist_bin(25)] = 10;
    assert_int_equal(rum_agg_put_cell(a, &c), 0);
    const struct rum_cell *f = rum_agg_find(a, c.key, 3);
    assert_non_null(f);
    assert_true(f->ok == 10);
    c.ok = NAN;
    assert_int_equal(rum_agg_put_cell(a, &c), -1);
    c.ok = 1;
    c.hist[0] = -1;
    assert_int_equal(rum_agg_put_cell(a, &c), -1);
    c.hist[0] = 0;
    c.key = 99;   /* no level */
    assert_int_equal(rum_agg_put_cell(a, &c), -1);
    assert_null(rum_agg_new(0, HL));
    assert_null(rum_agg_new(10, 0));
    rum_agg_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_levels_counted),
        cmocka_unit_test(test_decay),
        cmocka_unit_test(test_quantiles),
        cmocka_unit_test(test_lru_bounded),
        cmocka_unit_test(test_put_cell),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
