/* tests/fuzz/fuzz_cfg.h: the shared front of the config fuzz targets that
 * test our section parsers rather than libfyaml: the input filter and the
 * load, with the invariant that a refused document always has a message. */
#ifndef STEER_FUZZ_CFG_H
#define STEER_FUZZ_CFG_H

#include <stdint.h>
#include <stdlib.h>

#include "common/cfg.h"

/* libfyaml leaks inside some malformed documents (see fuzz_health_config.c);
 * ours are still reported. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfyaml.so\n";
}

/* Loads data as "fuzz.yaml" into ctx. Returns 1 when loaded (the caller
 * parses, then cfg_free), 0 when the input is skipped or refused by the
 * YAML layer (ctx already freed). Only printable ASCII and line breaks are
 * let through: our parsers are under test, not libfyaml's Unicode handling. */
static inline int fuzz_cfg_load(struct cfg_ctx *ctx, const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (data[i] >= 0x7f || (data[i] < 0x20 && data[i] != '\n' && data[i] != '\t'))
            return 0;
    if (cfg_load_string(ctx, "fuzz.yaml", (const char *)data, size) < 0) {
        if (!ctx->err[0])
            abort();
        cfg_free(ctx);
        return 0;
    }
    return 1;
}

#endif
