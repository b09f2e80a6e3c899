/* control/cli.c: steerctl's rendering of server replies (see cli.h). */
#include "control/cli.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ JSON */

const char *cli_jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "-";
}

long long cli_jint(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* A string array element, "-" for anything else. */
static const char *sval(json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : "-";
}

void cli_print_status(FILE *f, json_t *j)
{
    fprintf(f, "version      %s\n", cli_jstr(j, "version"));
    fprintf(f, "generation   %lld\n", cli_jint(j, "generation"));
    fprintf(f, "uptime       %llds\n", cli_jint(j, "uptime_s"));
    fprintf(f, "providers    %lld\n", cli_jint(j, "providers"));
    const char *keys[] = { "zones", "steered_names" };
    for (int k = 0; k < 2; k++) {
        json_t *a = json_object_get(j, keys[k]), *v;
        size_t i;
        fprintf(f, "%-12s", k ? "names" : "zones");
        json_array_foreach(a, i, v) fprintf(f, " %s", sval(v));
        fprintf(f, "\n");
    }
}

void cli_print_providers(FILE *f, json_t *j)
{
    json_t *a = json_object_get(j, "providers"), *p;
    size_t i;
    fprintf(f, "%-20s %-4s %-8s %-6s %-8s %s\n", "PROVIDER", "TYPE", "HEALTH", "ADMIN", "WEIGHT", "REASON");
    json_array_foreach(a, i, p) {
        json_t *w = json_object_get(p, "weight");
        char wb[24];
        if (json_is_integer(w))
            snprintf(wb, sizeof wb, "%lld", (long long)json_integer_value(w));
        else
            snprintf(wb, sizeof wb, "-");
        fprintf(f, "%-20s %-4s %-8s %-6s %-8s %s\n", cli_jstr(p, "name"), cli_jstr(p, "type"), cli_jstr(p, "health"),
               cli_jstr(p, "admin"), wb, cli_jstr(p, "reason"));
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
        snprintf(out + o, size - (size_t)o, " rum %s p50 %.1fms n=%.0f%s", cli_jstr(r, "level"),
                 json_number_value(json_object_get(r, "p50_ms")), json_number_value(json_object_get(r, "samples")),
                 json_is_true(json_object_get(r, "trusted")) ? "" : " untrusted");
}

/* steerctl explain without --json: the decision as a table. */
void cli_print_explain(FILE *f, json_t *root)
{
    json_t *e = json_object_get(root, "explain"), *g = json_object_get(e, "geo"), *ans = json_object_get(e, "answer");
    fprintf(f, "name       %s  type %s  client %s/%lld%s\n", cli_jstr(e, "name"), cli_jstr(e, "qtype"), cli_jstr(e, "client"),
           cli_jint(e, "source_len"), json_is_true(json_object_get(e, "ecs")) ? " (ECS)" : "");
    if (json_is_true(json_object_get(g, "found")))
        fprintf(f, "geo        continent %s country %s subdivision %s (%s, /%lld)", cli_jstr(g, "continent"), cli_jstr(g, "country"),
               cli_jstr(g, "subdivision"), cli_jstr(g, "source"), cli_jint(g, "prefix_len"));
    else
        fprintf(f, "geo        location unknown (/%lld)", cli_jint(g, "prefix_len"));
    if (json_is_integer(json_object_get(g, "asn")))
        fprintf(f, ", asn %lld", cli_jint(g, "asn"));
    fprintf(f, "\n");
    json_t *v;
    size_t i;
    json_array_foreach(json_object_get(e, "rules"), i, v)
        fprintf(f, "rule %-5lld %-40s %s\n", cli_jint(v, "index"), cli_jstr(v, "match"),
               json_is_true(json_object_get(v, "matched")) ? "match" : "no match");
    const char *cpool = cli_jstr(ans, "pool"), *cprov = cli_jstr(ans, "provider");
    json_array_foreach(json_object_get(e, "pools"), i, v) {
        fprintf(f, "pool %s (%s)%s -> %s\n", cli_jstr(v, "pool"), cli_jstr(v, "policy"),
               json_is_true(json_object_get(v, "fail_open")) ? " FAIL-OPEN" : "", cli_jstr(v, "outcome"));
        fprintf(f, "  %-20s %7s %9s %-8s %-10s %-8s %s\n", "PROVIDER", "WEIGHT", "EFFECTIVE", "HEALTH", "ADMIN",
               "ELIGIBLE", "SCORE");
        json_t *c;
        size_t k;
        json_array_foreach(json_object_get(v, "candidates"), k, c) {
            char score[160];
            explain_score(c, score, sizeof score);
            bool chosen = !strcmp(cli_jstr(v, "outcome"), "answer") && !strcmp(cli_jstr(v, "pool"), cpool) &&
                          !strcmp(cli_jstr(c, "provider"), cprov);
            fprintf(f, "%c %-20s %7lld %9lld %-8s %-10s %-8s %s\n", chosen ? '*' : ' ', cli_jstr(c, "provider"),
                   cli_jint(c, "weight"), cli_jint(c, "effective_weight"), cli_jstr(c, "health"), cli_jstr(c, "admin"),
                   json_is_true(json_object_get(c, "eligible")) ? "yes" : "no", score);
        }
        json_t *rum = json_object_get(v, "rum");
        if (json_is_object(rum) && json_is_string(json_object_get(rum, "level")))
            fprintf(f, "  rum: decided by %s%s\n", cli_jstr(rum, "level"),
                    json_is_true(json_object_get(rum, "explored")) ? " (exploring)" : "");
        else if (json_is_object(rum))
            fprintf(f, "  rum: no level decides (weighted)\n");
    }
    fprintf(f, "answer     %s", cli_jstr(ans, "kind"));
    if (json_is_string(json_object_get(ans, "cname")))
        fprintf(f, " %s", cli_jstr(ans, "cname"));
    json_array_foreach(json_object_get(ans, "addresses"), i, v) fprintf(f, " %s", sval(v));
    fprintf(f, "\nchosen     %s (rule %lld, pool %s)\n", cprov, cli_jint(ans, "rule"), cpool);
    bool deg = json_is_true(json_object_get(ans, "degraded")), fo = json_is_true(json_object_get(ans, "failed_open"));
    fprintf(f, "ttl        %lld%s%s%s%s\n", cli_jint(ans, "ttl"), deg || fo ? " (" : "", deg ? "degraded" : "",
           deg && fo ? ", " : "", fo ? "failed open)" : deg ? ")" : "");
    fprintf(f, "scope      /%lld\n", cli_jint(ans, "scope"));
}

/* ---------------------------------------------------- edged metrics */

/* Parses Prometheus text exposition into {"name{labels}": value}. Comment
 * and malformed lines are skipped, and so are lines longer than the line
 * buffer (cut, they would give a wrong name or value); the number of lines
 * is bounded by the response size (CTL_MAX_RESPONSE). */
json_t *cli_metrics_to_json(const char *text)
{
    json_t *o = json_object();
    for (const char *p = text; o && *p;) {
        const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p);
        char line[1024];
        if (*p != '#' && end > p && (size_t)(end - p) < sizeof line) {
            size_t n = (size_t)(end - p);
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
void cli_print_edge_status(FILE *f, const char *edged, bool healthy, json_t *m)
{
    char b1[32], b2[32];
    double hits = metric(m, "edged_cache_hits_total"), miss = metric(m, "edged_cache_misses_total");
    fprintf(f, "edged        %s\n", edged);
    fprintf(f, "health       %s\n", healthy ? "ok" : "unavailable");
    fprintf(f, "requests     %.0f\n", metric(m, "edged_requests_total"));
    fprintf(f, "hits         %.0f (%.1f%% of hits and misses)\n", hits, hits + miss > 0 ? 100.0 * hits / (hits + miss) : 0.0);
    fprintf(f, "misses       %.0f\n", miss);
    fprintf(f, "stale        %.0f served, %.0f revalidated\n", metric(m, "edged_cache_stale_total"),
           metric(m, "edged_cache_revalidated_total"));
    human_bytes(metric(m, "edged_cache_bytes"), b1, sizeof b1);
    fprintf(f, "memory       %.0f objects, %s\n", metric(m, "edged_cache_objects"), b1);
    if (json_object_get(m, "edged_disk_objects")) {
        human_bytes(metric(m, "edged_disk_bytes"), b1, sizeof b1);
        fprintf(f, "disk         %.0f objects, %s\n", metric(m, "edged_disk_objects"), b1);
    }
    human_bytes(metric(m, "edged_sent_bytes_total"), b1, sizeof b1);
    human_bytes(metric(m, "edged_upstream_bytes_total"), b2, sizeof b2);
    fprintf(f, "traffic      %s sent, %s from upstreams\n", b1, b2);
    fprintf(f, "upstream     %.0f requests, %.0f failures, %.0f fallbacks\n", metric(m, "edged_upstream_requests_total"),
           metric(m, "edged_upstream_failures_total"), metric(m, "edged_upstream_fallbacks_total"));
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        /* edged_upstream_up{site="demo",role="shield",addr="127.0.0.1:8090"} 1 */
        if (strncmp(k, "edged_upstream_up{", 18))
            continue;
        fprintf(f, "  %-10s %s\n", json_number_value(v) > 0 ? "up" : "DOWN", k + 17);
    }
    fprintf(f, "purges       %.0f (%.0f objects)\n", metric(m, "edged_purges_total"), metric(m, "edged_purged_objects_total"));
    fprintf(f, "connections  %.0f open, %.0f total\n", metric(m, "edged_connections_open"),
           metric(m, "edged_connections_total"));
}
