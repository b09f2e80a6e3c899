/* tests/fuzz/fuzz_steering_rum.c: the rum pool policy in steer_decide with a
 * score table built from input-chosen measurements. The input is a header
 * (client family, address, ECS source length, qtype, health bits, explore
 * and min_samples choices) followed by 4-byte measurements (geo bucket,
 * provider, kind, value). Checks: STEER_OK, scope <= source length, the
 * answer's provider a member of the pool that answered, and steer_explain
 * agreeing with steer_decide. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "rum/scores.h"
#include "steering/steering.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char yaml[] =
    "geo:\n"
    "  databases: [geo/fixture/steer-city.mmdb, geo/fixture/steer-asn.mmdb]\n"
    "providers:\n"
    "  a: {type: pop, ipv4: [127.0.1.1], ipv6: ['2001:db8:ffff::1']}\n"
    "  b: {type: pop, ipv4: [127.0.1.2]}\n"
    "  c: {type: cdn, cname: c.example.net}\n"
    "  d: {type: pop, ipv6: ['2001:db8:ffff::4']}\n"
    "steering:\n"
    "  - name: www.example.test\n"
    "    answers: 2\n"
    "    rules:\n"
    "      - {match: {continent: EU}, pools: [r]}\n"
    "      - {match: default, pools: [s]}\n"
    "    pools:\n"
    "      r: {policy: rum, members: {a: 5, b: 3, c: 1}, fallback: s}\n"
    "      s: {policy: rum, members: {d: 1, a: 1}}\n";

#define HDR 24
#define T0 1764046800000LL

static const struct rum_geo geos[4] = {
    { .asn = 64500, .country = "DE", .continent = "EU" },
    { .asn = 64501, .country = "US", .continent = "NA" },
    { .asn = 64999, .country = "DE", .continent = "EU" },
    { .asn = 0, .country = "", .continent = "" },
};

static struct cfg_ctx g_ctx;
static struct steer_policy *g_p;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_p) {
        if (cfg_load_string(&g_ctx, "./fuzz.yaml", yaml, sizeof yaml - 1) < 0 ||
            steer_policy_compile(&g_ctx, cfg_root(&g_ctx), &g_p) < 0)
            abort();
    }
    if (size < HDR || size > HDR + 4 * 4096)
        return 0;
    size_t np = steer_policy_provider_count(g_p);
    struct rum_agg *agg = rum_agg_new(64, 600000);
    if (!agg)
        abort();
    for (size_t off = HDR; off + 4 <= size; off += 4) {
        const uint8_t *m = data + off;
        struct rum_meas me = { .t_ms = T0 - (int64_t)(m[0] >> 2) * 60000, .provider = (uint16_t)(m[1] % np),
                               .kind = (uint8_t)(m[2] % RUM_NKINDS), .name = -1 };
        me.value = me.kind == RUM_FAILURE ? 0 : 1.0 + (double)((m[2] >> 2) | (m[3] << 6));
        rum_agg_add(agg, &geos[m[0] & 3], &me);
    }
    struct rum_params prm;
    rum_params_default(&prm);
    prm.min_samples = 1 + data[20] % 16;
    prm.explore = (data[21] % 6) * 0.1;
    prm.margin = (data[22] % 4) * 0.1;
    prm.tolerance = (data[23] % 3) * 0.1;
    struct steer_rum_table *t = rum_table_build(agg, steer_policy_rum_pools(g_p), &prm, NULL, T0);
    if (!t)
        abort();

    struct steer_client c = { 0 };
    c.addr.family = data[0] & 1 ? 6 : 4;
    memcpy(c.addr.bytes, data + 1, c.addr.family == 4 ? 4 : 16);
    unsigned max = net_addr_maxlen(&c.addr);
    c.has_ecs = data[17] & 1;
    c.source_len = (uint8_t)(c.has_ecs ? data[18] % (max + 1) : max);
    net_addr_mask(&c.addr, c.source_len);
    uint16_t qtype = data[17] & 2 ? 28 : 1;
    struct prov_state_table *st = calloc(1, sizeof *st + np * sizeof st->s[0]);
    if (!st)
        abort();
    st->n = (uint32_t)np;
    for (size_t i = 0; i < np; i++)
        st->s[i] = (struct prov_state){ .health = (data[19] >> i) & 1 ? PROV_DOWN : PROV_UP,
                                        .weight = PROV_WEIGHT_NONE };
    struct steer_inputs in = { .state = st, .rum = t };
    const struct steer_name *nm = steer_policy_name(g_p, 0);
    struct steer_answer a;
    if (steer_decide(g_p, nm, &c, qtype, &in, &a) != STEER_OK)
        abort();
    if (a.scope > c.source_len)
        abort();
    if (a.kind != STEER_NODATA && a.provider >= np)
        abort();
    struct steer_answer a2;
    if (steer_decide(g_p, nm, &c, qtype, &in, &a2) != STEER_OK || a2.provider != a.provider || a2.scope != a.scope)
        abort();   /* deterministic for a fixed table */
    char buf[8192];
    if (steer_explain(g_p, nm, &c, qtype, &in, (data[17] & 4) != 0, buf, sizeof buf) < 0)
        abort();
    free(st);
    rum_table_free(&t);
    rum_agg_free(&agg);
    return 0;
}
