/* edge/proxy.c: client connections, routing, fetches and delivery.
 *
 * A request moves through these steps (each a function returning when it
 * must wait for I/O): read head -> route (health / site / signature) ->
 * read body (pass only) -> lookup -> {serve object | join pending fetch |
 * start fetch} -> deliver -> flush -> next request. A fetch talks to the
 * upstream chain [best live shield by rendezvous hash, origin] and, when
 * the response head arrives, turns into an object that every waiter reads
 * (cache-while-streaming). */
#include "edge/proxy.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "edge/cc.h"
#include "edge/disk.h"
#include "edge/signurl.h"

/* ---- types ------------------------------------------------------------- */

/* Output queued beyond this pauses pumping (and, for pass-through, the
 * upstream): 256 KiB is a few socket buffers' worth. */
#define OUT_HIGH (256 * 1024)
/* Longest cache key: host (255) + path/query; longer URLs are passed. */
#define KEY_MAX 4096

enum cstate { C_HEAD = 0, C_BODY, C_WAIT, C_SEND, C_FLUSH, C_CLOSING };

#define CONN_MAGIC 0xc0c0a1e5U
#define FETCH_MAGIC 0xfe7c4ed0U

struct fetch;

struct conn {
    uint32_t magic;
    struct conn *cnext, *cprev;    /* ed->conns */
    struct edged *ed;
    struct bufferevent *bev;
    bool tls;
    enum cstate st;
    char *hbuf;                    /* malloced copy of the current head (max_head) */
    struct http_msg req;
    char peer[48];
    uint64_t t_start, t_head_start;
    /* request */
    const struct edge_site *site;
    struct site_rt *srt;
    char key[KEY_MAX]; size_t klen;
    struct cc_req rcc;
    bool head_only, keep_alive, has_auth, unsafe;
    char *body; size_t blen, bcap; /* request body (malloced) */
    struct chunk_dec cd; uint64_t body_left;
    /* waiting on a fetch */
    struct fetch *fetch;
    struct conn *wnext, *wprev;
    bool initiator;
    /* delivery */
    struct obj *obj;
    struct obj_reader rd;
    struct chunk *pchunk; uint32_t poff;   /* position: chunk (referenced) and offset in it */
    uint64_t pos, end;                     /* body offsets [pos, end); end UINT64_MAX: to EOF */
    bool chunked_out, streaming;
    const char *xcache;
    /* log */
    int status;
    uint64_t bytes, up_ms;
};

struct fetch {
    uint32_t magic;
    struct fetch *fnext, *fprev;   /* ed->fetches */
    struct edged *ed;
    struct site_rt *srt;
    struct centry *ce;             /* when collapsible (registered as ce->pending) */
    bool pass, bg;
    struct obj *stale;             /* being revalidated (ref) */
    struct obj *obj;               /* being filled (ref) */
    struct conn *waiters;          /* waiting for the head */
    char *rhead;                   /* malloced copy of the initiator's head */
    struct http_msg rmsg;          /* parsed from rhead */
    bool tls;
    char *req; size_t req_len;     /* upstream request head (malloced) */
    char *body; size_t blen;       /* pass body (malloced) */
    enum http_method method;
    struct upstream *chain[2];
    unsigned nchain, cur;
    struct uconn *uc;
    time_t request_time;
    uint64_t t0;
    bool paused;
};

static void conn_read(struct bufferevent *bev, void *arg);
static void conn_write(struct bufferevent *bev, void *arg);
static void conn_event(struct bufferevent *bev, short what, void *arg);
static void conn_process(struct conn *c);
static void conn_serve(struct conn *c, struct obj *o, const char *xcache);
static void conn_pump(struct conn *c);
static void conn_lookup(struct conn *c);
static void fetch_start(struct conn *c, struct obj *stale, bool pass, bool bg);
static void fetch_attempt(struct fetch *f);
static void fetch_free(struct fetch *f);

static const struct up_cb fetch_cb;

/* ---- small helpers ----------------------------------------------------- */

static struct timeval tv_ms(uint64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
    return tv;
}

/* Appends a decimal number; buffer must have 21 bytes free. */
static char *put_u64(char *p, uint64_t v)
{
    char tmp[21]; int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

static char *put_str(char *p, const char *s) { size_t n = strlen(s); memcpy(p, s, n); return p + n; }
static char *put_mem(char *p, const char *s, size_t n) { memcpy(p, s, n); return p + n; }

static char *xstrndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) { memcpy(d, s, n); d[n] = 0; }
    return d;
}

/* Value of header `name` in a stored head ("Name: value\r\n" lines). */
static const char *head_field(const struct obj *o, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *p = o->head + o->fields_off, *end = o->head + o->head_len;
    while (p < end) {
        const char *eol = memchr(p, '\r', (size_t)(end - p));
        if (!eol) break;
        if ((size_t)(eol - p) > nl + 1 && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            while (v < eol && *v == ' ') v++;
            *vlen = (size_t)(eol - v);
            return v;
        }
        p = eol + 2;
    }
    return NULL;
}

/* ---- cache key and Vary ------------------------------------------------ */

static bool qparam_listed(const struct edge_site *s, const char *name, size_t nl)
{
    for (unsigned i = 0; i < s->nqparams; i++)
        if (strlen(s->qparams[i]) == nl && memcmp(s->qparams[i], name, nl) == 0) return true;
    return false;
}

size_t proxy_cache_key(const struct edge_site *site, bool tls, const char *host, size_t hlen,
                       const char *path, size_t plen, const char *query, size_t qlen,
                       char *out, size_t outsz)
{
    /* host without port, lower-case */
    size_t h = hlen;
    if (h && host[0] != '[') { const char *c = memchr(host, ':', h); if (c) h = (size_t)(c - host); }
    else if (h) { const char *rb = memchr(host, ']', h); if (rb) h = (size_t)(rb - host) + 1; }
    if (h && host[h - 1] == '.') h--;
    size_t need = 8 + h + plen + 1 + qlen + 1;
    if (need > outsz) return 0;
    char *p = out;
    p = put_str(p, tls ? "https://" : "http://");
    for (size_t i = 0; i < h; i++) *p++ = (char)tolower((unsigned char)host[i]);
    p = put_mem(p, path, plen);
    if (qlen && site->qmode != EDGE_Q_NONE) {
        char *qstart = p;
        *p++ = '?';
        const char *q = query, *end = query + qlen;
        bool any = false;
        while (q < end) {
            const char *amp = memchr(q, '&', (size_t)(end - q));
            const char *e = amp ? amp : end;
            const char *eq = memchr(q, '=', (size_t)(e - q));
            size_t nl = (size_t)((eq ? eq : e) - q);
            bool keep = e > q;
            if (site->qmode == EDGE_Q_ALLOW) keep = keep && qparam_listed(site, q, nl);
            else if (site->qmode == EDGE_Q_DENY) keep = keep && !qparam_listed(site, q, nl);
            if (site->sign_secret_len && ((nl == 3 && memcmp(q, "sig", 3) == 0) ||
                                          (nl == 7 && memcmp(q, "expires", 7) == 0)))
                keep = false;
            if (keep) {
                if (any) *p++ = '&';
                p = put_mem(p, q, (size_t)(e - q));
                any = true;
            }
            q = e + 1;
        }
        if (!any) p = qstart;
    }
    *p = 0;
    return (size_t)(p - out);
}

size_t proxy_key_prefix(const char *in, size_t n, char *out, size_t outsz)
{
    size_t sl = 0;
    if (n >= 7 && strncasecmp(in, "http://", 7) == 0) sl = 7;
    else if (n >= 8 && strncasecmp(in, "https://", 8) == 0) sl = 8;
    if (sl == 0) {
        if (n + 1 > outsz) return 0;
        memcpy(out, in, n);
        out[n] = 0;
        return n;
    }
    if (n + 2 > outsz) return 0;        /* room for an added '/' and the NUL */
    const char *a = in + sl, *end = in + n;
    const char *ae = a;                 /* end of the authority */
    while (ae < end && *ae != '/' && *ae != '?') ae++;
    const char *he;                     /* end of the host */
    if (a < ae && *a == '[') {
        he = memchr(a, ']', (size_t)(ae - a));
        he = he ? he + 1 : ae;
    } else {
        he = memchr(a, ':', (size_t)(ae - a));
        if (!he) he = ae;
    }
    bool complete = he < ae || ae < end;   /* a port, path or query follows */
    size_t hl = (size_t)(he - a);
    if (complete && hl && a[hl - 1] == '.') hl--;
    char *p = out;
    for (size_t i = 0; i < sl; i++) *p++ = (char)tolower((unsigned char)in[i]);
    for (size_t i = 0; i < hl; i++) *p++ = (char)tolower((unsigned char)a[i]);
    if (complete && (ae == end || *ae == '?')) *p++ = '/';   /* keys' paths start with '/' */
    p = put_mem(p, ae, (size_t)(end - ae));
    *p = 0;
    return (size_t)(p - out);
}

/* Normalised value of request field `name` for Vary: all fields of that
 * name joined, split on commas, trimmed, lower-cased, sorted, de-duplicated.
 * So "gzip, br" and "br,gzip" share a variant. Returns length or -1. */
static int vary_value(const struct http_msg *m, const char *name, size_t nl, char *out, size_t outsz)
{
    /* Bounded: at most 32 elements are considered; more are ignored. */
    const char *el[32]; size_t len[32]; unsigned n = 0;
    for (uint32_t i = 0; i < m->nhdr; i++) {
        const struct http_hdr *h = &m->hdr[i];
        if (h->nlen != nl || strncasecmp(h->name, name, nl) != 0) continue;
        const char *p = h->value, *end = p + h->vlen;
        while (p < end && n < 32) {
            while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) p++;
            const char *s = p;
            while (p < end && *p != ',') p++;
            const char *e = p;
            while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
            if (e > s) { el[n] = s; len[n] = (size_t)(e - s); n++; }
        }
    }
    /* insertion sort (n <= 32), case-insensitive */
    for (unsigned i = 1; i < n; i++)
        for (unsigned j = i; j > 0; j--) {
            size_t a = len[j - 1] < len[j] ? len[j - 1] : len[j];
            int c = strncasecmp(el[j - 1], el[j], a);
            if (c < 0 || (c == 0 && len[j - 1] <= len[j])) break;
            const char *t = el[j]; el[j] = el[j - 1]; el[j - 1] = t;
            size_t tl = len[j]; len[j] = len[j - 1]; len[j - 1] = tl;
        }
    size_t o = 0;
    for (unsigned i = 0; i < n; i++) {
        if (i && len[i] == len[i - 1] && strncasecmp(el[i], el[i - 1], len[i]) == 0) continue;
        if (o + len[i] + 2 > outsz) return -1;
        if (o) out[o++] = ',';
        for (size_t k = 0; k < len[i]; k++) {
            char ch = el[i][k];
            if (ch == ' ' || ch == '\t') continue;
            out[o++] = (char)tolower((unsigned char)ch);
        }
    }
    return (int)o;
}

/* True if request m selects variant o (RFC 9111 4.1). */
bool proxy_vary_match(const char *vary, uint32_t vary_len, const struct http_msg *m)
{
    if (!vary) return true;
    const char *p = vary, *end = vary + vary_len;
    while (p < end) {
        const char *name = p; size_t nl = strlen(p); p += nl + 1;
        const char *val = p; size_t vl = strlen(p); p += vl + 1;
        char buf[1024];
        int n = vary_value(m, name, nl, buf, sizeof buf);
        if (n < 0 || (size_t)n != vl || memcmp(buf, val, vl) != 0) return false;
    }
    return true;
}

static bool vary_match(const struct obj *o, const struct http_msg *m)
{
    return proxy_vary_match(o->vary, o->vary_len, m);
}

/* Builds o->vary from response Vary and request m. Returns -1 if too big. */
static int vary_build(struct obj *o, const struct http_msg *resp, const struct http_msg *m)
{
    char out[4096]; size_t ol = 0;
    for (uint32_t i = 0; i < resp->nhdr; i++) {
        const struct http_hdr *h = &resp->hdr[i];
        if (!http_name_is(h->name, h->nlen, "vary")) continue;
        const char *p = h->value, *end = p + h->vlen;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == ',' || *p == '\t')) p++;
            const char *s = p;
            while (p < end && *p != ',' && *p != ' ' && *p != '\t') p++;
            size_t nl = (size_t)(p - s);
            if (!nl) continue;
            if (ol + nl + 2 > sizeof out) return -1;
            for (size_t k = 0; k < nl; k++) out[ol + k] = (char)tolower((unsigned char)s[k]);
            ol += nl; out[ol++] = 0;
            int vl = vary_value(m, s, nl, out + ol, sizeof out - ol - 1);
            if (vl < 0) return -1;
            ol += (size_t)vl; out[ol++] = 0;
        }
    }
    if (ol == 0) return 0;
    o->vary = malloc(ol);
    if (!o->vary) return -1;
    memcpy(o->vary, out, ol);
    o->vary_len = (uint32_t)ol;
    return 0;
}

/* ---- health ----------------------------------------------------------- */

bool proxy_healthy(const struct edged *ed)
{
    if (!ed->ready) return false;
    for (unsigned i = 0; i < ed->cfg->nsites; i++) {
        const struct site_rt *s = &ed->sites[i];
        if (!s->origin->down) return true;
        for (unsigned j = 0; j < s->nshields; j++) if (!s->shields[j]->down) return true;
    }
    return false;
}

/* ---- connection lifecycle ---------------------------------------------- */

static void conn_detach(struct conn *c);

static void conn_free(struct conn *c)
{
    assert(c->magic == CONN_MAGIC);
    conn_detach(c);
    if (c->cprev) c->cprev->cnext = c->cnext; else c->ed->conns = c->cnext;
    if (c->cnext) c->cnext->cprev = c->cprev;
    if (c->bev) {
        SSL *ssl = c->tls ? bufferevent_openssl_get_ssl(c->bev) : NULL;
        if (ssl) SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
        bufferevent_free(c->bev);
    }
    free(c->hbuf);
    free(c->body);
    c->ed->st.conns_open--;
    c->magic = 0;
    free(c);
}

void proxy_accept(struct edged *ed, evutil_socket_t fd, const struct sockaddr *sa, struct ssl_st *ssl)
{
    if (ed->st.conns_open >= ed->cfg->max_conns) {
        log_ratelimited(LOG_LVL_WARN, "connection limit %u reached", ed->cfg->max_conns);
        if (ssl) SSL_free(ssl);
        evutil_closesocket(fd);
        return;
    }
    struct conn *c = calloc(1, sizeof *c);
    char *hb = malloc(ed->cfg->max_head);
    if (!c || !hb) { free(c); free(hb); if (ssl) SSL_free(ssl); evutil_closesocket(fd); return; }
    c->magic = CONN_MAGIC;
    c->ed = ed;
    c->hbuf = hb;
    c->tls = ssl != NULL;
    struct net_addr a; uint16_t port;
    net_addr_from_sockaddr(sa, &a, &port);
    net_addr_format(&a, c->peer, sizeof c->peer);
    evutil_make_socket_nonblocking(fd);
    if (ssl)
        c->bev = bufferevent_openssl_socket_new(ed->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                BEV_OPT_CLOSE_ON_FREE);
    else
        c->bev = bufferevent_socket_new(ed->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) { if (ssl) SSL_free(ssl); evutil_closesocket(fd); free(hb); free(c); return; }
    ed->st.conns_open++;
    ed->st.conns_total++;
    c->cnext = ed->conns;
    if (c->cnext) c->cnext->cprev = c;
    ed->conns = c;
    bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
    /* libevent writes at most 16 KiB per callback by default: a 100 KiB hit
     * would take seven loop iterations. Let one writev take a whole
     * response (bounded by the socket buffer anyway). */
    bufferevent_set_max_single_write(c->bev, 1 << 20);
    /* Stop reading while more than two heads are queued: pipelining floods
     * stay bounded; the body reader drains as it goes. */
    bufferevent_setwatermark(c->bev, EV_READ, 0, (size_t)ed->cfg->max_head * 2);
    struct timeval rt = tv_ms(ed->cfg->t_client_idle), wt = tv_ms(ed->cfg->t_send);
    bufferevent_set_timeouts(c->bev, &rt, &wt);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->st = C_HEAD;
    c->t_head_start = 0;
}

void proxy_shutdown(struct edged *ed)
{
    while (ed->conns) conn_free(ed->conns);
    while (ed->fetches) {
        struct fetch *f = ed->fetches;
        if (f->uc) up_abort(f->uc);
        f->uc = NULL;
        if (f->obj) {
            if (f->obj->state == OBJ_FILLING) f->obj->state = OBJ_FAILED;
            f->obj->fill = NULL;
        }
        fetch_free(f);
    }
}

/* ---- responses --------------------------------------------------------- */

static void access_log(struct conn *c)
{
    struct edged *ed = c->ed;
    ed->st.requests++;
    if (c->status >= 100 && c->status < 600) ed->st.status[c->status / 100]++;
    ed->st.bytes_out += c->bytes;
    if (!ed->access_log) return;
    char t[64];
    struct tm tm;
    gmtime_r(&ed->now, &tm);
    strftime(t, sizeof t, "%d/%b/%Y:%H:%M:%S +0000", &tm);
    /* common log format + cache status + upstream ms + total ms */
    fprintf(ed->access_log, "%s - - [%s] \"%.*s %.*s HTTP/1.%d\" %d %llu \"%s\" up=%llums t=%llums\n",
            c->peer, t, (int)c->req.method_len, c->req.method_s ? c->req.method_s : "-",
            (int)(c->req.target_len > 2048 ? 2048 : c->req.target_len), c->req.target ? c->req.target : "-",
            c->req.minor, c->status, (unsigned long long)c->bytes, c->xcache ? c->xcache : "-",
            (unsigned long long)c->up_ms, (unsigned long long)(edged_ms() - c->t_start));
}

/* The response is fully queued: log, then wait for the flush (conn_write)
 * before reading the next request, which keeps pipelined responses ordered. */
static void conn_done(struct conn *c)
{
    access_log(c);
    c->st = c->keep_alive ? C_FLUSH : C_CLOSING;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) conn_write(c->bev, c);
}

/* Sends a generated response (errors, health, purge replies). */
static void conn_simple(struct conn *c, int status, const char *extra, const char *body, bool close)
{
    struct edged *ed = c->ed;
    size_t bl = body ? strlen(body) : 0;
    char h[1024];
    int n = snprintf(h, sizeof h, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: edged\r\n"
                     "Content-Type: text/plain\r\nCache-Control: no-store\r\nContent-Length: %zu\r\n"
                     "%s%s\r\n", status, http_reason(status), ed->date, bl, extra ? extra : "",
                     close ? "Connection: close\r\n" : "");
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add(out, h, (size_t)n);
    if (!c->head_only && bl) evbuffer_add(out, body, bl);
    c->status = status;
    c->bytes += (uint64_t)n + (c->head_only ? 0 : bl);
    if (close) c->keep_alive = false;
    conn_done(c);
}

static void conn_error(struct conn *c, int status, const char *msg)
{
    char body[256];
    snprintf(body, sizeof body, "%d %s: %s\n", status, http_reason(status), msg);
    char extra[256];
    snprintf(extra, sizeof extra, "Via: 1.1 %s (edged)\r\nX-Cache: ERROR\r\n", c->ed->cfg->tier);
    conn_simple(c, status, extra, body, status == 400 || status == 431 || status == 505 ||
                status == 501 || status == 408 || status == 413);
}

/* ---- delivery ---------------------------------------------------------- */

static void reader_event(struct obj_reader *r, enum obj_event ev);

/* Parses a single "bytes=a-b" range against length len. Returns 1 with
 * [*from, *to] inclusive, 0 to ignore the header (serve 200), -1 for 416. */
static int parse_range(const char *v, size_t n, uint64_t len, uint64_t *from, uint64_t *to)
{
    if (n < 7 || strncasecmp(v, "bytes=", 6) != 0) return 0;
    const char *p = v + 6, *end = v + n;
    if (memchr(p, ',', (size_t)(end - p))) return 0;    /* multiple ranges: serve whole */
    uint64_t a = 0, b = 0; bool ha = false, hb = false;
    while (p < end && *p >= '0' && *p <= '9') { if (a > (UINT64_MAX / 10) - 10) return 0; a = a * 10 + (uint64_t)(*p++ - '0'); ha = true; }
    if (p >= end || *p++ != '-') return 0;
    while (p < end && *p >= '0' && *p <= '9') { if (b > (UINT64_MAX / 10) - 10) return 0; b = b * 10 + (uint64_t)(*p++ - '0'); hb = true; }
    if (p != end || (!ha && !hb)) return 0;
    if (!ha) {                                  /* suffix: last b bytes */
        if (b == 0) return -1;
        if (b > len) b = len;
        *from = len - b; *to = len - 1;
        return len ? 1 : -1;
    }
    if (hb && b < a) return 0;
    if (a >= len) return -1;
    *from = a; *to = (hb && b < len) ? b : len - 1;
    return 1;
}

/* Evaluates the client's conditional headers against o: true -> 304. */
static bool not_modified(const struct conn *c, const struct obj *o)
{
    if (o->status != 200) return false;
    const struct http_hdr *inm = http_find(&c->req, "if-none-match");
    if (inm) return o->etag && cc_etag_match_list(inm->value, inm->vlen, o->etag, strlen(o->etag), true);
    const struct http_hdr *ims = http_find(&c->req, "if-modified-since");
    if (ims && o->lm) {
        time_t t;
        if (http_date_parse(ims->value, ims->vlen, &t) == 0) return o->lm <= t;
    }
    return false;
}

/* Whether If-Range allows a partial response. */
static bool if_range_ok(const struct conn *c, const struct obj *o)
{
    const struct http_hdr *ir = http_find(&c->req, "if-range");
    if (!ir) return true;
    if (ir->vlen && (ir->value[0] == '"' || ir->value[0] == 'W')) {
        if (!o->etag || o->etag[0] == 'W') return false;         /* strong comparison only */
        return strlen(o->etag) == ir->vlen && memcmp(o->etag, ir->value, ir->vlen) == 0;
    }
    time_t t;
    return o->lm && http_date_parse(ir->value, ir->vlen, &t) == 0 && o->lm == t;
}

/* Stored fields sent on a 304 (RFC 9110 15.4.5). */
static bool field_for_304(const char *line, size_t n)
{
    static const char *const keep[] = { "cache-control:", "content-location:", "date:", "etag:",
                                        "expires:", "vary:", "last-modified:", NULL };
    for (const char *const *k = keep; *k; k++) {
        size_t kl = strlen(*k);
        if (n >= kl && strncasecmp(line, *k, kl) == 0) return true;
    }
    return false;
}

static void conn_serve(struct conn *c, struct obj *o, const char *xcache)
{
    struct edged *ed = c->ed;
    c->xcache = xcache;
    int status = o->status;
    bool range = false;
    uint64_t from = 0, to = 0;
    bool known = o->state == OBJ_DONE || o->clen >= 0;
    uint64_t len = o->state == OBJ_DONE ? o->body_len : (uint64_t)o->clen;
    if (o->retain && (c->req.method == HTTP_M_GET || c->req.method == HTTP_M_HEAD) && not_modified(c, o))
        status = 304;
    else if (o->retain && status == 200 && known && c->req.method == HTTP_M_GET) {
        const struct http_hdr *rh = http_find(&c->req, "range");
        if (rh && if_range_ok(c, o)) {
            int r = parse_range(rh->value, rh->vlen, len, &from, &to);
            if (r < 0) status = 416;
            else if (r > 0) { status = 206; range = true; }
        }
    }
    size_t cap = o->head_len + 512 + strlen(ed->cfg->tier) + (o->via ? strlen(o->via) : 0);
    char stackbuf[4096];
    char *h = cap <= sizeof stackbuf ? stackbuf : malloc(cap);
    if (!h) { conn_error(c, 500, "out of memory"); return; }
    char *p = h;
    if (status == o->status) {
        p = put_mem(p, o->head, o->head_len);
    } else {
        p = put_str(p, "HTTP/1.1 ");
        p = put_u64(p, (uint64_t)status);
        *p++ = ' ';
        p = put_str(p, http_reason(status));
        p = put_str(p, "\r\n");
        const char *f = o->head + o->fields_off, *end = o->head + o->head_len;
        while (f < end) {
            const char *eol = memchr(f, '\r', (size_t)(end - f));
            if (!eol) break;
            if (status != 304 || field_for_304(f, (size_t)(eol - f))) p = put_mem(p, f, (size_t)(eol - f) + 2);
            f = eol + 2;
        }
    }
    if (o->retain) { p = put_str(p, "Age: "); p = put_u64(p, (uint64_t)obj_age(o, ed->now)); p = put_str(p, "\r\n"); }
    p = put_str(p, "Via: ");
    if (o->via) { p = put_str(p, o->via); p = put_str(p, ", "); }
    p = put_str(p, "1.1 "); p = put_str(p, ed->cfg->tier); p = put_str(p, " (edged)\r\nX-Cache: ");
    p = put_str(p, xcache);
    p = put_str(p, "\r\n");
    c->chunked_out = false;
    c->pos = 0;
    c->end = 0;
    if (status == 304 || status == 416) {
        if (status == 416) {
            p = put_str(p, "Content-Range: bytes */"); p = put_u64(p, len); p = put_str(p, "\r\n");
        }
        if (status == 416) p = put_str(p, "Content-Length: 0\r\n");
    } else if (range) {
        p = put_str(p, "Accept-Ranges: bytes\r\nContent-Range: bytes ");
        p = put_u64(p, from); *p++ = '-'; p = put_u64(p, to); *p++ = '/'; p = put_u64(p, len);
        p = put_str(p, "\r\nContent-Length: "); p = put_u64(p, to - from + 1); p = put_str(p, "\r\n");
        c->pos = from; c->end = to + 1;
    } else if (o->head_has_cl) {
        c->end = 0;                      /* HEAD pass-through: upstream's Content-Length stays */
    } else if (known) {
        if (o->retain && o->status == 200) p = put_str(p, "Accept-Ranges: bytes\r\n");
        if (o->status != 204 && o->status != 304) {
            p = put_str(p, "Content-Length: "); p = put_u64(p, len); p = put_str(p, "\r\n");
        }
        c->end = len;
    } else if (c->req.minor >= 1) {
        p = put_str(p, "Transfer-Encoding: chunked\r\n");
        c->chunked_out = !c->head_only;
        c->end = UINT64_MAX;
    } else {
        c->keep_alive = false;           /* HTTP/1.0: close-delimited */
        c->end = UINT64_MAX;
    }
    if (!c->keep_alive) p = put_str(p, "Connection: close\r\n");
    else if (c->req.minor == 0) p = put_str(p, "Connection: keep-alive\r\n");
    p = put_str(p, "\r\n");
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add(out, h, (size_t)(p - h));
    c->bytes += (uint64_t)(p - h);
    if (h != stackbuf) free(h);
    c->status = status;
    if (c->head_only || status == 304 || status == 416 || status == 204) c->end = c->pos;
    if (c->pos >= c->end && !c->chunked_out) { conn_done(c); return; }
    c->obj = o;
    obj_ref(o);
    c->st = C_SEND;
    c->pchunk = NULL;
    c->streaming = false;
    if (o->state == OBJ_FILLING) {
        c->rd.fn = reader_event;
        obj_reader_add(o, &c->rd);
        c->streaming = true;
    }
    conn_pump(c);
}

static void conn_send_end(struct conn *c)
{
    if (c->chunked_out) evbuffer_add(bufferevent_get_output(c->bev), "0\r\n\r\n", 5);
    obj_reader_del(&c->rd);
    c->streaming = false;
    if (c->pchunk) { chunk_unref(c->pchunk); c->pchunk = NULL; }
    obj_unref(&c->obj);
    conn_done(c);
}

/* Moves as much body as allowed into the output buffer (by reference). */
static void conn_pump(struct conn *c)
{
    struct obj *o = c->obj;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (o->state == OBJ_FAILED) {
        /* Upstream died mid-body: the client must see a truncated response. */
        c->keep_alive = false;
        obj_reader_del(&c->rd);
        c->streaming = false;
        if (c->pchunk) { chunk_unref(c->pchunk); c->pchunk = NULL; }
        obj_unref(&c->obj);
        access_log(c);
        c->st = C_CLOSING;
        if (evbuffer_get_length(out) == 0) conn_write(c->bev, c);
        return;
    }
    if (!c->pchunk) {
        /* Find the chunk holding c->pos. Walk bounded by chunk count. */
        struct chunk *ch = o->first;
        uint64_t off = o->first_off;
        if (!ch) goto wait;
        if (c->pos < off) { c->keep_alive = false; o->state = OBJ_FAILED; conn_pump(c); return; }
        while (ch->next && off + ch->len <= c->pos) { off += ch->len; ch = ch->next; }
        chunk_ref(ch);
        c->pchunk = ch;
        c->poff = (uint32_t)(c->pos - off);
    }
    while (c->pos < c->end) {
        struct chunk *ch = c->pchunk;
        if (c->poff >= ch->len) {
            if (ch->len < ch->cap || !ch->next) break;     /* wait for more */
            c->pchunk = ch->next;
            chunk_ref(c->pchunk);
            chunk_unref(ch);
            c->poff = 0;
            continue;
        }
        uint64_t n = ch->len - c->poff;
        if (n > c->end - c->pos) n = c->end - c->pos;
        if (c->chunked_out) {
            char line[24]; int l = snprintf(line, sizeof line, "%llx\r\n", (unsigned long long)n);
            evbuffer_add(out, line, (size_t)l);
        }
        if (ch->fd >= 0 && !c->tls && !c->chunked_out) {
            /* sendfile from the object's memfd (see CHUNK_FD_MIN) */
            if (!ch->seg)
                ch->seg = evbuffer_file_segment_new(ch->fd, 0, ch->cap, EVBUF_FS_DISABLE_MMAP |
                                                    EVBUF_FS_DISABLE_LOCKING | EVBUF_FS_CLOSE_ON_FREE);
            if (ch->seg && evbuffer_add_file_segment(out, ch->seg, (ev_off_t)c->poff, (ev_off_t)n) == 0) goto added;
        }
        chunk_ref(ch);
        evbuffer_add_reference(out, ch->data + c->poff, (size_t)n, chunk_evbuffer_cleanup, ch);
added:
        if (c->chunked_out) evbuffer_add(out, "\r\n", 2);
        c->poff += (uint32_t)n;
        c->pos += n;
        c->bytes += n;
        if (evbuffer_get_length(out) > OUT_HIGH) break;
    }
wait:
    if (c->pos >= c->end || (o->state == OBJ_DONE && c->pos >= o->body_len)) { conn_send_end(c); return; }
    /* Backpressure on a pass-through stream: the upstream pauses while this
     * client is behind; conn_write resumes it. */
    if (o->fill && !o->retain && evbuffer_get_length(out) > OUT_HIGH) {
        struct fetch *f = o->fill;
        if (f->uc && !f->paused) { f->paused = true; up_pause(f->uc); }
    }
}

static void reader_event(struct obj_reader *r, enum obj_event ev)
{
    struct conn *c = (struct conn *)((char *)r - offsetof(struct conn, rd));
    (void)ev;
    if (c->st == C_SEND) conn_pump(c);
}

/* Removes c from any fetch and object it is attached to. */
static void conn_detach(struct conn *c)
{
    if (c->fetch) {
        struct fetch *f = c->fetch;
        if (c->wprev) c->wprev->wnext = c->wnext; else f->waiters = c->wnext;
        if (c->wnext) c->wnext->wprev = c->wprev;
        c->wnext = c->wprev = NULL;
        c->fetch = NULL;
        /* A pass fetch nobody waits for is pointless: cancel it. */
        if (f->pass && !f->waiters && !f->obj) { if (f->uc) up_abort(f->uc); f->uc = NULL; fetch_free(f); }
    }
    if (c->obj) {
        struct obj *o = c->obj;
        obj_reader_del(&c->rd);
        if (c->pchunk) { chunk_unref(c->pchunk); c->pchunk = NULL; }
        struct fetch *f = o->fill;
        if (f && !o->retain && o->readers.next == &o->readers) {
            /* last reader of a pass-through stream left */
            if (f->uc) up_abort(f->uc);
            f->uc = NULL;
            o->state = OBJ_FAILED;
            o->fill = NULL;
            fetch_free(f);
        } else if (f && f->paused) {
            f->paused = false;
            if (f->uc) up_resume(f->uc);
        }
        obj_unref(&c->obj);
    }
}

/* ---- request handling -------------------------------------------------- */

static void conn_reset_request(struct conn *c)
{
    c->site = NULL; c->srt = NULL; c->klen = 0;
    c->blen = 0; c->body_left = 0;
    c->head_only = c->has_auth = c->unsafe = c->initiator = false;
    c->xcache = NULL; c->status = 0; c->bytes = 0; c->up_ms = 0;
    c->chunked_out = false; c->pos = c->end = 0;
}

static void conn_write(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *out = bufferevent_get_output(bev);
    if (c->st == C_SEND) {
        if (c->obj) {
            struct obj *o = c->obj;
            struct fetch *f = o->fill;
            if (f && f->paused && evbuffer_get_length(out) < OUT_HIGH / 2) { f->paused = false; up_resume(f->uc); }
            if (c->obj) conn_pump(c);
        }
        return;
    }
    if (evbuffer_get_length(out) != 0) return;
    if (c->st == C_CLOSING) { conn_free(c); return; }
    if (c->st == C_FLUSH) {
        c->st = C_HEAD;
        c->t_head_start = 0;
        struct timeval rt = tv_ms(c->ed->cfg->t_client_idle), wt = tv_ms(c->ed->cfg->t_send);
        bufferevent_set_timeouts(c->bev, &rt, &wt);
        bufferevent_enable(c->bev, EV_READ);
        if (evbuffer_get_length(bufferevent_get_input(bev))) conn_process(c);
    }
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) return;            /* TLS handshake done */
    if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && c->st == C_HEAD &&
        evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
        c->req.method_s = NULL; c->req.target = NULL;
        conn_reset_request(c);
        bufferevent_disable(c->bev, EV_READ);
        conn_error(c, 408, "request head timeout");
        return;
    }
    if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && c->st != C_HEAD) {
        /* Reading is idle while we wait or send; keep the connection. */
        bufferevent_enable(c->bev, EV_READ);
        if (c->st != C_BODY) return;
    }
    conn_free(c);
}

static void conn_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct conn *c = arg;
    if (c->st == C_HEAD || c->st == C_BODY) conn_process(c);
}

/* Reads the request body into c->body. Returns 1 when complete, 0 to wait,
 * -1 after sending an error. */
static int read_body(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    uint64_t max = c->ed->cfg->max_req_body;
    while (evbuffer_get_length(in)) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) break;
        const char *p = v.iov_base; size_t n = v.iov_len;
        const char *d = p; size_t dl = n, used = n;
        bool end = false;
        if (c->req.body == HTTP_BODY_LENGTH) {
            if (dl > c->body_left) dl = used = (size_t)c->body_left;
            c->body_left -= dl;
            end = c->body_left == 0;
        } else {
            enum chunk_rc rc = chunk_decode(&c->cd, p, n, &used, &d, &dl);
            if (rc == CHUNK_BAD) { conn_error(c, 400, "bad chunked body"); return -1; }
            if (rc != CHUNK_DATA) dl = 0;
            end = rc == CHUNK_END;
        }
        if (c->blen + dl > max) { conn_error(c, 413, "request body too large"); return -1; }
        if (dl) {
            if (c->blen + dl > c->bcap) {
                size_t nc = c->bcap ? c->bcap : 4096;
                while (nc < c->blen + dl) nc *= 2;
                char *nb = realloc(c->body, nc);
                if (!nb) { conn_error(c, 500, "out of memory"); return -1; }
                c->body = nb; c->bcap = nc;
            }
            memcpy(c->body + c->blen, d, dl);
            c->blen += dl;
        }
        evbuffer_drain(in, used);
        if (end) return 1;
    }
    return c->req.body == HTTP_BODY_LENGTH && c->body_left == 0 ? 1 : 0;
}

static void conn_route(struct conn *c);

static void conn_process(struct conn *c)
{
    struct edged *ed = c->ed;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (c->st == C_BODY) {
        int r = read_body(c);
        if (r == 1) { c->st = C_WAIT; conn_lookup(c); }
        return;
    }
    size_t n = evbuffer_get_length(in);
    if (n == 0) return;
    if (c->t_head_start == 0) {
        c->t_head_start = edged_ms();
        /* From the first byte, the whole head must arrive in client_header
         * (slowloris): the read timeout now bounds inter-byte gaps and the
         * check below the total. */
        struct timeval rt = tv_ms(ed->cfg->t_client_header), wt = tv_ms(ed->cfg->t_send);
        bufferevent_set_timeouts(c->bev, &rt, &wt);
    }
    size_t take = n < ed->cfg->max_head ? n : ed->cfg->max_head;
    const char *p = (const char *)evbuffer_pullup(in, (ssize_t)take);
    conn_reset_request(c);
    enum http_parse rc = http_parse_request(p, take, &ed->lim, &c->req);
    if (rc == HTTP_PARSE_INCOMPLETE) {
        if (edged_ms() - c->t_head_start > ed->cfg->t_client_header) {
            memset(&c->req, 0, offsetof(struct http_msg, hdr));
            bufferevent_disable(c->bev, EV_READ);
            conn_error(c, 408, "request head timeout");
        }
        return;
    }
    c->t_start = edged_ms();
    edged_clock(ed);
    if (rc != HTTP_PARSE_OK) {
        memset(&c->req, 0, offsetof(struct http_msg, hdr));
        bufferevent_disable(c->bev, EV_READ);
        c->keep_alive = false;
        switch (rc) {
        case HTTP_PARSE_TOO_LARGE: conn_error(c, 431, "request header fields too large"); break;
        case HTTP_PARSE_VERSION: conn_error(c, 505, "HTTP version not supported"); break;
        case HTTP_PARSE_NOT_IMPL: conn_error(c, 501, "transfer coding not implemented"); break;
        default: conn_error(c, 400, "malformed request"); break;
        }
        return;
    }
    /* Re-point the parsed message into our own copy of the head, then
     * drain it from the input buffer. */
    memcpy(c->hbuf, p, c->req.head_len);
    ptrdiff_t delta = c->hbuf - p;
#define REBASE(f) do { if (c->req.f) c->req.f += delta; } while (0)
    REBASE(method_s); REBASE(target); REBASE(path); REBASE(query); REBASE(host); REBASE(reason);
    for (uint32_t i = 0; i < c->req.nhdr; i++) { c->req.hdr[i].name += delta; c->req.hdr[i].value += delta; }
#undef REBASE
    if (c->req.path && c->req.path_len == 1 && c->req.path[0] == '/' && c->req.target[0] != '/') {
        static const char root[] = "/";
        c->req.path = root;       /* absolute-form without path */
    }
    evbuffer_drain(in, c->req.head_len);
    c->t_head_start = 0;
    c->keep_alive = c->req.keep_alive;
    c->head_only = c->req.method == HTTP_M_HEAD;
    struct timeval wt = tv_ms(ed->cfg->t_send);
    bufferevent_set_timeouts(c->bev, NULL, &wt);
    conn_route(c);
}

/* True if a Via element of m names `tier` ("1.1 <tier>[ comment]"). */
static bool via_has_tier(const struct http_msg *m, const char *tier)
{
    size_t tl = strlen(tier);
    for (uint32_t i = 0; i < m->nhdr; i++) {
        const struct http_hdr *h = &m->hdr[i];
        if (!http_name_is(h->name, h->nlen, "via")) continue;
        const char *p = h->value, *end = p + h->vlen;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == ',')) p++;
            const char *sp = memchr(p, ' ', (size_t)(end - p));
            if (!sp) break;
            const char *n = sp + 1, *e = n;
            while (e < end && *e != ' ' && *e != ',') e++;
            if ((size_t)(e - n) == tl && memcmp(n, tier, tl) == 0) return true;
            while (e < end && *e != ',') e++;
            p = e;
        }
    }
    return false;
}

static void conn_route(struct conn *c)
{
    struct edged *ed = c->ed;
    const struct http_msg *m = &c->req;
    if (m->path_len == 7 && memcmp(m->path, "/health", 7) == 0 &&
        (m->method == HTTP_M_GET || m->method == HTTP_M_HEAD)) {
        bool ok = proxy_healthy(ed);
        conn_simple(c, ok ? 200 : 503, NULL, ok ? "ok\n" : "unavailable\n", false);
        return;
    }
    if (!m->host) { conn_error(c, 400, "missing Host"); return; }
    if (via_has_tier(m, ed->cfg->tier)) {
        /* our own tier already forwarded this request: a shield/origin
         * configuration loop; answering stops it from recursing */
        conn_error(c, 508, "forwarding loop (Via)");
        return;
    }
    c->site = edge_config_site(ed->cfg, m->host, m->host_len);
    if (!c->site) { conn_error(c, 421, "no site for this host"); return; }
    c->srt = &ed->sites[c->site - ed->cfg->sites];
    if (c->site->sign_secret_len) {
        enum sign_result r = signurl_check(c->site->sign_secret, c->site->sign_secret_len, m->path,
                                           m->path_len, m->query, m->query_len, ed->now);
        if (r != SIGN_OK) {
            ed->st.signed_denied++;
            conn_error(c, 403, signurl_result_str(r));
            return;
        }
    }
    c->has_auth = http_find(m, "authorization") != NULL;
    c->unsafe = m->method != HTTP_M_GET && m->method != HTTP_M_HEAD && m->method != HTTP_M_OPTIONS;
    c->klen = proxy_cache_key(c->site, c->tls, m->host, m->host_len, m->path, m->path_len,
                              m->query, m->query_len, c->key, sizeof c->key);
    cc_parse_req(m, &c->rcc);
    if (m->body != HTTP_BODY_NONE) {
        if (m->body == HTTP_BODY_LENGTH && m->content_length > ed->cfg->max_req_body) {
            conn_error(c, 413, "request body too large");
            return;
        }
        c->body_left = m->content_length;
        chunk_dec_init(&c->cd);
        if (m->expect_continue)
            evbuffer_add(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
        c->st = C_BODY;
        struct timeval rt = tv_ms(ed->cfg->t_client_header), wt = tv_ms(ed->cfg->t_send);
        bufferevent_set_timeouts(c->bev, &rt, &wt);
        int r = read_body(c);
        if (r == 1) { c->st = C_WAIT; conn_lookup(c); }
        return;
    }
    c->st = C_WAIT;
    conn_lookup(c);
}

/* Serves from cache, joins a fetch or starts one. */
static void conn_lookup(struct conn *c)
{
    struct edged *ed = c->ed;
    const struct http_msg *m = &c->req;
    bool cacheable_req = (m->method == HTTP_M_GET || m->method == HTTP_M_HEAD) && c->klen > 0;
    if (!cacheable_req) {
        ed->st.pass++;
        fetch_start(c, NULL, true, false);
        return;
    }
    if (c->has_auth) {
        /* RFC 9111 3.5: never answer an authenticated request from cache;
         * its response may still be stored when public/s-maxage allow. */
        fetch_start(c, NULL, false, false);
        return;
    }
    struct centry *ce = store_entry(ed->store, c->key, c->klen, false);
    struct obj *v = NULL;
    if (ce)
        for (struct obj *o = ce->variants; o; o = o->vnext)
            if (o->state != OBJ_FAILED && vary_match(o, m)) { v = o; break; }
    if (!v && !(ce && ce->pending) && ed->disk) {
        v = disk_lookup(ed->disk, ed->store, c->key, c->klen, m);
        if (v) ce = v->ce;
    }
    if (v) {
        int64_t age = obj_age(v, ed->now);
        bool fresh = obj_fresh(v, ed->now) && !c->rcc.no_cache;
        if (fresh && c->rcc.max_age != CC_ABSENT && age > c->rcc.max_age) fresh = false;
        if (fresh && c->rcc.min_fresh != CC_ABSENT && v->lifetime - age < c->rcc.min_fresh) fresh = false;
        if (fresh) {
            ed->st.hits++;
            store_touch(ed->store, v);
            conn_serve(c, v, "HIT");
            return;
        }
        int64_t staleness = age - v->lifetime;
        bool may_stale = !v->must_revalidate && !c->rcc.no_cache;
        if (c->rcc.only_if_cached) {
            if (may_stale && c->rcc.max_stale != CC_ABSENT && staleness <= c->rcc.max_stale) {
                ed->st.stale++;
                conn_serve(c, v, "STALE");
            } else {
                conn_error(c, 504, "not cached (only-if-cached)");
            }
            return;
        }
        if (may_stale && v->state == OBJ_DONE && v->swr > 0 && staleness < v->swr) {
            /* stale-while-revalidate: answer now, refresh in the background */
            ed->st.stale++;
            if (!ce->pending) fetch_start(c, v, false, true);
            conn_serve(c, v, "STALE");
            return;
        }
        if (ce->pending) goto join;
        fetch_start(c, v, false, false);
        return;
    }
    if (c->rcc.only_if_cached) { conn_error(c, 504, "not cached (only-if-cached)"); return; }
    if (ce && ce->pending) goto join;
    fetch_start(c, NULL, false, false);
    return;
join:;
    struct fetch *f = ce->pending;
    ed->st.collapsed++;
    c->fetch = f;
    c->wnext = f->waiters;
    if (f->waiters) f->waiters->wprev = c;
    c->wprev = NULL;
    f->waiters = c;
}

/* ---- fetch ------------------------------------------------------------- */

/* Rendezvous hash: the shield with the highest score for this key. Only
 * shields not marked down are candidates, so a dead shield's objects move
 * to the others and come back when it does. */
static struct upstream *pick_shield(struct edged *ed, struct site_rt *s, const char *key, size_t klen)
{
    struct upstream *best = NULL;
    uint64_t best_score = 0;
    uint64_t kh = store_hash(ed->store, key, klen);
    for (unsigned i = 0; i < s->nshields; i++) {
        struct upstream *u = s->shields[i];
        if (u->down) continue;
        /* mix key hash with the shield's address text */
        uint64_t h = kh ^ store_hash(ed->store, u->hp.text, strlen(u->hp.text));
        h ^= h >> 33; h *= 0xff51afd7ed558ccdULL; h ^= h >> 33;
        if (!best || h > best_score) { best = u; best_score = h; }
    }
    return best;
}

static bool skip_request_field(const struct http_hdr *h, bool pass)
{
    if (http_is_hop_by_hop(h->name, h->nlen)) return true;
    if (http_name_is(h->name, h->nlen, "host") || http_name_is(h->name, h->nlen, "content-length") ||
        http_name_is(h->name, h->nlen, "expect") || http_name_is(h->name, h->nlen, "via") ||
        http_name_is(h->name, h->nlen, "x-forwarded-for"))
        return true;
    if (!pass) {
        /* A cache fill asks for the whole, unconditional representation:
         * the client's conditionals and Range are evaluated by us. */
        static const char *const drop[] = { "if-none-match", "if-modified-since", "if-match",
                                            "if-unmodified-since", "if-range", "range", NULL };
        for (const char *const *d = drop; *d; d++) if (http_name_is(h->name, h->nlen, *d)) return true;
    }
    return false;
}

/* True when field `name` is listed in the request's Connection header. */
static bool connection_listed(const struct http_msg *m, const struct http_hdr *h)
{
    char name[64];
    if (h->nlen >= sizeof name) return false;
    memcpy(name, h->name, h->nlen); name[h->nlen] = 0;
    return http_has_token(m, "connection", name);
}

static int build_upstream_request(struct fetch *f, const struct conn *c)
{
    struct edged *ed = f->ed;
    const struct http_msg *m = &f->rmsg;
    size_t cap = m->head_len + 512 + strlen(ed->cfg->tier) + sizeof c->peer +
                 (f->stale && f->stale->etag ? strlen(f->stale->etag) : 0) +
                 (f->stale && f->stale->last_modified ? strlen(f->stale->last_modified) : 0);
    char *r = malloc(cap), *p = r;
    if (!r) return -1;
    p = put_str(p, http_method_name(f->method));
    *p++ = ' ';
    if (m->target[0] == '/') p = put_mem(p, m->target, m->target_len);
    else {
        p = put_mem(p, m->path, m->path_len);
        if (m->query_len) { *p++ = '?'; p = put_mem(p, m->query, m->query_len); }
    }
    p = put_str(p, " HTTP/1.1\r\nHost: ");
    p = put_mem(p, m->host, m->host_len);
    p = put_str(p, "\r\n");
    const struct http_hdr *via = NULL, *xff = NULL;
    for (uint32_t i = 0; i < m->nhdr; i++) {
        const struct http_hdr *h = &m->hdr[i];
        if (http_name_is(h->name, h->nlen, "via")) via = h;
        if (http_name_is(h->name, h->nlen, "x-forwarded-for")) xff = h;
        if (skip_request_field(h, f->pass) || connection_listed(m, h)) continue;
        p = put_mem(p, h->name, h->nlen); p = put_str(p, ": ");
        p = put_mem(p, h->value, h->vlen); p = put_str(p, "\r\n");
    }
    p = put_str(p, "Via: ");
    if (via) { p = put_mem(p, via->value, via->vlen); p = put_str(p, ", "); }
    p = put_str(p, "1.1 "); p = put_str(p, ed->cfg->tier); p = put_str(p, "\r\n");
    p = put_str(p, "X-Forwarded-For: ");
    if (xff) { p = put_mem(p, xff->value, xff->vlen); p = put_str(p, ", "); }
    p = put_str(p, c ? c->peer : "127.0.0.1"); p = put_str(p, "\r\n");
    if (f->stale && f->stale->etag) { p = put_str(p, "If-None-Match: "); p = put_str(p, f->stale->etag); p = put_str(p, "\r\n"); }
    else if (f->stale && f->stale->last_modified) {
        p = put_str(p, "If-Modified-Since: "); p = put_str(p, f->stale->last_modified); p = put_str(p, "\r\n");
    }
    if (f->blen || (f->pass && m->body != HTTP_BODY_NONE)) {
        p = put_str(p, "Content-Length: "); p = put_u64(p, f->blen); p = put_str(p, "\r\n");
    }
    p = put_str(p, "\r\n");
    assert((size_t)(p - r) <= cap);
    f->req = r;
    f->req_len = (size_t)(p - r);
    return 0;
}

static void fetch_free(struct fetch *f)
{
    assert(f->magic == FETCH_MAGIC);
    if (f->fprev) f->fprev->fnext = f->fnext; else f->ed->fetches = f->fnext;
    if (f->fnext) f->fnext->fprev = f->fprev;
    if (f->ce) {
        if (f->ce->pending == f) f->ce->pending = NULL;
        f->ce->pins--;
        store_entry_release(f->ed->store, f->ce);
        f->ce = NULL;
    }
    if (f->obj) { if (f->obj->fill == f) f->obj->fill = NULL; obj_unref(&f->obj); }
    obj_unref(&f->stale);
    free(f->rhead); free(f->req); free(f->body);
    f->magic = 0;
    free(f);
}

static void fetch_start(struct conn *c, struct obj *stale, bool pass, bool bg)
{
    struct edged *ed = c->ed;
    struct fetch *f = calloc(1, sizeof *f);
    if (!f) { conn_error(c, 500, "out of memory"); return; }
    f->magic = FETCH_MAGIC;
    f->ed = ed;
    f->fnext = ed->fetches;
    if (f->fnext) f->fnext->fprev = f;
    ed->fetches = f;
    f->srt = c->srt;
    f->pass = pass;
    f->bg = bg;
    f->tls = c->tls;
    f->rhead = xstrndup(c->hbuf, c->req.head_len);
    if (!f->rhead) { fetch_free(f); conn_error(c, 500, "out of memory"); return; }
    http_parse_request(f->rhead, c->req.head_len, &ed->lim, &f->rmsg);
    if (c->req.target[0] != '/') { f->rmsg.path = c->req.path; }   /* root literal */
    f->method = c->req.method;
    if (!pass && f->method == HTTP_M_HEAD) f->method = HTTP_M_GET;   /* fill the cache */
    if (pass && c->blen) {
        f->body = malloc(c->blen);
        if (!f->body) { fetch_free(f); conn_error(c, 500, "out of memory"); return; }
        memcpy(f->body, c->body, c->blen);
        f->blen = c->blen;
    }
    if (stale) { f->stale = stale; obj_ref(stale); }
    if (build_upstream_request(f, c) != 0) { fetch_free(f); conn_error(c, 500, "out of memory"); return; }
    struct upstream *sh = pick_shield(ed, c->srt, c->key, c->klen);
    f->nchain = 0;
    if (sh) f->chain[f->nchain++] = sh;
    f->chain[f->nchain++] = c->srt->origin;
    if (!pass) {
        f->ce = store_entry(ed->store, c->key, c->klen, true);
        if (f->ce) {
            f->ce->pins++;
            if (!f->ce->pending) f->ce->pending = f;
        }
    }
    if (!bg) {
        c->fetch = f;
        c->initiator = true;
        c->wnext = c->wprev = NULL;
        f->waiters = c;
        ed->st.misses += !pass;
    }
    f->request_time = ed->now;
    f->t0 = edged_ms();
    fetch_attempt(f);
}

/* Detaches and returns the waiter list. */
static struct conn *take_waiters(struct fetch *f)
{
    struct conn *w = f->waiters;
    f->waiters = NULL;
    for (struct conn *c = w; c; c = c->wnext) c->fetch = NULL;
    return w;
}

/* Fails every waiter with status (502/504), or serves stale if allowed. */
static void fetch_fail(struct fetch *f, enum up_err e)
{
    struct edged *ed = f->ed;
    int status = e == UP_ERR_TIMEOUT ? 504 : 502;
    struct obj *st = f->stale;
    /* stale-if-error (RFC 5861): only within the allowed window and never
     * when must-revalidate forbids stale use. */
    bool use_stale = st && !st->must_revalidate && st->sie > 0 &&
                     obj_age(st, ed->now) - st->lifetime < st->sie;
    struct conn *w = take_waiters(f);
    uint64_t up_ms = edged_ms() - f->t0;
    while (w) {
        struct conn *n = w->wnext;
        w->wnext = w->wprev = NULL;
        w->up_ms = up_ms;
        if (use_stale && vary_match(st, &w->req)) { ed->st.stale++; conn_serve(w, st, "STALE"); }
        else conn_error(w, status, e == UP_ERR_TIMEOUT ? "upstream timed out" : "upstream failed");
        w = n;
    }
    fetch_free(f);
}

static void fetch_attempt(struct fetch *f)
{
    struct edged *ed = f->ed;
    while (f->cur < f->nchain) {
        struct upstream *u = f->chain[f->cur];
        ed->st.up_requests++;
        f->uc = up_request(u, f->req, f->req_len, f->body, f->blen, f->method, &fetch_cb, f);
        if (f->uc) return;
        upstream_failed(u);
        ed->st.up_failures++;
        f->cur++;
    }
    fetch_fail(f, UP_ERR_CONNECT);
}

/* Fills o's head and freshness from the upstream response. */
static int obj_from_response(struct edged *ed, struct fetch *f, struct obj *o, const struct http_msg *r)
{
    size_t cap = r->head_len + 128;    /* room for a default reason and a Date field */
    char *h = malloc(cap), *p = h;
    if (!h) return -1;
    p = put_str(p, "HTTP/1.1 ");
    p = put_u64(p, (uint64_t)r->status);
    *p++ = ' ';
    if (r->reason_len) p = put_mem(p, r->reason, r->reason_len);
    else p = put_str(p, http_reason(r->status));
    p = put_str(p, "\r\n");
    o->fields_off = (uint32_t)(p - h);
    bool has_date = false;
    size_t vial = 0; char via[1024];
    o->head_has_cl = f->pass && f->method == HTTP_M_HEAD && http_find(r, "content-length");
    for (uint32_t i = 0; i < r->nhdr; i++) {
        const struct http_hdr *x = &r->hdr[i];
        if (http_is_hop_by_hop(x->name, x->nlen) || connection_listed(r, x)) continue;
        if (http_name_is(x->name, x->nlen, "content-length") && !o->head_has_cl) continue;
        if (http_name_is(x->name, x->nlen, "age") || http_name_is(x->name, x->nlen, "x-cache")) continue;
        /* delivery states Accept-Ranges itself (for what it can serve from
         * cache); keeping the upstream's copy would repeat the field */
        if (http_name_is(x->name, x->nlen, "accept-ranges")) continue;
        if (http_name_is(x->name, x->nlen, "via")) {
            if (vial + x->vlen + 3 < sizeof via) {
                if (vial) { via[vial++] = ','; via[vial++] = ' '; }
                memcpy(via + vial, x->value, x->vlen); vial += x->vlen;
            }
            continue;
        }
        if (http_name_is(x->name, x->nlen, "date")) has_date = true;
        p = put_mem(p, x->name, x->nlen); p = put_str(p, ": ");
        p = put_mem(p, x->value, x->vlen); p = put_str(p, "\r\n");
    }
    if (!has_date) {                   /* RFC 9110 6.6.1: a recipient may add Date */
        p = put_str(p, "Date: "); p = put_str(p, ed->date); p = put_str(p, "\r\n");
    }
    o->head = h;
    o->head_len = (uint32_t)(p - h);
    if (vial) o->via = xstrndup(via, vial);
    o->status = r->status;
    const struct http_hdr *et = http_find(r, "etag");
    if (et) o->etag = xstrndup(et->value, et->vlen);
    const struct http_hdr *lm = http_find(r, "last-modified");
    if (lm) {
        o->last_modified = xstrndup(lm->value, lm->vlen);
        time_t t;
        if (http_date_parse(lm->value, lm->vlen, &t) == 0) o->lm = t;
    }
    /* Surrogate keys: Surrogate-Key (space separated) and Cache-Tag (commas) */
    char keys[2048]; size_t kl = 0;
    keys[kl++] = ' ';
    for (uint32_t i = 0; i < r->nhdr; i++) {
        const struct http_hdr *x = &r->hdr[i];
        if (!http_name_is(x->name, x->nlen, "surrogate-key") && !http_name_is(x->name, x->nlen, "cache-tag"))
            continue;
        for (uint32_t k = 0; k < x->vlen && kl + 2 < sizeof keys; k++) {
            char ch = x->value[k];
            if (ch == ',' || ch == '\t') ch = ' ';
            if (ch == ' ' && keys[kl - 1] == ' ') continue;
            keys[kl++] = ch;
        }
        if (keys[kl - 1] != ' ') keys[kl++] = ' ';
    }
    if (kl > 1) o->skeys = xstrndup(keys, kl);
    struct cc_fresh_in in;
    memset(&in, 0, sizeof in);
    cc_parse_resp(r, &in.cc);
    in.status = r->status;
    in.request_time = f->request_time;
    in.response_time = ed->now;
    in.date = ed->now;
    const struct http_hdr *d = http_find(r, "date");
    if (d && http_date_parse(d->value, d->vlen, &in.date) != 0) in.date = ed->now;
    const struct http_hdr *ag = http_find(r, "age");
    if (ag) {
        int64_t a = 0;
        for (uint32_t k = 0; k < ag->vlen && ag->value[k] >= '0' && ag->value[k] <= '9' && a < (1LL << 31); k++)
            a = a * 10 + (ag->value[k] - '0');
        in.age_hdr = a;
    }
    const struct http_hdr *ex = http_find(r, "expires");
    if (ex) {
        in.has_expires = true;
        if (http_date_parse(ex->value, ex->vlen, &in.expires) != 0) in.expires = 0;  /* invalid: expired */
    }
    in.has_last_modified = o->lm != 0;
    in.last_modified = o->lm;
    in.heuristic_max = (int64_t)ed->cfg->heuristic_max_s;
    o->response_time = ed->now;
    o->initial_age = cc_initial_age(&in);
    o->lifetime = cc_lifetime(&in);
    o->swr = in.cc.swr > 0 ? in.cc.swr : 0;
    o->sie = in.cc.sie > 0 ? in.cc.sie : 0;
    o->no_cache = in.cc.no_cache;
    o->must_revalidate = in.cc.must_revalidate || in.cc.proxy_revalidate || in.cc.s_maxage != CC_ABSENT;
    return 0;
}

/* A 304 to our conditional request: refresh the stored object's head
 * (RFC 9111 4.3.4) and freshness, keeping its body. */
static void refresh_from_304(struct edged *ed, struct fetch *f, const struct http_msg *r)
{
    struct obj *o = f->stale;
    struct obj tmp;
    memset(&tmp, 0, sizeof tmp);
    if (obj_from_response(ed, f, &tmp, r) != 0) return;
    /* Merge: stored fields not present in the 304 are kept, others replaced. */
    size_t cap = o->head_len + tmp.head_len + 2;
    char *h = malloc(cap), *p = h;
    if (h) {
        p = put_mem(p, o->head, o->fields_off);
        const char *s = o->head + o->fields_off, *end = o->head + o->head_len;
        while (s < end) {
            const char *eol = memchr(s, '\r', (size_t)(end - s));
            const char *colon = memchr(s, ':', (size_t)(eol - s));
            bool replaced = false;
            if (colon) {
                char name[128];
                size_t nl = (size_t)(colon - s);
                if (nl < sizeof name) {
                    memcpy(name, s, nl); name[nl] = 0;
                    size_t vl;
                    replaced = head_field(&tmp, name, &vl) != NULL;
                }
            }
            if (!replaced) p = put_mem(p, s, (size_t)(eol - s) + 2);
            s = eol + 2;
        }
        p = put_mem(p, tmp.head + tmp.fields_off, tmp.head_len - tmp.fields_off);
        free(o->head);
        o->head = h;
        o->head_len = (uint32_t)(p - h);
    }
    o->response_time = tmp.response_time;
    o->initial_age = tmp.initial_age;
    o->lifetime = tmp.lifetime;
    o->swr = tmp.swr; o->sie = tmp.sie;
    o->no_cache = tmp.no_cache; o->must_revalidate = tmp.must_revalidate;
    o->soft_purged = false;
    if (tmp.etag) { free(o->etag); o->etag = tmp.etag; tmp.etag = NULL; }
    if (tmp.last_modified) { free(o->last_modified); o->last_modified = tmp.last_modified; o->lm = tmp.lm; tmp.last_modified = NULL; }
    free(tmp.head); free(tmp.via); free(tmp.skeys); free(tmp.etag); free(tmp.last_modified); free(tmp.vary);
    if (ed->disk && o->indexed) disk_store(ed->disk, o);
}

static void fetch_on_head(void *ctx, const struct http_msg *r)
{
    struct fetch *f = ctx;
    struct edged *ed = f->ed;
    edged_clock(ed);
    struct upstream *u = f->chain[f->cur];
    /* A shield answering 5xx is skipped for this request: ask the origin. */
    if (u->tier == UP_TIER_SHIELD && r->status >= 500 && f->cur + 1 < f->nchain) {
        upstream_failed(u);
        ed->st.up_failures++; ed->st.up_fallbacks++;
        up_abort(f->uc);
        f->uc = NULL;
        f->cur++;
        fetch_attempt(f);
        return;
    }
    upstream_ok(u);
    if (r->status >= 500 && f->stale && !f->pass) {
        struct obj *st = f->stale;
        if (!st->must_revalidate && st->sie > 0 && obj_age(st, ed->now) - st->lifetime < st->sie) {
            up_abort(f->uc);
            f->uc = NULL;
            fetch_fail(f, UP_ERR_PROTO);     /* serves stale to every waiter */
            return;
        }
    }
    uint64_t up_ms = edged_ms() - f->t0;
    if (f->ce && f->ce->pending == f) { f->ce->pending = NULL; }
    if (r->status == 304 && f->stale && !f->pass) {
        refresh_from_304(ed, f, r);
        ed->st.revalidated++;
        struct conn *w = take_waiters(f);
        while (w) {
            struct conn *n = w->wnext;
            w->wnext = w->wprev = NULL;
            w->up_ms = up_ms;
            if (vary_match(f->stale, &w->req)) conn_serve(w, f->stale, "REVALIDATED");
            else { w->st = C_WAIT; conn_lookup(w); }
            w = n;
        }
        /* body of a 304 is empty: the uconn finishes by itself */
        up_release(f->uc);
        f->uc = NULL;
        fetch_free(f);
        return;
    }
    struct obj *o = obj_new();
    if (!o || obj_from_response(ed, f, o, r) != 0) {
        obj_unref(&o);
        up_abort(f->uc); f->uc = NULL;
        fetch_fail(f, UP_ERR_PROTO);
        return;
    }
    o->clen = r->body == HTTP_BODY_LENGTH ? (int64_t)r->content_length :
              r->body == HTTP_BODY_NONE ? 0 : -1;
    struct cc_req rcc;
    cc_parse_req(&f->rmsg, &rcc);
    enum cc_store why = CC_STORE_METHOD;
    if (!f->pass) {
        struct cc_resp rc;
        cc_parse_resp(r, &rc);
        why = cc_storable(f->rmsg.method, &rcc, http_find(&f->rmsg, "authorization") != NULL, r, &rc);
    }
    bool store = why == CC_STORE_OK && vary_build(o, r, &f->rmsg) == 0;
    o->retain = store && (o->clen < 0 || (uint64_t)o->clen <= ed->cfg->max_object);
    o->state = r->body == HTTP_BODY_NONE ? OBJ_DONE : OBJ_FILLING;
    o->fill = o->state == OBJ_FILLING ? f : NULL;
    o->mem = o->head_len + (o->vary_len) + 256;
    f->obj = o;
    if (o->retain && f->ce) {
        store_insert(ed->store, f->ce, o);
        store_grow(ed->store, o, 0);
    } else if (f->stale && f->stale->indexed && !store && !f->pass) {
        /* the new response is not storable: the old one is no longer valid */
        store_remove(ed->store, f->stale);
    }
    struct conn *w = take_waiters(f);
    while (w) {
        struct conn *n = w->wnext;
        w->wnext = w->wprev = NULL;
        w->up_ms = up_ms;
        if (store && vary_match(o, &w->req)) {
            /* shareable: every matching waiter reads the same stream, even
             * when it is too big to keep (then nobody else can join later) */
            conn_serve(w, o, w->initiator ? "MISS" : "HIT");
        } else if (w->initiator) {
            /* a response that is not shared goes to the requester only */
            conn_serve(w, o, f->pass ? "PASS" : "MISS");
        } else if (!store) {
            /* not shareable: this waiter gets its own upstream request */
            w->st = C_WAIT;
            ed->st.pass++;
            fetch_start(w, NULL, true, false);
        } else {
            w->st = C_WAIT;
            conn_lookup(w);
        }
        w = n;
    }
    if (o->state == OBJ_DONE) {
        /* no body: finished; the uconn completes by itself */
        o->fill = NULL;
        up_release(f->uc);
        f->uc = NULL;
        if (o->retain && ed->disk && o->indexed) disk_store(ed->disk, o);
        fetch_free(f);
        return;
    }
    if (!o->retain && o->readers.next == &o->readers) {
        /* nobody reads a pass-through body (e.g. HEAD waiters): stop */
        up_abort(f->uc); f->uc = NULL;
        o->state = OBJ_FAILED; o->fill = NULL;
        fetch_free(f);
    }
}

static void invalidate_key(struct edged *ed, const char *key, size_t klen)
{
    struct centry *ce = store_entry(ed->store, key, klen, false);
    if (!ce) return;
    /* a running fetch keeps going; stored variants go */
    while (ce->variants) {
        struct obj *o = ce->variants;
        bool last = o->vnext == NULL && !ce->pending && !ce->pins;
        store_remove(ed->store, o);
        if (ed->disk) disk_remove(ed->disk, key, klen);
        if (last) break;           /* ce was freed */
    }
}

static void fetch_on_data(void *ctx, const char *p, size_t n)
{
    struct fetch *f = ctx;
    struct edged *ed = f->ed;
    struct obj *o = f->obj;
    ed->st.bytes_upstream += n;
    struct chunk *last = o->last;
    if (obj_append(o, p, n) != 0) { up_abort(f->uc); f->uc = NULL; goto failed; }
    if (o->retain) {
        /* account newly allocated chunk capacity */
        size_t added = 0;
        for (struct chunk *c = last ? last->next : o->first; c; c = c->next) added += c->cap;
        if (added) store_grow(ed->store, o, added);
        if (o->body_len > ed->cfg->max_object) {
            /* too big to keep: continue as a pass-through stream */
            o->retain = false;
            store_remove(ed->store, o);
        }
    }
    obj_notify(o, OBJ_EV_DATA);
    if (f->obj == NULL) return;
    obj_trim(o);
    bool complete = o->clen >= 0 && o->body_len >= (uint64_t)o->clen;
    if (!o->retain && o->readers.next == &o->readers && f->uc && !complete) {
        up_abort(f->uc); f->uc = NULL;
        goto failed;
    }
    return;
failed:
    o->state = OBJ_FAILED;
    o->fill = NULL;
    if (o->indexed) store_remove(ed->store, o);
    obj_notify(o, OBJ_EV_FAIL);
    fetch_free(f);
}

static void fetch_on_done(void *ctx)
{
    struct fetch *f = ctx;
    struct edged *ed = f->ed;
    struct obj *o = f->obj;
    f->uc = NULL;
    if (o->clen >= 0 && o->body_len != (uint64_t)o->clen) {
        o->state = OBJ_FAILED;
    } else {
        o->state = OBJ_DONE;
        o->clen = (int64_t)o->body_len;
    }
    o->fill = NULL;
    if (o->state == OBJ_FAILED && o->indexed) store_remove(ed->store, o);
    if (o->state == OBJ_DONE && o->retain && o->indexed && ed->disk) disk_store(ed->disk, o);
    if (f->pass && f->rmsg.method != HTTP_M_GET && f->rmsg.method != HTTP_M_HEAD &&
        f->rmsg.method != HTTP_M_OPTIONS && o->status < 400) {
        /* RFC 9111 4.4: a successful unsafe request invalidates the URI */
        char key[KEY_MAX];
        const struct edge_site *s = f->srt->cfg;
        const struct http_msg *m = &f->rmsg;
        size_t kl = proxy_cache_key(s, false, m->host, m->host_len, m->path, m->path_len,
                                    m->query, m->query_len, key, sizeof key);
        if (kl) invalidate_key(ed, key, kl);
        kl = proxy_cache_key(s, true, m->host, m->host_len, m->path, m->path_len,
                             m->query, m->query_len, key, sizeof key);
        if (kl) invalidate_key(ed, key, kl);
    }
    obj_notify(o, o->state == OBJ_DONE ? OBJ_EV_DONE : OBJ_EV_FAIL);
    fetch_free(f);
}

static void fetch_on_error(void *ctx, enum up_err e, bool got_head)
{
    struct fetch *f = ctx;
    struct edged *ed = f->ed;
    struct upstream *u = f->chain[f->cur];
    f->uc = NULL;
    upstream_failed(u);
    ed->st.up_failures++;
    edged_clock(ed);
    if (!got_head) {
        if (f->cur + 1 < f->nchain) {
            ed->st.up_fallbacks++;
            log_ratelimited(LOG_LVL_WARN, "upstream %s failed (%d), falling back", u->hp.text, (int)e);
            f->cur++;
            fetch_attempt(f);
            return;
        }
        fetch_fail(f, e);
        return;
    }
    struct obj *o = f->obj;
    if (o) {
        o->state = OBJ_FAILED;
        o->fill = NULL;
        if (o->indexed) store_remove(ed->store, o);
        obj_notify(o, OBJ_EV_FAIL);
    }
    fetch_free(f);
}

static const struct up_cb fetch_cb = { fetch_on_head, fetch_on_data, fetch_on_done, fetch_on_error };
