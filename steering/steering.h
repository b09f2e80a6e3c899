/* steering/steering.h: the steering engine. Config -> an immutable policy;
 * per query: geo lookup, rule match, health filter, policy pick.
 *
 * Ownership and threads. steer_policy_compile builds a steer_policy from the
 * YAML root (keys geo:, providers:, steering:, flatten:; other top-level keys
 * are ignored, they belong to other subsystems). The policy owns everything
 * it points to, including the memory-mapped geo databases. After compile it
 * is immutable (except steer_name_set_apex, which must be called before the
 * policy is published) and may be read by any number of query threads at
 * once. The owner retires it with RCU and frees it with steer_policy_free.
 *
 * The query path: steer_decide() reads the runtime tables (steer_inputs, each
 * dereferenced once), never allocates, never locks, never blocks, never logs.
 * Its answer points into policy or flat-table memory, so it is valid only
 * inside the caller's RCU read-side section.
 *
 * Decision, in order (docs/steering.md has the full description):
 *  1. rules, first match wins; match keys continent/country/subdivision/asn/
 *     cidr (all keys of one rule must match, a list means "any of");
 *     every name has a `default` rule last;
 *  2. the rule's pools in order (each followed by its `fallback:` chain);
 *     providers that are down, forced down, drained or weight 0 are
 *     filtered out; a pool with no provider left is skipped;
 *  3. the pool's policy ranks the candidates: weighted (rendezvous hashing
 *     of the client's /24 or /56, stable while weights and health stay),
 *     closest (great-circle distance; CDNs after PoPs), failover (member
 *     order), rum (RUM score table ranking, weighted where it has no
 *     decision or without a table);
 *  4. the best-ranked candidate that can answer the qtype wins (A and AAAA
 *     pick the same provider whenever it has both families); a pool whose
 *     candidates have only the other family answers NODATA;
 *  5. nothing eligible anywhere: fail open, ignoring health and admin state:
 *     the primary pool, or if it still cannot answer (an apex CDN not
 *     flattened yet) the next pools of the chain (failed_open, short TTL).
 * ECS scope = the longest prefix any consulted input was valid for (geo
 * network, override, CIDR rule, hashed subnet), clamped to source_len; 0 when
 * the answer did not depend on the client.
 *
 * Rejected alternatives: a per-query candidate list allocated from a pool
 * (fixed-size stack arrays bounded by STEER_MAX_MEMBERS suffice); weighted
 * pick via a precomputed slot table (rendezvous hashing keeps stickiness when
 * health changes, which a table rebuilt without the dead provider does too,
 * but it needs no rebuild when the health table changes). */
#ifndef STEER_STEERING_H
#define STEER_STEERING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/netaddr.h"
#include "steering/state.h"

struct cfg_ctx;
struct fy_node;
struct geo_set;

#define STEER_MAX_ADDRS     8     /* addresses per provider per family, and per answer */
#define STEER_MAX_PROVIDERS 1024  /* provider ids fit uint16_t with room */
#define STEER_MAX_MEMBERS   64    /* providers per pool: bounds the per-query stack arrays */
#define STEER_MAX_CHAIN     16    /* pools tried per rule (listed + fallback chain) */
#define STEER_MAX_POOLS     256   /* pools per steered name (pool ids fit uint16_t) */
#define STEER_MAX_VALUES    256   /* values per match key (scanned linearly per query) */
#define STEER_MAX_RULES     1024  /* rules per steered name: they are tested linearly per query */
#define STEER_MAX_CHECKS    16    /* health check names per provider */

struct steer_policy;
struct steer_name;
struct steer_flat_table;   /* steering/flatten.h */
struct steer_rum_table;    /* rum/scores.h: the RUM score table (issue 7) */

enum steer_prov_type { STEER_PROV_POP = 0, STEER_PROV_CDN = 1 };
enum steer_policy_kind { STEER_POL_WEIGHTED = 0, STEER_POL_CLOSEST, STEER_POL_FAILOVER, STEER_POL_RUM };

/* ------------------------------------------------------ compile / access */

/* Compiles the steering-related sections of a loaded config. Returns 0 and
 * *out, or -1 with "file:line: message" in ctx->err (cfg_error). */
int steer_policy_compile(struct cfg_ctx *ctx, struct fy_node *root, struct steer_policy **out);
/* Frees a policy and its geo databases; sets *p to NULL. NULL is fine. */
void steer_policy_free(struct steer_policy **p);

size_t steer_policy_name_count(const struct steer_policy *p);
const struct steer_name *steer_policy_name(const struct steer_policy *p, size_t i);
/* The steered name for a lower-case wire-format owner, or NULL (linear in
 * the number of names: for compile/reload time, not the query path). */
const struct steer_name *steer_policy_find_name(const struct steer_policy *p, const uint8_t *wire, size_t len);
const struct geo_set *steer_policy_geo(const struct steer_policy *p);
/* Random 64-bit id of this compiled policy; flat tables carry it. */
uint64_t steer_policy_id(const struct steer_policy *p);
/* The `rum`-policy pools of all names (pool id = dense rum id, members with
 * config weights), for the RUM collector; owned by the policy. */
struct rum_pool_set;
const struct rum_pool_set *steer_policy_rum_pools(const struct steer_policy *p);

/* Lower-case uncompressed wire format of the owner name. */
const uint8_t *steer_name_owner(const struct steer_name *n, size_t *len);
const char *steer_name_text(const struct steer_name *n);   /* "www.cdn.example.test." */
uint32_t steer_name_ttl(const struct steer_name *n);
bool steer_name_is_apex(const struct steer_name *n);
/* Marks name i as a zone apex: CDN providers are then answered with their
 * target's addresses (apex flattening) instead of a CNAME. `apex: true` in
 * the config does the same. Only before the policy is published. */
void steer_name_set_apex(struct steer_policy *p, size_t i, bool apex);

size_t steer_policy_provider_count(const struct steer_policy *p);
const char *steer_provider_name(const struct steer_policy *p, size_t id);
/* Provider id by name, or -1. */
int steer_provider_find(const struct steer_policy *p, const char *name);
enum steer_prov_type steer_provider_type(const struct steer_policy *p, size_t id);
/* Configured addresses of a PoP for family 4 or 6 (4- or 16-byte entries). */
const uint8_t *steer_provider_addrs(const struct steer_policy *p, size_t id, int family, unsigned *n);
/* CNAME target of a CDN ("d111.cloudfront.net.", text and wire), or NULL. */
const char *steer_provider_cname(const struct steer_policy *p, size_t id);
const uint8_t *steer_provider_cname_wire(const struct steer_policy *p, size_t id, size_t *len);
/* Coordinates of a PoP; false when it has none (CDNs). */
bool steer_provider_coords(const struct steer_policy *p, size_t id, double *lat, double *lon);
/* Health check names attached to a provider (compiled by health/). */
size_t steer_provider_check_count(const struct steer_policy *p, size_t id);
const char *steer_provider_check(const struct steer_policy *p, size_t id, size_t i);

/* Flattening settings from the top-level `flatten:` section. */
struct steer_flatten_cfg {
    struct net_addr resolver;   /* recursive resolver to ask for CDN targets */
    uint16_t port;
    uint32_t min_ttl_ms, max_ttl_ms, retry_ms, timeout_ms;
    bool configured;            /* false: section absent (defaults above) */
};
const struct steer_flatten_cfg *steer_policy_flatten_cfg(const struct steer_policy *p);
/* True if provider id is a CDN reachable from a pool of an apex name, i.e.
 * its target must be resolved by the flattener. */
bool steer_provider_needs_flat(const struct steer_policy *p, size_t id);

/* ----------------------------------------------------------- query path */

struct steer_client {
    struct net_addr addr;   /* ECS address (already masked to the source prefix) or the packet source */
    uint8_t source_len;     /* ECS source prefix length; 32/128 when it is the packet source */
    bool has_ecs;
};

struct steer_inputs {       /* runtime tables, each read once per query; any may be NULL */
    const struct prov_state_table *state;   /* health + admin overrides (steering/state.h) */
    const struct steer_flat_table *flat;    /* apex flattening: resolved addresses of CDN targets */
    const struct steer_rum_table *rum;      /* RUM scores (rum/scores.h): ranks `rum` pools */
};

enum steer_kind { STEER_ADDRS, STEER_CNAME, STEER_NODATA };

struct steer_answer {
    enum steer_kind kind;
    uint32_t ttl;            /* the name's ttl, or its degraded_ttl when degraded */
    uint8_t scope;           /* ECS scope prefix length to return (never > source_len) */
    uint16_t provider;       /* chosen provider id (first one for multi-value) */
    uint16_t rule;           /* matched rule index */
    uint16_t pool;           /* index of the pool used (in the name's pool list) */
    bool failed_open;        /* every pool was empty: answered from the primary pool regardless */
    bool degraded;           /* fallback pool, failover past a down member, or failed open */
    const uint8_t *cname; size_t cname_len;        /* wire format, when STEER_CNAME */
    unsigned naddr; const uint8_t *addr[STEER_MAX_ADDRS]; /* 4-byte (A) or 16-byte (AAAA), pointers into policy/flat-table memory */
};

enum steer_result {
    STEER_OK = 0,
    STEER_EINVAL = -1,       /* bad qtype, NULL name/client, family mismatch */
};

/* Decides the answer for (name, client, qtype 1 = A or 28 = AAAA).
 * Returns STEER_OK with *out filled, or STEER_EINVAL. Never allocates, never
 * locks, never blocks. */
int steer_decide(const struct steer_policy *p, const struct steer_name *n, const struct steer_client *c,
                 uint16_t qtype, const struct steer_inputs *in, struct steer_answer *out);

/* Explains the same decision: geo data, every rule tested, the candidates of
 * each pool tried with weights, health, hash/distance and the pick, the
 * answer, TTL and scope. Text (one item per line) or one JSON object.
 * Returns the length written (truncated to size-1, like snprintf) or -1. */
int steer_explain(const struct steer_policy *p, const struct steer_name *n, const struct steer_client *c,
                  uint16_t qtype, const struct steer_inputs *in, bool json, char *buf, size_t size);

/* Parses a dotted name into lower-case wire format. Returns the wire length
 * or -1 (label > 63, name > 255, empty label). Exposed for tools/tests. */
int steer_name_to_wire(const char *text, uint8_t *wire, size_t size);

#endif
