/* libFuzzer target: the `health:` config section (health/config.h) from
 * arbitrary YAML. Parsed configs must satisfy the documented invariants;
 * failures must carry a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "health/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg_ctx ctx;
    struct health_config *c = NULL;
    if (cfg_load_string(&ctx, "fuzz.yaml", (const char *)data, size) == 0) {
        if (health_config_parse(&ctx, &c) == 0) {
            for (size_t i = 0; i < c->nchecks; i++) {
                const struct health_check_cfg *k = &c->checks[i];
                if (!health_name_valid(k->name) || k->rise < 1 || k->fall < 1 || k->timeout_ms > k->interval_ms ||
                    k->jitter_ms * 2 > k->interval_ms || k->interval_ms < 10)
                    abort();
                if (health_config_find(c, k->name) != k)
                    abort();
            }
            health_config_free(&c);
        } else if (!ctx.err[0] || c) {
            abort();
        }
    }
    cfg_free(&ctx);
    return 0;
}
