/* libFuzzer target: steerd's own sections (server:, including
 * server.query_log, and zones:) from arbitrary YAML (steerd/config.h). An
 * accepted config must satisfy the documented ranges; a refused one must
 * carry a file:line message. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "tests/fuzz/fuzz_cfg.h"
#include "steerd/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg_ctx ctx;
    if (!fuzz_cfg_load(&ctx, data, size))
        return 0;
    struct steerd_config c;
    int rc = steerd_config_parse(&ctx, &c);
    if (rc < 0 && strncmp(ctx.err, "fuzz.yaml", 9) != 0)
        abort();
    if (rc == 0) {
        const struct querylog_cfg *q = &c.query_log;
        if (q->enabled && (q->sample < 1 || q->sample > QUERYLOG_SAMPLE_MAX || !q->path[0] ||
                           strnlen(q->path, sizeof q->path) == sizeof q->path))
            abort();
        if (!q->enabled && (q->sample || q->path[0]))
            abort();
        if (!c.server.nlisten || c.server.nlisten > DNS_MAX_LISTEN || !c.nzones || c.udp_max < 512 ||
            c.udp_max > 4096)
            abort();
    }
    steerd_config_free(&c);
    cfg_free(&ctx);
    return 0;
}
