/* tests/tools/health_dns.c: a tiny authoritative DNS server (UDP, ldns) for
 * DNS health-check tests.
 *
 *   health_dns [-a ADDR] -p PORT
 *
 * Fixed zone under "test.":
 *   ok.test.          A 192.0.2.1, AAAA 2001:db8::1
 *   cname.test.       CNAME target.cdn.test.  (target.cdn.test. A 192.0.2.2)
 *   empty.test.       CNAME nowhere.test.     (nowhere.test. has only TXT)
 *   servfail.test.    SERVFAIL         refused.test.  REFUSED
 *   drop.test.        never answered   anything else  NXDOMAIN
 * SIGUSR1 toggles "broken" mode: every query gets SERVFAIL. Prints "ready"
 * once bound; exits on SIGTERM/SIGINT. */
#include <arpa/inet.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/netaddr.h"

#define MAX_CHAIN 8   /* CNAME hops followed inside the zone */

static volatile sig_atomic_t stop, broken;

static const struct { const char *name, *type, *data; } zone[] = {
    { "ok.test.", "A", "192.0.2.1" },
    { "ok.test.", "AAAA", "2001:db8::1" },
    { "cname.test.", "CNAME", "target.cdn.test." },
    { "target.cdn.test.", "A", "192.0.2.2" },
    { "empty.test.", "CNAME", "nowhere.test." },
    { "nowhere.test.", "TXT", "\"nothing here\"" },
};
#define NZONE (sizeof zone / sizeof zone[0])

static void on_term(int s) { stop = 1; }
static void on_usr1(int s) { broken = !broken; }

static bool name_exists(const char *n)
{
    for (size_t i = 0; i < NZONE; i++)
        if (strcasecmp(zone[i].name, n) == 0)
            return true;
    return false;
}

static void add_rr(ldns_pkt *r, const char *name, const char *type, const char *data)
{
    char text[512];
    ldns_rr *rr = NULL;
    snprintf(text, sizeof text, "%s 30 IN %s %s", name, type, data);
    if (ldns_rr_new_frm_str(&rr, text, 30, NULL, NULL) == LDNS_STATUS_OK)
        ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, rr);
}

/* Fills answer and rcode for (qname, qtype); returns false to drop. */
static bool answer(ldns_pkt *r, const char *qname, const char *qtype)
{
    char cur[256];
    snprintf(cur, sizeof cur, "%s", qname);
    if (broken || strcasecmp(qname, "servfail.test.") == 0) {
        ldns_pkt_set_rcode(r, LDNS_RCODE_SERVFAIL);
        return true;
    }
    if (strcasecmp(qname, "refused.test.") == 0) {
        ldns_pkt_set_rcode(r, LDNS_RCODE_REFUSED);
        return true;
    }
    if (strcasecmp(qname, "drop.test.") == 0)
        return false;
    for (int hop = 0; hop < MAX_CHAIN; hop++) {
        if (!name_exists(cur)) {
            ldns_pkt_set_rcode(r, LDNS_RCODE_NXDOMAIN);
            return true;
        }
        const char *cname = NULL;
        bool found = false;
        for (size_t i = 0; i < NZONE; i++) {
            if (strcasecmp(zone[i].name, cur) != 0)
                continue;
            if (strcasecmp(zone[i].type, qtype) == 0) {
                add_rr(r, cur, zone[i].type, zone[i].data);
                found = true;
            } else if (strcmp(zone[i].type, "CNAME") == 0) {
                cname = zone[i].data;
            }
        }
        if (found || !cname)
            return true;   /* answer, or NODATA */
        add_rr(r, cur, "CNAME", cname);
        snprintf(cur, sizeof cur, "%s", cname);
    }
    return true;
}

static void serve_one(int fd)
{
    uint8_t buf[4096];
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&ss, &sl);
    if (n <= 0)
        return;
    ldns_pkt *q = NULL;
    if (ldns_wire2pkt(&q, buf, (size_t)n) != LDNS_STATUS_OK)
        return;
    ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
    if (!qrr || ldns_pkt_qr(q)) {
        ldns_pkt_free(q);
        return;
    }
    char *qname = ldns_rdf2str(ldns_rr_owner(qrr));
    char *qtype = ldns_rr_type2str(ldns_rr_get_type(qrr));
    ldns_pkt *r = ldns_pkt_new();
    ldns_pkt_set_id(r, ldns_pkt_id(q));
    ldns_pkt_set_qr(r, true);
    ldns_pkt_set_aa(r, true);
    ldns_pkt_set_rd(r, ldns_pkt_rd(q));
    ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, ldns_rr_clone(qrr));
    if (qname && qtype && answer(r, qname, qtype)) {
        uint8_t *wire = NULL;
        size_t wsize = 0;
        if (ldns_pkt2wire(&wire, r, &wsize) == LDNS_STATUS_OK)
            sendto(fd, wire, wsize, 0, (struct sockaddr *)&ss, sl);
        free(wire);
    }
    free(qname);
    free(qtype);
    ldns_pkt_free(r);
    ldns_pkt_free(q);
}

int main(int argc, char **argv)
{
    int opt, port = 0;
    const char *addr = "127.0.0.1";
    while ((opt = getopt(argc, argv, "a:p:")) != -1) {
        if (opt == 'a')
            addr = optarg;
        else if (opt == 'p')
            port = atoi(optarg);
        else
            return 2;
    }
    struct net_addr a;
    if (port <= 0 || port > 65535 || net_addr_parse(addr, &a) < 0) {
        fprintf(stderr, "usage: health_dns [-a ADDR] -p PORT\n");
        return 2;
    }
    struct sockaddr_storage ss;
    socklen_t sl = net_addr_to_sockaddr(&a, (uint16_t)port, &ss);
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0) {
        fprintf(stderr, "cannot bind %s:%d: %s\n", addr, port, strerror(errno));
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;         /* no SA_RESTART: recvfrom returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    printf("ready\n");
    fflush(stdout);
    while (!stop)
        serve_one(fd);
    close(fd);
    return 0;
}
