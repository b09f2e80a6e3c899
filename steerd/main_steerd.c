/* steerd: the steer DNS authority daemon.
 * Loads the config into a snapshot, binds the listeners, starts the I/O
 * threads and the control API, then waits for signals: SIGHUP reloads (a
 * failed reload keeps the running snapshot), SIGINT/SIGTERM stop.
 *
 * Reloads come from two threads: SIGHUP on the main thread and POST
 * /v1/reload on the control thread. g_reload_lock serializes them (a reload
 * reads g_view, reconfigures the health engine and frees the old snapshot,
 * so two at once would free one snapshot twice). It is held only by
 * reloaders, never by the query path, which only reads g_view under RCU. */
#define _LGPL_SOURCE
#include <getopt.h>
#include <stdatomic.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "common/log.h"
#include "common/version.h"
#include "control/control.h"
#include "dns/server.h"
#include "steerd/privdrop.h"
#include "steerd/snapshot.h"

static struct dns_view *g_view;    /* RCU-published; read by the I/O threads */
static struct health_engine *g_health;
static pthread_mutex_t g_reload_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dns_server *_Atomic g_srv;   /* for /metrics; set once the listeners are bound */
static struct querylog *g_qlog;            /* server.query_log; NULL = off */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: steerd -c FILE [-t] [-d] [-u USER]\n"
            "  -c, --config FILE   configuration file (YAML)\n"
            "  -t, --check         check the configuration and zone files, then exit\n"
            "  -d, --debug         log at debug level\n"
            "  -u, --user USER     after binding the DNS sockets, drop root to USER and its\n"
            "                      groups (overrides server.user)\n"
            "  -V, --version       print the version\n"
            "  -h, --help          this help\n"
            "signals: HUP reloads the configuration (listen addresses and the user need a\n"
            "restart), INT/TERM stop\n"
            "exit: 0 stopped by a signal or configuration OK, 1 error, 2 usage\n");
}

/* Builds a new snapshot and swaps it in; the old one is freed once no
 * query thread can still be reading it. Caller holds g_reload_lock. On
 * failure the reason ("file:line: message") is in err. */
static int reload_locked(const char *path, char *err, size_t errlen)
{
    struct snapshot *old = snapshot_of_view(g_view);
    struct control_config cc;
    if (control_config_load(path, &cc, err, errlen) < 0) {
        log_err("reload failed, keeping generation %llu: %s", (unsigned long long)old->generation, err);
        return -1;
    }
    struct snapshot *s = snapshot_build(path, old->generation + 1, err, errlen);
    if (!s) {
        log_err("reload failed, keeping generation %llu: %s", (unsigned long long)old->generation, err);
        return -1;
    }
    size_t np = snapshot_provider_count(s);
    /* health first: until the swap below the old snapshot sees a table whose
     * layout is not its own and ignores it (all providers up) */
    if (health_engine_reconfigure(g_health, s->health, s->targets, np, err, errlen) != HEALTH_OK ||
        snapshot_activate(s, old, health_engine_slot(g_health), err, errlen) < 0) {
        log_err("reload failed, keeping generation %llu: %s", (unsigned long long)old->generation, err);
        char e2[256];
        health_engine_reconfigure(g_health, old->health, old->targets, snapshot_provider_count(old),
                                  e2, sizeof e2);
        snapshot_free(&s);
        return -1;
    }
    if (memcmp(&s->cfg.server.listen, &old->cfg.server.listen, sizeof s->cfg.server.listen) ||
        s->cfg.server.nlisten != old->cfg.server.nlisten)
        log_warn("listen addresses changed: they take effect at the next restart");
    if (memcmp(&s->cfg.query_log, &old->cfg.query_log, sizeof s->cfg.query_log))
        log_warn("server.query_log changed: it takes effect at the next restart");
    if (strcmp(s->cfg.user, old->cfg.user))
        log_warn("server.user changed: it takes effect at the next restart");
    rcu_assign_pointer(g_view, &s->view);
    urcu_memb_synchronize_rcu();
    snapshot_free(&old);
    log_set_level(s->cfg.log_level);
    log_info("reloaded configuration: generation %llu, %zu zones, %zu steered names, %zu providers",
             (unsigned long long)s->generation, s->db->nzones, snapshot_name_count(s), np);
    return 0;
}

static const char *g_path;

static int reload(char *err, size_t errlen)
{
    pthread_mutex_lock(&g_reload_lock);
    int rc = reload_locked(g_path, err, errlen);
    metrics_reload_result(rc == 0);
    pthread_mutex_unlock(&g_reload_lock);
    return rc;
}

/* ---- control API hooks (control thread) ---- */

static const char *ctl_zone_name(const void *snap, size_t i)
{
    return ((const struct snapshot *)snap)->cfg.zones[i].name;
}

/* Inside the control thread's RCU read section: the published snapshot
 * and the same runtime tables steer_dynamic (snapshot.c) reads. */
static void ctl_view(void *ctx, struct control_view *v)
{
    struct snapshot *s = snapshot_of_view(rcu_dereference(g_view));
    memset(v, 0, sizeof *v);
    v->generation = s->generation;
    v->loaded_at = s->loaded_at;
    v->nzones = s->cfg.nzones;
    v->zone_name = ctl_zone_name;
    v->snap = s;
    v->policy = s->policy;
    snapshot_read_inputs(s, &v->in);
}

static int ctl_reload(void *ctx, char *err, size_t errlen)
{
    return reload(err, errlen);
}

/* GET /metrics (steerd/metrics.h): the published snapshot inside a read
 * section; the health engine's lock is taken before it, never inside. */
static int ctl_metrics(void *ctx, struct evbuffer *out)
{
    struct health_stats hs;
    bool have_hs = health_engine_stats(g_health, &hs) == HEALTH_OK;
    urcu_memb_read_lock();
    struct snapshot *s = snapshot_of_view(rcu_dereference(g_view));
    struct metrics_sources src = { .dns = atomic_load(&g_srv), .health = have_hs ? &hs : NULL, .policy = s->policy,
                                   .generation = s->generation, .loaded_at = s->loaded_at, .qlog = g_qlog };
    int rc = metrics_render(out, &src);
    urcu_memb_read_unlock();
    if (have_hs)
        health_stats_free(&hs);
    return rc;
}

/* server.query_log: opens the log and hooks it to the I/O threads (before
 * they start). 0, or -1 with err. */
static int start_query_log(struct dns_server *srv, const struct steerd_config *cfg, char *err, size_t errlen)
{
    if (!cfg->query_log.enabled)
        return 0;
    g_qlog = querylog_start(&cfg->query_log, dns_server_io_threads(&cfg->server), err, errlen);
    if (!g_qlog)
        return -1;
    dns_server_observe(srv, cfg->query_log.sample, querylog_observe, g_qlog);
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *user = NULL;
    bool check = false, debug = false;
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' }, { "check", no_argument, NULL, 't' },
        { "debug", no_argument, NULL, 'd' },        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },         { "user", required_argument, NULL, 'u' },
        { NULL, 0, NULL, 0 },
    };
    int o;
    while ((o = getopt_long(argc, argv, "c:tdu:Vh", opts, NULL)) != -1) {
        switch (o) {
        case 'c': path = optarg; break;
        case 't': check = true; break;
        case 'd': debug = true; break;
        case 'u': user = optarg; break;
        case 'V': printf("steerd %s\n", STEER_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!path || optind != argc) {
        usage(stderr);
        return 2;
    }
    char err[1024];
    g_path = path;
    struct control_config ccfg;
    struct snapshot *s = NULL;
    if (control_config_load(path, &ccfg, err, sizeof err) < 0 || !(s = snapshot_build(path, 1, err, sizeof err))) {
        fprintf(stderr, "steerd: %s\n", err);
        return 1;
    }
    struct privdrop_user pu;
    if (!user && s->cfg.user[0])
        user = s->cfg.user;
    if (user && privdrop_lookup(user, &pu, err, sizeof err) < 0) {
        fprintf(stderr, "steerd: %s\n", err);
        snapshot_free(&s);
        return 1;
    }
    if (check) {
        printf("steerd: %s: configuration OK (%zu zones, %zu steered names, %zu providers)\n", path,
               s->db->nzones, snapshot_name_count(s), snapshot_provider_count(s));
        snapshot_free(&s);
        return 0;
    }
    log_set_level(debug ? LOG_LVL_DEBUG : s->cfg.log_level);
    if (s->cfg.log_syslog)
        log_use_syslog("steerd");
    g_view = &s->view;

    /* every thread inherits a mask blocking these; main takes them with sigwait */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    urcu_memb_register_thread();
    struct dns_server *srv = NULL;
    struct control_server *ctl = NULL;
    static const struct control_hooks hooks = { .view = ctl_view, .reload = ctl_reload,
                                                .metrics = ctl_metrics };
    /* DNS sockets as root, then (-u) everything else as the user: see steerd/privdrop.h */
    if (!(srv = dns_server_bind(&s->cfg.server, &g_view, err, sizeof err)) ||
        start_query_log(srv, &s->cfg, err, sizeof err) < 0 ||
        (user && steerd_privdrop(&pu, path, s, &ccfg, err, sizeof err) < 0) ||
        health_engine_new(s->health, s->targets, snapshot_provider_count(s), &g_health, err,
                          sizeof err) != HEALTH_OK ||
        metrics_init(dns_server_io_threads(&s->cfg.server), STEER_VERSION) < 0 ||
        snapshot_activate(s, NULL, health_engine_slot(g_health), err, sizeof err) < 0 ||
        dns_server_start(srv, err, sizeof err) < 0 ||
        (ccfg.configured && !(ctl = control_start(&ccfg, g_health, &hooks, STEER_VERSION, err, sizeof err)))) {
        log_err("%s", err);
        dns_server_stop(&srv);
        querylog_stop(&g_qlog);
        snapshot_free(&s);
        health_engine_free(&g_health);
        metrics_shutdown();
        urcu_memb_unregister_thread();
        return 1;
    }
    atomic_store(&g_srv, srv);
    char a[64];
    net_addr_format(&s->cfg.server.listen[0].addr, a, sizeof a);
    log_info("steerd %s serving %zu zones on %u addresses (first %s port %u)%s%s", STEER_VERSION, s->db->nzones,
             s->cfg.server.nlisten, a, s->cfg.server.listen[0].port, user ? " as user " : "", user ? user : "");
    for (;;) {
        /* wakes every METRICS_FAILOPEN_LOG_S for the fail-open log (off the query path) */
        struct timespec tick = { METRICS_FAILOPEN_LOG_S, 0 };
        int sig = sigtimedwait(&set, NULL, &tick);
        if (sig < 0) {
            metrics_failopen_log();
            continue;
        }
        if (sig == SIGHUP) {
            reload(err, sizeof err);
            continue;
        }
        log_info("signal %d: stopping", sig);
        break;
    }
    control_stop(&ctl);   /* before the health engine it calls into */
    atomic_store(&g_srv, NULL);
    dns_server_stop(&srv);
    querylog_stop(&g_qlog);   /* after the I/O threads: drains what they queued */
    struct snapshot *cur = snapshot_of_view(g_view);
    snapshot_free(&cur);
    health_engine_free(&g_health);
    metrics_shutdown();
    urcu_memb_unregister_thread();
    return 0;
}
