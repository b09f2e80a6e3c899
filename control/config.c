#include "control/config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cfg.h"

int control_token_read(const char *path, char *out, size_t size, char *why, size_t whylen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, whylen, "cannot read token file %s: %s", path, strerror(errno));
        return -1;
    }
    /* one line at most CONTROL_TOKEN_MAX long, plus room to detect longer */
    char line[CONTROL_TOKEN_MAX + 3];
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    size_t len = strcspn(line, "\r\n");
    if (len > CONTROL_TOKEN_MAX || len + 1 > size) {
        snprintf(why, whylen, "token in %s is longer than %d bytes", path, CONTROL_TOKEN_MAX);
        return -1;
    }
    if (len < CONTROL_TOKEN_MIN) {
        snprintf(why, whylen, "token in %s is %s (at least %d bytes)", path, len ? "too short" : "empty",
                 CONTROL_TOKEN_MIN);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c <= ' ' || c >= 0x7f) {
            snprintf(why, whylen, "token in %s has a space or control character", path);
            return -1;
        }
    }
    memcpy(out, line, len);
    out[len] = '\0';
    return (int)len;
}

static bool is_loopback(const struct net_addr *a)
{
    static const uint8_t v6lo[16] = { [15] = 1 };
    return a->family == 4 ? a->bytes[0] == 127 : !memcmp(a->bytes, v6lo, 16);
}

int control_config_parse(struct cfg_ctx *ctx, struct fy_node *node, struct control_config *out)
{
    static const char *const keys[] = { "listen", "token_file", "allow_remote", NULL };
    memset(out, 0, sizeof *out);
    if (!node)
        return 0;
    if (cfg_expect_map(ctx, node, "control") < 0 || cfg_check_keys(ctx, node, keys) < 0)
        return -1;
    out->configured = true;
    char listen[300], tf[1024];
    if (cfg_str(ctx, node, "listen", false, "127.0.0.1:8053", listen, sizeof listen) < 0 ||
        cfg_bool(ctx, node, "allow_remote", false, &out->allow_remote) < 0 ||
        cfg_str(ctx, node, "token_file", true, NULL, tf, sizeof tf) < 0)
        return -1;
    struct fy_node *at = cfg_get(node, "listen") ? cfg_get(node, "listen") : node;
    if (net_hostport_parse(listen, CONTROL_DEFAULT_PORT, &out->addr, &out->port) < 0 || out->port == 0)
        return cfg_error(ctx, at, "control.listen: '%s' is not ADDRESS:PORT", listen);
    if (!out->allow_remote && !is_loopback(&out->addr))
        return cfg_error(ctx, at, "control.listen: %s is not a loopback address (set allow_remote: true to expose the control API)",
                         listen);
    struct fy_node *tn = cfg_get(node, "token_file");
    if (cfg_path(ctx, tn, tf, out->token_file, sizeof out->token_file) < 0)
        return -1;
    char why[1200];
    int len = control_token_read(out->token_file, out->token, sizeof out->token, why, sizeof why);
    if (len < 0)
        return cfg_error(ctx, tn, "control.token_file: %s", why);
    out->token_len = (size_t)len;
    return 0;
}

int control_config_load(const char *path, struct control_config *out, char *err, size_t errlen)
{
    struct cfg_ctx ctx;
    int rc = -1;
    if (cfg_load(&ctx, path) == 0)
        rc = control_config_parse(&ctx, cfg_get(cfg_root(&ctx), "control"), out);
    if (rc < 0)
        snprintf(err, errlen, "%s", ctx.err);
    cfg_free(&ctx);
    return rc;
}
