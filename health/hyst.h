/* health/hyst.h: rise/fall hysteresis of one check and the verdict of a
 * provider from its checks. Pure functions on plain values, no I/O, so the
 * state machine is tested exhaustively without sockets.
 *
 * State machine of one check (rise = R, fall = F, both >= 1):
 *   every result resets the opposite run counter and extends its own;
 *   unknown/down -> up   after R consecutive successes;
 *   unknown/up   -> down after F consecutive failures.
 * Unknown uses the same thresholds as a known state: a provider that is dead
 * at start is removed after F results, exactly as if it died later, and a
 * check alternating ok/fail with R, F >= 2 never leaves its current state.
 *
 * Provider verdict (health_combine): every check must pass. Any check down
 * makes the provider down (reason of the first down check, in the order the
 * provider lists them); otherwise any unknown check makes it unknown;
 * otherwise up. A provider with no checks is always up. "All must pass" was
 * chosen over a quorum because providers' checks test different things
 * (edge HTTP, the CDN's DNS): one failing means clients may fail. */
#ifndef STEER_HEALTH_HYST_H
#define STEER_HEALTH_HYST_H

#include <stdbool.h>
#include <stdint.h>

#include "steering/state.h"

#define HYST_MAX_RUN 255u   /* run counters saturate; rise/fall are <= 100 */

struct hyst {
    uint8_t state;       /* enum prov_health */
    uint8_t ok_run;      /* consecutive successes (saturating) */
    uint8_t fail_run;    /* consecutive failures (saturating) */
    uint16_t reason;     /* reason of the last failure; 0 while up */
};

void hyst_init(struct hyst *h);

/* Feeds one result (reason 0 = success). Returns true if h->state changed. */
bool hyst_feed(struct hyst *h, uint16_t reason, uint32_t rise, uint32_t fall);

/* Combines the checks' states into a provider state (see above).
 * states[i] / reasons[i] for i < n. *reason_out gets the provider's reason. */
enum prov_health health_combine(const uint8_t *states, const uint16_t *reasons, uint32_t n,
                                uint16_t *reason_out);

const char *prov_health_name(uint8_t h);

#endif
