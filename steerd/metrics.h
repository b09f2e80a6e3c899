/* steerd/metrics.h: steerd's Prometheus /metrics (docs/metrics.md lists
 * every family).
 *
 * Owns the steering counters of the query path, the cumulative counters
 * that survive reloads, and the renderer that sums everything at scrape
 * time on the control thread. DNS transport counters live in dns/server.h
 * (one block per I/O thread), health counters in the health engine and RUM
 * counters in each collector; this module only reads and folds them.
 *
 * Query path. Each snapshot has a struct metrics_steer: one counter block
 * per I/O thread (dns_io_thread indexes it), each block allocated on its
 * own cache lines and written only by its thread with relaxed load+store,
 * so counting takes no lock, no locked instruction, no allocation and never
 * bounces a line between cores. A block holds, for every steered name, one
 * cell per (rule, provider) pair (answers by name x provider x rule) and a
 * few per-name counters (decision reason, ECS scope zero/non-zero). The
 * cell index is base[name] + rule * nprov + provider: two loads and an add.
 *
 * Reloads. The set of names, rules and providers changes with the config,
 * so counters cannot be indexed across snapshots. Counters of a retired
 * snapshot are folded, by their label strings, into cumulative tables
 * (keyed table: strings -> uint64) when its snapshot is freed, i.e. after
 * the RCU grace period, when no query thread can still write them. A scrape
 * renders cumulative + every registered live set, all under one mutex, and
 * a set goes from "registered" to "folded" inside that mutex: a scrape sees
 * a snapshot's counts exactly once, so a counter whose label set survives a
 * reload never goes backwards, and a label set that disappears keeps its
 * last value (Prometheus counters may not reset while the process lives).
 * The mutex is taken by scrapes and reloads only, never by the query path.
 * RUM collectors (one per snapshot, replaced on reload) are attached and
 * detached the same way.
 *
 * Threads: metrics_init/metrics_shutdown on the main thread (before the I/O
 * threads start, after they stop); metrics_steer_new/register/retire and
 * metrics_rum_attach/detach on whichever thread builds and frees
 * snapshots; metrics_steer_answer on I/O threads only; metrics_render and
 * metrics_failopen_log on any thread (they take the mutex).
 *
 * Rejected alternatives: one shared atomic counter per cell (a locked add
 * per query, lines bouncing between the two cores at 100k+ qps); counters
 * keyed by strings on the query path (a hash lookup per answer); resetting
 * counters on reload (breaks rate() for every dashboard). */
#ifndef STEER_STEERD_METRICS_H
#define STEER_STEERD_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dns/server.h"
#include "steering/steering.h"

struct evbuffer;
struct health_stats;
struct rum_collector;
struct querylog;

/* Per-name counters after the answer cells (enum order = slot order). */
enum metrics_name_slot {
    MS_PRIMARY = 0,    /* answered from the rule's first pool, nothing down in the way */
    MS_DEGRADED,       /* fallback pool or failover past a down member */
    MS_FAILOPEN,       /* every pool empty: answered ignoring health */
    MS_NODATA,         /* chosen pool has no address of the qtype's family */
    MS_ERROR,          /* steer_decide refused (SERVFAIL) */
    MS_ECS_ZERO,       /* ECS query answered with scope 0 */
    MS_ECS_SCOPED,     /* ECS query answered with a non-zero scope */
    MS_PER_NAME
};
#define MS_DECISIONS MS_ECS_ZERO   /* slots [0, MS_DECISIONS) are decision reasons */

/* The decision reason of steer_decide's result rc and answer a (a is read
 * only if rc == STEER_OK): a slot below MS_DECISIONS. */
static inline enum metrics_name_slot metrics_decision_slot(int rc, const struct steer_answer *a)
{
    if (rc != STEER_OK)
        return MS_ERROR;
    return a->failed_open ? MS_FAILOPEN : a->kind == STEER_NODATA ? MS_NODATA : a->degraded ? MS_DEGRADED
                                                                                              : MS_PRIMARY;
}

/* Label of a slot: "primary", ..., "error" (the reason label of
 * steer_decisions_total), "ecs_zero", "ecs_scoped". */
const char *metrics_slot_name(enum metrics_name_slot s);

/* Cap on counter slots per I/O thread and snapshot (8 bytes each: 2 MiB).
 * A config with more names x rules x providers counts answers per
 * (name, provider) only, with rule="any". */
#define METRICS_MAX_SLOTS (1u << 18)

#define METRICS_STEER_MAGIC 0x4d535452u   /* "MSTR" */

struct metrics_steer {
    uint32_t magic;
    unsigned nthreads;
    size_t nnames, nprov, ncells;
    size_t stride;                   /* uint64 slots per thread block (multiple of 8) */
    size_t *base;                    /* [nnames] first answer cell of each name */
    uint16_t *nrules;                /* [nnames] rule dimension (1 when collapsed) */
    _Atomic uint64_t **blocks;       /* [nthreads] cache-line aligned blocks */
    /* label strings, owned copies (the set outlives nothing but needs no policy) */
    char **name_text;                /* [nnames] */
    char **prov_name;                /* [nprov] */
    char ***rule_label;              /* [nnames][nrules] */
    bool registered;
    struct metrics_steer *next;      /* registry list (under the mutex) */
};

/* Process-wide setup: the number of I/O threads (dns_server_io_threads)
 * and the version string for steer_build_info. Returns 0 or -1. */
int metrics_init(unsigned io_threads, const char *version);
void metrics_shutdown(void);

/* Builds the counter set of a policy (NULL policy: an empty set). Returns
 * NULL only when out of memory. */
struct metrics_steer *metrics_steer_new(const struct steer_policy *p);
/* Allocates the per-thread blocks (metrics_init must have run) and makes
 * the set visible to scrapes; call before publishing its snapshot. */
void metrics_steer_register(struct metrics_steer *m);
/* Folds a registered set into the cumulative tables, unregisters and frees
 * it; *m = NULL. Only once no I/O thread can write it (after the grace
 * period). Unregistered sets are just freed. NULL is fine. */
void metrics_steer_retire(struct metrics_steer **m);

/* Hot path: counts one steering decision for name index `name`.
 * rc is steer_decide's result; a is its answer (read only if rc == STEER_OK).
 * ecs: the query carried ECS with a non-zero source prefix. */
static inline void metrics_steer_answer(struct metrics_steer *m, size_t name, int rc, const struct steer_answer *a,
                                        bool ecs)
{
    unsigned t = dns_io_thread;
    if (!m || t >= m->nthreads || name >= m->nnames)
        return;   /* not an I/O thread (explain, tests) */
    _Atomic uint64_t *b = m->blocks[t];
    _Atomic uint64_t *nc = b + m->ncells + name * MS_PER_NAME;
#define MS_BUMP(p) atomic_store_explicit((p), atomic_load_explicit((p), memory_order_relaxed) + 1, memory_order_relaxed)
    MS_BUMP(&nc[metrics_decision_slot(rc, a)]);
    if (rc != STEER_OK)
        return;
    if (ecs)
        MS_BUMP(&nc[a->scope ? MS_ECS_SCOPED : MS_ECS_ZERO]);
    if (a->kind != STEER_NODATA && m->ncells && a->provider < m->nprov) {
        size_t r = a->rule < m->nrules[name] ? a->rule : 0;
        MS_BUMP(&b[m->base[name] + r * m->nprov + a->provider]);
    }
#undef MS_BUMP
}

/* RUM collectors: attach a started collector (its provider ids are p's);
 * detach folds its counters, by provider name, into the cumulative tables.
 * Detach before the collector is freed; a collector that is not attached
 * is ignored. */
void metrics_rum_attach(struct rum_collector *c, const struct steer_policy *p);
void metrics_rum_detach(struct rum_collector *c);

/* A reload attempt finished (SIGHUP or the control API). */
void metrics_reload_result(bool ok);

/* What the renderer reads besides its own tables; any pointer may be NULL. */
struct metrics_sources {
    const struct dns_server *dns;
    const struct health_stats *health;   /* health_engine_stats, taken outside the read section */
    const struct steer_policy *policy;   /* current snapshot's (pool weights) */
    uint64_t generation;
    time_t loaded_at;
    const struct querylog *qlog;         /* steerd/querylog.h; NULL = no query log */
};

/* Appends the whole exposition (format 0.0.4) to out. Call inside an RCU
 * read-side section when src->policy is set. Returns 0 or -1. */
int metrics_render(struct evbuffer *out, const struct metrics_sources *src);

/* Logs "fail-open for NAME: N answers in the last interval" for every name
 * whose fail-open counter moved since the previous call. Off the query
 * path (steerd's main thread every METRICS_FAILOPEN_LOG_S). */
#define METRICS_FAILOPEN_LOG_S 10
void metrics_failopen_log(void);

#endif
