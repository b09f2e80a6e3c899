#include "health/probe.h"

#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "health/http.h"
#include "health/reason.h"

/* Input is consumed in every read callback; this high-water mark only stops
 * libevent from buffering more than this between two callbacks. */
#define READ_HIGH_WATER 16384

/* ---- helpers ---------------------------------------------------------- */

uint64_t probe_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool is_http(const struct probe *p)
{
    return p->cfg->type == HC_HTTP || p->cfg->type == HC_HTTPS;
}

/* Parser and body buffer exist only while an HTTP attempt runs: memory
 * follows the number of checks in flight, not the number configured. */
static void http_buffers_put(struct probe *p)
{
    free(p->resp);
    free(p->body);
    p->resp = NULL;
    p->body = NULL;
}

static int http_buffers_get(struct probe *p)
{
    const struct health_check_cfg *c = p->cfg;
    bool want_body = c->expect_body[0] && c->max_body;
    p->resp = malloc(sizeof *p->resp);
    p->body = want_body ? malloc(c->max_body) : NULL;
    if (!p->resp || (want_body && !p->body)) {
        http_buffers_put(p);
        return -1;
    }
    return 0;
}

/* Closes the connection with RST: no TIME_WAIT left on this side. */
static void close_bev(struct probe *p)
{
    http_buffers_put(p);
    if (!p->bev)
        return;
    evutil_socket_t fd = bufferevent_getfd(p->bev);
    if (fd >= 0) {
        struct linger lg = { 1, 0 };
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    bufferevent_free(p->bev);
    p->bev = NULL;
    ERR_clear_error();
}

static void finish(struct probe *p, uint16_t reason)
{
    if (!p->running)
        return;
    close_bev(p);
    event_del(p->deadline);
    p->running = false;
    p->report_now = false;
    uint64_t lat = probe_now_us() - p->started_us;
    p->done(p->arg, reason, lat);
}

/* Reports `reason` from the next loop iteration (never from probe_start). */
static void report_later(struct probe *p, uint16_t reason)
{
    p->pending_reason = reason;
    p->report_now = true;
    event_del(p->deadline);
    event_active(p->deadline, EV_TIMEOUT, 1);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct probe *p = arg;
    uint16_t reason = p->report_now ? p->pending_reason : HR_TIMEOUT;
    if (p->chan && p->running) {
        p->running = false;       /* the cancel callback must not report */
        ares_cancel(p->chan);
        p->running = true;
    }
    finish(p, reason);
}

/* ---- HTTP ------------------------------------------------------------- */

static uint16_t http_verdict(struct probe *p, enum http_result r)
{
    const struct http_resp *rs = p->resp;
    switch (r) {
    case HTTP_ERR_SYNTAX: return HR_BAD_RESPONSE;
    case HTTP_ERR_TOO_LARGE: return HR_TOO_LARGE;
    case HTTP_ERR_TRUNCATED: return HR_CLOSED;
    default: break;
    }
    if (!health_status_ok(p->cfg, rs->status))
        return (uint16_t)(HR_STATUS_BASE + rs->status);
    if (p->cfg->expect_body[0] &&
        (!rs->body || !memmem(rs->body, rs->body_len, p->cfg->expect_body, strlen(p->cfg->expect_body))))
        return HR_BODY_MISMATCH;
    return HR_NONE;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct probe *p = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        size_t used = 0;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        enum http_result r = http_resp_feed(p->resp, v.iov_base, v.iov_len, &used);
        evbuffer_drain(in, used);
        if (r != HTTP_MORE) {
            finish(p, http_verdict(p, r));
            return;
        }
        /* decide as early as the answer allows */
        if (p->resp->headers_done) {
            if (!health_status_ok(p->cfg, p->resp->status) || !p->cfg->expect_body[0] ||
                (p->resp->body && memmem(p->resp->body, p->resp->body_len, p->cfg->expect_body,
                                         strlen(p->cfg->expect_body)))) {
                finish(p, http_verdict(p, HTTP_DONE));
                return;
            }
        }
    }
}

static uint16_t classify_error(struct probe *p, int err)
{
    bool tls = p->cfg->type == HC_HTTPS;
    unsigned long ssl_err = 0, e;
    if (tls)
        while ((e = bufferevent_get_openssl_error(p->bev)) != 0)
            ssl_err = e;
    if (err == ECONNREFUSED)
        return HR_REFUSED;
    if (tls && !p->handshake_done) {
        SSL *ssl = bufferevent_openssl_get_ssl(p->bev);
        if (p->cfg->verify && ssl && SSL_get_verify_result(ssl) != X509_V_OK)
            return HR_TLS_VERIFY;
        if (!ssl_err && (err == ECONNRESET || err == EPIPE))
            return HR_RESET;
        return HR_TLS;
    }
    if (err == ECONNRESET || err == EPIPE)
        return HR_RESET;
    if (err == ETIMEDOUT)
        return HR_TIMEOUT;
    if (ssl_err)
        return HR_TLS;
    return p->handshake_done ? HR_RESET : HR_CONNECT;
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct probe *p = arg;
    int err = EVUTIL_SOCKET_ERROR();
    if (what & BEV_EVENT_CONNECTED) {
        p->handshake_done = true;
        if (p->cfg->type == HC_TCP)
            finish(p, HR_NONE);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        if (p->cfg->type == HC_HTTPS && !p->handshake_done) {
            /* the peer went away during the handshake (dirty shutdown is
             * allowed, so a reset may surface as EOF) */
            finish(p, err == ECONNRESET ? HR_RESET : HR_TLS);
            return;
        }
        if (!is_http(p)) {
            finish(p, HR_CLOSED);
            return;
        }
        /* drain what arrived with the FIN first */
        read_cb(bev, p);
        if (p->running)
            finish(p, http_verdict(p, http_resp_eof(p->resp)));
        return;
    }
    if (what & BEV_EVENT_ERROR)
        finish(p, classify_error(p, err));
}

static int write_request(struct probe *p)
{
    const struct health_check_cfg *c = p->cfg;
    char host[HC_HOST_MAX + 16];
    if (c->host[0]) {
        snprintf(host, sizeof host, "%s", c->host);
    } else {
        char a[64];
        uint16_t dflt = c->type == HC_HTTPS ? 443 : 80;
        net_addr_format(&c->addr, a, sizeof a);
        const char *fmt = c->addr.family == 6 ? (c->port == dflt ? "[%s]" : "[%s]:%u")
                                              : (c->port == dflt ? "%s" : "%s:%u");
        snprintf(host, sizeof host, fmt, a, (unsigned)c->port);
    }
    int n = evbuffer_add_printf(bufferevent_get_output(p->bev),
                                "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: steer-health/1\r\n"
                                "Accept: */*\r\nConnection: close\r\n\r\n",
                                c->method, c->path, host);
    return n < 0 ? -1 : 0;
}

static SSL *make_ssl(struct probe *p)
{
    const struct health_check_cfg *c = p->cfg;
    SSL *ssl = SSL_new(p->ssl_ctx);
    if (!ssl)
        return NULL;
    if (c->sni[0])
        SSL_set_tlsext_host_name(ssl, c->sni);
    if (c->verify) {
        const char *name = c->sni[0] ? c->sni : c->host;
        struct net_addr lit;
        if (name[0] && net_addr_parse(name, &lit) < 0) {
            SSL_set1_host(ssl, name);
        } else {
            const struct net_addr *a = name[0] ? &lit : &c->addr;
            X509_VERIFY_PARAM_set1_ip(SSL_get0_param(ssl), a->bytes, a->family == 4 ? 4 : 16);
        }
    }
    return ssl;
}

static void start_stream(struct probe *p)
{
    const struct health_check_cfg *c = p->cfg;
    struct sockaddr_storage ss;
    socklen_t sl = net_addr_to_sockaddr(&c->addr, c->port, &ss);
    p->handshake_done = false;
    if (c->type == HC_HTTPS) {
        SSL *ssl = p->ssl_ctx ? make_ssl(p) : NULL;
        if (!ssl) {
            report_later(p, HR_TLS);
            return;
        }
        p->bev = bufferevent_openssl_socket_new(p->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                BEV_OPT_CLOSE_ON_FREE);
        if (!p->bev) {
            SSL_free(ssl);
            report_later(p, HR_INTERNAL);
            return;
        }
        /* many servers close without close_notify after Connection: close */
        bufferevent_openssl_set_allow_dirty_shutdown(p->bev, 1);
    } else {
        p->bev = bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (!p->bev) {
            report_later(p, HR_INTERNAL);
            return;
        }
    }
    bufferevent_setcb(p->bev, is_http(p) ? read_cb : NULL, NULL, event_cb, p);
    bufferevent_setwatermark(p->bev, EV_READ, 0, READ_HIGH_WATER);
    if (is_http(p)) {
        if (http_buffers_get(p) < 0) {
            report_later(p, HR_INTERNAL);
            return;
        }
        http_resp_init(p->resp, strcmp(c->method, "HEAD") == 0, p->body, p->body ? c->max_body : 0);
        if (write_request(p) < 0) {
            report_later(p, HR_INTERNAL);
            return;
        }
        bufferevent_enable(p->bev, EV_READ | EV_WRITE);
    }
    if (bufferevent_socket_connect(p->bev, (struct sockaddr *)&ss, sl) < 0) {
        int err = EVUTIL_SOCKET_ERROR();
        report_later(p, err == ECONNREFUSED ? HR_REFUSED : HR_CONNECT);
    }
}

/* ---- DNS -------------------------------------------------------------- */

static void ares_io_cb(evutil_socket_t fd, short what, void *arg)
{
    struct probe *p = arg;
    ares_process_fd(p->chan, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
                    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
}

static void ares_sock_cb(void *data, ares_socket_t fd, int readable, int writable)
{
    struct probe *p = data;
    int slot = -1, free_slot = -1;
    for (int i = 0; i < PROBE_MAX_ARES_FDS; i++) {
        if (p->afd[i].ev && p->afd[i].fd == fd)
            slot = i;
        else if (!p->afd[i].ev && free_slot < 0)
            free_slot = i;
    }
    if (slot >= 0) {
        event_free(p->afd[slot].ev);
        p->afd[slot].ev = NULL;
    }
    if (!readable && !writable)
        return;
    if (slot < 0)
        slot = free_slot;
    if (slot < 0)
        return;   /* more sockets than a single query can open: the deadline ends it */
    short ev = (short)(EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
    p->afd[slot].fd = fd;
    p->afd[slot].ev = event_new(p->base, fd, ev, ares_io_cb, p);
    if (p->afd[slot].ev)
        event_add(p->afd[slot].ev, NULL);
}

static uint16_t dns_count(const struct probe *p, unsigned char *abuf, int alen)
{
    int n = 16;   /* we only need to know there is at least one */
    int rc;
    if (p->cfg->qtype == 28) {
        struct ares_addr6ttl a6[16];
        rc = ares_parse_aaaa_reply(abuf, alen, NULL, a6, &n);
    } else {
        struct ares_addrttl a4[16];
        rc = ares_parse_a_reply(abuf, alen, NULL, a4, &n);
    }
    if (rc == ARES_SUCCESS)
        return n > 0 ? HR_NONE : HR_NO_ADDRESSES;
    return rc == ARES_ENODATA ? HR_NO_ADDRESSES : HR_DNS_ERROR;
}

static void dns_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct probe *p = arg;
    if (status == ARES_ECANCELLED || status == ARES_EDESTRUCTION || !p->running)
        return;
    uint16_t r;
    switch (status) {
    case ARES_SUCCESS: r = dns_count(p, abuf, alen); break;
    case ARES_ENODATA: r = HR_NO_ADDRESSES; break;
    case ARES_ENOTFOUND: r = HR_NXDOMAIN; break;
    case ARES_ESERVFAIL: r = HR_SERVFAIL; break;
    case ARES_EREFUSED: r = HR_DNS_REFUSED; break;
    case ARES_ETIMEOUT: r = HR_TIMEOUT; break;
    case ARES_ECONNREFUSED: r = HR_REFUSED; break;
    default: r = HR_DNS_ERROR; break;
    }
    /* report from the loop, not from inside c-ares */
    report_later(p, r);
}

static int dns_init(struct probe *p)
{
    const struct health_check_cfg *c = p->cfg;
    struct ares_options o;
    memset(&o, 0, sizeof o);
    /* NOCHECKRESP: report SERVFAIL/REFUSED instead of retrying elsewhere;
     * one try: the engine's own interval is the retry. Our deadline fires
     * first, c-ares' timeout is only a backstop. */
    o.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
    o.timeout = (int)c->timeout_ms + 1000;
    o.tries = 1;
    o.sock_state_cb = ares_sock_cb;
    o.sock_state_cb_data = p;
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
    ares_channel ch;
    if (ares_init_options(&ch, &o, mask) != ARES_SUCCESS)
        return -1;
    struct ares_addr_port_node srv;
    memset(&srv, 0, sizeof srv);
    srv.family = c->resolver.family == 6 ? AF_INET6 : AF_INET;
    memcpy(&srv.addr, c->resolver.bytes, c->resolver.family == 6 ? 16 : 4);
    srv.udp_port = srv.tcp_port = c->resolver_port;
    if (ares_set_servers_ports(ch, &srv) != ARES_SUCCESS) {
        ares_destroy(ch);
        return -1;
    }
    p->chan = ch;
    return 0;
}

/* ---- API -------------------------------------------------------------- */

int probe_init(struct probe *p, struct event_base *base, const struct health_check_cfg *cfg,
               struct ssl_ctx_st *ssl_ctx, probe_done_fn done, void *arg)
{
    memset(p, 0, sizeof *p);
    p->cfg = cfg;
    p->base = base;
    p->ssl_ctx = ssl_ctx;
    p->done = done;
    p->arg = arg;
    p->deadline = evtimer_new(base, deadline_cb, p);
    if (!p->deadline)
        return -1;
    if (cfg->type == HC_DNS && dns_init(p) < 0) {
        probe_destroy(p);
        return -1;
    }
    return 0;
}

void probe_start(struct probe *p)
{
    if (p->running)
        return;
    p->running = true;
    p->report_now = false;
    p->started_us = probe_now_us();
    struct timeval tv = { p->cfg->timeout_ms / 1000, (p->cfg->timeout_ms % 1000) * 1000 };
    evtimer_add(p->deadline, &tv);
    if (p->cfg->type == HC_DNS) {
        int qtype = p->cfg->qtype;
        ares_query(p->chan, p->cfg->qname, 1 /* C_IN */, qtype, dns_cb, p);
    } else {
        start_stream(p);
    }
}

void probe_cancel(struct probe *p)
{
    if (!p->running)
        return;
    p->running = false;
    if (p->chan)
        ares_cancel(p->chan);
    close_bev(p);
    if (p->deadline)
        event_del(p->deadline);
}

void probe_destroy(struct probe *p)
{
    probe_cancel(p);
    if (p->chan) {
        ares_destroy(p->chan);   /* closes its sockets through ares_sock_cb */
        p->chan = NULL;
    }
    for (int i = 0; i < PROBE_MAX_ARES_FDS; i++)
        if (p->afd[i].ev) {
            event_free(p->afd[i].ev);
            p->afd[i].ev = NULL;
        }
    if (p->deadline)
        event_free(p->deadline);
    p->deadline = NULL;
    http_buffers_put(p);
}

struct ssl_ctx_st *probe_ssl_ctx_new(bool verify, const char *ca_file, char *err, size_t errsz)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(err, errsz, "cannot create TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        int ok = ca_file && ca_file[0] ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                                       : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1) {
            snprintf(err, errsz, "cannot load CA file '%s'", ca_file && ca_file[0] ? ca_file : "(system)");
            SSL_CTX_free(ctx);
            ERR_clear_error();
            return NULL;
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    return ctx;
}
