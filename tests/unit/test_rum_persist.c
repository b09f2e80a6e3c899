/* tests/unit/test_rum_persist.c: snapshots (round trip, provider remap by
 * name, truncation, corruption, versions, missing file) and CSV import. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cfg.h"
#include "geo/geo.h"
#include "rum/persist.h"

#define T0 1764046800000LL
#define HL 600000LL

static const char *const names1[] = { "cdn-a", "cdn-b", "pop-eu", NULL };
static const char *const names2[] = { "pop-eu", "cdn-b", "new", NULL };   /* reordered, cdn-a gone */

static int find(void *ctx, const char *n)
{
    const char *const *v = ctx;
    for (int i = 0; v[i]; i++)
        if (!strcmp(v[i], n))
            return i;
    return -1;
}

static const char *name_of(void *ctx, unsigned id)
{
    const char *const *v = ctx;
    for (unsigned i = 0; v[i]; i++)
        if (i == id)
            return v[i];
    return NULL;
}

static struct rum_lookup lk1 = { .provider = find, .provider_name = name_of, .ctx = (void *)names1 };
static struct rum_lookup lk2 = { .provider = find, .provider_name = name_of, .ctx = (void *)names2 };

static char dir[64], path[128];

static int setup(void **st)
{
    snprintf(dir, sizeof dir, "/tmp/test_rum_persist.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/rum.state", dir);
    return 0;
}

static int teardown(void **st)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const struct rum_geo de = { .asn = 64500, .country = "DE", .continent = "EU" };

static struct rum_agg *filled(void)
{
    struct rum_agg *a = rum_agg_new(256, HL);
    for (int i = 0; i < 300; i++) {
        struct rum_meas m = { .t_ms = T0 + i * 100, .value = 10 + i % 90, .provider = (uint16_t)(i % 3),
                              .kind = (uint8_t)(i % 7 == 0 ? RUM_FAILURE : i % 5 == 0 ? RUM_THROUGHPUT : RUM_LATENCY),
                              .name = -1 };
        if (m.kind == RUM_THROUGHPUT)
            m.value = 5000;
        struct rum_geo g = de;
        g.asn += (uint32_t)(i % 4);
        rum_agg_add(a, &g, &m);
    }
    return a;
}

static void cells_equal(const struct rum_cell *x, const struct rum_cell *y)
{
    assert_int_equal(x->key, y->key);
    assert_int_equal(x->t_ms, y->t_ms);
    assert_true(x->ok == y->ok && x->fail == y->fail && x->thr_w == y->thr_w && x->thr_log == y->thr_log);
    assert_memory_equal(x->hist, y->hist, sizeof x->hist);
}

static void test_round_trip(void **st)
{
    struct rum_agg *a = filled();
    char err[256];
    assert_int_equal(rum_snapshot_save(a, &lk1, path, T0 + 60000, err, sizeof err), RUM_P_OK);
    struct rum_agg *b = rum_agg_new(256, HL);
    struct rum_load_stats ls;
    assert_int_equal(rum_snapshot_load(b, &lk1, path, &ls, err, sizeof err), RUM_P_OK);
    assert_int_equal(ls.cells, rum_agg_count(a));
    assert_int_equal(ls.dropped, 0);
    assert_int_equal(ls.saved_ms, T0 + 60000);
    for (size_t i = 0; i < rum_agg_count(a); i++) {
        const struct rum_cell *c = rum_agg_cell(a, i);
        const struct rum_cell *d = rum_agg_find(b, c->key, c->prov);
        assert_non_null(d);
        cells_equal(c, d);
    }
    /* no temp file left behind */
    char tmp[200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
    /* provider ids remapped by name: cdn-b 1 -> 1, pop-eu 2 -> 0, cdn-a dropped */
    struct rum_agg *c2 = rum_agg_new(256, HL);
    assert_int_equal(rum_snapshot_load(c2, &lk2, path, &ls, err, sizeof err), RUM_P_OK);
    assert_true(ls.dropped > 0);
    assert_int_equal(ls.cells + ls.dropped, rum_agg_count(a));
    uint64_t gk = rum_bucket_key(RUM_LVL_GLOBAL, &de);
    cells_equal(rum_agg_find(a, gk, 2), rum_agg_find(c2, gk, 0));
    cells_equal(rum_agg_find(a, gk, 1), rum_agg_find(c2, gk, 1));
    assert_null(rum_agg_find(c2, gk, 2));
    rum_agg_free(&a);
    rum_agg_free(&b);
    rum_agg_free(&c2);
}

static size_t file_size(const char *p)
{
    struct stat s;
    return stat(p, &s) == 0 ? (size_t)s.st_size : 0;
}

static void rewrite(const char *p, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

static void test_corrupt(void **st)
{
    struct rum_agg *a = filled();
    char err[256];
    assert_int_equal(rum_snapshot_save(a, &lk1, path, T0, err, sizeof err), RUM_P_OK);
    size_t len = file_size(path);
    uint8_t *orig = malloc(len);
    FILE *f = fopen(path, "rb");
    assert_int_equal(fread(orig, 1, len, f), len);
    fclose(f);
    uint8_t *buf = malloc(len);
    struct rum_agg *b = rum_agg_new(256, HL);
    /* every truncation length is refused, and the aggregate stays empty */
    for (size_t cut = 0; cut < len; cut += (cut < 64 ? 1 : 97)) {
        rewrite(path, orig, cut);
        int rc = rum_snapshot_load(b, &lk1, path, NULL, err, sizeof err);
        assert_true(rc == RUM_P_CORRUPT || rc == RUM_P_VERSION);
        assert_int_equal(rum_agg_count(b), 0);
    }
    /* every single flipped byte is refused (CRC, or the header checks) */
    for (size_t i = 0; i < len; i += (i < 64 ? 1 : 13)) {
        memcpy(buf, orig, len);
        buf[i] ^= 0x20;
        rewrite(path, buf, len);
        int rc = rum_snapshot_load(b, &lk1, path, NULL, err, sizeof err);
        assert_true(rc == RUM_P_CORRUPT || rc == RUM_P_VERSION);
        assert_int_equal(rum_agg_count(b), 0);
    }
    /* garbage */
    rewrite(path, (const uint8_t *)"hello world, not a snapshot at all.......", 41);
    assert_int_equal(rum_snapshot_load(b, &lk1, path, NULL, err, sizeof err), RUM_P_CORRUPT);
    assert_non_null(strstr(err, path));
    /* another version (with a valid checksum) */
    memcpy(buf, orig, len);
    buf[8] = 9;
    uint32_t crc = rum_crc32c(0, buf, len - 4);
    for (int i = 0; i < 4; i++)
        buf[len - 4 + i] = (uint8_t)(crc >> (8 * i));
    rewrite(path, buf, len);
    assert_int_equal(rum_snapshot_load(b, &lk1, path, NULL, err, sizeof err), RUM_P_VERSION);
    /* missing file: start empty, not an error */
    unlink(path);
    assert_int_equal(rum_snapshot_load(b, &lk1, path, NULL, err, sizeof err), RUM_P_NOFILE);
    /* unwritable target */
    assert_int_equal(rum_snapshot_save(a, &lk1, "/nonexistent-dir/x/rum.state", T0, err, sizeof err), RUM_P_IO);
    free(orig);
    free(buf);
    rum_agg_free(&a);
    rum_agg_free(&b);
}

static void test_crc(void **st)
{
    /* CRC-32C check value (RFC 3720 / iSCSI): "123456789" -> 0xe3069283 */
    assert_int_equal(rum_crc32c(0, "123456789", 9), 0xe3069283u);
}

static struct geo_set *fixture_geo(void)
{
    struct geo_set *g = geo_set_new();
    char e[256];
    assert_int_equal(geo_set_add_db(g, "geo/fixture/steer-city.mmdb", e, sizeof e), 0);
    assert_int_equal(geo_set_add_db(g, "geo/fixture/steer-asn.mmdb", e, sizeof e), 0);
    return g;
}

static void write_text(const char *p, const char *s)
{
    rewrite(p, (const uint8_t *)s, strlen(s));
}

static void test_csv(void **st)
{
    struct geo_set *g = fixture_geo();
    char csv[160], err[512];
    snprintf(csv, sizeof csv, "%s/in.csv", dir);
    write_text(csv, "timestamp_ms,client_ip,provider,kind,value\n"
                    "# offline run of 2026-11-24\n"
                    "1764046790000,192.0.2.10,cdn-a,latency,25\n"
                    "1764046790000, 192.0.2.11 ,cdn-b,latency,70.5\n"
                    "\n"
                    "1764046790000,192.0.2.12,cdn-b,failure,0\n"
                    "1764046790000,198.51.100.7,pop-eu,throughput,12000\r\n"
                    "1764046790000,2001:db8:1000::1,cdn-a,l,30\n");
    struct rum_agg *a = rum_agg_new(256, HL);
    struct rum_import_stats is;
    assert_int_equal(rum_import_csv(a, g, &lk1, csv, T0, &is, err, sizeof err), RUM_P_OK);
    assert_int_equal(is.imported, 5);
    /* 192.0.2.10 is AS64500, DE (fixture) */
    struct rum_geo de_fix = { .asn = 64500, .country = "DE", .continent = "EU" };
    const struct rum_cell *c = rum_agg_find(a, rum_bucket_key(RUM_LVL_ASN, &de_fix), 0);
    assert_non_null(c);
    assert_true(c->ok > 0.99);   /* slightly decayed: 10 s old */
    const struct rum_cell *b = rum_agg_find(a, rum_bucket_key(RUM_LVL_COUNTRY, &de_fix), 1);
    assert_non_null(b);
    assert_true(b->fail > 0.99 && b->ok > 0.99);
    struct rum_geo us = { .asn = 64501, .country = "US", .continent = "NA" };
    assert_non_null(rum_agg_find(a, rum_bucket_key(RUM_LVL_ASN, &us), 2));

    /* errors name file:line and import nothing */
    static const struct { const char *text; const char *msg; } bad[] = {
        { "1764046790000,192.0.2.10,cdn-a,latency,25\n1,192.0.2.10,cdn-zz,latency,25\n", ":2: unknown provider" },
        { "1764046790000,192.0.2.10,cdn-a,latency\n", ":1: expected 5 fields" },
        { "1764046790000,192.0.2.10,cdn-a,latency,25,9\n", ":1: expected 5 fields" },
        { "x,192.0.2.10,cdn-a,latency,25\n", ":1: bad timestamp" },
        { "1,300.0.2.10,cdn-a,latency,25\n", ":1: bad client address" },
        { "1,192.0.2.10,cdn-a,speed,25\n", ":1: kind must be" },
        { "1,192.0.2.10,cdn-a,latency,abc\n", ":1: bad value" },
        { "#c\n\n1,192.0.2.10,cdn-a,latency,99999\n", ":3: value out of range" },
        { "1,192.0.2.10,cdn-a,throughput,0\n", ":1: value out of range" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct rum_agg *x = rum_agg_new(64, HL);
        write_text(csv, bad[i].text);
        assert_int_equal(rum_import_csv(x, g, &lk1, csv, T0, &is, err, sizeof err), RUM_P_INVALID);
        if (!strstr(err, bad[i].msg) || strncmp(err, csv, strlen(csv)))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].msg);
        assert_int_equal(rum_agg_count(x), 0);
        rum_agg_free(&x);
    }
    assert_int_equal(rum_import_csv(a, g, &lk1, "/nonexistent.csv", T0, &is, err, sizeof err), RUM_P_IO);
    rum_agg_free(&a);
    geo_set_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_crc),
        cmocka_unit_test(test_csv),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
