/* Unit tests: the health engine against real local servers.
 *
 * Starts tests/tools/health_server (plain and TLS ports, control port) and
 * tests/tools/health_dns as child processes, stopped by PID at the end; the
 * TLS certificate is generated with `openssl req` into a temp dir. Every
 * check type, every failure reason, hysteresis, flapping, overrides with
 * persistence across restarts, reconfiguration and RCU publication are
 * exercised with short intervals (20-50 ms); tests poll for conditions and
 * never sleep for a timer. Ports 15500-15549. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include "common/cfg.h"
#include "common/log.h"
#include "health/health.h"

extern char **environ;

#define CTL 15500
enum {
    P_OK = 15501, P_FAIL, P_WRONGBODY, P_HANG, P_RESET, P_GARBAGE, P_ENDLESS, P_BIGHEAD, P_CHUNKED,
    P_FLAP, P_LIVE, P_LIVE2, P_CLOSED = 15519,
    S_OK = 15521, S_LIVE,
    DNS_PORT = 15530, DNS_NONE = 15531,
    V6_CTL = 15541, V6_PORT = 15540, V6_DNS = 15542
};

static pid_t server_pid, dns_pid, v6_pid, v6dns_pid;
static char tmpdir[64] = "/tmp/steer-health-engine.XXXXXX";
static char cert[128], key[128];

/* ---- processes -------------------------------------------------------- */

static pid_t spawn(char *const argv[])
{
    pid_t pid;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

static int run(char *const argv[])
{
    pid_t pid = spawn(argv);
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void pause_ms(unsigned ms)   /* polling step only, never a timer wait */
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* One request/response on the health_server control port. */
static int ctl(const char *cmd, char *out, size_t outsz)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(CTL),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char line[128];
    int n = snprintf(line, sizeof line, "%s\n", cmd);
    if (write(fd, line, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    while (got + 1 < outsz) {
        ssize_t r = read(fd, out + got, outsz - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (memchr(out, '\n', got))
            break;
    }
    out[got] = '\0';
    close(fd);
    return strncmp(out, "error", 5) == 0 ? -1 : 0;
}

static void set_mode(unsigned port, const char *mode)
{
    char cmd[64], out[64];
    snprintf(cmd, sizeof cmd, "mode %u %s", port, mode);
    assert_int_equal(ctl(cmd, out, sizeof out), 0);
}

static const char *tools_dir(void)
{
    const char *t = getenv("STEER_TOOLS");
    return t && *t ? t : "build/asan/tools";
}

static int group_setup(void **st)
{
    char srv[256], dns[256], ps[16][32];
    log_set_level(getenv("HEALTH_TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(cert, sizeof cert, "%s/cert.pem", tmpdir);
    snprintf(key, sizeof key, "%s/key.pem", tmpdir);
    char *req[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=health.test",
                    "-addext", "subjectAltName=DNS:health.test,IP:127.0.0.1", NULL };
    if (run(req) != 0)
        return -1;
    snprintf(srv, sizeof srv, "%s/health_server", tools_dir());
    snprintf(dns, sizeof dns, "%s/health_dns", tools_dir());
    static const char *modes[] = { "ok", "fail", "wrongbody", "hang", "reset", "garbage", "endless",
                                   "bighead", "chunked", "ok", "ok", "ok" };
    char *argv[48];
    int a = 0;
    char ctlbuf[16];
    snprintf(ctlbuf, sizeof ctlbuf, "%d", CTL);
    argv[a++] = srv;
    argv[a++] = "-c";
    argv[a++] = ctlbuf;
    argv[a++] = "-C";
    argv[a++] = cert;
    argv[a++] = "-K";
    argv[a++] = key;
    for (int i = 0; i < 12; i++) {
        snprintf(ps[i], sizeof ps[i], "%d=%s", P_OK + i, modes[i]);
        argv[a++] = "-p";
        argv[a++] = ps[i];
    }
    snprintf(ps[12], sizeof ps[12], "%d=ok", S_OK);
    snprintf(ps[13], sizeof ps[13], "%d=ok", S_LIVE);
    argv[a++] = "-s";
    argv[a++] = ps[12];
    argv[a++] = "-s";
    argv[a++] = ps[13];
    argv[a] = NULL;
    server_pid = spawn(argv);
    char dport[16];
    snprintf(dport, sizeof dport, "%d", DNS_PORT);
    char *dargv[] = { dns, "-p", dport, NULL };
    dns_pid = spawn(dargv);
    char v6ctl[16], v6p[32], v6d[16];
    snprintf(v6ctl, sizeof v6ctl, "%d", V6_CTL);
    snprintf(v6p, sizeof v6p, "%d=ok", V6_PORT);
    snprintf(v6d, sizeof v6d, "%d", V6_DNS);
    char *v6argv[] = { srv, "-c", v6ctl, "-a", "::1", "-p", v6p, NULL };
    char *v6dargv[] = { dns, "-a", "::1", "-p", v6d, NULL };
    v6_pid = spawn(v6argv);
    v6dns_pid = spawn(v6dargv);
    if (server_pid < 0 || dns_pid < 0 || v6_pid < 0 || v6dns_pid < 0)
        return -1;
    /* wait until the control port answers (the server is up) */
    char out[64];
    for (int i = 0; i < 200; i++) {
        if (ctl("count 15501", out, sizeof out) == 0)
            break;
        pause_ms(25);
    }
    urcu_memb_register_thread();
    return ctl("count 15501", out, sizeof out);
}

static int group_teardown(void **st)
{
    stop(server_pid);
    stop(dns_pid);
    stop(v6_pid);
    stop(v6dns_pid);
    urcu_memb_unregister_thread();
    char *rm[] = { "rm", "-rf", tmpdir, NULL };
    run(rm);
    return 0;
}

/* ---- engine helpers --------------------------------------------------- */

static struct health_config *config(const char *yaml)
{
    struct cfg_ctx ctx;
    struct health_config *c = NULL;
    if (cfg_load_string(&ctx, "test.yaml", yaml, strlen(yaml)) < 0 || health_config_parse(&ctx, &c) < 0)
        fail_msg("config: %s", ctx.err);
    cfg_free(&ctx);
    return c;
}

/* Engine with one provider per check, named after it ("p-<check>"). */
static struct health_engine *start_each(const char *yaml, struct health_config **cfgout)
{
    struct health_config *c = config(yaml);
    struct health_target *t = calloc(c->nchecks + 1, sizeof *t);
    const char **names = calloc(c->nchecks + 1, sizeof *names);
    char (*pn)[HC_NAME_MAX] = calloc(c->nchecks + 1, sizeof *pn);
    for (size_t i = 0; i < c->nchecks; i++) {
        names[i] = c->checks[i].name;
        snprintf(pn[i], sizeof pn[i], "p-%s", c->checks[i].name);
        t[i].provider = pn[i];
        t[i].checks = &names[i];
        t[i].nchecks = 1;
    }
    struct health_engine *e = NULL;
    char err[256];
    if (health_engine_new(c, t, c->nchecks, &e, err, sizeof err) != HEALTH_OK)
        fail_msg("engine: %s", err);
    free(t);
    free(names);
    free(pn);
    if (cfgout)
        *cfgout = c;
    else
        health_config_free(&c);
    return e;
}

static struct prov_state get_state(struct health_engine *e, int id, uint64_t *version)
{
    struct prov_state s = { 0, 0, 0, 0 };
    urcu_memb_read_lock();
    const struct prov_state_table *t = rcu_dereference(*health_engine_slot(e));
    if (t && (uint32_t)id < t->n)
        s = t->s[id];
    if (version)
        *version = t ? t->version : 0;
    urcu_memb_read_unlock();
    return s;
}

/* Polls the published table until provider `name` has health h (and reason
 * r unless r < 0); fails after timeout_ms. */
static void wait_health(struct health_engine *e, const char *name, uint8_t h, int r, unsigned timeout_ms)
{
    int id = health_engine_provider_id(e, name);
    assert_true(id >= 0);
    uint64_t end = now_ms() + timeout_ms;
    struct prov_state s;
    do {
        s = get_state(e, id, NULL);
        if (s.health == h && (r < 0 || s.reason == (uint16_t)r))
            return;
        pause_ms(5);
    } while (now_ms() < end);
    char b1[64], b2[64];
    fail_msg("provider %s: health %s reason '%s', wanted %s '%s'", name, prov_health_name(s.health),
             health_reason_str(s.reason, b1, sizeof b1), prov_health_name(h),
             r < 0 ? "any" : health_reason_str((uint16_t)r, b2, sizeof b2));
}

static uint64_t check_runs(struct health_engine *e, const char *check, uint64_t *transitions)
{
    struct health_stats s;
    uint64_t runs = 0;
    assert_int_equal(health_engine_stats(e, &s), HEALTH_OK);
    for (size_t i = 0; i < s.nchecks; i++)
        if (strcmp(s.checks[i].name, check) == 0) {
            runs = s.checks[i].runs;
            if (transitions)
                *transitions = s.checks[i].transitions;
        }
    health_stats_free(&s);
    return runs;
}

#define FAST "interval: 30ms, jitter: 0, rise: 2, fall: 2"

/* ---- tests: check types and reasons ---------------------------------- */

static void test_http_reasons(void **st)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "health:\n"
             "  defaults: {interval: 100ms, timeout: 80ms, jitter: 0, rise: 2, fall: 2}\n"
             "  checks:\n"
             "    ok:        {type: http, target: \"127.0.0.1:%d\", path: /health, expect_body: healthy}\n"
             "    fail:      {type: http, target: \"127.0.0.1:%d\"}\n"
             "    wrongbody: {type: http, target: \"127.0.0.1:%d\", expect_body: healthy}\n"
             "    hang:      {type: http, target: \"127.0.0.1:%d\"}\n"
             "    reset:     {type: http, target: \"127.0.0.1:%d\"}\n"
             "    garbage:   {type: http, target: \"127.0.0.1:%d\"}\n"
             "    endless:   {type: http, target: \"127.0.0.1:%d\", expect_body: healthy, max_body: 4k}\n"
             "    endless2:  {type: http, target: \"127.0.0.1:%d\"}\n"
             "    bighead:   {type: http, target: \"127.0.0.1:%d\"}\n"
             "    chunked:   {type: http, target: \"127.0.0.1:%d\", expect_body: \"status: healthy\"}\n"
             "    refused:   {type: http, target: \"127.0.0.1:%d\"}\n"
             "    status:    {type: http, target: \"127.0.0.1:%d\", expect_status: [5xx]}\n"
             "    head:      {type: http, target: \"127.0.0.1:%d\", method: HEAD}\n",
             P_OK, P_FAIL, P_WRONGBODY, P_HANG, P_RESET, P_GARBAGE, P_ENDLESS, P_ENDLESS, P_BIGHEAD,
             P_CHUNKED, P_CLOSED, P_FAIL, P_OK);
    struct health_engine *e = start_each(yaml, NULL);
    wait_health(e, "p-ok", PROV_UP, 0, 3000);
    wait_health(e, "p-fail", PROV_DOWN, HR_STATUS_BASE + 503, 3000);
    wait_health(e, "p-wrongbody", PROV_DOWN, HR_BODY_MISMATCH, 3000);
    wait_health(e, "p-hang", PROV_DOWN, HR_TIMEOUT, 3000);
    wait_health(e, "p-reset", PROV_DOWN, HR_RESET, 3000);
    wait_health(e, "p-garbage", PROV_DOWN, HR_BAD_RESPONSE, 3000);
    wait_health(e, "p-endless", PROV_DOWN, HR_BODY_MISMATCH, 3000);
    wait_health(e, "p-endless2", PROV_UP, 0, 3000);
    wait_health(e, "p-bighead", PROV_DOWN, HR_TOO_LARGE, 3000);
    wait_health(e, "p-chunked", PROV_UP, 0, 3000);
    wait_health(e, "p-refused", PROV_DOWN, HR_REFUSED, 3000);
    wait_health(e, "p-status", PROV_UP, 0, 3000);
    wait_health(e, "p-head", PROV_UP, 0, 3000);
    /* latency and counters are exported */
    struct health_stats s;
    assert_int_equal(health_engine_stats(e, &s), HEALTH_OK);
    assert_int_equal(s.nchecks, 13);
    assert_int_equal(s.nproviders, 13);
    for (size_t i = 0; i < s.nchecks; i++) {
        uint64_t n = 0;
        for (int b = 0; b < HEALTH_LAT_BUCKETS; b++)
            n += s.checks[i].lat_count[b];
        assert_int_equal(n, s.checks[i].runs);
        assert_true(s.checks[i].runs >= 2);
        assert_true(s.checks[i].transitions >= 1);
    }
    assert_true(s.engine_cpu_ns > 0);
    assert_true(s.table_version >= 1);
    assert_string_equal(s.providers[1].failing_check, "fail");
    assert_true(s.providers[1].since_ms > 0);
    health_stats_free(&s);
    health_engine_free(&e);
    assert_null(e);
}

static void test_tcp(void **st)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "health:\n  defaults: {" FAST "}\n  checks:\n"
             "    up:   {type: tcp, target: \"127.0.0.1:%d\"}\n"
             "    down: {type: tcp, target: \"127.0.0.1:%d\"}\n"
             "    hang: {type: tcp, target: \"127.0.0.1:%d\"}\n",
             P_OK, P_CLOSED, P_HANG);
    struct health_engine *e = start_each(yaml, NULL);
    wait_health(e, "p-up", PROV_UP, 0, 3000);
    wait_health(e, "p-down", PROV_DOWN, HR_REFUSED, 3000);
    wait_health(e, "p-hang", PROV_UP, 0, 3000);   /* TCP only needs the connect */
    health_engine_free(&e);
}

static void test_https(void **st)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "health:\n  defaults: {interval: 250ms, timeout: 200ms, jitter: 0, rise: 2, fall: 2}\n  checks:\n"
             "    noverify:  {type: https, target: \"127.0.0.1:%d\", verify: false, expect_body: healthy}\n"
             "    verified:  {type: https, target: \"127.0.0.1:%d\", host: health.test, ca_file: \"%s\"}\n"
             "    byip:      {type: https, url: \"https://127.0.0.1:%d/\", ca_file: \"%s\"}\n"
             "    wrongname: {type: https, target: \"127.0.0.1:%d\", sni: other.test, ca_file: \"%s\"}\n"
             "    system:    {type: https, target: \"127.0.0.1:%d\", sni: health.test}\n"
             "    plain:     {type: https, target: \"127.0.0.1:%d\", verify: false}\n"
             "    tlsreset:  {type: https, target: \"127.0.0.1:%d\", verify: false}\n"
             "    tlshang:   {type: https, target: \"127.0.0.1:%d\", verify: false}\n"
             "    httptotls: {type: http, target: \"127.0.0.1:%d\"}\n",
             S_OK, S_OK, cert, S_OK, cert, S_OK, cert, S_OK, P_GARBAGE, P_RESET, P_HANG, S_OK);
    struct health_engine *e = start_each(yaml, NULL);
    wait_health(e, "p-noverify", PROV_UP, 0, 5000);
    wait_health(e, "p-verified", PROV_UP, 0, 5000);
    wait_health(e, "p-byip", PROV_UP, 0, 5000);
    wait_health(e, "p-wrongname", PROV_DOWN, HR_TLS_VERIFY, 5000);
    wait_health(e, "p-system", PROV_DOWN, HR_TLS_VERIFY, 5000);
    wait_health(e, "p-plain", PROV_DOWN, HR_TLS, 5000);
    wait_health(e, "p-tlsreset", PROV_DOWN, HR_RESET, 5000);
    wait_health(e, "p-tlshang", PROV_DOWN, HR_TIMEOUT, 5000);
    wait_health(e, "p-httptotls", PROV_DOWN, -1, 5000);
    health_engine_free(&e);
}

static void test_https_bad_ca(void **st)
{
    struct health_config *c = config(
        "health:\n  checks:\n    x: {type: https, target: \"127.0.0.1:1\", ca_file: /nonexistent/ca.pem}\n");
    const char *names[] = { "x" };
    struct health_target t = { "p", names, 1 };
    struct health_engine *e = NULL;
    char err[256];
    assert_int_equal(health_engine_new(c, &t, 1, &e, err, sizeof err), HEALTH_ERR_CONFIG);
    assert_non_null(strstr(err, "cannot load CA file"));
    assert_null(e);
    health_config_free(&c);
}

static void test_dns(void **st)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "health:\n  defaults: {interval: 200ms, timeout: 100ms, jitter: 0, rise: 2, fall: 2}\n  checks:\n"
             "    ok:       {type: dns, resolver: \"127.0.0.1:%d\", name: ok.test.}\n"
             "    ok6:      {type: dns, resolver: \"127.0.0.1:%d\", name: ok.test, qtype: AAAA}\n"
             "    cname:    {type: dns, resolver: \"127.0.0.1:%d\", name: cname.test.}\n"
             "    empty:    {type: dns, resolver: \"127.0.0.1:%d\", name: empty.test.}\n"
             "    nx:       {type: dns, resolver: \"127.0.0.1:%d\", name: nope.test.}\n"
             "    servfail: {type: dns, resolver: \"127.0.0.1:%d\", name: servfail.test.}\n"
             "    refused:  {type: dns, resolver: \"127.0.0.1:%d\", name: refused.test.}\n"
             "    drop:     {type: dns, resolver: \"127.0.0.1:%d\", name: drop.test.}\n"
             "    noserver: {type: dns, resolver: \"127.0.0.1:%d\", name: ok.test.}\n",
             DNS_PORT, DNS_PORT, DNS_PORT, DNS_PORT, DNS_PORT, DNS_PORT, DNS_PORT, DNS_PORT, DNS_NONE);
    struct health_engine *e = start_each(yaml, NULL);
    wait_health(e, "p-ok", PROV_UP, 0, 5000);
    wait_health(e, "p-ok6", PROV_UP, 0, 5000);
    wait_health(e, "p-cname", PROV_UP, 0, 5000);
    wait_health(e, "p-empty", PROV_DOWN, HR_NO_ADDRESSES, 5000);
    wait_health(e, "p-nx", PROV_DOWN, HR_NXDOMAIN, 5000);
    wait_health(e, "p-servfail", PROV_DOWN, HR_SERVFAIL, 5000);
    wait_health(e, "p-refused", PROV_DOWN, HR_DNS_REFUSED, 5000);
    wait_health(e, "p-drop", PROV_DOWN, HR_TIMEOUT, 5000);
    wait_health(e, "p-noserver", PROV_DOWN, -1, 5000);
    /* the resolver breaks (SERVFAIL for everything), then recovers */
    kill(dns_pid, SIGUSR1);
    wait_health(e, "p-cname", PROV_DOWN, HR_SERVFAIL, 5000);
    kill(dns_pid, SIGUSR1);
    wait_health(e, "p-cname", PROV_UP, 0, 5000);
    health_engine_free(&e);
}

static void test_ipv6(void **st)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "health:\n  defaults: {interval: 250ms, timeout: 200ms, jitter: 0, rise: 2, fall: 2}\n  checks:\n"
             "    http: {type: http, target: \"[::1]:%d\", expect_body: healthy}\n"
             "    url:  {type: http, url: \"http://[::1]:%d/x\"}\n"
             "    tcp:  {type: tcp, target: \"[::1]:%d\"}\n"
             "    dns:  {type: dns, resolver: \"[::1]:%d\", name: ok.test., qtype: AAAA}\n",
             V6_PORT, V6_PORT, V6_PORT, V6_DNS);
    struct health_engine *e = start_each(yaml, NULL);
    wait_health(e, "p-http", PROV_UP, 0, 5000);
    wait_health(e, "p-url", PROV_UP, 0, 5000);
    wait_health(e, "p-tcp", PROV_UP, 0, 5000);
    wait_health(e, "p-dns", PROV_UP, 0, 5000);
    health_engine_free(&e);
}

/* ---- tests: state machine on live targets ---------------------------- */

static void test_hysteresis_live(void **st)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "health:\n  defaults: {interval: 100ms, jitter: 0, rise: 3, fall: 2}\n  checks:\n"
             "    live: {type: http, target: \"127.0.0.1:%d\"}\n", P_LIVE);
    set_mode(P_LIVE, "ok");
    struct health_engine *e = start_each(yaml, NULL);
    /* unknown until rise=3 successes */
    assert_int_equal(get_state(e, 0, NULL).health, PROV_UNKNOWN);
    wait_health(e, "p-live", PROV_UP, 0, 3000);
    uint64_t tr, runs = check_runs(e, "live", &tr);
    assert_true(runs >= 3);
    assert_int_equal(tr, 1);
    set_mode(P_LIVE, "fail");
    wait_health(e, "p-live", PROV_DOWN, HR_STATUS_BASE + 503, 3000);
    set_mode(P_LIVE, "ok");
    wait_health(e, "p-live", PROV_UP, 0, 3000);
    check_runs(e, "live", &tr);
    assert_int_equal(tr, 3);
    struct health_stats s;
    health_engine_stats(e, &s);
    assert_int_equal(s.providers[0].transitions, 3);
    health_stats_free(&s);
    health_engine_free(&e);
}

/* After a failure, the next run comes fast_interval later: removal takes
 * about one interval, not fall intervals. */
static void test_fast_confirm(void **st)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "health:\n  publish_delay: 0\n  defaults: {interval: 1s, fast_interval: 50ms, jitter: 0, rise: 1, fall: 3}\n"
             "  checks:\n    live: {type: http, target: \"127.0.0.1:%d\"}\n", P_LIVE);
    set_mode(P_LIVE, "ok");
    struct health_engine *e = start_each(yaml, NULL);
    wait_health(e, "p-live", PROV_UP, 0, 3000);
    set_mode(P_LIVE, "fail");
    uint64_t t0 = now_ms();
    wait_health(e, "p-live", PROV_DOWN, HR_STATUS_BASE + 503, 3000);
    uint64_t took = now_ms() - t0;
    /* first failure within 1 s, two confirmations 50 ms apart; without
     * fast_interval it would take at least 2 s (fall = 3 at 1 s) */
    if (took >= 1800)
        fail_msg("removal took %llu ms", (unsigned long long)took);
    /* recovery is not hurried: the next runs are 1 s apart again */
    set_mode(P_LIVE, "ok");
    wait_health(e, "p-live", PROV_UP, 0, 3000);
    health_engine_free(&e);
}

static void test_flapping(void **st)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "health:\n  defaults: {interval: 60ms, jitter: 0, rise: 2, fall: 2}\n  checks:\n"
             "    flap: {type: http, target: \"127.0.0.1:%d\"}\n", P_FLAP);
    set_mode(P_FLAP, "ok");
    struct health_engine *e = start_each(yaml, NULL);
    wait_health(e, "p-flap", PROV_UP, 0, 3000);
    uint64_t tr0, runs0 = check_runs(e, "flap", &tr0);
    uint64_t v0;
    get_state(e, 0, &v0);
    set_mode(P_FLAP, "alternate");
    /* 30 alternating results: the state must never move */
    uint64_t end = now_ms() + 10000, tr, runs;
    do {
        assert_int_equal(get_state(e, 0, NULL).health, PROV_UP);
        pause_ms(5);
        runs = check_runs(e, "flap", &tr);
    } while (runs < runs0 + 30 && now_ms() < end);
    assert_true(runs >= runs0 + 30);
    assert_int_equal(tr, tr0);
    struct health_stats s;
    health_engine_stats(e, &s);
    assert_true(s.checks[0].failures >= 12);   /* it did see failures */
    assert_int_equal(s.providers[0].transitions, 1);
    health_stats_free(&s);
    uint64_t v1;
    get_state(e, 0, &v1);
    assert_int_equal(v1, v0);                  /* nothing was even republished */
    set_mode(P_FLAP, "ok");
    health_engine_free(&e);
}

static void test_multi_check_provider(void **st)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "health:\n  defaults: {" FAST "}\n  checks:\n"
             "    a: {type: http, target: \"127.0.0.1:%d\"}\n"
             "    b: {type: tcp, target: \"127.0.0.1:%d\"}\n"
             "    c: {type: dns, resolver: \"127.0.0.1:%d\", name: ok.test.}\n",
             P_LIVE2, P_OK, DNS_PORT);
    set_mode(P_LIVE2, "ok");
    struct health_config *c = config(yaml);
    const char *all[] = { "a", "b", "c" }, *some[] = { "b", "c" };
    struct health_target t[] = { { "all", all, 3 }, { "some", some, 2 }, { "none", NULL, 0 } };
    struct health_engine *e = NULL;
    char err[256];
    assert_int_equal(health_engine_new(c, t, 3, &e, err, sizeof err), HEALTH_OK);
    /* no checks: up from the start */
    assert_int_equal(get_state(e, 2, NULL).health, PROV_UP);
    wait_health(e, "all", PROV_UP, 0, 3000);
    wait_health(e, "some", PROV_UP, 0, 3000);
    set_mode(P_LIVE2, "fail");
    wait_health(e, "all", PROV_DOWN, HR_STATUS_BASE + 503, 3000);
    assert_int_equal(get_state(e, 1, NULL).health, PROV_UP);
    set_mode(P_LIVE2, "ok");
    wait_health(e, "all", PROV_UP, 0, 3000);
    health_engine_free(&e);
    /* validation errors */
    const char *unknown[] = { "a", "zz" };
    struct health_target bad1[] = { { "x", unknown, 2 } };
    assert_int_equal(health_engine_new(c, bad1, 1, &e, err, sizeof err), HEALTH_ERR_CONFIG);
    assert_string_equal(err, "provider 'x': unknown check 'zz'");
    struct health_target bad2[] = { { "x", all, 1 }, { "x", all, 1 } };
    assert_int_equal(health_engine_new(c, bad2, 2, &e, err, sizeof err), HEALTH_ERR_CONFIG);
    struct health_target bad3[] = { { "bad name", all, 1 } };
    assert_int_equal(health_engine_new(c, bad3, 1, &e, err, sizeof err), HEALTH_ERR_CONFIG);
    assert_null(e);
    health_config_free(&c);
}

/* ---- tests: overrides, persistence, reconfiguration ------------------ */

static void test_overrides_persist(void **st)
{
    char yaml[1024], path[256], err[256];
    snprintf(path, sizeof path, "%s/overrides.state", tmpdir);
    unlink(path);
    snprintf(yaml, sizeof yaml,
             "health:\n  state_file: \"%s\"\n  defaults: {" FAST "}\n  checks:\n"
             "    a: {type: tcp, target: \"127.0.0.1:%d\"}\n"
             "    b: {type: tcp, target: \"127.0.0.1:%d\"}\n", path, P_OK, P_CLOSED);
    struct health_engine *e = start_each(yaml, NULL);
    assert_int_equal(get_state(e, 0, NULL).admin, ADMIN_NONE);
    assert_int_equal(get_state(e, 0, NULL).weight, PROV_WEIGHT_NONE);
    /* effective on return, no polling needed */
    assert_int_equal(health_engine_set_admin(e, "p-a", ADMIN_DRAIN, err, sizeof err), HEALTH_OK);
    assert_int_equal(get_state(e, 0, NULL).admin, ADMIN_DRAIN);
    assert_int_equal(health_engine_set_weight(e, "p-a", 7, err, sizeof err), HEALTH_OK);
    assert_int_equal(get_state(e, 0, NULL).weight, 7);
    assert_int_equal(get_state(e, 0, NULL).admin, ADMIN_DRAIN);
    assert_int_equal(health_engine_set_admin(e, "p-b", ADMIN_FORCE_UP, err, sizeof err), HEALTH_OK);
    /* force up does not hide the checks' verdict: both are published */
    wait_health(e, "p-b", PROV_DOWN, HR_REFUSED, 3000);
    assert_int_equal(get_state(e, 1, NULL).admin, ADMIN_FORCE_UP);
    /* errors */
    assert_int_equal(health_engine_set_admin(e, "nope", ADMIN_FORCE_DOWN, err, sizeof err), HEALTH_ERR_UNKNOWN);
    assert_int_equal(health_engine_set_admin(e, "p-a", 9, err, sizeof err), HEALTH_ERR_INVALID);
    assert_int_equal(health_engine_set_weight(e, "p-a", HEALTH_WEIGHT_MAX + 1, err, sizeof err),
                     HEALTH_ERR_INVALID);
    assert_int_equal(health_engine_set_admin(e, "../x", ADMIN_FORCE_DOWN, err, sizeof err), HEALTH_ERR_INVALID);
    health_engine_free(&e);

    /* restart: the overrides are back in the very first table */
    e = start_each(yaml, NULL);
    assert_int_equal(get_state(e, 0, NULL).admin, ADMIN_DRAIN);
    assert_int_equal(get_state(e, 0, NULL).weight, 7);
    assert_int_equal(get_state(e, 1, NULL).admin, ADMIN_FORCE_UP);
    /* clearing persists too */
    assert_int_equal(health_engine_set_admin(e, "p-a", ADMIN_NONE, err, sizeof err), HEALTH_OK);
    assert_int_equal(health_engine_set_weight(e, "p-a", PROV_WEIGHT_NONE, err, sizeof err), HEALTH_OK);
    struct health_stats s;
    health_engine_stats(e, &s);
    assert_int_equal(s.providers[0].admin, ADMIN_NONE);
    assert_int_equal(s.providers[1].admin, ADMIN_FORCE_UP);
    health_stats_free(&s);
    /* the state file cannot be written: error, nothing changes */
    char ro[300];
    snprintf(ro, sizeof ro, "%s/ro", tmpdir);
    health_engine_free(&e);
    e = start_each(yaml, NULL);
    assert_int_equal(get_state(e, 0, NULL).admin, ADMIN_NONE);
    assert_int_equal(get_state(e, 1, NULL).admin, ADMIN_FORCE_UP);
    health_engine_free(&e);

    /* a malformed state file refuses to start */
    FILE *f = fopen(path, "w");
    fputs("provider p-a admin maybe weight -\n", f);
    fclose(f);
    struct health_config *c = config(yaml);
    const char *names[] = { "a" };
    struct health_target t = { "p-a", names, 1 };
    assert_int_equal(health_engine_new(c, &t, 1, &e, err, sizeof err), HEALTH_ERR_STATE);
    assert_non_null(strstr(err, "overrides.state:1:"));
    assert_null(e);
    health_config_free(&c);
    unlink(path);
}

static void test_override_io_error(void **st)
{
    char yaml[1024], err[256];
    snprintf(yaml, sizeof yaml,
             "health:\n  state_file: \"%s/no-such-dir/x.state\"\n  checks:\n"
             "    a: {type: tcp, target: \"127.0.0.1:%d\"}\n", tmpdir, P_OK);
    struct health_engine *e = start_each(yaml, NULL);
    assert_int_equal(health_engine_set_admin(e, "p-a", ADMIN_FORCE_DOWN, err, sizeof err), HEALTH_ERR_IO);
    assert_int_equal(get_state(e, 0, NULL).admin, ADMIN_NONE);
    health_engine_free(&e);
}

static void test_reconfigure(void **st)
{
    char yaml1[1024], yaml2[1024], err[256];
    snprintf(yaml1, sizeof yaml1,
             "health:\n  defaults: {" FAST "}\n  checks:\n"
             "    a: {type: tcp, target: \"127.0.0.1:%d\"}\n"
             "    b: {type: tcp, target: \"127.0.0.1:%d\"}\n", P_OK, P_CLOSED);
    /* b keeps its name and definition; c is new; a changes its definition */
    snprintf(yaml2, sizeof yaml2,
             "health:\n  defaults: {interval: 1s, jitter: 0, rise: 2, fall: 2}\n  checks:\n"
             "    c: {type: tcp, target: \"127.0.0.1:%d\"}\n"
             "    b: {type: tcp, target: \"127.0.0.1:%d\", interval: 30ms}\n"
             "    a: {type: http, target: \"127.0.0.1:%d\", interval: 1s}\n", P_OK, P_CLOSED, P_OK);
    struct health_config *c1 = config(yaml1), *c2 = config(yaml2);
    const char *na[] = { "a" }, *nb[] = { "b" }, *nc[] = { "c" };
    struct health_target t1[] = { { "pa", na, 1 }, { "pb", nb, 1 } };
    struct health_engine *e = NULL;
    assert_int_equal(health_engine_new(c1, t1, 2, &e, err, sizeof err), HEALTH_OK);
    wait_health(e, "pa", PROV_UP, 0, 3000);
    wait_health(e, "pb", PROV_DOWN, HR_REFUSED, 3000);
    uint64_t trb;
    check_runs(e, "b", &trb);
    /* new order: pc, pb, pa; state kept by name and visible on return */
    struct health_target t2[] = { { "pc", nc, 1 }, { "pb", nb, 1 }, { "pa", na, 1 } };
    assert_int_equal(health_engine_reconfigure(e, c2, t2, 3, err, sizeof err), HEALTH_OK);
    assert_int_equal(get_state(e, 0, NULL).health, PROV_UNKNOWN);   /* new check, 1 s interval */
    assert_int_equal(get_state(e, 1, NULL).health, PROV_DOWN);
    assert_int_equal(get_state(e, 1, NULL).reason, HR_REFUSED);
    assert_int_equal(get_state(e, 2, NULL).health, PROV_UP);        /* kept across a definition change */
    assert_int_equal(health_engine_provider_id(e, "pa"), 2);
    uint64_t tr2;
    check_runs(e, "b", &tr2);
    assert_int_equal(tr2, trb);
    /* a bad reconfiguration changes nothing */
    const char *bad[] = { "zz" };
    struct health_target t3[] = { { "pz", bad, 1 } };
    uint64_t v0, v1;
    get_state(e, 0, &v0);
    assert_int_equal(health_engine_reconfigure(e, c2, t3, 1, err, sizeof err), HEALTH_ERR_CONFIG);
    assert_int_equal(health_engine_provider_id(e, "pa"), 2);
    get_state(e, 0, &v1);
    assert_int_equal(v1, v0);
    /* shrink to nothing and back */
    assert_int_equal(health_engine_reconfigure(e, c2, NULL, 0, err, sizeof err), HEALTH_OK);
    assert_int_equal(health_engine_provider_id(e, "pa"), -1);
    assert_int_equal(health_engine_reconfigure(e, c1, t1, 2, err, sizeof err), HEALTH_OK);
    wait_health(e, "pa", PROV_UP, 0, 3000);
    health_engine_free(&e);
    health_config_free(&c1);
    health_config_free(&c2);
}

/* ---- tests: publication under concurrent readers --------------------- */

struct reader_arg {
    struct health_engine *e;
    volatile int stop;
    uint64_t reads, max_version;
};

static void *reader(void *p)
{
    struct reader_arg *a = p;
    urcu_memb_register_thread();
    while (!a->stop) {
        urcu_memb_read_lock();
        const struct prov_state_table *t = rcu_dereference(*health_engine_slot(a->e));
        if (t) {
            uint32_t sum = 0;
            for (uint32_t i = 0; i < t->n; i++)
                sum += t->s[i].health;
            (void)sum;
            if (t->version > a->max_version)
                a->max_version = t->version;
        }
        urcu_memb_read_unlock();
        a->reads++;
    }
    urcu_memb_unregister_thread();
    return NULL;
}

static void test_publication_readers(void **st)
{
    char yaml[1024], err[256];
    snprintf(yaml, sizeof yaml,
             "health:\n  publish_delay: 0\n  defaults: {interval: 20ms, jitter: 0, rise: 1, fall: 1}\n"
             "  checks:\n    a: {type: http, target: \"127.0.0.1:%d\"}\n", P_FLAP);
    set_mode(P_FLAP, "alternate");
    struct health_engine *e = start_each(yaml, NULL);
    struct reader_arg ra[2] = { { e, 0, 0, 0 }, { e, 0, 0, 0 } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, reader, &ra[i]);
    /* rise=fall=1 on an alternating target: a new table per result */
    uint64_t v0, v;
    get_state(e, 0, &v0);
    uint64_t end = now_ms() + 10000;
    do {
        pause_ms(10);
        get_state(e, 0, &v);
        health_engine_set_weight(e, "p-a", (uint32_t)(v % 100), err, sizeof err);
    } while (v < v0 + 40 && now_ms() < end);
    for (int i = 0; i < 2; i++) {
        ra[i].stop = 1;
        pthread_join(th[i], NULL);
        assert_true(ra[i].reads > 0);
        assert_true(ra[i].max_version > v0);
    }
    assert_true(v >= v0 + 40);
    set_mode(P_FLAP, "ok");
    health_engine_free(&e);
}

/* Publications are coalesced: many changes within publish_delay give one table. */
static void test_coalescing(void **st)
{
    char yaml[4096];
    int n = snprintf(yaml, sizeof yaml,
                     "health:\n  publish_delay: 300ms\n  defaults: {interval: 1s, jitter: 0, rise: 1, fall: 1}\n"
                     "  checks:\n");
    for (int i = 0; i < 20; i++)
        n += snprintf(yaml + n, sizeof yaml - (size_t)n, "    c%d: {type: tcp, target: \"127.0.0.1:%d\"}\n",
                      i, P_OK);
    uint64_t t0 = now_ms();
    struct health_engine *e = start_each(yaml, NULL);
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof name, "p-c%d", i);
        wait_health(e, name, PROV_UP, 0, 3000);
    }
    uint64_t elapsed = now_ms() - t0;
    struct health_stats s;
    health_engine_stats(e, &s);
    /* 20 transitions spread over the first interval: at most one
     * publication per 300 ms, plus the initial table and one in flight */
    assert_true(s.publications <= 2 + elapsed / 300);
    assert_true(s.publications < 20);
    health_stats_free(&s);
    health_engine_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_reasons),
        cmocka_unit_test(test_tcp),
        cmocka_unit_test(test_https),
        cmocka_unit_test(test_https_bad_ca),
        cmocka_unit_test(test_dns),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_hysteresis_live),
        cmocka_unit_test(test_fast_confirm),
        cmocka_unit_test(test_flapping),
        cmocka_unit_test(test_multi_check_provider),
        cmocka_unit_test(test_overrides_persist),
        cmocka_unit_test(test_override_io_error),
        cmocka_unit_test(test_reconfigure),
        cmocka_unit_test(test_publication_readers),
        cmocka_unit_test(test_coalescing),
    };
    return cmocka_run_group_tests_name("health_engine", tests, group_setup, group_teardown);
}
