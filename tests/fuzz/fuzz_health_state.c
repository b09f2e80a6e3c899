/* libFuzzer target: the override state file parser (health/admin.h).
 * A successful parse must round-trip: every entry is valid and unique. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "health/admin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct health_overrides o;
    char err[256];
    health_overrides_init(&o);
    if (health_overrides_parse(&o, "fuzz", (const char *)data, size, err, sizeof err) == 0) {
        for (size_t i = 0; i < o.n; i++) {
            if (!health_name_valid(o.v[i].provider) || o.v[i].admin > ADMIN_DRAIN)
                abort();
            if (o.v[i].weight != PROV_WEIGHT_NONE && o.v[i].weight > HEALTH_WEIGHT_MAX)
                abort();
            if (health_overrides_get(&o, o.v[i].provider) != &o.v[i])
                abort();
        }
    } else if (strncmp(err, "fuzz:", 5) != 0) {
        abort();   /* errors always carry name:line */
    }
    health_overrides_free(&o);
    return 0;
}
