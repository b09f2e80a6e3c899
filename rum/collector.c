/* rum/collector.c: beacon HTTP endpoint, aggregation, score publication,
 * snapshots (see collector.h). */
#include "rum/collector.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include "common/log.h"
#include "geo/geo.h"
#include "rum/aggregate.h"
#include "rum/persist.h"
#include "rum/ratelimit.h"

/* ---------------------------------------------------------------- types */

#define COLLECTOR_MAGIC 0x52554d43u   /* "RUMC" */
#define HTTP_TIMEOUT_S  10            /* a beacon is one small request; idle peers go */
#define HTTP_MAX_HEADERS 16384        /* Origin, XFF, UA, cookies of the operator's site */

struct rum_collector {
    uint32_t magic;
    const struct rum_config *cfg;
    const struct geo_set *geo;
    struct rum_lookup lk;
    const struct rum_pool_set *pools;
    int64_t (*clock_ms)(void *);
    void *clock_arg;

    struct event_base *base;
    struct evhttp *http;
    struct event *recompute_ev, *snapshot_ev;
    int fd;
    uint16_t port;
    pthread_t thread;
    bool started, stopped;

    struct rum_agg *agg;
    struct rum_ratelimit *rl;
    struct steer_rum_table *table;     /* RCU-published */
    struct rum_meas *meas;             /* [max_batch] parse scratch */
    char *script;

    _Atomic uint64_t beacons, measurements, rejected[RUM_NREASONS], kind[RUM_NKINDS];
    _Atomic uint64_t recomputes, snapshots, snapshot_errors, cells, cell_evictions, rl_evictions, version;
    _Atomic uint64_t per_prov[RUM_COUNTED_PROVIDERS];
};

static int64_t now_ms(const struct rum_collector *c)
{
    if (c->clock_ms)
        return c->clock_ms(c->clock_arg);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define INC(x) atomic_fetch_add_explicit(&(x), 1, memory_order_relaxed)
#define SET(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)
#define GET(x) atomic_load_explicit(&(x), memory_order_relaxed)

/* ------------------------------------------------------------ publishing */

int rum_collector_recompute(struct rum_collector *c)
{
    struct steer_rum_table *t = rum_table_build(c->agg, c->pools, &c->cfg->params, c->table, now_ms(c));
    if (!t)
        return -1;
    /* release/acquire atomics instead of rcu_xchg_pointer/rcu_dereference:
     * the same instructions on x86 and ARMv8, and visible to ThreadSanitizer */
    struct steer_rum_table *old = __atomic_exchange_n(&c->table, t, __ATOMIC_ACQ_REL);
    urcu_memb_synchronize_rcu();   /* no reader holds `old` after this */
    rum_table_free(&old);
    INC(c->recomputes);
    SET(c->version, rum_table_version(t));
    SET(c->cells, rum_agg_count(c->agg));
    SET(c->cell_evictions, rum_agg_evictions(c->agg));
    SET(c->rl_evictions, rum_rl_evictions(c->rl));
    return 0;
}

const struct steer_rum_table *rum_collector_table(struct rum_collector *c)
{
    return __atomic_load_n(&c->table, __ATOMIC_ACQUIRE);
}

static void snapshot(struct rum_collector *c)
{
    if (!c->cfg->state_file[0])
        return;
    char err[512];
    if (rum_snapshot_save(c->agg, &c->lk, c->cfg->state_file, now_ms(c), err, sizeof err) != RUM_P_OK) {
        INC(c->snapshot_errors);
        log_ratelimited(LOG_LVL_ERR, "rum snapshot: %s", err);
        return;
    }
    INC(c->snapshots);
}

static void on_recompute(evutil_socket_t fd, short ev, void *arg)
{
    struct rum_collector *c = arg;
    if (rum_collector_recompute(c) < 0)
        log_ratelimited(LOG_LVL_ERR, "rum: score table rebuild failed (out of memory)");
}

static void on_snapshot(evutil_socket_t fd, short ev, void *arg)
{
    snapshot(arg);
}

/* ------------------------------------------------------------------ HTTP */

static bool origin_allowed(const struct rum_config *cfg, const char *o)
{
    if (cfg->any_origin)
        return true;
    for (unsigned i = 0; i < cfg->norigins; i++)
        if (!strcmp(cfg->origins[i], o))
            return true;
    return false;
}

static bool trusted_proxy(const struct rum_config *cfg, const struct net_addr *a)
{
    for (unsigned i = 0; i < cfg->nproxies; i++)
        if (net_prefix_contains(&cfg->proxies[i], a))
            return true;
    return false;
}

/* The client address of a request (see collector.h). */
static void client_addr(const struct rum_collector *c, struct evhttp_request *req, struct net_addr *out)
{
    struct evhttp_connection *con = evhttp_request_get_connection(req);
    const struct sockaddr *sa = evhttp_connection_get_addr(con);
    uint16_t port;
    memset(out, 0, sizeof *out);
    if (!sa)
        return;
    net_addr_from_sockaddr(sa, out, &port);
    if (!c->cfg->nproxies || !trusted_proxy(c->cfg, out))
        return;
    const char *xff = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Forwarded-For");
    if (!xff)
        return;
    size_t end = strlen(xff);
    for (int hop = 0; hop < RUM_XFF_MAX && end > 0; hop++) {   /* right to left */
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        char buf[64];
        size_t s = start, e = end;
        while (s < e && (xff[s] == ' ' || xff[s] == '\t'))
            s++;
        while (e > s && (xff[e - 1] == ' ' || xff[e - 1] == '\t'))
            e--;
        struct net_addr a;
        if (e - s == 0 || e - s >= sizeof buf)
            return;
        memcpy(buf, xff + s, e - s);
        buf[e - s] = 0;
        if (net_addr_parse(buf, &a) < 0)
            return;   /* garbage: keep the last trustworthy address */
        *out = a;
        if (!trusted_proxy(c->cfg, &a))
            return;
        end = start > 0 ? start - 1 : 0;
    }
}

static void add_cors(const struct rum_collector *c, struct evhttp_request *req)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    const char *origin = evhttp_find_header(evhttp_request_get_input_headers(req), "Origin");
    if (c->cfg->any_origin) {
        evhttp_add_header(out, "Access-Control-Allow-Origin", "*");
    } else if (origin && origin_allowed(c->cfg, origin)) {
        evhttp_add_header(out, "Access-Control-Allow-Origin", origin);
        evhttp_add_header(out, "Vary", "Origin");
    }
}

static void reply(struct evhttp_request *req, int code, const char *reason, const char *ctype, const char *body)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Cache-Control", "no-store");
    if (!body) {
        evhttp_send_reply(req, code, reason, NULL);
        return;
    }
    struct evbuffer *b = evbuffer_new();
    if (!b) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evhttp_add_header(out, "Content-Type", ctype);
    evbuffer_add(b, body, strlen(body));
    evhttp_send_reply(req, code, reason, b);
    evbuffer_free(b);
}

static void reject(struct rum_collector *c, struct evhttp_request *req, enum rum_reason r)
{
    INC(c->rejected[r]);
    int code = 400;
    const char *why = "Bad Request";
    switch (r) {
    case RUM_R_TOO_LARGE: code = 413; why = "Payload Too Large"; break;
    case RUM_R_ORIGIN: code = 403; why = "Forbidden"; break;
    case RUM_R_RATE: code = 429; why = "Too Many Requests"; break;
    case RUM_R_METHOD: code = 405; why = "Method Not Allowed"; break;
    default: break;
    }
    char body[64];
    snprintf(body, sizeof body, "%s\n", rum_reason_name(r));
    reply(req, code, why, "text/plain", body);
}

void rum_collector_ingest(struct rum_collector *c, const struct net_addr *client, const struct rum_meas *m, size_t n)
{
    struct rum_geo g = { 0 };
    if (c->geo && client->family) {
        struct geo_loc loc;
        struct geo_asn asn;
        geo_lookup_loc(c->geo, client, &loc);
        geo_lookup_asn(c->geo, client, &asn);
        rum_geo_from(&loc, &asn, &g);
    }
    for (size_t i = 0; i < n; i++) {
        rum_agg_add(c->agg, &g, &m[i]);
        INC(c->kind[m[i].kind]);
        if (m[i].provider < RUM_COUNTED_PROVIDERS)
            INC(c->per_prov[m[i].provider]);
    }
    INC(c->beacons);
    atomic_fetch_add_explicit(&c->measurements, n, memory_order_relaxed);
}

static void handle_beacon(struct rum_collector *c, struct evhttp_request *req, enum evhttp_cmd_type cmd)
{
    add_cors(c, req);
    if (cmd == EVHTTP_REQ_OPTIONS) {
        struct evkeyvalq *out = evhttp_request_get_output_headers(req);
        evhttp_add_header(out, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        evhttp_add_header(out, "Access-Control-Allow-Headers", "Content-Type");
        evhttp_add_header(out, "Access-Control-Max-Age", "86400");   /* browsers cap it lower anyway */
        reply(req, 204, "No Content", NULL, NULL);
        return;
    }
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, POST, OPTIONS");
        reject(c, req, RUM_R_METHOD);
        return;
    }
    const char *origin = evhttp_find_header(evhttp_request_get_input_headers(req), "Origin");
    if (origin && !origin_allowed(c->cfg, origin)) {
        reject(c, req, RUM_R_ORIGIN);
        return;
    }
    struct net_addr client;
    client_addr(c, req, &client);
    int64_t now = now_ms(c);
    if (!rum_rl_allow(c->rl, &client, now)) {
        reject(c, req, RUM_R_RATE);
        return;
    }
    struct rum_parse_opts po = { .now_ms = now, .max_age_ms = c->cfg->max_age_ms,
                                 .max_batch = c->cfg->max_batch, .max_body = c->cfg->max_body };
    size_t n = 0;
    enum rum_reason r;
    if (cmd == EVHTTP_REQ_POST) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(in);
        if (len > c->cfg->max_body) {
            reject(c, req, RUM_R_TOO_LARGE);
            return;
        }
        const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
        r = rum_beacon_parse_json(body, len, &po, &c->lk, c->meas, &n);
    } else {
        const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
        r = rum_beacon_parse_query(q ? q : "", q ? strlen(q) : 0, &po, &c->lk, c->meas, &n);
    }
    if (r != RUM_R_OK) {
        reject(c, req, r);
        return;
    }
    rum_collector_ingest(c, &client, c->meas, n);
    reply(req, 204, "No Content", NULL, NULL);
}

/* GET /rum/scores?client=IP[&pool=N]: what the table says for a client. */
static void handle_scores(struct rum_collector *c, struct evhttp_request *req)
{
    struct evkeyvalq q;
    const char *qs = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    if (evhttp_parse_query_str(qs ? qs : "", &q) < 0) {
        reply(req, 400, "Bad Request", "text/plain", "bad query\n");
        return;
    }
    const char *cl = evhttp_find_header(&q, "client"), *pl = evhttp_find_header(&q, "pool");
    struct net_addr a;
    if (!cl || net_addr_parse(cl, &a) < 0) {
        evhttp_clear_headers(&q);
        reply(req, 400, "Bad Request", "text/plain", "client=IP required\n");
        return;
    }
    uint32_t pool = pl ? (uint32_t)strtoul(pl, NULL, 10) : 0;
    evhttp_clear_headers(&q);
    struct rum_geo g = { 0 };
    if (c->geo) {
        struct geo_loc loc;
        struct geo_asn asn;
        geo_lookup_loc(c->geo, &a, &loc);
        geo_lookup_asn(c->geo, &a, &asn);
        rum_geo_from(&loc, &asn, &g);
    }
    const struct steer_rum_table *t = c->table;   /* this thread is the writer */
    json_t *o = json_object(), *sc = json_object(), *rk = json_array();
    json_object_set_new(o, "asn", json_integer(g.asn));
    json_object_set_new(o, "country", json_string(g.country));
    json_object_set_new(o, "continent", json_string(g.continent));
    json_object_set_new(o, "version", json_integer(t ? (json_int_t)rum_table_version(t) : 0));
    for (unsigned i = 0; i < RUM_COUNTED_PROVIDERS && c->lk.provider_name; i++) {
        const char *nm = c->lk.provider_name(c->lk.ctx, i);
        if (!nm)
            break;
        struct rum_score s;
        enum rum_level l = rum_table_score(t, &g, (uint16_t)i, &s);
        if (l == RUM_LVL_NONE)
            continue;
        json_t *e = json_object();
        json_object_set_new(e, "level", json_string(rum_level_name(l)));
        json_object_set_new(e, "samples", json_real(s.samples));
        json_object_set_new(e, "success", json_real(s.success));
        json_object_set_new(e, "p50", json_real(s.p50));
        json_object_set_new(e, "p95", json_real(s.p95));
        json_object_set_new(e, "cost", json_real(s.cost));
        json_object_set_new(e, "trusted", json_boolean(s.trusted));
        json_object_set_new(sc, nm, e);
    }
    uint16_t order[RUM_POOL_MAX];
    enum rum_level lvl;
    unsigned n = rum_table_ranking(t, &g, pool, order, RUM_POOL_MAX, &lvl);
    for (unsigned i = 0; i < n; i++) {
        const char *nm = c->lk.provider_name ? c->lk.provider_name(c->lk.ctx, order[i]) : NULL;
        json_array_append_new(rk, nm ? json_string(nm) : json_integer(order[i]));
    }
    json_object_set_new(o, "scores", sc);
    json_object_set_new(o, "ranking", rk);
    json_object_set_new(o, "level", json_string(rum_level_name(lvl)));
    char *txt = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!txt) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    reply(req, 200, "OK", "application/json", txt);
    free(txt);
}

static void handle(struct evhttp_request *req, void *arg)
{
    struct rum_collector *c = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (!path)
        path = "";
    if (!strcmp(path, "/rum")) {
        handle_beacon(c, req, cmd);
    } else if (!strcmp(path, "/rum.js") && (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD)) {
        add_cors(c, req);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "public, max-age=300");
        struct evbuffer *b = evbuffer_new();
        if (!b) {
            evhttp_send_error(req, 500, NULL);
            return;
        }
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/javascript");
        evbuffer_add(b, c->script, strlen(c->script));
        evhttp_send_reply(req, 200, "OK", b);
        evbuffer_free(b);
    } else if (c->cfg->debug_endpoint && !strcmp(path, "/rum/scores") && cmd == EVHTTP_REQ_GET) {
        handle_scores(c, req);
    } else if (c->cfg->debug_endpoint && !strcmp(path, "/rum/metrics") && cmd == EVHTTP_REQ_GET) {
        char buf[16384];
        rum_collector_metrics(c, buf, sizeof buf);
        reply(req, 200, "OK", "text/plain; version=0.0.4", buf);
    } else {
        reply(req, 404, "Not Found", "text/plain", "not found\n");
    }
}

/* ---------------------------------------------------------------- rum.js */

/* The script fetches each provider's test object once (cache-busted, no
 * cookies), reads its Resource Timing entry (startTime -> responseStart: the
 * DNS+connect+TLS+first byte a visitor pays; `duration` when the provider
 * sends no Timing-Allow-Origin), adds throughput for objects of 32 KiB and
 * more (only with Timing-Allow-Origin: without it responseStart is 0 and
 * responseEnd - responseStart would be the time since the page started),
 * and sends everything as one beacon with sendBeacon (text/plain: no
 * preflight). Values outside the collector's ranges are not sent (checked
 * after rounding: 0.04 ms would round to an invalid 0): a batch is all or
 * nothing, so one out-of-range value (a fast LAN) would lose the beacon. Failures (network error, HTTP error, 10 s timeout)
 * are sent as kind "failure". */
static const char script_tmpl[] =
    "/* steer RUM beacon: embed with <script async src=\".../rum.js\" data-name=\"www.example.test\"></script> */\n"
    "(function () {\n"
    "  \"use strict\";\n"
    "  var T = %s;\n"
    "  var me = document.currentScript;\n"
    "  var B = me && me.src ? new URL(\"/rum\", me.src).href : \"/rum\";\n"
    "  var name = me ? me.getAttribute(\"data-name\") : null;\n"
    "  var out = [], left = T.length;\n"
    "  function send() {\n"
    "    if (!out.length) return;\n"
    "    var b = { ts: Date.now(), m: out };\n"
    "    if (name) b.name = name;\n"
    "    var body = JSON.stringify(b);\n"
    "    if (navigator.sendBeacon && navigator.sendBeacon(B, body)) return;\n"
    "    var x = new XMLHttpRequest(); x.open(\"POST\", B); x.send(body);\n"
    "  }\n"
    "  function done() { if (--left === 0) send(); }\n"
    "  function one(t) {\n"
    "    var url = t.u + (t.u.indexOf(\"?\") < 0 ? \"?\" : \"&\") + \"steer_rum=\" + Math.random().toString(36).slice(2);\n"
    "    var ctl = window.AbortController ? new AbortController() : null;\n"
    "    var timer = setTimeout(function () { if (ctl) ctl.abort(); }, 10000);\n"
    "    fetch(url, { mode: \"cors\", cache: \"no-store\", credentials: \"omit\", signal: ctl ? ctl.signal : undefined })\n"
    "      .then(function (r) {\n"
    "        return r.arrayBuffer().then(function (buf) {\n"
    "          clearTimeout(timer);\n"
    "          if (!r.ok) throw new Error(\"status \" + r.status);\n"
    "          var e = performance.getEntriesByName(url)[0];\n"
    "          if (!e) return;\n"
    "          var ms = Math.round((e.responseStart > 0 ? e.responseStart - e.startTime : e.duration) * 10) / 10;\n"
    "          if (ms > 0 && ms <= %.0f) out.push({ p: t.p, k: \"latency\", v: ms });\n"
    "          if (!(e.responseStart > 0) || buf.byteLength < 32768) return;\n"
    "          var kbps = Math.round(buf.byteLength * 8 / (e.responseEnd - e.responseStart));\n"
    "          if (kbps >= 1 && kbps <= %.0f) out.push({ p: t.p, k: \"throughput\", v: kbps });\n"
    "        });\n"
    "      })\n"
    "      .catch(function () { clearTimeout(timer); out.push({ p: t.p, k: \"failure\" }); })\n"
    "      .then(done, done);\n"
    "  }\n"
    "  function run() { if (!T.length || !window.fetch || !window.performance) return; T.forEach(one); }\n"
    "  if (document.readyState === \"complete\") setTimeout(run, 0);\n"
    "  else window.addEventListener(\"load\", function () { setTimeout(run, 0); });\n"
    "})();\n";

static char *make_script(const struct rum_config *cfg)
{
    json_t *arr = json_array();
    for (unsigned i = 0; i < cfg->ntest; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "p", json_string(cfg->test[i].name));
        json_object_set_new(e, "u", json_string(cfg->test[i].url));
        json_array_append_new(arr, e);
    }
    /* JSON_ESCAPE_SLASH: "</script>" can never appear inside the literal */
    char *list = json_dumps(arr, JSON_COMPACT | JSON_ESCAPE_SLASH);
    json_decref(arr);
    if (!list)
        return NULL;
    size_t len = sizeof script_tmpl + strlen(list) + 64;   /* + the two limits */
    char *s = malloc(len);
    if (s)
        snprintf(s, len, script_tmpl, list, RUM_MAX_LATENCY_MS, RUM_MAX_THROUGHPUT);
    free(list);
    return s;
}

/* ---------------------------------------------------------------- life */

static int listen_socket(const struct rum_config *cfg, char *err, size_t errsize)
{
    struct sockaddr_storage ss;
    socklen_t sl = net_addr_to_sockaddr(&cfg->listen, cfg->port, &ss);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errsize, "rum listen: socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 128) < 0) {
        char a[64];
        net_addr_format(&cfg->listen, a, sizeof a);
        snprintf(err, errsize, "rum listen %s port %u: %s", a, cfg->port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static struct timeval tv_ms(int64_t ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    return tv;
}

static void use_threads(void)
{
    evthread_use_pthreads();   /* so that stop() may call loopexit from another thread */
}

struct rum_collector *rum_collector_new(const struct rum_collector_opts *o, char *err, size_t errsize)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, use_threads);
    const struct rum_config *cfg = o->cfg;
    struct rum_collector *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    c->magic = COLLECTOR_MAGIC;
    c->cfg = cfg;
    c->geo = o->geo;
    c->lk = o->lookup;
    c->pools = o->pools;
    c->clock_ms = o->clock_ms;
    c->clock_arg = o->clock_arg;
    c->fd = -1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    c->agg = rum_agg_new(cfg->max_cells, cfg->half_life_ms);
    c->rl = rum_rl_new(cfg->rate_clients, cfg->rate_per_sec, cfg->rate_burst,
                       (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid());
    c->meas = calloc(cfg->max_batch ? cfg->max_batch : 1, sizeof *c->meas);
    c->script = make_script(cfg);
    if (!c->agg || !c->rl || !c->meas || !c->script) {
        snprintf(err, errsize, "rum: out of memory (max_cells %zu)", cfg->max_cells);
        goto fail;
    }
    if (cfg->state_file[0]) {
        struct rum_load_stats st;
        char e[512];
        int rc = rum_snapshot_load(c->agg, &c->lk, cfg->state_file, &st, e, sizeof e);
        if (rc == RUM_P_OK)
            log_info("rum: loaded %zu cells from %s (%zu dropped)", st.cells, cfg->state_file, st.dropped);
        else if (rc != RUM_P_NOFILE) {
            /* keep the bad file for a post-mortem; the next snapshot starts afresh */
            char aside[sizeof cfg->state_file + 16];
            snprintf(aside, sizeof aside, "%s.corrupt", cfg->state_file);
            bool moved = rc != RUM_P_IO && rename(cfg->state_file, aside) == 0;
            log_err("rum: ignoring state file: %s; starting empty%s%s", e, moved ? ", moved to " : "",
                    moved ? aside : "");
        }
    }
    if (rum_collector_recompute(c) < 0) {
        snprintf(err, errsize, "rum: out of memory building the score table");
        goto fail;
    }
    if ((c->fd = listen_socket(cfg, err, errsize)) < 0)
        goto fail;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    struct net_addr dummy;
    if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0)
        net_addr_from_sockaddr((struct sockaddr *)&ss, &dummy, &c->port);
    c->base = event_base_new();
    c->http = c->base ? evhttp_new(c->base) : NULL;
    if (!c->http || evhttp_accept_socket(c->http, c->fd) < 0) {
        snprintf(err, errsize, "rum: cannot set up the HTTP listener");
        goto fail;
    }
    /* a bit over max_body, so that our own check answers 413 and counts it;
     * beyond that evhttp refuses by itself, still bounded */
    evhttp_set_max_body_size(c->http, (ev_ssize_t)(cfg->max_body * 2 + 1024));
    evhttp_set_max_headers_size(c->http, HTTP_MAX_HEADERS);
    evhttp_set_timeout(c->http, HTTP_TIMEOUT_S);
    evhttp_set_allowed_methods(c->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_HEAD |
                                        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_gencb(c->http, handle, c);
    c->recompute_ev = event_new(c->base, -1, EV_PERSIST, on_recompute, c);
    c->snapshot_ev = event_new(c->base, -1, EV_PERSIST, on_snapshot, c);
    if (!c->recompute_ev || !c->snapshot_ev) {
        snprintf(err, errsize, "rum: out of memory");
        goto fail;
    }
    struct timeval rt = tv_ms(cfg->recompute_ms), st = tv_ms(cfg->snapshot_ms);
    event_add(c->recompute_ev, &rt);
    if (cfg->state_file[0])
        event_add(c->snapshot_ev, &st);
    return c;
fail:
    rum_collector_free(&c);
    return NULL;
}

static void *thread_main(void *arg)
{
    struct rum_collector *c = arg;
    event_base_dispatch(c->base);
    return NULL;
}

int rum_collector_start(struct rum_collector *c, char *err, size_t errsize)
{
    if (c->started)
        return 0;
    int rc = pthread_create(&c->thread, NULL, thread_main, c);
    if (rc) {
        snprintf(err, errsize, "rum: pthread_create: %s", strerror(rc));
        return -1;
    }
    c->started = true;
    return 0;
}

void rum_collector_stop(struct rum_collector *c)
{
    if (!c || c->stopped)
        return;
    c->stopped = true;
    if (c->started) {
        event_base_loopexit(c->base, NULL);
        pthread_join(c->thread, NULL);
    }
    if (c->agg)
        snapshot(c);
}

void rum_collector_free(struct rum_collector **cp)
{
    struct rum_collector *c = *cp;
    if (!c)
        return;
    if (c->started)
        rum_collector_stop(c);
    if (c->recompute_ev)
        event_free(c->recompute_ev);
    if (c->snapshot_ev)
        event_free(c->snapshot_ev);
    if (c->http)
        evhttp_free(c->http);   /* closes the bound socket */
    else if (c->fd >= 0)
        close(c->fd);
    if (c->base)
        event_base_free(c->base);
    struct steer_rum_table *t = __atomic_exchange_n(&c->table, NULL, __ATOMIC_ACQ_REL);
    if (t) {
        urcu_memb_synchronize_rcu();
        rum_table_free(&t);
    }
    rum_agg_free(&c->agg);
    rum_rl_free(&c->rl);
    free(c->meas);
    free(c->script);
    c->magic = 0;
    free(c);
    *cp = NULL;
}

/* ------------------------------------------------------------- accessors */

struct rum_agg *rum_collector_agg(struct rum_collector *c) { return c->agg; }
uint16_t rum_collector_port(const struct rum_collector *c) { return c->port; }
const char *rum_collector_script(const struct rum_collector *c) { return c->script; }

uint64_t rum_collector_provider_count(const struct rum_collector *c, unsigned prov)
{
    return prov < RUM_COUNTED_PROVIDERS ? GET(c->per_prov[prov]) : 0;
}

void rum_collector_counters(const struct rum_collector *c, struct rum_counters *o)
{
    o->beacons = GET(c->beacons);
    o->measurements = GET(c->measurements);
    for (int i = 0; i < RUM_NREASONS; i++)
        o->rejected[i] = GET(c->rejected[i]);
    for (int i = 0; i < RUM_NKINDS; i++)
        o->kind[i] = GET(c->kind[i]);
    o->recomputes = GET(c->recomputes);
    o->snapshots = GET(c->snapshots);
    o->snapshot_errors = GET(c->snapshot_errors);
    o->cells = GET(c->cells);
    o->cell_evictions = GET(c->cell_evictions);
    o->rl_evictions = GET(c->rl_evictions);
    o->table_version = GET(c->version);
}

int rum_collector_metrics(const struct rum_collector *c, char *buf, size_t size)
{
    struct rum_counters k;
    rum_collector_counters(c, &k);
    size_t off = 0;
#define OUT(...) do { int w_ = snprintf(buf + off, off < size ? size - off : 0, __VA_ARGS__); \
                      if (w_ > 0) off += (size_t)w_; } while (0)
    if (size)
        buf[0] = 0;
    OUT("steer_rum_beacons_accepted_total %llu\n", (unsigned long long)k.beacons);
    OUT("steer_rum_measurements_accepted_total %llu\n", (unsigned long long)k.measurements);
    for (int i = 1; i < RUM_NREASONS; i++)
        OUT("steer_rum_beacons_rejected_total{reason=\"%s\"} %llu\n", rum_reason_name((enum rum_reason)i),
            (unsigned long long)k.rejected[i]);
    for (int i = 0; i < RUM_NKINDS; i++)
        OUT("steer_rum_measurements_total{kind=\"%s\"} %llu\n", rum_kind_name((enum rum_kind)i),
            (unsigned long long)k.kind[i]);
    for (unsigned i = 0; i < RUM_COUNTED_PROVIDERS && c->lk.provider_name; i++) {
        const char *nm = c->lk.provider_name(c->lk.ctx, i);
        if (!nm)
            break;
        OUT("steer_rum_measurements_provider_total{provider=\"%s\"} %llu\n", nm,
            (unsigned long long)GET(c->per_prov[i]));
    }
    OUT("steer_rum_cells %llu\nsteer_rum_cell_evictions_total %llu\nsteer_rum_ratelimit_evictions_total %llu\n",
        (unsigned long long)k.cells, (unsigned long long)k.cell_evictions, (unsigned long long)k.rl_evictions);
    OUT("steer_rum_recomputes_total %llu\nsteer_rum_table_version %llu\n", (unsigned long long)k.recomputes,
        (unsigned long long)k.table_version);
    OUT("steer_rum_snapshots_total %llu\nsteer_rum_snapshot_errors_total %llu\n", (unsigned long long)k.snapshots,
        (unsigned long long)k.snapshot_errors);
#undef OUT
    return (int)off;
}
