/* rum/beacon.c: beacon parsing and validation (see beacon.h). */
#include "rum/beacon.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ helpers */

static const char *const reason_names[RUM_NREASONS] = {
    [RUM_R_OK] = "ok", [RUM_R_TOO_LARGE] = "too_large", [RUM_R_JSON] = "json",
    [RUM_R_SHAPE] = "shape", [RUM_R_EMPTY] = "empty", [RUM_R_TOO_MANY] = "too_many",
    [RUM_R_PROVIDER] = "provider", [RUM_R_NAME] = "name", [RUM_R_KIND] = "kind",
    [RUM_R_VALUE] = "value", [RUM_R_TIMESTAMP] = "timestamp", [RUM_R_QUERY] = "query",
    [RUM_R_ORIGIN] = "origin", [RUM_R_RATE] = "rate", [RUM_R_METHOD] = "method",
};

const char *rum_reason_name(enum rum_reason r)
{
    return (unsigned)r < RUM_NREASONS ? reason_names[r] : "?";
}

const char *rum_kind_name(enum rum_kind k)
{
    switch (k) {
    case RUM_LATENCY: return "latency";
    case RUM_THROUGHPUT: return "throughput";
    case RUM_FAILURE: return "failure";
    default: return "?";
    }
}

int rum_kind_parse(const char *s)
{
    if (!strcmp(s, "latency") || !strcmp(s, "l"))
        return RUM_LATENCY;
    if (!strcmp(s, "throughput") || !strcmp(s, "t"))
        return RUM_THROUGHPUT;
    if (!strcmp(s, "failure") || !strcmp(s, "f"))
        return RUM_FAILURE;
    return -1;
}

/* DNS name text: labels of [A-Za-z0-9_-], 1..63 chars, optional final dot. */
static bool name_syntax_ok(const char *s)
{
    size_t len = strlen(s), lab = 0;
    if (len == 0 || len > RUM_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '.') {
            if (lab == 0)
                return false;
            lab = 0;
        } else if (isalnum(ch) || ch == '-' || ch == '_') {
            if (++lab > 63)
                return false;
        } else {
            return false;
        }
    }
    return true;
}

static enum rum_reason check_name(const char *s, const struct rum_lookup *lk, int32_t *id)
{
    *id = -1;
    if (!s)
        return RUM_R_OK;
    if (!name_syntax_ok(s))
        return RUM_R_NAME;
    if (lk && lk->name) {
        int v = lk->name(lk->ctx, s);
        if (v < 0)
            return RUM_R_NAME;
        *id = v;
    }
    return RUM_R_OK;
}

/* Timestamp rule of beacon.h. has_ts false: measured now. */
static enum rum_reason clamp_time(bool has_ts, double ts, const struct rum_parse_opts *o, int64_t *t)
{
    if (!has_ts) {
        *t = o->now_ms;
        return RUM_R_OK;
    }
    if (!isfinite(ts) || fabs(ts - (double)o->now_ms) > (double)RUM_TS_INSANE_MS)
        return RUM_R_TIMESTAMP;
    int64_t v = (int64_t)ts;
    if (v > o->now_ms)
        v = o->now_ms;
    if (v < o->now_ms - o->max_age_ms)
        v = o->now_ms - o->max_age_ms;
    *t = v;
    return RUM_R_OK;
}

/* Fills one measurement from already-extracted fields. */
static enum rum_reason make_meas(const char *prov, const char *kind, bool has_value, double value,
                                 const struct rum_lookup *lk, struct rum_meas *m)
{
    if (!prov || !*prov || strlen(prov) > RUM_PROVIDER_MAX)
        return RUM_R_PROVIDER;
    int id = lk && lk->provider ? lk->provider(lk->ctx, prov) : -1;
    if (id < 0 || id > UINT16_MAX)
        return RUM_R_PROVIDER;
    int k = kind ? rum_kind_parse(kind) : -1;
    if (k < 0)
        return RUM_R_KIND;
    switch (k) {
    case RUM_LATENCY:
        if (!has_value || !isfinite(value) || value <= 0 || value > RUM_MAX_LATENCY_MS)
            return RUM_R_VALUE;
        break;
    case RUM_THROUGHPUT:
        if (!has_value || !isfinite(value) || value < 1 || value > RUM_MAX_THROUGHPUT)
            return RUM_R_VALUE;
        break;
    default:
        value = 0;
        break;
    }
    m->provider = (uint16_t)id;
    m->kind = (uint8_t)k;
    m->value = value;
    return RUM_R_OK;
}

/* --------------------------------------------------------------- JSON */

static json_t *get2(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    return v ? v : json_object_get(o, b);
}

static enum rum_reason json_ts(json_t *v, bool *has, double *ts)
{
    *has = false;
    if (!v || json_is_null(v))
        return RUM_R_OK;
    if (!json_is_number(v))
        return RUM_R_TIMESTAMP;
    *has = true;
    *ts = json_number_value(v);
    return RUM_R_OK;
}

static enum rum_reason json_one(json_t *e, const char *batch_name, bool bhas_ts, double bts,
                                const struct rum_parse_opts *o, const struct rum_lookup *lk, struct rum_meas *m)
{
    if (!json_is_object(e))
        return RUM_R_SHAPE;
    json_t *p = get2(e, "p", "provider"), *k = get2(e, "k", "kind"), *v = get2(e, "v", "value");
    json_t *nm = json_object_get(e, "name");
    if ((p && !json_is_string(p)) || (k && !json_is_string(k)) || (v && !json_is_null(v) && !json_is_number(v)) ||
        (nm && !json_is_string(nm)))
        return p && !json_is_string(p) ? RUM_R_PROVIDER : k && !json_is_string(k) ? RUM_R_KIND :
               nm && !json_is_string(nm) ? RUM_R_NAME : RUM_R_VALUE;
    bool has_ts = bhas_ts;
    double ts = bts;
    enum rum_reason r;
    bool h;
    double t;
    if ((r = json_ts(json_object_get(e, "ts"), &h, &t)) != RUM_R_OK)
        return r;
    if (h) {
        has_ts = true;
        ts = t;
    }
    bool has_v = v && json_is_number(v);
    r = make_meas(p ? json_string_value(p) : NULL, k ? json_string_value(k) : NULL, has_v,
                  has_v ? json_number_value(v) : 0, lk, m);
    if (r != RUM_R_OK)
        return r;
    if ((r = check_name(nm ? json_string_value(nm) : batch_name, lk, &m->name)) != RUM_R_OK)
        return r;
    return clamp_time(has_ts, ts, o, &m->t_ms);
}

enum rum_reason rum_beacon_parse_json(const char *body, size_t len, const struct rum_parse_opts *o,
                                      const struct rum_lookup *lk, struct rum_meas *out, size_t *n)
{
    *n = 0;
    size_t max_body = o->max_body && o->max_body < RUM_MAX_BODY ? o->max_body : RUM_MAX_BODY;
    size_t max_batch = o->max_batch && o->max_batch < RUM_MAX_BATCH ? o->max_batch : RUM_MAX_BATCH;
    if (len > max_body)
        return RUM_R_TOO_LARGE;
    json_error_t jerr;
    /* JSON_REJECT_DUPLICATES: {"p":"a","p":"b"} is ambiguous; refuse it.
     * Nesting depth is bounded by jansson itself (JSON_PARSER_MAX_DEPTH). */
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root)
        return RUM_R_JSON;
    enum rum_reason r = RUM_R_OK;
    json_t *arr, *bn;
    bool bhas_ts;
    double bts = 0;
    if (!json_is_object(root) || !(arr = get2(root, "m", "measurements")) || !json_is_array(arr)) {
        r = RUM_R_SHAPE;
        goto out;
    }
    bn = json_object_get(root, "name");
    if (bn && !json_is_string(bn)) {
        r = RUM_R_NAME;
        goto out;
    }
    if ((r = json_ts(json_object_get(root, "ts"), &bhas_ts, &bts)) != RUM_R_OK)
        goto out;
    size_t cnt = json_array_size(arr);
    if (cnt == 0) {
        r = RUM_R_EMPTY;
        goto out;
    }
    if (cnt > max_batch) {
        r = RUM_R_TOO_MANY;
        goto out;
    }
    for (size_t i = 0; i < cnt; i++)
        if ((r = json_one(json_array_get(arr, i), bn ? json_string_value(bn) : NULL, bhas_ts, bts, o, lk,
                          &out[i])) != RUM_R_OK)
            goto out;
    *n = cnt;
out:
    json_decref(root);
    return r;
}

/* ------------------------------------------------------- query string */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..len) into buf; '+' is a space. -1 on bad escapes,
 * NUL bytes or overflow. */
static int pct_decode(const char *s, size_t len, char *buf, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = h * 16 + l;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (c == 0 || o + 1 >= size)
            return -1;
        buf[o++] = (char)c;
    }
    buf[o] = 0;
    return 0;
}

static bool parse_number(const char *s, double *v)
{
    char *end;
    if (!*s || isspace((unsigned char)*s))
        return false;
    *v = strtod(s, &end);
    return *end == 0 && isfinite(*v);
}

/* "provider:kind[:value]" */
static enum rum_reason query_meas(char *spec, const struct rum_lookup *lk, struct rum_meas *m)
{
    char *k = strchr(spec, ':');
    if (!k)
        return RUM_R_QUERY;
    *k++ = 0;
    char *v = strchr(k, ':');
    double value = 0;
    bool has_v = false;
    if (v) {
        *v++ = 0;
        if (!parse_number(v, &value))
            return RUM_R_VALUE;
        has_v = true;
    }
    return make_meas(spec, k, has_v, value, lk, m);
}

enum rum_reason rum_beacon_parse_query(const char *qs, size_t len, const struct rum_parse_opts *o,
                                       const struct rum_lookup *lk, struct rum_meas *out, size_t *n)
{
    *n = 0;
    size_t max_batch = o->max_batch && o->max_batch < RUM_MAX_BATCH ? o->max_batch : RUM_MAX_BATCH;
    if (len > 8192)   /* evhttp caps the request line anyway; a pixel URL is short */
        return RUM_R_TOO_LARGE;
    char name[RUM_NAME_MAX + 1];
    bool has_name = false, has_ts = false;
    double ts = 0;
    size_t cnt = 0;
    enum rum_reason r;
    for (size_t pos = 0; pos < len;) {   /* bounded: pos advances every round */
        size_t end = pos;
        while (end < len && qs[end] != '&')
            end++;
        const char *eq = memchr(qs + pos, '=', end - pos);
        if (end > pos) {
            if (!eq)
                return RUM_R_QUERY;
            size_t klen = (size_t)(eq - (qs + pos));
            char val[RUM_NAME_MAX + RUM_PROVIDER_MAX + 64];
            if (pct_decode(eq + 1, (size_t)(qs + end - eq - 1), val, sizeof val) < 0)
                return RUM_R_QUERY;
            if (klen == 1 && qs[pos] == 'm') {
                if (cnt >= max_batch)
                    return RUM_R_TOO_MANY;
                if ((r = query_meas(val, lk, &out[cnt])) != RUM_R_OK)
                    return r;
                cnt++;
            } else if (klen == 4 && !memcmp(qs + pos, "name", 4)) {
                if (has_name || strlen(val) > RUM_NAME_MAX)
                    return RUM_R_NAME;
                strcpy(name, val);
                has_name = true;
            } else if (klen == 2 && !memcmp(qs + pos, "ts", 2)) {
                if (has_ts || !parse_number(val, &ts))
                    return RUM_R_TIMESTAMP;
                has_ts = true;
            }
            /* other keys (cache busters such as "_=123") are ignored */
        }
        pos = end + 1;
    }
    if (cnt == 0)
        return RUM_R_EMPTY;
    for (size_t i = 0; i < cnt; i++) {
        if ((r = check_name(has_name ? name : NULL, lk, &out[i].name)) != RUM_R_OK ||
            (r = clamp_time(has_ts, ts, o, &out[i].t_ms)) != RUM_R_OK)
            return r;
    }
    *n = cnt;
    return RUM_R_OK;
}
