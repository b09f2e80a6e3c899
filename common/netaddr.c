#include "common/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int net_addr_parse(const char *s, struct net_addr *out)
{
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, s, out->bytes) == 1) {
        out->family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, s, out->bytes) == 1) {
        out->family = 6;
        return 0;
    }
    return -1;
}

unsigned net_addr_maxlen(const struct net_addr *a) { return a->family == 4 ? 32 : 128; }

void net_addr_mask(struct net_addr *a, unsigned len)
{
    unsigned nbytes = a->family == 4 ? 4 : 16;
    for (unsigned i = 0; i < nbytes; i++) {
        unsigned bit = i * 8;
        if (bit >= len)
            a->bytes[i] = 0;
        else if (len - bit < 8)
            a->bytes[i] &= (uint8_t)(0xff << (8 - (len - bit)));
    }
}

int net_prefix_parse(const char *s, bool lenient, struct net_prefix *out)
{
    char buf[64];
    size_t n = strlen(s);
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, s, n + 1);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    if (net_addr_parse(buf, &out->addr) < 0)
        return -1;
    unsigned max = net_addr_maxlen(&out->addr);
    unsigned len = max;
    if (slash) {
        char *end;
        const char *p = slash + 1;
        if (*p < '0' || *p > '9')
            return -1;
        unsigned long v = strtoul(p, &end, 10);
        if (*end || v > max)
            return -1;
        len = (unsigned)v;
    }
    struct net_addr masked = out->addr;
    net_addr_mask(&masked, len);
    if (!lenient && memcmp(masked.bytes, out->addr.bytes, 16) != 0)
        return -1;
    out->addr = masked;
    out->len = (uint8_t)len;
    return 0;
}

bool net_prefix_contains(const struct net_prefix *p, const struct net_addr *a)
{
    if (p->addr.family != a->family)
        return false;
    struct net_addr m = *a;
    net_addr_mask(&m, p->len);
    return memcmp(m.bytes, p->addr.bytes, a->family == 4 ? 4 : 16) == 0;
}

int net_addr_format(const struct net_addr *a, char *buf, unsigned size)
{
    if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->bytes, buf, size))
        return -1;
    return 0;
}

int net_prefix_format(const struct net_prefix *p, char *buf, unsigned size)
{
    char tmp[INET6_ADDRSTRLEN];
    if (net_addr_format(&p->addr, tmp, sizeof tmp) < 0)
        return -1;
    int n = snprintf(buf, size, "%s/%u", tmp, p->len);
    return n < 0 || (unsigned)n >= size ? -1 : 0;
}

void net_addr_from_sockaddr(const struct sockaddr *sa, struct net_addr *out, uint16_t *port)
{
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        out->family = 4;
        memcpy(out->bytes, &s4->sin_addr, 4);
        if (port) *port = ntohs(s4->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        /* v4-mapped peers (dual-stack sockets) are reported as IPv4 */
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            out->family = 4;
            memcpy(out->bytes, s6->sin6_addr.s6_addr + 12, 4);
        } else {
            out->family = 6;
            memcpy(out->bytes, &s6->sin6_addr, 16);
        }
        if (port) *port = ntohs(s6->sin6_port);
    }
}

socklen_t net_addr_to_sockaddr(const struct net_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (a->family == 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        memcpy(&s4->sin_addr, a->bytes, 4);
        return sizeof *s4;
    }
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    memcpy(&s6->sin6_addr, a->bytes, 16);
    return sizeof *s6;
}

int net_hostport_parse(const char *s, uint16_t default_port, struct net_addr *addr, uint16_t *port)
{
    char host[64];
    const char *portstr = NULL;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || (size_t)(close - s - 1) >= sizeof host)
            return -1;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        if (close[1] == ':')
            portstr = close + 2;
        else if (close[1])
            return -1;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon && strchr(s, ':') == colon) { /* exactly one colon: IPv4:port */
            if ((size_t)(colon - s) >= sizeof host)
                return -1;
            memcpy(host, s, (size_t)(colon - s));
            host[colon - s] = '\0';
            portstr = colon + 1;
        } else {
            if (strlen(s) >= sizeof host)
                return -1;
            strcpy(host, s);
        }
    }
    if (net_addr_parse(host, addr) < 0)
        return -1;
    *port = default_port;
    if (portstr) {
        char *end;
        if (*portstr < '0' || *portstr > '9')
            return -1;
        unsigned long v = strtoul(portstr, &end, 10);
        if (*end || v == 0 || v > 65535)
            return -1;
        *port = (uint16_t)v;
    }
    return 0;
}
