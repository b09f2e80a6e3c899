/* steerd/snapshot.h: one immutable, fully compiled configuration.
 *
 * Owns the flow config file -> parsed sections -> compiled zone database and
 * steering policy -> a dns_view the query threads read. A snapshot is built
 * completely off the query path; only a successfully built snapshot is ever
 * published (RCU pointer swap), so a bad config never half-applies and the
 * old snapshot keeps serving. Runtime tables that outlive a snapshot (the
 * health state) are reached through pointers set at activation.
 *
 * RUM (rum/collector.h): a snapshot whose config has a `rum:` section owns a
 * collector, created and started by snapshot_activate and freed by
 * snapshot_free (after the grace period; it writes a last state file). It
 * borrows the snapshot's config, pool set, geo set and policy (lookup), so
 * it cannot outlive them. Both collectors cannot listen on one port, so a
 * reload hands over: the previous snapshot's collector is stopped, its
 * aggregate copied (cells remapped to the new provider ids by name), its
 * table withdrawn from the query path (RCU grace period) and the collector
 * freed; the new one starts with the copied cells (or, when both use the
 * same state_file, with the file it just wrote). Aggregates are never lost;
 * for the milliseconds between the withdrawal and the publication of the
 * new snapshot `rum` pools answer weighted. If the new collector cannot
 * start, the previous one is recreated (same listener) and the reload
 * fails. */
#ifndef STEER_STEERD_SNAPSHOT_H
#define STEER_STEERD_SNAPSHOT_H

#include <stdint.h>
#include <time.h>

#include "dns/respond.h"
#include "dns/zone.h"
#include "health/config.h"
#include "health/health.h"
#include "rum/collector.h"
#include "steerd/config.h"
#include "steerd/metrics.h"
#include "steering/flatten.h"
#include "steering/steering.h"

#define SNAPSHOT_MAGIC 0x534e4150u  /* "SNAP" */

struct snapshot {
    struct dns_view view;          /* what the query threads see; first member */
    uint32_t magic;
    uint64_t generation;
    time_t loaded_at;
    struct steerd_config cfg;
    struct dns_db *db;
    struct steer_policy *policy;
    struct health_config *health;  /* parsed health section, for the engine */
    struct health_target *targets; /* provider id order, for the engine */
    uint64_t layout;               /* prov_layout of the policy's providers */
    /* set by snapshot_activate */
    struct steer_flatten *flat;
    struct prov_state_table **state_slot;
    struct rum_config *rum_cfg;    /* parsed `rum:` (configured = false without one) */
    struct rum_collector *rum;     /* RCU-read by the query path; NULL = no RUM */
    struct metrics_steer *metrics; /* steering counters (steerd/metrics.h): registered by
                                      activate, folded and freed by snapshot_free */
};

/* Compiles a config file into a snapshot; starts nothing. On error returns
 * NULL and puts "file:line: message" in err. */
struct snapshot *snapshot_build(const char *path, uint64_t generation, char *err, size_t errlen);
/* Starts the snapshot's runtime parts (the apex flattener, seeded from the
 * previous snapshot's) and attaches the health state slot. */
int snapshot_activate(struct snapshot *s, struct snapshot *prev, struct prov_state_table **state_slot,
                      char *err, size_t errlen);
/* Stops what activate started and frees everything. Only once no query
 * thread can still see it (after an RCU grace period). */
void snapshot_free(struct snapshot **s);

/* The runtime tables steering reads for this snapshot: the health state
 * (only if its provider layout is this snapshot's), the apex flat table and
 * the RUM scores. Call inside an RCU read section; never allocates. The
 * query path and the control API's explain both use it. */
void snapshot_read_inputs(const struct snapshot *s, struct steer_inputs *in);

/* Providers of the snapshot's policy (0 without steering). */
static inline size_t snapshot_provider_count(const struct snapshot *s)
{
    return s->policy ? steer_policy_provider_count(s->policy) : 0;
}
static inline size_t snapshot_name_count(const struct snapshot *s)
{
    return s->policy ? steer_policy_name_count(s->policy) : 0;
}

static inline struct snapshot *snapshot_of_view(struct dns_view *v) { return (struct snapshot *)v; }

#endif
