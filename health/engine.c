/* health/engine.c: the health-check thread (see health.h). */
#include "health/health.h"

#include <ares.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include "common/log.h"
#include "health/probe.h"

#define ENGINE_MAGIC 0x4865616cu   /* "Heal": checked on every API entry */

const uint32_t health_lat_bounds_ms[HEALTH_LAT_BUCKETS - 1] = {
    1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500 };

/* ---- types ------------------------------------------------------------ */

struct hcheck {
    struct health_check_cfg cfg;     /* own copy; probe.cfg points here */
    struct health_engine *e;
    struct hyst h;
    struct probe probe;
    struct event *timer;
    uint64_t due_us;                 /* planned start of the current/next run */
    uint32_t *provs;                 /* providers using this check (malloced) */
    uint32_t nprovs;
    bool used;                       /* bookkeeping during apply */
    /* counters, under e->lock */
    uint16_t last_result;
    uint64_t runs, failures, transitions, last_latency_us, lat_sum_us;
    uint64_t lat_count[HEALTH_LAT_BUCKETS];
};

struct hprov {
    char name[HC_NAME_MAX];
    uint32_t *checks;                /* indexes into e->checks (malloced) */
    uint32_t nchecks;
    char **check_names;              /* plan only: names to resolve */
    uint8_t health;
    uint16_t reason;
    int failing;                     /* index of the first down check, or -1 */
    uint64_t transitions, since_ms;
    uint64_t transitions_to[HEALTH_STATES];   /* by new state (enum prov_health), for metrics */
};

struct sslc {
    bool verify;
    char ca_file[HC_FILE_MAX];
    SSL_CTX *ctx;
};

/* Everything a (re)configuration needs, prepared on the caller's thread. */
struct plan {
    struct health_check_cfg *checks;
    size_t nchecks;
    uint32_t publish_delay_ms;
    struct hprov *provs;
    size_t nprovs;
    struct sslc *sslc;
    size_t nsslc;
};

struct health_engine {
    uint32_t magic;
    pthread_t thread;
    bool thread_started;
    struct event_base *base;
    struct event *wake, *publish_ev;
    pthread_mutex_t lock;            /* state below marked (L) */
    pthread_cond_t cond;
    pthread_mutex_t admin_lock;      /* serializes override writers (file I/O) */
    struct health_overrides ovr;     /* (L) */
    char state_file[HC_FILE_MAX];    /* (L) */
    struct plan *pending;            /* (L) */
    uint64_t req_seq, done_seq;      /* (L) */
    bool stopping;                   /* (L) */
    struct hcheck **checks;          /* (L) written by the engine thread only */
    size_t nchecks;
    struct hprov *provs;             /* (L) idem */
    size_t nprovs;
    uint64_t publications;           /* (L) */
    uint64_t version;                /* (L) */
    /* engine thread only */
    struct prov_state_table *table;  /* RCU-published */
    bool publish_pending;
    uint64_t last_publish_us;
    uint32_t publish_delay_ms;
    struct sslc *sslc;
    size_t nsslc;
    uint64_t rng;
};

/* ---- small helpers ---------------------------------------------------- */

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t rng_next(struct health_engine *e)   /* xorshift64: spreading timers only */
{
    uint64_t x = e->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    e->rng = x;
    return x;
}

static void set_timer(struct event *ev, uint64_t delay_us)
{
    struct timeval tv = { (time_t)(delay_us / 1000000u), (suseconds_t)(delay_us % 1000000u) };
    evtimer_add(ev, &tv);
}

static void plan_free(struct plan **pp)
{
    struct plan *p = *pp;
    if (!p)
        return;
    for (size_t i = 0; i < p->nprovs; i++) {
        free(p->provs[i].checks);
        free(p->provs[i].check_names);
    }
    free(p->provs);
    free(p->checks);
    for (size_t i = 0; i < p->nsslc; i++)
        SSL_CTX_free(p->sslc[i].ctx);
    free(p->sslc);
    free(p);
    *pp = NULL;
}

static SSL_CTX *sslc_find(struct sslc *v, size_t n, bool verify, const char *ca)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].verify == verify && strcmp(v[i].ca_file, ca) == 0)
            return v[i].ctx;
    return NULL;
}

/* ---- planning (caller's thread) -------------------------------------- */

enum health_result health_targets_validate(const struct health_config *cfg,
                                           const struct health_target *targets, size_t n,
                                           char *err, size_t errsz)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = targets[i].provider;
        if (!name || !health_name_valid(name)) {
            snprintf(err, errsz, "provider %zu: bad name '%s'", i, name ? name : "(null)");
            return HEALTH_ERR_CONFIG;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(targets[j].provider, name) == 0) {
                snprintf(err, errsz, "provider '%s' listed twice", name);
                return HEALTH_ERR_CONFIG;
            }
        for (size_t k = 0; k < targets[i].nchecks; k++) {
            const char *c = targets[i].checks[k];
            if (!c || !health_config_find(cfg, c)) {
                snprintf(err, errsz, "provider '%s': unknown check '%s'", name, c ? c : "(null)");
                return HEALTH_ERR_CONFIG;
            }
            for (size_t m = 0; m < k; m++)
                if (strcmp(targets[i].checks[m], c) == 0) {
                    snprintf(err, errsz, "provider '%s': check '%s' listed twice", name, c);
                    return HEALTH_ERR_CONFIG;
                }
        }
    }
    return HEALTH_OK;
}

static enum health_result plan_build(const struct health_config *cfg, const struct health_target *t,
                                     size_t n, struct plan **out, char *err, size_t errsz)
{
    enum health_result r = health_targets_validate(cfg, t, n, err, errsz);
    if (r != HEALTH_OK)
        return r;
    struct plan *p = calloc(1, sizeof *p);
    if (!p)
        goto nomem;
    p->publish_delay_ms = cfg->publish_delay_ms;
    p->nchecks = cfg->nchecks;
    p->checks = calloc(cfg->nchecks + 1, sizeof *p->checks);
    p->provs = calloc(n + 1, sizeof *p->provs);
    p->sslc = calloc(cfg->nchecks + 1, sizeof *p->sslc);
    if (!p->checks || !p->provs || !p->sslc)
        goto nomem;
    if (cfg->nchecks)
        memcpy(p->checks, cfg->checks, cfg->nchecks * sizeof *p->checks);
    for (size_t i = 0; i < cfg->nchecks; i++) {
        const struct health_check_cfg *c = &cfg->checks[i];
        if (c->type != HC_HTTPS || sslc_find(p->sslc, p->nsslc, c->verify, c->ca_file))
            continue;
        char e2[256];
        SSL_CTX *ctx = probe_ssl_ctx_new(c->verify, c->ca_file, e2, sizeof e2);
        if (!ctx) {
            snprintf(err, errsz, "check '%s': %s", c->name, e2);
            plan_free(&p);
            return HEALTH_ERR_CONFIG;
        }
        p->sslc[p->nsslc].verify = c->verify;
        snprintf(p->sslc[p->nsslc].ca_file, sizeof p->sslc[p->nsslc].ca_file, "%s", c->ca_file);
        p->sslc[p->nsslc++].ctx = ctx;
    }
    p->nprovs = n;
    for (size_t i = 0; i < n; i++) {
        struct hprov *hp = &p->provs[i];
        snprintf(hp->name, sizeof hp->name, "%s", t[i].provider);
        hp->nchecks = (uint32_t)t[i].nchecks;
        hp->checks = calloc(t[i].nchecks + 1, sizeof *hp->checks);
        if (!hp->checks)
            goto nomem;
        for (size_t k = 0; k < t[i].nchecks; k++) {
            const struct health_check_cfg *c = health_config_find(cfg, t[i].checks[k]);
            hp->checks[k] = (uint32_t)(c - cfg->checks);
        }
        hp->health = hp->nchecks ? PROV_UNKNOWN : PROV_UP;
        hp->failing = -1;
    }
    *out = p;
    return HEALTH_OK;
nomem:
    plan_free(&p);
    snprintf(err, errsz, "out of memory");
    return HEALTH_ERR_SYSTEM;
}

/* ---- publication (engine thread) ------------------------------------- */

static void publish_now(struct health_engine *e)
{
    pthread_mutex_lock(&e->lock);
    struct prov_state_table *t = malloc(sizeof *t + (e->nprovs + 1) * sizeof t->s[0]);
    if (!t) {
        pthread_mutex_unlock(&e->lock);
        log_ratelimited(LOG_LVL_ERR, "health: out of memory building the state table");
        return;
    }
    t->version = ++e->version;
    t->n = (uint32_t)e->nprovs;
    t->layout = PROV_LAYOUT_INIT;
    for (size_t i = 0; i < e->nprovs; i++) {
        const struct hprov *p = &e->provs[i];
        t->layout = prov_layout_step(t->layout, p->name);
        const struct health_override *o = health_overrides_get(&e->ovr, p->name);
        t->s[i].health = p->health;
        t->s[i].reason = p->reason;
        t->s[i].admin = o ? o->admin : ADMIN_NONE;
        t->s[i].weight = o ? o->weight : PROV_WEIGHT_NONE;
    }
    e->publications++;
    pthread_mutex_unlock(&e->lock);
    struct prov_state_table *old = e->table;
    rcu_assign_pointer(e->table, t);
    e->last_publish_us = probe_now_us();
    if (old) {
        /* waits only for readers inside a critical section: a few microseconds */
        urcu_memb_synchronize_rcu();
        free(old);
    }
}

static void publish_cb(evutil_socket_t fd, short what, void *arg)
{
    struct health_engine *e = arg;
    e->publish_pending = false;
    publish_now(e);
}

/* Coalesces changes: at most one publication per publish_delay_ms. */
static void request_publish(struct health_engine *e)
{
    if (e->publish_pending)
        return;
    e->publish_pending = true;
    uint64_t now = probe_now_us(), next = e->last_publish_us + (uint64_t)e->publish_delay_ms * 1000u;
    set_timer(e->publish_ev, next > now ? next - now : 0);
}

/* ---- check results (engine thread) ----------------------------------- */

/* Recomputes provider i from its checks; returns true if its health changed. Under lock. */
static bool prov_update(struct health_engine *e, struct hprov *p)
{
    uint8_t health = PROV_UP;
    uint16_t reason = HR_NONE;
    int failing = -1;
    bool unknown = false;
    for (uint32_t k = 0; k < p->nchecks && health != PROV_DOWN; k++) {
        const struct hcheck *c = e->checks[p->checks[k]];
        if (c->h.state == PROV_DOWN) {
            health = PROV_DOWN;
            reason = c->h.reason;
            failing = (int)p->checks[k];
        } else if (c->h.state != PROV_UP) {
            unknown = true;
        }
    }
    if (health != PROV_DOWN && unknown)
        health = PROV_UNKNOWN;
    bool changed = health != p->health;
    if (changed) {
        char rb[64];
        if (health == PROV_DOWN)
            log_warn("health: provider '%s' %s -> down (check '%s': %s)", p->name, prov_health_name(p->health),
                     e->checks[failing]->cfg.name, health_reason_str(reason, rb, sizeof rb));
        else
            log_info("health: provider '%s' %s -> %s (%s)", p->name, prov_health_name(p->health),
                     prov_health_name(health),
                     health == PROV_UP ? "every check passes" : "a check has no verdict yet");
        p->transitions++;
        if (health < HEALTH_STATES)
            p->transitions_to[health]++;
        p->since_ms = wall_ms();
    }
    bool reason_changed = reason != p->reason;
    p->health = health;
    p->reason = reason;
    p->failing = failing;
    return changed || reason_changed;
}

static unsigned lat_bucket(uint64_t us)
{
    unsigned i = 0;
    while (i < HEALTH_LAT_BUCKETS - 1 && us > (uint64_t)health_lat_bounds_ms[i] * 1000u)
        i++;
    return i;
}

static void schedule_next(struct hcheck *c)
{
    struct health_engine *e = c->e;
    uint64_t now = probe_now_us();
    /* a failure on a check that is not down yet is confirmed (or refuted)
     * fast_interval later: removal takes about one interval plus
     * (fall - 1) fast intervals instead of fall intervals. Recovery keeps
     * the normal pace on purpose. */
    bool confirming = c->h.fail_run > 0 && c->h.state != PROV_DOWN;
    uint64_t next = c->due_us + (uint64_t)(confirming ? c->cfg.fast_ms : c->cfg.interval_ms) * 1000u;
    if (c->cfg.jitter_ms && !confirming) {
        uint64_t span = (uint64_t)c->cfg.jitter_ms * 2000u + 1;
        next = next + rng_next(e) % span - (uint64_t)c->cfg.jitter_ms * 1000u;
    }
    if (next < now)
        next = now;   /* late (slow check or busy loop): run now, do not burst */
    c->due_us = next;
    set_timer(c->timer, next - now);
}

static void check_done(void *arg, uint16_t reason, uint64_t latency_us)
{
    struct hcheck *c = arg;
    struct health_engine *e = c->e;
    bool publish = false;
    pthread_mutex_lock(&e->lock);
    c->runs++;
    c->last_result = reason;
    c->last_latency_us = latency_us;
    c->lat_sum_us += latency_us;
    c->lat_count[lat_bucket(latency_us)]++;
    if (reason)
        c->failures++;
    uint8_t before = c->h.state;
    uint16_t before_reason = c->h.reason;
    if (hyst_feed(&c->h, reason, c->cfg.rise, c->cfg.fall)) {
        char rb[64];
        c->transitions++;
        if (c->h.state == PROV_DOWN)
            log_warn("health: check '%s' %s -> down (%s)", c->cfg.name, prov_health_name(before),
                     health_reason_str(reason, rb, sizeof rb));
        else
            log_info("health: check '%s' %s -> up", c->cfg.name, prov_health_name(before));
    }
    if (c->h.state != before || c->h.reason != before_reason)
        for (uint32_t i = 0; i < c->nprovs; i++)
            publish |= prov_update(e, &e->provs[c->provs[i]]);
    pthread_mutex_unlock(&e->lock);
    if (publish)
        request_publish(e);
    schedule_next(c);
}

static void check_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct hcheck *c = arg;
    probe_start(&c->probe);
}

/* ---- (re)configuration (engine thread) ------------------------------- */

static void hcheck_free(struct hcheck *c)
{
    if (!c)
        return;
    probe_destroy(&c->probe);
    if (c->timer)
        event_free(c->timer);
    free(c->provs);
    free(c);
}

/* Starts (or restarts) the probe of c on cfg; the first run is spread
 * uniformly over one interval so thousands of checks do not fire at once. */
static int hcheck_arm(struct health_engine *e, struct hcheck *c, SSL_CTX *ctx)
{
    if (probe_init(&c->probe, e->base, &c->cfg, ctx, check_done, c) < 0)
        return -1;
    uint64_t now = probe_now_us();
    c->due_us = now + rng_next(e) % ((uint64_t)c->cfg.interval_ms * 1000u);
    set_timer(c->timer, c->due_us - now);
    return 0;
}

static struct hcheck *find_check(struct hcheck **v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] && strcmp(v[i]->cfg.name, name) == 0)
            return v[i];
    return NULL;
}

/* Applies plan p: checks and providers keep their state by name. */
static void apply_plan(struct health_engine *e, struct plan *p)
{
    struct hcheck **nc = calloc(p->nchecks + 1, sizeof *nc);
    if (!nc) {
        log_err("health: out of memory applying a new configuration; keeping the old one");
        return;
    }
    pthread_mutex_lock(&e->lock);
    for (size_t i = 0; i < e->nchecks; i++)
        e->checks[i]->used = false;
    for (size_t i = 0; i < p->nchecks; i++) {
        const struct health_check_cfg *cfg = &p->checks[i];
        SSL_CTX *ctx = cfg->type == HC_HTTPS ? sslc_find(p->sslc, p->nsslc, cfg->verify, cfg->ca_file) : NULL;
        struct hcheck *old = find_check(e->checks, e->nchecks, cfg->name);
        if (old && health_check_cfg_same(&old->cfg, cfg)) {
            old->used = true;
            old->probe.ssl_ctx = ctx;   /* a running SSL holds its own reference */
            free(old->provs);
            old->provs = NULL;
            old->nprovs = 0;
            nc[i] = old;
            continue;
        }
        struct hcheck *c = calloc(1, sizeof *c);
        if (c)
            c->timer = evtimer_new(e->base, check_timer_cb, c);
        if (!c || !c->timer) {
            hcheck_free(c);
            c = NULL;
        }
        if (c) {
            c->e = e;
            c->cfg = *cfg;
            hyst_init(&c->h);
            if (old) {   /* same name, new definition: keep state and counters */
                old->used = false;
                c->h = old->h;
                c->runs = old->runs;
                c->failures = old->failures;
                c->transitions = old->transitions;
                c->last_result = old->last_result;
                /* the latency histogram is a Prometheus counter: never reset */
                c->last_latency_us = old->last_latency_us;
                c->lat_sum_us = old->lat_sum_us;
                memcpy(c->lat_count, old->lat_count, sizeof c->lat_count);
            }
            if (hcheck_arm(e, c, ctx) < 0) {
                hcheck_free(c);
                c = NULL;
            }
        }
        if (!c) {
            /* cannot probe: keep the slot with a permanent internal failure */
            log_err("health: cannot start check '%s'", cfg->name);
            c = calloc(1, sizeof *c);
            if (!c)
                abort();   /* out of memory twice in a row: nothing sane left to do */
            c->e = e;
            c->cfg = *cfg;
            hyst_init(&c->h);
            c->h.state = PROV_DOWN;
            c->h.reason = HR_INTERNAL;
        }
        nc[i] = c;
    }
    /* free checks that are gone (or replaced) */
    for (size_t i = 0; i < e->nchecks; i++) {
        bool kept = false;
        for (size_t j = 0; j < p->nchecks && !kept; j++)
            kept = nc[j] == e->checks[i];
        if (!kept)
            hcheck_free(e->checks[i]);
    }
    free(e->checks);
    e->checks = nc;
    e->nchecks = p->nchecks;
    /* providers: carry state over by name */
    for (size_t i = 0; i < p->nprovs; i++) {
        struct hprov *np = &p->provs[i];
        for (size_t j = 0; j < e->nprovs; j++)
            if (strcmp(e->provs[j].name, np->name) == 0) {
                np->health = e->provs[j].health;
                np->reason = e->provs[j].reason;
                np->transitions = e->provs[j].transitions;
                memcpy(np->transitions_to, e->provs[j].transitions_to, sizeof np->transitions_to);
                np->since_ms = e->provs[j].since_ms;
                break;
            }
        for (uint32_t k = 0; k < np->nchecks; k++) {
            struct hcheck *c = e->checks[np->checks[k]];
            uint32_t *v = realloc(c->provs, (c->nprovs + 1) * sizeof *v);
            if (!v)
                abort();   /* a few bytes at reload time */
            v[c->nprovs++] = (uint32_t)i;
            c->provs = v;
        }
    }
    for (size_t j = 0; j < e->nprovs; j++)
        free(e->provs[j].checks);
    free(e->provs);
    e->provs = p->provs;
    e->nprovs = p->nprovs;
    p->provs = NULL;
    p->nprovs = 0;
    for (size_t i = 0; i < e->nprovs; i++)
        prov_update(e, &e->provs[i]);
    pthread_mutex_unlock(&e->lock);
    /* TLS contexts: the plan's replace ours (running SSLs hold references) */
    for (size_t i = 0; i < e->nsslc; i++)
        SSL_CTX_free(e->sslc[i].ctx);
    free(e->sslc);
    e->sslc = p->sslc;
    e->nsslc = p->nsslc;
    p->sslc = NULL;
    p->nsslc = 0;
    e->publish_delay_ms = p->publish_delay_ms;
    log_info("health: %zu checks, %zu providers", e->nchecks, e->nprovs);
}

/* ---- thread and commands --------------------------------------------- */

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    struct health_engine *e = arg;
    pthread_mutex_lock(&e->lock);
    struct plan *p = e->pending;
    e->pending = NULL;
    uint64_t seq = e->req_seq;
    bool stop = e->stopping;
    pthread_mutex_unlock(&e->lock);
    if (stop) {
        plan_free(&p);
        event_base_loopbreak(e->base);
        return;
    }
    if (p)
        apply_plan(e, p);
    plan_free(&p);
    /* commands are published at once: the caller waits for it */
    event_del(e->publish_ev);
    e->publish_pending = false;
    publish_now(e);
    pthread_mutex_lock(&e->lock);
    if (e->done_seq < seq)
        e->done_seq = seq;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
}

static void *engine_main(void *arg)
{
    struct health_engine *e = arg;
    event_base_loop(e->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* Posts a command (already stored under lock by the caller, who passes the
 * sequence number it got) and waits until the engine has published it. */
static void wait_applied(struct health_engine *e, uint64_t seq)
{
    event_active(e->wake, EV_READ, 0);
    pthread_mutex_lock(&e->lock);
    while (e->done_seq < seq)
        pthread_cond_wait(&e->cond, &e->lock);
    pthread_mutex_unlock(&e->lock);
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static void global_init(void)
{
    evthread_use_pthreads();
    ares_library_init(ARES_LIB_INIT_ALL);
}

/* ---- API -------------------------------------------------------------- */

enum health_result health_engine_new(const struct health_config *cfg, const struct health_target *targets,
                                     size_t n, struct health_engine **out, char *err, size_t errsz)
{
    struct plan *p = NULL;
    *out = NULL;
    pthread_once(&global_once, global_init);
    enum health_result r = plan_build(cfg, targets, n, &p, err, errsz);
    if (r != HEALTH_OK)
        return r;
    struct health_engine *e = calloc(1, sizeof *e);
    if (!e) {
        plan_free(&p);
        snprintf(err, errsz, "out of memory");
        return HEALTH_ERR_SYSTEM;
    }
    e->magic = ENGINE_MAGIC;
    pthread_mutex_init(&e->lock, NULL);
    pthread_mutex_init(&e->admin_lock, NULL);
    pthread_cond_init(&e->cond, NULL);
    health_overrides_init(&e->ovr);
    e->rng = ((uint64_t)getpid() << 32) ^ probe_now_us() ^ 0x9e3779b97f4a7c15ull;
    e->publish_delay_ms = cfg->publish_delay_ms;
    snprintf(e->state_file, sizeof e->state_file, "%s", cfg->state_file);
    if (e->state_file[0] && health_overrides_load(&e->ovr, e->state_file, err, errsz) < 0) {
        plan_free(&p);
        health_engine_free(&e);
        return HEALTH_ERR_STATE;
    }
    e->base = event_base_new();
    if (e->base) {
        e->wake = event_new(e->base, -1, 0, wake_cb, e);
        e->publish_ev = evtimer_new(e->base, publish_cb, e);
    }
    /* The engine thread blocks every signal: process signals (HUP, TERM)
     * go to the daemon's own threads, and a write to a peer that reset
     * fails with EPIPE instead of killing the process with SIGPIPE. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int trc = (e->base && e->wake && e->publish_ev) ? pthread_create(&e->thread, NULL, engine_main, e) : -1;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (trc != 0) {
        plan_free(&p);
        health_engine_free(&e);
        snprintf(err, errsz, "cannot start the health thread");
        return HEALTH_ERR_SYSTEM;
    }
    e->thread_started = true;
    pthread_mutex_lock(&e->lock);
    e->pending = p;
    uint64_t seq = ++e->req_seq;
    pthread_mutex_unlock(&e->lock);
    wait_applied(e, seq);
    *out = e;
    return HEALTH_OK;
}

void health_engine_free(struct health_engine **ep)
{
    struct health_engine *e = *ep;
    if (!e)
        return;
    if (e->magic != ENGINE_MAGIC)
        abort();
    if (e->thread_started) {
        pthread_mutex_lock(&e->lock);
        e->stopping = true;
        pthread_mutex_unlock(&e->lock);
        event_active(e->wake, EV_READ, 0);
        pthread_join(e->thread, NULL);
    }
    for (size_t i = 0; i < e->nchecks; i++)
        hcheck_free(e->checks[i]);
    free(e->checks);
    for (size_t i = 0; i < e->nprovs; i++)
        free(e->provs[i].checks);
    free(e->provs);
    for (size_t i = 0; i < e->nsslc; i++)
        SSL_CTX_free(e->sslc[i].ctx);
    free(e->sslc);
    plan_free(&e->pending);
    if (e->wake)
        event_free(e->wake);
    if (e->publish_ev)
        event_free(e->publish_ev);
    if (e->base)
        event_base_free(e->base);
    if (e->table) {
        struct prov_state_table *t = e->table;
        rcu_assign_pointer(e->table, NULL);
        urcu_memb_synchronize_rcu();
        free(t);
    }
    health_overrides_free(&e->ovr);
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_destroy(&e->admin_lock);
    pthread_cond_destroy(&e->cond);
    e->magic = 0;
    free(e);
    *ep = NULL;
}

enum health_result health_engine_reconfigure(struct health_engine *e, const struct health_config *cfg,
                                             const struct health_target *targets, size_t n,
                                             char *err, size_t errsz)
{
    struct plan *p = NULL;
    if (e->magic != ENGINE_MAGIC)
        abort();
    enum health_result r = plan_build(cfg, targets, n, &p, err, errsz);
    if (r != HEALTH_OK)
        return r;
    pthread_mutex_lock(&e->admin_lock);
    if (strcmp(cfg->state_file, e->state_file) != 0) {
        /* a new state file: its overrides win if it exists, else ours move there */
        struct health_overrides o;
        health_overrides_init(&o);
        if (cfg->state_file[0] && access(cfg->state_file, F_OK) == 0 &&
            health_overrides_load(&o, cfg->state_file, err, errsz) < 0) {
            pthread_mutex_unlock(&e->admin_lock);
            plan_free(&p);
            return HEALTH_ERR_STATE;
        }
        pthread_mutex_lock(&e->lock);
        if (cfg->state_file[0] && access(cfg->state_file, F_OK) == 0) {
            health_overrides_free(&e->ovr);
            e->ovr = o;
        } else {
            health_overrides_free(&o);
        }
        snprintf(e->state_file, sizeof e->state_file, "%s", cfg->state_file);
        pthread_mutex_unlock(&e->lock);
    }
    pthread_mutex_unlock(&e->admin_lock);
    pthread_mutex_lock(&e->lock);
    plan_free(&e->pending);   /* a newer reload supersedes one not yet applied */
    e->pending = p;
    uint64_t seq = ++e->req_seq;
    pthread_mutex_unlock(&e->lock);
    wait_applied(e, seq);
    return HEALTH_OK;
}

struct prov_state_table **health_engine_slot(struct health_engine *e)
{
    return &e->table;
}

static int provider_index(const struct health_engine *e, const char *name)
{
    for (size_t i = 0; i < e->nprovs; i++)
        if (strcmp(e->provs[i].name, name) == 0)
            return (int)i;
    return -1;
}

int health_engine_provider_id(struct health_engine *e, const char *name)
{
    pthread_mutex_lock(&e->lock);
    int id = provider_index(e, name);
    pthread_mutex_unlock(&e->lock);
    return id;
}

/* Copies the override set (so a failed save changes nothing). */
static int overrides_clone(const struct health_overrides *src, struct health_overrides *dst)
{
    health_overrides_init(dst);
    for (size_t i = 0; i < src->n; i++)
        if (health_overrides_set(dst, src->v[i].provider, src->v[i].admin, src->v[i].weight) < 0) {
            health_overrides_free(dst);
            return -1;
        }
    return 0;
}

static enum health_result set_override(struct health_engine *e, const char *provider, bool set_admin,
                                       uint8_t admin, bool set_weight, uint32_t weight,
                                       char *err, size_t errsz)
{
    if (e->magic != ENGINE_MAGIC)
        abort();
    if (!provider || !health_name_valid(provider)) {
        snprintf(err, errsz, "bad provider name");
        return HEALTH_ERR_INVALID;
    }
    pthread_mutex_lock(&e->admin_lock);
    pthread_mutex_lock(&e->lock);
    struct health_overrides next;
    int known = provider_index(e, provider) >= 0;
    const struct health_override *cur = health_overrides_get(&e->ovr, provider);
    uint8_t a = set_admin ? admin : cur ? cur->admin : ADMIN_NONE;
    uint32_t w = set_weight ? weight : cur ? cur->weight : PROV_WEIGHT_NONE;
    int cloned = overrides_clone(&e->ovr, &next);
    char path[HC_FILE_MAX];
    snprintf(path, sizeof path, "%s", e->state_file);
    pthread_mutex_unlock(&e->lock);
    if (!known && !(a == ADMIN_NONE && w == PROV_WEIGHT_NONE)) {
        if (cloned == 0)
            health_overrides_free(&next);
        pthread_mutex_unlock(&e->admin_lock);
        snprintf(err, errsz, "unknown provider '%s'", provider);
        return HEALTH_ERR_UNKNOWN;
    }
    if (cloned < 0 || health_overrides_set(&next, provider, a, w) < 0) {
        if (cloned == 0)
            health_overrides_free(&next);
        pthread_mutex_unlock(&e->admin_lock);
        snprintf(err, errsz, "out of memory");
        return HEALTH_ERR_SYSTEM;
    }
    if (path[0] && health_overrides_save(&next, path, err, errsz) < 0) {
        health_overrides_free(&next);
        pthread_mutex_unlock(&e->admin_lock);
        return HEALTH_ERR_IO;
    }
    pthread_mutex_lock(&e->lock);
    health_overrides_free(&e->ovr);
    e->ovr = next;
    uint64_t seq = ++e->req_seq;
    pthread_mutex_unlock(&e->lock);
    pthread_mutex_unlock(&e->admin_lock);
    log_info("health: provider '%s' admin %s weight %s%.0u", provider, prov_admin_name(a),
             w == PROV_WEIGHT_NONE ? "-" : "", w == PROV_WEIGHT_NONE ? 0 : w);
    wait_applied(e, seq);
    return HEALTH_OK;
}

enum health_result health_engine_set_admin(struct health_engine *e, const char *provider, uint8_t admin,
                                           char *err, size_t errsz)
{
    if (admin > ADMIN_DRAIN) {
        snprintf(err, errsz, "bad admin state %u", (unsigned)admin);
        return HEALTH_ERR_INVALID;
    }
    return set_override(e, provider, true, admin, false, 0, err, errsz);
}

enum health_result health_engine_set_weight(struct health_engine *e, const char *provider, uint32_t weight,
                                            char *err, size_t errsz)
{
    if (weight != PROV_WEIGHT_NONE && weight > HEALTH_WEIGHT_MAX) {
        snprintf(err, errsz, "weight %u out of range 0..%u", weight, HEALTH_WEIGHT_MAX);
        return HEALTH_ERR_INVALID;
    }
    return set_override(e, provider, false, 0, true, weight, err, errsz);
}

enum health_result health_engine_stats(struct health_engine *e, struct health_stats *out)
{
    memset(out, 0, sizeof *out);
    if (e->magic != ENGINE_MAGIC)
        abort();
    clockid_t cid;
    struct timespec ts;
    if (e->thread_started && pthread_getcpuclockid(e->thread, &cid) == 0 && clock_gettime(cid, &ts) == 0)
        out->engine_cpu_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    pthread_mutex_lock(&e->lock);
    out->checks = calloc(e->nchecks + 1, sizeof *out->checks);
    out->providers = calloc(e->nprovs + 1, sizeof *out->providers);
    if (!out->checks || !out->providers) {
        pthread_mutex_unlock(&e->lock);
        health_stats_free(out);
        return HEALTH_ERR_SYSTEM;
    }
    out->table_version = e->version;
    out->publications = e->publications;
    out->nchecks = e->nchecks;
    out->nproviders = e->nprovs;
    for (size_t i = 0; i < e->nchecks; i++) {
        const struct hcheck *c = e->checks[i];
        struct health_check_stats *s = &out->checks[i];
        snprintf(s->name, sizeof s->name, "%s", c->cfg.name);
        s->type = (uint8_t)c->cfg.type;
        s->state = c->h.state;
        s->reason = c->h.reason;
        s->last_result = c->last_result;
        s->runs = c->runs;
        s->failures = c->failures;
        s->transitions = c->transitions;
        s->last_latency_us = c->last_latency_us;
        s->lat_sum_us = c->lat_sum_us;
        memcpy(s->lat_count, c->lat_count, sizeof s->lat_count);
    }
    for (size_t i = 0; i < e->nprovs; i++) {
        const struct hprov *p = &e->provs[i];
        struct health_provider_stats *s = &out->providers[i];
        const struct health_override *o = health_overrides_get(&e->ovr, p->name);
        snprintf(s->name, sizeof s->name, "%s", p->name);
        s->health = p->health;
        s->reason = p->reason;
        s->admin = o ? o->admin : ADMIN_NONE;
        s->weight = o ? o->weight : PROV_WEIGHT_NONE;
        s->transitions = p->transitions;
        memcpy(s->transitions_to, p->transitions_to, sizeof s->transitions_to);
        s->since_ms = p->since_ms;
        if (p->failing >= 0)
            snprintf(s->failing_check, sizeof s->failing_check, "%s", e->checks[p->failing]->cfg.name);
    }
    pthread_mutex_unlock(&e->lock);
    return HEALTH_OK;
}

void health_stats_free(struct health_stats *s)
{
    free(s->checks);
    free(s->providers);
    s->checks = NULL;
    s->providers = NULL;
    s->nchecks = s->nproviders = 0;
}
