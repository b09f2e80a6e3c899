/* tests/fuzz/fuzz_rum_snapshot.c: the snapshot loader on arbitrary files
 * (written to a temp file, loaded into an aggregate). A corrupt file must be
 * refused without touching the aggregate; an accepted one must only hold
 * valid cells. Inputs are given a valid CRC half of the time so that the
 * parser behind the checksum is reached too. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rum/persist.h"

static int prov(void *ctx, const char *n)
{
    return !strcmp(n, "cdn-a") ? 0 : !strcmp(n, "cdn-b") ? 1 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz_rum_snapshot.%ld", (long)getpid());
    uint8_t *buf = malloc(size + 4);
    memcpy(buf, data, size);
    size_t len = size;
    if (size > 0 && (data[0] & 1)) {   /* append a valid CRC */
        uint32_t crc = rum_crc32c(0, buf, size);
        for (int i = 0; i < 4; i++)
            buf[size + i] = (uint8_t)(crc >> (8 * i));
        len += 4;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(buf);
        return 0;
    }
    fwrite(buf, 1, len, f);
    fclose(f);
    free(buf);
    struct rum_agg *a = rum_agg_new(32, 60000);
    struct rum_lookup lk = { .provider = prov };
    char err[256];
    struct rum_load_stats st;
    int rc = rum_snapshot_load(a, &lk, path, &st, err, sizeof err);
    if (rc != RUM_P_OK)
        assert(rum_agg_count(a) == 0);
    for (size_t i = 0; i < rum_agg_count(a); i++) {
        const struct rum_cell *c = rum_agg_cell(a, i);
        assert(c->prov <= 1 && isfinite(c->ok) && c->ok >= 0 && isfinite(c->fail) && c->fail >= 0);
        struct rum_stats s;
        rum_cell_stats(c, 60000, c->t_ms, 0.5, &s);
        assert(isfinite(s.p50) && s.p50 >= 0);
    }
    rum_agg_free(&a);
    unlink(path);
    return 0;
}
