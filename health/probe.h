/* health/probe.h: one check attempt on the engine's event loop.
 *
 * Owns the I/O of a single run of a check: a non-blocking TCP connect
 * (bufferevent), an optional TLS handshake (libevent_openssl, SNI, optional
 * verification), an HTTP/1.1 request and a bounded response read (http.h),
 * or a DNS query through a per-check c-ares channel bound to the check's
 * resolver. Every run is bounded by the check's timeout (one evtimer); the
 * result is reported once through the done callback, never synchronously
 * from probe_start. After a run, the connection is closed abortively
 * (SO_LINGER 0) so thousands of checks per second leave no TIME_WAIT
 * sockets behind and never exhaust ephemeral ports.
 *
 * Thread: engine thread only. The probe must not be freed from inside its
 * done callback (the engine only reschedules there). */
#ifndef STEER_HEALTH_PROBE_H
#define STEER_HEALTH_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "health/config.h"

struct event_base;
struct event;
struct bufferevent;
struct ssl_ctx_st;
struct http_resp;

/* reason 0 = success; latency of the attempt in microseconds */
typedef void (*probe_done_fn)(void *arg, uint16_t reason, uint64_t latency_us);

#define PROBE_MAX_ARES_FDS 4   /* one UDP socket, plus TCP on truncation */

struct probe {
    const struct health_check_cfg *cfg;   /* borrowed from the owning check */
    struct event_base *base;
    struct ssl_ctx_st *ssl_ctx;           /* borrowed; NULL unless https */
    probe_done_fn done;
    void *arg;
    bool running;
    uint16_t pending_reason;              /* result reported via `deadline` */
    bool report_now;
    uint64_t started_us;
    struct event *deadline;               /* timeout, also used to report early */
    struct bufferevent *bev;
    struct http_resp *resp;               /* malloced per HTTP attempt */
    char *body;                           /* idem, max_body bytes if expect_body */
    bool handshake_done;
    /* dns */
    void *chan;                           /* ares_channel */
    struct { int fd; struct event *ev; } afd[PROBE_MAX_ARES_FDS];
};

/* Prepares a probe; returns 0 or -1 (ENOMEM, c-ares init). */
int probe_init(struct probe *p, struct event_base *base, const struct health_check_cfg *cfg,
               struct ssl_ctx_st *ssl_ctx, probe_done_fn done, void *arg);
/* Starts one run; the result arrives through done. No-op if running. */
void probe_start(struct probe *p);
/* Aborts a run without calling done. */
void probe_cancel(struct probe *p);
void probe_destroy(struct probe *p);

/* Monotonic clock in microseconds. */
uint64_t probe_now_us(void);

/* SSL_CTX for https checks: verification on/off, CA file or system store.
 * Returns NULL with err filled on failure. */
struct ssl_ctx_st *probe_ssl_ctx_new(bool verify, const char *ca_file, char *err, size_t errsz);

#endif
