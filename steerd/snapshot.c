#include "steerd/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct snapshot *snapshot_build(const char *path, uint64_t generation, char *err, size_t errlen)
{
    struct cfg_ctx ctx;
    struct snapshot *s = calloc(1, sizeof *s);
    struct dns_zone_src *src = NULL;
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->magic = SNAPSHOT_MAGIC;
    s->generation = generation;
    s->loaded_at = time(NULL);
    if (cfg_load(&ctx, path) < 0 || steerd_config_parse(&ctx, &s->cfg) < 0) {
        snprintf(err, errlen, "%s", ctx.err);
        goto fail;
    }
    src = calloc(s->cfg.nzones, sizeof *src);
    if (!src) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < s->cfg.nzones; i++)
        src[i] = (struct dns_zone_src){ s->cfg.zones[i].name, s->cfg.zones[i].file, ctx.file, s->cfg.zones[i].line };
    if (dns_db_build(src, s->cfg.nzones, NULL, 0, &s->db, err, errlen) < 0)
        goto fail;
    s->view.db = s->db;
    s->view.udp_max = s->cfg.udp_max;
    s->view.dynamic = NULL;
    s->view.dynamic_ctx = s;
    free(src);
    cfg_free(&ctx);
    return s;
fail:
    free(src);
    cfg_free(&ctx);
    snapshot_free(&s);
    return NULL;
}

void snapshot_free(struct snapshot **sp)
{
    struct snapshot *s = *sp;
    if (!s)
        return;
    dns_db_free(&s->db);
    steerd_config_free(&s->cfg);
    s->magic = 0;
    free(s);
    *sp = NULL;
}
