/* health/admin.h: operator overrides per provider and their state file.
 *
 * Owns the override set (force up / force down / drain, weight override),
 * keyed by provider name so it survives reloads that renumber providers, and
 * the state file that persists it across restarts. The engine (health.h)
 * wraps this with a lock; these functions themselves are not thread-safe.
 *
 * State file: text, one override per line, written atomically (temp file in
 * the same directory, fsync, rename, fsync of the directory):
 *     # steer health overrides v1
 *     provider pop-eu admin drain weight -
 *     provider cdn-b admin none weight 25
 * admin is none|up|down|drain; weight is a number 0..1000000 or "-" for no
 * override. Blank lines and '#' comments are ignored. A missing file is an
 * empty set; a malformed file is an error ("file:line: message") and the
 * caller decides (steerd refuses to start rather than silently dropping an
 * operator's "down"). Overrides for providers that are not (or no longer) in
 * the config are kept, so a temporarily removed provider keeps its override. */
#ifndef STEER_HEALTH_ADMIN_H
#define STEER_HEALTH_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "health/config.h"
#include "steering/state.h"

#define HEALTH_WEIGHT_MAX 1000000u   /* matches the steering weight range */
#define HEALTH_OVERRIDES_MAX 100000  /* bounds the state file parse */
#define HEALTH_STATE_LINE_MAX 512    /* longer lines are malformed */

struct health_override {
    char provider[HC_NAME_MAX];
    uint8_t admin;      /* enum prov_admin */
    uint32_t weight;    /* or PROV_WEIGHT_NONE */
};

struct health_overrides {
    struct health_override *v;   /* malloced */
    size_t n, cap;
};

void health_overrides_init(struct health_overrides *o);
void health_overrides_free(struct health_overrides *o);

/* The entry for `provider`, or NULL. */
const struct health_override *health_overrides_get(const struct health_overrides *o, const char *provider);

/* Sets admin (and weight) of `provider`; an entry with ADMIN_NONE and no
 * weight is removed. Returns 0, or -1 on ENOMEM / too many entries. */
int health_overrides_set(struct health_overrides *o, const char *provider, uint8_t admin, uint32_t weight);

/* Parses state-file text; `name` is used in messages. Replaces *o on
 * success. Returns 0 or -1 with "name:line: message" in err. */
int health_overrides_parse(struct health_overrides *o, const char *name, const char *text, size_t len,
                           char *err, size_t errsz);

/* Loads `path` (missing file = empty set). Returns 0 or -1 with err. */
int health_overrides_load(struct health_overrides *o, const char *path, char *err, size_t errsz);

/* Writes `path` atomically. Returns 0 or -1 with err. */
int health_overrides_save(const struct health_overrides *o, const char *path, char *err, size_t errsz);

const char *prov_admin_name(uint8_t admin);
/* "none", "up", "down", "drain" -> enum prov_admin; returns 0 or -1. */
int prov_admin_parse(const char *s, uint8_t *out);

#endif
