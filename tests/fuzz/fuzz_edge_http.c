/* libFuzzer target for the edge HTTP parsers: request and response heads,
 * the chunked decoder (fed in uneven pieces), HTTP dates, Cache-Control and
 * the Vary/key helpers that run on parsed requests. The first input byte
 * picks the split points. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "edge/cc.h"
#include "edge/http.h"
#include "edge/proxy.h"
#include "edge/signurl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned step = (data[0] & 31) + 1;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    struct http_limits lim = { 4096, 64 };
    static struct http_msg m;

    if (http_parse_request(p, n, &lim, &m) == HTTP_PARSE_OK) {
        if (m.head_len > n) __builtin_trap();
        struct cc_req rq;
        cc_parse_req(&m, &rq);
        struct edge_site site;
        memset(&site, 0, sizeof site);
        site.qmode = (enum edge_qmode)(data[0] % 4);
        site.nqparams = 1;
        memcpy(site.qparams[0], "a", 2);
        char key[512];
        if (m.host) proxy_cache_key(&site, data[0] & 1, m.host, m.host_len, m.path, m.path_len, m.query,
                                    m.query_len, key, sizeof key);
        proxy_vary_match("accept-encoding\0gzip\0", 21, &m);
        signurl_check("0123456789abcdef", 16, m.path, m.path_len, m.query, m.query_len, 0);
    }
    for (int meth = 0; meth < 2; meth++) {
        if (http_parse_response(p, n, &lim, meth ? HTTP_M_HEAD : HTTP_M_GET, &m) == HTTP_PARSE_OK) {
            if (m.head_len > n) __builtin_trap();
            struct cc_resp cc;
            cc_parse_resp(&m, &cc);
            cc_storable(HTTP_M_GET, NULL, false, &m, &cc);
            const struct http_hdr *d = http_find(&m, "date");
            time_t t;
            if (d) http_date_parse(d->value, d->vlen, &t);
        }
    }
    /* chunked decoding in pieces of `step` bytes */
    struct chunk_dec dec;
    chunk_dec_init(&dec);
    size_t off = 0, total = 0;
    while (off < n) {
        size_t len = n - off < step ? n - off : step;
        size_t pos = 0;
        for (int guard = 0; guard < 10000; guard++) {
            size_t used; const char *dp; size_t dl;
            enum chunk_rc rc = chunk_decode(&dec, p + off + pos, len - pos, &used, &dp, &dl);
            if (used > len - pos) __builtin_trap();
            pos += used;
            if (rc == CHUNK_DATA) {
                if (dp < p || dp + dl > p + n) __builtin_trap();
                total += dl;
                continue;
            }
            if (rc == CHUNK_BAD || rc == CHUNK_END) { off = n; break; }
            break;
        }
        if (off < n) off += len;
    }
    if (total > n) __builtin_trap();
    time_t t;
    http_date_parse(p, n, &t);
    return 0;
}
