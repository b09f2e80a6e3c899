/* edge/config.h: edged configuration, compiled into an immutable struct.
 *
 * Owns parsing of the YAML file (via common/cfg.h: every error is
 * "file:line: message", unknown keys rejected) and the resulting plain
 * struct edge_config, which the daemon reads and never mutates after load.
 * `edged -t -c FILE` runs only this parser. Secrets (purge token, URL
 * signing secret) are read from files here so a bad path is a config error. */
#ifndef STEER_EDGE_CONFIG_H
#define STEER_EDGE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cfg.h"
#include "common/log.h"
#include "common/netaddr.h"

#define EDGE_MAX_LISTEN 8
#define EDGE_MAX_SITES 64
#define EDGE_MAX_HOSTS 16      /* host names per site */
#define EDGE_MAX_SHIELDS 8
#define EDGE_MAX_QPARAMS 32    /* query parameter allow/deny entries */
#define EDGE_NAME_MAX 128
#define EDGE_PATH_MAX 512
#define EDGE_SECRET_MAX 256

struct edge_hostport { struct net_addr addr; uint16_t port; char text[64]; };

enum edge_qmode { EDGE_Q_ALL = 0, EDGE_Q_ALLOW, EDGE_Q_DENY, EDGE_Q_NONE };

struct edge_site {
    char name[EDGE_NAME_MAX];
    char hosts[EDGE_MAX_HOSTS][EDGE_NAME_MAX];   /* lower-case; "*" matches any */
    unsigned nhosts;
    struct edge_hostport origin;
    struct edge_hostport shields[EDGE_MAX_SHIELDS];
    unsigned nshields;
    char tls_cert[EDGE_PATH_MAX], tls_key[EDGE_PATH_MAX];   /* empty: no TLS for this site */
    char sign_secret[EDGE_SECRET_MAX]; uint32_t sign_secret_len;  /* 0: signing off */
    enum edge_qmode qmode;
    char qparams[EDGE_MAX_QPARAMS][64];
    unsigned nqparams;
};

struct edge_config {
    char file[EDGE_PATH_MAX];
    char tier[EDGE_NAME_MAX];              /* name in Via and X-Cache-Tier */
    struct edge_hostport http[EDGE_MAX_LISTEN];  unsigned nhttp;
    struct edge_hostport https[EDGE_MAX_LISTEN]; unsigned nhttps;
    struct edge_hostport admin; bool has_admin;
    char admin_token[EDGE_SECRET_MAX];     /* from token_file; required with admin */
    struct edge_hostport propagate[EDGE_MAX_SHIELDS];  /* shield admin listeners purges go to */
    unsigned npropagate;
    /* cache */
    uint64_t mem_bytes, max_object;
    uint64_t heuristic_max_s;
    char disk_dir[EDGE_PATH_MAX];          /* empty: no disk tier */
    uint64_t disk_bytes;
    /* limits */
    uint32_t max_head, max_headers;
    uint64_t max_req_body;
    uint32_t max_conns;
    /* timeouts, ms */
    uint64_t t_client_header, t_client_idle, t_send;
    uint64_t t_connect, t_first_byte, t_upstream_idle, t_pool_idle;
    /* upstream health */
    uint32_t fail_threshold;
    uint64_t probe_interval_ms;
    char access_log[EDGE_PATH_MAX];        /* empty: off */
    /* process */
    char user[64];                         /* drop root to it after binding ("" = stay) */
    enum log_level log_level;              /* log_level: err|warn|info|debug (default info) */
    bool log_syslog;                       /* log: syslog (default stderr) */
    struct edge_site sites[EDGE_MAX_SITES];
    unsigned nsites;
};

/* Loads and validates `path` into *out (caller storage, ~1 MiB: allocate it).
 * On failure returns -1 and copies the "file:line: message" error to err. */
int edge_config_load(const char *path, struct edge_config *out, char *err, size_t errlen);
/* Same from memory (tests). */
int edge_config_load_string(const char *name, const char *text, struct edge_config *out,
                            char *err, size_t errlen);

/* Site for a Host value (port stripped, case-insensitive), or NULL. */
const struct edge_site *edge_config_site(const struct edge_config *c, const char *host, size_t hlen);

#endif
