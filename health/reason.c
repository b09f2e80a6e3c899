#include "health/reason.h"

#include <stdio.h>

static const char *fixed_text(uint16_t r)
{
    switch (r) {
    case HR_NONE: return "ok";
    case HR_TIMEOUT: return "timeout";
    case HR_REFUSED: return "connection refused";
    case HR_RESET: return "connection reset";
    case HR_CONNECT: return "connect error";
    case HR_CLOSED: return "closed before response";
    case HR_TLS: return "TLS error";
    case HR_TLS_VERIFY: return "TLS certificate verification failed";
    case HR_BAD_RESPONSE: return "bad response";
    case HR_TOO_LARGE: return "response headers too large";
    case HR_BODY_MISMATCH: return "body mismatch";
    case HR_INTERNAL: return "internal error";
    case HR_NXDOMAIN: return "NXDOMAIN";
    case HR_SERVFAIL: return "SERVFAIL";
    case HR_DNS_REFUSED: return "DNS REFUSED";
    case HR_NO_ADDRESSES: return "no addresses";
    case HR_DNS_ERROR: return "DNS error";
    default: return NULL;
    }
}

static const char *fixed_token(uint16_t r)
{
    switch (r) {
    case HR_NONE: return "ok";
    case HR_TIMEOUT: return "timeout";
    case HR_REFUSED: return "refused";
    case HR_RESET: return "reset";
    case HR_CONNECT: return "connect_error";
    case HR_CLOSED: return "closed";
    case HR_TLS: return "tls_error";
    case HR_TLS_VERIFY: return "tls_verify";
    case HR_BAD_RESPONSE: return "bad_response";
    case HR_TOO_LARGE: return "too_large";
    case HR_BODY_MISMATCH: return "body_mismatch";
    case HR_INTERNAL: return "internal";
    case HR_NXDOMAIN: return "nxdomain";
    case HR_SERVFAIL: return "servfail";
    case HR_DNS_REFUSED: return "dns_refused";
    case HR_NO_ADDRESSES: return "no_addresses";
    case HR_DNS_ERROR: return "dns_error";
    default: return NULL;
    }
}

const char *health_reason_str(uint16_t reason, char *buf, size_t size)
{
    const char *t = fixed_text(reason);
    if (t)
        snprintf(buf, size, "%s", t);
    else if (reason >= HR_STATUS_BASE + 100 && reason <= HR_STATUS_BASE + 999)
        snprintf(buf, size, "bad status %u", (unsigned)(reason - HR_STATUS_BASE));
    else
        snprintf(buf, size, "reason %u", (unsigned)reason);
    return buf;
}

const char *health_reason_token(uint16_t reason, char *buf, size_t size)
{
    const char *t = fixed_token(reason);
    if (t)
        snprintf(buf, size, "%s", t);
    else if (reason >= HR_STATUS_BASE + 100 && reason <= HR_STATUS_BASE + 999)
        snprintf(buf, size, "status_%u", (unsigned)(reason - HR_STATUS_BASE));
    else
        snprintf(buf, size, "reason_%u", (unsigned)reason);
    return buf;
}
