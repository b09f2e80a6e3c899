/* edge/edged.c: daemon setup: listeners, TLS contexts (SNI), clock, run. */
#include "edge/edged.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "edge/admin.h"
#include "edge/disk.h"
#include "edge/proxy.h"
#include "edge/server.h"

void edged_clock(struct edged *ed)
{
    time_t t = time(NULL);
    if (t == ed->now && ed->date[0]) return;
    ed->now = t;
    http_date_format(t, ed->date);
}

uint64_t edged_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t edged_ms(void)
{
    return edged_us() / 1000;
}

/* ---- TLS ----------------------------------------------------------------- */

static int sni_cb(SSL *ssl, int *alert, void *arg)
{
    (void)alert;
    struct edged *ed = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name) return SSL_TLSEXT_ERR_OK;              /* default certificate */
    const struct edge_site *s = edge_config_site(ed->cfg, name, strlen(name));
    if (s) {
        SSL_CTX *c = ed->ssl[s - ed->cfg->sites];
        if (c) SSL_set_SSL_CTX(ssl, c);
    }
    return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *make_ctx(const struct edge_site *s, char *err, size_t errlen)
{
    SSL_CTX *c = SSL_CTX_new(TLS_server_method());
    if (!c) { snprintf(err, errlen, "SSL_CTX_new failed"); return NULL; }
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(c, s->tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(c, s->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(c) != 1) {
        char e[256];
        ERR_error_string_n(ERR_get_error(), e, sizeof e);
        snprintf(err, errlen, "site %s: TLS certificate/key: %s", s->name, e);
        SSL_CTX_free(c);
        return NULL;
    }
    return c;
}

static int tls_init(struct edged *ed, char *err, size_t errlen)
{
    for (unsigned i = 0; i < ed->cfg->nsites; i++) {
        const struct edge_site *s = &ed->cfg->sites[i];
        if (!s->tls_cert[0]) continue;
        ed->ssl[i] = make_ctx(s, err, errlen);
        if (!ed->ssl[i]) return -1;
        if (!ed->ssl_default) {
            ed->ssl_default = make_ctx(s, err, errlen);
            if (!ed->ssl_default) return -1;
            SSL_CTX_set_tlsext_servername_callback(ed->ssl_default, sni_cb);
            SSL_CTX_set_tlsext_servername_arg(ed->ssl_default, ed);
        }
    }
    return 0;
}

/* ---- listeners ------------------------------------------------------------ */

struct lsn { struct edged *ed; int kind; struct evconnlistener *l; };
enum { L_HTTP = 0, L_HTTPS, L_ADMIN };

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int slen, void *arg)
{
    (void)l; (void)slen;
    struct lsn *x = arg;
    struct edged *ed = x->ed;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (x->kind == L_ADMIN) { admin_accept(ed, fd); return; }
    SSL *ssl = NULL;
    if (x->kind == L_HTTPS) {
        ssl = SSL_new(ed->ssl_default);
        if (!ssl) { evutil_closesocket(fd); return; }
    }
    proxy_accept(ed, fd, sa, ssl);
}

struct server {
    struct edged ed;
    struct lsn lsn[EDGE_MAX_LISTEN * 2 + 1];
    unsigned nlsn;
    struct event *sig_int, *sig_term, *tick;
};

static int listen_on(struct server *sv, const struct edge_hostport *hp, int kind, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl = net_addr_to_sockaddr(&hp->addr, hp->port, &ss);
    struct lsn *x = &sv->lsn[sv->nlsn];
    x->ed = &sv->ed;
    x->kind = kind;
    x->l = evconnlistener_new_bind(sv->ed.base, on_accept, x,
                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                                   1024, (struct sockaddr *)&ss, (int)sl);
    if (!x->l) { snprintf(err, errlen, "cannot listen on %s: %s", hp->text, strerror(errno)); return -1; }
    sv->nlsn++;
    return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct server *sv = arg;
    log_info("signal %d: shutting down", (int)sig);
    event_base_loopexit(sv->ed.base, NULL);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    struct server *sv = arg;
    edged_clock(&sv->ed);
    if (sv->ed.access_log) fflush(sv->ed.access_log);
}

/* Opens the access log for appending, creating missing directories. */
static FILE *open_log(const char *path)
{
    char dir[EDGE_PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *s = dir + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        mkdir(dir, 0755);
        *s = '/';
    }
    return fopen(path, "a");
}

struct server *server_new(const struct edge_config *cfg, char *err, size_t errlen)
{
    struct server *sv = calloc(1, sizeof *sv);
    if (!sv) { snprintf(err, errlen, "out of memory"); return NULL; }
    struct edged *ed = &sv->ed;
    ed->cfg = cfg;
    ed->lim.max_head = cfg->max_head;
    ed->lim.max_headers = cfg->max_headers;
    /* Upstream heads may be larger than what we accept from clients. */
    ed->up_lim.max_head = 65536;
    ed->up_lim.max_headers = HTTP_MAX_HEADERS;
    edged_clock(ed);
    ed->base = event_base_new();
    ed->store = store_new(cfg->mem_bytes);
    if (!ed->base || !ed->store) { snprintf(err, errlen, "out of memory"); goto fail; }
    for (unsigned i = 0; i < cfg->nsites; i++) {
        struct site_rt *s = &ed->sites[i];
        s->cfg = &cfg->sites[i];
        s->origin = upstream_new(ed, &s->cfg->origin, UP_TIER_ORIGIN);
        if (!s->origin) { snprintf(err, errlen, "out of memory"); goto fail; }
        for (unsigned j = 0; j < s->cfg->nshields; j++) {
            s->shields[j] = upstream_new(ed, &s->cfg->shields[j], UP_TIER_SHIELD);
            if (!s->shields[j]) { snprintf(err, errlen, "out of memory"); goto fail; }
            s->nshields++;
        }
    }
    if (admin_init(ed) != 0) { snprintf(err, errlen, "out of memory"); goto fail; }
    if (tls_init(ed, err, errlen) != 0) goto fail;
    if (cfg->disk_dir[0]) {
        ed->disk = disk_open(cfg->disk_dir, cfg->disk_bytes, err, errlen);
        if (!ed->disk) goto fail;
    }
    if (cfg->access_log[0]) {
        if (strcmp(cfg->access_log, "-") == 0) ed->access_log = stdout;
        else if (!(ed->access_log = open_log(cfg->access_log))) {
            snprintf(err, errlen, "access_log %s: %s", cfg->access_log, strerror(errno));
            goto fail;
        }
    }
    for (unsigned i = 0; i < cfg->nhttp; i++) if (listen_on(sv, &cfg->http[i], L_HTTP, err, errlen)) goto fail;
    for (unsigned i = 0; i < cfg->nhttps; i++) if (listen_on(sv, &cfg->https[i], L_HTTPS, err, errlen)) goto fail;
    if (cfg->has_admin && listen_on(sv, &cfg->admin, L_ADMIN, err, errlen)) goto fail;
    sv->sig_int = evsignal_new(ed->base, SIGINT, on_signal, sv);
    sv->sig_term = evsignal_new(ed->base, SIGTERM, on_signal, sv);
    sv->tick = event_new(ed->base, -1, EV_PERSIST, on_tick, sv);
    if (!sv->sig_int || !sv->sig_term || !sv->tick) { snprintf(err, errlen, "out of memory"); goto fail; }
    evsignal_add(sv->sig_int, NULL);
    evsignal_add(sv->sig_term, NULL);
    struct timeval one = { 1, 0 };
    event_add(sv->tick, &one);
    signal(SIGPIPE, SIG_IGN);
    ed->ready = 1;
    return sv;
fail:
    server_free(&sv);
    return NULL;
}

int server_run(struct server *sv)
{
    return event_base_dispatch(sv->ed.base) < 0 ? -1 : 0;
}

struct edged *server_edged(struct server *sv) { return &sv->ed; }

void server_free(struct server **svp)
{
    struct server *sv = *svp;
    if (!sv) return;
    struct edged *ed = &sv->ed;
    for (unsigned i = 0; i < sv->nlsn; i++) evconnlistener_free(sv->lsn[i].l);
    proxy_shutdown(ed);
    if (sv->sig_int) event_free(sv->sig_int);
    if (sv->sig_term) event_free(sv->sig_term);
    if (sv->tick) event_free(sv->tick);
    for (unsigned i = 0; i < EDGE_MAX_SITES; i++) {
        struct site_rt *s = &ed->sites[i];
        upstream_free(&s->origin);
        for (unsigned j = 0; j < s->nshields; j++) upstream_free(&s->shields[j]);
        if (ed->ssl[i]) SSL_CTX_free(ed->ssl[i]);
    }
    admin_shutdown(ed);
    if (ed->ssl_default) SSL_CTX_free(ed->ssl_default);
    disk_close(&ed->disk);
    store_free(&ed->store);
    if (ed->access_log && ed->access_log != stdout) fclose(ed->access_log);
    if (ed->base) event_base_free(ed->base);
    free(sv);
    *svp = NULL;
}
