/* rum/scores.c: immutable score table and the rum decision rule (see
 * scores.h). */
#include "rum/scores.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "geo/geo.h"

/* ---------------------------------------------------------------- types */

struct tbucket {
    uint64_t key;
    uint32_t score_off;        /* into s[] */
    uint32_t nscore;
};

struct tdec {                  /* decision of one (bucket, pool) */
    uint32_t off;              /* into rank[] */
    uint16_t n;                /* ranked members; 0 = this level does not decide */
    uint16_t ntrusted;         /* rank[off .. off+ntrusted) are trusted, the rest need data */
};

struct steer_rum_table {
    uint32_t magic;
    uint32_t npools;
    uint64_t version;
    int64_t built_ms;
    uint64_t epoch;            /* exploration epoch */
    struct rum_params p;
    uint32_t nb, mask;
    uint32_t *slot;            /* [mask+1] bucket index + 1 */
    struct tbucket *b;         /* [nb] */
    struct rum_score *s;       /* all scores, grouped per bucket, by provider id */
    struct tdec *d;            /* [nb * npools] */
    uint16_t *rank;
};

void rum_params_default(struct rum_params *p)
{
    p->min_samples = 20;             /* fewer decayed samples: a median is noise */
    p->margin = 0.10;                /* 10%: below the day-to-day wobble of a CDN's median */
    p->tolerance = 0;                /* weights only break exact ties unless configured */
    p->explore = 0.05;               /* 5% of subnets keep the others measured */
    p->quantile = 0.5;
    p->failure_penalty_ms = 3000;    /* a failed fetch costs about a retry/timeout */
    p->explore_rotate_ms = 600000;   /* a subnet explores for at most 10 minutes in a row */
}

struct rum_pool_set *rum_pool_set_new(unsigned n)
{
    if (n > RUM_MAX_POOLS)
        return NULL;
    struct rum_pool_set *s = calloc(1, sizeof *s + (size_t)n * sizeof s->pool[0]);
    if (s)
        s->n = n;
    return s;
}

/* -------------------------------------------------------------- lookup */

static const struct tbucket *find_bucket(const struct steer_rum_table *t, uint64_t key)
{
    if (!key || !t->nb)
        return NULL;
    for (uint32_t i = (uint32_t)hash_mix64(key) & t->mask, k = 0; k <= t->mask; i = (i + 1) & t->mask, k++) {
        uint32_t s = t->slot[i];
        if (!s)
            return NULL;
        if (t->b[s - 1].key == key)
            return &t->b[s - 1];
    }
    return NULL;
}

static const struct rum_score *bucket_score(const struct steer_rum_table *t, const struct tbucket *b, uint16_t prov)
{
    uint32_t lo = 0, hi = b->nscore;   /* sorted by provider id */
    const struct rum_score *s = t->s + b->score_off;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (s[mid].prov < prov)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < b->nscore && s[lo].prov == prov ? &s[lo] : NULL;
}

static const struct tdec *bucket_dec(const struct steer_rum_table *t, const struct tbucket *b, uint32_t pool)
{
    if (pool >= t->npools)
        return NULL;
    const struct tdec *d = &t->d[(size_t)(b - t->b) * t->npools + pool];
    return d->n ? d : NULL;
}

/* ------------------------------------------------------------- building */

struct build {
    const struct rum_agg *agg;
    const struct rum_params *p;
    int64_t now;
};

struct sortent {               /* qsort has no context argument: sort copies of the keys */
    uint64_t key;
    uint32_t idx;
    uint16_t prov;
};

static int cmp_cells(const void *x, const void *y)
{
    const struct sortent *a = x, *b = y;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->prov > b->prov) - (a->prov < b->prov);
}

static size_t nz(size_t x)
{
    return x ? x : 1;
}

static void make_score(const struct rum_cell *c, const struct rum_params *p, int64_t hl, int64_t now,
                       struct rum_score *s)
{
    struct rum_stats st;
    rum_cell_stats(c, hl, now, p->quantile, &st);
    s->prov = c->prov;
    s->samples = (float)st.samples;
    s->success = (float)st.success;
    s->p50 = (float)st.p50;
    s->p95 = (float)st.p95;
    /* no latency sample at all (only failures/throughput): as slow as allowed */
    double lat = st.lat_samples > 0 ? st.q : RUM_MAX_LATENCY_MS;
    s->cost = (float)(lat + p->failure_penalty_ms * (1 - st.success));
    s->trusted = st.samples >= p->min_samples;
}

/* Incumbent of (key, pool) in the previous table, or -1. */
static int incumbent(const struct steer_rum_table *prev, uint64_t key, uint32_t pool)
{
    if (!prev)
        return -1;
    const struct tbucket *b = find_bucket(prev, key);
    const struct tdec *d = b ? bucket_dec(prev, b, pool) : NULL;
    return d ? prev->rank[d->off] : -1;
}

/* Ranks one pool in one bucket into out; returns the count, 0 if the bucket
 * does not decide (see the rule in scores.h). */
static unsigned decide(const struct steer_rum_table *t, const struct tbucket *b, const struct rum_pool *pl,
                       const struct rum_params *p, int inc, uint16_t *out, uint16_t *ntrusted_out)
{
    const struct rum_score *sc[RUM_POOL_MAX];
    unsigned ntrusted = 0, n = pl->n < RUM_POOL_MAX ? pl->n : RUM_POOL_MAX;
    for (unsigned i = 0; i < n; i++) {
        sc[i] = bucket_score(t, b, pl->prov[i]);
        if (sc[i] && !sc[i]->trusted)
            sc[i] = NULL;
        ntrusted += sc[i] != NULL;
    }
    if (n == 0 || ntrusted < (n < 2 ? n : 2))
        return 0;
    *ntrusted_out = (uint16_t)ntrusted;
    int best = -1;
    for (unsigned i = 0; i < n; i++)
        if (sc[i] && (best < 0 || sc[i]->cost < sc[best]->cost))
            best = (int)i;
    /* preferred: highest weight (then member order) within tolerance of best */
    int pref = best;
    double limit = sc[best]->cost * (1 + p->tolerance);
    for (unsigned i = 0; i < n; i++)
        if (sc[i] && sc[i]->cost <= limit &&
            (pl->weight[i] > pl->weight[pref] || (pl->weight[i] == pl->weight[pref] && (int)i < pref)))
            pref = (int)i;
    int win = pref;
    for (unsigned i = 0; i < n && inc >= 0; i++)
        if (pl->prov[i] == inc && sc[i] && (int)i != pref && sc[i]->cost <= sc[pref]->cost * (1 + p->margin))
            win = (int)i;
    /* ranked list: winner, trusted by cost, untrusted by weight */
    unsigned k = 0;
    bool used[RUM_POOL_MAX] = { false };
    out[k++] = pl->prov[win];
    used[win] = true;
    for (unsigned pass = 0; pass < 2; pass++) {
        for (;;) {
            int pick = -1;
            for (unsigned i = 0; i < n; i++) {
                if (used[i] || (pass == 0) != (sc[i] != NULL))
                    continue;
                if (pick < 0 || (pass == 0 ? sc[i]->cost < sc[pick]->cost : pl->weight[i] > pl->weight[pick]))
                    pick = (int)i;
            }
            if (pick < 0)
                break;
            used[pick] = true;
            out[k++] = pl->prov[pick];
        }
    }
    return k;
}

struct steer_rum_table *rum_table_build(const struct rum_agg *agg, const struct rum_pool_set *pools,
                                        const struct rum_params *p, const struct steer_rum_table *prev,
                                        int64_t now_ms)
{
    size_t n = rum_agg_count(agg);
    unsigned npools = pools ? pools->n : 0;
    size_t rank_per_bucket = 0;
    for (unsigned i = 0; i < npools; i++)
        rank_per_bucket += pools->pool[i].n < RUM_POOL_MAX ? pools->pool[i].n : RUM_POOL_MAX;

    struct steer_rum_table *t = calloc(1, sizeof *t);
    struct sortent *order = malloc(nz(n) * sizeof *order);
    if (!t || !order)
        goto fail;
    t->magic = RUM_TABLE_MAGIC;
    t->version = prev ? prev->version + 1 : 1;
    t->built_ms = now_ms;
    t->epoch = p->explore_rotate_ms > 0 ? (uint64_t)(now_ms / p->explore_rotate_ms) : 0;
    t->p = *p;
    t->npools = npools;
    for (size_t i = 0; i < n; i++) {
        const struct rum_cell *c = rum_agg_cell(agg, i);
        order[i] = (struct sortent){ .key = c->key, .idx = (uint32_t)i, .prov = c->prov };
    }
    qsort(order, n, sizeof *order, cmp_cells);

    size_t nb = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || order[i].key != order[i - 1].key)
            nb++;
    size_t slots = 2;
    while (slots < 2 * nb)
        slots <<= 1;
    t->nb = (uint32_t)nb;
    t->mask = (uint32_t)(slots - 1);
    t->slot = calloc(slots, sizeof *t->slot);
    t->b = calloc(nz(nb), sizeof *t->b);
    t->s = calloc(nz(n), sizeof *t->s);
    t->d = calloc(nz(nb * npools), sizeof *t->d);
    t->rank = calloc(nz(nb * rank_per_bucket), sizeof *t->rank);
    if (!t->slot || !t->b || !t->s || !t->d || !t->rank)
        goto fail;

    int64_t hl = rum_agg_half_life(agg);
    size_t bi = 0;
    for (size_t i = 0; i < n; i++) {
        const struct rum_cell *c = rum_agg_cell(agg, order[i].idx);
        if (i == 0 || c->key != t->b[bi - 1].key) {
            t->b[bi].key = c->key;
            t->b[bi].score_off = (uint32_t)i;
            bi++;
        }
        t->b[bi - 1].nscore++;
        make_score(c, p, hl, now_ms, &t->s[i]);
    }
    for (size_t i = 0; i < nb; i++) {
        uint32_t h = (uint32_t)hash_mix64(t->b[i].key) & t->mask;
        while (t->slot[h])
            h = (h + 1) & t->mask;
        t->slot[h] = (uint32_t)i + 1;
    }
    uint32_t off = 0;
    for (size_t i = 0; i < nb; i++) {
        for (unsigned pi = 0; pi < npools; pi++) {
            struct tdec *d = &t->d[i * npools + pi];
            d->off = off;
            d->n = (uint16_t)decide(t, &t->b[i], &pools->pool[pi], p, incumbent(prev, t->b[i].key, pi),
                                    t->rank + off, &d->ntrusted);
            off += d->n;
        }
    }
    free(order);
    return t;
fail:
    free(order);
    rum_table_free(&t);
    return NULL;
}

void rum_table_free(struct steer_rum_table **tp)
{
    struct steer_rum_table *t = *tp;
    if (!t)
        return;
    free(t->slot);
    free(t->b);
    free(t->s);
    free(t->d);
    free(t->rank);
    t->magic = 0;
    free(t);
    *tp = NULL;
}

uint64_t rum_table_version(const struct steer_rum_table *t) { return t->version; }
int64_t rum_table_built_ms(const struct steer_rum_table *t) { return t->built_ms; }
size_t rum_table_bucket_count(const struct steer_rum_table *t) { return t->nb; }

/* ------------------------------------------------------------ query path */

void rum_geo_from(const struct geo_loc *loc, const struct geo_asn *asn, struct rum_geo *out)
{
    memset(out, 0, sizeof *out);
    if (asn && asn->found)
        out->asn = asn->asn;
    if (loc && loc->found) {
        memcpy(out->country, loc->country, 3);
        memcpy(out->continent, loc->continent, 3);
        out->country[2] = out->continent[2] = 0;
    }
}

enum rum_level rum_table_score(const struct steer_rum_table *t, const struct rum_geo *g, uint16_t prov,
                               struct rum_score *out)
{
    memset(out, 0, sizeof *out);
    if (!t || t->magic != RUM_TABLE_MAGIC)
        return RUM_LVL_NONE;
    enum rum_level any = RUM_LVL_NONE;
    for (int l = 0; l < RUM_NLEVELS; l++) {
        const struct tbucket *b = find_bucket(t, rum_bucket_key((enum rum_level)l, g));
        const struct rum_score *s = b ? bucket_score(t, b, prov) : NULL;
        if (!s)
            continue;
        if (s->trusted) {
            *out = *s;
            return (enum rum_level)l;
        }
        if (any == RUM_LVL_NONE) {
            *out = *s;
            any = (enum rum_level)l;
        }
    }
    return any;
}

enum rum_bucket_result rum_table_bucket_score(const struct steer_rum_table *t, uint64_t key, uint16_t prov,
                                              struct rum_score *out)
{
    memset(out, 0, sizeof *out);
    if (!t || t->magic != RUM_TABLE_MAGIC)
        return RUM_BUCKET_NONE;
    const struct tbucket *b = find_bucket(t, key);
    const struct rum_score *s = b ? bucket_score(t, b, prov) : NULL;
    if (!s)
        return RUM_BUCKET_NONE;
    *out = *s;
    return s->trusted ? RUM_BUCKET_TRUSTED : RUM_BUCKET_UNTRUSTED;
}

static const struct tdec *find_decision(const struct steer_rum_table *t, const struct rum_geo *g, uint32_t pool,
                                        enum rum_level *level, uint64_t *key)
{
    for (int l = 0; l < RUM_NLEVELS; l++) {
        uint64_t k = rum_bucket_key((enum rum_level)l, g);
        const struct tbucket *b = find_bucket(t, k);
        const struct tdec *d = b ? bucket_dec(t, b, pool) : NULL;
        if (d) {
            *level = (enum rum_level)l;
            *key = k;
            return d;
        }
    }
    *level = RUM_LVL_NONE;
    *key = 0;
    return NULL;
}

unsigned rum_table_ranking(const struct steer_rum_table *t, const struct rum_geo *g, uint32_t pool,
                           uint16_t *out, unsigned max, enum rum_level *level)
{
    uint64_t key;
    *level = RUM_LVL_NONE;
    if (!t || t->magic != RUM_TABLE_MAGIC)
        return 0;
    const struct tdec *d = find_decision(t, g, pool, level, &key);
    unsigned k = 0;
    for (; d && k < d->n && k < max; k++)
        out[k] = t->rank[d->off + k];
    return k;
}

enum rum_level rum_rank_keys(const struct steer_rum_table *t, const struct rum_geo *g, uint32_t pool,
                             const uint16_t *prov, unsigned n, uint64_t subnet_hash, double *key,
                             struct rum_pick *info)
{
    struct rum_pick tmp;
    if (!info)
        info = &tmp;
    memset(info, 0, sizeof *info);
    info->level = RUM_LVL_NONE;
    if (!t || t->magic != RUM_TABLE_MAGIC || n == 0)
        return RUM_LVL_NONE;
    const struct tdec *d = find_decision(t, g, pool, &info->level, &info->bucket);
    if (!d)
        return RUM_LVL_NONE;
    const uint16_t *r = t->rank + d->off;
    info->first = r[0];
    unsigned need = 0;   /* live candidates whose data is not trusted here */
    for (unsigned i = 0; i < n; i++) {
        unsigned pos = d->n;
        for (unsigned j = 0; j < d->n; j++)   /* d->n <= RUM_POOL_MAX */
            if (r[j] == prov[i]) {
                pos = j;
                break;
            }
        key[i] = -(double)pos;
        need += pos >= d->ntrusted;
    }
    /* exploration: only towards candidates that need data, and never the
     * whole answer set (need < n: something trusted is live) */
    if (need > 0 && need < n && t->p.explore > 0) {
        uint64_t h = hash_mix64(subnet_hash ^ hash_mix64(t->epoch + 0x5851f42d4c957f2dULL));
        double u = (double)(h >> 11) * (1.0 / 9007199254740992.0);   /* 2^-53: u in [0,1) */
        if (u < t->p.explore) {
            unsigned k = (unsigned)(hash_mix64(h) % need), seen = 0;
            for (unsigned i = 0; i < n; i++) {
                if (key[i] > -(double)d->ntrusted)
                    continue;   /* trusted */
                if (seen++ == k) {
                    key[i] = 1;
                    info->explored = true;
                    break;
                }
            }
        }
    }
    return info->level;
}
