#include "steerd/config.h"

#include <libfyaml.h>
#include <stdlib.h>
#include <string.h>

#include "dns/wire.h"

static const char *const top_keys[] = {
    "server", "zones", "geo", "providers", "steering", "flatten", "health", "rum", "control", NULL,
};
static const char *const server_keys[] = {
    "listen", "workers", "udp_max_payload", "tcp_idle_timeout", "tcp_max_connections", "log_level", "log", "user", "query_log", NULL,
};
static const char *const zone_keys[] = { "name", "file", NULL };

static int parse_listen(struct cfg_ctx *ctx, struct fy_node *srv, struct dns_server_cfg *out)
{
    struct fy_node *l = cfg_get(srv, "listen");
    if (!l) {   /* default: loopback only, the demo port */
        net_hostport_parse("127.0.0.1:5300", 53, &out->listen[0].addr, &out->listen[0].port);
        net_hostport_parse("[::1]:5300", 53, &out->listen[1].addr, &out->listen[1].port);
        out->nlisten = 2;
        return 0;
    }
    if (cfg_expect_seq(ctx, l, "server.listen") < 0)
        return -1;
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(l, &it))) {
        char buf[128];
        if (cfg_scalar(ctx, item, buf, sizeof buf) < 0)
            return -1;
        if (out->nlisten == DNS_MAX_LISTEN)
            return cfg_error(ctx, item, "at most %d listen addresses", DNS_MAX_LISTEN);
        struct dns_listen *d = &out->listen[out->nlisten];
        if (net_hostport_parse(buf, 53, &d->addr, &d->port) < 0)
            return cfg_error(ctx, item, "bad listen address '%s' (want 192.0.2.1:53 or [2001:db8::1]:53)", buf);
        for (unsigned i = 0; i < out->nlisten; i++)
            if (out->listen[i].port == d->port && !memcmp(&out->listen[i].addr, &d->addr, sizeof d->addr))
                return cfg_error(ctx, item, "listen address '%s' given twice", buf);
        out->nlisten++;
    }
    if (!out->nlisten)
        return cfg_error(ctx, l, "server.listen is empty");
    return 0;
}

static const char *const query_log_keys[] = { "path", "sample", NULL };

/* server.query_log: {path: FILE|stderr, sample: N} (steerd/querylog.h). */
static int parse_query_log(struct cfg_ctx *ctx, struct fy_node *srv, struct querylog_cfg *out)
{
    struct fy_node *ql = cfg_get(srv, "query_log");
    char path[sizeof out->path];
    if (!ql)
        return 0;
    if (cfg_expect_map(ctx, ql, "server.query_log") < 0 || cfg_check_keys(ctx, ql, query_log_keys) < 0 ||
        cfg_str(ctx, ql, "path", true, NULL, path, sizeof path) < 0 ||
        cfg_u32(ctx, ql, "sample", false, 1, QUERYLOG_SAMPLE_MAX, 1, &out->sample) < 0)
        return -1;
    if (!path[0])
        return cfg_error(ctx, cfg_get(ql, "path"), "query_log.path is empty (a file, or stderr)");
    if (!strcmp(path, "stderr"))
        snprintf(out->path, sizeof out->path, "stderr");
    else if (cfg_path(ctx, cfg_get(ql, "path"), path, out->path, sizeof out->path) < 0)
        return -1;
    out->enabled = true;
    return 0;
}

static int parse_server(struct cfg_ctx *ctx, struct fy_node *srv, struct steerd_config *out)
{
    uint32_t v;
    uint64_t ms;
    char lvl[16];
    if (srv && (cfg_expect_map(ctx, srv, "server") < 0 || cfg_check_keys(ctx, srv, server_keys) < 0))
        return -1;
    if (parse_listen(ctx, srv, &out->server) < 0)
        return -1;
    if (cfg_u32(ctx, srv, "workers", false, 0, 64, 0, &out->server.workers) < 0)
        return -1;
    /* 1232: the DNS Flag Day 2020 size that avoids IP fragmentation */
    if (cfg_u32(ctx, srv, "udp_max_payload", false, 512, 4096, 1232, &v) < 0)
        return -1;
    out->udp_max = (uint16_t)v;
    if (cfg_duration_ms(ctx, srv, "tcp_idle_timeout", false, 100, 300000, 10000, &ms) < 0)
        return -1;
    out->server.tcp_idle_ms = (uint32_t)ms;
    if (cfg_u32(ctx, srv, "tcp_max_connections", false, 1, 100000, 1024, &out->server.tcp_max_conns) < 0)
        return -1;
    if (cfg_str(ctx, srv, "log_level", false, "info", lvl, sizeof lvl) < 0)
        return -1;
    if (log_level_parse(lvl, &out->log_level) < 0)
        return cfg_error(ctx, cfg_get(srv, "log_level"), "log_level must be err, warn, info or debug");
    char target[16];
    if (cfg_str(ctx, srv, "log", false, "stderr", target, sizeof target) < 0)
        return -1;
    if (strcmp(target, "stderr") && strcmp(target, "syslog"))
        return cfg_error(ctx, cfg_get(srv, "log"), "log must be stderr or syslog");
    out->log_syslog = !strcmp(target, "syslog");
    /* the user database is read by steerd at startup (and by -t), not
     * here: the parser stays pure for the tests and fuzzers */
    if (cfg_str(ctx, srv, "user", false, "", out->user, sizeof out->user) < 0)
        return -1;
    for (const char *p = out->user; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-' || *p == '.'))
            return cfg_error(ctx, cfg_get(srv, "user"), "user: '%s' is not a user name", out->user);
    return parse_query_log(ctx, srv, &out->query_log);
}

static int parse_zones(struct cfg_ctx *ctx, struct fy_node *zones, struct steerd_config *out)
{
    if (!zones)
        return cfg_error(ctx, cfg_root(ctx), "no zones: add a 'zones:' list");
    if (cfg_expect_seq(ctx, zones, "zones") < 0)
        return -1;
    int n = fy_node_sequence_item_count(zones);
    if (n <= 0)
        return cfg_error(ctx, zones, "zones list is empty");
    if (n > STEERD_MAX_ZONES)
        return cfg_error(ctx, zones, "at most %d zones", STEERD_MAX_ZONES);
    out->zones = calloc((size_t)n, sizeof *out->zones);
    if (!out->zones)
        return cfg_error(ctx, zones, "out of memory");
    void *it = NULL;
    struct fy_node *z;
    while ((z = fy_node_sequence_iterate(zones, &it))) {
        struct steerd_zone_cfg *zc = &out->zones[out->nzones];
        char file[1024];
        if (cfg_expect_map(ctx, z, "a zone") < 0 || cfg_check_keys(ctx, z, zone_keys) < 0 ||
            cfg_str(ctx, z, "name", true, NULL, zc->name, sizeof zc->name) < 0 ||
            cfg_str(ctx, z, "file", true, NULL, file, sizeof file) < 0 ||
            cfg_path(ctx, cfg_get(z, "file"), file, zc->file, sizeof zc->file) < 0)
            return -1;
        uint8_t wire[DNS_MAX_NAME];
        if (dns_name_from_str(zc->name, wire) < 0)
            return cfg_error(ctx, cfg_get(z, "name"), "bad zone name '%s'", zc->name);
        zc->line = cfg_line(cfg_get(z, "name"));
        out->nzones++;
    }
    return 0;
}

int steerd_config_parse(struct cfg_ctx *ctx, struct steerd_config *out)
{
    memset(out, 0, sizeof *out);
    struct fy_node *root = cfg_root(ctx);
    if (cfg_expect_map(ctx, root, "the configuration") < 0 || cfg_check_keys(ctx, root, top_keys) < 0)
        return -1;
    if (parse_server(ctx, cfg_get(root, "server"), out) < 0)
        return -1;
    return parse_zones(ctx, cfg_get(root, "zones"), out);
}

void steerd_config_free(struct steerd_config *c)
{
    free(c->zones);
    c->zones = NULL;
    c->nzones = 0;
}
