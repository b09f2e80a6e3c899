/* steerctl: command-line client of steerd's control API (control/control.h).
 * A small HTTP/1.0 client over one blocking socket per command (the API
 * listens on loopback); tables for people, --json for scripts.
 * Exit codes: 0 done, 1 the server refused (4xx/5xx), 2 usage or
 * connection error. */
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
#include "control/config.h"

#define CTL_MAX_RESPONSE (4 * 1024 * 1024)   /* explain of a large policy fits */
#define CTL_TIMEOUT_MS 30000                 /* a reload with large zones can take seconds */

enum ctl_exit { CTL_OK = 0, CTL_REFUSED = 1, CTL_USAGE = 2 };

static void usage(FILE *f)
{
    fprintf(f,
            "usage: steerctl [-s HOST:PORT] [--token-file FILE] [--json] COMMAND\n"
            "commands:\n"
            "  status                     version, generation, zones, steered names\n"
            "  providers                  health and overrides per provider\n"
            "  up|down|drain|clear NAME   set (clear: remove) a provider's admin override\n"
            "  weight NAME N              set a provider's weight override\n"
            "  reload                     reload the configuration (validated first)\n"
            "  explain NAME CLIENT_IP [--ecs PREFIX] [--qtype A|AAAA]\n"
            "options:\n"
            "  -s, --server HOST:PORT     control API address (default 127.0.0.1:8053)\n"
            "  -t, --token-file FILE      bearer token for writes (or $STEER_TOKEN_FILE)\n"
            "  -j, --json                 print the server's JSON\n"
            "exit: 0 ok, 1 the server refused, 2 usage or connection error\n");
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

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "-";
}

static void print_status(json_t *j)
{
    printf("version      %s\n", jstr(j, "version"));
    printf("generation   %lld\n", (long long)json_integer_value(json_object_get(j, "generation")));
    printf("uptime       %llds\n", (long long)json_integer_value(json_object_get(j, "uptime_s")));
    printf("providers    %lld\n", (long long)json_integer_value(json_object_get(j, "providers")));
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

int main(int argc, char **argv)
{
    const char *server = "127.0.0.1:8053", *token_file = getenv("STEER_TOKEN_FILE"), *ecs = NULL, *qtype = NULL;
    bool json = false;
    static const struct option opts[] = {
        { "server", required_argument, NULL, 's' }, { "token-file", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },         { "ecs", required_argument, NULL, 'e' },
        { "qtype", required_argument, NULL, 'q' },  { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int o;
    while ((o = getopt_long(argc, argv, "s:t:jh", opts, NULL)) != -1) {
        switch (o) {
        case 's': server = optarg; break;
        case 't': token_file = optarg; break;
        case 'j': json = true; break;
        case 'e': ecs = optarg; break;
        case 'q': qtype = optarg; break;
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
    struct net_addr addr;
    uint16_t port;
    if (net_hostport_parse(server, 8053, &addr, &port) < 0 || !port) {
        fprintf(stderr, "steerctl: -s %s: expected ADDRESS:PORT\n", server);
        return CTL_USAGE;
    }
    const char *cmd = args[0], *method = "GET";
    char target[1200], body[64] = "";
    bool write = false;
    enum { P_STATUS, P_PROVIDERS, P_CHANGE, P_RELOAD, P_EXPLAIN } kind;
    if (!strcmp(cmd, "status") && nargs == 1) {
        kind = P_STATUS;
        snprintf(target, sizeof target, "/v1/status");
    } else if (!strcmp(cmd, "providers") && nargs == 1) {
        kind = P_PROVIDERS;
        snprintf(target, sizeof target, "/v1/providers");
    } else if ((!strcmp(cmd, "up") || !strcmp(cmd, "down") || !strcmp(cmd, "drain") || !strcmp(cmd, "clear")) &&
               nargs == 2) {
        kind = P_CHANGE;
        char n[300];
        qenc(n, sizeof n, args[1]);
        snprintf(target, sizeof target, "/v1/providers/%s/%s", n, cmd);
        write = true;
    } else if (!strcmp(cmd, "weight") && nargs == 3) {
        char *end;
        errno = 0;
        long long w = strtoll(args[2], &end, 10);
        if (errno || *end || end == args[2] || w < 0) {
            fprintf(stderr, "steerctl: weight: '%s' is not a non-negative integer\n", args[2]);
            return CTL_USAGE;
        }
        kind = P_CHANGE;
        char n[300];
        qenc(n, sizeof n, args[1]);
        snprintf(target, sizeof target, "/v1/providers/%s/weight", n);
        snprintf(body, sizeof body, "{\"weight\": %lld}", w);
        write = true;
    } else if (!strcmp(cmd, "reload") && nargs == 1) {
        kind = P_RELOAD;
        snprintf(target, sizeof target, "/v1/reload");
        write = true;
    } else if (!strcmp(cmd, "explain") && nargs == 3) {
        kind = P_EXPLAIN;
        char n[300], c[200], e[200] = "", q[16] = "";
        qenc(n, sizeof n, args[1]);
        qenc(c, sizeof c, args[2]);
        if (ecs)
            qenc(e, sizeof e, ecs);
        if (qtype)
            qenc(q, sizeof q, qtype);
        snprintf(target, sizeof target, "/v1/explain?name=%s&client=%s%s%s%s%s", n, c, ecs ? "&ecs=" : "", e,
                 qtype ? "&qtype=" : "", q);
    } else {
        fprintf(stderr, "steerctl: unknown command or wrong arguments: %s\n", cmd);
        usage(stderr);
        return CTL_USAGE;
    }
    char token[CONTROL_TOKEN_MAX + 1];
    if (write) {
        method = "POST";
        char why[1200];
        if (!token_file) {
            fprintf(stderr, "steerctl: %s needs a token: --token-file FILE or STEER_TOKEN_FILE\n", cmd);
            return CTL_USAGE;
        }
        if (control_token_read(token_file, token, sizeof token, why, sizeof why) < 0) {
            fprintf(stderr, "steerctl: %s\n", why);
            return CTL_USAGE;
        }
    }
    struct resp r;
    if (http(&addr, port, method, target, write ? token : NULL, body[0] ? body : NULL, &r) < 0)
        return CTL_USAGE;
    json_error_t je;
    json_t *j = json_loads(r.body, 0, &je);
    int rc = r.status >= 200 && r.status < 300 ? CTL_OK : CTL_REFUSED;
    if (json || !j) {
        fputs(r.body, rc == CTL_OK ? stdout : stderr);
    } else if (rc != CTL_OK) {
        const char *d = jstr(j, "detail");
        fprintf(stderr, "steerctl: %s: %d %s%s%s\n", cmd, r.status, jstr(j, "error"), strcmp(d, "-") ? ": " : "",
                strcmp(d, "-") ? d : "");
    } else if (kind == P_STATUS) {
        print_status(j);
    } else if (kind == P_PROVIDERS) {
        print_providers(j);
    } else if (kind == P_CHANGE) {
        json_t *w = json_object_get(j, "weight");
        printf("%s: admin %s, weight ", jstr(j, "provider"), jstr(j, "admin"));
        if (json_is_integer(w))
            printf("%lld\n", (long long)json_integer_value(w));
        else
            printf("from config\n");
    } else if (kind == P_RELOAD) {
        printf("reloaded: generation %lld\n", (long long)json_integer_value(json_object_get(j, "generation")));
    } else {
        char *t = json_dumps(json_object_get(j, "explain"), JSON_INDENT(2));
        if (t)
            puts(t);
        free(t);
    }
    json_decref(j);
    free(r.body);
    return rc;
}
