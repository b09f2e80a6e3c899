/* common/cfg.h: YAML configuration access with file:line errors.
 *
 * Owns loading a YAML document (libfyaml) and typed, range-checked getters.
 * Every getter reports errors as "file:line: message" into the cfg_ctx and
 * returns -1; subsystems parse their own sections with these and never print.
 * Unknown keys are errors (cfg_check_keys), so typos do not pass silently. */
#ifndef STEER_CFG_H
#define STEER_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fy_document;
struct fy_node;

#define CFG_ERR_MAX 1024

struct cfg_ctx {
    struct fy_document *doc;
    char file[512];          /* path of the loaded file, for messages */
    char dir[512];           /* directory of that file: relative paths resolve here */
    char err[CFG_ERR_MAX];   /* first error, "file:line: message" */
    char *text;              /* the source, owned: the document points into it */
};

/* Largest config file accepted: far above any real config, and it bounds
 * what a mistaken path (a log, a database) can make us read. */
#define CFG_MAX_BYTES (16u << 20)

/* Loads and parses `path`. On failure fills ctx->err and returns -1. */
int cfg_load(struct cfg_ctx *ctx, const char *path);
/* Parses YAML from memory (tests, fuzzing); `name` is used in messages. */
int cfg_load_string(struct cfg_ctx *ctx, const char *name, const char *text, size_t len);
void cfg_free(struct cfg_ctx *ctx);
struct fy_node *cfg_root(struct cfg_ctx *ctx);

/* Line (1-based) of a node, or 0 if unknown. */
int cfg_line(struct fy_node *n);
/* Records "file:line: fmt" (first error wins) and returns -1. */
int cfg_error(struct cfg_ctx *ctx, struct fy_node *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

bool cfg_is_map(struct fy_node *n);
bool cfg_is_seq(struct fy_node *n);
bool cfg_is_scalar(struct fy_node *n);

/* Value of `key` in mapping `map`, or NULL. */
struct fy_node *cfg_get(struct fy_node *map, const char *key);
/* Errors on any key of `map` not in the NULL-terminated `allowed` list. */
int cfg_check_keys(struct cfg_ctx *ctx, struct fy_node *map, const char *const *allowed);
/* Requires `n` to be a mapping (what names the section in messages). */
int cfg_expect_map(struct cfg_ctx *ctx, struct fy_node *n, const char *what);
int cfg_expect_seq(struct cfg_ctx *ctx, struct fy_node *n, const char *what);

/* Scalar text of node `n` copied to buf (NUL-terminated). */
int cfg_scalar(struct cfg_ctx *ctx, struct fy_node *n, char *buf, size_t size);

/* Typed getters for map[key]. If the key is absent: required -> error,
 * else *out = dflt and 0 is returned. Ranges are inclusive. */
int cfg_str(struct cfg_ctx *ctx, struct fy_node *map, const char *key, bool required,
            const char *dflt, char *buf, size_t size);
int cfg_u64(struct cfg_ctx *ctx, struct fy_node *map, const char *key, bool required,
            uint64_t lo, uint64_t hi, uint64_t dflt, uint64_t *out);
int cfg_u32(struct cfg_ctx *ctx, struct fy_node *map, const char *key, bool required,
            uint32_t lo, uint32_t hi, uint32_t dflt, uint32_t *out);
int cfg_double(struct cfg_ctx *ctx, struct fy_node *map, const char *key, bool required,
               double lo, double hi, double dflt, double *out);
int cfg_bool(struct cfg_ctx *ctx, struct fy_node *map, const char *key, bool dflt, bool *out);
/* Durations: "250ms", "2s", "5m", "1h", or a bare number of seconds.
 * Result in milliseconds. */
int cfg_duration_ms(struct cfg_ctx *ctx, struct fy_node *map, const char *key, bool required,
                    uint64_t lo_ms, uint64_t hi_ms, uint64_t dflt_ms, uint64_t *out);
/* Sizes: "64k", "10M", "2G" (powers of 1024) or bytes. */
int cfg_size(struct cfg_ctx *ctx, struct fy_node *map, const char *key, bool required,
             uint64_t lo, uint64_t hi, uint64_t dflt, uint64_t *out);

/* Resolves `path` relative to the config file's directory into out. */
int cfg_path(struct cfg_ctx *ctx, struct fy_node *at, const char *path, char *out, size_t size);

/* Plain parsers usable outside YAML (return 0 or -1, never print). */
int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
int parse_duration_ms(const char *s, uint64_t *out);
int parse_size(const char *s, uint64_t *out);

#endif
