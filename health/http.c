#include "health/http.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* ---- private helpers -------------------------------------------------- */

static bool is_tchar(unsigned char c)   /* RFC 9110 token characters */
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static char *trim(char *s, size_t *len)
{
    while (*len && (*s == ' ' || *s == '\t')) {
        s++;
        (*len)--;
    }
    while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
        (*len)--;
    s[*len] = '\0';
    return s;
}

/* "HTTP/1.1 200 OK" -> status; 0 on error. */
static unsigned parse_status_line(const char *l, size_t len)
{
    if (len < 12 || memcmp(l, "HTTP/", 5) != 0 || !isdigit((unsigned char)l[5]) || l[6] != '.' ||
        !isdigit((unsigned char)l[7]) || l[8] != ' ' || l[5] != '1')
        return 0;
    for (int i = 9; i < 12; i++)
        if (!isdigit((unsigned char)l[i]))
            return 0;
    if (len > 12 && l[12] != ' ')
        return 0;
    unsigned s = (unsigned)(l[9] - '0') * 100 + (unsigned)(l[10] - '0') * 10 + (unsigned)(l[11] - '0');
    return (s >= 100 && s <= 599) ? s : 0;
}

static bool parse_decimal(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return false;
    for (int i = 0; s[i]; i++) {
        if (!isdigit((unsigned char)s[i]) || i >= 18)   /* 18 digits < 2^63 */
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* Is the last transfer coding in a Transfer-Encoding value "chunked"? */
static bool last_coding_chunked(const char *v)
{
    const char *last = strrchr(v, ',');
    last = last ? last + 1 : v;
    while (*last == ' ' || *last == '\t')
        last++;
    size_t n = strcspn(last, " \t;");
    return n == 7 && strncasecmp(last, "chunked", 7) == 0;
}

static enum http_result fail(struct http_resp *p, enum http_result r)
{
    p->st = HP_ERROR;
    return r;
}

static enum http_result header_line(struct http_resp *p, char *l, size_t len)
{
    if (len == 0) {                 /* end of the header block */
        if (p->status < 200 && p->status != 101) {
            if (++p->interim > HTTP_INTERIM_MAX)
                return fail(p, HTTP_ERR_TOO_LARGE);
            p->st = HP_STATUS;       /* interim response: the real one follows */
            p->status = 0;
            p->nheaders = 0;
            p->chunked = p->have_len = false;
            return HTTP_MORE;
        }
        p->headers_done = true;
        if (p->head || p->status == 204 || p->status == 304 || p->status == 101 ||
            p->body_cap == 0 || (p->have_len && !p->chunked && p->remaining == 0)) {
            p->st = HP_DONE;
            return HTTP_DONE;
        }
        p->st = p->chunked ? HP_CHUNK_SIZE : p->have_len ? HP_BODY_LEN : HP_BODY_CLOSE;
        return HTTP_MORE;
    }
    if (++p->nheaders > HTTP_HEADERS_MAX)
        return fail(p, HTTP_ERR_TOO_LARGE);
    size_t i = 0;
    while (i < len && is_tchar((unsigned char)l[i]))
        i++;
    if (i == 0 || i >= len || l[i] != ':')    /* also rejects obs-fold and "name :" */
        return fail(p, HTTP_ERR_SYNTAX);
    l[i] = '\0';
    size_t vlen = len - i - 1;
    char *v = trim(l + i + 1, &vlen);
    if (strcasecmp(l, "content-length") == 0) {
        uint64_t n;
        if (!parse_decimal(v, &n) || (p->have_len && n != p->remaining))
            return fail(p, HTTP_ERR_SYNTAX);
        if (!p->chunked) {
            p->have_len = true;
            p->remaining = n;
        }
    } else if (strcasecmp(l, "transfer-encoding") == 0) {
        /* chunked framing wins over Content-Length (RFC 9112 6.3) */
        p->chunked = last_coding_chunked(v);
        p->have_len = false;
        p->remaining = 0;
    }
    return HTTP_MORE;
}

/* Chunk-size line: hex digits, optional extensions after ';'. */
static enum http_result chunk_size_line(struct http_resp *p, const char *l, size_t len)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; i < len && isxdigit((unsigned char)l[i]); i++) {
        if (i >= 15)                 /* 15 hex digits: < 2^60, no overflow */
            return fail(p, HTTP_ERR_SYNTAX);
        int c = tolower((unsigned char)l[i]);
        v = v * 16 + (uint64_t)(isdigit(c) ? c - '0' : c - 'a' + 10);
    }
    while (i < len && (l[i] == ' ' || l[i] == '\t'))
        i++;
    if (i == 0 || (i < len && l[i] != ';'))
        return fail(p, HTTP_ERR_SYNTAX);
    p->remaining = v;
    p->st = v ? HP_CHUNK_DATA : HP_TRAILER;
    return HTTP_MORE;
}

/* A complete line (without CR LF) for the current state. */
static enum http_result on_line(struct http_resp *p, char *l, size_t len)
{
    switch (p->st) {
    case HP_STATUS:
        p->status = parse_status_line(l, len);
        if (!p->status)
            return fail(p, HTTP_ERR_SYNTAX);
        p->st = HP_HEADER;
        return HTTP_MORE;
    case HP_HEADER:
        return header_line(p, l, len);
    case HP_CHUNK_SIZE:
        return chunk_size_line(p, l, len);
    case HP_CHUNK_CRLF:
        if (len != 0)
            return fail(p, HTTP_ERR_SYNTAX);
        p->st = HP_CHUNK_SIZE;
        return HTTP_MORE;
    case HP_TRAILER:
        if (len == 0) {
            p->st = HP_DONE;
            return HTTP_DONE;
        }
        if (++p->nheaders > HTTP_HEADERS_MAX)
            return fail(p, HTTP_ERR_TOO_LARGE);
        return HTTP_MORE;
    default:
        return fail(p, HTTP_ERR_SYNTAX);
    }
}

static bool line_state(enum http_pstate st)
{
    return st == HP_STATUS || st == HP_HEADER || st == HP_CHUNK_SIZE || st == HP_CHUNK_CRLF ||
           st == HP_TRAILER;
}

/* Stores body bytes; returns HTTP_DONE once the buffer is full. */
static enum http_result body_bytes(struct http_resp *p, const char *d, size_t n)
{
    size_t room = p->body_cap - p->body_len;
    if (n > room) {
        memcpy(p->body + p->body_len, d, room);
        p->body_len = p->body_cap;
        p->body_capped = true;
        p->st = HP_DONE;
        return HTTP_DONE;
    }
    memcpy(p->body + p->body_len, d, n);
    p->body_len += (uint32_t)n;
    return HTTP_MORE;
}

/* ---- API -------------------------------------------------------------- */

void http_resp_init(struct http_resp *p, bool head, char *body, uint32_t body_cap)
{
    memset(p, 0, offsetof(struct http_resp, line));
    p->line_len = p->head_bytes = 0;
    p->nheaders = p->interim = 0;
    p->chunked = p->have_len = false;
    p->remaining = 0;
    p->head = head;
    p->body = body;
    p->body_cap = body ? body_cap : 0;
    p->st = HP_STATUS;
}

enum http_result http_resp_feed(struct http_resp *p, const char *data, size_t len, size_t *used)
{
    size_t i = 0;
    enum http_result r = HTTP_MORE;
    if (p->st == HP_DONE || p->st == HP_ERROR) {
        *used = 0;
        return p->st == HP_DONE ? HTTP_DONE : HTTP_ERR_SYNTAX;
    }
    while (i < len && r == HTTP_MORE) {
        if (line_state(p->st)) {
            char c = data[i++];
            bool in_head = p->st == HP_STATUS || p->st == HP_HEADER || p->st == HP_TRAILER;
            if (in_head && ++p->head_bytes > HTTP_HEAD_MAX) {
                r = fail(p, HTTP_ERR_TOO_LARGE);
                break;
            }
            if (c == '\n') {
                size_t l = p->line_len;
                if (l && p->line[l - 1] == '\r')
                    l--;
                p->line[l] = '\0';
                p->line_len = 0;
                if (memchr(p->line, '\0', l) || memchr(p->line, '\r', l)) {
                    r = fail(p, HTTP_ERR_SYNTAX);
                    break;
                }
                r = on_line(p, p->line, l);
                if (r == HTTP_MORE && in_head && p->st != HP_HEADER && p->st != HP_STATUS &&
                    p->st != HP_TRAILER)
                    p->head_bytes = 0;
                continue;
            }
            if (p->line_len + 1 >= sizeof p->line) {
                r = fail(p, p->st == HP_STATUS && p->line_len > 64 ? HTTP_ERR_SYNTAX : HTTP_ERR_TOO_LARGE);
                break;
            }
            p->line[p->line_len++] = c;
            /* a status line must start with "HTTP/": reject garbage early */
            if (p->st == HP_STATUS && p->line_len <= 5 && p->line[p->line_len - 1] != "HTTP/"[p->line_len - 1]) {
                r = fail(p, HTTP_ERR_SYNTAX);
                break;
            }
            continue;
        }
        size_t n = len - i;
        if (p->st == HP_BODY_LEN || p->st == HP_CHUNK_DATA) {
            if (n > p->remaining)
                n = (size_t)p->remaining;
            p->remaining -= n;
        }
        r = body_bytes(p, data + i, n);
        i += n;
        if (r == HTTP_MORE && p->remaining == 0) {
            if (p->st == HP_BODY_LEN) {
                p->st = HP_DONE;
                r = HTTP_DONE;
            } else if (p->st == HP_CHUNK_DATA) {
                p->st = HP_CHUNK_CRLF;
            }
        }
    }
    *used = i;
    return r;
}

enum http_result http_resp_eof(struct http_resp *p)
{
    if (p->st == HP_DONE || p->st == HP_BODY_CLOSE) {
        p->st = HP_DONE;
        return HTTP_DONE;
    }
    if (p->st == HP_ERROR)
        return HTTP_ERR_SYNTAX;
    p->st = HP_ERROR;
    return HTTP_ERR_TRUNCATED;
}
