/* libFuzzer target: the `control:` section (control/config.h) from
 * arbitrary YAML. An accepted section must satisfy the documented
 * invariants; a refused one must carry a file:line message. Token files:
 * the target writes /tmp/fuzz_control.token once (the seeds point at it). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "tests/fuzz/fuzz_cfg.h"
#include "control/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FILE *f = fopen("/tmp/fuzz_control.token", "w");
    if (f) {
        fputs("fuzz-token-0123456789abcdef\n", f);
        fclose(f);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg_ctx ctx;
    if (!fuzz_cfg_load(&ctx, data, size))
        return 0;
    struct control_config c;
    int rc = control_config_parse(&ctx, cfg_get(cfg_root(&ctx), "control"), &c);
    if (rc < 0 && strncmp(ctx.err, "fuzz.yaml", 9) != 0)
        abort();
    if (rc == 0 && c.configured) {
        bool loop = c.addr.family == 4 ? c.addr.bytes[0] == 127 : c.addr.bytes[15] == 1;
        if (c.port == 0 || (!c.allow_remote && !loop) || c.token_len < CONTROL_TOKEN_MIN ||
            c.token_len > CONTROL_TOKEN_MAX || strlen(c.token) != c.token_len)
            abort();
    }
    cfg_free(&ctx);
    return 0;
}
