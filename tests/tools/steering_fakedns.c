/* tests/tools/steering_fakedns.c: a tiny authoritative DNS server for
 * steering tests (apex flattening), built on ldns. UDP only, loopback.
 *
 *   steering_fakedns -p PORT -z FILE [-a ADDR]
 *
 * FILE holds resource records in zone-file syntax (absolute owner names).
 * Answers qname/qtype from them, following CNAMEs inside the data (at most
 * 8), AA set; NXDOMAIN when the name has no records at all. Signals:
 * SIGHUP reloads FILE, SIGUSR1 toggles "drop every query" (to simulate a
 * dead resolver), SIGTERM/SIGINT exit. Prints "ready" on stdout once
 * listening. Malformed queries are dropped. */
#include <errno.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/netaddr.h"

#define MAX_CNAME_CHAIN 8   /* bound on CNAME following inside our own data */

static volatile sig_atomic_t g_reload, g_toggle_drop, g_stop;
static void on_sig(int s)
{
    if (s == SIGHUP) g_reload = 1;
    else if (s == SIGUSR1) g_toggle_drop = 1;
    else g_stop = 1;
}

static ldns_rr_list *load(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "fakedns: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    ldns_rr_list *l = ldns_rr_list_new();
    uint32_t ttl = 300;
    ldns_rdf *origin = NULL, *prev = NULL;
    int line = 0;
    while (!feof(fp)) {
        ldns_rr *rr = NULL;
        ldns_status st = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &line);
        if (st == LDNS_STATUS_OK && rr)
            ldns_rr_list_push_rr(l, rr);
        else if (st != LDNS_STATUS_SYNTAX_EMPTY && st != LDNS_STATUS_SYNTAX_TTL && st != LDNS_STATUS_SYNTAX_ORIGIN &&
                 st != LDNS_STATUS_SYNTAX_INCLUDE) {
            if (feof(fp))
                break;
            fprintf(stderr, "fakedns: %s:%d: %s\n", path, line, ldns_get_errorstr_by_id(st));
        }
    }
    if (origin) ldns_rdf_deep_free(origin);
    if (prev) ldns_rdf_deep_free(prev);
    fclose(fp);
    return l;
}

static bool name_eq(const ldns_rdf *a, const ldns_rdf *b) { return ldns_dname_compare(a, b) == 0; }

/* Builds the answer for q; returns wire bytes (malloced) or NULL. */
static uint8_t *answer(const ldns_rr_list *zone, ldns_pkt *q, size_t *len)
{
    ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
    if (!qrr)
        return NULL;
    ldns_pkt *r = ldns_pkt_new();
    ldns_pkt_set_id(r, ldns_pkt_id(q));
    ldns_pkt_set_qr(r, true);
    ldns_pkt_set_aa(r, true);
    ldns_pkt_set_rd(r, ldns_pkt_rd(q));
    ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, ldns_rr_clone(qrr));
    ldns_rdf *name = ldns_rdf_clone(ldns_rr_owner(qrr));
    ldns_rr_type qt = ldns_rr_get_type(qrr);
    bool exists = false;
    for (int depth = 0; depth <= MAX_CNAME_CHAIN; depth++) {
        ldns_rdf *next = NULL;
        for (size_t i = 0; i < ldns_rr_list_rr_count(zone); i++) {
            ldns_rr *rr = ldns_rr_list_rr(zone, i);
            if (!name_eq(ldns_rr_owner(rr), name))
                continue;
            exists = true;
            if (ldns_rr_get_type(rr) == qt || qt == LDNS_RR_TYPE_ANY)
                ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, ldns_rr_clone(rr));
            else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME) {
                ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, ldns_rr_clone(rr));
                next = ldns_rdf_clone(ldns_rr_rdf(rr, 0));
            }
        }
        if (!next)
            break;
        ldns_rdf_deep_free(name);
        name = next;
        exists = false;   /* the answer's fate is the target's */
    }
    ldns_rdf_deep_free(name);
    ldns_pkt_set_rcode(r, exists || ldns_pkt_ancount(r) ? LDNS_RCODE_NOERROR : LDNS_RCODE_NXDOMAIN);
    uint8_t *wire = NULL;
    if (ldns_pkt2wire(&wire, r, len) != LDNS_STATUS_OK)
        wire = NULL;
    ldns_pkt_free(r);
    return wire;
}

int main(int argc, char **argv)
{
    const char *zone_path = NULL, *addr_s = "127.0.0.1";
    int port = 0, opt;
    while ((opt = getopt(argc, argv, "p:z:a:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'z': zone_path = optarg; break;
        case 'a': addr_s = optarg; break;
        default: goto usage;
        }
    }
    if (!zone_path || port <= 0 || port > 65535)
        goto usage;
    struct net_addr a;
    if (net_addr_parse(addr_s, &a) < 0)
        goto usage;
    ldns_rr_list *zone = load(zone_path);
    if (!zone)
        return 1;
    struct sockaddr_storage ss;
    socklen_t sl = net_addr_to_sockaddr(&a, (uint16_t)port, &ss);
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0) {
        fprintf(stderr, "fakedns: bind %s:%d: %s\n", addr_s, port, strerror(errno));
        return 1;
    }
    prctl(PR_SET_PDEATHSIG, SIGTERM);   /* never outlive the test that started us */
    struct sigaction sa = { .sa_handler = on_sig };
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("ready\n");
    fflush(stdout);
    bool drop = false;
    unsigned long nq = 0;
    while (!g_stop) {
        if (g_reload) {
            g_reload = 0;
            ldns_rr_list *z = load(zone_path);
            if (z) {
                ldns_rr_list_deep_free(zone);
                zone = z;
                fprintf(stderr, "fakedns: reloaded %zu records\n", ldns_rr_list_rr_count(zone));
            }
        }
        if (g_toggle_drop) {
            g_toggle_drop = 0;
            drop = !drop;
            fprintf(stderr, "fakedns: drop %s\n", drop ? "on" : "off");
        }
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (poll(&pfd, 1, 100) <= 0)   /* 100 ms: how quickly signals are noticed */
            continue;
        uint8_t buf[4096];
        struct sockaddr_storage peer;
        socklen_t pl = sizeof peer;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &pl);
        if (n <= 0 || drop)
            continue;
        nq++;
        ldns_pkt *q = NULL;
        if (ldns_wire2pkt(&q, buf, (size_t)n) != LDNS_STATUS_OK || ldns_pkt_qr(q) ||
            ldns_pkt_qdcount(q) != 1) {
            if (q)
                ldns_pkt_free(q);
            continue;
        }
        size_t len = 0;
        uint8_t *w = answer(zone, q, &len);
        ldns_pkt_free(q);
        if (w) {
            sendto(fd, w, len, 0, (struct sockaddr *)&peer, pl);
            free(w);
        }
    }
    fprintf(stderr, "fakedns: %lu queries\n", nq);
    ldns_rr_list_deep_free(zone);
    close(fd);
    return 0;
usage:
    fprintf(stderr, "usage: steering_fakedns -p PORT -z ZONEFILE [-a ADDR]\n");
    return 2;
}
