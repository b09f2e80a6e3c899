/* bench/rum_sim.c: does RUM steering help? A simulator of N client networks
 * x M providers over a simulated day, feeding beacons through the real RUM
 * code (rum/aggregate, rum/scores: rum_agg_add, rum_table_build,
 * rum_rank_keys) and comparing policies on the latency and failures the
 * clients would see.
 *
 * Model (all deterministic from --seed):
 *   - 6 continents x 2 countries; networks are ASNs spread over them.
 *   - Provider p's typical latency in continent c is region_ms[p][c]; each
 *     (network, provider) pair has its own factor (lognormal, sigma 0.45):
 *     peering and last-mile differences that geography does not see.
 *   - Diurnal drift: a provider congests at the region's evening peak
 *     (factor 1 + amp[p] * max(0, sin(...))), PoPs more than big CDNs.
 *   - Incidents: cdn-a fails 95% of requests in EU for an hour; pop-us is
 *     down everywhere for 30 minutes; cdn-b browns out (4x latency) in AS.
 *   - Each request's latency = expected * lognormal(sigma 0.3).
 *   - RUM: every minute, each network sends `beacons` rum.js beacons, each
 *     measuring every provider (latency, or a failure). With --chosen PCT
 *     (and --beacons 0) only PCT% of the rum-steered requests report, and
 *     only on the provider they were given: exploration must keep the
 *     others measured.
 * Policies per request:
 *   static   weighted by config weights (sticky per client subnet)
 *   geo      the provider with the lowest typical latency for the continent
 *   rum      rum_rank_keys on the table rebuilt every simulated minute
 *            (fallback to static when no level decides), default params
 *   oracle   the provider with the lowest true expected latency right now,
 *            skipping providers in an outage
 * Output: p50/p95 of successful requests, failed share, per policy.
 *   rum_sim [--networks N] [--hours H] [--seed S] [--explore X] [--half-life-min M] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rum/aggregate.h"
#include "rum/scores.h"

#define M 4
#define NCONT 6
#define SUBNETS 16          /* client subnets per network (exploration, stickiness) */
#define REQS_PER_MIN 20     /* requests per network per simulated minute */
#define HBINS 200000        /* latency histogram: 0.05 ms bins up to 10 s */
#define HRES 0.05

static const char *const prov_name[M] = { "cdn-a", "cdn-b", "pop-eu", "pop-us" };
static const char *const cont_code[NCONT] = { "EU", "NA", "AS", "SA", "OC", "AF" };
static const char *const country[NCONT][2] = { { "DE", "FR" }, { "US", "CA" }, { "JP", "SG" },
                                               { "BR", "AR" }, { "AU", "NZ" }, { "ZA", "KE" } };
static const double region_ms[M][NCONT] = {
    { 35, 30, 90, 80, 120, 110 },     /* cdn-a: strong in EU/NA */
    { 45, 50, 35, 95, 45, 130 },      /* cdn-b: strong in AS/OC */
    { 25, 110, 220, 200, 300, 160 },  /* pop-eu */
    { 100, 25, 160, 120, 180, 230 },  /* pop-us */
};
static const double tz_hours[NCONT] = { 1, -6, 9, -3, 10, 2 };
static const double amp[M] = { 0.5, 0.4, 1.2, 1.2 };
static const uint32_t static_weight[M] = { 40, 30, 15, 15 };

enum { POL_STATIC, POL_GEO, POL_RUM, POL_ORACLE, NPOL };
static const char *const pol_name[NPOL] = { "static weights", "geo-closest", "rum", "oracle" };

struct net {
    struct rum_geo geo;
    int cont;
    double factor[M];
};

/* ------------------------------------------------------------- random */

static uint64_t rng_state;
static uint64_t rnd64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double rnd01(void) { return ((double)(rnd64() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
static double gauss(void) { return sqrt(-2 * log(rnd01())) * cos(2 * M_PI * rnd01()); }
static double lognorm(double sigma) { return exp(sigma * gauss()); }
static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    return x ^ (x >> 33);
}

/* ---------------------------------------------------------------- world */

/* Outage/brownout state of provider p for continent c at minute t:
 * returns the failure probability and multiplies *lat_mult. */
static double incident(int p, int c, double hours, double *lat_mult)
{
    double h = fmod(hours, 24);
    if (p == 0 && c == 0 && h >= 6 && h < 7)
        return 0.95;
    if (p == 3 && h >= 15 && h < 15.5)
        return 1.0;
    if (p == 1 && c == 2 && h >= 20 && h < 21)
        *lat_mult *= 4;
    return 0;
}

static double diurnal(int p, int c, double hours)
{
    double local = hours + tz_hours[c];
    double s = sin(2 * M_PI * (local - 14) / 24);   /* peaks at 20:00 local */
    return 1 + amp[p] * (s > 0 ? s : 0);
}

/* True expected latency and failure probability right now. */
static double expected(const struct net *n, int p, double hours, double *pfail)
{
    double mult = 1;
    *pfail = incident(p, n->cont, hours, &mult);
    return region_ms[p][n->cont] * n->factor[p] * diurnal(p, n->cont, hours) * mult;
}

/* --------------------------------------------------------------- stats */

struct pstats {
    uint32_t *hist;
    uint64_t ok, failed;
    uint64_t picks[M];
};

static void record(struct pstats *s, double ms, bool failed)
{
    if (failed) {
        s->failed++;
        return;
    }
    size_t b = (size_t)(ms / HRES);
    s->hist[b < HBINS ? b : HBINS - 1]++;
    s->ok++;
}

static double pct(const struct pstats *s, double q)
{
    uint64_t target = (uint64_t)(q * (double)s->ok), cum = 0;
    for (size_t b = 0; b < HBINS; b++) {
        cum += s->hist[b];
        if (cum > target)
            return (b + 0.5) * HRES;
    }
    return HBINS * HRES;
}

/* ------------------------------------------------------------ policies */

static int pick_static(uint64_t subnet_hash)
{
    double best = -1;
    int bp = 0;
    for (int p = 0; p < M; p++) {   /* rendezvous hashing, like steering's weighted */
        double u = ((double)(mix(subnet_hash ^ (uint64_t)(p + 1) * 0x9e37ULL) >> 11) + 0.5) / 9007199254740992.0;
        double key = static_weight[p] / -log(u);
        if (key > best) {
            best = key;
            bp = p;
        }
    }
    return bp;
}

static int pick_geo(const struct net *n)
{
    int bp = 0;
    for (int p = 1; p < M; p++)
        if (region_ms[p][n->cont] < region_ms[bp][n->cont])
            bp = p;
    return bp;
}

static int pick_oracle(const struct net *n, double hours)
{
    int bp = -1;
    double best = 0;
    for (int p = 0; p < M; p++) {
        double pf, e = expected(n, p, hours, &pf);
        e += pf * 3000;   /* the same failure cost the rum rule uses */
        if (bp < 0 || e < best) {
            best = e;
            bp = p;
        }
    }
    return bp;
}

static int pick_rum(const struct steer_rum_table *t, const struct net *n, uint64_t subnet_hash, uint64_t *decided)
{
    static const uint16_t cand[M] = { 0, 1, 2, 3 };
    double key[M];
    if (rum_rank_keys(t, &n->geo, 0, cand, M, subnet_hash, key, NULL) == RUM_LVL_NONE)
        return pick_static(subnet_hash);
    (*decided)++;
    int bp = 0;
    for (int p = 1; p < M; p++)
        if (key[p] > key[bp])
            bp = p;
    return bp;
}

int main(int argc, char **argv)
{
    int nnets = 200, hours = 24, beacons = 2, chosen = 0;
    uint64_t seed = 1;
    double explore = -1, half_life_min = 30;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--networks")) nnets = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--hours")) hours = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seed")) seed = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--explore")) explore = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--half-life-min")) half_life_min = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--beacons")) beacons = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--chosen")) chosen = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: rum_sim [--networks N] [--hours H] [--seed S] [--explore X] [--half-life-min M] [--beacons B] [--chosen PCT]\n");
            return 2;
        }
    }
    if (nnets < 1 || nnets > 100000 || hours < 1 || hours > 24 * 14 || beacons < 0 || beacons > 1000 || chosen < 0 ||
        chosen > 100) {
        fprintf(stderr, "rum_sim: argument out of range\n");
        return 2;
    }
    rng_state = seed;
    struct net *nets = calloc((size_t)nnets, sizeof *nets);
    for (int i = 0; i < nnets; i++) {
        struct net *n = &nets[i];
        n->cont = i % NCONT;
        n->geo.asn = 64512 + (uint32_t)i;
        memcpy(n->geo.country, country[n->cont][(i / NCONT) % 2], 3);
        memcpy(n->geo.continent, cont_code[n->cont], 3);
        for (int p = 0; p < M; p++)
            n->factor[p] = lognorm(0.45);
    }
    struct rum_params prm;
    rum_params_default(&prm);
    if (explore >= 0)
        prm.explore = explore;
    int64_t hl = (int64_t)(half_life_min * 60000);
    struct rum_agg *agg = rum_agg_new(65536, hl);
    struct rum_pool_set *pools = rum_pool_set_new(1);
    pools->pool[0].n = M;
    for (int p = 0; p < M; p++) {
        pools->pool[0].prov[p] = (uint16_t)p;
        pools->pool[0].weight[p] = static_weight[p];
    }
    struct pstats st[NPOL];
    for (int k = 0; k < NPOL; k++) {
        st[k].hist = calloc(HBINS, sizeof *st[k].hist);
        st[k].ok = st[k].failed = 0;
        memset(st[k].picks, 0, sizeof st[k].picks);
    }
    const int64_t T0 = 1764028800000LL;   /* 2026-11-25 00:00 UTC */
    const int warmup = 60;                 /* minutes of beacons before counting */
    struct steer_rum_table *table = rum_table_build(agg, pools, &prm, NULL, T0);
    uint64_t decided = 0, rum_reqs = 0, nbeacons = 0;
    for (int minute = -warmup; minute < hours * 60; minute++) {
        double h = minute / 60.0;
        int64_t now = T0 + (int64_t)minute * 60000;
        /* beacons: rum.js measures every provider */
        for (int i = 0; i < nnets; i++) {
            for (int b = 0; b < beacons; b++) {
                for (int p = 0; p < M; p++) {
                    double pf, e = expected(&nets[i], p, h, &pf);
                    struct rum_meas m = { .t_ms = now + (int64_t)(rnd01() * 60000), .provider = (uint16_t)p,
                                          .name = -1 };
                    if (rnd01() < pf) {
                        m.kind = RUM_FAILURE;
                    } else {
                        m.kind = RUM_LATENCY;
                        m.value = fmin(e * lognorm(0.3), RUM_MAX_LATENCY_MS);
                    }
                    rum_agg_add(agg, &nets[i].geo, &m);
                }
                nbeacons++;
            }
        }
        /* the collector rebuilds the table off the query path */
        struct steer_rum_table *nt = rum_table_build(agg, pools, &prm, table, now + 60000);
        rum_table_free(&table);
        table = nt;
        if (minute < 0)
            continue;
        for (int i = 0; i < nnets; i++) {
            const struct net *n = &nets[i];
            for (int r = 0; r < REQS_PER_MIN; r++) {
                uint64_t subnet = mix(((uint64_t)i << 8 | (uint64_t)(rnd64() % SUBNETS)) + seed);
                int pick[NPOL] = { pick_static(subnet), pick_geo(n), pick_rum(table, n, subnet, &decided),
                                   pick_oracle(n, h) };
                rum_reqs++;
                double noise = lognorm(0.3), u = rnd01();   /* same luck for every policy */
                for (int k = 0; k < NPOL; k++) {
                    double pf, e = expected(n, pick[k], h, &pf);
                    record(&st[k], e * noise, u < pf);
                    st[k].picks[pick[k]]++;
                    /* --chosen: a share of rum-steered requests reports on the provider it got */
                    if (k == POL_RUM && chosen && rnd01() * 100 < chosen) {
                        struct rum_meas m = { .t_ms = now, .provider = (uint16_t)pick[k], .name = -1,
                                              .kind = u < pf ? RUM_FAILURE : RUM_LATENCY,
                                              .value = u < pf ? 0 : fmin(e * noise, RUM_MAX_LATENCY_MS) };
                        rum_agg_add(agg, &n->geo, &m);
                        nbeacons++;
                    }
                }
            }
        }
    }
    printf("rum_sim: %d networks x %d providers, %d h, %d rum.js beacons/network/min, %d%% of requests report "
           "their provider, %d requests/network/min, half-life %.0f min, explore %.2f, margin %.2f, min_samples %.0f\n",
           nnets, M, hours, beacons, chosen, REQS_PER_MIN, half_life_min, prm.explore, prm.margin, prm.min_samples);
    printf("%-16s %10s %10s %10s   share", "policy", "p50 ms", "p95 ms", "failed %");
    for (int p = 0; p < M; p++)
        printf(" %s", prov_name[p]);
    printf("\n");
    double p95[NPOL];
    for (int k = 0; k < NPOL; k++) {
        p95[k] = pct(&st[k], 0.95);
        uint64_t tot = st[k].ok + st[k].failed;
        printf("%-16s %10.1f %10.1f %10.3f  ", pol_name[k], pct(&st[k], 0.5), p95[k],
               100.0 * (double)st[k].failed / (double)tot);
        for (int p = 0; p < M; p++)
            printf(" %4.1f%%", 100.0 * (double)st[k].picks[p] / (double)tot);
        printf("\n");
    }
    printf("rum p95 / oracle p95 = %.3f (goal <= 1.05)\n", p95[POL_RUM] / p95[POL_ORACLE]);
    printf("rum p95 vs static weights: %.1f%% better (goal >= 25%%)\n", 100 * (1 - p95[POL_RUM] / p95[POL_STATIC]));
    printf("rum decided by the table for %.1f%% of requests; %llu beacons; %zu cells\n",
           100.0 * (double)decided / (double)rum_reqs, (unsigned long long)nbeacons, rum_agg_count(agg));
    /* costs of the parts on their own: query-path ranking, table rebuild,
     * ingestion (release build; the machine may be shared, so indicative) */
    struct timespec a0, a1;
    static const uint16_t cand[M] = { 0, 1, 2, 3 };
    double key[M], sink = 0;
    const int iters = 5000000;
    clock_gettime(CLOCK_MONOTONIC, &a0);
    for (int i = 0; i < iters; i++) {
        rum_rank_keys(table, &nets[i % nnets].geo, 0, cand, M, (uint64_t)i * 0x9e3779b97f4a7c15ULL, key, NULL);
        sink += key[i & 3];
    }
    clock_gettime(CLOCK_MONOTONIC, &a1);
    double ns_rank = ((a1.tv_sec - a0.tv_sec) * 1e9 + (a1.tv_nsec - a0.tv_nsec)) / iters;
    clock_gettime(CLOCK_MONOTONIC, &a0);
    for (int i = 0; i < 20; i++) {
        struct steer_rum_table *nt = rum_table_build(agg, pools, &prm, table, T0 + (int64_t)hours * 3600000);
        rum_table_free(&table);
        table = nt;
    }
    clock_gettime(CLOCK_MONOTONIC, &a1);
    double ms_build = ((a1.tv_sec - a0.tv_sec) * 1e3 + (a1.tv_nsec - a0.tv_nsec) / 1e6) / 20;
    struct rum_meas m = { .t_ms = T0 + (int64_t)hours * 3600000, .kind = RUM_LATENCY, .value = 42, .name = -1 };
    clock_gettime(CLOCK_MONOTONIC, &a0);
    for (int i = 0; i < 1000000; i++) {
        m.provider = (uint16_t)(i & 3);
        rum_agg_add(agg, &nets[i % nnets].geo, &m);
    }
    clock_gettime(CLOCK_MONOTONIC, &a1);
    double ns_add = ((a1.tv_sec - a0.tv_sec) * 1e9 + (a1.tv_nsec - a0.tv_nsec)) / 1e6;
    printf("costs: rum_rank_keys %.0f ns/call (%d providers), table rebuild %.2f ms (%zu cells), "
           "rum_agg_add %.0f ns/measurement (4 levels)%s\n", ns_rank, M, ms_build, rum_agg_count(agg), ns_add,
           sink == 12345.678 ? " " : "");
    rum_table_free(&table);
    rum_agg_free(&agg);
    free(pools);
    free(nets);
    for (int k = 0; k < NPOL; k++)
        free(st[k].hist);
    return 0;
}
