/* control/config.h: the `control:` section of the steerd configuration.
 *
 *     control:
 *       listen: 127.0.0.1:8053     # default; loopback only unless allow_remote
 *       token_file: control.token  # required: bearer token for every write
 *       allow_remote: false
 *
 * Owns parsing and validating the section (file:line errors through
 * common/cfg.h) and reading the token file. Parsed at start and validated
 * again on every reload (changes take effect at the next restart, like the
 * DNS listen addresses). Pure: no sockets, no threads. */
#ifndef STEER_CONTROL_CONFIG_H
#define STEER_CONTROL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/netaddr.h"

struct cfg_ctx;
struct fy_node;

#define CONTROL_DEFAULT_PORT 8053
#define CONTROL_TOKEN_MIN 16    /* shorter tokens are guessable: refused */
#define CONTROL_TOKEN_MAX 256   /* one line; longer is not a token */

struct control_config {
    bool configured;            /* false: no `control:` section, no API */
    struct net_addr addr;
    uint16_t port;
    bool allow_remote;
    char token_file[1024];
    char token[CONTROL_TOKEN_MAX + 1];
    size_t token_len;
};

/* Parses `node` (the value of `control:`, NULL if absent) of a loaded
 * document. Returns 0, or -1 with "file:line: message" in ctx->err. */
int control_config_parse(struct cfg_ctx *ctx, struct fy_node *node, struct control_config *out);

/* Loads `path` and parses its control section. Returns 0 or -1 with the
 * error in err. */
int control_config_load(const char *path, struct control_config *out, char *err, size_t errlen);

/* Reads a token: the file's first line, without the line end. Returns the
 * token length, or -1 with a reason in why (missing, empty, too short, too
 * long, control characters). */
int control_token_read(const char *path, char *out, size_t size, char *why, size_t whylen);

#endif
