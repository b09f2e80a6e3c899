/* tests/tools/health_probe.c: runs the health engine from a config file and
 * prints every provider state change as it is published; the harness for the
 * integration tests and the scale benchmark, and a worked example of how a
 * daemon wires the engine (read-side included).
 *
 *   health_probe [-d SECONDS] [-q] CONFIG
 *
 * CONFIG is a steer YAML file: the `health:` section, plus `providers:`
 * (name -> {checks: [..]}, other keys ignored) for the targets. Output:
 *   ready providers=N checks=M
 *   <ms since start> <provider> <up|down|unknown> <reason-token> <admin>
 *   stats checks=.. runs=.. failures=.. up=.. down=.. unknown=.. publications=..
 *         engine_cpu_ms=.. elapsed_ms=..        (at exit)
 * -q prints only the ready and stats lines. SIGHUP reloads CONFIG
 * (health_engine_reconfigure), SIGUSR1 prints stats, SIGTERM/SIGINT exit. */
#include <libfyaml.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include "common/cfg.h"
#include "common/log.h"
#include "health/health.h"

#define POLL_MS 5   /* how often the observer reads the table, like a query would */

static volatile sig_atomic_t stop, reload, dump;
static void on_term(int s) { stop = 1; }
static void on_hup(int s) { reload = 1; }
static void on_usr1(int s) { dump = 1; }

struct targets {
    struct health_target *t;
    char (*names)[HC_NAME_MAX];
    const char **checks;   /* all check names, pointed into by t[i].checks */
    char (*cbuf)[HC_NAME_MAX];
    size_t n;
};

static void targets_free(struct targets *t)
{
    free(t->t);
    free(t->names);
    free(t->checks);
    free(t->cbuf);
    memset(t, 0, sizeof *t);
}

/* Minimal reading of `providers:` for this tool (steering owns the real one). */
static int load(const char *path, struct health_config **cfg, struct targets *tg, char *err, size_t errsz)
{
    struct cfg_ctx ctx;
    memset(tg, 0, sizeof *tg);
    if (cfg_load(&ctx, path) < 0 || health_config_parse(&ctx, cfg) < 0) {
        snprintf(err, errsz, "%s", ctx.err);
        cfg_free(&ctx);
        return -1;
    }
    struct fy_node *provs = cfg_get(cfg_root(&ctx), "providers");
    size_t np = provs && cfg_is_map(provs) ? (size_t)fy_node_mapping_item_count(provs) : 0, total = 0;
    void *it = NULL;
    struct fy_node_pair *p;
    while (np && (p = fy_node_mapping_iterate(provs, &it)) != NULL) {
        struct fy_node *cl = cfg_get(fy_node_pair_value(p), "checks");
        total += cfg_is_seq(cl) ? (size_t)fy_node_sequence_item_count(cl) : 0;
    }
    tg->t = calloc(np + 1, sizeof *tg->t);
    tg->names = calloc(np + 1, sizeof *tg->names);
    tg->checks = calloc(total + 1, sizeof *tg->checks);
    tg->cbuf = calloc(total + 1, sizeof *tg->cbuf);
    size_t k = 0;
    it = NULL;
    while (np && (p = fy_node_mapping_iterate(provs, &it)) != NULL) {
        struct health_target *t = &tg->t[tg->n];
        if (cfg_scalar(&ctx, fy_node_pair_key(p), tg->names[tg->n], HC_NAME_MAX) < 0)
            break;
        t->provider = tg->names[tg->n];
        t->checks = &tg->checks[k];
        struct fy_node *cl = cfg_get(fy_node_pair_value(p), "checks"), *c;
        void *it2 = NULL;
        while (cfg_is_seq(cl) && (c = fy_node_sequence_iterate(cl, &it2)) != NULL) {
            if (cfg_scalar(&ctx, c, tg->cbuf[k], HC_NAME_MAX) < 0)
                break;
            tg->checks[k] = tg->cbuf[k];
            k++;
            t->nchecks++;
        }
        tg->n++;
    }
    if (ctx.err[0]) {
        snprintf(err, errsz, "%s", ctx.err);
        cfg_free(&ctx);
        health_config_free(cfg);
        targets_free(tg);
        return -1;
    }
    cfg_free(&ctx);
    return 0;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void print_stats(struct health_engine *e, uint64_t elapsed)
{
    struct health_stats s;
    if (health_engine_stats(e, &s) != HEALTH_OK)
        return;
    uint64_t runs = 0, fails = 0, lat = 0;
    size_t up = 0, down = 0, unk = 0;
    for (size_t i = 0; i < s.nchecks; i++) {
        runs += s.checks[i].runs;
        fails += s.checks[i].failures;
        lat += s.checks[i].lat_sum_us;
    }
    for (size_t i = 0; i < s.nproviders; i++) {
        up += s.providers[i].health == PROV_UP;
        down += s.providers[i].health == PROV_DOWN;
        unk += s.providers[i].health == PROV_UNKNOWN;
    }
    printf("stats checks=%zu runs=%llu failures=%llu up=%zu down=%zu unknown=%zu publications=%llu "
           "engine_cpu_ms=%.1f elapsed_ms=%llu mean_latency_us=%llu\n",
           s.nchecks, (unsigned long long)runs, (unsigned long long)fails, up, down, unk,
           (unsigned long long)s.publications, (double)s.engine_cpu_ns / 1e6, (unsigned long long)elapsed,
           (unsigned long long)(runs ? lat / runs : 0));
    fflush(stdout);
    health_stats_free(&s);
}

int main(int argc, char **argv)
{
    int opt;
    double duration = 0;
    bool quiet = false;
    while ((opt = getopt(argc, argv, "d:q")) != -1) {
        if (opt == 'd')
            duration = atof(optarg);
        else if (opt == 'q')
            quiet = true;
        else
            return 2;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: health_probe [-d SECONDS] [-q] CONFIG\n");
        return 2;
    }
    const char *path = argv[optind];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    log_set_level(quiet ? LOG_LVL_ERR : LOG_LVL_INFO);

    struct health_config *cfg = NULL;
    struct targets tg;
    char err[CFG_ERR_MAX];
    if (load(path, &cfg, &tg, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct health_engine *e = NULL;
    if (health_engine_new(cfg, tg.t, tg.n, &e, err, sizeof err) != HEALTH_OK) {
        fprintf(stderr, "health: %s\n", err);
        health_config_free(&cfg);
        targets_free(&tg);
        return 1;
    }
    printf("ready providers=%zu checks=%zu\n", tg.n, cfg->nchecks);
    fflush(stdout);
    health_config_free(&cfg);

    urcu_memb_register_thread();
    uint64_t t0 = mono_ms(), seen_version = 0;
    struct prov_state *last = NULL;
    uint32_t nlast = 0;
    while (!stop && (duration <= 0 || mono_ms() - t0 < (uint64_t)(duration * 1000))) {
        if (reload) {
            reload = 0;
            struct health_config *nc = NULL;
            struct targets nt;
            if (load(path, &nc, &nt, err, sizeof err) < 0 ||
                health_engine_reconfigure(e, nc, nt.t, nt.n, err, sizeof err) != HEALTH_OK) {
                printf("reload failed: %s\n", err);
                if (nc) {
                    health_config_free(&nc);
                    targets_free(&nt);
                }
            } else {
                printf("reloaded providers=%zu\n", nt.n);
                targets_free(&tg);
                tg = nt;
                health_config_free(&nc);
                free(last);
                last = NULL;
                nlast = 0;
            }
            fflush(stdout);
        }
        if (dump) {
            dump = 0;
            print_stats(e, mono_ms() - t0);
        }
        /* the read side exactly as the query path does it */
        urcu_memb_read_lock();
        const struct prov_state_table *t = rcu_dereference(*health_engine_slot(e));
        if (t && t->version != seen_version) {
            seen_version = t->version;
            if (!last || nlast != t->n) {
                free(last);
                last = calloc(t->n + 1, sizeof *last);
                for (uint32_t i = 0; last && i < t->n; i++)
                    last[i].health = 0xff;   /* print everything once */
                nlast = t->n;
            }
            for (uint32_t i = 0; last && i < t->n && i < tg.n; i++) {
                if (memcmp(&last[i], &t->s[i], sizeof last[i]) == 0)
                    continue;
                last[i] = t->s[i];
                if (quiet)
                    continue;
                char rb[32];
                printf("%llu %s %s %s %s\n", (unsigned long long)(mono_ms() - t0), tg.t[i].provider,
                       prov_health_name(t->s[i].health), health_reason_token(t->s[i].reason, rb, sizeof rb),
                       prov_admin_name(t->s[i].admin));
            }
            fflush(stdout);
        }
        urcu_memb_read_unlock();
        struct timespec ts = { 0, POLL_MS * 1000000L };
        nanosleep(&ts, NULL);
    }
    print_stats(e, mono_ms() - t0);
    urcu_memb_unregister_thread();
    free(last);
    health_engine_free(&e);
    targets_free(&tg);
    return 0;
}
