/* steerd/snapshot.h: one immutable, fully compiled configuration.
 *
 * Owns the flow config file -> parsed sections -> compiled zone database
 * (and steering policy) -> a dns_view the query threads read. A snapshot is
 * built completely off the query path; only a successfully built snapshot
 * is ever published (RCU pointer swap), so a bad config never half-applies
 * and the old snapshot keeps serving. */
#ifndef STEER_STEERD_SNAPSHOT_H
#define STEER_STEERD_SNAPSHOT_H

#include <stdint.h>
#include <time.h>

#include "dns/respond.h"
#include "dns/zone.h"
#include "steerd/config.h"

#define SNAPSHOT_MAGIC 0x534e4150u  /* "SNAP" */

struct snapshot {
    struct dns_view view;          /* what the query threads see; first member */
    uint32_t magic;
    uint64_t generation;
    time_t loaded_at;
    struct steerd_config cfg;
    struct dns_db *db;
};

/* Builds a snapshot from a config file. On error returns NULL and puts
 * "file:line: message" in err. */
struct snapshot *snapshot_build(const char *path, uint64_t generation, char *err, size_t errlen);
void snapshot_free(struct snapshot **s);

static inline struct snapshot *snapshot_of_view(struct dns_view *v) { return (struct snapshot *)v; }

#endif
