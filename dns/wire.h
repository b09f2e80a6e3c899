/* dns/wire.h: DNS message constants and the query parser.
 *
 * Owns decoding of an incoming query into struct dns_query: header,
 * question (name lower-cased for lookups, raw bytes kept for the case-
 * preserving echo), and the EDNS0 OPT record with the Client Subnet option.
 * The parser never allocates and bounds every loop by the packet length.
 * RFCs: 1035 (format), 6891 (EDNS0), 7871 (ECS). */
#ifndef STEER_DNS_WIRE_H
#define STEER_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/netaddr.h"

#define DNS_HDR_LEN       12
#define DNS_MAX_NAME      255   /* RFC 1035 2.3.4, wire form incl. root label */
#define DNS_MAX_LABEL     63
#define DNS_MAX_LABELS    128   /* 255 bytes hold at most 127 labels + root */
#define DNS_MIN_UDP       512   /* RFC 1035 limit without EDNS; RFC 6891 6.2.5 floor */

enum dns_type {
    DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_SOA = 6, DNS_T_PTR = 12,
    DNS_T_HINFO = 13, DNS_T_MX = 15, DNS_T_TXT = 16, DNS_T_AAAA = 28, DNS_T_SRV = 33,
    DNS_T_OPT = 41, DNS_T_DS = 43, DNS_T_RRSIG = 46, DNS_T_TKEY = 249, DNS_T_TSIG = 250,
    DNS_T_IXFR = 251, DNS_T_AXFR = 252, DNS_T_MAILB = 253, DNS_T_MAILA = 254,
    DNS_T_ANY = 255, DNS_T_CAA = 257,
};

enum dns_rcode {
    DNS_R_NOERROR = 0, DNS_R_FORMERR = 1, DNS_R_SERVFAIL = 2, DNS_R_NXDOMAIN = 3,
    DNS_R_NOTIMP = 4, DNS_R_REFUSED = 5, DNS_R_BADVERS = 16,
};

#define DNS_CLASS_IN   1
#define DNS_OPT_ECS    8    /* RFC 7871 option code */

/* Header flag bits in the second 16-bit word. */
#define DNS_F_QR  0x8000
#define DNS_F_AA  0x0400
#define DNS_F_TC  0x0200
#define DNS_F_RD  0x0100
#define DNS_F_RA  0x0080
#define DNS_F_AD  0x0020
#define DNS_F_CD  0x0010
#define DNS_EDNS_DO 0x8000  /* in the OPT TTL's low 16 bits */

enum dns_parse_result {
    DNS_PARSE_OK = 0,
    DNS_PARSE_DROP,      /* not answerable: too short for a header, or QR=1 */
    DNS_PARSE_FORMERR,   /* malformed: answer FORMERR */
    DNS_PARSE_NOTIMP,    /* opcode other than QUERY */
    DNS_PARSE_BADVERS,   /* EDNS version > 0 */
};

struct dns_query {
    uint16_t id;
    uint16_t flags;              /* header flags as received */
    uint8_t opcode;
    bool question_ok;            /* qname/qtype/qclass decoded */
    uint8_t qname[DNS_MAX_NAME]; /* lower-cased wire format */
    uint8_t qname_len;
    uint8_t nlabels;             /* labels excluding the root */
    uint8_t label_off[DNS_MAX_LABELS]; /* offset of each label in qname */
    uint16_t qtype;
    uint16_t qclass;
    const uint8_t *question;     /* raw question section in the packet */
    uint16_t question_len;

    bool edns;                   /* an OPT record was present and valid */
    uint8_t edns_version;
    bool edns_do;
    uint16_t udp_size;           /* client's advertised payload size (>= 512) */

    bool ecs;                    /* a valid ECS option was present */
    uint16_t ecs_family;         /* 1 = IPv4, 2 = IPv6 (RFC 7871 / IANA) */
    uint8_t ecs_source;          /* SOURCE PREFIX-LENGTH */
    uint8_t ecs_scope;           /* SCOPE PREFIX-LENGTH as received */
    struct net_addr ecs_addr;    /* address, bits beyond source are zero */
};

/* Parses `pkt`. On FORMERR/NOTIMP/BADVERS the fields decoded so far (id,
 * flags, and possibly the question and EDNS) are valid for building the
 * error answer. Never reads outside pkt[0..len). */
enum dns_parse_result dns_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q);

/* Reads a possibly compressed name at *pos into lower-cased wire format
 * `out` (>= DNS_MAX_NAME bytes); advances *pos past it. Bounded: at most
 * DNS_MAX_NAME output bytes and a pointer-hop limit, so loops terminate.
 * Returns the name length or -1. `allow_ptr` false rejects compression. */
int dns_read_name(const uint8_t *pkt, size_t len, size_t *pos, bool allow_ptr, uint8_t *out);

/* Length of an uncompressed wire name (incl. root), or -1 if malformed. */
int dns_name_len(const uint8_t *name, size_t max);
/* Lower-cases an uncompressed wire name in place. */
void dns_name_lower(uint8_t *name);
/* Number of labels (excluding root) of an uncompressed wire name. */
unsigned dns_name_labels(const uint8_t *name);
/* True if `name` equals or is below `zone` (both lower-case wire). */
bool dns_name_is_sub(const uint8_t *name, size_t name_len, const uint8_t *zone, size_t zone_len);
/* Presentation form ("www.example.") of a wire name; returns 0 or -1. */
int dns_name_to_str(const uint8_t *name, char *buf, size_t size);
/* Parses a presentation name into lower-case wire format; returns length or -1. */
int dns_name_from_str(const char *s, uint8_t *out);

/* Big-endian loads and stores: one unaligned access and a byte swap each
 * (the byte-by-byte forms cost 4-8 instructions on the answer path). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define DNS_BE16(v) (v)
#define DNS_BE32(v) (v)
#else
#define DNS_BE16(v) __builtin_bswap16(v)
#define DNS_BE32(v) __builtin_bswap32(v)
#endif
static inline uint16_t dns_get16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return DNS_BE16(v);
}
static inline uint32_t dns_get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return DNS_BE32(v);
}
static inline void dns_put16(uint8_t *p, uint16_t v)
{
    v = DNS_BE16(v);
    memcpy(p, &v, sizeof v);
}
static inline void dns_put32(uint8_t *p, uint32_t v)
{
    v = DNS_BE32(v);
    memcpy(p, &v, sizeof v);
}

#endif
