#define _LGPL_SOURCE
#include "steerd/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libfyaml.h>
#include <urcu/urcu-memb.h>

#include "common/log.h"
#include "dns/wire.h"
#include "rum/aggregate.h"
#include "steering/labels.h"

void snapshot_read_inputs(const struct snapshot *s, struct steer_inputs *in)
{
    memset(in, 0, sizeof *in);
    if (s->state_slot) {
        const struct prov_state_table *t = rcu_dereference(*s->state_slot);
        if (t && t->layout == s->layout)
            in->state = t;
    }
    if (s->flat)
        in->flat = steer_flatten_current(s->flat);
    struct rum_collector *rc = rcu_dereference(((struct snapshot *)s)->rum);
    if (rc)
        in->rum = rum_collector_table(rc);
}

/* The query path's bridge from dns/ to steering/: translates the client,
 * reads the runtime tables once, and maps the steering answer back. Runs
 * inside the I/O thread's RCU read section; never allocates. */
static int steer_dynamic(void *ctx, const void *handle, const struct dns_client *c, uint16_t qtype,
                         struct dns_dyn_answer *out)
{
    const struct snapshot *s = ctx;
    const struct dns_query *q = c->q;
    struct steer_client sc;
    if (q->ecs && q->ecs_source > 0) {
        sc.addr = q->ecs_addr;
        sc.source_len = q->ecs_source;
        sc.has_ecs = true;
    } else {
        /* no ECS, or SOURCE PREFIX-LENGTH 0 (RFC 7871 7.1.2: the client
         * opted out): decide on the resolver's address; with ECS the scope
         * is then clamped to 0 when echoed */
        sc.addr = c->addr;
        sc.source_len = c->addr.family == 4 ? 32 : 128;
        sc.has_ecs = false;
    }
    struct steer_inputs in;
    snapshot_read_inputs(s, &in);
    struct steer_answer a;
    int rc = steer_decide(s->policy, handle, &sc, qtype, &in, &a);
    size_t ni = steer_name_index(s->policy, handle);
    metrics_steer_answer(s->metrics, ni, rc, &a, sc.has_ecs);
    querylog_note_decision(rc, &a, s->metrics, ni);
    if (rc != STEER_OK)
        return -1;
    out->ttl = a.ttl;
    out->scope = a.scope;
    switch (a.kind) {
    case STEER_CNAME:
        out->kind = DNS_DYN_CNAME;
        out->cname = a.cname;
        out->cname_len = a.cname_len;
        break;
    case STEER_ADDRS:
        out->kind = DNS_DYN_ADDRS;
        out->naddr = a.naddr > DNS_DYN_MAX_ADDRS ? DNS_DYN_MAX_ADDRS : a.naddr;
        for (unsigned i = 0; i < out->naddr; i++)
            out->addr[i] = a.addr[i];
        break;
    default:
        out->kind = DNS_DYN_NODATA;
    }
    return 0;
}

/* rum_lookup over the snapshot's policy (ctx; NULL without steering). */
static int rum_lk_provider(void *ctx, const char *name)
{
    return ctx ? steer_provider_find(ctx, name) : -1;
}
static const char *rum_lk_provider_name(void *ctx, unsigned id)
{
    return ctx ? steer_provider_name(ctx, id) : NULL;
}
static int rum_lk_name(void *ctx, const char *name)
{
    uint8_t wire[256];
    int len = steer_name_to_wire(name, wire, sizeof wire);
    if (!ctx || len < 0)
        return -1;
    for (size_t i = 0; i < steer_policy_name_count(ctx); i++) {
        size_t ol;
        const uint8_t *o = steer_name_owner(steer_policy_name(ctx, i), &ol);
        if (ol == (size_t)len && !memcmp(o, wire, ol))
            return (int)i;
    }
    return -1;
}
static struct rum_lookup rum_lookup_of(const struct snapshot *s)
{
    return (struct rum_lookup){ .provider = rum_lk_provider, .name = rum_lk_name,
                                .provider_name = rum_lk_provider_name, .ctx = s->policy };
}

/* The `name:` node of the steering item for `text` (for file:line errors
 * about a steered name found after the sections were compiled). */
static struct fy_node *steered_name_node(struct cfg_ctx *ctx, const char *text)
{
    struct fy_node *seq = cfg_get(cfg_root(ctx), "steering"), *item;
    void *it = NULL;
    size_t tl = strlen(text);
    while (cfg_is_seq(seq) && (item = fy_node_sequence_iterate(seq, &it))) {
        char name[300];
        struct fy_node *n = cfg_get(item, "name");
        if (!cfg_is_scalar(n) || cfg_scalar(ctx, n, name, sizeof name) < 0)
            continue;
        size_t nl = strlen(name);
        if (nl && name[nl - 1] != '.' && nl + 1 < sizeof name)
            name[nl++] = '.', name[nl] = '\0';
        if (nl == tl && !strcasecmp(name, text))
            return n;
    }
    return seq;
}

/* Health targets in provider id order, borrowing the policy's strings. */
static int build_targets(struct snapshot *s, struct cfg_ctx *ctx, char *err, size_t errlen)
{
    size_t n = snapshot_provider_count(s);
    s->targets = calloc(n ? n : 1, sizeof *s->targets);
    if (!s->targets)
        goto nomem;
    s->layout = PROV_LAYOUT_INIT;
    for (size_t id = 0; id < n; id++) {
        size_t nc = steer_provider_check_count(s->policy, id);
        const char **checks = calloc(nc ? nc : 1, sizeof *checks);
        if (!checks)
            goto nomem;
        for (size_t k = 0; k < nc; k++)
            checks[k] = steer_provider_check(s->policy, id, k);
        s->targets[id] = (struct health_target){ steer_provider_name(s->policy, id), checks, nc };
        s->layout = prov_layout_step(s->layout, steer_provider_name(s->policy, id));
    }
    char why[512];
    if (health_targets_validate(s->health, s->targets, n, why, sizeof why) != HEALTH_OK) {
        /* point at the provider's `checks:` when the message names one */
        struct fy_node *at = cfg_get(cfg_root(ctx), "providers");
        for (size_t id = 0; id < n; id++) {
            char quoted[300];
            snprintf(quoted, sizeof quoted, "'%s'", s->targets[id].provider);
            struct fy_node *pn = cfg_get(at, s->targets[id].provider);
            if (strstr(why, quoted) && pn) {
                at = cfg_get(pn, "checks") ? cfg_get(pn, "checks") : pn;
                break;
            }
        }
        cfg_error(ctx, at, "%s", why);
        snprintf(err, errlen, "%s", ctx->err);
        return -1;
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* Zone database with a dynamic node per steered name; names at a zone apex
 * are flagged so CDN answers there are flattened (no CNAME at an apex). */
static int build_db(struct snapshot *s, struct cfg_ctx *ctx, char *err, size_t errlen)
{
    const char *cfg_file = ctx->file;
    size_t nz = s->cfg.nzones, nn = s->policy ? steer_policy_name_count(s->policy) : 0;
    struct dns_zone_src *src = calloc(nz, sizeof *src);
    struct dns_dynamic_src *dyn = calloc(nn ? nn : 1, sizeof *dyn);
    int rc = -1;
    if (!src || !dyn) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nz; i++)
        src[i] = (struct dns_zone_src){ s->cfg.zones[i].name, s->cfg.zones[i].file, cfg_file, s->cfg.zones[i].line };
    for (size_t i = 0; i < nn; i++) {
        const struct steer_name *n = steer_policy_name(s->policy, i);
        dyn[i].owner = steer_name_owner(n, &dyn[i].owner_len);
        dyn[i].handle = n;
        bool inside = false;
        for (size_t z = 0; z < nz; z++) {
            uint8_t apex[DNS_MAX_NAME];
            int alen = dns_name_from_str(s->cfg.zones[z].name, apex);
            if (alen > 0 && (size_t)alen == dyn[i].owner_len && !memcmp(apex, dyn[i].owner, (size_t)alen))
                steer_name_set_apex(s->policy, i, true);
            if (alen > 0 && dns_name_is_sub(dyn[i].owner, dyn[i].owner_len, apex, (size_t)alen))
                inside = true;
        }
        if (!inside) {
            cfg_error(ctx, steered_name_node(ctx, steer_name_text(n)), "steered name %s is not inside any configured zone",
                      steer_name_text(n));
            snprintf(err, errlen, "%s", ctx->err);
            goto out;
        }
    }
    rc = dns_db_build(src, nz, dyn, nn, &s->db, err, errlen);
out:
    free(src);
    free(dyn);
    return rc;
}

struct snapshot *snapshot_build(const char *path, uint64_t generation, char *err, size_t errlen)
{
    struct cfg_ctx ctx;
    struct snapshot *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->magic = SNAPSHOT_MAGIC;
    s->generation = generation;
    s->loaded_at = time(NULL);
    if (cfg_load(&ctx, path) < 0 || steerd_config_parse(&ctx, &s->cfg) < 0 || health_config_parse(&ctx, &s->health) < 0) {
        snprintf(err, errlen, "%s", ctx.err);
        goto fail;
    }
    /* a config without steering is a plain authoritative server */
    struct fy_node *root = cfg_root(&ctx);
    if ((cfg_get(root, "steering") || cfg_get(root, "providers")) &&
        steer_policy_compile(&ctx, root, &s->policy) < 0) {
        snprintf(err, errlen, "%s", ctx.err);
        goto fail;
    }
    struct rum_lookup lk = rum_lookup_of(s);
    if (rum_config_parse(&ctx, cfg_get(root, "rum"), &lk, &s->rum_cfg) < 0) {
        snprintf(err, errlen, "%s", ctx.err);
        goto fail;
    }
    if (s->rum_cfg->configured && !s->policy) {
        snprintf(err, errlen, "%s: 'rum' needs the 'providers' and 'steering' sections", ctx.file);
        goto fail;
    }
    if (build_targets(s, &ctx, err, errlen) < 0 || build_db(s, &ctx, err, errlen) < 0)
        goto fail;
    if (!(s->metrics = metrics_steer_new(s->policy))) {
        snprintf(err, errlen, "out of memory for the steering counters");
        goto fail;
    }
    s->view.db = s->db;
    s->view.udp_max = s->cfg.udp_max;
    s->view.dynamic = steer_dynamic;
    s->view.dynamic_ctx = s;
    cfg_free(&ctx);
    return s;
fail:
    cfg_free(&ctx);
    snapshot_free(&s);
    return NULL;
}

/* Aggregate cells carried from one collector to the next (reload). */
struct rum_handover {
    size_t n;
    struct rum_cell *cells;
};

/* Room for every cell of from's aggregate (its capacity is fixed at
 * creation, so this may run while the collector thread still works). */
static int rum_handover_alloc(const struct snapshot *from, struct rum_handover *h)
{
    size_t cap = rum_agg_capacity(rum_collector_agg(from->rum));
    h->n = 0;
    h->cells = malloc((cap ? cap : 1) * sizeof *h->cells);
    return h->cells ? 0 : -1;
}

/* Copies the stopped collector's cells, provider ids remapped by name into
 * `to`'s policy (cells of providers `to` lacks are dropped). */
static void rum_handover_take(const struct snapshot *from, const struct snapshot *to, struct rum_handover *h)
{
    const struct rum_agg *a = rum_collector_agg(from->rum);
    size_t n = rum_agg_count(a);
    h->n = 0;
    for (size_t i = 0; i < n; i++) {
        const struct rum_cell *c = rum_agg_cell(a, i);
        const char *name = steer_provider_name(from->policy, c->prov);
        int id = name && to->policy ? steer_provider_find(to->policy, name) : -1;
        if (id < 0)
            continue;
        h->cells[h->n] = *c;
        h->cells[h->n].prov = (uint16_t)id;
        h->n++;
    }
}

/* Creates and starts s's collector, seeded with handed-over cells (unless
 * the state file it loads already holds them). */
static int rum_up(struct snapshot *s, const struct rum_handover *h, bool file_has_cells, char *err, size_t errlen)
{
    struct rum_collector_opts o = { .cfg = s->rum_cfg, .geo = steer_policy_geo(s->policy),
                                    .lookup = rum_lookup_of(s), .pools = steer_policy_rum_pools(s->policy) };
    struct rum_collector *c = rum_collector_new(&o, err, errlen);
    if (!c)
        return -1;
    if (h && !file_has_cells) {
        struct rum_agg *a = rum_collector_agg(c);
        for (size_t i = 0; i < h->n; i++)
            rum_agg_put_cell(a, &h->cells[i]);   /* validated when first added: cannot fail */
        if (rum_collector_recompute(c) < 0) {
            snprintf(err, errlen, "rum: out of memory building the score table");
            rum_collector_free(&c);
            return -1;
        }
    }
    if (rum_collector_start(c, err, errlen) < 0) {
        rum_collector_free(&c);
        return -1;
    }
    rcu_assign_pointer(s->rum, c);
    metrics_rum_attach(c, s->policy);
    log_info("rum: beacon endpoint on port %u, %u rum pools", rum_collector_port(c),
             steer_policy_rum_pools(s->policy)->n);
    return 0;
}

/* Moves RUM from prev (still published) to s (not yet published). See
 * snapshot.h for why the old collector must go before the new one binds. */
static int rum_activate(struct snapshot *s, struct snapshot *prev, char *err, size_t errlen)
{
    if (!s->rum_cfg->configured)
        return 0;   /* prev's collector, if any, goes with prev */
    if (!prev || !prev->rum)
        return rum_up(s, NULL, false, err, errlen);
    struct rum_collector *old = prev->rum;
    struct rum_handover h;
    if (rum_handover_alloc(prev, &h) < 0) {   /* before stopping: a failure leaves prev untouched */
        snprintf(err, errlen, "rum: out of memory for the reload handover");
        return -1;
    }
    rum_collector_stop(old);   /* no more beacons; writes its state file */
    rum_handover_take(prev, s, &h);
    bool same_file = prev->rum_cfg->state_file[0] && !strcmp(prev->rum_cfg->state_file, s->rum_cfg->state_file);
    rcu_assign_pointer(prev->rum, NULL);
    urcu_memb_synchronize_rcu();
    metrics_rum_detach(old);    /* stopped: its counters are final */
    rum_collector_free(&old);   /* releases the listening socket */
    int rc = rum_up(s, &h, same_file, err, errlen);
    if (rc < 0) {
        char e2[256];
        struct rum_handover h2 = { 0, NULL };
        /* prev's state is in the handover: put it back under prev's listener */
        for (size_t i = 0; i < h.n; i++) {
            const char *name = steer_provider_name(s->policy, h.cells[i].prov);
            int id = name ? steer_provider_find(prev->policy, name) : -1;
            if (id >= 0) {
                h.cells[h2.n] = h.cells[i];
                h.cells[h2.n++].prov = (uint16_t)id;
            }
        }
        h2.cells = h.cells;
        if (rum_up(prev, &h2, same_file, e2, sizeof e2) < 0)
            log_err("rum: cannot restore the previous collector: %s", e2);
    }
    free(h.cells);
    return rc;
}

int snapshot_activate(struct snapshot *s, struct snapshot *prev, struct prov_state_table **state_slot,
                      char *err, size_t errlen)
{
    s->state_slot = state_slot;
    if (!s->policy) {
        metrics_steer_register(s->metrics);
        return 0;
    }
    int rc = prev && prev->flat ? steer_flatten_start_from(s->policy, prev->flat, &s->flat, err, errlen)
                                : steer_flatten_start(s->policy, &s->flat, err, errlen);
    if (rc < 0)
        return rc;
    rc = rum_activate(s, prev, err, errlen);
    if (rc == 0)
        metrics_steer_register(s->metrics);   /* before the caller publishes s */
    return rc;
}

void snapshot_free(struct snapshot **sp)
{
    struct snapshot *s = *sp;
    if (!s)
        return;
    metrics_rum_detach(s->rum);
    rum_collector_free(&s->rum);   /* after the grace period: no reader left */
    metrics_steer_retire(&s->metrics);
    free(s->rum_cfg);
    steer_flatten_stop(&s->flat);
    if (s->targets) {
        size_t n = snapshot_provider_count(s);
        for (size_t i = 0; i < n; i++)
            free((void *)s->targets[i].checks);
        free(s->targets);
    }
    dns_db_free(&s->db);
    steer_policy_free(&s->policy);
    health_config_free(&s->health);
    steerd_config_free(&s->cfg);
    s->magic = 0;
    free(s);
    *sp = NULL;
}
