/* edge/disk.h: the disk cache tier (size-bounded, survives restarts).
 *
 * Owns a directory of object files, one per variant, named by the SHA-256
 * of (primary key, Vary values), and an in-memory index of them rebuilt at
 * start-up by reading each file's header. Crash safety: a file is written
 * as <dir>/tmp/<name>.<n>, fsync'ed, renamed into place and the directory
 * fsync'ed, so a killed process leaves either the old file, the new one, or
 * a temp file that start-up deletes; every file carries a checksum over
 * header and payload that is verified on each load, so a torn or corrupted
 * file is deleted, never served.
 *
 * Threads: all functions are called from the event-loop thread; writes are
 * serialised into one buffer there and handed to a writer thread (the only
 * other thread touching the directory), so fsync never blocks the loop.
 * Loads are synchronous reads on a memory miss (normally page-cache hits);
 * a loaded object is inserted into the memory tier and served from there.
 * Soft purges remove disk copies (the memory copy keeps the soft state). */
#ifndef STEER_EDGE_DISK_H
#define STEER_EDGE_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edge/http.h"
#include "edge/store.h"

struct disk;

struct disk_stats { uint64_t files, bytes, writes, loads, corrupt, evictions; };

/* Opens (creating) dir, removes temp files, indexes valid objects and
 * starts the writer thread. Returns NULL and fills err on failure. */
struct disk *disk_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen);
/* Stops the writer (after finishing queued writes) and frees everything. */
void disk_close(struct disk **d);

/* Finds a stored variant of `key` matching request m, loads it into the
 * memory store (indexed, complete) and returns it (borrowed), or NULL. */
struct obj *disk_lookup(struct disk *d, struct store *s, const char *key, size_t klen,
                        const struct http_msg *m);
/* Queues a complete, indexed object for writing (replacing its variant). */
void disk_store(struct disk *d, const struct obj *o);
/* Removes every variant of key. */
void disk_remove(struct disk *d, const char *key, size_t klen);
/* Removes entries whose key starts with prefix, or whose surrogate keys
 * contain `tag` (exactly one of them non-NULL). Returns the count. */
size_t disk_purge(struct disk *d, const char *prefix, const char *tag);
void disk_get_stats(struct disk *d, struct disk_stats *st);

#endif
