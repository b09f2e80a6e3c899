/* common/prom.h: Prometheus text exposition format 0.0.4 helpers.
 *
 * Owns nothing but formatting: family headers (# HELP / # TYPE), label sets
 * with value escaping (backslash, double quote, newline), samples and
 * histograms. Writes into a libevent evbuffer owned by the caller. For
 * scrape handlers (control threads), never for the query path: they format
 * with printf.
 *
 * Usage:
 *     prom_family(b, "steer_dns_queries_total", PROM_COUNTER, "DNS queries received.");
 *     struct prom_labels l;
 *     prom_labels_init(&l);
 *     prom_label(&l, "qtype", "A");
 *     prom_u64(b, "steer_dns_queries_total", &l, n);
 * A family's samples must follow its header without another family in
 * between (the format requires it). */
#ifndef STEER_COMMON_PROM_H
#define STEER_COMMON_PROM_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* Longest label set we build: a few labels of DNS names (255 bytes each,
 * escaping can double them) fit. Longer sets are cut at a label boundary and
 * flagged (prom_label returns -1). */
#define PROM_LABELS_MAX 2048

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM };

struct prom_labels {
    size_t len;                       /* bytes in buf, without braces */
    char buf[PROM_LABELS_MAX];
};

void prom_family(struct evbuffer *b, const char *name, enum prom_type t, const char *help);
void prom_labels_init(struct prom_labels *l);
/* Appends key="value" (value escaped). Returns 0, or -1 if it did not fit
 * (the set is left as it was). */
int prom_label(struct prom_labels *l, const char *key, const char *value);
/* One sample; labels may be NULL. */
void prom_u64(struct evbuffer *b, const char *name, const struct prom_labels *l, uint64_t v);
void prom_double(struct evbuffer *b, const char *name, const struct prom_labels *l, double v);
/* A histogram from non-cumulative bucket counts: counts[0..nb-1] for the
 * upper bounds (in the exported unit, ascending) and counts[nb] for +Inf.
 * Writes the cumulative _bucket series, _sum and _count. */
void prom_histogram(struct evbuffer *b, const char *name, const struct prom_labels *l, const double *bounds,
                    const uint64_t *counts, size_t nb, double sum);

#endif
