#include "common/cfg.h"

#include <errno.h>
#include <libfyaml.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* libfyaml's own output is discarded: errors are collected (see
 * fy_diag_set_collect_errors) and reported as file:line by load_common. */
static void diag_discard(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
    (void)diag; (void)user; (void)buf; (void)len;
}

static void set_dir(struct cfg_ctx *ctx, const char *path)
{
    snprintf(ctx->file, sizeof ctx->file, "%s", path);
    snprintf(ctx->dir, sizeof ctx->dir, "%s", path);
    char *slash = strrchr(ctx->dir, '/');
    if (slash)
        slash[slash == ctx->dir ? 1 : 0] = '\0';
    else
        snprintf(ctx->dir, sizeof ctx->dir, ".");
}

/* Line of the first byte that is NUL or not well-formed UTF-8, or 0.
 * libfyaml 0.7 can loop forever on such input, so it never gets there. */
static int bad_text_line(const unsigned char *s, size_t len)
{
    int line = 1;
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        size_t n;
        unsigned cp, min;
        if (c == '\n') line++;
        if (c == 0) return line;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xe0) == 0xc0) { n = 1; cp = c & 0x1f; min = 0x80; }
        else if ((c & 0xf0) == 0xe0) { n = 2; cp = c & 0x0f; min = 0x800; }
        else if ((c & 0xf8) == 0xf0) { n = 3; cp = c & 0x07; min = 0x10000; }
        else return line;
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
                return line;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return line;    /* overlong, out of range, or a surrogate */
        i += n + 1;
    }
    return 0;
}

static int load_common(struct cfg_ctx *ctx, const char *name, const char *path, const char *text, size_t len)
{
    (void)path;
    int bad = bad_text_line((const unsigned char *)text, len);
    if (bad) {
        snprintf(ctx->err, sizeof ctx->err, "%s:%d: NUL byte or invalid UTF-8", name, bad);
        return -1;
    }
    ctx->text = malloc(len + 1);
    if (!ctx->text) {
        snprintf(ctx->err, sizeof ctx->err, "%s: out of memory", name);
        return -1;
    }
    memcpy(ctx->text, text, len);
    ctx->text[len] = '\0';
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = diag_discard;
    dcfg.user = ctx;
    dcfg.colorize = false;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    if (!diag)
        return cfg_error(ctx, NULL, "cannot create YAML diagnostics");
    fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg pcfg = { .flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_AUTO | FYPCF_JSON_NONE, .diag = diag };
    ctx->doc = fy_document_build_from_string(&pcfg, ctx->text, len);
    if (!ctx->doc) {
        void *it = NULL;
        struct fy_diag_error *e = fy_diag_errors_iterate(diag, &it);
        if (e)
            snprintf(ctx->err, sizeof ctx->err, "%s:%d: %s", name, e->line + 1, e->msg);
        else
            snprintf(ctx->err, sizeof ctx->err, "%s: cannot parse YAML", name);
        fy_diag_destroy(diag);
        return -1;
    }
    fy_diag_destroy(diag);
    if (!fy_document_root(ctx->doc))
        return cfg_error(ctx, NULL, "empty configuration");
    return 0;
}

int cfg_load(struct cfg_ctx *ctx, const char *path)
{
    memset(ctx, 0, sizeof *ctx);
    set_dir(ctx, path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(ctx->err, sizeof ctx->err, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    size_t want = fstat(fileno(f), &st) == 0 && st.st_size > 0 && st.st_size <= CFG_MAX_BYTES
                      ? (size_t)st.st_size + 1 : CFG_MAX_BYTES + 1;
    char *buf = malloc(want);
    size_t len = buf ? fread(buf, 1, want, f) : 0;
    int rerr = ferror(f);
    fclose(f);
    if (!buf || rerr || len > CFG_MAX_BYTES || (len == want && want <= CFG_MAX_BYTES)) {
        snprintf(ctx->err, sizeof ctx->err, "%s: %s", path,
                 !buf ? "out of memory" : rerr ? "read error" : "file larger than 16 MiB");
        free(buf);
        return -1;
    }
    int r = load_common(ctx, path, path, buf, len);
    free(buf);
    return r;
}

int cfg_load_string(struct cfg_ctx *ctx, const char *name, const char *text, size_t len)
{
    memset(ctx, 0, sizeof *ctx);
    set_dir(ctx, name);
    return load_common(ctx, name, NULL, text, len);
}

void cfg_free(struct cfg_ctx *ctx)
{
    if (ctx->doc)
        fy_document_destroy(ctx->doc);
    ctx->doc = NULL;
    free(ctx->text);
    ctx->text = NULL;
}

struct fy_node *cfg_root(struct cfg_ctx *ctx) { return ctx->doc ? fy_document_root(ctx->doc) : NULL; }

int cfg_line(struct fy_node *n)
{
    if (!n)
        return 0;
    struct fy_token *t = NULL;
    switch (fy_node_get_type(n)) {
    case FYNT_SCALAR:
        t = fy_node_get_scalar_token(n);
        break;
    case FYNT_MAPPING: {
        struct fy_node_pair *p = fy_node_mapping_get_by_index(n, 0);
        return p ? cfg_line(fy_node_pair_key(p)) : 0;
    }
    case FYNT_SEQUENCE:
        return cfg_line(fy_node_sequence_get_by_index(n, 0));
    }
    if (!t)
        return 0;
    const struct fy_mark *m = fy_token_start_mark(t);
    return m ? m->line + 1 : 0;
}

int cfg_error(struct cfg_ctx *ctx, struct fy_node *at, const char *fmt, ...)
{
    if (ctx->err[0])
        return -1;
    char msg[CFG_ERR_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = cfg_line(at);
    if (line > 0)
        snprintf(ctx->err, sizeof ctx->err, "%s:%d: %s", ctx->file, line, msg);
    else
        snprintf(ctx->err, sizeof ctx->err, "%s: %s", ctx->file, msg);
    return -1;
}

bool cfg_is_map(struct fy_node *n) { return n && fy_node_get_type(n) == FYNT_MAPPING; }
bool cfg_is_seq(struct fy_node *n) { return n && fy_node_get_type(n) == FYNT_SEQUENCE; }
bool cfg_is_scalar(struct fy_node *n) { return n && fy_node_get_type(n) == FYNT_SCALAR; }

struct fy_node *cfg_get(struct fy_node *map, const char *key)
{
    if (!cfg_is_map(map))
        return NULL;
    return fy_node_mapping_lookup_by_string(map, key, strlen(key));
}

/* A key's node, for messages about the key rather than its value. */
static struct fy_node *key_node(struct fy_node *map, const char *key)
{
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(map, &it))) {
        size_t len;
        const char *k = fy_node_get_scalar(fy_node_pair_key(p), &len);
        if (k && len == strlen(key) && memcmp(k, key, len) == 0)
            return fy_node_pair_key(p);
    }
    return map;
}

int cfg_check_keys(struct cfg_ctx *ctx, struct fy_node *map, const char *const *allowed)
{
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(map, &it))) {
        struct fy_node *k = fy_node_pair_key(p);
        size_t len;
        const char *ks = cfg_is_scalar(k) ? fy_node_get_scalar(k, &len) : NULL;
        if (!ks)
            return cfg_error(ctx, k, "mapping key must be a plain string");
        bool found = false;
        for (const char *const *a = allowed; *a; a++)
            if (strlen(*a) == len && memcmp(*a, ks, len) == 0)
                found = true;
        if (!found)
            return cfg_error(ctx, k, "unknown key '%.*s'", (int)len, ks);
    }
    return 0;
}

int cfg_expect_map(struct cfg_ctx *ctx, struct fy_node *n, const char *what)
{
    return cfg_is_map(n) ? 0 : cfg_error(ctx, n, "%s must be a mapping", what);
}

int cfg_expect_seq(struct cfg_ctx *ctx, struct fy_node *n, const char *what)
{
    return cfg_is_seq(n) ? 0 : cfg_error(ctx, n, "%s must be a list", what);
}

int cfg_scalar(struct cfg_ctx *ctx, struct fy_node *n, char *buf, size_t size)
{
    if (!cfg_is_scalar(n))
        return cfg_error(ctx, n, "expected a scalar value");
    size_t len;
    const char *s = fy_node_get_scalar(n, &len);
    if (!s)
        return cfg_error(ctx, n, "expected a scalar value");
    if (len >= size)
        return cfg_error(ctx, n, "value too long (max %zu characters)", size - 1);
    if (memchr(s, '\0', len))
        return cfg_error(ctx, n, "value contains a NUL character");
    memcpy(buf, s, len);
    buf[len] = '\0';
    return 0;
}

/* Fetches map[key] as text; returns 1 if absent, 0 if found, -1 on error. */
static int get_text(struct cfg_ctx *ctx, struct fy_node *map, const char *key, bool required,
                    char *buf, size_t size, struct fy_node **at)
{
    struct fy_node *n = cfg_get(map, key);
    *at = n;
    if (!n) {
        if (required)
            return cfg_error(ctx, map, "missing required key '%s'", key);
        return 1;
    }
    if (!cfg_is_scalar(n))
        return cfg_error(ctx, n ? n : key_node(map, key), "'%s' must be a scalar", key);
    return cfg_scalar(ctx, n, buf, size);
}

int cfg_str(struct cfg_ctx *ctx, struct fy_node *map, const char *key, bool required,
            const char *dflt, char *buf, size_t size)
{
    struct fy_node *at;
    int r = get_text(ctx, map, key, required, buf, size, &at);
    if (r == 1) {
        if (dflt)
            snprintf(buf, size, "%s", dflt);
        else if (size)
            buf[0] = '\0';
        return 0;
    }
    return r;
}

int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int cfg_u64(struct cfg_ctx *ctx, struct fy_node *map, const char *key, bool required,
            uint64_t lo, uint64_t hi, uint64_t dflt, uint64_t *out)
{
    char buf[64];
    struct fy_node *at;
    int r = get_text(ctx, map, key, required, buf, sizeof buf, &at);
    if (r == 1) { *out = dflt; return 0; }
    if (r < 0)
        return r;
    if (parse_u64(buf, lo, hi, out) < 0)
        return cfg_error(ctx, at, "'%s' must be an integer from %llu to %llu, not '%s'", key,
                         (unsigned long long)lo, (unsigned long long)hi, buf);
    return 0;
}

int cfg_u32(struct cfg_ctx *ctx, struct fy_node *map, const char *key, bool required,
            uint32_t lo, uint32_t hi, uint32_t dflt, uint32_t *out)
{
    uint64_t v;
    if (cfg_u64(ctx, map, key, required, lo, hi, dflt, &v) < 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int cfg_double(struct cfg_ctx *ctx, struct fy_node *map, const char *key, bool required,
               double lo, double hi, double dflt, double *out)
{
    char buf[64];
    struct fy_node *at;
    int r = get_text(ctx, map, key, required, buf, sizeof buf, &at);
    if (r == 1) { *out = dflt; return 0; }
    if (r < 0)
        return r;
    errno = 0;
    char *end;
    double v = strtod(buf, &end);
    if (errno || end == buf || *end || !isfinite(v) || v < lo || v > hi)
        return cfg_error(ctx, at, "'%s' must be a number from %g to %g, not '%s'", key, lo, hi, buf);
    *out = v;
    return 0;
}

int cfg_bool(struct cfg_ctx *ctx, struct fy_node *map, const char *key, bool dflt, bool *out)
{
    char buf[16];
    struct fy_node *at;
    int r = get_text(ctx, map, key, false, buf, sizeof buf, &at);
    if (r == 1) { *out = dflt; return 0; }
    if (r < 0)
        return r;
    if (!strcmp(buf, "true") || !strcmp(buf, "yes") || !strcmp(buf, "on")) { *out = true; return 0; }
    if (!strcmp(buf, "false") || !strcmp(buf, "no") || !strcmp(buf, "off")) { *out = false; return 0; }
    return cfg_error(ctx, at, "'%s' must be true or false, not '%s'", key, buf);
}

int parse_duration_ms(const char *s, uint64_t *out)
{
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return -1;
    double mul;
    if (!*end || !strcmp(end, "s")) mul = 1000;
    else if (!strcmp(end, "ms")) mul = 1;
    else if (!strcmp(end, "m")) mul = 60000;
    else if (!strcmp(end, "h")) mul = 3600000;
    else if (!strcmp(end, "d")) mul = 86400000;
    else return -1;
    v *= mul;
    if (v > 1e15)
        return -1;
    *out = (uint64_t)llround(v);
    return 0;
}

int cfg_duration_ms(struct cfg_ctx *ctx, struct fy_node *map, const char *key, bool required,
                    uint64_t lo_ms, uint64_t hi_ms, uint64_t dflt_ms, uint64_t *out)
{
    char buf[64];
    struct fy_node *at;
    int r = get_text(ctx, map, key, required, buf, sizeof buf, &at);
    if (r == 1) { *out = dflt_ms; return 0; }
    if (r < 0)
        return r;
    uint64_t v;
    if (parse_duration_ms(buf, &v) < 0)
        return cfg_error(ctx, at, "'%s' must be a duration like 500ms, 2s, 5m or 1h, not '%s'", key, buf);
    if (v < lo_ms || v > hi_ms)
        return cfg_error(ctx, at, "'%s' must be between %llums and %llums", key,
                         (unsigned long long)lo_ms, (unsigned long long)hi_ms);
    *out = v;
    return 0;
}

int parse_size(const char *s, uint64_t *out)
{
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    int shift = 0;
    if (*end) {
        switch (*end) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        case 't': case 'T': shift = 40; break;
        default: return -1;
        }
        end++;
        if (*end == 'i') end++;
        if (*end == 'B' || *end == 'b') end++;
        if (*end)
            return -1;
    }
    if (shift && v > (ULLONG_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

int cfg_size(struct cfg_ctx *ctx, struct fy_node *map, const char *key, bool required,
             uint64_t lo, uint64_t hi, uint64_t dflt, uint64_t *out)
{
    char buf[64];
    struct fy_node *at;
    int r = get_text(ctx, map, key, required, buf, sizeof buf, &at);
    if (r == 1) { *out = dflt; return 0; }
    if (r < 0)
        return r;
    uint64_t v;
    if (parse_size(buf, &v) < 0 || v < lo || v > hi)
        return cfg_error(ctx, at, "'%s' must be a size from %llu to %llu bytes (k/M/G suffixes), not '%s'",
                         key, (unsigned long long)lo, (unsigned long long)hi, buf);
    *out = v;
    return 0;
}

int cfg_path(struct cfg_ctx *ctx, struct fy_node *at, const char *path, char *out, size_t size)
{
    int n = path[0] == '/' ? snprintf(out, size, "%s", path) : snprintf(out, size, "%s/%s", ctx->dir, path);
    if (n < 0 || (size_t)n >= size)
        return cfg_error(ctx, at, "path too long: '%s'", path);
    return 0;
}
