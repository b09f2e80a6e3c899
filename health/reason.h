/* health/reason.h: why a check (and so a provider) failed.
 *
 * Owns the reason codes stored in prov_state.reason (steering/state.h) and in
 * the metrics snapshot, and their text for logs and the control API. Codes are
 * stable numbers (they are exported), grouped: 1..99 transport and protocol
 * failures, 100..199 DNS failures, and HEALTH_REASON_STATUS_BASE + N for an
 * unexpected HTTP status N (1503 = "bad status 503"), so the status survives
 * in the 16-bit field without a side table. 0 means "no failure". */
#ifndef STEER_HEALTH_REASON_H
#define STEER_HEALTH_REASON_H

#include <stddef.h>
#include <stdint.h>

enum health_reason {
    HR_NONE          = 0,
    HR_TIMEOUT       = 1,   /* no complete answer within the check's timeout */
    HR_REFUSED       = 2,   /* connection refused (RST to our SYN) */
    HR_RESET         = 3,   /* connection reset after it was established */
    HR_CONNECT       = 4,   /* other connect error (unreachable, ...) */
    HR_CLOSED        = 5,   /* peer closed before a complete response */
    HR_TLS           = 6,   /* TLS handshake or record error */
    HR_TLS_VERIFY    = 7,   /* certificate verification failed */
    HR_BAD_RESPONSE  = 8,   /* not HTTP: garbage status line or headers */
    HR_TOO_LARGE     = 9,   /* status line + headers beyond the limit */
    HR_BODY_MISMATCH = 10,  /* expected substring not in the first max_body bytes */
    HR_INTERNAL      = 11,  /* local resource failure (socket, memory) */
    HR_NXDOMAIN      = 100,
    HR_SERVFAIL      = 101,
    HR_DNS_REFUSED   = 102,
    HR_NO_ADDRESSES  = 103, /* name exists but resolves to no address */
    HR_DNS_ERROR     = 104, /* other DNS failure (FORMERR, bad reply, ...) */
    HR_STATUS_BASE   = 1000 /* + HTTP status code: unexpected status */
};

/* Writes the text of `reason` ("timeout", "bad status 503") into buf and
 * returns buf. Unknown codes print as "reason N". */
const char *health_reason_str(uint16_t reason, char *buf, size_t size);

/* Short stable token for machine use ("timeout", "status_503"). */
const char *health_reason_token(uint16_t reason, char *buf, size_t size);

#endif
