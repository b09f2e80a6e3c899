/* Unit tests for edge/cc.c: Cache-Control parsing, storability, freshness
 * lifetime and age (RFC 9111 4.2), entity-tag matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "edge/cc.h"

static const struct http_limits LIM = { 8192, 64 };
static char rbuf[4096];

static struct http_msg *resp(const char *fields)
{
    static struct http_msg m;
    snprintf(rbuf, sizeof rbuf, "HTTP/1.1 200 OK\r\n%s\r\n", fields);
    assert_int_equal(http_parse_response(rbuf, strlen(rbuf), &LIM, HTTP_M_GET, &m), HTTP_PARSE_OK);
    return &m;
}

static char qbuf[4096];
static struct http_msg *request(const char *fields)
{
    static struct http_msg m;
    snprintf(qbuf, sizeof qbuf, "GET / HTTP/1.1\r\nHost: a\r\n%s\r\n", fields);
    assert_int_equal(http_parse_request(qbuf, strlen(qbuf), &LIM, &m), HTTP_PARSE_OK);
    return &m;
}

static void test_parse_resp(void **st)
{
    (void)st;
    struct cc_resp cc;
    cc_parse_resp(resp("Cache-Control: public, max-age=60, s-maxage=\"30\"\r\nCache-Control: stale-while-revalidate=10, stale-if-error=20, must-revalidate\r\n"), &cc);
    assert_true(cc.public_);
    assert_int_equal(cc.max_age, 60);
    assert_int_equal(cc.s_maxage, 30);
    assert_int_equal(cc.swr, 10);
    assert_int_equal(cc.sie, 20);
    assert_true(cc.must_revalidate);
    cc_parse_resp(resp("Cache-Control: max-age=abc\r\n"), &cc);
    assert_int_equal(cc.max_age, 0);                 /* invalid -> stale */
    cc_parse_resp(resp("Cache-Control: max-age=100, max-age=5\r\n"), &cc);
    assert_int_equal(cc.max_age, 5);                 /* conflicting -> smallest */
    cc_parse_resp(resp("Cache-Control: private=\"Set-Cookie, X\", no-cache=\"a\"\r\n"), &cc);
    assert_true(cc.private_);
    assert_true(cc.no_cache);
    cc_parse_resp(resp("Cache-Control: max-age=99999999999999\r\n"), &cc);
    assert_int_equal(cc.max_age, 2147483648LL);
    cc_parse_resp(resp("X: y\r\n"), &cc);
    assert_int_equal(cc.max_age, CC_ABSENT);
}

static void test_parse_req(void **st)
{
    (void)st;
    struct cc_req cc;
    cc_parse_req(request("Cache-Control: no-cache, max-age=0, only-if-cached, max-stale\r\n"), &cc);
    assert_true(cc.no_cache);
    assert_true(cc.only_if_cached);
    assert_int_equal(cc.max_age, 0);
    assert_true(cc.max_stale > 1000000);
    cc_parse_req(request("Pragma: no-cache\r\n"), &cc);
    assert_true(cc.no_cache);
    cc_parse_req(request("Pragma: no-cache\r\nCache-Control: max-age=5\r\n"), &cc);
    assert_false(cc.no_cache);                      /* Cache-Control wins over Pragma */
}

static enum cc_store storable(const char *fields, bool auth)
{
    struct http_msg *m = resp(fields);
    struct cc_resp cc; cc_parse_resp(m, &cc);
    struct cc_req rq; memset(&rq, 0, sizeof rq);
    rq.max_age = rq.max_stale = rq.min_fresh = CC_ABSENT;
    return cc_storable(HTTP_M_GET, &rq, auth, m, &cc);
}

static void test_storable(void **st)
{
    (void)st;
    assert_int_equal(storable("Cache-Control: max-age=60\r\n", false), CC_STORE_OK);
    assert_int_equal(storable("Cache-Control: no-store, max-age=60\r\n", false), CC_STORE_NO_STORE);
    assert_int_equal(storable("Cache-Control: private, max-age=60\r\n", false), CC_STORE_PRIVATE);
    assert_int_equal(storable("Cache-Control: max-age=60\r\n", true), CC_STORE_AUTH);
    assert_int_equal(storable("Cache-Control: public, max-age=60\r\n", true), CC_STORE_OK);
    assert_int_equal(storable("Cache-Control: s-maxage=60\r\n", true), CC_STORE_OK);
    assert_int_equal(storable("Cache-Control: must-revalidate, max-age=60\r\n", true), CC_STORE_OK);
    assert_int_equal(storable("Cache-Control: max-age=60\r\nSet-Cookie: a=b\r\n", false), CC_STORE_COOKIE);
    assert_int_equal(storable("Cache-Control: max-age=60\r\nVary: *\r\n", false), CC_STORE_VARY_STAR);
    assert_int_equal(storable("Content-Type: x\r\n", false), CC_STORE_NO_EXPIRY);
    assert_int_equal(storable("Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n", false), CC_STORE_OK);
    assert_int_equal(storable("Expires: 0\r\n", false), CC_STORE_OK);   /* stored, already stale */
    assert_int_equal(storable("Cache-Control: no-cache\r\n", false), CC_STORE_OK);
    struct http_msg *m = resp("Cache-Control: max-age=60\r\n");
    m->status = 500;
    struct cc_resp cc; cc_parse_resp(m, &cc);
    assert_int_equal(cc_storable(HTTP_M_GET, NULL, false, m, &cc), CC_STORE_STATUS);
    m->status = 206;
    assert_int_equal(cc_storable(HTTP_M_GET, NULL, false, m, &cc), CC_STORE_STATUS);
    m->status = 200;
    assert_int_equal(cc_storable(HTTP_M_POST, NULL, false, m, &cc), CC_STORE_METHOD);
}

static struct cc_fresh_in fin(void)
{
    struct cc_fresh_in in;
    memset(&in, 0, sizeof in);
    in.status = 200;
    in.request_time = 1000; in.response_time = 1002; in.date = 1002;
    in.heuristic_max = 86400;
    in.cc.max_age = in.cc.s_maxage = in.cc.swr = in.cc.sie = CC_ABSENT;
    return in;
}

static void test_lifetime(void **st)
{
    (void)st;
    struct cc_fresh_in in = fin();
    in.cc.max_age = 60;
    assert_int_equal(cc_lifetime(&in), 60);
    in.cc.s_maxage = 10;
    assert_int_equal(cc_lifetime(&in), 10);          /* s-maxage wins in a shared cache */
    in = fin();
    in.has_expires = true; in.expires = 1002 + 300;
    assert_int_equal(cc_lifetime(&in), 300);         /* Expires - Date */
    in.cc.max_age = 5;
    assert_int_equal(cc_lifetime(&in), 5);           /* max-age beats Expires */
    in = fin();
    in.has_expires = true; in.expires = 0;           /* invalid Expires: already expired */
    assert_int_equal(cc_lifetime(&in), 0);
    in = fin();
    in.has_last_modified = true; in.last_modified = 1002 - 1000;
    assert_int_equal(cc_lifetime(&in), 100);         /* 10% heuristic */
    in.last_modified = 1002 - 100000000;
    assert_int_equal(cc_lifetime(&in), 86400);       /* capped */
    in.status = 302;
    assert_int_equal(cc_lifetime(&in), 0);           /* not heuristically cacheable */
    in = fin();
    assert_int_equal(cc_lifetime(&in), 0);
}

static void test_age(void **st)
{
    (void)st;
    struct cc_fresh_in in = fin();
    assert_int_equal(cc_initial_age(&in), 2);        /* response delay */
    in.age_hdr = 30;
    assert_int_equal(cc_initial_age(&in), 32);       /* Age + delay */
    in = fin();
    in.date = 900;                                   /* apparent age 102 dominates */
    assert_int_equal(cc_initial_age(&in), 102);
    in.date = 5000;                                  /* clock skew: apparent age clamps to 0 */
    assert_int_equal(cc_initial_age(&in), 2);
}

static void test_etag(void **st)
{
    (void)st;
    assert_true(cc_etag_match_list("\"a\", \"b\"", 10, "\"b\"", 3, true));
    assert_true(cc_etag_match_list("W/\"a\"", 5, "\"a\"", 3, true));
    assert_false(cc_etag_match_list("W/\"a\"", 5, "\"a\"", 3, false));
    assert_true(cc_etag_match_list("*", 1, "\"x\"", 3, true));
    assert_false(cc_etag_match_list("\"ab\"", 4, "\"a\"", 3, true));
    assert_false(cc_etag_match_list("", 0, "\"a\"", 3, true));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_resp), cmocka_unit_test(test_parse_req), cmocka_unit_test(test_storable),
        cmocka_unit_test(test_lifetime), cmocka_unit_test(test_age), cmocka_unit_test(test_etag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
