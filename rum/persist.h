/* rum/persist.h: RUM aggregates on disk, and offline CSV import.
 *
 * Snapshot file (all integers little-endian, floats IEEE-754 binary32 LE):
 *   "STEERRUM" | u32 format version (1) | u32 bins | u32 nnames | u32 ncells
 *   | i64 half_life_ms | i64 saved_ms
 *   | nnames x (u8 len, len bytes: provider name)
 *   | ncells x (u64 bucket key, i64 t_ms, u16 name index, f32 ok, fail,
 *               thr_w, thr_log, bins x f32 hist)
 *   | u32 CRC-32C of everything before it
 * Providers are stored by name, so a restart with reordered or removed
 * providers maps cells to the new ids (cells of unknown names are dropped).
 * Writing: temp file in the same directory, write, fsync, rename over the
 * old file, fsync the directory: a crash leaves the old or the new file,
 * never a torn one. Loading checks magic, version, bins, sizes and CRC
 * before touching the aggregate: a corrupt or truncated file is refused with
 * a message and the aggregate stays as it was (the daemon starts empty).
 *
 * CSV import (offline measurements), one measurement per line:
 *   timestamp_ms,client_ip,provider,kind,value
 * '#' comments and blank lines are skipped, a first line starting with
 * "timestamp" is a header. The client's geo comes from the geo set. The
 * whole file is validated first; one bad line rejects the file with
 * "file:line: message" and nothing is imported.
 *
 * Single-owner, like the aggregate: call from the thread that owns it. */
#ifndef STEER_RUM_PERSIST_H
#define STEER_RUM_PERSIST_H

#include <stddef.h>
#include <stdint.h>

#include "rum/aggregate.h"
#include "rum/beacon.h"

struct geo_set;

#define RUM_SNAP_VERSION 1
#define RUM_SNAP_MAX_FILE (2ULL << 30)   /* refuse anything larger than 2 GiB outright */
#define RUM_CSV_MAX_LINES 10000000       /* bounds the import's temporary array */

enum rum_persist_result {
    RUM_P_OK = 0,
    RUM_P_NOFILE = 1,     /* no snapshot yet: start empty, not an error */
    RUM_P_IO = -1,        /* open/read/write/fsync/rename failed */
    RUM_P_CORRUPT = -2,   /* bad magic, size, CRC or values */
    RUM_P_VERSION = -3,   /* another format version or bin count */
    RUM_P_INVALID = -4,   /* CSV: bad line */
};

struct rum_load_stats {
    size_t cells, dropped;   /* loaded / dropped (unknown provider or invalid) */
    int64_t saved_ms;
};

/* Writes a snapshot of `a` atomically to `path`. Returns RUM_P_OK or RUM_P_IO
 * (errbuf says why). */
int rum_snapshot_save(const struct rum_agg *a, const struct rum_lookup *lk, const char *path, int64_t now_ms,
                      char *err, size_t errsize);
/* Loads a snapshot into `a`. Returns RUM_P_OK, RUM_P_NOFILE, or an error
 * (errbuf says why; `a` untouched). */
int rum_snapshot_load(struct rum_agg *a, const struct rum_lookup *lk, const char *path,
                      struct rum_load_stats *st, char *err, size_t errsize);

struct rum_import_stats {
    size_t lines, imported;
};
/* Imports a CSV file (see above) into `a`. Timestamps in the future are
 * clamped to now_ms; older ones are weighed by their age. Returns RUM_P_OK,
 * RUM_P_IO or RUM_P_INVALID ("file:line: message" in err; nothing imported). */
int rum_import_csv(struct rum_agg *a, const struct geo_set *geo, const struct rum_lookup *lk, const char *path,
                   int64_t now_ms, struct rum_import_stats *st, char *err, size_t errsize);

uint32_t rum_crc32c(uint32_t crc, const void *data, size_t len);

#endif
