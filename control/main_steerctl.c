/* steerctl: command-line client of steerd's control API (control/control.h)
 * and of edged's admin API (edge/admin.h).
 * A small HTTP/1.0 client over one blocking socket per command (both APIs
 * listen on loopback); tables for people, --json for scripts.
 * Exit codes (enum ctl_exit): 0 done, 1 the server refused or answered an
 * error (4xx/5xx; edge-status: edged unhealthy), 2 usage (bad arguments,
 * unreadable token file), 3 no usable answer (cannot connect, timeout,
 * malformed response). */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <jansson.h>

#include "common/netaddr.h"
#include "common/version.h"
#include "control/cli.h"
#include "control/config.h"

#define CTL_MAX_RESPONSE (4 * 1024 * 1024)   /* explain of a large policy fits */
#define CTL_TIMEOUT_MS 30000                 /* a reload with large zones can take seconds */
#define EDGED_DEFAULT "127.0.0.1:9081"       /* the demo PoP's admin listener (examples/) */
/* A request target: a purge argument of 2048 characters, every one
 * percent-encoded (3 x 2048), plus the path and flags. */
#define CTL_MAX_TARGET 8192

enum ctl_exit { CTL_OK = 0, CTL_REFUSED = 1, CTL_USAGE = 2, CTL_CONNECT = 3 };

static void usage(FILE *f)
{
    fprintf(f,
            "usage: steerctl [OPTIONS] COMMAND [ARGS]\n"
            "steerd commands (control API, --server):\n"
            "  status                     version, generation, zones, steered names\n"
            "  providers                  health and overrides per provider\n"
            "  up|down|drain|clear NAME   set (clear: remove) a provider's admin override\n"
            "  weight NAME N              set a provider's weight override\n"
            "  reload                     reload the configuration (validated first)\n"
            "  explain NAME CLIENT_IP [--ecs PREFIX] [--qtype A|AAAA]\n"
            "                             the decision for a client: rules, candidates\n"
            "                             (weight, health, score), choice, TTL, ECS scope\n"
            "edged commands (admin API, --edged):\n"
            "  purge --url URL | --prefix PREFIX | --key KEY [--soft] [--no-propagate]\n"
            "                             remove (--soft: mark stale) cached objects; also\n"
            "                             purges the shields unless --no-propagate\n"
            "  edge-status                health and a summary of the cache counters\n"
            "  edge-metrics               the Prometheus metrics (--json: name -> value)\n"
            "options:\n"
            "  -s, --server HOST:PORT     steerd control API (default 127.0.0.1:8053)\n"
            "  -e, --edged HOST:PORT      edged admin API (default $STEER_EDGED or " EDGED_DEFAULT ")\n"
            "  -t, --token-file FILE      bearer token for writes (default: $STEER_TOKEN_FILE\n"
            "                             for steerd, $STEER_EDGED_TOKEN_FILE for purge)\n"
            "  -j, --json                 print JSON for scripts\n"
            "      --ecs PREFIX           explain: the ECS client subnet\n"
            "      --qtype A|AAAA         explain: the query type (default A)\n"
            "      --url URL              purge: one URL (all its variants)\n"
            "      --prefix PREFIX        purge: every cache key starting with PREFIX\n"
            "                             (keys are http://host/path?query; a port is ignored)\n"
            "      --key KEY              purge: every object tagged Surrogate-Key KEY\n"
            "      --soft                 purge: mark stale instead of deleting\n"
            "      --no-propagate         purge: this edged only, not its shields\n"
            "  -V, --version              print the version\n"
            "  -h, --help                 this help\n"
            "exit: 0 ok, 1 the server refused or answered an error (edge-status: unhealthy),\n"
            "      2 usage, 3 cannot connect or no valid answer\n");
}

struct resp {
    int status;
    char *body;   /* malloced, NUL-terminated */
};

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One request; returns 0 with *r, or -1 with a message printed. */
static int http(const struct net_addr *a, uint16_t port, const char *method, const char *target,
                const char *token, const char *body, struct resp *r)
{
    struct sockaddr_storage ss;
    socklen_t sl = net_addr_to_sockaddr(a, port, &ss);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) < 0) {
        char h[64];
        net_addr_format(a, h, sizeof h);
        fprintf(stderr, "steerctl: cannot connect to %s port %u: %s\n", h, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char head[CTL_MAX_TARGET + CONTROL_TOKEN_MAX + 256];   /* + the fixed header lines */
    size_t bl = body ? strlen(body) : 0;
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.0\r\nHost: steerd\r\nConnection: close\r\n%s%s%sContent-Length: %zu\r\n%s\r\n",
                      method, target, token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "",
                      bl, bl ? "Content-Type: application/json\r\n" : "");
    if (hl < 0 || (size_t)hl >= sizeof head) {
        fprintf(stderr, "steerctl: request too long\n");
        close(fd);
        return -1;
    }
    if (write_all(fd, head, (size_t)hl) < 0 || (bl && write_all(fd, body, bl) < 0)) {
        fprintf(stderr, "steerctl: sending the request failed: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        struct pollfd p = { fd, POLLIN, 0 };
        int pr = buf ? poll(&p, 1, CTL_TIMEOUT_MS) : -1;
        if (pr <= 0) {
            fprintf(stderr, "steerctl: %s\n", pr == 0 ? "timed out waiting for the server" : "read failed");
            goto fail;
        }
        if (len + 1 >= cap) {
            if (cap >= CTL_MAX_RESPONSE) {
                fprintf(stderr, "steerctl: response larger than %d bytes\n", CTL_MAX_RESPONSE);
                goto fail;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                goto fail;
            buf = nb;
            cap *= 2;
        }
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "steerctl: read failed: %s\n", strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    char *sep = strstr(buf, "\r\n\r\n");
    int st;
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &st) != 1) {
        fprintf(stderr, "steerctl: malformed response from the server\n");
        free(buf);
        return -1;
    }
    r->status = st;
    memmove(buf, sep + 4, len - (size_t)(sep + 4 - buf) + 1);
    r->body = buf;
    return 0;
fail:
    free(buf);
    close(fd);
    return -1;
}


/* percent-encodes a query value (names and addresses need little) */
static void qenc(char *out, size_t size, const char *s)
{
    size_t o = 0;
    for (; *s && o + 3 < size; s++) {   /* room for "%XX" and the NUL */
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr(".-_:", c))
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, size - o, "%%%02X", c);
    }
    out[o] = '\0';
}

/* ---------------------------------------------------------------- main */

struct target {
    const char *text;   /* as given, for messages */
    struct net_addr addr;
    uint16_t port;
};

/* HOST:PORT, also accepting http://HOST:PORT[/] (an admin URL). */
static int parse_target(const char *opt, const char *text, uint16_t dport, struct target *t)
{
    char buf[256];
    const char *p = text;
    if (!strncasecmp(p, "http://", 7))
        p += 7;
    snprintf(buf, sizeof buf, "%s", p);
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '/')
        buf[n - 1] = '\0';
    t->text = text;
    if (net_hostport_parse(buf, dport, &t->addr, &t->port) < 0 || !t->port) {
        fprintf(stderr, "steerctl: %s %s: expected ADDRESS:PORT\n", opt, text);
        return -1;
    }
    return 0;
}

/* Reads the bearer token for a write. Returns 0, or -1 with a message. */
static int load_token(const char *cmd, const char *file, const char *env, char *token, size_t size)
{
    char why[1200];
    if (!file) {
        fprintf(stderr, "steerctl: %s needs a token: --token-file FILE or %s\n", cmd, env);
        return -1;
    }
    if (control_token_read(file, token, size, why, sizeof why) < 0) {
        fprintf(stderr, "steerctl: %s\n", why);
        return -1;
    }
    return 0;
}

/* An error reply: the API's {"error","detail"} or edged's text body. */
static void print_refusal(const char *cmd, const struct resp *r, json_t *j)
{
    if (j) {
        const char *d = cli_jstr(j, "detail");
        fprintf(stderr, "steerctl: %s: %d %s%s%s\n", cmd, r->status, cli_jstr(j, "error"), strcmp(d, "-") ? ": " : "",
                strcmp(d, "-") ? d : "");
        return;
    }
    size_t n = strlen(r->body);
    while (n && (r->body[n - 1] == '\n' || r->body[n - 1] == '\r'))
        n--;
    fprintf(stderr, "steerctl: %s: %d %.*s\n", cmd, r->status, (int)n, r->body);
}

/* --json output of a document steerctl builds itself (edged replies are
 * text); consumes j, prints nothing when it is NULL. */
static void print_json(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    if (s)
        puts(s);
    free(s);
    json_decref(j);
}

struct opts {
    const char *server, *edged, *token_file, *ecs, *qtype;
    const char *purge_url, *purge_prefix, *purge_key;
    bool json, soft, no_propagate;
};

enum kind { K_STATUS, K_PROVIDERS, K_CHANGE, K_RELOAD, K_EXPLAIN, K_PURGE, K_EDGE_STATUS, K_EDGE_METRICS };

/* Builds the request of a command. Returns 0, or CTL_USAGE with a message. */
static int build_request(const struct opts *op, int nargs, char **args, enum kind *kind, bool *edge, bool *write,
                         char *target, size_t tsize, char *body, size_t bsize)
{
    const char *cmd = args[0];
    char n[300];
    *edge = *write = false;
    if (!strcmp(cmd, "status") && nargs == 1) {
        *kind = K_STATUS;
        snprintf(target, tsize, "/v1/status");
    } else if (!strcmp(cmd, "providers") && nargs == 1) {
        *kind = K_PROVIDERS;
        snprintf(target, tsize, "/v1/providers");
    } else if ((!strcmp(cmd, "up") || !strcmp(cmd, "down") || !strcmp(cmd, "drain") || !strcmp(cmd, "clear")) &&
               nargs == 2) {
        *kind = K_CHANGE;
        qenc(n, sizeof n, args[1]);
        snprintf(target, tsize, "/v1/providers/%s/%s", n, cmd);
        *write = true;
    } else if (!strcmp(cmd, "weight") && nargs == 3) {
        char *end;
        errno = 0;
        long long w = strtoll(args[2], &end, 10);
        if (errno || *end || end == args[2] || w < 0) {
            fprintf(stderr, "steerctl: weight: '%s' is not a non-negative integer\n", args[2]);
            return CTL_USAGE;
        }
        *kind = K_CHANGE;
        qenc(n, sizeof n, args[1]);
        snprintf(target, tsize, "/v1/providers/%s/weight", n);
        snprintf(body, bsize, "{\"weight\": %lld}", w);
        *write = true;
    } else if (!strcmp(cmd, "reload") && nargs == 1) {
        *kind = K_RELOAD;
        snprintf(target, tsize, "/v1/reload");
        *write = true;
    } else if (!strcmp(cmd, "explain") && nargs == 3) {
        *kind = K_EXPLAIN;
        char c[200], e[200] = "", q[16] = "";
        qenc(n, sizeof n, args[1]);
        qenc(c, sizeof c, args[2]);
        if (op->ecs)
            qenc(e, sizeof e, op->ecs);
        if (op->qtype)
            qenc(q, sizeof q, op->qtype);
        snprintf(target, tsize, "/v1/explain?name=%s&client=%s%s%s%s%s", n, c, op->ecs ? "&ecs=" : "", e,
                 op->qtype ? "&qtype=" : "", q);
    } else if (!strcmp(cmd, "purge") && nargs == 1) {
        int given = !!op->purge_url + !!op->purge_prefix + !!op->purge_key;
        if (given != 1) {
            fprintf(stderr, "steerctl: purge needs exactly one of --url, --prefix, --key\n");
            return CTL_USAGE;
        }
        const char *what = op->purge_url ? "url" : op->purge_prefix ? "prefix" : "key";
        const char *arg = op->purge_url ? op->purge_url : op->purge_prefix ? op->purge_prefix : op->purge_key;
        if (!arg[0] || strlen(arg) > 2048) {
            fprintf(stderr, "steerctl: purge --%s: empty or longer than 2048 characters\n", what);
            return CTL_USAGE;
        }
        char a[3 * 2048 + 1];
        qenc(a, sizeof a, arg);
        snprintf(target, tsize, "/purge?%s=%s%s%s", what, a, op->soft ? "&soft=1" : "",
                 op->no_propagate ? "&propagate=0" : "");
        *kind = K_PURGE;
        *edge = *write = true;
    } else if (!strcmp(cmd, "edge-status") && nargs == 1) {
        *kind = K_EDGE_STATUS;
        *edge = true;
        snprintf(target, tsize, "/health");
    } else if (!strcmp(cmd, "edge-metrics") && nargs == 1) {
        *kind = K_EDGE_METRICS;
        *edge = true;
        snprintf(target, tsize, "/metrics");
    } else {
        fprintf(stderr, "steerctl: unknown command or wrong arguments: %s\n", cmd);
        usage(stderr);
        return CTL_USAGE;
    }
    if ((op->purge_url || op->purge_prefix || op->purge_key || op->soft || op->no_propagate) && *kind != K_PURGE) {
        fprintf(stderr, "steerctl: --url, --prefix, --key, --soft and --no-propagate are for purge\n");
        return CTL_USAGE;
    }
    if ((op->ecs || op->qtype) && *kind != K_EXPLAIN) {
        fprintf(stderr, "steerctl: --ecs and --qtype are for explain\n");
        return CTL_USAGE;
    }
    return CTL_OK;
}

/* edge-status: /health, then /metrics for the summary. */
static int edge_status(const struct opts *op, const struct target *t)
{
    struct resp h, m;
    if (http(&t->addr, t->port, "GET", "/health", NULL, NULL, &h) < 0)
        return CTL_CONNECT;
    bool healthy = h.status == 200;
    if (h.status != 200 && h.status != 503) {
        print_refusal("edge-status", &h, NULL);
        free(h.body);
        return CTL_REFUSED;
    }
    free(h.body);
    if (http(&t->addr, t->port, "GET", "/metrics", NULL, NULL, &m) < 0)
        return CTL_CONNECT;
    if (m.status != 200) {
        print_refusal("edge-status", &m, NULL);
        free(m.body);
        return CTL_REFUSED;
    }
    json_t *mj = cli_metrics_to_json(m.body);
    free(m.body);
    if (!mj) {
        fprintf(stderr, "steerctl: out of memory\n");
        return CTL_CONNECT;
    }
    if (op->json) {
        print_json(json_pack("{s:s,s:b,s:O}", "edged", t->text, "healthy", healthy, "metrics", mj));
    } else {
        cli_print_edge_status(stdout, t->text, healthy, mj);
    }
    json_decref(mj);
    return healthy ? CTL_OK : CTL_REFUSED;
}

int main(int argc, char **argv)
{
    struct opts op = { .server = "127.0.0.1:8053", .edged = getenv("STEER_EDGED") };
    if (!op.edged || !op.edged[0])
        op.edged = EDGED_DEFAULT;
    enum { O_ECS = 256, O_QTYPE, O_URL, O_PREFIX, O_KEY, O_SOFT, O_NOPROP };
    static const struct option opts[] = {
        { "server", required_argument, NULL, 's' }, { "edged", required_argument, NULL, 'e' },
        { "token-file", required_argument, NULL, 't' }, { "json", no_argument, NULL, 'j' },
        { "ecs", required_argument, NULL, O_ECS }, { "qtype", required_argument, NULL, O_QTYPE },
        { "url", required_argument, NULL, O_URL }, { "prefix", required_argument, NULL, O_PREFIX },
        { "key", required_argument, NULL, O_KEY }, { "soft", no_argument, NULL, O_SOFT },
        { "no-propagate", no_argument, NULL, O_NOPROP }, { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
    };
    int o;
    while ((o = getopt_long(argc, argv, "s:e:t:jVh", opts, NULL)) != -1) {
        switch (o) {
        case 's': op.server = optarg; break;
        case 'e': op.edged = optarg; break;
        case 't': op.token_file = optarg; break;
        case 'j': op.json = true; break;
        case O_ECS: op.ecs = optarg; break;
        case O_QTYPE: op.qtype = optarg; break;
        case O_URL: op.purge_url = optarg; break;
        case O_PREFIX: op.purge_prefix = optarg; break;
        case O_KEY: op.purge_key = optarg; break;
        case O_SOFT: op.soft = true; break;
        case O_NOPROP: op.no_propagate = true; break;
        case 'V': printf("steerctl %s\n", STEER_VERSION); return CTL_OK;
        case 'h': usage(stdout); return CTL_OK;
        default: usage(stderr); return CTL_USAGE;
        }
    }
    int nargs = argc - optind;
    char **args = argv + optind;
    if (nargs < 1) {
        usage(stderr);
        return CTL_USAGE;
    }
    enum kind kind;
    bool edge, write;
    char target[CTL_MAX_TARGET], body[64] = "";
    int rc = build_request(&op, nargs, args, &kind, &edge, &write, target, sizeof target, body, sizeof body);
    if (rc != CTL_OK)
        return rc;
    struct target t;
    if (edge ? parse_target("--edged", op.edged, 80, &t) < 0 : parse_target("-s", op.server, 8053, &t) < 0)
        return CTL_USAGE;
    if (kind == K_EDGE_STATUS)
        return edge_status(&op, &t);
    const char *cmd = args[0];
    char token[CONTROL_TOKEN_MAX + 1];
    if (write) {
        const char *env = edge ? "STEER_EDGED_TOKEN_FILE" : "STEER_TOKEN_FILE";
        if (load_token(cmd, op.token_file ? op.token_file : getenv(env), env, token, sizeof token) < 0)
            return CTL_USAGE;
    }
    struct resp r;
    if (http(&t.addr, t.port, write ? "POST" : "GET", target, write ? token : NULL, body[0] ? body : NULL, &r) < 0)
        return CTL_CONNECT;
    rc = r.status >= 200 && r.status < 300 ? CTL_OK : CTL_REFUSED;
    if (kind == K_EDGE_METRICS) {
        if (rc != CTL_OK)
            print_refusal(cmd, &r, NULL);
        else if (op.json)
            print_json(cli_metrics_to_json(r.body));
        else
            fputs(r.body, stdout);
        free(r.body);
        return rc;
    }
    json_error_t je;
    json_t *j = json_loads(r.body, 0, &je);
    if (rc != CTL_OK && !op.json) {
        print_refusal(cmd, &r, j);
    } else if (op.json || !j) {
        fputs(r.body, rc == CTL_OK ? stdout : stderr);
    } else if (kind == K_STATUS) {
        cli_print_status(stdout, j);
    } else if (kind == K_PROVIDERS) {
        cli_print_providers(stdout, j);
    } else if (kind == K_CHANGE) {
        json_t *w = json_object_get(j, "weight");
        printf("%s: admin %s, weight ", cli_jstr(j, "provider"), cli_jstr(j, "admin"));
        if (json_is_integer(w))
            printf("%lld\n", (long long)json_integer_value(w));
        else
            printf("from config\n");
    } else if (kind == K_RELOAD) {
        printf("reloaded: generation %lld\n", cli_jint(j, "generation"));
    } else if (kind == K_PURGE) {
        long long np = cli_jint(j, "propagated");
        printf("purged %lld object%s%s", cli_jint(j, "purged"), cli_jint(j, "purged") == 1 ? "" : "s",
               json_is_true(json_object_get(j, "soft")) ? " (soft: marked stale)" : "");
        if (np)
            printf(", forwarded to %lld shield%s", np, np == 1 ? "" : "s");
        printf("\n");
    } else {
        cli_print_explain(stdout, j);
    }
    json_decref(j);
    free(r.body);
    return rc;
}
