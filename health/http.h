/* health/http.h: incremental parser of one HTTP/1.x response, bounded.
 *
 * Owns turning the bytes a health-check target sends into a status code and
 * the first `body_cap` bytes of the (de-chunked) body, with hard limits so a
 * target sending garbage, endless headers or an endless body cannot make the
 * checker hang or grow: a line is at most HTTP_LINE_MAX bytes, the header
 * block HTTP_HEAD_MAX bytes and HTTP_HEADERS_MAX fields, at most
 * HTTP_INTERIM_MAX 1xx responses precede the final one, and body bytes
 * beyond body_cap are not read at all (parsing stops: HTTP_DONE with
 * body_capped set). Framing follows RFC 9112 section 6: no body for HEAD,
 * 1xx, 204 and 304; Transfer-Encoding chunked wins over Content-Length;
 * conflicting Content-Length values are an error; otherwise the body runs
 * to the end of the connection (http_resp_eof).
 *
 * No allocation: the caller provides the body buffer. Not thread-aware; one
 * parser per connection. Fuzzed by tests/fuzz/fuzz_health_http.c. */
#ifndef STEER_HEALTH_HTTP_H
#define STEER_HEALTH_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_LINE_MAX 4096      /* status line, header line, chunk-size line */
#define HTTP_HEAD_MAX 32768     /* whole header block of one response */
#define HTTP_HEADERS_MAX 100    /* header fields of one response */
#define HTTP_INTERIM_MAX 8      /* 1xx responses before the final one */

enum http_result {
    HTTP_MORE = 0,        /* need more input */
    HTTP_DONE,            /* final response complete, or body_cap reached */
    HTTP_ERR_SYNTAX,      /* not a valid HTTP/1.x response */
    HTTP_ERR_TOO_LARGE,   /* a header limit above was exceeded */
    HTTP_ERR_TRUNCATED,   /* EOF inside a message whose length was known */
};

enum http_pstate {
    HP_STATUS = 0, HP_HEADER, HP_BODY_LEN, HP_BODY_CLOSE, HP_CHUNK_SIZE, HP_CHUNK_DATA,
    HP_CHUNK_CRLF, HP_TRAILER, HP_DONE, HP_ERROR
};

struct http_resp {
    /* set by http_resp_init */
    bool head;              /* the request was HEAD: the response has no body */
    char *body;             /* caller's buffer of body_cap bytes (borrowed) */
    uint32_t body_cap;      /* 0: stop as soon as the headers are complete */
    /* results */
    unsigned status;        /* final status, valid once headers are done */
    bool headers_done;
    uint32_t body_len;      /* bytes stored in body */
    bool body_capped;       /* the body was longer than body_cap */
    /* private */
    enum http_pstate st;
    char line[HTTP_LINE_MAX];
    size_t line_len;
    size_t head_bytes;
    unsigned nheaders, interim;
    bool chunked, have_len;
    uint64_t remaining;     /* of a Content-Length body or current chunk */
};

void http_resp_init(struct http_resp *p, bool head, char *body, uint32_t body_cap);

/* Consumes up to len bytes; *used gets how many were consumed (less than len
 * only once the result is not HTTP_MORE). */
enum http_result http_resp_feed(struct http_resp *p, const char *data, size_t len, size_t *used);

/* The peer closed the connection: HTTP_DONE if that ends the body,
 * HTTP_ERR_TRUNCATED if the response was incomplete. */
enum http_result http_resp_eof(struct http_resp *p);

#endif
