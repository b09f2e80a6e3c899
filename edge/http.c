/* edge/http.c: strict HTTP/1.1 head parser and chunked decoder. */
#include "edge/http.h"

#include <string.h>
#include <strings.h>

/* ---- character classes ---------------------------------------------- */

/* tchar per RFC 9110 5.6.2 */
static bool is_tchar(unsigned char c)
{
    if (c >= 'a' && c <= 'z') return true;
    if (c >= 'A' && c <= 'Z') return true;
    if (c >= '0' && c <= '9') return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}
/* field-vchar / SP / HTAB / obs-text */
static bool is_vchar_ws(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }
/* request-target: visible ASCII only */
static bool is_target_char(unsigned char c) { return c > 0x20 && c < 0x7f; }

bool http_name_is(const char *name, size_t nlen, const char *s)
{
    size_t l = strlen(s);
    return l == nlen && strncasecmp(name, s, l) == 0;
}

bool http_is_hop_by_hop(const char *name, size_t nlen)
{
    static const char *const hop[] = { "connection", "keep-alive", "proxy-connection",
        "te", "trailer", "transfer-encoding", "upgrade", "proxy-authenticate",
        "proxy-authorization", NULL };
    for (const char *const *h = hop; *h; h++)
        if (http_name_is(name, nlen, *h)) return true;
    return false;
}

const struct http_hdr *http_find(const struct http_msg *m, const char *name)
{
    for (uint32_t i = 0; i < m->nhdr; i++)
        if (http_name_is(m->hdr[i].name, m->hdr[i].nlen, name)) return &m->hdr[i];
    return NULL;
}

/* Iterates comma-separated elements of v: returns next token (trimmed). */
static bool list_next(const char **p, const char *end, const char **tok, size_t *tlen)
{
    const char *s = *p;
    while (s < end && (*s == ' ' || *s == '\t' || *s == ',')) s++;
    if (s >= end) return false;
    const char *e = s;
    while (e < end && *e != ',') e++;
    const char *t = e;
    while (t > s && (t[-1] == ' ' || t[-1] == '\t')) t--;
    *tok = s; *tlen = (size_t)(t - s); *p = e;
    return true;
}

bool http_has_token(const struct http_msg *m, const char *name, const char *token)
{
    for (uint32_t i = 0; i < m->nhdr; i++) {
        const struct http_hdr *h = &m->hdr[i];
        if (!http_name_is(h->name, h->nlen, name)) continue;
        const char *p = h->value, *end = h->value + h->vlen, *t; size_t tl;
        while (list_next(&p, end, &t, &tl))
            if (http_name_is(t, tl, token)) return true;
    }
    return false;
}

/* ---- head scanning ---------------------------------------------------- */

/* Finds the end of the head: returns its length, 0 if incomplete, -1 if a
 * bare LF or bare CR is seen. Only the first `limit` bytes are examined. */
static long find_head_end(const char *b, size_t len)
{
    size_t line_start = 0;
    for (size_t i = 0; i < len; i++) {
        if (b[i] == '\r') {
            if (i + 1 < len && b[i + 1] != '\n') return -1;
            continue;
        }
        if (b[i] != '\n') continue;
        if (i == 0 || b[i - 1] != '\r') return -1;
        if (i - 1 == line_start) return (long)(i + 1);   /* empty line */
        line_start = i + 1;
    }
    return 0;
}

static enum http_parse parse_version(const char *s, size_t n, int *minor)
{
    if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || s[6] != '.') return HTTP_PARSE_BAD;
    if (s[5] < '0' || s[5] > '9' || s[7] < '0' || s[7] > '9') return HTTP_PARSE_BAD;
    if (s[5] != '1' || (s[7] != '0' && s[7] != '1')) return HTTP_PARSE_VERSION;
    *minor = s[7] - '0';
    return HTTP_PARSE_OK;
}

static int parse_clen(const char *v, size_t n, uint64_t *out)
{
    if (n == 0 || n > 18) return -1;         /* 18 digits < 2^63: no overflow */
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return 0;
}

/* Parses header lines in [p, end) (end points at the final CRLF). */
static enum http_parse parse_fields(const char *p, const char *end, const struct http_limits *lim,
                                    struct http_msg *m)
{
    uint32_t maxh = lim->max_headers < HTTP_MAX_HEADERS ? lim->max_headers : HTTP_MAX_HEADERS;
    m->nhdr = 0;
    while (p < end) {
        const char *eol = memchr(p, '\r', (size_t)(end - p));
        if (!eol) return HTTP_PARSE_BAD;
        if (*p == ' ' || *p == '\t') return HTTP_PARSE_BAD;          /* obs-fold */
        const char *colon = p;
        while (colon < eol && is_tchar((unsigned char)*colon)) colon++;
        if (colon == p || colon >= eol || *colon != ':') return HTTP_PARSE_BAD;
        const char *v = colon + 1, *ve = eol;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        for (const char *c = v; c < ve; c++)
            if (!is_vchar_ws((unsigned char)*c)) return HTTP_PARSE_BAD;
        if (m->nhdr >= maxh) return HTTP_PARSE_TOO_LARGE;
        struct http_hdr *h = &m->hdr[m->nhdr++];
        h->name = p; h->nlen = (uint32_t)(colon - p);
        h->value = v; h->vlen = (uint32_t)(ve - v);
        p = eol + 2;
    }
    return HTTP_PARSE_OK;
}

/* Framing headers common to requests and responses. */
static enum http_parse parse_framing(struct http_msg *m, bool *has_cl, bool *has_te)
{
    *has_cl = *has_te = false;
    bool te_chunked_last = false;
    for (uint32_t i = 0; i < m->nhdr; i++) {
        const struct http_hdr *h = &m->hdr[i];
        if (http_name_is(h->name, h->nlen, "content-length")) {
            const char *p = h->value, *end = h->value + h->vlen, *t; size_t tl;
            bool any = false;
            while (list_next(&p, end, &t, &tl)) {
                uint64_t v;
                if (parse_clen(t, tl, &v) != 0) return HTTP_PARSE_BAD;
                if (*has_cl && v != m->content_length) return HTTP_PARSE_BAD;
                m->content_length = v; *has_cl = true; any = true;
            }
            if (!any) return HTTP_PARSE_BAD;
        } else if (http_name_is(h->name, h->nlen, "transfer-encoding")) {
            const char *p = h->value, *end = h->value + h->vlen, *t; size_t tl;
            bool any = false;
            while (list_next(&p, end, &t, &tl)) {
                if (te_chunked_last) return HTTP_PARSE_BAD;   /* chunked applied twice / not last */
                if (!http_name_is(t, tl, "chunked")) return HTTP_PARSE_NOT_IMPL;
                te_chunked_last = true; any = true;
            }
            if (!any) return HTTP_PARSE_BAD;
            *has_te = true;
        }
    }
    return HTTP_PARSE_OK;
}

static void set_keep_alive(struct http_msg *m)
{
    if (m->minor >= 1) m->keep_alive = !http_has_token(m, "connection", "close");
    else m->keep_alive = http_has_token(m, "connection", "keep-alive");
}

static enum http_method method_of(const char *s, size_t n)
{
    static const char *const names[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS" };
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) return (enum http_method)i;
    return HTTP_M_OTHER;
}

const char *http_method_name(enum http_method m)
{
    static const char *const names[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "OTHER" };
    return names[m <= HTTP_M_OTHER ? m : HTTP_M_OTHER];
}

/* Splits the request-target into path/query and, for absolute-form,
 * authority. Only origin-form, absolute-form (http/https) and "*". */
static enum http_parse parse_target(struct http_msg *m)
{
    const char *t = m->target, *end = t + m->target_len;
    const char *auth = NULL; size_t alen = 0;
    if (m->target_len == 1 && t[0] == '*') {
        if (m->method != HTTP_M_OPTIONS) return HTTP_PARSE_BAD;
        m->path = t; m->path_len = 1;
        return HTTP_PARSE_OK;
    }
    if (t[0] != '/') {
        size_t skip;
        if (m->target_len > 7 && strncasecmp(t, "http://", 7) == 0) skip = 7;
        else if (m->target_len > 8 && strncasecmp(t, "https://", 8) == 0) skip = 8;
        else return HTTP_PARSE_BAD;
        auth = t + skip;
        const char *slash = auth;
        while (slash < end && *slash != '/' && *slash != '?') slash++;
        alen = (size_t)(slash - auth);
        if (alen == 0) return HTTP_PARSE_BAD;
        for (const char *c = auth; c < slash; c++) if (*c == '@') return HTTP_PARSE_BAD;
        t = slash;
        if (t == end || *t == '?') {     /* "http://h" or "http://h?q": path is "/" */
            static const char root[] = "/";
            m->path = root; m->path_len = 1;
            if (t < end) { m->query = t + 1; m->query_len = (uint32_t)(end - t - 1); }
            m->host = auth; m->host_len = (uint32_t)alen;
            return HTTP_PARSE_OK;
        }
    }
    const char *q = memchr(t, '?', (size_t)(end - t));
    const char *hash = memchr(t, '#', (size_t)(end - t));
    if (hash) return HTTP_PARSE_BAD;     /* fragments are never sent */
    m->path = t;
    m->path_len = (uint32_t)((q ? q : end) - t);
    if (q) { m->query = q + 1; m->query_len = (uint32_t)(end - q - 1); }
    if (auth) { m->host = auth; m->host_len = (uint32_t)alen; }
    return HTTP_PARSE_OK;
}

static bool valid_host(const char *h, size_t n)
{
    if (n == 0 || n > 255) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!(is_tchar(c) || c == ':' || c == '[' || c == ']')) return false;
        if (c == '*' || c == '\'' || c == '`' || c == '|' || c == '^') return false;
    }
    return true;
}

enum http_parse http_parse_request(const char *buf, size_t len, const struct http_limits *lim,
                                   struct http_msg *m)
{
    memset(m, 0, offsetof(struct http_msg, hdr));
    m->nhdr = 0; m->body = HTTP_BODY_NONE; m->content_length = 0;
    m->keep_alive = false; m->expect_continue = false; m->head_len = 0;
    size_t scan = len < lim->max_head ? len : lim->max_head;
    /* Leading empty lines before a request line are tolerated (RFC 9112 2.2). */
    size_t off = 0;
    while (off + 1 < scan && buf[off] == '\r' && buf[off + 1] == '\n' && off < 8) off += 2;
    long hl = find_head_end(buf + off, scan - off);
    if (hl < 0) return HTTP_PARSE_BAD;
    if (hl == 0) return len >= lim->max_head ? HTTP_PARSE_TOO_LARGE : HTTP_PARSE_INCOMPLETE;
    const char *p = buf + off, *end = p + hl - 2;   /* end at the final CRLF */
    const char *eol = memchr(p, '\r', (size_t)(end - p + 2));
    /* request-line = method SP request-target SP HTTP-version */
    const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
    if (!sp1 || sp1 == p) return HTTP_PARSE_BAD;
    for (const char *c = p; c < sp1; c++) if (!is_tchar((unsigned char)*c)) return HTTP_PARSE_BAD;
    const char *tgt = sp1 + 1;
    const char *sp2 = memchr(tgt, ' ', (size_t)(eol - tgt));
    if (!sp2 || sp2 == tgt) return HTTP_PARSE_BAD;
    for (const char *c = tgt; c < sp2; c++) if (!is_target_char((unsigned char)*c)) return HTTP_PARSE_BAD;
    enum http_parse rc = parse_version(sp2 + 1, (size_t)(eol - sp2 - 1), &m->minor);
    if (rc != HTTP_PARSE_OK) return rc;
    m->method_s = p; m->method_len = (uint32_t)(sp1 - p);
    m->method = method_of(p, (size_t)(sp1 - p));
    m->target = tgt; m->target_len = (uint32_t)(sp2 - tgt);
    if ((rc = parse_target(m)) != HTTP_PARSE_OK) return rc;
    if ((rc = parse_fields(eol + 2, end, lim, m)) != HTTP_PARSE_OK) return rc;
    bool has_cl, has_te;
    if ((rc = parse_framing(m, &has_cl, &has_te)) != HTTP_PARSE_OK) return rc;
    if (has_cl && has_te) return HTTP_PARSE_BAD;            /* smuggling vector */
    if (has_te && m->minor == 0) return HTTP_PARSE_BAD;     /* TE in 1.0 is faulty framing */
    m->body = has_te ? HTTP_BODY_CHUNKED : (has_cl && m->content_length ? HTTP_BODY_LENGTH : HTTP_BODY_NONE);
    /* Host: exactly one for 1.1; absolute-form authority overrides it. */
    unsigned nhost = 0;
    const struct http_hdr *hosthdr = NULL;
    for (uint32_t i = 0; i < m->nhdr; i++)
        if (http_name_is(m->hdr[i].name, m->hdr[i].nlen, "host")) { nhost++; hosthdr = &m->hdr[i]; }
    if (nhost > 1 || (m->minor == 1 && nhost == 0)) return HTTP_PARSE_BAD;
    if (hosthdr && !valid_host(hosthdr->value, hosthdr->vlen)) return HTTP_PARSE_BAD;
    if (!m->host && hosthdr) { m->host = hosthdr->value; m->host_len = hosthdr->vlen; }
    if (m->host && !valid_host(m->host, m->host_len)) return HTTP_PARSE_BAD;
    set_keep_alive(m);
    m->expect_continue = m->minor == 1 && http_has_token(m, "expect", "100-continue");
    m->head_len = off + (size_t)hl;
    return HTTP_PARSE_OK;
}

enum http_parse http_parse_response(const char *buf, size_t len, const struct http_limits *lim,
                                    enum http_method req_method, struct http_msg *m)
{
    memset(m, 0, offsetof(struct http_msg, hdr));
    m->nhdr = 0; m->body = HTTP_BODY_NONE; m->content_length = 0;
    m->keep_alive = false; m->expect_continue = false; m->head_len = 0;
    size_t scan = len < lim->max_head ? len : lim->max_head;
    long hl = find_head_end(buf, scan);
    if (hl < 0) return HTTP_PARSE_BAD;
    if (hl == 0) return len >= lim->max_head ? HTTP_PARSE_TOO_LARGE : HTTP_PARSE_INCOMPLETE;
    const char *p = buf, *end = buf + hl - 2;
    const char *eol = memchr(p, '\r', (size_t)hl);
    /* status-line = HTTP-version SP status-code SP [reason-phrase] */
    if (eol - p < 12 || p[8] != ' ') return HTTP_PARSE_BAD;
    if (eol - p > 12 && p[12] != ' ') return HTTP_PARSE_BAD;   /* "HTTP/1.1 200" alone is tolerated */
    enum http_parse rc = parse_version(p, 8, &m->minor);
    if (rc != HTTP_PARSE_OK) return rc == HTTP_PARSE_VERSION ? HTTP_PARSE_BAD : rc;
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9') return HTTP_PARSE_BAD;
        st = st * 10 + (p[i] - '0');
    }
    if (st < 100) return HTTP_PARSE_BAD;
    m->status = st;
    if (eol - p > 13) { m->reason = p + 13; m->reason_len = (uint32_t)(eol - p - 13); }
    for (uint32_t i = 0; i < m->reason_len; i++)
        if (!is_vchar_ws((unsigned char)m->reason[i])) return HTTP_PARSE_BAD;
    if ((rc = parse_fields(eol + 2, end, lim, m)) != HTTP_PARSE_OK) return rc;
    bool has_cl, has_te;
    if ((rc = parse_framing(m, &has_cl, &has_te)) != HTTP_PARSE_OK)
        return HTTP_PARSE_BAD;                              /* upstream garbage: 502 */
    /* Both present upstream: a proxy must not guess which one the next hop
     * believes (RFC 9112 6.3 lets TE win; we refuse to relay it at all). */
    if (has_cl && has_te) return HTTP_PARSE_BAD;
    if (req_method == HTTP_M_HEAD || st < 200 || st == 204 || st == 304) m->body = HTTP_BODY_NONE;
    else if (has_te) m->body = HTTP_BODY_CHUNKED;
    else if (has_cl) m->body = HTTP_BODY_LENGTH;
    else m->body = HTTP_BODY_CLOSE;
    set_keep_alive(m);
    if (m->body == HTTP_BODY_CLOSE) m->keep_alive = false;
    m->head_len = (size_t)hl;
    return HTTP_PARSE_OK;
}

/* ---- chunked decoder -------------------------------------------------- */

enum { CS_SIZE = 0, CS_EXT, CS_SIZE_LF, CS_DATA, CS_DATA_CR, CS_DATA_LF,
       CS_TRAILER, CS_TRAILER_LF, CS_END_LF, CS_DONE };
/* 15 hex digits = 60 bits: far above any object we accept, no overflow. */
#define CHUNK_MAX_DIGITS 15
/* Chunk extensions are ignored; bound them so they cannot pin the parser. */
#define CHUNK_MAX_EXT 1024
/* Trailer section bound (fields are discarded). */
#define CHUNK_MAX_TRAILER 8192

void chunk_dec_init(struct chunk_dec *d) { memset(d, 0, sizeof *d); }

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

enum chunk_rc chunk_decode(struct chunk_dec *d, const char *in, size_t len, size_t *used,
                           const char **data, size_t *dlen)
{
    size_t i = 0;
    *data = NULL; *dlen = 0; *used = 0;
    while (i < len) {
        unsigned char c = (unsigned char)in[i];
        switch (d->state) {
        case CS_SIZE: {
            int h = hexval(c);
            if (h >= 0) {
                if (++d->digits > CHUNK_MAX_DIGITS) { *used = i; return CHUNK_BAD; }
                d->remaining = d->remaining * 16 + (uint64_t)h;
                i++;
                break;
            }
            if (d->digits == 0) { *used = i; return CHUNK_BAD; }
            if (c == '\r') { d->state = CS_SIZE_LF; i++; break; }
            if (c == ';' || c == ' ' || c == '\t') { d->state = CS_EXT; d->ext_len = 0; i++; break; }
            { *used = i; return CHUNK_BAD; }
        }
        case CS_EXT:
            if (c == '\r') { d->state = CS_SIZE_LF; i++; break; }
            if (c == '\n' || (c < 0x20 && c != '\t') || c == 0x7f) { *used = i; return CHUNK_BAD; }
            if (++d->ext_len > CHUNK_MAX_EXT) { *used = i; return CHUNK_BAD; }
            i++;
            break;
        case CS_SIZE_LF:
            if (c != '\n') { *used = i; return CHUNK_BAD; }
            i++;
            d->digits = 0;
            if (d->remaining == 0) { d->state = CS_TRAILER; d->line_len = 0; d->trailer_len = 0; }
            else d->state = CS_DATA;
            break;
        case CS_DATA: {
            size_t n = len - i;
            if (n > d->remaining) n = (size_t)d->remaining;
            *data = in + i; *dlen = n;
            d->remaining -= n;
            if (d->remaining == 0) d->state = CS_DATA_CR;
            *used = i + n;
            return CHUNK_DATA;
        }
        case CS_DATA_CR:
            if (c != '\r') { *used = i; return CHUNK_BAD; }
            d->state = CS_DATA_LF; i++;
            break;
        case CS_DATA_LF:
            if (c != '\n') { *used = i; return CHUNK_BAD; }
            d->state = CS_SIZE; d->remaining = 0; d->digits = 0; i++;
            break;
        case CS_TRAILER:   /* at start or inside a trailer line */
            if (++d->trailer_len > CHUNK_MAX_TRAILER) { *used = i; return CHUNK_BAD; }
            if (c == '\r') { d->state = d->line_len == 0 ? CS_END_LF : CS_TRAILER_LF; i++; break; }
            if (c == '\n' || c == 0) { *used = i; return CHUNK_BAD; }
            d->line_len++; i++;
            break;
        case CS_TRAILER_LF:
            if (c != '\n') { *used = i; return CHUNK_BAD; }
            d->state = CS_TRAILER; d->line_len = 0; i++;
            break;
        case CS_END_LF:
            if (c != '\n') { *used = i; return CHUNK_BAD; }
            d->state = CS_DONE; i++;
            *used = i;
            return CHUNK_END;
        default:
            *used = i;
            return CHUNK_END;
        }
    }
    *used = i;
    return d->state == CS_DONE ? CHUNK_END : CHUNK_MORE;
}

/* ---- dates ------------------------------------------------------------ */

static const char *const MONTHS[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const DAYS[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

size_t http_date_format(time_t t, char *buf)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    static const char digits[] = "0123456789";
    char *p = buf;
    memcpy(p, DAYS[tm.tm_wday], 3); p += 3; *p++ = ','; *p++ = ' ';
    *p++ = digits[tm.tm_mday / 10]; *p++ = digits[tm.tm_mday % 10]; *p++ = ' ';
    memcpy(p, MONTHS[tm.tm_mon], 3); p += 3; *p++ = ' ';
    int y = tm.tm_year + 1900;
    if (y < 0 || y > 9999) y = 9999;
    *p++ = digits[y / 1000]; *p++ = digits[y / 100 % 10]; *p++ = digits[y / 10 % 10]; *p++ = digits[y % 10];
    *p++ = ' ';
    *p++ = digits[tm.tm_hour / 10]; *p++ = digits[tm.tm_hour % 10]; *p++ = ':';
    *p++ = digits[tm.tm_min / 10]; *p++ = digits[tm.tm_min % 10]; *p++ = ':';
    *p++ = digits[tm.tm_sec / 10]; *p++ = digits[tm.tm_sec % 10];
    memcpy(p, " GMT", 4); p += 4; *p = 0;
    return (size_t)(p - buf);
}

static int month_of(const char *s)
{
    for (int i = 0; i < 12; i++) if (memcmp(s, MONTHS[i], 3) == 0) return i;
    return -1;
}

static int num(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + s[i] - '0';
    }
    return v;
}

static int hms(const char *s, struct tm *tm)
{
    if (s[2] != ':' || s[5] != ':') return -1;
    tm->tm_hour = num(s, 2); tm->tm_min = num(s + 3, 2); tm->tm_sec = num(s + 6, 2);
    if (tm->tm_hour < 0 || tm->tm_hour > 23 || tm->tm_min < 0 || tm->tm_min > 59 ||
        tm->tm_sec < 0 || tm->tm_sec > 60) return -1;
    return 0;
}

int http_date_parse(const char *s, size_t len, time_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    char b[64];
    if (len == 0 || len >= sizeof b) return -1;
    memcpy(b, s, len); b[len] = 0;
    const char *comma = memchr(b, ',', len);
    if (len == 29 && comma == b + 3) {                 /* Sun, 06 Nov 1994 08:49:37 GMT */
        if (b[4] != ' ' || b[7] != ' ' || b[11] != ' ' || b[16] != ' ' || memcmp(b + 25, " GMT", 4)) return -1;
        tm.tm_mday = num(b + 5, 2);
        tm.tm_mon = month_of(b + 8);
        tm.tm_year = num(b + 12, 4) - 1900;
        if (hms(b + 17, &tm)) return -1;
    } else if (comma && len >= 30) {                    /* Sunday, 06-Nov-94 08:49:37 GMT */
        const char *d = comma + 2;
        if (comma[1] != ' ' || strlen(d) != 22 || d[2] != '-' || d[6] != '-' || d[9] != ' ' ||
            strcmp(d + 18, " GMT") != 0) return -1;
        tm.tm_mday = num(d, 2);
        tm.tm_mon = month_of(d + 3);
        int yy = num(d + 7, 2);
        if (yy < 0) return -1;
        tm.tm_year = yy < 70 ? yy + 100 : yy;       /* RFC 9110 5.6.7: 50-year rule approx */
        if (hms(d + 10, &tm)) return -1;
    } else if (len == 24 && b[3] == ' ') {             /* Sun Nov  6 08:49:37 1994 */
        if (b[7] != ' ' || b[10] != ' ' || b[19] != ' ') return -1;
        tm.tm_mon = month_of(b + 4);
        tm.tm_mday = b[8] == ' ' ? num(b + 9, 1) : num(b + 8, 2);
        if (hms(b + 11, &tm)) return -1;
        tm.tm_year = num(b + 20, 4) - 1900;
    } else {
        return -1;
    }
    if (tm.tm_mon < 0 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_year < 0) return -1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1) return -1;
    *out = t;
    return 0;
}

const char *http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 508: return "Loop Detected";
    default:  return "Unknown";
    }
}
