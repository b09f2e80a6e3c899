/* tests/tools/rum_server.c: the RUM collector standalone, for integration
 * tests and trying it out (steerd embeds the same library).
 *
 *   rum_server CONFIG [--import FILE.csv]... [--check]
 *
 * Reads the `geo:`, `providers:` and `rum:` sections of CONFIG. Provider ids
 * are the order of the `providers:` mapping (as steering assigns them); the
 * score table ranks one pool holding every provider with equal weights.
 * --import adds offline CSV measurements before serving; --check only
 * validates the config (exit 0 or 1 with "file:line: message").
 * SIGTERM/SIGINT stop it after a last snapshot. Prints "rum_server: port N". */
#include <libfyaml.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "common/cfg.h"
#include "common/log.h"
#include "geo/geo.h"
#include "rum/collector.h"
#include "rum/config.h"
#include "rum/persist.h"

#define MAX_PROV 1024

struct provs {
    unsigned n;
    char name[MAX_PROV][RUM_PROVIDER_MAX + 1];
};

static int prov_find(void *ctx, const char *name)
{
    const struct provs *p = ctx;
    for (unsigned i = 0; i < p->n; i++)
        if (!strcmp(p->name[i], name))
            return (int)i;
    return -1;
}

static const char *prov_name(void *ctx, unsigned id)
{
    const struct provs *p = ctx;
    return id < p->n ? p->name[id] : NULL;
}

static int load_providers(struct cfg_ctx *ctx, struct provs *p)
{
    struct fy_node *m = cfg_get(cfg_root(ctx), "providers");
    if (!m)
        return cfg_error(ctx, cfg_root(ctx), "no 'providers' section");
    if (cfg_expect_map(ctx, m, "'providers'") < 0)
        return -1;
    void *it = NULL;
    struct fy_node_pair *pr;
    while ((pr = fy_node_mapping_iterate(m, &it))) {
        if (p->n >= MAX_PROV)
            return cfg_error(ctx, m, "too many providers");
        if (cfg_scalar(ctx, fy_node_pair_key(pr), p->name[p->n], sizeof p->name[0]) < 0)
            return -1;
        p->n++;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *conf = NULL, *imports[16];
    int nimp = 0, check = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--import") && i + 1 < argc && nimp < 16)
            imports[nimp++] = argv[++i];
        else if (!strcmp(argv[i], "--check"))
            check = 1;
        else if (!conf && argv[i][0] != '-')
            conf = argv[i];
        else {
            fprintf(stderr, "usage: rum_server CONFIG [--import FILE.csv]... [--check]\n");
            return 2;
        }
    }
    if (!conf) {
        fprintf(stderr, "usage: rum_server CONFIG [--import FILE.csv]... [--check]\n");
        return 2;
    }
    static struct provs provs;
    struct cfg_ctx ctx;
    struct geo_set *geo = NULL;
    struct rum_config *rc = NULL;
    struct rum_lookup lk = { .provider = prov_find, .provider_name = prov_name, .ctx = &provs };
    if (cfg_load(&ctx, conf) < 0) {
        fprintf(stderr, "%s\n", ctx.err);
        return 1;
    }
    if (load_providers(&ctx, &provs) < 0 || geo_set_compile(&ctx, cfg_get(cfg_root(&ctx), "geo"), &geo) < 0 ||
        rum_config_parse(&ctx, cfg_get(cfg_root(&ctx), "rum"), &lk, &rc) < 0) {
        fprintf(stderr, "%s\n", ctx.err);
        geo_set_free(&geo);
        cfg_free(&ctx);
        return 1;
    }
    cfg_free(&ctx);
    int status = 0;
    struct rum_pool_set *pools = rum_pool_set_new(1);
    struct rum_collector *c = NULL;
    char err[1024];
    if (check)
        goto out;
    if (!pools) {
        status = 1;
        goto out;
    }
    for (unsigned i = 0; i < provs.n && i < RUM_POOL_MAX; i++) {
        pools->pool[0].prov[i] = (uint16_t)i;
        pools->pool[0].weight[i] = 1;
        pools->pool[0].n++;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);   /* before any thread: they inherit it */
    struct rum_collector_opts o = { .cfg = rc, .geo = geo, .lookup = lk, .pools = pools };
    if (!(c = rum_collector_new(&o, err, sizeof err))) {
        fprintf(stderr, "rum_server: %s\n", err);
        status = 1;
        goto out;
    }
    for (int i = 0; i < nimp; i++) {
        struct rum_import_stats st;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (rum_import_csv(rum_collector_agg(c), geo, &lk, imports[i], (int64_t)ts.tv_sec * 1000, &st, err,
                           sizeof err) != RUM_P_OK) {
            fprintf(stderr, "rum_server: import: %s\n", err);
            status = 1;
            goto out;
        }
        printf("rum_server: imported %zu measurements from %s\n", st.imported, imports[i]);
    }
    if (nimp)
        rum_collector_recompute(c);
    if (rum_collector_start(c, err, sizeof err) < 0) {
        fprintf(stderr, "rum_server: %s\n", err);
        status = 1;
        goto out;
    }
    printf("rum_server: port %u\n", rum_collector_port(c));
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    rum_collector_stop(c);
    printf("rum_server: stopped on signal %d\n", sig);
out:
    rum_collector_free(&c);
    free(pools);
    free(rc);
    geo_set_free(&geo);
    return status;
}
