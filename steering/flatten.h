/* steering/flatten.h: apex flattening. A CNAME is illegal at a zone apex
 * (RFC 1034 section 3.6.2), so a CDN chosen for an apex name is answered
 * with its target's addresses, resolved here, off the query path.
 *
 * One resolver thread per flattener runs a c-ares channel against the
 * configured recursive resolver (flatten.resolver), resolves every CDN
 * target reachable from an apex name (steer_provider_needs_flat), and
 * re-resolves each when its TTL (clamped to [min_ttl, max_ttl]) runs out, or
 * after `retry` when the lookup failed. Results are published as an
 * immutable steer_flat_table (indexed by provider id) by rcu_assign_pointer;
 * the old table is freed after synchronize_rcu, on the resolver thread.
 *
 * Failure rule: a failed or timed-out lookup keeps the last good addresses
 * (serving slightly stale CDN addresses beats answering nothing); NXDOMAIN or
 * an empty answer clears them. A target with no addresses yet (start-up) is
 * skipped by steer_decide like an unhealthy provider (next candidate, then
 * next pool, then fail-open; NODATA if nothing can answer).
 *
 * Readers: query threads registered with liburcu (memb flavour) call
 * steer_flatten_current() inside urcu_memb_read_lock()/unlock() and pass the
 * table in steer_inputs.flat; it stays valid until the read unlock. */
#ifndef STEER_FLATTEN_H
#define STEER_FLATTEN_H

#include <stdint.h>

#include "steering/steering.h"

struct steer_flat_entry {
    uint8_t n4, n6;             /* addresses known per family (0 = none) */
    uint32_t ttl;               /* seconds; answers use min(name ttl, this) */
    uint8_t v4[STEER_MAX_ADDRS][4];
    uint8_t v6[STEER_MAX_ADDRS][16];
};

struct steer_flat_table {
    uint64_t policy_id;         /* steer_policy_id() it was built for; others ignore it */
    uint64_t version;           /* bumped on every publication */
    uint32_t n;                 /* entries, = provider count */
    struct steer_flat_entry e[];  /* by provider id; only CDN entries are used */
};

struct steer_flatten;

/* Starts the resolver thread for policy p (which must outlive the
 * flattener). Uses p's flatten config. Returns 0, or -1 with a message in
 * err. With no apex CDN at all it starts nothing and current() is NULL. */
int steer_flatten_start(const struct steer_policy *p, struct steer_flatten **out, char *err, size_t errsize);
/* Same, seeded on reload: targets that `prev` (the flattener of the policy
 * being replaced, still running) already resolved are published at once,
 * so apex answers do not fall back to other providers for the moment it
 * takes to re-resolve. prev must not be stopped concurrently. */
int steer_flatten_start_from(const struct steer_policy *p, struct steer_flatten *prev, struct steer_flatten **out,
                             char *err, size_t errsize);
/* Stops and joins the thread, frees the last table. Sets *f to NULL. */
void steer_flatten_stop(struct steer_flatten **f);
/* Current table or NULL; call inside an RCU read-side section. */
const struct steer_flat_table *steer_flatten_current(struct steer_flatten *f);
/* Number of tables published so far (tests poll this instead of sleeping). */
uint64_t steer_flatten_version(struct steer_flatten *f);

/* Allocates an empty table for p (tests build tables by hand with it). */
struct steer_flat_table *steer_flat_table_new(const struct steer_policy *p);

#endif
