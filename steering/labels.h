/* steering/labels.h: read-only accessors the metrics code needs to label
 * counters with names from a compiled policy (steered name index, rules,
 * pools and their members). Like the accessors in steering.h they read an
 * immutable policy and may be called from any thread that keeps it alive;
 * none is meant for the query path except steer_name_index (O(1)).
 *
 * Rules have no name in the config, so steerd/metrics.c labels a rule
 * "default" (the `match: default` rule) or by the first pool it lists
 * ("europe" for `pools: [europe]`), made unique with "#index" when two
 * rules of one name start with the same pool. */
#ifndef STEER_STEERING_LABELS_H
#define STEER_STEERING_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "steering/steering.h"

/* Index of n in p (0..steer_policy_name_count-1); n must belong to p. */
size_t steer_name_index(const struct steer_policy *p, const struct steer_name *n);
size_t steer_name_rule_count(const struct steer_name *n);
/* True for the name's `match: default` rule (always the last one). */
bool steer_rule_is_default(const struct steer_name *n, size_t r);
/* Name of the first pool rule `r` lists ("" if out of range). */
const char *steer_rule_first_pool(const struct steer_name *n, size_t r);
size_t steer_name_pool_count(const struct steer_name *n);
const char *steer_pool_name(const struct steer_name *n, size_t pool);
size_t steer_pool_member_count(const struct steer_name *n, size_t pool);
/* Member k of a pool: provider id and configured weight (0 if out of range). */
uint16_t steer_pool_member(const struct steer_name *n, size_t pool, size_t k, uint32_t *weight);

#endif
