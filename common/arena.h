/* common/arena.h: bump allocator for structures built once and freed whole
 * (compiled zones, policies). Not thread-safe; build on one thread, then
 * publish the result read-only. */
#ifndef STEER_ARENA_H
#define STEER_ARENA_H

#include <stddef.h>

struct arena_chunk;
struct arena {
    struct arena_chunk *head;
    size_t total;           /* bytes handed out, for stats */
};

void arena_init(struct arena *a);
/* Zeroed, 16-byte aligned memory; NULL on allocation failure. */
void *arena_alloc(struct arena *a, size_t size);
void *arena_dup(struct arena *a, const void *src, size_t size);
char *arena_strdup(struct arena *a, const char *s);
void arena_free(struct arena *a);

#endif
