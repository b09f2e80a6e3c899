/* steering/flatten.c: background resolution of apex CDN targets with c-ares
 * (see flatten.h). Everything here runs on the flattener's own thread except
 * start/stop/current/version. */
#include "steering/flatten.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include "common/log.h"
#include "steering/internal.h"

/* ---------------------------------------------------------------- types */

struct target {
    uint16_t prov;
    char name[256];
    bool inflight;
    uint64_t due_ms;             /* next resolution (monotonic) */
    struct steer_flat_entry cur; /* working copy, published on change */
    struct steer_flatten *f;
};

struct steer_flatten {
    const struct steer_policy *p;
    ares_channel ch;
    pthread_t thread;
    bool thread_started;
    int wake[2];                 /* pipe: stop requests */
    atomic_bool stop;
    size_t ntargets;
    struct target *t;            /* malloced */
    bool dirty;
    struct steer_flat_table *cur;   /* RCU-published */
    pthread_mutex_t swap_lock;      /* held around the swap of cur: lets a successor copy it
                                       safely (steer_flatten_start_from); never on the query path */
    atomic_uint_fast64_t version;
};

static bool ares_inited;
static pthread_mutex_t ares_init_lock = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------- helpers */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct steer_flat_table *steer_flat_table_new(const struct steer_policy *p)
{
    size_t n = steer_policy_provider_count(p);
    struct steer_flat_table *t = calloc(1, sizeof *t + n * sizeof t->e[0]);
    if (!t)
        return NULL;
    t->policy_id = steer_policy_id(p);
    t->n = (uint32_t)n;
    return t;
}

static void publish(struct steer_flatten *f)
{
    struct steer_flat_table *t = steer_flat_table_new(f->p);
    if (!t) {
        log_ratelimited(LOG_LVL_ERR, "flatten: out of memory, keeping the previous table");
        return;
    }
    for (size_t i = 0; i < f->ntargets; i++)
        t->e[f->t[i].prov] = f->t[i].cur;
    uint64_t v = atomic_load(&f->version) + 1;
    t->version = v;
    pthread_mutex_lock(&f->swap_lock);
    struct steer_flat_table *old = f->cur;
    /* release store = rcu_assign_pointer, in a form ThreadSanitizer models */
    __atomic_store_n(&f->cur, t, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&f->swap_lock);
    urcu_memb_synchronize_rcu();
    free(old);
    atomic_store(&f->version, v);
    f->dirty = false;
}

static uint32_t clamp_ttl_ms(const struct steer_flatten_cfg *c, uint64_t ttl_ms)
{
    if (ttl_ms < c->min_ttl_ms)
        ttl_ms = c->min_ttl_ms;
    if (ttl_ms > c->max_ttl_ms)
        ttl_ms = c->max_ttl_ms;
    return (uint32_t)ttl_ms;
}

/* c-ares completion, on the flattener thread. */
static void on_result(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    struct target *t = arg;
    struct steer_flatten *f = t->f;
    const struct steer_flatten_cfg *c = steer_policy_flatten_cfg(f->p);
    t->inflight = false;
    (void)timeouts;
    if (status == ARES_EDESTRUCTION) {
        if (res)
            ares_freeaddrinfo(res);
        return;
    }
    if (status == ARES_SUCCESS && res) {
        struct steer_flat_entry e = { 0 };
        int64_t ttl = -1;
        for (struct ares_addrinfo_node *n = res->nodes; n; n = n->ai_next) {
            if (n->ai_family == AF_INET && e.n4 < STEER_MAX_ADDRS)
                memcpy(e.v4[e.n4++], &((struct sockaddr_in *)n->ai_addr)->sin_addr, 4);
            else if (n->ai_family == AF_INET6 && e.n6 < STEER_MAX_ADDRS)
                memcpy(e.v6[e.n6++], &((struct sockaddr_in6 *)n->ai_addr)->sin6_addr, 16);
            if (ttl < 0 || n->ai_ttl < ttl)
                ttl = n->ai_ttl < 0 ? 0 : n->ai_ttl;
        }
        for (struct ares_addrinfo_cname *cn = res->cnames; cn; cn = cn->next)
            if (ttl < 0 || cn->ttl < ttl)
                ttl = cn->ttl < 0 ? 0 : cn->ttl;
        uint32_t ms = clamp_ttl_ms(c, ttl < 0 ? 0 : (uint64_t)ttl * 1000);
        e.ttl = ms / 1000 ? ms / 1000 : 1;
        if (memcmp(&e, &t->cur, sizeof e)) {
            t->cur = e;
            f->dirty = true;
        }
        t->due_ms = now_ms() + ms;
        log_debug("flatten: %s: %u IPv4, %u IPv6, ttl %us", t->name, e.n4, e.n6, e.ttl);
    } else if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
        /* authoritative "nothing": stop serving stale addresses */
        if (t->cur.n4 || t->cur.n6) {
            memset(&t->cur, 0, sizeof t->cur);
            f->dirty = true;
        }
        log_ratelimited(LOG_LVL_WARN, "flatten: %s: %s", t->name, ares_strerror(status));
        t->due_ms = now_ms() + c->retry_ms;
    } else {
        /* transient failure: keep the last good addresses, retry soon */
        log_ratelimited(LOG_LVL_WARN, "flatten: %s: %s (keeping %u+%u known addresses)", t->name,
                        ares_strerror(status), t->cur.n4, t->cur.n6);
        t->due_ms = now_ms() + c->retry_ms;
    }
    if (res)
        ares_freeaddrinfo(res);
}

static void start_due(struct steer_flatten *f, uint64_t now)
{
    struct ares_addrinfo_hints hints = { .ai_family = AF_UNSPEC, .ai_flags = ARES_AI_NOSORT };
    for (size_t i = 0; i < f->ntargets; i++) {
        struct target *t = &f->t[i];
        if (t->inflight || now < t->due_ms)
            continue;
        t->inflight = true;
        ares_getaddrinfo(f->ch, t->name, NULL, &hints, on_result, t);
    }
}

/* Poll timeout: the earlier of c-ares' own timer and the next due target. */
static int next_timeout_ms(struct steer_flatten *f, uint64_t now)
{
    uint64_t next = now + 1000;   /* wake at least once a second: bounds clock surprises */
    for (size_t i = 0; i < f->ntargets; i++)
        if (!f->t[i].inflight && f->t[i].due_ms < next)
            next = f->t[i].due_ms;
    struct timeval tv, maxtv = { .tv_sec = 1, .tv_usec = 0 };
    struct timeval *tvp = ares_timeout(f->ch, &maxtv, &tv);
    uint64_t at = tvp ? now + (uint64_t)tvp->tv_sec * 1000 + (uint64_t)(tvp->tv_usec + 999) / 1000 : next;
    if (at < next)
        next = at;
    return next > now ? (int)(next - now) : 0;
}

static void *run(void *arg)
{
    struct steer_flatten *f = arg;
    while (!atomic_load(&f->stop)) {
        uint64_t now = now_ms();
        start_due(f, now);
        struct pollfd pfd[ARES_GETSOCK_MAXNUM + 1];
        ares_socket_t socks[ARES_GETSOCK_MAXNUM];
        unsigned bits = (unsigned)ares_getsock(f->ch, socks, ARES_GETSOCK_MAXNUM);
        nfds_t n = 0;
        pfd[n++] = (struct pollfd){ .fd = f->wake[0], .events = POLLIN };
        for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
            short ev = 0;
            /* ARES_GETSOCK_READABLE/WRITABLE shift a signed 1 into bit 31 */
            if ((bits >> i) & 1u)
                ev |= POLLIN;
            if ((bits >> (i + ARES_GETSOCK_MAXNUM)) & 1u)
                ev |= POLLOUT;
            if (ev)
                pfd[n++] = (struct pollfd){ .fd = socks[i], .events = ev };
        }
        int rc = poll(pfd, n, next_timeout_ms(f, now));
        if (rc < 0 && errno != EINTR)
            log_ratelimited(LOG_LVL_ERR, "flatten: poll: %s", strerror(errno));
        if (pfd[0].revents & POLLIN) {
            char buf[16];
            while (read(f->wake[0], buf, sizeof buf) > 0)
                ;
        }
        bool any = false;
        for (nfds_t i = 1; i < n; i++) {
            if (!pfd[i].revents)
                continue;
            any = true;
            ares_socket_t r = pfd[i].revents & (POLLIN | POLLERR | POLLHUP) ? pfd[i].fd : ARES_SOCKET_BAD;
            ares_socket_t w = pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD;
            ares_process_fd(f->ch, r, w);
        }
        if (!any)
            ares_process_fd(f->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);   /* timeouts */
        if (f->dirty)
            publish(f);
    }
    return NULL;
}

/* ------------------------------------------------------------------ API */

static int init_channel(struct steer_flatten *f, char *err, size_t errsize)
{
    pthread_mutex_lock(&ares_init_lock);
    if (!ares_inited) {
        int rc = ares_library_init(ARES_LIB_INIT_ALL);
        if (rc != ARES_SUCCESS) {
            pthread_mutex_unlock(&ares_init_lock);
            snprintf(err, errsize, "c-ares init: %s", ares_strerror(rc));
            return -1;
        }
        ares_inited = true;
    }
    pthread_mutex_unlock(&ares_init_lock);
    const struct steer_flatten_cfg *c = steer_policy_flatten_cfg(f->p);
    struct ares_options o = { 0 };
    char lookups[] = "b";                 /* DNS only: no /etc/hosts */
    o.timeout = (int)c->timeout_ms;
    o.tries = 2;
    o.lookups = lookups;
    o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
    int rc = ares_init_options(&f->ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS | ARES_OPT_FLAGS);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errsize, "c-ares: %s", ares_strerror(rc));
        return -1;
    }
    char addr[64], csv[96];
    net_addr_format(&c->resolver, addr, sizeof addr);
    snprintf(csv, sizeof csv, c->resolver.family == 6 ? "[%s]:%u" : "%s:%u", addr, c->port);
    rc = ares_set_servers_ports_csv(f->ch, csv);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errsize, "c-ares: resolver %s: %s", csv, ares_strerror(rc));
        return -1;
    }
    return 0;
}

/* Copies the addresses prev knows for the same CNAME targets into f's
 * working entries (due for re-resolution right away, but served meanwhile). */
static void seed_from(struct steer_flatten *f, struct steer_flatten *prev)
{
    if (!prev)
        return;
    pthread_mutex_lock(&prev->swap_lock);
    const struct steer_flat_table *pt = prev->cur;
    for (size_t i = 0; pt && i < f->ntargets; i++)
        for (size_t j = 0; j < prev->ntargets; j++)
            if (!strcmp(f->t[i].name, prev->t[j].name) && prev->t[j].prov < pt->n) {
                f->t[i].cur = pt->e[prev->t[j].prov];
                f->dirty |= f->t[i].cur.n4 || f->t[i].cur.n6;
                break;
            }
    pthread_mutex_unlock(&prev->swap_lock);
}

int steer_flatten_start(const struct steer_policy *p, struct steer_flatten **out, char *err, size_t errsize)
{
    return steer_flatten_start_from(p, NULL, out, err, errsize);
}

int steer_flatten_start_from(const struct steer_policy *p, struct steer_flatten *prev, struct steer_flatten **out,
                             char *err, size_t errsize)
{
    *out = NULL;
    struct steer_flatten *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    pthread_mutex_init(&f->swap_lock, NULL);
    f->p = p;
    f->wake[0] = f->wake[1] = -1;
    size_t np = steer_policy_provider_count(p);
    f->t = calloc(np ? np : 1, sizeof *f->t);
    if (!f->t) {
        snprintf(err, errsize, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < np; i++) {
        if (!steer_provider_needs_flat(p, i))
            continue;
        struct target *t = &f->t[f->ntargets++];
        t->prov = (uint16_t)i;
        t->f = f;
        snprintf(t->name, sizeof t->name, "%s", steer_provider_cname(p, i));
    }
    if (f->ntargets == 0) {   /* nothing to flatten: no thread */
        *out = f;
        return 0;
    }
    if (pipe2(f->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
        snprintf(err, errsize, "pipe: %s", strerror(errno));
        goto fail;
    }
    if (init_channel(f, err, errsize) < 0)
        goto fail;
    seed_from(f, prev);
    if (f->dirty)
        publish(f);   /* visible before the first resolution completes */
    int rc = pthread_create(&f->thread, NULL, run, f);
    if (rc) {
        snprintf(err, errsize, "pthread_create: %s", strerror(rc));
        goto fail;
    }
    f->thread_started = true;
    *out = f;
    return 0;
fail:
    steer_flatten_stop(&f);
    return -1;
}

void steer_flatten_stop(struct steer_flatten **fp)
{
    struct steer_flatten *f = *fp;
    if (!f)
        return;
    if (f->thread_started) {
        atomic_store(&f->stop, true);
        ssize_t w = write(f->wake[1], "x", 1);
        (void)w;
        pthread_join(f->thread, NULL);
    }
    if (f->ch)
        ares_destroy(f->ch);   /* pending callbacks run with ARES_EDESTRUCTION */
    if (f->wake[0] >= 0)
        close(f->wake[0]);
    if (f->wake[1] >= 0)
        close(f->wake[1]);
    struct steer_flat_table *t = f->cur;
    __atomic_store_n(&f->cur, NULL, __ATOMIC_RELEASE);
    urcu_memb_synchronize_rcu();
    free(t);
    free(f->t);
    pthread_mutex_destroy(&f->swap_lock);
    free(f);
    *fp = NULL;
}

const struct steer_flat_table *steer_flatten_current(struct steer_flatten *f)
{
    /* acquire load = rcu_dereference (a plain load on x86 and arm64's ldar) */
    return f ? __atomic_load_n(&f->cur, __ATOMIC_ACQUIRE) : NULL;
}

uint64_t steer_flatten_version(struct steer_flatten *f)
{
    return f ? atomic_load(&f->version) : 0;
}
