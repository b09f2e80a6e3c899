/* rum/aggregate.h: decayed per-(bucket, provider) statistics of RUM samples.
 *
 * A measurement from a client counts in up to four buckets, from specific to
 * general: ASN+country, country, continent, global (a level is skipped when
 * the client's geo lacks what it needs). Each (bucket, provider) pair is a
 * cell holding exponentially decayed counters:
 *   - successes (latency and throughput samples) and failures -> success ratio
 *   - a latency histogram of RUM_HIST_BINS log-spaced bins from 1 ms to 60 s
 *     (ratio ~1.19 per bin) -> decayed median, p95, any quantile, interpolated
 *     log-linearly inside the bin (error well under one bin width)
 *   - a decayed geometric mean of throughput (informational).
 * Decay: a sample of age a weighs 2^(-a / half_life). Cells decay lazily: a
 * cell stores the time of its counters and is scaled when it is next touched
 * or read, so an update costs O(bins) and idle cells cost nothing.
 *
 * Memory is fixed at creation: at most max_cells cells in one array, an
 * open-addressed index (linear probing, load <= 1/2) and an LRU list; when
 * full, the least recently updated cell is reused. Nothing a client sends
 * grows it.
 *
 * Threads: a rum_agg is single-owner (the collector thread, or a tool);
 * nothing in it is locked. Readers of scores use the immutable score table
 * built from it (rum/scores.h), never the aggregate itself.
 * Time is always passed in (wall-clock ms), so tests and the simulator
 * control it. */
#ifndef STEER_RUM_AGGREGATE_H
#define STEER_RUM_AGGREGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rum/beacon.h"

#define RUM_HIST_BINS   64
#define RUM_HIST_MIN_MS 1.0        /* lower edge of bin 1; bin 0 holds everything below */
#define RUM_MAX_CELLS   (1u << 22) /* hard ceiling on the configured max_cells (~1.2 GB) */

enum rum_level { RUM_LVL_ASN = 0, RUM_LVL_COUNTRY = 1, RUM_LVL_CONTINENT = 2, RUM_LVL_GLOBAL = 3,
                 RUM_NLEVELS = 4, RUM_LVL_NONE = 4 };

/* The client's network as the aggregate sees it. Empty strings / asn 0 mean
 * unknown. Codes upper-case as geo/ returns them. */
struct rum_geo {
    uint32_t asn;
    char country[3];
    char continent[3];
};

/* Bucket key of a level for a client, or 0 when the client has no bucket at
 * that level (no ASN, no country, no continent). Global is always non-zero. */
uint64_t rum_bucket_key(enum rum_level lvl, const struct rum_geo *g);
enum rum_level rum_key_level(uint64_t key);
/* "asn:64500/DE", "country:DE", "continent:EU", "global". */
int rum_key_format(uint64_t key, char *buf, size_t size);
const char *rum_level_name(enum rum_level l);

struct rum_cell {
    uint64_t key;              /* bucket key */
    int64_t t_ms;              /* time the counters below are valid at */
    uint16_t prov;
    uint16_t pad;
    uint32_t prev, next;       /* LRU list (cell indices; UINT32_MAX = none) */
    float ok, fail;            /* decayed success / failure counts */
    float thr_w, thr_log;      /* decayed throughput weight and sum of ln(kbit/s) */
    float hist[RUM_HIST_BINS]; /* decayed latency histogram */
};

struct rum_agg;

struct rum_agg *rum_agg_new(size_t max_cells, int64_t half_life_ms);
void rum_agg_free(struct rum_agg **a);
/* Adds one validated measurement for a client. */
void rum_agg_add(struct rum_agg *a, const struct rum_geo *g, const struct rum_meas *m);
/* Inserts or replaces a raw cell (snapshot reload). Returns 0, -1 if invalid
 * (non-finite or negative counters, bad key). */
int rum_agg_put_cell(struct rum_agg *a, const struct rum_cell *c);

size_t rum_agg_count(const struct rum_agg *a);
size_t rum_agg_capacity(const struct rum_agg *a);
int64_t rum_agg_half_life(const struct rum_agg *a);
uint64_t rum_agg_evictions(const struct rum_agg *a);
/* Cell i (0 <= i < count), for snapshots and score builds. */
const struct rum_cell *rum_agg_cell(const struct rum_agg *a, size_t i);
const struct rum_cell *rum_agg_find(const struct rum_agg *a, uint64_t key, uint16_t prov);

struct rum_stats {
    double samples;            /* decayed count of samples (success + failure) at `now` */
    double success;            /* ok / (ok + fail); 1 when no sample */
    double lat_samples;        /* decayed latency samples */
    double p50, p95, q;        /* latency quantiles in ms (q = the requested one); 0 without latency */
    double throughput;         /* geometric mean kbit/s, 0 without samples */
};
/* Stats of a cell as of now_ms; q in (0,1). */
void rum_cell_stats(const struct rum_cell *c, int64_t half_life_ms, int64_t now_ms, double q, struct rum_stats *out);
/* Latency quantile of a histogram (ms), 0 if empty. */
double rum_hist_quantile(const float *hist, double q);
unsigned rum_hist_bin(double ms);

#endif
