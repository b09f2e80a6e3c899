/* dns/server.h: the DNS transport: UDP and TCP listeners and their threads.
 *
 * Owns sockets and I/O threads. Per worker (one per core by default) and per
 * listen address there is one UDP thread (SO_REUSEPORT socket, blocking
 * recvmmsg/sendmmsg batches) and per worker one TCP thread (libevent loop
 * over its own SO_REUSEPORT listeners, a preallocated connection pool, RFC
 * 7766 framing, pipelining, idle timeouts). Threads read the current view
 * through an RCU-published pointer once per batch and never block on
 * anything else; the server neither allocates nor locks per query. */
#ifndef STEER_DNS_SERVER_H
#define STEER_DNS_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/netaddr.h"
#include "dns/respond.h"

#define DNS_MAX_LISTEN 16

struct dns_listen {
    struct net_addr addr;
    uint16_t port;
};

struct dns_server_cfg {
    struct dns_listen listen[DNS_MAX_LISTEN];
    unsigned nlisten;
    unsigned workers;             /* 0: one per online CPU */
    unsigned tcp_max_conns;       /* per worker */
    uint32_t tcp_idle_ms;
};

/* Counters of one I/O thread; single writer, read by the metrics code. */
struct dns_stats {
    _Atomic uint64_t udp_queries, tcp_queries, dropped, truncated, ecs, dynamic;
    _Atomic uint64_t rcode[17];   /* 0..15 and BADVERS at 16 */
    _Atomic uint64_t tcp_accepted, tcp_refused, tcp_timeouts, io_errors;
};

struct dns_server;

/* Binds every socket (so errors like EADDRINUSE are reported before any
 * thread starts). `view_ref` is the RCU-protected pointer the threads read.
 * On error returns NULL with a message in err. */
struct dns_server *dns_server_bind(const struct dns_server_cfg *cfg, struct dns_view *const *view_ref,
                                   char *err, size_t errlen);
/* Starts the I/O threads. */
int dns_server_start(struct dns_server *s, char *err, size_t errlen);
/* Stops the threads, closes sockets and frees the server. */
void dns_server_stop(struct dns_server **s);
/* Sums every thread's counters into out. */
void dns_server_stats(const struct dns_server *s, struct dns_stats *out);

#endif
