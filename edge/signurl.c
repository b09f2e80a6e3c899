/* edge/signurl.c: signed URL verification (see signurl.h). */
#include "edge/signurl.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SIG_HEX 64   /* SHA-256 in hex */

static int mac_hex(const char *secret, size_t slen, const char *path, size_t plen, int64_t expires,
                   char hex[SIG_HEX + 1])
{
    char msg[8192 + 32];
    if (plen > 8192) return -1;
    int n = snprintf(msg, sizeof msg, "%.*s:%lld", (int)plen, path, (long long)expires);
    unsigned char md[32]; unsigned int mdlen = 0;
    if (!HMAC(EVP_sha256(), secret, (int)slen, (const unsigned char *)msg, (size_t)n, md, &mdlen) ||
        mdlen != 32) return -1;
    static const char x[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) { hex[2 * i] = x[md[i] >> 4]; hex[2 * i + 1] = x[md[i] & 15]; }
    hex[SIG_HEX] = 0;
    return 0;
}

/* Finds query parameter `name`; returns value pointer/len or NULL. */
static const char *qparam(const char *q, size_t qlen, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    const char *p = q, *end = q + qlen;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if ((size_t)(e - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
            *vlen = (size_t)(e - p - (ptrdiff_t)nl - 1);
            return p + nl + 1;
        }
        p = e + 1;
    }
    return NULL;
}

enum sign_result signurl_check(const char *secret, size_t slen, const char *path, size_t plen,
                               const char *query, size_t qlen, time_t now)
{
    size_t el = 0, sl = 0;
    const char *e = query ? qparam(query, qlen, "expires", &el) : NULL;
    const char *s = query ? qparam(query, qlen, "sig", &sl) : NULL;
    if (!e || !s) return SIGN_MISSING;
    if (el == 0 || el > 12 || sl != SIG_HEX) return SIGN_MALFORMED;
    int64_t exp = 0;
    for (size_t i = 0; i < el; i++) {
        if (e[i] < '0' || e[i] > '9') return SIGN_MALFORMED;
        exp = exp * 10 + (e[i] - '0');
    }
    char want[SIG_HEX + 1];
    if (mac_hex(secret, slen, path, plen, exp, want) != 0) return SIGN_MALFORMED;
    char got[SIG_HEX];
    for (size_t i = 0; i < SIG_HEX; i++) got[i] = (s[i] >= 'A' && s[i] <= 'F') ? (char)(s[i] + 32) : s[i];
    if (CRYPTO_memcmp(got, want, SIG_HEX) != 0) return SIGN_BAD;
    if (exp < (int64_t)now) return SIGN_EXPIRED;
    return SIGN_OK;
}

size_t signurl_make(const char *secret, size_t slen, const char *path, size_t plen, int64_t expires,
                    char *out, size_t outsz)
{
    char hex[SIG_HEX + 1];
    if (mac_hex(secret, slen, path, plen, expires, hex) != 0) return 0;
    int n = snprintf(out, outsz, "expires=%lld&sig=%s", (long long)expires, hex);
    return n > 0 && (size_t)n < outsz ? (size_t)n : 0;
}

const char *signurl_result_str(enum sign_result r)
{
    static const char *const s[] = { "ok", "missing", "malformed", "expired", "bad signature" };
    return (unsigned)r < 5 ? s[r] : "?";
}
