/* edge/admin.c: purge API and metrics (see admin.h). */
#include "edge/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "common/log.h"
#include "common/prom.h"
#include "edge/disk.h"
#include "edge/proxy.h"

struct aconn {
    struct edged *ed;
    struct bufferevent *bev;
    bool closing;
};

static void a_free(struct aconn *a)
{
    bufferevent_free(a->bev);
    free(a);
}

static void a_write(struct bufferevent *bev, void *arg)
{
    struct aconn *a = arg;
    if (a->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0) a_free(a);
}

static void a_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev; (void)what;
    a_free(arg);
}

static void a_reply(struct aconn *a, int status, const char *ctype, const char *body, size_t bl)
{
    char h[512];
    int n = snprintf(h, sizeof h, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: edged\r\nContent-Type: %s\r\n"
                     "Cache-Control: no-store\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, http_reason(status), a->ed->date, ctype, bl);
    struct evbuffer *out = bufferevent_get_output(a->bev);
    evbuffer_add(out, h, (size_t)n);
    evbuffer_add(out, body, bl);
    a->closing = true;
    bufferevent_disable(a->bev, EV_READ);
}

/* Percent-decodes src[0..n) into dst (size dsz). Returns length or -1. */
static int pct_decode(const char *src, size_t n, char *dst, size_t dsz)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o + 1 >= dsz) return -1;
        char c = src[i];
        if (c == '%') {
            if (i + 2 >= n) return -1;
            int hi = -1, lo = -1;
            char a = src[i + 1], b = src[i + 2];
            hi = (a >= '0' && a <= '9') ? a - '0' : (a >= 'a' && a <= 'f') ? a - 'a' + 10 : (a >= 'A' && a <= 'F') ? a - 'A' + 10 : -1;
            lo = (b >= '0' && b <= '9') ? b - '0' : (b >= 'a' && b <= 'f') ? b - 'a' + 10 : (b >= 'A' && b <= 'F') ? b - 'A' + 10 : -1;
            if (hi < 0 || lo < 0) return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == 0) return -1;
        dst[o++] = c;
    }
    dst[o] = 0;
    return (int)o;
}

static bool qget(const char *q, size_t qlen, const char *name, char *out, size_t osz)
{
    size_t nl = strlen(name);
    const char *p = q, *end = q + qlen;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if ((size_t)(e - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=')
            return pct_decode(p + nl + 1, (size_t)(e - p - (ptrdiff_t)nl - 1), out, osz) >= 0;
        p = amp ? amp + 1 : NULL;
    }
    return false;
}

/* ---- purge ------------------------------------------------------------- */

struct purge_ctx { enum purge_kind kind; const char *arg; size_t alen; const char *arg2; size_t alen2; bool soft; size_t n; };

static void purge_one(struct store *s, struct obj *o, void *arg)
{
    struct purge_ctx *p = arg;
    bool hit;
    if (p->kind == PURGE_PREFIX) {
        hit = (o->ce->klen >= p->alen && memcmp(o->ce->key, p->arg, p->alen) == 0) ||
              (p->arg2 && o->ce->klen >= p->alen2 && memcmp(o->ce->key, p->arg2, p->alen2) == 0);
    } else {
        hit = o->skeys && strstr(o->skeys, p->arg) != NULL;
    }
    if (!hit) return;
    p->n++;
    if (p->soft) o->soft_purged = true;
    else store_remove(s, o);
}

/* Splits "http://host[:port]/path?q" into parts. */
static int split_url(const char *u, bool *tls, const char **host, size_t *hl, const char **path,
                     size_t *pl, const char **q, size_t *ql)
{
    if (strncmp(u, "http://", 7) == 0) { *tls = false; u += 7; }
    else if (strncmp(u, "https://", 8) == 0) { *tls = true; u += 8; }
    else return -1;
    *host = u;
    const char *slash = strchr(u, '/');
    if (!slash || slash == u) return -1;
    *hl = (size_t)(slash - u);
    const char *qm = strchr(slash, '?');
    *path = slash;
    *pl = qm ? (size_t)(qm - slash) : strlen(slash);
    *q = qm ? qm + 1 : NULL;
    *ql = qm ? strlen(qm + 1) : 0;
    return 0;
}

size_t admin_purge(struct edged *ed, enum purge_kind kind, const char *arg, bool soft)
{
    size_t n = 0;
    ed->st.purges++;
    if (kind == PURGE_URL) {
        bool tls; const char *h, *p, *q; size_t hl, pl, ql;
        if (split_url(arg, &tls, &h, &hl, &p, &pl, &q, &ql) != 0) return 0;
        const struct edge_site *site = edge_config_site(ed->cfg, h, hl);
        if (!site) return 0;
        for (int scheme = 0; scheme < 2; scheme++) {
            char key[4096];
            size_t kl = proxy_cache_key(site, scheme == 1, h, hl, p, pl, q, ql, key, sizeof key);
            if (!kl) continue;
            struct centry *ce = store_entry(ed->store, key, kl, false);
            /* bounded by the variant count; store_remove may free ce with the last one */
            while (ce && ce->variants) {
                struct obj *o = ce->variants;
                n++;
                if (soft) {
                    for (struct obj *v = ce->variants; v; v = v->vnext) { v->soft_purged = true; n++; }
                    n--;
                    break;
                }
                bool last = !o->vnext && !ce->pending && !ce->pins;
                store_remove(ed->store, o);
                if (last) break;
            }
            if (ed->disk) disk_remove(ed->disk, key, kl);
        }
    } else if (kind == PURGE_PREFIX) {
        /* the prefix in the keys' form (host lower case, no port), for
         * both schemes when it names one */
        char pfx[4096 + 2], alt[sizeof pfx + 1];
        size_t pl = proxy_key_prefix(arg, strlen(arg), pfx, sizeof pfx);
        if (!pl) return 0;
        const char *a2 = NULL; size_t a2l = 0;
        int r = -1;
        if (strncmp(pfx, "http://", 7) == 0) r = snprintf(alt, sizeof alt, "https://%s", pfx + 7);
        else if (strncmp(pfx, "https://", 8) == 0) r = snprintf(alt, sizeof alt, "http://%s", pfx + 8);
        if (r > 0 && (size_t)r < sizeof alt) { a2 = alt; a2l = (size_t)r; }
        struct purge_ctx pc = { kind, pfx, pl, a2, a2l, soft, 0 };
        store_foreach(ed->store, purge_one, &pc);
        n = pc.n;
        if (ed->disk) { disk_purge(ed->disk, pfx, NULL); if (a2) disk_purge(ed->disk, a2, NULL); }
    } else {
        char t[300];
        snprintf(t, sizeof t, " %s ", arg);
        struct purge_ctx pc = { kind, t, strlen(t), NULL, 0, soft, 0 };
        store_foreach(ed->store, purge_one, &pc);
        n = pc.n;
        if (ed->disk) disk_purge(ed->disk, NULL, arg);
    }
    ed->st.purged_objects += n;
    return n;
}

/* ---- propagation ------------------------------------------------------- */

static void prop_head(void *ctx, const struct http_msg *m)
{
    struct upstream *u = ctx;
    if (m->status != 200) log_ratelimited(LOG_LVL_WARN, "purge propagation to %s: status %d", u->hp.text, m->status);
}
static void prop_data(void *ctx, const char *p, size_t n) { (void)ctx; (void)p; (void)n; }
static void prop_done(void *ctx) { (void)ctx; }
static void prop_error(void *ctx, enum up_err e, bool got_head)
{
    struct upstream *u = ctx;
    (void)got_head;
    log_ratelimited(LOG_LVL_WARN, "purge propagation to %s failed (%d)", u->hp.text, (int)e);
}
static const struct up_cb prop_cb = { prop_head, prop_data, prop_done, prop_error };

int admin_init(struct edged *ed)
{
    for (unsigned i = 0; i < ed->cfg->npropagate; i++) {
        ed->prop[i] = upstream_new(ed, &ed->cfg->propagate[i], UP_TIER_ADMIN);
        if (!ed->prop[i]) return -1;
        ed->nprop++;
    }
    return 0;
}

void admin_shutdown(struct edged *ed)
{
    for (unsigned i = 0; i < ed->nprop; i++) upstream_free(&ed->prop[i]);
    ed->nprop = 0;
}

static void propagate(struct edged *ed, const struct http_msg *m)
{
    char req[8192 + 512];
    for (unsigned i = 0; i < ed->nprop; i++) {
        int n = snprintf(req, sizeof req, "POST %.*s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                         "Content-Length: 0\r\nConnection: close\r\n\r\n",
                         (int)m->target_len, m->target, ed->prop[i]->hp.text, ed->cfg->admin_token);
        if (n <= 0 || (size_t)n >= sizeof req) return;
        /* fire and forget: the connection completes on its own */
        up_request(ed->prop[i], req, (size_t)n, NULL, 0, HTTP_M_POST, &prop_cb, ed->prop[i]);
    }
}

/* ---- metrics ----------------------------------------------------------- */

/* edged_upstream_results_total{tier,result} and
 * edged_upstream_duration_seconds{tier} (see upstream.h). */
static void upstream_tier_metrics(struct evbuffer *b, const struct edge_stats *s)
{
    static const uint64_t bounds_us[UP_DUR_NB] = UP_DUR_BOUNDS_US;
    double bounds[UP_DUR_NB];
    for (int i = 0; i < UP_DUR_NB; i++) bounds[i] = (double)bounds_us[i] / 1e6;
    struct prom_labels l;
    prom_family(b, "edged_upstream_results_total", PROM_COUNTER,
                "Exchanges with origins and shields by how they ended: ok (a response below 500), "
                "error (5xx, refused, reset, invalid or truncated), timeout.");
    for (int t = 0; t < UP_TIERS; t++)
        for (int r = 0; r < UP_RESULTS; r++) {
            prom_labels_init(&l);
            prom_label(&l, "tier", up_tier_name((enum up_tier)t));
            prom_label(&l, "result", up_result_name((enum up_result)r));
            prom_u64(b, "edged_upstream_results_total", &l, s->tier[t].result[r]);
        }
    prom_family(b, "edged_upstream_duration_seconds", PROM_HISTOGRAM,
                "Time from issuing a request to an origin or shield (connect included when no pooled "
                "connection was free) to its parsed response headers, not the whole body; by tier.");
    for (int t = 0; t < UP_TIERS; t++) {
        prom_labels_init(&l);
        prom_label(&l, "tier", up_tier_name((enum up_tier)t));
        prom_histogram(b, "edged_upstream_duration_seconds", &l, bounds, s->tier[t].head, UP_DUR_NB,
                       (double)s->tier[t].head_us_sum / 1e6);
    }
}

static void metrics(struct aconn *a)
{
    struct edged *ed = a->ed;
    const struct edge_stats *s = &ed->st;
    struct evbuffer *b = evbuffer_new();
    if (!b) { a_reply(a, 500, "text/plain", "oom\n", 4); return; }
#define C(name, help, v) evbuffer_add_printf(b, "# HELP edged_" name " " help "\n# TYPE edged_" name " counter\nedged_" name " %llu\n", (unsigned long long)(v))
#define G(name, help, v) evbuffer_add_printf(b, "# HELP edged_" name " " help "\n# TYPE edged_" name " gauge\nedged_" name " %llu\n", (unsigned long long)(v))
    C("requests_total", "Client requests answered.", s->requests);
    C("cache_hits_total", "Fresh cache hits.", s->hits);
    C("cache_misses_total", "Cache misses fetched upstream.", s->misses);
    C("cache_stale_total", "Stale responses served (stale-while-revalidate, stale-if-error, max-stale).", s->stale);
    C("cache_revalidated_total", "Stale entries revalidated with 304.", s->revalidated);
    C("pass_total", "Requests passed upstream uncached.", s->pass);
    C("collapsed_total", "Requests collapsed onto a running fetch.", s->collapsed);
    evbuffer_add_printf(b, "# HELP edged_responses_total Responses by status class.\n# TYPE edged_responses_total counter\n");
    for (int i = 1; i <= 5; i++)
        evbuffer_add_printf(b, "edged_responses_total{class=\"%dxx\"} %llu\n", i, (unsigned long long)s->status[i]);
    C("sent_bytes_total", "Bytes sent to clients.", s->bytes_out);
    C("upstream_bytes_total", "Body bytes received from upstreams.", s->bytes_upstream);
    C("upstream_requests_total", "Upstream requests attempted.", s->up_requests);
    C("upstream_failures_total", "Upstream attempts that failed.", s->up_failures);
    C("upstream_fallbacks_total", "Shield failures answered by the next upstream.", s->up_fallbacks);
    upstream_tier_metrics(b, s);
    evbuffer_add_printf(b, "# HELP edged_upstream_up Upstream not marked down (1) or down (0).\n# TYPE edged_upstream_up gauge\n");
    for (unsigned i = 0; i < ed->cfg->nsites; i++) {
        const struct site_rt *st = &ed->sites[i];
        /* site names are free text in the config: escaped (common/prom.h) */
        for (unsigned j = 0; j <= st->nshields; j++) {
            const struct upstream *u = j ? st->shields[j - 1] : st->origin;
            struct prom_labels l;
            prom_labels_init(&l);
            prom_label(&l, "site", st->cfg->name);
            prom_label(&l, "role", j ? "shield" : "origin");
            prom_label(&l, "addr", u->hp.text);
            prom_u64(b, "edged_upstream_up", &l, !u->down);
        }
    }
    struct store_stats ss;
    store_get_stats(ed->store, &ss);
    G("cache_objects", "Objects in the memory tier.", ss.objects);
    G("cache_bytes", "Bytes accounted to the memory tier.", ss.bytes);
    C("cache_evictions_total", "Memory tier LRU evictions.", ss.evictions);
    if (ed->disk) {
        struct disk_stats ds;
        disk_get_stats(ed->disk, &ds);
        G("disk_objects", "Objects in the disk tier.", ds.files);
        G("disk_bytes", "Bytes in the disk tier.", ds.bytes);
        C("disk_writes_total", "Objects written to disk.", ds.writes);
        C("disk_loads_total", "Objects loaded from disk.", ds.loads);
        C("disk_corrupt_total", "Disk objects rejected by checksum or header checks.", ds.corrupt);
        C("disk_evictions_total", "Disk tier LRU evictions.", ds.evictions);
    }
    C("purges_total", "Purge requests.", s->purges);
    C("purged_objects_total", "Objects purged.", s->purged_objects);
    C("signed_url_denied_total", "Requests refused for a missing, bad or expired signature.", s->signed_denied);
    G("connections_open", "Open client connections.", s->conns_open);
    C("connections_total", "Accepted client connections.", s->conns_total);
#undef C
#undef G
    size_t n = evbuffer_get_length(b);
    char *body = malloc(n ? n : 1);
    if (body) {
        evbuffer_remove(b, body, n);
        a_reply(a, 200, "text/plain; version=0.0.4", body, n);
        free(body);
    } else {
        a_reply(a, 500, "text/plain", "oom\n", 4);
    }
    evbuffer_free(b);
}

/* ---- requests ---------------------------------------------------------- */

static bool token_ok(const struct edged *ed, const struct http_msg *m)
{
    const struct http_hdr *h = http_find(m, "authorization");
    const char *tok = ed->cfg->admin_token;
    size_t tl = strlen(tok);
    if (!h || h->vlen != tl + 7 || strncasecmp(h->value, "Bearer ", 7) != 0) return false;
    return CRYPTO_memcmp(h->value + 7, tok, tl) == 0;
}

static void a_handle(struct aconn *a, const struct http_msg *m)
{
    struct edged *ed = a->ed;
    edged_clock(ed);
    if (m->path_len == 8 && memcmp(m->path, "/metrics", 8) == 0 && m->method == HTTP_M_GET) { metrics(a); return; }
    if (m->path_len == 7 && memcmp(m->path, "/health", 7) == 0) {
        bool ok = proxy_healthy(ed);
        a_reply(a, ok ? 200 : 503, "text/plain", ok ? "ok\n" : "unavailable\n", ok ? 3 : 12);
        return;
    }
    if (m->path_len == 6 && memcmp(m->path, "/purge", 6) == 0) {
        if (m->method != HTTP_M_POST && m->method != HTTP_M_OTHER) { a_reply(a, 405, "text/plain", "use POST\n", 9); return; }
        if (!token_ok(ed, m)) { a_reply(a, 401, "text/plain", "token required\n", 15); return; }
        char arg[4096], soft[8], prop[8];
        enum purge_kind k;
        if (qget(m->query, m->query_len, "url", arg, sizeof arg)) k = PURGE_URL;
        else if (qget(m->query, m->query_len, "prefix", arg, sizeof arg)) k = PURGE_PREFIX;
        else if (qget(m->query, m->query_len, "key", arg, sizeof arg)) k = PURGE_KEY;
        else { a_reply(a, 400, "text/plain", "need url=, prefix= or key=\n", 27); return; }
        if (k == PURGE_PREFIX && !arg[0]) {   /* "everything" is prefix=http:// */
            a_reply(a, 400, "text/plain", "empty prefix\n", 13); return;
        }
        if (k == PURGE_KEY && (strchr(arg, ' ') || strlen(arg) > 256 || !arg[0])) {
            a_reply(a, 400, "text/plain", "bad key\n", 8); return;
        }
        bool is_soft = qget(m->query, m->query_len, "soft", soft, sizeof soft) && strcmp(soft, "1") == 0;
        size_t n = admin_purge(ed, k, arg, is_soft);
        bool no_prop = qget(m->query, m->query_len, "propagate", prop, sizeof prop) && strcmp(prop, "0") == 0;
        if (!no_prop) propagate(ed, m);
        char body[128];
        int bl = snprintf(body, sizeof body, "{\"purged\":%zu,\"soft\":%s,\"propagated\":%u}\n", n,
                          is_soft ? "true" : "false", no_prop ? 0 : ed->nprop);
        log_info("purge %s %s%s: %zu objects", k == PURGE_URL ? "url" : k == PURGE_PREFIX ? "prefix" : "key",
                 arg, is_soft ? " (soft)" : "", n);
        a_reply(a, 200, "application/json", body, (size_t)bl);
        return;
    }
    a_reply(a, 404, "text/plain", "not found\n", 10);
}

static void a_read(struct bufferevent *bev, void *arg)
{
    struct aconn *a = arg;
    if (a->closing) return;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    size_t take = n < a->ed->lim.max_head ? n : a->ed->lim.max_head;
    const char *p = (const char *)evbuffer_pullup(in, (ssize_t)take);
    struct http_msg m;
    enum http_parse rc = http_parse_request(p, take, &a->ed->lim, &m);
    if (rc == HTTP_PARSE_INCOMPLETE) return;
    if (rc != HTTP_PARSE_OK) { a_reply(a, rc == HTTP_PARSE_TOO_LARGE ? 431 : 400, "text/plain", "bad request\n", 12); return; }
    a_handle(a, &m);
}

void admin_accept(struct edged *ed, evutil_socket_t fd)
{
    struct aconn *a = calloc(1, sizeof *a);
    if (!a) { evutil_closesocket(fd); return; }
    a->ed = ed;
    evutil_make_socket_nonblocking(fd);
    a->bev = bufferevent_socket_new(ed->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!a->bev) { evutil_closesocket(fd); free(a); return; }
    bufferevent_setcb(a->bev, a_read, a_write, a_event, a);
    struct timeval tv = { 10, 0 };
    bufferevent_set_timeouts(a->bev, &tv, &tv);
    bufferevent_enable(a->bev, EV_READ | EV_WRITE);
}
