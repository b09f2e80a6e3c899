/* tests/unit/test_geo_lookup.c: geo lookups against the synthetic fixture
 * databases (geo/fixture), overrides, prefix lengths and config errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cfg.h"
#include "geo/geo.h"

static struct geo_set *load(const char *yaml, char *err, size_t errsize)
{
    struct cfg_ctx ctx;
    struct geo_set *g = NULL;
    /* name in the repo root so relative database paths resolve there */
    if (cfg_load_string(&ctx, "./test.yaml", yaml, strlen(yaml)) < 0 ||
        geo_set_compile(&ctx, cfg_get(cfg_root(&ctx), "geo"), &g) < 0) {
        if (err)
            snprintf(err, errsize, "%s", ctx.err);
        cfg_free(&ctx);
        return NULL;
    }
    cfg_free(&ctx);
    return g;
}

static const char *fixture =
    "geo:\n"
    "  databases: [geo/fixture/steer-city.mmdb, geo/fixture/steer-asn.mmdb]\n";

static struct net_addr A(const char *s)
{
    struct net_addr a;
    assert_int_equal(net_addr_parse(s, &a), 0);
    return a;
}

static void test_fixture_loc(void **st)
{
    char err[512] = "";
    struct geo_set *g = load(fixture, err, sizeof err);
    assert_non_null(g);
    assert_int_equal(geo_set_db_count(g), 2);
    struct geo_loc l;
    struct net_addr a = A("192.0.2.77");
    geo_lookup_loc(g, &a, &l);
    assert_true(l.found);
    assert_string_equal(l.continent, "EU");
    assert_string_equal(l.country, "DE");
    assert_string_equal(l.subdivision, "BE");
    assert_true(l.has_coords);
    assert_true(fabs(l.lat - 52.52) < 1e-6);
    assert_int_equal(l.len, 25);
    a = A("192.0.2.200");
    geo_lookup_loc(g, &a, &l);
    assert_string_equal(l.country, "FR");
    assert_int_equal(l.len, 25);
    a = A("198.18.7.1");
    geo_lookup_loc(g, &a, &l);
    assert_string_equal(l.continent, "SA");
    assert_int_equal(l.len, 16);
    a = A("2001:db8:3abc::1");
    geo_lookup_loc(g, &a, &l);
    assert_string_equal(l.continent, "AS");
    assert_string_equal(l.country, "JP");
    assert_int_equal(l.len, 36);
    /* not in the database: not found, but the empty network has a length */
    a = A("10.1.2.3");
    geo_lookup_loc(g, &a, &l);
    assert_false(l.found);
    assert_true(l.len > 0 && l.len <= 8);
    geo_set_free(&g);
    assert_null(g);
}

static void test_fixture_asn(void **st)
{
    struct geo_set *g = load(fixture, NULL, 0);
    assert_non_null(g);
    struct geo_asn s;
    struct net_addr a = A("192.0.2.77");
    geo_lookup_asn(g, &a, &s);
    assert_true(s.found);
    assert_int_equal(s.asn, 64500);
    assert_int_equal(s.len, 24);
    a = A("2001:db8:2000::5");
    geo_lookup_asn(g, &a, &s);
    assert_int_equal(s.asn, 64501);
    assert_int_equal(s.len, 36);
    a = A("100.90.1.1");
    geo_lookup_asn(g, &a, &s);
    assert_int_equal(s.asn, 64510);
    assert_int_equal(s.len, 11);
    geo_set_free(&g);
}

static void test_overrides(void **st)
{
    char err[512] = "";
    struct geo_set *g = load(
        "geo:\n"
        "  databases: [geo/fixture/steer-city.mmdb, geo/fixture/steer-asn.mmdb]\n"
        "  overrides:\n"
        "    - {prefix: 192.0.2.64/26, continent: NA, country: us, subdivision: US-TX, lat: 30.27, lon: -97.74}\n"
        "    - {prefix: 192.0.2.96/28, asn: 65001}\n"
        "    - {prefix: 10.0.0.0/8, continent: OC}\n"
        "    - {prefix: 10.9.0.0/16, continent: AF}\n"
        "    - {prefix: '2001:db8:1000::/48', country: JP, continent: AS}\n", err, sizeof err);
    assert_non_null(g);
    struct geo_loc l;
    struct geo_asn s;
    /* override beats the database */
    struct net_addr a = A("192.0.2.70");
    geo_lookup_loc(g, &a, &l);
    assert_int_equal(l.src, GEO_SRC_OVERRIDE);
    assert_string_equal(l.continent, "NA");
    assert_string_equal(l.country, "US");
    assert_string_equal(l.subdivision, "TX");
    assert_int_equal(l.len, 26);
    /* ASN still from the DB there (override sets only location) */
    geo_lookup_asn(g, &a, &s);
    assert_int_equal(s.asn, 64500);
    /* but the /24 ASN network is split by the /28 override: the result is
     * valid only for the /25 (then /26, /27...) that excludes it */
    assert_int_equal(s.len, 27);
    a = A("192.0.2.100");
    geo_lookup_asn(g, &a, &s);
    assert_int_equal(s.asn, 65001);
    assert_int_equal(s.len, 28);
    /* outside the override but inside the DB /25: scope must exclude /26 */
    a = A("192.0.2.10");
    geo_lookup_loc(g, &a, &l);
    assert_string_equal(l.country, "DE");
    assert_int_equal(l.len, 26);
    /* nested overrides: most specific wins; outer one excludes inner */
    a = A("10.9.1.1");
    geo_lookup_loc(g, &a, &l);
    assert_string_equal(l.continent, "AF");
    assert_int_equal(l.len, 16);
    a = A("10.200.1.1");
    geo_lookup_loc(g, &a, &l);
    assert_string_equal(l.continent, "OC");
    assert_int_equal(l.len, 9);
    a = A("2001:db8:1000:0:1::1");
    geo_lookup_loc(g, &a, &l);
    assert_string_equal(l.country, "JP");
    assert_int_equal(l.len, 48);
    a = A("2001:db8:1001::1");
    geo_lookup_loc(g, &a, &l);
    assert_string_equal(l.country, "DE");
    assert_int_equal(l.len, 48);
    geo_set_free(&g);
}

static void expect_error(const char *yaml, const char *want)
{
    char err[512] = "";
    struct geo_set *g = load(yaml, err, sizeof err);
    if (g || !strstr(err, want)) {
        print_error("yaml:\n%s\ngot error '%s', wanted '%s'\n", yaml, err, want);
        geo_set_free(&g);
        fail();
    }
}

static void test_config_errors(void **st)
{
    expect_error("geo:\n  databases: [nonexistent.mmdb]\n", "./test.yaml:2: cannot open geo database");
    expect_error("geo:\n  overrides:\n    - {prefix: 10.0.0.1/8, continent: EU}\n", "./test.yaml:3: invalid CIDR");
    expect_error("geo:\n  overrides:\n    - {prefix: 10.0.0.0/33, continent: EU}\n", "invalid CIDR");
    expect_error("geo:\n  overrides:\n    - {prefix: 10.0.0.0/8, continent: XX}\n", "./test.yaml:3: unknown continent");
    expect_error("geo:\n  overrides:\n    - {prefix: 10.0.0.0/8, country: DEU}\n", "ISO 3166-1");
    expect_error("geo:\n  overrides:\n    - {prefix: 10.0.0.0/8}\n", "sets nothing");
    expect_error("geo:\n  overrides:\n    - {prefix: 10.0.0.0/8, lat: 10}\n", "together");
    expect_error("geo:\n  overrides:\n    - {prefix: 10.0.0.0/8, lat: 100, lon: 0}\n", "'lat' must be a number");
    expect_error("geo:\n  overrides:\n    - {prefix: 10.0.0.0/8, asn: -1}\n", "'asn' must be an integer");
    expect_error("geo:\n  overrides:\n    - {prefix: 10.0.0.0/8, asn: 1}\n    - {prefix: 10.0.0.0/8, asn: 2}\n",
                 "./test.yaml:4: duplicate geo override");
    expect_error("geo:\n  overrides:\n    - {prefix: 10.0.0.0/8, contnent: EU}\n", "unknown key 'contnent'");
    expect_error("geo:\n  database: []\n", "unknown key 'database'");
    expect_error("geo: [1]\n", "must be a mapping");
}

static void test_distance(void **st)
{
    /* Berlin - Paris is about 878 km; antipodes about 20015 km */
    double d = geo_distance_km(52.52, 13.405, 48.857, 2.352);
    assert_true(d > 870 && d < 885);
    d = geo_distance_km(0, 0, 0, 180);
    assert_true(d > 20000 && d < 20030);
    assert_true(geo_distance_km(10, 10, 10, 10) < 1e-9);
}

static void test_exclusion_len(void **st)
{
    struct net_prefix p;
    assert_int_equal(net_prefix_parse("10.0.0.0/8", false, &p), 0);
    struct net_addr a = A("11.0.0.0");   /* differs at bit 7 */
    assert_int_equal(geo_exclusion_len(&p, &a), 8);
    a = A("138.0.0.0");                  /* differs at bit 0 */
    assert_int_equal(geo_exclusion_len(&p, &a), 1);
}

/* Malformed databases: garbage, truncated, and corrupted data sections must
 * fail to open or answer "not found", never crash or read out of bounds. */
static void test_malformed_db(void **st)
{
    char dir[] = "/tmp/steer-geo.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], err[256];
    FILE *in = fopen("geo/fixture/steer-city.mmdb", "rb");
    assert_non_null(in);
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    assert_true(n > 1000);
    struct geo_set *g = geo_set_new();
    assert_non_null(g);
    /* garbage */
    snprintf(path, sizeof path, "%s/garbage.mmdb", dir);
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < 4096; i++)
        fputc((i * 7919) & 0xff, f);
    fclose(f);
    assert_int_equal(geo_set_add_db(g, path, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot open geo database"));
    /* truncated: the metadata marker is at the end, so this cannot open */
    snprintf(path, sizeof path, "%s/trunc.mmdb", dir);
    f = fopen(path, "wb");
    fwrite(buf, 1, n / 2, f);
    fclose(f);
    assert_int_equal(geo_set_add_db(g, path, err, sizeof err), -1);
    unlink(path);
    /* corrupted search tree and data section, intact metadata: opens, and
     * every lookup of many addresses returns something or nothing, safely */
    for (size_t i = 64; i < n - 600; i += 37)
        buf[i] ^= 0x5a;
    snprintf(path, sizeof path, "%s/corrupt.mmdb", dir);
    f = fopen(path, "wb");
    fwrite(buf, 1, n, f);
    fclose(f);
    if (geo_set_add_db(g, path, err, sizeof err) == 0) {
        for (uint32_t i = 0; i < 20000; i++) {
            struct net_addr a = { .family = (uint8_t)(i & 1 ? 6 : 4) };
            uint32_t x = i * 2654435761u;
            memcpy(a.bytes, &x, 4);
            memcpy(a.bytes + 4, &x, 4);
            struct geo_loc l;
            geo_lookup_loc(g, &a, &l);
            assert_true(l.len <= net_addr_maxlen(&a));
            struct geo_asn s;
            geo_lookup_asn(g, &a, &s);
        }
    }
    unlink(path);
    snprintf(path, sizeof path, "%s/garbage.mmdb", dir);
    unlink(path);
    rmdir(dir);
    geo_set_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_loc),
        cmocka_unit_test(test_fixture_asn),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_exclusion_len),
        cmocka_unit_test(test_malformed_db),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
