/* rum/config.h: the top-level `rum:` section.
 *
 *   rum:
 *     listen: 127.0.0.1:8054           # beacon endpoint (HTTP)
 *     allow_origins: ["https://www.example.test"]   # CORS; "*" = any
 *     trusted_proxies: [10.0.0.0/8]    # X-Forwarded-For believed only from these
 *     half_life: 30m                   # decay of the aggregates
 *     min_samples: 20                  # decayed samples before a cell is trusted
 *     margin: 0.10                     # hysteresis (fraction)
 *     tolerance: 0.0                   # weight preference (fraction)
 *     explore: 0.05                    # share of client subnets that explore
 *     explore_rotate: 10m
 *     quantile: 0.5                    # latency quantile in the cost
 *     failure_penalty: 3s
 *     max_cells: 65536                 # aggregate size (cells x ~300 bytes)
 *     max_body: 64k                    # POST body limit (413 beyond)
 *     max_batch: 64                    # measurements per beacon
 *     max_age: 10m                     # oldest measurement time accepted
 *     rate: {per_second: 2, burst: 20, clients: 8192}   # per client IP
 *     state_file: /var/lib/steer/rum.state   # relative to the config file
 *     snapshot_interval: 60s
 *     recompute_interval: 1s
 *     debug_endpoint: false            # GET /rum/scores, /rum/metrics
 *     test_urls: {cdn-a: "https://a.example.test/rum/16k.png", ...}
 * Every key is optional; unknown keys are errors; providers in test_urls
 * must be known to the lookup. Errors are "file:line: message" (cfg.h). */
#ifndef STEER_RUM_CONFIG_H
#define STEER_RUM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/netaddr.h"
#include "rum/beacon.h"
#include "rum/scores.h"

struct cfg_ctx;
struct fy_node;

#define RUM_MAX_ORIGINS   64
#define RUM_MAX_PROXIES   256
#define RUM_MAX_TEST_URLS 256
#define RUM_ORIGIN_MAX    256
#define RUM_URL_MAX       1024

struct rum_test_url {
    uint16_t provider;
    char name[RUM_PROVIDER_MAX + 1];
    char url[RUM_URL_MAX];
};

struct rum_config {
    bool configured;                   /* false: no `rum:` section (defaults) */
    struct net_addr listen;
    uint16_t port;
    bool any_origin;
    unsigned norigins;
    char origins[RUM_MAX_ORIGINS][RUM_ORIGIN_MAX];
    unsigned nproxies;
    struct net_prefix proxies[RUM_MAX_PROXIES];
    int64_t half_life_ms;
    struct rum_params params;
    size_t max_cells, max_body, max_batch;
    int64_t max_age_ms;
    double rate_per_sec, rate_burst;
    uint32_t rate_clients;
    char state_file[1024];             /* empty: no persistence */
    int64_t snapshot_ms, recompute_ms;
    bool debug_endpoint;
    unsigned ntest;
    struct rum_test_url test[RUM_MAX_TEST_URLS];
};

/* Fills defaults (listen 127.0.0.1:8054, no origins, ...). */
void rum_config_default(struct rum_config *c);
/* Parses the `rum:` node (NULL: defaults, configured = false) into a new
 * config. Returns 0 and *out (free with free()), or -1 with the error in ctx. */
int rum_config_parse(struct cfg_ctx *ctx, struct fy_node *rum, const struct rum_lookup *lk, struct rum_config **out);

#endif
