/* edge/http.h: strict, bounded HTTP/1.1 message parsing (RFC 9110/9112).
 *
 * Owns parsing of request and response heads and the chunked transfer
 * decoder. Pure functions over caller buffers: no allocation, no I/O, safe
 * to call from any thread. Parsed fields point into the caller's buffer,
 * which must outlive the struct http_msg ("borrowed").
 *
 * Strictness is deliberate for a proxy (request smuggling is the threat):
 * lines end in CRLF only (bare LF/CR -> BAD), obs-fold is rejected, header
 * names are tokens with no whitespace before ':', Content-Length must be
 * digits only and identical when repeated, a request carrying both
 * Content-Length and Transfer-Encoding is rejected, and the only transfer
 * coding accepted is "chunked". Limits (head bytes, header count) map to
 * 431 for requests. Alternatives rejected: libevent's evhttp (lenient,
 * buffers whole bodies) and a generic lenient parser with a post-check
 * (two interpretations of one message is exactly what smuggling exploits). */
#ifndef STEER_EDGE_HTTP_H
#define STEER_EDGE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Result of parsing a head. */
enum http_parse {
    HTTP_PARSE_OK = 0,      /* complete head parsed; msg->head_len set */
    HTTP_PARSE_INCOMPLETE,  /* need more bytes */
    HTTP_PARSE_BAD,         /* malformed: 400 (request) / 502 (response) */
    HTTP_PARSE_TOO_LARGE,   /* head or header count over limit: 431 */
    HTTP_PARSE_VERSION,     /* unsupported HTTP version: 505 */
    HTTP_PARSE_NOT_IMPL,    /* unknown transfer coding: 501 */
};

enum http_method {
    HTTP_M_GET = 0, HTTP_M_HEAD, HTTP_M_POST, HTTP_M_PUT, HTTP_M_DELETE,
    HTTP_M_PATCH, HTTP_M_OPTIONS, HTTP_M_OTHER,
};

enum http_body {
    HTTP_BODY_NONE = 0,     /* no body */
    HTTP_BODY_LENGTH,       /* Content-Length bytes */
    HTTP_BODY_CHUNKED,      /* chunked transfer coding */
    HTTP_BODY_CLOSE,        /* response delimited by connection close */
};

/* Hard upper bound on header fields; the configured limit may be lower.
 * 128 is above what browsers send (~20) and what Varnish allows (64). */
#define HTTP_MAX_HEADERS 128

struct http_hdr {
    const char *name;   /* borrowed, not NUL-terminated */
    const char *value;  /* borrowed, OWS trimmed */
    uint32_t nlen, vlen;
};

struct http_msg {
    /* request line */
    enum http_method method;
    const char *method_s; uint32_t method_len;
    const char *target; uint32_t target_len;   /* as sent */
    const char *path; uint32_t path_len;       /* origin-form path, no query */
    const char *query; uint32_t query_len;     /* after '?', may be 0 */
    const char *host; uint32_t host_len;       /* Host or absolute-form authority */
    /* status line */
    int status;
    const char *reason; uint32_t reason_len;
    /* both */
    int minor;                    /* HTTP/1.<minor>: 0 or 1 */
    struct http_hdr hdr[HTTP_MAX_HEADERS];
    uint32_t nhdr;
    enum http_body body;
    uint64_t content_length;      /* when body == HTTP_BODY_LENGTH */
    bool keep_alive;              /* per Connection and version */
    bool expect_continue;         /* request: Expect: 100-continue */
    size_t head_len;              /* bytes of head including final CRLF */
};

struct http_limits {
    uint32_t max_head;            /* bytes, whole head */
    uint32_t max_headers;         /* field count, <= HTTP_MAX_HEADERS */
};

/* Parses a request head from buf[0..len). Returns enum http_parse. */
enum http_parse http_parse_request(const char *buf, size_t len, const struct http_limits *lim,
                                   struct http_msg *m);
/* Parses a response head; `req_method` decides body framing (HEAD -> none).
 * 1xx responses are returned as parsed; the caller skips them. */
enum http_parse http_parse_response(const char *buf, size_t len, const struct http_limits *lim,
                                    enum http_method req_method, struct http_msg *m);

/* First header named `name` (case-insensitive), or NULL. */
const struct http_hdr *http_find(const struct http_msg *m, const char *name);
/* True if comma-separated list header(s) `name` contain `token`. */
bool http_has_token(const struct http_msg *m, const char *name, const char *token);
/* True if name equals the NUL-terminated string `s`, ignoring case. */
bool http_name_is(const char *name, size_t nlen, const char *s);
/* True for hop-by-hop fields a proxy must not forward or store. */
bool http_is_hop_by_hop(const char *name, size_t nlen);

/* HTTP-date (IMF-fixdate, RFC 850, asctime). Returns 0 and *out, or -1. */
int http_date_parse(const char *s, size_t len, time_t *out);
/* Formats IMF-fixdate into buf (>= 30 bytes). Returns length. */
size_t http_date_format(time_t t, char *buf);

/* Chunked transfer decoder (incremental; bounded extension/trailer sizes). */
enum chunk_rc {
    CHUNK_DATA = 0,   /* data and dlen hold body bytes */
    CHUNK_MORE,       /* input exhausted, need more */
    CHUNK_END,        /* last-chunk and trailers consumed */
    CHUNK_BAD,        /* malformed */
};
struct chunk_dec {
    int state;
    uint64_t remaining;
    uint32_t digits, ext_len, trailer_len, line_len;
};
void chunk_dec_init(struct chunk_dec *d);
/* Consumes bytes from in[0..len); *used is how many. Call again with the rest
 * until CHUNK_MORE (or END/BAD). */
enum chunk_rc chunk_decode(struct chunk_dec *d, const char *in, size_t len, size_t *used,
                           const char **data, size_t *dlen);

const char *http_reason(int status);
const char *http_method_name(enum http_method m);

#endif
