/* health/config.h: the `health:` section of the configuration, compiled.
 *
 * Owns parsing and validating health settings (common/cfg.h getters, errors
 * as "file:line: message") into a plain, self-contained struct that does not
 * point into the YAML document, so the engine can keep it after the document
 * is freed and a reload can parse a new one while the old one serves.
 * Every other top-level key is ignored here (other subsystems parse them).
 *
 *   health:
 *     defaults: { interval: 1s, timeout: 1s, jitter: 100ms, rise: 3, fall: 2,
 *                 fast_interval: 250ms, max_body: 64k }
 *     publish_delay: 100ms
 *     state_file: /var/lib/steer/health.state
 *     checks:
 *       eu-edge:  { type: https, url: "https://edge-eu.example.test/health",
 *                   target: "192.0.2.10:443", expect_status: [200, 204],
 *                   expect_body: "OK", ca_file: ca.pem }
 *       eu-tcp:   { type: tcp, target: "192.0.2.10:443" }
 *       cdn-a:    { type: dns, resolver: "9.9.9.9:53", name: d1.cdn.test., qtype: A }
 *
 * Defaults and their reasons are in docs/health.md. Thread: any; the result
 * is immutable once parsed and owned by whoever holds the pointer. */
#ifndef STEER_HEALTH_CONFIG_H
#define STEER_HEALTH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/netaddr.h"

struct cfg_ctx;

enum health_check_type { HC_TCP = 0, HC_HTTP, HC_HTTPS, HC_DNS };

#define HC_NAME_MAX 64      /* check and provider names, incl. NUL */
#define HC_HOST_MAX 256     /* a DNS name fits in 253 characters */
#define HC_PATH_MAX 1024    /* request target; longer paths are not health endpoints */
#define HC_BODY_PAT_MAX 256 /* expect_body substring */
#define HC_FILE_MAX 512

/* Defaults (docs/health.md explains each). */
#define HEALTH_DFLT_INTERVAL_MS 1000
#define HEALTH_DFLT_TIMEOUT_MS  1000   /* capped at the interval */
#define HEALTH_DFLT_JITTER_MS   100
#define HEALTH_DFLT_RISE        3
#define HEALTH_DFLT_FALL        2
#define HEALTH_DFLT_MAX_BODY    (64u * 1024)
#define HEALTH_DFLT_PUBLISH_MS  100
#define HEALTH_DFLT_FAST_MS     250    /* capped at the interval */

struct health_check_cfg {
    char name[HC_NAME_MAX];
    int line;                          /* config line, for messages */
    enum health_check_type type;
    /* tcp/http/https */
    struct net_addr addr;              /* where to connect */
    uint16_t port;
    char method[16];                   /* "GET" */
    char path[HC_PATH_MAX];            /* "/" */
    char host[HC_HOST_MAX];            /* Host header; "" = address literal */
    char sni[HC_HOST_MAX];             /* TLS server name; "" = none */
    char ca_file[HC_FILE_MAX];         /* "" = system trust store */
    bool verify;                       /* https: verify chain and name */
    uint64_t status_ok[10];            /* bitmap of accepted statuses 0..639 */
    char expect_body[HC_BODY_PAT_MAX]; /* "" = no body check */
    uint32_t max_body;                 /* bytes of body searched */
    /* dns */
    struct net_addr resolver;
    uint16_t resolver_port;
    char qname[HC_HOST_MAX];
    uint16_t qtype;                    /* 1 = A, 28 = AAAA */
    /* timing */
    uint32_t interval_ms, timeout_ms, jitter_ms;
    uint32_t fast_ms;                  /* next run after a failure while not down */
    uint32_t rise, fall;
};

struct health_config {
    struct health_check_cfg *checks;   /* malloced array, config order */
    size_t nchecks;
    char state_file[HC_FILE_MAX];      /* "" = overrides are not persisted */
    uint32_t publish_delay_ms;         /* min gap between two publications */
};

/* Parses the `health:` section of the loaded document in ctx (absent section:
 * no checks, defaults). Returns 0 and a new config in *out, or -1 with the
 * error in ctx->err. */
int health_config_parse(struct cfg_ctx *ctx, struct health_config **out);

/* Builds an empty config (no checks) in *out; returns 0 or -1 (ENOMEM). */
int health_config_empty(struct health_config **out);

void health_config_free(struct health_config **cfg);

/* The check named `name`, or NULL. */
const struct health_check_cfg *health_config_find(const struct health_config *cfg, const char *name);

/* True if `status` is accepted by the check. */
bool health_status_ok(const struct health_check_cfg *c, unsigned status);

/* True if two check definitions probe the same thing the same way. */
bool health_check_cfg_same(const struct health_check_cfg *a, const struct health_check_cfg *b);

const char *health_check_type_name(enum health_check_type t);

/* Names: 1..63 characters of [A-Za-z0-9_.-] (also used for provider names). */
bool health_name_valid(const char *s);

#endif
