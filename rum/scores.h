/* rum/scores.h: the RUM score table read by the query path, and the `rum`
 * policy's decision rule.
 *
 * A steer_rum_table is built off the query path (the collector thread, about
 * once a second) from the aggregate, immutable once built, and published by
 * RCU pointer swap (rum/collector.h); the query path reads it inside its RCU
 * read-side section. It holds, per bucket (ASN+country, country, continent,
 * global) that has data: each provider's score, and for each registered pool
 * the ranked member list the decision rule produced, so the query path only
 * looks a bucket up and scans a short list. No allocation, no lock, no log.
 *
 * Pools. The rum policy ranks the members of a pool; hysteresis needs to
 * remember the incumbent per (bucket, pool) between recomputes, so pools are
 * registered up front (struct rum_pool_set, built by the owner of the
 * steering policy: pool id = index, members = provider ids + config
 * weights). A pool set is immutable; a new one (reload) is passed to the next
 * build, and incumbents carry over when they are still members.
 *
 * Decision rule for (bucket, pool), at build time:
 *   cost(p)   = latency quantile (default the median) + failure_penalty_ms *
 *               (1 - success ratio)    -- expected ms, a failure costs a retry
 *   trusted   = decayed samples >= min_samples
 *   the bucket decides for the pool when at least min(2, members) members
 *   are trusted; otherwise the next level up decides (ASN -> country ->
 *   continent -> global -> none: the caller falls back to weights);
 *   best      = the trusted member of lowest cost;
 *   preferred = in weight order (highest first, then member order) the first
 *               trusted member with cost <= cost(best) * (1 + tolerance):
 *               weights are a cost preference ("prefer the higher-weight
 *               provider unless it is more than tolerance slower");
 *   hysteresis: the previous winner (incumbent) stays while it is trusted
 *               and cost(incumbent) <= cost(preferred) * (1 + margin);
 *   ranked    = winner, other trusted members by cost, untrusted members by
 *               weight (so a query whose winner is down takes the next).
 * At query time (rum_rank_keys): the first decided level's list orders the
 * live candidates. Exploration: when some live candidates are not trusted
 * in the deciding bucket (too few decayed samples: nobody has been sent
 * there lately), a deterministic share `explore` of client subnets (hash of
 * the subnet and of the exploration epoch, which turns every
 * explore_rotate_ms) is answered with one of them, so data keeps flowing.
 * Trusted candidates are never explored: when rum.js measures every provider
 * (or exploration has done its job) all answers follow the ranking. An
 * earlier version explored towards any non-first candidate; the simulator
 * showed that 5% random detours cost 15% of p95 for no information gain. */
#ifndef STEER_RUM_SCORES_H
#define STEER_RUM_SCORES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rum/aggregate.h"

#define RUM_POOL_MAX   64      /* members per pool (= STEER_MAX_MEMBERS) */
#define RUM_MAX_POOLS  65536   /* pools per set */
#define RUM_TABLE_MAGIC 0x52554d54u   /* "RUMT": checked on every query-path entry */

struct rum_params {
    double min_samples;        /* decayed samples before a cell is trusted */
    double margin;             /* hysteresis: challenger must be this much cheaper (0.1 = 10%) */
    double tolerance;          /* weight preference: accept this much more cost for a higher weight */
    double explore;            /* share of client subnets that explore (0..0.5) */
    double quantile;           /* latency quantile used in the cost (0.5 = median) */
    double failure_penalty_ms; /* cost of a failed request */
    int64_t explore_rotate_ms; /* exploration epoch length */
};
void rum_params_default(struct rum_params *p);

struct rum_pool {
    unsigned n;
    uint16_t prov[RUM_POOL_MAX];
    uint32_t weight[RUM_POOL_MAX];
};

struct rum_pool_set {
    unsigned n;
    struct rum_pool pool[];    /* pool id = index */
};
/* Allocates a set of n empty pools (free with free()). */
struct rum_pool_set *rum_pool_set_new(unsigned n);

/* What the table knows about one provider in one bucket. */
struct rum_score {
    float samples;             /* decayed sample count */
    float success;             /* success ratio */
    float p50, p95;            /* latency quantiles, ms */
    float cost;                /* the decision rule's expected ms */
    uint16_t prov;
    bool trusted;
};

struct steer_rum_table;

/* Builds a table from the aggregate as of now_ms. prev (may be NULL) supplies
 * the incumbents. Returns NULL on allocation failure. Not for the query path. */
struct steer_rum_table *rum_table_build(const struct rum_agg *agg, const struct rum_pool_set *pools,
                                        const struct rum_params *p, const struct steer_rum_table *prev,
                                        int64_t now_ms);
void rum_table_free(struct steer_rum_table **t);

uint64_t rum_table_version(const struct steer_rum_table *t);
int64_t rum_table_built_ms(const struct steer_rum_table *t);
size_t rum_table_bucket_count(const struct steer_rum_table *t);

/* ---- query path: never allocate, lock or block ---- */

/* The client's geo as RUM buckets it (from geo/ results; see rum_geo_from). */
struct geo_loc;
struct geo_asn;
void rum_geo_from(const struct geo_loc *loc, const struct geo_asn *asn, struct rum_geo *out);

/* Score of provider `prov` for the client: from the most specific level
 * where it is trusted, else the most specific level that has it at all.
 * Returns that level, or RUM_LVL_NONE (no data; *out zeroed). */
enum rum_level rum_table_score(const struct steer_rum_table *t, const struct rum_geo *g, uint16_t prov,
                               struct rum_score *out);

/* Score of provider `prov` in exactly one bucket (key from rum_bucket_key),
 * with no fallback to other levels: what observers (the status page) show
 * per bucket, trusted or not. Returns RUM_BUCKET_NONE (no table, no such
 * bucket or no data for prov there; *out zeroed), else *out filled and
 * RUM_BUCKET_TRUSTED or RUM_BUCKET_UNTRUSTED (fewer decayed samples than
 * min_samples: out->samples says how many). */
enum rum_bucket_result { RUM_BUCKET_NONE = 0, RUM_BUCKET_UNTRUSTED = 1, RUM_BUCKET_TRUSTED = 2 };
enum rum_bucket_result rum_table_bucket_score(const struct steer_rum_table *t, uint64_t key, uint16_t prov,
                                              struct rum_score *out);

struct rum_pick {
    enum rum_level level;      /* level that decided, RUM_LVL_NONE = no decision */
    uint64_t bucket;           /* its bucket key */
    bool explored;             /* exploration moved a non-first candidate up */
    uint16_t first;            /* provider ranked first by the table (before exploration) */
};

/* Ranks live candidates prov[0..n) of pool `pool` for a client: fills key[i]
 * (higher = better, as steering's rank() expects; exploration's pick gets the
 * highest key). subnet_hash: any stable hash of the client's subnet (steering
 * uses its /24 or /56 hash). Returns the deciding level; RUM_LVL_NONE when no
 * level decides (keys untouched: use weights). */
enum rum_level rum_rank_keys(const struct steer_rum_table *t, const struct rum_geo *g, uint32_t pool,
                             const uint16_t *prov, unsigned n, uint64_t subnet_hash, double *key,
                             struct rum_pick *info);

/* The decided ranking of a pool for a client, before health and exploration:
 * up to max provider ids into out; returns the count (0: no level decides). */
unsigned rum_table_ranking(const struct steer_rum_table *t, const struct rum_geo *g, uint32_t pool,
                           uint16_t *out, unsigned max, enum rum_level *level);

#endif
