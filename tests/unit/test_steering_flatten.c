/* tests/unit/test_steering_flatten.c: apex flattening end to end. Starts
 * tests/tools/steering_fakedns (a real DNS server on 127.0.0.1:15453) by PID,
 * runs the flattener thread against it, and checks what steer_decide answers
 * at the apex as the CDN targets' records appear, change (re-resolution per
 * TTL) and vanish (NXDOMAIN clears). Waits poll for conditions, bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include "common/cfg.h"
#include "steering/flatten.h"
#include "steering/steering.h"

#define DNS_PORT "15453"
extern char **environ;

static char tmpdir[256], zonepath[300];
static pid_t dns_pid = -1;

static void write_zone(const char *text)
{
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp", zonepath);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, zonepath), 0);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Waits until `pred` holds, polling every 20 ms, for at most `ms`. */
static bool wait_for(bool (*pred)(void *), void *arg, long ms)
{
    for (long t = 0; t <= ms; t += 20) {
        if (pred(arg))
            return true;
        sleep_ms(20);
    }
    return false;
}

static int start_dns(void **st)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/steer-flatten.XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(zonepath, sizeof zonepath, "%s/zone", tmpdir);
    write_zone("d111111abcdef8.cloudfront.net. 1 IN A 192.0.2.200\n"
               "d111111abcdef8.cloudfront.net. 1 IN AAAA 2001:db8:cf::1\n"
               "steer-demo.map.fastly.net. 300 IN CNAME steer-demo.global.fastly.net.\n"
               "steer-demo.global.fastly.net. 300 IN A 192.0.2.150\n");
    const char *tools = getenv("STEER_TOOLS") ? getenv("STEER_TOOLS") : "build/asan/tools";
    char bin[512];
    snprintf(bin, sizeof bin, "%s/steering_fakedns", tools);
    char *argv[] = { bin, "-p", DNS_PORT, "-z", zonepath, NULL };
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(&dns_pid, bin, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "cannot start %s\n", bin);
        return -1;
    }
    urcu_memb_register_thread();
    return 0;
}

static int stop_dns(void **st)
{
    urcu_memb_unregister_thread();
    if (dns_pid > 0) {
        kill(dns_pid, SIGTERM);
        int status;
        waitpid(dns_pid, &status, 0);
        dns_pid = -1;
    }
    unlink(zonepath);
    rmdir(tmpdir);
    return 0;
}

static const char *yaml =
    "flatten: {resolver: '127.0.0.1:" DNS_PORT "', min_ttl: 1s, max_ttl: 1h, retry: 200ms, timeout: 500ms}\n"
    "providers:\n"
    "  eu: {type: pop, ipv4: [127.0.1.10]}\n"
    "  cf: {type: cdn, cname: d111111abcdef8.cloudfront.net.}\n"
    "  fastly: {type: cdn, cname: steer-demo.map.fastly.net.}\n"
    "  unused: {type: cdn, cname: not.used.example.}\n"
    "steering:\n"
    "  - name: cdn.example.test\n"
    "    apex: true\n"
    "    rules: [{match: default, pools: [cdns]}]\n"
    "    pools:\n"
    "      cdns: {policy: failover, members: [cf, fastly], fallback: pops}\n"
    "      pops: {policy: failover, members: [eu]}\n"
    "  - name: www.cdn.example.test\n"
    "    rules: [{match: default, pools: [w]}]\n"
    "    pools:\n"
    "      w: {policy: failover, members: [cf, unused]}\n";

struct ctx {
    struct steer_policy *p;
    struct steer_flatten *f;
    uint16_t qtype;
    const char *want;      /* expected first address, or NULL for "not a flattened answer" */
};

/* Decides for the apex inside an RCU read section; formats the answer. */
static void apex_answer(struct ctx *c, uint16_t qtype, char *buf, size_t size, struct steer_answer *a)
{
    struct steer_client cl = { .source_len = 32 };
    net_addr_parse("192.0.2.1", &cl.addr);
    urcu_memb_read_lock();
    struct steer_inputs in = { .flat = steer_flatten_current(c->f) };
    assert_int_equal(steer_decide(c->p, steer_policy_name(c->p, 0), &cl, qtype, &in, a), STEER_OK);
    buf[0] = 0;
    if (a->kind == STEER_ADDRS) {
        struct net_addr na = { .family = (uint8_t)(qtype == 1 ? 4 : 6) };
        memcpy(na.bytes, a->addr[0], qtype == 1 ? 4 : 16);
        net_addr_format(&na, buf, (unsigned)size);
    }
    urcu_memb_read_unlock();
}

static bool answer_is(void *arg)
{
    struct ctx *c = arg;
    char buf[64];
    struct steer_answer a;
    apex_answer(c, c->qtype, buf, sizeof buf, &a);
    return !strcmp(buf, c->want);
}

/* Reader threads hammer steer_decide on the apex while the flattener
 * publishes and frees tables: a use-after-free or a torn table would show
 * up under ASan. Each checks that every flattened answer is one of the
 * addresses the test ever serves. */
struct reader {
    struct ctx *c;
    pthread_t th;
    atomic_bool *stop;
    unsigned long n, bad;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    urcu_memb_register_thread();
    struct steer_client cl = { .source_len = 32 };
    net_addr_parse("192.0.2.1", &cl.addr);
    while (!atomic_load(r->stop)) {
        urcu_memb_read_lock();
        struct steer_inputs in = { .flat = steer_flatten_current(r->c->f) };
        struct steer_answer a;
        if (steer_decide(r->c->p, steer_policy_name(r->c->p, 0), &cl, 1, &in, &a) != STEER_OK)
            r->bad++;
        else if (a.kind == STEER_ADDRS) {
            const uint8_t *x = a.addr[0];
            bool known = x[0] == 192 && x[1] == 0 && x[2] == 2 && (x[3] == 200 || x[3] == 201 || x[3] == 150);
            bool pop = x[0] == 127 && x[1] == 0 && x[2] == 1 && x[3] == 10;
            if (!known && !pop)
                r->bad++;
        }
        urcu_memb_read_unlock();
        if (++r->n % 256 == 0)
            sleep_ms(1);   /* keep the shared test machine usable */
    }
    urcu_memb_unregister_thread();
    return NULL;
}

static void test_flatten(void **st)
{
    struct cfg_ctx cfg;
    struct ctx c = { 0 };
    assert_int_equal(cfg_load_string(&cfg, "./test.yaml", yaml, strlen(yaml)), 0);
    if (steer_policy_compile(&cfg, cfg_root(&cfg), &c.p) < 0) {
        print_error("%s\n", cfg.err);
        fail();
    }
    assert_true(steer_provider_needs_flat(c.p, 1));
    assert_true(steer_provider_needs_flat(c.p, 2));
    assert_false(steer_provider_needs_flat(c.p, 3));   /* CDN of a non-apex name: CNAME */
    char err[256];
    assert_int_equal(steer_flatten_start(c.p, &c.f, err, sizeof err), 0);
    atomic_bool stop = false;
    struct reader rd[2];
    for (int i = 0; i < 2; i++) {
        rd[i] = (struct reader){ .c = &c, .stop = &stop };
        assert_int_equal(pthread_create(&rd[i].th, NULL, reader_main, &rd[i]), 0);
    }

    /* before anything is resolved the PoP answers (fallback pool); then cf */
    char buf[64];
    struct steer_answer a;
    c.qtype = 1;
    c.want = "192.0.2.200";
    assert_true(wait_for(answer_is, &c, 5000));
    apex_answer(&c, 1, buf, sizeof buf, &a);
    assert_string_equal(steer_provider_name(c.p, a.provider), "cf");
    assert_int_equal(a.ttl, 1);   /* record TTL 1 s < name TTL 30 s */
    c.qtype = 28;
    c.want = "2001:db8:cf::1";
    assert_true(wait_for(answer_is, &c, 2000));

    /* the record changes: re-resolved when its TTL (1 s) runs out */
    uint64_t v0 = steer_flatten_version(c.f);
    write_zone("d111111abcdef8.cloudfront.net. 1 IN A 192.0.2.201\n"
               "steer-demo.map.fastly.net. 300 IN CNAME steer-demo.global.fastly.net.\n"
               "steer-demo.global.fastly.net. 300 IN A 192.0.2.150\n");
    kill(dns_pid, SIGHUP);
    c.qtype = 1;
    c.want = "192.0.2.201";
    assert_true(wait_for(answer_is, &c, 5000));
    assert_true(steer_flatten_version(c.f) > v0);
    /* cf has no AAAA any more and fastly has none: NODATA at the apex */
    apex_answer(&c, 28, buf, sizeof buf, &a);
    assert_int_equal(a.kind, STEER_NODATA);

    /* the resolver stops answering: the last good addresses stay */
    kill(dns_pid, SIGUSR1);
    sleep_ms(1500);   /* > TTL + timeout: several failed attempts; nothing to poll for */
    apex_answer(&c, 1, buf, sizeof buf, &a);
    assert_string_equal(buf, "192.0.2.201");
    kill(dns_pid, SIGUSR1);

    /* NXDOMAIN for cf: its addresses are dropped; fastly (via its CNAME chain) answers */
    write_zone("steer-demo.map.fastly.net. 300 IN CNAME steer-demo.global.fastly.net.\n"
               "steer-demo.global.fastly.net. 300 IN A 192.0.2.150\n");
    kill(dns_pid, SIGHUP);
    c.want = "192.0.2.150";
    assert_true(wait_for(answer_is, &c, 5000));
    apex_answer(&c, 1, buf, sizeof buf, &a);
    assert_string_equal(steer_provider_name(c.p, a.provider), "fastly");
    assert_int_equal(a.ttl, 30);

    /* reload: a new policy's flattener seeded from the running one knows
     * fastly's addresses before its own first resolution */
    {
        struct cfg_ctx cfg2;
        struct ctx c2 = { 0 };
        assert_int_equal(cfg_load_string(&cfg2, "./test.yaml", yaml, strlen(yaml)), 0);
        assert_int_equal(steer_policy_compile(&cfg2, cfg_root(&cfg2), &c2.p), 0);
        kill(dns_pid, SIGUSR1);   /* resolver silent: only the seed can answer */
        assert_int_equal(steer_flatten_start_from(c2.p, c.f, &c2.f, err, sizeof err), 0);
        assert_true(steer_flatten_version(c2.f) >= 1);
        apex_answer(&c2, 1, buf, sizeof buf, &a);
        assert_string_equal(buf, "192.0.2.150");
        assert_string_equal(steer_provider_name(c2.p, a.provider), "fastly");
        steer_flatten_stop(&c2.f);
        steer_policy_free(&c2.p);
        cfg_free(&cfg2);
        kill(dns_pid, SIGUSR1);
    }

    /* the non-apex name still answers by CNAME */
    struct steer_client cl = { .source_len = 32 };
    net_addr_parse("192.0.2.1", &cl.addr);
    assert_int_equal(steer_decide(c.p, steer_policy_name(c.p, 1), &cl, 1, NULL, &a), STEER_OK);
    assert_int_equal(a.kind, STEER_CNAME);

    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++) {
        pthread_join(rd[i].th, NULL);
        assert_true(rd[i].n > 0);
        assert_int_equal(rd[i].bad, 0);
    }
    steer_flatten_stop(&c.f);
    assert_null(c.f);
    steer_policy_free(&c.p);
    cfg_free(&cfg);
}

static void test_no_apex_no_thread(void **st)
{
    struct cfg_ctx cfg;
    const char *y = "providers: {cf: {type: cdn, cname: a.example.}}\n"
                    "steering: [{name: w.example.test, rules: [{match: default, pools: [p]}], pools: {p: {members: [cf]}}}]\n";
    struct steer_policy *p = NULL;
    assert_int_equal(cfg_load_string(&cfg, "./t.yaml", y, strlen(y)), 0);
    assert_int_equal(steer_policy_compile(&cfg, cfg_root(&cfg), &p), 0);
    struct steer_flatten *f = NULL;
    char err[128];
    assert_int_equal(steer_flatten_start(p, &f, err, sizeof err), 0);
    assert_non_null(f);
    urcu_memb_read_lock();
    assert_null(steer_flatten_current(f));
    urcu_memb_read_unlock();
    assert_int_equal(steer_flatten_version(f), 0);
    steer_flatten_stop(&f);
    steer_policy_free(&p);
    cfg_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flatten),
        cmocka_unit_test(test_no_apex_no_thread),
    };
    return cmocka_run_group_tests(tests, start_dns, stop_dns);
}
