/* rum/config.c: parsing the `rum:` section (see config.h). */
#include "rum/config.h"

#include <libfyaml.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"

void rum_config_default(struct rum_config *c)
{
    memset(c, 0, sizeof *c);
    net_addr_parse("127.0.0.1", &c->listen);
    c->port = 8054;
    c->half_life_ms = 30 * 60000;      /* a diurnal shift shows within the hour */
    rum_params_default(&c->params);
    c->max_cells = 65536;              /* ~20 MB: 16k networks x 4 providers */
    c->max_body = 64 * 1024;
    c->max_batch = 64;
    c->max_age_ms = 10 * 60000;
    c->rate_per_sec = 2;               /* a page view sends one beacon; a few per second is plenty */
    c->rate_burst = 20;
    c->rate_clients = 8192;
    c->snapshot_ms = 60000;
    c->recompute_ms = 1000;
}

static int parse_origins(struct cfg_ctx *ctx, struct fy_node *v, struct rum_config *c)
{
    if (cfg_expect_seq(ctx, v, "'rum.allow_origins'") < 0)
        return -1;
    int n = fy_node_sequence_item_count(v);
    if (n > RUM_MAX_ORIGINS)
        return cfg_error(ctx, v, "too many origins (%d, max %d)", n, RUM_MAX_ORIGINS);
    for (int i = 0; i < n; i++) {
        struct fy_node *it = fy_node_sequence_get_by_index(v, i);
        char *o = c->origins[c->norigins];
        if (cfg_scalar(ctx, it, o, RUM_ORIGIN_MAX) < 0)
            return -1;
        if (!strcmp(o, "*")) {
            c->any_origin = true;
            continue;
        }
        if (strncmp(o, "http://", 7) && strncmp(o, "https://", 8))
            return cfg_error(ctx, it, "origin '%s' must be \"*\" or start with http:// or https://", o);
        if (strpbrk(o, " \t\r\n,") || o[strlen(o) - 1] == '/')
            return cfg_error(ctx, it, "origin '%s' must be scheme://host[:port] without a path", o);
        c->norigins++;
    }
    return 0;
}

static int parse_proxies(struct cfg_ctx *ctx, struct fy_node *v, struct rum_config *c)
{
    if (cfg_expect_seq(ctx, v, "'rum.trusted_proxies'") < 0)
        return -1;
    int n = fy_node_sequence_item_count(v);
    if (n > RUM_MAX_PROXIES)
        return cfg_error(ctx, v, "too many trusted proxies (%d, max %d)", n, RUM_MAX_PROXIES);
    for (int i = 0; i < n; i++) {
        struct fy_node *it = fy_node_sequence_get_by_index(v, i);
        char buf[64];
        if (cfg_scalar(ctx, it, buf, sizeof buf) < 0)
            return -1;
        if (net_prefix_parse(buf, false, &c->proxies[c->nproxies]) < 0)
            return cfg_error(ctx, it, "invalid trusted proxy prefix '%s'", buf);
        c->nproxies++;
    }
    return 0;
}

static bool url_ok(const char *u)
{
    if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8))
        return false;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '\'' || *p == '<' || *p == '>' || *p == '\\' ||
            (unsigned char)*p >= 0x7f)
            return false;
    return true;
}

static int parse_test_urls(struct cfg_ctx *ctx, struct fy_node *v, const struct rum_lookup *lk, struct rum_config *c)
{
    if (cfg_expect_map(ctx, v, "'rum.test_urls'") < 0)
        return -1;
    int n = fy_node_mapping_item_count(v);
    if (n > RUM_MAX_TEST_URLS)
        return cfg_error(ctx, v, "too many test URLs (%d, max %d)", n, RUM_MAX_TEST_URLS);
    void *it = NULL;
    struct fy_node_pair *pr;
    while ((pr = fy_node_mapping_iterate(v, &it))) {
        struct rum_test_url *t = &c->test[c->ntest];
        struct fy_node *k = fy_node_pair_key(pr), *val = fy_node_pair_value(pr);
        if (cfg_scalar(ctx, k, t->name, sizeof t->name) < 0)
            return -1;
        int id = lk && lk->provider ? lk->provider(lk->ctx, t->name) : -1;
        if (id < 0 || id > UINT16_MAX)
            return cfg_error(ctx, k, "rum.test_urls: unknown provider '%s'", t->name);
        if (cfg_scalar(ctx, val, t->url, sizeof t->url) < 0)
            return -1;
        if (!url_ok(t->url))
            return cfg_error(ctx, val, "rum.test_urls.%s: '%s' is not an http(s) URL without quotes or spaces",
                             t->name, t->url);
        t->provider = (uint16_t)id;
        c->ntest++;
    }
    return 0;
}

static int parse_rate(struct cfg_ctx *ctx, struct fy_node *v, struct rum_config *c)
{
    static const char *const keys[] = { "per_second", "burst", "clients", NULL };
    uint32_t clients;
    if (cfg_expect_map(ctx, v, "'rum.rate'") < 0 || cfg_check_keys(ctx, v, keys) < 0 ||
        cfg_double(ctx, v, "per_second", false, 0.001, 1e6, c->rate_per_sec, &c->rate_per_sec) < 0 ||
        cfg_double(ctx, v, "burst", false, 1, 1e6, c->rate_burst, &c->rate_burst) < 0 ||
        cfg_u32(ctx, v, "clients", false, 16, 1u << 22, c->rate_clients, &clients) < 0)
        return -1;
    c->rate_clients = clients;
    return 0;
}

int rum_config_parse(struct cfg_ctx *ctx, struct fy_node *rum, const struct rum_lookup *lk, struct rum_config **out)
{
    static const char *const keys[] = {
        "listen", "allow_origins", "trusted_proxies", "half_life", "min_samples", "margin", "tolerance",
        "explore", "explore_rotate", "quantile", "failure_penalty", "max_cells", "max_body", "max_batch",
        "max_age", "rate", "state_file", "snapshot_interval", "recompute_interval", "debug_endpoint",
        "test_urls", NULL };
    *out = NULL;
    struct rum_config *c = malloc(sizeof *c);
    if (!c)
        return cfg_error(ctx, rum, "out of memory");
    rum_config_default(c);
    if (!rum || fy_node_is_null(rum)) {
        *out = c;
        return 0;
    }
    c->configured = true;
    char buf[1024];
    uint64_t u, hl, rot, pen, age, snap, rec;
    struct rum_params *p = &c->params;
    struct fy_node *v;
    if (cfg_expect_map(ctx, rum, "'rum'") < 0 || cfg_check_keys(ctx, rum, keys) < 0)
        goto fail;
    if ((v = cfg_get(rum, "listen"))) {
        if (cfg_scalar(ctx, v, buf, sizeof buf) < 0)
            goto fail;
        if (net_hostport_parse(buf, 8054, &c->listen, &c->port) < 0) {
            cfg_error(ctx, v, "rum.listen: '%s' is not address[:port]", buf);
            goto fail;
        }
    }
    if (((v = cfg_get(rum, "allow_origins")) && parse_origins(ctx, v, c) < 0) ||
        ((v = cfg_get(rum, "trusted_proxies")) && parse_proxies(ctx, v, c) < 0) ||
        ((v = cfg_get(rum, "rate")) && parse_rate(ctx, v, c) < 0) ||
        ((v = cfg_get(rum, "test_urls")) && parse_test_urls(ctx, v, lk, c) < 0))
        goto fail;
    /* ranges: half-life 1 s..30 d; margins and shares are fractions */
    if (cfg_duration_ms(ctx, rum, "half_life", false, 1000, 30ULL * 86400000, (uint64_t)c->half_life_ms, &hl) < 0 ||
        cfg_double(ctx, rum, "min_samples", false, 1, 1e9, p->min_samples, &p->min_samples) < 0 ||
        cfg_double(ctx, rum, "margin", false, 0, 10, p->margin, &p->margin) < 0 ||
        cfg_double(ctx, rum, "tolerance", false, 0, 10, p->tolerance, &p->tolerance) < 0 ||
        cfg_double(ctx, rum, "explore", false, 0, 0.5, p->explore, &p->explore) < 0 ||
        cfg_duration_ms(ctx, rum, "explore_rotate", false, 1000, 7ULL * 86400000, (uint64_t)p->explore_rotate_ms, &rot) < 0 ||
        cfg_double(ctx, rum, "quantile", false, 0.01, 0.99, p->quantile, &p->quantile) < 0 ||
        cfg_duration_ms(ctx, rum, "failure_penalty", false, 0, 600000, (uint64_t)p->failure_penalty_ms, &pen) < 0 ||
        cfg_u64(ctx, rum, "max_cells", false, 16, RUM_MAX_CELLS, c->max_cells, &u) < 0)
        goto fail;
    c->half_life_ms = (int64_t)hl;
    p->explore_rotate_ms = (int64_t)rot;
    p->failure_penalty_ms = (double)pen;
    c->max_cells = u;
    if (cfg_size(ctx, rum, "max_body", false, 256, RUM_MAX_BODY, c->max_body, &u) < 0)
        goto fail;
    c->max_body = u;
    if (cfg_u64(ctx, rum, "max_batch", false, 1, RUM_MAX_BATCH, c->max_batch, &u) < 0)
        goto fail;
    c->max_batch = u;
    if (cfg_duration_ms(ctx, rum, "max_age", false, 0, 86400000, (uint64_t)c->max_age_ms, &age) < 0 ||
        cfg_duration_ms(ctx, rum, "snapshot_interval", false, 1000, 86400000, (uint64_t)c->snapshot_ms, &snap) < 0 ||
        cfg_duration_ms(ctx, rum, "recompute_interval", false, 10, 3600000, (uint64_t)c->recompute_ms, &rec) < 0 ||
        cfg_bool(ctx, rum, "debug_endpoint", false, &c->debug_endpoint) < 0)
        goto fail;
    c->max_age_ms = (int64_t)age;
    c->snapshot_ms = (int64_t)snap;
    c->recompute_ms = (int64_t)rec;
    if ((v = cfg_get(rum, "state_file"))) {
        if (cfg_scalar(ctx, v, buf, sizeof buf) < 0 || cfg_path(ctx, v, buf, c->state_file, sizeof c->state_file) < 0)
            goto fail;
    }
    *out = c;
    return 0;
fail:
    free(c);
    return -1;
}
