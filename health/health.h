/* health/health.h: the health-check engine.
 *
 * Owns one dedicated thread running a libevent loop that probes every
 * configured check (tcp, http, https, dns) on its own timer, applies rise/fall
 * hysteresis (hyst.h), combines each provider's checks (all must pass), merges
 * the operators' overrides (admin.h) and publishes the result for the query
 * path as an immutable struct prov_state_table (steering/state.h).
 *
 * Publication: a new table is built on every change, coalesced to at most one
 * per publish_delay (100 ms by default), and swapped in with
 * rcu_assign_pointer (liburcu memb). Readers do
 *     urcu_memb_read_lock();
 *     const struct prov_state_table *t = rcu_dereference(*health_engine_slot(e));
 *     ... t->s[provider_id] for provider_id < t->n ...
 *     urcu_memb_read_unlock();
 * (their thread registered with urcu_memb_register_thread). The engine frees
 * an old table after urcu_memb_synchronize_rcu() on its own thread, so the
 * query path never frees, locks or allocates. The table is indexed like the
 * targets list given to new/reconfigure (= steering provider id order).
 *
 * Threads: health_engine_new/free/reconfigure are called from the control
 * thread (start, reload, stop). health_engine_set_admin/set_weight/stats/
 * provider lookups may be called from any thread at any time; they take the
 * engine's lock, which the engine thread holds only for short bookkeeping and
 * never across I/O. No function may be called from the query path except the
 * read-side above, and the set_* and reconfigure calls (which wait for the
 * publication, i.e. for an RCU grace period) must not be made from inside a
 * read-side critical section. None may race with health_engine_free.
 *
 * Rejected alternatives: one thread per check (thousands of stacks);
 * checks on the DNS worker loops (a hung target would delay answers); a
 * lock around the table (readers would contend with the writer). */
#ifndef STEER_HEALTH_H
#define STEER_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "health/admin.h"
#include "health/config.h"
#include "health/hyst.h"
#include "health/reason.h"
#include "steering/state.h"

struct health_engine;

/* One provider as the engine sees it: its name and the names of its checks
 * (all must exist in the health config). Borrowed for the duration of the
 * call; the engine copies what it keeps. */
struct health_target {
    const char *provider;
    const char *const *checks;
    size_t nchecks;
};

enum health_result {
    HEALTH_OK = 0,
    HEALTH_ERR_CONFIG,     /* unknown check, bad or duplicate provider name */
    HEALTH_ERR_STATE,      /* state file unreadable or malformed */
    HEALTH_ERR_IO,         /* state file could not be written */
    HEALTH_ERR_UNKNOWN,    /* no such provider */
    HEALTH_ERR_INVALID,    /* bad argument (admin value, weight range) */
    HEALTH_ERR_SYSTEM,     /* thread, event base, memory */
};

/* Checks that every target's checks exist in cfg and provider names are
 * valid and unique; fills err ("provider 'x': unknown check 'y'"). */
enum health_result health_targets_validate(const struct health_config *cfg,
                                           const struct health_target *targets, size_t n,
                                           char *err, size_t errsz);

/* Starts the engine: loads the state file, starts the thread and publishes a
 * first table (every provider unknown, overrides applied) before returning.
 * cfg and targets are copied. Returns HEALTH_OK and *out, or an error with
 * the reason in err. */
enum health_result health_engine_new(const struct health_config *cfg, const struct health_target *targets,
                                     size_t n, struct health_engine **out, char *err, size_t errsz);

/* Stops the thread, cancels checks in flight and frees everything,
 * including the last table: readers must be done with the slot. Sets *e NULL. */
void health_engine_free(struct health_engine **e);

/* Replaces config and targets (config reload). Checks whose name still
 * exists keep their state and counters, so do providers by name; new checks
 * start unknown. The new table (indexed by the new targets) is published
 * before this returns. On error nothing changes. */
enum health_result health_engine_reconfigure(struct health_engine *e, const struct health_config *cfg,
                                             const struct health_target *targets, size_t n,
                                             char *err, size_t errsz);

/* The RCU-protected pointer to the current table (see above). Stable for
 * the life of the engine. */
struct prov_state_table **health_engine_slot(struct health_engine *e);

/* Sets the admin override of `provider` (enum prov_admin; ADMIN_NONE clears
 * it), persists the state file, and publishes; on return queries see it.
 * HEALTH_ERR_IO: not persisted, nothing changed. */
enum health_result health_engine_set_admin(struct health_engine *e, const char *provider, uint8_t admin,
                                           char *err, size_t errsz);
/* Same for the weight override (0..HEALTH_WEIGHT_MAX, PROV_WEIGHT_NONE clears). */
enum health_result health_engine_set_weight(struct health_engine *e, const char *provider, uint32_t weight,
                                            char *err, size_t errsz);

/* ---- metrics snapshot ------------------------------------------------ */

/* Check latency histogram bucket upper bounds, milliseconds (last: +Inf). */
#define HEALTH_LAT_BUCKETS 12
extern const uint32_t health_lat_bounds_ms[HEALTH_LAT_BUCKETS - 1];

struct health_check_stats {
    char name[HC_NAME_MAX];
    uint8_t type;              /* enum health_check_type */
    uint8_t state;             /* enum prov_health */
    uint16_t reason;           /* last failure while down, else 0 */
    uint16_t last_result;      /* reason of the newest result, 0 = ok */
    uint64_t runs, failures, transitions;
    uint64_t last_latency_us;
    uint64_t lat_sum_us;
    uint64_t lat_count[HEALTH_LAT_BUCKETS];   /* non-cumulative */
};

/* Entries of the per-state arrays below: enum prov_health's unknown, up, down. */
#define HEALTH_STATES (PROV_DOWN + 1)

struct health_provider_stats {
    char name[HC_NAME_MAX];
    uint8_t health;            /* enum prov_health (checks only) */
    uint8_t admin;             /* enum prov_admin */
    uint16_t reason;
    uint32_t weight;           /* override or PROV_WEIGHT_NONE */
    uint64_t transitions;      /* health changes since start (kept across reloads) */
    uint64_t transitions_to[HEALTH_STATES];   /* the same, by new state (enum prov_health) */
    uint64_t since_ms;         /* CLOCK_REALTIME ms of the last health change */
    char failing_check[HC_NAME_MAX];   /* first down check, "" if none */
};

struct health_stats {
    uint64_t table_version;    /* version of the last published table */
    uint64_t publications;
    uint64_t engine_cpu_ns;    /* CPU time of the engine thread (user+sys) */
    size_t nchecks, nproviders;
    struct health_check_stats *checks;        /* malloced */
    struct health_provider_stats *providers;  /* malloced, provider id order */
};

/* Fills a consistent snapshot; free with health_stats_free. */
enum health_result health_engine_stats(struct health_engine *e, struct health_stats *out);
void health_stats_free(struct health_stats *s);

/* Provider id of `name` in the current targets, or -1. */
int health_engine_provider_id(struct health_engine *e, const char *name);

#endif
