/* edge/cc.c: Cache-Control, storability and freshness (RFC 9111). */
#include "edge/cc.h"

#include <string.h>
#include <strings.h>

/* Largest delta-seconds we keep: 2^31 per RFC 9111 1.2.2. */
#define DELTA_MAX 2147483648LL

/* Parses delta-seconds (optionally quoted). Returns -1 on junk. */
static int64_t parse_delta(const char *v, size_t n)
{
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') { v++; n -= 2; }
    if (n == 0) return -1;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return -1;
        if (x < DELTA_MAX) x = x * 10 + (v[i] - '0');
    }
    return x > DELTA_MAX ? DELTA_MAX : x;
}

/* Iterates directives of all Cache-Control fields: calls fn(name, value). */
typedef void (*dir_fn)(void *ctx, const char *n, size_t nl, const char *v, size_t vl, bool hasv);

static void each_directive(const struct http_msg *m, const char *field, dir_fn fn, void *ctx)
{
    for (uint32_t i = 0; i < m->nhdr; i++) {
        const struct http_hdr *h = &m->hdr[i];
        if (!http_name_is(h->name, h->nlen, field)) continue;
        const char *p = h->value, *end = p + h->vlen;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) p++;
            if (p >= end) break;
            const char *n = p;
            while (p < end && *p != '=' && *p != ',' && *p != ' ' && *p != '\t') p++;
            size_t nl = (size_t)(p - n);
            while (p < end && (*p == ' ' || *p == '\t')) p++;
            const char *v = NULL; size_t vl = 0; bool hasv = false;
            if (p < end && *p == '=') {
                p++;
                while (p < end && (*p == ' ' || *p == '\t')) p++;
                v = p; hasv = true;
                if (p < end && *p == '"') {          /* quoted-string, may contain commas */
                    p++;
                    while (p < end && *p != '"') { if (*p == '\\' && p + 1 < end) p++; p++; }
                    if (p < end) p++;
                } else {
                    while (p < end && *p != ',' && *p != ' ' && *p != '\t') p++;
                }
                vl = (size_t)(p - v);
            }
            while (p < end && *p != ',') p++;        /* skip junk to next element */
            if (nl) fn(ctx, n, nl, v, vl, hasv);
        }
    }
}

/* Merge rule for repeated/invalid numeric directives: smallest wins. */
static void set_delta(int64_t *slot, const char *v, size_t vl, bool hasv)
{
    int64_t d = hasv ? parse_delta(v, vl) : -1;
    if (d < 0) d = 0;
    if (*slot == CC_ABSENT || d < *slot) *slot = d;
}

static void resp_dir(void *ctx, const char *n, size_t nl, const char *v, size_t vl, bool hasv)
{
    struct cc_resp *cc = ctx;
    if (http_name_is(n, nl, "no-store")) cc->no_store = true;
    else if (http_name_is(n, nl, "no-cache")) cc->no_cache = true;      /* qualified: treated unqualified */
    else if (http_name_is(n, nl, "private")) cc->private_ = true;       /* idem */
    else if (http_name_is(n, nl, "public")) cc->public_ = true;
    else if (http_name_is(n, nl, "must-revalidate")) cc->must_revalidate = true;
    else if (http_name_is(n, nl, "proxy-revalidate")) cc->proxy_revalidate = true;
    else if (http_name_is(n, nl, "max-age")) set_delta(&cc->max_age, v, vl, hasv);
    else if (http_name_is(n, nl, "s-maxage")) set_delta(&cc->s_maxage, v, vl, hasv);
    else if (http_name_is(n, nl, "stale-while-revalidate")) set_delta(&cc->swr, v, vl, hasv);
    else if (http_name_is(n, nl, "stale-if-error")) set_delta(&cc->sie, v, vl, hasv);
}

void cc_parse_resp(const struct http_msg *m, struct cc_resp *cc)
{
    memset(cc, 0, sizeof *cc);
    cc->max_age = cc->s_maxage = cc->swr = cc->sie = CC_ABSENT;
    each_directive(m, "cache-control", resp_dir, cc);
}

static void req_dir(void *ctx, const char *n, size_t nl, const char *v, size_t vl, bool hasv)
{
    struct cc_req *cc = ctx;
    if (http_name_is(n, nl, "no-cache")) cc->no_cache = true;
    else if (http_name_is(n, nl, "no-store")) cc->no_store = true;
    else if (http_name_is(n, nl, "only-if-cached")) cc->only_if_cached = true;
    else if (http_name_is(n, nl, "max-age")) set_delta(&cc->max_age, v, vl, hasv);
    else if (http_name_is(n, nl, "min-fresh")) set_delta(&cc->min_fresh, v, vl, hasv);
    else if (http_name_is(n, nl, "max-stale")) {
        if (!hasv) cc->max_stale = DELTA_MAX;               /* any staleness */
        else set_delta(&cc->max_stale, v, vl, hasv);
    }
}

void cc_parse_req(const struct http_msg *m, struct cc_req *cc)
{
    memset(cc, 0, sizeof *cc);
    cc->max_age = cc->max_stale = cc->min_fresh = CC_ABSENT;
    if (http_find(m, "cache-control")) each_directive(m, "cache-control", req_dir, cc);
    else if (http_has_token(m, "pragma", "no-cache")) cc->no_cache = true;
}

bool cc_status_heuristic(int status)
{
    switch (status) {
    case 200: case 203: case 204: case 206: case 300: case 301: case 308:
    case 404: case 405: case 410: case 414: case 501:
        return true;
    default:
        return false;
    }
}

int64_t cc_lifetime(const struct cc_fresh_in *in)
{
    if (in->cc.s_maxage != CC_ABSENT) return in->cc.s_maxage;
    if (in->cc.max_age != CC_ABSENT) return in->cc.max_age;
    if (in->has_expires) {
        int64_t d = (int64_t)in->expires - (int64_t)in->date;
        return d > 0 ? d : 0;
    }
    if (in->has_last_modified && (cc_status_heuristic(in->status) || in->cc.public_)) {
        /* RFC 9111 4.2.2: a fraction of the interval since modification;
         * 10% is the figure the RFC suggests. */
        int64_t d = ((int64_t)in->date - (int64_t)in->last_modified) / 10;
        if (d < 0) d = 0;
        return d > in->heuristic_max ? in->heuristic_max : d;
    }
    return 0;
}

int64_t cc_initial_age(const struct cc_fresh_in *in)
{
    int64_t apparent = (int64_t)in->response_time - (int64_t)in->date;
    if (apparent < 0) apparent = 0;
    int64_t delay = (int64_t)in->response_time - (int64_t)in->request_time;
    if (delay < 0) delay = 0;
    int64_t corrected = in->age_hdr + delay;
    return apparent > corrected ? apparent : corrected;
}

static bool status_understood(int status)
{
    /* Final statuses whose caching semantics we implement. 206 is never
     * stored (we fetch whole objects and cut ranges ourselves); 5xx are
     * never stored so stale-if-error can apply. */
    switch (status) {
    case 200: case 203: case 204: case 300: case 301: case 302: case 303: case 307: case 308:
    case 404: case 405: case 410: case 414: case 501:
        return true;
    default:
        return false;
    }
}

enum cc_store cc_storable(enum http_method method, const struct cc_req *rq, bool req_has_auth,
                          const struct http_msg *resp, const struct cc_resp *cc)
{
    if (method != HTTP_M_GET && method != HTTP_M_HEAD) return CC_STORE_METHOD;
    if (!status_understood(resp->status)) return CC_STORE_STATUS;
    if (cc->no_store || (rq && rq->no_store)) return CC_STORE_NO_STORE;
    if (cc->private_) return CC_STORE_PRIVATE;
    if (req_has_auth && !cc->public_ && !cc->must_revalidate && cc->s_maxage == CC_ABSENT)
        return CC_STORE_AUTH;
    if (http_find(resp, "set-cookie")) return CC_STORE_COOKIE;
    if (http_has_token(resp, "vary", "*")) return CC_STORE_VARY_STAR;
    if (cc->public_ || cc->s_maxage != CC_ABSENT || cc->max_age != CC_ABSENT ||
        http_find(resp, "expires") || cc->no_cache)
        return CC_STORE_OK;
    if (cc_status_heuristic(resp->status) && http_find(resp, "last-modified")) return CC_STORE_OK;
    return CC_STORE_NO_EXPIRY;
}

const char *cc_store_reason(enum cc_store s)
{
    static const char *const r[] = { "ok", "method", "status", "no-store", "private",
        "authorization", "set-cookie", "vary-star", "no-expiry" };
    return (unsigned)s < sizeof r / sizeof r[0] ? r[s] : "?";
}

/* Strips W/ for weak comparison. */
static void opaque(const char **t, size_t *n, bool *is_weak)
{
    *is_weak = false;
    if (*n >= 2 && (*t)[0] == 'W' && (*t)[1] == '/') { *t += 2; *n -= 2; *is_weak = true; }
}

bool cc_etag_match_list(const char *list, size_t llen, const char *etag, size_t elen, bool weak)
{
    const char *e = etag; size_t en = elen; bool ew;
    opaque(&e, &en, &ew);
    if (!weak && ew) return false;
    const char *p = list, *end = list + llen;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) p++;
        if (p >= end) break;
        const char *s = p;
        if (*p == '*') return true;
        if (p + 1 < end && p[0] == 'W' && p[1] == '/') p += 2;
        if (p < end && *p == '"') {
            p++;
            while (p < end && *p != '"') p++;
            if (p < end) p++;
        } else {
            while (p < end && *p != ',') p++;
        }
        const char *t = s; size_t tn = (size_t)(p - s); bool tw;
        opaque(&t, &tn, &tw);
        if ((weak || !tw) && tn == en && memcmp(t, e, en) == 0) return true;
        while (p < end && *p != ',') p++;
    }
    return false;
}
