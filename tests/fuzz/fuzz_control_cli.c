/* libFuzzer target: steerctl's rendering of server replies (control/cli.h)
 * from arbitrary bytes, as a wrong or hostile server could send them.
 * The input is parsed two ways: as Prometheus text (edge-metrics /
 * edge-status) and, when it is JSON, as every reply steerctl renders as a
 * table (status, providers, explain, edge-status). Invariants: nothing
 * crashes or reads out of bounds; the metrics object holds only numbers and
 * no more series than the text has lines. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli.h"

static FILE *g_null;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    g_null = fopen("/dev/null", "w");
    return g_null ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    json_t *m = cli_metrics_to_json(text);
    if (m) {
        size_t lines = 1;
        for (size_t i = 0; i < size; i++)
            lines += text[i] == '\n';
        if (json_object_size(m) > lines)
            abort();
        const char *k;
        json_t *v;
        json_object_foreach(m, k, v) if (!json_is_real(v)) abort();
        cli_print_edge_status(g_null, "fuzz", size & 1, m);
        json_decref(m);
    }
    json_error_t je;
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, &je);
    if (j) {
        cli_print_explain(g_null, j);
        cli_print_status(g_null, j);
        cli_print_providers(g_null, j);
        cli_print_edge_status(g_null, "fuzz", true, j);
        json_decref(j);
    }
    free(text);
    return 0;
}
