/* rum/ratelimit.c: per-client token buckets (see ratelimit.h). */
#include "rum/ratelimit.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

struct rl_entry {
    uint8_t key[9];            /* family + 8 address bytes (v4: 4, v6: the /64) */
    uint8_t used;
    float tokens;
    int64_t last_ms;
};

struct rum_ratelimit {
    struct rl_entry *e;
    uint32_t nsets, mask;      /* sets of RUM_RL_WAYS entries */
    double rate, burst;
    uint64_t seed, evictions;
};

struct rum_ratelimit *rum_rl_new(uint32_t clients, double rate, double burst, uint64_t seed)
{
    if (clients < RUM_RL_WAYS || clients > (1u << 26) || !(rate > 0) || !(burst >= 1))
        return NULL;
    struct rum_ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    uint32_t sets = 1;
    while (sets * RUM_RL_WAYS < clients)
        sets <<= 1;
    rl->e = calloc((size_t)sets * RUM_RL_WAYS, sizeof *rl->e);
    if (!rl->e) {
        free(rl);
        return NULL;
    }
    rl->nsets = sets;
    rl->mask = sets - 1;
    rl->rate = rate;
    rl->burst = burst;
    rl->seed = seed;
    return rl;
}

void rum_rl_free(struct rum_ratelimit **rl)
{
    if (!*rl)
        return;
    free((*rl)->e);
    free(*rl);
    *rl = NULL;
}

bool rum_rl_allow(struct rum_ratelimit *rl, const struct net_addr *a, int64_t now_ms)
{
    uint8_t key[9] = { a->family };
    memcpy(key + 1, a->bytes, a->family == 4 ? 4 : 8);
    uint64_t k1, k2 = key[8];
    memcpy(&k1, key, 8);
    uint32_t set = (uint32_t)hash_mix64(hash_mix64(k1 ^ rl->seed) ^ k2) & rl->mask;
    struct rl_entry *s = &rl->e[(size_t)set * RUM_RL_WAYS], *hit = NULL, *victim = &s[0];
    for (unsigned i = 0; i < RUM_RL_WAYS; i++) {
        if (s[i].used && !memcmp(s[i].key, key, sizeof key)) {
            hit = &s[i];
            break;
        }
        if (!s[i].used || (victim->used && s[i].last_ms < victim->last_ms))
            victim = &s[i];
    }
    if (!hit) {
        if (victim->used)
            rl->evictions++;
        hit = victim;
        memcpy(hit->key, key, sizeof key);
        hit->used = 1;
        hit->tokens = (float)rl->burst;
        hit->last_ms = now_ms;
    }
    if (now_ms > hit->last_ms) {
        double t = hit->tokens + (double)(now_ms - hit->last_ms) * rl->rate / 1000.0;
        hit->tokens = (float)(t > rl->burst ? rl->burst : t);
        hit->last_ms = now_ms;
    }
    if (hit->tokens < 1)
        return false;
    hit->tokens -= 1;
    return true;
}

uint32_t rum_rl_capacity(const struct rum_ratelimit *rl) { return rl->nsets * RUM_RL_WAYS; }
uint64_t rum_rl_evictions(const struct rum_ratelimit *rl) { return rl->evictions; }
