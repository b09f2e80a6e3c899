/* edge/disk.c: disk tier (see disk.h). */
#include "edge/disk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/log.h"
#include "edge/proxy.h"

#define DISK_MAGIC "EDGEOBJ1"
#define NAME_LEN 64            /* hex SHA-256 */
#define IDX_BUCKETS 4096       /* fixed: chains grow linearly past ~4k keys */
#define NULL_STR 0xffffffffU

struct disk_hdr {
    char magic[8];
    uint64_t checksum;         /* over bytes [16, file end) */
    uint32_t key_len, vary_len, head_len, meta_len;
    uint64_t body_len;
    int64_t response_time, initial_age, lifetime, swr, sie;
    int32_t status;
    uint32_t flags;            /* 1: no_cache, 2: must_revalidate */
    uint32_t fields_off, pad;
};
_Static_assert(sizeof(struct disk_hdr) == 96, "disk header layout");

struct dentry {
    struct dentry *hnext, *lru_prev, *lru_next;
    char name[NAME_LEN + 1];
    uint64_t size;
    uint64_t khash;
    char *key; uint32_t klen;
    char *vary; uint32_t vary_len;
    char *skeys;
};

struct job { struct job *next; char name[NAME_LEN + 1]; char *buf; size_t len; };

struct disk {
    char dir[512];
    uint64_t max_bytes, bytes;
    struct dentry *buckets[IDX_BUCKETS];
    struct dentry lru;         /* sentinel; lru_next most recent */
    struct disk_stats st;
    pthread_t writer;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *head, *tail;
    bool stop;
    uint64_t tmp_seq;
};

/* ---- helpers ------------------------------------------------------------ */

/* Word-wise multiplicative checksum: several GB/s, catches torn writes and
 * bit rot (not an adversarial MAC: the directory is trusted). */
static uint64_t checksum(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    while (n >= 8) {
        uint64_t w; memcpy(&w, p, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
        p += 8; n -= 8;
    }
    while (n--) { h = (h ^ *p++) * 0x100000001b3ULL; }
    return h;
}
#define CK_SEED 0xcbf29ce484222325ULL

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = CK_SEED;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

static void file_name(const char *key, size_t klen, const char *vary, uint32_t vlen, char out[NAME_LEN + 1])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[32]; unsigned int ml = 0;
    static const char zero = 0;
    if (ctx) {
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        EVP_DigestUpdate(ctx, key, klen);
        EVP_DigestUpdate(ctx, &zero, 1);
        if (vlen) EVP_DigestUpdate(ctx, vary, vlen);
        EVP_DigestFinal_ex(ctx, md, &ml);
        EVP_MD_CTX_free(ctx);
    }
    if (ml != 32) { uint64_t h = fnv(key, klen) ^ fnv(vary ? vary : "", vlen); memset(md, 0, 32); memcpy(md, &h, 8); }
    static const char x[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) { out[2 * i] = x[md[i] >> 4]; out[2 * i + 1] = x[md[i] & 15]; }
    out[NAME_LEN] = 0;
}

static void lru_unlink(struct dentry *e)
{
    if (!e->lru_next) return;
    e->lru_prev->lru_next = e->lru_next;
    e->lru_next->lru_prev = e->lru_prev;
    e->lru_next = e->lru_prev = NULL;
}

static void lru_push(struct disk *d, struct dentry *e)
{
    e->lru_next = d->lru.lru_next; e->lru_prev = &d->lru;
    d->lru.lru_next->lru_prev = e; d->lru.lru_next = e;
}

static void dentry_free(struct dentry *e)
{
    free(e->key); free(e->vary); free(e->skeys); free(e);
}

/* ---- writer thread ----------------------------------------------------- */

static void enqueue(struct disk *d, const char *name, char *buf, size_t len)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j) { free(buf); return; }
    memcpy(j->name, name, NAME_LEN + 1);
    j->buf = buf; j->len = len;
    pthread_mutex_lock(&d->mu);
    if (d->tail) d->tail->next = j; else d->head = j;
    d->tail = j;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) { fsync(fd); close(fd); }
}

static void do_job(struct disk *d, struct job *j)
{
    char path[700], tmp[720];
    snprintf(path, sizeof path, "%s/objects/%s", d->dir, j->name);
    if (!j->buf) { unlink(path); return; }
    snprintf(tmp, sizeof tmp, "%s/tmp/%s.%llu", d->dir, j->name, (unsigned long long)++d->tmp_seq);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) { log_ratelimited(LOG_LVL_WARN, "disk: %s: %s", tmp, strerror(errno)); return; }
    size_t off = 0;
    while (off < j->len) {
        ssize_t w = write(fd, j->buf + off, j->len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { log_ratelimited(LOG_LVL_WARN, "disk: write %s: %s", tmp, strerror(errno)); close(fd); unlink(tmp); return; }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) { close(fd); unlink(tmp); return; }
    close(fd);
    if (rename(tmp, path) != 0) { unlink(tmp); return; }
    char od[600];
    snprintf(od, sizeof od, "%s/objects", d->dir);
    fsync_dir(od);
}

static void *writer_main(void *arg)
{
    struct disk *d = arg;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->head && !d->stop) pthread_cond_wait(&d->cv, &d->mu);
        struct job *j = d->head;
        if (!j) break;                        /* stop and queue drained */
        d->head = j->next;
        if (!d->head) d->tail = NULL;
        pthread_mutex_unlock(&d->mu);
        do_job(d, j);
        free(j->buf);
        free(j);
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* ---- index ------------------------------------------------------------- */

static struct dentry **bucket(struct disk *d, uint64_t kh) { return &d->buckets[kh % IDX_BUCKETS]; }

static void index_remove(struct disk *d, struct dentry *e, bool unlink_file)
{
    struct dentry **pp = bucket(d, e->khash);
    while (*pp && *pp != e) pp = &(*pp)->hnext;
    if (*pp) *pp = e->hnext;
    lru_unlink(e);
    d->bytes -= e->size;
    d->st.files--;
    if (unlink_file) enqueue(d, e->name, NULL, 0);
    dentry_free(e);
}

static void index_add(struct disk *d, struct dentry *e)
{
    struct dentry **b = bucket(d, e->khash);
    e->hnext = *b; *b = e;
    lru_push(d, e);
    d->bytes += e->size;
    d->st.files++;
    /* evict from the LRU tail; bounded by the number of entries */
    while (d->bytes > d->max_bytes && d->lru.lru_prev != &d->lru && d->lru.lru_prev != e) {
        d->st.evictions++;
        index_remove(d, d->lru.lru_prev, true);
    }
}

static struct dentry *index_find_name(struct disk *d, uint64_t kh, const char *name)
{
    for (struct dentry *e = *bucket(d, kh); e; e = e->hnext)
        if (e->khash == kh && strcmp(e->name, name) == 0) return e;
    return NULL;
}

/* ---- reading ----------------------------------------------------------- */

static int read_all(int fd, void *buf, size_t n, off_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

static int hdr_sane(const struct disk_hdr *h, uint64_t fsize)
{
    if (memcmp(h->magic, DISK_MAGIC, 8) != 0) return -1;
    uint64_t total = sizeof *h + (uint64_t)h->key_len + h->vary_len + h->head_len + h->meta_len + h->body_len;
    if (total != fsize || h->key_len == 0 || h->head_len < h->fields_off) return -1;
    return 0;
}

/* Reads a "len-prefixed" string from meta; NULL_STR length means NULL. */
static char *meta_str(const char **p, const char *end)
{
    uint32_t l;
    if (end - *p < 4) return NULL;
    memcpy(&l, *p, 4); *p += 4;
    if (l == NULL_STR || (size_t)(end - *p) < l) return NULL;
    char *s = malloc(l + 1);
    if (s) { memcpy(s, *p, l); s[l] = 0; }
    *p += l;
    return s;
}

/* Index one file at start-up: header + key + vary + meta only. */
static void index_file(struct disk *d, const char *name)
{
    char path[700];
    snprintf(path, sizeof path, "%s/objects/%s", d->dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat sb;
    struct disk_hdr h;
    struct dentry *e = NULL;
    char *meta = NULL;
    if (fstat(fd, &sb) != 0 || read_all(fd, &h, sizeof h, 0) != 0 || hdr_sane(&h, (uint64_t)sb.st_size) != 0)
        goto bad;
    e = calloc(1, sizeof *e);
    if (!e) goto out;
    e->key = malloc(h.key_len + 1);
    e->vary = h.vary_len ? malloc(h.vary_len) : NULL;
    meta = malloc(h.meta_len + 1);
    if (!e->key || (h.vary_len && !e->vary) || !meta) goto out;
    if (read_all(fd, e->key, h.key_len, sizeof h) != 0) goto bad;
    e->key[h.key_len] = 0; e->klen = h.key_len;
    if (h.vary_len && read_all(fd, e->vary, h.vary_len, (off_t)(sizeof h + h.key_len)) != 0) goto bad;
    e->vary_len = h.vary_len;
    if (read_all(fd, meta, h.meta_len, (off_t)(sizeof h + h.key_len + h.vary_len + h.head_len)) != 0) goto bad;
    const char *mp = meta, *me = meta + h.meta_len;
    free(meta_str(&mp, me)); free(meta_str(&mp, me)); free(meta_str(&mp, me));   /* via, etag, lm */
    e->skeys = meta_str(&mp, me);
    char want[NAME_LEN + 1];
    file_name(e->key, e->klen, e->vary, e->vary_len, want);
    if (strcmp(want, name) != 0) goto bad;
    snprintf(e->name, sizeof e->name, "%s", name);
    e->size = (uint64_t)sb.st_size;
    e->khash = fnv(e->key, e->klen);
    index_add(d, e);
    e = NULL;
    goto out;
bad:
    d->st.corrupt++;
    unlink(path);
out:
    if (e) dentry_free(e);
    free(meta);
    close(fd);
}

/* mkdir -p: creates missing parents too (bounded by the path length). */
static int mkdir_p(const char *p)
{
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s", p);
    for (char *s = tmp + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
        *s = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
    return 0;
}

struct disk *disk_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
    struct disk *d = calloc(1, sizeof *d);
    if (!d) { snprintf(err, errlen, "out of memory"); return NULL; }
    snprintf(d->dir, sizeof d->dir, "%s", dir);
    d->max_bytes = max_bytes;
    d->lru.lru_next = d->lru.lru_prev = &d->lru;
    char p[700];
    snprintf(p, sizeof p, "%s/objects", dir);
    char t[700];
    snprintf(t, sizeof t, "%s/tmp", dir);
    if (mkdir_p(dir) || mkdir_p(p) || mkdir_p(t)) {
        snprintf(err, errlen, "cache.disk.dir %s: %s", dir, strerror(errno));
        free(d);
        return NULL;
    }
    /* leftovers of writes interrupted by a crash */
    DIR *td = opendir(t);
    if (td) {
        struct dirent *de;
        while ((de = readdir(td))) {
            if (de->d_name[0] == '.') continue;
            char f[1000]; snprintf(f, sizeof f, "%s/%s", t, de->d_name);
            unlink(f);
        }
        closedir(td);
    }
    DIR *od = opendir(p);
    if (!od) { snprintf(err, errlen, "%s: %s", p, strerror(errno)); free(d); return NULL; }
    struct dirent *de;
    while ((de = readdir(od))) {
        if (strlen(de->d_name) != NAME_LEN) continue;
        index_file(d, de->d_name);
    }
    closedir(od);
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    if (pthread_create(&d->writer, NULL, writer_main, d) != 0) {
        snprintf(err, errlen, "cannot start disk writer thread");
        pthread_mutex_destroy(&d->mu); pthread_cond_destroy(&d->cv);
        for (size_t i = 0; i < IDX_BUCKETS; i++)
            while (d->buckets[i]) { struct dentry *e = d->buckets[i]; d->buckets[i] = e->hnext; dentry_free(e); }
        free(d);
        return NULL;
    }
    log_info("disk cache %s: %llu objects, %llu bytes", dir, (unsigned long long)d->st.files,
             (unsigned long long)d->bytes);
    return d;
}

void disk_close(struct disk **dp)
{
    struct disk *d = *dp;
    if (!d) return;
    pthread_mutex_lock(&d->mu);
    d->stop = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->writer, NULL);
    for (size_t i = 0; i < IDX_BUCKETS; i++)
        while (d->buckets[i]) { struct dentry *e = d->buckets[i]; d->buckets[i] = e->hnext; dentry_free(e); }
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d);
    *dp = NULL;
}

/* ---- store / load -------------------------------------------------------- */

static char *put_meta(char *p, const char *s)
{
    uint32_t l = s ? (uint32_t)strlen(s) : NULL_STR;
    memcpy(p, &l, 4); p += 4;
    if (s) { memcpy(p, s, l); p += l; }
    return p;
}

void disk_store(struct disk *d, const struct obj *o)
{
    if (!o->indexed || o->state != OBJ_DONE || !o->retain || !o->ce) return;
    const char *key = o->ce->key;
    uint32_t klen = o->ce->klen;
    size_t ml = 16 + (o->via ? strlen(o->via) : 0) + (o->etag ? strlen(o->etag) : 0) +
                (o->last_modified ? strlen(o->last_modified) : 0) + (o->skeys ? strlen(o->skeys) : 0);
    size_t total = sizeof(struct disk_hdr) + klen + o->vary_len + o->head_len + ml + o->body_len;
    if (total > d->max_bytes / 2) return;
    char *buf = malloc(total);
    if (!buf) return;
    struct disk_hdr h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, DISK_MAGIC, 8);
    h.key_len = klen; h.vary_len = o->vary_len; h.head_len = o->head_len; h.meta_len = (uint32_t)ml;
    h.body_len = o->body_len;
    h.response_time = o->response_time; h.initial_age = o->initial_age; h.lifetime = o->lifetime;
    h.swr = o->swr; h.sie = o->sie; h.status = o->status;
    h.flags = (o->no_cache ? 1u : 0u) | (o->must_revalidate ? 2u : 0u);
    h.fields_off = o->fields_off;
    char *p = buf + sizeof h;
    memcpy(p, key, klen); p += klen;
    if (o->vary_len) { memcpy(p, o->vary, o->vary_len); p += o->vary_len; }
    memcpy(p, o->head, o->head_len); p += o->head_len;
    char *m0 = p;
    p = put_meta(p, o->via); p = put_meta(p, o->etag); p = put_meta(p, o->last_modified); p = put_meta(p, o->skeys);
    memset(p, 0, ml - (size_t)(p - m0));      /* padding to meta_len */
    p = m0 + ml;
    for (struct chunk *c = o->first; c; c = c->next) { memcpy(p, c->data, c->len); p += c->len; }
    memcpy(buf, &h, sizeof h);
    h.checksum = checksum(CK_SEED, buf + 16, total - 16);
    memcpy(buf, &h, sizeof h);
    struct dentry *e = calloc(1, sizeof *e);
    if (!e) { free(buf); return; }
    e->key = malloc(klen + 1);
    e->vary = o->vary_len ? malloc(o->vary_len) : NULL;
    e->skeys = o->skeys ? strdup(o->skeys) : NULL;
    if (!e->key || (o->vary_len && !e->vary) || (o->skeys && !e->skeys)) { dentry_free(e); free(buf); return; }
    memcpy(e->key, key, klen); e->key[klen] = 0; e->klen = klen;
    if (o->vary_len) memcpy(e->vary, o->vary, o->vary_len);
    e->vary_len = o->vary_len;
    e->khash = fnv(key, klen);
    e->size = total;
    file_name(key, klen, o->vary, o->vary_len, e->name);
    struct dentry *old = index_find_name(d, e->khash, e->name);
    if (old) index_remove(d, old, false);      /* the new file replaces it by rename */
    d->st.writes++;
    enqueue(d, e->name, buf, total);
    index_add(d, e);
}

struct obj *disk_lookup(struct disk *d, struct store *s, const char *key, size_t klen,
                        const struct http_msg *m)
{
    uint64_t kh = fnv(key, klen);
    struct dentry *e;
    for (e = *bucket(d, kh); e; e = e->hnext)
        if (e->khash == kh && e->klen == klen && memcmp(e->key, key, klen) == 0 &&
            proxy_vary_match(e->vary, e->vary_len, m)) break;
    if (!e) return NULL;
    char path[700];
    snprintf(path, sizeof path, "%s/objects/%s", d->dir, e->name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;            /* still being written, or gone */
    struct stat sb;
    char *buf = NULL;
    struct obj *o = NULL;
    if (fstat(fd, &sb) != 0 || (uint64_t)sb.st_size != e->size) goto out;
    buf = malloc((size_t)sb.st_size);
    if (!buf || read_all(fd, buf, (size_t)sb.st_size, 0) != 0) goto out;
    struct disk_hdr h;
    memcpy(&h, buf, sizeof h);
    if (hdr_sane(&h, (uint64_t)sb.st_size) != 0 ||
        checksum(CK_SEED, buf + 16, (size_t)sb.st_size - 16) != h.checksum) {
        d->st.corrupt++;
        log_ratelimited(LOG_LVL_WARN, "disk: %s is corrupt, removed", path);
        close(fd); fd = -1;
        free(buf); buf = NULL;
        index_remove(d, e, true);
        goto out;
    }
    o = obj_new();
    if (!o) goto out;
    const char *p = buf + sizeof h + h.key_len;
    if (h.vary_len) { o->vary = malloc(h.vary_len); if (!o->vary) goto fail; memcpy(o->vary, p, h.vary_len); o->vary_len = h.vary_len; }
    p += h.vary_len;
    o->head = malloc(h.head_len);
    if (!o->head) goto fail;
    memcpy(o->head, p, h.head_len); o->head_len = h.head_len; o->fields_off = h.fields_off;
    p += h.head_len;
    const char *mp = p, *me = p + h.meta_len;
    o->via = meta_str(&mp, me); o->etag = meta_str(&mp, me); o->last_modified = meta_str(&mp, me);
    o->skeys = meta_str(&mp, me);
    if (o->last_modified) { time_t t; if (http_date_parse(o->last_modified, strlen(o->last_modified), &t) == 0) o->lm = t; }
    p += h.meta_len;
    o->clen = (int64_t)h.body_len;
    if (h.body_len && obj_append(o, p, h.body_len) != 0) goto fail;
    o->status = h.status;
    o->response_time = h.response_time; o->initial_age = h.initial_age; o->lifetime = h.lifetime;
    o->swr = h.swr; o->sie = h.sie;
    o->no_cache = h.flags & 1; o->must_revalidate = (h.flags & 2) != 0;
    o->retain = true;
    o->state = OBJ_DONE;
    struct centry *ce = store_entry(s, key, klen, true);
    if (!ce) goto fail;
    size_t mem = o->head_len + o->vary_len + 256;
    for (struct chunk *c = o->first; c; c = c->next) mem += c->cap;
    o->mem = mem;
    store_insert(s, ce, o);
    obj_unref(&o);                      /* the index holds it now */
    o = ce->variants;
    d->st.loads++;
    lru_unlink(e); lru_push(d, e);
    goto out;
fail:
    obj_unref(&o);
out:
    if (fd >= 0) close(fd);
    free(buf);
    return o;
}

void disk_remove(struct disk *d, const char *key, size_t klen)
{
    uint64_t kh = fnv(key, klen);
    struct dentry **pp = bucket(d, kh);
    while (*pp) {
        struct dentry *e = *pp;
        if (e->khash == kh && e->klen == klen && memcmp(e->key, key, klen) == 0) index_remove(d, e, true);
        else pp = &e->hnext;
    }
}

size_t disk_purge(struct disk *d, const char *prefix, const char *tag)
{
    size_t n = 0, pl = prefix ? strlen(prefix) : 0;
    char t[300];
    if (tag) snprintf(t, sizeof t, " %s ", tag);
    for (size_t i = 0; i < IDX_BUCKETS; i++) {
        struct dentry **pp = &d->buckets[i];
        while (*pp) {
            struct dentry *e = *pp;
            bool hit = prefix ? (e->klen >= pl && memcmp(e->key, prefix, pl) == 0)
                              : (e->skeys && strstr(e->skeys, t) != NULL);
            if (hit) { index_remove(d, e, true); n++; }
            else pp = &e->hnext;
        }
    }
    return n;
}

void disk_get_stats(struct disk *d, struct disk_stats *st)
{
    *st = d->st;
    st->bytes = d->bytes;
}
