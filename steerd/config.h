/* steerd/config.h: steerd's own configuration sections (server, zones).
 *
 * Owns parsing the `server:` and `zones:` sections of the steerd YAML file
 * and the list of top-level sections steerd accepts. The other sections
 * (geo, providers, steering, health, rum, control) are parsed by their
 * subsystems from the same cfg_ctx while a snapshot is built. */
#ifndef STEER_STEERD_CONFIG_H
#define STEER_STEERD_CONFIG_H

#include "common/cfg.h"
#include "common/log.h"
#include "dns/server.h"
#include "dns/zone.h"
#include "steerd/querylog.h"

#define STEERD_MAX_ZONES 1024

struct steerd_zone_cfg {
    char name[256];
    char file[1024];
    int line;
};

struct steerd_config {
    struct dns_server_cfg server;
    uint16_t udp_max;             /* EDNS buffer size we advertise and honour */
    enum log_level log_level;
    bool log_syslog;              /* log to syslog(3) instead of stderr */
    char user[64];                /* server.user: drop root to it after binding ("" = stay) */
    struct querylog_cfg query_log;    /* server.query_log (enabled = false without one) */
    size_t nzones;
    struct steerd_zone_cfg *zones;    /* malloc'd */
};

/* Parses server/zones from an already loaded document. Errors go to ctx. */
int steerd_config_parse(struct cfg_ctx *ctx, struct steerd_config *out);
void steerd_config_free(struct steerd_config *c);

#endif
