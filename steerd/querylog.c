/* steerd/querylog.c: per-thread rings and the logger thread (see querylog.h). */
#include "steerd/querylog.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "dns/server.h"
#include "dns/wire.h"
#include "steerd/metrics.h"

#define QUERYLOG_MAGIC 0x514c4f47u   /* "QLOG" */
#define LABEL_MAX 80                 /* provider / rule labels (config names are shorter) */

/* ---- types ------------------------------------------------------------- */

/* qlog_rec.reason of a query that was not steered; otherwise the reason is
 * a decision slot of steerd/metrics.h (metrics_decision_slot) */
#define QR_NONE MS_PER_NAME

struct qlog_rec {
    int64_t ts_ms;                   /* CLOCK_REALTIME */
    struct net_addr client;
    struct net_addr ecs_addr;
    uint8_t ecs_source, scope;
    bool ecs, tcp, question;
    uint8_t rcode;                   /* 0..16 as dns_result; 255 = dropped */
    uint8_t reason;                  /* enum metrics_name_slot; QR_NONE = not steered */
    uint16_t qtype;
    uint8_t qname_len;
    uint8_t qname[DNS_MAX_NAME];     /* wire format */
    char provider[LABEL_MAX], rule[LABEL_MAX];
};

/* One ring per I/O thread. head: next slot the producer writes (only it
 * stores); tail: next slot the logger reads (only it stores). They sit on
 * separate lines so the two sides do not bounce one line per record. */
struct ring {
    _Alignas(64) _Atomic size_t head;
    _Atomic uint64_t dropped;        /* producer-written */
    _Alignas(64) _Atomic size_t tail;
    _Alignas(64) struct qlog_rec rec[QUERYLOG_RING];
};

struct querylog {
    uint32_t magic;
    struct querylog_cfg cfg;
    FILE *out;
    bool own_file;
    unsigned nrings;
    struct ring *rings;              /* [nrings], aligned */
    pthread_t thread;
    bool started;
    _Atomic bool stop;
    _Atomic uint64_t written;
};

/* The decision steer_dynamic left for this thread's current query. */
struct decision {
    uint8_t reason, scope;
    const char *provider, *rule;
};

bool querylog_running;
static _Thread_local struct decision tl_decision = { .reason = QR_NONE };

/* ---- query path ---------------------------------------------------------- */

void querylog_note_decision_slow(int rc, const struct steer_answer *a, const struct metrics_steer *m, size_t name)
{
    struct decision *d = &tl_decision;
    const char *provider = NULL, *rule = NULL;
    if (rc == STEER_OK && m && name < m->nnames) {
        provider = a->provider < m->nprov ? m->prov_name[a->provider] : NULL;
        rule = m->rule_label[name][a->rule < m->nrules[name] ? a->rule : 0];
    }
    if (rc != STEER_OK) {
        *d = (struct decision){ .reason = MS_ERROR };
        return;
    }
    d->reason = (uint8_t)metrics_decision_slot(rc, a);
    d->scope = a->scope;
    d->provider = a->kind == STEER_NODATA ? NULL : provider;
    d->rule = rule;
}

static void copy_label(char *dst, const char *src)
{
    size_t n = src ? strnlen(src, LABEL_MAX - 1) : 0;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

void querylog_observe(void *ctx, unsigned thread, bool tcp, const struct dns_client *c, const struct dns_query *q,
                      const struct dns_result *res)
{
    struct querylog *ql = ctx;
    if (thread >= ql->nrings)
        return;
    struct ring *r = &ql->rings[thread];
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (head - tail >= QUERYLOG_RING) {
        atomic_store_explicit(&r->dropped, atomic_load_explicit(&r->dropped, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        return;
    }
    struct qlog_rec *e = &r->rec[head & (QUERYLOG_RING - 1)];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    e->ts_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    e->client = c->addr;
    e->tcp = tcp;
    e->rcode = res->dropped ? 255 : res->rcode;
    e->question = q->question_ok;
    e->qtype = q->question_ok ? q->qtype : 0;
    e->qname_len = q->question_ok ? q->qname_len : 0;
    if (e->qname_len)
        memcpy(e->qname, q->qname, e->qname_len);
    e->ecs = q->ecs;
    e->ecs_addr = q->ecs_addr;
    e->ecs_source = q->ecs_source;
    e->reason = QR_NONE;
    e->scope = 0;
    e->provider[0] = e->rule[0] = '\0';
    if (res->dynamic) {   /* steer_dynamic ran for this very query */
        const struct decision *d = &tl_decision;
        e->reason = d->reason;
        e->scope = d->scope > q->ecs_source ? q->ecs_source : d->scope;
        copy_label(e->provider, d->provider);
        copy_label(e->rule, d->rule);
    }
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

/* ---- logger thread ------------------------------------------------------- */

static const char *qtype_name(uint16_t t, char *buf, size_t size)
{
    static const struct { uint16_t t; const char *n; } names[] = {
        { 1, "A" }, { 2, "NS" }, { 5, "CNAME" }, { 6, "SOA" }, { 12, "PTR" }, { 15, "MX" }, { 16, "TXT" },
        { 28, "AAAA" }, { 33, "SRV" }, { 35, "NAPTR" }, { 41, "OPT" }, { 43, "DS" }, { 48, "DNSKEY" },
        { 64, "SVCB" }, { 65, "HTTPS" }, { 251, "IXFR" }, { 252, "AXFR" }, { 255, "ANY" }, { 257, "CAA" } };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].t == t)
            return names[i].n;
    snprintf(buf, size, "TYPE%u", t);   /* RFC 3597 */
    return buf;
}

/* Presentation form safe for logfmt: see querylog.h. */
static void qname_text(const uint8_t *name, size_t len, char *out, size_t size)
{
    size_t o = 0;
    if (!len || !name[0]) {
        snprintf(out, size, ".");
        return;
    }
    for (size_t p = 0; p < len && name[p]; p += 1 + name[p]) {
        for (unsigned i = 1; i <= name[p] && p + i < len; i++) {
            uint8_t ch = name[p + i];
            bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                         ch == '-' || ch == '_' || ch == '*';
            if (o + 5 >= size)
                break;
            if (plain)
                out[o++] = (char)ch;
            else
                o += (size_t)snprintf(out + o, size - o, "\\%03u", ch);
        }
        if (o + 2 >= size)
            break;
        out[o++] = '.';
    }
    out[o] = '\0';
}

static void write_rec(FILE *f, const struct qlog_rec *e)
{
    char ts[32], client[64], qname[DNS_MAX_NAME * 4 + 2], ecs[80], tb[16];
    time_t sec = (time_t)(e->ts_ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03dZ", (int)(e->ts_ms % 1000));
    net_addr_format(&e->client, client, sizeof client);
    if (e->question)
        qname_text(e->qname, e->qname_len, qname, sizeof qname);
    else
        snprintf(qname, sizeof qname, "-");
    if (e->ecs) {
        struct net_prefix p = { .addr = e->ecs_addr, .len = e->ecs_source };
        net_prefix_format(&p, ecs, sizeof ecs);
    } else {
        snprintf(ecs, sizeof ecs, "-");
    }
    char scope[8] = "-";
    if (e->ecs)
        snprintf(scope, sizeof scope, "%u", e->scope);
    fprintf(f, "ts=%s client=%s transport=%s qname=%s qtype=%s rcode=%s ecs=%s scope=%s provider=%s rule=%s reason=%s\n",
            ts, client, e->tcp ? "tcp" : "udp", qname, e->question ? qtype_name(e->qtype, tb, sizeof tb) : "-",
            e->rcode == 255 ? "dropped" : dns_rcode_name(e->rcode), ecs, scope,
            e->provider[0] ? e->provider : "-", e->rule[0] ? e->rule : "-", e->reason == QR_NONE ? "-" : metrics_slot_name(e->reason));
}

/* Writes everything queued now; returns the number of records. Bounded:
 * at most QUERYLOG_RING per ring per call. */
static size_t drain(struct querylog *ql)
{
    size_t total = 0;
    for (unsigned i = 0; i < ql->nrings; i++) {
        struct ring *r = &ql->rings[i];
        size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
        size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
        total += head - tail;
        for (; tail != head; tail++)
            write_rec(ql->out, &r->rec[tail & (QUERYLOG_RING - 1)]);
        atomic_store_explicit(&r->tail, tail, memory_order_release);   /* slots free for the producer */
    }
    if (total) {
        if (fflush(ql->out) != 0)
            log_ratelimited(LOG_LVL_ERR, "query log: write to %s failed: %s", ql->cfg.path, strerror(errno));
        atomic_fetch_add_explicit(&ql->written, total, memory_order_relaxed);
    }
    return total;
}

static void *logger_main(void *arg)
{
    struct querylog *ql = arg;
    while (!atomic_load_explicit(&ql->stop, memory_order_acquire)) {
        struct timespec t = { 0, QUERYLOG_POLL_MS * 1000000L };
        if (!drain(ql))
            nanosleep(&t, NULL);
    }
    drain(ql);   /* producers have stopped: the rest */
    return NULL;
}

/* ---- API ------------------------------------------------------------------ */

struct querylog *querylog_start(const struct querylog_cfg *cfg, unsigned io_threads, char *err, size_t errlen)
{
    struct querylog *ql = calloc(1, sizeof *ql);
    if (!ql) {
        snprintf(err, errlen, "query log: out of memory");
        return NULL;
    }
    ql->magic = QUERYLOG_MAGIC;
    ql->cfg = *cfg;
    ql->nrings = io_threads;
    ql->rings = aligned_alloc(64, (io_threads ? io_threads : 1) * sizeof *ql->rings);
    if (!ql->rings) {
        snprintf(err, errlen, "query log: out of memory for %u rings", io_threads);
        goto fail;
    }
    memset(ql->rings, 0, (io_threads ? io_threads : 1) * sizeof *ql->rings);
    if (!strcmp(cfg->path, "stderr")) {
        ql->out = stderr;
    } else {
        ql->out = fopen(cfg->path, "ae");
        if (!ql->out) {
            snprintf(err, errlen, "query log: cannot open %s: %s", cfg->path, strerror(errno));
            goto fail;
        }
        ql->own_file = true;
    }
    if (pthread_create(&ql->thread, NULL, logger_main, ql) != 0) {
        snprintf(err, errlen, "query log: cannot start the logger thread");
        goto fail;
    }
    ql->started = true;
    querylog_running = true;   /* before the I/O threads start: they read it unsynchronised */
    log_info("query log: one query in %u per I/O thread to %s", cfg->sample, cfg->path);
    return ql;
fail:
    if (ql->own_file)
        fclose(ql->out);
    free(ql->rings);
    free(ql);
    return NULL;
}

void querylog_stop(struct querylog **qp)
{
    struct querylog *ql = *qp;
    if (!ql)
        return;
    if (ql->magic != QUERYLOG_MAGIC)
        abort();
    if (ql->started) {
        atomic_store_explicit(&ql->stop, true, memory_order_release);
        pthread_join(ql->thread, NULL);
    }
    querylog_running = false;
    if (ql->own_file)
        fclose(ql->out);
    else
        fflush(ql->out);
    free(ql->rings);
    ql->magic = 0;
    free(ql);
    *qp = NULL;
}

void querylog_counters(const struct querylog *ql, struct querylog_counters *out)
{
    memset(out, 0, sizeof *out);
    if (!ql)
        return;
    out->written = atomic_load_explicit(&ql->written, memory_order_relaxed);
    for (unsigned i = 0; i < ql->nrings; i++)
        out->dropped += atomic_load_explicit(&ql->rings[i].dropped, memory_order_relaxed);
}
