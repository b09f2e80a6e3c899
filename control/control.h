/* control/control.h: steerd's control API (HTTP/JSON on loopback).
 *
 * Owns one thread running a libevent evhttp loop on control.listen. Reads
 * are open (GET: status, providers, explain); every write (POST: provider
 * overrides, reload) needs "Authorization: Bearer TOKEN" (missing -> 401,
 * wrong -> 403, nothing changed). Tokens are compared through SHA-256
 * digests with CRYPTO_memcmp, so the time taken says nothing about the
 * token, not even its length. Request bodies are capped at
 * CONTROL_MAX_BODY; headers at CONTROL_MAX_HEADERS.
 *
 *   GET  /v1/status                       version, generation, zones, names, uptime
 *   GET  /v1/providers                    health, reason, overrides per provider
 *   POST /v1/providers/NAME/up|down|drain admin override (persisted by health)
 *   POST /v1/providers/NAME/clear         removes the admin and weight overrides
 *   POST /v1/providers/NAME/weight        {"weight": N}
 *   POST /v1/reload                       validated reload; 422 + file:line on error
 *   GET  /v1/explain?name=&client=[&ecs=][&qtype=A|AAAA]
 *   GET  /metrics                         Prometheus text format 0.0.4 (docs/metrics.md)
 *   GET  /v1/names                        zones, steered names: rules, pools, members
 *   GET  /v1/rum                          RUM scores per provider (continents, global)
 *   GET  / and /status                    the status page (control/status.c)
 *
 * At most CONTROL_MAX_CONNS connections are open at once; while that many
 * are, new ones get a 503 and are closed (idle ones time out after
 * CONTROL_TIMEOUT_S), so a client holding sockets cannot exhaust the
 * daemon's descriptors.
 *
 * The daemon stays the owner of its snapshot: the API reaches it through
 * hooks. `view` is called inside the control thread's RCU read section
 * (the thread is registered with liburcu memb) and describes the snapshot
 * currently published; nothing it returns is used after the section ends.
 * `reload` is called outside any read section and must be serialized by the
 * daemon with its other reloads (SIGHUP). Overrides go to the health engine
 * (health_engine_set_admin/set_weight), always outside a read section since
 * they wait for an RCU grace period.
 *
 * Threads: control_start/control_stop from the daemon's main thread;
 * control_stop must run before the health engine is freed.
 *
 * Rejected alternatives: serving the API on a DNS I/O thread (a slow reload
 * would stall queries); a lock shared with the query path (readers never
 * lock). */
#ifndef STEER_CONTROL_H
#define STEER_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "control/config.h"
#include "steering/steering.h"

struct health_engine;
struct control_server;
struct evbuffer;

#define CONTROL_MAX_BODY    (64 * 1024)   /* JSON bodies here are tiny */
#define CONTROL_MAX_HEADERS (16 * 1024)
#define CONTROL_TIMEOUT_S   10            /* idle/slow clients are dropped */
#define CONTROL_MAX_CONNS   64            /* an operator, steerctl, a status page or two, a scraper */

/* What the API sees of the published snapshot (valid inside the read section). */
struct control_view {
    uint64_t generation;
    time_t loaded_at;
    size_t nzones;
    const char *(*zone_name)(const void *snap, size_t i);
    const void *snap;
    const struct steer_policy *policy;   /* NULL: no steering configured */
    struct steer_inputs in;              /* the tables the query path would read now */
};

struct control_hooks {
    void *ctx;
    void (*view)(void *ctx, struct control_view *out);        /* inside an RCU read section */
    int (*reload)(void *ctx, char *err, size_t errlen);       /* 0, or -1 with "file:line: ..." */
    /* GET /metrics: appends the Prometheus text exposition to out; 0 or -1.
     * Called outside any read section (the daemon takes its own). NULL: 404. */
    int (*metrics)(void *ctx, struct evbuffer *out);
};

/* Binds the listener and starts the thread. cfg and hooks are copied;
 * health must outlive the server. Returns NULL with err on failure. */
struct control_server *control_start(const struct control_config *cfg, struct health_engine *health,
                                      const struct control_hooks *hooks, const char *version, char *err,
                                      size_t errlen);
/* Stops the thread, closes the listener and frees; sets *s NULL. */
void control_stop(struct control_server **s);
/* The bound port (useful with port 0). */
uint16_t control_port(const struct control_server *s);

/* control/status.c: the status page (GET /, /status, /status.css,
 * /status.js) and GET /v1/names, /v1/rum. Called by the router on the
 * control thread; returns false when `path` is none of them. */
struct evhttp_request;
struct json_t;
bool control_status_serve(const struct control_hooks *hooks, struct evhttp_request *req, const char *path);
/* True if an If-None-Match value matches the entity tag `etag` (with its
 * quotes): "*" or a comma-separated list, compared weakly (W/ ignored). */
bool control_etag_matches(const char *if_none_match, const char *etag);
/* control/server.c: a JSON reply of either file. Sends `body` (consumed;
 * NULL gives a 500) as indented JSON with sorted keys, plus `dump_flags`
 * (jansson JSON_* flags), with Content-Type application/json and
 * Cache-Control no-store; a 500 if it cannot be built. */
void control_reply_json(struct evhttp_request *req, int code, struct json_t *body, size_t dump_flags);

#endif
