/* steering/state.h: runtime state of providers, as the query path sees it.
 *
 * One table, indexed by provider id (ids are assigned when the steering
 * policy is compiled, 0..n-1 in config order). Writers (the health thread,
 * admin overrides from the control API) build a new table and publish it by
 * atomic pointer swap (liburcu); the query path reads the current table once
 * per query and never writes. A table is immutable once published. */
#ifndef STEER_STATE_H
#define STEER_STATE_H

#include <stdint.h>

enum prov_health {
    PROV_UNKNOWN = 0,   /* no verdict yet: treated as up (see README) */
    PROV_UP      = 1,
    PROV_DOWN    = 2,
};

enum prov_admin {
    ADMIN_NONE       = 0,
    ADMIN_FORCE_UP   = 1,   /* serve regardless of checks */
    ADMIN_FORCE_DOWN = 2,   /* never serve (unless fail-open) */
    ADMIN_DRAIN      = 3,   /* weight 0 for new decisions */
};

#define PROV_WEIGHT_NONE UINT32_MAX  /* no weight override: use the config's */

struct prov_state {
    uint8_t health;          /* enum prov_health */
    uint8_t admin;           /* enum prov_admin */
    uint16_t reason;         /* health-defined code of the last failure, 0 = none */
    uint32_t weight;         /* weight override or PROV_WEIGHT_NONE */
};

struct prov_state_table {
    uint64_t version;        /* bumped on every publication */
    uint64_t layout;         /* prov_layout of the provider names, in id order */
    uint32_t n;              /* number of providers */
    struct prov_state s[];   /* indexed by provider id */
};

/* Fingerprint of a provider list (names in id order). A reader compiled from
 * one config compares it with the table's before trusting the ids, so the
 * moment between a health reconfigure and a snapshot swap on reload can
 * never apply one provider's state to another. FNV-1a over the names, each
 * terminated by its NUL. Start with PROV_LAYOUT_INIT. */
#define PROV_LAYOUT_INIT 14695981039346656037ull
static inline uint64_t prov_layout_step(uint64_t h, const char *name)
{
    const unsigned char *p = (const unsigned char *)name;
    do
        h = (h ^ *p) * 1099511628211ull;
    while (*p++);
    return h;
}

#endif
