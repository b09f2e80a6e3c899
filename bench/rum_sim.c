/* bench/rum_sim.c: does RUM steering help? A simulator of N client networks
 * x M providers over a simulated day that decides every request through the
 * code steerd runs, and compares policies on the latency and failures the
 * clients would see.
 *
 * What is real (the same functions steerd calls):
 *   - the config: one YAML document (see --print-config) loaded by
 *     cfg_load_string and compiled by steer_policy_compile, with one steered
 *     name per policy under test:
 *       static.sim.test  weighted pool {cdn-a 40, cdn-b 30, pop-eu 15, pop-us 15}
 *       geo.sim.test     one rule per continent -> a failover pool ordered by
 *                        the providers' typical latency there (what an
 *                        operator writes from a latency map), weighted default
 *       rum.sim.test     rum pool with the same weights
 *     and its `rum:` section parsed by rum_config_parse (daemon defaults,
 *     --explore/--half-life-min written into it);
 *   - geo: the policy's geo section opens two .mmdb files that
 *     bench/rum_sim.pl writes for the simulated networks (--geo-dir); every
 *     query and every beacon is looked up there (geo/);
 *   - beacons: rum_collector_ingest on a rum_collector that is created but
 *     never started (the geo buckets, aggregate and counters of an accepted
 *     HTTP beacon, without HTTP and JSON), with the simulated clock;
 *   - scores: rum_collector_recompute once per simulated minute
 *     (rum_table_build with the previous table's incumbents, published by
 *     RCU pointer swap), read by the query loop through rum_collector_table
 *     inside urcu_memb_read_lock, like steerd's I/O threads;
 *   - decisions: steer_decide(name, client, A) with ECS /24 clients and
 *     steer_inputs {state: health table, rum: the published table};
 *   - health: a prov_state_table marks pop-us down during its global outage,
 *     one minute late on both edges (what health checks see); the regional
 *     failure and the brownout below are invisible to health checks.
 * What is the simulator's own: the world model and the oracle (ground truth).
 *
 * Model (all deterministic from --seed):
 *   - 6 continents x 2 countries; networks are ASNs spread over them, each
 *     with a /20 of client addresses (16 ECS /24 subnets) from 16.0.0.0.
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
 * Policies per request: static, geo, rum = steer_decide on their names;
 *   oracle = the provider with the lowest true expected latency right now
 *   (a failure costing 3 s, like the rum rule's default penalty).
 * Output: p50/p95 of successful requests, failed share, per policy; then
 * the cost of the parts (steer_decide per name, recompute, ingestion).
 *   rum_sim --geo-dir DIR [--networks N] [--hours H] [--seed S] [--explore X]
 *           [--half-life-min M] [--beacons B] [--chosen PCT] [--no-health]
 *   rum_sim --print-networks [--networks N]   (input of bench/rum_sim.pl)
 *   rum_sim --print-config --geo-dir DIR [...]
 * bench/rum_sim.sh builds it, writes the geo databases and runs it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <urcu/urcu-memb.h>

#include "common/cfg.h"
#include "common/netaddr.h"
#include "geo/geo.h"
#include "rum/collector.h"
#include "rum/config.h"
#include "rum/scores.h"
#include "steering/state.h"
#include "steering/steering.h"

#define M 4
#define NCONT 6
#define SUBNETS 16          /* ECS /24 subnets per network (a /20) */
#define NET_BASE 0x10000000u   /* 16.0.0.0: network i owns NET_BASE + i * 4096 (/20) */
#define MAX_NETS 65536      /* /20s from 16.0.0.0 up to 31.255.255.255 */
#define REQS_PER_MIN 20     /* requests per network per simulated minute */
#define HBINS 200000        /* latency histogram: 0.05 ms bins up to 10 s */
#define HRES 0.05

static const char *const prov_name[M] = { "cdn-a", "cdn-b", "pop-eu", "pop-us" };
static const bool prov_cdn[M] = { true, true, false, false };
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
static const char *const pol_host[POL_ORACLE] = { "static.sim.test", "geo.sim.test", "rum.sim.test" };

struct net {
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

/* What health checks see: pop-us's global outage, detected one minute late
 * and cleared one minute late. The regional failure (cdn-a in EU) and the
 * brownout are invisible to them (checks run from elsewhere, and a slow
 * answer is still an answer). */
static bool health_down(int p, double hours)
{
    double h = fmod(hours, 24);
    return p == 3 && h >= 15 + 1 / 60.0 && h < 15.5 + 1 / 60.0;
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

/* ---------------------------------------------------------------- oracle */

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

/* -------------------------------------------------------------- addresses */

static uint32_t net_base(int i) { return NET_BASE + ((uint32_t)i << 12); }

static void addr_v4(uint32_t v, struct net_addr *a)
{
    memset(a, 0, sizeof *a);
    a->family = 4;
    a->bytes[0] = (uint8_t)(v >> 24);
    a->bytes[1] = (uint8_t)(v >> 16);
    a->bytes[2] = (uint8_t)(v >> 8);
    a->bytes[3] = (uint8_t)v;
}

/* --print-networks: "prefix continent country asn" per network, the input
 * of bench/rum_sim.pl (the geo databases). */
static void print_networks(int nnets)
{
    for (int i = 0; i < nnets; i++) {
        uint32_t v = net_base(i);
        int c = i % NCONT;
        printf("%u.%u.%u.%u/20 %s %s %u\n", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255, cont_code[c],
               country[c][(i / NCONT) % 2], 64512u + (unsigned)i);
    }
}

/* ----------------------------------------------------------------- config */

/* The simulated operator's config (YAML), malloced; NULL on failure. */
static char *sim_config(const char *geo_dir, uint64_t seed, double explore, double half_life_min)
{
    char *buf = NULL, w[256];
    size_t len = 0, off = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    for (int p = 0; p < M; p++)
        off += (size_t)snprintf(w + off, sizeof w - off, "%s%s: %u", p ? ", " : "{", prov_name[p], static_weight[p]);
    snprintf(w + off, sizeof w - off, "}");
    fprintf(f, "geo:\n  databases: [\"%s/sim-city.mmdb\", \"%s/sim-asn.mmdb\"]\nproviders:\n", geo_dir, geo_dir);
    for (int p = 0; p < M; p++) {
        if (prov_cdn[p])
            fprintf(f, "  %s: {type: cdn, cname: %s.cdn.sim.test.}\n", prov_name[p], prov_name[p]);
        else
            fprintf(f, "  %s: {type: pop, ipv4: [192.0.2.%d]}\n", prov_name[p], p + 1);
    }
    fprintf(f, "steering:\n");
    fprintf(f, "  - name: %s\n    seed: %llu\n    rules: [{match: default, pools: [all]}]\n"
               "    pools: {all: {policy: weighted, members: %s}}\n", pol_host[POL_STATIC], (unsigned long long)seed, w);
    fprintf(f, "  - name: %s\n    seed: %llu\n    rules:\n", pol_host[POL_GEO], (unsigned long long)seed);
    for (int c = 0; c < NCONT; c++)
        fprintf(f, "      - {match: {continent: %s}, pools: [near-%s]}\n", cont_code[c], cont_code[c]);
    fprintf(f, "      - {match: default, pools: [all]}\n    pools:\n      all: {policy: weighted, members: %s}\n", w);
    for (int c = 0; c < NCONT; c++) {
        int order[M] = { 0, 1, 2, 3 };
        for (int i = 1; i < M; i++)   /* by typical latency in the region */
            for (int j = i; j > 0 && region_ms[order[j]][c] < region_ms[order[j - 1]][c]; j--) {
                int t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        fprintf(f, "      near-%s: {policy: failover, members: [%s, %s, %s, %s]}\n", cont_code[c], prov_name[order[0]],
                prov_name[order[1]], prov_name[order[2]], prov_name[order[3]]);
    }
    fprintf(f, "  - name: %s\n    seed: %llu\n    rules: [{match: default, pools: [all]}]\n"
               "    pools: {all: {policy: rum, members: %s}}\n", pol_host[POL_RUM], (unsigned long long)seed, w);
    fprintf(f, "rum:\n  listen: 127.0.0.1:8054\n  half_life: %lldms\n", (long long)llround(half_life_min * 60000));
    if (explore >= 0)
        fprintf(f, "  explore: %.4f\n", explore);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* rum_lookup over the compiled policy (as steerd's snapshot does). */
static int lk_provider(void *ctx, const char *name) { return steer_provider_find(ctx, name); }
static const char *lk_provider_name(void *ctx, unsigned id)
{
    return id < steer_policy_provider_count(ctx) ? steer_provider_name(ctx, id) : NULL;
}
static const struct steer_name *find_name(const struct steer_policy *pol, const char *text, int *idx)
{
    uint8_t wire[256];
    int len = steer_name_to_wire(text, wire, sizeof wire);
    const struct steer_name *n = len < 0 ? NULL : steer_policy_find_name(pol, wire, (size_t)len);
    for (size_t i = 0; idx && i < steer_policy_name_count(pol); i++)
        if (steer_policy_name(pol, i) == n)
            *idx = (int)i;
    return n;
}
static int lk_name(void *ctx, const char *name)
{
    int idx = -1;
    return find_name(ctx, name, &idx) ? idx : -1;
}

static int64_t sim_clock(void *arg) { return *(const int64_t *)arg; }

/* Health table: every provider up, or `down` (>= 0) down. */
static struct prov_state_table *health_table(size_t n, int down, uint64_t version)
{
    struct prov_state_table *t = calloc(1, sizeof *t + n * sizeof t->s[0]);
    if (!t)
        return NULL;
    t->version = version;
    t->n = (uint32_t)n;
    for (size_t i = 0; i < n; i++)
        t->s[i] = (struct prov_state){ .health = (int)i == down ? PROV_DOWN : PROV_UP, .admin = ADMIN_NONE,
                                       .weight = PROV_WEIGHT_NONE };
    return t;
}

static double elapsed_ns(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e9 + (double)(b->tv_nsec - a->tv_nsec);
}

struct sim {
    const struct steer_policy *pol;
    const struct steer_name *name[POL_ORACLE];
    int prov_id[M];                    /* model index -> policy provider id */
    int model[STEER_MAX_PROVIDERS];    /* policy provider id -> model index */
    struct rum_collector *col;
};

/* The provider steer_decide picks for policy k (model index). */
static int decide(const struct sim *s, int k, const struct steer_client *cl, const struct steer_inputs *in)
{
    struct steer_answer a;
    if (steer_decide(s->pol, s->name[k], cl, 1, in, &a) != STEER_OK) {
        fprintf(stderr, "rum_sim: steer_decide failed\n");
        exit(1);
    }
    return s->model[a.provider];
}

/* Strict number parsing for the options: the whole string, within [lo, hi]. */
static bool opt_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    double nnets_d = 200, hours_d = 24, beacons_d = 2, chosen_d = 0, seed_d = 1;
    double explore = -1, half_life_min = 30;
    bool print_nets = false, print_cfg = false, health = true;
    const char *geo_dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--print-networks")) print_nets = true;
        else if (!strcmp(a, "--print-config")) print_cfg = true;
        else if (!strcmp(a, "--no-health")) health = false;
        else if (!v) a = NULL;
        else if (!strcmp(a, "--networks")) a = opt_num(v, 1, MAX_NETS, &nnets_d) ? a : NULL, i++;
        else if (!strcmp(a, "--hours")) a = opt_num(v, 1, 24 * 14, &hours_d) ? a : NULL, i++;
        else if (!strcmp(a, "--seed")) a = opt_num(v, 0, 1e15, &seed_d) ? a : NULL, i++;
        else if (!strcmp(a, "--explore")) a = opt_num(v, 0, 0.5, &explore) ? a : NULL, i++;
        else if (!strcmp(a, "--half-life-min")) a = opt_num(v, 1.0 / 60, 30 * 1440, &half_life_min) ? a : NULL, i++;
        else if (!strcmp(a, "--beacons")) a = opt_num(v, 0, 1000, &beacons_d) ? a : NULL, i++;
        else if (!strcmp(a, "--chosen")) a = opt_num(v, 0, 100, &chosen_d) ? a : NULL, i++;
        else if (!strcmp(a, "--geo-dir")) geo_dir = v, i++;
        else a = NULL;
        if (!a) {
            fprintf(stderr, "usage: rum_sim --geo-dir DIR [--networks 1..%d] [--hours 1..336] [--seed S] "
                            "[--explore 0..0.5] [--half-life-min M] [--beacons 0..1000] [--chosen 0..100] "
                            "[--no-health] [--print-config]\n"
                            "       rum_sim --print-networks [--networks N]\n", MAX_NETS);
            return 2;
        }
    }
    /* integers where integers are meant (the ranges were checked above) */
    int nnets = (int)nnets_d, hours = (int)hours_d, beacons = (int)beacons_d, chosen = (int)chosen_d;
    uint64_t seed = (uint64_t)seed_d;
    if (nnets != nnets_d || hours != hours_d || beacons != beacons_d || chosen != chosen_d || (double)seed != seed_d) {
        fprintf(stderr, "rum_sim: --networks, --hours, --seed, --beacons and --chosen take integers\n");
        return 2;
    }
    if (print_nets) {
        print_networks(nnets);
        return 0;
    }
    if (!geo_dir) {
        fprintf(stderr, "rum_sim: --geo-dir DIR required (bench/rum_sim.sh writes it)\n");
        return 2;
    }

    /* ---- the operator's config, compiled like steerd's */
    char *yaml = sim_config(geo_dir, seed, explore, half_life_min);
    if (!yaml)
        return 1;
    if (print_cfg) {
        fputs(yaml, stdout);
        free(yaml);
        return 0;
    }
    struct cfg_ctx ctx = { 0 };
    struct steer_policy *pol = NULL;
    struct rum_config *rcfg = NULL;
    struct rum_lookup lk = { .provider = lk_provider, .name = lk_name, .provider_name = lk_provider_name };
    if (cfg_load_string(&ctx, "rum_sim.yaml", yaml, strlen(yaml)) < 0 ||
        steer_policy_compile(&ctx, cfg_root(&ctx), &pol) < 0 ||
        (lk.ctx = pol, rum_config_parse(&ctx, cfg_get(cfg_root(&ctx), "rum"), &lk, &rcfg) < 0)) {
        fprintf(stderr, "rum_sim: %s\n", ctx.err);
        steer_policy_free(&pol);
        cfg_free(&ctx);
        free(yaml);
        return 1;
    }
    /* the collector binds its listener at creation; the simulator never
     * serves HTTP, so an ephemeral loopback port keeps it off real ones */
    rcfg->port = 0;
    struct sim s = { .pol = pol };
    for (int k = 0; k < POL_ORACLE; k++)
        s.name[k] = find_name(pol, pol_host[k], NULL);
    for (int p = 0; p < M; p++) {
        s.prov_id[p] = steer_provider_find(pol, prov_name[p]);
        s.model[s.prov_id[p]] = p;
    }
    int64_t now = 0;
    const int64_t T0 = 1764028800000LL;   /* 2026-11-25 00:00 UTC */
    now = T0;
    struct rum_collector_opts co = { .cfg = rcfg, .geo = steer_policy_geo(pol), .lookup = lk,
                                     .pools = steer_policy_rum_pools(pol), .clock_ms = sim_clock,
                                     .clock_arg = &now };
    char err[512];
    s.col = rum_collector_new(&co, err, sizeof err);
    if (!s.col) {
        fprintf(stderr, "rum_sim: %s\n", err);
        free(rcfg);
        steer_policy_free(&pol);
        cfg_free(&ctx);
        free(yaml);
        return 1;
    }
    size_t nprov = steer_policy_provider_count(pol);
    struct prov_state_table *all_up = health_table(nprov, -1, 1), *us_down = health_table(nprov, s.prov_id[3], 2);
    urcu_memb_register_thread();

    /* ---- the world */
    rng_state = seed;
    struct net *nets = calloc((size_t)nnets, sizeof *nets);
    struct pstats st[NPOL];
    for (int k = 0; k < NPOL; k++) {
        st[k].hist = calloc(HBINS, sizeof *st[k].hist);
        st[k].ok = st[k].failed = 0;
        memset(st[k].picks, 0, sizeof st[k].picks);
        if (!st[k].hist)
            return 1;
    }
    if (!nets || !all_up || !us_down)
        return 1;
    for (int i = 0; i < nnets; i++) {
        nets[i].cont = i % NCONT;
        for (int p = 0; p < M; p++)
            nets[i].factor[p] = lognorm(0.45);
    }

    const int warmup = 60;                 /* minutes of beacons before counting */
    uint64_t decided = 0, rum_reqs = 0, nbeacons = 0;
    struct rum_meas meas[M];
    for (int minute = -warmup; minute < hours * 60; minute++) {
        double h = minute / 60.0;
        int64_t t0 = T0 + (int64_t)minute * 60000;
        /* beacons: rum.js measures every provider, from a random client */
        for (int i = 0; i < nnets; i++) {
            for (int b = 0; b < beacons; b++) {
                for (int p = 0; p < M; p++) {
                    double pf, e = expected(&nets[i], p, h, &pf);
                    meas[p] = (struct rum_meas){ .t_ms = t0 + (int64_t)(rnd01() * 60000),
                                                 .provider = (uint16_t)s.prov_id[p], .name = -1 };
                    if (rnd01() < pf) {
                        meas[p].kind = RUM_FAILURE;
                    } else {
                        meas[p].kind = RUM_LATENCY;
                        meas[p].value = fmin(e * lognorm(0.3), RUM_MAX_LATENCY_MS);
                    }
                }
                struct net_addr client;
                addr_v4(net_base(i) + (uint32_t)(rnd64() % (SUBNETS * 256)), &client);
                rum_collector_ingest(s.col, &client, meas, M);
                nbeacons++;
            }
        }
        /* the collector's recompute timer: build, publish (RCU), free the old */
        now = t0 + 60000;
        if (rum_collector_recompute(s.col) < 0) {
            fprintf(stderr, "rum_sim: recompute failed\n");
            return 1;
        }
        if (minute < 0)
            continue;
        urcu_memb_read_lock();
        const struct steer_rum_table *table = rum_collector_table(s.col);
        struct steer_inputs in = { .state = health && health_down(3, h) ? us_down : all_up, .rum = table };
        for (int i = 0; i < nnets; i++) {
            const struct net *n = &nets[i];
            for (int r = 0; r < REQS_PER_MIN; r++) {
                struct steer_client cl = { .source_len = 24, .has_ecs = true };
                addr_v4(net_base(i) + (uint32_t)(rnd64() % SUBNETS) * 256, &cl.addr);
                int pick[NPOL];
                for (int k = 0; k < POL_ORACLE; k++)
                    pick[k] = decide(&s, k, &cl, &in);
                pick[POL_ORACLE] = pick_oracle(n, h);
                /* diagnostics: did the table decide for this client? */
                struct geo_loc loc;
                struct geo_asn asn;
                struct rum_geo g;
                uint16_t order[M];
                enum rum_level lvl;
                geo_lookup_loc(steer_policy_geo(pol), &cl.addr, &loc);
                geo_lookup_asn(steer_policy_geo(pol), &cl.addr, &asn);
                rum_geo_from(&loc, &asn, &g);
                decided += rum_table_ranking(table, &g, 0, order, M, &lvl) > 0;
                rum_reqs++;
                double noise = lognorm(0.3), u = rnd01();   /* same luck for every policy */
                for (int k = 0; k < NPOL; k++) {
                    double pf, e = expected(n, pick[k], h, &pf);
                    record(&st[k], e * noise, u < pf);
                    st[k].picks[pick[k]]++;
                    /* --chosen: a share of rum-steered requests reports on the provider it got */
                    if (k == POL_RUM && chosen && rnd01() * 100 < chosen) {
                        struct rum_meas m = { .t_ms = t0, .provider = (uint16_t)s.prov_id[pick[k]], .name = -1,
                                              .kind = u < pf ? RUM_FAILURE : RUM_LATENCY,
                                              .value = u < pf ? 0 : fmin(e * noise, RUM_MAX_LATENCY_MS) };
                        struct net_addr client = cl.addr;
                        client.bytes[3] = (uint8_t)(1 + rnd64() % 254);
                        rum_collector_ingest(s.col, &client, &m, 1);
                        nbeacons++;
                    }
                }
            }
        }
        urcu_memb_read_unlock();
    }
    struct rum_counters rc;
    rum_collector_counters(s.col, &rc);
    printf("rum_sim: %d networks x %d providers, %d h, %d rum.js beacons/network/min, %d%% of requests report "
           "their provider, %d requests/network/min, half-life %.0f min, explore %.2f, margin %.2f, min_samples %.0f, "
           "health checks %s\n",
           nnets, M, hours, beacons, chosen, REQS_PER_MIN, half_life_min, rcfg->params.explore, rcfg->params.margin,
           rcfg->params.min_samples, health ? "on" : "off");
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
    double vs_oracle = p95[POL_RUM] / p95[POL_ORACLE], vs_static = 1 - p95[POL_RUM] / p95[POL_STATIC];
    printf("rum p95 / oracle p95 = %.3f (goal <= 1.05)\n", vs_oracle);
    printf("rum p95 vs static weights: %.1f%% better (goal >= 25%%)\n", 100 * vs_static);
    printf("goal %s\n", vs_oracle <= 1.05 && vs_static >= 0.25 ? "met" : "NOT met");
    printf("rum table decided for %.1f%% of requests; %llu beacons (%llu measurements) ingested; %llu cells; "
           "%llu recomputes\n", 100.0 * (double)decided / (double)rum_reqs, (unsigned long long)nbeacons,
           (unsigned long long)rc.measurements, (unsigned long long)rc.cells, (unsigned long long)rc.recomputes);

    /* ---- costs of the parts on their own (release build; the machine may
     * be shared, so indicative): the query path per name, the recompute,
     * ingestion of one beacon */
    struct timespec a0, a1;
    const int iters = 1000000;
    double ns_decide[POL_ORACLE];
    urcu_memb_read_lock();
    struct steer_inputs in = { .state = all_up, .rum = rum_collector_table(s.col) };
    for (int k = 0; k < POL_ORACLE; k++) {
        struct steer_client cl = { .source_len = 24, .has_ecs = true };
        unsigned sink = 0;
        clock_gettime(CLOCK_MONOTONIC, &a0);
        for (int i = 0; i < iters; i++) {
            addr_v4(net_base(i % nnets) + (uint32_t)(i % SUBNETS) * 256, &cl.addr);
            sink += (unsigned)decide(&s, k, &cl, &in);
        }
        clock_gettime(CLOCK_MONOTONIC, &a1);
        ns_decide[k] = elapsed_ns(&a0, &a1) / iters + (sink == 1u ? 1e-9 : 0);
    }
    urcu_memb_read_unlock();
    clock_gettime(CLOCK_MONOTONIC, &a0);
    for (int i = 0; i < 20; i++)
        rum_collector_recompute(s.col);
    clock_gettime(CLOCK_MONOTONIC, &a1);
    double ms_build = elapsed_ns(&a0, &a1) / 1e6 / 20;
    for (int p = 0; p < M; p++)
        meas[p] = (struct rum_meas){ .t_ms = now, .kind = RUM_LATENCY, .value = 42, .provider = (uint16_t)s.prov_id[p],
                                     .name = -1 };
    clock_gettime(CLOCK_MONOTONIC, &a0);
    for (int i = 0; i < 250000; i++) {
        struct net_addr client;
        addr_v4(net_base(i % nnets) + (uint32_t)(i % 4096), &client);
        rum_collector_ingest(s.col, &client, meas, M);
    }
    clock_gettime(CLOCK_MONOTONIC, &a1);
    double ns_ingest = elapsed_ns(&a0, &a1) / 250000;
    rum_collector_counters(s.col, &rc);
    printf("costs: steer_decide static %.0f ns, geo %.0f ns, rum %.0f ns per query (%d providers); recompute %.2f ms "
           "(%llu cells); ingest %.0f ns per beacon of %d measurements (geo lookups + %d cells)\n",
           ns_decide[POL_STATIC], ns_decide[POL_GEO], ns_decide[POL_RUM], M, ms_build, (unsigned long long)rc.cells,
           ns_ingest, M, M * RUM_NLEVELS);

    urcu_memb_unregister_thread();
    rum_collector_free(&s.col);
    free(rcfg);
    steer_policy_free(&pol);
    cfg_free(&ctx);
    free(yaml);
    free(all_up);
    free(us_down);
    free(nets);
    for (int k = 0; k < NPOL; k++)
        free(st[k].hist);
    return 0;
}
