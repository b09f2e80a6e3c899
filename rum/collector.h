/* rum/collector.h: the RUM beacon endpoint and score publisher.
 *
 * A collector owns, on its own thread with its own libevent base:
 *   - an HTTP listener (evhttp) serving
 *       POST /rum     JSON batch beacon      -> 204, or 400/403/413/429
 *       GET  /rum?... pixel beacon            -> 204, or the same errors
 *       OPTIONS /rum  CORS preflight          -> 204
 *       GET  /rum.js  the embeddable script   -> 200 application/javascript
 *       GET  /rum/scores?client=IP[&pool=N], GET /rum/metrics  (only with
 *            debug_endpoint: true; for tests and operators on loopback)
 *   - the aggregate (rum/aggregate.h) and the per-client rate limiter;
 *   - a timer that rebuilds the score table every recompute_interval and
 *     publishes it by RCU pointer swap (liburcu memb flavour), freeing the
 *     old table after a grace period (on this thread: never the query path);
 *   - a timer that snapshots the aggregate to state_file, plus a last
 *     snapshot at stop.
 * The client address is the TCP peer, or, when the peer is inside a
 * trusted_proxies prefix, the right-most X-Forwarded-For address that is
 * not itself a trusted proxy (at most RUM_XFF_MAX entries are examined).
 * An Origin header outside allow_origins gets 403 (browsers would hide the
 * response anyway; refusing keeps other sites from feeding us data).
 *
 * Threads: rum_collector_table() may be called from any registered RCU
 * reader thread inside urcu_memb_read_lock(); the result is valid until the
 * matching unlock. Counters are atomics, readable from any thread. Every
 * other function is for the owner thread, before start or after stop.
 * Borrowed (must outlive the collector): cfg, geo, pools, lookup.ctx. */
#ifndef STEER_RUM_COLLECTOR_H
#define STEER_RUM_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "rum/beacon.h"
#include "rum/config.h"
#include "rum/scores.h"

struct geo_set;
struct rum_agg;

#define RUM_XFF_MAX 16             /* X-Forwarded-For hops examined */
#define RUM_COUNTED_PROVIDERS 1024 /* per-provider counters (= STEER_MAX_PROVIDERS) */

struct rum_collector_opts {
    const struct rum_config *cfg;
    const struct geo_set *geo;          /* client geo; NULL = global bucket only */
    struct rum_lookup lookup;           /* provider/name ids (copied; ctx borrowed) */
    const struct rum_pool_set *pools;   /* pools the table ranks; NULL = none */
    int64_t (*clock_ms)(void *arg);     /* wall clock; NULL = CLOCK_REALTIME */
    void *clock_arg;
};

struct rum_counters {
    uint64_t beacons, measurements;             /* accepted */
    uint64_t rejected[RUM_NREASONS];             /* beacons refused, by reason */
    uint64_t kind[RUM_NKINDS];                   /* accepted measurements by kind */
    uint64_t recomputes, snapshots, snapshot_errors;
    uint64_t cells, cell_evictions, rl_evictions;
    uint64_t table_version;
};

struct rum_collector;

/* Creates the collector: aggregate, rate limiter, snapshot reload (a bad
 * file is logged and ignored: the collector starts empty), first score
 * table, and the bound listening socket. Returns NULL with a message. */
struct rum_collector *rum_collector_new(const struct rum_collector_opts *o, char *err, size_t errsize);
/* Starts the collector thread. Returns 0 or -1 (err filled). */
int rum_collector_start(struct rum_collector *c, char *err, size_t errsize);
/* Stops the thread (if started), writes a last snapshot. Idempotent. */
void rum_collector_stop(struct rum_collector *c);
/* Stops and frees everything, including the published table; *c = NULL. */
void rum_collector_free(struct rum_collector **c);

/* Adds n validated measurements (rum_beacon_parse_*, or built by a tool)
 * from one client as an accepted beacon: the client's geo buckets, the
 * aggregate, the counters. The HTTP handler calls it on the collector
 * thread; tools without HTTP (the simulator) call it as the owner, before
 * start. The next recompute publishes the effect. */
void rum_collector_ingest(struct rum_collector *c, const struct net_addr *client, const struct rum_meas *m,
                          size_t n);
/* Current score table (inside an RCU read-side section), or NULL. */
const struct steer_rum_table *rum_collector_table(struct rum_collector *c);
/* The aggregate, for CSV import before start (owner thread only). */
struct rum_agg *rum_collector_agg(struct rum_collector *c);
/* Rebuilds and publishes the table now (owner thread, before start/after stop). */
int rum_collector_recompute(struct rum_collector *c);
uint16_t rum_collector_port(const struct rum_collector *c);
void rum_collector_counters(const struct rum_collector *c, struct rum_counters *out);
/* Accepted measurements for a provider id (0 if out of range). */
uint64_t rum_collector_provider_count(const struct rum_collector *c, unsigned prov);
/* Counters in Prometheus text format; returns the length (like snprintf). */
int rum_collector_metrics(const struct rum_collector *c, char *buf, size_t size);
/* The generated /rum.js text. */
const char *rum_collector_script(const struct rum_collector *c);

#endif
