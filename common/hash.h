/* common/hash.h: small integer hash used wherever a 64-bit key must be
 * spread over buckets or ranks (rendezvous hashing, table slots). */
#ifndef STEER_HASH_H
#define STEER_HASH_H

#include <stdint.h>

/* The MurmurHash3 64-bit finalizer: every input bit affects every output
 * bit, which rendezvous hashing and open addressing both rely on. */
static inline uint64_t hash_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

#endif
