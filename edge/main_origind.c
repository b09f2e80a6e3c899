/* edge/main_origind.c: demo and test origin server (bin/origind).
 *   origind [-l ADDR:PORT] [-d DIR] [-m MAXAGE] [-D DELAY_MS] | -V | -h
 * Serves DIR (Cache-Control max-age, ETag, Last-Modified, 304s) and test
 * endpoints; every request is counted per path so tests can see how many
 * reached the origin:
 *   /gen/ANY?size=N&cc=CC&delay=MS&status=S&etag=E&lm=UNIX&vary=H&chunked=1
 *           &skey=K&expires=SECS&setcookie=1&age=SECS   generated body, chosen headers
 *   /__hits?p=PATH   number of requests seen for PATH (not counted itself)
 *   /__reset         zero all counters
 *   /__mode?fail=1   every /gen answer becomes 503 (fail=0 restores)
 *   /__garbage       an unparseable response      /__close  close at once
 *   /__truncate?size=N  promise N bytes, send N/2, close
 *   /__echo          the request head as body (pass-through tests)
 * Single-threaded libevent server built on the edge HTTP parser. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "common/log.h"
#include "common/netaddr.h"
#include "common/version.h"
#include "edge/http.h"

#define MAX_PATHS 8192       /* distinct counted paths; beyond, not counted */
#define MAX_BODY_GEN (1ULL << 31)
/* -m: a year is the longest max-age worth testing (RFC 9111 caps none). */
#define MAX_MAXAGE (365U * 86400U)
/* -D: longer than any edged timeout (the longest default is 30 s). */
#define MAX_DELAY_MS 600000U

struct hit { char *path; uint64_t n; };

static struct {
    struct event_base *base;
    const char *dir;
    unsigned maxage;
    unsigned delay_ms;
    bool fail;
    struct hit hits[MAX_PATHS];
    unsigned nhits;
    struct http_limits lim;
} G;

struct oconn {
    struct bufferevent *bev;
    struct event *timer;
    char *pending; size_t plen;     /* response held back by a delay */
    uint64_t gen_left; uint64_t gen_off; bool gen_chunked;  /* streamed generated body */
    bool close_after;
    bool busy;
};

static uint64_t *hit_slot(const char *p, size_t n)
{
    for (unsigned i = 0; i < G.nhits; i++)
        if (strlen(G.hits[i].path) == n && memcmp(G.hits[i].path, p, n) == 0) return &G.hits[i].n;
    if (G.nhits >= MAX_PATHS) return NULL;
    G.hits[G.nhits].path = strndup(p, n);
    if (!G.hits[G.nhits].path) return NULL;
    G.hits[G.nhits].n = 0;
    return &G.hits[G.nhits++].n;
}

static bool qget(const struct http_msg *m, const char *name, char *out, size_t osz)
{
    size_t nl = strlen(name);
    const char *p = m->query, *end = m->query + m->query_len;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if ((size_t)(e - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t o = 0;
            for (const char *s = p + nl + 1; s < e && o + 1 < osz; s++) {
                if (*s == '%' && s + 2 < e) { char h[3] = { s[1], s[2], 0 }; out[o++] = (char)strtol(h, NULL, 16); s += 2; }
                else if (*s == '+') out[o++] = ' ';
                else out[o++] = *s;
            }
            out[o] = 0;
            return true;
        }
        p = amp ? amp + 1 : NULL;
    }
    return false;
}

static void oc_free(struct oconn *c)
{
    if (c->timer) event_free(c->timer);
    bufferevent_free(c->bev);
    free(c->pending);
    free(c);
}

static void oc_read(struct bufferevent *bev, void *arg);

/* Streams generated body bytes while the output buffer is small. */
static void pump_gen(struct oconn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    char buf[16384];
    while (c->gen_left && evbuffer_get_length(out) < 1 << 20) {
        size_t n = c->gen_left < sizeof buf ? (size_t)c->gen_left : sizeof buf;
        for (size_t i = 0; i < n; i++) buf[i] = (char)('a' + (c->gen_off + i) % 26);
        if (c->gen_chunked) evbuffer_add_printf(out, "%zx\r\n", n);
        evbuffer_add(out, buf, n);
        if (c->gen_chunked) evbuffer_add(out, "\r\n", 2);
        c->gen_left -= n; c->gen_off += n;
        if (!c->gen_left && c->gen_chunked) evbuffer_add(out, "0\r\n\r\n", 5);
    }
}

static void oc_write(struct bufferevent *bev, void *arg)
{
    struct oconn *c = arg;
    if (c->gen_left) { pump_gen(c); return; }
    if (evbuffer_get_length(bufferevent_get_output(bev))) return;
    if (c->close_after) { oc_free(c); return; }
    if (c->busy && !c->pending) {
        c->busy = false;
        if (evbuffer_get_length(bufferevent_get_input(bev))) oc_read(bev, c);
    }
}

static void oc_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev; (void)what;
    oc_free(arg);
}

static void send_now(struct oconn *c)
{
    evbuffer_add(bufferevent_get_output(c->bev), c->pending, c->plen);
    free(c->pending); c->pending = NULL;
    if (c->gen_left) pump_gen(c);
}

static void on_delay(evutil_socket_t fd, short w, void *arg)
{
    (void)fd; (void)w;
    send_now(arg);
}

static void respond(struct oconn *c, char *head, size_t hlen, unsigned delay)
{
    c->pending = head; c->plen = hlen;
    c->busy = true;
    if (delay) {
        if (!c->timer) c->timer = evtimer_new(G.base, on_delay, c);
        struct timeval tv = { delay / 1000, (delay % 1000) * 1000 };
        evtimer_add(c->timer, &tv);
    } else {
        send_now(c);
    }
}

static char *fmt(size_t *len, const char *f, ...) __attribute__((format(printf, 2, 3)));
static char *fmt(size_t *len, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    int n = vasprintf(&s, f, ap);
    va_end(ap);
    if (n < 0) { *len = 0; return NULL; }
    *len = (size_t)n;
    return s;
}

static void simple(struct oconn *c, int status, const char *body, bool close)
{
    char date[40]; http_date_format(time(NULL), date);
    size_t n;
    char *h = fmt(&n, "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n%s",
                  status, http_reason(status), date, strlen(body), close ? "Connection: close\r\n" : "", body);
    if (close) c->close_after = true;
    respond(c, h, n, 0);
}

static void gen(struct oconn *c, const struct http_msg *m, uint64_t hits)
{
    char v[512], extra[4096] = "", cc[256] = "", etag[256] = "", status_s[16];
    size_t el = 0;
    uint64_t size = 100;
    if (qget(m, "size", v, sizeof v)) size = strtoull(v, NULL, 10);
    if (size > MAX_BODY_GEN) size = MAX_BODY_GEN;
    int status = qget(m, "status", status_s, sizeof status_s) ? atoi(status_s) : 200;
    unsigned delay = G.delay_ms;
    if (qget(m, "delay", v, sizeof v)) delay = (unsigned)atoi(v);
    if (G.fail) status = 503;
    time_t now = time(NULL);
    char date[40]; http_date_format(now, date);
    if (qget(m, "cc", cc, sizeof cc)) el += (size_t)snprintf(extra + el, sizeof extra - el, "Cache-Control: %s\r\n", cc);
    if (qget(m, "etag", etag, sizeof etag)) el += (size_t)snprintf(extra + el, sizeof extra - el, "ETag: \"%s\"\r\n", etag);
    time_t lm = 0;
    if (qget(m, "lm", v, sizeof v)) {
        lm = (time_t)strtoll(v, NULL, 10);
        char d[40]; http_date_format(lm, d);
        el += (size_t)snprintf(extra + el, sizeof extra - el, "Last-Modified: %s\r\n", d);
    }
    if (qget(m, "expires", v, sizeof v)) {
        char d[40]; http_date_format(now + atoi(v), d);
        el += (size_t)snprintf(extra + el, sizeof extra - el, "Expires: %s\r\n", d);
    }
    if (qget(m, "vary", v, sizeof v)) {
        el += (size_t)snprintf(extra + el, sizeof extra - el, "Vary: %s\r\n", v);
        const struct http_hdr *h = http_find(m, v);
        el += (size_t)snprintf(extra + el, sizeof extra - el, "X-Vary-Value: %.*s\r\n", h ? (int)h->vlen : 1, h ? h->value : "-");
    }
    if (qget(m, "age", v, sizeof v)) el += (size_t)snprintf(extra + el, sizeof extra - el, "Age: %s\r\n", v);
    if (qget(m, "skey", v, sizeof v)) el += (size_t)snprintf(extra + el, sizeof extra - el, "Surrogate-Key: %s\r\n", v);
    if (qget(m, "setcookie", v, sizeof v)) el += (size_t)snprintf(extra + el, sizeof extra - el, "Set-Cookie: s=%llu\r\n", (unsigned long long)hits);
    if (status == 200 && etag[0]) {
        const struct http_hdr *inm = http_find(m, "if-none-match");
        char q[300]; snprintf(q, sizeof q, "\"%s\"", etag);
        if (inm && inm->vlen == strlen(q) && memcmp(inm->value, q, inm->vlen) == 0) status = 304;
    }
    if (status == 200 && lm && !etag[0]) {
        const struct http_hdr *ims = http_find(m, "if-modified-since");
        time_t t;
        if (ims && http_date_parse(ims->value, ims->vlen, &t) == 0 && lm <= t) status = 304;
    }
    bool chunked = qget(m, "chunked", v, sizeof v) && v[0] == '1';
    bool nobody = status == 304 || status == 204 || m->method == HTTP_M_HEAD;
    size_t n;
    char *h;
    if (nobody)
        h = fmt(&n, "HTTP/1.1 %d %s\r\nDate: %s\r\nX-Origin-Hits: %llu\r\n%s%s\r\n", status, http_reason(status), date,
                (unsigned long long)hits, extra, status == 304 || status == 204 ? "" : "Content-Length: 0\r\n");
    else if (chunked)
        h = fmt(&n, "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: text/plain\r\nX-Origin-Hits: %llu\r\n%sTransfer-Encoding: chunked\r\n\r\n",
                status, http_reason(status), date, (unsigned long long)hits, extra);
    else
        h = fmt(&n, "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: text/plain\r\nX-Origin-Hits: %llu\r\n%sContent-Length: %llu\r\n\r\n",
                status, http_reason(status), date, (unsigned long long)hits, extra, (unsigned long long)size);
    if (!nobody) { c->gen_left = size; c->gen_off = 0; c->gen_chunked = chunked; if (chunked && size == 0) { c->gen_left = 0; } }
    if (!nobody && chunked && size == 0) {
        char *h2 = fmt(&n, "%s0\r\n\r\n", h); free(h); h = h2;
    }
    respond(c, h, n, delay);
}

static void file(struct oconn *c, const struct http_msg *m)
{
    char path[1024];
    if (!G.dir || m->path_len > 512 || memmem(m->path, m->path_len, "..", 2)) { simple(c, 404, "not found\n", false); return; }
    snprintf(path, sizeof path, "%s%.*s", G.dir, (int)m->path_len, m->path);
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) strncat(path, "/index.html", sizeof path - strlen(path) - 1);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) { if (fd >= 0) close(fd); simple(c, 404, "not found\n", false); return; }
    char etag[64]; snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)sb.st_size, (unsigned long long)sb.st_mtime);
    char lm[40]; http_date_format(sb.st_mtime, lm);
    char date[40]; http_date_format(time(NULL), date);
    const struct http_hdr *inm = http_find(m, "if-none-match");
    bool nm = inm && inm->vlen == strlen(etag) && memcmp(inm->value, etag, inm->vlen) == 0;
    const char *ct = strstr(path, ".html") ? "text/html" : strstr(path, ".css") ? "text/css" :
                     strstr(path, ".js") ? "application/javascript" : strstr(path, ".png") ? "image/png" :
                     strstr(path, ".jpg") ? "image/jpeg" : "application/octet-stream";
    size_t n;
    char *h = fmt(&n, "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\nCache-Control: public, max-age=%u\r\n"
                  "ETag: %s\r\nLast-Modified: %s\r\nContent-Length: %llu\r\n\r\n", nm ? 304 : 200, nm ? "Not Modified" : "OK",
                  date, ct, G.maxage, etag, lm, nm || m->method == HTTP_M_HEAD ? 0ULL : (unsigned long long)sb.st_size);
    if (nm) { const char *cl = strstr(h, "Content-Length: 0\r\n"); if (cl) { memmove((char *)cl, cl + 19, strlen(cl + 19) + 1); n -= 19; } }
    respond(c, h, n, G.delay_ms);
    if (!nm && m->method != HTTP_M_HEAD) evbuffer_add_file(bufferevent_get_output(c->bev), fd, 0, sb.st_size);
    else close(fd);
}

static void handle(struct oconn *c, const struct http_msg *m)
{
    char v[1024];
    if (m->path_len == 7 && memcmp(m->path, "/__hits", 7) == 0) {
        uint64_t n = 0;
        if (qget(m, "p", v, sizeof v)) { uint64_t *s = hit_slot(v, strlen(v)); if (s) n = *s; }
        char b[32]; snprintf(b, sizeof b, "%llu\n", (unsigned long long)n);
        simple(c, 200, b, false);
        return;
    }
    if (m->path_len == 8 && memcmp(m->path, "/__reset", 8) == 0) {
        for (unsigned i = 0; i < G.nhits; i++) G.hits[i].n = 0;
        simple(c, 200, "ok\n", false);
        return;
    }
    if (m->path_len == 7 && memcmp(m->path, "/__mode", 7) == 0) {
        if (qget(m, "fail", v, sizeof v)) G.fail = v[0] == '1';
        simple(c, 200, "ok\n", false);
        return;
    }
    uint64_t *slot = hit_slot(m->path, m->path_len);
    uint64_t hits = slot ? ++*slot : 0;
    if (m->path_len >= 5 && memcmp(m->path, "/gen/", 5) == 0) { gen(c, m, hits); return; }
    if (m->path_len == 10 && memcmp(m->path, "/__garbage", 10) == 0) {
        size_t n; char *h = fmt(&n, "HTTP/1.1 2x0 Garbage\r\nContent-Length: nope\r\n\r\n");
        c->close_after = true;
        respond(c, h, n, 0);
        return;
    }
    if (m->path_len == 8 && memcmp(m->path, "/__close", 8) == 0) { c->close_after = true; c->busy = true; oc_write(c->bev, c); return; }
    if (m->path_len == 11 && memcmp(m->path, "/__truncate", 11) == 0) {
        uint64_t size = qget(m, "size", v, sizeof v) ? strtoull(v, NULL, 10) : 1000;
        size_t n; char *h = fmt(&n, "HTTP/1.1 200 OK\r\nContent-Length: %llu\r\nCache-Control: max-age=60\r\n\r\n", (unsigned long long)size);
        c->gen_left = size / 2; c->gen_off = 0; c->gen_chunked = false;
        c->close_after = true;
        respond(c, h, n, 0);
        return;
    }
    if (m->path_len == 7 && memcmp(m->path, "/__echo", 7) == 0) {
        char b[16384];
        size_t l = m->head_len < sizeof b - 1 ? m->head_len : sizeof b - 1;
        memcpy(b, m->method_s, l); b[l] = 0;
        simple(c, 200, b, false);
        return;
    }
    file(c, m);
}

static void oc_read(struct bufferevent *bev, void *arg)
{
    struct oconn *c = arg;
    if (c->busy || c->close_after) return;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    if (!n) return;
    size_t take = n < G.lim.max_head ? n : G.lim.max_head;
    const char *p = (const char *)evbuffer_pullup(in, (ssize_t)take);
    struct http_msg m;
    enum http_parse rc = http_parse_request(p, take, &G.lim, &m);
    if (rc == HTTP_PARSE_INCOMPLETE) return;
    if (rc != HTTP_PARSE_OK) { simple(c, 400, "bad request\n", true); return; }
    if (m.body == HTTP_BODY_LENGTH && evbuffer_get_length(in) < m.head_len + m.content_length) return;
    if (m.body == HTTP_BODY_CHUNKED) { simple(c, 411, "no chunked bodies here\n", true); return; }
    if (!m.keep_alive) c->close_after = true;
    handle(c, &m);
    evbuffer_drain(in, m.head_len + (m.body == HTTP_BODY_LENGTH ? m.content_length : 0));
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int sl, void *arg)
{
    (void)l; (void)sa; (void)sl; (void)arg;
    struct oconn *c = calloc(1, sizeof *c);
    if (!c) { close(fd); return; }
    c->bev = bufferevent_socket_new(G.base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) { close(fd); free(c); return; }
    bufferevent_setcb(c->bev, oc_read, oc_write, oc_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void on_signal(evutil_socket_t s, short w, void *arg) { (void)s; (void)w; (void)arg; event_base_loopexit(G.base, NULL); }

static void usage(FILE *f)
{
    fprintf(f,
            "usage: origind [-l ADDR:PORT] [-d DIR] [-m MAXAGE] [-D DELAY_MS]\n"
            "  -l, --listen ADDR:PORT  listen address (default 127.0.0.1:8000)\n"
            "  -d, --dir DIR           serve the files in DIR\n"
            "  -m, --max-age MAXAGE    max-age of served files in seconds (default 60)\n"
            "  -D, --delay DELAY_MS    delay every answer by DELAY_MS milliseconds (default 0)\n"
            "  -V, --version           print the version\n"
            "  -h, --help              this help\n"
            "A test and demo origin for edged; see origind(8) for its test endpoints.\n"
            "signals: INT/TERM stop\n"
            "exit: 0 stopped by a signal, 1 cannot listen, 2 usage\n");
}

/* A decimal in [0, max] (the whole string). Returns 0 or -1. */
static int parse_uint(const char *s, unsigned max, unsigned *out)
{
    char *end;
    if (s[0] < '0' || s[0] > '9') return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max) return -1;
    *out = (unsigned)v;
    return 0;
}

int main(int argc, char **argv)
{
    const char *listen = "127.0.0.1:8000";
    G.maxage = 60;
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' }, { "dir", required_argument, NULL, 'd' },
        { "max-age", required_argument, NULL, 'm' }, { "delay", required_argument, NULL, 'D' },
        { "version", no_argument, NULL, 'V' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "l:d:m:D:Vh", opts, NULL)) != -1) {
        switch (opt) {
        case 'l': listen = optarg; break;
        case 'd': G.dir = optarg; break;
        case 'm':
            if (parse_uint(optarg, MAX_MAXAGE, &G.maxage) != 0) {
                fprintf(stderr, "origind: -m %s: want seconds, 0 to %u\n", optarg, MAX_MAXAGE);
                return 2;
            }
            break;
        case 'D':
            if (parse_uint(optarg, MAX_DELAY_MS, &G.delay_ms) != 0) {
                fprintf(stderr, "origind: -D %s: want milliseconds, 0 to %u\n", optarg, MAX_DELAY_MS);
                return 2;
            }
            break;
        case 'V': printf("origind %s\n", STEER_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    G.lim.max_head = 65536; G.lim.max_headers = HTTP_MAX_HEADERS;
    struct net_addr a; uint16_t port;
    if (net_hostport_parse(listen, 8000, &a, &port) != 0) { fprintf(stderr, "origind: bad address %s\n", listen); return 2; }
    struct sockaddr_storage ss;
    socklen_t sl = net_addr_to_sockaddr(&a, port, &ss);
    signal(SIGPIPE, SIG_IGN);
    G.base = event_base_new();
    struct evconnlistener *l = evconnlistener_new_bind(G.base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                                       1024, (struct sockaddr *)&ss, (int)sl);
    if (!l) { fprintf(stderr, "origind: cannot listen on %s: %s\n", listen, strerror(errno)); return 1; }
    struct event *si = evsignal_new(G.base, SIGINT, on_signal, NULL), *st = evsignal_new(G.base, SIGTERM, on_signal, NULL);
    evsignal_add(si, NULL); evsignal_add(st, NULL);
    fprintf(stderr, "origind listening on %s\n", listen);
    event_base_dispatch(G.base);
    evconnlistener_free(l);
    event_free(si); event_free(st);
    for (unsigned i = 0; i < G.nhits; i++) free(G.hits[i].path);
    event_base_free(G.base);
    return 0;
}
