/* edge/signurl.h: signed URLs (HMAC-SHA256 over path and expiry).
 *
 * A signed URL carries two query parameters: `expires` (Unix seconds) and
 * `sig` (lower-case hex HMAC-SHA256 with the site secret over the string
 * "<path>:<expires>", path as sent, without the query). Both are removed from
 * the cache key, so every signature of one path shares one object. Pure
 * functions; thread-safe. */
#ifndef STEER_EDGE_SIGNURL_H
#define STEER_EDGE_SIGNURL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum sign_result { SIGN_OK = 0, SIGN_MISSING, SIGN_MALFORMED, SIGN_EXPIRED, SIGN_BAD };

/* Checks the signature of (path, query) at time now. */
enum sign_result signurl_check(const char *secret, size_t slen, const char *path, size_t plen,
                               const char *query, size_t qlen, time_t now);
/* Writes "expires=<e>&sig=<hex>" for path into out. Returns length or 0. */
size_t signurl_make(const char *secret, size_t slen, const char *path, size_t plen, int64_t expires,
                    char *out, size_t outsz);
const char *signurl_result_str(enum sign_result r);

#endif
