/* dns_probe: runs a DNS scenario file against a server and checks every
 * response with ldns, an independent parser. Prints TAP lines.
 *
 *   dns_probe [-s ADDR] [-p PORT] FILE
 *
 * Scenario format (one directive per line, '#' comments):
 *   query NAME TYPE [opts]   sends a query; opts: tcp, rd, noedns, do,
 *                            bufsize=N, ecs=PREFIX (e.g. 192.0.2.0/24),
 *                            class=N, opcode=N, id=N, src=ADDR (bind source),
 *                            raw=HEX (send these bytes instead; NAME/TYPE ignored)
 *   expect KEY=VALUE ...     checks on the last response:
 *       rcode=NOERROR|NXDOMAIN|REFUSED|FORMERR|NOTIMP|SERVFAIL|BADVERS
 *       aa= tc= rd= ra= qr= (0/1)  an= ns= ar= (header counts)
 *       ecs=N (scope) | ecs=none   edns=0|1   size<=N   qd=N
 *   expect answer|authority|additional "RR TEXT"   an RR (ldns text form,
 *                            whitespace-normalised, case-insensitive) is there
 *   expect answer-type|authority-type|additional-type TYPE [N]
 *   expect question "NAME"   question name echoed byte-for-byte (case)
 *   expect noreply           no response arrives (e.g. a response packet sent)
 *   expect parse-ok          the response parses with ldns (always checked)
 * Arguments may be quoted with "..." or '...'.
 * Each query line with its expects is one test. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/netaddr.h"
#include "dns/wire.h"

#define TIMEOUT_MS 2000

static const char *g_server = "127.0.0.1";
static int g_port = 53;
static int g_failed, g_count;

struct probe {
    char desc[512];
    int line;
    bool failed;
    char why[4096];
    uint8_t resp[65536];
    ssize_t rlen;           /* -1: no reply */
    ldns_pkt *pkt;
    uint16_t sent_id;
};

static void fail(struct probe *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct probe *p, const char *fmt, ...)
{
    size_t o = strlen(p->why);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->why + o, sizeof p->why - o, fmt, ap);
    va_end(ap);
    o = strlen(p->why);
    if (o + 1 < sizeof p->why) {
        p->why[o] = '\n';
        p->why[o + 1] = '\0';
    }
    p->failed = true;
}

static void finish_probe(struct probe *p)
{
    if (!p->desc[0])
        return;
    g_count++;
    if (p->failed) {
        g_failed++;
        printf("not ok - line %d: %s\n", p->line, p->desc);
        for (char *l = strtok(p->why, "\n"); l; l = strtok(NULL, "\n"))
            printf("#   %s\n", l);
        if (p->pkt) {
            char *s = ldns_pkt2str(p->pkt);
            for (char *l = strtok(s, "\n"); l; l = strtok(NULL, "\n"))
                printf("#   | %s\n", l);
            free(s);
        }
    } else {
        printf("ok - line %d: %s\n", p->line, p->desc);
    }
    if (p->pkt)
        ldns_pkt_free(p->pkt);
    p->pkt = NULL;
    p->desc[0] = '\0';
    p->why[0] = '\0';
    p->failed = false;
}

static int hexval(int c) { return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10; }

/* Builds a query message by hand so malformed variants are possible. */
static size_t build_query(uint8_t *b, const char *name, uint16_t type, uint16_t cls, bool rd, int opcode,
                          uint16_t id, bool edns, bool dobit, uint16_t bufsize, const char *ecs)
{
    dns_put16(b, id);
    dns_put16(b + 2, (uint16_t)((opcode & 0xf) << 11 | (rd ? DNS_F_RD : 0)));
    dns_put16(b + 4, 1);
    dns_put16(b + 6, 0);
    dns_put16(b + 8, 0);
    dns_put16(b + 10, edns ? 1 : 0);
    size_t o = 12;
    /* name with case preserved */
    const char *s = name;
    if (!strcmp(s, ".")) {
        b[o++] = 0;
    } else {
        while (*s) {
            const char *dot = strchr(s, '.');
            size_t l = dot ? (size_t)(dot - s) : strlen(s);
            b[o++] = (uint8_t)l;
            memcpy(b + o, s, l);
            o += l;
            s += l + (dot ? 1 : 0);
        }
        b[o++] = 0;
    }
    dns_put16(b + o, type);
    dns_put16(b + o + 2, cls);
    o += 4;
    if (edns) {
        b[o] = 0;
        dns_put16(b + o + 1, DNS_T_OPT);
        dns_put16(b + o + 3, bufsize);
        dns_put32(b + o + 5, dobit ? DNS_EDNS_DO : 0);
        size_t rdl = 0;
        if (ecs) {
            struct net_prefix pf;
            if (net_prefix_parse(ecs, true, &pf) == 0) {
                size_t alen = (pf.len + 7u) / 8u;
                uint8_t *e = b + o + 11;
                dns_put16(e, DNS_OPT_ECS);
                dns_put16(e + 2, (uint16_t)(4 + alen));
                dns_put16(e + 4, pf.addr.family == 4 ? 1 : 2);
                e[6] = pf.len;
                e[7] = 0;
                memcpy(e + 8, pf.addr.bytes, alen);
                rdl = 8 + alen;
            }
        }
        dns_put16(b + o + 9, (uint16_t)rdl);
        o += 11 + rdl;
    }
    return o;
}

static ssize_t exchange(const uint8_t *q, size_t qlen, bool tcp, const char *src, uint8_t *resp, size_t cap)
{
    struct net_addr a;
    struct sockaddr_storage ss;
    if (net_addr_parse(g_server, &a) < 0)
        return -2;
    socklen_t sl = net_addr_to_sockaddr(&a, (uint16_t)g_port, &ss);
    int fd = socket(ss.ss_family, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    if (fd < 0)
        return -2;
    if (src) {
        struct net_addr sa;
        struct sockaddr_storage sss;
        if (net_addr_parse(src, &sa) == 0) {
            socklen_t ssl = net_addr_to_sockaddr(&sa, 0, &sss);
            if (bind(fd, (struct sockaddr *)&sss, ssl) < 0) {
                close(fd);
                return -2;
            }
        }
    }
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
        close(fd);
        return -2;
    }
    ssize_t n = -1;
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    if (!tcp) {
        if (send(fd, q, qlen, 0) < 0) {
            close(fd);
            return -2;
        }
        if (poll(&pfd, 1, TIMEOUT_MS) == 1)
            n = recv(fd, resp, cap, 0);
    } else {
        uint8_t framed[65537];
        dns_put16(framed, (uint16_t)qlen);
        memcpy(framed + 2, q, qlen);
        if (send(fd, framed, qlen + 2, MSG_NOSIGNAL) < 0) {
            close(fd);
            return -2;
        }
        size_t got = 0, want = 2;
        uint8_t hdr[2];
        while (got < want) {
            if (poll(&pfd, 1, TIMEOUT_MS) != 1)
                break;
            ssize_t r = want == 2 ? recv(fd, hdr + got, 2 - got, 0) : recv(fd, resp + got, want - got, 0);
            if (r <= 0)
                break;
            got += (size_t)r;
            if (want == 2 && got == 2) {
                want = dns_get16(hdr);
                got = 0;
                if (want == 0 || want > cap)
                    break;
            }
        }
        n = (want != 2 && got == want) ? (ssize_t)want : -1;
    }
    close(fd);
    return n;
}

static const char *opt_val(char **toks, int n, const char *key)
{
    size_t kl = strlen(key);
    for (int i = 0; i < n; i++)
        if (!strncmp(toks[i], key, kl) && toks[i][kl] == '=')
            return toks[i] + kl + 1;
    return NULL;
}

static bool has_opt(char **toks, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(toks[i], key))
            return true;
    return false;
}

/* Splits a line into tokens; "quoted strings" stay whole. */
static int tokenize(char *line, char **toks, int max)
{
    int n = 0;
    char *p = line;
    while (*p && n < max) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            break;
        if (*p == '"' || *p == '\'') {
            char quote = *p;
            toks[n++] = ++p;
            while (*p && *p != quote)
                p++;
        } else {
            toks[n++] = p;
            while (*p && !isspace((unsigned char)*p))
                p++;
        }
        if (*p)
            *p++ = '\0';
    }
    return n;
}

static void do_query(struct probe *p, char **t, int n)
{
    uint8_t q[65536];
    size_t qlen;
    const char *raw = opt_val(t, n, "raw");
    p->sent_id = (uint16_t)(opt_val(t, n, "id") ? atoi(opt_val(t, n, "id")) : (rand() & 0xffff));
    if (raw) {
        qlen = 0;
        for (const char *h = raw; h[0] && h[1] && qlen < sizeof q; h += 2)
            q[qlen++] = (uint8_t)(hexval(h[0]) << 4 | hexval(h[1]));
        p->sent_id = qlen >= 2 ? dns_get16(q) : 0;
    } else {
        if (n < 3) {
            fail(p, "query needs NAME and TYPE");
            return;
        }
        ldns_rr_type type = ldns_get_rr_type_by_name(t[2]);
        if (!type && strncasecmp(t[2], "TYPE", 4) == 0)
            type = (ldns_rr_type)atoi(t[2] + 4);
        const char *cls = opt_val(t, n, "class");
        const char *op = opt_val(t, n, "opcode");
        const char *bs = opt_val(t, n, "bufsize");
        qlen = build_query(q, t[1], (uint16_t)type, cls ? (uint16_t)atoi(cls) : 1, has_opt(t, n, "rd"),
                           op ? atoi(op) : 0, p->sent_id, !has_opt(t, n, "noedns"), has_opt(t, n, "do"),
                           bs ? (uint16_t)atoi(bs) : 1232, opt_val(t, n, "ecs"));
    }
    p->rlen = exchange(q, qlen, has_opt(t, n, "tcp"), opt_val(t, n, "src"), p->resp, sizeof p->resp);
    if (p->rlen == -2) {
        fail(p, "cannot send to %s port %d: %s", g_server, g_port, strerror(errno));
        return;
    }
    if (p->rlen >= 0) {
        ldns_status st = ldns_wire2pkt(&p->pkt, p->resp, (size_t)p->rlen);
        if (st != LDNS_STATUS_OK) {
            fail(p, "ldns cannot parse the response: %s", ldns_get_errorstr_by_id(st));
            p->pkt = NULL;
        } else if (ldns_pkt_id(p->pkt) != p->sent_id) {
            fail(p, "response id %u != query id %u", ldns_pkt_id(p->pkt), p->sent_id);
        }
    }
}

static void normalize(const char *in, char *out, size_t size)
{
    size_t o = 0;
    bool sp = false;
    for (; *in && o + 1 < size; in++) {
        if (isspace((unsigned char)*in)) {
            sp = o > 0;
            continue;
        }
        if (sp && o + 1 < size)
            out[o++] = ' ';
        sp = false;
        out[o++] = (char)tolower((unsigned char)*in);
    }
    while (o && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
}

static ldns_rr_list *section(ldns_pkt *pkt, const char *name)
{
    if (!strncmp(name, "answer", 6)) return ldns_pkt_answer(pkt);
    if (!strncmp(name, "authority", 9)) return ldns_pkt_authority(pkt);
    return ldns_pkt_additional(pkt);
}

static void check_rr(struct probe *p, const char *sec, const char *want)
{
    char w[2048], g[2048];
    normalize(want, w, sizeof w);
    ldns_rr_list *l = section(p->pkt, sec);
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
        char *s = ldns_rr2str(ldns_rr_list_rr(l, i));
        normalize(s, g, sizeof g);
        free(s);
        if (!strcmp(g, w))
            return;
    }
    fail(p, "%s section lacks \"%s\"", sec, w);
}

static void check_type(struct probe *p, const char *sec, const char *type, const char *count)
{
    ldns_rr_type t = ldns_get_rr_type_by_name(type);
    ldns_rr_list *l = section(p->pkt, sec);
    size_t c = 0;
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
        c += ldns_rr_get_type(ldns_rr_list_rr(l, i)) == t;
    if (count ? c != (size_t)atoi(count) : c == 0)
        fail(p, "%s section has %zu %s records, want %s", sec, c, type, count ? count : ">0");
}

static int rcode_of(const char *s)
{
    static const char *names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };
    for (int i = 0; i < 6; i++)
        if (!strcasecmp(s, names[i]))
            return i;
    if (!strcasecmp(s, "BADVERS"))
        return 16;
    return -1;
}

/* ECS scope in the response OPT, -1 when absent. */
static int response_ecs_scope(const uint8_t *r, size_t len)
{
    size_t pos = 12;
    unsigned counts[4] = { dns_get16(r + 4), dns_get16(r + 6), dns_get16(r + 8), dns_get16(r + 10) };
    uint8_t nm[DNS_MAX_NAME];
    for (unsigned i = 0; i < counts[0]; i++) {
        if (dns_read_name(r, len, &pos, true, nm) < 0) return -1;
        pos += 4;
    }
    for (unsigned s = 1; s < 4; s++)
        for (unsigned i = 0; i < counts[s]; i++) {
            if (dns_read_name(r, len, &pos, true, nm) < 0 || pos + 10 > len) return -1;
            uint16_t type = dns_get16(r + pos), rdlen = dns_get16(r + pos + 8);
            if (type == DNS_T_OPT) {
                const uint8_t *o = r + pos + 10;
                for (size_t k = 0; k + 4 <= rdlen;) {
                    uint16_t code = dns_get16(o + k), ol = dns_get16(o + k + 2);
                    if (code == DNS_OPT_ECS && ol >= 4)
                        return o[k + 7];
                    k += 4u + ol;
                }
            }
            pos += 10u + rdlen;
        }
    return -1;
}

static void do_expect(struct probe *p, char **t, int n)
{
    if (n >= 2 && !strcmp(t[1], "noreply")) {
        if (p->rlen >= 0)
            fail(p, "expected no reply, got %zd bytes", p->rlen);
        return;
    }
    if (p->rlen < 0) {
        fail(p, "no reply within %d ms", TIMEOUT_MS);
        return;
    }
    if (!p->pkt)
        return;
    const char *k = t[1];
    if (n >= 3 && (!strcmp(k, "answer") || !strcmp(k, "authority") || !strcmp(k, "additional"))) {
        check_rr(p, k, t[2]);
        return;
    }
    if (n >= 3 && strstr(k, "-type")) {
        check_type(p, k, t[2], n >= 4 ? t[3] : NULL);
        return;
    }
    if (n >= 3 && !strcmp(k, "question")) {
        char got[1024];
        size_t pos = 12, o = 0;
        while (pos < (size_t)p->rlen && p->resp[pos] && o + 70 < sizeof got) {
            memcpy(got + o, p->resp + pos + 1, p->resp[pos]);
            o += p->resp[pos];
            got[o++] = '.';
            pos += 1u + p->resp[pos];
        }
        got[o] = '\0';
        if (strcmp(got, t[2]))
            fail(p, "question echoed as '%s', want '%s'", got, t[2]);
        return;
    }
    for (int i = 1; i < n; i++) {
        char key[64];
        const char *eq = strchr(t[i], '=');
        if (!eq) {
            if (strcmp(t[i], "parse-ok"))
                fail(p, "bad expectation '%s'", t[i]);
            continue;
        }
        snprintf(key, sizeof key, "%.*s", (int)(eq - t[i]), t[i]);
        const char *v = eq + 1;
        long want = strtol(v, NULL, 10);
        uint16_t fl = dns_get16(p->resp + 2);
        if (!strcmp(key, "rcode")) {
            int rc = (fl & 0xf) | (ldns_pkt_edns_extended_rcode(p->pkt) << 4);
            if (rc != rcode_of(v))
                fail(p, "rcode %d, want %s", rc, v);
        } else if (!strcmp(key, "aa") || !strcmp(key, "tc") || !strcmp(key, "rd") || !strcmp(key, "ra") ||
                   !strcmp(key, "qr") || !strcmp(key, "cd")) {
            uint16_t bit = !strcmp(key, "aa") ? DNS_F_AA : !strcmp(key, "tc") ? DNS_F_TC : !strcmp(key, "rd") ? DNS_F_RD
                         : !strcmp(key, "ra") ? DNS_F_RA : !strcmp(key, "qr") ? DNS_F_QR : DNS_F_CD;
            if (((fl & bit) != 0) != (want != 0))
                fail(p, "flag %s is %d, want %ld", key, (fl & bit) != 0, want);
        } else if (!strcmp(key, "qd") || !strcmp(key, "an") || !strcmp(key, "ns") || !strcmp(key, "ar")) {
            int off = !strcmp(key, "qd") ? 4 : !strcmp(key, "an") ? 6 : !strcmp(key, "ns") ? 8 : 10;
            if (dns_get16(p->resp + off) != want)
                fail(p, "%s count %u, want %ld", key, dns_get16(p->resp + off), want);
        } else if (!strcmp(key, "ecs")) {
            int sc = response_ecs_scope(p->resp, (size_t)p->rlen);
            if (!strcmp(v, "none") ? sc != -1 : sc != want)
                fail(p, "ECS scope %d, want %s", sc, v);
        } else if (!strcmp(key, "edns")) {
            if (ldns_pkt_edns(p->pkt) != (want != 0))
                fail(p, "EDNS present=%d, want %ld", ldns_pkt_edns(p->pkt), want);
        } else if (!strcmp(key, "edns-size")) {
            if (ldns_pkt_edns_udp_size(p->pkt) != want)
                fail(p, "EDNS size %u, want %ld", ldns_pkt_edns_udp_size(p->pkt), want);
        } else if (!strcmp(key, "do")) {
            if (ldns_pkt_edns_do(p->pkt) != (want != 0))
                fail(p, "DO=%d, want %ld", ldns_pkt_edns_do(p->pkt), want);
        } else if (!strcmp(key, "size<")) {
            if (p->rlen > want)
                fail(p, "size %zd > %ld", p->rlen, want);
        } else {
            fail(p, "unknown expectation key '%s'", key);
        }
    }
}

int main(int argc, char **argv)
{
    int o;
    while ((o = getopt(argc, argv, "s:p:")) != -1) {
        if (o == 's') g_server = optarg;
        else if (o == 'p') g_port = atoi(optarg);
        else return 2;
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: dns_probe [-s ADDR] [-p PORT] SCENARIO\n");
        return 2;
    }
    FILE *f = fopen(argv[optind], "r");
    if (!f) {
        perror(argv[optind]);
        return 2;
    }
    srand((unsigned)getpid());
    static struct probe p;
    char line[8192];
    int ln = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        char copy[8192];
        snprintf(copy, sizeof copy, "%s", line);
        copy[strcspn(copy, "\n")] = '\0';
        char *t[64];
        int n = tokenize(line, t, 64);
        if (!n)
            continue;
        if (!strcmp(t[0], "query")) {
            finish_probe(&p);
            snprintf(p.desc, sizeof p.desc, "%s", copy);
            p.line = ln;
            do_query(&p, t, n);
        } else if (!strcmp(t[0], "expect")) {
            if (!p.desc[0]) {
                fprintf(stderr, "%s:%d: expect before any query\n", argv[optind], ln);
                return 2;
            }
            if (n < 2)
                fail(&p, "line %d: empty expect", ln);
            else if (strcmp(t[1], "noreply") && p.rlen >= 0 && !p.pkt && p.failed)
                ;   /* parse failure already reported */
            else
                do_expect(&p, t, n);
        } else {
            fprintf(stderr, "%s:%d: unknown directive '%s'\n", argv[optind], ln, t[0]);
            return 2;
        }
    }
    finish_probe(&p);
    fclose(f);
    printf("# %d probes, %d failed\n", g_count, g_failed);
    return g_failed ? 1 : 0;
}
