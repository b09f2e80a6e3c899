/* tests/tools/health_server.c: a scriptable HTTP(S)/TCP target for health
 * check tests.
 *
 *   health_server -c CTLPORT [-a ADDR] [-C cert.pem -K key.pem]
 *                 -p PORT[=MODE] ... -s PORT[=MODE] ...   (-s: TLS port)
 *
 * Every port has a mode, changed at run time through the control port (one
 * command per line, answered with one line):
 *   mode PORT MODE   -> "ok"          count PORT -> requests accepted so far
 *   close PORT       -> stop listening (connections are refused)
 *   open PORT        -> listen again
 * Modes: ok (200, body "status: healthy"), fail (503), wrongbody (200,
 * body "status: sick"), alternate (200 / 503 on alternate requests),
 * hang (accept, never answer), reset (RST at once), garbage (binary junk,
 * then close), endless (200 with a body that never ends), bighead (endless
 * header lines), chunked (200, chunked body "status: healthy").
 * Prints "ready" on stdout once all ports listen. Exits on SIGTERM/SIGINT. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/netaddr.h"

#define MAX_PORTS 64
#define FILL_CHUNK 16384   /* endless modes: refill when the output drains below this */

enum mode { M_OK, M_FAIL, M_WRONGBODY, M_ALTERNATE, M_HANG, M_RESET, M_GARBAGE, M_ENDLESS, M_BIGHEAD,
            M_CHUNKED };
static const char *mode_names[] = { "ok", "fail", "wrongbody", "alternate", "hang", "reset", "garbage",
                                    "endless", "bighead", "chunked", NULL };

struct port {
    uint16_t port;
    bool tls;
    enum mode mode;
    unsigned long count;
    struct evconnlistener *lis;
};

static struct event_base *base;
static struct port ports[MAX_PORTS];
static int nports;
static SSL_CTX *ssl_ctx;
static struct net_addr bind_addr;

struct conn {
    struct conn *prev, *next;   /* all open connections, freed at exit */
    struct bufferevent *bev;
    struct port *p;
    enum mode mode;   /* fixed at accept */
    bool alt_ok;
    bool answered;
};

static int parse_mode(const char *s, enum mode *m)
{
    for (int i = 0; mode_names[i]; i++)
        if (strcmp(s, mode_names[i]) == 0) {
            *m = (enum mode)i;
            return 0;
        }
    return -1;
}

static struct port *find_port(unsigned port)
{
    for (int i = 0; i < nports; i++)
        if (ports[i].port == port)
            return &ports[i];
    return NULL;
}

static struct conn *conns;

static void conn_free(struct bufferevent *bev, struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    bufferevent_free(bev);
    free(c);
}

static void endless_write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    static char fill[FILL_CHUNK];
    if (!fill[0])
        memset(fill, 'x', sizeof fill);
    if (c->mode == M_BIGHEAD) {
        char line[FILL_CHUNK + 16];
        int n = snprintf(line, sizeof line, "X-Filler: %.*s\r\n", 200, fill);
        for (int i = 0; i < 64; i++)
            bufferevent_write(bev, line, (size_t)n);
    } else {
        bufferevent_write(bev, fill, sizeof fill);
    }
}

static void close_after_write_cb(struct bufferevent *bev, void *arg)
{
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        conn_free(bev, arg);
}

static void respond(struct bufferevent *bev, struct conn *c)
{
    int status = 200;
    const char *body = "status: healthy\n";
    switch (c->mode) {
    case M_FAIL: status = 503; body = "status: down\n"; break;
    case M_WRONGBODY: body = "status: sick\n"; break;
    case M_ALTERNATE: if (!c->alt_ok) { status = 503; body = "status: down\n"; } break;
    case M_ENDLESS:
        bufferevent_write(bev, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", 45);
        bufferevent_setcb(bev, NULL, endless_write_cb, NULL, c);
        bufferevent_setwatermark(bev, EV_WRITE, FILL_CHUNK, 0);
        endless_write_cb(bev, c);
        return;
    case M_BIGHEAD:
        bufferevent_write(bev, "HTTP/1.1 200 OK\r\n", 17);
        bufferevent_setcb(bev, NULL, endless_write_cb, NULL, c);
        bufferevent_setwatermark(bev, EV_WRITE, FILL_CHUNK, 0);
        endless_write_cb(bev, c);
        return;
    case M_CHUNKED:
        evbuffer_add_printf(bufferevent_get_output(bev),
                            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                            "7\r\nstatus:\r\n9\r\n healthy\n\r\n0\r\n\r\n");
        bufferevent_setcb(bev, NULL, close_after_write_cb, NULL, c);
        return;
    default: break;
    }
    evbuffer_add_printf(bufferevent_get_output(bev),
                        "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                        "Connection: close\r\n\r\n%s",
                        status, status == 200 ? "OK" : "Service Unavailable", strlen(body), body);
    bufferevent_setcb(bev, NULL, close_after_write_cb, NULL, c);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (c->mode == M_HANG || c->answered) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (end.pos < 0) {
        if (evbuffer_get_length(in) > 65536)
            conn_free(bev, c);
        return;
    }
    evbuffer_drain(in, evbuffer_get_length(in));
    c->answered = true;
    respond(bev, c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        conn_free(bev, arg);
}

static void accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
    struct port *p = arg;
    p->count++;
    if (p->mode == M_RESET) {
        struct linger lg = { 1, 0 };
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd);
        return;
    }
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->p = p;
    c->mode = p->mode;
    c->alt_ok = (p->count % 2) == 1;
    struct bufferevent *bev;
    if (p->tls)
        bev = bufferevent_openssl_socket_new(base, fd, SSL_new(ssl_ctx), BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE);
    else
        bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        close(fd);
        free(c);
        return;
    }
    c->bev = bev;
    c->next = conns;
    if (conns)
        conns->prev = c;
    conns = c;
    if (c->mode == M_GARBAGE) {
        unsigned char junk[512];
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (unsigned char)(rand() & 0xff);
        junk[0] = 0x16;   /* not "H": surely not HTTP */
        bufferevent_write(bev, junk, sizeof junk);
        bufferevent_setcb(bev, NULL, close_after_write_cb, event_cb, c);
        bufferevent_enable(bev, EV_READ | EV_WRITE);
        return;
    }
    bufferevent_setcb(bev, read_cb, NULL, event_cb, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static int port_listen(struct port *p)
{
    struct sockaddr_storage ss;
    socklen_t sl = net_addr_to_sockaddr(&bind_addr, p->port, &ss);
    p->lis = evconnlistener_new_bind(base, accept_cb, p, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 512,
                                     (struct sockaddr *)&ss, (int)sl);
    return p->lis ? 0 : -1;
}

/* ---- control port ----------------------------------------------------- */

static void ctl_read_cb(struct bufferevent *bev, void *arg)
{
    char *line;
    size_t n;
    while ((line = evbuffer_readln(bufferevent_get_input(bev), &n, EVBUFFER_EOL_CRLF)) != NULL) {
        char cmd[16] = "", arg2[32] = "";
        unsigned port = 0;
        struct port *p = NULL;
        const char *reply = "error";
        char buf[64];
        if (sscanf(line, "%15s %u %31s", cmd, &port, arg2) >= 2)
            p = find_port(port);
        if (p && strcmp(cmd, "mode") == 0) {
            enum mode m;
            if (parse_mode(arg2, &m) == 0) {
                p->mode = m;
                reply = "ok";
            }
        } else if (p && strcmp(cmd, "count") == 0) {
            snprintf(buf, sizeof buf, "%lu", p->count);
            reply = buf;
        } else if (p && strcmp(cmd, "close") == 0) {
            if (p->lis)
                evconnlistener_free(p->lis);
            p->lis = NULL;
            reply = "ok";
        } else if (p && strcmp(cmd, "open") == 0) {
            reply = (p->lis || port_listen(p) == 0) ? "ok" : "error";
        }
        evbuffer_add_printf(bufferevent_get_output(bev), "%s\n", reply);
        free(line);
    }
}

static void ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        bufferevent_free(bev);
}

static void ctl_accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
    struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        close(fd);
        return;
    }
    bufferevent_setcb(bev, ctl_read_cb, NULL, ctl_event_cb, NULL);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void sig_cb(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopbreak(base);
}

static int add_port(const char *spec, bool tls)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", spec);
    char *eq = strchr(buf, '=');
    enum mode m = M_OK;
    if (eq) {
        *eq = '\0';
        if (parse_mode(eq + 1, &m) < 0)
            return -1;
    }
    int port = atoi(buf);
    if (port <= 0 || port > 65535 || nports == MAX_PORTS)
        return -1;
    ports[nports].port = (uint16_t)port;
    ports[nports].tls = tls;
    ports[nports].mode = m;
    nports++;
    return 0;
}

int main(int argc, char **argv)
{
    int opt, ctl = 0;
    const char *cert = NULL, *key = NULL, *addr = "127.0.0.1";
    bool any_tls = false;
    while ((opt = getopt(argc, argv, "c:a:C:K:p:s:")) != -1) {
        switch (opt) {
        case 'c': ctl = atoi(optarg); break;
        case 'a': addr = optarg; break;
        case 'C': cert = optarg; break;
        case 'K': key = optarg; break;
        case 'p':
        case 's':
            if (add_port(optarg, opt == 's') < 0) {
                fprintf(stderr, "bad port spec '%s'\n", optarg);
                return 2;
            }
            any_tls |= opt == 's';
            break;
        default:
            fprintf(stderr, "usage: health_server -c CTLPORT [-a ADDR] [-C cert -K key] -p PORT[=MODE] -s PORT[=MODE]\n");
            return 2;
        }
    }
    if (ctl <= 0 || net_addr_parse(addr, &bind_addr) < 0) {
        fprintf(stderr, "need -c CTLPORT and a valid -a ADDR\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (any_tls) {
        ssl_ctx = SSL_CTX_new(TLS_server_method());
        if (!ssl_ctx || !cert || !key || SSL_CTX_use_certificate_chain_file(ssl_ctx, cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(ssl_ctx, key, SSL_FILETYPE_PEM) != 1) {
            fprintf(stderr, "TLS ports need -C cert.pem -K key.pem\n");
            return 2;
        }
    }
    base = event_base_new();
    for (int i = 0; i < nports; i++)
        if (port_listen(&ports[i]) < 0) {
            fprintf(stderr, "cannot listen on %s:%u: %s\n", addr, ports[i].port, strerror(errno));
            return 1;
        }
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)ctl),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct evconnlistener *cl = evconnlistener_new_bind(base, ctl_accept_cb, NULL,
                                                        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
                                                        (struct sockaddr *)&sin, sizeof sin);
    if (!cl) {
        fprintf(stderr, "cannot listen on control port %d\n", ctl);
        return 1;
    }
    struct event *s1 = evsignal_new(base, SIGTERM, sig_cb, NULL);
    struct event *s2 = evsignal_new(base, SIGINT, sig_cb, NULL);
    event_add(s1, NULL);
    event_add(s2, NULL);
    printf("ready\n");
    fflush(stdout);
    event_base_dispatch(base);
    event_free(s1);
    event_free(s2);
    evconnlistener_free(cl);
    for (int i = 0; i < nports; i++)
        if (ports[i].lis)
            evconnlistener_free(ports[i].lis);
    while (conns)
        conn_free(conns->bev, conns);
    event_base_free(base);
    if (ssl_ctx)
        SSL_CTX_free(ssl_ctx);
    return 0;
}
