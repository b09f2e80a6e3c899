/* tests/unit/test_rum_scores.c: the score table and the rum decision rule:
 * fallback up the hierarchy, hysteresis, weights as cost preference,
 * exploration share, health-filtered candidates, readers under RCU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "rum/scores.h"

#define T0 1764046800000LL
#define HL 600000LL

enum { A = 0, B = 1, C = 2 };

static const struct rum_geo de1 = { .asn = 64500, .country = "DE", .continent = "EU" };
static const struct rum_geo de2 = { .asn = 64999, .country = "DE", .continent = "EU" };
static const struct rum_geo fr = { .asn = 64777, .country = "FR", .continent = "EU" };
static const struct rum_geo jp = { .asn = 64800, .country = "JP", .continent = "AS" };

static void feed(struct rum_agg *a, const struct rum_geo *g, uint16_t prov, double ms, int n, int64_t t)
{
    for (int i = 0; i < n; i++) {   /* spread +-40% around ms, like real samples */
        double v = n > 1 ? ms * (0.6 + 0.8 * i / (n - 1)) : ms;
        struct rum_meas m = { .t_ms = t, .value = v, .provider = prov, .kind = RUM_LATENCY, .name = -1 };
        rum_agg_add(a, g, &m);
    }
}

static struct rum_pool_set *pools_ab(uint32_t wa, uint32_t wb)
{
    struct rum_pool_set *s = rum_pool_set_new(1);
    s->pool[0].n = 2;
    s->pool[0].prov[0] = A;
    s->pool[0].prov[1] = B;
    s->pool[0].weight[0] = wa;
    s->pool[0].weight[1] = wb;
    return s;
}

static struct rum_params params(void)
{
    struct rum_params p;
    rum_params_default(&p);
    p.min_samples = 10;
    p.explore = 0;
    p.margin = 0.10;
    return p;
}

static uint16_t first(const struct steer_rum_table *t, const struct rum_geo *g, enum rum_level *lvl)
{
    uint16_t r[RUM_POOL_MAX];
    unsigned n = rum_table_ranking(t, g, 0, r, RUM_POOL_MAX, lvl);
    return n ? r[0] : UINT16_MAX;
}

static void test_fallback(void **st)
{
    struct rum_agg *a = rum_agg_new(1024, HL);
    struct rum_pool_set *ps = pools_ab(1, 1);
    struct rum_params p = params();
    enum rum_level lvl;
    /* no data: nobody decides, keys untouched */
    struct steer_rum_table *t = rum_table_build(a, ps, &p, NULL, T0);
    double key[2] = { 7, 7 };
    uint16_t cand[2] = { A, B };
    assert_int_equal(rum_rank_keys(t, &de1, 0, cand, 2, 1, key, NULL), RUM_LVL_NONE);
    assert_true(key[0] == 7 && key[1] == 7);
    rum_table_free(&t);

    /* ASN 64500 has plenty: A fast there. DE has another ASN where B is fast
     * (fewer samples). JP only has 5 samples each: not trusted anywhere but global. */
    feed(a, &de1, A, 20, 50, T0);
    feed(a, &de1, B, 80, 50, T0);
    feed(a, &de2, A, 90, 60, T0);
    feed(a, &de2, B, 30, 60, T0);
    feed(a, &jp, A, 200, 5, T0);
    feed(a, &jp, B, 100, 5, T0);
    t = rum_table_build(a, ps, &p, NULL, T0);
    assert_int_equal(first(t, &de1, &lvl), A);
    assert_int_equal(lvl, RUM_LVL_ASN);
    assert_int_equal(first(t, &de2, &lvl), B);
    assert_int_equal(lvl, RUM_LVL_ASN);
    /* another German ASN without data: country level (A 20/90, B 80/30 -> medians) */
    struct rum_geo de3 = { .asn = 1, .country = "DE", .continent = "EU" };
    first(t, &de3, &lvl);
    assert_int_equal(lvl, RUM_LVL_COUNTRY);
    /* France: continent EU */
    first(t, &fr, &lvl);
    assert_int_equal(lvl, RUM_LVL_CONTINENT);
    /* Japan: its ASN, country and continent have 5 < 10 samples: global */
    first(t, &jp, &lvl);
    assert_int_equal(lvl, RUM_LVL_GLOBAL);
    /* scores: per provider, most specific trusted level */
    struct rum_score s;
    assert_int_equal(rum_table_score(t, &de1, A, &s), RUM_LVL_ASN);
    assert_true(s.trusted && s.p50 > 15 && s.p50 < 25 && fabs(s.samples - 50) < 0.01);
    assert_int_equal(rum_table_score(t, &jp, B, &s), RUM_LVL_GLOBAL);
    assert_int_equal(rum_table_score(t, &de1, C, &s), RUM_LVL_NONE);
    rum_table_free(&t);

    /* decay alone moves the decision up: an hour later (6 half-lives) the
     * ASN buckets hold < 1 decayed sample -> nothing is trusted anywhere */
    t = rum_table_build(a, ps, &p, NULL, T0 + 6 * HL);
    first(t, &de1, &lvl);
    assert_int_equal(lvl, RUM_LVL_NONE);
    rum_table_free(&t);
    rum_agg_free(&a);
    free(ps);
}

/* One bucket by itself, no fallback to other levels: an untrusted continent
 * bucket is reported (with its samples) even when global is trusted. */
static void test_bucket_score(void **st)
{
    struct rum_agg *a = rum_agg_new(1024, HL);
    struct rum_pool_set *ps = pools_ab(1, 1);
    struct rum_params p = params();
    struct rum_score s;
    assert_int_equal(rum_table_bucket_score(NULL, rum_bucket_key(RUM_LVL_GLOBAL, &jp), A, &s), RUM_BUCKET_NONE);
    feed(a, &de1, A, 20, 50, T0);
    feed(a, &jp, A, 200, 5, T0);
    struct steer_rum_table *t = rum_table_build(a, ps, &p, NULL, T0);
    uint64_t as = rum_bucket_key(RUM_LVL_CONTINENT, &jp), eu = rum_bucket_key(RUM_LVL_CONTINENT, &de1);
    uint64_t global = rum_bucket_key(RUM_LVL_GLOBAL, &jp);
    /* AS: 5 samples < min_samples 10 -> untrusted, but there */
    assert_int_equal(rum_table_bucket_score(t, as, A, &s), RUM_BUCKET_UNTRUSTED);
    assert_false(s.trusted);
    assert_int_equal(s.prov, A);
    assert_true(fabs(s.samples - 5) < 0.01 && s.p50 > 100 && s.p50 < 300);
    /* the fallback lookup answers global for the same client */
    struct rum_score f;
    assert_int_equal(rum_table_score(t, &jp, A, &f), RUM_LVL_GLOBAL);
    assert_true(f.trusted && fabs(f.samples - 55) < 0.01);
    assert_int_equal(rum_table_bucket_score(t, global, A, &s), RUM_BUCKET_TRUSTED);
    assert_true(s.trusted && fabs(s.samples - 55) < 0.01);
    assert_int_equal(rum_table_bucket_score(t, eu, A, &s), RUM_BUCKET_TRUSTED);
    assert_true(fabs(s.samples - 50) < 0.01 && s.p50 > 15 && s.p50 < 25);
    /* no data for B anywhere, no bucket for SA, invalid key 0: none, zeroed */
    s.samples = 42;
    assert_int_equal(rum_table_bucket_score(t, as, B, &s), RUM_BUCKET_NONE);
    assert_true(s.samples == 0 && !s.trusted);
    struct rum_geo br = { .country = "BR", .continent = "SA" };
    assert_int_equal(rum_table_bucket_score(t, rum_bucket_key(RUM_LVL_CONTINENT, &br), A, &s), RUM_BUCKET_NONE);
    assert_int_equal(rum_table_bucket_score(t, 0, A, &s), RUM_BUCKET_NONE);
    rum_table_free(&t);
    rum_agg_free(&a);
    free(ps);
}

static void test_hysteresis(void **st)
{
    struct rum_agg *a = rum_agg_new(1024, HL);
    struct rum_pool_set *ps = pools_ab(1, 1);
    struct rum_params p = params();
    enum rum_level lvl;
    feed(a, &de1, A, 100, 100, T0);
    feed(a, &de1, B, 150, 100, T0);
    struct steer_rum_table *t1 = rum_table_build(a, ps, &p, NULL, T0);
    assert_int_equal(first(t1, &de1, &lvl), A);
    /* B improves to ~5% better than A: within the 10% margin, A stays */
    struct rum_agg *a2 = rum_agg_new(1024, HL);
    feed(a2, &de1, A, 100, 100, T0);
    feed(a2, &de1, B, 95, 100, T0);
    struct steer_rum_table *fresh = rum_table_build(a2, ps, &p, NULL, T0);
    assert_int_equal(first(fresh, &de1, &lvl), B);   /* without an incumbent B wins */
    struct steer_rum_table *t2 = rum_table_build(a2, ps, &p, t1, T0);
    assert_int_equal(first(t2, &de1, &lvl), A);      /* with one, A holds */
    assert_int_equal(rum_table_version(t2), rum_table_version(t1) + 1);
    /* and keeps holding on the next recompute (incumbent = previous winner) */
    struct steer_rum_table *t3 = rum_table_build(a2, ps, &p, t2, T0 + 1000);
    assert_int_equal(first(t3, &de1, &lvl), A);
    /* B 25% better: beats the margin, switches */
    struct rum_agg *a3 = rum_agg_new(1024, HL);
    feed(a3, &de1, A, 100, 100, T0);
    feed(a3, &de1, B, 75, 100, T0);
    struct steer_rum_table *t4 = rum_table_build(a3, ps, &p, t3, T0 + 2000);
    assert_int_equal(first(t4, &de1, &lvl), B);
    /* now B is incumbent: A must beat it by the margin to come back */
    struct steer_rum_table *t5 = rum_table_build(a2, ps, &p, t4, T0 + 3000);
    assert_int_equal(first(t5, &de1, &lvl), B);
    /* margin 0: no hysteresis */
    p.margin = 0;
    struct steer_rum_table *t6 = rum_table_build(a, ps, &p, t5, T0 + 4000);
    assert_int_equal(first(t6, &de1, &lvl), A);
    struct steer_rum_table *all[] = { t1, fresh, t2, t3, t4, t5, t6 };
    for (unsigned i = 0; i < 7; i++)
        rum_table_free(&all[i]);
    rum_agg_free(&a);
    rum_agg_free(&a2);
    rum_agg_free(&a3);
    free(ps);
}

static void test_failures_cost(void **st)
{
    struct rum_agg *a = rum_agg_new(1024, HL);
    struct rum_pool_set *ps = pools_ab(1, 1);
    struct rum_params p = params();
    enum rum_level lvl;
    /* A is faster but fails 20%: 20 + 0.2 * 3000 = 620 ms > B's 60 ms */
    feed(a, &de1, A, 20, 80, T0);
    for (int i = 0; i < 20; i++) {
        struct rum_meas m = { .t_ms = T0, .provider = A, .kind = RUM_FAILURE, .name = -1 };
        rum_agg_add(a, &de1, &m);
    }
    feed(a, &de1, B, 60, 100, T0);
    struct steer_rum_table *t = rum_table_build(a, ps, &p, NULL, T0);
    assert_int_equal(first(t, &de1, &lvl), B);
    struct rum_score s;
    rum_table_score(t, &de1, A, &s);
    assert_true(fabs(s.success - 0.8) < 1e-3);
    rum_table_free(&t);
    rum_agg_free(&a);
    free(ps);
}

static void test_weight_preference(void **st)
{
    struct rum_agg *a = rum_agg_new(1024, HL);
    struct rum_params p = params();
    p.tolerance = 0.20;   /* prefer the higher weight unless > 20% slower */
    enum rum_level lvl;
    feed(a, &de1, A, 100, 100, T0);   /* A cheap (weight 10) */
    feed(a, &de1, B, 90, 100, T0);    /* B ~10% faster */
    struct rum_pool_set *ps = pools_ab(10, 1);
    struct steer_rum_table *t = rum_table_build(a, ps, &p, NULL, T0);
    assert_int_equal(first(t, &de1, &lvl), A);
    rum_table_free(&t);
    struct rum_pool_set *ps2 = pools_ab(1, 10);
    t = rum_table_build(a, ps2, &p, NULL, T0);
    assert_int_equal(first(t, &de1, &lvl), B);
    rum_table_free(&t);
    /* B 40% faster: beyond the tolerance, B wins despite A's weight */
    struct rum_agg *b = rum_agg_new(1024, HL);
    feed(b, &de1, A, 100, 100, T0);
    feed(b, &de1, B, 60, 100, T0);
    t = rum_table_build(b, ps, &p, NULL, T0);
    assert_int_equal(first(t, &de1, &lvl), B);
    rum_table_free(&t);
    rum_agg_free(&a);
    rum_agg_free(&b);
    free(ps);
    free(ps2);
}

static void test_candidates_and_untrusted(void **st)
{
    struct rum_agg *a = rum_agg_new(1024, HL);
    struct rum_params p = params();
    struct rum_pool_set *ps = rum_pool_set_new(1);
    ps->pool[0].n = 3;
    for (int i = 0; i < 3; i++) {
        ps->pool[0].prov[i] = (uint16_t)i;
        ps->pool[0].weight[i] = 1;
    }
    feed(a, &de1, A, 50, 100, T0);
    feed(a, &de1, B, 30, 100, T0);
    feed(a, &de1, C, 10, 3, T0);   /* fastest, but untrusted: ranked last */
    struct steer_rum_table *t = rum_table_build(a, ps, &p, NULL, T0);
    uint16_t r[RUM_POOL_MAX];
    enum rum_level lvl;
    assert_int_equal(rum_table_ranking(t, &de1, 0, r, RUM_POOL_MAX, &lvl), 3);
    assert_int_equal(r[0], B);
    assert_int_equal(r[1], A);
    assert_int_equal(r[2], C);
    /* B is down: steering passes only A and C; A must rank first */
    uint16_t cand[2] = { C, A };
    double key[2];
    struct rum_pick pk;
    assert_int_equal(rum_rank_keys(t, &de1, 0, cand, 2, 42, key, &pk), RUM_LVL_ASN);
    assert_true(key[1] > key[0]);
    assert_int_equal(pk.first, B);
    assert_false(pk.explored);
    /* unknown pool id: no decision */
    assert_int_equal(rum_rank_keys(t, &de1, 5, cand, 2, 42, key, NULL), RUM_LVL_NONE);
    rum_table_free(&t);
    rum_agg_free(&a);
    free(ps);
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15ULL;
    return x ^ (x >> 29);
}

static void test_exploration(void **st)
{
    struct rum_agg *a = rum_agg_new(1024, HL);
    struct rum_params p = params();
    p.explore = 0.05;
    struct rum_pool_set *ps = rum_pool_set_new(1);
    ps->pool[0].n = 3;
    for (int i = 0; i < 3; i++) {
        ps->pool[0].prov[i] = (uint16_t)i;
        ps->pool[0].weight[i] = 1;
    }
    feed(a, &de1, A, 20, 100, T0);
    feed(a, &de1, B, 80, 100, T0);
    feed(a, &de1, C, 50, 3, T0);   /* C needs data */
    struct steer_rum_table *t = rum_table_build(a, ps, &p, NULL, T0);
    uint16_t cand[3] = { A, B, C };
    unsigned explored = 0, N = 100000;
    for (unsigned i = 0; i < N; i++) {
        double key[3], key2[3];
        struct rum_pick pk;
        assert_int_equal(rum_rank_keys(t, &de1, 0, cand, 3, mix(i), key, &pk), RUM_LVL_ASN);
        int win = 0;
        for (int j = 1; j < 3; j++)
            if (key[j] > key[win])
                win = j;
        assert_int_equal(win, pk.explored ? C : A);   /* exploring = the one that needs data */
        explored += pk.explored;
        rum_rank_keys(t, &de1, 0, cand, 3, mix(i), key2, NULL);   /* deterministic */
        assert_memory_equal(key, key2, sizeof key);
    }
    double share = (double)explored / N;
    assert_true(share > 0.045 && share < 0.055);
    /* another epoch explores with other subnets, same share */
    struct steer_rum_table *t2 = rum_table_build(a, ps, &p, t, T0 + p.explore_rotate_ms);
    unsigned both = 0, e2 = 0;
    for (unsigned i = 0; i < N; i++) {
        double k1[3], k2[3];
        struct rum_pick p1, p2;
        rum_rank_keys(t, &de1, 0, cand, 3, mix(i), k1, &p1);
        rum_rank_keys(t2, &de1, 0, cand, 3, mix(i), k2, &p2);
        both += p1.explored && p2.explored;
        e2 += p2.explored;
    }
    assert_true(e2 > N * 0.045 && e2 < N * 0.055);
    assert_true(both < N * 0.01);   /* ~0.25% if independent */
    /* C is down (not a candidate): nothing needs data, nobody explores */
    double k[2];
    struct rum_pick pk;
    for (unsigned i = 0; i < 10000; i++) {
        rum_rank_keys(t, &de1, 0, cand, 2, mix(i), k, &pk);
        assert_false(pk.explored);
        assert_true(k[0] > k[1]);
    }
    /* once C has data, exploration stops */
    feed(a, &de1, C, 50, 100, T0);
    struct steer_rum_table *t3 = rum_table_build(a, ps, &p, t2, T0 + p.explore_rotate_ms);
    for (unsigned i = 0; i < 10000; i++) {
        double k3[3];
        rum_rank_keys(t3, &de1, 0, cand, 3, mix(i), k3, &pk);
        assert_false(pk.explored);
    }
    rum_table_free(&t);
    rum_table_free(&t2);
    rum_table_free(&t3);
    rum_agg_free(&a);
    free(ps);
}

/* Readers look scores up while the writer rebuilds and swaps the table. */
static struct steer_rum_table *published;
static volatile int stop_readers;
static unsigned long reads[2];

static void *reader(void *arg)
{
    urcu_memb_register_thread();
    uint16_t cand[2] = { A, B };
    unsigned long n = 0;
    while (!__atomic_load_n(&stop_readers, __ATOMIC_RELAXED)) {
        urcu_memb_read_lock();
        const struct steer_rum_table *t = __atomic_load_n(&published, __ATOMIC_ACQUIRE);
        double key[2];
        if (rum_rank_keys(t, &de1, 0, cand, 2, n, key, NULL) != RUM_LVL_ASN)
            abort();
        urcu_memb_read_unlock();
        n++;
        __atomic_store_n((unsigned long *)arg, n, __ATOMIC_RELAXED);
    }
    urcu_memb_unregister_thread();
    return NULL;
}

static void test_rcu_swap(void **st)
{
    struct rum_agg *a = rum_agg_new(1024, HL);
    struct rum_params p = params();
    struct rum_pool_set *ps = pools_ab(1, 1);
    feed(a, &de1, A, 20, 100, T0);
    feed(a, &de1, B, 80, 100, T0);
    published = rum_table_build(a, ps, &p, NULL, T0);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, reader, &reads[i]);
    /* at least 200 swaps, and until both readers have overlapped with them
     * (bounded: the machine may be busy, but not for 10^6 swaps) */
    for (int i = 0; i < 1000000 && (i < 200 || __atomic_load_n(&reads[0], __ATOMIC_RELAXED) < 100 ||
                                    __atomic_load_n(&reads[1], __ATOMIC_RELAXED) < 100); i++) {
        feed(a, &de1, (uint16_t)(i & 1), 30 + i % 50, 5, T0 + i);
        struct steer_rum_table *nt = rum_table_build(a, ps, &p, published, T0 + i);
        struct steer_rum_table *old = __atomic_exchange_n(&published, nt, __ATOMIC_ACQ_REL);
        urcu_memb_synchronize_rcu();
        rum_table_free(&old);
    }
    __atomic_store_n(&stop_readers, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_true(reads[0] >= 100 && reads[1] >= 100);
    rum_table_free(&published);
    rum_agg_free(&a);
    free(ps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fallback),
        cmocka_unit_test(test_bucket_score),
        cmocka_unit_test(test_hysteresis),
        cmocka_unit_test(test_failures_cost),
        cmocka_unit_test(test_weight_preference),
        cmocka_unit_test(test_candidates_and_untrusted),
        cmocka_unit_test(test_exploration),
        cmocka_unit_test(test_rcu_swap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
