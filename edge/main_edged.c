/* edge/main_edged.c: the edged daemon (HTTP edge cache).
 *   edged -c FILE [-t] [-l err|warn|info|debug]
 * -t checks the configuration and exits (0 when valid, 1 with file:line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "edge/config.h"
#include "edge/server.h"

static void usage(void)
{
    fprintf(stderr, "usage: edged -c FILE [-t] [-l err|warn|info|debug]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *file = NULL;
    bool test = false;
    int opt;
    while ((opt = getopt(argc, argv, "c:tl:h")) != -1) {
        switch (opt) {
        case 'c': file = optarg; break;
        case 't': test = true; break;
        case 'l': {
            enum log_level l;
            if (log_level_parse(optarg, &l) != 0) usage();
            log_set_level(l);
            break;
        }
        default: usage();
        }
    }
    if (!file || optind != argc) usage();
    struct edge_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) { fprintf(stderr, "edged: out of memory\n"); return 1; }
    char err[1024];
    if (edge_config_load(file, cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        free(cfg);
        return 1;
    }
    if (test) {
        printf("%s: configuration ok (%u sites)\n", file, cfg->nsites);
        free(cfg);
        return 0;
    }
    struct server *sv = server_new(cfg, err, sizeof err);
    if (!sv) {
        fprintf(stderr, "edged: %s\n", err);
        free(cfg);
        return 1;
    }
    log_info("edged tier %s ready (%u sites)", cfg->tier, cfg->nsites);
    int rc = server_run(sv);
    server_free(&sv);
    free(cfg);
    return rc == 0 ? 0 : 1;
}
