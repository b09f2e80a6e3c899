#include "common/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Chunk size: large enough that a typical zone needs few chunks, small
 * enough that an empty config costs little. */
#define ARENA_CHUNK (64 * 1024)

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
};

void arena_init(struct arena *a) { a->head = NULL; a->total = 0; }

void *arena_alloc(struct arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    struct arena_chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t csize = size > ARENA_CHUNK ? size : ARENA_CHUNK;
        c = malloc(sizeof *c + csize);
        if (!c)
            return NULL;
        c->used = 0;
        c->size = csize;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += size;
    a->total += size;
    memset(p, 0, size);
    return p;
}

void *arena_dup(struct arena *a, const void *src, size_t size)
{
    void *p = arena_alloc(a, size ? size : 1);
    if (p && size)
        memcpy(p, src, size);
    return p;
}

char *arena_strdup(struct arena *a, const char *s) { return arena_dup(a, s, strlen(s) + 1); }

void arena_free(struct arena *a)
{
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->total = 0;
}
