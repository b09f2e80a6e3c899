/* steerd/metrics.c: steering counters, reload folding and the /metrics
 * renderer (see metrics.h). */
#include "steerd/metrics.h"

#include <event2/buffer.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/log.h"
#include "common/prom.h"
#include "health/admin.h"
#include "health/health.h"
#include "health/hyst.h"
#include "rum/collector.h"
#include "steerd/querylog.h"
#include "steering/labels.h"

/* ---- keyed tables: up to 3 label strings -> uint64 ---------------------- */

#define KT_PARTS 3

struct kent {
    char *k[KT_PARTS];   /* malloced; unused parts are "" */
    uint64_t v;
};

/* Entries in insertion order (rendering order) plus an open-addressing
 * index of entry+1 (0 = empty slot), kept at most half full. */
struct ktab {
    struct kent *e;
    size_t n, cap;
    uint32_t *idx;
    size_t icap;         /* power of two */
};

static uint64_t kt_hash(const char *const k[KT_PARTS])
{
    uint64_t h = 14695981039346656037ull;   /* FNV-1a, parts NUL-separated */
    for (int i = 0; i < KT_PARTS; i++)
        for (const unsigned char *p = (const unsigned char *)k[i];; p++) {
            h = (h ^ *p) * 1099511628211ull;
            if (!*p)
                break;
        }
    return h;
}

static bool kt_eq(const struct kent *e, const char *const k[KT_PARTS])
{
    for (int i = 0; i < KT_PARTS; i++)
        if (strcmp(e->k[i], k[i]))
            return false;
    return true;
}

static int kt_reindex(struct ktab *t, size_t icap)
{
    uint32_t *idx = calloc(icap, sizeof *idx);
    if (!idx)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        size_t j = kt_hash((const char *const *)t->e[i].k) & (icap - 1);
        while (idx[j])
            j = (j + 1) & (icap - 1);
        idx[j] = (uint32_t)(i + 1);
    }
    free(t->idx);
    t->idx = idx;
    t->icap = icap;
    return 0;
}

/* The entry with key k, or NULL. */
static struct kent *kt_find(const struct ktab *t, const char *const k[KT_PARTS])
{
    if (!t->icap)
        return NULL;
    for (size_t j = kt_hash(k) & (t->icap - 1); t->idx[j]; j = (j + 1) & (t->icap - 1)) {
        struct kent *e = &t->e[t->idx[j] - 1];
        if (kt_eq(e, k))
            return e;
    }
    return NULL;
}

/* Adds v to the entry (a, b, c) (NULL parts = ""), creating it. 0 or -1. */
static int kt_add(struct ktab *t, const char *a, const char *b, const char *c, uint64_t v)
{
    const char *k[KT_PARTS] = { a ? a : "", b ? b : "", c ? c : "" };
    struct kent *found = kt_find(t, k);
    if (found) {
        found->v += v;
        return 0;
    }
    if ((t->n + 1) * 2 > t->icap && kt_reindex(t, t->icap ? t->icap * 2 : 64) < 0)
        return -1;
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 32;
        struct kent *ne = realloc(t->e, nc * sizeof *ne);
        if (!ne)
            return -1;
        t->e = ne;
        t->cap = nc;
    }
    struct kent *e = &t->e[t->n];
    for (int i = 0; i < KT_PARTS; i++) {
        e->k[i] = strdup(k[i]);
        if (!e->k[i]) {
            for (int j = 0; j < i; j++)
                free(e->k[j]);
            return -1;
        }
    }
    e->v = v;
    size_t j = kt_hash(k) & (t->icap - 1);
    while (t->idx[j])
        j = (j + 1) & (t->icap - 1);
    t->idx[j] = (uint32_t)++t->n;
    return 0;
}

static int kt_merge(struct ktab *dst, const struct ktab *src)
{
    for (size_t i = 0; i < src->n; i++)
        if (kt_add(dst, src->e[i].k[0], src->e[i].k[1], src->e[i].k[2], src->e[i].v) < 0)
            return -1;
    return 0;
}

static void kt_free(struct ktab *t)
{
    for (size_t i = 0; i < t->n; i++)
        for (int k = 0; k < KT_PARTS; k++)
            free(t->e[i].k[k]);
    free(t->e);
    free(t->idx);
    memset(t, 0, sizeof *t);
}

/* ---- process-wide state ------------------------------------------------- */

struct rum_live {
    struct rum_collector *c;
    const struct steer_policy *p;
    struct rum_live *next;
};

/* Counters of steering and RUM that outlived their snapshot, plus the
 * registries of live sets. Everything under lock. */
struct cum {
    struct ktab answers;     /* name, provider, rule */
    struct ktab names;       /* name, slot name ("primary", ..., "ecs_zero", "ecs_scoped") */
    struct ktab rum_prov;    /* provider */
    uint64_t rum_beacons, rum_meas, rum_rejected[RUM_NREASONS], rum_kind[RUM_NKINDS];
};

static struct {
    pthread_mutex_t lock;
    bool ready;
    unsigned nthreads;
    char version[32];
    double start_time;
    struct metrics_steer *live;
    struct rum_live *rum;
    struct cum cum;
    uint64_t reload_ok, reload_failed;
    struct ktab failopen_seen;   /* name -> fail-open total at the last log */
} G = { .lock = PTHREAD_MUTEX_INITIALIZER };

static const char *const slot_names[MS_PER_NAME] = {
    "primary", "degraded", "failopen", "nodata", "error", "ecs_zero", "ecs_scoped" };

const char *metrics_slot_name(enum metrics_name_slot s)
{
    return (unsigned)s < MS_PER_NAME ? slot_names[s] : "?";
}

int metrics_init(unsigned io_threads, const char *version)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    pthread_mutex_lock(&G.lock);
    G.nthreads = io_threads;
    snprintf(G.version, sizeof G.version, "%s", version);
    G.start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    G.ready = true;
    pthread_mutex_unlock(&G.lock);
    return 0;
}

static void cum_free(struct cum *c)
{
    kt_free(&c->answers);
    kt_free(&c->names);
    kt_free(&c->rum_prov);
    memset(c, 0, sizeof *c);
}

void metrics_shutdown(void)
{
    pthread_mutex_lock(&G.lock);
    cum_free(&G.cum);
    kt_free(&G.failopen_seen);
    while (G.rum) {
        struct rum_live *r = G.rum;
        G.rum = r->next;
        free(r);
    }
    G.live = NULL;   /* sets belong to their snapshots */
    G.ready = false;
    G.reload_ok = G.reload_failed = 0;
    pthread_mutex_unlock(&G.lock);
}

/* ---- per-snapshot steering sets ----------------------------------------- */

static void steer_free(struct metrics_steer *m)
{
    if (!m)
        return;
    for (unsigned t = 0; m->blocks && t < m->nthreads; t++)
        free((void *)m->blocks[t]);
    free(m->blocks);
    for (size_t i = 0; i < m->nnames; i++) {
        if (m->name_text)
            free(m->name_text[i]);
        if (m->rule_label && m->rule_label[i]) {
            for (size_t r = 0; r < m->nrules[i]; r++)
                free(m->rule_label[i][r]);
            free(m->rule_label[i]);
        }
    }
    for (size_t i = 0; m->prov_name && i < m->nprov; i++)
        free(m->prov_name[i]);
    free(m->name_text);
    free(m->prov_name);
    free(m->rule_label);
    free(m->base);
    free(m->nrules);
    m->magic = 0;
    free(m);
}

/* Rule labels of one name: steer_rule_label (steering/labels.h; the status
 * page matches on the same labels), or "any" for every rule when the sets
 * are collapsed. */
static int label_rules(struct metrics_steer *m, const struct steer_name *n, size_t i, bool collapsed)
{
    size_t nr = m->nrules[i];
    m->rule_label[i] = calloc(nr, sizeof *m->rule_label[i]);
    if (!m->rule_label[i])
        return -1;
    for (size_t r = 0; r < nr; r++) {
        char buf[STEER_RULE_LABEL_MAX];
        if (collapsed)
            snprintf(buf, sizeof buf, "any");
        else
            steer_rule_label(n, r, buf, sizeof buf);
        if (!(m->rule_label[i][r] = strdup(buf)))
            return -1;
    }
    return 0;
}

struct metrics_steer *metrics_steer_new(const struct steer_policy *p)
{
    struct metrics_steer *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->magic = METRICS_STEER_MAGIC;
    m->nnames = p ? steer_policy_name_count(p) : 0;
    m->nprov = p ? steer_policy_provider_count(p) : 0;
    size_t nn = m->nnames ? m->nnames : 1;
    m->base = calloc(nn, sizeof *m->base);
    m->nrules = calloc(nn, sizeof *m->nrules);
    m->name_text = calloc(nn, sizeof *m->name_text);
    m->rule_label = calloc(nn, sizeof *m->rule_label);
    m->prov_name = calloc(m->nprov ? m->nprov : 1, sizeof *m->prov_name);
    if (!m->base || !m->nrules || !m->name_text || !m->rule_label || !m->prov_name)
        goto fail;
    size_t full = 0;
    for (size_t i = 0; i < m->nnames; i++)
        full += steer_name_rule_count(steer_policy_name(p, i)) * m->nprov;
    size_t per_name = m->nnames * MS_PER_NAME;
    bool collapsed = full + per_name > METRICS_MAX_SLOTS;
    if (collapsed)
        log_warn("metrics: %zu names x rules x providers is too many to count per rule; "
                 "answers are counted per name and provider (rule=\"any\")", full);
    for (size_t i = 0; i < m->nnames; i++) {
        const struct steer_name *n = steer_policy_name(p, i);
        size_t nr = collapsed ? 1 : steer_name_rule_count(n);
        m->nrules[i] = (uint16_t)nr;
        m->base[i] = m->ncells;
        m->ncells += nr * m->nprov;
        if (!(m->name_text[i] = strdup(steer_name_text(n))) || label_rules(m, n, i, collapsed) < 0)
            goto fail;
    }
    if (m->ncells + per_name > METRICS_MAX_SLOTS) {
        log_warn("metrics: %zu names x providers is too many: answers are not counted per provider",
                 m->nnames);
        m->ncells = 0;
    }
    for (size_t i = 0; i < m->nprov; i++)
        if (!(m->prov_name[i] = strdup(steer_provider_name(p, i))))
            goto fail;
    /* 8 slots of 8 bytes = one 64-byte line: blocks never share a line */
    m->stride = (m->ncells + per_name + 7) / 8 * 8;
    return m;
fail:
    steer_free(m);
    return NULL;
}

/* One block per I/O thread, allocated when the set goes live (the thread
 * count is known only once metrics_init ran, after the first config was
 * built). On failure the set counts nothing (nthreads stays 0). */
static void steer_alloc_blocks(struct metrics_steer *m, unsigned nthreads)
{
    if (!nthreads || !(m->blocks = calloc(nthreads, sizeof *m->blocks)))
        goto fail;
    size_t bytes = (m->stride ? m->stride : 8) * sizeof(uint64_t);
    for (unsigned t = 0; t < nthreads; t++) {
        m->blocks[t] = aligned_alloc(64, bytes);
        if (!m->blocks[t]) {
            for (unsigned u = 0; u < t; u++)
                free((void *)m->blocks[u]);
            goto fail;
        }
        memset((void *)m->blocks[t], 0, bytes);
    }
    m->nthreads = nthreads;
    return;
fail:
    free(m->blocks);
    m->blocks = NULL;
    if (nthreads)
        log_err("metrics: out of memory: steering answers of this configuration are not counted");
}

void metrics_steer_register(struct metrics_steer *m)
{
    if (!m || m->registered)
        return;
    pthread_mutex_lock(&G.lock);
    if (!m->blocks)
        steer_alloc_blocks(m, G.nthreads);
    m->next = G.live;
    G.live = m;
    m->registered = true;
    pthread_mutex_unlock(&G.lock);
}

static uint64_t sum_slot(const struct metrics_steer *m, size_t slot)
{
    uint64_t s = 0;
    for (unsigned t = 0; t < m->nthreads; t++)
        s += atomic_load_explicit(&m->blocks[t][slot], memory_order_relaxed);
    return s;
}

/* Adds a set's counters to answers/names tables. zeros: keep label sets
 * whose count is 0 (the current config's per-name series are always
 * shown; a retired set's zero cells are not worth keeping). */
static int steer_add(const struct metrics_steer *m, struct ktab *answers, struct ktab *names, bool zeros)
{
    for (size_t i = 0; i < m->nnames; i++) {
        for (size_t r = 0; r < m->nrules[i] && m->ncells; r++)
            for (size_t pv = 0; pv < m->nprov; pv++) {
                uint64_t v = sum_slot(m, m->base[i] + r * m->nprov + pv);
                if (v && kt_add(answers, m->name_text[i], m->prov_name[pv], m->rule_label[i][r], v) < 0)
                    return -1;
            }
        for (unsigned s = 0; s < MS_PER_NAME; s++) {
            uint64_t v = sum_slot(m, m->ncells + i * MS_PER_NAME + s);
            if ((v || zeros) && kt_add(names, m->name_text[i], slot_names[s], NULL, v) < 0)
                return -1;
        }
    }
    return 0;
}

void metrics_steer_retire(struct metrics_steer **mp)
{
    struct metrics_steer *m = *mp;
    if (!m)
        return;
    if (m->magic != METRICS_STEER_MAGIC)
        abort();
    if (m->registered) {
        pthread_mutex_lock(&G.lock);
        if (steer_add(m, &G.cum.answers, &G.cum.names, false) < 0)
            log_err("metrics: out of memory folding counters: some counts are lost");
        for (struct metrics_steer **pp = &G.live; *pp; pp = &(*pp)->next)
            if (*pp == m) {
                *pp = m->next;
                break;
            }
        pthread_mutex_unlock(&G.lock);
    }
    steer_free(m);
    *mp = NULL;
}

/* ---- RUM ------------------------------------------------------------------ */

void metrics_rum_attach(struct rum_collector *c, const struct steer_policy *p)
{
    struct rum_live *r = calloc(1, sizeof *r);
    if (!c || !r) {
        free(r);
        if (c)
            log_err("metrics: out of memory: RUM counters of this collector are not exported");
        return;
    }
    r->c = c;
    r->p = p;
    pthread_mutex_lock(&G.lock);
    r->next = G.rum;
    G.rum = r;
    pthread_mutex_unlock(&G.lock);
}

/* Adds one collector's counters into c (a cumulative table). */
static int rum_add(struct cum *c, const struct rum_live *r)
{
    struct rum_counters k;
    rum_collector_counters(r->c, &k);
    c->rum_beacons += k.beacons;
    c->rum_meas += k.measurements;
    for (int i = 0; i < RUM_NREASONS; i++)
        c->rum_rejected[i] += k.rejected[i];
    for (int i = 0; i < RUM_NKINDS; i++)
        c->rum_kind[i] += k.kind[i];
    size_t np = r->p ? steer_policy_provider_count(r->p) : 0;
    for (size_t i = 0; i < np && i < RUM_COUNTED_PROVIDERS; i++) {
        uint64_t v = rum_collector_provider_count(r->c, (unsigned)i);
        if (kt_add(&c->rum_prov, steer_provider_name(r->p, i), NULL, NULL, v) < 0)
            return -1;
    }
    return 0;
}

void metrics_rum_detach(struct rum_collector *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&G.lock);
    for (struct rum_live **pp = &G.rum; *pp; pp = &(*pp)->next) {
        if ((*pp)->c != c)
            continue;
        struct rum_live *r = *pp;
        *pp = r->next;
        if (rum_add(&G.cum, r) < 0)
            log_err("metrics: out of memory folding RUM counters: some counts are lost");
        free(r);
        break;
    }
    pthread_mutex_unlock(&G.lock);
}

void metrics_reload_result(bool ok)
{
    pthread_mutex_lock(&G.lock);
    if (ok)
        G.reload_ok++;
    else
        G.reload_failed++;
    pthread_mutex_unlock(&G.lock);
}

/* ---- rendering ---------------------------------------------------------- */

static void one_label(struct prom_labels *l, const char *k, const char *v)
{
    prom_labels_init(l);
    prom_label(l, k, v);
}

static void render_dns(struct evbuffer *b, const struct dns_server *srv)
{
    static struct dns_stats st;   /* large; only under G.lock */
    struct prom_labels l;
    dns_server_stats(srv, &st);
#define LD(f) atomic_load_explicit(&st.f, memory_order_relaxed)
    prom_family(b, "steer_dns_queries_total", PROM_COUNTER, "DNS queries received, by transport and query type.");
    static const char *const tr[2] = { "udp", "tcp" };
    for (int t = 0; t < 2; t++)
        for (unsigned q = 0; q < DNS_QT_N; q++) {
            prom_labels_init(&l);
            prom_label(&l, "transport", tr[t]);
            prom_label(&l, "qtype", dns_qt_index_name(q));
            prom_u64(b, "steer_dns_queries_total", &l, LD(qtype[t][q]));
        }
    prom_family(b, "steer_dns_responses_total", PROM_COUNTER, "DNS responses sent, by RCODE.");
    for (int i = 0; i < 17; i++) {
        one_label(&l, "rcode", dns_rcode_name((unsigned)i));
        prom_u64(b, "steer_dns_responses_total", &l, LD(rcode[i]));
    }
    prom_family(b, "steer_dns_dropped_total", PROM_COUNTER, "Packets dropped without an answer (too short, responses).");
    prom_u64(b, "steer_dns_dropped_total", NULL, LD(dropped));
    prom_family(b, "steer_dns_truncated_total", PROM_COUNTER, "UDP responses sent truncated (TC=1).");
    prom_u64(b, "steer_dns_truncated_total", NULL, LD(truncated));
    prom_family(b, "steer_dns_ecs_queries_total", PROM_COUNTER,
                "Responses that echoed an EDNS Client Subnet option (RFC 7871).");
    prom_u64(b, "steer_dns_ecs_queries_total", NULL, LD(ecs));
    prom_family(b, "steer_dns_dynamic_total", PROM_COUNTER, "Responses built by the steering engine.");
    prom_u64(b, "steer_dns_dynamic_total", NULL, LD(dynamic));
    prom_family(b, "steer_dns_tcp_connections_total", PROM_COUNTER,
                "TCP connections: accepted, refused (pool full) and closed idle.");
    one_label(&l, "result", "accepted");
    prom_u64(b, "steer_dns_tcp_connections_total", &l, LD(tcp_accepted));
    one_label(&l, "result", "refused");
    prom_u64(b, "steer_dns_tcp_connections_total", &l, LD(tcp_refused));
    one_label(&l, "result", "idle_timeout");
    prom_u64(b, "steer_dns_tcp_connections_total", &l, LD(tcp_timeouts));
    prom_family(b, "steer_dns_io_errors_total", PROM_COUNTER, "Socket errors on the DNS listeners.");
    prom_u64(b, "steer_dns_io_errors_total", NULL, LD(io_errors));
    double bounds[DNS_LAT_BOUNDS];
    uint64_t counts[DNS_LAT_BOUNDS + 1];
    for (int i = 0; i < DNS_LAT_BOUNDS; i++)
        bounds[i] = dns_lat_bounds_ns[i] / 1e9;
    for (int i = 0; i <= DNS_LAT_BOUNDS; i++)
        counts[i] = LD(lat[i]);
    prom_family(b, "steer_dns_query_duration_seconds", PROM_HISTOGRAM,
                "Time from receiving a query to sending its answer (per recvmmsg batch over UDP, per read over TCP).");
    prom_histogram(b, "steer_dns_query_duration_seconds", NULL, bounds, counts, DNS_LAT_BOUNDS,
                   LD(lat_sum_ns) / 1e9);
#undef LD
}

static void render_steering(struct evbuffer *b, const struct ktab *answers, const struct ktab *names)
{
    struct prom_labels l;
    prom_family(b, "steer_answers_total", PROM_COUNTER,
                "Steered answers by name, chosen provider and matched rule (\"default\", or the rule's first pool).");
    for (size_t i = 0; i < answers->n; i++) {
        prom_labels_init(&l);
        prom_label(&l, "name", answers->e[i].k[0]);
        prom_label(&l, "provider", answers->e[i].k[1]);
        prom_label(&l, "rule", answers->e[i].k[2]);
        prom_u64(b, "steer_answers_total", &l, answers->e[i].v);
    }
    prom_family(b, "steer_decisions_total", PROM_COUNTER,
                "Steering decisions by name and outcome (primary, degraded, failopen, nodata, error).");
    for (size_t i = 0; i < names->n; i++) {
        const struct kent *e = &names->e[i];
        for (unsigned s = 0; s < MS_DECISIONS; s++)
            if (!strcmp(e->k[1], slot_names[s])) {
                prom_labels_init(&l);
                prom_label(&l, "name", e->k[0]);
                prom_label(&l, "reason", e->k[1]);
                prom_u64(b, "steer_decisions_total", &l, e->v);
            }
    }
    prom_family(b, "steer_failopen_total", PROM_COUNTER,
                "Answers given while every pool of the name was down (fail-open: health ignored).");
    for (size_t i = 0; i < names->n; i++)
        if (!strcmp(names->e[i].k[1], "failopen")) {
            one_label(&l, "name", names->e[i].k[0]);
            prom_u64(b, "steer_failopen_total", &l, names->e[i].v);
        }
    prom_family(b, "steer_ecs_answers_total", PROM_COUNTER,
                "Steered answers to queries with ECS, by whether the returned scope was zero.");
    for (size_t i = 0; i < names->n; i++) {
        const struct kent *e = &names->e[i];
        bool z = !strcmp(e->k[1], "ecs_zero"), nz = !strcmp(e->k[1], "ecs_scoped");
        if (!z && !nz)
            continue;
        prom_labels_init(&l);
        prom_label(&l, "name", e->k[0]);
        prom_label(&l, "scope", z ? "zero" : "nonzero");
        prom_u64(b, "steer_ecs_answers_total", &l, e->v);
    }
}

static void render_health(struct evbuffer *b, const struct health_stats *hs, const struct steer_policy *p)
{
    struct prom_labels l;
    prom_family(b, "steer_provider_health", PROM_GAUGE, "Health of each provider from its checks: 1 for the current state.");
    for (size_t i = 0; i < hs->nproviders; i++)
        for (unsigned s = 0; s < HEALTH_STATES; s++) {
            prom_labels_init(&l);
            prom_label(&l, "provider", hs->providers[i].name);
            prom_label(&l, "state", prov_health_name((uint8_t)s));
            prom_u64(b, "steer_provider_health", &l, hs->providers[i].health == s);
        }
    prom_family(b, "steer_provider_admin", PROM_GAUGE, "Operator override of each provider: 1 for the override in effect.");
    for (size_t i = 0; i < hs->nproviders; i++)
        for (unsigned a = ADMIN_NONE; a <= ADMIN_DRAIN; a++) {
            prom_labels_init(&l);
            prom_label(&l, "provider", hs->providers[i].name);
            prom_label(&l, "override", prov_admin_name((uint8_t)a));
            prom_u64(b, "steer_provider_admin", &l, hs->providers[i].admin == a);
        }
    prom_family(b, "steer_provider_weight", PROM_GAUGE,
                "Weight of a provider in a pool of a steered name: the operator's override if set, else the config's.");
    for (size_t i = 0; p && i < steer_policy_name_count(p); i++) {
        const struct steer_name *n = steer_policy_name(p, i);
        for (size_t pl = 0; pl < steer_name_pool_count(n); pl++)
            for (size_t k = 0; k < steer_pool_member_count(n, pl); k++) {
                uint32_t w;
                uint16_t id = steer_pool_member(n, pl, k, &w);
                const char *pn = steer_provider_name(p, id);
                for (size_t h = 0; h < hs->nproviders; h++)
                    if (!strcmp(hs->providers[h].name, pn) && hs->providers[h].weight != PROV_WEIGHT_NONE)
                        w = hs->providers[h].weight;
                prom_labels_init(&l);
                prom_label(&l, "name", steer_name_text(n));
                prom_label(&l, "pool", steer_pool_name(n, pl));
                prom_label(&l, "provider", pn);
                prom_u64(b, "steer_provider_weight", &l, w);
            }
    }
    prom_family(b, "steer_health_transitions_total", PROM_COUNTER, "Provider health changes, by the new state.");
    for (size_t i = 0; i < hs->nproviders; i++)
        for (unsigned s = 0; s < HEALTH_STATES; s++) {
            prom_labels_init(&l);
            prom_label(&l, "provider", hs->providers[i].name);
            prom_label(&l, "to", prov_health_name((uint8_t)s));
            prom_u64(b, "steer_health_transitions_total", &l, hs->providers[i].transitions_to[s]);
        }
    prom_family(b, "steer_health_checks_total", PROM_COUNTER, "Health check runs by check and result.");
    for (size_t i = 0; i < hs->nchecks; i++) {
        const struct health_check_stats *c = &hs->checks[i];
        prom_labels_init(&l);
        prom_label(&l, "check", c->name);
        prom_label(&l, "result", "ok");
        prom_u64(b, "steer_health_checks_total", &l, c->runs - c->failures);
        prom_labels_init(&l);
        prom_label(&l, "check", c->name);
        prom_label(&l, "result", "fail");
        prom_u64(b, "steer_health_checks_total", &l, c->failures);
    }
    prom_family(b, "steer_health_check_up", PROM_GAUGE, "State of each check after hysteresis: 1 up, 0 down or unknown.");
    for (size_t i = 0; i < hs->nchecks; i++) {
        one_label(&l, "check", hs->checks[i].name);
        prom_u64(b, "steer_health_check_up", &l, hs->checks[i].state == PROV_UP);
    }
    double bounds[HEALTH_LAT_BUCKETS - 1];
    for (int i = 0; i < HEALTH_LAT_BUCKETS - 1; i++)
        bounds[i] = health_lat_bounds_ms[i] / 1e3;
    prom_family(b, "steer_health_check_duration_seconds", PROM_HISTOGRAM, "Duration of each health check run.");
    for (size_t i = 0; i < hs->nchecks; i++) {
        one_label(&l, "check", hs->checks[i].name);
        prom_histogram(b, "steer_health_check_duration_seconds", &l, bounds, hs->checks[i].lat_count,
                       HEALTH_LAT_BUCKETS - 1, hs->checks[i].lat_sum_us / 1e6);
    }
    prom_family(b, "steer_health_publications_total", PROM_COUNTER, "Provider state tables published to the query path.");
    prom_u64(b, "steer_health_publications_total", NULL, hs->publications);
}

static void render_rum(struct evbuffer *b, const struct cum *rc)
{
    struct prom_labels l;
    prom_family(b, "steer_rum_samples_total", PROM_COUNTER,
                "RUM measurements by provider. Rejections are per beacon and cannot be attributed to a provider: "
                "see steer_rum_beacons_total.");
    for (size_t i = 0; i < rc->rum_prov.n; i++) {
        prom_labels_init(&l);
        prom_label(&l, "provider", rc->rum_prov.e[i].k[0]);
        prom_label(&l, "result", "accepted");
        prom_u64(b, "steer_rum_samples_total", &l, rc->rum_prov.e[i].v);
    }
    prom_family(b, "steer_rum_beacons_total", PROM_COUNTER, "RUM beacons by result and rejection reason.");
    one_label(&l, "result", "accepted");
    prom_u64(b, "steer_rum_beacons_total", &l, rc->rum_beacons);
    for (int i = 1; i < RUM_NREASONS; i++) {
        prom_labels_init(&l);
        prom_label(&l, "result", "rejected");
        prom_label(&l, "reason", rum_reason_name((enum rum_reason)i));
        prom_u64(b, "steer_rum_beacons_total", &l, rc->rum_rejected[i]);
    }
    prom_family(b, "steer_rum_measurements_total", PROM_COUNTER, "Accepted RUM measurements by kind.");
    for (int i = 0; i < RUM_NKINDS; i++) {
        one_label(&l, "kind", rum_kind_name((enum rum_kind)i));
        prom_u64(b, "steer_rum_measurements_total", &l, rc->rum_kind[i]);
    }
}

static void render_process(struct evbuffer *b, const struct metrics_sources *src)
{
    struct prom_labels l;
    struct querylog_counters qc;
    querylog_counters(src->qlog, &qc);
    prom_family(b, "steer_querylog_records_total", PROM_COUNTER, "Query log lines written (server.query_log).");
    prom_u64(b, "steer_querylog_records_total", NULL, qc.written);
    prom_family(b, "steer_querylog_dropped_total", PROM_COUNTER,
                "Sampled queries not logged because their thread's ring was full.");
    prom_u64(b, "steer_querylog_dropped_total", NULL, qc.dropped);
    prom_family(b, "steer_snapshot_reloads_total", PROM_COUNTER, "Configuration reloads (SIGHUP or control API) by result.");
    one_label(&l, "result", "ok");
    prom_u64(b, "steer_snapshot_reloads_total", &l, G.reload_ok);
    one_label(&l, "result", "failed");
    prom_u64(b, "steer_snapshot_reloads_total", &l, G.reload_failed);
    prom_family(b, "steer_snapshot_generation", PROM_GAUGE, "Generation of the configuration snapshot being served.");
    prom_u64(b, "steer_snapshot_generation", NULL, src->generation);
    prom_family(b, "steer_snapshot_loaded_timestamp_seconds", PROM_GAUGE, "When the served snapshot was loaded (Unix time).");
    prom_u64(b, "steer_snapshot_loaded_timestamp_seconds", NULL, (uint64_t)src->loaded_at);
    prom_family(b, "steer_build_info", PROM_GAUGE, "Build information (always 1).");
    one_label(&l, "version", G.version);
    prom_u64(b, "steer_build_info", &l, 1);
    prom_family(b, "process_start_time_seconds", PROM_GAUGE, "Start time of the process since the Unix epoch.");
    prom_double(b, "process_start_time_seconds", NULL, G.start_time);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        prom_family(b, "process_cpu_seconds_total", PROM_COUNTER, "User and system CPU time of the process.");
        prom_double(b, "process_cpu_seconds_total", NULL,
                    (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                    ru.ru_stime.tv_usec / 1e6);
    }
}

/* Cumulative + live counters, under G.lock. */
static int snapshot_totals(struct cum *out, bool zeros)
{
    memset(out, 0, sizeof *out);
    if (kt_merge(&out->answers, &G.cum.answers) < 0 || kt_merge(&out->names, &G.cum.names) < 0 ||
        kt_merge(&out->rum_prov, &G.cum.rum_prov) < 0)
        return -1;
    out->rum_beacons = G.cum.rum_beacons;
    out->rum_meas = G.cum.rum_meas;
    memcpy(out->rum_rejected, G.cum.rum_rejected, sizeof out->rum_rejected);
    memcpy(out->rum_kind, G.cum.rum_kind, sizeof out->rum_kind);
    for (const struct metrics_steer *m = G.live; m; m = m->next)
        if (steer_add(m, &out->answers, &out->names, zeros) < 0)
            return -1;
    for (const struct rum_live *r = G.rum; r; r = r->next)
        if (rum_add(out, r) < 0)
            return -1;
    return 0;
}

int metrics_render(struct evbuffer *out, const struct metrics_sources *src)
{
    struct cum tot;
    pthread_mutex_lock(&G.lock);
    int rc = snapshot_totals(&tot, true);
    if (rc == 0) {
        if (src->dns)
            render_dns(out, src->dns);
        render_steering(out, &tot.answers, &tot.names);
        if (src->health)
            render_health(out, src->health, src->policy);
        render_rum(out, &tot);
        render_process(out, src);
    }
    pthread_mutex_unlock(&G.lock);
    cum_free(&tot);
    return rc;
}

void metrics_failopen_log(void)
{
    struct cum tot;
    pthread_mutex_lock(&G.lock);
    if (snapshot_totals(&tot, false) == 0) {
        for (size_t i = 0; i < tot.names.n; i++) {
            const struct kent *e = &tot.names.e[i];
            if (strcmp(e->k[1], "failopen"))
                continue;
            const char *key[KT_PARTS] = { e->k[0], "", "" };
            const struct kent *seen = kt_find(&G.failopen_seen, key);
            uint64_t before = seen ? seen->v : 0;
            if (e->v > before) {
                log_warn("fail-open for %s: %llu answers in the last interval (every pool down; health ignored)",
                         e->k[0], (unsigned long long)(e->v - before));
                kt_add(&G.failopen_seen, e->k[0], NULL, NULL, e->v - before);
            }
        }
    }
    pthread_mutex_unlock(&G.lock);
    cum_free(&tot);
}
