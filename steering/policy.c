/* steering/policy.c: compiles the geo:, providers:, steering: and flatten:
 * sections into an immutable steer_policy, and its accessors. */
#include <ctype.h>
#include <fcntl.h>
#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/cfg.h"
#include "steering/internal.h"

/* ------------------------------------------------------------- helpers */

uint64_t steer_hash_bytes(const void *data, size_t len, uint64_t seed)
{
    /* FNV-1a over the bytes, then a 64-bit avalanche finalizer */
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

int steer_name_to_wire(const char *text, uint8_t *wire, size_t size)
{
    size_t tlen = strlen(text), w = 0;
    if (tlen == 0)
        return -1;
    if (tlen == 1 && text[0] == '.') {
        if (size < 1)
            return -1;
        wire[0] = 0;
        return 1;
    }
    const char *p = text, *end = text + tlen;
    if (end[-1] == '.')
        end--;
    while (p < end) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        size_t l = (size_t)((dot ? dot : end) - p);
        if (l == 0 || l > 63 || w + 1 + l + 1 > size || w + 1 + l + 1 > 255)
            return -1;
        wire[w++] = (uint8_t)l;
        for (size_t i = 0; i < l; i++) {
            unsigned char ch = (unsigned char)p[i];
            if (!(isalnum(ch) || ch == '-' || ch == '_'))
                return -1;
            wire[w++] = (uint8_t)tolower(ch);
        }
        p += l + (dot ? 1 : 0);
    }
    wire[w++] = 0;
    return (int)w;
}

static bool valid_ident(const char *s)
{
    if (!*s || strlen(s) >= STEER_NAME_MAX)
        return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '-' || *s == '_' || *s == '.'))
            return false;
    return true;
}

static uint64_t random_u64(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)getpid();
    }
    return v;
}

/* Pair key of a mapping iteration as text (must be a short scalar). */
static int pair_key(struct cfg_ctx *ctx, struct fy_node_pair *pr, char *buf, size_t size, struct fy_node **at)
{
    *at = fy_node_pair_key(pr);
    return cfg_scalar(ctx, *at, buf, size);
}

/* A value that may be a scalar or a list of scalars: calls fn per item. */
typedef int (*item_fn)(struct cfg_ctx *ctx, struct fy_node *at, const char *s, void *arg);
static int each_item(struct cfg_ctx *ctx, struct fy_node *v, item_fn fn, void *arg, size_t *count)
{
    char buf[128];
    *count = 0;
    if (cfg_is_scalar(v)) {
        if (cfg_scalar(ctx, v, buf, sizeof buf) < 0 || fn(ctx, v, buf, arg) < 0)
            return -1;
        *count = 1;
        return 0;
    }
    if (!cfg_is_seq(v))
        return cfg_error(ctx, v, "expected a value or a list of values");
    int n = fy_node_sequence_item_count(v);
    if (n == 0)
        return cfg_error(ctx, v, "empty list");
    if (n > STEER_MAX_VALUES)
        return cfg_error(ctx, v, "too many values (%d, max %d)", n, STEER_MAX_VALUES);
    for (int i = 0; i < n; i++) {
        struct fy_node *it = fy_node_sequence_get_by_index(v, i);
        if (cfg_scalar(ctx, it, buf, sizeof buf) < 0 || fn(ctx, it, buf, arg) < 0)
            return -1;
        (*count)++;
    }
    return 0;
}

static size_t item_count(struct fy_node *v)
{
    int n = cfg_is_seq(v) ? fy_node_sequence_item_count(v) : 1;
    return n > 0 ? (size_t)n : 1;   /* never calloc(0): each_item reports empty lists */
}

/* ----------------------------------------------------------- providers */

struct addr_arg { struct sprov *pv; int family; };

static int add_addr(struct cfg_ctx *ctx, struct fy_node *at, const char *s, void *arg)
{
    struct addr_arg *a = arg;
    struct net_addr na;
    if (net_addr_parse(s, &na) < 0 || na.family != a->family)
        return cfg_error(ctx, at, "invalid IPv%d address '%s'", a->family, s);
    uint8_t *n = a->family == 4 ? &a->pv->n4 : &a->pv->n6;
    if (*n >= STEER_MAX_ADDRS)
        return cfg_error(ctx, at, "too many IPv%d addresses (max %d)", a->family, STEER_MAX_ADDRS);
    if (a->family == 4)
        memcpy(a->pv->v4[(*n)++], na.bytes, 4);
    else
        memcpy(a->pv->v6[(*n)++], na.bytes, 16);
    return 0;
}

static int add_check(struct cfg_ctx *ctx, struct fy_node *at, const char *s, void *arg)
{
    struct sprov *pv = arg;
    if (!valid_ident(s))
        return cfg_error(ctx, at, "invalid check name '%s'", s);
    if (pv->nchecks >= STEER_MAX_CHECKS)
        return cfg_error(ctx, at, "too many checks (max %d)", STEER_MAX_CHECKS);
    snprintf(pv->checks[pv->nchecks++], STEER_NAME_MAX, "%s", s);
    return 0;
}

static int compile_provider(struct cfg_ctx *ctx, struct fy_node *key, struct fy_node *n, struct sprov *pv)
{
    static const char *const keys[] = { "type", "ipv4", "ipv6", "lat", "lon", "cname", "checks", NULL };
    if (cfg_expect_map(ctx, n, "a provider") < 0 || cfg_check_keys(ctx, n, keys) < 0)
        return -1;
    char buf[256];
    if (cfg_str(ctx, n, "type", true, NULL, buf, sizeof buf) < 0)
        return -1;
    if (!strcmp(buf, "pop"))
        pv->type = STEER_PROV_POP;
    else if (!strcmp(buf, "cdn"))
        pv->type = STEER_PROV_CDN;
    else
        return cfg_error(ctx, cfg_get(n, "type"), "provider type must be pop or cdn, not '%s'", buf);
    struct fy_node *v4 = cfg_get(n, "ipv4"), *v6 = cfg_get(n, "ipv6"), *lat = cfg_get(n, "lat"),
                   *lon = cfg_get(n, "lon"), *cname = cfg_get(n, "cname"), *checks = cfg_get(n, "checks");
    size_t cnt;
    if (pv->type == STEER_PROV_POP) {
        if (cname)
            return cfg_error(ctx, cname, "a pop has addresses, not a cname (use type: cdn)");
        struct addr_arg a4 = { pv, 4 }, a6 = { pv, 6 };
        if ((v4 && each_item(ctx, v4, add_addr, &a4, &cnt) < 0) || (v6 && each_item(ctx, v6, add_addr, &a6, &cnt) < 0))
            return -1;
        if (pv->n4 + pv->n6 == 0)
            return cfg_error(ctx, n, "provider '%s' (pop) needs ipv4 and/or ipv6 addresses", pv->name);
        if (!!lat != !!lon)
            return cfg_error(ctx, lat ? lat : lon, "lat and lon must be given together");
        if (lat) {
            if (cfg_double(ctx, n, "lat", true, -90, 90, 0, &pv->lat) < 0 ||
                cfg_double(ctx, n, "lon", true, -180, 180, 0, &pv->lon) < 0)
                return -1;
            pv->has_coords = true;
        }
    } else {
        if (v4 || v6 || lat || lon)
            return cfg_error(ctx, v4 ? v4 : v6 ? v6 : lat ? lat : lon,
                             "a cdn is reached by cname; addresses and coordinates belong to pops");
        if (cfg_str(ctx, n, "cname", true, NULL, buf, sizeof buf - 1) < 0)
            return -1;
        int w = steer_name_to_wire(buf, pv->cname_wire, sizeof pv->cname_wire);
        if (w <= 1)
            return cfg_error(ctx, cfg_get(n, "cname"), "invalid cname target '%s'", buf);
        pv->cname_len = (size_t)w;
        size_t l = strlen(buf);
        for (size_t i = 0; i < l; i++)
            buf[i] = (char)tolower((unsigned char)buf[i]);
        snprintf(pv->cname, sizeof pv->cname, "%s%s", buf, buf[l - 1] == '.' ? "" : ".");
    }
    if (checks) {
        pv->checks = calloc(item_count(checks), sizeof *pv->checks);
        if (!pv->checks)
            return cfg_error(ctx, checks, "out of memory");
        if (each_item(ctx, checks, add_check, pv, &cnt) < 0)
            return -1;
    }
    (void)key;
    return 0;
}

static int compile_providers(struct cfg_ctx *ctx, struct fy_node *provs, struct steer_policy *p)
{
    if (!provs)
        return cfg_error(ctx, NULL, "missing 'providers' section");
    if (cfg_expect_map(ctx, provs, "'providers'") < 0)
        return -1;
    int n = fy_node_mapping_item_count(provs);
    if (n <= 0)
        return cfg_error(ctx, provs, "'providers' is empty");
    if (n > STEER_MAX_PROVIDERS)
        return cfg_error(ctx, provs, "too many providers (%d, max %d)", n, STEER_MAX_PROVIDERS);
    p->prov = calloc((size_t)n, sizeof *p->prov);
    if (!p->prov)
        return cfg_error(ctx, provs, "out of memory");
    void *it = NULL;
    struct fy_node_pair *pr;
    while ((pr = fy_node_mapping_iterate(provs, &it))) {
        struct sprov *pv = &p->prov[p->nprov];
        struct fy_node *key;
        if (pair_key(ctx, pr, pv->name, sizeof pv->name, &key) < 0)
            return -1;
        if (!valid_ident(pv->name))
            return cfg_error(ctx, key, "invalid provider name '%s' (letters, digits, - _ .)", pv->name);
        for (size_t j = 0; j < p->nprov; j++)
            if (!strcmp(p->prov[j].name, pv->name))
                return cfg_error(ctx, key, "duplicate provider '%s'", pv->name);
        pv->hash = steer_hash_bytes(pv->name, strlen(pv->name), 0x70726f76ULL);
        p->nprov++;   /* counted before compiling so that free() sees its checks */
        if (compile_provider(ctx, key, fy_node_pair_value(pr), pv) < 0)
            return -1;
    }
    return 0;
}

/* --------------------------------------------------------------- pools */

static int find_prov(const struct steer_policy *p, const char *name)
{
    for (size_t i = 0; i < p->nprov; i++)
        if (!strcmp(p->prov[i].name, name))
            return (int)i;
    return -1;
}

static int find_pool(const struct steer_name *nm, const char *name)
{
    for (size_t i = 0; i < nm->npools; i++)
        if (!strcmp(nm->pools[i].name, name))
            return (int)i;
    return -1;
}

static int add_member(struct cfg_ctx *ctx, struct steer_policy *p, struct spool *pl, struct fy_node *at,
                      const char *name, uint32_t weight)
{
    int id = find_prov(p, name);
    if (id < 0)
        return cfg_error(ctx, at, "pool '%s': unknown provider '%s'", pl->name, name);
    for (size_t j = 0; j < pl->nmem; j++)
        if (pl->mem[j].prov == id)
            return cfg_error(ctx, at, "pool '%s': provider '%s' listed twice", pl->name, name);
    pl->mem[pl->nmem].prov = (uint16_t)id;
    pl->mem[pl->nmem].weight = weight;
    pl->nmem++;
    return 0;
}

static int compile_members(struct cfg_ctx *ctx, struct steer_policy *p, struct spool *pl, struct fy_node *m)
{
    if (!m)
        return cfg_error(ctx, NULL, "pool '%s': missing 'members'", pl->name);
    size_t n = cfg_is_map(m) ? (size_t)fy_node_mapping_item_count(m) : cfg_is_seq(m) ? (size_t)fy_node_sequence_item_count(m) : 0;
    if (!cfg_is_map(m) && !cfg_is_seq(m))
        return cfg_error(ctx, m, "pool '%s': members must be a mapping provider: weight, or a list", pl->name);
    if (n == 0)
        return cfg_error(ctx, m, "pool '%s' has no members", pl->name);
    if (n > STEER_MAX_MEMBERS)
        return cfg_error(ctx, m, "pool '%s' has too many members (%zu, max %d)", pl->name, n, STEER_MAX_MEMBERS);
    pl->mem = calloc(n, sizeof *pl->mem);
    if (!pl->mem)
        return cfg_error(ctx, m, "out of memory");
    char name[STEER_NAME_MAX + 1];
    if (cfg_is_seq(m)) {
        for (size_t i = 0; i < n; i++) {
            struct fy_node *it = fy_node_sequence_get_by_index(m, (int)i);
            if (cfg_scalar(ctx, it, name, sizeof name) < 0 || add_member(ctx, p, pl, it, name, 1) < 0)
                return -1;
        }
        return 0;
    }
    void *iter = NULL;
    struct fy_node_pair *pr;
    while ((pr = fy_node_mapping_iterate(m, &iter))) {
        struct fy_node *key;
        if (pair_key(ctx, pr, name, sizeof name, &key) < 0)
            return -1;
        char wbuf[32];
        uint64_t w;
        struct fy_node *v = fy_node_pair_value(pr);
        if (cfg_scalar(ctx, v, wbuf, sizeof wbuf) < 0)
            return -1;
        if (parse_u64(wbuf, 1, STEER_WEIGHT_MAX, &w) < 0)
            return cfg_error(ctx, v, "pool '%s': weight of '%s' must be an integer from 1 to %u, not '%s'",
                             pl->name, name, STEER_WEIGHT_MAX, wbuf);
        if (add_member(ctx, p, pl, key, name, (uint32_t)w) < 0)
            return -1;
    }
    return 0;
}

static int compile_pools(struct cfg_ctx *ctx, struct steer_policy *p, struct steer_name *nm, struct fy_node *pools)
{
    static const char *const keys[] = { "policy", "members", "fallback", NULL };
    if (!pools)
        return cfg_error(ctx, NULL, "steered name '%s': missing 'pools'", nm->text);
    if (cfg_expect_map(ctx, pools, "'pools'") < 0)
        return -1;
    int n = fy_node_mapping_item_count(pools);
    if (n <= 0)
        return cfg_error(ctx, pools, "steered name '%s': 'pools' is empty", nm->text);
    if (n > STEER_MAX_POOLS)
        return cfg_error(ctx, pools, "steered name '%s': too many pools (%d, max %d)", nm->text, n, STEER_MAX_POOLS);
    nm->pools = calloc((size_t)n, sizeof *nm->pools);
    if (!nm->pools)
        return cfg_error(ctx, pools, "out of memory");
    struct fy_node *fbnode[STEER_MAX_POOLS] = { 0 };
    void *it = NULL;
    struct fy_node_pair *pr;
    while ((pr = fy_node_mapping_iterate(pools, &it))) {
        struct spool *pl = &nm->pools[nm->npools];
        struct fy_node *key, *v = fy_node_pair_value(pr);
        pl->fallback = -1;
        if (pair_key(ctx, pr, pl->name, sizeof pl->name, &key) < 0)
            return -1;
        if (!valid_ident(pl->name))
            return cfg_error(ctx, key, "invalid pool name '%s'", pl->name);
        if (find_pool(nm, pl->name) >= 0)
            return cfg_error(ctx, key, "duplicate pool '%s'", pl->name);
        nm->npools++;
        if (cfg_expect_map(ctx, v, "a pool") < 0 || cfg_check_keys(ctx, v, keys) < 0)
            return -1;
        char buf[32];
        if (cfg_str(ctx, v, "policy", false, "weighted", buf, sizeof buf) < 0)
            return -1;
        if (!strcmp(buf, "weighted")) pl->kind = STEER_POL_WEIGHTED;
        else if (!strcmp(buf, "closest")) pl->kind = STEER_POL_CLOSEST;
        else if (!strcmp(buf, "failover")) pl->kind = STEER_POL_FAILOVER;
        else if (!strcmp(buf, "rum")) pl->kind = STEER_POL_RUM;
        else
            return cfg_error(ctx, cfg_get(v, "policy"), "pool '%s': policy must be weighted, closest, failover or rum, not '%s'",
                             pl->name, buf);
        if (compile_members(ctx, p, pl, cfg_get(v, "members")) < 0)
            return -1;
        if (pl->kind == STEER_POL_CLOSEST)
            for (size_t i = 0; i < pl->nmem; i++) {
                const struct sprov *pv = &p->prov[pl->mem[i].prov];
                if (pv->type == STEER_PROV_POP && !pv->has_coords)
                    return cfg_error(ctx, cfg_get(v, "members"), "pool '%s' (closest): pop '%s' has no lat/lon",
                                     pl->name, pv->name);
            }
        fbnode[nm->npools - 1] = cfg_get(v, "fallback");
    }
    /* fallbacks, resolved once every pool is known; then cycle detection */
    for (size_t i = 0; i < nm->npools; i++) {
        if (!fbnode[i])
            continue;
        char buf[STEER_NAME_MAX + 1];
        if (cfg_scalar(ctx, fbnode[i], buf, sizeof buf) < 0)
            return -1;
        int f = find_pool(nm, buf);
        if (f < 0)
            return cfg_error(ctx, fbnode[i], "pool '%s': unknown fallback pool '%s'", nm->pools[i].name, buf);
        nm->pools[i].fallback = f;
    }
    for (size_t i = 0; i < nm->npools; i++) {
        int cur = (int)i;
        for (size_t steps = 0; cur >= 0; steps++) {
            cur = nm->pools[cur].fallback;
            if (cur == (int)i || steps > nm->npools)
                return cfg_error(ctx, fbnode[i], "pool '%s': fallback chain is a cycle", nm->pools[i].name);
        }
    }
    return 0;
}

/* --------------------------------------------------------------- rules */

static int add_cont(struct cfg_ctx *ctx, struct fy_node *at, const char *s, void *arg)
{
    struct srule *r = arg;
    char c[3];
    if (strlen(s) != 2)
        return cfg_error(ctx, at, "unknown continent code '%s' (AF AN AS EU NA OC SA)", s);
    c[0] = (char)toupper((unsigned char)s[0]);
    c[1] = (char)toupper((unsigned char)s[1]);
    c[2] = 0;
    if (!geo_valid_continent(c))
        return cfg_error(ctx, at, "unknown continent code '%s' (AF AN AS EU NA OC SA)", s);
    memcpy(r->cont[r->ncont++], c, 3);
    r->cont_mask |= geo_continent_bit(c);
    return 0;
}

static int add_country(struct cfg_ctx *ctx, struct fy_node *at, const char *s, void *arg)
{
    struct srule *r = arg;
    if (strlen(s) != 2 || !isalpha((unsigned char)s[0]) || !isalpha((unsigned char)s[1]))
        return cfg_error(ctx, at, "country must be an ISO 3166-1 alpha-2 code, not '%s'", s);
    r->country[r->ncountry][0] = (char)toupper((unsigned char)s[0]);
    r->country[r->ncountry][1] = (char)toupper((unsigned char)s[1]);
    r->country[r->ncountry][2] = 0;
    r->ncountry++;
    return 0;
}

static int add_sub(struct cfg_ctx *ctx, struct fy_node *at, const char *s, void *arg)
{
    struct srule *r = arg;
    const char *dash = strchr(s, '-');
    size_t sl = dash ? strlen(dash + 1) : 0;
    if (!dash || dash - s != 2 || sl < 1 || sl > 3)
        return cfg_error(ctx, at, "subdivision must be an ISO 3166-2 code like US-CA, not '%s'", s);
    struct ssub *d = &r->sub[r->nsub];
    for (int i = 0; i < 2; i++) {
        if (!isalpha((unsigned char)s[i]))
            return cfg_error(ctx, at, "subdivision must be an ISO 3166-2 code like US-CA, not '%s'", s);
        d->cc[i] = (char)toupper((unsigned char)s[i]);
    }
    for (size_t i = 0; i < sl; i++) {
        if (!isalnum((unsigned char)dash[1 + i]))
            return cfg_error(ctx, at, "subdivision must be an ISO 3166-2 code like US-CA, not '%s'", s);
        d->sub[i] = (char)toupper((unsigned char)dash[1 + i]);
    }
    r->nsub++;
    return 0;
}

static int add_asn(struct cfg_ctx *ctx, struct fy_node *at, const char *s, void *arg)
{
    struct srule *r = arg;
    uint64_t v;
    const char *d = (!strncasecmp(s, "AS", 2)) ? s + 2 : s;
    if (parse_u64(d, 1, UINT32_MAX, &v) < 0)
        return cfg_error(ctx, at, "invalid ASN '%s'", s);
    r->asn[r->nasn++] = (uint32_t)v;
    return 0;
}

static int add_cidr(struct cfg_ctx *ctx, struct fy_node *at, const char *s, void *arg)
{
    struct srule *r = arg;
    if (net_prefix_parse(s, false, &r->cidr[r->ncidr]) < 0)
        return cfg_error(ctx, at, "invalid CIDR prefix '%s' (host bits must be zero)", s);
    r->ncidr++;
    return 0;
}

static int compile_match(struct cfg_ctx *ctx, struct fy_node *m, struct srule *r)
{
    static const char *const keys[] = { "continent", "country", "subdivision", "asn", "cidr", NULL };
    if (cfg_is_scalar(m)) {
        char buf[16];
        if (cfg_scalar(ctx, m, buf, sizeof buf) < 0)
            return -1;
        if (strcmp(buf, "default"))
            return cfg_error(ctx, m, "match must be a mapping or 'default', not '%s'", buf);
        r->is_default = true;
        return 0;
    }
    if (cfg_expect_map(ctx, m, "'match'") < 0 || cfg_check_keys(ctx, m, keys) < 0)
        return -1;
    if (fy_node_mapping_item_count(m) == 0)
        return cfg_error(ctx, m, "empty match (use match: default)");
    struct fy_node *v;
    size_t cnt;
    if ((v = cfg_get(m, "continent"))) {
        if (!(r->cont = calloc(item_count(v), sizeof *r->cont)) || each_item(ctx, v, add_cont, r, &cnt) < 0)
            return cfg_error(ctx, v, "out of memory");
    }
    if ((v = cfg_get(m, "country"))) {
        if (!(r->country = calloc(item_count(v), sizeof *r->country)) || each_item(ctx, v, add_country, r, &cnt) < 0)
            return cfg_error(ctx, v, "out of memory");
    }
    if ((v = cfg_get(m, "subdivision"))) {
        if (!(r->sub = calloc(item_count(v), sizeof *r->sub)) || each_item(ctx, v, add_sub, r, &cnt) < 0)
            return cfg_error(ctx, v, "out of memory");
    }
    if ((v = cfg_get(m, "asn"))) {
        if (!(r->asn = calloc(item_count(v), sizeof *r->asn)) || each_item(ctx, v, add_asn, r, &cnt) < 0)
            return cfg_error(ctx, v, "out of memory");
    }
    if ((v = cfg_get(m, "cidr"))) {
        if (!(r->cidr = calloc(item_count(v), sizeof *r->cidr)) || each_item(ctx, v, add_cidr, r, &cnt) < 0)
            return cfg_error(ctx, v, "out of memory");
    }
    return 0;
}

/* Appends pool `pi` and its fallback chain to the rule's chain. */
static int chain_add(struct cfg_ctx *ctx, struct fy_node *at, const struct steer_name *nm, struct srule *r, int pi)
{
    for (; pi >= 0; pi = nm->pools[pi].fallback) {
        bool dup = false;
        for (unsigned j = 0; j < r->nchain; j++)
            dup |= r->chain[j] == pi;
        if (dup)
            continue;
        if (r->nchain >= STEER_MAX_CHAIN)
            return cfg_error(ctx, at, "too many pools for one rule (max %d with fallbacks)", STEER_MAX_CHAIN);
        r->chain[r->nchain++] = (uint16_t)pi;
    }
    return 0;
}

static int compile_rules(struct cfg_ctx *ctx, struct steer_name *nm, struct fy_node *rules)
{
    static const char *const keys[] = { "match", "pools", "pool", NULL };
    if (!rules)
        return cfg_error(ctx, NULL, "steered name '%s': missing 'rules'", nm->text);
    if (cfg_expect_seq(ctx, rules, "'rules'") < 0)
        return -1;
    int n = fy_node_sequence_item_count(rules);
    if (n <= 0)
        return cfg_error(ctx, rules, "steered name '%s': 'rules' is empty", nm->text);
    if (n > STEER_MAX_RULES)
        return cfg_error(ctx, rules, "steered name '%s': too many rules (%d, max %d)", nm->text, n, STEER_MAX_RULES);
    nm->rules = calloc((size_t)n, sizeof *nm->rules);
    if (!nm->rules)
        return cfg_error(ctx, rules, "out of memory");
    for (int i = 0; i < n; i++) {
        struct fy_node *it = fy_node_sequence_get_by_index(rules, i);
        struct srule *r = &nm->rules[nm->nrules++];
        if (cfg_expect_map(ctx, it, "a rule") < 0 || cfg_check_keys(ctx, it, keys) < 0)
            return -1;
        if (i > 0 && nm->rules[i - 1].is_default)
            return cfg_error(ctx, it, "rule after the default rule can never match");
        struct fy_node *m = cfg_get(it, "match");
        if (!m)
            return cfg_error(ctx, it, "rule without 'match' (use match: default)");
        if (compile_match(ctx, m, r) < 0)
            return -1;
        struct fy_node *pl = cfg_get(it, "pools");
        if (!pl)
            pl = cfg_get(it, "pool");
        if (!pl)
            return cfg_error(ctx, it, "rule without 'pools'");
        int np = (int)item_count(pl);
        if (cfg_is_seq(pl) && np == 0)
            return cfg_error(ctx, pl, "rule with an empty pool list");
        for (int j = 0; j < np; j++) {
            struct fy_node *pn = cfg_is_seq(pl) ? fy_node_sequence_get_by_index(pl, j) : pl;
            char buf[STEER_NAME_MAX + 1];
            if (cfg_scalar(ctx, pn, buf, sizeof buf) < 0)
                return -1;
            int pi = find_pool(nm, buf);
            if (pi < 0)
                return cfg_error(ctx, pn, "rule uses unknown pool '%s'", buf);
            if (chain_add(ctx, pn, nm, r, pi) < 0)
                return -1;
        }
    }
    if (!nm->rules[nm->nrules - 1].is_default)
        return cfg_error(ctx, rules, "steered name '%s' has no 'match: default' rule last", nm->text);
    return 0;
}

/* --------------------------------------------------------------- names */

static int compile_name(struct cfg_ctx *ctx, struct steer_policy *p, struct fy_node *n, struct steer_name *nm)
{
    static const char *const keys[] = { "name", "ttl", "degraded_ttl", "answers", "apex", "hash_prefix4",
                                        "hash_prefix6", "seed", "rules", "pools", NULL };
    if (cfg_expect_map(ctx, n, "a steered name") < 0 || cfg_check_keys(ctx, n, keys) < 0)
        return -1;
    nm->magic = STEER_NAME_MAGIC;
    char buf[300];
    if (cfg_str(ctx, n, "name", true, NULL, buf, sizeof buf) < 0)
        return -1;
    int w = steer_name_to_wire(buf, nm->wire, sizeof nm->wire);
    if (w <= 1)
        return cfg_error(ctx, cfg_get(n, "name"), "invalid steered name '%s'", buf);
    nm->wire_len = (size_t)w;
    size_t l = strlen(buf);
    for (size_t i = 0; i < l; i++)
        buf[i] = (char)tolower((unsigned char)buf[i]);
    snprintf(nm->text, sizeof nm->text, "%s%s", buf, buf[l - 1] == '.' ? "" : ".");
    for (size_t i = 0; i + 1 < p->nnames + 1 && &p->names[i] != nm; i++)
        if (p->names[i].wire_len == nm->wire_len && !memcmp(p->names[i].wire, nm->wire, nm->wire_len))
            return cfg_error(ctx, cfg_get(n, "name"), "duplicate steered name '%s'", nm->text);
    uint32_t u;
    uint64_t seed;
    /* TTLs: 1 s .. 1 day; default 30 s: short, so a steering change or a
     * failover reaches clients quickly. Degraded answers default to 10 s. */
    if (cfg_u32(ctx, n, "ttl", false, 1, 86400, 30, &nm->ttl) < 0 ||
        cfg_u32(ctx, n, "degraded_ttl", false, 1, 86400, nm->ttl < 10 ? nm->ttl : 10, &nm->degraded_ttl) < 0 ||
        cfg_u32(ctx, n, "answers", false, 1, STEER_MAX_ADDRS, 1, &u) < 0 ||
        cfg_bool(ctx, n, "apex", false, &nm->apex) < 0)
        return -1;
    nm->answers = u;
    if (nm->degraded_ttl > nm->ttl)
        nm->degraded_ttl = nm->ttl;
    if (cfg_u32(ctx, n, "hash_prefix4", false, 0, 32, 24, &u) < 0)
        return -1;
    nm->hash4 = (uint8_t)u;
    if (cfg_u32(ctx, n, "hash_prefix6", false, 0, 128, 56, &u) < 0)
        return -1;
    nm->hash6 = (uint8_t)u;
    if (cfg_u64(ctx, n, "seed", false, 0, UINT64_MAX, 0, &seed) < 0)
        return -1;
    nm->seed = cfg_get(n, "seed") ? seed : steer_hash_bytes(nm->wire, nm->wire_len, 0x6e616d65ULL);
    if (compile_pools(ctx, p, nm, cfg_get(n, "pools")) < 0 || compile_rules(ctx, nm, cfg_get(n, "rules")) < 0)
        return -1;
    return 0;
}

static int compile_flatten(struct cfg_ctx *ctx, struct fy_node *f, struct steer_flatten_cfg *fc)
{
    static const char *const keys[] = { "resolver", "min_ttl", "max_ttl", "retry", "timeout", NULL };
    uint64_t v;
    net_addr_parse("127.0.0.1", &fc->resolver);
    fc->port = 53;
    fc->min_ttl_ms = 5000;      /* never hammer the resolver for TTL-0 CDN records */
    fc->max_ttl_ms = 3600000;   /* notice CDN address changes within the hour at worst */
    fc->retry_ms = 2000;
    fc->timeout_ms = 2000;
    if (!f)
        return 0;
    if (cfg_expect_map(ctx, f, "'flatten'") < 0 || cfg_check_keys(ctx, f, keys) < 0)
        return -1;
    fc->configured = true;
    char buf[128];
    if (cfg_str(ctx, f, "resolver", false, "127.0.0.1:53", buf, sizeof buf) < 0)
        return -1;
    if (net_hostport_parse(buf, 53, &fc->resolver, &fc->port) < 0)
        return cfg_error(ctx, cfg_get(f, "resolver"), "invalid resolver address '%s' (ip or ip:port)", buf);
    if (cfg_duration_ms(ctx, f, "min_ttl", false, 0, 86400000, fc->min_ttl_ms, &v) < 0)
        return -1;
    fc->min_ttl_ms = (uint32_t)v;
    if (cfg_duration_ms(ctx, f, "max_ttl", false, 1000, 86400000, fc->max_ttl_ms, &v) < 0)
        return -1;
    fc->max_ttl_ms = (uint32_t)v;
    if (cfg_duration_ms(ctx, f, "retry", false, 100, 3600000, fc->retry_ms, &v) < 0)
        return -1;
    fc->retry_ms = (uint32_t)v;
    if (cfg_duration_ms(ctx, f, "timeout", false, 100, 60000, fc->timeout_ms, &v) < 0)
        return -1;
    fc->timeout_ms = (uint32_t)v;
    if (fc->min_ttl_ms > fc->max_ttl_ms)
        return cfg_error(ctx, f, "flatten: min_ttl is larger than max_ttl");
    return 0;
}

static void mark_flat(struct steer_policy *p)
{
    for (size_t i = 0; i < p->nprov; i++)
        p->prov[i].needs_flat = false;
    for (size_t i = 0; i < p->nnames; i++) {
        const struct steer_name *nm = &p->names[i];
        if (!nm->apex)
            continue;
        for (size_t j = 0; j < nm->npools; j++)
            for (size_t k = 0; k < nm->pools[j].nmem; k++) {
                struct sprov *pv = &p->prov[nm->pools[j].mem[k].prov];
                if (pv->type == STEER_PROV_CDN)
                    pv->needs_flat = true;
            }
    }
}

/* ----------------------------------------------------------------- API */

/* Dense ids for the `rum`-policy pools of every name, and the pool set the
 * RUM score table ranks (members' provider ids and config weights): the
 * table remembers incumbents per (bucket, pool id). Always allocated, so a
 * policy without rum pools hands the collector an empty set. Returns 0, -1
 * (out of memory) or -2 (more than RUM_MAX_POOLS rum pools). */
static int build_rum_pools(struct steer_policy *p)
{
    unsigned n = 0;
    for (size_t i = 0; i < p->nnames; i++)
        for (size_t j = 0; j < p->names[i].npools; j++)
            if (p->names[i].pools[j].kind == STEER_POL_RUM)
                p->names[i].pools[j].rum_id = n++;   /* < names * STEER_MAX_POOLS: fits */
    if (n > RUM_MAX_POOLS)
        return -2;
    p->rum_pools = rum_pool_set_new(n);
    if (!p->rum_pools)
        return -1;
    for (size_t i = 0; i < p->nnames; i++)
        for (size_t j = 0; j < p->names[i].npools; j++) {
            const struct spool *pl = &p->names[i].pools[j];
            if (pl->kind != STEER_POL_RUM)
                continue;
            struct rum_pool *rp = &p->rum_pools->pool[pl->rum_id];
            rp->n = (unsigned)pl->nmem;   /* <= STEER_MAX_MEMBERS = RUM_POOL_MAX */
            for (size_t k = 0; k < pl->nmem; k++) {
                rp->prov[k] = pl->mem[k].prov;
                rp->weight[k] = pl->mem[k].weight;
            }
        }
    return 0;
}

int steer_policy_compile(struct cfg_ctx *ctx, struct fy_node *root, struct steer_policy **out)
{
    *out = NULL;
    if (cfg_expect_map(ctx, root, "the configuration") < 0)
        return -1;
    struct steer_policy *p = calloc(1, sizeof *p);
    if (!p)
        return cfg_error(ctx, root, "out of memory");
    p->magic = STEER_POLICY_MAGIC;
    p->id = random_u64();
    if (geo_set_compile(ctx, cfg_get(root, "geo"), &p->geo) < 0 ||
        compile_providers(ctx, cfg_get(root, "providers"), p) < 0 ||
        compile_flatten(ctx, cfg_get(root, "flatten"), &p->fcfg) < 0)
        goto fail;
    struct fy_node *st = cfg_get(root, "steering");
    if (!st) {
        cfg_error(ctx, root, "missing 'steering' section");
        goto fail;
    }
    if (cfg_expect_seq(ctx, st, "'steering'") < 0)
        goto fail;
    int n = fy_node_sequence_item_count(st);
    if (n <= 0) {
        cfg_error(ctx, st, "'steering' is empty");
        goto fail;
    }
    p->names = calloc((size_t)n, sizeof *p->names);
    if (!p->names) {
        cfg_error(ctx, st, "out of memory");
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        p->nnames++;
        if (compile_name(ctx, p, fy_node_sequence_get_by_index(st, i), &p->names[i]) < 0)
            goto fail;
    }
    mark_flat(p);
    int rc = build_rum_pools(p);
    if (rc < 0) {
        if (rc == -2)
            cfg_error(ctx, st, "too many pools with policy rum (max %d over all names)", RUM_MAX_POOLS);
        else
            cfg_error(ctx, st, "out of memory");
        goto fail;
    }
    *out = p;
    return 0;
fail:
    steer_policy_free(&p);
    return -1;
}

static void free_name(struct steer_name *nm)
{
    for (size_t i = 0; i < nm->npools; i++)
        free(nm->pools[i].mem);
    for (size_t i = 0; i < nm->nrules; i++) {
        struct srule *r = &nm->rules[i];
        free(r->cont);
        free(r->country);
        free(r->sub);
        free(r->asn);
        free(r->cidr);
    }
    free(nm->pools);
    free(nm->rules);
    nm->magic = 0;
}

void steer_policy_free(struct steer_policy **pp)
{
    struct steer_policy *p = *pp;
    if (!p)
        return;
    for (size_t i = 0; i < p->nnames; i++)
        free_name(&p->names[i]);
    for (size_t i = 0; i < p->nprov; i++)
        free(p->prov[i].checks);
    free(p->names);
    free(p->prov);
    free(p->rum_pools);
    geo_set_free(&p->geo);
    p->magic = 0;
    free(p);
    *pp = NULL;
}

size_t steer_policy_name_count(const struct steer_policy *p) { return p->nnames; }
const struct steer_name *steer_policy_name(const struct steer_policy *p, size_t i)
{
    return i < p->nnames ? &p->names[i] : NULL;
}
const struct steer_name *steer_policy_find_name(const struct steer_policy *p, const uint8_t *wire, size_t len)
{
    for (size_t i = 0; i < p->nnames; i++)
        if (p->names[i].wire_len == len && !memcmp(p->names[i].wire, wire, len))
            return &p->names[i];
    return NULL;
}
const struct geo_set *steer_policy_geo(const struct steer_policy *p) { return p->geo; }
uint64_t steer_policy_id(const struct steer_policy *p) { return p->id; }
const struct rum_pool_set *steer_policy_rum_pools(const struct steer_policy *p) { return p->rum_pools; }

const uint8_t *steer_name_owner(const struct steer_name *n, size_t *len)
{
    *len = n->wire_len;
    return n->wire;
}
const char *steer_name_text(const struct steer_name *n) { return n->text; }
uint32_t steer_name_ttl(const struct steer_name *n) { return n->ttl; }
bool steer_name_is_apex(const struct steer_name *n) { return n->apex; }
void steer_name_set_apex(struct steer_policy *p, size_t i, bool apex)
{
    if (i >= p->nnames)
        return;
    p->names[i].apex = apex;
    mark_flat(p);
}

size_t steer_policy_provider_count(const struct steer_policy *p) { return p->nprov; }
const char *steer_provider_name(const struct steer_policy *p, size_t id) { return id < p->nprov ? p->prov[id].name : NULL; }
int steer_provider_find(const struct steer_policy *p, const char *name) { return find_prov(p, name); }
enum steer_prov_type steer_provider_type(const struct steer_policy *p, size_t id) { return p->prov[id].type; }
const uint8_t *steer_provider_addrs(const struct steer_policy *p, size_t id, int family, unsigned *n)
{
    const struct sprov *pv = &p->prov[id];
    *n = family == 4 ? pv->n4 : pv->n6;
    return *n ? (family == 4 ? pv->v4[0] : pv->v6[0]) : NULL;
}
const char *steer_provider_cname(const struct steer_policy *p, size_t id)
{
    return p->prov[id].type == STEER_PROV_CDN ? p->prov[id].cname : NULL;
}
const uint8_t *steer_provider_cname_wire(const struct steer_policy *p, size_t id, size_t *len)
{
    *len = p->prov[id].cname_len;
    return p->prov[id].type == STEER_PROV_CDN ? p->prov[id].cname_wire : NULL;
}
bool steer_provider_coords(const struct steer_policy *p, size_t id, double *lat, double *lon)
{
    *lat = p->prov[id].lat;
    *lon = p->prov[id].lon;
    return p->prov[id].has_coords;
}
size_t steer_provider_check_count(const struct steer_policy *p, size_t id) { return p->prov[id].nchecks; }
const char *steer_provider_check(const struct steer_policy *p, size_t id, size_t i) { return p->prov[id].checks[i]; }
const struct steer_flatten_cfg *steer_policy_flatten_cfg(const struct steer_policy *p) { return &p->fcfg; }
bool steer_provider_needs_flat(const struct steer_policy *p, size_t id) { return id < p->nprov && p->prov[id].needs_flat; }
