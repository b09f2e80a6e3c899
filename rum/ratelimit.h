/* rum/ratelimit.h: per-client token buckets in a fixed-size table.
 *
 * A client is an IPv4 address or an IPv6 /64 (one host usually owns a whole
 * /64, so finer keys would let it dodge the limit). The table is 4-way set
 * associative: a client hashes to one set of RUM_RL_WAYS entries; a new
 * client replaces the least recently seen entry of its set. Memory is fixed
 * at creation whatever clients send; a client evicted by a flood of others
 * restarts with a full bucket, which only errs towards accepting.
 * The hash is keyed with a random seed, so clients cannot aim at one set.
 * Single-owner (the collector thread); time is passed in. */
#ifndef STEER_RUM_RATELIMIT_H
#define STEER_RUM_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/netaddr.h"

#define RUM_RL_WAYS 4

struct rum_ratelimit;

/* clients: table entries (rounded up to a power of two, >= RUM_RL_WAYS);
 * rate: tokens per second; burst: bucket size. NULL on bad input/ENOMEM. */
struct rum_ratelimit *rum_rl_new(uint32_t clients, double rate, double burst, uint64_t seed);
void rum_rl_free(struct rum_ratelimit **rl);
/* Takes one token for the client; false when its bucket is empty. */
bool rum_rl_allow(struct rum_ratelimit *rl, const struct net_addr *client, int64_t now_ms);
uint32_t rum_rl_capacity(const struct rum_ratelimit *rl);
uint64_t rum_rl_evictions(const struct rum_ratelimit *rl);

#endif
