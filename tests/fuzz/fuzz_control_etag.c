/* libFuzzer target: If-None-Match matching (control_etag_matches), the
 * status page's only parser of client input. The input is the header value;
 * invariants: no crash or over-read, "*" and the exact tag always match, a
 * value without the tag's 16 hex digits never matches (unless it has a "*"
 * element, checked by re-scanning). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/control.h"

#define TAG "\"0123456789abcdef\""

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    bool m = control_etag_matches(s, TAG);
    if (!strcmp(s, TAG) || !strcmp(s, "*"))
        if (!m)
            abort();
    if (m && !strstr(s, "0123456789abcdef") && !strchr(s, '*'))
        abort();
    free(s);
    return 0;
}
