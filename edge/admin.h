/* edge/admin.h: the admin listener: purge API and metrics.
 *
 * Owns admin connections (one request each, then close). Endpoints:
 *   GET  /metrics   Prometheus text format (no token: bind it to loopback)
 *   GET  /health    same semantics as on the main listener
 *   POST /purge?url=URL | prefix=URL-PREFIX | key=SURROGATE-KEY [&soft=1]
 *        token required: "Authorization: Bearer <token>"; answers
 *        {"purged":N}. Hard purges delete; soft purges mark stale (memory)
 *        so stale-while-revalidate applies; disk copies are deleted either
 *        way. Each purge is forwarded to admin.propagate_to (the shields'
 *        admin listeners, same token) unless the request says propagate=0.
 * Event-loop thread only. */
#ifndef STEER_EDGE_ADMIN_H
#define STEER_EDGE_ADMIN_H

#include <event2/util.h>

#include "edge/edged.h"

void admin_accept(struct edged *ed, evutil_socket_t fd);
/* Creates upstreams for purge propagation. Returns 0 or -1. */
int admin_init(struct edged *ed);
void admin_shutdown(struct edged *ed);

enum purge_kind { PURGE_URL = 0, PURGE_PREFIX, PURGE_KEY };
/* Purges from memory and disk; returns the number of objects affected. */
size_t admin_purge(struct edged *ed, enum purge_kind kind, const char *arg, bool soft);

#endif
