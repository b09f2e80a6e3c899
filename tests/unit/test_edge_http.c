/* Unit tests for edge/http.c: request/response heads, limits, smuggling
 * vectors, chunked decoding, dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "edge/http.h"

static const struct http_limits LIM = { 8192, 64 };

static enum http_parse req(const char *s, struct http_msg *m)
{
    return http_parse_request(s, strlen(s), &LIM, m);
}

static void test_request_ok(void **st)
{
    (void)st;
    struct http_msg m;
    const char *r = "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: Example.com:8080\r\nAccept:  text/html \r\n\r\nNEXT";
    assert_int_equal(req(r, &m), HTTP_PARSE_OK);
    assert_int_equal(m.method, HTTP_M_GET);
    assert_int_equal(m.minor, 1);
    assert_int_equal(m.path_len, 4);
    assert_memory_equal(m.path, "/a/b", 4);
    assert_int_equal(m.query_len, 7);
    assert_memory_equal(m.host, "Example.com:8080", 16);
    assert_int_equal(m.nhdr, 2);
    assert_int_equal(m.hdr[1].vlen, 9);               /* OWS trimmed */
    assert_memory_equal(m.hdr[1].value, "text/html", 9);
    assert_int_equal(m.head_len, strlen(r) - 4);
    assert_true(m.keep_alive);
    assert_int_equal(m.body, HTTP_BODY_NONE);
}

static void test_request_incomplete(void **st)
{
    (void)st;
    struct http_msg m;
    assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\n", &m), HTTP_PARSE_INCOMPLETE);
    assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\n\r", &m), HTTP_PARSE_INCOMPLETE);
    assert_int_equal(req("", &m), HTTP_PARSE_INCOMPLETE);
}

static void test_request_bad(void **st)
{
    (void)st;
    struct http_msg m;
    static const char *const bad[] = {
        "GET / HTTP/1.1\r\n\r\n",                                   /* no Host */
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX Y: z\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n",           /* obs-fold */
        "GET / HTTP/1.1\nHost: a\n\n",                               /* bare LF */
        "GET / HTTP/1.1\r\nHost: a\rB: c\r\n\r\n",                   /* bare CR */
        "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
        "GET / HTTQ/1.1\r\nHost: a\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n: novalue\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
        "GET #frag HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /#frag HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET ftp://x/ HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET http://u@x/ HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET * HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999999\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        NULL,
    };
    for (int i = 0; bad[i]; i++) {
        enum http_parse rc = req(bad[i], &m);
        if (rc != HTTP_PARSE_BAD) fail_msg("case %d accepted (%d): %s", i, rc, bad[i]);
    }
}

static void test_request_codes(void **st)
{
    (void)st;
    struct http_msg m;
    assert_int_equal(req("GET / HTTP/2.0\r\nHost: a\r\n\r\n", &m), HTTP_PARSE_VERSION);
    assert_int_equal(req("GET / HTTP/1.2\r\nHost: a\r\n\r\n", &m), HTTP_PARSE_VERSION);
    assert_int_equal(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", &m), HTTP_PARSE_NOT_IMPL);
    assert_int_equal(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &m), HTTP_PARSE_NOT_IMPL);
}

static void test_request_limits(void **st)
{
    (void)st;
    struct http_msg m;
    char big[9000];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nHost: a\r\nX: ", 28);
    assert_int_equal(http_parse_request(big, sizeof big, &LIM, &m), HTTP_PARSE_TOO_LARGE);
    char many[4096]; size_t o = 0;
    o += (size_t)snprintf(many + o, sizeof many - o, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 70; i++) o += (size_t)snprintf(many + o, sizeof many - o, "X-%d: v\r\n", i);
    o += (size_t)snprintf(many + o, sizeof many - o, "\r\n");
    assert_int_equal(http_parse_request(many, o, &LIM, &m), HTTP_PARSE_TOO_LARGE);
}

static void test_request_framing(void **st)
{
    (void)st;
    struct http_msg m;
    assert_int_equal(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", &m), HTTP_PARSE_OK);
    assert_int_equal(m.body, HTTP_BODY_LENGTH);
    assert_int_equal(m.content_length, 12);
    assert_int_equal(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7, 7\r\n\r\n", &m), HTTP_PARSE_OK);
    assert_int_equal(m.content_length, 7);
    assert_int_equal(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", &m), HTTP_PARSE_OK);
    assert_int_equal(m.body, HTTP_BODY_CHUNKED);
    assert_int_equal(req("GET / HTTP/1.0\r\n\r\n", &m), HTTP_PARSE_OK);
    assert_false(m.keep_alive);
    assert_int_equal(req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &m), HTTP_PARSE_OK);
    assert_true(m.keep_alive);
    assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n", &m), HTTP_PARSE_OK);
    assert_false(m.keep_alive);
    assert_int_equal(req("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", &m), HTTP_PARSE_OK);
    assert_true(m.expect_continue);
    assert_int_equal(req("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &m), HTTP_PARSE_OK);   /* leading CRLF */
}

static void test_absolute_form(void **st)
{
    (void)st;
    struct http_msg m;
    assert_int_equal(req("GET http://Example.com/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n", &m), HTTP_PARSE_OK);
    assert_int_equal(m.host_len, 11);
    assert_memory_equal(m.host, "Example.com", 11);
    assert_memory_equal(m.path, "/p", 2);
    assert_int_equal(m.query_len, 3);
    assert_int_equal(req("GET http://h HTTP/1.1\r\nHost: h\r\n\r\n", &m), HTTP_PARSE_OK);
    assert_int_equal(m.path_len, 1);
    assert_int_equal(req("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", &m), HTTP_PARSE_OK);
}

static enum http_parse resp(const char *s, enum http_method meth, struct http_msg *m)
{
    return http_parse_response(s, strlen(s), &LIM, meth, m);
}

static void test_response(void **st)
{
    (void)st;
    struct http_msg m;
    assert_int_equal(resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", HTTP_M_GET, &m), HTTP_PARSE_OK);
    assert_int_equal(m.status, 200);
    assert_int_equal(m.body, HTTP_BODY_LENGTH);
    assert_true(m.keep_alive);
    assert_int_equal(resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", HTTP_M_HEAD, &m), HTTP_PARSE_OK);
    assert_int_equal(m.body, HTTP_BODY_NONE);
    assert_int_equal(resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", HTTP_M_GET, &m), HTTP_PARSE_OK);
    assert_int_equal(m.body, HTTP_BODY_NONE);
    assert_int_equal(resp("HTTP/1.1 200 OK\r\n\r\n", HTTP_M_GET, &m), HTTP_PARSE_OK);
    assert_int_equal(m.body, HTTP_BODY_CLOSE);
    assert_false(m.keep_alive);
    assert_int_equal(resp("HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_M_GET, &m), HTTP_PARSE_OK);
    assert_int_equal(m.body, HTTP_BODY_CHUNKED);
    assert_int_equal(resp("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", HTTP_M_GET, &m), HTTP_PARSE_OK);
    assert_false(m.keep_alive);
    assert_int_equal(resp("HTTP/1.1 100 Continue\r\n\r\n", HTTP_M_GET, &m), HTTP_PARSE_OK);
    assert_int_equal(m.status, 100);
    static const char *const bad[] = {
        "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n", "HTTP/1.1 099 Low\r\n\r\n", "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n", "garbage\r\n\r\n", NULL };
    for (int i = 0; bad[i]; i++)
        if (resp(bad[i], HTTP_M_GET, &m) != HTTP_PARSE_BAD) fail_msg("response case %d accepted", i);
}

static void test_tokens(void **st)
{
    (void)st;
    struct http_msg m;
    assert_int_equal(req("GET / HTTP/1.1\r\nHost: a\r\nCache-Control: no-cache\r\nCache-Control: max-age=5, No-Store\r\n\r\n", &m), HTTP_PARSE_OK);
    assert_true(http_has_token(&m, "cache-control", "no-store"));
    assert_true(http_has_token(&m, "Cache-Control", "no-cache"));
    assert_false(http_has_token(&m, "cache-control", "private"));
    assert_non_null(http_find(&m, "HOST"));
    assert_true(http_is_hop_by_hop("Transfer-Encoding", 17));
    assert_false(http_is_hop_by_hop("Content-Type", 12));
}

/* decodes a whole chunked body, feeding it in pieces of `step` bytes */
static int dechunk(const char *in, size_t step, char *out, size_t *olen)
{
    struct chunk_dec d;
    chunk_dec_init(&d);
    size_t len = strlen(in), off = 0;
    *olen = 0;
    char buf[4096]; size_t have = 0;
    while (off < len || have) {
        size_t n = len - off < step ? len - off : step;
        memcpy(buf + have, in + off, n); have += n; off += n;
        size_t pos = 0;
        for (;;) {
            size_t used; const char *data; size_t dl;
            enum chunk_rc rc = chunk_decode(&d, buf + pos, have - pos, &used, &data, &dl);
            pos += used;
            if (rc == CHUNK_BAD) return -1;
            if (rc == CHUNK_DATA) { memcpy(out + *olen, data, dl); *olen += dl; continue; }
            if (rc == CHUNK_END) return 1;
            break;
        }
        memmove(buf, buf + pos, have - pos); have -= pos;
        if (off >= len && have) return 0;
    }
    return 0;
}

static void test_chunked(void **st)
{
    (void)st;
    char out[256]; size_t ol;
    const char *ok = "5\r\nhello\r\n6;ext=1\r\n world\r\nA \r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n";
    for (size_t step = 1; step < 20; step++) {
        assert_int_equal(dechunk(ok, step, out, &ol), 1);
        assert_int_equal(ol, 21);
        assert_memory_equal(out, "hello world0123456789", 21);
    }
    assert_int_equal(dechunk("0\r\n\r\n", 3, out, &ol), 1);
    assert_int_equal(ol, 0);
    static const char *const bad[] = { "zz\r\n", "5\r\nhelloX\r\n", "5\nhello\r\n", "\r\n",
        "ffffffffffffffffff\r\n", "5\r\nhello\r\n0\r\nX\n\r\n", "-1\r\n", "5\r\nhello\r\r", NULL };
    for (int i = 0; bad[i]; i++)
        if (dechunk(bad[i], 2, out, &ol) != -1) fail_msg("chunked case %d accepted", i);
}

static void test_dates(void **st)
{
    (void)st;
    time_t t;
    assert_int_equal(http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", 29, &t), 0);
    assert_int_equal((long long)t, 784111777LL);
    assert_int_equal(http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", 30, &t), 0);
    assert_int_equal((long long)t, 784111777LL);
    assert_int_equal(http_date_parse("Sun Nov  6 08:49:37 1994", 24, &t), 0);
    assert_int_equal((long long)t, 784111777LL);
    assert_int_equal(http_date_parse("Sun, 06 Nov 1994 25:49:37 GMT", 29, &t), -1);
    assert_int_equal(http_date_parse("yesterday", 9, &t), -1);
    assert_int_equal(http_date_parse("0", 1, &t), -1);
    char b[40];
    assert_int_equal(http_date_format(784111777, b), 29);
    assert_string_equal(b, "Sun, 06 Nov 1994 08:49:37 GMT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_ok), cmocka_unit_test(test_request_incomplete),
        cmocka_unit_test(test_request_bad), cmocka_unit_test(test_request_codes),
        cmocka_unit_test(test_request_limits), cmocka_unit_test(test_request_framing),
        cmocka_unit_test(test_absolute_form), cmocka_unit_test(test_response),
        cmocka_unit_test(test_tokens), cmocka_unit_test(test_chunked), cmocka_unit_test(test_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
