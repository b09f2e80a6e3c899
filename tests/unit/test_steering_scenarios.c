/* tests/unit/test_steering_scenarios.c: runs the steering scenario files in
 * tests/scenarios/steering/NAME.scn (one TAP test per file). Format, one
 * command per line, '#' starts a comment:
 *
 *   config PATH                      YAML config (relative to the .scn file)
 *   state PROVIDER up|down|unknown|force-up|force-down|drain|none|weight N
 *   flat PROVIDER 4|6 ADDR... [ttl N]     resolved CDN target (apex flattening)
 *   flat PROVIDER clear
 *   query NAME A|AAAA from ADDR [ecs PREFIX] expect EXPECTATION...
 *
 * EXPECTATION is one of `addrs A1 [A2...]`, `cname TARGET.`, `nodata`, `any`,
 * followed by any of `scope N`, `provider P`, `pool P`, `rule N`, `ttl N`,
 * `failed-open`, `degraded`, `not-degraded`. With `ecs` the client is the
 * ECS prefix (source length = its length); otherwise `from` with /32 or /128.
 * Failures print file:line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cfg.h"
#include "steering/flatten.h"
#include "steering/steering.h"

#define SCN_DIR "tests/scenarios/steering"

struct scn {
    char path[512];
    struct cfg_ctx ctx;
    struct steer_policy *p;
    struct prov_state_table *st;
    struct steer_flat_table *ft;
    int line;
    int failures;
};

__attribute__((format(printf, 2, 3))) static void scn_fail(struct scn *s, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_error("%s:%d: %s\n", s->path, s->line, msg);
    s->failures++;
}

static void scn_free(struct scn *s)
{
    steer_policy_free(&s->p);
    cfg_free(&s->ctx);
    free(s->st);
    free(s->ft);
    s->st = NULL;
    s->ft = NULL;
}

static int cmd_config(struct scn *s, char **tok, int n)
{
    if (n != 2)
        return scn_fail(s, "usage: config PATH"), -1;
    char path[1024];
    const char *slash = strrchr(s->path, '/');
    snprintf(path, sizeof path, "%.*s/%s", slash ? (int)(slash - s->path) : 1, slash ? s->path : ".", tok[1]);
    scn_free(s);
    if (cfg_load(&s->ctx, path) < 0 || steer_policy_compile(&s->ctx, cfg_root(&s->ctx), &s->p) < 0)
        return scn_fail(s, "config: %s", s->ctx.err), -1;
    size_t np = steer_policy_provider_count(s->p);
    s->st = calloc(1, sizeof *s->st + np * sizeof s->st->s[0]);
    s->ft = steer_flat_table_new(s->p);
    assert_non_null(s->st);
    assert_non_null(s->ft);
    s->st->n = (uint32_t)np;
    for (size_t i = 0; i < np; i++)
        s->st->s[i] = (struct prov_state){ .health = PROV_UNKNOWN, .weight = PROV_WEIGHT_NONE };
    return 0;
}

static int prov_id(struct scn *s, const char *name)
{
    int id = s->p ? steer_provider_find(s->p, name) : -1;
    if (id < 0)
        scn_fail(s, "unknown provider '%s'", name);
    return id;
}

static int cmd_state(struct scn *s, char **tok, int n)
{
    if (n < 3)
        return scn_fail(s, "usage: state PROVIDER STATE"), -1;
    int id = prov_id(s, tok[1]);
    if (id < 0)
        return -1;
    struct prov_state *ps = &s->st->s[id];
    const char *v = tok[2];
    if (!strcmp(v, "up")) ps->health = PROV_UP;
    else if (!strcmp(v, "down")) ps->health = PROV_DOWN;
    else if (!strcmp(v, "unknown")) ps->health = PROV_UNKNOWN;
    else if (!strcmp(v, "force-up")) ps->admin = ADMIN_FORCE_UP;
    else if (!strcmp(v, "force-down")) ps->admin = ADMIN_FORCE_DOWN;
    else if (!strcmp(v, "drain")) ps->admin = ADMIN_DRAIN;
    else if (!strcmp(v, "none")) ps->admin = ADMIN_NONE;
    else if (!strcmp(v, "weight") && n == 4) ps->weight = (uint32_t)strtoul(tok[3], NULL, 10);
    else
        return scn_fail(s, "unknown state '%s'", v), -1;
    s->st->version++;
    return 0;
}

static int cmd_flat(struct scn *s, char **tok, int n)
{
    if (n < 3)
        return scn_fail(s, "usage: flat PROVIDER 4|6 ADDR... [ttl N] | flat PROVIDER clear"), -1;
    int id = prov_id(s, tok[1]);
    if (id < 0)
        return -1;
    struct steer_flat_entry *e = &s->ft->e[id];
    if (!strcmp(tok[2], "clear")) {
        memset(e, 0, sizeof *e);
        return 0;
    }
    int fam = atoi(tok[2]);
    if (fam == 4)
        e->n4 = 0;
    else
        e->n6 = 0;
    e->ttl = 300;
    for (int i = 3; i < n; i++) {
        if (!strcmp(tok[i], "ttl") && i + 1 < n) {
            e->ttl = (uint32_t)strtoul(tok[++i], NULL, 10);
            continue;
        }
        struct net_addr a;
        if (net_addr_parse(tok[i], &a) < 0 || a.family != fam)
            return scn_fail(s, "bad address '%s'", tok[i]), -1;
        if (fam == 4)
            memcpy(e->v4[e->n4++], a.bytes, 4);
        else
            memcpy(e->v6[e->n6++], a.bytes, 16);
    }
    s->ft->version++;
    return 0;
}

static void fmt_answer(const struct steer_policy *p, const struct steer_answer *a, int fam, char *buf, size_t size)
{
    size_t o = 0;
    if (a->kind == STEER_NODATA) {
        snprintf(buf, size, "nodata");
        o = strlen(buf);
    } else if (a->kind == STEER_CNAME) {
        o += (size_t)snprintf(buf, size, "cname ");
        for (size_t i = 0; i < a->cname_len && a->cname[i] && o + 70 < size;) {
            unsigned l = a->cname[i++];
            memcpy(buf + o, a->cname + i, l);
            o += l;
            i += l;
            buf[o++] = '.';
        }
        buf[o] = 0;
    } else {
        o += (size_t)snprintf(buf, size, "addrs");
        for (unsigned i = 0; i < a->naddr; i++) {
            struct net_addr na = { .family = (uint8_t)fam };
            memcpy(na.bytes, a->addr[i], fam == 4 ? 4 : 16);
            char t[64];
            net_addr_format(&na, t, sizeof t);
            o += (size_t)snprintf(buf + o, size - o, " %s", t);
        }
    }
    snprintf(buf + o, size - o, " scope %u provider %s pool %u rule %u ttl %u%s%s", a->scope,
             a->kind == STEER_NODATA ? "-" : steer_provider_name(p, a->provider), a->pool, a->rule, a->ttl,
             a->failed_open ? " failed-open" : "", a->degraded ? " degraded" : "");
}

static int cmd_query(struct scn *s, char **tok, int n)
{
    if (!s->p)
        return scn_fail(s, "query before config"), -1;
    if (n < 6)
        return scn_fail(s, "usage: query NAME A|AAAA from ADDR [ecs PREFIX] expect ..."), -1;
    uint8_t wire[256];
    int wl = steer_name_to_wire(tok[1], wire, sizeof wire);
    const struct steer_name *nm = wl > 0 ? steer_policy_find_name(s->p, wire, (size_t)wl) : NULL;
    if (!nm)
        return scn_fail(s, "unknown steered name '%s'", tok[1]), -1;
    uint16_t qt = !strcmp(tok[2], "A") ? 1 : !strcmp(tok[2], "AAAA") ? 28 : 0;
    struct steer_client c = { 0 };
    int i = 3;
    if (strcmp(tok[i], "from") || net_addr_parse(tok[i + 1], &c.addr) < 0)
        return scn_fail(s, "expected 'from ADDR'"), -1;
    c.source_len = (uint8_t)net_addr_maxlen(&c.addr);
    i += 2;
    if (i < n && !strcmp(tok[i], "ecs")) {
        struct net_prefix pf;
        if (i + 1 >= n || net_prefix_parse(tok[i + 1], false, &pf) < 0)
            return scn_fail(s, "bad ECS prefix"), -1;
        c.addr = pf.addr;
        c.source_len = pf.len;
        c.has_ecs = true;
        i += 2;
    }
    if (i >= n || strcmp(tok[i], "expect"))
        return scn_fail(s, "expected 'expect'"), -1;
    i++;
    struct steer_inputs in = { .state = s->st, .flat = s->ft };
    struct steer_answer a;
    if (steer_decide(s->p, nm, &c, qt, &in, &a) != STEER_OK)
        return scn_fail(s, "steer_decide failed"), -1;
    int fam = qt == 1 ? 4 : 6;
    char got[1024];
    fmt_answer(s->p, &a, fam, got, sizeof got);
    bool ok = true;
    char why[256] = "";
    if (i < n && !strcmp(tok[i], "nodata")) {
        ok &= a.kind == STEER_NODATA;
        i++;
    } else if (i + 1 < n && !strcmp(tok[i], "cname")) {
        char want[300];
        snprintf(want, sizeof want, "cname %s", tok[i + 1]);
        ok &= a.kind == STEER_CNAME && !strncmp(got, want, strlen(want)) && got[strlen(want)] == ' ';
        i += 2;
    } else if (i < n && !strcmp(tok[i], "addrs")) {
        i++;
        unsigned k = 0;
        ok &= a.kind == STEER_ADDRS;
        for (; i < n && strchr(tok[i], fam == 4 ? '.' : ':'); i++, k++) {
            struct net_addr w;
            if (net_addr_parse(tok[i], &w) < 0)
                return scn_fail(s, "bad address '%s'", tok[i]), -1;
            ok &= k < a.naddr && !memcmp(a.addr[k], w.bytes, fam == 4 ? 4 : 16);
        }
        ok &= k == a.naddr;
    } else if (i < n && !strcmp(tok[i], "any")) {
        i++;
    } else {
        return scn_fail(s, "expected addrs, cname, nodata or any"), -1;
    }
    if (!ok)
        snprintf(why, sizeof why, "answer");
    for (; i < n; i++) {
        const char *k = tok[i];
        const char *v = i + 1 < n ? tok[i + 1] : "";
        if (!strcmp(k, "scope")) { if (a.scope != atoi(v)) { ok = false; snprintf(why, sizeof why, "scope"); } i++; }
        else if (!strcmp(k, "ttl")) { if (a.ttl != (uint32_t)atoi(v)) { ok = false; snprintf(why, sizeof why, "ttl"); } i++; }
        else if (!strcmp(k, "rule")) { if (a.rule != atoi(v)) { ok = false; snprintf(why, sizeof why, "rule"); } i++; }
        else if (!strcmp(k, "provider")) {
            if (a.kind == STEER_NODATA || strcmp(steer_provider_name(s->p, a.provider), v)) { ok = false; snprintf(why, sizeof why, "provider"); }
            i++;
        } else if (!strcmp(k, "pool")) {
            /* pool by name: find its index by exploring the explain JSON is
             * overkill; compare with the explain text line "pool NAME" */
            char ex[8192];
            steer_explain(s->p, nm, &c, qt, &in, false, ex, sizeof ex);
            char want[128];
            snprintf(want, sizeof want, " pool %s ttl", v);
            if (!strstr(ex, want)) { ok = false; snprintf(why, sizeof why, "pool"); }
            i++;
        }
        else if (!strcmp(k, "failed-open")) { if (!a.failed_open) { ok = false; snprintf(why, sizeof why, "failed-open"); } }
        else if (!strcmp(k, "degraded")) { if (!a.degraded) { ok = false; snprintf(why, sizeof why, "degraded"); } }
        else if (!strcmp(k, "not-degraded")) { if (a.degraded) { ok = false; snprintf(why, sizeof why, "not-degraded"); } }
        else
            return scn_fail(s, "unknown expectation '%s'", k), -1;
    }
    /* explain must describe exactly the decision that was made */
    {
        char js[16384];
        char want[128];
        if (steer_explain(s->p, nm, &c, qt, &in, true, js, sizeof js) < 0) {
            ok = false;
            snprintf(why, sizeof why, "explain failed");
        } else {
            const char *ans = strstr(js, "\"answer\":");
            if (!ans)
                ans = "";
            snprintf(want, sizeof want, "\"scope\":%u", a.scope);
            if (!strstr(ans, want)) { ok = false; snprintf(why, sizeof why, "explain scope"); }
            snprintf(want, sizeof want, "\"ttl\":%u", a.ttl);
            if (!strstr(ans, want)) { ok = false; snprintf(why, sizeof why, "explain ttl"); }
            snprintf(want, sizeof want, "\"provider\":\"%s\"", steer_provider_name(s->p, a.provider));
            if (a.kind != STEER_NODATA && !strstr(ans, want)) { ok = false; snprintf(why, sizeof why, "explain provider"); }
        }
    }
    if (!ok) {
        char ex[8192];
        steer_explain(s->p, nm, &c, qt, &in, false, ex, sizeof ex);
        scn_fail(s, "%s mismatch: got %s\n%s", why, got, ex);
    }
    return 0;
}

static void run_file(void **state)
{
    struct scn *s = calloc(1, sizeof *s);
    assert_non_null(s);
    snprintf(s->path, sizeof s->path, "%s", (const char *)*state);
    FILE *f = fopen(s->path, "r");
    assert_non_null(f);
    char line[2048];
    int queries = 0;
    while (fgets(line, sizeof line, f)) {
        s->line++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *tok[64];
        int n = 0;
        for (char *save = NULL, *t = strtok_r(line, " \t\r\n", &save); t && n < 64; t = strtok_r(NULL, " \t\r\n", &save))
            tok[n++] = t;
        if (n == 0)
            continue;
        if (!strcmp(tok[0], "config")) cmd_config(s, tok, n);
        else if (!strcmp(tok[0], "state")) cmd_state(s, tok, n);
        else if (!strcmp(tok[0], "flat")) cmd_flat(s, tok, n);
        else if (!strcmp(tok[0], "query")) { cmd_query(s, tok, n); queries++; }
        else scn_fail(s, "unknown command '%s'", tok[0]);
    }
    fclose(f);
    int failures = s->failures;
    scn_free(s);
    free(s);
    assert_true(queries > 0);
    assert_int_equal(failures, 0);
}

int main(void)
{
    DIR *d = opendir(SCN_DIR);
    if (!d) {
        fprintf(stderr, "cannot open %s (run from the repository root)\n", SCN_DIR);
        return 1;
    }
    static char names[64][512];
    struct CMUnitTest tests[64];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 64) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".scn"))
            continue;
        snprintf(names[n], sizeof names[n], "%s/%s", SCN_DIR, de->d_name);
        tests[n] = (struct CMUnitTest){ .name = names[n], .test_func = run_file, .initial_state = names[n] };
        n++;
    }
    closedir(d);
    if (n == 0) {
        fprintf(stderr, "no scenarios in %s\n", SCN_DIR);
        return 1;
    }
    return _cmocka_run_group_tests("steering scenarios", tests, n, NULL, NULL);
}
