/* rum/persist.c: snapshot save/load and CSV import (see persist.h). */
#include "rum/persist.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cfg.h"
#include "common/netaddr.h"
#include "geo/geo.h"
#include "rum/scores.h"

#define MAGIC "STEERRUM"
#define HDR_SIZE (8 + 4 * 4 + 8 * 2)
#define CELL_SIZE(bins) (8 + 8 + 2 + 4 * 4 + 4 * (size_t)(bins))
#define MAX_NAMES 65536   /* provider ids are uint16_t */

static int fail(char *err, size_t size, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t size, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && size)
        vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---------------------------------------------------------------- CRC */

/* CRC-32C (Castagnoli), reflected, bitwise table built on first use. */
uint32_t rum_crc32c(uint32_t crc, const void *data, size_t len)
{
    static uint32_t table[256];
    static int ready;   /* benign race: every thread computes the same table */
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
            table[i] = c;
        }
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    const uint8_t *p = data;
    crc = ~crc;
    while (len--)
        crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ------------------------------------------------------- byte buffers */

struct wbuf {
    uint8_t *p;
    size_t len, cap;
};

static void put(struct wbuf *b, const void *v, size_t n)
{
    memcpy(b->p + b->len, v, n);   /* capacity computed exactly up front */
    b->len += n;
}
static void put_u64(struct wbuf *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    put(b, x, 8);
}
static void put_u32(struct wbuf *b, uint32_t v)
{
    uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    put(b, x, 4);
}
static void put_u16(struct wbuf *b, uint16_t v)
{
    uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    put(b, x, 2);
}
static void put_f32(struct wbuf *b, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(b, v);
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}
static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static float get_f32(const uint8_t *p)
{
    uint32_t v = get_u32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

/* ---------------------------------------------------------------- save */

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int fsync_dir(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    int fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int rum_snapshot_save(const struct rum_agg *a, const struct rum_lookup *lk, const char *path, int64_t now_ms,
                      char *err, size_t errsize)
{
    size_t n = rum_agg_count(a);
    /* provider ids in use -> name indices */
    uint16_t *idx = malloc(sizeof *idx * MAX_NAMES);
    const char **names = malloc(sizeof *names * MAX_NAMES);
    struct wbuf b = { 0 };
    int fd = -1, rc = RUM_P_IO;
    char tmp[4096];
    if (!idx || !names)
        goto out;
    memset(idx, 0xff, sizeof *idx * MAX_NAMES);
    uint32_t nnames = 0, ncells = 0;
    size_t names_len = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t p = rum_agg_cell(a, i)->prov;
        if (idx[p] != UINT16_MAX)
            continue;
        const char *nm = lk && lk->provider_name ? lk->provider_name(lk->ctx, p) : NULL;
        if (!nm || strlen(nm) > 255) {
            idx[p] = UINT16_MAX - 1;   /* unknown id: its cells are not saved */
            continue;
        }
        idx[p] = (uint16_t)nnames;
        names[nnames++] = nm;
        names_len += 1 + strlen(nm);
    }
    for (size_t i = 0; i < n; i++)
        ncells += idx[rum_agg_cell(a, i)->prov] < UINT16_MAX - 1;
    b.cap = HDR_SIZE + names_len + (size_t)ncells * CELL_SIZE(RUM_HIST_BINS) + 4;
    if (!(b.p = malloc(b.cap))) {
        rc = fail(err, errsize, RUM_P_IO, "out of memory");
        goto out;
    }
    put(&b, MAGIC, 8);
    put_u32(&b, RUM_SNAP_VERSION);
    put_u32(&b, RUM_HIST_BINS);
    put_u32(&b, nnames);
    put_u32(&b, ncells);
    put_u64(&b, (uint64_t)rum_agg_half_life(a));
    put_u64(&b, (uint64_t)now_ms);
    for (uint32_t i = 0; i < nnames; i++) {
        uint8_t l = (uint8_t)strlen(names[i]);
        put(&b, &l, 1);
        put(&b, names[i], l);
    }
    for (size_t i = 0; i < n; i++) {
        const struct rum_cell *c = rum_agg_cell(a, i);
        if (idx[c->prov] >= UINT16_MAX - 1)
            continue;
        put_u64(&b, c->key);
        put_u64(&b, (uint64_t)c->t_ms);
        put_u16(&b, idx[c->prov]);
        put_f32(&b, c->ok);
        put_f32(&b, c->fail);
        put_f32(&b, c->thr_w);
        put_f32(&b, c->thr_log);
        for (unsigned k = 0; k < RUM_HIST_BINS; k++)
            put_f32(&b, c->hist[k]);
    }
    put_u32(&b, rum_crc32c(0, b.p, b.len));

    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = fail(err, errsize, RUM_P_IO, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (write_all(fd, b.p, b.len) < 0 || fsync(fd) < 0) {
        rc = fail(err, errsize, RUM_P_IO, "%s: %s", tmp, strerror(errno));
        unlink(tmp);
        goto out;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) < 0) {
        rc = fail(err, errsize, RUM_P_IO, "rename %s -> %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    if (fsync_dir(path) < 0) {
        rc = fail(err, errsize, RUM_P_IO, "fsync directory of %s: %s", path, strerror(errno));
        goto out;
    }
    rc = RUM_P_OK;
out:
    if (fd >= 0)
        close(fd);
    free(b.p);
    free(idx);
    free(names);
    return rc;
}

/* ---------------------------------------------------------------- load */

static int read_file(const char *path, uint8_t **out, size_t *len, char *err, size_t errsize)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? RUM_P_NOFILE : fail(err, errsize, RUM_P_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > RUM_SNAP_MAX_FILE) {
        close(fd);
        return fail(err, errsize, RUM_P_CORRUPT, "%s: not a regular file of sane size", path);
    }
    size_t sz = (size_t)st.st_size, got = 0;
    uint8_t *p = malloc(sz ? sz : 1);
    if (!p) {
        close(fd);
        return fail(err, errsize, RUM_P_IO, "%s: out of memory", path);
    }
    while (got < sz) {
        ssize_t r = read(fd, p + got, sz - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    *out = p;
    *len = got;
    return RUM_P_OK;
}

int rum_snapshot_load(struct rum_agg *a, const struct rum_lookup *lk, const char *path,
                      struct rum_load_stats *st, char *err, size_t errsize)
{
    struct rum_load_stats dummy;
    if (!st)
        st = &dummy;
    memset(st, 0, sizeof *st);
    uint8_t *p = NULL;
    size_t len = 0;
    int rc = read_file(path, &p, &len, err, errsize);
    if (rc != RUM_P_OK)
        return rc;
    int32_t *map = NULL;
    if (len < HDR_SIZE + 4 || memcmp(p, MAGIC, 8)) {
        rc = fail(err, errsize, RUM_P_CORRUPT, "%s: not a RUM snapshot (bad magic or truncated)", path);
        goto out;
    }
    uint32_t ver = get_u32(p + 8), bins = get_u32(p + 12), nnames = get_u32(p + 16), ncells = get_u32(p + 20);
    if (ver != RUM_SNAP_VERSION || bins != RUM_HIST_BINS) {
        rc = fail(err, errsize, RUM_P_VERSION, "%s: format version %u with %u bins, expected %u with %u", path,
                  ver, bins, RUM_SNAP_VERSION, RUM_HIST_BINS);
        goto out;
    }
    if (rum_crc32c(0, p, len - 4) != get_u32(p + len - 4)) {
        rc = fail(err, errsize, RUM_P_CORRUPT, "%s: checksum mismatch (corrupt or truncated)", path);
        goto out;
    }
    st->saved_ms = (int64_t)get_u64(p + 32);
    if (nnames > MAX_NAMES || !(map = malloc(sizeof *map * (nnames ? nnames : 1)))) {
        rc = fail(err, errsize, RUM_P_CORRUPT, "%s: bad provider count %u", path, nnames);
        goto out;
    }
    size_t off = HDR_SIZE, end = len - 4;
    for (uint32_t i = 0; i < nnames; i++) {
        if (off + 1 > end || off + 1 + p[off] > end) {
            rc = fail(err, errsize, RUM_P_CORRUPT, "%s: provider names run past the end", path);
            goto out;
        }
        char nm[256];
        memcpy(nm, p + off + 1, p[off]);
        nm[p[off]] = 0;
        off += 1 + (size_t)p[off];
        map[i] = lk && lk->provider ? lk->provider(lk->ctx, nm) : -1;
    }
    if ((uint64_t)ncells * CELL_SIZE(RUM_HIST_BINS) != end - off) {
        rc = fail(err, errsize, RUM_P_CORRUPT, "%s: %u cells do not fill %zu bytes", path, ncells, end - off);
        goto out;
    }
    /* validate every cell before inserting any */
    for (int pass = 0; pass < 2; pass++) {
        size_t o = off;
        for (uint32_t i = 0; i < ncells; i++, o += CELL_SIZE(RUM_HIST_BINS)) {
            struct rum_cell c = { 0 };
            c.key = get_u64(p + o);
            c.t_ms = (int64_t)get_u64(p + o + 8);
            uint16_t ni = get_u16(p + o + 16);
            c.ok = get_f32(p + o + 18);
            c.fail = get_f32(p + o + 22);
            c.thr_w = get_f32(p + o + 26);
            c.thr_log = get_f32(p + o + 30);
            for (unsigned k = 0; k < RUM_HIST_BINS; k++)
                c.hist[k] = get_f32(p + o + 34 + 4 * k);
            bool valid = ni < nnames && rum_key_level(c.key) != RUM_LVL_NONE && isfinite(c.ok) && c.ok >= 0 &&
                         isfinite(c.fail) && c.fail >= 0 && isfinite(c.thr_w) && c.thr_w >= 0 && isfinite(c.thr_log);
            for (unsigned k = 0; k < RUM_HIST_BINS && valid; k++)
                valid = isfinite(c.hist[k]) && c.hist[k] >= 0;
            if (!valid) {
                rc = fail(err, errsize, RUM_P_CORRUPT, "%s: cell %u has invalid values", path, i);
                goto out;
            }
            if (pass == 0)
                continue;
            if (map[ni] < 0 || map[ni] > UINT16_MAX) {
                st->dropped++;
                continue;
            }
            c.prov = (uint16_t)map[ni];
            if (rum_agg_put_cell(a, &c) == 0)
                st->cells++;
            else
                st->dropped++;
        }
    }
    rc = RUM_P_OK;
out:
    free(map);
    free(p);
    return rc;
}

/* ---------------------------------------------------------- CSV import */

struct pending {
    struct rum_geo g;
    struct rum_meas m;
};

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t l = strlen(s);
    while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\r' || s[l - 1] == '\n'))
        s[--l] = 0;
    return s;
}

/* Parses one data line into *pd. Returns NULL or an error message. */
static const char *csv_line(char *line, const struct geo_set *geo, const struct rum_lookup *lk, int64_t now_ms,
                            struct pending *pd)
{
    char *f[6];
    int nf = 0;
    for (char *s = line; nf < 6;) {
        f[nf++] = s;
        char *c = strchr(s, ',');
        if (!c)
            break;
        *c = 0;
        s = c + 1;
    }
    if (nf != 5)
        return "expected 5 fields: timestamp_ms,client_ip,provider,kind,value";
    for (int i = 0; i < 5; i++)
        f[i] = trim(f[i]);
    uint64_t ts;
    if (parse_u64(f[0], 0, (uint64_t)INT64_MAX, &ts) < 0)
        return "bad timestamp (milliseconds since the epoch)";
    struct net_addr ad;
    if (net_addr_parse(f[1], &ad) < 0)
        return "bad client address";
    int id = lk && lk->provider ? lk->provider(lk->ctx, f[2]) : -1;
    if (id < 0 || id > UINT16_MAX)
        return "unknown provider";
    int k = rum_kind_parse(f[3]);
    if (k < 0)
        return "kind must be latency, throughput or failure";
    char *end;
    double v = strtod(f[4], &end);
    if (*f[4] == 0 || *end || !isfinite(v))
        return "bad value";
    if ((k == RUM_LATENCY && (v <= 0 || v > RUM_MAX_LATENCY_MS)) ||
        (k == RUM_THROUGHPUT && (v < 1 || v > RUM_MAX_THROUGHPUT)))
        return "value out of range";
    pd->m.provider = (uint16_t)id;
    pd->m.kind = (uint8_t)k;
    pd->m.value = k == RUM_FAILURE ? 0 : v;
    pd->m.name = -1;
    pd->m.t_ms = (int64_t)ts > now_ms ? now_ms : (int64_t)ts;
    struct geo_loc loc;
    struct geo_asn asn;
    geo_lookup_loc(geo, &ad, &loc);
    geo_lookup_asn(geo, &ad, &asn);
    rum_geo_from(&loc, &asn, &pd->g);
    return NULL;
}

int rum_import_csv(struct rum_agg *a, const struct geo_set *geo, const struct rum_lookup *lk, const char *path,
                   int64_t now_ms, struct rum_import_stats *st, char *err, size_t errsize)
{
    struct rum_import_stats dummy;
    if (!st)
        st = &dummy;
    memset(st, 0, sizeof *st);
    FILE *f = fopen(path, "re");
    if (!f)
        return fail(err, errsize, RUM_P_IO, "%s: %s", path, strerror(errno));
    struct pending *pd = NULL;
    size_t n = 0, cap = 0, lineno = 0;
    char *line = NULL;
    size_t lcap = 0;
    int rc = RUM_P_OK;
    while (getline(&line, &lcap, f) >= 0) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#' || (lineno == 1 && !strncmp(s, "timestamp", 9)))
            continue;
        if (n >= RUM_CSV_MAX_LINES) {
            rc = fail(err, errsize, RUM_P_INVALID, "%s:%zu: more than %d measurements", path, lineno,
                      RUM_CSV_MAX_LINES);
            goto out;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            struct pending *np = realloc(pd, nc * sizeof *np);
            if (!np) {
                rc = fail(err, errsize, RUM_P_IO, "%s:%zu: out of memory", path, lineno);
                goto out;
            }
            pd = np;
            cap = nc;
        }
        const char *msg = csv_line(s, geo, lk, now_ms, &pd[n]);
        if (msg) {
            rc = fail(err, errsize, RUM_P_INVALID, "%s:%zu: %s", path, lineno, msg);
            goto out;
        }
        n++;
    }
    if (ferror(f)) {
        rc = fail(err, errsize, RUM_P_IO, "%s: read error", path);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        rum_agg_add(a, &pd[i].g, &pd[i].m);
    st->lines = lineno;
    st->imported = n;
out:
    free(line);
    free(pd);
    fclose(f);
    return rc;
}
