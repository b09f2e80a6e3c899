/* tests/fuzz/fuzz_rum_beacon.c: the beacon parsers (JSON body and query
 * string) on arbitrary bytes; accepted measurements must respect every
 * documented bound and feed the aggregate without harm. */
#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rum/aggregate.h"
#include "rum/beacon.h"

static int prov(void *ctx, const char *n)
{
    static const char *const names[] = { "cdn-a", "cdn-b", "pop-eu", NULL };
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], n))
            return i;
    return -1;
}

static void check(const struct rum_meas *m, size_t n, const struct rum_parse_opts *o, struct rum_agg *a)
{
    assert(n <= o->max_batch);
    for (size_t i = 0; i < n; i++) {
        assert(m[i].provider <= 2);
        assert(m[i].kind < RUM_NKINDS);
        assert(m[i].t_ms <= o->now_ms && m[i].t_ms >= o->now_ms - o->max_age_ms);
        assert(isfinite(m[i].value));
        if (m[i].kind == RUM_LATENCY)
            assert(m[i].value > 0 && m[i].value <= RUM_MAX_LATENCY_MS);
        struct rum_geo g = { .asn = 64500, .country = "DE", .continent = "EU" };
        rum_agg_add(a, &g, &m[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct rum_agg *agg;
    if (!agg)
        agg = rum_agg_new(64, 60000);
    static struct rum_meas m[RUM_MAX_BATCH];
    struct rum_lookup lk = { .provider = prov };
    struct rum_parse_opts o = { .now_ms = 1764046800000LL, .max_age_ms = 600000, .max_batch = 16, .max_body = 65536 };
    size_t n = 0;
    enum rum_reason r = rum_beacon_parse_json((const char *)data, size, &o, &lk, m, &n);
    assert(r == RUM_R_OK ? n > 0 : n == 0);
    check(m, n, &o, agg);
    r = rum_beacon_parse_query((const char *)data, size, &o, &lk, m, &n);
    assert(r == RUM_R_OK ? n > 0 : n == 0);
    check(m, n, &o, agg);
    return 0;
}
