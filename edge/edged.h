/* edge/edged.h: the edged daemon context shared by its modules.
 *
 * Owns the event base, the loaded configuration (immutable), the memory
 * store, per-site upstream sets, counters and the cached Date header. One
 * instance per process; everything runs on the event-loop thread except the
 * disk writer (see disk.h), which never touches this struct. */
#ifndef STEER_EDGE_EDGED_H
#define STEER_EDGE_EDGED_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "edge/config.h"
#include "edge/http.h"
#include "edge/store.h"
#include "edge/upstream.h"

struct ssl_ctx_st;
struct disk;

struct site_rt {
    const struct edge_site *cfg;
    struct upstream *origin;
    struct upstream *shields[EDGE_MAX_SHIELDS];
    unsigned nshields;
};

/* Upper bounds (microseconds) of the upstream head-time histogram: from a
 * loopback or same-rack upstream (well under 1 ms) to the default
 * first-byte timeout (15 s). */
#define UP_DUR_BOUNDS_US { 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, \
                           250000, 500000, 1000000, 2500000, 5000000, 15000000 }
#define UP_DUR_NB 15

/* Per-tier upstream counters (see upstream.h for what is counted). */
struct up_tier_stats {
    uint64_t result[UP_RESULTS];
    uint64_t head[UP_DUR_NB + 1];   /* not cumulative; [UP_DUR_NB] is +Inf */
    uint64_t head_us_sum;
};

/* Counters; plain integers because only the loop thread writes them. */
struct edge_stats {
    uint64_t requests, hits, misses, stale, revalidated, pass, collapsed, errors;
    uint64_t status[6];             /* by class: 1xx..5xx at [1..5] */
    uint64_t bytes_out, bytes_upstream;
    uint64_t up_requests, up_failures, up_fallbacks;
    struct up_tier_stats tier[UP_TIERS];
    uint64_t purges, purged_objects, signed_denied;
    uint64_t conns_open, conns_total;
};

struct edged {
    struct event_base *base;
    const struct edge_config *cfg;
    struct store *store;
    struct disk *disk;
    struct site_rt sites[EDGE_MAX_SITES];
    struct edge_stats st;
    struct http_limits lim;         /* client request limits */
    struct http_limits up_lim;      /* upstream response limits */
    FILE *access_log;
    struct ssl_ctx_st *ssl_default;
    struct ssl_ctx_st *ssl[EDGE_MAX_SITES];
    void *conns;                    /* struct conn list (proxy.c), for shutdown */
    void *fetches;                  /* struct fetch list (proxy.c), for shutdown */
    struct upstream *prop[EDGE_MAX_SHIELDS];   /* purge propagation targets */
    unsigned nprop;
    time_t now;
    char date[40];                  /* "Date: <IMF-fixdate>" value for `now` */
    unsigned ready;                 /* set once listeners are up */
};

/* Refreshes ed->now and the cached Date string (called at most per event). */
void edged_clock(struct edged *ed);
/* Milliseconds since an arbitrary epoch (monotonic). */
uint64_t edged_ms(void);
/* Microseconds since an arbitrary epoch (monotonic). */
uint64_t edged_us(void);

#endif
