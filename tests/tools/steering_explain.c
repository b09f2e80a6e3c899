/* tests/tools/steering_explain.c: offline `explain` for a steering config,
 * until steerctl talks to a running steerd. Prints why a client gets the
 * answer it gets: geo data, rules tested, candidates with weights and
 * health, the answer, its TTL and ECS scope.
 *
 *   steering_explain [-j] [-t A|AAAA] [-s PROVIDER=STATE]... CONFIG NAME CLIENT [ECS-PREFIX]
 *
 * STATE: up, down, unknown, force-up, force-down, drain, or a weight
 * number. Exit status 0, or 1 on errors (config errors as file:line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cfg.h"
#include "steering/steering.h"

#define MAX_STATES 64

static int apply_state(const struct steer_policy *p, struct prov_state_table *st, const char *spec)
{
    char name[128];
    const char *eq = strchr(spec, '=');
    if (!eq || (size_t)(eq - spec) >= sizeof name)
        return -1;
    memcpy(name, spec, (size_t)(eq - spec));
    name[eq - spec] = 0;
    int id = steer_provider_find(p, name);
    if (id < 0)
        return -1;
    const char *v = eq + 1;
    struct prov_state *s = &st->s[id];
    if (!strcmp(v, "up")) s->health = PROV_UP;
    else if (!strcmp(v, "down")) s->health = PROV_DOWN;
    else if (!strcmp(v, "unknown")) s->health = PROV_UNKNOWN;
    else if (!strcmp(v, "force-up")) s->admin = ADMIN_FORCE_UP;
    else if (!strcmp(v, "force-down")) s->admin = ADMIN_FORCE_DOWN;
    else if (!strcmp(v, "drain")) s->admin = ADMIN_DRAIN;
    else {
        uint64_t w;
        if (parse_u64(v, 0, 1000000, &w) < 0)
            return -1;
        s->weight = (uint32_t)w;
    }
    return 0;
}

int main(int argc, char **argv)
{
    bool json = false;
    uint16_t qtype = 1;
    const char *states[MAX_STATES];
    int nstates = 0, opt;
    while ((opt = getopt(argc, argv, "jt:s:")) != -1) {
        switch (opt) {
        case 'j': json = true; break;
        case 't':
            if (!strcasecmp(optarg, "A")) qtype = 1;
            else if (!strcasecmp(optarg, "AAAA")) qtype = 28;
            else goto usage;
            break;
        case 's':
            if (nstates >= MAX_STATES)
                goto usage;
            states[nstates++] = optarg;
            break;
        default: goto usage;
        }
    }
    if (argc - optind < 3 || argc - optind > 4)
        goto usage;
    const char *cfgpath = argv[optind], *name = argv[optind + 1], *client = argv[optind + 2];
    const char *ecs = argc - optind == 4 ? argv[optind + 3] : NULL;
    struct cfg_ctx ctx;
    struct steer_policy *p = NULL;
    if (cfg_load(&ctx, cfgpath) < 0 || steer_policy_compile(&ctx, cfg_root(&ctx), &p) < 0) {
        fprintf(stderr, "%s\n", ctx.err);
        cfg_free(&ctx);
        return 1;
    }
    int rc = 1;
    struct prov_state_table *st = NULL;
    uint8_t wire[256];
    int wl = steer_name_to_wire(name, wire, sizeof wire);
    const struct steer_name *nm = wl > 0 ? steer_policy_find_name(p, wire, (size_t)wl) : NULL;
    if (!nm) {
        fprintf(stderr, "%s: not a steered name in %s\n", name, cfgpath);
        goto out;
    }
    struct steer_client c = { 0 };
    if (net_addr_parse(client, &c.addr) < 0) {
        fprintf(stderr, "%s: not an IP address\n", client);
        goto out;
    }
    c.source_len = (uint8_t)net_addr_maxlen(&c.addr);
    if (ecs) {
        struct net_prefix pf;
        if (net_prefix_parse(ecs, true, &pf) < 0) {
            fprintf(stderr, "%s: not a prefix\n", ecs);
            goto out;
        }
        c.addr = pf.addr;
        c.source_len = pf.len;
        c.has_ecs = true;
    }
    size_t np = steer_policy_provider_count(p);
    st = calloc(1, sizeof *st + np * sizeof st->s[0]);
    if (!st)
        goto out;
    st->n = (uint32_t)np;
    for (size_t i = 0; i < np; i++)
        st->s[i] = (struct prov_state){ .health = PROV_UNKNOWN, .weight = PROV_WEIGHT_NONE };
    for (int i = 0; i < nstates; i++)
        if (apply_state(p, st, states[i]) < 0) {
            fprintf(stderr, "bad state '%s' (PROVIDER=up|down|unknown|force-up|force-down|drain|WEIGHT)\n", states[i]);
            goto out;
        }
    struct steer_inputs in = { .state = st };
    char buf[65536];
    if (steer_explain(p, nm, &c, qtype, &in, json, buf, sizeof buf) < 0) {
        fprintf(stderr, "explain failed\n");
        goto out;
    }
    fputs(buf, stdout);
    rc = 0;
out:
    free(st);
    steer_policy_free(&p);
    cfg_free(&ctx);
    return rc;
usage:
    fprintf(stderr, "usage: steering_explain [-j] [-t A|AAAA] [-s PROVIDER=STATE]... CONFIG NAME CLIENT [ECS-PREFIX]\n");
    return 2;
}
