/* Unit tests for proxy_key_prefix (edge/proxy.h): an operator's purge
 * prefix in the form of the cache keys, whatever port, case or trailing dot
 * it was written with; malformed and oversized prefixes. Every normalised
 * prefix is checked against a real key from proxy_cache_key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "edge/config.h"
#include "edge/proxy.h"

static const char *norm(const char *in)
{
    static char out[512];
    size_t n = proxy_key_prefix(in, strlen(in), out, sizeof out);
    assert_int_equal(n, strlen(out));
    return n ? out : "(no fit)";
}

static void test_urls(void **st)
{
    (void)st;
    /* the port goes, the host is complete: exact host match */
    assert_string_equal(norm("http://127.0.0.1:8081/gen/"), "http://127.0.0.1/gen/");
    assert_string_equal(norm("http://host:8081"), "http://host/");
    assert_string_equal(norm("http://host:"), "http://host/");
    assert_string_equal(norm("https://Host.Example.:443/A/B?Q=1"), "https://host.example/A/B?Q=1");
    assert_string_equal(norm("HTTP://WWW.EXAMPLE.TEST/Path"), "http://www.example.test/Path");
    assert_string_equal(norm("hTtPs://h/"), "https://h/");
    /* query right after the host: keys have a path, "/" is added */
    assert_string_equal(norm("http://h?x=1"), "http://h/?x=1");
    assert_string_equal(norm("http://h:80?x=1"), "http://h/?x=1");
    /* IPv6 literals keep their brackets, lose the port */
    assert_string_equal(norm("http://[::1]:8081/p"), "http://[::1]/p");
    assert_string_equal(norm("http://[2001:DB8::1]"), "http://[2001:db8::1]");
    assert_string_equal(norm("http://[2001:db8::1]:80"), "http://[2001:db8::1]/");
    assert_string_equal(norm("http://[::1"), "http://[::1");
    /* ends inside the host: stays a prefix of host names, dot kept */
    assert_string_equal(norm("http://Ex"), "http://ex");
    assert_string_equal(norm("http://ex."), "http://ex.");
    assert_string_equal(norm("http://"), "http://");
    /* already normal: unchanged (idempotent) */
    assert_string_equal(norm("http://h/p/"), "http://h/p/");
    assert_string_equal(norm(norm("http://H.:1/x")), "http://h/x");
    /* not a URL: verbatim */
    assert_string_equal(norm("ftp://H:21/x"), "ftp://H:21/x");
    assert_string_equal(norm("http:/h:1/"), "http:/h:1/");
    assert_string_equal(norm(""), "(no fit)");   /* 0: never "everything" by accident */
    assert_string_equal(norm("/path"), "/path");
}

static void test_limits(void **st)
{
    (void)st;
    char out[16];
    /* "http://h:1" -> "http://h/": fits in 10 + NUL, but the check is on
     * the input length plus the added '/' and NUL */
    assert_int_equal(proxy_key_prefix("http://h:1", 10, out, 12), 9);
    assert_string_equal(out, "http://h/");
    assert_int_equal(proxy_key_prefix("http://h:1", 10, out, 11), 0);
    assert_int_equal(proxy_key_prefix("abc", 3, out, 4), 3);
    assert_int_equal(proxy_key_prefix("abc", 3, out, 3), 0);
    /* only len bytes are read: no NUL needed, none past len */
    char raw[9] = { 'h', 't', 't', 'p', ':', '/', '/', 'A', 'B' };
    assert_int_equal(proxy_key_prefix(raw, 8, out, sizeof out), 8);
    assert_string_equal(out, "http://a");
    /* NUL and control bytes inside are copied, not interpreted */
    assert_int_equal(proxy_key_prefix("http://a\0b:1/", 13, out, sizeof out), 11);
    assert_memory_equal(out, "http://a\0b/", 12);
}

/* The normalised prefix of a request's URL is a prefix of its cache key. */
static void test_matches_keys(void **st)
{
    (void)st;
    static struct edge_site site;
    memset(&site, 0, sizeof site);
    site.qmode = EDGE_Q_NONE;
    static const struct { const char *host, *prefix; } c[] = {
        { "Example.TEST:8081", "http://example.test:8081/img/" },
        { "example.test.", "HTTP://EXAMPLE.TEST.:80/img/" },
        { "[::1]:8081", "http://[::1]:8081/img" },
        { "h", "http://h:9/" },
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        char key[256], pfx[256];
        size_t kl = proxy_cache_key(&site, false, c[i].host, strlen(c[i].host), "/img/a.png", 10, NULL, 0, key, sizeof key);
        size_t pl = proxy_key_prefix(c[i].prefix, strlen(c[i].prefix), pfx, sizeof pfx);
        assert_true(kl > 0 && pl > 0);
        assert_true(pl <= kl);
        assert_memory_equal(key, pfx, pl);
    }
    /* a complete host never matches a longer host name */
    char key[256], pfx[256];
    size_t kl = proxy_cache_key(&site, false, "hostname", 8, "/x", 2, NULL, 0, key, sizeof key);
    size_t pl = proxy_key_prefix("http://host:80", 14, pfx, sizeof pfx);
    assert_true(pl > 0 && kl > 0);
    assert_true(kl < pl || memcmp(key, pfx, pl) != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_matches_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
