/* bench/steering_decide.c: steer_decide() cost in ns/call, single thread,
 * release build. Not a test. Anchor: one bare libmaxminddb lookup plus one
 * value fetch (MMDB_lookup_sockaddr + MMDB_aget_value on continent.code),
 * the least any geo-steering server does per query; ratios are printed
 * against it from the same run.
 *   usage: steering_decide CONFIG [ITERATIONS]   (CONFIG: examples/steering-demo.yaml) */
#include <maxminddb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cfg.h"
#include "steering/steering.h"

#define NCLIENTS 4096   /* distinct clients cycled through: defeats branch-predictor memorisation */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static struct steer_client clients[NCLIENTS];
static volatile unsigned sink;

/* IPv4 clients spread over the fixture's networks (/24s of 192.0.2, 198.51.100,
 * 203.0.113, 198.18/15, 100.64/10) and unknown space; or IPv6 ones. */
static void make_clients(int family, unsigned seed)
{
    srand(seed);
    static const uint8_t v4[][2] = { { 192, 0 }, { 198, 51 }, { 203, 0 }, { 198, 18 }, { 198, 19 }, { 100, 70 }, { 8, 8 } };
    for (unsigned i = 0; i < NCLIENTS; i++) {
        struct steer_client *c = &clients[i];
        memset(c, 0, sizeof *c);
        c->has_ecs = true;
        if (family == 4) {
            unsigned k = (unsigned)rand() % 7;
            c->addr.family = 4;
            c->addr.bytes[0] = v4[k][0];
            c->addr.bytes[1] = v4[k][1];
            c->addr.bytes[2] = k == 0 ? 2 : k == 1 ? 100 : k == 2 ? 113 : (uint8_t)rand();
            c->source_len = 24;
        } else {
            c->addr.family = 6;
            c->addr.bytes[0] = 0x20; c->addr.bytes[1] = 0x01; c->addr.bytes[2] = 0x0d; c->addr.bytes[3] = 0xb8;
            c->addr.bytes[4] = (uint8_t)((rand() % 8) << 4);
            c->addr.bytes[5] = (uint8_t)rand();
            c->addr.bytes[6] = (uint8_t)rand();
            c->source_len = 56;
        }
    }
}

static double bench_decide(const struct steer_policy *p, const struct steer_name *n, uint16_t qt,
                           const struct steer_inputs *in, long iters)
{
    struct steer_answer a;
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        steer_decide(p, n, &clients[i & (NCLIENTS - 1)], qt, in, &a);
        sink += a.naddr + a.scope;
    }
    return (now_ns() - t0) / (double)iters;
}

static double bench_anchor(const char *mmdb_path, long iters)
{
    MMDB_s mmdb;
    if (MMDB_open(mmdb_path, MMDB_MODE_MMAP, &mmdb) != MMDB_SUCCESS) {
        fprintf(stderr, "cannot open %s\n", mmdb_path);
        exit(1);
    }
    static const char *const path[] = { "continent", "code", NULL };
    struct sockaddr_storage ss[NCLIENTS];
    for (unsigned i = 0; i < NCLIENTS; i++)
        net_addr_to_sockaddr(&clients[i].addr, 0, &ss[i]);
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        int err;
        MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&mmdb, (struct sockaddr *)&ss[i & (NCLIENTS - 1)], &err);
        MMDB_entry_data_s d;
        if (r.found_entry && MMDB_aget_value(&r.entry, &d, path) == MMDB_SUCCESS)
            sink += d.data_size;
        sink += r.netmask;
    }
    double ns = (now_ns() - t0) / (double)iters;
    MMDB_close(&mmdb);
    return ns;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CONFIG [ITERATIONS]\n", argv[0]);
        return 2;
    }
    long iters = argc > 2 ? atol(argv[2]) : 2000000;
    struct cfg_ctx ctx;
    struct steer_policy *p = NULL;
    if (cfg_load(&ctx, argv[1]) < 0 || steer_policy_compile(&ctx, cfg_root(&ctx), &p) < 0) {
        fprintf(stderr, "%s\n", ctx.err);
        return 1;
    }
    char city[1100];
    snprintf(city, sizeof city, "%s/../geo/fixture/steer-city.mmdb", ctx.dir);
    size_t np = steer_policy_provider_count(p);
    struct prov_state_table *st = calloc(1, sizeof *st + np * sizeof st->s[0]);
    st->n = (uint32_t)np;
    for (size_t i = 0; i < np; i++)
        st->s[i] = (struct prov_state){ .health = PROV_UP, .weight = PROV_WEIGHT_NONE };
    struct steer_inputs in = { .state = st };
    const struct steer_name *www = steer_policy_name(p, 0);

    printf("# steer_decide, %ld calls per case, %d distinct clients, 1 thread\n", iters, NCLIENTS);
    printf("%-44s %10s %8s\n", "case", "ns/call", "ratio");
    make_clients(4, 1);
    bench_decide(p, www, 1, &in, iters / 10);   /* warm-up */
    double anchor = bench_anchor(city, iters);
    printf("%-44s %10.1f %8.2f\n", "anchor: MMDB lookup + 1 value (IPv4)", anchor, 1.0);
    double v = bench_decide(p, www, 1, &in, iters);
    printf("%-44s %10.1f %8.2f\n", "www A, IPv4 ECS /24, all up", v, v / anchor);
    v = bench_decide(p, www, 28, &in, iters);
    printf("%-44s %10.1f %8.2f\n", "www AAAA, IPv4 ECS /24, all up", v, v / anchor);
    st->s[0].health = PROV_DOWN;   /* eu-pop down: europe -> weighted over 1, fallbacks */
    v = bench_decide(p, www, 1, &in, iters);
    printf("%-44s %10.1f %8.2f\n", "www A, IPv4, first provider down", v, v / anchor);
    st->s[0].health = PROV_UP;
    make_clients(6, 2);
    double anchor6 = bench_anchor(city, iters);
    printf("%-44s %10.1f %8.2f\n", "anchor: MMDB lookup + 1 value (IPv6)", anchor6, 1.0);
    v = bench_decide(p, www, 28, &in, iters);
    printf("%-44s %10.1f %8.2f\n", "www AAAA, IPv6 ECS /56, all up", v, v / anchor6);
    if (steer_policy_name_count(p) > 1) {
        make_clients(4, 3);
        v = bench_decide(p, steer_policy_name(p, 1), 1, &in, iters);
        printf("%-44s %10.1f %8.2f\n", "apex A (no flat table: fallback pool)", v, v / anchor);
    }
    free(st);
    steer_policy_free(&p);
    cfg_free(&ctx);
    return 0;
}
