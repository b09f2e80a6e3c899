/* tests/fuzz/fuzz_geo_walk.c: geo.c's own MaxMind DB search-tree walk on
 * arbitrary trees, checked against libmaxminddb's lookup.
 *
 * Input: byte 0 picks the record size (24/28/32) and the IP version (4/6);
 * the next 16 * 2 bytes are probe addresses' seeds; the rest is the search
 * tree, as many whole nodes as fit (records point anywhere: other nodes,
 * back up the tree, the separator, past the data section). The file around
 * it is valid (16-byte separator, a data section with two records, a
 * metadata map), so MMDB_open accepts it and the walk is what is fuzzed.
 * Invariants: no crash or sanitizer report; where libmaxminddb answers,
 * geo.c gives the same found/not-found and prefix length (and the same
 * continent); where it reports an error (corrupt tree), geo.c says "not
 * found". */
#include <maxminddb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "geo/geo.h"

#define MAX_TREE 4096   /* bytes of tree taken from the input */

static void put_key(uint8_t **p, const char *k)
{
    size_t n = strlen(k);
    *(*p)++ = (uint8_t)(0x40 | n);
    memcpy(*p, k, n);
    *p += n;
}

/* Writes the database file; returns its length. */
static size_t build_db(uint8_t *out, const uint8_t *tree, size_t tree_len, unsigned rec_bits, unsigned ipv,
                       uint32_t nodes)
{
    uint8_t *p = out;
    memcpy(p, tree, tree_len);
    p += tree_len;
    memset(p, 0, 16);
    p += 16;
    /* data section: offset 0 {continent: {code: "EU"}}, offset 20 {... "NA"} */
    static const uint8_t eu[] = { 0xe1, 0x49, 'c', 'o', 'n', 't', 'i', 'n', 'e', 'n', 't', 0xe1, 0x44, 'c', 'o', 'd', 'e',
                                  0x42, 'E', 'U' };
    memcpy(p, eu, sizeof eu);
    memcpy(p + sizeof eu, eu, sizeof eu);
    p[2 * sizeof eu - 2] = 'N';
    p[2 * sizeof eu - 1] = 'A';
    p += 2 * sizeof eu;
    memcpy(p, "\xab\xcd\xefMaxMind.com", 14);
    p += 14;
    *p++ = 0xe9;
    put_key(&p, "binary_format_major_version"); *p++ = 0xa1; *p++ = 2;
    put_key(&p, "binary_format_minor_version"); *p++ = 0xa0;
    put_key(&p, "build_epoch"); *p++ = 0x01; *p++ = 0x02; *p++ = 1;
    put_key(&p, "database_type"); put_key(&p, "fuzz-City");
    put_key(&p, "ip_version"); *p++ = 0xa1; *p++ = (uint8_t)ipv;
    put_key(&p, "node_count"); *p++ = 0xc4;
    *p++ = (uint8_t)(nodes >> 24); *p++ = (uint8_t)(nodes >> 16); *p++ = (uint8_t)(nodes >> 8); *p++ = (uint8_t)nodes;
    put_key(&p, "record_size"); *p++ = 0xa1; *p++ = (uint8_t)rec_bits;
    put_key(&p, "languages"); *p++ = 0x00; *p++ = 0x04;
    put_key(&p, "description"); *p++ = 0xe0;
    return (size_t)(p - out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned sizes[] = { 24, 28, 32 };
    if (size < 1 + 32)
        return 0;
    unsigned rec_bits = sizes[data[0] % 3], ipv = data[0] & 4 ? 4 : 6, node_bytes = rec_bits / 4;
    const uint8_t *seeds = data + 1, *tree = data + 33;
    size_t tree_len = size - 33;
    if (tree_len > MAX_TREE)
        tree_len = MAX_TREE;
    uint32_t nodes = (uint32_t)(tree_len / node_bytes);
    if (nodes == 0)
        return 0;
    tree_len = nodes * node_bytes;

    static uint8_t file[MAX_TREE + 512];
    size_t flen = build_db(file, tree, tree_len, rec_bits, ipv, nodes);
    char path[] = "/tmp/fuzz_geo_walk.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    if (write(fd, file, flen) != (ssize_t)flen) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);

    char err[256];
    struct geo_set *g = geo_set_new();
    MMDB_s m;
    int mrc = MMDB_open(path, MMDB_MODE_MMAP, &m);
    int grc = g ? geo_set_add_db(g, path, err, sizeof err) : -1;
    unlink(path);
    if (mrc != MMDB_SUCCESS || grc < 0) {
        if ((mrc == MMDB_SUCCESS) != (grc == 0) && g)
            abort();   /* geo_set_add_db opens with libmaxminddb: same verdict */
        if (mrc == MMDB_SUCCESS)
            MMDB_close(&m);
        geo_set_free(&g);
        return 0;
    }
    for (unsigned i = 0; i < 16; i++) {
        struct net_addr a = { 0 };
        uint8_t s = seeds[2 * i], t = seeds[2 * i + 1];
        a.family = i & 1 ? 6 : 4;
        for (unsigned b = 0; b < (a.family == 4 ? 4u : 16u); b++)
            a.bytes[b] = (uint8_t)(s * (b + 1) ^ t >> (b & 7));
        struct geo_loc x;
        geo_lookup_loc(g, &a, &x);
        struct sockaddr_storage ss;
        net_addr_to_sockaddr(&a, 0, &ss);
        int e = 0;
        MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&m, (struct sockaddr *)&ss, &e);
        if (e != MMDB_SUCCESS) {
            if (x.found)
                abort();
            continue;
        }
        unsigned len = r.netmask;
        if (a.family == 4 && m.metadata.ip_version == 6)
            len = len >= 96 ? len - 96 : 0;
        if (len > net_addr_maxlen(&a))
            len = net_addr_maxlen(&a);
        bool found = false;
        char code[8] = "";
        if (r.found_entry) {
            MMDB_entry_data_s d;
            const char *const path_c[] = { "continent", "code", NULL };
            if (MMDB_aget_value(&r.entry, &d, path_c) == MMDB_SUCCESS && d.has_data &&
                d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size < sizeof code) {
                memcpy(code, d.utf8_string, d.data_size);
                found = d.data_size > 0;
            }
        }
        /* a record pointing into the middle of a data record decodes as
         * whatever is there: only compare when it is one of ours */
        if (x.found != found && !(r.found_entry && !found))
            abort();
        if (found && (strcmp(x.continent, code) || x.len != len))
            abort();
        if (!r.found_entry && x.len != len)
            abort();
    }
    MMDB_close(&m);
    geo_set_free(&g);
    return 0;
}
