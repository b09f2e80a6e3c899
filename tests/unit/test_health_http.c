/* Unit tests: health/http.h response parser, incl. malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "health/http.h"

static char body[64];

/* Feeds s in one piece (step 0) or in pieces of `step` bytes. */
static enum http_result feed(struct http_resp *p, const char *s, size_t step)
{
    size_t len = strlen(s), pos = 0;
    enum http_result r = HTTP_MORE;
    while (pos < len && r == HTTP_MORE) {
        size_t n = step ? (len - pos < step ? len - pos : step) : len - pos, used;
        r = http_resp_feed(p, s + pos, n, &used);
        pos += used;
    }
    return r;
}

static void test_simple(void **st)
{
    struct http_resp p;
    for (size_t step = 0; step < 4; step++) {
        http_resp_init(&p, false, body, sizeof body);
        assert_int_equal(feed(&p, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", step), HTTP_DONE);
        assert_int_equal(p.status, 200);
        assert_int_equal(p.body_len, 5);
        assert_memory_equal(p.body, "hello", 5);
        assert_false(p.body_capped);
    }
}

static void test_no_reason_phrase_and_lf(void **st)
{
    struct http_resp p;
    http_resp_init(&p, false, body, sizeof body);
    assert_int_equal(feed(&p, "HTTP/1.0 503\nContent-Length: 0\n\n", 1), HTTP_DONE);
    assert_int_equal(p.status, 503);
    assert_int_equal(p.body_len, 0);
}

static void test_headers_only_when_no_body_wanted(void **st)
{
    struct http_resp p;
    http_resp_init(&p, false, NULL, 0);
    assert_int_equal(feed(&p, "HTTP/1.1 204 No Content\r\nX: y\r\n\r\n", 0), HTTP_DONE);
    assert_int_equal(p.status, 204);
    http_resp_init(&p, false, NULL, 0);
    size_t used;
    const char *s = "HTTP/1.1 200 OK\r\n\r\nendless body follows";
    assert_int_equal(http_resp_feed(&p, s, strlen(s), &used), HTTP_DONE);
    assert_int_equal(used, strlen("HTTP/1.1 200 OK\r\n\r\n"));
}

static void test_chunked(void **st)
{
    struct http_resp p;
    for (size_t step = 0; step < 3; step++) {
        http_resp_init(&p, false, body, sizeof body);
        assert_int_equal(feed(&p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n"
                                  "4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\n", step), HTTP_DONE);
        assert_int_equal(p.body_len, 9);
        assert_memory_equal(p.body, "Wikipedia", 9);
    }
}

static void test_close_delimited(void **st)
{
    struct http_resp p;
    http_resp_init(&p, false, body, sizeof body);
    assert_int_equal(feed(&p, "HTTP/1.1 200 OK\r\n\r\nall of it", 0), HTTP_MORE);
    assert_int_equal(http_resp_eof(&p), HTTP_DONE);
    assert_int_equal(p.body_len, 9);
}

static void test_truncated(void **st)
{
    struct http_resp p;
    http_resp_init(&p, false, body, sizeof body);
    assert_int_equal(feed(&p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0), HTTP_MORE);
    assert_int_equal(http_resp_eof(&p), HTTP_ERR_TRUNCATED);
    http_resp_init(&p, false, body, sizeof body);
    assert_int_equal(feed(&p, "HTTP/1.1 200 OK\r\nContent-", 0), HTTP_MORE);
    assert_int_equal(http_resp_eof(&p), HTTP_ERR_TRUNCATED);
    http_resp_init(&p, false, body, sizeof body);
    assert_int_equal(http_resp_eof(&p), HTTP_ERR_TRUNCATED);
}

static void test_body_cap(void **st)
{
    struct http_resp p;
    char small[8];
    http_resp_init(&p, false, small, sizeof small);
    assert_int_equal(feed(&p, "HTTP/1.1 200 OK\r\n\r\n0123456789abcdef", 0), HTTP_DONE);
    assert_true(p.body_capped);
    assert_int_equal(p.body_len, 8);
    assert_memory_equal(small, "01234567", 8);
}

static void test_head_and_304(void **st)
{
    struct http_resp p;
    http_resp_init(&p, true, body, sizeof body);
    assert_int_equal(feed(&p, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 0), HTTP_DONE);
    http_resp_init(&p, false, body, sizeof body);
    assert_int_equal(feed(&p, "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", 0), HTTP_DONE);
    assert_int_equal(p.status, 304);
}

static void test_interim(void **st)
{
    struct http_resp p;
    http_resp_init(&p, false, body, sizeof body);
    assert_int_equal(feed(&p, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: x\r\n\r\n"
                              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 1), HTTP_DONE);
    assert_int_equal(p.status, 200);
    /* endless interim responses are bounded */
    http_resp_init(&p, false, body, sizeof body);
    enum http_result r = HTTP_MORE;
    for (int i = 0; i < 20 && r == HTTP_MORE; i++)
        r = feed(&p, "HTTP/1.1 100 Continue\r\n\r\n", 0);
    assert_int_equal(r, HTTP_ERR_TOO_LARGE);
}

static void test_garbage(void **st)
{
    static const char *bad[] = {
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc",      /* a TLS ClientHello */
        "hello world\r\n\r\n",
        "HTTP/2 200\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 099 X\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nName : v\r\n\r\n",
        "HTTP/1.1 200 OK\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
        NULL };
    for (int i = 0; bad[i]; i++) {
        struct http_resp p;
        http_resp_init(&p, false, body, sizeof body);
        enum http_result r = feed(&p, bad[i], 0);
        if (r != HTTP_ERR_SYNTAX)
            fail_msg("case %d: got %d", i, r);
    }
    /* NUL inside a header line */
    struct http_resp p;
    size_t used;
    http_resp_init(&p, false, body, sizeof body);
    assert_int_equal(http_resp_feed(&p, "HTTP/1.1 200 OK\r\nA: \0b\r\n\r\n", 26, &used), HTTP_ERR_SYNTAX);
    /* after an error, the parser stays failed */
    assert_int_equal(http_resp_feed(&p, "x", 1, &used), HTTP_ERR_SYNTAX);
}

static void test_limits(void **st)
{
    struct http_resp p;
    char *big = malloc(HTTP_HEAD_MAX * 2);
    assert_non_null(big);
    /* endless header line */
    http_resp_init(&p, false, body, sizeof body);
    strcpy(big, "HTTP/1.1 200 OK\r\nX: ");
    memset(big + strlen(big), 'a', HTTP_LINE_MAX + 10);
    big[strlen("HTTP/1.1 200 OK\r\nX: ") + HTTP_LINE_MAX + 10] = '\0';
    assert_int_equal(feed(&p, big, 0), HTTP_ERR_TOO_LARGE);
    /* too many headers */
    http_resp_init(&p, false, body, sizeof body);
    assert_int_equal(feed(&p, "HTTP/1.1 200 OK\r\n", 0), HTTP_MORE);
    enum http_result r = HTTP_MORE;
    for (int i = 0; i < HTTP_HEADERS_MAX + 5 && r == HTTP_MORE; i++)
        r = feed(&p, "A: b\r\n", 0);
    assert_int_equal(r, HTTP_ERR_TOO_LARGE);
    /* header block too large with few, long headers */
    http_resp_init(&p, false, body, sizeof body);
    assert_int_equal(feed(&p, "HTTP/1.1 200 OK\r\n", 0), HTTP_MORE);
    memset(big, 'v', HTTP_LINE_MAX - 16);
    memcpy(big, "A: ", 3);
    strcpy(big + HTTP_LINE_MAX - 16, "\r\n");
    r = HTTP_MORE;
    for (int i = 0; i < 20 && r == HTTP_MORE; i++)
        r = feed(&p, big, 0);
    assert_int_equal(r, HTTP_ERR_TOO_LARGE);
    /* an endless status line of spaces is bounded too */
    http_resp_init(&p, false, body, sizeof body);
    memset(big, ' ', HTTP_LINE_MAX + 1);
    memcpy(big, "HTTP/1.1 200 OK", 15);
    big[HTTP_LINE_MAX + 1] = '\0';
    r = feed(&p, big, 0);
    assert_true(r == HTTP_ERR_TOO_LARGE || r == HTTP_ERR_SYNTAX);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple),
        cmocka_unit_test(test_no_reason_phrase_and_lf),
        cmocka_unit_test(test_headers_only_when_no_body_wanted),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_close_delimited),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_body_cap),
        cmocka_unit_test(test_head_and_304),
        cmocka_unit_test(test_interim),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests_name("health_http", tests, NULL, NULL);
}
