/* edge/cc.h: RFC 9111 cache semantics for a shared cache.
 *
 * Owns Cache-Control parsing (request and response), the storability
 * decision, freshness lifetime (s-maxage > max-age > Expires > heuristic),
 * age calculation (RFC 9111 4.2.3) and conditional-request evaluation.
 * Pure functions on parsed messages and numbers: no allocation, no clock
 * (callers pass `now`), so every rule is unit-testable. */
#ifndef STEER_EDGE_CC_H
#define STEER_EDGE_CC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "edge/http.h"

#define CC_ABSENT (-1)

struct cc_resp {
    bool no_store, no_cache, private_, public_, must_revalidate, proxy_revalidate;
    int64_t max_age, s_maxage;      /* seconds or CC_ABSENT */
    int64_t swr, sie;               /* stale-while-revalidate / stale-if-error */
};

struct cc_req {
    bool no_cache, no_store, only_if_cached;
    int64_t max_age, max_stale, min_fresh;   /* CC_ABSENT when absent */
};

/* Parses all Cache-Control fields of a response. Malformed or conflicting
 * max-age/s-maxage values become 0 (RFC 9111 4.2.1: treat as stale). */
void cc_parse_resp(const struct http_msg *m, struct cc_resp *cc);
/* Parses request Cache-Control (and Pragma: no-cache when no Cache-Control). */
void cc_parse_req(const struct http_msg *m, struct cc_req *cc);

/* Inputs of the freshness computation, taken from a stored response. */
struct cc_fresh_in {
    int status;
    time_t request_time, response_time;   /* when we sent / got the head */
    time_t date;                 /* Date header or response_time if absent */
    int64_t age_hdr;             /* Age header, 0 if absent */
    bool has_expires; time_t expires;   /* invalid Expires -> has, in the past */
    bool has_last_modified; time_t last_modified;
    int64_t heuristic_max;       /* cap of heuristic lifetime, seconds */
    struct cc_resp cc;
};

/* Freshness lifetime in seconds (0 = stale immediately). */
int64_t cc_lifetime(const struct cc_fresh_in *in);
/* corrected_initial_age of RFC 9111 4.2.3. Current age is this plus
 * (now - response_time). */
int64_t cc_initial_age(const struct cc_fresh_in *in);
/* True for statuses cacheable by default (heuristically), RFC 9110 15.1. */
bool cc_status_heuristic(int status);

/* Why a response is not stored (CC_STORE_OK when it is). */
enum cc_store {
    CC_STORE_OK = 0,
    CC_STORE_METHOD,        /* not GET */
    CC_STORE_STATUS,        /* status not understood/cacheable (5xx, 1xx, 206...) */
    CC_STORE_NO_STORE,      /* no-store in request or response */
    CC_STORE_PRIVATE,       /* private */
    CC_STORE_AUTH,          /* Authorization without public/s-maxage/must-revalidate */
    CC_STORE_COOKIE,        /* Set-Cookie: never shared (policy) */
    CC_STORE_VARY_STAR,     /* Vary: * */
    CC_STORE_NO_EXPIRY,     /* nothing makes it cacheable */
};
enum cc_store cc_storable(enum http_method method, const struct cc_req *rq, bool req_has_auth,
                          const struct http_msg *resp, const struct cc_resp *cc);
const char *cc_store_reason(enum cc_store s);

/* Weak comparison of one entity-tag against an If-None-Match list. */
bool cc_etag_match_list(const char *list, size_t llen, const char *etag, size_t elen, bool weak);

#endif
