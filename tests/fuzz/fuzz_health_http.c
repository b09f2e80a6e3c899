/* libFuzzer target: health/http.h response parser. The first byte picks
 * the feed step, HEAD or not, and the body cap; the rest is the response,
 * fed in pieces and closed with EOF. Checks the parser's own invariants. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "health/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    size_t step = (size_t)(ctl & 0x0f) + 1;          /* 1..16 bytes per feed */
    bool head = ctl & 0x10;
    uint32_t cap = (ctl & 0x20) ? 0 : (ctl & 0x40) ? 8 : 4096;
    char *body = cap ? malloc(cap) : NULL;
    struct http_resp *p = malloc(sizeof *p);
    http_resp_init(p, head, body, cap);
    data++;
    size--;
    size_t pos = 0;
    enum http_result r = HTTP_MORE;
    while (pos < size && r == HTTP_MORE) {
        size_t n = size - pos < step ? size - pos : step, used = 0;
        r = http_resp_feed(p, (const char *)data + pos, n, &used);
        if (used > n)
            abort();
        if (r == HTTP_MORE && used != n)
            abort();
        pos += used;
    }
    if (r == HTTP_MORE)
        r = http_resp_eof(p);
    if (p->body_len > cap)
        abort();
    if (r == HTTP_DONE && (p->status < 100 || p->status > 599))
        abort();
    if (body && p->body_len)
        (void)memchr(body, 'x', p->body_len);   /* body bytes must be initialized */
    free(p);
    free(body);
    return 0;
}
