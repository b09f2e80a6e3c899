/* edge/store.h: the memory cache tier: objects, body chunks, index, LRU.
 *
 * Owns every cached object (struct obj) and its body chunks. An object is
 * reference counted: the index holds one reference while it is indexed, and
 * every reader (a client connection being served, a fetch filling it, an
 * evbuffer referencing a chunk) holds its own. Single-threaded: only the
 * event-loop thread calls these functions, so counts are plain integers.
 *
 * Index: a hash table (SipHash-2-4 with a random key, so crafted URLs
 * cannot degrade it) from the primary cache key (scheme://host/path?query)
 * to a struct centry, which lists the variants (different Vary'd request
 * header values) and may hold a pending fetch that later requests collapse
 * onto. Eviction: one LRU list of all indexed, complete objects; the size
 * accounted is body chunk capacity plus stored head plus key.
 *
 * Body storage is a singly linked list of chunks that only grows at the end
 * (cache-while-streaming: readers may reference bytes [0, len) of a chunk
 * while the fetch appends after len). An object that is not retained
 * (uncacheable or larger than max_object) drops chunks from the front once
 * every reader has taken a reference, so a 1 GiB pass-through never sits in
 * memory. Rejected: a ring buffer per object (copies for every reader) and
 * storing whole bodies in one realloc'd block (moves under readers). */
#ifndef STEER_EDGE_STORE_H
#define STEER_EDGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct chunk {
    struct chunk *next;     /* owned reference of the following chunk */
    uint32_t len, cap;
    int32_t refs;
    int fd;                 /* memfd backing data (mapped), or -1 for heap memory */
    void *seg;              /* struct evbuffer_file_segment over fd, created lazily */
    char *data;             /* heap: right after the struct; memfd: the mapping */
};

/* Bodies of at least this size with a known length live in one memfd-backed
 * chunk, so hits can be sent with sendfile(2) like nginx does from its
 * page cache: on loopback that saves the user-to-kernel copy, which is most
 * of the CPU cost of a 100 KiB hit. Smaller bodies stay on the heap (an fd
 * each would be wasteful). */
#define CHUNK_FD_MIN 32768

/* Chunk size for bodies of unknown or large length: 64 KiB matches the
 * socket read size and keeps per-chunk overhead under 0.1%. */
#define CHUNK_DEFAULT 65536

struct chunk *chunk_new(uint32_t cap);
/* memfd-backed chunk; NULL when memfds are unavailable (caller falls back). */
struct chunk *chunk_new_fd(uint32_t cap);
void chunk_ref(struct chunk *c);
void chunk_unref(struct chunk *c);
/* evbuffer_add_reference cleanup: drops the reference `arg` (a chunk). */
void chunk_evbuffer_cleanup(const void *data, size_t len, void *arg);

enum obj_state {
    OBJ_FILLING = 0,   /* head known, body arriving */
    OBJ_DONE,          /* complete */
    OBJ_FAILED,        /* upstream failed mid-body: never served to new readers */
};

enum obj_event { OBJ_EV_DATA = 0, OBJ_EV_DONE, OBJ_EV_FAIL };

/* A reader registered on a filling object gets events as data arrives. */
struct obj_reader {
    struct obj_reader *next, *prev;
    void (*fn)(struct obj_reader *r, enum obj_event ev);
};

#define OBJ_MAGIC 0x0b1ec7edU

struct centry;

struct obj {
    uint32_t magic;
    int32_t refs;
    enum obj_state state;
    bool indexed;          /* in a centry and the LRU */
    bool retain;           /* body kept (cacheable and within max_object) */
    bool soft_purged;      /* stale by purge: must revalidate, SWR may apply */
    struct centry *ce;     /* borrowed; valid while indexed */
    struct obj *vnext;     /* next variant of ce */
    struct obj *lru_prev, *lru_next;
    /* response */
    int status;
    char *head;            /* malloced "HTTP/1.1 NNN reason\r\n" + stored fields (no framing,
                            * hop-by-hop, Age, Via, X-Cache); no final CRLF */
    uint32_t head_len;
    uint32_t fields_off;   /* offset of the first field line in head */
    bool head_has_cl;      /* head carries upstream Content-Length (HEAD pass-through) */
    void *fill;            /* struct fetch filling this object, borrowed; NULL when done */
    char *via;             /* malloced upstream Via value or NULL */
    char *vary;            /* malloced "name\0value\0..." normalised, or NULL when no Vary */
    uint32_t vary_len;
    char *skeys;           /* malloced " key1 key2 " surrogate keys, or NULL */
    char *etag;            /* malloced or NULL */
    char *last_modified;   /* malloced or NULL */
    time_t lm;             /* parsed Last-Modified, 0 if none */
    /* freshness (RFC 9111 4.2) */
    time_t response_time;
    int64_t initial_age, lifetime, swr, sie;
    bool no_cache, must_revalidate;
    /* body */
    struct chunk *first, *last;   /* owned references */
    uint64_t first_off;    /* body offset of `first` (non-zero once dropped) */
    uint64_t body_len;     /* bytes received so far */
    int64_t clen;          /* Content-Length promised, -1 unknown */
    size_t mem;            /* bytes accounted to the store */
    struct obj_reader readers;    /* list head */
};

struct centry {
    struct centry *hnext;
    uint64_t hash;
    struct obj *variants;  /* indexed objects (each holds the index ref) */
    void *pending;         /* struct fetch in progress for this key, borrowed */
    uint32_t pins;         /* fetches referring to this entry; it lives while > 0 */
    uint32_t klen;
    char key[];
};

struct store_stats { uint64_t objects, bytes, evictions; };

struct store;

struct store *store_new(uint64_t mem_limit);
void store_free(struct store **s);
uint64_t store_hash(const struct store *s, const char *key, size_t len);
/* Entry for key: found, or created when `create` (NULL on OOM / absent). */
struct centry *store_entry(struct store *s, const char *key, size_t len, bool create);
/* Frees ce if it has no variants, no pending fetch and no pins. */
void store_entry_release(struct store *s, struct centry *ce);

struct obj *obj_new(void);
void obj_ref(struct obj *o);
void obj_unref(struct obj **o);
/* Appends body bytes (copy). Returns 0, or -1 on OOM. */
int obj_append(struct obj *o, const char *p, size_t n);
/* Notifies every reader; the reader may unregister itself in its callback. */
void obj_notify(struct obj *o, enum obj_event ev);
void obj_reader_add(struct obj *o, struct obj_reader *r);
void obj_reader_del(struct obj_reader *r);
/* Drops chunks at the front that no reader needs (non-retained objects). */
void obj_trim(struct obj *o);
/* Current age in seconds at `now`. */
int64_t obj_age(const struct obj *o, time_t now);
/* True when age < lifetime and not soft-purged and not no-cache. */
bool obj_fresh(const struct obj *o, time_t now);

/* Indexes o as a variant of ce, replacing a variant with equal Vary values.
 * Takes a new reference. */
void store_insert(struct store *s, struct centry *ce, struct obj *o);
/* Unindexes o (drops the index reference); frees ce if it becomes empty. */
void store_remove(struct store *s, struct obj *o);
/* Moves o to the LRU head (a hit). */
void store_touch(struct store *s, struct obj *o);
/* Adds `delta` bytes to o's accounting and evicts LRU objects over the limit. */
void store_grow(struct store *s, struct obj *o, size_t delta);
/* Calls fn on every indexed object; fn may store_remove it. Returns count. */
size_t store_foreach(struct store *s, void (*fn)(struct store *, struct obj *, void *), void *ctx);
void store_get_stats(const struct store *s, struct store_stats *st);

#endif
