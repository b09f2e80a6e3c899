/* common/netaddr.h: IP addresses and CIDR prefixes as plain values.
 * Owns parsing/formatting of addresses, prefixes and "host:port" listen
 * specs; no allocation. IPv4 is kept as family 4 with 4 bytes, never mapped. */
#ifndef STEER_NETADDR_H
#define STEER_NETADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct net_addr {
    uint8_t family;         /* 4 or 6 */
    uint8_t bytes[16];      /* network order; only 4 used for IPv4 */
};

struct net_prefix {
    struct net_addr addr;   /* host bits beyond len are zero */
    uint8_t len;            /* 0..32 or 0..128 */
};

/* "192.0.2.1", "2001:db8::1". Returns 0 or -1. */
int net_addr_parse(const char *s, struct net_addr *out);
/* "192.0.2.0/24", "2001:db8::/32"; a bare address is a host prefix.
 * Host bits set beyond the length are an error unless `lenient`. */
int net_prefix_parse(const char *s, bool lenient, struct net_prefix *out);
/* Zeroes every bit of addr beyond len. */
void net_addr_mask(struct net_addr *a, unsigned len);
bool net_prefix_contains(const struct net_prefix *p, const struct net_addr *a);
int net_addr_format(const struct net_addr *a, char *buf, unsigned size);
int net_prefix_format(const struct net_prefix *p, char *buf, unsigned size);
unsigned net_addr_maxlen(const struct net_addr *a);

/* Converts to/from sockaddr (port in host order). */
void net_addr_from_sockaddr(const struct sockaddr *sa, struct net_addr *out, uint16_t *port);
socklen_t net_addr_to_sockaddr(const struct net_addr *a, uint16_t port, struct sockaddr_storage *ss);

/* "127.0.0.1:5300", "[::1]:5300"; default_port used when no port given. */
int net_hostport_parse(const char *s, uint16_t default_port, struct net_addr *addr, uint16_t *port);

#endif
