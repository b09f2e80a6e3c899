#define _LGPL_SOURCE
#include "dns/server.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include "common/log.h"

/* Datagrams per recvmmsg/sendmmsg call: amortises the syscall without
 * holding one RCU read section for long. */
#define UDP_BATCH 32
/* Largest query we read over UDP; longer datagrams are cut and FORMERR'd. */
#define UDP_RX_SIZE 4096
/* Largest UDP response buffer; view->udp_max is capped to this. */
#define UDP_TX_MAX 4096
/* Kernel socket buffer: absorbs bursts while a thread is busy. */
#define UDP_SOCKBUF (4 * 1024 * 1024)
/* recvmmsg wakes at least this often to notice a stop request. */
#define UDP_POLL_MS 250
/* TCP queries larger than this are refused (queries are a few hundred bytes). */
#define TCP_RX_SIZE 16384
#define TCP_BACKLOG 1024

struct udp_thread {
    struct dns_server *srv;
    int fd;
    unsigned index;           /* dns_io_thread of this thread */
    uint32_t obs_left;        /* queries until the next observed one */
    pthread_t tid;
    bool started;
    struct dns_stats stats;
};

struct tcp_conn {
    struct tcp_thread *t;
    int fd;
    struct event ev;
    struct net_addr peer;
    size_t rx_len;
    uint8_t rx[TCP_RX_SIZE];
    uint8_t *tx;              /* pending output after a short write (slow path) */
    size_t tx_len, tx_off;
    struct tcp_conn *next_free;
};

struct tcp_thread {
    struct dns_server *srv;
    unsigned index;           /* dns_io_thread of this thread */
    uint32_t obs_left;        /* queries until the next observed one */
    struct event_base *base;
    int lfds[DNS_MAX_LISTEN];
    struct event lev[DNS_MAX_LISTEN];
    unsigned nl;
    struct tcp_conn *conns;
    struct tcp_conn *free_list;
    struct event stop_ev;
    pthread_t tid;
    bool started;
    uint8_t txbuf[2 + 65535 + DNS_RESPONSE_SLACK];
    struct dns_query q;
    struct dns_stats stats;
};

struct dns_server {
    struct dns_server_cfg cfg;
    struct dns_view *const *view_ref;
    _Atomic bool stop;
    struct udp_thread *udp;
    unsigned nudp;
    struct tcp_thread **tcp;
    unsigned ntcp;
    dns_query_observer obs;   /* set before start, read-only after */
    void *obs_ctx;
    uint32_t obs_sample;
};

/* Calls the observer for one query in obs_sample of this thread's. */
static inline void observe(const struct dns_server *s, uint32_t *left, unsigned thread, bool tcp,
                           const struct dns_client *c, const struct dns_query *q, const struct dns_result *res)
{
    if (!s->obs || --*left)
        return;
    *left = s->obs_sample;
    s->obs(s->obs_ctx, thread, tcp, c, q, res);
}

#define STAT_ADD(s, f, n) atomic_store_explicit(&(s)->f, atomic_load_explicit(&(s)->f, memory_order_relaxed) + (n), \
                                                memory_order_relaxed)
#define STAT_INC(s, f) STAT_ADD(s, f, 1)

_Thread_local unsigned dns_io_thread = DNS_NOT_IO_THREAD;

const uint32_t dns_lat_bounds_ns[DNS_LAT_BOUNDS] = {
    10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000, 5000000, 10000000, 25000000, 100000000 };

static const char *const qt_names[DNS_QT_N] = {
    "A", "NS", "CNAME", "SOA", "PTR", "MX", "TXT", "AAAA", "SRV", "NAPTR", "DS", "DNSKEY",
    "SVCB", "HTTPS", "CAA", "IXFR", "AXFR", "ANY", "other" };

const char *dns_qt_index_name(unsigned i)
{
    return i < DNS_QT_N ? qt_names[i] : "other";
}

static unsigned qt_index(const struct dns_query *q)
{
    if (!q->question_ok)
        return DNS_QT_OTHER;
    switch (q->qtype) {
    case 1: return DNS_QT_A;
    case 2: return DNS_QT_NS;
    case 5: return DNS_QT_CNAME;
    case 6: return DNS_QT_SOA;
    case 12: return DNS_QT_PTR;
    case 15: return DNS_QT_MX;
    case 16: return DNS_QT_TXT;
    case 28: return DNS_QT_AAAA;
    case 33: return DNS_QT_SRV;
    case 35: return DNS_QT_NAPTR;
    case 43: return DNS_QT_DS;
    case 48: return DNS_QT_DNSKEY;
    case 64: return DNS_QT_SVCB;
    case 65: return DNS_QT_HTTPS;
    case 257: return DNS_QT_CAA;
    case 251: return DNS_QT_IXFR;
    case 252: return DNS_QT_AXFR;
    case 255: return DNS_QT_ANY;
    default: return DNS_QT_OTHER;
    }
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* n answers that took span_ns from receipt to send. */
static void count_latency(struct dns_stats *st, unsigned n, uint64_t span_ns)
{
    if (!n)
        return;
    unsigned b = 0;
    while (b < DNS_LAT_BOUNDS && span_ns > dns_lat_bounds_ns[b])
        b++;
    STAT_ADD(st, lat[b], n);
    STAT_ADD(st, lat_sum_ns, span_ns * n);
}

static void count_result(struct dns_stats *st, int transport, const struct dns_query *q, const struct dns_result *res)
{
    STAT_INC(st, qtype[transport][qt_index(q)]);
    if (res->dropped) {
        STAT_INC(st, dropped);
        return;
    }
    STAT_INC(st, rcode[res->rcode <= 16 ? res->rcode : 16]);
    if (res->tc) STAT_INC(st, truncated);
    if (res->ecs) STAT_INC(st, ecs);
    if (res->dynamic) STAT_INC(st, dynamic);
}

/* SO_REUSEPORT would let us silently share a port with another running
 * server; a plain bind first tells whether the address is taken. */
static int check_free(const struct sockaddr_storage *ss, socklen_t slen, int type)
{
    int fd = socket(ss->ss_family, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    if (ss->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (type == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int r = bind(fd, (const struct sockaddr *)ss, slen);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

static int open_socket(const struct dns_listen *l, int type, bool first, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t slen = net_addr_to_sockaddr(&l->addr, l->port, &ss);
    char as[64];
    net_addr_format(&l->addr, as, sizeof as);
    if (first && check_free(&ss, slen, type) < 0) {
        snprintf(err, errlen, "bind %s port %u (%s): %s", as, l->port, type == SOCK_DGRAM ? "udp" : "tcp",
                 strerror(errno));
        return -1;
    }
    int fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket(%s): %s", as, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* one socket per worker: the kernel spreads queries across them */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
        snprintf(err, errlen, "SO_REUSEPORT: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (type == SOCK_DGRAM) {
        int sz = UDP_SOCKBUF;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
        struct timeval tv = { 0, UDP_POLL_MS * 1000 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    } else {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (bind(fd, (struct sockaddr *)&ss, slen) < 0) {
        snprintf(err, errlen, "bind %s port %u (%s): %s", as, l->port, type == SOCK_DGRAM ? "udp" : "tcp",
                 strerror(errno));
        close(fd);
        return -1;
    }
    if (type == SOCK_STREAM) {
        if (listen(fd, TCP_BACKLOG) < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
            snprintf(err, errlen, "listen %s port %u: %s", as, l->port, strerror(errno));
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* ---- UDP ---- */

static void *udp_main(void *arg)
{
    struct udp_thread *t = arg;
    struct dns_server *srv = t->srv;
    dns_io_thread = t->index;
    urcu_memb_register_thread();
    static _Thread_local uint8_t rx[UDP_BATCH][UDP_RX_SIZE];
    static _Thread_local uint8_t tx[UDP_BATCH][UDP_TX_MAX + DNS_RESPONSE_SLACK];
    static _Thread_local struct dns_query q;
    struct mmsghdr rmsg[UDP_BATCH], smsg[UDP_BATCH];
    struct iovec riov[UDP_BATCH], siov[UDP_BATCH];
    struct sockaddr_storage peers[UDP_BATCH];
    for (unsigned i = 0; i < UDP_BATCH; i++) {
        riov[i] = (struct iovec){ rx[i], UDP_RX_SIZE };
        rmsg[i].msg_hdr = (struct msghdr){ .msg_name = &peers[i], .msg_namelen = sizeof peers[i],
                                           .msg_iov = &riov[i], .msg_iovlen = 1 };
        /* send headers: only name, name length and iov length change per answer */
        siov[i] = (struct iovec){ tx[i], 0 };
        smsg[i].msg_hdr = (struct msghdr){ .msg_iov = &siov[i], .msg_iovlen = 1 };
    }
    int filled = 0;     /* headers the previous recvmmsg wrote into */
    while (!atomic_load_explicit(&srv->stop, memory_order_relaxed)) {
        /* the kernel writes msg_namelen/msg_flags of the headers it fills
         * only: reset those (resetting all 32 per call was ~85 instructions
         * a query at the 1-2 datagrams per call of a lightly loaded server) */
        for (int i = 0; i < filled; i++) {
            rmsg[i].msg_hdr.msg_namelen = sizeof peers[i];
            rmsg[i].msg_hdr.msg_flags = 0;
        }
        int n = recvmmsg(t->fd, rmsg, UDP_BATCH, MSG_WAITFORONE, NULL);
        filled = n > 0 ? n : 0;
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                STAT_INC(&t->stats, io_errors);
            continue;
        }
        uint64_t t0 = mono_ns();
        unsigned ns = 0;
        urcu_memb_read_lock();
        const struct dns_view *v = rcu_dereference(*srv->view_ref);
        for (int i = 0; i < n; i++) {
            STAT_INC(&t->stats, udp_queries);
            struct dns_client c = { .tcp = false };
            net_addr_from_sockaddr((struct sockaddr *)&peers[i], &c.addr, NULL);
            struct dns_result res;
            size_t len = dns_respond(v, rx[i], rmsg[i].msg_len, &c, &q, tx[ns], sizeof tx[ns], &res);
            count_result(&t->stats, DNS_TR_UDP, &q, &res);
            observe(srv, &t->obs_left, t->index, false, &c, &q, &res);
            if (!len)
                continue;
            siov[ns].iov_len = len;
            smsg[ns].msg_hdr.msg_name = &peers[i];
            smsg[ns].msg_hdr.msg_namelen = rmsg[i].msg_hdr.msg_namelen;
            ns++;
        }
        urcu_memb_read_unlock();
        unsigned sent = 0;
        while (sent < ns) {
            int r = sendmmsg(t->fd, smsg + sent, ns - sent, 0);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                STAT_INC(&t->stats, io_errors);
                sent++;     /* skip the datagram that failed */
                continue;
            }
            sent += (unsigned)r;
        }
        count_latency(&t->stats, ns, mono_ns() - t0);
    }
    urcu_memb_unregister_thread();
    return NULL;
}

/* ---- TCP ---- */

static void conn_close(struct tcp_conn *c)
{
    struct tcp_thread *t = c->t;
    event_del(&c->ev);
    close(c->fd);
    c->fd = -1;
    free(c->tx);
    c->tx = NULL;
    c->tx_len = c->tx_off = c->rx_len = 0;
    c->next_free = t->free_list;
    t->free_list = c;
}

static void conn_event(evutil_socket_t fd, short what, void *arg);

static void conn_rearm(struct tcp_conn *c, short what)
{
    struct tcp_thread *t = c->t;
    struct timeval idle = { t->srv->cfg.tcp_idle_ms / 1000, (t->srv->cfg.tcp_idle_ms % 1000) * 1000 };
    event_del(&c->ev);
    event_assign(&c->ev, t->base, c->fd, what | EV_PERSIST, conn_event, c);
    event_add(&c->ev, &idle);
}

/* Sends one framed response; keeps what the socket did not take. */
static int conn_send(struct tcp_conn *c, const uint8_t *buf, size_t len)
{
    if (c->tx) {            /* already backlogged: append in order */
        uint8_t *n = realloc(c->tx, c->tx_len + len);
        if (!n)
            return -1;
        memcpy(n + c->tx_len, buf, len);
        c->tx = n;
        c->tx_len += len;
        return 0;
    }
    ssize_t w = send(c->fd, buf, len, MSG_NOSIGNAL);
    if (w < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        w = 0;
    }
    if ((size_t)w == len)
        return 0;
    c->tx = malloc(len - (size_t)w);
    if (!c->tx)
        return -1;
    memcpy(c->tx, buf + w, len - (size_t)w);
    c->tx_len = len - (size_t)w;
    c->tx_off = 0;
    return 0;
}

/* Answers every complete query in the receive buffer (pipelining). */
static int conn_process(struct tcp_conn *c)
{
    struct tcp_thread *t = c->t;
    size_t off = 0;
    unsigned answered = 0;
    uint64_t t0 = mono_ns();
    urcu_memb_read_lock();
    const struct dns_view *v = rcu_dereference(*t->srv->view_ref);
    int rc = 0;
    while (c->rx_len - off >= 2) {
        size_t mlen = dns_get16(c->rx + off);
        if (mlen > TCP_RX_SIZE - 2) {
            rc = -1;        /* we never accept queries this large */
            break;
        }
        if (c->rx_len - off - 2 < mlen)
            break;
        STAT_INC(&t->stats, tcp_queries);
        struct dns_client cl = { .addr = c->peer, .tcp = true };
        struct dns_result res;
        size_t len = dns_respond(v, c->rx + off + 2, mlen, &cl, &t->q, t->txbuf + 2, sizeof t->txbuf - 2, &res);
        count_result(&t->stats, DNS_TR_TCP, &t->q, &res);
        observe(t->srv, &t->obs_left, t->index, true, &cl, &t->q, &res);
        off += 2 + mlen;
        if (!len)
            continue;
        dns_put16(t->txbuf, (uint16_t)len);
        if (conn_send(c, t->txbuf, len + 2) < 0) {
            rc = -1;
            break;
        }
        answered++;
    }
    urcu_memb_read_unlock();
    count_latency(&t->stats, answered, answered ? mono_ns() - t0 : 0);
    if (off && off < c->rx_len)
        memmove(c->rx, c->rx + off, c->rx_len - off);
    c->rx_len -= off < c->rx_len ? off : c->rx_len;
    return rc;
}

static void conn_event(evutil_socket_t fd, short what, void *arg)
{
    struct tcp_conn *c = arg;
    if (what & EV_TIMEOUT) {
        STAT_INC(&c->t->stats, tcp_timeouts);
        conn_close(c);
        return;
    }
    if (what & EV_WRITE) {
        ssize_t w = send(fd, c->tx + c->tx_off, c->tx_len - c->tx_off, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            conn_close(c);
            return;
        }
        if (w > 0)
            c->tx_off += (size_t)w;
        if (c->tx_off == c->tx_len) {
            free(c->tx);
            c->tx = NULL;
            c->tx_len = c->tx_off = 0;
            /* resume reading; queries may already be buffered */
            if (conn_process(c) < 0) {
                conn_close(c);
                return;
            }
            conn_rearm(c, c->tx ? EV_WRITE : EV_READ);
        }
        return;
    }
    ssize_t r = recv(fd, c->rx + c->rx_len, sizeof c->rx - c->rx_len, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        conn_close(c);
        return;
    }
    if (r < 0)
        return;
    c->rx_len += (size_t)r;
    if (conn_process(c) < 0) {
        conn_close(c);
        return;
    }
    if (c->tx)              /* backpressure: stop reading until drained */
        conn_rearm(c, EV_WRITE);
}

static void accept_event(evutil_socket_t lfd, short what, void *arg)
{
    struct tcp_thread *t = arg;
    for (int i = 0; i < 64; i++) {  /* bounded accept burst per wakeup */
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct tcp_conn *c = t->free_list;
        if (!c) {
            STAT_INC(&t->stats, tcp_refused);
            close(fd);      /* connection limit reached */
            continue;
        }
        STAT_INC(&t->stats, tcp_accepted);
        t->free_list = c->next_free;
        c->fd = fd;
        c->rx_len = 0;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        net_addr_from_sockaddr((struct sockaddr *)&ss, &c->peer, NULL);
        event_assign(&c->ev, t->base, fd, EV_READ | EV_PERSIST, conn_event, c);
        struct timeval idle = { t->srv->cfg.tcp_idle_ms / 1000, (t->srv->cfg.tcp_idle_ms % 1000) * 1000 };
        event_add(&c->ev, &idle);
    }
}

static void stop_check(evutil_socket_t fd, short what, void *arg)
{
    struct tcp_thread *t = arg;
    if (atomic_load(&t->srv->stop))
        event_base_loopbreak(t->base);
}

static void *tcp_main(void *arg)
{
    struct tcp_thread *t = arg;
    dns_io_thread = t->index;
    urcu_memb_register_thread();
    event_base_dispatch(t->base);
    urcu_memb_unregister_thread();
    return NULL;
}

static struct tcp_thread *tcp_thread_new(struct dns_server *s, bool first, char *err, size_t errlen)
{
    /* aligned: the counter block must not share a line with another thread's */
    struct tcp_thread *t = aligned_alloc(64, (sizeof *t + 63) / 64 * 64);
    if (!t)
        return NULL;
    memset(t, 0, sizeof *t);
    t->srv = s;
    t->base = event_base_new();
    t->conns = calloc(s->cfg.tcp_max_conns, sizeof *t->conns);
    if (!t->base || !t->conns) {
        snprintf(err, errlen, "out of memory");
        return t;
    }
    for (unsigned i = 0; i < s->cfg.tcp_max_conns; i++) {
        t->conns[i].t = t;
        t->conns[i].fd = -1;
        t->conns[i].next_free = t->free_list;
        t->free_list = &t->conns[i];
    }
    for (unsigned i = 0; i < s->cfg.nlisten; i++)
        t->lfds[i] = -1;
    for (unsigned i = 0; i < s->cfg.nlisten; i++) {
        t->lfds[i] = open_socket(&s->cfg.listen[i], SOCK_STREAM, first, err, errlen);
        if (t->lfds[i] < 0)
            return t;
        t->nl++;
        event_assign(&t->lev[i], t->base, t->lfds[i], EV_READ | EV_PERSIST, accept_event, t);
        event_add(&t->lev[i], NULL);
    }
    /* the loop polls the stop flag: no cross-thread wakeup machinery needed */
    struct timeval tick = { 0, UDP_POLL_MS * 1000 };
    event_assign(&t->stop_ev, t->base, -1, EV_PERSIST, stop_check, t);
    event_add(&t->stop_ev, &tick);
    return t;
}

static void tcp_thread_free(struct tcp_thread *t)
{
    if (!t)
        return;
    if (t->conns)
        for (unsigned i = 0; i < t->srv->cfg.tcp_max_conns; i++)
            if (t->conns[i].fd >= 0) {
                event_del(&t->conns[i].ev);
                close(t->conns[i].fd);
                free(t->conns[i].tx);
            }
    for (unsigned i = 0; i < t->nl; i++) {
        event_del(&t->lev[i]);
        close(t->lfds[i]);
    }
    if (t->base) {
        event_del(&t->stop_ev);
        event_base_free(t->base);
    }
    free(t->conns);
    free(t);
}

static unsigned workers_of(const struct dns_server_cfg *cfg)
{
    if (cfg->workers)
        return cfg->workers;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

unsigned dns_server_io_threads(const struct dns_server_cfg *cfg)
{
    return workers_of(cfg) * (cfg->nlisten + 1);
}

struct dns_server *dns_server_bind(const struct dns_server_cfg *cfg, struct dns_view *const *view_ref,
                                   char *err, size_t errlen)
{
    err[0] = '\0';
    struct dns_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->view_ref = view_ref;
    s->cfg.workers = workers_of(cfg);
    size_t nu = (size_t)s->cfg.workers * cfg->nlisten;
    /* aligned (sizeof is a multiple of 64 through dns_stats): each
     * thread's counters on lines of their own */
    s->udp = aligned_alloc(64, (nu ? nu : 1) * sizeof *s->udp);
    if (s->udp)
        memset(s->udp, 0, (nu ? nu : 1) * sizeof *s->udp);
    s->tcp = calloc(s->cfg.workers, sizeof *s->tcp);
    if (!s->udp || !s->tcp) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (unsigned w = 0; w < s->cfg.workers; w++) {
        for (unsigned i = 0; i < cfg->nlisten; i++) {
            struct udp_thread *u = &s->udp[s->nudp];
            u->srv = s;
            u->index = s->nudp;
            u->fd = open_socket(&cfg->listen[i], SOCK_DGRAM, w == 0, err, errlen);
            if (u->fd < 0)
                goto fail;
            s->nudp++;
        }
        s->tcp[w] = tcp_thread_new(s, w == 0, err, errlen);
        if (s->tcp[w])
            s->tcp[w]->index = s->cfg.workers * cfg->nlisten + w;
        s->ntcp++;
        if (!s->tcp[w] || err[0])
            goto fail;
    }
    return s;
fail:
    dns_server_stop(&s);
    return NULL;
}

void dns_server_observe(struct dns_server *s, uint32_t sample, dns_query_observer fn, void *ctx)
{
    s->obs = sample ? fn : NULL;
    s->obs_ctx = ctx;
    s->obs_sample = sample;
    for (unsigned i = 0; i < s->nudp; i++)
        s->udp[i].obs_left = sample;
    for (unsigned i = 0; i < s->ntcp; i++)
        s->tcp[i]->obs_left = sample;
}

const char *dns_rcode_name(unsigned rcode)
{
    static const char *const names[17] = {
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI", "RCODE12", "RCODE13", "RCODE14", "RCODE15", "BADVERS" };
    return rcode < 17 ? names[rcode] : "RCODE?";
}

int dns_server_start(struct dns_server *s, char *err, size_t errlen)
{
    for (unsigned i = 0; i < s->nudp; i++) {
        if (pthread_create(&s->udp[i].tid, NULL, udp_main, &s->udp[i]) != 0) {
            snprintf(err, errlen, "cannot start UDP thread");
            return -1;
        }
        s->udp[i].started = true;
    }
    for (unsigned i = 0; i < s->ntcp; i++) {
        if (pthread_create(&s->tcp[i]->tid, NULL, tcp_main, s->tcp[i]) != 0) {
            snprintf(err, errlen, "cannot start TCP thread");
            return -1;
        }
        s->tcp[i]->started = true;
    }
    return 0;
}

void dns_server_stop(struct dns_server **sp)
{
    struct dns_server *s = *sp;
    if (!s)
        return;
    atomic_store(&s->stop, true);
    for (unsigned i = 0; i < s->nudp; i++) {
        if (s->udp[i].started)
            pthread_join(s->udp[i].tid, NULL);
        close(s->udp[i].fd);
    }
    for (unsigned i = 0; i < s->ntcp; i++) {
        if (s->tcp[i] && s->tcp[i]->started)
            pthread_join(s->tcp[i]->tid, NULL);
        tcp_thread_free(s->tcp[i]);
    }
    free(s->udp);
    free(s->tcp);
    free(s);
    *sp = NULL;
}

static void add_stats(struct dns_stats *o, const struct dns_stats *i)
{
#define ADD(f) atomic_store(&o->f, atomic_load(&o->f) + atomic_load_explicit(&i->f, memory_order_relaxed))
    ADD(udp_queries); ADD(tcp_queries); ADD(dropped); ADD(truncated); ADD(ecs); ADD(dynamic);
    ADD(tcp_accepted); ADD(tcp_refused); ADD(tcp_timeouts); ADD(io_errors);
    for (int k = 0; k < 17; k++)
        ADD(rcode[k]);
    for (int tr = 0; tr < 2; tr++)
        for (int k = 0; k < DNS_QT_N; k++)
            ADD(qtype[tr][k]);
    for (int k = 0; k <= DNS_LAT_BOUNDS; k++)
        ADD(lat[k]);
    ADD(lat_sum_ns);
#undef ADD
}

void dns_server_stats(const struct dns_server *s, struct dns_stats *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < s->nudp; i++)
        add_stats(out, &s->udp[i].stats);
    for (unsigned i = 0; i < s->ntcp; i++)
        add_stats(out, &s->tcp[i]->stats);
}
