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
#include "control/config.h"

#define CTL_MAX_RESPONSE (4 * 1024 * 1024)   /* explain of a large policy fits */
#define CTL_TIMEOUT_MS 30000                 /* a reload with large zones can take seconds */
#define EDGED_DEFAULT "127.0.0.1:9081"       /* the demo PoP's admin listener (examples/) */

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
            "  purge --url URL | --prefix URL | --key KEY [--soft] [--no-propagate]\n"
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
            "      --prefix URL           purge: every URL starting with URL\n"
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
    char head[1024];
    size_t bl = body ? strlen(body) : 0;
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.0\r\nHost: steerd\r\nConnection: close\r\n%s%s%sContent-Length: %zu\r\n%s\r\n",
                      method, target, token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "",
                      bl, bl ? "Content-Type: application/json\r\n" : "");
    if (hl < 0 || (size_t)hl >= sizeof head || write_all(fd, head, (size_t)hl) < 0 ||
        (bl && write_all(fd, body, bl) < 0)) {
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


/* ------------------------------------------------------------ printing */

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "-";
}

static long long jint(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static void print_status(json_t *j)
{
    printf("version      %s\n", jstr(j, "version"));
    printf("generation   %lld\n", jint(j, "generation"));
    printf("uptime       %llds\n", jint(j, "uptime_s"));
    printf("providers    %lld\n", jint(j, "providers"));
    const char *keys[] = { "zones", "steered_names" };
    for (int k = 0; k < 2; k++) {
        json_t *a = json_object_get(j, keys[k]), *v;
        size_t i;
        printf("%-12s", k ? "names" : "zones");
        json_array_foreach(a, i, v) printf(" %s", json_string_value(v));
        printf("\n");
    }
}

static void print_providers(json_t *j)
{
    json_t *a = json_object_get(j, "providers"), *p;
    size_t i;
    printf("%-20s %-4s %-8s %-6s %-8s %s\n", "PROVIDER", "TYPE", "HEALTH", "ADMIN", "WEIGHT", "REASON");
    json_array_foreach(a, i, p) {
        json_t *w = json_object_get(p, "weight");
        char wb[24];
        if (json_is_integer(w))
            snprintf(wb, sizeof wb, "%lld", (long long)json_integer_value(w));
        else
            snprintf(wb, sizeof wb, "-");
        printf("%-20s %-4s %-8s %-6s %-8s %s\n", jstr(p, "name"), jstr(p, "type"), jstr(p, "health"),
               jstr(p, "admin"), wb, jstr(p, "reason"));
    }
}

/* The score column of an explain candidate: the ranking key (distance or
 * RUM cost) and the RUM figures behind it, "-" when the policy ranks
 * nothing (weighted, failover). */
static void explain_score(json_t *c, char *out, size_t size)
{
    json_t *k = json_object_get(c, "rank_key"), *r = json_object_get(c, "rum");
    int o = snprintf(out, size, "%s", json_is_number(k) ? "" : "-");
    if (json_is_number(k))
        o = snprintf(out, size, "%.4g", json_number_value(k));
    if (json_is_object(r) && o >= 0 && (size_t)o < size)
        snprintf(out + o, size - (size_t)o, " rum %s p50 %.1fms n=%.0f%s", jstr(r, "level"),
                 json_number_value(json_object_get(r, "p50_ms")), json_number_value(json_object_get(r, "samples")),
                 json_is_true(json_object_get(r, "trusted")) ? "" : " untrusted");
}

/* steerctl explain without --json: the decision as a table. */
static void print_explain(json_t *root)
{
    json_t *e = json_object_get(root, "explain"), *g = json_object_get(e, "geo"), *ans = json_object_get(e, "answer");
    printf("name       %s  type %s  client %s/%lld%s\n", jstr(e, "name"), jstr(e, "qtype"), jstr(e, "client"),
           jint(e, "source_len"), json_is_true(json_object_get(e, "ecs")) ? " (ECS)" : "");
    if (json_is_true(json_object_get(g, "found")))
        printf("geo        continent %s country %s subdivision %s (%s, /%lld)", jstr(g, "continent"), jstr(g, "country"),
               jstr(g, "subdivision"), jstr(g, "source"), jint(g, "prefix_len"));
    else
        printf("geo        location unknown (/%lld)", jint(g, "prefix_len"));
    if (json_is_integer(json_object_get(g, "asn")))
        printf(", asn %lld", jint(g, "asn"));
    printf("\n");
    json_t *v;
    size_t i;
    json_array_foreach(json_object_get(e, "rules"), i, v)
        printf("rule %-5lld %-40s %s\n", jint(v, "index"), jstr(v, "match"),
               json_is_true(json_object_get(v, "matched")) ? "match" : "no match");
    const char *cpool = jstr(ans, "pool"), *cprov = jstr(ans, "provider");
    json_array_foreach(json_object_get(e, "pools"), i, v) {
        printf("pool %s (%s)%s -> %s\n", jstr(v, "pool"), jstr(v, "policy"),
               json_is_true(json_object_get(v, "fail_open")) ? " FAIL-OPEN" : "", jstr(v, "outcome"));
        printf("  %-20s %7s %9s %-8s %-10s %-8s %s\n", "PROVIDER", "WEIGHT", "EFFECTIVE", "HEALTH", "ADMIN",
               "ELIGIBLE", "SCORE");
        json_t *c;
        size_t k;
        json_array_foreach(json_object_get(v, "candidates"), k, c) {
            char score[160];
            explain_score(c, score, sizeof score);
            bool chosen = !strcmp(jstr(v, "outcome"), "answer") && !strcmp(jstr(v, "pool"), cpool) &&
                          !strcmp(jstr(c, "provider"), cprov);
            printf("%c %-20s %7lld %9lld %-8s %-10s %-8s %s\n", chosen ? '*' : ' ', jstr(c, "provider"),
                   jint(c, "weight"), jint(c, "effective_weight"), jstr(c, "health"), jstr(c, "admin"),
                   json_is_true(json_object_get(c, "eligible")) ? "yes" : "no", score);
        }
    }
    printf("answer     %s", jstr(ans, "kind"));
    if (json_is_string(json_object_get(ans, "cname")))
        printf(" %s", jstr(ans, "cname"));
    json_array_foreach(json_object_get(ans, "addresses"), i, v) printf(" %s", json_string_value(v));
    printf("\nchosen     %s (rule %lld, pool %s)\n", cprov, jint(ans, "rule"), cpool);
    bool deg = json_is_true(json_object_get(ans, "degraded")), fo = json_is_true(json_object_get(ans, "failed_open"));
    printf("ttl        %lld%s%s%s%s\n", jint(ans, "ttl"), deg || fo ? " (" : "", deg ? "degraded" : "",
           deg && fo ? ", " : "", fo ? "failed open)" : deg ? ")" : "");
    printf("scope      /%lld\n", jint(ans, "scope"));
}

/* percent-encodes a query value (names and addresses need little) */
static void qenc(char *out, size_t size, const char *s)
{
    size_t o = 0;
    for (; *s && o + 4 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr(".-_:", c))
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, size - o, "%%%02X", c);
    }
    out[o] = '\0';
}

/* ---------------------------------------------------- edged metrics */

/* Parses Prometheus text exposition into {"name{labels}": value}. Comment
 * and malformed lines are skipped; the number of lines is bounded by the
 * response size (CTL_MAX_RESPONSE). */
static json_t *metrics_to_json(const char *text)
{
    json_t *o = json_object();
    for (const char *p = text; o && *p;) {
        const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p);
        if (*p != '#' && end > p) {
            char line[1024];
            size_t n = (size_t)(end - p) < sizeof line - 1 ? (size_t)(end - p) : sizeof line - 1;
            memcpy(line, p, n);
            line[n] = '\0';
            char *sp = strrchr(line, ' '), *num_end;
            if (sp && sp != line) {
                *sp = '\0';
                double v = strtod(sp + 1, &num_end);
                if (num_end != sp + 1)
                    json_object_set_new(o, line, json_real(v));
            }
        }
        p = nl ? nl + 1 : end;
    }
    return o;
}

static double metric(json_t *m, const char *name)
{
    return json_number_value(json_object_get(m, name));
}

static void human_bytes(double b, char *out, size_t size)
{
    const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int i = 0;
    while (b >= 1024 && i < 4) {
        b /= 1024;
        i++;
    }
    snprintf(out, size, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}

/* edge-status without --json: health plus the counters people look at. */
static void print_edge_status(const char *edged, bool healthy, json_t *m)
{
    char b1[32], b2[32];
    double hits = metric(m, "edged_cache_hits_total"), miss = metric(m, "edged_cache_misses_total");
    printf("edged        %s\n", edged);
    printf("health       %s\n", healthy ? "ok" : "unavailable");
    printf("requests     %.0f\n", metric(m, "edged_requests_total"));
    printf("hits         %.0f (%.1f%% of hits and misses)\n", hits, hits + miss > 0 ? 100.0 * hits / (hits + miss) : 0.0);
    printf("misses       %.0f\n", miss);
    printf("stale        %.0f served, %.0f revalidated\n", metric(m, "edged_cache_stale_total"),
           metric(m, "edged_cache_revalidated_total"));
    human_bytes(metric(m, "edged_cache_bytes"), b1, sizeof b1);
    printf("memory       %.0f objects, %s\n", metric(m, "edged_cache_objects"), b1);
    if (json_object_get(m, "edged_disk_objects")) {
        human_bytes(metric(m, "edged_disk_bytes"), b1, sizeof b1);
        printf("disk         %.0f objects, %s\n", metric(m, "edged_disk_objects"), b1);
    }
    human_bytes(metric(m, "edged_sent_bytes_total"), b1, sizeof b1);
    human_bytes(metric(m, "edged_upstream_bytes_total"), b2, sizeof b2);
    printf("traffic      %s sent, %s from upstreams\n", b1, b2);
    printf("upstream     %.0f requests, %.0f failures, %.0f fallbacks\n", metric(m, "edged_upstream_requests_total"),
           metric(m, "edged_upstream_failures_total"), metric(m, "edged_upstream_fallbacks_total"));
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        /* edged_upstream_up{site="demo",role="shield",addr="127.0.0.1:8090"} 1 */
        if (strncmp(k, "edged_upstream_up{", 18))
            continue;
        printf("  %-10s %s\n", json_number_value(v) > 0 ? "up" : "DOWN", k + 17);
    }
    printf("purges       %.0f (%.0f objects)\n", metric(m, "edged_purges_total"), metric(m, "edged_purged_objects_total"));
    printf("connections  %.0f open, %.0f total\n", metric(m, "edged_connections_open"),
           metric(m, "edged_connections_total"));
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
        const char *d = jstr(j, "detail");
        fprintf(stderr, "steerctl: %s: %d %s%s%s\n", cmd, r->status, jstr(j, "error"), strcmp(d, "-") ? ": " : "",
                strcmp(d, "-") ? d : "");
        return;
    }
    size_t n = strlen(r->body);
    while (n && (r->body[n - 1] == '\n' || r->body[n - 1] == '\r'))
        n--;
    fprintf(stderr, "steerctl: %s: %d %.*s\n", cmd, r->status, (int)n, r->body);
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
    json_t *mj = metrics_to_json(m.body);
    free(m.body);
    if (!mj) {
        fprintf(stderr, "steerctl: out of memory\n");
        return CTL_CONNECT;
    }
    if (op->json) {
        json_t *o = json_pack("{s:s,s:b,s:O}", "edged", t->text, "healthy", healthy, "metrics", mj);
        char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
        if (s)
            puts(s);
        free(s);
        json_decref(o);
    } else {
        print_edge_status(t->text, healthy, mj);
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
    char target[8192], body[64] = "";
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
    json_t *j = NULL;
    if (kind == K_EDGE_METRICS) {
        if (rc != CTL_OK) {
            print_refusal(cmd, &r, NULL);
        } else if (op.json) {
            j = metrics_to_json(r.body);
            char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
            if (s)
                puts(s);
            free(s);
        } else {
            fputs(r.body, stdout);
        }
        json_decref(j);
        free(r.body);
        return rc;
    }
    json_error_t je;
    j = json_loads(r.body, 0, &je);
    if (rc != CTL_OK && !op.json) {
        print_refusal(cmd, &r, j);
    } else if (op.json || !j) {
        fputs(r.body, rc == CTL_OK ? stdout : stderr);
    } else if (kind == K_STATUS) {
        print_status(j);
    } else if (kind == K_PROVIDERS) {
        print_providers(j);
    } else if (kind == K_CHANGE) {
        json_t *w = json_object_get(j, "weight");
        printf("%s: admin %s, weight ", jstr(j, "provider"), jstr(j, "admin"));
        if (json_is_integer(w))
            printf("%lld\n", (long long)json_integer_value(w));
        else
            printf("from config\n");
    } else if (kind == K_RELOAD) {
        printf("reloaded: generation %lld\n", jint(j, "generation"));
    } else if (kind == K_PURGE) {
        long long np = jint(j, "propagated");
        printf("purged %lld object%s%s", jint(j, "purged"), jint(j, "purged") == 1 ? "" : "s",
               json_is_true(json_object_get(j, "soft")) ? " (soft: marked stale)" : "");
        if (np)
            printf(", forwarded to %lld shield%s", np, np == 1 ? "" : "s");
        printf("\n");
    } else {
        print_explain(j);
    }
    json_decref(j);
    free(r.body);
    return rc;
}
