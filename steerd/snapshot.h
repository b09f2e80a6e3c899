/* steerd/snapshot.h: one immutable, fully compiled configuration.
 *
 * Owns the flow config file -> parsed sections -> compiled zone database and
 * steering policy -> a dns_view the query threads read. A snapshot is built
 * completely off the query path; only a successfully built snapshot is ever
 * published (RCU pointer swap), so a bad config never half-applies and the
 * old snapshot keeps serving. Runtime tables that outlive a snapshot (the
 * health state) are reached through pointers set at activation. */
#ifndef STEER_STEERD_SNAPSHOT_H
#define STEER_STEERD_SNAPSHOT_H

#include <stdint.h>
#include <time.h>

#include "dns/respond.h"
#include "dns/zone.h"
#include "health/config.h"
#include "health/health.h"
#include "steerd/config.h"
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
