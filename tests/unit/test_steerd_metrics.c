/* tests/unit/test_steerd_metrics.c: steering counters across reloads
 * (folding by label strings: counters of label sets that survive a reload
 * carry on, label sets that disappear keep their value, nothing goes
 * backwards), rule labels, per-thread blocks under concurrent writers with
 * scrapes in between, RUM-less rendering, and the exposition helpers
 * (escaping, histograms). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "common/prom.h"
#include "steerd/metrics.h"
#include "steering/steering.h"

/* ---- fixtures ------------------------------------------------------------ */

struct pol {
    struct cfg_ctx ctx;
    struct steer_policy *p;
};

static void pol_load(struct pol *f, const char *yaml)
{
    if (cfg_load_string(&f->ctx, "./test.yaml", yaml, strlen(yaml)) < 0 ||
        steer_policy_compile(&f->ctx, cfg_root(&f->ctx), &f->p) < 0) {
        print_error("compile: %s\n", f->ctx.err);
        fail();
    }
}

static void pol_free(struct pol *f)
{
    steer_policy_free(&f->p);
    cfg_free(&f->ctx);
}

/* v1: providers a, b, c; rules [cidr -> cdn], default -> both */
static const char *v1 =
    "providers:\n"
    "  a: {type: pop, ipv4: [127.0.1.1]}\n"
    "  b: {type: pop, ipv4: [127.0.1.2]}\n"
    "  c: {type: cdn, cname: c.cdn.example.net.}\n"
    "steering:\n"
    "  - name: w.example.test\n"
    "    rules:\n"
    "      - {match: {cidr: [10.99.0.0/16]}, pools: [cdn]}\n"
    "      - {match: default, pools: [both]}\n"
    "    pools:\n"
    "      both: {policy: weighted, members: {a: 50, b: 50}}\n"
    "      cdn: {policy: failover, members: [c]}\n";

/* v2: provider a gone, d new, ids shifted; a rule inserted first that also
 * starts with pool cdn (labelled cdn, the old one becomes cdn#1); a new name */
static const char *v2 =
    "providers:\n"
    "  d: {type: pop, ipv4: [127.0.1.4]}\n"
    "  c: {type: cdn, cname: c.cdn.example.net.}\n"
    "  b: {type: pop, ipv4: [127.0.1.2]}\n"
    "steering:\n"
    "  - name: x.example.test\n"
    "    rules: [{match: default, pools: [p]}]\n"
    "    pools:\n"
    "      p: {policy: failover, members: [d]}\n"
    "  - name: w.example.test\n"
    "    rules:\n"
    "      - {match: {cidr: [10.98.0.0/16]}, pools: [cdn]}\n"
    "      - {match: {cidr: [10.99.0.0/16]}, pools: [cdn]}\n"
    "      - {match: default, pools: [both]}\n"
    "    pools:\n"
    "      both: {policy: weighted, members: {d: 50, b: 50}}\n"
    "      cdn: {policy: failover, members: [c]}\n";

static int pid(const struct pol *f, const char *name)
{
    int id = steer_provider_find(f->p, name);
    assert_true(id >= 0);
    return id;
}

/* Counts one answer of name index `name` as I/O thread `thread`. */
static void count(struct metrics_steer *m, unsigned thread, size_t name, int prov, unsigned rule, bool failopen,
                  bool ecs, uint8_t scope)
{
    struct steer_answer a = { .kind = STEER_ADDRS, .provider = (uint16_t)prov, .rule = (uint16_t)rule,
                              .failed_open = failopen, .degraded = failopen, .scope = scope };
    unsigned saved = dns_io_thread;
    dns_io_thread = thread;
    metrics_steer_answer(m, name, STEER_OK, &a, ecs);
    dns_io_thread = saved;
}

/* The rendered exposition as a NUL-terminated string (caller frees). */
static char *render(void)
{
    struct evbuffer *b = evbuffer_new();
    assert_non_null(b);
    struct metrics_sources src = { .generation = 1 };
    assert_int_equal(metrics_render(b, &src), 0);
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);
    assert_non_null(s);
    evbuffer_remove(b, s, n);
    s[n] = '\0';
    evbuffer_free(b);
    return s;
}

/* Value of the exact series `series` ("name{labels}"), or -1 if absent. */
static long long value(const char *text, const char *series)
{
    size_t sl = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (!strncmp(p, series, sl) && p[sl] == ' ')
            return atoll(p + sl + 1);
    }
    return -1;
}

#define ANS(name, prov, rule) \
    "steer_answers_total{name=\"" name "\",provider=\"" prov "\",rule=\"" rule "\"}"

/* ---- tests ------------------------------------------------------------------ */

static void test_fold_across_reload(void **state)
{
    struct pol f1 = { 0 }, f2 = { 0 };
    assert_int_equal(metrics_init(2, "test"), 0);
    pol_load(&f1, v1);
    struct metrics_steer *m1 = metrics_steer_new(f1.p);
    assert_non_null(m1);
    metrics_steer_register(m1);
    /* rule 0 = cidr -> cdn (c); rule 1 = default (a/b); two threads */
    count(m1, 0, 0, pid(&f1, "c"), 0, false, true, 16);
    count(m1, 1, 0, pid(&f1, "c"), 0, false, true, 16);
    count(m1, 0, 0, pid(&f1, "a"), 1, false, false, 0);
    count(m1, 1, 0, pid(&f1, "b"), 1, true, false, 0);
    count(m1, 7, 0, pid(&f1, "b"), 1, false, false, 0);               /* not an I/O thread: ignored */
    count(m1, DNS_NOT_IO_THREAD, 0, pid(&f1, "b"), 1, false, false, 0);
    char *t1 = render();
    assert_int_equal(value(t1, ANS("w.example.test.", "c", "cdn")), 2);
    assert_int_equal(value(t1, ANS("w.example.test.", "a", "default")), 1);
    assert_int_equal(value(t1, ANS("w.example.test.", "b", "default")), 1);
    assert_int_equal(value(t1, "steer_failopen_total{name=\"w.example.test.\"}"), 1);
    assert_int_equal(value(t1, "steer_decisions_total{name=\"w.example.test.\",reason=\"primary\"}"), 3);
    assert_int_equal(value(t1, "steer_ecs_answers_total{name=\"w.example.test.\",scope=\"nonzero\"}"), 2);
    assert_int_equal(value(t1, "steer_ecs_answers_total{name=\"w.example.test.\",scope=\"zero\"}"), 0);

    /* reload: the new set is registered before the old one retires; a
     * scrape in between sees the old counts exactly once */
    pol_load(&f2, v2);
    struct metrics_steer *m2 = metrics_steer_new(f2.p);
    assert_non_null(m2);
    metrics_steer_register(m2);
    char *t2 = render();
    assert_int_equal(value(t2, ANS("w.example.test.", "c", "cdn")), 2);
    assert_int_equal(value(t2, "steer_failopen_total{name=\"x.example.test.\"}"), 0);
    metrics_steer_retire(&m1);
    assert_null(m1);
    /* name w is index 1 now, c has another id, the 10.99 rule is index 1 */
    count(m2, 0, 1, pid(&f2, "c"), 1, false, true, 16);   /* same label set: cdn#1 (first "cdn" is rule 0) */
    count(m2, 1, 1, pid(&f2, "c"), 0, false, true, 16);   /* new rule, labelled cdn */
    count(m2, 0, 1, pid(&f2, "b"), 2, false, false, 0);
    count(m2, 1, 0, pid(&f2, "d"), 0, true, false, 0);
    char *t3 = render();
    assert_int_equal(value(t3, ANS("w.example.test.", "c", "cdn")), 3);       /* 2 folded + 1 new */
    assert_int_equal(value(t3, ANS("w.example.test.", "c", "cdn#1")), 1);
    assert_int_equal(value(t3, ANS("w.example.test.", "a", "default")), 1);   /* a is gone: value kept */
    assert_int_equal(value(t3, ANS("w.example.test.", "b", "default")), 2);
    assert_int_equal(value(t3, ANS("x.example.test.", "d", "default")), 1);
    assert_int_equal(value(t3, "steer_failopen_total{name=\"w.example.test.\"}"), 1);
    assert_int_equal(value(t3, "steer_failopen_total{name=\"x.example.test.\"}"), 1);
    assert_int_equal(value(t3, "steer_ecs_answers_total{name=\"w.example.test.\",scope=\"nonzero\"}"), 4);
    /* nothing went backwards: every _total series of t1 is >= in t3 */
    for (const char *p = t1; *p; p = strchr(p, '\n') + 1) {
        const char *sp = strchr(p, ' ');
        if (*p != '#' && sp && memmem(p, (size_t)(sp - p), "_total", 6)) {
            char series[512];
            snprintf(series, sizeof series, "%.*s", (int)(sp - p), p);
            long long before = atoll(sp + 1), after = value(t3, series);
            if (after < before)
                fail_msg("%s went from %lld to %lld", series, before, after);
        }
    }
    metrics_steer_retire(&m2);
    char *t4 = render();   /* everything folded: same numbers */
    assert_int_equal(value(t4, ANS("w.example.test.", "c", "cdn")), 3);
    assert_int_equal(value(t4, "steer_failopen_total{name=\"x.example.test.\"}"), 1);
    free(t1);
    free(t2);
    free(t3);
    free(t4);
    pol_free(&f1);
    pol_free(&f2);
    metrics_shutdown();
}

static void test_unregistered_and_empty(void **state)
{
    struct pol f = { 0 };
    assert_int_equal(metrics_init(1, "test"), 0);
    pol_load(&f, v1);
    struct metrics_steer *m = metrics_steer_new(f.p);
    assert_non_null(m);
    count(m, 0, 0, 0, 0, false, false, 0);   /* no blocks yet: not counted, no crash */
    metrics_steer_retire(&m);                 /* never registered: nothing folded */
    struct metrics_steer *e = metrics_steer_new(NULL);   /* config without steering */
    assert_non_null(e);
    metrics_steer_register(e);
    char *t = render();
    assert_int_equal(value(t, ANS("w.example.test.", "a", "cdn")), -1);
    assert_int_equal(value(t, "steer_failopen_total{name=\"w.example.test.\"}"), -1);
    assert_non_null(strstr(t, "# TYPE steer_answers_total counter\n"));
    assert_int_equal(value(t, "steer_build_info{version=\"test\"}"), 1);
    assert_int_equal(value(t, "steer_snapshot_reloads_total{result=\"ok\"}"), 0);
    metrics_reload_result(true);
    metrics_reload_result(false);
    metrics_reload_result(false);
    free(t);
    t = render();
    assert_int_equal(value(t, "steer_snapshot_reloads_total{result=\"ok\"}"), 1);
    assert_int_equal(value(t, "steer_snapshot_reloads_total{result=\"failed\"}"), 2);
    free(t);
    metrics_steer_retire(&e);
    pol_free(&f);
    metrics_shutdown();
}

/* Two writer threads (own blocks) while the main thread scrapes: every
 * scrape is monotonic and the final total is exact. */
struct writer {
    struct metrics_steer *m;
    unsigned thread;
    int prov;
    long n;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    dns_io_thread = w->thread;
    struct steer_answer a = { .kind = STEER_ADDRS, .provider = (uint16_t)w->prov, .rule = 1 };
    for (long i = 0; i < w->n; i++)
        metrics_steer_answer(w->m, 0, STEER_OK, &a, false);
    return NULL;
}

static void test_concurrent_writers(void **state)
{
    struct pol f = { 0 };
    assert_int_equal(metrics_init(2, "test"), 0);
    pol_load(&f, v1);
    struct metrics_steer *m = metrics_steer_new(f.p);
    metrics_steer_register(m);
    assert_int_equal((uintptr_t)m->blocks[0] % 64, 0);
    assert_int_equal((uintptr_t)m->blocks[1] % 64, 0);
    assert_int_equal(m->stride % 8, 0);   /* whole cache lines per block */
    enum { N = 200000 };
    struct writer w[2] = { { m, 0, pid(&f, "a"), N }, { m, 1, pid(&f, "a"), N } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
    long long last = 0;
    for (int k = 0; k < 20; k++) {
        char *t = render();
        long long v = value(t, ANS("w.example.test.", "a", "default"));
        free(t);
        if (v < 0)
            v = 0;   /* zero cells are not shown */
        assert_true(v >= last);
        last = v;
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    char *t = render();
    assert_int_equal(value(t, ANS("w.example.test.", "a", "default")), 2 * N);
    free(t);
    metrics_steer_retire(&m);
    pol_free(&f);
    metrics_shutdown();
}

static void test_prom_format(void **state)
{
    struct evbuffer *b = evbuffer_new();
    struct prom_labels l;
    prom_labels_init(&l);
    assert_int_equal(prom_label(&l, "name", "a\"b\\c\nd"), 0);
    prom_family(b, "x_total", PROM_COUNTER, "help with \\ and\nnewline");
    prom_u64(b, "x_total", &l, 5);
    prom_u64(b, "x_total", NULL, 6);
    double bounds[2] = { 0.001, 0.5 };
    uint64_t counts[3] = { 1, 2, 3 };
    prom_family(b, "h_seconds", PROM_HISTOGRAM, "h");
    prom_histogram(b, "h_seconds", &l, bounds, counts, 2, 1.25);
    size_t n = evbuffer_get_length(b);
    char *s = calloc(1, n + 1);
    evbuffer_remove(b, s, n);
    assert_string_equal(s,
        "# HELP x_total help with \\\\ and\\nnewline\n"
        "# TYPE x_total counter\n"
        "x_total{name=\"a\\\"b\\\\c\\nd\"} 5\n"
        "x_total 6\n"
        "# HELP h_seconds h\n"
        "# TYPE h_seconds histogram\n"
        "h_seconds_bucket{name=\"a\\\"b\\\\c\\nd\",le=\"0.001\"} 1\n"
        "h_seconds_bucket{name=\"a\\\"b\\\\c\\nd\",le=\"0.5\"} 3\n"
        "h_seconds_bucket{name=\"a\\\"b\\\\c\\nd\",le=\"+Inf\"} 6\n"
        "h_seconds_sum{name=\"a\\\"b\\\\c\\nd\"} 1.25\n"
        "h_seconds_count{name=\"a\\\"b\\\\c\\nd\"} 6\n");
    free(s);
    evbuffer_free(b);
    /* a label set that does not fit is refused and left intact */
    prom_labels_init(&l);
    char big[PROM_LABELS_MAX];
    memset(big, '"', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(prom_label(&l, "k", "v"), 0);
    assert_int_equal(prom_label(&l, "big", big), -1);
    assert_string_equal(l.buf, "k=\"v\"");
    assert_int_equal(l.len, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold_across_reload),
        cmocka_unit_test(test_unregistered_and_empty),
        cmocka_unit_test(test_concurrent_writers),
        cmocka_unit_test(test_prom_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
