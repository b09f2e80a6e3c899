/* libFuzzer target for proxy_key_prefix (edge/proxy.h), the normalisation
 * of purge prefixes. On arbitrary bytes: no read or write out of bounds at
 * any output size, "does not fit" only when it does not, the length bound.
 * Then the property the purge relies on: for a request host H and path P,
 * the normalised prefix of "http://" H P[0..k) (any scheme case) is a prefix
 * of the cache key proxy_cache_key builds for H and P.
 * Input: byte 0 = k, byte 1 = flags, then H '/' P. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge/config.h"
#include "edge/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BUF 4200   /* > the largest input worth trying (keys are < 4096) */

static void raw(const char *in, size_t n)
{
    static char out[BUF + 2];
    if (n > BUF) return;
    size_t r = proxy_key_prefix(in, n, out, n + 2);
    if (n > 0 && r == 0) __builtin_trap();        /* n + 2 always fits */
    if (r > n + 1 || out[r] != 0) __builtin_trap();
    /* smaller buffers: a heap copy of exactly that size, so ASan sees any
     * write past it */
    for (size_t sz = 1; sz <= n + 1 && sz < 64; sz++) {
        char *b = malloc(sz);
        if (!b) return;
        size_t r2 = proxy_key_prefix(in, n, b, sz);
        if (r2 && (r2 != r || memcmp(b, out, r) != 0)) __builtin_trap();
        free(b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    raw((const char *)data + 2, size - 2);
    unsigned k = data[0], flags = data[1];
    const char *h = (const char *)data + 2;
    size_t rest = size - 2;
    const char *slash = memchr(h, '/', rest);
    if (!slash) return 0;
    size_t hl = (size_t)(slash - h), pl = rest - hl;   /* P starts with '/' */
    if (memchr(h, '?', hl) || pl > 1024 || hl > 1024) return 0;
    if (memchr(slash, '?', pl)) return 0;             /* a query is not part of P here */
    static struct edge_site site;
    site.qmode = EDGE_Q_NONE;
    char key[BUF], pfx[BUF], norm[BUF];
    size_t kl = proxy_cache_key(&site, flags & 1, h, hl, slash, pl, NULL, 0, key, sizeof key);
    if (!kl) return 0;
    size_t take = 1 + k % pl;                         /* at least the '/' */
    const char *scheme = (flags & 1) ? ((flags & 2) ? "HTTPS://" : "https://") : ((flags & 2) ? "Http://" : "http://");
    size_t sl = strlen(scheme);
    memcpy(pfx, scheme, sl);
    memcpy(pfx + sl, h, hl);
    memcpy(pfx + sl + hl, slash, take);
    size_t nl = proxy_key_prefix(pfx, sl + hl + take, norm, sizeof norm);
    if (!nl || nl > kl || memcmp(norm, key, nl) != 0) __builtin_trap();
    return 0;
}
