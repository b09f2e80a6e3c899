/* common/prom.c: Prometheus text format helpers (see prom.h). */
#include "common/prom.h"

#include <event2/buffer.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ---- private helpers ---------------------------------------------------- */

/* HELP text escapes backslash and newline only (the format's rule). */
static void add_help(struct evbuffer *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            evbuffer_add(b, "\\\\", 2);
        else if (*s == '\n')
            evbuffer_add(b, "\\n", 2);
        else
            evbuffer_add(b, s, 1);
    }
}

static void add_name_labels(struct evbuffer *b, const char *name, const char *suffix, const struct prom_labels *l,
                            const char *extra)
{
    evbuffer_add_printf(b, "%s%s", name, suffix);
    bool has = l && l->len;
    if (!has && !extra)
        return;
    evbuffer_add(b, "{", 1);
    if (has)
        evbuffer_add(b, l->buf, l->len);
    if (extra)
        evbuffer_add_printf(b, "%s%s", has ? "," : "", extra);
    evbuffer_add(b, "}", 1);
}

/* A float the way Prometheus parsers read it (+Inf/-Inf/NaN spelled out). */
static void add_double(struct evbuffer *b, double v)
{
    if (isnan(v))
        evbuffer_add_printf(b, "NaN");
    else if (isinf(v))
        evbuffer_add_printf(b, v > 0 ? "+Inf" : "-Inf");
    else
        evbuffer_add_printf(b, "%.15g", v);
}

/* ---- API ---------------------------------------------------------------- */

void prom_family(struct evbuffer *b, const char *name, enum prom_type t, const char *help)
{
    static const char *const tn[] = { "counter", "gauge", "histogram" };
    evbuffer_add_printf(b, "# HELP %s ", name);
    add_help(b, help);
    evbuffer_add_printf(b, "\n# TYPE %s %s\n", name, tn[t]);
}

void prom_labels_init(struct prom_labels *l)
{
    l->len = 0;
    l->buf[0] = '\0';
}

int prom_label(struct prom_labels *l, const char *key, const char *value)
{
    size_t at = l->len, cap = sizeof l->buf - 1;
    size_t kl = strlen(key);
    if (at + (at ? 1 : 0) + kl + 2 > cap)
        return -1;
    if (at)
        l->buf[at++] = ',';
    memcpy(l->buf + at, key, kl);
    at += kl;
    l->buf[at++] = '=';
    l->buf[at++] = '"';
    for (const char *s = value; *s; s++) {
        const char *rep = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
        size_t rl = rep ? 2 : 1;
        if (at + rl + 1 > cap) {
            l->buf[l->len] = '\0';
            return -1;
        }
        if (rep)
            memcpy(l->buf + at, rep, 2);
        else
            l->buf[at] = *s;
        at += rl;
    }
    if (at + 1 > cap) {
        l->buf[l->len] = '\0';
        return -1;
    }
    l->buf[at++] = '"';
    l->buf[at] = '\0';
    l->len = at;
    return 0;
}

void prom_u64(struct evbuffer *b, const char *name, const struct prom_labels *l, uint64_t v)
{
    add_name_labels(b, name, "", l, NULL);
    evbuffer_add_printf(b, " %llu\n", (unsigned long long)v);
}

void prom_double(struct evbuffer *b, const char *name, const struct prom_labels *l, double v)
{
    add_name_labels(b, name, "", l, NULL);
    evbuffer_add(b, " ", 1);
    add_double(b, v);
    evbuffer_add(b, "\n", 1);
}

void prom_histogram(struct evbuffer *b, const char *name, const struct prom_labels *l, const double *bounds,
                    const uint64_t *counts, size_t nb, double sum)
{
    uint64_t cum = 0;
    char le[64];
    for (size_t i = 0; i <= nb; i++) {
        cum += counts[i];
        if (i < nb)
            snprintf(le, sizeof le, "le=\"%.15g\"", bounds[i]);
        else
            snprintf(le, sizeof le, "le=\"+Inf\"");
        add_name_labels(b, name, "_bucket", l, le);
        evbuffer_add_printf(b, " %llu\n", (unsigned long long)cum);
    }
    add_name_labels(b, name, "_sum", l, NULL);
    evbuffer_add(b, " ", 1);
    add_double(b, sum);
    evbuffer_add(b, "\n", 1);
    add_name_labels(b, name, "_count", l, NULL);
    evbuffer_add_printf(b, " %llu\n", (unsigned long long)cum);
}
