/* tests/fuzz/fuzz_steering_decide.c: one fixed policy over the fixture geo
 * databases; the input chooses the client (family, address, ECS source
 * length), the qtype, and the health/admin/weight state and flat-table
 * entries of every provider. Checks the invariants of every answer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "steering/flatten.h"
#include "steering/steering.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char yaml[] =
    "geo:\n"
    "  databases: [geo/fixture/steer-city.mmdb, geo/fixture/steer-asn.mmdb]\n"
    "  overrides: [{prefix: 10.0.0.0/8, continent: OC}, {prefix: 10.1.0.0/16, asn: 1, lat: 1, lon: 2}]\n"
    "providers:\n"
    "  eu: {type: pop, ipv4: [127.0.1.10, 127.0.1.11], ipv6: ['2001:db8:ffff::1'], lat: 50.1, lon: 8.7}\n"
    "  us: {type: pop, ipv4: [127.0.2.10], lat: 39.0, lon: -77.5}\n"
    "  v6: {type: pop, ipv6: ['2001:db8:ffff::6'], lat: -33, lon: 151}\n"
    "  cf: {type: cdn, cname: d1.cloudfront.net}\n"
    "  fa: {type: cdn, cname: x.fastly.net}\n"
    "steering:\n"
    "  - name: www.example.test\n"
    "    answers: 3\n"
    "    rules:\n"
    "      - {match: {asn: [64501, 64502], cidr: [198.51.100.0/24, '2001:db8:2000::/40']}, pools: [a]}\n"
    "      - {match: {subdivision: DE-BE}, pools: [b]}\n"
    "      - {match: {continent: [EU, OC], country: [DE, AU, FR]}, pools: [c, b]}\n"
    "      - {match: default, pools: [d]}\n"
    "    pools:\n"
    "      a: {members: {us: 3, cf: 1, v6: 2}}\n"
    "      b: {policy: failover, members: [eu, us, fa], fallback: c}\n"
    "      c: {policy: closest, members: [eu, us, cf, v6]}\n"
    "      d: {policy: rum, members: {fa: 1, eu: 5}, fallback: a}\n"
    "  - name: example.test\n"
    "    apex: true\n"
    "    rules: [{match: default, pools: [a]}]\n"
    "    pools: {a: {members: {cf: 1, fa: 1}, fallback: b}, b: {policy: closest, members: [eu, v6]}}\n";

static struct cfg_ctx g_ctx;
static struct steer_policy *g_p;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_p) {
        if (cfg_load_string(&g_ctx, "./fuzz.yaml", yaml, sizeof yaml - 1) < 0 ||
            steer_policy_compile(&g_ctx, cfg_root(&g_ctx), &g_p) < 0)
            abort();
    }
    size_t np = steer_policy_provider_count(g_p);
    if (size < 20 + np * 8)
        return 0;
    struct steer_client c = { 0 };
    c.addr.family = data[0] & 1 ? 6 : 4;
    memcpy(c.addr.bytes, data + 1, c.addr.family == 4 ? 4 : 16);
    unsigned max = net_addr_maxlen(&c.addr);
    c.has_ecs = data[17] & 1;
    c.source_len = (uint8_t)(c.has_ecs ? data[18] % (max + 1) : max);
    net_addr_mask(&c.addr, c.source_len);
    uint16_t qt = data[19] & 1 ? 28 : 1;
    const uint8_t *s = data + 20;
    const uint8_t flags = s[0];   /* bit 7: also explain; bit 6: as JSON */
    struct prov_state_table *st = calloc(1, sizeof *st + np * sizeof st->s[0]);
    struct steer_flat_table *ft = steer_flat_table_new(g_p);
    if (!st || !ft)
        abort();
    st->n = (uint32_t)(flags % (np + 1));   /* possibly shorter than the provider list */
    for (size_t i = 0; i < np; i++, s += 8) {
        st->s[i].health = s[1] % 3;
        st->s[i].admin = s[2] % 4;
        st->s[i].weight = s[3] & 1 ? PROV_WEIGHT_NONE : s[4];
        ft->e[i].n4 = s[5] % (STEER_MAX_ADDRS + 1);
        ft->e[i].n6 = s[6] % (STEER_MAX_ADDRS + 1);
        ft->e[i].ttl = s[7];
    }
    struct steer_inputs in = { .state = st, .flat = ft };
    for (size_t n = 0; n < steer_policy_name_count(g_p); n++) {
        struct steer_answer a;
        const struct steer_name *nm = steer_policy_name(g_p, n);
        if (steer_decide(g_p, nm, &c, qt, &in, &a) != STEER_OK)
            abort();
        if (a.scope > c.source_len || a.naddr > 3 || a.ttl == 0 || a.ttl > steer_name_ttl(nm))
            abort();
        if (a.kind == STEER_ADDRS && a.naddr == 0)
            abort();
        if (a.kind == STEER_CNAME && (steer_name_is_apex(nm) || !a.cname))
            abort();
        for (unsigned i = 0; i < a.naddr; i++)
            if (!a.addr[i])
                abort();
        if (flags & 0x80) {
            char buf[4096];
            steer_explain(g_p, nm, &c, qt, &in, flags & 0x40, buf, sizeof buf);
        }
    }
    free(st);
    free(ft);
    return 0;
}
