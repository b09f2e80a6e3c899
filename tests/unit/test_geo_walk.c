/* tests/unit/test_geo_walk.c: geo.c walks the MaxMind DB search tree itself
 * (not MMDB_lookup_sockaddr). This compares its results with libmaxminddb's
 * for many addresses, on the fixture databases (28-bit records, IPv6 trees
 * holding IPv4 at ::/96) and on databases written here with 24- and 32-bit
 * records and an IPv4-only tree (perl MaxMind::DB::Writer, Debian's
 * libmaxmind-db-writer-perl, as geo/fixture/gen.pl uses). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include "geo/geo.h"

#define NPROBES 20000   /* addresses compared per database */

/* xorshift: deterministic probe addresses */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Probe addresses: near the fixture's networks (so hits, misses and every
 * depth are covered) and anywhere. */
static void probe_addr(unsigned i, struct net_addr *a)
{
    static const uint8_t v4[][2] = { { 192, 0 }, { 198, 51 }, { 203, 0 }, { 198, 18 }, { 198, 19 }, { 100, 64 },
                                     { 100, 80 }, { 100, 127 }, { 10, 1 } };
    uint64_t r = next_rand();
    memset(a, 0, sizeof *a);
    if (i % 2 == 0) {
        a->family = 4;
        unsigned k = (unsigned)(r % 10);
        if (k < 9) {
            a->bytes[0] = v4[k][0];
            a->bytes[1] = (uint8_t)(v4[k][1] + ((r >> 8) & 3) * ((k >= 5 && k <= 7) ? 4 : 0));
        } else {
            a->bytes[0] = (uint8_t)(r >> 8);
            a->bytes[1] = (uint8_t)(r >> 16);
        }
        a->bytes[2] = (uint8_t)(r >> 24);
        a->bytes[3] = (uint8_t)(r >> 32);
    } else {
        a->family = 6;
        for (unsigned b = 0; b < 16; b++)
            a->bytes[b] = (uint8_t)(next_rand() >> 40);
        if ((r & 7) != 0) {   /* mostly inside 2001:db8::/32 */
            a->bytes[0] = 0x20; a->bytes[1] = 0x01; a->bytes[2] = 0x0d; a->bytes[3] = 0xb8;
        }
    }
}

/* libmaxminddb's answer: found, prefix length in the address's own family,
 * and the continent code (or the ASN) of the record. */
struct ref { bool ok, found; unsigned len; char code[8]; uint32_t asn; };

static struct ref reference(MMDB_s *m, const struct net_addr *a)
{
    struct ref r = { 0 };
    struct sockaddr_storage ss;
    net_addr_to_sockaddr(a, 0, &ss);
    int err = 0;
    MMDB_lookup_result_s res = MMDB_lookup_sockaddr(m, (struct sockaddr *)&ss, &err);
    if (err != MMDB_SUCCESS)
        return r;   /* IPv6 in an IPv4 database: geo.c answers "unknown" */
    r.ok = true;
    r.found = res.found_entry;
    r.len = res.netmask;
    if (a->family == 4 && m->metadata.ip_version == 6)
        r.len = r.len >= 96 ? r.len - 96 : 0;
    if (res.found_entry) {
        MMDB_entry_data_s d;
        const char *const cont[] = { "continent", "code", NULL };
        const char *const asn[] = { "autonomous_system_number", NULL };
        if (MMDB_aget_value(&res.entry, &d, cont) == MMDB_SUCCESS && d.has_data &&
            d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size < sizeof r.code)
            memcpy(r.code, d.utf8_string, d.data_size);
        if (MMDB_aget_value(&res.entry, &d, asn) == MMDB_SUCCESS && d.has_data && d.type == MMDB_DATA_TYPE_UINT32)
            r.asn = d.uint32;
    }
    return r;
}

/* Compares geo_lookup_loc/asn on a one-database set with libmaxminddb. */
static void compare_db(const char *path, bool asn_db)
{
    char err[512];
    struct geo_set *g = geo_set_new();
    assert_non_null(g);
    assert_int_equal(geo_set_add_db(g, path, err, sizeof err), 0);
    MMDB_s m;
    assert_int_equal(MMDB_open(path, MMDB_MODE_MMAP, &m), MMDB_SUCCESS);
    unsigned found = 0, missing = 0;
    for (unsigned i = 0; i < NPROBES; i++) {
        struct net_addr a;
        probe_addr(i, &a);
        struct ref r = reference(&m, &a);
        unsigned len;
        bool f;
        if (asn_db) {
            struct geo_asn x;
            geo_lookup_asn(g, &a, &x);
            len = x.len;
            f = x.found;
            if (f && r.found)
                assert_int_equal(x.asn, r.asn);
        } else {
            struct geo_loc x;
            geo_lookup_loc(g, &a, &x);
            len = x.len;
            f = x.found;
            if (f && r.found)
                assert_string_equal(x.continent, r.code);
        }
        if (!r.ok) {   /* libmaxminddb refuses: geo.c says unknown, as specific as possible */
            assert_false(f);
            assert_int_equal(len, net_addr_maxlen(&a));
            continue;
        }
        if (len != r.len || f != r.found) {
            char t[64];
            net_addr_format(&a, t, sizeof t);
            fail_msg("%s: %s: geo.c found %d /%u, libmaxminddb found %d /%u", path, t, f, len, r.found, r.len);
        }
        found += f;
        missing += !f;
    }
    /* the probes must exercise both outcomes, or the comparison proves little */
    assert_true(found > NPROBES / 10);
    assert_true(missing > NPROBES / 10);
    MMDB_close(&m);
    geo_set_free(&g);
}

static void test_fixture_city(void **st)
{
    (void)st;
    compare_db("geo/fixture/steer-city.mmdb", false);
}

static void test_fixture_asn(void **st)
{
    (void)st;
    compare_db("geo/fixture/steer-asn.mmdb", true);
}

/* Writes DIR/rs<size>-v<version>.mmdb for the record sizes and IP versions
 * below with perl, from the fixture's own networks. */
static const char *gen_script =
    "use strict; use MaxMind::DB::Writer::Tree;\n"
    "my ($dir) = @ARGV;\n"
    "my %t = (continent => 'map', code => 'utf8_string');\n"
    "for my $c ([24, 6], [32, 6], [24, 4], [28, 4]) {\n"
    "  my ($rs, $v) = @$c;\n"
    "  my $t = MaxMind::DB::Writer::Tree->new(ip_version => $v, record_size => $rs,\n"
    "    database_type => 'walk-City', languages => ['en'], description => {en => 'walk'},\n"
    "    map_key_type_callback => sub { $t{$_[0]} }, remove_reserved_networks => 0,\n"
    "    alias_ipv6_to_ipv4 => 0);\n"
    "  my @n = (['192.0.2.0/25','EU'], ['192.0.2.128/25','EU'], ['198.51.100.0/24','NA'],\n"
    "           ['203.0.113.0/25','NA'], ['203.0.113.128/26','AS'], ['198.18.0.0/16','SA'],\n"
    "           ['100.64.0.0/12','EU'], ['100.80.0.0/12','NA'], ['100.127.3.0/24','AF']);\n"
    "  push @n, (['2001:db8:1000::/36','EU'], ['2001:db8:2000::/36','NA'], ['2001:db8:3000::/40','AS'])\n"
    "    if $v == 6;\n"
    "  $t->insert_network($_->[0], { continent => { code => $_->[1] } }) for @n;\n"
    "  open my $fh, '>:raw', \"$dir/rs$rs-v$v.mmdb\" or die; $t->write_tree($fh); close $fh;\n"
    "}\n";

static void test_record_sizes(void **st)
{
    (void)st;
    char dir[] = "/tmp/test_geo_walk.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char script[256], cmd[1024];
    snprintf(script, sizeof script, "%s/gen.pl", dir);
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fputs(gen_script, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "perl %s %s", script, dir);
    if (system(cmd) != 0)
        fail_msg("perl MaxMind::DB::Writer failed (install libmaxmind-db-writer-perl)");
    static const char *const dbs[] = { "rs24-v6", "rs32-v6", "rs24-v4", "rs28-v4" };
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s.mmdb", dir, dbs[i]);
        compare_db(path, false);
        unlink(path);
    }
    unlink(script);
    rmdir(dir);
}

/* 28-bit records keep each record's top 4 bits in the middle byte of the
 * node (left: high nibble, right: low nibble). They are non-zero only in big
 * databases (over 2^24 nodes or a data section over 16 MiB, as in real City
 * databases), which no writer makes quickly, so this test writes a MaxMind DB
 * by hand (MaxMind DB format spec 2.0): one node whose two records point to
 * data at offsets 2^24 + 5 (top nibble 1) and 2^25 + 7 (top nibble 2), in a
 * sparse file. 0.0.0.0/1 is EU, 128.0.0.0/1 is NA. */
static void put_key(uint8_t **p, const char *k)
{
    size_t n = strlen(k);
    *(*p)++ = (uint8_t)(0x40 | n);   /* utf8_string, size < 29 */
    memcpy(*p, k, n);
    *p += n;
}

static void test_record28_high_nibbles(void **st)
{
    (void)st;
    char path[] = "/tmp/test_geo_walk28.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const uint32_t nodes = 1, off_l = (1u << 24) + 5, off_r = (1u << 25) + 7;
    uint32_t l = nodes + 16 + off_l, r = nodes + 16 + off_r;
    uint8_t node[7] = { (uint8_t)(l >> 16), (uint8_t)(l >> 8), (uint8_t)l,
                        (uint8_t)(((l >> 24) & 0x0f) << 4 | ((r >> 24) & 0x0f)),
                        (uint8_t)(r >> 16), (uint8_t)(r >> 8), (uint8_t)r };
    assert_int_equal(pwrite(fd, node, sizeof node, 0), (ssize_t)sizeof node);
    const off_t data = sizeof node + 16;   /* 16 zero bytes separate tree and data */
    static const uint8_t eu[] = { 0xe1, 0x49, 'c', 'o', 'n', 't', 'i', 'n', 'e', 'n', 't', 0xe1, 0x44, 'c', 'o', 'd', 'e',
                                  0x42, 'E', 'U' };
    uint8_t na[sizeof eu];
    memcpy(na, eu, sizeof eu);
    na[sizeof na - 2] = 'N';
    na[sizeof na - 1] = 'A';
    assert_int_equal(pwrite(fd, eu, sizeof eu, data + off_l), (ssize_t)sizeof eu);
    assert_int_equal(pwrite(fd, na, sizeof na, data + off_r), (ssize_t)sizeof na);
    uint8_t meta[512], *p = meta;
    memcpy(p, "\xab\xcd\xefMaxMind.com", 14);
    p += 14;
    *p++ = 0xe9;   /* map of 9 */
    put_key(&p, "binary_format_major_version"); *p++ = 0xa1; *p++ = 2;      /* uint16 2 */
    put_key(&p, "binary_format_minor_version"); *p++ = 0xa0;                /* uint16 0 */
    put_key(&p, "build_epoch"); *p++ = 0x01; *p++ = 0x02; *p++ = 1;          /* uint64 (extended type 9) 1 */
    put_key(&p, "database_type"); put_key(&p, "craft-City");
    put_key(&p, "ip_version"); *p++ = 0xa1; *p++ = 4;
    put_key(&p, "node_count"); *p++ = 0xc1; *p++ = (uint8_t)nodes;          /* uint32 */
    put_key(&p, "record_size"); *p++ = 0xa1; *p++ = 28;
    put_key(&p, "languages"); *p++ = 0x00; *p++ = 0x04;                     /* empty array (extended type 11) */
    put_key(&p, "description"); *p++ = 0xe0;                                /* empty map */
    off_t end = data + off_r + (off_t)sizeof na;
    assert_int_equal(pwrite(fd, meta, (size_t)(p - meta), end), p - meta);
    close(fd);

    char err[512];
    struct geo_set *g = geo_set_new();
    assert_non_null(g);
    if (geo_set_add_db(g, path, err, sizeof err) < 0)
        fail_msg("%s", err);
    MMDB_s m;
    assert_int_equal(MMDB_open(path, MMDB_MODE_MMAP, &m), MMDB_SUCCESS);
    static const char *const probes[] = { "10.0.0.1", "127.255.255.255", "128.0.0.0", "203.0.113.9" };
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        struct net_addr a;
        assert_int_equal(net_addr_parse(probes[i], &a), 0);
        struct geo_loc x;
        geo_lookup_loc(g, &a, &x);
        struct ref rf = reference(&m, &a);
        assert_true(rf.ok && rf.found);
        assert_true(x.found);
        assert_int_equal(x.len, 1);
        assert_int_equal(rf.len, 1);
        assert_string_equal(x.continent, rf.code);
        assert_string_equal(x.continent, i < 2 ? "EU" : "NA");
    }
    MMDB_close(&m);
    geo_set_free(&g);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_city),
        cmocka_unit_test(test_fixture_asn),
        cmocka_unit_test(test_record_sizes),
        cmocka_unit_test(test_record28_high_nibbles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
