/* edge/store.c: memory tier (see store.h). */
#include "edge/store.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include <event2/buffer.h>

/* ---- chunks ----------------------------------------------------------- */

struct chunk *chunk_new(uint32_t cap)
{
    struct chunk *c = malloc(sizeof *c + cap);
    if (!c) return NULL;
    c->next = NULL; c->len = 0; c->cap = cap; c->refs = 1;
    c->fd = -1; c->seg = NULL;
    c->data = (char *)(c + 1);
    return c;
}

struct chunk *chunk_new_fd(uint32_t cap)
{
    int fd = memfd_create("edged-obj", MFD_CLOEXEC);
    if (fd < 0) return NULL;
    if (ftruncate(fd, cap) != 0) { close(fd); return NULL; }
    void *m = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) { close(fd); return NULL; }
    struct chunk *c = malloc(sizeof *c);
    if (!c) { munmap(m, cap); close(fd); return NULL; }
    c->next = NULL; c->len = 0; c->cap = cap; c->refs = 1;
    c->fd = fd; c->seg = NULL;
    c->data = m;
    return c;
}

static void chunk_destroy(struct chunk *c)
{
    if (c->fd >= 0) {
        munmap(c->data, c->cap);
        /* the segment owns the fd (EVBUF_FS_CLOSE_ON_FREE) and stays alive
         * while an evbuffer still references it */
        if (c->seg) evbuffer_file_segment_free(c->seg);
        else close(c->fd);
    }
    free(c);
}

void chunk_ref(struct chunk *c) { c->refs++; }

void chunk_unref(struct chunk *c)
{
    /* Iterative so a long chain is not freed recursively. */
    while (c && --c->refs == 0) {
        struct chunk *n = c->next;
        chunk_destroy(c);
        c = n;
    }
}

void chunk_evbuffer_cleanup(const void *data, size_t len, void *arg)
{
    (void)data; (void)len;
    chunk_unref(arg);
}

/* ---- SipHash-2-4 ------------------------------------------------------ */

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { \
    v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
    v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
    v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
    v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); } while (0)

static uint64_t siphash(const uint64_t k[2], const char *in, size_t len)
{
    uint64_t v0 = 0x736f6d6570736575ULL ^ k[0], v1 = 0x646f72616e646f6dULL ^ k[1];
    uint64_t v2 = 0x6c7967656e657261ULL ^ k[0], v3 = 0x7465646279746573ULL ^ k[1];
    const unsigned char *p = (const unsigned char *)in;
    size_t blocks = len / 8;
    for (size_t i = 0; i < blocks; i++, p += 8) {
        uint64_t m;
        memcpy(&m, p, 8);          /* little-endian hosts only (x86-64, arm64) */
        v3 ^= m; SIPROUND; SIPROUND; v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < (len & 7); i++) b |= (uint64_t)p[i] << (8 * i);
    v3 ^= b; SIPROUND; SIPROUND; v0 ^= b;
    v2 ^= 0xff; SIPROUND; SIPROUND; SIPROUND; SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- store ------------------------------------------------------------ */

struct store {
    uint64_t key[2];
    struct centry **buckets;
    size_t nbuckets, nentries;
    struct obj lru;            /* sentinel: lru.lru_next is most recent */
    uint64_t limit, bytes, objects, evictions;
};

/* Initial bucket count; the table doubles when entries exceed buckets. */
#define STORE_INIT_BUCKETS 1024

struct store *store_new(uint64_t mem_limit)
{
    struct store *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->buckets = calloc(STORE_INIT_BUCKETS, sizeof *s->buckets);
    if (!s->buckets) { free(s); return NULL; }
    s->nbuckets = STORE_INIT_BUCKETS;
    if (getrandom(s->key, sizeof s->key, 0) != sizeof s->key) { s->key[0] = (uint64_t)(uintptr_t)s; s->key[1] = 0x5eed; }
    s->lru.lru_next = s->lru.lru_prev = &s->lru;
    s->limit = mem_limit;
    return s;
}

uint64_t store_hash(const struct store *s, const char *key, size_t len) { return siphash(s->key, key, len); }

static void lru_unlink(struct obj *o)
{
    if (!o->lru_next) return;
    o->lru_prev->lru_next = o->lru_next;
    o->lru_next->lru_prev = o->lru_prev;
    o->lru_next = o->lru_prev = NULL;
}

static void lru_push(struct store *s, struct obj *o)
{
    o->lru_next = s->lru.lru_next;
    o->lru_prev = &s->lru;
    s->lru.lru_next->lru_prev = o;
    s->lru.lru_next = o;
}

void store_free(struct store **sp)
{
    struct store *s = *sp;
    if (!s) return;
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct centry *ce = s->buckets[i];
        while (ce) {
            struct centry *n = ce->hnext;
            struct obj *o = ce->variants;
            while (o) {
                struct obj *vn = o->vnext;
                o->indexed = false; o->ce = NULL; o->vnext = NULL;
                lru_unlink(o);
                obj_unref(&o);
                o = vn;
            }
            free(ce);
            ce = n;
        }
    }
    free(s->buckets);
    free(s);
    *sp = NULL;
}

static void grow_table(struct store *s)
{
    size_t nb = s->nbuckets * 2;
    struct centry **b = calloc(nb, sizeof *b);
    if (!b) return;                          /* keep working with longer chains */
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct centry *ce = s->buckets[i];
        while (ce) {
            struct centry *n = ce->hnext;
            size_t j = ce->hash & (nb - 1);
            ce->hnext = b[j]; b[j] = ce;
            ce = n;
        }
    }
    free(s->buckets);
    s->buckets = b; s->nbuckets = nb;
}

struct centry *store_entry(struct store *s, const char *key, size_t len, bool create)
{
    uint64_t h = siphash(s->key, key, len);
    for (struct centry *ce = s->buckets[h & (s->nbuckets - 1)]; ce; ce = ce->hnext)
        if (ce->hash == h && ce->klen == len && memcmp(ce->key, key, len) == 0) return ce;
    if (!create) return NULL;
    struct centry *ce = malloc(sizeof *ce + len + 1);
    if (!ce) return NULL;
    ce->hash = h; ce->klen = (uint32_t)len; ce->variants = NULL; ce->pending = NULL; ce->pins = 0;
    memcpy(ce->key, key, len); ce->key[len] = 0;
    size_t i = h & (s->nbuckets - 1);
    ce->hnext = s->buckets[i]; s->buckets[i] = ce;
    if (++s->nentries > s->nbuckets) grow_table(s);
    return ce;
}

void store_entry_release(struct store *s, struct centry *ce)
{
    if (ce->variants || ce->pending || ce->pins) return;
    struct centry **pp = &s->buckets[ce->hash & (s->nbuckets - 1)];
    while (*pp && *pp != ce) pp = &(*pp)->hnext;
    assert(*pp == ce);
    *pp = ce->hnext;
    s->nentries--;
    free(ce);
}

/* ---- objects ---------------------------------------------------------- */

struct obj *obj_new(void)
{
    struct obj *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->magic = OBJ_MAGIC;
    o->refs = 1;
    o->clen = -1;
    o->readers.next = o->readers.prev = &o->readers;
    return o;
}

void obj_ref(struct obj *o) { assert(o->magic == OBJ_MAGIC); o->refs++; }

void obj_unref(struct obj **op)
{
    struct obj *o = *op;
    *op = NULL;
    if (!o) return;
    assert(o->magic == OBJ_MAGIC && o->refs > 0);
    if (--o->refs) return;
    assert(!o->indexed && o->readers.next == &o->readers);
    chunk_unref(o->first);
    free(o->head); free(o->via); free(o->vary); free(o->skeys);
    free(o->etag); free(o->last_modified);
    o->magic = 0;
    free(o);
}

int obj_append(struct obj *o, const char *p, size_t n)
{
    while (n) {
        struct chunk *c = o->last;
        if (!c || c->len == c->cap) {
            uint32_t cap = CHUNK_DEFAULT;
            /* Exact-size chunk when the length is known and small: a 1 KiB
             * object then costs 1 KiB, not 64. */
            if (o->clen >= 0 && (uint64_t)o->clen - o->body_len < CHUNK_DEFAULT)
                cap = (uint32_t)((uint64_t)o->clen - o->body_len);
            if (cap < n && n < CHUNK_DEFAULT) cap = CHUNK_DEFAULT;
            if (cap == 0) cap = CHUNK_DEFAULT;
            struct chunk *nc = NULL;
            if (o->retain && !c && o->clen >= CHUNK_FD_MIN && o->clen <= UINT32_MAX)
                nc = chunk_new_fd((uint32_t)o->clen);       /* whole body in one memfd */
            if (!nc) nc = chunk_new(cap);
            if (!nc) return -1;
            if (c) c->next = nc; else { o->first = nc; }
            o->last = nc;
            c = nc;
        }
        size_t k = c->cap - c->len < n ? c->cap - c->len : n;
        memcpy(c->data + c->len, p, k);
        c->len += (uint32_t)k;
        o->body_len += k;
        p += k; n -= k;
    }
    return 0;
}

void obj_reader_add(struct obj *o, struct obj_reader *r)
{
    r->next = &o->readers;
    r->prev = o->readers.prev;
    o->readers.prev->next = r;
    o->readers.prev = r;
}

void obj_reader_del(struct obj_reader *r)
{
    if (!r->next) return;
    r->prev->next = r->next;
    r->next->prev = r->prev;
    r->next = r->prev = NULL;
}

void obj_notify(struct obj *o, enum obj_event ev)
{
    /* A reader may remove itself (and only itself) in its callback: take
     * the successor first. A sentinel-terminated walk, bounded by list size. */
    struct obj_reader *r = o->readers.next;
    while (r != &o->readers) {
        struct obj_reader *n = r->next;
        r->fn(r, ev);
        r = n;
    }
}

void obj_trim(struct obj *o)
{
    if (o->retain) return;
    /* Readers hold references to the chunks they are on, so the object
     * may drop its own reference to all but the last (still filling). */
    while (o->first && o->first != o->last) {
        struct chunk *c = o->first;
        o->first = c->next;
        chunk_ref(o->first);
        o->first_off += c->len;
        chunk_unref(c);
    }
}

int64_t obj_age(const struct obj *o, time_t now)
{
    int64_t resident = (int64_t)now - (int64_t)o->response_time;
    if (resident < 0) resident = 0;
    return o->initial_age + resident;
}

bool obj_fresh(const struct obj *o, time_t now)
{
    return !o->soft_purged && !o->no_cache && obj_age(o, now) < o->lifetime;
}

/* ---- index ------------------------------------------------------------ */

static bool same_vary(const struct obj *a, const struct obj *b)
{
    if (a->vary_len != b->vary_len) return false;
    return a->vary_len == 0 || memcmp(a->vary, b->vary, a->vary_len) == 0;
}

static void remove_obj(struct store *s, struct obj *o, bool release_entry);

void store_insert(struct store *s, struct centry *ce, struct obj *o)
{
    assert(!o->indexed);
    for (struct obj *v = ce->variants; v; ) {
        struct obj *n = v->vnext;
        if (same_vary(v, o)) remove_obj(s, v, false);   /* ce must survive: o goes in */
        v = n;
    }
    obj_ref(o);
    o->indexed = true;
    o->ce = ce;
    o->vnext = ce->variants;
    ce->variants = o;
    lru_push(s, o);
    s->objects++;
    s->bytes += o->mem;
}

void store_remove(struct store *s, struct obj *o) { remove_obj(s, o, true); }

static void remove_obj(struct store *s, struct obj *o, bool release_entry)
{
    if (!o->indexed) return;
    struct centry *ce = o->ce;
    struct obj **pp = &ce->variants;
    while (*pp && *pp != o) pp = &(*pp)->vnext;
    assert(*pp == o);
    *pp = o->vnext;
    o->vnext = NULL;
    o->indexed = false;
    o->ce = NULL;
    lru_unlink(o);
    s->objects--;
    s->bytes -= o->mem;
    if (release_entry) store_entry_release(s, ce);
    obj_unref(&o);
}

void store_touch(struct store *s, struct obj *o)
{
    if (!o->indexed || s->lru.lru_next == o) return;
    lru_unlink(o);
    lru_push(s, o);
}

static void evict(struct store *s)
{
    /* Walk from the LRU tail; filling objects are skipped (their readers
     * and fetch need them). Bounded by the number of objects. */
    struct obj *o = s->lru.lru_prev;
    while (s->bytes > s->limit && o != &s->lru) {
        struct obj *p = o->lru_prev;
        if (o->state != OBJ_FILLING) { s->evictions++; store_remove(s, o); }
        o = p;
    }
}

void store_grow(struct store *s, struct obj *o, size_t delta)
{
    o->mem += delta;
    if (o->indexed) {
        s->bytes += delta;
        if (s->bytes > s->limit) evict(s);
    }
}

size_t store_foreach(struct store *s, void (*fn)(struct store *, struct obj *, void *), void *ctx)
{
    size_t n = 0;
    for (struct obj *o = s->lru.lru_next, *next; o != &s->lru; o = next) {
        next = o->lru_next;
        /* fn may remove o, and removing o may free its centry, never others */
        fn(s, o, ctx);
        n++;
    }
    return n;
}

void store_get_stats(const struct store *s, struct store_stats *st)
{
    st->objects = s->objects; st->bytes = s->bytes; st->evictions = s->evictions;
}
