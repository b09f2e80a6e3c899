/* steerd/querylog.h: the sampled query log (server.query_log).
 *
 * Owns one single-producer/single-consumer ring of fixed-size records per
 * DNS I/O thread and one logger thread that drains them all and writes one
 * line per query. The query path (querylog_observe, called by dns/server.c
 * for one query in `sample` of each thread) copies what it knows into the
 * next free slot of its own ring and publishes it with one release store:
 * no lock, no allocation, no formatting, no system call (beyond one vDSO
 * clock read). A full ring drops the record and counts it
 * (steer_querylog_dropped_total); the query is never delayed.
 *
 * The steering decision of a query is made inside dns_respond (steerd's
 * steer_dynamic), before the observer runs: steer_dynamic leaves it in a
 * per-thread slot (querylog_note_decision, only while a log is running) and
 * the observer takes it when the response says the query was steered.
 *
 * Line format (logfmt, one line per query, fields always in this order):
 *   ts=2026-11-25T06:50:00.123Z client=127.0.0.1 transport=udp
 *   qname=www.cdn.example.test. qtype=A rcode=NOERROR ecs=10.99.1.0/24
 *   scope=16 provider=fastly rule=cdn reason=primary
 * "-" stands for an absent field (no ECS; not a steered name). qname bytes
 * other than letters, digits, '-', '_' and '*' are written \DDD (a '.'
 * inside a label too: \046), so no value ever holds a space, quote or '='. rule
 * and reason use the labels of steer_answers_total / steer_decisions_total.
 *
 * Threads: querylog_start/stop on the main thread (stop after the I/O
 * threads have stopped: it drains what is left); querylog_observe and
 * querylog_note_decision on I/O threads; querylog_counters anywhere.
 *
 * Rejected alternatives: formatting on the query path (snprintf per query
 * costs more than answering it); one shared MPSC ring (a CAS per record and
 * a contended line); a condition variable to wake the logger (the producer
 * would need a lock or a futex call): the logger polls every
 * QUERYLOG_POLL_MS instead. */
#ifndef STEER_STEERD_QUERYLOG_H
#define STEER_STEERD_QUERYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/respond.h"
#include "steering/steering.h"

/* Records per thread ring (a power of two). At QUERYLOG_POLL_MS between
 * drains a thread can log 1024 / 20 ms = 51k queries/s before dropping;
 * sample to stay below that. 1024 x ~430 bytes = 430 KiB per thread. */
#define QUERYLOG_RING 1024
#define QUERYLOG_POLL_MS 20
#define QUERYLOG_SAMPLE_MAX 1000000

struct querylog_cfg {
    bool enabled;
    char path[1024];      /* file (appended) or "stderr" */
    uint32_t sample;      /* log one query in `sample` per I/O thread, 1..QUERYLOG_SAMPLE_MAX */
};

struct querylog;

/* Opens the output and starts the logger thread with one ring per I/O
 * thread. Returns NULL with err on failure. */
struct querylog *querylog_start(const struct querylog_cfg *cfg, unsigned io_threads, char *err, size_t errlen);
/* Stops the logger after draining every ring; closes the file; *q = NULL. */
void querylog_stop(struct querylog **q);

/* dns_query_observer (dns/server.h); ctx is the querylog. */
void querylog_observe(void *ctx, unsigned thread, bool tcp, const struct dns_client *c, const struct dns_query *q,
                      const struct dns_result *res);

/* The steering decision of the query being answered on this thread (see
 * above): steer_decide's result and answer, labelled through the
 * snapshot's counter set m (steerd/metrics.h) for steered name index
 * `name`; the label strings stay valid for the rest of the RCU read
 * section. No-op (one branch) unless a query log runs. */
struct metrics_steer;
extern bool querylog_running;
void querylog_note_decision_slow(int rc, const struct steer_answer *a, const struct metrics_steer *m, size_t name);
static inline void querylog_note_decision(int rc, const struct steer_answer *a, const struct metrics_steer *m,
                                          size_t name)
{
    if (__builtin_expect(querylog_running, 0))
        querylog_note_decision_slow(rc, a, m, name);
}

struct querylog_counters {
    uint64_t written, dropped;
};
void querylog_counters(const struct querylog *q, struct querylog_counters *out);

#endif
