/* rum_loadgen: open-loop beacon load generator for bench/rum_collector.sh.
 *   rum_loadgen -a 127.0.0.1:PORT -r RATE -d SECONDS [-c CONNS] [-n CLIENTS]
 * POSTs JSON beacons of 4 measurements (providers a-pop..d-pop: 3 latencies
 * and a failure) to /rum at a fixed offered rate over CONNS keep-alive
 * connections, one request outstanding per connection. Each beacon carries
 * X-Forwarded-For with one of CLIENTS addresses spread over the geo
 * fixture's networks. Beacon i is due at start + i / RATE; its latency is
 * measured from that scheduled time, not from when a connection became free,
 * so a server that falls behind shows its queue (no coordinated omission).
 * A reply must be "204" without a body; anything else, a closed connection
 * or no reply within 1 s after the run counts as an error.
 * Output: one line "rate=R sent=N done=N errors=N p50_us=.. p99_us=.. p999_us=.. max_us=..";
 * exit status 1 if there was any error. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/netaddr.h"

#define MAX_CONNS   256
#define MAX_RATE    200000     /* beacons/s: far above what one loopback server answers */
#define MAX_SECONDS 10         /* bench runs are bounded */
#define RX_BUF      4096       /* a 204 head is ~150 bytes; more means a body we refuse */
#define DRAIN_NS    1000000000ULL   /* replies still awaited after the run */

/* Fixture networks (geo/fixture): EU/DE, US, JP/AU, BR, GB. */
static const char *const nets[] = { "192.0.2.", "198.51.100.", "203.0.113.", "198.18.0.", "100.64.0." };
#define NNETS (sizeof nets / sizeof nets[0])

struct conn {
    int fd;
    bool busy;
    uint64_t due_ns;           /* scheduled send time of the outstanding beacon */
    size_t have;
    char rx[RX_BUF];
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int dial(const struct sockaddr_storage *ss, socklen_t sl)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)ss, sl) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Beacon i as a complete request; returns its length. */
static int beacon(char *buf, size_t size, uint64_t i, unsigned clients)
{
    char body[256];
    unsigned c = (unsigned)(i % clients);
    int bl = snprintf(body, sizeof body,
                      "{\"m\":[{\"p\":\"a-pop\",\"k\":\"latency\",\"v\":%u},{\"p\":\"b-pop\",\"k\":\"latency\",\"v\":%u},"
                      "{\"p\":\"c-pop\",\"k\":\"latency\",\"v\":%u},{\"p\":\"d-pop\",\"k\":\"failure\"}]}",
                      20 + (unsigned)(i % 50), 30 + (unsigned)(i % 40), 40 + (unsigned)(i % 30));
    return snprintf(buf, size,
                    "POST /rum HTTP/1.1\r\nHost: rum.bench\r\nContent-Type: text/plain\r\n"
                    "X-Forwarded-For: %s%u\r\nContent-Length: %d\r\n\r\n%s",
                    nets[c % NNETS], (unsigned)(c / NNETS % 250 + 1), bl, body);
}

enum reply { REPLY_MORE, REPLY_OK, REPLY_BAD };

/* Is the buffer a complete "204, no body" reply? */
static enum reply check_reply(const struct conn *c)
{
    const char *end = memmem(c->rx, c->have, "\r\n\r\n", 4);
    if (!end)
        return c->have >= sizeof c->rx ? REPLY_BAD : REPLY_MORE;
    if ((size_t)(end + 4 - c->rx) != c->have)   /* bytes after the head: a body or a second reply */
        return REPLY_BAD;
    if (c->have < 12 || memcmp(c->rx, "HTTP/1.1 204", 12) != 0)
        return REPLY_BAD;
    return REPLY_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void usage(void)
{
    fprintf(stderr, "usage: rum_loadgen -a ADDR:PORT -r RATE -d SECONDS [-c CONNS] [-n CLIENTS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *addr = NULL;
    long rate = 0, secs = 0, nconn = 8, clients = 250;
    int o;
    while ((o = getopt(argc, argv, "a:r:d:c:n:")) != -1) {
        switch (o) {
        case 'a': addr = optarg; break;
        case 'r': rate = strtol(optarg, NULL, 10); break;
        case 'd': secs = strtol(optarg, NULL, 10); break;
        case 'c': nconn = strtol(optarg, NULL, 10); break;
        case 'n': clients = strtol(optarg, NULL, 10); break;
        default: usage();
        }
    }
    struct net_addr na;
    uint16_t port;
    if (!addr || net_hostport_parse(addr, 0, &na, &port) < 0 || !port || rate < 1 || rate > MAX_RATE || secs < 1 ||
        secs > MAX_SECONDS || nconn < 1 || nconn > MAX_CONNS || clients < 1 || clients > 250 * (long)NNETS)
        usage();
    struct sockaddr_storage ss;
    socklen_t sl = net_addr_to_sockaddr(&na, port, &ss);
    uint64_t total = (uint64_t)rate * (uint64_t)secs;
    uint64_t *lat = malloc(total * sizeof *lat);
    struct conn *cs = calloc((size_t)nconn, sizeof *cs);
    struct pollfd *pfd = calloc((size_t)nconn, sizeof *pfd);
    if (!lat || !cs || !pfd) {
        fprintf(stderr, "rum_loadgen: out of memory\n");
        return 2;
    }
    for (long k = 0; k < nconn; k++)
        if ((cs[k].fd = dial(&ss, sl)) < 0) {
            fprintf(stderr, "rum_loadgen: connect %s: %s\n", addr, strerror(errno));
            return 1;
        }
    const uint64_t step = 1000000000ULL / (uint64_t)rate;
    const uint64_t start = now_ns() + 1000000, end = start + (uint64_t)secs * 1000000000ULL;
    uint64_t sent = 0, done = 0, errors = 0;
    char req[1024];
    for (;;) {
        uint64_t t = now_ns();
        /* send every due beacon that has a free connection */
        for (long k = 0; k < nconn && sent < total && start + sent * step <= t; k++) {
            struct conn *c = &cs[k];
            if (c->busy || c->fd < 0)
                continue;
            int len = beacon(req, sizeof req, sent, (unsigned)clients);
            c->due_ns = start + sent * step;
            sent++;
            if (write(c->fd, req, (size_t)len) != len) {
                errors++;
                close(c->fd);
                c->fd = dial(&ss, sl);
                continue;
            }
            c->busy = true;
            c->have = 0;
        }
        unsigned busy = 0;
        for (long k = 0; k < nconn; k++) {
            pfd[k].fd = cs[k].busy ? cs[k].fd : -1;
            pfd[k].events = POLLIN;
            busy += cs[k].busy;
        }
        if (sent == total && !busy)
            break;
        if (t > end + DRAIN_NS) {
            errors += busy;   /* no reply in time */
            break;
        }
        /* sleep until the next beacon is due (ns precision: at 2000/s they
         * are 0.5 ms apart) or a reply arrives; with every connection busy,
         * only a reply can free one */
        uint64_t next = sent < total && busy < (unsigned)nconn ? start + sent * step : end + DRAIN_NS;
        uint64_t wait = next > t ? next - t : 0;
        struct timespec ts = { .tv_sec = (time_t)(wait / 1000000000ULL), .tv_nsec = (long)(wait % 1000000000ULL) };
        if (ppoll(pfd, (nfds_t)nconn, &ts, NULL) < 0 && errno != EINTR)
            break;
        t = now_ns();
        for (long k = 0; k < nconn; k++) {
            struct conn *c = &cs[k];
            if (!c->busy || !(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(c->fd, c->rx + c->have, sizeof c->rx - c->have);
            enum reply r = n > 0 ? (c->have += (size_t)n, check_reply(c)) : REPLY_BAD;
            if (r == REPLY_MORE)
                continue;
            c->busy = false;
            if (r == REPLY_OK) {
                lat[done++] = t - c->due_ns;
            } else {
                errors++;
                close(c->fd);
                c->fd = dial(&ss, sl);
            }
        }
    }
    qsort(lat, done, sizeof *lat, cmp_u64);
#define PCT(q) (done ? lat[(size_t)((double)(done - 1) * (q))] / 1000 : 0)
    printf("rate=%ld sent=%llu done=%llu errors=%llu p50_us=%llu p99_us=%llu p999_us=%llu max_us=%llu\n", rate,
           (unsigned long long)sent, (unsigned long long)done, (unsigned long long)errors,
           (unsigned long long)PCT(0.50), (unsigned long long)PCT(0.99), (unsigned long long)PCT(0.999),
           (unsigned long long)PCT(1.0));
#undef PCT
    for (long k = 0; k < nconn; k++)
        if (cs[k].fd >= 0)
            close(cs[k].fd);
    free(lat);
    free(cs);
    free(pfd);
    return errors || sent < total ? 1 : 0;
}
