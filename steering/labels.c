/* steering/labels.c: the observers' read-only view of a compiled policy
 * (see labels.h). */
#include "steering/labels.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "steering/internal.h"

/* ------------------------------------------------------------ helpers */

static const struct srule *rule_at(const struct steer_name *n, size_t r)
{
    return r < n->nrules ? &n->rules[r] : NULL;
}

static const struct spool *pool_at(const struct steer_name *n, size_t pool)
{
    return pool < n->npools ? &n->pools[pool] : NULL;
}

/* Appends printf output to buf (size > 0) at *o, keeping it terminated;
 * output that does not fit is cut and *o stops at size - 1. */
__attribute__((format(printf, 4, 5))) static void append(char *buf, size_t size, size_t *o, const char *fmt, ...)
{
    if (*o >= size - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *o, size - *o, fmt, ap);
    va_end(ap);
    if (w > 0)
        *o = (size_t)w < size - *o ? *o + (size_t)w : size - 1;
}

/* Separator before value i of a key: the key's name before the first value
 * (after a space unless it starts the text), a comma between values. */
static const char *key_sep(size_t i, size_t o, const char *first, const char *later)
{
    return i ? "," : o ? later : first;
}

/* ------------------------------------------------------------ names */

size_t steer_name_index(const struct steer_policy *p, const struct steer_name *n)
{
    return (size_t)(n - p->names);
}

size_t steer_name_rule_count(const struct steer_name *n)
{
    return n->nrules;
}

uint32_t steer_name_degraded_ttl(const struct steer_name *n)
{
    return n->degraded_ttl;
}

/* ------------------------------------------------------------ rules */

bool steer_rule_is_default(const struct steer_name *n, size_t r)
{
    const struct srule *ru = rule_at(n, r);
    return ru && ru->is_default;
}

const char *steer_rule_first_pool(const struct steer_name *n, size_t r)
{
    const struct srule *ru = rule_at(n, r);
    if (!ru || !ru->nchain || ru->chain[0] >= n->npools)
        return "";
    return n->pools[ru->chain[0]].name;
}

size_t steer_rule_label(const struct steer_name *n, size_t r, char *buf, size_t size)
{
    int w;
    if (r >= n->nrules)
        w = snprintf(buf, size, "%s", "");
    else if (n->rules[r].is_default)
        w = snprintf(buf, size, "default");
    else {
        const char *first = steer_rule_first_pool(n, r);
        /* a non-default rule starting with a pool called "default" would
         * collide with the default rule's label (and /metrics would sum the
         * two), so it always gets "default#r" */
        bool dup = !strcmp(first, "default");
        for (size_t q = 0; q < r && !dup; q++)   /* r < STEER_MAX_RULES */
            dup = !strcmp(steer_rule_first_pool(n, q), first);
        w = dup ? snprintf(buf, size, "%s#%zu", first, r) : snprintf(buf, size, "%s", first);
    }
    return w > 0 ? (size_t)w : 0;
}

void steer_rule_keys(const struct steer_name *n, size_t r, struct steer_rule_keys *out)
{
    const struct srule *ru = rule_at(n, r);
    memset(out, 0, sizeof *out);
    if (!ru)
        return;
    out->continents = ru->ncont;
    out->countries = ru->ncountry;
    out->subdivisions = ru->nsub;
    out->asns = ru->nasn;
    out->cidrs = ru->ncidr;
}

const char *steer_rule_continent(const struct steer_name *n, size_t r, size_t k)
{
    const struct srule *ru = rule_at(n, r);
    return ru && k < ru->ncont ? ru->cont[k] : "";
}

size_t steer_rule_match_text(const struct steer_name *n, size_t r, char *buf, size_t size)
{
    const struct srule *ru = rule_at(n, r);
    size_t o = 0;
    if (!size)
        return 0;
    buf[0] = '\0';
    if (!ru)
        return 0;
    if (ru->is_default) {
        append(buf, size, &o, "default");
        return o;
    }
    for (size_t i = 0; i < ru->ncont; i++)
        append(buf, size, &o, "%s%s", key_sep(i, o, "continent ", " continent "), ru->cont[i]);
    for (size_t i = 0; i < ru->ncountry; i++)
        append(buf, size, &o, "%s%s", key_sep(i, o, "country ", " country "), ru->country[i]);
    for (size_t i = 0; i < ru->nsub; i++)
        append(buf, size, &o, "%s%s-%s", key_sep(i, o, "subdivision ", " subdivision "), ru->sub[i].cc,
               ru->sub[i].sub);
    for (size_t i = 0; i < ru->nasn; i++)
        append(buf, size, &o, "%s%u", key_sep(i, o, "asn ", " asn "), ru->asn[i]);
    for (size_t i = 0; i < ru->ncidr; i++) {
        char t[64];   /* an IPv6 prefix in text is at most 43 characters */
        net_prefix_format(&ru->cidr[i], t, sizeof t);
        append(buf, size, &o, "%s%s", key_sep(i, o, "cidr ", " cidr "), t);
    }
    return o;
}

size_t steer_rule_chain_length(const struct steer_name *n, size_t r)
{
    const struct srule *ru = rule_at(n, r);
    return ru ? ru->nchain : 0;
}

int steer_rule_chain_pool(const struct steer_name *n, size_t r, size_t k)
{
    const struct srule *ru = rule_at(n, r);
    if (!ru || k >= ru->nchain || k >= STEER_MAX_CHAIN || ru->chain[k] >= n->npools)
        return -1;
    return ru->chain[k];
}

/* ------------------------------------------------------------ pools */

size_t steer_name_pool_count(const struct steer_name *n)
{
    return n->npools;
}

const char *steer_pool_name(const struct steer_name *n, size_t pool)
{
    const struct spool *pl = pool_at(n, pool);
    return pl ? pl->name : "";
}

enum steer_policy_kind steer_pool_kind(const struct steer_name *n, size_t pool)
{
    const struct spool *pl = pool_at(n, pool);
    return pl ? pl->kind : STEER_POL_WEIGHTED;
}

const char *steer_policy_kind_name(enum steer_policy_kind k)
{
    switch (k) {
    case STEER_POL_WEIGHTED: return "weighted";
    case STEER_POL_CLOSEST: return "closest";
    case STEER_POL_FAILOVER: return "failover";
    case STEER_POL_RUM: return "rum";
    }
    return "?";
}

int steer_pool_fallback(const struct steer_name *n, size_t pool)
{
    const struct spool *pl = pool_at(n, pool);
    if (!pl || pl->fallback < 0 || (size_t)pl->fallback >= n->npools)
        return -1;
    return pl->fallback;
}

size_t steer_pool_member_count(const struct steer_name *n, size_t pool)
{
    const struct spool *pl = pool_at(n, pool);
    return pl ? pl->nmem : 0;
}

uint16_t steer_pool_member(const struct steer_name *n, size_t pool, size_t k, uint32_t *weight)
{
    const struct spool *pl = pool_at(n, pool);
    if (!pl || k >= pl->nmem) {
        *weight = 0;
        return 0;
    }
    *weight = pl->mem[k].weight;
    return pl->mem[k].prov;
}
