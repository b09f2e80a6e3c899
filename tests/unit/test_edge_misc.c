/* Unit tests for edge config parsing (file:line errors), cache keys,
 * signed URLs and the memory store (variants, LRU eviction, chunks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "edge/config.h"
#include "edge/proxy.h"
#include "edge/signurl.h"
#include "edge/store.h"

static struct edge_config cfg;

static void test_config_ok(void **st)
{
    (void)st;
    char err[1024];
    const char *y = "tier: pop1\nlisten: { http: [\"127.0.0.1:8081\", \"[::1]:8081\"] }\n"
                    "cache: { memory: 64M, max_object: 1M }\n"
                    "timeouts: { upstream_connect: 250ms }\n"
                    "sites:\n  - name: a\n    hosts: [\"Example.COM\", \"*\"]\n    origin: \"127.0.0.1:8000\"\n"
                    "    shields: [\"127.0.0.1:8090\"]\n    query: { allow: [id, v] }\n";
    assert_int_equal(edge_config_load_string("t.yaml", y, &cfg, err, sizeof err), 0);
    assert_string_equal(cfg.tier, "pop1");
    assert_int_equal(cfg.nhttp, 2);
    assert_int_equal(cfg.mem_bytes, 64ULL << 20);
    assert_int_equal(cfg.t_connect, 250);
    assert_int_equal(cfg.sites[0].nshields, 1);
    assert_string_equal(cfg.sites[0].hosts[0], "example.com");
    assert_int_equal(cfg.sites[0].qmode, EDGE_Q_ALLOW);
    assert_ptr_equal(edge_config_site(&cfg, "EXAMPLE.com:8081", 16), &cfg.sites[0]);
    assert_ptr_equal(edge_config_site(&cfg, "other", 5), &cfg.sites[0]);   /* "*" */
}

static void expect_err(const char *y, const char *want)
{
    char err[1024];
    assert_int_equal(edge_config_load_string("t.yaml", y, &cfg, err, sizeof err), -1);
    if (!strstr(err, want)) fail_msg("error '%s' lacks '%s'", err, want);
}

static void test_config_errors(void **st)
{
    (void)st;
    expect_err("listen: { http: [\"127.0.0.1:1\"] }\nsites: []\nbogus: 1\n", "t.yaml:3: unknown key 'bogus'");
    expect_err("listen: { http: [\"nope\"] }\nsites: []\n", "t.yaml:1: invalid address");
    expect_err("listen: {}\nsites: []\n", "no http or https");
    expect_err("listen: { http: [\"127.0.0.1:1\"] }\nsites:\n  - name: a\n    hosts: [\"x\"]\n", "missing required key 'origin'");
    expect_err("listen: { http: [\"127.0.0.1:1\"] }\ncache: { memory: 2M, max_object: 2M }\nsites:\n  - { name: a, hosts: [x], origin: \"127.0.0.1:1\" }\n",
               "t.yaml:2: cache.max_object");
    expect_err("listen: { http: [\"127.0.0.1:1\"] }\ntimeouts: { send: 5 years }\nsites: []\n", "t.yaml:2");
    expect_err("listen: { http: [\"127.0.0.1:1\"] }\nsites:\n  - { name: a, hosts: [x], origin: \"127.0.0.1:1\" }\n  - { name: a, hosts: [y], origin: \"127.0.0.1:1\" }\n",
               "duplicate site name");
    expect_err("listen: { https: [\"127.0.0.1:1\"] }\nsites:\n  - { name: a, hosts: [x], origin: \"127.0.0.1:1\" }\n", "needs at least one site with tls");
    expect_err("listen: { http: [\"127.0.0.1:1\"] }\nsites:\n  - { name: a, hosts: [x], origin: \"127.0.0.1:1\", query: { allow: [a], deny: [b] } }\n",
               "only one of allow, deny");
}

static void test_cache_key(void **st)
{
    (void)st;
    struct edge_site s;
    memset(&s, 0, sizeof s);
    char k[512];
    size_t n = proxy_cache_key(&s, false, "Ex.COM:8080", 11, "/p", 2, "b=1&a=2", 7, k, sizeof k);
    assert_int_equal(n, strlen(k));
    assert_string_equal(k, "http://ex.com/p?b=1&a=2");
    proxy_cache_key(&s, true, "ex.com.", 7, "/p", 2, NULL, 0, k, sizeof k);
    assert_string_equal(k, "https://ex.com/p");
    s.qmode = EDGE_Q_DENY; s.nqparams = 1; strcpy(s.qparams[0], "utm");
    proxy_cache_key(&s, false, "h", 1, "/p", 2, "utm=1&x=2&utm=3", 15, k, sizeof k);
    assert_string_equal(k, "http://h/p?x=2");
    proxy_cache_key(&s, false, "h", 1, "/p", 2, "utm=1", 5, k, sizeof k);
    assert_string_equal(k, "http://h/p");
    s.qmode = EDGE_Q_ALLOW;
    proxy_cache_key(&s, false, "h", 1, "/p", 2, "utm=1&x=2&utmx=3", 16, k, sizeof k);
    assert_string_equal(k, "http://h/p?utm=1");
    s.qmode = EDGE_Q_NONE;
    proxy_cache_key(&s, false, "h", 1, "/p", 2, "a=1", 3, k, sizeof k);
    assert_string_equal(k, "http://h/p");
    s.qmode = EDGE_Q_ALL; s.sign_secret_len = 20;
    proxy_cache_key(&s, false, "h", 1, "/p", 2, "expires=1&a=1&sig=ff", 20, k, sizeof k);
    assert_string_equal(k, "http://h/p?a=1");
    assert_int_equal(proxy_cache_key(&s, false, "h", 1, "/p", 2, NULL, 0, k, 5), 0);
}

static void test_signurl(void **st)
{
    (void)st;
    const char *sec = "0123456789abcdef0123";
    char q[256];
    size_t n = signurl_make(sec, 20, "/a/b", 4, 2000, q, sizeof q);
    assert_true(n > 0);
    assert_int_equal(signurl_check(sec, 20, "/a/b", 4, q, n, 1000), SIGN_OK);
    assert_int_equal(signurl_check(sec, 20, "/a/b", 4, q, n, 2001), SIGN_EXPIRED);
    assert_int_equal(signurl_check(sec, 20, "/a/c", 4, q, n, 1000), SIGN_BAD);
    assert_int_equal(signurl_check("another-secret-xxxxx", 20, "/a/b", 4, q, n, 1000), SIGN_BAD);
    assert_int_equal(signurl_check(sec, 20, "/a/b", 4, "x=1", 3, 1000), SIGN_MISSING);
    assert_int_equal(signurl_check(sec, 20, "/a/b", 4, "expires=1&sig=ab", 16, 1000), SIGN_MALFORMED);
    assert_int_equal(signurl_check(sec, 20, "/a/b", 4, NULL, 0, 1000), SIGN_MISSING);
    /* expiry tampering breaks the signature */
    char t[256]; snprintf(t, sizeof t, "%s", q);
    t[8] = '9';
    assert_int_equal(signurl_check(sec, 20, "/a/b", 4, t, strlen(t), 1000), SIGN_BAD);
}

static struct obj *mkobj(const char *vary, size_t body)
{
    struct obj *o = obj_new();
    o->head = strdup("HTTP/1.1 200 OK\r\n");
    o->head_len = (uint32_t)strlen(o->head);
    o->fields_off = o->head_len;
    if (vary) { o->vary_len = (uint32_t)strlen(vary) + 1; o->vary = malloc(o->vary_len); memcpy(o->vary, vary, o->vary_len); }
    o->retain = true;
    o->clen = (int64_t)body;
    char *b = calloc(1, body + 1);
    assert_int_equal(obj_append(o, b, body), 0);
    free(b);
    o->state = OBJ_DONE;
    o->mem = body + 100;
    return o;
}

static void test_store(void **st)
{
    (void)st;
    struct store *s = store_new(10000);
    struct centry *ce = store_entry(s, "k1", 2, true);
    assert_non_null(ce);
    assert_ptr_equal(store_entry(s, "k1", 2, false), ce);
    assert_null(store_entry(s, "k2", 2, false));
    struct obj *a = mkobj("x", 1000), *b = mkobj("y", 1000), *a2 = mkobj("x", 1000);
    store_insert(s, ce, a);
    store_insert(s, ce, b);
    store_insert(s, ce, a2);                  /* replaces a (same Vary values) */
    assert_false(a->indexed);
    assert_true(b->indexed && a2->indexed);
    struct store_stats ss; store_get_stats(s, &ss);
    assert_int_equal(ss.objects, 2);
    /* LRU eviction: fill beyond 10000 bytes; b (touched) survives longer */
    store_touch(s, b);
    for (int i = 0; i < 8; i++) {
        char k[8]; snprintf(k, sizeof k, "e%d", i);
        struct obj *o = mkobj(NULL, 1000);
        store_insert(s, store_entry(s, k, strlen(k), true), o);
        store_grow(s, o, 0);
        obj_unref(&o);
    }
    store_get_stats(s, &ss);
    assert_true(ss.bytes <= 10000);
    assert_true(ss.evictions >= 1);
    assert_false(a2->indexed);               /* oldest went first */
    obj_unref(&a); obj_unref(&b); obj_unref(&a2);
    /* chunking: a 200000-byte unknown-length body spans 64 KiB chunks */
    struct obj *big = obj_new();
    char *buf = calloc(1, 200000);
    assert_int_equal(obj_append(big, buf, 200000), 0);
    free(buf);
    int nch = 0;
    for (struct chunk *c = big->first; c; c = c->next) nch++;
    assert_int_equal(nch, 4);
    assert_int_equal(big->body_len, 200000);
    big->retain = false;
    obj_trim(big);                           /* drops all but the last chunk */
    assert_ptr_equal(big->first, big->last);
    assert_int_equal(big->first_off, 3 * 65536);
    obj_unref(&big);
    store_free(&s);
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_ok), cmocka_unit_test(test_config_errors), cmocka_unit_test(test_cache_key),
        cmocka_unit_test(test_signurl), cmocka_unit_test(test_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
