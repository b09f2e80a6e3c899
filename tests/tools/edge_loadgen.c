/* edge_loadgen: open-loop HTTP/1.1 load generator for bench/edge.sh.
 *   edge_loadgen -a 127.0.0.1:PORT -p /path -r RATE -d SECONDS [-c CONNS] [-H host]
 * Sends GETs at a fixed offered rate over CONNS keep-alive connections and
 * reports latency percentiles measured from each request's *scheduled* send
 * time (so a stalled server cannot hide queueing: no coordinated omission).
 * Output: one line "rate=R sent=N done=N errors=N p50_us=.. p99_us=.. p999_us=.. max_us=..". */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/netaddr.h"
#include "edge/http.h"

#define MAXC 256
#define BUF (256 * 1024)

struct cn {
    int fd;
    bool busy;
    uint64_t sched_ns;        /* scheduled send time of the outstanding request */
    char *buf; size_t have;
    size_t head, body_left;   /* when head parsed */
    bool in_body;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int dial(const struct sockaddr_storage *ss, socklen_t sl)
{
    int fd = socket(ss->ss_family, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)ss, sl) != 0) { close(fd); return -1; }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1:8080", *path = "/", *host = "bench";
    double rate = 1000, secs = 5;
    int conns = 32, opt;
    while ((opt = getopt(argc, argv, "a:p:r:d:c:H:")) != -1) {
        switch (opt) {
        case 'a': addr = optarg; break;
        case 'p': path = optarg; break;
        case 'r': rate = atof(optarg); break;
        case 'd': secs = atof(optarg); break;
        case 'c': conns = atoi(optarg); break;
        case 'H': host = optarg; break;
        default: fprintf(stderr, "usage: edge_loadgen -a ADDR:PORT -p PATH -r RATE -d SECS [-c CONNS] [-H HOST]\n"); return 2;
        }
    }
    if (conns < 1 || conns > MAXC || rate <= 0 || secs <= 0 || secs > 60) { fprintf(stderr, "bad arguments\n"); return 2; }
    struct net_addr a; uint16_t port;
    if (net_hostport_parse(addr, 80, &a, &port) != 0) { fprintf(stderr, "bad address\n"); return 2; }
    struct sockaddr_storage ss;
    socklen_t sl = net_addr_to_sockaddr(&a, port, &ss);
    char req[1024];
    int rl = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: edge_loadgen\r\n\r\n", path, host);
    static struct cn c[MAXC];
    for (int i = 0; i < conns; i++) {
        c[i].fd = dial(&ss, sl);
        c[i].buf = malloc(BUF);
        if (c[i].fd < 0 || !c[i].buf) { fprintf(stderr, "connect failed: %s\n", strerror(errno)); return 1; }
    }
    uint64_t total = (uint64_t)(rate * secs);
    uint64_t *lat = calloc(total ? total : 1, sizeof *lat);
    if (!lat) return 1;
    uint64_t interval = (uint64_t)(1e9 / rate);
    uint64_t start = now_ns() + 1000000, sent = 0, done = 0, errors = 0;
    uint64_t deadline = start + (uint64_t)(secs * 1e9) + 2000000000ULL;   /* +2 s drain */
    struct http_limits lim = { 65536, 128 };
    struct pollfd pf[MAXC];
    while (done + errors < total && now_ns() < deadline) {
        uint64_t t = now_ns();
        /* issue every request whose time has come, on idle connections */
        while (sent < total && start + sent * interval <= t) {
            int k = -1;
            for (int i = 0; i < conns; i++) if (!c[i].busy && c[i].fd >= 0) { k = i; break; }
            if (k < 0) break;                              /* all busy: it waits, latency grows */
            c[k].busy = true; c[k].sched_ns = start + sent * interval; c[k].have = 0; c[k].in_body = false;
            if (write(c[k].fd, req, (size_t)rl) != rl) { errors++; c[k].busy = false; close(c[k].fd); c[k].fd = dial(&ss, sl); }
            sent++;
        }
        int n = 0;
        for (int i = 0; i < conns; i++) { pf[i].fd = c[i].busy ? c[i].fd : -1; pf[i].events = POLLIN; n++; }
        uint64_t next = sent < total ? start + sent * interval : t + 1000000;
        int to = next > t ? (int)((next - t) / 1000000) : 0;
        if (poll(pf, (nfds_t)n, to) < 0 && errno != EINTR) break;
        for (int i = 0; i < conns; i++) {
            if (!(pf[i].revents & (POLLIN | POLLERR | POLLHUP))) continue;
            struct cn *x = &c[i];
            for (;;) {
                ssize_t r = read(x->fd, x->buf + x->have, BUF - x->have);
                if (r <= 0) {
                    if (r < 0 && errno == EAGAIN) break;
                    errors++; x->busy = false; close(x->fd); x->fd = dial(&ss, sl);
                    break;
                }
                x->have += (size_t)r;
                if (!x->in_body) {
                    struct http_msg m;
                    enum http_parse rc = http_parse_response(x->buf, x->have, &lim, HTTP_M_GET, &m);
                    if (rc == HTTP_PARSE_INCOMPLETE) continue;
                    if (rc != HTTP_PARSE_OK || m.status != 200 || m.body != HTTP_BODY_LENGTH) {
                        errors++; x->busy = false; close(x->fd); x->fd = dial(&ss, sl); break;
                    }
                    x->in_body = true; x->head = m.head_len; x->body_left = (size_t)m.content_length;
                }
                size_t got = x->have - x->head;
                if (got >= x->body_left) {
                    lat[done++] = (now_ns() - x->sched_ns) / 1000;
                    x->busy = false; x->have = 0; x->in_body = false;
                    break;
                }
                /* keep only the head length accounted; reuse the buffer for the body */
                x->body_left -= got; x->have = x->head;
            }
        }
    }
    qsort(lat, done, sizeof *lat, cmp);
#define PCT(p) (done ? lat[(size_t)((double)(done - 1) * (p))] : 0)
    printf("rate=%.0f sent=%llu done=%llu errors=%llu p50_us=%llu p99_us=%llu p999_us=%llu max_us=%llu\n", rate,
           (unsigned long long)sent, (unsigned long long)done, (unsigned long long)errors, (unsigned long long)PCT(0.50),
           (unsigned long long)PCT(0.99), (unsigned long long)PCT(0.999), (unsigned long long)(done ? lat[done - 1] : 0));
    for (int i = 0; i < conns; i++) { if (c[i].fd >= 0) close(c[i].fd); free(c[i].buf); }
    free(lat);
    return errors ? 1 : 0;
}
