/* edge/config.c: YAML -> struct edge_config. */
#include "edge/config.h"
#include "edge/http.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libfyaml.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static int hostport(struct cfg_ctx *ctx, struct fy_node *n, uint16_t dport, struct edge_hostport *hp)
{
    if (cfg_scalar(ctx, n, hp->text, sizeof hp->text)) return -1;
    if (net_hostport_parse(hp->text, dport, &hp->addr, &hp->port) != 0 || hp->port == 0)
        return cfg_error(ctx, n, "invalid address '%s' (want IP:port)", hp->text);
    return 0;
}

/* A list of host:port (a scalar is accepted as a one-element list). */
static int hostport_list(struct cfg_ctx *ctx, struct fy_node *n, struct edge_hostport *out,
                         unsigned max, unsigned *count, const char *what)
{
    *count = 0;
    if (!n) return 0;
    if (cfg_is_scalar(n)) { *count = 1; return hostport(ctx, n, 80, &out[0]); }
    if (cfg_expect_seq(ctx, n, what)) return -1;
    void *it = NULL; struct fy_node *e;
    while ((e = fy_node_sequence_iterate(n, &it))) {
        if (*count >= max) return cfg_error(ctx, e, "too many entries in %s (max %u)", what, max);
        if (hostport(ctx, e, 80, &out[(*count)++])) return -1;
    }
    return 0;
}

/* Reads a secret file: first line, trailing whitespace stripped. */
static int read_secret(struct cfg_ctx *ctx, struct fy_node *at, const char *path, char *out,
                       size_t size, uint32_t *len_out)
{
    char full[EDGE_PATH_MAX];
    if (cfg_path(ctx, at, path, full, sizeof full)) return -1;
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cfg_error(ctx, at, "cannot read %s: %s", full, strerror(errno));
    ssize_t n = read(fd, out, size - 1);
    close(fd);
    if (n < 0) return cfg_error(ctx, at, "cannot read %s", full);
    out[n] = 0;
    char *nl = strpbrk(out, "\r\n");
    if (nl) *nl = 0;
    size_t l = strlen(out);
    while (l && isspace((unsigned char)out[l - 1])) out[--l] = 0;
    if (l < 16) return cfg_error(ctx, at, "secret in %s is shorter than 16 characters", full);
    if (len_out) *len_out = (uint32_t)l;
    return 0;
}

static int parse_site(struct cfg_ctx *ctx, struct fy_node *n, struct edge_site *s)
{
    static const char *const keys[] = { "name", "hosts", "origin", "shields", "tls", "signed_urls",
                                        "query", NULL };
    if (cfg_expect_map(ctx, n, "site") || cfg_check_keys(ctx, n, keys)) return -1;
    if (cfg_str(ctx, n, "name", true, NULL, s->name, sizeof s->name)) return -1;
    struct fy_node *h = cfg_get(n, "hosts");
    if (!h) return cfg_error(ctx, n, "site '%s': missing required key 'hosts'", s->name);
    if (cfg_expect_seq(ctx, h, "hosts")) return -1;
    void *it = NULL; struct fy_node *e;
    while ((e = fy_node_sequence_iterate(h, &it))) {
        if (s->nhosts >= EDGE_MAX_HOSTS) return cfg_error(ctx, e, "too many hosts (max %d)", EDGE_MAX_HOSTS);
        char *d = s->hosts[s->nhosts++];
        if (cfg_scalar(ctx, e, d, EDGE_NAME_MAX)) return -1;
        for (char *c = d; *c; c++) *c = (char)tolower((unsigned char)*c);
    }
    if (s->nhosts == 0) return cfg_error(ctx, h, "site '%s' has no hosts", s->name);
    struct fy_node *o = cfg_get(n, "origin");
    if (!o) return cfg_error(ctx, n, "site '%s': missing required key 'origin'", s->name);
    if (hostport(ctx, o, 80, &s->origin)) return -1;
    if (hostport_list(ctx, cfg_get(n, "shields"), s->shields, EDGE_MAX_SHIELDS, &s->nshields, "shields"))
        return -1;
    struct fy_node *t = cfg_get(n, "tls");
    if (t) {
        static const char *const tk[] = { "cert", "key", NULL };
        char p[EDGE_PATH_MAX];
        if (cfg_expect_map(ctx, t, "tls") || cfg_check_keys(ctx, t, tk)) return -1;
        if (cfg_str(ctx, t, "cert", true, NULL, p, sizeof p) ||
            cfg_path(ctx, t, p, s->tls_cert, sizeof s->tls_cert)) return -1;
        if (cfg_str(ctx, t, "key", true, NULL, p, sizeof p) ||
            cfg_path(ctx, t, p, s->tls_key, sizeof s->tls_key)) return -1;
        if (access(s->tls_cert, R_OK) != 0) return cfg_error(ctx, t, "cannot read %s", s->tls_cert);
        if (access(s->tls_key, R_OK) != 0) return cfg_error(ctx, t, "cannot read %s", s->tls_key);
    }
    struct fy_node *su = cfg_get(n, "signed_urls");
    if (su) {
        static const char *const sk[] = { "secret_file", NULL };
        char p[EDGE_PATH_MAX];
        if (cfg_expect_map(ctx, su, "signed_urls") || cfg_check_keys(ctx, su, sk)) return -1;
        if (cfg_str(ctx, su, "secret_file", true, NULL, p, sizeof p)) return -1;
        if (read_secret(ctx, cfg_get(su, "secret_file"), p, s->sign_secret, sizeof s->sign_secret,
                        &s->sign_secret_len)) return -1;
    }
    struct fy_node *q = cfg_get(n, "query");
    if (q) {
        static const char *const qk[] = { "allow", "deny", "ignore_all", NULL };
        if (cfg_expect_map(ctx, q, "query") || cfg_check_keys(ctx, q, qk)) return -1;
        struct fy_node *a = cfg_get(q, "allow"), *dn = cfg_get(q, "deny");
        bool ign;
        if (cfg_bool(ctx, q, "ignore_all", false, &ign)) return -1;
        if ((a != NULL) + (dn != NULL) + ign > 1)
            return cfg_error(ctx, q, "query: use only one of allow, deny, ignore_all");
        s->qmode = ign ? EDGE_Q_NONE : a ? EDGE_Q_ALLOW : dn ? EDGE_Q_DENY : EDGE_Q_ALL;
        struct fy_node *l = a ? a : dn;
        if (l) {
            if (cfg_expect_seq(ctx, l, a ? "query.allow" : "query.deny")) return -1;
            it = NULL;
            while ((e = fy_node_sequence_iterate(l, &it))) {
                if (s->nqparams >= EDGE_MAX_QPARAMS)
                    return cfg_error(ctx, e, "too many query parameters (max %d)", EDGE_MAX_QPARAMS);
                if (cfg_scalar(ctx, e, s->qparams[s->nqparams++], 64)) return -1;
            }
        }
    }
    return 0;
}

/* user, log, log_level: how the process runs (the user is looked up by
 * edged at startup, not here, so the parser stays pure). */
static int parse_process(struct cfg_ctx *ctx, struct fy_node *r, struct edge_config *c)
{
    if (cfg_str(ctx, r, "user", false, "", c->user, sizeof c->user)) return -1;
    for (const char *p = c->user; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
            return cfg_error(ctx, cfg_get(r, "user"), "user: '%s' is not a user name", c->user);
    char v[16];
    if (cfg_str(ctx, r, "log", false, "stderr", v, sizeof v)) return -1;
    if (strcmp(v, "stderr") != 0 && strcmp(v, "syslog") != 0)
        return cfg_error(ctx, cfg_get(r, "log"), "log must be stderr or syslog");
    c->log_syslog = strcmp(v, "syslog") == 0;
    if (cfg_str(ctx, r, "log_level", false, "info", v, sizeof v)) return -1;
    if (log_level_parse(v, &c->log_level) != 0)
        return cfg_error(ctx, cfg_get(r, "log_level"), "log_level must be err, warn, info or debug");
    return 0;
}

static int parse_root(struct cfg_ctx *ctx, struct edge_config *c)
{
    struct fy_node *r = cfg_root(ctx);
    static const char *const keys[] = { "tier", "listen", "admin", "cache", "limits", "timeouts",
                                        "upstream", "access_log", "sites", "user", "log",
                                        "log_level", NULL };
    if (cfg_expect_map(ctx, r, "top level") || cfg_check_keys(ctx, r, keys)) return -1;
    if (cfg_str(ctx, r, "tier", false, "edge", c->tier, sizeof c->tier)) return -1;
    for (const char *p = c->tier; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
            return cfg_error(ctx, cfg_get(r, "tier"), "tier: only letters, digits, '-', '_', '.'");

    struct fy_node *l = cfg_get(r, "listen");
    static const char *const lk[] = { "http", "https", NULL };
    if (!l) return cfg_error(ctx, r, "missing required key 'listen'");
    if (cfg_expect_map(ctx, l, "listen") || cfg_check_keys(ctx, l, lk)) return -1;
    if (hostport_list(ctx, cfg_get(l, "http"), c->http, EDGE_MAX_LISTEN, &c->nhttp, "listen.http") ||
        hostport_list(ctx, cfg_get(l, "https"), c->https, EDGE_MAX_LISTEN, &c->nhttps, "listen.https"))
        return -1;
    if (c->nhttp + c->nhttps == 0) return cfg_error(ctx, l, "listen: no http or https address");

    struct fy_node *a = cfg_get(r, "admin");
    if (a) {
        static const char *const ak[] = { "listen", "token_file", "token", "propagate_to", NULL };
        char p[EDGE_PATH_MAX];
        if (cfg_expect_map(ctx, a, "admin") || cfg_check_keys(ctx, a, ak)) return -1;
        struct fy_node *al = cfg_get(a, "listen");
        if (!al) return cfg_error(ctx, a, "admin: missing required key 'listen'");
        if (hostport(ctx, al, 80, &c->admin)) return -1;
        c->has_admin = true;
        struct fy_node *tf = cfg_get(a, "token_file"), *tl = cfg_get(a, "token");
        if ((tf != NULL) == (tl != NULL)) return cfg_error(ctx, a, "admin: set exactly one of token_file, token");
        if (tf) {
            if (cfg_str(ctx, a, "token_file", true, NULL, p, sizeof p)) return -1;
            if (read_secret(ctx, tf, p, c->admin_token, sizeof c->admin_token, NULL)) return -1;
        } else {
            if (cfg_str(ctx, a, "token", true, NULL, c->admin_token, sizeof c->admin_token)) return -1;
            if (strlen(c->admin_token) < 16) return cfg_error(ctx, tl, "admin.token is shorter than 16 characters");
        }
        if (hostport_list(ctx, cfg_get(a, "propagate_to"), c->propagate, EDGE_MAX_SHIELDS, &c->npropagate,
                          "admin.propagate_to")) return -1;
    }

    struct fy_node *cn = cfg_get(r, "cache");
    static const char *const ck[] = { "memory", "max_object", "heuristic_max", "disk", NULL };
    if (cn && (cfg_expect_map(ctx, cn, "cache") || cfg_check_keys(ctx, cn, ck))) return -1;
    uint64_t ms;
    if (cfg_size(ctx, cn, "memory", false, 1 << 20, 1ULL << 40, 256ULL << 20, &c->mem_bytes) ||
        cfg_size(ctx, cn, "max_object", false, 1024, 1ULL << 40, 64ULL << 20, &c->max_object) ||
        cfg_duration_ms(ctx, cn, "heuristic_max", false, 0, 365ULL * 86400000, 86400000, &ms))
        return -1;
    c->heuristic_max_s = ms / 1000;
    if (!cfg_get(cn, "max_object") && c->max_object > c->mem_bytes / 2) c->max_object = c->mem_bytes / 2;
    if (c->max_object > c->mem_bytes / 2)
        return cfg_error(ctx, cn, "cache.max_object must be at most half of cache.memory");
    struct fy_node *d = cfg_get(cn, "disk");
    if (d) {
        static const char *const dk[] = { "dir", "size", NULL };
        char p[EDGE_PATH_MAX];
        if (cfg_expect_map(ctx, d, "cache.disk") || cfg_check_keys(ctx, d, dk)) return -1;
        if (cfg_str(ctx, d, "dir", true, NULL, p, sizeof p) ||
            cfg_path(ctx, d, p, c->disk_dir, sizeof c->disk_dir) ||
            cfg_size(ctx, d, "size", false, 1 << 20, 1ULL << 50, 1ULL << 30, &c->disk_bytes)) return -1;
    }

    struct fy_node *lim = cfg_get(r, "limits");
    static const char *const limk[] = { "max_header_bytes", "max_headers", "max_request_body",
                                        "max_connections", NULL };
    if (lim && (cfg_expect_map(ctx, lim, "limits") || cfg_check_keys(ctx, lim, limk))) return -1;
    uint64_t mh;
    if (cfg_size(ctx, lim, "max_header_bytes", false, 1024, 65536, 16384, &mh) ||
        cfg_u32(ctx, lim, "max_headers", false, 8, HTTP_MAX_HEADERS, 100, &c->max_headers) ||
        cfg_size(ctx, lim, "max_request_body", false, 0, 1ULL << 30, 1 << 20, &c->max_req_body) ||
        cfg_u32(ctx, lim, "max_connections", false, 1, 1000000, 10000, &c->max_conns))
        return -1;
    c->max_head = (uint32_t)mh;

    struct fy_node *t = cfg_get(r, "timeouts");
    static const char *const tk[] = { "client_header", "client_idle", "send", "upstream_connect",
                                      "upstream_first_byte", "upstream_idle", "pool_idle", NULL };
    if (t && (cfg_expect_map(ctx, t, "timeouts") || cfg_check_keys(ctx, t, tk))) return -1;
    const uint64_t H = 3600000;
    if (cfg_duration_ms(ctx, t, "client_header", false, 10, H, 10000, &c->t_client_header) ||
        cfg_duration_ms(ctx, t, "client_idle", false, 10, H, 60000, &c->t_client_idle) ||
        cfg_duration_ms(ctx, t, "send", false, 10, H, 30000, &c->t_send) ||
        cfg_duration_ms(ctx, t, "upstream_connect", false, 10, H, 2000, &c->t_connect) ||
        cfg_duration_ms(ctx, t, "upstream_first_byte", false, 10, H, 15000, &c->t_first_byte) ||
        cfg_duration_ms(ctx, t, "upstream_idle", false, 10, H, 30000, &c->t_upstream_idle) ||
        cfg_duration_ms(ctx, t, "pool_idle", false, 10, H, 30000, &c->t_pool_idle))
        return -1;

    struct fy_node *u = cfg_get(r, "upstream");
    static const char *const uk[] = { "fail_threshold", "probe_interval", NULL };
    if (u && (cfg_expect_map(ctx, u, "upstream") || cfg_check_keys(ctx, u, uk))) return -1;
    if (cfg_u32(ctx, u, "fail_threshold", false, 1, 1000, 3, &c->fail_threshold) ||
        cfg_duration_ms(ctx, u, "probe_interval", false, 10, H, 2000, &c->probe_interval_ms))
        return -1;

    char p[EDGE_PATH_MAX];
    if (cfg_str(ctx, r, "access_log", false, "", p, sizeof p)) return -1;
    if (p[0] && strcmp(p, "-") != 0) {
        if (cfg_path(ctx, cfg_get(r, "access_log"), p, c->access_log, sizeof c->access_log)) return -1;
    } else {
        snprintf(c->access_log, sizeof c->access_log, "%s", p);
    }

    if (parse_process(ctx, r, c)) return -1;

    struct fy_node *s = cfg_get(r, "sites");
    if (!s) return cfg_error(ctx, r, "missing required key 'sites'");
    if (cfg_expect_seq(ctx, s, "sites")) return -1;
    void *it = NULL; struct fy_node *e;
    while ((e = fy_node_sequence_iterate(s, &it))) {
        if (c->nsites >= EDGE_MAX_SITES) return cfg_error(ctx, e, "too many sites (max %d)", EDGE_MAX_SITES);
        struct edge_site *site = &c->sites[c->nsites];
        if (parse_site(ctx, e, site)) return -1;
        for (unsigned i = 0; i < c->nsites; i++)
            if (strcmp(c->sites[i].name, site->name) == 0)
                return cfg_error(ctx, e, "duplicate site name '%s'", site->name);
        c->nsites++;
    }
    if (c->nsites == 0) return cfg_error(ctx, s, "no sites configured");
    if (c->nhttps) {
        bool any = false;
        for (unsigned i = 0; i < c->nsites; i++) any |= c->sites[i].tls_cert[0] != 0;
        if (!any) return cfg_error(ctx, l, "listen.https needs at least one site with tls");
    }
    return 0;
}

static int finish(struct cfg_ctx *ctx, int rc, char *err, size_t errlen)
{
    if (rc) snprintf(err, errlen, "%s", ctx->err);
    cfg_free(ctx);
    return rc;
}

int edge_config_load(const char *path, struct edge_config *out, char *err, size_t errlen)
{
    struct cfg_ctx ctx;
    memset(out, 0, sizeof *out);
    snprintf(out->file, sizeof out->file, "%s", path);
    if (cfg_load(&ctx, path)) return finish(&ctx, -1, err, errlen);
    return finish(&ctx, parse_root(&ctx, out), err, errlen);
}

int edge_config_load_string(const char *name, const char *text, struct edge_config *out,
                            char *err, size_t errlen)
{
    struct cfg_ctx ctx;
    memset(out, 0, sizeof *out);
    snprintf(out->file, sizeof out->file, "%s", name);
    if (cfg_load_string(&ctx, name, text, strlen(text))) return finish(&ctx, -1, err, errlen);
    return finish(&ctx, parse_root(&ctx, out), err, errlen);
}

const struct edge_site *edge_config_site(const struct edge_config *c, const char *host, size_t hlen)
{
    /* strip :port (but not inside [v6]) */
    size_t n = hlen;
    if (n && host[0] == '[') {
        const char *rb = memchr(host, ']', n);
        if (rb) n = (size_t)(rb - host) + 1;
    } else {
        const char *colon = memchr(host, ':', n);
        if (colon) n = (size_t)(colon - host);
    }
    if (n && host[n - 1] == '.') n--;   /* absolute FQDN */
    const struct edge_site *wild = NULL;
    for (unsigned i = 0; i < c->nsites; i++) {
        const struct edge_site *s = &c->sites[i];
        for (unsigned j = 0; j < s->nhosts; j++) {
            if (s->hosts[j][0] == '*' && s->hosts[j][1] == 0) { if (!wild) wild = s; continue; }
            if (strlen(s->hosts[j]) == n && strncasecmp(s->hosts[j], host, n) == 0) return s;
        }
    }
    return wild;
}
