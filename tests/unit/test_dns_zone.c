/* Unit tests: dns/zone.h. dns_db_build over zone files written by the test
 * into a temporary directory (valid zones, every rejected shape with its
 * file:line, $INCLUDE/$ORIGIN/$TTL, RFC 3597 types, duplicates, TTLs,
 * dynamic names, several zones) and the lookup functions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dns/wire.h"
#include "dns/zone.h"

static char dir[64];

static const char *path_of(const char *name)
{
    static char p[8][256];
    static unsigned i;
    char *s = p[i++ % 8];
    snprintf(s, 256, "%s/%s", dir, name);
    return s;
}

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(path_of(name), "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **st)
{
    strcpy(dir, "/tmp/test_dns_zone.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char err[1024];

/* Builds one zone from `file` (already written); returns dns_db_build's rc. */
static int build1(const char *zname, const char *file, const struct dns_dynamic_src *dyn, size_t ndyn,
                  struct dns_db **db)
{
    struct dns_zone_src src = { .name = zname, .file = path_of(file), .cfg_file = "steerd.yaml", .cfg_line = 7 };
    *db = NULL;
    return dns_db_build(&src, 1, dyn, ndyn, db, err, sizeof err);
}

/* Expects the build of `text` as zone example.test to fail with an error
 * starting "<dir>/z.zone:<line>: " and containing `what`. line 0: no line;
 * line -1: some line of that file. */
static void expect_error(const char *text, int line, const char *what)
{
    struct dns_db *db = NULL;
    write_file("z.zone", text);
    assert_int_equal(build1("example.test", "z.zone", NULL, 0, &db), -1);
    assert_null(db);
    char prefix[512];
    if (line > 0)
        snprintf(prefix, sizeof prefix, "%s:%d: ", path_of("z.zone"), line);
    else if (line < 0)
        snprintf(prefix, sizeof prefix, "%s:", path_of("z.zone"));
    else
        snprintf(prefix, sizeof prefix, "%s: ", path_of("z.zone"));
    if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, what))
        fail_msg("error \"%s\", wanted prefix \"%s\" and \"%s\"", err, prefix, what);
}

static const struct dns_zone *zone_of(const struct dns_db *db, const char *name)
{
    uint8_t w[DNS_MAX_NAME], off[DNS_MAX_LABELS];
    int len = dns_name_from_str(name, w);
    assert_true(len > 0);
    unsigned n = 0;
    for (int p = 0; w[p]; p += 1 + w[p])
        off[n++] = (uint8_t)p;
    return dns_db_find_zone(db, w, (size_t)len, off, n);
}

static const struct dns_node *node_of(const struct dns_zone *z, const char *name)
{
    uint8_t w[DNS_MAX_NAME];
    int len = dns_name_from_str(name, w);
    assert_true(len > 0);
    return dns_zone_find(z, w, (size_t)len);
}

static const struct dns_rrset *rrset_of(const struct dns_db *db, const char *name, uint16_t type)
{
    const struct dns_zone *z = zone_of(db, name);
    assert_non_null(z);
    const struct dns_node *n = node_of(z, name);
    if (!n)
        return NULL;
    return dns_node_rrset(n, type);
}

/* i-th record's rdata of an rrset */
static const uint8_t *rdata_at(const struct dns_rrset *rs, unsigned i, unsigned *rdlen)
{
    const uint8_t *w = rs->wire;
    for (unsigned k = 0; k < i; k++)
        w += 10u + dns_get16(w + 8);
    *rdlen = dns_get16(w + 8);
    return w + 10;
}

static const char base_zone[] =
    "$ORIGIN example.test.\n"
    "$TTL 600\n"
    "@ IN SOA ns1 hostmaster (\n"
    "        42    ; serial\n"
    "        3600 600 86400\n"
    "        120 ) ; minimum\n"
    "@ NS ns1\n"
    "@ NS ns2.example.test.\n"
    "@ MX 10 MAIL\n"
    "ns1 A 192.0.2.1\n"
    "ns2 A 192.0.2.2\n"
    "mail A 192.0.2.3\n"
    "www 300 A 192.0.2.10\n"
    "www 60 A 192.0.2.11\n"
    "WWW 900 A 192.0.2.10\n"
    "www AAAA 2001:db8::10\n"
    "alias CNAME www\n"
    "*.wild TXT \"w\"\n"
    "a.b.ent A 192.0.2.60\n"
    "sub NS ns.sub\n"
    "ns.sub A 192.0.2.70\n"
    "_s._tcp SRV 0 0 80 www\n"
    "unk TYPE65280 \\# 4 0a000001\n"
    "empty TYPE65281 \\# 0\n"
    "big 2147483648 TXT \"ttl above 2^31-1\"\n";

static void test_valid_zone(void **st)
{
    struct dns_db *db;
    write_file("z.zone", base_zone);
    if (build1("example.test", "z.zone", NULL, 0, &db) < 0)
        fail_msg("%s", err);
    assert_int_equal(db->nzones, 1);
    const struct dns_zone *z = zone_of(db, "www.example.test");
    assert_non_null(z);
    assert_string_equal(z->name, "example.test");
    assert_int_equal(z->apex_len, 14);
    assert_int_equal(z->apex_labels, 2);
    assert_int_equal(z->serial, 42);
    assert_non_null(zone_of(db, "EXAMPLE.test."));
    assert_null(zone_of(db, "example.org"));
    assert_null(zone_of(db, "test"));
    assert_null(zone_of(db, "xexample.test"));
    /* the SOA and its negative-caching copy: TTL min(600, 120) */
    assert_int_equal(z->soa->ttl, 600);
    assert_int_equal(z->neg_soa->ttl, 120);
    assert_int_equal(z->neg_soa->count, 1);
    assert_true(z->apex_node->flags & DNS_NODE_APEX);

    /* apex NS: two records, targets lower-cased for additional processing */
    const struct dns_rrset *ns = rrset_of(db, "example.test", DNS_T_NS);
    assert_non_null(ns);
    assert_int_equal(ns->count, 2);
    assert_int_equal(ns->ntargets, 2);
    const struct dns_rrset *mx = rrset_of(db, "example.test", DNS_T_MX);
    assert_int_equal(mx->ntargets, 1);
    assert_memory_equal(mx->targets[0], "\4mail\7example\4test", 19);
    const struct dns_rrset *srv = rrset_of(db, "_s._tcp.example.test", DNS_T_SRV);
    assert_int_equal(srv->ntargets, 1);
    assert_memory_equal(srv->targets[0], "\3www\7example\4test", 18);

    /* www: the case-different duplicate is removed, TTL is the lowest */
    const struct dns_rrset *a = rrset_of(db, "www.example.test", DNS_T_A);
    assert_int_equal(a->count, 2);
    assert_int_equal(a->ttl, 60);
    assert_int_equal(a->wire_len, 2 * 14);
    unsigned rl;
    const uint8_t *rd = rdata_at(a, 0, &rl);
    assert_int_equal(rl, 4);
    assert_memory_equal(rd, "\xc0\x00\x02\x0a", 4);
    assert_int_equal(dns_get16(a->wire), DNS_T_A);
    assert_int_equal(dns_get16(a->wire + 2), DNS_CLASS_IN);
    assert_int_equal(dns_get32(a->wire + 4), 60);
    assert_int_equal(dns_get32(a->wire + 14 + 4), 60);
    rd = rdata_at(a, 1, &rl);
    assert_memory_equal(rd, "\xc0\x00\x02\x0b", 4);
    assert_non_null(rrset_of(db, "www.example.test", DNS_T_AAAA));
    assert_null(rrset_of(db, "www.example.test", DNS_T_MX));

    /* CNAME node and target */
    const struct dns_node *al = node_of(z, "alias.example.test");
    assert_true(al->flags & DNS_NODE_CNAME);
    const struct dns_rrset *cn = dns_node_rrset(al, DNS_T_CNAME);
    assert_int_equal(cn->ntargets, 1);
    assert_memory_equal(cn->targets[0], "\3www\7example\4test", 18);
    /* wildcard parent, empty non-terminals, delegation */
    assert_true(node_of(z, "wild.example.test")->flags & DNS_NODE_WILDKID);
    assert_non_null(node_of(z, "*.wild.example.test"));
    const struct dns_node *ent = node_of(z, "b.ent.example.test");
    assert_non_null(ent);
    assert_int_equal(ent->nrrsets, 0);
    assert_non_null(node_of(z, "ent.example.test"));
    assert_null(node_of(z, "nope.example.test"));
    assert_true(node_of(z, "sub.example.test")->flags & DNS_NODE_DELEG);
    assert_false(z->apex_node->flags & DNS_NODE_DELEG);
    assert_non_null(node_of(z, "ns.sub.example.test"));

    /* RFC 3597 unknown types, with and without data */
    const struct dns_rrset *u = rrset_of(db, "unk.example.test", 65280);
    assert_non_null(u);
    rd = rdata_at(u, 0, &rl);
    assert_int_equal(rl, 4);
    assert_memory_equal(rd, "\x0a\x00\x00\x01", 4);
    u = rrset_of(db, "empty.example.test", 65281);
    assert_non_null(u);
    rdata_at(u, 0, &rl);
    assert_int_equal(rl, 0);
    /* RFC 2181 8: a TTL above 2^31-1 is 0 */
    assert_int_equal(rrset_of(db, "big.example.test", DNS_T_TXT)->ttl, 0);
    dns_db_free(&db);
    assert_null(db);
    dns_db_free(&db);   /* freeing NULL is a no-op */
}

static void test_default_ttl_and_origin(void **st)
{
    struct dns_db *db;
    write_file("z.zone",
               "@ SOA ns1 host 1 2 3 4 5\n"
               "@ NS ns1\n"
               "ns1 A 192.0.2.1\n"          /* no $TTL yet: the default (3600) */
               "$TTL 77\n"
               "$ORIGIN deep.example.test.\n"
               "x A 192.0.2.2\n"            /* x.deep.example.test */
               "y 5 A 192.0.2.3\n"
               "$ORIGIN example.test.\n"
               "z A 192.0.2.4\n");
    if (build1("example.test", "z.zone", NULL, 0, &db) < 0)
        fail_msg("%s", err);
    assert_int_equal(rrset_of(db, "ns1.example.test", DNS_T_A)->ttl, 3600);
    assert_int_equal(rrset_of(db, "x.deep.example.test", DNS_T_A)->ttl, 77);
    assert_int_equal(rrset_of(db, "y.deep.example.test", DNS_T_A)->ttl, 5);
    assert_int_equal(rrset_of(db, "z.example.test", DNS_T_A)->ttl, 77);
    /* SOA MINIMUM 5 < TTL 3600 */
    assert_int_equal(zone_of(db, "example.test")->neg_soa->ttl, 5);
    dns_db_free(&db);
}

static void test_include(void **st)
{
    struct dns_db *db;
    write_file("inc2.zone", "leaf A 192.0.2.9\n");
    write_file("inc1.zone", "mid A 192.0.2.8\n$INCLUDE inc2.zone in2.example.test.\n");
    write_file("z.zone",
               "$TTL 300\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n"
               "$INCLUDE inc1.zone in1.example.test.\n"
               "after A 192.0.2.7\n"
               "$INCLUDE inc2.zone ; same origin as the includer\n");
    if (build1("example.test", "z.zone", NULL, 0, &db) < 0)
        fail_msg("%s", err);
    assert_non_null(rrset_of(db, "mid.in1.example.test", DNS_T_A));
    assert_non_null(rrset_of(db, "leaf.in2.example.test", DNS_T_A));
    assert_non_null(rrset_of(db, "after.example.test", DNS_T_A));
    assert_non_null(rrset_of(db, "leaf.example.test", DNS_T_A));
    dns_db_free(&db);
}

static void test_include_errors(void **st)
{
    char text[256];
    /* a file including itself: the depth limit stops it, at the directive */
    write_file("self.zone", "x A 192.0.2.1\n$INCLUDE self.zone\n");
    struct dns_db *db = NULL;
    write_file("z.zone", "@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\n$INCLUDE self.zone\n");
    assert_int_equal(build1("example.test", "z.zone", NULL, 0, &db), -1);
    snprintf(text, sizeof text, "%s:2: ", path_of("self.zone"));
    if (strncmp(err, text, strlen(text)) != 0 || !strstr(err, "$INCLUDE nested deeper"))
        fail_msg("%s", err);
    /* a missing include file: the includer's file:line */
    expect_error("@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n$INCLUDE nothere.zone\n", 4, "nothere.zone");
    /* an error inside an included file names that file */
    write_file("bad.zone", "ok A 192.0.2.1\nbad A 999.0.2.1\n");
    write_file("z.zone", "@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\n$INCLUDE bad.zone\n");
    assert_int_equal(build1("example.test", "z.zone", NULL, 0, &db), -1);
    snprintf(text, sizeof text, "%s:2: ", path_of("bad.zone"));
    if (strncmp(err, text, strlen(text)) != 0)
        fail_msg("%s", err);
}

static void test_rejected_zones(void **st)
{
    static const char head[] = "@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n";
    char t[1024];
    snprintf(t, sizeof t, "%swww A 192.0.2.1\nwww CNAME other\n", head);
    expect_error(t, 4, "CNAME and other data");
    snprintf(t, sizeof t, "%swww CNAME a\nwww CNAME b\n", head);
    expect_error(t, 4, "more than one CNAME");
    snprintf(t, sizeof t, "%s@ CNAME elsewhere.test.\n", head);
    expect_error(t, -1, "CNAME");   /* CNAME at the apex (with the SOA and NS) */
    snprintf(t, sizeof t, "%swww SOA ns1 host 1 2 3 4 5\n", head);
    expect_error(t, 4, "not at the zone apex");
    snprintf(t, sizeof t, "%s@ SOA ns1 host 2 2 3 4 5\n", head);
    expect_error(t, 1, "more than one SOA");
    expect_error("@ NS ns1\nns1 A 192.0.2.1\n", 0, "no SOA");
    expect_error("@ SOA ns1 host 1 2 3 4 5\nns1 A 192.0.2.1\n", 0, "no NS");
    snprintf(t, sizeof t, "%swww.example.org. A 192.0.2.1\n", head);
    expect_error(t, 4, "outside the zone");
    snprintf(t, sizeof t, "%sexample.test.evil. A 192.0.2.1\n", head);
    expect_error(t, 4, "outside the zone");
    snprintf(t, sizeof t, "%s\n; comment\n\nwww CH A 192.0.2.1\n", head);
    expect_error(t, 7, "class IN");
    snprintf(t, sizeof t, "%swww A 192.0.2.300\n", head);
    expect_error(t, 4, "");
    snprintf(t, sizeof t, "%swww TYPE41 \\# 0\n", head);
    expect_error(t, 4, "cannot appear in a zone");
    snprintf(t, sizeof t, "%swww TYPE255 \\# 0\n", head);
    expect_error(t, 4, "cannot appear in a zone");
    /* line numbers count across a multi-line SOA */
    expect_error("@ SOA ns1 host (\n 1\n 2\n 3\n 4\n 5 )\n@ NS ns1\nwww A 1.2.3\n", 8, "");
}

static void test_config_errors(void **st)
{
    struct dns_db *db = NULL;
    /* missing file: the config's file:line */
    assert_int_equal(build1("example.test", "missing.zone", NULL, 0, &db), -1);
    if (strncmp(err, "steerd.yaml:7: ", 15) != 0 || !strstr(err, "missing.zone"))
        fail_msg("%s", err);
    /* a zone listed twice */
    write_file("z.zone", "@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\n");
    struct dns_zone_src two[2] = {
        { "example.test", path_of("z.zone"), "steerd.yaml", 3 },
        { "Example.Test.", path_of("z.zone"), "steerd.yaml", 5 },
    };
    assert_int_equal(dns_db_build(two, 2, NULL, 0, &db, err, sizeof err), -1);
    if (strncmp(err, "steerd.yaml:5: ", 15) != 0 || !strstr(err, "twice"))
        fail_msg("%s", err);
    /* a bad zone name */
    two[1].name = "a..b";
    assert_int_equal(dns_db_build(two, 2, NULL, 0, &db, err, sizeof err), -1);
    if (strncmp(err, "steerd.yaml:5: ", 15) != 0)
        fail_msg("%s", err);
    assert_null(db);
}

static void test_two_zones(void **st)
{
    struct dns_db *db = NULL;
    write_file("p.zone",
               "$ORIGIN example.test.\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n"
               "child NS ns.child\nns.child A 192.0.2.80\n");
    write_file("c.zone", "$ORIGIN child.example.test.\n@ SOA ns host 9 2 3 4 5\n@ NS ns\nns A 192.0.2.80\n"
                         "www A 192.0.2.81\n");
    write_file("o.zone", "$ORIGIN other.test.\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n");
    struct dns_zone_src zs[3] = {
        { "example.test", path_of("p.zone"), "c", 1 },
        { "child.example.test", path_of("c.zone"), "c", 2 },
        { "other.test", path_of("o.zone"), "c", 3 },
    };
    if (dns_db_build(zs, 3, NULL, 0, &db, err, sizeof err) < 0)
        fail_msg("%s", err);
    assert_int_equal(db->nzones, 3);
    /* the deepest zone wins */
    assert_string_equal(zone_of(db, "www.child.example.test")->name, "child.example.test");
    assert_string_equal(zone_of(db, "child.example.test")->name, "child.example.test");
    assert_string_equal(zone_of(db, "x.example.test")->name, "example.test");
    assert_string_equal(zone_of(db, "a.b.other.test")->name, "other.test");
    assert_int_equal(zone_of(db, "child.example.test")->serial, 9);
    /* the parent keeps its delegation and glue */
    const struct dns_zone *p = zone_of(db, "example.test");
    assert_true(node_of(p, "child.example.test")->flags & DNS_NODE_DELEG);
    assert_non_null(node_of(p, "ns.child.example.test"));
    assert_null(node_of(p, "www.child.example.test"));
    dns_db_free(&db);
}

static void test_dynamic_names(void **st)
{
    static const char zone[] = "@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n"
                               "cdn TXT \"static txt next to the steered name\"\n"
                               "static A 192.0.2.5\nalias CNAME www\nsub NS ns.sub\n";
    static int h1, h2;
    struct dns_db *db;
    write_file("z.zone", zone);
    struct dns_dynamic_src dyn[2] = {
        { (const uint8_t *)"\3cdn\7example\4test", 18, &h1 },
        { (const uint8_t *)"\1a\1b\4deep\7example\4test", 23, &h2 },
    };
    if (build1("example.test", "z.zone", dyn, 2, &db) < 0)
        fail_msg("%s", err);
    const struct dns_zone *z = zone_of(db, "cdn.example.test");
    const struct dns_node *n = node_of(z, "cdn.example.test");
    assert_true(n->flags & DNS_NODE_DYNAMIC);
    assert_ptr_equal(n->dynamic, &h1);
    assert_non_null(dns_node_rrset(n, DNS_T_TXT));   /* other types stay static */
    n = node_of(z, "a.b.deep.example.test");
    assert_true(n->flags & DNS_NODE_DYNAMIC);
    assert_ptr_equal(n->dynamic, &h2);
    /* ancestors exist as empty non-terminals */
    assert_int_equal(node_of(z, "b.deep.example.test")->nrrsets, 0);
    assert_non_null(node_of(z, "deep.example.test"));
    assert_false(node_of(z, "static.example.test")->flags & DNS_NODE_DYNAMIC);
    dns_db_free(&db);

    /* outside every zone */
    struct dns_dynamic_src out = { (const uint8_t *)"\3cdn\7example\3org", 17, &h1 };
    assert_int_equal(build1("example.test", "z.zone", &out, 1, &db), -1);
    assert_non_null(strstr(err, "not inside any configured zone"));
    /* conflicts: static A, CNAME, delegation */
    static const struct {
        const char *owner;
        size_t len;
        const char *what;
    } bad[] = {
        { "\6static\7example\4test", 21, "static A/AAAA" },
        { "\5alias\7example\4test", 20, "CNAME" },
        { "\3sub\7example\4test", 18, "delegation" },
    };
    for (size_t i = 0; i < 3; i++) {
        struct dns_dynamic_src d = { (const uint8_t *)bad[i].owner, bad[i].len, &h1 };
        assert_int_equal(build1("example.test", "z.zone", &d, 1, &db), -1);
        if (!strstr(err, bad[i].what) || !strstr(err, path_of("z.zone")))
            fail_msg("%s", err);
    }
}

static void test_dynamic_in_child_zone(void **st)
{
    struct dns_db *db = NULL;
    write_file("p.zone", "$ORIGIN example.test.\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n"
                         "child NS ns.child\nns.child A 192.0.2.80\n");
    write_file("c.zone", "$ORIGIN child.example.test.\n@ SOA ns host 9 2 3 4 5\n@ NS ns\nns A 192.0.2.80\n");
    struct dns_zone_src zs[2] = {
        { "example.test", path_of("p.zone"), "c", 1 },
        { "child.example.test", path_of("c.zone"), "c", 2 },
    };
    static int h;
    struct dns_dynamic_src d = { (const uint8_t *)"\3www\5child\7example\4test", 24, &h };
    if (dns_db_build(zs, 2, &d, 1, &db, err, sizeof err) < 0)
        fail_msg("%s", err);
    const struct dns_zone *c = zone_of(db, "www.child.example.test");
    assert_string_equal(c->name, "child.example.test");
    assert_true(node_of(c, "www.child.example.test")->flags & DNS_NODE_DYNAMIC);
    assert_null(node_of(zone_of(db, "example.test"), "www.child.example.test"));
    dns_db_free(&db);
}

static void test_many_names(void **st)
{
    /* enough names to grow the staging array and the hash tables */
    FILE *f = fopen(path_of("z.zone"), "w");
    assert_non_null(f);
    fputs("$TTL 60\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n", f);
    for (int i = 0; i < 3000; i++)
        fprintf(f, "h%d.g%d A 10.%d.%d.%d\n", i, i % 50, i >> 16, (i >> 8) & 255, i & 255);
    fclose(f);
    struct dns_db *db;
    if (build1("example.test", "z.zone", NULL, 0, &db) < 0)
        fail_msg("%s", err);
    const struct dns_zone *z = zone_of(db, "example.test");
    assert_int_equal(z->nnodes, 1 + 1 + 3000 + 50);
    for (int i = 0; i < 3000; i += 7) {
        char name[64];
        snprintf(name, sizeof name, "H%d.G%d.Example.Test", i, i % 50);
        const struct dns_rrset *a = rrset_of(db, name, DNS_T_A);
        assert_non_null(a);
        unsigned rl;
        const uint8_t *rd = rdata_at(a, 0, &rl);
        assert_int_equal(rd[3], i & 255);
        assert_int_equal(rd[2], (i >> 8) & 255);
    }
    assert_null(node_of(z, "h3000.g0.example.test"));
    dns_db_free(&db);
}

static void test_name_hash(void **st)
{
    /* the hash is over the lower-case wire form */
    const uint8_t *a = (const uint8_t *)"\3www\4test";
    assert_int_equal(dns_name_hash(a, 10), dns_name_hash(a, 10));
    assert_int_not_equal(dns_name_hash(a, 10), dns_name_hash((const uint8_t *)"\3wwx\4test", 10));
}

static void test_include_inherits_ttl(void **st)
{
    struct dns_db *db;
    write_file("inc.zone", "leaf A 192.0.2.9\n");
    write_file("z.zone", "$TTL 300\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n$INCLUDE inc.zone\n");
    if (build1("example.test", "z.zone", NULL, 0, &db) < 0)
        fail_msg("%s", err);
    /* the included file starts with the includer's current $TTL (BIND,
     * NSD, Knot do this), not DEFAULT_TTL (3600) */
    assert_int_equal(rrset_of(db, "leaf.example.test", DNS_T_A)->ttl, 300);
    dns_db_free(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_zone),
        cmocka_unit_test(test_default_ttl_and_origin),
        cmocka_unit_test(test_include),
        cmocka_unit_test(test_include_errors),
        cmocka_unit_test(test_rejected_zones),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_two_zones),
        cmocka_unit_test(test_dynamic_names),
        cmocka_unit_test(test_dynamic_in_child_zone),
        cmocka_unit_test(test_many_names),
        cmocka_unit_test(test_name_hash),
        cmocka_unit_test(test_include_inherits_ttl),
    };
    return cmocka_run_group_tests_name("dns_zone", tests, setup, teardown);
}
