/* control/status.c: the status page (GET / and /status, its CSS and JS)
 * and the two read endpoints it polls besides /v1/providers and /metrics:
 *
 *   GET /v1/names   zones and steered names: rules (regions), their pool
 *                   chains, pools with policy, fallback and member weights
 *   GET /v1/rum     per provider, the RUM score table's continent and global
 *                   buckets that have data, trusted or not: samples, success
 *                   ratio, p50/p95, cost, trusted
 *
 * Runs on the control thread only (control/server.c routes here). Snapshot
 * data is read inside the thread's RCU read section through the view hook
 * and copied into JSON before the section ends, like the other endpoints.
 *
 * The assets are the files of control/assets/, embedded at build time (the Makefile
 * turns them into build/gen/control_assets.h with xxd -i); nothing is read
 * from disk and the page loads nothing from elsewhere, which the
 * Content-Security-Policy (default-src 'self') enforces in the browser.
 * Each asset gets a strong ETag (FNV-1a 64 of its bytes, computed once) so
 * a browser revalidating with If-None-Match gets 304 without a body;
 * Cache-Control: no-cache makes it revalidate every time, so a new steerd
 * binary is picked up on the next load.
 *
 * The names endpoint reads the compiled policy's rules and pools through
 * the observers' view in steering/labels.h (the rule's metric label comes
 * from the same function steerd/metrics.c uses); /v1/rum looks each bucket
 * up by itself (rum_table_bucket_score), so untrusted buckets are listed. */
#define _LGPL_SOURCE
#include "control/control.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <urcu/urcu-memb.h>

#include "rum/scores.h"
#include "steering/labels.h"

#include "build/gen/control_assets.h"

/* ------------------------------------------------------------ types */

struct asset {
    const char *path;          /* request path */
    const char *type;          /* Content-Type */
    const unsigned char *data;
    size_t len;
};

/* "/" and "/status" are the same page. */
static const struct asset assets[] = {
    { "/", "text/html; charset=utf-8", asset_status_html, sizeof asset_status_html },
    { "/status", "text/html; charset=utf-8", asset_status_html, sizeof asset_status_html },
    { "/status.css", "text/css; charset=utf-8", asset_status_css, sizeof asset_status_css },
    { "/status.js", "text/javascript; charset=utf-8", asset_status_js, sizeof asset_status_js },
};
#define NASSETS (sizeof assets / sizeof assets[0])

#define ETAG_LEN 19                 /* '"' + 16 hex digits + '"' + NUL */
static char etags[NASSETS][ETAG_LEN];
static pthread_once_t etags_once = PTHREAD_ONCE_INIT;

/* What the page may load and run: only this origin; no framing, no forms,
 * no <base> tricks. The page's styles and scripts are files, not inline. */
#define STATUS_CSP "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

/* Continent codes (geo/geo.h) and the region names the page shows. */
static const struct {
    char code[3];
    const char *name;
} continents[] = {
    { "AF", "africa" }, { "AN", "antarctica" }, { "AS", "asia" },       { "EU", "europe" },
    { "NA", "north-america" }, { "OC", "oceania" }, { "SA", "south-america" },
};
#define NCONTINENTS (sizeof continents / sizeof continents[0])

/* ------------------------------------------------------------ replies */

static void common_headers(struct evkeyvalq *h)
{
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
}

/* The API's JSON reply (control/server.c) with the page's extra headers;
 * 6 significant digits: latencies and ratios, not float noise. */
static void reply_json(struct evhttp_request *req, int code, json_t *body)
{
    common_headers(evhttp_request_get_output_headers(req));
    control_reply_json(req, code, body, JSON_REAL_PRECISION(6));
}

static void reply_error(struct evhttp_request *req, int code, const char *msg)
{
    reply_json(req, code, json_pack("{s:s}", "error", msg));
}

/* ------------------------------------------------------------ assets */

static void compute_etags(void)
{
    for (size_t i = 0; i < NASSETS; i++) {
        uint64_t h = 14695981039346656037ull;   /* FNV-1a 64 offset basis */
        for (size_t k = 0; k < assets[i].len; k++)
            h = (h ^ assets[i].data[k]) * 1099511628211ull;
        snprintf(etags[i], sizeof etags[i], "\"%016llx\"", (unsigned long long)h);
    }
}

/* True if an If-None-Match value matches etag: "*", or a comma-separated
 * list of entity tags compared weakly (RFC 9110 13.1.2: W/ is ignored).
 * The header is bounded by CONTROL_MAX_HEADERS, and the scan by its length. */
bool control_etag_matches(const char *inm, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = inm;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (end - start == 1 && *start == '*')
            return true;
        if (end - start > 2 && start[0] == 'W' && start[1] == '/')
            start += 2;
        if ((size_t)(end - start) == elen && !memcmp(start, etag, elen))
            return true;
    }
    return false;
}

static void serve_asset(struct evhttp_request *req, size_t i)
{
    pthread_once(&etags_once, compute_etags);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", assets[i].type);
    evhttp_add_header(h, "Cache-Control", "no-cache");
    evhttp_add_header(h, "ETag", etags[i]);
    evhttp_add_header(h, "Content-Security-Policy", STATUS_CSP);
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    common_headers(h);
    const char *inm = evhttp_find_header(evhttp_request_get_input_headers(req), "If-None-Match");
    if (inm && control_etag_matches(inm, etags[i])) {
        evhttp_send_reply(req, 304, "Not Modified", NULL);
        return;
    }
    struct evbuffer *b = evbuffer_new();
    /* by reference: the bytes are static, no copy per request */
    if (!b || evbuffer_add_reference(b, assets[i].data, assets[i].len, NULL, NULL) < 0) {
        if (b)
            evbuffer_free(b);
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

/* ------------------------------------------------------------ policy structure */

static const char *continent_name(const char *code)
{
    for (size_t i = 0; i < NCONTINENTS; i++)
        if (!strcmp(continents[i].code, code))
            return continents[i].name;
    return code;
}

/* The rule's match as text: "continent AS,OC country DE cidr 10.0.0.0/8". */
static json_t *rule_match_text(const struct steer_name *n, size_t r)
{
    char buf[512];   /* a region header, not a config dump: long lists are cut */
    steer_rule_match_text(n, r, buf, sizeof buf);
    return json_string(buf);
}

/* The region name the page shows: "default", the continents' names joined
 * by "+" ("asia+oceania") when the rule matches only continents, else the
 * match text. */
static json_t *rule_region(const struct steer_name *n, size_t r)
{
    struct steer_rule_keys k;
    steer_rule_keys(n, r, &k);
    if (steer_rule_is_default(n, r))
        return json_string("default");
    if (!k.continents || k.countries || k.subdivisions || k.asns || k.cidrs)
        return rule_match_text(n, r);
    char buf[256] = "";
    size_t o = 0;
    for (size_t i = 0; i < k.continents && o + 1 < sizeof buf; i++) {
        int w = snprintf(buf + o, sizeof buf - o, "%s%s", i ? "+" : "", continent_name(steer_rule_continent(n, r, i)));
        if (w < 0)
            break;
        o = (size_t)w < sizeof buf - o ? o + (size_t)w : sizeof buf - 1;
    }
    return json_string(buf);
}

/* The `rule` label of steer_answers_total (the same function makes it for
 * steerd/metrics.c). The page also tries the other names of a rule, so
 * labels from another exporter degrade to a weaker match, not to no data. */
static json_t *rule_metric_label(const struct steer_name *n, size_t r)
{
    char buf[STEER_RULE_LABEL_MAX];
    steer_rule_label(n, r, buf, sizeof buf);
    return json_string(buf);
}

static json_t *rule_json(const struct steer_name *n, size_t r)
{
    struct steer_rule_keys k;
    steer_rule_keys(n, r, &k);
    json_t *conts = json_array(), *chain = json_array();
    for (size_t i = 0; i < k.continents; i++)
        json_array_append_new(conts, json_string(steer_rule_continent(n, r, i)));
    for (size_t i = 0; i < steer_rule_chain_length(n, r); i++) {
        int pl = steer_rule_chain_pool(n, r, i);
        if (pl >= 0)
            json_array_append_new(chain, json_string(steer_pool_name(n, (size_t)pl)));
    }
    return json_pack("{s:I,s:o,s:o,s:o,s:b,s:o,s:o}", "index", (json_int_t)r, "label", rule_region(n, r),
                     "metric_label", rule_metric_label(n, r), "match", rule_match_text(n, r), "default",
                     steer_rule_is_default(n, r), "continents", conts, "pools", chain);
}

static const char *provider_name_or(const struct steer_policy *p, uint16_t id)
{
    return id < steer_policy_provider_count(p) ? steer_provider_name(p, id) : "?";
}

static json_t *pool_json(const struct steer_policy *p, const struct steer_name *n, size_t pl)
{
    json_t *mem = json_array();
    for (size_t k = 0; k < steer_pool_member_count(n, pl); k++) {
        uint32_t w;
        uint16_t id = steer_pool_member(n, pl, k, &w);
        json_array_append_new(mem, json_pack("{s:s,s:I}", "provider", provider_name_or(p, id), "weight",
                                             (json_int_t)w));
    }
    int f = steer_pool_fallback(n, pl);
    json_t *fb = f >= 0 ? json_string(steer_pool_name(n, (size_t)f)) : json_null();
    return json_pack("{s:s,s:s,s:o,s:o}", "name", steer_pool_name(n, pl), "policy",
                     steer_policy_kind_name(steer_pool_kind(n, pl)), "fallback", fb, "members", mem);
}

/* Providers used by any pool of the name, in first-use order. */
static json_t *name_providers(const struct steer_policy *p, const struct steer_name *n)
{
    json_t *arr = json_array();
    uint8_t seen[STEER_MAX_PROVIDERS / 8] = { 0 };
    size_t nprov = steer_policy_provider_count(p);
    for (size_t i = 0; i < steer_name_pool_count(n); i++)
        for (size_t k = 0; k < steer_pool_member_count(n, i); k++) {
            uint32_t w;
            uint16_t id = steer_pool_member(n, i, k, &w);
            if (id >= nprov || id >= STEER_MAX_PROVIDERS || (seen[id / 8] & (1u << (id % 8))))
                continue;
            seen[id / 8] |= (uint8_t)(1u << (id % 8));
            json_array_append_new(arr, json_string(steer_provider_name(p, id)));
        }
    return arr;
}

/* The zone (from the view) a steered name lives in: longest suffix match. */
static json_t *name_zone(const struct control_view *v, const char *name)
{
    size_t nl = strlen(name), best = 0;
    const char *zone = NULL;
    if (nl && name[nl - 1] == '.')
        nl--;
    for (size_t i = 0; i < v->nzones; i++) {
        const char *z = v->zone_name(v->snap, i);
        size_t zl = strlen(z);
        if (zl && z[zl - 1] == '.')
            zl--;
        if (zl > nl || zl < best || strncasecmp(name + nl - zl, z, zl))
            continue;
        if (zl < nl && name[nl - zl - 1] != '.')
            continue;
        best = zl;
        zone = z;
    }
    return zone ? json_string(zone) : json_null();
}

static json_t *name_json(const struct control_view *v, const struct steer_name *n)
{
    const struct steer_policy *p = v->policy;
    json_t *rules = json_array(), *pools = json_array();
    for (size_t i = 0; i < steer_name_rule_count(n); i++)
        json_array_append_new(rules, rule_json(n, i));
    for (size_t i = 0; i < steer_name_pool_count(n); i++)
        json_array_append_new(pools, pool_json(p, n, i));
    const char *text = steer_name_text(n);
    return json_pack("{s:s,s:o,s:I,s:I,s:b,s:o,s:o,s:o}", "name", text, "zone", name_zone(v, text), "ttl",
                     (json_int_t)steer_name_ttl(n), "degraded_ttl", (json_int_t)steer_name_degraded_ttl(n), "apex",
                     steer_name_is_apex(n), "rules", rules, "pools", pools, "providers", name_providers(p, n));
}

static json_t *provider_json(const struct steer_policy *p, size_t id)
{
    bool cdn = steer_provider_type(p, id) == STEER_PROV_CDN;
    json_t *o = json_pack("{s:s,s:s}", "name", steer_provider_name(p, id), "type", cdn ? "cdn" : "pop");
    const char *cname = cdn ? steer_provider_cname(p, id) : NULL;
    if (cname)
        json_object_set_new(o, "cname", json_string(cname));
    double lat, lon;
    if (steer_provider_coords(p, id, &lat, &lon)) {
        json_object_set_new(o, "lat", json_real(lat));
        json_object_set_new(o, "lon", json_real(lon));
    }
    return o;
}

/* ------------------------------------------------------------ endpoints */

static void get_names(const struct control_hooks *hooks, struct evhttp_request *req)
{
    json_t *zones = json_array(), *names = json_array(), *provs = json_array();
    struct control_view v;
    urcu_memb_read_lock();
    hooks->view(hooks->ctx, &v);
    for (size_t i = 0; i < v.nzones; i++)
        json_array_append_new(zones, json_string(v.zone_name(v.snap, i)));
    if (v.policy) {
        for (size_t i = 0; i < steer_policy_name_count(v.policy); i++)
            json_array_append_new(names, name_json(&v, steer_policy_name(v.policy, i)));
        for (size_t i = 0; i < steer_policy_provider_count(v.policy); i++)
            json_array_append_new(provs, provider_json(v.policy, i));
    }
    urcu_memb_read_unlock();
    reply_json(req, 200,
               json_pack("{s:I,s:o,s:o,s:o}", "generation", (json_int_t)v.generation, "zones", zones, "names",
                         names, "providers", provs));
}

static json_t *finite_or_null(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *score_json(const char *bucket, enum rum_level lvl, const struct rum_score *s)
{
    return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:b}", "bucket", bucket, "level", rum_level_name(lvl),
                     "samples", finite_or_null(s->samples), "success", finite_or_null(s->success), "p50_ms",
                     finite_or_null(s->p50), "p95_ms", finite_or_null(s->p95), "cost_ms", finite_or_null(s->cost),
                     "trusted", s->trusted);
}

/* Continent and global buckets of one provider, each looked up by itself:
 * a continent bucket with any data is listed, trusted or not (thin data is
 * shown as thin, not hidden behind a trusted global bucket); a decision for
 * a continent whose bucket is not trusted uses the next level up. */
static json_t *provider_rum(const struct steer_rum_table *t, uint16_t id)
{
    json_t *arr = json_array();
    struct rum_score s;
    for (size_t i = 0; i < NCONTINENTS; i++) {
        struct rum_geo g = { 0 };
        memcpy(g.continent, continents[i].code, sizeof g.continent);
        uint64_t key = rum_bucket_key(RUM_LVL_CONTINENT, &g);
        if (rum_table_bucket_score(t, key, id, &s) == RUM_BUCKET_NONE)
            continue;
        char name[32];
        rum_key_format(key, name, sizeof name);
        json_t *o = score_json(name, RUM_LVL_CONTINENT, &s);
        json_object_set_new(o, "continent", json_string(continents[i].code));
        json_array_append_new(arr, o);
    }
    struct rum_geo none = { 0 };
    if (rum_table_bucket_score(t, rum_bucket_key(RUM_LVL_GLOBAL, &none), id, &s) != RUM_BUCKET_NONE)
        json_array_append_new(arr, score_json("global", RUM_LVL_GLOBAL, &s));
    return arr;
}

static void get_rum(const struct control_hooks *hooks, struct evhttp_request *req)
{
    json_t *provs = json_array(), *table = json_null();
    struct control_view v;
    urcu_memb_read_lock();
    hooks->view(hooks->ctx, &v);
    const struct steer_rum_table *t = v.in.rum;
    if (t)
        table = json_pack("{s:I,s:I,s:I}", "version", (json_int_t)rum_table_version(t), "built_ms",
                          (json_int_t)rum_table_built_ms(t), "buckets", (json_int_t)rum_table_bucket_count(t));
    size_t nprov = v.policy ? steer_policy_provider_count(v.policy) : 0;
    for (size_t i = 0; i < nprov && i <= UINT16_MAX; i++)
        json_array_append_new(provs, json_pack("{s:s,s:o}", "name", steer_provider_name(v.policy, i), "buckets",
                                               t ? provider_rum(t, (uint16_t)i) : json_array()));
    urcu_memb_read_unlock();
    reply_json(req, 200,
               json_pack("{s:I,s:o,s:o}", "generation", (json_int_t)v.generation, "table", table, "providers",
                         provs));
}

/* ------------------------------------------------------------ routing */

bool control_status_serve(const struct control_hooks *hooks, struct evhttp_request *req, const char *path)
{
    int which = -1;   /* asset index, or NASSETS + 0 (names) / + 1 (rum) */
    for (size_t i = 0; i < NASSETS; i++)
        if (!strcmp(path, assets[i].path))
            which = (int)i;
    if (!strcmp(path, "/v1/names"))
        which = (int)NASSETS;
    else if (!strcmp(path, "/v1/rum"))
        which = (int)NASSETS + 1;
    if (which < 0)
        return false;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
        reply_error(req, 405, "method not allowed");
        return true;
    }
    if (which < (int)NASSETS)
        serve_asset(req, (size_t)which);
    else if (which == (int)NASSETS)
        get_names(hooks, req);
    else
        get_rum(hooks, req);
    return true;
}
