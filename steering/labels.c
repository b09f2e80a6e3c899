/* steering/labels.c: label accessors over a compiled policy (see labels.h). */
#include "steering/labels.h"

#include "steering/internal.h"

size_t steer_name_index(const struct steer_policy *p, const struct steer_name *n)
{
    return (size_t)(n - p->names);
}

size_t steer_name_rule_count(const struct steer_name *n)
{
    return n->nrules;
}

bool steer_rule_is_default(const struct steer_name *n, size_t r)
{
    return r < n->nrules && n->rules[r].is_default;
}

const char *steer_rule_first_pool(const struct steer_name *n, size_t r)
{
    if (r >= n->nrules || !n->rules[r].nchain)
        return "";
    return n->pools[n->rules[r].chain[0]].name;
}

size_t steer_name_pool_count(const struct steer_name *n)
{
    return n->npools;
}

const char *steer_pool_name(const struct steer_name *n, size_t pool)
{
    return pool < n->npools ? n->pools[pool].name : "";
}

size_t steer_pool_member_count(const struct steer_name *n, size_t pool)
{
    return pool < n->npools ? n->pools[pool].nmem : 0;
}

uint16_t steer_pool_member(const struct steer_name *n, size_t pool, size_t k, uint32_t *weight)
{
    if (pool >= n->npools || k >= n->pools[pool].nmem) {
        *weight = 0;
        return 0;
    }
    *weight = n->pools[pool].mem[k].weight;
    return n->pools[pool].mem[k].prov;
}
