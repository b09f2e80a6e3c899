/* rum/beacon.h: parsing and validation of RUM beacons (issue 7).
 *
 * Two wire forms, both turned into an array of struct rum_meas:
 *   POST /rum   body: {"name": "www.cdn.example.test",          (optional)
 *                      "ts": 1764046800000,                      (optional)
 *                      "m": [{"p": "cdn-a", "k": "latency", "v": 41.5,
 *                             "ts": 1764046800000, "name": "..."}, ...]}
 *               (long keys "provider", "kind", "value" are accepted too)
 *   GET  /rum?name=www.cdn.example.test&ts=1764046800000&m=cdn-a:latency:41.5&m=cdn-b:failure
 *
 * Rules (docs/rum.md has the table):
 *   - body at most RUM_MAX_BODY bytes (the caller enforces its own, smaller,
 *     configured limit first), at most max_batch measurements;
 *   - kind latency: value in ms, 0 < v <= 60000 (a minute: nothing slower is
 *     a latency sample, it is a failure); throughput: kbit/s,
 *     1 <= v <= 100,000,000 (100 Gbit/s); failure: value absent or ignored;
 *   - the provider must be known to the lookup, the name too when a name
 *     lookup is given; otherwise the name is only checked for syntax;
 *   - timestamps are client clocks and untrusted: a ts further than
 *     RUM_TS_INSANE_MS from now is rejected as garbage; otherwise the
 *     measurement time is min(ts, now), raised to now - max_age (so a skewed
 *     clock can neither date a sample into the future nor far into the past).
 * A batch is all or nothing: the first invalid measurement rejects it with
 * its reason (the collector answers 400 and counts the reason).
 *
 * Pure functions: no allocation except inside jansson for the JSON parse
 * (freed before return), no I/O, no globals; callable from any thread. */
#ifndef STEER_RUM_BEACON_H
#define STEER_RUM_BEACON_H

#include <stddef.h>
#include <stdint.h>

#define RUM_MAX_BODY      (1024 * 1024)  /* hard ceiling for any configured body limit */
#define RUM_MAX_BATCH     256            /* hard ceiling for measurements per beacon */
#define RUM_MAX_LATENCY_MS 60000.0
#define RUM_MAX_THROUGHPUT 100000000.0   /* kbit/s */
#define RUM_TS_INSANE_MS  (86400LL * 1000)   /* a day: beyond that the clock is garbage */
#define RUM_NAME_MAX      255            /* DNS name text */
#define RUM_PROVIDER_MAX  63

enum rum_kind { RUM_LATENCY = 0, RUM_THROUGHPUT = 1, RUM_FAILURE = 2, RUM_NKINDS = 3 };

/* Why a beacon was refused. Index into counters; names by rum_reason_name. */
enum rum_reason {
    RUM_R_OK = 0,
    RUM_R_TOO_LARGE,     /* body over the limit (HTTP 413) */
    RUM_R_JSON,          /* not JSON */
    RUM_R_SHAPE,         /* JSON, but not the expected objects/types */
    RUM_R_EMPTY,         /* no measurement */
    RUM_R_TOO_MANY,      /* more than max_batch measurements */
    RUM_R_PROVIDER,      /* unknown provider */
    RUM_R_NAME,          /* bad or unknown steered name */
    RUM_R_KIND,          /* unknown kind */
    RUM_R_VALUE,         /* value missing, not a number or out of range */
    RUM_R_TIMESTAMP,     /* ts not a number or insane */
    RUM_R_QUERY,         /* malformed query string */
    RUM_R_ORIGIN,        /* Origin not allowed (HTTP 403) */
    RUM_R_RATE,          /* client over its rate limit (HTTP 429) */
    RUM_R_METHOD,        /* method not allowed (HTTP 405) */
    RUM_NREASONS
};

struct rum_meas {
    int64_t t_ms;        /* measurement time (server clock after clamping) */
    double value;        /* ms, kbit/s, or 0 for failures */
    uint16_t provider;   /* provider id from the lookup */
    uint8_t kind;        /* enum rum_kind */
    int32_t name;        /* steered name id from the lookup, -1 if none/unchecked */
};

/* Provider and steered-name lookups supplied by the owner of the ids (the
 * steering policy in steerd). Each returns an id >= 0 or -1 if unknown.
 * `name` may be NULL: names are then only syntax-checked. */
struct rum_lookup {
    int (*provider)(void *ctx, const char *name);
    int (*name)(void *ctx, const char *name);
    /* id -> provider name (snapshots store names, not ids, so a reload with
     * reordered providers keeps its data); NULL return = unknown id. */
    const char *(*provider_name)(void *ctx, unsigned id);
    void *ctx;
};

struct rum_parse_opts {
    int64_t now_ms;      /* server wall clock */
    int64_t max_age_ms;  /* oldest measurement time accepted (clamped to it) */
    size_t max_batch;    /* <= RUM_MAX_BATCH */
    size_t max_body;     /* <= RUM_MAX_BODY */
};

/* Parses a POST body. Returns RUM_R_OK with out[0..*n) filled, or the
 * reason the batch is refused (*n = 0). `out` holds at least opts->max_batch. */
enum rum_reason rum_beacon_parse_json(const char *body, size_t len, const struct rum_parse_opts *opts,
                                      const struct rum_lookup *lk, struct rum_meas *out, size_t *n);
/* Parses a query string (without the '?'), percent-decoding values. Same
 * contract as rum_beacon_parse_json. */
enum rum_reason rum_beacon_parse_query(const char *qs, size_t len, const struct rum_parse_opts *opts,
                                       const struct rum_lookup *lk, struct rum_meas *out, size_t *n);

const char *rum_reason_name(enum rum_reason r);   /* "json", "provider", ... */
const char *rum_kind_name(enum rum_kind k);       /* "latency", ... */
/* "latency"/"l", "throughput"/"t", "failure"/"f" -> kind, or -1. */
int rum_kind_parse(const char *s);

#endif
