/* control/cli.h: how steerctl renders the replies of steerd's control API
 * and edged's admin API for people.
 *
 * Owns the pure part of steerctl: JSON replies -> tables, and Prometheus
 * text -> JSON. Everything here takes what a server sent, which may be any
 * JSON shape or any text (a wrong port, a different version, a hostile
 * peer): missing or mistyped fields print as "-" or 0, never crash; the
 * metrics parser is bounded by its input and skips malformed lines.
 * Fuzzed by tests/fuzz/fuzz_control_cli.c. The HTTP client, the option
 * parsing and the exit codes stay in main_steerctl.c.
 * Single-threaded; output goes to the FILE given. */
#ifndef STEER_CONTROL_CLI_H
#define STEER_CONTROL_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

/* o[k] if it is a string, else "-"; o[k] as an integer, else 0. */
const char *cli_jstr(json_t *o, const char *k);
long long cli_jint(json_t *o, const char *k);

/* GET /v1/status and /v1/providers as tables. */
void cli_print_status(FILE *f, json_t *j);
void cli_print_providers(FILE *f, json_t *j);

/* GET /v1/explain's reply as a table: client and geo data, the rules
 * tested, each pool's candidates (weight, effective weight, health, admin,
 * eligible, score) with the chosen one marked '*', the answer, the chosen
 * provider, TTL (degraded, failed open) and ECS scope. */
void cli_print_explain(FILE *f, json_t *reply);

/* Prometheus text exposition -> {"name{labels}": value}; comments and
 * malformed lines are skipped. Returns a new object, or NULL (memory). */
json_t *cli_metrics_to_json(const char *text);

/* edge-status: health plus a summary of edged's counters (metrics as
 * returned by cli_metrics_to_json). */
void cli_print_edge_status(FILE *f, const char *edged, bool healthy, json_t *metrics);

#endif
