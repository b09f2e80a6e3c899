/* edge/upstream.c: upstream client and pools (see upstream.h). */
#include "edge/upstream.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/log.h"
#include "edge/edged.h"
#include "edge/store.h"

/* Idle connections kept per upstream; beyond this they are closed. 64 keeps
 * a burst of parallel misses from reconnecting while bounding fds. */
#define POOL_MAX 64

enum uc_state { UC_IDLE = 0, UC_WAIT_HEAD, UC_BODY, UC_DONE };

struct uconn {
    struct upstream *u;
    struct bufferevent *bev;
    struct uconn *next;            /* idle list */
    enum uc_state st;
    bool connected, reused, retried, in_cb, aborted, paused, keep_alive;
    bool probe;                    /* health probe: not counted in metrics */
    bool counted;                  /* this exchange's result is counted */
    uint16_t status;               /* of the response head, once parsed */
    const struct up_cb *cb;
    void *ctx;
    enum http_method method;
    enum http_body body;
    uint64_t remaining;
    struct chunk_dec cd;
    uint64_t t_start;              /* request queued, microseconds (edged_us) */
    char *req; size_t req_len;     /* malloced copy for one retry on a stale pooled conn */
    char *rbody; size_t rbody_len; /* malloced copy of the request body */
};

static void uc_read(struct bufferevent *bev, void *arg);
static void uc_event(struct bufferevent *bev, short what, void *arg);
static void probe_start(struct upstream *u);

static struct timeval tv_ms(uint64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
    return tv;
}

/* ---- metrics ------------------------------------------------------------ */

const char *up_tier_name(enum up_tier t)
{
    return t == UP_TIER_SHIELD ? "shield" : t == UP_TIER_ORIGIN ? "origin" : "admin";
}

const char *up_result_name(enum up_result r)
{
    return r == UP_RES_OK ? "ok" : r == UP_RES_TIMEOUT ? "timeout" : "error";
}

/* Whether an exchange of u counts: not a health probe, not an admin target. */
static bool tier_counted(const struct upstream *u, bool probe)
{
    return !probe && u->tier < UP_TIERS;
}

/* The end of an exchange, counted once (the first call wins). */
static void uc_result(struct uconn *c, enum up_result r)
{
    if (c->counted || !tier_counted(c->u, c->probe)) return;
    c->counted = true;
    c->u->ed->st.tier[c->u->tier].result[r]++;
}

/* A response head arrived: the head time goes into the tier's histogram. */
static void uc_head_time(struct uconn *c)
{
    static const uint64_t bounds[UP_DUR_NB] = UP_DUR_BOUNDS_US;
    if (!tier_counted(c->u, c->probe)) return;
    uint64_t us = edged_us() - c->t_start;
    struct up_tier_stats *t = &c->u->ed->st.tier[c->u->tier];
    unsigned i = 0;
    while (i < UP_DUR_NB && us > bounds[i]) i++;   /* at most UP_DUR_NB steps */
    t->head[i]++;
    t->head_us_sum += us;
}

/* Result of an exchange that has its head: a 5xx is an upstream error. */
static enum up_result uc_status_result(const struct uconn *c)
{
    return c->status >= 500 ? UP_RES_ERROR : UP_RES_OK;
}

/* ---- upstreams ---------------------------------------------------------- */

struct upstream *upstream_new(struct edged *ed, const struct edge_hostport *hp, enum up_tier tier)
{
    struct upstream *u = calloc(1, sizeof *u);
    if (!u) return NULL;
    u->hp = *hp;
    u->tier = tier;
    u->ed = ed;
    return u;
}

static void uc_free(struct uconn *c)
{
    if (c->bev) bufferevent_free(c->bev);
    free(c->req);
    free(c->rbody);
    free(c);
}

void upstream_free(struct upstream **up)
{
    struct upstream *u = *up;
    if (!u) return;
    while (u->idle) { struct uconn *c = u->idle; u->idle = c->next; uc_free(c); }
    if (u->probe_conn) { up_abort(u->probe_conn); u->probe_conn = NULL; }
    if (u->probe) event_free(u->probe);
    free(u);
    *up = NULL;
}

static int uc_connect(struct uconn *c)
{
    struct edged *ed = c->u->ed;
    c->bev = bufferevent_socket_new(ed->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) return -1;
    bufferevent_setcb(c->bev, uc_read, NULL, uc_event, c);
    /* default 16 KiB reads would split every body into many callbacks */
    bufferevent_set_max_single_read(c->bev, CHUNK_DEFAULT * 4);
    struct sockaddr_storage ss;
    socklen_t sl = net_addr_to_sockaddr(&c->u->hp.addr, c->u->hp.port, &ss);
    struct timeval rt = tv_ms(ed->cfg->t_first_byte), wt = tv_ms(ed->cfg->t_connect);
    bufferevent_set_timeouts(c->bev, &rt, &wt);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->connected = false;
    c->reused = false;
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, (int)sl) != 0) return -1;
    return 0;
}

static void uc_send(struct uconn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add(out, c->req, c->req_len);
    if (c->rbody_len) evbuffer_add(out, c->rbody, c->rbody_len);
}

/* up_request, or a health probe (`probe`: not counted in metrics). */
static struct uconn *request(struct upstream *u, const char *req, size_t len, const char *body,
                             size_t blen, enum http_method m, const struct up_cb *cb, void *ctx, bool probe)
{
    struct uconn *c = u->idle;
    if (c) {
        u->idle = c->next; u->nidle--;
        c->next = NULL;
        c->reused = true;
        struct timeval rt = tv_ms(u->ed->cfg->t_first_byte), wt = tv_ms(u->ed->cfg->t_send);
        bufferevent_set_timeouts(c->bev, &rt, &wt);
        bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    } else {
        c = calloc(1, sizeof *c);
        if (!c) goto failed;
        c->u = u;
    }
    c->st = UC_WAIT_HEAD;
    c->cb = cb; c->ctx = ctx; c->method = m;
    c->retried = c->aborted = c->paused = c->in_cb = c->counted = false;
    c->probe = probe;
    c->status = 0;
    c->t_start = edged_us();
    free(c->req); free(c->rbody);
    c->req = malloc(len);
    c->rbody = blen ? malloc(blen) : NULL;
    if (!c->req || (blen && !c->rbody)) { c->req_len = c->rbody_len = 0; uc_free(c); goto failed; }
    memcpy(c->req, req, len); c->req_len = len;
    if (blen) memcpy(c->rbody, body, blen);
    c->rbody_len = blen;
    if (!c->bev && uc_connect(c) != 0) { uc_free(c); goto failed; }
    uc_send(c);
    u->requests++;
    return c;
failed:
    /* a request that cannot even start is an error of its tier */
    if (tier_counted(u, probe)) u->ed->st.tier[u->tier].result[UP_RES_ERROR]++;
    return NULL;
}

struct uconn *up_request(struct upstream *u, const char *req, size_t len, const char *body,
                         size_t blen, enum http_method m, const struct up_cb *cb, void *ctx)
{
    return request(u, req, len, body, blen, m, cb, ctx, false);
}

void up_pause(struct uconn *c) { if (!c->paused) { c->paused = true; bufferevent_disable(c->bev, EV_READ); } }

void up_resume(struct uconn *c)
{
    if (!c->paused) return;
    c->paused = false;
    bufferevent_enable(c->bev, EV_READ);
    /* Data already buffered produces no new read event: process it now. */
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) && !c->in_cb) uc_read(c->bev, c);
}

static void nop_head(void *ctx, const struct http_msg *m) { (void)ctx; (void)m; }
static void nop_data(void *ctx, const char *p, size_t n) { (void)ctx; (void)p; (void)n; }
static void nop_done(void *ctx) { (void)ctx; }
static void nop_error(void *ctx, enum up_err e, bool got_head) { (void)ctx; (void)e; (void)got_head; }
static const struct up_cb nop_cb = { nop_head, nop_data, nop_done, nop_error };

void up_release(struct uconn *c)
{
    if (!c) return;
    c->cb = &nop_cb;
    c->ctx = NULL;
    if (c->paused) up_resume(c);
}

void up_abort(struct uconn *c)
{
    if (!c) return;
    /* cancelled after the head: the upstream did answer (before it, the
     * exchange has no result) */
    if (c->st == UC_BODY) uc_result(c, uc_status_result(c));
    c->aborted = true;
    if (!c->in_cb) uc_free(c);
}

/* ---- health ------------------------------------------------------------ */

void upstream_ok(struct upstream *u)
{
    u->fails = 0;
    if (u->down) {
        u->down = false;
        log_info("upstream %s is up again", u->hp.text);
        if (u->probe) event_del(u->probe);
    }
}

void upstream_failed(struct upstream *u)
{
    u->failures++;
    if (++u->fails >= u->ed->cfg->fail_threshold && !u->down) {
        u->down = true;
        log_warn("upstream %s marked down after %u consecutive failures", u->hp.text, u->fails);
        probe_start(u);
    }
}

static void probe_head(void *ctx, const struct http_msg *m)
{
    struct upstream *u = ctx;
    /* A shield is an edged: only 200 from /health counts. An origin is up
     * when it answers anything that is not a server error. */
    bool good = u->tier == UP_TIER_SHIELD ? m->status == 200 : m->status < 500;
    struct uconn *c = u->probe_conn;
    u->probe_conn = NULL;
    up_abort(c);
    if (good) upstream_ok(u);
    else probe_start(u);
}
static void probe_data(void *ctx, const char *p, size_t n) { (void)ctx; (void)p; (void)n; }
static void probe_done(void *ctx) { (void)ctx; }
static void probe_error(void *ctx, enum up_err e, bool got_head)
{
    struct upstream *u = ctx;
    (void)e; (void)got_head;
    u->probe_conn = NULL;           /* the module frees it after on_error */
    probe_start(u);
}
static const struct up_cb probe_cb = { probe_head, probe_data, probe_done, probe_error };

static void probe_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    struct upstream *u = arg;
    if (!u->down || u->probe_conn) return;
    char req[256];
    int n = snprintf(req, sizeof req, "GET /health HTTP/1.1\r\nHost: %s\r\nUser-Agent: edged-probe\r\n"
                     "Connection: close\r\n\r\n", u->hp.text);
    /* Probes never reuse pooled connections: a fresh connect is what is tested. */
    struct uconn *saved = u->idle; uint32_t saved_n = u->nidle;
    u->idle = NULL; u->nidle = 0;
    u->probe_conn = request(u, req, (size_t)n, NULL, 0, HTTP_M_GET, &probe_cb, u, true);
    u->idle = saved; u->nidle = saved_n;
    if (!u->probe_conn) probe_start(u);
}

static void probe_start(struct upstream *u)
{
    if (!u->probe) u->probe = evtimer_new(u->ed->base, probe_fire, u);
    if (!u->probe) return;
    struct timeval tv = tv_ms(u->ed->cfg->probe_interval_ms);
    evtimer_add(u->probe, &tv);
}

/* ---- I/O --------------------------------------------------------------- */

static void pool_put(struct uconn *c)
{
    struct upstream *u = c->u;
    if (!c->keep_alive || c->probe || u->nidle >= POOL_MAX ||
        evbuffer_get_length(bufferevent_get_input(c->bev)) != 0) {   /* junk after body */
        uc_free(c);
        return;
    }
    c->st = UC_IDLE;
    c->cb = NULL; c->ctx = NULL;
    free(c->req); c->req = NULL; c->req_len = 0;
    free(c->rbody); c->rbody = NULL; c->rbody_len = 0;
    struct timeval rt = tv_ms(u->ed->cfg->t_pool_idle);
    bufferevent_set_timeouts(c->bev, &rt, NULL);
    bufferevent_enable(c->bev, EV_READ);
    c->next = u->idle;
    u->idle = c;
    u->nidle++;
}

static void pool_unlink(struct uconn *c)
{
    struct upstream *u = c->u;
    for (struct uconn **pp = &u->idle; *pp; pp = &(*pp)->next)
        if (*pp == c) { *pp = c->next; u->nidle--; return; }
}

/* Terminal error: report and free. */
static void uc_fail(struct uconn *c, enum up_err e)
{
    bool got_head = c->st == UC_BODY;
    uc_result(c, e == UP_ERR_TIMEOUT ? UP_RES_TIMEOUT : UP_RES_ERROR);
    c->st = UC_DONE;
    c->in_cb = true;
    c->cb->on_error(c->ctx, e, got_head);
    uc_free(c);
}

static void uc_finish(struct uconn *c)
{
    uc_result(c, uc_status_result(c));
    c->st = UC_DONE;
    c->in_cb = true;
    c->cb->on_done(c->ctx);
    c->in_cb = false;
    if (c->aborted) { uc_free(c); return; }
    pool_put(c);
}

/* Feeds buffered body bytes to the callback. Returns false when the
 * connection was finished, failed or aborted (c may be freed). */
static bool uc_body(struct uconn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    /* Bounded: each pass consumes at least one byte or returns. */
    while (!c->paused) {
        if (c->body == HTTP_BODY_LENGTH && c->remaining == 0) { uc_finish(c); return false; }
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0) return true;
        const char *p = v.iov_base;
        size_t n = v.iov_len;
        if (c->body == HTTP_BODY_LENGTH) {
            if (n > c->remaining) n = (size_t)c->remaining;
            c->remaining -= n;
            c->in_cb = true;
            c->cb->on_data(c->ctx, p, n);
            c->in_cb = false;
            evbuffer_drain(in, n);
        } else if (c->body == HTTP_BODY_CLOSE) {
            c->in_cb = true;
            c->cb->on_data(c->ctx, p, n);
            c->in_cb = false;
            evbuffer_drain(in, n);
        } else {
            size_t used; const char *d; size_t dl;
            enum chunk_rc rc = chunk_decode(&c->cd, p, n, &used, &d, &dl);
            if (rc == CHUNK_BAD) { uc_fail(c, UP_ERR_PROTO); return false; }
            if (rc == CHUNK_DATA) {
                c->in_cb = true;
                c->cb->on_data(c->ctx, d, dl);
                c->in_cb = false;
            }
            evbuffer_drain(in, used);
            if (rc == CHUNK_END) { if (!c->aborted) uc_finish(c); else uc_free(c); return false; }
        }
        if (c->aborted) { uc_free(c); return false; }
    }
    return true;
}

static void uc_read(struct bufferevent *bev, void *arg)
{
    struct uconn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (c->st == UC_IDLE) {          /* unsolicited bytes on an idle conn */
        pool_unlink(c);
        uc_free(c);
        return;
    }
    const struct http_limits *lim = &c->u->ed->up_lim;
    /* 1xx interim responses are skipped; at most 8 before giving up. */
    for (int interim = 0; c->st == UC_WAIT_HEAD; interim++) {
        size_t n = evbuffer_get_length(in);
        if (n == 0) return;
        size_t take = n < lim->max_head ? n : lim->max_head;
        const char *p = (const char *)evbuffer_pullup(in, (ssize_t)take);
        struct http_msg m;
        enum http_parse rc = http_parse_response(p, take, lim, c->method, &m);
        if (rc == HTTP_PARSE_INCOMPLETE) return;
        if (rc != HTTP_PARSE_OK || m.status == 101 || interim >= 8) {
            log_ratelimited(LOG_LVL_WARN, "upstream %s: invalid response head", c->u->hp.text);
            uc_fail(c, UP_ERR_PROTO);
            return;
        }
        if (m.status < 200) { evbuffer_drain(in, m.head_len); continue; }
        c->st = UC_BODY;
        c->body = m.body;
        c->remaining = m.content_length;
        c->keep_alive = m.keep_alive;
        chunk_dec_init(&c->cd);
        c->status = (uint16_t)m.status;
        uc_head_time(c);
        struct timeval rt = tv_ms(c->u->ed->cfg->t_upstream_idle);
        bufferevent_set_timeouts(bev, &rt, NULL);
        c->in_cb = true;
        c->cb->on_head(c->ctx, &m);
        c->in_cb = false;
        evbuffer_drain(in, m.head_len);
        if (c->aborted) { uc_free(c); return; }
        if (c->body == HTTP_BODY_NONE) { uc_finish(c); return; }
    }
    if (c->st == UC_BODY) uc_body(c);
}

static void uc_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct uconn *c = arg;
    if (what & BEV_EVENT_CONNECTED) { c->connected = true; return; }
    if (c->st == UC_IDLE) { pool_unlink(c); uc_free(c); return; }
    if (c->st == UC_BODY && c->body == HTTP_BODY_CLOSE && (what & BEV_EVENT_EOF)) {
        /* Close-delimited body: EOF is the end, but only after all data. */
        if (uc_body(c)) { c->keep_alive = false; if (!c->paused) uc_finish(c); }
        return;
    }
    if (c->st == UC_WAIT_HEAD && c->reused && !c->retried &&
        (c->method == HTTP_M_GET || c->method == HTTP_M_HEAD) &&
        evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 && !(what & BEV_EVENT_TIMEOUT)) {
        /* The server closed a pooled connection we had just reused (a race
         * with its keep-alive timeout): retry once on a fresh connection. */
        bufferevent_free(c->bev);
        c->bev = NULL;
        c->retried = true;
        if (uc_connect(c) == 0) { c->retried = true; uc_send(c); return; }
        uc_fail(c, UP_ERR_CONNECT);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) uc_fail(c, UP_ERR_TIMEOUT);
    else if (!c->connected) uc_fail(c, UP_ERR_CONNECT);
    else uc_fail(c, c->st == UC_BODY ? UP_ERR_CLOSED : UP_ERR_CLOSED);
}
