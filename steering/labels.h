/* steering/labels.h: the read-only view of a compiled policy for observers
 * (steerd/metrics.c labels its counters with it, control/status.c renders
 * /v1/names and the status page from it): steered names, their rules (match
 * keys, pool chain, label), pools (policy, fallback, members with weights).
 * Observers use these accessors, never steering/internal.h, so the compiled
 * layout can change without touching them.
 *
 * Threads and ownership. Like the accessors in steering.h they read an
 * immutable policy and may be called from any thread that keeps it alive
 * (an RCU read section, or the owner before publishing it); strings they
 * return point into the policy and live as long as it does. None is meant
 * for the query path except steer_name_index (O(1)); the text builders
 * format into the caller's buffer and never allocate.
 *
 * Out-of-range indices are not errors: they read as empty ("", 0, -1), so
 * an observer walking one snapshot's counts never crashes on another's.
 *
 * Rule labels. Rules have no name in the config, so a rule is labelled
 * "default" (the `match: default` rule) or by the first pool it lists
 * ("europe" for `pools: [europe]`), made unique with "#index" when an
 * earlier rule of the name starts with the same pool, or when a non-first
 * rule's first pool is itself called "default". steer_answers_total{rule}
 * carries this label and the status page matches on it: one function
 * (steer_rule_label) makes it for both, and changing it changes every
 * dashboard's label sets. */
#ifndef STEER_STEERING_LABELS_H
#define STEER_STEERING_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "steering/steering.h"

/* pool name (< 64 with NUL, STEER_NAME_MAX) + "#" + a rule index (< 1024):
 * every label fits; 80 leaves room without being a guess */
#define STEER_RULE_LABEL_MAX 80

/* ------------------------------------------------------------ names */

/* Index of n in p (0..steer_policy_name_count-1); n must belong to p. */
size_t steer_name_index(const struct steer_policy *p, const struct steer_name *n);
size_t steer_name_rule_count(const struct steer_name *n);
/* TTL of answers that failed over or failed open (steer_name_ttl: normal). */
uint32_t steer_name_degraded_ttl(const struct steer_name *n);

/* ------------------------------------------------------------ rules */

/* True for the name's `match: default` rule (always the last one). */
bool steer_rule_is_default(const struct steer_name *n, size_t r);
/* Name of the first pool rule `r` lists ("" if out of range). */
const char *steer_rule_first_pool(const struct steer_name *n, size_t r);

/* The label of rule r (see above) into buf, NUL-terminated and cut to
 * size - 1 if needed (STEER_RULE_LABEL_MAX always suffices). Returns the
 * length of the whole label, like snprintf; "" (0) if r is out of range. */
size_t steer_rule_label(const struct steer_name *n, size_t r, char *buf, size_t size);

/* Number of values of each match key of a rule (all 0 for the default rule
 * and out of range). */
struct steer_rule_keys {
    size_t continents, countries, subdivisions, asns, cidrs;
};
void steer_rule_keys(const struct steer_name *n, size_t r, struct steer_rule_keys *out);
/* Continent code k of rule r ("EU"), or "" if out of range. */
const char *steer_rule_continent(const struct steer_name *n, size_t r, size_t k);
/* The rule's match as text: "default" for the default rule, else the keys
 * that have values in a fixed order, "continent AS,OC country DE
 * subdivision US-CA asn 64500 cidr 10.0.0.0/8". Into buf (size > 0), cut
 * like snprintf; returns the length written (< size). */
size_t steer_rule_match_text(const struct steer_name *n, size_t r, char *buf, size_t size);

/* The pools rule r tries, in order: its listed pools, each followed by its
 * `fallback:` chain (at most STEER_MAX_CHAIN). steer_rule_chain_pool
 * returns the pool index of step k, or -1 if out of range. */
size_t steer_rule_chain_length(const struct steer_name *n, size_t r);
int steer_rule_chain_pool(const struct steer_name *n, size_t r, size_t k);

/* ------------------------------------------------------------ pools */

size_t steer_name_pool_count(const struct steer_name *n);
const char *steer_pool_name(const struct steer_name *n, size_t pool);
/* The pool's policy; STEER_POL_WEIGHTED if out of range. */
enum steer_policy_kind steer_pool_kind(const struct steer_name *n, size_t pool);
/* "weighted", "closest", "failover", "rum" (as in the config); "?" else. */
const char *steer_policy_kind_name(enum steer_policy_kind k);
/* Index of the pool's `fallback:` pool, or -1 (none, or out of range). */
int steer_pool_fallback(const struct steer_name *n, size_t pool);
size_t steer_pool_member_count(const struct steer_name *n, size_t pool);
/* Member k of a pool: provider id and configured weight (0 if out of range). */
uint16_t steer_pool_member(const struct steer_name *n, size_t pool, size_t k, uint32_t *weight);

#endif
