/* steering/internal.h: compiled policy structures shared by the steering
 * modules (policy.c compiles, decide.c reads). Not for other subsystems:
 * they use the accessors in steering.h. All arrays are malloced at compile
 * time and owned by the steer_policy. */
#ifndef STEER_STEERING_INTERNAL_H
#define STEER_STEERING_INTERNAL_H

#include "geo/geo.h"
#include "rum/scores.h"
#include "steering/steering.h"

#define STEER_POLICY_MAGIC 0x73706f6cu   /* "spol" */
#define STEER_NAME_MAGIC   0x736e616du   /* "snam" */
#define STEER_NAME_MAX     64            /* provider / pool names, with NUL */

struct sprov {
    char name[STEER_NAME_MAX];
    enum steer_prov_type type;
    uint64_t hash;                    /* of the name: HRW input, stable across reloads */
    uint8_t n4, n6;
    uint8_t v4[STEER_MAX_ADDRS][4];
    uint8_t v6[STEER_MAX_ADDRS][16];
    bool has_coords;
    double lat, lon;
    char cname[256];                  /* text, with trailing dot (CDN) */
    uint8_t cname_wire[256];
    size_t cname_len;
    size_t nchecks;
    char (*checks)[STEER_NAME_MAX];   /* malloced */
    bool needs_flat;                  /* CDN used by an apex name */
};

struct smember {
    uint16_t prov;
    uint32_t weight;                  /* 1..STEER_WEIGHT_MAX */
};

struct spool {
    char name[STEER_NAME_MAX];
    enum steer_policy_kind kind;
    size_t nmem;
    struct smember *mem;              /* malloced, config order */
    int fallback;                     /* pool index or -1 */
    uint32_t rum_id;                  /* rum policy: index in the policy's rum_pool_set */
};

struct ssub { char cc[3]; char sub[4]; };

struct srule {
    bool is_default;
    size_t ncont, ncountry, nsub, nasn, ncidr;
    uint8_t cont_mask;                /* geo_continent_bit of each of cont[] */
    char (*cont)[3];
    char (*country)[3];
    struct ssub *sub;
    uint32_t *asn;
    struct net_prefix *cidr;
    uint8_t nchain;
    uint16_t chain[STEER_MAX_CHAIN];  /* pool indices to try, in order */
};

struct steer_name {
    uint32_t magic;
    uint8_t wire[256];
    size_t wire_len;
    char text[256];
    uint32_t ttl, degraded_ttl;
    unsigned answers;                 /* max addresses per answer, 1..STEER_MAX_ADDRS */
    bool apex;
    uint8_t hash4, hash6;             /* prefix hashed by weighted/rum */
    uint64_t seed;
    size_t npools, nrules;
    struct spool *pools;              /* malloced */
    struct srule *rules;              /* malloced */
};

struct steer_policy {
    uint32_t magic;
    uint64_t id;
    struct geo_set *geo;              /* owned */
    size_t nprov, nnames;
    struct sprov *prov;               /* malloced */
    struct steer_name *names;         /* malloced */
    struct steer_flatten_cfg fcfg;
    struct rum_pool_set *rum_pools;   /* malloced: one pool per `rum`-policy pool, all names */
};

#define STEER_WEIGHT_MAX 1000000u

uint64_t steer_hash_bytes(const void *data, size_t len, uint64_t seed);

#endif
