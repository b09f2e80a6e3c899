/* edge/server.h: one edged instance: context, listeners, signals, loop.
 *
 * Owns the struct edged of a process and everything hanging off it. The
 * daemon main and the tests create one with server_new(), run it, and free
 * it; config errors surface before any socket is bound. Not thread-safe:
 * one instance per event-loop thread. */
#ifndef STEER_EDGE_SERVER_H
#define STEER_EDGE_SERVER_H

#include <stddef.h>

#include "edge/config.h"

struct server;
struct edged;

/* Builds the instance and binds every listener. NULL + err on failure. */
struct server *server_new(const struct edge_config *cfg, char *err, size_t errlen);
/* Runs until SIGINT/SIGTERM. Returns 0 or -1. */
int server_run(struct server *sv);
struct edged *server_edged(struct server *sv);
void server_free(struct server **sv);

#endif
