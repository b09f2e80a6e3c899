/* rum/aggregate.c: decayed per-(bucket, provider) cells (see aggregate.h). */
#include "rum/aggregate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/hash.h"

/* ---------------------------------------------------------------- types */

#define NONE UINT32_MAX

struct rum_agg {
    struct rum_cell *cell;     /* [cap], dense: 0..n-1 used */
    uint32_t *slot;            /* [mask+1], cell index + 1, 0 = empty */
    size_t n, cap;
    uint32_t mask;
    uint32_t head, tail;       /* LRU: head = most recently updated */
    int64_t half_life_ms;
    uint64_t evictions;
};

/* ------------------------------------------------------------- buckets */

/* key = (level + 1) << 56 | asn << 16 | two code letters. Level + 1 so a
 * valid key is never 0. */
uint64_t rum_bucket_key(enum rum_level lvl, const struct rum_geo *g)
{
    const char *code = "";
    uint64_t asn = 0;
    switch (lvl) {
    case RUM_LVL_ASN:
        if (!g->asn)
            return 0;
        asn = g->asn;
        code = g->country;
        break;
    case RUM_LVL_COUNTRY:
        if (!g->country[0])
            return 0;
        code = g->country;
        break;
    case RUM_LVL_CONTINENT:
        if (!g->continent[0])
            return 0;
        code = g->continent;
        break;
    case RUM_LVL_GLOBAL:
        break;
    default:
        return 0;
    }
    uint64_t c0 = (uint8_t)code[0], c1 = c0 ? (uint8_t)code[1] : 0;
    return ((uint64_t)(lvl + 1) << 56) | (asn << 16) | (c0 << 8) | c1;
}

enum rum_level rum_key_level(uint64_t key)
{
    unsigned l = (unsigned)(key >> 56);
    return l >= 1 && l <= RUM_NLEVELS ? (enum rum_level)(l - 1) : RUM_LVL_NONE;
}

const char *rum_level_name(enum rum_level l)
{
    static const char *const names[] = { "asn", "country", "continent", "global", "none" };
    return (unsigned)l <= RUM_LVL_NONE ? names[l] : "?";
}

int rum_key_format(uint64_t key, char *buf, size_t size)
{
    char code[3] = { (char)((key >> 8) & 0xff), (char)(key & 0xff), 0 };
    for (int i = 0; i < 2; i++)
        if (code[i] && (code[i] < 'A' || code[i] > 'Z'))
            code[i] = '?';
    switch (rum_key_level(key)) {
    case RUM_LVL_ASN:
        return snprintf(buf, size, "asn:%u/%s", (unsigned)((key >> 16) & 0xffffffffu), code[0] ? code : "--");
    case RUM_LVL_COUNTRY: return snprintf(buf, size, "country:%s", code);
    case RUM_LVL_CONTINENT: return snprintf(buf, size, "continent:%s", code);
    case RUM_LVL_GLOBAL: return snprintf(buf, size, "global");
    default: return snprintf(buf, size, "invalid");
    }
}

/* ----------------------------------------------------------- histogram */

/* Bin edges: bin 0 = [0, 1 ms), bin i = [r^(i-1), r^i) ms with
 * r = 60000^(1/(BINS-1)): 60 s (the latency ceiling) ends the last bin. */
static double bin_ratio_log(void)
{
    return log(RUM_MAX_LATENCY_MS / RUM_HIST_MIN_MS) / (RUM_HIST_BINS - 1);
}

unsigned rum_hist_bin(double ms)
{
    if (!(ms >= RUM_HIST_MIN_MS))
        return 0;
    double b = floor(log(ms / RUM_HIST_MIN_MS) / bin_ratio_log()) + 1;
    return b >= RUM_HIST_BINS - 1 ? RUM_HIST_BINS - 1 : (unsigned)b;
}

static double bin_lo(unsigned b)
{
    return b == 0 ? 0 : RUM_HIST_MIN_MS * exp(bin_ratio_log() * (b - 1));
}

double rum_hist_quantile(const float *hist, double q)
{
    double total = 0;
    for (unsigned b = 0; b < RUM_HIST_BINS; b++)
        total += hist[b];
    if (total <= 0)
        return 0;
    double target = q * total, cum = 0;
    for (unsigned b = 0; b < RUM_HIST_BINS; b++) {
        if (hist[b] <= 0)
            continue;
        if (cum + hist[b] >= target || b == RUM_HIST_BINS - 1) {
            double frac = (target - cum) / hist[b];
            frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
            if (b == 0)
                return frac * RUM_HIST_MIN_MS;
            double lo = bin_lo(b);
            return lo * exp(bin_ratio_log() * frac);   /* log-linear inside the bin */
        }
        cum += hist[b];
    }
    return RUM_MAX_LATENCY_MS;
}

/* --------------------------------------------------------------- decay */

static double decay_factor(int64_t half_life_ms, int64_t dt_ms)
{
    if (dt_ms <= 0 || half_life_ms <= 0)
        return 1;
    return exp2(-(double)dt_ms / (double)half_life_ms);
}

/* Below this a decayed counter is noise; flushing to 0 avoids denormals. */
#define TINY 1e-6f

static void scale_cell(struct rum_cell *c, double f)
{
    if (f == 1)
        return;
    float ff = (float)f;
    c->ok *= ff;
    c->fail *= ff;
    c->thr_w *= ff;
    c->thr_log *= ff;
    for (unsigned b = 0; b < RUM_HIST_BINS; b++) {
        c->hist[b] *= ff;
        if (c->hist[b] < TINY)
            c->hist[b] = 0;
    }
    if (c->ok < TINY) c->ok = 0;
    if (c->fail < TINY) c->fail = 0;
    if (c->thr_w < TINY) c->thr_w = c->thr_log = 0;
}

void rum_cell_stats(const struct rum_cell *c, int64_t half_life_ms, int64_t now_ms, double q, struct rum_stats *o)
{
    double f = decay_factor(half_life_ms, now_ms - c->t_ms);
    double lat = 0;
    for (unsigned b = 0; b < RUM_HIST_BINS; b++)
        lat += c->hist[b];
    o->samples = ((double)c->ok + c->fail) * f;
    o->success = c->ok + c->fail > 0 ? c->ok / ((double)c->ok + c->fail) : 1;
    o->lat_samples = lat * f;
    o->p50 = rum_hist_quantile(c->hist, 0.5);
    o->p95 = rum_hist_quantile(c->hist, 0.95);
    o->q = rum_hist_quantile(c->hist, q);
    o->throughput = c->thr_w > 0 ? exp(c->thr_log / c->thr_w) : 0;
}

/* ---------------------------------------------------------- index/LRU */

static uint32_t home(const struct rum_agg *a, uint64_t key, uint16_t prov)
{
    return (uint32_t)hash_mix64(key ^ ((uint64_t)prov * 0x9e3779b97f4a7c15ULL)) & a->mask;
}

static uint32_t find_slot(const struct rum_agg *a, uint64_t key, uint16_t prov)
{
    /* bounded: load <= 1/2 guarantees an empty slot within mask+1 probes */
    for (uint32_t i = home(a, key, prov), k = 0; k <= a->mask; i = (i + 1) & a->mask, k++) {
        uint32_t s = a->slot[i];
        if (!s)
            return i;
        const struct rum_cell *c = &a->cell[s - 1];
        if (c->key == key && c->prov == prov)
            return i;
    }
    return NONE;   /* unreachable with the load bound */
}

/* Backward-shift deletion for linear probing: no tombstones. */
static void slot_delete(struct rum_agg *a, uint32_t i)
{
    uint32_t j = i;
    for (uint32_t k = 0; k <= a->mask; k++) {
        a->slot[i] = 0;
        for (;;) {
            j = (j + 1) & a->mask;
            if (!a->slot[j])
                return;
            const struct rum_cell *c = &a->cell[a->slot[j] - 1];
            uint32_t h = home(a, c->key, c->prov);
            /* may the entry at j move to i? yes unless h lies cyclically in (i, j] */
            if (i <= j ? (h <= i || h > j) : (h <= i && h > j))
                break;
        }
        a->slot[i] = a->slot[j];
        i = j;
    }
}

static void lru_unlink(struct rum_agg *a, uint32_t ci)
{
    struct rum_cell *c = &a->cell[ci];
    if (c->prev != NONE) a->cell[c->prev].next = c->next; else a->head = c->next;
    if (c->next != NONE) a->cell[c->next].prev = c->prev; else a->tail = c->prev;
    c->prev = c->next = NONE;
}

static void lru_push_front(struct rum_agg *a, uint32_t ci)
{
    struct rum_cell *c = &a->cell[ci];
    c->prev = NONE;
    c->next = a->head;
    if (a->head != NONE)
        a->cell[a->head].prev = ci;
    a->head = ci;
    if (a->tail == NONE)
        a->tail = ci;
}

/* Returns the cell for (key, prov), creating it (evicting the LRU cell when
 * full) with counters at time t_ms. Moves it to the LRU front. */
static struct rum_cell *get_cell(struct rum_agg *a, uint64_t key, uint16_t prov, int64_t t_ms)
{
    uint32_t s = find_slot(a, key, prov);
    if (a->slot[s]) {
        uint32_t ci = a->slot[s] - 1;
        lru_unlink(a, ci);
        lru_push_front(a, ci);
        return &a->cell[ci];
    }
    uint32_t ci;
    if (a->n < a->cap) {
        ci = (uint32_t)a->n++;
    } else {
        ci = a->tail;
        struct rum_cell *old = &a->cell[ci];
        slot_delete(a, find_slot(a, old->key, old->prov));
        lru_unlink(a, ci);
        a->evictions++;
        s = find_slot(a, key, prov);   /* the deletion may have shifted slots */
    }
    struct rum_cell *c = &a->cell[ci];
    memset(c, 0, sizeof *c);
    c->key = key;
    c->prov = prov;
    c->t_ms = t_ms;
    c->prev = c->next = NONE;
    a->slot[s] = ci + 1;
    lru_push_front(a, ci);
    return c;
}

/* ------------------------------------------------------------------ API */

struct rum_agg *rum_agg_new(size_t max_cells, int64_t half_life_ms)
{
    if (max_cells < 1 || max_cells > RUM_MAX_CELLS || half_life_ms <= 0)
        return NULL;
    struct rum_agg *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    size_t slots = 2;
    while (slots < 2 * max_cells)
        slots <<= 1;
    a->cell = calloc(max_cells, sizeof *a->cell);
    a->slot = calloc(slots, sizeof *a->slot);
    if (!a->cell || !a->slot) {
        rum_agg_free(&a);
        return NULL;
    }
    a->cap = max_cells;
    a->mask = (uint32_t)(slots - 1);
    a->head = a->tail = NONE;
    a->half_life_ms = half_life_ms;
    return a;
}

void rum_agg_free(struct rum_agg **a)
{
    if (!*a)
        return;
    free((*a)->cell);
    free((*a)->slot);
    free(*a);
    *a = NULL;
}

static void add_one(struct rum_agg *a, uint64_t key, const struct rum_meas *m)
{
    struct rum_cell *c = get_cell(a, key, m->provider, m->t_ms);
    double w = 1;
    if (m->t_ms >= c->t_ms) {
        scale_cell(c, decay_factor(a->half_life_ms, m->t_ms - c->t_ms));
        c->t_ms = m->t_ms;
    } else {
        w = decay_factor(a->half_life_ms, c->t_ms - m->t_ms);   /* older than the cell: weigh it down */
    }
    switch (m->kind) {
    case RUM_LATENCY:
        c->ok += (float)w;
        c->hist[rum_hist_bin(m->value)] += (float)w;
        break;
    case RUM_THROUGHPUT:
        c->ok += (float)w;
        c->thr_w += (float)w;
        c->thr_log += (float)(w * log(m->value));
        break;
    default:
        c->fail += (float)w;
        break;
    }
}

void rum_agg_add(struct rum_agg *a, const struct rum_geo *g, const struct rum_meas *m)
{
    for (int l = 0; l < RUM_NLEVELS; l++) {
        uint64_t key = rum_bucket_key((enum rum_level)l, g);
        if (key)
            add_one(a, key, m);
    }
}

static bool finite_nonneg(float v)
{
    return isfinite(v) && v >= 0;
}

int rum_agg_put_cell(struct rum_agg *a, const struct rum_cell *in)
{
    if (rum_key_level(in->key) == RUM_LVL_NONE || !finite_nonneg(in->ok) || !finite_nonneg(in->fail) ||
        !finite_nonneg(in->thr_w) || !isfinite(in->thr_log))
        return -1;
    for (unsigned b = 0; b < RUM_HIST_BINS; b++)
        if (!finite_nonneg(in->hist[b]))
            return -1;
    struct rum_cell *c = get_cell(a, in->key, in->prov, in->t_ms);
    uint32_t prev = c->prev, next = c->next;
    *c = *in;
    c->prev = prev;
    c->next = next;
    c->pad = 0;
    return 0;
}

size_t rum_agg_count(const struct rum_agg *a) { return a->n; }
size_t rum_agg_capacity(const struct rum_agg *a) { return a->cap; }
int64_t rum_agg_half_life(const struct rum_agg *a) { return a->half_life_ms; }
uint64_t rum_agg_evictions(const struct rum_agg *a) { return a->evictions; }

const struct rum_cell *rum_agg_cell(const struct rum_agg *a, size_t i)
{
    return i < a->n ? &a->cell[i] : NULL;
}

const struct rum_cell *rum_agg_find(const struct rum_agg *a, uint64_t key, uint16_t prov)
{
    uint32_t s = find_slot(a, key, prov);
    return s != NONE && a->slot[s] ? &a->cell[a->slot[s] - 1] : NULL;
}
