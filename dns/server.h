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

/* Query types counted by name (label qtype= in /metrics); everything else,
 * including questions that could not be decoded, is DNS_QT_OTHER. */
enum dns_qt_index {
    DNS_QT_A, DNS_QT_NS, DNS_QT_CNAME, DNS_QT_SOA, DNS_QT_PTR, DNS_QT_MX, DNS_QT_TXT, DNS_QT_AAAA,
    DNS_QT_SRV, DNS_QT_NAPTR, DNS_QT_DS, DNS_QT_DNSKEY, DNS_QT_SVCB, DNS_QT_HTTPS, DNS_QT_CAA,
    DNS_QT_IXFR, DNS_QT_AXFR, DNS_QT_ANY, DNS_QT_OTHER, DNS_QT_N
};
const char *dns_qt_index_name(unsigned i);   /* "A", ..., "other" */

/* Query duration histogram (recv to send): upper bounds in nanoseconds; one
 * more bucket (+Inf) follows the last bound. Spans a loopback answer
 * (~10 us) to a badly overloaded thread (100 ms). */
#define DNS_LAT_BOUNDS 12
extern const uint32_t dns_lat_bounds_ns[DNS_LAT_BOUNDS];

enum { DNS_TR_UDP = 0, DNS_TR_TCP = 1 };

/* Counters of one I/O thread. Each thread writes only its own block
 * (relaxed load + store: no locked instruction); any thread may read them
 * with relaxed loads. The block is cache-line aligned and padded so two
 * threads' counters never share a line.
 *
 * Duration: UDP takes one CLOCK_MONOTONIC reading when recvmmsg returns a
 * batch and one when sendmmsg has sent it; every answer of the batch is
 * counted with that span (the honest recv-to-send time of a batched
 * server: the first answer waited for the last). TCP does the same per
 * read of a connection (all pipelined queries in it). Two vDSO clock reads
 * per batch, not per query (see docs/metrics.md for the measured cost). */
struct dns_stats {
    _Alignas(64) _Atomic uint64_t udp_queries, tcp_queries, dropped, truncated, ecs, dynamic;
    _Atomic uint64_t rcode[17];   /* 0..15 and BADVERS at 16 */
    _Atomic uint64_t tcp_accepted, tcp_refused, tcp_timeouts, io_errors;
    _Atomic uint64_t qtype[2][DNS_QT_N];          /* [DNS_TR_UDP/TCP][dns_qt_index] */
    _Atomic uint64_t lat[DNS_LAT_BOUNDS + 1];     /* non-cumulative, answers sent */
    _Atomic uint64_t lat_sum_ns;
};

/* Index of the calling I/O thread in 0..dns_server_io_threads()-1, or
 * DNS_NOT_IO_THREAD on any other thread. Lets code called on the query
 * path (the steering callback) keep per-thread counters without a lock. */
#define DNS_NOT_IO_THREAD 0xffffffffu
extern _Thread_local unsigned dns_io_thread;
/* Number of I/O threads a server with this config runs (UDP threads, one per
 * worker and listen address, then one TCP thread per worker). */
unsigned dns_server_io_threads(const struct dns_server_cfg *cfg);

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

/* Sampled per-query observer (the query log): every I/O thread calls fn for
 * one query in `sample` (its own countdown: 1 = every query), after the
 * answer was built and before it is sent, inside the thread's RCU read
 * section. fn runs on the query path: it must not block, lock or allocate.
 * Set before dns_server_start; sample 0 or fn NULL = off (one predictable
 * branch per query). */
typedef void (*dns_query_observer)(void *ctx, unsigned thread, bool tcp, const struct dns_client *c,
                                   const struct dns_query *q, const struct dns_result *res);
void dns_server_observe(struct dns_server *s, uint32_t sample, dns_query_observer fn, void *ctx);

/* "NOERROR", ..., "BADVERS" (16), "RCODEn" for the unnamed ones. */
const char *dns_rcode_name(unsigned rcode);

#endif
