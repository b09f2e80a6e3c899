#include "health/config.h"

#include <ctype.h>
#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cfg.h"

/* ---- limits ---------------------------------------------------------- */

#define MAX_CHECKS 100000          /* far beyond any real deployment; bounds the parse */
#define MIN_INTERVAL_MS 10         /* tests use 20-50 ms; below 10 ms is a busy loop */
#define MAX_INTERVAL_MS 3600000    /* one hour */
#define MAX_RISE_FALL 100          /* hyst counters saturate at 255 */
#define MAX_BODY_LIMIT (1024u * 1024)
#define MAX_STATUSES 64

struct timing {
    uint64_t interval, timeout, jitter, max_body, fast;
    uint32_t rise, fall;
    bool timeout_set, fast_set;
};

/* ---- helpers --------------------------------------------------------- */

bool health_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= HC_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '_' && c != '.' && c != '-')
            return false;
    }
    return true;
}

const char *health_check_type_name(enum health_check_type t)
{
    switch (t) {
    case HC_TCP: return "tcp";
    case HC_HTTP: return "http";
    case HC_HTTPS: return "https";
    case HC_DNS: return "dns";
    }
    return "?";
}

bool health_status_ok(const struct health_check_cfg *c, unsigned status)
{
    if (status >= 640)
        return false;
    return (c->status_ok[status / 64] >> (status % 64)) & 1u;
}

static void status_set(struct health_check_cfg *c, unsigned status)
{
    c->status_ok[status / 64] |= (uint64_t)1 << (status % 64);
}

bool health_check_cfg_same(const struct health_check_cfg *a, const struct health_check_cfg *b)
{
    struct health_check_cfg x = *a, y = *b;
    x.line = y.line = 0;     /* moving a check in the file changes nothing */
    return memcmp(&x, &y, sizeof x) == 0;
}

static int parse_timing(struct cfg_ctx *ctx, struct fy_node *map, const struct timing *dflt,
                        struct timing *t)
{
    *t = *dflt;
    if (cfg_duration_ms(ctx, map, "interval", false, MIN_INTERVAL_MS, MAX_INTERVAL_MS,
                        dflt->interval, &t->interval) < 0 ||
        cfg_duration_ms(ctx, map, "jitter", false, 0, MAX_INTERVAL_MS, dflt->jitter, &t->jitter) < 0 ||
        cfg_u32(ctx, map, "rise", false, 1, MAX_RISE_FALL, dflt->rise, &t->rise) < 0 ||
        cfg_u32(ctx, map, "fall", false, 1, MAX_RISE_FALL, dflt->fall, &t->fall) < 0 ||
        cfg_size(ctx, map, "max_body", false, 0, MAX_BODY_LIMIT, dflt->max_body, &t->max_body) < 0)
        return -1;
    if (cfg_get(map, "timeout")) {
        if (cfg_duration_ms(ctx, map, "timeout", true, 1, MAX_INTERVAL_MS, 0, &t->timeout) < 0)
            return -1;
        t->timeout_set = true;
    }
    if (cfg_get(map, "fast_interval")) {
        if (cfg_duration_ms(ctx, map, "fast_interval", true, MIN_INTERVAL_MS, MAX_INTERVAL_MS, 0, &t->fast) < 0)
            return -1;
        t->fast_set = true;
    }
    return 0;
}

/* Every key the check mapping may hold; applicability is checked per type. */
static const char *const check_keys[] = {
    "type", "target", "url", "method", "path", "host", "sni", "ca_file", "verify",
    "expect_status", "expect_body", "max_body", "resolver", "name", "qtype",
    "interval", "timeout", "jitter", "rise", "fall", "fast_interval", NULL };

static const char *const http_only[] = {
    "url", "method", "path", "host", "expect_status", "expect_body", "max_body", NULL };
static const char *const https_only[] = { "sni", "ca_file", "verify", NULL };
static const char *const dns_only[] = { "resolver", "name", "qtype", NULL };
static const char *const tcp_http_only[] = { "target", NULL };

static int reject_keys(struct cfg_ctx *ctx, struct fy_node *map, const char *const *keys,
                       const char *type)
{
    for (size_t i = 0; keys[i]; i++) {
        struct fy_node *n = cfg_get(map, keys[i]);
        if (n)
            return cfg_error(ctx, n, "key '%s' does not apply to %s checks", keys[i], type);
    }
    return 0;
}

/* One expect_status entry: 200, or "2xx" for a class. */
static int parse_status_item(struct cfg_ctx *ctx, struct fy_node *n, struct health_check_cfg *c)
{
    char buf[16];
    if (cfg_scalar(ctx, n, buf, sizeof buf) < 0)
        return -1;
    if (strlen(buf) == 3 && buf[0] >= '1' && buf[0] <= '5' &&
        (buf[1] == 'x' || buf[1] == 'X') && (buf[2] == 'x' || buf[2] == 'X')) {
        unsigned base = (unsigned)(buf[0] - '0') * 100;
        for (unsigned s = base; s < base + 100; s++)
            status_set(c, s);
        return 0;
    }
    uint64_t v;
    if (parse_u64(buf, 100, 599, &v) < 0)
        return cfg_error(ctx, n, "expect_status: '%s' is not a status 100..599 or a class like 2xx", buf);
    status_set(c, (unsigned)v);
    return 0;
}

static int parse_statuses(struct cfg_ctx *ctx, struct fy_node *map, struct health_check_cfg *c)
{
    struct fy_node *n = cfg_get(map, "expect_status");
    memset(c->status_ok, 0, sizeof c->status_ok);
    if (!n) {
        status_set(c, 200);
        return 0;
    }
    if (cfg_is_scalar(n))
        return parse_status_item(ctx, n, c);
    if (cfg_expect_seq(ctx, n, "expect_status") < 0)
        return -1;
    void *it = NULL;
    struct fy_node *item;
    int count = 0;
    while ((item = fy_node_sequence_iterate(n, &it)) != NULL) {
        if (++count > MAX_STATUSES)
            return cfg_error(ctx, item, "expect_status: more than %d entries", MAX_STATUSES);
        if (parse_status_item(ctx, item, c) < 0)
            return -1;
    }
    if (count == 0)
        return cfg_error(ctx, n, "expect_status must not be empty");
    return 0;
}

/* Splits "http[s]://host[:port]/path" into its parts. Returns 0 or -1. */
static int parse_url(const char *url, bool *tls, char *host, size_t hsize, uint16_t *port,
                     char *path, size_t psize)
{
    const char *p;
    if (strncasecmp(url, "http://", 7) == 0) {
        *tls = false;
        p = url + 7;
        *port = 80;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        *tls = true;
        p = url + 8;
        *port = 443;
    } else {
        return -1;
    }
    const char *hend;
    const char *after;
    if (*p == '[') {
        hend = strchr(p, ']');
        if (!hend)
            return -1;
        p++;
        after = hend + 1;
    } else {
        hend = p + strcspn(p, ":/?#");
        after = hend;
    }
    size_t hlen = (size_t)(hend - p);
    if (hlen == 0 || hlen >= hsize)
        return -1;
    memcpy(host, p, hlen);
    host[hlen] = '\0';
    if (*after == ':') {
        char pbuf[8];
        size_t plen = strcspn(after + 1, "/?#");
        uint64_t v;
        if (plen == 0 || plen >= sizeof pbuf)
            return -1;
        memcpy(pbuf, after + 1, plen);
        pbuf[plen] = '\0';
        if (parse_u64(pbuf, 1, 65535, &v) < 0)
            return -1;
        *port = (uint16_t)v;
        after += 1 + plen;
    }
    if (*after == '#')
        return -1;
    int n = snprintf(path, psize, "%s%s", *after == '/' ? "" : "/", after);
    return (n < 0 || (size_t)n >= psize) ? -1 : 0;
}

static bool valid_token(const char *s)   /* HTTP method: RFC 9110 token chars */
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isupper((unsigned char)*s) && *s != '-' && *s != '_')
            return false;
    return true;
}

static bool valid_header_value(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s == 0x7f)
            return false;
    return true;
}

/* ---- per type -------------------------------------------------------- */

static int parse_target(struct cfg_ctx *ctx, struct fy_node *map, struct health_check_cfg *c,
                        bool required, uint16_t dflt_port)
{
    char buf[HC_HOST_MAX];
    struct fy_node *n = cfg_get(map, "target");
    if (!n) {
        if (required)
            return cfg_error(ctx, map, "check '%s': missing 'target' (address:port)", c->name);
        return 0;
    }
    if (cfg_scalar(ctx, n, buf, sizeof buf) < 0)
        return -1;
    if (net_hostport_parse(buf, dflt_port, &c->addr, &c->port) < 0 || c->port == 0)
        return cfg_error(ctx, n, "check '%s': target '%s' is not an address:port", c->name, buf);
    return 0;
}

static int parse_http(struct cfg_ctx *ctx, struct fy_node *map, struct health_check_cfg *c)
{
    char url[HC_PATH_MAX + HC_HOST_MAX + 16];
    char urlhost[HC_HOST_MAX] = "";
    bool have_addr = false;
    struct fy_node *un = cfg_get(map, "url");
    snprintf(c->path, sizeof c->path, "/");
    c->port = c->type == HC_HTTPS ? 443 : 80;
    if (un) {
        bool tls;
        uint16_t port;
        if (cfg_scalar(ctx, un, url, sizeof url) < 0)
            return -1;
        if (parse_url(url, &tls, urlhost, sizeof urlhost, &port, c->path, sizeof c->path) < 0)
            return cfg_error(ctx, un, "check '%s': bad url '%s'", c->name, url);
        if (tls != (c->type == HC_HTTPS))
            return cfg_error(ctx, un, "check '%s': url scheme does not match type %s", c->name,
                             health_check_type_name(c->type));
        c->port = port;
        if (net_addr_parse(urlhost, &c->addr) == 0)
            have_addr = true;
        else
            snprintf(c->host, sizeof c->host, "%s", urlhost);
    }
    if (cfg_get(map, "target")) {
        if (parse_target(ctx, map, c, true, c->port) < 0)
            return -1;
        have_addr = true;
    }
    if (!have_addr)
        return cfg_error(ctx, map, "check '%s': needs 'target' (address:port) or a url with an address",
                         c->name);
    if (cfg_get(map, "path")) {
        if (cfg_str(ctx, map, "path", true, NULL, c->path, sizeof c->path) < 0)
            return -1;
        if (c->path[0] != '/' || !valid_header_value(c->path))
            return cfg_error(ctx, cfg_get(map, "path"), "check '%s': path must start with '/' and contain no spaces",
                             c->name);
    }
    if (cfg_str(ctx, map, "method", false, "GET", c->method, sizeof c->method) < 0)
        return -1;
    if (!valid_token(c->method))
        return cfg_error(ctx, cfg_get(map, "method"), "check '%s': bad method '%s'", c->name, c->method);
    if (cfg_get(map, "host") && cfg_str(ctx, map, "host", true, NULL, c->host, sizeof c->host) < 0)
        return -1;
    if (!valid_header_value(c->host))
        return cfg_error(ctx, cfg_get(map, "host"), "check '%s': bad host '%s'", c->name, c->host);
    if (parse_statuses(ctx, map, c) < 0)
        return -1;
    if (cfg_str(ctx, map, "expect_body", false, "", c->expect_body, sizeof c->expect_body) < 0)
        return -1;
    if (c->expect_body[0] && strcmp(c->method, "HEAD") == 0)
        return cfg_error(ctx, cfg_get(map, "expect_body"), "check '%s': expect_body needs a method with a body, not HEAD",
                         c->name);
    if (c->expect_body[0] && strlen(c->expect_body) > c->max_body)
        return cfg_error(ctx, cfg_get(map, "expect_body"), "check '%s': expect_body is longer than max_body",
                         c->name);
    if (c->type != HC_HTTPS)
        return 0;
    /* SNI: explicit, else the Host name when it is a name (RFC 6066: no literals) */
    struct net_addr tmp;
    const char *dsni = (c->host[0] && net_addr_parse(c->host, &tmp) < 0) ? c->host : "";
    if (cfg_str(ctx, map, "sni", false, dsni, c->sni, sizeof c->sni) < 0 ||
        cfg_bool(ctx, map, "verify", true, &c->verify) < 0)
        return -1;
    if (!valid_header_value(c->sni))
        return cfg_error(ctx, cfg_get(map, "sni"), "check '%s': bad sni", c->name);
    if (cfg_get(map, "ca_file")) {
        char raw[HC_FILE_MAX];
        if (cfg_str(ctx, map, "ca_file", true, NULL, raw, sizeof raw) < 0 ||
            cfg_path(ctx, cfg_get(map, "ca_file"), raw, c->ca_file, sizeof c->ca_file) < 0)
            return -1;
    }
    return 0;
}

static int parse_dns(struct cfg_ctx *ctx, struct fy_node *map, struct health_check_cfg *c)
{
    char buf[HC_HOST_MAX];
    if (cfg_str(ctx, map, "resolver", true, NULL, buf, sizeof buf) < 0)
        return -1;
    if (net_hostport_parse(buf, 53, &c->resolver, &c->resolver_port) < 0 || c->resolver_port == 0)
        return cfg_error(ctx, cfg_get(map, "resolver"), "check '%s': resolver '%s' is not an address[:port]",
                         c->name, buf);
    if (cfg_str(ctx, map, "name", true, NULL, c->qname, sizeof c->qname) < 0)
        return -1;
    size_t len = strlen(c->qname);
    if (len == 0 || len > 254 || strspn(c->qname, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != len
        || strstr(c->qname, ".."))
        return cfg_error(ctx, cfg_get(map, "name"), "check '%s': bad DNS name '%s'", c->name, c->qname);
    if (cfg_str(ctx, map, "qtype", false, "A", buf, sizeof buf) < 0)
        return -1;
    if (strcasecmp(buf, "A") == 0)
        c->qtype = 1;
    else if (strcasecmp(buf, "AAAA") == 0)
        c->qtype = 28;
    else
        return cfg_error(ctx, cfg_get(map, "qtype"), "check '%s': qtype must be A or AAAA", c->name);
    return 0;
}

static int parse_check(struct cfg_ctx *ctx, struct fy_node *key, struct fy_node *map,
                       const struct timing *dflt, struct health_check_cfg *c)
{
    char type[16];
    memset(c, 0, sizeof *c);
    if (cfg_scalar(ctx, key, c->name, sizeof c->name) < 0)
        return -1;
    if (!health_name_valid(c->name))
        return cfg_error(ctx, key, "bad check name '%s' (1-63 of A-Z a-z 0-9 _ . -)", c->name);
    c->line = cfg_line(key);
    if (cfg_expect_map(ctx, map, "a check") < 0 || cfg_check_keys(ctx, map, check_keys) < 0)
        return -1;
    if (cfg_str(ctx, map, "type", true, NULL, type, sizeof type) < 0)
        return -1;
    if (strcmp(type, "tcp") == 0)
        c->type = HC_TCP;
    else if (strcmp(type, "http") == 0)
        c->type = HC_HTTP;
    else if (strcmp(type, "https") == 0)
        c->type = HC_HTTPS;
    else if (strcmp(type, "dns") == 0)
        c->type = HC_DNS;
    else
        return cfg_error(ctx, cfg_get(map, "type"), "check '%s': type must be tcp, http, https or dns", c->name);

    struct timing t;
    if (parse_timing(ctx, map, dflt, &t) < 0)
        return -1;
    c->interval_ms = (uint32_t)t.interval;
    c->timeout_ms = (uint32_t)(t.timeout_set ? t.timeout : (t.interval < t.timeout ? t.interval : t.timeout));
    c->jitter_ms = (uint32_t)t.jitter;
    c->fast_ms = (uint32_t)(t.fast_set ? t.fast : (t.interval < t.fast ? t.interval : t.fast));
    if (c->fast_ms > c->interval_ms)
        return cfg_error(ctx, cfg_get(map, "fast_interval"), "check '%s': fast_interval %ums exceeds interval %ums",
                         c->name, c->fast_ms, c->interval_ms);
    c->rise = t.rise;
    c->fall = t.fall;
    c->max_body = (uint32_t)t.max_body;
    if (c->timeout_ms > c->interval_ms)
        return cfg_error(ctx, cfg_get(map, "timeout"), "check '%s': timeout %ums exceeds interval %ums",
                         c->name, c->timeout_ms, c->interval_ms);
    if (c->jitter_ms * 2 > c->interval_ms)
        return cfg_error(ctx, cfg_get(map, "jitter") ? cfg_get(map, "jitter") : key,
                         "check '%s': jitter %ums exceeds half the interval %ums", c->name, c->jitter_ms,
                         c->interval_ms);

    switch (c->type) {
    case HC_TCP:
        if (reject_keys(ctx, map, http_only, type) < 0 || reject_keys(ctx, map, https_only, type) < 0 ||
            reject_keys(ctx, map, dns_only, type) < 0)
            return -1;
        return parse_target(ctx, map, c, true, 0);
    case HC_HTTP:
        if (reject_keys(ctx, map, https_only, type) < 0 || reject_keys(ctx, map, dns_only, type) < 0)
            return -1;
        return parse_http(ctx, map, c);
    case HC_HTTPS:
        if (reject_keys(ctx, map, dns_only, type) < 0)
            return -1;
        return parse_http(ctx, map, c);
    case HC_DNS:
        if (reject_keys(ctx, map, http_only, type) < 0 || reject_keys(ctx, map, https_only, type) < 0 ||
            reject_keys(ctx, map, tcp_http_only, type) < 0)
            return -1;
        return parse_dns(ctx, map, c);
    }
    return -1;
}

/* `key:` with nothing (or ~ / null) after it: treated like an absent key. */
static struct fy_node *get_section(struct fy_node *map, const char *key)
{
    struct fy_node *n = cfg_get(map, key);
    if (!n || !cfg_is_scalar(n))
        return n;
    size_t len = 0;
    const char *s = fy_node_get_scalar(n, &len);
    if (!s || len == 0 || (len == 1 && s[0] == '~') || (len == 4 && memcmp(s, "null", 4) == 0))
        return NULL;
    return n;
}

/* ---- API ------------------------------------------------------------- */

int health_config_empty(struct health_config **out)
{
    struct health_config *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->publish_delay_ms = HEALTH_DFLT_PUBLISH_MS;
    *out = c;
    return 0;
}

static const char *const health_keys[] = { "defaults", "publish_delay", "state_file", "checks", NULL };
static const char *const default_keys[] = { "interval", "timeout", "jitter", "rise", "fall", "max_body",
                                            "fast_interval", NULL };

int health_config_parse(struct cfg_ctx *ctx, struct health_config **out)
{
    struct health_config *c;
    *out = NULL;
    if (health_config_empty(&c) < 0)
        return cfg_error(ctx, NULL, "out of memory");
    struct fy_node *h = get_section(cfg_root(ctx), "health");
    if (!h) {
        *out = c;
        return 0;
    }
    struct timing dflt = { HEALTH_DFLT_INTERVAL_MS, HEALTH_DFLT_TIMEOUT_MS, HEALTH_DFLT_JITTER_MS,
                           HEALTH_DFLT_MAX_BODY, HEALTH_DFLT_FAST_MS, HEALTH_DFLT_RISE, HEALTH_DFLT_FALL,
                           false, false };
    uint64_t pub;
    if (cfg_expect_map(ctx, h, "health") < 0 || cfg_check_keys(ctx, h, health_keys) < 0)
        goto fail;
    struct fy_node *d = get_section(h, "defaults");
    if (d) {
        struct timing t;
        if (cfg_expect_map(ctx, d, "health.defaults") < 0 || cfg_check_keys(ctx, d, default_keys) < 0 ||
            parse_timing(ctx, d, &dflt, &t) < 0)
            goto fail;
        dflt = t;
    }
    if (cfg_duration_ms(ctx, h, "publish_delay", false, 0, 10000, HEALTH_DFLT_PUBLISH_MS, &pub) < 0)
        goto fail;
    c->publish_delay_ms = (uint32_t)pub;
    if (cfg_get(h, "state_file")) {
        char raw[HC_FILE_MAX];
        if (cfg_str(ctx, h, "state_file", true, NULL, raw, sizeof raw) < 0 ||
            cfg_path(ctx, cfg_get(h, "state_file"), raw, c->state_file, sizeof c->state_file) < 0)
            goto fail;
    }
    struct fy_node *checks = get_section(h, "checks");
    if (!checks) {
        *out = c;
        return 0;
    }
    if (cfg_expect_map(ctx, checks, "health.checks") < 0)
        goto fail;
    int n = fy_node_mapping_item_count(checks);
    if (n < 0 || n > MAX_CHECKS) {
        cfg_error(ctx, checks, "too many checks (max %d)", MAX_CHECKS);
        goto fail;
    }
    c->checks = calloc((size_t)n + 1, sizeof *c->checks);
    if (!c->checks) {
        cfg_error(ctx, checks, "out of memory");
        goto fail;
    }
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(checks, &it)) != NULL) {
        struct health_check_cfg *cc = &c->checks[c->nchecks];
        if (parse_check(ctx, fy_node_pair_key(p), fy_node_pair_value(p), &dflt, cc) < 0)
            goto fail;
        if (health_config_find(c, cc->name)) {
            cfg_error(ctx, fy_node_pair_key(p), "duplicate check name '%s'", cc->name);
            goto fail;
        }
        c->nchecks++;
    }
    *out = c;
    return 0;
fail:
    health_config_free(&c);
    return -1;
}

void health_config_free(struct health_config **cfg)
{
    if (!*cfg)
        return;
    free((*cfg)->checks);
    free(*cfg);
    *cfg = NULL;
}

const struct health_check_cfg *health_config_find(const struct health_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nchecks; i++)
        if (strcmp(cfg->checks[i].name, name) == 0)
            return &cfg->checks[i];
    return NULL;
}
