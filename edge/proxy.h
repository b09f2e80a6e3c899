/* edge/proxy.h: client connections and the request state machine.
 *
 * Owns client connections (struct conn), request routing (health, site,
 * signed URL check, cache lookup, pass), fetches (struct fetch: one
 * upstream exchange that fills an object and serves every collapsed
 * waiter), the shield -> origin chain with per-request fallback, and
 * response delivery from objects (full, HEAD, 304, 206, streaming).
 * Event-loop thread only. */
#ifndef STEER_EDGE_PROXY_H
#define STEER_EDGE_PROXY_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/util.h>

#include "edge/edged.h"

struct ssl_st;

/* Takes ownership of an accepted socket; `ssl` non-NULL for HTTPS. */
void proxy_accept(struct edged *ed, evutil_socket_t fd, const struct sockaddr *sa, struct ssl_st *ssl);

/* Closes every client connection and cancels every fetch (shutdown). */
void proxy_shutdown(struct edged *ed);

/* Computes the primary cache key of (scheme, host, path, query) for `site`
 * into out (NUL-terminated). Returns its length, or 0 when it does not fit. */
size_t proxy_cache_key(const struct edge_site *site, bool tls, const char *host, size_t hlen,
                       const char *path, size_t plen, const char *query, size_t qlen,
                       char *out, size_t outsz);

/* Maps an operator's purge prefix to the form of cache keys (see
 * proxy_cache_key), so that "http://Host:8081/p" matches the keys of
 * "http://host/p...". For an http:// or https:// prefix (scheme in any case)
 * the scheme and host are lower-cased and the host's port and trailing dot
 * dropped; the path and query are kept as given. A port, a path or a query
 * ends the host, which then matches exactly ("http://h:8081" becomes
 * "http://h/"); a prefix that ends inside the host stays a prefix of host
 * names ("http://ex" matches "http://example/..."). Anything else is copied
 * verbatim. Writes out (NUL-terminated; at most len + 1 bytes before the
 * NUL). Returns the length, or 0 when the prefix is empty or does not fit
 * in outsz. */
size_t proxy_key_prefix(const char *prefix, size_t len, char *out, size_t outsz);

/* True if request m selects a variant stored with `vary` ("name\0value\0"
 * pairs, normalised; NULL means no Vary). */
bool proxy_vary_match(const char *vary, uint32_t vary_len, const struct http_msg *m);

/* Health as served on GET /health: true when ready and, for at least one
 * site, the origin or a shield is not marked down. */
bool proxy_healthy(const struct edged *ed);

#endif
