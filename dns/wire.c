#include "dns/wire.h"

#include <stdio.h>
#include <string.h>

/* Compression pointers a single name may follow. A legal name has at most
 * 127 labels, so more hops than that can only be a loop. */
#define MAX_PTR_HOPS 127

int dns_read_name(const uint8_t *pkt, size_t len, size_t *pos, bool allow_ptr, uint8_t *out)
{
    size_t p = *pos, end_pos = 0, olen = 0;
    unsigned hops = 0;
    bool jumped = false;
    for (;;) {
        if (p >= len)
            return -1;
        uint8_t c = pkt[p];
        if ((c & 0xc0) == 0xc0) {
            if (!allow_ptr || p + 1 >= len || ++hops > MAX_PTR_HOPS)
                return -1;
            size_t target = (size_t)((c & 0x3f) << 8 | pkt[p + 1]);
            if (!jumped)
                end_pos = p + 2;
            jumped = true;
            /* only backward pointers: a forward one cannot point at a name
             * that was already written, and rejecting it bounds the walk */
            if (target >= p)
                return -1;
            p = target;
            continue;
        }
        if (c & 0xc0)           /* 0x40 / 0x80: obsolete extended label types */
            return -1;
        if (olen + 1 + c > DNS_MAX_NAME)
            return -1;
        if (p + 1 + c > len)
            return -1;
        out[olen++] = c;
        if (c == 0)
            break;
        for (unsigned i = 0; i < c; i++) {
            uint8_t ch = pkt[p + 1 + i];
            out[olen++] = (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch | 0x20) : ch;
        }
        p += 1 + c;
    }
    *pos = jumped ? end_pos : p + 1;
    return (int)olen;
}

int dns_name_len(const uint8_t *name, size_t max)
{
    size_t p = 0;
    while (p < max) {
        uint8_t c = name[p];
        if (c > DNS_MAX_LABEL)
            return -1;
        p += 1 + c;
        if (c == 0)
            return p <= DNS_MAX_NAME ? (int)p : -1;
    }
    return -1;
}

void dns_name_lower(uint8_t *name)
{
    for (size_t p = 0; name[p]; p += 1 + name[p])
        for (unsigned i = 1; i <= name[p]; i++)
            if (name[p + i] >= 'A' && name[p + i] <= 'Z')
                name[p + i] |= 0x20;
}

unsigned dns_name_labels(const uint8_t *name)
{
    unsigned n = 0;
    for (size_t p = 0; name[p]; p += 1 + name[p])
        n++;
    return n;
}

bool dns_name_is_sub(const uint8_t *name, size_t name_len, const uint8_t *zone, size_t zone_len)
{
    if (zone_len > name_len)
        return false;
    /* walk label boundaries of name until the remaining length matches */
    size_t p = 0;
    while (name_len - p > zone_len)
        p += 1 + name[p];
    return name_len - p == zone_len && memcmp(name + p, zone, zone_len) == 0;
}

int dns_name_to_str(const uint8_t *name, char *buf, size_t size)
{
    size_t o = 0;
    if (name[0] == 0) {
        if (size < 2)
            return -1;
        buf[0] = '.';
        buf[1] = '\0';
        return 0;
    }
    for (size_t p = 0; name[p]; p += 1 + name[p]) {
        for (unsigned i = 1; i <= name[p]; i++) {
            uint8_t c = name[p + i];
            if (c == '.' || c == '\\') {
                if (o + 2 >= size) return -1;
                buf[o++] = '\\';
                buf[o++] = (char)c;
            } else if (c <= 0x20 || c >= 0x7f) {
                if (o + 4 >= size) return -1;
                o += (size_t)snprintf(buf + o, size - o, "\\%03u", c);
            } else {
                if (o + 1 >= size) return -1;
                buf[o++] = (char)c;
            }
        }
        if (o + 1 >= size)
            return -1;
        buf[o++] = '.';
    }
    buf[o] = '\0';
    return 0;
}

int dns_name_from_str(const char *s, uint8_t *out)
{
    size_t o = 0, lab = 0;
    if (!strcmp(s, ".")) {
        out[0] = 0;
        return 1;
    }
    out[0] = 0;
    for (const char *c = s; *c; c++) {
        if (*c == '.') {
            if (out[lab] == 0)
                return -1;      /* empty label */
            lab = ++o;
            if (o >= DNS_MAX_NAME)
                return -1;
            out[lab] = 0;
            continue;
        }
        uint8_t ch = (uint8_t)*c;
        if (*c == '\\' && c[1]) {
            c++;
            if (c[0] >= '0' && c[0] <= '9' && c[1] >= '0' && c[1] <= '9' && c[2] >= '0' && c[2] <= '9') {
                unsigned v = (unsigned)(c[0] - '0') * 100 + (unsigned)(c[1] - '0') * 10 + (unsigned)(c[2] - '0');
                if (v > 255) return -1;
                ch = (uint8_t)v;
                c += 2;
            } else {
                ch = (uint8_t)*c;
            }
        }
        if (out[lab] == DNS_MAX_LABEL || o + 2 >= DNS_MAX_NAME)
            return -1;
        out[lab]++;
        out[++o] = (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch | 0x20) : ch;
    }
    if (out[lab] != 0) {    /* no trailing dot: terminate */
        lab = ++o;
        out[lab] = 0;
    }
    return (int)o + 1;
}

/* Lower-cases 8 bytes at once (SWAR): a byte gets 0x20 or'ed in iff it is
 * 'A'..'Z'. Bytes >= 0x80 are excluded by the ASCII mask, and label length
 * bytes (<= 63) are never in 'A'..'Z', so a whole wire name can go through. */
static inline uint64_t lower8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t low7 = x & ~high;
    uint64_t ge_a = low7 + (0x80 - 'A') * ones;     /* high bit: low7 >= 'A' */
    uint64_t gt_z = low7 + (0x7f - 'Z') * ones;     /* high bit: low7 > 'Z' */
    uint64_t upper = (ge_a ^ gt_z) & ~x & high;     /* 'A' <= low7 <= 'Z', ASCII */
    return x | upper >> 2;                          /* 0x80 >> 2 == 0x20 */
}

/* Copies n bytes lower-cased. n >= 8 runs in 8-byte steps, the last one
 * overlapping the previous (lower-casing is idempotent). */
static void copy_lower(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (n < 8) {
        for (size_t i = 0; i < n; i++) {
            uint8_t ch = src[i];
            dst[i] = (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch | 0x20) : ch;
        }
        return;
    }
    uint64_t w;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        memcpy(&w, src + i, 8);
        w = lower8(w);
        memcpy(dst + i, &w, 8);
    }
    memcpy(&w, src + n - 8, 8);
    w = lower8(w);
    memcpy(dst + n - 8, &w, 8);
}

/* The question name: never compressed (it is the first name of the
 * message), so it is contiguous in the packet. One pass over the length
 * bytes validates it and records the label offsets, then the whole name is
 * copied lower-cased in 8-byte steps. Same results as dns_read_name with
 * allow_ptr false. Returns the name length or -1; advances *pos. */
static int read_qname(const uint8_t *pkt, size_t len, size_t *pos, struct dns_query *q)
{
    size_t start = *pos, p = start;
    unsigned n = 0;
    for (;;) {
        if (p >= len)
            return -1;
        uint8_t c = pkt[p];
        if (c & 0xc0)           /* pointer, or obsolete extended label type */
            return -1;
        if (p - start + 1 + c > DNS_MAX_NAME || p + 1 + c > len)
            return -1;
        if (c == 0)
            break;
        q->label_off[n++] = (uint8_t)(p - start);   /* < 255: at most 127 labels */
        p += 1 + c;
    }
    size_t nlen = p + 1 - start;
    copy_lower(q->qname, pkt + start, nlen);
    q->nlabels = (uint8_t)n;
    *pos = p + 1;
    return (int)nlen;
}

/* Skips one resource record at *pos (name, fixed fields, rdata). */
static int skip_rr(const uint8_t *pkt, size_t len, size_t *pos)
{
    uint8_t scratch[DNS_MAX_NAME];
    if (dns_read_name(pkt, len, pos, true, scratch) < 0 || *pos + 10 > len)
        return -1;
    size_t rdlen = dns_get16(pkt + *pos + 8);
    if (*pos + 10 + rdlen > len)
        return -1;
    *pos += 10 + rdlen;
    return 0;
}

/* Validates and stores an ECS option (RFC 7871 6, 7.2.1). */
static enum dns_parse_result parse_ecs(const uint8_t *d, size_t len, struct dns_query *q)
{
    if (q->ecs)                 /* more than one ECS option */
        return DNS_PARSE_FORMERR;
    if (len < 4)
        return DNS_PARSE_FORMERR;
    uint16_t family = dns_get16(d);
    uint8_t source = d[2], scope = d[3];
    unsigned maxbits;
    if (family == 1)
        maxbits = 32;
    else if (family == 2)
        maxbits = 128;
    else
        return DNS_PARSE_FORMERR;
    if (source > maxbits)
        return DNS_PARSE_FORMERR;
    size_t need = (source + 7u) / 8u;
    if (len - 4 != need)        /* too many or too few ADDRESS octets */
        return DNS_PARSE_FORMERR;
    memset(&q->ecs_addr, 0, sizeof q->ecs_addr);
    q->ecs_addr.family = family == 1 ? 4 : 6;
    memcpy(q->ecs_addr.bytes, d + 4, need);
    if (need && (source % 8) && (d[4 + need - 1] & (0xffu >> (source % 8))))
        return DNS_PARSE_FORMERR;   /* bits set beyond SOURCE PREFIX-LENGTH */
    q->ecs = true;
    q->ecs_family = family;
    q->ecs_source = source;
    q->ecs_scope = scope;
    return DNS_PARSE_OK;
}

/* Parses the OPT RR whose fixed part starts at pkt[pos] (after the name). */
static enum dns_parse_result parse_opt(const uint8_t *pkt, size_t pos, struct dns_query *q)
{
    uint16_t payload = dns_get16(pkt + pos + 2);
    uint32_t ttl = dns_get32(pkt + pos + 4);
    uint16_t rdlen = dns_get16(pkt + pos + 8);
    const uint8_t *rd = pkt + pos + 10;
    q->edns = true;
    q->udp_size = payload < DNS_MIN_UDP ? DNS_MIN_UDP : payload;
    q->edns_version = (uint8_t)(ttl >> 16);
    q->edns_do = (ttl & DNS_EDNS_DO) != 0;
    if (q->edns_version > 0)
        return DNS_PARSE_BADVERS;
    size_t o = 0;
    while (o < rdlen) {
        if (rdlen - o < 4)
            return DNS_PARSE_FORMERR;
        uint16_t code = dns_get16(rd + o), olen = dns_get16(rd + o + 2);
        if (rdlen - o - 4 < olen)
            return DNS_PARSE_FORMERR;
        if (code == DNS_OPT_ECS) {
            enum dns_parse_result r = parse_ecs(rd + o + 4, olen, q);
            if (r != DNS_PARSE_OK)
                return r;
        }
        /* other options (cookies, padding, ...) are ignored: RFC 6891 6.1.2 */
        o += 4u + olen;
    }
    return DNS_PARSE_OK;
}

/* Walks the additional section looking for the OPT RR (RFC 6891 6.1.1). */
static enum dns_parse_result parse_additional(const uint8_t *pkt, size_t len, size_t pos, unsigned arcount,
                                              struct dns_query *q)
{
    bool seen_opt = false;
    for (unsigned i = 0; i < arcount; i++) {
        uint8_t name[DNS_MAX_NAME];
        if (pos < len && pkt[pos] == 0) {
            name[0] = 0;        /* the root, as every OPT's owner: no name walk */
            pos++;
        } else if (dns_read_name(pkt, len, &pos, true, name) < 0) {
            return DNS_PARSE_FORMERR;
        }
        if (pos + 10 > len)
            return DNS_PARSE_FORMERR;
        uint16_t type = dns_get16(pkt + pos);
        size_t rdlen = dns_get16(pkt + pos + 8);
        if (pos + 10 + rdlen > len)
            return DNS_PARSE_FORMERR;
        if (type == DNS_T_OPT) {
            /* a second OPT, or an OPT not owned by the root, is malformed */
            if (seen_opt || name[0] != 0)
                return DNS_PARSE_FORMERR;
            seen_opt = true;
            enum dns_parse_result r = parse_opt(pkt, pos, q);
            if (r != DNS_PARSE_OK)
                return r;
        }
        pos += 10 + rdlen;
    }
    return DNS_PARSE_OK;
}

enum dns_parse_result dns_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q)
{
    q->question_ok = false;
    q->edns = false;
    q->ecs = false;
    q->question = NULL;
    q->question_len = 0;
    if (len < DNS_HDR_LEN)
        return DNS_PARSE_DROP;
    q->id = dns_get16(pkt);
    q->flags = dns_get16(pkt + 2);
    if (q->flags & DNS_F_QR)
        return DNS_PARSE_DROP;      /* never answer a response */
    q->opcode = (uint8_t)((q->flags >> 11) & 0xf);
    unsigned qd = dns_get16(pkt + 4), an = dns_get16(pkt + 6), ns = dns_get16(pkt + 8),
             ar = dns_get16(pkt + 10);
    if (qd != 1)                    /* RFC 9619 */
        return q->opcode != 0 ? DNS_PARSE_NOTIMP : DNS_PARSE_FORMERR;
    size_t pos = DNS_HDR_LEN;
    /* the question is the first name: a pointer in it can only be bogus */
    int nlen = read_qname(pkt, len, &pos, q);
    if (nlen < 0 || pos + 4 > len)
        return q->opcode != 0 ? DNS_PARSE_NOTIMP : DNS_PARSE_FORMERR;
    q->qname_len = (uint8_t)nlen;
    q->qtype = dns_get16(pkt + pos);
    q->qclass = dns_get16(pkt + pos + 2);
    pos += 4;
    q->question = pkt + DNS_HDR_LEN;
    q->question_len = (uint16_t)(pos - DNS_HDR_LEN);
    q->question_ok = true;
    if (q->opcode != 0)
        return DNS_PARSE_NOTIMP;
    for (unsigned i = 0; i < an + ns; i++)
        if (skip_rr(pkt, len, &pos) < 0)
            return DNS_PARSE_FORMERR;
    /* bytes after the last record are ignored, as most servers do */
    return parse_additional(pkt, len, pos, ar, q);
}
