/* tests/unit/test_steerd_querylog.c: the query log's rings and logger
 * thread without a server: a burst much larger than a ring loses no record
 * silently (written + dropped = observed, lines = written), lines are
 * complete and in order per thread, out-of-range threads are ignored,
 * stop drains everything queued, and the decision slot is used only for
 * queries the response marks as steered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/wire.h"
#include "steerd/querylog.h"

static char path[64];

static int setup(void **state)
{
    snprintf(path, sizeof path, "/tmp/test_querylog.%d.log", (int)getpid());
    unlink(path);
    return 0;
}

static int teardown(void **state)
{
    unlink(path);
    return 0;
}

static void mkquery(struct dns_query *q, const char *name, uint16_t qtype)
{
    memset(q, 0, sizeof *q);
    int n = dns_name_from_str(name, q->qname);
    assert_true(n > 0);
    q->qname_len = (uint8_t)n;
    q->qtype = qtype;
    q->question_ok = true;
}

static size_t count_lines(const char *needle)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[1024];
    size_t n = 0;
    while (fgets(line, sizeof line, f))
        if (!needle || strstr(line, needle))
            n++;
    fclose(f);
    return n;
}

static void test_burst_accounting(void **state)
{
    struct querylog_cfg cfg = { .enabled = true, .sample = 1 };
    snprintf(cfg.path, sizeof cfg.path, "%s", path);
    char err[256];
    struct querylog *ql = querylog_start(&cfg, 2, err, sizeof err);
    assert_non_null(ql);
    struct dns_client c = { 0 };
    assert_int_equal(net_addr_parse("192.0.2.7", &c.addr), 0);
    struct dns_query q;
    mkquery(&q, "www.example.test", 1);
    struct dns_result res = { .rcode = 3 };
    enum { N = 20000 };
    for (unsigned i = 0; i < N; i++)
        querylog_observe(ql, i & 1, i & 2, &c, &q, &res);
    querylog_observe(ql, 2, false, &c, &q, &res);   /* no such thread: ignored */
    querylog_observe(ql, 99, false, &c, &q, &res);
    struct querylog_counters k;
    querylog_stop(&ql);   /* drains */
    assert_null(ql);
    /* counters are read before stop in real use; after stop, from the file */
    size_t lines = count_lines(NULL);
    assert_true(lines > 0);
    assert_true(lines <= N);
    assert_int_equal(count_lines("client=192.0.2.7 "), lines);
    assert_int_equal(count_lines(" qname=www.example.test. qtype=A rcode=NXDOMAIN ecs=- scope=- provider=- rule=- reason=-"),
                     lines);
    /* again with counters while running */
    unlink(path);
    ql = querylog_start(&cfg, 1, err, sizeof err);
    assert_non_null(ql);
    for (unsigned i = 0; i < N; i++)
        querylog_observe(ql, 0, false, &c, &q, &res);
    /* wait for the logger to catch up (bounded: 5 s) */
    for (int i = 0; i < 500; i++) {
        querylog_counters(ql, &k);
        if (k.written + k.dropped == N)
            break;
        usleep(10000);
    }
    querylog_counters(ql, &k);
    assert_int_equal(k.written + k.dropped, N);
    querylog_stop(&ql);
    assert_int_equal(count_lines(NULL), k.written);
    querylog_counters(NULL, &k);
    assert_int_equal(k.written + k.dropped, 0);
}

static void test_decision_only_when_steered(void **state)
{
    struct querylog_cfg cfg = { .enabled = true, .sample = 1 };
    snprintf(cfg.path, sizeof cfg.path, "%s", path);
    char err[256];
    struct querylog *ql = querylog_start(&cfg, 1, err, sizeof err);
    assert_non_null(ql);
    assert_true(querylog_running);
    struct dns_client c = { 0 };
    assert_int_equal(net_addr_parse("2001:db8::1", &c.addr), 0);
    struct dns_query q;
    mkquery(&q, "www.example.test", 28);
    q.ecs = true;
    q.ecs_source = 48;
    assert_int_equal(net_addr_parse("2001:db8:1::", &q.ecs_addr), 0);
    struct steer_answer a = { .kind = STEER_ADDRS, .scope = 56, .degraded = true };
    querylog_note_decision(STEER_OK, &a, NULL, 0);   /* no counter set: no labels */
    struct dns_result steered = { .rcode = 0, .dynamic = true, .ecs = true };
    struct dns_result plain = { .rcode = 0, .ecs = true };
    querylog_observe(ql, 0, true, &c, &q, &steered);
    querylog_observe(ql, 0, false, &c, &q, &plain);
    struct dns_query bad = { 0 };
    struct dns_result dropped = { .dropped = true };
    querylog_observe(ql, 0, false, &c, &bad, &dropped);
    querylog_stop(&ql);
    assert_false(querylog_running);
    /* scope clamped to the source prefix (RFC 7871 7.2.1) */
    assert_int_equal(count_lines("client=2001:db8::1 transport=tcp qname=www.example.test. qtype=AAAA rcode=NOERROR "
                                 "ecs=2001:db8:1::/48 scope=48 provider=- rule=- reason=degraded"), 1);
    assert_int_equal(count_lines("transport=udp qname=www.example.test. qtype=AAAA rcode=NOERROR "
                                 "ecs=2001:db8:1::/48 scope=0 provider=- rule=- reason=-"), 1);
    assert_int_equal(count_lines("qname=- qtype=- rcode=dropped ecs=- scope=- provider=- rule=- reason=-"), 1);
}

static void test_open_failure(void **state)
{
    struct querylog_cfg cfg = { .enabled = true, .sample = 1 };
    snprintf(cfg.path, sizeof cfg.path, "/nonexistent-dir/q.log");
    char err[256] = "";
    assert_null(querylog_start(&cfg, 1, err, sizeof err));
    assert_non_null(strstr(err, "cannot open /nonexistent-dir/q.log"));
    assert_false(querylog_running);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_burst_accounting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decision_only_when_steered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_failure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
