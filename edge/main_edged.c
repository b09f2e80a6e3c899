/* edge/main_edged.c: the edged daemon (HTTP edge cache).
 *   edged -c FILE [-t] [-l err|warn|info|debug] [-u USER]
 * -t checks the configuration and exits (0 when valid, 1 with file:line).
 *
 * Privileges: server_new() binds every listener (ports 80/443 need root)
 * and opens what may be readable only by root (TLS keys) or created by root
 * (the access log, then handed to the user); then -u / `user:` drops to the
 * user (common/privdrop.h) before the event loop handles any request. The
 * disk cache directory is written later, as the user: it must be the
 * user's (checked at startup); the subdirectories edged creates in it as
 * root are handed to the user. The disk writer thread already exists at the drop; glibc applies
 * the new IDs to every thread, and it has no work before the loop runs.
 *
 * Signals: INT/TERM stop. HUP reopens the access log (log rotation); the
 * configuration is not reloaded (changes, listen addresses included, need
 * a restart). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/privdrop.h"
#include "common/version.h"
#include "edge/config.h"
#include "edge/edged.h"
#include "edge/server.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: edged -c FILE [-t] [-l LEVEL] [-u USER]\n"
            "  -c, --config FILE      configuration file (YAML)\n"
            "  -t, --check            check the configuration, then exit\n"
            "  -l, --log-level LEVEL  err, warn, info or debug (overrides log_level)\n"
            "  -u, --user USER        after binding the listeners, drop root to USER and\n"
            "                         its groups (overrides user)\n"
            "  -V, --version          print the version\n"
            "  -h, --help             this help\n"
            "signals: HUP reopens the access log (configuration changes need a restart),\n"
            "INT/TERM stop\n"
            "exit: 0 stopped by a signal or configuration OK, 1 error, 2 usage\n");
}

/* SIGHUP, on the loop thread: a new access log file after rotation. The
 * old file stays in use if the new one cannot be opened. */
static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    (void)sig; (void)what;
    struct edged *ed = arg;
    const char *path = ed->cfg->access_log;
    if (!ed->access_log || ed->access_log == stdout) {
        log_info("SIGHUP: no access log file to reopen (configuration changes need a restart)");
        return;
    }
    FILE *f = fopen(path, "ae");
    if (!f) {
        log_err("SIGHUP: cannot reopen access log %s: %s (still writing the old file)", path, strerror(errno));
        return;
    }
    fclose(ed->access_log);
    ed->access_log = f;
    log_info("SIGHUP: access log %s reopened (configuration changes need a restart)", path);
}

/* Switches to the user after the listeners exist, then checks what edged
 * writes later. The access log, opened (maybe created) as root, is handed
 * to the user first, so that a SIGHUP without rotation can reopen it; its
 * directory must be writable for a rotated log to be created anew, which
 * is only warned about (the old file keeps being written). Returns 0 or -1
 * with err. */
static int drop_privileges(struct edged *ed, const struct privdrop_user *u, char *err, size_t errlen)
{
    /* the disk tier's own subdirectories (edge/disk.c, disk_open), created
     * by it as root when missing; the writer thread fills them later */
    static const char *const disk_sub[] = { "", "/objects", "/tmp" };
    const struct edge_config *cfg = ed->cfg;
    char p[EDGE_PATH_MAX + 16];
    bool log_file = ed->access_log && ed->access_log != stdout;
    if (log_file && fchown(fileno(ed->access_log), u->uid, u->gid) != 0) {
        snprintf(err, errlen, "access_log %s: chown to %s: %s", cfg->access_log, u->name, strerror(errno));
        return -1;
    }
    for (size_t i = 1; cfg->disk_dir[0] && i < sizeof disk_sub / sizeof *disk_sub; i++) {
        struct stat st;
        snprintf(p, sizeof p, "%s%s", cfg->disk_dir, disk_sub[i]);
        if (stat(p, &st) == 0 && st.st_uid == 0 && chown(p, u->uid, u->gid) != 0) {
            snprintf(err, errlen, "cache.disk.dir %s: chown to %s: %s", p, u->name, strerror(errno));
            return -1;
        }
    }
    if (privdrop_apply(u, err, errlen) != PRIVDROP_OK)
        return -1;
    for (size_t i = 0; cfg->disk_dir[0] && i < sizeof disk_sub / sizeof *disk_sub; i++) {
        snprintf(p, sizeof p, "%s%s", cfg->disk_dir, disk_sub[i]);
        if (privdrop_check_dir_writable("cache.disk.dir", p, err, errlen) != PRIVDROP_OK)
            return -1;
    }
    char why[1024];
    if (log_file && privdrop_check_file_writable("access_log", cfg->access_log, why, sizeof why) != PRIVDROP_OK)
        log_warn("%s: after a log rotation SIGHUP cannot create the new file (the old one stays in use)", why);
    return 0;
}

int main(int argc, char **argv)
{
    const char *file = NULL, *user = NULL;
    bool test = false, have_level = false;
    enum log_level level = LOG_LVL_INFO;
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' }, { "check", no_argument, NULL, 't' },
        { "log-level", required_argument, NULL, 'l' }, { "user", required_argument, NULL, 'u' },
        { "version", no_argument, NULL, 'V' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "c:tl:u:Vh", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': file = optarg; break;
        case 't': test = true; break;
        case 'l':
            if (log_level_parse(optarg, &level) != 0) {
                fprintf(stderr, "edged: -l %s: want err, warn, info or debug\n", optarg);
                return 2;
            }
            have_level = true;
            break;
        case 'u': user = optarg; break;
        case 'V': printf("edged %s\n", STEER_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!file || optind != argc) {
        usage(stderr);
        return 2;
    }
    struct edge_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) { fprintf(stderr, "edged: out of memory\n"); return 1; }
    char err[1024];
    if (edge_config_load(file, cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        free(cfg);
        return 1;
    }
    if (!user && cfg->user[0])
        user = cfg->user;
    struct privdrop_user pu;
    if (user && privdrop_lookup(user, &pu, err, sizeof err) != PRIVDROP_OK) {
        fprintf(stderr, "edged: %s\n", err);
        free(cfg);
        return 1;
    }
    if (test) {
        printf("%s: configuration ok (%u sites)\n", file, cfg->nsites);
        free(cfg);
        return 0;
    }
    log_set_level(have_level ? level : cfg->log_level);
    if (cfg->log_syslog)
        log_use_syslog("edged");
    struct server *sv = server_new(cfg, err, sizeof err);
    if (!sv || (user && drop_privileges(server_edged(sv), &pu, err, sizeof err) != 0)) {
        fprintf(stderr, "edged: %s\n", err);
        server_free(&sv);
        free(cfg);
        return 1;
    }
    struct edged *ed = server_edged(sv);
    struct event *hup = evsignal_new(ed->base, SIGHUP, on_hup, ed);
    if (!hup || evsignal_add(hup, NULL) != 0) {
        log_err("edged: cannot handle SIGHUP");
        if (hup) event_free(hup);
        server_free(&sv);
        free(cfg);
        return 1;
    }
    log_info("edged tier %s ready (%u sites, version %s)%s%s", cfg->tier, cfg->nsites, STEER_VERSION,
             user ? " as user " : "", user ? user : "");
    int rc = server_run(sv);
    event_free(hup);
    server_free(&sv);
    free(cfg);
    return rc == 0 ? 0 : 1;
}
