/* edge/upstream.h: upstream HTTP/1.1 client with per-upstream connection pools.
 *
 * Owns connections to shields and origins (struct uconn), their pools of
 * idle keep-alive connections, timeouts (connect, first byte, between
 * bytes), response head parsing and body de-framing (Content-Length,
 * chunked, close-delimited). The caller (a fetch) gets callbacks: head,
 * body data, done, or error. Passive health: consecutive failures mark an
 * upstream down; a timer probes GET /health and marks it up again.
 *
 * Metrics: each exchange with an origin or a shield counts, in the
 * upstream's tier (ed->st.tier[], plain integers, loop thread only), the
 * time from issuing the request (a new connection's connect included) to
 * its parsed response head (histogram) and one result when it ends: ok (a
 * response below 500), error (a 5xx response, refused/reset connection,
 * invalid or truncated response) or timeout. An exchange edged cancels before the head (every client gone,
 * shutdown) has no result. Health probes and purge propagation are not
 * counted.
 *
 * Event-loop thread only. A uconn is owned by its caller from up_request()
 * until a terminal callback (done/error) or up_abort(); after either, the
 * caller must not touch it (the upstream module pools or frees it).
 * Callbacks may call up_abort() on their own uconn. */
#ifndef STEER_EDGE_UPSTREAM_H
#define STEER_EDGE_UPSTREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "edge/config.h"
#include "edge/http.h"

struct event_base;
struct event;
struct uconn;
struct edged;

enum up_err {
    UP_ERR_CONNECT = 0,   /* refused / unreachable: 502 */
    UP_ERR_TIMEOUT,       /* connect or response timeout: 504 */
    UP_ERR_PROTO,         /* unparseable response: 502 */
    UP_ERR_CLOSED,        /* connection closed or reset: 502 */
};

/* Which tier an upstream belongs to (metrics label `tier`). */
enum up_tier {
    UP_TIER_ORIGIN = 0,
    UP_TIER_SHIELD,
    UP_TIERS,                 /* number of counted tiers */
    UP_TIER_ADMIN = UP_TIERS, /* purge propagation target: not counted */
};

/* How an exchange ended (metrics label `result`). */
enum up_result { UP_RES_OK = 0, UP_RES_ERROR, UP_RES_TIMEOUT, UP_RESULTS };

struct upstream {
    struct edge_hostport hp;
    enum up_tier tier;
    bool down;
    uint32_t fails;            /* consecutive failures */
    struct uconn *idle;        /* pool (LIFO) */
    uint32_t nidle;
    struct event *probe;       /* active while down */
    struct uconn *probe_conn;
    struct edged *ed;
    uint64_t requests, failures;
};

struct up_cb {
    /* Response head parsed (1xx skipped). `m` and its buffer are valid only
     * during the call. */
    void (*on_head)(void *ctx, const struct http_msg *m);
    void (*on_data)(void *ctx, const char *p, size_t n);
    void (*on_done)(void *ctx);
    /* `got_head`: whether on_head was already called. */
    void (*on_error)(void *ctx, enum up_err e, bool got_head);
};

struct upstream *upstream_new(struct edged *ed, const struct edge_hostport *hp, enum up_tier tier);
void upstream_free(struct upstream **u);

/* Sends req (a complete head, plus optional body) to u, reusing an idle
 * connection when one exists. Returns the connection or NULL when a socket
 * cannot even be created (treat as UP_ERR_CONNECT). */
struct uconn *up_request(struct upstream *u, const char *req, size_t len, const char *body,
                         size_t blen, enum http_method m, const struct up_cb *cb, void *ctx);
void up_pause(struct uconn *c);
void up_resume(struct uconn *c);
/* Stops callbacks but lets the exchange finish, so the connection can go
 * back to the pool (the caller is done with it, e.g. after a bodiless head). */
void up_release(struct uconn *c);
/* Cancels and closes the connection; no more callbacks. */
void up_abort(struct uconn *c);

/* Passive health reporting by the fetch logic. */
void upstream_ok(struct upstream *u);
void upstream_failed(struct upstream *u);

/* Metric names of a tier and a result ("origin", "shield"; "ok", "error",
 * "timeout"). */
const char *up_tier_name(enum up_tier t);
const char *up_result_name(enum up_result r);

#endif
