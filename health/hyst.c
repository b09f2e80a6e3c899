#include "health/hyst.h"

#include "health/reason.h"

void hyst_init(struct hyst *h)
{
    h->state = PROV_UNKNOWN;
    h->ok_run = 0;
    h->fail_run = 0;
    h->reason = HR_NONE;
}

bool hyst_feed(struct hyst *h, uint16_t reason, uint32_t rise, uint32_t fall)
{
    uint8_t before = h->state;
    if (reason == HR_NONE) {
        h->fail_run = 0;
        if (h->ok_run < HYST_MAX_RUN)
            h->ok_run++;
        if (h->state != PROV_UP && h->ok_run >= rise) {
            h->state = PROV_UP;
            h->reason = HR_NONE;
        }
    } else {
        h->ok_run = 0;
        if (h->fail_run < HYST_MAX_RUN)
            h->fail_run++;
        /* keep the newest reason while down: operators see the current cause */
        if (h->state == PROV_DOWN)
            h->reason = reason;
        if (h->state != PROV_DOWN && h->fail_run >= fall) {
            h->state = PROV_DOWN;
            h->reason = reason;
        }
    }
    return h->state != before;
}

enum prov_health health_combine(const uint8_t *states, const uint16_t *reasons, uint32_t n,
                                uint16_t *reason_out)
{
    bool unknown = false;
    *reason_out = HR_NONE;
    for (uint32_t i = 0; i < n; i++) {
        if (states[i] == PROV_DOWN) {
            *reason_out = reasons[i];
            return PROV_DOWN;
        }
        if (states[i] != PROV_UP)
            unknown = true;
    }
    return unknown ? PROV_UNKNOWN : PROV_UP;
}

const char *prov_health_name(uint8_t h)
{
    switch (h) {
    case PROV_UP: return "up";
    case PROV_DOWN: return "down";
    default: return "unknown";
    }
}
