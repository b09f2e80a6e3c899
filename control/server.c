#define _LGPL_SOURCE
#include "control/control.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <urcu/urcu-memb.h>

#include "common/log.h"
#include "health/health.h"
#include "health/reason.h"

#define CONTROL_MAGIC 0x4354524cu  /* "CTRL" */
#define EXPLAIN_BUF (64 * 1024)    /* steer_explain JSON of a name with many rules and pools */

struct control_server {
    uint32_t magic;
    struct control_config cfg;
    struct control_hooks hooks;
    struct health_engine *health;
    char version[32];
    time_t started;
    uint8_t token_digest[SHA256_DIGEST_LENGTH];
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct event *refuse_ev;     /* accepts and refuses while at the cap */
    struct event *attach_ev;     /* runs attach_pending */
    unsigned nconns;             /* open connections (see "connection cap") */
    unsigned npending;
    struct bufferevent *pending[CONTROL_MAX_CONNS];   /* accepted, close callback not set yet */
    uint64_t refused;
    bool at_cap, stopping;
    uint16_t port;
    pthread_t thread;
    bool running;
};

/* ------------------------------------------------------------ replies */

void control_reply_json(struct evhttp_request *req, int code, json_t *body, size_t dump_flags)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    char *text = body ? json_dumps(body, JSON_INDENT(2) | JSON_SORT_KEYS | dump_flags) : NULL;
    json_decref(body);
    struct evbuffer *b = evbuffer_new();
    if (!text || !b || evbuffer_add(b, text, strlen(text)) < 0 || evbuffer_add(b, "\n", 1) < 0) {
        free(text);
        if (b)
            evbuffer_free(b);
        evhttp_send_error(req, 500, NULL);
        return;
    }
    free(text);
    evhttp_send_reply(req, code, NULL, b);
    evbuffer_free(b);
}

static void reply_json(struct evhttp_request *req, int code, json_t *body)
{
    control_reply_json(req, code, body, 0);
}

static void reply_error(struct evhttp_request *req, int code, const char *msg)
{
    reply_json(req, code, json_pack("{s:s}", "error", msg));
}

/* ------------------------------------------------------------ auth */

static void digest(const char *s, size_t len, uint8_t out[SHA256_DIGEST_LENGTH])
{
    SHA256((const unsigned char *)s, len, out);
}

/* true if the request carries the right bearer token; otherwise replies
 * 401 (none) or 403 (wrong) and returns false. */
static bool authorized(struct control_server *c, struct evhttp_request *req)
{
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer realm=\"steer\"");
        reply_error(req, 401, "missing bearer token");
        return false;
    }
    const char *tok = h + 7;
    uint8_t d[SHA256_DIGEST_LENGTH];
    digest(tok, strlen(tok), d);
    if (CRYPTO_memcmp(d, c->token_digest, sizeof d) != 0) {
        reply_error(req, 403, "wrong token");
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ bodies */

/* Parses the request body as a JSON object; an empty body gives an empty
 * object when `optional`. NULL (after a 400) otherwise. */
static json_t *body_object(struct evhttp_request *req, bool optional)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (len == 0 && optional)
        return json_object();
    if (len > CONTROL_MAX_BODY) {   /* evhttp already enforces it; kept as a guard */
        reply_error(req, 413, "body too large");
        return NULL;
    }
    const char *p = len ? (const char *)evbuffer_pullup(in, -1) : NULL;
    json_error_t je;
    snprintf(je.text, sizeof je.text, "empty body");
    json_t *j = p ? json_loadb(p, len, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!j || !json_is_object(j)) {
        char msg[300];
        snprintf(msg, sizeof msg, "malformed JSON body: %s", j ? "not an object" : je.text);
        json_decref(j);
        reply_error(req, 400, msg);
        return NULL;
    }
    return j;
}

static int health_http(enum health_result r)
{
    switch (r) {
    case HEALTH_OK: return 200;
    case HEALTH_ERR_UNKNOWN: return 404;
    case HEALTH_ERR_INVALID: return 400;
    default: return 500;
    }
}

/* ------------------------------------------------------------ handlers */

static const char *health_name(uint8_t h)
{
    return h == PROV_UP ? "up" : h == PROV_DOWN ? "down" : "unknown";
}
static const char *admin_name(uint8_t a)
{
    switch (a) {
    case ADMIN_FORCE_UP: return "up";
    case ADMIN_FORCE_DOWN: return "down";
    case ADMIN_DRAIN: return "drain";
    default: return "none";
    }
}

static void get_status(struct control_server *c, struct evhttp_request *req)
{
    json_t *zones = json_array(), *names = json_array();
    struct control_view v;
    size_t nprov = 0;
    urcu_memb_read_lock();
    c->hooks.view(c->hooks.ctx, &v);
    for (size_t i = 0; i < v.nzones; i++)
        json_array_append_new(zones, json_string(v.zone_name(v.snap, i)));
    if (v.policy) {
        nprov = steer_policy_provider_count(v.policy);
        for (size_t i = 0; i < steer_policy_name_count(v.policy); i++)
            json_array_append_new(names, json_string(steer_name_text(steer_policy_name(v.policy, i))));
    }
    urcu_memb_read_unlock();
    time_t now = time(NULL);
    json_t *conns = json_pack("{s:I,s:I,s:I}", "open", (json_int_t)c->nconns, "max", (json_int_t)CONTROL_MAX_CONNS,
                              "refused", (json_int_t)c->refused);
    reply_json(req, 200,
               json_pack("{s:s,s:I,s:I,s:o,s:o,s:I,s:I,s:o}", "version", c->version, "generation",
                         (json_int_t)v.generation, "loaded_at", (json_int_t)v.loaded_at, "zones", zones,
                         "steered_names", names, "providers", (json_int_t)nprov, "uptime_s",
                         (json_int_t)(now - c->started), "control_connections", conns));
}

static void get_providers(struct control_server *c, struct evhttp_request *req)
{
    struct health_stats st;
    if (health_engine_stats(c->health, &st) != HEALTH_OK) {
        reply_error(req, 500, "health engine unavailable");
        return;
    }
    json_t *arr = json_array();
    urcu_memb_read_lock();
    struct control_view v;
    c->hooks.view(c->hooks.ctx, &v);
    for (size_t i = 0; i < st.nproviders; i++) {
        const struct health_provider_stats *p = &st.providers[i];
        char rbuf[64];
        int id = v.policy ? steer_provider_find(v.policy, p->name) : -1;
        const char *type = id < 0 ? "unknown" : steer_provider_type(v.policy, (size_t)id) == STEER_PROV_CDN ? "cdn" : "pop";
        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "name", p->name, "type", type, "health",
                              health_name(p->health), "admin", admin_name(p->admin), "transitions",
                              (json_int_t)p->transitions, "since_ms", (json_int_t)p->since_ms);
        json_object_set_new(o, "reason", p->reason ? json_string(health_reason_str(p->reason, rbuf, sizeof rbuf))
                                                   : json_null());
        json_object_set_new(o, "weight", p->weight == PROV_WEIGHT_NONE ? json_null() : json_integer(p->weight));
        json_object_set_new(o, "failing_check", p->failing_check[0] ? json_string(p->failing_check) : json_null());
        json_array_append_new(arr, o);
    }
    urcu_memb_read_unlock();
    health_stats_free(&st);
    reply_json(req, 200, json_pack("{s:o}", "providers", arr));
}

/* One provider's state after a change, from a fresh stats snapshot. */
static json_t *provider_after(struct control_server *c, const char *name)
{
    struct health_stats st;
    json_t *o = json_pack("{s:s}", "provider", name);
    if (health_engine_stats(c->health, &st) != HEALTH_OK)
        return o;
    for (size_t i = 0; i < st.nproviders; i++) {
        if (strcmp(st.providers[i].name, name))
            continue;
        json_object_set_new(o, "admin", json_string(admin_name(st.providers[i].admin)));
        json_object_set_new(o, "weight", st.providers[i].weight == PROV_WEIGHT_NONE
                                             ? json_null() : json_integer(st.providers[i].weight));
    }
    health_stats_free(&st);
    return o;
}

static void post_provider(struct control_server *c, struct evhttp_request *req, const char *name, const char *action)
{
    if (!*name || strlen(name) >= HC_NAME_MAX) {
        reply_error(req, 400, "bad provider name");
        return;
    }
    bool is_weight = !strcmp(action, "weight");
    uint8_t admin = ADMIN_NONE;
    if (!strcmp(action, "up"))
        admin = ADMIN_FORCE_UP;
    else if (!strcmp(action, "down"))
        admin = ADMIN_FORCE_DOWN;
    else if (!strcmp(action, "drain"))
        admin = ADMIN_DRAIN;
    else if (!strcmp(action, "clear"))
        admin = ADMIN_NONE;
    else if (!is_weight) {
        reply_error(req, 404, "unknown action (up, down, drain, clear, weight)");
        return;
    }
    if (!authorized(c, req))
        return;
    json_t *body = body_object(req, !is_weight);
    if (!body)
        return;
    char err[512] = "";
    enum health_result r;
    if (is_weight) {
        json_t *w = json_object_get(body, "weight");
        if (!json_is_integer(w) || json_integer_value(w) < 0 || json_integer_value(w) > (json_int_t)HEALTH_WEIGHT_MAX) {
            json_decref(body);
            char msg[128];
            snprintf(msg, sizeof msg, "body must be {\"weight\": N} with 0 <= N <= %u", HEALTH_WEIGHT_MAX);
            reply_error(req, 400, msg);
            return;
        }
        r = health_engine_set_weight(c->health, name, (uint32_t)json_integer_value(w), err, sizeof err);
    } else {
        r = health_engine_set_admin(c->health, name, admin, err, sizeof err);
        if (r == HEALTH_OK && admin == ADMIN_NONE)
            r = health_engine_set_weight(c->health, name, PROV_WEIGHT_NONE, err, sizeof err);
    }
    json_decref(body);
    if (r != HEALTH_OK) {
        reply_error(req, health_http(r), err[0] ? err : "override failed");
        return;
    }
    log_info("control: provider %s: %s", name, action);
    reply_json(req, 200, provider_after(c, name));
}

static void post_reload(struct control_server *c, struct evhttp_request *req)
{
    if (!authorized(c, req))
        return;
    json_t *body = body_object(req, true);
    if (!body)
        return;
    json_decref(body);
    char err[1024] = "";
    if (c->hooks.reload(c->hooks.ctx, err, sizeof err) < 0) {
        reply_json(req, 422, json_pack("{s:s,s:s}", "error", "reload refused, the running configuration keeps serving",
                                       "detail", err));
        return;
    }
    struct control_view v;
    urcu_memb_read_lock();
    c->hooks.view(c->hooks.ctx, &v);
    urcu_memb_read_unlock();
    reply_json(req, 200, json_pack("{s:b,s:I}", "reloaded", 1, "generation", (json_int_t)v.generation));
}

static void get_explain(struct control_server *c, struct evhttp_request *req)
{
    struct evkeyvalq q;
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    if (!query || evhttp_parse_query_str(query, &q) < 0) {
        reply_error(req, 400, "explain needs ?name=NAME&client=IP[&ecs=PREFIX][&qtype=A|AAAA]");
        return;
    }
    const char *name = evhttp_find_header(&q, "name"), *client = evhttp_find_header(&q, "client");
    const char *ecs = evhttp_find_header(&q, "ecs"), *qt = evhttp_find_header(&q, "qtype");
    struct steer_client sc = { 0 };
    uint16_t qtype = 1;
    uint8_t wire[256];
    int wlen = name ? steer_name_to_wire(name, wire, sizeof wire) : -1;
    const char *bad = NULL;
    struct net_prefix ep;
    if (wlen < 0)
        bad = "name: missing or not a domain name";
    else if (!client || net_addr_parse(client, &sc.addr) < 0)
        bad = "client: missing or not an IP address";
    else if (ecs && net_prefix_parse(ecs, false, &ep) < 0)
        bad = "ecs: not a prefix (host bits must be zero)";
    else if (qt && strcasecmp(qt, "A") && strcasecmp(qt, "AAAA"))
        bad = "qtype: A or AAAA";
    if (bad) {
        evhttp_clear_headers(&q);
        reply_error(req, 400, bad);
        return;
    }
    if (qt && !strcasecmp(qt, "AAAA"))
        qtype = 28;
    /* the same client the query path builds (steerd/snapshot.c) */
    if (ecs && ep.len > 0) {
        sc.addr = ep.addr;
        sc.source_len = ep.len;
        sc.has_ecs = true;
    } else {
        sc.source_len = sc.addr.family == 4 ? 32 : 128;
    }
    evhttp_clear_headers(&q);
    char *buf = malloc(EXPLAIN_BUF);
    if (!buf) {
        reply_error(req, 500, "out of memory");
        return;
    }
    int code = 200;
    int n = -1;
    struct control_view v;
    urcu_memb_read_lock();
    c->hooks.view(c->hooks.ctx, &v);
    const struct steer_name *sn = v.policy ? steer_policy_find_name(v.policy, wire, (size_t)wlen) : NULL;
    if (sn)
        n = steer_explain(v.policy, sn, &sc, qtype, &v.in, true, buf, EXPLAIN_BUF);
    urcu_memb_read_unlock();
    json_t *out = NULL;
    if (!sn) {
        code = 404;
        out = json_pack("{s:s}", "error", "not a steered name");
    } else if (n < 0 || n >= EXPLAIN_BUF - 1) {
        code = 500;
        out = json_pack("{s:s}", "error", n < 0 ? "explain failed" : "explanation too large");
    } else {
        json_error_t je;
        json_t *e = json_loadb(buf, (size_t)n, 0, &je);
        out = e ? json_pack("{s:I,s:o}", "generation", (json_int_t)v.generation, "explain", e)
                : json_pack("{s:s}", "error", "explain produced invalid JSON");
        code = e ? 200 : 500;
    }
    free(buf);
    reply_json(req, code, out);
}

/* GET /metrics: the daemon's hook renders, we only frame the reply. */
static void get_metrics(struct control_server *c, struct evhttp_request *req)
{
    struct evbuffer *b = c->hooks.metrics ? evbuffer_new() : NULL;
    if (!b || c->hooks.metrics(c->hooks.ctx, b) < 0) {
        if (b)
            evbuffer_free(b);
        reply_error(req, c->hooks.metrics ? 500 : 404, "metrics unavailable");
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

/* ------------------------------------------------------------ routing */

static void route(struct evhttp_request *req, void *arg)
{
    struct control_server *c = arg;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (!path)
        path = "";
    bool get = cmd == EVHTTP_REQ_GET, post = cmd == EVHTTP_REQ_POST;
    if (!strcmp(path, "/v1/status") || !strcmp(path, "/v1/providers") || !strcmp(path, "/v1/explain")) {
        if (!get)
            goto method;
        if (path[4] == 's')
            get_status(c, req);
        else if (path[4] == 'p')
            get_providers(c, req);
        else
            get_explain(c, req);
        return;
    }
    if (!strcmp(path, "/metrics")) {
        if (!get)
            goto method;
        get_metrics(c, req);
        return;
    }
    if (!strcmp(path, "/v1/reload")) {
        if (!post)
            goto method;
        post_reload(c, req);
        return;
    }
    static const char pp[] = "/v1/providers/";
    if (!strncmp(path, pp, sizeof pp - 1)) {
        const char *rest = path + sizeof pp - 1, *slash = strchr(rest, '/');
        char name[HC_NAME_MAX + 1];
        size_t nl = slash ? (size_t)(slash - rest) : 0;
        if (!slash || strchr(slash + 1, '/') || nl >= sizeof name) {
            reply_error(req, 404, "no such endpoint");
            return;
        }
        if (!post)
            goto method;
        memcpy(name, rest, nl);
        name[nl] = '\0';
        post_provider(c, req, name, slash + 1);
        return;
    }
    if (control_status_serve(&c->hooks, req, path))
        return;
    reply_error(req, 404, "no such endpoint");
    return;
method:
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", get ? "POST" : "GET");
    reply_error(req, 405, "method not allowed");
}

/* ------------------------------------------------------------ connection cap */

/* libevent 2.1 has no evhttp_set_max_connections, so the cap is built from
 * public pieces. evhttp asks conn_bev for the bufferevent of every
 * connection it accepts: that counts the connection (nconns++) and queues
 * the bufferevent, with a reference, for attach_pending, which runs later in
 * the same loop iteration, once evhttp has wired the bufferevent to its
 * connection (the callbacks' argument is the evhttp_connection). It installs
 * a close callback there, which evhttp calls from evhttp_connection_free on
 * every path (client close, timeout, error, Connection: close, shutdown);
 * a connection freed before attach_pending ran has its callbacks cleared
 * already and is uncounted on the spot. At CONTROL_MAX_CONNS the evhttp
 * listener is disabled and refuse_ev, a plain event on the same listening
 * socket, accepts each newcomer, writes a 503 and closes it, until a
 * connection goes away. Everything runs on the control thread.
 * Rejected: disabling the listener alone (new clients would hang in the
 * kernel backlog instead of being told); a close callback set from the
 * request handler (idle connections never get there); a counting filter
 * bufferevent under evhttp (evhttp 2.1 stalls reading through it). */

static const char refuse_msg[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 33\r\n"
    "Connection: close\r\n\r\n{\"error\": \"too many connections\"}";
#define REFUSE_BATCH 16   /* accepts per wakeup while at the cap: bounded work per event */

static void set_cap(struct control_server *c, bool at_cap)
{
    if (at_cap == c->at_cap || c->stopping)
        return;
    struct evconnlistener *l = evhttp_bound_socket_get_listener(c->bound);
    c->at_cap = at_cap;
    if (at_cap) {
        evconnlistener_disable(l);
        event_add(c->refuse_ev, NULL);
        log_ratelimited(LOG_LVL_WARN, "control: %u connections open, refusing new ones", c->nconns);
    } else {
        event_del(c->refuse_ev);
        evconnlistener_enable(l);
    }
}

static void conn_gone(struct control_server *c)
{
    if (c->nconns == 0) {   /* a close without an open: the accounting above is wrong */
        log_ratelimited(LOG_LVL_ERR, "control: connection count underflow (bug)");
        return;
    }
    c->nconns--;
    if (c->nconns < CONTROL_MAX_CONNS)
        set_cap(c, false);
}

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
    conn_gone(arg);
}

static void attach_pending(evutil_socket_t fd, short what, void *arg)
{
    struct control_server *c = arg;
    for (unsigned i = 0; i < c->npending; i++) {
        struct bufferevent *bev = c->pending[i];
        void *cbarg = NULL;
        bufferevent_getcb(bev, NULL, NULL, NULL, &cbarg);
        struct evhttp_connection *evcon = cbarg;
        if (evcon && evhttp_connection_get_bufferevent(evcon) == bev)
            evhttp_connection_set_closecb(evcon, conn_closed, c);
        else
            conn_gone(c);   /* freed already (bufferevent_free clears the callbacks) */
        bufferevent_decref(bev);
    }
    c->npending = 0;
}

static struct bufferevent *conn_bev(struct event_base *base, void *arg)
{
    struct control_server *c = arg;
    /* the listener is disabled at the cap, so at most CONTROL_MAX_CONNS wait
     * here; if not, the connection is served uncounted rather than dropped */
    if (c->npending >= CONTROL_MAX_CONNS) {
        log_ratelimited(LOG_LVL_ERR, "control: more pending connections than the cap (bug)");
        return NULL;
    }
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev)
        return NULL;   /* evhttp fails the accept too */
    bufferevent_incref(bev);
    c->pending[c->npending++] = bev;
    event_active(c->attach_ev, EV_TIMEOUT, 0);
    c->nconns++;
    if (c->nconns >= CONTROL_MAX_CONNS)
        set_cap(c, true);
    return bev;
}

static void refuse(evutil_socket_t lfd, short what, void *arg)
{
    struct control_server *c = arg;
    for (int i = 0; i < REFUSE_BATCH; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        /* a fresh socket's send buffer is empty: this never blocks nor cuts */
        ssize_t w = send(fd, refuse_msg, sizeof refuse_msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)w;
        close(fd);
        c->refused++;
    }
}

/* ------------------------------------------------------------ thread */

static void *run(void *arg)
{
    struct control_server *c = arg;
    urcu_memb_register_thread();
    event_base_dispatch(c->base);
    urcu_memb_unregister_thread();
    return NULL;
}

static void free_server(struct control_server *c)
{
    c->stopping = true;   /* connections freed below must not re-enable the listener */
    for (unsigned i = 0; i < c->npending; i++)
        bufferevent_decref(c->pending[i]);
    c->npending = 0;
    if (c->attach_ev)
        event_free(c->attach_ev);
    if (c->refuse_ev)
        event_free(c->refuse_ev);
    if (c->http)
        evhttp_free(c->http);
    if (c->base)
        event_base_free(c->base);
    OPENSSL_cleanse(c->cfg.token, sizeof c->cfg.token);
    free(c);
}

struct control_server *control_start(const struct control_config *cfg, struct health_engine *health,
                                      const struct control_hooks *hooks, const char *version, char *err,
                                      size_t errlen)
{
    evthread_use_pthreads();   /* so that control_stop may call loopexit from another thread */
    struct control_server *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "control: out of memory");
        return NULL;
    }
    c->magic = CONTROL_MAGIC;
    c->cfg = *cfg;
    c->hooks = *hooks;
    c->health = health;
    c->started = time(NULL);
    snprintf(c->version, sizeof c->version, "%s", version);
    digest(cfg->token, cfg->token_len, c->token_digest);
    c->base = event_base_new();
    c->http = c->base ? evhttp_new(c->base) : NULL;
    if (!c->http) {
        snprintf(err, errlen, "control: cannot create the event loop");
        free_server(c);
        return NULL;
    }
    evhttp_set_max_body_size(c->http, CONTROL_MAX_BODY);
    evhttp_set_max_headers_size(c->http, CONTROL_MAX_HEADERS);
    evhttp_set_timeout(c->http, CONTROL_TIMEOUT_S);
    evhttp_set_allowed_methods(c->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_gencb(c->http, route, c);
    evhttp_set_bevcb(c->http, conn_bev, c);
    char host[64];
    net_addr_format(&cfg->addr, host, sizeof host);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(c->http, host, cfg->port);
    if (!bs) {
        snprintf(err, errlen, "control: cannot listen on %s port %u: %s", host, cfg->port, strerror(errno));
        free_server(c);
        return NULL;
    }
    c->bound = bs;
    c->refuse_ev = event_new(c->base, evhttp_bound_socket_get_fd(bs), EV_READ | EV_PERSIST, refuse, c);
    c->attach_ev = event_new(c->base, -1, 0, attach_pending, c);
    if (!c->refuse_ev || !c->attach_ev) {
        snprintf(err, errlen, "control: out of memory");
        free_server(c);
        return NULL;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl) == 0) {
        struct net_addr a;
        net_addr_from_sockaddr((struct sockaddr *)&ss, &a, &c->port);
    }
    if (pthread_create(&c->thread, NULL, run, c) != 0) {
        snprintf(err, errlen, "control: cannot start the thread");
        free_server(c);
        return NULL;
    }
    c->running = true;
    log_info("control API on %s port %u", host, c->port);
    return c;
}

uint16_t control_port(const struct control_server *s) { return s->port; }

void control_stop(struct control_server **sp)
{
    struct control_server *c = *sp;
    if (!c)
        return;
    if (c->magic != CONTROL_MAGIC)
        abort();
    if (c->running) {
        event_base_loopexit(c->base, NULL);
        pthread_join(c->thread, NULL);
    }
    c->magic = 0;
    free_server(c);
    *sp = NULL;
}
